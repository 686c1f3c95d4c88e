//! The change feed: each case once, at the sequence of its last durable change, indexed by
//! grid and by unit. The commit thread moves a case to the head ([`stage_move`]); readers page
//! it up to the published sequence ([`Ledger::feed_until`]).

use super::{trees, FeedEntry, Ledger};
use crate::error::Result;
use gridcase_sync_core::store::{key_part as part, Batch, Store};
use gridcase_sync_core::{CaseId, GridId, UnitId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Where a case stands in the feed now (`trees::FEED_LAST`), so that a move can delete its
/// old entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct FeedLast {
    seq: u64,
    grid: Option<GridId>,
    units: Vec<UnitId>,
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

fn keyed(prefix: &str, seq: u64) -> Vec<u8> {
    let mut k = part(prefix);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The sequence number at the end of a feed key (or a stored `feed_seq`).
pub(super) fn seq_at_end(key: &[u8]) -> Option<u64> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

fn decode_last(bytes: Option<Vec<u8>>) -> Result<Option<FeedLast>> {
    Ok(match bytes {
        Some(b) => Some(serde_json::from_slice(&b)?),
        None => None,
    })
}

/// Where a case stands in the feed now, `None` for a case the feed does not hold.
fn read_last(store: &dyn Store, case: &CaseId) -> Result<Option<FeedLast>> {
    decode_last(store.get(trees::FEED_LAST, &part(case.as_str()))?)
}

/// Where each of `cases` stands in the feed now, read in one go (one statement on
/// PostgreSQL): the commit thread's group reads them before it moves the cases.
pub(super) fn read_last_many(
    store: &dyn Store,
    cases: &[CaseId],
) -> Result<HashMap<CaseId, Option<FeedLast>>> {
    let keys: Vec<Vec<u8>> = cases.iter().map(|c| part(c.as_str())).collect();
    let stored = store.get_many(trees::FEED_LAST, &keys)?;
    cases
        .iter()
        .zip(stored)
        .map(|(case, bytes)| Ok((case.clone(), decode_last(bytes)?)))
        .collect()
}

/// Moves a case to the head of the feed: its old entries go, new ones come at `seq`. `last`
/// holds the moves of this group commit, which the store does not show yet; `stored`, where
/// cases stood before the group (from [`read_last_many`]; a case missing from it is read).
pub(super) fn stage_move(
    store: &dyn Store,
    batch: &mut Batch,
    last: &mut HashMap<CaseId, FeedLast>,
    stored: &HashMap<CaseId, Option<FeedLast>>,
    entry: FeedEntry,
    seq: u64,
) -> Result<()> {
    let case_key = part(entry.case.as_str());
    let previous = match (last.get(&entry.case), stored.get(&entry.case)) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(before)) => before.clone(),
        (None, None) => read_last(store, &entry.case)?,
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

/// A case's position in the feed now, `None` for a case the feed does not hold.
pub(super) fn position(store: &dyn Store, case: &CaseId) -> Result<Option<u64>> {
    Ok(read_last(store, case)?.map(|last| last.seq))
}

/// Where a case is indexed in the feed now: its grid and units (`None` and none for a case
/// the feed does not hold).
pub(super) fn placed(store: &dyn Store, case: &CaseId) -> Result<(Option<GridId>, Vec<UnitId>)> {
    Ok(read_last(store, case)?.map_or((None, Vec::new()), |last| (last.grid, last.units)))
}

impl FeedLast {
    /// The case's position in the feed.
    pub(super) fn seq(&self) -> u64 {
        self.seq
    }
}

impl Ledger {
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
