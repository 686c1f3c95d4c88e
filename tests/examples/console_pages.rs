//! Console page latencies (p50 and p95 of 30 requests each) against the real release server on
//! a ledger directory, signed in as the demo `operator` through the console's own form.
//!
//! cargo build --release -p gridcase-server -p gridcase-bench
//! target/release/gridcase-bench --no-field --ledger-cases 100000 --ledger-dir /tmp/l100k --fill-only
//! cargo run --release -p gridcase-tests --example console_pages -- /tmp/l100k

use gridcase_tests::{Http, Server};
use std::time::Instant;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: console_pages <ledger directory> (a --demo ledger, such as gridcase-bench fills)");
        std::process::exit(2);
    };
    let server = Server::start_in(std::path::Path::new(&dir), &[]);
    let http = Http::with_redirects(server.addr, 0);
    let cookie = http.console_sign_in("operator");
    let get = |path: &str| {
        http.send("GET", path, None, &[("cookie", cookie.as_str())], None)
            .expect("GET")
    };
    let list = get("/cases").text();
    let case = list
        .split("<tr data-case=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a case in the list")
        .to_owned();
    let paths = [
        "/cases".to_owned(),
        "/cases?grid=g1".to_owned(),
        "/cases?status=dispatched&overdue=1".to_owned(),
        "/cases?q=%E4%BA%95".to_owned(),
        format!("/cases/{case}"),
        "/review".to_owned(),
        "/performance".to_owned(),
        "/performance?by=category".to_owned(),
    ];
    for path in &paths {
        let mut ms: Vec<f64> = (0..30)
            .map(|_| {
                let t = Instant::now();
                let r = get(path);
                assert_eq!(r.status, 200, "{path}: {}", r.text());
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        println!(
            "{path:40} p50 {:7.1} ms  p95 {:7.1} ms  {:6} bytes",
            ms[ms.len() / 2],
            ms[ms.len() * 95 / 100 - 1],
            get(path).body.len()
        );
    }
}
