//! Roles and scopes. Every user has exactly one role and one scope (ARCHITECTURE.md, "The
//! domain in short").

use crate::ids::{CommunityId, DeviceId, GridId, StreetId, UnitId, UserId};
use crate::org::Territory;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员: manages users and the directory, acts on no case.
    Admin,
    /// 区中心: hotline operators, dispatchers and the central office.
    DistrictCenter,
    /// 街道分中心.
    StreetCenter,
    /// 社区工作站.
    CommunityWorkstation,
    /// 网格员, on a handheld.
    GridWorker,
    /// 处置单位 staff.
    UnitHandler,
    /// 监督考评.
    Supervisor,
    /// A machine intake channel (Open311, web forms).
    IntakeChannel,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::DistrictCenter,
        Role::StreetCenter,
        Role::CommunityWorkstation,
        Role::GridWorker,
        Role::UnitHandler,
        Role::Supervisor,
        Role::IntakeChannel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::DistrictCenter => "district_center",
            Role::StreetCenter => "street_center",
            Role::CommunityWorkstation => "community_workstation",
            Role::GridWorker => "grid_worker",
            Role::UnitHandler => "unit_handler",
            Role::Supervisor => "supervisor",
            Role::IntakeChannel => "intake_channel",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The hotline desk (区中心, 街道分中心): takes calls, answers consultations, calls callers
    /// back, and sees callers' personal data.
    pub fn takes_calls(self) -> bool {
        matches!(self, Role::DistrictCenter | Role::StreetCenter)
    }

    /// Centers file, dispatch, approve and review (区中心, 街道分中心, 社区工作站).
    pub fn is_center(self) -> bool {
        matches!(
            self,
            Role::DistrictCenter | Role::StreetCenter | Role::CommunityWorkstation
        )
    }
}

/// The node of the organization a user acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "level", content = "id")]
pub enum Scope {
    District,
    Street(StreetId),
    Community(CommunityId),
    Grids(Vec<GridId>),
    Unit(UnitId),
}

impl Scope {
    /// Whether a place lies inside this territorial scope. A unit's scope holds no territory:
    /// units reach cases through dispatch, not location.
    pub fn covers(&self, place: &Territory) -> bool {
        match self {
            Scope::District => true,
            Scope::Street(s) => *s == place.street,
            Scope::Community(c) => *c == place.community,
            Scope::Grids(gs) => gs.contains(&place.grid),
            Scope::Unit(_) => false,
        }
    }

    /// The level's name, for messages: `district`, `street`, `community`, `grids`, `unit`.
    pub fn level_name(&self) -> &'static str {
        match self {
            Scope::District => "district",
            Scope::Street(_) => "street",
            Scope::Community(_) => "community",
            Scope::Grids(_) => "grids",
            Scope::Unit(_) => "unit",
        }
    }

    /// Whether a role may hold this kind of scope at all.
    pub fn fits(&self, role: Role) -> bool {
        match role {
            Role::Admin | Role::DistrictCenter | Role::Supervisor | Role::IntakeChannel => {
                matches!(self, Scope::District)
            }
            Role::StreetCenter => matches!(self, Scope::Street(_)),
            Role::CommunityWorkstation => matches!(self, Scope::Community(_)),
            Role::GridWorker => matches!(self, Scope::Grids(g) if !g.is_empty()),
            Role::UnitHandler => matches!(self, Scope::Unit(_)),
        }
    }
}

/// Who acts: the user, the device they write from, and the role and scope they claim.
/// The claim travels in every event; the server checks it against its directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: UserId,
    pub device: DeviceId,
    pub role: Role,
    pub scope: Scope,
}
