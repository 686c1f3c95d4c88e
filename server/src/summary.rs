//! The query index: one derived summary per case, rewritten with every accepted change. Lists,
//! filters, the review queue and the indicators read summaries, never whole documents.

use gridcase_sync_core::event::{
    Action, BusinessType, Channel, DeclineReason, Event, Satisfaction,
};
use gridcase_sync_core::fold::{CaseState, Disposition, TimelineEntry, UnitLink};
use gridcase_sync_core::{CaseOutline, Millis, Scope, Status};
use serde::{Deserialize, Serialize};

// Summaries are stored as JSON (`Ledger::stage_index`): a field added later carries
// `#[serde(default)]`, so rows written before it still load, and enums are stored by name,
// never by position.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseSummary {
    pub id: String,
    #[schema(value_type = String)]
    pub status: Option<Status>,
    /// Step of the seven-step loop (1–7).
    pub step: u8,
    pub street: Option<String>,
    pub community: Option<String>,
    pub grid: Option<String>,
    /// The unit the case is dispatched to now.
    pub unit: Option<String>,
    /// Every unit ever named in filing or dispatch.
    pub units: Vec<String>,
    pub category: Option<String>,
    pub level: Option<String>,
    #[schema(value_type = Option<String>)]
    pub channel: Option<Channel>,
    pub description: String,
    /// Where it is, as reported (summaries written before these fields have none).
    #[serde(default)]
    pub address: Option<String>,
    /// (longitude, latitude), as reported.
    #[serde(default)]
    #[schema(value_type = Option<Vec<f64>>)]
    pub coordinates: Option<(f64, f64)>,
    pub created_at: Millis,
    pub filed_at: Option<Millis>,
    pub dispatched_at: Option<Millis>,
    pub deadline: Option<Millis>,
    pub closed_at: Option<Millis>,
    pub rework_count: u32,
    pub extensions: u32,
    #[schema(value_type = Option<String>)]
    pub satisfaction: Option<Satisfaction>,
    pub events: usize,
    pub open_conflicts: usize,
    pub flagged_events: usize,
    /// Server time of the last accepted change.
    pub updated_at: Millis,
    /// Why a declined case was declined (summaries written before these fields have none).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub decline_reason: Option<DeclineReason>,
    /// The case a duplicate duplicates.
    #[serde(default)]
    pub duplicate_of: Option<String>,
    /// When the case last left the open statuses (closed, declined or voided), by the time its
    /// event gives; `None` while it is open.
    #[serde(default)]
    pub concluded_at: Option<Millis>,
    /// Open311's `media_url`, for a case of the `web` channel that was given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    /// The status changes Open311 publishes of a case of the `web` channel, in the fold's
    /// order; `None` for other cases and in summaries written before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub published: Option<Vec<StatusChange>>,
    /// The case's number (`DC-20261130-0042`), which the ledger gives when it first receives
    /// the case (`case_number`); absent only from a case of a ledger from before numbers that
    /// the background numbering has not reached yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// What the caller wants (诉求类型), when the intake said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub business_type: Option<BusinessType>,
    /// 直接答复: a consultation answered and closed at intake.
    #[serde(default, skip_serializing_if = "is_false")]
    pub answered_directly: bool,
    /// How many callers wait for their callback (回访) on this closed case.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub callbacks_due: u32,
    /// The public evaluation (社会公众外评价): what the last caller reached since the case was
    /// last closed said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub public_satisfaction: Option<Satisfaction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_solved: Option<bool>,
    /// Whether any callback, in any round, found the caller dissatisfied or the problem not
    /// solved: held against the unit even when a later round ends well.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ever_dissatisfied: bool,
    /// How often the case was escalated to the supervisor (督办).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub escalations: u32,
    /// How often a unit sent it back (退回): a bounced case (踢皮球) shows in lists.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub returns: u32,
    /// 签收: when the unit dispatched to now acknowledged it (or first acted on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Millis>,
    /// When the current dispatch must be acknowledged by (响应时限).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_due: Option<Millis>,
    /// Who wrote the current dispatch, by scope (`{"level":"street","id":"s1"}`): the tier
    /// that answers the unit's extension requests, and whose queue follows the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub dispatched_by: Option<Scope>,
    /// 指定主办: the unit the center named the lead after arbitration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_unit: Option<String>,
    /// The working hours a unit's extension request waiting for the dispatcher asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_requested: Option<u32>,
    /// A deadline in force passed while the case was open, even if a later one replaced it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deadline_missed: bool,
    /// The chain of units (派遣链): every dispatch, its acknowledgement and its return, for
    /// the units' indicators (response, returns, accurate dispatch).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub chain: Vec<UnitLink>,
    /// The responsible person (责任人) the current dispatch names; absent when none (and in
    /// summaries written before this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible: Option<String>,
    /// How many verifications (核查) were made, passed or failed: the rework rate's
    /// denominator. 0 in summaries written before this field.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub verifications: u32,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A change of a public case's status, as Open311's `servicerequestupdates` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// The event that made it: the update's stable id.
    pub event: String,
    /// The status it led to.
    pub status: Status,
    /// Server time when the ledger first held it. A handheld's offline change counts from when
    /// it arrived, so a client that polls by time never misses one.
    pub published_at: Millis,
    /// For a decline: why, and the case a duplicate duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DeclineReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

impl CaseSummary {
    /// The summary of a case: its outline (every derived value is the outline's) in the
    /// stored representation, with what only the server knows: how many of its events were
    /// flagged on arrival, and when it last changed here. Open311's fields are filled in by
    /// [`CaseSummary::publish`].
    pub fn of(outline: &CaseOutline<'_>, flagged_events: usize, now: Millis) -> CaseSummary {
        let state = outline.state;
        let t = state.territory.as_ref();
        CaseSummary {
            id: outline.id.to_string(),
            status: state.status,
            step: outline.step,
            street: t.map(|t| t.street.to_string()),
            community: t.map(|t| t.community.to_string()),
            grid: t.map(|t| t.grid.to_string()),
            unit: state.assigned_unit.as_ref().map(ToString::to_string),
            units: state
                .units_involved
                .iter()
                .map(ToString::to_string)
                .collect(),
            category: state.category.as_ref().map(ToString::to_string),
            level: state.level.map(|l| l.as_str().to_owned()),
            channel: state.channel,
            description: state.description.clone(),
            address: state.address.clone(),
            coordinates: state.coordinates,
            created_at: outline.created_at,
            filed_at: state.filed_at,
            dispatched_at: state.dispatched_at,
            deadline: state.deadline,
            closed_at: state.closed_at,
            rework_count: state.rework_count,
            extensions: state.extensions,
            satisfaction: state.satisfaction,
            events: outline.events,
            open_conflicts: outline.open_conflicts,
            flagged_events,
            updated_at: now,
            decline_reason: state.decline_reason,
            duplicate_of: state.duplicate_of.as_ref().map(ToString::to_string),
            concluded_at: outline.concluded_at,
            media_url: None,
            published: None,
            number: None,
            business_type: state.business_type,
            answered_directly: state.answered_directly,
            callbacks_due: u32::try_from(state.callbacks_due().len()).unwrap_or(u32::MAX),
            public_satisfaction: state.public_evaluation().and_then(|e| e.satisfaction),
            public_solved: state.public_evaluation().and_then(|e| e.solved),
            ever_dissatisfied: state.ever_dissatisfied(),
            escalations: state.escalations,
            returns: state.returns,
            acknowledged_at: state.acknowledged_at,
            response_due: state.response_due,
            dispatched_by: state.dispatched_by.clone(),
            lead_unit: state.lead_unit.as_ref().map(ToString::to_string),
            extension_requested: state.pending_extension.as_ref().map(|p| p.hours),
            deadline_missed: state.deadline_missed,
            chain: state.unit_chain.clone(),
            responsible: state.responsible.clone(),
            verifications: state.verifications,
        }
    }

    /// The unit the case counts for in the indicators (`counted_unit` in lists and exports):
    /// the one it is dispatched to now, else the last one named.
    pub fn counted_unit(&self) -> Option<&str> {
        self.unit
            .as_deref()
            .or(self.units.last().map(String::as_str))
    }

    /// Whether the case is overdue (超期) at `now`: past the deadline in force, or past one in
    /// force earlier (a later dispatch or extension does not erase it).
    pub fn overdue_at(&self, now: Millis) -> bool {
        gridcase_sync_core::fold::overdue(
            self.status,
            self.deadline,
            self.closed_at,
            self.deadline_missed,
            now,
        )
    }

    /// The current dispatch waits for its acknowledgement past the response limit at `now`.
    pub fn response_late_at(&self, now: Millis) -> bool {
        self.unit.is_some()
            && self.status.is_some_and(Status::is_open)
            && gridcase_sync_core::fold::response_late(self.acknowledged_at, self.response_due, now)
    }

    /// Fills in what Open311 publishes of a case of the `web` channel: its `media_url` and its
    /// status changes. `events` are the case's events (as folded into `state`); `previous` is
    /// the summary this one replaces. A change the previous summary had keeps its time; a new
    /// one is published `now`, except in a case whose previous summary predates the field,
    /// whose changes are history and keep the time their events give.
    pub fn publish(
        &mut self,
        state: &CaseState,
        events: &[Event],
        previous: Option<&CaseSummary>,
        now: Millis,
    ) {
        // Under a reused id, the event the fold judged; one map, not a search per entry.
        let by_id: std::collections::HashMap<&gridcase_sync_core::EventId, &Event> =
            gridcase_sync_core::fold::dedupe(events)
                .0
                .into_iter()
                .map(|e| (&e.id, e))
                .collect();
        let action = |t: &TimelineEntry| by_id.get(&t.event).map(|e| &e.action);
        let applied = state
            .timeline
            .iter()
            .filter(|t| t.disposition == Disposition::Applied);
        let mut changes = Vec::new();
        let mut status = None;
        for t in applied {
            if let Some(Action::Intake(intake)) = action(t) {
                self.media_url = intake.media_url.clone();
            }
            let (before, after) = (status, t.status);
            status = after;
            // The intake makes the request; every later change of status is an update.
            let Some(after) = after.filter(|a| before.is_some() && before != Some(*a)) else {
                continue;
            };
            let id = t.event.to_string();
            let published_at = match previous {
                Some(CaseSummary {
                    published: Some(known),
                    ..
                }) => known
                    .iter()
                    .find(|c| c.event == id)
                    .map_or(now, |c| c.published_at),
                Some(_) => t.at,
                None => now,
            };
            let (reason, duplicate_of) = match action(t) {
                Some(Action::Decline { reason, .. }) => (Some(*reason), None),
                Some(Action::Confirm { exists: false, .. }) => {
                    (Some(DeclineReason::NotFound), None)
                }
                Some(Action::MarkDuplicate { of }) => {
                    (Some(DeclineReason::Duplicate), Some(of.to_string()))
                }
                _ => (None, None),
            };
            changes.push(StatusChange {
                event: id,
                status: after,
                published_at,
                reason,
                duplicate_of,
            });
        }
        self.published = Some(changes);
    }

    /// The status changes Open311 publishes (none for a case it does not publish).
    pub fn status_changes(&self) -> &[StatusChange] {
        self.published.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_sync_core::commands::{act, open_case};
    use gridcase_sync_core::event::Intake;
    use gridcase_sync_core::org::Territory;
    use gridcase_sync_core::{fold, Actor, ActorId, CaseDoc, Role, Scope, WorkCalendar};

    fn actor(user: &str, role: Role) -> Actor {
        Actor {
            user: user.into(),
            device: format!("{user}-device").as_str().into(),
            role,
            scope: Scope::District,
        }
    }

    fn summarize(doc: &CaseDoc, previous: Option<&CaseSummary>, now: Millis) -> CaseSummary {
        let events = doc.events().expect("events");
        let state = fold(&events, &WorkCalendar::beijing());
        let header = doc.header().expect("header");
        let mut s = CaseSummary::of(&CaseOutline::of(&header, &state), 0, now);
        s.publish(&state, &events, previous, now);
        s
    }

    #[test]
    fn a_public_case_publishes_each_status_change_once_and_old_rows_still_load() {
        let calendar = WorkCalendar::beijing();
        let intake = Intake {
            media_url: Some("https://pics.example.cn/a.jpg".into()),
            business_type: None,
            caller: None,
            callback: false,
            channel: Channel::Web,
            reporter: None,
            description: "a lamp is out".into(),
            territory: Territory {
                street: "s1".into(),
                community: "c1".into(),
                grid: "g1".into(),
            },
            address: None,
            coordinates: None,
            category: None,
            photos: vec![],
        };
        let (mut doc, _) = open_case(
            &actor("open311", Role::IntakeChannel),
            ActorId::random(),
            intake,
            1_000,
        )
        .expect("opened");
        let operator = actor("operator", Role::DistrictCenter);
        let filed = summarize(&doc, None, 1_500);
        assert_eq!(filed.status_changes(), [], "filing is not an update");
        assert_eq!(
            filed.media_url.as_deref(),
            Some("https://pics.example.cn/a.jpg")
        );
        let confirm = Action::Confirm {
            exists: true,
            note: "Li Lei says so".into(),
        };
        act(&mut doc, &operator, confirm, 2_000, &calendar).expect("confirmed");
        let confirmed = summarize(&doc, Some(&filed), 5_000);
        assert_eq!(confirmed.concluded_at, None);
        let decline = Action::Decline {
            reason: DeclineReason::OutOfJurisdiction,
            note: "Li Lei again".into(),
        };
        act(&mut doc, &operator, decline, 3_000, &calendar).expect("declined");
        let declined = summarize(&doc, Some(&confirmed), 9_000);
        let changes = declined.status_changes();
        assert_eq!(
            changes
                .iter()
                .map(|c| (c.status, c.published_at, c.reason))
                .collect::<Vec<_>>(),
            [
                (Status::Reported, 5_000, None),
                (
                    Status::Declined,
                    9_000,
                    Some(DeclineReason::OutOfJurisdiction)
                ),
            ],
            "a change keeps the time it was first published"
        );
        assert_eq!(declined.concluded_at, Some(3_000));
        assert_eq!(
            declined.decline_reason,
            Some(DeclineReason::OutOfJurisdiction)
        );

        // A summary written before these fields loads, and its case's changes are history.
        let mut old = serde_json::to_value(&confirmed).expect("JSON");
        for field in [
            "decline_reason",
            "duplicate_of",
            "concluded_at",
            "media_url",
            "published",
        ] {
            old.as_object_mut().expect("an object").remove(field);
        }
        let old: CaseSummary = serde_json::from_value(old).expect("an old row loads");
        assert_eq!((old.published.as_ref(), old.concluded_at), (None, None));
        let after_old = summarize(&doc, Some(&old), 9_000);
        assert_eq!(
            after_old
                .status_changes()
                .iter()
                .map(|c| c.published_at)
                .collect::<Vec<_>>(),
            [2_000, 3_000]
        );
        // Enums are stored by name.
        let stored = serde_json::to_string(&declined).expect("JSON");
        assert!(
            stored.contains(r#""decline_reason":"out_of_jurisdiction""#),
            "{stored}"
        );
        assert!(stored.contains(r#""status":"declined""#), "{stored}");
        assert_eq!(
            serde_json::from_str::<CaseSummary>(&stored).expect("loads"),
            declined
        );
    }
}
