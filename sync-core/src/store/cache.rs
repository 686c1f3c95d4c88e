//! A bounded cache of loaded case documents, least recently used out first. Loading a case
//! costs parsing; a cached one costs a clone. Entries only ever grow by merging committed
//! documents into them, so a cached case never loses what the store holds at insert time.

use crate::ids::CaseId;
use automerge::AutoCommit;
use std::collections::{BTreeMap, HashMap};

pub(crate) struct DocCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<CaseId, (AutoCommit, u64)>,
    recency: BTreeMap<u64, CaseId>,
}

impl DocCache {
    pub(crate) fn new(capacity: usize) -> DocCache {
        DocCache {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
            recency: BTreeMap::new(),
        }
    }

    fn touch(&mut self, case: &CaseId) {
        self.tick += 1;
        if let Some((_, t)) = self.entries.get_mut(case) {
            self.recency.remove(t);
            *t = self.tick;
            self.recency.insert(self.tick, case.clone());
        }
    }

    pub(crate) fn get(&mut self, case: &CaseId) -> Option<AutoCommit> {
        self.touch(case);
        self.entries.get(case).map(|(doc, _)| doc.clone())
    }

    /// The heads of a cached case, without copying it.
    pub(crate) fn heads(&mut self, case: &CaseId) -> Option<Vec<automerge::ChangeHash>> {
        self.touch(case);
        self.entries.get_mut(case).map(|(doc, _)| doc.get_heads())
    }

    /// Merges a committed document into the cached copy, or caches a copy of it. A committed
    /// document that holds all the cached one does replaces it (a copy costs less than a merge).
    pub(crate) fn put(&mut self, case: &CaseId, doc: &mut AutoCommit) {
        if let Some((cached, _)) = self.entries.get_mut(case) {
            let heads = cached.get_heads();
            if doc.get_missing_deps(&heads).is_empty() {
                *cached = doc.clone();
                self.touch(case);
                return;
            }
            if cached.merge(doc).is_err() {
                // A document that does not merge is not worth keeping: reload from the store.
                self.remove(case);
                return;
            }
            self.touch(case);
            return;
        }
        self.tick += 1;
        self.entries.insert(case.clone(), (doc.clone(), self.tick));
        self.recency.insert(self.tick, case.clone());
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.recency.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    pub(crate) fn remove(&mut self, case: &CaseId) {
        if let Some((_, t)) = self.entries.remove(case) {
            self.recency.remove(&t);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn doc(v: i64) -> AutoCommit {
        let mut d = AutoCommit::new();
        d.put(automerge::ROOT, "v", v).expect("put");
        d
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let mut c = DocCache::new(2);
        c.put(&"a".into(), &mut doc(1));
        c.put(&"b".into(), &mut doc(2));
        assert!(c.get(&"a".into()).is_some());
        c.put(&"c".into(), &mut doc(3));
        assert_eq!(c.len(), 2);
        assert!(c.get(&"b".into()).is_none(), "b was least recently used");
        assert!(c.get(&"a".into()).is_some());
        assert!(c.get(&"c".into()).is_some());
    }

    #[test]
    fn puts_merge_instead_of_replacing() {
        let mut c = DocCache::new(4);
        let mut base = doc(1);
        let mut left = base.fork();
        left.put(automerge::ROOT, "left", true).expect("put");
        let mut right = base.fork();
        right.put(automerge::ROOT, "right", true).expect("put");
        c.put(&"a".into(), &mut left);
        c.put(&"a".into(), &mut right);
        let merged = c.get(&"a".into()).expect("cached");
        use automerge::ReadDoc;
        assert!(merged.get(automerge::ROOT, "left").expect("get").is_some());
        assert!(merged.get(automerge::ROOT, "right").expect("get").is_some());
    }
}
