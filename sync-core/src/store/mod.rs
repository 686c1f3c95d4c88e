//! Durable storage. [`Store`] is the narrow interface every engine implements (sled today;
//! redb or a distributed database later); [`DocStore`] keeps cases, sync states, the set of
//! locally changed cases and cursors on top of it.

mod cache;
mod docs;
mod offerable;
mod sled_store;

pub use docs::{decode_snapshot, encode_snapshot, DocStore, Staged};
pub use offerable::Offerable;
pub use sled_store::SledStore;

use crate::Error;

/// One key-value pair read from a tree.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Named byte-keyed trees with ordered scans and an atomic, durable batch commit.
///
/// Tree names are static: the set of trees is part of the schema, not data.
pub trait Store: Send + Sync {
    fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, Error>;

    /// Entries with `start <= key < end` (no `end`: to the end of the tree), in key order.
    fn range<'a>(
        &'a self,
        tree: &'static str,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Box<dyn Iterator<Item = Result<Entry, Error>> + 'a>;

    /// Applies every write of the batch or none, and returns only once it is on disk.
    fn commit(&self, batch: Batch) -> Result<(), Error>;

    /// Commits the batch only if every guard still holds at the commit (its key holds exactly
    /// the value given, or is absent for `None`); `Ok(false)`, with nothing written, when one
    /// does not. This is how writers in several processes of a [`Store::shared`] store take
    /// turns on a key (the feed's head, a case's snapshot, a refresh token): a guarded key
    /// must be written only by guarded commits.
    fn commit_guarded(&self, batch: Batch, guards: &[Guard]) -> Result<bool, Error>;

    /// Whether other processes may write the store at the same time (several servers on one
    /// PostgreSQL database), so that what one process keeps in memory (claims, caches, the
    /// feed's head) is not the whole truth.
    fn shared(&self) -> bool {
        false
    }

    /// Entries whose key starts with `prefix`, in key order.
    fn scan_prefix<'a>(
        &'a self,
        tree: &'static str,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, Error>> + 'a> {
        let end = prefix_end(prefix);
        self.range(tree, prefix, end.as_deref())
    }

    /// The entries under `prefix` in `scan_tree` (in key order), then the value of `key` in
    /// `get_tree`, read in that order: what loading a case needs (its increments before its
    /// snapshot, see `DocStore`). This default reads one after the other; an engine a round
    /// trip away reads both in one statement, at one instant, which keeps that promise too.
    fn scan_prefix_then_get(
        &self,
        scan_tree: &'static str,
        prefix: &[u8],
        get_tree: &'static str,
        key: &[u8],
    ) -> Result<(Vec<Entry>, Option<Vec<u8>>), Error> {
        let entries = self
            .scan_prefix(scan_tree, prefix)
            .collect::<Result<Vec<_>, _>>()?;
        let value = self.get(get_tree, key)?;
        Ok((entries, value))
    }

    /// The values of several keys of one tree, in the order asked (`None`: absent). This
    /// default reads them one by one; an engine a round trip away, in one statement.
    fn get_many(
        &self,
        tree: &'static str,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        keys.iter().map(|key| self.get(tree, key)).collect()
    }

    /// The entries under each of several prefixes of one tree, in key order: one list per
    /// prefix, in the order asked. This default scans them one by one; an engine a round
    /// trip away, in one statement.
    fn scan_prefixes(
        &self,
        tree: &'static str,
        prefixes: &[Vec<u8>],
    ) -> Result<Vec<Vec<Entry>>, Error> {
        prefixes
            .iter()
            .map(|prefix| self.scan_prefix(tree, prefix).collect())
            .collect()
    }

    /// The first `limit` entries (in key order) of each of several ranges of one tree, each
    /// `start <= key < end` (no `end`: to the end of the tree): one list per range, in the
    /// order asked. This default reads each range as [`Store::range`] does, stopping at
    /// `limit`; an engine a round trip away reads them all in one statement.
    fn range_heads(
        &self,
        tree: &'static str,
        ranges: &[(Vec<u8>, Option<Vec<u8>>)],
        limit: usize,
    ) -> Result<Vec<Vec<Entry>>, Error> {
        ranges
            .iter()
            .map(|(start, end)| {
                self.range(tree, start, end.as_deref())
                    .take(limit)
                    .collect()
            })
            .collect()
    }

    /// How many reads a caller that reads one at a time, and may not need them all (a list
    /// checking candidates until its page is full), should gather into one batched read
    /// ([`Store::get_many`]): 1 for an engine whose reads are local, where reading ahead
    /// only adds reads (the default); more for an engine a round trip away, where the round
    /// trips cost more than the reads.
    fn read_ahead(&self) -> usize {
        1
    }
}

/// A length-prefixed key part (u16 BE length, then the bytes), so that in a composite key one
/// id is never a prefix of another.
pub fn key_part(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let len = u16::try_from(b.len()).unwrap_or(u16::MAX);
    let mut k = Vec::with_capacity(2 + b.len());
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(&b[..usize::from(len)]);
    k
}

/// The smallest key greater than every key with this prefix, or `None` if there is none.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// What a key must hold for a [`Store::commit_guarded`] to go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub tree: &'static str,
    pub key: Vec<u8>,
    /// The value expected; `None`: the key must be absent.
    pub value: Option<Vec<u8>>,
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put {
        tree: &'static str,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        tree: &'static str,
        key: Vec<u8>,
    },
}

/// Writes that commit together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    writes: Vec<Write>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    pub fn put(&mut self, tree: &'static str, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.push(Write::Put {
            tree,
            key: key.into(),
            value: value.into(),
        });
    }

    pub fn delete(&mut self, tree: &'static str, key: impl Into<Vec<u8>>) {
        self.writes.push(Write::Delete {
            tree,
            key: key.into(),
        });
    }

    /// Appends another batch's writes after this one's.
    pub fn extend(&mut self, other: Batch) {
        self.writes.extend(other.writes);
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn into_writes(self) -> Vec<Write> {
        self.writes
    }
}
