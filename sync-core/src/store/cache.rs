//! A bounded cache of loaded case documents, least recently used out first. Loading a case
//! costs parsing; a cached one costs a clone. Entries only ever grow by merging committed
//! documents into them, so a cached case never loses what the store holds at insert time.
//!
//! A cached document must never be older than the store: the server publishes a change's
//! feed position only after its document is in the cache, and a reader trusts the cache for
//! every change up to that position. A load from the store that raced with a commit of the
//! same case (it began before the commit was noted) may hold the older version, so it is not
//! cached when the entry was evicted meanwhile; the commit counter tells which loads raced.
//!
//! An evicted document leaves its heads behind (a few dozen bytes, up to
//! [`HEADS_PER_ENTRY`] times as many cases as documents): they stay the committed heads
//! until the case is committed again, when they are replaced by the document or forgotten,
//! so whether a peer already holds a case can be answered without loading it.

use crate::ids::CaseId;
use automerge::{AutoCommit, ChangeHash};
use std::collections::{BTreeMap, HashMap};

/// Recent commits remembered per case while loads are in flight, before pruning.
const RECENT_COMMITS: usize = 4096;

/// How many evicted cases' heads are kept per cached document.
pub(crate) const HEADS_PER_ENTRY: usize = 64;

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
    /// The heads of evicted documents (as committed), with when they were kept...
    evicted: HashMap<CaseId, (Vec<ChangeHash>, u64)>,
    /// ...oldest first, so that the oldest go first past `capacity * HEADS_PER_ENTRY`.
    evicted_order: BTreeMap<u64, CaseId>,
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
            evicted: HashMap::new(),
            evicted_order: BTreeMap::new(),
        }
    }

    /// Keeps the heads of a document leaving the cache.
    fn keep_heads(&mut self, case: CaseId, heads: Vec<ChangeHash>) {
        self.tick += 1;
        if let Some((_, at)) = self.evicted.insert(case.clone(), (heads, self.tick)) {
            self.evicted_order.remove(&at);
        }
        self.evicted_order.insert(self.tick, case);
        let bound = self.capacity.saturating_mul(HEADS_PER_ENTRY);
        while self.evicted.len() > bound {
            let Some((_, oldest)) = self.evicted_order.pop_first() else {
                break;
            };
            self.evicted.remove(&oldest);
        }
    }

    /// Forgets the kept heads of a case: it is cached again, changed, or gone.
    fn forget_heads(&mut self, case: &CaseId) {
        if let Some((_, at)) = self.evicted.remove(case) {
            self.evicted_order.remove(&at);
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
    #[cfg(test)]
    pub(crate) fn committed(&mut self, case: &CaseId, doc: AutoCommit) {
        self.committed_merge(case, doc, true);
    }

    /// [`DocCache::committed`], caching the document only when `cache_new` or when the case
    /// is cached already. On a store other processes write, a document this process committed
    /// may lack what another committed since it was loaded (that case then left the cache,
    /// [`DocCache::invalidate`]): merged into an entry it is complete, alone it is not.
    pub(crate) fn committed_merge(&mut self, case: &CaseId, doc: AutoCommit, cache_new: bool) {
        self.commits += 1;
        if !self.loads.is_empty() {
            self.recent.insert(case.clone(), self.commits);
        }
        if cache_new || self.entries.contains_key(case) {
            self.put_owned(case, doc);
        } else {
            // The heads kept of it may be older than this commit.
            self.forget_heads(case);
        }
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

    /// The heads of a cached case, without copying it, or those kept when it was evicted.
    pub(crate) fn heads(&mut self, case: &CaseId) -> Option<Vec<ChangeHash>> {
        self.touch(case);
        match self.entries.get_mut(case) {
            Some((doc, _)) => Some(doc.get_heads()),
            None => self.evicted.get(case).map(|(heads, _)| heads.clone()),
        }
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
        self.forget_heads(case);
        self.tick += 1;
        self.entries.insert(case.clone(), (doc, self.tick));
        self.recency.insert(self.tick, case.clone());
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.recency.pop_first() else {
                break;
            };
            if let Some((mut doc, _)) = self.entries.remove(&oldest) {
                let heads = doc.get_heads();
                self.keep_heads(oldest, heads);
            }
        }
    }

    /// A case changed where this cache cannot see (another process): its entry goes, and a
    /// load that began before is not cached (it counts as a commit for the race check).
    pub(crate) fn invalidate(&mut self, case: &CaseId) {
        self.commits += 1;
        if !self.loads.is_empty() {
            self.recent.insert(case.clone(), self.commits);
        }
        self.remove(case);
        self.prune();
    }

    pub(crate) fn remove(&mut self, case: &CaseId) {
        if let Some((_, t)) = self.entries.remove(case) {
            self.recency.remove(&t);
        }
        self.forget_heads(case);
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
    fn evicted_cases_leave_their_heads_until_committed_again() {
        let mut c = DocCache::new(1);
        let mut a = doc(1);
        let heads = a.get_heads();
        c.committed(&"a".into(), a.clone());
        c.committed(&"b".into(), doc(2));
        assert!(c.get(&"a".into()).is_none(), "evicted");
        assert_eq!(c.heads(&"a".into()), Some(heads.clone()), "its heads stay");
        // A commit that is not cached (another process may have written more) forgets them.
        a.put(automerge::ROOT, "more", true).expect("put");
        c.committed_merge(&"a".into(), a.clone(), false);
        assert_eq!(c.heads(&"a".into()), None);
        // Cached again, then evicted again: the newer heads.
        c.committed(&"a".into(), a.clone());
        c.committed(&"b".into(), doc(3));
        assert_eq!(c.heads(&"a".into()), Some(a.get_heads()));
        assert_ne!(a.get_heads(), heads);
        // Invalidated: gone.
        c.invalidate(&"a".into());
        assert_eq!(c.heads(&"a".into()), None);
        // Bounded: at most HEADS_PER_ENTRY per cached document.
        for i in 0..(HEADS_PER_ENTRY + 10) {
            c.committed(&format!("x{i}").as_str().into(), doc(i as i64));
        }
        assert!(c.evicted.len() <= HEADS_PER_ENTRY);
        assert_eq!(c.evicted.len(), c.evicted_order.len());
        assert!(c.heads(&"x0".into()).is_none(), "the oldest went first");
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
