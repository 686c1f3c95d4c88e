//! The case document on automerge: an immutable `header` map and the append-only `events`
//! and `attachments` lists. This module is the only place that maps between automerge
//! values and typed Rust values.
//!
//! Layout (every leaf a scalar; strings are plain scalars, never text objects):
//!
//! ```text
//! ROOT
//! ├─ header: { schema: 1, case, created_by, device, created_at }
//! ├─ events: [ { id, kind, author, device, role, scope, at, parents, payload }, … ]
//! └─ attachments: [ { sha256, mime, size, name, event, author }, … ]
//! ```
//!
//! `scope`, `parents` and `payload` hold JSON text: one scalar each keeps a case small
//! (one operation per field) while staying readable by any automerge peer.

use crate::calendar::Millis;
use crate::event::{Action, ActionKind, Event, UnknownAction};
use crate::ids::{CaseId, DeviceId, EventId, UserId};
use crate::role::Role;
use crate::Error;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, ScalarValueRef, Value,
    ValueRef, ROOT,
};
use serde::{Deserialize, Serialize};

/// The document layout version written in every header.
///
/// Additive changes keep it: a new event kind, a new field in a payload, a new scalar field in
/// an event map; older readers keep what they do not know without effect
/// ([`Action::Unknown`]). A new value of a payload's enum also keeps it, but older readers
/// then do not understand that one event at all. A new role or scope level, or a change to
/// what an existing field means or where it lives, raises it: a release refuses to read a
/// document of a later schema ([`Error::NewerSchema`]) rather than misread it.
/// ARCHITECTURE.md, "Persisted formats and evolution".
pub const SCHEMA: u64 = 1;

/// The fields of an event map in schema 1 (a later release may add more: see `inspect`).
pub const EVENT_FIELDS: [&str; 9] = [
    "id", "kind", "author", "device", "role", "scope", "at", "parents", "payload",
];

pub(crate) const HEADER: &str = "header";
pub(crate) const EVENTS: &str = "events";
pub(crate) const ATTACHMENTS: &str = "attachments";

/// The creation record of a case. Written once, in the case's first change, never edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Header {
    pub schema: u64,
    pub case: CaseId,
    pub created_by: UserId,
    pub device: DeviceId,
    pub created_at: Millis,
}

/// Metadata of a content-addressed blob (a photo); the bytes travel separately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub sha256: String,
    pub mime: String,
    pub size: u64,
    pub name: Option<String>,
    pub event: EventId,
    pub author: UserId,
}

/// One case: an automerge document with the layout above.
///
/// What was read once is kept beside the document while it cannot have changed: the header
/// (read to check the layout) and, when the sync receiver has just read every event during
/// inspection, the events. Any mutable access to the document forgets them.
#[derive(Debug, Clone)]
pub struct CaseDoc {
    doc: AutoCommit,
    header: ObjId,
    events: ObjId,
    attachments: ObjId,
    read_header: Option<Header>,
    read_events: Option<Vec<Event>>,
}

impl CaseDoc {
    /// Creates a case with its header and first event in a single change, so that no replica
    /// ever sees a case without its intake.
    pub fn create(
        header: &Header,
        first: &Event,
        records: &[Attachment],
        actor: ActorId,
    ) -> Result<CaseDoc, Error> {
        let mut doc = AutoCommit::new().with_actor(actor);
        let h = doc.put_object(ROOT, HEADER, ObjType::Map)?;
        doc.put(&h, "schema", header.schema)?;
        doc.put(&h, "case", header.case.as_str())?;
        doc.put(&h, "created_by", header.created_by.as_str())?;
        doc.put(&h, "device", header.device.as_str())?;
        doc.put(&h, "created_at", header.created_at)?;
        let events = doc.put_object(ROOT, EVENTS, ObjType::List)?;
        let attachments = doc.put_object(ROOT, ATTACHMENTS, ObjType::List)?;
        let mut case = CaseDoc {
            doc,
            header: h,
            events,
            attachments,
            read_header: None,
            read_events: None,
        };
        case.write_event(first)?;
        for attachment in records {
            case.write_attachment(attachment)?;
        }
        case.commit(first.at);
        Ok(case)
    }

    /// Loads a saved document and checks its layout.
    pub fn load(bytes: &[u8]) -> Result<CaseDoc, Error> {
        let doc = AutoCommit::load(bytes)?;
        CaseDoc::from_automerge(doc)
    }

    /// Wraps an automerge document, checking that it has the case layout.
    pub fn from_automerge(doc: AutoCommit) -> Result<CaseDoc, Error> {
        let header = object(&doc, &ROOT, HEADER, ObjType::Map)?;
        let events = object(&doc, &ROOT, EVENTS, ObjType::List)?;
        let attachments = object(&doc, &ROOT, ATTACHMENTS, ObjType::List)?;
        let mut case = CaseDoc {
            doc,
            header,
            events,
            attachments,
            read_header: None,
            read_events: None,
        };
        let header = read_header(&case.doc, &case.header)?;
        if header.schema > SCHEMA {
            return Err(Error::NewerSchema {
                found: header.schema,
            });
        }
        case.read_header = Some(header);
        Ok(case)
    }

    pub fn header(&self) -> Result<Header, Error> {
        match &self.read_header {
            Some(header) => Ok(header.clone()),
            None => read_header(&self.doc, &self.header),
        }
    }

    /// All events in list order (merge order, not causal order: the fold sorts).
    pub fn events(&self) -> Result<Vec<Event>, Error> {
        if let Some(events) = &self.read_events {
            return Ok(events.clone());
        }
        self.doc
            .list_range(&self.events, ..)
            .map(|item| read_event(&self.doc, &item.id()))
            .collect()
    }

    /// Keeps `events` as what [`CaseDoc::events`] reads, for a caller that has just read
    /// every event of this very document in list order (the sync receiver's inspection of a
    /// new case): the next reader is spared reading them again. Forgotten on any change.
    pub(crate) fn keep_read_events(&mut self, events: Vec<Event>) {
        debug_assert_eq!(
            self.doc.length(&self.events),
            events.len(),
            "every event, in list order"
        );
        self.read_events = Some(events);
    }

    /// The events kept by [`CaseDoc::keep_read_events`], if the document was not touched
    /// since, taken back out (for a caller that keeps them beside the document).
    pub(crate) fn take_read_events(&mut self) -> Option<Vec<Event>> {
        self.read_events.take()
    }

    /// The events paired with the automerge object id of their list element.
    pub(crate) fn event_entries(&self) -> Vec<ObjId> {
        self.doc
            .list_range(&self.events, ..)
            .map(|item| item.id())
            .collect()
    }

    pub fn attachments(&self) -> Result<Vec<Attachment>, Error> {
        self.doc
            .list_range(&self.attachments, ..)
            .map(|item| read_attachment(&self.doc, &item.id()))
            .collect()
    }

    /// Appends an event and the attachments it brings as one automerge change. Callers go
    /// through [`crate::commands`], which check the rules first.
    pub(crate) fn append(
        &mut self,
        event: &Event,
        attachments: &[Attachment],
    ) -> Result<ChangeHash, Error> {
        self.read_events = None;
        self.write_event(event)?;
        for attachment in attachments {
            self.write_attachment(attachment)?;
        }
        self.commit(event.at)
            .ok_or(Error::Malformed("appending an event produced no change"))
    }

    fn write_attachment(&mut self, attachment: &Attachment) -> Result<(), Error> {
        let len = self.doc.length(&self.attachments);
        let a = self
            .doc
            .insert_object(&self.attachments, len, ObjType::Map)?;
        self.doc.put(&a, "sha256", attachment.sha256.as_str())?;
        self.doc.put(&a, "mime", attachment.mime.as_str())?;
        self.doc.put(&a, "size", attachment.size)?;
        if let Some(name) = &attachment.name {
            self.doc.put(&a, "name", name.as_str())?;
        }
        self.doc.put(&a, "event", attachment.event.as_str())?;
        self.doc.put(&a, "author", attachment.author.as_str())?;
        Ok(())
    }

    fn write_event(&mut self, event: &Event) -> Result<(), Error> {
        let (kind, payload) = event.action.stored_form();
        let len = self.doc.length(&self.events);
        let e = self.doc.insert_object(&self.events, len, ObjType::Map)?;
        self.doc.put(&e, "id", event.id.as_str())?;
        self.doc.put(&e, "kind", kind)?;
        self.doc.put(&e, "author", event.author.as_str())?;
        self.doc.put(&e, "device", event.device.as_str())?;
        self.doc.put(&e, "role", event.role.as_str())?;
        self.doc
            .put(&e, "scope", serde_json::to_string(&event.scope)?)?;
        self.doc.put(&e, "at", event.at)?;
        self.doc
            .put(&e, "parents", serde_json::to_string(&event.parents)?)?;
        self.doc.put(&e, "payload", payload)?;
        Ok(())
    }

    fn commit(&mut self, at: Millis) -> Option<ChangeHash> {
        self.doc
            .commit_with(CommitOptions::default().with_time(at.div_euclid(1000)))
    }

    pub fn set_actor(&mut self, actor: ActorId) {
        self.doc.set_actor(actor);
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The full document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes after `heads`, in automerge's incremental format.
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// Gives the automerge document back.
    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }

    /// The underlying automerge document, for the sync protocol. What was kept of earlier
    /// reads is forgotten: the caller may change the document.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        self.read_header = None;
        self.read_events = None;
        &mut self.doc
    }

    pub(crate) fn automerge_ref(&self) -> &AutoCommit {
        &self.doc
    }

    /// The automerge change that wrote the event at list element `entry`.
    pub(crate) fn change_of(&self, entry: &ObjId) -> Option<ChangeHash> {
        self.doc.hash_for_opid(entry)
    }

    /// The document as plain JSON, the way other automerge implementations see it (`toJS`):
    /// what the published examples (`schema/examples/`) are made of. Scalars keep their
    /// JSON-text fields as strings.
    pub fn json_view(&self) -> serde_json::Value {
        json_of(&self.doc, &ROOT, ObjType::Map)
    }

    /// The hash of the automerge change that carried each event, in list order: beside
    /// [`CaseDoc::events`], entry for entry (under a reused id, each entry names its own).
    pub fn changes_in_order(&self) -> Vec<Option<ChangeHash>> {
        self.event_entries()
            .iter()
            .map(|entry| self.change_of(entry))
            .collect()
    }

    /// Each event id with the hash of the automerge change that carried it.
    pub fn event_changes(&self) -> Vec<(EventId, Option<ChangeHash>)> {
        self.event_entries()
            .into_iter()
            .filter_map(|entry| {
                let id = string(&self.doc, &entry, "id").ok()?;
                Some((EventId::new(id), self.change_of(&entry)))
            })
            .collect()
    }
}

fn json_of(doc: &AutoCommit, obj: &ObjId, ty: ObjType) -> serde_json::Value {
    use serde_json::Value as J;
    let value = |v: Value<'_>, id: ObjId| match v {
        Value::Object(t) => json_of(doc, &id, t),
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(t) => J::from(t.as_str()),
            ScalarValue::Int(i) | ScalarValue::Timestamp(i) => J::from(*i),
            ScalarValue::Uint(u) => J::from(*u),
            ScalarValue::F64(f) => J::from(*f),
            ScalarValue::Counter(c) => J::from(i64::from(c)),
            ScalarValue::Boolean(b) => J::from(*b),
            _ => J::Null,
        },
    };
    match ty {
        ObjType::Map | ObjType::Table => J::Object(
            doc.map_range(obj, ..)
                .map(|item| {
                    let (key, id) = (item.key.to_string(), item.id());
                    (key, value(item.value.into(), id))
                })
                .collect(),
        ),
        ObjType::List => J::Array(
            doc.list_range(obj, ..)
                .map(|item| {
                    let id = item.id();
                    value(item.value.into(), id)
                })
                .collect(),
        ),
        ObjType::Text => J::from(doc.text(obj).unwrap_or_default()),
    }
}

/// Reads a stored kind and payload. Never fails: what this release cannot read becomes
/// [`Action::Unknown`], so a case holding a later release's events still loads, folds and
/// syncs (fields a payload has beyond what its kind reads are ignored here and stay stored).
pub(crate) fn decode_action(kind: &str, payload: &str) -> Action {
    let unknown = |reason: String| {
        Action::Unknown(UnknownAction {
            kind: kind.to_owned(),
            payload: payload.to_owned(),
            reason,
        })
    };
    if ActionKind::parse(kind).is_none() {
        return unknown(format!("{kind:?} is not an event kind this release knows"));
    }
    let payload_value: serde_json::Value = match serde_json::from_str(payload) {
        Ok(value) => value,
        Err(e) => return unknown(format!("the payload is not JSON: {e}")),
    };
    let tagged = serde_json::json!({ "kind": kind, "payload": payload_value });
    match serde_json::from_value(tagged) {
        Ok(action) => action,
        Err(e) => unknown(format!("the payload does not read as {kind}: {e}")),
    }
}

/// The scalar fields of an event map, read in one pass over the map (one lookup per field
/// would decode the columns again for each).
#[derive(Default)]
pub(crate) struct EventFields {
    id: Option<String>,
    kind: Option<String>,
    author: Option<String>,
    device: Option<String>,
    role: Option<String>,
    scope: Option<String>,
    at: Option<i64>,
    parents: Option<String>,
    payload: Option<String>,
}

fn required<T>(value: Option<T>, key: &'static str) -> Result<T, Error> {
    value.ok_or(Error::MissingField(key))
}

pub(crate) fn read_event(doc: &AutoCommit, e: &ObjId) -> Result<Event, Error> {
    let mut f = EventFields::default();
    for item in doc.map_range(e, ..) {
        f.take(item.key.as_ref(), &item.value)?;
    }
    f.finish()
}

impl EventFields {
    /// Takes one field of an event's map, in the one pass over it that reads the event (the
    /// inspection's snapshot reads the operation ids in the same pass).
    pub(crate) fn take(&mut self, key: &str, value: &ValueRef<'_>) -> Result<(), Error> {
        match value {
            ValueRef::Scalar(ScalarValueRef::Str(v)) => {
                let slot = match key {
                    "id" => &mut self.id,
                    "kind" => &mut self.kind,
                    "author" => &mut self.author,
                    "device" => &mut self.device,
                    "role" => &mut self.role,
                    "scope" => &mut self.scope,
                    "parents" => &mut self.parents,
                    "payload" => &mut self.payload,
                    "at" => return Err(Error::MalformedField("at")),
                    _ => return Ok(()),
                };
                *slot = Some(v.to_string());
            }
            ValueRef::Scalar(ScalarValueRef::Int(v)) if key == "at" => self.at = Some(*v),
            ValueRef::Scalar(ScalarValueRef::Uint(v)) if key == "at" => {
                self.at = Some(i64::try_from(*v).map_err(|_| Error::MalformedField("at"))?)
            }
            _ => {
                if let Some(known) = EVENT_FIELDS.into_iter().find(|k| *k == key) {
                    return Err(Error::MalformedField(known));
                }
            }
        }
        Ok(())
    }

    /// The event the taken fields make.
    pub(crate) fn finish(self) -> Result<Event, Error> {
        let f = self;
        let id = EventId::new(required(f.id, "id")?);
        let invalid = |reason: String| Error::InvalidEvent {
            event: id.clone(),
            reason,
        };
        let role_name = required(f.role, "role")?;
        let role =
            Role::parse(&role_name).ok_or_else(|| invalid(format!("unknown role {role_name}")))?;
        let scope = serde_json::from_str(&required(f.scope, "scope")?)
            .map_err(|err| invalid(format!("scope: {err}")))?;
        let parents = serde_json::from_str(&required(f.parents, "parents")?)
            .map_err(|err| invalid(format!("parents: {err}")))?;
        let action = decode_action(&required(f.kind, "kind")?, &required(f.payload, "payload")?);
        Ok(Event {
            author: UserId::new(required(f.author, "author")?),
            device: DeviceId::new(required(f.device, "device")?),
            role,
            scope,
            at: required(f.at, "at")?,
            parents,
            action,
            id,
        })
    }
}

/// The header in one pass over its map (a lookup per field would decode the columns again
/// for each), with the errors field-by-field lookups give, in the same order.
fn read_header(doc: &AutoCommit, h: &ObjId) -> Result<Header, Error> {
    let mut fields: [Option<Option<ScalarValue>>; 5] = Default::default();
    for item in doc.map_range(h, ..) {
        let slot = match item.key.as_ref() {
            "schema" => 0,
            "case" => 1,
            "created_by" => 2,
            "device" => 3,
            "created_at" => 4,
            _ => continue,
        };
        fields[slot] = Some(match Value::from(item.value) {
            Value::Scalar(s) => Some(s.into_owned()),
            Value::Object(_) => None,
        });
    }
    let [schema, case, created_by, device, created_at] = fields;
    Ok(Header {
        schema: as_uint(present(schema, "schema")?, "schema")?,
        case: CaseId::new(as_string(present(case, "case")?, "case")?),
        created_by: UserId::new(as_string(present(created_by, "created_by")?, "created_by")?),
        device: DeviceId::new(as_string(present(device, "device")?, "device")?),
        created_at: as_int(present(created_at, "created_at")?, "created_at")?,
    })
}

/// A field read by a pass over its map: absent, an object, or a scalar.
fn present(field: Option<Option<ScalarValue>>, key: &'static str) -> Result<ScalarValue, Error> {
    match field {
        Some(Some(s)) => Ok(s),
        Some(None) => Err(Error::MalformedField(key)),
        None => Err(Error::MissingField(key)),
    }
}

pub(crate) fn read_attachment(doc: &AutoCommit, a: &ObjId) -> Result<Attachment, Error> {
    Ok(Attachment {
        sha256: string(doc, a, "sha256")?,
        mime: string(doc, a, "mime")?,
        size: uint(doc, a, "size")?,
        name: match doc.get(a, "name")? {
            Some(_) => Some(string(doc, a, "name")?),
            None => None,
        },
        event: EventId::new(string(doc, a, "event")?),
        author: UserId::new(string(doc, a, "author")?),
    })
}

fn object(
    doc: &AutoCommit,
    parent: &ObjId,
    key: &'static str,
    ty: ObjType,
) -> Result<ObjId, Error> {
    match doc.get(parent, key)? {
        Some((Value::Object(t), id)) if t == ty => Ok(id),
        Some(_) => Err(Error::MalformedField(key)),
        None if key == HEADER => Err(Error::MissingHeader),
        None => Err(Error::MissingField(key)),
    }
}

fn scalar(doc: &AutoCommit, obj: &ObjId, key: &'static str) -> Result<ScalarValue, Error> {
    match doc.get(obj, key)? {
        Some((Value::Scalar(s), _)) => Ok(s.into_owned()),
        Some(_) => Err(Error::MalformedField(key)),
        None => Err(Error::MissingField(key)),
    }
}

fn string(doc: &AutoCommit, obj: &ObjId, key: &'static str) -> Result<String, Error> {
    as_string(scalar(doc, obj, key)?, key)
}

fn uint(doc: &AutoCommit, obj: &ObjId, key: &'static str) -> Result<u64, Error> {
    as_uint(scalar(doc, obj, key)?, key)
}

fn as_string(value: ScalarValue, key: &'static str) -> Result<String, Error> {
    match value {
        ScalarValue::Str(s) => Ok(s.to_string()),
        _ => Err(Error::MalformedField(key)),
    }
}

fn as_int(value: ScalarValue, key: &'static str) -> Result<i64, Error> {
    match value {
        ScalarValue::Int(i) => Ok(i),
        ScalarValue::Uint(u) => i64::try_from(u).map_err(|_| Error::MalformedField(key)),
        _ => Err(Error::MalformedField(key)),
    }
}

fn as_uint(value: ScalarValue, key: &'static str) -> Result<u64, Error> {
    match value {
        ScalarValue::Uint(u) => Ok(u),
        ScalarValue::Int(i) => u64::try_from(i).map_err(|_| Error::MalformedField(key)),
        _ => Err(Error::MalformedField(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{act, open_case};
    use crate::{Actor, ActorId, Scope, WorkCalendar};

    fn operator() -> Actor {
        Actor {
            user: "operator".into(),
            device: "online:operator".into(),
            role: Role::DistrictCenter,
            scope: Scope::District,
        }
    }

    /// Two replicas write different events under one id (a forged or broken handheld): the
    /// merged document holds both, and each entry names the change that carried it, so the
    /// case's history can show the change of the very entry the fold judged.
    #[test]
    fn each_entry_names_its_own_change_even_under_a_reused_id() {
        let intake = serde_json::from_value(serde_json::json!({
            "channel": "hotline",
            "description": "路灯不亮",
            "territory": {"street": "s1", "community": "c1", "grid": "g1"},
        }))
        .expect("an intake");
        let (mut a, _) = open_case(
            &operator(),
            ActorId::from([1u8; 16].as_slice()),
            intake,
            1_000,
        )
        .expect("opened");
        let mut b = CaseDoc::load(&a.save()).expect("loaded");
        b.set_actor(ActorId::from([2u8; 16].as_slice()));
        let comment = |text: &str| Action::Comment { text: text.into() };
        let first = act(
            &mut a,
            &operator(),
            comment("a"),
            2_000,
            &WorkCalendar::beijing(),
        )
        .expect("commented");
        let from_a = a.heads()[0];
        let mut reused = first.clone();
        reused.action = comment("b");
        reused.at = 2_500;
        let from_b = b.append(&reused, &[]).expect("appended");
        a.automerge().merge(b.automerge()).expect("merged");

        let events = a.events().expect("events");
        let changes = a.changes_in_order();
        assert_eq!(events.len(), 3);
        assert_eq!(changes.len(), events.len(), "entry for entry");
        let under_the_id: Vec<_> = events
            .iter()
            .zip(&changes)
            .filter(|(e, _)| e.id == first.id)
            .map(|(e, c)| (e.action.clone(), *c))
            .collect();
        assert_eq!(under_the_id.len(), 2);
        for (action, change) in under_the_id {
            let want = if action == comment("a") {
                from_a
            } else {
                from_b
            };
            assert_eq!(change, Some(want), "{action:?}");
        }
    }
}
