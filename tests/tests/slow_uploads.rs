//! Many photos uploading at once on slow links hold no thread each: their bodies are awaited,
//! and only the writes of what arrived take a blocking thread, a few at a time. Before, each
//! upload held a blocking thread (a heap of its own) for as long as its body took, and 2,000
//! handhelds reconnecting grew the server past 1 GB.

use gridcase_sync_core::commands::Blob;
use gridcase_tests::scenario::{now, patrol};
use gridcase_tests::{Device, Server};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Uploads under way at once, each stalled after its first bytes.
const UPLOADS: usize = 80;
const SIZE: usize = 5_000;
/// Bytes each upload sends before its link stalls.
const FIRST: usize = 1_000;
/// Threads the server may add while the uploads stall: the blob writers (8 at once), the
/// status requests the test sends at once, and room for the store's own. Far below one per
/// upload.
const MORE_THREADS: usize = 32;
/// Status requests at once.
const ASKERS: usize = 8;

fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Threads line")
}

#[test]
fn stalled_uploads_hold_no_thread_each_and_keep_what_arrived() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Requests outlive the stall however slow the machine is.
    let server = Server::start_in(&tmp.path().join("ledger"), &["--request-timeout", "600"]);
    let worker = Device::register(&server, "worker1");
    let photos: Vec<Vec<u8>> = (0..UPLOADS)
        .map(|n| (0..SIZE).map(|i| ((i * 7 + n * 13) % 251) as u8).collect())
        .collect();
    let shas: Vec<String> = photos
        .iter()
        .map(|p| hex::encode(Sha256::digest(p)))
        .collect();
    let case = worker.open(patrol("许多照片"), now() - 1_000);
    for batch in shas.chunks(20) {
        let blobs = batch
            .iter()
            .map(|sha| Blob {
                sha256: sha.clone(),
                mime: "image/png".into(),
                size: SIZE as u64,
                name: None,
            })
            .collect();
        worker.attach(&case, blobs, now()).expect("attach");
    }
    worker.sync().expect("the case reaches the server");
    let before = threads(server.pid());

    // Every upload sends its headers and first bytes, then its link stalls.
    let mut links: Vec<TcpStream> = shas
        .iter()
        .zip(&photos)
        .map(|(sha, photo)| {
            let mut link = TcpStream::connect(server.addr).expect("connect");
            let head = format!(
                "PUT /v1/blobs/{sha} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\n\
                 content-type: application/octet-stream\r\nupload-offset: 0\r\n\
                 upload-length: {SIZE}\r\ncontent-length: {SIZE}\r\nconnection: close\r\n\r\n",
                server.addr, worker.token
            );
            link.write_all(head.as_bytes()).expect("head");
            link.write_all(&photo[..FIRST]).expect("first bytes");
            link
        })
        .collect();

    // The server stores what arrived while the bodies are still open: every upload is under
    // way (past its checks, holding its blob's turn).
    std::thread::scope(|scope| {
        for asker in 0..ASKERS {
            let (http, token, shas) = (server.http(), &worker.token, &shas);
            scope.spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(120);
                for sha in shas.iter().skip(asker).step_by(ASKERS) {
                    loop {
                        let r = http.get(&format!("/v1/blobs/{sha}/upload"), Some(token));
                        assert_eq!(r.status, 200, "{}", r.text());
                        if r.json()["offset"] == FIRST {
                            break;
                        }
                        assert!(
                            Instant::now() < deadline,
                            "the first bytes of {sha} were never stored: {}",
                            r.text()
                        );
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            });
        }
    });
    let during = threads(server.pid());
    eprintln!("{UPLOADS} stalled uploads: {before} threads before, {during} during");
    assert!(
        during <= before + MORE_THREADS,
        "{UPLOADS} stalled uploads took the server from {before} to {during} threads"
    );

    // The links come back: every upload ends whole, from the bytes kept before the stall.
    for ((link, photo), sha) in links.iter_mut().zip(&photos).zip(&shas) {
        link.write_all(&photo[FIRST..]).expect("the rest");
        let mut answer = String::new();
        link.read_to_string(&mut answer).expect("answer");
        assert!(answer.starts_with("HTTP/1.1 200"), "{sha}: {answer}");
        assert!(
            answer.contains(&format!(r#""complete":true,"offset":{SIZE}"#)),
            "{sha}: {answer}"
        );
    }
    let http = server.http();
    let fetched = http.get(&format!("/v1/blobs/{}", shas[7]), Some(&worker.token));
    assert_eq!(fetched.status, 200);
    assert!(
        fetched.body == photos[7],
        "the photo reads back byte for byte"
    );
}
