//! Drill-down agreement (issue 15, item 4) on the real server: every figure `GET /v1/stats`
//! gives, in every group of every grouping and in the total, is made by the case list its
//! drill-down names: a count of cases is the list's length, a count of events (verifications,
//! extensions, dispatches, returns, acknowledgements) the sum of the list's `counts`. First
//! with filters written here independently of the server's cohort rules, then with the
//! `figure` filter for every count, then with the very links the performance page renders
//! around every one of its numbers (counts and rates).

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
    list_sums(http, token, query).0
}

/// The cases of a list and the sums of their `counts`, every page (pages of 2, so that the
/// sums run over several); each page's `counts` is the sum of its cases'.
fn list_sums(http: &Http, token: &str, query: &str) -> (u64, BTreeMap<String, u64>) {
    let mut n = 0;
    let mut sums = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/cases?{query}&limit=2");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = http.get(&path, Some(token));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let page = r.json();
        let cases = page["cases"].as_array().expect("cases");
        n += cases.len() as u64;
        let mut of_cases: BTreeMap<String, u64> = BTreeMap::new();
        for case in cases {
            for (k, v) in case["counts"].as_object().into_iter().flatten() {
                *of_cases.entry(k.clone()).or_insert(0) += v.as_u64().expect("a count");
            }
        }
        if let Some(counts) = page["counts"].as_object() {
            let page_sums: BTreeMap<String, u64> = counts
                .iter()
                .map(|(k, v)| (k.clone(), v.as_u64().expect("a count")))
                .collect();
            assert_eq!(page_sums, of_cases, "{path}: the page sums its cases");
        }
        for (k, v) in of_cases {
            *sums.entry(k).or_insert(0) += v;
        }
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (n, sums),
        }
    }
}

/// The counts of the indicators that are numbers of cases: the length of their list.
const CASE_COUNTS: [&str; 17] = [
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
    "evaluated",
    "satisfied",
    "dissatisfied",
    "called_back",
    "called_back_satisfied",
    "called_back_solved",
    "called_back_solved_answers",
];

/// The counts of events: a case may add more than one.
const EVENT_COUNTS: [&str; 8] = [
    "verifications",
    "rework",
    "extended",
    "dispatches",
    "returns",
    "acknowledged",
    "response_judged",
    "acknowledged_on_time",
];

/// Each rate with its numerator and denominator, written here apart from the server's table.
const RATES: [(&str, &str, &str); 12] = [
    ("closing_rate", "closed", "due"),
    ("on_time_rate", "closed_on_time", "due"),
    ("rework_rate", "rework", "verifications"),
    ("satisfaction_rate", "satisfied", "evaluated"),
    ("first_contact_rate", "answered_directly", "received"),
    (
        "public_satisfaction_rate",
        "called_back_satisfied",
        "called_back",
    ),
    (
        "public_solved_rate",
        "called_back_solved",
        "called_back_solved_answers",
    ),
    ("return_rate", "returns", "dispatches"),
    ("accurate_dispatch_rate", "accurate", "dispatches"),
    ("response_rate", "acknowledged_on_time", "response_judged"),
    (
        "acknowledged_on_time_rate",
        "acknowledged_on_time",
        "response_judged",
    ),
    ("mean_response_minutes", "response_ms", "acknowledged"),
];

/// A rate made of a list's sums, as `GET /v1/stats` makes it from its counts.
fn rate_of(rate: &str, sums: &BTreeMap<String, u64>) -> Option<f64> {
    let (_, num, den) = RATES.iter().find(|(r, _, _)| *r == rate).expect(rate);
    let get = |k: &str| sums.get(k).copied().unwrap_or(0) as f64;
    let den = get(den);
    let num = match *num {
        "accurate" => get("dispatches") - get("returns"),
        n => get(n),
    };
    let scale = if rate == "mean_response_minutes" {
        60_000.0
    } else {
        1.0
    };
    (den > 0.0).then(|| num / den / scale)
}

fn same(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, None) => true,
        _ => false,
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

/// The drill-down links of a performance page: (group, figure, rate) → the link's query.
fn page_links(page: &str) -> BTreeMap<(String, String, Option<String>), String> {
    let mut links = BTreeMap::new();
    for piece in page.split("<a class=\"drill\" href=\"/cases?").skip(1) {
        let tag = &piece[..piece.find('>').expect("the tag's end")];
        let attr = |name: &str| -> Option<String> {
            let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
            let len = tag[start..].find('"').expect("a closing quote");
            Some(tag[start..start + len].replace("&amp;", "&"))
        };
        let query = piece[..piece.find('"').expect("the href's end")].replace("&amp;", "&");
        let key = (
            attr("data-group").expect("a group"),
            attr("data-figure").expect("a figure"),
            attr("data-rate"),
        );
        links.insert(key, query);
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
    event(&http, &unit1, &on_time, "acknowledge", json!({"note": ""}));
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
    // Events a case may have more than one of, and the evaluations: extended twice; the
    // public's callbacks (one content, one not) and the center's evaluation.
    for _ in 0..2 {
        let extend = json!({"hours": 4, "reason": "材料未到"});
        event(&http, &operator, &open, "extend", extend);
    }
    let callback = |case: &str, body: Value| {
        let path = format!("/v1/cases/{case}/callback");
        let r = http.json("POST", &path, Some(&operator), Some(body));
        assert_eq!(r.status, 201, "{}", r.text());
    };
    callback(
        &on_time,
        json!({"reached": true, "solved": true, "satisfaction": "basic"}),
    );
    callback(
        &late,
        json!({"reached": true, "solved": false, "satisfaction": "dissatisfied"}),
    );
    let evaluation = json!({"satisfaction": "satisfied"});
    event(&http, &operator, &reworked, "evaluate", evaluation);

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
    assert_eq!(by_unit["groups"]["u2"]["extended"], 2, "{by_unit}");
    assert_eq!(by_unit["total"]["dispatches"], 8, "{by_unit}");
    assert_eq!(by_unit["total"]["called_back"], 2, "{by_unit}");

    // 1b. The `figure` filter, for every count of every group of every grouping (the group
    // without a key too): a count of cases is the list's length, every count the sum of the
    // list's `counts`, and every rate the ratio of the sums.
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
        let mut places: Vec<(Option<&str>, &Value)> =
            groups.iter().map(|(k, v)| (Some(k.as_str()), v)).collect();
        places.push((None, &s["total"]));
        for (key, figures) in places {
            let group = key.map_or(String::new(), |k| {
                format!(
                    "&{}",
                    serde_urlencoded::to_string([("figure_by", by), ("figure_group", k)])
                        .expect("a query")
                )
            });
            for figure in CASE_COUNTS.iter().chain(&EVENT_COUNTS) {
                let query = format!("figure={figure}&figure_from={from}&figure_to={to}{group}");
                let (n, sums) = list_sums(&http, &operator, &query);
                let want = figures[*figure].as_u64().expect(figure);
                let what = format!("by {by}, group {key:?}, {figure}: /v1/cases?{query} vs {s}");
                assert_eq!(sums.get(*figure).copied().unwrap_or(0), want, "{what}");
                if CASE_COUNTS.contains(figure) {
                    assert_eq!(n, want, "{what}");
                }
                // The denominator's list makes each rate over it.
                for (rate, _, den) in RATES {
                    if den == *figure {
                        assert!(
                            same(rate_of(rate, &sums), figures[rate].as_f64()),
                            "{rate} of {what}: {sums:?}"
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 400, "{checked} figures checked");
    // An event count is not a length: the case extended twice is one case of two extensions.
    let extended = format!("figure=extended&figure_from={from}&figure_to={to}");
    let (n, sums) = list_sums(&http, &operator, &extended);
    assert_eq!((n, sums.get("extended").copied()), (1, Some(2)), "{sums:?}");
    for bad in [
        "figure=closing_rate",
        "figure=due&figure_by=unit",
        "figure_group=u1",
    ] {
        let r = http.get(&format!("/v1/cases?{bad}"), Some(&operator));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
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
        // Every number of the table is a link, but the score (a weighted mean of the rates).
        let mut numbers = 0;
        for cell in page.split("<td data-key=\"").skip(1) {
            let key = &cell[..cell.find('"').expect("the key's end")];
            let content = &cell[cell.find('>').expect("the tag's end") + 1..];
            if key == "score" || content.starts_with('—') {
                continue;
            }
            assert!(
                content.starts_with("<a class=\"drill\""),
                "by {by}: the {key} cell is a link: {content:.120}"
            );
            numbers += 1;
        }
        assert!(numbers > 40, "by {by}: {numbers} numbers");
        for figure in [
            "due",
            "closed",
            "closed_on_time",
            "overdue",
            "extended",
            "dispatches",
        ] {
            assert!(
                links.contains_key(&("total".to_owned(), figure.to_owned(), None)),
                "by {by}: the total's {figure} is a link: {links:?}"
            );
        }
        // The page's period, as its links name it.
        let period = links
            .get(&("total".to_owned(), "due".to_owned(), None))
            .expect("the total's due");
        let pairs: BTreeMap<String, String> = serde_urlencoded::from_str(period).expect("a query");
        let (pfrom, pto): (i64, i64) = (
            pairs["figure_from"].parse().expect("ms"),
            pairs["figure_to"].parse().expect("ms"),
        );
        let s = stats(&http, &operator, by, pfrom, pto);
        for ((group, figure, rate), query) in &links {
            let figures = if group == "total" {
                &s["total"]
            } else {
                &s["groups"][group]
            };
            let (n, sums) = list_sums(&http, &operator, query);
            let what = format!("page by {by}, {group}/{figure}/{rate:?}: /cases?{query} vs {s}");
            match rate {
                // A count: its list's sum, and its length when it counts cases.
                None => {
                    let want = figures[figure.as_str()].as_u64().expect(&what);
                    assert_eq!(sums.get(figure).copied().unwrap_or(0), want, "{what}");
                    if CASE_COUNTS.contains(&figure.as_str()) {
                        assert_eq!(n, want, "{what}");
                    }
                }
                // 结案率 and 按期结案率: the cases of the numerator, the due count beside.
                Some(rate) if rate == "closing_rate" || rate == "on_time_rate" => {
                    assert_eq!(figures[figure.as_str()].as_u64(), Some(n), "{what}");
                }
                // Any other rate: its denominator's cases, whose sums make the rate.
                Some(rate) => {
                    let (_, _, den) = RATES.iter().find(|(r, _, _)| r == rate).expect(rate);
                    assert_eq!(figure, den, "{what}");
                    assert!(
                        same(rate_of(rate, &sums), figures[rate.as_str()].as_f64()),
                        "{what}: {sums:?}"
                    );
                }
            }
        }
        if by == "unit" {
            for figure in [
                "due",
                "closed",
                "closed_on_time",
                "overdue",
                "dispatches",
                "returns",
            ] {
                for unit in ["u1", "u2"] {
                    assert!(
                        links.contains_key(&(unit.to_owned(), figure.to_owned(), None)),
                        "{unit}'s {figure} is a link: {links:?}"
                    );
                }
            }
            for rate in [
                "rework_rate",
                "return_rate",
                "response_rate",
                "public_satisfaction_rate",
            ] {
                assert!(
                    links
                        .keys()
                        .any(|(g, _, r)| g == "total" && r.as_deref() == Some(rate)),
                    "the total's {rate} is a link: {links:?}"
                );
            }
        }
    }

    // The console's list of a figure sums it in its header and shows each case's counts.
    let list = http
        .send(
            "GET",
            &format!("/cases?{extended}"),
            None,
            &[("cookie", &cookie)],
            None,
        )
        .expect("the list")
        .text();
    let sums = list
        .split("id=\"figure-sums\"")
        .nth(1)
        .expect("the sums")
        .split("</p>")
        .next()
        .expect("their end");
    assert!(sums.contains("data-count=\"cases\">1<"), "{sums}");
    assert!(sums.contains("data-count=\"extended\""), "{sums}");
    assert!(sums.contains("延期数 2"), "{sums}");
    assert!(list.contains("<td class=\"counts\">"), "{list}");
}
