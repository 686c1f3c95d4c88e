//! The rule table: who may do what, in which status. One table, read by the commands
//! (to refuse an action before it is written) and by the fold (to judge every merged event).

use crate::event::{Action, ActionKind, BusinessType};
use crate::fold::CaseState;
use crate::org::Territory;
use crate::role::{Actor, Role, Scope};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Derived status of a case. Never stored: computed by folding the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Reported,
    AwaitingConfirmation,
    Filed,
    Declined,
    Dispatched,
    InProgress,
    AwaitingVerification,
    /// Verified as resolved on site, waiting to be closed. The original design folded this into
    /// `awaiting_verification`; a status of its own makes "close only after a resolved
    /// verification" a plain status rule.
    Verified,
    Rework,
    Held,
    Closed,
    Evaluated,
    Voided,
}

impl Status {
    pub const ALL: [Status; 13] = [
        Status::Reported,
        Status::AwaitingConfirmation,
        Status::Filed,
        Status::Declined,
        Status::Dispatched,
        Status::InProgress,
        Status::AwaitingVerification,
        Status::Verified,
        Status::Rework,
        Status::Held,
        Status::Closed,
        Status::Evaluated,
        Status::Voided,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::AwaitingConfirmation => "awaiting_confirmation",
            Status::Filed => "filed",
            Status::Declined => "declined",
            Status::Dispatched => "dispatched",
            Status::InProgress => "in_progress",
            Status::AwaitingVerification => "awaiting_verification",
            Status::Verified => "verified",
            Status::Rework => "rework",
            Status::Held => "held",
            Status::Closed => "closed",
            Status::Evaluated => "evaluated",
            Status::Voided => "voided",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The step of the seven-step loop a case in this status is at (1–7).
    pub fn step(self) -> u8 {
        match self {
            Status::Reported | Status::AwaitingConfirmation => 1,
            Status::Filed | Status::Declined | Status::Held | Status::Voided => 2,
            Status::Dispatched => 3,
            Status::InProgress | Status::Rework => 4,
            Status::AwaitingVerification => 5,
            Status::Verified | Status::Closed => 6,
            Status::Evaluated => 7,
        }
    }

    /// Whether the case is still being worked on (its deadline runs).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            Status::Declined | Status::Closed | Status::Evaluated | Status::Voided
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who, relative to the case, may perform an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// A center (district, street, community) whose scope covers the case.
    Center,
    /// The district center only (hotline operators after the callback).
    DistrictCenter,
    /// The hotline desk: a district or street center whose scope covers the case, the
    /// centers that take and return calls.
    CallDesk,
    /// A grid worker whose grids include the case's grid.
    GridWorker,
    /// A handler of the unit the case is currently dispatched to.
    AssignedUnit,
    Supervisor,
    IntakeChannel,
    /// Anyone with a stake: a covering scope, a unit ever involved, the supervisor.
    Involved,
}

impl Party {
    /// The party's name in the published rule table.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Center => "center",
            Party::DistrictCenter => "district_center",
            Party::CallDesk => "call_desk",
            Party::GridWorker => "grid_worker",
            Party::AssignedUnit => "assigned_unit",
            Party::Supervisor => "supervisor",
            Party::IntakeChannel => "intake_channel",
            Party::Involved => "involved",
        }
    }

    /// Whether a role can be this party on some case: the half of the party's test that
    /// needs no case (scope and assignment are the other half, in `party_admits`).
    pub fn admits_role(self, role: Role) -> bool {
        match self {
            Party::Center => role.is_center(),
            Party::DistrictCenter => role == Role::DistrictCenter,
            Party::CallDesk => role.takes_calls(),
            Party::GridWorker => role == Role::GridWorker,
            Party::AssignedUnit => role == Role::UnitHandler,
            Party::Supervisor => role == Role::Supervisor,
            Party::IntakeChannel => role == Role::IntakeChannel,
            Party::Involved => role != Role::Admin,
        }
    }

    /// What the party means, for the published rule table.
    pub fn meaning(self) -> &'static str {
        match self {
            Party::Center => "a district_center, street_center or community_workstation whose scope covers the case's grid",
            Party::DistrictCenter => "a district_center user",
            Party::CallDesk => "a district_center or street_center whose scope covers the case's grid",
            Party::GridWorker => "a grid_worker whose grids include the case's grid",
            Party::AssignedUnit => "a unit_handler of the unit the case is dispatched to now",
            Party::Supervisor => "a supervisor",
            Party::IntakeChannel => "an intake_channel (Open311, web forms)",
            Party::Involved => "anyone but an admin whose scope covers the case, or a unit_handler of a unit ever named in its filing or dispatch",
        }
    }
}

/// In which statuses an action is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// Only on a case that does not exist yet.
    Nothing,
    Any,
    Open,
    These(&'static [Status]),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub kind: ActionKind,
    pub who: &'static [Party],
    pub from: From,
    /// A transition decides the case's course. Two concurrent transitions that disagree are a
    /// conflict; notes, comments and attachments never conflict.
    pub transition: bool,
}

use Status as S;
const HANDLING: &[Status] = &[S::Dispatched, S::InProgress, S::Rework];
const CENTERS: &[Party] = &[Party::Center];

macro_rules! rule {
    ($kind:ident, $who:expr, $from:expr, $transition:expr) => {
        Rule {
            kind: ActionKind::$kind,
            who: $who,
            from: $from,
            transition: $transition,
        }
    };
}

/// The table. Order follows the seven steps, then the side actions.
pub const RULES: &[Rule] = &[
    rule!(
        Intake,
        &[Party::Center, Party::GridWorker, Party::IntakeChannel],
        From::Nothing,
        true
    ),
    rule!(
        Confirm,
        &[Party::GridWorker, Party::Center],
        From::These(&[S::AwaitingConfirmation]),
        true
    ),
    rule!(File, CENTERS, From::These(&[S::Reported]), true),
    rule!(
        Decline,
        CENTERS,
        From::These(&[S::Reported, S::AwaitingConfirmation]),
        true
    ),
    rule!(
        Dispatch,
        CENTERS,
        From::These(&[S::Filed, S::Dispatched, S::InProgress, S::Rework]),
        true
    ),
    rule!(Handle, &[Party::AssignedUnit], From::These(HANDLING), false),
    rule!(Return, &[Party::AssignedUnit], From::These(HANDLING), true),
    rule!(
        Feedback,
        &[Party::AssignedUnit],
        From::These(HANDLING),
        true
    ),
    rule!(
        Verify,
        &[Party::GridWorker, Party::Center],
        From::These(&[S::AwaitingVerification]),
        true
    ),
    rule!(
        Close,
        &[Party::GridWorker, Party::Center],
        From::These(&[S::Verified]),
        true
    ),
    rule!(
        Evaluate,
        &[Party::Supervisor, Party::DistrictCenter],
        From::These(&[S::Closed]),
        true
    ),
    rule!(Extend, CENTERS, From::These(HANDLING), false),
    rule!(
        SelfHandle,
        &[Party::GridWorker],
        From::These(&[S::Reported]),
        true
    ),
    rule!(
        Hold,
        CENTERS,
        From::These(&[S::Filed, S::Dispatched, S::InProgress, S::Rework]),
        true
    ),
    rule!(Release, CENTERS, From::These(&[S::Held]), true),
    rule!(Void, CENTERS, From::Open, true),
    rule!(Comment, &[Party::Involved], From::Any, false),
    rule!(Attach, &[Party::Involved], From::Any, false),
    rule!(
        MarkDuplicate,
        CENTERS,
        From::These(&[S::Reported, S::AwaitingConfirmation, S::Filed]),
        true
    ),
    rule!(
        Reopen,
        CENTERS,
        From::These(&[S::Closed, S::Evaluated, S::Declined]),
        true
    ),
    rule!(
        Escalate,
        &[Party::GridWorker, Party::Center],
        From::Open,
        false
    ),
    rule!(
        Answer,
        &[Party::CallDesk],
        From::These(&[S::Reported, S::AwaitingConfirmation]),
        true
    ),
    rule!(CallerAdded, CENTERS, From::Open, false),
    rule!(
        Callback,
        &[Party::CallDesk],
        From::These(&[S::Closed, S::Evaluated]),
        false
    ),
    rule!(Resolve, CENTERS, From::Any, false),
    rule!(
        Acknowledge,
        &[Party::AssignedUnit],
        From::These(HANDLING),
        false
    ),
    rule!(
        ExtensionRequest,
        &[Party::AssignedUnit],
        From::These(HANDLING),
        false
    ),
    rule!(RefuseExtension, CENTERS, From::These(HANDLING), false),
    // Taking a side decides the case's course: a transition.
    rule!(Adopt, CENTERS, From::Any, true),
    // What this release cannot read, nobody may write; the fold gives it no effect.
    rule!(Unknown, &[], From::Any, false),
];

/// The table row of a kind. `RULES` lists the kinds in declaration order (a test checks it).
pub fn rule(kind: ActionKind) -> &'static Rule {
    &RULES[kind as usize]
}

/// Why an action is not allowed. `code` is stable; the message is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ViolationCode {
    /// The role and scope claimed do not fit together.
    InvalidScope,
    /// This role may never perform this action on this case.
    NotPermitted,
    /// The case lies outside the actor's scope.
    OutOfScope,
    /// The case is not dispatched to the actor's unit.
    NotAssigned,
    /// The case's status does not allow the action.
    WrongStatus,
    /// An intake on a case that already has one.
    CaseExists,
    /// An action on a case without an intake.
    NoCase,
    /// The payload is inconsistent (an unknown category, zero hours, an unknown conflict) or a
    /// field is out of its bounds (`limits`).
    InvalidPayload,
    /// The action names a unit, grid, category or case the writer's organization does not
    /// know (`references`). Refused when written; never by the fold.
    UnknownReference,
}

impl ViolationCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::InvalidScope => "invalid_scope",
            ViolationCode::NotPermitted => "not_permitted",
            ViolationCode::OutOfScope => "out_of_scope",
            ViolationCode::NotAssigned => "not_assigned",
            ViolationCode::WrongStatus => "wrong_status",
            ViolationCode::CaseExists => "case_exists",
            ViolationCode::NoCase => "no_case",
            ViolationCode::InvalidPayload => "invalid_payload",
            ViolationCode::UnknownReference => "unknown_reference",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub code: ViolationCode,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

fn violation(code: ViolationCode, message: impl Into<String>) -> Violation {
    Violation {
        code,
        message: message.into(),
    }
}

/// Whether a case is inside a scope: its territory is covered, or, for a unit, the case was
/// ever filed or dispatched to it. This decides what a device may sync and a user may see.
pub fn in_scope(scope: &Scope, state: &CaseState) -> bool {
    covers_case(scope, state.territory.as_ref(), &state.units_involved)
}

/// [`in_scope`] on the parts of a case that decide it, for stored summaries.
pub fn covers_case(
    scope: &Scope,
    territory: Option<&Territory>,
    units: &std::collections::BTreeSet<crate::ids::UnitId>,
) -> bool {
    match scope {
        Scope::Unit(u) => units.contains(u),
        _ => territory.is_some_and(|t| scope.covers(t)),
    }
}

/// Checks one action by one actor against the case as it stands. The commands call this
/// before writing; the fold calls it for every event at its place in the merged order.
pub fn check(state: &CaseState, actor: &Actor, action: &Action) -> Result<(), Violation> {
    let place: Option<&Territory> = match action {
        Action::Intake(intake) => Some(&intake.territory),
        _ => state.territory.as_ref(),
    };
    check_standing(state, actor, action.kind(), place)?;
    check_payload(state, actor, action)
}

/// Whether the actor may perform an action of this kind on the case now, whatever its payload
/// turns out to be: what a screen asks before it offers the action at all.
pub fn permits(state: &CaseState, actor: &Actor, kind: ActionKind) -> Result<(), Violation> {
    check_standing(state, actor, kind, state.territory.as_ref())
}

/// Whether a role may ever perform a kind of action, on any case, in any status: false for a
/// grid worker filing or a unit dispatching. An event that fails this cannot come from an
/// offline race, only from a broken or hostile client, so the server refuses it at the gate
/// instead of storing a conflict for the review queue. A kind this release does not know is
/// a later release's to judge: always true here.
pub fn may_ever(role: Role, kind: ActionKind) -> bool {
    if kind == ActionKind::Unknown {
        return true;
    }
    rule(kind).who.iter().any(|party| party.admits_role(role))
}

/// Role, scope, party and status: everything of [`check`] but the payload.
fn check_standing(
    state: &CaseState,
    actor: &Actor,
    kind: ActionKind,
    place: Option<&Territory>,
) -> Result<(), Violation> {
    let rule = rule(kind);
    if !actor.scope.fits(actor.role) {
        return Err(violation(
            ViolationCode::InvalidScope,
            format!("role {} cannot hold this scope", actor.role.as_str()),
        ));
    }

    match (rule.from, state.status) {
        (From::Nothing, Some(_)) => {
            return Err(violation(
                ViolationCode::CaseExists,
                "the case already has an intake",
            ))
        }
        (From::Nothing, None) => {}
        (_, None) => return Err(violation(ViolationCode::NoCase, "the case has no intake")),
        (From::Any, Some(_)) => {}
        (From::Open, Some(s)) if s.is_open() => {}
        (From::These(allowed), Some(s)) if allowed.contains(&s) => {}
        (_, Some(s)) => {
            return Err(violation(
                ViolationCode::WrongStatus,
                format!("{kind} is not allowed while the case is {s}"),
            ))
        }
    }

    let Some(place) = place else {
        return Err(violation(ViolationCode::NoCase, "the case has no location"));
    };
    check_party(rule, state, actor, place)
}

fn check_party(
    rule: &Rule,
    state: &CaseState,
    actor: &Actor,
    place: &Territory,
) -> Result<(), Violation> {
    let mut reason = None;
    for party in rule.who {
        match party_admits(*party, state, actor, place) {
            Ok(()) => return Ok(()),
            Err(v) => {
                // Prefer the most specific refusal: scope and assignment over "not permitted".
                if reason
                    .as_ref()
                    .is_none_or(|r: &Violation| r.code == ViolationCode::NotPermitted)
                {
                    reason = Some(v);
                }
            }
        }
    }
    Err(reason.unwrap_or_else(|| {
        violation(
            ViolationCode::NotPermitted,
            format!("{} may not {}", actor.role.as_str(), rule.kind),
        )
    }))
}

fn party_admits(
    party: Party,
    state: &CaseState,
    actor: &Actor,
    place: &Territory,
) -> Result<(), Violation> {
    let not_permitted = || {
        violation(
            ViolationCode::NotPermitted,
            format!("{} may not do this", actor.role.as_str()),
        )
    };
    let covering = |ok: bool| {
        if actor.scope.covers(place) {
            Ok(())
        } else if ok {
            Err(violation(
                ViolationCode::OutOfScope,
                format!("grid {} is outside the actor's scope", place.grid),
            ))
        } else {
            Err(not_permitted())
        }
    };
    if !party.admits_role(actor.role) {
        return Err(not_permitted());
    }
    match party {
        Party::Center | Party::CallDesk | Party::GridWorker => covering(true),
        Party::DistrictCenter | Party::Supervisor | Party::IntakeChannel => Ok(()),
        Party::AssignedUnit => match &actor.scope {
            Scope::Unit(u) if state.assigned_unit.as_ref() == Some(u) => Ok(()),
            _ => Err(violation(
                ViolationCode::NotAssigned,
                "the case is not dispatched to the actor's unit",
            )),
        },
        Party::Involved => match &actor.scope {
            Scope::Unit(u) if state.units_involved.contains(u) => Ok(()),
            Scope::Unit(_) => Err(violation(
                ViolationCode::NotAssigned,
                "the actor's unit was never involved in the case",
            )),
            _ => covering(true),
        },
    }
}

fn check_payload(state: &CaseState, actor: &Actor, action: &Action) -> Result<(), Violation> {
    crate::limits::check_action(action)?;
    let bad = |m: &str| Err(violation(ViolationCode::InvalidPayload, m));
    match action {
        Action::Extend { hours: 0, .. } | Action::ExtensionRequest { hours: 0, .. } => {
            bad("an extension needs at least one hour")
        }
        Action::Return { .. } if state.arbitrated() => Err(violation(
            ViolationCode::NotPermitted,
            "the center named this unit the lead (指定主办): it cannot return the case",
        )),
        Action::ExtensionRequest { .. } if state.pending_extension.is_some() => {
            bad("an extension request is already waiting for the dispatcher's answer")
        }
        Action::ExtensionRequest { hours, .. } if *hours > extension_limit(state) => {
            Err(violation(
                ViolationCode::InvalidPayload,
                format!(
                    "an extension of this case is at most {} working hours ({hours} asked): \
                     the time its category and level allow",
                    extension_limit(state)
                ),
            ))
        }
        Action::Extend {
            request: Some(request),
            ..
        }
        | Action::RefuseExtension { request, .. }
            if state
                .pending_extension
                .as_ref()
                .is_none_or(|p| p.event != *request) =>
        {
            bad("no extension request of that id is waiting for an answer")
        }
        Action::Extend {
            request: Some(_),
            hours,
            ..
        } if *hours > extension_limit(state) => Err(violation(
            ViolationCode::InvalidPayload,
            format!(
                "an extension of this case is at most {} working hours ({hours} granted)",
                extension_limit(state)
            ),
        )),
        // Any extension of a dispatched case is the dispatching tier's (or one above it), and
        // answers the unit's request if one waits.
        Action::Extend { .. } | Action::RefuseExtension { .. } => answer_extension(state, actor),
        Action::File(f)
            if crate::category::Catalog::standard()
                .get(&f.category)
                .is_none() =>
        {
            bad("unknown category")
        }
        Action::Answer { .. } if state.business_type != Some(BusinessType::Consultation) => {
            bad("only a consultation (business type consultation) is answered directly")
        }
        Action::Callback {
            reached: false,
            solved,
            satisfaction,
            ..
        } if solved.is_some() || satisfaction.is_some() => {
            bad("a caller not reached gave no answer: leave solved and satisfaction empty")
        }
        Action::Callback {
            reached,
            solved,
            satisfaction,
            to_supervisor: true,
            ..
        } if !(*reached && crate::caller::unhappy(*solved, *satisfaction)) => bad(
            "a callback goes to the supervisor only when the caller said the problem is not \
             solved or was dissatisfied",
        ),
        Action::Resolve { conflict, .. } | Action::Adopt { conflict, .. } => {
            match state
                .conflicts
                .iter()
                .find(|c| c.event == *conflict && c.resolved_by.is_none())
            {
                None => bad("no open conflict for that event"),
                Some(c) if matches!(action, Action::Adopt { .. }) && !c.adoptable => bad(
                    "only a concurrent transition's side can be taken; this event broke a rule \
                     where it stands",
                ),
                Some(_) => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// The most working hours one extension request may ask for: the time the case's category
/// and level give it (an extension at most doubles it), and never more than the bound of any
/// extension (`limits::EXTEND_HOURS`).
pub fn extension_limit(state: &CaseState) -> u32 {
    let catalog = state.category.as_ref().and_then(|c| {
        crate::category::Catalog::standard()
            .deadline_hours(c, state.level.unwrap_or(crate::category::Level::General))
    });
    catalog.map_or(crate::limits::EXTEND_HOURS, |h| {
        h.min(crate::limits::EXTEND_HOURS)
    })
}

/// Whether a center of `scope` answers for a case dispatched from `dispatcher` (extends it,
/// answers its unit's extension request): the same tier or one above it. The district answers
/// for everyone; a street for itself and the communities (a community's dispatch covers a case
/// in the street's territory, which the standing check has made sure of); a community for
/// itself. A case never dispatched is any covering center's.
pub fn answers_for(scope: &Scope, dispatcher: Option<&Scope>) -> bool {
    match (scope, dispatcher) {
        (_, None) | (Scope::District, _) => true,
        (Scope::Street(_), Some(Scope::Street(_) | Scope::Community(_))) => true,
        (Scope::Community(c), Some(Scope::Community(d))) => c == d,
        _ => false,
    }
}

/// Whether the writer of a superseded event could have written it at the place of an `adopt`
/// but for the status: its role, scope and party (a unit's feedback only while its unit is the
/// one dispatched to) and its payload. The fold and the commands ask it before a side is taken.
pub fn check_adopted(state: &CaseState, actor: &Actor, action: &Action) -> Result<(), Violation> {
    if !actor.scope.fits(actor.role) {
        return Err(violation(
            ViolationCode::InvalidScope,
            format!("role {} cannot hold this scope", actor.role.as_str()),
        ));
    }
    let Some(place) = state.territory.as_ref() else {
        return Err(violation(ViolationCode::NoCase, "the case has no location"));
    };
    check_party(rule(action.kind()), state, actor, place)?;
    check_payload(state, actor, action)
}

/// Who answers a unit's extension request, and extends a dispatched case: the tier that
/// dispatched the case now, or one above it (`answers_for`), and never the one who asked.
fn answer_extension(state: &CaseState, actor: &Actor) -> Result<(), Violation> {
    if state
        .pending_extension
        .as_ref()
        .is_some_and(|p| p.by == actor.user)
    {
        return Err(violation(
            ViolationCode::NotPermitted,
            "nobody answers their own extension request",
        ));
    }
    match &state.dispatched_by {
        Some(dispatcher) if !answers_for(&actor.scope, Some(dispatcher)) => Err(violation(
            ViolationCode::NotPermitted,
            format!(
                "the case was dispatched by a {} center: a {} cannot extend it or answer its unit's extension request",
                dispatcher.level_name(),
                actor.role.as_str()
            ),
        )),
        _ => Ok(()),
    }
}
