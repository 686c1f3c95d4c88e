//! Secondary index of case summaries for lists: one key per (field, value) a case has, ordered
//! newest first. A list walks the most selective term its filters (or the caller's scope) name
//! and checks each candidate against its summary, so stale entries cost a lookup, never a
//! wrong answer; the index only has to be a superset of the truth.

use crate::summary::CaseSummary;
use gridcase_sync_core::store::{key_part, Batch};
use gridcase_sync_core::CaseId;

pub const TREE: &str = "ledger_query_index";

/// The (field, value) terms a summary is found under.
pub fn terms(s: &CaseSummary) -> Vec<(&'static str, String)> {
    let mut t = vec![("all", String::new())];
    if let Some(status) = s.status {
        t.push(("status", status.as_str().to_owned()));
    }
    t.push(("step", s.step.to_string()));
    for (field, value) in [
        ("street", &s.street),
        ("community", &s.community),
        ("grid", &s.grid),
        ("category", &s.category),
        ("level", &s.level),
    ] {
        if let Some(v) = value {
            t.push((field, v.clone()));
        }
    }
    for u in &s.units {
        t.push(("unit", u.clone()));
    }
    t.push(("conflict", (s.open_conflicts > 0).to_string()));
    if s.open_conflicts > 0 || s.flagged_events > 0 {
        t.push(("review", "true".to_owned()));
    }
    t
}

/// The key prefix of one term.
pub fn prefix(field: &str, value: &str) -> Vec<u8> {
    let mut k = key_part(field);
    k.extend_from_slice(&key_part(value));
    k
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
                let mut k = prefix(term.0, &term.1);
                k.extend_from_slice(&old_suffix);
                batch.delete(TREE, k);
            }
        }
    }
    for (field, value) in new_terms {
        let mut k = prefix(field, &value);
        k.extend_from_slice(&new_suffix);
        batch.put(TREE, k, Vec::new());
    }
}

/// Stages the entries of one field's terms of a summary (to add a field to an existing index).
pub fn stage_term(batch: &mut Batch, s: &CaseSummary, field: &str) {
    let suffix = suffix(s);
    for (f, value) in terms(s) {
        if f == field {
            let mut k = prefix(f, &value);
            k.extend_from_slice(&suffix);
            batch.put(TREE, k, Vec::new());
        }
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
