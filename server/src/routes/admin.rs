//! Administration: users, devices, and the organization (streets, communities, grids, units).

use crate::auth::{hash_password, Caller};
use crate::directory::{Device, User};
use crate::error::{ApiJson, Error, Result};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridcase_sync_core::org::{Community, Grid, Org, Street, Unit};
use gridcase_sync_core::{limits, DeviceId, Role, Scope, UserId};
use serde::{Deserialize, Serialize};

fn admin(caller: &Caller) -> Result<()> {
    caller.require_role(&[Role::Admin])
}

/// The longest password accepted (argon2 hashes any length; nobody types more).
const MAX_PASSWORD: usize = 1024;

/// A bound from `limits` broken by a directory form: a bad request naming the field.
fn bounded(v: gridcase_sync_core::Violation) -> Error {
    Error::BadRequest(v.message)
}

/// An id given to the directory: not blank, at most `limits::ID` characters.
fn check_id(field: &str, id: &str) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::BadRequest(format!("{field} must not be empty")));
    }
    limits::check_text(field, id, limits::ID).map_err(bounded)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub scope: Scope,
    pub disabled: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.to_string(),
            name: u.name.clone(),
            role: u.role.as_str().into(),
            scope: u.scope.clone(),
            disabled: u.disabled,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PutUser {
    pub id: String,
    pub name: String,
    pub role: String,
    pub scope: Scope,
    /// Required for a new user; keeps the old password when absent.
    #[serde(default)]
    pub password: Option<String>,
    /// Take the previous scopes away outright: what a device wrote offline under them is then
    /// refused instead of stored and flagged.
    #[serde(default)]
    pub revoke_previous_scopes: bool,
}

#[utoipa::path(get, path = "/v1/admin/users", tag = "admin",
    responses((status = 200, body = Vec<UserView>), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>> {
    admin(&caller)?;
    Ok(Json(
        state
            .directory
            .users()?
            .iter()
            .map(UserView::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/v1/admin/users", tag = "admin", request_body = PutUser,
    responses((status = 200, body = UserView), (status = 400, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PutUser>,
) -> Result<Json<UserView>> {
    admin(&caller)?;
    check_id("id", &req.id)?;
    limits::check_text("name", &req.name, limits::NAME).map_err(bounded)?;
    if let Some(p) = &req.password {
        limits::check_text("password", p, MAX_PASSWORD).map_err(bounded)?;
    }
    let role = Role::parse(&req.role)
        .ok_or_else(|| Error::BadRequest(format!("unknown role {}", req.role)))?;
    let id = UserId::new(req.id.as_str());
    let existing = state.directory.user(&id)?;
    let password_hash = match (req.password, existing.as_ref()) {
        (Some(p), _) if p.len() >= 8 => {
            let _turn = state
                .password_permits
                .acquire()
                .await
                .map_err(Error::internal)?;
            crate::workers::on_own_turn(move || hash_password(&p)).await?
        }
        (Some(_), _) => {
            return Err(Error::BadRequest(
                "a password needs 8 characters or more".into(),
            ))
        }
        (None, Some(u)) => u.password_hash.clone(),
        (None, None) => return Err(Error::BadRequest("a new user needs a password".into())),
    };
    let mut past = existing
        .as_ref()
        .map(|u| u.past.clone())
        .unwrap_or_default();
    if let Some(old) = &existing {
        if (old.role, &old.scope) != (role, &req.scope)
            && !past.contains(&(old.role, old.scope.clone()))
        {
            past.push((old.role, old.scope.clone()));
        }
    }
    let mut revoked = existing
        .as_ref()
        .map(|u| u.revoked.clone())
        .unwrap_or_default();
    if req.revoke_previous_scopes {
        revoked.append(&mut past);
    }
    revoked.retain(|(r, s)| (*r, s) != (role, &req.scope));
    let user = User {
        id,
        name: req.name,
        role,
        scope: req.scope,
        password_hash,
        disabled: existing.is_some_and(|u| u.disabled),
        past,
        revoked,
    };
    state.directory.put_user(&user)?;
    Ok(Json(UserView::from(&user)))
}

#[utoipa::path(post, path = "/v1/admin/users/{id}/disable", tag = "admin",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn disable_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    admin(&caller)?;
    let mut user = state
        .directory
        .user(&UserId::new(id.as_str()))?
        .ok_or_else(|| Error::NotFound(format!("no user {id}")))?;
    user.disabled = true;
    state.directory.put_user(&user)?;
    tracing::info!(user = %id, "user disabled");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/admin/devices", tag = "admin", responses((status = 200, body = Vec<Device>)),
    security(("bearer" = [])))]
pub async fn list_devices(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Device>>> {
    admin(&caller)?;
    Ok(Json(state.directory.devices()?))
}

#[utoipa::path(post, path = "/v1/admin/devices/{id}/revoke", tag = "admin",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    admin(&caller)?;
    let mut device = state
        .directory
        .device(&DeviceId::new(id.as_str()))?
        .ok_or_else(|| Error::NotFound(format!("no device {id}")))?;
    device.revoked = true;
    state.directory.put_device(&device)?;
    tracing::info!(device = %id, "device revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/org", tag = "admin", responses((status = 200, body = gridcase_sync_core::org::Org)),
    security(("bearer" = [])))]
pub async fn org(State(state): State<AppState>, _caller: Caller) -> Result<Response> {
    let (org, tag) = state.directory.org_and_tag()?;
    let mut response = Json(&*org).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{tag}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

/// One node of the organization to create or replace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OrgNode {
    Street {
        name: String,
    },
    Community {
        name: String,
        street: String,
    },
    Grid {
        name: String,
        community: String,
        #[serde(default)]
        polygon: Vec<(f64, f64)>,
    },
    /// A unit; `street` or `community` when that street or community commands it (tiered
    /// dispatch), neither for a district unit.
    Unit {
        name: String,
        #[serde(default)]
        street: Option<String>,
        #[serde(default)]
        community: Option<String>,
    },
}

#[utoipa::path(put, path = "/v1/admin/org/{id}", tag = "admin", request_body = OrgNode,
    params(("id" = String, Path)), responses((status = 200, body = gridcase_sync_core::org::Org), (status = 400, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_org_node(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(node): ApiJson<OrgNode>,
) -> Result<Response> {
    admin(&caller)?;
    check_id("id", &id)?;
    let name = match &node {
        OrgNode::Street { name }
        | OrgNode::Community { name, .. }
        | OrgNode::Grid { name, .. }
        | OrgNode::Unit { name, .. } => name,
    };
    limits::check_text("name", name, limits::NAME).map_err(bounded)?;
    if let OrgNode::Grid { polygon, .. } = &node {
        limits::check_count("polygon", polygon.len(), limits::POLYGON_POINTS).map_err(bounded)?;
        for point in polygon {
            limits::check_point("polygon", *point).map_err(bounded)?;
        }
    }
    let org = state
        .directory
        .update_org(|org| put_node(org, &id, node.clone()))?;
    Ok(Json(&*org).into_response())
}

/// Puts one node into the organization, checking what it names exists.
fn put_node(org: &mut Org, id: &str, node: OrgNode) -> Result<()> {
    match node {
        OrgNode::Street { name } => {
            org.streets.insert(id.into(), Street { name });
        }
        OrgNode::Community { name, street } => {
            if !org.streets.contains_key(&street.as_str().into()) {
                return Err(Error::BadRequest(format!("no street {street}")));
            }
            org.communities.insert(
                id.into(),
                Community {
                    name,
                    street: street.into(),
                },
            );
        }
        OrgNode::Grid {
            name,
            community,
            polygon,
        } => {
            if !org.communities.contains_key(&community.as_str().into()) {
                return Err(Error::BadRequest(format!("no community {community}")));
            }
            org.grids.insert(
                id.into(),
                Grid {
                    name,
                    community: community.into(),
                    polygon,
                },
            );
        }
        OrgNode::Unit {
            name,
            street,
            community,
        } => {
            if let Some(street) = street.as_deref() {
                if !org.streets.contains_key(&street.into()) {
                    return Err(Error::BadRequest(format!("no street {street}")));
                }
            }
            if let Some(community) = community.as_deref() {
                if !org.communities.contains_key(&community.into()) {
                    return Err(Error::BadRequest(format!("no community {community}")));
                }
            }
            if street.is_some() && community.is_some() {
                return Err(Error::BadRequest(
                    "a unit answers to one street or one community, not both".into(),
                ));
            }
            org.units.insert(
                id.into(),
                Unit {
                    name,
                    street: street.map(Into::into),
                    community: community.map(Into::into),
                },
            );
        }
    }
    Ok(())
}
