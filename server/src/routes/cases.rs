//! The JSON API of cases: each handler takes the request apart, calls the case service
//! (`crate::cases`) on a blocking thread, and answers.

use crate::auth::Caller;
use crate::cases::{
    self, CaseFilter, CaseNumbers, CasePage, CaseView, CreateCase, NumbersQuery, ReviewItem,
    Written,
};
use crate::error::{ApiJson, ApiQuery, Error, Result};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridcase_sync_core::{Action, ActionKind, CaseId, EventId};
use serde::Deserialize;

#[utoipa::path(post, path = "/v1/cases", tag = "cases", request_body = CreateCase,
    responses((status = 201, body = Written), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_case(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateCase>,
) -> Result<(StatusCode, Json<Written>)> {
    let written = crate::blocking(move || cases::open_online(&state, &caller, req)).await?;
    Ok((StatusCode::CREATED, Json(written)))
}

#[utoipa::path(post, path = "/v1/cases/{id}/events", tag = "cases",
    params(("id" = String, Path)),
    request_body(content = Action, description = "An action: its kind and payload, e.g. {\"kind\": \"dispatch\", \"payload\": {\"unit\": \"u1\"}}. The payload of each kind is `$defs/payloads/<kind>` of GET /v1/schema/case-document.json. `unknown` is refused."),
    responses((status = 201, body = Written), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(action): ApiJson<Action>,
) -> Result<(StatusCode, Json<Written>)> {
    // These name a caller record, which their own endpoints write or check with the event.
    let own = match action.kind() {
        ActionKind::CallerAdded => Some("PUT /v1/cases/{id}/callers/{caller}"),
        ActionKind::Callback => Some("POST /v1/cases/{id}/callback"),
        _ => None,
    };
    if let Some(endpoint) = own {
        return Err(Error::BadRequest(format!(
            "{} is recorded through {endpoint}, with the caller it names",
            action.kind()
        )));
    }
    let written =
        crate::blocking(move || cases::act_online(&state, &caller, &CaseId::new(id), action))
            .await?;
    Ok((StatusCode::CREATED, Json(written)))
}

#[utoipa::path(get, path = "/v1/cases", tag = "cases", params(CaseFilter),
    responses((status = 200, body = CasePage)), security(("bearer" = [])))]
pub async fn list_cases(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<CaseFilter>,
) -> Result<Json<CasePage>> {
    let page = crate::blocking(move || cases::list_page(&state, &caller, &filter)).await?;
    Ok(Json(page))
}

#[utoipa::path(get, path = "/v1/cases/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CaseView>> {
    let view = crate::blocking(move || cases::case_view(&state, &caller, &CaseId::new(id))).await?;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/v1/cases/numbers", tag = "cases", request_body = NumbersQuery,
    responses((status = 200, body = CaseNumbers, description = "The numbers of the cases asked about that the caller may see; the others are left out"),
        (status = 403, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn case_numbers(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(query): ApiJson<NumbersQuery>,
) -> Result<Json<CaseNumbers>> {
    let numbers = crate::blocking(move || cases::numbers_of(&state, &caller, &query.cases)).await?;
    Ok(Json(numbers))
}

#[utoipa::path(get, path = "/v1/review/conflicts", tag = "review",
    responses((status = 200, body = Vec<ReviewItem>), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn review_queue(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ReviewItem>>> {
    let items = crate::blocking(move || cases::review_items(&state, &caller)).await?;
    Ok(Json(items))
}

/// What waits for the signed-in user (工作台): the sections of their role's queue, each with
/// its count and most pressing cases (`cases::queue`).
#[utoipa::path(get, path = "/v1/queue", tag = "cases",
    responses((status = 200, body = cases::Queue), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn work_queue(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<cases::Queue>> {
    let queue = crate::blocking(move || cases::queue(&state, &caller)).await?;
    Ok(Json(queue))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Resolution {
    #[serde(default)]
    pub note: String,
    /// Take the superseded event's side (its effect is applied now) instead of keeping the
    /// current outcome; only for a conflict the review queue marks `adoptable`.
    #[serde(default)]
    pub adopt: bool,
}

#[utoipa::path(post, path = "/v1/review/conflicts/{case}/{event}/resolve", tag = "review",
    params(("case" = String, Path), ("event" = String, Path, description = "The superseded event that names the conflict")),
    request_body = Resolution,
    responses((status = 201, body = Written), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn resolve_conflict(
    State(state): State<AppState>,
    caller: Caller,
    Path((case, event)): Path<(String, String)>,
    ApiJson(body): ApiJson<Resolution>,
) -> Result<(StatusCode, Json<Written>)> {
    let conflict = EventId::new(event);
    let action = if body.adopt {
        Action::Adopt {
            conflict,
            note: body.note,
        }
    } else {
        Action::Resolve {
            conflict,
            note: body.note,
        }
    };
    let written =
        crate::blocking(move || cases::act_online(&state, &caller, &CaseId::new(case), action))
            .await?;
    Ok((StatusCode::CREATED, Json(written)))
}

/// Duplicate suggestions while a report is taken (`cases::duplicates`).
#[utoipa::path(get, path = "/v1/cases/duplicates", tag = "cases", params(cases::DuplicateQuery),
    responses((status = 200, body = Vec<cases::Duplicate>, description = "At most 10 open cases of the category, created in the last 30 days, in the caller's scope, within 50 m or at the same address: nearest first"),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn duplicates(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<cases::DuplicateQuery>,
) -> Result<Json<Vec<cases::Duplicate>>> {
    let found = crate::blocking(move || cases::duplicates(&state, &caller, &query)).await?;
    Ok(Json(found))
}
