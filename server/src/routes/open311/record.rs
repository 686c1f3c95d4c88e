//! What a public request shows of a case: its two-valued status, the phrases made from its
//! status and decline reason (never from notes staff wrote), and its record, without any
//! personal data.

use super::write::{opt, s, V};
use crate::district_time::iso;
use crate::summary::CaseSummary;
use crate::AppState;
use gridcase_sync_core::event::{Channel, DeclineReason};
use gridcase_sync_core::org::Org;
use gridcase_sync_core::{CaseId, Catalog, CategoryCode, Millis, Status};

/// Only requests that came in through Open311 (the web channel) are answered: the hotline's
/// and the grid workers' cases carry descriptions typed by staff, which may name people.
pub(super) fn public(summary: &CaseSummary) -> bool {
    summary.channel == Some(Channel::Web)
}

/// GeoReport v2 knows two statuses.
pub(super) fn status_of(s: &CaseSummary) -> &'static str {
    match s.status {
        Some(status) if !status.is_open() => "closed",
        _ => "open",
    }
}

/// What a status means to the person who reported, in Chinese and English; a decline says
/// why. Made from the status and the decline reason only: never from notes staff wrote.
pub(super) fn status_phrase(
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
pub(super) fn status_notes(s: &CaseSummary, duplicate_of: &Option<String>) -> String {
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
pub(super) fn updated_datetime(s: &CaseSummary) -> Millis {
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

/// Whether a case may be named in a public answer: it came through Open311 itself.
pub(super) fn shown_duplicate_id(state: &AppState, of: &str) -> bool {
    matches!(state.ledger.summary(&CaseId::new(of)), Ok(Some(original)) if public(&original))
}

/// The request a declined duplicate repeats, when that one is public too: naming a staff case
/// would publish its id (and, a UUIDv7, when it was opened).
pub(super) fn shown_duplicate(state: &AppState, case: &CaseSummary) -> Option<String> {
    let of = case.duplicate_of.as_deref()?;
    shown_duplicate_id(state, of).then(|| of.to_owned())
}

/// One request as GeoReport v2 lists it, without any personal data.
pub(super) fn request_record(org: &Org, case: &CaseSummary, duplicate_of: &Option<String>) -> V {
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
