//! A case bounced between units (踢皮球) leaves a trace everyone can see: the chain of units it
//! was dispatched to, each return with its time and reason, and how often it came back.

mod common;

use common::*;
use gridcase_sync_core::Action;

fn returned(reason: &str) -> Action {
    Action::Return {
        reason: reason.into(),
    }
}

#[test]
fn every_dispatch_and_return_is_in_the_chain_of_units() {
    let mut doc = case_at("dispatched");
    step(&mut doc, &unit1(), returned("不属于本单位职责"), 30).expect("u1 returns");
    step(&mut doc, &operator(), dispatch("u2"), 40).expect("to u2");
    step(&mut doc, &unit2(), returned("应由城管处理"), 50).expect("u2 returns");
    step(&mut doc, &operator(), dispatch("u1"), 60).expect("back to u1");
    let s = state(&doc);
    assert_eq!(s.returns, 2);
    let chain: Vec<(&str, bool)> = s
        .unit_chain
        .iter()
        .map(|l| (l.unit.as_str(), l.returned_at.is_some()))
        .collect();
    assert_eq!(chain, [("u1", true), ("u2", true), ("u1", false)]);
    assert_eq!(
        s.unit_chain[1].return_reason.as_deref(),
        Some("应由城管处理")
    );
    assert!(s.unit_chain[0].dispatched_at < s.unit_chain[1].dispatched_at);
}

/// Re-dispatching after the deadline passed keeps the missed deadline in the history.
#[test]
fn a_replaced_deadline_stays_in_the_history_and_a_missed_one_is_marked() {
    let mut doc = case_at("dispatched");
    let first = state(&doc).deadline.expect("a deadline");
    // Two weeks on, long past it: returned and dispatched again.
    let late = 14 * 24 * 60;
    step(&mut doc, &unit1(), returned("不属于本单位"), late).expect("returned");
    step(&mut doc, &operator(), dispatch("u2"), late + 10).expect("again");
    let s = state(&doc);
    let kinds: Vec<(&str, bool)> = s
        .deadline_history
        .iter()
        .map(|c| (c.kind.as_str(), c.missed))
        .collect();
    assert_eq!(
        kinds,
        [("dispatch", false), ("return", true), ("dispatch", false)]
    );
    assert_eq!(s.deadline_history[1].from, Some(first));
    assert_eq!(s.deadline_history[1].by.as_str(), unit1().user.as_str());
}
