//! A case at a glance: what lists, indicators and handhelds show of a case, with every value
//! derived from the fold (the step, how many conflicts are open, when the case concluded...)
//! computed here, once.
//!
//! The server's stored summary (`CaseSummary::of`, from which the indicator rows are made) and
//! the handheld's list items (`CaseItem`) are projections of a [`CaseOutline`]: they choose
//! fields and their representation (text, stored names, counts as `u32`), never what a value
//! means. The fold's plain fields (territory, times, counts of reworks and extensions...) are
//! read from its state as they are, not copied into a second declaration. The outline is never
//! stored; each projection's stored form is its own.

use crate::calendar::Millis;
use crate::document::Header;
use crate::fold::{CaseState, Disposition};
use crate::ids::CaseId;
use crate::rules::Status;

/// A folded case with the values derived from it, for the records built from it.
#[derive(Debug, Clone, Copy)]
pub struct CaseOutline<'a> {
    pub id: &'a CaseId,
    /// When the case was opened (its header's time).
    pub created_at: Millis,
    /// The fold's state, whose plain fields the records read as they are.
    pub state: &'a CaseState,
    /// Step of the seven-step loop (1–7): the status's, and 1 until the intake is known.
    pub step: u8,
    /// When the case last left the open statuses; `None` while it is open.
    pub concluded_at: Option<Millis>,
    /// Events in its history, superseded and unknown ones included.
    pub events: usize,
    /// Conflicts the central office has not resolved yet.
    pub open_conflicts: usize,
}

impl<'a> CaseOutline<'a> {
    /// The outline of a folded case.
    pub fn of(header: &'a Header, state: &'a CaseState) -> CaseOutline<'a> {
        CaseOutline {
            id: &header.case,
            created_at: header.created_at,
            state,
            step: state.status.map_or(1, Status::step),
            concluded_at: concluded_at(state),
            events: state.timeline.len(),
            open_conflicts: state.open_conflicts().count(),
        }
    }
}

/// When the case last left the open statuses: the time of the applied event that moved it from
/// an open status to one that is not (a later evaluation of a closed case does not move it).
fn concluded_at(state: &CaseState) -> Option<Millis> {
    let mut concluded = None;
    let mut was_open = true;
    for t in state
        .timeline
        .iter()
        .filter(|t| t.disposition == Disposition::Applied)
    {
        let open = t.status.is_none_or(Status::is_open);
        if open {
            concluded = None;
        } else if was_open {
            concluded = Some(t.at);
        }
        was_open = open;
    }
    concluded
}
