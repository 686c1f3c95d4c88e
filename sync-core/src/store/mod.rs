//! Durable storage. [`Store`] is the narrow interface every engine implements (sled today;
//! redb or a distributed database later); [`DocStore`] keeps cases, sync states, the set of
//! locally changed cases and cursors on top of it.

mod cache;
mod docs;
mod sled_store;

pub use docs::{decode_snapshot, encode_snapshot, DocStore, Staged};
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

    /// Entries whose key starts with `prefix`, in key order.
    fn scan_prefix<'a>(
        &'a self,
        tree: &'static str,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, Error>> + 'a> {
        let end = prefix_end(prefix);
        self.range(tree, prefix, end.as_deref())
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
