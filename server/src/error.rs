//! The server's one error type, and how it reaches a client: JSON with a stable `code` and a
//! human `message`.

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
    #[error("ledger: {0}")]
    Core(#[from] gridcase_sync_core::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Internal(String),
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable.
    pub code: String,
    /// For people.
    pub message: String,
}

impl Error {
    pub fn internal(e: impl std::fmt::Display) -> Error {
        Error::Internal(e.to_string())
    }

    /// The status and stable code of this error.
    pub fn status_and_code(&self) -> (StatusCode, String) {
        use gridcase_sync_core::Error as Core;
        match self {
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized".into()),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden".into()),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found".into()),
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request".into()),
            Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large".into()),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict".into()),
            Error::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout".into()),
            Error::Json(_) => (StatusCode::BAD_REQUEST, "bad_json".into()),
            Error::Core(Core::Rule(v)) => {
                let status = match v.code {
                    ViolationCode::NotPermitted
                    | ViolationCode::OutOfScope
                    | ViolationCode::NotAssigned
                    | ViolationCode::InvalidScope => StatusCode::FORBIDDEN,
                    ViolationCode::WrongStatus | ViolationCode::CaseExists => StatusCode::CONFLICT,
                    ViolationCode::NoCase | ViolationCode::InvalidPayload => {
                        StatusCode::UNPROCESSABLE_ENTITY
                    }
                };
                (status, v.code.as_str().into())
            }
            Error::Core(Core::UnknownCase(_)) => (StatusCode::NOT_FOUND, "not_found".into()),
            Error::Core(Core::MalformedBatch(_)) => {
                (StatusCode::BAD_REQUEST, "malformed_batch".into())
            }
            Error::Core(Core::BatchVersion(_)) => {
                (StatusCode::BAD_REQUEST, "unsupported_batch_version".into())
            }
            Error::Core(_) | Error::Io(_) | Error::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal".into())
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody {
            code,
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
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
            Err(r) => Err(Error::BadRequest(r.body_text())),
        }
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
