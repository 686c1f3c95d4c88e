//! The handheld library (UniFFI), filled in by the client issue. It will stay a thin layer of
//! one-line delegations: every domain rule it applies comes from `gridcase-sync-core`.

pub use gridcase_sync_core as core;
