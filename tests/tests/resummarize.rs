//! A ledger whose summaries were written by a release before the chain of units (issue 14) is
//! summarized again in the background when this release starts: a dispatched, acknowledged and
//! returned case gains its chain, its acknowledgement and its return in lists and queues.

use gridcase_sync_core::store::{key_part, Batch};
use gridcase_tests::scenario::{case_view, post_action};
use gridcase_tests::Server;
use serde_json::{json, Value};

const SUMMARIES: &str = "ledger_summaries";
const META: &str = "ledger_meta";

fn summary(server: &Server, token: &str, case: &str) -> Value {
    let http = server.http();
    let page = http.get("/v1/cases?limit=50", Some(token)).json();
    page["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["id"] == case).cloned())
        .unwrap_or_else(|| panic!("case {case} listed: {page}"))
}

#[test]
fn summaries_from_before_the_chain_of_units_are_written_again_in_the_background() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ledger");
    let server = Server::start_in(&dir, &[]);
    let http = server.http();
    let operator = http.login("operator");
    let unit = http.login("unit1");
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(&operator),
        Some(json!({"channel": "walk_in", "description": "井盖缺失", "grid": "g1"})),
    );
    let case = r.json()["case"].as_str().expect("a case").to_owned();
    for (token, kind, payload) in [
        (
            &operator,
            "file",
            json!({"category": "C0105", "level": "general"}),
        ),
        (&operator, "dispatch", json!({"unit": "u1"})),
        (&unit, "acknowledge", json!({})),
        (&unit, "return", json!({"reason": "非本单位职责"})),
    ] {
        post_action(
            &http,
            token,
            &case,
            json!({"kind": kind, "payload": payload}),
        );
    }
    let now = summary(&server, &operator, &case);
    assert_eq!(now["chain"].as_array().map(Vec::len), Some(1), "{now}");
    assert_eq!(case_view(&http, &operator, &case)["state"]["returns"], 1);
    drop(server);

    // As the previous release left it: a summary without this release's fields, and no mark.
    {
        let store = gridcase_tests::ledger_store(&dir);
        let key = key_part(&case);
        let stored = store
            .get(SUMMARIES, &key)
            .expect("read")
            .expect("a summary");
        let mut old: Value = serde_json::from_slice(&stored).expect("JSON");
        for field in [
            "chain",
            "acknowledged_at",
            "response_due",
            "dispatched_by",
            "returns",
        ] {
            old.as_object_mut().expect("an object").remove(field);
        }
        let mut batch = Batch::new();
        batch.put(SUMMARIES, key, serde_json::to_vec(&old).expect("JSON"));
        batch.delete(META, b"summaries_r15".to_vec());
        store.commit(batch).expect("written");
    }

    let server = Server::start_in(&dir, &[]);
    let operator = server.http().login("operator");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let s = summary(&server, &operator, &case);
        if s["chain"].as_array().map(Vec::len) == Some(1) {
            assert_eq!(s["returns"], 1, "{s}");
            assert!(s["chain"][0]["acknowledged_at"].is_number(), "{s}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not summarized again in time: {s}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
