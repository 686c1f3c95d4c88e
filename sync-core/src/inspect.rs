//! Change inspection: what incoming changes did to a case, before the ledger accepts them.
//!
//! Take a [`Snapshot`] of the stored document, apply the incoming changes (automerge has no
//! validation hook), then [`Snapshot::inspect`] the result. The snapshot records the
//! automerge operation id behind every header field, event and event field, so any overwrite,
//! deletion or concurrent re-assignment shows up as a changed or extra operation id, even
//! when the visible value did not change.

use crate::document::{CaseDoc, EventFields, ATTACHMENTS, EVENTS, EVENT_FIELDS, HEADER};

trait Lossy {
    fn to_str_lossy(&self) -> &str;
}

impl Lossy for automerge::Value<'_> {
    fn to_str_lossy(&self) -> &str {
        match self {
            automerge::Value::Scalar(s) => match s.as_ref() {
                automerge::ScalarValue::Str(s) => s.as_str(),
                _ => "",
            },
            _ => "",
        }
    }
}
use crate::event::Event;
use crate::ids::EventId;
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ReadDoc, ROOT};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Operation ids of what existed before the incoming changes.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    heads: Vec<ChangeHash>,
    roots: HashMap<String, ObjId>,
    header: HashMap<String, ObjId>,
    events: HashMap<ObjId, KnownEvent>,
    attachments: Vec<(ObjId, HashMap<String, ObjId>)>,
}

/// An event that existed before the incoming changes.
#[derive(Debug, Clone)]
struct KnownEvent {
    id: EventId,
    /// The operation behind each field.
    fields: HashMap<String, ObjId>,
    /// The event itself, when the snapshot read it in the same pass (see
    /// [`Snapshot::current`]): the inspection then hands every event to the gate.
    read: Option<Event>,
}

/// How the incoming changes broke the append-only rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Breach {
    /// The document has no case header (a new case must arrive with its header).
    MissingHeader,
    /// A header field was written, overwritten or removed.
    HeaderEdited { field: String },
    /// A top-level key other than header, events and attachments, or one of those replaced.
    RootEdited { key: String },
    /// An existing event was deleted.
    EventDeleted { event: EventId },
    /// A field of an existing event was written, overwritten or removed.
    EventEdited { event: EventId, field: String },
    /// A new event has a field written by another actor than the one that inserted it, or
    /// holds conflicting values.
    EventForged { event: String, field: String },
    /// A new entry in `events` does not decode as an event.
    BadEvent { index: usize, reason: String },
    /// A new case's header does not read: a field missing, of the wrong type, or not a plain
    /// scalar (a text object, a map, a counter).
    BadHeader { reason: String },
    /// A new attachment record does not read (it would make the case's attachments
    /// unreadable from then on).
    BadAttachment { index: usize, reason: String },
    /// An existing attachment record was edited or deleted.
    AttachmentEdited { index: usize },
}

impl Breach {
    /// A stable name for the broken rule, for error codes and logs.
    pub fn rule(&self) -> &'static str {
        match self {
            Breach::MissingHeader => "missing_header",
            Breach::HeaderEdited { .. } => "header_edited",
            Breach::RootEdited { .. } => "root_edited",
            Breach::EventDeleted { .. } => "event_deleted",
            Breach::EventEdited { .. } => "event_edited",
            Breach::EventForged { .. } => "event_forged",
            Breach::BadEvent { .. } => "bad_event",
            Breach::BadHeader { .. } => "bad_header",
            Breach::BadAttachment { .. } => "bad_attachment",
            Breach::AttachmentEdited { .. } => "attachment_edited",
        }
    }
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rule = self.rule();
        match self {
            Breach::MissingHeader => write!(f, "{rule}: a new case must arrive with its header"),
            Breach::HeaderEdited { field } => {
                write!(f, "{rule}: header field {field:?} was written")
            }
            Breach::RootEdited { key } => write!(f, "{rule}: top-level key {key:?} was written"),
            Breach::EventDeleted { event } => write!(f, "{rule}: event {event} was deleted"),
            Breach::EventEdited { event, field } => {
                write!(
                    f,
                    "{rule}: field {field:?} of existing event {event} was written"
                )
            }
            Breach::EventForged { event, field } => write!(
                f,
                "{rule}: field {field:?} of new event {event:?} is not one scalar written by the \
                 actor that inserted the event (a second actor, conflicting values, or an object \
                 or text where a scalar belongs)"
            ),
            Breach::BadEvent { index, reason } => write!(f, "{rule}: entry {index}: {reason}"),
            Breach::BadHeader { reason } => write!(f, "{rule}: the new case's header: {reason}"),
            Breach::BadAttachment { index, reason } => {
                write!(f, "{rule}: attachment {index}: {reason}")
            }
            Breach::AttachmentEdited { index } => {
                write!(f, "{rule}: attachment {index} was edited or deleted")
            }
        }
    }
}

/// A new event and the actor that wrote it. (The change that carried it is the document's to
/// name: `CaseDoc::changes_in_order`.)
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event: Event,
    pub actor: ActorId,
    /// Fields of the event map beyond schema 1's nine: a later release's.
    pub later_fields: Vec<String>,
}

/// What the incoming changes did.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub new_events: Vec<NewEvent>,
    /// Every event of the document after the changes, in list order, when each one was read
    /// on the way (the new ones by the inspection, the known ones by a snapshot taken with
    /// [`Snapshot::current`]): the gate folds them without reading the document again.
    pub events: Option<Vec<Event>>,
    /// Actors of all changes after the snapshot's heads.
    pub actors: BTreeSet<ActorId>,
    pub new_changes: usize,
    pub breaches: Vec<Breach>,
}

impl Inspection {
    pub fn is_clean(&self) -> bool {
        self.breaches.is_empty()
    }
}

/// The objects the incoming changes wrote to, read from the changes' own bytes before they
/// apply. An object no incoming operation names cannot have changed, so the inspection
/// compares only these with the snapshot: a new event on a case of fifty no longer reads the
/// other forty-nine again. Used only when every change the document gained is among those
/// read here (checked by hash in [`Snapshot::inspect_with`]); otherwise every object is
/// compared, as without it.
#[derive(Debug, Clone, Default)]
pub struct Touched {
    changes: HashSet<ChangeHash>,
    root: bool,
    objects: HashMap<ActorId, HashSet<u64>>,
}

impl Touched {
    /// At most this many bytes of changes are decoded: a larger message (a long history
    /// arriving at once) is compared whole, as decoding it would cost about as much.
    pub const MAX_BYTES: usize = 64 * 1024;

    /// The objects written by `chunks` (a sync message's changes), or `None` when one of
    /// them is not a single change (a whole document, a bundle) or does not decode, or
    /// there are more than [`Touched::MAX_BYTES`].
    pub fn of_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Option<Touched> {
        let mut out = Touched::default();
        let mut bytes = 0usize;
        for chunk in chunks {
            bytes += chunk.len();
            if bytes > Touched::MAX_BYTES {
                return None;
            }
            let change = automerge::Change::try_from(chunk).ok()?;
            out.changes.insert(change.hash());
            for op in change.decode().operations {
                match op.obj {
                    automerge::legacy::ObjectId::Root => out.root = true,
                    automerge::legacy::ObjectId::Id(automerge::legacy::OpId(counter, actor)) => {
                        out.objects.entry(actor).or_default().insert(counter);
                    }
                }
            }
        }
        Some(out)
    }

    /// Whether an incoming operation wrote to `obj`.
    fn touches(&self, obj: &ObjId) -> bool {
        match obj {
            ObjId::Root => self.root,
            ObjId::Id(counter, actor, _) => self
                .objects
                .get(actor)
                .is_some_and(|counters| counters.contains(counter)),
        }
    }
}

impl Snapshot {
    /// The snapshot of a document not yet in the store: everything in it will be new.
    pub fn empty() -> Snapshot {
        Snapshot::default()
    }

    /// The snapshot of a stored case.
    pub fn of(doc: &mut CaseDoc) -> Snapshot {
        let heads = doc.heads();
        Snapshot::current(doc.automerge_ref(), heads)
    }

    /// The snapshot of an automerge document as it stands, whose current heads are `heads`.
    /// Taken before the incoming changes are applied: reading the present state costs a
    /// fraction of reading an earlier one ([`Snapshot::at`] filters every operation by the
    /// old heads' clock), and each event is read in the same pass over its map.
    pub fn current(am: &AutoCommit, heads: Vec<ChangeHash>) -> Snapshot {
        let root = |k: &str| am.get(ROOT, k).ok().flatten().map(|(_, id)| id);
        let roots = [HEADER, EVENTS, ATTACHMENTS]
            .into_iter()
            .filter_map(|k| Some((k.to_owned(), root(k)?)))
            .collect();
        let fields_of = |obj: &ObjId| -> HashMap<String, ObjId> {
            am.map_range(obj, ..)
                .map(|item| (item.key.to_string(), item.id()))
                .collect()
        };
        let header = root(HEADER).map_or_else(HashMap::new, |h| fields_of(&h));
        let entries = |k: &str| -> Vec<ObjId> {
            root(k).map_or_else(Vec::new, |list| {
                am.list_range(&list, ..).map(|item| item.id()).collect()
            })
        };
        let attachments = entries(ATTACHMENTS)
            .into_iter()
            .map(|entry| {
                let fields = fields_of(&entry);
                (entry, fields)
            })
            .collect();
        let events = entries(EVENTS)
            .into_iter()
            .map(|entry| {
                let mut fields = HashMap::new();
                let mut read = EventFields::default();
                let mut readable = true;
                let mut id = String::new();
                for item in am.map_range(&entry, ..) {
                    let key = item.key.as_ref();
                    if key == "id" {
                        id = match &item.value {
                            automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(v)) => {
                                v.to_string()
                            }
                            _ => String::new(),
                        };
                    }
                    readable = readable && read.take(key, &item.value).is_ok();
                    fields.insert(key.to_owned(), item.id());
                }
                let read = readable.then(|| read.finish().ok()).flatten();
                let known = KnownEvent {
                    id: EventId::new(id),
                    fields,
                    read,
                };
                (entry, known)
            })
            .collect();
        Snapshot {
            heads,
            roots,
            header,
            events,
            attachments,
        }
    }

    /// The snapshot of an automerge document as it stood at `heads` (its current heads, or
    /// earlier ones: the receiver takes it only after a message changed the document).
    pub fn at(am: &AutoCommit, heads: Vec<ChangeHash>) -> Snapshot {
        let at = heads.as_slice();
        let root = |k: &str| am.get_at(ROOT, k, at).ok().flatten().map(|(_, id)| id);
        let roots = [HEADER, EVENTS, ATTACHMENTS]
            .into_iter()
            .filter_map(|k| Some((k.to_owned(), root(k)?)))
            .collect();
        let header = root(HEADER).map_or_else(HashMap::new, |h| field_ops(am, &h, at));
        let entries = |k: &str| -> Vec<ObjId> {
            root(k).map_or_else(Vec::new, |list| {
                am.list_range_at(&list, .., at)
                    .map(|item| item.id())
                    .collect()
            })
        };
        let attachments = entries(ATTACHMENTS)
            .into_iter()
            .map(|entry| {
                let fields = field_ops(am, &entry, at);
                (entry, fields)
            })
            .collect();
        let events = entries(EVENTS)
            .into_iter()
            .map(|entry| {
                let id = match am.get_at(&entry, "id", at) {
                    Ok(Some((v, _))) => v.to_str_lossy().to_owned(),
                    _ => String::new(),
                };
                let known = KnownEvent {
                    id: EventId::new(id),
                    fields: field_ops(am, &entry, at),
                    read: None,
                };
                (entry, known)
            })
            .collect();
        Snapshot {
            heads,
            roots,
            header,
            events,
            attachments,
        }
    }

    /// Compares the document after the incoming changes with this snapshot.
    pub fn inspect(&self, after: &mut AutoCommit) -> Inspection {
        self.inspect_with(after, None)
    }

    /// Like [`Snapshot::inspect`], comparing only the objects `touched` names when it
    /// accounts for every change the document gained.
    pub fn inspect_with(&self, after: &mut AutoCommit, touched: Option<&Touched>) -> Inspection {
        let mut out = Inspection::default();
        // Metadata only: rebuilding whole changes from the op set costs far more.
        let changes = after.get_changes_meta(&self.heads);
        out.new_changes = changes.len();
        out.actors = changes
            .iter()
            .map(|c| c.actor.clone().into_owned())
            .collect();
        let touched = touched.filter(|t| changes.iter().all(|c| t.changes.contains(&c.hash)));
        drop(changes);
        let written = |obj: &ObjId| touched.is_none_or(|t| t.touches(obj));
        let am: &AutoCommit = after;

        for key in am.keys(ROOT) {
            let values = am.get_all(ROOT, key.as_str()).unwrap_or_default();
            let known = [HEADER, EVENTS, ATTACHMENTS].contains(&key.as_str());
            let unchanged = match self.roots.get(&key) {
                Some(before) => values.len() == 1 && values[0].1 == *before,
                None => values.len() == 1 && known && self.roots.is_empty(),
            };
            if !unchanged {
                out.breaches.push(Breach::RootEdited { key });
            }
        }

        let header = match am.get(ROOT, HEADER) {
            Ok(Some((_, h))) => Some(h),
            _ => None,
        };
        match header {
            None => out.breaches.push(Breach::MissingHeader),
            Some(h) if !self.header.is_empty() => {
                if written(&h) {
                    compare_fields(am, &h, &self.header, |field| Breach::HeaderEdited { field })
                        .into_iter()
                        .for_each(|b| out.breaches.push(b));
                }
            }
            Some(h) => {
                // A new case: its header must be one actor's plain values, without conflicts.
                for key in am.keys(&h) {
                    if am.get_all(&h, key.as_str()).map_or(true, |v| v.len() != 1) {
                        out.breaches.push(Breach::HeaderEdited { field: key });
                    }
                }
                if let Some(field) = first_not_plain(am, &h) {
                    out.breaches.push(Breach::BadHeader {
                        reason: format!(
                            "field {field:?} is not a plain scalar (a text object, map or counter)"
                        ),
                    });
                }
            }
        }

        let listed = list_entries(am, ATTACHMENTS);
        let known: HashSet<&ObjId> = self.attachments.iter().map(|(entry, _)| entry).collect();
        for (index, entry) in listed.iter().enumerate() {
            if known.contains(entry) {
                continue;
            }
            if let Err(e) = crate::document::read_attachment(am, entry) {
                out.breaches.push(Breach::BadAttachment {
                    index,
                    reason: e.to_string(),
                });
            } else if let Some(field) = first_not_plain(am, entry) {
                out.breaches.push(Breach::BadAttachment {
                    index,
                    reason: format!("field {field:?} is not a plain scalar"),
                });
            }
        }
        let now: HashSet<ObjId> = listed.into_iter().collect();
        for (index, (entry, fields)) in self.attachments.iter().enumerate() {
            let edited = !now.contains(entry)
                || (written(entry)
                    && !compare_fields(am, entry, fields, |field| Breach::HeaderEdited { field })
                        .is_empty());
            if edited {
                out.breaches.push(Breach::AttachmentEdited { index });
            }
        }

        let events = match am.get(ROOT, EVENTS) {
            Ok(Some((_, e))) => e,
            _ => return out,
        };
        let mut present = HashSet::new();
        let mut in_order = Some(Vec::with_capacity(self.events.len() + 4));
        for (index, item) in am.list_range(&events, ..).enumerate() {
            let entry = item.id();
            if let Some(known) = self.events.get(&entry) {
                present.insert(entry.clone());
                if written(&entry) {
                    for b in
                        compare_fields(am, &entry, &known.fields, |field| Breach::EventEdited {
                            event: known.id.clone(),
                            field,
                        })
                    {
                        out.breaches.push(b);
                    }
                }
                in_order = in_order.and_then(|mut all: Vec<Event>| {
                    all.push(known.read.clone()?);
                    Some(all)
                });
                continue;
            }
            match new_event(am, &entry) {
                Ok(new) => {
                    if let Some(all) = in_order.as_mut() {
                        all.push(new.event.clone());
                    }
                    out.new_events.push(new)
                }
                Err(breach) => out.breaches.push(match breach {
                    Breach::BadEvent { reason, .. } => Breach::BadEvent { index, reason },
                    other => other,
                }),
            }
        }
        for (entry, known) in &self.events {
            if !present.contains(entry) {
                out.breaches.push(Breach::EventDeleted {
                    event: known.id.clone(),
                });
            }
        }
        out.events = in_order;
        out
    }
}

fn new_event(am: &AutoCommit, entry: &ObjId) -> Result<NewEvent, Breach> {
    let automerge::ObjId::Id(_, actor, _) = entry else {
        return Err(Breach::BadEvent {
            index: 0,
            reason: "not an object".into(),
        });
    };
    // One pass over the map: each field must be a single scalar written by the inserting
    // actor. Fields this release does not know are a later release's and are kept, within
    // a bound on their number and on the event's stored size.
    let mut label = String::new();
    let mut forged = None;
    let mut later_fields = Vec::new();
    let mut fields = 0usize;
    let mut size = 0usize;
    // The event is read in the same pass (as `read_event` would read it: its first error,
    // reported after the checks above it, as before).
    let mut read = EventFields::default();
    let mut unreadable = None;
    for item in am.map_range(entry, ..) {
        let key = item.key.as_ref();
        if unreadable.is_none() {
            if let Err(e) = read.take(key, &item.value) {
                unreadable = Some(e);
            }
        }
        fields += 1;
        size += key.len();
        if !EVENT_FIELDS.contains(&key) && later_fields.len() < crate::limits::EVENT_FIELDS {
            later_fields.push(key.to_owned());
        }
        if let ("id", automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(v))) =
            (key, &item.value)
        {
            label = v.to_string();
        }
        let plain = plain_size(&item.value);
        size += plain.unwrap_or(0);
        let own = matches!(item.id(), automerge::ObjId::Id(_, ref a, _) if a == actor);
        if forged.is_none() && (item.conflict || !own || plain.is_none()) {
            forged = Some(key.to_owned());
        }
    }
    if fields > crate::limits::EVENT_FIELDS || size > crate::limits::EVENT_BYTES {
        return Err(Breach::BadEvent {
            index: 0,
            reason: format!(
                "an event is at most {} fields and {} bytes ({fields} fields, {size} bytes given)",
                crate::limits::EVENT_FIELDS,
                crate::limits::EVENT_BYTES
            ),
        });
    }
    if let Some(field) = forged {
        return Err(Breach::EventForged {
            event: label,
            field,
        });
    }
    let event = match unreadable {
        Some(e) => Err(e),
        None => read.finish(),
    }
    .map_err(|e| Breach::BadEvent {
        index: 0,
        reason: e.to_string(),
    })?;
    Ok(NewEvent {
        event,
        actor: actor.clone(),
        later_fields,
    })
}

/// The stored size of a value that may stand in a case's maps: a string, number, boolean or
/// null. `None` for an object or text (a field is one scalar), a counter (its increments
/// would edit the field without a new operation, past the append-only check), bytes and
/// types automerge does not know.
fn plain_size(value: &automerge::ValueRef<'_>) -> Option<usize> {
    use automerge::ScalarValueRef as S;
    match value {
        automerge::ValueRef::Scalar(S::Str(v)) => Some(v.len()),
        automerge::ValueRef::Scalar(
            S::Int(_) | S::Uint(_) | S::F64(_) | S::Timestamp(_) | S::Boolean(_) | S::Null,
        ) => Some(8),
        _ => None,
    }
}

/// A new map (a case's header, an attachment record) whose fields are all plain scalars;
/// the first that is not, otherwise.
fn first_not_plain(am: &AutoCommit, obj: &ObjId) -> Option<String> {
    am.map_range(obj, ..)
        .find(|item| plain_size(&item.value).is_none())
        .map(|item| item.key.to_string())
}

fn list_entries(am: &AutoCommit, key: &str) -> Vec<ObjId> {
    match am.get(ROOT, key) {
        Ok(Some((_, list))) => am.list_range(&list, ..).map(|item| item.id()).collect(),
        _ => Vec::new(),
    }
}

/// The operation behind each field of a map at `heads` (the winning one; a conflict is caught
/// by `compare_fields` later, when there is more than one).
fn field_ops(am: &AutoCommit, obj: &ObjId, heads: &[ChangeHash]) -> HashMap<String, ObjId> {
    am.map_range_at(obj, .., heads)
        .map(|item| (item.key.to_string(), item.id()))
        .collect()
}

/// Every field must hold exactly the operation it held before, and no field may be added.
fn compare_fields(
    am: &AutoCommit,
    obj: &ObjId,
    before: &HashMap<String, ObjId>,
    breach: impl Fn(String) -> Breach,
) -> Vec<Breach> {
    let mut out = Vec::new();
    let mut seen = 0;
    for item in am.map_range(obj, ..) {
        let key = item.key.as_ref();
        let same = !item.conflict && before.get(key).is_some_and(|op| *op == item.id());
        if before.contains_key(key) {
            seen += 1;
        }
        if !same {
            out.push(breach(key.to_owned()));
        }
    }
    if seen < before.len() {
        // A field was removed: name each missing one.
        let now: BTreeSet<String> = am.keys(obj).collect();
        for key in before.keys().filter(|k| !now.contains(*k)) {
            out.push(breach(key.clone()));
        }
    }
    out
}
