//! The handheld client in plain Rust: the local store, the logged-in identity, offline actions
//! through sync-core's commands, queries, the sync loop and photo transfer. The UniFFI layer in
//! `lib.rs` only delegates here.

use crate::error::{ClientError, Result};
use crate::transport::{HttpHeader, HttpRequest, HttpResponse, HttpTransport, TransportError};
use crate::views::*;
use gridcase_sync_core::commands::{act_with_org, open_case_with_org, Blob};
use gridcase_sync_core::event::{Channel, DeclineReason, Filing, Intake, Satisfaction};
use gridcase_sync_core::fold::{self, fold, CaseState};
use gridcase_sync_core::org::Org;
use gridcase_sync_core::store::{Batch, DocStore, SledStore, Store};
use gridcase_sync_core::sync::{AcceptClean, Outcome, RefusalCode, SyncBatch, SyncSession};
use gridcase_sync_core::{
    Action, Actor, ActorId, CaseDoc, CaseId, CategoryCode, Level, Role, Scope, UnitId, WorkCalendar,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Layout version of the local store. Version 0 (before it was recorded) is migrated on open.
pub const STORE_SCHEMA: u64 = 1;
/// The peer name the server's sync states and cursor are kept under.
const SERVER: &str = "server";
/// Cases kept parsed in memory (about 50 KB each): the ones a worker is acting on and syncing,
/// so that each action or sync round does not parse them again from the store.
const CACHED_CASES: usize = 64;
/// The meta key of the fingerprint of the stored organization.
const ORG_TAG: &[u8] = b"org_tag";
const CHUNK: usize = 1024 * 1024;

mod trees {
    pub const META: &str = "client_meta";
    pub const REFUSED: &str = "client_refused";
    /// sha-256 → the case that named the photo (empty in stores from before it was kept).
    pub const UPLOADS: &str = "client_uploads";
    /// sha-256 → a [`super::PhotoRefusal`]: photos the server will not take (too large).
    pub const REFUSED_PHOTOS: &str = "client_refused_photos";
    pub const DOWNLOADS: &str = "client_downloads";
}

/// This installation: its device id and automerge actor, made once.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Install {
    device_id: String,
    actor: String,
}

/// Who is logged in, kept so that the device works offline after one login.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Identity {
    user: String,
    name: String,
    role: Role,
    scope: Scope,
    access_token: String,
    refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Refusal {
    code: String,
    message: String,
    /// The case's heads when refused: changed heads mean new work, worth one more try.
    heads: Vec<String>,
}

/// A photo the server refused for good; it stays on the device and is not offered again.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PhotoRefusal {
    case: String,
    code: String,
    message: String,
}

/// Retries of transport failures and 5xx answers.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 3,
            first_delay: Duration::from_millis(200),
        }
    }
}

pub struct Client {
    dir: PathBuf,
    store: Arc<dyn Store>,
    docs: DocStore,
    transport: Arc<dyn HttpTransport>,
    server: String,
    calendar: WorkCalendar,
    clock_offset_ms: i64,
    retry: Retry,
    sync_lock: Mutex<()>,
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
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(dir.join("blobs"))?;
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.join("store")).map_err(storage)?);
        let client = Client {
            docs: DocStore::new(store.clone()).with_cache(CACHED_CASES),
            store,
            dir,
            transport,
            server: server.trim_end_matches('/').to_owned(),
            calendar: WorkCalendar::beijing(),
            clock_offset_ms: 0,
            retry: Retry::default(),
            sync_lock: Mutex::new(()),
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

    fn install(&self) -> Result<Install> {
        if let Some(i) = self.meta::<Install>("install")? {
            return Ok(i);
        }
        let install = Install {
            device_id: format!("dev-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            actor: hex::encode(uuid::Uuid::new_v4().as_bytes()),
        };
        self.put_meta("install", &install)?;
        Ok(install)
    }

    fn writer(&self) -> Result<ActorId> {
        let bytes = hex::decode(self.install()?.actor).map_err(storage)?;
        Ok(ActorId::from(bytes.as_slice()))
    }

    fn identity(&self) -> Result<Identity> {
        self.meta::<Identity>("identity")?
            .ok_or_else(|| ClientError::NotLoggedIn {
                message: "log in once while online".into(),
            })
    }

    fn actor(&self) -> Result<Actor> {
        let id = self.identity()?;
        Ok(Actor {
            user: id.user.as_str().into(),
            device: self.install()?.device_id.as_str().into(),
            role: id.role,
            scope: id.scope,
        })
    }

    pub fn whoami(&self) -> Result<Option<UserInfo>> {
        let Some(id) = self.meta::<Identity>("identity")? else {
            return Ok(None);
        };
        Ok(Some(UserInfo {
            user: id.user,
            name: id.name,
            role: id.role.as_str().into(),
            scope: serde_json::to_string(&id.scope).map_err(storage)?,
            device_id: self.install()?.device_id,
            server: self.server.clone(),
        }))
    }

    // ---- HTTP ----

    fn send(
        &self,
        method: &str,
        path: &str,
        headers: Vec<HttpHeader>,
        body: Vec<u8>,
        token: Option<&str>,
    ) -> Result<HttpResponse> {
        let mut headers = headers;
        if let Some(t) = token {
            headers.push(HttpHeader {
                name: "authorization".into(),
                value: format!("Bearer {t}"),
            });
        }
        let request = HttpRequest {
            method: method.into(),
            url: format!("{}{path}", self.server),
            headers,
            body,
        };
        let mut delay = self.retry.first_delay;
        let mut attempt = 1;
        loop {
            let outcome = self.transport.send(request.clone());
            let retryable = match &outcome {
                Err(_) => true,
                Ok(r) => r.status >= 500,
            };
            if !retryable || attempt >= self.retry.attempts.max(1) {
                return match outcome {
                    Ok(r) if r.status >= 500 => Err(ClientError::Server {
                        status: r.status,
                        message: String::from_utf8_lossy(&r.body).chars().take(500).collect(),
                    }),
                    Ok(r) => Ok(r),
                    Err(TransportError::Unreachable { message }) => {
                        Err(ClientError::Unreachable { message })
                    }
                    Err(TransportError::Interrupted { message }) => {
                        Err(ClientError::BadAnswer { message })
                    }
                };
            }
            tracing::debug!(attempt, ?delay, path, "retrying");
            std::thread::sleep(delay);
            delay *= 4;
            attempt += 1;
        }
    }

    fn json_body(value: &serde_json::Value) -> (Vec<HttpHeader>, Vec<u8>) {
        (
            vec![HttpHeader {
                name: "content-type".into(),
                value: "application/json".into(),
            }],
            value.to_string().into_bytes(),
        )
    }

    /// An authenticated call; renews the access token once when it has expired.
    fn authed(
        &self,
        method: &str,
        path: &str,
        headers: Vec<HttpHeader>,
        body: Vec<u8>,
    ) -> Result<HttpResponse> {
        let id = self.identity()?;
        let r = self.send(
            method,
            path,
            headers.clone(),
            body.clone(),
            Some(&id.access_token),
        )?;
        if r.status != 401 {
            return Ok(r);
        }
        let (h, b) = Self::json_body(&serde_json::json!({"refresh_token": id.refresh_token}));
        let renewed = self.send("POST", "/v1/auth/refresh", h, b, None)?;
        if renewed.status != 200 {
            return Err(ClientError::Unauthorized {
                message: "the session has ended; log in again".into(),
            });
        }
        let tokens: serde_json::Value = serde_json::from_slice(&renewed.body)?;
        let mut id = id;
        id.access_token = tokens["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        id.refresh_token = tokens["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.put_meta("identity", &id)?;
        self.send(method, path, headers, body, Some(&id.access_token))
    }

    fn expect_json(r: HttpResponse, what: &str) -> Result<serde_json::Value> {
        match r.status {
            200..=299 => Ok(serde_json::from_slice(&r.body)?),
            401 => Err(ClientError::Unauthorized {
                message: String::from_utf8_lossy(&r.body).into(),
            }),
            s => Err(ClientError::Server {
                status: s,
                message: format!("{what}: {}", String::from_utf8_lossy(&r.body)),
            }),
        }
    }

    /// Logs in, registers this handheld with its automerge actor, and keeps the identity and
    /// the directory locally so that everything but sync works offline from then on.
    pub fn login(&self, username: &str, password: &str) -> Result<UserInfo> {
        let (h, b) =
            Self::json_body(&serde_json::json!({"username": username, "password": password}));
        let r = self.send("POST", "/v1/auth/login", h, b, None)?;
        if r.status == 401 {
            return Err(ClientError::Unauthorized {
                message: "wrong username or password".into(),
            });
        }
        let tokens = Self::expect_json(r, "login")?;
        let access = tokens["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let install = self.install()?;
        let (h, b) = Self::json_body(&serde_json::json!({
            "device_id": install.device_id, "name": "gridcase handheld", "actors": [install.actor]
        }));
        let registered = Self::expect_json(
            self.send("POST", "/v1/devices", h, b, Some(&access))?,
            "device registration",
        )?;
        let access = registered["tokens"]["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let refresh = registered["tokens"]["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let me = Self::expect_json(
            self.send("GET", "/v1/me", vec![], vec![], Some(&access))?,
            "who am I",
        )?;
        let role =
            me["role"]
                .as_str()
                .and_then(Role::parse)
                .ok_or_else(|| ClientError::BadAnswer {
                    message: "no role".into(),
                })?;
        let scope: Scope = serde_json::from_value(me["scope"].clone())?;
        let identity = Identity {
            user: username.into(),
            name: me["name"].as_str().unwrap_or(username).to_owned(),
            role,
            scope,
            access_token: access,
            refresh_token: refresh,
        };
        self.put_meta("identity", &identity)?;
        self.refresh_org()?;
        self.whoami()?.ok_or_else(|| storage("identity not saved"))
    }

    pub fn logout(&self) -> Result<()> {
        if let Ok(id) = self.identity() {
            let (h, b) = Self::json_body(&serde_json::json!({"refresh_token": id.refresh_token}));
            let _ = self.send("POST", "/v1/auth/logout", h, b, None);
        }
        let mut b = Batch::new();
        b.delete(trees::META, b"identity".to_vec());
        self.store.commit(b).map_err(storage)
    }

    fn refresh_org(&self) -> Result<()> {
        let r = self.authed("GET", "/v1/org", vec![], vec![])?;
        let tag = r.header("etag").map(|t| t.trim_matches('"').to_owned());
        let org: Org = serde_json::from_value(Self::expect_json(r, "directory")?)?;
        let mut b = Batch::new();
        b.put(
            trees::META,
            b"org".to_vec(),
            serde_json::to_vec(&org).map_err(storage)?,
        );
        if let Some(tag) = tag {
            b.put(trees::META, ORG_TAG.to_vec(), tag.into_bytes());
        }
        self.store.commit(b).map_err(storage)
    }

    /// Whether a sync answer's organization fingerprint differs from the one stored with the
    /// organization (an answer without one always refreshes).
    fn org_changed(&self, seen: Option<&str>) -> Result<bool> {
        let stored = self.store.get(trees::META, ORG_TAG).map_err(storage)?;
        Ok(seen.is_none() || stored.as_deref() != seen.map(str::as_bytes))
    }

    fn org(&self) -> Result<Org> {
        Ok(self.cached_org()?.unwrap_or_default())
    }

    /// The organization fetched at login and refreshed when the server's changes; `None`
    /// before the first fetch.
    fn cached_org(&self) -> Result<Option<Org>> {
        self.meta::<Org>("org")
    }

    // ---- photos ----

    fn blob_path(&self, sha: &str) -> PathBuf {
        self.dir.join("blobs").join(sha)
    }

    /// Copies a file into the content-addressed blob store.
    pub fn import_photo(&self, path: &str) -> Result<Blob> {
        let bytes = std::fs::read(path).map_err(|e| invalid(format!("cannot read {path}: {e}")))?;
        let sha = hex::encode(Sha256::digest(&bytes));
        let target = self.blob_path(&sha);
        if !target.exists() {
            let tmp = self.dir.join("blobs").join(format!("{sha}.tmp"));
            let written = std::fs::File::create(&tmp).and_then(|mut f| {
                f.write_all(&bytes)?;
                f.sync_all()
            });
            if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &target)) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
        }
        let name = Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let mime = match Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jpg" | "jpeg") => "image/jpeg",
            Some("png") => "image/png",
            Some("heic") => "image/heic",
            Some("webp") => "image/webp",
            _ => "application/octet-stream",
        };
        Ok(Blob {
            sha256: sha,
            mime: mime.into(),
            size: bytes.len() as u64,
            name,
        })
    }

    fn import_all(&self, photos: &[String]) -> Result<Vec<Blob>> {
        photos.iter().map(|p| self.import_photo(p)).collect()
    }

    fn queue_uploads(&self, case: &CaseId, blobs: &[Blob]) -> Result<()> {
        let mut b = Batch::new();
        for blob in blobs {
            b.put(
                trees::UPLOADS,
                blob.sha256.as_bytes().to_vec(),
                case.as_str().as_bytes().to_vec(),
            );
        }
        self.store.commit(b).map_err(storage)
    }

    // ---- offline actions ----

    /// Reports a new case (采集), offline.
    pub fn report(&self, report: NewReport) -> Result<String> {
        let actor = self.actor()?;
        let channel = Channel::parse(&report.channel)
            .ok_or_else(|| invalid(format!("unknown channel {}", report.channel)))?;
        let org = self.org()?;
        let grid = report.grid.as_deref().map(gridcase_sync_core::GridId::from);
        let point = report.longitude.zip(report.latitude);
        let territory = org
            .locate(grid.as_ref(), point, &actor.scope)
            .map_err(|v| invalid(v.message))?;
        let category = match &report.category {
            Some(c) => {
                Some(CategoryCode::parse(c).ok_or_else(|| invalid(format!("bad category {c}")))?)
            }
            None => None,
        };
        let blobs = self.import_all(&report.photos)?;
        let intake = Intake {
            media_url: None,
            channel,
            reporter: None,
            description: report.description,
            territory,
            address: report.address,
            coordinates: report.longitude.zip(report.latitude),
            category,
            photos: Vec::new(),
        };
        let (mut doc, _) = open_case_with_org(
            &actor,
            self.writer()?,
            intake,
            blobs.clone(),
            self.now(),
            Some(&org),
        )?;
        let case = doc.header()?.case;
        self.docs.save_local(&case, &mut doc, &[])?;
        self.queue_uploads(&case, &blobs)?;
        Ok(case.to_string())
    }

    /// Any action on a case, offline, checked by the same rules the server runs and against
    /// the cached organization (a unit it does not know is refused here, not on arrival).
    pub fn act(&self, case: &str, action: Action, photos: &[String]) -> Result<String> {
        let actor = self.actor()?;
        let org = self.cached_org()?;
        let case = CaseId::new(case);
        let mut doc = self
            .docs
            .load(&case)?
            .ok_or_else(|| ClientError::NotFound {
                message: format!("no case {case} on this device"),
            })?;
        doc.set_actor(self.writer()?);
        let since = doc.heads();
        let blobs = self.import_all(photos)?;
        let event = act_with_org(
            &mut doc,
            &actor,
            action,
            blobs.clone(),
            self.now(),
            &self.calendar,
            org.as_ref(),
        )?;
        self.docs.save_local(&case, &mut doc, &since)?;
        self.queue_uploads(&case, &blobs)?;
        Ok(event.id.to_string())
    }

    pub fn act_json(&self, case: &str, action_json: &str) -> Result<String> {
        let action: Action = serde_json::from_str(action_json)
            .map_err(|e| invalid(format!("not an action: {e}")))?;
        self.act(case, action, &[])
    }

    pub fn file_case(
        &self,
        case: &str,
        category: &str,
        level: &str,
        units: Vec<String>,
        suggestion: String,
        callback: bool,
    ) -> Result<String> {
        let filing = Filing {
            category: CategoryCode::parse(category)
                .ok_or_else(|| invalid(format!("bad category {category}")))?,
            level: Level::parse(level).ok_or_else(|| invalid(format!("bad level {level}")))?,
            units: units.into_iter().map(UnitId::new).collect(),
            suggestion,
            callback,
        };
        self.act(case, Action::File(filing), &[])
    }

    pub fn decline(&self, case: &str, reason: &str, note: String) -> Result<String> {
        let reason = DeclineReason::parse(reason)
            .ok_or_else(|| invalid(format!("unknown decline reason {reason}")))?;
        self.act(case, Action::Decline { reason, note }, &[])
    }

    pub fn dispatch(
        &self,
        case: &str,
        unit: &str,
        responsible: Option<String>,
        deadline: Option<i64>,
    ) -> Result<String> {
        self.act(
            case,
            Action::Dispatch {
                unit: unit.into(),
                responsible,
                deadline,
            },
            &[],
        )
    }

    pub fn handle(&self, case: &str, note: String, photos: Vec<String>) -> Result<String> {
        self.act(
            case,
            Action::Handle {
                note,
                photos: vec![],
            },
            &photos,
        )
    }

    pub fn feedback(
        &self,
        case: &str,
        resolved: bool,
        note: String,
        photos: Vec<String>,
    ) -> Result<String> {
        self.act(
            case,
            Action::Feedback {
                resolved,
                note,
                photos: vec![],
            },
            &photos,
        )
    }

    pub fn verify(
        &self,
        case: &str,
        resolved: bool,
        note: String,
        photos: Vec<String>,
    ) -> Result<String> {
        self.act(
            case,
            Action::Verify {
                resolved,
                note,
                photos: vec![],
            },
            &photos,
        )
    }

    pub fn close(&self, case: &str, note: String) -> Result<String> {
        self.act(case, Action::Close { note }, &[])
    }

    pub fn self_handle(&self, case: &str, note: String, photos: Vec<String>) -> Result<String> {
        self.act(
            case,
            Action::SelfHandle {
                note,
                photos: vec![],
            },
            &photos,
        )
    }

    pub fn confirm(&self, case: &str, exists: bool, note: String) -> Result<String> {
        self.act(case, Action::Confirm { exists, note }, &[])
    }

    pub fn evaluate(
        &self,
        case: &str,
        satisfaction: Option<String>,
        solved: Option<bool>,
        note: String,
    ) -> Result<String> {
        let satisfaction = match satisfaction {
            Some(s) => Some(
                Satisfaction::parse(&s)
                    .ok_or_else(|| invalid(format!("unknown satisfaction {s}")))?,
            ),
            None => None,
        };
        self.act(
            case,
            Action::Evaluate {
                satisfaction,
                solved,
                note,
            },
            &[],
        )
    }

    pub fn comment(&self, case: &str, text: String) -> Result<String> {
        self.act(case, Action::Comment { text }, &[])
    }

    pub fn attach(&self, case: &str, photos: Vec<String>) -> Result<String> {
        let blobs = self.import_all(&photos)?;
        let action = Action::Attach {
            blobs: blobs.iter().map(|b| b.sha256.clone()).collect(),
        };
        self.act(case, action, &photos)
    }

    // ---- queries ----

    fn refusal(&self, case: &CaseId) -> Result<Option<Refusal>> {
        match self
            .store
            .get(trees::REFUSED, case.as_str().as_bytes())
            .map_err(storage)?
        {
            Some(b) => Ok(Some(serde_json::from_slice(&b).map_err(storage)?)),
            None => Ok(None),
        }
    }

    fn item(
        &self,
        case: &CaseId,
        doc: &CaseDoc,
        state: &CaseState,
        dirty: &BTreeSet<CaseId>,
    ) -> Result<CaseItem> {
        let header = doc.header()?;
        Ok(CaseItem {
            id: case.to_string(),
            status: state.status.map_or("unknown", |s| s.as_str()).into(),
            step: state.status.map_or(1, |s| s.step()),
            grid: state.territory.as_ref().map(|t| t.grid.to_string()),
            description: state.description.clone(),
            category: state.category.as_ref().map(ToString::to_string),
            unit: state.assigned_unit.as_ref().map(ToString::to_string),
            created_at: header.created_at,
            deadline: state.deadline,
            overdue: state.overdue_at(self.now()),
            events: state.timeline.len() as u32,
            open_conflicts: u32::try_from(state.open_conflicts().count()).unwrap_or(u32::MAX),
            pending_sync: dirty.contains(case),
            refused: self.refusal(case)?.map(|r| r.code),
        })
    }

    /// The cases on this device, newest first.
    pub fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseItem>> {
        let dirty: BTreeSet<CaseId> = self.docs.dirty_cases()?.into_iter().collect();
        let mut out = Vec::new();
        for case in self.docs.case_ids()? {
            let Some(doc) = self.docs.load(&case)? else {
                continue;
            };
            let state = fold(&doc.events()?, &self.calendar);
            let item = self.item(&case, &doc, &state, &dirty)?;
            let keep = filter.status.as_ref().is_none_or(|s| *s == item.status)
                && filter
                    .text
                    .as_ref()
                    .is_none_or(|t| item.description.contains(t.as_str()))
                && (!filter.only_pending_sync || item.pending_sync)
                && (!filter.only_conflicts || item.open_conflicts > 0)
                && (!filter.only_overdue || item.overdue);
            if keep {
                out.push(item);
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    fn conflict_items(case: &CaseId, state: &CaseState) -> Vec<ConflictItem> {
        state
            .conflicts
            .iter()
            .map(|c| ConflictItem {
                case_id: case.to_string(),
                event: c.event.to_string(),
                against: c.against.iter().map(ToString::to_string).collect(),
                reason: c.reason.as_str().into(),
                message: c.message.clone(),
                resolved: c.resolved_by.is_some(),
            })
            .collect()
    }

    /// One case: derived state, timeline in merged order, conflicts and attachments.
    pub fn case(&self, id: &str) -> Result<CaseDetail> {
        let case = CaseId::new(id);
        let doc = self
            .docs
            .load(&case)?
            .ok_or_else(|| ClientError::NotFound {
                message: format!("no case {id} on this device"),
            })?;
        let events = doc.events()?;
        let state = fold(&events, &self.calendar);
        let dirty: BTreeSet<CaseId> = self.docs.dirty_cases()?.into_iter().collect();
        // Under a reused id, the event the fold judged.
        let by_id: std::collections::HashMap<_, _> = fold::dedupe(&events)
            .0
            .into_iter()
            .map(|e| (&e.id, e))
            .collect();
        let timeline = state
            .timeline
            .iter()
            .map(|t| {
                let payload = by_id
                    .get(&t.event)
                    .map(|e| e.action.stored_form().1)
                    .unwrap_or_else(|| "{}".into());
                TimelineItem {
                    event: t.event.to_string(),
                    kind: t.kind.as_str().into(),
                    stored_kind: t.stored_kind.clone(),
                    author: t.author.to_string(),
                    device: t.device.to_string(),
                    at: t.at,
                    disposition: t.disposition.as_str().into(),
                    status_after: t.status.map_or("unknown", |s| s.as_str()).into(),
                    payload,
                }
            })
            .collect();
        let attachments = doc
            .attachments()?
            .into_iter()
            .map(|a| {
                let path = self.blob_path(&a.sha256);
                AttachmentItem {
                    path: path.exists().then(|| path.to_string_lossy().into_owned()),
                    sha256: a.sha256,
                    mime: a.mime,
                    size: a.size,
                    name: a.name,
                    event: a.event.to_string(),
                }
            })
            .collect();
        Ok(CaseDetail {
            case: self.item(&case, &doc, &state, &dirty)?,
            conflicts: Self::conflict_items(&case, &state),
            timeline,
            attachments,
        })
    }

    /// Open conflicts across the device's cases.
    pub fn conflicts(&self) -> Result<Vec<ConflictItem>> {
        let mut out = Vec::new();
        for case in self.docs.case_ids()? {
            let Some(doc) = self.docs.load(&case)? else {
                continue;
            };
            let state = fold(&doc.events()?, &self.calendar);
            out.extend(
                Self::conflict_items(&case, &state)
                    .into_iter()
                    .filter(|c| !c.resolved),
            );
        }
        Ok(out)
    }

    pub fn refusals(&self) -> Result<Vec<RefusalItem>> {
        let mut out = Vec::new();
        for entry in self.store.range(trees::REFUSED, &[], None) {
            let (k, v) = entry.map_err(storage)?;
            let r: Refusal = serde_json::from_slice(&v).map_err(storage)?;
            out.push(RefusalItem {
                case_id: String::from_utf8_lossy(&k).into_owned(),
                code: r.code,
                message: r.message,
            });
        }
        for entry in self.store.range(trees::REFUSED_PHOTOS, &[], None) {
            let (_, v) = entry.map_err(storage)?;
            let r: PhotoRefusal = serde_json::from_slice(&v).map_err(storage)?;
            out.push(RefusalItem {
                case_id: r.case,
                code: r.code,
                message: r.message,
            });
        }
        Ok(out)
    }

    fn keys(&self, tree: &'static str) -> Result<Vec<String>> {
        self.store
            .range(tree, &[], None)
            .map(|e| {
                e.map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
                    .map_err(storage)
            })
            .collect()
    }

    /// What waits for the next sync.
    pub fn pending(&self) -> Result<Pending> {
        Ok(Pending {
            cases: self
                .docs
                .dirty_cases()?
                .into_iter()
                .map(|c| c.to_string())
                .collect(),
            uploads: self.keys(trees::UPLOADS)?,
            downloads: self.keys(trees::DOWNLOADS)?,
            refused: self.refusals()?,
        })
    }

    // ---- sync ----

    /// Sends one round; returns the server's batch and the organization fingerprint it carried.
    fn post_batch(
        &self,
        batch: &SyncBatch,
        report: &mut SyncReport,
    ) -> Result<(SyncBatch, Option<String>)> {
        let body = zstd::bulk::compress(&batch.encode(), 3).map_err(storage)?;
        report.bytes_sent += body.len() as u64;
        let headers = vec![
            HttpHeader {
                name: "content-type".into(),
                value: "application/x-gridcase-sync".into(),
            },
            HttpHeader {
                name: "content-encoding".into(),
                value: "zstd".into(),
            },
        ];
        let r = self.authed("POST", "/v1/sync", headers, body)?;
        report.bytes_received += r.body.len() as u64;
        match r.status {
            200 => {}
            401 => {
                return Err(ClientError::Unauthorized {
                    message: String::from_utf8_lossy(&r.body).into(),
                })
            }
            s => {
                return Err(ClientError::Server {
                    status: s,
                    message: String::from_utf8_lossy(&r.body).into(),
                })
            }
        }
        let org_tag = r.header("x-gridcase-org").map(str::to_owned);
        let raw = if r.header("content-encoding") == Some("zstd") {
            let mut out = Vec::new();
            zstd::stream::read::Decoder::new(r.body.as_slice())
                .and_then(|mut d| d.read_to_end(&mut out))
                .map_err(|e| ClientError::BadAnswer {
                    message: format!("the answer does not decompress: {e}"),
                })?;
            out
        } else {
            r.body
        };
        let answer = SyncBatch::decode(&raw).map_err(|e| ClientError::BadAnswer {
            message: e.to_string(),
        })?;
        Ok((answer, org_tag))
    }

    fn heads_hex(&self, case: &CaseId) -> Result<Vec<String>> {
        Ok(self
            .docs
            .load(case)?
            .map(|mut d| d.heads().iter().map(|h| h.to_string()).collect())
            .unwrap_or_default())
    }

    /// Runs the sync conversation until this device has nothing more to send and the server
    /// nothing more to page through, then moves photos. A cut session resumes on the next
    /// call: unacknowledged cases stay marked, and the cursor only moves when a session ends.
    pub fn sync(&self, progress: &dyn Fn(&str, u64, u64)) -> Result<SyncReport> {
        let _one_at_a_time = self.sync_lock.lock().map_err(storage)?;
        let device = self.install()?.device_id;
        let span = tracing::info_span!("sync", device = %device);
        let _entered = span.enter();
        self.identity()?;
        let mut report = SyncReport::default();
        let mut session = SyncSession::new(&self.docs, SERVER).tracking_dirty(true);
        let mut cursor = self.docs.cursor(SERVER)?;
        let dirty_at_start: BTreeSet<CaseId> = self.docs.dirty_cases()?.into_iter().collect();
        let mut active = BTreeSet::new();
        for case in &dirty_at_start {
            // A refused case is not resent in a loop: only new work on it earns another try.
            match self.refusal(case)? {
                Some(r) if r.heads == self.heads_hex(case)? => {}
                _ => {
                    active.insert(case.clone());
                }
            }
        }
        let mut refused = BTreeSet::new();
        let mut received = BTreeSet::new();
        let mut more = true;
        let mut org_tag = None;
        loop {
            let live: Vec<CaseId> = active.difference(&refused).cloned().collect();
            // The first round offers the changes outright (after the heads last shared with the
            // server) instead of automerge's opening have/need: one round trip fewer per sync.
            let entries = if report.rounds == 0 {
                session.offer(live)?
            } else {
                session.generate(live)?
            };
            if entries.is_empty() && !more {
                break;
            }
            report.rounds += 1;
            progress("cases", u64::from(report.rounds), 0);
            let (answer, tag) = self.post_batch(
                &SyncBatch {
                    cursor,
                    more: false,
                    entries,
                    notices: vec![],
                },
                &mut report,
            )?;
            org_tag = tag.or(org_tag);
            let mut batch = Batch::new();
            for n in &answer.notices {
                refused.insert(n.case.clone());
                if n.code == RefusalCode::DeliveredOutOfScope.as_str() {
                    // Stored on the server, and nothing more of the case will come: done.
                    self.docs.stage_dirty(&mut batch, &n.case, false);
                }
                let r = Refusal {
                    code: n.code.clone(),
                    message: n.text.clone(),
                    heads: self.heads_hex(&n.case)?,
                };
                batch.put(
                    trees::REFUSED,
                    n.case.as_str().as_bytes().to_vec(),
                    serde_json::to_vec(&r).map_err(storage)?,
                );
                report.refusals.push(RefusalItem {
                    case_id: n.case.to_string(),
                    code: n.code.clone(),
                    message: n.text.clone(),
                });
                tracing::warn!(case = %n.case, code = %n.code, "the server refused a case");
            }
            self.store.commit(batch).map_err(storage)?;
            for o in session.receive(&answer.entries, &AcceptClean)? {
                if matches!(o.outcome, Outcome::Accepted { new_events } if new_events > 0) {
                    received.insert(o.case);
                }
            }
            active.extend(session.incomplete());
            cursor = answer.cursor;
            more = answer.more;
            if report.rounds > 500 {
                return Err(ClientError::BadAnswer {
                    message: "sync did not finish in 500 rounds".into(),
                });
            }
        }
        let mut b = Batch::new();
        self.docs.stage_cursor(&mut b, SERVER, cursor);
        let still_dirty: BTreeSet<CaseId> = self.docs.dirty_cases()?.into_iter().collect();
        for case in &dirty_at_start {
            if !still_dirty.contains(case) {
                report.cases_sent += 1;
                if !refused.contains(case) {
                    b.delete(trees::REFUSED, case.as_str().as_bytes().to_vec());
                }
            }
        }
        self.store.commit(b).map_err(storage)?;
        report.cases_received = received.len() as u32;
        let mut wanted = Batch::new();
        for case in &received {
            let seen = session.with_case(case, |doc| -> Result<_> {
                let state = fold(&doc.events()?, &self.calendar);
                Ok((state, doc.attachments()?))
            })?;
            let Some(seen) = seen else { continue };
            let (state, attachments) = seen?;
            report.conflicts += u32::try_from(state.open_conflicts().count()).unwrap_or(u32::MAX);
            for a in attachments {
                if !self.blob_path(&a.sha256).exists() {
                    wanted.put(
                        trees::DOWNLOADS,
                        a.sha256.as_bytes().to_vec(),
                        a.size.to_string().into_bytes(),
                    );
                }
            }
        }
        self.store.commit(wanted).map_err(storage)?;
        drop(session);
        report.blobs_uploaded = self.upload_blobs(progress, &mut report.refusals)?;
        report.blobs_downloaded = self.download_blobs(progress)?;
        if self.org_changed(org_tag.as_deref())? {
            if let Err(e) = self.refresh_org() {
                tracing::debug!(error = %e, "directory not refreshed");
            }
        }
        Ok(report)
    }

    /// Uploads queued photos. One the server refuses for good (too large) is set aside and
    /// reported, and the others still go.
    fn upload_blobs(
        &self,
        progress: &dyn Fn(&str, u64, u64),
        refusals: &mut Vec<RefusalItem>,
    ) -> Result<u32> {
        let pending = self.keys(trees::UPLOADS)?;
        let mut done = 0;
        'photos: for (i, sha) in pending.iter().enumerate() {
            progress("upload", i as u64, pending.len() as u64);
            let path = self.blob_path(sha);
            let mut file = std::fs::File::open(&path)?;
            let total = file.metadata()?.len();
            let status = self.authed("GET", &format!("/v1/blobs/{sha}/upload"), vec![], vec![])?;
            if status.status == 404 || status.status == 403 {
                // The case naming it did not reach the server (refused): keep it for later.
                continue;
            }
            let mut state = Self::expect_json(status, "upload status")?;
            while !state["complete"].as_bool().unwrap_or(false) {
                let offset = state["offset"].as_u64().unwrap_or(0);
                file.seek(SeekFrom::Start(offset))?;
                let mut chunk = vec![0u8; CHUNK.min((total.saturating_sub(offset)) as usize)];
                file.read_exact(&mut chunk)?;
                let headers = vec![
                    HttpHeader {
                        name: "content-type".into(),
                        value: "application/octet-stream".into(),
                    },
                    HttpHeader {
                        name: "upload-offset".into(),
                        value: offset.to_string(),
                    },
                    HttpHeader {
                        name: "upload-length".into(),
                        value: total.to_string(),
                    },
                ];
                let r = self.authed("PUT", &format!("/v1/blobs/{sha}"), headers, chunk)?;
                state = match r.status {
                    200 | 409 => serde_json::from_slice(&r.body)?,
                    413 => {
                        self.refuse_photo(sha, &r, refusals)?;
                        continue 'photos;
                    }
                    s => {
                        return Err(ClientError::Server {
                            status: s,
                            message: String::from_utf8_lossy(&r.body).into(),
                        })
                    }
                };
            }
            let mut b = Batch::new();
            b.delete(trees::UPLOADS, sha.as_bytes().to_vec());
            self.store.commit(b).map_err(storage)?;
            done += 1;
        }
        Ok(done)
    }

    fn refuse_photo(
        &self,
        sha: &str,
        answer: &HttpResponse,
        refusals: &mut Vec<RefusalItem>,
    ) -> Result<()> {
        let case = self
            .store
            .get(trees::UPLOADS, sha.as_bytes())
            .map_err(storage)?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        let said = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let refusal = PhotoRefusal {
            case,
            code: "photo_too_large".into(),
            message: format!("photo {sha} was refused: {said}"),
        };
        tracing::warn!(blob = %sha, case = %refusal.case, "the server refused a photo");
        let mut b = Batch::new();
        b.delete(trees::UPLOADS, sha.as_bytes().to_vec());
        b.put(
            trees::REFUSED_PHOTOS,
            sha.as_bytes().to_vec(),
            serde_json::to_vec(&refusal).map_err(storage)?,
        );
        self.store.commit(b).map_err(storage)?;
        refusals.push(RefusalItem {
            case_id: refusal.case,
            code: refusal.code,
            message: refusal.message,
        });
        Ok(())
    }

    fn download_blobs(&self, progress: &dyn Fn(&str, u64, u64)) -> Result<u32> {
        let wanted = self.keys(trees::DOWNLOADS)?;
        let mut done = 0;
        for (i, sha) in wanted.iter().enumerate() {
            let expected: u64 = self
                .store
                .get(trees::DOWNLOADS, sha.as_bytes())
                .map_err(storage)?
                .and_then(|v| String::from_utf8_lossy(&v).parse().ok())
                .unwrap_or(0);
            progress("download", i as u64, wanted.len() as u64);
            let partial = self.dir.join("blobs").join(format!("{sha}.part"));
            let have = std::fs::metadata(&partial).map_or(0, |m| m.len());
            let headers = if have > 0 {
                vec![HttpHeader {
                    name: "range".into(),
                    value: format!("bytes={have}-"),
                }]
            } else {
                vec![]
            };
            let r = self.authed("GET", &format!("/v1/blobs/{sha}"), headers, vec![])?;
            match r.status {
                206 => {
                    let mut file = std::fs::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .open(&partial)?;
                    file.write_all(&r.body)?;
                    file.sync_all()?;
                }
                200 => {
                    let mut file = std::fs::File::create(&partial)?;
                    file.write_all(&r.body)?;
                    file.sync_all()?;
                }
                // Nothing past what we hold: the partial file is whole (cut before its rename).
                416 if have > 0 => {}
                _ => continue,
            }
            let bytes = std::fs::read(&partial)?;
            if (bytes.len() as u64) < expected {
                // Cut short: keep what came, the next sync asks for the rest with a Range.
                continue;
            }
            if hex::encode(Sha256::digest(&bytes)) != *sha {
                std::fs::remove_file(&partial)?;
                continue;
            }
            std::fs::rename(&partial, self.blob_path(sha))?;
            let mut b = Batch::new();
            b.delete(trees::DOWNLOADS, sha.as_bytes().to_vec());
            self.store.commit(b).map_err(storage)?;
            done += 1;
        }
        Ok(done)
    }
}
