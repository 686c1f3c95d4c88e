//! The fold: merged events in, derived case state out. Pure and total: the same events give
//! the same state on every replica, in any merge order, and no input makes it panic.

use crate::calendar::{Millis, WorkCalendar};
use crate::category::{Catalog, CategoryCode, Level};
use crate::event::{Action, ActionKind, BusinessType, Channel, DeclineReason, Event, Satisfaction};
use crate::ids::{CaseId, DeviceId, EventId, UnitId, UserId};
use crate::org::Territory;
use crate::rules::{self, Status, Violation, ViolationCode};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// What became of an event at its place in the merged order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Valid; its effect is in the state.
    Applied,
    /// A transition made concurrently with one that reached the same outcome: kept, no effect.
    Concurred,
    /// Not valid at its place: kept in the history, no effect, a conflict record names it.
    Superseded,
}

crate::snake_names!(Disposition {
    Applied => "applied",
    Concurred => "concurred",
    Superseded => "superseded",
});

impl ConflictReason {
    /// The reason's name: `concurrent`, `duplicate_id`, or the broken rule's code.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictReason::Concurrent => "concurrent",
            ConflictReason::Rule(code) => code.as_str(),
            ConflictReason::DuplicateId => "duplicate_id",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub event: EventId,
    /// `unknown` for an event this release cannot read; `stored_kind` then names it.
    pub kind: ActionKind,
    /// The kind as stored, when this release does not know it (written by a later release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_kind: Option<String>,
    pub author: UserId,
    pub device: DeviceId,
    pub at: Millis,
    pub disposition: Disposition,
    /// The status after this event.
    pub status: Option<Status>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConflictReason {
    /// Made without seeing a transition that now precedes it, and disagreeing with it.
    Concurrent,
    /// Breaks a rule at its place in the merged order.
    Rule(ViolationCode),
    /// Two different events under one id.
    DuplicateId,
}

/// A conflict for the central office's review queue (the superseded event names it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Conflict {
    pub event: EventId,
    /// The events it conflicts with (the transition that set the state it met).
    pub against: Vec<EventId>,
    pub reason: ConflictReason,
    pub message: String,
    pub resolved_by: Option<EventId>,
    /// Whether the central office may take the superseded event's side (`resolve` with
    /// `adopt`): a transition that lost only because it was concurrent. One that broke a rule
    /// where it stands can only be kept out.
    #[serde(default)]
    pub adoptable: bool,
}

/// Everything derived from a case's events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct CaseState {
    /// `None` until the intake is known.
    pub status: Option<Status>,
    pub territory: Option<Territory>,
    /// Where the reporter said it is, as given at intake.
    pub address: Option<String>,
    /// (longitude, latitude), as given at intake.
    #[cfg_attr(feature = "schema", schema(value_type = Option<Vec<f64>>, min_items = 2, max_items = 2))]
    pub coordinates: Option<(f64, f64)>,
    pub channel: Option<Channel>,
    /// What the caller wants (诉求类型), as given at intake.
    #[serde(default)]
    pub business_type: Option<BusinessType>,
    pub description: String,
    pub reported_by: Option<UserId>,
    pub reported_at: Option<Millis>,
    pub category: Option<CategoryCode>,
    pub level: Option<Level>,
    pub callback: bool,
    pub filed_at: Option<Millis>,
    pub assigned_unit: Option<UnitId>,
    pub responsible: Option<String>,
    /// Every unit ever named in filing or dispatch: they may comment and attach.
    pub units_involved: BTreeSet<UnitId>,
    pub dispatched_at: Option<Millis>,
    pub deadline: Option<Millis>,
    pub extensions: u32,
    pub rework_count: u32,
    pub feedback_resolved: Option<bool>,
    pub closed_at: Option<Millis>,
    pub satisfaction: Option<Satisfaction>,
    pub solved: Option<bool>,
    pub decline_reason: Option<DeclineReason>,
    pub duplicate_of: Option<CaseId>,
    pub escalations: u32,
    pub self_handled: bool,
    /// The status a held case returns to, and when it was parked.
    #[cfg_attr(feature = "schema", schema(value_type = Option<Vec<Object>>, min_items = 2, max_items = 2))]
    pub held: Option<(Status, Millis)>,
    pub timeline: Vec<TimelineEntry>,
    pub conflicts: Vec<Conflict>,
    /// The transition that set the current course; a later transition must have seen it.
    pub last_transition: Option<EventId>,
    /// 直接答复: a consultation answered at intake.
    #[serde(default)]
    pub answered_directly: bool,
    /// Every dispatch in the fold's order, with the returns: the chain of units.
    #[serde(default)]
    pub unit_chain: Vec<UnitLink>,
    /// How often a unit sent the case back (退回).
    #[serde(default)]
    pub returns: u32,
    /// Every change of the deadline, in the fold's order.
    #[serde(default)]
    pub deadline_history: Vec<DeadlineChange>,
    /// The intake's caller in the caller register, when it names one.
    #[serde(default)]
    pub intake_caller: Option<String>,
    /// Whether the intake's caller asked to be called back (the filing may ask too).
    #[serde(default)]
    pub intake_callback: bool,
    /// How often the case was closed (`close`, or `answer` at intake): the round a callback
    /// answers.
    #[serde(default)]
    pub closings: u32,
    /// Callers attached after the first (`caller_added`).
    #[serde(default)]
    pub callers_added: u32,
    /// The attached callers who want a callback (by register id).
    #[serde(default)]
    pub callback_wanted: Vec<String>,
    /// The callbacks that reached a caller, in the fold's order (回访: the public evaluation).
    #[serde(default)]
    pub callbacks: Vec<CallbackOutcome>,
    /// Callback attempts that reached nobody.
    #[serde(default)]
    pub callbacks_unreached: u32,
    /// Who wrote the current dispatch, by scope: the tier that answers the unit's extension
    /// requests.
    #[serde(default)]
    pub dispatched_by: Option<crate::role::Scope>,
    /// 签收: when the unit dispatched to now first acknowledged it (or first handled, fed back
    /// or returned it).
    #[serde(default)]
    pub acknowledged_at: Option<Millis>,
    /// When the current dispatch must be acknowledged by (the response limit of the level).
    #[serde(default)]
    pub response_due: Option<Millis>,
    /// 指定主办: the unit the center named the lead; it cannot return the case.
    #[serde(default)]
    pub lead_unit: Option<UnitId>,
    /// The unit's extension request waiting for the dispatcher.
    #[serde(default)]
    pub pending_extension: Option<ExtensionAsk>,
    /// Extension requests the dispatcher refused.
    #[serde(default)]
    pub extensions_refused: u32,
    /// A deadline in force passed while the case was open (超期), even if a later dispatch or
    /// extension replaced it: an overdue that happened stays.
    #[serde(default)]
    pub deadline_missed: bool,
    /// How many verifications (核查) were applied, passed or failed: the denominator of the
    /// rework rate (返工率 = `rework_count` / `verifications`).
    #[serde(default)]
    pub verifications: u32,
}

/// A unit's extension request (延期申请) waiting for an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ExtensionAsk {
    pub event: EventId,
    pub by: UserId,
    pub at: Millis,
    pub hours: u32,
    pub reason: String,
}

/// One unit a case was dispatched to, in the chain of units (派遣链): when, and whether and why
/// it sent the case back. A case bounced between units (踢皮球) shows here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct UnitLink {
    pub unit: UnitId,
    pub dispatched_at: Millis,
    /// When the unit returned it (退回), if it did.
    pub returned_at: Option<Millis>,
    pub return_reason: Option<String>,
    /// When the unit acknowledged it (签收), or first acted on it.
    #[serde(default)]
    pub acknowledged_at: Option<Millis>,
    /// When it had to be acknowledged by.
    #[serde(default)]
    pub response_due: Option<Millis>,
    /// Named the lead unit (指定主办).
    #[serde(default)]
    pub lead: bool,
}

impl UnitLink {
    /// Acknowledged after the response limit, or not yet acknowledged and past it at `now`.
    pub fn response_late_at(&self, now: Millis) -> bool {
        response_late(self.acknowledged_at, self.response_due, now)
    }
}

/// The response rule (响应): a dispatch not acknowledged by its response limit is late; still
/// waiting and past it at `now`, or acknowledged after it.
pub fn response_late(acknowledged_at: Option<Millis>, due: Option<Millis>, now: Millis) -> bool {
    match (acknowledged_at, due) {
        (_, None) => false,
        (Some(at), Some(due)) => at > due,
        (None, Some(due)) => now > due,
    }
}

/// A change of a case's deadline: by whom, through which event, from what to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct DeadlineChange {
    pub at: Millis,
    pub by: UserId,
    /// The event kind that changed it (`dispatch`, `extend`, `return`, `release`, `reopen`).
    pub kind: String,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    /// The deadline replaced had already passed while the case was open.
    pub missed: bool,
}

/// What a caller said when called back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct CallbackOutcome {
    /// The caller called back; `None`: the intake's caller.
    pub caller: Option<String>,
    pub at: Millis,
    pub solved: Option<bool>,
    pub satisfaction: Option<Satisfaction>,
    /// Which closing it answers (`CaseState::closings` when it was folded): rounds go by the
    /// events' order, never by device clocks.
    #[serde(default)]
    pub round: u32,
}

impl CallbackOutcome {
    /// Whether the caller was unhappy: the problem not solved, or dissatisfied. The one
    /// definition the follow-ups, the worklist and the indicators use.
    pub fn unhappy(&self) -> bool {
        crate::caller::unhappy(self.solved, self.satisfaction)
    }
}

impl CaseState {
    /// Whether the case is past its deadline at `now`: still open and late, or closed late.
    /// A held case's clock is stopped.
    pub fn overdue_at(&self, now: Millis) -> bool {
        overdue(
            self.status,
            self.deadline,
            self.closed_at,
            self.deadline_missed,
            now,
        )
    }

    /// Whether the center named the unit dispatched to now the lead (指定主办): it may not
    /// return the case.
    pub fn arbitrated(&self) -> bool {
        self.lead_unit.is_some() && self.assigned_unit == self.lead_unit
    }

    /// The current dispatch waits for its acknowledgement past the response limit at `now`.
    pub fn response_late_at(&self, now: Millis) -> bool {
        self.assigned_unit.is_some()
            && self.status.is_some_and(Status::is_open)
            && response_late(self.acknowledged_at, self.response_due, now)
    }

    /// The public evaluation of the case as it stands: the last callback that reached a
    /// caller since the case was last closed (a reopened case is judged again), else `None`.
    pub fn public_evaluation(&self) -> Option<&CallbackOutcome> {
        self.closed_at?;
        self.callbacks
            .iter()
            .rev()
            .find(|c| c.round == self.closings)
    }

    /// The callers still waiting for their callback (回访): on a closed case, each caller who
    /// wants one (the intake's when its filing asked for a callback, and every attached caller
    /// who asked) and has not been reached since the case was last closed. `None` stands for
    /// the intake's caller when the intake names no register record. An evaluation does not
    /// end the wait (the public evaluation is kept apart from the center's), except on a case
    /// from before the caller register, whose callback was recorded as its evaluation.
    pub fn callbacks_due(&self) -> Vec<Option<String>> {
        let register_era = self.intake_caller.is_some() || !self.callback_wanted.is_empty();
        match self.status {
            Some(Status::Closed) => {}
            Some(Status::Evaluated) if register_era => {}
            _ => return Vec::new(),
        }
        let mut wanted: Vec<Option<String>> = Vec::new();
        if self.callback || self.intake_callback {
            wanted.push(self.intake_caller.clone());
        }
        for added in &self.callback_wanted {
            if !wanted.iter().any(|w| w.as_deref() == Some(added)) {
                wanted.push(Some(added.clone()));
            }
        }
        wanted.retain(|who| {
            !self.callbacks.iter().any(|c| {
                c.round == self.closings
                    && (c.caller == *who || (c.caller.is_none() && *who == self.intake_caller))
            })
        });
        wanted
    }

    /// Whether any caller, in any round, said the problem was not solved or was dissatisfied:
    /// the unit is held to account for it even when a later round ends well.
    pub fn ever_dissatisfied(&self) -> bool {
        self.callbacks.iter().any(CallbackOutcome::unhappy)
    }

    /// Closed by the deadline (按期结案); `None` while not closed or without a deadline. A
    /// case that missed a deadline in force is not on time, whatever replaced it.
    pub fn closed_on_time(&self) -> Option<bool> {
        closed_on_time(self.closed_at, self.deadline, self.deadline_missed)
    }

    /// The conflicts the central office has not resolved yet: what review queues, lists and
    /// handhelds count.
    pub fn open_conflicts(&self) -> impl Iterator<Item = &Conflict> {
        self.conflicts.iter().filter(|c| c.resolved_by.is_none())
    }

    pub fn has_open_conflict(&self) -> bool {
        self.open_conflicts().next().is_some()
    }

    /// The disposition the fold gave an event.
    pub fn disposition(&self, event: &EventId) -> Option<Disposition> {
        self.timeline
            .iter()
            .find(|t| t.event == *event)
            .map(|t| t.disposition)
    }
}

/// The overdue rule (超期), for a folded case or a stored summary of one: a deadline in force
/// was `missed` (an overdue that happened stays, whatever replaced the deadline), or still
/// open and past the deadline at `now`, or closed after it. A held case's clock is stopped.
pub fn overdue(
    status: Option<Status>,
    deadline: Option<Millis>,
    closed_at: Option<Millis>,
    missed: bool,
    now: Millis,
) -> bool {
    if missed {
        return true;
    }
    let (Some(status), Some(deadline)) = (status, deadline) else {
        return false;
    };
    match status {
        Status::Closed | Status::Evaluated => closed_at.is_some_and(|c| c > deadline),
        Status::Held | Status::Voided | Status::Declined => false,
        _ => now > deadline,
    }
}

/// The on-time rule (按期结案), for a folded case or a stored row of one: closed by the
/// deadline, and no deadline in force `missed` before it; `None` while not closed or without a
/// deadline.
pub fn closed_on_time(
    closed_at: Option<Millis>,
    deadline: Option<Millis>,
    missed: bool,
) -> Option<bool> {
    Some(closed_at? <= deadline? && !missed)
}

/// Folds merged events into the case state. Events may arrive in any order, duplicated,
/// with parents missing or even cyclic: the result depends only on the set of events.
pub fn fold(events: &[Event], calendar: &WorkCalendar) -> CaseState {
    let mut state = CaseState::default();
    let (unique, duplicates) = dedupe(events);
    let index: Index = unique.iter().enumerate().map(|(i, e)| (&e.id, i)).collect();
    let order = causal_order(&unique, &index);
    let ancestors = ancestor_sets(&unique, &index, &order);

    for &i in &order {
        let event = unique[i];
        // An event this release cannot read has no effect and raises no conflict: it is a
        // later release's, and that release judges it. It still orders the events after it.
        let disposition = match &event.action {
            Action::Unknown(_) => Err(None),
            _ => judge(&state, event, &unique, &index, &ancestors[i])
                .and_then(|apply| match &event.action {
                    Action::Adopt { conflict, .. } if apply => {
                        check_adoption(&state, &unique, &index, conflict)
                            .map(|()| true)
                            .map_err(|v| (ConflictReason::Rule(v.code), v.message))
                    }
                    _ => Ok(apply),
                })
                .map_err(Some),
        };
        match &disposition {
            Ok(true) => {
                apply(&mut state, event, calendar);
                if let Action::Adopt { conflict, .. } = &event.action {
                    adopt(&mut state, event, conflict, &unique, &index, calendar);
                }
            }
            Ok(false) | Err(None) => {}
            Err(Some((reason, message))) => {
                state.conflicts.push(Conflict {
                    event: event.id.clone(),
                    against: state.last_transition.iter().cloned().collect(),
                    reason: *reason,
                    message: message.clone(),
                    resolved_by: None,
                    adoptable: *reason == ConflictReason::Concurrent
                        && !matches!(event.kind(), ActionKind::Intake | ActionKind::Adopt),
                });
            }
        }
        state.timeline.push(TimelineEntry {
            event: event.id.clone(),
            kind: event.kind(),
            stored_kind: match &event.action {
                Action::Unknown(unknown) => Some(unknown.kind.clone()),
                _ => None,
            },
            author: event.author.clone(),
            device: event.device.clone(),
            at: event.at,
            disposition: match disposition {
                Ok(true) => Disposition::Applied,
                Ok(false) => Disposition::Concurred,
                Err(_) => Disposition::Superseded,
            },
            status: state.status,
        });
    }
    for dup in duplicates {
        state.conflicts.push(Conflict {
            event: dup.id.clone(),
            against: Vec::new(),
            reason: ConflictReason::DuplicateId,
            message: "two different events share this id; the first in order counts".into(),
            resolved_by: None,
            adoptable: false,
        });
    }
    state
}

/// Position of each event in the deduplicated slice.
type Index<'a> = HashMap<&'a EventId, usize>;

/// Whether the superseded event an `adopt` names may be adopted where the adoption stands:
/// its writer could have written it here but for the status (`rules::check_adopted`).
fn check_adoption(
    state: &CaseState,
    events: &[&Event],
    index: &Index<'_>,
    conflict: &EventId,
) -> Result<(), Violation> {
    let superseded = index
        .get(conflict)
        .map(|&i| events[i])
        .ok_or_else(|| Violation {
            code: ViolationCode::InvalidPayload,
            message: "the superseded event is not in the case".into(),
        })?;
    rules::check_adopted(state, &superseded.actor(), &superseded.action)
}

/// [`check_adoption`] for a writer holding the case's events: what the commands ask before
/// they write an `adopt`, and what a screen asks before it offers one.
pub fn check_adoption_in(
    events: &[Event],
    state: &CaseState,
    conflict: &EventId,
) -> Result<(), Violation> {
    let (unique, _) = dedupe(events);
    let index: Index = unique.iter().enumerate().map(|(i, e)| (&e.id, i)).collect();
    check_adoption(state, &unique, &index, conflict)
}

/// Takes a superseded event's side (`adopt`): its effect is applied at the adoption's place and
/// time (its author still named), as the central office decided, and the adoption sets the
/// course. A case the adopted event moves back into work is no longer closed.
fn adopt(
    state: &mut CaseState,
    adoption: &Event,
    conflict: &EventId,
    events: &[&Event],
    index: &Index<'_>,
    calendar: &WorkCalendar,
) {
    let Some(superseded) = index.get(conflict).map(|&i| events[i]) else {
        return;
    };
    let now = Event {
        at: adoption.at,
        ..superseded.clone()
    };
    apply(state, &now, calendar);
    if state.status.is_some_and(Status::is_open) {
        state.closed_at = None;
    }
    state.last_transition = Some(adoption.id.clone());
}

/// `Ok(true)`: apply; `Ok(false)`: concurred, no effect; `Err`: superseded.
fn judge(
    state: &CaseState,
    event: &Event,
    events: &[&Event],
    index: &Index<'_>,
    ancestors: &BTreeSet<usize>,
) -> Result<bool, (ConflictReason, String)> {
    let last = state
        .last_transition
        .as_ref()
        .and_then(|id| index.get(id).copied());
    if let Some(last) = last {
        let unseen = rules::rule(event.kind()).transition && !ancestors.contains(&last);
        if unseen {
            let earlier = events[last];
            return if earlier.action.agrees_with(&event.action) {
                Ok(false)
            } else {
                Err((
                    ConflictReason::Concurrent,
                    format!(
                        "{} was made without seeing the {} that now precedes it",
                        event.kind(),
                        earlier.kind()
                    ),
                ))
            };
        }
    }
    rules::check(state, &event.actor(), &event.action)
        .map(|()| true)
        .map_err(|Violation { code, message }| (ConflictReason::Rule(code), message))
}

/// Applies a valid event's effect. The rule table has already admitted it.
fn apply(state: &mut CaseState, event: &Event, calendar: &WorkCalendar) {
    let at = event.at;
    let mut to = state.status;
    let deadline_before = state.deadline;
    // A held case's clock stood still: its deadline could only be missed before it was held.
    let clock_stopped_at = match (state.status, &state.held) {
        (Some(Status::Held), Some((_, since))) => Some(*since),
        _ => None,
    };
    match &event.action {
        Action::Intake(intake) => {
            state.territory = Some(intake.territory.clone());
            state.address = intake.address.clone();
            state.coordinates = intake.coordinates;
            state.channel = Some(intake.channel);
            state.business_type = intake.business_type;
            state.intake_caller = intake.caller.clone();
            state.intake_callback = intake.callback;
            state.description = intake.description.clone();
            state.category = intake.category.clone();
            state.reported_by = Some(event.author.clone());
            state.reported_at = Some(at);
            to = Some(if intake.channel.needs_confirmation() {
                Status::AwaitingConfirmation
            } else {
                Status::Reported
            });
        }
        Action::Confirm { exists, .. } => {
            if *exists {
                to = Some(Status::Reported);
            } else {
                state.decline_reason = Some(DeclineReason::NotFound);
                to = Some(Status::Declined);
            }
        }
        Action::File(filing) => {
            state.category = Some(filing.category.clone());
            state.level = Some(filing.level);
            state.callback = filing.callback;
            state.units_involved.extend(filing.units.iter().cloned());
            state.filed_at = Some(at);
            to = Some(Status::Filed);
        }
        Action::Decline { reason, .. } => {
            state.decline_reason = Some(*reason);
            to = Some(Status::Declined);
        }
        Action::Dispatch {
            unit,
            responsible,
            deadline,
            lead,
        } => {
            let level = state.level.unwrap_or(Level::General);
            let response_due =
                calendar.add_working_minutes(at, u64::from(level.response_minutes()));
            state.unit_chain.push(UnitLink {
                unit: unit.clone(),
                dispatched_at: at,
                returned_at: None,
                return_reason: None,
                acknowledged_at: None,
                response_due: Some(response_due),
                lead: *lead,
            });
            // The lead is named with each dispatch: an ordinary one names none.
            state.lead_unit = lead.then(|| unit.clone());
            state.dispatched_by = Some(event.scope.clone());
            state.acknowledged_at = None;
            state.response_due = Some(response_due);
            state.pending_extension = None;
            state.assigned_unit = Some(unit.clone());
            state.units_involved.insert(unit.clone());
            state.responsible = responsible.clone();
            state.dispatched_at = Some(at);
            state.deadline = deadline.or_else(|| {
                let hours = Catalog::standard().deadline_hours(
                    state.category.as_ref()?,
                    state.level.unwrap_or(Level::General),
                )?;
                Some(calendar.add_working_minutes(at, u64::from(hours) * 60))
            });
            to = Some(Status::Dispatched);
        }
        Action::Acknowledge { .. } => acknowledge(state, at),
        Action::Handle { .. } => {
            acknowledge(state, at);
            if state.status == Some(Status::Dispatched) {
                to = Some(Status::InProgress);
            }
        }
        Action::ExtensionRequest { hours, reason } => {
            state.pending_extension = Some(ExtensionAsk {
                event: event.id.clone(),
                by: event.author.clone(),
                at,
                hours: *hours,
                reason: reason.clone(),
            });
        }
        Action::RefuseExtension { .. } => {
            state.pending_extension = None;
            state.extensions_refused += 1;
        }
        Action::Return { reason } => {
            acknowledge(state, at);
            state.returns += 1;
            state.pending_extension = None;
            if let Some(link) = state.unit_chain.last_mut() {
                link.returned_at = Some(at);
                link.return_reason = Some(reason.clone());
            }
            state.assigned_unit = None;
            state.responsible = None;
            state.deadline = None;
            to = Some(Status::Filed);
        }
        Action::Feedback { resolved, .. } => {
            acknowledge(state, at);
            state.pending_extension = None;
            state.feedback_resolved = Some(*resolved);
            to = Some(Status::AwaitingVerification);
        }
        Action::Verify { resolved, .. } => {
            state.verifications = state.verifications.saturating_add(1);
            if *resolved {
                to = Some(Status::Verified);
            } else {
                state.rework_count += 1;
                to = Some(Status::Rework);
            }
        }
        Action::Close { .. } => {
            state.closed_at = Some(at);
            state.closings += 1;
            to = Some(Status::Closed);
        }
        Action::Evaluate {
            satisfaction,
            solved,
            ..
        } => {
            state.satisfaction = *satisfaction;
            state.solved = *solved;
            to = Some(Status::Evaluated);
        }
        Action::Extend { hours, .. } => {
            // Named or not, an extension answers the unit's request waiting.
            state.pending_extension = None;
            state.extensions += 1;
            if let Some(d) = state.deadline {
                state.deadline = Some(calendar.add_working_minutes(d, u64::from(*hours) * 60));
            }
        }
        Action::SelfHandle { .. } => {
            state.self_handled = true;
            to = Some(Status::AwaitingVerification);
        }
        Action::Hold { .. } => {
            if let Some(s) = state.status {
                state.held = Some((s, at));
            }
            to = Some(Status::Held);
        }
        Action::Release { .. } => {
            if let Some((previous, since)) = state.held.take() {
                // The clock stood still while the case was parked.
                if let Some(d) = state.deadline {
                    let paused = calendar.working_minutes_between(since, at);
                    state.deadline = Some(calendar.add_working_minutes(d, paused));
                }
                to = Some(previous);
            } else {
                to = Some(Status::Filed);
            }
        }
        Action::Void { .. } => to = Some(Status::Voided),
        Action::MarkDuplicate { of } => {
            state.duplicate_of = Some(of.clone());
            state.decline_reason = Some(DeclineReason::Duplicate);
            to = Some(Status::Declined);
        }
        Action::Reopen { .. } => {
            state.lead_unit = None;
            state.closed_at = None;
            state.assigned_unit = None;
            state.deadline = None;
            to = Some(Status::Filed);
        }
        Action::Escalate { .. } => state.escalations += 1,
        Action::Answer { .. } => {
            state.answered_directly = true;
            state.closed_at = Some(at);
            state.closings += 1;
            to = Some(Status::Closed);
        }
        Action::CallerAdded {
            caller, callback, ..
        } => {
            state.callers_added += 1;
            if *callback && !state.callback_wanted.contains(caller) {
                state.callback_wanted.push(caller.clone());
            }
        }
        Action::Callback {
            caller,
            reached,
            solved,
            satisfaction,
            to_supervisor,
            ..
        } => {
            if *reached {
                state.callbacks.push(CallbackOutcome {
                    caller: caller.clone(),
                    at,
                    solved: *solved,
                    satisfaction: *satisfaction,
                    round: state.closings,
                });
                // 督办: the rule table admits it only after an unhappy answer.
                if *to_supervisor {
                    state.escalations += 1;
                }
            } else {
                state.callbacks_unreached += 1;
            }
        }
        Action::Resolve { conflict, .. } | Action::Adopt { conflict, .. } => {
            if let Some(c) = state
                .conflicts
                .iter_mut()
                .find(|c| c.event == *conflict && c.resolved_by.is_none())
            {
                c.resolved_by = Some(event.id.clone());
            }
        }
        Action::Comment { .. } | Action::Attach { .. } | Action::Unknown(_) => {}
    }
    if state.deadline != deadline_before {
        let missed = deadline_before.is_some_and(|d| {
            d < clock_stopped_at.unwrap_or(at) && state.status.is_some_and(Status::is_open)
        });
        state.deadline_missed |= missed;
        state.deadline_history.push(DeadlineChange {
            at,
            by: event.author.clone(),
            kind: event.kind().as_str().to_owned(),
            from: deadline_before,
            to: state.deadline,
            // Replaced after it had passed while the case was open: an overdue a later
            // deadline must not erase.
            missed,
        });
    }
    state.status = to;
    if rules::rule(event.kind()).transition {
        state.last_transition = Some(event.id.clone());
    }
}

/// The unit dispatched to now has responded (签收), at its first acknowledgement, handling,
/// feedback or return.
fn acknowledge(state: &mut CaseState, at: Millis) {
    if state.acknowledged_at.is_none() {
        state.acknowledged_at = Some(at);
        if let Some(link) = state.unit_chain.last_mut() {
            link.acknowledged_at = Some(at);
        }
    }
}

/// Keeps the first event of each id and returns the different events that reused an id, each
/// once. Exact copies are dropped silently: delivery may duplicate. The order is total (id,
/// device time, then the whole event), so which event of a reused id counts never depends on
/// the order the events came in (found by fuzzing `fold`). Views that list events use it too,
/// so they show the event the fold judged under a reused id.
pub fn dedupe(events: &[Event]) -> (Vec<&Event>, Vec<&Event>) {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.id, a.at).cmp(&(&b.id, b.at)).then_with(|| {
            if a == b {
                std::cmp::Ordering::Equal
            } else {
                // Rare (an id reused at the same device time): the serialized events decide.
                let text = |e: &Event| serde_json::to_string(e).unwrap_or_default();
                text(a).cmp(&text(b))
            }
        })
    });
    let mut unique: Vec<&Event> = Vec::with_capacity(sorted.len());
    let mut duplicates = Vec::new();
    let mut previous: Option<&Event> = None;
    for e in sorted {
        if previous == Some(e) {
            continue;
        }
        previous = Some(e);
        match unique.last() {
            Some(last) if last.id == e.id => duplicates.push(e),
            _ => unique.push(e),
        }
    }
    (unique, duplicates)
}

/// Topological order over known parents, ties broken by (device time, id). Parents not (yet)
/// known are ignored; events caught in a cycle are appended in tiebreak order.
fn causal_order(events: &[&Event], index: &Index<'_>) -> Vec<usize> {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); events.len()];
    let mut pending = vec![0usize; events.len()];
    for (i, e) in events.iter().enumerate() {
        let parents: BTreeSet<usize> = e
            .parents
            .iter()
            .filter_map(|p| index.get(p).copied())
            .filter(|&p| p != i)
            .collect();
        pending[i] = parents.len();
        for p in parents {
            children[p].push(i);
        }
    }
    let key = |i: usize| (events[i].at, &events[i].id);
    let mut ready: BTreeSet<(Millis, &EventId, usize)> = (0..events.len())
        .filter(|&i| pending[i] == 0)
        .map(|i| (key(i).0, key(i).1, i))
        .collect();
    let mut order = Vec::with_capacity(events.len());
    let mut done = vec![false; events.len()];
    while let Some(first) = ready.pop_first() {
        let i = first.2;
        order.push(i);
        done[i] = true;
        for &c in &children[i] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.insert((events[c].at, &events[c].id, c));
            }
        }
    }
    if order.len() < events.len() {
        let mut rest: Vec<usize> = (0..events.len()).filter(|&i| !done[i]).collect();
        rest.sort_by_key(|&i| key(i));
        order.extend(rest);
    }
    order
}

/// For each event, the set of events in its causal past (transitively through known parents).
fn ancestor_sets(events: &[&Event], index: &Index<'_>, order: &[usize]) -> Vec<BTreeSet<usize>> {
    let mut sets: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); events.len()];
    for &i in order {
        let mut set = BTreeSet::new();
        for p in &events[i].parents {
            if let Some(&pi) = index.get(p) {
                if pi != i && !sets[pi].contains(&i) {
                    set.insert(pi);
                    set.extend(sets[pi].iter().copied());
                }
            }
        }
        set.remove(&i);
        sets[i] = set;
    }
    sets
}

/// The frontier of a set of events: those no other event names as a parent. A new event's
/// `parents` are the frontier of what its author has seen.
pub fn frontier(events: &[Event]) -> Vec<EventId> {
    let referenced: BTreeSet<&EventId> = events.iter().flat_map(|e| e.parents.iter()).collect();
    let mut heads: Vec<EventId> = events
        .iter()
        .filter(|e| !referenced.contains(&e.id))
        .map(|e| e.id.clone())
        .collect();
    heads.sort();
    heads.dedup();
    heads
}

#[cfg(test)]
mod names {
    use super::*;

    #[test]
    fn disposition_and_reason_names_are_serdes() {
        for d in Disposition::ALL {
            assert_eq!(
                serde_json::to_value(d).ok(),
                Some(serde_json::json!(d.as_str()))
            );
        }
        assert_eq!(ConflictReason::Concurrent.as_str(), "concurrent");
        assert_eq!(ConflictReason::DuplicateId.as_str(), "duplicate_id");
        let rule = ConflictReason::Rule(crate::rules::ViolationCode::WrongStatus);
        assert_eq!(rule.as_str(), "wrong_status");
    }
}
