//! Finding cases: filtered pages of the cases a caller may see, walking the query index
//! (`query_index`) or looking a case number up, the numbers of cases a device holds, and the
//! review queue of conflicts and flagged events.

use super::{summary_in_scope, REVIEWERS};
use crate::auth::{now_millis, Caller};
use crate::case_number;
use crate::error::{Error, Result};
use crate::indicators::{CaseFacts, Cohort, GroupBy, Indicators, Period, Table, NO_GROUP};
use crate::query_index::{self, Term};
use crate::search_text::TextQuery;
use crate::summary::CaseSummary;
use crate::AppState;
use gridcase_sync_core::fold::{fold, Conflict};
use gridcase_sync_core::{CaseId, CategoryCode, Event, Level, Scope, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The filters of a case list. All given filters must hold.
///
/// To add one: its field here (build it elsewhere with `..CaseFilter::default()`), its check in
/// [`CaseFilter::matches`], and, when the query index has a term every matching case is found
/// under, that term in [`CaseFilter::implied_terms`] (the planner then walks it when it is the
/// most selective). A filter answered by a lookup of its own (like `number`) gets a branch in
/// [`list_page`] like [`by_number`].
///
/// The filters after `created_to` read a case as the indicators count it (e.g. 应结案 of unit
/// u1: `due_from`, `due_to`, `held_or_voided=false`, `counted_unit=u1`), judged by the
/// indicators' cohort rules (`indicators::Cohort`). The drill-down (`console::drill`) names a
/// figure's list with `figure` and its period and group: the cases the indicators' own pass
/// counts in it, each with what it adds (`counts`).
#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
    /// Any unit ever named in its filing or a dispatch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// 超期 now: past a deadline in force (or closed after it), or a deadline in force passed
    /// while it was open (the indicators' `overdue`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_conflict: Option<bool>,
    /// Only cases escalated to the supervisor (督办) (`true`), or never escalated (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalated: Option<bool>,
    /// Created at or after (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_from: Option<i64>,
    /// Created before (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_to: Option<i64>,
    /// The unit the indicators count the case for (`GET /v1/stats?by=unit`): the unit it is
    /// dispatched to now, else the last one named (`unit` is any unit ever named).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counted_unit: Option<String>,
    /// 责任人: the responsible person the current dispatch names (the indicators' group
    /// `by=responsible`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible: Option<String>,
    /// Its deadline in force now is at or after (ms since the epoch): with `due_to`, 应结案.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_from: Option<i64>,
    /// Its deadline in force now is before (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_to: Option<i64>,
    /// Filed (立案) at or after (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filed_from: Option<i64>,
    /// Filed before (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filed_to: Option<i64>,
    /// Closed (结案) at or after (ms since the epoch); a reopened case is not closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_from: Option<i64>,
    /// Closed before (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_to: Option<i64>,
    /// Held (挂账), voided (作废) or declined now (`true`), or none of them (`false`: the cases
    /// 应结案 counts; `indicators::outside_due_cohort`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_or_voided: Option<bool>,
    /// Closed as of now (`true`: a closing not undone by a reopening, at or before now), or
    /// not (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
    /// Closed by its deadline, no deadline in force having passed while it was open
    /// (`true`: 按期结案), or closed late (`false`); an open case is neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_on_time: Option<bool>,
    /// Failed a verification at least once (返工) (`true`), or never (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reworked: Option<bool>,
    /// Extended (延期) at least once (`true`), or never (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended: Option<bool>,
    /// A consultation answered at intake (直接答复) (`true`), or not (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_directly: Option<bool>,
    /// A callback, in any round, found the caller dissatisfied or the problem not solved
    /// (`true`), or none did (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ever_dissatisfied: Option<bool>,
    /// A figure of the indicators: a count of `GET /v1/stats` (`due`, `closed_on_time`,
    /// `verifications`, `rework`, `extended`, `dispatches`, `returns`, `response_judged`,
    /// `acknowledged`, `called_back`, `evaluated`, ...; or `response_ms`): only the cases that
    /// add to it over [`figure_from`, `figure_to`) for the group `figure_group` of the grouping
    /// `figure_by` (the total without them), as the indicators' own pass counts them (the
    /// drill-down of the performance page). Each case listed then carries its `counts` and the
    /// page their sums, so the figure is the sum of its list's `counts[figure]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figure: Option<String>,
    /// The period of `figure` starts at (ms since the epoch; default: the beginning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figure_from: Option<i64>,
    /// The period of `figure` ends before (ms since the epoch; default: no end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figure_to: Option<i64>,
    /// The grouping of `figure_group`, as `GET /v1/stats?by=` (unit, street, community, grid,
    /// category, responsible). By unit, a dispatch counts for the unit it went to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figure_by: Option<String>,
    /// The group of `figure`: a key of the groups of `GET /v1/stats?by=figure_by` (`none`: the
    /// cases without one); the total without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figure_group: Option<String>,
    /// Text in the description: Chinese anywhere in it ("路灯" finds "小区路灯不亮"), letters
    /// and digits as whole words ("led" finds "LED屏", not "sled"); width and case do not
    /// matter. Only the first 2,000 characters of a description are searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Text in the address as reported, matched like `q`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// A case number (`DC-20261130-0042`; spacing, width, case and the sequence's leading
    /// zeros do not matter): the case given it, if the caller may see it and it passes the
    /// other filters. An exact lookup, on one page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// A caller's telephone number, as typed: the cases it called about (newest first, one
    /// page of at most `limit`) that pass the other filters. Only the hotline desk (district
    /// and street centers), which sees callers, may search by phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Page size, 1–500 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The text filters of a [`CaseFilter`], tokenized once per request.
struct Texts {
    q: Option<TextQuery>,
    address: Option<TextQuery>,
}

impl Texts {
    fn of(filter: &CaseFilter) -> Texts {
        Texts {
            q: filter.q.as_deref().map(TextQuery::new),
            address: filter.address.as_deref().map(TextQuery::new),
        }
    }
}

impl CaseFilter {
    /// Index terms that every case passing the filter in this scope is found under: each a
    /// superset of the answer, any one of them enough to walk. The filter's own terms, the
    /// scope's (else `all`), and, once the ledger's search index is complete (`search`), the
    /// tokens of the text filters. `None` when the filter names a status, category or level no
    /// case can have (only its exact stored name matches), so that nothing matches.
    fn implied_terms(&self, scope: &Scope, texts: &Texts, search: bool) -> Option<Vec<Term>> {
        let mut terms = Vec::new();
        if let Some(grid) = &self.grid {
            terms.push(Term::Grid(grid.as_str().into()));
        }
        if let Some(unit) = &self.unit {
            terms.push(Term::Unit(unit.as_str().into()));
        }
        // The counted unit is the one dispatched to now or one named: always among `units`,
        // whose every member the case is indexed under.
        if let Some(unit) = &self.counted_unit {
            terms.push(Term::Unit(unit.as_str().into()));
        }
        if let Some(community) = &self.community {
            terms.push(Term::Community(community.as_str().into()));
        }
        // A figure's group by place, unit or category: every case adding to it lies there, or
        // names the unit (each unit of a dispatch, and the counted one, is among `units`).
        if let (Some(by), Some(group)) = (&self.figure_by, &self.figure_group) {
            let group = group.as_str();
            match GroupBy::parse(by) {
                _ if group == NO_GROUP => {}
                Some(GroupBy::Unit) => terms.push(Term::Unit(group.into())),
                Some(GroupBy::Street) => terms.push(Term::Street(group.into())),
                Some(GroupBy::Community) => terms.push(Term::Community(group.into())),
                Some(GroupBy::Grid) => terms.push(Term::Grid(group.into())),
                Some(GroupBy::Category) => {
                    terms.extend(CategoryCode::parse(group).map(Term::Category));
                }
                Some(GroupBy::Responsible) | None => {}
            }
        }
        if let Some(street) = &self.street {
            terms.push(Term::Street(street.as_str().into()));
        }
        if let Some(category) = &self.category {
            terms.push(Term::Category(CategoryCode::parse(category)?));
        }
        if let Some(conflict) = self.has_conflict {
            terms.push(Term::Conflict(conflict));
        }
        if self.escalated == Some(true) {
            terms.push(Term::Escalated);
        }
        if let Some(status) = &self.status {
            terms.push(Term::Status(Status::parse(status)?));
        }
        if let Some(level) = &self.level {
            terms.push(Term::Level(
                Level::parse(level).filter(|l| l.as_str() == level)?,
            ));
        }
        if let Some(step) = self.step {
            terms.push(Term::Step(step));
        }
        terms.push(match scope {
            Scope::Grids(gs) if gs.len() == 1 => Term::Grid(gs[0].clone()),
            Scope::Community(c) => Term::Community(c.clone()),
            Scope::Street(s) => Term::Street(s.clone()),
            Scope::Unit(u) => Term::Unit(u.clone()),
            _ => Term::All,
        });
        if search {
            let probes = |q: Option<&TextQuery>, term: fn(String) -> Term| {
                q.map_or_else(Vec::new, |q| {
                    q.probes()
                        .into_iter()
                        .take(TEXT_PROBES)
                        .map(|t| term(t.to_owned()))
                        .collect()
                })
            };
            terms.extend(probes(texts.q.as_ref(), Term::Text));
            terms.extend(probes(texts.address.as_ref(), Term::Address));
        }
        Some(terms)
    }

    fn matches(&self, s: &CaseSummary, now: i64, texts: &Texts) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        eq(&self.status, s.status.map(Status::as_str))
            && self.step.is_none_or(|st| st == s.step)
            && eq(&self.street, s.street.as_deref())
            && eq(&self.community, s.community.as_deref())
            && eq(&self.grid, s.grid.as_deref())
            && self
                .unit
                .as_deref()
                .is_none_or(|u| s.units.iter().any(|x| x == u))
            && eq(&self.category, s.category.as_deref())
            && eq(&self.level, s.level.as_deref())
            && self
                .has_conflict
                .is_none_or(|c| c == (s.open_conflicts > 0))
            && self.escalated.is_none_or(|e| e == (s.escalations > 0))
            && self.created_from.is_none_or(|f| s.created_at >= f)
            && self.created_to.is_none_or(|t| s.created_at < t)
            && self.matches_drill(s, now)
            && texts.q.as_ref().is_none_or(|q| q.matches(&s.description))
            && texts
                .address
                .as_ref()
                .is_none_or(|a| s.address.as_deref().is_some_and(|have| a.matches(have)))
    }
}

impl CaseFilter {
    /// The drill-down filters: what the indicators count a case for (`indicators::formulas`),
    /// read from its summary as the indicator row reads it (`CaseFacts::of`).
    fn matches_drill(&self, s: &CaseSummary, now: i64) -> bool {
        let window = |from: Option<i64>, to: Option<i64>| {
            (from.is_some() || to.is_some())
                .then(|| (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX)))
        };
        let counted_unit = s.counted_unit();
        let fits = self
            .counted_unit
            .as_deref()
            .is_none_or(|u| counted_unit == Some(u))
            && self
                .responsible
                .as_deref()
                .is_none_or(|r| s.responsible.as_deref() == Some(r))
            && self.reworked.is_none_or(|r| r == (s.rework_count > 0))
            && self.extended.is_none_or(|e| e == (s.extensions > 0))
            && self
                .answered_directly
                .is_none_or(|a| a == s.answered_directly)
            && self
                .ever_dissatisfied
                .is_none_or(|d| d == s.ever_dissatisfied);
        if !fits {
            return false;
        }
        // The cohorts, judged by the indicators' own rules on the facts their row is made of.
        let c = Cohort::of(&CaseFacts::of(s));
        window(self.due_from, self.due_to).is_none_or(|(f, t)| c.deadline_within(f, t))
            && window(self.filed_from, self.filed_to).is_none_or(|(f, t)| c.filed_within(f, t))
            && window(self.closed_from, self.closed_to).is_none_or(|(f, t)| c.closed_within(f, t))
            && self.held_or_voided.is_none_or(|h| h == c.held_or_voided())
            && self.closed.is_none_or(|want| want == c.closed_by(now))
            && self
                .closed_on_time
                .is_none_or(|o| c.closed_on_time() == Some(o))
            && self.overdue.is_none_or(|o| o == c.overdue_at(now))
    }

    /// The figure this list makes (`figure`, its period and group), checked once a request.
    fn figure(&self, now: i64) -> Result<Option<FigureQuery>> {
        let Some(figure) = &self.figure else {
            if self.figure_by.is_some() || self.figure_group.is_some() {
                return Err(Error::BadRequest(
                    "figure_by and figure_group name the group of a figure: give figure".into(),
                ));
            }
            return Ok(None);
        };
        if Indicators::default().count_of(figure).is_none() {
            return Err(Error::BadRequest(format!(
                "figure: {figure} is not a count of the indicators"
            )));
        }
        let by = match (&self.figure_by, &self.figure_group) {
            (Some(by), Some(_)) => GroupBy::parse(by)
                .ok_or_else(|| Error::BadRequest(format!("figure_by: cannot group by {by}")))?,
            (None, None) => GroupBy::Unit,
            _ => {
                return Err(Error::BadRequest(
                    "figure_by and figure_group go together".into(),
                ))
            }
        };
        Ok(Some(FigureQuery {
            figure: figure.clone(),
            by,
            group: self.figure_group.clone(),
            period: Period {
                from: self.figure_from.unwrap_or(i64::MIN),
                to: self.figure_to.unwrap_or(i64::MAX),
                now,
            },
        }))
    }
}

/// What a request's list admits: its filter, judged at `now`, with its text queries tokenized
/// and its figure checked once.
struct Admit<'a> {
    filter: &'a CaseFilter,
    now: i64,
    texts: Texts,
    figure: Option<FigureQuery>,
}

impl Admit<'_> {
    /// The item of a case the filter admits (its figure's counts with it), or `None`.
    fn item(&self, s: CaseSummary) -> Option<CaseListItem> {
        if !self.filter.matches(&s, self.now, &self.texts) {
            return None;
        }
        let counts = match &self.figure {
            Some(f) => Some(f.counts(&s)?),
            None => None,
        };
        Some(CaseListItem {
            overdue: s.overdue_at(self.now),
            summary: s,
            counts,
        })
    }

    /// A page of these items.
    fn page(&self, cases: Vec<CaseListItem>, next: Option<String>) -> CasePage {
        CasePage::of(cases, next, self.figure.is_some())
    }
}

/// A figure of the indicators a list makes: which count, of which group, over which period.
struct FigureQuery {
    figure: String,
    by: GroupBy,
    group: Option<String>,
    period: Period,
}

impl FigureQuery {
    /// What the case adds to the figure's group over its period (the counts it adds to, zero
    /// ones left out), when it adds to the figure; `None` when it does not.
    fn counts(&self, s: &CaseSummary) -> Option<BTreeMap<String, u64>> {
        let facts = CaseFacts::of(s);
        let added = Table::case_indicators(&facts, self.by, self.group.as_deref(), self.period);
        if added.count_of(&self.figure).unwrap_or(0) == 0 {
            return None;
        }
        Some(
            added
                .counts()
                .into_iter()
                .filter(|(_, v)| *v > 0)
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }
}

/// The most tokens of one text filter the planner weighs (a long query has many; any one is
/// enough to walk, and weighing each costs a short scan).
const TEXT_PROBES: usize = 12;

/// How many entries of each candidate term the planner reads to weigh it.
const PROBE_ENTRIES: usize = 256;

/// What the planner learned of one term from where the walk starts: how many entries it read
/// (all of them when `exhausted`), and the suffix of the last one (how far back in time
/// [`PROBE_ENTRIES`] entries reach: the farther, the sparser the term).
struct Weight {
    exhausted: bool,
    entries: usize,
    reach: Vec<u8>,
}

impl Weight {
    /// Rarer first: a term with few entries in all, fewest first, then the others by how far
    /// back their first entries reach, farthest first (suffixes grow older).
    fn rarer(&self, other: &Weight) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        match (self.exhausted, other.exhausted) {
            (true, true) => self.entries.cmp(&other.entries),
            (true, false) => Less,
            (false, true) => Greater,
            (false, false) => other.reach.cmp(&self.reach),
        }
    }
}

/// The terms to walk, rarest first: the planner reads up to [`PROBE_ENTRIES`] entries of
/// each from `after` and orders them by [`Weight::rarer`]. `all` is never weighed (every other
/// term is rarer); an empty term makes the answer empty (`None`).
fn plan(state: &AppState, terms: Vec<Term>, after: Option<&[u8]>) -> Result<Option<Vec<Term>>> {
    let mut terms: Vec<Term> = terms.into_iter().filter(|t| *t != Term::All).collect();
    terms.sort_by_key(Term::prefix);
    terms.dedup();
    if terms.is_empty() {
        return Ok(Some(vec![Term::All]));
    }
    if terms.len() == 1 {
        return Ok(Some(terms));
    }
    let mut weighed = Vec::with_capacity(terms.len());
    for term in terms {
        let mut weight = Weight {
            exhausted: true,
            entries: 0,
            reach: Vec::new(),
        };
        for entry in state
            .ledger
            .index_scan(&term, after.map(<[u8]>::to_vec))
            .take(PROBE_ENTRIES)
        {
            weight.reach = entry?.0;
            weight.entries += 1;
        }
        weight.exhausted = weight.entries < PROBE_ENTRIES;
        if weight.exhausted && weight.entries == 0 {
            return Ok(None);
        }
        weighed.push((weight, term));
    }
    weighed.sort_by(|a, b| a.0.rarer(&b.0));
    Ok(Some(weighed.into_iter().map(|(_, t)| t).collect()))
}

/// How many terms besides the one walked a candidate's index entries are checked under before
/// its summary is read (a point lookup each, cheaper than reading and parsing the summary).
const CHECKED_TERMS: usize = 4;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseListItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
    /// With `figure`: the sums of the page's cases' `counts` (add the pages: the sums of the
    /// whole list are the figures of `GET /v1/stats`, e.g. `verifications` and `rework` of a
    /// list of `figure=verifications` make its 返工率).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<BTreeMap<String, u64>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseListItem {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub overdue: bool,
    /// With `figure`: what this case adds to the counts of the indicators (field of
    /// `Indicators` → number; zero ones left out) for the figure's group and period: its
    /// verifications, extensions, dispatches, returns, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<BTreeMap<String, u64>>,
}

impl CasePage {
    /// A page of these cases, with the sums of their counts when they carry them.
    fn of(cases: Vec<CaseListItem>, next: Option<String>, figure: bool) -> CasePage {
        let counts = figure.then(|| {
            let mut sums = BTreeMap::new();
            for c in cases.iter().filter_map(|c| c.counts.as_ref()) {
                for (k, v) in c {
                    *sums.entry(k.clone()).or_insert(0) += v;
                }
            }
            sums
        });
        CasePage {
            cases,
            next,
            counts,
        }
    }
}

/// One page of the cases the caller may see that match the filter, walking the query index:
/// the rarest of the terms every match is found under ([`plan`]), newest first, each candidate
/// checked under the next rarest and then against its summary.
pub fn list_page(state: &AppState, caller: &Caller, filter: &CaseFilter) -> Result<CasePage> {
    caller.require_reader()?;
    let now = now_millis();
    let limit = filter.limit.unwrap_or(50).clamp(1, 500);
    let admit = Admit {
        filter,
        now,
        figure: filter.figure(now)?,
        texts: Texts::of(filter),
    };
    let mut after = match &filter.cursor {
        Some(c) => Some(hex::decode(c).map_err(|_| Error::BadRequest("bad cursor".into()))?),
        None => None,
    };
    if let Some(number) = &filter.number {
        return by_number(state, caller, number, &admit);
    }
    if let Some(phone) = &filter.phone {
        return by_phone(state, caller, phone, limit, &admit);
    }
    // Entries run newest first: those created at or after `created_to` come before any match.
    if let Some(to) = filter.created_to {
        let newest = u64::MAX - u64::try_from(to.max(0)).unwrap_or(0);
        let start = newest.to_be_bytes().to_vec();
        if after.as_ref().is_none_or(|a| *a < start) {
            after = Some(start);
        }
    }
    let mut cases = Vec::new();
    let search = state.ledger.search_index_complete()?;
    let Some(terms) = filter.implied_terms(&caller.user.scope, &admit.texts, search) else {
        return Ok(admit.page(cases, None));
    };
    let Some(terms) = plan(state, terms, after.as_deref())? else {
        return Ok(admit.page(cases, None));
    };
    let (walked, checked) = terms.split_at(1);
    let checked = &checked[..checked.len().min(CHECKED_TERMS)];
    let mut last = None;
    let mut more = false;
    'walk: for entry in state.ledger.index_scan(&walked[0], after) {
        let (suffix, case) = entry?;
        // Older than the window: so is every entry after it.
        if let (Some(from), Some(created)) = (filter.created_from, query_index::created_of(&suffix))
        {
            if created < from {
                break;
            }
        }
        for term in checked {
            if !state.ledger.index_has(term, &suffix)? {
                continue 'walk;
            }
        }
        let Some(s) = state.ledger.summary(&case)? else {
            continue;
        };
        // Entries may be stale (the index is a superset): the summary decides.
        if suffix != query_index::suffix(&s) || !summary_in_scope(&caller.user.scope, &s) {
            continue;
        }
        let Some(item) = admit.item(s) else {
            continue;
        };
        if cases.len() == limit {
            more = true;
            break;
        }
        last = Some(suffix);
        cases.push(item);
    }
    let next = if more { last.map(hex::encode) } else { None };
    Ok(admit.page(cases, next))
}

/// The page of a number search: the one case given the number, when the caller may see it
/// and it passes the other filters. Text that does not read as a number finds nothing.
fn by_number(
    state: &AppState,
    caller: &Caller,
    number: &str,
    admit: &Admit<'_>,
) -> Result<CasePage> {
    let mut cases = Vec::new();
    let found = match case_number::parse(number) {
        Some(number) => state.ledger.numbered(&number)?,
        None => None,
    };
    if let Some(s) = found
        .map(|c| state.ledger.summary(&c))
        .transpose()?
        .flatten()
    {
        if summary_in_scope(&caller.user.scope, &s) {
            cases.extend(admit.item(s));
        }
    }
    Ok(admit.page(cases, None))
}

/// The cases a telephone number called about that pass the filter: one page, newest first,
/// through the caller register's phone index (`cases::cases_of_phone` decides who may ask).
fn by_phone(
    state: &AppState,
    caller: &Caller,
    phone: &str,
    limit: usize,
    admit: &Admit<'_>,
) -> Result<CasePage> {
    let query = super::PhoneQuery {
        phone: phone.to_owned(),
        limit: Some(super::callers::PHONE_CASES_MAX),
    };
    let cases = super::cases_of_phone(state, caller, &query)?
        .into_iter()
        .filter_map(|item| admit.item(item.summary))
        .take(limit)
        .collect();
    Ok(admit.page(cases, None))
}

/// The most cases one request may ask the numbers of.
pub const NUMBERS_MAX: usize = 500;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NumbersQuery {
    /// Case ids, at most 500.
    pub cases: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseNumbers {
    /// Case id → its number, for each case asked about that the caller may see and the
    /// ledger has numbered. The others are left out alike, unknown or not.
    pub numbers: BTreeMap<String, String>,
}

/// The numbers of cases, for a handheld that made or received them before the ledger numbered
/// them: only those of cases the caller may see now, so that an id names no case outside it.
pub fn numbers_of(state: &AppState, caller: &Caller, cases: &[String]) -> Result<CaseNumbers> {
    caller.require_reader()?;
    if cases.len() > NUMBERS_MAX {
        return Err(Error::TooLarge(format!(
            "{} cases in one request; the limit is {NUMBERS_MAX}",
            cases.len()
        )));
    }
    let mut numbers = BTreeMap::new();
    for id in cases {
        let Some(s) = state.ledger.summary(&CaseId::new(id.as_str()))? else {
            continue;
        };
        if !summary_in_scope(&caller.user.scope, &s) {
            continue;
        }
        if let Some(number) = s.number {
            numbers.insert(id.clone(), number);
        }
    }
    Ok(CaseNumbers { numbers })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewItem {
    pub case: CaseSummary,
    pub conflicts: Vec<Conflict>,
    /// Events flagged on arrival (author's permission changed while offline).
    pub flagged: Vec<String>,
}

/// The review queue in the caller's scope: cases with open conflicts or flagged events.
pub fn review_items(state: &AppState, caller: &Caller) -> Result<Vec<ReviewItem>> {
    Ok(review_entries(state, caller)?
        .into_iter()
        .map(|(item, _)| item)
        .collect())
}

/// The review queue with each case's events, which the console names its conflicts with.
pub fn review_entries(state: &AppState, caller: &Caller) -> Result<Vec<(ReviewItem, Vec<Event>)>> {
    caller.require_role(REVIEWERS)?;
    let mut items = Vec::new();
    for entry in state.ledger.index_scan(&Term::Review, None) {
        let (_, id) = entry?;
        let Some(s) = state.ledger.summary(&id)? else {
            continue;
        };
        if (s.open_conflicts == 0 && s.flagged_events == 0)
            || !summary_in_scope(&caller.user.scope, &s)
        {
            continue;
        }
        let Some(doc) = state.ledger.load(&id)? else {
            continue;
        };
        let events = doc.events()?;
        let folded = fold(&events, &state.ledger.calendar);
        let flagged = state
            .ledger
            .receipts(&id)?
            .into_iter()
            .filter(|(_, r)| r.flag.is_some())
            .map(|(e, _)| e)
            .collect();
        let item = ReviewItem {
            case: s,
            conflicts: folded.open_conflicts().cloned().collect(),
            flagged,
        };
        items.push((item, events));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weight(exhausted: bool, entries: usize, reach: u8) -> Weight {
        Weight {
            exhausted,
            entries,
            reach: vec![reach],
        }
    }

    #[test]
    fn a_term_with_few_entries_is_rarer_then_one_reaching_farther_back() {
        let mut weights = [
            weight(false, 256, 10),
            weight(true, 40, 200),
            weight(false, 256, 90),
            weight(true, 3, 5),
        ];
        weights.sort_by(Weight::rarer);
        let order: Vec<(usize, u8)> = weights.iter().map(|w| (w.entries, w.reach[0])).collect();
        assert_eq!(order, [(3, 5), (40, 200), (256, 90), (256, 10)]);
    }

    #[test]
    fn a_filter_implies_its_terms_its_scope_and_once_indexed_its_tokens() {
        let filter = CaseFilter {
            status: Some("dispatched".into()),
            q: Some("路灯 LED".into()),
            address: Some("大街12号".into()),
            ..CaseFilter::default()
        };
        let texts = Texts::of(&filter);
        let scope = Scope::Street("s1".into());
        let before = filter.implied_terms(&scope, &texts, false).expect("terms");
        assert_eq!(
            before,
            [Term::Status(Status::Dispatched), Term::Street("s1".into())]
        );
        let after = filter.implied_terms(&scope, &texts, true).expect("terms");
        for t in [
            Term::Text("路灯".into()),
            Term::Text("led".into()),
            Term::Address("街12".into()),
            Term::Address("12号".into()),
        ] {
            assert!(after.contains(&t), "{t:?} in {after:?}");
        }
        assert!(!after.contains(&Term::Text("路".into())), "inside a pair");
        // A status no case can have: nothing matches.
        let nothing = CaseFilter {
            status: Some("DISPATCHED".into()),
            ..CaseFilter::default()
        };
        assert_eq!(nothing.implied_terms(&scope, &texts, true), None);
    }
}
