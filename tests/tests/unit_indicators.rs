//! The units' indicators for response (响应) and returns (退回) on the real server: each
//! dispatch counts for the unit it went to (not only the unit the case is with now), in the
//! figures of `GET /v1/stats` and on the console's performance page, and they survive a
//! restart (the indicator rows are read back from disk).

use gridcase_tests::scenario::event;
use gridcase_tests::{Http, Server};
use serde_json::{json, Value};

/// A filed case in grid g1, by the operator.
fn filed_case(http: &Http, operator: &str, description: &str) -> String {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(operator),
        Some(json!({"channel": "walk_in", "description": description, "grid": "g1"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let case = r.json()["case"].as_str().expect("a case").to_owned();
    let filing = json!({"category": "C0101", "level": "general", "units": ["u1"]});
    event(http, operator, &case, "file", filing);
    case
}

const STATS: &str = "/v1/stats?from=0&to=4102444800000&by=unit";

/// The units' figures the test is about, checked on one answer of `/v1/stats`.
fn assert_unit_figures(stats: &Value) {
    let u1 = &stats["groups"]["u1"];
    assert_eq!(u1["dispatches"], 2, "{stats}");
    assert_eq!(u1["returns"], 1, "{stats}");
    assert_eq!(u1["return_rate"], 0.5, "{stats}");
    assert_eq!(u1["accurate_dispatch_rate"], 0.5, "{stats}");
    assert_eq!(
        u1["acknowledged_on_time_rate"], 1.0,
        "acknowledged at once, and handling counts as acknowledging: {stats}"
    );
    assert_eq!(u1["acknowledged"], 2, "{stats}");
    assert!(
        u1["mean_response_minutes"]
            .as_f64()
            .is_some_and(|m| m >= 0.0),
        "{stats}"
    );
    let u2 = &stats["groups"]["u2"];
    assert_eq!(u2["dispatches"], 1, "{stats}");
    assert_eq!(u2["returns"], 0, "{stats}");
    assert_eq!(u2["return_rate"], 0.0, "{stats}");
    assert_eq!(u2["accurate_dispatch_rate"], 1.0, "{stats}");
    assert_eq!(u2["acknowledged"], 0, "{stats}");
    assert_eq!(
        u2["acknowledged_on_time_rate"],
        Value::Null,
        "a dispatch still within its response limit is not judged yet: {stats}"
    );
    assert_eq!(u2["mean_response_minutes"], Value::Null, "{stats}");
    let total = &stats["total"];
    assert_eq!(total["dispatches"], 3, "{stats}");
    assert_eq!(total["returns"], 1, "{stats}");
    for group in stats["groups"].as_object().expect("groups").values() {
        for rate in [
            "return_rate",
            "accurate_dispatch_rate",
            "acknowledged_on_time_rate",
        ] {
            assert!(
                group[rate]
                    .as_f64()
                    .is_none_or(|r| (0.0..=1.0).contains(&r)),
                "{rate} within 0–100%: {stats}"
            );
        }
    }
}

#[test]
fn dispatches_returns_and_response_count_for_each_unit_and_survive_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = Http::with_redirects(server.addr, 0);
    let (operator, unit1) = (http.login("operator"), http.login("unit1"));

    // Case A: to u1, acknowledged, returned; then to u2, not acknowledged.
    let a = filed_case(&http, &operator, "窨井盖缺失");
    event(&http, &operator, &a, "dispatch", json!({"unit": "u1"}));
    event(&http, &unit1, &a, "acknowledge", json!({"note": ""}));
    event(
        &http,
        &unit1,
        &a,
        "return",
        json!({"reason": "不属于本单位"}),
    );
    event(&http, &operator, &a, "dispatch", json!({"unit": "u2"}));
    // Case B: to u1, handled (which acknowledges).
    let b = filed_case(&http, &operator, "路灯不亮");
    event(&http, &operator, &b, "dispatch", json!({"unit": "u1"}));
    event(&http, &unit1, &b, "handle", json!({"note": "在修"}));

    let stats = http.get(STATS, Some(&operator)).json();
    assert_unit_figures(&stats);
    // Grouped by place, the case's dispatches count for its grid.
    let by_grid = http
        .get("/v1/stats?from=0&to=4102444800000&by=grid", Some(&operator))
        .json();
    assert_eq!(by_grid["groups"]["g1"]["dispatches"], 3, "{by_grid}");
    assert_eq!(by_grid["groups"]["g1"]["returns"], 1, "{by_grid}");

    // The performance page shows the new columns, in Chinese by default.
    let cookie = http.console_sign_in("operator");
    let page = http
        .send(
            "GET",
            "/performance?from=2000-01-01&to=2099-12-31&by=unit",
            None,
            &[("cookie", &cookie)],
            None,
        )
        .expect("page")
        .text();
    for header in [
        "派遣数",
        "退回数",
        "退回率",
        "派遣准确率",
        "按时签收率",
        "平均响应时长",
    ] {
        assert!(page.contains(header), "{header}: {page}");
    }
    assert!(page.contains("50.0%"), "u1's return rate: {page}");

    // Rows re-read from disk after a crash give the same figures.
    let server = server.restart(&[]);
    let http = Http::with_redirects(server.addr, 0);
    let operator = http.login("operator");
    let again = http.get(STATS, Some(&operator)).json();
    assert_unit_figures(&again);
    assert_eq!(again["groups"]["u1"], stats["groups"]["u1"], "{again}");
    assert_eq!(again["groups"]["u2"], stats["groups"]["u2"], "{again}");
}
