//! The NYC micro sample (2,000 rows of public 311 data) replayed into a real ledger by the
//! bench (`gridcase-bench --replay --replay-dir … --fill-only`, the same code as the
//! benchmark's replay), served by the real server, and `GET /v1/stats` checked against figures
//! computed here from the CSV rows themselves, with this file's own CSV reading and its own
//! arithmetic (not the server's indicator code, not the bench's):
//!
//! - 应结案 `due`: cases whose deadline falls in [from, to) (none is held or voided here);
//! - `closed` and `closed_on_time` (closing ≤ deadline): among those due cases, as of now;
//! - `closed_in_period`: cases closed in [from, to) (throughput);
//! - 结案率 = closed / due and 按期结案率 = closed_on_time / due, never above 1;
//! - a case without a due date is never due.
//!
//! The replay's rules for the rows, as the bench documents them (bench/src/replay.rs): a date
//! before 1990 or a closing before the opening is missing; a row is closed only when its status
//! is `Closed` and it has a closing date; a row without a due date is not dispatched (no
//! deadline) and its closing is not written.
//!
//! Needs the bench binary next to the server's (`cargo build --workspace --bins`, as
//! scripts/test does) and the samples in ../shared/data (or `GRIDCASE_DATA`).

use gridcase_tests::{server_binary, Server};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const FILE: &str = "nyc311_tuplex_micro_2000.csv";
const DAY: i64 = 86_400_000;

fn data_dir() -> PathBuf {
    std::env::var_os("GRIDCASE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

/// RFC 4180 records: fields split on commas, quoted fields may hold commas, doubled quotes
/// and line breaks.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// Days from 1970-01-01 of a proleptic Gregorian date.
fn days(y: i64, m: i64, d: i64) -> i64 {
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m - 3) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Local midnight (UTC+8, the district's time, as the replay reads the files' times).
fn midnight(y: i64, m: i64, d: i64) -> i64 {
    days(y, m, d) * DAY - 8 * 3_600_000
}

/// "03/01/2011 02:27:57 PM" as ms; `None` when empty or before 1990 (a placeholder).
fn when(s: &str) -> Option<i64> {
    let s = s.trim();
    let mut parts = s.split(' ');
    let (date, clock, half) = (parts.next()?, parts.next()?, parts.next()?);
    let mdy: Vec<i64> = date
        .split('/')
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let hms: Vec<i64> = clock
        .split(':')
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let [m, d, y] = mdy[..] else { return None };
    let [h, min, sec] = hms[..] else { return None };
    let h = h % 12 + if half == "PM" { 12 } else { 0 };
    (y >= 1990).then(|| midnight(y, m, d) + ((h * 60 + min) * 60 + sec) * 1000)
}

/// One row as the ledger should hold it.
struct Row {
    deadline: Option<i64>,
    closed: Option<i64>,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(data_dir().join(FILE)).expect("the NYC micro sample");
    let mut records = read_csv(&text).into_iter();
    let header = records.next().expect("a header");
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (created, closed, due, status) = (
        col("Created Date"),
        col("Closed Date"),
        col("Due Date"),
        col("Status"),
    );
    let field = |r: &Vec<String>, i: usize| r.get(i).cloned().unwrap_or_default();
    let rows: Vec<Row> = records
        .map(|r| {
            let opened = when(&field(&r, created)).expect("every row has an opening");
            let deadline = when(&field(&r, due)).filter(|&d| d >= opened);
            let closing = when(&field(&r, closed)).filter(|&c| c >= opened);
            let is_closed = field(&r, status) == "Closed";
            Row {
                deadline,
                // Without a deadline the case is not dispatched and its closing not written.
                closed: closing.filter(|_| is_closed && deadline.is_some()),
            }
        })
        .collect();
    assert_eq!(rows.len(), 2000, "rows of {FILE}");
    rows
}

/// The four counts under the definitions, for [from, to).
fn expected(rows: &[Row], from: i64, to: i64) -> [u64; 4] {
    let inside = |t: i64| from <= t && t < to;
    let due: Vec<&Row> = rows
        .iter()
        .filter(|r| r.deadline.is_some_and(inside))
        .collect();
    let closed = due.iter().filter(|r| r.closed.is_some()).count();
    let on_time = due
        .iter()
        .filter(|r| matches!((r.closed, r.deadline), (Some(c), Some(d)) if c <= d))
        .count();
    let closed_in_period = rows.iter().filter(|r| r.closed.is_some_and(inside)).count();
    [due.len(), closed, on_time, closed_in_period].map(|n| n as u64)
}

#[test]
fn replayed_indicators_match_the_csv() {
    let rows = rows();
    let tmp = tempfile::tempdir().expect("tempdir");
    let ledger = tmp.path().join("ledger");
    let bench = server_binary().with_file_name("gridcase-bench");
    assert!(
        bench.exists(),
        "{} is missing: build it first (cargo build --workspace --bins)",
        bench.display()
    );
    let mut command = Command::new(&bench);
    // On the PostgreSQL pass the bench fills the database the server will open.
    if let Some(url) = gridcase_tests::test_database(&ledger) {
        command.env("GRIDCASE_DATABASE_URL", url);
    }
    let out = command
        .args([
            "--no-field",
            "--replay",
            "--fill-only",
            "--replay-file",
            FILE,
        ])
        .arg("--replay-dir")
        .arg(&ledger)
        .arg("--data")
        .arg(data_dir())
        .output()
        .expect("run the bench");
    assert!(
        out.status.success(),
        "bench: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: Value = serde_json::from_slice(&out.stdout).expect("the bench's JSON line");
    assert_eq!(figures["replay_cases"], 2000, "{figures}");
    let quality = &figures["replay_quality"][FILE];
    assert_eq!(quality["placeholder_dates"], 1, "{quality}");
    assert_eq!(quality["no_due_date"], 17, "{quality}");
    assert_eq!(quality["open_with_closing_date"], 1, "{quality}");
    assert_eq!(quality["unmapped"], 0, "{quality}");

    let server = Server::start_in(&ledger, &[]);
    let http = server.http();
    let supervisor = http.login("supervisor");
    let mut periods = vec![("whole period", 0, 4_102_444_800_000)];
    for (label, (y, m, d)) in [
        ("2011-03-02", (2011, 3, 2)),
        ("2011-03-08", (2011, 3, 8)),
        ("2011-03-15", (2011, 3, 15)),
        ("2011-03-22", (2011, 3, 22)),
    ] {
        let from = midnight(y, m, d);
        periods.push((label, from, from + DAY));
    }
    periods.push((
        "week from 2011-03-07",
        midnight(2011, 3, 7),
        midnight(2011, 3, 14),
    ));
    let mut failures = Vec::new();
    for (label, from, to) in periods {
        let [due, closed, on_time, closed_in_period] = expected(&rows, from, to);
        assert!(closed <= due && on_time <= closed, "{label}");
        let r = http.get(
            &format!("/v1/stats?from={from}&to={to}&by=unit"),
            Some(&supervisor),
        );
        assert_eq!(r.status, 200, "{label}: {}", r.text());
        let total = r.json()["total"].clone();
        let rate = |n: u64| (due > 0).then(|| n as f64 / due as f64);
        let checks = [
            ("due", json_u64(&total["due"]) == Some(due), due.to_string()),
            (
                "closed",
                json_u64(&total["closed"]) == Some(closed),
                closed.to_string(),
            ),
            (
                "closed_on_time",
                json_u64(&total["closed_on_time"]) == Some(on_time),
                on_time.to_string(),
            ),
            (
                "closed_in_period",
                json_u64(&total["closed_in_period"]) == Some(closed_in_period),
                closed_in_period.to_string(),
            ),
            (
                "closing_rate",
                same_rate(&total["closing_rate"], rate(closed)),
                format!("{:?}", rate(closed)),
            ),
            (
                "on_time_rate",
                same_rate(&total["on_time_rate"], rate(on_time)),
                format!("{:?}", rate(on_time)),
            ),
        ];
        for (field, ok, want) in checks {
            if !ok {
                failures.push(format!(
                    "{label}: {field} is {}, the CSV says {want}",
                    total[field]
                ));
            }
        }
        for field in ["closing_rate", "on_time_rate"] {
            if let Some(v) = total[field].as_f64() {
                assert!(
                    (0.0..=1.0).contains(&v),
                    "{label}: {field} {v} outside [0, 1]"
                );
            }
        }
        // The figure and the case list its drill-down names agree on the replay too (the
        // filters the performance page links to: `console::drill`).
        let cohort = format!("due_from={from}&due_to={to}&held_or_voided=false");
        for (field, filters) in [
            ("due", cohort.clone()),
            ("closed", format!("{cohort}&closed=true")),
            (
                "closed_on_time",
                format!("{cohort}&closed=true&closed_on_time=true"),
            ),
            (
                "closed_in_period",
                format!("closed_from={from}&closed_to={to}"),
            ),
        ] {
            let listed = list_count(&http, &supervisor, &filters);
            if json_u64(&total[field]) != Some(listed) {
                failures.push(format!(
                    "{label}: {field} is {}, its case list holds {listed}",
                    total[field]
                ));
            }
        }
        eprintln!("{label}: due {due}, closed {closed}, on time {on_time}, closed in period {closed_in_period}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// How many cases `GET /v1/cases` lists under these filters, page by page.
fn list_count(http: &gridcase_tests::Http, token: &str, filters: &str) -> u64 {
    let mut count = 0;
    let mut cursor = String::new();
    loop {
        let r = http.get(
            &format!("/v1/cases?{filters}&limit=500{cursor}"),
            Some(token),
        );
        assert_eq!(r.status, 200, "{filters}: {}", r.text());
        let page = r.json();
        count += page["cases"].as_array().map_or(0, Vec::len) as u64;
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return count,
        }
    }
}

fn json_u64(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// A rate as the server writes it (a fraction, or null when nothing was due) against ours.
fn same_rate(got: &Value, want: Option<f64>) -> bool {
    match (got.as_f64(), want) {
        (Some(g), Some(w)) => (g - w).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}
