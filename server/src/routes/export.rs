//! Exports as files (`cases::export`): `GET /v1/cases/export` (a case list, the filters of
//! `GET /v1/cases`) and `GET /v1/stats/export` (the indicator table, the query of
//! `GET /v1/stats`), as CSV or XLSX. The console links to both; its session cookie
//! authenticates them like any route.

use crate::auth::{now_millis, Caller};
use crate::cases::export::{self, Export, Format, StatsShape};
use crate::cases::{CaseFilter, REVIEWERS};
use crate::console::{place, Place};
use crate::error::{ApiQuery, Error, Result};
use crate::indicators::{GroupBy, Period, NO_GROUP};
use crate::routes::stats::{scored, StatsQuery};
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gridcase_sync_core::limits;
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// csv | xlsx.
    pub format: String,
}

fn format_of(q: &FormatQuery) -> Result<Format> {
    Format::parse(&q.format).ok_or_else(|| {
        Error::BadRequest(format!(
            "cannot export as {:?}: format is csv or xlsx",
            q.format
        ))
    })
}

fn file(export: &Export, format: Format) -> Result<Response> {
    let bytes = export.write(format)?;
    let disposition = format!("attachment; filename=\"{}\"", export.file_name(format));
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// A case list as a file: every case the filters of `GET /v1/cases` find in the caller's scope
/// (`limit` and `cursor` are ignored), newest first, at most 100,000 (a longer list is refused
/// with `too_large`, never cut short). The file states the filters, its scope and the
/// definitions (CSV: `#` lines before the header row; XLSX: the sheet `说明 Notes`); headers in
/// Chinese and English; no caller's personal data, and a search by phone is refused.
#[utoipa::path(get, path = "/v1/cases/export", tag = "cases", params(FormatQuery, CaseFilter),
    responses(
        (status = 200, description = "The file (Content-Disposition: attachment)",
            content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody, description = "More than 100,000 cases match")),
    security(("bearer" = [])))]
pub async fn export_cases(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<FormatQuery>,
    ApiQuery(filter): ApiQuery<CaseFilter>,
) -> Result<Response> {
    let format = format_of(&q)?;
    let _turn = export_turn().await?;
    let export =
        crate::workers::on_own_turn(move || export::cases(&state, &caller, &filter)).await?;
    crate::workers::on_own_turn(move || file(&export, format)).await
}

/// Exports build their whole file in memory (a workbook of 100,000 rows is hundreds of MB):
/// two at a time on the server, the others wait their turn, up to a minute.
async fn export_turn() -> Result<tokio::sync::SemaphorePermit<'static>> {
    static TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    match tokio::time::timeout(std::time::Duration::from_secs(60), TURNS.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(crate::error::Error::TooManyRequests {
            retry_after_secs: 60,
        }),
    }
}

/// The indicator table as a file: the groups and total `GET /v1/stats` answers for the same
/// query, a column per figure, the period, grouping, scope and every formula stated (CSV: `#`
/// lines before the header row; XLSX: the sheet `说明 Notes`). Rates are fractions; no data is
/// `—`, never 0. `compare` is ignored: export the previous period with its own `from` and `to`.
#[utoipa::path(get, path = "/v1/stats/export", tag = "review", params(FormatQuery, StatsQuery),
    responses(
        (status = 200, description = "The file (Content-Disposition: attachment)",
            content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<FormatQuery>,
    ApiQuery(stats): ApiQuery<StatsQuery>,
) -> Result<Response> {
    caller.require_role(REVIEWERS)?;
    let format = format_of(&q)?;
    // As `GET /v1/stats` reads its query.
    let now = now_millis();
    let to = stats.to.unwrap_or(now);
    let bounded = |from| limits::check_period(from, to).map_err(|v| Error::BadRequest(v.message));
    bounded(limits::PERIOD_MIN)?;
    let from = stats
        .from
        .unwrap_or_else(|| (to - 30 * 86_400_000).max(limits::PERIOD_MIN));
    bounded(from)?;
    let by = stats.by.clone().unwrap_or_else(|| "unit".into());
    let group =
        GroupBy::parse(&by).ok_or_else(|| Error::BadRequest(format!("cannot group by {by}")))?;
    let period = Period { from, to, now };
    let query = serde_urlencoded::to_string([
        ("from", from.to_string()),
        ("to", to.to_string()),
        ("by", by.clone()),
    ])
    .unwrap_or_default();
    crate::blocking(move || {
        // Scored like `GET /v1/stats` (`--score-weights`).
        let (groups, total) = scored(&state, &caller.user.scope, group, period)?;
        let org = state.directory.org()?;
        let name = |key: &str| -> String {
            if key == NO_GROUP {
                return "—".into();
            }
            match group {
                GroupBy::Unit => place(&org, Place::Unit, Some(key)),
                GroupBy::Street => place(&org, Place::Street, Some(key)),
                GroupBy::Community => place(&org, Place::Community, Some(key)),
                GroupBy::Grid => place(&org, Place::Grid, Some(key)),
                // A category by its code, a responsible person by name.
                _ => key.to_owned(),
            }
        };
        let shape = StatsShape {
            from,
            to,
            now,
            by: &by,
            query,
            weights: state.config.score_weights.to_string(),
        };
        let export = export::indicators(&caller, &shape, &groups, &total, name)?;
        file(&export, format)
    })
    .await
}
