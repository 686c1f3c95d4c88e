//! References: what an event names outside its own payload (a unit, a grid and its path, a
//! category, another case) must exist in the organization its writer knows.
//!
//! This is a check on *writing*, never on folding: the commands refuse an unknown reference
//! before the event exists (a handheld against its cached organization, the server against its
//! directory), and the server flags what a handheld wrote offline against an older
//! organization when it arrives. The fold does not call this: the organization changes, stored
//! events do not, and the fold stays a function of the events alone.

use crate::category::Catalog;
use crate::event::Action;
use crate::ids::CaseId;
use crate::org::Org;
use crate::rules::{Violation, ViolationCode};

fn unknown(message: String) -> Violation {
    Violation {
        code: ViolationCode::UnknownReference,
        message,
    }
}

/// A case is never a duplicate of itself. Needs no organization: every writer checks it.
pub fn check_not_itself(case: &CaseId, action: &Action) -> Result<(), Violation> {
    match action {
        Action::MarkDuplicate { of } if of == case => Err(unknown(format!(
            "case {case} cannot be marked a duplicate of itself"
        ))),
        _ => Ok(()),
    }
}

/// Every unit, grid (with its street and community), category and case an action on `case`
/// names is known: the units and the territory to `org`, categories to the catalog. Whether
/// another case named by `mark_duplicate` exists is for the writer who knows the cases (the
/// server); here only "itself" is refused.
pub fn check_references(case: &CaseId, action: &Action, org: &Org) -> Result<(), Violation> {
    check_not_itself(case, action)?;
    let unit_known = |unit: &crate::ids::UnitId| {
        if org.units.contains_key(unit) {
            Ok(())
        } else {
            Err(unknown(format!(
                "unit {:?} is not in the organization",
                unit.as_str()
            )))
        }
    };
    let category_known = |code: &crate::category::CategoryCode| {
        if Catalog::standard().get(code).is_some() {
            Ok(())
        } else {
            Err(unknown(format!("category {code} is not in the catalog")))
        }
    };
    match action {
        Action::Intake(intake) => {
            let t = &intake.territory;
            let Some(known) = org.territory(&t.grid) else {
                return Err(unknown(format!(
                    "grid {:?} is not in the organization",
                    t.grid.as_str()
                )));
            };
            if known != *t {
                return Err(unknown(format!(
                    "grid {} lies in community {} of street {}, \
                     not in community {} of street {}",
                    t.grid, known.community, known.street, t.community, t.street
                )));
            }
            match &intake.category {
                Some(code) => category_known(code),
                None => Ok(()),
            }
        }
        Action::File(filing) => {
            category_known(&filing.category)?;
            filing.units.iter().try_for_each(unit_known)
        }
        Action::Dispatch { unit, .. } => unit_known(unit),
        _ => Ok(()),
    }
}
