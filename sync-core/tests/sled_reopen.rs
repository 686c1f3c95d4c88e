//! The server's sled store reopens itself after enough writes (issue 17), so that a restart
//! replays a bounded part of sled's log. With a tiny threshold, many reopens happen here:
//! nothing committed may be lost across them, a live range iterator must hold the reopen off
//! (not deadlock), and readers and writers on several threads must keep working through them.

use gridcase_sync_core::store::{Batch, Guard, SledStore, Store};
use std::sync::atomic::{AtomicBool, Ordering};

const TREE: &str = "t";
const OTHER: &str = "other";
/// 64 KiB: a reopen every ~50 of the commits below.
const TINY: u64 = 64 * 1024;

fn key(writer: u32, i: u32) -> Vec<u8> {
    let mut k = writer.to_be_bytes().to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

fn value(writer: u32, i: u32) -> Vec<u8> {
    let mut v = key(writer, i);
    v.resize(300, (i % 251) as u8);
    v
}

/// One commit of four entries in two trees.
fn batch(writer: u32, i: u32) -> Batch {
    let mut b = Batch::new();
    b.put(TREE, key(writer, i), value(writer, i));
    b.put(OTHER, key(writer, i), i.to_be_bytes().to_vec());
    b.put(TREE, key(writer + 1000, i), value(writer + 1000, i));
    if i > 0 {
        // A delete of the previous commit's extra entry: deletes survive reopens too.
        b.delete(TREE, key(writer + 1000, i - 1));
    }
    b
}

fn check(store: &SledStore, writer: u32, commits: u32) {
    for i in 0..commits {
        assert_eq!(
            store.get(TREE, &key(writer, i)).expect("get"),
            Some(value(writer, i)),
            "writer {writer}, commit {i}"
        );
        assert_eq!(
            store.get(OTHER, &key(writer, i)).expect("get"),
            Some(i.to_be_bytes().to_vec())
        );
    }
    let extra: Vec<_> = store
        .scan_prefix(TREE, &(writer + 1000).to_be_bytes())
        .map(|e| e.expect("entry").0)
        .collect();
    assert_eq!(
        extra,
        vec![key(writer + 1000, commits - 1)],
        "writer {writer}"
    );
}

#[test]
fn every_commit_reads_back_across_many_reopens_and_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let commits = 1500;
    {
        let store = SledStore::open_with_reopen(dir.path(), 4 << 20, Some(TINY)).expect("open");
        for i in 0..commits {
            store.commit(batch(0, i)).expect("commit");
            if i % 100 == 99 {
                // Read everything so far back in the middle of the run.
                check(&store, 0, i + 1);
            }
        }
        assert!(store.reopens() >= 10, "reopened {} times", store.reopens());
        check(&store, 0, commits);
    }
    let store = SledStore::open(dir.path()).expect("open again");
    check(&store, 0, commits);
    assert_eq!(
        store.range(TREE, b"", None).count() as u32,
        commits + 1,
        "one extra entry left"
    );
}

#[test]
fn a_live_range_holds_the_reopen_off_until_it_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open_with_reopen(dir.path(), 4 << 20, Some(TINY)).expect("open");
    for i in 0..100 {
        store.commit(batch(0, i)).expect("commit");
    }
    let before = store.reopens();
    assert!(before > 0);

    let mut scan = store.range(OTHER, b"", None);
    let first = scan.next().expect("an entry").expect("entry");
    assert_eq!(first.0, key(0, 0));
    // Commits (and nested reads on this thread) while the iterator lives: far past the
    // threshold, but no reopen, and no deadlock.
    for i in 100..400 {
        store
            .commit(batch(0, i))
            .expect("commit while a range lives");
        assert!(store.get(TREE, &key(0, i)).expect("get").is_some());
    }
    assert_eq!(store.reopens(), before, "no reopen under a live range");
    // The iterator still works, over the same database.
    let rest = scan.by_ref().take(50).count();
    assert_eq!(rest, 50);
    drop(scan);

    store.commit(batch(0, 400)).expect("commit");
    assert_eq!(
        store.reopens(),
        before + 1,
        "the deferred reopen happens next"
    );
    check(&store, 0, 401);
}

#[test]
fn threads_commit_and_read_through_reopens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open_with_reopen(dir.path(), 4 << 20, Some(TINY)).expect("open");
    let writers = 3u32;
    let commits = 300u32;
    let guarded_per_writer = 60u32;
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for w in 0..writers {
            let store = &store;
            handles.push(s.spawn(move || {
                for i in 0..commits {
                    store.commit(batch(w, i)).expect("commit");
                    assert_eq!(store.get(TREE, &key(w, i)).expect("get"), Some(value(w, i)));
                    if i % 5 == 0 && i / 5 < guarded_per_writer {
                        // A shared counter bumped by guarded commits: none may be lost.
                        loop {
                            let now = store.get(OTHER, b"counter").expect("get");
                            let n = now
                                .as_deref()
                                .map_or(0, |v| u32::from_be_bytes(v.try_into().expect("4 bytes")));
                            let mut b = Batch::new();
                            b.put(OTHER, b"counter".to_vec(), (n + 1).to_be_bytes().to_vec());
                            let guard = Guard {
                                tree: OTHER,
                                key: b"counter".to_vec(),
                                value: now,
                            };
                            if store.commit_guarded(b, &[guard]).expect("guarded") {
                                break;
                            }
                        }
                    }
                }
            }));
        }
        for r in 0..2u32 {
            let (store, done) = (&store, &done);
            s.spawn(move || {
                let mut rounds = 0u64;
                while !done.load(Ordering::Relaxed) || rounds == 0 {
                    // Ranges that stay alive a while, and reads inside them.
                    for e in store.range(OTHER, &r.to_be_bytes(), None).take(200) {
                        let (k, v) = e.expect("entry");
                        if k.len() == 8 {
                            assert_eq!(v.len(), 4);
                            let w = u32::from_be_bytes(k[..4].try_into().expect("4"));
                            let i = u32::from_be_bytes(k[4..].try_into().expect("4"));
                            if w < writers {
                                // What a range sees was committed: the other tree has it too.
                                assert_eq!(store.get(TREE, &k).expect("get"), Some(value(w, i)));
                            }
                        }
                    }
                    // Readers come and go, as requests do: the reopen waits for a gap.
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    let heads = store
                        .range_heads(TREE, &[(Vec::new(), None)], 10)
                        .expect("heads");
                    assert_eq!(heads.len(), 1);
                    rounds += 1;
                }
            });
        }
        for h in handles {
            h.join().expect("writer");
        }
        done.store(true, Ordering::Relaxed);
    });
    // ~1 MB written: ~15 reopens due. Readers come and go all along; the drain lets the
    // reopens through anyway (a bare `try_write` saw 0–2).
    assert!(store.reopens() >= 3, "{} reopens", store.reopens());
    for w in 0..writers {
        check(&store, w, commits);
    }
    let counter = store.get(OTHER, b"counter").expect("get").expect("counter");
    assert_eq!(
        u32::from_be_bytes(counter.try_into().expect("4 bytes")),
        writers * guarded_per_writer
    );
    let reopens = store.reopens();
    drop(store);
    let store = SledStore::open(dir.path()).expect("open again");
    for w in 0..writers {
        check(&store, w, commits);
    }
    eprintln!("{reopens} reopens");
}
