//! Writing online: opening a case (hotline desk, web, Open311) and acting on one, through the
//! sync-core commands with a fresh automerge actor per request, written like any synced case.

use super::callers::open_with_caller;
use super::{summary_in_scope, visible_case, Written};
use crate::auth::{now_millis, Caller};
use crate::callers::{CallerInput, CallerRecord};
use crate::error::{Error, Result};
use crate::ledger::Receipt;
use crate::routes::blobs::{store_whole, WholeBlob};
use crate::AppState;
use gridcase_sync_core::caller::split_contact;
use gridcase_sync_core::commands::{act_with_org, open_case_as, Blob};
use gridcase_sync_core::event::{BusinessType, Channel, Intake};
use gridcase_sync_core::fold::fold;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::{
    Action, ActorId, CaseDoc, CaseId, CategoryCode, ChangeHash, Event, EventId,
};
use serde::Deserialize;

/// Writes events made on the server durably, with their summary, feed move and receipts.
fn write_online(
    state: &AppState,
    caller: &Caller,
    doc: &mut CaseDoc,
    since: &[ChangeHash],
    events: &[Event],
    record: Option<&CallerRecord>,
) -> Result<()> {
    let now = now_millis();
    let via = caller.actor().device.to_string();
    let receipts: Vec<(EventId, Receipt)> = events
        .iter()
        .map(|e| {
            let receipt = Receipt {
                received_at: now,
                via: via.clone(),
                // The document names the change (`CaseDoc::changes_in_order`).
                change: None,
                flag: None,
            };
            (e.id.clone(), receipt)
        })
        .collect();
    let mut write = state.ledger.write(now);
    write.save(doc, since, &receipts)?;
    if let Some(record) = record {
        write.add_caller(record)?;
    }
    write.commit()
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
    /// What the caller wants (诉求类型).
    #[serde(default)]
    pub business_type: Option<BusinessType>,
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
    // The reporter goes to the caller register, never into the replicated document.
    let reporter = match (req.reporter_name, req.reporter_contact) {
        (None, None) => None,
        (name, contact) => {
            // Open311 sends an e-mail address and a number in one text: the number is kept as
            // one (indexed for the repeat-caller lookup, masked like a number).
            let (phone, contact) = split_contact(&contact.unwrap_or_default());
            Some(CallerInput {
                name: name.unwrap_or_default(),
                phone,
                contact,
                ..CallerInput::default()
            })
        }
    };
    let intake = Intake {
        media_url: req.media_url,
        channel: req.channel,
        reporter: None,
        description: req.description,
        territory,
        address: req.address,
        coordinates: req.coordinates,
        category,
        photos: vec![],
        business_type: req.business_type,
        caller: None,
        callback: false,
    };
    let (doc, event) = open_with_caller(
        state,
        caller,
        &org,
        CaseId::generate(),
        intake,
        Vec::new(),
        reporter,
    )?;
    let case = doc.header()?.case;
    let status = fold(&doc.events()?, &state.ledger.calendar).status;
    tracing::info!(case = %case, user = %caller.user.id, "case opened online");
    Ok(Written {
        number: state.ledger.number(&case)?,
        case: case.to_string(),
        event: event.id.to_string(),
        status,
    })
}

/// Performs one action on a case through the sync-core commands and writes it durably.
pub fn act_online(
    state: &AppState,
    caller: &Caller,
    id: &CaseId,
    action: Action,
) -> Result<Written> {
    act_online_all(state, caller, id, vec![action], Vec::new())
}

/// Performs actions in order, each checked against the case as the ones before it left it,
/// and writes them in one durable batch: all of them, or none when any is refused.
///
/// `photos` go with the last action (whose `photos` name them): their attachment records are
/// written with its event, and their bytes stored in the blob store once the actions are
/// checked and before they are committed, so an acknowledged event never names a missing blob.
pub fn act_online_all(
    state: &AppState,
    caller: &Caller,
    id: &CaseId,
    actions: Vec<Action>,
    photos: Vec<WholeBlob>,
) -> Result<Written> {
    let events = act_and_write(state, caller, id, actions, None, photos)?;
    let last = events
        .last()
        .ok_or_else(|| Error::BadRequest("no action given".into()))?
        .id
        .to_string();
    let status = state.ledger.summary(id)?.and_then(|s| s.status);
    Ok(Written {
        case: id.to_string(),
        event: last,
        status,
        number: state.ledger.number(id)?,
    })
}

/// [`act_online_all`] with a caller record written in the same batch (the caller a
/// `caller_added` event names). Returns the events written.
pub(super) fn act_with_record(
    state: &AppState,
    caller: &Caller,
    id: &CaseId,
    actions: Vec<Action>,
    record: Option<&CallerRecord>,
) -> Result<Vec<Event>> {
    act_and_write(state, caller, id, actions, record, Vec::new())
}

/// The one write path of actions on an existing case: checked in memory, the photos' bytes
/// stored, then the events, their attachments and the caller record committed together.
fn act_and_write(
    state: &AppState,
    caller: &Caller,
    id: &CaseId,
    actions: Vec<Action>,
    record: Option<&CallerRecord>,
    photos: Vec<WholeBlob>,
) -> Result<Vec<Event>> {
    let kinds: Vec<&str> = actions.iter().map(|a| a.kind().as_str()).collect();
    let _span = tracing::info_span!("act", case = %id, user = %caller.user.id, kinds = ?kinds, photos = photos.len()).entered();
    if actions.is_empty() {
        return Err(Error::BadRequest("no action given".into()));
    }
    let (mut doc, _) = visible_case(state, caller, id)?;
    let org = state.directory.org()?;
    doc.set_actor(online_writer()?);
    let since = doc.heads();
    let blobs = photos.iter().map(|p| p.blob.clone()).collect();
    let events = act_all(state, caller, &mut doc, &org, actions, blobs)?;
    for photo in &photos {
        store_whole(state, &photo.blob.sha256, &photo.bytes)?;
    }
    write_online(state, caller, &mut doc, &since, &events, record)?;
    Ok(events)
}

/// Opens a case under `case` with its intake and the actions that follow it, each checked
/// against the case as the ones before it left it, and writes them in one durable batch: all
/// of them, or none when any is refused. Returns the document and its intake event.
pub(super) fn open_with(
    state: &AppState,
    caller: &Caller,
    org: &Org,
    case: CaseId,
    intake: Intake,
    then: Vec<Action>,
    record: Option<&CallerRecord>,
) -> Result<(CaseDoc, Event)> {
    let (mut doc, event) = open_case_as(
        &caller.actor(),
        online_writer()?,
        case,
        intake,
        Vec::new(),
        now_millis(),
        Some(org),
    )?;
    let mut events = vec![event.clone()];
    events.extend(act_all(state, caller, &mut doc, org, then, Vec::new())?);
    write_online(state, caller, &mut doc, &[], &events, record)?;
    Ok((doc, event))
}

/// Performs actions in order on a case in memory, each checked against the case as the ones
/// before it left it; nothing is written yet. `blobs` are the attachments of the last action.
fn act_all(
    state: &AppState,
    caller: &Caller,
    doc: &mut CaseDoc,
    org: &Org,
    actions: Vec<Action>,
    mut blobs: Vec<Blob>,
) -> Result<Vec<Event>> {
    let mut events = Vec::with_capacity(actions.len());
    let last = actions.len().saturating_sub(1);
    for (i, action) in actions.into_iter().enumerate() {
        let duplicate_of = match &action {
            Action::MarkDuplicate { of } => Some(of.clone()),
            _ => None,
        };
        events.push(act_with_org(
            doc,
            &caller.actor(),
            action,
            if i == last {
                std::mem::take(&mut blobs)
            } else {
                Vec::new()
            },
            now_millis(),
            &state.ledger.calendar,
            Some(org),
        )?);
        if let Some(of) = duplicate_of {
            check_case_named(state, caller, &of)?;
        }
    }
    Ok(events)
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
