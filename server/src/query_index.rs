//! Secondary index of case summaries for lists: one key per (field, value) a case has, ordered
//! newest first. A list walks the most selective term its filters (or the caller's scope) name
//! and checks each candidate against its summary, so stale entries cost a lookup, never a
//! wrong answer; the index only has to be a superset of the truth.
//!
//! Two stored forms ([`Form`]). Version 4 ([`TREE`]) keys a term by a one-byte field code and
//! a case by its id's 16 bytes (after a byte that says so): 36 bytes a key in a medium field
//! day's ledger where version 3 spent 72, about 600 B a case (BENCHMARKS.md, "The query index,
//! version 4"). Versions 1–3 ([`LEGACY_TREE`]) named the field and the id as text; a ledger
//! written by them is read in that form while version 4 is built from its summaries, then the
//! old keys are deleted (`Ledger::ensure_query_index`).
//! Callers only ever see version 4's suffixes: the legacy form is translated at the edge.

use crate::search_text;
use crate::summary::CaseSummary;
use gridcase_sync_core::store::{key_part, Batch};
use gridcase_sync_core::{
    CaseId, CategoryCode, CommunityId, GridId, Level, Millis, Status, StreetId, UnitId,
};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Version 4's tree. The name is short because the store keeps it in every key (PostgreSQL's
/// rows hold it whole; sled shares it within a node).
pub const TREE: &str = "qi4";

/// The tree of index versions 1–3: read only until version 4 is complete, then emptied.
pub const LEGACY_TREE: &str = "ledger_query_index";

/// One term a summary is found under: a field and its value. Stored as
/// `code + key_part(value)` (see [`Term::prefix`]; version 3: `key_part(field) +
/// key_part(value)`) with the field codes, names and value texts below; stored indexes depend
/// on them, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Every case (`all`, empty value).
    All,
    /// `status`, by the status's name.
    Status(Status),
    /// `step` of the seven-step loop, in decimal.
    Step(u8),
    Street(StreetId),
    Community(CommunityId),
    Grid(GridId),
    Category(CategoryCode),
    /// `level`, by the level's machine name.
    Level(Level),
    /// Each unit ever named in filing or dispatch.
    Unit(UnitId),
    /// `conflict`: `true` while the case has open conflicts, else `false`.
    Conflict(bool),
    /// `review` = `true`: open conflicts or flagged events (the review queue); never `false`.
    Review,
    /// `text`: a token of the description ([`search_text::tokens`]): a CJK character or pair,
    /// or a lower-case word.
    Text(String),
    /// `address`: a token of the address as reported, like [`Term::Text`]; a field of its own,
    /// so that a street named in a description does not find cases at that street.
    Address(String),
    /// `open_cell`: while the case is open, the [`GeoCell`] of its coordinates (`row/col`),
    /// alone and with its category (`row/col/C0101`): duplicates are looked up near a place.
    OpenCell(GeoCell, Option<CategoryCode>),
    /// `open_place`: while the case is open, its address as the address register compares
    /// addresses ([`place_key`]).
    OpenPlace(String),
    /// `callback_due` = `true`: a closed case with callers waiting for their callback (回访):
    /// the desk's callback worklist; never `false`.
    CallbackDue,
    /// `escalated` = `true`: a case escalated to the supervisor (督办), e.g. after a
    /// dissatisfied callback; never `false`.
    Escalated,
}

impl Term {
    /// The field's code in version 4's keys. Stored: a code is never reused or renumbered.
    pub fn code(&self) -> u8 {
        match self {
            Term::All => 1,
            Term::Status(_) => 2,
            Term::Step(_) => 3,
            Term::Street(_) => 4,
            Term::Community(_) => 5,
            Term::Grid(_) => 6,
            Term::Category(_) => 7,
            Term::Level(_) => 8,
            Term::Unit(_) => 9,
            Term::Conflict(_) => 10,
            Term::Review => 11,
            Term::Text(_) => 12,
            Term::Address(_) => 13,
            Term::OpenCell(..) => 14,
            Term::OpenPlace(_) => 15,
            Term::CallbackDue => 16,
            Term::Escalated => 17,
        }
    }

    /// The field's name in version 3's keys.
    pub fn field(&self) -> &'static str {
        match self {
            Term::All => "all",
            Term::Status(_) => "status",
            Term::Step(_) => "step",
            Term::Street(_) => "street",
            Term::Community(_) => "community",
            Term::Grid(_) => "grid",
            Term::Category(_) => "category",
            Term::Level(_) => "level",
            Term::Unit(_) => "unit",
            Term::Conflict(_) => "conflict",
            Term::Review => "review",
            Term::Text(_) => "text",
            Term::Address(_) => "address",
            Term::OpenCell(..) => "open_cell",
            Term::OpenPlace(_) => "open_place",
            Term::CallbackDue => "callback_due",
            Term::Escalated => "escalated",
        }
    }

    /// Whether the term is one of those search added (index version 3): text, address and the
    /// places of open cases. A ledger indexed by version 2 (or whose version-3 terms were still
    /// being added) is read without them until version 4 is built
    /// (`Ledger::search_index_complete`).
    pub fn is_search(&self) -> bool {
        matches!(
            self,
            Term::Text(_) | Term::Address(_) | Term::OpenCell(..) | Term::OpenPlace(_)
        )
    }

    /// The value's text in stored keys.
    pub fn value(&self) -> Cow<'_, str> {
        match self {
            Term::All => Cow::Borrowed(""),
            Term::Status(s) => Cow::Borrowed(s.as_str()),
            Term::Step(n) => Cow::Owned(n.to_string()),
            Term::Street(id) => Cow::Borrowed(id.as_str()),
            Term::Community(id) => Cow::Borrowed(id.as_str()),
            Term::Grid(id) => Cow::Borrowed(id.as_str()),
            Term::Category(c) => Cow::Borrowed(c.as_str()),
            Term::Level(l) => Cow::Borrowed(l.as_str()),
            Term::Unit(id) => Cow::Borrowed(id.as_str()),
            Term::Conflict(true) | Term::Review | Term::CallbackDue | Term::Escalated => {
                Cow::Borrowed("true")
            }
            Term::Conflict(false) => Cow::Borrowed("false"),
            Term::Text(t) | Term::Address(t) | Term::OpenPlace(t) => Cow::Borrowed(t),
            Term::OpenCell(cell, None) => Cow::Owned(format!("{}/{}", cell.row, cell.col)),
            Term::OpenCell(cell, Some(c)) => {
                Cow::Owned(format!("{}/{}/{}", cell.row, cell.col, c.as_str()))
            }
        }
    }

    /// The key prefix of this term in version 4: its entries follow it, newest first
    /// ([`suffix`]).
    pub fn prefix(&self) -> Vec<u8> {
        let mut k = vec![self.code()];
        k.extend_from_slice(&key_part(&self.value()));
        k
    }

    /// The key prefix of this term in versions 1–3.
    pub fn legacy_prefix(&self) -> Vec<u8> {
        let mut k = key_part(self.field());
        k.extend_from_slice(&key_part(&self.value()));
        k
    }
}

/// The terms a summary is found under.
pub fn terms(s: &CaseSummary) -> Vec<Term> {
    let mut t = vec![Term::All];
    if let Some(status) = s.status {
        t.push(Term::Status(status));
    }
    t.push(Term::Step(s.step));
    if let Some(v) = &s.street {
        t.push(Term::Street(v.as_str().into()));
    }
    if let Some(v) = &s.community {
        t.push(Term::Community(v.as_str().into()));
    }
    if let Some(v) = &s.grid {
        t.push(Term::Grid(v.as_str().into()));
    }
    // Every summary ever stored wrote these from the fold's `CategoryCode` and `Level`
    // (`as_str`), so they read back to the same text.
    if let Some(c) = s.category.as_deref().and_then(CategoryCode::parse) {
        t.push(Term::Category(c));
    }
    if let Some(l) = s.level.as_deref().and_then(Level::parse) {
        t.push(Term::Level(l));
    }
    for u in &s.units {
        t.push(Term::Unit(u.as_str().into()));
    }
    if s.callbacks_due > 0 {
        t.push(Term::CallbackDue);
    }
    if s.escalations > 0 {
        t.push(Term::Escalated);
    }
    t.push(Term::Conflict(s.open_conflicts > 0));
    if s.open_conflicts > 0 || s.flagged_events > 0 {
        t.push(Term::Review);
    }
    t.extend(
        search_text::tokens(&s.description)
            .into_iter()
            .map(Term::Text),
    );
    if let Some(address) = &s.address {
        t.extend(search_text::tokens(address).into_iter().map(Term::Address));
    }
    // Only open cases can be suggested as duplicates: a closed one leaves these terms.
    if s.status.is_some_and(Status::is_open) {
        if let Some(cell) = s.coordinates.and_then(|(lon, lat)| GeoCell::of(lon, lat)) {
            t.push(Term::OpenCell(cell, None));
            if let Some(c) = s.category.as_deref().and_then(CategoryCode::parse) {
                t.push(Term::OpenCell(cell, Some(c)));
            }
        }
        if let Some(place) = s.address.as_deref().and_then(place_key) {
            t.push(Term::OpenPlace(place));
        }
    }
    t
}

/// An address as duplicates compare it: normalized as the address register compares addresses
/// (spacing, width, case and commas do not matter); `None` when nothing is left. The index
/// keeps its first [`PLACE_CHARS`] characters (a superset: the summary decides).
pub fn place_key(address: &str) -> Option<String> {
    let normalized = crate::addresses::normalize(address);
    (!normalized.is_empty()).then(|| normalized.chars().take(PLACE_CHARS).collect())
}

/// How much of a normalized address the `open_place` term keeps, in characters.
pub const PLACE_CHARS: usize = 64;

/// A cell of the coarse grid that duplicates are looked up in: rows of 0.0005° of latitude
/// (55.6 m), each cut into columns at least as wide. A row's column width comes from a table
/// by the 10° band of its edge farther from the equator, never from a cosine computed at run
/// time, so a point's cell is the same on every platform and in every release.
///
/// Every point within 50 m of another lies in one of the 9 cells around it ([`GeoCell::around`]):
/// at most one row away, and in that row at most one column away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GeoCell {
    pub row: i32,
    pub col: i32,
}

/// The height of a row, in degrees of latitude.
const ROW_DEGREES: f64 = 0.0005;

/// Rows in 10° of latitude.
const ROWS_PER_BAND: i64 = 20_000;

/// Column widths in degrees of longitude, by band (0°–10°, 10°–20°, …, 80°–90°): 0.0005° over
/// the cosine of the band's upper latitude, rounded up, so no column of the band is narrower
/// than a row is high. The last band is one column around the world.
const COL_DEGREES: [f64; 9] = [
    0.00051, 0.00054, 0.00058, 0.00066, 0.00078, 0.001, 0.00147, 0.0029, 360.0,
];

impl GeoCell {
    /// The cell of (longitude, latitude); `None` for coordinates that are no place.
    pub fn of(lon: f64, lat: f64) -> Option<GeoCell> {
        if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0) {
            return None;
        }
        let row = (lat / ROW_DEGREES).floor() as i32;
        Some(GeoCell {
            row,
            col: column(row, lon),
        })
    }

    /// The 9 cells around a point (its own among them), which hold every point within 50 m.
    pub fn around(lon: f64, lat: f64) -> Vec<GeoCell> {
        let Some(centre) = GeoCell::of(lon, lat) else {
            return Vec::new();
        };
        let mut cells = Vec::with_capacity(9);
        for row in centre.row - 1..=centre.row + 1 {
            let col = column(row, lon);
            for col in col - 1..=col + 1 {
                cells.push(GeoCell { row, col });
            }
        }
        cells
    }
}

/// The column of a longitude in a row.
fn column(row: i32, lon: f64) -> i32 {
    // The row's edge farther from the equator, in rows, and its 10° band.
    let edge = if row >= 0 {
        i64::from(row) + 1
    } else {
        -i64::from(row)
    };
    let band = usize::try_from((edge - 1).max(0) / ROWS_PER_BAND).unwrap_or(usize::MAX);
    let width = COL_DEGREES[band.min(COL_DEGREES.len() - 1)];
    (lon / width).floor() as i32
}

/// In a version-4 suffix, after the creation time: the case id as the 16 bytes its 32
/// lower-case hex digits spell (every id `CaseId::generate` mints)...
const HEX_ID: u8 = 1;
/// ...or any other id as its text (ids from a directory or an older release).
const TEXT_ID: u8 = 2;

/// Newest first: the creation time inverted, then the case id ([`HEX_ID`], [`TEXT_ID`]).
pub fn suffix(s: &CaseSummary) -> Vec<u8> {
    let created = u64::try_from(s.created_at.max(0)).unwrap_or(0);
    let mut k = (u64::MAX - created).to_be_bytes().to_vec();
    k.extend_from_slice(&id_bytes(s.id.as_str()));
    k
}

/// A case id as version 4's keys hold it.
fn id_bytes(id: &str) -> Vec<u8> {
    let hex = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match hex.then(|| hex::decode(id)) {
        Some(Ok(bytes)) => [&[HEX_ID][..], &bytes].concat(),
        _ => [&[TEXT_ID][..], id.as_bytes()].concat(),
    }
}

/// The case of a version-4 suffix.
fn id_of(suffix: &[u8]) -> Option<CaseId> {
    let rest = suffix.get(8..)?;
    match rest.split_first()? {
        (&HEX_ID, bytes) if bytes.len() == 16 => Some(CaseId::new(hex::encode(bytes))),
        (&TEXT_ID, text) => std::str::from_utf8(text).ok().map(CaseId::from),
        _ => None,
    }
}

/// An entry of a term as a walk reads it: its index-key suffix ([`suffix`]) and its case.
pub type Entry = (Vec<u8>, CaseId);

/// The creation time an index-key suffix ([`suffix`]) starts with.
pub fn created_of(suffix: &[u8]) -> Option<Millis> {
    let inverted = u64::from_be_bytes(suffix.get(..8)?.try_into().ok()?);
    i64::try_from(u64::MAX - inverted).ok()
}

/// A suffix a list handed out as its cursor, in version 4's form: a cursor from before
/// version 4 names the case as text (its first byte is printable, never a form byte).
pub fn cursor_suffix(bytes: Vec<u8>) -> Vec<u8> {
    match bytes.get(8) {
        None | Some(&HEX_ID) | Some(&TEXT_ID) => bytes,
        Some(_) => from_legacy(&bytes),
    }
}

/// A suffix of versions 1–3 (the creation time, then the case id as text) in version 4's form.
fn from_legacy(stored: &[u8]) -> Vec<u8> {
    match stored.split_at_checked(8) {
        Some((time, id)) if !id.is_empty() => {
            [time, &id_bytes(&String::from_utf8_lossy(id))].concat()
        }
        _ => stored.to_vec(),
    }
}

/// Where a term's entries are kept: a stored form of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Version 4: field codes, case ids as bytes.
    V4,
    /// Versions 1–3: field names and case ids as text.
    Legacy,
}

impl Form {
    /// The tree of this form.
    pub fn tree(self) -> &'static str {
        match self {
            Form::V4 => TREE,
            Form::Legacy => LEGACY_TREE,
        }
    }

    /// The key prefix of a term in this form.
    pub fn prefix(self, term: &Term) -> Vec<u8> {
        match self {
            Form::V4 => term.prefix(),
            Form::Legacy => term.legacy_prefix(),
        }
    }

    /// A (version-4) suffix as this form writes it: the creation time, then the case id as
    /// version 4 keeps it or (versions 1–3) as its text; a suffix of the creation time alone
    /// (where a walk starts) is the same in both.
    pub fn suffix(self, suffix: &[u8]) -> Vec<u8> {
        match self {
            Form::V4 => suffix.to_vec(),
            Form::Legacy => match id_of(suffix) {
                Some(id) => [&suffix[..8], id.as_str().as_bytes()].concat(),
                None => suffix.to_vec(),
            },
        }
    }

    /// The index key of a term for a summary with this (version-4) suffix.
    pub fn key(self, term: &Term, suffix: &[u8]) -> Vec<u8> {
        let mut k = self.prefix(term);
        k.extend_from_slice(&self.suffix(suffix));
        k
    }

    /// An index key of a term whose prefix is `prefix_len` bytes long, read back as its
    /// version-4 suffix and its case.
    pub fn entry(self, key: &[u8], prefix_len: usize) -> Entry {
        let stored = key.get(prefix_len..).unwrap_or_default();
        let suffix = match self {
            Form::V4 => stored.to_vec(),
            Form::Legacy => from_legacy(stored),
        };
        let case = id_of(&suffix).unwrap_or_else(|| CaseId::new(""));
        (suffix, case)
    }
}

/// Stages the index entries of a new summary in each of `forms`, dropping those the old one
/// had and it has not. Every entry of the new one is put again, even one the old had: a
/// concurrent writer that indexed from the same old summary may have dropped it
/// (`Ledger::settle` re-indexes after).
pub fn stage(batch: &mut Batch, forms: &[Form], old: Option<&CaseSummary>, new: &CaseSummary) {
    let (new_terms, new_suffix) = (terms(new), suffix(new));
    let old = old.map(|old| (terms(old), suffix(old)));
    for &form in forms {
        // A set: a summary has dozens of terms once its text is indexed.
        let new_keys: BTreeSet<Vec<u8>> =
            new_terms.iter().map(|t| form.key(t, &new_suffix)).collect();
        if let Some((old_terms, old_suffix)) = &old {
            for term in old_terms {
                let k = form.key(term, old_suffix);
                if !new_keys.contains(&k) {
                    batch.delete(form.tree(), k);
                }
            }
        }
        for k in new_keys {
            batch.put(form.tree(), k, Vec::new());
        }
    }
}

/// Open311's status changes of public cases by the time they were published
/// ([`crate::summary::StatusChange`]): key = time (u64, big-endian) + case (key part) + event
/// id, no value. Like the terms above, a superset of the truth that readers check against the
/// summary.
pub const PUBLISHED: &str = "ledger_open311_updates";

/// The key of one published status change (with empty `case` and `event`: where `at` starts).
pub fn published_key(at: gridcase_sync_core::Millis, case: &str, event: &str) -> Vec<u8> {
    let mut k = u64::try_from(at.max(0)).unwrap_or(0).to_be_bytes().to_vec();
    k.extend_from_slice(&key_part(case));
    k.extend_from_slice(event.as_bytes());
    k
}

/// (time, case, event) of a published key.
pub fn published_of(key: &[u8]) -> Option<(gridcase_sync_core::Millis, CaseId, String)> {
    let at = u64::from_be_bytes(key.get(..8)?.try_into().ok()?);
    let len = usize::from(u16::from_be_bytes(key.get(8..10)?.try_into().ok()?));
    let case = std::str::from_utf8(key.get(10..10 + len)?).ok()?;
    let event = std::str::from_utf8(key.get(10 + len..)?).ok()?;
    Some((i64::try_from(at).ok()?, CaseId::new(case), event.to_owned()))
}

fn published_keys(s: &CaseSummary) -> Vec<Vec<u8>> {
    s.status_changes()
        .iter()
        .map(|c| published_key(c.published_at, &s.id, &c.event))
        .collect()
}

/// Stages the published changes of a new summary, dropping those the old one had and it has not.
pub fn stage_published(batch: &mut Batch, old: Option<&CaseSummary>, new: &CaseSummary) {
    let keys = published_keys(new);
    for k in old.map(published_keys).unwrap_or_default() {
        if !keys.contains(&k) {
            batch.delete(PUBLISHED, k);
        }
    }
    for k in keys {
        batch.put(PUBLISHED, k, Vec::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A summary with every indexed field set.
    fn summary(open_conflicts: usize, flagged_events: usize) -> CaseSummary {
        serde_json::from_value(serde_json::json!({
            "id": "019a-case", "status": "in_progress", "step": 4,
            "street": "s1", "community": "c1", "grid": "g1", "unit": "u2",
            "units": ["u1", "u2"], "category": "E0101", "level": "urgent",
            "channel": "hotline", "description": "a lamp is out",
            "created_at": 1_000, "filed_at": null, "dispatched_at": null,
            "deadline": null, "closed_at": null, "rework_count": 0, "extensions": 0,
            "satisfaction": null, "events": 3, "open_conflicts": open_conflicts,
            "flagged_events": flagged_events, "updated_at": 2_000
        }))
        .expect("a summary")
    }

    /// Indexes of versions 1–3 were written with these exact bytes (u16 big-endian length +
    /// text, for the field and then the value): a term must never encode otherwise there.
    #[test]
    fn terms_encode_byte_for_byte_as_stored() {
        let pinned: [(Term, &[u8]); 12] = [
            (Term::All, b"\x00\x03all\x00\x00"),
            (
                Term::Status(Status::InProgress),
                b"\x00\x06status\x00\x0bin_progress",
            ),
            (Term::Step(4), b"\x00\x04step\x00\x014"),
            (Term::Street("s1".into()), b"\x00\x06street\x00\x02s1"),
            (Term::Community("c1".into()), b"\x00\x09community\x00\x02c1"),
            (Term::Grid("g1".into()), b"\x00\x04grid\x00\x02g1"),
            (
                Term::Category(CategoryCode::parse("E0101").expect("a code")),
                b"\x00\x08category\x00\x05E0101",
            ),
            (Term::Level(Level::Urgent), b"\x00\x05level\x00\x06urgent"),
            (Term::Unit("u1".into()), b"\x00\x04unit\x00\x02u1"),
            (Term::Conflict(true), b"\x00\x08conflict\x00\x04true"),
            (Term::Conflict(false), b"\x00\x08conflict\x00\x05false"),
            (Term::Review, b"\x00\x06review\x00\x04true"),
        ];
        for (term, bytes) in pinned {
            assert_eq!(term.legacy_prefix(), bytes, "{term:?}");
        }
        // Every status and level by its stored name, and a two-digit step.
        for status in Status::ALL {
            let mut want = b"\x00\x06status".to_vec();
            want.extend_from_slice(&key_part(status.as_str()));
            assert_eq!(Term::Status(status).legacy_prefix(), want);
        }
        for level in Level::ALL {
            let mut want = b"\x00\x05level".to_vec();
            want.extend_from_slice(&key_part(level.as_str()));
            assert_eq!(Term::Level(level).legacy_prefix(), want);
        }
        assert_eq!(Term::Step(12).legacy_prefix(), b"\x00\x04step\x00\x0212");
    }

    #[test]
    fn a_summary_is_found_under_the_terms_it_always_was() {
        // The terms of index versions 1 and 2, unchanged; version 3's follow them.
        let prefixes = |s: &CaseSummary| {
            terms(s)
                .iter()
                .filter(|t| !t.is_search())
                .map(Term::legacy_prefix)
                .collect::<Vec<_>>()
        };
        let common: [&[u8]; 10] = [
            b"\x00\x03all\x00\x00",
            b"\x00\x06status\x00\x0bin_progress",
            b"\x00\x04step\x00\x014",
            b"\x00\x06street\x00\x02s1",
            b"\x00\x09community\x00\x02c1",
            b"\x00\x04grid\x00\x02g1",
            b"\x00\x08category\x00\x05E0101",
            b"\x00\x05level\x00\x06urgent",
            b"\x00\x04unit\x00\x02u1",
            b"\x00\x04unit\x00\x02u2",
        ];
        let mut quiet: Vec<&[u8]> = common.to_vec();
        quiet.push(b"\x00\x08conflict\x00\x05false");
        assert_eq!(prefixes(&summary(0, 0)), quiet);
        let mut flagged = quiet.clone();
        flagged.push(b"\x00\x06review\x00\x04true");
        assert_eq!(prefixes(&summary(0, 1)), flagged);
        let mut conflicted: Vec<&[u8]> = common.to_vec();
        conflicted.push(b"\x00\x08conflict\x00\x04true");
        conflicted.push(b"\x00\x06review\x00\x04true");
        assert_eq!(prefixes(&summary(2, 0)), conflicted);
        // Newest first: the creation time inverted, then the case id.
        let mut want = (u64::MAX - 1_000).to_be_bytes().to_vec();
        want.extend_from_slice(b"019a-case");
        assert_eq!(Form::Legacy.suffix(&suffix(&summary(0, 0))), want);
    }

    /// Version 4's keys, byte for byte: the field's code, then the value as in version 3.
    #[test]
    fn version_4_terms_encode_byte_for_byte() {
        let pinned: [(Term, &[u8]); 17] = [
            (Term::All, b"\x01\x00\x00"),
            (Term::Status(Status::InProgress), b"\x02\x00\x0bin_progress"),
            (Term::Step(4), b"\x03\x00\x014"),
            (Term::Street("s1".into()), b"\x04\x00\x02s1"),
            (Term::Community("c1".into()), b"\x05\x00\x02c1"),
            (Term::Grid("g1".into()), b"\x06\x00\x02g1"),
            (
                Term::Category(CategoryCode::parse("E0101").expect("a code")),
                b"\x07\x00\x05E0101",
            ),
            (Term::Level(Level::Urgent), b"\x08\x00\x06urgent"),
            (Term::Unit("u1".into()), b"\x09\x00\x02u1"),
            (Term::Conflict(false), b"\x0a\x00\x05false"),
            (Term::Review, b"\x0b\x00\x04true"),
            (Term::Text("led".into()), b"\x0c\x00\x03led"),
            (Term::Address("12".into()), b"\x0d\x00\x0212"),
            (
                Term::OpenCell(GeoCell { row: 1, col: 2 }, None),
                b"\x0e\x00\x031/2",
            ),
            (Term::OpenPlace("x".into()), b"\x0f\x00\x01x"),
            (Term::CallbackDue, b"\x10\x00\x04true"),
            (Term::Escalated, b"\x11\x00\x04true"),
        ];
        for (term, bytes) in pinned {
            assert_eq!(term.prefix(), bytes, "{term:?}");
            assert_eq!(Form::V4.prefix(&term), bytes);
        }
    }

    /// A generated id is kept as its 16 bytes, any other as its text; both read back, from
    /// either form, and a cursor handed out before version 4 walks on from the same place.
    #[test]
    fn suffixes_read_back_in_both_forms() {
        let mut s = summary(0, 0);
        s.id = "019a0b1c2d3e7f00a1b2c3d4e5f60718".into();
        let time = (u64::MAX - 1_000).to_be_bytes();
        let v4 = suffix(&s);
        let mut want = time.to_vec();
        want.push(1);
        want.extend_from_slice(&hex::decode(&s.id).expect("hex"));
        assert_eq!(v4, want);
        let legacy = Form::Legacy.suffix(&v4);
        assert_eq!(legacy, [&time[..], s.id.as_bytes()].concat());
        for form in [Form::V4, Form::Legacy] {
            let key = form.key(&Term::All, &v4);
            let prefix = form.prefix(&Term::All).len();
            assert_eq!(
                form.entry(&key, prefix),
                (v4.clone(), CaseId::new(s.id.clone())),
                "{form:?}"
            );
        }
        assert_eq!(cursor_suffix(legacy), v4);
        assert_eq!(cursor_suffix(v4.clone()), v4);
        // A time alone (where a walk starts) is the same in both forms.
        assert_eq!(Form::Legacy.suffix(&time), time);
        assert_eq!(cursor_suffix(time.to_vec()), time);

        // Upper-case hex, or any other text, stays text.
        for id in ["019A0B1C2D3E7F00A1B2C3D4E5F60718", "case-7", "案件"] {
            s.id = id.into();
            let v4 = suffix(&s);
            assert_eq!(v4, [&time[..], &[2], id.as_bytes()].concat());
            let key = Form::Legacy.key(&Term::All, &v4);
            let prefix = Term::All.legacy_prefix().len();
            assert_eq!(
                Form::Legacy.entry(&key, prefix),
                (v4.clone(), CaseId::new(s.id.clone()))
            );
            assert_eq!(cursor_suffix(Form::Legacy.suffix(&v4)), v4);
        }
    }

    /// An open case with an address and coordinates.
    fn placed(status: &str) -> CaseSummary {
        let mut s = summary(0, 0);
        s.status = Status::parse(status);
        s.description = "路灯不亮 LED".into();
        s.address = Some("南池子大街 12号".into());
        s.coordinates = Some((116.4021, 39.9123));
        s
    }

    #[test]
    fn search_terms_encode_byte_for_byte() {
        let pinned: [(Term, &[u8]); 5] = [
            (
                Term::Text("路灯".into()),
                b"\x00\x04text\x00\x06\xe8\xb7\xaf\xe7\x81\xaf",
            ),
            (Term::Address("12".into()), b"\x00\x07address\x00\x0212"),
            (
                Term::OpenCell(
                    GeoCell {
                        row: 79824,
                        col: -3,
                    },
                    None,
                ),
                b"\x00\x09open_cell\x00\x0879824/-3",
            ),
            (
                Term::OpenCell(
                    GeoCell { row: 1, col: 2 },
                    Some(CategoryCode::parse("C0101").expect("a code")),
                ),
                b"\x00\x09open_cell\x00\x091/2/C0101",
            ),
            (
                Term::OpenPlace("x号".into()),
                b"\x00\x0aopen_place\x00\x04x\xe5\x8f\xb7",
            ),
        ];
        for (term, bytes) in pinned {
            assert_eq!(term.legacy_prefix(), bytes, "{term:?}");
        }
    }

    #[test]
    fn text_address_and_the_place_of_an_open_case_are_terms() {
        let s = placed("in_progress");
        let search: Vec<Term> = terms(&s).into_iter().filter(Term::is_search).collect();
        let cell = GeoCell::of(116.4021, 39.9123).expect("a place");
        let category = CategoryCode::parse("E0101").expect("a code");
        for want in [
            Term::Text("路灯".into()),
            Term::Text("亮".into()),
            Term::Text("led".into()),
            Term::Address("南池".into()),
            Term::Address("12".into()),
            Term::OpenCell(cell, None),
            Term::OpenCell(cell, Some(category)),
            Term::OpenPlace("南池子大街12号".into()),
        ] {
            assert!(search.contains(&want), "{want:?} in {search:?}");
        }
        assert!(!search.contains(&Term::Address("路灯".into())));
        assert!(!search.contains(&Term::Text("南池".into())));
        // A closed case keeps its text and address, and leaves the places of open cases.
        let closed = placed("closed");
        let mut batch = Batch::new();
        stage(&mut batch, &[Form::V4], Some(&s), &closed);
        let closed_terms = terms(&closed);
        assert!(closed_terms.contains(&Term::Text("路灯".into())));
        assert!(!closed_terms
            .iter()
            .any(|t| matches!(t, Term::OpenCell(..) | Term::OpenPlace(_))));
        assert_eq!(
            batch.len(),
            closed_terms.len() + 4,
            "the old status and 3 places go"
        );
    }

    #[test]
    fn a_suffix_gives_back_its_creation_time() {
        let s = summary(0, 0);
        assert_eq!(created_of(&suffix(&s)), Some(1_000));
        assert_eq!(created_of(b"short"), None);
    }

    /// Metres between two points (the haversine, on a sphere of 6,371 km).
    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
        let (dla, dlo) = (la2 - la1, (b.0 - a.0).to_radians());
        let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
        2.0 * 6_371_000.0 * h.sqrt().asin()
    }

    #[test]
    fn every_point_within_fifty_metres_is_in_the_nine_cells_around() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..200_000 {
            let lat = next() * 170.0 - 85.0;
            let lon = next() * 359.0 - 179.5;
            let (bearing, distance) = (next() * std::f64::consts::TAU, next() * 50.0);
            // A point at `distance` metres (on the sphere, near enough at 50 m).
            let dlat = distance * bearing.cos() / 111_194.9;
            let dlon = distance * bearing.sin() / (111_194.9 * (lat + dlat).to_radians().cos());
            let other = (lon + dlon, lat + dlat);
            if metres((lon, lat), other) > 50.0 {
                continue;
            }
            let cell = GeoCell::of(other.0, other.1).expect("a place");
            assert!(
                GeoCell::around(lon, lat).contains(&cell),
                "({lon}, {lat}) and {other:?}"
            );
        }
        assert_eq!(GeoCell::around(f64::NAN, 1.0), []);
        assert_eq!(GeoCell::of(181.0, 1.0), None);
        // Columns are as wide as rows are high, or wider: about 56 m at Beijing's latitude.
        let a = GeoCell::of(116.4, 39.9).expect("a place");
        let b = GeoCell::of(116.4 + 0.00066, 39.9).expect("a place");
        assert_eq!(b.col, a.col + 1);
    }
}
