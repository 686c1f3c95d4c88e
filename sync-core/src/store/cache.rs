//! A bounded cache of loaded case documents, least recently used out first. Loading a case
//! costs parsing; a cached one costs a clone. Entries only ever grow by merging committed
//! documents into them, so a cached case never loses what the store holds at insert time.
//!
//! A cached document must never be older than the store: the server publishes a change's
//! feed position only after its document is in the cache, and a reader trusts the cache for
//! every change up to that position. A load from the store that raced with a commit of the
//! same case (it began before the commit was noted) may hold the older version, so it is not
//! cached when the entry was evicted meanwhile; the commit counter tells which loads raced.

use crate::ids::CaseId;
use automerge::AutoCommit;
use std::collections::{BTreeMap, HashMap};

/// Recent commits remembered per case while loads are in flight, before pruning.
const RECENT_COMMITS: usize = 4096;

pub(crate) struct DocCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<CaseId, (AutoCommit, u64)>,
    recency: BTreeMap<u64, CaseId>,
    /// Committed documents noted so far.
    commits: u64,
    /// The commit count at which each case was last noted, kept while some load that began
    /// earlier may still insert.
    recent: HashMap<CaseId, u64>,
    /// Loads in flight, by the commit count when they began.
    loads: BTreeMap<u64, usize>,
}

impl DocCache {
    pub(crate) fn new(capacity: usize) -> DocCache {
        DocCache {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
            recency: BTreeMap::new(),
            commits: 0,
            recent: HashMap::new(),
            loads: BTreeMap::new(),
        }
    }

    /// Starts a load from the store; hand the ticket to [`DocCache::loaded`] or
    /// [`DocCache::abandon`].
    pub(crate) fn begin_load(&mut self) -> u64 {
        *self.loads.entry(self.commits).or_default() += 1;
        self.commits
    }

    fn end_load(&mut self, ticket: u64) {
        if let Some(n) = self.loads.get_mut(&ticket) {
            *n -= 1;
            if *n == 0 {
                self.loads.remove(&ticket);
            }
        }
        self.prune();
    }

    /// A load that failed: nothing to cache.
    pub(crate) fn abandon(&mut self, ticket: u64) {
        self.end_load(ticket);
    }

    /// Caches a document loaded from the store, unless a commit of that case was noted after
    /// the load began and the entry is gone (the load may predate the commit).
    pub(crate) fn loaded(&mut self, case: &CaseId, doc: AutoCommit, ticket: u64) {
        let raced = self.recent.get(case).is_some_and(|at| *at > ticket);
        self.end_load(ticket);
        if raced && !self.entries.contains_key(case) {
            return;
        }
        self.put_owned(case, doc);
    }

    /// Notes a committed document: merged into the entry, or cached.
    pub(crate) fn committed(&mut self, case: &CaseId, doc: AutoCommit) {
        self.commits += 1;
        if !self.loads.is_empty() {
            self.recent.insert(case.clone(), self.commits);
        }
        self.put_owned(case, doc);
        self.prune();
    }

    fn prune(&mut self) {
        match self.loads.keys().next() {
            None => self.recent.clear(),
            Some(&oldest) if self.recent.len() > RECENT_COMMITS => {
                self.recent.retain(|_, at| *at > oldest);
            }
            Some(_) => {}
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

    /// Merges a committed document into the cached copy, or caches it. A committed document
    /// that holds all the cached one does replaces it (a move costs less than a merge).
    fn put_owned(&mut self, case: &CaseId, mut doc: AutoCommit) {
        if let Some((cached, _)) = self.entries.get_mut(case) {
            let heads = cached.get_heads();
            if doc.get_missing_deps(&heads).is_empty() {
                *cached = doc;
                self.touch(case);
                return;
            }
            if cached.merge(&mut doc).is_err() {
                // A document that does not merge is not worth keeping: reload from the store.
                self.remove(case);
                return;
            }
            self.touch(case);
            return;
        }
        self.tick += 1;
        self.entries.insert(case.clone(), (doc, self.tick));
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
        c.committed(&"a".into(), doc(1));
        c.committed(&"b".into(), doc(2));
        assert!(c.get(&"a".into()).is_some());
        c.committed(&"c".into(), doc(3));
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
        c.committed(&"a".into(), left);
        c.committed(&"a".into(), right);
        let merged = c.get(&"a".into()).expect("cached");
        use automerge::ReadDoc;
        assert!(merged.get(automerge::ROOT, "left").expect("get").is_some());
        assert!(merged.get(automerge::ROOT, "right").expect("get").is_some());
    }

    #[test]
    fn a_load_that_raced_a_commit_is_not_cached_over_an_evicted_entry() {
        use automerge::ReadDoc;
        let mut c = DocCache::new(1);
        let mut stale = doc(1);
        let mut fresh = stale.fork();
        fresh.put(automerge::ROOT, "comment", true).expect("put");
        // A reader starts loading "a" from the store before the commit is noted...
        let ticket = c.begin_load();
        c.committed(&"a".into(), fresh);
        // ...the committed entry is evicted...
        c.committed(&"b".into(), doc(2));
        assert!(c.get(&"a".into()).is_none());
        // ...and the reader's older copy must not take its place.
        c.loaded(&"a".into(), stale.clone(), ticket);
        assert!(c.get(&"a".into()).is_none(), "a stale load was cached");
        // A load that began after the commit is cached as usual.
        let ticket = c.begin_load();
        c.loaded(&"a".into(), stale, ticket);
        let cached = c.get(&"a".into()).expect("cached");
        assert!(cached
            .get(automerge::ROOT, "comment")
            .expect("get")
            .is_none());
        assert!(
            c.recent.is_empty() && c.loads.is_empty(),
            "bookkeeping is pruned"
        );
    }
}
