//! `GET /v1/stats`: the 综合评价 indicators over a period, grouped by unit, street, community,
//! grid or category, computed over the indicator table (see `indicators`) in the caller's scope.

use crate::auth::{now_millis, Caller};
use crate::cases::REVIEWERS;
use crate::error::{ApiQuery, Error, Result};
use crate::indicators::{GroupBy, Indicators, Period};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use gridcase_sync_core::limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Period start, ms since the epoch (default: 30 days before `to`); 0 at the earliest.
    pub from: Option<i64>,
    /// Period end, exclusive (default: now); 2100-01-01 (4102444800000) at the latest.
    pub to: Option<i64>,
    /// unit | street | community | grid | category (default unit).
    pub by: Option<String>,
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
    caller.require_role(REVIEWERS)?;
    let now = now_millis();
    let to = q.to.unwrap_or(now);
    // Checked before any arithmetic: `to` may be anything a query string holds.
    let bounded = |from| limits::check_period(from, to).map_err(|v| Error::BadRequest(v.message));
    bounded(limits::PERIOD_MIN)?;
    let from = q
        .from
        .unwrap_or_else(|| (to - 30 * 86_400_000).max(limits::PERIOD_MIN));
    bounded(from)?;
    let by = q.by.unwrap_or_else(|| "unit".into());
    let group =
        GroupBy::parse(&by).ok_or_else(|| Error::BadRequest(format!("cannot group by {by}")))?;
    let period = Period { from, to, now };
    // Blocking: right after start-up it waits for the indicator table to load.
    let scope = caller.user.scope.clone();
    let ledger = state.ledger.clone();
    let (groups, total) = crate::blocking(move || ledger.indicators(&scope, group, period)).await?;
    Ok(Json(Stats {
        from,
        to,
        by,
        groups,
        total,
    }))
}
