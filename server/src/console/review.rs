//! The review queue: cases with open conflicts or events flagged on arrival, in the viewer's
//! scope, each linking to its case page where the conflict is resolved.

use super::i18n::Authors;
use super::layout::{page, Live, Nav};
use super::{when, PageError, Viewer};
use crate::error::Error;
use crate::routes::cases::review_items;
use crate::AppState;
use axum::extract::State;
use gridcase_sync_core::{CaseId, Status};
use maud::{html, Markup};

pub async fn queue(State(state): State<AppState>, v: Viewer) -> Result<Markup, PageError> {
    let (s, caller) = (state.clone(), v.caller.clone());
    let (items, authors) = tokio::task::spawn_blocking(move || {
        let items = review_items(&s, &caller)?;
        // The queue is short and its documents were just loaded: cheap to read again.
        let mut authors = Authors::new();
        for item in &items {
            let Some(doc) = s.ledger.load(&CaseId::new(item.case.id.as_str()))? else {
                continue;
            };
            for e in doc.events()? {
                authors.insert(e.id.clone(), (e.kind(), e.author.to_string()));
            }
        }
        Ok::<_, Error>((items, authors))
    })
    .await
    .map_err(Error::internal)??;
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
