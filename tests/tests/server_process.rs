//! The real server binary on loopback with a temporary ledger directory.

use gridcase_tests::Server;

#[test]
fn the_server_starts_answers_health_checks_and_restarts_on_its_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ledger");
    let server = Server::start_in(&dir);
    assert_eq!(server.get("/healthz"), (200, "ok".into()));
    assert_eq!(server.get("/readyz").0, 200);
    assert_eq!(server.get("/nope").0, 404);
    assert!(dir.join("db").exists(), "the ledger lives on disk");
    server.kill();
    let again = Server::start_in(&dir);
    assert_eq!(again.get("/healthz").0, 200);
}
