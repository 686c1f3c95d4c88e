//! Work queue latencies (`GET /v1/queue` and the console's `/queue`) against the real release
//! server on a ledger directory that `gridcase-bench` filled: p50, p95 and max of 30 requests
//! per role, on loopback, with each queue's sections and counts.
//!
//! cargo build --release -p gridcase-server -p gridcase-bench
//! target/release/gridcase-bench --no-field --ledger-cases 100000 --ledger-dir /tmp/l100k --fill-only
//! cargo run --release -p gridcase-tests --example queue_at_scale -- /tmp/l100k

use gridcase_tests::{Http, Server};
use std::time::Instant;

/// Requests per row of the table.
const ROUNDS: usize = 30;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: queue_at_scale <ledger directory> (a --demo ledger, such as gridcase-bench fills)");
        std::process::exit(2);
    };
    let started = Instant::now();
    let server = Server::start_in(std::path::Path::new(&dir), &[]);
    let http = Http::new(server.addr);
    let forms = Http::with_redirects(server.addr, 0);
    println!("listening after {:.2} s", started.elapsed().as_secs_f64());
    // The open cases load into memory in the background after the start (queues read them
    // through the case list meanwhile): the table measures the steady state.
    std::thread::sleep(std::time::Duration::from_secs(10));
    println!("| Role | request | p50 | p95 | max | sections (count) |");
    println!("|---|---|---|---|---|---|");
    for user in [
        "operator",
        "street1",
        "community1",
        "unit1",
        "worker1",
        "supervisor",
    ] {
        let token = http.login(user);
        let cookie = forms.console_sign_in(user);
        let first = http.get("/v1/queue", Some(&token));
        assert_eq!(first.status, 200, "{user}: {}", first.text());
        let queue = first.json();
        let sections: Vec<String> = queue["sections"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|s| format!("{} {}", s["section"].as_str().unwrap_or("?"), s["count"]))
                    .collect()
            })
            .unwrap_or_default();
        let api = time(|| {
            let r = http.get("/v1/queue", Some(&token));
            assert_eq!(r.status, 200);
        });
        let page = time(|| {
            let r = forms
                .send("GET", "/queue", None, &[("cookie", cookie.as_str())], None)
                .expect("the console's queue");
            assert_eq!(r.status, 200);
        });
        for (request, t) in [("`GET /v1/queue`", &api), ("console `/queue`", &page)] {
            println!(
                "| {user} | {request} | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
                t[ROUNDS / 2],
                t[ROUNDS * 95 / 100],
                t[ROUNDS - 1],
                if request.starts_with('`') {
                    sections.join(", ")
                } else {
                    String::new()
                }
            );
        }
    }
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
