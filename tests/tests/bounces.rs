//! A case bounced between units (踢皮球) on the real server: each return is in the case's chain
//! of units, counted on its summary, and shown on the console's case page and list.

use gridcase_tests::scenario::event;
use gridcase_tests::{Http, Server};
use serde_json::json;

#[test]
fn returns_are_in_the_chain_of_units_on_the_api_and_the_console() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = Http::with_redirects(server.addr, 0);
    let (operator, unit) = (http.login("operator"), http.login("unit1"));
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(&operator),
        Some(json!({"channel": "walk_in", "description": "窨井盖缺失", "grid": "g1"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let case = r.json()["case"].as_str().expect("a case").to_owned();
    let filing = json!({"category": "C0101", "level": "general", "units": ["u1"]});
    event(&http, &operator, &case, "file", filing);
    for reason in ["不属于本单位", "仍不属于本单位"] {
        event(&http, &operator, &case, "dispatch", json!({"unit": "u1"}));
        event(&http, &unit, &case, "return", json!({"reason": reason}));
    }
    let view = http
        .get(&format!("/v1/cases/{case}"), Some(&operator))
        .json();
    assert_eq!(view["state"]["returns"], 2, "{view}");
    let chain = view["state"]["unit_chain"].as_array().expect("a chain");
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1]["return_reason"], "仍不属于本单位");
    let listed = http.get("/v1/cases", Some(&operator)).json();
    assert_eq!(listed["cases"][0]["returns"], 2, "{listed}");

    let cookie = http.console_sign_in("operator");
    let page = |path: &str| {
        http.send("GET", path, None, &[("cookie", &cookie)], None)
            .expect("page")
            .text()
    };
    let case_page = page(&format!("/cases/{case}"));
    assert!(case_page.contains("id=\"unit-chain\""), "{case_page}");
    assert!(case_page.contains("仍不属于本单位"));
    assert!(case_page.contains("id=\"deadline-history\""), "{case_page}");
    assert!(page("/cases").contains("退回 2"));
}
