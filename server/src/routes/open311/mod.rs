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
//!
//! The handlers of requests and their updates are here; `services` answers discovery, the
//! services and their definitions; `write` writes answers and errors as JSON or XML, `params`
//! reads the parameters (a filing's fields too) and date windows, and `record` is what a
//! public request shows of a case.

mod params;
mod record;
mod services;
mod write;

pub use services::get_service;
pub use write::{xml_char, Failure};

use crate::addresses::Lookup;
use crate::auth::Caller;
use crate::cases::{open_online, CreateCase};
use crate::district_time::iso;
use crate::query_index::Term;
use crate::summary::CaseSummary;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use gridcase_sync_core::event::Channel;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::{limits, CaseId, Catalog, CategoryCode, UserId};
use params::{multipart_fields, query_pairs, window, Params, LISTS};
use record::{
    public, request_record, shown_duplicate, shown_duplicate_id, status_of, status_phrase,
};
use std::collections::HashMap;
use write::{answer, s, split, Answer, Format, V};

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

/// Runs store work on a blocking thread; a panic there is a 500 in the asked format.
async fn blocking<T: Send + 'static>(
    format: Format,
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    // Open311's store work is short work like any ordinary request's (`crate::workers`).
    crate::workers::on_short_turn(f)
        .await
        .map_err(|e| Failure::of(e, format))?
}

/// `GET /open311/v2/{discovery,services,requests,servicerequestupdates}.{json,xml}`.
pub async fn get_root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let (name, format) = split(&file)?;
    match name {
        "discovery" => Ok(services::discovery(format, &state)),
        "services" => Ok(services::services(format)),
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
        limits::check_media_url(url).map_err(|v| bad(v.message))?;
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
            // GeoReport has no business type.
            business_type: None,
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
    for entry in state.ledger.index_scan(&Term::All, Some(from)) {
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
