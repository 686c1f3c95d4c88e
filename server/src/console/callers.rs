//! Attaching another caller to a case (追加来电人), `POST /cases/{id}/callers`, from two forms:
//!
//! - the desk's new-case form, whose "attach" button beside a suggested duplicate posts the
//!   whole call here: its caller joins that open case (`cases::add_caller`) instead of a
//!   second case being opened for the same burst pipe; the call's description is the note;
//! - the case page's form, for a resident who calls about a case again.
//!
//! Either form carries the id the caller record gets, minted when the form was shown (the
//! desk's form: its token, the case id it would otherwise open), so a form sent twice records
//! one caller. After the desk's attach the case page shows a notice, and the script forgets
//! the tab's draft of that call; a refused attach leaves the operator on the call as typed.

use super::call_form::{CallForm, Field, Problem, Problems};
use super::new_case::{desk, new_case_page, Notice};
use super::{back_to_case, case_in_path, Form, PageError, Viewer};
use crate::callers::{is_caller_id, CallerInput};
use crate::cases::add_caller;
use crate::error::Error;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gridcase_sync_core::{limits, CaseId};

/// Where the posted form came from: the desk's call (`from=desk`, the attach button's own
/// name and value) or the case page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    Desk,
    CasePage,
}

/// Why nothing was attached.
enum Refusal {
    /// A caller field is at fault.
    Field(Field, Problem),
    /// The form's caller id is none this server hands out.
    Outdated,
    /// The case service refused: the error's stable code.
    Rules(Error),
}

/// `POST /cases/{id}/callers`: records the form's caller as another caller of case `id`.
pub async fn attach(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    case_in_path(&id)?;
    let from = if pairs.iter().any(|(k, v)| k == "from" && v == "desk") {
        desk(&v)?;
        From::Desk
    } else {
        From::CasePage
    };
    let typed_note = pairs
        .iter()
        .find(|(k, _)| k == "note")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let mut form = CallForm::from_pairs(pairs);
    let token = form.token.trim().to_owned();
    let outcome = match (is_caller_id(&token), form.caller()) {
        (false, _) => Err(Refusal::Outdated),
        (true, Err((field, problem))) => Err(Refusal::Field(field, problem)),
        (true, Ok(caller)) => {
            // An anonymous caller is still one more call about the case, with nothing kept.
            let input = caller.unwrap_or(CallerInput {
                anonymous: true,
                ..CallerInput::default()
            });
            let note = match from {
                From::Desk => form.description.trim().chars().take(limits::NOTE).collect(),
                From::CasePage => typed_note,
            };
            let (s, caller, case, token) = (
                state.clone(),
                v.caller.clone(),
                CaseId::new(&id),
                token.clone(),
            );
            let done =
                crate::blocking(move || add_caller(&s, &caller, &case, &token, input, note)).await;
            match done {
                Ok(_) => Ok(()),
                Err(e @ (Error::Core(_) | Error::BadRequest(_) | Error::NotFound(_)))
                    if !e.status_and_code().0.is_server_error() =>
                {
                    Err(Refusal::Rules(e))
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    match (from, outcome) {
        (From::Desk, Ok(())) => {
            tracing::info!(case = %id, user = %v.caller.user.id, "desk call attached to a case");
            Ok(back_to_case(&id, "attached", &token))
        }
        (From::CasePage, Ok(())) => Ok(back_to_case(&id, "done", "caller_added")),
        (From::CasePage, Err(refusal)) => {
            let code = match &refusal {
                Refusal::Field(_, problem) => problem_code(*problem),
                Refusal::Outdated => "bad_request",
                Refusal::Rules(e) => e.status_and_code().1.as_str(),
            };
            tracing::info!(case = %id, code, "caller form refused");
            Ok(back_to_case(&id, "refused", code))
        }
        (From::Desk, Err(refusal)) => {
            let (status, problems, notice) = match refusal {
                Refusal::Field(field, problem) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Problems::from([(field, problem)]),
                    Notice::Problems,
                ),
                Refusal::Outdated => {
                    form.token = CallForm::fresh().token;
                    (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Problems::new(),
                        Notice::Outdated,
                    )
                }
                Refusal::Rules(e) => {
                    let (status, code) = e.status_and_code();
                    (status, Problems::new(), Notice::Refused(code.as_str()))
                }
            };
            tracing::info!(case = %id, user = %v.caller.user.id, "desk attach refused");
            let s = state.clone();
            let org = crate::blocking(move || s.directory.org()).await?;
            let page = new_case_page(&v, &org, &form, &problems, &notice);
            Ok((status, page).into_response())
        }
    }
}

/// The code a caller field's problem is named by on the case page (`Lang::refusal`).
fn problem_code(problem: Problem) -> &'static str {
    match problem {
        Problem::PhoneInvalid => "phone_invalid",
        Problem::PhoneNoAreaCode => "phone_no_area_code",
        Problem::PhoneNeeded => "phone_needed",
        Problem::AnonymousCallback => "anonymous_callback",
        Problem::TooLong(_) => "too_long",
        _ => "bad_request",
    }
}
