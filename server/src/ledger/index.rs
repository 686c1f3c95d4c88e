//! What the ledger keeps about a case besides its document: the summary lists read, its query
//! index terms and Open311's published changes, the blobs it names and the receipts of its
//! events. Staged in the same batch as the document; read by the case service.

use super::{trees, FeedEntry, Ledger, Receipt};
use crate::error::Result;
use crate::indicators::CaseFacts;
use crate::query_index::{self, Term};
use crate::summary::CaseSummary;
use gridcase_sync_core::event::Channel;
use gridcase_sync_core::fold::{fold, CaseState};
use gridcase_sync_core::store::{key_part as part, Batch};
use gridcase_sync_core::{CaseDoc, CaseId, CaseOutline, Event, EventId, Millis};

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
        for (event, receipt) in receipts {
            let mut k = case_key.clone();
            k.extend_from_slice(event.as_str().as_bytes());
            batch.put(trees::RECEIPTS, k, serde_json::to_vec(receipt)?);
        }
        Ok(FeedEntry {
            case: header.case,
            grid: state.territory.map(|t| t.grid),
            units: state.units_involved.into_iter().collect(),
            facts: Some(CaseFacts::of(&summary)),
            received_at: now,
            unnumbered: new.then(|| Box::new(summary)),
        })
    }

    /// Case ids under one index term, newest first, starting after `after` (an index-key
    /// suffix from a previous page).
    pub fn index_scan<'a>(
        &'a self,
        term: &Term,
        after: Option<Vec<u8>>,
    ) -> impl Iterator<Item = Result<(Vec<u8>, CaseId)>> + 'a {
        let prefix = term.prefix();
        let end = gridcase_sync_core::store::prefix_end(&prefix);
        let mut start = prefix.clone();
        if let Some(after) = &after {
            start.extend_from_slice(after);
            start.push(0);
        }
        let len = prefix.len();
        self.store
            .range(query_index::TREE, &start, end.as_deref())
            .map(move |entry| {
                let (k, _) = entry?;
                let case = query_index::case_of(&k, len).unwrap_or_default();
                Ok((k[len..].to_vec(), CaseId::new(case)))
            })
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

    /// Builds the query index from the summaries when a ledger predates it (or its `review`
    /// term, which version 2 added).
    pub fn ensure_query_index(&self) -> Result<()> {
        const MARK: &[u8] = b"query_index_v2";
        if self.store.get(trees::META, MARK)?.is_some() {
            return Ok(());
        }
        // A version-1 index lacks only the `review` terms.
        let only_review = self.store.get(trees::META, b"query_index")?.is_some();
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
        batch.put(trees::META, MARK.to_vec(), b"1".to_vec());
        Ok(self.store.commit(batch)?)
    }
}
