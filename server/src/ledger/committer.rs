//! The group-commit thread: the only place a ledger batch reaches the disk, and the only
//! place feed sequence numbers, indicator slots and case numbers are assigned and published.
//!
//! What it keeps (ARCHITECTURE.md, "Invariants"):
//! - *Durable before acknowledged*: a writer's call returns only after the flush of the group
//!   its batch was merged into.
//! - *The feed never runs ahead of the disk*: sequence numbers are assigned here, in commit
//!   order, and published after the flush.
//! - *A cursor passes only what was offered*: each committed document goes to the cache
//!   before the commit's sequence is published.
//! - *Stats never disagree with the summaries*: a case's indicator row is in the same batch as
//!   its summary, and the in-memory table is updated only once that batch is durable.
//! - *One number, one case*: a case new to the ledger gets its number here, in the same batch
//!   as its first commit (`numbers.rs`), so concurrent writers never share one.

use super::facts::{self, FactSlots};
use super::feed::{self, seq_at_end, FeedLast};
use super::numbers::Numbering;
use super::{trees, Change, FeedEntry, Noted, OpenCases};
use crate::error::{Error, Result};
use crate::indicators::LiveTable;
use crate::metrics::Metrics;
use gridcase_sync_core::store::{Batch, DocStore, Store};
use gridcase_sync_core::{CaseId, Millis};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use tokio::sync::broadcast;

/// The highest feed sequence assigned so far (u64, big-endian, in `trees::META`).
pub(super) const FEED_SEQ: &[u8] = b"feed_seq";

/// One writer's share of a group commit.
struct Job {
    batch: Batch,
    feed: Vec<FeedEntry>,
    /// The documents the batch saves, put in the cache before the feed position is published.
    docs: Noted,
    /// Cases of a ledger from before numbers to number, with when the ledger first received
    /// them (`numbers::number_older`).
    older: Vec<(CaseId, Millis)>,
    reply: Reply,
}

/// Where the commit thread answers a job: the last feed sequence, or why the commit failed.
type Reply = mpsc::Sender<std::result::Result<u64, String>>;

/// Hands a job to the commit thread and waits until it is durable (or failed).
fn send(tx: Option<&mpsc::Sender<Job>>, job: impl FnOnce(Reply) -> Job) -> Result<u64> {
    let (reply, answer) = mpsc::channel();
    tx.ok_or_else(|| Error::Internal("the ledger is shut down".into()))?
        .send(job(reply))
        .map_err(|_| Error::Internal("the commit thread is gone".into()))?;
    answer
        .recv()
        .map_err(|_| Error::Internal("the commit thread is gone".into()))?
        .map_err(Error::Internal)
}

/// A way to the commit thread for the numbering of older cases, which runs on a thread of its
/// own. The commit thread ends only once every sender is gone: the ledger stops that thread
/// before it closes.
pub(super) struct CommitSender(mpsc::Sender<Job>);

impl CommitSender {
    /// Has the commit thread number older cases (first received at the times given), with
    /// `batch`; durable on return.
    pub(super) fn number_older(&self, batch: Batch, older: Vec<(CaseId, Millis)>) -> Result<()> {
        send(Some(&self.0), |reply| Job {
            batch,
            feed: Vec::new(),
            docs: Vec::new(),
            older,
            reply,
        })
        .map(drop)
    }
}

/// The group-commit thread.
pub(super) struct Committer {
    tx: Option<mpsc::Sender<Job>>,
    committed: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    pub(super) fn start(
        store: Arc<dyn Store>,
        docs: DocStore,
        metrics: Arc<Metrics>,
        (table, open): (Arc<LiveTable>, Arc<OpenCases>),
        announce: broadcast::Sender<Change>,
        case_number_prefix: String,
    ) -> Result<Committer> {
        let first = match store.get(trees::META, FEED_SEQ)? {
            Some(b) => seq_at_end(&b).unwrap_or(0),
            None => 0,
        };
        let slot = facts::next_slot(&*store)?;
        let committed = Arc::new(AtomicU64::new(first));
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = CommitLoop {
            store,
            docs,
            committed: committed.clone(),
            metrics,
            table,
            open,
            announce,
            case_number_prefix,
        };
        let thread = std::thread::Builder::new()
            .name("gridcase-commit".into())
            .spawn(move || thread.run(rx, slot))?;
        Ok(Committer {
            tx: Some(tx),
            committed,
            thread: Some(thread),
        })
    }

    /// The highest feed sequence that is on disk.
    pub(super) fn committed(&self) -> u64 {
        self.committed.load(Ordering::SeqCst)
    }

    /// Commits durably (with whatever else is waiting) and returns the last feed sequence.
    pub(super) fn commit(&self, batch: Batch, feed: Vec<FeedEntry>, docs: Noted) -> Result<u64> {
        send(self.tx.as_ref(), |reply| Job {
            batch,
            feed,
            docs,
            older: Vec::new(),
            reply,
        })
    }

    /// A sender for the numbering of older cases.
    pub(super) fn sender(&self) -> Result<CommitSender> {
        self.tx
            .clone()
            .map(CommitSender)
            .ok_or_else(|| Error::Internal("the ledger is shut down".into()))
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

/// What the commit thread owns.
struct CommitLoop {
    store: Arc<dyn Store>,
    docs: DocStore,
    /// The published (durable) feed sequence, shared with the [`Committer`].
    committed: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
    table: Arc<LiveTable>,
    /// The open cases the work queues read, updated after each durable commit.
    open: Arc<OpenCases>,
    announce: broadcast::Sender<Change>,
    /// The prefix of the case numbers this thread gives.
    case_number_prefix: String,
}

impl CommitLoop {
    /// Commits groups of waiting jobs until every sender is gone. `slot` is the next free
    /// indicator slot.
    fn run(self, rx: mpsc::Receiver<Job>, mut slot: u32) {
        let store = &*self.store;
        let mut next = self.committed.load(Ordering::SeqCst);
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
            let mut facts = FactSlots::starting_at(slot);
            let mut numbering = Numbering::new(&self.case_number_prefix);
            let mut failed = None;
            let mut changes = Vec::new();
            let mut opened = Vec::new();
            for job in &mut jobs {
                batch.extend(std::mem::take(&mut job.batch));
                for mut entry in std::mem::take(&mut job.feed) {
                    opened.push((entry.case.to_string(), entry.open.take()));
                    if entry.quiet {
                        if let Some(f) = entry.facts.take() {
                            if let Err(e) = facts.stage(store, &mut batch, &entry.case, f) {
                                failed = Some(e.to_string());
                            }
                        }
                        continue;
                    }
                    seq += 1;
                    changes.push(Change {
                        seq,
                        case: entry.case.clone(),
                        grid: entry.grid.clone(),
                        units: entry.units.clone(),
                    });
                    let numbered = match entry.unnumbered.take() {
                        Some(summary) => numbering.stage(
                            store,
                            &mut batch,
                            &entry.case,
                            *summary,
                            entry.received_at,
                        ),
                        None => Ok(()),
                    };
                    let staged = numbered.and_then(|()| match entry.facts.take() {
                        Some(f) => facts.stage(store, &mut batch, &entry.case, f),
                        None => Ok(()),
                    });
                    if let Err(e) = staged
                        .and_then(|()| feed::stage_move(store, &mut batch, &mut last, entry, seq))
                    {
                        failed = Some(e.to_string());
                    }
                }
                for (case, first) in std::mem::take(&mut job.older) {
                    if let Err(e) = numbering.stage_older(store, &mut batch, &case, first) {
                        failed = Some(e.to_string());
                    }
                }
            }
            batch.put(trees::META, FEED_SEQ.to_vec(), seq.to_be_bytes().to_vec());
            facts.stage_next(&mut batch, slot);
            let result = match failed {
                Some(e) => Err(e),
                None => store.commit(batch).map_err(|e| e.to_string()),
            };
            self.metrics.commit_group(jobs.len());
            match &result {
                Ok(()) => {
                    slot = facts.next;
                    self.table.apply(facts.staged);
                    self.open.apply(opened);
                    next = seq;
                    // The cache first, then the position: a sync that reads the new position
                    // must find these changes in the documents it loads, or it would move a
                    // device's cursor past a change it never offered.
                    for job in &mut jobs {
                        for (case, doc) in std::mem::take(&mut job.docs) {
                            self.docs.note_committed_owned(&case, doc);
                        }
                    }
                    self.committed.store(seq, Ordering::SeqCst);
                    for change in changes {
                        // No one listening is not an error.
                        let _ = self.announce.send(change);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "group commit failed");
                    // sled applies a batch before it flushes. If the flush failed, the batch
                    // may be visible in the store: then its sequence numbers and slots are
                    // taken, and the table follows the store (the sequence is published only
                    // by a later commit that reaches the disk).
                    let stored = store.get(trees::META, FEED_SEQ).ok().flatten();
                    if seq != next && stored.as_deref().and_then(seq_at_end) == Some(seq) {
                        slot = facts.next;
                        self.table.apply(facts.staged);
                        self.open.apply(opened);
                        next = seq;
                    }
                }
            }
            for job in jobs {
                let _ = job.reply.send(result.clone().map(|()| seq));
            }
        }
    }
}
