//! The published contract of a case document, for programs written against it in any
//! language: a JSON Schema (draft 2020-12) generated from the Rust types that read and write
//! it, with the document layout, every event kind's payload, the rule table and the notice
//! codes. The server serves it (`GET /v1/schema/case-document.json`); the repository keeps a
//! copy (`schema/case-document.schema.json`) that a test holds equal to [`case_document`].
//!
//! A case document is an automerge document. The schema describes its JSON view (what
//! automerge's `toJS` or `hydrate` gives), annotated with the automerge scalar type each
//! leaf must have (`x-automerge`): `str` (a plain string scalar, never a text object),
//! `int`, `uint`. Fields holding JSON text say so (`contentMediaType`) and name the schema
//! of the text (`contentSchema`).

use crate::document::SCHEMA;
use crate::event::ActionKind;
use crate::rules::{From, RULES};
use serde_json::{json, Map, Value};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

/// The `$id` of the document schema of this release.
pub fn id() -> String {
    format!("urn:gridcase:case-document:{SCHEMA}")
}

fn add<T: ToSchema>(defs: &mut Map<String, Value>) {
    let mut deps: Vec<(String, RefOr<Schema>)> = Vec::new();
    T::schemas(&mut deps);
    deps.push((T::name().into_owned(), T::schema()));
    for (name, schema) in deps {
        if let Ok(value) = serde_json::to_value(schema) {
            defs.insert(name, value);
        }
    }
}

/// The schemas of the domain types under their Rust names, references pointing at `$defs`
/// (OpenAPI's `#/components/schemas/` rewritten). `Millis` is an `i64` alias, which the
/// derive names `i64`; it is published as `Millis`.
pub fn type_defs() -> Map<String, Value> {
    let mut defs = Map::new();
    add::<crate::event::Event>(&mut defs);
    add::<crate::event::Action>(&mut defs);
    add::<crate::fold::CaseState>(&mut defs);
    add::<crate::document::Header>(&mut defs);
    add::<crate::document::Attachment>(&mut defs);
    defs.insert("Millis".into(), millis());
    let text = Value::Object(defs)
        .to_string()
        .replace("#/components/schemas/i64", "#/$defs/Millis")
        .replace("#/components/schemas/", "#/$defs/");
    match serde_json::from_str(&text) {
        Ok(Value::Object(mut defs)) => {
            defs.remove("i64");
            defs
        }
        _ => Map::new(),
    }
}

/// The bounds of the fields people fill in (`limits`), in characters unless named otherwise.
fn limits() -> Value {
    use crate::limits::*;
    json!({
        "description": DESCRIPTION, "note": NOTE, "address": ADDRESS,
        "person_name": PERSON_NAME, "contact": CONTACT, "reason": REASON,
        "suggestion": SUGGESTION, "id": ID, "blob_ref": BLOB_REF, "media_url": MEDIA_URL,
        "photos_per_event": PHOTOS, "units_per_filing": UNITS, "file_name": FILE_NAME,
        "mime": MIME, "extend_hours": EXTEND_HOURS, "time_min_ms": TIME_MIN,
        "time_max_ms": TIME_MAX, "event_fields": EVENT_FIELDS, "event_bytes": EVENT_BYTES,
    })
}

fn millis() -> Value {
    json!({
        "type": "integer",
        "format": "int64",
        "description": "Milliseconds since 1970-01-01T00:00:00Z."
    })
}

/// Each event kind's payload schema, read out of the `Action` schema (one `oneOf` branch
/// per kind, `{kind, payload}`).
fn payloads(defs: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let branches = defs
        .get("Action")
        .and_then(|a| a.get("oneOf"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for branch in branches {
        let kind = branch
            .pointer("/properties/kind/enum/0")
            .and_then(Value::as_str);
        let payload = branch.pointer("/properties/payload");
        if let (Some(kind), Some(payload)) = (kind, payload) {
            if ActionKind::parse(kind).is_some() {
                out.insert(kind.to_owned(), payload.clone());
            }
        }
    }
    out
}

fn text(description: &str) -> Value {
    json!({ "type": "string", "x-automerge": "str", "description": description })
}

fn id_text(description: &str) -> Value {
    json!({
        "type": "string",
        "x-automerge": "str",
        "pattern": "^[0-9a-f]{32}$",
        "description": description
    })
}

fn json_text(description: &str, schema: Value) -> Value {
    json!({
        "type": "string",
        "x-automerge": "str",
        "contentMediaType": "application/json",
        "contentSchema": schema,
        "description": description
    })
}

/// The rule table: for each kind, who may write it and in which statuses.
fn rule_table() -> Value {
    let rows: Vec<Value> = RULES
        .iter()
        .filter(|r| r.kind != ActionKind::Unknown)
        .map(|r| {
            let from = match r.from {
                From::Nothing => json!("no case yet (the first event)"),
                From::Any => json!("any status"),
                From::Open => json!("any open status"),
                From::These(statuses) => {
                    json!(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>())
                }
            };
            json!({
                "kind": r.kind.as_str(),
                "who": r.who.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                "from": from,
                "transition": r.transition,
            })
        })
        .collect();
    let mut parties = Map::new();
    for p in RULES.iter().flat_map(|r| r.who.iter()) {
        parties.insert(p.as_str().into(), json!(p.meaning()));
    }
    let open: Vec<&str> = crate::rules::Status::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.as_str())
        .collect();
    json!({ "parties": parties, "open_statuses": open, "rows": rows })
}

/// The JSON Schema of a case document of this release.
pub fn case_document() -> Value {
    let mut defs = type_defs();
    let payloads = payloads(&defs);
    let kinds: Vec<&str> = payloads.keys().map(String::as_str).collect();
    let by_kind: Vec<Value> = payloads
        .keys()
        .map(|kind| {
            json!({
                "if": { "properties": { "kind": { "const": kind } }, "required": ["kind"] },
                "then": { "properties": { "payload": {
                    "contentSchema": { "$ref": format!("#/$defs/payloads/{kind}") }
                } } }
            })
        })
        .collect();
    let stored_event = json!({
        "type": "object",
        "description": format!("One event, appended to `events` by its author's device in one automerge \
            change that also writes every field below. Never edited or deleted. Fields this \
            release does not know may follow (a later release's); they must be plain scalars \
            (string, number, boolean, null; never an object, text or counter) written in the \
            same change. At most {} fields and {} bytes (keys and values).",
            crate::limits::EVENT_FIELDS, crate::limits::EVENT_BYTES),
        "required": crate::document::EVENT_FIELDS,
        "properties": {
            "id": id_text("The event id: a UUIDv7 as 32 lowercase hex digits, no dashes. Unique across all devices."),
            "kind": {
                "type": "string",
                "x-automerge": "str",
                "description": "The event kind. A reader keeps and shows a kind it does not know, without effect (`x-gridcase-known-kinds` lists this release's).",
            },
            "author": text("The user id of the author (the signed-in user)."),
            "device": text("The device id the author wrote on (as registered with POST /v1/devices)."),
            "role": { "allOf": [{ "$ref": "#/$defs/Role" }], "x-automerge": "str", "description": "The author's role when writing, as the device knew it." },
            "scope": json_text("The author's scope when writing, as JSON text.", json!({ "$ref": "#/$defs/Scope" })),
            "at": { "type": "integer", "x-automerge": "int", "description": "Device time, milliseconds since the epoch (signed 64-bit). Orders ties only; device clocks drift." },
            "parents": json_text(
                "The ids of the events the author had seen that no other seen event names as a parent (the frontier), sorted, as a JSON array. The first event of a case has [].",
                json!({ "type": "array", "items": { "$ref": "#/$defs/EventId" }, "uniqueItems": true }),
            ),
            "payload": json_text(
                "The kind's payload as JSON text (see `$defs/payloads/<kind>`). Fields a reader does not know are ignored and kept.",
                json!({ "type": "object" }),
            ),
        },
        "additionalProperties": {
            "type": ["string", "integer", "number", "boolean", "null"],
            "description": "A later release's field: a scalar."
        },
        "allOf": by_kind,
    });
    let stored_attachment = json!({
        "type": "object",
        "description": "Metadata of a photo or file; the bytes travel separately (PUT/GET /v1/blobs/{sha256}). Written in the same change as the event that brings it.",
        "required": ["sha256", "mime", "size", "event", "author"],
        "properties": {
            "sha256": { "type": "string", "x-automerge": "str", "pattern": "^[0-9a-f]{64}$" },
            "mime": text("The media type, at most 100 characters."),
            "size": { "type": "integer", "minimum": 0, "x-automerge": "uint", "description": "Bytes (unsigned; an int is read too)." },
            "name": text("The file name, at most 255 characters; absent when unknown."),
            "event": id_text("The event that brought it."),
            "author": text("Its author's user id."),
        },
    });
    let header = json!({
        "type": "object",
        "description": "Written once, in the case's first change together with its intake event; never edited.",
        "required": ["schema", "case", "created_by", "device", "created_at"],
        "properties": {
            "schema": { "type": "integer", "const": SCHEMA, "x-automerge": "uint", "description": "The document layout version. A reader refuses a later one (notice `newer_schema`)." },
            "case": id_text("The case id: a UUIDv7 as 32 lowercase hex digits, no dashes."),
            "created_by": text("The user id of the intake's author."),
            "device": text("The device id the case was created on."),
            "created_at": { "type": "integer", "x-automerge": "int", "description": "The intake's device time, milliseconds since the epoch." },
        },
    });
    defs.insert("StoredEvent".into(), stored_event);
    defs.insert("StoredAttachment".into(), stored_attachment);
    defs.insert("StoredHeader".into(), header);
    defs.insert("payloads".into(), Value::Object(payloads.clone()));
    let notices: Map<String, Value> = crate::sync::NOTICE_CODES
        .iter()
        .map(|(code, meaning)| ((*code).to_owned(), json!(meaning)))
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id(),
        "title": format!("gridcase case document, schema {SCHEMA}"),
        "description": "The JSON view of a gridcase case: an automerge document with an immutable header and two append-only lists. Everything else about a case (status, assignment, deadline, conflicts) is derived by folding the events (`$defs/CaseState` is the result). `x-automerge` names the automerge scalar type of a leaf; strings are always plain scalars (automerge `str`), never text objects. Every change's time is its first event's `at` in whole seconds. See schema/README.md for the pitfalls of other automerge implementations.",
        "type": "object",
        "required": ["header", "events", "attachments"],
        "properties": {
            "header": { "$ref": "#/$defs/StoredHeader" },
            "events": { "type": "array", "items": { "$ref": "#/$defs/StoredEvent" }, "description": "Append-only, in merge order (the fold orders them causally by `parents`)." },
            "attachments": { "type": "array", "items": { "$ref": "#/$defs/StoredAttachment" }, "description": "Append-only." },
        },
        "additionalProperties": false,
        "x-gridcase-known-kinds": kinds,
        "x-gridcase-rules": rule_table(),
        "x-gridcase-notice-codes": notices,
        "x-gridcase-limits": limits(),
        "$defs": defs,
    })
}

/// The `$ref`s of a JSON (Schema or OpenAPI) document that do not resolve inside it: what a
/// published document must never have. A reference outside the document counts as one.
pub fn unresolved_references(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, doc: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    let found = r.strip_prefix('#').and_then(|p| doc.pointer(p));
                    if found.is_none() {
                        out.push(r.clone());
                    }
                }
                m.values().for_each(|x| walk(x, doc, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, doc, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, doc, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reference resolves inside the document, and every kind has its payload.
    #[test]
    fn the_schema_is_whole() {
        let schema = case_document();
        assert!(schema.to_string().contains("\"$ref\""));
        assert_eq!(unresolved_references(&schema), Vec::<String>::new());
        let broken = json!({ "a": { "$ref": "#/$defs/Nowhere" }, "$defs": {} });
        assert_eq!(unresolved_references(&broken), ["#/$defs/Nowhere"]);
        for kind in ActionKind::ALL
            .iter()
            .filter(|k| **k != ActionKind::Unknown)
        {
            assert!(
                schema.pointer(&format!("/$defs/payloads/{kind}")).is_some(),
                "no payload schema for {kind}"
            );
        }
    }
}
