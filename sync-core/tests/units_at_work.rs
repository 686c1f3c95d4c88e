//! Units at work (issue 14): acknowledgement and the response limit, extension requests and
//! who answers them, the lead unit after arbitration, the deadline missed that a later dispatch
//! must not erase, taking a superseded event's side, and tiered dispatch. Table-driven where
//! the rule is a table.

mod common;

use common::*;
use gridcase_sync_core::org::{Community, Org, Unit};
use gridcase_sync_core::rules::{self, ViolationCode};
use gridcase_sync_core::{tiers, Action, Actor, CaseDoc, EventId, Status};

fn acknowledge() -> Action {
    Action::Acknowledge {
        note: String::new(),
    }
}

fn ask(hours: u32) -> Action {
    Action::ExtensionRequest {
        hours,
        reason: "需协调施工队".into(),
    }
}

fn grant(request: &EventId, hours: u32) -> Action {
    Action::Extend {
        hours,
        reason: "同意".into(),
        request: Some(request.clone()),
    }
}

fn refuse(request: &EventId) -> Action {
    Action::RefuseExtension {
        request: request.clone(),
        reason: "时限内可完成".into(),
    }
}

fn lead(unit: &str) -> Action {
    Action::Dispatch {
        unit: unit.into(),
        responsible: Some("张科长".into()),
        deadline: None,
        lead: true,
    }
}

fn code(result: Result<gridcase_sync_core::Event, gridcase_sync_core::Error>) -> ViolationCode {
    match result {
        Err(gridcase_sync_core::Error::Rule(v)) => v.code,
        other => panic!("expected a refusal by the rules, got {other:?}"),
    }
}

#[test]
fn acknowledging_is_the_units_and_times_the_response() {
    let mut doc = case_at("dispatched");
    // Dispatched 20 minutes after t0 on a general case: two working hours to acknowledge.
    assert_eq!(
        code(step(&mut doc, &unit2(), acknowledge(), 25)),
        ViolationCode::NotAssigned
    );
    assert_eq!(
        code(step(&mut doc, &worker1(), acknowledge(), 25)),
        ViolationCode::NotPermitted
    );
    let s = state(&doc);
    assert!(s.acknowledged_at.is_none());
    let due = s.response_due.expect("a response limit");
    assert!(!s.response_late_at(due));
    assert!(
        s.response_late_at(due + 1),
        "waiting past the limit is late"
    );

    step(&mut doc, &unit1(), acknowledge(), 30).expect("the unit acknowledges");
    let s = state(&doc);
    assert_eq!(s.acknowledged_at, Some(t0() + 30 * 60_000));
    assert_eq!(
        s.status,
        Some(Status::Dispatched),
        "acknowledging moves nothing"
    );
    assert!(!s.response_late_at(due + 1_000_000));
    assert_eq!(s.unit_chain[0].acknowledged_at, s.acknowledged_at);
}

#[test]
fn a_units_first_handling_counts_as_its_response_and_a_new_dispatch_asks_again() {
    let mut doc = case_at("in_progress");
    let s = state(&doc);
    assert_eq!(s.acknowledged_at, Some(t0() + 30 * 60_000), "handled at 30");
    step(
        &mut doc,
        &unit1(),
        Action::Return {
            reason: "不属于本单位".into(),
        },
        40,
    )
    .expect("returned");
    step(&mut doc, &operator(), dispatch("u2"), 50).expect("to u2");
    let s = state(&doc);
    assert_eq!(s.acknowledged_at, None, "u2 has not acknowledged yet");
    assert_eq!(s.unit_chain.len(), 2);
    assert!(s.unit_chain[0].acknowledged_at.is_some());
}

#[test]
fn extension_requests_go_to_the_dispatcher_who_grants_or_refuses() {
    let mut doc = case_at("dispatched");
    assert_eq!(
        code(step(&mut doc, &operator(), ask(8), 30)),
        ViolationCode::NotPermitted,
        "a center extends, it does not ask"
    );
    assert_eq!(
        code(step(&mut doc, &unit1(), ask(0), 30)),
        ViolationCode::InvalidPayload
    );
    // The garbage category gives a general case a few working hours; asking for a month is
    // beyond what the rules allow.
    let limit = rules::extension_limit(&state(&doc));
    assert_eq!(
        code(step(&mut doc, &unit1(), ask(limit + 1), 30)),
        ViolationCode::InvalidPayload
    );
    let before = state(&doc).deadline.expect("a deadline");
    let request = step(&mut doc, &unit1(), ask(limit), 30).expect("the unit asks");
    assert_eq!(
        code(step(&mut doc, &unit1(), ask(1), 31)),
        ViolationCode::InvalidPayload,
        "one request at a time"
    );
    let s = state(&doc);
    assert_eq!(
        s.pending_extension.as_ref().map(|p| &p.event),
        Some(&request.id)
    );
    assert_eq!(s.deadline, Some(before), "asking changes no deadline");
    // A unit cannot grant (the rule table); a street center may not answer what the district
    // dispatched; a grant beyond the limit is refused.
    assert_eq!(
        code(step(&mut doc, &unit1(), grant(&request.id, 2), 32)),
        ViolationCode::NotPermitted
    );
    assert_eq!(
        code(step(&mut doc, &street1(), grant(&request.id, 2), 32)),
        ViolationCode::NotPermitted
    );
    assert_eq!(
        code(step(
            &mut doc,
            &operator(),
            grant(&request.id, limit + 1),
            32
        )),
        ViolationCode::InvalidPayload
    );
    step(&mut doc, &operator(), grant(&request.id, 2), 33).expect("the district grants");
    let s = state(&doc);
    assert!(s.pending_extension.is_none());
    assert_eq!(s.extensions, 1);
    assert!(s.deadline > Some(before));
    let last = s.deadline_history.last().expect("a change");
    assert_eq!(
        (last.kind.as_str(), last.by.as_str()),
        ("extend", "operator")
    );
    assert_eq!(
        code(step(&mut doc, &operator(), grant(&request.id, 2), 34)),
        ViolationCode::InvalidPayload,
        "a request is answered once"
    );

    let second = step(&mut doc, &unit1(), ask(1), 40).expect("asks again");
    step(&mut doc, &operator(), refuse(&second.id), 41).expect("refused");
    let s = state(&doc);
    assert!(s.pending_extension.is_none());
    assert_eq!((s.extensions, s.extensions_refused), (1, 1));
}

#[test]
fn a_street_dispatch_is_answered_by_the_street_or_the_district_never_a_community() {
    let mut doc = case_at("filed");
    step(&mut doc, &street1(), dispatch("u1"), 20).expect("the street dispatches");
    let request = step(&mut doc, &unit1(), ask(1), 30).expect("asks");
    assert_eq!(
        code(step(&mut doc, &community1(), grant(&request.id, 1), 31)),
        ViolationCode::NotPermitted
    );
    step(&mut doc, &street1(), grant(&request.id, 1), 32).expect("the street grants");
    let again = step(&mut doc, &unit1(), ask(1), 40).expect("asks again");
    step(&mut doc, &operator(), refuse(&again.id), 41).expect("the district may answer too");
}

#[test]
fn nobody_answers_their_own_request() {
    // The same user as a unit handler asking and as a center answering is a directory error,
    // but the rule holds whatever the claim.
    let mut doc = case_at("dispatched");
    let request = step(&mut doc, &unit1(), ask(1), 30).expect("asks");
    let mut same = operator();
    same.user = unit1().user;
    assert_eq!(
        code(step(&mut doc, &same, grant(&request.id, 1), 31)),
        ViolationCode::NotPermitted
    );
}

#[test]
fn the_lead_unit_named_after_returns_cannot_return_the_case() {
    let mut doc = case_at("dispatched");
    let back = |reason: &str| Action::Return {
        reason: reason.into(),
    };
    step(&mut doc, &unit1(), back("非本单位职责"), 30).expect("first return");
    step(&mut doc, &operator(), dispatch("u2"), 40).expect("to u2");
    step(&mut doc, &unit2(), back("应由u1处理"), 50).expect("second return");
    let s = state(&doc);
    assert_eq!((s.returns, s.status), (2, Some(Status::Filed)));
    assert!(!s.arbitrated());
    assert_eq!(
        code(step(&mut doc, &unit1(), lead("u1"), 55)),
        ViolationCode::NotPermitted,
        "only a center names the lead"
    );
    step(&mut doc, &operator(), lead("u1"), 60).expect("the center names u1 the lead");
    let s = state(&doc);
    assert!(s.arbitrated());
    assert_eq!(s.lead_unit.as_ref().map(|u| u.as_str()), Some("u1"));
    assert!(s.unit_chain.last().is_some_and(|l| l.lead));
    assert_eq!(
        code(step(&mut doc, &unit1(), back("仍不属于"), 70)),
        ViolationCode::NotPermitted
    );
    step(&mut doc, &unit1(), feedback(), 80).expect("the lead feeds back");
}

#[test]
fn an_overdue_that_happened_stays_after_a_new_dispatch() {
    let mut doc = case_at("dispatched");
    let first = state(&doc).deadline.expect("a deadline");
    assert!(!state(&doc).overdue_at(first));
    let late = 14 * 24 * 60;
    step(&mut doc, &operator(), dispatch("u2"), late).expect("re-dispatched late");
    let s = state(&doc);
    assert!(s.deadline > Some(first));
    assert!(s.deadline_missed);
    assert!(
        s.overdue_at(t0() + late * 60_000 + 1),
        "the new deadline has not passed, but the old one did"
    );
    let mut fresh = case_at("dispatched");
    step(&mut fresh, &operator(), dispatch("u2"), 25).expect("re-dispatched in time");
    assert!(!state(&fresh).deadline_missed);
}

#[test]
fn the_center_may_take_the_superseded_side_of_a_concurrent_conflict() {
    let mut a = case_at("awaiting_verification");
    let mut b = replica(&mut a);
    step(&mut a, &worker1(), verify(true), 100).expect("resolved");
    step(&mut a, &worker1(), close(), 110).expect("closed");
    let not_ok = step(&mut b, &worker2(), verify(false), 105).expect("not resolved");
    merge(&mut a, &mut b);
    let s = state(&a);
    assert_eq!(s.status, Some(Status::Closed));
    assert!(s.conflicts[0].adoptable);

    let mut keep = replica(&mut a);
    let resolve = |adopt: bool| {
        let (conflict, note) = (not_ok.id.clone(), "核查员现场复核".to_owned());
        if adopt {
            Action::Adopt { conflict, note }
        } else {
            Action::Resolve { conflict, note }
        }
    };
    step(&mut keep, &operator(), resolve(false), 120).expect("keep");
    let kept = state(&keep);
    assert_eq!(kept.status, Some(Status::Closed));
    assert!(!kept.has_open_conflict());

    step(&mut a, &operator(), resolve(true), 120).expect("take the other side");
    let s = state(&a);
    assert_eq!(
        s.status,
        Some(Status::Rework),
        "the not-resolved verification stands"
    );
    assert_eq!(s.rework_count, 1);
    assert_eq!(s.closed_at, None, "a case back in work is not closed");
    assert!(!s.has_open_conflict());
    // The unit works on; the loop goes on from the adopted side.
    step(&mut a, &unit1(), feedback(), 130).expect("feedback again");
    assert_eq!(state(&a).status, Some(Status::AwaitingVerification));
}

#[test]
fn a_rule_breach_cannot_be_adopted() {
    // A unit never dispatched to feeds back, having seen everything (a broken or hostile
    // client): it breaks a rule where it stands, and the center may only keep it out.
    let mut doc = case_at("dispatched");
    let stale = "0190b5a0-0000-7000-8000-00000000beef";
    write_raw_event(
        &mut doc,
        &unit2(),
        stale,
        ("feedback", r#"{"resolved":true,"note":"done"}"#),
        &[],
        30,
    );
    let s = state(&doc);
    let conflict = s.conflicts.first().expect("the breach is a conflict");
    assert_eq!(conflict.event.as_str(), stale);
    assert!(!conflict.adoptable);
    let resolve = |adopt: bool| {
        let (conflict, note) = (EventId::new(stale), String::new());
        if adopt {
            Action::Adopt { conflict, note }
        } else {
            Action::Resolve { conflict, note }
        }
    };
    assert_eq!(
        code(step(&mut doc, &operator(), resolve(true), 40)),
        ViolationCode::InvalidPayload
    );
    step(&mut doc, &operator(), resolve(false), 41).expect("kept out");
    assert_eq!(state(&doc).status, Some(Status::Dispatched));
}

fn org() -> Org {
    let mut org = Org::default();
    org.communities.insert(
        "c1".into(),
        Community {
            name: "c1".into(),
            street: "s1".into(),
        },
    );
    let unit = |street: Option<&str>, community: Option<&str>| Unit {
        name: "u".into(),
        street: street.map(Into::into),
        community: community.map(Into::into),
    };
    org.units.insert("district-u".into(), unit(None, None));
    org.units.insert("street-u".into(), unit(Some("s1"), None));
    org.units
        .insert("other-street-u".into(), unit(Some("s2"), None));
    org.units
        .insert("community-u".into(), unit(None, Some("c1")));
    org
}

/// Who may dispatch to whom (分级分类): the table, on the checker the commands use.
#[test]
fn tiered_dispatch_table() {
    let org = org();
    type Row = (fn() -> Actor, &'static str, bool);
    let table: &[Row] = &[
        (operator, "district-u", true),
        (operator, "street-u", true),
        (operator, "community-u", true),
        (street1, "district-u", false),
        (street1, "street-u", true),
        (street1, "other-street-u", false),
        (street1, "community-u", true),
        (community1, "district-u", false),
        (community1, "street-u", false),
        (community1, "community-u", true),
        (community2, "community-u", false),
    ];
    for (who, unit, allowed) in table {
        let actor = who();
        let result = tiers::check_tier(&actor, &dispatch(unit), &org);
        assert_eq!(result.is_ok(), *allowed, "{} → {unit}", actor.user);
        if let Err(v) = result {
            assert_eq!(v.code, ViolationCode::NotPermitted);
        }
        let offered = tiers::dispatchable(&actor.scope, &org).any(|(id, _)| id.as_str() == *unit);
        assert_eq!(
            offered, *allowed,
            "the console offers exactly what is allowed"
        );
    }
}

/// The commands refuse a dispatch outside the tier before anything is written.
#[test]
fn commands_refuse_a_dispatch_outside_the_tier() {
    let mut org = org();
    org.units.insert("u1".into(), Unit::district("u1"));
    let mut doc: CaseDoc = case_at("filed");
    let heads = doc.heads();
    doc.set_actor(writer("street1-device"));
    let refused = gridcase_sync_core::commands::act_with_org(
        &mut doc,
        &street1(),
        dispatch("u1"),
        Vec::new(),
        t0() + 30 * 60_000,
        &cal(),
        Some(&org),
    );
    assert_eq!(code(refused), ViolationCode::NotPermitted);
    assert_eq!(doc.heads(), heads, "nothing written");
    gridcase_sync_core::commands::act_with_org(
        &mut doc,
        &street1(),
        dispatch("street-u"),
        Vec::new(),
        t0() + 31 * 60_000,
        &cal(),
        Some(&org),
    )
    .expect("a street unit");
}

/// A held case's clock stands still: released after its deadline, it missed nothing; but a
/// deadline already passed when it was held stays missed.
#[test]
fn holding_stops_the_clock_for_the_missed_deadline_too() {
    let mut doc = case_at("dispatched");
    let hold = || Action::Hold {
        reason: "待拆迁".into(),
    };
    let release = || Action::Release {
        note: String::new(),
    };
    let weeks = 14 * 24 * 60;
    step(&mut doc, &operator(), hold(), 30).expect("held in time");
    step(&mut doc, &operator(), release(), weeks).expect("released weeks later");
    let s = state(&doc);
    assert!(!s.deadline_missed, "{:?}", s.deadline_history);
    assert!(s.deadline > Some(t0() + weeks * 60_000));

    let mut late = case_at("dispatched");
    step(&mut late, &operator(), hold(), weeks).expect("held after the deadline");
    step(&mut late, &operator(), release(), weeks + 60).expect("released");
    assert!(state(&late).deadline_missed);
}

/// A stale feedback of a unit the case was taken from lost by being concurrent, but its writer
/// could not write it where the adoption would stand: the center cannot take its side.
#[test]
fn a_side_is_taken_only_where_its_writer_could_write_it() {
    let mut a = case_at("dispatched");
    let mut b = replica(&mut a);
    step(&mut a, &operator(), dispatch("u2"), 30).expect("reassigned to u2");
    let stale = step(&mut b, &unit1(), feedback(), 31).expect("u1 feeds back offline");
    merge(&mut a, &mut b);
    let s = state(&a);
    let c = s
        .conflicts
        .iter()
        .find(|c| c.event == stale.id)
        .expect("a conflict");
    assert!(c.adoptable, "concurrent, so the flag allows it");
    let adopt = Action::Adopt {
        conflict: stale.id.clone(),
        note: String::new(),
    };
    assert_eq!(
        code(step(&mut a, &operator(), adopt, 40)),
        ViolationCode::NotAssigned,
        "u1 is no longer the unit dispatched to"
    );
    let u1_acknowledged = s.unit_chain[0].acknowledged_at;
    assert_eq!(state(&a).unit_chain[1].acknowledged_at, None);
    assert_eq!(state(&a).unit_chain[0].acknowledged_at, u1_acknowledged);
}

/// An adopted transition takes effect when the center takes it, not when it was written.
#[test]
fn an_adopted_dispatch_counts_from_the_adoption() {
    let mut a = case_at("filed");
    let mut b = replica(&mut a);
    step(&mut a, &operator(), dispatch("u1"), 100).expect("to u1");
    let lost = step(&mut b, &street1(), dispatch("u2"), 101).expect("to u2");
    merge(&mut a, &mut b);
    step(
        &mut a,
        &operator(),
        Action::Adopt {
            conflict: lost.id.clone(),
            note: String::new(),
        },
        500,
    )
    .expect("the street's dispatch is taken");
    let s = state(&a);
    assert_eq!(s.assigned_unit.as_ref().map(|u| u.as_str()), Some("u2"));
    let link = s.unit_chain.last().expect("a link");
    assert_eq!(link.dispatched_at, t0() + 500 * 60_000);
    assert_eq!(s.dispatched_at, Some(t0() + 500 * 60_000));
}

/// The lead is named with each dispatch: an ordinary dispatch after it names none, and the
/// unit it goes to may return the case again.
#[test]
fn an_ordinary_dispatch_after_the_lead_names_no_lead() {
    let mut doc = case_at("filed");
    step(&mut doc, &operator(), lead("u1"), 20).expect("the lead");
    step(&mut doc, &operator(), dispatch("u2"), 30).expect("reassigned");
    step(&mut doc, &operator(), dispatch("u1"), 40).expect("back, not as the lead");
    let s = state(&doc);
    assert_eq!(s.lead_unit, None);
    assert!(!s.arbitrated());
    step(
        &mut doc,
        &unit1(),
        Action::Return {
            reason: "非本单位".into(),
        },
        50,
    )
    .expect("an ordinary dispatch may be returned");
}

/// Extending a dispatched case is the dispatching tier's, with or without a request, and an
/// extension answers the request waiting.
#[test]
fn extending_is_the_dispatching_tiers_and_answers_the_request() {
    let mut doc = case_at("dispatched");
    let plain = |hours: u32| Action::Extend {
        hours,
        reason: "天气".into(),
        request: None,
    };
    assert_eq!(
        code(step(&mut doc, &community1(), plain(2), 25)),
        ViolationCode::NotPermitted,
        "the district dispatched it"
    );
    assert_eq!(
        code(step(&mut doc, &operator(), plain(0), 25)),
        ViolationCode::InvalidPayload
    );
    step(&mut doc, &unit1(), ask(2), 26).expect("asks");
    step(&mut doc, &operator(), plain(3), 27).expect("extends on its own");
    let s = state(&doc);
    assert!(s.pending_extension.is_none(), "answered by the extension");
    assert_eq!(s.extensions, 1);
}

/// Who answers for a dispatch: the same tier or above, the table the rules and the queues
/// share.
#[test]
fn answering_for_a_dispatch_is_the_same_tier_or_above() {
    use gridcase_sync_core::Scope;
    let street = Scope::Street("s1".into());
    let community = Scope::Community("c1".into());
    let table: &[(&Scope, Option<&Scope>, bool)] = &[
        (&Scope::District, Some(&community), true),
        (&Scope::District, None, true),
        (&street, Some(&community), true),
        (&street, Some(&street), true),
        (&street, Some(&Scope::District), false),
        (&community, Some(&community), true),
        (&community, Some(&street), false),
        (&community, None, true),
    ];
    for (scope, dispatcher, answers) in table {
        assert_eq!(
            rules::answers_for(scope, *dispatcher),
            *answers,
            "{scope:?} for {dispatcher:?}"
        );
    }
}
