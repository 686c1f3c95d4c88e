//! The 综合评价 indicators (`GET /v1/stats`) over a table of per-case facts held in memory.
//!
//! Stats must answer over a whole district's ledger in well under a second, and decoding a
//! million JSON summaries takes seconds. So every case also has a small fixed-width row: the
//! handful of times and codes the indicators count, with its strings interned. The rows live
//! in their own store tree, written by the commit thread in the same atomic batch as the
//! summary (so they are never out of step with it), and in a [`Table`] in memory (about 56
//! bytes a case) that the commit thread updates after each durable commit. A query is one
//! pass over that table.

use crate::summary::CaseSummary;
use gridcase_sync_core::event::Satisfaction;
use gridcase_sync_core::fold;
use gridcase_sync_core::org::Territory;
use gridcase_sync_core::rules::covers_case;
use gridcase_sync_core::{Millis, Scope, Status, UnitId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Condvar, Mutex, PoisonError, RwLock};

/// The store tree of encoded facts, keyed by case.
pub const TREE: &str = "ledger_indicator_facts";

/// What the indicators need to know about one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFacts {
    pub status: Option<Status>,
    pub created_at: Millis,
    pub filed_at: Option<Millis>,
    pub deadline: Option<Millis>,
    pub closed_at: Option<Millis>,
    pub extensions: u32,
    pub rework_count: u32,
    pub satisfaction: Option<Satisfaction>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub grid: Option<String>,
    /// The unit it is counted against: the one it is dispatched to, else the last one named.
    pub unit: Option<String>,
    /// Every unit ever named in filing or dispatch (a unit's scope).
    pub units: Vec<String>,
    pub category: Option<String>,
}

impl CaseFacts {
    pub fn of(s: &CaseSummary) -> CaseFacts {
        CaseFacts {
            status: s.status,
            created_at: s.created_at,
            filed_at: s.filed_at,
            deadline: s.deadline,
            closed_at: s.closed_at,
            extensions: s.extensions,
            rework_count: s.rework_count,
            satisfaction: s.satisfaction,
            street: s.street.clone(),
            community: s.community.clone(),
            grid: s.grid.clone(),
            unit: s.unit.clone().or_else(|| s.units.last().cloned()),
            units: s.units.clone(),
            category: s.category.clone(),
        }
    }

    /// A compact binary form: fixed-width numbers, then length-prefixed strings.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(1); // format version
        for t in [
            Some(self.created_at),
            self.filed_at,
            self.deadline,
            self.closed_at,
        ] {
            out.extend_from_slice(&t.unwrap_or(NONE).to_le_bytes());
        }
        out.push(self.status.map_or(u8::MAX, status_code));
        out.push(self.satisfaction.map_or(u8::MAX, satisfaction_code));
        out.extend_from_slice(&self.extensions.to_le_bytes());
        out.extend_from_slice(&self.rework_count.to_le_bytes());
        for s in [
            &self.street,
            &self.community,
            &self.grid,
            &self.unit,
            &self.category,
        ] {
            put_str(&mut out, s.as_deref());
        }
        out.extend_from_slice(&(self.units.len() as u32).to_le_bytes());
        for u in &self.units {
            put_str(&mut out, Some(u));
        }
        out
    }

    /// The inverse of [`CaseFacts::encode`]; `None` for bytes it did not write.
    pub fn decode(bytes: &[u8]) -> Option<CaseFacts> {
        let mut r = Reader(bytes);
        if r.take(1)?[0] != 1 {
            return None;
        }
        let mut time = || {
            let t = i64::from_le_bytes(r.take(8)?.try_into().ok()?);
            Some((t != NONE).then_some(t))
        };
        let created_at = time()?.unwrap_or(0);
        let (filed_at, deadline, closed_at) = (time()?, time()?, time()?);
        let status = Status::ALL.get(usize::from(r.take(1)?[0])).copied();
        let satisfaction = SATISFACTION.get(usize::from(r.take(1)?[0])).copied();
        let extensions = r.u32()?;
        let rework_count = r.u32()?;
        let (street, community, grid) = (r.str()?, r.str()?, r.str()?);
        let (unit, category) = (r.str()?, r.str()?);
        let n = r.u32()?;
        let mut units = Vec::new();
        for _ in 0..n {
            units.push(r.str()??);
        }
        Some(CaseFacts {
            status,
            created_at,
            filed_at,
            deadline,
            closed_at,
            extensions,
            rework_count,
            satisfaction,
            street,
            community,
            grid,
            unit,
            units,
            category,
        })
    }
}

const NONE: i64 = i64::MIN;
const SATISFACTION: [Satisfaction; 3] = [
    Satisfaction::Satisfied,
    Satisfaction::Basic,
    Satisfaction::Dissatisfied,
];

fn status_code(s: Status) -> u8 {
    Status::ALL.iter().position(|x| *x == s).unwrap_or(255) as u8
}

fn satisfaction_code(s: Satisfaction) -> u8 {
    SATISFACTION.iter().position(|x| *x == s).unwrap_or(255) as u8
}

fn put_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.extend_from_slice(&u16::MAX.to_le_bytes()),
        Some(s) => {
            let b = &s.as_bytes()[..s.len().min(usize::from(u16::MAX - 1))];
            out.extend_from_slice(&(b.len() as u16).to_le_bytes());
            out.extend_from_slice(b);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    /// `Some(None)` for an absent string, `None` for truncated bytes.
    fn str(&mut self) -> Option<Option<String>> {
        let n = u16::from_le_bytes(self.take(2)?.try_into().ok()?);
        if n == u16::MAX {
            return Some(None);
        }
        let b = self.take(usize::from(n))?;
        Some(Some(String::from_utf8_lossy(b).into_owned()))
    }
}

/// Counts and rates for one group.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct Indicators {
    /// 立案数: filed in the period.
    pub filed: u64,
    /// 应结案数: deadline in the period, not held or voided.
    pub due: u64,
    /// 结案数: closed in the period.
    pub closed: u64,
    /// 按期结案数: closed in the period by the deadline.
    pub closed_on_time: u64,
    /// 返工数: failed verifications of the cases closed in the period.
    pub rework: u64,
    /// 超期数: deadline in the period and overdue now (or closed late).
    pub overdue: u64,
    /// 延期数.
    pub extended: u64,
    /// 作废数: created in the period and voided.
    pub voided: u64,
    /// Callbacks with a satisfaction answer, and those satisfied or basically satisfied.
    pub evaluated: u64,
    pub satisfied: u64,
    pub dissatisfied: u64,
    /// 结案率 = closed / due.
    pub closing_rate: Option<f64>,
    /// 按期结案率 = closed_on_time / due.
    pub on_time_rate: Option<f64>,
    /// 返工率 = rework / closed.
    pub rework_rate: Option<f64>,
    /// 满意率 = satisfied / evaluated.
    pub satisfaction_rate: Option<f64>,
}

/// Where one period begins and ends, and the instant "overdue" is judged at.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: Millis,
    /// Exclusive.
    pub to: Millis,
    pub now: Millis,
}

impl Indicators {
    fn count(&mut self, f: &Row, p: Period) {
        let within = |t: i64| t != NONE && t >= p.from && t < p.to;
        let time = |t: i64| (t != NONE).then_some(t);
        let status = Status::ALL.get(usize::from(f.status)).copied();
        if within(f.filed_at) {
            self.filed += 1;
        }
        let held_or_void = matches!(status, Some(Status::Held | Status::Voided));
        if within(f.deadline) && !held_or_void {
            self.due += 1;
            if fold::overdue(status, time(f.deadline), time(f.closed_at), p.now) {
                self.overdue += 1;
            }
            self.extended += u64::from(f.extensions);
        }
        if within(f.closed_at) {
            self.closed += 1;
            self.rework += u64::from(f.rework_count);
            if fold::closed_on_time(time(f.closed_at), time(f.deadline)) == Some(true) {
                self.closed_on_time += 1;
            }
            match SATISFACTION.get(usize::from(f.satisfaction)) {
                Some(Satisfaction::Satisfied | Satisfaction::Basic) => {
                    self.evaluated += 1;
                    self.satisfied += 1;
                }
                Some(Satisfaction::Dissatisfied) => {
                    self.evaluated += 1;
                    self.dissatisfied += 1;
                }
                None => {}
            }
        }
        if status == Some(Status::Voided) && f.created_at >= p.from && f.created_at < p.to {
            self.voided += 1;
        }
    }

    fn add(&mut self, o: &Indicators) {
        self.filed += o.filed;
        self.due += o.due;
        self.closed += o.closed;
        self.closed_on_time += o.closed_on_time;
        self.rework += o.rework;
        self.overdue += o.overdue;
        self.extended += o.extended;
        self.voided += o.voided;
        self.evaluated += o.evaluated;
        self.satisfied += o.satisfied;
        self.dissatisfied += o.dissatisfied;
    }

    fn rates(mut self) -> Self {
        let rate = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        self.closing_rate = rate(self.closed, self.due);
        self.on_time_rate = rate(self.closed_on_time, self.due);
        self.rework_rate = rate(self.rework, self.closed);
        self.satisfaction_rate = rate(self.satisfied, self.evaluated);
        self
    }
}

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
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "unit" => GroupBy::Unit,
            "street" => GroupBy::Street,
            "community" => GroupBy::Community,
            "grid" => GroupBy::Grid,
            "category" => GroupBy::Category,
            _ => return None,
        })
    }
}

/// One case in memory: times as ms (or [`NONE`]), codes as indexes, strings interned.
#[derive(Debug, Clone, Copy)]
struct Row {
    created_at: i64,
    filed_at: i64,
    deadline: i64,
    closed_at: i64,
    /// Index into [`Table::territories`].
    territory: u32,
    /// Index into [`Table::unit_sets`].
    units: u32,
    /// Indexes into [`Table::names`], or [`NO_NAME`].
    unit: u32,
    category: u32,
    extensions: u16,
    rework_count: u16,
    status: u8,
    satisfaction: u8,
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
    names: Vec<Box<str>>,
    name_ids: HashMap<Box<str>, u32>,
    territories: Vec<Place>,
    territory_ids: HashMap<[u32; 3], u32>,
    unit_sets: Vec<BTreeSet<UnitId>>,
    unit_set_ids: HashMap<Vec<u32>, u32>,
}

/// The stored form of one case's row: its slot, then its facts.
pub fn stored(slot: u32, facts: &CaseFacts) -> Vec<u8> {
    let mut out = slot.to_le_bytes().to_vec();
    out.extend_from_slice(&facts.encode());
    out
}

/// The slot a stored row names.
pub fn slot_of(stored: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(stored.get(..4)?.try_into().ok()?))
}

impl Table {
    /// Rebuilds the table from the stored rows.
    pub fn load(
        rows: impl Iterator<Item = Result<Vec<u8>, gridcase_sync_core::Error>>,
    ) -> Result<Table, gridcase_sync_core::Error> {
        let mut table = Table::default();
        for stored in rows {
            let stored = stored?;
            let facts = slot_of(&stored).zip(stored.get(4..).and_then(CaseFacts::decode));
            match facts {
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
            extensions: u16::try_from(f.extensions).unwrap_or(u16::MAX),
            rework_count: u16::try_from(f.rework_count).unwrap_or(u16::MAX),
            status: f.status.map_or(u8::MAX, status_code),
            satisfaction: f.satisfaction.map_or(u8::MAX, satisfaction_code),
        };
        let slot = slot as usize;
        if slot >= self.rows.len() {
            self.rows.resize(slot + 1, Row::EMPTY);
        }
        self.rows[slot] = row;
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
        for row in &self.rows {
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
            };
            let slot = if group == NO_NAME {
                none
            } else {
                group as usize
            };
            groups[slot]
                .get_or_insert_with(Indicators::default)
                .count(row, period);
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

/// The table as the server holds it: loaded from the store in the background after start-up
/// (a million rows take about a second), while commits go on. Commits that arrive while it
/// loads are kept and applied after the loaded rows, which they are newer than; queries wait
/// until it is ready.
pub struct LiveTable {
    state: RwLock<Live>,
    ready: (Mutex<bool>, Condvar),
}

enum Live {
    Loading(Vec<(u32, CaseFacts)>),
    Ready(Box<Table>),
    Failed(String),
}

impl LiveTable {
    pub fn loading() -> LiveTable {
        LiveTable {
            state: RwLock::new(Live::Loading(Vec::new())),
            ready: (Mutex::new(false), Condvar::new()),
        }
    }

    /// Applies the rows of a durable commit, in commit order.
    pub fn apply(&self, rows: Vec<(u32, CaseFacts)>) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        match &mut *state {
            Live::Loading(pending) => pending.extend(rows),
            Live::Ready(table) => {
                for (slot, f) in rows {
                    table.put(slot, &f);
                }
            }
            Live::Failed(_) => {}
        }
    }

    /// Ends the load: the loaded table, then what was committed meanwhile.
    pub fn finish(&self, loaded: Result<Table, String>) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let pending = match std::mem::replace(&mut *state, Live::Failed(String::new())) {
            Live::Loading(pending) => pending,
            _ => Vec::new(),
        };
        *state = match loaded {
            Ok(mut table) => {
                for (slot, f) in pending {
                    table.put(slot, &f);
                }
                Live::Ready(Box::new(table))
            }
            Err(e) => Live::Failed(e),
        };
        drop(state);
        let (flag, wake) = &self.ready;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
    }

    /// Whether the load has ended.
    pub fn is_ready(&self) -> bool {
        *self.ready.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`Table::compute`], once the table is loaded; the error names why it could not load.
    pub fn compute(
        &self,
        scope: &Scope,
        by: GroupBy,
        period: Period,
    ) -> Result<(BTreeMap<String, Indicators>, Indicators), String> {
        let (flag, wake) = &self.ready;
        let mut ready = flag.lock().unwrap_or_else(PoisonError::into_inner);
        while !*ready {
            ready = wake.wait(ready).unwrap_or_else(PoisonError::into_inner);
        }
        drop(ready);
        match &*self.state.read().unwrap_or_else(PoisonError::into_inner) {
            Live::Ready(table) => Ok(table.compute(scope, by, period)),
            Live::Failed(e) => Err(e.clone()),
            Live::Loading(_) => Err("the indicator table is still loading".into()),
        }
    }
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
        extensions: 0,
        rework_count: 0,
        status: u8::MAX,
        satisfaction: u8::MAX,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(grid: &str, unit: Option<&str>, closed: Option<Millis>) -> CaseFacts {
        CaseFacts {
            status: Some(if closed.is_some() {
                Status::Closed
            } else {
                Status::Dispatched
            }),
            created_at: 1_000,
            filed_at: Some(2_000),
            deadline: Some(10_000),
            closed_at: closed,
            extensions: 1,
            rework_count: 2,
            satisfaction: closed.map(|_| Satisfaction::Dissatisfied),
            street: Some("s1".into()),
            community: Some("c1".into()),
            grid: Some(grid.into()),
            unit: unit.map(Into::into),
            units: unit.into_iter().map(Into::into).collect(),
            category: Some("E0101".into()),
        }
    }

    const ALL_TIME: Period = Period {
        from: 0,
        to: 100_000,
        now: 50_000,
    };

    #[test]
    fn facts_survive_their_stored_form_and_truncation_is_refused() {
        let f = facts("g1", Some("u1"), Some(12_000));
        let bytes = stored(7, &f);
        assert_eq!(slot_of(&bytes), Some(7));
        assert_eq!(CaseFacts::decode(&bytes[4..]), Some(f.clone()));
        for cut in 0..bytes.len() - 4 {
            assert_eq!(CaseFacts::decode(&bytes[4..4 + cut]), None, "cut at {cut}");
        }
        let mut bare = facts("g1", None, None);
        bare.street = None;
        bare.status = None;
        assert_eq!(CaseFacts::decode(&bare.encode()), Some(bare));
    }

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
        assert_eq!(total.rework, 4);
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
        assert_eq!((total.filed, total.due, total.closed), (4, 0, 1));
    }

    #[test]
    fn commits_made_while_the_table_loads_win_over_the_rows_it_read() {
        let live = std::sync::Arc::new(LiveTable::loading());
        assert!(!live.is_ready());
        let asked = {
            let live = live.clone();
            std::thread::spawn(move || live.compute(&Scope::District, GroupBy::Grid, ALL_TIME))
        };
        // Slot 0 was read open by the loader, then closed by a commit during the load.
        live.apply(vec![(0, facts("g1", Some("u1"), Some(9_000)))]);
        let mut read = Table::default();
        read.put(0, &facts("g1", Some("u1"), None));
        read.put(1, &facts("g2", Some("u2"), None));
        live.finish(Ok(read));
        let (_, total) = asked.join().expect("the query waited").expect("ready");
        assert_eq!((total.filed, total.closed), (2, 1));
        live.apply(vec![(2, facts("g3", None, None))]);
        let (groups, _) = live
            .compute(&Scope::District, GroupBy::Grid, ALL_TIME)
            .expect("ready");
        assert!(
            groups.contains_key("g3"),
            "commits after the load apply at once"
        );

        let failed = LiveTable::loading();
        failed.finish(Err("disk on fire".into()));
        let err = failed
            .compute(&Scope::District, GroupBy::Grid, ALL_TIME)
            .expect_err("a failed load is an error, not empty figures");
        assert!(err.contains("disk on fire"));
    }

    #[test]
    fn a_loaded_table_counts_like_the_one_it_was_stored_from() {
        let cases = [
            facts("g1", Some("u1"), Some(9_000)),
            facts("g3", Some("u2"), None),
        ];
        let mut built = Table::default();
        let mut rows = Vec::new();
        for (slot, f) in cases.iter().enumerate() {
            built.put(slot as u32, f);
            rows.push(Ok(stored(slot as u32, f)));
        }
        rows.push(Ok(vec![1, 2]));
        let loaded = Table::load(rows.into_iter()).expect("load");
        assert_eq!(loaded.slots(), 2);
        let a = built.compute(&Scope::District, GroupBy::Grid, ALL_TIME);
        let b = loaded.compute(&Scope::District, GroupBy::Grid, ALL_TIME);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
}
