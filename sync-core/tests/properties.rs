//! Property tests: random concurrent offline histories on several devices, delivered
//! partially, duplicated and in any order. Every replica must end identical, with every event
//! kept, and the fold must be a function of the set of events alone.

mod common;

use common::*;
use gridcase_sync_core::commands::act;
use gridcase_sync_core::event::{DeclineReason, Satisfaction};
use gridcase_sync_core::{fold, Action, Actor, CaseDoc, EventId};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn devices() -> Vec<Actor> {
    vec![
        worker1(),
        worker2(),
        operator(),
        street1(),
        unit1(),
        unit2(),
        supervisor(),
    ]
}

/// A menu of actions; each device tries whichever the step picks, and the commands refuse
/// what its local state does not allow.
fn action(pick: u8, doc: &CaseDoc) -> Action {
    let state = fold(&doc.events().unwrap_or_default(), &cal());
    let conflict = state
        .conflicts
        .first()
        .map(|c| c.event.clone())
        .unwrap_or_else(|| EventId::new("none"));
    match pick % 32 {
        0 => filing(),
        1 => dispatch("u1"),
        2 => dispatch("u2"),
        3 => Action::Handle {
            note: "h".into(),
            photos: vec![],
        },
        4 => feedback(),
        5 => Action::Return { reason: "r".into() },
        6 => verify(true),
        7 => verify(false),
        8 => close(),
        9 => Action::Evaluate {
            satisfaction: Some(Satisfaction::Dissatisfied),
            solved: Some(false),
            note: String::new(),
        },
        10 => Action::Extend {
            hours: 4,
            reason: "e".into(),
            request: None,
        },
        11 => Action::Hold { reason: "h".into() },
        12 => Action::Release {
            note: String::new(),
        },
        13 => Action::Void { reason: "v".into() },
        14 => Action::Reopen {
            reason: "again".into(),
        },
        15 => Action::Decline {
            reason: DeclineReason::NotActionable,
            note: String::new(),
        },
        16 => Action::SelfHandle {
            note: "done".into(),
            photos: vec![],
        },
        17 => Action::Escalate {
            reason: "big".into(),
        },
        18 => Action::Resolve {
            conflict,
            note: String::new(),
        },
        19 => Action::MarkDuplicate { of: "c-0".into() },
        21 => Action::Acknowledge {
            note: String::new(),
        },
        22 => Action::ExtensionRequest {
            hours: 2,
            reason: "x".into(),
        },
        23 => Action::Extend {
            hours: 2,
            reason: "ok".into(),
            request: state.pending_extension.as_ref().map(|p| p.event.clone()),
        },
        24 => Action::RefuseExtension {
            request: state
                .pending_extension
                .as_ref()
                .map_or_else(|| "none".into(), |p| p.event.clone()),
            reason: "no".into(),
        },
        25 => Action::Dispatch {
            unit: "u1".into(),
            responsible: None,
            deadline: None,
            lead: true,
        },
        26 => Action::Adopt {
            conflict: state
                .conflicts
                .iter()
                .find(|c| c.adoptable && c.resolved_by.is_none())
                .map_or_else(|| "none".into(), |c| c.event.clone()),
            note: String::new(),
        },
        _ => Action::Comment {
            text: format!("c{pick}"),
        },
    }
}

/// The menu entry that writes an event of a later release (a kind this one does not know).
const LATER: u8 = 200;

/// Picks from what the device's role would plausibly try, so histories get far into the loop.
fn menu(device: usize, pick: u8) -> u8 {
    let options: &[u8] = match device {
        0 | 1 => &[6, 7, 8, 16, 17, 20, LATER],
        2 | 3 => &[
            0, 1, 2, 10, 11, 12, 13, 14, 15, 18, 19, 20, 23, 24, 25, 26, LATER,
        ],
        4 | 5 => &[3, 4, 4, 5, 20, 21, 22],
        _ => &[9, 20],
    };
    options[usize::from(pick) % options.len()]
}

#[derive(Debug, Clone)]
enum Step {
    /// Device acts offline.
    Act {
        device: usize,
        pick: u8,
        minutes: u8,
    },
    /// Full delivery from one device to another.
    Sync { from: usize, to: usize },
    /// Some of `from`'s changes reach `to`, in an arbitrary subset and order, some twice.
    Partial { from: usize, to: usize, mask: u64 },
}

fn step_strategy(n: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..n, any::<u8>(), any::<u8>()).prop_map(|(device, pick, minutes)| Step::Act { device, pick, minutes }),
        2 => (0..n, 0..n).prop_map(|(from, to)| Step::Sync { from, to }),
        2 => (0..n, 0..n, any::<u64>()).prop_map(|(from, to, mask)| Step::Partial { from, to, mask }),
    ]
}

fn run(history: &[Step], finish_order: &[usize]) -> Result<(), TestCaseError> {
    let people = devices();
    let mut origin = case_at("reported");
    let mut replicas: Vec<CaseDoc> = people
        .iter()
        .map(|p| {
            let mut r = replica(&mut origin);
            r.set_actor(writer(p.device.as_str()));
            r
        })
        .collect();
    let mut written: BTreeSet<EventId> = origin
        .events()
        .expect("events")
        .into_iter()
        .map(|e| e.id)
        .collect();
    let mut clock = 0i64;

    for s in history {
        match *s {
            Step::Act {
                device,
                pick,
                minutes,
            } => {
                clock += i64::from(minutes) + 1;
                let pick = menu(device, pick);
                if pick == LATER {
                    // A later release's kind: kept everywhere, no effect on the fold.
                    let id = format!("later-{device}-{clock}");
                    let kind = ("photo_annotation", r#"{"arrows":[]}"#);
                    write_raw_event(
                        &mut replicas[device],
                        &people[device],
                        &id,
                        kind,
                        &[],
                        clock,
                    );
                    replicas[device].set_actor(writer(people[device].device.as_str()));
                    written.insert(EventId::new(id));
                    continue;
                }
                let a = action(pick, &replicas[device]);
                let doc = &mut replicas[device];
                if let Ok(e) = act(doc, &people[device], a, t0() + clock * 60_000, &cal()) {
                    written.insert(e.id);
                }
            }
            Step::Sync { from, to } if from != to => {
                let (a, b) = pair(&mut replicas, from, to);
                b.automerge().merge(a.automerge()).expect("merge");
            }
            Step::Partial { from, to, mask } if from != to => {
                let (a, b) = pair(&mut replicas, from, to);
                let changes = a.automerge().get_changes(&[]);
                let mut chosen: Vec<_> = changes
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask >> (i % 64) & 1 == 1)
                    .map(|(_, c)| c.clone())
                    .collect();
                chosen.reverse();
                let again = chosen.first().cloned();
                chosen.extend(again);
                b.automerge().apply_changes(chosen).expect("apply");
            }
            _ => {}
        }
    }

    // Everyone hears from everyone, in the given order.
    for &to in finish_order {
        for from in 0..replicas.len() {
            if from != to {
                let (a, b) = pair(&mut replicas, from, to);
                b.automerge().merge(a.automerge()).expect("merge");
            }
        }
    }
    for to in 0..replicas.len() {
        for from in 0..replicas.len() {
            if from != to {
                let (a, b) = pair(&mut replicas, from, to);
                b.automerge().merge(a.automerge()).expect("merge");
            }
        }
    }

    let reference = state(&replicas[0]);
    let heads = replicas[0].heads();
    for (i, r) in replicas.iter_mut().enumerate() {
        prop_assert_eq!(r.heads(), heads.clone(), "replica {} heads", i);
        let events = r.events().expect("events decode");
        let ids: BTreeSet<EventId> = events.iter().map(|e| e.id.clone()).collect();
        prop_assert!(written.is_subset(&ids), "replica {} lost events", i);
        prop_assert_eq!(ids.len(), events.len(), "an event is stored twice");
        let s = fold(&events, &cal());
        prop_assert_eq!(&s, &reference, "replica {} state", i);
        prop_assert_eq!(s.timeline.len(), events.len());
        let mut shuffled = events.clone();
        shuffled.rotate_left(i % events.len().max(1));
        shuffled.reverse();
        prop_assert_eq!(
            &fold(&shuffled, &cal()),
            &reference,
            "fold depends on input order"
        );
    }
    Ok(())
}

fn pair(v: &mut [CaseDoc], from: usize, to: usize) -> (&mut CaseDoc, &mut CaseDoc) {
    if from < to {
        let (l, r) = v.split_at_mut(to);
        (&mut l[from], &mut r[0])
    } else {
        let (l, r) = v.split_at_mut(from);
        (&mut r[0], &mut l[to])
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn replicas_converge_and_lose_nothing(
        history in prop::collection::vec(step_strategy(7), 1..80),
        order in Just((0..7).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        run(&history, &order)?;
    }

    #[test]
    fn the_fold_never_panics_on_arbitrary_events(
        picks in prop::collection::vec((0usize..7, any::<u8>(), any::<i16>(), prop::collection::vec(0usize..40, 0..3)), 0..40),
    ) {
        let people = devices();
        let origin = case_at("reported");
        let mut events = origin.events().expect("events");
        for (n, (who, pick, at, parents)) in picks.into_iter().enumerate() {
            let p = &people[who];
            events.push(gridcase_sync_core::Event {
                id: EventId::new(format!("e{}", n % 30)),
                author: p.user.clone(),
                device: p.device.clone(),
                role: p.role,
                scope: p.scope.clone(),
                at: t0() + i64::from(at) * 60_000,
                parents: parents.into_iter().map(|i| EventId::new(format!("e{i}"))).collect(),
                action: action(pick, &origin),
            });
        }
        let s = fold(&events, &cal());
        let mut reversed = events.clone();
        reversed.reverse();
        prop_assert_eq!(fold(&reversed, &cal()), s);
    }
}
