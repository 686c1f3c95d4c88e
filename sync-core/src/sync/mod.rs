//! Syncing many cases with one peer, sans-IO: the caller moves [`wire::SyncBatch`] bytes over
//! whatever transport it has; [`SyncSession`] runs automerge's sync protocol per case and keeps
//! the store durable and consistent.

mod refusal;
mod session;
pub mod wire;

pub use refusal::{Refusal, RefusalCode, NOTICE_CODES};
pub use session::{AcceptClean, Admission, CaseOutcome, Gate, Outcome, SyncSession};
pub use wire::{Notice, SyncBatch};
