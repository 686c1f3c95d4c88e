//! Photos: a content-addressed store of files on the device (named by sha-256), queued for
//! upload when an action names them and for download when a received case does. Both
//! directions resume at the byte: an upload goes in small chunks sized to the link and, after
//! any failure, asks the server how far it got (the server keeps every byte that arrived); a
//! download goes to its partial file as it arrives and asks for the rest with a Range.

use super::progress::{stage, Meter, Of};
use super::{invalid, storage, trees, Client};
use crate::error::{ClientError, Result};
use crate::transport::{BuiltinTransport, HttpHeader, HttpRequest, HttpResponse, TransportError};
use crate::views::RefusalItem;
use gridcase_sync_core::commands::Blob;
use gridcase_sync_core::store::Batch;
use gridcase_sync_core::{Attachment, CaseId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most bytes a photo of unknown size may bring: far above any phone photo, far below a
/// device's storage.
const MAX_PHOTO_BYTES: u64 = 256 * 1024 * 1024;

/// The first upload chunk; later ones are sized so that one takes about [`CHUNK_TIME`] at the
/// rate measured, between [`MIN_CHUNK`] and [`MAX_CHUNK`]. A cut costs at most the bytes in
/// flight (the server keeps what arrived), so a chunk's size bounds the time a request takes
/// rather than what a cut loses.
const FIRST_CHUNK: u64 = 64 * 1024;
const MIN_CHUNK: u64 = 16 * 1024;
const MAX_CHUNK: u64 = 1024 * 1024;
const CHUNK_TIME: Duration = Duration::from_secs(3);

/// The size of the next chunk (an upload's, or a download's piece with an app's transport),
/// from the rate the last ones went at and the sizes that failed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pace {
    chunk: u64,
    /// Below the size that last failed; lifted slowly while chunks go through.
    ceiling: u64,
}

impl Pace {
    pub(super) fn new() -> Pace {
        Pace {
            chunk: FIRST_CHUNK,
            ceiling: MAX_CHUNK,
        }
    }

    pub(super) fn chunk(&self) -> u64 {
        self.chunk
    }

    /// `bytes` went in `took`: aim the next chunk at [`CHUNK_TIME`], growing at most fourfold
    /// and shrinking at most fourfold a step, so one odd measure does not swing it.
    pub(super) fn sent(&mut self, bytes: u64, took: Duration) {
        if bytes == 0 {
            return;
        }
        let micros = took.as_micros().max(1);
        let rate = u128::from(bytes) * 1_000_000 / micros;
        let ideal = u64::try_from(rate * CHUNK_TIME.as_micros() / 1_000_000).unwrap_or(u64::MAX);
        self.chunk = ideal
            .clamp(self.chunk / 4, self.chunk.saturating_mul(4))
            .clamp(MIN_CHUNK, self.ceiling);
        self.ceiling = (self.ceiling + self.ceiling / 8).min(MAX_CHUNK);
    }

    /// A chunk failed: the link is worse than measured; sizes near this one wait a while.
    pub(super) fn failed(&mut self) {
        self.ceiling = (self.chunk / 4 * 3).max(MIN_CHUNK);
        self.chunk = (self.chunk / 2).max(MIN_CHUNK);
    }
}

/// How far an upload has come, as the server says.
#[derive(Debug, Clone, Copy, Deserialize)]
struct UploadState {
    #[serde(default)]
    complete: bool,
    #[serde(default)]
    offset: u64,
}

/// A network failure a retry may get past (a cut, a timeout, the server busy or restarting).
fn transient(e: &ClientError) -> bool {
    match e {
        ClientError::Unreachable { .. } | ClientError::BadAnswer { .. } => true,
        ClientError::Server { status, .. } => *status >= 500,
        _ => false,
    }
}

/// How one download request ended.
enum Fetched {
    /// The partial file holds the whole body sent (or the server had nothing past it).
    Ended,
    /// The server will not serve it now (not uploaded yet, not in scope): try at a later sync.
    Unavailable,
    /// A piece came and more are to be asked for.
    More,
    /// The body stopped short; `progressed` when some of it reached the partial file.
    Cut {
        progressed: bool,
        error: ClientError,
    },
}

/// A photo the server refused for good; it stays on the device and is not offered again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PhotoRefusal {
    pub(super) case: String,
    pub(super) code: String,
    pub(super) message: String,
}

impl Client {
    /// Where a photo's bytes are kept, named by their sha-256.
    pub(super) fn blob_path(&self, sha: &str) -> PathBuf {
        self.dir.join("blobs").join(sha)
    }

    /// Copies a file into the content-addressed blob store.
    pub fn import_photo(&self, path: &str) -> Result<Blob> {
        let bytes = std::fs::read(path).map_err(|e| invalid(format!("cannot read {path}: {e}")))?;
        let sha = hex::encode(Sha256::digest(&bytes));
        let target = self.blob_path(&sha);
        if !target.exists() {
            let tmp = self.dir.join("blobs").join(format!("{sha}.tmp"));
            let written = std::fs::File::create(&tmp).and_then(|mut f| {
                f.write_all(&bytes)?;
                f.sync_all()
            });
            if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &target)) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
        }
        let name = Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let mime = match Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jpg" | "jpeg") => "image/jpeg",
            Some("png") => "image/png",
            Some("heic") => "image/heic",
            Some("webp") => "image/webp",
            _ => "application/octet-stream",
        };
        Ok(Blob {
            sha256: sha,
            mime: mime.into(),
            size: bytes.len() as u64,
            name,
        })
    }

    pub(super) fn import_all(&self, photos: &[String]) -> Result<Vec<Blob>> {
        photos.iter().map(|p| self.import_photo(p)).collect()
    }

    /// Queues photos a case names for upload at the next sync.
    pub(super) fn queue_uploads(&self, case: &CaseId, blobs: &[Blob]) -> Result<()> {
        let mut b = Batch::new();
        for blob in blobs {
            b.put(
                trees::UPLOADS,
                blob.sha256.as_bytes().to_vec(),
                case.as_str().as_bytes().to_vec(),
            );
        }
        self.store.commit(b).map_err(storage)
    }

    /// Queues the photos a case names that are not on this device for download.
    pub(super) fn stage_downloads(&self, batch: &mut Batch, attachments: &[Attachment]) {
        for a in attachments {
            if !self.blob_path(&a.sha256).exists() {
                batch.put(
                    trees::DOWNLOADS,
                    a.sha256.as_bytes().to_vec(),
                    a.size.to_string().into_bytes(),
                );
            }
        }
    }

    /// Uploads queued photos. One the server refuses for good (too large) is set aside and
    /// reported, and the others still go.
    pub(super) fn upload_blobs(
        &self,
        meter: &Meter<'_>,
        refusals: &mut Vec<RefusalItem>,
    ) -> Result<u32> {
        let pending = self.keys(trees::UPLOADS)?;
        let total: u64 = pending
            .iter()
            .map(|sha| std::fs::metadata(self.blob_path(sha)).map_or(0, |m| m.len()))
            .sum();
        meter.begin(
            stage::OWN_PHOTOS,
            total,
            u32::try_from(pending.len()).unwrap_or(u32::MAX),
        );
        let mut done = 0;
        for sha in &pending {
            // `Some(false)`: refused for good (set aside); `None`: not yet (kept queued).
            if self.upload_blob(sha, refusals, meter)? == Some(true) {
                let mut b = Batch::new();
                b.delete(trees::UPLOADS, sha.as_bytes().to_vec());
                self.store.commit(b).map_err(storage)?;
                done += 1;
            }
            meter.item();
        }
        meter.end();
        Ok(done)
    }

    /// Where the server's upload of a blob stands; `None` when no case it can see names the
    /// blob yet (the case was refused or has not synced): kept for a later sync.
    fn upload_state(&self, sha: &str) -> Result<Option<UploadState>> {
        let r = self.authed("GET", &format!("/v1/blobs/{sha}/upload"), vec![], vec![])?;
        if r.status == 404 || r.status == 403 {
            return Ok(None);
        }
        let value = Self::expect_json(r, "upload status")?;
        Ok(Some(serde_json::from_value(value)?))
    }

    /// Uploads one photo in chunks sized to the link, from where the server stands. `Some(true)`
    /// when the server holds it whole, `Some(false)` when it refused it for good, `None` when it
    /// cannot take it yet. A failed chunk is not sent again as it was: the server is asked
    /// where it stands (it keeps every byte that arrived) and the upload continues from there;
    /// only failures that move nothing, [`Retry::attempts`](super::Retry) in a row, end the sync.
    fn upload_blob(
        &self,
        sha: &str,
        refusals: &mut Vec<RefusalItem>,
        meter: &Meter<'_>,
    ) -> Result<Option<bool>> {
        let path = self.blob_path(sha);
        let mut file = std::fs::File::open(&path)?;
        let total = file.metadata()?.len();
        let Some(mut state) = self.upload_state(sha)? else {
            return Ok(None);
        };
        // What the server already holds (an earlier sync's, cut) is done, not sent again.
        meter.credit(state.offset.min(total));
        let mut pace = Pace::new();
        let mut stalled = 0u32;
        let mut delay = self.retry.first_delay;
        while !state.complete {
            let offset = state.offset;
            if offset > total {
                return Err(ClientError::BadAnswer {
                    message: format!(
                        "the server holds {offset} bytes of photo {sha}, which has {total}"
                    ),
                });
            }
            let len = pace.chunk().min(total - offset);
            file.seek(SeekFrom::Start(offset))?;
            let mut chunk = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
            file.read_exact(&mut chunk)?;
            let headers = vec![
                HttpHeader {
                    name: "content-type".into(),
                    value: "application/octet-stream".into(),
                },
                HttpHeader {
                    name: "upload-offset".into(),
                    value: offset.to_string(),
                },
                HttpHeader {
                    name: "upload-length".into(),
                    value: total.to_string(),
                },
            ];
            let started = Instant::now();
            let failure = match self.authed_once("PUT", &format!("/v1/blobs/{sha}"), headers, chunk)
            {
                Ok(r) if r.status == 200 => {
                    let next: UploadState = serde_json::from_slice(&r.body)?;
                    let went = next.offset.saturating_sub(offset);
                    meter.moved(Of::Photos, went, 0);
                    pace.sent(went, started.elapsed());
                    state = next;
                    stalled = 0;
                    delay = self.retry.first_delay;
                    continue;
                }
                // A cut request's bytes were kept after the server was asked where it stood
                // (or another device of this user moved it): go on from where it stands. Only
                // this user uploads the photo, so the bytes are counted as this device's.
                Ok(r) if r.status == 409 => {
                    let next: UploadState = serde_json::from_slice(&r.body)?;
                    meter.moved(Of::Photos, next.offset.saturating_sub(offset), 0);
                    state = next;
                    continue;
                }
                Ok(r) if r.status == 413 => {
                    self.refuse_photo(sha, &r, refusals)?;
                    return Ok(Some(false));
                }
                Ok(r) if r.status == 401 => {
                    return Err(ClientError::Unauthorized {
                        message: String::from_utf8_lossy(&r.body).into(),
                    })
                }
                Ok(r) if r.status < 500 => {
                    return Err(ClientError::Server {
                        status: r.status,
                        message: String::from_utf8_lossy(&r.body).into(),
                    })
                }
                Ok(r) => ClientError::Server {
                    status: r.status,
                    message: String::from_utf8_lossy(&r.body).chars().take(500).collect(),
                },
                Err(e) if transient(&e) => e,
                Err(e) => return Err(e),
            };
            pace.failed();
            let Some(now) = self.upload_state(sha)? else {
                return Ok(None);
            };
            tracing::debug!(blob = %sha, from = offset, kept = now.offset, error = %failure, "upload chunk failed; continuing from the server's offset");
            // What the server kept of the cut chunk crossed the link.
            meter.moved(Of::Photos, now.offset.saturating_sub(offset), 0);
            if now.offset > offset || now.complete {
                stalled = 0;
                delay = self.retry.first_delay;
            } else {
                stalled += 1;
                if stalled >= self.retry.attempts.max(1) {
                    return Err(failure);
                }
                std::thread::sleep(delay);
                delay *= 4;
            }
            state = now;
        }
        Ok(Some(true))
    }

    /// Sets aside a photo the server refused for good, and reports it.
    fn refuse_photo(
        &self,
        sha: &str,
        answer: &HttpResponse,
        refusals: &mut Vec<RefusalItem>,
    ) -> Result<()> {
        let case = self
            .store
            .get(trees::UPLOADS, sha.as_bytes())
            .map_err(storage)?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        let said = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let refusal = PhotoRefusal {
            case,
            code: "photo_too_large".into(),
            message: format!("photo {sha} was refused: {said}"),
        };
        tracing::warn!(blob = %sha, case = %refusal.case, "the server refused a photo");
        let mut b = Batch::new();
        b.delete(trees::UPLOADS, sha.as_bytes().to_vec());
        b.put(
            trees::REFUSED_PHOTOS,
            sha.as_bytes().to_vec(),
            serde_json::to_vec(&refusal).map_err(storage)?,
        );
        self.store.commit(b).map_err(storage)?;
        refusals.push(RefusalItem {
            case_id: refusal.case,
            code: refusal.code,
            message: refusal.message,
        });
        Ok(())
    }

    /// Where a download's bytes are kept until they are whole and verified.
    fn partial_path(&self, sha: &str) -> PathBuf {
        self.dir.join("blobs").join(format!("{sha}.partial"))
    }

    /// Downloads the photos queued, each to its partial file as it arrives, resuming a cut one
    /// with a Range request, and keeps only bytes that hash to the name asked for.
    pub(super) fn download_blobs(&self, meter: &Meter<'_>) -> Result<u32> {
        let wanted = self.keys(trees::DOWNLOADS)?;
        let mut sizes = Vec::with_capacity(wanted.len());
        for sha in &wanted {
            sizes.push(self.expected_size(sha)?);
        }
        meter.begin(
            stage::OTHERS_PHOTOS,
            sizes.iter().sum(),
            u32::try_from(wanted.len()).unwrap_or(u32::MAX),
        );
        let mut done = 0;
        for (sha, expected) in wanted.iter().zip(sizes) {
            if self.download_queued(sha, expected, meter)? {
                done += 1;
            }
            meter.item();
        }
        meter.end();
        Ok(done)
    }

    /// The size a received case declares for a queued photo (0: not known).
    fn expected_size(&self, sha: &str) -> Result<u64> {
        Ok(self
            .store
            .get(trees::DOWNLOADS, sha.as_bytes())
            .map_err(storage)?
            .and_then(|v| String::from_utf8_lossy(&v).parse().ok())
            .unwrap_or(0))
    }

    /// Downloads one queued photo and takes it off the queue when it is whole.
    fn download_queued(&self, sha: &str, expected: u64, meter: &Meter<'_>) -> Result<bool> {
        if !self.download_blob(sha, expected, meter)? {
            return Ok(false);
        }
        let mut b = Batch::new();
        b.delete(trees::DOWNLOADS, sha.as_bytes().to_vec());
        self.store.commit(b).map_err(storage)?;
        Ok(true)
    }

    /// Bytes of a photo's cut download kept on this device.
    pub(super) fn partial_bytes(&self, sha: &str) -> u64 {
        std::fs::metadata(self.partial_path(sha)).map_or(0, |m| m.len())
    }

    /// One photo on demand (the one the user opened): downloaded now when it is queued, resuming
    /// a cut download; its local path, or `None` when the server cannot serve it yet.
    pub fn download_photo(
        &self,
        sha: &str,
        listener: &dyn Fn(&crate::views::SyncProgress),
    ) -> Result<Option<String>> {
        let path = self.blob_path(sha);
        if !path.exists() {
            let queued = self
                .store
                .get(trees::DOWNLOADS, sha.as_bytes())
                .map_err(storage)?
                .is_some();
            if !queued {
                return Err(ClientError::NotFound {
                    message: format!("no case on this device names photo {sha}"),
                });
            }
            let expected = self.expected_size(sha)?;
            let meter = Meter::new(listener);
            meter.begin(stage::OTHERS_PHOTOS, expected, 1);
            let got = self.download_queued(sha, expected, &meter)?;
            meter.item();
            meter.end();
            if !got {
                return Ok(None);
            }
        }
        Ok(Some(path.to_string_lossy().into_owned()))
    }

    /// Downloads one photo; true when it is whole and verified in the blob store. A cut that
    /// brought bytes is followed at once by a Range request for the rest; failures that bring
    /// nothing, [`Retry::attempts`](super::Retry) in a row, end the sync (the partial file stays
    /// for the next one).
    fn download_blob(&self, sha: &str, expected: u64, meter: &Meter<'_>) -> Result<bool> {
        let partial = self.partial_path(sha);
        // Partial files of earlier releases.
        let old = self.dir.join("blobs").join(format!("{sha}.part"));
        if old.exists() && !partial.exists() {
            std::fs::rename(&old, &partial)?;
        }
        // What a cut download brought earlier is done, not fetched again.
        meter.credit(std::fs::metadata(&partial).map_or(0, |m| m.len()));
        let mut stalled = 0u32;
        let mut delay = self.retry.first_delay;
        let (mut pace, mut bounded) = (Pace::new(), expected > 0);
        loop {
            let have = std::fs::metadata(&partial).map_or(0, |m| m.len());
            let fetched = if expected > 0 && have >= expected {
                Fetched::Ended
            } else {
                match &self.streaming {
                    Some(t) => self.fetch_streaming(t, sha, have, expected, &partial, meter)?,
                    None => self.fetch_whole(
                        sha,
                        have,
                        expected,
                        &partial,
                        &mut pace,
                        &mut bounded,
                        meter,
                    )?,
                }
            };
            match fetched {
                Fetched::Ended => break,
                Fetched::Unavailable => return Ok(false),
                Fetched::More => {
                    stalled = 0;
                    delay = self.retry.first_delay;
                }
                Fetched::Cut { progressed, error } => {
                    tracing::debug!(blob = %sha, have, error = %error, "download cut; asking for the rest");
                    if progressed {
                        stalled = 0;
                        delay = self.retry.first_delay;
                        continue;
                    }
                    stalled += 1;
                    if stalled >= self.retry.attempts.max(1) {
                        return Err(error);
                    }
                    std::thread::sleep(delay);
                    delay *= 4;
                }
            }
        }
        let have = std::fs::metadata(&partial).map_or(0, |m| m.len());
        if have < expected {
            // The server has fewer bytes than the case says: keep them, ask again next sync.
            return Ok(false);
        }
        let mut hasher = Sha256::new();
        std::io::copy(&mut std::fs::File::open(&partial)?, &mut hasher)?;
        if hex::encode(hasher.finalize()) != *sha {
            tracing::warn!(blob = %sha, "a downloaded photo does not hash to its name; discarded");
            std::fs::remove_file(&partial)?;
            return Ok(false);
        }
        std::fs::rename(&partial, self.blob_path(sha))?;
        Ok(true)
    }

    fn range_headers(have: u64) -> Vec<HttpHeader> {
        if have > 0 {
            vec![HttpHeader {
                name: "range".into(),
                value: format!("bytes={have}-"),
            }]
        } else {
            vec![]
        }
    }

    /// One request with the built-in transport: the body goes to the partial file as it comes,
    /// at most `expected − have` bytes of it.
    fn fetch_streaming(
        &self,
        transport: &BuiltinTransport,
        sha: &str,
        have: u64,
        expected: u64,
        partial: &Path,
        meter: &Meter<'_>,
    ) -> Result<Fetched> {
        let mut id = self.identity()?;
        let mut renewed = false;
        let mut answer = loop {
            let mut headers = Self::range_headers(have);
            headers.push(HttpHeader {
                name: "authorization".into(),
                value: format!("Bearer {}", id.access_token),
            });
            let request = HttpRequest {
                method: "GET".into(),
                url: format!("{}/v1/blobs/{sha}", self.server),
                headers,
                body: vec![],
            };
            let answer = match transport.open(request) {
                Ok(a) => a,
                Err(TransportError::Unreachable { message }) => {
                    return Ok(Fetched::Cut {
                        progressed: false,
                        error: ClientError::Unreachable { message },
                    })
                }
                Err(TransportError::Interrupted { message }) => {
                    return Ok(Fetched::Cut {
                        progressed: false,
                        error: ClientError::BadAnswer { message },
                    })
                }
            };
            if answer.status == 401 && !renewed {
                id = self.renew(id)?;
                renewed = true;
                continue;
            }
            break answer;
        };
        let mut file = match Reply::of(answer.status, answer.header("content-range"), have, false) {
            Reply::Append => std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(partial)?,
            Reply::Whole => std::fs::File::create(partial)?,
            other => return other.settle(partial),
        };
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0u64;
        // Never more than the photo's declared size (or the bound of any photo when it is not
        // known): a server that keeps sending cannot fill the device.
        let room = if expected > 0 {
            expected.saturating_sub(have)
        } else {
            MAX_PHOTO_BYTES
        };
        let mut body = (&mut answer.body).take(room);
        let cut = loop {
            match body.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => {
                    file.write_all(&buf[..n])?;
                    got += n as u64;
                    meter.moved(Of::Photos, 0, n as u64);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        // What came is kept, whole or cut.
        file.sync_data()?;
        Ok(match cut {
            None => Fetched::Ended,
            Some(e) => Fetched::Cut {
                progressed: got > 0,
                error: ClientError::BadAnswer {
                    message: format!("the photo download was cut after {got} bytes: {e}"),
                },
            },
        })
    }

    /// One request with an app's transport, which hands over whole answers (a cut loses the
    /// request's bytes): the photo is asked for in pieces sized to the link, as uploads go, and
    /// each piece is appended to the partial file. `bounded` is cleared for a server that only
    /// serves `bytes=N-` (an older release), which is then asked for the rest at once.
    #[allow(clippy::too_many_arguments)]
    fn fetch_whole(
        &self,
        sha: &str,
        have: u64,
        expected: u64,
        partial: &Path,
        pace: &mut Pace,
        bounded: &mut bool,
        meter: &Meter<'_>,
    ) -> Result<Fetched> {
        let headers = if *bounded {
            vec![HttpHeader {
                name: "range".into(),
                value: format!("bytes={have}-{}", have + pace.chunk() - 1),
            }]
        } else {
            Self::range_headers(have)
        };
        let started = Instant::now();
        // Tried once: after a failure the next piece is sized again.
        let r = match self.authed_once("GET", &format!("/v1/blobs/{sha}"), headers, vec![]) {
            Ok(r) => r,
            Err(e) if transient(&e) => {
                pace.failed();
                return Ok(Fetched::Cut {
                    progressed: false,
                    error: e,
                });
            }
            Err(e) => return Err(e),
        };
        // Never more than the photo's declared size, as with the built-in transport.
        let room = if expected > 0 {
            expected.saturating_sub(have)
        } else {
            MAX_PHOTO_BYTES
        };
        let body = &r.body[..r
            .body
            .len()
            .min(usize::try_from(room).unwrap_or(usize::MAX))];
        let mut file = match Reply::of(r.status, r.header("content-range"), have, *bounded) {
            Reply::Append => std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(partial)?,
            Reply::Whole => std::fs::File::create(partial)?,
            Reply::Unbounded => {
                *bounded = false;
                return Ok(Fetched::More);
            }
            other => return other.settle(partial),
        };
        file.write_all(body)?;
        file.sync_all()?;
        let got = body.len() as u64;
        meter.moved(Of::Photos, 0, got);
        pace.sent(got, started.elapsed());
        let whole = expected == 0 || have + got >= expected;
        Ok(if *bounded && got > 0 && !whole {
            Fetched::More
        } else {
            Fetched::Ended
        })
    }
}

/// What a download answer means: one reading for both transports (the built-in one streaming
/// to the partial file, and an app's handing over whole answers).
#[derive(Debug)]
enum Reply {
    /// A 206 starting where the partial file ends: its body is appended.
    Append,
    /// A 200: the whole photo, which replaces the partial file.
    Whole,
    /// A 416 for a non-empty partial file: nothing past it, the partial file is whole (cut
    /// before its rename).
    Ended,
    /// A 206 starting elsewhere: the partial file cannot be trusted to line up; it is dropped
    /// and the photo asked for again from its first byte.
    Restart,
    /// A 400 to a bounded range (`bytes=N-M`): a server that serves only `bytes=N-`.
    Unbounded,
    /// The server busy, failing or slow (5xx, 408, 429): tried again like a cut.
    Retry(u16),
    /// The server will not serve it now (not uploaded yet, not in scope, the session refused):
    /// asked again at a later sync.
    Unavailable,
}

impl Reply {
    fn of(status: u16, content_range: Option<&str>, have: u64, bounded: bool) -> Reply {
        match status {
            206 if range_starts_at(content_range, have) => Reply::Append,
            206 => Reply::Restart,
            200 => Reply::Whole,
            416 if have > 0 => Reply::Ended,
            400 if bounded => Reply::Unbounded,
            s if s >= 500 || s == 408 || s == 429 => Reply::Retry(s),
            _ => Reply::Unavailable,
        }
    }

    /// How a download ends on an answer whose body is not kept.
    fn settle(self, partial: &Path) -> Result<Fetched> {
        Ok(match self {
            Reply::Ended => Fetched::Ended,
            Reply::Restart => {
                let _ = std::fs::remove_file(partial);
                Fetched::Cut {
                    progressed: false,
                    error: ClientError::BadAnswer {
                        message: "the server answered another range than asked".into(),
                    },
                }
            }
            Reply::Retry(status) => Fetched::Cut {
                progressed: false,
                error: ClientError::Server {
                    status,
                    message: "the server could not serve the photo now".into(),
                },
            },
            Reply::Unbounded => Fetched::More,
            Reply::Append | Reply::Whole | Reply::Unavailable => Fetched::Unavailable,
        })
    }
}

fn range_starts_at(content_range: Option<&str>, have: u64) -> bool {
    content_range
        .and_then(|r| r.strip_prefix("bytes "))
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.trim().parse::<u64>().ok())
        .is_some_and(|start| start == have)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One reading of a download's answer for both transports.
    #[test]
    fn download_answers_mean_one_thing_whatever_the_transport() {
        let of = |status, range: Option<&str>, have, bounded| {
            format!("{:?}", Reply::of(status, range, have, bounded))
        };
        assert_eq!(of(206, Some("bytes 100-199/300"), 100, true), "Append");
        assert_eq!(of(206, Some("bytes 0-99/300"), 100, false), "Restart");
        assert_eq!(of(206, None, 100, false), "Restart");
        assert_eq!(of(200, None, 100, false), "Whole");
        assert_eq!(of(416, None, 100, false), "Ended");
        assert_eq!(of(416, None, 0, false), "Unavailable");
        assert_eq!(of(400, None, 0, true), "Unbounded");
        assert_eq!(of(400, None, 0, false), "Unavailable");
        for busy in [500, 503, 408, 429] {
            assert_eq!(of(busy, None, 100, true), format!("Retry({busy})"));
        }
        for away in [401, 403, 404] {
            assert_eq!(of(away, None, 100, true), "Unavailable");
        }
    }

    #[test]
    fn chunks_follow_the_measured_rate_within_their_bounds() {
        let mut pace = Pace::new();
        assert_eq!(pace.chunk(), FIRST_CHUNK);
        // Loopback: grows fourfold a step up to the ceiling.
        pace.sent(FIRST_CHUNK, Duration::from_millis(1));
        assert_eq!(pace.chunk(), 4 * FIRST_CHUNK);
        pace.sent(pace.chunk(), Duration::from_millis(1));
        assert_eq!(pace.chunk(), MAX_CHUNK);
        // 4 KB/s: shrinks to the floor (12 KB would take 3 s; 16 KiB is the least sent).
        let mut slow = Pace::new();
        slow.sent(FIRST_CHUNK, Duration::from_secs(16));
        assert_eq!(slow.chunk(), MIN_CHUNK);
        // 40 KB/s: about 3 s worth.
        let mut mid = Pace::new();
        mid.sent(FIRST_CHUNK, Duration::from_millis(1600));
        assert!(
            (110_000..=130_000).contains(&mid.chunk()),
            "{}",
            mid.chunk()
        );
        // After a failure it grows back only slowly past the size that failed.
        let mut cut = Pace::new();
        cut.sent(FIRST_CHUNK, Duration::from_millis(1));
        cut.failed();
        assert_eq!(cut.chunk(), 2 * FIRST_CHUNK);
        cut.sent(cut.chunk(), Duration::from_millis(1));
        assert_eq!(
            cut.chunk(),
            3 * FIRST_CHUNK,
            "held under the size that failed"
        );
        // Failures halve it, never below the floor.
        for _ in 0..10 {
            mid.failed();
        }
        assert_eq!(mid.chunk(), MIN_CHUNK);
        // Nothing moved: nothing learned.
        mid.sent(0, Duration::from_secs(1));
        assert_eq!(mid.chunk(), MIN_CHUNK);
    }
}
