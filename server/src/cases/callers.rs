//! Callers of a case (`crate::callers`): recording one (the desk attaching a repeat call, a
//! handheld delivering the walk-in resident it took offline), showing them to whoever may see
//! them, and finding a telephone number's earlier cases.

use super::act::{act_with_record, open_with};
use super::turns::Turns;
use super::{summary_in_scope, visible_case, CaseListItem};
use crate::auth::{now_millis, Caller};
use crate::callers::{self, CallerInput, CallerRecord, CallerView, Sight, Source};
use crate::error::{Error, Result};
use crate::AppState;
use gridcase_sync_core::event::Intake;
use gridcase_sync_core::fold::CaseState;
use gridcase_sync_core::phone::Phone;
use gridcase_sync_core::{rules, ActionKind};
use gridcase_sync_core::{Action, CaseDoc, CaseId, Event};
use serde::{Deserialize, Serialize};

/// Callers (and callback forms, by their token) being recorded now, by case (`turns`).
pub(super) static RECORDING: Turns<(CaseId, String)> = Turns::new();

/// What recording a caller did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallerAdded {
    pub caller: String,
    pub case: String,
    /// The record was there already (the same request sent again): nothing was written.
    pub again: bool,
    /// The `caller_added` event written, when the caller was attached to the case (not the
    /// intake's own caller, whose record only follows its case).
    pub event: Option<String>,
}

/// The refusal of a caller's fields, with the field named.
fn refused(p: callers::CallerProblem) -> Error {
    Error::BadRequest(format!("{}: {}", p.field, p.message))
}

/// Records caller `id` of a case, once: the intake's own caller (named by the intake, sent by
/// the user who took the call, e.g. a handheld after its offline case synced), or another
/// caller about the same problem, attached with a `caller_added` event through the rule
/// table, in one write with the record. Sending the same caller again answers `again`.
pub fn add_caller(
    state: &AppState,
    caller: &Caller,
    case: &CaseId,
    id: &str,
    input: CallerInput,
    note: String,
) -> Result<CallerAdded> {
    let _span =
        tracing::info_span!("caller", case = %case, device = %caller.actor().device).entered();
    if !callers::is_caller_id(id) {
        return Err(Error::BadRequest(
            "a caller id is 32 lower-case hex digits".into(),
        ));
    }
    let input = input.checked().map_err(refused)?;
    // One caller of one case at a time: two requests recording it at once (a retry racing
    // its first send) must write one record and one event.
    let _turn = RECORDING.take((case.clone(), id.to_owned()));
    let (doc, folded) = visible_case(state, caller, case)?;
    let answer = |again, event: Option<&Event>| CallerAdded {
        caller: id.to_owned(),
        case: case.to_string(),
        again,
        event: event.map(|e| e.id.to_string()),
    };
    let intake_caller = folded.intake_caller.as_deref() == Some(id);
    // Allowed first, answered `again` after: nobody learns which callers a case has unless
    // they may record one.
    if intake_caller {
        // The intake's caller: only who took the call delivers it.
        if folded.reported_by.as_ref() != Some(&caller.user.id) {
            return Err(Error::Forbidden(
                "only the user who took the call records its caller".into(),
            ));
        }
    } else {
        rules::permits(&folded, &caller.actor(), ActionKind::CallerAdded)
            .map_err(|v| Error::Core(gridcase_sync_core::Error::Rule(v)))?;
    }
    if state.ledger.caller(case, id)?.is_some() {
        return Ok(answer(true, None));
    }
    let now = now_millis();
    let by = caller.user.id.to_string();
    if intake_caller {
        let record = CallerRecord::new(input, id.to_owned(), case.clone(), Source::Intake, now, by);
        let mut write = state.ledger.write(now);
        write.add_caller(&record)?;
        write.commit()?;
        tracing::info!(case = %case, user = %caller.user.id, "intake caller recorded");
        return Ok(answer(false, None));
    }
    drop(doc);
    let action = Action::CallerAdded {
        caller: id.to_owned(),
        note,
        callback: input.callback,
    };
    let record = CallerRecord::new(input, id.to_owned(), case.clone(), Source::Added, now, by);
    let event = act_with_record(state, caller, case, vec![action], Some(&record))?;
    tracing::info!(case = %case, user = %caller.user.id, "caller added");
    Ok(answer(false, event.last()))
}

/// The callers of a case as `caller` may see them (`callers::sight`): the register's records
/// and, for a case written before the register, the reporter inside its intake (`events`: the
/// case's events, which the caller has read already).
pub fn callers_seen(
    state: &AppState,
    caller: &Caller,
    case: &CaseId,
    events: &[Event],
    folded: &CaseState,
) -> Result<Vec<CallerView>> {
    let sight = callers::sight(caller.user.role, folded.business_type);
    if sight == Sight::None {
        return Ok(Vec::new());
    }
    let mut records = state.ledger.callers(case)?;
    let intake = events.iter().find_map(|e| match &e.action {
        Action::Intake(intake) => Some(intake),
        _ => None,
    });
    if let Some(intake) = intake {
        let at = folded.reported_at.unwrap_or_default();
        let by = folded
            .reported_by
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        records.extend(callers::legacy(case, intake, at, &by));
    }
    Ok(records.iter().filter_map(|r| r.view(sight)).collect())
}

/// Hides what a viewer may not see of an intake written before the register: its reporter,
/// masked as its legacy caller record is (`CallerRecord::view`, one masking for both) or
/// removed (`callers::sight`). The history stays as stored; only its display changes.
pub fn redact(event: &mut Event, sight: Sight) {
    if sight == Sight::Whole {
        return;
    }
    let case = CaseId::new(String::new());
    if let Action::Intake(intake) = &mut event.action {
        let shown = callers::legacy(&case, intake, 0, "").and_then(|r| r.view(sight));
        intake.reporter = shown.map(|v| gridcase_sync_core::event::Reporter {
            name: v.name,
            contact: [v.phone, v.contact]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        });
    }
}

/// The caller's earlier cases, for the desk that recognises a repeat caller.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PhoneQuery {
    /// A telephone number as typed.
    pub phone: String,
    /// At most this many cases, 1–500 (default 10).
    pub limit: Option<usize>,
}

/// The most cases one phone lookup answers.
pub const PHONE_CASES_MAX: usize = 500;

/// The cases a telephone number called about, newest first, among those the desk may see.
/// Only the desk (district and street centers), which sees callers whole, may ask.
pub fn cases_of_phone(
    state: &AppState,
    caller: &Caller,
    query: &PhoneQuery,
) -> Result<Vec<CaseListItem>> {
    if !caller.user.role.takes_calls() {
        return Err(Error::Forbidden(
            "only the hotline desk looks callers up by phone".into(),
        ));
    }
    // The number typed stays out of the refusal: error bodies and logs hold no personal data.
    let phone = Phone::parse(&query.phone).map_err(|_| {
        Error::BadRequest(
            "phone: not a telephone number (a mobile number, or a landline with its area code)"
                .into(),
        )
    })?;
    let limit = query.limit.unwrap_or(10).clamp(1, PHONE_CASES_MAX);
    let now = now_millis();
    let mut found = Vec::new();
    for case in state.ledger.cases_of_phone(&phone.number) {
        let Some(summary) = state.ledger.summary(&case?)? else {
            continue;
        };
        if !summary_in_scope(&caller.user.scope, &summary) {
            continue;
        }
        found.push(CaseListItem {
            overdue: summary.overdue_at(now),
            summary,
            counts: None,
        });
        if found.len() == limit {
            break;
        }
    }
    Ok(found)
}

/// Opens a case whose intake names its caller, with the caller's record in the same write.
pub(super) fn open_with_caller(
    state: &AppState,
    caller: &Caller,
    org: &gridcase_sync_core::org::Org,
    case: CaseId,
    mut intake: Intake,
    then: Vec<Action>,
    input: Option<CallerInput>,
) -> Result<(CaseDoc, Event)> {
    let record = match input {
        Some(input) => {
            let input = input.checked().map_err(refused)?;
            let id = CaseId::generate().to_string();
            intake.caller = Some(id.clone());
            intake.reporter = None;
            Some(CallerRecord::new(
                input,
                id,
                case.clone(),
                Source::Intake,
                now_millis(),
                caller.user.id.to_string(),
            ))
        }
        None => None,
    };
    open_with(state, caller, org, case, intake, then, record.as_ref())
}
