//! Named conflict scenarios: offline histories made on different devices, merged, folded.
//! Every replica must end with the same state, every event kept, and the conflict recorded.

mod common;

use common::*;
use gridcase_sync_core::fold::{ConflictReason, Disposition};
use gridcase_sync_core::rules::ViolationCode;
use gridcase_sync_core::{fold, Action, Actor, CaseDoc, Event, EventId, Status};

/// Merges two replicas both ways and checks they agree; returns the merged state.
fn merged(a: &mut CaseDoc, b: &mut CaseDoc) -> gridcase_sync_core::CaseState {
    merge(a, b);
    merge(b, a);
    assert_eq!(a.heads(), b.heads());
    let (sa, sb) = (state(a), state(b));
    assert_eq!(sa, sb, "replicas disagree after merging");
    sa
}

fn disposition(s: &gridcase_sync_core::CaseState, e: &Event) -> Disposition {
    s.disposition(&e.id).expect("event is in the timeline")
}

#[test]
fn close_concurrent_with_a_not_resolved_verification() {
    let mut a = case_at("awaiting_verification");
    let mut b = replica(&mut a);
    let ok = step(&mut a, &worker1(), verify(true), 100).expect("verify resolved");
    let closed = step(&mut a, &worker1(), close(), 110).expect("close");
    let not_ok = step(&mut b, &worker2(), verify(false), 105).expect("verify not resolved");

    let s = merged(&mut a, &mut b);
    assert_eq!(s.status, Some(Status::Closed));
    assert_eq!(disposition(&s, &ok), Disposition::Applied);
    assert_eq!(disposition(&s, &closed), Disposition::Applied);
    assert_eq!(disposition(&s, &not_ok), Disposition::Superseded);
    assert_eq!(s.conflicts.len(), 1);
    let c = &s.conflicts[0];
    assert_eq!(c.event, not_ok.id);
    assert_eq!(c.against, vec![ok.id.clone()]);
    assert_eq!(c.reason, ConflictReason::Concurrent);
    assert!(s.has_open_conflict());
}

#[test]
fn not_resolved_first_supersedes_the_offline_close() {
    let mut a = case_at("awaiting_verification");
    let mut b = replica(&mut a);
    let not_ok = step(&mut b, &worker2(), verify(false), 95).expect("verify not resolved");
    let ok = step(&mut a, &worker1(), verify(true), 100).expect("verify resolved");
    let closed = step(&mut a, &worker1(), close(), 110).expect("close offline");

    let s = merged(&mut a, &mut b);
    assert_eq!(s.status, Some(Status::Rework));
    assert_eq!(s.rework_count, 1);
    assert_eq!(disposition(&s, &not_ok), Disposition::Applied);
    assert_eq!(disposition(&s, &ok), Disposition::Superseded);
    assert_eq!(disposition(&s, &closed), Disposition::Superseded);
    let named: Vec<&EventId> = s.conflicts.iter().map(|c| &c.event).collect();
    assert_eq!(named, vec![&ok.id, &closed.id]);
    assert!(s
        .conflicts
        .iter()
        .all(|c| c.against == vec![not_ok.id.clone()]));
}

#[test]
fn two_concurrent_dispatches_to_different_units() {
    let mut a = case_at("filed");
    let mut b = replica(&mut a);
    let first = step(&mut a, &operator(), dispatch("u1"), 100).expect("dispatch u1");
    let second = step(&mut b, &street1(), dispatch("u2"), 101).expect("dispatch u2");

    let s = merged(&mut a, &mut b);
    assert_eq!(s.assigned_unit.as_ref().map(|u| u.as_str()), Some("u1"));
    assert_eq!(disposition(&s, &second), Disposition::Superseded);
    assert_eq!(s.conflicts.len(), 1);
    assert_eq!(s.conflicts[0].event, second.id);
    assert_eq!(s.conflicts[0].against, vec![first.id]);
}

#[test]
fn concurrent_agreeing_transitions_are_not_conflicts() {
    let mut a = case_at("filed");
    let mut b = replica(&mut a);
    step(&mut a, &operator(), dispatch("u1"), 100).expect("dispatch u1");
    let twin = step(&mut b, &street1(), dispatch("u1"), 101).expect("dispatch u1 too");
    let s = merged(&mut a, &mut b);
    assert_eq!(disposition(&s, &twin), Disposition::Concurred);
    assert!(s.conflicts.is_empty());
    assert_eq!(s.status, Some(Status::Dispatched));
}

#[test]
fn handling_after_a_return() {
    let mut a = case_at("in_progress");
    let mut b = replica(&mut a);
    let returned = step(
        &mut a,
        &unit1(),
        Action::Return {
            reason: "not ours".into(),
        },
        100,
    )
    .expect("return");
    // The same handler on a second device: one automerge actor per device, never shared.
    let mut tablet = unit1();
    tablet.device = "unit1-tablet".into();
    let handled = step(
        &mut b,
        &tablet,
        Action::Handle {
            note: "still working".into(),
            photos: vec![],
        },
        120,
    )
    .expect("handle offline");

    let s = merged(&mut a, &mut b);
    assert_eq!(s.status, Some(Status::Filed));
    assert_eq!(disposition(&s, &handled), Disposition::Superseded);
    let c = &s.conflicts[0];
    assert_eq!(c.event, handled.id);
    assert_eq!(c.reason, ConflictReason::Rule(ViolationCode::WrongStatus));
    assert_eq!(c.against, vec![returned.id]);
}

fn event(id: &str, who: &Actor, at_minutes: i64, parents: &[&Event], action: Action) -> Event {
    Event {
        id: id.into(),
        author: who.user.clone(),
        device: who.device.clone(),
        role: who.role,
        scope: who.scope.clone(),
        at: t0() + at_minutes * 60_000,
        parents: parents.iter().map(|e| e.id.clone()).collect(),
        action,
    }
}

/// A verified case's history, built without the commands (as a faulty or old client might).
fn verified_history() -> Vec<Event> {
    let i = event(
        "i",
        &worker1(),
        0,
        &[],
        Action::Intake(intake(gridcase_sync_core::event::Channel::Patrol)),
    );
    let f = event("f", &operator(), 1, &[&i], filing());
    let d = event("d", &operator(), 2, &[&f], dispatch("u1"));
    let fb = event("fb", &unit1(), 3, &[&d], feedback());
    let v = event("v", &worker1(), 4, &[&fb], verify(true));
    vec![i, f, d, fb, v]
}

#[test]
fn evaluation_before_closing() {
    let mut events = verified_history();
    let v = events[4].clone();
    let evaluation = event(
        "e",
        &supervisor(),
        5,
        &[&v],
        Action::Evaluate {
            satisfaction: None,
            solved: Some(true),
            note: String::new(),
        },
    );
    let closing = event("c", &worker1(), 6, &[&v], close());
    events.push(evaluation.clone());
    events.push(closing.clone());
    let s = fold(&events, &cal());
    assert_eq!(s.status, Some(Status::Closed));
    assert_eq!(s.disposition(&evaluation.id), Some(Disposition::Superseded));
    assert_eq!(s.conflicts[0].event, evaluation.id);
    assert_eq!(
        s.conflicts[0].reason,
        ConflictReason::Rule(ViolationCode::WrongStatus)
    );
    assert_eq!(s.satisfaction, None);
}

#[test]
fn events_after_closing() {
    let mut events = verified_history();
    let v = events[4].clone();
    let closing = event("c", &worker1(), 6, &[&v], close());
    let late_handle = event(
        "h",
        &unit1(),
        7,
        &[&closing],
        Action::Handle {
            note: "late".into(),
            photos: vec![],
        },
    );
    let late_verify = event("v2", &worker2(), 8, &[&closing], verify(false));
    let note = event(
        "n",
        &worker2(),
        9,
        &[&closing],
        Action::Comment { text: "ok".into() },
    );
    events.extend([
        closing,
        late_handle.clone(),
        late_verify.clone(),
        note.clone(),
    ]);
    let s = fold(&events, &cal());
    assert_eq!(s.status, Some(Status::Closed));
    assert_eq!(s.rework_count, 0);
    assert_eq!(
        s.disposition(&late_handle.id),
        Some(Disposition::Superseded)
    );
    assert_eq!(
        s.disposition(&late_verify.id),
        Some(Disposition::Superseded)
    );
    assert_eq!(s.disposition(&note.id), Some(Disposition::Applied));
    assert_eq!(s.conflicts.len(), 2);
}

#[test]
fn the_central_office_resolves_a_conflict_with_an_event() {
    let mut a = case_at("filed");
    let mut b = replica(&mut a);
    step(&mut a, &operator(), dispatch("u1"), 100).expect("dispatch u1");
    let second = step(&mut b, &street1(), dispatch("u2"), 101).expect("dispatch u2");
    merged(&mut a, &mut b);
    let resolution = step(
        &mut a,
        &operator(),
        Action::Resolve {
            conflict: second.id.clone(),
            note: "u1 keeps it".into(),
        },
        200,
    )
    .expect("resolve");
    let s = state(&a);
    assert_eq!(s.conflicts[0].resolved_by, Some(resolution.id));
    assert!(!s.has_open_conflict());
    let again = step(
        &mut a,
        &operator(),
        Action::Resolve {
            conflict: second.id,
            note: String::new(),
        },
        210,
    );
    assert!(
        again.is_err(),
        "a resolved conflict cannot be resolved twice"
    );
}

#[test]
fn the_fold_survives_cycles_missing_parents_and_duplicate_ids() {
    let mut events = verified_history();
    // A cycle: x names y, y names x.
    let mut x = event(
        "x",
        &worker1(),
        10,
        &[],
        Action::Comment { text: "x".into() },
    );
    let y = event(
        "y",
        &worker1(),
        11,
        &[&x],
        Action::Comment { text: "y".into() },
    );
    x.parents = vec![y.id.clone()];
    // A parent that never arrived, and a different event reusing an id.
    let orphan = event(
        "o",
        &worker1(),
        12,
        &[],
        Action::Comment { text: "o".into() },
    );
    let mut orphan_parent = orphan.clone();
    orphan_parent.id = "p".into();
    orphan_parent.parents = vec!["never-arrived".into()];
    let mut impostor = events[1].clone();
    impostor.at += 1;
    events.extend([
        x,
        y,
        orphan,
        orphan_parent,
        impostor.clone(),
        events[2].clone(),
    ]);
    let s = fold(&events, &cal());
    assert_eq!(s.status, Some(Status::Verified));
    assert_eq!(s.timeline.len(), 9, "every distinct event id appears once");
    assert!(s
        .conflicts
        .iter()
        .any(|c| c.reason == ConflictReason::DuplicateId && c.event == impostor.id));
    let mut reversed = events.clone();
    reversed.reverse();
    assert_eq!(fold(&reversed, &cal()), s);
}
