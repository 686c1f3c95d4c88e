//! Duplicate suggestions for whoever takes a report: before a new case is opened, the open cases
//! it may repeat. Ten callers report the same burst pipe; the desk should add to the first case
//! (or decline the new one as a duplicate) rather than dispatch ten crews.
//!
//! A case is suggested when it is open, of the report's category (when one is given), created
//! in the last [`WINDOW_MS`], in the caller's scope, and either within [`RADIUS_M`] of the
//! report's coordinates or at the same address (as the address register compares them:
//! spacing, width and case do not matter). Found through the query index: the open cases of
//! the 9 cells around the point (`query_index::GeoCell`, with the category) and those at the
//! address, each newest first until the window ends; the summary decides, as for every list.

use super::summary_in_scope;
use crate::auth::{now_millis, Caller};
use crate::error::{Error, Result};
use crate::query_index::{self, GeoCell, Term};
use crate::summary::CaseSummary;
use crate::AppState;
use gridcase_sync_core::{limits, rules, ActionKind, CaseId, CategoryCode, Millis, Status};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// How near an open case must be to be suggested, in metres.
pub const RADIUS_M: f64 = 50.0;

/// How recent an open case must be to be suggested: 30 days.
pub const WINDOW_MS: Millis = 30 * 24 * 3_600_000;

/// The most suggestions one answer holds.
pub const SUGGESTIONS_MAX: usize = 10;

/// How many entries of each term are read at once on an engine a round trip away: most
/// cells hold fewer open cases of a category in the window.
const HEAD_ENTRIES: usize = 64;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicateQuery {
    /// The new report's category (`C0101`): only cases of it are suggested. Normally given.
    pub category: Option<String>,
    /// The new report's longitude, with `lat`.
    pub lon: Option<f64>,
    /// The new report's latitude, with `lon`.
    pub lat: Option<f64>,
    /// The new report's address (at most 500 characters): cases at the same address are
    /// suggested wherever their coordinates put them. Give it, the coordinates, or both.
    pub address: Option<String>,
}

/// An open case the new report may repeat.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Duplicate {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub overdue: bool,
    /// Metres from the report's coordinates, when both have coordinates.
    pub distance_m: Option<f64>,
    /// Whether its address is the report's.
    pub same_address: bool,
}

/// A checked [`DuplicateQuery`]: what a case is compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub category: Option<CategoryCode>,
    /// (longitude, latitude)
    pub point: Option<(f64, f64)>,
    /// The address, normalized as the address register compares addresses.
    pub place: Option<String>,
}

impl Report {
    /// Reads a query: a category that is a code, both coordinates or neither, on the earth,
    /// an address within bounds; and a point or an address to compare with.
    pub fn read(query: &DuplicateQuery) -> Result<Report> {
        let category = match &query.category {
            Some(c) => Some(
                CategoryCode::parse(c.trim())
                    .ok_or_else(|| Error::BadRequest(format!("bad category {c}")))?,
            ),
            None => None,
        };
        let point = match (query.lon, query.lat) {
            (Some(lon), Some(lat)) => {
                if GeoCell::of(lon, lat).is_none() {
                    return Err(Error::BadRequest(format!(
                        "({lon}, {lat}) is no place: longitude -180 to 180, latitude -90 to 90"
                    )));
                }
                Some((lon, lat))
            }
            (None, None) => None,
            _ => {
                return Err(Error::BadRequest(
                    "give both lon and lat, or neither".into(),
                ))
            }
        };
        let place = match &query.address {
            Some(a) => {
                limits::check_text("address", a, limits::ADDRESS)
                    .map_err(|v| Error::BadRequest(v.message))?;
                Some(crate::addresses::normalize(a)).filter(|p| !p.is_empty())
            }
            None => None,
        };
        if point.is_none() && place.is_none() {
            return Err(Error::BadRequest(
                "give the new report's coordinates (lon and lat) or its address".into(),
            ));
        }
        Ok(Report {
            category,
            point,
            place,
        })
    }

    /// Whether a case is suggested for this report at `now` (scope aside): `Some` with its
    /// distance in metres (when both have coordinates), else `None`.
    pub fn suggests(&self, s: &CaseSummary, now: Millis) -> Option<Option<f64>> {
        if !s.status.is_some_and(Status::is_open) || !recent(s.created_at, now) {
            return None;
        }
        if let Some(c) = &self.category {
            if s.category.as_deref() != Some(c.as_str()) {
                return None;
            }
        }
        let distance = self.point.zip(s.coordinates).map(|(a, b)| metres(a, b));
        let near = distance.is_some_and(|d| d <= RADIUS_M);
        (near || self.same_place(s)).then_some(distance)
    }

    fn same_place(&self, s: &CaseSummary) -> bool {
        self.place.is_some()
            && self.place.as_deref()
                == s.address
                    .as_deref()
                    .map(crate::addresses::normalize)
                    .as_deref()
    }

    /// The index terms to walk: the cells around the point (with the category, when given)
    /// and the address.
    fn terms(&self) -> Vec<Term> {
        let mut terms: Vec<Term> = self
            .point
            .map(|(lon, lat)| GeoCell::around(lon, lat))
            .unwrap_or_default()
            .into_iter()
            .map(|cell| Term::OpenCell(cell, self.category.clone()))
            .collect();
        if let Some(place) = self.place.as_deref().and_then(query_index::place_key) {
            terms.push(Term::OpenPlace(place));
        }
        terms
    }
}

/// Whether a case created at `created` is recent enough at `now` to be suggested: within
/// [`WINDOW_MS`] before `now` (a handheld's clock may put it a little after).
pub fn recent(created: Millis, now: Millis) -> bool {
    created >= now.saturating_sub(WINDOW_MS)
}

/// Metres between two (longitude, latitude) points on a sphere of 6,371 km (haversine).
pub fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.1.to_radians(), b.1.to_radians());
    let (dlat, dlon) = (lat2 - lat1, (b.0 - a.0).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().min(1.0).asin()
}

/// The open cases a new report may repeat, in the caller's scope: nearest first (those found
/// by address alone, without coordinates, after them), newest first among equals; at most
/// [`SUGGESTIONS_MAX`]. For readers who take reports, the same roles as the address search.
pub fn duplicates(
    state: &AppState,
    caller: &Caller,
    query: &DuplicateQuery,
) -> Result<Vec<Duplicate>> {
    caller.require_reader()?;
    if !rules::may_ever(caller.user.role, ActionKind::Intake) {
        return Err(Error::Forbidden(format!(
            "role {} takes no reports",
            caller.user.role.as_str()
        )));
    }
    let report = Report::read(query)?;
    let now = now_millis();
    // Until a ledger from before search has its terms, the category's cases (or every case),
    // newest first, still end at the window.
    let terms = if state.ledger.search_index_complete()? {
        report.terms()
    } else {
        vec![report.category.clone().map_or(Term::All, Term::Category)]
    };
    // A round trip away, every term's entries in the window first (the first HEAD_ENTRIES of
    // each in one read, the rest, rarely any, term by term), then their summaries in one
    // read, each case once; else each term's entries and summaries as they come.
    let (mut entries, mut fetched) = if state.ledger.read_ahead() > 1 {
        let (entries, fetched) = read_ahead(state, &terms, now)?;
        (Some(entries), Some(fetched))
    } else {
        (None, None)
    };
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let walk: Box<dyn Iterator<Item = Result<query_index::Entry>>> = match &mut entries {
            Some(entries) => Box::new(std::mem::take(&mut entries[i]).into_iter().map(Ok)),
            None => Box::new(state.ledger.index_scan(term, None)),
        };
        for entry in walk {
            let (suffix, case) = entry?;
            if query_index::created_of(&suffix).is_none_or(|created| !recent(created, now)) {
                break;
            }
            if seen.contains(&case) {
                continue;
            }
            // Entries may be stale (the index is a superset): the summary decides.
            let fresh = |s: &CaseSummary| suffix == query_index::suffix(s);
            let s = match &mut fetched {
                Some(fetched) => match fetched.get(&case) {
                    Some(s) if fresh(s) => fetched.remove(&case),
                    _ => None,
                },
                None => state.ledger.summary(&case)?.filter(fresh),
            };
            let Some(s) = s else {
                continue;
            };
            seen.insert(case);
            if !summary_in_scope(&caller.user.scope, &s) {
                continue;
            }
            if let Some(distance) = report.suggests(&s, now) {
                found.push(Duplicate {
                    overdue: s.overdue_at(now),
                    same_address: report.same_place(&s),
                    distance_m: distance,
                    summary: s,
                });
            }
        }
    }
    found.sort_by(|a, b| {
        let far = |d: &Duplicate| d.distance_m.unwrap_or(f64::INFINITY);
        far(a)
            .total_cmp(&far(b))
            .then(b.summary.created_at.cmp(&a.summary.created_at))
    });
    found.truncate(SUGGESTIONS_MAX);
    Ok(found)
}

/// Summaries by case.
type Summaries = HashMap<CaseId, CaseSummary>;

/// Each term's entries in the window at `now` (one list per term, newest first) and the
/// summaries of their cases, read in as few reads as they can be: the first [`HEAD_ENTRIES`]
/// of every term in one, the rest of a term with more on its own, the summaries in one.
fn read_ahead(
    state: &AppState,
    terms: &[Term],
    now: Millis,
) -> Result<(Vec<Vec<query_index::Entry>>, Summaries)> {
    let heads = state.ledger.index_heads(terms, None, HEAD_ENTRIES)?;
    let mut entries = Vec::with_capacity(terms.len());
    for (term, head) in terms.iter().zip(heads) {
        let full = head.len() == HEAD_ENTRIES;
        let after = head.last().map(|(suffix, _)| suffix.clone());
        let mut list = Vec::with_capacity(head.len());
        let in_window =
            |suffix: &[u8]| query_index::created_of(suffix).is_some_and(|c| recent(c, now));
        let mut ended = false;
        for entry in head {
            if !in_window(&entry.0) {
                ended = true;
                break;
            }
            list.push(entry);
        }
        if full && !ended {
            for entry in state.ledger.index_scan(term, after) {
                let entry = entry?;
                if !in_window(&entry.0) {
                    break;
                }
                list.push(entry);
            }
        }
        entries.push(list);
    }
    let mut ids: Vec<CaseId> = Vec::new();
    let mut asked = HashSet::new();
    for (_, case) in entries.iter().flatten() {
        if asked.insert(case) {
            ids.push(case.clone());
        }
    }
    let summaries = state.ledger.summaries_of(&ids)?;
    let fetched = ids
        .into_iter()
        .zip(summaries)
        .filter_map(|(case, s)| Some((case, s?)))
        .collect();
    Ok((entries, fetched))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Millis = 24 * 3_600_000;

    fn query(
        category: Option<&str>,
        point: Option<(f64, f64)>,
        address: Option<&str>,
    ) -> DuplicateQuery {
        DuplicateQuery {
            category: category.map(str::to_owned),
            lon: point.map(|p| p.0),
            lat: point.map(|p| p.1),
            address: address.map(str::to_owned),
        }
    }

    /// An open case of C0101 at (116.4, 39.9), `南池子大街12号`, created at `created`.
    fn case(created: Millis) -> CaseSummary {
        serde_json::from_value(serde_json::json!({
            "id": "019a-case", "status": "dispatched", "step": 3,
            "street": "s1", "community": "c1", "grid": "g1", "unit": "u1",
            "units": ["u1"], "category": "C0101", "level": "general",
            "channel": "hotline", "description": "井盖缺失",
            "address": "南池子大街12号", "coordinates": [116.4, 39.9],
            "created_at": created, "filed_at": null, "dispatched_at": null,
            "deadline": null, "closed_at": null, "rework_count": 0, "extensions": 0,
            "satisfaction": null, "events": 3, "open_conflicts": 0,
            "flagged_events": 0, "updated_at": created
        }))
        .expect("a summary")
    }

    /// (lon, lat) `m` metres east of (116.4, 39.9).
    fn east(m: f64) -> (f64, f64) {
        (116.4 + m / (111_194.9 * 39.9_f64.to_radians().cos()), 39.9)
    }

    #[test]
    fn the_window_is_thirty_days() {
        let now = 100 * DAY;
        assert!(recent(now, now));
        assert!(recent(now - 30 * DAY, now));
        assert!(!recent(now - 30 * DAY - 1, now));
        assert!(recent(now + 60_000, now), "a clock a little ahead");
        assert!(recent(i64::MIN + 1, i64::MIN + 2), "no overflow");
    }

    #[test]
    fn an_open_case_of_the_category_near_or_at_the_address_is_suggested() {
        let now = 100 * DAY;
        let s = case(now - DAY);
        let near = Report::read(&query(Some("C0101"), Some(east(45.0)), None)).expect("read");
        let d = near
            .suggests(&s, now)
            .expect("suggested")
            .expect("a distance");
        assert!((d - 45.0).abs() < 0.5, "{d}");
        let far = Report::read(&query(Some("C0101"), Some(east(80.0)), None)).expect("read");
        assert_eq!(far.suggests(&s, now), None);
        // Far, but at the same address however it is written.
        let there = Report::read(&query(
            Some("C0101"),
            Some(east(80.0)),
            Some(" 南池子大街１２号"),
        ))
        .expect("read");
        assert!(there.suggests(&s, now).is_some());
        let by_address = Report::read(&query(None, None, Some("南池子大街12号"))).expect("read");
        assert_eq!(by_address.suggests(&s, now), Some(None));
        // Another category, closed, or older than the window: not suggested.
        let other = Report::read(&query(Some("E0101"), Some(east(1.0)), None)).expect("read");
        assert_eq!(other.suggests(&s, now), None);
        let mut closed = case(now - DAY);
        closed.status = Some(Status::Closed);
        assert_eq!(near.suggests(&closed, now), None);
        assert_eq!(near.suggests(&case(now - 31 * DAY), now), None);
        assert!(near.suggests(&case(now - 29 * DAY), now).is_some());
    }

    #[test]
    fn a_query_needs_a_place_and_reads_strictly() {
        for bad in [
            query(Some("C0101"), None, None),
            query(Some("C01"), Some((116.4, 39.9)), None),
            query(None, Some((200.0, 39.9)), None),
            query(None, Some((f64::NAN, 39.9)), None),
            query(None, None, Some(" ，")),
            DuplicateQuery {
                lon: Some(116.4),
                ..DuplicateQuery::default()
            },
            query(None, None, Some(&"路".repeat(501))),
        ] {
            assert!(
                matches!(Report::read(&bad), Err(Error::BadRequest(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_terms_are_nine_cells_with_the_category_and_the_address() {
        let report = Report::read(&query(
            Some("C0101"),
            Some((116.4, 39.9)),
            Some("南池子大街 12号"),
        ))
        .expect("read");
        let terms = report.terms();
        assert_eq!(terms.len(), 10);
        let c = CategoryCode::parse("C0101");
        assert!(terms[..9]
            .iter()
            .all(|t| matches!(t, Term::OpenCell(_, cat) if *cat == c)));
        assert_eq!(terms[9], Term::OpenPlace("南池子大街12号".into()));
    }

    #[test]
    fn metres_are_haversine() {
        assert!(metres((116.4, 39.9), (116.4, 39.9)) < 1e-9);
        let one_degree = metres((0.0, 0.0), (0.0, 1.0));
        assert!((one_degree - 111_194.9).abs() < 1.0, "{one_degree}");
        let d = metres((116.4, 39.9), east(50.0));
        assert!((d - 50.0).abs() < 0.1, "{d}");
    }
}
