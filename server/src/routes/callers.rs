//! The JSON API of callers and callbacks: recording a caller of a case (the desk attaching a
//! repeat call, a handheld delivering the walk-in resident it took offline), a telephone
//! number's earlier cases, the callback worklist and a callback's answer. Each handler takes
//! the request apart, calls the case service on a blocking thread, and answers.

use crate::auth::Caller;
use crate::callers::CallerInput;
use crate::cases::{
    self, CallbackInput, CallbackItem, CallerAdded, CaseListItem, PhoneQuery, Written,
};
use crate::error::{ApiJson, ApiQuery, Result};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridcase_sync_core::CaseId;
use serde::Deserialize;

/// A caller to record, with an optional note for the `caller_added` event.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CallerBody {
    #[serde(flatten)]
    pub caller: CallerInput,
    /// Why the call is attached to this case (for a caller other than the intake's).
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(put, path = "/v1/cases/{id}/callers/{caller}", tag = "callers",
    params(("id" = String, Path), ("caller" = String, Path, description = "The caller record's id: 32 lower-case hex digits, minted by the client (the intake's `caller`, or a fresh one to attach another caller)")),
    request_body = CallerBody,
    responses((status = 200, body = CallerAdded, description = "Recorded, or recorded before (`again`)"),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody, description = "No such case in the caller's scope (a handheld's case not synced yet: try again after the next sync)"),
        (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_caller(
    State(state): State<AppState>,
    caller: Caller,
    Path((case, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<CallerBody>,
) -> Result<Json<CallerAdded>> {
    let added = crate::blocking(move || {
        cases::add_caller(
            &state,
            &caller,
            &CaseId::new(case),
            &id,
            body.caller,
            body.note,
        )
    })
    .await?;
    Ok(Json(added))
}

#[utoipa::path(get, path = "/v1/callers/cases", tag = "callers", params(PhoneQuery),
    responses((status = 200, body = Vec<CaseListItem>, description = "The number's earlier cases in the caller's scope, newest first"),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn cases_of_phone(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PhoneQuery>,
) -> Result<Json<Vec<CaseListItem>>> {
    let found = crate::blocking(move || cases::cases_of_phone(&state, &caller, &query)).await?;
    Ok(Json(found))
}

#[utoipa::path(get, path = "/v1/callbacks", tag = "callers",
    responses((status = 200, body = Vec<CallbackItem>, description = "Closed cases whose callers wait for their callback, oldest due first"),
        (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn callback_worklist(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<CallbackItem>>> {
    let items = crate::blocking(move || cases::callback_worklist(&state, &caller)).await?;
    Ok(Json(items))
}

#[utoipa::path(post, path = "/v1/cases/{id}/callback", tag = "callers",
    params(("id" = String, Path)), request_body = CallbackInput,
    responses((status = 201, body = Written), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_callback(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CallbackInput>,
) -> Result<(StatusCode, Json<Written>)> {
    let written =
        crate::blocking(move || cases::record_callback(&state, &caller, &CaseId::new(id), input))
            .await?;
    Ok((StatusCode::CREATED, Json(written)))
}
