//! Targets in sync-core: the wire format, the sync session, inspection, the case document
//! and the fold.

use crate::fixtures;
use crate::mem::MemStore;
use automerge::sync::State;
use automerge::{AutoCommit, ChangeHash};
use gridcase_sync_core::inspect::{Snapshot, Touched};
use gridcase_sync_core::store::{Batch, DocStore, Store};
use gridcase_sync_core::sync::{AcceptClean, Outcome, SyncBatch, SyncSession};
use gridcase_sync_core::{CaseDoc, CaseId, Event, WorkCalendar};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// `SyncBatch::decode`: never panics, and what it accepts encodes to a batch that decodes the
/// same (the encoder writes minimal integers, so the bytes may differ from the input).
pub fn sync_batch(data: &[u8]) {
    let Ok(batch) = SyncBatch::decode(data) else {
        return;
    };
    let encoded = batch.encode();
    let again = SyncBatch::decode(&encoded).expect("an encoded batch decodes");
    assert_eq!(again, batch, "decode(encode(batch)) differs");
    assert_eq!(again.encode(), encoded, "encoding is not canonical");
    assert!(
        encoded.len() <= data.len(),
        "the canonical encoding is longer than the input"
    );
}

/// The case id in a fixture's header.
fn case_of(i: usize) -> CaseId {
    static IDS: OnceLock<Vec<CaseId>> = OnceLock::new();
    IDS.get_or_init(|| {
        (0..fixtures::NAMES.len())
            .map(|i| {
                CaseDoc::from_automerge(fixtures::doc(i).clone())
                    .and_then(|d| d.header())
                    .expect("a fixture is a case")
                    .case
            })
            .collect()
    })[i % fixtures::NAMES.len()]
    .clone()
}

/// The write that stores fixture `i` as a snapshot, made once per process.
fn stored_fixture(i: usize) -> Batch {
    static BATCHES: OnceLock<Vec<Batch>> = OnceLock::new();
    BATCHES.get_or_init(|| {
        (0..fixtures::NAMES.len())
            .map(|i| {
                let docs = DocStore::new(Arc::new(MemStore::new()));
                let mut batch = Batch::new();
                docs.stage_snapshot(&mut batch, &case_of(i), &mut fixtures::doc(i).clone());
                batch
            })
            .collect()
    })[i % fixtures::NAMES.len()]
    .clone()
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

/// What the store holds of a case, read past any cache.
fn stored_heads(store: &Arc<dyn Store>, case: &CaseId) -> Option<Vec<ChangeHash>> {
    DocStore::new(store.clone())
        .load_automerge(case)
        .expect("what the store holds loads")
        .map(|mut d| sorted(d.get_heads()))
}

/// The first byte of a `sync_receive` input.
pub mod receive_flags {
    /// The store holds the fixture's case (otherwise the case is new to it).
    pub const STORED: u8 = 0x01;
    /// The store holds a sync state for the peer: the fixture's heads, shared.
    pub const SHARED: u8 = 0x02;
    /// The `DocStore` keeps a cache of parsed cases, as the server's does.
    pub const CACHED: u8 = 0x04;
    /// Compact after every second increment instead of the default.
    pub const COMPACT: u8 = 0x08;
    /// A new session for every round (the server: one per request) instead of one for all
    /// (a device's sync loop).
    pub const SESSION_PER_ROUND: u8 = 0x10;
    /// Which fixture: `(flags >> FIXTURE_SHIFT) % 3`.
    pub const FIXTURE_SHIFT: u32 = 5;
}

/// `SyncSession::receive` with arbitrary automerge sync messages for one case, on a fresh
/// in-memory store. Input: a flag byte ([`receive_flags`]), then the messages, one per round,
/// separated by [`crate::ROUND_SEPARATOR`]. After each round: the store holds a case only as
/// admitted (an accepted case is stored as the session holds it, and reads as a case with
/// readable events; anything else leaves the store as it was), and the session still generates
/// and offers.
pub fn sync_receive(data: &[u8]) {
    use receive_flags::*;
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let rest = &crate::checksum::with_valid_checksums(rest)[..];
    let fixture = usize::from(flags >> FIXTURE_SHIFT);
    let case = case_of(fixture);
    let store: Arc<dyn Store> = Arc::new(MemStore::new());
    let mut setup = Batch::new();
    let raw = DocStore::new(store.clone());
    if flags & STORED != 0 {
        setup.extend(stored_fixture(fixture));
    }
    if flags & SHARED != 0 {
        let mut state = State::new();
        state.shared_heads = fixtures::doc(fixture).clone().get_heads();
        raw.stage_sync_state(&mut setup, fixtures::PEER, &case, &state);
    }
    store.commit(setup).expect("setting up the store");

    let mut docs = DocStore::new(store.clone());
    if flags & CACHED != 0 {
        docs = docs.with_cache(4);
    }
    if flags & COMPACT != 0 {
        docs = docs.with_compact_after(2);
    }
    let mut session = SyncSession::new(&docs, fixtures::PEER);
    for message in crate::rounds(rest) {
        if flags & SESSION_PER_ROUND != 0 {
            session = SyncSession::new(&docs, fixtures::PEER);
        }
        let before = stored_heads(&store, &case);
        let outcomes = session
            .receive(&[(case.clone(), message.to_vec())], &AcceptClean)
            .expect("receive fails only when the store does");
        assert_eq!(outcomes.len(), 1);
        if crate::debug() {
            eprintln!("sync_receive: {:?}", outcomes[0].outcome);
        }
        let after = stored_heads(&store, &case);
        match &outcomes[0].outcome {
            Outcome::Accepted { .. } => {
                let held = session
                    .document(&case)
                    .map(|d| sorted(d.get_heads()))
                    .expect("the session holds what it accepted");
                assert_eq!(
                    after.as_ref(),
                    Some(&held),
                    "the store lacks what was accepted"
                );
                let doc = DocStore::new(store.clone())
                    .load(&case)
                    .expect("an accepted case loads as a case")
                    .expect("an accepted case is stored");
                doc.events().expect("an accepted case's events read");
            }
            _ => assert_eq!(after, before, "a case not accepted changed the store"),
        }
        session.incomplete();
        session
            .generate([case.clone()])
            .expect("the session generates");
    }
    session.offer([case.clone()]).expect("the session offers");
}

/// The first byte of an `inspect` input.
pub mod inspect_flags {
    /// Which fixture is the stored case: `flags % 3`.
    pub const FIXTURE_MASK: u8 = 0x03;
    /// How the rest of the input reaches the document: `(flags >> MODE_SHIFT) % 3` is
    /// 0: `load_incremental` into the stored case (changes or a saved document);
    /// 1: loaded as a document of its own and merged into the stored case;
    /// 2: loaded as a document new to the store, inspected against the empty snapshot.
    pub const MODE_SHIFT: u32 = 2;
}

/// `Snapshot::inspect` after arbitrary changes reach a stored case. Never panics; when it finds
/// no breach, the case is the stored one with events appended: its header and every stored
/// event and attachment are unchanged, every event reads, and the new ones are those reported.
pub fn inspect(data: &[u8]) {
    use inspect_flags::*;
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let rest = &crate::checksum::with_valid_checksums(rest)[..];
    let base = fixtures::doc(usize::from(flags & FIXTURE_MASK));
    let mode = (flags >> MODE_SHIFT) % 3;
    let (snapshot, current, mut after, stored) = if mode == 2 {
        let Ok(doc) = AutoCommit::load(rest) else {
            return;
        };
        (Snapshot::empty(), Snapshot::empty(), doc, None)
    } else {
        let stored = CaseDoc::from_automerge(base.clone()).expect("a fixture is a case");
        let heads = base.clone().get_heads();
        // The receiver's snapshot, read before the changes apply, and the one read afterwards
        // at the old heads: both must judge every input alike.
        let current = Snapshot::current(base, heads.clone());
        let snapshot = Snapshot::at(base, heads);
        let mut after = base.clone();
        if mode == 0 {
            // A failed load may leave part applied: inspect whatever the document became.
            let _ = after.load_incremental(rest);
        } else {
            let Ok(mut other) = AutoCommit::load(rest) else {
                return;
            };
            let _ = after.merge(&mut other);
        }
        (snapshot, current, after, Some(stored))
    };
    let inspection = snapshot.inspect(&mut after);
    let seen_before = current.inspect(&mut after);
    assert_eq!(
        format!("{:?}", seen_before.breaches),
        format!("{:?}", inspection.breaches),
        "the snapshot read before the changes judges as the one read at the old heads"
    );
    assert_eq!(seen_before.new_events.len(), inspection.new_events.len());
    if stored.is_some() {
        // And comparing only the objects the new changes name (what the receiver does with a
        // message's changes) finds the same.
        let heads = base.clone().get_heads();
        let chunks: Vec<Vec<u8>> = after
            .get_changes(&heads)
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        if let Some(touched) = Touched::of_chunks(chunks.iter().map(|c| c.as_slice())) {
            let narrowed = current.inspect_with(&mut after, Some(&touched));
            assert_eq!(
                format!("{:?}", narrowed.breaches),
                format!("{:?}", inspection.breaches),
                "comparing only the touched objects judges as comparing every one"
            );
        }
    }
    if crate::debug() {
        eprintln!(
            "inspect: {} new events, {} new changes, breaches {:?}",
            inspection.new_events.len(),
            inspection.new_changes,
            inspection.breaches
        );
    }
    for breach in &inspection.breaches {
        let _ = (breach.rule(), breach.to_string());
    }
    if !inspection.is_clean() {
        return;
    }
    let case = CaseDoc::from_automerge(after).expect("a clean case has the case layout");
    let events = case.events().expect("a clean case's events read");
    if let Some(handed) = &seen_before.events {
        assert_eq!(
            handed, &events,
            "the events the inspection hands on are the document's"
        );
    }
    let new = inspection.new_events.len();
    let Some(stored) = stored else {
        assert_eq!(new, events.len(), "a new case's events are all new");
        return;
    };
    assert_eq!(
        case.header().expect("header"),
        stored.header().expect("a fixture's header"),
        "the header changed without a breach"
    );
    let old = stored.events().expect("a fixture's events");
    assert_eq!(
        events.len(),
        old.len() + new,
        "events appeared or vanished unreported"
    );
    let by_id: HashMap<_, _> = events.iter().map(|e| (&e.id, e)).collect();
    for e in &old {
        assert_eq!(
            by_id.get(&e.id),
            Some(&e),
            "a stored event changed without a breach"
        );
    }
    for n in &inspection.new_events {
        assert_eq!(
            by_id.get(&n.event.id),
            Some(&&n.event),
            "a new event misreported"
        );
    }
    // Inspection reads new attachment records (finding 6, fixed): a clean case's read.
    let attachments = case.attachments();
    attachments
        .as_ref()
        .expect("a clean case's attachments read");
    if let Ok(attachments) = attachments {
        for a in stored.attachments().expect("a fixture's attachments") {
            assert!(
                attachments.contains(&a),
                "an attachment changed without a breach"
            );
        }
    }
}

/// `AutoCommit::load` and the case reader: never panics; a loaded case's header, events and
/// attachments read the same after the store's save and load (`encode_snapshot`), and its
/// events fold as in [`fold`].
pub fn case_doc(data: &[u8]) {
    let data = &crate::checksum::with_valid_checksums(data)[..];
    let Ok(doc) = AutoCommit::load(data) else {
        return;
    };
    let Ok(case) = CaseDoc::from_automerge(doc) else {
        return;
    };
    let header = case.header().expect("from_automerge read the header");
    let events = case.events();
    let attachments = case.attachments();
    case.event_changes();
    if let Ok(events) = &events {
        check_fold(events);
    }
    let mut am = case.into_automerge();
    let snapshot = gridcase_sync_core::store::encode_snapshot(&mut am);
    let again = gridcase_sync_core::store::decode_snapshot(&snapshot)
        .expect("a stored snapshot loads again");
    let again = CaseDoc::from_automerge(again).expect("a stored case is a case again");
    assert_eq!(again.header().expect("header"), header);
    assert_eq!(
        again.events().ok(),
        events.ok(),
        "events read differently after a save"
    );
    assert_eq!(
        again.attachments().ok(),
        attachments.ok(),
        "attachments read differently after a save"
    );
}

/// `fold` over events given as a JSON array (the input is first read as one): never panics,
/// and the state depends only on the set of events, not their order or repetition.
pub fn fold(data: &[u8]) {
    let Ok(events) = serde_json::from_slice::<Vec<Event>>(data) else {
        return;
    };
    check_fold(&events);
}

fn check_fold(events: &[Event]) {
    let calendar = WorkCalendar::beijing();
    let state = gridcase_sync_core::fold(events, &calendar);
    let mut reversed = events.to_vec();
    reversed.reverse();
    assert_eq!(
        gridcase_sync_core::fold(&reversed, &calendar),
        state,
        "the fold depends on the order of events"
    );
    let mut twice = events.to_vec();
    twice.extend_from_slice(events);
    assert_eq!(
        gridcase_sync_core::fold(&twice, &calendar),
        state,
        "the fold depends on repeated events"
    );
    for at in [i64::MIN, 0, 1_780_000_000_000, i64::MAX] {
        state.overdue_at(at);
    }
    state.closed_on_time();
    state.has_open_conflict();
    gridcase_sync_core::fold::frontier(events);
}
