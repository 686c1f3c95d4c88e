//! Who may write a photo's bytes: only the user who attached it, with the size the attachment
//! declares. Any reader of the case may fetch it; nobody else can fill its partial upload with
//! other bytes (which would fail the hash at the end, or stall the honest upload for good).

use gridcase_sync_core::commands::Blob;
use gridcase_tests::scenario::{now, patrol};
use gridcase_tests::{Device, Server};
use sha2::{Digest, Sha256};

#[test]
fn only_the_attachments_author_uploads_its_declared_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let worker1 = Device::register(&server, "worker1");
    let worker2 = Device::register(&server, "worker2");
    let photo: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = hex::encode(Sha256::digest(&photo));
    let case = worker2.open(patrol("井盖破损"), now());
    let blob = Blob {
        sha256: sha.clone(),
        mime: "image/png".into(),
        size: photo.len() as u64,
        name: Some("井盖.png".into()),
    };
    worker2.attach(&case, vec![blob], now()).expect("attach");
    worker2.sync().expect("the case reaches the server");
    worker1
        .sync()
        .expect("worker1, in the same grid, receives it");

    let put = |device: &Device, length: usize, body: &[u8]| {
        device
            .http
            .send(
                "PUT",
                &format!("/v1/blobs/{sha}"),
                Some(&device.token),
                &[
                    ("upload-offset", "0"),
                    ("upload-length", &length.to_string()),
                ],
                Some(body.to_vec()),
            )
            .expect("HTTP")
    };
    let junk = vec![0u8; 1000];
    let r = put(&worker1, photo.len(), &junk);
    assert_eq!(r.status, 403, "another reader of the case: {}", r.text());
    let r = put(&worker2, photo.len() + 1, &junk);
    assert_eq!(r.status, 403, "not the declared size: {}", r.text());
    let state = worker2
        .http
        .get(&format!("/v1/blobs/{sha}/upload"), Some(&worker2.token))
        .json();
    assert_eq!(
        state["offset"], 0,
        "nothing of the refused bytes kept: {state}"
    );

    let r = put(&worker2, photo.len(), &photo);
    assert!(r.status < 300, "{}", r.text());
    let fetched = worker1
        .http
        .get(&format!("/v1/blobs/{sha}"), Some(&worker1.token));
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, photo, "any reader of the case fetches it");
}
