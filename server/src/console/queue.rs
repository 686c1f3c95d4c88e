//! 工作台: the landing page after sign-in, every role's queue (`cases::queue`): what waits for
//! the signed-in user now, section by section, each with its count and its cases by deadline.
//! Kept current by the live script like the case list; `j`/`k` move through the rows and
//! Enter opens one.

use super::layout::{page, Live, Nav};
use super::{place, PageError, Place, Viewer};
use crate::cases::{queue, Section, SECTION_CASES};
use crate::district_time::when;
use crate::error::Error;
use crate::AppState;
use axum::extract::State;
use gridcase_sync_core::Status;
use maud::{html, Markup};

/// `GET /queue`.
pub async fn show(State(state): State<AppState>, v: Viewer) -> Result<Markup, PageError> {
    let (s, caller) = (state.clone(), v.caller.clone());
    let (q, org) =
        crate::blocking(move || Ok::<_, Error>((queue(&s, &caller)?, s.directory.org()?))).await?;
    let lang = v.lang;
    let (t, w) = (lang.text(), lang.work());
    let now = q.at;
    let waiting: usize = q.sections.iter().map(|s| s.count).sum();
    let body = html! {
        p.keys { (w.queue_keys) }
        section #live {
            nav.queue-summary aria-label=(w.queue) {
                @for section in &q.sections {
                    a href={ "#q-" (section.section.as_str()) }
                        class={ "count " @if section.count == 0 { "zero" } } {
                        (w.section(section.section)) " " strong { (section.count) }
                    }
                }
            }
            @if q.partial { p.notice role="status" { (w.partial) } }
            @if q.sections.is_empty() || waiting == 0 {
                p.empty { (w.nothing_waits) }
            }
            @for section in q.sections.iter().filter(|s| s.count > 0) {
                section.queue id={ "q-" (section.section.as_str()) } data-section=(section.section.as_str()) {
                    h2 { (w.section(section.section)) " " span.badge { (section.count) } }
                    @if section.count > SECTION_CASES {
                        p.small { (w.first_of.replace("{n}", &SECTION_CASES.to_string())) }
                    }
                    table.cases.worklist data-rows="" {
                        thead { tr {
                            th { (t.number) } th { (t.status) } th { (t.category) } th { (t.grid) }
                            th { (t.unit) } th { (t.deadline) } th {}
                        } }
                        tbody {
                            @for s in &section.cases {
                                @let overdue = s.overdue_at(now);
                                tr data-case=(s.id) class=[overdue.then_some("overdue")] {
                                    td.number { a.row-link href={ "/cases/" (s.id) } { (s.number.as_deref().unwrap_or(&s.id)) } }
                                    td { span class={ "status " (s.status.map_or("", Status::as_str)) } { (lang.status(s.status)) } }
                                    td { (s.category.as_deref().map(|c| lang.category(c)).unwrap_or_else(|| "—".into())) }
                                    td { (place(&org, Place::Grid, s.grid.as_deref())) }
                                    td { (place(&org, Place::Unit, s.unit.as_deref())) }
                                    td.time { (s.deadline.map(when).unwrap_or_else(|| "—".into())) }
                                    td.flags {
                                        @if overdue { span.badge.overdue { (t.overdue) } }
                                        @if s.response_late_at(now) { span.badge.overdue { (w.response_late) } }
                                        @if let Some(hours) = s.extension_requested {
                                            span.badge.flagged { (w.extension_asked.replace("{hours}", &hours.to_string())) }
                                        }
                                        @if s.returns > 0 { span.badge.bounced { (t.returned) " " (s.returns) } }
                                        @if s.lead_unit.is_some() { span.badge.lead { (w.lead_unit) } }
                                        @if s.open_conflicts > 0 { span.badge.conflict { (t.conflicts) " " (s.open_conflicts) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, w.queue, Nav::Queue, Live::List, body))
}

impl super::work_text::WorkText {
    /// A section's heading.
    pub fn section(&self, s: Section) -> &'static str {
        let i = match s {
            Section::ToConfirm => 0,
            Section::ToFile => 1,
            Section::ToDispatch => 2,
            Section::Returned => 3,
            Section::Arbitration => 4,
            Section::ExtensionRequests => 5,
            Section::Unacknowledged => 6,
            Section::ToAcknowledge => 7,
            Section::InProgress => 8,
            Section::DueSoon => 9,
            Section::Overdue => 10,
            Section::ToVerify => 11,
            Section::ToClose => 12,
            Section::DispatchedByUs => 13,
            Section::Escalated => 14,
        };
        self.sections[i]
    }
}
