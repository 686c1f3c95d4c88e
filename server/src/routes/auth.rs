//! Login, refresh, logout, device registration and "who am I".

use crate::auth::{self, now_millis, password_matches, Caller, Tokens};
use crate::directory::{Device, User};
use crate::error::{ApiJson, Error, Result};
use crate::throttle::ClientAddr;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gridcase_sync_core::{limits, DeviceId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// A registered device of this user: the tokens are then bound to it (needed to sync).
    #[serde(default)]
    pub device_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Tokens), (status = 401, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody,
            description = "Too many failed sign-ins for this account or from this address; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<Tokens>> {
    let user = check_password(&state, client, req.username, req.password).await?;
    let tokens = crate::blocking(move || {
        let device = match req.device_id {
            Some(id) => {
                let d = state
                    .directory
                    .device(&DeviceId::new(id.as_str()))?
                    .filter(|d| d.user == user.id && !d.revoked)
                    .ok_or_else(|| {
                        Error::Unauthorized(format!("device {id} is not usable by this user"))
                    })?;
                Some(d.id)
            }
            None => None,
        };
        auth::issue(&state.keys, &state.directory, &user.id, device.as_ref())
    })
    .await?;
    Ok(Json(tokens))
}

/// The enabled user with this name and password, checked in turn with other argon2 hashes.
/// Behind the throttle (`crate::throttle`): a locked account or a client address out of
/// failures is refused with `Error::TooManyRequests` before any hash is computed.
pub async fn check_password(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    username: String,
    password: String,
) -> Result<User> {
    // Before the turn, so that a refused guess costs no wait and no hash; the attempt is
    // reserved, so concurrent guesses cannot all pass a check made before any failed.
    let attempt = state.throttle.begin_login(&username, client)?;
    let _turn = state
        .password_permits
        .clone()
        .acquire_owned()
        .await
        .map_err(Error::internal)?;
    let directory = state.directory.clone();
    let outcome = crate::workers::on_own_turn(move || {
        let Some(user) = directory.user(&UserId::new(username.as_str()))? else {
            return Ok(None);
        };
        Ok(password_matches(&password, &user.password_hash).then_some(user))
    })
    .await;
    match outcome {
        Ok(Some(user)) if user.disabled => {
            attempt.neutral();
            Err(Error::Unauthorized("the user is disabled".into()))
        }
        Ok(Some(user)) => {
            attempt.succeeded();
            Ok(user)
        }
        Ok(None) => {
            attempt.failed();
            Err(Error::Unauthorized("wrong username or password".into()))
        }
        Err(e) => {
            attempt.neutral();
            Err(e)
        }
    }
}

#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Tokens), (status = 401, body = crate::error::ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<Tokens>> {
    Ok(Json(auth::rotate(
        &state.keys,
        &state.directory,
        &req.refresh_token,
    )?))
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "The refresh token no longer works")))]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<StatusCode> {
    auth::revoke(&state.directory, &req.refresh_token)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterDevice {
    /// The device's own id (stable across re-registrations); generated when absent.
    #[serde(default)]
    pub device_id: Option<String>,
    /// At most 100 characters (`limits::NAME`).
    pub name: String,
    /// automerge actor ids (hex) the device will write with.
    pub actors: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub device: Device,
    /// Tokens bound to the device: use them to sync.
    pub tokens: Tokens,
}

#[utoipa::path(post, path = "/v1/devices", tag = "auth", request_body = RegisterDevice,
    responses((status = 201, body = Registered), (status = 400, body = crate::error::ErrorBody,
            description = "Bad actor ids, device id, or a name over 100 characters"),
        (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_device(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<RegisterDevice>,
) -> Result<(StatusCode, Json<Registered>)> {
    if req.actors.is_empty() || req.actors.len() > 16 {
        return Err(Error::BadRequest("a device binds 1 to 16 actor ids".into()));
    }
    limits::check_text("name", &req.name, limits::NAME)
        .map_err(|v| Error::BadRequest(v.message))?;
    for a in &req.actors {
        let ok = a.len() >= 2 && a.len() <= 64 && a.len() % 2 == 0 && hex::decode(a).is_ok();
        if !ok {
            return Err(Error::BadRequest(format!("{a:?} is not a hex actor id")));
        }
    }
    let id = match req.device_id {
        Some(id) if !id.trim().is_empty() && id.len() <= 128 => DeviceId::new(id),
        Some(_) => return Err(Error::BadRequest("bad device id".into())),
        None => DeviceId::new(hex::encode(auth::random_bytes::<12>()?)),
    };
    let mut actors = req.actors;
    if let Some(existing) = state.directory.device(&id)? {
        if existing.revoked {
            return Err(Error::Forbidden(format!("device {id} is revoked")));
        }
        for a in existing.actors {
            if !actors.contains(&a) {
                actors.push(a);
            }
        }
    }
    let device = Device {
        id,
        user: caller.user.id.clone(),
        name: req.name,
        actors,
        revoked: false,
        registered_at: now_millis(),
    };
    state.directory.register_device(&device)?;
    tracing::info!(device = %device.id, user = %device.user, "device registered");
    let tokens = auth::issue(
        &state.keys,
        &state.directory,
        &device.user,
        Some(&device.id),
    )?;
    Ok((StatusCode::CREATED, Json(Registered { device, tokens })))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: String,
    pub name: String,
    pub role: gridcase_sync_core::Role,
    pub scope: gridcase_sync_core::Scope,
    pub device: Option<String>,
}

#[utoipa::path(get, path = "/v1/me", tag = "auth", responses((status = 200, body = Me)),
    security(("bearer" = [])))]
pub async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        user: caller.user.id.to_string(),
        name: caller.user.name.clone(),
        role: caller.user.role,
        scope: caller.user.scope.clone(),
        device: caller.device.map(|d| d.id.to_string()),
    })
}
