//! Errors say what went wrong, not how the server is built: an internal failure (here a
//! corrupt stored record) answers `internal` with a request id the log carries, never the
//! store's or serde's text, and is not blamed on the client; refused tokens say why in plain
//! words.

use gridcase_sync_core::store::{key_part, Batch};
use gridcase_tests::Server;
use serde_json::json;

/// Starts a server that logs to `log` at `info` (the binary's default level). The variable is
/// read at start; the lock keeps the tests of this file from swapping it under each other.
fn start_logging(data: &std::path::Path, log: &std::path::Path) -> Server {
    static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ENV.lock().unwrap_or_else(|e| e.into_inner());
    std::env::set_var("GRIDCASE_TEST_SERVER_LOG", log);
    let server = Server::start_in(data, &[]);
    std::env::remove_var("GRIDCASE_TEST_SERVER_LOG");
    server
}

#[test]
fn a_corrupt_stored_record_is_an_internal_error_with_a_request_id() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = tmp.path().join("server.log");
    let data = tmp.path().join("ledger");
    let server = Server::start_in(&data, &[]);
    let http = server.http();
    let operator = http.login("operator");
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(&operator),
        Some(json!({"channel": "hotline", "description": "lamp", "grid": "g1"})),
    );
    assert_eq!(r.status, 201);
    let case = r.json()["case"].as_str().expect("case").to_owned();
    assert!(server.stop().success());
    {
        let store = gridcase_tests::ledger_store(&data);
        let mut b = Batch::new();
        b.put(
            "ledger_summaries",
            key_part(&case),
            b"{\"not\": a summary".to_vec(),
        );
        store.commit(b).expect("corrupt");
    }
    let server = start_logging(&data, &log);
    let http = server.http();
    let operator = http.login("operator");
    let r = http.get("/v1/cases", Some(&operator));
    assert_eq!(r.status, 500, "{}", r.text());
    let body = r.json();
    assert_eq!(body["code"], "internal");
    let id = body["request_id"]
        .as_str()
        .expect("a request id")
        .to_owned();
    assert_eq!(r.header("x-request-id"), Some(id.as_str()));
    let message = body["message"].as_str().expect("message");
    for internal in ["json", "expected", "sled", "line", "column"] {
        assert!(
            !message.to_lowercase().contains(internal),
            "the answer tells how we are built: {message}"
        );
    }
    drop(server);
    let logged = std::fs::read_to_string(&log).expect("server log");
    assert!(
        logged
            .lines()
            .any(|l| l.contains(&id) && l.contains("request failed")),
        "the log line carries the request id {id}"
    );
}

#[test]
fn refused_tokens_and_bodies_say_why_without_library_internals() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(tmp.path(), &[]);
    let http = server.http();
    let token = http.login("operator");
    let claims = token.split('.').nth(1).expect("claims");
    // {"alg":"none","typ":"JWT"}
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}.");
    let r = http.get("/v1/me", Some(&alg_none));
    assert_eq!(r.status, 401);
    let message = r.json()["message"].as_str().expect("message").to_owned();
    assert_eq!(message, "the token is invalid");
    let r = http.send(
        "POST",
        "/v1/auth/login",
        None,
        &[("content-type", "application/json")],
        Some(b"{not json".to_vec()),
    );
    let r = r.expect("post");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "the body is not valid JSON");
}

#[test]
fn the_default_log_level_writes_no_line_per_request() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = tmp.path().join("server.log");
    let server = start_logging(&tmp.path().join("ledger"), &log);
    let http = server.http();
    for _ in 0..200 {
        assert_eq!(http.get("/healthz", None).status, 200);
    }
    let token = http.login("operator");
    for _ in 0..50 {
        assert_eq!(http.get("/v1/cases", Some(&token)).status, 200);
    }
    drop(server);
    let logged = std::fs::read_to_string(&log).expect("server log");
    let lines = logged.lines().count();
    assert!(
        lines < 30,
        "{lines} log lines for 250 requests at the default level:\n{logged}"
    );
}

/// A refusal sent before the request's body was read (here a bad token, checked first; also
/// the database down) closes the connection and says so, so that a client does not send its
/// next request on a connection the server is about to drop (ureq, which the handheld library
/// uses, then saw "peer disconnected" during a database outage).
#[test]
fn a_refusal_before_the_body_is_read_says_the_connection_closes() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let mut s = std::net::TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    // The headers only: the 5,000 bytes announced never come.
    write!(
        s,
        "POST /v1/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-a-token\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    )
    .expect("send");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains("connection: close"), "{head}");

    // A refusal of a request without a body keeps the connection.
    let http = server.http();
    let r = http.get("/v1/cases", Some("not-a-token"));
    assert_eq!(r.status, 401);
    assert_ne!(r.header("connection"), Some("close"));
}
