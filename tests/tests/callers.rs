//! Callers and callbacks on the real server binary: a caller's personal data kept out of the
//! replicated document and shown to each role as ARCHITECTURE's "Who sees what" says, over
//! HTTP and over sync; a repeat caller found by phone; a second caller attached to a case; the
//! callback worklist, a dissatisfied callback that reopens the case and a satisfied second
//! round; a handheld delivering the walk-in resident it took offline.

use gridcase_sync_core::event::Channel;
use gridcase_sync_core::CaseId;
use gridcase_tests::scenario::{now, patrol};
use gridcase_tests::{url_encode, Device, Http, Server};
use serde_json::{json, Value};

const PHONE: &str = "13812348000";
const NAME: &str = "王秀英";

fn event(http: &Http, token: &str, case: &str, kind: &str, payload: Value) -> Value {
    let r = http.json(
        "POST",
        &format!("/v1/cases/{case}/events"),
        Some(token),
        Some(json!({"kind": kind, "payload": payload})),
    );
    assert_eq!(r.status, 201, "{kind}: {}", r.text());
    r.json()
}

fn view(http: &Http, token: &str, case: &str) -> Value {
    let r = http.get(&format!("/v1/cases/{case}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// A hotline call in grid g1 with its caller, confirmed and filed with a callback.
fn call(http: &Http, operator: &str, phone: &str, description: &str) -> String {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(operator),
        Some(
            json!({"channel": "hotline", "description": description, "grid": "g1",
            "reporter_name": NAME, "reporter_contact": phone}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let case = r.json()["case"].as_str().expect("a case").to_owned();
    event(http, operator, &case, "confirm", json!({"exists": true}));
    event(
        http,
        operator,
        &case,
        "file",
        json!({"category": "C0101", "level": "general", "units": ["u1"], "callback": true}),
    );
    case
}

/// Dispatched to u1, fed back, verified and closed, each by its role.
fn work_to_closed(http: &Http, case: &str) {
    let (operator, unit, worker) = (
        http.login("operator"),
        http.login("unit1"),
        http.login("worker1"),
    );
    event(http, &operator, case, "dispatch", json!({"unit": "u1"}));
    event(http, &unit, case, "feedback", json!({"resolved": true}));
    event(http, &worker, case, "verify", json!({"resolved": true}));
    event(http, &worker, case, "close", json!({}));
}

#[test]
fn a_callers_personal_data_reaches_only_those_the_rules_allow_over_http_and_sync() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");
    let case = call(&http, &operator, "138 1234 8000", "地锁又装回来了");
    event(&http, &operator, &case, "dispatch", json!({"unit": "u1"}));

    // The desk (district and street centers) sees the caller whole.
    for user in ["operator", "street1"] {
        let v = view(&http, &http.login(user), &case);
        assert_eq!(v["callers"][0]["phone"], PHONE, "{user}: {v}");
        assert_eq!(v["callers"][0]["name"], NAME, "{user}");
        assert_eq!(v["callers"][0]["source"], "intake", "{user}");
    }
    // Community workstations and supervisors recognise, but cannot dial.
    for user in ["community1", "supervisor"] {
        let v = view(&http, &http.login(user), &case);
        assert_eq!(v["callers"][0]["phone"], "138****8000", "{user}: {v}");
        assert_eq!(v["callers"][0]["name"], "王*", "{user}");
        assert!(!v.to_string().contains(PHONE), "{user}");
    }
    // Grid workers and units see the case but nothing of its caller.
    for user in ["worker1", "unit1"] {
        let v = view(&http, &http.login(user), &case);
        assert_eq!(v["callers"], json!([]), "{user}");
        let text = v.to_string();
        assert!(
            !text.contains(PHONE) && !text.contains(NAME),
            "{user}: {text}"
        );
    }

    // Over sync: the documents a handheld receives never hold the caller.
    for user in ["worker1", "unit1"] {
        let device = Device::register(&server, user);
        device.sync().expect("sync");
        let events = device.events(&CaseId::new(case.clone()));
        assert!(!events.is_empty(), "{user} holds the case");
        let text = serde_json::to_string(&events).expect("json");
        assert!(
            !text.contains(PHONE) && !text.contains(NAME),
            "{user}: {text}"
        );
        assert!(
            text.contains("\"caller\""),
            "the intake names the record: {text}"
        );
    }

    // Open311 publishes no personal data.
    let r = http.get("/open311/v2/requests.json", None);
    assert!(!r.text().contains(PHONE));

    // A repeat caller: the desk finds the number's earlier cases, newest first, however typed.
    let again = call(&http, &operator, PHONE, "地锁还在");
    let r = http.get(
        &format!(
            "/v1/callers/cases?phone={}",
            url_encode("+86 138-1234-8000")
        ),
        Some(&operator),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let found: Vec<String> = r
        .json()
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(found, [again.clone(), case.clone()]);
    // The case list searches by phone too, with its other filters.
    let r = http.get(
        &format!(
            "/v1/cases?phone={}&status=awaiting_confirmation",
            url_encode("138-1234-8000")
        ),
        Some(&operator),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["cases"],
        json!([]),
        "both cases were filed: none awaits confirmation"
    );
    let r = http.get(&format!("/v1/cases?phone={PHONE}"), Some(&operator));
    assert_eq!(
        r.json()["cases"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.text()
    );
    let r = http.get(
        &format!("/v1/cases?phone={PHONE}"),
        Some(&http.login("worker1")),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // Outside the desk, nobody looks callers up.
    for user in ["community1", "worker1", "unit1", "supervisor"] {
        let r = http.get(
            &format!("/v1/callers/cases?phone={PHONE}"),
            Some(&http.login(user)),
        );
        assert_eq!(r.status, 403, "{user}: {}", r.text());
    }
    let r = http.get("/v1/callers/cases?phone=12345", Some(&operator));
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn a_second_caller_is_attached_and_every_caller_is_called_back_until_satisfied() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");
    let case = call(&http, &operator, PHONE, "井盖松动");

    // A second resident calls about the same problem: attached, not a second case.
    let second = CaseId::generate().to_string();
    let body = json!({"name": "李先生", "phone": "010 6234 5678", "callback": true,
        "note": "同一井盖"});
    let path = format!("/v1/cases/{case}/callers/{second}");
    let r = http.json("PUT", &path, Some(&operator), Some(body.clone()));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["again"], false);
    assert!(r.json()["event"].is_string(), "a caller_added event");
    let r = http.json("PUT", &path, Some(&operator), Some(body));
    assert_eq!(r.json()["again"], true, "sent twice, recorded once");
    let bad = http.json(
        "PUT",
        &format!("/v1/cases/{case}/callers/{}", CaseId::generate()),
        Some(&operator),
        Some(json!({"name": "x", "phone": "not a phone"})),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    let worker = http.login("worker1");
    let r = http.json(
        "PUT",
        &format!("/v1/cases/{case}/callers/{}", CaseId::generate()),
        Some(&worker),
        Some(json!({"name": "x", "phone": PHONE})),
    );
    assert!(
        r.status == 403 || r.status == 422,
        "{}: {}",
        r.status,
        r.text()
    );
    let v = view(&http, &operator, &case);
    assert_eq!(v["callers"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v["callers"][1]["phone"], "010-62345678");

    // Closed: both callers wait for their callback.
    let worklist = |token: &str| {
        let r = http.get("/v1/callbacks", Some(token));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };
    assert_eq!(
        worklist(&operator),
        json!([]),
        "open cases are not called back"
    );
    work_to_closed(&http, &case);
    let list = worklist(&operator);
    assert_eq!(list[0]["id"], case.as_str(), "{list}");
    assert_eq!(list[0]["callbacks_due"], 2);
    assert_eq!(list[0]["callers"].as_array().map(Vec::len), Some(2));
    assert!(list[0]["due_at"].as_i64() > list[0]["closed_at"].as_i64());
    assert_eq!(http.get("/v1/callbacks", Some(&worker)).status, 403);
    let first = v["callers"][0]["id"].as_str().expect("an id").to_owned();

    // The first caller is not reached; then says it is not solved: the case reopens.
    let callback = |body: Value| {
        http.json(
            "POST",
            &format!("/v1/cases/{case}/callback"),
            Some(&operator),
            Some(body),
        )
    };
    let token = CaseId::generate().to_string();
    let unreached = json!({"caller": first, "reached": false, "token": token});
    let r = callback(unreached.clone());
    assert_eq!(r.status, 201, "{}", r.text());
    let again = callback(unreached);
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.json()["event"], "", "sent twice, recorded once");
    assert_eq!(
        view(&http, &operator, &case)["state"]["callbacks_unreached"],
        1
    );
    assert_eq!(
        worklist(&operator)[0]["callbacks_due"],
        2,
        "not reached: still due"
    );
    let r = callback(
        json!({"caller": first, "reached": true, "satisfaction": "satisfied",
        "solved": true, "follow_up": "reopen"}),
    );
    assert_eq!(
        r.status,
        400,
        "a satisfied caller reopens nothing: {}",
        r.text()
    );
    let r = callback(json!({"caller": first, "reached": true, "solved": false,
        "satisfaction": "dissatisfied", "note": "井盖还在响", "follow_up": "reopen"}));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"], "filed", "reopened");
    assert_eq!(worklist(&operator), json!([]));
    let summary = &http
        .get(
            &format!(
                "/v1/cases?number={}",
                url_encode(r.json()["number"].as_str().unwrap_or(""))
            ),
            Some(&operator),
        )
        .json()["cases"][0];
    assert_eq!(summary["ever_dissatisfied"], true, "{summary}");

    // The second round ends well for both callers.
    work_to_closed(&http, &case);
    assert_eq!(worklist(&operator)[0]["callbacks_due"], 2);
    let r = callback(json!({"caller": first, "reached": true, "solved": true,
        "satisfaction": "satisfied"}));
    assert_eq!(r.status, 201, "{}", r.text());
    // The second caller is still not content: the case goes to the supervisor (督办).
    let supervisor = http.login("supervisor");
    let escalated =
        |token: &str| http.get("/v1/cases?escalated=true", Some(token)).json()["cases"].clone();
    assert_eq!(escalated(&supervisor), json!([]));
    let r = callback(json!({"caller": second, "reached": true, "solved": false,
        "satisfaction": "basic", "note": "还有异响", "follow_up": "supervisor"}));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"], "closed", "escalated, not reopened");
    assert_eq!(escalated(&supervisor)[0]["id"], case.as_str());
    assert_eq!(worklist(&operator), json!([]));
    let v = view(&http, &operator, &case);
    assert_eq!(v["state"]["status"], "closed");
    let kinds: Vec<&str> = v["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["event"]["action"]["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "callback").count(),
        4,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"caller_added") && kinds.contains(&"reopen"));
    assert!(
        !kinds.contains(&"escalate"),
        "督办 is the callback's, not a second event"
    );
}

#[test]
fn a_handheld_delivers_its_walk_in_caller_after_the_case_and_old_reporters_are_masked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();

    // A community workstation takes a walk-in resident offline: the intake names a record.
    let device = Device::register(&server, "community1");
    let caller = CaseId::generate().to_string();
    let mut intake = patrol("楼道堆放杂物");
    intake.channel = Channel::WalkIn;
    intake.caller = Some(caller.clone());
    let case = device.open(intake, now()).to_string();
    let community = http.login("community1");
    let put = |token: &str| {
        http.json(
            "PUT",
            &format!("/v1/cases/{case}/callers/{caller}"),
            Some(token),
            Some(json!({"name": "赵大妈", "phone": "13900001111", "callback": true})),
        )
    };
    assert_eq!(
        put(&community).status,
        404,
        "not synced yet: try again later"
    );
    device.sync().expect("sync");
    // Only who took the call delivers its caller.
    assert_eq!(put(&http.login("street1")).status, 403);
    let r = put(&community);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["event"],
        Value::Null,
        "the intake's own caller: no event"
    );
    let operator = http.login("operator");
    let v = view(&http, &operator, &case);
    assert_eq!(v["callers"][0]["source"], "intake");
    assert_eq!(v["callers"][0]["phone"], "13900001111");

    // A case from a release before the register, with its reporter inside the intake: its
    // display is migrated, its history kept.
    let old = Device::register(&server, "worker1");
    let mut intake = patrol("路灯不亮");
    intake.reporter = Some(gridcase_sync_core::event::Reporter {
        name: "张三".into(),
        contact: "13700002222".into(),
    });
    let old_case = old.open(intake, now()).to_string();
    old.sync().expect("sync");
    let v = view(&http, &operator, &old_case);
    assert_eq!(v["callers"][0]["source"], "legacy", "{v}");
    assert_eq!(v["callers"][0]["phone"], "13700002222");
    let v = view(&http, &community, &old_case);
    assert_eq!(v["callers"][0]["phone"], "137****2222");
    assert!(!v.to_string().contains("13700002222"), "{v}");
    let v = view(&http, &http.login("worker1"), &old_case);
    assert!(!v.to_string().contains("13700002222"), "{v}");
    assert_eq!(v["callers"], json!([]));
}
