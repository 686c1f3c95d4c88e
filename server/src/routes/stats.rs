//! `GET /v1/stats`: the 综合评价 indicators over a period, grouped by unit, street, community,
//! grid or category, computed from the case summaries in the caller's scope.

use crate::auth::{now_millis, Caller};
use crate::error::{ApiQuery, Error, Result};
use crate::routes::sync::summary_in_scope;
use crate::summary::CaseSummary;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use gridcase_sync_core::event::Satisfaction;
use gridcase_sync_core::{Role, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Period start, ms since the epoch (default: 30 days ago).
    pub from: Option<i64>,
    /// Period end, exclusive (default: now).
    pub to: Option<i64>,
    /// unit | street | community | grid | category (default unit).
    pub by: Option<String>,
}

/// Counts and rates for one group.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct Indicators {
    /// 立案数: filed in the period.
    pub filed: u64,
    /// 应结案数: deadline in the period, not held or voided.
    pub due: u64,
    /// 结案数: closed in the period.
    pub closed: u64,
    /// 按期结案数: closed in the period by the deadline.
    pub closed_on_time: u64,
    /// 返工数: failed verifications of the cases closed in the period.
    pub rework: u64,
    /// 超期数: deadline in the period and overdue now (or closed late).
    pub overdue: u64,
    /// 延期数.
    pub extended: u64,
    /// 作废数: created in the period and voided.
    pub voided: u64,
    /// Callbacks with a satisfaction answer, and those satisfied or basically satisfied.
    pub evaluated: u64,
    pub satisfied: u64,
    pub dissatisfied: u64,
    /// 结案率 = closed / due.
    pub closing_rate: Option<f64>,
    /// 按期结案率 = closed_on_time / due.
    pub on_time_rate: Option<f64>,
    /// 返工率 = rework / closed.
    pub rework_rate: Option<f64>,
    /// 满意率 = satisfied / evaluated.
    pub satisfaction_rate: Option<f64>,
}

impl Indicators {
    fn count(&mut self, s: &CaseSummary, from: i64, to: i64, now: i64) {
        let within = |t: Option<i64>| t.is_some_and(|t| t >= from && t < to);
        if within(s.filed_at) {
            self.filed += 1;
        }
        let held_or_void = matches!(s.status, Some(Status::Held | Status::Voided));
        if within(s.deadline) && !held_or_void {
            self.due += 1;
            if s.overdue_at(now) {
                self.overdue += 1;
            }
            self.extended += u64::from(s.extensions);
        }
        if within(s.closed_at) {
            self.closed += 1;
            self.rework += u64::from(s.rework_count);
            if s.closed_on_time() == Some(true) {
                self.closed_on_time += 1;
            }
            if let Some(sat) = s.satisfaction {
                self.evaluated += 1;
                match sat {
                    Satisfaction::Satisfied | Satisfaction::Basic => self.satisfied += 1,
                    Satisfaction::Dissatisfied => self.dissatisfied += 1,
                }
            }
        }
        if s.status == Some(Status::Voided) && s.created_at >= from && s.created_at < to {
            self.voided += 1;
        }
    }

    fn rates(mut self) -> Self {
        let rate = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        self.closing_rate = rate(self.closed, self.due);
        self.on_time_rate = rate(self.closed_on_time, self.due);
        self.rework_rate = rate(self.rework, self.closed);
        self.satisfaction_rate = rate(self.satisfied, self.evaluated);
        self
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub from: i64,
    pub to: i64,
    pub by: String,
    pub groups: BTreeMap<String, Indicators>,
    pub total: Indicators,
}

#[utoipa::path(get, path = "/v1/stats", tag = "review", params(StatsQuery),
    responses((status = 200, body = Stats), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<Stats>> {
    caller.require_role(&[
        Role::DistrictCenter,
        Role::StreetCenter,
        Role::CommunityWorkstation,
        Role::Supervisor,
    ])?;
    let now = now_millis();
    let to = q.to.unwrap_or(now);
    let from = q.from.unwrap_or(to - 30 * 86_400_000);
    let by = q.by.unwrap_or_else(|| "unit".into());
    let key: fn(&CaseSummary) -> Option<String> = match by.as_str() {
        "unit" => |s| s.unit.clone().or_else(|| s.units.last().cloned()),
        "street" => |s| s.street.clone(),
        "community" => |s| s.community.clone(),
        "grid" => |s| s.grid.clone(),
        "category" => |s| s.category.clone(),
        other => return Err(Error::BadRequest(format!("cannot group by {other}"))),
    };
    let result = tokio::task::spawn_blocking(move || {
        let mut groups: BTreeMap<String, Indicators> = BTreeMap::new();
        let mut total = Indicators::default();
        for s in state.ledger.summaries() {
            let s = s?;
            if !summary_in_scope(&caller.user.scope, &s) {
                continue;
            }
            let k = key(&s).unwrap_or_else(|| "none".into());
            groups.entry(k).or_default().count(&s, from, to, now);
            total.count(&s, from, to, now);
        }
        Ok::<_, Error>(Stats {
            from,
            to,
            by,
            groups: groups.into_iter().map(|(k, v)| (k, v.rates())).collect(),
            total: total.rates(),
        })
    })
    .await
    .map_err(Error::internal)??;
    Ok(Json(result))
}
