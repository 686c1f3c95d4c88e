//! Indicator latencies (`GET /v1/stats` by every grouping, and the console's performance page,
//! which reads 14 periods: the chosen one, the previous one and 12 weeks of trends) against
//! the real release server on a ledger directory that `gridcase-bench` filled: p50, p95 and
//! max of 30 requests each, signed in as the demo `operator` (district scope), on loopback.
//!
//! cargo build --release -p gridcase-server -p gridcase-bench
//! target/release/gridcase-bench --no-field --ledger-cases 1000000 --ledger-dir /tmp/l1m --fill-only
//! cargo run --release -p gridcase-tests --example stats_at_scale -- /tmp/l1m

use gridcase_tests::{Http, Server};
use std::time::Instant;

/// Requests per row of the table.
const ROUNDS: usize = 30;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: stats_at_scale <ledger directory> (a --demo ledger, such as gridcase-bench fills)");
        std::process::exit(2);
    };
    let started = Instant::now();
    let server = Server::start_in(std::path::Path::new(&dir), &[]);
    let http = Http::new(server.addr);
    let forms = Http::with_redirects(server.addr, 0);
    let token = http.login("operator");
    let cookie = forms.console_sign_in("operator");
    // The first request waits for the indicator table to load.
    let first = Instant::now();
    let r = http.get("/v1/stats?by=unit", Some(&token));
    assert_eq!(r.status, 200, "{}", r.text());
    println!(
        "listening after {:.2} s; the first stats answered {:.2} s later",
        started.elapsed().as_secs_f64() - first.elapsed().as_secs_f64(),
        first.elapsed().as_secs_f64()
    );
    println!("| Request | p50 | p95 | max | groups |");
    println!("|---|---|---|---|---|");
    for by in [
        "unit",
        "street",
        "community",
        "grid",
        "category",
        "responsible",
    ] {
        for (period, query) in [
            ("30 days", String::new()),
            ("all time", "&from=0".to_owned()),
        ] {
            let path = format!("/v1/stats?by={by}{query}");
            let groups = http.get(&path, Some(&token)).json()["groups"]
                .as_object()
                .map_or(0, |g| g.len());
            let t = time(|| {
                let r = http.get(&path, Some(&token));
                assert_eq!(r.status, 200);
            });
            println!(
                "| `by={by}`, {period} | {:.1} ms | {:.1} ms | {:.1} ms | {groups} |",
                t[ROUNDS / 2],
                t[ROUNDS * 95 / 100],
                t[ROUNDS - 1]
            );
        }
    }
    let t = time(|| {
        let r = forms
            .send(
                "GET",
                "/performance?by=unit",
                None,
                &[("cookie", cookie.as_str())],
                None,
            )
            .expect("the performance page");
        assert_eq!(r.status, 200);
    });
    println!(
        "| console `/performance?by=unit` (14 periods) | {:.1} ms | {:.1} ms | {:.1} ms | |",
        t[ROUNDS / 2],
        t[ROUNDS * 95 / 100],
        t[ROUNDS - 1]
    );
}

/// Milliseconds of `ROUNDS` runs, sorted.
fn time(mut f: impl FnMut()) -> Vec<f64> {
    let mut ms: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms
}
