//! The handheld library, exported with UniFFI to Kotlin, Swift and Python. Every method is a
//! one-line delegation to [`client::Client`]; the domain rules come from `gridcase-sync-core`.

pub mod client;
pub mod error;
pub mod transport;
pub mod views;

use crate::client::Client;
use crate::error::ClientError;
use crate::transport::{BuiltinTransport, HttpTransport};
use crate::views::*;
use std::sync::Arc;

uniffi::setup_scaffolding!();

/// Told how a sync is getting on: phase is "cases", "upload" or "download" (the older
/// listener; `SyncProgressListener` tells bytes and rates).
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn progress(&self, phase: String, done: u64, total: u64);
}

/// Told how a sync is getting on, for a progress bar: the stage, its bytes done and to do,
/// the rate, and when this device's own work is on the server (stage "saved").
#[uniffi::export(with_foreign)]
pub trait SyncProgressListener: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

/// One handheld's view of gridcase: its local store, its user, and the server it syncs with.
#[derive(uniffi::Object)]
pub struct FieldClient {
    inner: Client,
}

type R<T> = Result<T, ClientError>;

#[uniffi::export]
impl FieldClient {
    /// Opens the local store in `data_dir`, talking to `server_url` with the built-in HTTP stack.
    #[uniffi::constructor]
    pub fn open(data_dir: String, server_url: String) -> R<Arc<Self>> {
        Ok(Arc::new(FieldClient {
            inner: Client::open_builtin(data_dir, &server_url, BuiltinTransport::new())?,
        }))
    }

    /// Like `open`, with the app's own HTTP stack (OkHttp, URLSession).
    #[uniffi::constructor]
    pub fn open_with_transport(
        data_dir: String,
        server_url: String,
        transport: Arc<dyn HttpTransport>,
    ) -> R<Arc<Self>> {
        Ok(Arc::new(FieldClient {
            inner: Client::open(data_dir, &server_url, transport)?,
        }))
    }

    pub fn login(&self, username: String, password: String) -> R<UserInfo> {
        self.inner.login(&username, &password)
    }

    pub fn logout(&self) -> R<()> {
        self.inner.logout()
    }

    pub fn whoami(&self) -> R<Option<UserInfo>> {
        self.inner.whoami()
    }

    /// A new case, offline; its caller (if any) stays on this device, out of the case, until
    /// it is uploaded after the case has synced.
    pub fn report(&self, report: NewReport) -> R<String> {
        self.inner.report(report)
    }

    pub fn file_case(
        &self,
        case_id: String,
        category: String,
        level: String,
        units: Vec<String>,
        suggestion: String,
        callback: bool,
    ) -> R<String> {
        self.inner
            .file_case(&case_id, &category, &level, units, suggestion, callback)
    }

    pub fn decline(&self, case_id: String, reason: String, note: String) -> R<String> {
        self.inner.decline(&case_id, &reason, note)
    }

    pub fn dispatch(
        &self,
        case_id: String,
        unit: String,
        responsible: Option<String>,
        deadline: Option<i64>,
    ) -> R<String> {
        self.inner.dispatch(&case_id, &unit, responsible, deadline)
    }

    pub fn handle(&self, case_id: String, note: String, photos: Vec<String>) -> R<String> {
        self.inner.handle(&case_id, note, photos)
    }

    pub fn feedback(
        &self,
        case_id: String,
        resolved: bool,
        note: String,
        photos: Vec<String>,
    ) -> R<String> {
        self.inner.feedback(&case_id, resolved, note, photos)
    }

    pub fn verify(
        &self,
        case_id: String,
        resolved: bool,
        note: String,
        photos: Vec<String>,
    ) -> R<String> {
        self.inner.verify(&case_id, resolved, note, photos)
    }

    pub fn close(&self, case_id: String, note: String) -> R<String> {
        self.inner.close(&case_id, note)
    }

    pub fn self_handle(&self, case_id: String, note: String, photos: Vec<String>) -> R<String> {
        self.inner.self_handle(&case_id, note, photos)
    }

    /// The unit dispatched to acknowledges receipt (签收).
    pub fn acknowledge(&self, case_id: String, note: Option<String>) -> R<String> {
        self.inner.acknowledge(&case_id, note)
    }

    /// The unit dispatched to asks for more time (延期申请), for the dispatcher to answer.
    pub fn request_extension(&self, case_id: String, hours: u32, reason: String) -> R<String> {
        self.inner.request_extension(&case_id, hours, reason)
    }

    pub fn confirm(&self, case_id: String, exists: bool, note: String) -> R<String> {
        self.inner.confirm(&case_id, exists, note)
    }

    pub fn evaluate(
        &self,
        case_id: String,
        satisfaction: Option<String>,
        solved: Option<bool>,
        note: String,
    ) -> R<String> {
        self.inner.evaluate(&case_id, satisfaction, solved, note)
    }

    pub fn comment(&self, case_id: String, text: String) -> R<String> {
        self.inner.comment(&case_id, text)
    }

    pub fn attach(&self, case_id: String, photos: Vec<String>) -> R<String> {
        self.inner.attach(&case_id, photos)
    }

    /// Any other action as JSON: {"kind": "extend", "payload": {"hours": 8, "reason": "…"}}.
    pub fn act_json(&self, case_id: String, action_json: String) -> R<String> {
        self.inner.act_json(&case_id, &action_json)
    }

    pub fn cases(&self, filter: CaseFilter) -> R<Vec<CaseItem>> {
        self.inner.cases(&filter)
    }

    pub fn case_detail(&self, case_id: String) -> R<CaseDetail> {
        self.inner.case(&case_id)
    }

    pub fn conflicts(&self) -> R<Vec<ConflictItem>> {
        self.inner.conflicts()
    }

    pub fn refusals(&self) -> R<Vec<RefusalItem>> {
        self.inner.refusals()
    }

    pub fn pending(&self) -> R<Pending> {
        self.inner.pending()
    }

    pub fn sync(&self) -> R<SyncReport> {
        self.inner.sync(&|_, _, _| {})
    }

    pub fn sync_with_listener(&self, listener: Arc<dyn SyncListener>) -> R<SyncReport> {
        self.inner
            .sync(&|phase, done, total| listener.progress(phase.into(), done, total))
    }

    /// This device's work up first (stage "saved" as soon as it is on the server), then what
    /// others did; their photos too when `options.download_photos`. A network failure is
    /// `ClientError::SyncInterrupted`, with what was saved and what remains.
    pub fn sync_with_progress(
        &self,
        options: SyncOptions,
        listener: Arc<dyn SyncProgressListener>,
    ) -> R<SyncReport> {
        self.inner
            .sync_with(&options, &|p| listener.on_progress(p.clone()))
    }

    /// Downloads the photos a sync left for later (in the background), resuming cut ones.
    pub fn download_photos(&self, listener: Arc<dyn SyncProgressListener>) -> R<SyncReport> {
        self.inner
            .download_photos(&|p| listener.on_progress(p.clone()))
    }

    /// What the last sync (or photo download) did, also when it stopped on the network
    /// (`ClientError::SyncInterrupted`): what it saved. `pending()` says what remains.
    pub fn last_sync_report(&self) -> Option<SyncReport> {
        self.inner.last_sync_report()
    }

    /// One photo now (the one the user opened): its local path, or none while the server
    /// cannot serve it.
    pub fn download_photo(&self, sha256: String) -> R<Option<String>> {
        self.inner.download_photo(&sha256, &|_| {})
    }
}
