//! Replays every checked-in input of `corpus/<target>/` through its target, with plain
//! `cargo test` (no fuzzing build, no libFuzzer): the seeds, and what fuzzing found and kept.
//! `GRIDCASE_FUZZ_CORPUS=dir` replays another directory of the same layout instead.

use std::path::PathBuf;

fn replay(target: &str) {
    let run = gridcase_fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, run)| *run)
        .expect("a target of that name");
    let root = std::env::var_os("GRIDCASE_FUZZ_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus"),
        PathBuf::from,
    );
    let dir = root.join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    for file in &files {
        let data = std::fs::read(file).expect("read an input");
        let outcome = std::panic::catch_unwind(|| gridcase_fuzz::run(run, &data));
        if outcome.is_err() {
            panic!("{target}: {} fails", file.display());
        }
    }
    eprintln!("{target}: {} inputs replayed", files.len());
}

#[test]
fn sync_batch() {
    replay("sync_batch");
}

#[test]
fn sync_receive() {
    replay("sync_receive");
}

#[test]
fn inspect() {
    replay("inspect");
}

#[test]
fn case_doc() {
    replay("case_doc");
}

#[test]
fn fold() {
    replay("fold");
}

#[test]
fn open311() {
    replay("open311");
}

#[test]
fn dates() {
    replay("dates");
}

#[test]
fn console_form() {
    replay("console_form");
}

/// Every target has a corpus and a test above.
#[test]
fn every_target_is_replayed() {
    let source = include_str!("corpus.rs");
    for (name, _) in gridcase_fuzz::TARGETS {
        assert!(
            source.contains(&format!("fn {name}()")),
            "no replay test for {name}"
        );
    }
}
