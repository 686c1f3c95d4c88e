//! Syncing many cases with one peer, sans-IO: the caller moves [`wire::SyncBatch`] bytes over
//! whatever transport it has; [`SyncSession`] runs automerge's sync protocol per case and keeps
//! the store durable and consistent; [`DeviceSync`] runs a device's side of a whole
//! conversation over it (which cases to send, what each answer means, when it is over).

mod driver;
pub mod encoding;
mod info;
mod refusal;
mod session;
pub mod wire;

pub use driver::{
    Answered, DeviceSync, Finished, Next, Opening, Phase, Refused, DEFAULT_ROUND_LIMIT,
};
pub use info::InfoCode;
pub use refusal::{Refusal, RefusalCode, NOTICE_CODES};
pub use session::{AcceptClean, Admission, CaseOutcome, Gate, Outcome, SyncSession};
pub use wire::{Notice, SyncBatch};
