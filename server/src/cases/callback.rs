//! The callback (回访): closed cases whose callers wait to be called back, oldest due first,
//! and what the desk records of each call: the public evaluation (社会公众外评价), kept apart
//! from the center's own evaluation, with the case reopened or sent to the supervisor when
//! the caller is not satisfied.

use super::act::act_with_record;
use super::{summary_in_scope, visible_case, Written};
use crate::auth::{now_millis, Caller};
use crate::callers::{CallerView, Sight};
use crate::error::{Error, Result};
use crate::query_index::Term;
use crate::summary::CaseSummary;
use crate::AppState;
use gridcase_sync_core::event::Satisfaction;
use gridcase_sync_core::{Action, CaseId, Millis, WorkCalendar};
use serde::{Deserialize, Serialize};

/// Working days between closing and the callback's due time.
pub const CALLBACK_WORKING_DAYS: u64 = 2;

/// The most cases one worklist shows.
const WORKLIST_MAX: usize = 500;

/// When a case closed at `closed_at` is due for its callback: two working days later, on the
/// district's working calendar (holidays and make-up working days included).
pub fn callback_due_at(calendar: &WorkCalendar, closed_at: Millis) -> Millis {
    let minutes = u64::from(calendar.minutes_per_day()) * CALLBACK_WORKING_DAYS;
    calendar.add_working_minutes(closed_at, minutes)
}

/// One case of the callback worklist.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallbackItem {
    #[serde(flatten)]
    pub summary: CaseSummary,
    /// When its callback is due.
    pub due_at: Millis,
    pub overdue: bool,
    /// The callers still waiting for this case's callback, whole (only the desk sees the
    /// worklist). Empty for a caller the register does not hold (a case from before it).
    pub callers: Vec<CallerView>,
}

/// The callback worklist of the caller's scope, oldest due first. Only the desk that returns
/// calls (district and street centers) has one.
pub fn callback_worklist(state: &AppState, caller: &Caller) -> Result<Vec<CallbackItem>> {
    require_desk(caller)?;
    let now = now_millis();
    let calendar = &state.ledger.calendar;
    // Every waiting case of the scope, by due time, before cutting: the most overdue must
    // never be the ones left out.
    let mut waiting = Vec::new();
    for entry in state.ledger.index_scan(&Term::CallbackDue, None) {
        let (_, case) = entry?;
        let Some(summary) = state.ledger.summary(&case)? else {
            continue;
        };
        // The index is a superset: the summary decides.
        if summary.callbacks_due == 0 || !summary_in_scope(&caller.user.scope, &summary) {
            continue;
        }
        let due_at = callback_due_at(calendar, summary.closed_at.unwrap_or(summary.updated_at));
        waiting.push((due_at, case, summary));
    }
    waiting.sort_by(|a, b| (a.0, &a.2.id).cmp(&(b.0, &b.2.id)));
    waiting.truncate(WORKLIST_MAX);
    let mut items = Vec::with_capacity(waiting.len());
    for (due_at, case, summary) in waiting {
        let (_, folded) = visible_case(state, caller, &case)?;
        let due = folded.callbacks_due();
        let callers = state
            .ledger
            .callers(&case)?
            .iter()
            .filter(|r| due.iter().any(|d| d.as_deref() == Some(r.id.as_str())))
            .filter_map(|r| r.view(Sight::Whole))
            .collect();
        items.push(CallbackItem {
            overdue: due_at < now,
            due_at,
            callers,
            summary,
        });
    }
    Ok(items)
}

/// What happens after a callback that found the caller dissatisfied or the problem not solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUp {
    /// The case goes back to work (重新办理): reopened, to be dispatched again.
    Reopen,
    /// The case goes to the supervisor (督办), escalated with the callback's note.
    Supervisor,
}

/// A callback as the desk records it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CallbackInput {
    /// The caller record called back; absent for the intake's caller of a case from before the
    /// register.
    #[serde(default)]
    pub caller: Option<String>,
    /// Whether the caller answered; an unreached callback stays on the worklist.
    pub reached: bool,
    #[serde(default)]
    pub solved: Option<bool>,
    #[serde(default)]
    pub satisfaction: Option<Satisfaction>,
    #[serde(default)]
    pub note: String,
    /// For a dissatisfied or unsolved answer: reopen the case or send it to the supervisor.
    #[serde(default)]
    pub follow_up: Option<FollowUp>,
    /// A token minted with the form (32 lower-case hex digits): a callback sent again with
    /// the same token (a double click, a resend after a lost answer) is recorded once.
    #[serde(default)]
    pub token: Option<String>,
}

/// Records a callback, and its follow-up, in one write through the rule table.
pub fn record_callback(
    state: &AppState,
    caller: &Caller,
    case: &CaseId,
    input: CallbackInput,
) -> Result<Written> {
    require_desk(caller)?;
    // Scope first: a case the caller may not see answers alike whatever else is wrong, so
    // nothing here tells which callers it has.
    visible_case(state, caller, case)?;
    if let Some(id) = &input.caller {
        if !gridcase_sync_core::caller::is_caller_id(id) || state.ledger.caller(case, id)?.is_none()
        {
            return Err(Error::NotFound(format!("no such caller of case {case}")));
        }
    }
    let token = match input.token.as_deref() {
        Some(t) if !gridcase_sync_core::caller::is_caller_id(t) => {
            return Err(Error::BadRequest(
                "token: 32 lower-case hex digits, minted with the form".into(),
            ))
        }
        other => other.map(str::to_owned),
    };
    // One request per token at a time; the first to finish is the one recorded.
    let _turn = token
        .as_ref()
        .map(|t| super::callers::RECORDING.take((case.clone(), t.clone())));
    if let Some(t) = &token {
        if state.ledger.callback_token(case, t)? {
            tracing::info!(case = %case, user = %caller.user.id, "callback sent again: recorded once");
            return Ok(Written {
                case: case.to_string(),
                event: String::new(),
                status: state.ledger.summary(case)?.and_then(|s| s.status),
                number: state.ledger.number(case)?,
            });
        }
    }
    let unhappy = gridcase_sync_core::caller::unhappy(input.solved, input.satisfaction);
    if input.follow_up.is_some() && !(input.reached && unhappy) {
        return Err(Error::BadRequest(
            "a case is reopened or sent to the supervisor only after a callback that found the \
             caller dissatisfied or the problem not solved"
                .into(),
        ));
    }
    let mut actions = vec![Action::Callback {
        caller: input.caller,
        reached: input.reached,
        solved: input.solved,
        satisfaction: input.satisfaction,
        note: input.note,
        to_supervisor: input.follow_up == Some(FollowUp::Supervisor),
    }];
    if input.follow_up == Some(FollowUp::Reopen) {
        // The callback event holds the caller's words; the reopening points to it.
        actions.push(Action::Reopen {
            reason: "回访不满意, 重新办理 (callback: not satisfied)".to_owned(),
        });
    }
    let events = act_with_record(state, caller, case, actions, None)?;
    if let Some(t) = &token {
        // After the write: a crash in between lets one resend record the callback again,
        // which the turn above and this mark make the only way.
        state.ledger.note_callback_token(case, t)?;
    }
    tracing::info!(case = %case, user = %caller.user.id, reached = input.reached, "callback recorded");
    Ok(Written {
        case: case.to_string(),
        event: events.last().map(|e| e.id.to_string()).unwrap_or_default(),
        status: state.ledger.summary(case)?.and_then(|s| s.status),
        number: state.ledger.number(case)?,
    })
}

fn require_desk(caller: &Caller) -> Result<()> {
    if caller.user.role.takes_calls() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the hotline desk (district and street centers) calls callers back".into(),
        ))
    }
}
