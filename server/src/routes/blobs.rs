//! Photos and other attachments: content-addressed blobs (sha-256), uploaded in resumable
//! chunks and downloaded with ranges. A caller may touch a blob only when a case in their scope
//! names it in its attachments, so cases sync before their blobs.

use crate::auth::Caller;
use crate::cases::summary_in_scope;
use crate::error::{Error, Result};
use crate::routes::sync::body_bytes;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridcase_sync_core::commands::Blob;
use gridcase_sync_core::CaseId;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

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

fn dir(state: &AppState) -> PathBuf {
    state.config.data_dir.join("blobs")
}

fn complete_path(state: &AppState, sha: &str) -> PathBuf {
    dir(state).join(sha)
}

fn partial_path(state: &AppState, sha: &str) -> PathBuf {
    dir(state).join("partial").join(sha)
}

/// Upload turns, striped by the blob's first hex digit.
static UPLOAD_TURNS: [std::sync::Mutex<()>; 16] = [const { std::sync::Mutex::new(()) }; 16];

fn upload_turn(sha: &str) -> std::sync::MutexGuard<'static, ()> {
    UPLOAD_TURNS[sha.bytes().next().map_or(0, usize::from) % UPLOAD_TURNS.len()]
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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

/// Stores a whole blob server-side: written to a temporary file in the blobs directory, flushed,
/// and renamed into place, so it is either complete or absent. Nothing to do when the blob is
/// already stored (blobs are named by their content).
pub fn store_whole(state: &AppState, sha: &str, bytes: &[u8]) -> Result<()> {
    check_sha(sha)?;
    if hex::encode(Sha256::digest(bytes)) != sha {
        return Err(Error::Internal(format!("the bytes do not hash to {sha}")));
    }
    let _turn = upload_turn(sha);
    let path = complete_path(state, sha);
    if path.exists() {
        return Ok(());
    }
    let dir = dir(state);
    std::fs::create_dir_all(&dir)?;
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
    if let Ok(d) = std::fs::File::open(&dir) {
        d.sync_all()?;
    }
    tracing::info!(blob = %sha, bytes = bytes.len(), "blob stored whole");
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

fn upload_state(state: &AppState, sha: &str) -> UploadState {
    if complete_path(state, sha).exists() {
        let size = std::fs::metadata(complete_path(state, sha)).map_or(0, |m| m.len());
        return UploadState {
            complete: true,
            offset: size,
        };
    }
    let offset = std::fs::metadata(partial_path(state, sha)).map_or(0, |m| m.len());
    UploadState {
        complete: false,
        offset,
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
        Ok(Json(upload_state(&state, &sha)))
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

/// Appends one chunk at `Upload-Offset` of a blob of `Upload-Length` bytes. When the last byte
/// arrives the hash is checked and the blob becomes readable; a mismatch discards it.
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
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    check_sha(&sha)?;
    let chunk = body_bytes(body)?;
    let offset = header_u64(&headers, "upload-offset")?;
    let total = header_u64(&headers, "upload-length")?;
    if total > state.config.max_blob {
        return Err(Error::TooLarge(format!(
            "blobs are limited to {} bytes",
            state.config.max_blob
        )));
    }
    crate::blocking(move || {
        authorize(&state, &caller, &sha)?;
        // Two writers of one blob (two handhelds with the same photo, or a retry while the
        // first attempt is still being written) take turns, so each appends at the offset it
        // checked.
        let _turn = upload_turn(&sha);
        let now = upload_state(&state, &sha);
        if now.complete {
            return Ok((StatusCode::OK, Json(now)).into_response());
        }
        if now.offset != offset {
            return Ok((StatusCode::CONFLICT, Json(now)).into_response());
        }
        if offset + chunk.len() as u64 > total {
            return Err(Error::BadRequest(
                "the chunk runs past Upload-Length".into(),
            ));
        }
        let partial = partial_path(&state, &sha);
        if let Some(parent) = partial.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&partial)?;
        file.write_all(&chunk)?;
        file.sync_data()?;
        let received = offset + chunk.len() as u64;
        if received < total {
            return Ok((
                StatusCode::OK,
                Json(UploadState {
                    complete: false,
                    offset: received,
                }),
            )
                .into_response());
        }
        let mut hasher = Sha256::new();
        let mut reader = std::fs::File::open(&partial)?;
        std::io::copy(&mut reader, &mut hasher)?;
        if hex::encode(hasher.finalize()) != sha {
            std::fs::remove_file(&partial)?;
            return Err(Error::BadRequest(format!(
                "the bytes do not hash to {sha}; the upload was discarded"
            )));
        }
        std::fs::rename(&partial, complete_path(&state, &sha))?;
        if let Ok(d) = std::fs::File::open(dir(&state)) {
            let _ = d.sync_all();
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
    })
    .await
}

/// The blob's bytes; `Range: bytes=N-` resumes a cut download.
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
    let start = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) => Some(
            r.strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| Error::BadRequest("only Range: bytes=N- is supported".into()))?,
        ),
        None => None,
    };
    crate::blocking(move || {
        authorize(&state, &caller, &sha)?;
        let path = complete_path(&state, &sha);
        let mut file = std::fs::File::open(&path)
            .map_err(|_| Error::NotFound(format!("blob {sha} has not been uploaded")))?;
        let size = file.metadata()?.len();
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
        let mut head = Vec::with_capacity(12);
        (&mut file).take(12).read_to_end(&mut head)?;
        let media = image_type(&head).unwrap_or("application/octet-stream");
        let from = start.unwrap_or(0);
        file.seek(SeekFrom::Start(from))?;
        let mut bytes = Vec::with_capacity((size - from) as usize);
        file.read_to_end(&mut bytes)?;
        let status = if start.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        let mut response = (status, bytes).into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(media),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        );
        if start.is_some() {
            if let Ok(v) = header::HeaderValue::from_str(&format!(
                "bytes {from}-{}/{size}",
                size.saturating_sub(1)
            )) {
                h.insert(header::CONTENT_RANGE, v);
            }
        }
        Ok(response)
    })
    .await
}
