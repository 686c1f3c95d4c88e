//! Writes cases straight into a ledger directory through the server's own ledger code (store,
//! summaries, feed), before the server starts: the 311 replay and the million-case ledger.

use crate::phase::Phase;
use gridcase_server::{demo, AppState, Config};
use gridcase_sync_core::commands::{act, open_case};
use gridcase_sync_core::event::{Channel, Filing, Intake, Satisfaction};
use gridcase_sync_core::org::Territory;
use gridcase_sync_core::store::Batch;
use gridcase_sync_core::{
    Action, Actor, ActorId, CategoryCode, Level, Millis, Role, Scope, WorkCalendar,
};
use gridcase_tests::PASSWORD;
use std::path::Path;

/// One case to write: where, what, who handles it, and when each step happened.
pub struct Seed {
    pub grid: usize,
    pub category: &'static str,
    pub unit: String,
    pub description: String,
    pub created: Millis,
    pub deadline: Option<Millis>,
    /// When it was closed, if it was.
    pub closed: Option<Millis>,
    pub satisfied: Option<bool>,
}

const GRIDS: [(&str, &str, &str); 4] = [
    ("s1", "c1", "g1"),
    ("s1", "c1", "g2"),
    ("s1", "c2", "g3"),
    ("s2", "c3", "g4"),
];

fn actor(user: &str, role: Role, scope: Scope) -> Actor {
    Actor {
        user: user.into(),
        device: format!("{user}-import").into(),
        role,
        scope,
    }
}

/// Builds one case's history with the real commands (so the fold judges it like any other).
fn build(seed: &Seed, calendar: &WorkCalendar) -> Option<gridcase_sync_core::CaseDoc> {
    let (street, community, grid) = GRIDS[seed.grid % GRIDS.len()];
    let operator = actor("operator", Role::DistrictCenter, Scope::District);
    let unit = actor(
        &format!("handler-{}", seed.unit),
        Role::UnitHandler,
        Scope::Unit(seed.unit.as_str().into()),
    );
    let intake = Intake {
        media_url: None,
        business_type: None,
        channel: Channel::WalkIn,
        reporter: None,
        description: seed.description.clone(),
        territory: Territory {
            street: street.into(),
            community: community.into(),
            grid: grid.into(),
        },
        address: None,
        coordinates: None,
        category: None,
        photos: vec![],
    };
    let writer = ActorId::from(&[7u8; 16][..]);
    let (mut doc, _) = open_case(&operator, writer, intake, seed.created).ok()?;
    let minute = 60_000;
    let steps: Vec<(&Actor, Action, Millis)> = {
        let mut v = vec![
            (
                &operator,
                Action::File(Filing {
                    category: CategoryCode::parse(seed.category)?,
                    level: Level::General,
                    units: vec![seed.unit.as_str().into()],
                    suggestion: String::new(),
                    callback: seed.satisfied.is_some(),
                }),
                seed.created + minute,
            ),
            (
                &operator,
                Action::Dispatch {
                    unit: seed.unit.as_str().into(),
                    responsible: None,
                    deadline: seed.deadline,
                },
                seed.created + 2 * minute,
            ),
        ];
        if let Some(closed) = seed.closed {
            let at = closed.max(seed.created + 3 * minute);
            v.push((
                &unit,
                Action::Feedback {
                    resolved: true,
                    note: String::new(),
                    photos: vec![],
                },
                at - 2,
            ));
            v.push((
                &operator,
                Action::Verify {
                    resolved: true,
                    note: String::new(),
                    photos: vec![],
                },
                at - 1,
            ));
            v.push((
                &operator,
                Action::Close {
                    note: String::new(),
                },
                at,
            ));
            if let Some(ok) = seed.satisfied {
                let satisfaction = Some(if ok {
                    Satisfaction::Satisfied
                } else {
                    Satisfaction::Dissatisfied
                });
                v.push((
                    &operator,
                    Action::Evaluate {
                        satisfaction,
                        solved: Some(ok),
                        note: String::new(),
                    },
                    at + minute,
                ));
            }
        }
        v
    };
    for (who, action, at) in steps {
        act(&mut doc, who, action, at, calendar).ok()?;
    }
    Some(doc)
}

/// Fills a fresh ledger directory with the seeded cases; returns how many were written.
pub fn fill(dir: &Path, seeds: impl Iterator<Item = Seed>, total_hint: usize) -> usize {
    let state = AppState::open(Config::for_dir(dir)).expect("open the ledger");
    demo::seed(&state.directory, Some(PASSWORD.into())).expect("seed the directory");
    let mut org = state.directory.org().expect("org");
    let ledger = state.ledger.clone();
    let calendar = ledger.calendar.clone();
    let mut written = 0;
    let mut batch = Batch::new();
    let mut feed = Vec::new();
    let now = seeds_now();
    let phase = Phase::new("ledger cases", total_hint as u64, 20_000);
    for seed in seeds {
        phase.inc(1);
        org.units
            .entry(seed.unit.as_str().into())
            .or_insert_with(|| gridcase_sync_core::org::Unit {
                name: seed.unit.clone(),
            });
        let Some(mut doc) = build(&seed, &calendar) else {
            continue;
        };
        let case = doc.header().expect("header").case;
        ledger
            .docs
            .stage_snapshot(&mut batch, &case, doc.automerge());
        feed.push(
            ledger
                .stage_index(&mut batch, &doc, &[], now)
                .expect("index"),
        );
        written += 1;
        if feed.len() >= 2_000 {
            ledger
                .commit(std::mem::take(&mut batch), std::mem::take(&mut feed))
                .expect("commit");
        }
    }
    ledger.commit(batch, feed).expect("commit");
    phase.finish();
    state.directory.put_org(&org).expect("org");
    written
}

fn seeds_now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}
