//! The cohort definitions of the indicators on the real server (issue 15): 结案 and 按期结案
//! are counted among the cases due in the period (应结案), as of the report's instant, so
//! 结案率 never passes 100%; closures within the period are a separate throughput figure; the
//! rework rate counts failed verifications over verifications; a grouping by responsible
//! person works; every group carries a score and a grade; the page shows the formulas.

use gridcase_tests::scenario::{event, now};
use gridcase_tests::{Http, Server};
use serde_json::{json, Value};

/// A filed case in grid g1, dispatched to u1 under `responsible` with the given deadline.
fn dispatched(http: &Http, operator: &str, responsible: &str, deadline: i64) -> String {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(operator),
        Some(json!({"channel": "walk_in", "description": "井盖缺失", "grid": "g1"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let case = r.json()["case"].as_str().expect("a case").to_owned();
    let filing = json!({"category": "C0101", "level": "general", "units": ["u1"]});
    event(http, operator, &case, "file", filing);
    let dispatch = json!({"unit": "u1", "responsible": responsible, "deadline": deadline});
    event(http, operator, &case, "dispatch", dispatch);
    case
}

/// Fed back, verified (failing first when `rework`) and closed.
fn close(http: &Http, (operator, unit): (&str, &str), case: &str, rework: bool) {
    event(http, unit, case, "feedback", json!({"resolved": true}));
    if rework {
        event(http, operator, case, "verify", json!({"resolved": false}));
        event(http, unit, case, "feedback", json!({"resolved": true}));
    }
    event(http, operator, case, "verify", json!({"resolved": true}));
    event(http, operator, case, "close", json!({}));
}

#[test]
fn closing_counts_among_the_due_cases_and_throughput_apart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = Http::with_redirects(server.addr, 0);
    let operator = http.login("operator");
    let unit = http.login("unit1");
    let tokens = (operator.as_str(), unit.as_str());

    let start = now() - 1_000;
    // Two cases due within the period: A closed at once (on time, after one failed
    // verification), B closed only after the period ended (late).
    let due_at = now() + 5_000;
    let a = dispatched(&http, &operator, "张三", due_at);
    let b = dispatched(&http, &operator, "李四", due_at);
    close(&http, tokens, &a, true);
    // Two more closed within the period, due long after it: throughput, not 应结案.
    for _ in 0..2 {
        let later = dispatched(&http, &operator, "张三", now() + 30 * 86_400_000);
        close(&http, tokens, &later, false);
    }
    let end = due_at + 500;
    let stats = |by: &str, compare: bool| {
        let path = format!("/v1/stats?from={start}&to={end}&by={by}&compare={compare}");
        let r = http.get(&path, Some(&operator));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };

    // Before B closes: 1 of 2 due closed, 3 closed within the period.
    let s = stats("unit", false);
    let u1 = &s["groups"]["u1"];
    assert_eq!(
        (u1["due"].clone(), u1["closed"].clone()),
        (json!(2), json!(1)),
        "{s}"
    );
    assert_eq!(u1["closed_in_period"], 3, "{s}");
    assert_eq!(u1["closing_rate"], 0.5, "{s}");
    assert_eq!(u1["on_time_rate"], 0.5, "{s}");
    assert_eq!(u1["verifications"], 2, "A: one failed, one passed; {s}");
    assert_eq!(u1["rework"], 1, "{s}");
    assert_eq!(u1["rework_rate"], 0.5, "{s}");
    assert!(s.get("previous").is_none(), "only on request: {s}");

    // B closes after the period: counted as closed (late) among the due, not as throughput.
    while now() <= end {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    close(&http, tokens, &b, false);
    let s = stats("unit", true);
    let u1 = &s["groups"]["u1"];
    assert_eq!(u1["due"], 2, "{s}");
    assert_eq!(u1["closed"], 2, "{s}");
    assert_eq!(u1["closed_on_time"], 1, "{s}");
    assert_eq!(u1["closed_in_period"], 3, "{s}");
    assert_eq!(u1["closing_rate"], 1.0, "never past 100%: {s}");
    assert_eq!(u1["on_time_rate"], 0.5, "{s}");
    assert_eq!(u1["overdue"], 1, "{s}");
    assert_eq!(u1["response_rate"], u1["acknowledged_on_time_rate"], "{s}");
    assert_eq!(
        u1["public_satisfaction_rate"],
        Value::Null,
        "no callback: no data, not 0%: {s}"
    );
    let score = u1["score"].as_f64().expect("a score");
    assert!((0.0..=100.0).contains(&score), "{s}");
    assert!(u1["grade"].is_string(), "{s}");
    assert!(s["weights"]["on_time"].is_number(), "{s}");
    let previous = &s["previous"];
    assert_eq!(previous["to"], start, "{s}");
    assert_eq!(previous["from"], start - (end - start), "{s}");
    assert_eq!(previous["total"]["due"], 0, "{s}");

    // By responsible person: the current dispatch's.
    let s = stats("responsible", false);
    let (zhang, li) = (&s["groups"]["张三"], &s["groups"]["李四"]);
    assert_eq!(
        (zhang["due"].clone(), zhang["closed_on_time"].clone()),
        (json!(1), json!(1)),
        "{s}"
    );
    assert_eq!(zhang["closed_in_period"], 3, "{s}");
    assert_eq!(
        (
            li["due"].clone(),
            li["closed"].clone(),
            li["closed_on_time"].clone()
        ),
        (json!(1), json!(1), json!(0)),
        "{s}"
    );
    assert_eq!(li["closing_rate"], 1.0, "{s}");
    assert_eq!(li["on_time_rate"], 0.0, "{s}");
    assert_eq!(s["total"]["due"], 2, "{s}");
    assert_eq!(s["total"]["dispatches"], 4, "{s}");

    // Every formula is in the OpenAPI document.
    let api = http.get("/v1/openapi.json", None).json();
    let fields = &api["components"]["schemas"]["Indicators"]["properties"];
    for (field, formula) in [
        ("due", "deadline in force now falls in the period"),
        ("closed", "of the `due` cases"),
        ("closing_rate", "closed / due"),
        ("on_time_rate", "closed_on_time / due"),
        ("rework_rate", "rework / verifications"),
        ("response_rate", "acknowledged_on_time / response_judged"),
        ("closed_in_period", "closed within the period"),
        ("score", "Σ"),
    ] {
        let description = fields[field]["description"].as_str().unwrap_or_default();
        assert!(description.contains(formula), "{field}: {description}");
    }

    // The page (the last 30 days): the grouping, the formulas as tooltips, the ranking and
    // the trend, whose only week with data is this one (a dot).
    let cookie = http.console_sign_in("operator");
    let page = http
        .send(
            "GET",
            "/performance?by=responsible",
            None,
            &[("cookie", &cookie)],
            None,
        )
        .expect("page")
        .text();
    for needle in [
        "张三",
        "李四",
        "结案率 = 结案数 ÷ 应结案数",
        "期内结案数",
        "响应率",
        "综合得分",
        "近 12 周趋势",
        "<circle",
    ] {
        assert!(page.contains(needle), "{needle}: {page}");
    }
    let bad = http
        .send(
            "GET",
            "/performance?by=nobody",
            None,
            &[("cookie", &cookie)],
            None,
        )
        .expect("page");
    assert_eq!(bad.status, 400);
}

#[test]
fn bad_score_weights_refuse_to_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(gridcase_tests::server_binary())
        .args(["--data-dir"])
        .arg(tmp.path())
        .args(["--score-weights", "speed=3"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("speed"), "{err}");
}
