//! The field day: W grid workers build C cases of E events offline in their own client stores
//! (the real client library), some cases shared by two workers and edited by both, some with
//! photos; then all reconnect at once, and later sync a steady-state round.

use crate::offline;
use crate::phase::{progress, Phase};
use crate::wire::{Counted, Wire};
use gridcase_client::client::Client;
use gridcase_client::views::{NewReport, SyncReport};
use gridcase_tests::probe;
use gridcase_tests::{Server, PASSWORD};
use serde_json::json;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// Every byte the handhelds' library sent and received through its transport in the
    /// round, all routes, bodies and headers (see `wire.rs`).
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// The same by route, as the handhelds saw it: `{route: {requests, bytes_up, bytes_down}}`.
    pub wire: serde_json::Value,
    pub requests: u64,
    pub server_cpu_s: f64,
    /// CPU of the PostgreSQL processes during the round (0 on sled).
    pub database_cpu_s: f64,
    /// CPU of the clients (this process) during the round.
    pub client_cpu_s: f64,
    pub conflicts: u64,
    pub refusals: u64,
    /// The server's peak resident set size during the round (0: the peak could not be reset
    /// before it, so it would include the setup's).
    pub server_peak_rss: u64,
    /// Requests and the seconds the server spent answering them, per route, in the round.
    pub routes: serde_json::Value,
}

/// Threads for the setup phases: twice the cores, so one handheld's disk flush or one login's
/// password hash on the server overlaps another's work.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

/// Runs `task` for every index below `n` on `threads` threads, each taking the next index;
/// the results in index order. (Before, the setup ran one worker after another, or on a
/// thread per worker: 2,000 threads and sled stores contending on 2 cores.)
fn pool<T: Send>(n: usize, threads: usize, task: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let (next, task) = (&next, &task);
    let mut done: Vec<(usize, T)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.clamp(1, n.max(1)))
            .map(|_| {
                s.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break mine;
                        }
                        mine.push((i, task(i)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("pool thread"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

fn open_client(dir: &Path, url: &str, i: usize, wire: &Arc<Wire>) -> Client {
    Client::open(
        dir.join(format!("w{i}")),
        url,
        Arc::new(Counted::new(wire.clone())),
    )
    .expect("client store")
}

/// Grids, users and logged-in clients: two workers per grid, so partners share cases.
fn workers(server: &Server, dir: &Path, n: usize, wire: &Arc<Wire>) -> Vec<Client> {
    let t = Instant::now();
    let http = server.http();
    let admin = http.login("admin");
    // Every grid exists before anyone logs in, so that every handheld caches the same
    // organization. One at a time: the server writes the whole organization back for each
    // node (`PUT /v1/admin/org/{id}` reads, changes and writes it), and concurrent edits lose
    // each other's nodes.
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
    let phase = Phase::new("workers logged in", n as u64, 100);
    let clients = pool(n, threads(), |i| {
        let r = http.json(
            "POST",
            "/v1/admin/users",
            Some(&admin),
            Some(json!({"id": format!("bw{i}"), "name": format!("bench worker {i}"), "role": "grid_worker",
                "scope": {"level": "grids", "id": [format!("bg{}", i / 2)]}, "password": PASSWORD})),
        );
        assert_eq!(r.status, 200, "user");
        let client = open_client(dir, &url, i, wire);
        client.login(&format!("bw{i}"), PASSWORD).expect("login");
        phase.inc(1);
        client
    });
    phase.finish();
    progress(&format!(
        "{n} workers logged in in {:.1} s (the bench's peak RSS so far {} MB)",
        t.elapsed().as_secs_f64(),
        probe::peak_rss(std::process::id()) >> 20
    ));
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

fn total(reports: &[SyncReport], seconds: f64) -> Round {
    Round {
        seconds,
        conflicts: reports.iter().map(|r| u64::from(r.conflicts)).sum(),
        refusals: reports.iter().map(|r| r.refusals.len() as u64).sum(),
        ..Round::default()
    }
}

/// Every worker syncs at once; returns when all have finished.
/// Syncs that stopped on the network and were run again, across all rounds.
static RESUMED: AtomicUsize = AtomicUsize::new(0);

/// Syncs that stopped on the network and were run again so far (see [`sync_through`]).
pub fn resumed_syncs() -> usize {
    RESUMED.load(Ordering::Relaxed)
}

/// One handheld's sync as an app runs it: a sync the network stopped (the server busy: 503,
/// or its answer not coming within the client's 60 s idle timeout) is run again after a
/// randomized, growing pause, as its error says ("Run sync again to continue where it
/// stopped"), for up to 10 minutes. Without it, 2,000 handhelds reconnecting at once on
/// PostgreSQL stopped the bench at the first timed-out request. The bytes of the stopped
/// attempts count too (the transport counts every request, `wire.rs`).
fn sync_through(c: &Client, worker: usize) -> SyncReport {
    let started = Instant::now();
    let mut pause = Duration::from_secs(2);
    loop {
        match c.sync(&|_, _, _| {}) {
            Ok(report) => return report,
            Err(e) if e.is_network() && started.elapsed() < Duration::from_secs(600) => {
                RESUMED.fetch_add(1, Ordering::Relaxed);
                // Jitter from the worker and the clock, so the retries do not come back as
                // one wave.
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos() as u64);
                let jitter = (nanos ^ (worker as u64).wrapping_mul(0x9E37_79B9)) % 1000;
                std::thread::sleep(
                    pause + Duration::from_millis(jitter * pause.as_millis() as u64 / 1000),
                );
                pause = (pause * 2).min(Duration::from_secs(30));
            }
            Err(e) => panic!("sync: {e:?}"),
        }
    }
}

/// One worker's sync in the reconnect round; a function of its own so that a profiler can
/// tell the rounds apart (`valgrind --toggle-collect='*reconnect_sync*'`). The three rounds'
/// functions pass their names through `black_box`: with identical bodies the linker folded
/// them into one symbol (`settle_sync`), and a toggle on the others collected nothing.
#[inline(never)]
fn reconnect_sync(c: &Client, worker: usize) -> SyncReport {
    std::hint::black_box("reconnect");
    sync_through(c, worker)
}

/// One worker's sync in the settling round.
#[inline(never)]
fn settle_sync(c: &Client, worker: usize) -> SyncReport {
    std::hint::black_box("settle");
    sync_through(c, worker)
}

/// One worker's sync in the steady-state round.
#[inline(never)]
fn steady_sync(c: &Client, worker: usize) -> SyncReport {
    std::hint::black_box("steady");
    sync_through(c, worker)
}

fn all_sync(clients: &[Client], sync: fn(&Client, usize) -> SyncReport) -> (Vec<SyncReport>, f64) {
    let t = Instant::now();
    let reports = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                std::thread::Builder::new()
                    .name("field-sync".into())
                    .spawn_scoped(s, move || sync(c, i))
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
    let wire = Wire::new();
    let clients = workers(server, dir, plan.workers, &wire);
    let url = format!("http://{}", server.addr);
    // Every photo is a picture of its own (20 KB, its first bytes the worker and case), as on
    // real handhelds. One file for all (until issue 17) made 2,000 devices upload the same
    // blob at once, and the server's per-blob turn serialized them (see BENCHMARKS.md).
    let photo = |worker: usize, n: usize| {
        let path = dir.join(format!("photo-{worker}-{n}.jpg"));
        let mut bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        bytes[..8].copy_from_slice(&((worker as u64) << 32 | n as u64).to_be_bytes());
        std::fs::write(&path, bytes).expect("photo");
        path
    };
    let shared = plan.cases * plan.shared_pct / 100;

    // Shared cases: one partner reports them and both hold them before going offline.
    progress("shared cases");
    let t = Instant::now();
    let mut shared_cases: Vec<Vec<String>> = pool(plan.workers, threads(), |i| {
        let c = &clients[i];
        if i % 2 == 1 {
            return Vec::new();
        }
        let cases = (0..shared)
            .map(|n| report(c, &format!("bg{}", i / 2), n, None))
            .collect();
        c.sync(&|_, _, _| {}).expect("sync");
        cases
    });
    pool(plan.workers / 2, threads(), |p| {
        clients[2 * p + 1]
            .sync(&|_, _, _| {})
            .expect("partner sync");
    });
    for i in (1..plan.workers).step_by(2) {
        shared_cases[i] = shared_cases[i - 1].clone();
    }
    progress(&format!(
        "shared cases held by both partners in {:.1} s",
        t.elapsed().as_secs_f64()
    ));

    // Offline: each worker builds its cases; partners both work the shared ones. A photo
    // goes in through the client library (`Client::report`); every event is written with
    // sync-core's commands straight into the closed client's store (`offline.rs`), a
    // handheld's day in one commit. Handhelds are built a few at a time.
    progress("building offline histories");
    let t = Instant::now();
    let phase = Phase::new("offline cases", (plan.workers * plan.cases) as u64, 5000);
    let slots: Vec<Mutex<Option<Client>>> =
        clients.into_iter().map(|c| Mutex::new(Some(c))).collect();
    pool(plan.workers, threads(), |i| {
        let c = slots[i].lock().expect("slot").take().expect("a client");
        let grid = format!("bg{}", i / 2);
        let mine = &shared_cases[i];
        let with_photo =
            |n: usize| plan.photo_pct > 0 && n.is_multiple_of(100 / plan.photo_pct.max(1));
        // A photo is taken in through the client (its photo store and upload queue).
        let photographed: Vec<String> = (0..plan.cases - mine.len())
            .filter(|&n| with_photo(n))
            .map(|n| report(&c, &grid, 1000 + n, Some(photo(i, n).as_path())))
            .collect();
        drop(c);
        let mut handheld = offline::Handheld::open(&dir.join(format!("w{i}")));
        for case in &photographed {
            handheld.work_on(case, false, plan.events, 1);
        }
        for case in mine {
            // Both partners verify and close concurrently: disagreements become conflicts.
            handheld.work_on(case, i % 2 == 1, plan.events / 2 + 1, 1);
        }
        for n in 0..plan.cases - mine.len() {
            if !with_photo(n) {
                handheld.case(&grid, 1000 + n, plan.events);
            }
        }
        handheld.commit();
        phase.inc(plan.cases as u64);
        *slots[i].lock().expect("slot") = Some(open_client(dir, &url, i, &wire));
    });
    let clients: Vec<Client> = slots
        .into_iter()
        .map(|s| s.into_inner().expect("slot").expect("a client"))
        .collect();
    phase.finish();
    let build_seconds = t.elapsed().as_secs_f64();
    let total_cases = plan.workers * (plan.cases - shared) + plan.workers.div_ceil(2) * shared;
    progress(&format!(
        "built {total_cases} cases in {:.1} s (the bench's peak RSS so far {} MB)",
        t.elapsed().as_secs_f64(),
        probe::peak_rss(std::process::id()) >> 20
    ));

    let setup_peak_rss = probe::peak_rss(server.pid());
    progress("reconnect: all workers sync at once");
    let reconnect = measured(server, &clients, &wire, reconnect_sync);
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
    let settle = measured(server, &clients, &wire, settle_sync);
    progress(&format!("settling took {:.2} s", settle.seconds));

    progress("steady state: each worker changes 10% of its cases");
    pool(clients.len(), threads(), |i| {
        let c = &clients[i];
        let cases = c.cases(&Default::default()).expect("cases");
        for item in cases.iter().take(cases.len().div_ceil(10)) {
            c.comment(&item.id, "steady-state note".into())
                .expect("comment");
        }
    });
    let steady = measured(server, &clients, &wire, steady_sync);
    progress(&format!("steady round took {:.2} s", steady.seconds));
    Rounds {
        reconnect,
        settle,
        steady,
        cases: total_cases,
        setup_peak_rss,
        build_seconds,
    }
}

/// The three timed rounds of a field day.
pub struct Rounds {
    pub reconnect: Round,
    pub settle: Round,
    pub steady: Round,
    pub cases: usize,
    /// The server's peak resident set size before the reconnect (logins, shared cases).
    pub setup_peak_rss: u64,
    /// Building the offline histories.
    pub build_seconds: f64,
}

/// Every worker syncs at once; the round's time, bytes (every byte through the handhelds'
/// transports), requests and CPU on both sides.
fn measured(
    server: &Server,
    clients: &[Client],
    wire: &Wire,
    sync: fn(&Client, usize) -> SyncReport,
) -> Round {
    let http = server.http();
    let pid = server.pid();
    let me = std::process::id();
    let routes = probe::routes(&http);
    let (cpu, requests) = (probe::cpu_seconds(pid), probe::requests(&http));
    let mine = probe::cpu_seconds(me);
    let database = probe::database_cpu_seconds();
    let reset = probe::reset_peak_rss(pid);
    let before = wire.reading();
    let (reports, seconds) = all_sync(clients, sync);
    let moved = wire.since(&before);
    let mut round = total(&reports, seconds);
    round.bytes_up = moved.up();
    round.bytes_down = moved.down();
    round.wire = moved.json();
    round.server_cpu_s = probe::cpu_seconds(pid) - cpu;
    round.database_cpu_s = probe::database_cpu_seconds() - database;
    round.client_cpu_s = probe::cpu_seconds(me) - mine;
    round.server_peak_rss = if reset { probe::peak_rss(pid) } else { 0 };
    // Less the /metrics request that read the count before.
    round.requests = probe::requests(&http) - requests - 1;
    let mut by_route = serde_json::Map::new();
    for (route, (n, secs)) in probe::routes(&http) {
        let (n0, secs0) = routes.get(&route).copied().unwrap_or_default();
        if n > n0 && !route.contains("metrics") {
            by_route.insert(route, json!({"requests": n - n0, "seconds": secs - secs0}));
        }
    }
    round.routes = serde_json::Value::Object(by_route);
    round
}
