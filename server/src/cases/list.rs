//! Finding cases: filtered pages of the cases a caller may see, walking the query index
//! (`query_index`) or looking a case number up, the numbers of cases a device holds, and the
//! review queue of conflicts and flagged events.

use super::{summary_in_scope, REVIEWERS};
use crate::auth::{now_millis, Caller};
use crate::case_number;
use crate::error::{Error, Result};
use crate::query_index::{self, Term};
use crate::summary::CaseSummary;
use crate::AppState;
use gridcase_sync_core::fold::{fold, Conflict};
use gridcase_sync_core::{CaseId, CategoryCode, Event, Level, Scope, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    pub status: Option<String>,
    pub step: Option<u8>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub grid: Option<String>,
    pub unit: Option<String>,
    pub category: Option<String>,
    pub level: Option<String>,
    pub overdue: Option<bool>,
    pub has_conflict: Option<bool>,
    /// Created at or after (ms since the epoch).
    pub created_from: Option<i64>,
    /// Created before (ms since the epoch).
    pub created_to: Option<i64>,
    /// Text in the description.
    pub q: Option<String>,
    /// A case number (`DC-20261130-0042`; spacing, width, case and the sequence's leading
    /// zeros do not matter): the case given it, if the caller may see it and it passes the
    /// other filters. An exact lookup, on one page.
    pub number: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

impl CaseFilter {
    /// The index term to walk: the most selective filter given, else the caller's scope.
    /// `None` when the filter names a status, category or level no case can have (only its
    /// exact stored name matches), so that nothing matches.
    fn driver(&self, scope: &Scope) -> Option<Term> {
        if let Some(grid) = &self.grid {
            return Some(Term::Grid(grid.as_str().into()));
        }
        if let Some(unit) = &self.unit {
            return Some(Term::Unit(unit.as_str().into()));
        }
        if let Some(community) = &self.community {
            return Some(Term::Community(community.as_str().into()));
        }
        if let Some(street) = &self.street {
            return Some(Term::Street(street.as_str().into()));
        }
        if let Some(category) = &self.category {
            return CategoryCode::parse(category).map(Term::Category);
        }
        if self.has_conflict == Some(true) {
            return Some(Term::Conflict(true));
        }
        if let Some(status) = &self.status {
            return Status::parse(status).map(Term::Status);
        }
        if let Some(level) = &self.level {
            return Level::parse(level)
                .filter(|l| l.as_str() == level)
                .map(Term::Level);
        }
        if let Some(step) = self.step {
            return Some(Term::Step(step));
        }
        Some(match scope {
            Scope::Grids(gs) if gs.len() == 1 => Term::Grid(gs[0].clone()),
            Scope::Community(c) => Term::Community(c.clone()),
            Scope::Street(s) => Term::Street(s.clone()),
            Scope::Unit(u) => Term::Unit(u.clone()),
            _ => Term::All,
        })
    }

    fn matches(&self, s: &CaseSummary, now: i64) -> bool {
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
            && self.overdue.is_none_or(|o| o == s.overdue_at(now))
            && self
                .has_conflict
                .is_none_or(|c| c == (s.open_conflicts > 0))
            && self.created_from.is_none_or(|f| s.created_at >= f)
            && self.created_to.is_none_or(|t| s.created_at < t)
            && self.q.as_deref().is_none_or(|q| s.description.contains(q))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseListItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseListItem {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub overdue: bool,
}

/// One page of the cases the caller may see that match the filter, walking the query index.
pub fn list_page(state: &AppState, caller: &Caller, filter: &CaseFilter) -> Result<CasePage> {
    caller.require_reader()?;
    let now = now_millis();
    let limit = filter.limit.unwrap_or(50).clamp(1, 500);
    let after = match &filter.cursor {
        Some(c) => Some(hex::decode(c).map_err(|_| Error::BadRequest("bad cursor".into()))?),
        None => None,
    };
    if let Some(number) = &filter.number {
        return by_number(state, caller, filter, number, now);
    }
    let mut cases = Vec::new();
    let Some(term) = filter.driver(&caller.user.scope) else {
        return Ok(CasePage { cases, next: None });
    };
    let mut last = None;
    let mut more = false;
    for entry in state.ledger.index_scan(&term, after) {
        let (suffix, case) = entry?;
        let Some(s) = state.ledger.summary(&case)? else {
            continue;
        };
        // Entries may be stale (the index is a superset): the summary decides.
        if suffix != query_index::suffix(&s)
            || !summary_in_scope(&caller.user.scope, &s)
            || !filter.matches(&s, now)
        {
            continue;
        }
        if cases.len() == limit {
            more = true;
            break;
        }
        last = Some(suffix);
        cases.push(CaseListItem {
            overdue: s.overdue_at(now),
            summary: s,
        });
    }
    let next = if more { last.map(hex::encode) } else { None };
    Ok(CasePage { cases, next })
}

/// The page of a number search: the one case given the number, when the caller may see it
/// and it passes the other filters. Text that does not read as a number finds nothing.
fn by_number(
    state: &AppState,
    caller: &Caller,
    filter: &CaseFilter,
    number: &str,
    now: i64,
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
        if summary_in_scope(&caller.user.scope, &s) && filter.matches(&s, now) {
            cases.push(CaseListItem {
                overdue: s.overdue_at(now),
                summary: s,
            });
        }
    }
    Ok(CasePage { cases, next: None })
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
