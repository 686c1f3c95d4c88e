//! [`Store`] on sled. All named trees live in one sled tree under a length-prefixed name, so
//! a batch spanning several trees is one atomic `apply_batch`, and a `flush` makes it durable
//! before `commit` returns (sled alone flushes only every 500 ms).

use super::{Batch, Entry, Guard, Store, Write};
use crate::Error;
use std::path::Path;
use std::time::{Duration, Instant};

/// How often sled's background thread cleans segments (and fsyncs) in the server's store:
/// sled's default.
const SERVER_HOUSEKEEPING: Duration = Duration::from_millis(500);

/// The same on a handheld, whose store sees a commit now and then.
const DEVICE_HOUSEKEEPING: Duration = Duration::from_secs(10);

/// How long an open waits for another holder of the directory's lock to let go.
const LOCK_WAIT: Duration = Duration::from_secs(5);

pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    /// Guarded commits take turns here: one process holds a sled directory, so checking the
    /// guards and committing under this lock is atomic for every guarded writer.
    guarded: std::sync::Mutex<()>,
}

impl SledStore {
    /// Opens with a 64 MiB page cache (sled's default of 1 GiB would let memory grow with the
    /// store); the server sets its own with `--store-cache-mb`.
    pub fn open(dir: impl AsRef<Path>) -> Result<SledStore, Error> {
        SledStore::open_with_cache(dir, 64 * 1024 * 1024)
    }

    /// Opens with a page cache of `cache_bytes`. sled's background I/O threads can hold the
    /// directory's file lock for a moment after the last handle of a previous open is dropped
    /// (a restart in the same process, or a process still exiting), so a lock held elsewhere
    /// is retried for up to [`LOCK_WAIT`] before it is reported.
    pub fn open_with_cache(dir: impl AsRef<Path>, cache_bytes: u64) -> Result<SledStore, Error> {
        SledStore::open_with(dir, cache_bytes, SERVER_HOUSEKEEPING)
    }

    /// Opens a handheld's store: a commit flushes already, so sled's background thread only
    /// cleans segments and fsyncs; waking it every [`DEVICE_HOUSEKEEPING`] instead of every
    /// 500 ms spares a phone's battery two wake-ups and an fsync a second (and a bench holding
    /// 2,000 handhelds' stores 4,000 fsyncs a second).
    pub fn open_for_device(dir: impl AsRef<Path>) -> Result<SledStore, Error> {
        SledStore::open_with(dir, 64 * 1024 * 1024, DEVICE_HOUSEKEEPING)
    }

    fn open_with(
        dir: impl AsRef<Path>,
        cache_bytes: u64,
        housekeeping: Duration,
    ) -> Result<SledStore, Error> {
        let config = sled::Config::new()
            .path(dir.as_ref())
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(housekeeping.as_millis() as u64));
        let started = Instant::now();
        let db = loop {
            match config.open() {
                // sled reports a held lock as an `Other` I/O error with this text.
                Err(sled::Error::Io(e))
                    if e.to_string().starts_with("could not acquire lock")
                        && started.elapsed() < LOCK_WAIT =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        let tree = db.open_tree("gridcase")?;
        Ok(SledStore {
            db,
            tree,
            guarded: std::sync::Mutex::new(()),
        })
    }
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

impl Store for SledStore {
    fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.tree.get(physical(tree, key))?.map(|v| v.to_vec()))
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
        let iter = match to {
            Some(to) if to <= from => return Box::new(std::iter::empty()),
            Some(to) => self.tree.range(from..to),
            None => self.tree.range(from..),
        };
        Box::new(iter.map(move |r| {
            r.map(|(k, v)| (k[skip..].to_vec(), v.to_vec()))
                .map_err(Error::from)
        }))
    }

    fn commit(&self, batch: Batch) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut b = sled::Batch::default();
        for w in batch.into_writes() {
            match w {
                Write::Put { tree, key, value } => b.insert(physical(tree, &key), value),
                Write::Delete { tree, key } => b.remove(physical(tree, &key)),
            }
        }
        self.tree.apply_batch(b)?;
        self.db.flush()?;
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
