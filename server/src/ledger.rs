//! The central case ledger: case documents (snapshot + increments, compacted in the
//! background), the change feed indexed by grid and unit, the summaries the queries read, and
//! the receipts that record when and from whom each event arrived.
//!
//! Every write goes through the [`Committer`]: one thread merges the batches of all requests
//! waiting at that moment into one atomic, flushed commit (group commit), assigns feed
//! sequence numbers in commit order, and publishes the highest durable sequence. Feed readers
//! never look past that point, so a device's cursor can only pass what is on disk.

use crate::error::{Error, Result};
use crate::indicators::{self, CaseFacts, GroupBy, Indicators, LiveTable, Period, Table};
use crate::metrics::Metrics;
use crate::summary::CaseSummary;
use gridcase_sync_core::event::Channel;
use gridcase_sync_core::fold::{fold, CaseState};
use gridcase_sync_core::store::{Batch, DocStore, Store};
use gridcase_sync_core::{
    AutoCommit, CaseDoc, CaseId, ChangeHash, Event, EventId, GridId, Millis, UnitId, WorkCalendar,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use tokio::sync::broadcast;

mod trees {
    pub const SUMMARIES: &str = "ledger_summaries";
    pub const FEED: &str = "ledger_feed";
    pub const FEED_GRID: &str = "ledger_feed_grid";
    pub const FEED_UNIT: &str = "ledger_feed_unit";
    pub const FEED_LAST: &str = "ledger_feed_last";
    pub const RECEIPTS: &str = "ledger_receipts";
    pub const META: &str = "ledger_meta";
    pub const BLOB_REFS: &str = "ledger_blob_refs";
}

const FEED_SEQ: &[u8] = b"feed_seq";
/// The next free indicator slot (u32, big-endian); only the commit thread moves it.
const NEXT_SLOT: &[u8] = b"indicator_next_slot";

/// When and how the server received one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    /// Server time of receipt: the audit trail device times cannot be.
    pub received_at: Millis,
    /// The device that delivered it.
    pub via: String,
    /// The automerge change that carried it (hex).
    pub change: Option<String>,
    /// Why the central office should look at it, if it should.
    pub flag: Option<String>,
}

/// A case whose change became durable, announced to live listeners (`GET /v1/changes`).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Its position in the feed.
    pub seq: u64,
    pub case: CaseId,
    pub grid: Option<GridId>,
    pub units: Vec<UnitId>,
}

/// What a commit changes about one case: where its feed position is indexed, and the facts
/// the indicators count.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    pub case: CaseId,
    pub grid: Option<GridId>,
    pub units: Vec<UnitId>,
    pub facts: Option<CaseFacts>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FeedLast {
    seq: u64,
    grid: Option<GridId>,
    units: Vec<UnitId>,
}

use gridcase_sync_core::store::key_part as part;

fn keyed(prefix: &str, seq: u64) -> Vec<u8> {
    let mut k = part(prefix);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn seq_at_end(key: &[u8]) -> Option<u64> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// Committed documents of one write, for the document cache.
pub type Noted = Vec<(CaseId, AutoCommit)>;

struct Job {
    batch: Batch,
    feed: Vec<FeedEntry>,
    /// The documents the batch saves, put in the cache before the feed position is published.
    docs: Noted,
    reply: mpsc::Sender<std::result::Result<u64, String>>,
}

/// The group-commit thread.
pub struct Committer {
    tx: Option<mpsc::Sender<Job>>,
    committed: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    fn start(
        store: Arc<dyn Store>,
        docs: DocStore,
        metrics: Arc<Metrics>,
        table: Arc<LiveTable>,
        announce: broadcast::Sender<Change>,
    ) -> Result<Committer> {
        let first = match store.get(trees::META, FEED_SEQ)? {
            Some(b) => seq_at_end(&b).unwrap_or(0),
            None => 0,
        };
        let slot = next_slot(&*store)?;
        let committed = Arc::new(AtomicU64::new(first));
        let (tx, rx) = mpsc::channel::<Job>();
        let published = committed.clone();
        let thread = std::thread::Builder::new()
            .name("gridcase-commit".into())
            .spawn(move || {
                commit_loop(store, docs, rx, published, metrics, table, slot, announce)
            })?;
        Ok(Committer {
            tx: Some(tx),
            committed,
            thread: Some(thread),
        })
    }

    /// Commits durably (with whatever else is waiting) and returns the last feed sequence.
    fn commit(&self, batch: Batch, feed: Vec<FeedEntry>, docs: Noted) -> Result<u64> {
        let (reply, answer) = mpsc::channel();
        self.tx
            .as_ref()
            .ok_or_else(|| Error::Internal("the ledger is shut down".into()))?
            .send(Job {
                batch,
                feed,
                docs,
                reply,
            })
            .map_err(|_| Error::Internal("the commit thread is gone".into()))?;
        answer
            .recv()
            .map_err(|_| Error::Internal("the commit thread is gone".into()))?
            .map_err(Error::Internal)
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn commit_loop(
    store: Arc<dyn Store>,
    docs: DocStore,
    rx: mpsc::Receiver<Job>,
    committed: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
    table: Arc<LiveTable>,
    mut slot: u32,
    announce: broadcast::Sender<Change>,
) {
    let mut next = committed.load(Ordering::SeqCst);
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < 512 {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let mut batch = Batch::new();
        let mut seq = next;
        let mut last: HashMap<CaseId, FeedLast> = HashMap::new();
        let mut facts = FactSlots {
            next: slot,
            ..FactSlots::default()
        };
        let mut failed = None;
        let mut changes = Vec::new();
        for job in &mut jobs {
            batch.extend(std::mem::take(&mut job.batch));
            for mut entry in std::mem::take(&mut job.feed) {
                seq += 1;
                changes.push(Change {
                    seq,
                    case: entry.case.clone(),
                    grid: entry.grid.clone(),
                    units: entry.units.clone(),
                });
                let staged = match entry.facts.take() {
                    Some(f) => facts.stage(&*store, &mut batch, &entry.case, f),
                    None => Ok(()),
                };
                if let Err(e) =
                    staged.and_then(|()| stage_feed(&*store, &mut batch, &mut last, entry, seq))
                {
                    failed = Some(e.to_string());
                }
            }
        }
        batch.put(trees::META, FEED_SEQ.to_vec(), seq.to_be_bytes().to_vec());
        if facts.next != slot {
            batch.put(
                trees::META,
                NEXT_SLOT.to_vec(),
                facts.next.to_be_bytes().to_vec(),
            );
        }
        let result = match failed {
            Some(e) => Err(e),
            None => store.commit(batch).map_err(|e| e.to_string()),
        };
        metrics.commit_group(jobs.len());
        match &result {
            Ok(()) => {
                slot = facts.next;
                table.apply(facts.staged);
                next = seq;
                // The cache first, then the position: a sync that reads the new position must
                // find these changes in the documents it loads, or it would move a device's
                // cursor past a change it never offered.
                for job in &mut jobs {
                    for (case, doc) in std::mem::take(&mut job.docs) {
                        docs.note_committed_owned(&case, doc);
                    }
                }
                committed.store(seq, Ordering::SeqCst);
                for change in changes {
                    // No one listening is not an error.
                    let _ = announce.send(change);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed");
                // sled applies a batch before it flushes. If the flush failed, the batch may
                // be visible in the store: then its sequence numbers and slots are taken, and
                // the table follows the store (the sequence is published only by a later
                // commit that reaches the disk).
                let stored = store.get(trees::META, FEED_SEQ).ok().flatten();
                if seq != next && stored.as_deref().and_then(seq_at_end) == Some(seq) {
                    slot = facts.next;
                    table.apply(facts.staged);
                    next = seq;
                }
            }
        }
        for job in jobs {
            let _ = job.reply.send(result.clone().map(|()| seq));
        }
    }
}

/// Moves a case to the head of the feed: its old entries go, new ones come at `seq`.
fn stage_feed(
    store: &dyn Store,
    batch: &mut Batch,
    last: &mut HashMap<CaseId, FeedLast>,
    entry: FeedEntry,
    seq: u64,
) -> Result<()> {
    let case_key = part(entry.case.as_str());
    let previous = match last.get(&entry.case) {
        Some(p) => Some(p.clone()),
        None => match store.get(trees::FEED_LAST, &case_key)? {
            Some(b) => Some(serde_json::from_slice::<FeedLast>(&b)?),
            None => None,
        },
    };
    if let Some(p) = previous {
        batch.delete(trees::FEED, p.seq.to_be_bytes().to_vec());
        if let Some(g) = &p.grid {
            batch.delete(trees::FEED_GRID, keyed(g.as_str(), p.seq));
        }
        for u in &p.units {
            batch.delete(trees::FEED_UNIT, keyed(u.as_str(), p.seq));
        }
    }
    let id = entry.case.as_str().as_bytes().to_vec();
    batch.put(trees::FEED, seq.to_be_bytes().to_vec(), id.clone());
    if let Some(g) = &entry.grid {
        batch.put(trees::FEED_GRID, keyed(g.as_str(), seq), id.clone());
    }
    for u in &entry.units {
        batch.put(trees::FEED_UNIT, keyed(u.as_str(), seq), id.clone());
    }
    let now = FeedLast {
        seq,
        grid: entry.grid,
        units: entry.units,
    };
    batch.put(trees::FEED_LAST, case_key, serde_json::to_vec(&now)?);
    last.insert(entry.case, now);
    Ok(())
}

/// The indicator rows one group commit writes: each case keeps the slot its stored row names,
/// and a new case takes the next free one. Only the commit thread assigns slots.
#[derive(Default)]
struct FactSlots {
    next: u32,
    assigned: HashMap<CaseId, u32>,
    staged: Vec<(u32, CaseFacts)>,
}

impl FactSlots {
    fn stage(
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
}

/// Writes the indicator rows of a ledger that predates them, from its summaries.
fn ensure_indicator_facts(store: &dyn Store) -> Result<()> {
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
fn next_slot(store: &dyn Store) -> Result<u32> {
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

/// Where to read the feed for a scope: everything, some grids, or one unit.
pub enum FeedScope {
    All,
    Grids(Vec<GridId>),
    Unit(UnitId),
}

/// A page of the feed.
pub struct FeedPage {
    pub cases: Vec<CaseId>,
    /// Where the next read starts.
    pub cursor: u64,
    pub more: bool,
}

pub struct Ledger {
    pub docs: DocStore,
    store: Arc<dyn Store>,
    committer: Committer,
    pub calendar: WorkCalendar,
    compactor: Option<mpsc::Sender<CaseId>>,
    compactor_thread: Option<JoinHandle<()>>,
    table: Arc<LiveTable>,
    table_loader: Option<JoinHandle<()>>,
    announce: broadcast::Sender<Change>,
}

impl Ledger {
    pub fn open(
        store: Arc<dyn Store>,
        cache_cases: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Ledger> {
        let docs = DocStore::new(store.clone()).with_cache(cache_cases);
        ensure_indicator_facts(&*store)?;
        let table = Arc::new(LiveTable::loading());
        let (announce, _) = broadcast::channel(1024);
        let committer = Committer::start(
            store.clone(),
            docs.clone(),
            metrics,
            table.clone(),
            announce.clone(),
        )?;
        let table_loader = {
            let (store, table) = (store.clone(), table.clone());
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
                })?
        };
        let (tx, rx) = mpsc::channel::<CaseId>();
        let compacting = docs.clone();
        let compactor_thread = std::thread::Builder::new()
            .name("gridcase-compact".into())
            .spawn(move || {
                let mut seen = HashSet::new();
                while let Ok(case) = rx.recv() {
                    seen.insert(case);
                    while let Ok(more) = rx.try_recv() {
                        seen.insert(more);
                    }
                    let due: Vec<CaseId> = seen.drain().collect();
                    for chunk in due.chunks(256) {
                        if let Err(e) = compacting.compact_many(chunk) {
                            tracing::warn!(cases = chunk.len(), error = %e, "compaction failed");
                        }
                    }
                }
            })?;
        Ok(Ledger {
            docs,
            store,
            committer,
            calendar: WorkCalendar::beijing(),
            compactor: Some(tx),
            compactor_thread: Some(compactor_thread),
            table,
            table_loader: Some(table_loader),
            announce,
        })
    }

    /// Every durable case change from now on; a listener that falls 1,024 behind is told how
    /// many it missed.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.announce.subscribe()
    }

    /// The highest feed sequence that is on disk.
    pub fn committed_seq(&self) -> u64 {
        self.committer.committed.load(Ordering::SeqCst)
    }

    /// Commits a batch with the feed moves of the cases it changed; durable on return.
    pub fn commit(&self, batch: Batch, feed: Vec<FeedEntry>) -> Result<u64> {
        self.commit_docs(batch, feed, Vec::new())
    }

    /// [`Ledger::commit`] for a batch that saves case documents: `docs` are those documents
    /// as committed, cached before the feed moves (see `commit_loop`).
    pub fn commit_docs(&self, batch: Batch, feed: Vec<FeedEntry>, docs: Noted) -> Result<u64> {
        if batch.is_empty() && feed.is_empty() {
            return Ok(self.committed_seq());
        }
        self.committer.commit(batch, feed, docs)
    }

    pub fn compact_later(&self, cases: Vec<CaseId>) {
        if let Some(tx) = &self.compactor {
            for c in cases {
                let _ = tx.send(c);
            }
        }
    }

    pub fn load(&self, case: &CaseId) -> Result<Option<CaseDoc>> {
        Ok(self.docs.load(case)?)
    }

    /// Stages the summary and receipts of a changed case; returns its feed entry.
    pub fn stage_index(
        &self,
        batch: &mut Batch,
        doc: &CaseDoc,
        receipts: &[(EventId, Receipt)],
        now: Millis,
    ) -> Result<FeedEntry> {
        let events = doc.events()?;
        let state = fold(&events, &self.calendar);
        self.stage_summary(batch, doc, state, Some(&events), receipts, now)
    }

    /// [`Ledger::stage_index`] for a case already folded (the sync gate folds each case once).
    pub fn stage_index_folded(
        &self,
        batch: &mut Batch,
        doc: &CaseDoc,
        state: CaseState,
        receipts: &[(EventId, Receipt)],
        now: Millis,
    ) -> Result<FeedEntry> {
        self.stage_summary(batch, doc, state, None, receipts, now)
    }

    /// Stages the summary of a folded case; `events` are its events when the caller has them
    /// (a public case's summary needs them).
    fn stage_summary(
        &self,
        batch: &mut Batch,
        doc: &CaseDoc,
        state: CaseState,
        events: Option<&[Event]>,
        receipts: &[(EventId, Receipt)],
        now: Millis,
    ) -> Result<FeedEntry> {
        let header = doc.header()?;
        let previous = self.summary(&header.case)?;
        let previous_flags = previous.as_ref().map_or(0, |s| s.flagged_events);
        let new_flags = receipts.iter().filter(|(_, r)| r.flag.is_some()).count();
        let mut summary = CaseSummary::of(&header, &state, previous_flags + new_flags, now);
        if summary.channel == Some(Channel::Web) {
            let read;
            let events = match events {
                Some(events) => events,
                None => {
                    read = doc.events()?;
                    &read
                }
            };
            summary.publish(&state, events, previous.as_ref(), now);
        }
        crate::query_index::stage(batch, previous.as_ref(), &summary);
        crate::query_index::stage_published(batch, previous.as_ref(), &summary);
        let case_key = part(header.case.as_str());
        batch.put(
            trees::SUMMARIES,
            case_key.clone(),
            serde_json::to_vec(&summary)?,
        );
        for attachment in doc.attachments()? {
            let mut k = attachment.sha256.as_bytes().to_vec();
            k.extend_from_slice(&case_key);
            batch.put(trees::BLOB_REFS, k, Vec::new());
        }
        for (event, receipt) in receipts {
            let mut k = case_key.clone();
            k.extend_from_slice(event.as_str().as_bytes());
            batch.put(trees::RECEIPTS, k, serde_json::to_vec(receipt)?);
        }
        Ok(FeedEntry {
            case: header.case,
            grid: state.territory.map(|t| t.grid),
            units: state.units_involved.into_iter().collect(),
            facts: Some(CaseFacts::of(&summary)),
        })
    }

    /// Re-indexes cases whose committed state moved past the version this request indexed.
    ///
    /// Two requests may change one case at once, each indexing its own view; whichever commits
    /// last could leave a summary that lacks the other's change. After committing, each request
    /// compares the heads it indexed with the committed heads (the cache merges every
    /// committed version) and indexes again when they differ; the later request always sees both.
    pub fn settle(&self, indexed: Vec<(CaseId, Vec<ChangeHash>)>, now: Millis) -> Result<()> {
        let mut batch = Batch::new();
        let mut feed = Vec::new();
        for (case, heads) in indexed {
            if self.docs.current_heads(&case)?.is_some_and(|h| h == heads) {
                continue;
            }
            if let Some(doc) = self.load(&case)? {
                feed.push(self.stage_index(&mut batch, &doc, &[], now)?);
            }
        }
        self.commit(batch, feed).map(|_| ())
    }

    /// The cases whose attachments name a blob.
    pub fn blob_cases(&self, sha256: &str) -> Result<Vec<CaseId>> {
        let prefix = sha256.as_bytes();
        let mut out = Vec::new();
        for entry in self.store.scan_prefix(trees::BLOB_REFS, prefix) {
            let (k, _) = entry?;
            let rest = &k[prefix.len()..];
            if rest.len() >= 2 {
                out.push(CaseId::new(
                    String::from_utf8_lossy(&rest[2..]).into_owned(),
                ));
            }
        }
        Ok(out)
    }

    /// Case ids under one index term, newest first, starting after `after` (an index-key
    /// suffix from a previous page).
    pub fn index_scan<'a>(
        &'a self,
        field: &str,
        value: &str,
        after: Option<Vec<u8>>,
    ) -> impl Iterator<Item = Result<(Vec<u8>, CaseId)>> + 'a {
        let prefix = crate::query_index::prefix(field, value);
        let end = gridcase_sync_core::store::prefix_end(&prefix);
        let mut start = prefix.clone();
        if let Some(after) = &after {
            start.extend_from_slice(after);
            start.push(0);
        }
        let len = prefix.len();
        self.store
            .range(crate::query_index::TREE, &start, end.as_deref())
            .map(move |entry| {
                let (k, _) = entry?;
                let case = crate::query_index::case_of(&k, len).unwrap_or_default();
                Ok((k[len..].to_vec(), CaseId::new(case)))
            })
    }

    /// Open311's published status changes from `start` (inclusive) to `end` (exclusive), oldest
    /// first, as (time, case, event). A superset of the truth: check each against its case's
    /// summary ([`CaseSummary::status_changes`]).
    pub fn published_between(
        &self,
        start: Millis,
        end: Millis,
    ) -> impl Iterator<Item = Result<(Millis, CaseId, String)>> + '_ {
        use crate::query_index::{published_key, published_of, PUBLISHED};
        let (from, to) = (published_key(start, "", ""), published_key(end, "", ""));
        self.store
            .range(PUBLISHED, &from, Some(&to))
            .filter_map(|entry| match entry {
                Ok((k, _)) => published_of(&k).map(Ok),
                Err(e) => Some(Err(e.into())),
            })
    }

    /// Builds the query index from the summaries when a ledger predates it (or its `review`
    /// term, which version 2 added).
    pub fn ensure_query_index(&self) -> Result<()> {
        const MARK: &[u8] = b"query_index_v2";
        if self.store.get(trees::META, MARK)?.is_some() {
            return Ok(());
        }
        // A version-1 index lacks only the `review` terms.
        let only_review = self.store.get(trees::META, b"query_index")?.is_some();
        let mut batch = Batch::new();
        for s in self.summaries() {
            let s = s?;
            if only_review {
                crate::query_index::stage_term(&mut batch, &s, "review");
            } else {
                crate::query_index::stage(&mut batch, None, &s);
            }
            if batch.len() > 50_000 {
                self.store.commit(std::mem::take(&mut batch))?;
            }
        }
        batch.put(trees::META, MARK.to_vec(), b"1".to_vec());
        Ok(self.store.commit(batch)?)
    }

    pub fn summary(&self, case: &CaseId) -> Result<Option<CaseSummary>> {
        match self.store.get(trees::SUMMARIES, &part(case.as_str()))? {
            Some(b) => Ok(Some(serde_json::from_slice(&b)?)),
            None => Ok(None),
        }
    }

    /// The indicators of the cases in `scope` over a period, grouped, with their total.
    pub fn indicators(
        &self,
        scope: &gridcase_sync_core::Scope,
        by: GroupBy,
        period: Period,
    ) -> Result<(BTreeMap<String, Indicators>, Indicators)> {
        self.table
            .compute(scope, by, period)
            .map_err(|e| Error::Internal(format!("the indicators are unavailable: {e}")))
    }

    /// Every summary, in case-id order.
    pub fn summaries(&self) -> impl Iterator<Item = Result<CaseSummary>> + '_ {
        self.store
            .range(trees::SUMMARIES, &[], None)
            .map(|e| Ok(serde_json::from_slice(&e?.1)?))
    }

    pub fn receipts(&self, case: &CaseId) -> Result<BTreeMap<String, Receipt>> {
        let prefix = part(case.as_str());
        let mut out = BTreeMap::new();
        for entry in self.store.scan_prefix(trees::RECEIPTS, &prefix) {
            let (k, v) = entry?;
            let event = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            out.insert(event, serde_json::from_slice(&v)?);
        }
        Ok(out)
    }

    /// Whether the server ever accepted an event of this case from `device`.
    pub fn authored_by(&self, case: &CaseId, device: &str) -> Result<bool> {
        Ok(self.receipts(case)?.values().any(|r| r.via == device))
    }

    /// Cases changed after `cursor` in a scope, oldest change first, at most `limit`.
    pub fn feed(&self, scope: &FeedScope, cursor: u64, limit: usize) -> Result<FeedPage> {
        self.feed_until(scope, cursor, limit, self.committed_seq())
    }

    /// [`Ledger::feed`] up to `high`, a position read before the caller loaded any document:
    /// every change up to it is then in what the caller offers, so the cursor it hands out
    /// never passes a change the device was not offered.
    pub fn feed_until(
        &self,
        scope: &FeedScope,
        cursor: u64,
        limit: usize,
        high: u64,
    ) -> Result<FeedPage> {
        let high = high.min(self.committed_seq());
        let mut found: Vec<(u64, CaseId)> = Vec::new();
        let from = cursor.saturating_add(1);
        let mut read = |tree: &'static str, prefix: Vec<u8>| -> Result<()> {
            let mut start = prefix.clone();
            start.extend_from_slice(&from.to_be_bytes());
            let mut end = prefix;
            end.extend_from_slice(&high.saturating_add(1).to_be_bytes());
            for entry in self.store.range(tree, &start, Some(&end)).take(limit + 1) {
                let (k, v) = entry?;
                if let Some(seq) = seq_at_end(&k) {
                    found.push((seq, CaseId::new(String::from_utf8_lossy(&v).into_owned())));
                }
            }
            Ok(())
        };
        match scope {
            FeedScope::All => read(trees::FEED, Vec::new())?,
            FeedScope::Grids(grids) => {
                for g in grids {
                    read(trees::FEED_GRID, part(g.as_str()))?;
                }
            }
            FeedScope::Unit(u) => read(trees::FEED_UNIT, part(u.as_str()))?,
        }
        found.sort();
        let mut seen = HashSet::new();
        found.retain(|(_, c)| seen.insert(c.clone()));
        let more = found.len() > limit;
        found.truncate(limit);
        let cursor = if more {
            found.last().map_or(high, |(s, _)| *s)
        } else {
            high.max(cursor)
        };
        Ok(FeedPage {
            cases: found.into_iter().map(|(_, c)| c).collect(),
            cursor,
            more,
        })
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.compactor.take();
        for t in [self.compactor_thread.take(), self.table_loader.take()]
            .into_iter()
            .flatten()
        {
            let _ = t.join();
        }
    }
}
