//! Writes cases straight into a ledger directory through the server's own ledger code (store,
//! summaries, feed), before the server starts: the 311 replay and the million-case ledger.

use crate::phase::Phase;
use gridcase_server::callers::{CallerRecord, Source};
use gridcase_server::ledger::stage_caller;
use gridcase_server::{demo, AppState, Config};
use gridcase_sync_core::caller::Caller;
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
    /// Where, as reported (the ledger at scale's cases have both; the 311 replay's neither).
    pub address: Option<String>,
    /// (longitude, latitude), inside the grid's outline.
    pub coordinates: Option<(f64, f64)>,
    pub created: Millis,
    pub deadline: Deadline,
    /// When it was closed, if it was (written only for a dispatched case).
    pub closed: Option<Millis>,
    pub satisfied: Option<bool>,
}

/// How a seeded case is dispatched, and so which deadline it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// Dispatched without a deadline of its own: the fold gives it the catalog's deadline for
    /// its category (the ledger at scale).
    Catalog,
    /// Dispatched with this deadline (a 311 row's due date).
    At(Millis),
    /// Filed to its unit but not dispatched, so it has no deadline at all, is never due and
    /// never overdue; its closing, if any, is not written either (a case closes here only
    /// after a dispatch, and a dispatch without a deadline of its own takes the catalog's).
    /// A 311 row without a due date.
    NotDispatched,
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
        caller: None,
        callback: false,
        channel: Channel::WalkIn,
        reporter: None,
        description: seed.description.clone(),
        territory: Territory {
            street: street.into(),
            community: community.into(),
            grid: grid.into(),
        },
        address: seed.address.clone(),
        coordinates: seed.coordinates,
        category: None,
        photos: vec![],
    };
    let writer = ActorId::from(&[7u8; 16][..]);
    let (mut doc, _) = open_case(&operator, writer, intake, seed.created).ok()?;
    let minute = 60_000;
    let steps: Vec<(&Actor, Action, Millis)> = {
        let mut v = vec![(
            &operator,
            Action::File(Filing {
                category: CategoryCode::parse(seed.category)?,
                level: Level::General,
                units: vec![seed.unit.as_str().into()],
                suggestion: String::new(),
                callback: seed.satisfied.is_some(),
            }),
            seed.created + minute,
        )];
        let deadline = match seed.deadline {
            Deadline::Catalog => Some(None),
            Deadline::At(at) => Some(Some(at)),
            Deadline::NotDispatched => None,
        };
        if let Some(deadline) = deadline {
            v.push((
                &operator,
                Action::Dispatch {
                    unit: seed.unit.as_str().into(),
                    responsible: None,
                    deadline,
                    lead: false,
                },
                seed.created + 2 * minute,
            ));
        }
        if let (Some(closed), Some(_)) = (seed.closed, deadline) {
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

/// How many distinct telephone numbers the filled callers use.
pub const PHONES: u64 = 300_000;

/// The telephone number of the caller of the `i`th filled case (mobile, in its written form).
pub fn phone_of(i: usize) -> String {
    format!("139{:08}", (i as u64).wrapping_mul(7919) % PHONES)
}

/// Fills a fresh ledger directory with the seeded cases; returns how many were written.
pub fn fill(dir: &Path, seeds: impl Iterator<Item = Seed>, total_hint: usize) -> usize {
    let mut config = Config::for_dir(dir);
    // With GRIDCASE_TEST_DATABASE_URL the ledger goes to a PostgreSQL database of its own, the
    // one the server started on this directory will use.
    config.database_url = gridcase_tests::test_database(dir);
    let state = AppState::open(config).expect("open the ledger");
    demo::seed(&state.directory, Some(PASSWORD.into())).expect("seed the directory");
    let mut org = (*state.directory.org().expect("org")).clone();
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
            .or_insert_with(|| gridcase_sync_core::org::Unit::district(seed.unit.clone()));
        let Some(mut doc) = build(&seed, &calendar) else {
            continue;
        };
        let case = doc.header().expect("header").case;
        ledger
            .docs
            .stage_snapshot(&mut batch, &case, doc.automerge());
        // Every case has a caller in the register; numbers repeat (a number calls about three
        // cases at a million), as the repeat-caller lookup and the search by phone expect.
        let caller = Caller {
            name: "居民".into(),
            phone: Some(phone_of(written)),
            callback: written % 2 == 0,
            ..Caller::default()
        };
        let record = CallerRecord::new(
            caller,
            format!("{:032x}", written as u128 + 1),
            case.clone(),
            Source::Intake,
            seed.created,
            "operator".into(),
        );
        stage_caller(&mut batch, &record).expect("caller");
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

/// The cases of the ledger at scale (`--ledger-cases N`): one every 30 s up to the fill, so
/// that the last 30 days (the window of duplicate suggestions) hold the last 86,400; 1/3 open,
/// the rest closed, 1/6 evaluated. Each is placed at a doorplate of the demo's address register
/// in its grid (some doorplates far busier than others, as a market street is), a few metres
/// from the doorplate's own point, and described in Chinese the way callers put it: a place, a
/// time, the problem in one of five phrasings of its category, sometimes a plate number or a
/// request; one case in 997 mentions a stray dog (流浪狗), one in 99,991 a peacock (孔雀),
/// and one in 25 an LED lamp, for searches of rare, very rare and ASCII words.
pub struct Scale {
    /// The doorplates of each of the `GRIDS`: (address, longitude, latitude).
    places: Vec<Vec<(String, f64, f64)>>,
    end: Millis,
    n: usize,
}

impl Scale {
    pub fn new(n: usize) -> Scale {
        let org = demo::org();
        let register = gridcase_server::addresses::Register::demo();
        let places = GRIDS
            .iter()
            .map(|(_, _, grid)| {
                let outline = &org.grids[&(*grid).into()].polygon;
                let (lon0, lat0) = outline[0];
                let (lon1, lat1) = outline[2];
                register
                    .addresses()
                    .iter()
                    .filter(|a| a.grid.as_str() == *grid)
                    .map(|a| {
                        let h = mix(a
                            .id
                            .bytes()
                            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))));
                        // A point inside the outline, 40 m clear of its edges.
                        let (u, v) = (unit(h), unit(mix(h)));
                        let text = format!(
                            "{}{}{}",
                            a.road,
                            a.number,
                            a.building.as_deref().unwrap_or("")
                        );
                        (
                            text,
                            lon0 + 0.0005 + u * (lon1 - lon0 - 0.001),
                            lat0 + 0.0005 + v * (lat1 - lat0 - 0.001),
                        )
                    })
                    .collect()
            })
            .collect();
        Scale {
            places,
            end: seeds_now(),
            n,
        }
    }

    /// The `i`th case (of `n`).
    pub fn seed(&self, i: usize) -> Seed {
        const PLACES: [&str; 10] = [
            "小区门口",
            "路口东侧",
            "公交站旁",
            "菜市场后面",
            "学校门口",
            "胡同里",
            "便利店门前",
            "停车场入口",
            "楼下",
            "地铁站出口",
        ];
        const TIMES: [&str; 6] = [
            "今天早上",
            "昨天晚上",
            "这几天",
            "已经一周了",
            "刚才",
            "最近",
        ];
        const PROBLEMS: [[&str; 5]; 5] = [
            [
                "有一堆垃圾没人清理",
                "垃圾桶满了溢出来",
                "有人乱倒生活垃圾",
                "建筑垃圾堆在路边",
                "垃圾发臭招苍蝇",
            ],
            [
                "有人在搭建违章建筑",
                "一楼住户私自扩建",
                "楼顶加盖了彩钢板房",
                "违建占用了消防通道",
                "院内私搭棚子",
            ],
            [
                "路灯不亮",
                "路灯一直闪",
                "路灯杆被撞歪了",
                "LED路灯坏了好几盏",
                "路灯白天也亮着",
            ],
            [
                "有车辆乱停放堵住出口",
                "机动车违停占用人行道",
                "车停在消防通道上",
                "有辆车长期停放不动",
                "出租车乱停影响通行",
            ],
            [
                "路面塌陷出现大坑",
                "井盖旁边路面下沉",
                "路面开裂塌了一块",
                "下雨后路面塌陷",
                "施工后路面塌陷很危险",
            ],
        ];
        const ASKS: [&str; 5] = [
            "请尽快处理。",
            "希望相关部门来看看。",
            "影响居民出行。",
            "存在安全隐患。",
            "",
        ];
        let h = mix(i as u64);
        let kind = i % 5;
        let grid = i % GRIDS.len();
        let places = &self.places[grid];
        // Busier doorplates first: the square of a uniform number leans to the start.
        let u = unit(h);
        let (address, lon, lat) =
            &places[((u * u * places.len() as f64) as usize).min(places.len() - 1)];
        // Within about 20 m of the doorplate's point.
        let jitter = |h: u64| (unit(h) - 0.5) * 0.0005;
        let coordinates = (lon + jitter(mix(h ^ 1)), lat + jitter(mix(h ^ 2)));
        let pick =
            |list: &[&'static str], salt: u64| list[(mix(h ^ salt) % list.len() as u64) as usize];
        let mut description = format!(
            "{}{}{}",
            pick(&PLACES, 3),
            pick(&TIMES, 4),
            PROBLEMS[kind][(i / 5) % 5]
        );
        if kind == 3 && h.is_multiple_of(5) {
            description.push_str(&format!("，车牌京N{:05}", h % 100_000));
        }
        if i.is_multiple_of(997) {
            description.push_str("，附近还有一只流浪狗");
        }
        if i.is_multiple_of(99_991) {
            description.push_str("，有只孔雀从公园跑出来了");
        }
        description.push('，');
        description.push_str(pick(&ASKS, 5));
        let created = self.end - (self.n - i) as Millis * 30_000;
        Seed {
            grid,
            category: ["E0102", "E0101", "C0105", "E0504", "E0401"][kind],
            unit: format!("u{}", 1 + i % 4),
            description,
            address: Some(if h.is_multiple_of(7) {
                format!(
                    "{}{address}",
                    ["东华门街道", "东华门街道", "东华门街道", "景山街道"][grid]
                )
            } else {
                address.clone()
            }),
            coordinates: Some(coordinates),
            created,
            deadline: Deadline::Catalog,
            closed: (!i.is_multiple_of(3)).then_some(created + 3_600_000 * (1 + (i % 40) as i64)),
            satisfied: (i % 6 == 1).then_some(i % 12 != 1),
        }
    }
}

/// A 64-bit mix (splitmix64's finalizer): the fill's repeatable randomness.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A number in [0, 1) from a mixed one.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn seeds_now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_cases_lie_in_their_grid_near_their_doorplate_and_read_as_chinese() {
        let org = demo::org();
        let scale = Scale::new(10_000);
        let mut previous = Millis::MIN;
        for i in 0..10_000 {
            let seed = scale.seed(i);
            let (lon, lat) = seed.coordinates.expect("coordinates");
            let grid = org.grid_at(lon, lat).expect("inside a grid");
            assert_eq!(grid.as_str(), GRIDS[i % GRIDS.len()].2, "case {i}");
            assert!(seed.address.as_deref().is_some_and(|a| a.contains('号')));
            assert!(seed
                .description
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
            assert!(seed.created > previous);
            previous = seed.created;
        }
        assert!(scale.seed(997).description.contains("流浪狗"));
        assert_eq!(
            scale.seed(17).description,
            Scale::new(10_000).seed(17).description
        );
    }
}
