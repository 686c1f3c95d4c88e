//! The stored cases the targets start from: real case documents written by sync-core's
//! commands (`src/bin/gen-corpus.rs` made them, and the corpus inputs that build on them), kept
//! as files so every run starts from the same bytes.

use automerge::AutoCommit;
use std::sync::OnceLock;

/// The files in `fixtures/`, by index: a patrol report; the same case filed and dispatched;
/// a hotline case taken through the whole loop to closed, with photos attached.
pub const NAMES: [&str; 3] = ["reported", "dispatched", "closed"];

const BYTES: [&[u8]; 3] = [
    include_bytes!("../fixtures/reported.automerge"),
    include_bytes!("../fixtures/dispatched.automerge"),
    include_bytes!("../fixtures/closed.automerge"),
];

/// The sync peer the stored side talks to (`sync_receive`).
pub const PEER: &str = "device-1";

/// Fixture `i % 3`, loaded once per process.
pub fn doc(i: usize) -> &'static AutoCommit {
    static DOCS: OnceLock<Vec<AutoCommit>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        BYTES
            .iter()
            .zip(NAMES)
            .map(|(bytes, name)| {
                AutoCommit::load(bytes)
                    .unwrap_or_else(|e| panic!("fixtures/{name}.automerge does not load: {e}"))
            })
            .collect()
    });
    &docs[i % docs.len()]
}

/// The saved bytes of fixture `i % 3`.
pub fn bytes(i: usize) -> &'static [u8] {
    BYTES[i % BYTES.len()]
}
