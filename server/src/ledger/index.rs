//! What the ledger keeps about a case besides its document: the summary lists read, its query
//! index terms and Open311's published changes, the blobs it names and the receipts of its
//! events. Staged in the same batch as the document; read by the case service.

use super::{trees, FeedEntry, Ledger, OpenCase, Receipt};
use crate::error::Result;
use crate::indicators::CaseFacts;
use crate::query_index::{self, Form, Term};
use crate::summary::CaseSummary;
use gridcase_sync_core::event::Channel;
use gridcase_sync_core::fold::{fold, CaseState};
use gridcase_sync_core::store::{key_part as part, Batch, Store};
use gridcase_sync_core::{CaseDoc, CaseId, CaseOutline, Event, EventId, Millis};
use std::sync::atomic::{AtomicBool, Ordering};
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
        // The legacy form is read until version 4 is complete: kept whole meanwhile.
        let forms: &[Form] = match self.index_form()? {
            Form::V4 => &[Form::V4],
            Form::Legacy => &[Form::V4, Form::Legacy],
        };
        query_index::stage(batch, forms, previous.as_ref(), &summary);
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

    /// The form the query index is read in: version 4 once it is complete (its mark written
    /// by whichever server built it), the legacy form before.
    fn index_form(&self) -> Result<Form> {
        if self.index_v4.load(Ordering::Relaxed) {
            return Ok(Form::V4);
        }
        if self.store.get(trees::META, MARK_V4)?.is_some() {
            self.index_v4.store(true, Ordering::Relaxed);
            return Ok(Form::V4);
        }
        Ok(Form::Legacy)
    }

    /// Case ids under one index term, newest first, starting after `after` (an index-key
    /// suffix from a previous page).
    pub fn index_scan<'a>(
        &'a self,
        term: &Term,
        after: Option<Vec<u8>>,
    ) -> Box<dyn Iterator<Item = Result<query_index::Entry>> + 'a> {
        let form = match self.index_form() {
            Ok(form) => form,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let (start, end, len) = index_range(form, term, after.as_deref());
        Box::new(
            self.store
                .range(form.tree(), &start, end.as_deref())
                .map(move |entry| Ok(form.entry(&entry?.0, len))),
        )
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
        let form = self.index_form()?;
        let ranges: Vec<_> = terms.iter().map(|t| index_range(form, t, after)).collect();
        let heads = self.store.range_heads(
            form.tree(),
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
                    .map(|(k, _)| form.entry(&k, *len))
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
        let form = self.index_form()?;
        Ok(self
            .store
            .get(form.tree(), &form.key(term, suffix))?
            .is_some())
    }

    /// [`Ledger::index_has`] for several suffixes, in the order given, in one batched read
    /// ([`Store::get_many`]).
    pub fn index_has_many<'s>(
        &self,
        term: &Term,
        suffixes: impl IntoIterator<Item = &'s [u8]>,
    ) -> Result<Vec<bool>> {
        let form = self.index_form()?;
        let keys: Vec<Vec<u8>> = suffixes
            .into_iter()
            .map(|suffix| form.key(term, suffix))
            .collect();
        Ok(self
            .store
            .get_many(form.tree(), &keys)?
            .iter()
            .map(Option::is_some)
            .collect())
    }

    /// Whether every summary is found under its search terms (text, address, the places of
    /// open cases): false while the legacy form of a ledger indexed by version 2 (or whose
    /// version-3 terms were still being added) is read, before version 4 is complete; lists
    /// find text by walking other terms meanwhile.
    pub fn search_index_complete(&self) -> Result<bool> {
        if self.index_form()? == Form::V4 {
            return Ok(true);
        }
        let marks = self
            .store
            .get_many(trees::META, &[SEARCH_MARK.to_vec(), HELD_V3.to_vec()])?;
        Ok(marks.iter().any(Option::is_some))
    }

    /// Builds version 4 of the query index from the summaries when a ledger predates it, then
    /// deletes the legacy form. A ledger indexed by version 2 or 3 is read in that form
    /// meanwhile, so the build runs in the background (BENCHMARKS.md, "The query index, version
    /// 4"); one indexed by version 1 (no `review` terms) or not at all is built before serving.
    /// A start that finds the build or the deletion unfinished goes on from where it stopped.
    ///
    /// A release before version 4 knows only the legacy form and its marks. Started on this
    /// ledger (a downgrade), it finds no marks of its own, builds its index again before
    /// serving and marks it: this release sees those marks (at its next start, or in the build
    /// under way) and builds version 4 over from the first summary, since the older one wrote
    /// only the legacy form.
    pub fn ensure_query_index(&self) -> Result<()> {
        let marks = Marks::read(&*self.store)?;
        let store = Arc::downgrade(&self.store);
        if marks.v4 && !marks.older_release() {
            self.index_v4.store(true, Ordering::Relaxed);
            if self
                .store
                .range(query_index::LEGACY_TREE, &[], None)
                .next()
                .is_some()
            {
                in_background(move || drop_legacy(&store))?;
            }
            return Ok(());
        }
        // Whatever a reader before this start cached is read again.
        self.index_v4.store(false, Ordering::Relaxed);
        let empty = self
            .store
            .range(trees::SUMMARIES, &[], None)
            .next()
            .is_none();
        if empty {
            let mut batch = Batch::new();
            complete_v4(&mut batch);
            return Ok(self.store.commit(batch)?);
        }
        let flag = self.index_v4.clone();
        if !marks.v2 && !marks.held_v2 {
            build_v4(&store, &flag)?;
            return in_background(move || drop_legacy(&store));
        }
        if marks.older_release() {
            let mut batch = Batch::new();
            hold_legacy_marks(&mut batch, &marks);
            self.store.commit(batch)?;
        }
        in_background(move || {
            build_v4(&store, &flag)?;
            drop_legacy(&store)
        })
    }
}

/// The query index's marks in the ledger's meta tree, read together.
struct Marks {
    /// Version 4 is complete.
    v4: bool,
    /// A release before version 4 marked its index (versions 1, 2, 3): on a ledger this
    /// release has not started on yet, or since it did (a downgrade).
    v1: bool,
    v2: bool,
    v3: bool,
    /// This release holds the marks of versions 2 and 3 under its own names while it builds
    /// version 4 (the legacy form is read meanwhile).
    held_v2: bool,
    held_v3: bool,
}

impl Marks {
    fn read(store: &dyn Store) -> Result<Marks> {
        let keys = [MARK_V4, MARK_V1, MARK_V2, SEARCH_MARK, HELD_V2, HELD_V3];
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
        let found = store.get_many(trees::META, &keys)?;
        let has = |i: usize| found.get(i).is_some_and(Option::is_some);
        Ok(Marks {
            v4: has(0),
            v1: has(1),
            v2: has(2),
            v3: has(3),
            held_v2: has(4),
            held_v3: has(5),
        })
    }

    fn older_release(&self) -> bool {
        self.v1 || self.v2 || self.v3
    }
}

/// Stages the start of a build of version 4 over a legacy index an earlier release marked:
/// its marks are held under this release's names (so the legacy form is read meanwhile, and an
/// earlier release started again marks its index anew, which the build notices), and what
/// version 4 holds is not trusted (its mark and resume point go; its keys stay, stale at worst).
fn hold_legacy_marks(batch: &mut Batch, marks: &Marks) {
    for mark in [MARK_V4, V4_RESUME].iter().chain(&OLDER_MARKS) {
        batch.delete(trees::META, mark.to_vec());
    }
    if marks.v2 || marks.held_v2 {
        batch.put(trees::META, HELD_V2.to_vec(), b"1".to_vec());
    }
    // The search terms are complete only if the latest marks say so: an earlier release that
    // marked version 2 again may still be adding them.
    if marks.v3 || (marks.held_v3 && !marks.v2) {
        batch.put(trees::META, HELD_V3.to_vec(), b"1".to_vec());
    } else {
        batch.delete(trees::META, HELD_V3.to_vec());
    }
}

/// Stages version 4's mark and the end of every other mark of the index.
fn complete_v4(batch: &mut Batch) {
    for mark in [HELD_V2, HELD_V3, V4_RESUME].iter().chain(&OLDER_MARKS) {
        batch.delete(trees::META, mark.to_vec());
    }
    batch.put(trees::META, MARK_V4.to_vec(), b"1".to_vec());
}

/// Runs the index's migration on a thread of its own, which holds the store only while it
/// works on a chunk (so it never keeps a closing ledger open).
fn in_background(task: impl FnOnce() -> Result<()> + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name("gridcase-query-index".into())
        .spawn(move || {
            if let Err(e) = task() {
                tracing::error!(error = %e, "the query index's migration failed: it goes on at the next start");
            }
        })?;
    Ok(())
}

/// Where an index version 1 left its mark (it lacked `review`).
const MARK_V1: &[u8] = b"query_index";
/// Index version 2: every term before search (version 1 lacked `review`).
const MARK_V2: &[u8] = b"query_index_v2";
/// Index version 3: every summary has its search terms.
const SEARCH_MARK: &[u8] = b"query_index_v3";
/// Where version 3's search terms' background indexing went on from (a release before version
/// 4 may have left it).
const SEARCH_RESUME: &[u8] = b"query_index_v3_after";
/// Every mark a release before version 4 writes.
const OLDER_MARKS: [&[u8]; 4] = [MARK_V1, MARK_V2, SEARCH_MARK, SEARCH_RESUME];
/// [`MARK_V2`] and [`SEARCH_MARK`] while version 4 is built ([`hold_legacy_marks`]).
const HELD_V2: &[u8] = b"query_index_v4_held_v2";
const HELD_V3: &[u8] = b"query_index_v4_held_v3";
/// Index version 4 ([`query_index::TREE`]) is complete: every summary has its terms there.
const MARK_V4: &[u8] = b"query_index_v4";
/// Where version 4's build goes on from: the last summary key it indexed.
const V4_RESUME: &[u8] = b"query_index_v4_after";
/// Summaries indexed, or legacy keys deleted, per commit of a migration.
const CHUNK: usize = 2_000;
/// How long after version 4 is complete the legacy keys start to go: a request that chose the
/// legacy form just before reads it to its end, and a write staged in both forms commits.
const LEGACY_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Indexes every summary in version 4's form, [`CHUNK`] at a time in key order, from where a
/// previous start stopped, then marks version 4 complete and sets `flag`. Stops when the
/// ledger closes (resumed at the next start) or another server completed the build. If an
/// earlier release marks its legacy index meanwhile (it was started on this ledger), the
/// build starts over from the first summary: that release wrote the legacy form only.
///
/// A commit may change a summary meanwhile: it stages every term of the new summary itself (in
/// both forms until this is done), so nothing is missed; what this thread adds from a summary
/// it read just before is at worst a stale entry (a closed case's place), which readers check
/// against the summary like any.
fn build_v4(store: &Weak<dyn Store>, flag: &AtomicBool) -> Result<()> {
    let started = std::time::Instant::now();
    let mut cases = 0;
    loop {
        let Some(store) = store.upgrade() else {
            tracing::info!(
                cases,
                "the query index's build stopped with the ledger: it goes on at the next start"
            );
            return Ok(());
        };
        let marks = Marks::read(&*store)?;
        if marks.v4 && !marks.older_release() {
            flag.store(true, Ordering::Relaxed);
            return Ok(());
        }
        if marks.older_release() {
            let mut batch = Batch::new();
            hold_legacy_marks(&mut batch, &marks);
            store.commit(batch)?;
        }
        let mut start = store.get(trees::META, V4_RESUME)?.unwrap_or_default();
        if !start.is_empty() {
            start.push(0);
        }
        let mut batch = Batch::new();
        let mut last = None;
        let mut read = 0;
        for entry in store.range(trees::SUMMARIES, &start, None).take(CHUNK) {
            let (key, value) = entry?;
            let summary: CaseSummary = serde_json::from_slice(&value)?;
            query_index::stage(&mut batch, &[Form::V4], None, &summary);
            last = Some(key);
            read += 1;
        }
        cases += read;
        match last {
            Some(last) if read == CHUNK => {
                batch.put(trees::META, V4_RESUME.to_vec(), last);
                store.commit(batch)?;
                if (cases / CHUNK).is_multiple_of(50) {
                    tracing::info!(cases, "building the query index (version 4)");
                }
            }
            _ => {
                complete_v4(&mut batch);
                store.commit(batch)?;
                flag.store(true, Ordering::Relaxed);
                tracing::info!(
                    cases,
                    ms = started.elapsed().as_millis() as u64,
                    "built the query index (version 4)"
                );
                return Ok(());
            }
        }
    }
}

/// Deletes the legacy form's keys once version 4 is complete, after [`LEGACY_GRACE`],
/// [`CHUNK`] at a time, each time from the first left; stops if an earlier release marks its
/// index again (it reads them). A key a late writer adds behind is deleted at the next start.
fn drop_legacy(store: &Weak<dyn Store>) -> Result<()> {
    std::thread::sleep(LEGACY_GRACE);
    let started = std::time::Instant::now();
    let mut deleted = 0;
    loop {
        let Some(store) = store.upgrade() else {
            return Ok(());
        };
        let marks = Marks::read(&*store)?;
        if !marks.v4 || marks.older_release() {
            return Ok(());
        }
        let mut batch = Batch::new();
        for entry in store.range(query_index::LEGACY_TREE, &[], None).take(CHUNK) {
            batch.delete(query_index::LEGACY_TREE, entry?.0);
        }
        if batch.is_empty() {
            tracing::info!(
                deleted,
                ms = started.elapsed().as_millis() as u64,
                "deleted the query index's legacy form"
            );
            return Ok(());
        }
        deleted += batch.len();
        store.commit(batch)?;
    }
}

/// Where the entries of a term after `after` (an index-key suffix) start and end in the query
/// index in one form, and the length of the term's prefix.
fn index_range(form: Form, term: &Term, after: Option<&[u8]>) -> (Vec<u8>, Option<Vec<u8>>, usize) {
    let prefix = form.prefix(term);
    let end = gridcase_sync_core::store::prefix_end(&prefix);
    let len = prefix.len();
    let mut start = prefix;
    if let Some(after) = after {
        start.extend_from_slice(&form.suffix(after));
        start.push(0);
    }
    (start, end, len)
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

    /// A ledger indexed as a release before version 4 left it: every summary's terms in the
    /// legacy form, with the marks of version 2 and (when `search`) version 3.
    fn legacy_ledger(n: usize, search: bool) -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
        let mut batch = Batch::new();
        for i in 0..n {
            let s = summary(i);
            if search {
                query_index::stage(&mut batch, &[Form::Legacy], None, &s);
            } else {
                // Version 2 had no search terms.
                let suffix = query_index::suffix(&s);
                for term in query_index::terms(&s).iter().filter(|t| !t.is_search()) {
                    let key = Form::Legacy.key(term, &suffix);
                    batch.put(query_index::LEGACY_TREE, key, Vec::new());
                }
            }
            batch.put(
                trees::SUMMARIES,
                part(&s.id),
                serde_json::to_vec(&s).expect("JSON"),
            );
        }
        batch.put(trees::META, MARK_V2.to_vec(), b"1".to_vec());
        if search {
            batch.put(trees::META, SEARCH_MARK.to_vec(), b"1".to_vec());
        }
        store.commit(batch).expect("written");
        (dir, store)
    }

    fn open(store: &Arc<dyn Store>) -> Ledger {
        let metrics = Arc::new(crate::metrics::Metrics::default());
        Ledger::open(store.clone(), 16, metrics, "DC").expect("ledger")
    }

    /// Waits for the background migration to end: version 4 marked and the legacy form gone.
    fn migrated(store: &Arc<dyn Store>) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while store.get(trees::META, MARK_V4).expect("read").is_none()
            || store
                .range(query_index::LEGACY_TREE, &[], None)
                .next()
                .is_some()
        {
            assert!(std::time::Instant::now() < deadline, "not migrated in time");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// A ledger indexed by version 3 is read in that form until version 4 is built in the
    /// background, from where a previous start stopped; then the legacy keys and marks go.
    #[test]
    fn a_version_3_ledger_is_read_as_it_is_until_version_4_is_built() {
        let n = 2 * CHUNK + 500;
        let (_dir, store) = legacy_ledger(n, true);
        // A previous start of this release held the legacy marks, built version 4 up to the
        // 100th summary (in key order) and stopped.
        let mut batch = Batch::new();
        let marks = Marks::read(&*store).expect("read");
        hold_legacy_marks(&mut batch, &marks);
        store.commit(std::mem::take(&mut batch)).expect("written");
        batch.put(trees::META, V4_RESUME.to_vec(), part("case-00099"));
        store.commit(batch).expect("written");

        let ledger = open(&store);
        let text = Term::Text("路灯".into());
        assert!(ledger.search_index_complete().expect("read"));
        assert_eq!(count(&ledger, &text), n, "read in the legacy form");
        let last = query_index::suffix(&summary(n - 1));
        assert!(ledger.index_has(&text, &last).expect("read"));
        // A page's cursor from the legacy form walks on in version 4's.
        let page: Vec<_> = ledger.index_scan(&Term::All, None).take(10).collect();
        let (cursor, _) = page[9].as_ref().expect("an entry").clone();

        ledger.ensure_query_index().expect("started");
        migrated(&store);
        assert_eq!(count(&ledger, &text), n - 100, "resumed after the 100th");
        assert_eq!(count(&ledger, &Term::Address("南池".into())), n - 100);
        let cell = GeoCell::of(116.4, 39.9).expect("a place");
        assert_eq!(count(&ledger, &Term::OpenCell(cell, None)), n - 100);
        assert!(ledger.index_has(&text, &last).expect("read"));
        let next = ledger
            .index_scan(&Term::All, Some(cursor))
            .next()
            .expect("an entry")
            .expect("read");
        assert_eq!(next.1.as_str(), format!("case-{:05}", n - 11));
        assert!(store
            .range(query_index::LEGACY_TREE, &[], None)
            .next()
            .is_none());
        for mark in [MARK_V2, SEARCH_MARK, V4_RESUME, HELD_V2, HELD_V3] {
            assert_eq!(store.get(trees::META, mark).expect("read"), None);
        }
        // Done once: the next start has nothing to do.
        drop(ledger);
        open(&store).ensure_query_index().expect("checked");
    }

    /// A version-2 index lacks the search terms: lists do without them until version 4.
    #[test]
    fn a_version_2_ledger_finds_text_once_version_4_is_built() {
        let (_dir, store) = legacy_ledger(300, false);
        let ledger = open(&store);
        assert!(!ledger.search_index_complete().expect("read"));
        ledger.ensure_query_index().expect("started");
        migrated(&store);
        assert!(ledger.search_index_complete().expect("read"));
        assert_eq!(count(&ledger, &Term::Text("路灯".into())), 300);
    }

    /// An index older than version 2 (or none) is not worth reading: version 4 is built before
    /// the ledger serves.
    #[test]
    fn a_ledger_from_before_version_2_is_indexed_before_serving() {
        let (_dir, store) = legacy_ledger(300, false);
        let mut batch = Batch::new();
        batch.delete(trees::META, MARK_V2.to_vec());
        store.commit(batch).expect("written");
        let ledger = open(&store);
        ledger.ensure_query_index().expect("built");
        assert_eq!(ledger.index_form().expect("read"), Form::V4);
        assert_eq!(count(&ledger, &Term::All), 300);
        assert_eq!(count(&ledger, &Term::Review), 0);
        migrated(&store);
    }

    /// A release before version 4 started on a migrated ledger (a downgrade) builds its own
    /// index again, marks it and writes only the legacy form: the next start of this release
    /// reads the legacy form again and builds version 4 over, so the cases the older release
    /// wrote are found.
    #[test]
    fn a_downgrade_and_upgrade_again_builds_version_4_over() {
        let (_dir, store) = legacy_ledger(300, true);
        let ledger = open(&store);
        ledger.ensure_query_index().expect("started");
        migrated(&store);
        drop(ledger);
        // The older release: its index rebuilt and marked, a new case in the legacy form only.
        let mut batch = Batch::new();
        let newer = summary(300);
        query_index::stage(&mut batch, &[Form::Legacy], None, &newer);
        for s in (0..300).map(summary) {
            query_index::stage(&mut batch, &[Form::Legacy], None, &s);
        }
        batch.put(
            trees::SUMMARIES,
            part(&newer.id),
            serde_json::to_vec(&newer).expect("JSON"),
        );
        batch.put(trees::META, MARK_V2.to_vec(), b"1".to_vec());
        batch.put(trees::META, SEARCH_MARK.to_vec(), b"1".to_vec());
        store.commit(batch).expect("written");

        let ledger = open(&store);
        // Before the start is done, a reader may have cached version 4's mark.
        assert_eq!(ledger.index_form().expect("read"), Form::V4);
        ledger.ensure_query_index().expect("started");
        let newest = ledger.index_scan(&Term::All, None).next();
        assert_eq!(newest.expect("one").expect("read").1.as_str(), "case-00300");
        assert!(ledger.search_index_complete().expect("read"));
        migrated(&store);
        assert_eq!(count(&ledger, &Term::All), 301);
        assert_eq!(count(&ledger, &Term::Text("路灯".into())), 301);
    }

    /// A new ledger has every term from its first case on.
    #[test]
    fn a_new_ledger_is_complete_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
        let ledger = open(&store);
        ledger.ensure_query_index().expect("ensured");
        assert!(ledger.search_index_complete().expect("read"));
        assert_eq!(ledger.index_form().expect("read"), Form::V4);
    }
}
