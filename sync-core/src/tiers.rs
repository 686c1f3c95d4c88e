//! Tiered dispatch (分级分类): who may dispatch a case to which unit. The district center
//! commands every unit; a street sub-center the units of its street and of the communities in
//! it; a community workstation the units of its own community.
//!
//! Like `references`, this needs the organization (which street or community commands a
//! unit), so it is a check on *writing*: the commands refuse a dispatch outside the writer's
//! tier before the event exists (the server against its directory, a handheld against its
//! cached organization), the server refuses one arriving by sync at the gate, and the fold,
//! a function of the events alone, does not call it.

use crate::event::Action;
use crate::ids::UnitId;
use crate::org::{Org, Unit};
use crate::role::{Actor, Scope};
use crate::rules::{Violation, ViolationCode};

/// Whether a user of `scope` commands the unit: the one rule the commands, the gate and the
/// console's unit lists use.
pub fn commands(scope: &Scope, unit: &Unit, org: &Org) -> bool {
    match scope {
        Scope::District => true,
        Scope::Street(street) => {
            unit.street.as_ref() == Some(street)
                || unit.community.as_ref().is_some_and(|c| {
                    org.communities
                        .get(c)
                        .is_some_and(|community| community.street == *street)
                })
        }
        Scope::Community(community) => unit.community.as_ref() == Some(community),
        Scope::Grids(_) | Scope::Unit(_) => false,
    }
}

/// The units a user of `scope` may dispatch to, by id: what the console's dispatch form offers.
pub fn dispatchable<'a>(
    scope: &'a Scope,
    org: &'a Org,
) -> impl Iterator<Item = (&'a UnitId, &'a Unit)> {
    org.units
        .iter()
        .filter(move |(_, unit)| commands(scope, unit, org))
}

/// Refuses a dispatch to a unit outside the writer's tier. Units
/// the organization does not know are `references`' to refuse.
pub fn check_tier(actor: &Actor, action: &Action, org: &Org) -> Result<(), Violation> {
    let Action::Dispatch { unit: id, .. } = action else {
        return Ok(());
    };
    match org.units.get(id) {
        Some(unit) if !commands(&actor.scope, unit, org) => {
            let by = match (&unit.community, &unit.street) {
                (Some(c), _) => format!("community {c}"),
                (None, Some(s)) => format!("street {s}"),
                (None, None) => "the district".to_owned(),
            };
            Err(Violation {
                code: ViolationCode::NotPermitted,
                message: format!(
                    "a {} may not dispatch to unit {id}: it answers to {by}",
                    actor.role.as_str()
                ),
            })
        }
        _ => Ok(()),
    }
}
