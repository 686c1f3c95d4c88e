//! The organization: the territorial tree district → street (街道) → community (社区)
//! → grid (网格), and the flat list of handling units (处置单位) beside it.

use crate::ids::{CommunityId, GridId, StreetId, UnitId};
use crate::role::Scope;
use crate::rules::{Violation, ViolationCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a case lies in the tree. Recorded in full at intake so that every replica
/// checks scopes against the same path, whatever its copy of the directory says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Territory {
    pub street: StreetId,
    pub community: CommunityId,
    pub grid: GridId,
}

impl Territory {
    /// The territory named by three stored parts; none unless all three are there.
    pub fn from_parts(
        street: Option<&str>,
        community: Option<&str>,
        grid: Option<&str>,
    ) -> Option<Territory> {
        Some(Territory {
            street: street?.into(),
            community: community?.into(),
            grid: grid?.into(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Street {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Community {
    pub name: String,
    pub street: StreetId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Grid {
    pub name: String,
    pub community: CommunityId,
    /// Outline as (longitude, latitude) points, for placing a report by its coordinates.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schema(value_type = Vec<Vec<f64>>))]
    pub polygon: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Unit {
    pub name: String,
    /// The street that commands the unit (a street's law-enforcement team, its sanitation
    /// office), when it is not a district unit. Omitted for district units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schema(value_type = Option<String>))]
    pub street: Option<StreetId>,
    /// The community that commands it (its property manager, its residents' committee).
    /// Omitted for district and street units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schema(value_type = Option<String>))]
    pub community: Option<CommunityId>,
}

impl Unit {
    /// A district unit: commanded by the district center alone.
    pub fn district(name: impl Into<String>) -> Unit {
        Unit {
            name: name.into(),
            street: None,
            community: None,
        }
    }
}

/// The directory of one district.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Org {
    #[cfg_attr(feature = "schema", schema(value_type = BTreeMap<String, Street>))]
    pub streets: BTreeMap<StreetId, Street>,
    #[cfg_attr(feature = "schema", schema(value_type = BTreeMap<String, Community>))]
    pub communities: BTreeMap<CommunityId, Community>,
    #[cfg_attr(feature = "schema", schema(value_type = BTreeMap<String, Grid>))]
    pub grids: BTreeMap<GridId, Grid>,
    #[cfg_attr(feature = "schema", schema(value_type = BTreeMap<String, Unit>))]
    pub units: BTreeMap<UnitId, Unit>,
}

impl Org {
    /// The full path of a grid, or `None` if the grid or one of its ancestors is unknown.
    pub fn territory(&self, grid: &GridId) -> Option<Territory> {
        let g = self.grids.get(grid)?;
        let c = self.communities.get(&g.community)?;
        self.streets.get(&c.street)?;
        Some(Territory {
            street: c.street.clone(),
            community: g.community.clone(),
            grid: grid.clone(),
        })
    }

    /// The grids a scope covers: all of them for the district, those under a street or a
    /// community, a grid worker's own as listed (even one the organization no longer has: its
    /// cases still belong to the worker's feed); none for a unit (units reach cases by
    /// dispatch). The feed reads from these, so a grid must never drop out of it because a
    /// node above it is missing.
    pub fn grids_in(&self, scope: &Scope) -> Vec<GridId> {
        let under = |keep: &dyn Fn(&Grid) -> bool| {
            self.grids
                .iter()
                .filter(|(_, g)| keep(g))
                .map(|(id, _)| id.clone())
                .collect()
        };
        match scope {
            Scope::District => self.grids.keys().cloned().collect(),
            Scope::Street(s) => under(&|g| {
                self.communities
                    .get(&g.community)
                    .is_some_and(|c| c.street == *s)
            }),
            Scope::Community(c) => under(&|g| g.community == *c),
            Scope::Grids(gs) => gs.clone(),
            Scope::Unit(_) => Vec::new(),
        }
    }

    /// Where a new report lies: the grid it names, else the grid whose outline holds its
    /// (longitude, latitude), else the reporter's only grid. The one rule for the server's
    /// intake forms and the handheld's.
    pub fn locate(
        &self,
        grid: Option<&GridId>,
        point: Option<(f64, f64)>,
        reporter: &Scope,
    ) -> Result<Territory, Violation> {
        let bad = |message: String| Violation {
            code: ViolationCode::InvalidPayload,
            message,
        };
        let grid = match (grid, point) {
            (Some(g), _) => g.clone(),
            (None, Some((lon, lat))) => self
                .grid_at(lon, lat)
                .cloned()
                .ok_or_else(|| bad("no grid contains those coordinates".into()))?,
            (None, None) => match reporter {
                Scope::Grids(gs) if gs.len() == 1 => gs[0].clone(),
                _ => return Err(bad("give a grid or coordinates".into())),
            },
        };
        self.territory(&grid).ok_or_else(|| Violation {
            code: ViolationCode::UnknownReference,
            message: format!("unknown grid {grid}"),
        })
    }

    /// The grid whose polygon contains the point, if any (ray casting; the outline is closed implicitly).
    pub fn grid_at(&self, lon: f64, lat: f64) -> Option<&GridId> {
        self.grids
            .iter()
            .find(|(_, g)| polygon_contains(&g.polygon, lon, lat))
            .map(|(id, _)| id)
    }
}

fn polygon_contains(poly: &[(f64, f64)], x: f64, y: f64) -> bool {
    if poly.len() < 3 {
        return false;
    }
    let mut inside = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (xi, yi) = poly[i];
        let (xj, yj) = poly[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Org {
        let mut org = Org::default();
        org.streets.insert(
            "s1".into(),
            Street {
                name: "东华门".into(),
            },
        );
        org.communities.insert(
            "c1".into(),
            Community {
                name: "韶九".into(),
                street: "s1".into(),
            },
        );
        org.grids.insert(
            "g1".into(),
            Grid {
                name: "网格一".into(),
                community: "c1".into(),
                polygon: vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)],
            },
        );
        org.grids.insert(
            "orphan".into(),
            Grid {
                name: "x".into(),
                community: "nowhere".into(),
                polygon: vec![],
            },
        );
        org
    }

    #[test]
    fn territory_walks_the_tree() {
        let org = org();
        let t = org.territory(&"g1".into()).expect("known grid");
        assert_eq!(t.street.as_str(), "s1");
        assert_eq!(t.community.as_str(), "c1");
        assert!(org.territory(&"orphan".into()).is_none());
        assert!(org.territory(&"missing".into()).is_none());
    }

    #[test]
    fn grid_at_uses_the_polygon() {
        let org = org();
        assert_eq!(org.grid_at(0.5, 0.5).map(|g| g.as_str()), Some("g1"));
        assert_eq!(org.grid_at(1.5, 0.5), None);
    }
}

#[cfg(test)]
mod scopes {
    use super::*;

    /// The feed's grids: a grid worker's listed grids stand even when the organization lacks
    /// one; a street's are those whose community lies in it.
    #[test]
    fn the_grids_a_scope_covers() {
        let mut org = Org::default();
        org.streets
            .insert("s1".into(), Street { name: "s1".into() });
        let community = |street: &str| Community {
            name: "c".into(),
            street: street.into(),
        };
        org.communities.insert("c1".into(), community("s1"));
        org.communities.insert("c2".into(), community("s2"));
        let grid = |c: &str| Grid {
            name: "g".into(),
            community: c.into(),
            polygon: vec![],
        };
        org.grids.insert("g1".into(), grid("c1"));
        org.grids.insert("g2".into(), grid("c2"));
        let ids = |v: Vec<GridId>| v.iter().map(|g| g.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(org.grids_in(&Scope::District)), ["g1", "g2"]);
        assert_eq!(ids(org.grids_in(&Scope::Street("s1".into()))), ["g1"]);
        // Street s2 is not in the organization; its community's grids still are its own.
        assert_eq!(ids(org.grids_in(&Scope::Street("s2".into()))), ["g2"]);
        assert_eq!(ids(org.grids_in(&Scope::Community("c2".into()))), ["g2"]);
        let worker = Scope::Grids(vec!["g1".into(), "gone".into()]);
        assert_eq!(ids(org.grids_in(&worker)), ["g1", "gone"]);
        assert!(org.grids_in(&Scope::Unit("u1".into())).is_empty());
    }
}
