//! The client's one error type, as the foreign languages see it.

/// What went wrong, with a message for people. Local data is never lost on any of these.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ClientError {
    /// Log in first (once, online); after that the device works offline.
    #[error("not logged in: {message}")]
    NotLoggedIn { message: String },
    /// The action breaks a rule of the case's lifecycle or the user's scope.
    #[error("not allowed ({code}): {message}")]
    NotAllowed { code: String, message: String },
    #[error("not found: {message}")]
    NotFound { message: String },
    #[error("invalid input: {message}")]
    Invalid { message: String },
    /// No connection to the server (after retries).
    #[error("server unreachable: {message}")]
    Unreachable { message: String },
    /// The server answered with an error status.
    #[error("server error {status}: {message}")]
    Server { status: u16, message: String },
    /// Wrong password, or the session cannot be renewed (log in again).
    #[error("unauthorized: {message}")]
    Unauthorized { message: String },
    /// The answer was cut short or unreadable.
    #[error("bad answer from the server: {message}")]
    BadAnswer { message: String },
    /// The local store or blob files could not be read or written.
    #[error("local storage: {message}")]
    Storage { message: String },
}

impl From<gridcase_sync_core::Error> for ClientError {
    fn from(e: gridcase_sync_core::Error) -> Self {
        match e {
            gridcase_sync_core::Error::Rule(v) => ClientError::NotAllowed {
                code: v.code.as_str().into(),
                message: v.message,
            },
            gridcase_sync_core::Error::UnknownCase(c) => ClientError::NotFound {
                message: format!("no case {c} on this device"),
            },
            other => ClientError::Storage {
                message: other.to_string(),
            },
        }
    }
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Storage {
            message: e.to_string(),
        }
    }
}

impl From<serde_json::Error> for ClientError {
    fn from(e: serde_json::Error) -> Self {
        ClientError::BadAnswer {
            message: e.to_string(),
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
