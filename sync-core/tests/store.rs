//! The store on sled: what a commit returned for survives reopening, and survives SIGKILL.

mod common;

use common::*;
use gridcase_sync_core::store::{Batch, DocStore, SledStore, Store};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

const TREE: &str = "t";

#[test]
fn committed_batches_survive_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = SledStore::open(dir.path()).expect("open");
        let mut b = Batch::new();
        b.put(TREE, b"a".to_vec(), b"1".to_vec());
        b.put(TREE, b"b".to_vec(), b"2".to_vec());
        b.put("other", b"a".to_vec(), b"x".to_vec());
        store.commit(b).expect("commit");
        let mut b = Batch::new();
        b.delete(TREE, b"a".to_vec());
        b.put(TREE, b"c".to_vec(), b"3".to_vec());
        store.commit(b).expect("commit");
    }
    let store = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(store.get(TREE, b"a").expect("get"), None);
    assert_eq!(store.get(TREE, b"b").expect("get"), Some(b"2".to_vec()));
    assert_eq!(store.get("other", b"a").expect("get"), Some(b"x".to_vec()));
    let keys: Vec<Vec<u8>> = store
        .range(TREE, b"", None)
        .map(|e| e.expect("entry").0)
        .collect();
    assert_eq!(
        keys,
        vec![b"b".to_vec(), b"c".to_vec()],
        "trees do not leak into each other"
    );
}

#[test]
fn ranges_and_prefixes_are_ordered_and_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("open");
    let mut b = Batch::new();
    for k in [&b"ab"[..], b"aa", b"b", b"a\xff", b"a\xff\xff", b"\xff"] {
        b.put(TREE, k.to_vec(), Vec::new());
    }
    b.put("u", b"ab".to_vec(), Vec::new());
    store.commit(b).expect("commit");
    let scan = |prefix: &[u8]| -> Vec<Vec<u8>> {
        store
            .scan_prefix(TREE, prefix)
            .map(|e| e.expect("entry").0)
            .collect()
    };
    let a_keys = vec![
        b"aa".to_vec(),
        b"ab".to_vec(),
        b"a\xff".to_vec(),
        b"a\xff\xff".to_vec(),
    ];
    assert_eq!(scan(b"a"), a_keys);
    assert_eq!(scan(b"\xff"), vec![b"\xff".to_vec()]);
    let middle: Vec<Vec<u8>> = store
        .range(TREE, b"aa", Some(b"b"))
        .map(|e| e.expect("entry").0)
        .collect();
    assert_eq!(middle, a_keys);
    let tail: Vec<Vec<u8>> = store
        .range(TREE, b"b", None)
        .map(|e| e.expect("entry").0)
        .collect();
    assert_eq!(tail, vec![b"b".to_vec(), b"\xff".to_vec()]);
    assert_eq!(
        store.range(TREE, b"b", Some(b"a")).count(),
        0,
        "an inverted range is empty"
    );
}

#[test]
fn cases_survive_reopening_with_increments_and_compaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut doc = case_at("dispatched");
    let case = doc.header().expect("header").case;
    {
        let docs = DocStore::new(Arc::new(SledStore::open(dir.path()).expect("open")))
            .with_compact_after(3);
        docs.save_local(&case, &mut doc, &[]).expect("first save");
        for i in 0..5 {
            let before = doc.heads();
            step(
                &mut doc,
                &worker1(),
                gridcase_sync_core::Action::Comment {
                    text: format!("c{i}"),
                },
                100 + i,
            )
            .expect("comment");
            docs.save_local(&case, &mut doc, &before)
                .expect("save increment");
            let n = docs.pending_increments(&case).expect("count");
            assert!(n <= 3, "{n} pending after save {i}");
        }
    }
    let docs = DocStore::new(Arc::new(SledStore::open(dir.path()).expect("reopen")));
    let mut loaded = docs.load(&case).expect("load").expect("case is there");
    assert_eq!(loaded.heads(), doc.heads());
    assert_eq!(state(&loaded), state(&doc));
    assert_eq!(docs.dirty_cases().expect("dirty"), vec![case.clone()]);
    assert_eq!(docs.case_ids().expect("ids"), vec![case.clone()]);
    if docs.pending_increments(&case).expect("count") > 0 {
        assert!(docs.compact(&case).expect("compact"));
    }
    assert_eq!(docs.pending_increments(&case).expect("count"), 0);
    assert_eq!(
        docs.load(&case).expect("load").expect("case").heads(),
        doc.heads()
    );
}

/// The child half of the crash test: commits numbered batches forever and prints each number
/// once its commit returned. Only runs when the parent starts it.
#[test]
#[ignore = "the child half of the SIGKILL test; the parent runs it"]
fn crash_child() {
    let Ok(dir) = std::env::var("GRIDCASE_CRASH_DIR") else {
        return;
    };
    let store = SledStore::open(&dir).expect("child opens the store");
    for i in 0u64.. {
        let mut b = Batch::new();
        b.put(TREE, i.to_be_bytes().to_vec(), vec![7u8; 512]);
        b.put("index", i.to_be_bytes().to_vec(), b"ok".to_vec());
        store.commit(b).expect("commit");
        println!("committed {i}");
    }
}

#[test]
fn a_sigkilled_writer_loses_nothing_it_reported_committed() {
    for round in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GRIDCASE_CRASH_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut last = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            if let Some(n) = line.strip_prefix("committed ") {
                let n: u64 = n.trim().parse().expect("number");
                last = Some(n);
                if n >= 200 + round * 500 {
                    break;
                }
            }
        }
        // SIGKILL: no destructor, no flush on the way out.
        child.kill().expect("kill");
        child.wait().expect("reap");
        let last = last.unwrap_or_else(|| {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("round {round}: the child committed nothing: {err}")
        });
        let store = SledStore::open(dir.path()).expect("reopen after crash");
        for i in 0..=last {
            let k = i.to_be_bytes();
            assert!(
                store.get(TREE, &k).expect("get").is_some(),
                "round {round}: batch {i} lost"
            );
            assert!(
                store.get("index", &k).expect("get").is_some(),
                "round {round}: half of batch {i} lost"
            );
        }
    }
}

#[test]
fn concurrent_writers_of_one_case_never_overwrite_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let docs = DocStore::new(Arc::new(SledStore::open(dir.path()).expect("open")));
    let mut base = case_at("dispatched");
    let case = base.header().expect("header").case;
    docs.save_local(&case, &mut base, &[]).expect("save");
    // Two writers load the same state and each save their own change, unaware of the other.
    let mut a = docs.load(&case).expect("load").expect("case");
    let mut b = docs.load(&case).expect("load").expect("case");
    let since = a.heads();
    let ea = step(
        &mut a,
        &unit1(),
        gridcase_sync_core::Action::Comment { text: "a".into() },
        50,
    )
    .expect("a");
    let eb = step(
        &mut b,
        &operator(),
        gridcase_sync_core::Action::Comment { text: "b".into() },
        51,
    )
    .expect("b");
    docs.save_local(&case, &mut a, &since).expect("save a");
    docs.save_local(&case, &mut b, &since).expect("save b");
    let ids: Vec<_> = docs
        .load(&case)
        .expect("load")
        .expect("case")
        .events()
        .expect("events")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert!(ids.contains(&ea.id) && ids.contains(&eb.id), "{ids:?}");
}

#[test]
fn snapshots_read_in_both_forms_and_a_corrupt_one_is_an_error() {
    use gridcase_sync_core::store::{decode_snapshot, encode_snapshot};
    let doc = case_at("dispatched");
    let mut am = doc.into_automerge();
    let heads = am.get_heads();
    let ours = encode_snapshot(&mut am);
    let automerges = am.save();
    assert!(
        ours.len() < automerges.len(),
        "{} vs {}",
        ours.len(),
        automerges.len()
    );
    for bytes in [&ours, &automerges] {
        let mut loaded = decode_snapshot(bytes).expect("loads");
        assert_eq!(loaded.get_heads(), heads);
    }
    let mut cut = ours.clone();
    cut.truncate(ours.len() / 2);
    assert!(decode_snapshot(&cut).is_err(), "a truncated snapshot");
}
