//! The open cases in memory, what the work queues read (`cases::queue`): for every open case
//! the few facts a queue sorts and sections by, kept current by the commit thread after each
//! durable commit, and loaded from the summaries in the background at start-up. A queue then
//! filters a few hundred bytes per open case instead of reading summaries from disk; it reads
//! from disk only the summaries it lists.
//!
//! While the load runs, commits already apply: a case a commit wrote is never overwritten by
//! what the load read of it earlier (a closed one is remembered as closed until the load ends),
//! so the map is exact once [`OpenCases::loaded`].

use crate::summary::CaseSummary;
use gridcase_sync_core::fold::{overdue, response_late};
use gridcase_sync_core::org::Territory;
use gridcase_sync_core::rules::covers_case;
use gridcase_sync_core::{Millis, Scope, Status, UnitId};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

/// What a queue knows of one open case.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCase {
    pub id: String,
    pub status: Status,
    pub created_at: Millis,
    pub deadline: Option<Millis>,
    pub territory: Option<Territory>,
    /// The unit it is dispatched to now.
    pub unit: Option<UnitId>,
    /// Every unit ever named (a unit's scope).
    pub units: BTreeSet<UnitId>,
    pub returns: u32,
    pub lead: bool,
    pub extension_requested: bool,
    pub dispatched_by: Option<Scope>,
    pub acknowledged_at: Option<Millis>,
    pub response_due: Option<Millis>,
    pub deadline_missed: bool,
    pub escalations: u32,
}

impl OpenCase {
    /// The queue's facts of a summary; `None` for a case that is not open.
    pub fn of(s: &CaseSummary) -> Option<OpenCase> {
        let status = s.status.filter(|st| st.is_open())?;
        Some(OpenCase {
            id: s.id.clone(),
            status,
            created_at: s.created_at,
            deadline: s.deadline,
            territory: Territory::from_parts(
                s.street.as_deref(),
                s.community.as_deref(),
                s.grid.as_deref(),
            ),
            unit: s.unit.as_deref().map(UnitId::from),
            units: s.units.iter().map(|u| UnitId::from(u.as_str())).collect(),
            returns: s.returns,
            lead: s.lead_unit.is_some(),
            extension_requested: s.extension_requested.is_some(),
            dispatched_by: s.dispatched_by.clone(),
            acknowledged_at: s.acknowledged_at,
            response_due: s.response_due,
            deadline_missed: s.deadline_missed,
            escalations: s.escalations,
        })
    }

    pub fn in_scope(&self, scope: &Scope) -> bool {
        covers_case(scope, self.territory.as_ref(), &self.units)
    }

    /// Overdue at `now` (超期: the rule `fold::overdue`; an open case has no closing time).
    pub fn overdue_at(&self, now: Millis) -> bool {
        overdue(
            Some(self.status),
            self.deadline,
            None,
            self.deadline_missed,
            now,
        )
    }

    /// Dispatched and not acknowledged within its response limit at `now`.
    pub fn response_late_at(&self, now: Millis) -> bool {
        self.unit.is_some() && response_late(self.acknowledged_at, self.response_due, now)
    }

    /// Waiting for the center's arbitration (仲裁): returned at least `after_returns` times,
    /// and no lead unit named with its dispatch.
    pub fn awaits_arbitration(&self, after_returns: u32) -> bool {
        after_returns > 0 && self.returns >= after_returns && !self.lead
    }
}

/// Every open case, by id.
#[derive(Default)]
pub struct OpenCases {
    /// `None`: closed by a commit while the load ran (the load must not bring it back).
    cases: RwLock<HashMap<String, Option<OpenCase>>>,
    loaded: AtomicBool,
}

impl OpenCases {
    /// What commits changed: each case's facts now, `None` once it is no longer open.
    pub fn apply(&self, changes: Vec<(String, Option<OpenCase>)>) {
        if changes.is_empty() {
            return;
        }
        let loading = !self.loaded();
        let Ok(mut cases) = self.cases.write() else {
            return;
        };
        for (id, open) in changes {
            match open {
                Some(open) => {
                    cases.insert(id, Some(open));
                }
                None if loading => {
                    cases.insert(id, None);
                }
                None => {
                    cases.remove(&id);
                }
            }
        }
    }

    /// A case the load read, unless a commit wrote it since the load began.
    pub(super) fn load(&self, read: Vec<OpenCase>) {
        let Ok(mut cases) = self.cases.write() else {
            return;
        };
        for open in read {
            cases.entry(open.id.clone()).or_insert(Some(open));
        }
    }

    /// The load is complete: forget what commits closed meanwhile.
    pub(super) fn finish_loading(&self) {
        if let Ok(mut cases) = self.cases.write() {
            cases.retain(|_, open| open.is_some());
        }
        self.loaded.store(true, Ordering::SeqCst);
    }

    pub fn loaded(&self) -> bool {
        self.loaded.load(Ordering::SeqCst)
    }

    /// Reads the open cases in a scope with `f`, under the map's lock (nothing is copied);
    /// `None` until the load is complete.
    pub fn read_in_scope<T>(
        &self,
        scope: &Scope,
        f: impl FnOnce(&mut dyn Iterator<Item = &OpenCase>) -> T,
    ) -> Option<T> {
        if !self.loaded() {
            return None;
        }
        let cases = self.cases.read().ok()?;
        let mut in_scope = cases.values().flatten().filter(|c| c.in_scope(scope));
        Some(f(&mut in_scope))
    }
}

/// Loads the open cases from the summaries, in the background at start-up: chunks of them, so
/// that commits meanwhile wait for the map only briefly.
pub(super) fn load(
    store: std::sync::Arc<dyn gridcase_sync_core::store::Store>,
    open: std::sync::Arc<OpenCases>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("gridcase-open-cases".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let mut read = Vec::new();
            let mut summaries = 0usize;
            for entry in store.range(super::trees::SUMMARIES, &[], None) {
                let summary = entry.map_err(|e| e.to_string()).and_then(|(_, v)| {
                    serde_json::from_slice::<CaseSummary>(&v).map_err(|e| e.to_string())
                });
                match summary {
                    Ok(s) => read.extend(OpenCase::of(&s)),
                    // A summary that does not read lists nowhere either: skipped, and said.
                    Err(e) => tracing::warn!(error = %e, "a summary did not load for the queues"),
                }
                summaries += 1;
                if read.len() >= 10_000 {
                    open.load(std::mem::take(&mut read));
                }
            }
            open.load(read);
            open.finish_loading();
            tracing::info!(
                summaries,
                ms = started.elapsed().as_millis() as u64,
                "open cases loaded for the work queues"
            );
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(id: &str, status: Status) -> OpenCase {
        OpenCase {
            id: id.into(),
            status,
            created_at: 0,
            deadline: None,
            territory: Some(Territory {
                street: "s1".into(),
                community: "c1".into(),
                grid: "g1".into(),
            }),
            unit: None,
            units: BTreeSet::new(),
            returns: 0,
            lead: false,
            extension_requested: false,
            dispatched_by: None,
            acknowledged_at: None,
            response_due: None,
            deadline_missed: false,
            escalations: 0,
        }
    }

    /// A commit during the load wins over what the load read: a case it closed stays closed,
    /// one it changed keeps the change.
    #[test]
    fn commits_during_the_load_win_over_what_it_read() {
        let cases = OpenCases::default();
        assert_eq!(
            cases.read_in_scope(&Scope::District, |open| open.count()),
            None,
            "still loading"
        );
        cases.apply(vec![
            ("closed".into(), None),
            ("moved".into(), Some(open("moved", Status::Dispatched))),
        ]);
        cases.load(vec![
            open("closed", Status::Filed),
            open("moved", Status::Filed),
            open("quiet", Status::Filed),
        ]);
        cases.finish_loading();
        let ids = |scope: &Scope| {
            cases.read_in_scope(scope, |open| {
                open.map(|c| (c.id.clone(), c.status))
                    .collect::<Vec<(String, Status)>>()
            })
        };
        let mut now = ids(&Scope::District).expect("loaded");
        now.sort();
        assert_eq!(
            now,
            [
                ("moved".to_owned(), Status::Dispatched),
                ("quiet".to_owned(), Status::Filed)
            ]
        );
        cases.apply(vec![("quiet".into(), None)]);
        assert_eq!(ids(&Scope::District).map(|c| c.len()), Some(1));
        assert_eq!(ids(&Scope::Street("s2".into())).map(|c| c.len()), Some(0));
    }
}
