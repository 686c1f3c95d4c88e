//! criterion benches of the hot paths: the fold, merging diverged histories, and loading and
//! syncing a batch of 1,000 cases from the store. `cargo bench -p gridcase-sync-core --bench core`

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use gridcase_sync_core::commands::open_case;
use gridcase_sync_core::event::Channel;
use gridcase_sync_core::store::{DocStore, SledStore};
use gridcase_sync_core::sync::{AcceptClean, SyncSession};
use gridcase_sync_core::{fold, Action, CaseDoc, CaseId};
use std::hint::black_box;
use std::sync::Arc;

/// A dispatched case grown to `n` events with progress notes and comments.
fn case_with(n: usize) -> CaseDoc {
    let mut doc = case_at("in_progress");
    let mut i = 0;
    while doc.events().expect("events").len() < n {
        let (who, action) = if i % 2 == 0 {
            (
                unit1(),
                Action::Handle {
                    note: format!("progress {i}"),
                    photos: vec![],
                },
            )
        } else {
            (
                worker1(),
                Action::Comment {
                    text: format!("seen on patrol {i}"),
                },
            )
        };
        step(&mut doc, &who, action, 100 + i as i64).expect("step");
        i += 1;
    }
    doc
}

fn bench_fold(c: &mut Criterion) {
    let events = case_with(50).events().expect("events");
    let calendar = cal();
    c.bench_function("fold 50-event case", |b| {
        b.iter(|| fold(black_box(&events), &calendar))
    });
}

fn bench_merge(c: &mut Criterion) {
    let mut base = case_at("in_progress");
    let mut a = replica(&mut base);
    let mut b = replica(&mut base);
    for i in 0..16 {
        step(
            &mut a,
            &unit1(),
            Action::Handle {
                note: format!("a{i}"),
                photos: vec![],
            },
            100 + i,
        )
        .expect("a");
        step(
            &mut b,
            &worker1(),
            Action::Comment {
                text: format!("b{i}"),
            },
            100 + i,
        )
        .expect("b");
    }
    assert_eq!(a.events().expect("events").len(), 20);
    c.bench_function("merge two diverged 20-event histories", |bench| {
        bench.iter_batched(
            || (a.clone(), b.clone()),
            |(mut a, mut b)| {
                merge(&mut a, &mut b);
                black_box(state(&a))
            },
            BatchSize::SmallInput,
        )
    });
}

fn device_with_cases(n: usize) -> (tempfile::TempDir, DocStore, Vec<CaseId>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let docs = DocStore::new(Arc::new(SledStore::open(dir.path()).expect("open")));
    let mut cases = Vec::with_capacity(n);
    for i in 0..n {
        let (mut doc, _) = open_case(
            &worker1(),
            writer("worker1-device"),
            intake(Channel::Patrol),
            t0() + i as i64,
        )
        .expect("intake");
        for k in 0..7 {
            step(
                &mut doc,
                &worker1(),
                Action::Comment {
                    text: format!("note {k}"),
                },
                k,
            )
            .expect("note");
        }
        let case = doc.header().expect("header").case;
        docs.save_local(&case, &mut doc, &[]).expect("save");
        cases.push(case);
    }
    (dir, docs, cases)
}

fn bench_store_sync(c: &mut Criterion) {
    let (_dir, device, cases) = device_with_cases(1_000);
    let mut group = c.benchmark_group("store");
    group.sample_size(10);
    group.bench_function("load 1,000 cases", |b| {
        b.iter(|| {
            for case in &cases {
                black_box(device.load(case).expect("load").expect("case"));
            }
        })
    });
    group.bench_function("sync 1,000 cases device -> empty server", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let server = DocStore::new(Arc::new(SledStore::open(dir.path()).expect("open")));
                (dir, server)
            },
            |(_dir, server)| {
                let mut d = SyncSession::new(&device, "bench-server");
                let mut s = SyncSession::new(&server, "bench-device");
                loop {
                    let up = d.generate(cases.iter().cloned()).expect("generate");
                    s.receive(&up, &AcceptClean).expect("receive");
                    let down = s.generate(cases.iter().cloned()).expect("generate");
                    d.receive(&down, &AcceptClean).expect("receive");
                    if up.is_empty() && down.is_empty() {
                        break;
                    }
                }
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_fold, bench_merge, bench_store_sync);
criterion_main!(benches);
