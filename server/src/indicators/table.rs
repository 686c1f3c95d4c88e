//! The facts of every case in memory ([`Table`]): one fixed-width [`Row`] a case, in the slot
//! its stored row names, with times as milliseconds, status and satisfaction as their stored
//! codes, and strings interned. A query ([`Table::compute`]) is one pass over the rows.

use super::formulas::{Indicators, Period};
use super::row::{read_stored, satisfaction_code, status_code, CaseFacts, NONE, NO_CODE};
use gridcase_sync_core::org::Territory;
use gridcase_sync_core::rules::covers_case;
use gridcase_sync_core::Status;
use gridcase_sync_core::{Scope, UnitId};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The group of cases without the grouping's value (not yet dispatched, not yet filed).
pub const NO_GROUP: &str = "none";

/// What the groups of a stats answer are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Unit,
    Street,
    Community,
    Grid,
    Category,
    /// 责任人: the responsible person the current dispatch names.
    Responsible,
}

impl GroupBy {
    /// Every grouping, in the order pages offer them.
    pub const ALL: [GroupBy; 6] = [
        GroupBy::Unit,
        GroupBy::Street,
        GroupBy::Community,
        GroupBy::Grid,
        GroupBy::Category,
        GroupBy::Responsible,
    ];

    pub fn parse(s: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// The name `parse` reads.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Unit => "unit",
            GroupBy::Street => "street",
            GroupBy::Community => "community",
            GroupBy::Grid => "grid",
            GroupBy::Category => "category",
            GroupBy::Responsible => "responsible",
        }
    }
}

/// One case in memory: times as ms (or [`NONE`]), codes as stored (or [`NO_CODE`]), strings
/// interned.
#[derive(Debug, Clone, Copy)]
pub(super) struct Row {
    pub(super) created_at: i64,
    pub(super) filed_at: i64,
    pub(super) deadline: i64,
    pub(super) closed_at: i64,
    /// Index into [`Table::territories`].
    territory: u32,
    /// Index into [`Table::unit_sets`].
    units: u32,
    /// Indexes into [`Table::names`], or [`NO_NAME`].
    unit: u32,
    category: u32,
    responsible: u32,
    pub(super) extensions: u16,
    pub(super) rework_count: u16,
    pub(super) verifications: u16,
    pub(super) status: u8,
    pub(super) satisfaction: u8,
    /// The hotline's facts ([`CallFacts`]), in their stored two bytes: what fits the row's
    /// padding.
    pub(super) call: [u8; 2],
}

impl Row {
    /// A slot no case has (yet): skipped by every count.
    const EMPTY: Row = Row {
        created_at: NONE,
        filed_at: NONE,
        deadline: NONE,
        closed_at: NONE,
        territory: u32::MAX,
        units: 0,
        unit: NO_NAME,
        category: NO_NAME,
        responsible: NO_NAME,
        extensions: 0,
        rework_count: 0,
        verifications: 0,
        status: NO_CODE,
        satisfaction: NO_CODE,
        call: [0, NO_CODE],
    };
}

/// A case's chain of units in memory ([`super::ChainFacts`]), apart from its [`Row`]: most of
/// a slot's cost is the row, and a case not yet dispatched has none.
#[derive(Debug, Clone)]
pub(super) struct Chain {
    pub(super) deadline_missed: bool,
    pub(super) links: Box<[Link]>,
}

/// One dispatch in memory: times as ms (or [`NONE`]), the unit interned.
#[derive(Debug, Clone, Copy)]
pub(super) struct Link {
    pub(super) dispatched_at: i64,
    pub(super) acknowledged_at: i64,
    pub(super) response_due: i64,
    /// Index into [`Table::names`].
    unit: u32,
    pub(super) returned: bool,
}

const NO_NAME: u32 = u32::MAX;
/// More slots than any district has cases: a stored row naming one is corrupt, not a case
/// (it would make the table allocate gigabytes).
const MAX_SLOTS: u32 = 1 << 27;

/// A distinct (street, community, grid), with their name indexes for grouping.
struct Place {
    territory: Option<Territory>,
    street: u32,
    community: u32,
    grid: u32,
}

/// The facts of every case, in memory, each in the slot its stored row names.
#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
    /// The chain of the case in each slot, beside `rows`; `None` for a case without one.
    chains: Vec<Option<Box<Chain>>>,
    names: Vec<Box<str>>,
    name_ids: HashMap<Box<str>, u32>,
    territories: Vec<Place>,
    territory_ids: HashMap<[u32; 3], u32>,
    unit_sets: Vec<BTreeSet<UnitId>>,
    unit_set_ids: HashMap<Vec<u32>, u32>,
}

impl Table {
    /// Rebuilds the table from the stored rows.
    pub fn load(
        rows: impl Iterator<Item = Result<Vec<u8>, gridcase_sync_core::Error>>,
    ) -> Result<Table, gridcase_sync_core::Error> {
        let mut table = Table::default();
        for stored in rows {
            match read_stored(&stored?) {
                Some((slot, facts)) if slot < MAX_SLOTS => table.put(slot, &facts),
                _ => tracing::warn!("skipping an unreadable indicator row"),
            }
        }
        Ok(table)
    }

    /// The number of slots (one past the highest in use).
    pub fn slots(&self) -> u32 {
        self.rows.len() as u32
    }

    fn name(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NO_NAME };
        if let Some(id) = self.name_ids.get(s) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.name_ids.insert(s.into(), id);
        id
    }

    fn place(&mut self, f: &CaseFacts) -> u32 {
        let street = self.name(f.street.as_deref());
        let community = self.name(f.community.as_deref());
        let grid = self.name(f.grid.as_deref());
        let key = [street, community, grid];
        if let Some(id) = self.territory_ids.get(&key) {
            return *id;
        }
        let id = self.territories.len() as u32;
        let territory = Territory::from_parts(
            f.street.as_deref(),
            f.community.as_deref(),
            f.grid.as_deref(),
        );
        self.territories.push(Place {
            territory,
            street,
            community,
            grid,
        });
        self.territory_ids.insert(key, id);
        id
    }

    fn unit_set(&mut self, units: &[String]) -> u32 {
        let names: Vec<u32> = units.iter().map(|u| self.name(Some(u))).collect();
        if let Some(id) = self.unit_set_ids.get(&names) {
            return *id;
        }
        let id = self.unit_sets.len() as u32;
        self.unit_sets
            .push(units.iter().map(|u| u.as_str().into()).collect());
        self.unit_set_ids.insert(names, id);
        id
    }

    /// Sets the facts of the case in `slot`.
    pub fn put(&mut self, slot: u32, f: &CaseFacts) {
        let row = Row {
            created_at: f.created_at,
            filed_at: f.filed_at.unwrap_or(NONE),
            deadline: f.deadline.unwrap_or(NONE),
            closed_at: f.closed_at.unwrap_or(NONE),
            territory: self.place(f),
            units: self.unit_set(&f.units),
            unit: self.name(f.unit.as_deref()),
            category: self.name(f.category.as_deref()),
            responsible: self.name(f.work.responsible.as_deref()),
            extensions: u16::try_from(f.extensions).unwrap_or(u16::MAX),
            rework_count: u16::try_from(f.rework_count).unwrap_or(u16::MAX),
            verifications: u16::try_from(f.work.verifications).unwrap_or(u16::MAX),
            status: f.status.map_or(NO_CODE, status_code),
            satisfaction: f.satisfaction.map_or(NO_CODE, satisfaction_code),
            call: f.call.encode(),
        };
        let chain = (f.chain != Default::default()).then(|| {
            Box::new(Chain {
                deadline_missed: f.chain.deadline_missed,
                links: f
                    .chain
                    .links
                    .iter()
                    .map(|l| Link {
                        dispatched_at: l.dispatched_at,
                        acknowledged_at: l.acknowledged_at.unwrap_or(NONE),
                        response_due: l.response_due.unwrap_or(NONE),
                        unit: self.name(Some(&l.unit)),
                        returned: l.returned,
                    })
                    .collect(),
            })
        });
        let slot = slot as usize;
        if slot >= self.rows.len() {
            self.rows.resize(slot + 1, Row::EMPTY);
            self.chains.resize(slot + 1, None);
        }
        self.rows[slot] = row;
        self.chains[slot] = chain;
    }

    /// What one case adds to the group `key` of the grouping `by` (`None`: the total) over
    /// `period`: [`Table::compute`] over a table of that case alone, so that the sums of a case
    /// list (the drill-down's `counts`) are made by the very pass that makes the figures.
    pub fn case_indicators(
        f: &CaseFacts,
        by: GroupBy,
        key: Option<&str>,
        period: Period,
    ) -> Indicators {
        let mut one = Table::default();
        one.put(0, f);
        let (mut groups, total) = one.compute(&Scope::District, by, period);
        match key {
            Some(key) => groups.remove(key).unwrap_or_default(),
            None => total,
        }
    }

    /// The indicators of the cases in `scope`, grouped, with their total. A group appears
    /// when a case in scope falls in it, even with nothing to count in the period.
    pub fn compute(
        &self,
        scope: &Scope,
        by: GroupBy,
        period: Period,
    ) -> (BTreeMap<String, Indicators>, Indicators) {
        // Scope is judged once per distinct (place, unit set), by sync-core's rule.
        let mut covered: HashMap<(u32, u32), bool> = HashMap::new();
        let none = self.names.len();
        let mut groups: Vec<Option<Indicators>> = vec![None; none + 1];
        for (row, chain) in self.rows.iter().zip(&self.chains) {
            if row.territory == Row::EMPTY.territory {
                continue;
            }
            let place = &self.territories[row.territory as usize];
            let in_scope = *covered
                .entry((row.territory, row.units))
                .or_insert_with(|| {
                    covers_case(
                        scope,
                        place.territory.as_ref(),
                        &self.unit_sets[row.units as usize],
                    )
                });
            if !in_scope {
                continue;
            }
            let group = match by {
                GroupBy::Unit => row.unit,
                GroupBy::Street => place.street,
                GroupBy::Community => place.community,
                GroupBy::Grid => place.grid,
                GroupBy::Category => row.category,
                GroupBy::Responsible => row.responsible,
            };
            let index = |group: u32| {
                if group == NO_NAME {
                    none
                } else {
                    group as usize
                }
            };
            let chain = chain.as_deref();
            groups[index(group)]
                .get_or_insert_with(Indicators::default)
                .count(row, chain.is_some_and(|c| c.deadline_missed), period);
            // Each dispatch counts for its own unit when grouping by unit; by responsible person,
            // for the current one when it went to the current unit (who had the earlier ones is
            // not kept: they count as none); else for the case's group (place or category).
            let links = chain.map_or(&[][..], |c| &c.links[..]);
            for (i, link) in links.iter().enumerate() {
                let group = match by {
                    GroupBy::Unit => link.unit,
                    GroupBy::Responsible if link.unit != row.unit => NO_NAME,
                    _ => group,
                };
                groups[index(group)]
                    .get_or_insert_with(Indicators::default)
                    .count_link(link, waited_until(row, links, i, period), period);
            }
        }
        let mut total = Indicators::default();
        let mut out = BTreeMap::new();
        for (i, g) in groups.into_iter().enumerate() {
            let Some(g) = g else { continue };
            total.add(&g);
            let name = self.names.get(i).map_or(NO_GROUP, |n| n);
            out.insert(name.to_owned(), g.rates());
        }
        (out, total.rates())
    }
}

/// When the `i`th dispatch stopped waiting for its acknowledgement, were it never given: at
/// the next dispatch; for the last, at `now` while the case is open, or at its closing;
/// [`NONE`] when unknown (a case voided or declined while waiting), which judges nothing.
fn waited_until(row: &Row, links: &[Link], i: usize, p: Period) -> i64 {
    if let Some(next) = links.get(i + 1) {
        return next.dispatched_at;
    }
    match super::row::status_of_code(row.status) {
        Some(s) if s.is_open() => p.now,
        Some(Status::Closed | Status::Evaluated) => row.closed_at,
        _ => NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{facts, ALL_TIME};
    use super::super::row::stored;
    use super::super::LinkFacts;
    use super::*;

    #[test]
    fn counts_follow_the_period_scope_and_latest_facts() {
        let mut t = Table::default();
        t.put(0, &facts("g1", Some("u1"), Some(9_000)));
        t.put(1, &facts("g2", Some("u2"), None));
        t.put(2, &facts("g1", Some("u1"), None));
        // Slot 2's case is closed late: its newer facts replace the old ones.
        t.put(2, &facts("g1", Some("u1"), Some(20_000)));
        t.put(4, &facts("g1", None, None));

        let (groups, total) = t.compute(&Scope::District, GroupBy::Unit, ALL_TIME);
        assert_eq!(total.filed, 4);
        assert_eq!(total.due, 4);
        assert_eq!(total.closed, 2);
        assert_eq!(total.closed_on_time, 1);
        assert_eq!(
            total.overdue, 3,
            "one closed late, two open past the deadline"
        );
        assert_eq!(total.dissatisfied, 2);
        assert_eq!(total.closed_in_period, 2);
        assert_eq!(
            (total.rework, total.verifications),
            (8, 8),
            "the failed verifications of every due case, whether or not it closed"
        );
        assert_eq!(total.rework_rate, Some(1.0));
        assert_eq!(total.extended, 4);
        assert_eq!(groups["u1"].closed, 2);
        assert_eq!(groups["u2"].filed, 1);
        assert_eq!(
            groups["none"].filed, 1,
            "a case without a unit is grouped as none"
        );
        assert_eq!(groups.len(), 3, "the empty slot 3 counts nowhere");

        let grid = Scope::Grids(vec!["g2".into()]);
        let (groups, total) = t.compute(&grid, GroupBy::Grid, ALL_TIME);
        assert_eq!(total.filed, 1);
        assert_eq!(groups.keys().collect::<Vec<_>>(), ["g2"]);
        let (_, total) = t.compute(&Scope::Unit("u1".into()), GroupBy::Category, ALL_TIME);
        assert_eq!(total.filed, 2);

        let early = Period {
            from: 0,
            to: 9_500,
            now: 50_000,
        };
        let (_, total) = t.compute(&Scope::District, GroupBy::Street, early);
        assert_eq!((total.filed, total.due, total.closed), (4, 0, 0));
        assert_eq!(
            total.closed_in_period, 1,
            "throughput, apart from the cohort"
        );
        assert_eq!(total.closing_rate, None, "nothing due: no data, not 0%");
    }

    /// The hotline's rates: first-contact resolution over every case received, and the
    /// public evaluation of the cases closed in the period, a dissatisfied round held against
    /// the unit even when the last round ended well.
    #[test]
    fn the_callback_and_first_contact_rates() {
        use super::super::CallFacts;
        use gridcase_sync_core::event::Satisfaction;
        let mut t = Table::default();
        let mut answered = facts("g1", None, Some(1_500));
        answered.call.answered_directly = true;
        t.put(0, &answered);
        let mut happy_again = facts("g1", Some("u1"), Some(9_000));
        happy_again.call = CallFacts {
            public_satisfaction: Some(Satisfaction::Satisfied),
            public_solved: Some(true),
            ever_dissatisfied: true,
            ..CallFacts::default()
        };
        t.put(1, &happy_again);
        let mut unhappy = facts("g1", Some("u2"), Some(9_500));
        unhappy.call = CallFacts {
            public_satisfaction: Some(Satisfaction::Dissatisfied),
            public_solved: Some(false),
            ever_dissatisfied: true,
            ..CallFacts::default()
        };
        t.put(2, &unhappy);
        t.put(3, &facts("g1", Some("u1"), None));
        let (groups, total) = t.compute(&Scope::District, GroupBy::Unit, ALL_TIME);
        assert_eq!((total.received, total.answered_directly), (4, 1));
        assert_eq!(total.first_contact_rate, Some(0.25));
        assert_eq!(
            total.called_back, 2,
            "the answered consultation is not called back"
        );
        assert_eq!(total.public_satisfaction_rate, Some(0.5));
        assert_eq!(total.public_solved_rate, Some(0.5));
        assert_eq!(total.called_back_dissatisfied, 2);
        assert_eq!(groups["u1"].called_back_dissatisfied, 1);
        assert_eq!(groups["u2"].public_satisfaction_rate, Some(0.0));
    }

    fn link(unit: &str, at: i64, ack: Option<i64>, due: Option<i64>, returned: bool) -> LinkFacts {
        LinkFacts {
            unit: unit.into(),
            dispatched_at: at,
            returned,
            acknowledged_at: ack,
            response_due: due,
        }
    }

    /// Each dispatch counts for its own unit: returns, accurate dispatch, acknowledgement by
    /// the response limit (an unacknowledged dispatch is late once its wait passed the limit:
    /// at `now`, or when the next dispatch ended it) and the mean response.
    #[test]
    fn dispatches_count_for_the_unit_they_went_to() {
        use gridcase_sync_core::Status;
        let mut t = Table::default();
        // Returned by u1 (acknowledged in time), then with u2: not acknowledged, past due.
        let mut bounced = facts("g1", Some("u2"), None);
        bounced.chain.links = vec![
            link("u1", 3_000, Some(3_500), Some(4_000), true),
            link("u2", 5_000, None, Some(6_000), false),
        ];
        t.put(0, &bounced);
        // u1 acknowledged after its limit.
        let mut slow = facts("g2", Some("u1"), None);
        slow.status = Some(Status::InProgress);
        slow.chain.links = vec![link("u1", 20_000, Some(30_000), Some(25_000), false)];
        t.put(1, &slow);
        // u3 still within its limit at `now`: not judged.
        let mut fresh = facts("g2", Some("u3"), None);
        fresh.chain.links = vec![link("u3", 40_000, None, Some(60_000), false)];
        t.put(2, &fresh);
        // u3 never acknowledged, but the case went to u1 before u3's limit: not judged.
        let mut moved = facts("g1", Some("u1"), None);
        moved.chain.links = vec![
            link("u3", 1_000, None, Some(2_000), false),
            link("u1", 1_500, Some(1_600), Some(9_000), false),
        ];
        t.put(3, &moved);

        let (groups, total) = t.compute(&Scope::District, GroupBy::Unit, ALL_TIME);
        let u1 = &groups["u1"];
        assert_eq!((u1.dispatches, u1.returns), (3, 1));
        assert_eq!(u1.return_rate, Some(1.0 / 3.0));
        assert_eq!(u1.accurate_dispatch_rate, Some(2.0 / 3.0));
        assert_eq!((u1.acknowledged, u1.response_judged), (3, 3));
        assert_eq!(u1.acknowledged_on_time_rate, Some(2.0 / 3.0));
        assert_eq!(
            u1.mean_response_minutes,
            Some((500.0 + 10_000.0 + 100.0) / 3.0 / 60_000.0)
        );
        let u2 = &groups["u2"];
        assert_eq!((u2.dispatches, u2.returns, u2.acknowledged), (1, 0, 0));
        assert_eq!(u2.acknowledged_on_time_rate, Some(0.0), "late at now");
        assert_eq!(u2.mean_response_minutes, None);
        let u3 = &groups["u3"];
        assert_eq!((u3.dispatches, u3.response_judged), (2, 0));
        assert_eq!(u3.acknowledged_on_time_rate, None);
        assert_eq!(u3.accurate_dispatch_rate, Some(1.0));
        assert_eq!((total.dispatches, total.returns), (6, 1));
        assert_eq!(total.acknowledged_on_time_rate, Some(2.0 / 4.0));

        // By place, a case's dispatches count for its grid.
        let (groups, _) = t.compute(&Scope::District, GroupBy::Grid, ALL_TIME);
        assert_eq!((groups["g1"].dispatches, groups["g1"].returns), (4, 1));
        assert_eq!(groups["g2"].dispatches, 2);

        // Dispatches made in the period only.
        let later = Period {
            from: 10_000,
            to: 100_000,
            now: 50_000,
        };
        let (groups, total) = t.compute(&Scope::District, GroupBy::Unit, later);
        assert_eq!(total.dispatches, 2);
        assert_eq!(groups["u2"].dispatches, 0, "the case still groups under u2");
        assert_eq!(groups["u2"].return_rate, None);

        // Closed without an acknowledgement: the wait ended at the closing.
        let mut closed = facts("g1", Some("u4"), Some(7_000));
        closed.chain.links = vec![link("u4", 5_000, None, Some(6_000), false)];
        t.put(4, &closed);
        let mut voided = facts("g1", Some("u5"), None);
        voided.status = Some(Status::Voided);
        voided.chain.links = vec![link("u5", 5_000, None, Some(6_000), false)];
        t.put(5, &voided);
        let (groups, _) = t.compute(&Scope::District, GroupBy::Unit, ALL_TIME);
        assert_eq!(groups["u4"].acknowledged_on_time_rate, Some(0.0));
        assert_eq!(
            groups["u5"].response_judged, 0,
            "voided while waiting: when the wait ended is not known"
        );
    }

    /// An overdue that happened stays: a case whose earlier deadline passed while it was open
    /// counts overdue though its new deadline has not passed.
    #[test]
    fn a_missed_deadline_counts_overdue_after_a_new_dispatch() {
        let mut t = Table::default();
        let mut redispatched = facts("g1", Some("u1"), None);
        redispatched.deadline = Some(90_000);
        t.put(0, &redispatched);
        let (_, total) = t.compute(&Scope::District, GroupBy::Unit, ALL_TIME);
        assert_eq!((total.due, total.overdue), (1, 0));
        redispatched.chain.deadline_missed = true;
        t.put(0, &redispatched);
        let (_, total) = t.compute(&Scope::District, GroupBy::Unit, ALL_TIME);
        assert_eq!((total.due, total.overdue), (1, 1));
        // And it survives its stored form.
        let loaded = Table::load(std::iter::once(Ok(stored(0, &redispatched)))).expect("load");
        let (_, total) = loaded.compute(&Scope::District, GroupBy::Unit, ALL_TIME);
        assert_eq!(total.overdue, 1);
    }

    /// 结案 and 按期结案 are counted among the due cases, as of `now`: a case closed after the
    /// period counts as closed (late), one closed in the period but due later counts only as
    /// throughput, and the rates never pass 100%.
    #[test]
    fn closing_is_counted_among_the_due_cases_as_of_now() {
        let mut t = Table::default();
        // Due at 10 s (the fixture): one closed on time, one closed at 20 s.
        t.put(0, &facts("g1", Some("u1"), Some(9_000)));
        t.put(1, &facts("g1", Some("u1"), Some(20_000)));
        // Closed at 9.5 s, due at 50 s: throughput of the period, not due in it.
        let mut later = facts("g1", Some("u1"), Some(9_500));
        later.deadline = Some(50_000);
        t.put(2, &later);
        // Due in the period but held: not due.
        let mut held = facts("g1", Some("u1"), None);
        held.status = Some(Status::Held);
        t.put(3, &held);
        let period = |now| Period {
            from: 5_000,
            to: 15_000,
            now,
        };
        let (groups, total) = t.compute(&Scope::District, GroupBy::Unit, period(50_000));
        assert_eq!((total.due, total.closed, total.closed_on_time), (2, 2, 1));
        assert_eq!(total.closed_in_period, 2);
        assert_eq!(total.closing_rate, Some(1.0));
        assert_eq!(total.on_time_rate, Some(0.5));
        assert_eq!(groups["u1"].overdue, 1);
        // Asked before the late closing: not closed yet.
        let (_, total) = t.compute(&Scope::District, GroupBy::Unit, period(15_000));
        assert_eq!((total.due, total.closed, total.closed_on_time), (2, 1, 1));
        assert_eq!(total.closing_rate, Some(0.5));
    }

    /// By responsible person, a case counts for the person of its current dispatch, and a
    /// dispatch for that person only when it went to the current unit.
    #[test]
    fn cases_group_by_responsible_person() {
        let mut t = Table::default();
        let mut a = facts("g1", Some("u2"), Some(9_000));
        a.work.responsible = Some("张三".into());
        a.work.verifications = 3;
        a.chain.links = vec![
            link("u1", 3_000, Some(3_500), Some(4_000), true),
            link("u2", 5_000, Some(5_100), Some(6_000), false),
        ];
        t.put(0, &a);
        t.put(1, &facts("g1", Some("u1"), None));
        let (groups, total) = t.compute(&Scope::District, GroupBy::Responsible, ALL_TIME);
        let zhang = &groups["张三"];
        assert_eq!((zhang.due, zhang.closed, zhang.dispatches), (1, 1, 1));
        assert_eq!((zhang.rework, zhang.verifications), (2, 3));
        assert_eq!(zhang.rework_rate, Some(2.0 / 3.0));
        assert_eq!(zhang.returns, 0, "u1's return was not this person's");
        assert_eq!((groups[NO_GROUP].due, groups[NO_GROUP].dispatches), (1, 1));
        assert_eq!((total.due, total.dispatches, total.returns), (2, 2, 1));
    }

    #[test]
    fn a_loaded_table_counts_like_the_one_it_was_stored_from() {
        let mut chained = facts("g3", Some("u2"), None);
        chained.chain.deadline_missed = true;
        chained.chain.links = vec![
            link("u1", 3_000, Some(3_500), Some(4_000), true),
            link("u2", 5_000, None, Some(6_000), false),
        ];
        chained.work.responsible = Some("p".into());
        let cases = [facts("g1", Some("u1"), Some(9_000)), chained];
        let mut built = Table::default();
        let mut rows = Vec::new();
        for (slot, f) in cases.iter().enumerate() {
            built.put(slot as u32, f);
            rows.push(Ok(stored(slot as u32, f)));
        }
        rows.push(Ok(vec![1, 2]));
        let loaded = Table::load(rows.into_iter()).expect("load");
        assert_eq!(loaded.slots(), 2);
        for by in GroupBy::ALL {
            let a = built.compute(&Scope::District, by, ALL_TIME);
            let b = loaded.compute(&Scope::District, by, ALL_TIME);
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
    }
}
