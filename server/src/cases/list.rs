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
use std::collections::{BTreeMap, HashSet};

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

/// Entries of a term, newest first.
type Entries = Vec<query_index::Entry>;

/// What the planner chose: the terms to walk, rarest first, and what it read of them.
struct Plan {
    terms: Vec<Term>,
    /// When it weighed the terms, the first entries it read of each (in `terms`' order), and
    /// whether they are all of them; else empty.
    heads: Vec<(Entries, bool)>,
}

/// The terms to walk, rarest first: the planner reads up to [`PROBE_ENTRIES`] entries of
/// each from `after` (on an engine a round trip away, all in one read: `Ledger::index_heads`)
/// and orders them by [`Weight::rarer`]. `all` is never weighed (every other term is rarer);
/// an empty term makes the answer empty (`None`).
fn plan(state: &AppState, terms: Vec<Term>, after: Option<&[u8]>) -> Result<Option<Plan>> {
    let mut terms: Vec<Term> = terms.into_iter().filter(|t| *t != Term::All).collect();
    terms.sort_by_key(Term::prefix);
    terms.dedup();
    if terms.is_empty() {
        return Ok(Some(Plan {
            terms: vec![Term::All],
            heads: Vec::new(),
        }));
    }
    if terms.len() == 1 {
        return Ok(Some(Plan {
            terms,
            heads: Vec::new(),
        }));
    }
    // A round trip away, every term's entries in one read; else term by term, to stop at an
    // empty one.
    let mut heads = if state.ledger.read_ahead() > 1 {
        state.ledger.index_heads(&terms, after, PROBE_ENTRIES)?
    } else {
        Vec::new()
    }
    .into_iter();
    let mut weighed = Vec::with_capacity(terms.len());
    for term in terms {
        let entries = match heads.next() {
            Some(entries) => entries,
            None => state
                .ledger
                .index_heads(std::slice::from_ref(&term), after, PROBE_ENTRIES)?
                .pop()
                .unwrap_or_default(),
        };
        let weight = Weight {
            exhausted: entries.len() < PROBE_ENTRIES,
            entries: entries.len(),
            reach: entries
                .last()
                .map(|(suffix, _)| suffix.clone())
                .unwrap_or_default(),
        };
        if weight.exhausted && weight.entries == 0 {
            return Ok(None);
        }
        weighed.push((weight, term, entries));
    }
    weighed.sort_by(|a, b| a.0.rarer(&b.0));
    let (terms, heads) = weighed
        .into_iter()
        .map(|(weight, term, entries)| (term, (entries, weight.exhausted)))
        .unzip();
    Ok(Some(Plan { terms, heads }))
}

/// The walked term's entries from where the walk starts (after those the planner read).
enum Walk<'a> {
    /// Read as they are checked (`Ledger::index_scan`): local reads.
    Lazy(Box<dyn Iterator<Item = Result<query_index::Entry>> + 'a>),
    /// Read a batch at a time, each batch in one read (`Ledger::index_heads`): a round trip
    /// away.
    Batched {
        read: std::vec::IntoIter<query_index::Entry>,
        /// The suffix of the last entry read, where the next read starts (`None`: the start).
        after: Option<Vec<u8>>,
        /// Every entry has been read.
        exhausted: bool,
    },
}

impl Walk<'_> {
    /// The next `size` entries of `term`, up to the first for which `stop` holds (that one and
    /// those after it never); and whether the walk ended (at the end of the term, or at
    /// `stop`).
    fn next_batch(
        &mut self,
        state: &AppState,
        term: &Term,
        size: usize,
        stop: impl Fn(&[u8]) -> bool,
    ) -> Result<(Entries, bool)> {
        let mut batch = Vec::with_capacity(size.min(PROBE_ENTRIES));
        match self {
            Walk::Lazy(entries) => {
                while batch.len() < size {
                    let Some(entry) = entries.next() else {
                        return Ok((batch, true));
                    };
                    let entry = entry?;
                    if stop(&entry.0) {
                        return Ok((batch, true));
                    }
                    batch.push(entry);
                }
            }
            Walk::Batched {
                read,
                after,
                exhausted,
            } => {
                batch.extend(read.by_ref().take(size));
                if batch.len() < size && !*exhausted {
                    let want = size - batch.len();
                    let more = state
                        .ledger
                        .index_heads(std::slice::from_ref(term), after.as_deref(), want)?
                        .pop()
                        .unwrap_or_default();
                    *exhausted = more.len() < want;
                    if let Some((suffix, _)) = more.last() {
                        *after = Some(suffix.clone());
                    }
                    batch.extend(more);
                }
                if let Some(old) = batch.iter().position(|(suffix, _)| stop(suffix)) {
                    batch.truncate(old);
                    return Ok((batch, true));
                }
                if batch.len() < size {
                    return Ok((batch, true));
                }
            }
        }
        Ok((batch, false))
    }
}

/// How many candidates of the walked term to check next, in one batch, when the page still
/// needs `need` more (counting the one that tells there is a next page), after `examined`
/// candidates gave `admitted` cases. Never more than `need` when reads are local
/// (`read_ahead` 1: then no candidate is read that checking one at a time would not have
/// read); a round trip away, as many as the rate so far says the page needs, a quarter more,
/// up to `read_ahead`.
fn batch_size(need: usize, examined: usize, admitted: usize, read_ahead: usize) -> usize {
    if read_ahead <= 1 || examined == 0 {
        return need;
    }
    let guess = match need.saturating_mul(examined).checked_div(admitted) {
        Some(at_that_rate) => at_that_rate.saturating_mul(5) / 4 + 1,
        None => examined.saturating_mul(4),
    };
    guess.clamp(need, read_ahead.max(need))
}

/// How many terms besides the one walked a candidate's index entries are checked under before
/// its summary is read (a point lookup each, cheaper than reading and parsing the summary;
/// batched, `Ledger::index_has_many`).
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
        Some(c) => Some(query_index::cursor_suffix(
            hex::decode(c).map_err(|_| Error::BadRequest("bad cursor".into()))?,
        )),
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
    let Some(plan) = plan(state, terms, after.as_deref())? else {
        return Ok(admit.page(cases, None));
    };
    let (walked, checked) = plan.terms.split_at(1);
    let checked = &checked[..checked.len().min(CHECKED_TERMS)];
    let read_ahead = state.ledger.read_ahead();
    let mut heads = plan.heads.into_iter();
    // The walked term's entries: those the planner read, then the rest from the index.
    let mut walk = match heads.next() {
        Some((head, true)) if read_ahead <= 1 => Walk::Lazy(Box::new(head.into_iter().map(Ok))),
        Some((head, false)) if read_ahead <= 1 => {
            let from = head.last().map(|(suffix, _)| suffix.clone()).or(after);
            Walk::Lazy(Box::new(
                head.into_iter()
                    .map(Ok)
                    .chain(state.ledger.index_scan(&walked[0], from)),
            ))
        }
        None if read_ahead <= 1 => Walk::Lazy(Box::new(state.ledger.index_scan(&walked[0], after))),
        Some((head, exhausted)) => Walk::Batched {
            after: head.last().map(|(suffix, _)| suffix.clone()).or(after),
            read: head.into_iter(),
            exhausted,
        },
        None => Walk::Batched {
            read: Vec::new().into_iter(),
            after,
            exhausted: false,
        },
    };
    // A checked term whose every entry the planner read is checked against those.
    let checks: Vec<(&Term, Option<HashSet<Vec<u8>>>)> = checked
        .iter()
        .map(|term| {
            let known = heads
                .next()
                .filter(|(_, exhausted)| *exhausted)
                .map(|(entries, _)| entries.into_iter().map(|(suffix, _)| suffix).collect());
            (term, known)
        })
        .collect();
    // Older than the window: so is every entry after it.
    let too_old = |suffix: &[u8]| {
        filter
            .created_from
            .zip(query_index::created_of(suffix))
            .is_some_and(|(from, created)| created < from)
    };
    let (mut examined, mut admitted) = (0, 0);
    let mut last = None;
    let mut more = false;
    // Candidates are checked a batch at a time (each term's index entries of the batch in one
    // read, then the summaries of those left in one), in walk order, so the page, its order
    // and its cursor are those of checking one at a time.
    'walk: loop {
        let size = batch_size(limit + 1 - cases.len(), examined, admitted, read_ahead);
        let (mut batch, ended) = walk.next_batch(state, &walked[0], size, too_old)?;
        examined += batch.len();
        for (term, known) in &checks {
            if batch.is_empty() {
                break;
            }
            match known {
                Some(known) => batch.retain(|(suffix, _)| known.contains(suffix)),
                None => {
                    let has = state
                        .ledger
                        .index_has_many(term, batch.iter().map(|(suffix, _)| suffix.as_slice()))?;
                    let mut has = has.into_iter();
                    batch.retain(|_| has.next().unwrap_or(false));
                }
            }
        }
        let ids: Vec<CaseId> = batch.iter().map(|(_, case)| case.clone()).collect();
        let summaries = state.ledger.summaries_of(&ids)?;
        for ((suffix, _), s) in batch.into_iter().zip(summaries) {
            let Some(s) = s else {
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
                break 'walk;
            }
            last = Some(suffix);
            cases.push(item);
            admitted += 1;
        }
        if ended {
            break;
        }
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
    fn a_batch_holds_what_the_page_needs_and_reads_ahead_only_a_round_trip_away() {
        // Local reads: never more candidates than the page still needs, whatever the rate.
        for (examined, admitted) in [(0, 0), (500, 0), (500, 3), (60, 50)] {
            assert_eq!(batch_size(51, examined, admitted, 1), 51);
        }
        // A round trip away: the page's need first, then by the rate so far, within bounds.
        assert_eq!(batch_size(51, 0, 0, 1024), 51);
        assert_eq!(
            batch_size(40, 60, 10, 1024),
            301,
            "4 in 10 went, a quarter more"
        );
        assert_eq!(
            batch_size(51, 51, 0, 1024),
            204,
            "none yet: four times as many"
        );
        assert_eq!(batch_size(51, 900, 0, 1024), 1024);
        assert_eq!(batch_size(10, 100, 99, 1024), 13);
        assert_eq!(batch_size(2, 10, 10, 1024), 3);
        assert_eq!(batch_size(501, 10, 1, 300), 501, "never less than the need");
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
