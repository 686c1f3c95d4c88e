//! `--demo`: a small district to try every role at once, seeded when the ledger has no users.

use crate::auth::{hash_password, random_bytes};
use crate::directory::{Directory, User};
use crate::error::Result;
use gridcase_sync_core::org::{Community, Grid, Org, Street, Unit};
use gridcase_sync_core::{Role, Scope};

/// A square grid outline of `size` degrees at (lon, lat).
fn square(lon: f64, lat: f64, size: f64) -> Vec<(f64, f64)> {
    vec![
        (lon, lat),
        (lon + size, lat),
        (lon + size, lat + size),
        (lon, lat + size),
    ]
}

pub fn org() -> Org {
    let mut org = Org::default();
    for (id, name) in [("s1", "东华门街道"), ("s2", "景山街道")] {
        org.streets.insert(id.into(), Street { name: name.into() });
    }
    for (id, name, street) in [
        ("c1", "韶九社区", "s1"),
        ("c2", "多福巷社区", "s1"),
        ("c3", "吉祥社区", "s2"),
    ] {
        org.communities.insert(
            id.into(),
            Community {
                name: name.into(),
                street: street.into(),
            },
        );
    }
    for (id, name, community, lon, lat) in [
        ("g1", "韶九第一网格", "c1", 116.400, 39.910),
        ("g2", "韶九第二网格", "c1", 116.405, 39.910),
        ("g3", "多福巷网格", "c2", 116.410, 39.910),
        ("g4", "吉祥网格", "c3", 116.400, 39.920),
    ] {
        org.grids.insert(
            id.into(),
            Grid {
                name: name.into(),
                community: community.into(),
                polygon: square(lon, lat, 0.005),
            },
        );
    }
    for (id, name) in [
        ("u1", "城管执法队"),
        ("u2", "环卫中心"),
        ("u3", "市政市容委"),
        ("u4", "园林绿化局"),
    ] {
        org.units.insert(id.into(), Unit::district(name));
    }
    // Tiered dispatch: a street's own team and a community's property manager.
    org.units.insert(
        "u5".into(),
        Unit {
            name: "东华门街道城管科".into(),
            street: Some("s1".into()),
            community: None,
        },
    );
    org.units.insert(
        "u6".into(),
        Unit {
            name: "韶九社区物业".into(),
            street: None,
            community: Some("c1".into()),
        },
    );
    org
}

/// The demo users: (id, name, role, scope).
pub fn users() -> Vec<(&'static str, &'static str, Role, Scope)> {
    vec![
        ("admin", "系统管理员", Role::Admin, Scope::District),
        (
            "operator",
            "区中心接线员",
            Role::DistrictCenter,
            Scope::District,
        ),
        ("supervisor", "监督考评", Role::Supervisor, Scope::District),
        (
            "street1",
            "东华门分中心",
            Role::StreetCenter,
            Scope::Street("s1".into()),
        ),
        (
            "community1",
            "韶九社区工作站",
            Role::CommunityWorkstation,
            Scope::Community("c1".into()),
        ),
        (
            "worker1",
            "网格员一",
            Role::GridWorker,
            Scope::Grids(vec!["g1".into()]),
        ),
        (
            "worker2",
            "网格员二",
            Role::GridWorker,
            Scope::Grids(vec!["g1".into()]),
        ),
        (
            "worker3",
            "网格员三",
            Role::GridWorker,
            Scope::Grids(vec!["g4".into()]),
        ),
        (
            "unit1",
            "城管执法队",
            Role::UnitHandler,
            Scope::Unit("u1".into()),
        ),
        (
            "unit2",
            "环卫中心",
            Role::UnitHandler,
            Scope::Unit("u2".into()),
        ),
        (
            "unit5",
            "东华门街道城管科",
            Role::UnitHandler,
            Scope::Unit("u5".into()),
        ),
        (
            "unit6",
            "韶九社区物业",
            Role::UnitHandler,
            Scope::Unit("u6".into()),
        ),
        (
            "open311",
            "Open311 受理",
            Role::IntakeChannel,
            Scope::District,
        ),
    ]
}

/// Seeds the demo district unless users exist. Returns the password if it generated one.
pub fn seed(dir: &Directory, password: Option<String>) -> Result<Option<String>> {
    if dir.has_users()? {
        return Ok(None);
    }
    let generated = password.is_none();
    let password = match password {
        Some(p) => p,
        None => hex::encode(random_bytes::<9>()?),
    };
    dir.put_org(&org())?;
    let hash = hash_password(&password)?;
    for (id, name, role, scope) in users() {
        dir.put_user(&User {
            id: id.into(),
            name: name.into(),
            role,
            scope,
            password_hash: hash.clone(),
            disabled: false,
            past: Vec::new(),
            revoked: Vec::new(),
        })?;
    }
    Ok(generated.then_some(password))
}
