//! Cases the end-to-end tests share: a patrol report in grid g1, and one taken online to
//! awaiting verification (filed, dispatched to u1, fed back as resolved).

use crate::{Device, Http, Server};
use gridcase_sync_core::event::{Channel, Intake};
use gridcase_sync_core::org::Territory;
use gridcase_sync_core::{Action, CaseId};
use serde_json::json;

/// A server of the demo district on a fresh ledger, and the temporary directory that holds
/// it (keep it as long as the server runs).
pub fn demo_server() -> (tempfile::TempDir, Server) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    (tmp, server)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

pub fn g1() -> Territory {
    Territory {
        street: "s1".into(),
        community: "c1".into(),
        grid: "g1".into(),
    }
}

pub fn patrol(description: &str) -> Intake {
    Intake {
        media_url: None,
        business_type: None,
        caller: None,
        callback: false,
        channel: Channel::Patrol,
        reporter: None,
        description: description.into(),
        territory: g1(),
        address: None,
        coordinates: None,
        category: None,
        photos: vec![],
    }
}

pub fn verify(resolved: bool) -> Action {
    Action::Verify {
        resolved,
        note: String::new(),
        photos: vec![],
    }
}

/// A case reported by worker1's handheld and taken online to awaiting verification.
pub fn case_awaiting_verification(server: &Server, worker1: &Device) -> CaseId {
    let case = worker1.open(patrol("bins overflowing"), now());
    worker1.sync().expect("worker1 syncs the new case");
    let http = server.http();
    let operator = http.login("operator");
    let unit1 = http.login("unit1");
    let file = json!({"kind": "file", "payload": {"category": "E0102", "level": "general", "units": ["u1"]}});
    post_action(&http, &operator, &case, file);
    post_action(
        &http,
        &operator,
        &case,
        json!({"kind": "dispatch", "payload": {"unit": "u1"}}),
    );
    let feedback = json!({"kind": "feedback", "payload": {"resolved": true, "note": "emptied"}});
    post_action(&http, &unit1, &case, feedback);
    case
}

/// Posts an event of `kind` with its payload on a case through the API as a user, asserting it
/// is written.
pub fn event(http: &Http, token: &str, case: &str, kind: &str, payload: serde_json::Value) {
    let r = http.json(
        "POST",
        &format!("/v1/cases/{case}/events"),
        Some(token),
        Some(serde_json::json!({"kind": kind, "payload": payload})),
    );
    assert_eq!(r.status, 201, "{kind}: {}", r.text());
}

/// Posts an action on a case through the API as a user, asserting it is written.
pub fn post_action(
    http: &Http,
    token: &str,
    case: &impl std::fmt::Display,
    action: serde_json::Value,
) {
    let r = http.json(
        "POST",
        &format!("/v1/cases/{case}/events"),
        Some(token),
        Some(action),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

/// A case as `GET /v1/cases/{case}` shows it to this user: its state and history.
pub fn case_view(http: &Http, token: &str, case: &impl std::fmt::Display) -> serde_json::Value {
    http.get(&format!("/v1/cases/{case}"), Some(token)).json()
}

/// A case as the district center's operator sees it (signing in for it).
pub fn operator_view(server: &Server, case: &impl std::fmt::Display) -> serde_json::Value {
    let http = server.http();
    case_view(&http, &http.login("operator"), case)
}

/// The administrator moves a demo grid worker to another grid (their old scope stays "held",
/// so what they wrote offline under it is stored and flagged).
pub fn move_to_grid(http: &Http, user: &str, name: &str, grid: &str) {
    let admin = http.login("admin");
    let r = http.json(
        "POST",
        "/v1/admin/users",
        Some(&admin),
        Some(json!({"id": user, "name": name, "role": "grid_worker", "scope": {"level": "grids", "id": [grid]}})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}
