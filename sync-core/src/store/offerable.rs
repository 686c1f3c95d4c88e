//! Cases written whole, remembered from the commit that wrote them so that the server can offer
//! one to a peer that holds nothing of it without loading it.
//!
//! After a reconnect each device pulls its partners' new cases: every one an offer of a whole
//! document to a peer that has none of it. Loading the document only to save it again was the
//! largest part of the offers (about a million instructions a case, most of it automerge
//! hashing every change on load). Such a message needs the heads, the hashes of all changes
//! (the bloom filter of what this side has) and the document saved uncompressed, which is
//! what the stored snapshot decompresses to. The commit knew the heads and hashes; they are
//! kept here (about 400 bytes a case) with a digest of the saved bytes, and the snapshot is
//! read back and used only while it is still exactly those bytes and the case has no later
//! increment.

use crate::ids::CaseId;
use automerge::{AutoCommit, ChangeHash};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// What an offer of a whole case needs: its heads, the hashes of all its changes (the bloom
/// filter of what this side has) and the document saved without compression.
/// Opaque outside sync-core: a server hands it from the session that staged the case to the
/// store once the commit is durable ([`crate::store::DocStore::note_offerable`]).
#[derive(Debug)]
pub struct Offerable {
    pub(crate) heads: Vec<ChangeHash>,
    pub(crate) hashes: Vec<ChangeHash>,
    /// [`digest`] of the document saved uncompressed.
    pub(crate) save: u64,
}

impl Offerable {
    /// `save` must be `doc` saved without compression.
    pub(crate) fn of(doc: &mut AutoCommit, save: &[u8]) -> Offerable {
        let heads = doc.get_heads();
        let hashes = doc.get_changes_meta(&[]).iter().map(|c| c.hash).collect();
        Offerable {
            heads,
            hashes,
            save: digest(save),
        }
    }

    /// Bytes of memory it holds, roughly.
    fn size(&self) -> usize {
        32 * (self.heads.len() + self.hashes.len()) + 128
    }
}

/// Tells a saved document from any other the snapshot could have become (a compaction's):
/// not an integrity check against a hostile store.
pub(crate) fn digest(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// The most recently committed [`Offerable`]s, within a budget of bytes. An entry is only
/// used while its heads are the case's committed heads (the caller checks), so a later commit
/// by any path makes it stale without telling this cache.
pub(crate) struct Offerables {
    entries: HashMap<CaseId, (u64, Arc<Offerable>)>,
    order: VecDeque<(CaseId, u64)>,
    bytes: usize,
    budget: usize,
    generation: u64,
}

impl Offerables {
    pub(crate) fn new(budget: usize) -> Offerables {
        Offerables {
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
            generation: 0,
        }
    }

    pub(crate) fn insert(&mut self, case: CaseId, offerable: Offerable) {
        let size = offerable.size();
        if size > self.budget {
            return;
        }
        self.generation += 1;
        if let Some((_, old)) = self
            .entries
            .insert(case.clone(), (self.generation, Arc::new(offerable)))
        {
            self.bytes -= old.size();
        }
        self.bytes += size;
        self.order.push_back((case, self.generation));
        while self.bytes > self.budget {
            let Some((case, generation)) = self.order.pop_front() else {
                break;
            };
            // A replaced entry left its old place in the queue: only the current one counts.
            if self
                .entries
                .get(&case)
                .is_some_and(|(g, _)| *g == generation)
            {
                if let Some((_, gone)) = self.entries.remove(&case) {
                    self.bytes -= gone.size();
                }
            }
        }
        // Stale places pile up when cases are replaced often; drop them now and then.
        if self.order.len() > 4 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order
                .retain(|(case, g)| entries.get(case).is_some_and(|(current, _)| current == g));
        }
    }

    pub(crate) fn get(&self, case: &CaseId) -> Option<Arc<Offerable>> {
        self.entries.get(case).map(|(_, o)| o.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry of about `bytes` bytes.
    fn offerable(bytes: usize) -> Offerable {
        Offerable {
            heads: Vec::new(),
            hashes: vec![ChangeHash([0; 32]); bytes / 32],
            save: 0,
        }
    }

    #[test]
    fn the_oldest_go_first_and_a_replaced_entry_keeps_its_new_place() {
        let mut o = Offerables::new(1000);
        o.insert(CaseId::new("a"), offerable(300));
        o.insert(CaseId::new("b"), offerable(300));
        o.insert(CaseId::new("a"), offerable(300));
        // "b" is now the oldest: a third entry pushes it out, not "a".
        o.insert(CaseId::new("c"), offerable(300));
        assert!(o.get(&CaseId::new("a")).is_some());
        assert!(o.get(&CaseId::new("b")).is_none());
        assert!(o.get(&CaseId::new("c")).is_some());
        assert!(o.bytes <= 1000);
        o.insert(CaseId::new("huge"), offerable(5000));
        assert!(
            o.get(&CaseId::new("huge")).is_none(),
            "over the budget alone"
        );
    }
}
