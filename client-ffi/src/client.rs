//! The handheld client in plain Rust. The UniFFI layer in `lib.rs` only delegates here.
//!
//! [`Client`] is one type whose methods live by concern:
//!
//! - `client.rs` (this file): the local store (sync-core's `DocStore` on sled, plus the
//!   client's own trees), its layout version, and the settings (server, retries, clock offset);
//! - `client/identity.rs`: the installation, login, device registration, tokens and the cached
//!   organization;
//! - `client/http.rs`: the glue to the [`HttpTransport`]: retries with backoff, authenticated
//!   calls that renew the token once, and sync batches as HTTP bodies;
//! - `client/actions.rs`: offline actions through sync-core's commands;
//! - `client/queries.rs`: lists, case detail, conflicts, refusals and what waits for a sync;
//! - `client/photos.rs`: the content-addressed photo store, resumable upload and download;
//! - `client/callers.rs`: callers' personal data, kept apart from the case documents until it
//!   is uploaded to the server's caller register after its case has synced;
//! - `client/sync.rs`: the sync adapter, which runs sync-core's [`DeviceSync`] driver over
//!   HTTP, this device's own work first;
//! - `client/progress.rs`: what a sync tells as it goes (bytes done and to do, the rate), and
//!   the byte counts of its report.
//!
//! [`DeviceSync`]: gridcase_sync_core::sync::DeviceSync

mod actions;
mod callers;
mod http;
mod identity;
mod photos;
pub mod progress;
mod queries;
mod sync;

use crate::error::{ClientError, Result};
use crate::transport::{BuiltinTransport, HttpTransport};
use gridcase_sync_core::store::{Batch, DocStore, SledStore, Store};
use gridcase_sync_core::WorkCalendar;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Layout version of the local store. Version 0 (before it was recorded) is migrated on open.
pub const STORE_SCHEMA: u64 = 1;
/// Cases kept parsed in memory (about 50 KB each): the ones a worker is acting on and syncing,
/// so that each action or sync round does not parse them again from the store.
const CACHED_CASES: usize = 64;

/// The client's own trees beside `DocStore`'s.
mod trees {
    pub const META: &str = "client_meta";
    pub const REFUSED: &str = "client_refused";
    /// sha-256 → the case that named the photo (empty in stores from before it was kept).
    pub const UPLOADS: &str = "client_uploads";
    /// sha-256 → a [`super::photos::PhotoRefusal`]: photos the server will not take (too large).
    pub const REFUSED_PHOTOS: &str = "client_refused_photos";
    pub const DOWNLOADS: &str = "client_downloads";
    /// case id → the number the server gave it (`DC-20261130-0042`), learned after a sync.
    pub const NUMBERS: &str = "client_case_numbers";
    /// caller id → a caller taken down here and its case, until the server's register holds it:
    /// personal data, never in a case document.
    pub const PENDING_CALLERS: &str = "client_pending_callers";
    /// caller id → a [`super::callers::CallerRefusal`]: callers the server would not take
    /// (their personal data deleted).
    pub const REFUSED_CALLERS: &str = "client_refused_callers";
}

/// Retries of transport failures and 5xx answers.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first_delay: Duration,
    /// How long in all one sync or photo request may wait when the server asks for it (a 503
    /// with `Retry-After`: a server busy with thousands of reconnecting handhelds, or its
    /// database restarting). Those waits do not use up `attempts`: the server said when to
    /// come back. Other requests (a sign-in, an action) fail at once with the answer.
    pub busy_for: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 3,
            first_delay: Duration::from_millis(200),
            busy_for: Duration::from_secs(300),
        }
    }
}

/// One handheld: its local store, the server it talks to, and how.
pub struct Client {
    dir: PathBuf,
    store: Arc<dyn Store>,
    docs: DocStore,
    transport: Arc<dyn HttpTransport>,
    /// The built-in transport again when it is the one in use: downloads then go to their
    /// partial file as they arrive (an app's own transport hands over whole answers).
    streaming: Option<Arc<BuiltinTransport>>,
    server: String,
    calendar: WorkCalendar,
    clock_offset_ms: i64,
    retry: Retry,
    sync_lock: Mutex<()>,
    /// The report of the last sync or photo download, also of one the network stopped.
    last_report: Mutex<Option<crate::views::SyncReport>>,
}

fn storage(e: impl std::fmt::Display) -> ClientError {
    ClientError::Storage {
        message: e.to_string(),
    }
}

fn invalid(message: impl Into<String>) -> ClientError {
    ClientError::Invalid {
        message: message.into(),
    }
}

impl Client {
    /// Opens (or creates) the local store in `dir`, for the server at `server`.
    pub fn open(
        dir: impl AsRef<Path>,
        server: &str,
        transport: Arc<dyn HttpTransport>,
    ) -> Result<Client> {
        Client::open_with(dir.as_ref(), server, transport, None)
    }

    /// Opens the local store with the built-in HTTP stack, which streams downloads to their
    /// partial files.
    pub fn open_builtin(
        dir: impl AsRef<Path>,
        server: &str,
        transport: BuiltinTransport,
    ) -> Result<Client> {
        let transport = Arc::new(transport);
        Client::open_with(dir.as_ref(), server, transport.clone(), Some(transport))
    }

    fn open_with(
        dir: &Path,
        server: &str,
        transport: Arc<dyn HttpTransport>,
        streaming: Option<Arc<BuiltinTransport>>,
    ) -> Result<Client> {
        let dir = dir.to_path_buf();
        std::fs::create_dir_all(dir.join("blobs"))?;
        let store: Arc<dyn Store> =
            Arc::new(SledStore::open_for_device(dir.join("store")).map_err(storage)?);
        let client = Client {
            docs: DocStore::new(store.clone()).with_cache(CACHED_CASES),
            store,
            dir,
            transport,
            streaming,
            server: server.trim_end_matches('/').to_owned(),
            calendar: WorkCalendar::beijing(),
            clock_offset_ms: 0,
            retry: Retry::default(),
            sync_lock: Mutex::new(()),
            last_report: Mutex::new(None),
        };
        client.check_schema()?;
        client.install()?;
        Ok(client)
    }

    /// Shifts this device's clock (tests of a handheld whose clock is off).
    pub fn with_clock_offset(mut self, ms: i64) -> Client {
        self.clock_offset_ms = ms;
        self
    }

    pub fn with_retry(mut self, retry: Retry) -> Client {
        self.retry = retry;
        self
    }

    fn now(&self) -> i64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        real + self.clock_offset_ms
    }

    fn meta<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self
            .store
            .get(trees::META, key.as_bytes())
            .map_err(storage)?
        {
            Some(b) => Ok(Some(serde_json::from_slice(&b).map_err(storage)?)),
            None => Ok(None),
        }
    }

    fn put_meta<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let mut b = Batch::new();
        b.put(
            trees::META,
            key.as_bytes().to_vec(),
            serde_json::to_vec(value).map_err(storage)?,
        );
        self.store.commit(b).map_err(storage)
    }

    /// Refuses a store from a newer release; brings one from an older release up to date.
    fn check_schema(&self) -> Result<()> {
        match self.meta::<u64>("schema")? {
            Some(v) if v == STORE_SCHEMA => Ok(()),
            Some(v) if v > STORE_SCHEMA => Err(ClientError::Storage {
                message: format!(
                    "the local store was written by a newer release (layout {v}, this one reads {STORE_SCHEMA}); update the app"
                ),
            }),
            // Layout 0 kept the same trees without recording its version.
            _ => self.put_meta("schema", &STORE_SCHEMA),
        }
    }

    /// The keys of one of the client's trees, as text (photo hashes, case ids).
    fn keys(&self, tree: &'static str) -> Result<Vec<String>> {
        self.store
            .range(tree, &[], None)
            .map(|e| {
                e.map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
                    .map_err(storage)
            })
            .collect()
    }
}
