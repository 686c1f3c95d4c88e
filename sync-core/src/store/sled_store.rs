//! [`Store`] on sled. All named trees live in one sled tree under a length-prefixed name, so
//! a batch spanning several trees is one atomic `apply_batch`, and a `flush` makes it durable
//! before `commit` returns (sled alone flushes only every 500 ms).
//!
//! # Scheduled reopen (issue 17)
//!
//! sled 0.34 writes its snapshot (page table and the log position it covers) only while it
//! opens; `snapshot_after_ops` is ignored and neither a flush nor a drop writes one. An open
//! therefore replays every log message written since the previous open: about 1 s per million
//! entries from a cold disk, so a server that runs for weeks would take minutes to start. The
//! server's store bounds that by reopening sled itself once enough has been written since it
//! last opened ([`SledStore::SERVER_REOPEN_AFTER`]): the reopen writes a fresh snapshot, and a
//! restart (or crash) afterwards replays only what came after it.
//!
//! The open sled handles sit behind an [`RwLock`]. Every read, every commit and every live
//! range iterator holds a read guard; the reopen takes the write guard, but only with
//! `try_write` after a commit, never by blocking on it (the drain below retries `try_write`
//! for a bounded time). So:
//! - a range iterator held across commits (or a thread that reads while it holds one) never
//!   deadlocks: the reopen is skipped while any reader lives and tried again at the next
//!   commit; no thread ever waits on the write side, so std's writer preference never blocks
//!   a nested read either;
//! - no sled iterator (which owns a clone of the sled tree, and so keeps the old database and
//!   its directory lock alive) can outlive the handles it came from: it is dropped before its
//!   read guard.
//!
//! A bare `try_write` at each commit is not enough on a busy store: with several writers, one
//! of them is nearly always inside its flush (an fsync) under a read guard, and the reopen
//! would never find a gap (the tests saw 0–2 of 15 due reopens happen). So a commit that finds
//! the reopen due and the lock busy *drains* the store: it closes a gate at which new reads and
//! commits wait (for at most [`DRAIN_WAIT`]), and it tries the write guard for up to the same
//! time. A thread that holds a read guard already (a range iterator it reads inside of) passes
//! the gate, so that it can finish and let go; one that waits for such a thread is delayed at
//! most [`DRAIN_WAIT`], never deadlocked. If the drain fails (a long scan), the gate opens again
//! and the next drain waits [`DRAIN_PAUSE`], so a long scan costs the other requests at most
//! one [`DRAIN_WAIT`] a second.

use super::{Batch, Entry, Guard, Store, Write};
use crate::Error;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

/// How often sled's background thread cleans segments (and fsyncs) in the server's store:
/// sled's default.
const SERVER_HOUSEKEEPING: Duration = Duration::from_millis(500);

/// The same on a handheld, whose store sees a commit now and then.
const DEVICE_HOUSEKEEPING: Duration = Duration::from_secs(10);

/// How long an open waits for another holder of the directory's lock to let go.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// What one write counts towards [`SledStore::SERVER_REOPEN_AFTER`] besides its key and value:
/// sled logs each write as a page fragment with its own header and later rewrites whole nodes,
/// and replay costs per message as much as per byte, so a run of tiny writes (8-byte postings)
/// must not slip under a count of bytes alone.
const PER_WRITE: u64 = 64;

/// How many times a scheduled reopen tries to open again (each try waiting up to
/// [`LOCK_WAIT`] for the directory's lock) before it gives up and leaves the store closed.
const REOPEN_TRIES: u32 = 3;

/// How often a store left closed by a failed reopen tries again, at its next use.
const CLOSED_RETRY: Duration = Duration::from_secs(1);

/// How long a drain waits for the readers to leave, and new readers wait at its gate.
const DRAIN_WAIT: Duration = Duration::from_millis(100);

/// How long after a failed drain the next may start.
const DRAIN_PAUSE: Duration = Duration::from_secs(1);

/// The open sled database and its one tree.
struct Handles {
    db: sled::Db,
    tree: sled::Tree,
}

/// What (re)opening needs: a fresh `sled::Config` is built for every open, since a config
/// carries the error state of the database it opened.
struct Settings {
    dir: PathBuf,
    cache_bytes: u64,
    housekeeping: Duration,
    lock_wait: Duration,
    /// Opens that fail on purpose, to test a failed reopen.
    #[cfg(test)]
    fail_opens: std::sync::atomic::AtomicU32,
}

impl Settings {
    /// sled's background I/O threads can hold the directory's file lock for a moment after the
    /// last handle of a previous open is dropped (a restart in the same process, a scheduled
    /// reopen, or a process still exiting), so a lock held elsewhere is retried for up to
    /// `lock_wait` before it is reported.
    fn open(&self) -> Result<Handles, Error> {
        #[cfg(test)]
        if self
            .fail_opens
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::Store("an open failed on purpose".into()));
        }
        let config = sled::Config::new()
            .path(&self.dir)
            .cache_capacity(self.cache_bytes)
            .flush_every_ms(Some(self.housekeeping.as_millis() as u64));
        let started = Instant::now();
        let db = loop {
            match config.open() {
                // sled reports a held lock as an `Other` I/O error with this text.
                Err(sled::Error::Io(e))
                    if e.to_string().starts_with("could not acquire lock")
                        && started.elapsed() < self.lock_wait =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        let tree = db.open_tree("gridcase")?;
        Ok(Handles { db, tree })
    }
}

thread_local! {
    /// Read guards of sled stores this thread holds: such a thread passes a drain's gate.
    static HELD: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A read guard on the open handles that counts itself in [`HELD`] while it lives. (It stays
/// on its thread: a std read guard is not `Send`.)
struct ReadGuard<'a>(RwLockReadGuard<'a, Option<Handles>>);

impl<'a> ReadGuard<'a> {
    fn new(guard: RwLockReadGuard<'a, Option<Handles>>) -> ReadGuard<'a> {
        HELD.with(|h| h.set(h.get() + 1));
        ReadGuard(guard)
    }
}

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        HELD.with(|h| h.set(h.get().saturating_sub(1)));
    }
}

impl std::ops::Deref for ReadGuard<'_> {
    type Target = Option<Handles>;

    fn deref(&self) -> &Option<Handles> {
        &self.0
    }
}

/// The state of the drain ahead of a reopen.
#[derive(Default)]
struct Drain {
    under_way: bool,
    last_failed: Option<Instant>,
}

/// Why the store is closed, after a scheduled reopen could not open it again.
struct Closed {
    error: String,
    last_try: Instant,
}

pub struct SledStore {
    /// `None` only after a scheduled reopen dropped the old handles (sled's directory lock
    /// allows one open at a time, so the new open must come after) and could not open new
    /// ones; see [`SledStore::reopen`].
    open: RwLock<Option<Handles>>,
    settings: Settings,
    /// Reopen once this much ([`write_cost`]) was committed since the last open; `None`: never.
    reopen_after: Option<u64>,
    /// Committed since the last open, in [`write_cost`] units.
    written: AtomicU64,
    /// Scheduled reopens done so far.
    reopens: AtomicU64,
    /// Whether the warning that readers keep the reopen from happening was given since the
    /// last open.
    warned: AtomicBool,
    closed: Mutex<Option<Closed>>,
    /// Whether a drain is under way: new readers wait at the gate (see the module's doc).
    draining: AtomicBool,
    /// The gate: the drain's state (`Some` while under way, `None` after, with when the last
    /// drain failed), and the condition its waiters wait on.
    gate: Mutex<Drain>,
    gate_opened: Condvar,
    /// Guarded commits take turns here: one process holds a sled directory, so checking the
    /// guards and committing under this lock is atomic for every guarded writer.
    guarded: Mutex<()>,
}

impl SledStore {
    /// What the server's store writes (in [`write_cost`] units, about logical bytes) between two
    /// scheduled reopens: 192 MiB.
    ///
    /// From `bench/examples/sled_restart.rs` (ledger-like commits of 35 entries averaging 162
    /// bytes of key and value, 226 units with the per-write charge): sled's log grows about
    /// 1.4 GB per million entries (~9× the logical bytes), and a cold open replays about a
    /// million entries a second, plus a fixed part growing with the directory (~0.1 s at 1 GB,
    /// 0.5 s at 6 GB). 192 MiB is ~890,000 such entries, so a restart replays at most ~0.9 s of
    /// log on top of the fixed part, however long the server ran: measured cold restarts after
    /// 1M / 3M / 5M entries written by one long-lived store were 0.26 / 0.59 / 0.78 s (without
    /// the reopen 1.05 / 2.77 / 4.34 s). Each reopen pauses the store while sled replays and
    /// snapshots from a warm page cache: 0.5–1.0 s measured (mean 0.65 s) at 1–3 GB. A smaller
    /// figure bounds the restart little better (the fixed part stays) and pauses more often; a
    /// larger one lets the worst restart grow by ~1 s per 200 MiB.
    pub const SERVER_REOPEN_AFTER: u64 = 192 * 1024 * 1024;

    /// Opens with a 64 MiB page cache (sled's default of 1 GiB would let memory grow with the
    /// store); the server sets its own with `--store-cache-mb`. Reopens after
    /// [`SledStore::SERVER_REOPEN_AFTER`].
    pub fn open(dir: impl AsRef<Path>) -> Result<SledStore, Error> {
        SledStore::open_with_cache(dir, 64 * 1024 * 1024)
    }

    /// Opens the server's store with a page cache of `cache_bytes`, reopening after
    /// [`SledStore::SERVER_REOPEN_AFTER`] so that a restart stays short however long the
    /// server ran.
    pub fn open_with_cache(dir: impl AsRef<Path>, cache_bytes: u64) -> Result<SledStore, Error> {
        SledStore::open_with_reopen(dir, cache_bytes, Some(SledStore::SERVER_REOPEN_AFTER))
    }

    /// [`SledStore::open_with_cache`], reopening after `reopen_after` units of writes (key and
    /// value bytes plus 64 per write) instead; `None`: never (sled's own behaviour, for
    /// measuring what the reopen saves).
    pub fn open_with_reopen(
        dir: impl AsRef<Path>,
        cache_bytes: u64,
        reopen_after: Option<u64>,
    ) -> Result<SledStore, Error> {
        SledStore::open_with(dir, cache_bytes, SERVER_HOUSEKEEPING, reopen_after)
    }

    /// Opens a handheld's store: a commit flushes already, so sled's background thread only
    /// cleans segments and fsyncs; waking it every [`DEVICE_HOUSEKEEPING`] instead of every
    /// 500 ms spares a phone's battery two wake-ups and an fsync a second (and a bench holding
    /// 2,000 handhelds' stores 4,000 fsyncs a second). It never reopens: a handheld writes
    /// little, and its app restarts often.
    pub fn open_for_device(dir: impl AsRef<Path>) -> Result<SledStore, Error> {
        SledStore::open_with(dir, 64 * 1024 * 1024, DEVICE_HOUSEKEEPING, None)
    }

    fn open_with(
        dir: impl AsRef<Path>,
        cache_bytes: u64,
        housekeeping: Duration,
        reopen_after: Option<u64>,
    ) -> Result<SledStore, Error> {
        let settings = Settings {
            dir: dir.as_ref().to_path_buf(),
            cache_bytes,
            housekeeping,
            lock_wait: LOCK_WAIT,
            #[cfg(test)]
            fail_opens: Default::default(),
        };
        let handles = settings.open()?;
        Ok(SledStore {
            open: RwLock::new(Some(handles)),
            settings,
            reopen_after,
            written: AtomicU64::new(0),
            reopens: AtomicU64::new(0),
            warned: AtomicBool::new(false),
            closed: Mutex::new(None),
            draining: AtomicBool::new(false),
            gate: Mutex::new(Drain::default()),
            gate_opened: Condvar::new(),
            guarded: Mutex::new(()),
        })
    }

    /// How many scheduled reopens this store has done.
    #[doc(hidden)]
    pub fn reopens(&self) -> u64 {
        self.reopens.load(Ordering::Relaxed)
    }

    /// A read guard on the open handles. A store closed by a failed reopen first tries to open
    /// again (at most every [`CLOSED_RETRY`]); the guard holds `None` if it is still closed.
    fn read(&self) -> ReadGuard<'_> {
        if self.draining.load(Ordering::Acquire) && HELD.with(|h| h.get()) == 0 {
            self.wait_at_gate();
        }
        // A panic while the write guard was held (in sled's open) poisons the lock; the slot
        // then holds `None` or complete handles, both of which the readers handle.
        let guard = self.open.read().unwrap_or_else(PoisonError::into_inner);
        if guard.is_some() {
            return ReadGuard::new(guard);
        }
        drop(guard);
        self.retry_closed();
        ReadGuard::new(self.open.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Waits while a drain is under way, for at most [`DRAIN_WAIT`]: the caller may wait for
    /// (or be waited for by) a thread that holds a read guard, which the drain then waits for
    /// in vain.
    fn wait_at_gate(&self) {
        let gate = self.gate.lock().unwrap_or_else(PoisonError::into_inner);
        let _gate = self
            .gate_opened
            .wait_timeout_while(gate, DRAIN_WAIT, |d| d.under_way)
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// The error of a use of a closed store.
    fn closed_error(&self) -> Error {
        let closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
        let why = closed.as_ref().map_or("", |c| c.error.as_str());
        Error::Store(format!("the store is closed: reopening it failed: {why}"))
    }

    /// Tries once to open a store a failed reopen left closed, unless it was tried within
    /// [`CLOSED_RETRY`] or someone else holds the lock (a reader, or another retry).
    fn retry_closed(&self) {
        {
            let closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
            if closed
                .as_ref()
                .is_some_and(|c| c.last_try.elapsed() < CLOSED_RETRY)
            {
                return;
            }
        }
        let Ok(mut slot) = self.open.try_write() else {
            return;
        };
        if slot.is_some() {
            return;
        }
        let started = Instant::now();
        match self.settings.open() {
            Ok(handles) => {
                *slot = Some(handles);
                self.opened();
                tracing::info!(
                    dir = %self.settings.dir.display(),
                    pause_ms = started.elapsed().as_millis() as u64,
                    "sled store opened again after a failed scheduled reopen"
                );
            }
            Err(e) => self.failed_open(e),
        }
    }

    /// Resets the counts of a fresh open.
    fn opened(&self) {
        self.written.store(0, Ordering::Relaxed);
        self.warned.store(false, Ordering::Relaxed);
        *self.closed.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn failed_open(&self, e: Error) {
        tracing::error!(
            dir = %self.settings.dir.display(),
            error = %e,
            "the sled store could not be opened again; it refuses reads and commits until it can"
        );
        *self.closed.lock().unwrap_or_else(PoisonError::into_inner) = Some(Closed {
            error: e.to_string(),
            last_try: Instant::now(),
        });
    }

    /// After a commit: reopens if enough was written since the last open and nobody holds a
    /// read guard (a reader or a live range iterator); otherwise the next commit tries again.
    fn maybe_reopen(&self, limit: u64) {
        let Some(mut slot) = self.open.try_write().ok().or_else(|| self.drain()) else {
            if self.written.load(Ordering::Relaxed) >= limit.saturating_mul(4)
                && !self.warned.swap(true, Ordering::Relaxed)
            {
                tracing::warn!(
                    dir = %self.settings.dir.display(),
                    written = self.written.load(Ordering::Relaxed),
                    "readers held the sled store at every commit since its reopen fell due; \
                     a restart now replays more than planned"
                );
            }
            return;
        };
        // Another commit may have reopened between this one's count and the lock, or failed
        // to (a closed store is retried at its next use, at most every `CLOSED_RETRY`).
        if slot.is_some() && self.written.load(Ordering::Relaxed) >= limit {
            self.reopen(&mut slot);
        }
    }

    /// Closes the gate to new readers and waits up to [`DRAIN_WAIT`] for the write guard;
    /// `None` if this thread holds a read guard, another drain is under way, one failed within
    /// [`DRAIN_PAUSE`], or the readers did not leave in time. The gate opens again when this
    /// returns: readers held at it then wait on the lock itself while the reopen runs.
    fn drain(&self) -> Option<std::sync::RwLockWriteGuard<'_, Option<Handles>>> {
        if HELD.with(|h| h.get()) > 0 {
            // This thread's own guard (a range it commits inside of) would keep it out.
            return None;
        }
        {
            let mut gate = self.gate.lock().unwrap_or_else(PoisonError::into_inner);
            if gate.under_way || gate.last_failed.is_some_and(|t| t.elapsed() < DRAIN_PAUSE) {
                return None;
            }
            gate.under_way = true;
            self.draining.store(true, Ordering::Release);
        }
        let started = Instant::now();
        let slot = loop {
            if let Ok(slot) = self.open.try_write() {
                break Some(slot);
            }
            if started.elapsed() >= DRAIN_WAIT {
                break None;
            }
            std::thread::sleep(Duration::from_micros(500));
        };
        let mut gate = self.gate.lock().unwrap_or_else(PoisonError::into_inner);
        gate.under_way = false;
        if slot.is_none() {
            gate.last_failed = Some(Instant::now());
        }
        self.draining.store(false, Ordering::Release);
        self.gate_opened.notify_all();
        slot
    }

    /// Reopens sled under the write guard, so that its open writes a snapshot and the next
    /// start replays only what comes after.
    ///
    /// sled locks its directory, so the old handles must be dropped before the new open (the
    /// old database cannot be kept as a fallback). Every commit returned was flushed already;
    /// the flush here only checks that the old database is sound before it goes (if it fails,
    /// the old one stays and the reopen waits for a later commit). The open is then tried
    /// [`REOPEN_TRIES`] times, each waiting up to [`LOCK_WAIT`] for sled's threads to let go
    /// of the lock. If all fail (a full disk, say: the open writes a snapshot), the store does
    /// not panic, and the commit that triggered the reopen still returns `Ok` (it is on disk):
    /// the store is left closed, its reads and commits fail with an error naming the cause
    /// (nothing is written, so callers see an honest failure), and each use tries to open
    /// again, at most every [`CLOSED_RETRY`], until one succeeds.
    fn reopen(&self, slot: &mut Option<Handles>) {
        let started = Instant::now();
        let written = self.written.load(Ordering::Relaxed);
        if let Some(old) = slot.as_ref() {
            if let Err(e) = old.db.flush() {
                tracing::error!(
                    dir = %self.settings.dir.display(),
                    error = %e,
                    "flushing the sled store before its scheduled reopen failed; it stays open"
                );
                return;
            }
        }
        // Drops the database and its tree: sled joins its flusher thread and lets go of the
        // directory's lock (its I/O threads may hold it a moment longer: `Settings::open`
        // waits).
        *slot = None;
        let mut last = None;
        for attempt in 0..REOPEN_TRIES {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(50 << attempt));
            }
            match self.settings.open() {
                Ok(handles) => {
                    *slot = Some(handles);
                    self.opened();
                    let n = self.reopens.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::info!(
                        dir = %self.settings.dir.display(),
                        written,
                        pause_ms = started.elapsed().as_millis() as u64,
                        reopens = n,
                        "reopened the sled store so that a restart replays less of its log"
                    );
                    return;
                }
                Err(e) => {
                    tracing::warn!(
                        attempt,
                        error = %e,
                        "a scheduled reopen of the sled store failed"
                    );
                    last = Some(e);
                }
            }
        }
        if let Some(e) = last {
            self.failed_open(e);
        }
    }
}

/// What a write counts towards the reopen: its key and value, plus [`PER_WRITE`].
fn write_cost(key: &[u8], value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64 + PER_WRITE
}

fn physical(tree: &'static str, key: &[u8]) -> Vec<u8> {
    let name = tree.as_bytes();
    let mut k = Vec::with_capacity(1 + name.len() + key.len());
    // Tree names are short static identifiers; the length byte keeps one name from being a
    // prefix of another's keys.
    k.push(name.len().min(255) as u8);
    k.extend_from_slice(name);
    k.extend_from_slice(key);
    k
}

/// A range over the sled tree that holds its read guard: the reopen cannot drop the handles
/// under it (and the sled iterator, which keeps the database open, goes first: fields drop in
/// order).
struct Scan<'a> {
    iter: sled::Iter,
    skip: usize,
    _open: ReadGuard<'a>,
}

impl Iterator for Scan<'_> {
    type Item = Result<Entry, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let skip = self.skip;
        self.iter.next().map(|r| {
            r.map(|(k, v)| (k[skip..].to_vec(), v.to_vec()))
                .map_err(Error::from)
        })
    }
}

impl Store for SledStore {
    fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let open = self.read();
        let h = open.as_ref().ok_or_else(|| self.closed_error())?;
        Ok(h.tree.get(physical(tree, key))?.map(|v| v.to_vec()))
    }

    fn range<'a>(
        &'a self,
        tree: &'static str,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Box<dyn Iterator<Item = Result<Entry, Error>> + 'a> {
        let skip = 1 + tree.len();
        let from = physical(tree, start);
        let to = match end {
            Some(end) => Some(physical(tree, end)),
            None => super::prefix_end(&physical(tree, &[])),
        };
        if matches!(&to, Some(to) if *to <= from) {
            return Box::new(std::iter::empty());
        }
        let open = self.read();
        let iter = match open.as_ref() {
            None => return Box::new(std::iter::once(Err(self.closed_error()))),
            Some(h) => match to {
                Some(to) => h.tree.range(from..to),
                None => h.tree.range(from..),
            },
        };
        Box::new(Scan {
            iter,
            skip,
            _open: open,
        })
    }

    fn get_many(
        &self,
        tree: &'static str,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        // One guard for the lot.
        let open = self.read();
        let h = open.as_ref().ok_or_else(|| self.closed_error())?;
        keys.iter()
            .map(|key| Ok(h.tree.get(physical(tree, key))?.map(|v| v.to_vec())))
            .collect()
    }

    fn commit(&self, batch: Batch) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut b = sled::Batch::default();
        let mut cost = 0u64;
        for w in batch.into_writes() {
            match w {
                Write::Put { tree, key, value } => {
                    let k = physical(tree, &key);
                    cost += write_cost(&k, &value);
                    b.insert(k, value)
                }
                Write::Delete { tree, key } => {
                    let k = physical(tree, &key);
                    cost += write_cost(&k, &[]);
                    b.remove(k)
                }
            }
        }
        let written = {
            let open = self.read();
            let h = open.as_ref().ok_or_else(|| self.closed_error())?;
            h.tree.apply_batch(b)?;
            h.db.flush()?;
            // Counted under the guard, so that it counts towards the open it was written to.
            self.written.fetch_add(cost, Ordering::Relaxed) + cost
        };
        if let Some(limit) = self.reopen_after {
            if written >= limit {
                self.maybe_reopen(limit);
            }
        }
        Ok(())
    }

    fn commit_guarded(&self, batch: Batch, guards: &[Guard]) -> Result<bool, Error> {
        let _turn = self
            .guarded
            .lock()
            .map_err(|_| Error::Store("a guarded commit panicked".into()))?;
        for g in guards {
            if self.get(g.tree, &g.key)? != g.value {
                return Ok(false);
            }
        }
        self.commit(batch)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "t";

    fn fill(store: &SledStore, from: u32, to: u32) {
        for i in from..to {
            let mut b = Batch::new();
            b.put(T, i.to_be_bytes().to_vec(), vec![i as u8; 1000]);
            store.commit(b).expect("commit");
        }
    }

    /// A reopen that cannot open again leaves the commit that triggered it committed, the
    /// store closed (reads and commits fail, writing nothing), and the store open again at a
    /// use after [`CLOSED_RETRY`] once opening works.
    #[test]
    fn a_failed_reopen_closes_the_store_until_it_opens_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open_with(dir.path(), 1 << 20, SERVER_HOUSEKEEPING, Some(16 * 1024))
            .expect("open");
        store
            .settings
            .fail_opens
            .store(REOPEN_TRIES, Ordering::SeqCst);
        // Each commit writes ~1 KiB: the 16th is due.
        let mut i = 0u32;
        while store.closed.lock().expect("closed").is_none() {
            fill(&store, i, i + 1);
            i += 1;
            assert!(i < 100, "the reopen never fell due");
        }
        assert_eq!(store.reopens(), 0);
        let err = store.get(T, &0u32.to_be_bytes()).expect_err("closed");
        assert!(err.to_string().contains("failed on purpose"), "{err}");
        let mut b = Batch::new();
        b.put(T, b"lost".to_vec(), b"x".to_vec());
        assert!(store.commit(b).is_err(), "a closed store refuses commits");
        assert!(store.range(T, b"", None).next().is_some_and(|r| r.is_err()));

        std::thread::sleep(CLOSED_RETRY + Duration::from_millis(50));
        for k in 0..i {
            let v = store.get(T, &k.to_be_bytes()).expect("open again");
            assert_eq!(v, Some(vec![k as u8; 1000]), "entry {k}");
        }
        assert_eq!(store.get(T, b"lost").expect("get"), None);
        fill(&store, i, i + 40);
        assert!(store.reopens() > 0, "the reopen works again");
        assert_eq!(store.range(T, b"", None).count() as u32, i + 40);
    }
}
