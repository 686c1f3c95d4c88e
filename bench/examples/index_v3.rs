//! Makes a ledger directory look as a release before the query index's version 4 left it:
//! every summary's terms in the legacy form (`query_index::LEGACY_TREE`), the marks of
//! versions 2 and 3, and no version-4 keys or marks, so that the next start builds version 4
//! in the background and deletes the legacy keys (`Ledger::ensure_query_index`). For measuring
//! that migration on a ledger `gridcase-bench` filled.
//!
//! `cargo run --release -p gridcase-bench --example index_v3 -- DATA_DIR` (the server must not
//! be running on that directory).

use gridcase_server::query_index::{self, Form};
use gridcase_server::summary::CaseSummary;
use gridcase_sync_core::store::{Batch, SledStore, Store};

/// The ledger's trees and marks this touches (`server/src/ledger`), by their stored names.
const SUMMARIES: &str = "ledger_summaries";
const META: &str = "ledger_meta";
const V4_MARKS: [&[u8]; 4] = [
    b"query_index_v4",
    b"query_index_v4_after",
    b"query_index_v4_held_v2",
    b"query_index_v4_held_v3",
];
const V3_MARKS: [&[u8]; 2] = [b"query_index_v2", b"query_index_v3"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: index_v3 DATA_DIR")?;
    let store = SledStore::open(std::path::Path::new(&dir).join("db"))?;
    let mut batch = Batch::new();
    let flush = |batch: &mut Batch, force: bool| -> Result<(), Box<dyn std::error::Error>> {
        if force || batch.len() > 100_000 {
            store.commit(std::mem::take(batch))?;
        }
        Ok(())
    };
    let mut summaries = 0u64;
    for entry in store.range(SUMMARIES, &[], None) {
        let summary: CaseSummary = serde_json::from_slice(&entry?.1)?;
        query_index::stage(&mut batch, &[Form::Legacy], None, &summary);
        summaries += 1;
        if summaries.is_multiple_of(100_000) {
            eprintln!("{summaries} summaries indexed in the legacy form");
        }
        flush(&mut batch, false)?;
    }
    let mut removed = 0u64;
    for entry in store.range(query_index::TREE, &[], None) {
        batch.delete(query_index::TREE, entry?.0);
        removed += 1;
        flush(&mut batch, false)?;
    }
    for mark in V4_MARKS {
        batch.delete(META, mark.to_vec());
    }
    for mark in V3_MARKS {
        batch.put(META, mark.to_vec(), b"1".to_vec());
    }
    flush(&mut batch, true)?;
    println!("{summaries} summaries indexed in the legacy form, {removed} version-4 keys removed");
    Ok(())
}
