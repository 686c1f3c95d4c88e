//! Photos and other attachments: content-addressed blobs (sha-256), uploaded in resumable
//! chunks and downloaded with ranges. A caller may touch a blob only when a case in their scope
//! names it in its attachments, so cases sync before their blobs.

use crate::auth::Caller;
use crate::blob_store::{Begin, Stop, Writer, CHUNK, FLUSH_EVERY};
use crate::cases::summary_in_scope;
use crate::error::{Error, Result};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use gridcase_sync_core::commands::Blob;
use gridcase_sync_core::CaseId;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How far an upload has come.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadState {
    pub complete: bool,
    /// Bytes received so far; the next chunk starts here.
    pub offset: u64,
}

fn check_sha(sha: &str) -> Result<()> {
    let ok = sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest(
            "a blob is named by its lowercase hex sha-256".into(),
        ))
    }
}

/// Upload turns, one per blob being written: a turn is held while a chunk's body arrives, which
/// on a slow link takes seconds, so blobs never wait for each other, only for themselves. A
/// turn is awaited, not blocked on: an upload waiting for its blob's turn holds no thread.
static UPLOAD_TURNS: std::sync::Mutex<BTreeMap<String, Weak<tokio::sync::Mutex<()>>>> =
    std::sync::Mutex::new(BTreeMap::new());

/// A blob's turn, held: given back when dropped. It owns its mutex, so it goes with the
/// upload's work wherever that runs.
type Turn = tokio::sync::OwnedMutexGuard<()>;

/// The blob's turn, shared by everyone who holds or awaits it; the table keeps only turns
/// someone holds or awaits (the others are dropped when a new one is made).
fn blob_turn(sha: &str) -> Arc<tokio::sync::Mutex<()>> {
    let mut turns = UPLOAD_TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(turn) = turns.get(sha).and_then(Weak::upgrade) {
        return turn;
    }
    turns.retain(|_, t| t.strong_count() > 0);
    let turn = Arc::new(tokio::sync::Mutex::new(()));
    turns.insert(sha.to_owned(), Arc::downgrade(&turn));
    turn
}

/// The image types photos are taken in, known by their first bytes (never by a name or a
/// declared type): JPEG `FF D8 FF`, PNG `89 50 4E 47 0D 0A 1A 0A`, WebP `RIFF....WEBP`.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A whole blob the server received itself (a photo sent with a console form): the record the
/// event's attachments keep, and its bytes, stored by [`store_whole`] before the event that
/// names it is committed.
pub struct WholeBlob {
    pub blob: Blob,
    pub bytes: Bytes,
}

/// Stores a whole blob server-side, so that it is either complete or absent (in the blob
/// store the server was started with: [`crate::blob_store`]). Nothing to do when the blob is
/// already stored (blobs are named by their content).
pub fn store_whole(state: &AppState, sha: &str, bytes: &[u8]) -> Result<()> {
    check_sha(sha)?;
    if hex::encode(Sha256::digest(bytes)) != sha {
        return Err(Error::Internal(format!("the bytes do not hash to {sha}")));
    }
    // Called on a blocking thread (an action's write), never from async code.
    let turn = blob_turn(sha);
    let _turn = turn.blocking_lock();
    if state.blobs.store_whole(sha, bytes)? {
        tracing::info!(blob = %sha, bytes = bytes.len(), "blob stored whole");
    }
    Ok(())
}

/// The caller may touch a blob when a case they can see names it.
fn authorize(state: &AppState, caller: &Caller, sha: &str) -> Result<()> {
    caller.require_reader()?;
    let cases = state.ledger.blob_cases(sha)?;
    for case in cases {
        if let Some(s) = state.ledger.summary(&CaseId::new(case.as_str()))? {
            if summary_in_scope(&caller.user.scope, &s) {
                return Ok(());
            }
        }
    }
    // Unknown and outside the scope answer alike: a hash tells nobody that a case names it.
    Err(Error::NotFound(format!(
        "no case in your scope names blob {sha}; sync the case first"
    )))
}

/// Who may write a blob's bytes: the author of an attachment that names it, on a case in their
/// scope, sending exactly the size that attachment declares. Any reader of the case may fetch
/// the photo; only the device's user who took it may upload it, so nobody can fill its
/// partial file with other bytes (which would fail the hash, or stall the honest upload).
fn authorize_upload(state: &AppState, caller: &Caller, sha: &str, length: u64) -> Result<()> {
    authorize(state, caller, sha)?;
    for case in state.ledger.blob_cases(sha)? {
        let Some(doc) = state.ledger.load(&CaseId::new(case.as_str()))? else {
            continue;
        };
        let named = doc
            .attachments()?
            .into_iter()
            .any(|a| a.sha256 == sha && a.author == caller.user.id && a.size == length);
        if named {
            return Ok(());
        }
    }
    Err(Error::Forbidden(format!(
        "blob {sha} is uploaded by the user who attached it, with the size the attachment \
         declares"
    )))
}

/// How long an upload waits for another upload of the same blob before it is told where that
/// one stands (409) instead of waiting on.
const TURN_WAIT: Duration = Duration::from_secs(2);

/// Waits for the blob's turn, up to [`TURN_WAIT`]: `None` when another upload of it on this
/// server still holds it then.
async fn take_turn(sha: &str) -> Option<Turn> {
    tokio::time::timeout(TURN_WAIT, blob_turn(sha).lock_owned())
        .await
        .ok()
}

/// Uploads' work on blocking threads at once, across all blobs: checking who may upload,
/// where an upload stands, writing its bytes (a file append and its `fsync`, or a ledger
/// commit) and hashing a finished blob. That work is disk and database I/O, which more
/// threads at once do not speed up; each blocking thread costs the process a heap of its own
/// (3–4 MB resident), and 2,000 handhelds uploading at once had the blocking pool grow to
/// hundreds of threads and the server to 1.2–1.8 GB. Well below the runtime's blocking
/// threads (`main.rs`), so uploads never take them all from syncs and other requests.
const BLOB_WORKERS: usize = 8;

/// The turns for [`BLOB_WORKERS`]; a permit is held for one blocking call, never while a
/// body arrives.
static BLOB_PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(BLOB_WORKERS);

/// How long an upload that has written nothing yet waits for one of [`BLOB_PERMITS`] before
/// it is answered 503 with `Retry-After` (nothing of it was taken, so a retry loses nothing).
/// Once it writes it waits as long as it takes: it holds bytes that arrived, which are kept.
const PERMIT_WAIT: Duration = Duration::from_secs(10);

/// The body's bytes gathered in memory before they are handed to the store in one blocking
/// call: one chunk of the ledger's store, so its commits write whole chunks. Handed sooner
/// when they have waited [`FLUSH_EVERY`].
const WRITE_AT: usize = CHUNK;

/// The answer when uploads' work is queued past [`PERMIT_WAIT`]: busy for now, come back after
/// `Retry-After` (503, as syncs that would wait too long are told).
fn busy() -> Error {
    tracing::debug!(wait_s = PERMIT_WAIT.as_secs(), "upload refused: busy");
    Error::Busy {
        retry_after_secs: 2,
    }
}

/// Runs `work` on a blocking thread with one of [`BLOB_PERMITS`], waiting for it up to `wait`
/// (`None`: as long as it takes). The permit goes with the work onto its thread, so work that
/// runs on after its request was abandoned still counts.
async fn blob_work<T: Send + 'static>(
    wait: Option<Duration>,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let permit = match wait {
        Some(wait) => tokio::time::timeout(wait, BLOB_PERMITS.acquire())
            .await
            .map_err(|_| busy())?,
        None => BLOB_PERMITS.acquire().await,
    }
    .map_err(Error::internal)?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(Error::internal)?
}

#[utoipa::path(get, path = "/v1/blobs/{sha256}/upload", tag = "blobs", params(("sha256" = String, Path)),
    responses((status = 200, body = UploadState), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn upload_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
) -> Result<Json<UploadState>> {
    check_sha(&sha)?;
    let now = {
        let (state, sha) = (state.clone(), sha.clone());
        crate::blocking(move || {
            authorize(&state, &caller, &sha)?;
            state.blobs.state(&sha)
        })
        .await?
    };
    if now.complete {
        return Ok(Json(now));
    }
    // An upload's bytes wait in memory a moment before they are stored: an upload of this
    // blob under way on this server (one just cut, storing what arrived) is waited for, so
    // the offset answered is every byte kept. One still arriving after TURN_WAIT is answered
    // as it stands.
    let _turn = take_turn(&sha).await;
    let now = crate::blocking(move || state.blobs.state(&sha)).await?;
    Ok(Json(now))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Result<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::BadRequest(format!("the {name} header is required")))
}

/// One piece of an upload's body as it arrives, or the reason it stopped arriving.
type Frame = std::result::Result<Bytes, String>;

/// Appends one chunk at `Upload-Offset` of a blob of `Upload-Length` bytes. The body is written
/// to the partial upload as it arrives (in pieces of up to [`WRITE_AT`] bytes, at least every
/// [`FLUSH_EVERY`]) and what arrived is made durable however the request ends (completed, cut,
/// timed out), so `GET …/upload` answers where to continue and a cut costs only the bytes
/// still in flight. When the last byte arrives the hash is checked and the blob becomes
/// readable; a mismatch discards it. No thread is held while the body arrives, only for each
/// write ([`BLOB_WORKERS`] at once).
#[utoipa::path(put, path = "/v1/blobs/{sha256}", tag = "blobs", params(("sha256" = String, Path),
        ("Upload-Offset" = u64, Header), ("Upload-Length" = u64, Header)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = UploadState), (status = 409, body = UploadState, description = "The offset is not where the upload stands"),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody, description = "Busy with other uploads (`busy`); see Retry-After")),
    security(("bearer" = [])))]
pub async fn put_blob(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    check_sha(&sha)?;
    let offset = header_u64(&headers, "upload-offset")?;
    let total = header_u64(&headers, "upload-length")?;
    if total > state.config.max_blob {
        return Err(Error::TooLarge(format!(
            "blobs are limited to {} bytes",
            state.config.max_blob
        )));
    }
    let max_body = state.config.max_body as u64;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return Err(Error::TooLarge("the request body is too large".into()));
    }
    if declared.is_some_and(|n| offset.saturating_add(n) > total) {
        return Err(Error::BadRequest(
            "the chunk runs past Upload-Length".into(),
        ));
    }
    {
        let (state, sha) = (state.clone(), sha.clone());
        blob_work(Some(PERMIT_WAIT), move || {
            authorize_upload(&state, &caller, &sha, total)
        })
        .await?;
    }
    // Two writers of one blob (two devices of the user, or a retry while the first attempt is
    // still arriving) take turns, so each appends at the offset it checked; one that cannot
    // have its turn soon is told where the upload stands rather than kept waiting.
    let Some(turn) = take_turn(&sha).await else {
        let (state, sha) = (state.clone(), sha.clone());
        let now = blob_work(Some(PERMIT_WAIT), move || state.blobs.state(&sha)).await?;
        return Ok((StatusCode::CONFLICT, Json(now)).into_response());
    };
    let begun = {
        let (state, sha) = (state.clone(), sha.clone());
        blob_work(Some(PERMIT_WAIT), move || {
            state.blobs.begin(&sha, offset, total)
        })
        .await?
    };
    let writer = match begun {
        Begin::Complete(now) => return Ok((StatusCode::OK, Json(now)).into_response()),
        Begin::Elsewhere(now) => return Ok((StatusCode::CONFLICT, Json(now)).into_response()),
        Begin::Write(writer) => writer,
    };
    // The body is read here and its frames handed to a task of their own, which holds the
    // blob's turn and writes them: when this request is abandoned (its timeout) the task still
    // stores what arrived and ends.
    let (frames_tx, frames_rx) = tokio::sync::mpsc::channel::<Frame>(16);
    let upload = Upload {
        sha,
        offset,
        total,
        max_body,
    };
    let receiving = tokio::spawn(tracing::Instrument::in_current_span(
        upload.receive(writer, frames_rx, turn),
    ));
    let mut stream = body.into_data_stream();
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|e| e.to_string());
        let last = frame.is_err();
        // The writer stopped taking frames (past the length, a full disk): it answers why.
        if frames_tx.send(frame).await.is_err() || last {
            break;
        }
    }
    // Dropped here or when this request is abandoned: the writer stores what it has and ends.
    drop(frames_tx);
    receiving.await.map_err(Error::internal)?
}

/// One chunk's upload, past its checks.
struct Upload {
    sha: String,
    offset: u64,
    total: u64,
    max_body: u64,
}

impl Upload {
    /// Takes the body's frames until they end, holding the blob's turn: gathered in memory and
    /// handed to `writer` in short blocking calls (a [`WRITE_AT`] of them, or what waited
    /// [`FLUSH_EVERY`], also while the body stalls), so no thread is held while the body
    /// arrives. Whatever arrived is kept however the body ended, and the answer says where the
    /// upload stands.
    async fn receive(
        self,
        mut writer: Writer,
        mut frames: tokio::sync::mpsc::Receiver<Frame>,
        turn: Turn,
    ) -> Result<Response> {
        let Upload {
            sha,
            offset,
            total,
            max_body,
        } = self;
        let mut received = offset;
        let mut gathered: Vec<u8> = Vec::new();
        let mut handed = tokio::time::Instant::now();
        let mut outcome: std::result::Result<(), Stop> = Ok(());
        loop {
            // `None`: the bytes gathered (or those the writer holds) have waited long enough.
            let next = if gathered.is_empty() && !writer.waiting() {
                Some(frames.recv().await)
            } else {
                tokio::time::timeout_at(handed + FLUSH_EVERY, frames.recv())
                    .await
                    .ok()
            };
            if let Some(frame) = next {
                let Some(frame) = frame else {
                    break;
                };
                let bytes = match frame {
                    Ok(bytes) => bytes,
                    Err(why) => {
                        outcome = Err(Stop::Failed(Error::BadRequest(format!(
                            "the body was cut ({why}); the bytes that arrived are kept, ask GET /v1/blobs/{sha}/upload where to continue"
                        ))));
                        break;
                    }
                };
                let len = bytes.len() as u64;
                if received + len > total {
                    outcome = Err(Stop::Failed(Error::BadRequest(
                        "the chunk runs past Upload-Length".into(),
                    )));
                    break;
                }
                if received - offset + len > max_body {
                    outcome = Err(Stop::Failed(Error::TooLarge(
                        "the request body is too large".into(),
                    )));
                    break;
                }
                gathered.extend_from_slice(&bytes);
                received += len;
                if gathered.len() < WRITE_AT && handed.elapsed() < FLUSH_EVERY {
                    continue;
                }
            }
            let bytes = std::mem::take(&mut gathered);
            let (back, wrote) = blob_work(None, move || {
                let wrote = writer.write(&bytes);
                Ok((writer, wrote))
            })
            .await?;
            writer = back;
            handed = tokio::time::Instant::now();
            if let Err(stop) = wrote {
                outcome = Err(stop);
                break;
            }
        }
        // Whatever arrived is kept, however the body ended: the next chunk starts after it.
        // Another server's writer of this blob that moved it first wins: this one answers
        // where the upload stands. One blocking call, which runs to its end once begun.
        let answer = blob_work(None, move || -> Result<Response> {
            let _turn = turn;
            if !gathered.is_empty() {
                // Had it been written as it arrived, its failure would have come first.
                if let Err(stop) = writer.write(&gathered) {
                    outcome = Err(stop);
                }
            }
            let stopped = |stop: Stop| -> Result<Response> {
                match stop {
                    Stop::Moved(now) => Ok((StatusCode::CONFLICT, Json(now)).into_response()),
                    Stop::Failed(e) => Err(e),
                }
            };
            if let Err(stop) = writer.keep() {
                return stopped(stop);
            }
            if let Err(stop) = outcome {
                return stopped(stop);
            }
            if received < total {
                if received > offset {
                    tracing::debug!(blob = %sha, from = offset, to = received, "blob chunk stored");
                }
                return Ok((
                    StatusCode::OK,
                    Json(UploadState {
                        complete: false,
                        offset: received,
                    }),
                )
                    .into_response());
            }
            if let Err(stop) = writer.finish(&sha, total) {
                return stopped(stop);
            }
            tracing::info!(blob = %sha, bytes = total, "blob stored");
            Ok((
                StatusCode::OK,
                Json(UploadState {
                    complete: true,
                    offset: total,
                }),
            )
                .into_response())
        });
        answer.await
    }
}

/// `bytes=N-` as (N, None), `bytes=N-M` as (N, Some(M)) with M ≥ N.
fn parse_range(r: &str) -> Option<(u64, Option<u64>)> {
    let (from, last) = r.trim().strip_prefix("bytes=")?.split_once('-')?;
    let from = from.trim().parse::<u64>().ok()?;
    let last = match last.trim() {
        "" => None,
        l => Some(l.parse::<u64>().ok()?),
    };
    match last {
        Some(l) if l < from => None,
        _ => Some((from, last)),
    }
}

/// The blob's bytes; `Range: bytes=N-` resumes a cut download, `bytes=N-M` asks for a piece.
#[utoipa::path(get, path = "/v1/blobs/{sha256}", tag = "blobs", params(("sha256" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = crate::error::ErrorBody),
        (status = 416, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_blob(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    check_sha(&sha)?;
    // `bytes=N-` (the rest, to resume) or `bytes=N-M` (M inclusive: a piece, for transports
    // that hand over whole answers and would lose a long one to a cut).
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) => Some(parse_range(r).ok_or_else(|| {
            Error::BadRequest("only Range: bytes=N- and bytes=N-M are supported".into())
        })?),
        None => None,
    };
    let start = range.map(|(from, _)| from);
    crate::blocking(move || {
        authorize(&state, &caller, &sha)?;
        let mut reader = state
            .blobs
            .open_read(&sha)?
            .ok_or_else(|| Error::NotFound(format!("blob {sha} has not been uploaded")))?;
        let size = reader.size();
        if start.is_some_and(|s| s >= size) {
            // RFC 9110 §14.1.2: a first byte at or past the end cannot be satisfied.
            let body = crate::error::ErrorBody {
                code: "range_not_satisfiable".into(),
                message: format!("the blob has {size} bytes; the range starts past its end"),
                request_id: None,
            };
            let mut response = (StatusCode::RANGE_NOT_SATISFIABLE, Json(body)).into_response();
            if let Ok(v) = header::HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(response);
        }
        // A photo is served as its image type (known by its first bytes), so a browser shows
        // it; anything else as bytes to download.
        let head = reader.head(12)?;
        let media = image_type(&head).unwrap_or("application/octet-stream");
        let from = start.unwrap_or(0);
        // The last byte served, inclusive; a range past the end is served to the end.
        let last = range
            .and_then(|(_, last)| last)
            .map_or(size.saturating_sub(1), |l| l.min(size.saturating_sub(1)));
        let len = (last + 1).saturating_sub(from);
        let status = if start.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        // Streamed from the file or the chunks as the client takes it, never whole in memory.
        let mut response = (status, Body::from_stream(reader.stream(from, len)?)).into_response();
        let h = response.headers_mut();
        h.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
        h.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(media),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        );
        if start.is_some() {
            if let Ok(v) = header::HeaderValue::from_str(&format!("bytes {from}-{last}/{size}")) {
                h.insert(header::CONTENT_RANGE, v);
            }
        }
        Ok(response)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob_store::BlobStore;
    use gridcase_sync_core::store::SledStore;

    #[test]
    fn ranges_from_a_byte_to_the_end_or_to_a_byte() {
        assert_eq!(parse_range("bytes=10-"), Some((10, None)));
        assert_eq!(parse_range("bytes=0-65535"), Some((0, Some(65535))));
        assert_eq!(parse_range("bytes=5-5"), Some((5, Some(5))));
        for bad in [
            "bytes=9-3",
            "bytes=-5",
            "items=0-",
            "bytes=a-",
            "bytes=0-1,4-5",
            "bytes=0",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }

    fn photo(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn writer_at(blobs: &BlobStore, sha: &str, offset: u64, total: u64) -> Writer {
        match blobs.begin(sha, offset, total) {
            Ok(Begin::Write(w)) => w,
            _ => panic!("a writer at {offset}"),
        }
    }

    /// Hands `frames` to an upload's writer task as the handler would; the body then ends
    /// (`cut`: with an error).
    async fn upload(
        blobs: &Arc<BlobStore>,
        sha: &str,
        offset: u64,
        total: u64,
        frames: &[u8],
        cut: bool,
    ) -> Result<Response> {
        let writer = writer_at(blobs, sha, offset, total);
        let turn = take_turn(sha).await.expect("the blob's turn is free");
        let (tx, rx) = tokio::sync::mpsc::channel::<Frame>(16);
        let task = tokio::spawn(
            Upload {
                sha: sha.to_owned(),
                offset,
                total,
                max_body: 16 * 1024 * 1024,
            }
            .receive(writer, rx, turn),
        );
        for piece in frames.chunks(10_000) {
            tx.send(Ok(Bytes::copy_from_slice(piece)))
                .await
                .expect("the writer takes frames");
        }
        if cut {
            // The body stalls: what was gathered is stored while it is still open.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while blobs.state(sha).expect("state").offset < offset + frames.len() as u64 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the gathered bytes were stored while the body stalled"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tx.send(Err("connection reset".into()))
                .await
                .expect("the writer takes the cut");
        }
        drop(tx);
        task.await.expect("the writer task")
    }

    async fn cut_and_resumed(blobs: BlobStore) {
        let blobs = Arc::new(blobs);
        let bytes = photo(3 * CHUNK + 777);
        let sha = hex::encode(Sha256::digest(&bytes));
        let total = bytes.len() as u64;
        // Past one WRITE_AT (written at once) and some more (gathered), then the link is cut.
        let first = CHUNK + 12_345;
        let cut = upload(&blobs, &sha, 0, total, &bytes[..first], true).await;
        assert!(
            matches!(&cut, Err(Error::BadRequest(m)) if m.contains("cut")),
            "the cut is answered"
        );
        let now = blobs.state(&sha).expect("state");
        assert_eq!((now.complete, now.offset), (false, first as u64));
        // A chunk that ends early is kept and answered with its offset.
        let second = 2 * CHUNK + 5;
        let answer = upload(
            &blobs,
            &sha,
            first as u64,
            total,
            &bytes[first..second],
            false,
        )
        .await
        .expect("a chunk");
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(blobs.state(&sha).expect("state").offset, second as u64);
        let done = upload(&blobs, &sha, second as u64, total, &bytes[second..], false)
            .await
            .expect("the rest");
        assert_eq!(done.status(), StatusCode::OK);
        let now = blobs.state(&sha).expect("state");
        assert_eq!((now.complete, now.offset), (true, total));
        let mut reader = blobs.open_read(&sha).expect("read").expect("complete");
        assert_eq!(reader.head(16).expect("head"), &bytes[..16]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cut_blob_upload_keeps_every_byte_that_arrived_in_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        cut_and_resumed(BlobStore::Files {
            dir: tmp.path().join("blobs"),
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cut_blob_upload_keeps_every_byte_that_arrived_in_the_ledger() {
        let tmp = tempfile::tempdir().expect("tempdir");
        cut_and_resumed(BlobStore::Ledger {
            store: Arc::new(SledStore::open(tmp.path()).expect("store")),
        })
        .await;
    }

    #[tokio::test]
    async fn a_blobs_turn_is_awaited_and_forgotten_when_unused() {
        let sha = "a".repeat(64);
        let held = take_turn(&sha).await.expect("free");
        assert!(
            take_turn(&sha).await.is_none(),
            "another upload of the blob is told where it stands"
        );
        drop(held);
        drop(take_turn(&sha).await.expect("free again"));
        // Made anew for another blob, the table drops the turns nobody holds.
        let other = blob_turn(&"b".repeat(64));
        let turns = UPLOAD_TURNS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert!(!turns.contains_key(&sha));
        drop(turns);
        drop(other);
    }

    #[test]
    fn busy_blob_uploads_are_answered_503_with_retry_after() {
        let error = busy();
        assert_eq!(error.status_and_code().1, crate::error::Code::Busy);
        let answer = error.into_response();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(answer.headers().contains_key(header::RETRY_AFTER));
    }
}
