//! Photos: a content-addressed store of files on the device (named by sha-256), queued for
//! upload when an action names them and for download when a received case does. Both
//! directions resume: an upload asks the server how far it got, a download keeps its partial
//! file and asks for the rest with a Range.

use super::{invalid, storage, trees, Client};
use crate::error::{ClientError, Result};
use crate::transport::{HttpHeader, HttpResponse};
use crate::views::RefusalItem;
use gridcase_sync_core::commands::Blob;
use gridcase_sync_core::store::Batch;
use gridcase_sync_core::{Attachment, CaseId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The size of one upload request.
const CHUNK: usize = 1024 * 1024;

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
        progress: &dyn Fn(&str, u64, u64),
        refusals: &mut Vec<RefusalItem>,
    ) -> Result<u32> {
        let pending = self.keys(trees::UPLOADS)?;
        let mut done = 0;
        'photos: for (i, sha) in pending.iter().enumerate() {
            progress("upload", i as u64, pending.len() as u64);
            let path = self.blob_path(sha);
            let mut file = std::fs::File::open(&path)?;
            let total = file.metadata()?.len();
            let status = self.authed("GET", &format!("/v1/blobs/{sha}/upload"), vec![], vec![])?;
            if status.status == 404 || status.status == 403 {
                // The case naming it did not reach the server (refused): keep it for later.
                continue;
            }
            let mut state = Self::expect_json(status, "upload status")?;
            while !state["complete"].as_bool().unwrap_or(false) {
                let offset = state["offset"].as_u64().unwrap_or(0);
                file.seek(SeekFrom::Start(offset))?;
                let mut chunk = vec![0u8; CHUNK.min((total.saturating_sub(offset)) as usize)];
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
                let r = self.authed("PUT", &format!("/v1/blobs/{sha}"), headers, chunk)?;
                state = match r.status {
                    200 | 409 => serde_json::from_slice(&r.body)?,
                    413 => {
                        self.refuse_photo(sha, &r, refusals)?;
                        continue 'photos;
                    }
                    s => {
                        return Err(ClientError::Server {
                            status: s,
                            message: String::from_utf8_lossy(&r.body).into(),
                        })
                    }
                };
            }
            let mut b = Batch::new();
            b.delete(trees::UPLOADS, sha.as_bytes().to_vec());
            self.store.commit(b).map_err(storage)?;
            done += 1;
        }
        Ok(done)
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

    /// Downloads the photos queued, resuming a partial file with a Range request, and keeps
    /// only bytes that hash to the name asked for.
    pub(super) fn download_blobs(&self, progress: &dyn Fn(&str, u64, u64)) -> Result<u32> {
        let wanted = self.keys(trees::DOWNLOADS)?;
        let mut done = 0;
        for (i, sha) in wanted.iter().enumerate() {
            let expected: u64 = self
                .store
                .get(trees::DOWNLOADS, sha.as_bytes())
                .map_err(storage)?
                .and_then(|v| String::from_utf8_lossy(&v).parse().ok())
                .unwrap_or(0);
            progress("download", i as u64, wanted.len() as u64);
            let partial = self.dir.join("blobs").join(format!("{sha}.part"));
            let have = std::fs::metadata(&partial).map_or(0, |m| m.len());
            let headers = if have > 0 {
                vec![HttpHeader {
                    name: "range".into(),
                    value: format!("bytes={have}-"),
                }]
            } else {
                vec![]
            };
            let r = self.authed("GET", &format!("/v1/blobs/{sha}"), headers, vec![])?;
            match r.status {
                206 => {
                    let mut file = std::fs::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .open(&partial)?;
                    file.write_all(&r.body)?;
                    file.sync_all()?;
                }
                200 => {
                    let mut file = std::fs::File::create(&partial)?;
                    file.write_all(&r.body)?;
                    file.sync_all()?;
                }
                // Nothing past what we hold: the partial file is whole (cut before its rename).
                416 if have > 0 => {}
                _ => continue,
            }
            let bytes = std::fs::read(&partial)?;
            if (bytes.len() as u64) < expected {
                // Cut short: keep what came, the next sync asks for the rest with a Range.
                continue;
            }
            if hex::encode(Sha256::digest(&bytes)) != *sha {
                std::fs::remove_file(&partial)?;
                continue;
            }
            std::fs::rename(&partial, self.blob_path(sha))?;
            let mut b = Batch::new();
            b.delete(trees::DOWNLOADS, sha.as_bytes().to_vec());
            self.store.commit(b).map_err(storage)?;
            done += 1;
        }
        Ok(done)
    }
}
