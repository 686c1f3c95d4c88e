//! Commands: how a user acts on a case. Each one folds the case, checks the action against
//! the rule table, and only then writes the event, so an invalid action never leaves the device.
//! Photos travel as attachment records (hash and metadata) written in the same change as the
//! event that brings them; the bytes are content-addressed blobs synced separately.
//!
//! The `_with_org` forms also refuse references the writer's organization does not know
//! (`references`): handhelds pass their cached organization, the server its directory's.
//! Without one, only a case named as its own duplicate is refused.

use crate::calendar::{Millis, WorkCalendar};
use crate::document::{Attachment, CaseDoc, Header, SCHEMA};
use crate::event::{Action, Event, Intake};
use crate::fold::{fold, frontier, CaseState};
use crate::ids::{CaseId, EventId};
use crate::org::Org;
use crate::role::Actor;
use crate::Error;
use crate::{limits, references, rules};
use automerge::ActorId;

/// A blob to attach: its content hash and what the device knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub sha256: String,
    pub mime: String,
    pub size: u64,
    pub name: Option<String>,
}

/// The blobs' count and metadata within `limits`.
fn check_blobs(blobs: &[Blob]) -> Result<(), Error> {
    limits::check_count("photos", blobs.len(), limits::PHOTOS).map_err(Error::Rule)?;
    for b in blobs {
        limits::check_text("photo hash", &b.sha256, limits::BLOB_REF).map_err(Error::Rule)?;
        limits::check_text("photo type", &b.mime, limits::MIME).map_err(Error::Rule)?;
        if let Some(name) = &b.name {
            limits::check_text("photo name", name, limits::FILE_NAME).map_err(Error::Rule)?;
        }
    }
    Ok(())
}

fn records(blobs: Vec<Blob>, event: &EventId, actor: &Actor) -> Vec<Attachment> {
    blobs
        .into_iter()
        .map(|b| Attachment {
            sha256: b.sha256,
            mime: b.mime,
            size: b.size,
            name: b.name,
            event: event.clone(),
            author: actor.user.clone(),
        })
        .collect()
}

/// Opens a new case with its intake (采集受理). `writer` is the automerge actor bound to the
/// actor's device.
pub fn open_case(
    actor: &Actor,
    writer: ActorId,
    intake: Intake,
    at: Millis,
) -> Result<(CaseDoc, Event), Error> {
    open_case_with(actor, writer, intake, Vec::new(), at)
}

/// [`open_case`] with photos; their hashes also go into the intake's `photos`.
pub fn open_case_with(
    actor: &Actor,
    writer: ActorId,
    intake: Intake,
    blobs: Vec<Blob>,
    at: Millis,
) -> Result<(CaseDoc, Event), Error> {
    open_case_with_org(actor, writer, intake, blobs, at, None)
}

/// [`open_case_with`], also refusing a territory or category that `org` (the organization the
/// writer knows) or the catalog does not have.
pub fn open_case_with_org(
    actor: &Actor,
    writer: ActorId,
    intake: Intake,
    blobs: Vec<Blob>,
    at: Millis,
    org: Option<&Org>,
) -> Result<(CaseDoc, Event), Error> {
    open_case_as(actor, writer, CaseId::generate(), intake, blobs, at, org)
}

/// [`open_case_with_org`] under a case id minted beforehand ([`CaseId::generate`]): a form
/// that carries its case id from the moment it is shown can be sent twice and still open one
/// case, since the second sending finds the id taken.
pub fn open_case_as(
    actor: &Actor,
    writer: ActorId,
    case: CaseId,
    mut intake: Intake,
    blobs: Vec<Blob>,
    at: Millis,
    org: Option<&Org>,
) -> Result<(CaseDoc, Event), Error> {
    check_blobs(&blobs)?;
    intake.photos.extend(blobs.iter().map(|b| b.sha256.clone()));
    let action = Action::Intake(intake);
    rules::check(&CaseState::default(), actor, &action).map_err(Error::Rule)?;
    if let Some(org) = org {
        references::check_references(&case, &action, org).map_err(Error::Rule)?;
    }
    let event = new_event(actor, action, at, Vec::new());
    let header = Header {
        schema: SCHEMA,
        case,
        created_by: actor.user.clone(),
        device: actor.device.clone(),
        created_at: at,
    };
    let attachments = records(blobs, &event.id, actor);
    let doc = CaseDoc::create(&header, &event, &attachments, writer)?;
    Ok((doc, event))
}

/// Performs one action on an existing case: file, dispatch, handle, feedback, verify, close,
/// evaluate and the side actions. The document's actor must be the device's.
pub fn act(
    doc: &mut CaseDoc,
    actor: &Actor,
    action: Action,
    at: Millis,
    calendar: &WorkCalendar,
) -> Result<Event, Error> {
    act_with(doc, actor, action, Vec::new(), at, calendar)
}

/// [`act`] with photos attached to the event in the same change.
pub fn act_with(
    doc: &mut CaseDoc,
    actor: &Actor,
    action: Action,
    blobs: Vec<Blob>,
    at: Millis,
    calendar: &WorkCalendar,
) -> Result<Event, Error> {
    act_with_org(doc, actor, action, blobs, at, calendar, None)
}

/// [`act_with`], also refusing a unit or category that `org` (the organization the writer
/// knows) or the catalog does not have. With or without it, a case is never marked a
/// duplicate of itself.
pub fn act_with_org(
    doc: &mut CaseDoc,
    actor: &Actor,
    action: Action,
    blobs: Vec<Blob>,
    at: Millis,
    calendar: &WorkCalendar,
    org: Option<&Org>,
) -> Result<Event, Error> {
    check_blobs(&blobs)?;
    let events = doc.events()?;
    let state = fold(&events, calendar);
    rules::check(&state, actor, &action).map_err(Error::Rule)?;
    if let Action::Adopt { conflict, .. } = &action {
        crate::fold::check_adoption_in(&events, &state, conflict).map_err(Error::Rule)?;
    }
    let case = doc.header()?.case;
    match org {
        Some(org) => references::check_references(&case, &action, org)
            .and_then(|()| crate::tiers::check_tier(actor, &action, org)),
        None => references::check_not_itself(&case, &action),
    }
    .map_err(Error::Rule)?;
    let event = new_event(actor, action, at, frontier(&events));
    let attachments = records(blobs, &event.id, actor);
    doc.append(&event, &attachments)?;
    Ok(event)
}

/// Attaches photos or files with one `attach` event.
pub fn attach(
    doc: &mut CaseDoc,
    actor: &Actor,
    blobs: Vec<Blob>,
    at: Millis,
    calendar: &WorkCalendar,
) -> Result<Event, Error> {
    let action = Action::Attach {
        blobs: blobs.iter().map(|b| b.sha256.clone()).collect(),
    };
    act_with(doc, actor, action, blobs, at, calendar)
}

fn new_event(actor: &Actor, action: Action, at: Millis, parents: Vec<EventId>) -> Event {
    Event {
        id: EventId::generate(),
        author: actor.user.clone(),
        device: actor.device.clone(),
        role: actor.role,
        scope: actor.scope.clone(),
        at,
        parents,
        action,
    }
}
