//! The hotline desk's new-case page (`/cases/new`), made for typing during a call: the caller,
//! where, and what, in the order a call goes. One save writes the intake, its confirmation,
//! the filing and (with a lead unit) the dispatch together through the case service
//! (`cases::open_call`); the page then shows the case to read to the caller, above a fresh
//! form for the next call.
//!
//! The form carries the case id it will open, minted when the page is shown, as its token: a
//! form sent twice opens one case. A refused form comes back with every value as typed and a
//! message beside each field at fault. The script (`assets/console.js`) adds the keyboard
//! (Enter to the next field, Esc to clear one), the address search over `GET /v1/addresses`,
//! and a draft per tab in `localStorage` that outlives a navigation or a server restart until
//! the case is saved.
//!
//! Beside the form, two panels the script fills as the call goes (the operator's workbench):
//! the number's earlier cases (`GET /v1/callers/cases`: a repeat caller), and the open cases the
//! call may repeat (`GET /v1/cases/duplicates`), each with a button that posts this same form
//! to `POST /cases/{id}/callers` (`console::callers`): the caller joins that case instead of
//! a second case being opened. A consultation can be answered directly: intake and `answer`,
//! no filing.

use super::call_form::{CallForm, Field, Problem, Problems};
use super::i18n::DeskText;
use super::layout::{page, Live, Nav};
use super::{Form, PageError, PageQuery, Viewer};
use crate::cases::{open_call, summary_in_scope, Opened};
use crate::error::Error;
use crate::summary::CaseSummary;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gridcase_sync_core::event::BusinessType;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::{limits, CaseId, Catalog, Level};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    /// The case a save just opened.
    pub saved: Option<String>,
    /// Present when the form had been saved before and the save answered with its case.
    pub again: Option<String>,
}

/// What stands above the form.
pub(super) enum Notice {
    None,
    /// A case was opened (or found opened by this form before).
    Saved {
        summary: Box<CaseSummary>,
        again: bool,
    },
    /// Fields are at fault; each says why beside it.
    Problems,
    /// The rules refused the call: the error's stable code.
    Refused(&'static str),
    /// The form's token could not be used; a fresh form (same values) replaces it.
    Outdated,
}

/// Only a center takes calls here: the filing that one save writes is a center's.
pub(super) fn desk(v: &Viewer) -> Result<(), PageError> {
    if v.caller.user.role.is_center() {
        return Ok(());
    }
    Err(Error::Forbidden(format!(
        "role {} takes no calls at the desk",
        v.caller.user.role.as_str()
    ))
    .into())
}

/// `GET /cases/new`: a fresh form; after a save, the saved case above it.
pub async fn show(
    State(state): State<AppState>,
    v: Viewer,
    PageQuery(query): PageQuery<SavedQuery>,
) -> Result<Markup, PageError> {
    desk(&v)?;
    let saved = query.saved.as_deref().and_then(CaseId::parse_generated);
    let (s, scope) = (state.clone(), v.caller.user.scope.clone());
    let (org, summary) = crate::blocking(move || {
        let summary = match saved {
            Some(case) => s.ledger.summary(&case)?,
            None => None,
        };
        let visible = summary.filter(|sum| summary_in_scope(&scope, sum));
        Ok((s.directory.org()?, visible))
    })
    .await?;
    let notice = match summary {
        Some(summary) => Notice::Saved {
            summary: Box::new(summary),
            again: query.again.is_some(),
        },
        None => Notice::None,
    };
    Ok(new_case_page(
        &v,
        &org,
        &CallForm::fresh(),
        &Problems::new(),
        &notice,
    ))
}

/// Why a save wrote nothing.
enum Refusal {
    Problems(Problems),
    Rules(Error),
}

/// `POST /cases/new`: judges the form, opens the call's case, and shows it (by redirect, so a
/// reload does not send the form again); a refused form comes back as typed.
pub async fn save(
    State(state): State<AppState>,
    v: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    desk(&v)?;
    let mut form = CallForm::from_pairs(pairs);
    let (s, caller, sent) = (state.clone(), v.caller.clone(), form.clone());
    let (org, outcome) = crate::blocking(move || {
        let org = s.directory.org()?;
        let outcome = match sent.check(&org, caller.user.role, &caller.user.scope, &s.addresses) {
            Err(problems) => Err(Refusal::Problems(problems)),
            Ok(call) => match open_call(&s, &caller, call) {
                Ok(opened) => Ok(opened),
                Err(e @ (Error::Core(_) | Error::BadRequest(_) | Error::Conflict(_)))
                    if !e.status_and_code().0.is_server_error() =>
                {
                    Err(Refusal::Rules(e))
                }
                Err(e) => return Err(e),
            },
        };
        Ok((org, outcome))
    })
    .await?;
    let (status, problems, notice) = match outcome {
        Ok(Opened { case, again, .. }) => {
            let again = if again { "&again=1" } else { "" };
            return Ok(Redirect::to(&format!("/cases/new?saved={case}{again}")).into_response());
        }
        Err(Refusal::Problems(mut problems)) => {
            let fields: Vec<&str> = problems.keys().map(|f| f.name()).collect();
            tracing::info!(user = %v.caller.user.id, fields = ?fields, "new case form refused");
            let notice = if problems.remove(&Field::Token).is_some() {
                form.token = CallForm::fresh().token;
                Notice::Outdated
            } else {
                Notice::Problems
            };
            (StatusCode::UNPROCESSABLE_ENTITY, problems, notice)
        }
        Err(Refusal::Rules(e)) => {
            tracing::info!(user = %v.caller.user.id, error = %e, "new case refused");
            let (status, code) = e.status_and_code();
            let notice = if let Error::Conflict(_) = e {
                form.token = CallForm::fresh().token;
                Notice::Outdated
            } else {
                Notice::Refused(code.as_str())
            };
            (status, Problems::new(), notice)
        }
    };
    let page = new_case_page(&v, &org, &form, &problems, &notice);
    Ok((status, page).into_response())
}

/// A problem in the reader's language.
fn message(d: &DeskText, field: Field, problem: Problem) -> String {
    match problem {
        Problem::Missing => d.missing.into(),
        Problem::TooLong(max) => d.too_long.replace("{max}", &max.to_string()),
        Problem::PhoneInvalid => d.phone_invalid.into(),
        Problem::PhoneNoAreaCode => d.phone_no_area_code.into(),
        Problem::PhoneNeeded => d.phone_needed.into(),
        Problem::AnonymousCallback => d.anonymous_callback.into(),
        Problem::PlaceNeeded => d.place_needed.into(),
        Problem::AddressUnknown => d.address_unknown.into(),
        Problem::AddressAmbiguous => d.address_ambiguous.into(),
        Problem::CoordinatesBad => d.coordinates_bad.into(),
        Problem::CoordinatesOutside => d.coordinates_outside.into(),
        Problem::LeadNeeded => d.lead_needed.into(),
        Problem::TooMany => d.too_many_units.into(),
        Problem::Outdated => d.form_outdated.into(),
        Problem::AnswerOnlyConsultation => d.answer_only_consultation.into(),
        Problem::AnswerNotPermitted => d.answer_not_permitted.into(),
        Problem::NotWithAnswer => d.answer_no_dispatch.into(),
        Problem::Unknown => match field {
            Field::BusinessType => d.unknown_business_type,
            Field::Grid => d.grid_unknown,
            Field::Level => d.level_unknown,
            Field::Lead | Field::Cooperating => d.unit_unknown,
            _ => d.category_unknown,
        }
        .into(),
    }
}

/// The case's readable number, when the ledger gives cases one. Read from the summary's
/// stored (JSON) form: numbers arrive with another change, and this page must neither wait
/// for it nor break without it.
fn number_of(summary: &CaseSummary) -> Option<String> {
    let value = serde_json::to_value(summary).ok()?;
    value.get("number")?.as_str().map(str::to_owned)
}

/// "street / community / grid" of a grid, as the page shows where a case lies.
fn grid_path(org: &Org, grid: &gridcase_sync_core::GridId) -> Option<String> {
    let t = org.territory(grid)?;
    let street = org.streets.get(&t.street)?;
    let community = org.communities.get(&t.community)?;
    let g = org.grids.get(grid)?;
    Some(format!("{} / {} / {}", street.name, community.name, g.name))
}

pub(super) fn new_case_page(
    v: &Viewer,
    org: &Org,
    form: &CallForm,
    problems: &Problems,
    notice: &Notice,
) -> Markup {
    let lang = v.lang;
    let (t, d) = (lang.text(), lang.desk());
    let focus = problems.keys().next().copied().unwrap_or(Field::Name);
    let bad = |f: Field| problems.contains_key(&f).then_some("true");
    let note_id = |f: Field| problems.contains_key(&f).then(|| format!("e-{}", f.name()));
    let error = |f: Field| {
        html! {
            @if let Some(p) = problems.get(&f) {
                span.field-error id={ "e-" (f.name()) } { (message(d, f, *p)) }
            }
        }
    };
    // One field: its label, its control, and what is wrong with it.
    let field = |f: Field, label: &str, class: &str, control: Markup| {
        html! {
            div.field.wide[class == "wide"].tall[class == "tall"] {
                label for={ "f-" (f.name()) } { (label) }
                (control)
                (error(f))
            }
        }
    };
    let grids = org.grids_in(&v.caller.user.scope);
    let chosen = gridcase_sync_core::GridId::from(form.grid.as_str());
    let place = grid_path(org, &chosen).unwrap_or_else(|| "—".into());
    let saved = match notice {
        Notice::Saved { summary, .. } => Some(summary.id.as_str()),
        _ => None,
    };
    let draft = if matches!(notice, Notice::None | Notice::Saved { .. }) {
        "restore"
    } else {
        "keep"
    };
    let units = org.units.len().clamp(2, 6);
    let body = html! {
        @match notice {
            Notice::Saved { summary, again } => {
                section.saved role="status" {
                    h2 {
                        @if *again { (d.saved_again) }
                        @else if summary.answered_directly { (d.answered) }
                        @else { (d.saved) }
                    }
                    p { (d.read_to_caller) }
                    @if let Some(number) = number_of(summary) {
                        p.case-number { span { (d.case_number) } strong #saved-number { (number) } }
                    }
                    p.case-id { span { (d.case_id) } code #saved-case { (summary.id) } }
                    p.small { (lang.status(summary.status)) " · " (summary.description) }
                    p { a #saved-link href={ "/cases/" (summary.id) } { (d.open_case) } }
                }
            }
            Notice::Problems => { p.notice.error role="alert" { (d.fix_below) } }
            Notice::Refused(code) => { p.notice.error role="alert" { (t.refused) ": " (lang.refusal(code)) } }
            Notice::Outdated => { p.notice.error role="alert" { (d.form_outdated) } }
            Notice::None => {}
        }
        p #draft-restored .notice.done role="status" hidden { (d.draft_restored) }
        form #call-form .desk method="post" action="/cases/new" autocomplete="off"
            data-draft=(draft) data-saved=[saved] data-no-match=(d.no_address) {
            input type="hidden" name="token" value=(form.token);
            div.panels {
                fieldset.panel #caller {
                    legend { (d.caller) }
                    (field(Field::Name, d.name, "", html! {
                        input #f-caller_name name="caller_name" value=(form.name)
                            maxlength=(limits::PERSON_NAME) autofocus[focus == Field::Name]
                            aria-invalid=[bad(Field::Name)] aria-describedby=[note_id(Field::Name)];
                    }))
                    (field(Field::Phone, d.phone, "", html! {
                        input #f-phone name="phone" type="tel" inputmode="tel" value=(form.phone)
                            maxlength=(limits::CONTACT) autofocus[focus == Field::Phone]
                            aria-invalid=[bad(Field::Phone)] aria-describedby=[note_id(Field::Phone)];
                    }))
                    (field(Field::CallerAddress, d.caller_address, "", html! {
                        input #f-caller_address name="caller_address" value=(form.caller_address)
                            maxlength=(limits::ADDRESS) autofocus[focus == Field::CallerAddress]
                            aria-invalid=[bad(Field::CallerAddress)] aria-describedby=[note_id(Field::CallerAddress)];
                    }))
                    label.check {
                        input #f-anonymous type="checkbox" name="anonymous" value="1" checked[form.anonymous];
                        (d.anonymous)
                    }
                    (field(Field::Callback, d.callback, "", html! {
                        select #f-callback name="callback" autofocus[focus == Field::Callback]
                            aria-invalid=[bad(Field::Callback)] aria-describedby=[note_id(Field::Callback)] {
                            option value="yes" selected[form.callback] { (t.yes) }
                            option value="no" selected[!form.callback] { (t.no) }
                        }
                    }))
                    (field(Field::BusinessType, d.business_type, "", html! {
                        select #f-business_type name="business_type" autofocus[focus == Field::BusinessType]
                            aria-invalid=[bad(Field::BusinessType)] aria-describedby=[note_id(Field::BusinessType)] {
                            option value="" { (d.choose) }
                            @for b in BusinessType::ALL {
                                option value=(b.as_str()) selected[form.business_type == b.as_str()] { (lang.business_type(*b)) }
                            }
                        }
                    }))
                }
                fieldset.panel #where {
                    legend { (d.place) }
                    (field(Field::Address, t.address, "", html! {
                        div.combo {
                            input #f-address name="address" value=(form.address) maxlength=(limits::ADDRESS)
                                placeholder=(d.address_hint) role="combobox" aria-autocomplete="list"
                                aria-expanded="false" aria-controls="address-options"
                                data-search="/v1/addresses" data-next="f-category"
                                autofocus[focus == Field::Address]
                                aria-invalid=[bad(Field::Address)] aria-describedby=[note_id(Field::Address)];
                            ul #address-options .options role="listbox" hidden {}
                        }
                        p #place .place aria-live="polite" { (place) }
                    }))
                    (field(Field::Grid, t.grid, "", html! {
                        select #f-grid name="grid" autofocus[focus == Field::Grid]
                            aria-invalid=[bad(Field::Grid)] aria-describedby=[note_id(Field::Grid)] {
                            option value="" data-path="—" { (d.grid_from_address) }
                            @for grid in &grids {
                                @let path = grid_path(org, grid).unwrap_or_else(|| grid.to_string());
                                option value=(grid) data-path=(path) selected[*grid == chosen] {
                                    (org.grids.get(grid).map_or(grid.as_str(), |g| g.name.as_str()))
                                }
                            }
                        }
                    }))
                    div.field {
                        div.pair {
                            label for="f-lon" { (d.longitude) }
                            label for="f-lat" { (d.latitude) }
                            input #f-lon name="lon" inputmode="decimal" value=(form.lon)
                                autofocus[focus == Field::Coordinates]
                                aria-invalid=[bad(Field::Coordinates)] aria-describedby=[note_id(Field::Coordinates)];
                            input #f-lat name="lat" inputmode="decimal" value=(form.lat)
                                aria-invalid=[bad(Field::Coordinates)];
                        }
                        (error(Field::Coordinates))
                    }
                }
                fieldset.panel #what {
                    legend { (d.what) }
                    (field(Field::Category, t.category, "", html! {
                        div.combo {
                            input #f-category name="category" list="categories" value=(form.category)
                                placeholder=(d.category_hint) autofocus[focus == Field::Category]
                                aria-invalid=[bad(Field::Category)] aria-describedby=[note_id(Field::Category)];
                        }
                        datalist #categories {
                            @for c in Catalog::standard().small_categories() {
                                option value={ (c.code().as_str()) " " (lang.pick(c.name, c.name_en)) } {}
                            }
                        }
                    }))
                    (field(Field::Level, t.level, "", html! {
                        select #f-level name="level" autofocus[focus == Field::Level]
                            aria-invalid=[bad(Field::Level)] aria-describedby=[note_id(Field::Level)] {
                            @for l in Level::ALL {
                                option value=(l.as_str()) selected[form.level == l.as_str()] { (lang.level(l)) }
                            }
                        }
                    }))
                    (field(Field::Description, t.description, "wide", html! {
                        textarea #f-description name="description" rows="4" maxlength=(limits::DESCRIPTION)
                            autofocus[focus == Field::Description]
                            aria-invalid=[bad(Field::Description)] aria-describedby=[note_id(Field::Description)] {
                            (form.description)
                        }
                    }))
                    div.field.wide #answer-choice {
                        label.check {
                            input #f-answer_directly type="checkbox" name="answer_directly" value="1"
                                checked[form.answer_directly];
                            (d.answer_directly)
                        }
                    }
                    (field(Field::Answer, d.answer, "wide", html! {
                        textarea #f-answer name="answer" rows="3" maxlength=(limits::NOTE)
                            placeholder=(d.answer_hint) autofocus[focus == Field::Answer]
                            aria-invalid=[bad(Field::Answer)] aria-describedby=[note_id(Field::Answer)] {
                            (form.answer)
                        }
                    }))
                    (field(Field::Suggestion, t.suggestion, "wide", html! {
                        textarea #f-suggestion name="suggestion" rows="2" maxlength=(limits::SUGGESTION)
                            autofocus[focus == Field::Suggestion]
                            aria-invalid=[bad(Field::Suggestion)] aria-describedby=[note_id(Field::Suggestion)] {
                            (form.suggestion)
                        }
                    }))
                    (field(Field::Lead, d.lead_unit, "", html! {
                        div.combo {
                            input #f-lead name="lead" list="units" value=(form.lead) placeholder=(d.lead_hint)
                                autofocus[focus == Field::Lead]
                                aria-invalid=[bad(Field::Lead)] aria-describedby=[note_id(Field::Lead)];
                        }
                        datalist #units {
                            @for (id, u) in &org.units { option value={ (id) " " (u.name) } {} }
                        }
                    }))
                    (field(Field::Cooperating, d.cooperating_units, "tall", html! {
                        select #f-cooperating name="cooperating" multiple size=(units)
                            title=(d.cooperating_hint) autofocus[focus == Field::Cooperating]
                            aria-invalid=[bad(Field::Cooperating)] aria-describedby=[note_id(Field::Cooperating)] {
                            @for (id, u) in &org.units {
                                option value=(id) selected[form.cooperating.iter().any(|c| c == id.as_str())] { (u.name) }
                            }
                        }
                    }))
                    (field(Field::Responsible, t.responsible, "", html! {
                        input #f-responsible name="responsible" value=(form.responsible)
                            maxlength=(limits::PERSON_NAME) data-last
                            autofocus[focus == Field::Responsible]
                            aria-invalid=[bad(Field::Responsible)] aria-describedby=[note_id(Field::Responsible)];
                    }))
                }
                (hints(v))
            }
            div.save {
                button #save type="submit" { (d.save) }
                span.keys { (d.keys) }
            }
        }
    };
    page(v, d.new_case, Nav::NewCase, Live::Off, body)
}

/// The panels beside the form that the script fills as the call goes: the number's earlier
/// cases, and the open cases the call may repeat (with a button to attach the call to one).
/// The script builds their rows from the JSON API, so the words it needs (the statuses' names
/// among them) are handed over here, in the reader's language.
fn hints(v: &Viewer) -> Markup {
    let lang = v.lang;
    let d = lang.desk();
    let statuses: serde_json::Map<String, serde_json::Value> = gridcase_sync_core::Status::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), lang.status(Some(*s)).into()))
        .collect();
    let words = serde_json::json!({
        "statuses": statuses,
        "repeat_none": d.repeat_none,
        "duplicates_none": d.duplicates_none,
        "attach": d.attach,
        "not_same": d.not_same,
        "same_address": d.same_address,
        "metres": d.metres,
        "new_tab": d.opens_in_new_tab,
    });
    html! {
        aside #hints .hints data-words=(words.to_string()) {
            section #repeat-caller .panel.hint aria-live="polite" data-search="/v1/callers/cases" {
                h2 { (d.repeat_caller) }
                p.waiting { (d.repeat_waiting) }
                ol.found {}
            }
            section #duplicates .panel.hint aria-live="polite" data-search="/v1/cases/duplicates" {
                h2 { (d.duplicates) }
                p.small { (d.duplicates_rule) }
                p.waiting { (d.duplicates_waiting) }
                ol.found {}
            }
        }
    }
}
