//! A case as the caller sees it: its derived state and its merged history, each event with
//! the receipt of its arrival.

use super::visible_case;
use crate::auth::{now_millis, Caller};
use crate::error::Result;
use crate::AppState;
use gridcase_sync_core::fold::{CaseState, Disposition};
use gridcase_sync_core::{CaseId, ChangeHash, Event, EventId};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub event: Event,
    pub disposition: Option<Disposition>,
    /// Server receipt time; absent for events the server has not seen arrive (none today).
    pub received_at: Option<i64>,
    pub via: Option<String>,
    /// The automerge change behind the event (hex).
    pub change: Option<String>,
    pub flag: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: String,
    /// The number the ledger gave the case when it first received it (`DC-20261130-0042`).
    pub number: Option<String>,
    pub overdue: bool,
    pub state: CaseState,
    /// Every event in merged (causal) order, superseded ones included.
    pub history: Vec<HistoryEntry>,
    pub attachments: Vec<gridcase_sync_core::Attachment>,
    /// Who called about the case, as the viewer may see them (whole for the hotline desk,
    /// masked for community workstations and supervisors, none for others; ARCHITECTURE,
    /// "Who sees what").
    pub callers: Vec<crate::callers::CallerView>,
}

/// A case's derived state and merged history with receipts, if the caller may see it.
pub fn case_view(state: &AppState, caller: &Caller, id: &CaseId) -> Result<CaseView> {
    let _span = tracing::info_span!("case", case = %id).entered();
    caller.require_reader()?;
    let (doc, folded) = visible_case(state, caller, id)?;
    let mut receipts = state.ledger.receipts(id)?;
    let all = doc.events()?;
    // Under a reused id, the event the fold judged (the other is named by a conflict).
    let events: HashMap<&EventId, &Event> = gridcase_sync_core::fold::dedupe(&all)
        .0
        .into_iter()
        .map(|e| (&e.id, e))
        .collect();
    // The change of that very entry: receipts written since 2026-12-01 leave it to the
    // document, which names it entry for entry.
    let changes: HashMap<&EventId, ChangeHash> = all
        .iter()
        .zip(doc.changes_in_order())
        .filter(|(e, _)| {
            events
                .get(&e.id)
                .is_some_and(|judged| std::ptr::eq(*judged, *e))
        })
        .filter_map(|(e, change)| Some((&e.id, change?)))
        .collect();
    let sight = crate::callers::sight(caller.user.role, folded.business_type);
    let history = folded
        .timeline
        .iter()
        .filter_map(|t| {
            let mut event = (*events.get(&t.event)?).clone();
            super::redact(&mut event, sight);
            let receipt = receipts.remove(t.event.as_str());
            Some(HistoryEntry {
                disposition: Some(t.disposition),
                received_at: receipt.as_ref().map(|r| r.received_at),
                via: receipt.as_ref().map(|r| r.via.clone()),
                change: receipt
                    .as_ref()
                    .and_then(|r| r.change.clone())
                    .or_else(|| changes.get(&t.event).map(|h| h.to_string())),
                flag: receipt.and_then(|r| r.flag),
                event,
            })
        })
        .collect();
    let callers = super::callers_seen(state, caller, id, &all, &folded)?;
    Ok(CaseView {
        callers,
        id: id.to_string(),
        number: state.ledger.number(id)?,
        overdue: folded.overdue_at(now_millis()),
        attachments: doc.attachments()?,
        history,
        state: folded,
    })
}
