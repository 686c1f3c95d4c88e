//! Bounds on every field (`limits`, part of the rule table) and references to the organization
//! (`references`, checked when writing, never when folding).

mod common;

use common::*;
use gridcase_sync_core::commands::{act_with_org, open_case, open_case_with_org, Blob};
use gridcase_sync_core::event::{Channel, Filing, Reporter};
use gridcase_sync_core::fold::{fold, frontier, ConflictReason, Disposition};
use gridcase_sync_core::limits;
use gridcase_sync_core::org::{Community, Grid, Org, Street, Territory, Unit};
use gridcase_sync_core::references::check_references;
use gridcase_sync_core::rules::ViolationCode as V;
use gridcase_sync_core::{Action, CaseDoc, CaseId, CategoryCode, Error, Event, EventId, Level};

/// The district of the fixtures: s1 → c1 → g1, s2 → c2 → g2, units u1 and u2.
fn org() -> Org {
    let mut org = Org::default();
    for s in ["s1", "s2"] {
        org.streets.insert(s.into(), Street { name: s.into() });
    }
    for (c, s) in [("c1", "s1"), ("c2", "s2")] {
        org.communities.insert(
            c.into(),
            Community {
                name: c.into(),
                street: s.into(),
            },
        );
    }
    for (g, c) in [("g1", "c1"), ("g2", "c2")] {
        org.grids.insert(
            g.into(),
            Grid {
                name: g.into(),
                community: c.into(),
                polygon: vec![],
            },
        );
    }
    for u in ["u1", "u2"] {
        org.units.insert(u.into(), Unit::district(u));
    }
    org
}

fn code(result: Result<impl Sized, Error>) -> Result<(), (V, String)> {
    match result {
        Ok(_) => Ok(()),
        Err(Error::Rule(v)) => Err((v.code, v.message)),
        Err(other) => panic!("not a rule refusal: {other}"),
    }
}

/// `action` as `who` on `doc`, checked against the fixture organization.
fn act_known(
    doc: &mut CaseDoc,
    who: &gridcase_sync_core::Actor,
    action: Action,
) -> Result<(), (V, String)> {
    doc.set_actor(writer(who.device.as_str()));
    code(act_with_org(
        doc,
        who,
        action,
        vec![],
        t0() + 3_600_000,
        &cal(),
        Some(&org()),
    ))
}

fn text(n: usize) -> String {
    "字".repeat(n)
}

fn photos(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{i:064x}")).collect()
}

#[test]
fn every_text_and_list_has_a_bound_and_the_refusal_names_it() {
    type Row = (
        &'static str,
        &'static str,
        fn() -> gridcase_sync_core::Actor,
        fn(usize) -> Action,
        usize,
        &'static str,
    );
    let rows: &[Row] = &[
        (
            "reported",
            "comment",
            worker1,
            |n| Action::Comment { text: text(n) },
            limits::NOTE,
            "comment",
        ),
        (
            "reported",
            "escalation reason",
            worker1,
            |n| Action::Escalate { reason: text(n) },
            limits::REASON,
            "reason",
        ),
        (
            "reported",
            "suggestion",
            operator,
            |n| {
                Action::File(Filing {
                    category: garbage(),
                    level: Level::General,
                    units: vec!["u1".into()],
                    suggestion: text(n),
                    callback: false,
                })
            },
            limits::SUGGESTION,
            "suggestion",
        ),
        (
            "filed",
            "responsible",
            operator,
            |n| Action::Dispatch {
                unit: "u1".into(),
                responsible: Some(text(n)),
                deadline: None,
                lead: false,
            },
            limits::PERSON_NAME,
            "responsible",
        ),
        (
            "dispatched",
            "handle note",
            unit1,
            |n| Action::Handle {
                note: text(n),
                photos: vec![],
            },
            limits::NOTE,
            "note",
        ),
        (
            "dispatched",
            "handle photos",
            unit1,
            |n| Action::Handle {
                note: String::new(),
                photos: photos(n),
            },
            limits::PHOTOS,
            "photos",
        ),
        (
            "dispatched",
            "extension",
            operator,
            |n| Action::Extend {
                hours: n as u32,
                reason: "materials".into(),
                request: None,
            },
            limits::EXTEND_HOURS as usize,
            "hours",
        ),
        (
            "reported",
            "attach",
            worker1,
            |n| Action::Attach { blobs: photos(n) },
            limits::PHOTOS,
            "blobs",
        ),
        (
            "reported",
            "units",
            operator,
            |n| {
                Action::File(Filing {
                    category: garbage(),
                    level: Level::General,
                    units: (0..n).map(|i| format!("u{i}").into()).collect(),
                    suggestion: String::new(),
                    callback: false,
                })
            },
            limits::UNITS,
            "units",
        ),
    ];
    for (stage, what, who, action, max, field) in rows {
        // One over the bound: refused, on every replica alike, with the field and the bound.
        let mut doc = case_at(stage);
        let err = step(&mut doc, &who(), action(max + 1), 500).expect_err(what);
        match err {
            Error::Rule(v) => {
                assert_eq!(v.code, V::InvalidPayload, "{what}: {v}");
                assert!(v.message.contains(field), "{what}: {v}");
                assert!(v.message.contains(&max.to_string()), "{what}: {v}");
            }
            other => panic!("{what}: {other}"),
        }
    }
    // At the bound: written (the units of a filing are not checked without an organization).
    let mut doc = case_at("reported");
    step(
        &mut doc,
        &worker1(),
        Action::Comment {
            text: text(limits::NOTE),
        },
        500,
    )
    .expect("a comment of exactly the limit");
    let mut doc = case_at("dispatched");
    step(
        &mut doc,
        &unit1(),
        Action::Handle {
            note: String::new(),
            photos: photos(limits::PHOTOS),
        },
        500,
    )
    .expect("twenty photos");
}

#[test]
fn an_intake_is_bounded_in_every_field() {
    type Change = fn(&mut gridcase_sync_core::event::Intake);
    let rows: &[(&str, Change)] = &[
        ("description", |i| {
            i.description = text(limits::DESCRIPTION + 1)
        }),
        ("address", |i| i.address = Some(text(limits::ADDRESS + 1))),
        ("reporter name", |i| {
            i.reporter = Some(Reporter {
                name: text(limits::PERSON_NAME + 1),
                contact: String::new(),
            })
        }),
        ("reporter contact", |i| {
            i.reporter = Some(Reporter {
                name: String::new(),
                contact: "1".repeat(limits::CONTACT + 1),
            })
        }),
        ("photos", |i| i.photos = photos(limits::PHOTOS + 1)),
        ("coordinates", |i| i.coordinates = Some((500.0, 39.9))),
    ];
    for (field, change) in rows {
        let mut intake = intake(Channel::Hotline);
        change(&mut intake);
        let got = code(open_case(&operator(), writer("operator"), intake, t0()));
        match got {
            Err((V::InvalidPayload, message)) => assert!(message.contains(field), "{message}"),
            other => panic!("{field}: {other:?}"),
        }
    }
    let mut fine = intake(Channel::Hotline);
    fine.description = text(limits::DESCRIPTION);
    open_case(&operator(), writer("operator"), fine, t0()).expect("a description at the limit");

    // Photos brought as blobs count too, and their metadata is bounded.
    let blob = |name: String| Blob {
        sha256: "ab".repeat(32),
        mime: "image/jpeg".into(),
        size: 1,
        name: Some(name),
    };
    let too_many = (0..=limits::PHOTOS).map(|_| blob("p.jpg".into())).collect();
    let got = code(open_case_with_org(
        &worker1(),
        writer("worker1"),
        intake(Channel::Patrol),
        too_many,
        t0(),
        None,
    ));
    assert!(matches!(got, Err((V::InvalidPayload, _))), "{got:?}");
    let long_name = vec![blob("n".repeat(limits::FILE_NAME + 1))];
    let got = code(open_case_with_org(
        &worker1(),
        writer("worker1"),
        intake(Channel::Patrol),
        long_name,
        t0(),
        None,
    ));
    assert!(
        matches!(&got, Err((V::InvalidPayload, m)) if m.contains("photo name")),
        "{got:?}"
    );
}

#[test]
fn deadlines_lie_between_2000_and_2100() {
    let dispatch_by = |deadline: i64| Action::Dispatch {
        unit: "u1".into(),
        responsible: None,
        deadline: Some(deadline),
        lead: false,
    };
    for bad in [
        i64::MAX,
        i64::MIN,
        -1,
        0,
        limits::TIME_MIN - 1,
        limits::TIME_MAX + 1,
    ] {
        let mut doc = case_at("filed");
        let got = code(step(&mut doc, &operator(), dispatch_by(bad), 500));
        assert!(
            matches!(&got, Err((V::InvalidPayload, m)) if m.contains("deadline")),
            "{bad}: {got:?}"
        );
    }
    let mut doc = case_at("filed");
    step(&mut doc, &operator(), dispatch_by(t0() + 48 * HOUR), 500).expect("a deadline in range");
    assert_eq!(state(&doc).deadline, Some(t0() + 48 * HOUR));
}

/// An event as an older handheld (before the limits) wrote it, appended past the commands.
fn old_device_event(events: &[Event], who: &gridcase_sync_core::Actor, action: Action) -> Event {
    Event {
        id: EventId::generate(),
        author: who.user.clone(),
        device: who.device.clone(),
        role: who.role,
        scope: who.scope.clone(),
        at: t0() + 100 * 60_000,
        parents: frontier(events),
        action,
    }
}

#[test]
fn the_fold_keeps_an_over_long_event_from_an_old_device_as_a_rule_breach() {
    let doc = case_at("reported");
    let mut events = doc.events().expect("events");
    let huge = old_device_event(
        &events,
        &worker1(),
        Action::Comment {
            text: "x".repeat(15 * 1024 * 1024),
        },
    );
    let id = huge.id.clone();
    events.push(huge);
    let s = fold(&events, &cal());
    assert_eq!(s.disposition(&id), Some(Disposition::Superseded));
    let conflict = s
        .conflicts
        .iter()
        .find(|c| c.event == id)
        .expect("a conflict names it");
    assert_eq!(conflict.reason, ConflictReason::Rule(V::InvalidPayload));
    assert_eq!(
        s.status,
        Some(gridcase_sync_core::Status::Reported),
        "the case goes on"
    );

    // An intake beyond the bounds: no case state, and no panic.
    let mut intake = intake(Channel::Patrol);
    intake.description = "x".repeat(limits::DESCRIPTION + 1);
    let bad_intake = old_device_event(&[], &worker1(), Action::Intake(intake));
    let s = fold(&[bad_intake], &cal());
    assert_eq!(s.status, None);
    assert_eq!(s.conflicts.len(), 1);
}

#[test]
fn units_must_exist_in_the_organization_the_writer_knows() {
    for unit in ["u999", ""] {
        let mut doc = case_at("filed");
        let got = act_known(&mut doc, &operator(), dispatch(unit));
        assert!(
            matches!(&got, Err((V::UnknownReference, m)) if m.contains("unit")),
            "dispatch to {unit:?}: {got:?}"
        );
        assert_eq!(
            state(&doc).status,
            Some(gridcase_sync_core::Status::Filed),
            "nothing written"
        );
    }
    let mut doc = case_at("filed");
    act_known(&mut doc, &operator(), dispatch("u2")).expect("a known unit");

    let mut doc = case_at("reported");
    let filing = Action::File(Filing {
        category: garbage(),
        level: Level::General,
        units: vec!["u1".into(), "u999".into()],
        suggestion: String::new(),
        callback: false,
    });
    let got = act_known(&mut doc, &operator(), filing);
    assert!(matches!(got, Err((V::UnknownReference, _))), "{got:?}");

    // Standing is judged first: a worker who may not dispatch hears that, not the unit.
    let mut doc = case_at("filed");
    let got = act_known(&mut doc, &worker1(), dispatch("u999"));
    assert!(matches!(got, Err((V::NotPermitted, _))), "{got:?}");
}

#[test]
fn an_intake_names_a_grid_on_its_true_path_and_a_catalog_category() {
    let open = |territory: Territory, category: Option<&str>| {
        let mut intake = intake(Channel::Patrol);
        intake.territory = territory;
        intake.category = category.map(|c| CategoryCode::parse(c).expect("shape"));
        code(open_case_with_org(
            &operator(),
            writer("operator"),
            intake,
            vec![],
            t0(),
            Some(&org()),
        ))
    };
    let at = |s: &str, c: &str, g: &str| Territory {
        street: s.into(),
        community: c.into(),
        grid: g.into(),
    };
    assert_eq!(open(at("s1", "c1", "g1"), Some("E0102")), Ok(()));
    for (territory, category) in [
        (at("s1", "c1", "g9"), None),
        (at("s1", "c2", "g1"), None),
        (at("s2", "c1", "g1"), None),
        (at("s1", "c1", "g1"), Some("E9999")),
    ] {
        let got = open(territory.clone(), category);
        assert!(
            matches!(got, Err((V::UnknownReference, _))),
            "{territory:?} {category:?}: {got:?}"
        );
    }
}

#[test]
fn a_case_is_never_its_own_duplicate_with_or_without_an_organization() {
    let mut doc = case_at("reported");
    let me = doc.header().expect("header").case;
    let got = code(step(
        &mut doc,
        &operator(),
        Action::MarkDuplicate { of: me.clone() },
        500,
    ));
    assert!(
        matches!(&got, Err((V::UnknownReference, m)) if m.contains("itself")),
        "{got:?}"
    );
    let got = act_known(
        &mut doc,
        &operator(),
        Action::MarkDuplicate { of: me.clone() },
    );
    assert!(matches!(got, Err((V::UnknownReference, _))), "{got:?}");
    act_known(
        &mut doc,
        &operator(),
        Action::MarkDuplicate {
            of: CaseId::generate(),
        },
    )
    .expect("another case (whether it exists is the server's to say)");
    assert!(check_references(&me, &Action::MarkDuplicate { of: me.clone() }, &org()).is_err());
}

#[test]
fn the_fold_never_refuses_an_unknown_reference() {
    // What an older organization allowed is stored; folding it applies it as written.
    let mut doc = case_at("filed");
    step(&mut doc, &operator(), dispatch("u-retired"), 500).expect("no organization, no check");
    let s = state(&doc);
    assert_eq!(s.status, Some(gridcase_sync_core::Status::Dispatched));
    assert_eq!(s.assigned_unit, Some("u-retired".into()));
    assert!(s.conflicts.is_empty());
}
