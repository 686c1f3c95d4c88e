//! Where photos' bytes are kept, chosen at start from the ledger's engine.
//!
//! - [`BlobStore::Files`] (the ledger on sled, one server): files under `--data-dir/blobs`, a
//!   complete blob as `blobs/<sha>`, an upload under way as `blobs/partial/<sha>`, appended to
//!   as its bytes arrive.
//! - [`BlobStore::Ledger`] (a [`Store::shared`] ledger, several servers on one PostgreSQL
//!   database): the bytes in the ledger's store itself, so a photo uploaded through one server
//!   is read, and its upload resumed, through any other. [`CHUNKS`] holds the bytes, keyed
//!   by the sha's hex and the chunk's first byte (u64 BE), chunks of at most [`CHUNK`] bytes
//!   as they arrived, each following the one before without a gap; [`META`] holds a small
//!   record per blob (bytes received, complete, size). Every write of a blob's chunks is a
//!   guarded commit on its record, so two servers receiving one upload at once cannot both
//!   append at one offset: the later one finds the record moved and answers where the upload
//!   stands (409), as an upload that cannot have its turn does.
//!
//! Both answer the same HTTP contract (`routes/blobs.rs`): every byte that arrived is kept
//! however the request ends, the sha-256 is checked when the last byte arrives (a mismatch
//! discards the upload), and a download streams from any byte without the whole blob in
//! memory.

use crate::error::{Error, Result};
use crate::routes::blobs::UploadState;
use axum::body::Bytes;
use gridcase_sync_core::store::{Batch, Guard, Store};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The ledger's tree of blob bytes: sha (hex) ‖ u64 BE offset → the bytes from there.
pub const CHUNKS: &str = "blob_chunks";
/// The ledger's tree of blob records: sha (hex) → [`Meta`].
pub const META: &str = "blob_meta";
/// The most bytes one chunk holds.
pub const CHUNK: usize = 256 * 1024;
/// An upload's bytes wait in memory at most this long (while more keep arriving) before they
/// are committed, besides whenever a whole chunk has arrived and when the request ends. The
/// upload's handler hands what it gathered to the [`Writer`] at least as often
/// (`routes/blobs.rs`).
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often a whole blob stored server-side tries again when an upload of the same blob moved
/// its record meanwhile.
const WHOLE_TRIES: usize = 8;

/// Where the blobs are kept.
pub enum BlobStore {
    /// Files in this directory (`--data-dir/blobs`).
    Files { dir: PathBuf },
    /// Chunks in the ledger's (shared) store.
    Ledger { store: Arc<dyn Store> },
}

/// Where an upload may go on, once its offset was checked.
pub enum Begin {
    /// The blob is complete already (200).
    Complete(UploadState),
    /// The upload stands elsewhere than the request's offset (409).
    Elsewhere(UploadState),
    /// Take the body.
    Write(Writer),
}

/// Why an upload's writer stopped.
pub enum Stop {
    /// Another writer of the blob (on another server) moved it meanwhile: where it stands now
    /// (409).
    Moved(UploadState),
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Failed(e)
    }
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Stop {
        Stop::Failed(e.into())
    }
}

impl From<gridcase_sync_core::Error> for Stop {
    fn from(e: gridcase_sync_core::Error) -> Stop {
        Stop::Failed(e.into())
    }
}

impl BlobStore {
    /// Files under `data_dir` when the ledger's store is this server's alone; the store itself
    /// when other servers share it.
    pub fn open(data_dir: &Path, store: Arc<dyn Store>) -> BlobStore {
        if store.shared() {
            BlobStore::Ledger { store }
        } else {
            BlobStore::Files {
                dir: data_dir.join("blobs"),
            }
        }
    }

    /// Whether the blobs are in the shared ledger.
    pub fn shared(&self) -> bool {
        matches!(self, BlobStore::Ledger { .. })
    }

    /// How far the upload of a blob has come.
    pub fn state(&self, sha: &str) -> Result<UploadState> {
        match self {
            BlobStore::Files { dir } => Ok(file_state(dir, sha)),
            BlobStore::Ledger { store } => ledger_state(&**store, sha),
        }
    }

    /// Stores a whole blob whose bytes hash to `sha` (checked by the caller), so that it is
    /// either complete or absent; `false` when it was already stored.
    pub fn store_whole(&self, sha: &str, bytes: &[u8]) -> Result<bool> {
        match self {
            BlobStore::Files { dir } => files_store_whole(dir, sha, bytes),
            BlobStore::Ledger { store } => ledger_store_whole(&**store, sha, bytes),
        }
    }

    /// Checks where the upload stands against the request's `offset` and, when it stands
    /// there, readies a writer for the body.
    pub fn begin(&self, sha: &str, offset: u64, total: u64) -> Result<Begin> {
        let now = self.state(sha)?;
        if now.complete {
            return Ok(Begin::Complete(now));
        }
        if now.offset != offset {
            return Ok(Begin::Elsewhere(now));
        }
        match self {
            BlobStore::Files { dir } => {
                let partial = partial_path(dir, sha);
                if let Some(parent) = partial.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&partial)?;
                Ok(Begin::Write(Writer::File {
                    file,
                    partial,
                    dir: dir.clone(),
                }))
            }
            BlobStore::Ledger { store } => {
                let meta = store.get(META, sha.as_bytes())?;
                let committed = match &meta {
                    Some(m) => Meta::decode(m)?.received,
                    None => 0,
                };
                if committed != offset {
                    // Moved between the two reads.
                    return Ok(Begin::Elsewhere(ledger_state(&**store, sha)?));
                }
                Ok(Begin::Write(Writer::Ledger(LedgerWriter {
                    store: store.clone(),
                    sha: sha.to_owned(),
                    meta,
                    committed,
                    total,
                    buffer: Vec::new(),
                    last_commit: Instant::now(),
                    lost: false,
                })))
            }
        }
    }

    /// A complete blob to read, or `None` when it has not been uploaded.
    pub fn open_read(&self, sha: &str) -> Result<Option<Reader>> {
        match self {
            BlobStore::Files { dir } => {
                let Ok(file) = std::fs::File::open(complete_path(dir, sha)) else {
                    return Ok(None);
                };
                let size = file.metadata()?.len();
                Ok(Some(Reader::File { file, size }))
            }
            BlobStore::Ledger { store } => {
                let Some(meta) = store.get(META, sha.as_bytes())? else {
                    return Ok(None);
                };
                let meta = Meta::decode(&meta)?;
                if !meta.complete {
                    return Ok(None);
                }
                Ok(Some(Reader::Ledger(ChunkReader {
                    store: store.clone(),
                    sha: sha.to_owned(),
                    size: meta.received,
                    pos: 0,
                    chunk: None,
                })))
            }
        }
    }
}

// ---- files -------------------------------------------------------------------------------

fn complete_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join(sha)
}

fn partial_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join("partial").join(sha)
}

fn file_state(dir: &Path, sha: &str) -> UploadState {
    if complete_path(dir, sha).exists() {
        let size = std::fs::metadata(complete_path(dir, sha)).map_or(0, |m| m.len());
        return UploadState {
            complete: true,
            offset: size,
        };
    }
    let offset = std::fs::metadata(partial_path(dir, sha)).map_or(0, |m| m.len());
    UploadState {
        complete: false,
        offset,
    }
}

/// Written to a temporary file in the blobs directory, flushed, and renamed into place.
fn files_store_whole(dir: &Path, sha: &str, bytes: &[u8]) -> Result<bool> {
    let path = complete_path(dir, sha);
    if path.exists() {
        return Ok(false);
    }
    std::fs::create_dir_all(dir)?;
    let nonce = hex::encode(crate::auth::random_bytes::<8>()?);
    let temp = dir.join(format!(".{sha}.{nonce}.tmp"));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e.into());
    }
    if let Ok(d) = std::fs::File::open(dir) {
        d.sync_all()?;
    }
    Ok(true)
}

// ---- the ledger --------------------------------------------------------------------------

/// A blob's record in [`META`]: 1 (the layout), complete (0 or 1), bytes received (u64 BE),
/// the size its upload declared (u64 BE). Written one way, so a guard compares it byte for
/// byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Meta {
    complete: bool,
    received: u64,
    size: u64,
}

impl Meta {
    const LEN: usize = 18;

    fn encode(self) -> Vec<u8> {
        let mut v = Vec::with_capacity(Meta::LEN);
        v.push(1);
        v.push(u8::from(self.complete));
        v.extend_from_slice(&self.received.to_be_bytes());
        v.extend_from_slice(&self.size.to_be_bytes());
        v
    }

    fn decode(v: &[u8]) -> Result<Meta> {
        let bad = || Error::Internal("a blob's record does not read".into());
        if v.len() != Meta::LEN || v[0] != 1 || v[1] > 1 {
            return Err(bad());
        }
        let u64_at = |at: usize| -> Result<u64> {
            Ok(u64::from_be_bytes(
                v[at..at + 8].try_into().map_err(|_| bad())?,
            ))
        };
        Ok(Meta {
            complete: v[1] == 1,
            received: u64_at(2)?,
            size: u64_at(10)?,
        })
    }
}

fn chunk_key(sha: &str, offset: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(sha.len() + 8);
    k.extend_from_slice(sha.as_bytes());
    k.extend_from_slice(&offset.to_be_bytes());
    k
}

fn chunk_offset(sha: &str, key: &[u8]) -> Result<u64> {
    key.get(sha.len()..)
        .and_then(|o| <[u8; 8]>::try_from(o).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::Internal("a blob chunk's key does not read".into()))
}

fn meta_guard(sha: &str, held: Option<Vec<u8>>) -> Guard {
    Guard {
        tree: META,
        key: sha.as_bytes().to_vec(),
        value: held,
    }
}

fn ledger_state(store: &dyn Store, sha: &str) -> Result<UploadState> {
    Ok(match store.get(META, sha.as_bytes())? {
        Some(m) => {
            let m = Meta::decode(&m)?;
            UploadState {
                complete: m.complete,
                offset: m.received,
            }
        }
        None => UploadState {
            complete: false,
            offset: 0,
        },
    })
}

/// The chunk that starts at `offset` exactly (the one after a chunk that ends there).
fn chunk_from(store: &dyn Store, sha: &str, offset: u64) -> Result<Option<Vec<u8>>> {
    Ok(store.get(CHUNKS, &chunk_key(sha, offset))?)
}

/// The chunk that holds the byte at `pos`, with its first byte's offset. It starts at most
/// [`CHUNK`] − 1 bytes before `pos`, so the scan reads only the chunks that start in that
/// window, together under two chunks' bytes.
fn chunk_holding(store: &dyn Store, sha: &str, pos: u64) -> Result<Option<(u64, Vec<u8>)>> {
    let from = chunk_key(sha, pos.saturating_sub(CHUNK as u64 - 1));
    let to = chunk_key(sha, pos.saturating_add(1));
    let mut found = None;
    for entry in store.range(CHUNKS, &from, Some(&to)) {
        let (key, value) = entry?;
        found = Some((chunk_offset(sha, &key)?, value));
    }
    Ok(found.filter(|(start, bytes)| start + bytes.len() as u64 > pos))
}

/// Walks the chunks of a blob's first `len` bytes in order, one in memory at a time; their
/// offsets, in order.
fn walk_chunks(
    store: &dyn Store,
    sha: &str,
    len: u64,
    mut each: impl FnMut(&[u8]),
) -> Result<Vec<u64>> {
    let mut offsets = Vec::new();
    let mut at = 0u64;
    while at < len {
        let chunk = chunk_from(store, sha, at)?.filter(|c| !c.is_empty());
        let Some(chunk) = chunk else {
            return Err(Error::Internal(format!(
                "blob {sha}: no chunk at byte {at} of {len}"
            )));
        };
        each(&chunk);
        offsets.push(at);
        at += chunk.len() as u64;
    }
    Ok(offsets)
}

/// The chunks of the first `len` bytes of a blob, found by walking them; those that cannot be
/// walked (a gap) are left alone.
fn chunk_offsets(store: &dyn Store, sha: &str, len: u64) -> Vec<u64> {
    let mut offsets = Vec::new();
    let mut at = 0u64;
    while at < len {
        match chunk_from(store, sha, at) {
            Ok(Some(c)) if !c.is_empty() => {
                offsets.push(at);
                at += c.len() as u64;
            }
            _ => break,
        }
    }
    offsets
}

/// One guarded commit of every chunk and the complete record; a partial upload's chunks
/// (which may hold other bytes) are replaced.
fn ledger_store_whole(store: &dyn Store, sha: &str, bytes: &[u8]) -> Result<bool> {
    for _ in 0..WHOLE_TRIES {
        let held = store.get(META, sha.as_bytes())?;
        let mut batch = Batch::new();
        if let Some(m) = &held {
            let m = Meta::decode(m)?;
            if m.complete {
                return Ok(false);
            }
            for at in chunk_offsets(store, sha, m.received) {
                batch.delete(CHUNKS, chunk_key(sha, at));
            }
        }
        let mut at = 0u64;
        for piece in bytes.chunks(CHUNK) {
            batch.put(CHUNKS, chunk_key(sha, at), piece.to_vec());
            at += piece.len() as u64;
        }
        let meta = Meta {
            complete: true,
            received: at,
            size: at,
        };
        batch.put(META, sha.as_bytes().to_vec(), meta.encode());
        if store.commit_guarded(batch, &[meta_guard(sha, held)])? {
            return Ok(true);
        }
    }
    Err(Error::Conflict(format!(
        "blob {sha} is being uploaded elsewhere; try again"
    )))
}

/// An upload's body going into a blob.
pub enum Writer {
    /// Appended to the partial file.
    File {
        file: std::fs::File,
        partial: PathBuf,
        dir: PathBuf,
    },
    Ledger(LedgerWriter),
}

/// Bytes gathered in memory and committed as chunks: whenever a whole chunk has arrived, at
/// least every [`FLUSH_EVERY`] while bytes keep arriving, and when the body ends.
pub struct LedgerWriter {
    store: Arc<dyn Store>,
    sha: String,
    /// What the blob's record held at the last read or commit (the guard of the next).
    meta: Option<Vec<u8>>,
    committed: u64,
    total: u64,
    buffer: Vec<u8>,
    last_commit: Instant,
    /// Another writer moved the record: nothing more is committed.
    lost: bool,
}

impl LedgerWriter {
    /// Commits the whole chunks gathered, or everything with `all`.
    fn flush(&mut self, all: bool) -> std::result::Result<(), Stop> {
        if self.lost {
            return Ok(());
        }
        let len = if all {
            self.buffer.len()
        } else {
            self.buffer.len() / CHUNK * CHUNK
        };
        if len == 0 {
            return Ok(());
        }
        let mut batch = Batch::new();
        let mut at = self.committed;
        for piece in self.buffer[..len].chunks(CHUNK) {
            batch.put(CHUNKS, chunk_key(&self.sha, at), piece.to_vec());
            at += piece.len() as u64;
        }
        let meta = Meta {
            complete: false,
            received: at,
            size: self.total,
        }
        .encode();
        batch.put(META, self.sha.as_bytes().to_vec(), meta.clone());
        let guard = meta_guard(&self.sha, self.meta.clone());
        if !self.store.commit_guarded(batch, &[guard])? {
            self.lost = true;
            self.buffer = Vec::new();
            return Err(Stop::Moved(ledger_state(&*self.store, &self.sha)?));
        }
        self.meta = Some(meta);
        self.committed = at;
        self.buffer.drain(..len);
        self.last_commit = Instant::now();
        Ok(())
    }
}

impl Writer {
    /// Takes the next bytes of the body.
    pub fn write(&mut self, bytes: &[u8]) -> std::result::Result<(), Stop> {
        match self {
            Writer::File { file, .. } => Ok(file.write_all(bytes)?),
            Writer::Ledger(w) => {
                if w.lost {
                    return Err(Stop::Moved(ledger_state(&*w.store, &w.sha)?));
                }
                w.buffer.extend_from_slice(bytes);
                if w.buffer.len() >= CHUNK {
                    w.flush(false)?;
                }
                if !w.buffer.is_empty() && w.last_commit.elapsed() >= FLUSH_EVERY {
                    w.flush(true)?;
                }
                Ok(())
            }
        }
    }

    /// Whether bytes taken wait in memory, not yet stored: a [`Writer::write`] after
    /// [`FLUSH_EVERY`] commits them.
    pub fn waiting(&self) -> bool {
        match self {
            Writer::File { .. } => false,
            Writer::Ledger(w) => !w.lost && !w.buffer.is_empty(),
        }
    }

    /// Makes every byte taken durable, however the body ended.
    pub fn keep(&mut self) -> std::result::Result<(), Stop> {
        match self {
            Writer::File { file, .. } => Ok(file.sync_data()?),
            Writer::Ledger(w) => w.flush(true),
        }
    }

    /// All `total` bytes are kept: checks that they hash to `sha` and makes the blob readable;
    /// a mismatch discards the upload.
    pub fn finish(self, sha: &str, total: u64) -> std::result::Result<(), Stop> {
        let mismatch = || {
            Stop::Failed(Error::BadRequest(format!(
                "the bytes do not hash to {sha}; the upload was discarded"
            )))
        };
        match self {
            Writer::File { file, partial, dir } => {
                drop(file);
                let mut hasher = Sha256::new();
                let mut reader = std::fs::File::open(&partial)?;
                std::io::copy(&mut reader, &mut hasher)?;
                if hex::encode(hasher.finalize()) != sha {
                    std::fs::remove_file(&partial)?;
                    return Err(mismatch());
                }
                std::fs::rename(&partial, complete_path(&dir, sha))?;
                if let Ok(d) = std::fs::File::open(&dir) {
                    let _ = d.sync_all();
                }
                Ok(())
            }
            Writer::Ledger(w) => {
                let store = &*w.store;
                if w.lost || w.committed != total {
                    return Err(Stop::Moved(ledger_state(store, sha)?));
                }
                let mut hasher = Sha256::new();
                let offsets = walk_chunks(store, sha, total, |c| hasher.update(c))?;
                let guard = meta_guard(sha, w.meta.clone());
                let mut batch = Batch::new();
                let good = hex::encode(hasher.finalize()) == sha;
                if good {
                    let meta = Meta {
                        complete: true,
                        received: total,
                        size: total,
                    };
                    batch.put(META, sha.as_bytes().to_vec(), meta.encode());
                } else {
                    for at in offsets {
                        batch.delete(CHUNKS, chunk_key(sha, at));
                    }
                    batch.delete(META, sha.as_bytes().to_vec());
                }
                if !store.commit_guarded(batch, &[guard])? {
                    return Err(Stop::Moved(ledger_state(store, sha)?));
                }
                if good {
                    Ok(())
                } else {
                    Err(mismatch())
                }
            }
        }
    }
}

// ---- reading -----------------------------------------------------------------------------

/// A complete blob being read.
pub enum Reader {
    File { file: std::fs::File, size: u64 },
    Ledger(ChunkReader),
}

/// Reads a blob's chunks in order from any byte, one chunk in memory at a time.
pub struct ChunkReader {
    store: Arc<dyn Store>,
    sha: String,
    size: u64,
    pos: u64,
    /// The chunk last read and its first byte's offset.
    chunk: Option<(u64, Bytes)>,
}

impl ChunkReader {
    /// Up to `max` bytes from where the reader stands (fewer at a chunk's end); empty at the
    /// blob's end or when a chunk is missing.
    fn read(&mut self, max: u64) -> Result<Bytes> {
        if self.pos >= self.size || max == 0 {
            return Ok(Bytes::new());
        }
        let holds = |c: &(u64, Bytes), pos: u64| c.0 <= pos && pos < c.0 + c.1.len() as u64;
        if !self.chunk.as_ref().is_some_and(|c| holds(c, self.pos)) {
            // The next chunk starts where the last one ended; any other byte is looked for.
            let next = match &self.chunk {
                Some((start, bytes)) if start + bytes.len() as u64 == self.pos => {
                    chunk_from(&*self.store, &self.sha, self.pos)?.map(|c| (self.pos, c))
                }
                _ => chunk_holding(&*self.store, &self.sha, self.pos)?,
            };
            self.chunk = next
                .filter(|(_, c)| !c.is_empty())
                .map(|(start, c)| (start, Bytes::from(c)));
        }
        let Some((start, bytes)) = &self.chunk else {
            return Ok(Bytes::new());
        };
        let from = usize::try_from(self.pos - start).unwrap_or(usize::MAX);
        let len = (bytes.len() - from).min(usize::try_from(max).unwrap_or(usize::MAX));
        let piece = bytes.slice(from..from + len);
        self.pos += len as u64;
        Ok(piece)
    }
}

impl Reader {
    /// The blob's size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Reader::File { size, .. } => *size,
            Reader::Ledger(r) => r.size,
        }
    }

    /// Its first `n` bytes (fewer when it is shorter); the reader stands after them.
    pub fn head(&mut self, n: usize) -> Result<Vec<u8>> {
        let mut head = Vec::with_capacity(n);
        match self {
            Reader::File { file, .. } => {
                file.take(n as u64).read_to_end(&mut head)?;
            }
            Reader::Ledger(r) => {
                r.pos = 0;
                while head.len() < n {
                    let piece = r.read((n - head.len()) as u64)?;
                    if piece.is_empty() {
                        break;
                    }
                    head.extend_from_slice(&piece);
                }
            }
        }
        Ok(head)
    }

    /// `len` bytes from byte `from`, read a step at a time on a blocking thread as the client
    /// takes them: a slow download holds no thread between its steps and never the whole blob
    /// in memory. A blob that ends early ends the body with an error (the client sees a cut
    /// and resumes with a Range).
    pub fn stream(
        self,
        from: u64,
        len: u64,
    ) -> Result<impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
        let source = match self {
            Reader::File { mut file, .. } => {
                file.seek(SeekFrom::Start(from))?;
                Source::File(file)
            }
            Reader::Ledger(mut r) => {
                r.pos = from;
                Source::Ledger(Box::new(r))
            }
        };
        Ok(source_stream(source, len))
    }
}

enum Source {
    File(std::fs::File),
    Ledger(Box<ChunkReader>),
}

/// The bytes read from a file at each step of a download.
const READ_STEP: u64 = 64 * 1024;

fn source_stream(
    source: Source,
    len: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures_util::stream::try_unfold((source, len), |(mut source, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        // Each step is short store work and takes a short turn (`crate::workers`): without
        // one, every download of a crowd of handhelds could start a thread of its own.
        let (source, bytes) = crate::workers::on_short_turn(move || -> std::io::Result<_> {
            let bytes = match &mut source {
                Source::File(file) => {
                    let want = usize::try_from(left.min(READ_STEP)).unwrap_or(64 * 1024);
                    let mut buf = vec![0u8; want];
                    let n = file.read(&mut buf)?;
                    buf.truncate(n);
                    Bytes::from(buf)
                }
                Source::Ledger(r) => r.read(left).map_err(std::io::Error::other)?,
            };
            Ok((source, bytes))
        })
        .await
        .map_err(std::io::Error::other)??;
        if bytes.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the blob ended early",
            ));
        }
        let left = left - bytes.len() as u64;
        Ok(Some((bytes, (source, left))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_sync_core::store::SledStore;

    fn ledger(dir: &Path) -> BlobStore {
        BlobStore::Ledger {
            store: Arc::new(SledStore::open(dir).expect("store")),
        }
    }

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn writer(blobs: &BlobStore, sha: &str, offset: u64, total: u64) -> Writer {
        match blobs.begin(sha, offset, total).ok() {
            Some(Begin::Write(w)) => w,
            _ => panic!("a writer at {offset}"),
        }
    }

    fn read_all(blobs: &BlobStore, sha: &str, from: u64) -> Vec<u8> {
        let Some(Reader::Ledger(mut r)) = blobs.open_read(sha).expect("read") else {
            panic!("complete");
        };
        r.pos = from;
        let mut out = Vec::new();
        loop {
            let piece = r.read(u64::MAX).expect("read");
            if piece.is_empty() {
                return out;
            }
            out.extend_from_slice(&piece);
        }
    }

    #[test]
    fn an_upload_in_uneven_pieces_is_read_back_from_any_byte() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let blobs = ledger(tmp.path());
        let photo = bytes(3 * CHUNK + 1234);
        let sha = hex::encode(Sha256::digest(&photo));
        let total = photo.len() as u64;
        let mut at = 0usize;
        // Requests of odd sizes, each in frames of odd sizes, one cut short by a byte.
        for size in [1, 7, CHUNK + 5, 100_000, CHUNK * 2] {
            let end = (at + size).min(photo.len());
            let mut w = writer(&blobs, &sha, at as u64, total);
            for frame in photo[at..end].chunks(9_999) {
                assert!(w.write(frame).is_ok());
            }
            assert!(w.keep().is_ok());
            at = end;
            assert_eq!(blobs.state(&sha).expect("state").offset, at as u64);
            if at == photo.len() {
                assert!(w.finish(&sha, total).is_ok());
            }
        }
        assert!(blobs.state(&sha).expect("state").complete);
        assert!(matches!(
            blobs.begin(&sha, 0, total),
            Ok(Begin::Complete(_))
        ));
        for from in [0, 1, 8, CHUNK as u64, CHUNK as u64 + 12, total - 1] {
            assert_eq!(
                read_all(&blobs, &sha, from),
                &photo[from as usize..],
                "{from}"
            );
        }
        let mut reader = blobs.open_read(&sha).expect("read").expect("complete");
        assert_eq!(reader.head(12).expect("head"), &photo[..12]);
    }

    #[test]
    fn two_writers_at_one_offset_cannot_both_append() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let blobs = ledger(tmp.path());
        let photo = bytes(1000);
        let sha = hex::encode(Sha256::digest(&photo));
        let mut first = writer(&blobs, &sha, 0, 1000);
        let mut second = writer(&blobs, &sha, 0, 1000);
        assert!(first.write(&photo[..600]).is_ok());
        assert!(first.keep().is_ok());
        assert!(second.write(&photo[..300]).is_ok());
        match second.keep() {
            Err(Stop::Moved(now)) => assert_eq!((now.complete, now.offset), (false, 600)),
            _ => panic!("the second writer must find the upload moved"),
        }
        assert_eq!(blobs.state(&sha).expect("state").offset, 600);
        assert!(matches!(
            blobs.begin(&sha, 300, 1000),
            Ok(Begin::Elsewhere(_))
        ));
    }

    #[test]
    fn a_mismatch_discards_the_chunks_and_a_whole_blob_replaces_a_partial_one() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let blobs = ledger(tmp.path());
        let photo = bytes(CHUNK + 10);
        let sha = hex::encode(Sha256::digest(&photo));
        let total = photo.len() as u64;
        let mut w = writer(&blobs, &sha, 0, total);
        assert!(w.write(&vec![0u8; photo.len()]).is_ok());
        assert!(w.keep().is_ok());
        assert!(matches!(
            w.finish(&sha, total),
            Err(Stop::Failed(Error::BadRequest(_)))
        ));
        assert_eq!(blobs.state(&sha).expect("state").offset, 0);
        let BlobStore::Ledger { store } = &blobs else {
            unreachable!()
        };
        assert_eq!(store.scan_prefix(CHUNKS, sha.as_bytes()).count(), 0);

        let mut w = writer(&blobs, &sha, 0, total);
        assert!(w.write(&photo[..77]).is_ok());
        assert!(w.keep().is_ok());
        blobs.store_whole(&sha, &photo).expect("whole");
        assert_eq!(read_all(&blobs, &sha, 0), photo);
        assert_eq!(store.scan_prefix(CHUNKS, sha.as_bytes()).count(), 2);
    }
}
