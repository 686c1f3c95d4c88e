//! Prints, per store tree of a ledger directory, how many entries it holds and their key and
//! value bytes: the logical size to set against the disk usage sled reports.
//!
//! `cargo run --release -p gridcase-bench --example ledger_sizes -- DATA_DIR`
//! (the server must not be running on that directory).

use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: ledger_sizes DATA_DIR")?;
    let db = sled::Config::new()
        .path(std::path::Path::new(&dir).join("db"))
        .cache_capacity(64 << 20)
        .open()?;
    let tree = db.open_tree("gridcase")?;
    let mut sizes: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for (i, entry) in tree.iter().enumerate() {
        let (k, v) = entry?;
        let len = usize::from(*k.first().unwrap_or(&0));
        let name = String::from_utf8_lossy(k.get(1..1 + len).unwrap_or_default()).into_owned();
        let s = sizes.entry(name).or_default();
        s.0 += 1;
        s.1 += k.len() as u64;
        s.2 += v.len() as u64;
        if i % 1_000_000 == 999_999 {
            eprintln!("{} entries read", i + 1);
        }
    }
    let mut total = (0, 0, 0);
    println!(
        "{:<28} {:>12} {:>14} {:>14}",
        "tree", "entries", "key bytes", "value bytes"
    );
    for (name, (n, k, v)) in &sizes {
        println!("{name:<28} {n:>12} {k:>14} {v:>14}");
        total = (total.0 + n, total.1 + k, total.2 + v);
    }
    println!(
        "{:<28} {:>12} {:>14} {:>14}",
        "all", total.0, total.1, total.2
    );
    println!("disk: {} bytes (sled's size_on_disk)", db.size_on_disk()?);
    Ok(())
}
