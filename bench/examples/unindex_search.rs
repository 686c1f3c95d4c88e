//! Makes a ledger directory look as a release before search left it: removes the query index's
//! search terms (`text`, `address`, `open_cell`, `open_place`) and the marks that say they are
//! complete, so that the next start indexes them in the background (`ensure_query_index`).
//! For measuring that migration on a ledger `gridcase-bench` filled with realistic text.
//!
//! `cargo run --release -p gridcase-bench --example unindex_search -- DATA_DIR [--marks-only]`
//! (the server must not be running on that directory). `--marks-only` keeps the entries and
//! removes only the marks: the next start indexes again over what is there.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: unindex_search DATA_DIR [--marks-only]")?;
    let marks_only = std::env::args().nth(2).as_deref() == Some("--marks-only");
    let db = sled::Config::new()
        .path(std::path::Path::new(&dir).join("db"))
        .cache_capacity(256 << 20)
        .open()?;
    let tree = db.open_tree("gridcase")?;
    // Keys of the store's trees: the tree name's length (one byte) and name, then the key.
    let in_tree = |name: &str| {
        let mut k = vec![u8::try_from(name.len()).unwrap_or(u8::MAX)];
        k.extend_from_slice(name.as_bytes());
        k
    };
    let index = in_tree("ledger_query_index");
    let search: [&[u8]; 4] = [b"text", b"address", b"open_cell", b"open_place"];
    let mut batch = sled::Batch::default();
    let (mut removed, mut pending) = (0u64, 0usize);
    for entry in tree
        .scan_prefix(&index)
        .take(if marks_only { 0 } else { usize::MAX })
    {
        let (k, _) = entry?;
        let rest = &k[index.len()..];
        let len = rest
            .get(..2)
            .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        if rest
            .get(2..2 + len)
            .is_some_and(|field| search.contains(&field))
        {
            batch.remove(k);
            pending += 1;
        }
        if pending == 100_000 {
            tree.apply_batch(std::mem::take(&mut batch))?;
            removed += pending as u64;
            pending = 0;
            eprintln!("{removed} entries removed");
        }
    }
    for mark in [&b"query_index_v3"[..], b"query_index_v3_after"] {
        let mut k = in_tree("ledger_meta");
        k.extend_from_slice(mark);
        batch.remove(k);
    }
    tree.apply_batch(batch)?;
    db.flush()?;
    println!("removed {} search entries", removed + pending as u64);
    Ok(())
}
