//! Health, readiness, metrics and the OpenAPI document.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
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

#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = state.metrics.render(
        state.ledger.docs.cached_cases(),
        state.ledger.committed_seq(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
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
        healthz, readyz, metrics, openapi,
        crate::routes::auth::login, crate::routes::auth::refresh, crate::routes::auth::logout,
        crate::routes::auth::register_device, crate::routes::auth::me,
        crate::routes::admin::list_users, crate::routes::admin::put_user, crate::routes::admin::disable_user,
        crate::routes::admin::list_devices, crate::routes::admin::revoke_device,
        crate::routes::admin::org, crate::routes::admin::put_org_node,
        crate::routes::sync::sync,
        crate::routes::cases::create_case, crate::routes::cases::post_event, crate::routes::cases::list_cases,
        crate::routes::cases::get_case, crate::routes::cases::review_queue, crate::routes::cases::resolve_conflict,
        crate::routes::stats::stats,
        crate::routes::live::changes,
        crate::routes::blobs::upload_status, crate::routes::blobs::put_blob, crate::routes::blobs::get_blob,
    )
)]
pub struct ApiDoc;

#[utoipa::path(get, path = "/v1/openapi.json", tag = "ops", responses((status = 200, body = Object)))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
