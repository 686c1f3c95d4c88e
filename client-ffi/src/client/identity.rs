//! Who this handheld is: the installation (device id and automerge actor, made once), the
//! logged-in user kept for offline work, the tokens and their renewal, and the organization
//! fetched at login and refreshed when the server's changes.

use super::{storage, trees, Client};
use crate::error::{ClientError, Result};
use crate::views::UserInfo;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::store::Batch;
use gridcase_sync_core::{Actor, ActorId, Role, Scope};
use serde::{Deserialize, Serialize};

/// The meta key of the fingerprint of the stored organization.
const ORG_TAG: &[u8] = b"org_tag";

/// This installation: its device id and automerge actor, made once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Install {
    pub(super) device_id: String,
    actor: String,
}

/// Who is logged in, kept so that the device works offline after one login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Identity {
    user: String,
    name: String,
    role: Role,
    scope: Scope,
    pub(super) access_token: String,
    refresh_token: String,
}

impl Client {
    /// This installation, made on first use.
    pub(super) fn install(&self) -> Result<Install> {
        if let Some(i) = self.meta::<Install>("install")? {
            return Ok(i);
        }
        let install = Install {
            device_id: format!("dev-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            actor: hex::encode(uuid::Uuid::new_v4().as_bytes()),
        };
        self.put_meta("install", &install)?;
        Ok(install)
    }

    /// The automerge actor this device writes with: one per installation, never shared.
    pub(super) fn writer(&self) -> Result<ActorId> {
        let bytes = hex::decode(self.install()?.actor).map_err(storage)?;
        Ok(ActorId::from(bytes.as_slice()))
    }

    pub(super) fn identity(&self) -> Result<Identity> {
        self.meta::<Identity>("identity")?
            .ok_or_else(|| ClientError::NotLoggedIn {
                message: "log in once while online".into(),
            })
    }

    /// Who acts on this device: the user, this device, and the role and scope last heard.
    pub(super) fn actor(&self) -> Result<Actor> {
        let id = self.identity()?;
        Ok(Actor {
            user: id.user.as_str().into(),
            device: self.install()?.device_id.as_str().into(),
            role: id.role,
            scope: id.scope,
        })
    }

    pub fn whoami(&self) -> Result<Option<UserInfo>> {
        let Some(id) = self.meta::<Identity>("identity")? else {
            return Ok(None);
        };
        Ok(Some(UserInfo {
            user: id.user,
            name: id.name,
            role: id.role.as_str().into(),
            scope: serde_json::to_string(&id.scope).map_err(storage)?,
            device_id: self.install()?.device_id,
            server: self.server.clone(),
        }))
    }

    /// Trades the refresh token for new tokens and keeps them. A refusal means the session
    /// has ended (logged out elsewhere, device revoked): only a new login helps.
    pub(super) fn renew(&self, id: Identity) -> Result<Identity> {
        let (h, b) = Self::json_body(&serde_json::json!({"refresh_token": id.refresh_token}));
        let renewed = self.send("POST", "/v1/auth/refresh", h, b, None)?;
        if renewed.status != 200 {
            return Err(ClientError::Unauthorized {
                message: "the session has ended; log in again".into(),
            });
        }
        let tokens: serde_json::Value = serde_json::from_slice(&renewed.body)?;
        let mut id = id;
        id.access_token = tokens["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        id.refresh_token = tokens["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.put_meta("identity", &id)?;
        Ok(id)
    }

    /// Logs in, registers this handheld with its automerge actor, and keeps the identity and
    /// the directory locally so that everything but sync works offline from then on.
    pub fn login(&self, username: &str, password: &str) -> Result<UserInfo> {
        let (h, b) =
            Self::json_body(&serde_json::json!({"username": username, "password": password}));
        let r = self.send("POST", "/v1/auth/login", h, b, None)?;
        if r.status == 401 {
            return Err(ClientError::Unauthorized {
                message: "wrong username or password".into(),
            });
        }
        let tokens = Self::expect_json(r, "login")?;
        let access = tokens["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let install = self.install()?;
        let (h, b) = Self::json_body(&serde_json::json!({
            "device_id": install.device_id, "name": "gridcase handheld", "actors": [install.actor]
        }));
        let registered = Self::expect_json(
            self.send("POST", "/v1/devices", h, b, Some(&access))?,
            "device registration",
        )?;
        let access = registered["tokens"]["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let refresh = registered["tokens"]["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let me = Self::expect_json(
            self.send("GET", "/v1/me", vec![], vec![], Some(&access))?,
            "who am I",
        )?;
        let role =
            me["role"]
                .as_str()
                .and_then(Role::parse)
                .ok_or_else(|| ClientError::BadAnswer {
                    message: "no role".into(),
                })?;
        let scope: Scope = serde_json::from_value(me["scope"].clone())?;
        let identity = Identity {
            user: username.into(),
            name: me["name"].as_str().unwrap_or(username).to_owned(),
            role,
            scope,
            access_token: access,
            refresh_token: refresh,
        };
        self.put_meta("identity", &identity)?;
        self.refresh_org()?;
        self.whoami()?.ok_or_else(|| storage("identity not saved"))
    }

    pub fn logout(&self) -> Result<()> {
        if let Ok(id) = self.identity() {
            let (h, b) = Self::json_body(&serde_json::json!({"refresh_token": id.refresh_token}));
            let _ = self.send("POST", "/v1/auth/logout", h, b, None);
        }
        let mut b = Batch::new();
        b.delete(trees::META, b"identity".to_vec());
        self.store.commit(b).map_err(storage)
    }

    /// Fetches the organization and keeps it with its fingerprint.
    pub(super) fn refresh_org(&self) -> Result<()> {
        let r = self.authed("GET", "/v1/org", vec![], vec![])?;
        let tag = r.header("etag").map(|t| t.trim_matches('"').to_owned());
        let org: Org = serde_json::from_value(Self::expect_json(r, "directory")?)?;
        let mut b = Batch::new();
        b.put(
            trees::META,
            b"org".to_vec(),
            serde_json::to_vec(&org).map_err(storage)?,
        );
        if let Some(tag) = tag {
            b.put(trees::META, ORG_TAG.to_vec(), tag.into_bytes());
        }
        self.store.commit(b).map_err(storage)
    }

    /// Whether a sync answer's organization fingerprint differs from the one stored with the
    /// organization (an answer without one always refreshes).
    pub(super) fn org_changed(&self, seen: Option<&str>) -> Result<bool> {
        let stored = self.store.get(trees::META, ORG_TAG).map_err(storage)?;
        Ok(seen.is_none() || stored.as_deref() != seen.map(str::as_bytes))
    }

    /// The cached organization, or an empty one before the first fetch.
    pub(super) fn org(&self) -> Result<Org> {
        Ok(self.cached_org()?.unwrap_or_default())
    }

    /// The organization fetched at login and refreshed when the server's changes; `None`
    /// before the first fetch.
    pub(super) fn cached_org(&self) -> Result<Option<Org>> {
        self.meta::<Org>("org")
    }
}
