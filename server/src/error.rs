//! The server's one error type, and how it reaches a client: JSON with a stable `code` and a
//! human `message`.
//!
//! Public errors (the client's request was refused) say what went wrong. Internal errors
//! (the store, automerge, a corrupt record, a bug) are logged with their detail and the
//! request's id, and answered only with the code `internal` and that id: a client learns
//! nothing of how the server is built, and an operator can find the log line.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridcase_sync_core::rules::ViolationCode;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request took too long")]
    Timeout,
    /// The ledger's database cannot be reached for now; the detail is logged where it
    /// happened.
    #[error("the ledger's database cannot be reached just now; try again shortly")]
    Unavailable,
    /// More work waiting than the server can take in time (syncs at `sync_door`, photo
    /// uploads at their permits): come back after `Retry-After`.
    #[error("the server is busy: try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("too many attempts: try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("ledger: {0}")]
    Core(#[from] gridcase_sync_core::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Internal(String),
    /// A configuration the server cannot start with (a flag's file that does not read); never
    /// the answer to a request.
    #[error("configuration: {0}")]
    Config(String),
}

/// The public side of an error: the stable code a client switches on. A closed set (the
/// published list is this enum), apart from the internal enum above, whose text is logged and
/// never answered for server faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Unauthorized,
    Forbidden,
    NotFound,
    BadRequest,
    TooLarge,
    Conflict,
    Timeout,
    TooManyRequests,
    MalformedBatch,
    UnsupportedBatchVersion,
    /// A rule of the case's lifecycle (`not_permitted`, `wrong_status`, …).
    Rule(ViolationCode),
    /// The ledger's database cannot be reached for now (503 with `Retry-After`): try again.
    Unavailable,
    /// The server has more syncs waiting than it can serve in time (503 with `Retry-After`).
    Busy,
    /// A fault of the server's own: the answer carries a request id, never the detail.
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthorized => "unauthorized",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::BadRequest => "bad_request",
            Code::TooLarge => "too_large",
            Code::Conflict => "conflict",
            Code::Timeout => "timeout",
            Code::TooManyRequests => "too_many_requests",
            Code::MalformedBatch => "malformed_batch",
            Code::UnsupportedBatchVersion => "unsupported_batch_version",
            Code::Rule(v) => v.as_str(),
            Code::Unavailable => "unavailable",
            Code::Busy => "busy",
            Code::Internal => "internal",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable.
    pub code: String,
    /// For people.
    pub message: String,
    /// For internal errors: the id the server's log line carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

tokio::task_local! {
    /// The id of the request being served (set by the request layer in `lib.rs`).
    pub static REQUEST_ID: String;
}

/// The current request's id, if there is one.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

impl Error {
    pub fn internal(e: impl std::fmt::Display) -> Error {
        Error::Internal(e.to_string())
    }

    /// The `Retry-After` header this error's answer carries, if any.
    pub fn retry_after(&self) -> Option<(axum::http::HeaderName, axum::http::HeaderValue)> {
        match self {
            Error::Unavailable | Error::Core(gridcase_sync_core::Error::Unavailable(_)) => Some((
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(2u64),
            )),
            Error::TooManyRequests { retry_after_secs } | Error::Busy { retry_after_secs } => {
                Some((
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(*retry_after_secs),
                ))
            }
            _ => None,
        }
    }

    /// The status and stable code of this error.
    pub fn status_and_code(&self) -> (StatusCode, Code) {
        use gridcase_sync_core::Error as Core;
        match self {
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, Code::Unauthorized),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, Code::Forbidden),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, Code::NotFound),
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, Code::BadRequest),
            Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, Code::TooLarge),
            Error::Conflict(_) => (StatusCode::CONFLICT, Code::Conflict),
            Error::Timeout => (StatusCode::SERVICE_UNAVAILABLE, Code::Timeout),
            Error::Unavailable | Error::Core(Core::Unavailable(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable)
            }
            Error::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, Code::TooManyRequests),
            Error::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, Code::Busy),
            // Client JSON is read through `ApiJson` (a `BadRequest`); a serde_json error that
            // reaches here came from a stored record.
            Error::Json(_) => (StatusCode::INTERNAL_SERVER_ERROR, Code::Internal),
            Error::Core(Core::Rule(v)) => {
                let status = match v.code {
                    ViolationCode::NotPermitted
                    | ViolationCode::OutOfScope
                    | ViolationCode::NotAssigned
                    | ViolationCode::InvalidScope => StatusCode::FORBIDDEN,
                    ViolationCode::WrongStatus | ViolationCode::CaseExists => StatusCode::CONFLICT,
                    ViolationCode::NoCase
                    | ViolationCode::InvalidPayload
                    | ViolationCode::UnknownReference => StatusCode::UNPROCESSABLE_ENTITY,
                };
                (status, Code::Rule(v.code))
            }
            Error::Core(Core::UnknownCase(_)) => (StatusCode::NOT_FOUND, Code::NotFound),
            Error::Core(Core::MalformedBatch(_)) => (StatusCode::BAD_REQUEST, Code::MalformedBatch),
            Error::Core(Core::BatchVersion(_)) => {
                (StatusCode::BAD_REQUEST, Code::UnsupportedBatchVersion)
            }
            Error::Core(_) | Error::Io(_) | Error::Internal(_) | Error::Config(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, Code::Internal)
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let retry_after = self.retry_after();
        let body = if code == Code::Unavailable {
            tracing::warn!(error = %self, "the ledger's database is unavailable");
            ErrorBody {
                code: code.as_str().into(),
                message: Error::Unavailable.to_string(),
                request_id: None,
            }
        } else if status.is_server_error() && !matches!(self, Error::Timeout | Error::Busy { .. }) {
            let id = request_id().unwrap_or_else(|| "-".into());
            tracing::error!(request_id = %id, error = %self, "request failed");
            ErrorBody {
                code: code.as_str().into(),
                message: format!(
                    "the server could not complete the request; the operators can find it by request id {id}"
                ),
                request_id: Some(id),
            }
        } else {
            ErrorBody {
                code: code.as_str().into(),
                message: self.to_string(),
                request_id: None,
            }
        };
        let mut response = (status, Json(body)).into_response();
        if let Some((name, value)) = retry_after {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Json<T>` whose rejection is our JSON error, not axum's plain text.
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    axum::Json<T>:
        axum::extract::FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(Error::TooLarge("the request body is too large".into()))
            }
            Err(r) => Err(Error::BadRequest(json_rejection(&r))),
        }
    }
}

/// What a client needs to know of a JSON body that was refused: which field and why, in
/// serde's words for the field, but not axum's framing.
fn json_rejection(r: &axum::extract::rejection::JsonRejection) -> String {
    use axum::extract::rejection::JsonRejection as J;
    use std::error::Error as _;
    match r {
        J::MissingJsonContentType(_) => "send the body as application/json".into(),
        J::JsonSyntaxError(_) => "the body is not valid JSON".into(),
        J::JsonDataError(e) => match e.source() {
            Some(inner) => format!("the body does not fit: {inner}"),
            None => "the body does not fit".into(),
        },
        _ => "the body could not be read".into(),
    }
}

/// `Query<T>` whose rejection is our JSON error.
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|r| Error::BadRequest(r.body_text()))
    }
}

#[cfg(test)]
mod codes {
    use super::*;

    /// Every public code names one thing, and rule codes are the fold's own names.
    #[test]
    fn codes_are_distinct_and_stable() {
        let codes = [
            Code::Unauthorized,
            Code::Forbidden,
            Code::NotFound,
            Code::BadRequest,
            Code::TooLarge,
            Code::Conflict,
            Code::Timeout,
            Code::Busy,
            Code::TooManyRequests,
            Code::MalformedBatch,
            Code::UnsupportedBatchVersion,
            Code::Rule(ViolationCode::WrongStatus),
            Code::Internal,
        ];
        let mut names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), codes.len());
        assert_eq!(
            Code::Rule(ViolationCode::NotPermitted).as_str(),
            "not_permitted"
        );
        let (status, code) = Error::Internal("disk on fire".into()).status_and_code();
        assert_eq!((status.as_u16(), code), (500, Code::Internal));
    }
}
