//! What fuzzing found, as tests. Fixed findings run as regressions; those not fixed yet fail
//! until they are (hence `#[ignore]`: run them with `cargo test --test known -- --ignored`).
//! When a fix lands, drop the `ignore` and the matching allowance in `src/core.rs`. See
//! README.md, "Findings".

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, ROOT};
use gridcase_fuzz::{fixtures, mem::MemStore};
use gridcase_sync_core::inspect::Snapshot;
use gridcase_sync_core::store::DocStore;
use gridcase_sync_core::sync::{AcceptClean, Outcome, SyncSession};
use gridcase_sync_core::{fold, CaseDoc, CaseId, Event, WorkCalendar};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Two different events with one id and one device time: `fold` keeps whichever comes first in
/// the input, so the state depends on the order of the events.
#[test]
fn fold_does_not_depend_on_order_when_ids_repeat() {
    let input = include_bytes!("../known/fold-same-id-same-time.json");
    let events: Vec<Event> = serde_json::from_slice(input).expect("events");
    let calendar = WorkCalendar::beijing();
    let mut reversed = events.clone();
    reversed.reverse();
    assert_eq!(fold(&events, &calendar), fold(&reversed, &calendar));
}

/// A different event reusing an id, given twice: each copy is reported as one more conflict.
#[test]
fn fold_does_not_depend_on_repeated_events() {
    let input = include_bytes!("../known/fold-repeated-duplicate.json");
    let events: Vec<Event> = serde_json::from_slice(input).expect("events");
    let calendar = WorkCalendar::beijing();
    let mut twice = events.clone();
    twice.extend_from_slice(&events);
    assert_eq!(fold(&events, &calendar), fold(&twice, &calendar));
}

/// 26 bytes that automerge 0.12 reads as a bundle chunk and panics on (hexane's
/// `RleValue::unpack` unwraps a truncated integer).
#[test]
#[ignore = "known: automerge panics on a malformed bundle chunk"]
fn a_malformed_bundle_chunk_is_an_error() {
    let chunk = include_bytes!("../known/case_doc-bundle-chunk");
    let loaded = catch_unwind(|| AutoCommit::load(chunk).is_ok());
    assert_eq!(loaded.ok(), Some(false), "AutoCommit::load panics");
}

/// The same chunk in a V2 sync message: the session panics instead of calling it invalid.
#[test]
fn a_sync_message_with_a_malformed_bundle_chunk_is_invalid() {
    // The input of the `sync_receive` target: a flag byte, then the message.
    let input = include_bytes!("../known/sync_receive-bundle-chunk");
    let docs = DocStore::new(Arc::new(MemStore::new()));
    let mut session = SyncSession::new(&docs, fixtures::PEER);
    let case = CaseId::new("0195a2b4-7c1d-7000-8000-000000000001");
    let received = catch_unwind(AssertUnwindSafe(|| {
        session.receive(&[(case.clone(), input[1..].to_vec())], &AcceptClean)
    }));
    let outcomes = received.expect("receive panics").expect("receive");
    assert!(matches!(outcomes[0].outcome, Outcome::Invalid { .. }));
}

/// Inputs of the targets that make automerge panic once their chunks' checksums are set.
fn automerge_panics(target: gridcase_fuzz::Target, input: &[u8]) {
    gridcase_fuzz::be_strict();
    let ran = catch_unwind(|| gridcase_fuzz::run(target, input));
    assert!(ran.is_ok(), "automerge panics");
}

/// A change whose actor table names an actor the document lacks: `import_ops` unwraps
/// `lookup_actor` (automerge `src/op_set2/change/batch.rs:1121`), here in a sync message.
#[test]
fn a_sync_message_with_an_unknown_actor_is_invalid() {
    automerge_panics(
        gridcase_fuzz::sync_receive,
        include_bytes!("../known/sync_receive-change-actor"),
    );
}

/// The same through `load_incremental` (the `inspect` target's first mode).
#[test]
#[ignore = "known: automerge panics on a change with an unknown actor"]
fn a_change_with_an_unknown_actor_is_an_error() {
    automerge_panics(
        gridcase_fuzz::inspect,
        include_bytes!("../known/inspect-change-actor"),
    );
}

/// A document whose columns disagree on their lengths: hexane's `RawColumnIter::take past
/// end` (`src/raw.rs:620`), from `AutoCommit::load`.
#[test]
#[ignore = "known: automerge panics on inconsistent column lengths"]
fn a_document_with_inconsistent_columns_is_an_error() {
    automerge_panics(
        gridcase_fuzz::case_doc,
        include_bytes!("../known/case_doc-column-length"),
    );
}

/// A change encoded in a way automerge accepts but does not write back byte for byte: the
/// document loads, and then its own saves do not (the heads derived from the re-encoded change
/// differ), so a case holding it would be stored as a snapshot that never loads again.
#[test]
#[ignore = "known: automerge saves a document it cannot load again"]
fn a_loaded_document_saves_to_a_document_that_loads() {
    let raw = include_bytes!("../known/case_doc-noncanonical-change");
    let bytes = gridcase_fuzz::checksum::with_valid_checksums(raw);
    let mut doc = AutoCommit::load(&bytes).expect("automerge takes the change");
    let saved = doc.save_nocompress();
    assert!(
        AutoCommit::load(&saved).is_ok(),
        "the saved document does not load"
    );
}

/// An attachment record without its fields, appended by the sender's own actor: inspection
/// finds no breach, the session accepts it, and from then on `attachments()` fails for the case
/// (the server's indexing of an accepted case reads them).
#[test]
fn a_malformed_new_attachment_is_a_breach() {
    let base = fixtures::doc(1);
    let mut incoming = base.clone().fork();
    let attachments = incoming
        .get(ROOT, "attachments")
        .expect("get")
        .expect("attachments")
        .1;
    let record = incoming
        .insert_object(&attachments, 0, ObjType::Map)
        .expect("insert");
    incoming.put(&record, "sha256", "ab").expect("put");
    incoming.commit();
    let snapshot = Snapshot::at(base, base.clone().get_heads());
    let mut after = base.clone();
    after.merge(&mut incoming).expect("merge");
    let inspection = snapshot.inspect(&mut after);
    let case = CaseDoc::from_automerge(after).expect("a case");
    assert!(
        case.attachments().is_ok() || !inspection.is_clean(),
        "accepted without a breach, and now the case's attachments do not read: {:?}",
        case.attachments().err()
    );
}
