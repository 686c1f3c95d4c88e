//! Cases for always-online users (hotline operators, dispatchers, units) and the central
//! office: create and act through the same sync-core commands the handhelds run, list and
//! filter, read a case's full merged history, and work the review queue of conflicts.

use crate::auth::{now_millis, Caller};
use crate::error::{ApiJson, ApiQuery, Error, Result};
use crate::ledger::Receipt;
use crate::routes::sync::summary_in_scope;
use crate::summary::CaseSummary;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridcase_sync_core::commands::{act_with_org, open_case_with_org};
use gridcase_sync_core::event::{Channel, Intake, Reporter};
use gridcase_sync_core::fold::{fold, CaseState, Conflict, Disposition};
use gridcase_sync_core::rules::in_scope;
use gridcase_sync_core::store::Batch;
use gridcase_sync_core::{
    Action, ActorId, CaseDoc, CaseId, CategoryCode, ChangeHash, Event, EventId, Role, Status,
};
use serde::{Deserialize, Serialize};

/// Writes events made on the server durably, with their summary, feed move and receipts.
fn write_online(
    state: &AppState,
    caller: &Caller,
    doc: &mut CaseDoc,
    since: &[ChangeHash],
    events: &[Event],
) -> Result<()> {
    let ledger = &state.ledger;
    let case = doc.header()?.case;
    let now = now_millis();
    let mut batch = Batch::new();
    let due = ledger
        .docs
        .stage_save(&mut batch, &case, doc.automerge(), since)?;
    let changes: std::collections::HashMap<EventId, Option<ChangeHash>> =
        doc.event_changes().into_iter().collect();
    let via = caller.actor().device.to_string();
    let receipts: Vec<(EventId, Receipt)> = events
        .iter()
        .map(|e| {
            let receipt = Receipt {
                received_at: now,
                via: via.clone(),
                change: changes.get(&e.id).copied().flatten().map(|h| h.to_string()),
                flag: None,
            };
            (e.id.clone(), receipt)
        })
        .collect();
    let feed = ledger.stage_index(&mut batch, doc, &receipts, now)?;
    let noted = vec![(case.clone(), doc.automerge().clone())];
    let committed = ledger.commit_docs(batch, vec![feed], noted);
    ledger.docs.release([&case]);
    committed?;
    ledger.settle(vec![(case.clone(), doc.heads())], now)?;
    if due {
        ledger.compact_later(vec![case]);
    }
    Ok(())
}

/// A fresh automerge actor for one online write: concurrent requests never share a sequence.
fn online_writer() -> Result<ActorId> {
    Ok(ActorId::from(crate::auth::random_bytes::<16>()?.as_slice()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateCase {
    pub channel: Channel,
    pub description: String,
    /// The grid; or give `coordinates` and the grid is found by its polygon.
    #[serde(default)]
    pub grid: Option<String>,
    /// (longitude, latitude)
    #[serde(default)]
    pub coordinates: Option<(f64, f64)>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub reporter_name: Option<String>,
    #[serde(default)]
    pub reporter_contact: Option<String>,
    /// A picture the reporter published elsewhere: an http(s) URL.
    #[serde(default)]
    pub media_url: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Written {
    pub case: String,
    pub event: String,
    pub status: Option<Status>,
}

#[utoipa::path(post, path = "/v1/cases", tag = "cases", request_body = CreateCase,
    responses((status = 201, body = Written), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_case(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateCase>,
) -> Result<(StatusCode, Json<Written>)> {
    let written = crate::blocking(move || open_online(&state, &caller, req)).await?;
    Ok((StatusCode::CREATED, Json(written)))
}

/// Opens a case through the server (hotline desk, web, Open311): the intake command with a
/// fresh automerge actor, written and indexed like any synced case.
pub fn open_online(state: &AppState, caller: &Caller, req: CreateCase) -> Result<Written> {
    let org = state.directory.org()?;
    let grid = req.grid.as_deref().map(gridcase_sync_core::GridId::from);
    let territory = org
        .locate(grid.as_ref(), req.coordinates, &caller.user.scope)
        .map_err(|v| Error::BadRequest(v.message))?;
    let category = match &req.category {
        Some(c) => Some(
            CategoryCode::parse(c).ok_or_else(|| Error::BadRequest(format!("bad category {c}")))?,
        ),
        None => None,
    };
    let reporter = match (req.reporter_name, req.reporter_contact) {
        (None, None) => None,
        (name, contact) => Some(Reporter {
            name: name.unwrap_or_default(),
            contact: contact.unwrap_or_default(),
        }),
    };
    let intake = Intake {
        media_url: req.media_url,
        channel: req.channel,
        reporter,
        description: req.description,
        territory,
        address: req.address,
        coordinates: req.coordinates,
        category,
        photos: vec![],
    };
    let (mut doc, event) = open_case_with_org(
        &caller.actor(),
        online_writer()?,
        intake,
        Vec::new(),
        now_millis(),
        Some(&org),
    )?;
    write_online(state, caller, &mut doc, &[], std::slice::from_ref(&event))?;
    let case = doc.header()?.case;
    let status = fold(&doc.events()?, &state.ledger.calendar).status;
    tracing::info!(case = %case, user = %caller.user.id, "case opened online");
    Ok(Written {
        case: case.to_string(),
        event: event.id.to_string(),
        status,
    })
}

/// Loads a case the caller may see. Unknown and outside the caller's scope answer alike
/// (404), so that a case id tells nobody outside its scope that it exists.
fn visible_case(state: &AppState, caller: &Caller, id: &CaseId) -> Result<(CaseDoc, CaseState)> {
    let unseen = || Error::NotFound(format!("no case {id} in your scope"));
    let doc = state.ledger.load(id)?.ok_or_else(unseen)?;
    let folded = fold(&doc.events()?, &state.ledger.calendar);
    if !in_scope(&caller.user.scope, &folded) {
        return Err(unseen());
    }
    Ok((doc, folded))
}

/// Performs one action on a case through the sync-core commands and writes it durably.
pub fn act_online(
    state: &AppState,
    caller: &Caller,
    id: &CaseId,
    action: Action,
) -> Result<Written> {
    act_online_all(state, caller, id, vec![action])
}

/// Performs actions in order, each checked against the case as the ones before it left it,
/// and writes them in one durable batch: all of them, or none when any is refused.
pub fn act_online_all(
    state: &AppState,
    caller: &Caller,
    id: &CaseId,
    actions: Vec<Action>,
) -> Result<Written> {
    let kinds: Vec<&str> = actions.iter().map(|a| a.kind().as_str()).collect();
    let _span =
        tracing::info_span!("act", case = %id, user = %caller.user.id, kinds = ?kinds).entered();
    let (mut doc, _) = visible_case(state, caller, id)?;
    let org = state.directory.org()?;
    doc.set_actor(online_writer()?);
    let since = doc.heads();
    let mut events = Vec::with_capacity(actions.len());
    for action in actions {
        let duplicate_of = match &action {
            Action::MarkDuplicate { of } => Some(of.clone()),
            _ => None,
        };
        events.push(act_with_org(
            &mut doc,
            &caller.actor(),
            action,
            Vec::new(),
            now_millis(),
            &state.ledger.calendar,
            Some(&org),
        )?);
        if let Some(of) = duplicate_of {
            check_case_named(state, caller, &of)?;
        }
    }
    let last = events
        .last()
        .ok_or_else(|| Error::BadRequest("no action given".into()))?
        .id
        .to_string();
    write_online(state, caller, &mut doc, &since, &events)?;
    let status = fold(&doc.events()?, &state.ledger.calendar).status;
    Ok(Written {
        case: id.to_string(),
        event: last,
        status,
    })
}

/// A case named by an action (`mark_duplicate`) must exist in the caller's scope. Unknown and
/// outside the scope are refused alike, so that the answer tells nobody a case exists.
fn check_case_named(state: &AppState, caller: &Caller, of: &CaseId) -> Result<()> {
    let known = state
        .ledger
        .summary(of)?
        .is_some_and(|s| summary_in_scope(&caller.user.scope, &s));
    if known {
        return Ok(());
    }
    Err(Error::Core(gridcase_sync_core::Error::Rule(
        gridcase_sync_core::Violation {
            code: gridcase_sync_core::rules::ViolationCode::UnknownReference,
            message: format!("no case {of} in the scope of {}", caller.user.id),
        },
    )))
}

#[utoipa::path(post, path = "/v1/cases/{id}/events", tag = "cases",
    params(("id" = String, Path)),
    request_body(content = Action, description = "An action: its kind and payload, e.g. {\"kind\": \"dispatch\", \"payload\": {\"unit\": \"u1\"}}. The payload of each kind is `$defs/payloads/<kind>` of GET /v1/schema/case-document.json. `unknown` is refused."),
    responses((status = 201, body = Written), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(action): ApiJson<Action>,
) -> Result<(StatusCode, Json<Written>)> {
    let written =
        crate::blocking(move || act_online(&state, &caller, &CaseId::new(id), action)).await?;
    Ok((StatusCode::CREATED, Json(written)))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    pub status: Option<String>,
    pub step: Option<u8>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub grid: Option<String>,
    pub unit: Option<String>,
    pub category: Option<String>,
    pub level: Option<String>,
    pub overdue: Option<bool>,
    pub has_conflict: Option<bool>,
    /// Created at or after (ms since the epoch).
    pub created_from: Option<i64>,
    /// Created before (ms since the epoch).
    pub created_to: Option<i64>,
    /// Text in the description.
    pub q: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

impl CaseFilter {
    /// The index term to walk: the most selective filter given, else the caller's scope.
    fn driver(&self, scope: &gridcase_sync_core::Scope) -> (&'static str, String) {
        use gridcase_sync_core::Scope;
        let named = [
            ("grid", &self.grid),
            ("unit", &self.unit),
            ("community", &self.community),
            ("street", &self.street),
            ("category", &self.category),
        ];
        if let Some((field, Some(value))) = named.into_iter().find(|(_, v)| v.is_some()) {
            return (field, value.clone());
        }
        if self.has_conflict == Some(true) {
            return ("conflict", "true".into());
        }
        if let Some(status) = &self.status {
            return ("status", status.clone());
        }
        if let Some(level) = &self.level {
            return ("level", level.clone());
        }
        if let Some(step) = self.step {
            return ("step", step.to_string());
        }
        match scope {
            Scope::Grids(gs) if gs.len() == 1 => ("grid", gs[0].to_string()),
            Scope::Community(c) => ("community", c.to_string()),
            Scope::Street(s) => ("street", s.to_string()),
            Scope::Unit(u) => ("unit", u.to_string()),
            _ => ("all", String::new()),
        }
    }

    fn matches(&self, s: &CaseSummary, now: i64) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        eq(&self.status, s.status.map(Status::as_str))
            && self.step.is_none_or(|st| st == s.step)
            && eq(&self.street, s.street.as_deref())
            && eq(&self.community, s.community.as_deref())
            && eq(&self.grid, s.grid.as_deref())
            && self
                .unit
                .as_deref()
                .is_none_or(|u| s.units.iter().any(|x| x == u))
            && eq(&self.category, s.category.as_deref())
            && eq(&self.level, s.level.as_deref())
            && self.overdue.is_none_or(|o| o == s.overdue_at(now))
            && self
                .has_conflict
                .is_none_or(|c| c == (s.open_conflicts > 0))
            && self.created_from.is_none_or(|f| s.created_at >= f)
            && self.created_to.is_none_or(|t| s.created_at < t)
            && self.q.as_deref().is_none_or(|q| s.description.contains(q))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseListItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseListItem {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub overdue: bool,
}

#[utoipa::path(get, path = "/v1/cases", tag = "cases", params(CaseFilter),
    responses((status = 200, body = CasePage)), security(("bearer" = [])))]
pub async fn list_cases(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<CaseFilter>,
) -> Result<Json<CasePage>> {
    let page = crate::blocking(move || list_page(&state, &caller, &filter)).await?;
    Ok(Json(page))
}

/// One page of the cases the caller may see that match the filter, walking the query index.
pub fn list_page(state: &AppState, caller: &Caller, filter: &CaseFilter) -> Result<CasePage> {
    caller.require_reader()?;
    let now = now_millis();
    let limit = filter.limit.unwrap_or(50).clamp(1, 500);
    let after = match &filter.cursor {
        Some(c) => Some(hex::decode(c).map_err(|_| Error::BadRequest("bad cursor".into()))?),
        None => None,
    };
    let (field, value) = filter.driver(&caller.user.scope);
    let mut cases = Vec::new();
    let mut last = None;
    let mut more = false;
    for entry in state.ledger.index_scan(field, &value, after) {
        let (suffix, case) = entry?;
        let Some(s) = state.ledger.summary(&case)? else {
            continue;
        };
        // Entries may be stale (the index is a superset): the summary decides.
        if suffix != crate::query_index::suffix(&s)
            || !summary_in_scope(&caller.user.scope, &s)
            || !filter.matches(&s, now)
        {
            continue;
        }
        if cases.len() == limit {
            more = true;
            break;
        }
        last = Some(suffix);
        cases.push(CaseListItem {
            overdue: s.overdue_at(now),
            summary: s,
        });
    }
    let next = if more { last.map(hex::encode) } else { None };
    Ok(CasePage { cases, next })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub event: Event,
    pub disposition: Option<Disposition>,
    /// Server receipt time; absent for events the server has not seen arrive (none today).
    pub received_at: Option<i64>,
    pub via: Option<String>,
    /// The automerge change behind the event (hex).
    pub change: Option<String>,
    pub flag: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: String,
    pub overdue: bool,
    pub state: CaseState,
    /// Every event in merged (causal) order, superseded ones included.
    pub history: Vec<HistoryEntry>,
    pub attachments: Vec<gridcase_sync_core::Attachment>,
}

#[utoipa::path(get, path = "/v1/cases/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CaseView>> {
    let view = crate::blocking(move || case_view(&state, &caller, &CaseId::new(id))).await?;
    Ok(Json(view))
}

/// A case's derived state and merged history with receipts, if the caller may see it.
pub fn case_view(state: &AppState, caller: &Caller, id: &CaseId) -> Result<CaseView> {
    let _span = tracing::info_span!("case", case = %id).entered();
    caller.require_reader()?;
    let (doc, folded) = visible_case(state, caller, id)?;
    let mut receipts = state.ledger.receipts(id)?;
    let changes: std::collections::HashMap<EventId, Option<ChangeHash>> =
        doc.event_changes().into_iter().collect();
    let all = doc.events()?;
    // Under a reused id, the event the fold judged (the other is named by a conflict).
    let events: std::collections::HashMap<&EventId, &Event> =
        gridcase_sync_core::fold::dedupe(&all)
            .0
            .into_iter()
            .map(|e| (&e.id, e))
            .collect();
    let history = folded
        .timeline
        .iter()
        .filter_map(|t| {
            let event = (*events.get(&t.event)?).clone();
            let receipt = receipts.remove(t.event.as_str());
            Some(HistoryEntry {
                disposition: Some(t.disposition),
                received_at: receipt.as_ref().map(|r| r.received_at),
                via: receipt.as_ref().map(|r| r.via.clone()),
                change: receipt.as_ref().and_then(|r| r.change.clone()).or_else(|| {
                    changes
                        .get(&t.event)
                        .copied()
                        .flatten()
                        .map(|h| h.to_string())
                }),
                flag: receipt.and_then(|r| r.flag),
                event,
            })
        })
        .collect();
    Ok(CaseView {
        id: id.to_string(),
        overdue: folded.overdue_at(now_millis()),
        attachments: doc.attachments()?,
        history,
        state: folded,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewItem {
    pub case: CaseSummary,
    pub conflicts: Vec<Conflict>,
    /// Events flagged on arrival (author's permission changed while offline).
    pub flagged: Vec<String>,
}

pub const REVIEWERS: &[Role] = &[
    Role::DistrictCenter,
    Role::StreetCenter,
    Role::CommunityWorkstation,
    Role::Supervisor,
];

#[utoipa::path(get, path = "/v1/review/conflicts", tag = "review",
    responses((status = 200, body = Vec<ReviewItem>), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn review_queue(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ReviewItem>>> {
    let items = crate::blocking(move || review_items(&state, &caller)).await?;
    Ok(Json(items))
}

/// The review queue in the caller's scope: cases with open conflicts or flagged events.
pub fn review_items(state: &AppState, caller: &Caller) -> Result<Vec<ReviewItem>> {
    Ok(review_entries(state, caller)?
        .into_iter()
        .map(|(item, _)| item)
        .collect())
}

/// The review queue with each case's events, which the console names its conflicts with.
pub fn review_entries(state: &AppState, caller: &Caller) -> Result<Vec<(ReviewItem, Vec<Event>)>> {
    caller.require_role(REVIEWERS)?;
    let mut items = Vec::new();
    for entry in state.ledger.index_scan("review", "true", None) {
        let (_, id) = entry?;
        let Some(s) = state.ledger.summary(&id)? else {
            continue;
        };
        if (s.open_conflicts == 0 && s.flagged_events == 0)
            || !summary_in_scope(&caller.user.scope, &s)
        {
            continue;
        }
        let Some(doc) = state.ledger.load(&id)? else {
            continue;
        };
        let events = doc.events()?;
        let folded = fold(&events, &state.ledger.calendar);
        let flagged = state
            .ledger
            .receipts(&id)?
            .into_iter()
            .filter(|(_, r)| r.flag.is_some())
            .map(|(e, _)| e)
            .collect();
        let item = ReviewItem {
            case: s,
            conflicts: folded.open_conflicts().cloned().collect(),
            flagged,
        };
        items.push((item, events));
    }
    Ok(items)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Resolution {
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/v1/review/conflicts/{case}/{event}/resolve", tag = "review",
    params(("case" = String, Path), ("event" = String, Path, description = "The superseded event that names the conflict")),
    request_body = Resolution,
    responses((status = 201, body = Written), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn resolve_conflict(
    State(state): State<AppState>,
    caller: Caller,
    Path((case, event)): Path<(String, String)>,
    ApiJson(body): ApiJson<Resolution>,
) -> Result<(StatusCode, Json<Written>)> {
    let action = Action::Resolve {
        conflict: EventId::new(event),
        note: body.note,
    };
    let written =
        crate::blocking(move || act_online(&state, &caller, &CaseId::new(case), action)).await?;
    Ok((StatusCode::CREATED, Json(written)))
}
