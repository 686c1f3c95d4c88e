//! The case page: derived state, the callers as the viewer may see them, the merged timeline
//! (offline-made and superseded events marked, photos shown), conflicts with their resolution,
//! and the actions the rules allow: the step forms, the callback (回访) and another caller.

use super::case_work;
use super::i18n::{authors, Lang};
use super::layout::{page, Live, Nav};
use super::{place, upload, PageError, PageQuery, Place, Viewer};
use crate::auth::now_millis;
use crate::callers::{is_caller_id, CallerView, Source};
use crate::cases::{case_view, CaseView, HistoryEntry};
use crate::district_time::when;
use crate::error::Error;
use crate::AppState;
use axum::extract::{Path, State};
use gridcase_sync_core::event::{DeclineReason, Satisfaction};
use gridcase_sync_core::fold::ExtensionAsk;
use gridcase_sync_core::fold::{CaseState, Disposition};
use gridcase_sync_core::org::Org;
use gridcase_sync_core::rules::{self, check, permits};
use gridcase_sync_core::{
    tiers, Action, ActionKind, Actor, CaseId, Catalog, Level, Millis, Status, WorkCalendar,
};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    pub done: Option<String>,
    pub refused: Option<String>,
    /// The desk's call (its form's token) that was attached to this case as another caller:
    /// the page says so, and the script forgets that call's draft.
    pub attached: Option<String>,
    /// The form (an action kind) whose field the refusal is about: shown at that field too.
    pub form: Option<String>,
}

/// An event counts as made offline when a handheld delivered it more than this long after its
/// device time. Device clocks drift, so this marks, it never orders.
const OFFLINE_AFTER_MS: i64 = 5 * 60_000;

fn offline(entry: &HistoryEntry) -> bool {
    match (&entry.via, entry.received_at) {
        (Some(via), Some(received)) => {
            !via.starts_with("online:") && received - entry.event.at > OFFLINE_AFTER_MS
        }
        _ => false,
    }
}

/// Photos an event names.
fn photos(action: &Action) -> &[String] {
    match action {
        Action::Intake(i) => &i.photos,
        Action::Handle { photos, .. }
        | Action::Feedback { photos, .. }
        | Action::Verify { photos, .. }
        | Action::SelfHandle { photos, .. } => photos,
        Action::Attach { blobs } => blobs,
        _ => &[],
    }
}

/// What an event said, in a line: its note, reason, unit or verdict.
fn detail(lang: Lang, org: &Org, action: &Action) -> String {
    let t = lang.text();
    let yes_no = |b: bool| if b { t.yes } else { t.no };
    match action {
        Action::Intake(i) => match i.business_type {
            Some(b) => format!(
                "{} · {} · {}",
                lang.channel(i.channel),
                lang.business_type(b),
                i.description
            ),
            None => format!("{} · {}", lang.channel(i.channel), i.description),
        },
        Action::Confirm { exists, note } => {
            format!("{}: {} {}", lang.calls().exists, yes_no(*exists), note)
        }
        Action::File(f) => format!(
            "{} · {} · {}",
            lang.category(f.category.as_str()),
            lang.level(f.level),
            f.units
                .iter()
                .map(|u| place(org, Place::Unit, Some(u.as_str())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Action::Decline { note, .. } => note.clone(),
        Action::Dispatch {
            unit,
            deadline,
            lead,
            ..
        } => {
            let unit = place(org, Place::Unit, Some(unit.as_str()));
            let unit = if *lead {
                format!("{unit} · {}", lang.work().lead_unit)
            } else {
                unit
            };
            match deadline {
                Some(d) => format!("{unit} · {} {}", t.deadline, when(*d)),
                None => unit,
            }
        }
        Action::Handle { note, .. } | Action::SelfHandle { note, .. } => note.clone(),
        Action::Feedback { resolved, note, .. } | Action::Verify { resolved, note, .. } => {
            format!("{}: {} {}", t.solved, yes_no(*resolved), note)
        }
        Action::Evaluate {
            satisfaction,
            solved,
            note,
        } => format!(
            "{} {}",
            [
                satisfaction.map(|s| lang.satisfaction(s).to_owned()),
                solved.map(|s| format!("{}: {}", t.solved, yes_no(s))),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
            note
        ),
        Action::Extend { hours, reason, .. } | Action::ExtensionRequest { hours, reason } => {
            lang.extension(*hours, reason)
        }
        Action::Close { note } | Action::Release { note } | Action::Acknowledge { note } => {
            note.clone()
        }
        Action::RefuseExtension { reason, .. } => reason.clone(),
        Action::Return { reason }
        | Action::Hold { reason }
        | Action::Void { reason }
        | Action::Reopen { reason }
        | Action::Escalate { reason } => reason.clone(),
        Action::Comment { text } => text.clone(),
        Action::Attach { blobs } => format!("{} × {}", t.photos, blobs.len()),
        Action::MarkDuplicate { of } => of.to_string(),
        Action::Resolve { note, .. } | Action::Adopt { note, .. } => note.clone(),
        Action::Answer { answer } => answer.clone(),
        Action::CallerAdded { note, .. } => note.clone(),
        Action::Callback {
            reached,
            solved,
            satisfaction,
            note,
            ..
        } => {
            let said = if *reached {
                [
                    satisfaction.map(|s| lang.satisfaction(s).to_owned()),
                    solved.map(|s| format!("{}: {}", t.solved, yes_no(s))),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ")
            } else {
                t.not_reached.to_owned()
            };
            format!("{said} {note}")
        }
        // Written by a later release: its stored name, for whoever upgrades to read it.
        Action::Unknown(unknown) => unknown.kind.clone(),
    }
}

/// The step forms the console offers on a case page, when the rules permit them to the viewer,
/// in the order of the seven steps, then the side actions. A hotline or web report waits at
/// 待核实 for its confirmation: a center confirms it here when the grid has no worker to do it
/// on site. The handling, feedback and verification forms take photos (处置、反馈、核查照片,
/// `upload`).
/// Not offered here: `intake` (the desk's page), `self_handle` (a grid worker's, on site),
/// `attach` (photos), `caller_added` and `callback` (their own forms), `resolve` (per conflict).
const OFFERED: [ActionKind; 22] = [
    ActionKind::Confirm,
    ActionKind::Answer,
    ActionKind::File,
    ActionKind::Decline,
    ActionKind::MarkDuplicate,
    ActionKind::Dispatch,
    ActionKind::Acknowledge,
    ActionKind::Handle,
    ActionKind::Feedback,
    ActionKind::ExtensionRequest,
    ActionKind::Return,
    ActionKind::Verify,
    ActionKind::Close,
    ActionKind::Evaluate,
    ActionKind::Extend,
    ActionKind::RefuseExtension,
    ActionKind::Hold,
    ActionKind::Release,
    ActionKind::Escalate,
    ActionKind::Reopen,
    ActionKind::Void,
    ActionKind::Comment,
];

pub async fn show(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    PageQuery(notice): PageQuery<Notice>,
) -> Result<Markup, PageError> {
    let (s, caller) = (state.clone(), v.caller.clone());
    let case = CaseId::new(id);
    let (view, org) = crate::blocking(move || {
        Ok::<_, Error>((case_view(&s, &caller, &case)?, s.directory.org()?))
    })
    .await?;
    let work = Work {
        now: now_millis(),
        calendar: &state.ledger.calendar,
        arbitration: state.config.arbitration_after_returns,
    };
    Ok(case_page(&v, &view, &org, &notice, &work))
}

/// What the page needs beyond the case: the time, the calendar (to show what a conflict's
/// sides would do) and after how many returns the lead unit is named (arbitration).
struct Work<'a> {
    now: Millis,
    calendar: &'a WorkCalendar,
    arbitration: u32,
}

fn case_page(v: &Viewer, view: &CaseView, org: &Org, notice: &Notice, work: &Work<'_>) -> Markup {
    let lang = v.lang;
    let t = lang.text();
    let st = &view.state;
    let actor = v.caller.actor();
    let may = |kind: ActionKind| permits(st, &actor, kind).is_ok();
    let pending = st.pending_extension.as_ref();
    // An answer is offered where the rule table would take one (a consultation only): asked
    // with a sample answer, since its payload is what decides.
    let offered = |kind: ActionKind| match kind {
        ActionKind::Answer => check(
            st,
            &actor,
            &Action::Answer {
                answer: "—".into()
            },
        )
        .is_ok(),
        // Answering a unit's extension request is the dispatching tier's: asked with the
        // request itself, since the rules decide it by the payload.
        ActionKind::Extend => match pending {
            Some(ask) => check(st, &actor, &grant(ask)).is_ok(),
            None => may(kind),
        },
        // Acknowledged once per dispatch (the rules take a repeat from an offline device).
        ActionKind::Acknowledge => st.acknowledged_at.is_none() && may(kind),
        ActionKind::RefuseExtension => pending.is_some_and(|ask| {
            check(
                st,
                &actor,
                &Action::RefuseExtension {
                    request: ask.event.clone(),
                    reason: "—".into(),
                },
            )
            .is_ok()
        }),
        _ => may(kind),
    };
    let c = lang.calls();
    let territory = st.territory.as_ref();
    let title = format!("{} {}", t.case, view.number.as_deref().unwrap_or(&view.id));
    let open_conflicts: Vec<_> = st.open_conflicts().collect();
    let authors = authors(view.history.iter().map(|h| &h.event));
    let body = html! {
        @if let Some(kind) = notice.done.as_deref().and_then(ActionKind::parse) {
            p.notice.done role="status" {
                (t.done) ": " (lang.kind(kind))
                @if kind == ActionKind::Callback && v.caller.user.role.takes_calls() {
                    " · " a #back-to-worklist href="/callbacks" { (c.back_to_worklist) }
                }
            }
        }
        @if let Some(call) = notice.attached.as_deref().filter(|t| is_caller_id(t)) {
            p #attached .notice.done role="status" data-forget-draft=(call) { (c.attached) }
        }
        @if let Some(code) = &notice.refused {
            p.notice.error role="alert" { (t.refused) ": " (lang.refusal(code)) }
        }
        section #live {
            div.state {
                span class={ "status big " (st.status.map_or("", Status::as_str)) } { (lang.status(st.status)) }
                @if view.overdue { span.badge.overdue { (t.overdue) } }
                @if !open_conflicts.is_empty() { span.badge.conflict { (t.conflicts) " " (open_conflicts.len()) } }
            }
            dl.facts {
                dt { (t.number) } dd {
                    span.number { (view.number.as_deref().unwrap_or("—")) } " "
                    code.small { (view.id) }
                }
                dt { (t.description) } dd { (st.description) }
                dt { (t.category) } dd { (st.category.as_ref().map(|c| lang.category(c.as_str())).unwrap_or_else(|| "—".into())) }
                dt { (t.level) } dd { (st.level.map(|l| lang.level(l)).unwrap_or("—")) }
                dt { (t.street) " / " (t.community) " / " (t.grid) } dd {
                    (place(org, Place::Street, territory.map(|t| t.street.as_str()))) " / "
                    (place(org, Place::Community, territory.map(|t| t.community.as_str()))) " / "
                    (place(org, Place::Grid, territory.map(|t| t.grid.as_str())))
                }
                dt { (t.address) } dd { (st.address.as_deref().unwrap_or("—")) }
                dt { (t.channel) } dd { (st.channel.map(|c| lang.channel(c)).unwrap_or("—")) }
                dt { (lang.desk().business_type) } dd #business-type { (st.business_type.map(|b| lang.business_type(b)).unwrap_or("—")) }
                dt { (t.reported_by) } dd {
                    (st.reported_by.as_ref().map(|u| u.to_string()).unwrap_or_default()) " "
                    (st.reported_at.map(when).unwrap_or_default())
                }
                dt { (t.unit) } dd { (place(org, Place::Unit, st.assigned_unit.as_ref().map(|u| u.as_str()))) }
                dt { (t.responsible) } dd { (st.responsible.as_deref().unwrap_or("—")) }
                dt { (t.deadline) } dd { (st.deadline.map(when).unwrap_or_else(|| "—".into())) }
                dt { (t.closed_at) } dd { (st.closed_at.map(when).unwrap_or_else(|| "—".into())) }
                dt { (t.rework) } dd { (st.rework_count) }
                dt { (t.satisfaction) } dd { (st.satisfaction.map(|s| lang.satisfaction(s)).unwrap_or("—")) }
                (case_work::facts(lang, org, view, work.now))
            }
            // A patrol's own report has no callers; a viewer who may not see them sees none.
            @if !view.callers.is_empty() {
                (callers_panel(lang, st, &view.callers))
            }
            @if !st.unit_chain.is_empty() {
                section #unit-chain {
                    h2 { (t.unit_chain) @if st.returns > 0 { " " span.badge.bounced { (t.returned) " " (st.returns) } } }
                    table.chain {
                        thead { tr { th { (t.unit) } th { (t.dispatched_at) } th { (lang.work().acknowledged_col) } th { (t.returned) } } }
                        tbody {
                            @for link in &st.unit_chain {
                                tr class=[link.returned_at.map(|_| "returned")] {
                                    td {
                                        (place(org, Place::Unit, Some(link.unit.as_str())))
                                        @if link.lead { " " span.badge.lead { (lang.work().lead_unit) } }
                                    }
                                    td { (when(link.dispatched_at)) }
                                    td {
                                        (link.acknowledged_at.map(when).unwrap_or_else(|| "—".into()))
                                        @if link.response_late_at(work.now) { " " span.badge.overdue { (lang.work().response_late) } }
                                    }
                                    td {
                                        @if let Some(at) = link.returned_at {
                                            (when(at)) " · " (link.return_reason.as_deref().unwrap_or(""))
                                        } @else { "—" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !st.deadline_history.is_empty() {
                section #deadline-history {
                    h2 { (t.deadline_history) }
                    table.chain {
                        thead { tr { th { (t.event) } th { (t.author) } th { (t.device_time) } th { (t.deadline) } } }
                        tbody {
                            @for c in &st.deadline_history {
                                tr class=[c.missed.then_some("missed")] {
                                    td { (ActionKind::parse(&c.kind).map_or(c.kind.as_str(), |k| lang.kind(k))) }
                                    td { (c.by) }
                                    td { (when(c.at)) }
                                    td {
                                        (c.from.map(when).unwrap_or_else(|| "—".into())) " → "
                                        (c.to.map(when).unwrap_or_else(|| "—".into()))
                                        @if c.missed { " " span.badge.overdue { (t.missed_deadline) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section #conflicts {
                h2 { (t.conflicts) }
                @if open_conflicts.is_empty() { p.empty { (t.no_conflicts) } }
                @for c in &st.conflicts {
                    div class={ "conflict-card" @if c.resolved_by.is_some() { " resolved" } } data-event=(c.event) {
                        p {
                            strong { (lang.conflict_reason(&c.reason)) } ": "
                            span title=(c.message) { (lang.conflict(c, &authors)) }
                            @if c.resolved_by.is_some() { " " span.badge.done { (t.resolved) } }
                        }
                        p.small { (t.event) " " code { (c.event) } " · " (t.against) " "
                            @for a in &c.against { code { (a) } " " } }
                        @if c.resolved_by.is_none() && may(ActionKind::Resolve) {
                            form.inline method="post" action={ "/cases/" (view.id) "/act" } {
                                input type="hidden" name="kind" value="resolve";
                                input type="hidden" name="conflict" value=(c.event);
                                (case_work::decision(lang, view, &actor, c, work.now, work.calendar))
                                input name="note" placeholder=(t.note);
                                button.resolve type="submit" { (t.resolve) }
                            }
                        }
                    }
                }
            }
            section #timeline {
                h2 { (t.timeline) }
                table.timeline {
                    thead { tr {
                        th { (t.event) } th { (t.details) } th { (t.author) } th { (t.device) }
                        th { (t.device_time) } th { (t.received) } th {}
                    } }
                    tbody {
                        @for entry in &view.history {
                            @let unknown = matches!(entry.event.action, Action::Unknown(_));
                            @let superseded = !unknown && entry.disposition == Some(Disposition::Superseded);
                            tr class={ @if superseded { "superseded" } @else if unknown { "unknown" } } data-event=(entry.event.id) {
                                td { (lang.kind(entry.event.kind())) }
                                td {
                                    (detail(lang, org, &entry.event.action))
                                    @let shots = photos(&entry.event.action);
                                    @if !shots.is_empty() {
                                        div.photos { @for sha in shots {
                                            a href={ "/v1/blobs/" (sha) } { img src={ "/v1/blobs/" (sha) } alt=(t.photos) loading="lazy"; }
                                        } }
                                    }
                                }
                                td { (entry.event.author) " · " (lang.role(entry.event.role)) }
                                td.small { (entry.event.device) }
                                td.time { (when(entry.event.at)) }
                                td.time { (entry.received_at.map(when).unwrap_or_else(|| "—".into())) }
                                td.flags {
                                    @if unknown {
                                        span.badge.unknown { (t.not_understood) }
                                    } @else if let Some(d) = entry.disposition.filter(|d| *d != Disposition::Applied) {
                                        span class={ "badge " (if superseded { "superseded" } else { "concurred" }) } { (lang.disposition(d)) }
                                    }
                                    @if offline(entry) { span.badge.offline { (t.offline) } }
                                    @if entry.flag.is_some() { span.badge.flagged title=[entry.flag.as_deref()] { (t.flagged) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section #actions {
            h2 { (t.actions) }
            @if may(ActionKind::Callback) {
                @if let Some(form) = callback_form(lang, view, may(ActionKind::Reopen), may(ActionKind::Escalate)) {
                    (form)
                }
            }
            @for kind in OFFERED.into_iter().filter(|k| offered(*k)) {
                (action_form(lang, org, view, kind, field_refusal(notice, kind), &actor, work))
            }
            @if may(ActionKind::CallerAdded) {
                (caller_form(lang, &view.id))
            }
        }
    };
    page(v, &title, Nav::Cases, Live::Case(&view.id), body)
}

/// A select's options, `chosen` selected (else the first).
fn options(pairs: impl IntoIterator<Item = (String, String)>, chosen: Option<&str>) -> Markup {
    html! { @for (value, text) in pairs { option value=(value) selected[chosen == Some(value.as_str())] { (text) } } }
}

/// Who called about the case, as the viewer may see them: the desk whole, community
/// workstations and supervisors masked (and told so); who still waits for a callback.
fn callers_panel(lang: Lang, st: &CaseState, callers: &[CallerView]) -> Markup {
    let c = lang.calls();
    let due = st.callbacks_due();
    let waiting = |caller: &CallerView| {
        due.iter().any(|d| match d {
            Some(id) => *id == caller.id,
            None => caller.source == Source::Legacy,
        })
    };
    html! {
        section #callers {
            h2 { (c.callers) }
            @if callers.is_empty() {
                p.empty { (c.no_callers) }
            } @else {
                ul.callers {
                    @for caller in callers {
                        li data-caller=(caller.id) {
                            strong { (if caller.name.is_empty() { c.anonymous } else { caller.name.as_str() }) }
                            @if let Some(phone) = &caller.phone { " " span.number { (phone) } }
                            @if let Some(contact) = &caller.contact { " " span { (contact) } }
                            @if let Some(address) = &caller.address { " · " span.small { (address) } }
                            " " span.badge.source { (lang.caller_source(caller.source)) }
                            @if caller.callback { " " span.badge.callback { (c.wants_callback) } }
                            @if waiting(caller) { " " span.badge.overdue { (c.callback_due) } }
                            @if caller.masked { " " span.badge.masked title=(c.masked_hint) { (c.masked) } }
                            " " span.time.small { (when(caller.added_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// 回访: whom, whether they were reached, what they said, and what follows for a caller who
/// is not satisfied (the follow-ups the rules allow here). The callers still waiting come
/// first; a case from before the register calls back its intake's caller (no record id).
/// None when there is nobody to call (a patrol's report).
fn callback_form(lang: Lang, view: &CaseView, reopen: bool, escalate: bool) -> Option<Markup> {
    let (t, c) = (lang.text(), lang.calls());
    let due = view.state.callbacks_due();
    let mut choices: Vec<(String, String, bool)> = view
        .callers
        .iter()
        .map(|caller| {
            let id = match caller.source {
                Source::Legacy => String::new(),
                _ => caller.id.clone(),
            };
            let waiting = due.iter().any(|d| d.as_deref().unwrap_or_default() == id);
            let name = if caller.name.is_empty() {
                c.anonymous
            } else {
                &caller.name
            };
            let phone = caller
                .phone
                .as_deref()
                .or(caller.contact.as_deref())
                .unwrap_or("—");
            let label = if waiting {
                format!("{name} {phone} · {}", c.callback_due)
            } else {
                format!("{name} {phone}")
            };
            (id, label, waiting)
        })
        .collect();
    if choices.iter().all(|(id, _, _)| !id.is_empty()) && due.contains(&None) {
        choices.push((String::new(), c.first_caller.to_owned(), true));
    }
    if choices.is_empty() {
        return None;
    }
    choices.sort_by_key(|(_, _, waiting)| !waiting);
    let yes_no = || html! { option value="yes" { (t.yes) } option value="no" { (t.no) } };
    Some(html! {
        form.action #callback tabindex="-1" method="post" action={ "/cases/" (view.id) "/callback" } data-kind="callback" {
            h3 { (c.callback) }
            input type="hidden" name="token" value=(CaseId::generate());
            label { (c.callback_caller) select #cb-caller name="caller" {
                @for (id, label, _) in &choices { option value=(id) { (label) } }
            } }
            label { (c.reached) select #cb-reached name="reached" { (yes_no()) } }
            label { (t.satisfaction) select #cb-satisfaction name="satisfaction" {
                option value="" { "—" }
                @for s in [Satisfaction::Satisfied, Satisfaction::Basic, Satisfaction::Dissatisfied] {
                    option value=(satisfaction_code(s)) { (lang.satisfaction(s)) }
                }
            } }
            label { (t.solved) select #cb-solved name="solved" { option value="" { "—" } (yes_no()) } }
            @if reopen || escalate {
                label { (c.follow_up) select #cb-follow_up name="follow_up" {
                    option value="" { (c.follow_none) }
                    @if reopen { option value="reopen" { (c.follow_reopen) } }
                    @if escalate { option value="supervisor" { (c.follow_supervisor) } }
                } }
            }
            label { (t.note) input #cb-note name="note" maxlength=(gridcase_sync_core::limits::NOTE); }
            button type="submit" { (c.record_callback) }
        }
    })
}

/// 追加来电人: another resident calling about this case. The form carries the caller record's
/// id, minted now, so a form sent twice records one caller.
fn caller_form(lang: Lang, case: &str) -> Markup {
    let (t, c, d) = (lang.text(), lang.calls(), lang.desk());
    use gridcase_sync_core::limits;
    html! {
        form.action #add-caller method="post" action={ "/cases/" (case) "/callers" } data-kind="caller_added" {
            h3 { (c.add_caller) }
            input type="hidden" name="token" value=(CaseId::generate());
            label { (d.name) input name="caller_name" maxlength=(limits::PERSON_NAME); }
            label { (d.phone) input name="phone" type="tel" inputmode="tel" maxlength=(limits::CONTACT); }
            label { (d.caller_address) input name="caller_address" maxlength=(limits::ADDRESS); }
            label { (d.callback) select name="callback" {
                option value="yes" { (t.yes) } option value="no" { (t.no) }
            } }
            label.check { input type="checkbox" name="anonymous" value="1"; (d.anonymous) }
            label { (c.add_caller_note) input name="note" maxlength=(limits::NOTE); }
            button type="submit" { (c.add_caller) }
        }
    }
}

/// A step's form. Its choices start at the case's own values (its category, level and unit)
/// rather than the first of each list.
fn action_form(
    lang: Lang,
    org: &Org,
    view: &CaseView,
    kind: ActionKind,
    refused: Option<&str>,
    actor: &Actor,
    work: &Work<'_>,
) -> Markup {
    let (t, w) = (lang.text(), lang.work());
    use gridcase_sync_core::limits;
    let id = |field: &str| format!("{}-{field}", kind.as_str());
    // A required field left empty comes back marked, with what is missing said beside it.
    let error = |code: &str| -> Markup {
        html! {
            @if refused == Some(code) {
                span.field-error id=(id("error")) role="alert" { (lang.refusal(code)) }
            }
        }
    };
    let invalid = |code: &str| (refused == Some(code)).then_some("true");
    let described = |code: &str| (refused == Some(code)).then(|| id("error"));
    let reason_field = || {
        html! {
            label { (t.reason)
                input #(id("reason")) name="reason" required maxlength=(limits::NOTE)
                    aria-invalid=[invalid("reason_required")] aria-describedby=[described("reason_required")]
                    autofocus[refused == Some("reason_required")];
                (error("reason_required"))
            }
        }
    };
    let note_field = || html! { label { (t.note) input name="note" maxlength=(limits::NOTE); } };
    let photo_field = || {
        html! {
            label { (t.photos_field)
                input #(id("photo")) type="file" name=(upload::FIELD) accept=(upload::ACCEPT) multiple
                    aria-invalid=[PHOTO_REFUSALS.iter().find_map(|c| invalid(c))]
                    aria-describedby=[PHOTO_REFUSALS.iter().find_map(|c| described(c))]
                    autofocus[PHOTO_REFUSALS.iter().any(|c| refused == Some(*c))];
                @for code in PHOTO_REFUSALS { (error(code)) }
            }
        }
    };
    let takes_photos = matches!(
        kind,
        ActionKind::Handle | ActionKind::Feedback | ActionKind::Verify | ActionKind::SelfHandle
    );
    let resolved_field = |chosen: bool| {
        html! {
            label { (t.problem_resolved) select name="resolved" {
                option value="yes" selected[chosen] { (t.yes) }
                option value="no" selected[!chosen] { (t.no) }
            } }
        }
    };
    let (case, st) = (view.id.as_str(), &view.state);
    let unit = st
        .assigned_unit
        .as_ref()
        .or(st.units_involved.first())
        .map(|u| u.as_str());
    // Only the units the viewer's tier commands (分级分类), as the commands will check.
    let units = || {
        options(
            tiers::dispatchable(&actor.scope, org).map(|(id, u)| (id.to_string(), u.name.clone())),
            unit,
        )
    };
    let pending = st.pending_extension.as_ref();
    html! {
        form.action method="post" action={ "/cases/" (case) "/act" } data-kind=(kind.as_str())
            enctype=[takes_photos.then_some("multipart/form-data")] {
            h3 { (lang.kind(kind)) }
            input type="hidden" name="kind" value=(kind.as_str());
            @match kind {
                ActionKind::Confirm => {
                    label { (lang.calls().exists) select name="exists" {
                        option value="yes" { (t.yes) } option value="no" { (t.no) }
                    } }
                    label { (t.note) input name="note"; }
                }
                ActionKind::Answer => {
                    label { (lang.calls().answer) textarea name="answer" rows="3" required maxlength=(gridcase_sync_core::limits::NOTE) {} }
                }
                ActionKind::File => {
                    label { (t.category) select name="category" required {
                        (options(Catalog::standard().small_categories().iter().map(|c| (c.code().as_str().to_owned(), format!("{} {}", c.code().as_str(), lang.pick(c.name, c.name_en)))), st.category.as_ref().map(|c| c.as_str())))
                    } }
                    label { (t.level) select name="level" {
                        (options(Level::ALL.iter().map(|l| (l.as_str().to_owned(), lang.level(*l).to_owned())), st.level.map(Level::as_str)))
                    } }
                    label { (t.unit) select name="unit" { option value="" { "—" } (units()) } }
                    label { (t.suggestion) input name="note"; }
                }
                ActionKind::Dispatch => {
                    label { (t.unit) select name="unit" required { (units()) } }
                    label { (w.responsible) input name="responsible" maxlength=(limits::PERSON_NAME) value=[st.responsible.as_deref()]; }
                    label { (t.deadline_hours) input type="number" name="hours" min="1" max=(gridcase_sync_core::limits::EXTEND_HOURS); }
                    // After as many returns as start arbitration, naming the lead is the default.
                    label.check { input #dispatch-lead type="checkbox" name="lead" value="yes"
                        checked[work.arbitration > 0 && st.returns >= work.arbitration && !st.arbitrated()]; (w.name_lead) }
                }
                ActionKind::Acknowledge => {
                    (note_field())
                }
                ActionKind::ExtensionRequest => {
                    label { (w.hours_asked) input #(id("hours")) type="number" name="hours" min="1" max=(rules::extension_limit(st)) required; }
                    (reason_field())
                }
                ActionKind::RefuseExtension => {
                    @if let Some(ask) = pending {
                        input type="hidden" name="request" value=(ask.event);
                        p.small { (w.extension_asked.replace("{hours}", &ask.hours.to_string())) " · " (ask.reason) }
                    }
                    (reason_field())
                }
                ActionKind::Evaluate => {
                    label { (t.satisfaction) select name="satisfaction" {
                        option value="" { "—" }
                        @for s in [Satisfaction::Satisfied, Satisfaction::Basic, Satisfaction::Dissatisfied] {
                            option value=(satisfaction_code(s)) { (lang.satisfaction(s)) }
                        }
                    } }
                    label { (t.solved) select name="solved" {
                        option value="" { "—" } option value="true" { (t.yes) } option value="false" { (t.no) }
                    } }
                    label { (t.note) input name="note"; }
                }
                ActionKind::Extend => {
                    @if let Some(ask) = pending {
                        input type="hidden" name="request" value=(ask.event);
                        p.small { (w.extension_asked.replace("{hours}", &ask.hours.to_string())) " · " (ask.reason) }
                        label { (t.extend_hours) input #(id("hours")) type="number" name="hours" min="1" max=(rules::extension_limit(st)) value=(ask.hours) required; }
                    } @else {
                        label { (t.extend_hours) input #(id("hours")) type="number" name="hours" min="1" max=(gridcase_sync_core::limits::EXTEND_HOURS) required; }
                    }
                    (reason_field())
                }
                ActionKind::Reopen | ActionKind::Return | ActionKind::Hold
                | ActionKind::Void | ActionKind::Escalate => {
                    (reason_field())
                }
                ActionKind::Decline => {
                    label { (t.reason) select name="reason" required {
                        (options(DECLINE_REASONS.iter().map(|r| (decline_code(*r).to_owned(), lang.decline_reason(*r).to_owned())), Some(decline_code(default_decline(st)))))
                    } }
                    (note_field())
                }
                ActionKind::MarkDuplicate => {
                    label { (t.duplicate_of)
                        input #(id("of")) name="of" required maxlength="64" placeholder="DC-20261130-0001"
                            value=[st.duplicate_of.as_ref().map(|c| c.as_str())]
                            aria-invalid=[invalid("of_required").or(invalid("duplicate_unknown"))]
                            aria-describedby=[described("of_required").or(described("duplicate_unknown"))]
                            autofocus[refused.is_some()];
                        (error("of_required")) (error("duplicate_unknown"))
                    }
                }
                ActionKind::Feedback => {
                    (resolved_field(true))
                    (note_field())
                    (photo_field())
                }
                ActionKind::Verify => {
                    // As the unit reported it, for the center to confirm or overturn.
                    (resolved_field(st.feedback_resolved.unwrap_or(true)))
                    (note_field())
                    (photo_field())
                }
                ActionKind::Close | ActionKind::Release => {
                    (note_field())
                }
                _ => {
                    label { (t.note)
                        input #(id("note")) name="note" required maxlength=(limits::NOTE)
                            aria-invalid=[invalid("note_required")] aria-describedby=[described("note_required")]
                            autofocus[refused == Some("note_required")];
                        (error("note_required"))
                    }
                    @if takes_photos { (photo_field()) }
                }
            }
            button type="submit" { (t.submit) }
        }
    }
}

/// The refusals of a form's photos, shown at its file input.
const PHOTO_REFUSALS: [&str; 4] = [
    "not_an_image",
    "photo_too_large",
    "too_many_photos",
    "upload_too_large",
];

/// The grant of a unit's extension request as asked.
fn grant(ask: &ExtensionAsk) -> Action {
    Action::Extend {
        hours: ask.hours,
        reason: "—".into(),
        request: Some(ask.event.clone()),
    }
}

/// The refusal a form shows at its field: only for the form the refusal names.
fn field_refusal(notice: &Notice, kind: ActionKind) -> Option<&str> {
    let form = notice.form.as_deref().and_then(ActionKind::parse)?;
    (form == kind)
        .then_some(notice.refused.as_deref())
        .flatten()
}

const DECLINE_REASONS: [DeclineReason; 4] = [
    DeclineReason::Duplicate,
    DeclineReason::OutOfJurisdiction,
    DeclineReason::NotActionable,
    DeclineReason::NotFound,
];

fn decline_code(r: DeclineReason) -> &'static str {
    match r {
        DeclineReason::Duplicate => "duplicate",
        DeclineReason::OutOfJurisdiction => "out_of_jurisdiction",
        DeclineReason::NotActionable => "not_actionable",
        DeclineReason::NotFound => "not_found",
    }
}

/// A decline's reason as the case suggests it: one already given, a duplicate already named,
/// a report waiting for its confirmation (not found on site), else the first.
fn default_decline(st: &CaseState) -> DeclineReason {
    match (st.decline_reason, &st.duplicate_of, st.status) {
        (Some(r), _, _) => r,
        (None, Some(_), _) => DeclineReason::Duplicate,
        (None, None, Some(Status::AwaitingConfirmation)) => DeclineReason::NotFound,
        _ => DeclineReason::Duplicate,
    }
}

fn satisfaction_code(s: Satisfaction) -> &'static str {
    match s {
        Satisfaction::Satisfied => "satisfied",
        Satisfaction::Basic => "basic",
        Satisfaction::Dissatisfied => "dissatisfied",
    }
}
