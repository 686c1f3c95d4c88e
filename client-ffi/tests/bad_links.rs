//! Photos across a bad link: the real client and the real server with a degrading TCP proxy
//! between them (`gridcase_tests::proxy`). An upload that is cut every 200 KB resumes at the
//! byte the server kept, so few bytes cross twice; a download cut halfway leaves a partial file
//! and the next sync asks only for the rest. The report's byte counts are the proxy's; a
//! device's own work is on the server before others' photos start; progress only grows and
//! ends at its total; the field CLI's exit status tells a network failure from a refusal and
//! from a missing login, and `--retry-for` rides out a link that comes back.

use gridcase_client::client::{Client, Retry};
use gridcase_client::error::ClientError;
use gridcase_client::transport::BuiltinTransport;
use gridcase_client::views::{NewReport, SyncProgress, SyncReport};
use gridcase_tests::proxy::{Link, Proxy};
use gridcase_tests::{Server, PASSWORD};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

const PHOTO: usize = 3_000_000;
const CUT_EVERY: u64 = 200_000;

/// The report's bytes against the proxy's (which also counts HTTP headers and the small
/// requests around the bodies): within 5%.
fn close_to(report: u64, proxy: u64, what: &str) {
    let diff = report.abs_diff(proxy) as f64 / proxy.max(1) as f64;
    eprintln!(
        "{what}: report {report} B, proxy {proxy} B ({:.2}% apart)",
        diff * 100.0
    );
    assert!(diff < 0.05, "{what}: report {report} B vs proxy {proxy} B");
}

fn open(dir: &Path, url: &str) -> Client {
    Client::open_builtin(
        dir,
        url,
        BuiltinTransport::with_idle_timeout(Duration::from_secs(10)),
    )
    .expect("open")
    .with_retry(Retry {
        attempts: 3,
        first_delay: Duration::from_millis(10),
        ..Retry::default()
    })
}

/// Photo-like bytes: nothing a compressor could shrink.
fn photo_bytes() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while bytes.len() < PHOTO {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(PHOTO);
    bytes
}

#[test]
fn a_photo_crosses_a_link_that_keeps_cutting_and_a_cut_download_resumes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let proxy = Proxy::start(
        server.addr,
        Link {
            latency: Duration::from_millis(1),
            ..Link::default()
        },
    );
    let bytes = photo_bytes();
    let sha = hex::encode(Sha256::digest(&bytes));
    let photo = tmp.path().join("pothole.jpg");
    std::fs::write(&photo, &bytes).expect("photo");

    // Upload: the link cuts every connection after 200 KB either way.
    let w1 = open(&tmp.path().join("w1"), &proxy.url());
    w1.login("worker1", PASSWORD).expect("login");
    let case = w1
        .report(NewReport {
            channel: "patrol".into(),
            description: "pothole on a bad link".into(),
            grid: Some("g1".into()),
            photos: vec![photo.to_string_lossy().into_owned()],
            ..NewReport::default()
        })
        .expect("report");
    proxy.set_link(Link {
        latency: Duration::from_millis(1),
        cut_up_after: Some(CUT_EVERY),
        cut_down_after: Some(CUT_EVERY),
        ..Link::default()
    });
    let (up0, down0, cuts0) = (proxy.bytes_up(), proxy.bytes_down(), proxy.cuts());
    let report = w1
        .sync(&|_, _, _| {})
        .expect("sync across the cutting link");
    assert_eq!(report.blobs_uploaded, 1);
    assert!(report.own_work_on_server, "{report:?}");
    close_to(
        report.bytes_sent,
        proxy.bytes_up() - up0,
        "upload, bytes sent",
    );
    close_to(
        report.bytes_sent + report.bytes_received,
        proxy.bytes_up() - up0 + proxy.bytes_down() - down0,
        "upload, both ways",
    );
    assert_eq!(
        report.bytes_sent,
        report.case_bytes_sent + report.photo_bytes_sent
    );
    assert!(report.photo_bytes_sent >= PHOTO as u64, "{report:?}");
    assert!(w1.pending().expect("pending").uploads.is_empty());
    let sent = proxy.bytes_up() - up0;
    let cuts = proxy.cuts() - cuts0;
    let twice = sent.saturating_sub(PHOTO as u64);
    eprintln!(
        "upload: photo {PHOTO} B, sent {sent} B through the proxy ({twice} B beyond the photo: {:.2}%), {cuts} cuts",
        twice as f64 * 100.0 / PHOTO as f64
    );
    assert!(
        cuts as usize >= PHOTO / CUT_EVERY as usize - 1,
        "the link cut the upload ({cuts} cuts)"
    );
    assert!(
        twice < PHOTO as u64 / 10,
        "{twice} bytes beyond the photo's {PHOTO} crossed the link (cases, headers and resent bytes)"
    );

    // Download: the first connection is cut halfway, then the link goes dark; the sync fails
    // with the partial file kept.
    let w2_dir = tmp.path().join("w2");
    let w2 = open(&w2_dir, &proxy.url());
    proxy.set_link(Link::default());
    w2.login("worker2", PASSWORD).expect("login");
    proxy.set_link(Link {
        latency: Duration::from_millis(1),
        cut_down_after: Some(PHOTO as u64 / 2),
        dark_after_cuts: Some(1),
        ..Link::default()
    });
    let down0 = proxy.bytes_down();
    let failed = w2.sync(&|_, _, _| {});
    let partial = w2_dir.join("blobs").join(format!("{sha}.partial"));
    let kept = std::fs::metadata(&partial).map_or(0, |m| m.len());
    let first = proxy.bytes_down() - down0;
    eprintln!("download: cut after {first} B down, {kept} B kept in the partial file");
    // The failure says what was saved, what remains, and that a sync again continues.
    let Err(ClientError::SyncInterrupted { message, .. }) = failed else {
        panic!("the link went dark: {failed:?}");
    };
    let cut = w2.last_sync_report().expect("what the cut sync did");
    let remaining = w2.pending().expect("pending");
    eprintln!("download: {message}");
    assert!(message.contains("Run sync again"), "{message}");
    assert!(message.contains("1 photo(s) to download"), "{message}");
    assert_eq!(remaining.downloads, vec![sha.clone()]);
    assert_eq!(cut.photo_bytes_received, kept, "{cut:?}");
    assert_eq!(cut.cases_received, 1, "the case itself is saved: {cut:?}");
    close_to(cut.bytes_received, first, "cut download, bytes received");
    assert!(
        kept > PHOTO as u64 / 4 && kept < PHOTO as u64,
        "about half the photo is kept: {kept}"
    );
    assert!(
        w2.case(&case).expect("the case synced").attachments[0]
            .path
            .is_none(),
        "not shown before it is whole"
    );

    // The link is back: the next sync asks for the rest only.
    proxy.set_link(Link {
        latency: Duration::from_millis(1),
        ..Link::default()
    });
    let down1 = proxy.bytes_down();
    let report = w2
        .sync(&|_, _, _| {})
        .expect("sync after the link came back");
    assert_eq!(report.blobs_downloaded, 1);
    let rest = proxy.bytes_down() - down1;
    close_to(
        report.bytes_received,
        rest,
        "resumed download, bytes received",
    );
    assert_eq!(report.photo_bytes_received, PHOTO as u64 - kept);
    let missing = PHOTO as u64 - kept;
    eprintln!("download: resumed with {rest} B down for the {missing} B missing");
    assert!(rest >= missing, "{rest} < {missing}");
    assert!(
        rest < missing + 64 * 1024,
        "only the rest crossed the link: {rest} B for {missing} B missing"
    );
    assert!(!partial.exists());
    let path = w2.case(&case).expect("case").attachments[0]
        .path
        .clone()
        .expect("downloaded");
    assert_eq!(std::fs::read(path).expect("read"), bytes);
}

/// Timeouts follow progress: on a link slower than the idle timeout would allow for a whole
/// transfer, a photo still crosses both ways as long as bytes keep moving.
#[test]
fn a_slow_link_takes_longer_than_the_idle_timeout_and_still_finishes() {
    const SMALL: usize = 450_000;
    const IDLE: Duration = Duration::from_secs(2);
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let proxy = Proxy::start(server.addr, Link::default());
    let bytes = photo_bytes()[..SMALL].to_vec();
    let photo = tmp.path().join("drain.jpg");
    std::fs::write(&photo, &bytes).expect("photo");
    let slow = Link {
        latency: Duration::from_millis(2),
        bandwidth: Some(150_000),
        ..Link::default()
    };
    let on_slow_link = |dir: &Path, user: &str| {
        // Logged in on a plain link (password hashing may take longer than IDLE), then the
        // same store with the short idle timeout.
        open(dir, &proxy.url())
            .login(user, PASSWORD)
            .expect("login");
        Client::open_builtin(dir, &proxy.url(), BuiltinTransport::with_idle_timeout(IDLE))
            .expect("open")
            .with_retry(Retry {
                attempts: 1,
                first_delay: Duration::from_millis(10),
                ..Retry::default()
            })
    };

    let w1 = on_slow_link(&tmp.path().join("w1"), "worker1");
    let case = w1
        .report(NewReport {
            channel: "patrol".into(),
            description: "blocked drain".into(),
            grid: Some("g1".into()),
            photos: vec![photo.to_string_lossy().into_owned()],
            ..NewReport::default()
        })
        .expect("report");
    proxy.set_link(slow.clone());
    let started = std::time::Instant::now();
    let report = w1.sync(&|_, _, _| {}).expect("upload on a slow link");
    let took = started.elapsed();
    eprintln!("upload of {SMALL} B at 150 KB/s took {took:?} with a {IDLE:?} idle timeout");
    assert_eq!(report.blobs_uploaded, 1);
    assert!(took > IDLE, "the transfer outlasted the idle timeout");
    assert_eq!(proxy.cuts(), 0);

    proxy.set_link(Link::default());
    let w2 = on_slow_link(&tmp.path().join("w2"), "worker2");
    proxy.set_link(slow);
    let started = std::time::Instant::now();
    let report = w2.sync(&|_, _, _| {}).expect("download on a slow link");
    let took = started.elapsed();
    eprintln!("download of {SMALL} B at 150 KB/s took {took:?} with a {IDLE:?} idle timeout");
    assert_eq!(report.blobs_downloaded, 1);
    assert!(took > IDLE);
    let path = w2.case(&case).expect("case").attachments[0]
        .path
        .clone()
        .expect("downloaded");
    assert_eq!(std::fs::read(path).expect("read"), bytes);
}

/// An app's own transport hands over whole answers, so a cut loses the request's bytes: the
/// photo is asked for in pieces sized to the link, and a link that cuts every 200 KB still
/// brings it whole.
#[test]
fn an_apps_transport_downloads_in_pieces_across_a_cutting_link() {
    const SIZE: usize = 1_000_000;
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let proxy = Proxy::start(server.addr, Link::default());
    let bytes = photo_bytes()[..SIZE].to_vec();
    let photo = tmp.path().join("sign.jpg");
    std::fs::write(&photo, &bytes).expect("photo");
    let w1 = open(&tmp.path().join("w1"), &proxy.url());
    w1.login("worker1", PASSWORD).expect("login");
    let case = w1
        .report(NewReport {
            channel: "patrol".into(),
            description: "fallen sign".into(),
            grid: Some("g1".into()),
            photos: vec![photo.to_string_lossy().into_owned()],
            ..NewReport::default()
        })
        .expect("report");
    w1.sync(&|_, _, _| {}).expect("upload");

    let w2 = Client::open(
        tmp.path().join("w2"),
        &proxy.url(),
        std::sync::Arc::new(BuiltinTransport::new()),
    )
    .expect("open")
    .with_retry(Retry {
        attempts: 3,
        first_delay: Duration::from_millis(10),
        ..Retry::default()
    });
    w2.login("worker2", PASSWORD).expect("login");
    proxy.set_link(Link {
        latency: Duration::from_millis(1),
        cut_down_after: Some(CUT_EVERY),
        ..Link::default()
    });
    let (down0, cuts0) = (proxy.bytes_down(), proxy.cuts());
    let report = w2
        .sync(&|_, _, _| {})
        .expect("download across the cutting link");
    assert_eq!(report.blobs_downloaded, 1);
    let down = proxy.bytes_down() - down0;
    let cuts = proxy.cuts() - cuts0;
    eprintln!(
        "app transport download: photo {SIZE} B, {down} B down ({:.1}% more), {cuts} cuts",
        (down as f64 - SIZE as f64) * 100.0 / SIZE as f64
    );
    assert!(cuts >= 3, "the link cut the download ({cuts} cuts)");
    assert!(
        down < SIZE as u64 * 2,
        "a cut costs at most a piece: {down} B for {SIZE} B"
    );
    let path = w2.case(&case).expect("case").attachments[0]
        .path
        .clone()
        .expect("downloaded");
    assert_eq!(std::fs::read(path).expect("read"), bytes);
}

/// Records what a sync tells through the FFI's progress callback.
#[derive(Default)]
struct Recorder {
    seen: std::sync::Mutex<Vec<SyncProgress>>,
    /// Run when the sync says this device's work is on the server.
    on_saved: std::sync::Mutex<Option<Box<dyn FnMut() + Send>>>,
}

impl gridcase_client::SyncProgressListener for Recorder {
    fn on_progress(&self, progress: SyncProgress) {
        if progress.stage == "saved" {
            if let Some(check) = self.on_saved.lock().expect("lock").as_mut() {
                check();
            }
        }
        self.seen.lock().expect("lock").push(progress);
    }
}

fn photo_file(dir: &Path, name: &str, size: usize, seed: u8) -> (String, String) {
    let mut bytes = photo_bytes()[..size].to_vec();
    bytes[4..].iter_mut().for_each(|b| *b ^= seed);
    let path = dir.join(name);
    std::fs::write(&path, &bytes).expect("photo");
    (
        path.to_string_lossy().into_owned(),
        hex::encode(Sha256::digest(&bytes)),
    )
}

/// Text nothing compresses much: the bytes of a case that carries it show in the counts.
fn noisy_text(seed: u64, chars: usize) -> String {
    let mut x = seed | 1;
    (0..chars)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// A workstation with its own case and photo syncs on a slow link while another worker's cases
/// and photo wait on the server: its case and photo are on the server (checked there, behind
/// the link's back) when the sync says "saved", before a byte of the other cases or photo came
/// down (none of their cases is on the workstation yet, and the case bytes received by then
/// are a small part of those received after); they all come after; the progress callback only
/// grows, each photo stage ends at its total, and the report's bytes are the proxy's.
#[test]
fn own_work_is_on_the_server_before_others_photos_start_and_progress_adds_up() {
    const THEIRS: usize = 600_000;
    const OURS: usize = 400_000;
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let proxy = Proxy::start(server.addr, Link::default());
    let (their_photo, their_sha) = photo_file(tmp.path(), "theirs.jpg", THEIRS, 1);
    let (our_photo, our_sha) = photo_file(tmp.path(), "ours.jpg", OURS, 2);

    let w1 = open(&tmp.path().join("w1"), &proxy.url());
    w1.login("worker1", PASSWORD).expect("login");
    let their_pothole = w1
        .report(NewReport {
            channel: "patrol".into(),
            description: "their pothole".into(),
            grid: Some("g1".into()),
            photos: vec![their_photo],
            ..NewReport::default()
        })
        .expect("report");
    // Two more of their cases, with long descriptions: what they weigh is clear in the counts.
    let mut theirs = vec![their_pothole];
    for seed in [11, 12] {
        theirs.push(
            w1.report(NewReport {
                channel: "patrol".into(),
                description: noisy_text(seed, 3_000),
                grid: Some("g1".into()),
                ..NewReport::default()
            })
            .expect("report"),
        );
    }
    w1.sync(&|_, _, _| {}).expect("their sync");

    // The workstation, through the library's FFI surface.
    let desk = gridcase_client::FieldClient::open(
        tmp.path().join("w2").to_string_lossy().into_owned(),
        proxy.url(),
    )
    .expect("open");
    desk.login("worker2".into(), PASSWORD.into())
        .expect("login");
    let ours = desk
        .report(NewReport {
            channel: "patrol".into(),
            description: "our blocked drain".into(),
            grid: Some("g1".into()),
            photos: vec![our_photo],
            ..NewReport::default()
        })
        .expect("report");
    let http = server.http();
    let operator = http.login("operator");
    let recorder = std::sync::Arc::new(Recorder::default());
    let (up0, down0) = (proxy.bytes_up(), proxy.bytes_down());
    let at_saved = std::sync::Arc::new(std::sync::Mutex::new(None::<u64>));
    {
        let (at_saved, ours, our_sha, operator) = (
            at_saved.clone(),
            ours.clone(),
            our_sha.clone(),
            operator.clone(),
        );
        let (desk, theirs) = (desk.clone(), theirs.clone());
        let counts = proxy.counts();
        *recorder.on_saved.lock().expect("lock") = Some(Box::new(move || {
            // Nothing of their cases came down with the answers to ours.
            for case in &theirs {
                assert!(
                    matches!(
                        desk.case_detail(case.clone()),
                        Err(ClientError::NotFound { .. })
                    ),
                    "their case {case} is on the workstation before its own work was saved"
                );
            }
            // Behind the link's back: the server holds our case and our whole photo.
            let case = http.get(&format!("/v1/cases/{ours}"), Some(&operator));
            assert_eq!(
                case.status,
                200,
                "our case is on the server: {}",
                case.text()
            );
            let blob = http.get(&format!("/v1/blobs/{our_sha}"), Some(&operator));
            assert_eq!(blob.status, 200);
            assert_eq!(blob.body.len(), OURS, "our photo is on the server, whole");
            *at_saved.lock().expect("lock") = Some(counts.down() - down0);
        }));
    }
    proxy.set_link(Link {
        latency: Duration::from_millis(2),
        bandwidth: Some(2_000_000),
        ..Link::default()
    });
    let report = desk
        .sync_with_progress(
            gridcase_client::views::SyncOptions::default(),
            recorder.clone(),
        )
        .expect("sync");
    let (up, down) = (proxy.bytes_up() - up0, proxy.bytes_down() - down0);
    assert_eq!((report.blobs_uploaded, report.blobs_downloaded), (1, 1));
    let came_before = at_saved
        .lock()
        .expect("lock")
        .expect("the sync said the work was saved");
    eprintln!(
        "saved after {:?} ms with {came_before} B down; then {} B of their photo came",
        report.own_work_saved_ms, report.photo_bytes_received
    );
    assert!(
        came_before < (THEIRS / 4) as u64,
        "{came_before} B came down before our work was saved: their photo had started"
    );
    // Their cases came after, in the others' stage: the case bytes received before "saved"
    // (the answers about our own case) are a small part of the case bytes of the sync.
    assert_eq!(report.cases_received, 3, "{report:?}");
    for case in &theirs {
        desk.case_detail(case.clone())
            .expect("their case came after ours was saved");
    }
    let seen = recorder.seen.lock().expect("lock").clone();
    let before_saved = seen
        .iter()
        .find(|p| p.stage == "saved")
        .expect("saved")
        .bytes_received;
    let cases_after = seen
        .iter()
        .rev()
        .find(|p| p.stage == "others_cases")
        .expect("others' cases")
        .bytes_done;
    eprintln!(
        "case bytes received: {before_saved} B before saved (with the photo upload's answers), \
         others' cases stage moved {cases_after} B both ways, of {} B of cases received in all",
        report.case_bytes_received
    );
    assert!(
        before_saved * 4 < report.case_bytes_received,
        "{before_saved} B came down before saved, of {} B of cases: others' cases came first",
        report.case_bytes_received
    );
    assert!(report.own_work_on_server);
    close_to(report.bytes_sent, up, "own work up");
    close_to(report.bytes_received, down, "their photo down");
    close_to(
        report.bytes_sent + report.bytes_received,
        up + down,
        "both ways",
    );
    assert_eq!(report.photo_bytes_sent, OURS as u64);
    assert_eq!(report.photo_bytes_received, THEIRS as u64);

    // The stages in order, each growing, photo stages ending at their totals.
    let mut stages: Vec<&str> = seen.iter().map(|p| p.stage.as_str()).collect();
    stages.dedup();
    assert_eq!(
        stages,
        [
            "own_cases",
            "own_photos",
            "saved",
            "others_cases",
            "others_photos",
            "done"
        ],
        "{seen:#?}"
    );
    for pair in seen.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(b.bytes_sent >= a.bytes_sent && b.bytes_received >= a.bytes_received);
        if a.stage == b.stage {
            assert!(b.bytes_done >= a.bytes_done, "{a:?} then {b:?}");
            assert!(b.items_done >= a.items_done, "{a:?} then {b:?}");
        }
    }
    for (stage, total) in [("own_photos", OURS), ("others_photos", THEIRS)] {
        let last = seen
            .iter()
            .rev()
            .find(|p| p.stage == stage)
            .expect("the stage");
        assert_eq!(last.bytes_total, total as u64, "{last:?}");
        assert_eq!(last.bytes_done, last.bytes_total, "{last:?}");
        assert_eq!((last.items_done, last.items_total), (1, 1), "{last:?}");
        assert!(last.bytes_per_second > 0, "{last:?}");
        let during = seen.iter().filter(|p| p.stage == stage).count();
        assert!(during >= 3, "{stage} told {during} times");
    }
    assert!(desk
        .pending()
        .expect("pending")
        .downloads
        .iter()
        .all(|d| *d != their_sha));
}

/// Requests other than a photo's bytes have a total bound besides the idle timeout: a link
/// that trickles bytes (never idle) cannot hold a sync forever.
#[test]
fn a_sync_request_that_trickles_is_bounded_in_total() {
    const CAP: Duration = Duration::from_secs(2);
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let proxy = Proxy::start(server.addr, Link::default());
    let dir = tmp.path().join("w1");
    open(&dir, &proxy.url())
        .login("worker1", PASSWORD)
        .expect("login");
    let w1 = Client::open_builtin(
        &dir,
        &proxy.url(),
        BuiltinTransport::with_idle_timeout(Duration::from_secs(2)).with_request_cap(CAP),
    )
    .expect("open")
    .with_retry(Retry {
        attempts: 1,
        first_delay: Duration::from_millis(10),
        ..Retry::default()
    });
    w1.report(NewReport {
        channel: "patrol".into(),
        description: "a trickle".into(),
        grid: Some("g1".into()),
        ..NewReport::default()
    })
    .expect("report");
    // 50 bytes every quarter second: never idle for 2 s, and a request of a few hundred
    // bytes takes longer than the cap.
    proxy.set_link(Link {
        bandwidth: Some(200),
        chunk: 50,
        ..Link::default()
    });
    let started = std::time::Instant::now();
    let outcome = w1.sync(&|_, _, _| {});
    let took = started.elapsed();
    eprintln!("a trickling sync gave up after {took:?} (cap {CAP:?})");
    assert!(
        matches!(outcome, Err(ClientError::SyncInterrupted { .. })),
        "{outcome:?}"
    );
    assert!(took >= CAP && took < CAP * 3, "{took:?}");
    proxy.set_link(Link::default());
    let report = w1.sync(&|_, _, _| {}).expect("the link is back");
    assert_eq!(report.cases_sent, 1);
}

/// The field CLI's exit status says what to do: 2 log in, 3 the network failed (run it again:
/// it continues), 4 refused; `--retry-for` keeps trying until the link comes back, and
/// `--json --progress` streams one JSON object a line, the report last.
#[test]
fn the_field_cli_tells_a_network_failure_from_a_refusal_and_from_no_login() {
    use std::process::{Command, Output};
    const SIZE: usize = 300_000;
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let proxy = Proxy::start(server.addr, Link::default());
    let dir = tmp.path().join("desk");
    let field = |args: &[&str]| -> (Output, Vec<serde_json::Value>) {
        let out = Command::new(env!("CARGO_BIN_EXE_gridcase-field"))
            .arg("--data-dir")
            .arg(&dir)
            .args(["--server", &proxy.url(), "--idle-timeout", "2", "--json"])
            .args(args)
            .env("GRIDCASE_PASSWORD", PASSWORD)
            .output()
            .expect("run gridcase-field");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // One object a line with --progress; one pretty object otherwise.
        let values = match serde_json::from_str(&text) {
            Ok(v) => vec![v],
            Err(_) => text
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect(),
        };
        (out, values)
    };
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();

    let (out, said) = field(&["sync"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(said[0]["category"], "not_logged_in");

    let (out, _) = field(&["login", "worker1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (photo, _) = photo_file(tmp.path(), "wall.jpg", SIZE, 3);
    let (out, made) = field(&[
        "new",
        "--description",
        "graffiti on the wall",
        "--grid",
        "g1",
        "--photo",
        &photo,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let case = made[0]["case"].as_str().expect("case id").to_owned();

    // The link is gone: exit 3, saying what remains and that a sync again continues.
    proxy.set_link(Link {
        dark_after_cuts: Some(0),
        ..Link::default()
    });
    let (out, said) = field(&["sync"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(said[0]["category"], "network", "{}", said[0]);
    assert_eq!(said[0]["remaining"]["cases"], serde_json::json!([case]));
    assert!(err.contains("Run sync again"), "{err}");
    assert!(
        err.contains("1 case(s) to send, 1 photo(s) to upload"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // It comes back while --retry-for keeps trying.
    let (out, lines) = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(2500));
            proxy.set_link(Link::default());
        });
        field(&["sync", "--retry-for", "60s", "--progress"])
    });
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let kinds: Vec<&str> = lines.iter().filter_map(|l| l["type"].as_str()).collect();
    assert!(kinds.contains(&"retry"), "{kinds:?}");
    assert!(kinds.iter().filter(|k| **k == "progress").count() >= 3);
    assert_eq!(kinds.last(), Some(&"report"), "{kinds:?}");
    let report: SyncReport = {
        let mut last = lines.last().expect("report").clone();
        last.as_object_mut().expect("object").remove("type");
        let v = last;
        SyncReport {
            cases_sent: v["cases_sent"].as_u64().unwrap_or(0) as u32,
            blobs_uploaded: v["blobs_uploaded"].as_u64().unwrap_or(0) as u32,
            photo_bytes_sent: v["photo_bytes_sent"].as_u64().unwrap_or(0),
            own_work_on_server: v["own_work_on_server"].as_bool().unwrap_or(false),
            ..SyncReport::default()
        }
    };
    assert_eq!(report.cases_sent, 1, "{:?}", lines.last());
    assert_eq!(report.blobs_uploaded, 1);
    assert_eq!(report.photo_bytes_sent, SIZE as u64);
    assert!(report.own_work_on_server);
    assert!(
        lines.iter().any(|l| l["stage"] == "saved"),
        "the sync said when the work was on the server"
    );

    // Refused: the user's scope moved away from the grid; the sync runs, the case is refused.
    let http = server.http();
    let admin = http.login("admin");
    let moved = http.json(
        "POST",
        "/v1/admin/users",
        Some(&admin),
        Some(
            serde_json::json!({"id": "worker1", "name": "网格员一", "role": "grid_worker",
            "scope": {"level": "grids", "id": ["g4"]}, "revoke_previous_scopes": true}),
        ),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    let (out, _) = field(&["new", "--description", "left behind", "--grid", "g1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (out, said) = field(&["sync"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(
        said[0]["refusals"][0]["code"], "scope_revoked",
        "{}",
        said[0]
    );
}
