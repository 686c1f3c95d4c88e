//! 回访: the desk's callback worklist (`/callbacks`: closed cases whose callers wait to be
//! called back, oldest due first, from `cases::callback_worklist`), and the case page's
//! callback form (`POST /cases/{id}/callback`, through `cases::record_callback`): what the
//! caller said, and for a dissatisfied caller the case worked again or sent to the supervisor,
//! in one write.
//!
//! Only the desk (district and street centers) returns calls: the worklist shows callers
//! whole, and is in the navigation for those roles alone.

use super::layout::{page, Live, Nav};
use super::{back_to_case, case_in_path, given, place, Form, PageError, Place, Viewer};
use crate::cases::{callback_worklist, record_callback, CallbackInput, FollowUp};
use crate::district_time::when;
use crate::error::Error;
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use gridcase_sync_core::event::Satisfaction;
use gridcase_sync_core::CaseId;
use maud::{html, Markup};
use serde::Deserialize;

/// `GET /callbacks`: the worklist, each row linking to its case page's callback form.
pub async fn worklist(State(state): State<AppState>, v: Viewer) -> Result<Markup, PageError> {
    let (s, caller) = (state.clone(), v.caller.clone());
    let (items, org) = crate::blocking(move || {
        Ok::<_, Error>((callback_worklist(&s, &caller)?, s.directory.org()?))
    })
    .await?;
    let lang = v.lang;
    let (t, c) = (lang.text(), lang.calls());
    let body = html! {
        p.keys { (c.worklist_keys) }
        section #live {
            @if items.is_empty() {
                p.empty { (c.worklist_empty) }
            } @else {
                table.cases.worklist data-rows="" {
                    thead { tr {
                        th { (t.number) } th { (lang.desk().business_type) } th { (t.category) }
                        th { (c.place) } th { (t.closed_at) } th { (c.due_at) } th { (c.callers) } th {}
                    } }
                    tbody {
                        @for item in &items {
                            @let s = &item.summary;
                            @let form = format!("/cases/{}#callback", s.id);
                            tr data-case=(s.id) class=[item.overdue.then_some("overdue")] {
                                td.number { a.row-link href=(form) { (s.number.as_deref().unwrap_or(&s.id)) } }
                                td { (s.business_type.map(|b| lang.business_type(b)).unwrap_or("—")) }
                                td { (s.category.as_deref().map(|c| lang.category(c)).unwrap_or_else(|| "—".into())) }
                                td {
                                    (place(&org, Place::Grid, s.grid.as_deref()))
                                    @if let Some(address) = &s.address { br; span.small { (address) } }
                                }
                                td.time { (s.closed_at.map(when).unwrap_or_else(|| "—".into())) }
                                td.time.due { @if item.overdue { strong.late { (when(item.due_at)) " · " (t.overdue) } } @else { (when(item.due_at)) } }
                                td.callers {
                                    @if item.callers.is_empty() { (c.first_caller) }
                                    @for caller in &item.callers {
                                        div {
                                            (if caller.name.is_empty() { c.anonymous } else { caller.name.as_str() })
                                            " " span.number { (caller.phone.as_deref().or(caller.contact.as_deref()).unwrap_or("—")) }
                                        }
                                    }
                                }
                                td { a href=(form) tabindex="-1" { (c.call_back) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, c.worklist, Nav::Callbacks, Live::List, body))
}

/// The callback form as the case page posts it.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackForm {
    /// The caller record called back; empty for the intake's caller of a case from before
    /// the register.
    pub caller: Option<String>,
    /// `yes` or `no`.
    pub reached: Option<String>,
    /// `yes`, `no` or empty.
    pub solved: Option<String>,
    /// `satisfied`, `basic`, `dissatisfied` or empty.
    pub satisfaction: Option<String>,
    pub note: Option<String>,
    /// `reopen`, `supervisor` or empty.
    pub follow_up: Option<String>,
    /// Minted with the form: sent twice, recorded once.
    pub token: Option<String>,
}

impl CallbackForm {
    /// The callback the form describes, or the code of what is wrong with it. A caller not
    /// reached gave no answer: whatever the answer fields say is not sent (the script disables
    /// them). A follow-up needs a reached caller who was dissatisfied or whose problem was not
    /// solved; the service says so too, this names it on the page.
    pub fn input(&self) -> Result<CallbackInput, &'static str> {
        let yes_no = |v: &Option<String>| match given(v).as_deref() {
            None => Ok(None),
            Some("yes" | "true") => Ok(Some(true)),
            Some("no" | "false") => Ok(Some(false)),
            Some(_) => Err("bad_request"),
        };
        let reached = yes_no(&self.reached)?.ok_or("bad_request")?;
        let satisfaction = match given(&self.satisfaction).as_deref() {
            None => None,
            Some("satisfied") => Some(Satisfaction::Satisfied),
            Some("basic") => Some(Satisfaction::Basic),
            Some("dissatisfied") => Some(Satisfaction::Dissatisfied),
            Some(_) => return Err("bad_request"),
        };
        let solved = yes_no(&self.solved)?;
        let follow_up = match given(&self.follow_up).as_deref() {
            None => None,
            Some("reopen") => Some(FollowUp::Reopen),
            Some("supervisor") => Some(FollowUp::Supervisor),
            Some(_) => return Err("bad_request"),
        };
        let unhappy = gridcase_sync_core::caller::unhappy(solved, satisfaction);
        if follow_up.is_some() && !(reached && unhappy) {
            return Err("follow_up_unhappy");
        }
        Ok(CallbackInput {
            caller: given(&self.caller),
            reached,
            solved: solved.filter(|_| reached),
            satisfaction: satisfaction.filter(|_| reached),
            note: given(&self.note).unwrap_or_default(),
            follow_up,
            token: given(&self.token),
        })
    }
}

/// `POST /cases/{id}/callback`: records a callback and shows the case again with what
/// happened; a refusal is a notice on the case page, like the other forms there.
pub async fn record(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CallbackForm>,
) -> Result<Response, PageError> {
    case_in_path(&id)?;
    let input = match form.input() {
        Ok(input) => input,
        Err(code) => {
            tracing::info!(case = %id, code, "callback form refused");
            return Ok(back_to_case(&id, "refused", code));
        }
    };
    let (s, caller, case) = (state.clone(), v.caller.clone(), CaseId::new(id.as_str()));
    let done = crate::blocking(move || record_callback(&s, &caller, &case, input)).await;
    match done {
        Ok(_) => Ok(back_to_case(&id, "done", "callback")),
        Err(e @ (Error::Core(_) | Error::BadRequest(_) | Error::Forbidden(_)))
            if !e.status_and_code().0.is_server_error() =>
        {
            tracing::info!(case = %id, error = %e, "callback refused");
            Ok(back_to_case(&id, "refused", e.status_and_code().1.as_str()))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(reached: &str, satisfaction: &str, solved: &str, follow_up: &str) -> CallbackForm {
        CallbackForm {
            caller: Some("0190a1b2c3d4e5f60718293a4b5c6d7e".into()),
            reached: Some(reached.into()),
            solved: Some(solved.into()),
            satisfaction: Some(satisfaction.into()),
            note: Some(" 说还在漏水 ".into()),
            follow_up: Some(follow_up.into()),
            token: None,
        }
    }

    #[test]
    fn a_callback_form_reads_strictly_and_follows_up_only_the_unhappy() {
        let unhappy = form("yes", "dissatisfied", "no", "reopen")
            .input()
            .expect("a dissatisfied caller, worked again");
        assert!(unhappy.reached);
        assert_eq!(unhappy.satisfaction, Some(Satisfaction::Dissatisfied));
        assert_eq!(unhappy.solved, Some(false));
        assert_eq!(unhappy.follow_up, Some(FollowUp::Reopen));
        assert_eq!(unhappy.note, "说还在漏水");
        let happy = form("yes", "satisfied", "yes", "")
            .input()
            .expect("satisfied");
        assert_eq!(happy.follow_up, None);
        assert_eq!(
            form("yes", "satisfied", "yes", "supervisor").input().err(),
            Some("follow_up_unhappy")
        );
        assert_eq!(
            form("no", "dissatisfied", "", "reopen").input().err(),
            Some("follow_up_unhappy"),
            "nobody reached, nobody unhappy"
        );
        let unreached = form("no", "satisfied", "yes", "")
            .input()
            .expect("not reached");
        assert_eq!((unreached.satisfaction, unreached.solved), (None, None));
        for bad in [
            form("", "", "", ""),
            form("maybe", "", "", ""),
            form("yes", "thrilled", "", ""),
            form("yes", "", "", "later"),
        ] {
            assert_eq!(bad.input().err(), Some("bad_request"), "{bad:?}");
        }
    }
}
