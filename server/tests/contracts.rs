//! The published contracts stay what the code does: the repository's copy of the case
//! document schema is the one the server serves, the examples beside it are the golden cases,
//! and every reference in the OpenAPI document resolves to a real schema (no bare objects
//! where a type is known).
//!
//! After changing a type on purpose, `GRIDCASE_SCHEMA_WRITE=1 cargo test -p gridcase-server
//! --test contracts` rewrites `schema/case-document.schema.json` and the examples; review the
//! diff like code (removing or retyping a field breaks every client written against it).

use gridcase_server::routes::ops::ApiDoc;
use gridcase_sync_core::store::decode_snapshot;
use gridcase_sync_core::CaseDoc;
use serde_json::Value;
use std::path::{Path, PathBuf};
use utoipa::OpenApi;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn writing() -> bool {
    std::env::var_os("GRIDCASE_SCHEMA_WRITE").is_some()
}

/// Compares a generated file with the repository's copy (or writes it, on request).
fn same_as_repository(path: &Path, generated: &str) {
    if writing() {
        std::fs::write(path, generated).expect("write");
        return;
    }
    let kept = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        kept == generated,
        "{} is not what this release generates: rerun with GRIDCASE_SCHEMA_WRITE=1 and review the diff",
        path.display()
    );
}

#[test]
fn the_repository_schema_is_the_served_one() {
    let generated = serde_json::to_string_pretty(&gridcase_sync_core::schema::case_document())
        .expect("schema")
        + "\n";
    same_as_repository(&repo().join("schema/case-document.schema.json"), &generated);
}

/// Examples of real documents, as another automerge implementation reads them.
#[test]
fn the_examples_are_the_golden_cases() {
    for name in [
        "v1-lifecycle",
        "v1-attachments",
        "v1-conflicts",
        "v1-later-release",
    ] {
        let bytes = std::fs::read(repo().join(format!("sync-core/tests/golden/{name}.automerge")))
            .expect("golden case");
        let doc = CaseDoc::from_automerge(decode_snapshot(&bytes).expect("loads")).expect("case");
        let generated = serde_json::to_string_pretty(&doc.json_view()).expect("json") + "\n";
        same_as_repository(
            &repo().join(format!("schema/examples/{name}.json")),
            &generated,
        );
    }
}

#[test]
fn every_openapi_reference_resolves_and_the_case_types_are_described() {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("openapi");
    assert_eq!(
        gridcase_sync_core::schema::unresolved_references(&doc),
        Vec::<String>::new()
    );
    let schema = |name: &str| doc.pointer(&format!("/components/schemas/{name}")).cloned();
    for name in [
        "Action",
        "Event",
        "CaseState",
        "CaseView",
        "HistoryEntry",
        "Intake",
        "Scope",
    ] {
        assert!(
            schema(name).is_some(),
            "{name} is not in the OpenAPI components"
        );
    }
    let view = schema("CaseView").expect("CaseView");
    assert_eq!(
        view.pointer("/properties/state/$ref")
            .and_then(Value::as_str),
        Some("#/components/schemas/CaseState")
    );
    let body = doc
        .pointer("/paths/~1v1~1cases~1{id}~1events/post/requestBody/content/application~1json/schema/$ref")
        .and_then(Value::as_str);
    assert_eq!(body, Some("#/components/schemas/Action"));
}
