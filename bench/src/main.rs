//! `gridcase-bench`: the field-day benchmark. Starts the real server on 127.0.0.1 with a
//! temporary ledger, has W grid workers build C cases of E events offline with the real client
//! library and reconnect at once, then a steady-state round; optionally replays the public 311
//! samples and measures a ledger of N cases. Progress goes to stderr; one JSON line to stdout.
//!
//! cargo build --release --workspace && target/release/gridcase-bench --size medium
//!
//! With `GRIDCASE_TEST_DATABASE_URL=$(./scripts/postgres start)` the servers it starts keep
//! their ledgers on PostgreSQL (a database each), and the figures add the database's CPU and
//! size.

mod convergence;
mod field;
mod ledger_fill;
mod offline;
mod phase;
mod wire;

mod replay;

/// One process plays every handheld (20 to 2,000 threads), where in the field each is a device
/// of its own. With glibc's malloc, about a quarter of the handhelds' samples in the reconnect
/// were its arenas (`_int_free`, `malloc_consolidate`: perf, BENCHMARKS.md), a cost of
/// simulating many devices in one process; with mimalloc the devices' CPU fell 5% in the
/// reconnect and 20% in the steady round (`--workers 20 --cases 200`, three runs each).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use gridcase_tests::{probe, Server};
use phase::progress;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "gridcase-bench", about = "gridcase's field-day benchmark")]
struct Args {
    /// small (5×20×8), medium (20×50×8) or large (200×50×8); sets workers, cases and events.
    #[arg(long)]
    size: Option<String>,
    #[arg(long, default_value_t = 5)]
    workers: usize,
    #[arg(long, default_value_t = 20)]
    cases: usize,
    #[arg(long, default_value_t = 8)]
    events: usize,
    /// Percent of each worker's cases shared with (and edited by) its partner.
    #[arg(long, default_value_t = 10)]
    shared_pct: usize,
    /// Percent of cases that carry a photo.
    #[arg(long, default_value_t = 5)]
    photo_pct: usize,
    /// Skip the field-day rounds (for a replay or ledger-only run).
    #[arg(long)]
    no_field: bool,
    /// Replay the public 311 samples (all three, or those named by --replay-file).
    #[arg(long)]
    replay: bool,
    /// Replay only this sample (a file name in --data; repeatable).
    #[arg(long)]
    replay_file: Vec<String>,
    /// Write the replay's ledger here (a fresh directory) and keep it; with --fill-only, stop
    /// once it is written (the replay test serves it with the real server).
    #[arg(long)]
    replay_dir: Option<PathBuf>,
    /// Measure a ledger filled with this many cases (0: skip).
    #[arg(long, default_value_t = 0)]
    ledger_cases: usize,
    /// Keep the ledger-scale ledger here, and reuse it when it is already there (skips the
    /// fill, which takes minutes at a million cases).
    #[arg(long)]
    ledger_dir: Option<PathBuf>,
    /// Fill the ledger-scale ledger (or, with --replay-dir, the replay's) and stop, without
    /// measuring (to copy or profile it).
    #[arg(long)]
    fill_only: bool,
    /// Run the convergence check (online writers beside syncing handhelds) for this many
    /// seconds (0: skip).
    #[arg(long, default_value_t = 0)]
    convergence_secs: u64,
    /// Cases, online writers and handhelds of the convergence check.
    #[arg(long, default_value_t = 150)]
    convergence_cases: usize,
    #[arg(long, default_value_t = 3)]
    convergence_writers: usize,
    #[arg(long, default_value_t = 4)]
    convergence_handhelds: usize,
    /// Extra server flags for the convergence check (e.g. "--cache-cases 64").
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    convergence_server_flags: String,
    /// Where the public 311 samples are.
    #[arg(long, env = "GRIDCASE_DATA", default_value = "../shared/data")]
    data: PathBuf,
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(i).copied().unwrap_or(0.0)
}

/// Times GETs: (p50 ms, p95 ms).
fn timed(http: &gridcase_tests::Http, token: &str, paths: &[&str], rounds: usize) -> (f64, f64) {
    let mut samples = Vec::new();
    for _ in 0..rounds {
        for p in paths {
            let t = Instant::now();
            let r = http.get(p, Some(token));
            assert_eq!(r.status, 200, "{p}");
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.95),
    )
}

fn main() {
    let mut args = Args::parse();
    match args.size.as_deref() {
        Some("small") => (args.workers, args.cases, args.events) = (5, 20, 8),
        Some("medium") => (args.workers, args.cases, args.events) = (20, 50, 8),
        Some("large") => (args.workers, args.cases, args.events) = (200, 50, 8),
        Some(other) => {
            eprintln!("unknown size {other}: small, medium or large");
            std::process::exit(2);
        }
        None => {}
    }
    let mut out = Map::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    // The samples are read first: a missing folder or file stops the run before any work.
    let replay = args.replay.then(|| {
        replay::seeds(&args.data, &args.replay_file).unwrap_or_else(|e| {
            eprintln!("[gridcase-bench] replay: {e}");
            std::process::exit(1);
        })
    });

    if args.convergence_secs > 0 {
        progress(&format!(
            "convergence: {} writers and {} handhelds on {} cases for {} s",
            args.convergence_writers,
            args.convergence_handhelds,
            args.convergence_cases,
            args.convergence_secs
        ));
        let dir = tmp.path().join("convergence");
        let flags: Vec<&str> = args.convergence_server_flags.split_whitespace().collect();
        let server = Server::start_in(&dir.join("ledger"), &flags);
        let figures = convergence::run(
            &server,
            &dir,
            &convergence::Plan {
                seconds: args.convergence_secs,
                cases: args.convergence_cases,
                writers: args.convergence_writers,
                handhelds: args.convergence_handhelds,
            },
        );
        progress(&format!("convergence: {} gaps", figures["gaps"]));
        out.insert("convergence".into(), figures);
    }

    if !args.no_field {
        progress(&format!(
            "field day: {} workers × {} cases × {} events",
            args.workers, args.cases, args.events
        ));
        let dir = tmp.path().join("field");
        let started = Instant::now();
        let server = Server::start_in(&dir.join("ledger"), &[]);
        let plan = field::Plan {
            workers: args.workers,
            cases: args.cases,
            events: args.events,
            shared_pct: args.shared_pct,
            photo_pct: args.photo_pct,
        };
        let field::Rounds {
            reconnect,
            settle,
            steady,
            cases,
            setup_peak_rss,
            build_seconds,
        } = field::run(&server, &dir, &plan);
        let pid = server.pid();
        out.insert("workers".into(), json!(args.workers));
        out.insert("cases".into(), json!(cases));
        out.insert("events_per_case".into(), json!(args.events));
        out.insert("build_s".into(), json!(build_seconds));
        out.insert("field_day_s".into(), json!(started.elapsed().as_secs_f64()));
        out.insert("reconnect_s".into(), json!(reconnect.seconds));
        out.insert("steady_s".into(), json!(steady.seconds));
        out.insert("bytes_up".into(), json!(reconnect.bytes_up));
        out.insert("bytes_down".into(), json!(reconnect.bytes_down));
        out.insert("requests".into(), json!(reconnect.requests));
        out.insert("server_cpu_s".into(), json!(reconnect.server_cpu_s));
        out.insert("client_cpu_s".into(), json!(reconnect.client_cpu_s));
        out.insert("conflicts".into(), json!(reconnect.conflicts));
        out.insert("refusals".into(), json!(reconnect.refusals));
        out.insert("steady_bytes_up".into(), json!(steady.bytes_up));
        out.insert("steady_bytes_down".into(), json!(steady.bytes_down));
        out.insert("steady_requests".into(), json!(steady.requests));
        out.insert("steady_server_cpu_s".into(), json!(steady.server_cpu_s));
        out.insert("steady_client_cpu_s".into(), json!(steady.client_cpu_s));
        out.insert("reconnect_routes".into(), reconnect.routes.clone());
        out.insert("steady_routes".into(), steady.routes.clone());
        // The bytes by route as the handhelds moved them (bytes_up and bytes_down are their
        // sums: every request and answer, bodies and headers).
        out.insert("reconnect_wire".into(), reconnect.wire.clone());
        out.insert("steady_wire".into(), steady.wire.clone());
        out.insert("resumed_syncs".into(), json!(field::resumed_syncs()));
        out.insert("settle_s".into(), json!(settle.seconds));
        out.insert("settle_bytes_down".into(), json!(settle.bytes_down));
        // The peak over the whole run (each round's peak was started over from the size the
        // server had then, so the largest of the parts is the run's), and each part's.
        let peaks = [
            setup_peak_rss,
            reconnect.server_peak_rss,
            settle.server_peak_rss,
            steady.server_peak_rss,
            probe::peak_rss(pid),
        ];
        out.insert(
            "server_peak_rss_bytes".into(),
            json!(peaks.iter().max().copied().unwrap_or(0)),
        );
        out.insert("setup_server_peak_rss_bytes".into(), json!(setup_peak_rss));
        out.insert(
            "reconnect_server_peak_rss_bytes".into(),
            json!(reconnect.server_peak_rss),
        );
        out.insert(
            "steady_server_peak_rss_bytes".into(),
            json!(steady.server_peak_rss),
        );
        let mut ledger_bytes = probe::disk_bytes(&dir.join("ledger"));
        match gridcase_tests::test_database(&dir.join("ledger")) {
            Some(url) => {
                out.insert("engine".into(), json!("postgres"));
                out.insert("database_cpu_s".into(), json!(reconnect.database_cpu_s));
                out.insert("steady_database_cpu_s".into(), json!(steady.database_cpu_s));
                ledger_bytes += probe::database_bytes(&url);
            }
            None => {
                out.insert("engine".into(), json!("sled"));
            }
        }
        out.insert("ledger_disk_bytes".into(), json!(ledger_bytes));
    }

    if let Some((seeds, findings)) = replay {
        progress("replay: public 311 samples");
        let mut quality = Map::new();
        for (file, q) in &findings {
            progress(&format!("replay data quality, {file}: {q}"));
            quality.insert(
                (*file).into(),
                json!({
                    "rows": q.rows,
                    "replayed": q.replayed,
                    "placeholder_dates": q.placeholder_dates,
                    "impossible_dates": q.impossible_dates,
                    "open_with_closing_date": q.open_with_closing_date,
                    "closed_without_closing_date": q.closed_without_closing_date,
                    "no_due_date": q.no_due_date,
                    "no_due_date_closed": q.no_due_date_closed,
                    "unmapped": q.unmapped,
                    "unmapped_types": q.unmapped_types,
                    "catch_all": q.catch_all,
                }),
            );
        }
        out.insert("replay_quality".into(), Value::Object(quality));
        let dir = args
            .replay_dir
            .clone()
            .unwrap_or_else(|| tmp.path().join("replay"));
        let rows: usize = findings.iter().map(|(_, q)| q.rows).sum();
        let replayed = seeds.len();
        let written = ledger_fill::fill(&dir, seeds.into_iter(), rows);
        if written != replayed {
            progress(&format!(
                "replay: {} of {replayed} rows were refused by the commands and not written",
                replayed - written
            ));
        }
        out.insert("replay_rows".into(), json!(rows));
        out.insert("replay_cases".into(), json!(written));
        if args.fill_only && args.replay_dir.is_some() {
            println!("{}", Value::Object(out));
            return;
        }
        let server = Server::start_in(&dir, &[]);
        let http = server.http();
        let supervisor = http.login("supervisor");
        let t = Instant::now();
        let stats = http
            .get(
                "/v1/stats?from=0&to=4102444800000&by=unit",
                Some(&supervisor),
            )
            .json();
        out.insert(
            "replay_stats_ms".into(),
            json!(t.elapsed().as_secs_f64() * 1000.0),
        );
        for (key, field) in [
            ("replay_due", "due"),
            ("replay_closed", "closed"),
            ("replay_closed_on_time", "closed_on_time"),
            ("replay_closed_in_period", "closed_in_period"),
            ("replay_closing_rate", "closing_rate"),
            ("replay_on_time_rate", "on_time_rate"),
        ] {
            out.insert(key.into(), stats["total"][field].clone());
        }
        out.insert(
            "replay_units".into(),
            json!(stats["groups"].as_object().map_or(0, Map::len)),
        );
    }

    if args.ledger_cases > 0 {
        let n = args.ledger_cases;
        progress(&format!("ledger at scale: {n} cases"));
        let dir = args
            .ledger_dir
            .clone()
            .unwrap_or_else(|| tmp.path().join("scale"));
        let reuse = dir.join("db").exists() || dir.join("test-database").exists();
        let t = Instant::now();
        let scale = ledger_fill::Scale::new(n);
        let seeds = (0..n).map(|i| scale.seed(i));
        if reuse {
            progress(&format!("reusing the ledger in {}", dir.display()));
        } else {
            let written = ledger_fill::fill(&dir, seeds, n);
            out.insert("ledger_cases".into(), json!(written));
            out.insert("ledger_fill_s".into(), json!(t.elapsed().as_secs_f64()));
        }
        if args.fill_only {
            println!("{}", Value::Object(out));
            return;
        }
        out.insert(
            "ledger_scale_disk_bytes".into(),
            json!(probe::disk_bytes(&dir)),
        );
        let t = Instant::now();
        let server = Server::start_in(&dir, &[]);
        let http = server.http();
        let operator = http.login("operator");
        out.insert("cold_start_s".into(), json!(t.elapsed().as_secs_f64()));
        let (p50, p95) = timed(
            &http,
            &operator,
            &[
                "/v1/cases?status=dispatched&limit=50",
                "/v1/cases?grid=g1&overdue=true&limit=50",
                "/v1/cases?unit=u2&category=E0101&limit=50",
                "/v1/cases?q=%E8%B7%AF%E7%81%AF&limit=50",
            ],
            5,
        );
        out.insert("list_p50_ms".into(), json!(p50));
        out.insert("list_p95_ms".into(), json!(p95));
        let (stats_ms, _) = timed(
            &http,
            &operator,
            &["/v1/stats?from=0&to=4102444800000&by=unit"],
            3,
        );
        out.insert("stats_ms".into(), json!(stats_ms));
        let plan = field::Plan {
            workers: 1,
            cases: 50,
            events: 8,
            shared_pct: 0,
            photo_pct: 0,
        };
        let one = field::run(&server, &tmp.path().join("one-worker"), &plan).reconnect;
        out.insert("one_worker_reconnect_s".into(), json!(one.seconds));
        out.insert(
            "scale_server_peak_rss_bytes".into(),
            json!(probe::peak_rss(server.pid())),
        );
    }

    println!("{}", Value::Object(out));
}
