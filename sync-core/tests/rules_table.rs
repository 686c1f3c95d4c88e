//! Every lifecycle and permission rule, table-driven: each row drives a real case to a stage,
//! has one actor attempt one action through the commands, and checks the verdict and the
//! status that follows.

mod common;

use common::*;
use gridcase_sync_core::commands::open_case;
use gridcase_sync_core::event::{Channel, DeclineReason, Filing, Satisfaction};
use gridcase_sync_core::rules::{rule, ViolationCode as V, RULES};
use gridcase_sync_core::{
    Action, ActionKind, Actor, CaseDoc, CategoryCode, Error, Level, Role, Scope, Status,
};

fn stage(name: &str) -> CaseDoc {
    match name {
        "awaiting_confirmation" => {
            let (doc, _) = open_case(
                &operator(),
                writer("operator"),
                intake(Channel::Hotline),
                t0(),
            )
            .expect("operator takes a hotline call");
            doc
        }
        "rework" => {
            let mut doc = case_at("awaiting_verification");
            step(&mut doc, &worker1(), verify(false), 500).expect("not resolved");
            doc
        }
        "held" => {
            let mut doc = case_at("dispatched");
            step(&mut doc, &operator(), hold(), 500).expect("hold");
            doc
        }
        "declined" => {
            let mut doc = case_at("reported");
            step(&mut doc, &operator(), decline(), 500).expect("decline");
            doc
        }
        "consultation" => {
            let mut call = intake(Channel::Hotline);
            call.business_type = Some(gridcase_sync_core::event::BusinessType::Consultation);
            let (doc, _) = open_case(&operator(), writer("operator"), call, t0())
                .expect("operator takes a consultation");
            doc
        }
        "voided" => {
            let mut doc = case_at("filed");
            step(&mut doc, &operator(), void(), 500).expect("void");
            doc
        }
        other => case_at(other),
    }
}

fn decline() -> Action {
    Action::Decline {
        reason: DeclineReason::OutOfJurisdiction,
        note: String::new(),
    }
}
fn hold() -> Action {
    Action::Hold {
        reason: "long-term".into(),
    }
}
fn release() -> Action {
    Action::Release {
        note: String::new(),
    }
}
fn void() -> Action {
    Action::Void {
        reason: "test".into(),
    }
}
fn handle() -> Action {
    Action::Handle {
        note: "working".into(),
        photos: vec![],
    }
}
fn ret() -> Action {
    Action::Return {
        reason: "not ours".into(),
    }
}
fn confirm(exists: bool) -> Action {
    Action::Confirm {
        exists,
        note: String::new(),
    }
}
fn evaluate() -> Action {
    Action::Evaluate {
        satisfaction: Some(gridcase_sync_core::event::Satisfaction::Basic),
        solved: Some(true),
        note: String::new(),
    }
}
fn extend(hours: u32) -> Action {
    Action::Extend {
        hours,
        reason: "materials".into(),
        request: None,
    }
}
fn self_handle() -> Action {
    Action::SelfHandle {
        note: "picked it up".into(),
        photos: vec![],
    }
}
fn comment() -> Action {
    Action::Comment {
        text: "note".into(),
    }
}
fn attach() -> Action {
    Action::Attach {
        blobs: vec!["ab".repeat(32)],
    }
}
fn duplicate() -> Action {
    Action::MarkDuplicate { of: "other".into() }
}
fn reopen() -> Action {
    Action::Reopen {
        reason: "came back".into(),
    }
}
fn escalate() -> Action {
    Action::Escalate {
        reason: "too big".into(),
    }
}
fn answer() -> Action {
    Action::Answer {
        answer: "the office opens at nine".into(),
    }
}
fn caller_added() -> Action {
    Action::CallerAdded {
        caller: "ab".repeat(16),
        note: String::new(),
        callback: true,
    }
}
fn callback(satisfaction: Satisfaction) -> Action {
    Action::Callback {
        caller: None,
        reached: true,
        solved: Some(true),
        satisfaction: Some(satisfaction),
        note: String::new(),
        to_supervisor: false,
    }
}
fn callback_satisfied() -> Action {
    callback(Satisfaction::Satisfied)
}
fn callback_unreached_with_answer() -> Action {
    Action::Callback {
        caller: None,
        reached: false,
        solved: None,
        satisfaction: Some(Satisfaction::Satisfied),
        note: String::new(),
        to_supervisor: false,
    }
}
fn callback_to_supervisor(satisfaction: Satisfaction) -> Action {
    Action::Callback {
        caller: None,
        reached: true,
        solved: None,
        satisfaction: Some(satisfaction),
        note: String::new(),
        to_supervisor: true,
    }
}
fn callback_to_supervisor_unhappy() -> Action {
    callback_to_supervisor(Satisfaction::Dissatisfied)
}
fn callback_to_supervisor_satisfied() -> Action {
    callback_to_supervisor(Satisfaction::Basic)
}
fn caller_added_by_number() -> Action {
    Action::CallerAdded {
        caller: "13812348000".into(),
        note: String::new(),
        callback: true,
    }
}
fn resolve() -> Action {
    Action::Resolve {
        conflict: "nothing".into(),
        note: String::new(),
    }
}
fn acknowledge() -> Action {
    Action::Acknowledge {
        note: String::new(),
    }
}

fn ask_extension() -> Action {
    Action::ExtensionRequest {
        hours: 2,
        reason: "需协调".into(),
    }
}

fn ask_no_time() -> Action {
    Action::ExtensionRequest {
        hours: 0,
        reason: "需协调".into(),
    }
}

fn refuse_unknown_request() -> Action {
    Action::RefuseExtension {
        request: gridcase_sync_core::EventId::new("0190b5a0-0000-7000-8000-000000000001"),
        reason: "不同意".into(),
    }
}

fn grant_unknown_request() -> Action {
    Action::Extend {
        hours: 2,
        reason: "同意".into(),
        request: Some(gridcase_sync_core::EventId::new(
            "0190b5a0-0000-7000-8000-000000000001",
        )),
    }
}

fn lead_dispatch() -> Action {
    Action::Dispatch {
        unit: "u1".into(),
        responsible: None,
        deadline: None,
        lead: true,
    }
}

fn adopt_unknown() -> Action {
    Action::Adopt {
        conflict: gridcase_sync_core::EventId::new("0190b5a0-0000-7000-8000-000000000002"),
        note: String::new(),
    }
}

fn bad_filing() -> Action {
    Action::File(Filing {
        category: CategoryCode::parse("E9999").expect("shape is valid"),
        level: Level::General,
        units: vec![],
        suggestion: String::new(),
        callback: false,
    })
}
fn rogue() -> Actor {
    Actor {
        user: "rogue".into(),
        device: "rogue-device".into(),
        role: Role::GridWorker,
        scope: Scope::District,
    }
}

use Status as S;
type Row = (
    &'static str,
    fn() -> Actor,
    fn() -> Action,
    Result<Status, V>,
);

const ROWS: &[Row] = &[
    // 1 intake → confirmation of public reports
    (
        "awaiting_confirmation",
        worker1,
        || confirm(true),
        Ok(S::Reported),
    ),
    (
        "awaiting_confirmation",
        worker2,
        || confirm(false),
        Ok(S::Declined),
    ),
    (
        "awaiting_confirmation",
        community1,
        || confirm(true),
        Ok(S::Reported),
    ),
    (
        "awaiting_confirmation",
        worker3,
        || confirm(true),
        Err(V::OutOfScope),
    ),
    (
        "awaiting_confirmation",
        unit1,
        || confirm(true),
        Err(V::NotPermitted),
    ),
    ("reported", worker1, || confirm(true), Err(V::WrongStatus)),
    // 2 file / decline
    ("reported", operator, filing, Ok(S::Filed)),
    ("reported", street1, filing, Ok(S::Filed)),
    ("reported", community1, filing, Ok(S::Filed)),
    ("reported", street2, filing, Err(V::OutOfScope)),
    ("reported", community2, filing, Err(V::OutOfScope)),
    ("reported", worker1, filing, Err(V::NotPermitted)),
    ("reported", unit1, filing, Err(V::NotPermitted)),
    ("reported", supervisor, filing, Err(V::NotPermitted)),
    ("reported", admin, filing, Err(V::NotPermitted)),
    ("reported", operator, bad_filing, Err(V::InvalidPayload)),
    (
        "awaiting_confirmation",
        operator,
        filing,
        Err(V::WrongStatus),
    ),
    ("filed", operator, filing, Err(V::WrongStatus)),
    ("reported", operator, decline, Ok(S::Declined)),
    ("awaiting_confirmation", street1, decline, Ok(S::Declined)),
    ("reported", worker1, decline, Err(V::NotPermitted)),
    ("dispatched", operator, decline, Err(V::WrongStatus)),
    // 3 dispatch
    ("filed", operator, || dispatch("u1"), Ok(S::Dispatched)),
    ("filed", street1, || dispatch("u1"), Ok(S::Dispatched)),
    ("filed", community1, || dispatch("u2"), Ok(S::Dispatched)),
    ("filed", street2, || dispatch("u1"), Err(V::OutOfScope)),
    ("filed", worker1, || dispatch("u1"), Err(V::NotPermitted)),
    ("filed", unit1, || dispatch("u1"), Err(V::NotPermitted)),
    ("reported", operator, || dispatch("u1"), Err(V::WrongStatus)),
    ("dispatched", operator, || dispatch("u2"), Ok(S::Dispatched)),
    (
        "in_progress",
        operator,
        || dispatch("u2"),
        Ok(S::Dispatched),
    ),
    ("rework", operator, || dispatch("u2"), Ok(S::Dispatched)),
    ("closed", operator, || dispatch("u1"), Err(V::WrongStatus)),
    // 4 handle / return
    ("dispatched", unit1, handle, Ok(S::InProgress)),
    ("in_progress", unit1, handle, Ok(S::InProgress)),
    ("rework", unit1, handle, Ok(S::Rework)),
    ("dispatched", unit2, handle, Err(V::NotAssigned)),
    ("dispatched", operator, handle, Err(V::NotPermitted)),
    ("filed", unit1, handle, Err(V::WrongStatus)),
    ("dispatched", unit1, ret, Ok(S::Filed)),
    ("in_progress", unit1, ret, Ok(S::Filed)),
    ("in_progress", unit2, ret, Err(V::NotAssigned)),
    // 5 feedback
    ("in_progress", unit1, feedback, Ok(S::AwaitingVerification)),
    ("dispatched", unit1, feedback, Ok(S::AwaitingVerification)),
    ("rework", unit1, feedback, Ok(S::AwaitingVerification)),
    ("in_progress", worker1, feedback, Err(V::NotPermitted)),
    (
        "awaiting_verification",
        unit1,
        feedback,
        Err(V::WrongStatus),
    ),
    // 6 verify / close
    (
        "awaiting_verification",
        worker1,
        || verify(true),
        Ok(S::Verified),
    ),
    (
        "awaiting_verification",
        worker2,
        || verify(false),
        Ok(S::Rework),
    ),
    (
        "awaiting_verification",
        street1,
        || verify(true),
        Ok(S::Verified),
    ),
    (
        "awaiting_verification",
        worker3,
        || verify(true),
        Err(V::OutOfScope),
    ),
    (
        "awaiting_verification",
        unit1,
        || verify(true),
        Err(V::NotPermitted),
    ),
    ("in_progress", worker1, || verify(true), Err(V::WrongStatus)),
    ("verified", worker1, close, Ok(S::Closed)),
    ("verified", worker2, close, Ok(S::Closed)),
    ("verified", operator, close, Ok(S::Closed)),
    ("verified", unit1, close, Err(V::NotPermitted)),
    ("verified", worker3, close, Err(V::OutOfScope)),
    ("awaiting_verification", worker1, close, Err(V::WrongStatus)),
    ("rework", worker1, close, Err(V::WrongStatus)),
    ("closed", worker1, close, Err(V::WrongStatus)),
    // 7 evaluate
    ("closed", supervisor, evaluate, Ok(S::Evaluated)),
    ("closed", operator, evaluate, Ok(S::Evaluated)),
    ("closed", street1, evaluate, Err(V::NotPermitted)),
    ("closed", worker1, evaluate, Err(V::NotPermitted)),
    ("verified", supervisor, evaluate, Err(V::WrongStatus)),
    ("evaluated", supervisor, evaluate, Err(V::WrongStatus)),
    // side actions
    ("dispatched", operator, || extend(8), Ok(S::Dispatched)),
    ("dispatched", operator, || extend(0), Err(V::InvalidPayload)),
    ("dispatched", unit1, || extend(8), Err(V::NotPermitted)),
    ("filed", operator, || extend(8), Err(V::WrongStatus)),
    (
        "reported",
        worker1,
        self_handle,
        Ok(S::AwaitingVerification),
    ),
    ("reported", worker3, self_handle, Err(V::OutOfScope)),
    ("reported", operator, self_handle, Err(V::NotPermitted)),
    ("filed", worker1, self_handle, Err(V::WrongStatus)),
    ("dispatched", operator, hold, Ok(S::Held)),
    ("dispatched", worker1, hold, Err(V::NotPermitted)),
    ("held", operator, release, Ok(S::Dispatched)),
    ("dispatched", operator, release, Err(V::WrongStatus)),
    ("held", unit1, handle, Err(V::WrongStatus)),
    ("dispatched", street1, void, Ok(S::Voided)),
    ("dispatched", worker1, void, Err(V::NotPermitted)),
    ("closed", operator, void, Err(V::WrongStatus)),
    ("voided", operator, void, Err(V::WrongStatus)),
    ("closed", worker1, comment, Ok(S::Closed)),
    ("dispatched", unit1, comment, Ok(S::Dispatched)),
    ("filed", unit1, comment, Ok(S::Filed)),
    ("dispatched", unit2, comment, Err(V::NotAssigned)),
    ("dispatched", supervisor, comment, Ok(S::Dispatched)),
    ("dispatched", worker3, comment, Err(V::OutOfScope)),
    ("dispatched", admin, comment, Err(V::NotPermitted)),
    ("voided", worker1, attach, Ok(S::Voided)),
    ("dispatched", unit2, attach, Err(V::NotAssigned)),
    ("reported", operator, duplicate, Ok(S::Declined)),
    ("reported", worker1, duplicate, Err(V::NotPermitted)),
    ("dispatched", operator, duplicate, Err(V::WrongStatus)),
    ("closed", operator, reopen, Ok(S::Filed)),
    ("declined", street1, reopen, Ok(S::Filed)),
    ("closed", worker1, reopen, Err(V::NotPermitted)),
    ("dispatched", operator, reopen, Err(V::WrongStatus)),
    ("dispatched", worker1, escalate, Ok(S::Dispatched)),
    ("dispatched", unit1, escalate, Err(V::NotPermitted)),
    ("closed", worker1, escalate, Err(V::WrongStatus)),
    ("voided", operator, escalate, Err(V::WrongStatus)),
    // 直接答复: a consultation answered on the phone, by the call desk only
    ("consultation", operator, answer, Ok(S::Closed)),
    ("consultation", street1, answer, Ok(S::Closed)),
    ("consultation", community1, answer, Err(V::NotPermitted)),
    (
        "awaiting_confirmation",
        operator,
        answer,
        Err(V::InvalidPayload),
    ),
    ("filed", operator, answer, Err(V::WrongStatus)),
    // a caller added to an open case
    ("dispatched", operator, caller_added, Ok(S::Dispatched)),
    ("dispatched", community1, caller_added, Ok(S::Dispatched)),
    ("dispatched", worker1, caller_added, Err(V::NotPermitted)),
    ("closed", operator, caller_added, Err(V::WrongStatus)),
    // 回访 after closing, by the call desk
    ("closed", operator, callback_satisfied, Ok(S::Closed)),
    ("evaluated", street1, callback_satisfied, Ok(S::Evaluated)),
    (
        "closed",
        community1,
        callback_satisfied,
        Err(V::NotPermitted),
    ),
    (
        "closed",
        supervisor,
        callback_satisfied,
        Err(V::NotPermitted),
    ),
    (
        "dispatched",
        operator,
        callback_satisfied,
        Err(V::WrongStatus),
    ),
    (
        "closed",
        operator,
        callback_unreached_with_answer,
        Err(V::InvalidPayload),
    ),
    // 督办 from a callback: only after an unhappy answer
    (
        "closed",
        operator,
        callback_to_supervisor_unhappy,
        Ok(S::Closed),
    ),
    (
        "closed",
        street1,
        callback_to_supervisor_satisfied,
        Err(V::InvalidPayload),
    ),
    // a caller is named by a register id, never by a name or a number
    (
        "dispatched",
        operator,
        caller_added_by_number,
        Err(V::InvalidPayload),
    ),
    ("dispatched", operator, resolve, Err(V::InvalidPayload)),
    (
        "dispatched",
        operator,
        adopt_unknown,
        Err(V::InvalidPayload),
    ),
    // 签收: the unit dispatched to, while it handles
    ("dispatched", unit1, acknowledge, Ok(S::Dispatched)),
    ("in_progress", unit1, acknowledge, Ok(S::InProgress)),
    ("dispatched", unit2, acknowledge, Err(V::NotAssigned)),
    ("dispatched", operator, acknowledge, Err(V::NotPermitted)),
    ("dispatched", worker1, acknowledge, Err(V::NotPermitted)),
    ("filed", unit1, acknowledge, Err(V::WrongStatus)),
    // 延期申请: the unit asks, the dispatcher answers a request that waits
    ("dispatched", unit1, ask_extension, Ok(S::Dispatched)),
    ("in_progress", unit1, ask_extension, Ok(S::InProgress)),
    ("dispatched", unit1, ask_no_time, Err(V::InvalidPayload)),
    ("dispatched", unit2, ask_extension, Err(V::NotAssigned)),
    ("dispatched", operator, ask_extension, Err(V::NotPermitted)),
    (
        "awaiting_verification",
        unit1,
        ask_extension,
        Err(V::WrongStatus),
    ),
    (
        "dispatched",
        operator,
        refuse_unknown_request,
        Err(V::InvalidPayload),
    ),
    (
        "dispatched",
        unit1,
        refuse_unknown_request,
        Err(V::NotPermitted),
    ),
    (
        "dispatched",
        operator,
        grant_unknown_request,
        Err(V::InvalidPayload),
    ),
    (
        "filed",
        operator,
        refuse_unknown_request,
        Err(V::WrongStatus),
    ),
    // 指定主办: a center's dispatch
    ("filed", operator, lead_dispatch, Ok(S::Dispatched)),
    ("filed", street1, lead_dispatch, Ok(S::Dispatched)),
    ("filed", unit1, lead_dispatch, Err(V::NotPermitted)),
    ("reported", rogue, comment, Err(V::InvalidScope)),
    (
        "reported",
        operator,
        || Action::Intake(intake(Channel::Hotline)),
        Err(V::CaseExists),
    ),
];

#[test]
fn every_row_of_the_table_holds() {
    let mut failures = Vec::new();
    for (i, (at, who, action, expected)) in ROWS.iter().enumerate() {
        let mut doc = stage(at);
        let actor = who();
        let action = action();
        let kind = action.kind();
        let got = match step(&mut doc, &actor, action, 1_000) {
            Ok(_) => Ok(state(&doc).status.expect("a case has a status")),
            Err(Error::Rule(v)) => Err(v.code),
            Err(other) => panic!("row {i}: unexpected error {other}"),
        };
        if got != *expected {
            failures.push(format!(
                "row {i}: {} does {kind} on a {at} case: expected {expected:?}, got {got:?}",
                actor.user
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_refused_command_writes_nothing() {
    let mut doc = case_at("filed");
    let before = doc.events().expect("events").len();
    let err = step(&mut doc, &worker1(), dispatch("u1"), 100).expect_err("workers do not dispatch");
    assert!(matches!(err, Error::Rule(_)));
    assert_eq!(doc.events().expect("events").len(), before);
}

#[test]
fn intake_rules() {
    type IntakeRow = (fn() -> Actor, Channel, Result<Status, V>);
    let cases: &[IntakeRow] = &[
        (worker1, Channel::Patrol, Ok(S::Reported)),
        (worker3, Channel::Patrol, Err(V::OutOfScope)),
        (operator, Channel::Hotline, Ok(S::AwaitingConfirmation)),
        (community1, Channel::WalkIn, Ok(S::Reported)),
        (community2, Channel::WalkIn, Err(V::OutOfScope)),
        (street1, Channel::WalkIn, Ok(S::Reported)),
        (open311, Channel::Web, Ok(S::AwaitingConfirmation)),
        (unit1, Channel::Hotline, Err(V::NotPermitted)),
        (supervisor, Channel::Hotline, Err(V::NotPermitted)),
        (admin, Channel::Hotline, Err(V::NotPermitted)),
    ];
    for (who, channel, expected) in cases {
        let actor = who();
        let got = match open_case(&actor, writer("x"), intake(*channel), t0()) {
            Ok((doc, _)) => Ok(state(&doc).status.expect("status")),
            Err(Error::Rule(v)) => Err(v.code),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(got, *expected, "{} intake via {channel:?}", actor.user);
    }
}

#[test]
fn the_table_has_one_row_per_kind_in_declaration_order() {
    assert_eq!(RULES.len(), ActionKind::ALL.len());
    for (row, kind) in RULES.iter().zip(ActionKind::ALL) {
        assert_eq!(row.kind, *kind);
        assert_eq!(rule(*kind).kind, *kind);
        // Only what this release cannot read is permitted to nobody.
        assert_eq!(row.who.is_empty(), *kind == ActionKind::Unknown, "{kind}");
    }
    assert_eq!(ActionKind::ALL.last(), Some(&ActionKind::Unknown));
}

#[test]
fn deadlines_follow_the_catalog_and_extensions() {
    let doc = case_at("dispatched");
    let s = state(&doc);
    // 暴露垃圾, general level: 4 working hours from the dispatch at 09:20 → 14:20 (lunch skipped).
    let dispatched = s.dispatched_at.expect("dispatched");
    assert_eq!(dispatched, t0() + 20 * 60_000);
    assert_eq!(s.deadline, Some(t0() + 5 * HOUR + 20 * 60_000));
    assert!(!s.overdue_at(t0() + 5 * HOUR));
    assert!(s.overdue_at(t0() + 6 * HOUR));

    let mut doc = doc;
    step(&mut doc, &operator(), extend(8), 30).expect("extend");
    let s = state(&doc);
    assert_eq!(s.extensions, 1);
    assert_eq!(s.deadline, Some(t0() + 24 * HOUR + 5 * HOUR + 20 * 60_000));
}

#[test]
fn holding_stops_the_clock() {
    let mut doc = case_at("dispatched");
    let deadline = state(&doc).deadline.expect("deadline");
    step(&mut doc, &operator(), hold(), 60).expect("hold at 10:00");
    assert!(
        !state(&doc).overdue_at(t0() + 100 * HOUR),
        "held cases are never overdue"
    );
    step(&mut doc, &operator(), release(), 120).expect("release at 11:00");
    let s = state(&doc);
    assert_eq!(s.status, Some(S::Dispatched));
    assert_eq!(s.deadline, Some(deadline + HOUR));
}

#[test]
fn rework_and_closing_on_time_are_counted() {
    let mut doc = case_at("awaiting_verification");
    step(&mut doc, &worker1(), verify(false), 100).expect("not resolved");
    step(&mut doc, &unit1(), feedback(), 110).expect("fixed again");
    step(&mut doc, &worker2(), verify(true), 120).expect("resolved");
    step(&mut doc, &worker2(), close(), 130).expect("close");
    let s = state(&doc);
    assert_eq!(s.rework_count, 1);
    assert_eq!(s.status, Some(S::Closed));
    assert_eq!(s.closed_on_time(), Some(true));
    assert_eq!(s.conflicts, vec![]);
}

#[test]
fn a_returned_case_loses_its_unit() {
    let mut doc = case_at("in_progress");
    step(&mut doc, &unit1(), ret(), 100).expect("return");
    let s = state(&doc);
    assert_eq!(s.assigned_unit, None);
    assert_eq!(s.deadline, None);
    let err = step(&mut doc, &unit1(), handle(), 110).expect_err("no longer assigned");
    assert!(matches!(err, Error::Rule(v) if v.code == V::WrongStatus));
    step(&mut doc, &operator(), dispatch("u2"), 120).expect("re-dispatch");
    step(&mut doc, &unit2(), handle(), 130).expect("the new unit handles");
}

#[test]
fn decline_reason_and_timeline_are_kept() {
    let mut doc = case_at("reported");
    step(&mut doc, &operator(), duplicate(), 5).expect("duplicate");
    let s = state(&doc);
    assert_eq!(s.decline_reason, Some(DeclineReason::Duplicate));
    assert_eq!(s.duplicate_of.as_ref().map(|c| c.as_str()), Some("other"));
    let kinds: Vec<ActionKind> = s.timeline.iter().map(|t| t.kind).collect();
    assert_eq!(kinds, vec![ActionKind::Intake, ActionKind::MarkDuplicate]);
}

/// `may_ever` is the rule table read for a role alone: whatever it rules out, no case at any
/// stage permits, and what it allows some stage does.
#[test]
fn may_ever_agrees_with_the_table() {
    use gridcase_sync_core::rules::{may_ever, permits};
    let stages = [
        "reported",
        "filed",
        "dispatched",
        "in_progress",
        "awaiting_verification",
        "verified",
        "closed",
        "evaluated",
    ];
    let states: Vec<_> = stages.iter().map(|s| state(&case_at(s))).collect();
    let actors = [
        operator(),
        street1(),
        community1(),
        worker1(),
        unit1(),
        supervisor(),
        open311(),
        admin(),
    ];
    for kind in ActionKind::ALL
        .iter()
        .filter(|k| **k != ActionKind::Unknown)
    {
        for actor in &actors {
            let somewhere = states.iter().any(|s| permits(s, actor, *kind).is_ok());
            if !may_ever(actor.role, *kind) {
                assert!(
                    !somewhere,
                    "{} may never {kind}, yet a case permits it",
                    actor.user
                );
            }
            if somewhere {
                assert!(may_ever(actor.role, *kind), "{} {kind}", actor.user);
            }
        }
    }
    assert!(!may_ever(
        gridcase_sync_core::Role::GridWorker,
        ActionKind::File
    ));
    assert!(!may_ever(
        gridcase_sync_core::Role::UnitHandler,
        ActionKind::Dispatch
    ));
    assert!(may_ever(
        gridcase_sync_core::Role::GridWorker,
        ActionKind::Unknown
    ));
}
