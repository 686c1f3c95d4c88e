//! Secondary index of case summaries for lists: one key per (field, value) a case has, ordered
//! newest first. A list walks the most selective term its filters (or the caller's scope) name
//! and checks each candidate against its summary, so stale entries cost a lookup, never a
//! wrong answer; the index only has to be a superset of the truth.

use crate::summary::CaseSummary;
use gridcase_sync_core::store::{key_part, Batch};
use gridcase_sync_core::{
    CaseId, CategoryCode, CommunityId, GridId, Level, Status, StreetId, UnitId,
};
use std::borrow::Cow;

pub const TREE: &str = "ledger_query_index";

/// One term a summary is found under: a field and its value. Stored as
/// `key_part(field) + key_part(value)` (see [`Term::prefix`]) with the field names and value
/// texts below; stored indexes depend on them, byte for byte.
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
}

impl Term {
    /// The field's name in stored keys.
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
        }
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
            Term::Conflict(true) | Term::Review => Cow::Borrowed("true"),
            Term::Conflict(false) => Cow::Borrowed("false"),
        }
    }

    /// The key prefix of this term: its entries follow it, newest first ([`suffix`]).
    pub fn prefix(&self) -> Vec<u8> {
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
    t.push(Term::Conflict(s.open_conflicts > 0));
    if s.open_conflicts > 0 || s.flagged_events > 0 {
        t.push(Term::Review);
    }
    t
}

/// Newest first: the creation time inverted, then the case id.
pub fn suffix(s: &CaseSummary) -> Vec<u8> {
    let created = u64::try_from(s.created_at.max(0)).unwrap_or(0);
    let mut k = (u64::MAX - created).to_be_bytes().to_vec();
    k.extend_from_slice(s.id.as_bytes());
    k
}

/// Stages the index entries of a new summary, dropping those the old one had and it has not.
pub fn stage(batch: &mut Batch, old: Option<&CaseSummary>, new: &CaseSummary) {
    let new_terms = terms(new);
    let new_suffix = suffix(new);
    if let Some(old) = old {
        let old_suffix = suffix(old);
        for term in terms(old) {
            if old_suffix != new_suffix || !new_terms.contains(&term) {
                let mut k = term.prefix();
                k.extend_from_slice(&old_suffix);
                batch.delete(TREE, k);
            }
        }
    }
    for term in new_terms {
        let mut k = term.prefix();
        k.extend_from_slice(&new_suffix);
        batch.put(TREE, k, Vec::new());
    }
}

/// Stages the entries of the terms of a summary that `which` picks (to add a field to an
/// existing index).
pub fn stage_where(batch: &mut Batch, s: &CaseSummary, which: impl Fn(&Term) -> bool) {
    let suffix = suffix(s);
    for term in terms(s).into_iter().filter(|t| which(t)) {
        let mut k = term.prefix();
        k.extend_from_slice(&suffix);
        batch.put(TREE, k, Vec::new());
    }
}

/// The case id at the end of an index key with this prefix.
pub fn case_of(key: &[u8], prefix_len: usize) -> Option<String> {
    let rest = key.get(prefix_len + 8..)?;
    Some(String::from_utf8_lossy(rest).into_owned())
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

    /// Stored indexes were written with these exact bytes (u16 big-endian length + text, for
    /// the field and then the value): a term must never encode otherwise.
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
            assert_eq!(term.prefix(), bytes, "{term:?}");
        }
        // Every status and level by its stored name, and a two-digit step.
        for status in Status::ALL {
            let mut want = b"\x00\x06status".to_vec();
            want.extend_from_slice(&key_part(status.as_str()));
            assert_eq!(Term::Status(status).prefix(), want);
        }
        for level in Level::ALL {
            let mut want = b"\x00\x05level".to_vec();
            want.extend_from_slice(&key_part(level.as_str()));
            assert_eq!(Term::Level(level).prefix(), want);
        }
        assert_eq!(Term::Step(12).prefix(), b"\x00\x04step\x00\x0212");
    }

    #[test]
    fn a_summary_is_found_under_the_terms_it_always_was() {
        let prefixes = |s: &CaseSummary| terms(s).iter().map(Term::prefix).collect::<Vec<_>>();
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
        assert_eq!(suffix(&summary(0, 0)), want);
    }
}
