//! Case documents on a [`Store`]: each case is a compacted snapshot plus the incremental
//! changes saved since, folded into a new snapshot once enough have piled up. Beside them:
//! per-peer sync states, the set of locally changed cases, and per-peer feed cursors.
//!
//! Writes never read-modify-write: every save is a blind insert of an increment under a fresh
//! random key, so concurrent writers of one case (two devices syncing it at once, an online
//! action beside a sync) can never overwrite each other. Loading applies the snapshot and every
//! increment; automerge makes the union. Only compaction replaces the snapshot, and it deletes
//! exactly the increments it folded in; run one compactor per case at a time.

use super::cache::DocCache;
use super::offerable::{Offerable, Offerables};
use super::{Batch, Entry, Store};
use crate::document::CaseDoc;
use crate::ids::CaseId;
use crate::Error;
use automerge::sync::State;
use automerge::{AutoCommit, ChangeHash};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The first bytes of a zstd frame; automerge's own saves start with a different magic.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A snapshot is automerge's saved form without its per-column deflate, zstd-compressed
/// whole: about 12% smaller than automerge's own compression for an eight-event case, and
/// cheaper to write (automerge sets up a deflate stream per column).
pub fn encode_snapshot(doc: &mut AutoCommit) -> Vec<u8> {
    snapshot_of_save(doc.save_nocompress())
}

/// The snapshot of a document saved uncompressed (its bytes as they are if zstd fails).
fn snapshot_of_save(raw: Vec<u8>) -> Vec<u8> {
    crate::zstd_contexts::compress(&raw, SNAPSHOT_LEVEL).unwrap_or(raw)
}

/// The zstd level of snapshots.
const SNAPSHOT_LEVEL: i32 = 1;

/// A snapshot's decompressed size beyond which it is read as a stream rather than into one
/// buffer of the size its frame declares (a case is a few KB; a corrupt frame may claim any).
const SNAPSHOT_BULK_LIMIT: u64 = 16 << 20;

/// A zstd snapshot's bytes: in one buffer with a reused context when its frame declares a
/// plausible size, else (or on any error) as a stream, which reports the error.
fn decompress_snapshot(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    if let Some(raw) = crate::zstd_contexts::decompress_declared(bytes, SNAPSHOT_BULK_LIMIT) {
        return Ok(raw);
    }
    zstd::stream::decode_all(bytes)
        .map_err(|e| Error::Store(format!("a snapshot does not decompress: {e}")))
}

/// Reads a snapshot in either form: zstd (see [`encode_snapshot`]) or automerge's own save.
pub fn decode_snapshot(bytes: &[u8]) -> Result<AutoCommit, Error> {
    Ok(AutoCommit::load(&saved_form(bytes)?)?)
}

/// A snapshot's automerge save: decompressed if zstd, else the bytes as stored.
fn saved_form(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
    Ok(if bytes.starts_with(&ZSTD_MAGIC) {
        std::borrow::Cow::Owned(decompress_snapshot(bytes)?)
    } else {
        std::borrow::Cow::Borrowed(bytes)
    })
}

/// Tree names: part of the on-disk schema.
pub mod trees {
    /// case → compacted snapshot (see [`super::encode_snapshot`]).
    pub const SNAPSHOTS: &str = "case_snapshots";
    /// case ‖ random 16 bytes → incremental changes (automerge `save_after`).
    pub const CHANGES: &str = "case_changes";
    /// peer ‖ case → encoded automerge sync state (the heads both sides share).
    pub const SYNC_STATES: &str = "sync_states";
    /// case → empty: changed locally and not yet acknowledged by the peer.
    pub const DIRTY: &str = "dirty_cases";
    /// small named values: cursors, schema version.
    pub const META: &str = "meta";
}

/// Incremental saves kept before a case is compacted into a new snapshot.
pub const DEFAULT_COMPACT_AFTER: usize = 32;

use super::key_part as part;

fn case_key(case: &CaseId) -> Vec<u8> {
    part(case.as_str())
}

fn parse_case_key(key: &[u8]) -> Option<CaseId> {
    let len = usize::from(u16::from_be_bytes([*key.first()?, *key.get(1)?]));
    let s = std::str::from_utf8(key.get(2..2 + len)?).ok()?;
    Some(CaseId::new(s))
}

fn peer_case_key(peer: &str, case: &CaseId) -> Vec<u8> {
    let mut k = part(peer);
    k.extend_from_slice(&case_key(case));
    k
}

/// What [`DocStore::stage_save`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staged {
    /// Enough increments piled up: compact the case after the commit.
    pub compact: bool,
    /// The case was new and this writer claimed it (it writes the snapshot): the writer, and
    /// only it, releases the claim once the batch is committed or abandoned. Releasing a
    /// claim one did not win would let a third writer write a second snapshot over the first.
    pub claimed: bool,
}

/// A document and the keys of the increments it was built from.
type Loaded = (AutoCommit, Vec<Vec<u8>>);

/// [`Loaded`] with the stored snapshot's bytes (`None`: the case has none yet).
type WithSnapshot = (AutoCommit, Vec<Vec<u8>>, Option<Vec<u8>>);

#[derive(Clone)]
pub struct DocStore {
    store: Arc<dyn Store>,
    compact_after: usize,
    cache: Option<Arc<Mutex<DocCache>>>,
    /// Cases this process is writing as new snapshots, not yet committed: the one claimant
    /// writes the snapshot, everyone else an increment, so no snapshot can overwrite another.
    creating: Arc<Mutex<HashSet<CaseId>>>,
    /// Cases recently committed whole, to offer without loading them (with the cache only).
    offerables: Option<Arc<Mutex<Offerables>>>,
}

/// What [`DocStore::offerable`] finds: what the commit kept, and the document saved
/// uncompressed (the stored snapshot's bytes).
type OfferedWhole = (Arc<Offerable>, Vec<u8>);

/// Memory for [`Offerables`]: about 40,000 eight-event cases.
const OFFERABLES_BUDGET: usize = 16 << 20;

impl DocStore {
    pub fn new(store: Arc<dyn Store>) -> DocStore {
        DocStore {
            store,
            compact_after: DEFAULT_COMPACT_AFTER,
            cache: None,
            creating: Arc::default(),
            offerables: None,
        }
    }

    /// Keeps up to `capacity` loaded cases in memory (the server's bounded cache).
    pub fn with_cache(mut self, capacity: usize) -> DocStore {
        self.cache = Some(Arc::new(Mutex::new(DocCache::new(capacity))));
        self.offerables = Some(Arc::new(Mutex::new(Offerables::new(OFFERABLES_BUDGET))));
        self
    }

    /// Keeps what an offer of a case committed whole needs ([`DocStore::stage_save_offerable`]),
    /// once its batch is durable.
    pub fn note_offerable(&self, case: &CaseId, offerable: Offerable) {
        if let Some(o) = &self.offerables {
            if let Ok(mut o) = o.lock() {
                o.insert(case.clone(), offerable);
            }
        }
    }

    /// What an offer of `case` whole needs, and the document saved uncompressed, if it was
    /// committed whole recently and is still as that commit left it: no committed heads the
    /// cache knows of beyond it, no increment stored, and the snapshot the very bytes saved
    /// then (a compaction would have rewritten it). Read as a load reads: increments first.
    pub(crate) fn offerable(&self, case: &CaseId) -> Result<Option<OfferedWhole>, Error> {
        let Some(offerable) = self
            .offerables
            .as_ref()
            .and_then(|o| o.lock().ok()?.get(case))
        else {
            return Ok(None);
        };
        if self
            .cached_heads(case)
            .is_some_and(|heads| heads != offerable.heads)
        {
            return Ok(None);
        }
        let key = case_key(case);
        if self
            .store
            .scan_prefix(trees::CHANGES, &key)
            .next()
            .is_some()
        {
            return Ok(None);
        }
        let Some(stored) = self.store.get(trees::SNAPSHOTS, &key)? else {
            return Ok(None);
        };
        let save = saved_form(&stored)?.into_owned();
        Ok((super::offerable::digest(&save) == offerable.save).then_some((offerable, save)))
    }

    fn cached(&self, case: &CaseId) -> Option<AutoCommit> {
        let cache = self.cache.as_ref()?;
        cache.lock().ok()?.get(case)
    }

    /// Tells the cache about a document whose changes are now committed.
    pub fn note_committed(&self, case: &CaseId, doc: &mut AutoCommit) {
        if self.cache.is_some() {
            self.note_committed_owned(case, doc.clone());
        }
    }

    /// [`DocStore::note_committed`] for a document the caller no longer needs. The server's
    /// commit thread calls it before it publishes the commit's feed position, so that a
    /// reader who sees the position finds the change in the cache.
    ///
    /// On a store other processes write ([`Store::shared`]), the document only merges into a
    /// cached copy: alone it may lack another process's commit.
    pub fn note_committed_owned(&self, case: &CaseId, doc: AutoCommit) {
        self.note_committed_whole(case, doc, false);
    }

    /// [`DocStore::note_committed_owned`] for a document the caller knows holds every change
    /// committed to the case (`whole`: no other process committed to it since the document
    /// was loaded): cached even on a shared store.
    pub fn note_committed_whole(&self, case: &CaseId, doc: AutoCommit, whole: bool) {
        if let Some(cache) = &self.cache {
            if let Ok(mut c) = cache.lock() {
                c.committed_merge(case, doc, whole || !self.store.shared());
            }
        }
    }

    /// The heads of a case as committed, if the cache knows them (a cached document, or the
    /// heads an evicted one left): never reads the store.
    pub fn cached_heads(&self, case: &CaseId) -> Option<Vec<ChangeHash>> {
        self.cache.as_ref()?.lock().ok()?.heads(case)
    }

    /// The heads of a case as committed (cache or store), without copying a cached document.
    pub fn current_heads(&self, case: &CaseId) -> Result<Option<Vec<ChangeHash>>, Error> {
        if let Some(cache) = &self.cache {
            if let Some(heads) = cache.lock().ok().and_then(|mut c| c.heads(case)) {
                return Ok(Some(heads));
            }
        }
        Ok(self.load_automerge(case)?.map(|mut d| d.get_heads()))
    }

    fn claim(&self, case: &CaseId) -> bool {
        self.creating
            .lock()
            .map(|mut c| c.insert(case.clone()))
            .unwrap_or(false)
    }

    /// Ends the claims of [`DocStore::stage_save`] on new cases once their batch is committed
    /// (or abandoned). A claim never released only sends later writers down the increment path.
    pub fn release<'a>(&self, cases: impl IntoIterator<Item = &'a CaseId>) {
        if let Ok(mut c) = self.creating.lock() {
            for case in cases {
                c.remove(case);
            }
        }
    }

    /// Cases held in the cache right now.
    pub fn cached_cases(&self) -> usize {
        self.cache
            .as_ref()
            .and_then(|c| c.lock().ok().map(|c| c.len()))
            .unwrap_or(0)
    }

    pub fn with_compact_after(mut self, n: usize) -> DocStore {
        self.compact_after = n.max(1);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn contains(&self, case: &CaseId) -> Result<bool, Error> {
        let key = case_key(case);
        if self.store.get(trees::SNAPSHOTS, &key)?.is_some() {
            return Ok(true);
        }
        Ok(self
            .store
            .scan_prefix(trees::CHANGES, &key)
            .next()
            .is_some())
    }

    /// The automerge document of a case, snapshot plus increments, or `None` if unknown.
    pub fn load_automerge(&self, case: &CaseId) -> Result<Option<AutoCommit>, Error> {
        if let Some(doc) = self.cached(case) {
            return Ok(Some(doc));
        }
        let Some(cache) = &self.cache else {
            return Ok(self.load_parts(case)?.map(|(doc, _)| doc));
        };
        let ticket = cache.lock().map(|mut c| c.begin_load()).ok();
        let loaded = self.load_parts(case);
        let copy = match &loaded {
            Ok(Some((doc, _))) => Some(doc.clone()),
            _ => None,
        };
        if let (Some(ticket), Ok(mut c)) = (ticket, cache.lock()) {
            match copy {
                Some(doc) => c.loaded(case, doc, ticket),
                None => c.abandon(ticket),
            }
        }
        Ok(loaded?.map(|(doc, _)| doc))
    }

    /// The document and the keys of the increments it was built from.
    ///
    /// The increments are read before the snapshot: a compaction committing in between has
    /// then put every increment it deleted into the snapshot read after. (Snapshot first
    /// could miss increments folded and deleted between the two reads.)
    fn load_parts(&self, case: &CaseId) -> Result<Option<Loaded>, Error> {
        Ok(self
            .load_parts_with_snapshot(case)?
            .map(|(doc, keys, _)| (doc, keys)))
    }

    /// [`DocStore::load_parts`] with the stored snapshot's bytes, which a compaction guards.
    fn load_parts_with_snapshot(&self, case: &CaseId) -> Result<Option<WithSnapshot>, Error> {
        let key = case_key(case);
        // One read for both (one statement on PostgreSQL), increments first.
        let (entries, snapshot) =
            self.store
                .scan_prefix_then_get(trees::CHANGES, &key, trees::SNAPSHOTS, &key)?;
        if snapshot.is_none() && entries.is_empty() {
            return Ok(None);
        }
        let (doc, keys) = assemble(snapshot.as_deref(), entries)?;
        Ok(Some((doc, keys, snapshot)))
    }

    pub fn load(&self, case: &CaseId) -> Result<Option<CaseDoc>, Error> {
        self.load_automerge(case)?
            .map(CaseDoc::from_automerge)
            .transpose()
    }

    /// Stages what changed in `doc` since `since` (the heads it was loaded at; empty for a
    /// case new to this store) as one increment. Returns whether the case is due for
    /// compaction: it has no snapshot yet, or too many increments.
    pub fn stage_save(
        &self,
        batch: &mut Batch,
        case: &CaseId,
        doc: &mut AutoCommit,
        since: &[ChangeHash],
    ) -> Result<Staged, Error> {
        Ok(self.stage_save_offerable(batch, case, doc, since)?.0)
    }

    /// [`DocStore::stage_save`], also returning, for a case written whole on a store with a
    /// cache, what offering it whole needs (for [`DocStore::note_offerable`] after the commit).
    pub(crate) fn stage_save_offerable(
        &self,
        batch: &mut Batch,
        case: &CaseId,
        doc: &mut AutoCommit,
        since: &[ChangeHash],
    ) -> Result<(Staged, Option<Offerable>), Error> {
        let prefix = case_key(case);
        // Claims live in this process: on a store other processes write too, a new case is
        // an increment like any other change, and compaction makes its snapshot.
        let shared = self.store.shared();
        let is_new = !shared
            && since.is_empty()
            && self.store.get(trees::SNAPSHOTS, &prefix)?.is_none()
            && self
                .store
                .scan_prefix(trees::CHANGES, &prefix)
                .next()
                .is_none();
        if is_new && self.claim(case) {
            // A new case is written whole, as its snapshot: no compaction to follow.
            let raw = doc.save_nocompress();
            let offerable = self.offerables.is_some().then(|| Offerable::of(doc, &raw));
            batch.put(trees::SNAPSHOTS, prefix, snapshot_of_save(raw));
            let staged = Staged {
                compact: false,
                claimed: true,
            };
            return Ok((staged, offerable));
        }
        let increment = doc.save_after(since);
        let increment_only = |compact| {
            let staged = Staged {
                compact,
                claimed: false,
            };
            (staged, None)
        };
        if increment.is_empty() {
            return Ok(increment_only(false));
        }
        let mut key = case_key(case);
        let prefix_len = key.len();
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        batch.put(trees::CHANGES, key.clone(), increment);
        // A case without a snapshot loads change by change, about twice as slowly: fold it
        // into one as soon as it exists.
        if shared {
            // A case new to the caller (loaded empty) had no snapshot: compact it without
            // asking again (at worst a compaction with nothing more to fold).
            if since.is_empty() {
                return Ok(increment_only(true));
            }
            // A shared store is a database a round trip away: the snapshot and the increments
            // in one read.
            let (increments, snapshot) = self.store.scan_prefix_then_get(
                trees::CHANGES,
                &key[..prefix_len],
                trees::SNAPSHOTS,
                &key[..prefix_len],
            )?;
            return Ok(increment_only(
                snapshot.is_none() || increments.len() + 1 > self.compact_after,
            ));
        }
        if self
            .store
            .get(trees::SNAPSHOTS, &key[..prefix_len])?
            .is_none()
        {
            return Ok(increment_only(true));
        }
        let mut pending = 1;
        for entry in self.store.scan_prefix(trees::CHANGES, &key[..prefix_len]) {
            entry?;
            pending += 1;
            if pending > self.compact_after {
                return Ok(increment_only(true));
            }
        }
        Ok(increment_only(false))
    }

    /// Stages a whole case as its snapshot, for bulk imports that are the case's only writer
    /// (an existing snapshot is replaced; increments are left alone).
    pub fn stage_snapshot(&self, batch: &mut Batch, case: &CaseId, doc: &mut AutoCommit) {
        batch.put(trees::SNAPSHOTS, case_key(case), encode_snapshot(doc));
    }

    /// Folds a case's increments into one snapshot. Returns whether there was anything to do.
    /// Increments written meanwhile by others are left alone: they are not in the snapshot.
    pub fn compact(&self, case: &CaseId) -> Result<bool, Error> {
        Ok(self.compact_many(std::slice::from_ref(case))? > 0)
    }

    /// Compacts several cases in one durable commit; returns how many had anything to fold.
    ///
    /// Each snapshot is written only if it is still the one the compaction read (a guarded
    /// commit): two compactions of one case (two servers on one database) would otherwise let
    /// the older one replace a snapshot holding increments the newer one deleted. If another
    /// compaction got there first, nothing is written and 0 is returned: the increments stay
    /// until the next compaction.
    pub fn compact_many(&self, cases: &[CaseId]) -> Result<usize, Error> {
        let mut batch = Batch::new();
        let mut guards = Vec::new();
        let mut done = 0;
        // Every case's increments, then every snapshot (increments before snapshots, as in
        // `load_parts`): two reads for all the cases (two statements on PostgreSQL).
        let case_keys: Vec<Vec<u8>> = cases.iter().map(case_key).collect();
        let increments = self.store.scan_prefixes(trees::CHANGES, &case_keys)?;
        let snapshots = self.store.get_many(trees::SNAPSHOTS, &case_keys)?;
        for ((case, entries), snapshot) in cases.iter().zip(increments).zip(snapshots) {
            if entries.is_empty() {
                continue;
            }
            let (mut doc, keys) = assemble(snapshot.as_deref(), entries)?;
            guards.push(super::Guard {
                tree: trees::SNAPSHOTS,
                key: case_key(case),
                value: snapshot,
            });
            batch.put(trees::SNAPSHOTS, case_key(case), encode_snapshot(&mut doc));
            for k in keys {
                batch.delete(trees::CHANGES, k);
            }
            done += 1;
        }
        if done == 0 {
            return Ok(0);
        }
        if !self.store.commit_guarded(batch, &guards)? {
            return Ok(0);
        }
        Ok(done)
    }

    /// Forgets what the cache holds of a case that another process changed (a commit of
    /// another server on a shared store): the next load reads the store, and a load that
    /// began before is not cached.
    pub fn changed_elsewhere(&self, case: &CaseId) {
        if let Some(cache) = &self.cache {
            if let Ok(mut c) = cache.lock() {
                c.invalidate(case);
            }
        }
    }

    /// Number of incremental saves waiting to be compacted.
    pub fn pending_increments(&self, case: &CaseId) -> Result<usize, Error> {
        let mut n = 0;
        for entry in self.store.scan_prefix(trees::CHANGES, &case_key(case)) {
            entry?;
            n += 1;
        }
        Ok(n)
    }

    /// Every case in the store, in key order.
    pub fn case_ids(&self) -> Result<Vec<CaseId>, Error> {
        let mut ids = std::collections::BTreeSet::new();
        for tree in [trees::SNAPSHOTS, trees::CHANGES] {
            for entry in self.store.range(tree, &[], None) {
                let (k, _) = entry?;
                ids.insert(parse_case_key(&k).ok_or(Error::Malformed("case key"))?);
            }
        }
        Ok(ids.into_iter().collect())
    }

    /// The sync state shared with `peer` for a case. A missing or unreadable state starts
    /// afresh: the cost is resending, never losing.
    pub fn sync_state(&self, peer: &str, case: &CaseId) -> Result<State, Error> {
        let bytes = self
            .store
            .get(trees::SYNC_STATES, &peer_case_key(peer, case))?;
        Ok(bytes
            .and_then(|b| State::decode(&b).ok())
            .unwrap_or_default())
    }

    /// [`DocStore::sync_state`] of several cases at once: one read for all (one statement on
    /// an engine a round trip away), in the order asked.
    pub fn sync_states(&self, peer: &str, cases: &[CaseId]) -> Result<Vec<State>, Error> {
        let keys: Vec<Vec<u8>> = cases.iter().map(|c| peer_case_key(peer, c)).collect();
        Ok(self
            .store
            .get_many(trees::SYNC_STATES, &keys)?
            .into_iter()
            .map(|b| b.and_then(|b| State::decode(&b).ok()).unwrap_or_default())
            .collect())
    }

    pub fn stage_sync_state(&self, batch: &mut Batch, peer: &str, case: &CaseId, state: &State) {
        batch.put(
            trees::SYNC_STATES,
            peer_case_key(peer, case),
            state.encode(),
        );
    }

    /// Marks or unmarks a case as changed locally and not yet acknowledged.
    pub fn stage_dirty(&self, batch: &mut Batch, case: &CaseId, dirty: bool) {
        if dirty {
            batch.put(trees::DIRTY, case_key(case), Vec::new());
        } else {
            batch.delete(trees::DIRTY, case_key(case));
        }
    }

    pub fn dirty_cases(&self) -> Result<Vec<CaseId>, Error> {
        self.store
            .range(trees::DIRTY, &[], None)
            .map(|entry| {
                let (k, _) = entry?;
                parse_case_key(&k).ok_or(Error::Malformed("case key"))
            })
            .collect()
    }

    /// The last feed position received from `peer` (0: nothing yet).
    pub fn cursor(&self, peer: &str) -> Result<u64, Error> {
        let key = [b"cursor:".as_slice(), &part(peer)].concat();
        Ok(self
            .store
            .get(trees::META, &key)?
            .and_then(|b| sequence(&b))
            .unwrap_or(0))
    }

    pub fn stage_cursor(&self, batch: &mut Batch, peer: &str, cursor: u64) {
        let key = [b"cursor:".as_slice(), &part(peer)].concat();
        batch.put(trees::META, key, cursor.to_be_bytes().to_vec());
    }

    pub fn commit(&self, batch: Batch) -> Result<(), Error> {
        self.store.commit(batch)
    }

    /// Saves a locally edited case and marks it for the next sync, durably; compacts inline
    /// when due (a handheld is its own only writer).
    pub fn save_local(
        &self,
        case: &CaseId,
        doc: &mut CaseDoc,
        since: &[ChangeHash],
    ) -> Result<(), Error> {
        let mut batch = Batch::new();
        let staged = self.stage_save(&mut batch, case, doc.automerge(), since)?;
        self.stage_dirty(&mut batch, case, true);
        let committed = self.commit(batch);
        if staged.claimed {
            self.release([case]);
        }
        committed?;
        self.note_committed(case, doc.automerge());
        if staged.compact {
            self.compact(case)?;
        }
        Ok(())
    }
}

/// A case's document from its snapshot (if any) and its increments, with the increments' keys.
fn assemble(snapshot: Option<&[u8]>, increments: Vec<Entry>) -> Result<Loaded, Error> {
    let mut doc = match snapshot {
        Some(bytes) => decode_snapshot(bytes)?,
        None => AutoCommit::new(),
    };
    let mut keys = Vec::with_capacity(increments.len());
    for (key, bytes) in increments {
        doc.load_incremental(&bytes)?;
        keys.push(key);
    }
    Ok((doc, keys))
}

pub(crate) fn sequence(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}
