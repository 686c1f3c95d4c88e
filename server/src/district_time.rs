//! District time (Beijing, UTC+8, the offset of the ledger's `WorkCalendar::beijing`) as text:
//! how Open311 and the console write times and read the dates and datetimes people give.

use gridcase_sync_core::calendar::{civil_from_days, days_from_civil};
use gridcase_sync_core::Millis;

pub const DAY: Millis = 86_400_000;
/// Local time = UTC + this.
const OFFSET: Millis = 8 * 3_600_000;

/// ISO 8601 in district time, as GeoReport v2 writes datetimes.
pub fn iso(ms: Millis) -> String {
    let local = ms.saturating_add(OFFSET);
    let (y, m, d) = civil_from_days(local.div_euclid(DAY));
    let secs = local.rem_euclid(DAY) / 1_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+08:00",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Reads `2026-11-26`, `2026-11-26T10:00:00Z` or `...+08:00` (no zone: Beijing time; a `+`
/// left unencoded in a query arrives as a space and is read as `+`). Anything else is `None`.
pub fn parse_iso(text: &str) -> Option<Millis> {
    if !text.is_ascii() {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(r)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if text.get(4..5)? != "-" || text.get(7..8)? != "-" || !(1..=12).contains(&m) {
        return None;
    }
    let day = days_from_civil(y as i32, m as u32, d as u32);
    // A day its month does not have (02-31) comes back as another date.
    if civil_from_days(day) != (y, m as u32, d as u32) {
        return None;
    }
    let (mut secs, rest) = match text.get(10..11) {
        None => (0, ""),
        Some("T") | Some(" ") => {
            let (h, mi) = (num(11..13)?, num(14..16)?);
            if text.get(13..14)? != ":" || h > 23 || mi > 59 {
                return None;
            }
            let (sec, rest) = match text.get(16..17) {
                Some(":") => (num(17..19)?, text.get(19..)?),
                _ => (0, text.get(16..)?),
            };
            if sec > 59 {
                return None;
            }
            // Fractions of a second are allowed and dropped.
            let rest = match rest.strip_prefix('.') {
                Some(fraction) => fraction.trim_start_matches(|c: char| c.is_ascii_digit()),
                None => rest,
            };
            (h * 3_600 + mi * 60 + sec, rest)
        }
        Some(_) => return None,
    };
    let offset = match rest {
        "" => OFFSET / 1_000,
        "Z" => 0,
        zone => {
            let (sign, hhmm) = match zone.split_at_checked(1)? {
                ("+" | " ", hhmm) => (1, hhmm),
                ("-", hhmm) => (-1, hhmm),
                _ => return None,
            };
            let digits: String = hhmm.chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (h, mi): (i64, i64) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
            if h > 14 || mi > 59 {
                return None;
            }
            sign * (h * 3_600 + mi * 60)
        }
    };
    secs -= offset;
    Some(day * DAY + secs * 1_000)
}

/// "YYYY-MM-DD HH:MM" in district time, as the console shows times.
pub fn when(ms: Millis) -> String {
    gridcase_sync_core::WorkCalendar::beijing().wall_clock(ms)
}

/// "YYYY-MM-DD" in district time, as a date input shows it.
pub fn date_of(ms: Millis) -> String {
    iso(ms)[..10].to_owned()
}

/// "YYYYMMDD" in district time: the date in a case number (`case_number`).
pub fn compact_date(ms: Millis) -> String {
    date_of(ms).replace('-', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_clock_is_the_iso_time_to_the_minute() {
        let t = parse_iso("2026-11-26T23:59:59+08:00").expect("parse");
        assert_eq!(when(t), "2026-11-26 23:59");
        assert_eq!(when(0), "1970-01-01 08:00");
    }

    #[test]
    fn datetimes_round_trip_in_beijing_time() {
        let t = parse_iso("2026-11-26T10:55:19+08:00").expect("parse");
        assert_eq!(iso(t), "2026-11-26T10:55:19+08:00");
        assert_eq!(parse_iso("2026-11-26T02:55:19Z"), Some(t));
        assert_eq!(parse_iso("2026-11-26T10:55:19"), Some(t));
        assert_eq!(parse_iso("2026-11-26T10:55:19.250+08:00"), Some(t));
        assert_eq!(parse_iso("2026-11-25T21:55:19-05:00"), Some(t));
        assert_eq!(
            parse_iso("2026-11-26T10:55:19 08:00"),
            Some(t),
            "a + decoded as a space"
        );
        assert_eq!(
            parse_iso("2026-11-26"),
            parse_iso("2026-11-26T00:00:00+08:00")
        );
        for bad in [
            "",
            "2026",
            "2026-13-01",
            "2026-02-31",
            "2026-11-26T1",
            "26-11-2026",
            "2026-11-26Tab:cd",
            "2026-11-26T10:00+0800x",
            "2026-11-26é",
            "2026-11-26T10x00",
            "2026-11-26T10:0012",
            "2026-11-26T24:00",
            "2026-11-26T10:61",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }

    #[test]
    fn console_times_are_district_minutes_and_days() {
        let midnight = parse_iso("2026-11-26").expect("a date");
        assert_eq!(when(midnight), "2026-11-26 00:00");
        assert_eq!(date_of(midnight + DAY - 1), "2026-11-26");
        assert_eq!(when(0), "1970-01-01 08:00");
        assert_eq!(parse_iso("2147483647-01-01"), None);
        assert_eq!(parse_iso("-2147483648-01-01"), None);
        assert_eq!(parse_iso("yesterday"), None);
    }
}
