//! References must exist and every field has a bound, against the real server: online actions
//! refuse units, categories and cases nobody knows (422 `unknown_reference`), what a handheld
//! wrote offline against an older organization arrives flagged and is kept, and over-long
//! texts, device names, Open311 filings and statistics periods are refused with the field named.

use gridcase_sync_core::event::Filing;
use gridcase_sync_core::{Action, CategoryCode, Level};
use gridcase_tests::scenario::{case_view, now, patrol};
use gridcase_tests::{Device, Http, Reply, Server};
use serde_json::{json, Value};

fn new_case(http: &Http, token: &str, grid: &str) -> String {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(token),
        Some(json!({"channel": "walk_in", "description": "lamp out", "grid": grid})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["case"].as_str().expect("case id").to_owned()
}

fn act(http: &Http, token: &str, case: &str, action: Value) -> Reply {
    http.json(
        "POST",
        &format!("/v1/cases/{case}/events"),
        Some(token),
        Some(action),
    )
}

/// A refusal with this status and stable code.
fn refused(r: &Reply, status: u16, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert_eq!(r.json()["code"], code, "{what}: {}", r.text());
}

fn state(http: &Http, token: &str, case: &str) -> Value {
    let r = http.get(&format!("/v1/cases/{case}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["state"].clone()
}

#[test]
fn online_actions_refuse_units_categories_and_cases_nobody_knows() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");

    let case = new_case(&http, &operator, "g1");
    let filing = json!({"kind": "file", "payload": {"category": "E0102", "level": "general", "units": ["u1"]}});
    assert_eq!(act(&http, &operator, &case, filing).status, 201);
    for unit in ["u999", ""] {
        let r = act(
            &http,
            &operator,
            &case,
            json!({"kind": "dispatch", "payload": {"unit": unit}}),
        );
        refused(
            &r,
            422,
            "unknown_reference",
            &format!("dispatch to {unit:?}"),
        );
    }
    let s = state(&http, &operator, &case);
    assert_eq!(s["status"], "filed", "nothing was written");
    assert_eq!(s["assigned_unit"], Value::Null);
    let r = act(
        &http,
        &operator,
        &case,
        json!({"kind": "dispatch", "payload": {"unit": "u2"}}),
    );
    assert_eq!(r.status, 201, "a known unit: {}", r.text());

    // A filing naming an unknown unit, an intake naming a category not in the catalog.
    let other = new_case(&http, &operator, "g1");
    let r = act(
        &http,
        &operator,
        &other,
        json!({"kind": "file", "payload": {"category": "E0102", "level": "general", "units": ["u1", "u999"]}}),
    );
    refused(&r, 422, "unknown_reference", "file with u999");
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(&operator),
        Some(json!({"channel": "walk_in", "description": "x", "grid": "g1", "category": "E9999"})),
    );
    refused(&r, 422, "unknown_reference", "intake with E9999");

    // mark_duplicate: itself, a case that does not exist, a case outside the caller's scope.
    let community1 = http.login("community1");
    let mine = new_case(&http, &community1, "g1");
    let elsewhere = new_case(&http, &operator, "g4");
    for (of, what) in [
        (mine.as_str(), "itself"),
        (
            "0190000000007000800000000000dead",
            "a case that does not exist",
        ),
        (elsewhere.as_str(), "a case outside the scope"),
    ] {
        let r = act(
            &http,
            &community1,
            &mine,
            json!({"kind": "mark_duplicate", "payload": {"of": of}}),
        );
        refused(&r, 422, "unknown_reference", what);
    }
    assert_eq!(state(&http, &community1, &mine)["status"], "reported");
    let r = act(
        &http,
        &community1,
        &mine,
        json!({"kind": "mark_duplicate", "payload": {"of": other}}),
    );
    assert_eq!(r.status, 201, "a case in the scope: {}", r.text());
    assert_eq!(
        state(&http, &community1, &mine)["duplicate_of"],
        other.as_str()
    );
}

#[test]
fn a_handheld_writing_against_an_older_organization_is_stored_and_flagged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    // The engine's plain commands check no organization: as a handheld whose cached
    // organization still had a unit the center has since removed.
    let handheld = Device::register(&server, "operator");
    let case = handheld.open(patrol("a fallen tree"), now());
    let filing = Action::File(Filing {
        category: CategoryCode::parse("E0102").expect("code"),
        level: Level::General,
        units: vec![],
        suggestion: String::new(),
        callback: false,
    });
    handheld.act(&case, filing, now() + 1).expect("file");
    let dispatch = Action::Dispatch {
        unit: "u-retired".into(),
        responsible: None,
        deadline: None,
        lead: false,
    };
    let event = handheld.act(&case, dispatch, now() + 2).expect("dispatch");
    let report = handheld.sync().expect("sync");
    assert!(report.notices.is_empty(), "{:?}", report.notices);

    let http = server.http();
    let operator = http.login("operator");
    let view = case_view(&http, &operator, &case);
    assert_eq!(view["state"]["assigned_unit"], "u-retired", "never lost");
    let entry = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|h| h["event"]["id"] == event.id.as_str())
        .expect("the dispatch is stored")
        .clone();
    let flag = entry["flag"].as_str().unwrap_or_default();
    assert!(
        flag.starts_with("unknown_reference:") && flag.contains("u-retired"),
        "{entry}"
    );
    let queue = http.get("/v1/review/conflicts", Some(&operator)).json();
    let item = queue
        .as_array()
        .expect("queue")
        .iter()
        .find(|i| i["case"]["id"] == case.as_str())
        .expect("the flagged case is in the review queue")
        .clone();
    assert!(item["flagged"]
        .as_array()
        .expect("flagged")
        .iter()
        .any(|e| e == event.id.as_str()));
}

fn open311(http: &Http, description: &str) -> Reply {
    let body = format!(
        "api_key=demo-open311-key&service_code=E0102&lat=39.912&long=116.402&description={description}"
    );
    http.send(
        "POST",
        "/open311/v2/requests.json",
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body.into_bytes()),
    )
    .expect("HTTP request")
}

#[test]
fn over_long_fields_and_periods_out_of_range_are_refused_with_the_field_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");
    let case = new_case(&http, &operator, "g1");

    // Texts on cases: one over the limit is refused, the limit itself is written.
    let r = act(
        &http,
        &operator,
        &case,
        json!({"kind": "comment", "payload": {"text": "x".repeat(5000)}}),
    );
    refused(&r, 422, "invalid_payload", "a 5000-character comment");
    let message = r.json()["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("comment") && message.contains("4000"),
        "{message}"
    );
    let r = act(
        &http,
        &operator,
        &case,
        json!({"kind": "comment", "payload": {"text": "字".repeat(4000)}}),
    );
    assert_eq!(r.status, 201, "4000 characters: {}", r.text());
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(&operator),
        Some(json!({"channel": "walk_in", "description": "x".repeat(4001), "grid": "g1"})),
    );
    refused(&r, 422, "invalid_payload", "a 4001-character description");
    let r = act(
        &http,
        &operator,
        &case,
        json!({"kind": "file", "payload": {"category": "E0102", "level": "general", "units": ["u1"]}}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = act(
        &http,
        &operator,
        &case,
        json!({"kind": "dispatch", "payload": {"unit": "u1", "deadline": i64::MAX}}),
    );
    refused(
        &r,
        422,
        "invalid_payload",
        "a deadline in the year 292 million",
    );

    // Open311: just over the limit, a clear 400; megabytes, refused before they are read.
    let r = open311(&http, &"x".repeat(5000));
    assert_eq!(r.status, 400, "{}", r.text());
    let description = r.json()[0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(description.contains("description"), "{description}");
    let r = open311(&http, &"x".repeat(5 * 1024 * 1024));
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(open311(&http, "pothole").status, 201);

    // Device names.
    let register = |name: String| {
        http.json(
            "POST",
            "/v1/devices",
            Some(&operator),
            Some(json!({"name": name, "actors": ["0a0b0c0d"]})),
        )
    };
    let r = register("n".repeat(101));
    refused(&r, 400, "bad_request", "a 101-character device name");
    assert!(r.text().contains("name"), "{}", r.text());
    assert_eq!(register("n".repeat(100)).status, 201);

    // Names in the directory.
    let admin = http.login("admin");
    let r = http.json(
        "PUT",
        "/v1/admin/org/u9",
        Some(&admin),
        Some(json!({"kind": "unit", "name": "u".repeat(101)})),
    );
    refused(&r, 400, "bad_request", "a 101-character unit name");
    let r = http.json(
        "POST",
        "/v1/admin/users",
        Some(&admin),
        Some(
            json!({"id": "w9", "name": "w".repeat(101), "role": "supervisor",
            "scope": {"level": "district"}, "password": "long enough"}),
        ),
    );
    refused(&r, 400, "bad_request", "a 101-character user name");

    // Statistics periods: no overflow, a bounded range, a clear 400.
    let supervisor = http.login("supervisor");
    for query in [
        "to=9223372036854775807",
        "from=-9223372036854775808",
        "to=-9223372036854775808",
        "from=2000&to=1000",
    ] {
        let r = http.get(&format!("/v1/stats?{query}"), Some(&supervisor));
        refused(&r, 400, "bad_request", query);
        assert!(
            r.json()["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{query}: {}",
            r.text()
        );
    }
    let r = http.get("/v1/stats?from=0&to=4102444800000", Some(&supervisor));
    assert_eq!(r.status, 200, "the widest period: {}", r.text());
}
