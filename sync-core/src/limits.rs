//! Bounds on every field a person or a device fills in: lengths of texts, counts of lists,
//! ranges of times. One set of numbers, read by the rule table (so commands on a handheld, the
//! server's online actions and the fold's judgement of every merged event agree) and by the
//! server's own forms (device names, users, the organization, Open311, stats periods).
//!
//! Lengths count characters (Unicode scalar values), not bytes: a Chinese description has the
//! same room as an English one.

use crate::calendar::Millis;
use crate::event::{Action, Intake};
use crate::rules::{Violation, ViolationCode};

/// A case's description (intake).
pub const DESCRIPTION: usize = 4000;
/// A note or a comment on any step.
pub const NOTE: usize = 4000;
/// A street address given at intake.
pub const ADDRESS: usize = 500;
/// A person's name: the reporter, the responsible person of a dispatch.
pub const PERSON_NAME: usize = 100;
/// How to reach the reporter (phone, e-mail).
pub const CONTACT: usize = 100;
/// Why a case is returned, extended, held, voided, reopened or escalated.
pub const REASON: usize = 1000;
/// The filing's handling suggestion.
pub const SUGGESTION: usize = 2000;
/// The name of a device, a user or a node of the organization.
pub const NAME: usize = 100;
/// An id named by an event or given to the directory (unit, grid, case, event, user, node).
pub const ID: usize = 128;
/// A link to a picture published elsewhere (Open311's `media_url`).
pub const MEDIA_URL: usize = 2048;
/// A blob reference (the sha-256 hex of a photo, 64 characters, with room to spare).
pub const BLOB_REF: usize = 128;
/// Photos (or attached files) per event.
pub const PHOTOS: usize = 20;
/// Units named by one filing.
pub const UNITS: usize = 20;
/// A blob's file name and media type, as recorded beside the event.
pub const FILE_NAME: usize = 255;
pub const MIME: usize = 100;
/// Fields of one event map: the nine of schema 1 and room for a later release's additions.
pub const EVENT_FIELDS: usize = 32;
/// Stored size of one event map (its keys and scalar values), in bytes: a bound on what an
/// event of a kind this release does not know may carry. Four times the largest event the
/// limits above let anyone write (an intake with every text at its limit, all of it control
/// characters that JSON escapes to six bytes, under a scope of fifty grids: about 83 KB;
/// `sync-core/tests/evolution.rs` builds it), so no later release's legitimate event is near it.
pub const EVENT_BYTES: usize = 512 * 1024;
/// Points of a grid's outline.
pub const POLYGON_POINTS: usize = 10_000;
/// The longest extension of a deadline, in working hours.
pub const EXTEND_HOURS: u32 = 8760;
/// Earliest and latest instant an event may name (a deadline): 2000-01-01T00:00:00Z and
/// 2100-01-01T00:00:00Z, inclusive.
pub const TIME_MIN: Millis = 946_684_800_000;
pub const TIME_MAX: Millis = 4_102_444_800_000;
/// Earliest start of a statistics period (the epoch: "all time"); its end is at most
/// [`TIME_MAX`].
pub const PERIOD_MIN: Millis = 0;

fn invalid(message: String) -> Violation {
    Violation {
        code: ViolationCode::InvalidPayload,
        message,
    }
}

/// Whether a text has more than `max` characters, without counting all of a huge one.
pub fn too_long(text: &str, max: usize) -> bool {
    text.len() > max && text.chars().nth(max).is_some()
}

/// A text of at most `max` characters; the refusal names the field and the limit.
pub fn check_text(field: &str, text: &str, max: usize) -> Result<(), Violation> {
    if too_long(text, max) {
        return Err(invalid(format!(
            "{field} is too long: at most {max} characters ({} given)",
            text.chars().count()
        )));
    }
    Ok(())
}

/// A list of at most `max` items.
pub fn check_count(field: &str, count: usize, max: usize) -> Result<(), Violation> {
    if count > max {
        return Err(invalid(format!(
            "{field} has too many items: at most {max} ({count} given)"
        )));
    }
    Ok(())
}

/// An instant between [`TIME_MIN`] and [`TIME_MAX`].
pub fn check_time(field: &str, t: Millis) -> Result<(), Violation> {
    if !(TIME_MIN..=TIME_MAX).contains(&t) {
        return Err(invalid(format!(
            "{field} must lie between {TIME_MIN} and {TIME_MAX} ms since the epoch \
             (2000-01-01 to 2100-01-01), not {t}"
        )));
    }
    Ok(())
}

/// A statistics period: `from` ≤ `to`, both between [`PERIOD_MIN`] and [`TIME_MAX`].
pub fn check_period(from: Millis, to: Millis) -> Result<(), Violation> {
    for (field, t) in [("from", from), ("to", to)] {
        if !(PERIOD_MIN..=TIME_MAX).contains(&t) {
            return Err(invalid(format!(
                "{field} must lie between {PERIOD_MIN} and {TIME_MAX} ms since the epoch \
                 (1970-01-01 to 2100-01-01), not {t}"
            )));
        }
    }
    if from > to {
        return Err(invalid(format!(
            "the period starts ({from}) after it ends ({to})"
        )));
    }
    Ok(())
}

/// A (longitude, latitude) pair on the globe.
pub fn check_point(field: &str, (lon, lat): (f64, f64)) -> Result<(), Violation> {
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(invalid(format!(
            "{field} must be a longitude in [-180, 180] and a latitude in [-90, 90]"
        )));
    }
    Ok(())
}

fn check_photos(field: &str, photos: &[String]) -> Result<(), Violation> {
    check_count(field, photos.len(), PHOTOS)?;
    photos
        .iter()
        .try_for_each(|p| check_text(field, p, BLOB_REF))
}

/// A link to a picture published elsewhere: an http(s) URL of at most [`MEDIA_URL`]
/// characters. The intake's rule, and Open311's before it files.
pub fn check_media_url(url: &str) -> Result<(), Violation> {
    check_text("media_url", url, MEDIA_URL)?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(invalid("media_url must be an http or https URL".into()));
    }
    Ok(())
}

fn check_intake(intake: &Intake) -> Result<(), Violation> {
    check_text("description", &intake.description, DESCRIPTION)?;
    if let Some(address) = &intake.address {
        check_text("address", address, ADDRESS)?;
    }
    if let Some(reporter) = &intake.reporter {
        check_text("reporter name", &reporter.name, PERSON_NAME)?;
        check_text("reporter contact", &reporter.contact, CONTACT)?;
    }
    if let Some(point) = intake.coordinates {
        check_point("coordinates", point)?;
    }
    if let Some(caller) = &intake.caller {
        check_caller_id(caller)?;
    }
    let t = &intake.territory;
    check_text("street", t.street.as_str(), ID)?;
    check_text("community", t.community.as_str(), ID)?;
    check_text("grid", t.grid.as_str(), ID)?;
    if let Some(url) = &intake.media_url {
        check_media_url(url)?;
    }
    check_photos("photos", &intake.photos)
}

/// A caller named by an event is a register record's id, nothing else: a document must never
/// carry a caller's name or number, whatever a client puts there.
fn check_caller_id(caller: &str) -> Result<(), Violation> {
    if crate::caller::is_caller_id(caller) {
        Ok(())
    } else {
        Err(invalid(
            "caller must be a caller record's id: 32 lower-case hex digits".to_owned(),
        ))
    }
}

/// Every field of an action within its bounds. Part of [`crate::rules::check`].
pub fn check_action(action: &Action) -> Result<(), Violation> {
    match action {
        Action::Intake(intake) => check_intake(intake),
        Action::File(filing) => {
            check_count("units", filing.units.len(), UNITS)?;
            for unit in &filing.units {
                check_text("unit", unit.as_str(), ID)?;
            }
            check_text("suggestion", &filing.suggestion, SUGGESTION)
        }
        Action::Dispatch {
            unit,
            responsible,
            deadline,
            ..
        } => {
            check_text("unit", unit.as_str(), ID)?;
            if let Some(name) = responsible {
                check_text("responsible", name, PERSON_NAME)?;
            }
            if let Some(t) = deadline {
                check_time("deadline", *t)?;
            }
            Ok(())
        }
        Action::Handle { note, photos }
        | Action::Feedback { note, photos, .. }
        | Action::Verify { note, photos, .. }
        | Action::SelfHandle { note, photos } => {
            check_text("note", note, NOTE)?;
            check_photos("photos", photos)
        }
        Action::Confirm { note, .. }
        | Action::Decline { note, .. }
        | Action::Close { note }
        | Action::Evaluate { note, .. }
        | Action::Acknowledge { note }
        | Action::Release { note } => check_text("note", note, NOTE),
        Action::Comment { text } => check_text("comment", text, NOTE),
        Action::Answer { answer } => check_text("answer", answer, NOTE),
        Action::CallerAdded { caller, note, .. } => {
            check_caller_id(caller)?;
            check_text("note", note, NOTE)
        }
        Action::Callback { caller, note, .. } => {
            if let Some(caller) = caller {
                check_caller_id(caller)?;
            }
            check_text("note", note, NOTE)
        }
        Action::Return { reason }
        | Action::Hold { reason }
        | Action::Void { reason }
        | Action::Reopen { reason }
        | Action::Escalate { reason } => check_text("reason", reason, REASON),
        Action::RefuseExtension { request, reason } => {
            check_text("request", request.as_str(), ID)?;
            check_text("reason", reason, REASON)
        }
        Action::Extend { hours, reason, .. } | Action::ExtensionRequest { hours, reason } => {
            if let Action::Extend {
                request: Some(request),
                ..
            } = action
            {
                check_text("request", request.as_str(), ID)?;
            }
            if *hours > EXTEND_HOURS {
                return Err(invalid(format!(
                    "hours is too large: an extension is at most {EXTEND_HOURS} working hours \
                     ({hours} given)"
                )));
            }
            check_text("reason", reason, REASON)
        }
        Action::Attach { blobs } => check_photos("blobs", blobs),
        Action::MarkDuplicate { of } => check_text("of", of.as_str(), ID),
        Action::Resolve { conflict, note } | Action::Adopt { conflict, note } => {
            check_text("conflict", conflict.as_str(), ID)?;
            check_text("note", note, NOTE)
        }
        // Bounded by its stored size when it arrives (inspect); nobody may write one.
        Action::Unknown(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters() {
        assert!(!too_long("", 0));
        assert!(!too_long("网格", 2));
        assert!(too_long("网格员", 2));
        assert!(!too_long(&"é".repeat(100), 100));
        assert!(too_long(&"a".repeat(101), 100));
    }

    #[test]
    fn periods_and_times() {
        assert!(check_period(0, TIME_MAX).is_ok());
        assert!(check_period(10, 5).is_err());
        assert!(check_period(0, i64::MAX).is_err());
        assert!(check_period(i64::MIN, 0).is_err());
        assert!(check_time("deadline", TIME_MIN).is_ok());
        assert!(check_time("deadline", i64::MAX).is_err());
        assert!(check_time("deadline", -1).is_err());
    }
}
