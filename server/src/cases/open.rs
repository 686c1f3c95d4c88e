//! Taking a call at the hotline desk: the intake and what the operator decided during the call
//! (confirmation, filing, dispatch) written in one atomic batch, under a case id the desk's
//! form carried since it was shown, so that a form sent twice (a double click, a resend after
//! a lost answer, a restored draft) opens one case.

use super::callers::open_with_caller;
use super::turns::Turns;
use super::visible_case;
use crate::addresses::Lookup;
use crate::auth::Caller;
use crate::callers::CallerInput;
use crate::error::{Error, Result};
use crate::AppState;
use gridcase_sync_core::event::Intake;
use gridcase_sync_core::fold::fold;
use gridcase_sync_core::{Action, CaseId, Status};

/// A call as the desk took it.
#[derive(Debug, Clone)]
pub struct Call {
    /// Minted when the form was shown (`CaseId::generate`): the form's token.
    pub case: CaseId,
    pub intake: Intake,
    /// What follows the intake, in order (confirm, file, dispatch; or the answer of a
    /// consultation), each judged by the rule table against the case as the ones before it
    /// left it.
    pub then: Vec<Action>,
    /// Who called, for the caller register (none when anonymous): the intake names the
    /// record, the document never holds it.
    pub caller: Option<CallerInput>,
}

/// What taking a call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub case: CaseId,
    pub status: Option<Status>,
    /// The form had been sent before: this is the case it opened then; nothing was written.
    pub again: bool,
}

/// Case ids being opened now (`turns`).
static OPENING: Turns<CaseId> = Turns::new();

/// Opens the call's case with everything that follows its intake in one durable batch (all of
/// it, or nothing when the rules refuse any part), through the same commands and rule table as
/// every other write. A call whose case id is already taken by a case its caller opened
/// answers with that case and writes nothing.
pub fn open_call(state: &AppState, caller: &Caller, call: Call) -> Result<Opened> {
    let _turn = OPENING.take(call.case.clone());
    if state.ledger.load(&call.case)?.is_some() {
        return opened_before(state, caller, &call.case);
    }
    let org = state.directory.org()?;
    let address = call.intake.address.clone();
    let (doc, _) = open_with_caller(
        state,
        caller,
        &org,
        call.case.clone(),
        call.intake,
        call.then,
        call.caller,
    )?;
    let status = fold(&doc.events()?, &state.ledger.calendar).status;
    tracing::info!(case = %call.case, user = %caller.user.id, "call taken");
    if let Some(address) = address {
        if !matches!(state.addresses.lookup(&address), Lookup::Found(_)) {
            // Placed by its grid or coordinates: the register's keepers add the doorplate.
            if let Err(e) =
                state
                    .ledger
                    .note_address_miss(&address, &call.case, crate::auth::now_millis())
            {
                tracing::warn!(case = %call.case, error = %e, "address miss not noted");
            }
        }
    }
    Ok(Opened {
        case: call.case,
        status,
        again: false,
    })
}

/// The case a form opened when it was sent before. Only its own author gets it back: a form's
/// token names no other user's case (outside the scope or not, it answers alike).
fn opened_before(state: &AppState, caller: &Caller, case: &CaseId) -> Result<Opened> {
    let taken = || Error::Conflict("this form's case id is taken: open a new form".into());
    let (doc, folded) = visible_case(state, caller, case).map_err(|e| match e {
        Error::NotFound(_) => taken(),
        other => other,
    })?;
    if doc.header()?.created_by != caller.user.id {
        return Err(taken());
    }
    tracing::info!(case = %case, user = %caller.user.id, "call sent again: its case answers");
    Ok(Opened {
        case: case.clone(),
        status: folded.status,
        again: true,
    })
}
