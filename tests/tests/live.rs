//! `GET /v1/changes` against the real server: a listener hears each durable case change in its
//! scope and nothing outside it, and open streams do not hold up a graceful shutdown.

use gridcase_tests::{listen, Http, Server};
use serde_json::{json, Value};
use std::sync::mpsc;
use std::time::Duration;

fn open(http: &Http, token: &str, grid: &str, description: &str) -> String {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(token),
        Some(json!({"channel": "hotline", "description": description, "grid": grid})),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["case"].as_str().expect("case id").to_owned()
}

#[test]
fn listeners_hear_durable_changes_in_their_scope_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");
    let worker3 = http.login("worker3");
    let center = listen(&server, &operator);
    let grid4 = listen(&server, &worker3);
    // Let both streams connect before the first change.
    std::thread::sleep(Duration::from_millis(300));

    let in_g1 = open(&http, &operator, "g1", "lamp out on the corner");
    let heard = center
        .recv_timeout(Duration::from_secs(10))
        .expect("the center hears the new case");
    assert_eq!(heard["case"], in_g1.as_str());
    assert!(heard["seq"].as_u64().is_some_and(|s| s > 0));

    let in_g4 = open(&http, &operator, "g4", "bench broken in the park");
    let heard = grid4
        .recv_timeout(Duration::from_secs(10))
        .expect("the g4 worker hears the g4 case");
    assert_eq!(
        heard["case"],
        in_g4.as_str(),
        "the g1 case never reached a g4 worker"
    );
    assert_eq!(
        center
            .recv_timeout(Duration::from_secs(10))
            .expect("center")["case"],
        in_g4.as_str()
    );

    assert!(
        server.stop().success(),
        "open event streams end when the server stops"
    );
}

/// Waits for the stream to end; fails if it delivers a case meanwhile.
fn ends_without_delivering(rx: &mpsc::Receiver<Value>, who: &str) {
    match rx.recv_timeout(Duration::from_secs(10)) {
        Err(mpsc::RecvTimeoutError::Disconnected) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{who}: the stream stayed open"),
        Ok(v) => panic!("{who}: the stream still named a case: {v}"),
    }
}

#[test]
fn streams_end_when_their_user_is_disabled_moved_or_their_device_revoked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");
    let admin = http.login("admin");
    let worker1 = http.login("worker1");
    let worker2 = http.login("worker2");
    let device = gridcase_tests::Device::register(&server, "community1");
    let moved = listen(&server, &worker1);
    let disabled = listen(&server, &worker2);
    let revoked = listen(&server, &device.token);
    std::thread::sleep(Duration::from_millis(300));
    let first = open(&http, &operator, "g1", "first");
    for rx in [&moved, &disabled, &revoked] {
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)).expect("heard")["case"],
            first.as_str()
        );
    }

    gridcase_tests::scenario::move_to_grid(&http, "worker1", "网格员一", "g4");
    let r = http.json(
        "POST",
        "/v1/admin/users/worker2/disable",
        Some(&admin),
        None,
    );
    assert!(r.status < 300, "{}", r.text());
    let r = http.json(
        "POST",
        &format!("/v1/admin/devices/{}/revoke", device.device_id),
        Some(&admin),
        None,
    );
    assert!(r.status < 300, "{}", r.text());

    open(&http, &operator, "g1", "after the change");
    ends_without_delivering(&moved, "moved to g4");
    ends_without_delivering(&disabled, "disabled");
    ends_without_delivering(&revoked, "device revoked");
}
