//! Every action the rules permit, in the console (issue 14, item 7), on the real server over
//! plain HTTP: a case walked through the console's forms by the roles that do each step, the
//! unit's forms shown only to the unit, a return without a reason refused at its field before
//! anything is written, a case held, released and voided, and one marked a duplicate by number.

use gridcase_tests::console::Console;
use gridcase_tests::{Http, Server};
use serde_json::{json, Value};

/// Posts a case page's form and returns where it leads back to.
fn act(console: &Console, case: &str, form: &[(&str, &str)]) -> String {
    let r = console.post(&format!("/cases/{case}/act"), form);
    assert_eq!(r.status, 303, "{form:?}: {}", r.text());
    r.header("location").expect("back to the case").to_owned()
}

/// Posts a form the rules allow and checks it was done.
fn done(console: &Console, case: &str, form: &[(&str, &str)]) {
    let to = act(console, case, form);
    let kind = form[0].1;
    assert_eq!(to, format!("/cases/{case}?done={kind}"), "{form:?}");
}

fn view(http: &Http, token: &str, case: &str) -> Value {
    let r = http.get(&format!("/v1/cases/{case}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn status(http: &Http, token: &str, case: &str) -> String {
    view(http, token, case)["state"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn history_len(http: &Http, token: &str, case: &str) -> usize {
    view(http, token, case)["history"]
        .as_array()
        .map_or(0, Vec::len)
}

fn new_case(http: &Http, token: &str, description: &str) -> String {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(token),
        Some(json!({"channel": "walk_in", "description": description, "grid": "g1"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["case"].as_str().expect("a case").to_owned()
}

/// Whether a case page offers the form of this kind.
fn offers(page: &str, kind: &str) -> bool {
    page.contains(&format!("data-kind=\"{kind}\""))
}

#[test]
fn every_step_the_rules_permit_is_a_console_form_for_the_role_that_takes_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = Http::with_redirects(server.addr, 0);
    let token = http.login("operator");
    let operator = Console::sign_in(&http, &server, "operator");
    let unit = Console::sign_in(&http, &server, "unit1");

    // The operator files and dispatches to u1; the page offers what a reported case allows.
    let case = new_case(&http, &token, "人行道井盖破损");
    let page = operator.page(&format!("/cases/{case}"));
    for kind in ["file", "decline", "mark_duplicate", "void", "escalate"] {
        assert!(offers(&page, kind), "{kind} offered on a reported case");
    }
    for kind in ["handle", "feedback", "return", "verify", "close", "release"] {
        assert!(
            !offers(&page, kind),
            "{kind} not offered on a reported case"
        );
    }
    done(
        &operator,
        &case,
        &[
            ("kind", "file"),
            ("category", "C0101"),
            ("level", "general"),
            ("unit", "u1"),
        ],
    );
    assert_eq!(status(&http, &token, &case), "filed");
    let page = operator.page(&format!("/cases/{case}"));
    assert!(offers(&page, "hold") && offers(&page, "dispatch"));
    assert!(!offers(&page, "decline"), "a filed case is not declined");
    done(&operator, &case, &[("kind", "dispatch"), ("unit", "u1")]);
    assert_eq!(status(&http, &token, &case), "dispatched");

    // The unit sees its own steps, and not the center's.
    let page = unit.page(&format!("/cases/{case}"));
    for kind in ["handle", "feedback", "return"] {
        assert!(offers(&page, kind), "{kind} offered to the unit: {page}");
    }
    for kind in ["file", "dispatch", "hold", "void", "verify", "close"] {
        assert!(!offers(&page, kind), "{kind} not offered to the unit");
    }
    // The operator does not see the unit's steps.
    let page = operator.page(&format!("/cases/{case}"));
    for kind in ["handle", "feedback", "return"] {
        assert!(!offers(&page, kind), "{kind} not offered to the operator");
    }

    // A return without a reason is refused at its field, and nothing is written.
    let before = history_len(&http, &token, &case);
    let to = act(&unit, &case, &[("kind", "return"), ("reason", "  ")]);
    assert_eq!(
        to,
        format!("/cases/{case}?refused=reason_required&form=return")
    );
    let shown = unit.page(&to);
    assert!(shown.contains("id=\"return-error\""), "{shown}");
    assert!(shown.contains("请填写理由"), "{shown}");
    assert_eq!(history_len(&http, &token, &case), before, "nothing written");
    assert_eq!(status(&http, &token, &case), "dispatched");
    done(
        &unit,
        &case,
        &[("kind", "return"), ("reason", "不属于本单位")],
    );
    assert_eq!(status(&http, &token, &case), "filed");
    assert_eq!(view(&http, &token, &case)["state"]["returns"], 1);
    let page = unit.page(&format!("/cases/{case}"));
    assert!(!offers(&page, "handle"), "returned: no longer the unit's");

    // Dispatched again, handled and fed back resolved by the unit.
    done(&operator, &case, &[("kind", "dispatch"), ("unit", "u1")]);
    done(&unit, &case, &[("kind", "handle"), ("note", "已安排维修")]);
    assert_eq!(status(&http, &token, &case), "in_progress");
    done(
        &unit,
        &case,
        &[
            ("kind", "feedback"),
            ("resolved", "yes"),
            ("note", "已更换井盖"),
        ],
    );
    assert_eq!(status(&http, &token, &case), "awaiting_verification");

    // The operator verifies (as the unit reported it, by default) and closes.
    let page = operator.page(&format!("/cases/{case}"));
    assert!(offers(&page, "verify"), "{page}");
    assert!(!offers(&unit.page(&format!("/cases/{case}")), "verify"));
    done(
        &operator,
        &case,
        &[
            ("kind", "verify"),
            ("resolved", "yes"),
            ("note", "现场核查"),
        ],
    );
    assert_eq!(status(&http, &token, &case), "verified");
    done(&operator, &case, &[("kind", "close"), ("note", "结案")]);
    assert_eq!(status(&http, &token, &case), "closed");
    let closed = view(&http, &token, &case);
    let kinds: Vec<_> = closed["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["event"]["action"]["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "intake", "file", "dispatch", "return", "dispatch", "handle", "feedback", "verify",
            "close"
        ]
    );

    // Another case is held, released and voided.
    let other = new_case(&http, &token, "路灯不亮");
    done(
        &operator,
        &other,
        &[
            ("kind", "file"),
            ("category", "C0101"),
            ("level", "general"),
        ],
    );
    let to = act(&operator, &other, &[("kind", "hold"), ("reason", "")]);
    assert!(to.ends_with("refused=reason_required&form=hold"), "{to}");
    done(
        &operator,
        &other,
        &[("kind", "hold"), ("reason", "等待施工许可")],
    );
    assert_eq!(status(&http, &token, &other), "held");
    assert!(offers(
        &operator.page(&format!("/cases/{other}")),
        "release"
    ));
    done(
        &operator,
        &other,
        &[("kind", "release"), ("note", "许可已批")],
    );
    assert_eq!(status(&http, &token, &other), "filed");
    done(&operator, &other, &[("kind", "void"), ("reason", "误报")]);
    assert_eq!(status(&http, &token, &other), "voided");
    let page = operator.page(&format!("/cases/{other}"));
    assert!(!offers(&page, "void") && !offers(&page, "hold"));

    // A third is marked a duplicate of the first, by its number; an unknown number is refused.
    let third = new_case(&http, &token, "人行道井盖破损（重复来电）");
    let number = closed["number"].as_str().expect("numbered").to_owned();
    let before = history_len(&http, &token, &third);
    let to = act(
        &operator,
        &third,
        &[("kind", "mark_duplicate"), ("of", "DC-20000101-0001")],
    );
    assert!(
        to.ends_with("refused=duplicate_unknown&form=mark_duplicate"),
        "{to}"
    );
    assert!(operator.page(&to).contains("id=\"mark_duplicate-error\""));
    let to = act(
        &operator,
        &third,
        &[("kind", "mark_duplicate"), ("of", "nosuchcase")],
    );
    assert!(
        to.ends_with("refused=duplicate_unknown&form=mark_duplicate"),
        "{to}"
    );
    assert_eq!(
        history_len(&http, &token, &third),
        before,
        "nothing written"
    );
    done(
        &operator,
        &third,
        &[("kind", "mark_duplicate"), ("of", &number.to_lowercase())],
    );
    let marked = view(&http, &token, &third);
    assert_eq!(marked["state"]["duplicate_of"], json!(case), "{marked}");
    assert_eq!(status(&http, &token, &third), "declined");
    let page = operator.page(&format!("/cases/{third}"));
    assert!(page.contains(&case), "the original named on the page");
}
