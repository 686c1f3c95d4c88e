//! The review queue: cases with open conflicts or events flagged on arrival, in the viewer's
//! scope, each linking to its case page where the conflict is resolved.

use super::i18n::authors;
use super::layout::{page, Live, Nav};
use super::{PageError, Viewer};
use crate::cases::review_entries;
use crate::district_time::when;
use crate::AppState;
use axum::extract::State;
use gridcase_sync_core::Status;
use maud::{html, Markup};

pub async fn queue(State(state): State<AppState>, v: Viewer) -> Result<Markup, PageError> {
    let (s, caller) = (state.clone(), v.caller.clone());
    let entries = crate::blocking(move || review_entries(&s, &caller)).await?;
    let authors = authors(entries.iter().flat_map(|(_, events)| events));
    let items: Vec<_> = entries.into_iter().map(|(item, _)| item).collect();
    let lang = v.lang;
    let t = lang.text();
    let body = html! {
        section #live {
            @if items.is_empty() {
                p.empty { (t.review_empty) }
            } @else {
                table.cases.review {
                    thead { tr {
                        th { (t.created) } th { (t.status) } th { (t.description) }
                        th { (t.conflicts) } th { (t.flagged_events) }
                    } }
                    tbody {
                        @for item in &items {
                            tr data-case=(item.case.id) class="conflict" {
                                td.time { (when(item.case.created_at)) }
                                td { span class={ "status " (item.case.status.map_or("", Status::as_str)) } { (lang.status(item.case.status)) } }
                                td.desc { a href={ "/cases/" (item.case.id) } { (item.case.description) } }
                                td {
                                    @for c in &item.conflicts {
                                        div title=(c.message) { strong { (lang.conflict_reason(&c.reason)) } ": " (lang.conflict(c, &authors)) }
                                    }
                                }
                                td { (item.flagged.len()) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, t.nav_review, Nav::Review, Live::List, body))
}
