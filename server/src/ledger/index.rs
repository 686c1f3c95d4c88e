//! What the ledger keeps about a case besides its document: the summary lists read, its query
//! index terms and Open311's published changes, the blobs it names and the receipts of its
//! events. Staged in the same batch as the document; read by the case service.

use super::{trees, FeedEntry, Ledger, OpenCase, Receipt};
use crate::error::Result;
use crate::indicators::CaseFacts;
use crate::query_index::{self, Term};
use crate::summary::CaseSummary;
use gridcase_sync_core::event::Channel;
use gridcase_sync_core::fold::{fold, CaseState};
use gridcase_sync_core::store::{key_part as part, Batch, Store};
use gridcase_sync_core::{CaseDoc, CaseId, CaseOutline, Event, EventId, Millis};
use std::sync::{Arc, Weak};

impl Ledger {
    /// Stages the summary and receipts of a changed case; returns its feed entry.
    ///
    /// Public for bulk imports that are their cases' only writer (the bench's ledger fill,
    /// with [`Ledger::commit`]); everything else writes through [`Ledger::write`].
    pub fn stage_index(
        &self,
        batch: &mut Batch,
        doc: &CaseDoc,
        receipts: &[(EventId, Receipt)],
        now: Millis,
    ) -> Result<FeedEntry> {
        let events = doc.events()?;
        let state = fold(&events, &self.calendar);
        self.stage_summary(batch, doc, state, Some(&events), receipts, now)
    }

    /// Stages the summary of a folded case; `events` are its events when the caller has them
    /// (a public case's summary needs them).
    pub(super) fn stage_summary(
        &self,
        batch: &mut Batch,
        doc: &CaseDoc,
        state: CaseState,
        events: Option<&[Event]>,
        receipts: &[(EventId, Receipt)],
        now: Millis,
    ) -> Result<FeedEntry> {
        let header = doc.header()?;
        let previous = self.summary(&header.case)?;
        let previous_flags = previous.as_ref().map_or(0, |s| s.flagged_events);
        let new_flags = receipts.iter().filter(|(_, r)| r.flag.is_some()).count();
        let outline = CaseOutline::of(&header, &state);
        let mut summary = CaseSummary::of(&outline, previous_flags + new_flags, now);
        summary.number = previous.as_ref().and_then(|p| p.number.clone());
        if summary.channel == Some(Channel::Web) {
            let read;
            let events = match events {
                Some(events) => events,
                None => {
                    read = doc.events()?;
                    &read
                }
            };
            summary.publish(&state, events, previous.as_ref(), now);
        }
        query_index::stage(batch, previous.as_ref(), &summary);
        query_index::stage_published(batch, previous.as_ref(), &summary);
        let case_key = part(header.case.as_str());
        // A case new to the ledger gets its number from the commit thread, which stages its
        // summary with it. (A case of a ledger from before numbers that has none yet gets it
        // from `numbers::number_older`.)
        let new = previous.is_none();
        if !new {
            batch.put(
                trees::SUMMARIES,
                case_key.clone(),
                serde_json::to_vec(&summary)?,
            );
        }
        for attachment in doc.attachments()? {
            let mut k = attachment.sha256.as_bytes().to_vec();
            k.extend_from_slice(&case_key);
            batch.put(trees::BLOB_REFS, k, Vec::new());
        }
        super::receipts::stage(batch, &case_key, receipts);
        Ok(FeedEntry {
            case: header.case,
            grid: state.territory.map(|t| t.grid),
            units: state.units_involved.into_iter().collect(),
            facts: Some(CaseFacts::of(&summary)),
            received_at: now,
            open: OpenCase::of(&summary),
            unnumbered: new.then(|| Box::new(summary)),
            quiet: false,
        })
    }

    /// Case ids under one index term, newest first, starting after `after` (an index-key
    /// suffix from a previous page).
    pub fn index_scan<'a>(
        &'a self,
        term: &Term,
        after: Option<Vec<u8>>,
    ) -> impl Iterator<Item = Result<(Vec<u8>, CaseId)>> + 'a {
        let (start, end, len) = index_range(term, after.as_deref());
        self.store
            .range(query_index::TREE, &start, end.as_deref())
            .map(move |entry| Ok(index_entry(entry?.0, len)))
    }

    /// The first `limit` entries of each of several terms from `after`, as [`Ledger::index_scan`]
    /// reads them, in one batched read ([`Store::range_heads`]): one list per term, in the
    /// order given.
    pub fn index_heads(
        &self,
        terms: &[Term],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<query_index::Entry>>> {
        let ranges: Vec<_> = terms.iter().map(|t| index_range(t, after)).collect();
        let heads = self.store.range_heads(
            query_index::TREE,
            &ranges
                .iter()
                .map(|(start, end, _)| (start.clone(), end.clone()))
                .collect::<Vec<_>>(),
            limit,
        )?;
        Ok(heads
            .into_iter()
            .zip(&ranges)
            .map(|(entries, (_, _, len))| {
                entries
                    .into_iter()
                    .map(|(k, _)| index_entry(k, *len))
                    .collect()
            })
            .collect())
    }

    /// Open311's published status changes from `start` (inclusive) to `end` (exclusive), oldest
    /// first, as (time, case, event). A superset of the truth: check each against its case's
    /// summary ([`CaseSummary::status_changes`]).
    pub fn published_between(
        &self,
        start: Millis,
        end: Millis,
    ) -> impl Iterator<Item = Result<(Millis, CaseId, String)>> + '_ {
        use crate::query_index::{published_key, published_of, PUBLISHED};
        let (from, to) = (published_key(start, "", ""), published_key(end, "", ""));
        self.store
            .range(PUBLISHED, &from, Some(&to))
            .filter_map(|entry| match entry {
                Ok((k, _)) => published_of(&k).map(Ok),
                Err(e) => Some(Err(e.into())),
            })
    }

    /// Whether a case whose summary has this index-key suffix is found under a term: one point
    /// lookup, to check a candidate under a second term before reading its summary.
    pub fn index_has(&self, term: &Term, suffix: &[u8]) -> Result<bool> {
        let key = query_index::key(term, suffix);
        Ok(self.store.get(query_index::TREE, &key)?.is_some())
    }

    /// [`Ledger::index_has`] for several suffixes, in the order given, in one batched read
    /// ([`Store::get_many`]).
    pub fn index_has_many<'s>(
        &self,
        term: &Term,
        suffixes: impl IntoIterator<Item = &'s [u8]>,
    ) -> Result<Vec<bool>> {
        let keys: Vec<Vec<u8>> = suffixes
            .into_iter()
            .map(|suffix| query_index::key(term, suffix))
            .collect();
        Ok(self
            .store
            .get_many(query_index::TREE, &keys)?
            .iter()
            .map(Option::is_some)
            .collect())
    }

    /// Whether every summary is found under its search terms (text, address, the places of
    /// open cases): false while a ledger written before them is indexed in the background
    /// ([`Ledger::ensure_query_index`]), when lists find text by walking other terms.
    pub fn search_index_complete(&self) -> Result<bool> {
        Ok(self.store.get(trees::META, SEARCH_MARK)?.is_some())
    }

    /// Builds the query index from the summaries when a ledger predates it (or its `review`
    /// term, which version 2 added), before serving; and the search terms version 3 added
    /// (`Term::is_search`) in the background, since they are many (about a minute a million
    /// cases on 2 cores; BENCHMARKS.md, "Search"). Lists and duplicates answer meanwhile
    /// without them ([`Ledger::search_index_complete`]).
    pub fn ensure_query_index(&self) -> Result<()> {
        if self.store.get(trees::META, SEARCH_MARK)?.is_some() {
            return Ok(());
        }
        let mut whole = false;
        if self.store.get(trees::META, MARK_V2)?.is_none() {
            // A version-1 index lacks only the `review` terms.
            let only_review = self.store.get(trees::META, b"query_index")?.is_some();
            whole = !only_review;
            let mut batch = Batch::new();
            for s in self.summaries() {
                let s = s?;
                if only_review {
                    query_index::stage_where(&mut batch, &s, |t| *t == Term::Review);
                } else {
                    query_index::stage(&mut batch, None, &s);
                }
                if batch.len() > 50_000 {
                    self.store.commit(std::mem::take(&mut batch))?;
                }
            }
            batch.put(trees::META, MARK_V2.to_vec(), b"1".to_vec());
            self.store.commit(batch)?;
        }
        // A new ledger, or one indexed whole just now, has every term.
        let empty = self
            .store
            .range(trees::SUMMARIES, &[], None)
            .next()
            .is_none();
        if whole || empty {
            let mut batch = Batch::new();
            batch.put(trees::META, SEARCH_MARK.to_vec(), b"1".to_vec());
            return Ok(self.store.commit(batch)?);
        }
        let store = Arc::downgrade(&self.store);
        std::thread::Builder::new()
            .name("gridcase-search-index".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                match add_search_terms(&store) {
                    Ok(Some(cases)) => tracing::info!(
                        cases,
                        ms = started.elapsed().as_millis() as u64,
                        "indexed the text, addresses and places of a ledger from before search"
                    ),
                    Ok(None) => tracing::info!(
                        "indexing for search stopped with the ledger: resumed at next start"
                    ),
                    Err(e) => tracing::error!(error = %e, "indexing for search failed"),
                }
            })?;
        Ok(())
    }
}

/// Where the entries of a term after `after` (an index-key suffix) start and end in the query
/// index, and the length of the term's prefix.
fn index_range(term: &Term, after: Option<&[u8]>) -> (Vec<u8>, Option<Vec<u8>>, usize) {
    let prefix = term.prefix();
    let end = gridcase_sync_core::store::prefix_end(&prefix);
    let len = prefix.len();
    let mut start = prefix;
    if let Some(after) = after {
        start.extend_from_slice(after);
        start.push(0);
    }
    (start, end, len)
}

/// An index key of a term whose prefix is `len` bytes long: its suffix and case.
fn index_entry(mut key: Vec<u8>, len: usize) -> query_index::Entry {
    let case = query_index::case_of(&key, len).unwrap_or_default();
    let suffix = key.split_off(len.min(key.len()));
    (suffix, CaseId::new(case))
}

/// Index version 2: every term before search (version 1 lacked `review`).
const MARK_V2: &[u8] = b"query_index_v2";
/// Index version 3: every summary has its search terms.
const SEARCH_MARK: &[u8] = b"query_index_v3";
/// Where the search terms' background indexing goes on from: the last summary key it indexed.
const SEARCH_RESUME: &[u8] = b"query_index_v3_after";
/// Summaries indexed per commit in the background.
const SEARCH_CHUNK: usize = 2_000;

/// Adds the search terms of every summary, [`SEARCH_CHUNK`] at a time in key order, from where
/// a previous start stopped; how many summaries, or `None` when the ledger closed first (the
/// thread holds the store only while it indexes a chunk, so it never keeps a closing ledger
/// open).
///
/// A commit may change a summary meanwhile: it stages every term of the new summary itself, so
/// nothing is missed; what this thread adds from a summary it read just before is at worst a
/// stale entry (a closed case's place), which readers check against the summary like any.
fn add_search_terms(store: &Weak<dyn Store>) -> Result<Option<usize>> {
    let mut cases = 0;
    loop {
        let Some(store) = store.upgrade() else {
            return Ok(None);
        };
        let mut start = store.get(trees::META, SEARCH_RESUME)?.unwrap_or_default();
        if !start.is_empty() {
            start.push(0);
        }
        let mut batch = Batch::new();
        let mut last = None;
        let mut read = 0;
        for entry in store
            .range(trees::SUMMARIES, &start, None)
            .take(SEARCH_CHUNK)
        {
            let (key, value) = entry?;
            let summary: CaseSummary = serde_json::from_slice(&value)?;
            query_index::stage_where(&mut batch, &summary, Term::is_search);
            last = Some(key);
            read += 1;
        }
        cases += read;
        match last {
            Some(last) if read == SEARCH_CHUNK => {
                batch.put(trees::META, SEARCH_RESUME.to_vec(), last);
                store.commit(batch)?;
            }
            _ => {
                batch.delete(trees::META, SEARCH_RESUME.to_vec());
                batch.put(trees::META, SEARCH_MARK.to_vec(), b"1".to_vec());
                store.commit(batch)?;
                return Ok(Some(cases));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query_index::GeoCell;
    use gridcase_sync_core::store::SledStore;

    /// The summary of an open case with a description, an address and coordinates.
    fn summary(i: usize) -> CaseSummary {
        serde_json::from_value(serde_json::json!({
            "id": format!("case-{i:05}"), "status": "dispatched", "step": 3,
            "street": "s1", "community": "c1", "grid": "g1", "unit": "u1",
            "units": ["u1"], "category": "C0101", "level": "general",
            "channel": "hotline", "description": "路灯不亮 LED",
            "address": "南池子大街12号", "coordinates": [116.4, 39.9],
            "created_at": 1_000 + i, "filed_at": null, "dispatched_at": null,
            "deadline": null, "closed_at": null, "rework_count": 0, "extensions": 0,
            "satisfaction": null, "events": 3, "open_conflicts": 0,
            "flagged_events": 0, "updated_at": 2_000
        }))
        .expect("a summary")
    }

    fn count(ledger: &Ledger, term: &Term) -> usize {
        ledger.index_scan(term, None).count()
    }

    /// A ledger whose summaries and version-2 index were written before search gets the search
    /// terms in the background, from where a previous start stopped, and says when it has them.
    #[test]
    fn a_ledger_from_before_search_is_indexed_in_the_background() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
        let n = 2 * SEARCH_CHUNK + 500;
        let mut batch = Batch::new();
        for i in 0..n {
            let s = summary(i);
            query_index::stage_where(&mut batch, &s, |t| !t.is_search());
            batch.put(
                trees::SUMMARIES,
                part(&s.id),
                serde_json::to_vec(&s).expect("JSON"),
            );
        }
        batch.put(trees::META, MARK_V2.to_vec(), b"1".to_vec());
        // A previous start indexed up to the 100th summary (in key order) and stopped.
        batch.put(trees::META, SEARCH_RESUME.to_vec(), part("case-00099"));
        store.commit(batch).expect("written");

        let metrics = Arc::new(crate::metrics::Metrics::default());
        let ledger = Ledger::open(store.clone(), 16, metrics, "DC").expect("ledger");
        assert!(!ledger.search_index_complete().expect("read"));
        let text = Term::Text("路灯".into());
        assert_eq!(count(&ledger, &text), 0);
        ledger.ensure_query_index().expect("started");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !ledger.search_index_complete().expect("read") {
            assert!(std::time::Instant::now() < deadline, "not indexed in time");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(count(&ledger, &text), n - 100, "resumed after the 100th");
        assert_eq!(count(&ledger, &Term::Address("南池".into())), n - 100);
        let cell = GeoCell::of(116.4, 39.9).expect("a place");
        assert_eq!(count(&ledger, &Term::OpenCell(cell, None)), n - 100);
        assert_eq!(store.get(trees::META, SEARCH_RESUME).expect("read"), None);
        let last = summary(n - 1);
        assert!(ledger
            .index_has(&text, &query_index::suffix(&last))
            .expect("read"));
        // Done once: the next start has nothing to do.
        ledger.ensure_query_index().expect("checked");
    }

    /// A new ledger has every term from its first case on.
    #[test]
    fn a_new_ledger_is_complete_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let ledger = Ledger::open(store, 16, metrics, "DC").expect("ledger");
        ledger.ensure_query_index().expect("ensured");
        assert!(ledger.search_index_complete().expect("read"));
    }
}
