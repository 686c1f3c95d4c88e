//! HTTP routes, one module per area.

pub mod addresses;
pub mod admin;
pub mod auth;
pub mod blobs;
pub mod callers;
pub mod cases;
pub mod export;
pub mod live;
pub mod open311;
pub mod ops;
pub mod stats;
pub mod sync;
