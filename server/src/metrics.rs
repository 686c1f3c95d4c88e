//! Prometheus metrics, kept as plain atomics and rendered in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub struct Metrics {
    /// (route, status) → (count, total microseconds).
    requests: Mutex<BTreeMap<(String, u16), (u64, u64)>>,
    sync_cases: Mutex<BTreeMap<&'static str, u64>>,
    commit_groups: AtomicU64,
    commit_jobs: AtomicU64,
    /// Group commits staged again because another server committed first (a shared store).
    commit_turns_lost: AtomicU64,
    sync_bytes_in: AtomicU64,
    sync_bytes_out: AtomicU64,
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16, micros: u64) {
        if let Ok(mut m) = self.requests.lock() {
            let e = m.entry((route.to_owned(), status)).or_default();
            e.0 += 1;
            e.1 += micros;
        }
    }

    pub fn sync_case(&self, outcome: &'static str) {
        if let Ok(mut m) = self.sync_cases.lock() {
            *m.entry(outcome).or_default() += 1;
        }
    }

    pub fn sync_bytes(&self, incoming: usize, outgoing: usize) {
        self.sync_bytes_in
            .fetch_add(incoming as u64, Ordering::Relaxed);
        self.sync_bytes_out
            .fetch_add(outgoing as u64, Ordering::Relaxed);
    }

    pub fn commit_group(&self, jobs: usize) {
        self.commit_groups.fetch_add(1, Ordering::Relaxed);
        self.commit_jobs.fetch_add(jobs as u64, Ordering::Relaxed);
    }

    pub fn commit_turn_lost(&self) {
        self.commit_turns_lost.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition; `sync_waiting` is the syncs waiting for a turn now (`sync_door`: past
    /// a third of the request timeout they are told to come back, counted as the sync route's
    /// 503s).
    pub fn render(&self, cached_cases: usize, feed_seq: u64, sync_waiting: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# TYPE gridcase_http_requests_total counter");
        let _ = writeln!(out, "# TYPE gridcase_http_request_seconds_sum counter");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), (count, micros)) in m.iter() {
                let labels = format!("route=\"{route}\",status=\"{status}\"");
                let _ = writeln!(out, "gridcase_http_requests_total{{{labels}}} {count}");
                let _ = writeln!(
                    out,
                    "gridcase_http_request_seconds_sum{{{labels}}} {:.6}",
                    *micros as f64 / 1e6
                );
            }
        }
        let _ = writeln!(out, "# TYPE gridcase_sync_cases_total counter");
        if let Ok(m) = self.sync_cases.lock() {
            for (outcome, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "gridcase_sync_cases_total{{outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        for (name, kind, value) in [
            (
                "gridcase_commit_groups_total",
                "counter",
                self.commit_groups.load(Ordering::Relaxed),
            ),
            (
                "gridcase_commit_jobs_total",
                "counter",
                self.commit_jobs.load(Ordering::Relaxed),
            ),
            (
                "gridcase_commit_turns_lost_total",
                "counter",
                self.commit_turns_lost.load(Ordering::Relaxed),
            ),
            (
                "gridcase_sync_bytes_in_total",
                "counter",
                self.sync_bytes_in.load(Ordering::Relaxed),
            ),
            (
                "gridcase_sync_bytes_out_total",
                "counter",
                self.sync_bytes_out.load(Ordering::Relaxed),
            ),
            ("gridcase_cached_cases", "gauge", cached_cases as u64),
            ("gridcase_feed_sequence", "gauge", feed_seq),
            ("gridcase_sync_waiting", "gauge", sync_waiting as u64),
        ] {
            let _ = writeln!(out, "# TYPE {name} {kind}\n{name} {value}");
        }
        out
    }
}
