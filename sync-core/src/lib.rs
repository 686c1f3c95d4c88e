//! gridcase's core: the domain model of a city service case, the seven-step lifecycle and its
//! rules, the case document on automerge, the durable store and the sans-IO sync engine.
//!
//! Both the server and the handheld run this crate, so a rule is written once, here. It knows
//! nothing about HTTP, async runtimes or FFI.

pub mod calendar;
pub mod caller;
pub mod category;
pub mod commands;
pub mod document;
pub mod event;
pub mod fold;
pub mod ids;
pub mod inspect;
pub mod limits;
pub mod org;
pub mod outline;
pub mod phone;
pub mod references;
pub mod role;
pub mod rules;
#[cfg(feature = "schema")]
pub mod schema;
pub mod store;
pub mod sync;
pub mod tiers;
mod zstd_contexts;

pub use automerge::{ActorId, AutoCommit, ChangeHash};
pub use calendar::{Millis, WorkCalendar};
pub use category::{Catalog, CategoryCode, Level};
pub use document::{Attachment, CaseDoc, Header};
pub use event::{Action, ActionKind, Event, UnknownAction};
pub use fold::{fold, CaseState};
pub use ids::*;
pub use outline::CaseOutline;
pub use role::{Actor, Role, Scope};
pub use rules::{Status, Violation};

/// Everything that can go wrong in sync-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the document has no case header")]
    MissingHeader,
    #[error("the document lacks the field {0:?}")]
    MissingField(&'static str),
    #[error("the field {0:?} has the wrong type")]
    MalformedField(&'static str),
    #[error("malformed: {0}")]
    Malformed(&'static str),
    #[error("the case is written in document schema {found}; this release reads schema {known} and earlier", known = document::SCHEMA)]
    NewerSchema { found: u64 },
    #[error("event {event} is invalid: {reason}")]
    InvalidEvent { event: EventId, reason: String },
    #[error("refused: {0}")]
    Rule(Violation),
    #[error("case {0} is not in the store")]
    UnknownCase(CaseId),
    #[error("store: {0}")]
    Store(String),
    /// The store cannot be reached for now (a database restarting or failing over): the
    /// request may succeed if tried again, and nothing of it was written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("sync batch version {0} is not supported (this build speaks version {v})", v = sync::wire::VERSION)]
    BatchVersion(u8),
    #[error("malformed sync batch: {0}")]
    MalformedBatch(&'static str),
    /// A sync body that is not the zstd it says it is (`sync::encoding`).
    #[error("{0}")]
    BatchEncoding(String),
    /// A sync body that decompresses to more than the receiver takes.
    #[error("the sync batch is larger than {0} bytes uncompressed")]
    BatchTooLarge(usize),
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::Store(e.to_string())
    }
}
