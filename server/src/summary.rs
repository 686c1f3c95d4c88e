//! The query index: one derived summary per case, rewritten with every accepted change. Lists,
//! filters, the review queue and the indicators read summaries, never whole documents.

use gridcase_sync_core::event::{Channel, Satisfaction};
use gridcase_sync_core::fold::CaseState;
use gridcase_sync_core::{Header, Millis, Status};
use serde::{Deserialize, Serialize};

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
}

impl CaseSummary {
    pub fn of(
        header: &Header,
        state: &CaseState,
        flagged_events: usize,
        now: Millis,
    ) -> CaseSummary {
        let t = state.territory.as_ref();
        CaseSummary {
            id: header.case.to_string(),
            status: state.status,
            step: state.status.map_or(1, Status::step),
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
            created_at: header.created_at,
            filed_at: state.filed_at,
            dispatched_at: state.dispatched_at,
            deadline: state.deadline,
            closed_at: state.closed_at,
            rework_count: state.rework_count,
            extensions: state.extensions,
            satisfaction: state.satisfaction,
            events: state.timeline.len(),
            open_conflicts: state
                .conflicts
                .iter()
                .filter(|c| c.resolved_by.is_none())
                .count(),
            flagged_events,
            updated_at: now,
        }
    }

    pub fn overdue_at(&self, now: Millis) -> bool {
        gridcase_sync_core::fold::overdue(self.status, self.deadline, self.closed_at, now)
    }
}
