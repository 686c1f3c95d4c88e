//! Case numbers (`crate::case_number`) in the ledger: kept beside each case in two trees (case
//! → number, number → case) and counted per district day, written in the same atomic batch as
//! the case's first commit.
//!
//! Only the commit thread gives numbers ([`Numbering`]), so two writers committing new cases
//! at once can never be given one number: the thread is the one owner of each day's counter,
//! and it reads the counter from the store at each group, so a failed commit leaves nothing
//! behind in memory.
//!
//! A ledger from before numbers has its cases numbered in the background ([`number_older`]):
//! a thread orders them by when the ledger first received them and hands them to the commit
//! thread a few thousand at a time, which numbers them like new ones. Meanwhile the server
//! serves: such a case shows no number until its turn (it keeps the day of its first receipt,
//! though a case received earlier that day after the upgrade may come before it). Their
//! summaries stay as written; [`super::Ledger::summary`] reads them with their number and the
//! case's next change stores it.

use super::committer::CommitSender;
use super::trees;
use crate::case_number;
use crate::error::{Error, Result};
use crate::summary::CaseSummary;
use gridcase_sync_core::store::{key_part as part, Batch, Store};
use gridcase_sync_core::{CaseId, Millis};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Case (its key part) → its number, as text.
const NUMBER_OF: &str = "ledger_case_number";
/// Number, as text → the case id.
const CASE_OF: &str = "ledger_numbered_case";
/// District date "YYYYMMDD" → the last sequence given that day (u32, big-endian).
const DAYS: &str = "ledger_case_number_day";
/// Set once every case of a ledger from before numbers has one (and on a new ledger at once).
const MARK: &[u8] = b"case_numbers";
/// Older cases handed to the commit thread at once: its group commits stay short (about 2 ms
/// a thousand cases), so writers waiting beside them hardly notice.
const OLDER_PER_COMMIT: usize = 2_000;

/// The numbers one group commit gives: the commit thread's, made afresh for each group.
pub(super) struct Numbering<'p> {
    prefix: &'p str,
    /// Cases numbered in this group (or found numbered), which the store does not show yet.
    given: HashMap<CaseId, String>,
    /// The last sequence of each day this group gave numbers on.
    days: HashMap<String, u32>,
}

impl<'p> Numbering<'p> {
    pub(super) fn new(prefix: &'p str) -> Numbering<'p> {
        Numbering {
            prefix,
            given: HashMap::new(),
            days: HashMap::new(),
        }
    }

    /// Stages the summary a writer staged without a number (a case new to the ledger) with the
    /// case's number: the one it holds (a concurrent writer's commit gave it), or else the next
    /// of the district day the case was received (`received_at`), staged with it.
    pub(super) fn stage(
        &mut self,
        store: &dyn Store,
        batch: &mut Batch,
        case: &CaseId,
        mut summary: CaseSummary,
        received_at: Millis,
    ) -> Result<()> {
        let key = part(case.as_str());
        summary.number = Some(self.number(store, batch, case, &key, received_at)?);
        batch.put(trees::SUMMARIES, key, serde_json::to_vec(&summary)?);
        Ok(())
    }

    /// Numbers a case of a ledger from before numbers, first received at `first`, unless it
    /// has its number already.
    pub(super) fn stage_older(
        &mut self,
        store: &dyn Store,
        batch: &mut Batch,
        case: &CaseId,
        first: Millis,
    ) -> Result<()> {
        self.number(store, batch, case, &part(case.as_str()), first)
            .map(drop)
    }

    /// A case's number: given in this group, held in the store, or else the next of the
    /// district day `received_at` falls on, given now.
    fn number(
        &mut self,
        store: &dyn Store,
        batch: &mut Batch,
        case: &CaseId,
        key: &[u8],
        received_at: Millis,
    ) -> Result<String> {
        if let Some(n) = self.given.get(case) {
            return Ok(n.clone());
        }
        if let Some(n) = stored_number(store, key)? {
            self.given.insert(case.clone(), n.clone());
            return Ok(n);
        }
        let date = case_number::date_of(received_at);
        let last = match self.days.get(&date) {
            Some(last) => *last,
            None => last_of_day(store, &date)?,
        };
        let seq = last
            .checked_add(1)
            .ok_or_else(|| Error::Internal(format!("the case numbers of {date} ran out")))?;
        let number = case_number::format(self.prefix, &date, seq);
        batch.put(NUMBER_OF, key.to_vec(), number.as_bytes().to_vec());
        batch.put(
            CASE_OF,
            number.as_bytes().to_vec(),
            case.as_str().as_bytes().to_vec(),
        );
        batch.put(DAYS, date.as_bytes().to_vec(), seq.to_be_bytes().to_vec());
        self.days.insert(date, seq);
        self.given.insert(case.clone(), number.clone());
        Ok(number)
    }
}

fn stored_number(store: &dyn Store, key: &[u8]) -> Result<Option<String>> {
    store.get(NUMBER_OF, key)?.map(number_text).transpose()
}

/// A number's stored bytes as text.
fn number_text(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| Error::Internal("a malformed case number".into()))
}

/// The last sequence given on a district day (0: none yet).
fn last_of_day(store: &dyn Store, date: &str) -> Result<u32> {
    match store.get(DAYS, date.as_bytes())? {
        Some(b) => {
            let bytes: [u8; 4] = b
                .as_slice()
                .try_into()
                .map_err(|_| Error::Internal("a malformed case number counter".into()))?;
            Ok(u32::from_be_bytes(bytes))
        }
        None => Ok(0),
    }
}

/// A case's number, if it has one.
pub(super) fn number_of(store: &dyn Store, case: &CaseId) -> Result<Option<String>> {
    stored_number(store, &part(case.as_str()))
}

/// The numbers of several cases in one read (one statement on PostgreSQL), in the order
/// asked; `None` for a case without one.
pub(super) fn numbers_of(store: &dyn Store, cases: &[CaseId]) -> Result<Vec<Option<String>>> {
    let keys: Vec<Vec<u8>> = cases.iter().map(|c| part(c.as_str())).collect();
    store
        .get_many(NUMBER_OF, &keys)?
        .into_iter()
        .map(|b| b.map(number_text).transpose())
        .collect()
}

/// The case a number (as stored: [`case_number::parse`]) was given to.
pub(super) fn case_of(store: &dyn Store, number: &str) -> Result<Option<CaseId>> {
    Ok(store
        .get(CASE_OF, number.as_bytes())?
        .map(|b| CaseId::new(String::from_utf8_lossy(&b).into_owned())))
}

/// Whether every case of the ledger has been given a number (a ledger from before numbers
/// gets them in the background after it opens).
pub(super) fn complete(store: &dyn Store) -> Result<bool> {
    Ok(store.get(trees::META, MARK)?.is_some())
}

/// Starts numbering the cases of a ledger from before numbers on a thread of its own, through
/// the commit thread (`commit`); `None` when there is nothing to number. A new ledger is
/// marked complete at once. `stop` ends the thread early (the ledger closing); the next
/// start-up numbers the rest.
pub(super) fn number_older(
    store: Arc<dyn Store>,
    commit: CommitSender,
    stop: Arc<AtomicBool>,
) -> Result<Option<JoinHandle<()>>> {
    if complete(&*store)? {
        return Ok(None);
    }
    if store.range(trees::SUMMARIES, &[], None).next().is_none() {
        let mut batch = Batch::new();
        batch.put(trees::META, MARK.to_vec(), b"1".to_vec());
        store.commit(batch)?;
        return Ok(None);
    }
    let thread = std::thread::Builder::new()
        .name("gridcase-numbers".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            match number_all(&*store, &commit, &stop) {
                Ok(Some(cases)) => tracing::info!(
                    cases,
                    ms = started.elapsed().as_millis() as u64,
                    "numbered the cases of a ledger from before case numbers"
                ),
                Ok(None) => tracing::info!("numbering older cases stopped: resumed at next start"),
                Err(e) => tracing::error!(error = %e, "numbering older cases failed"),
            }
        })?;
    Ok(Some(thread))
}

/// Orders the cases without a number by their first receipt and has the commit thread number
/// them; how many, or `None` when stopped.
fn number_all(
    store: &dyn Store,
    commit: &CommitSender,
    stop: &AtomicBool,
) -> Result<Option<usize>> {
    let mut order: Vec<(Millis, Vec<u8>)> = Vec::new();
    for entry in store.range(trees::SUMMARIES, &[], None) {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let (key, value) = entry?;
        if store.get(NUMBER_OF, &key)?.is_some() {
            continue;
        }
        order.push((first_receipt(store, &key, &value)?, key));
    }
    order.sort_unstable();
    let cases = order.len();
    tracing::info!(
        cases,
        "numbering the cases of a ledger from before case numbers"
    );
    let chunks = order.chunks(OLDER_PER_COMMIT);
    let last = chunks.len();
    for (i, chunk) in chunks.enumerate() {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        // The key is the case id's key part: its length (two bytes), then the id.
        let older = chunk
            .iter()
            .map(|(first, key)| {
                let id = String::from_utf8_lossy(key.get(2..).unwrap_or_default());
                (CaseId::new(id), *first)
            })
            .collect();
        let mut batch = Batch::new();
        if i + 1 == last {
            batch.put(trees::META, MARK.to_vec(), b"1".to_vec());
        }
        commit.number_older(batch, older)?;
        if (i + 1) % 50 == 0 {
            tracing::info!(
                numbered = (i + 1) * OLDER_PER_COMMIT,
                of = cases,
                "numbering older cases"
            );
        }
    }
    Ok(Some(cases))
}

/// When the ledger first received a case: its earliest receipt, or for a case without any
/// (imported in bulk) the creation time its stored summary gives.
fn first_receipt(store: &dyn Store, key: &[u8], summary: &[u8]) -> Result<Millis> {
    match super::receipts::first_received(store, key)? {
        Some(f) => Ok(f),
        None => Ok(serde_json::from_slice::<Created>(summary)?.created_at),
    }
}

/// The one field of a stored summary a case without receipts is numbered by.
#[derive(serde::Deserialize)]
struct Created {
    created_at: Millis,
}
