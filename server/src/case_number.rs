//! Case numbers people can read over the phone: `DC-20261130-0042` is a prefix
//! (`--case-number-prefix`), the district date (UTC+8) of the case's first receipt by the
//! ledger, and that day's sequence: four digits, more once a day passes 9,999.
//!
//! Handhelds open cases offline, so a number cannot be minted where a case is made, and it is
//! never put in the replicated document: the ledger gives one when it first receives a case
//! (its commit thread, `ledger/numbers.rs`) and keeps it beside the case. A number is stored
//! whole, so one already given (read to a caller, written on a slip) stays what it was when
//! the prefix changes.

use crate::district_time::compact_date;
use gridcase_sync_core::Millis;

/// The longest prefix: short enough to read out.
pub const PREFIX_MAX: usize = 8;
/// The sequence's digits at least; more once a day passes 9,999 cases.
const SEQ_DIGITS: usize = 4;
/// The most digits a sequence is read with (`u32`), so that no typed number overflows.
const SEQ_DIGITS_MAX: usize = 9;

/// The date part of the number of a case first received at `received_at`: "YYYYMMDD" in
/// district time. The day's sequence is counted under it.
pub fn date_of(received_at: Millis) -> String {
    compact_date(received_at)
}

/// The number of the `seq`th case (from 1) received on `date` ([`date_of`]).
pub fn format(prefix: &str, date: &str, seq: u32) -> String {
    format!("{prefix}-{date}-{seq:0SEQ_DIGITS$}")
}

/// A prefix as the configuration gives it, in upper case: 1 to [`PREFIX_MAX`] ASCII letters
/// and digits, so that it reads out unambiguously and never holds the separator.
pub fn prefix(text: &str) -> Result<String, String> {
    let prefix = text.trim().to_ascii_uppercase();
    if valid_prefix(&prefix) {
        Ok(prefix)
    } else {
        Err(format!(
            "a case number prefix is 1 to {PREFIX_MAX} ASCII letters and digits"
        ))
    }
}

fn valid_prefix(prefix: &str) -> bool {
    (1..=PREFIX_MAX).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A case number as someone typed or read it, in the form the ledger stores: spacing,
/// full-width forms, letter case and the sequence's leading zeros do not matter
/// (`dc－20261130－42` is `DC-20261130-0042`). `None` for text not shaped like a number (a
/// prefix, eight digits of date, a sequence), which then is no number search at all.
pub fn parse(text: &str) -> Option<String> {
    let text = crate::addresses::normalize(text).to_ascii_uppercase();
    let mut parts = text.split('-');
    let (prefix, date, seq) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_some()
        || !valid_prefix(prefix)
        || !digits(date, 8..=8)
        || !digits(seq, 1..=SEQ_DIGITS_MAX)
    {
        return None;
    }
    Some(format(prefix, date, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::district_time::parse_iso;

    #[test]
    fn the_date_is_the_district_day_and_turns_at_its_midnight() {
        let midnight = parse_iso("2026-12-01T00:00:00+08:00").expect("a time");
        let before = midnight - 1;
        assert_eq!(format("DC", &date_of(before), 42), "DC-20261130-0042");
        assert_eq!(format("DC", &date_of(midnight), 1), "DC-20261201-0001");
        // 16:00 UTC is already the next day in the district.
        let utc = parse_iso("2026-11-30T16:00:00Z").expect("a time");
        assert_eq!(date_of(utc), "20261201");
    }

    #[test]
    fn a_busy_day_grows_the_sequence_past_four_digits() {
        assert_eq!(format("DC", "20261130", 9_999), "DC-20261130-9999");
        assert_eq!(format("DC", "20261130", 10_000), "DC-20261130-10000");
        assert_eq!(
            parse("DC-20261130-10000").as_deref(),
            Some("DC-20261130-10000")
        );
    }

    #[test]
    fn numbers_read_back_however_they_are_typed() {
        for typed in [
            "DC-20261130-0042",
            " dc-20261130-0042 ",
            "DC-20261130-42",
            "ＤＣ－２０２６１１３０－００４２",
            "DC - 20261130 - 0042",
        ] {
            assert_eq!(parse(typed).as_deref(), Some("DC-20261130-0042"), "{typed}");
        }
        for not_a_number in [
            "",
            "lamp out",
            "DC-2026113-0042",
            "DC-20261130",
            "DC-20261130-",
            "DC-20261130-0042-1",
            "-20261130-0042",
            "TOOLONGPREFIX-20261130-0042",
            "DC-20261130-1234567890",
            "井-20261130-0042",
        ] {
            assert_eq!(parse(not_a_number), None, "{not_a_number}");
        }
    }

    #[test]
    fn prefixes_are_short_ascii_in_upper_case() {
        assert_eq!(prefix(" gz1 ").as_deref(), Ok("GZ1"));
        for bad in ["", "D-C", "东城", "ABCDEFGHI"] {
            assert!(prefix(bad).is_err(), "{bad}");
        }
    }
}
