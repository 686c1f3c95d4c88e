//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2>): the public intake channel
//! beside the hotline. Services come from the category catalog; a request becomes a case on
//! the `web` channel, opened by the `open311` user; its status and notes come from the fold.
//!
//! Every answer exists as JSON and as XML, chosen by the path's extension, with the fields,
//! element names and error format the specification gives. Personal data (name, email,
//! phone) is kept on the case for the center and never appears in an answer, and neither do
//! the notes staff write: a request's `status_notes` and an update's `description` are
//! phrases made from its status and decline reason.
//!
//! A request is located by `lat` and `long`, or by an `address_string` or `address_id` of the
//! district's address register ([`crate::addresses`]). Besides GeoReport v2 itself, the
//! server answers mySociety's `servicerequestupdates` (the extension FixMyStreet follows cases
//! with): the status changes of public requests, by the time the server received them.

use crate::addresses::Lookup;
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
use gridcase_sync_core::event::{Channel, DeclineReason};
use gridcase_sync_core::org::Org;
use gridcase_sync_core::{limits, CaseId, Catalog, CategoryCode, Millis, Status, UserId};
use std::collections::HashMap;

/// The user every Open311 request is filed as.
pub const USER: &str = "open311";
/// The api_key `--demo` accepts when none is configured.
pub const DEMO_KEY: &str = "demo-open311-key";
/// GeoReport v2's limits on `GET requests` (and ours on `GET servicerequestupdates`): a range
/// of at most 90 days, at most 1,000 answers.
const MAX_DAYS: i64 = 90;
const MAX_RESULTS: usize = 1_000;
/// The most updates one `GET servicerequestupdates` answers, oldest first: a client that gets
/// this many asks again from the last one's `updated_datetime`.
const MAX_UPDATES: usize = 1_000;
/// The range `GET servicerequestupdates` covers without a `start_date`: the day before its end.
const UPDATES_DEFAULT_DAYS: i64 = 1;
/// GeoReport v2: a description is "free form text limited to 4,000 characters".
const DESCRIPTION_CHARS: usize = 4_000;
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

/// Whether XML 1.0 can carry a character at all (its `Char` production): not the C0 controls
/// but tab, line feed and carriage return, not U+FFFE and U+FFFF (surrogates are no `char`).
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Text as XML character data. A character XML 1.0 cannot carry becomes U+FFFD: filings refuse
/// them, but a case's text may have come another way (a handheld, the console).
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A parser would read a bare CR as a line feed.
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            _ => out.push(char::REPLACEMENT_CHARACTER),
        }
    }
}

/// An answer in the asked format; `root` names the XML document element.
fn answer(status: StatusCode, format: Format, root: &str, value: V) -> Response {
    let (body, kind) = match format {
        Format::Json => (value.json().to_string(), "application/json; charset=utf-8"),
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

fn query_pairs(raw: Option<String>, format: Format) -> Result<Vec<(String, String)>, Failure> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, format, format!("query: {e}")))
}

/// The parameters of a request (its query string, and a filing's body), read as GeoReport v2
/// has them: an empty value is no value ("Optional Arguments"); the list-valued parameters
/// (`lists`, and a name ending in `[]`) take every value they are given, as if comma-joined;
/// any other parameter given twice with different values is refused rather than read as one
/// of them.
struct Params(Vec<(String, String)>);

/// The list-valued parameters of `GET requests` (comma-separated, "can be declared multiple
/// times"). A filing has none: its `service_code` names one service.
const LISTS: &[&str] = &["service_request_id", "service_code", "status"];

/// Parameters one request may give: GeoReport v2 names about fifteen, and a service's
/// attributes a few more. A bound before any work, on an endpoint anyone may call.
const MAX_PARAMS: usize = 100;

impl Params {
    fn new(
        pairs: Vec<(String, String)>,
        lists: &[&str],
        format: Format,
    ) -> Result<Params, Failure> {
        if pairs.len() > MAX_PARAMS {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                format,
                format!("at most {MAX_PARAMS} parameters ({} given)", pairs.len()),
            ));
        }
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k, v.trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let mut first: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        for (name, value) in &pairs {
            if lists.contains(&name.as_str()) || name.ends_with("[]") {
                continue;
            }
            if first.entry(name).or_insert(value) != value {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    format,
                    format!("{name} is given more than once, with different values"),
                ));
            }
        }
        Ok(Params(pairs))
    }

    /// A single-valued parameter.
    fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A list-valued parameter: every value given, split at commas.
    fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The first value, if any, that XML 1.0 cannot carry (and so no answer could show).
    fn unwritable(&self) -> Option<(&str, char)> {
        self.0
            .iter()
            .find_map(|(k, v)| v.chars().find(|c| !xml_char(*c)).map(|c| (k.as_str(), c)))
    }
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

/// `GET /open311/v2/{discovery,services,requests,servicerequestupdates}.{json,xml}`.
pub async fn get_root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let (name, format) = split(&file)?;
    match name {
        "discovery" => Ok(discovery(format, &state)),
        "services" => Ok(services(format)),
        "requests" => {
            let params = Params::new(query_pairs(raw, format)?, LISTS, format)?;
            blocking(format, move || list_requests(&state, format, &params)).await
        }
        "servicerequestupdates" => {
            let params = Params::new(query_pairs(raw, format)?, &[], format)?;
            blocking(format, move || list_updates(&state, format, &params)).await
        }
        other => Err(Failure::new(
            StatusCode::NOT_FOUND,
            format,
            format!("no resource {other}"),
        )),
    }
}

/// `POST /open311/v2/requests.{json,xml}`: creates a case. The fields come as
/// `application/x-www-form-urlencoded` (the specification's) or `multipart/form-data` (text
/// fields only), and from the query string (where some clients put the `api_key`).
pub async fn post_root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
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
    // Past the server's body limit, axum has refused it already.
    if body.len() > MAX_FILING_BYTES {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format,
            format!(
                "a request is at most {} KiB (a description at most {DESCRIPTION_CHARS} \
                 characters)",
                MAX_FILING_BYTES / 1024
            ),
        ));
    }
    let mut fields = query_pairs(raw, format)?;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if kind
        .get(..19)
        .is_some_and(|k| k.eq_ignore_ascii_case("multipart/form-data"))
    {
        fields.extend(multipart_fields(kind, body, format).await?);
    } else {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|e| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format,
                format!("the body must be application/x-www-form-urlencoded: {e}"),
            )
        })?;
        fields.extend(form);
    }
    let params = Params::new(fields, &[], format)?;
    blocking(format, move || create_request(&state, format, &params)).await
}

/// The text fields of a `multipart/form-data` filing. A file part is refused: GeoReport v2
/// takes a picture as a link (`media_url`), not as bytes.
async fn multipart_fields(
    kind: &str,
    body: Bytes,
    format: Format,
) -> Result<Vec<(String, String)>, Failure> {
    let bad = |text: String| Failure::new(StatusCode::BAD_REQUEST, format, text);
    let boundary =
        multer::parse_boundary(kind).map_err(|e| bad(format!("multipart/form-data: {e}")))?;
    let body = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut parts = multer::Multipart::new(body, boundary);
    let mut fields = Vec::new();
    while let Some(part) = parts
        .next_field()
        .await
        .map_err(|e| bad(format!("multipart/form-data: {e}")))?
    {
        let name = part
            .name()
            .map(str::to_owned)
            .ok_or_else(|| bad("multipart/form-data: a part has no name".into()))?;
        let text = part.content_type().is_none_or(|m| m.type_() == "text");
        if part.file_name().is_some() || !text {
            return Err(bad(format!(
                "{name}: files are not accepted; publish the picture and give its address as \
                 media_url"
            )));
        }
        let bytes = part
            .bytes()
            .await
            .map_err(|e| bad(format!("multipart/form-data: {e}")))?;
        let value =
            String::from_utf8(bytes.to_vec()).map_err(|_| bad(format!("{name} is not UTF-8")))?;
        fields.push((name, value));
    }
    Ok(fields)
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
        let record = request_record(&org, &summary, &shown_duplicate(&state, &summary));
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

fn discovery(format: Format, state: &AppState) -> Response {
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

fn create_request(state: &AppState, format: Format, params: &Params) -> Answer {
    let field = |name: &str| params.one(name).map(str::to_owned);
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
    // Every answer must be able to show what is filed.
    if let Some((name, c)) = params.unwritable() {
        return Err(bad(format!(
            "{name} contains the character U+{:04X}, which XML 1.0 cannot carry",
            u32::from(c)
        )));
    }
    let code = field("service_code").ok_or_else(|| bad("service_code is required".into()))?;
    let service = CategoryCode::parse(&code)
        .and_then(|c| Catalog::standard().get(&c).copied())
        .ok_or_else(|| {
            Failure::new(
                StatusCode::NOT_FOUND,
                format,
                format!("service_code {code} not found (GET services lists them)"),
            )
        })?;
    let org = state.directory.org().map_err(|e| Failure::of(e, format))?;
    let place = locate(state, &org, params, format)?;
    if let Some(d) = field("description") {
        limits::check_text("description", &d, DESCRIPTION_CHARS).map_err(|v| bad(v.message))?;
    }
    let media_url = field("media_url");
    if let Some(url) = &media_url {
        limits::check_text("media_url", url, limits::MEDIA_URL).map_err(|v| bad(v.message))?;
        // As the intake rule has it (`limits::check_intake`).
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(bad("media_url must be an http or https URL".into()));
        }
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
            grid: place.grid,
            coordinates: place.coordinates,
            address: place.address,
            category: Some(service.code().to_string()),
            reporter_name: (!name.is_empty()).then_some(name),
            reporter_contact: (!contact.is_empty()).then_some(contact),
            media_url,
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

/// Where a filing says the request is.
struct Place {
    grid: Option<String>,
    /// (longitude, latitude)
    coordinates: Option<(f64, f64)>,
    address: Option<String>,
}

/// Locates a filing by GeoReport v2's location parameter: `lat` and `long` (which must fall in
/// a grid), or else an `address_id` or `address_string` of the district's address register,
/// matched exactly after normalizing (never a guess: a text that names no address, or several,
/// is refused). A register address gives the grid and its own wording, no coordinates.
fn locate(state: &AppState, org: &Org, params: &Params, format: Format) -> Result<Place, Failure> {
    let bad = |text: String| Failure::new(StatusCode::BAD_REQUEST, format, text);
    let number = |name: &str| -> Result<Option<f64>, Failure> {
        params
            .one(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| bad(format!("{name} is not a number")))
            })
            .transpose()
    };
    let address = params.one("address_string").map(str::to_owned);
    if let Some(a) = &address {
        limits::check_text("address_string", a, limits::ADDRESS).map_err(|v| bad(v.message))?;
    }
    match (number("lat")?, number("long")?) {
        (Some(lat), Some(long)) => {
            if org.grid_at(long, lat).is_none() {
                return Err(bad(format!(
                    "the location {lat},{long} lies outside the district"
                )));
            }
            return Ok(Place {
                grid: None,
                coordinates: Some((long, lat)),
                address,
            });
        }
        (None, None) => {}
        _ => return Err(bad("lat and long must be given together".into())),
    }
    let found = match (params.one("address_id"), &address) {
        (Some(id), _) => state.addresses.get(id).ok_or_else(|| {
            bad(format!(
                "address_id {id} is not in the district's register; give lat and long"
            ))
        })?,
        (None, Some(text)) => match state.addresses.lookup(text) {
            Lookup::Found(a) => a,
            Lookup::Ambiguous(n) => {
                return Err(bad(format!(
                    "address_string names {n} addresses of the district's register: add the \
                     street (街道), or give lat and long"
                )))
            }
            Lookup::NotFound => {
                return Err(bad(
                    "address_string: address not in the district's register; give lat and long"
                        .into(),
                ))
            }
        },
        (None, None) => {
            return Err(bad(
                "a location is required: lat and long, address_string or address_id".into(),
            ))
        }
    };
    if org.territory(&found.grid).is_none() {
        return Err(bad(format!(
            "the register places {} in grid {}, which the district lacks; give lat and long",
            found.text(),
            found.grid
        )));
    }
    Ok(Place {
        grid: Some(found.grid.to_string()),
        coordinates: None,
        address: Some(found.text()),
    })
}

/// The range `start_date` and `end_date` ask for, as [start, end) in milliseconds: both
/// given, the two; only `start_date`, from it to now; only `end_date`, the `default_days`
/// before it; neither, the `default_days` before now. At most [`MAX_DAYS`] long. `end_date`
/// is the latest datetime to include, and a bare date includes its whole day.
fn window(params: &Params, format: Format, default_days: i64) -> Result<(Millis, Millis), Failure> {
    let bad = |text: String| Failure::new(StatusCode::BAD_REQUEST, format, text);
    let date = |name: &str| -> Result<Option<Millis>, Failure> {
        params
            .one(name)
            .map(|v| parse_iso(v).ok_or_else(|| bad(format!("{name} is not an ISO 8601 date"))))
            .transpose()
    };
    let now = now_millis();
    let (start, end) = match (date("start_date")?, date("end_date")?) {
        (Some(s), Some(e)) => (s, e),
        // A start in the future asks for nothing yet.
        (Some(s), None) => (s, now.max(s)),
        (None, Some(e)) => (e.saturating_sub(default_days * DAY), e),
        (None, None) => (now - default_days * DAY, now),
    };
    if end < start {
        return Err(bad("end_date is before start_date".into()));
    }
    if end - start > MAX_DAYS * DAY {
        return Err(bad(if params.one("end_date").is_some() {
            format!("start_date and end_date may be at most {MAX_DAYS} days apart")
        } else {
            format!(
                "from start_date to now is more than {MAX_DAYS} days: give an end_date at most \
                 {MAX_DAYS} days after it"
            )
        }));
    }
    let end = if params.one("end_date").is_some_and(|v| v.len() == 10) {
        end.saturating_add(DAY)
    } else {
        end.saturating_add(1)
    };
    Ok((start, end))
}

fn list_requests(state: &AppState, format: Format, params: &Params) -> Answer {
    let bad = |text: String| Failure::new(StatusCode::BAD_REQUEST, format, text);
    let org = state.directory.org().map_err(|e| Failure::of(e, format))?;
    let mut records = Vec::new();
    let ids = params.list("service_request_id");
    if !ids.is_empty() {
        // Ids given: the other filters do not apply (GeoReport v2).
        for id in ids.iter().take(MAX_RESULTS) {
            let summary = state
                .ledger
                .summary(&CaseId::new(id.as_str()))
                .map_err(|e| Failure::of(e, format))?;
            if let Some(summary) = summary.filter(public) {
                let duplicate = shown_duplicate(state, &summary);
                records.push(request_record(&org, &summary, &duplicate));
            }
        }
        return Ok(requests_answer(format, records));
    }
    let (start, end) = window(params, format, MAX_DAYS)?;
    let codes = params.list("service_code");
    let statuses = params.list("status");
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
        let duplicate = shown_duplicate(state, &summary);
        records.push(request_record(&org, &summary, &duplicate));
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

/// What a status means to the person who reported, in Chinese and English; a decline says
/// why. Made from the status and the decline reason only: never from notes staff wrote.
fn status_phrase(
    status: Option<Status>,
    reason: Option<DeclineReason>,
    duplicate_of: Option<&str>,
) -> String {
    let Some(status) = status else {
        return "已受理 (received)".into();
    };
    let phrase = match status {
        Status::Reported => "已核实, 待立案 (confirmed on site; awaiting filing)",
        Status::AwaitingConfirmation => {
            "已受理, 待现场核实 (received; awaiting on-site confirmation)"
        }
        Status::Filed => "已立案, 待派遣 (filed; awaiting dispatch)",
        Status::Dispatched => "已派遣至责任单位 (dispatched to the responsible unit)",
        Status::InProgress => "处理中 (being handled)",
        Status::AwaitingVerification => {
            "已处理, 待现场核查 (handled; awaiting on-site verification)"
        }
        Status::Verified => "核查已解决, 待结案 (verified as resolved; awaiting closing)",
        Status::Rework => "核查未解决, 返工中 (not resolved when verified; being reworked)",
        Status::Held => "挂账 (on hold)",
        Status::Closed => "已结案 (resolved and closed)",
        Status::Evaluated => "已结案并回访评价 (resolved, closed and evaluated)",
        Status::Voided => "已作废 (voided by the center)",
        Status::Declined => match (reason, duplicate_of) {
            (Some(DeclineReason::Duplicate), Some(of)) => {
                return format!("重复案件 (duplicate of request {of})")
            }
            (Some(DeclineReason::Duplicate), None) => "重复案件 (duplicate of an earlier request)",
            (Some(DeclineReason::OutOfJurisdiction), _) => "不属本区管辖 (out of jurisdiction)",
            (Some(DeclineReason::NotFound), _) => "现场未发现问题 (not found on site)",
            (Some(DeclineReason::NotActionable), _) => "不予受理 (not actionable)",
            (None, _) => "不予受理 (declined)",
        },
    };
    phrase.to_owned()
}

/// Where the case stands, for people: what its status means, then the status and its step of
/// the seven.
fn status_notes(s: &CaseSummary, duplicate_of: &Option<String>) -> String {
    let phrase = status_phrase(s.status, s.decline_reason, duplicate_of.as_deref());
    match s.status {
        None => phrase,
        Some(status) => format!("{phrase}; {status}, step {} of 7", s.step),
    }
}

/// When the request last changed; for a closed one, when it was closed (GeoReport v2): when
/// the server received its closing, as `servicerequestupdates` has it (a handheld's clock and
/// an offline closing synced late would put it in a past a poller has already read), or for
/// a case published before that was kept, the closing event's own time.
fn updated_datetime(s: &CaseSummary) -> Millis {
    match status_of(s) {
        "closed" => s
            .published
            .as_ref()
            .and_then(|changes| changes.iter().rev().find(|c| !c.status.is_open()))
            .map(|c| c.published_at)
            .or(s.concluded_at)
            .or(s.closed_at)
            .unwrap_or(s.updated_at),
        _ => s.updated_at,
    }
}

/// mySociety's `GET servicerequestupdates`: the status changes of public requests in the
/// range (see [`window`]; without `start_date`, the day before its end), oldest first, at most
/// [`MAX_UPDATES`]. Each update's id is its event's; its time is when the server received it
/// (an offline handheld's change counts from when it arrived); its description is the phrase
/// of its status. `api_key` and `jurisdiction_id` are accepted and not needed.
fn list_updates(state: &AppState, format: Format, params: &Params) -> Answer {
    let (start, end) = window(params, format, UPDATES_DEFAULT_DAYS)?;
    let mut summaries: HashMap<CaseId, Option<CaseSummary>> = HashMap::new();
    let mut records = Vec::new();
    for entry in state.ledger.published_between(start, end) {
        let (at, case, event) = entry.map_err(|e| Failure::of(e, format))?;
        let summary = match summaries.get(&case) {
            Some(s) => s,
            None => {
                let s = state
                    .ledger
                    .summary(&case)
                    .map_err(|e| Failure::of(e, format))?
                    .filter(public);
                summaries.entry(case).or_insert(s)
            }
        };
        let Some(summary) = summary else {
            continue;
        };
        // The index may hold a change the case no longer has (a merge reordered its events).
        let Some(change) = summary
            .status_changes()
            .iter()
            .find(|c| c.event == event && c.published_at == at)
        else {
            continue;
        };
        records.push(V::Obj(vec![
            ("update_id", s(change.event.clone())),
            ("service_request_id", s(summary.id.clone())),
            (
                "status",
                s(if change.status.is_open() {
                    "open"
                } else {
                    "closed"
                }),
            ),
            ("updated_datetime", s(iso(change.published_at))),
            (
                "description",
                s(status_phrase(
                    Some(change.status),
                    change.reason,
                    change
                        .duplicate_of
                        .as_deref()
                        .filter(|of| shown_duplicate_id(state, of)),
                )),
            ),
            // Updates carry no media of their own.
            ("media_url", s("")),
        ]));
        if records.len() >= MAX_UPDATES {
            break;
        }
    }
    Ok(answer(
        StatusCode::OK,
        format,
        "service_request_updates",
        V::List("request_update", records),
    ))
}

/// One request as GeoReport v2 lists it, without any personal data.
/// Whether a case may be named in a public answer: it came through Open311 itself.
fn shown_duplicate_id(state: &AppState, of: &str) -> bool {
    matches!(state.ledger.summary(&CaseId::new(of)), Ok(Some(original)) if public(&original))
}

/// The request a declined duplicate repeats, when that one is public too: naming a staff case
/// would publish its id (and, a UUIDv7, when it was opened).
fn shown_duplicate(state: &AppState, case: &CaseSummary) -> Option<String> {
    let of = case.duplicate_of.as_deref()?;
    shown_duplicate_id(state, of).then(|| of.to_owned())
}

fn request_record(org: &Org, case: &CaseSummary, duplicate_of: &Option<String>) -> V {
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
        ("status_notes", s(status_notes(case, duplicate_of))),
        ("service_name", opt(service.map(|c| c.name.to_owned()))),
        ("service_code", opt(case.category.clone())),
        ("description", s(case.description.clone())),
        ("agency_responsible", opt(agency)),
        ("service_notice", V::Null),
        ("requested_datetime", s(iso(case.created_at))),
        ("updated_datetime", s(iso(updated_datetime(case)))),
        ("expected_datetime", opt(case.deadline.map(iso))),
        ("address", opt(case.address.clone())),
        ("address_id", V::Null),
        ("zipcode", V::Null),
        ("lat", lat),
        ("long", long),
        ("media_url", opt(case.media_url.clone())),
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
                ("description", s("<b>\"A&B\"</b>\u{1}\u{FFFE}\u{FFFF}\r\n")),
                ("address", V::Null),
                ("lat", V::Num(39.9)),
            ])],
        );
        let mut out = String::new();
        v.xml("service_requests", &mut out);
        assert_eq!(
            out,
            "<service_requests><request><description>&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;\u{FFFD}\u{FFFD}\u{FFFD}&#13;\n</description><address/><lat>39.9</lat></request></service_requests>"
        );
        assert_eq!(
            v.json().to_string(),
            "[{\"address\":null,\"description\":\"<b>\\\"A&B\\\"</b>\\u0001\u{FFFE}\u{FFFF}\\r\\n\",\"lat\":39.9}]",
            "JSON carries every character"
        );
    }

    #[test]
    fn xml_chars_are_those_of_xml_1_0() {
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{10000}',
            '\u{10FFFF}',
        ] {
            assert!(xml_char(c), "{c:?}");
        }
        for c in ['\u{0}', '\u{8}', '\u{B}', '\u{1F}', '\u{FFFE}', '\u{FFFF}'] {
            assert!(!xml_char(c), "{c:?}");
        }
    }

    fn params(query: &str) -> Result<Params, Failure> {
        Params::new(
            serde_urlencoded::from_str(query).expect("a query"),
            LISTS,
            Format::Json,
        )
    }

    #[test]
    fn lists_merge_repeated_values_and_other_parameters_may_not_disagree() {
        let p = params("status=open&status=closed,&service_code=E0101&start_date=&start_date=2026-01-01&start_date=2026-01-01").expect("valid");
        assert_eq!(p.list("status"), ["open", "closed"]);
        assert_eq!(p.list("service_code"), ["E0101"]);
        assert_eq!(
            p.one("start_date"),
            Some("2026-01-01"),
            "an empty value is no value"
        );
        assert_eq!(p.one("end_date"), None);
        let e = params("start_date=2026-01-01&start_date=2026-02-01")
            .err()
            .expect("refused");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(
            e.description.contains("start_date is given more than once"),
            "{e:?}"
        );
        assert!(params("attribute[colours][]=red&attribute[colours][]=blue").is_ok());
    }

    #[test]
    fn a_start_date_alone_runs_to_now() {
        let now = now_millis();
        let day_ago = iso(now - DAY);
        let (start, end) = window(
            &params(&format!("start_date={day_ago}")).expect("valid"),
            Format::Json,
            MAX_DAYS,
        )
        .expect("a window");
        assert!(start <= now - DAY + 1000 && end > now, "{start}..{end}");
        let long_ago = iso(now - 100 * DAY);
        let e = window(
            &params(&format!("start_date={long_ago}")).expect("valid"),
            Format::Json,
            MAX_DAYS,
        )
        .expect_err("over 90 days");
        assert!(e.description.contains("give an end_date"), "{e:?}");
        let (start, end) = window(&params("").expect("valid"), Format::Json, 1).expect("a window");
        assert_eq!(end - start, DAY + 1);
    }
}
