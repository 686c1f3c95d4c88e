//! The sync adapter: runs sync-core's [`DeviceSync`] driver over HTTP. The driver decides what
//! each request carries, what each answer means and when the conversation is over; this side
//! moves the batches (with the transport's retries and token renewal), keeps the server's
//! refusals so that a refused case is not resent until it changes, reads the cases received
//! for conflicts and photos to fetch, uploads the callers and photos of cases the server now
//! holds, downloads photos, learns the numbers the server gave the cases (which no document
//! holds: `learn_numbers`), and refreshes the organization when the server's fingerprint of it
//! changed.

use super::{storage, trees, Client};
use crate::error::{ClientError, Result};
use crate::views::{RefusalItem, SyncReport};
use gridcase_sync_core::fold::fold;
use gridcase_sync_core::store::Batch;
use gridcase_sync_core::sync::{Answered, DeviceSync, Next, DEFAULT_ROUND_LIMIT};
use gridcase_sync_core::{CaseId, ChangeHash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The peer name the server's sync states and cursor are kept under.
const SERVER: &str = "server";
/// The most cases one `POST /v1/cases/numbers` asks about (the server's limit).
const NUMBERS_PER_REQUEST: usize = 500;

/// The server's answer to `POST /v1/cases/numbers`: case id → number.
#[derive(Debug, Deserialize)]
struct Numbers {
    numbers: std::collections::BTreeMap<String, String>,
}

/// The server's last refusal of a case, kept until the case is sent again and stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Refusal {
    pub(super) code: String,
    pub(super) message: String,
    /// The case's heads when refused: changed heads mean new work, worth one more try.
    heads: Vec<String>,
}

impl Client {
    pub(super) fn refusal(&self, case: &CaseId) -> Result<Option<Refusal>> {
        match self
            .store
            .get(trees::REFUSED, case.as_str().as_bytes())
            .map_err(storage)?
        {
            Some(b) => Ok(Some(serde_json::from_slice(&b).map_err(storage)?)),
            None => Ok(None),
        }
    }

    /// Runs the sync conversation until this device has nothing more to send and the server
    /// nothing more to page through, then moves photos. A cut session resumes on the next
    /// call: unacknowledged cases stay marked, and the cursor only moves when a session ends.
    pub fn sync(&self, progress: &dyn Fn(&str, u64, u64)) -> Result<SyncReport> {
        let _one_at_a_time = self.sync_lock.lock().map_err(storage)?;
        let device = self.install()?.device_id;
        let span = tracing::info_span!("sync", device = %device);
        let _entered = span.enter();
        self.identity()?;
        let mut report = SyncReport::default();
        let mut driver = DeviceSync::start(&self.docs, SERVER)?;
        self.hold_back_refused(&mut driver)?;
        let mut org_tag = None;
        loop {
            let request = match driver.next_request()? {
                Next::Send(request) => request,
                Next::Finished => break,
                Next::Stalled { .. } => {
                    return Err(ClientError::BadAnswer {
                        message: format!("sync did not finish in {DEFAULT_ROUND_LIMIT} rounds"),
                    })
                }
            };
            report.rounds = driver.rounds();
            progress("cases", u64::from(report.rounds), 0);
            let (answer, tag) = self.post_batch(&request, &mut report)?;
            org_tag = tag.or(org_tag);
            let answered = driver.take_answer(&answer)?;
            self.keep_refusals(answered, &mut report)?;
        }
        let finished = driver.finish()?;
        // The cursor moves with the end of the refusals of cases the server now holds.
        let mut end = finished.persist;
        for case in &finished.sent {
            if !finished.refused.contains(case) {
                end.delete(trees::REFUSED, case.as_str().as_bytes().to_vec());
            }
        }
        self.store.commit(end).map_err(storage)?;
        report.cases_sent = u32::try_from(finished.sent.len()).unwrap_or(u32::MAX);
        report.cases_received = u32::try_from(finished.received.len()).unwrap_or(u32::MAX);
        self.take_in_received(&mut driver, &finished.received, &mut report)?;
        drop(driver);
        // A number is a convenience: the sync stands without it, and the next one asks again.
        if let Err(e) = self.learn_numbers() {
            tracing::debug!(error = %e, "case numbers not learned");
        }
        // Callers before photos: a few small requests, and the callback depends on them.
        report.callers_uploaded = self.upload_callers(&mut report.refusals)?;
        report.blobs_uploaded = self.upload_blobs(progress, &mut report.refusals)?;
        report.blobs_downloaded = self.download_blobs(progress)?;
        if self.org_changed(org_tag.as_deref())? {
            if let Err(e) = self.refresh_org() {
                tracing::debug!(error = %e, "directory not refreshed");
            }
        }
        Ok(report)
    }

    /// Keeps a dirty case out of the conversation while the heads it was refused at have not
    /// moved: sending it again would only be refused again.
    fn hold_back_refused(&self, driver: &mut DeviceSync<'_>) -> Result<()> {
        for entry in self.store.range(trees::REFUSED, &[], None) {
            let (case, value) = entry.map_err(storage)?;
            let refusal: Refusal = serde_json::from_slice(&value).map_err(storage)?;
            // Heads that do not read (a damaged record) count as moved: one more try.
            let heads: std::result::Result<Vec<ChangeHash>, _> =
                refusal.heads.iter().map(|h| h.parse()).collect();
            if let Ok(heads) = heads {
                let case = CaseId::new(String::from_utf8_lossy(&case));
                driver.hold_back(&case, &heads)?;
            }
        }
        Ok(())
    }

    /// Keeps an answer's refusals (with the heads they were made at) and reports them, in one
    /// batch with the writes the answer calls for.
    fn keep_refusals(&self, answered: Answered, report: &mut SyncReport) -> Result<()> {
        let mut batch = answered.persist;
        for refused in answered.refused {
            let notice = refused.notice;
            let kept = Refusal {
                code: notice.code.clone(),
                message: notice.text.clone(),
                heads: refused.heads.iter().map(ToString::to_string).collect(),
            };
            batch.put(
                trees::REFUSED,
                notice.case.as_str().as_bytes().to_vec(),
                serde_json::to_vec(&kept).map_err(storage)?,
            );
            report.refusals.push(RefusalItem {
                case_id: notice.case.to_string(),
                code: notice.code,
                message: notice.text,
            });
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.store.commit(batch).map_err(storage)
    }

    /// Asks the server the numbers of the cases on this device that have none here yet and that
    /// it holds (not waiting to be sent, not refused), and keeps them. The server gives a case
    /// its number when it first receives it and answers only for cases this user may see.
    fn learn_numbers(&self) -> Result<()> {
        let unsent: BTreeSet<CaseId> = self.docs.dirty_cases()?.into_iter().collect();
        let mut wanted = Vec::new();
        for case in self.docs.case_ids()? {
            let key = case.as_str().as_bytes();
            let known = self.store.get(trees::NUMBERS, key).map_err(storage)?;
            let refused = self.store.get(trees::REFUSED, key).map_err(storage)?;
            if known.is_none() && refused.is_none() && !unsent.contains(&case) {
                wanted.push(case.to_string());
            }
        }
        for chunk in wanted.chunks(NUMBERS_PER_REQUEST) {
            let (headers, body) = Self::json_body(&serde_json::json!({ "cases": chunk }));
            let r = self.authed("POST", "/v1/cases/numbers", headers, body)?;
            let answer: Numbers = serde_json::from_value(Self::expect_json(r, "case numbers")?)?;
            let mut batch = Batch::new();
            for (case, number) in answer.numbers {
                batch.put(trees::NUMBERS, case.into_bytes(), number.into_bytes());
            }
            self.store.commit(batch).map_err(storage)?;
        }
        Ok(())
    }

    /// The number the server gave a case, once this device has learned it.
    pub(super) fn number(&self, case: &CaseId) -> Result<Option<String>> {
        Ok(self
            .store
            .get(trees::NUMBERS, case.as_str().as_bytes())
            .map_err(storage)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Counts the open conflicts of the cases received and queues the photos they name that
    /// are not on this device, reading the documents the conversation already holds.
    fn take_in_received(
        &self,
        driver: &mut DeviceSync<'_>,
        received: &BTreeSet<CaseId>,
        report: &mut SyncReport,
    ) -> Result<()> {
        let mut wanted = Batch::new();
        for case in received {
            let seen = driver.with_case(case, |doc| -> Result<_> {
                let state = fold(&doc.events()?, &self.calendar);
                Ok((state, doc.attachments()?))
            })?;
            let Some(seen) = seen else { continue };
            let (state, attachments) = seen?;
            report.conflicts += u32::try_from(state.open_conflicts().count()).unwrap_or(u32::MAX);
            self.stage_downloads(&mut wanted, &attachments);
        }
        self.store.commit(wanted).map_err(storage)
    }
}
