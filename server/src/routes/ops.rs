//! Health, readiness, metrics and the OpenAPI document.

use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gridcase_sync_core::Role;
use sha2::{Digest, Sha256};
use utoipa::OpenApi;

#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the ledger answers a read.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = String), (status = 503, body = String)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.directory.has_users() {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the ledger does not answer",
        ),
    }
}

/// Who may read `/metrics`: the metrics token (`--metrics-token`), or the access token of an
/// admin or a supervisor. The numbers (request rates per route, ledger size, commit timings)
/// are not for the public.
const METRICS_READERS: &[Role] = &[Role::Admin, Role::Supervisor];

#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, body = String, content_type = "text/plain"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn metrics(State(state): State<AppState>, mut parts: Parts) -> Result<Response> {
    if !metrics_token_given(&state, &parts.headers) {
        let caller = Caller::from_request_parts(&mut parts, &state)
            .await
            .map_err(|e| match e {
                Error::Unauthorized(m) => Error::Unauthorized(format!(
                    "/metrics needs the metrics token or an admin's or supervisor's token: {m}"
                )),
                other => other,
            })?;
        caller.require_role(METRICS_READERS)?;
    }
    Ok(render(&state))
}

/// Whether the request carries the configured metrics token as its bearer token.
fn metrics_token_given(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(expected) = state
        .config
        .metrics_token
        .as_deref()
        .filter(|t| !t.is_empty())
    else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    // Digests compared, so the comparison's time says nothing of the token.
    given.is_some_and(|g| Sha256::digest(g.as_bytes()) == Sha256::digest(expected.as_bytes()))
}

fn render(state: &AppState) -> Response {
    let body = state.metrics.render(
        state.ledger.docs.cached_cases(),
        state.ledger.committed_seq(),
        state.sync_door.waiting(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// The router of `--metrics-listen`: `/metrics` alone, asking for the metrics token when one
/// is set (the address is meant to be private).
pub fn metrics_router(state: AppState) -> Router {
    async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
        let open = state
            .config
            .metrics_token
            .as_deref()
            .is_none_or(str::is_empty);
        if !open && !metrics_token_given(&state, &headers) {
            return Err(Error::Unauthorized(
                "/metrics needs the metrics token".into(),
            ));
        }
        Ok(render(&state))
    }
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { Error::NotFound("only /metrics is served here".into()) })
        .with_state(state)
}

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "gridcase", description = "The central case ledger of gridcase"),
    modifiers(&Bearer),
    paths(
        healthz, readyz, metrics, openapi, case_document_schema,
        crate::routes::auth::login, crate::routes::auth::refresh, crate::routes::auth::logout,
        crate::routes::auth::register_device, crate::routes::auth::me,
        crate::routes::admin::list_users, crate::routes::admin::put_user, crate::routes::admin::disable_user,
        crate::routes::admin::list_devices, crate::routes::admin::revoke_device,
        crate::routes::admin::org, crate::routes::admin::put_org_node,
        crate::routes::addresses::search, crate::routes::addresses::unregistered,
        crate::routes::sync::sync,
        crate::routes::cases::create_case, crate::routes::cases::post_event, crate::routes::cases::list_cases,
        crate::routes::cases::get_case, crate::routes::cases::case_numbers,
        crate::routes::cases::review_queue, crate::routes::cases::resolve_conflict,
        crate::routes::cases::duplicates, crate::routes::cases::work_queue,
        crate::routes::callers::put_caller, crate::routes::callers::cases_of_phone,
        crate::routes::callers::callback_worklist, crate::routes::callers::record_callback,
        crate::routes::stats::stats,
        crate::routes::export::export_cases, crate::routes::export::export_stats,
        crate::routes::live::changes,
        crate::routes::blobs::upload_status, crate::routes::blobs::put_blob, crate::routes::blobs::get_blob,
    )
)]
pub struct ApiDoc;

/// The JSON Schema of a case document (sync-core's `schema`): the layout, every event kind's
/// payload, the rule table and the notice codes, for clients in any language. Public, like
/// the OpenAPI document: it describes the format, never a case.
#[utoipa::path(get, path = "/v1/schema/case-document.json", tag = "ops",
    responses((status = 200, body = Object, content_type = "application/schema+json",
        description = "JSON Schema (draft 2020-12) of a case document; also schema/case-document.schema.json in the repository")))]
pub async fn case_document_schema() -> Response {
    static SCHEMA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // `{:#}` is serde_json's pretty printing, which cannot fail for a `Value`.
    let body = SCHEMA.get_or_init(|| format!("{:#}", gridcase_sync_core::schema::case_document()));
    (
        [(header::CONTENT_TYPE, "application/schema+json")],
        body.clone(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "ops", responses((status = 200, body = Object)))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
