//! Receipts: when and through which device the server received each event of a case, and why
//! the central office should look at it. (Rows written before 2026-12-01 also name the change
//! that carried each event; later ones leave that to the document, which names it.)
//!
//! Two stored forms, both read forever ([`read`] merges them):
//!
//! - **Per event** (releases before 2026-11-30, tree `ledger_receipts`): key = the case's key
//!   part + the event id's text, value = the [`Receipt`] as JSON. No longer written.
//! - **Per arrival** (tree `ledger_arrivals`): one row for the events of a case that one write
//!   received at one time through one device (one sync request, one online action), which
//!   share `received_at` and `via`; only their ids, changes and flags differ. Key = the case's
//!   key part + `received_at` (8 bytes, big-endian, sign bit flipped, so a case's arrivals run
//!   oldest first) + the first event's id ([`put_text`]); value = [`FORMAT`], then `via`, the
//!   arrival's distinct flags (a count, then each), the number of events, and per event its id
//!   (not for the first: the key has it), its change ([`put_opt_text`]) and its flag (0 for
//!   none, else its place in the flags + 1), counts and indexes as LEB128 varints.
//!
//! Texts are a varint `h` and bytes: `h = 0` none, `h = 1` lower-case hex packed into bytes (a
//! varint count, then the bytes: the 32-hex event ids, the 64-hex change hashes), `h ≥ 2` UTF-8
//! text of `h - 2` bytes. An event received again (two requests delivering one change at once)
//! reads as its latest arrival, as the per-event rows, each overwriting the last, did.

use super::{trees, Receipt};
use crate::error::{Error, Result};
use gridcase_sync_core::store::{Batch, Store};
use gridcase_sync_core::{EventId, Millis};
use std::collections::BTreeMap;

/// The per-arrival rows.
pub(super) const ARRIVALS: &str = "ledger_arrivals";

/// The first byte of an arrival's value. A later release that stores arrivals otherwise uses
/// another, and this one leaves its rows out (with a warning) rather than misread them.
pub(super) const FORMAT: u8 = 1;

/// Stages the receipts of one write to a case: one arrival row per (`received_at`, `via`)
/// among them (one, from every writer today), its events in the order given.
pub(super) fn stage(batch: &mut Batch, case_key: &[u8], receipts: &[(EventId, Receipt)]) {
    type Arrival<'a> = (Millis, &'a str, Vec<&'a (EventId, Receipt)>);
    let mut arrivals: Vec<Arrival> = Vec::new();
    for r in receipts {
        let (at, via) = (r.1.received_at, r.1.via.as_str());
        match arrivals.iter_mut().find(|(a, v, _)| *a == at && *v == via) {
            Some(arrival) => arrival.2.push(r),
            None => arrivals.push((at, via, vec![r])),
        }
    }
    for (at, via, events) in arrivals {
        let (key, value) = arrival_row(case_key, at, via, &events);
        batch.put(ARRIVALS, key, value);
    }
}

/// The key and value of one arrival (`events` not empty, all received at `at` through `via`).
fn arrival_row(
    case_key: &[u8],
    at: Millis,
    via: &str,
    events: &[&(EventId, Receipt)],
) -> (Vec<u8>, Vec<u8>) {
    let mut key = case_key.to_vec();
    key.extend_from_slice(&time_bytes(at));
    put_text(&mut key, events[0].0.as_str());
    let mut flags: Vec<&str> = Vec::new();
    for (_, r) in events {
        if let Some(f) = r.flag.as_deref() {
            if !flags.contains(&f) {
                flags.push(f);
            }
        }
    }
    let mut value = vec![FORMAT];
    put_text(&mut value, via);
    put_varint(&mut value, flags.len() as u64);
    for f in &flags {
        put_text(&mut value, f);
    }
    put_varint(&mut value, events.len() as u64);
    for (i, (event, r)) in events.iter().enumerate() {
        if i > 0 {
            put_text(&mut value, event.as_str());
        }
        put_opt_text(&mut value, r.change.as_deref());
        let flag = r.flag.as_deref().map_or(0, |f| {
            flags.iter().position(|g| *g == f).map_or(0, |p| p + 1)
        });
        put_varint(&mut value, flag as u64);
    }
    (key, value)
}

/// Every receipt of a case (its key part), by event id: the per-event rows of earlier
/// releases, then the arrivals oldest first, a later receipt of an event replacing an earlier.
pub(super) fn read(store: &dyn Store, case_key: &[u8]) -> Result<BTreeMap<String, Receipt>> {
    let mut out = BTreeMap::new();
    for entry in store.scan_prefix(trees::RECEIPTS, case_key) {
        let (k, v) = entry?;
        let event = String::from_utf8_lossy(&k[case_key.len()..]).into_owned();
        out.insert(event, serde_json::from_slice(&v)?);
    }
    for entry in store.scan_prefix(ARRIVALS, case_key) {
        let (k, v) = entry?;
        match decode_arrival(&k[case_key.len()..], &v)? {
            Some(events) => out.extend(events),
            None => tracing::warn!(
                format = v.first().copied(),
                "a receipt row of a later format is left out"
            ),
        }
    }
    Ok(out)
}

/// When the ledger first received anything of a case (its key part): its earliest receipt.
pub(super) fn first_received(store: &dyn Store, case_key: &[u8]) -> Result<Option<Millis>> {
    let mut first: Option<Millis> = None;
    for entry in store.scan_prefix(trees::RECEIPTS, case_key) {
        let receipt: Receipt = serde_json::from_slice(&entry?.1)?;
        first = Some(first.map_or(receipt.received_at, |f| f.min(receipt.received_at)));
    }
    // Arrivals run oldest first: the first one's time is theirs.
    if let Some(entry) = store.scan_prefix(ARRIVALS, case_key).next() {
        let (k, _) = entry?;
        let at = time_of(&k[case_key.len()..]).ok_or_else(|| malformed("its time"))?;
        first = Some(first.map_or(at, |f| f.min(at)));
    }
    Ok(first)
}

/// The receipts one arrival row holds (`key_rest`: its key after the case's key part), or
/// `None` for a row of a later format.
fn decode_arrival(key_rest: &[u8], value: &[u8]) -> Result<Option<Vec<(String, Receipt)>>> {
    let received_at = time_of(key_rest).ok_or_else(|| malformed("its time"))?;
    let mut key = Reader(&key_rest[8..]);
    let first = key.text()?;
    let mut r = Reader(value);
    if r.byte()? != FORMAT {
        return Ok(None);
    }
    let via = r.text()?;
    let flags = (0..r.count()?)
        .map(|_| r.text())
        .collect::<Result<Vec<String>>>()?;
    let n = r.count()?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let event = if i == 0 { first.clone() } else { r.text()? };
        let change = r.opt_text()?;
        // An index into the flags (bounded by them, not by what is left of the row).
        let flag = match r.varint()? {
            0 => None,
            f => Some(
                usize::try_from(f - 1)
                    .ok()
                    .and_then(|f| flags.get(f))
                    .cloned()
                    .ok_or_else(|| malformed("a flag"))?,
            ),
        };
        let receipt = Receipt {
            received_at,
            via: via.clone(),
            change,
            flag,
        };
        out.push((event, receipt));
    }
    if !r.0.is_empty() || !key.0.is_empty() {
        return Err(malformed("its length"));
    }
    Ok(Some(out))
}

fn malformed(what: &str) -> Error {
    Error::Internal(format!("a stored receipt row is malformed: {what}"))
}

/// A time as 8 bytes that sort as the times do.
fn time_bytes(at: Millis) -> [u8; 8] {
    ((at as u64) ^ (1 << 63)).to_be_bytes()
}

fn time_of(bytes: &[u8]) -> Option<Millis> {
    let b: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(b) ^ (1 << 63)) as Millis)
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Whether a text is written as the bytes its hex digits spell: non-empty lower-case hex of
/// even length, so that it reads back as the same text.
fn packs(s: &str) -> bool {
    !s.is_empty()
        && s.len().is_multiple_of(2)
        && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    if packs(s) {
        out.push(1);
        put_varint(out, (s.len() / 2) as u64);
        for pair in s.as_bytes().chunks(2) {
            let digit = |b: u8| if b <= b'9' { b - b'0' } else { b - b'a' + 10 };
            out.push((digit(pair[0]) << 4) | digit(pair[1]));
        }
    } else {
        put_varint(out, s.len() as u64 + 2);
        out.extend_from_slice(s.as_bytes());
    }
}

fn put_opt_text(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_text(out, s),
        None => out.push(0),
    }
}

/// Reads a row's bytes from the front.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if n > self.0.len() {
            return Err(malformed("it ends early"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(malformed("a number"))
    }

    /// A count or index, bounded by what is left of the row (each counted item takes a byte
    /// at least), so that a broken row never asks for a huge allocation.
    fn count(&mut self) -> Result<usize> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.0.len() + 1)
            .ok_or_else(|| malformed("a count"))
    }

    fn opt_text(&mut self) -> Result<Option<String>> {
        let h = self.varint()?;
        match h {
            0 => Ok(None),
            1 => {
                let n = usize::try_from(self.varint()?).map_err(|_| malformed("a length"))?;
                Ok(Some(hex::encode(self.take(n)?)))
            }
            _ => {
                let n = usize::try_from(h - 2).map_err(|_| malformed("a length"))?;
                let bytes = self.take(n)?;
                String::from_utf8(bytes.to_vec())
                    .map(Some)
                    .map_err(|_| malformed("a text"))
            }
        }
    }

    fn text(&mut self) -> Result<String> {
        self.opt_text()?.ok_or_else(|| malformed("a missing text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_sync_core::store::{key_part as part, SledStore};

    fn receipt(at: Millis, via: &str, change: Option<&str>, flag: Option<&str>) -> Receipt {
        Receipt {
            received_at: at,
            via: via.into(),
            change: change.map(Into::into),
            flag: flag.map(Into::into),
        }
    }

    const E1: &str = "019ad5b2c3e47a1b8c9d0e1f2a3b4c5d";
    const E2: &str = "019ad5b2c3e47a1b8c9d0e1f2a3b4c5e";
    const C1: &str = "f259abafad425854af418ff9f2469b0bd6b738009934478142b92a1e5edc637a";
    const C2: &str = "48def150c533ad3b152830c85bc2fdb1a8acea2e94384b957d5ef932dccc3fd6";

    /// An arrival's bytes as stored: a change to them is a new [`FORMAT`] (and this one stays
    /// read), never an edit of this test.
    #[test]
    fn an_arrival_encodes_byte_for_byte_as_stored() {
        let case = part("019ad5b2c3e47a1b8c9d0e1f2a3b4c00");
        let events = [
            (
                EventId::new(E1),
                receipt(1_796_063_321_825, "dev-d7b150096e81", Some(C1), None),
            ),
            (
                EventId::new(E2),
                receipt(
                    1_796_063_321_825,
                    "dev-d7b150096e81",
                    Some(C2),
                    Some("outside_tier: x"),
                ),
            ),
            (
                EventId::new("e-3"),
                receipt(
                    1_796_063_321_825,
                    "dev-d7b150096e81",
                    None,
                    Some("outside_tier: x"),
                ),
            ),
        ];
        let refs: Vec<&(EventId, Receipt)> = events.iter().collect();
        let (key, value) = arrival_row(&case, 1_796_063_321_825, "dev-d7b150096e81", &refs);
        // The time with its sign bit flipped, then the first event's id (packed).
        let want = format!("{:016x}0110{E1}", 1_796_063_321_825u64 | (1 << 63));
        assert_eq!(hex::encode(&key[case.len()..]), want);
        // The format; `via` (18 = 16 bytes of text); one flag (17 = 15 bytes); 3 events: the
        // first's change (packed: 32 bytes) and no flag, the second's id (packed: 16 bytes),
        // change and flag 1, the third's id (5 = 3 bytes of text), no change and flag 1.
        let want = format!(
            "01{via}01{flag}030120{C1}000110{E2}0120{C2}01{e3}0001",
            via = "126465762d643762313530303936653831",
            flag = "116f7574736964655f746965723a2078",
            e3 = "05652d33",
        );
        assert_eq!(hex::encode(&value), want);
        assert_eq!(
            decode_arrival(&key[case.len()..], &value).expect("reads"),
            Some(
                events
                    .iter()
                    .map(|(e, r)| (e.to_string(), r.clone()))
                    .collect()
            )
        );
        // An event with its own change, unflagged: 52 bytes (224 as a per-event row).
        assert_eq!(value.len(), 130);
    }

    #[test]
    fn texts_read_back_as_written() {
        for s in [
            "",
            "a",
            "ab",
            "AB",
            "0f",
            "abc",
            "00ff",
            "dev-1",
            "外",
            "g",
            &"a".repeat(300),
        ] {
            let mut b = Vec::new();
            put_text(&mut b, s);
            let mut r = Reader(&b);
            assert_eq!(r.text().expect("reads"), s, "{s:?}");
            assert!(r.0.is_empty());
        }
        let mut b = Vec::new();
        put_opt_text(&mut b, None);
        assert_eq!(Reader(&b).opt_text().expect("reads"), None);
        for t in [Millis::MIN, -1, 0, 1, 1_796_063_321_825, Millis::MAX] {
            assert_eq!(time_of(&time_bytes(t)), Some(t));
        }
        assert!(time_bytes(-1) < time_bytes(0) && time_bytes(0) < time_bytes(1));
    }

    /// A ledger written by an earlier release holds one JSON row per event; written by hand
    /// here as that release wrote them. They read as before, beside the arrivals written since.
    #[test]
    fn per_event_rows_of_earlier_releases_read_beside_arrivals() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("store");
        let case = part("019ad5b2c3e47a1b8c9d0e1f2a3b4c00");
        let mut batch = Batch::new();
        let mut old_key = case.clone();
        old_key.extend_from_slice(b"old-event");
        batch.put(
            trees::RECEIPTS,
            old_key,
            format!(r#"{{"received_at":1700000000000,"via":"dev-old","change":"{C1}","flag":"unknown_reference: g9"}}"#),
        );
        // An event received twice: the later arrival is its receipt.
        let mut again = case.clone();
        again.extend_from_slice(E2.as_bytes());
        batch.put(
            trees::RECEIPTS,
            again,
            r#"{"received_at":1700000000001,"via":"dev-old","change":null,"flag":null}"#,
        );
        let later = [
            (
                EventId::new(E1),
                receipt(1_800_000_000_000, "online:op", None, None),
            ),
            (
                EventId::new(E2),
                receipt(1_800_000_000_000, "online:op", Some(C2), None),
            ),
            // Another device in the same write (no writer does this today): its own row.
            (
                EventId::new("x"),
                receipt(1_800_000_000_000, "dev-2", None, Some("f")),
            ),
        ];
        stage(&mut batch, &case, &later);
        // Another case's rows are not this one's.
        stage(
            &mut batch,
            &part("019ad5b2c3e47a1b8c9d0e1f2a3b4c0"),
            &later[..1],
        );
        store.commit(batch).expect("written");

        let read = read(&store, &case).expect("reads");
        let want: BTreeMap<String, Receipt> = [
            (
                "old-event".to_owned(),
                receipt(
                    1_700_000_000_000,
                    "dev-old",
                    Some(C1),
                    Some("unknown_reference: g9"),
                ),
            ),
            (E1.to_owned(), later[0].1.clone()),
            (E2.to_owned(), later[1].1.clone()),
            ("x".to_owned(), later[2].1.clone()),
        ]
        .into_iter()
        .collect();
        assert_eq!(read, want);
        assert_eq!(
            store.scan_prefix(ARRIVALS, &case).count(),
            2,
            "one row an arrival"
        );
        assert_eq!(
            first_received(&store, &case).expect("reads"),
            Some(1_700_000_000_000)
        );
        assert_eq!(first_received(&store, &part("none")).expect("reads"), None);
    }

    #[test]
    fn flags_and_missing_changes_read_back_in_any_order() {
        let at = 7;
        let events: Vec<(EventId, Receipt)> = [
            ("e1", Some(C1), Some("b")),
            ("e2", None, Some("a")),
            ("e3", Some(C2), None),
            ("e4", None, Some("b")),
            ("e5", None, Some("c")),
            ("e6", None, Some("a")),
        ]
        .into_iter()
        .map(|(e, c, f)| (EventId::new(e), receipt(at, "d", c, f)))
        .collect();
        for n in 1..=events.len() {
            let refs: Vec<_> = events[..n].iter().collect();
            let (key, value) = arrival_row(&[], at, "d", &refs);
            let want: Vec<(String, Receipt)> = events[..n]
                .iter()
                .map(|(e, r)| (e.to_string(), r.clone()))
                .collect();
            assert_eq!(decode_arrival(&key, &value).expect("reads"), Some(want));
        }
    }

    #[test]
    fn a_row_of_a_later_format_is_left_out_and_a_broken_one_is_an_error() {
        let key = {
            let mut k = time_bytes(5).to_vec();
            put_text(&mut k, "e");
            k
        };
        assert_eq!(decode_arrival(&key, &[2, 0xff]).expect("skipped"), None);
        let events = [(EventId::new("e"), receipt(5, "d", Some(C1), Some("f")))];
        let refs: Vec<_> = events.iter().collect();
        let (_, value) = arrival_row(&[], 5, "d", &refs);
        assert!(decode_arrival(&key, &value).expect("reads").is_some());
        for cut in 1..value.len() {
            assert!(decode_arrival(&key, &value[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = value.clone();
        longer.push(0);
        assert!(decode_arrival(&key, &longer).is_err());
        assert!(decode_arrival(&key[..7], &value).is_err());
    }
}
