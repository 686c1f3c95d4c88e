//! Case numbers people read over the phone, on the real server binary: given when the ledger
//! first receives a case (online intake or a handheld's sync), the district date of that
//! receipt and the day's count, one per case under concurrent writers, the same after a
//! restart (whatever the prefix is by then), and found by number only within the caller's
//! scope: the list, the console's search box, the numbers a handheld asks for and those a sync
//! answer carries to a handheld that asked for them.

use gridcase_sync_core::calendar::civil_from_days;
use gridcase_sync_core::sync::{InfoCode, SyncBatch};
use gridcase_sync_core::{Action, CaseId};
use gridcase_tests::scenario::{now, patrol};
use gridcase_tests::{url_encode, Device, Http, Server};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// "YYYYMMDD" of a server time in district time (UTC+8).
fn district_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days((ms + 8 * 3_600_000).div_euclid(86_400_000));
    format!("{y:04}{m:02}{d:02}")
}

/// A number's parts: prefix, date and sequence.
fn parts(number: &str) -> (String, String, u32) {
    let mut it = number.split('-');
    let (prefix, date, seq) = (
        it.next().expect("a prefix"),
        it.next().expect("a date"),
        it.next().expect("a sequence"),
    );
    assert!(it.next().is_none() && seq.len() >= 4, "{number}");
    (prefix.into(), date.into(), seq.parse().expect("digits"))
}

/// A case's view; its number is checked against the district date of its first receipt.
fn view(http: &Http, token: &str, case: &str) -> Value {
    let r = http.get(&format!("/v1/cases/{case}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    let view = r.json();
    let number = view["number"].as_str().expect("numbered");
    let first = view["history"][0]["received_at"]
        .as_i64()
        .expect("a receipt");
    assert_eq!(parts(number).1, district_date(first), "{view}");
    view
}

fn number_of(http: &Http, token: &str, case: &str) -> String {
    view(http, token, case)["number"]
        .as_str()
        .expect("a number")
        .to_owned()
}

fn open_online(http: &Http, token: &str, description: &str, grid: &str) -> Value {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(token),
        Some(json!({"channel": "hotline", "description": description, "grid": grid})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// The ids of the cases `GET /v1/cases?number=…` finds.
fn found(http: &Http, token: &str, number: &str) -> Vec<String> {
    let query = url_encode(number);
    let r = http.get(&format!("/v1/cases?number={query}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn numbers_for(device: &Device, cases: &[&str]) -> BTreeMap<String, String> {
    let r = device.http.json(
        "POST",
        "/v1/cases/numbers",
        Some(&device.token),
        Some(json!({ "cases": cases })),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_value(r.json()["numbers"].clone()).expect("id → number")
}

/// The rows of the console's list for what was typed into its search box.
fn console_rows(http: &Http, cookie: &str, typed: &str) -> Vec<String> {
    let path = format!("/cases?q={}", url_encode(typed));
    let page = http
        .send("GET", &path, None, &[("cookie", cookie)], None)
        .expect("the list");
    assert_eq!(page.status, 200, "{}", page.text());
    page.text()
        .split("<tr data-case=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn numbers_are_given_on_first_receipt_found_in_scope_and_kept_across_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ledger");
    let server = Server::start_in(&dir, &[]);
    let http = Http::with_redirects(server.addr, 0);
    let operator = http.login("operator");

    // Online intake: the number comes back with the write, to read to the caller.
    let written = open_online(&http, &operator, "井盖缺失", "g1");
    let online = written["case"].as_str().expect("case").to_owned();
    let number = written["number"].as_str().expect("a number").to_owned();
    assert_eq!(number_of(&http, &operator, &online), number);
    let (prefix, date, seq) = parts(&number);
    assert_eq!((prefix.as_str(), seq), ("DC", 1), "{number}");

    // A handheld's offline report is numbered when the ledger first receives it, by sync;
    // the device learns it by asking, for the cases its user may see.
    let worker1 = Device::register(&server, "worker1");
    let synced = worker1.open(patrol("路灯不亮"), now() - 3_600_000);
    worker1.sync().expect("sync");
    let synced_number = number_of(&http, &operator, synced.as_str());
    let (_, synced_date, synced_seq) = parts(&synced_number);
    assert_eq!(
        synced_seq,
        if synced_date == date { 2 } else { 1 },
        "{synced_number}"
    );
    let listed = http.get("/v1/cases", Some(&operator)).json();
    let listed: BTreeSet<&str> = listed["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["number"].as_str())
        .collect();
    assert_eq!(
        listed,
        BTreeSet::from([number.as_str(), synced_number.as_str()])
    );
    let outside = open_online(&http, &operator, "绿地被占用", "g4");
    let outside = outside["case"].as_str().expect("case").to_owned();
    assert_eq!(
        numbers_for(
            &worker1,
            &[synced.as_str(), &online, &outside, "no-such-case"]
        ),
        BTreeMap::from([
            (synced.to_string(), synced_number.clone()),
            (online.clone(), number.clone()),
        ]),
        "only the cases worker1 (grid g1) may see"
    );

    // Search by number: an exact lookup, typed any way, within the caller's scope.
    assert_eq!(found(&http, &operator, &number), [online.as_str()]);
    let (_, _, n) = parts(&number);
    let casual = format!("dc - {date} - {n}");
    assert_eq!(found(&http, &operator, &casual), [online.as_str()]);
    assert_eq!(
        found(&http, &operator, &format!("DC-{date}-9999")),
        Vec::<String>::new()
    );
    let worker3 = http.login("worker3");
    assert_eq!(
        found(&http, &worker3, &number),
        Vec::<String>::new(),
        "outside worker3's grid g4"
    );
    assert_eq!(
        http.get(&format!("/v1/cases/{online}"), Some(&worker3))
            .status,
        404
    );
    let worker3_device = Device::register(&server, "worker3");
    assert_eq!(
        numbers_for(&worker3_device, &[&online, synced.as_str()]),
        BTreeMap::new()
    );

    // The console's search box: a number finds that case alone; other text searches
    // descriptions as before.
    let cookie = http.console_sign_in("operator");
    assert_eq!(console_rows(&http, &cookie, &number), [online.as_str()]);
    assert_eq!(
        console_rows(&http, &cookie, &synced_number),
        [synced.to_string()]
    );
    assert_eq!(console_rows(&http, &cookie, "路灯"), [synced.to_string()]);
    let page = http
        .send(
            "GET",
            &format!("/cases/{online}"),
            None,
            &[("cookie", &cookie)],
            None,
        )
        .expect("the case page");
    assert!(page.text().contains(&number), "{}", page.text());
    let cookie3 = http.console_sign_in("worker3");
    assert_eq!(console_rows(&http, &cookie3, &number), Vec::<String>::new());

    // Restarted with another prefix: what was given stays, the day's count goes on.
    drop(http);
    assert!(server.stop().success());
    let server = Server::start_in(&dir, &["--case-number-prefix", "gz"]);
    let http = server.http();
    let operator = http.login("operator");
    assert_eq!(number_of(&http, &operator, &online), number);
    assert_eq!(number_of(&http, &operator, synced.as_str()), synced_number);
    assert_eq!(found(&http, &operator, &number), [online.as_str()]);
    let after = open_online(&http, &operator, "路面塌陷", "g1");
    let after_number = after["number"].as_str().expect("a number");
    let (prefix, after_date, after_seq) = parts(after_number);
    assert_eq!(prefix, "GZ");
    if after_date == date && synced_date == date {
        assert_eq!(after_seq, 4, "after the day's three: {after_number}");
    }
}

#[test]
fn concurrent_writers_never_share_a_number() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");
    let worker1 = Device::register(&server, "worker1");
    let written: Vec<Value> = std::thread::scope(|s| {
        let online: Vec<_> = (0..8)
            .map(|i| {
                let (http, operator) = (&http, &operator);
                s.spawn(move || {
                    (0..10)
                        .map(|j| open_online(http, operator, &format!("来电 {i}-{j}"), "g1"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A handheld's batch of offline reports arrives meanwhile.
        for k in 0..20 {
            worker1.open(patrol(&format!("巡查 {k}")), now());
        }
        worker1.sync().expect("sync");
        online
            .into_iter()
            .flat_map(|w| w.join().expect("a writer"))
            .collect()
    });
    let page = http.get("/v1/cases?limit=500", Some(&operator)).json();
    let cases = page["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 100);
    let mut by_day: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for case in cases {
        let (_, date, seq) = parts(case["number"].as_str().expect("numbered"));
        by_day.entry(date).or_default().push(seq);
    }
    for (date, mut seqs) in by_day {
        seqs.sort_unstable();
        let count = seqs.len() as u32;
        assert_eq!(
            seqs,
            (1..=count).collect::<Vec<_>>(),
            "{date}: one each, no gap"
        );
    }
    for w in &written {
        let case = w["case"].as_str().expect("case");
        assert_eq!(
            w["number"].as_str(),
            Some(number_of(&http, &operator, case).as_str()),
            "the number the write answered is the case's"
        );
    }
}

/// The `numbered` notices of one sync answer: case id → number.
fn numbered(answer: &SyncBatch) -> BTreeMap<String, String> {
    answer
        .notices
        .iter()
        .filter(|n| n.code == InfoCode::Numbered.as_str())
        .map(|n| (n.case.to_string(), n.text.clone()))
        .collect()
}

/// A sync answer carries the numbers of the cases it speaks of only when the device asks
/// (`?numbers=true`): a request without it is answered as before, without a notice an older
/// driver would take for a refusal. Asked, the numbers are those of the cases answered (the
/// device's own, just numbered) and offered by the feed, and never of a case the user may not
/// see, even one the device names.
#[test]
fn the_sync_answer_carries_numbers_only_when_asked_and_only_in_scope() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");
    let online = open_online(&http, &operator, "井盖缺失", "g1");
    let online = online["case"].as_str().expect("case").to_owned();
    let outside = open_online(&http, &operator, "绿地被占用", "g4");
    let outside = outside["case"].as_str().expect("case").to_owned();

    // An older handheld's view: no parameter, no number, no notice at all.
    let old = Device::register(&server, "worker1");
    let mine = old.open(patrol("路灯不亮"), now());
    let report = old.sync().expect("sync");
    assert!(report.notices.is_empty(), "{:?}", report.notices);
    assert!(report.numbers.is_empty(), "{:?}", report.numbers);
    let (status, answer) = Device::register(&server, "worker2")
        .post_batch(&SyncBatch::default())
        .expect("sync");
    let answer = answer.unwrap_or_else(|| panic!("sync answered {status}"));
    let offered: BTreeSet<String> = answer.entries.iter().map(|(c, _)| c.to_string()).collect();
    assert_eq!(
        offered,
        BTreeSet::from([online.clone(), mine.to_string()]),
        "the feed of g1"
    );
    assert!(answer.notices.is_empty(), "{:?}", answer.notices);

    // Asked: the feed's offers come with their numbers.
    let (_, answer) = Device::register(&server, "worker2")
        .post_batch_to("/v1/sync?numbers=true", &SyncBatch::default())
        .expect("sync");
    let answer = answer.expect("an answer");
    let expected = BTreeMap::from([
        (online.clone(), number_of(&http, &operator, &online)),
        (mine.to_string(), number_of(&http, &operator, mine.as_str())),
    ]);
    assert_eq!(numbered(&answer), expected);
    assert_eq!(
        answer.notices.len(),
        2,
        "nothing else: {:?}",
        answer.notices
    );

    // A device's own new case is numbered in the answer that acknowledges it, sent only or not.
    let new = Device::register(&server, "worker1");
    let first = new.open(patrol("路面塌陷"), now());
    let report = new.sync_with_numbers().expect("sync");
    assert!(
        report.notices.is_empty(),
        "no refusal: {:?}",
        report.notices
    );
    let learned: BTreeMap<String, String> = report
        .numbers
        .iter()
        .map(|(c, n)| (c.to_string(), n.clone()))
        .collect();
    let mut all = expected.clone();
    all.insert(
        first.to_string(),
        number_of(&http, &operator, first.as_str()),
    );
    assert_eq!(learned, all, "its own case and the feed's");
    let second = new.open(patrol("垃圾满溢"), now());
    let (_, answer) = new
        .post_batch_to(
            "/v1/sync?sent_only=true&numbers=true",
            &SyncBatch {
                entries: vec![(second.clone(), Vec::new())],
                ..SyncBatch::default()
            },
        )
        .expect("sync");
    let answer = answer.expect("an answer");
    assert!(
        numbered(&answer).is_empty(),
        "not on the server yet: no number {:?}",
        answer.notices
    );
    new.sync_with_numbers().expect("sync");
    let report = new.sync_with_numbers().expect("sync");
    assert!(report.numbers.is_empty(), "nothing spoken of: nothing sent");
    // A later change to a case the device was numbered before: answered, not numbered again.
    new.act(
        &first,
        Action::Comment {
            text: "已到现场".into(),
        },
        now() + 1,
    )
    .expect("comment");
    let report = new.sync_with_numbers().expect("sync");
    assert!(report.notices.is_empty(), "{:?}", report.notices);
    assert!(
        report.numbers.is_empty(),
        "known already: {:?}",
        report.numbers
    );

    // Never the number of a case the user may not see: worker3 (grid g4) names a case of g1
    // and hears only that it lies outside its scope; its feed brings g4's, numbered.
    let other = Device::register(&server, "worker3");
    let (_, answer) = other
        .post_batch_to(
            "/v1/sync?numbers=true",
            &SyncBatch {
                entries: vec![
                    (CaseId::new(online.as_str()), Vec::new()),
                    (mine.clone(), Vec::new()),
                ],
                ..SyncBatch::default()
            },
        )
        .expect("sync");
    let answer = answer.expect("an answer");
    assert_eq!(
        numbered(&answer),
        BTreeMap::from([(outside.clone(), number_of(&http, &operator, &outside))])
    );
    let refusals: BTreeSet<(String, String)> = answer
        .notices
        .iter()
        .filter(|n| n.code != InfoCode::Numbered.as_str())
        .map(|n| (n.case.to_string(), n.code.clone()))
        .collect();
    assert_eq!(
        refusals,
        BTreeSet::from([
            (online.clone(), "out_of_scope".to_owned()),
            (mine.to_string(), "out_of_scope".to_owned()),
        ])
    );
    assert!(numbers_for(&other, &[&online, mine.as_str()]).is_empty());
}
