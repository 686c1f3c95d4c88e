//! Search latencies against the real release server on a ledger directory that
//! `gridcase-bench` filled: p50 and p95 of 200 requests each, signed in as the demo `operator`
//! (district scope), on loopback. Case numbers, free text (common, rare and very rare Chinese
//! words, a phrase, an ASCII word, a word no case has), addresses (a road, a doorplate), the
//! field-day bench's list mix row by row, and duplicate suggestions at the places and
//! categories of filled cases. `SEARCH_AT_SCALE_ONLY=<text>` times only the rows whose name
//! holds it (`POST` for intake, which adds cases to the ledger); `SEARCH_AT_SCALE_ROUNDS=<n>`
//! changes the requests per row. With `GRIDCASE_TEST_DATABASE_URL` set, the ledger directory
//! names its PostgreSQL database (`tests/src/lib.rs`, `test_database`); `GRIDCASE_SERVER_BIN`
//! runs another server binary on it (before and after a change, back to back).
//!
//! cargo build --release -p gridcase-server -p gridcase-bench
//! target/release/gridcase-bench --no-field --ledger-cases 100000 --ledger-dir /tmp/l100k --fill-only
//! cargo run --release -p gridcase-tests --example search_at_scale -- /tmp/l100k

use gridcase_tests::{url_encode, Http, Server};

/// The fill's callers' numbers (`gridcase-bench`'s `ledger_fill::phone_of`): 300,000 numbers,
/// the `i`th case's caller calling from `139` and `i * 7919 mod 300,000`.
fn phone_of(i: usize) -> String {
    format!("139{:08}", (i as u64).wrapping_mul(7919) % 300_000)
}
use serde_json::Value;
use std::time::Instant;

/// Requests per row of the table (`SEARCH_AT_SCALE_ROUNDS` to change it).
const ROUNDS: usize = 200;

/// A case of the first list pages: what the requests are made of.
struct Sample {
    number: String,
    address: String,
    category: String,
    at: (f64, f64),
}

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: search_at_scale <ledger directory> (a --demo ledger, such as gridcase-bench fills)");
        std::process::exit(2);
    };
    let rounds: usize = std::env::var("SEARCH_AT_SCALE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|r| *r >= 20)
        .unwrap_or(ROUNDS);
    // Only the rows whose name holds this text (`POST` for intake), to time a few at length.
    let only = std::env::var("SEARCH_AT_SCALE_ONLY").unwrap_or_default();
    let started = Instant::now();
    let server = Server::start_in(std::path::Path::new(&dir), &[]);
    let http = Http::new(server.addr);
    let token = http.login("operator");
    println!(
        "listening and signed in after {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let get = |path: &str| -> Value {
        let r = http.get(path, Some(&token));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()
    };

    // The newest 1,000 cases (four pages): their numbers, addresses, categories and places.
    let mut samples = Vec::new();
    let mut cursor = String::new();
    for _ in 0..4 {
        let page = get(&format!("/v1/cases?limit=250{cursor}"));
        for case in page["cases"].as_array().expect("cases") {
            let (Some(number), Some(address), Some(category), Some(lon), Some(lat)) = (
                case["number"].as_str(),
                case["address"].as_str(),
                case["category"].as_str(),
                case["coordinates"][0].as_f64(),
                case["coordinates"][1].as_f64(),
            ) else {
                continue;
            };
            samples.push(Sample {
                number: number.to_owned(),
                address: address.to_owned(),
                category: category.to_owned(),
                at: (lon, lat),
            });
        }
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert!(
        !samples.is_empty(),
        "no case with a number, an address, a category and coordinates: fill the ledger with this release's gridcase-bench"
    );
    println!("{} sample cases", samples.len());
    let sample = |i: usize| &samples[(i * 7919) % samples.len()];
    // The road of an address: up to its number.
    let road = |a: &str| -> String { a.chars().take_while(|c| !c.is_ascii_digit()).collect() };

    let list = |q: &str, what: &str| format!("/v1/cases?{what}={}&limit=50", url_encode(q));
    type Paths<'a> = Box<dyn Fn(usize) -> String + 'a>;
    let rows: Vec<(&str, Paths)> = vec![
        (
            "?number= (numbers of the newest 1,000)",
            Box::new(|i| format!("/v1/cases?number={}", url_encode(&sample(i).number))),
        ),
        (
            "?q= common: 路灯 / 垃圾 / 门口",
            Box::new(|i| list(["路灯", "垃圾", "门口"][i % 3], "q")),
        ),
        (
            "?q=路灯不亮 (a phrase)",
            Box::new(|_| list("路灯不亮", "q")),
        ),
        (
            "?q=流浪狗 (rare: 1 case in 997)",
            Box::new(|_| list("流浪狗", "q")),
        ),
        (
            "?q=孔雀 (1 case in 99,991)",
            Box::new(|_| list("孔雀", "q")),
        ),
        (
            "?q=led (ASCII, 1 case in 25)",
            Box::new(|_| list("led", "q")),
        ),
        ("?q=地震 (no case)", Box::new(|_| list("地震", "q"))),
        (
            "?address= a road",
            Box::new(|i| list(&road(&sample(i).address), "address")),
        ),
        (
            "?address= a doorplate",
            Box::new(|i| list(&sample(i).address, "address")),
        ),
        (
            "?phone= (a caller's cases, list filter)",
            Box::new(|i| list(&phone_of(i * 13), "phone")),
        ),
        (
            "/v1/callers/cases?phone= (repeat caller)",
            Box::new(|i| format!("/v1/callers/cases?phone={}", url_encode(&phone_of(i * 13)))),
        ),
        // The field-day bench's list mix (`gridcase-bench`), row by row.
        (
            "?status=dispatched (field-day list)",
            Box::new(|_| "/v1/cases?status=dispatched&limit=50".to_owned()),
        ),
        (
            "?grid=g1&overdue=true (field-day list)",
            Box::new(|_| "/v1/cases?grid=g1&overdue=true&limit=50".to_owned()),
        ),
        (
            "?unit=u2&category=E0101 (field-day list)",
            Box::new(|_| "/v1/cases?unit=u2&category=E0101&limit=50".to_owned()),
        ),
        ("?q=路灯 (field-day list)", Box::new(|_| list("路灯", "q"))),
        (
            "duplicates: category + place",
            Box::new(|i| {
                let s = sample(i);
                // Up to about 20 m from a filled case.
                let d = ((i % 11) as f64 - 5.0) * 0.00004;
                format!(
                    "/v1/cases/duplicates?category={}&lon={}&lat={}",
                    s.category,
                    s.at.0 + d,
                    s.at.1 - d
                )
            }),
        ),
        (
            "duplicates: category + place + address",
            Box::new(|i| {
                let s = sample(i);
                format!(
                    "/v1/cases/duplicates?category={}&lon={}&lat={}&address={}",
                    s.category,
                    s.at.0,
                    s.at.1,
                    url_encode(&s.address)
                )
            }),
        ),
    ];
    println!(
        "{:44} {:>9} {:>9} {:>9} {:>8}",
        "request", "p50 ms", "p95 ms", "max ms", "found"
    );
    // Intake saves: a hotline call with its caller, one durable write each (the caller's
    // record in the same batch), at the places of filled cases.
    let mut ms = Vec::with_capacity(rounds);
    for i in (0..rounds).filter(|_| "POST /v1/cases".contains(only.as_str())) {
        let s = sample(i);
        let body = serde_json::json!({
            "channel": "hotline",
            "description": format!("测试受理 {i}: 井盖松动"),
            "coordinates": [s.at.0, s.at.1],
            "address": s.address,
            "category": s.category,
            "reporter_name": "王女士",
            "reporter_contact": phone_of(i * 17),
        });
        let t = Instant::now();
        let r = http.json("POST", "/v1/cases", Some(&token), Some(body));
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    ms.sort_by(f64::total_cmp);
    if !ms.is_empty() {
        println!(
            "{:44} {:9.2} {:9.2} {:9.2} {:>8}",
            "POST /v1/cases (intake + caller, durable)",
            ms[ms.len() / 2],
            ms[ms.len() * 95 / 100 - 1],
            ms[ms.len() - 1],
            "-"
        );
    }
    for (name, path) in rows.iter().filter(|(name, _)| name.contains(only.as_str())) {
        let mut ms = Vec::with_capacity(rounds);
        let mut found = 0;
        for i in 0..rounds {
            let path = path(i);
            let t = Instant::now();
            let answer = get(&path);
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            found += answer["cases"]
                .as_array()
                .or(answer.as_array())
                .map_or(0, Vec::len);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "{name:44} {:9.2} {:9.2} {:9.2} {:8.1}",
            ms[ms.len() / 2],
            ms[ms.len() * 95 / 100 - 1],
            ms[ms.len() - 1],
            found as f64 / rounds as f64
        );
    }
}
