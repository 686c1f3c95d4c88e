//! The central case ledger: case documents (snapshot + increments, compacted in the
//! background), the change feed indexed by grid and unit, the summaries the queries read, and
//! the receipts that record when and from whom each event arrived.
//!
//! Every write goes through [`Ledger::write`] (`write.rs`): a [`Write`] stages documents and
//! their index rows, holds the claims on new cases until it is dropped, and commits through
//! the commit thread (`committer.rs`): one thread merges the batches of all requests waiting
//! at that moment into one atomic, flushed commit (group commit), assigns feed sequence
//! numbers in commit order, and publishes the highest durable sequence. Feed readers
//! (`feed.rs`) never look past that point, so a device's cursor can only pass what is on disk.

mod address_misses;
mod callers;
mod committer;
mod compactor;
mod facts;
mod feed;
mod index;
mod numbers;
mod open_cases;
pub use open_cases::{OpenCase, OpenCases};
mod receipts;
mod resummarize;
mod write;

pub use address_misses::AddressMiss;
pub use callers::stage_caller;
pub use feed::{FeedPage, FeedScope};
pub use write::{Noted, Write};

use crate::error::{Error, Result};
use crate::indicators::{GroupBy, Indicators, LiveTable, Period};
use crate::metrics::Metrics;
use crate::summary::CaseSummary;
use committer::Committer;
use compactor::Compactor;
use gridcase_sync_core::store::{key_part as part, DocStore, Store};
use gridcase_sync_core::{CaseDoc, CaseId, GridId, Millis, UnitId, WorkCalendar};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::broadcast;

/// The ledger's trees besides the documents' (`DocStore`), the indicator rows
/// (`indicators::TREE`) and the query index (`query_index`).
mod trees {
    pub const SUMMARIES: &str = "ledger_summaries";
    pub const FEED: &str = "ledger_feed";
    pub const FEED_GRID: &str = "ledger_feed_grid";
    pub const FEED_UNIT: &str = "ledger_feed_unit";
    pub const FEED_LAST: &str = "ledger_feed_last";
    /// Receipts one row per event, as releases before 2026-11-30 wrote them: read, no longer
    /// written (`receipts.rs`; new ones go one row per arrival, `receipts::ARRIVALS`).
    pub const RECEIPTS: &str = "ledger_receipts";
    pub const META: &str = "ledger_meta";
    pub const BLOB_REFS: &str = "ledger_blob_refs";
}

/// When and how the server received one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    /// Server time of receipt: the audit trail device times cannot be.
    pub received_at: Millis,
    /// The device that delivered it.
    pub via: String,
    /// The automerge change that carried it (hex), as receipts written before 2026-12-01 keep
    /// it. Later ones leave it out (a 32-byte hash an event): the document names the same
    /// change (`CaseDoc::changes_in_order`), and the case's history reads it there.
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

/// What a commit changes about one case: where its feed position is indexed, the facts the
/// indicators count, and what its number needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    pub case: CaseId,
    pub grid: Option<GridId>,
    pub units: Vec<UnitId>,
    pub facts: Option<crate::indicators::CaseFacts>,
    /// Server time of the write: a new case's number counts on its district day.
    pub received_at: Millis,
    /// The summary of a case new to the ledger, which the commit thread (it alone gives
    /// numbers) stages with the case's number.
    pub unnumbered: Option<Box<CaseSummary>>,
    /// A case summarized again without a change (`resummarize`): its indicator facts are
    /// staged, but it keeps its feed position and nobody is told it changed.
    pub quiet: bool,
    /// What the work queues hold of the case once committed: `None` when it is not open.
    pub open: Option<OpenCase>,
}

pub struct Ledger {
    pub docs: DocStore,
    store: Arc<dyn Store>,
    // Dropped in this order after `Drop for Ledger`: compaction ends, then the commit thread.
    compactor: Compactor,
    committer: Committer,
    pub calendar: WorkCalendar,
    table: Arc<LiveTable>,
    table_loader: Option<JoinHandle<()>>,
    /// The open cases, for the work queues.
    open: Arc<OpenCases>,
    open_loader: Option<JoinHandle<()>>,
    /// Numbers the cases of a ledger from before numbers, in the background.
    numbering: Option<JoinHandle<()>>,
    stop_numbering: Arc<AtomicBool>,
    announce: broadcast::Sender<Change>,
    /// Whether the query index's version 4 is known complete (`index.rs`): while true, its
    /// mark is not read from the store again (a start that finds an older release's marks
    /// sets it back).
    index_v4: Arc<AtomicBool>,
}

impl Ledger {
    /// Opens the ledger on a store; new cases are numbered with `case_number_prefix`.
    pub fn open(
        store: Arc<dyn Store>,
        cache_cases: usize,
        metrics: Arc<Metrics>,
        case_number_prefix: &str,
    ) -> Result<Ledger> {
        let docs = DocStore::new(store.clone()).with_cache(cache_cases);
        facts::ensure_rows(&*store)?;
        let table = Arc::new(LiveTable::loading());
        let open = Arc::new(OpenCases::default());
        let (announce, _) = broadcast::channel(1024);
        let committer = Committer::start(
            store.clone(),
            docs.clone(),
            metrics,
            (table.clone(), open.clone()),
            announce.clone(),
            case_number_prefix.to_owned(),
        )?;
        let table_loader = facts::load_table(store.clone(), table.clone())?;
        let open_loader = open_cases::load(store.clone(), open.clone())?;
        let compactor = Compactor::start(docs.clone())?;
        // Last: once it runs, the commit thread ends only after it (see `Drop`).
        let stop_numbering = Arc::new(AtomicBool::new(false));
        let numbering =
            numbers::number_older(store.clone(), committer.sender()?, stop_numbering.clone())?;
        Ok(Ledger {
            docs,
            store,
            compactor,
            committer,
            calendar: WorkCalendar::beijing(),
            table,
            table_loader: Some(table_loader),
            open,
            open_loader: Some(open_loader),
            numbering,
            stop_numbering,
            announce,
            index_v4: Arc::default(),
        })
    }

    /// Reads the open cases in a scope with `f`, as the work queues do; `None` while they
    /// load at start-up.
    pub fn read_open_cases<T>(
        &self,
        scope: &gridcase_sync_core::Scope,
        f: impl FnOnce(&mut dyn Iterator<Item = &OpenCase>) -> T,
    ) -> Option<T> {
        self.open.read_in_scope(scope, f)
    }

    /// Every durable case change from now on; a listener that falls 1,024 behind is told how
    /// many it missed.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.announce.subscribe()
    }

    /// The highest feed sequence that is on disk and, on a store several servers share, taken
    /// in by this server (the others' commits are followed every 200 ms and before each of its
    /// own): a device's cursor never passes a change this server has not seen.
    pub fn committed_seq(&self) -> u64 {
        self.committer.committed()
    }

    /// A case's document as committed, by any server: on a shared store, a case another server
    /// changed since this one last followed leaves the cache first, so a request reaching any
    /// server reads every change acknowledged before it.
    pub fn load(&self, case: &CaseId) -> Result<Option<CaseDoc>> {
        if self.store.shared() {
            let moved = feed::position(&*self.store, case)?
                .is_some_and(|seq| seq > self.committer.committed());
            if moved {
                self.docs.changed_elsewhere(case);
            }
        }
        Ok(self.docs.load(case)?)
    }

    /// A case's number (`DC-20261130-0042`), once the ledger has given it one.
    pub fn number(&self, case: &CaseId) -> Result<Option<String>> {
        numbers::number_of(&*self.store, case)
    }

    /// The case a number was given to; `number` as stored (`case_number::parse` reads typed
    /// ones). An exact lookup, never a scan.
    pub fn numbered(&self, number: &str) -> Result<Option<CaseId>> {
        numbers::case_of(&*self.store, number)
    }

    /// Whether every case has its number: a ledger from before numbers gets them in the
    /// background after it opens, in the order it first received its cases.
    pub fn numbers_complete(&self) -> Result<bool> {
        numbers::complete(&*self.store)
    }

    /// A case's summary. One stored before numbers is read with the number its case was given
    /// since (`numbers::number_older`), which its next change stores.
    pub fn summary(&self, case: &CaseId) -> Result<Option<CaseSummary>> {
        Ok(self
            .summaries_of(std::slice::from_ref(case))?
            .pop()
            .flatten())
    }

    /// How many reads a request should gather into one when it may not need them all
    /// ([`Store::read_ahead`]): 1 on sled, hundreds on PostgreSQL.
    pub fn read_ahead(&self) -> usize {
        self.store.read_ahead().max(1)
    }

    /// [`Ledger::summary`] of several cases in one read (one statement on PostgreSQL), in the
    /// order asked; the numbers of those stored before their case was numbered in a second.
    pub fn summaries_of(&self, cases: &[CaseId]) -> Result<Vec<Option<CaseSummary>>> {
        let keys: Vec<Vec<u8>> = cases.iter().map(|c| part(c.as_str())).collect();
        let stored = self.store.get_many(trees::SUMMARIES, &keys)?;
        let mut summaries = stored
            .into_iter()
            .map(|bytes| {
                bytes
                    .map(|b| serde_json::from_slice::<CaseSummary>(&b))
                    .transpose()
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let unnumbered: Vec<usize> = summaries
            .iter()
            .enumerate()
            .filter(|(_, s)| s.as_ref().is_some_and(|s| s.number.is_none()))
            .map(|(i, _)| i)
            .collect();
        if !unnumbered.is_empty() {
            let ids: Vec<CaseId> = unnumbered.iter().map(|&i| cases[i].clone()).collect();
            let numbers = numbers::numbers_of(&*self.store, &ids)?;
            for (i, number) in unnumbered.into_iter().zip(numbers) {
                if let Some(s) = summaries[i].as_mut() {
                    s.number = number;
                }
            }
        }
        Ok(summaries)
    }

    /// Every summary, in case-id order.
    pub fn summaries(&self) -> impl Iterator<Item = Result<CaseSummary>> + '_ {
        self.store
            .range(trees::SUMMARIES, &[], None)
            .map(|e| Ok(serde_json::from_slice(&e?.1)?))
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

    /// The receipts of a case's events, by event id: the rows of every release (per event
    /// before 2026-11-30, per arrival since) merged.
    pub fn receipts(&self, case: &CaseId) -> Result<BTreeMap<String, Receipt>> {
        receipts::read(&*self.store, &part(case.as_str()))
    }

    /// Whether the server ever accepted an event of this case from `device`.
    pub fn authored_by(&self, case: &CaseId, device: &str) -> Result<bool> {
        Ok(self.receipts(case)?.values().any(|r| r.via == device))
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
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Before the commit thread ends, which waits for every sender (the numbering's too).
        self.stop_numbering.store(true, Ordering::Relaxed);
        if let Some(t) = self.numbering.take() {
            let _ = t.join();
        }
        if let Some(t) = self.table_loader.take() {
            let _ = t.join();
        }
        if let Some(t) = self.open_loader.take() {
            let _ = t.join();
        }
    }
}
