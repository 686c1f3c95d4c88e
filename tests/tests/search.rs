//! Search on the real server binary: free text and address through the query index
//! (`GET /v1/cases?q=…&address=…`), Chinese found anywhere and letters as whole words, in the
//! caller's scope only; and duplicate suggestions while a report is taken
//! (`GET /v1/cases/duplicates`): open cases of the category within 50 m or at the same address,
//! in scope, nearest first, for the roles that take reports.

use gridcase_tests::{url_encode, Http, Server};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Opens a hotline case at coordinates (its grid found by them); returns its id.
fn open(
    http: &Http,
    token: &str,
    description: &str,
    category: &str,
    at: (f64, f64),
    address: &str,
) -> String {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(token),
        Some(json!({
            "channel": "hotline", "description": description, "category": category,
            "coordinates": [at.0, at.1], "address": address,
        })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["case"].as_str().expect("a case").to_owned()
}

fn get(http: &Http, token: &str, path: &str) -> Value {
    let r = http.get(path, Some(token));
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

/// The ids of the cases a list query finds (one page of at most 50).
fn found(http: &Http, token: &str, query: &[(&str, &str)]) -> BTreeSet<String> {
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    let page = get(http, token, &format!("/v1/cases?{}", query.join("&")));
    assert!(page["next"].is_null(), "one page");
    ids(&page["cases"])
}

fn ids(cases: &Value) -> BTreeSet<String> {
    cases
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).clone()).collect()
}

/// (lon, lat) `m` metres east of `from`.
fn east(from: (f64, f64), m: f64) -> (f64, f64) {
    (from.0 + m / (111_194.9 * from.1.to_radians().cos()), from.1)
}

/// In grid g1 (street s1), and in g4 (street s2).
const G1: (f64, f64) = (116.4021, 39.9121);
const G4: (f64, f64) = (116.4021, 39.9221);

#[test]
fn text_and_address_are_found_through_the_index_in_scope() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");

    let lamp = open(
        &http,
        &operator,
        "小区门口路灯不亮，LED灯坏了",
        "C0105",
        G1,
        "南池子大街12号",
    );
    let other_street = open(
        &http,
        &operator,
        "路灯不亮已经三天",
        "C0105",
        G4,
        "景山东街5号",
    );
    let cover = open(
        &http,
        &operator,
        "井盖缺失很危险 sled",
        "C0101",
        east(G1, 300.0),
        "南河沿大街 3号",
    );

    // Chinese anywhere in the description, by one character or more.
    let q = |text: &str| found(&http, &operator, &[("q", text)]);
    assert_eq!(q("路灯"), set(&[&lamp, &other_street]));
    assert_eq!(q("灯"), set(&[&lamp, &other_street]));
    assert_eq!(q("路灯不亮"), set(&[&lamp, &other_street]));
    assert_eq!(q("门口路灯"), set(&[&lamp]));
    assert_eq!(q("井盖"), set(&[&cover]));
    assert_eq!(q("灯亮"), set(&[]));
    // Letters and digits as whole words, whatever their width and case.
    assert_eq!(q("led"), set(&[&lamp]));
    assert_eq!(q("ＬＥＤ灯"), set(&[&lamp]));
    assert_eq!(q("LE"), set(&[]));
    assert_eq!(q("sled"), set(&[&cover]));
    // With other filters.
    assert_eq!(
        found(&http, &operator, &[("q", "路灯"), ("grid", "g4")]),
        set(&[&other_street])
    );
    assert_eq!(
        found(&http, &operator, &[("q", "路灯"), ("category", "C0101")]),
        set(&[])
    );

    // The address, in a field of its own.
    let address = |text: &str| found(&http, &operator, &[("address", text)]);
    assert_eq!(address("南池子"), set(&[&lamp]));
    assert_eq!(address("景山东街5号"), set(&[&other_street]));
    assert_eq!(address("大街"), set(&[&lamp, &cover]));
    assert_eq!(
        address("南河沿大街3号"),
        set(&[]),
        "spacing is the address's own"
    );
    assert_eq!(address("南河沿大街 3号"), set(&[&cover]));
    assert_eq!(address("路灯"), set(&[]), "a description is not an address");
    assert_eq!(
        found(&http, &operator, &[("q", "灯"), ("address", "大街")]),
        set(&[&lamp])
    );

    // Only within the caller's scope.
    let street1 = http.login("street1");
    assert_eq!(found(&http, &street1, &[("q", "路灯")]), set(&[&lamp]));
    assert_eq!(found(&http, &street1, &[("address", "景山")]), set(&[]));
    let worker3 = http.login("worker3");
    assert_eq!(
        found(&http, &worker3, &[("q", "路灯")]),
        set(&[&other_street])
    );

    // Pages, newest first.
    let first = get(
        &http,
        &operator,
        &format!("/v1/cases?q={}&limit=1", url_encode("路灯")),
    );
    assert_eq!(ids(&first["cases"]), set(&[&other_street]));
    let cursor = first["next"].as_str().expect("a next page");
    let second = get(
        &http,
        &operator,
        &format!("/v1/cases?q={}&limit=1&cursor={cursor}", url_encode("路灯")),
    );
    assert_eq!(ids(&second["cases"]), set(&[&lamp]));
    assert!(second["next"].is_null());

    // After a restart, from the stored index.
    let server = server.restart(&[]);
    let http = server.http();
    let operator = http.login("operator");
    assert_eq!(
        found(&http, &operator, &[("q", "路灯")]),
        set(&[&lamp, &other_street])
    );
}

/// The duplicates of a report: (id, distance in metres, same address) of each, in order.
fn duplicates(http: &Http, token: &str, query: &str) -> Vec<(String, Option<f64>, bool)> {
    get(http, token, &format!("/v1/cases/duplicates?{query}"))
        .as_array()
        .expect("an array")
        .iter()
        .map(|d| {
            (
                d["id"].as_str().expect("an id").to_owned(),
                d["distance_m"].as_f64(),
                d["same_address"].as_bool().expect("same_address"),
            )
        })
        .collect()
}

fn at(p: (f64, f64)) -> String {
    format!("lon={}&lat={}", p.0, p.1)
}

#[test]
fn duplicates_are_open_cases_of_the_category_nearby_in_scope() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");
    let new = |description: &str, category: &str, p: (f64, f64), address: &str| {
        open(&http, &operator, description, category, p, address)
    };

    let near = new("井盖缺失", "C0101", east(G1, 30.0), "南池子大街12号");
    let nearer = new("井盖松动", "C0101", east(G1, 10.0), "南池子大街14号");
    let _far = new("井盖缺失", "C0101", east(G1, 80.0), "南池子大街18号");
    let _other_category = new("路灯不亮", "C0105", east(G1, 5.0), "南池子大街12号");
    let declined = new("井盖缺失", "C0101", east(G1, 3.0), "南池子大街12号");
    let r = http.json(
        "POST",
        &format!("/v1/cases/{declined}/events"),
        Some(&operator),
        Some(json!({"kind": "decline", "payload": {"reason": "not_actionable", "note": ""}})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // Far away, but written at the same address.
    let same_address = new("井盖缺失", "C0101", east(G1, 400.0), "南池子大街 １２号");

    let found = duplicates(&http, &operator, &format!("category=C0101&{}", at(G1)));
    let order: Vec<&str> = found.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(order, [nearer.as_str(), near.as_str()], "nearest first");
    let d = found[1].1.expect("a distance");
    assert!((d - 30.0).abs() < 1.0, "{d}");

    // With the address: the case written there joins, after those nearer.
    let query = format!(
        "category=C0101&{}&address={}",
        at(G1),
        url_encode("南池子大街12号")
    );
    let found = duplicates(&http, &operator, &query);
    let order: Vec<&str> = found.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(
        order,
        [nearer.as_str(), near.as_str(), same_address.as_str()]
    );
    assert_eq!(
        found.iter().map(|f| f.2).collect::<Vec<_>>(),
        [false, true, true]
    );
    // The address alone: no distance, so newest first.
    let found = duplicates(
        &http,
        &operator,
        &format!("category=C0101&address={}", url_encode("南池子大街12号")),
    );
    assert_eq!(
        found.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        [same_address.as_str(), near.as_str()]
    );

    // Scope: near the border of g1 and g2, a grid worker of g1 hears only of g1's cases.
    let border = (116.40495, 39.9121);
    let in_g1 = new("井盖缺失", "C0101", east(border, -20.0), "南池子大街30号");
    let in_g2 = new("井盖缺失", "C0101", east(border, 20.0), "南河沿大街1号");
    let query = format!("category=C0101&{}", at(border));
    let all: BTreeSet<String> = duplicates(&http, &operator, &query)
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(all, set(&[&in_g1, &in_g2]));
    let worker1 = http.login("worker1");
    let mine: Vec<String> = duplicates(&http, &worker1, &query)
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(mine, [in_g1]);

    // Only roles that take reports; refusals with stable codes.
    for user in ["unit1", "supervisor", "open311"] {
        let token = http.login(user);
        let r = http.get(&format!("/v1/cases/duplicates?{}", at(G1)), Some(&token));
        assert_eq!(r.status, 403, "{user}: {}", r.text());
        assert_eq!(r.json()["code"], "forbidden");
    }
    for bad in [
        "category=C0101".to_owned(),
        "category=C01&lon=116.4&lat=39.9".to_owned(),
        "lon=116.4".to_owned(),
        "lon=400&lat=39.9".to_owned(),
        "lon=east&lat=39.9".to_owned(),
    ] {
        let r = http.get(&format!("/v1/cases/duplicates?{bad}"), Some(&operator));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert_eq!(r.json()["code"], "bad_request", "{bad}");
    }
    let r = http.get(&format!("/v1/cases/duplicates?{}", at(G1)), None);
    assert_eq!(r.status, 401);
}
