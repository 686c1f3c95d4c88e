//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2>): the public intake channel
//! beside the hotline. Services come from the category catalog; a request becomes a case on
//! the `web` channel, opened by the `open311` user; its status and notes come from the fold.
//!
//! Every answer exists as JSON and as XML, chosen by the path's extension, with the fields,
//! element names and error format the specification gives. Personal data (name, email,
//! phone) is kept on the case for the center and never appears in an answer.

use crate::auth::{now_millis, Caller};
use crate::district_time::{iso, parse_iso, DAY};
use crate::error::Error;
use crate::routes::cases::{open_online, CreateCase};
use crate::summary::CaseSummary;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gridcase_sync_core::category::CaseKind;
use gridcase_sync_core::event::Channel;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::{limits, CaseId, Catalog, CategoryCode, Millis, UserId};

/// The user every Open311 request is filed as.
pub const USER: &str = "open311";
/// The api_key `--demo` accepts when none is configured.
pub const DEMO_KEY: &str = "demo-open311-key";
/// GeoReport v2's limits on `GET requests`.
const MAX_DAYS: i64 = 90;
const MAX_RESULTS: usize = 1_000;
/// The largest filing body: room for every field at its limit (`limits`), percent-encoded.
const MAX_FILING_BYTES: usize = 64 * 1024;

/// The answer format, named by the path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// Splits `services.json` into the name and its format.
fn split(file: &str) -> Result<(&str, Format), Failure> {
    let unknown = || {
        Failure::new(
            StatusCode::NOT_FOUND,
            Format::Json,
            format!("{file}: ask for .json or .xml"),
        )
    };
    let (name, ext) = file.rsplit_once('.').ok_or_else(unknown)?;
    let format = match ext {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return Err(unknown()),
    };
    if name.is_empty() {
        return Err(unknown());
    }
    Ok((name, format))
}

/// A value of an answer, its fields in the order the specification lists them.
enum V {
    Null,
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    Obj(Vec<(&'static str, V)>),
    /// A list; in XML each item is an element with this name.
    List(&'static str, Vec<V>),
}

fn s(text: impl Into<String>) -> V {
    V::Str(text.into())
}

fn opt(text: Option<String>) -> V {
    text.map_or(V::Null, V::Str)
}

impl V {
    fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            V::Null => Value::Null,
            V::Str(t) => Value::String(t.clone()),
            V::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            V::Int(n) => Value::from(*n),
            V::Bool(b) => Value::Bool(*b),
            V::Obj(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.json()))
                    .collect(),
            ),
            V::List(_, items) => Value::Array(items.iter().map(V::json).collect()),
        }
    }

    fn xml(&self, tag: &str, out: &mut String) {
        match self {
            V::Null => {
                out.push('<');
                out.push_str(tag);
                out.push_str("/>");
                return;
            }
            _ => {
                out.push('<');
                out.push_str(tag);
                out.push('>');
            }
        }
        match self {
            V::Null => {}
            V::Str(t) => escape(t, out),
            V::Num(n) => out.push_str(&n.to_string()),
            V::Int(n) => out.push_str(&n.to_string()),
            V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            V::Obj(fields) => fields.iter().for_each(|(k, v)| v.xml(k, out)),
            V::List(item, items) => items.iter().for_each(|v| v.xml(item, out)),
        }
        out.push_str("</");
        out.push_str(tag);
        out.push('>');
    }
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// An answer in the asked format; `root` names the XML document element.
fn answer(status: StatusCode, format: Format, root: &str, value: V) -> Response {
    let (body, kind) = match format {
        Format::Json => (value.json().to_string(), "application/json"),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            value.xml(root, &mut out);
            (out, "text/xml; charset=utf-8")
        }
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}

/// An error as GeoReport v2 has it: a list of (code, description).
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    description: String,
    format: Format,
    /// `Retry-After` of a refusal by the throttle.
    retry_after: Option<(header::HeaderName, HeaderValue)>,
}

impl Failure {
    fn new(status: StatusCode, format: Format, description: impl Into<String>) -> Failure {
        Failure {
            status,
            description: description.into(),
            format,
            retry_after: None,
        }
    }

    /// Our own errors, with their status (and `Retry-After`), in the asked format.
    fn of(e: Error, format: Format) -> Failure {
        let (status, _) = e.status_and_code();
        Failure {
            retry_after: e.retry_after(),
            ..Failure::new(status, format, e.to_string())
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let error = V::Obj(vec![
            ("code", V::Int(i64::from(self.status.as_u16()))),
            ("description", V::Str(self.description)),
        ]);
        let mut response = answer(
            self.status,
            self.format,
            "errors",
            V::List("error", vec![error]),
        );
        if let Some((name, value)) = self.retry_after {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

type Answer = std::result::Result<Response, Failure>;

/// The URL this server is reached at, for discovery.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/open311/v2/")
}

fn query_pairs(raw: Option<String>, format: Format) -> Result<Vec<(String, String)>, Failure> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, format, format!("query: {e}")))
}

/// Runs store work on a blocking thread; a panic there is a 500 in the asked format.
async fn blocking<T: Send + 'static>(
    format: Format,
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure::of(Error::internal(e), format))?
}

/// `GET /open311/v2/{discovery,services,requests}.{json,xml}`.
pub async fn get_root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Answer {
    let (name, format) = split(&file)?;
    match name {
        "discovery" => Ok(discovery(format, &headers)),
        "services" => Ok(services(format)),
        "requests" => {
            let pairs = query_pairs(raw, format)?;
            blocking(format, move || list_requests(&state, format, &pairs)).await
        }
        other => Err(Failure::new(
            StatusCode::NOT_FOUND,
            format,
            format!("no resource {other}"),
        )),
    }
}

/// `POST /open311/v2/requests.{json,xml}`: creates a case.
pub async fn post_root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    body: Bytes,
) -> Answer {
    let (name, format) = split(&file)?;
    if name != "requests" {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            format,
            format!("cannot post to {name}"),
        ));
    }
    if body.len() > MAX_FILING_BYTES {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format,
            format!("a request is at most {MAX_FILING_BYTES} bytes"),
        ));
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|e| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format,
            format!("the body must be application/x-www-form-urlencoded: {e}"),
        )
    })?;
    blocking(format, move || create_request(&state, format, &fields)).await
}

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

/// `GET /open311/v2/requests/{service_request_id}.{json,xml}`.
pub async fn get_request(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
    let (id, format) = split(&file)?;
    let id = id.to_owned();
    blocking(format, move || {
        let summary = find(&state, &id, format)?;
        let org = state.directory.org().map_err(|e| Failure::of(e, format))?;
        let record = request_record(&org, &summary);
        Ok(answer(
            StatusCode::OK,
            format,
            "service_requests",
            V::List("request", vec![record]),
        ))
    })
    .await
}

/// `GET /open311/v2/tokens/{token}.{json,xml}`. Requests are created at once, so a token is
/// the request's id.
pub async fn get_token(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
    let (token, format) = split(&file)?;
    let token = token.to_owned();
    blocking(format, move || {
        let summary = find(&state, &token, format)?;
        Ok(answer(
            StatusCode::OK,
            format,
            "service_requests",
            V::List(
                "request",
                vec![V::Obj(vec![
                    ("service_request_id", s(summary.id.clone())),
                    ("token", s(token)),
                ])],
            ),
        ))
    })
    .await
}

/// Only requests that came in through Open311 (the web channel) are answered: the hotline's
/// and the grid workers' cases carry descriptions typed by staff, which may name people.
fn public(summary: &CaseSummary) -> bool {
    summary.channel == Some(Channel::Web)
}

fn find(state: &AppState, id: &str, format: Format) -> Result<CaseSummary, Failure> {
    let id = CaseId::new(id);
    state
        .ledger
        .summary(&id)
        .map_err(|e| Failure::of(e, format))?
        .filter(public)
        .ok_or_else(|| {
            Failure::new(
                StatusCode::NOT_FOUND,
                format,
                format!("no service request {id}"),
            )
        })
}

fn discovery(format: Format, headers: &HeaderMap) -> Response {
    let changeset = "2026-11-26T00:00:00+08:00";
    let endpoint = V::Obj(vec![
        ("specification", s("http://wiki.open311.org/GeoReport_v2")),
        ("url", s(base_url(headers))),
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

fn services(format: Format) -> Response {
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

fn api_keys(state: &AppState) -> Vec<String> {
    if state.config.open311_keys.is_empty() && state.config.demo {
        return vec![DEMO_KEY.to_owned()];
    }
    state.config.open311_keys.clone()
}

fn create_request(state: &AppState, format: Format, fields: &[(String, String)]) -> Answer {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let bad = |text: String| Failure::new(StatusCode::BAD_REQUEST, format, text);
    let key = field("api_key")
        .ok_or_else(|| Failure::new(StatusCode::FORBIDDEN, format, "api_key is required"))?;
    if !api_keys(state).contains(&key) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            format,
            "the api_key is not valid",
        ));
    }
    // Every filing with a valid key counts, well-formed or not.
    state
        .throttle
        .open311_filing(&key)
        .map_err(|e| Failure::of(e, format))?;
    let code = field("service_code").ok_or_else(|| bad("service_code is required".into()))?;
    let service = CategoryCode::parse(&code)
        .and_then(|c| Catalog::standard().get(&c).copied())
        .ok_or_else(|| bad(format!("service_code {code} is not a service")))?;
    let number = |name: &str| -> Result<Option<f64>, Failure> {
        field(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| bad(format!("{name} is not a number")))
            })
            .transpose()
    };
    let (lat, long) = (number("lat")?, number("long")?);
    let Some((lat, long)) = lat.zip(long) else {
        return Err(bad(if field("address_string").is_some() {
            "this district does not geocode addresses: give lat and long".into()
        } else {
            "a location is required: lat and long".into()
        }));
    };
    let org = state.directory.org().map_err(|e| Failure::of(e, format))?;
    if org.grid_at(long, lat).is_none() {
        return Err(bad(format!(
            "the location {lat},{long} lies outside the district"
        )));
    }
    let mut description = field("description").unwrap_or_else(|| service.name.to_owned());
    if field("attribute[urgent]").as_deref() == Some("yes") {
        description.push_str(" [有人身危险 someone is in danger]");
    }
    if let Some(asset) = field("attribute[asset_id]") {
        description.push_str(&format!(" [部件编号 {asset}]"));
    }
    let name = [field("first_name"), field("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let contact = [field("email"), field("phone")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    // The same bounds the intake rule holds the case to, named as the requester wrote them.
    let address = field("address_string");
    for (what, text, max) in [
        (
            "attribute[asset_id]",
            field("attribute[asset_id]"),
            limits::NAME,
        ),
        (
            "description (with the attributes added)",
            Some(description.clone()),
            limits::DESCRIPTION,
        ),
        ("address_string", address.clone(), limits::ADDRESS),
        (
            "first_name and last_name",
            Some(name.clone()),
            limits::PERSON_NAME,
        ),
        ("email and phone", Some(contact.clone()), limits::CONTACT),
    ] {
        if let Some(text) = text {
            limits::check_text(what, &text, max).map_err(|v| bad(v.message))?;
        }
    }
    let user = state
        .directory
        .user(&UserId::new(USER))
        .map_err(|e| Failure::of(e, format))?
        .ok_or_else(|| {
            Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format,
                format!("the intake user {USER} is not set up"),
            )
        })?;
    let caller = Caller { user, device: None };
    let written = open_online(
        state,
        &caller,
        CreateCase {
            channel: Channel::Web,
            description,
            grid: None,
            coordinates: Some((long, lat)),
            address,
            category: Some(service.code().to_string()),
            reporter_name: (!name.is_empty()).then_some(name),
            reporter_contact: (!contact.is_empty()).then_some(contact),
        },
    )
    .map_err(|e| Failure::of(e, format))?;
    tracing::info!(case = %written.case, "Open311 request filed");
    Ok(answer(
        StatusCode::CREATED,
        format,
        "service_requests",
        V::List(
            "request",
            vec![V::Obj(vec![
                ("service_request_id", s(written.case)),
                (
                    "service_notice",
                    s("已受理, 待指挥中心确认 (received; the center confirms it next)"),
                ),
                ("account_id", V::Null),
            ])],
        ),
    ))
}

fn list_requests(state: &AppState, format: Format, pairs: &[(String, String)]) -> Answer {
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let bad = |text: String| Failure::new(StatusCode::BAD_REQUEST, format, text);
    let list = |name: &str| -> Vec<String> {
        param(name)
            .map(|v| v.split(',').map(|x| x.trim().to_owned()).collect())
            .unwrap_or_default()
    };
    let org = state.directory.org().map_err(|e| Failure::of(e, format))?;
    let mut records = Vec::new();
    let ids = list("service_request_id");
    if !ids.is_empty() {
        // Ids given: the other filters do not apply (GeoReport v2).
        for id in ids.iter().take(MAX_RESULTS) {
            let summary = state
                .ledger
                .summary(&CaseId::new(id.as_str()))
                .map_err(|e| Failure::of(e, format))?;
            if let Some(summary) = summary.filter(public) {
                records.push(request_record(&org, &summary));
            }
        }
        return Ok(requests_answer(format, records));
    }
    let date = |name: &str| -> Result<Option<Millis>, Failure> {
        param(name)
            .map(|v| parse_iso(v).ok_or_else(|| bad(format!("{name} is not an ISO 8601 date"))))
            .transpose()
    };
    let (start, end) = match (date("start_date")?, date("end_date")?) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s + MAX_DAYS * DAY),
        (None, Some(e)) => (e - MAX_DAYS * DAY, e),
        (None, None) => (now_millis() - MAX_DAYS * DAY, now_millis()),
    };
    if end < start {
        return Err(bad("end_date is before start_date".into()));
    }
    if end - start > MAX_DAYS * DAY {
        return Err(bad(format!(
            "start_date and end_date may be at most {MAX_DAYS} days apart"
        )));
    }
    // `end_date` is the latest datetime to include: a bare date includes its whole day.
    let end = if param("end_date").is_some_and(|v| v.len() == 10) {
        end + DAY
    } else {
        end + 1
    };
    let codes = list("service_code");
    let statuses = list("status");
    if let Some(s) = statuses.iter().find(|s| *s != "open" && *s != "closed") {
        return Err(bad(format!("status {s}: open or closed")));
    }
    // The index runs newest first: start at `end` rather than walking past newer cases.
    let from = (u64::MAX - u64::try_from(end.max(0)).unwrap_or(0))
        .to_be_bytes()
        .to_vec();
    for entry in state.ledger.index_scan("all", "", Some(from)) {
        let (_, id) = entry.map_err(|e| Failure::of(e, format))?;
        let Some(summary) = state
            .ledger
            .summary(&id)
            .map_err(|e| Failure::of(e, format))?
        else {
            continue;
        };
        // Newest first: past the start, nothing older can match.
        if summary.created_at < start {
            break;
        }
        if summary.created_at >= end || !public(&summary) {
            continue;
        }
        if !codes.is_empty() && !summary.category.as_ref().is_some_and(|c| codes.contains(c)) {
            continue;
        }
        if !statuses.is_empty() && !statuses.iter().any(|s| s == status_of(&summary)) {
            continue;
        }
        records.push(request_record(&org, &summary));
        if records.len() >= MAX_RESULTS {
            break;
        }
    }
    Ok(requests_answer(format, records))
}

fn requests_answer(format: Format, records: Vec<V>) -> Response {
    answer(
        StatusCode::OK,
        format,
        "service_requests",
        V::List("request", records),
    )
}

/// GeoReport v2 knows two statuses.
fn status_of(s: &CaseSummary) -> &'static str {
    match s.status {
        Some(status) if !status.is_open() => "closed",
        _ => "open",
    }
}

/// Where the case stands, for people: its status and step of the seven.
fn status_notes(s: &CaseSummary) -> String {
    match s.status {
        None => "received".into(),
        Some(status) => format!("{} (step {} of 7)", status.as_str(), s.step),
    }
}

/// One request as GeoReport v2 lists it, without any personal data.
fn request_record(org: &Org, case: &CaseSummary) -> V {
    let catalog = Catalog::standard();
    let service = case
        .category
        .as_deref()
        .and_then(CategoryCode::parse)
        .and_then(|c| catalog.get(&c));
    let agency = case
        .unit
        .as_deref()
        .and_then(|u| org.units.get(&u.into()))
        .map(|u| u.name.clone());
    let (lat, long) = match case.coordinates {
        Some((long, lat)) => (V::Num(lat), V::Num(long)),
        None => (V::Null, V::Null),
    };
    V::Obj(vec![
        ("service_request_id", s(case.id.clone())),
        ("status", s(status_of(case))),
        ("status_notes", s(status_notes(case))),
        ("service_name", opt(service.map(|c| c.name.to_owned()))),
        ("service_code", opt(case.category.clone())),
        ("description", s(case.description.clone())),
        ("agency_responsible", opt(agency)),
        ("service_notice", V::Null),
        ("requested_datetime", s(iso(case.created_at))),
        ("updated_datetime", s(iso(case.updated_at))),
        ("expected_datetime", opt(case.deadline.map(iso))),
        ("address", opt(case.address.clone())),
        ("address_id", V::Null),
        ("zipcode", V::Null),
        ("lat", lat),
        ("long", long),
        ("media_url", V::Null),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped_and_nulls_are_empty_elements() {
        let v = V::List(
            "request",
            vec![V::Obj(vec![
                ("description", s("<b>\"A&B\"</b>\u{1}")),
                ("address", V::Null),
                ("lat", V::Num(39.9)),
            ])],
        );
        let mut out = String::new();
        v.xml("service_requests", &mut out);
        assert_eq!(
            out,
            "<service_requests><request><description>&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;</description><address/><lat>39.9</lat></request></service_requests>"
        );
        assert_eq!(
            v.json().to_string(),
            r#"[{"address":null,"description":"<b>\"A&B\"</b>\u0001","lat":39.9}]"#
        );
    }
}
