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
    /// A sync stopped on the network (the link went, or stayed silent, after the retries).
    /// Everything it did before stays done; the message says what it saved and what remains
    /// (`last_sync_report` and `pending` say it as records); syncing again continues from
    /// there, resending nothing the server already holds.
    #[error("{message}")]
    SyncInterrupted {
        message: String,
        /// What failed, as the other variants name it: `unreachable` (no connection),
        /// `server` (the server failing or busy: 5xx, 408, 429) or `bad_answer` (an answer cut
        /// short or unreadable).
        cause: String,
    },
}

impl ClientError {
    /// A network failure: nothing is wrong with the request, and trying again later (when the
    /// link is back) may get through.
    pub fn is_network(&self) -> bool {
        match self {
            ClientError::Unreachable { .. }
            | ClientError::BadAnswer { .. }
            | ClientError::SyncInterrupted { .. } => true,
            ClientError::Server { status, .. } => *status >= 500 || matches!(status, 408 | 429),
            _ => false,
        }
    }

    /// A refusal: the rules (here or at the server) will not take it as it is; trying again
    /// unchanged gets the same answer.
    pub fn is_refusal(&self) -> bool {
        match self {
            ClientError::NotAllowed { .. } => true,
            ClientError::Server { status, .. } => {
                (400..500).contains(status) && !matches!(status, 401 | 408 | 429)
            }
            _ => false,
        }
    }
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
