//! Photos and other attachments: content-addressed blobs (sha-256), uploaded in resumable
//! chunks and downloaded with ranges. A caller may touch a blob only when a case in their scope
//! names it in its attachments, so cases sync before their blobs.

use crate::auth::Caller;
use crate::blob_store::{Begin, Stop};
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
/// on a slow link takes seconds, so blobs never wait for each other, only for themselves.
static UPLOAD_TURNS: std::sync::Mutex<BTreeMap<String, Weak<std::sync::Mutex<()>>>> =
    std::sync::Mutex::new(BTreeMap::new());

fn blob_turn(sha: &str) -> Arc<std::sync::Mutex<()>> {
    let mut turns = UPLOAD_TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(turn) = turns.get(sha).and_then(Weak::upgrade) {
        return turn;
    }
    turns.retain(|_, t| t.strong_count() > 0);
    let turn = Arc::new(std::sync::Mutex::new(()));
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
    let turn = blob_turn(sha);
    let _turn = turn
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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
/// one stands (409) instead of holding a thread.
const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits for the blob's turn, up to [`TURN_WAIT`]: `None` when another upload of it on this
/// server still holds it then.
fn take_turn(turn: &std::sync::Mutex<()>) -> Option<std::sync::MutexGuard<'_, ()>> {
    let waited = std::time::Instant::now();
    loop {
        match turn.try_lock() {
            Ok(guard) => return Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => return Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) if waited.elapsed() < TURN_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::sync::TryLockError::WouldBlock) => return None,
        }
    }
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
    crate::blocking(move || {
        authorize(&state, &caller, &sha)?;
        if state.blobs.shared() {
            // An upload's bytes wait in memory a moment before they are committed: an upload
            // of this blob under way on this server (one just cut, committing what arrived)
            // is waited for, so the offset answered is every byte kept.
            let turn = blob_turn(&sha);
            let _turn = take_turn(&turn);
            return Ok(Json(state.blobs.state(&sha)?));
        }
        Ok(Json(state.blobs.state(&sha)?))
    })
    .await
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
/// to the partial file as it arrives and what arrived is flushed to disk however the request
/// ends (completed, cut, timed out), so `GET …/upload` answers where to continue and a cut costs
/// only the bytes still in flight. When the last byte arrives the hash is checked and the blob
/// becomes readable; a mismatch discards it.
#[utoipa::path(put, path = "/v1/blobs/{sha256}", tag = "blobs", params(("sha256" = String, Path),
        ("Upload-Offset" = u64, Header), ("Upload-Length" = u64, Header)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = UploadState), (status = 409, body = UploadState, description = "The offset is not where the upload stands"),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
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
    // The writer runs on a blocking thread and holds the blob's turn until the body has ended:
    // it answers at once when there is nothing to read (complete, wrong offset, not allowed),
    // or says it is ready and writes the frames this task hands it.
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
    let (frames_tx, mut frames_rx) = tokio::sync::mpsc::channel::<Frame>(16);
    let writer = tokio::task::spawn_blocking(move || -> Result<Response> {
        authorize_upload(&state, &caller, &sha, total)?;
        // Two writers of one blob (two devices of the user, or a retry while the first attempt
        // is still arriving) take turns, so each appends at the offset it checked; one that
        // cannot have its turn soon is told where the upload stands rather than parked.
        let turn = blob_turn(&sha);
        let Some(_turn) = take_turn(&turn) else {
            let now = state.blobs.state(&sha)?;
            return Ok((StatusCode::CONFLICT, Json(now)).into_response());
        };
        let mut writer = match state.blobs.begin(&sha, offset, total)? {
            Begin::Complete(now) => return Ok((StatusCode::OK, Json(now)).into_response()),
            Begin::Elsewhere(now) => return Ok((StatusCode::CONFLICT, Json(now)).into_response()),
            Begin::Write(writer) => writer,
        };
        if ready_tx.send(()).is_err() {
            // The request is gone before its body was read.
            return Err(Error::BadRequest("the request was abandoned".into()));
        }
        let mut received = offset;
        let mut outcome: std::result::Result<(), Stop> = Ok(());
        while let Some(frame) = frames_rx.blocking_recv() {
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
            if let Err(e) = writer.write(&bytes) {
                outcome = Err(e);
                break;
            }
            received += len;
        }
        // Whatever arrived is kept, however the body ended: the next chunk starts after it.
        // Another server's writer of this blob that moved it first wins: this one answers
        // where the upload stands.
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
    if ready_rx.await.is_ok() {
        let mut stream = body.into_data_stream();
        while let Some(frame) = stream.next().await {
            let frame = frame.map_err(|e| e.to_string());
            let last = frame.is_err();
            // The writer stopped taking frames (past the length, a full disk): it answers why.
            if frames_tx.send(frame).await.is_err() || last {
                break;
            }
        }
    }
    // Dropped here or when this request is abandoned (its timeout): the writer flushes what
    // it has and ends.
    drop(frames_tx);
    writer.await.map_err(Error::internal)?
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
    use super::parse_range;

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
}
