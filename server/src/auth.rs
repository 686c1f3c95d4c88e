//! Identity: argon2 password hashes, short-lived HS256 access tokens, opaque rotating refresh
//! tokens, and the extractor that turns a bearer token into the calling user and device.
//!
//! The token only names the user and the device. Role and scope are read from the directory
//! on every request, so a changed scope or a revoked device takes effect at once.

use crate::directory::{Device, Directory, Refresh, User};
use crate::error::{Error, Result};
use crate::AppState;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use gridcase_sync_core::{Actor, DeviceId, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    pub iat: u64,
    pub exp: u64,
}

/// Signing and verifying keys plus token lifetimes.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: u64,
    pub refresh_ttl: u64,
}

impl Keys {
    /// Uses the configured secret, else the one in the data directory, else makes one there.
    /// Then proves that signing and verifying work: a missing crypto backend only shows when used.
    pub fn load(
        configured: Option<&str>,
        dir: &Path,
        access_ttl: u64,
        refresh_ttl: u64,
    ) -> Result<Keys> {
        let secret = match configured {
            Some(hex_secret) => hex::decode(hex_secret.trim())
                .map_err(|_| Error::BadRequest("the JWT secret must be hex".into()))?,
            None => {
                let path = dir.join("jwt.key");
                match std::fs::read_to_string(&path) {
                    Ok(s) => hex::decode(s.trim()).map_err(|_| {
                        Error::Internal(format!("{} does not hold hex", path.display()))
                    })?,
                    Err(_) => {
                        let secret = random_bytes::<32>()?.to_vec();
                        std::fs::write(&path, hex::encode(&secret))?;
                        restrict(&path);
                        secret
                    }
                }
            }
        };
        if secret.len() < 32 {
            return Err(Error::BadRequest(
                "the JWT secret needs at least 32 bytes".into(),
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // A token that says it is not valid yet is refused (none of ours carries `nbf`).
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let keys = Keys {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            access_ttl,
            refresh_ttl,
        };
        let probe = keys.sign(&UserId::new("self-test"), None)?;
        let claims = keys.verify(&probe)?;
        if claims.sub != "self-test" {
            return Err(Error::Internal(
                "JWT self-test read back the wrong subject".into(),
            ));
        }
        Ok(keys)
    }

    pub fn sign(&self, user: &UserId, device: Option<&DeviceId>) -> Result<String> {
        let now = now_secs();
        let claims = Claims {
            sub: user.to_string(),
            dev: device.map(|d| d.to_string()),
            iat: now,
            exp: now + self.access_ttl,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("signing a token: {e}")))
    }

    pub fn verify(&self, token: &str) -> Result<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                // Say what a client can act on, never the library's view of the token.
                let why = match e.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet",
                    _ => "the token is invalid",
                };
                tracing::debug!(error = %e, "token refused");
                Error::Unauthorized(why.into())
            })
    }
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_: &Path) {}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(b)
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
}

pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// An access token and the refresh token that renews it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a fresh pair; the refresh token is stored only as its hash.
pub fn issue(
    keys: &Keys,
    dir: &Directory,
    user: &UserId,
    device: Option<&DeviceId>,
) -> Result<Tokens> {
    let refresh = hex::encode(random_bytes::<32>()?);
    dir.put_refresh(
        &token_hash(&refresh),
        &Refresh {
            user: user.clone(),
            device: device.cloned(),
            expires_at: (now_secs() + keys.refresh_ttl) as i64,
            session: false,
        },
    )?;
    Ok(Tokens {
        access_token: keys.sign(user, device)?,
        refresh_token: refresh,
        token_type: "Bearer".into(),
        expires_in: keys.access_ttl,
    })
}

/// Trades a refresh token for a new pair (the old one is spent).
pub fn rotate(keys: &Keys, dir: &Directory, refresh: &str) -> Result<Tokens> {
    let hash = token_hash(refresh);
    let record = dir
        .spend_refresh(&hash)?
        .ok_or_else(|| Error::Unauthorized("unknown refresh token".into()))?;
    if record.expires_at < now_secs() as i64 {
        return Err(Error::Unauthorized("the refresh token has expired".into()));
    }
    let user = dir
        .user(&record.user)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| Error::Unauthorized("the user is disabled".into()))?;
    if let Some(device) = &record.device {
        usable_device(dir, device, &user.id)?;
    }
    issue(keys, dir, &user.id, record.device.as_ref())
}

pub fn revoke(dir: &Directory, refresh: &str) -> Result<()> {
    dir.delete_refresh(&token_hash(refresh))
}

/// Console sessions live beside refresh tokens, hashed under their own prefix and marked, so
/// that a session cookie never works as a refresh token nor a refresh token as a session. They
/// do not rotate: a page, its live stream and its photos renew nothing concurrently, and
/// signing out deletes the record.
fn session_hash(token: &str) -> String {
    token_hash(&format!("console-session:{token}"))
}

/// Opens a console session for the user and returns its cookie value.
pub fn open_session(dir: &Directory, user: &UserId, ttl: u64) -> Result<String> {
    let token = hex::encode(random_bytes::<32>()?);
    dir.put_refresh(
        &session_hash(&token),
        &Refresh {
            user: user.clone(),
            device: None,
            expires_at: (now_secs() + ttl) as i64,
            session: true,
        },
    )?;
    Ok(token)
}

/// The user of a live console session.
pub fn session_user(dir: &Directory, token: &str) -> Result<UserId> {
    let hash = session_hash(token);
    let record = dir
        .refresh(&hash)?
        .filter(|r| r.session)
        .ok_or_else(|| Error::Unauthorized("the session has ended".into()))?;
    if record.expires_at < now_secs() as i64 {
        dir.delete_refresh(&hash)?;
        return Err(Error::Unauthorized("the session has expired".into()));
    }
    Ok(record.user)
}

pub fn close_session(dir: &Directory, token: &str) -> Result<()> {
    dir.delete_refresh(&session_hash(token))
}

pub(crate) fn usable_device(dir: &Directory, id: &DeviceId, user: &UserId) -> Result<Device> {
    let device = dir
        .device(id)?
        .ok_or_else(|| Error::Unauthorized(format!("unknown device {id}")))?;
    if device.revoked {
        return Err(Error::Unauthorized(format!("device {id} is revoked")));
    }
    if device.user != *user {
        return Err(Error::Unauthorized(format!(
            "device {id} is not this user's"
        )));
    }
    Ok(device)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub device: Option<Device>,
}

impl Caller {
    /// The actor for events this caller writes through the server (online actions).
    pub fn actor(&self) -> Actor {
        Actor {
            user: self.user.id.clone(),
            device: self
                .device
                .as_ref()
                .map(|d| d.id.clone())
                .unwrap_or_else(|| DeviceId::new(format!("online:{}", self.user.id))),
            role: self.user.role,
            scope: self.user.scope.clone(),
        }
    }

    /// Whether this caller still holds as the directory stands now: the user enabled, with
    /// the same role and scope, and the device (if any) still theirs and not revoked. Long
    /// answers (the live stream) ask again as they go.
    pub fn still_holds(&self, dir: &Directory) -> Result<bool> {
        let Some(now) = dir.user(&self.user.id)? else {
            return Ok(false);
        };
        if now.disabled || now.role != self.user.role || now.scope != self.user.scope {
            return Ok(false);
        }
        Ok(match &self.device {
            Some(d) => usable_device(dir, &d.id, &self.user.id).is_ok(),
            None => true,
        })
    }

    /// Refuses callers that file cases but read none: an intake channel (Open311's `open311`
    /// user) answers its requesters from the public summaries, never from `/v1/cases`, the
    /// feed or the live stream.
    pub fn require_reader(&self) -> Result<()> {
        if self.user.role == gridcase_sync_core::Role::IntakeChannel {
            return Err(Error::Forbidden(format!(
                "{} is an intake channel: it files cases and reads none",
                self.user.id
            )));
        }
        Ok(())
    }

    pub fn require_role(&self, allowed: &[gridcase_sync_core::Role]) -> Result<()> {
        if allowed.contains(&self.user.role) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "role {} may not do this",
                self.user.role.as_str()
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| Error::Unauthorized("missing bearer token".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| Error::Unauthorized("malformed authorization header".into()))?;
        let claims = state.keys.verify(token.trim())?;
        let user = state
            .directory
            .user(&UserId::new(claims.sub))?
            .ok_or_else(|| Error::Unauthorized("unknown user".into()))?;
        if user.disabled {
            return Err(Error::Unauthorized("the user is disabled".into()));
        }
        let device = match claims.dev {
            Some(d) => Some(usable_device(
                &state.directory,
                &DeviceId::new(d),
                &user.id,
            )?),
            None => None,
        };
        Ok(Caller { user, device })
    }
}
