//! The case page's forms turned into actions and performed through the same commands as the
//! API; what happened is shown on the case page.

use super::i18n::Lang;
use super::upload::{name_photos, WithPhotos};
use super::{back_to_case, case_in_path, given, PageError, Viewer};
use crate::auth::now_millis;
use crate::cases::act_online_all;
use crate::error::Error;
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use gridcase_sync_core::event::{DeclineReason, Filing, Satisfaction};
use gridcase_sync_core::rules::ViolationCode;
use gridcase_sync_core::{Action, ActionKind, CaseId, CategoryCode, EventId, Level, WorkCalendar};
use serde::Deserialize;

/// One action from the case page's forms.
#[derive(Debug, Deserialize)]
pub struct ActForm {
    pub kind: String,
    pub category: Option<String>,
    pub level: Option<String>,
    pub unit: Option<String>,
    pub hours: Option<String>,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub satisfaction: Option<String>,
    pub solved: Option<String>,
    pub conflict: Option<String>,
    /// For a resolution: `keep` the current outcome, or `adopt` the superseded event's side.
    pub decision: Option<String>,
    /// For a dispatch: the responsible person named (责任人).
    pub responsible: Option<String>,
    /// For a dispatch: `yes` names the unit the lead (指定主办), which cannot return it.
    pub lead: Option<String>,
    /// For an extension granted or refused: the unit's request it answers.
    pub request: Option<String>,
    /// For a confirmation (核实): `yes` when the problem exists, `no` when it was not found.
    pub exists: Option<String>,
    /// For a consultation answered directly: what the caller was told.
    pub answer: Option<String>,
    /// For a feedback or a verification (核查): `yes` when the problem is resolved.
    pub resolved: Option<String>,
    /// For a duplicate: the case it duplicates, by its number (`DC-20261130-0001`) or its id.
    pub of: Option<String>,
}

/// The kinds whose reason must be given, refused at the field before anything is written.
const REASON_REQUIRED: [ActionKind; 8] = [
    ActionKind::Return,
    ActionKind::ExtensionRequest,
    ActionKind::RefuseExtension,
    ActionKind::Hold,
    ActionKind::Void,
    ActionKind::Escalate,
    ActionKind::Reopen,
    ActionKind::Extend,
];

impl ActForm {
    /// The console's code for a required field left empty (`reason_required`, `note_required`,
    /// `of_required`), for the form to show at that field; None when the required ones are given.
    pub fn missing_field(&self) -> Option<&'static str> {
        let kind = ActionKind::parse(&self.kind)?;
        if REASON_REQUIRED.contains(&kind) && given(&self.reason).is_none() {
            return Some("reason_required");
        }
        match kind {
            ActionKind::Handle | ActionKind::Comment if given(&self.note).is_none() => {
                Some("note_required")
            }
            ActionKind::MarkDuplicate if given(&self.of).is_none() => Some("of_required"),
            _ => None,
        }
    }

    /// The events the form asks for, in order (one today; a list so that a form may ask for
    /// several written together or not at all). Public for the fuzz crate (`fuzz/`) only.
    #[doc(hidden)]
    pub fn actions(
        &self,
        now: i64,
        calendar: &WorkCalendar,
        _lang: Lang,
    ) -> Result<Vec<Action>, Error> {
        Ok(vec![self.action(now, calendar)?])
    }

    fn action(&self, now: i64, calendar: &WorkCalendar) -> Result<Action, Error> {
        let missing = |field: &str| Error::BadRequest(format!("{field} is required"));
        let hours = || -> Result<Option<u32>, Error> {
            given(&self.hours)
                .map(|h| match h.parse::<u32>() {
                    Ok(n) if (1..=gridcase_sync_core::limits::EXTEND_HOURS).contains(&n) => Ok(n),
                    _ => Err(Error::BadRequest(format!("bad hours {h}"))),
                })
                .transpose()
        };
        let note = given(&self.note).unwrap_or_default();
        let yes = |v: &Option<String>| match given(v).as_deref() {
            None | Some("no" | "false") => Ok(false),
            Some("yes" | "true" | "1" | "on") => Ok(true),
            Some(other) => Err(Error::BadRequest(format!("bad choice {other}"))),
        };
        let reason = || given(&self.reason).ok_or_else(|| missing("reason"));
        let resolved = || match given(&self.resolved).as_deref() {
            Some("yes" | "true") => Ok(true),
            Some("no" | "false") => Ok(false),
            None => Err(missing("resolved")),
            Some(other) => Err(Error::BadRequest(format!("bad resolved {other}"))),
        };
        Ok(match ActionKind::parse(&self.kind) {
            Some(ActionKind::File) => {
                let code = given(&self.category).ok_or_else(|| missing("category"))?;
                Action::File(Filing {
                    category: CategoryCode::parse(&code)
                        .ok_or_else(|| Error::BadRequest(format!("bad category {code}")))?,
                    level: match given(&self.level) {
                        None => Level::General,
                        Some(l) => Level::parse(&l)
                            .ok_or_else(|| Error::BadRequest(format!("bad level {l}")))?,
                    },
                    units: given(&self.unit)
                        .map(|u| vec![u.as_str().into()])
                        .unwrap_or_default(),
                    suggestion: note,
                    callback: false,
                })
            }
            Some(ActionKind::Dispatch) => Action::Dispatch {
                unit: given(&self.unit)
                    .ok_or_else(|| missing("unit"))?
                    .as_str()
                    .into(),
                responsible: given(&self.responsible),
                // Working hours, as the catalog's deadlines and extensions count them.
                deadline: hours()?.map(|h| calendar.add_working_minutes(now, u64::from(h) * 60)),
                lead: yes(&self.lead)?,
            },
            Some(ActionKind::Acknowledge) => Action::Acknowledge { note },
            Some(ActionKind::ExtensionRequest) => Action::ExtensionRequest {
                hours: hours()?.ok_or_else(|| missing("hours"))?,
                reason: reason()?,
            },
            Some(ActionKind::RefuseExtension) => Action::RefuseExtension {
                request: EventId::new(given(&self.request).ok_or_else(|| missing("request"))?),
                reason: reason()?,
            },
            Some(ActionKind::Reopen) => Action::Reopen { reason: reason()? },
            Some(ActionKind::Extend) => Action::Extend {
                hours: hours()?.ok_or_else(|| missing("hours"))?,
                reason: reason()?,
                request: given(&self.request).map(EventId::new),
            },
            Some(ActionKind::Evaluate) => Action::Evaluate {
                satisfaction: match given(&self.satisfaction).as_deref() {
                    None => None,
                    Some("satisfied") => Some(Satisfaction::Satisfied),
                    Some("basic") => Some(Satisfaction::Basic),
                    Some("dissatisfied") => Some(Satisfaction::Dissatisfied),
                    Some(other) => {
                        return Err(Error::BadRequest(format!("bad satisfaction {other}")))
                    }
                },
                solved: match given(&self.solved).as_deref() {
                    None => None,
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    Some(other) => return Err(Error::BadRequest(format!("bad solved {other}"))),
                },
                note,
            },
            Some(ActionKind::Confirm) => Action::Confirm {
                exists: match given(&self.exists).as_deref() {
                    Some("yes" | "true") => true,
                    Some("no" | "false") => false,
                    None => return Err(missing("exists")),
                    Some(other) => return Err(Error::BadRequest(format!("bad exists {other}"))),
                },
                note,
            },
            Some(ActionKind::Answer) => Action::Answer {
                answer: given(&self.answer).ok_or_else(|| missing("answer"))?,
            },
            Some(ActionKind::Comment) => Action::Comment {
                text: given(&self.note).ok_or_else(|| missing("note"))?,
            },
            Some(ActionKind::Decline) => Action::Decline {
                reason: match given(&self.reason).as_deref() {
                    Some("duplicate") => DeclineReason::Duplicate,
                    Some("out_of_jurisdiction") => DeclineReason::OutOfJurisdiction,
                    Some("not_actionable") => DeclineReason::NotActionable,
                    Some("not_found") => DeclineReason::NotFound,
                    None => return Err(missing("reason")),
                    Some(other) => return Err(Error::BadRequest(format!("bad reason {other}"))),
                },
                note,
            },
            // Photos sent with the form are named by `act` (`upload::name_photos`).
            Some(ActionKind::Handle) => Action::Handle {
                note: given(&self.note).ok_or_else(|| missing("note"))?,
                photos: Vec::new(),
            },
            Some(ActionKind::Feedback) => Action::Feedback {
                resolved: resolved()?,
                note,
                photos: Vec::new(),
            },
            Some(ActionKind::Return) => Action::Return { reason: reason()? },
            Some(ActionKind::Verify) => Action::Verify {
                resolved: resolved()?,
                note,
                photos: Vec::new(),
            },
            Some(ActionKind::Close) => Action::Close { note },
            Some(ActionKind::Hold) => Action::Hold { reason: reason()? },
            Some(ActionKind::Release) => Action::Release { note },
            Some(ActionKind::Void) => Action::Void { reason: reason()? },
            Some(ActionKind::Escalate) => Action::Escalate { reason: reason()? },
            // As written: a number is turned into its case's id by `act`, which can look it up.
            Some(ActionKind::MarkDuplicate) => Action::MarkDuplicate {
                of: CaseId::new(given(&self.of).ok_or_else(|| missing("of"))?),
            },
            // One form, two sides: keep the current outcome, or take the superseded event's.
            Some(ActionKind::Resolve) => {
                let conflict =
                    EventId::new(given(&self.conflict).ok_or_else(|| missing("conflict"))?);
                match given(&self.decision).as_deref() {
                    None | Some("keep") => Action::Resolve { conflict, note },
                    Some("adopt") => Action::Adopt { conflict, note },
                    Some(other) => return Err(Error::BadRequest(format!("bad decision {other}"))),
                }
            }
            _ => {
                return Err(Error::BadRequest(format!(
                    "the console does not offer {}",
                    self.kind
                )))
            }
        })
    }
}

/// Performs a form's action through the same commands as the API, then shows the case again
/// with what happened; a refusal by the rules is shown on the page, not as an error page.
/// The form comes urlencoded, or as `multipart/form-data` with photos for the step
/// (`upload`): refused photos are shown at the form, and nothing is written.
pub async fn act(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    WithPhotos { form, photos }: WithPhotos<ActForm>,
) -> Result<Response, PageError> {
    case_in_path(&id)?;
    let back = |key: &str, value: &str| back_to_case(&id, key, value);
    if let Some(code) = form.missing_field() {
        tracing::info!(case = %id, code, "console form refused at a field");
        return Ok(refused_at(&id, code, &form.kind));
    }
    let photos = match photos {
        Ok(p) => p,
        Err(refusal) => {
            tracing::info!(case = %id, code = refusal.code(), "console photos refused");
            return Ok(refused_at(&id, refusal.code(), &form.kind));
        }
    };
    let actions = match form
        .actions(now_millis(), &state.ledger.calendar, v.lang)
        .and_then(|mut a| {
            // The photos go with the form's own step, the last of its actions.
            if let Some(last) = a.pop() {
                a.push(name_photos(last, &photos)?);
            }
            Ok(a)
        }) {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(case = %id, error = %e, "console form refused");
            return Ok(back("refused", e.status_and_code().1.as_str()));
        }
    };
    let kind = actions.last().map_or(ActionKind::Comment, Action::kind);
    let (s, caller, case) = (state.clone(), v.caller.clone(), CaseId::new(id.as_str()));
    let done = crate::blocking(move || {
        let actions = actions
            .into_iter()
            .map(|a| duplicate_by_number(&s, a))
            .collect::<Result<Vec<_>, _>>()?;
        act_online_all(&s, &caller, &case, actions, photos)
    })
    .await;
    match done {
        Ok(_) => Ok(back("done", kind.as_str())),
        // The case named as the original is unknown or outside the viewer's scope (alike).
        Err(e) if kind == ActionKind::MarkDuplicate && is_unknown_case(&e) => {
            tracing::info!(case = %id, error = %e, "console duplicate refused");
            Ok(refused_at(&id, "duplicate_unknown", kind.as_str()))
        }
        Err(e @ (Error::Core(_) | Error::BadRequest(_) | Error::Conflict(_)))
            if !e.status_and_code().0.is_server_error() =>
        {
            tracing::info!(case = %id, error = %e, "console action refused");
            Ok(back("refused", e.status_and_code().1.as_str()))
        }
        Err(e) => Err(e.into()),
    }
}

/// A duplicate's original named by its case number (`DC-20261130-0001`, in any of the forms
/// `case_number::parse` reads) becomes that case's id; a number no case has names no case.
/// Anything else is taken as a case id, which the case service checks against the scope.
fn duplicate_by_number(state: &AppState, action: Action) -> Result<Action, Error> {
    let Action::MarkDuplicate { of } = &action else {
        return Ok(action);
    };
    let Some(number) = crate::case_number::parse(of.as_str()) else {
        return Ok(action);
    };
    match state.ledger.numbered(&number)? {
        Some(id) => Ok(Action::MarkDuplicate { of: id }),
        None => Err(unknown_case(&number)),
    }
}

fn unknown_case(named: &str) -> Error {
    Error::Core(gridcase_sync_core::Error::Rule(
        gridcase_sync_core::Violation {
            code: ViolationCode::UnknownReference,
            message: format!("no case {named}"),
        },
    ))
}

fn is_unknown_case(e: &Error) -> bool {
    matches!(e, Error::Core(gridcase_sync_core::Error::Rule(v)) if v.code == ViolationCode::UnknownReference)
}

/// Back to the case page with a refusal the page shows at the field of the form it names.
/// Only stable codes go into the address (`refused`, and `form`: an action kind).
fn refused_at(case: &str, code: &str, form: &str) -> Response {
    let query =
        serde_urlencoded::to_string([("refused", code), ("form", form)]).unwrap_or_default();
    Redirect::to(&format!("/cases/{case}?{query}")).into_response()
}
