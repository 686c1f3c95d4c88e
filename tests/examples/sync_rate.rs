//! A quick measurement (not the field-day benchmark): one sync round-trip's latency, and syncs
//! per second from several concurrent devices, against the real release server on loopback.
//!
//! cargo build --release -p gridcase-server && cargo run --release -p gridcase-tests --example sync_rate
//!
//! With `GRIDCASE_TEST_DATABASE_URL=$(./scripts/postgres start)` the server keeps its ledger on
//! PostgreSQL, and the throughput is measured again with a second server on the same database.

use gridcase_sync_core::event::Intake;
use gridcase_sync_core::Action;
use gridcase_tests::scenario::patrol;
use gridcase_tests::{probe, Device, Server};
use std::time::Instant;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn intake(i: usize) -> Intake {
    patrol(&format!("measurement case {i}"))
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let device = Device::register(&server, "worker1");
    let case = device.open(intake(0), now());
    device.sync().expect("first sync");

    // Latency: one edit, synced; each sync() is several round trips, so also time one request.
    let mut samples = Vec::new();
    for i in 0..50 {
        device
            .act(
                &case,
                Action::Comment {
                    text: format!("note {i}"),
                },
                now(),
            )
            .expect("note");
        let t = Instant::now();
        let report = device.sync().expect("sync");
        samples.push((t.elapsed().as_secs_f64() * 1000.0, report.rounds));
    }
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (median, rounds) = samples[samples.len() / 2];
    let idle = gridcase_sync_core::sync::SyncBatch::default();
    let mut trips = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        device.post_batch(&idle).expect("post");
        trips.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    trips.sort_by(|a, b| a.total_cmp(b));
    println!("one edit synced: median {median:.2} ms over {rounds} HTTP rounds; one empty round trip: median {:.2} ms, p99 {:.2} ms", trips[100], trips[198]);

    throughput(&[&server], "", &[&server]);
    // On PostgreSQL (GRIDCASE_TEST_DATABASE_URL): the same throughput with a second server
    // on the same database, devices taking turns between the two.
    let data = tmp.path().join("ledger");
    if gridcase_tests::test_database(&data).is_some() {
        let second_dir = tmp.path().join("second");
        std::fs::create_dir_all(&second_dir).expect("data dir");
        for shared in ["test-database", "jwt.key"] {
            std::fs::copy(data.join(shared), second_dir.join(shared))
                .expect("shared with the first");
        }
        let second = Server::start_in(&second_dir, &[]);
        throughput(&[&server, &second], "two servers, ", &[&server, &second]);
        commit_metrics(&second, "second server: ");
    }
    commit_metrics(&server, "");
}

/// N devices, each making one case and syncing it, as fast as they can, taking turns between
/// the servers given; with the CPU seconds each server, the database and this process (the
/// devices) used, to tell what the round was short of.
fn throughput(servers: &[&Server], label: &str, all: &[&Server]) {
    let k = servers.len();
    for n in [4usize, 16] {
        let devices: Vec<Device> = (0..n)
            .map(|i| {
                let user = if (i / k).is_multiple_of(2) {
                    "worker1"
                } else {
                    "worker2"
                };
                Device::register(servers[i % k], user)
            })
            .collect();
        let per_device = 25;
        let cpu = || {
            let servers: Vec<f64> = all.iter().map(|s| probe::cpu_seconds(s.pid())).collect();
            (
                servers,
                probe::database_cpu_seconds(),
                probe::cpu_seconds(std::process::id()),
            )
        };
        let before = cpu();
        let t = Instant::now();
        std::thread::scope(|s| {
            for d in &devices {
                s.spawn(move || {
                    for i in 0..per_device {
                        d.open(intake(i), now());
                        d.sync().expect("sync");
                    }
                });
            }
        });
        let secs = t.elapsed().as_secs_f64();
        let syncs = (n * per_device) as f64;
        let after = cpu();
        let servers: Vec<String> = after
            .0
            .iter()
            .zip(&before.0)
            .map(|(a, b)| format!("{:.2}", a - b))
            .collect();
        println!(
            "{label}{n} devices x {per_device} syncs (one new case each): {:.0} syncs/s, {:.2} s; CPU s: server(s) {}, database {:.2}, devices {:.2}",
            syncs / secs,
            secs,
            servers.join(" + "),
            after.1 - before.1,
            after.2 - before.2,
        );
    }
}

/// The server's commit counters from `/metrics`.
fn commit_metrics(server: &Server, label: &str) {
    let metrics = server
        .http()
        .get("/metrics", Some(gridcase_tests::METRICS_TOKEN));
    let text = String::from_utf8_lossy(&metrics.body);
    for line in text.lines().filter(|l| l.starts_with("gridcase_commit_")) {
        println!("{label}{line}");
    }
}
