//! The field day: W grid workers build C cases of E events offline in their own client stores
//! (the real client library), some cases shared by two workers and edited by both, some with
//! photos; then all reconnect at once, and later sync a steady-state round.

use crate::phase::{progress, Phase};
use crate::probe;
use gridcase_client::client::Client;
use gridcase_client::transport::BuiltinTransport;
use gridcase_client::views::{NewReport, SyncReport};
use gridcase_tests::{Server, PASSWORD};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub struct Plan {
    pub workers: usize,
    pub cases: usize,
    pub events: usize,
    pub shared_pct: usize,
    pub photo_pct: usize,
}

#[derive(Default)]
pub struct Round {
    pub seconds: f64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub requests: u64,
    pub server_cpu_s: f64,
    /// CPU of the PostgreSQL processes during the round (0 on sled).
    pub database_cpu_s: f64,
    /// CPU of the clients (this process) during the round.
    pub client_cpu_s: f64,
    pub conflicts: u64,
    pub refusals: u64,
}

/// Grids, users and logged-in clients: two workers per grid, so partners share cases.
fn workers(server: &Server, dir: &Path, n: usize) -> Vec<Client> {
    let http = server.http();
    let admin = http.login("admin");
    for g in 0..n.div_ceil(2) {
        let r = http.json(
            "PUT",
            &format!("/v1/admin/org/bg{g}"),
            Some(&admin),
            Some(json!({"kind": "grid", "name": format!("bench grid {g}"), "community": "c1"})),
        );
        assert_eq!(r.status, 200, "grid");
    }
    let url = format!("http://{}", server.addr);
    let phase = Phase::new("workers logged in", n as u64, 20);
    let clients = (0..n)
        .map(|i| {
            let r = http.json(
                "POST",
                "/v1/admin/users",
                Some(&admin),
                Some(json!({"id": format!("bw{i}"), "name": format!("bench worker {i}"), "role": "grid_worker",
                    "scope": {"level": "grids", "id": [format!("bg{}", i / 2)]}, "password": PASSWORD})),
            );
            assert_eq!(r.status, 200, "user");
            let client = Client::open(dir.join(format!("w{i}")), &url, Arc::new(BuiltinTransport::new()))
                .expect("client store");
            client.login(&format!("bw{i}"), PASSWORD).expect("login");
            phase.inc(1);
            client
        })
        .collect();
    phase.finish();
    clients
}

fn report(client: &Client, grid: &str, n: usize, photo: Option<&Path>) -> String {
    client
        .report(NewReport {
            channel: "patrol".into(),
            description: format!("field day report {n}: garbage piled at the corner"),
            grid: Some(grid.into()),
            category: Some("E0102".into()),
            photos: photo
                .map(|p| vec![p.to_string_lossy().into_owned()])
                .unwrap_or_default(),
            ..NewReport::default()
        })
        .expect("report")
}

/// The rest of a worker's offline history on a case: notes, the on-the-spot fix, the on-site
/// verification and the close, E events in all with the intake.
fn work_on(client: &Client, case: &str, events: usize, from: usize) {
    let last = events.saturating_sub(1);
    for k in from..events {
        let outcome = if k == 1 {
            client.self_handle(case, "cleared it on the spot".into(), vec![])
        } else if k + 1 == last {
            client.verify(case, true, "checked on site".into(), vec![])
        } else if k == last {
            client.close(case, "done".into())
        } else {
            client.comment(case, format!("patrol note {k}"))
        };
        if outcome.is_err() {
            let _ = client.comment(case, format!("patrol note {k}"));
        }
    }
}

fn total(reports: &[SyncReport], seconds: f64) -> Round {
    Round {
        seconds,
        bytes_up: reports.iter().map(|r| r.bytes_sent).sum(),
        bytes_down: reports.iter().map(|r| r.bytes_received).sum(),
        conflicts: reports.iter().map(|r| u64::from(r.conflicts)).sum(),
        refusals: reports.iter().map(|r| r.refusals.len() as u64).sum(),
        ..Round::default()
    }
}

/// Every worker syncs at once; returns when all have finished.
/// One worker's sync in the reconnect round; a function of its own so that a profiler can
/// tell the rounds apart (`valgrind --toggle-collect='*steady_sync*'`).
#[inline(never)]
fn reconnect_sync(c: &Client) -> SyncReport {
    c.sync(&|_, _, _| {}).expect("sync")
}

/// One worker's sync in the settling round.
#[inline(never)]
fn settle_sync(c: &Client) -> SyncReport {
    c.sync(&|_, _, _| {}).expect("sync")
}

/// One worker's sync in the steady-state round.
#[inline(never)]
fn steady_sync(c: &Client) -> SyncReport {
    c.sync(&|_, _, _| {}).expect("sync")
}

fn all_sync(clients: &[Client], sync: fn(&Client) -> SyncReport) -> (Vec<SyncReport>, f64) {
    let t = Instant::now();
    let reports = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .map(|c| {
                std::thread::Builder::new()
                    .name("field-sync".into())
                    .spawn_scoped(s, move || sync(c))
                    .expect("a worker thread")
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread"))
            .collect::<Vec<_>>()
    });
    (reports, t.elapsed().as_secs_f64())
}

pub fn run(server: &Server, dir: &Path, plan: &Plan) -> Rounds {
    let clients = workers(server, dir, plan.workers);
    let photo = dir.join("photo.jpg");
    std::fs::write(
        &photo,
        (0..20_000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<u8>>(),
    )
    .expect("photo");
    let shared = plan.cases * plan.shared_pct / 100;

    // Shared cases: one partner reports them and both hold them before going offline.
    progress("shared cases");
    let mut shared_cases: Vec<Vec<String>> = vec![Vec::new(); plan.workers];
    for (i, c) in clients.iter().enumerate().step_by(2) {
        for n in 0..shared {
            shared_cases[i].push(report(c, &format!("bg{}", i / 2), n, None));
        }
        c.sync(&|_, _, _| {}).expect("sync");
    }
    for (i, c) in clients.iter().enumerate() {
        if i % 2 == 1 {
            c.sync(&|_, _, _| {}).expect("partner sync");
            shared_cases[i] = shared_cases[i - 1].clone();
        }
    }

    // Offline: each worker builds its cases; partners both work the shared ones.
    progress("building offline histories");
    let t = Instant::now();
    let mut total_cases = 0;
    let phase = Phase::new("offline cases", (plan.workers * plan.cases) as u64, 0);
    std::thread::scope(|s| {
        for (i, c) in clients.iter().enumerate() {
            let mine = &shared_cases[i];
            let (photo, phase) = (&photo, &phase);
            s.spawn(move || {
                for n in 0..plan.cases - mine.len() {
                    let with_photo = plan.photo_pct > 0 && n % (100 / plan.photo_pct.max(1)) == 0;
                    let case = report(
                        c,
                        &format!("bg{}", i / 2),
                        1000 + n,
                        with_photo.then_some(photo.as_path()),
                    );
                    work_on(c, &case, plan.events, 1);
                    phase.inc(1);
                }
                for case in mine {
                    // Both partners verify and close concurrently: disagreements become conflicts.
                    if i % 2 == 1 {
                        let _ = c.verify(case, false, "not fixed".into(), vec![]);
                    }
                    work_on(c, case, plan.events / 2 + 1, 1);
                    phase.inc(1);
                }
            });
        }
    });
    phase.finish();
    total_cases += plan.workers * (plan.cases - shared) + plan.workers.div_ceil(2) * shared;
    progress(&format!(
        "built {total_cases} cases in {:.1} s",
        t.elapsed().as_secs_f64()
    ));

    progress("reconnect: all workers sync at once");
    let reconnect = measured(server, &clients, reconnect_sync);
    progress(&format!("reconnect took {:.2} s", reconnect.seconds));
    for c in &clients {
        assert!(
            c.pending().expect("pending").cases.is_empty(),
            "the ledger holds everything"
        );
    }

    // Partners reconnected at the same moment, so one of each pair has not yet seen the
    // other's offline work. One more round brings every device level before the steady state.
    progress("settle: every worker syncs once more");
    let settle = measured(server, &clients, settle_sync);
    progress(&format!("settling took {:.2} s", settle.seconds));

    progress("steady state: each worker changes 10% of its cases");
    std::thread::scope(|s| {
        for c in &clients {
            s.spawn(move || {
                let cases = c.cases(&Default::default()).expect("cases");
                for item in cases.iter().take(cases.len().div_ceil(10)) {
                    c.comment(&item.id, "steady-state note".into())
                        .expect("comment");
                }
            });
        }
    });
    let steady = measured(server, &clients, steady_sync);
    progress(&format!("steady round took {:.2} s", steady.seconds));
    Rounds {
        reconnect,
        settle,
        steady,
        cases: total_cases,
    }
}

/// The three timed rounds of a field day.
pub struct Rounds {
    pub reconnect: Round,
    pub settle: Round,
    pub steady: Round,
    pub cases: usize,
}

/// Every worker syncs at once; the round's time, bytes, requests and CPU on both sides.
fn measured(server: &Server, clients: &[Client], sync: fn(&Client) -> SyncReport) -> Round {
    let http = server.http();
    let pid = server.pid();
    let me = std::process::id();
    let (cpu, requests) = (probe::cpu_seconds(pid), probe::requests(&http));
    let mine = probe::cpu_seconds(me);
    let database = probe::database_cpu_seconds();
    let (reports, seconds) = all_sync(clients, sync);
    let mut round = total(&reports, seconds);
    round.server_cpu_s = probe::cpu_seconds(pid) - cpu;
    round.database_cpu_s = probe::database_cpu_seconds() - database;
    round.client_cpu_s = probe::cpu_seconds(me) - mine;
    // Less the /metrics request that read the count before.
    round.requests = probe::requests(&http) - requests - 1;
    round
}
