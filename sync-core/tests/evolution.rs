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

/// A business type added by a later release costs an older reader that one field of an
/// intake, never the intake (which would leave the case without its first event).
#[test]
fn a_later_business_type_reads_as_none_and_keeps_the_intake() {
    let mut doc = new_case();
    let first = doc.events().expect("events")[0].clone();
    let (_, payload) = first.action.stored_form();
    let later = payload.replacen('{', r#"{"business_type":"petition","#, 1);
    write_raw_event(
        &mut doc,
        &first.actor(),
        "later-intake",
        ("intake", &later),
        &[],
        1,
    );
    let events = doc.events().expect("events");
    let read = events
        .iter()
        .find(|e| e.id.as_str() == "later-intake")
        .expect("the later intake");
    match &read.action {
        Action::Intake(intake) => assert_eq!(intake.business_type, None),
        other => panic!("not read as an intake: {other:?}"),
    }
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

/// The event-size bound leaves room for the largest event the field limits allow, so the
/// bound meant for a later release's unknown events never refuses a legitimate one.
#[test]
fn the_largest_event_the_limits_allow_is_far_within_the_event_bound() {
    use gridcase_sync_core::commands::open_case;
    use gridcase_sync_core::event::{BusinessType, Channel, Intake, Reporter};
    use gridcase_sync_core::inspect::Snapshot;
    use gridcase_sync_core::limits::{self, EVENT_BYTES};
    use gridcase_sync_core::org::Territory;
    use gridcase_sync_core::{Role, Scope};
    // Control characters: each is escaped to six bytes in the payload's JSON.
    let text = |n: usize| "\u{1}".repeat(n);
    let id = |n: usize| text(limits::ID - 4) + &format!("{n:04}");
    let grids: Vec<gridcase_sync_core::GridId> = (0..50).map(|n| id(n).into()).collect();
    let territory = Territory {
        street: id(100).into(),
        community: id(101).into(),
        grid: grids[0].clone(),
    };
    let who = Actor {
        user: "worker1".into(),
        device: "worker1-device".into(),
        role: Role::GridWorker,
        scope: Scope::Grids(grids),
    };
    let intake = Intake {
        channel: Channel::Hotline,
        reporter: Some(Reporter {
            name: text(limits::PERSON_NAME),
            contact: text(limits::CONTACT),
        }),
        description: text(limits::DESCRIPTION),
        territory,
        address: Some(text(limits::ADDRESS)),
        coordinates: Some((116.4, 39.9)),
        category: Some(garbage()),
        photos: (0..limits::PHOTOS)
            .map(|_| "f".repeat(limits::BLOB_REF))
            .collect(),
        media_url: Some(format!("https://{}", text(limits::MEDIA_URL - 8))),
        // The longest name.
        business_type: Some(BusinessType::RequestForHelp),
        caller: Some("c".repeat(32)),
        callback: true,
    };
    let (mut doc, _) = open_case(&who, writer("worker1"), intake, t0()).expect("within limits");
    let json = doc.json_view();
    let size: usize = json["events"][0]
        .as_object()
        .expect("event")
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(8, str::len))
        .sum();
    assert!(
        size > 80_000,
        "the case is as large as the limits allow: {size}"
    );
    assert!(
        size * 4 <= EVENT_BYTES,
        "{size} bytes leave too little room"
    );
    let breaches = Snapshot::empty().inspect(doc.automerge()).breaches;
    assert!(breaches.is_empty(), "{breaches:?}");
}

/// A counter in an event map could be incremented later without a new operation on the
/// field, past the append-only check: a breach, like an object.
#[test]
fn a_counter_in_an_event_is_a_breach() {
    use automerge::ScalarValue;
    use gridcase_sync_core::inspect::{Breach, Snapshot};
    let mut stored = case_at("dispatched");
    let snapshot = Snapshot::of(&mut stored);
    let mut incoming = replica(&mut stored);
    later_release(
        &mut incoming,
        &unit1(),
        "later-c",
        "callback_made",
        "{}",
        30,
    );
    let am = incoming.automerge();
    let events = am.get(ROOT, "events").expect("get").expect("events").1;
    let last = am.length(&events) - 1;
    let e = am.get(&events, last).expect("get").expect("event").1;
    am.put(&e, "votes", ScalarValue::counter(1)).expect("put");
    am.commit();
    let mut after = stored.automerge().clone();
    after.merge(incoming.automerge()).expect("merge");
    let breaches = snapshot.inspect(&mut after).breaches;
    assert!(
        breaches
            .iter()
            .any(|b| matches!(b, Breach::EventForged { field, .. } if field == "votes")),
        "{breaches:?}"
    );
}
