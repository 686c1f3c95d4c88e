//! `GET /v1/stats`: the 综合评价 indicators over a period, grouped by unit, street, community,
//! grid, category or responsible person, computed over the indicator table (see `indicators`)
//! in the caller's scope, each group with its composite score and grade (`--score-weights`),
//! and on request the previous period of equal length.

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
    /// unit | street | community | grid | category | responsible (default unit).
    pub by: Option<String>,
    /// Also answer the previous period of equal length (`previous`), to compare with.
    pub compare: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub from: i64,
    pub to: i64,
    pub by: String,
    /// The score's weights (`--score-weights`), by rate.
    pub weights: BTreeMap<String, f64>,
    pub groups: BTreeMap<String, Indicators>,
    pub total: Indicators,
    /// With `compare=true`: the same figures over the period of equal length just before
    /// (`from − (to − from)` to `from`), judged at the same instant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<Previous>>,
}

/// The figures of the previous period.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Previous {
    pub from: i64,
    pub to: i64,
    pub groups: BTreeMap<String, Indicators>,
    pub total: Indicators,
}

/// The indicators of a period with their scores.
pub fn scored(
    state: &AppState,
    scope: &gridcase_sync_core::Scope,
    group: GroupBy,
    period: Period,
) -> Result<(BTreeMap<String, Indicators>, Indicators)> {
    let (mut groups, mut total) = state.ledger.indicators(scope, group, period)?;
    let weights = &state.config.score_weights;
    for g in groups.values_mut() {
        weights.apply(g);
    }
    weights.apply(&mut total);
    Ok((groups, total))
}

/// The period of equal length just before `p`, judged at the same instant.
pub fn previous_period(p: Period) -> Period {
    let len = p.to.saturating_sub(p.from);
    Period {
        from: p.from.saturating_sub(len),
        to: p.from,
        now: p.now,
    }
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
    let compare = q.compare.unwrap_or(false);
    let s = state.clone();
    let (groups, total, previous) = crate::blocking(move || {
        let (groups, total) = scored(&s, &scope, group, period)?;
        let previous = if compare {
            let p = previous_period(period);
            let (groups, total) = scored(&s, &scope, group, p)?;
            Some(Box::new(Previous {
                from: p.from,
                to: p.to,
                groups,
                total,
            }))
        } else {
            None
        };
        Ok::<_, Error>((groups, total, previous))
    })
    .await?;
    let weights = state
        .config
        .score_weights
        .iter()
        .map(|(n, w)| (n.to_owned(), w))
        .collect();
    Ok(Json(Stats {
        from,
        to,
        by,
        weights,
        groups,
        total,
        previous,
    }))
}
