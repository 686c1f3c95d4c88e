//! Summarizing again the cases of a ledger whose summaries predate fields a later release
//! derives (this release: the chain of units, who dispatched, the acknowledgement and its
//! response limit, the lead unit, the extension request waiting, the missed deadline, the
//! responsible person and the verifications; a release that adds another raises the marks
//! below, and the pass runs once more): every
//! case is folded from its document and its summary, query index entries and indicator row
//! written again, in the background, from where a previous start stopped.
//!
//! Until it has passed, a case summarized by an older release lists, queues and counts as that
//! release saw it (no chain, no missed deadline). The commit thread stages each row without
//! moving the case in the change feed (`FeedEntry::quiet`): nothing changed in the case, so no
//! device is sent it again and no console refreshes. A write racing the pass is settled like
//! any two writes of one case (`Ledger::settle`): whichever commits last is summarized again
//! from the committed document.

use super::{trees, Ledger};
use crate::error::Result;
use gridcase_sync_core::store::{key_part, Batch};
use gridcase_sync_core::CaseId;
use std::sync::{Arc, Weak};

/// Set once every summary holds what this release derives.
const MARK: &[u8] = b"summaries_r15";
/// The last summary key the pass wrote again.
const RESUME: &[u8] = b"summaries_r15_after";
/// Cases summarized again per commit.
const CHUNK: usize = 500;

impl Ledger {
    /// Starts the pass in the background when the ledger's summaries predate this release's;
    /// marks a new ledger as complete at once.
    pub fn resummarize_older(self: &Arc<Self>) -> Result<()> {
        if self.store.get(trees::META, MARK)?.is_some() {
            return Ok(());
        }
        if self
            .store
            .range(trees::SUMMARIES, &[], None)
            .next()
            .is_none()
        {
            let mut batch = Batch::new();
            batch.put(trees::META, MARK.to_vec(), b"1".to_vec());
            return Ok(self.store.commit(batch)?);
        }
        let ledger = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("gridcase-resummarize".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                match resummarize_all(&ledger) {
                    Ok(Some(cases)) => tracing::info!(
                        cases,
                        ms = started.elapsed().as_millis() as u64,
                        "summarized again the cases of a ledger from before the chain of units"
                    ),
                    Ok(None) => tracing::info!(
                        "summarizing older cases stopped with the ledger: resumed at next start"
                    ),
                    Err(e) => tracing::error!(error = %e, "summarizing older cases failed"),
                }
            })?;
        Ok(())
    }
}

/// Every case, [`CHUNK`] at a time in key order; how many, or `None` when the ledger closed
/// first (the thread holds the ledger only while it writes a chunk).
fn resummarize_all(ledger: &Weak<Ledger>) -> Result<Option<usize>> {
    let mut cases = 0;
    loop {
        let Some(ledger) = ledger.upgrade() else {
            return Ok(None);
        };
        let mut start = ledger.store.get(trees::META, RESUME)?.unwrap_or_default();
        if !start.is_empty() {
            start.push(0);
        }
        let keys: Vec<Vec<u8>> = ledger
            .store
            .range(trees::SUMMARIES, &start, None)
            .take(CHUNK)
            .map(|e| e.map(|(k, _)| k))
            .collect::<std::result::Result<_, _>>()?;
        let Some(last) = keys.last().cloned() else {
            let mut batch = Batch::new();
            batch.put(trees::META, MARK.to_vec(), b"1".to_vec());
            ledger.store.commit(batch)?;
            return Ok(Some(cases));
        };
        let now = crate::auth::now_millis();
        let mut batch = Batch::new();
        let mut feed = Vec::with_capacity(keys.len());
        let mut indexed = Vec::with_capacity(keys.len());
        for key in &keys {
            let case = case_of_key(key);
            let Some(mut doc) = ledger.load(&case)? else {
                continue;
            };
            let heads = doc.heads();
            let mut entry = ledger.stage_index(&mut batch, &doc, &[], now)?;
            entry.quiet = true;
            feed.push(entry);
            indexed.push((case, heads));
        }
        batch.put(trees::META, RESUME.to_vec(), last);
        ledger.commit(batch, feed)?;
        ledger.settle(indexed, now)?;
        cases += keys.len();
        tracing::info!(cases, "summarizing older cases");
    }
}

/// The case a summary key names (`key_part` of its id).
fn case_of_key(key: &[u8]) -> CaseId {
    let id = key.get(2..).unwrap_or_default();
    debug_assert_eq!(key_part(&String::from_utf8_lossy(id)), key);
    CaseId::new(String::from_utf8_lossy(id).into_owned())
}
