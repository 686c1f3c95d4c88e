//! How long the server's sled store takes to reopen after a run of writes (issue 17).
//!
//! sled 0.34 writes its snapshot (the page table and the log position it covers) only while it
//! opens, then replays every log segment written since that snapshot: the cost of a start grows
//! with what was written since the previous start. This writes ledger-like commits through
//! `SledStore::open_with_cache` (as the server opens it, 32 MiB cache by default), and times
//! reopening (open + one read) between runs of writes.
//!
//! `cargo run --release -p gridcase-bench --example sled_restart -- DIR STEP...`, where a step
//! is `wN` (write N more store entries, in commits of 35 as one new case's commit), `r`
//! (drop the store and time its reopen), or `rN` (reopen after every N entries written by the
//! following `w` steps, without evicting: the "reopen on a schedule" variant).
//! `--cache-mb M` sets the cache; `--cold` evicts the directory's files from the OS page cache
//! before each timed reopen (`dd iflag=nocache count=0` per file), as after a reboot.
//! The store reopens itself after `SERVER_REOPEN_AFTER` of writes, as the server's does
//! (`SledStore::open_with_cache`); `--reopen-after-mb M` sets that threshold instead, and
//! `--no-auto-reopen` turns it off (sled's own behaviour). A `w` step reports the pauses of the
//! store's own reopens (the commits during which one happened).
//! (sled's `Config::snapshot_after_ops` is no help: in sled 0.34.7 its body is `self`.)
//! DIR must not exist or be empty to start afresh; an existing one is reused.

use gridcase_sync_core::store::{Batch, SledStore, Store};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Entries per commit: one new case's commit.
const PER_COMMIT: u64 = 35;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut cache_mb = 32u64;
    let mut auto_reopen = Some(SledStore::SERVER_REOPEN_AFTER);
    if let Some(i) = args.iter().position(|a| a == "--no-auto-reopen") {
        args.remove(i);
        auto_reopen = None;
    }
    if let Some(i) = args.iter().position(|a| a == "--reopen-after-mb") {
        let mb: u64 = args.get(i + 1).ok_or("--reopen-after-mb M")?.parse()?;
        auto_reopen = Some(mb * 1024 * 1024);
        args.drain(i..i + 2);
    }
    let cold = match args.iter().position(|a| a == "--cold") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    };
    if let Some(i) = args.iter().position(|a| a == "--cache-mb") {
        cache_mb = args.get(i + 1).ok_or("--cache-mb M")?.parse()?;
        args.drain(i..i + 2);
    }
    let dir = PathBuf::from(args.first().ok_or("usage: sled_restart DIR STEP...")?);
    let steps = &args[1..];
    let cache = cache_mb * 1024 * 1024;
    let how = How { cache, auto_reopen };

    let t = Instant::now();
    let mut store = Some(open(&dir, &how)?);
    println!(
        "initial open: {:.3} s, {}",
        t.elapsed().as_secs_f64(),
        disk(&dir)
    );
    // Continue numbering after what an existing directory holds.
    let mut cases = match store.as_ref().unwrap().get("head", b"head")? {
        Some(v) => u64::from_be_bytes(v[..8].try_into()?),
        None => 0,
    };
    let mut written_since_start = 0u64;
    // Entries written since the store's own last reopen (or the last start).
    let mut written_since_open = 0u64;
    let mut io_at_start = io_written();
    let mut reopen_every: Option<u64> = None;

    for step in steps {
        if let Some(n) = step.strip_prefix('w') {
            let n: u64 = n.replace('_', "").parse()?;
            let commits = n.div_ceil(PER_COMMIT);
            let t = Instant::now();
            let mut last_report = Instant::now();
            let mut reopens = Vec::new();
            let mut own_reopens = Vec::new();
            for i in 0..commits {
                cases += 1;
                let s = store.as_ref().unwrap();
                let before = s.reopens();
                let c = Instant::now();
                s.commit(case_commit(cases))?;
                written_since_start += PER_COMMIT;
                written_since_open += PER_COMMIT;
                if s.reopens() != before {
                    own_reopens.push((c.elapsed().as_secs_f64(), written_since_open));
                    written_since_open = 0;
                }
                if let Some(every) = reopen_every {
                    if written_since_start >= every {
                        drop(store.take());
                        // A running server's files are in the OS page cache: never cold.
                        let (s, secs) = reopen(&dir, &how, cases, false)?;
                        store = Some(s);
                        reopens.push(secs);
                        written_since_start = 0;
                        written_since_open = 0;
                        io_at_start = io_written();
                    }
                }
                if last_report.elapsed().as_secs() >= 15 {
                    last_report = Instant::now();
                    eprintln!(
                        "  {} / {} entries, {:.0} entries/s, {}",
                        (i + 1) * PER_COMMIT,
                        n,
                        ((i + 1) * PER_COMMIT) as f64 / t.elapsed().as_secs_f64(),
                        disk(&dir)
                    );
                }
            }
            println!(
                "wrote {} entries ({} commits) in {:.1} s; {} cases in all; {}",
                commits * PER_COMMIT,
                commits,
                t.elapsed().as_secs_f64(),
                cases,
                disk(&dir)
            );
            if !own_reopens.is_empty() {
                let pauses: Vec<f64> = own_reopens.iter().map(|r| r.0).collect();
                let max = pauses.iter().cloned().fold(0.0, f64::max);
                let sum: f64 = pauses.iter().sum();
                let entries: u64 = own_reopens.iter().map(|r| r.1).sum();
                println!(
                    "  {} reopens by the store (every {} entries on average): pause mean {:.3} s, \
                     max {:.3} s; all: {}",
                    pauses.len(),
                    entries / pauses.len() as u64,
                    sum / pauses.len() as f64,
                    max,
                    pauses
                        .iter()
                        .map(|p| format!("{p:.2}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            if !reopens.is_empty() {
                let max = reopens.iter().cloned().fold(0.0, f64::max);
                let sum: f64 = reopens.iter().sum();
                println!(
                    "  {} scheduled reopens: mean {:.3} s, max {:.3} s",
                    reopens.len(),
                    sum / reopens.len() as f64,
                    max
                );
            }
        } else if step == "r" {
            let io = io_written().saturating_sub(io_at_start);
            drop(store.take());
            let (s, secs) = reopen(&dir, &how, cases, cold)?;
            store = Some(s);
            println!(
                "REOPEN after {} entries since the last start, {} since the store's own last \
                 reopen (~{} MB written by this process): {:.3} s; {}",
                written_since_start,
                written_since_open,
                io / 1_000_000,
                secs,
                disk(&dir)
            );
            written_since_start = 0;
            written_since_open = 0;
            io_at_start = io_written();
        } else if let Some(n) = step.strip_prefix('r') {
            reopen_every = Some(n.replace('_', "").parse()?);
        } else {
            return Err(format!("unknown step {step}").into());
        }
    }
    Ok(())
}

/// How the store is opened.
struct How {
    cache: u64,
    /// The store's own reopen threshold (`None`: never).
    auto_reopen: Option<u64>,
}

/// Drops nothing itself: the caller has dropped the previous store. Times open + first get.
fn reopen(
    dir: &Path,
    how: &How,
    cases: u64,
    cold: bool,
) -> Result<(SledStore, f64), Box<dyn std::error::Error>> {
    if cold {
        evict(dir)?;
    }
    let t = Instant::now();
    let store = open(dir, how)?;
    let got = store.get("summaries", &case_id(cases.max(1)))?;
    let secs = t.elapsed().as_secs_f64();
    if cases > 0 && got.is_none() {
        return Err("the last case's summary is missing after the reopen".into());
    }
    Ok((store, secs))
}

/// The store as the server opens it, with `how`'s cache and reopen threshold.
fn open(dir: &Path, how: &How) -> Result<SledStore, Box<dyn std::error::Error>> {
    Ok(SledStore::open_with_reopen(
        dir,
        how.cache,
        how.auto_reopen,
    )?)
}

/// Evicts the directory's files from the OS page cache (after an fsync, so that every page is
/// clean and can go).
fn evict(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // sled's background threads may still hold the file for a moment after the drop.
    std::thread::sleep(std::time::Duration::from_millis(200));
    for e in std::fs::read_dir(dir)?.flatten() {
        if e.metadata()?.is_file() {
            std::fs::File::open(e.path())?.sync_all()?;
            let status = std::process::Command::new("dd")
                .arg(format!("if={}", e.path().display()))
                .args(["iflag=nocache", "count=0", "status=none"])
                .status()?;
            if !status.success() {
                return Err("dd iflag=nocache failed".into());
            }
        }
    }
    Ok(())
}

/// A time-ordered 16-byte id (as UUIDv7 case ids: new cases at one edge of each tree).
fn case_id(n: u64) -> Vec<u8> {
    let mut id = Vec::with_capacity(16);
    id.extend_from_slice(&(1_700_000_000_000u64 + n).to_be_bytes());
    id.extend_from_slice(&mix(n).to_be_bytes());
    id
}

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn bytes(seed: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (mix(seed.wrapping_add(i as u64 / 8)) >> (8 * (i % 8))) as u8)
        .collect()
}

/// One new case's commit, 35 entries of 30–1,000 bytes: its snapshot, increments, summary,
/// indicator row, query-index terms (spread over the index, as terms are), feed entry, number
/// and the feed's head (one key rewritten by every commit).
fn case_commit(n: u64) -> Batch {
    let id = case_id(n);
    let r = mix(n);
    let mut b = Batch::new();
    b.put("cases", id.clone(), bytes(r, 1000));
    for i in 0..8u32 {
        let mut k = id.clone();
        k.extend_from_slice(&i.to_be_bytes());
        b.put(
            "increments",
            k,
            bytes(r ^ u64::from(i), 200 + (i as usize * 50)),
        );
    }
    b.put("summaries", id.clone(), bytes(r ^ 1, 300));
    b.put("indicators", id.clone(), bytes(r ^ 2, 56));
    for t in 0..20u64 {
        // 500 terms (places, units, categories, words), each with its postings by case id.
        let term = mix(r ^ t) % 500;
        let mut k = format!("t{term:04}/").into_bytes();
        k.extend_from_slice(&id);
        b.put("query_index", k, vec![1u8; 8]);
    }
    b.put("feed", n.to_be_bytes().to_vec(), id.clone());
    b.put("numbers", n.to_be_bytes().to_vec(), id.clone());
    b.put(
        "unit_counts",
        (r % 200).to_be_bytes().to_vec(),
        bytes(r ^ 3, 40),
    );
    b.put("head", b"head".to_vec(), n.to_be_bytes().to_vec());
    debug_assert_eq!(b.len() as u64, PER_COMMIT);
    b
}

/// The sled directory's size: file lengths and the blocks they use.
fn disk(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let (mut len, mut used, mut snaps) = (0u64, 0u64, 0u64);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else {
                len += m.len();
                used += m.blocks() * 512;
                if e.file_name().to_string_lossy().starts_with("snap.") {
                    snaps += m.len();
                }
            }
        }
    }
    format!(
        "sled dir {:.1} MB ({:.1} MB on disk, snapshot {:.1} MB)",
        len as f64 / 1e6,
        used as f64 / 1e6,
        snaps as f64 / 1e6
    )
}

/// Bytes this process has caused to be written to storage so far (Linux).
fn io_written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| {
                    l.strip_prefix("write_bytes: ")
                        .map(|v| v.trim().parse().ok())
                })
                .flatten()
        })
        .unwrap_or(0)
}
