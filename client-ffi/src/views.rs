//! What the client hands to the app: plain records, the same in Kotlin, Swift and Python.
//! Enumerations travel as their stable snake_case names (status "in_progress", kind "verify").

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record, serde::Serialize)]
pub struct UserInfo {
    pub user: String,
    pub name: String,
    pub role: String,
    /// The scope as JSON, e.g. {"level":"grids","id":["g1"]}.
    pub scope: String,
    pub device_id: String,
    pub server: String,
}

/// A new report (采集).
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct NewReport {
    /// patrol | hotline | walk_in | web
    pub channel: String,
    pub description: String,
    /// The grid; defaults to the user's only grid.
    pub grid: Option<String>,
    pub address: Option<String>,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    /// A category code such as E0102.
    pub category: Option<String>,
    /// Paths of photo files to attach.
    pub photos: Vec<String>,
    /// What the caller wants (诉求类型): consultation | request_for_help | complaint | report |
    /// suggestion | praise.
    #[uniffi(default)]
    pub business_type: Option<String>,
    /// Who reported it in person (a walk-in resident at a community workstation). Kept on this
    /// device, never in the case document, until it is uploaded after the case has synced.
    #[uniffi(default)]
    pub caller: Option<NewCaller>,
}

/// A caller's personal data as taken down. It never enters the replicated case document
/// (every device in scope would hold it, and nothing written there can be taken back): the
/// device keeps it apart and uploads it to the server's caller register once the case has
/// reached the server, then deletes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct NewCaller {
    #[uniffi(default)]
    pub name: String,
    /// As typed: a mobile number or a landline with its area code, checked and written one way
    /// before it is kept.
    #[uniffi(default)]
    pub phone: Option<String>,
    /// Another way to reach the caller, such as an e-mail address.
    #[uniffi(default)]
    pub contact: Option<String>,
    /// Where the caller lives or can be found (not where the problem is).
    #[uniffi(default)]
    pub address: Option<String>,
    /// The caller wants to be called back: needs a phone number.
    #[uniffi(default)]
    pub callback: bool,
    /// The caller gives no name: then nothing personal may be taken down.
    #[uniffi(default)]
    pub anonymous: bool,
}

#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CaseFilter {
    pub status: Option<String>,
    /// Text in the description or the case number.
    pub text: Option<String>,
    pub only_pending_sync: bool,
    pub only_conflicts: bool,
    pub only_overdue: bool,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct CaseItem {
    pub id: String,
    pub status: String,
    pub step: u8,
    pub grid: Option<String>,
    pub description: String,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub created_at: i64,
    pub deadline: Option<i64>,
    pub overdue: bool,
    pub events: u32,
    pub open_conflicts: u32,
    /// Changed here and not yet acknowledged by the server.
    pub pending_sync: bool,
    /// The server refused this case's last changes (see `refusals`).
    pub refused: Option<String>,
    /// The number the server gave the case when it first received it (`DC-20261130-0042`), to
    /// read over the phone; `None` until this device has synced and learned it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// What the caller wanted (诉求类型), when the intake classified it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct TimelineItem {
    pub event: String,
    /// The event kind; `unknown` for one written by a later release, which this release keeps
    /// and shows but does not apply ("an action this version does not know").
    pub kind: String,
    /// For an `unknown` event, the kind it was stored under.
    pub stored_kind: Option<String>,
    pub author: String,
    pub device: String,
    /// Device time (ms since the epoch).
    pub at: i64,
    /// applied | concurred | superseded
    pub disposition: String,
    pub status_after: String,
    /// The event's payload as JSON (for an `unknown` event, exactly as stored; for a known
    /// kind, as this release reads it, without fields only a later release knows).
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct ConflictItem {
    pub case_id: String,
    /// The superseded event that names the conflict.
    pub event: String,
    pub against: Vec<String>,
    pub reason: String,
    pub message: String,
    pub resolved: bool,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct AttachmentItem {
    pub sha256: String,
    pub mime: String,
    pub size: u64,
    pub name: Option<String>,
    pub event: String,
    /// The local file, when the bytes are on this device.
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record, serde::Serialize)]
pub struct CaseDetail {
    pub case: CaseItem,
    pub timeline: Vec<TimelineItem>,
    pub conflicts: Vec<ConflictItem>,
    pub attachments: Vec<AttachmentItem>,
    /// The caller this device took down for the case and has not uploaded yet, masked; `None`
    /// when there is none or it has been uploaded (the server never sends callers back).
    pub caller: Option<PendingCaller>,
}

/// A caller waiting on this device for upload, shown only as much as lets the user recognise
/// the record: the first character of the name, the first three and last four digits of a
/// mobile number.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record, serde::Serialize)]
pub struct PendingCaller {
    /// The caller record's id (minted on the device, kept by the server's register).
    pub id: String,
    /// `张*`; empty for an anonymous caller.
    pub name: String,
    /// `138****5678`, `010-****5678`.
    pub phone: Option<String>,
    pub contact: Option<String>,
    pub has_address: bool,
    pub callback: bool,
    pub anonymous: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record, serde::Serialize)]
pub struct RefusalItem {
    pub case_id: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record, serde::Serialize)]
pub struct Pending {
    pub cases: Vec<String>,
    pub uploads: Vec<String>,
    pub downloads: Vec<String>,
    pub refused: Vec<RefusalItem>,
    /// Cases whose caller waits on this device to be uploaded.
    pub callers: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record, serde::Serialize)]
pub struct SyncReport {
    pub rounds: u32,
    /// Cases this device sent changes for and the server stored.
    pub cases_sent: u32,
    /// Cases that came in with new events.
    pub cases_received: u32,
    /// Bytes this sync moved over the link, case data and photos together (request and answer
    /// bodies; `case_bytes_*` plus `photo_bytes_*`).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The sync batches' bodies, as sent (compressed).
    pub case_bytes_sent: u64,
    pub case_bytes_received: u64,
    /// Photo bytes the server received from this device in this sync (a cut chunk counts the
    /// bytes the server kept of it), and photo bytes that reached this device's files.
    pub photo_bytes_sent: u64,
    pub photo_bytes_received: u64,
    /// Everything this device had to send (its cases, callers and photos) is on the server,
    /// apart from what the server refused.
    pub own_work_on_server: bool,
    /// When that was known, in milliseconds from the start of the sync: before anything of
    /// others' photos was fetched.
    pub own_work_saved_ms: Option<u64>,
    /// Photos of received cases not on this device yet (left for later, or cut): fetched by
    /// the next sync that downloads photos, or by `download_photos`.
    pub photos_to_download: u32,
    pub duration_ms: u64,
    /// Open conflicts in the cases received.
    pub conflicts: u32,
    pub refusals: Vec<RefusalItem>,
    pub blobs_uploaded: u32,
    pub blobs_downloaded: u32,
    /// Callers uploaded to the server's register (and deleted from this device).
    pub callers_uploaded: u32,
}

/// Where a sync stands, for a progress bar. Stages come in this order: `own_cases` (this
/// device's cases go up and are acknowledged; the first answer may already carry some of
/// others' cases), `own_photos` (this device's callers and photos go up), `saved` (once:
/// everything this device had to send is on the server), `others_cases` (the rest of what the
/// server has for this device), `others_photos` (their photos, when the sync downloads them),
/// and `done`.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record, serde::Serialize)]
pub struct SyncProgress {
    pub stage: String,
    /// The stage's bytes done and to do: for photos, the bytes of the photos the stage moves
    /// (what an earlier, cut sync already moved counts as done); for cases, what went both ways
    /// so far, `bytes_total` 0 while it is not known (the server pages its answers) and equal
    /// to `bytes_done` when the stage ends.
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Photos done and to do in a photo stage; rounds so far in a case stage (total 0).
    pub items_done: u32,
    pub items_total: u32,
    /// The stage's rate so far, in bytes a second over the link.
    pub bytes_per_second: u64,
    /// This sync's bytes over the link so far, cases and photos, each way.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub own_work_on_server: bool,
}

/// How a sync goes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncOptions {
    /// Fetch the photos of received cases in this sync (a workstation that wants them all).
    /// Off, they wait in `Pending.downloads` for `download_photos` (in the background) or
    /// `download_photo` (one, on demand), and this device's own work still goes up first.
    #[uniffi(default = true)]
    pub download_photos: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            download_photos: true,
        }
    }
}
