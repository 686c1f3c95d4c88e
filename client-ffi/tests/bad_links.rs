//! Photos across a bad link: the real client and the real server with a degrading TCP proxy
//! between them (`gridcase_tests::proxy`). An upload that is cut every 200 KB resumes at the
//! byte the server kept, so few bytes cross twice; a download cut halfway leaves a partial file
//! and the next sync asks only for the rest.

use gridcase_client::client::{Client, Retry};
use gridcase_client::transport::BuiltinTransport;
use gridcase_client::views::NewReport;
use gridcase_tests::proxy::{Link, Proxy};
use gridcase_tests::{Server, PASSWORD};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

const PHOTO: usize = 3_000_000;
const CUT_EVERY: u64 = 200_000;

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
    let (up0, cuts0) = (proxy.bytes_up(), proxy.cuts());
    let report = w1
        .sync(&|_, _, _| {})
        .expect("sync across the cutting link");
    assert_eq!(report.blobs_uploaded, 1);
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
    assert!(failed.is_err(), "the link went dark: {failed:?}");
    let partial = w2_dir.join("blobs").join(format!("{sha}.partial"));
    let kept = std::fs::metadata(&partial).map_or(0, |m| m.len());
    let first = proxy.bytes_down() - down0;
    eprintln!("download: cut after {first} B down, {kept} B kept in the partial file");
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
