//! Photos sent with a case page's step form (处置、反馈、核查照片): the form posted as
//! `multipart/form-data`, its text fields read as the urlencoded form would be, its files
//! (`photo`) judged before anything is written. A form without files may still come
//! urlencoded.
//!
//! Each file must be an image by its first bytes (JPEG, PNG or WebP), at most
//! `--max-blob` bytes, and at most [`limits::PHOTOS`] of them; the whole request is bounded by
//! `--max-body`. A refused file refuses the form with a stable code, shown at the form, and
//! nothing is written.

use super::{case_in_path, read_form_body, Form, PageError};
use crate::error::Error;
use crate::routes::blobs::{image_type, WholeBlob};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gridcase_sync_core::commands::Blob;
use gridcase_sync_core::{limits, Action};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The file input's name on the forms.
pub const FIELD: &str = "photo";
/// The file input's `accept`: the types [`image_type`] knows.
pub const ACCEPT: &str = "image/jpeg,image/png,image/webp";

/// Why the photos of a form were refused; `code` is what the case page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A file that is not a JPEG, PNG or WebP image by its first bytes.
    NotAnImage,
    /// A file larger than `--max-blob`.
    PhotoTooLarge,
    /// More files than an event may name.
    TooManyPhotos,
    /// The whole request is larger than `--max-body`.
    UploadTooLarge,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotAnImage => "not_an_image",
            Refusal::PhotoTooLarge => "photo_too_large",
            Refusal::TooManyPhotos => "too_many_photos",
            Refusal::UploadTooLarge => "upload_too_large",
        }
    }
}

/// A form body, urlencoded or multipart, and the photos it carried (none when urlencoded), or
/// why they were refused.
pub struct WithPhotos<T> {
    pub form: T,
    pub photos: Result<Vec<WholeBlob>, Refusal>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for WithPhotos<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_multipart(v))
            .map(str::to_owned);
        let Some(content_type) = multipart else {
            let Form(form) = Form::<T>::from_request(req, state)
                .await
                .map_err(IntoResponse::into_response)?;
            return Ok(WithPhotos {
                form,
                photos: Ok(Vec::new()),
            });
        };
        let bad = |text: String| PageError(Error::BadRequest(text)).into_response();
        let boundary = multer::parse_boundary(&content_type)
            .map_err(|e| bad(format!("multipart/form-data: {e}")))?;
        let path = req.uri().path().to_owned();
        let body = match read_form_body(req, state).await {
            Ok(body) => body,
            // Too large to read at all: back to the case page, which says so.
            Err(PageError(Error::TooLarge(_))) => return Err(too_large(&path)),
            Err(e) => return Err(e.into_response()),
        };
        let (fields, photos) = read(body, boundary, state.config.max_blob)
            .await
            .map_err(|e| PageError(e).into_response())?;
        let encoded =
            serde_urlencoded::to_string(&fields).map_err(|e| bad(format!("bad form: {e}")))?;
        let form =
            serde_urlencoded::from_str(&encoded).map_err(|e| bad(format!("bad form: {e}")))?;
        Ok(WithPhotos { form, photos })
    }
}

fn is_multipart(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|k| k.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// A request too large to read, sent to `/cases/{id}/act`: back to that case with the refusal.
fn too_large(path: &str) -> Response {
    let case = path
        .strip_prefix("/cases/")
        .and_then(|p| p.strip_suffix("/act"))
        .filter(|c| case_in_path(c).is_ok());
    match case {
        Some(case) => super::back_to_case(case, "refused", Refusal::UploadTooLarge.code()),
        None => PageError(Error::TooLarge("the form is too large".into())).into_response(),
    }
}

/// The text fields in order, and the photos judged: every file is read to its end (the body
/// is already in memory, bounded), so the text fields after a refused file are still known.
async fn read(
    body: Bytes,
    boundary: String,
    max_blob: u64,
) -> Result<(Vec<(String, String)>, Result<Vec<WholeBlob>, Refusal>), Error> {
    let bad = |e: multer::Error| Error::BadRequest(format!("multipart/form-data: {e}"));
    let body = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut parts = multer::Multipart::new(body, boundary);
    let mut fields = Vec::new();
    let mut photos: Vec<WholeBlob> = Vec::new();
    let mut files = 0usize;
    let mut refusal = None;
    while let Some(mut part) = parts.next_field().await.map_err(bad)? {
        let name = part
            .name()
            .map(str::to_owned)
            .ok_or_else(|| Error::BadRequest("multipart/form-data: a part has no name".into()))?;
        let Some(file_name) = part.file_name().map(str::to_owned) else {
            let text = part.text().await.map_err(bad)?;
            fields.push((name, text));
            continue;
        };
        if name != FIELD {
            return Err(Error::BadRequest(format!(
                "{name}: files are taken only as {FIELD}"
            )));
        }
        // Read to its end, keeping no more than a photo may have.
        let mut bytes = Vec::new();
        let mut size = 0u64;
        while let Some(chunk) = part.chunk().await.map_err(bad)? {
            size += chunk.len() as u64;
            if size <= max_blob {
                bytes.extend_from_slice(&chunk);
            }
        }
        // A file input left empty still sends a part: no name, no bytes.
        if file_name.is_empty() && size == 0 {
            continue;
        }
        files += 1;
        if refusal.is_some() {
            continue;
        }
        if files > limits::PHOTOS {
            refusal = Some(Refusal::TooManyPhotos);
        } else if size > max_blob {
            refusal = Some(Refusal::PhotoTooLarge);
        } else if let Some(mime) = image_type(&bytes) {
            let sha256 = hex::encode(Sha256::digest(&bytes));
            if photos.iter().all(|p| p.blob.sha256 != sha256) {
                photos.push(WholeBlob {
                    blob: Blob {
                        sha256,
                        mime: mime.into(),
                        size,
                        name: file_name_kept(&file_name),
                    },
                    bytes: Bytes::from(bytes),
                });
            }
        } else {
            refusal = Some(Refusal::NotAnImage);
        }
    }
    Ok((fields, refusal.map_or(Ok(photos), Err)))
}

/// The file's name as recorded beside the event, within the limit; none when empty.
fn file_name_kept(name: &str) -> Option<String> {
    let kept: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(limits::FILE_NAME)
        .collect();
    (!kept.is_empty()).then_some(kept)
}

/// The action with the photos named, for the steps that take photos. Photos sent with any
/// other step are refused (the console offers the file input only on those).
pub fn name_photos(action: Action, photos: &[WholeBlob]) -> Result<Action, Error> {
    if photos.is_empty() {
        return Ok(action);
    }
    let shas = || photos.iter().map(|p| p.blob.sha256.clone()).collect();
    Ok(match action {
        Action::Handle { note, .. } => Action::Handle {
            note,
            photos: shas(),
        },
        Action::Feedback { resolved, note, .. } => Action::Feedback {
            resolved,
            note,
            photos: shas(),
        },
        Action::Verify { resolved, note, .. } => Action::Verify {
            resolved,
            note,
            photos: shas(),
        },
        Action::SelfHandle { note, .. } => Action::SelfHandle {
            note,
            photos: shas(),
        },
        other => {
            return Err(Error::BadRequest(format!(
                "{} takes no photos",
                other.kind().as_str()
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_first_bytes() {
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(
            image_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some("image/png")
        );
        assert_eq!(image_type(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"RIFF\x10\0\0\0WAVE"), None);
        assert_eq!(image_type(b"hello, world"), None);
        assert_eq!(image_type(b""), None);
    }

    #[test]
    fn only_the_steps_that_take_photos_name_them() {
        let photo = WholeBlob {
            blob: Blob {
                sha256: "ab".repeat(32),
                mime: "image/png".into(),
                size: 3,
                name: None,
            },
            bytes: Bytes::from_static(b"abc"),
        };
        let handle = Action::Handle {
            note: "done".into(),
            photos: Vec::new(),
        };
        match name_photos(handle, std::slice::from_ref(&photo)) {
            Ok(Action::Handle { photos, .. }) => assert_eq!(photos, vec!["ab".repeat(32)]),
            other => panic!("{other:?}"),
        }
        let close = Action::Close {
            note: String::new(),
        };
        assert!(name_photos(close.clone(), &[photo]).is_err());
        assert!(name_photos(close, &[]).is_ok());
    }
}
