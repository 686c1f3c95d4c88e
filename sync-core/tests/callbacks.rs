//! The callback (回访) as the fold sees it: who is still waiting for a call, the public
//! evaluation of each round, and the consultation answered at intake.

mod common;

use common::*;
use gridcase_sync_core::commands::open_case;
use gridcase_sync_core::event::{BusinessType, Channel, Satisfaction};
use gridcase_sync_core::{Action, Status};

fn called(caller: Option<&str>, satisfaction: Option<Satisfaction>) -> Action {
    Action::Callback {
        caller: caller.map(str::to_owned),
        reached: satisfaction.is_some(),
        solved: satisfaction.map(|s| s != Satisfaction::Dissatisfied),
        satisfaction,
        note: String::new(),
        to_supervisor: false,
    }
}

const FIRST: &str = "0190a1b2c3d4e5f60718293a4b5c6d7e";
const SECOND: &str = "0190a1b2c3d4e5f60718293a4b5c6d7f";

#[test]
fn every_caller_who_asked_waits_until_reached_and_again_after_a_reopening() {
    let mut doc = case_at("dispatched");
    // `case_at` files with a callback for the intake's caller (no register record named).
    step(
        &mut doc,
        &operator(),
        Action::CallerAdded {
            caller: SECOND.into(),
            note: String::new(),
            callback: true,
        },
        15,
    )
    .expect("a second caller");
    assert!(
        state(&doc).callbacks_due().is_empty(),
        "open: nobody is due"
    );
    for (who, action, at) in [
        (unit1(), feedback(), 30),
        (worker1(), verify(true), 40),
        (worker1(), close(), 50),
    ] {
        step(&mut doc, &who, action, at).expect("lifecycle");
    }
    assert_eq!(state(&doc).callbacks_due(), vec![None, Some(SECOND.into())]);

    // Not reached: still due. Reached, dissatisfied: the intake's caller is done for this round.
    step(&mut doc, &operator(), called(None, None), 60).expect("no answer");
    assert_eq!(state(&doc).callbacks_due().len(), 2);
    step(
        &mut doc,
        &operator(),
        called(None, Some(Satisfaction::Dissatisfied)),
        70,
    )
    .expect("dissatisfied");
    let s = state(&doc);
    assert_eq!(s.callbacks_due(), vec![Some(SECOND.into())]);
    assert_eq!(s.callbacks_unreached, 1);
    assert!(s.ever_dissatisfied());
    assert_eq!(
        s.public_evaluation().and_then(|e| e.satisfaction),
        Some(Satisfaction::Dissatisfied)
    );

    // Reopened and closed again: both are called back again, judged on the new round.
    step(
        &mut doc,
        &operator(),
        Action::Reopen {
            reason: "回访不满意".into(),
        },
        80,
    )
    .expect("reopen");
    assert_eq!(state(&doc).public_evaluation(), None);
    for (who, action, at) in [
        (operator(), dispatch("u1"), 90),
        (unit1(), feedback(), 100),
        (worker1(), verify(true), 110),
        (worker1(), close(), 120),
    ] {
        step(&mut doc, &who, action, at).expect("second round");
    }
    assert_eq!(state(&doc).callbacks_due().len(), 2);
    step(
        &mut doc,
        &operator(),
        called(None, Some(Satisfaction::Satisfied)),
        130,
    )
    .expect("satisfied");
    step(
        &mut doc,
        &street1(),
        called(Some(SECOND), Some(Satisfaction::Basic)),
        131,
    )
    .expect("second caller");
    let s = state(&doc);
    assert!(s.callbacks_due().is_empty());
    assert_eq!(
        s.public_evaluation().and_then(|e| e.satisfaction),
        Some(Satisfaction::Basic)
    );
    assert!(s.ever_dissatisfied(), "the first round still counts");
    assert_eq!(s.status, Some(Status::Closed));
}

#[test]
fn a_consultation_answered_at_intake_is_closed_and_counted_as_answered() {
    let mut call = intake(Channel::Hotline);
    call.business_type = Some(BusinessType::Consultation);
    call.caller = Some(FIRST.into());
    let (mut doc, _) = open_case(&operator(), writer("operator"), call, t0()).expect("call");
    step(
        &mut doc,
        &operator(),
        Action::Answer {
            answer: "周一至周五 9:00-17:00".into(),
        },
        1,
    )
    .expect("answered");
    let s = state(&doc);
    assert_eq!(s.status, Some(Status::Closed));
    assert!(s.answered_directly);
    assert_eq!(s.intake_caller.as_deref(), Some(FIRST));
    assert!(s.closed_at.is_some());
    assert!(s.callbacks_due().is_empty(), "nobody asked for a callback");
}

/// Rounds go by the events' order: a handheld whose clock runs a day ahead closes the case,
/// and the desk's callback, stamped "earlier", still answers that closing.
#[test]
fn a_callback_answers_the_closing_before_it_whatever_the_clocks_say() {
    let mut doc = case_at("verified");
    step(&mut doc, &worker1(), close(), 24 * 60).expect("closed a day ahead");
    step(
        &mut doc,
        &operator(),
        called(None, Some(Satisfaction::Satisfied)),
        60,
    )
    .expect("called back");
    let s = state(&doc);
    assert!(s.callbacks_due().is_empty(), "{:?}", s.callbacks_due());
    assert_eq!(
        s.public_evaluation().and_then(|e| e.satisfaction),
        Some(Satisfaction::Satisfied)
    );
}

/// A callback the intake asked for (a walk-in resident at a handheld) waits even when the
/// filing did not ask; the center's evaluation does not end the wait of a register-era case.
#[test]
fn the_intakes_wish_counts_and_an_evaluation_does_not_end_the_wait() {
    let mut call = intake(Channel::WalkIn);
    call.caller = Some(FIRST.into());
    call.callback = true;
    let (mut doc, _) = open_case(&community1(), writer("community1"), call, t0()).expect("walk-in");
    let filing = Action::File(gridcase_sync_core::event::Filing {
        category: garbage(),
        level: gridcase_sync_core::Level::General,
        units: vec!["u1".into()],
        suggestion: String::new(),
        callback: false,
    });
    for (who, action, at) in [
        (operator(), filing, 10),
        (operator(), dispatch("u1"), 20),
        (unit1(), feedback(), 30),
        (worker1(), verify(true), 40),
        (worker1(), close(), 50),
    ] {
        step(&mut doc, &who, action, at).expect("lifecycle");
    }
    assert_eq!(state(&doc).callbacks_due(), vec![Some(FIRST.to_owned())]);
    step(
        &mut doc,
        &supervisor(),
        Action::Evaluate {
            satisfaction: Some(Satisfaction::Basic),
            solved: Some(true),
            note: String::new(),
        },
        60,
    )
    .expect("evaluated");
    assert_eq!(state(&doc).status, Some(Status::Evaluated));
    assert_eq!(state(&doc).callbacks_due(), vec![Some(FIRST.to_owned())]);
}
