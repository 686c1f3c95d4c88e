//! Case documents on a [`Store`]: each case is a compacted snapshot plus the incremental
//! changes saved since, folded into a new snapshot once enough have piled up. Beside them:
//! per-peer sync states, the set of locally changed cases, and per-peer feed cursors.
//!
//! Writers of one case must be serialized by the caller (the server holds a lock per case,
//! the handheld has one writer); reads may run concurrently with anything.

use super::{Batch, Store};
use crate::document::CaseDoc;
use crate::ids::CaseId;
use crate::Error;
use automerge::sync::State;
use automerge::{AutoCommit, ChangeHash};
use std::sync::Arc;

/// Tree names: part of the on-disk schema.
pub mod trees {
    /// case → compacted snapshot (`automerge::save`).
    pub const SNAPSHOTS: &str = "case_snapshots";
    /// case ‖ sequence (u64 BE) → incremental changes saved after the snapshot.
    pub const CHANGES: &str = "case_changes";
    /// peer ‖ case → encoded automerge sync state (the heads both sides share).
    pub const SYNC_STATES: &str = "sync_states";
    /// case → empty: changed locally and not yet acknowledged by the peer.
    pub const DIRTY: &str = "dirty_cases";
    /// small named values: cursors, schema version.
    pub const META: &str = "meta";
}

/// Incremental saves kept before a case is compacted into a new snapshot.
pub const DEFAULT_COMPACT_AFTER: usize = 32;

/// Length-prefixed key part, so that prefixes of one id never match another id.
fn part(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let len = u16::try_from(b.len()).unwrap_or(u16::MAX);
    let mut k = Vec::with_capacity(2 + b.len());
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(&b[..usize::from(len)]);
    k
}

fn case_key(case: &CaseId) -> Vec<u8> {
    part(case.as_str())
}

fn parse_case_key(key: &[u8]) -> Option<CaseId> {
    let len = usize::from(u16::from_be_bytes([*key.first()?, *key.get(1)?]));
    let s = std::str::from_utf8(key.get(2..2 + len)?).ok()?;
    Some(CaseId::new(s))
}

fn peer_case_key(peer: &str, case: &CaseId) -> Vec<u8> {
    let mut k = part(peer);
    k.extend_from_slice(&case_key(case));
    k
}

#[derive(Clone)]
pub struct DocStore {
    store: Arc<dyn Store>,
    compact_after: usize,
}

impl DocStore {
    pub fn new(store: Arc<dyn Store>) -> DocStore {
        DocStore {
            store,
            compact_after: DEFAULT_COMPACT_AFTER,
        }
    }

    pub fn with_compact_after(mut self, n: usize) -> DocStore {
        self.compact_after = n.max(1);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn contains(&self, case: &CaseId) -> Result<bool, Error> {
        Ok(self.store.get(trees::SNAPSHOTS, &case_key(case))?.is_some())
    }

    /// The automerge document of a case, snapshot plus increments, or `None` if unknown.
    pub fn load_automerge(&self, case: &CaseId) -> Result<Option<AutoCommit>, Error> {
        let key = case_key(case);
        let Some(snapshot) = self.store.get(trees::SNAPSHOTS, &key)? else {
            return Ok(None);
        };
        let mut doc = AutoCommit::load(&snapshot)?;
        for entry in self.store.scan_prefix(trees::CHANGES, &key) {
            let (_, bytes) = entry?;
            doc.load_incremental(&bytes)?;
        }
        Ok(Some(doc))
    }

    pub fn load(&self, case: &CaseId) -> Result<Option<CaseDoc>, Error> {
        self.load_automerge(case)?
            .map(CaseDoc::from_automerge)
            .transpose()
    }

    /// Stages what changed in `doc` since `since` (the heads it was loaded at; empty for a
    /// case new to this store). Compacts into a fresh snapshot when increments pile up.
    pub fn stage_save(
        &self,
        batch: &mut Batch,
        case: &CaseId,
        doc: &mut AutoCommit,
        since: &[ChangeHash],
    ) -> Result<(), Error> {
        let key = case_key(case);
        if since.is_empty() || !self.contains(case)? {
            return self.stage_compacted(batch, case, doc);
        }
        let increment = doc.save_after(since);
        if increment.is_empty() {
            return Ok(());
        }
        let mut count = 0usize;
        let mut last = 0u64;
        for entry in self.store.scan_prefix(trees::CHANGES, &key) {
            let (k, _) = entry?;
            count += 1;
            last = sequence(&k[key.len()..]).unwrap_or(last);
        }
        if count + 1 > self.compact_after {
            self.stage_compacted(batch, case, doc)?;
        } else {
            let mut k = key;
            k.extend_from_slice(&(last + 1).to_be_bytes());
            batch.put(trees::CHANGES, k, increment);
        }
        Ok(())
    }

    fn stage_compacted(
        &self,
        batch: &mut Batch,
        case: &CaseId,
        doc: &mut AutoCommit,
    ) -> Result<(), Error> {
        let key = case_key(case);
        for entry in self.store.scan_prefix(trees::CHANGES, &key) {
            batch.delete(trees::CHANGES, entry?.0);
        }
        batch.put(trees::SNAPSHOTS, key, doc.save());
        Ok(())
    }

    /// Folds a case's increments into one snapshot. Returns whether there was anything to do.
    pub fn compact(&self, case: &CaseId) -> Result<bool, Error> {
        let key = case_key(case);
        if self
            .store
            .scan_prefix(trees::CHANGES, &key)
            .next()
            .is_none()
        {
            return Ok(false);
        }
        let Some(mut doc) = self.load_automerge(case)? else {
            return Ok(false);
        };
        let mut batch = Batch::new();
        self.stage_compacted(&mut batch, case, &mut doc)?;
        self.store.commit(batch)?;
        Ok(true)
    }

    /// Number of incremental saves waiting to be compacted.
    pub fn pending_increments(&self, case: &CaseId) -> Result<usize, Error> {
        let mut n = 0;
        for entry in self.store.scan_prefix(trees::CHANGES, &case_key(case)) {
            entry?;
            n += 1;
        }
        Ok(n)
    }

    /// Every case in the store, in key order.
    pub fn case_ids(&self) -> impl Iterator<Item = Result<CaseId, Error>> + '_ {
        self.store.range(trees::SNAPSHOTS, &[], None).map(|entry| {
            let (k, _) = entry?;
            parse_case_key(&k).ok_or(Error::Malformed("case key"))
        })
    }

    /// The sync state shared with `peer` for a case. A missing or unreadable state starts
    /// afresh: the cost is resending, never losing.
    pub fn sync_state(&self, peer: &str, case: &CaseId) -> Result<State, Error> {
        let bytes = self
            .store
            .get(trees::SYNC_STATES, &peer_case_key(peer, case))?;
        Ok(bytes
            .and_then(|b| State::decode(&b).ok())
            .unwrap_or_default())
    }

    pub fn stage_sync_state(&self, batch: &mut Batch, peer: &str, case: &CaseId, state: &State) {
        batch.put(
            trees::SYNC_STATES,
            peer_case_key(peer, case),
            state.encode(),
        );
    }

    /// Marks or unmarks a case as changed locally and not yet acknowledged.
    pub fn stage_dirty(&self, batch: &mut Batch, case: &CaseId, dirty: bool) {
        if dirty {
            batch.put(trees::DIRTY, case_key(case), Vec::new());
        } else {
            batch.delete(trees::DIRTY, case_key(case));
        }
    }

    pub fn dirty_cases(&self) -> Result<Vec<CaseId>, Error> {
        self.store
            .range(trees::DIRTY, &[], None)
            .map(|entry| {
                let (k, _) = entry?;
                parse_case_key(&k).ok_or(Error::Malformed("case key"))
            })
            .collect()
    }

    /// The last feed position received from `peer` (0: nothing yet).
    pub fn cursor(&self, peer: &str) -> Result<u64, Error> {
        let key = [b"cursor:".as_slice(), &part(peer)].concat();
        Ok(self
            .store
            .get(trees::META, &key)?
            .and_then(|b| sequence(&b))
            .unwrap_or(0))
    }

    pub fn stage_cursor(&self, batch: &mut Batch, peer: &str, cursor: u64) {
        let key = [b"cursor:".as_slice(), &part(peer)].concat();
        batch.put(trees::META, key, cursor.to_be_bytes().to_vec());
    }

    pub fn commit(&self, batch: Batch) -> Result<(), Error> {
        self.store.commit(batch)
    }

    /// Saves a locally edited case and marks it for the next sync, durably.
    pub fn save_local(
        &self,
        case: &CaseId,
        doc: &mut CaseDoc,
        since: &[ChangeHash],
    ) -> Result<(), Error> {
        let mut batch = Batch::new();
        self.stage_save(&mut batch, case, doc.automerge(), since)?;
        self.stage_dirty(&mut batch, case, true);
        self.commit(batch)
    }
}

fn sequence(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}
