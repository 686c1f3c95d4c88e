//! The directory: users, devices and the actor ids bound to them, refresh tokens, and the
//! organization. Kept in the same store as the ledger, in trees of its own.

use crate::error::{Error, Result};
use gridcase_sync_core::org::Org;
use gridcase_sync_core::store::{Batch, Guard, Store};
use gridcase_sync_core::{DeviceId, Role, Scope, UserId};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// The key, in the organization's tree, of the tag of the organization stored beside it.
const ORG_TAG_KEY: &[u8] = b"org_tag";

mod trees {
    pub const USERS: &str = "dir_users";
    pub const DEVICES: &str = "dir_devices";
    pub const ACTORS: &str = "dir_actors";
    pub const REFRESH: &str = "dir_refresh";
    pub const ORG: &str = "dir_org";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    /// argon2 PHC string; never leaves the server.
    pub password_hash: String,
    #[serde(default)]
    pub disabled: bool,
    /// Scopes the user held before, as (role, scope). An event written offline under one of
    /// them is stored and flagged; one claiming a scope the user never held is refused.
    #[serde(default)]
    pub past: Vec<(Role, Scope)>,
    /// Scopes an administrator took away outright: events written under them are refused.
    #[serde(default)]
    pub revoked: Vec<(Role, Scope)>,
}

impl User {
    /// Whether the user holds or once held this role and scope.
    pub fn held(&self, role: Role, scope: &Scope) -> bool {
        (self.role == role && self.scope == *scope)
            || self.past.iter().any(|(r, s)| *r == role && s == scope)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Device {
    #[schema(value_type = String)]
    pub id: DeviceId,
    #[schema(value_type = String)]
    pub user: UserId,
    pub name: String,
    /// automerge actor ids (hex) this device writes with.
    pub actors: Vec<String>,
    #[serde(default)]
    pub revoked: bool,
    pub registered_at: i64,
}

/// A refresh token or a console session, stored by the sha-256 of its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refresh {
    pub user: UserId,
    pub device: Option<DeviceId>,
    pub expires_at: i64,
    /// A console session: never traded for tokens at `/v1/auth/refresh`.
    #[serde(default)]
    pub session: bool,
}

#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn Store>,
    /// The organization as last read or written, with its tag. Every sync request, case action
    /// and console page needs it; parsing it each time cost ~0.5 ms a request at 1,000 grids
    /// (`bench --example org_cost`). On a shared store another server may change it, so there
    /// the small tag row written beside it is read first and the copy used while it matches.
    org: Arc<RwLock<Option<OrgCopy>>>,
    /// Taken to write the organization or to read it whole into `org`.
    org_turn: Arc<Mutex<()>>,
}

#[derive(Clone)]
struct OrgCopy {
    tag: String,
    org: Arc<Org>,
    read_at: Instant,
}

/// How long a server sharing its store trusts its copy of the organization while the tag row
/// matches; then it reads the organization whole once.
const ORG_RECHECK: Duration = Duration::from_secs(5);

/// A short fingerprint of the organization as stored.
fn org_tag(json: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(json)[..8])
}

impl Directory {
    pub fn new(store: Arc<dyn Store>) -> Directory {
        Directory {
            store,
            org: Arc::default(),
            org_turn: Arc::default(),
        }
    }

    fn read<T: DeserializeOwned>(&self, tree: &'static str, key: &str) -> Result<Option<T>> {
        match self.store.get(tree, key.as_bytes())? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    fn all<T: DeserializeOwned>(&self, tree: &'static str) -> Result<Vec<T>> {
        self.store
            .range(tree, &[], None)
            .map(|e| Ok(serde_json::from_slice(&e?.1)?))
            .collect()
    }

    fn write<T: Serialize>(&self, tree: &'static str, key: &str, value: &T) -> Result<()> {
        let mut b = Batch::new();
        b.put(tree, key.as_bytes().to_vec(), serde_json::to_vec(value)?);
        Ok(self.store.commit(b)?)
    }

    pub fn user(&self, id: &UserId) -> Result<Option<User>> {
        self.read(trees::USERS, id.as_str())
    }

    pub fn users(&self) -> Result<Vec<User>> {
        self.all(trees::USERS)
    }

    pub fn has_users(&self) -> Result<bool> {
        Ok(self.store.range(trees::USERS, &[], None).next().is_some())
    }

    pub fn put_user(&self, user: &User) -> Result<()> {
        if !user.scope.fits(user.role) {
            return Err(Error::BadRequest(format!(
                "role {} cannot hold that scope",
                user.role.as_str()
            )));
        }
        self.write(trees::USERS, user.id.as_str(), user)
    }

    pub fn device(&self, id: &DeviceId) -> Result<Option<Device>> {
        self.read(trees::DEVICES, id.as_str())
    }

    pub fn devices(&self) -> Result<Vec<Device>> {
        self.all(trees::DEVICES)
    }

    /// The device an automerge actor is bound to.
    pub fn device_of_actor(&self, actor_hex: &str) -> Result<Option<DeviceId>> {
        Ok(self
            .store
            .get(trees::ACTORS, actor_hex.as_bytes())?
            .map(|b| DeviceId::new(String::from_utf8_lossy(&b).into_owned())))
    }

    /// Registers a device and binds its actors, refusing an actor already bound elsewhere.
    /// The commit is guarded by what was read (each actor's binding, the device's record), so
    /// two registrations racing for one actor, on one server or several, bind it once.
    pub fn register_device(&self, device: &Device) -> Result<()> {
        let mut guards = Vec::new();
        for actor in &device.actors {
            let key = actor.as_bytes().to_vec();
            let bound = self.store.get(trees::ACTORS, &key)?;
            if let Some(owner) = &bound {
                if owner.as_slice() != device.id.as_str().as_bytes() {
                    return Err(Error::Conflict(format!(
                        "actor {actor} is bound to another device"
                    )));
                }
            }
            guards.push(Guard {
                tree: trees::ACTORS,
                key,
                value: bound,
            });
        }
        let device_key = device.id.as_str().as_bytes().to_vec();
        let existing = self.store.get(trees::DEVICES, &device_key)?;
        if let Some(bytes) = &existing {
            let existing: Device = serde_json::from_slice(bytes)?;
            if existing.user != device.user {
                return Err(Error::Conflict(format!(
                    "device {} belongs to another user",
                    device.id
                )));
            }
        }
        guards.push(Guard {
            tree: trees::DEVICES,
            key: device_key,
            value: existing,
        });
        let mut b = Batch::new();
        b.put(
            trees::DEVICES,
            device.id.as_str().as_bytes().to_vec(),
            serde_json::to_vec(device)?,
        );
        for actor in &device.actors {
            b.put(
                trees::ACTORS,
                actor.as_bytes().to_vec(),
                device.id.as_str().as_bytes().to_vec(),
            );
        }
        if self.store.commit_guarded(b, &guards)? {
            Ok(())
        } else {
            Err(Error::Conflict(format!(
                "device {} or its actors changed while it was being registered: try again",
                device.id
            )))
        }
    }

    pub fn put_device(&self, device: &Device) -> Result<()> {
        self.write(trees::DEVICES, device.id.as_str(), device)
    }

    pub fn refresh(&self, hash: &str) -> Result<Option<Refresh>> {
        self.read(trees::REFRESH, hash)
    }

    pub fn put_refresh(&self, hash: &str, r: &Refresh) -> Result<()> {
        self.write(trees::REFRESH, hash, r)
    }

    /// Takes a refresh token's record and deletes it in one guarded commit: of the requests
    /// that present one token at once, on one server or several, one gets the record and the
    /// others `None`. A console session's record is neither returned nor deleted.
    pub fn spend_refresh(&self, hash: &str) -> Result<Option<Refresh>> {
        let key = hash.as_bytes().to_vec();
        let Some(bytes) = self.store.get(trees::REFRESH, &key)? else {
            return Ok(None);
        };
        let record: Refresh = serde_json::from_slice(&bytes)?;
        if record.session {
            return Ok(None);
        }
        let mut b = Batch::new();
        b.delete(trees::REFRESH, key.clone());
        let guard = Guard {
            tree: trees::REFRESH,
            key,
            value: Some(bytes),
        };
        Ok(self.store.commit_guarded(b, &[guard])?.then_some(record))
    }

    pub fn delete_refresh(&self, hash: &str) -> Result<()> {
        let mut b = Batch::new();
        b.delete(trees::REFRESH, hash.as_bytes().to_vec());
        Ok(self.store.commit(b)?)
    }

    /// The organization (shared, not copied: callers that change it use [`Self::update_org`]).
    pub fn org(&self) -> Result<Arc<Org>> {
        Ok(self.org_and_tag()?.0)
    }

    /// The organization with its tag (a fingerprint of it as stored: handhelds refetch
    /// `/v1/org` only when the tag a sync answer carries differs from theirs), read from the
    /// store only when it changed: on a shared store one small read of the tag row (and the
    /// whole organization every [`ORG_RECHECK`], for servers of a release that wrote no tag
    /// row), elsewhere none: every change goes through this directory.
    pub fn org_and_tag(&self) -> Result<(Arc<Org>, String)> {
        let copy = self
            .org
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(copy) = copy {
            let current = !self.store.shared()
                || (copy.read_at.elapsed() < ORG_RECHECK
                    && self.store.get(trees::ORG, ORG_TAG_KEY)?.as_deref()
                        == Some(copy.tag.as_bytes()));
            if current {
                return Ok((copy.org, copy.tag));
            }
        }
        let _turn = self.org_turn.lock().unwrap_or_else(PoisonError::into_inner);
        let json = match self.store.get(trees::ORG, b"org")? {
            Some(json) => json,
            None => serde_json::to_vec(&Org::default())?,
        };
        self.keep_org(&json)
    }

    /// Remembers the organization stored as `json` as the current one and gives it back with
    /// its tag. Called with `org_turn` held, so that copies replace each other in the order
    /// their writes and reads happened.
    fn keep_org(&self, json: &[u8]) -> Result<(Arc<Org>, String)> {
        let copy = OrgCopy {
            tag: org_tag(json),
            org: Arc::new(serde_json::from_slice(json)?),
            read_at: Instant::now(),
        };
        *self.org.write().unwrap_or_else(PoisonError::into_inner) = Some(copy.clone());
        Ok((copy.org, copy.tag))
    }

    /// Writes the tag row beside an organization stored without one (by a release before the
    /// row), so that servers sharing the store compare the small row instead of reading the
    /// organization whole on every request. Guarded on the organization read: a change made
    /// meanwhile wrote its own tag.
    pub fn ensure_org_tag(&self) -> Result<()> {
        let key = b"org".to_vec();
        let Some(stored) = self.store.get(trees::ORG, &key)? else {
            return Ok(());
        };
        if self.store.get(trees::ORG, ORG_TAG_KEY)?.is_some() {
            return Ok(());
        }
        let mut b = Batch::new();
        b.put(
            trees::ORG,
            ORG_TAG_KEY.to_vec(),
            org_tag(&stored).into_bytes(),
        );
        let guard = Guard {
            tree: trees::ORG,
            key,
            value: Some(stored),
        };
        self.store.commit_guarded(b, &[guard])?;
        Ok(())
    }

    /// The batch writing the organization stored as `json` and, beside it, its tag (what other
    /// servers compare their copy against).
    fn org_batch(json: &[u8]) -> Batch {
        let mut b = Batch::new();
        b.put(trees::ORG, b"org".to_vec(), json.to_vec());
        b.put(trees::ORG, ORG_TAG_KEY.to_vec(), org_tag(json).into_bytes());
        b
    }

    pub fn put_org(&self, org: &Org) -> Result<()> {
        let json = serde_json::to_vec(org)?;
        let _turn = self.org_turn.lock().unwrap_or_else(PoisonError::into_inner);
        self.store.commit(Self::org_batch(&json))?;
        self.keep_org(&json)?;
        Ok(())
    }

    /// Changes the organization by a guarded read-change-write, so that two admins changing it
    /// at once (on one server or several) both keep their change: a write that finds the
    /// organization changed since it read it reads it again and changes that. Gives back the
    /// organization as stored (as every server reads it).
    pub fn update_org(&self, mut change: impl FnMut(&mut Org) -> Result<()>) -> Result<Arc<Org>> {
        let key = b"org".to_vec();
        let _turn = self.org_turn.lock().unwrap_or_else(PoisonError::into_inner);
        for _ in 0..50 {
            let stored = self.store.get(trees::ORG, &key)?;
            let mut org: Org = match &stored {
                Some(bytes) => serde_json::from_slice(bytes)?,
                None => Org::default(),
            };
            change(&mut org)?;
            let json = serde_json::to_vec(&org)?;
            let guard = Guard {
                tree: trees::ORG,
                key: key.clone(),
                value: stored,
            };
            if self
                .store
                .commit_guarded(Self::org_batch(&json), &[guard])?
            {
                return Ok(self.keep_org(&json)?.0);
            }
        }
        Err(Error::Conflict(
            "the organization kept changing while this change was written: try again".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_sync_core::store::SledStore;

    /// An organization stored by a release before the tag row gets one at start-up, and the
    /// tag row follows every change after.
    #[test]
    fn the_tag_row_is_written_beside_an_older_organization_and_kept_in_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
        let org = crate::demo::org();
        let mut b = Batch::new();
        b.put(
            trees::ORG,
            b"org".to_vec(),
            serde_json::to_vec(&org).expect("json"),
        );
        store.commit(b).expect("an organization without its tag");
        let directory = Directory::new(store.clone());
        let tag_row = || {
            store
                .get(trees::ORG, ORG_TAG_KEY)
                .expect("read")
                .map(|t| String::from_utf8(t).expect("text"))
        };
        assert_eq!(tag_row(), None);
        directory.ensure_org_tag().expect("ensure");
        // The tag of the organization as served (read back from the store).
        let (_, served_tag) = directory.org_and_tag().expect("org");
        assert_eq!(tag_row(), Some(served_tag));
        let changed = directory
            .update_org(|o| {
                o.grids.remove(&gridcase_sync_core::GridId::from("g1"));
                Ok(())
            })
            .expect("update");
        let (served, tag) = directory.org_and_tag().expect("org");
        assert_eq!(served, changed);
        assert_eq!(tag_row(), Some(tag));
        // Another server reading it computes the same tag (the demo's coordinates do not read
        // back bit for bit from JSON).
        directory.put_org(&crate::demo::org()).expect("put");
        let other = Directory::new(store.clone());
        assert_eq!(
            other.org_and_tag().expect("org").1,
            directory.org_and_tag().expect("org").1
        );
        assert_eq!(tag_row(), Some(other.org_and_tag().expect("org").1));
    }
}
