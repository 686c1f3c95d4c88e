//! Bad input gets a typed error, never a panic; change inspection sees every breach of the
//! append-only rule, including ones that leave the visible value unchanged.

mod common;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, ROOT};
use common::*;
use gridcase_sync_core::inspect::{Breach, Snapshot, Touched};
use gridcase_sync_core::sync::SyncBatch;
use gridcase_sync_core::{Action, CaseDoc, Error};

#[test]
fn garbage_and_truncated_documents_are_errors() {
    assert!(CaseDoc::load(b"").is_err());
    assert!(CaseDoc::load(b"definitely not automerge").is_err());
    let bytes = case_at("closed").save();
    for cut in (1..bytes.len()).step_by(7) {
        assert!(CaseDoc::load(&bytes[..cut]).is_err(), "cut at {cut} loaded");
    }
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    assert!(
        CaseDoc::load(&flipped).is_err(),
        "a corrupted checksum is caught"
    );
}

#[test]
fn a_batch_of_an_unknown_version_is_refused() {
    let mut bytes = SyncBatch::default().encode();
    bytes[4] = 9;
    assert!(matches!(
        SyncBatch::decode(&bytes),
        Err(Error::BatchVersion(9))
    ));
    assert!(matches!(
        SyncBatch::decode(b"GCS"),
        Err(Error::MalformedBatch(_))
    ));
}

#[test]
fn a_document_without_a_header() {
    let mut doc = AutoCommit::new();
    doc.put_object(ROOT, "events", ObjType::List).expect("list");
    doc.put_object(ROOT, "attachments", ObjType::List)
        .expect("list");
    assert!(matches!(
        CaseDoc::load(&doc.save()),
        Err(Error::MissingHeader)
    ));
    let mut header_not_a_map = AutoCommit::new();
    header_not_a_map
        .put(ROOT, "header", "surprise")
        .expect("put");
    assert!(matches!(
        CaseDoc::from_automerge(header_not_a_map),
        Err(Error::MalformedField("header"))
    ));
}

/// Writes an event map by hand into a loaded copy of a case.
fn raw_event(doc: &mut AutoCommit, kind: &str, payload: &str) {
    let events = doc.get(ROOT, "events").expect("get").expect("events").1;
    let len = doc.length(&events);
    let e = doc
        .insert_object(&events, len, ObjType::Map)
        .expect("insert");
    for (k, v) in [
        ("id", "raw-1"),
        ("kind", kind),
        ("author", "worker1"),
        ("device", "worker1-device"),
        ("role", "grid_worker"),
        ("scope", r#"{"level":"grids","id":["g1"]}"#),
        ("parents", "[]"),
        ("payload", payload),
    ] {
        doc.put(&e, k, v).expect("put");
    }
    doc.put(&e, "at", 5i64).expect("put");
    doc.commit();
}

/// A kind from a later release reads as `Action::Unknown`, keeping what was stored.
#[test]
fn an_event_with_an_unknown_kind() {
    let mut doc = case_at("reported");
    let mut am = doc.automerge().clone();
    raw_event(&mut am, "teleport", r#"{"to":"moon"}"#);
    let case = CaseDoc::from_automerge(am).expect("layout is fine");
    let events = case.events().expect("a later kind still reads");
    match &events.last().expect("the raw event").action {
        Action::Unknown(unknown) => {
            assert_eq!(unknown.kind, "teleport");
            assert_eq!(unknown.payload, r#"{"to":"moon"}"#);
        }
        other => panic!("expected Action::Unknown, got {other:?}"),
    }
}

/// A payload that does not read as its kind (a later release's new value, or junk) is not
/// understood either; it never makes the whole case unreadable.
#[test]
fn an_event_with_a_bad_payload() {
    let mut doc = case_at("reported");
    for payload in [r#"{"unit": 42}"#, "not json", r#"{"reason":"teleported"}"#] {
        let mut am = doc.automerge().clone();
        let kind = if payload.contains("reason") {
            "decline"
        } else {
            "dispatch"
        };
        raw_event(&mut am, kind, payload);
        let case = CaseDoc::from_automerge(am).expect("layout is fine");
        let events = case.events().expect("the case still reads");
        match &events.last().expect("the raw event").action {
            Action::Unknown(unknown) => {
                assert_eq!(unknown.kind, kind);
                assert_eq!(unknown.payload, payload);
                assert!(!unknown.reason.is_empty());
            }
            other => panic!("expected Action::Unknown for {payload}, got {other:?}"),
        }
    }
}

/// The envelope of an event is schema 1's and stays strict: an event without an author
/// does not read.
#[test]
fn an_event_with_a_bad_envelope() {
    let mut doc = case_at("reported");
    let mut am = doc.automerge().clone();
    raw_event(&mut am, "comment", r#"{"text":"hi"}"#);
    let events = am.get(ROOT, "events").expect("get").expect("events").1;
    let last = am.length(&events) - 1;
    let e = am.get(&events, last).expect("get").expect("event").1;
    am.delete(&e, "author").expect("delete");
    am.commit();
    let case = CaseDoc::from_automerge(am).expect("layout is fine");
    assert!(matches!(case.events(), Err(Error::MissingField("author"))));
}

/// Applies `tamper` to a copy of a dispatched case made by another actor, and inspects it.
fn inspect_after(tamper: impl FnOnce(&mut AutoCommit)) -> gridcase_sync_core::inspect::Inspection {
    let mut stored = case_at("dispatched");
    let snapshot = Snapshot::of(&mut stored);
    let mut incoming = stored.automerge().fork();
    incoming.set_actor(writer("mallory"));
    tamper(&mut incoming);
    incoming.commit();
    let mut after = stored.automerge().clone();
    let chunks: Vec<Vec<u8>> = incoming
        .get_changes(&stored.heads())
        .into_iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    after.merge(&mut incoming).expect("merge");
    let whole = snapshot.inspect(&mut after);
    // The receiver compares only the objects the changes' own bytes name: it must find
    // exactly what comparing every object finds.
    // (None past `Touched::MAX_BYTES`: the receiver compares whole then.)
    let Some(touched) = Touched::of_chunks(chunks.iter().map(|c| c.as_slice())) else {
        return whole;
    };
    let seen = snapshot.inspect_with(&mut after, Some(&touched));
    assert_eq!(
        format!("{:?}", seen.breaches),
        format!("{:?}", whole.breaches)
    );
    assert_eq!(seen.new_events.len(), whole.new_events.len());
    seen
}

fn first_event(doc: &AutoCommit) -> automerge::ObjId {
    let events = doc.get(ROOT, "events").expect("get").expect("events").1;
    doc.get(&events, 0).expect("get").expect("first event").1
}

#[test]
fn a_clean_append_is_clean() {
    let mut stored = case_at("dispatched");
    let snapshot = Snapshot::of(&mut stored);
    let mut device = replica(&mut stored);
    let e = step(
        &mut device,
        &unit1(),
        Action::Comment { text: "hi".into() },
        500,
    )
    .expect("comment");
    let mut after = stored.automerge().clone();
    after.merge(device.automerge()).expect("merge");
    let inspection = snapshot.inspect(&mut after);
    assert!(inspection.is_clean(), "{:?}", inspection.breaches);
    assert_eq!(inspection.new_events.len(), 1);
    assert_eq!(inspection.new_events[0].event, e);
    assert_eq!(inspection.new_events[0].actor, writer("unit1-device"));
    assert_eq!(inspection.actors.len(), 1);
}

#[test]
fn editing_an_existing_event_is_a_breach() {
    let i = inspect_after(|doc| {
        let e = first_event(doc);
        doc.put(&e, "payload", "{}").expect("put");
    });
    assert!(i
        .breaches
        .iter()
        .any(|b| matches!(b, Breach::EventEdited { field, .. } if field == "payload")));
}

#[test]
fn an_edit_that_restores_the_old_value_is_still_a_breach() {
    let i = inspect_after(|doc| {
        let e = first_event(doc);
        let author = doc
            .get(&e, "author")
            .expect("get")
            .expect("author")
            .0
            .to_string();
        let author = author.trim_matches('"').to_owned();
        // automerge writes nothing for a put of the current value, so edit and edit back.
        doc.put(&e, "author", "mallory").expect("put");
        doc.commit();
        doc.put(&e, "author", author).expect("put");
    });
    assert!(
        i.breaches
            .iter()
            .any(|b| matches!(b, Breach::EventEdited { field, .. } if field == "author")),
        "{} changes, {:?}",
        i.new_changes,
        i.breaches
    );
}

#[test]
fn adding_a_field_to_an_existing_event_is_a_breach() {
    let i = inspect_after(|doc| {
        let e = first_event(doc);
        doc.put(&e, "approved", true).expect("put");
    });
    assert!(i
        .breaches
        .iter()
        .any(|b| matches!(b, Breach::EventEdited { field, .. } if field == "approved")));
}

#[test]
fn deleting_an_event_is_a_breach() {
    let i = inspect_after(|doc| {
        let events = doc.get(ROOT, "events").expect("get").expect("events").1;
        doc.delete(&events, 1).expect("delete");
    });
    assert!(i
        .breaches
        .iter()
        .any(|b| matches!(b, Breach::EventDeleted { .. })));
}

#[test]
fn editing_the_header_is_a_breach() {
    let i = inspect_after(|doc| {
        let h = doc.get(ROOT, "header").expect("get").expect("header").1;
        doc.put(&h, "created_by", "mallory").expect("put");
    });
    assert!(i
        .breaches
        .iter()
        .any(|b| matches!(b, Breach::HeaderEdited { field } if field == "created_by")));
}

#[test]
fn replacing_a_list_or_adding_a_root_key_is_a_breach() {
    let i = inspect_after(|doc| {
        doc.put_object(ROOT, "events", ObjType::List)
            .expect("replace");
    });
    assert!(i
        .breaches
        .iter()
        .any(|b| matches!(b, Breach::RootEdited { key } if key == "events")));
    let i = inspect_after(|doc| {
        doc.put(ROOT, "status", "closed").expect("put");
    });
    assert!(i
        .breaches
        .iter()
        .any(|b| matches!(b, Breach::RootEdited { key } if key == "status")));
}

#[test]
fn a_new_event_touched_by_a_second_actor_is_forged() {
    let mut stored = case_at("dispatched");
    let snapshot = Snapshot::of(&mut stored);
    let mut device = replica(&mut stored);
    step(
        &mut device,
        &unit1(),
        Action::Comment { text: "hi".into() },
        500,
    )
    .expect("comment");
    let mut mallory = device.automerge().fork();
    mallory.set_actor(writer("mallory"));
    let events = mallory.get(ROOT, "events").expect("get").expect("events").1;
    let last = mallory.length(&events) - 1;
    let e = mallory.get(&events, last).expect("get").expect("event").1;
    mallory.put(&e, "author", "operator").expect("put");
    mallory.commit();
    let mut after = stored.automerge().clone();
    after.merge(&mut mallory).expect("merge");
    let i = snapshot.inspect(&mut after);
    assert!(i
        .breaches
        .iter()
        .any(|b| matches!(b, Breach::EventForged { field, .. } if field == "author")));
}

/// A later release's kind and fields are admitted; an envelope that does not read, an object
/// inside an event map, or an event past its size bound are breaches.
#[test]
fn what_a_new_event_may_carry() {
    let i = inspect_after(|doc| raw_event(doc, "teleport", "{}"));
    assert!(i.breaches.is_empty(), "{:?}", i.breaches);
    assert!(matches!(&i.new_events[0].event.action, Action::Unknown(u) if u.kind == "teleport"));

    let i = inspect_after(|doc| {
        raw_event(doc, "comment", r#"{"text":"hi","mood":"calm"}"#);
        let events = doc.get(ROOT, "events").expect("get").expect("events").1;
        let e = doc.get(&events, 3).expect("get").expect("event").1;
        doc.put(&e, "priority", 2u64)
            .expect("a later release's field");
    });
    assert!(i.breaches.is_empty(), "{:?}", i.breaches);
    assert!(matches!(&i.new_events[0].event.action, Action::Comment { text } if text == "hi"));

    let i = inspect_after(|doc| {
        raw_event(doc, "comment", r#"{"text":"hi"}"#);
        let events = doc.get(ROOT, "events").expect("get").expect("events").1;
        let e = doc.get(&events, 3).expect("get").expect("event").1;
        doc.put(&e, "role", "oracle").expect("put");
    });
    assert!(
        i.breaches
            .iter()
            .any(|b| matches!(b, Breach::BadEvent { index: 3, .. })),
        "{:?}",
        i.breaches
    );

    let i = inspect_after(|doc| {
        raw_event(doc, "comment", r#"{"text":"hi"}"#);
        let events = doc.get(ROOT, "events").expect("get").expect("events").1;
        let e = doc.get(&events, 3).expect("get").expect("event").1;
        doc.put_object(&e, "nested", ObjType::Map).expect("put");
    });
    assert!(
        i.breaches
            .iter()
            .any(|b| matches!(b, Breach::EventForged { field, .. } if field == "nested")),
        "{:?}",
        i.breaches
    );

    let huge = format!(r#"{{"blob":"{}"}}"#, "x".repeat(600_000));
    let i = inspect_after(|doc| raw_event(doc, "teleport", &huge));
    assert!(
        i.breaches.iter().any(
            |b| matches!(b, Breach::BadEvent { index: 3, reason } if reason.contains("bytes"))
        ),
        "{:?}",
        i.breaches
    );
}

#[test]
fn a_new_case_without_a_header_is_a_breach() {
    let mut doc = AutoCommit::new();
    doc.put_object(ROOT, "events", ObjType::List).expect("list");
    doc.commit();
    let i = Snapshot::empty().inspect(&mut doc);
    assert!(i.breaches.contains(&Breach::MissingHeader));
}

#[test]
fn attachments_are_append_only_too() {
    use gridcase_sync_core::commands::{attach, Blob};
    let mut stored = case_at("dispatched");
    stored.set_actor(writer("worker1-device"));
    let e = attach(
        &mut stored,
        &worker1(),
        vec![Blob {
            sha256: "ab".repeat(32),
            mime: "image/jpeg".into(),
            size: 2048,
            name: Some("before.jpg".into()),
        }],
        t0() + 600_000,
        &cal(),
    )
    .expect("worker attaches a photo");
    let attachments = stored.attachments().expect("attachments");
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].event, e.id);
    assert_eq!(attachments[0].size, 2048);

    let snapshot = Snapshot::of(&mut stored);
    let mut incoming = stored.automerge().fork();
    incoming.set_actor(writer("mallory"));
    let list = incoming
        .get(ROOT, "attachments")
        .expect("get")
        .expect("list")
        .1;
    let first = incoming.get(&list, 0).expect("get").expect("entry").1;
    incoming.put(&first, "size", 1u64).expect("put");
    incoming.commit();
    let mut after = stored.automerge().clone();
    after.merge(&mut incoming).expect("merge");
    let i = snapshot.inspect(&mut after);
    assert!(
        i.breaches.iter().any(|b| b.rule() == "attachment_edited"),
        "{:?}",
        i.breaches
    );
}

/// The objects read from a message's changes narrow the comparison only when they account
/// for every change the document gained: a change that arrived some other way (applied from
/// an earlier message's queue) is not hidden by them.
#[test]
fn changes_the_touched_objects_do_not_account_for_are_compared_whole() {
    let mut stored = case_at("dispatched");
    let snapshot = Snapshot::of(&mut stored);
    let heads = stored.heads();
    let mut incoming = stored.automerge().fork();
    incoming.set_actor(writer("mallory"));
    let events = incoming
        .get(ROOT, "events")
        .expect("get")
        .expect("events")
        .1;
    let e = incoming
        .insert_object(&events, 1, ObjType::Map)
        .expect("insert");
    incoming.put(&e, "id", "harmless").expect("put");
    incoming.commit();
    let declared: Vec<Vec<u8>> = incoming
        .get_changes(&heads)
        .into_iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    let first = first_event(&incoming);
    incoming.put(&first, "payload", "{}").expect("put");
    incoming.commit();
    let mut after = stored.automerge().clone();
    after.merge(&mut incoming).expect("merge");
    let touched = Touched::of_chunks(declared.iter().map(|c| c.as_slice())).expect("changes");
    let seen = snapshot.inspect_with(&mut after, Some(&touched));
    assert!(
        seen.breaches
            .iter()
            .any(|b| matches!(b, Breach::EventEdited { field, .. } if field == "payload")),
        "{:?}",
        seen.breaches
    );
}
