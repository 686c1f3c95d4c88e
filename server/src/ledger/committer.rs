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
use super::{trees, Change, FeedEntry, Noted, OpenCase, OpenCases};
use crate::error::{Error, Result};
use crate::indicators::LiveTable;
use crate::metrics::Metrics;
use gridcase_sync_core::store::{Batch, DocStore, Guard, Store};
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
    /// The committed position the writer had seen before loading `docs` (see
    /// `Write::loaded_after`).
    seen: Option<u64>,
    reply: Reply,
}

/// Why a group commit failed, as its writers hear it: a database out of reach (they answer
/// 503 and may try again) or a fault.
#[derive(Debug, Clone)]
struct Failed {
    unavailable: bool,
    message: String,
}

impl Failed {
    fn of(e: &dyn std::fmt::Display, unavailable: bool) -> Failed {
        Failed {
            unavailable,
            message: e.to_string(),
        }
    }

    /// From a store error.
    fn store(e: &gridcase_sync_core::Error) -> Failed {
        Failed::of(e, matches!(e, gridcase_sync_core::Error::Unavailable(_)))
    }

    /// From a staging error (reads from the store while staging).
    fn staging(e: &Error) -> Failed {
        Failed::of(
            e,
            matches!(e, Error::Core(gridcase_sync_core::Error::Unavailable(_))),
        )
    }
}

impl From<Failed> for Error {
    fn from(f: Failed) -> Error {
        if f.unavailable {
            tracing::warn!(error = %f.message, "a commit found the database unavailable");
            Error::Unavailable
        } else {
            Error::Internal(f.message)
        }
    }
}

/// Where the commit thread answers a job: the last feed sequence, or why the commit failed.
type Reply = mpsc::Sender<std::result::Result<u64, Failed>>;

/// Hands a job to the commit thread and waits until it is durable (or failed).
fn send(tx: Option<&mpsc::Sender<Job>>, job: impl FnOnce(Reply) -> Job) -> Result<u64> {
    let (reply, answer) = mpsc::channel();
    tx.ok_or_else(|| Error::Internal("the ledger is shut down".into()))?
        .send(job(reply))
        .map_err(|_| Error::Internal("the commit thread is gone".into()))?;
    answer
        .recv()
        .map_err(|_| Error::Internal("the commit thread is gone".into()))?
        .map_err(Error::from)
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
            seen: None,
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
    pub(super) fn commit(
        &self,
        batch: Batch,
        feed: Vec<FeedEntry>,
        docs: Noted,
        seen: Option<u64>,
    ) -> Result<u64> {
        send(self.tx.as_ref(), |reply| Job {
            batch,
            feed,
            docs,
            older: Vec::new(),
            seen,
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

/// How often a server on a shared store looks for commits of the others while it has nothing
/// to commit itself.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// How many times a group is staged again after another server committed first.
const ATTEMPTS: usize = 50;

/// The writes of one group commit as the jobs handed them over, kept whole so that a group
/// can be staged again when another server moved the feed's head meanwhile.
struct Parts {
    batch: Batch,
    feed: Vec<FeedEntry>,
    older: Vec<(CaseId, Millis)>,
}

/// One group, staged: the batch to commit and what to publish once it is durable.
struct Staged {
    batch: Batch,
    seq: u64,
    facts: FactSlots,
    changes: Vec<Change>,
    opened: Vec<(String, Option<OpenCase>)>,
    failed: Option<Failed>,
    /// Where each case the group moves stood in the feed before it (`None`: a new case).
    before: HashMap<CaseId, Option<u64>>,
}

/// Where the feed stands as this server knows it.
struct Head {
    /// The highest sequence whose commit this server has applied (its own or another's).
    seq: u64,
    /// The stored `feed_seq` as read, which a guarded commit expects to find unchanged.
    stored: Option<Vec<u8>>,
    /// The next free indicator slot.
    slot: u32,
}

impl CommitLoop {
    /// Commits groups of waiting jobs until every sender is gone. `slot` is the next free
    /// indicator slot.
    ///
    /// On a shared store (several servers on one database) each group first takes in what the
    /// others committed ([`CommitLoop::follow`]), then commits only if the feed's head is still
    /// where it read it (a guarded commit): commits of all servers thus take turns on the head,
    /// sequence numbers, case numbers and indicator slots stay unique, and the group is staged
    /// again on top of the other's commit when it lost the turn. Between groups it follows the
    /// others every [`FOLLOW_EVERY`].
    fn run(self, rx: mpsc::Receiver<Job>, slot: u32) {
        let shared = self.store.shared();
        let mut head = Head {
            seq: self.committed.load(Ordering::SeqCst),
            stored: None,
            slot,
        };
        loop {
            let first = if shared {
                match rx.recv_timeout(FOLLOW_EVERY) {
                    Ok(job) => job,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Err(e) = self.follow(&mut head) {
                            tracing::warn!(error = %e, "reading the other servers' commits failed");
                        }
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(job) => job,
                    Err(_) => break,
                }
            };
            let mut jobs = vec![first];
            while jobs.len() < 512 {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            let parts: Vec<Parts> = jobs
                .iter_mut()
                .map(|job| Parts {
                    batch: std::mem::take(&mut job.batch),
                    feed: std::mem::take(&mut job.feed),
                    older: std::mem::take(&mut job.older),
                })
                .collect();
            let (result, seq) = if shared {
                self.commit_shared(parts, &mut head, &mut jobs)
            } else {
                self.commit_alone(parts, &mut head, &mut jobs)
            };
            self.metrics.commit_group(jobs.len());
            for job in jobs {
                let _ = job.reply.send(result.clone().map(|()| seq));
            }
        }
    }

    /// A group on a store this process alone writes.
    fn commit_alone(
        &self,
        parts: Vec<Parts>,
        head: &mut Head,
        jobs: &mut [Job],
    ) -> (std::result::Result<(), Failed>, u64) {
        let store = &*self.store;
        let mut staged = self.stage(parts, head);
        let seq = staged.seq;
        let result = match staged.failed.take() {
            Some(e) => Err(e),
            None => store
                .commit(std::mem::take(&mut staged.batch))
                .map_err(|e| Failed::store(&e)),
        };
        match &result {
            Ok(()) => self.publish(staged, head, jobs),
            Err(e) => {
                tracing::error!(error = %e.message, "group commit failed");
                // sled applies a batch before it flushes. If the flush failed, the batch
                // may be visible in the store: then its sequence numbers and slots are
                // taken, and the table follows the store (the sequence is published only
                // by a later commit that reaches the disk).
                let stored = store.get(trees::META, FEED_SEQ).ok().flatten();
                if seq != head.seq && stored.as_deref().and_then(seq_at_end) == Some(seq) {
                    head.slot = staged.facts.next;
                    self.table.apply(staged.facts.staged);
                    self.open.apply(staged.opened);
                    head.seq = seq;
                }
            }
        }
        (result, seq)
    }

    /// A group on a store other servers write too: follow them, stage, commit if the head
    /// did not move, else again.
    fn commit_shared(
        &self,
        parts: Vec<Parts>,
        head: &mut Head,
        jobs: &mut [Job],
    ) -> (std::result::Result<(), Failed>, u64) {
        for _ in 0..ATTEMPTS {
            if let Err(e) = self.follow(head) {
                return (Err(Failed::staging(&e)), head.seq);
            }
            let copy = parts
                .iter()
                .map(|p| Parts {
                    batch: p.batch.clone(),
                    feed: p.feed.clone(),
                    older: p.older.clone(),
                })
                .collect();
            let mut staged = self.stage(copy, head);
            if let Some(e) = staged.failed.take() {
                return (Err(e), head.seq);
            }
            let guard = Guard {
                tree: trees::META,
                key: FEED_SEQ.to_vec(),
                value: head.stored.clone(),
            };
            let batch = std::mem::take(&mut staged.batch);
            match self.store.commit_guarded(batch, &[guard]) {
                Ok(true) => {
                    let seq = staged.seq;
                    head.stored = Some(seq.to_be_bytes().to_vec());
                    self.publish(staged, head, jobs);
                    return (Ok(()), seq);
                }
                // Another server committed first: take in its commit and stage again.
                Ok(false) => {
                    self.metrics.commit_turn_lost();
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "group commit failed");
                    return (Err(Failed::store(&e)), head.seq);
                }
            }
        }
        (
            Err(Failed::of(
                &"the feed's head kept moving: too many servers committing at once",
                true,
            )),
            head.seq,
        )
    }

    /// Stages one group from `head`: sequence numbers, case numbers, indicator slots and feed
    /// moves, read from the store as it is now.
    fn stage(&self, parts: Vec<Parts>, head: &Head) -> Staged {
        let store = &*self.store;
        let mut batch = Batch::new();
        let mut seq = head.seq;
        let mut last: HashMap<CaseId, FeedLast> = HashMap::new();
        let mut facts = FactSlots::starting_at(head.slot);
        let mut numbering = Numbering::new(&self.case_number_prefix);
        let mut failed = None;
        let mut changes = Vec::new();
        let mut opened = Vec::new();
        let moving: Vec<CaseId> = parts
            .iter()
            .flat_map(|p| p.feed.iter().filter(|e| !e.quiet).map(|e| e.case.clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let stored = match feed::read_last_many(store, &moving) {
            Ok(stored) => stored,
            Err(e) => {
                failed = Some(Failed::staging(&e));
                HashMap::new()
            }
        };
        for part in parts {
            batch.extend(part.batch);
            for mut entry in part.feed {
                opened.push((entry.case.to_string(), entry.open.take()));
                if entry.quiet {
                    if let Some(f) = entry.facts.take() {
                        if let Err(e) = facts.stage(store, &mut batch, &entry.case, f) {
                            failed = Some(Failed::staging(&e));
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
                    Some(summary) => {
                        numbering.stage(store, &mut batch, &entry.case, *summary, entry.received_at)
                    }
                    None => Ok(()),
                };
                let staged = numbered.and_then(|()| match entry.facts.take() {
                    Some(f) => facts.stage(store, &mut batch, &entry.case, f),
                    None => Ok(()),
                });
                if let Err(e) = staged.and_then(|()| {
                    feed::stage_move(store, &mut batch, &mut last, &stored, entry, seq)
                }) {
                    failed = Some(Failed::staging(&e));
                }
            }
            for (case, first) in part.older {
                if let Err(e) = numbering.stage_older(store, &mut batch, &case, first) {
                    failed = Some(Failed::staging(&e));
                }
            }
        }
        batch.put(trees::META, FEED_SEQ.to_vec(), seq.to_be_bytes().to_vec());
        facts.stage_next(&mut batch, head.slot);
        let before = stored
            .into_iter()
            .map(|(case, last)| (case, last.map(|l| l.seq())))
            .collect();
        Staged {
            batch,
            seq,
            facts,
            changes,
            opened,
            failed,
            before,
        }
    }

    /// After a durable commit: the table, the work queues and the cache first, then the
    /// position, then the live listeners.
    fn publish(&self, staged: Staged, head: &mut Head, jobs: &mut [Job]) {
        head.slot = staged.facts.next;
        self.table.apply(staged.facts.staged);
        self.open.apply(staged.opened);
        head.seq = staged.seq;
        // The cache first, then the position: a sync that reads the new position must find
        // these changes in the documents it loads, or it would move a device's cursor past a
        // change it never offered.
        for job in jobs.iter_mut() {
            for (case, doc) in std::mem::take(&mut job.docs) {
                // Whole when the writer loaded it after every commit to the case before this
                // group (a new case has none).
                let whole = job.seen.is_some_and(|seen| {
                    staged
                        .before
                        .get(&case)
                        .is_some_and(|at| at.is_none_or(|at| at <= seen))
                });
                self.docs.note_committed_whole(&case, doc, whole);
            }
        }
        self.committed.store(staged.seq, Ordering::SeqCst);
        for change in staged.changes {
            // No one listening is not an error.
            let _ = self.announce.send(change);
        }
    }

    /// Takes in what other servers committed since `head` (a shared store): each case they
    /// changed leaves this server's cache, its indicator row and work-queue entry are read
    /// again, and live listeners hear of it; then the position is published. A case that
    /// moved on again since is found at its later position by a later follow, and a sync
    /// that pages past this one finds it there.
    fn follow(&self, head: &mut Head) -> Result<()> {
        let store = &*self.store;
        let stored = store.get(trees::META, FEED_SEQ)?;
        let high = stored.as_deref().and_then(seq_at_end).unwrap_or(0);
        if high <= head.seq {
            head.stored = stored;
            return Ok(());
        }
        let (mut rows, mut opened, mut changes) = (Vec::new(), Vec::new(), Vec::new());
        let from = (head.seq + 1).to_be_bytes();
        let to = (high + 1).to_be_bytes();
        for entry in store.range(trees::FEED, &from, Some(&to)) {
            let (key, id) = entry?;
            let (Some(seq), Ok(id)) = (seq_at_end(&key), String::from_utf8(id)) else {
                continue;
            };
            let case = CaseId::new(id);
            self.docs.changed_elsewhere(&case);
            let key = gridcase_sync_core::store::key_part(case.as_str());
            if let Some(bytes) = store.get(trees::SUMMARIES, &key)? {
                let summary: crate::summary::CaseSummary = serde_json::from_slice(&bytes)?;
                let slot = store
                    .get(crate::indicators::TREE, &key)?
                    .as_deref()
                    .and_then(crate::indicators::slot_of);
                if let Some(slot) = slot {
                    rows.push((slot, crate::indicators::CaseFacts::of(&summary)));
                }
                opened.push((case.to_string(), OpenCase::of(&summary)));
            }
            let (grid, units) = feed::placed(store, &case)?;
            changes.push(Change {
                seq,
                case,
                grid,
                units,
            });
        }
        self.table.apply(rows);
        self.open.apply(opened);
        head.slot = facts::next_slot(store)?;
        head.seq = high;
        head.stored = stored;
        self.committed.store(high, Ordering::SeqCst);
        tracing::debug!(
            seq = high,
            cases = changes.len(),
            "took in other servers' commits"
        );
        for change in changes {
            let _ = self.announce.send(change);
        }
        Ok(())
    }
}
