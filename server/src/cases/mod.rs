//! The case service: what users do with cases and see of them, for every front that offers it
//! (the JSON API in `routes::cases`, the console, Open311). Opening and acting run the same
//! sync-core commands the handhelds run and write through [`crate::ledger::Ledger::write`];
//! lists walk the query index; a case's view is its merged history with receipts; the review
//! queue holds conflicts and flagged events. Who may see a case is decided here, once.

mod act;
mod callback;
mod callers;
mod duplicates;
pub mod export;
mod list;
mod open;
mod queue;
mod turns;
mod view;

pub use act::{act_online, act_online_all, open_online, CreateCase};
pub use callback::{
    callback_due_at, callback_worklist, record_callback, CallbackInput, CallbackItem, FollowUp,
};
pub use callers::{add_caller, callers_seen, cases_of_phone, redact, CallerAdded, PhoneQuery};
pub use duplicates::{duplicates, Duplicate, DuplicateQuery};
pub use list::{
    list_page, numbers_of, review_entries, review_items, CaseFilter, CaseListItem, CaseNumbers,
    CasePage, NumbersQuery, ReviewItem,
};
pub use open::{open_call, Call, Opened};
pub use queue::{queue, Queue, QueueSection, Section, SECTION_CASES};
pub use view::{case_view, CaseView, HistoryEntry};

use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::summary::CaseSummary;
use crate::AppState;
use gridcase_sync_core::fold::{fold, CaseState};
use gridcase_sync_core::org::Territory;
use gridcase_sync_core::rules::{covers_case, in_scope};
use gridcase_sync_core::{CaseDoc, CaseId, Role, Scope, Status};
use serde::Serialize;

// What an online write did: the case, its last new event and the status it left. (A plain
// comment: a doc comment would change the published OpenAPI description.)
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Written {
    pub case: String,
    pub event: String,
    pub status: Option<Status>,
    /// The case's number, to read to the caller (`DC-20261130-0042`).
    pub number: Option<String>,
}

/// The roles that work the review queue.
pub const REVIEWERS: &[Role] = &[
    Role::DistrictCenter,
    Role::StreetCenter,
    Role::CommunityWorkstation,
    Role::Supervisor,
];

/// Whether a stored case summary is inside a scope.
pub fn summary_in_scope(scope: &Scope, s: &CaseSummary) -> bool {
    let territory = Territory::from_parts(
        s.street.as_deref(),
        s.community.as_deref(),
        s.grid.as_deref(),
    );
    let units = s.units.iter().map(|u| u.as_str().into()).collect();
    covers_case(scope, territory.as_ref(), &units)
}

/// Loads a case the caller may see. Unknown and outside the caller's scope answer alike
/// (404), so that a case id tells nobody outside its scope that it exists.
fn visible_case(state: &AppState, caller: &Caller, id: &CaseId) -> Result<(CaseDoc, CaseState)> {
    let unseen = || Error::NotFound(format!("no case {id} in your scope"));
    let doc = state.ledger.load(id)?.ok_or_else(unseen)?;
    let folded = fold(&doc.events()?, &state.ledger.calendar);
    if !in_scope(&caller.user.scope, &folded) {
        return Err(unseen());
    }
    Ok((doc, folded))
}
