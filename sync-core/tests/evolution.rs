//! Events that evolve: a case holding events of a later release (a kind this release does not
//! know, fields it does not read) loads, folds, merges and keeps them; nobody may write one;
//! a document of a later schema is refused by name rather than misread.

mod common;

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use common::*;
use gridcase_sync_core::commands::act;
use gridcase_sync_core::fold::Disposition;
use gridcase_sync_core::rules::ViolationCode;
use gridcase_sync_core::{
    Action, ActionKind, Actor, CaseDoc, Error, EventId, Status, UnknownAction,
};

/// A later release's event: one field this release has never heard of beside the envelope.
fn later_release(
    doc: &mut CaseDoc,
    who: &Actor,
    id: &str,
    kind: &str,
    payload: &str,
    minutes: i64,
) {
    write_raw_event(
        doc,
        who,
        id,
        (kind, payload),
        &[("channel_hint", "wechat")],
        minutes,
    );
}

/// A field of the stored event map `id`, read straight from automerge.
fn stored(doc: &mut CaseDoc, id: &str, key: &str) -> Option<String> {
    let am = doc.automerge();
    let events = am.get(ROOT, "events").ok()??.1;
    (0..am.length(&events)).find_map(|i| {
        let e = am.get(&events, i).ok()??.1;
        let text = |k: &str| match am.get(&e, k).ok()?? {
            (automerge::Value::Scalar(s), _) => s.as_str().map(str::to_owned),
            _ => None,
        };
        (text("id")? == id).then(|| text(key)).flatten()
    })
}

#[test]
fn a_later_kind_is_kept_and_has_no_effect() {
    let mut doc = case_at("dispatched");
    let before = state(&doc);
    later_release(
        &mut doc,
        &operator(),
        "later-1",
        "callback_made",
        r#"{"satisfied":true,"minutes":3}"#,
        100,
    );
    let after = state(&doc);
    assert_eq!(after.status, Some(Status::Dispatched));
    assert_eq!(
        after.conflicts, before.conflicts,
        "no conflict for a later kind"
    );
    let entry = after
        .timeline
        .last()
        .expect("the later event is in the timeline");
    assert_eq!(entry.event, EventId::new("later-1"));
    assert_eq!(entry.kind, ActionKind::Unknown);
    assert_eq!(entry.stored_kind.as_deref(), Some("callback_made"));
    assert_eq!(entry.disposition, Disposition::Superseded);

    // Saved and loaded again, the event is exactly what was written.
    let mut copy = replica(&mut doc);
    let events = copy.events().expect("read");
    let kept = events
        .iter()
        .find(|e| e.id.as_str() == "later-1")
        .expect("kept");
    assert_eq!(
        kept.action,
        Action::Unknown(UnknownAction {
            kind: "callback_made".into(),
            payload: r#"{"satisfied":true,"minutes":3}"#.into(),
            reason: match &kept.action {
                Action::Unknown(u) => u.reason.clone(),
                _ => String::new(),
            },
        })
    );
    assert_eq!(
        stored(&mut copy, "later-1", "channel_hint").as_deref(),
        Some("wechat")
    );
}

/// An event written after a later one names it as its parent: it has still seen the
/// transition before it, so it is judged as in sequence, not as concurrent.
#[test]
fn events_after_a_later_kind_keep_their_ancestry() {
    let mut doc = case_at("dispatched");
    later_release(&mut doc, &unit1(), "later-ack", "acknowledge", "{}", 30);
    let handle = step(
        &mut doc,
        &unit1(),
        Action::Handle {
            note: "on it".into(),
            photos: vec![],
        },
        40,
    )
    .expect("the unit handles");
    assert_eq!(handle.parents, vec![EventId::new("later-ack")]);
    let feedback = step(&mut doc, &unit1(), feedback(), 50).expect("feedback");
    let s = state(&doc);
    assert_eq!(s.status, Some(Status::AwaitingVerification));
    assert_eq!(s.disposition(&feedback.id), Some(Disposition::Applied));
    assert!(s.conflicts.is_empty(), "{:?}", s.conflicts);
}

/// Fields a payload has beyond what its kind reads are ignored by the fold and stay stored.
#[test]
fn a_known_kind_with_later_fields_applies() {
    let mut doc = case_at("filed");
    later_release(
        &mut doc,
        &operator(),
        "later-dispatch",
        "dispatch",
        r#"{"unit":"u1","responsible":"Wang","lead":true,"cooperating":["u2"]}"#,
        30,
    );
    let s = state(&doc);
    assert_eq!(s.status, Some(Status::Dispatched));
    assert_eq!(s.responsible.as_deref(), Some("Wang"));
    let mut copy = replica(&mut doc);
    assert!(stored(&mut copy, "later-dispatch", "payload")
        .is_some_and(|p| p.contains(r#""cooperating":["u2"]"#)));
}

/// A later release's new value in a known field (a satisfaction grade this release lacks)
/// makes that one event not understood, never the case.
#[test]
fn a_later_value_makes_one_event_not_understood() {
    let mut doc = case_at("closed");
    later_release(
        &mut doc,
        &supervisor(),
        "later-eval",
        "evaluate",
        r#"{"satisfaction":"very_satisfied","note":""}"#,
        100,
    );
    let s = state(&doc);
    assert_eq!(s.status, Some(Status::Closed));
    let entry = s.timeline.last().expect("entry");
    assert_eq!(entry.kind, ActionKind::Unknown);
    assert_eq!(entry.stored_kind.as_deref(), Some("evaluate"));
    assert!(s.conflicts.is_empty());
}

/// What this release cannot read, it cannot write either.
#[test]
fn nobody_writes_an_unknown_action() {
    let mut doc = case_at("dispatched");
    let unknown = Action::Unknown(UnknownAction {
        kind: "callback_made".into(),
        payload: "{}".into(),
        reason: String::new(),
    });
    for who in [operator(), unit1(), supervisor(), worker1()] {
        match act(&mut doc, &who, unknown.clone(), t0() + HOUR, &cal()) {
            Err(Error::Rule(v)) => assert_eq!(v.code, ViolationCode::NotPermitted),
            other => panic!("{} wrote an unknown action: {other:?}", who.user),
        }
    }
}

/// A document of a later schema is refused by name, not misread.
#[test]
fn a_later_schema_is_refused_by_name() {
    let mut doc = case_at("reported");
    let mut am = doc.automerge().clone();
    let header = am.get(ROOT, "header").expect("get").expect("header").1;
    am.put(&header, "schema", 2u64).expect("put");
    am.commit();
    match CaseDoc::from_automerge(am) {
        Err(Error::NewerSchema { found: 2 }) => {}
        other => panic!("expected NewerSchema, got {:?}", other.map(|_| ())),
    }
}
