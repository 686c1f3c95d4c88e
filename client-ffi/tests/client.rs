//! The handheld library against the real server binary, and against broken networks: an
//! unreachable server, 500s, truncated answers, a clock hours off, an old or newer local store,
//! a full disk. Every failure is a clear error and the local data stays intact.

use gridcase_client::client::{Client, Retry};
use gridcase_client::error::ClientError;
use gridcase_client::transport::{
    BuiltinTransport, HttpRequest, HttpResponse, HttpTransport, TransportError,
};
use gridcase_client::views::{CaseFilter, NewReport};
use gridcase_sync_core::store::{Batch, SledStore, Store};
use gridcase_tests::{Server, PASSWORD};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn fast() -> Retry {
    Retry {
        attempts: 2,
        first_delay: Duration::from_millis(10),
        ..Retry::default()
    }
}

fn open(dir: &Path, url: &str) -> Client {
    Client::open(dir, url, Arc::new(BuiltinTransport::new()))
        .expect("open")
        .with_retry(fast())
}

fn url(server: &Server) -> String {
    format!("http://{}", server.addr)
}

fn report(client: &Client, description: &str, photos: Vec<String>) -> String {
    client
        .report(NewReport {
            channel: "patrol".into(),
            description: description.into(),
            grid: Some("g1".into()),
            photos,
            ..NewReport::default()
        })
        .expect("report")
}

/// A server stand-in that answers every request with the same raw bytes, then closes.
fn fake_server(answer: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 65536];
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = s.read(&mut buf);
            let _ = s.write_all(answer);
        }
    });
    format!("http://{addr}")
}

#[test]
fn photos_travel_after_their_cases_and_resume_after_a_cut() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let photo = tmp.path().join("pothole.jpg");
    let bytes: Vec<u8> = (0..2_600_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&photo, &bytes).expect("photo");

    // The first upload is cut after one chunk.
    struct CutAfterOnePut {
        inner: BuiltinTransport,
        puts: AtomicUsize,
    }
    impl HttpTransport for CutAfterOnePut {
        fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            if request.method == "PUT" && self.puts.fetch_add(1, Ordering::SeqCst) >= 1 {
                return Err(TransportError::Interrupted {
                    message: "link lost".into(),
                });
            }
            self.inner.send(request)
        }
    }
    let dir1 = tmp.path().join("w1");
    let case = {
        let w1 = Client::open(
            &dir1,
            &url(&server),
            Arc::new(CutAfterOnePut {
                inner: BuiltinTransport::new(),
                puts: AtomicUsize::new(0),
            }),
        )
        .expect("open")
        .with_retry(fast());
        w1.login("worker1", PASSWORD).expect("login");
        let case = report(&w1, "pothole", vec![photo.to_string_lossy().into_owned()]);
        assert_eq!(w1.pending().expect("pending").uploads.len(), 1);
        let err = w1.sync(&|_, _, _| {}).err();
        assert!(
            matches!(&err, Some(ClientError::SyncInterrupted { cause, .. }) if cause == "bad_answer"),
            "{err:?}"
        );
        assert_eq!(
            w1.pending().expect("pending").uploads.len(),
            1,
            "still to upload"
        );
        case
    };
    let w1 = open(&dir1, &url(&server));
    let r = w1.sync_quiet();
    assert_eq!(r.blobs_uploaded, 1, "the upload resumed and finished");
    assert!(w1.pending().expect("pending").uploads.is_empty());

    // The server side: only scopes that see a case naming the blob may touch it.
    let sha = w1.case(&case).expect("case").attachments[0].sha256.clone();
    let http = server.http();
    let worker3 = http.login("worker3");
    let r = http.get(&format!("/v1/blobs/{sha}"), Some(&worker3));
    assert_eq!(
        r.status, 404,
        "worker3's grid does not see the case, and cannot tell it from a blob nobody names"
    );
    let operator = http.login("operator");
    assert_eq!(
        http.get(&format!("/v1/blobs/{sha}"), Some(&operator))
            .body
            .len(),
        bytes.len()
    );
    let ranged = |range: String| {
        http.send(
            "GET",
            &format!("/v1/blobs/{sha}"),
            Some(&operator),
            &[("range", range.as_str())],
            None,
        )
        .expect("get")
    };
    let last = ranged(format!("bytes={}-", bytes.len() - 1));
    assert_eq!((last.status, last.body.len()), (206, 1));
    for past in [bytes.len(), bytes.len() + 10] {
        let r = ranged(format!("bytes={past}-"));
        assert_eq!(r.status, 416, "a range from {past} is past the end");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes */{}", bytes.len()).as_str())
        );
    }
    assert_eq!(
        http.get(&format!("/v1/blobs/{}", "0".repeat(64)), Some(&operator))
            .status,
        404
    );
    assert_eq!(
        http.get("/v1/blobs/not-a-hash", Some(&operator)).status,
        400
    );
    let too_big = http
        .send(
            "PUT",
            &format!("/v1/blobs/{sha}"),
            Some(&operator),
            &[("upload-offset", "0"), ("upload-length", "999999999")],
            Some(vec![1]),
        )
        .expect("put");
    assert_eq!(too_big.status, 413);

    let w2 = open(&tmp.path().join("w2"), &url(&server));
    w2.login("worker2", PASSWORD).expect("login");
    let r = w2.sync_quiet();
    assert_eq!(r.blobs_downloaded, 1);
    let detail = w2.case(&case).expect("case");
    let path = detail.attachments[0].path.clone().expect("downloaded");
    assert_eq!(
        std::fs::read(path).expect("read"),
        bytes,
        "the bytes are the photo's"
    );
}

trait Quiet {
    fn sync_quiet(&self) -> gridcase_client::views::SyncReport;
}

impl Quiet for Client {
    fn sync_quiet(&self) -> gridcase_client::views::SyncReport {
        self.sync(&|_, _, _| {}).expect("sync")
    }
}

/// A logged-in device directory with one unsynced case, then pointed at `other_url`.
fn device_with_pending_case(tmp: &Path, server: &Server) -> (std::path::PathBuf, String) {
    let dir = tmp.join("device");
    let c = open(&dir, &url(server));
    c.login("worker1", PASSWORD).expect("login");
    let case = report(&c, "loose manhole cover", vec![]);
    c.comment(&case, "marked with a cone".into())
        .expect("comment");
    (dir, case)
}

fn intact(client: &Client, case: &str) {
    let detail = client.case(case).expect("the case is still here");
    assert!(detail.timeline.len() >= 2);
    assert!(detail.case.pending_sync, "still waiting to be sent");
    client
        .comment(case, "work goes on offline".into())
        .expect("offline action");
}

#[test]
fn an_unreachable_server_a_500_and_truncated_answers_are_clear_errors_and_lose_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let (dir, case) = device_with_pending_case(tmp.path(), &server);

    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    for (what, url, check) in [
        ("unreachable", closed, (|e: &ClientError| matches!(e, ClientError::SyncInterrupted { cause, .. } if cause == "unreachable")) as fn(&ClientError) -> bool),
        ("500", fake_server(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops"), |e| matches!(e, ClientError::SyncInterrupted { cause, message, .. } if cause == "server" && message.contains("500"))),
        ("truncated", fake_server(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nContent-Type: application/x-gridcase-sync\r\nConnection: close\r\n\r\nGCSB\x01\x00"), |e| matches!(e, ClientError::SyncInterrupted { cause, .. } if cause == "bad_answer")),
        ("garbage", fake_server(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nGCSB\x09\x00\x00\x00"), |e| matches!(e, ClientError::SyncInterrupted { cause, .. } if cause == "bad_answer")),
    ] {
        let c = open(&dir, &url);
        let err = c.sync(&|_, _, _| {}).expect_err(what);
        assert!(check(&err), "{what}: {err:?}");
        assert!(!err.to_string().is_empty());
        intact(&c, &case);
    }
    let c = open(&dir, &url(&server));
    let r = c.sync_quiet();
    assert!(r.cases_sent >= 1 && r.refusals.is_empty());
    assert!(c.pending().expect("pending").cases.is_empty());
    let operator = server.http().login("operator");
    let view = server
        .http()
        .get(&format!("/v1/cases/{case}"), Some(&operator))
        .json();
    assert_eq!(
        view["history"].as_array().map(Vec::len),
        Some(6),
        "the intake and five comments arrived"
    );
}

#[test]
fn a_device_clock_hours_off_still_syncs_in_causal_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let ahead = open(&tmp.path().join("ahead"), &url(&server)).with_clock_offset(6 * 3_600_000);
    ahead.login("worker1", PASSWORD).expect("login");
    let case = report(&ahead, "water main leak", vec![]);
    ahead.sync_quiet();
    let on_time = open(&tmp.path().join("on-time"), &url(&server));
    on_time.login("worker2", PASSWORD).expect("login");
    on_time.sync_quiet();
    on_time
        .comment(&case, "seen it too".into())
        .expect("comment");
    on_time.sync_quiet();

    let operator = server.http().login("operator");
    let view = server
        .http()
        .get(&format!("/v1/cases/{case}"), Some(&operator))
        .json();
    let history = view["history"].as_array().expect("history");
    assert_eq!(
        history[0]["event"]["action"]["kind"], "intake",
        "causal order beats device time"
    );
    let device_time = history[0]["event"]["at"].as_i64().expect("at");
    let received = history[0]["received_at"].as_i64().expect("received");
    assert!(
        device_time - received > 5 * 3_600_000,
        "the device said the future; the server kept its own time"
    );
    assert!(history[1]["event"]["at"].as_i64().expect("at") < device_time);
}

#[test]
fn an_expired_access_token_is_renewed_on_its_own() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &["--access-ttl", "1"]);
    let c = open(&tmp.path().join("d"), &url(&server));
    c.login("worker1", PASSWORD).expect("login");
    report(&c, "after a coffee", vec![]);
    std::thread::sleep(Duration::from_millis(2100));
    let r = c.sync_quiet();
    assert_eq!(r.cases_sent, 1);
}

fn set_schema(dir: &Path, value: Option<u64>) {
    let store = SledStore::open(dir.join("store")).expect("store");
    let mut b = Batch::new();
    match value {
        Some(v) => b.put(
            "client_meta",
            b"schema".to_vec(),
            v.to_string().into_bytes(),
        ),
        None => b.delete("client_meta", b"schema".to_vec()),
    }
    store.commit(b).expect("commit");
}

#[test]
fn stores_from_older_and_newer_releases() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let (dir, case) = device_with_pending_case(tmp.path(), &server);
    set_schema(&dir, None);
    let c = open(&dir, &url(&server));
    assert_eq!(
        c.cases(&CaseFilter::default()).expect("cases").len(),
        1,
        "an old store opens with its data"
    );
    drop(c);
    set_schema(&dir, Some(99));
    match Client::open(&dir, &url(&server), Arc::new(BuiltinTransport::new())) {
        Err(ClientError::Storage { message }) => {
            assert!(message.contains("newer release"), "{message}")
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a store from a newer release must not be opened"),
    }
    set_schema(&dir, Some(1));
    let c = open(&dir, &url(&server));
    intact(&c, &case);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Child half of the full-disk test: no file may grow past GRIDCASE_FULL_DISK_LIMIT bytes.
#[test]
#[ignore = "the child half of the full-disk test; the parent runs it"]
fn full_disk_child() {
    let Ok(dir) = std::env::var("GRIDCASE_FULL_DISK_DIR") else {
        return;
    };
    // SAFETY: plain libc calls on this process before any thread writes files.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let bytes: u64 = std::env::var("GRIDCASE_FULL_DISK_LIMIT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1 << 20);
        let limit = libc::rlimit {
            rlim_cur: bytes as libc::rlim_t,
            rlim_max: bytes as libc::rlim_t,
        };
        libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
    }
    let c = match Client::open(
        &dir,
        "http://127.0.0.1:9",
        Arc::new(BuiltinTransport::new()),
    ) {
        Ok(c) => c,
        Err(e) => {
            println!("FULL-DISK open: {e}");
            return;
        }
    };
    let photo = Path::new(&dir).join("big.jpg");
    let outcome = c.report(NewReport {
        channel: "patrol".into(),
        description: "too big for the disk".into(),
        grid: Some("g1".into()),
        photos: vec![photo.to_string_lossy().into_owned()],
        ..NewReport::default()
    });
    match outcome {
        Err(e) => println!("FULL-DISK report: {e}"),
        Ok(_) => println!("FULL-DISK report: ok"),
    }
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_store_survives() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let (dir, case) = device_with_pending_case(tmp.path(), &server);
    std::fs::write(dir.join("big.jpg"), vec![7u8; 8 * 1024 * 1024]).expect("photo");
    let largest = walk(&dir)
        .into_iter()
        .filter(|p| !p.ends_with("big.jpg"))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "full_disk_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GRIDCASE_FULL_DISK_DIR", &dir)
        .env(
            "GRIDCASE_FULL_DISK_LIMIT",
            (largest + (1 << 20)).to_string(),
        )
        .output()
        .expect("child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("FULL-DISK").map(|(_, rest)| rest.to_owned()))
        .unwrap_or_default();
    assert!(
        line.contains("local storage") || line.contains("invalid input"),
        "a clear error, not a crash: {line:?} / {stdout} / {} / {:?}",
        String::from_utf8_lossy(&out.stderr),
        out.status
    );
    let c = open(&dir, &url(&server));
    intact(&c, &case);
    assert!(
        c.pending().expect("pending").uploads.is_empty(),
        "no half-imported photo is queued"
    );
    eprintln!("full disk:{line}");
}

#[test]
fn a_grid_added_at_the_center_reaches_the_handheld_with_its_next_sync() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let c = open(&tmp.path().join("d"), &url(&server));
    c.login("operator", PASSWORD).expect("login");
    let at_the_new_grid = |c: &Client| {
        c.report(NewReport {
            channel: "patrol".into(),
            description: "bench broken in the new park".into(),
            longitude: Some(116.5012),
            latitude: Some(39.9512),
            ..NewReport::default()
        })
    };
    assert!(
        at_the_new_grid(&c).is_err(),
        "no grid there yet: the report is refused on the device"
    );
    c.sync_quiet();

    let http = server.http();
    let admin = http.login("admin");
    let r = http.json(
        "PUT",
        "/v1/admin/org/g9",
        Some(&admin),
        Some(
            serde_json::json!({"kind": "grid", "name": "new park", "community": "c1",
            "polygon": [[116.5, 39.95], [116.505, 39.95], [116.505, 39.955], [116.5, 39.955]]}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.json());
    c.sync_quiet();
    let case = at_the_new_grid(&c).expect("the device knows the new grid now");
    assert_eq!(
        c.case(&case).expect("case").case.grid.as_deref(),
        Some("g9")
    );
}

#[test]
fn two_handhelds_uploading_the_same_photo_at_once_both_finish() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let w1 = open(&tmp.path().join("w1"), &url(&server));
    w1.login("worker1", PASSWORD).expect("login");
    let w2 = open(&tmp.path().join("w2"), &url(&server));
    w2.login("worker2", PASSWORD).expect("login");
    let http = server.http();
    let operator = http.login("operator");
    for round in 0..6u32 {
        let photo = tmp.path().join(format!("same-{round}.jpg"));
        let bytes: Vec<u8> = (0..2_300_000u32)
            .map(|i| (i.wrapping_mul(2654435761).wrapping_add(round) >> 11) as u8)
            .collect();
        std::fs::write(&photo, &bytes).expect("photo");
        let path = photo.to_string_lossy().into_owned();
        let case = report(&w1, "the same wall", vec![path.clone()]);
        report(&w2, "the same wall, seen again", vec![path]);
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| w1.sync(&|_, _, _| {}));
            let b = s.spawn(|| w2.sync(&|_, _, _| {}));
            (a.join().expect("w1"), b.join().expect("w2"))
        });
        a.expect("w1 syncs");
        b.expect("w2 syncs");
        assert!(w1.pending().expect("pending").uploads.is_empty());
        assert!(w2.pending().expect("pending").uploads.is_empty());
        let sha = w1.case(&case).expect("case").attachments[0].sha256.clone();
        let stored = http.get(&format!("/v1/blobs/{sha}"), Some(&operator));
        assert_eq!(stored.status, 200);
        assert!(
            stored.body == bytes,
            "round {round}: the stored photo is intact"
        );
    }
}

#[test]
fn an_offline_dispatch_to_a_unit_the_cached_organization_lacks_is_refused_on_the_device() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let c = open(&tmp.path().join("d"), &url(&server));
    c.login("operator", PASSWORD)
        .expect("login caches the organization");
    // From here on the device is offline: only its cached organization can answer.
    server.kill();
    let case = c
        .report(NewReport {
            channel: "walk_in".into(),
            description: "lamp out".into(),
            grid: Some("g1".into()),
            ..NewReport::default()
        })
        .expect("report");
    let refused_as_unknown = |r: Result<String, ClientError>, what: &str| match r {
        Err(ClientError::NotAllowed { code, .. }) => {
            assert_eq!(code, "unknown_reference", "{what}")
        }
        other => panic!("{what}: {other:?}"),
    };
    refused_as_unknown(
        c.file_case(
            &case,
            "E0102",
            "general",
            vec!["u999".into()],
            String::new(),
            false,
        ),
        "a filing naming u999",
    );
    refused_as_unknown(
        c.act_json(
            &case,
            &format!(r#"{{"kind": "mark_duplicate", "payload": {{"of": "{case}"}}}}"#),
        ),
        "a case marked a duplicate of itself",
    );
    c.file_case(
        &case,
        "E0102",
        "general",
        vec!["u1".into()],
        String::new(),
        false,
    )
    .expect("file");
    for unit in ["u999", ""] {
        refused_as_unknown(c.dispatch(&case, unit, None, None), unit);
    }
    c.dispatch(&case, "u1", None, None)
        .expect("a unit the device knows");
    let view = c.case(&case).expect("case");
    assert_eq!(view.case.status, "dispatched");
}

#[test]
fn a_photo_over_the_servers_limit_is_reported_and_everything_else_still_syncs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &["--max-blob", "4096"]);
    let small = tmp.path().join("small.jpg");
    let big = tmp.path().join("big.jpg");
    let other = tmp.path().join("other.jpg");
    std::fs::write(&small, vec![1u8; 1000]).expect("photo");
    std::fs::write(&big, vec![2u8; 10_000]).expect("photo");
    std::fs::write(&other, vec![3u8; 2000]).expect("photo");
    let w1 = open(&tmp.path().join("w1"), &url(&server));
    w1.login("worker1", PASSWORD).expect("login");
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let first = report(
        &w1,
        "two photos, one too big",
        vec![path(&small), path(&big)],
    );
    let second = report(&w1, "one photo", vec![path(&other)]);

    let done = w1
        .sync(&|_, _, _| {})
        .expect("sync goes on past the refused photo");
    assert_eq!(done.blobs_uploaded, 2, "{done:?}");
    let refused: Vec<_> = done
        .refusals
        .iter()
        .filter(|r| r.code == "photo_too_large")
        .collect();
    assert_eq!(refused.len(), 1, "{done:?}");
    assert_eq!(refused[0].case_id, first);
    let pending = w1.pending().expect("pending");
    assert!(pending.cases.is_empty(), "both cases reached the server");
    assert!(pending.uploads.is_empty(), "{pending:?}");
    assert!(pending.refused.iter().any(|r| r.code == "photo_too_large"));
    // The next sync neither fails nor offers the photo again.
    let again = w1.sync(&|_, _, _| {}).expect("sync again");
    assert_eq!(again.blobs_uploaded, 0);
    assert!(again.refusals.is_empty(), "{again:?}");
    let _ = second;
}

/// The built-in transport, keeping each request's method and path. With `old_server`, the
/// `numbers=true` a sync asks with is dropped on the way: the server answers as one of an
/// earlier release, which ignores it, would.
struct Recorded {
    inner: BuiltinTransport,
    old_server: bool,
    requests: std::sync::Mutex<Vec<String>>,
}

impl Recorded {
    fn new(old_server: bool) -> Arc<Recorded> {
        Arc::new(Recorded {
            inner: BuiltinTransport::new(),
            old_server,
            requests: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The requests so far to `path` (without the query), forgotten.
    fn take(&self, path: &str) -> usize {
        let mut requests = self.requests.lock().expect("requests");
        let n = requests
            .iter()
            .filter(|r| r.split(['?', ' ']).nth(1) == Some(path))
            .count();
        requests.clear();
        n
    }
}

impl HttpTransport for Recorded {
    fn send(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.old_server {
            request.url = request
                .url
                .replace("&numbers=true", "")
                .replace("?numbers=true", "");
        }
        let path = request.url.splitn(4, '/').nth(3).unwrap_or_default();
        self.requests
            .lock()
            .expect("requests")
            .push(format!("{} /{path}", request.method));
        self.inner.send(request)
    }
}

fn open_recorded(dir: &Path, url: &str, transport: &Arc<Recorded>) -> Client {
    Client::open(dir, url, transport.clone())
        .expect("open")
        .with_retry(fast())
}

/// A case's number is the server's: none on the device until a sync, then the one the ledger
/// gave when it first received the case, on the device that made it and on one that received
/// it, and searchable in the device's list. Both learn it from the sync's answers, without
/// asking `POST /v1/cases/numbers`; against a server of an earlier release (which sends no
/// numbers in its answers) the device asks, once. A device that left the case's scope learns
/// none.
#[test]
fn the_handheld_learns_the_number_of_a_case_after_a_sync() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let wire1 = Recorded::new(false);
    let w1 = open_recorded(&tmp.path().join("w1"), &url(&server), &wire1);
    w1.login("worker1", PASSWORD).expect("login");
    let case = report(&w1, "manhole cover missing", vec![]);
    assert_eq!(w1.case(&case).expect("case").case.number, None, "offline");
    w1.sync_quiet();
    let number = w1
        .case(&case)
        .expect("case")
        .case
        .number
        .expect("learned with the sync");
    assert_eq!(
        wire1.take("/v1/cases/numbers"),
        0,
        "the sync's answers carried the number: nothing asked"
    );
    let http = server.http();
    let operator = http.login("operator");
    let view = http
        .get(&format!("/v1/cases/{case}"), Some(&operator))
        .json();
    assert_eq!(view["number"].as_str(), Some(number.as_str()), "{view}");
    assert!(number.starts_with("DC-"), "{number}");

    // Received from the server: numbered with the sync that brings it, a partner's case too.
    let wire2 = Recorded::new(false);
    let w2 = open_recorded(&tmp.path().join("w2"), &url(&server), &wire2);
    w2.login("worker2", PASSWORD).expect("login");
    let theirs = report(&w2, "bench broken in the park", vec![]);
    w2.sync_quiet();
    assert_eq!(wire2.take("/v1/cases/numbers"), 0, "nothing asked");
    let their_number = w2
        .case(&theirs)
        .expect("case")
        .case
        .number
        .expect("its own case's number");
    w1.sync_quiet();
    assert_eq!(
        w1.case(&theirs).expect("case").case.number.as_deref(),
        Some(their_number.as_str()),
        "the partner's case, offered by the feed, came with its number"
    );
    assert_eq!(wire1.take("/v1/cases/numbers"), 0, "nothing asked");

    // A server of an earlier release sends no numbers: the device asks for them, once.
    let wire3 = Recorded::new(true);
    let w3 = open_recorded(&tmp.path().join("w3"), &url(&server), &wire3);
    w3.login("worker1", PASSWORD).expect("login");
    w3.sync_quiet();
    assert_eq!(wire3.take("/v1/cases/numbers"), 1, "asked after the sync");
    assert_eq!(
        w3.case(&case).expect("case").case.number.as_deref(),
        Some(number.as_str())
    );
    w3.sync_quiet();
    assert_eq!(
        wire3.take("/v1/cases/numbers"),
        0,
        "known now: not asked again"
    );

    let listed = w2
        .cases(&CaseFilter {
            text: Some(number.clone()),
            ..CaseFilter::default()
        })
        .expect("list");
    assert_eq!(listed.len(), 1, "found by its number");
    assert_eq!(listed[0].id, case);
    assert_eq!(listed[0].number.as_deref(), Some(number.as_str()));

    // A case made while the user's scope is elsewhere (refused at sync) gets none.
    let admin = http.login("admin");
    let moved = http.json(
        "POST",
        "/v1/admin/users",
        Some(&admin),
        Some(
            serde_json::json!({"id": "worker2", "name": "网格员二", "role": "grid_worker",
            "scope": {"level": "grids", "id": ["g4"]}, "revoke_previous_scopes": true}),
        ),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    let stranded = report(&w2, "bench broken", vec![]);
    w2.sync_quiet();
    assert_eq!(w2.case(&stranded).expect("case").case.number, None);
}

/// A unit handler's handheld acknowledges a case dispatched to its unit (签收) and asks for
/// more time (延期申请) with the server away; the next sync takes both up, and the server's
/// view of the case shows the acknowledgement and the request waiting for the dispatcher. A
/// case since dispatched to another unit is refused on the device with the rules' code, and
/// nothing is written.
#[test]
fn a_unit_acknowledges_and_asks_for_more_time_offline_and_the_server_shows_both() {
    use gridcase_tests::scenario::post_action;
    use serde_json::json;
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let w1 = open(&tmp.path().join("w1"), &url(&server));
    w1.login("worker1", PASSWORD).expect("login");
    let ours = report(&w1, "garbage piled at the corner", vec![]);
    let theirs = report(&w1, "bins overflowing", vec![]);
    w1.sync_quiet();
    let http = server.http();
    let operator = http.login("operator");
    for case in [&ours, &theirs] {
        let file = json!({"kind": "file", "payload": {"category": "E0102", "level": "general", "units": ["u1"]}});
        post_action(&http, &operator, case, file);
        let dispatch = json!({"kind": "dispatch", "payload": {"unit": "u1"}});
        post_action(&http, &operator, case, dispatch);
    }
    // Reassigned: unit1 was involved, so its handheld still holds the case, but it is not its
    // unit's to acknowledge any more.
    let reassign = json!({"kind": "dispatch", "payload": {"unit": "u2"}});
    post_action(&http, &operator, &theirs, reassign);

    let unit_dir = tmp.path().join("unit1");
    let unit = open(&unit_dir, &url(&server));
    unit.login("unit1", PASSWORD).expect("login");
    unit.sync_quiet();
    assert_eq!(unit.case(&ours).expect("case").case.status, "dispatched");
    assert_eq!(
        unit.case(&theirs).expect("case").case.unit.as_deref(),
        Some("u2")
    );

    // Offline from here.
    let ledger = server.data_dir.clone();
    server.kill();
    unit.acknowledge(&ours, Some("on our way".into()))
        .expect("the unit dispatched to acknowledges");
    let asked = unit
        .request_extension(&ours, 3, "waiting for a skip lorry".into())
        .expect("the unit asks for three working hours");
    let refused_as = |r: Result<String, ClientError>, expected: &str, what: &str| match r {
        Err(ClientError::NotAllowed { code, .. }) => assert_eq!(code, expected, "{what}"),
        other => panic!("{what}: {other:?}"),
    };
    refused_as(
        unit.request_extension(&ours, 2, "and some more".into()),
        "invalid_payload",
        "one request waits at a time",
    );
    let before = unit.case(&theirs).expect("case").timeline.len();
    refused_as(
        unit.acknowledge(&theirs, None),
        "not_assigned",
        "a case dispatched to u2",
    );
    refused_as(
        unit.request_extension(&theirs, 1, "not ours".into()),
        "not_assigned",
        "a case dispatched to u2",
    );
    assert_eq!(
        unit.case(&theirs).expect("case").timeline.len(),
        before,
        "nothing written"
    );
    assert_eq!(
        unit.pending().expect("pending").cases,
        vec![ours.clone()],
        "only the acknowledged case waits for the sync"
    );
    let kinds: Vec<_> = unit
        .case(&ours)
        .expect("case")
        .timeline
        .iter()
        .map(|t| t.kind.clone())
        .collect();
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["acknowledge".to_owned(), "extension_request".to_owned()],
        "{kinds:?}"
    );

    // Back online: the server takes both up and shows them.
    drop(unit);
    let server = Server::start_in(&ledger, &[]);
    let unit = open(&unit_dir, &url(&server));
    let done = unit.sync_quiet();
    assert_eq!(done.cases_sent, 1, "{done:?}");
    assert!(done.refusals.is_empty(), "{done:?}");
    assert!(unit.pending().expect("pending").cases.is_empty());
    let http = server.http();
    let operator = http.login("operator");
    let view = http
        .get(&format!("/v1/cases/{ours}"), Some(&operator))
        .json();
    let state = &view["state"];
    assert!(state["acknowledged_at"].is_i64(), "{view}");
    let pending = &state["pending_extension"];
    assert_eq!(pending["event"], asked.as_str(), "{view}");
    assert_eq!(pending["by"], "unit1", "{view}");
    assert_eq!(pending["hours"], 3, "{view}");
    assert_eq!(pending["reason"], "waiting for a skip lorry", "{view}");
    let other = http
        .get(&format!("/v1/cases/{theirs}"), Some(&operator))
        .json();
    assert!(other["state"]["acknowledged_at"].is_null(), "{other}");
    assert!(other["state"]["pending_extension"].is_null(), "{other}");
}

/// Counts what a download tells through the FFI's progress callback.
#[derive(Default)]
struct Stages(std::sync::Mutex<Vec<String>>);

impl gridcase_client::SyncProgressListener for Stages {
    fn on_progress(&self, progress: gridcase_client::views::SyncProgress) {
        self.0.lock().expect("lock").push(progress.stage);
    }
}

/// A handheld syncs without photos, then opens one: `download_photo(sha)` through the FFI
/// brings that photo only (the other still waits), again is the same file with nothing
/// fetched, a photo no case names is `NotFound`; `download_photos` (in the background) fetches
/// the rest.
#[test]
fn a_handheld_downloads_the_photo_it_opens_on_demand() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let photo = |name: &str, fill: u8, size: usize| {
        let path = tmp.path().join(name);
        let bytes = vec![fill; size];
        std::fs::write(&path, &bytes).expect("photo");
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        (path.to_string_lossy().into_owned(), sha, bytes)
    };
    let (lamp, lamp_sha, lamp_bytes) = photo("lamp.jpg", 5, 40_000);
    let (drain, drain_sha, _) = photo("drain.jpg", 6, 30_000);
    let w1 = open(&tmp.path().join("w1"), &url(&server));
    w1.login("worker1", PASSWORD).expect("login");
    let lamp_case = report(&w1, "broken lamp", vec![lamp]);
    let drain_case = report(&w1, "blocked drain", vec![drain]);
    w1.sync(&|_, _, _| {}).expect("their sync");

    let handheld = gridcase_client::FieldClient::open(
        tmp.path().join("w2").to_string_lossy().into_owned(),
        url(&server),
    )
    .expect("open");
    handheld
        .login("worker2".into(), PASSWORD.into())
        .expect("login");
    let synced = handheld
        .sync_with_progress(
            gridcase_client::views::SyncOptions {
                download_photos: false,
            },
            Arc::new(Stages::default()),
        )
        .expect("sync without photos");
    assert_eq!(synced.cases_received, 2, "{synced:?}");
    assert_eq!(
        (synced.blobs_downloaded, synced.photos_to_download),
        (0, 2),
        "{synced:?}"
    );
    let mut waiting = handheld.pending().expect("pending").downloads;
    waiting.sort();
    let mut both = vec![lamp_sha.clone(), drain_sha.clone()];
    both.sort();
    assert_eq!(waiting, both);

    // The user opens the lamp's photo.
    let path = handheld
        .download_photo(lamp_sha.clone())
        .expect("download on demand")
        .expect("the server serves it");
    assert_eq!(std::fs::read(&path).expect("read"), lamp_bytes);
    assert_eq!(
        handheld.pending().expect("pending").downloads,
        vec![drain_sha.clone()],
        "only the photo opened came"
    );
    let lamp_detail = handheld.case_detail(lamp_case).expect("case");
    assert_eq!(lamp_detail.attachments[0].path.as_deref(), Some(&*path));
    let drain_detail = handheld.case_detail(drain_case.clone()).expect("case");
    assert!(drain_detail.attachments[0].path.is_none());
    // Opened again: the same file, at once.
    assert_eq!(
        handheld
            .download_photo(lamp_sha.clone())
            .expect("again")
            .as_deref(),
        Some(&*path)
    );
    let unknown = "0".repeat(64);
    assert!(
        matches!(
            handheld.download_photo(unknown),
            Err(ClientError::NotFound { .. })
        ),
        "a photo no case names"
    );

    // In the background: the rest.
    let stages = Arc::new(Stages::default());
    let rest = handheld.download_photos(stages.clone()).expect("the rest");
    assert_eq!(
        (
            rest.blobs_downloaded,
            rest.photo_bytes_received,
            rest.photos_to_download
        ),
        (1, 30_000, 0),
        "{rest:?}"
    );
    let mut told = stages.0.lock().expect("lock").clone();
    told.dedup();
    assert_eq!(told, ["others_photos", "done"]);
    assert!(handheld.pending().expect("pending").downloads.is_empty());
    let drain_detail = handheld.case_detail(drain_case).expect("case");
    assert!(drain_detail.attachments[0].path.is_some());
}

/// A server that has more syncs waiting than it can serve in time answers `503 busy` with
/// `Retry-After` (the server's `sync_door`); the handheld waits as asked, without using up its
/// retries, for at most `Retry::busy_for` in all. The transport answers as the server's door
/// does for the first sync requests, then lets them through to the real server.
#[test]
fn a_busy_server_is_waited_out_as_it_asks() {
    struct BusyFor {
        inner: BuiltinTransport,
        refusals: usize,
        syncs: AtomicUsize,
    }
    impl HttpTransport for BusyFor {
        fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            if request.url.contains("/v1/sync")
                && self.syncs.fetch_add(1, Ordering::SeqCst) < self.refusals
            {
                return Ok(HttpResponse {
                    status: 503,
                    headers: vec![gridcase_client::transport::HttpHeader {
                        name: "Retry-After".into(),
                        value: "1".into(),
                    }],
                    body: br#"{"code":"busy","message":"the server is busy: try again in 1 s"}"#
                        .to_vec(),
                });
            }
            self.inner.send(request)
        }
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let handheld = |name: &str, refusals: usize, busy_for: Duration| {
        let transport = Arc::new(BusyFor {
            inner: BuiltinTransport::new(),
            refusals,
            syncs: AtomicUsize::new(0),
        });
        let client = Client::open(tmp.path().join(name), &url(&server), transport.clone())
            .expect("open")
            .with_retry(Retry {
                attempts: 1,
                first_delay: Duration::from_millis(10),
                busy_for,
            });
        client.login("worker1", PASSWORD).expect("login");
        report(&client, "井盖缺失", vec![]);
        (client, transport)
    };

    // Two refusals of a second each, within a budget of five: the sync goes through with one
    // attempt, its case saved.
    let (patient, transport) = handheld("patient", 2, Duration::from_secs(5));
    let r = patient.sync_quiet();
    assert_eq!(r.cases_sent, 1, "{r:?}");
    assert!(patient.pending().expect("pending").cases.is_empty());
    assert!(transport.syncs.load(Ordering::SeqCst) >= 3);

    // Refused for longer than the budget: the sync stops with the server's answer, and the case
    // stays pending for the next one.
    let (hurried, _) = handheld("hurried", 100, Duration::from_secs(2));
    let err = hurried.sync(&|_, _, _| {}).err();
    assert!(
        matches!(&err, Some(ClientError::SyncInterrupted { cause, .. }) if cause == "server"),
        "{err:?}"
    );
    assert_eq!(hurried.pending().expect("pending").cases.len(), 1);
}
