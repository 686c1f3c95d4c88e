//! Figures for the handheld library against the real release server on loopback: the time to
//! report a case offline, and the time and bytes to sync 100 changed cases.
//!
//! cargo build --release -p gridcase-server && cargo run --release -p gridcase-client --example field_figures

use gridcase_client::client::Client;
use gridcase_client::transport::BuiltinTransport;
use gridcase_client::views::NewReport;
use gridcase_tests::{Server, PASSWORD};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let url = format!("http://{}", server.addr);
    let client = Client::open(
        tmp.path().join("device"),
        &url,
        Arc::new(BuiltinTransport::new()),
    )
    .expect("open");
    client.login("worker1", PASSWORD).expect("login");

    let mut times = Vec::new();
    let mut cases = Vec::new();
    for i in 0..200 {
        let t = Instant::now();
        let case = client
            .report(NewReport {
                channel: "patrol".into(),
                description: format!("report {i}: garbage at the corner of the lane"),
                grid: Some("g1".into()),
                ..NewReport::default()
            })
            .expect("report");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        cases.push(case);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "report a case offline (durable): median {:.2} ms, p90 {:.2} ms",
        times[100], times[180]
    );
    client.sync(&|_, _, _| {}).expect("first sync");

    for case in cases.iter().take(100) {
        client
            .comment(case, "checked again on patrol".into())
            .expect("comment");
    }
    let t = Instant::now();
    let report = client.sync(&|_, _, _| {}).expect("sync");
    println!(
        "sync 100 changed cases: {:.1} ms, {} rounds, {} B up, {} B down (zstd), {} cases sent",
        t.elapsed().as_secs_f64() * 1000.0,
        report.rounds,
        report.bytes_sent,
        report.bytes_received,
        report.cases_sent
    );
}
