//! The one write path. A [`Write`] stages case documents (or takes over what a sync session
//! staged) with their summaries, receipts and feed moves, then [`Write::commit`] commits it
//! all through the commit thread, ends the claims on new cases, re-indexes what a concurrent
//! writer moved on meanwhile (`Ledger::settle`) and queues compaction. No caller drives
//! those steps, or their order, by hand.

use super::{FeedEntry, Ledger, Receipt};
use crate::error::Result;
use gridcase_sync_core::fold::CaseState;
use gridcase_sync_core::store::{Batch, DocStore, Offerable};
use gridcase_sync_core::{AutoCommit, CaseDoc, CaseId, ChangeHash, EventId, Millis};

/// Committed documents of one write, for the document cache.
pub type Noted = Vec<(CaseId, AutoCommit)>;

/// The claims a write holds on cases new to the store. [`DocStore::stage_save`] lets one
/// writer of a new case write its snapshot (everyone else writes an increment) until the
/// claim is released; this guard releases its cases when it is dropped, which
/// [`Write::commit`] does once the batch is durable, and an abandoned write (an error, a
/// panic) does on its way out. A claim never released would only send later writers down the
/// increment path, but no caller has to remember either way.
struct Claim {
    docs: DocStore,
    cases: Vec<CaseId>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.docs.release(&self.cases);
    }
}

/// One atomic write to the ledger, begun by [`Ledger::write`].
#[must_use = "nothing is written until the write is committed"]
pub struct Write<'l> {
    ledger: &'l Ledger,
    /// Server time of the write: receipts, summaries and the re-indexing after the commit.
    now: Millis,
    batch: Batch,
    feed: Vec<FeedEntry>,
    /// The documents the batch saves, cached by the commit thread before it publishes.
    docs: Noted,
    /// The heads each case was indexed at, compared with the committed heads afterwards.
    indexed: Vec<(CaseId, Vec<ChangeHash>)>,
    /// Cases whose increments piled up: compacted in the background once committed.
    due: Vec<CaseId>,
    claim: Claim,
    /// The feed position this writer had seen before it loaded its documents
    /// ([`Write::loaded_after`]).
    seen: Option<u64>,
    /// Cases the batch writes whole, kept for offers once it is durable ([`Write::offerable`]).
    offerables: Vec<(CaseId, Offerable)>,
}

impl Ledger {
    /// Begins a write at server time `now`.
    pub fn write(&self, now: Millis) -> Write<'_> {
        Write {
            ledger: self,
            now,
            batch: Batch::new(),
            feed: Vec::new(),
            docs: Vec::new(),
            indexed: Vec::new(),
            due: Vec::new(),
            claim: Claim {
                docs: self.docs.clone(),
                cases: Vec::new(),
            },
            seen: None,
            offerables: Vec::new(),
        }
    }

    /// Commits a batch with the feed moves of the cases it changed; durable on return.
    ///
    /// For bulk imports that are their cases' only writer (the bench's ledger fill, with
    /// [`Ledger::stage_index`] and `DocStore::stage_snapshot`): they claim nothing, cache
    /// nothing and race no one. Everything else writes through [`Ledger::write`].
    pub fn commit(&self, batch: Batch, feed: Vec<FeedEntry>) -> Result<u64> {
        self.commit_docs(batch, feed, Vec::new(), None)
    }

    /// [`Ledger::commit`] for a batch that saves case documents: `docs` are those documents
    /// as committed, cached before the feed moves (see the commit thread), loaded after the
    /// committed position was `seen` ([`Write::loaded_after`]).
    fn commit_docs(
        &self,
        batch: Batch,
        feed: Vec<FeedEntry>,
        docs: Noted,
        seen: Option<u64>,
    ) -> Result<u64> {
        if batch.is_empty() && feed.is_empty() {
            return Ok(self.committed_seq());
        }
        self.committer.commit(batch, feed, docs, seen)
    }

    /// Re-indexes cases whose committed state moved past the version this write indexed.
    ///
    /// Two requests may change one case at once, each indexing its own view; whichever commits
    /// last could leave a summary that lacks the other's change. After committing, each write
    /// compares the heads it indexed with the committed heads (the cache merges every
    /// committed version) and indexes again when they differ; the later write always sees both.
    pub(super) fn settle(
        &self,
        indexed: Vec<(CaseId, Vec<ChangeHash>)>,
        now: Millis,
    ) -> Result<()> {
        let mut batch = Batch::new();
        let mut feed = Vec::new();
        for (case, heads) in indexed {
            if self.docs.current_heads(&case)?.is_some_and(|h| h == heads) {
                continue;
            }
            if let Some(doc) = self.load(&case)? {
                feed.push(self.stage_index(&mut batch, &doc, &[], now)?);
            }
        }
        self.commit(batch, feed).map(|_| ())
    }
}

impl Write<'_> {
    /// The batch, for the ledger's own rows staged beside the documents (caller records).
    pub(super) fn batch_mut(&mut self) -> &mut Batch {
        &mut self.batch
    }

    /// Stages what changed in `doc` since `since` (the heads it was loaded at; empty for a
    /// new case) and indexes it with the receipts of its new events. A case new to the store
    /// is claimed until this write ends.
    pub fn save(
        &mut self,
        doc: &mut CaseDoc,
        since: &[ChangeHash],
        receipts: &[(EventId, Receipt)],
    ) -> Result<()> {
        let case = doc.header()?.case;
        let staged = self
            .ledger
            .docs
            .stage_save(&mut self.batch, &case, doc.automerge(), since)?;
        // Only a claim this write won is this write's to release (`stage_save` has no way
        // out after claiming, so nothing claimed escapes the guard).
        if staged.claimed {
            self.claim.cases.push(case.clone());
        }
        if staged.compact {
            self.due.push(case.clone());
        }
        let heads = doc.heads();
        self.index(doc, heads, None, receipts)?;
        self.docs.push((case, doc.automerge().clone()));
        Ok(())
    }

    /// Takes over the writes a sync session staged (`SyncSession::receive_staged`): its
    /// batch; the documents it accepted (`SyncSession::accepted_documents`), cached before the
    /// commit is published; the new cases it claimed (`SyncSession::take_claimed`), which this
    /// write now holds and releases; and the cases it found due for compaction. Then index each accepted case with [`Write::index`].
    pub fn adopt(
        &mut self,
        staged: Batch,
        accepted: Noted,
        claimed: Vec<CaseId>,
        due: Vec<CaseId>,
    ) {
        self.claim.cases.extend(claimed);
        self.docs.extend(accepted);
        self.batch.extend(staged);
        self.due.extend(due);
    }

    /// Cases the session staged whole (`SyncSession::take_offerables`): after the commit, an
    /// offer of one to a peer that holds nothing of it needs no load.
    pub fn offerable(&mut self, offerables: Vec<(CaseId, Offerable)>) {
        self.offerables.extend(offerables);
    }

    /// Stages the summary, receipts and feed move of a case this write saves. `heads` are
    /// the document's heads (what the summary describes); `folded` is its state when the
    /// caller folded it already (the sync gate folds each case once).
    pub fn index(
        &mut self,
        doc: &CaseDoc,
        heads: Vec<ChangeHash>,
        folded: Option<CaseState>,
        receipts: &[(EventId, Receipt)],
    ) -> Result<()> {
        let (ledger, batch, now) = (self.ledger, &mut self.batch, self.now);
        let entry = match folded {
            Some(state) => ledger.stage_summary(batch, doc, state, None, receipts, now)?,
            None => ledger.stage_index(batch, doc, receipts, now)?,
        };
        self.indexed.push((entry.case.clone(), heads));
        self.feed.push(entry);
        Ok(())
    }

    /// Commits durably (with whatever else waits for the commit thread), ends the claims,
    /// re-indexes the cases a concurrent write moved on meanwhile, and queues compaction.
    /// Says that every document this write saves was loaded after the ledger's committed
    /// position was `seen` (`Ledger::committed_seq`, read before the loads). On a store other
    /// servers write, the commit thread then keeps a saved document in the cache even when the
    /// case was not cached, if no commit to the case came after `seen`: the document holds
    /// every change then, and the next sync or read of the case need not load it again (about
    /// 1,800 loads in a medium field day). Without it only cached copies take the change in.
    pub fn loaded_after(&mut self, seen: u64) {
        self.seen = Some(seen);
    }

    pub fn commit(self) -> Result<()> {
        let Write {
            ledger,
            now,
            batch,
            feed,
            docs,
            indexed,
            due,
            claim,
            seen,
            offerables,
        } = self;
        let committed = ledger.commit_docs(batch, feed, docs, seen);
        // Durable or failed, the batch is decided (and with it each new case's snapshot): the
        // claims end here, before anything else can fail.
        drop(claim);
        committed?;
        for (case, offerable) in offerables {
            ledger.docs.note_offerable(&case, offerable);
        }
        ledger.settle(indexed, now)?;
        ledger.compactor.later(due);
        Ok(())
    }
}
