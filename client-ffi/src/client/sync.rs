//! The sync adapter: runs sync-core's [`DeviceSync`] driver over HTTP. The driver decides what
//! each request carries, what each answer means and when the conversation is over; this side
//! moves the batches (with the transport's retries and token renewal), keeps the server's
//! refusals so that a refused case is not resent until it changes, reads the cases received
//! for conflicts and photos to fetch, uploads the callers and photos of cases the server now
//! holds, downloads photos, keeps the numbers the server gave the cases (which no document
//! holds), as the sync answers carry them (`?numbers=true`) or, for those still missing (a
//! server of an earlier release, a case numbered later), by asking (`learn_numbers`), and
//! refreshes the organization when the server's fingerprint of it changed.

use super::progress::{human_bytes, stage, Meter};
use super::{storage, trees, Client};
use crate::error::{ClientError, Result};
use crate::views::{RefusalItem, SyncOptions, SyncProgress, SyncReport};
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

    /// A sync with the default options (photos downloaded), telling `progress` the phase
    /// ("cases", "upload", "download") with its items done and to do: the older listener.
    pub fn sync(&self, progress: &dyn Fn(&str, u64, u64)) -> Result<SyncReport> {
        self.sync_with(&SyncOptions::default(), &|p: &SyncProgress| {
            let phase = match p.stage.as_str() {
                stage::OWN_PHOTOS => "upload",
                stage::OTHERS_PHOTOS => "download",
                stage::OWN_CASES | stage::OTHERS_CASES => "cases",
                _ => return,
            };
            progress(phase, u64::from(p.items_done), u64::from(p.items_total));
        })
    }

    /// Syncs this device's own work first: its cases go up (the conversation runs until the
    /// server has acknowledged them, its answers meanwhile carrying only those cases: no case
    /// of others comes down yet), then its callers and photos, and as soon as all of it is on
    /// the server the listener hears stage `saved` (and the report says when); only then the
    /// rest of what the server has for this device comes down, and the photos of the cases
    /// received when `options.download_photos`. A cut session resumes on the next call:
    /// unacknowledged cases stay marked, the cursor only moves when a conversation ends, and
    /// photos resume at the byte. A network failure (after the retries) is
    /// [`ClientError::SyncInterrupted`], saying what was saved and what remains.
    pub fn sync_with(
        &self,
        options: &SyncOptions,
        listener: &dyn Fn(&SyncProgress),
    ) -> Result<SyncReport> {
        let _one_at_a_time = self.sync_lock.lock().map_err(storage)?;
        let device = self.install()?.device_id;
        let span = tracing::info_span!("sync", device = %device);
        let _entered = span.enter();
        self.identity()?;
        let meter = Meter::new(listener);
        let mut report = SyncReport::default();
        let outcome = self.sync_steps(options, &meter, &mut report);
        meter.fill(&mut report);
        self.conclude(outcome, report, &meter)
    }

    /// What the last sync (or photo download) did, also when it stopped on the network.
    pub fn last_sync_report(&self) -> Option<SyncReport> {
        self.last_report
            .lock()
            .map_or(None, |r| r.as_ref().cloned())
    }

    /// Keeps the report of a sync that ended (well or on the network) and says how it ended.
    fn conclude(
        &self,
        outcome: Result<()>,
        mut report: SyncReport,
        meter: &Meter<'_>,
    ) -> Result<SyncReport> {
        let outcome = match outcome {
            Ok(()) => Ok(()),
            Err(e) if e.is_network() => Err(e),
            Err(e) => return Err(e),
        };
        report.photos_to_download =
            u32::try_from(self.keys(trees::DOWNLOADS)?.len()).unwrap_or(u32::MAX);
        if let Ok(mut last) = self.last_report.lock() {
            *last = Some(report.clone());
        }
        match outcome {
            Ok(()) => {
                meter.begin(stage::DONE, 0, 0);
                Ok(report)
            }
            Err(e) => Err(self.interrupted(e, &report)),
        }
    }

    /// Downloads the photos waiting for this device (those a sync without photos left), as a
    /// background job would: stage `others_photos`, then `done`. Resumes cut ones at the byte.
    pub fn download_photos(&self, listener: &dyn Fn(&SyncProgress)) -> Result<SyncReport> {
        let _one_at_a_time = self.sync_lock.lock().map_err(storage)?;
        self.identity()?;
        let meter = Meter::new(listener);
        let mut report = SyncReport::default();
        let outcome = self
            .download_blobs(&meter)
            .map(|n| report.blobs_downloaded = n);
        meter.fill(&mut report);
        self.conclude(outcome, report, &meter)
    }

    fn sync_steps(
        &self,
        options: &SyncOptions,
        meter: &Meter<'_>,
        report: &mut SyncReport,
    ) -> Result<()> {
        meter.begin(stage::OWN_CASES, 0, 0);
        let mut driver = DeviceSync::start(&self.docs, SERVER)?;
        let held = self.hold_back_refused(&mut driver)?;
        // This device's cases in this conversation: done once the server has acknowledged
        // each (no longer dirty) or refused it.
        let mut own: BTreeSet<CaseId> = self
            .docs
            .dirty_cases()?
            .into_iter()
            .filter(|c| !held.contains(c))
            .collect();
        let mut pushed = false;
        let mut org_tag = None;
        loop {
            if !pushed && own.is_empty() {
                meter.end();
                report.callers_uploaded = self.push_own_work(meter, report)?;
                pushed = true;
                meter.begin(stage::OTHERS_CASES, 0, 0);
            }
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
            // While this device's cases go up, the server answers only those: others' cases
            // come once they are all on the server. A request with none of them (nothing left
            // that the server lacks) asks for the feed.
            let sent_only = !pushed && !request.entries.is_empty();
            let (answer, tag) = self.post_batch(&request, sent_only, meter)?;
            org_tag = tag.or(org_tag);
            let answered = driver.take_answer(&answer)?;
            for refused in &answered.refused {
                own.remove(&refused.notice.case);
            }
            self.keep_refusals(answered, report)?;
            if !own.is_empty() {
                let dirty: BTreeSet<CaseId> = self.docs.dirty_cases()?.into_iter().collect();
                let before = own.len();
                own.retain(|c| dirty.contains(c));
                // Acknowledged: counted now, in case the sync stops before it ends.
                report.cases_sent += u32::try_from(before - own.len()).unwrap_or(u32::MAX);
            }
            meter.item();
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
        self.take_in_received(&mut driver, &finished.received, report)?;
        drop(driver);
        meter.end();
        if !pushed {
            // Some of this device's cases came back incomplete: what can go, goes now.
            report.callers_uploaded = self.push_own_work(meter, report)?;
        }
        // A number is a convenience: the sync stands without it, and the next one asks again.
        if let Err(e) = self.learn_numbers() {
            tracing::debug!(error = %e, "case numbers not learned");
        }
        if options.download_photos {
            report.blobs_downloaded = self.download_blobs(meter)?;
        }
        if self.org_changed(org_tag.as_deref())? {
            if let Err(e) = self.refresh_org() {
                tracing::debug!(error = %e, "directory not refreshed");
            }
        }
        Ok(())
    }

    /// This device's callers (a few small requests, the callback depends on them), then its
    /// photos; says `saved` when nothing of its own work waits any more but what the server
    /// refused. Returns the callers uploaded.
    fn push_own_work(&self, meter: &Meter<'_>, report: &mut SyncReport) -> Result<u32> {
        let callers = self.upload_callers(&mut report.refusals)?;
        report.blobs_uploaded += self.upload_blobs(meter, &mut report.refusals)?;
        if !self.own_work_waiting()? {
            meter.saved();
        }
        Ok(callers)
    }

    /// Whether any of this device's work waits to reach the server: a case changed here, a
    /// caller or a photo, other than those of cases the server refused.
    fn own_work_waiting(&self) -> Result<bool> {
        let refused: BTreeSet<String> = self.keys(trees::REFUSED)?.into_iter().collect();
        let pending = self.pending()?;
        let waiting_case = |case: &String| !refused.contains(case);
        if pending.cases.iter().any(waiting_case) || pending.callers.iter().any(waiting_case) {
            return Ok(true);
        }
        for sha in pending.uploads {
            let case = self
                .store
                .get(trees::UPLOADS, sha.as_bytes())
                .map_err(storage)?
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default();
            if case.is_empty() || waiting_case(&case) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A network failure as people can act on it: what this sync saved, what remains, and
    /// that syncing again continues from there.
    fn interrupted(&self, cause: ClientError, report: &SyncReport) -> ClientError {
        let remaining = match self.pending() {
            Ok(p) => p,
            Err(e) => return e,
        };
        let partial: u64 = remaining
            .downloads
            .iter()
            .map(|sha| self.partial_bytes(sha))
            .sum();
        let moved = report.cases_sent
            + report.blobs_uploaded
            + report.cases_received
            + report.blobs_downloaded;
        let saved = if report.own_work_on_server {
            format!(
                "all of this device's work is on the server; {} case(s) and {} photo(s) received; {} sent, {} received",
                report.cases_received,
                report.blobs_downloaded,
                human_bytes(report.bytes_sent),
                human_bytes(report.bytes_received)
            )
        } else if moved == 0 {
            "nothing yet".to_owned()
        } else {
            format!(
                "{} case(s) and {} photo(s) of this device reached the server; {} case(s) and {} photo(s) received; {} sent, {} received",
                report.cases_sent,
                report.blobs_uploaded,
                report.cases_received,
                report.blobs_downloaded,
                human_bytes(report.bytes_sent),
                human_bytes(report.bytes_received)
            )
        };
        let mut left: Vec<String> = [
            (remaining.cases.len(), "case(s) to send"),
            (remaining.uploads.len(), "photo(s) to upload"),
            (remaining.downloads.len(), "photo(s) to download"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if partial > 0 {
            left.push(format!(
                "{} of cut downloads kept on this device",
                human_bytes(partial)
            ));
        }
        if !remaining.callers.is_empty() {
            left.push(format!("{} caller(s) to upload", remaining.callers.len()));
        }
        if left.is_empty() {
            left.push("nothing of this device's; what others did comes with the next sync".into());
        }
        let message = format!(
            "the network failed during the sync ({cause}). Saved: {saved}. Remaining: {}. \
             Run sync again to continue where it stopped: nothing saved is sent again.",
            left.join(", ")
        );
        let cause = match cause {
            ClientError::Unreachable { .. } => "unreachable",
            ClientError::Server { .. } => "server",
            _ => "bad_answer",
        }
        .to_owned();
        ClientError::SyncInterrupted { message, cause }
    }
    /// Keeps a dirty case out of the conversation while the heads it was refused at have not
    /// moved: sending it again would only be refused again.
    fn hold_back_refused(&self, driver: &mut DeviceSync<'_>) -> Result<BTreeSet<CaseId>> {
        let mut held = BTreeSet::new();
        for entry in self.store.range(trees::REFUSED, &[], None) {
            let (case, value) = entry.map_err(storage)?;
            let refusal: Refusal = serde_json::from_slice(&value).map_err(storage)?;
            // Heads that do not read (a damaged record) count as moved: one more try.
            let heads: std::result::Result<Vec<ChangeHash>, _> =
                refusal.heads.iter().map(|h| h.parse()).collect();
            if let Ok(heads) = heads {
                let case = CaseId::new(String::from_utf8_lossy(&case));
                if driver.hold_back(&case, &heads)? {
                    held.insert(case);
                }
            }
        }
        Ok(held)
    }

    /// Keeps an answer's refusals (with the heads they were made at) and reports them, and the
    /// case numbers it carried, in one batch with the writes the answer calls for.
    fn keep_refusals(&self, answered: Answered, report: &mut SyncReport) -> Result<()> {
        let mut batch = answered.persist;
        for (case, number) in answered.numbers {
            batch.put(
                trees::NUMBERS,
                case.as_str().as_bytes().to_vec(),
                number.into_bytes(),
            );
        }
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
    /// its number when it first receives it and answers only for cases this user may see. The
    /// sync's answers carry the numbers of the cases they speak of, so after a sync with a
    /// server of this release nothing is usually left to ask, and no request goes: this is for
    /// a server of an earlier release (which sends none), a case the ledger numbered only later
    /// (an older ledger's, numbered in the background), and cases held from before.
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
