//! Fixtures shared by the sync-core tests: one district, its people, and helpers that drive
//! cases through the lifecycle with the real commands.
#![allow(dead_code)]

use gridcase_sync_core::calendar::days_from_civil;
use gridcase_sync_core::commands::{act, open_case};
use gridcase_sync_core::event::{Channel, Filing, Intake};
use gridcase_sync_core::org::Territory;
use gridcase_sync_core::{
    Action, Actor, ActorId, CaseDoc, CategoryCode, Error, Event, Level, Millis, Role, Scope,
    WorkCalendar,
};

pub const HOUR: Millis = 3_600_000;

/// Monday 2026-03-02 09:00 in Beijing.
pub fn t0() -> Millis {
    days_from_civil(2026, 3, 2) * 86_400_000 + HOUR
}

pub fn cal() -> WorkCalendar {
    WorkCalendar::beijing()
}

pub fn here() -> Territory {
    Territory {
        street: "s1".into(),
        community: "c1".into(),
        grid: "g1".into(),
    }
}

pub fn elsewhere() -> Territory {
    Territory {
        street: "s2".into(),
        community: "c2".into(),
        grid: "g2".into(),
    }
}

fn actor(user: &str, role: Role, scope: Scope) -> Actor {
    Actor {
        user: user.into(),
        device: format!("{user}-device").into(),
        role,
        scope,
    }
}

pub fn operator() -> Actor {
    actor("operator", Role::DistrictCenter, Scope::District)
}
pub fn street1() -> Actor {
    actor("street1", Role::StreetCenter, Scope::Street("s1".into()))
}
pub fn street2() -> Actor {
    actor("street2", Role::StreetCenter, Scope::Street("s2".into()))
}
pub fn community1() -> Actor {
    actor(
        "community1",
        Role::CommunityWorkstation,
        Scope::Community("c1".into()),
    )
}
pub fn community2() -> Actor {
    actor(
        "community2",
        Role::CommunityWorkstation,
        Scope::Community("c2".into()),
    )
}
pub fn worker1() -> Actor {
    actor("worker1", Role::GridWorker, Scope::Grids(vec!["g1".into()]))
}
pub fn worker2() -> Actor {
    actor("worker2", Role::GridWorker, Scope::Grids(vec!["g1".into()]))
}
pub fn worker3() -> Actor {
    actor("worker3", Role::GridWorker, Scope::Grids(vec!["g2".into()]))
}
pub fn unit1() -> Actor {
    actor("unit1", Role::UnitHandler, Scope::Unit("u1".into()))
}
pub fn unit2() -> Actor {
    actor("unit2", Role::UnitHandler, Scope::Unit("u2".into()))
}
pub fn supervisor() -> Actor {
    actor("supervisor", Role::Supervisor, Scope::District)
}
pub fn open311() -> Actor {
    actor("open311", Role::IntakeChannel, Scope::District)
}
pub fn admin() -> Actor {
    actor("admin", Role::Admin, Scope::District)
}

/// A stable automerge actor per device name.
pub fn writer(name: &str) -> ActorId {
    let mut bytes = [0u8; 16];
    for (i, b) in name.bytes().enumerate() {
        bytes[i % 16] ^= b.wrapping_add(i as u8);
    }
    ActorId::from(bytes.as_slice())
}

pub fn intake(channel: Channel) -> Intake {
    Intake {
        media_url: None,
        business_type: None,
        caller: None,
        callback: false,
        channel,
        reporter: None,
        description: "garbage piled at the corner".into(),
        territory: here(),
        address: Some("1 Example Lane".into()),
        coordinates: Some((116.4, 39.9)),
        category: None,
        photos: vec![],
    }
}

pub fn garbage() -> CategoryCode {
    CategoryCode::parse("E0102").expect("catalog code")
}

pub fn filing() -> Action {
    Action::File(Filing {
        category: garbage(),
        level: Level::General,
        units: vec!["u1".into()],
        suggestion: String::new(),
        callback: true,
    })
}

pub fn dispatch(unit: &str) -> Action {
    Action::Dispatch {
        unit: unit.into(),
        responsible: None,
        deadline: None,
        lead: false,
    }
}

pub fn verify(resolved: bool) -> Action {
    Action::Verify {
        resolved,
        note: String::new(),
        photos: vec![],
    }
}

pub fn feedback() -> Action {
    Action::Feedback {
        resolved: true,
        note: "cleaned".into(),
        photos: vec![],
    }
}

pub fn close() -> Action {
    Action::Close {
        note: String::new(),
    }
}

/// A case with a patrol intake by worker1, written on worker1's device.
pub fn new_case() -> CaseDoc {
    let (doc, _) = open_case(&worker1(), writer("worker1"), intake(Channel::Patrol), t0())
        .expect("worker1 may report in g1");
    doc
}

/// Performs `action` as `who`, on `who`'s device, `minutes` after t0.
pub fn step(doc: &mut CaseDoc, who: &Actor, action: Action, minutes: i64) -> Result<Event, Error> {
    doc.set_actor(writer(who.device.as_str()));
    act(doc, who, action, t0() + minutes * 60_000, &cal())
}

/// Drives a fresh case to a point of the loop: the stage names are the statuses.
pub fn case_at(stage: &str) -> CaseDoc {
    let mut doc = new_case();
    type Plan = (&'static str, fn() -> Actor, fn() -> Action);
    let plan: &[Plan] = &[
        ("filed", operator, filing),
        ("dispatched", operator, || dispatch("u1")),
        ("in_progress", unit1, || Action::Handle {
            note: "on it".into(),
            photos: vec![],
        }),
        ("awaiting_verification", unit1, feedback),
        ("verified", worker1, || verify(true)),
        ("closed", worker1, close),
        ("evaluated", supervisor, || Action::Evaluate {
            satisfaction: Some(gridcase_sync_core::event::Satisfaction::Satisfied),
            solved: Some(true),
            note: String::new(),
        }),
    ];
    if stage == "reported" {
        return doc;
    }
    for (i, (name, who, action)) in plan.iter().enumerate() {
        step(&mut doc, &who(), action(), 10 * (i as i64 + 1)).expect("lifecycle step");
        if *name == stage {
            return doc;
        }
    }
    panic!("unknown stage {stage}");
}

/// A copy of a document, as another device would hold it after syncing.
pub fn replica(doc: &mut CaseDoc) -> CaseDoc {
    CaseDoc::load(&doc.save()).expect("a saved case loads")
}

/// Merges `other` into `doc` (both directions of a sync end here).
pub fn merge(doc: &mut CaseDoc, other: &mut CaseDoc) {
    doc.automerge()
        .merge(other.automerge())
        .expect("merging two replicas of one case");
}

pub fn state(doc: &CaseDoc) -> gridcase_sync_core::CaseState {
    gridcase_sync_core::fold(&doc.events().expect("events decode"), &cal())
}

/// Appends an event the way another release would, bypassing the rules: `kind` and
/// `payload` exactly as given, the envelope of schema 1 with parents the frontier of what
/// `doc` holds, `extra` event fields beside it, at `minutes` after t0, by `who`'s device.
pub fn write_raw_event(
    doc: &mut CaseDoc,
    who: &Actor,
    id: &str,
    (kind, payload): (&str, &str),
    extra: &[(&str, &str)],
    minutes: i64,
) {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ReadDoc, ROOT};
    let parents = gridcase_sync_core::fold::frontier(&doc.events().expect("events read"));
    let am = doc.automerge();
    am.set_actor(writer(who.device.as_str()));
    let events = am.get(ROOT, "events").expect("get").expect("events").1;
    let len = am.length(&events);
    let e = am
        .insert_object(&events, len, ObjType::Map)
        .expect("insert");
    let envelope = [
        ("id", id.to_owned()),
        ("kind", kind.to_owned()),
        ("author", who.user.to_string()),
        ("device", who.device.to_string()),
        ("role", who.role.as_str().to_owned()),
        ("scope", serde_json::to_string(&who.scope).expect("scope")),
        ("parents", serde_json::to_string(&parents).expect("parents")),
        ("payload", payload.to_owned()),
    ];
    let extra = extra.iter().map(|(k, v)| (*k, (*v).to_owned()));
    for (k, v) in envelope.into_iter().chain(extra) {
        am.put(&e, k, v).expect("put");
    }
    am.put(&e, "at", t0() + minutes * 60_000).expect("put");
    am.commit();
}
