//! The database restarted under load: the server answers 503 `unavailable` (with
//! `Retry-After`) while PostgreSQL is down, recovers by itself when it is back, and every write
//! it acknowledged is there. A PostgreSQL cluster of the test's own (stopping the shared one
//! would upset the tests beside it), so it runs in the PostgreSQL pass of the tests
//! (`GRIDCASE_TEST_DATABASE_URL`) where Debian's server is installed; on sled it says so and
//! returns.

use gridcase_tests::pg_cluster::Cluster;
use gridcase_tests::{Http, Server, TEST_DATABASE_ENV};
use serde_json::json;
use std::time::{Duration, Instant};

fn open(http: &Http, token: &str, n: usize) -> (u16, Option<String>, Option<String>) {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(token),
        Some(json!({"channel": "hotline", "description": format!("重启中 {n}"), "grid": "g1"})),
    );
    let retry_after = r.header("retry-after").map(str::to_owned);
    match r.status {
        201 => (
            201,
            r.json()["case"].as_str().map(str::to_owned),
            retry_after,
        ),
        status => (
            status,
            r.json()["code"].as_str().map(str::to_owned),
            retry_after,
        ),
    }
}

#[test]
fn a_database_restart_is_503_meanwhile_and_loses_nothing_acknowledged() {
    if std::env::var(TEST_DATABASE_ENV).is_err() {
        eprintln!("the database restart needs PostgreSQL: run with {TEST_DATABASE_ENV}");
        return;
    }
    let cluster = Cluster::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let url = cluster.url();
    let server = Server::start_in(&tmp.path().join("ledger"), &["--database-url", &url]);
    let http = server.http();
    let operator = http.login("operator");
    let mut acknowledged = Vec::new();
    for n in 0..3 {
        let (status, case, _) = open(&http, &operator, n);
        assert_eq!(status, 201);
        acknowledged.extend(case);
    }

    cluster.down();
    let (status, code, retry_after) = open(&http, &operator, 100);
    assert_eq!(status, 503, "{code:?}");
    assert_eq!(code.as_deref(), Some("unavailable"));
    assert!(retry_after.is_some(), "a 503 says when to try again");
    let r = http.get("/v1/cases", Some(&operator));
    assert_eq!(r.status, 503, "{}", r.text());

    cluster.up();
    // Back without a restart of the server's own: the pool reconnects.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 200;
    loop {
        let (status, case, _) = open(&http, &operator, n);
        n += 1;
        if status == 201 {
            acknowledged.extend(case);
            break;
        }
        assert_eq!(status, 503, "only unavailable while it comes back");
        assert!(Instant::now() < deadline, "the server did not recover");
        std::thread::sleep(Duration::from_millis(200));
    }
    let listed = http.get("/v1/cases?limit=100", Some(&operator)).json();
    let listed: Vec<&str> = listed["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    for case in &acknowledged {
        assert!(listed.contains(&case.as_str()), "{case} was acknowledged");
    }
}
