//! Helpers for the end-to-end tests: start the real `gridcase-server` binary on a free
//! loopback port with a temporary data directory, talk HTTP to it, and act as a handheld with
//! the sync-core engine (its own sled store on disk, its own automerge actor).

pub mod console;
pub mod pg_cluster;
pub mod probe;
pub mod proxy;
pub mod scenario;
pub mod webdriver;

use gridcase_sync_core::commands::{act, open_case};
use gridcase_sync_core::event::Intake;
use gridcase_sync_core::store::{DocStore, SledStore};
use gridcase_sync_core::sync::{DeviceSync, Next, Notice, Opening, SyncBatch};
use gridcase_sync_core::{Action, Actor, ActorId, CaseId, Event, Role, Scope};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The password of every demo user in tests.
pub const PASSWORD: &str = "demo-password";

/// The bearer token that reads `/metrics` of a test server (`GRIDCASE_METRICS_TOKEN`).
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// The built server binary, next to the test binaries in the shared target directory.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("GRIDCASE_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    dir.join("gridcase-server")
}

/// The environment variable that runs the end-to-end tests on PostgreSQL: the URL of a
/// database whose user may create databases (`./scripts/postgres start` prints one).
pub const TEST_DATABASE_ENV: &str = "GRIDCASE_TEST_DATABASE_URL";

/// Test databases are named with this prefix, so a test run can drop those of earlier runs.
pub const TEST_DATABASE_PREFIX: &str = "gridcase_t_";

/// With [`TEST_DATABASE_ENV`] set, the URL of the database that belongs to `data_dir`: created
/// the first time (its name kept in the data directory, so a restart finds the same ledger),
/// one per data directory so that tests running at once never share a ledger. Without it,
/// `None`: the server keeps its ledger in sled under the data directory.
pub fn test_database(data_dir: &Path) -> Option<String> {
    let url = std::env::var(TEST_DATABASE_ENV)
        .ok()
        .filter(|u| !u.is_empty())?;
    let (base, _) = url
        .rsplit_once('/')
        .expect("a database URL ends in /database");
    std::fs::create_dir_all(data_dir).expect("data dir");
    let marker = data_dir.join("test-database");
    let name = match std::fs::read_to_string(&marker) {
        Ok(name) => name.trim().to_owned(),
        Err(_) => {
            let name = format!("{TEST_DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
            let status = Command::new("psql")
                .arg(&url)
                .args(["-qc", &format!("CREATE DATABASE {name}")])
                .stdout(Stdio::null())
                .status()
                .expect("run psql");
            assert!(
                status.success(),
                "could not create the test database {name}"
            );
            std::fs::write(&marker, &name).expect("keep the test database's name");
            name
        }
    };
    Some(format!("{base}/{name}"))
}

/// The stopped server's ledger store, on whichever engine it ran: for tests that read or
/// change stored rows directly.
pub fn ledger_store(data_dir: &Path) -> Box<dyn gridcase_sync_core::store::Store> {
    match test_database(data_dir) {
        Some(url) => Box::new(
            gridcase_server::postgres_store::PostgresStore::open(&url, 2)
                .expect("open the stopped server's database"),
        ),
        None => {
            Box::new(SledStore::open(data_dir.join("db")).expect("open the stopped server's store"))
        }
    }
}

/// Opens the live event stream (`GET /v1/changes`) as `token` and forwards each `case` event's data.
pub fn listen(server: &Server, token: &str) -> std::sync::mpsc::Receiver<Value> {
    let url = format!("http://{}/v1/changes", server.addr);
    let (tx, rx) = std::sync::mpsc::channel();
    let token = token.to_owned();
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let Ok(response) = agent
            .get(&url)
            .header("authorization", format!("Bearer {token}"))
            .call()
        else {
            return;
        };
        let mut event = String::new();
        for line in BufReader::new(response.into_body().into_reader()).lines() {
            let Ok(line) = line else { return };
            if let Some(name) = line.strip_prefix("event: ").or(line.strip_prefix("event:")) {
                event = name.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
                if event == "case" {
                    if let Ok(v) = serde_json::from_str(data.trim()) {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    rx
}

/// A running server process; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts the server with the demo district on `data_dir`, plus extra flags.
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_on("127.0.0.1:0", data_dir, extra)
    }

    /// Stops the server (SIGKILL, as a crash would) and starts it again on the same address
    /// and data directory: what a browser sees as the same site coming back.
    pub fn restart(self, extra: &[&str]) -> Server {
        let (addr, data_dir) = (self.addr.to_string(), self.data_dir.clone());
        self.kill();
        Server::start_on(&addr, &data_dir, extra)
    }

    /// [`Server::start_in`] listening on `listen`.
    fn start_on(listen: &str, data_dir: &Path, extra: &[&str]) -> Server {
        let binary = server_binary();
        assert!(
            binary.exists(),
            "{} is missing: run the tests with ./scripts/test, which builds it first",
            binary.display()
        );
        // GRIDCASE_TEST_SERVER_LOG=<file> keeps the server's request log for a failing test.
        let log = std::env::var_os("GRIDCASE_TEST_SERVER_LOG");
        let stderr = match &log {
            Some(path) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_or_else(|_| Stdio::null(), Stdio::from),
            None => Stdio::null(),
        };
        let mut command = Command::new(binary);
        // A test that names its own database (a cluster of its own) keeps it.
        if !extra.contains(&"--database-url") {
            if let Some(url) = test_database(data_dir) {
                command.arg("--database-url").arg(url);
            }
        }
        let mut child = command
            .args(["--listen", listen, "--demo", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("GRIDCASE_DEMO_PASSWORD", PASSWORD)
            .env("GRIDCASE_METRICS_TOKEN", METRICS_TOKEN)
            .env("RUST_LOG", if log.is_some() { "info" } else { "warn" })
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start gridcase-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            assert!(Instant::now() < deadline, "server did not start");
            let line = lines.next().expect("server exited").expect("read");
            if let Some(rest) = line.split("http://").nth(1) {
                break rest.trim().parse().expect("address");
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            addr,
            data_dir: data_dir.to_path_buf(),
        }
    }

    pub fn http(&self) -> Http {
        Http::new(self.addr)
    }

    /// The server's process id (for CPU and memory figures from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process the hard way (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process with SIGTERM and waits for a graceful exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small HTTP client over ureq that never turns a status into an error.
#[derive(Clone)]
pub struct Http {
    base: String,
    agent: ureq::Agent,
}

/// A response: status, body bytes, and the headers the tests look at.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_encoding: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Http {
    pub fn new(addr: SocketAddr) -> Http {
        Http::with_redirects(addr, 10)
    }

    /// A client that shows redirects instead of following them (console sign-in tests).
    pub fn with_redirects(addr: SocketAddr, redirects: u32) -> Http {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(redirects)
            .max_redirects_will_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Http {
            base: format!("http://{addr}"),
            agent,
        }
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, ureq::Error> {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body.unwrap_or_default()).expect("request");
        let mut resp = self.agent.run(req)?;
        let status = resp.status().as_u16();
        let content_encoding = resp
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_vec()?;
        Ok(Reply {
            status,
            body,
            content_encoding,
            headers,
        })
    }

    pub fn json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let bytes = body.map(|b| b.to_string().into_bytes());
        self.send(
            method,
            path,
            token,
            &[("content-type", "application/json")],
            bytes,
        )
        .expect("HTTP request")
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send("GET", path, token, &[], None)
            .expect("HTTP request")
    }

    /// Logs in and returns the access token.
    pub fn login(&self, user: &str) -> String {
        let r = self.json(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"username": user, "password": PASSWORD})),
        );
        assert_eq!(
            r.status,
            200,
            "login {user}: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()["access_token"].as_str().expect("token").to_owned()
    }

    /// Signs in through the console's form and returns the session cookie (`gc_session=…`).
    /// Needs a client that shows redirects (`Http::with_redirects(addr, 0)`): the cookie comes
    /// with the redirect.
    pub fn console_sign_in(&self, user: &str) -> String {
        let form = format!("username={user}&password={PASSWORD}");
        let r = self
            .send(
                "POST",
                "/login",
                None,
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(form.into_bytes()),
            )
            .expect("sign in");
        assert_eq!(r.status, 303, "sign in {user}: {}", r.text());
        r.header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned()
    }
}

/// Percent-encodes text for a query string or a form (all but unreserved ASCII).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What one `Device::sync` did.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub rounds: usize,
    pub bytes_up: usize,
    pub bytes_down: usize,
    /// The refusals.
    pub notices: Vec<Notice>,
    /// The case numbers the answers carried (only when asked: [`Device::sync_with_numbers`]).
    pub numbers: Vec<(CaseId, String)>,
}

/// A handheld: its own sled store on disk, its own automerge actor, a registered device.
pub struct Device {
    pub http: Http,
    pub docs: DocStore,
    pub actor: Actor,
    pub writer: ActorId,
    pub token: String,
    pub device_id: String,
    _dir: tempfile::TempDir,
}

impl Device {
    /// Logs in as a demo user and registers a new handheld for them.
    pub fn register(server: &Server, user: &str) -> Device {
        let http = server.http();
        let token = http.login(user);
        let writer = ActorId::from(uuid::Uuid::new_v4().as_bytes().as_slice());
        let device_id = format!("{user}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let r = http.json(
            "POST",
            "/v1/devices",
            Some(&token),
            Some(json!({"device_id": device_id, "name": "test handheld", "actors": [writer.to_string()]})),
        );
        assert_eq!(
            r.status,
            201,
            "register: {}",
            String::from_utf8_lossy(&r.body)
        );
        let token = r.json()["tokens"]["access_token"]
            .as_str()
            .expect("device token")
            .to_owned();
        let me = http.get("/v1/me", Some(&token)).json();
        let role = Role::parse(me["role"].as_str().expect("role")).expect("known role");
        let scope: Scope = serde_json::from_value(me["scope"].clone()).expect("scope");
        let dir = tempfile::tempdir().expect("tempdir");
        let docs = DocStore::new(Arc::new(SledStore::open(dir.path()).expect("device store")));
        Device {
            http,
            docs,
            actor: Actor {
                user: user.into(),
                device: device_id.as_str().into(),
                role,
                scope,
            },
            writer,
            token,
            device_id,
            _dir: dir,
        }
    }

    /// Points the device at a restarted server.
    pub fn reconnect(&mut self, server: &Server) {
        self.http = server.http();
    }

    /// Opens a case offline.
    pub fn open(&self, intake: Intake, at: i64) -> CaseId {
        let (mut doc, _) =
            open_case(&self.actor, self.writer.clone(), intake, at).expect("intake is allowed");
        let case = doc.header().expect("header").case;
        self.docs.save_local(&case, &mut doc, &[]).expect("save");
        case
    }

    /// Acts offline on a case the device holds.
    pub fn act(
        &self,
        case: &CaseId,
        action: Action,
        at: i64,
    ) -> Result<Event, gridcase_sync_core::Error> {
        self.act_as(&self.actor, case, action, at)
    }

    /// Acts offline with an explicit actor claim (for forging tests).
    pub fn act_as(
        &self,
        actor: &Actor,
        case: &CaseId,
        action: Action,
        at: i64,
    ) -> Result<Event, gridcase_sync_core::Error> {
        let mut doc = self.docs.load(case)?.expect("case on the device");
        doc.set_actor(self.writer.clone());
        let since = doc.heads();
        let event = act(
            &mut doc,
            actor,
            action,
            at,
            &gridcase_sync_core::WorkCalendar::beijing(),
        )?;
        self.docs.save_local(case, &mut doc, &since)?;
        Ok(event)
    }

    /// Attaches files offline with one `attach` event, as the handheld does for photos.
    pub fn attach(
        &self,
        case: &CaseId,
        blobs: Vec<gridcase_sync_core::commands::Blob>,
        at: i64,
    ) -> Result<Event, gridcase_sync_core::Error> {
        let mut doc = self.docs.load(case)?.expect("case on the device");
        doc.set_actor(self.writer.clone());
        let since = doc.heads();
        let event = gridcase_sync_core::commands::attach(
            &mut doc,
            &self.actor,
            blobs,
            at,
            &gridcase_sync_core::WorkCalendar::beijing(),
        )?;
        self.docs.save_local(case, &mut doc, &since)?;
        Ok(event)
    }

    /// Appends an event the way a later release would: `kind` and `payload` exactly as given
    /// (a kind this release may not know), the envelope of schema 1, parents the frontier of
    /// what the device holds, and one event field no release of today reads. Bypasses the
    /// rules, as a release with other rules would.
    pub fn write_later_release(&self, case: &CaseId, kind: &str, payload: &str, at: i64) -> String {
        let id = uuid::Uuid::now_v7().simple().to_string();
        self.write_raw_event(case, &id, kind, payload, at);
        id
    }

    /// [`Device::write_later_release`] under a given event id (a broken device reusing one).
    pub fn write_raw_event(&self, case: &CaseId, id: &str, kind: &str, payload: &str, at: i64) {
        use automerge::transaction::Transactable;
        use automerge::{ObjType, ReadDoc, ROOT};
        let mut doc = self
            .docs
            .load(case)
            .expect("load")
            .expect("case on the device");
        let since = doc.heads();
        let parents = gridcase_sync_core::fold::frontier(&doc.events().expect("events"));
        let am = doc.automerge();
        am.set_actor(self.writer.clone());
        let events = am.get(ROOT, "events").expect("get").expect("events").1;
        let len = am.length(&events);
        let e = am
            .insert_object(&events, len, ObjType::Map)
            .expect("insert");
        for (k, v) in [
            ("id", id.to_owned()),
            ("kind", kind.to_owned()),
            ("author", self.actor.user.to_string()),
            ("device", self.actor.device.to_string()),
            ("role", self.actor.role.as_str().to_owned()),
            (
                "scope",
                serde_json::to_string(&self.actor.scope).expect("scope"),
            ),
            ("parents", serde_json::to_string(&parents).expect("parents")),
            ("payload", payload.to_owned()),
            ("written_by", "gridcase 9.0".to_owned()),
        ] {
            am.put(&e, k, v).expect("put");
        }
        am.put(&e, "at", at).expect("put");
        am.commit();
        self.docs.save_local(case, &mut doc, &since).expect("save");
    }

    /// Sends one raw batch; returns the status and the decoded answer on 200.
    pub fn post_batch(&self, batch: &SyncBatch) -> Result<(u16, Option<SyncBatch>), ureq::Error> {
        self.post_batch_to("/v1/sync", batch)
    }

    /// Sends one raw batch to `path` (`/v1/sync` with a query); as [`Device::post_batch`].
    pub fn post_batch_to(
        &self,
        path: &str,
        batch: &SyncBatch,
    ) -> Result<(u16, Option<SyncBatch>), ureq::Error> {
        let body = zstd::bulk::compress(&batch.encode(), 3).expect("compress");
        let r = self.http.send(
            "POST",
            path,
            Some(&self.token),
            &[
                ("content-type", "application/x-gridcase-sync"),
                ("content-encoding", "zstd"),
            ],
            Some(body),
        )?;
        if r.status != 200 {
            return Ok((r.status, None));
        }
        let raw = if r.content_encoding.as_deref() == Some("zstd") {
            zstd::stream::decode_all(r.body.as_slice()).expect("zstd answer")
        } else {
            r.body
        };
        Ok((200, Some(SyncBatch::decode(&raw).expect("answer decodes"))))
    }

    /// Syncs until this device has nothing more to send and the server nothing more to page
    /// through, with sync-core's [`DeviceSync`] driver, as the handheld library does. Cases the
    /// server offers from the feed arrive whole in one answer and need no reply. Refused cases
    /// are reported and not resent in this session. The cursor is saved only when the session
    /// completes.
    ///
    /// Unlike the handheld, the device opens with automerge's own have/need
    /// ([`Opening::HaveNeed`]), as any automerge implementation would: the server's answers to
    /// that opening (asking for changes without sending any) stay under test.
    ///
    /// It does not ask for the case numbers (as a handheld of an earlier release): its answers
    /// carry none.
    pub fn sync(&self) -> Result<SyncReport, String> {
        self.sync_to("/v1/sync")
    }

    /// [`Device::sync`] asking for the case numbers in the answers (`?numbers=true`), as the
    /// handheld library does: [`SyncReport::numbers`].
    pub fn sync_with_numbers(&self) -> Result<SyncReport, String> {
        self.sync_to("/v1/sync?numbers=true")
    }

    fn sync_to(&self, path: &str) -> Result<SyncReport, String> {
        let text = |e: gridcase_sync_core::Error| e.to_string();
        let mut driver = DeviceSync::start(&self.docs, "server")
            .map_err(text)?
            .with_opening(Opening::HaveNeed)
            .with_round_limit(50);
        let mut report = SyncReport::default();
        loop {
            let request = match driver.next_request().map_err(text)? {
                Next::Send(request) => request,
                Next::Finished => break,
                Next::Stalled { .. } => return Err("sync did not converge in 50 rounds".into()),
            };
            report.bytes_up += request.encode().len();
            let (status, answer) = self
                .post_batch_to(path, &request)
                .map_err(|e| e.to_string())?;
            let answer = answer.ok_or_else(|| format!("sync answered {status}"))?;
            report.rounds += 1;
            report.bytes_down += answer.encode().len();
            let answered = driver.take_answer(&answer).map_err(text)?;
            report
                .notices
                .extend(answered.refused.into_iter().map(|r| r.notice));
            report.numbers.extend(answered.numbers);
            self.docs.commit(answered.persist).map_err(text)?;
        }
        let finished = driver.finish().map_err(text)?;
        self.docs.commit(finished.persist).map_err(text)?;
        Ok(report)
    }

    /// The device's copy of a case's events.
    pub fn events(&self, case: &CaseId) -> Vec<Event> {
        self.docs
            .load(case)
            .expect("load")
            .map(|d| d.events().expect("events"))
            .unwrap_or_default()
    }
}
