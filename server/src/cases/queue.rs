//! Work queues (工作台): the landing page of every role, what waits for the signed-in user now.
//! A queue is sections of cases, each with a stable key, its count and its cases sorted by
//! deadline (the most pressing first). Which sections a role has, and which cases go in each,
//! is decided here once, for the API (`GET /v1/queue`) and the console.
//!
//! A queue reads the open cases in the caller's scope from memory (`ledger::OpenCases`, kept
//! current by the commit thread) and the summaries of the cases it lists from disk; while the
//! open cases load at start-up, it reads them through the case list instead (the query index,
//! one open status at a time). Either way its cost grows with the open cases in the scope, not
//! with the ledger.

use super::list::{list_page, CaseFilter};
use crate::auth::{now_millis, Caller};
use crate::error::Result;
use crate::ledger::OpenCase;
use crate::summary::CaseSummary;
use crate::AppState;
use gridcase_sync_core::rules;
use gridcase_sync_core::{CaseId, Millis, Role, Scope, Status};
use serde::Serialize;

/// How many cases a section lists (its count covers all).
pub const SECTION_CASES: usize = 50;

/// How far ahead "due soon" looks: a day.
const DUE_SOON_MS: Millis = 24 * 3600 * 1000;

/// The most open cases a queue reads; beyond it the counts are marked partial.
const OPEN_CASES_MAX: usize = 20_000;

/// What waits for one section of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// Public reports waiting for their on-site confirmation (待核实).
    ToConfirm,
    /// Reported, not filed yet (待立案).
    ToFile,
    /// Filed and never dispatched (待派遣).
    ToDispatch,
    /// Sent back by a unit, waiting for a new dispatch (被退回).
    Returned,
    /// Returned so often it waits for the center to name the lead unit (待仲裁).
    Arbitration,
    /// A unit's extension request waiting for this tier's answer (延期申请).
    ExtensionRequests,
    /// Dispatched and not acknowledged past the response limit (超时未签收).
    Unacknowledged,
    /// Dispatched to the unit, not acknowledged yet (待签收).
    ToAcknowledge,
    /// Acknowledged and being handled (处置中).
    InProgress,
    /// Due within a day (即将到期).
    DueSoon,
    /// Past the deadline in force, or past one replaced later (已超期).
    Overdue,
    /// Fed back, waiting for the on-site verification (待核查).
    ToVerify,
    /// Verified, waiting to be closed (待结案).
    ToClose,
    /// Dispatched by this street or community, still open (本级派遣).
    DispatchedByUs,
    /// Escalated to the supervisor (督办).
    Escalated,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Section::ToConfirm => "to_confirm",
            Section::ToFile => "to_file",
            Section::ToDispatch => "to_dispatch",
            Section::Returned => "returned",
            Section::Arbitration => "arbitration",
            Section::ExtensionRequests => "extension_requests",
            Section::Unacknowledged => "unacknowledged",
            Section::ToAcknowledge => "to_acknowledge",
            Section::InProgress => "in_progress",
            Section::DueSoon => "due_soon",
            Section::Overdue => "overdue",
            Section::ToVerify => "to_verify",
            Section::ToClose => "to_close",
            Section::DispatchedByUs => "dispatched_by_us",
            Section::Escalated => "escalated",
        }
    }

    /// The sections of a role's queue, in the order they are worked.
    pub fn of(role: Role) -> &'static [Section] {
        use Section::*;
        match role {
            Role::DistrictCenter => &[
                Arbitration,
                ExtensionRequests,
                Returned,
                ToConfirm,
                ToFile,
                ToDispatch,
                Unacknowledged,
                Overdue,
                ToVerify,
                ToClose,
            ],
            Role::StreetCenter | Role::CommunityWorkstation => &[
                Arbitration,
                ExtensionRequests,
                Returned,
                ToConfirm,
                ToFile,
                ToDispatch,
                DispatchedByUs,
                Unacknowledged,
                Overdue,
                ToVerify,
                ToClose,
            ],
            Role::UnitHandler => &[ToAcknowledge, Overdue, DueSoon, InProgress, ToVerify],
            Role::GridWorker => &[ToConfirm, ToVerify, ToClose, Overdue],
            Role::Supervisor => &[Escalated, Arbitration, Overdue, Unacknowledged],
            Role::Admin | Role::IntakeChannel => &[],
        }
    }

    /// Whether an open case in the caller's scope belongs in this section.
    fn holds(self, s: &OpenCase, ctx: &Context<'_>) -> bool {
        let status = Some(s.status);
        let mine = |s: &OpenCase| match ctx.scope {
            Scope::Unit(u) => s.unit.as_ref() == Some(u),
            _ => true,
        };
        match self {
            Section::ToConfirm => status == Some(Status::AwaitingConfirmation),
            Section::ToFile => status == Some(Status::Reported),
            Section::ToDispatch => status == Some(Status::Filed) && s.returns == 0,
            Section::Returned => {
                status == Some(Status::Filed)
                    && s.returns > 0
                    && !s.awaits_arbitration(ctx.arbitration)
            }
            Section::Arbitration => {
                status == Some(Status::Filed) && s.awaits_arbitration(ctx.arbitration)
            }
            Section::ExtensionRequests => {
                s.extension_requested && rules::answers_for(ctx.scope, s.dispatched_by.as_ref())
            }
            Section::Unacknowledged => s.response_late_at(ctx.now),
            Section::ToAcknowledge => {
                mine(s) && status == Some(Status::Dispatched) && s.acknowledged_at.is_none()
            }
            Section::InProgress => {
                mine(s)
                    && matches!(
                        status,
                        Some(Status::Dispatched | Status::InProgress | Status::Rework)
                    )
                    && s.acknowledged_at.is_some()
            }
            Section::DueSoon => {
                mine(s)
                    && !s.overdue_at(ctx.now)
                    && s.deadline.is_some_and(|d| d <= ctx.now + DUE_SOON_MS)
            }
            Section::Overdue => mine(s) && s.overdue_at(ctx.now),
            Section::ToVerify => status == Some(Status::AwaitingVerification),
            Section::ToClose => status == Some(Status::Verified),
            Section::DispatchedByUs => {
                s.unit.is_some() && s.dispatched_by.as_ref() == Some(ctx.scope)
            }
            Section::Escalated => s.escalations > 0,
        }
    }
}

/// Where a case stands in its section: by deadline, the earliest first, cases without one
/// last; then the oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SortKey<'a> {
    no_deadline: bool,
    deadline: Option<Millis>,
    created_at: Millis,
    id: &'a str,
}

impl SortKey<'_> {
    fn of(case: &OpenCase) -> SortKey<'_> {
        SortKey {
            no_deadline: case.deadline.is_none(),
            deadline: case.deadline,
            created_at: case.created_at,
            id: &case.id,
        }
    }
}

/// A section's count and its [`SECTION_CASES`] most pressing cases in order, without sorting
/// the rest.
fn most_pressing(mut keys: Vec<SortKey<'_>>) -> (usize, Vec<String>) {
    let count = keys.len();
    if count > SECTION_CASES {
        keys.select_nth_unstable(SECTION_CASES - 1);
        keys.truncate(SECTION_CASES);
    }
    keys.sort_unstable();
    (count, keys.into_iter().map(|k| k.id.to_owned()).collect())
}

struct Context<'a> {
    scope: &'a Scope,
    now: Millis,
    arbitration: u32,
}

/// One section of a queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueSection {
    pub section: Section,
    /// How many cases it holds (all of them; `cases` lists the first [`SECTION_CASES`]).
    pub count: usize,
    /// By deadline, the earliest first; cases without one last, oldest first.
    pub cases: Vec<CaseSummary>,
}

/// What waits for the caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Queue {
    pub role: Role,
    pub sections: Vec<QueueSection>,
    /// When the queue was read (server time).
    pub at: Millis,
    /// More open cases in scope than a queue reads ([`OPEN_CASES_MAX`]): counts are partial.
    pub partial: bool,
}

/// The caller's queue: every section of their role, with its count and most pressing cases.
pub fn queue(state: &AppState, caller: &Caller) -> Result<Queue> {
    caller.require_reader()?;
    let now = now_millis();
    let role = caller.user.role;
    if Section::of(role).is_empty() {
        return Ok(Queue {
            role,
            sections: Vec::new(),
            at: now,
            partial: false,
        });
    }
    let ctx = Context {
        scope: &caller.user.scope,
        now,
        arbitration: state.config.arbitration_after_returns,
    };
    let sections_of_role = Section::of(role);
    // Each section's count and most pressing cases, from memory under the map's read lock
    // without copying it (else, while it loads, through the case list).
    let pick = |open: &mut dyn Iterator<Item = &OpenCase>| {
        let mut picked: Vec<Vec<SortKey<'_>>> = vec![Vec::new(); sections_of_role.len()];
        for case in open {
            for (i, section) in sections_of_role.iter().enumerate() {
                if section.holds(case, &ctx) {
                    picked[i].push(SortKey::of(case));
                }
            }
        }
        picked.into_iter().map(most_pressing).collect::<Vec<_>>()
    };
    let (picked, partial) = match state.ledger.read_open_cases(&caller.user.scope, pick) {
        Some(picked) => (picked, false),
        None => {
            let (open, partial) = open_cases_listed(state, caller)?;
            (pick(&mut open.iter()), partial)
        }
    };
    let mut sections = Vec::new();
    for (&section, (count, ids)) in sections_of_role.iter().zip(picked) {
        let mut listed = Vec::new();
        for id in ids {
            // A case the commit thread closed since the map was read is gone: skipped.
            if let Some(summary) = state.ledger.summary(&CaseId::new(id))? {
                listed.push(summary);
            }
        }
        sections.push(QueueSection {
            section,
            count,
            cases: listed,
        });
    }
    Ok(Queue {
        role: caller.user.role,
        sections,
        at: now,
        partial,
    })
}

/// The open cases in the caller's scope, through the case list one open status at a time:
/// while the open cases load into memory at start-up.
fn open_cases_listed(state: &AppState, caller: &Caller) -> Result<(Vec<OpenCase>, bool)> {
    let mut open = Vec::new();
    for status in Status::ALL.into_iter().filter(|s| s.is_open()) {
        let mut cursor = None;
        loop {
            let filter = CaseFilter {
                status: Some(status.as_str().to_owned()),
                limit: Some(500),
                cursor,
                ..CaseFilter::default()
            };
            let page = list_page(state, caller, &filter)?;
            open.extend(
                page.cases
                    .iter()
                    .filter_map(|item| OpenCase::of(&item.summary)),
            );
            if open.len() >= OPEN_CASES_MAX {
                return Ok((open, true));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok((open, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, deadline: Option<Millis>, created_at: Millis) -> SortKey<'_> {
        SortKey {
            no_deadline: deadline.is_none(),
            deadline,
            created_at,
            id,
        }
    }

    /// The most pressing first: the earliest deadline, then the oldest; no deadline last.
    #[test]
    fn a_section_lists_its_most_pressing_cases_first() {
        let ids: Vec<String> = (0..SECTION_CASES + 20)
            .map(|i| format!("c{i:03}"))
            .collect();
        let mut keys: Vec<SortKey<'_>> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let i = i as i64;
                // Deadlines run backwards; every fifth case has none.
                let deadline = (i % 5 != 0).then_some(10_000 - i);
                key(id, deadline, i)
            })
            .collect();
        keys.reverse();
        let (count, listed) = most_pressing(keys);
        assert_eq!(count, SECTION_CASES + 20);
        assert_eq!(listed.len(), SECTION_CASES);
        assert_eq!(listed[0], format!("c{:03}", SECTION_CASES + 19));
        assert!(
            listed.iter().all(|id| {
                let i: usize = id[1..].parse().expect("a number");
                !i.is_multiple_of(5)
            }),
            "cases with a deadline come before those without: {listed:?}"
        );
        let (_, few) = most_pressing(vec![
            key("b", None, 1),
            key("a", None, 2),
            key("c", Some(5), 9),
        ]);
        assert_eq!(few, ["c", "b", "a"]);
    }

    #[test]
    fn every_working_role_has_a_queue_and_keys_are_stable() {
        for role in Role::ALL {
            let sections = Section::of(role);
            assert_eq!(
                sections.is_empty(),
                matches!(role, Role::Admin | Role::IntakeChannel),
                "{role:?}"
            );
            for s in sections {
                assert_eq!(
                    serde_json::to_value(s).ok(),
                    Some(serde_json::json!(s.as_str()))
                );
            }
        }
    }
}
