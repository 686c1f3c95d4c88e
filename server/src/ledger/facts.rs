//! The ledger's side of the indicator rows (`indicators::TREE`): the slot each case's row
//! holds in the in-memory table, assigned only by the commit thread; the rows of a ledger that
//! predates them; and loading the table in the background at start-up.

use super::trees;
use crate::error::{Error, Result};
use crate::indicators::{self, CaseFacts, LiveTable, Table};
use crate::summary::CaseSummary;
use gridcase_sync_core::store::{key_part as part, Batch, Store};
use gridcase_sync_core::CaseId;
use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;

/// The next free indicator slot (u32, big-endian); only the commit thread moves it.
const NEXT_SLOT: &[u8] = b"indicator_next_slot";

/// The indicator rows one group commit writes: each case keeps the slot its stored row names,
/// and a new case takes the next free one. Only the commit thread assigns slots.
pub(super) struct FactSlots {
    pub(super) next: u32,
    assigned: HashMap<CaseId, u32>,
    pub(super) staged: Vec<(u32, CaseFacts)>,
}

impl FactSlots {
    /// Slots for one group commit, new ones from `next` on.
    pub(super) fn starting_at(next: u32) -> FactSlots {
        FactSlots {
            next,
            assigned: HashMap::new(),
            staged: Vec::new(),
        }
    }

    /// Stages a case's row in its slot.
    pub(super) fn stage(
        &mut self,
        store: &dyn Store,
        batch: &mut Batch,
        case: &CaseId,
        facts: CaseFacts,
    ) -> Result<()> {
        let key = part(case.as_str());
        let slot = match self.assigned.get(case) {
            Some(s) => *s,
            None => {
                let stored = store.get(indicators::TREE, &key)?;
                let slot = match stored.as_deref().and_then(indicators::slot_of) {
                    Some(s) => s,
                    None => {
                        self.next += 1;
                        self.next - 1
                    }
                };
                self.assigned.insert(case.clone(), slot);
                slot
            }
        };
        batch.put(indicators::TREE, key, indicators::stored(slot, &facts));
        self.staged.push((slot, facts));
        Ok(())
    }

    /// Stages the next free slot, when this commit took any from `first`.
    pub(super) fn stage_next(&self, batch: &mut Batch, first: u32) {
        if self.next != first {
            batch.put(
                trees::META,
                NEXT_SLOT.to_vec(),
                self.next.to_be_bytes().to_vec(),
            );
        }
    }
}

/// Writes the indicator rows of a ledger that predates them, from its summaries.
pub(super) fn ensure_rows(store: &dyn Store) -> Result<()> {
    const MARK: &[u8] = b"indicator_facts";
    if store.get(trees::META, MARK)?.is_some() {
        return Ok(());
    }
    let mut batch = Batch::new();
    let mut slot = 0u32;
    for entry in store.range(trees::SUMMARIES, &[], None) {
        let (key, value) = entry?;
        let summary: CaseSummary = serde_json::from_slice(&value)?;
        batch.put(
            indicators::TREE,
            key,
            indicators::stored(slot, &CaseFacts::of(&summary)),
        );
        slot += 1;
        if batch.len() >= 20_000 {
            store.commit(std::mem::take(&mut batch))?;
            tracing::info!(cases = slot, "writing indicator rows");
        }
    }
    batch.put(trees::META, MARK.to_vec(), b"1".to_vec());
    batch.put(trees::META, NEXT_SLOT.to_vec(), slot.to_be_bytes().to_vec());
    Ok(store.commit(batch)?)
}

/// The next free indicator slot. A ledger written before the counter existed gets it from
/// its rows, once.
pub(super) fn next_slot(store: &dyn Store) -> Result<u32> {
    if let Some(b) = store.get(trees::META, NEXT_SLOT)? {
        let bytes: [u8; 4] = b
            .as_slice()
            .try_into()
            .map_err(|_| Error::Internal("a malformed indicator slot counter".into()))?;
        return Ok(u32::from_be_bytes(bytes));
    }
    let mut next = 0u32;
    for entry in store.range(indicators::TREE, &[], None) {
        let (_, v) = entry?;
        if let Some(s) = indicators::slot_of(&v) {
            next = next.max(s + 1);
        }
    }
    let mut batch = Batch::new();
    batch.put(trees::META, NEXT_SLOT.to_vec(), next.to_be_bytes().to_vec());
    store.commit(batch)?;
    Ok(next)
}

/// Loads the in-memory table from the stored rows on a thread of its own; stats wait for it,
/// and commits made meanwhile are applied after it.
pub(super) fn load_table(
    store: Arc<dyn Store>,
    table: Arc<LiveTable>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("gridcase-indicators".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let rows = store
                .range(indicators::TREE, &[], None)
                .map(|e| e.map(|(_, v)| v));
            // A panic while loading must still end the load, or stats would wait forever.
            let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Table::load(rows).map_err(|e| e.to_string())
            }))
            .unwrap_or_else(|_| Err("the indicator table panicked while loading".into()));
            match &loaded {
                Ok(t) => tracing::info!(
                    slots = t.slots(),
                    ms = started.elapsed().as_millis() as u64,
                    "indicator table loaded"
                ),
                Err(e) => tracing::error!(error = %e, "the indicator table did not load"),
            }
            table.finish(loaded);
        })
}
