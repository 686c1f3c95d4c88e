//! Convergence under concurrent writers: online writers comment on cases through
//! `POST /v1/cases/{id}/events` while handhelds (the real client library) write offline and
//! sync in a loop; then every handheld syncs until idle, and each case in its scope must hold
//! exactly the server's events. Any difference is a gap: a device handed a cursor past a
//! change it was never offered (issue 10). CI runs it for seconds (`tests/convergence.rs`),
//! the benchmark for longer (`--convergence-secs`).

use gridcase_client::client::{Client, Retry};
use gridcase_client::transport::BuiltinTransport;
use gridcase_tests::{Http, Server, PASSWORD};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Plan {
    pub seconds: u64,
    pub cases: usize,
    pub writers: usize,
    /// Handhelds, alternating between worker1 and worker2 (both of grid g1).
    pub handhelds: usize,
}

fn handheld(dir: &std::path::Path, server: &Server, user: &str) -> Client {
    let client = Client::open(
        dir,
        &format!("http://{}", server.addr),
        Arc::new(BuiltinTransport::new()),
    )
    .expect("open")
    .with_retry(Retry {
        attempts: 5,
        first_delay: Duration::from_millis(20),
        ..Retry::default()
    });
    client.login(user, PASSWORD).expect("login");
    client
}

fn comment(http: &Http, token: &str, case: &str, text: &str) -> u16 {
    http.json(
        "POST",
        &format!("/v1/cases/{case}/events"),
        Some(token),
        Some(json!({"kind": "comment", "payload": {"text": text}})),
    )
    .status
}

/// The server's events of a case, by id.
fn server_events(http: &Http, token: &str, case: &str) -> BTreeSet<String> {
    let view = http.get(&format!("/v1/cases/{case}"), Some(token)).json();
    view["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["event"]["id"].as_str().expect("event id").to_owned())
        .collect()
}

/// The cases everyone works on at this moment: a few at a time, moving on every 400 ms, so
/// that writers and handhelds meet on one case and then leave it alone (a change missed then
/// is never healed by a later one).
fn hot(cases: &[String], started: Instant, pick: usize) -> &String {
    let phase = (started.elapsed().as_millis() / 400) as usize;
    &cases[(phase * 3 + pick % 3) % cases.len()]
}

/// Runs the plan against `server`; returns its figures, `gaps` among them (0 when every
/// handheld caught up exactly).
pub fn run(server: &Server, dir: &std::path::Path, plan: &Plan) -> Value {
    let http = server.http();
    let operator = http.login("operator");
    let cases: Vec<String> = (0..plan.cases)
        .map(|i| {
            let r = http.json(
                "POST",
                "/v1/cases",
                Some(&operator),
                Some(
                    json!({"channel": "hotline", "description": format!("case {i}"), "grid": "g1"}),
                ),
            );
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()["case"].as_str().expect("case").to_owned()
        })
        .collect();
    let handhelds: Vec<Arc<Client>> = (0..plan.handhelds)
        .map(|n| {
            let user = if n % 2 == 0 { "worker1" } else { "worker2" };
            Arc::new(handheld(&dir.join(format!("handheld{n}")), server, user))
        })
        .collect();
    for h in &handhelds {
        h.sync(&|_, _, _| {}).expect("first sync");
    }

    let stop = Arc::new(AtomicBool::new(false));
    let load_started = Instant::now();
    let online = Arc::new(AtomicUsize::new(0));
    let offline = Arc::new(AtomicUsize::new(0));
    let syncs = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for w in 0..plan.writers {
        let (stop, online, cases) = (stop.clone(), online.clone(), cases.clone());
        let http = server.http();
        let token = operator.clone();
        threads.push(std::thread::spawn(move || {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let case = hot(&cases, load_started, i);
                assert_eq!(
                    comment(&http, &token, case, &format!("online {w}.{i}")),
                    201
                );
                online.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    for (n, h) in handhelds.iter().enumerate() {
        let (stop, h, cases) = (stop.clone(), h.clone(), cases.clone());
        let (offline, syncs) = (offline.clone(), syncs.clone());
        threads.push(std::thread::spawn(move || {
            let mut i = n;
            while !stop.load(Ordering::Relaxed) {
                let case = hot(&cases, load_started, i);
                h.comment(case, format!("offline {n}.{i}"))
                    .expect("comment");
                offline.fetch_add(1, Ordering::Relaxed);
                h.sync(&|_, _, _| {}).expect("sync under load");
                syncs.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(plan.seconds));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("load thread");
    }

    // Every handheld syncs until it is idle: nothing to send, nothing new received.
    let started = Instant::now();
    for h in &handhelds {
        for _ in 0..10 {
            let report = h.sync(&|_, _, _| {}).expect("catch-up sync");
            if report.cases_received == 0 && h.pending().expect("pending").cases.is_empty() {
                break;
            }
        }
    }
    let catch_up_ms = started.elapsed().as_millis() as u64;
    let truth: BTreeMap<&String, BTreeSet<String>> = cases
        .iter()
        .map(|c| (c, server_events(&http, &operator, c)))
        .collect();
    let mut gaps = Vec::new();
    for (n, h) in handhelds.iter().enumerate() {
        for (case, on_server) in &truth {
            let on_device: BTreeSet<String> = match h.case(case) {
                Ok(detail) => detail.timeline.into_iter().map(|t| t.event).collect(),
                Err(_) => BTreeSet::new(),
            };
            let lacking = on_server.difference(&on_device).count();
            let extra = on_device.difference(on_server).count();
            if lacking + extra > 0 {
                gaps.push(json!({"handheld": n, "case": case, "lacking": lacking, "extra": extra}));
            }
        }
    }
    json!({
        "seconds": plan.seconds,
        "cases": plan.cases,
        "writers": plan.writers,
        "handhelds": plan.handhelds,
        "online_comments": online.load(Ordering::Relaxed),
        "offline_comments": offline.load(Ordering::Relaxed),
        "syncs": syncs.load(Ordering::Relaxed),
        "catch_up_ms": catch_up_ms,
        "gaps": gaps.len(),
        "gap_list": gaps,
    })
}
