//! The case list (the API's filters as a form, overdue and conflicted cases marked) and the
//! case page: derived state, the merged timeline, conflicts, and the actions the rules allow.

use super::i18n::{Authors, Lang};
use super::layout::{page, Live, Nav};
use super::{given, parse_date, place, when, Form, PageError, Place, Viewer};
use crate::auth::now_millis;
use crate::error::Error;
use crate::routes::cases::{act_online, case_view, list_page, CaseFilter, CaseView, HistoryEntry};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use gridcase_sync_core::event::{Filing, Satisfaction};
use gridcase_sync_core::fold::Disposition;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::rules::permits;
use gridcase_sync_core::{
    Action, ActionKind, CaseId, Catalog, CategoryCode, EventId, Level, Scope, Status, WorkCalendar,
};
use maud::{html, Markup};
use serde::Deserialize;

/// Filters as the list's form sends them: empty fields are no filter, dates are local days.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub step: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub grid: Option<String>,
    pub unit: Option<String>,
    pub category: Option<String>,
    pub level: Option<String>,
    pub overdue: Option<String>,
    pub conflict: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub q: Option<String>,
    pub cursor: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Result<CaseFilter, Error> {
        let day = |s: &Option<String>, what: &str| -> Result<Option<i64>, Error> {
            given(s)
                .map(|d| {
                    parse_date(&d).ok_or_else(|| Error::BadRequest(format!("bad {what} date {d}")))
                })
                .transpose()
        };
        Ok(CaseFilter {
            status: given(&self.status),
            street: given(&self.street),
            community: given(&self.community),
            grid: given(&self.grid),
            unit: given(&self.unit),
            category: given(&self.category),
            level: given(&self.level),
            overdue: given(&self.overdue).map(|_| true),
            has_conflict: given(&self.conflict).map(|_| true),
            created_from: day(&self.from, "from")?,
            // The "to" day is included: the filter's bound is exclusive.
            created_to: day(&self.to, "to")?.map(|t| t + 86_400_000),
            q: given(&self.q),
            limit: Some(50),
            cursor: given(&self.cursor),
            step: given(&self.step)
                .map(|s| {
                    s.parse()
                        .map_err(|_| Error::BadRequest(format!("bad step {s}")))
                })
                .transpose()?,
        })
    }

    /// This query with another cursor, for the next page's link.
    fn with_cursor(&self, cursor: &str) -> String {
        let mut pairs: Vec<(&str, String)> = [
            ("status", &self.status),
            ("step", &self.step),
            ("street", &self.street),
            ("community", &self.community),
            ("grid", &self.grid),
            ("unit", &self.unit),
            ("category", &self.category),
            ("level", &self.level),
            ("overdue", &self.overdue),
            ("conflict", &self.conflict),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
        ]
        .into_iter()
        .filter_map(|(k, v)| given(v).map(|v| (k, v)))
        .collect();
        pairs.push(("cursor", cursor.to_owned()));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// The parts of the organization a scope sees, for the filter's choices.
struct Places {
    streets: Vec<(String, String)>,
    communities: Vec<(String, String)>,
    grids: Vec<(String, String)>,
    units: Vec<(String, String)>,
}

impl Places {
    fn of(org: &Org, scope: &Scope) -> Places {
        let visible = |grid: &gridcase_sync_core::GridId| {
            matches!(scope, Scope::Unit(_)) || org.territory(grid).is_some_and(|t| scope.covers(&t))
        };
        let grids: Vec<_> = org.grids.iter().filter(|(id, _)| visible(id)).collect();
        let communities: Vec<(String, String)> = org
            .communities
            .iter()
            .filter(|(id, _)| grids.iter().any(|(_, g)| &g.community == *id))
            .map(|(id, c)| (id.to_string(), c.name.clone()))
            .collect();
        let streets = org
            .streets
            .iter()
            .filter(|(id, _)| {
                org.communities.iter().any(|(cid, c)| {
                    &c.street == *id && communities.iter().any(|(v, _)| v == cid.as_str())
                })
            })
            .map(|(id, s)| (id.to_string(), s.name.clone()))
            .collect();
        let units = org
            .units
            .iter()
            .filter(|(id, _)| !matches!(scope, Scope::Unit(u) if u != *id))
            .map(|(id, u)| (id.to_string(), u.name.clone()))
            .collect();
        Places {
            streets,
            communities,
            grids: grids
                .into_iter()
                .map(|(id, g)| (id.to_string(), g.name.clone()))
                .collect(),
            units,
        }
    }
}

fn select(
    name: &str,
    label: &str,
    any: &str,
    options: &[(String, String)],
    chosen: &Option<String>,
) -> Markup {
    html! {
        label {
            (label)
            select name=(name) {
                option value="" { (any) }
                @for (value, text) in options {
                    option value=(value) selected[chosen.as_deref() == Some(value.as_str())] { (text) }
                }
            }
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Markup, PageError> {
    let filter = q.filter()?;
    let (s, caller) = (state.clone(), v.caller.clone());
    let (page_of_cases, org) = tokio::task::spawn_blocking(move || {
        Ok::<_, Error>((list_page(&s, &caller, &filter)?, s.directory.org()?))
    })
    .await
    .map_err(Error::internal)??;
    let lang = v.lang;
    let t = lang.text();
    let places = Places::of(&org, &v.caller.user.scope);
    let statuses: Vec<(String, String)> = Status::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), lang.status(Some(*s)).to_owned()))
        .collect();
    let categories: Vec<(String, String)> = Catalog::standard()
        .small_categories()
        .iter()
        .map(|c| {
            (
                c.code().as_str().to_owned(),
                format!("{} {}", c.code().as_str(), lang.pick(c.name, c.name_en)),
            )
        })
        .collect();
    let steps: Vec<(String, String)> = (1..=7u8)
        .map(|n| (n.to_string(), format!("{n} {}", lang.step(n))))
        .collect();
    let levels: Vec<(String, String)> = Level::ALL
        .iter()
        .map(|l| (l.as_str().to_owned(), lang.level(*l).to_owned()))
        .collect();
    let body = html! {
        form #filters .filters method="get" action="/cases" {
            (select("step", t.step, t.any, &steps, &q.step))
            (select("status", t.status, t.any, &statuses, &q.status))
            (select("street", t.street, t.any, &places.streets, &q.street))
            (select("community", t.community, t.any, &places.communities, &q.community))
            (select("grid", t.grid, t.any, &places.grids, &q.grid))
            (select("unit", t.unit, t.any, &places.units, &q.unit))
            (select("category", t.category, t.any, &categories, &q.category))
            (select("level", t.level, t.any, &levels, &q.level))
            label { (t.created_from) input type="date" name="from" value=[given(&q.from)]; }
            label { (t.created_to) input type="date" name="to" value=[given(&q.to)]; }
            label { (t.search) input type="search" name="q" value=[given(&q.q)]; }
            label.check { input type="checkbox" name="overdue" value="1" checked[given(&q.overdue).is_some()]; (t.overdue) }
            label.check { input type="checkbox" name="conflict" value="1" checked[given(&q.conflict).is_some()]; (t.conflicted) }
            button type="submit" { (t.filter) }
            a.button href="/cases" { (t.clear) }
        }
        section #live {
            @if page_of_cases.cases.is_empty() {
                p.empty { (t.no_cases) }
            } @else {
                table.cases {
                    thead { tr {
                        th { (t.created) } th { (t.status) } th { (t.description) } th { (t.category) }
                        th { (t.grid) } th { (t.unit) } th { (t.deadline) } th {}
                    } }
                    tbody {
                        @for item in &page_of_cases.cases {
                            @let s = &item.summary;
                            tr data-case=(s.id) class={
                                @if item.overdue { "overdue " }
                                @if s.open_conflicts > 0 { "conflict" }
                            } {
                                td.time { (when(s.created_at)) }
                                td { span class={ "status " (s.status.map_or("", Status::as_str)) } { (lang.status(s.status)) } }
                                td.desc { a href={ "/cases/" (s.id) } { (excerpt(&s.description, 40)) } }
                                td { (s.category.as_deref().map(|c| lang.category(c)).unwrap_or_else(|| "—".into())) }
                                td { (place(&org, Place::Grid, s.grid.as_deref())) }
                                td { (place(&org, Place::Unit, s.unit.as_deref())) }
                                td.time { (s.deadline.map(when).unwrap_or_else(|| "—".into())) }
                                td.flags {
                                    @if item.overdue { span.badge.overdue { (t.overdue) } }
                                    @if s.open_conflicts > 0 { span.badge.conflict { (t.conflicts) " " (s.open_conflicts) } }
                                    @if s.flagged_events > 0 { span.badge.flagged { (t.flagged) } }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = &page_of_cases.next {
                    p { a.next href={ "/cases?" (q.with_cursor(next)) } { (t.next_page) " →" } }
                }
            }
        }
    };
    Ok(page(&v, t.nav_cases, Nav::Cases, Live::List, body))
}

fn excerpt(text: &str, chars: usize) -> String {
    let mut out: String = text.chars().take(chars).collect();
    if text.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}

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
        Action::Intake(i) => format!("{} · {}", lang.channel(i.channel), i.description),
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
        Action::Extend { hours, reason } => format!("+{hours} h · {reason}"),
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
    Query(notice): Query<Notice>,
) -> Result<Markup, PageError> {
    let (s, caller) = (state.clone(), v.caller.clone());
    let case = CaseId::new(id);
    let (view, org) = tokio::task::spawn_blocking(move || {
        Ok::<_, Error>((case_view(&s, &caller, &case)?, s.directory.org()?))
    })
    .await
    .map_err(Error::internal)??;
    Ok(case_page(&v, &view, &org, &notice))
}

fn case_page(v: &Viewer, view: &CaseView, org: &Org, notice: &Notice) -> Markup {
    let lang = v.lang;
    let t = lang.text();
    let st = &view.state;
    let actor = v.caller.actor();
    let may = |kind: ActionKind| permits(st, &actor, kind).is_ok();
    let territory = st.territory.as_ref();
    let title = format!("{} {}", t.case, view.id);
    let open_conflicts: Vec<_> = st
        .conflicts
        .iter()
        .filter(|c| c.resolved_by.is_none())
        .collect();
    let authors: Authors = view
        .history
        .iter()
        .map(|h| {
            (
                h.event.id.clone(),
                (h.event.kind(), h.event.author.to_string()),
            )
        })
        .collect();
    let body = html! {
        @if let Some(kind) = notice.done.as_deref().and_then(ActionKind::parse) {
            p.notice.done role="status" { (t.done) ": " (lang.kind(kind)) }
        }
        @if let Some(why) = &notice.refused {
            p.notice.error role="alert" { (t.refused) ": " (why) }
        }
        section #live {
            div.state {
                span class={ "status big " (st.status.map_or("", Status::as_str)) } { (lang.status(st.status)) }
                @if view.overdue { span.badge.overdue { (t.overdue) } }
                @if !open_conflicts.is_empty() { span.badge.conflict { (t.conflicts) " " (open_conflicts.len()) } }
            }
            dl.facts {
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
                            @let superseded = entry.disposition == Some(Disposition::Superseded);
                            tr class={ @if superseded { "superseded" } } data-event=(entry.event.id) {
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
                                    @if let Some(d) = entry.disposition.filter(|d| *d != Disposition::Applied) {
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
                }
                ActionKind::Dispatch => {
                    label { (t.unit) select name="unit" required { (units()) } }
                    label { (t.deadline_hours) input type="number" name="hours" min="1" max="8760"; }
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
                    label { (t.extend_hours) input type="number" name="hours" min="1" max="8760" required; }
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
    /// For a resolution: `reopen` sides with the superseded event and reopens the case first.
    pub decision: Option<String>,
}

impl ActForm {
    /// The events the form asks for, in order.
    fn actions(&self, now: i64, calendar: &WorkCalendar) -> Result<Vec<Action>, Error> {
        let action = self.action(now, calendar)?;
        if matches!(action, Action::Resolve { .. })
            && given(&self.decision).as_deref() == Some("reopen")
        {
            let reason =
                given(&self.note).unwrap_or_else(|| "conflict resolved by reopening".into());
            return Ok(vec![Action::Reopen { reason }, action]);
        }
        Ok(vec![action])
    }

    fn action(&self, now: i64, calendar: &WorkCalendar) -> Result<Action, Error> {
        let missing = |field: &str| Error::BadRequest(format!("{field} is required"));
        let hours = || -> Result<Option<u32>, Error> {
            given(&self.hours)
                .map(|h| {
                    h.parse::<u32>()
                        .map_err(|_| Error::BadRequest(format!("bad hours {h}")))
                })
                .transpose()
        };
        let note = given(&self.note).unwrap_or_default();
        let reason = || given(&self.reason).ok_or_else(|| missing("reason"));
        Ok(match ActionKind::parse(&self.kind) {
            Some(ActionKind::File) => {
                let code = given(&self.category).ok_or_else(|| missing("category"))?;
                Action::File(Filing {
                    category: CategoryCode::parse(&code)
                        .ok_or_else(|| Error::BadRequest(format!("bad category {code}")))?,
                    level: given(&self.level)
                        .and_then(|l| Level::parse(&l))
                        .unwrap_or(Level::General),
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
                responsible: None,
                // Working hours, as the catalog's deadlines and extensions count them.
                deadline: hours()?.map(|h| calendar.add_working_minutes(now, u64::from(h) * 60)),
            },
            Some(ActionKind::Reopen) => Action::Reopen { reason: reason()? },
            Some(ActionKind::Extend) => Action::Extend {
                hours: hours()?.ok_or_else(|| missing("hours"))?,
                reason: reason()?,
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
                solved: given(&self.solved).map(|s| s == "true"),
                note,
            },
            Some(ActionKind::Comment) => Action::Comment {
                text: given(&self.note).ok_or_else(|| missing("note"))?,
            },
            Some(ActionKind::Resolve) => Action::Resolve {
                conflict: EventId::new(given(&self.conflict).ok_or_else(|| missing("conflict"))?),
                note,
            },
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
pub async fn act(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ActForm>,
) -> Result<Response, PageError> {
    // The id goes into a Location header: anything but an id's characters names no case.
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::NotFound(format!("no case {id:?}")).into());
    }
    let back = |key: &str, value: &str| {
        let query = serde_urlencoded::to_string([(key, value)]).unwrap_or_default();
        Redirect::to(&format!("/cases/{id}?{query}")).into_response()
    };
    let actions = match form.actions(now_millis(), &state.ledger.calendar) {
        Ok(a) => a,
        Err(e) => return Ok(back("refused", &e.to_string())),
    };
    let kind = actions.last().map_or(ActionKind::Comment, Action::kind);
    let (s, caller, case) = (state.clone(), v.caller.clone(), CaseId::new(id.as_str()));
    let done = tokio::task::spawn_blocking(move || {
        actions
            .into_iter()
            .try_for_each(|a| act_online(&s, &caller, &case, a).map(drop))
    })
    .await
    .map_err(Error::internal)?;
    match done {
        Ok(()) => Ok(back("done", kind.as_str())),
        Err(e @ (Error::Core(_) | Error::BadRequest(_) | Error::Conflict(_)))
            if !e.status_and_code().0.is_server_error() =>
        {
            Ok(back("refused", &e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}
