//! Drill-down agreement (issue 15, item 4) on the real server: for every figure a case list
//! can make, in every group of every grouping and in the total, the number `GET /v1/stats`
//! gives is the length of the case list its drill-down names. First with the filters the
//! drill-down map names (`console::drill`), then with the very links the performance page
//! renders around its numbers.

use gridcase_tests::scenario::{event, now};
use gridcase_tests::{Http, Server};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A filed case in `grid`.
fn filed(http: &Http, operator: &str, grid: &str, category: &str) -> String {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(operator),
        Some(json!({"channel": "walk_in", "description": "井盖缺失", "grid": grid})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let case = r.json()["case"].as_str().expect("a case").to_owned();
    let filing = json!({"category": category, "level": "general", "units": []});
    event(http, operator, &case, "file", filing);
    case
}

fn dispatch(http: &Http, operator: &str, case: &str, unit: &str, who: &str, deadline: i64) {
    let payload = json!({"unit": unit, "responsible": who, "deadline": deadline});
    event(http, operator, case, "dispatch", payload);
}

/// Fed back, verified (failing first when `rework`) and closed.
fn close(http: &Http, operator: &str, unit: &str, case: &str, rework: bool) {
    event(http, unit, case, "feedback", json!({"resolved": true}));
    if rework {
        event(http, operator, case, "verify", json!({"resolved": false}));
        event(http, unit, case, "feedback", json!({"resolved": true}));
    }
    event(http, operator, case, "verify", json!({"resolved": true}));
    event(http, operator, case, "close", json!({}));
}

/// The cases of a list, every page.
fn list_len(http: &Http, token: &str, query: &str) -> u64 {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/cases?{query}&limit=500");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = http.get(&path, Some(token));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let page = r.json();
        n += page["cases"].as_array().expect("cases").len() as u64;
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return n,
        }
    }
}

/// The filters of a figure over `[from, to)`, as the drill-down map names them.
fn figure_query(figure: &str, from: i64, to: i64) -> Option<String> {
    let due = format!("due_from={from}&due_to={to}&held_or_voided=false");
    let created = format!("created_from={from}&created_to={to}");
    let closed_in = format!("closed_from={from}&closed_to={to}");
    Some(match figure {
        "filed" => format!("filed_from={from}&filed_to={to}"),
        "due" => due,
        "closed" => format!("{due}&closed=true"),
        "closed_on_time" => format!("{due}&closed=true&closed_on_time=true"),
        "overdue" => format!("{due}&overdue=true"),
        "closed_in_period" => closed_in,
        "received" => created,
        "answered_directly" => format!("{created}&answered_directly=true"),
        "voided" => format!("{created}&status=voided"),
        "called_back_dissatisfied" => {
            format!("{closed_in}&answered_directly=false&ever_dissatisfied=true")
        }
        _ => return None,
    })
}

const FIGURES: [&str; 10] = [
    "filed",
    "due",
    "closed",
    "closed_on_time",
    "overdue",
    "closed_in_period",
    "received",
    "answered_directly",
    "voided",
    "called_back_dissatisfied",
];

fn group_filter(by: &str, key: &str) -> String {
    let name = if by == "unit" { "counted_unit" } else { by };
    serde_urlencoded::to_string([(name, key)]).expect("a query")
}

fn stats(http: &Http, token: &str, by: &str, from: i64, to: i64) -> Value {
    let r = http.get(
        &format!("/v1/stats?from={from}&to={to}&by={by}"),
        Some(token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// The drill-down links of a performance page: (group, figure) → the link's query.
fn page_links(page: &str) -> BTreeMap<(String, String), String> {
    let mut links = BTreeMap::new();
    for piece in page.split("<a class=\"drill\" href=\"/cases?").skip(1) {
        let attr = |name: &str| -> String {
            let start = piece.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
            let len = piece[start..].find('"').expect("a closing quote");
            piece[start..start + len].replace("&amp;", "&")
        };
        let query = piece[..piece.find('"').expect("the href's end")].replace("&amp;", "&");
        links.insert((attr("data-group"), attr("data-figure")), query);
    }
    links
}

#[test]
fn every_figure_is_the_length_of_the_list_its_drill_down_names() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = Http::with_redirects(server.addr, 0);
    let operator = http.login("operator");
    let (unit1, unit2) = (http.login("unit1"), http.login("unit2"));
    let t0 = now();
    let (soon, past) = (t0 + 86_400_000, t0 - 60_000);

    // u1 / 张三: closed on time; closed late (its deadline had passed); held (not due).
    let on_time = filed(&http, &operator, "g1", "C0101");
    dispatch(&http, &operator, &on_time, "u1", "张三", soon);
    close(&http, &operator, &unit1, &on_time, false);
    let late = filed(&http, &operator, "g1", "C0101");
    dispatch(&http, &operator, &late, "u1", "张三", past);
    close(&http, &operator, &unit1, &late, false);
    let held = filed(&http, &operator, "g2", "C0101");
    dispatch(&http, &operator, &held, "u1", "张三", soon);
    event(&http, &operator, &held, "hold", json!({"reason": "待协调"}));
    // u2 / 李四: overdue and open; reworked then closed on time; open within its deadline.
    let overdue = filed(&http, &operator, "g1", "E0101");
    dispatch(&http, &operator, &overdue, "u2", "李四", past);
    let reworked = filed(&http, &operator, "g4", "E0101");
    dispatch(&http, &operator, &reworked, "u2", "李四", soon);
    close(&http, &operator, &unit2, &reworked, true);
    let open = filed(&http, &operator, "g4", "C0101");
    dispatch(&http, &operator, &open, "u2", "李四", soon);
    // Went to u1 first, which sent it back: it counts for u2, where it is now, not for u1
    // (though u1 is among its units).
    let bounced = filed(&http, &operator, "g3", "C0101");
    dispatch(&http, &operator, &bounced, "u1", "张三", soon);
    event(
        &http,
        &unit1,
        &bounced,
        "return",
        json!({"reason": "不属于本单位"}),
    );
    dispatch(&http, &operator, &bounced, "u2", "李四", soon);
    // Filed, never dispatched (the group without a unit); voided.
    filed(&http, &operator, "g2", "C0101");
    let voided = filed(&http, &operator, "g1", "C0101");
    event(&http, &operator, &voided, "void", json!({"reason": "重复"}));

    let (from, to) = (t0 - 600_000, t0 + 10 * 86_400_000);
    // The figures the cases were built for, so the agreement below is not vacuous.
    let by_unit = stats(&http, &operator, "unit", from, to);
    let u1 = &by_unit["groups"]["u1"];
    let u2 = &by_unit["groups"]["u2"];
    assert_eq!(
        (u1["due"].as_u64(), u1["closed"].as_u64()),
        (Some(2), Some(2)),
        "{by_unit}"
    );
    assert_eq!(u1["closed_on_time"], 1, "{by_unit}");
    assert_eq!(u1["overdue"], 1, "{by_unit}");
    assert_eq!(
        (u2["due"].as_u64(), u2["overdue"].as_u64()),
        (Some(4), Some(1)),
        "{by_unit}"
    );
    assert_eq!(u2["closed_on_time"], 1, "{by_unit}");
    assert_eq!(u2["rework"], 1, "{by_unit}");

    // 1. The filters of the drill-down map, against the stats, for every grouping.
    let mut checked = 0;
    for by in [
        "unit",
        "street",
        "community",
        "grid",
        "category",
        "responsible",
    ] {
        let s = stats(&http, &operator, by, from, to);
        let groups = s["groups"].as_object().expect("groups");
        let mut places: Vec<(Option<&str>, &Value)> = groups
            .iter()
            .filter(|(k, _)| *k != "none")
            .map(|(k, v)| (Some(k.as_str()), v))
            .collect();
        places.push((None, &s["total"]));
        for (key, figures) in places {
            for figure in FIGURES {
                let Some(mut query) = figure_query(figure, from, to) else {
                    continue;
                };
                if let Some(key) = key {
                    query = format!("{}&{query}", group_filter(by, key));
                }
                let want = figures[figure]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{figure} in {s}"));
                assert_eq!(
                    list_len(&http, &operator, &query),
                    want,
                    "by {by}, group {key:?}, {figure}: /v1/cases?{query} vs {s}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked} figures checked");
    // `unit` is any unit involved: the bounced case is among u1's, not counted for u1.
    let due = figure_query("due", from, to).expect("due");
    assert_eq!(list_len(&http, &operator, &format!("unit=u1&{due}")), 3);
    assert_eq!(
        list_len(&http, &operator, &format!("counted_unit=u1&{due}")),
        2
    );

    // The console's list takes the same filters, says so, and downloads the list through the
    // session cookie.
    let cookie = http.console_sign_in("operator");
    let list = http
        .send(
            "GET",
            &format!("/cases?counted_unit=u1&{due}"),
            None,
            &[("cookie", &cookie)],
            None,
        )
        .expect("the list")
        .text();
    assert!(list.contains("id=\"drill\""), "{list}");
    assert_eq!(list.matches("<tr data-case=").count(), 2, "{list}");
    let csv_link = list
        .split("href=\"/v1/cases/export?format=csv")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an export link")
        .replace("&amp;", "&");
    assert!(
        csv_link.contains("counted_unit=u1") && !csv_link.contains("limit="),
        "{csv_link}"
    );
    let file = http
        .send(
            "GET",
            &format!("/v1/cases/export?format=csv{csv_link}"),
            None,
            &[("cookie", &cookie)],
            None,
        )
        .expect("the file");
    assert_eq!(file.status, 200, "{}", file.text());
    let rows = file
        .text()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('\u{feff}'))
        .count();
    assert_eq!(rows, 3, "a header row and two cases: {}", file.text());

    // 2. The performance page's own links, around its numbers.
    let day = |ms: i64| {
        // District dates (UTC+8) of the period's ends.
        let days = (ms + 8 * 3_600_000).div_euclid(86_400_000);
        let (y, m, d) = gridcase_sync_core::calendar::civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}")
    };
    for by in ["unit", "grid", "responsible"] {
        let page = http
            .send(
                "GET",
                &format!(
                    "/performance?from={}&to={}&by={by}",
                    day(t0 - 86_400_000),
                    day(t0 + 86_400_000)
                ),
                None,
                &[("cookie", &cookie)],
                None,
            )
            .expect("the page")
            .text();
        let links = page_links(&page);
        for figure in ["due", "closed", "closed_on_time", "overdue"] {
            assert!(
                links.contains_key(&("total".to_owned(), figure.to_owned())),
                "by {by}: the total's {figure} is a link: {links:?}"
            );
        }
        // The page's period, as its links name it.
        let period = links
            .get(&("total".to_owned(), "due".to_owned()))
            .expect("the total's due");
        let pairs: BTreeMap<String, String> = serde_urlencoded::from_str(period).expect("a query");
        let (pfrom, pto): (i64, i64) = (
            pairs["due_from"].parse().expect("ms"),
            pairs["due_to"].parse().expect("ms"),
        );
        let s = stats(&http, &operator, by, pfrom, pto);
        for ((group, figure), query) in &links {
            let figures = if group == "total" {
                &s["total"]
            } else {
                &s["groups"][group]
            };
            let want = figures[figure.as_str()]
                .as_u64()
                .unwrap_or_else(|| panic!("{group}/{figure} in {s}"));
            assert_eq!(
                list_len(&http, &operator, query),
                want,
                "page by {by}, {group}/{figure}: /cases?{query} vs {s}"
            );
        }
        if by == "unit" {
            for figure in ["due", "closed", "closed_on_time", "overdue"] {
                for unit in ["u1", "u2"] {
                    assert!(
                        links.contains_key(&(unit.to_owned(), figure.to_owned())),
                        "{unit}'s {figure} is a link: {links:?}"
                    );
                }
            }
        }
    }
}
