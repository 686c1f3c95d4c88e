//! The case page: derived state, the merged timeline (offline-made and superseded events
//! marked, photos shown), conflicts with their resolution, and the actions the rules allow.

use super::i18n::{authors, Lang};
use super::layout::{page, Live, Nav};
use super::{place, PageError, PageQuery, Place, Viewer};
use crate::cases::{case_view, CaseView, HistoryEntry};
use crate::district_time::when;
use crate::error::Error;
use crate::AppState;
use axum::extract::{Path, State};
use gridcase_sync_core::event::Satisfaction;
use gridcase_sync_core::fold::Disposition;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::rules::permits;
use gridcase_sync_core::{Action, ActionKind, CaseId, Catalog, Level, Status};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    pub done: Option<String>,
    pub refused: Option<String>,
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
        Action::Confirm { exists, note } => format!("{} {}", yes_no(*exists), note),
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
        Action::Dispatch { unit, deadline, .. } => match deadline {
            Some(d) => format!(
                "{} · {} {}",
                place(org, Place::Unit, Some(unit.as_str())),
                t.deadline,
                when(*d)
            ),
            None => place(org, Place::Unit, Some(unit.as_str())),
        },
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
        Action::Extend { hours, reason } => lang.extension(*hours, reason),
        Action::Close { note } | Action::Release { note } => note.clone(),
        Action::Return { reason }
        | Action::Hold { reason }
        | Action::Void { reason }
        | Action::Reopen { reason }
        | Action::Escalate { reason } => reason.clone(),
        Action::Comment { text } => text.clone(),
        Action::Attach { blobs } => format!("{} × {}", t.photos, blobs.len()),
        Action::MarkDuplicate { of } => of.to_string(),
        Action::Resolve { note, .. } => note.clone(),
        // Written by a later release: its stored name, for whoever upgrades to read it.
        Action::Unknown(unknown) => unknown.kind.clone(),
    }
}

/// The actions the console offers on a case page, when the rules permit them to the viewer.
const OFFERED: [ActionKind; 6] = [
    ActionKind::File,
    ActionKind::Dispatch,
    ActionKind::Reopen,
    ActionKind::Evaluate,
    ActionKind::Extend,
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
    Ok(case_page(&v, &view, &org, &notice))
}

fn case_page(v: &Viewer, view: &CaseView, org: &Org, notice: &Notice) -> Markup {
    let lang = v.lang;
    let t = lang.text();
    let st = &view.state;
    let actor = v.caller.actor();
    let may = |kind: ActionKind| permits(st, &actor, kind).is_ok();
    let territory = st.territory.as_ref();
    let title = format!("{} {}", t.case, view.number.as_deref().unwrap_or(&view.id));
    let open_conflicts: Vec<_> = st.open_conflicts().collect();
    let authors = authors(view.history.iter().map(|h| &h.event));
    let body = html! {
        @if let Some(kind) = notice.done.as_deref().and_then(ActionKind::parse) {
            p.notice.done role="status" { (t.done) ": " (lang.kind(kind)) }
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
                                @if may(ActionKind::Reopen) {
                                    select name="decision" aria-label=(t.decision) {
                                        option value="keep" { (t.keep_outcome) }
                                        option value="reopen" { (t.reopen_case) }
                                    }
                                }
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
            @for kind in OFFERED.into_iter().filter(|k| may(*k)) {
                (action_form(lang, org, &view.id, kind))
            }
        }
    };
    page(v, &title, Nav::Cases, Live::Case(&view.id), body)
}

fn options(pairs: impl IntoIterator<Item = (String, String)>) -> Markup {
    html! { @for (value, text) in pairs { option value=(value) { (text) } } }
}

fn action_form(lang: Lang, org: &Org, case: &str, kind: ActionKind) -> Markup {
    let t = lang.text();
    let units = || {
        options(
            org.units
                .iter()
                .map(|(id, u)| (id.to_string(), u.name.clone())),
        )
    };
    html! {
        form.action method="post" action={ "/cases/" (case) "/act" } data-kind=(kind.as_str()) {
            h3 { (lang.kind(kind)) }
            input type="hidden" name="kind" value=(kind.as_str());
            @match kind {
                ActionKind::File => {
                    label { (t.category) select name="category" required {
                        (options(Catalog::standard().small_categories().iter().map(|c| (c.code().as_str().to_owned(), format!("{} {}", c.code().as_str(), lang.pick(c.name, c.name_en))))))
                    } }
                    label { (t.level) select name="level" {
                        (options(Level::ALL.iter().map(|l| (l.as_str().to_owned(), lang.level(*l).to_owned()))))
                    } }
                    label { (t.unit) select name="unit" { option value="" { "—" } (units()) } }
                    label { (t.suggestion) input name="note"; }
                }
                ActionKind::Dispatch => {
                    label { (t.unit) select name="unit" required { (units()) } }
                    label { (t.deadline_hours) input type="number" name="hours" min="1" max=(gridcase_sync_core::limits::EXTEND_HOURS); }
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
                    label { (t.extend_hours) input type="number" name="hours" min="1" max=(gridcase_sync_core::limits::EXTEND_HOURS) required; }
                    label { (t.reason) input name="reason" required; }
                }
                ActionKind::Reopen => {
                    label { (t.reason) input name="reason" required; }
                }
                _ => {
                    label { (t.note) input name="note" required; }
                }
            }
            button type="submit" { (t.submit) }
        }
    }
}

fn satisfaction_code(s: Satisfaction) -> &'static str {
    match s {
        Satisfaction::Satisfied => "satisfied",
        Satisfaction::Basic => "basic",
        Satisfaction::Dissatisfied => "dissatisfied",
    }
}
