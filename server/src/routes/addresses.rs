//! `GET /v1/addresses?q=`: the district's address register (`crate::addresses`) searched as
//! an operator types, for the hotline desk's page (and any handheld that wants it). Only roles
//! that take reports may ask, and they hear only of addresses in the grids of their scope: a
//! street center's desk finds its own street's doorplates, never another's.

use crate::auth::Caller;
use crate::error::{ApiQuery, Error, Result};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use gridcase_sync_core::{limits, rules, ActionKind, GridId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The most matches one answer holds.
pub const MATCHES_MAX: usize = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AddressQuery {
    /// What was typed so far (at most 500 characters); spacing, width and case do not matter.
    pub q: String,
    /// At most this many matches, 1–50 (default 10).
    pub limit: Option<usize>,
}

/// One address of the register, with the place it lies in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AddressMatch {
    /// The register's id.
    pub id: String,
    /// The address as the register writes it (road, number, building, then the street).
    pub text: String,
    pub grid: String,
    pub grid_name: String,
    pub community: String,
    pub community_name: String,
    pub street: String,
    pub street_name: String,
}

#[utoipa::path(get, path = "/v1/addresses", tag = "addresses", params(AddressQuery),
    responses((status = 200, body = Vec<AddressMatch>, description = "Best first: an address written exactly so, then those starting so, then those containing it"),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AddressQuery>,
) -> Result<Json<Vec<AddressMatch>>> {
    if !rules::may_ever(caller.user.role, ActionKind::Intake) {
        return Err(Error::Forbidden(format!(
            "role {} takes no reports",
            caller.user.role.as_str()
        )));
    }
    limits::check_text("q", &query.q, limits::ADDRESS).map_err(|v| Error::BadRequest(v.message))?;
    let limit = query.limit.unwrap_or(10);
    if !(1..=MATCHES_MAX).contains(&limit) {
        return Err(Error::BadRequest(format!(
            "limit must be 1 to {MATCHES_MAX}, not {limit}"
        )));
    }
    let found = crate::blocking(move || {
        let org = state.directory.org()?;
        let scope = &caller.user.scope;
        let mine: BTreeSet<GridId> = org.grids_in(scope).into_iter().collect();
        // Every match, best first, then those of the scope: cutting first could leave none.
        let all = state.addresses.search(&query.q, usize::MAX);
        Ok(all
            .into_iter()
            .filter(|a| mine.contains(&a.grid))
            .filter_map(|a| {
                let t = org.territory(&a.grid)?;
                let name = |n: Option<&String>| n.cloned().unwrap_or_default();
                Some(AddressMatch {
                    id: a.id.clone(),
                    text: a.text(),
                    grid_name: name(org.grids.get(&t.grid).map(|g| &g.name)),
                    community_name: name(org.communities.get(&t.community).map(|c| &c.name)),
                    street_name: name(org.streets.get(&t.street).map(|s| &s.name)),
                    grid: t.grid.to_string(),
                    community: t.community.to_string(),
                    street: t.street.to_string(),
                })
            })
            .take(limit)
            .collect())
    })
    .await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MissQuery {
    /// At most this many, 1–500 (default 100).
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/addresses/unregistered", tag = "addresses", params(MissQuery),
    responses((status = 200, body = Vec<crate::ledger::AddressMiss>, description = "Addresses the desk gave that the register lacks, most recent first"),
        (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn unregistered(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<MissQuery>,
) -> Result<Json<Vec<crate::ledger::AddressMiss>>> {
    // The register's keepers: the administrator and the district center.
    if !matches!(
        caller.user.role,
        gridcase_sync_core::Role::Admin | gridcase_sync_core::Role::DistrictCenter
    ) {
        return Err(Error::Forbidden(
            "only the register's keepers (admin, district center) see its missing addresses".into(),
        ));
    }
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let misses = crate::blocking(move || state.ledger.address_misses(limit)).await?;
    Ok(Json(misses))
}
