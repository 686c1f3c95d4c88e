//! Against the real server: password guessing is throttled per account and per client address
//! (429 with Retry-After, the lock ends, a success forgets the failures), Open311 filings per
//! api_key, access tokens that are not valid yet are refused, the Open311 intake user reads no
//! cases, and /metrics is not public.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gridcase_sync_core::sync::SyncBatch;
use gridcase_tests::{Device, Http, Reply, Server, METRICS_TOKEN, PASSWORD};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const OPEN311_KEY: &str = "demo-open311-key";

fn login_as(http: &Http, user: &str, password: &str, headers: &[(&str, &str)]) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let body = json!({"username": user, "password": password}).to_string();
    http.send(
        "POST",
        "/v1/auth/login",
        None,
        &all,
        Some(body.into_bytes()),
    )
    .expect("HTTP request")
}

fn login(http: &Http, user: &str, password: &str) -> Reply {
    login_as(http, user, password, &[])
}

fn from(http: &Http, client: &str, user: &str, password: &str) -> Reply {
    login_as(http, user, password, &[("x-forwarded-for", client)])
}

/// The `Retry-After` of a 429, checked to be there and sensible.
fn retry_after(r: &Reply) -> u64 {
    assert_eq!(r.status, 429, "{}", r.text());
    let secs: u64 = r
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("whole seconds");
    assert!(secs >= 1, "{secs}");
    secs
}

fn console_sign_in(http: &Http, user: &str, password: &str, lang: Option<&str>) -> Reply {
    let cookie = lang.map(|l| format!("gc_lang={l}"));
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    if let Some(c) = &cookie {
        headers.push(("cookie", c.as_str()));
    }
    let form = format!("username={user}&password={password}&next=%2Fcases");
    http.send("POST", "/login", None, &headers, Some(form.into_bytes()))
        .expect("HTTP request")
}

#[test]
fn bad_passwords_lock_the_account_for_a_while_and_the_right_one_works_after() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(
        &tmp.path().join("ledger"),
        &[
            "--login-free-failures",
            "3",
            "--login-lock-secs",
            "1",
            "--login-lock-max-secs",
            "2",
        ],
    );
    let http = Http::with_redirects(server.addr, 0);
    for _ in 0..3 {
        assert_eq!(login(&http, "operator", "guess").status, 401);
    }
    let locked = login(&http, "operator", "guess");
    let wait = retry_after(&locked);
    assert!(wait <= 2, "the lock is capped: {wait}");
    assert_eq!(locked.json()["code"], "too_many_requests");
    assert!(!locked.text().contains("guess"), "{}", locked.text());
    // Locked means locked: even the right password waits (else the lock would be an oracle).
    retry_after(&login(&http, "operator", PASSWORD));
    // The console's sign-in shares the lock and says so in the reader's language.
    let page = console_sign_in(&http, "operator", PASSWORD, None);
    retry_after(&page);
    assert!(page.text().contains("登录失败次数过多"), "{}", page.text());
    assert!(page.header("set-cookie").is_none());
    let page = console_sign_in(&http, "operator", PASSWORD, Some("en"));
    retry_after(&page);
    assert!(
        page.text().contains("Too many failed sign-ins"),
        "{}",
        page.text()
    );
    // Another account from the same address is not locked.
    assert_eq!(login(&http, "supervisor", PASSWORD).status, 200);

    std::thread::sleep(Duration::from_millis(wait * 1000 + 200));
    let r = login(&http, "operator", PASSWORD);
    assert_eq!(r.status, 200, "after the lock: {}", r.text());

    // The success forgot the failures: three more are free again before the next lock.
    for _ in 0..3 {
        assert_eq!(login(&http, "operator", "guess").status, 401);
    }
    retry_after(&login(&http, "operator", "guess"));
    std::thread::sleep(Duration::from_millis(1200));
    // The console signs in after the lock too.
    let page = console_sign_in(&http, "operator", PASSWORD, None);
    assert_eq!(page.status, 303, "{}", page.text());
}

#[test]
fn failures_spread_over_accounts_from_one_address_are_throttled() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(
        &tmp.path().join("ledger"),
        &[
            "--login-address-burst",
            "4",
            "--login-address-per-minute",
            "1",
            "--trusted-proxies",
            "127.0.0.1",
        ],
    );
    let http = server.http();
    let attacker = "203.0.113.7";
    for user in ["operator", "supervisor", "worker1", "no-such-user"] {
        assert_eq!(from(&http, attacker, user, "guess").status, 401, "{user}");
    }
    let refused = from(&http, attacker, "worker2", "guess");
    let wait = retry_after(&refused);
    assert!(wait <= 60, "one failure a minute comes back: {wait}");
    // From that address even a right password waits; the accounts themselves are not locked.
    retry_after(&from(&http, attacker, "worker3", PASSWORD));
    assert_eq!(
        from(&http, "198.51.100.2", "worker3", PASSWORD).status,
        200,
        "another client through the proxy"
    );
    assert_eq!(
        login(&http, "operator", PASSWORD).status,
        200,
        "the proxy itself"
    );
    // Successes spend nothing from the address.
    for _ in 0..6 {
        assert_eq!(from(&http, "198.51.100.2", "worker3", PASSWORD).status, 200);
    }
}

#[test]
fn a_forwarded_for_header_does_not_dodge_the_address_throttle_without_a_trusted_proxy() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(
        &tmp.path().join("ledger"),
        &[
            "--login-address-burst",
            "3",
            "--login-address-per-minute",
            "1",
        ],
    );
    let http = server.http();
    for i in 0..3 {
        let spoofed = format!("192.0.2.{i}");
        assert_eq!(
            from(&http, &spoofed, &format!("user{i}"), "guess").status,
            401
        );
    }
    retry_after(&from(&http, "192.0.2.99", "user9", "guess"));
    retry_after(&login(&http, "user9", "guess"));
}

fn file(http: &Http, format: &str) -> Reply {
    let body = format!("api_key={OPEN311_KEY}&service_code=E0101&lat=39.912&long=116.402");
    http.send(
        "POST",
        &format!("/open311/v2/requests.{format}"),
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body.into_bytes()),
    )
    .expect("HTTP request")
}

#[test]
fn open311_filings_over_the_per_key_limit_get_429() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(
        &tmp.path().join("ledger"),
        &["--open311-burst", "3", "--open311-per-minute", "1"],
    );
    let http = server.http();
    for _ in 0..3 {
        let r = file(&http, "json");
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let refused = file(&http, "json");
    retry_after(&refused);
    assert_eq!(refused.json()[0]["code"], 429, "{}", refused.text());
    let refused = file(&http, "xml");
    retry_after(&refused);
    assert!(
        refused.text().contains("<code>429</code>"),
        "{}",
        refused.text()
    );
    // Reading is not filing.
    assert_eq!(http.get("/open311/v2/services.json", None).status, 200);
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// An HS256 access token signed with the server's own key, read from its data directory.
fn forge(server: &Server, claims: serde_json::Value) -> String {
    let key = std::fs::read_to_string(server.data_dir.join("jwt.key")).expect("the signing key");
    let key = hex::decode(key.trim()).expect("hex key");
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(&key, signed.as_bytes()));
    format!("{signed}.{signature}")
}

#[test]
fn an_access_token_not_valid_yet_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let valid = forge(
        &server,
        json!({"sub": "operator", "iat": now, "nbf": now - 10, "exp": now + 600}),
    );
    assert_eq!(
        http.get("/v1/me", Some(&valid)).status,
        200,
        "the forged token is well made"
    );
    let early = forge(
        &server,
        json!({"sub": "operator", "iat": now, "nbf": now + 3600, "exp": now + 7200}),
    );
    let r = http.get("/v1/me", Some(&early));
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(http.get("/v1/cases", Some(&early)).status, 401);
}

#[test]
fn the_open311_intake_user_files_but_reads_no_cases() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let filed = file(&http, "json");
    assert_eq!(filed.status, 201, "{}", filed.text());
    let case = filed.json()[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();

    let operator = http.login("operator");
    assert_eq!(
        http.get(&format!("/v1/cases/{case}"), Some(&operator))
            .status,
        200
    );
    let intake = http.login("open311");
    for path in [
        "/v1/cases".to_owned(),
        format!("/v1/cases/{case}"),
        "/v1/stats".to_owned(),
        "/v1/changes".to_owned(),
    ] {
        let r = http.get(&path, Some(&intake));
        assert_eq!(r.status, 403, "{path}: {}", r.text());
    }
    let device = Device::register(&server, "open311");
    let batch = SyncBatch {
        cursor: 0,
        more: false,
        entries: vec![],
        notices: vec![],
    };
    let (status, _) = device.post_batch(&batch).expect("sync request");
    assert_eq!(status, 403, "the intake user syncs no feed");
    // It still files through the API.
    let created = http.json(
        "POST",
        "/v1/cases",
        Some(&intake),
        Some(json!({"channel": "web", "description": "路灯不亮", "grid": "g1"})),
    );
    assert_eq!(created.status, 201, "{}", created.text());
}

#[test]
fn metrics_need_the_metrics_token_or_an_admin_or_supervisor() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let spare = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let metrics_addr = spare.local_addr().expect("address");
    drop(spare);
    let metrics_listen = metrics_addr.to_string();
    let server = Server::start_in(
        &tmp.path().join("ledger"),
        &["--metrics-listen", &metrics_listen],
    );
    let http = server.http();
    assert_eq!(http.get("/metrics", None).status, 401);
    assert_eq!(http.get("/metrics", Some("not-the-token")).status, 401);
    let r = http.get("/metrics", Some(METRICS_TOKEN));
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("gridcase_http_requests_total"),
        "{}",
        r.text()
    );
    // No sync is waiting for a turn on an idle server.
    assert!(
        r.text().contains("\ngridcase_sync_waiting 0\n"),
        "{}",
        r.text()
    );
    let worker = http.login("worker1");
    assert_eq!(http.get("/metrics", Some(&worker)).status, 403);
    let supervisor = http.login("supervisor");
    assert_eq!(http.get("/metrics", Some(&supervisor)).status, 200);
    let admin = http.login("admin");
    assert_eq!(http.get("/metrics", Some(&admin)).status, 200);

    // The separate listener serves /metrics alone, with the token.
    let side = Http::new(metrics_addr);
    assert_eq!(side.get("/metrics", None).status, 401);
    assert_eq!(side.get("/metrics", Some(METRICS_TOKEN)).status, 200);
    assert_eq!(side.get("/v1/org", Some(&admin)).status, 404);
}
