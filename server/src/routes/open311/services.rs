//! What Open311 offers: the discovery document, the services (one a small category of the
//! 部件/事件 catalog) and a service's definition, the attributes a requester may answer.

use super::write::{answer, s, split, Answer, Failure, Format, V};
use crate::AppState;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use gridcase_sync_core::category::CaseKind;
use gridcase_sync_core::{Catalog, CategoryCode};

/// `GET /open311/v2/services/{service_code}.{json,xml}`: the service definition.
pub async fn get_service(Path(file): Path<String>) -> Answer {
    let (code, format) = split(&file)?;
    let category = CategoryCode::parse(code)
        .and_then(|c| Catalog::standard().get(&c).map(|s| (c, *s)))
        .ok_or_else(|| Failure::new(StatusCode::NOT_FOUND, format, format!("no service {code}")))?;
    Ok(answer(
        StatusCode::OK,
        format,
        "service_definition",
        V::Obj(vec![
            ("service_code", s(category.0.to_string())),
            (
                "attributes",
                V::List("attribute", attributes(category.1.kind)),
            ),
        ]),
    ))
}

/// `GET discovery`: where the endpoint is (the configured base URL), its changeset and formats,
/// and who issues api_keys.
pub(super) fn discovery(format: Format, state: &AppState) -> Response {
    let changeset = "2026-11-26T00:00:00+08:00";
    let endpoint = V::Obj(vec![
        ("specification", s("http://wiki.open311.org/GeoReport_v2")),
        // Configured, never taken from the request's `Host` (anyone may write that).
        ("url", s(format!("{}/open311/v2/", state.config.base_url()))),
        ("changeset", s(changeset)),
        ("type", s("production")),
        (
            "formats",
            V::List("format", vec![s("text/xml"), s("application/json")]),
        ),
    ]);
    answer(
        StatusCode::OK,
        format,
        "discovery",
        V::Obj(vec![
            ("changeset", s(changeset)),
            (
                "contact",
                s("The district's city management center (12345)"),
            ),
            (
                "key_service",
                s("api_keys are issued by the district's administrator"),
            ),
            ("endpoints", V::List("endpoint", vec![endpoint])),
        ]),
    )
}

/// `GET services`: every small category of the catalog is a service, grouped by its big
/// category, with a definition (`metadata`) that [`attributes`] gives.
pub(super) fn services(format: Format) -> Response {
    let catalog = Catalog::standard();
    let list = catalog
        .small_categories()
        .iter()
        .map(|small| {
            let big = catalog
                .big_categories()
                .iter()
                .find(|b| b.kind == small.kind && b.code == small.big);
            V::Obj(vec![
                ("service_code", s(small.code().to_string())),
                ("service_name", s(small.name)),
                (
                    "description",
                    s(format!(
                        "{} ({}): {}",
                        small.name,
                        small.kind.name(),
                        small.name_en
                    )),
                ),
                ("metadata", V::Bool(true)),
                ("type", s("realtime")),
                ("keywords", s(small.name_en)),
                ("group", s(big.map_or("", |b| b.name))),
            ])
        })
        .collect();
    answer(StatusCode::OK, format, "services", V::List("service", list))
}

/// The questions a requester may answer: whether anyone is in danger, and for a facility
/// (部件) the number painted on it.
fn attributes(kind: CaseKind) -> Vec<V> {
    let mut list = vec![V::Obj(vec![
        ("variable", V::Bool(true)),
        ("code", s("urgent")),
        ("datatype", s("singlevaluelist")),
        ("required", V::Bool(false)),
        ("datatype_description", s("yes or no")),
        ("order", V::Int(1)),
        (
            "description",
            s("是否有人身危险? Is anyone in danger right now?"),
        ),
        (
            "values",
            V::List(
                "value",
                vec![
                    V::Obj(vec![("key", s("yes")), ("name", s("是 yes"))]),
                    V::Obj(vec![("key", s("no")), ("name", s("否 no"))]),
                ],
            ),
        ),
    ])];
    if kind == CaseKind::Component {
        list.push(V::Obj(vec![
            ("variable", V::Bool(true)),
            ("code", s("asset_id")),
            ("datatype", s("string")),
            ("required", V::Bool(false)),
            (
                "datatype_description",
                s("the number painted on the facility"),
            ),
            ("order", V::Int(2)),
            ("description", s("部件编号, if you can read it")),
        ]));
    }
    list
}
