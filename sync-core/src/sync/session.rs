//! One sync session with one peer: automerge's own sync protocol, run for many cases at once.
//!
//! A session lives for one conversation (a device's `sync()` call, or one server request).
//! In memory it keeps each case's full automerge [`State`] so that consecutive rounds follow
//! the protocol exactly; on disk it persists the encoded state (the heads both sides share), so
//! the next session starts where this one left off instead of resending whole cases.

use crate::document::CaseDoc;
use crate::ids::CaseId;
use crate::inspect::{Breach, Inspection, Snapshot, Touched};
use crate::store::{Batch, DocStore};
use crate::sync::{Refusal, RefusalCode};
use crate::Error;
use automerge::sync::{
    BloomFilter, Capability, ChunkList, Have, Message, MessageFlags, MessageVersion, State, SyncDoc,
};
use automerge::AutoCommit;
use std::collections::HashMap;

/// The first bytes of an automerge chunk: magic, checksum, then the chunk type (0: document).
const DOCUMENT_CHUNK: (usize, u8) = (8, 0);

/// Swaps the saved document a V2 message carries (automerge deflates its columns) for the same
/// document saved without compression. A batch goes over the wire zstd-compressed as a whole,
/// and raw columns let zstd share what cases have in common (keys, actors, kinds): measured on
/// 50 eight-event cases, 14 KB instead of 28 KB.
fn uncompress_whole_document(doc: &mut AutoCommit, message: &mut Message) {
    if message.version != MessageVersion::V2 {
        return;
    }
    let whole = message.changes.len() == 1
        && message
            .changes
            .iter()
            .all(|one| one.get(DOCUMENT_CHUNK.0) == Some(&DOCUMENT_CHUNK.1));
    if whole {
        message.changes = ChunkList::from(doc.save_nocompress());
    }
}

/// What the receiver decides about a peer's changes to one case, after inspection.
pub trait Gate {
    fn admit(&self, case: &CaseId, inspection: &Inspection, doc: &CaseDoc) -> Admission;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Accept,
    Refuse(Refusal),
}

/// Accepts every change that keeps the case append-only; the handheld's gate.
pub struct AcceptClean;

impl Gate for AcceptClean {
    fn admit(&self, _: &CaseId, _: &Inspection, _: &CaseDoc) -> Admission {
        Admission::Accept
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing new for this case (the message was only heads and acknowledgements).
    Unchanged,
    /// New changes are stored durably.
    Accepted { new_events: usize },
    /// The changes broke a rule; nothing of them was stored.
    Refused { code: RefusalCode, reason: String },
    /// The message could not be read or applied.
    Invalid { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    pub case: CaseId,
    pub outcome: Outcome,
}

pub struct SyncSession<'s> {
    docs: &'s DocStore,
    peer: String,
    states: HashMap<CaseId, State>,
    loaded: HashMap<CaseId, AutoCommit>,
    track_dirty: bool,
    accepted: Vec<CaseId>,
    /// New cases this session claimed when staging (`Staged::claimed`): only these are
    /// released, never a claim another writer holds.
    claimed: Vec<CaseId>,
    due: Vec<CaseId>,
    /// The events of each accepted case as its inspection read them, with the heads they
    /// were read at: [`SyncSession::with_case`] hands them on while the document still has
    /// those heads, so that indexing (the server) or folding (a handheld) an accepted case
    /// does not read every event again.
    read_events: HashMap<CaseId, (Vec<automerge::ChangeHash>, Vec<crate::event::Event>)>,
    /// Cases this session staged whole, with what offering them needs: handed to the store
    /// once the batch is durable.
    offerables: Vec<(CaseId, crate::store::Offerable)>,
}

impl<'s> SyncSession<'s> {
    /// A session with `peer`, the name sync states are kept under (a device id on the server,
    /// the server's name on a device).
    pub fn new(docs: &'s DocStore, peer: impl Into<String>) -> SyncSession<'s> {
        SyncSession {
            docs,
            peer: peer.into(),
            states: HashMap::new(),
            loaded: HashMap::new(),
            track_dirty: false,
            accepted: Vec::new(),
            claimed: Vec::new(),
            due: Vec::new(),
            read_events: HashMap::new(),
            offerables: Vec::new(),
        }
    }

    /// Clears a case's "changed locally" mark once the peer has acknowledged all of it.
    pub fn tracking_dirty(mut self, on: bool) -> Self {
        self.track_dirty = on;
        self
    }

    pub fn peer(&self) -> &str {
        &self.peer
    }

    fn state(&mut self, case: &CaseId) -> Result<&mut State, Error> {
        if !self.states.contains_key(case) {
            let state = self.docs.sync_state(&self.peer, case)?;
            self.states.insert(case.clone(), state);
        }
        self.states
            .get_mut(case)
            .ok_or_else(|| Error::UnknownCase(case.clone()))
    }

    /// The cases of which the peer holds nothing as far as this side knows (no heads were ever
    /// shared with it; states read in one read): before a message of the peer's, cases it
    /// speaks of for the first time; an offer of one is the whole document.
    pub fn holding_nothing(&mut self, cases: &[CaseId]) -> Result<Vec<CaseId>, Error> {
        self.read_states(cases)?;
        let mut nothing = Vec::new();
        for case in cases {
            if self.state(case)?.shared_heads.is_empty() {
                nothing.push(case.clone());
            }
        }
        Ok(nothing)
    }

    /// Reads the stored sync states of the cases this session has not read yet, all in one
    /// read, before a loop asks for them one by one (on PostgreSQL a round trip a case was
    /// 2.9 statements of 13.6 per synced case).
    fn read_states(&mut self, cases: &[CaseId]) -> Result<(), Error> {
        let mut missing: Vec<CaseId> = cases
            .iter()
            .filter(|c| !self.states.contains_key(*c))
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        if missing.len() < 2 {
            return Ok(());
        }
        let states = self.docs.sync_states(&self.peer, &missing)?;
        self.states.extend(missing.into_iter().zip(states));
        Ok(())
    }

    fn doc(&mut self, case: &CaseId) -> Result<&mut AutoCommit, Error> {
        if !self.loaded.contains_key(case) {
            let doc = self.docs.load_automerge(case)?.unwrap_or_default();
            self.loaded.insert(case.clone(), doc);
        }
        self.loaded
            .get_mut(case)
            .ok_or_else(|| Error::UnknownCase(case.clone()))
    }

    /// The next message for each case that has something to say; silent cases are left out.
    pub fn generate<I>(&mut self, cases: I) -> Result<Vec<(CaseId, Vec<u8>)>, Error>
    where
        I: IntoIterator<Item = CaseId>,
    {
        let _session = tracing::info_span!("sync_generate", peer = %self.peer).entered();
        let cases: Vec<CaseId> = cases.into_iter().collect();
        self.read_states(&cases)?;
        let mut out = Vec::new();
        for case in cases {
            let state = std::mem::take(self.state(&case)?);
            if let Some(m) = self.message(&case, state, false)? {
                out.push((case, m));
            }
        }
        Ok(out)
    }

    /// Runs automerge's generator for one case and keeps the state it leaves; with `whole`,
    /// the message carries the whole document, saved uncompressed.
    fn message(
        &mut self,
        case: &CaseId,
        mut state: State,
        whole: bool,
    ) -> Result<Option<Vec<u8>>, Error> {
        let doc = self.doc(case)?;
        let message = doc.sync().generate_sync_message(&mut state);
        let message = message.map(|mut m| {
            if whole && !doc.is_empty() {
                m.changes = ChunkList::from(doc.save_nocompress());
                m.version = MessageVersion::V2;
            } else {
                uncompress_whole_document(doc, &mut m);
            }
            m.encode()
        });
        self.states.insert(case.clone(), state);
        Ok(message)
    }

    /// Messages for cases the peer has not asked about (the server's feed), carrying every
    /// change after the heads last shared with that peer, so that one answer delivers them
    /// without a have/need round first. A peer that holds less than we believed asks for the
    /// rest with its next message, as automerge's protocol does.
    pub fn offer<I>(&mut self, cases: I) -> Result<Vec<(CaseId, Vec<u8>)>, Error>
    where
        I: IntoIterator<Item = CaseId>,
    {
        let _session = tracing::info_span!("sync_offer", peer = %self.peer).entered();
        let cases: Vec<CaseId> = cases.into_iter().collect();
        self.read_states(&cases)?;
        let mut out = Vec::new();
        for case in cases {
            let mut state = std::mem::take(self.state(&case)?);
            let mut whole = false;
            let mut fresh = false;
            // Nothing heard from the peer in this session (a decoded state has an empty
            // `their_have` and no `their_need`): assume it holds what we last shared.
            if state.their_need.is_none() {
                fresh = true;
                state.their_need = Some(Vec::new());
                if state.shared_heads.is_empty() {
                    // The peer holds nothing of the case. Automerge is asked for a message
                    // without changes (our heads, and the bloom filter of what we have, so the
                    // peer answers with what we lack in the same round), and the whole
                    // document goes in it as one V2 chunk: smaller than a chunk per change,
                    // and cheaper than automerge's own choice of a deflated save.
                    state.their_have = Some(Vec::new());
                    whole = true;
                } else {
                    state.their_have = Some(vec![Have {
                        last_sync: state.shared_heads.clone(),
                        bloom: BloomFilter::default(),
                    }]);
                }
            }
            if state.their_capabilities.is_none() {
                // Every peer of a v1 batch runs automerge 0.12, which reads V2 messages.
                state.their_capabilities = Some(vec![Capability::MessageV1, Capability::MessageV2]);
            }
            if fresh {
                let made = if whole {
                    self.whole_as_committed(&case, &mut state)
                } else {
                    self.held_by_peer(&case, &mut state)
                };
                if let Some(m) = made {
                    self.states.insert(case.clone(), state);
                    out.push((case, m));
                    continue;
                }
            }
            if let Some(m) = self.message(&case, state, whole)? {
                out.push((case, m));
            }
        }
        Ok(out)
    }

    /// The feed's offers: [`SyncSession::offer`], less the cases the peer already holds whole
    /// as far as this side knows (nothing heard of the case in this session, and the heads last
    /// shared with the peer are the case's heads here), of which `offer` would send only our
    /// heads, and nothing the peer acts on. A device that pushed its cases and then pulls the
    /// feed finds them in it: 50 such messages were a fifth of the feed's answer (BENCHMARKS,
    /// issue 18). Not for cases the peer spoke about, which are answered with
    /// [`SyncSession::generate`], nor for a device's own opening, whose acknowledgements
    /// clear its "changed locally" marks.
    pub fn offer_news<I>(&mut self, cases: I) -> Result<Vec<(CaseId, Vec<u8>)>, Error>
    where
        I: IntoIterator<Item = CaseId>,
    {
        let cases: Vec<CaseId> = cases.into_iter().collect();
        self.read_states(&cases)?;
        let mut news = Vec::with_capacity(cases.len());
        for case in cases {
            if !self.peer_holds(&case)? {
                news.push(case);
            }
        }
        self.offer(news)
    }

    /// Whether the peer holds every change of a case, as the state stored after the last
    /// exchange says (its shared heads are our heads), with nothing heard of the case in this
    /// session. Reads the heads the cache keeps, loading the document only when it has none.
    fn peer_holds(&mut self, case: &CaseId) -> Result<bool, Error> {
        let state = self.state(case)?;
        if state.their_need.is_some()
            || state.their_heads.is_some()
            || state.shared_heads.is_empty()
        {
            return Ok(false);
        }
        let mut shared = state.shared_heads.clone();
        shared.sort();
        let mut heads = match self.loaded.get_mut(case) {
            Some(doc) => doc.get_heads(),
            None => match self.docs.cached_heads(case) {
                Some(heads) => heads,
                None => self.doc(case)?.get_heads(),
            },
        };
        heads.sort();
        Ok(heads == shared)
    }

    /// The offer of a case the peer already holds whole (the heads last shared with it are
    /// the committed heads, as the cache knows them), made without loading the document: the
    /// message automerge's generator makes from such a state (our heads, nothing needed, an
    /// empty bloom filter after the shared heads, no changes), with the state it leaves. A
    /// device's own cases come back to it in the feed after it sent them; loading each from
    /// the store only to say "nothing new" was the larger part of a reconnect's offers.
    /// `None` (the generator decides) unless the state is exactly as decoded and prepared by
    /// [`SyncSession::offer`] and the document is not loaded in this session.
    fn held_by_peer(&self, case: &CaseId, state: &mut State) -> Option<Vec<u8>> {
        if !as_prepared(state) || state.shared_heads.is_empty() || self.loaded.contains_key(case) {
            return None;
        }
        let heads = self.docs.cached_heads(case)?;
        let mut shared = state.shared_heads.clone();
        shared.sort();
        if heads != shared {
            return None;
        }
        let mut flags = MessageFlags::new();
        flags.set(MessageFlags::SUPPORTS_SYNC_RESET);
        let message = Message {
            heads: heads.clone(),
            need: Vec::new(),
            have: vec![Have {
                last_sync: state.shared_heads.clone(),
                bloom: BloomFilter::from_hashes(std::iter::empty::<automerge::ChangeHash>()),
            }],
            changes: ChunkList::empty(),
            flags: Some(flags),
            version: MessageVersion::V2,
        };
        state.have_responded = true;
        state.last_sent_heads = heads;
        state.in_flight = true;
        Some(message.encode())
    }

    /// The offer of a whole case to a peer that holds nothing of it, made without loading the
    /// document, from what the commit that wrote it whole kept (its heads and change hashes)
    /// and the stored snapshot, while nothing was committed to it since: the message
    /// [`SyncSession::message`] makes from such a state (automerge's generator asked with
    /// nothing of theirs known: our heads, the bloom filter of all our changes, no need; the
    /// document saved uncompressed as its one V2 chunk), with the state it leaves. `None`
    /// (load and generate) otherwise.
    fn whole_as_committed(&self, case: &CaseId, state: &mut State) -> Option<Vec<u8>> {
        if !as_prepared(state) || !state.shared_heads.is_empty() || self.loaded.contains_key(case) {
            return None;
        }
        // A read that fails here is left to the load that follows, which reports it.
        let (committed, save) = self.docs.offerable(case).ok().flatten()?;
        let mut flags = MessageFlags::new();
        flags.set(MessageFlags::SUPPORTS_SYNC_RESET);
        let message = Message {
            heads: committed.heads.clone(),
            need: Vec::new(),
            have: vec![Have {
                last_sync: Vec::new(),
                bloom: BloomFilter::from_hashes(committed.hashes.iter()),
            }],
            changes: ChunkList::from(save),
            flags: Some(flags),
            version: MessageVersion::V2,
        };
        state.have_responded = true;
        state.last_sent_heads = committed.heads.clone();
        state.in_flight = true;
        Some(message.encode())
    }

    /// Cases received in this session whose changes wait for ones the peer has not sent:
    /// the session must answer them so that the peer sends the rest.
    pub fn incomplete(&mut self) -> Vec<CaseId> {
        self.loaded
            .iter_mut()
            .filter_map(|(case, doc)| (!doc.get_missing_deps(&[]).is_empty()).then(|| case.clone()))
            .collect()
    }

    /// Applies a peer's messages. Each case is inspected and admitted or refused on its own;
    /// everything admitted is on disk when this returns.
    pub fn receive(
        &mut self,
        entries: &[(CaseId, Vec<u8>)],
        gate: &dyn Gate,
    ) -> Result<Vec<CaseOutcome>, Error> {
        let (outcomes, batch) = self.receive_staged(entries, gate)?;
        self.docs.commit(batch)?;
        self.committed();
        let due = std::mem::take(&mut self.due);
        self.docs.compact_many(&due)?;
        Ok(outcomes)
    }

    /// Like [`SyncSession::receive`], but leaves committing the writes to the caller (the
    /// server adds its indexes and commits many requests in one group). Call
    /// [`SyncSession::committed`] once the batch is durable.
    pub fn receive_staged(
        &mut self,
        entries: &[(CaseId, Vec<u8>)],
        gate: &dyn Gate,
    ) -> Result<(Vec<CaseOutcome>, Batch), Error> {
        let _session =
            tracing::info_span!("sync_receive", peer = %self.peer, cases = entries.len()).entered();
        let mut batch = Batch::new();
        let mut outcomes = Vec::with_capacity(entries.len());
        let cases: Vec<CaseId> = entries.iter().map(|(c, _)| c.clone()).collect();
        self.read_states(&cases)?;
        let mut seen = std::collections::HashSet::new();
        for (case, bytes) in entries {
            let _case = tracing::debug_span!("case", case = %case).entered();
            // A second message for a case in one batch could undo what the first staged.
            let outcome = if seen.insert(case) {
                // automerge 0.12 panics on some malformed input (a truncated bundle chunk, a
                // change naming an actor the document lacks: found by fuzzing, see
                // fuzz/README.md). A peer's bytes must not take the request down: the case's
                // message is invalid, and what it touched is dropped. Nothing is staged for a
                // case before its changes are inspected and admitted, so the batch holds only
                // other cases' writes.
                let staged = batch.len();
                let received = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.receive_one(case, bytes, gate, &mut batch)
                }));
                match received {
                    Ok(outcome) => outcome?,
                    Err(_) => {
                        tracing::warn!(case = %case, peer = %self.peer, "a sync message made automerge panic");
                        if batch.len() != staged {
                            return Err(Error::Store(
                                "a sync message failed after its case was staged".into(),
                            ));
                        }
                        self.loaded.remove(case);
                        self.states.remove(case);
                        Outcome::Invalid {
                            reason: "the sync message could not be read".into(),
                        }
                    }
                }
            } else {
                Outcome::Invalid {
                    reason: "the case appears twice in one batch".into(),
                }
            };
            tracing::debug!(case = %case, peer = %self.peer, ?outcome, "received");
            if matches!(outcome, Outcome::Accepted { .. }) {
                self.accepted.push(case.clone());
            }
            outcomes.push(CaseOutcome {
                case: case.clone(),
                outcome,
            });
        }
        Ok((outcomes, batch))
    }

    /// Records that the staged writes are durable: accepted documents go to the store's cache.
    pub fn committed(&mut self) {
        self.note_offerables();
        self.docs.release(&std::mem::take(&mut self.claimed));
        for case in std::mem::take(&mut self.accepted) {
            if let Some(doc) = self.loaded.get_mut(&case) {
                self.docs.note_committed(&case, doc);
            }
        }
    }

    /// The cases this session staged whole, with what offering them needs, for a caller that
    /// commits the batch itself (the server's write): hand each to
    /// [`DocStore::note_offerable`] once it is durable.
    pub fn take_offerables(&mut self) -> Vec<(CaseId, crate::store::Offerable)> {
        std::mem::take(&mut self.offerables)
    }

    /// Hands the cases staged whole to the store, now that their batch is durable.
    fn note_offerables(&mut self) {
        for (case, offerable) in std::mem::take(&mut self.offerables) {
            self.docs.note_offerable(&case, offerable);
        }
    }

    /// Whether this session's copy of a case holds every one of `heads` (false for a case it
    /// never loaded).
    pub fn holds_all(&mut self, case: &CaseId, heads: &[automerge::ChangeHash]) -> bool {
        self.loaded
            .get_mut(case)
            .is_some_and(|doc| heads.iter().all(|h| doc.get_change_by_hash(h).is_some()))
    }

    /// A message for a case the peer may deliver its own work to but not read (it wrote to
    /// the case before leaving its scope): it carries no changes, names as heads only those of
    /// `named` (hashes the peer itself sent) that this side holds, and says this side has
    /// nothing after them, so the peer answers with every change it made since.
    pub fn request_only(
        &mut self,
        case: &CaseId,
        named: &[automerge::ChangeHash],
    ) -> Result<Vec<u8>, Error> {
        let doc = self.doc(case)?;
        let mut held: Vec<automerge::ChangeHash> = named
            .iter()
            .filter(|h| doc.get_change_by_hash(h).is_some())
            .copied()
            .collect();
        held.sort();
        held.dedup();
        let message = Message {
            heads: held.clone(),
            need: Vec::new(),
            have: vec![Have {
                last_sync: held,
                bloom: BloomFilter::default(),
            }],
            changes: ChunkList::empty(),
            flags: None,
            version: MessageVersion::V1,
        };
        Ok(message.encode())
    }

    /// Brings this session's copies of `cases` up to what the store has committed now (a
    /// concurrent writer may have committed since they were loaded). Costs one heads
    /// comparison per case when nothing happened meanwhile. A server that calls it after
    /// reading its published feed position may hand the peer a cursor up to that position.
    pub fn catch_up<'c>(
        &mut self,
        cases: impl IntoIterator<Item = &'c CaseId>,
    ) -> Result<(), Error> {
        for case in cases {
            let Some(doc) = self.loaded.get_mut(case) else {
                continue;
            };
            let Some(committed) = self.docs.current_heads(case)? else {
                continue;
            };
            if committed == doc.get_heads() {
                continue;
            }
            if let Some(mut fresh) = self.docs.load_automerge(case)? {
                doc.merge(&mut fresh)?;
            }
        }
        Ok(())
    }

    /// Copies of the documents accepted in this session, for a caller that caches them as
    /// part of its commit (the server's commit thread); then call
    /// [`SyncSession::committed_and_cached`] instead of [`SyncSession::committed`].
    pub fn accepted_documents(&self) -> Vec<(CaseId, AutoCommit)> {
        self.accepted
            .iter()
            .filter_map(|case| Some((case.clone(), self.loaded.get(case)?.clone())))
            .collect()
    }

    /// Records that the staged writes are durable and their documents already cached.
    pub fn committed_and_cached(&mut self) {
        self.note_offerables();
        self.docs.release(&std::mem::take(&mut self.claimed));
        self.accepted.clear();
    }

    /// The new cases this session claimed while staging, handed to a caller that releases
    /// them itself (the server's write, whose guard releases them when it ends).
    pub fn take_claimed(&mut self) -> Vec<CaseId> {
        std::mem::take(&mut self.claimed)
    }

    /// Cases whose increments piled up past the compaction threshold in this session.
    pub fn take_due_for_compaction(&mut self) -> Vec<CaseId> {
        std::mem::take(&mut self.due)
    }

    /// Runs `f` on a case this session holds, as a [`CaseDoc`], without copying the document.
    pub fn with_case<T>(
        &mut self,
        case: &CaseId,
        f: impl FnOnce(&CaseDoc) -> T,
    ) -> Result<Option<T>, Error> {
        let Some(mut doc) = self.loaded.remove(case) else {
            return Ok(None);
        };
        let read = self
            .read_events
            .remove(case)
            .filter(|(heads, _)| *heads == doc.get_heads());
        let mut doc = CaseDoc::from_automerge(doc)?;
        let heads = read.map(|(heads, events)| {
            doc.keep_read_events(events);
            heads
        });
        let out = f(&doc);
        if let (Some(heads), Some(events)) = (heads, doc.take_read_events()) {
            self.read_events.insert(case.clone(), (heads, events));
        }
        self.loaded.insert(case.clone(), doc.into_automerge());
        Ok(Some(out))
    }

    /// A document as this session holds it (after receiving), for indexing.
    pub fn document(&mut self, case: &CaseId) -> Option<&mut AutoCommit> {
        self.loaded.get_mut(case)
    }

    fn receive_one(
        &mut self,
        case: &CaseId,
        bytes: &[u8],
        gate: &dyn Gate,
        batch: &mut Batch,
    ) -> Result<Outcome, Error> {
        if bytes.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        let message = match Message::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                return Ok(Outcome::Invalid {
                    reason: format!("unreadable sync message: {e}"),
                })
            }
        };
        let mut doc = match self.loaded.remove(case) {
            Some(doc) => doc,
            None => self.docs.load_automerge(case)?.unwrap_or_default(),
        };
        let before = doc.get_heads();
        // The stored case as it stands, read before the changes apply (reading it afterwards
        // at the old heads costs several times more). Only a message that carries changes
        // needs it: most messages are acknowledgements.
        let (snapshot, touched) = if before.is_empty() {
            (Some(Snapshot::empty()), None)
        } else if message.changes.is_empty() {
            (None, None)
        } else {
            (
                Some(Snapshot::current(&doc, before.clone())),
                Touched::of_chunks(message.changes.iter()),
            )
        };
        let previous = self.state(case)?.clone();
        let mut state = previous.clone();
        if let Err(e) = doc.sync().receive_sync_message(&mut state, message) {
            // The document may hold part of the message: drop it, the store has the truth.
            self.states.insert(case.clone(), previous);
            return Ok(Outcome::Invalid {
                reason: format!("sync message does not apply: {e}"),
            });
        }
        // When the peer needs something this session already sent, it dropped what it could
        // not apply yet: automerge never resends within a session, assuming the peer keeps
        // such changes, but the server does not (each request is a session of its own). So the
        // session forgets what it sent, and automerge sends again everything the peer's bloom
        // filter lacks: the needed change and every one that waited on it.
        if let Some(need) = &state.their_need {
            if need.iter().any(|hash| state.sent_hashes.contains(hash)) {
                state.sent_hashes.clear();
            }
        }
        if doc.get_heads() == before {
            self.keep(case, doc, state, &previous, batch);
            return Ok(Outcome::Unchanged);
        }

        let snapshot = match snapshot {
            Some(snapshot) => snapshot,
            // The heads moved without a change in the message (automerge applies only the
            // message's changes, so this should not happen): read the old heads' state.
            None => Snapshot::at(&doc, before.clone()),
        };
        let mut inspection = snapshot.inspect_with(&mut doc, touched.as_ref());
        drop(snapshot);
        let verdict = match inspection.breaches.first() {
            Some(breach) => Err(Refusal::from(breach)),
            None => match CaseDoc::from_automerge(doc) {
                Err(e @ Error::NewerSchema { .. }) => Err(Refusal::new(
                    RefusalCode::NewerSchema,
                    format!("newer_schema: case {case}: {e}"),
                )),
                // Only the header and the layout are read here: the events are read later.
                Err(e) => Err(Refusal::from(&Breach::BadHeader {
                    reason: format!("case {case}: {e}"),
                })),
                Ok(mut case_doc) => {
                    // The snapshot and the inspection read every event, in list order: the
                    // gate takes them from there rather than from the document.
                    if let Some(events) = inspection.events.take() {
                        case_doc.keep_read_events(events);
                    }
                    match gate.admit(case, &inspection, &case_doc) {
                        Admission::Accept => {
                            let events = case_doc.take_read_events();
                            Ok((case_doc.into_automerge(), events))
                        }
                        Admission::Refuse(reason) => Err(reason),
                    }
                }
            },
        };
        let (mut fresh, events) = match verdict {
            Ok(accepted) => accepted,
            Err(refusal) => {
                // Drop the changed document and keep the old state: nothing refused stays.
                self.states.insert(case.clone(), previous);
                return Ok(Outcome::Refused {
                    code: refusal.code,
                    reason: refusal.text,
                });
            }
        };
        let (staged, offerable) = self
            .docs
            .stage_save_offerable(batch, case, &mut fresh, &before)?;
        if let Some(offerable) = offerable {
            self.offerables.push((case.clone(), offerable));
        }
        if staged.compact {
            self.due.push(case.clone());
        }
        if staged.claimed {
            self.claimed.push(case.clone());
        }
        let new_events = inspection.new_events.len();
        match events {
            Some(events) => {
                self.read_events
                    .insert(case.clone(), (fresh.get_heads(), events));
            }
            None => {
                self.read_events.remove(case);
            }
        }
        self.keep(case, fresh, state, &previous, batch);
        Ok(Outcome::Accepted { new_events })
    }

    fn keep(
        &mut self,
        case: &CaseId,
        mut doc: AutoCommit,
        state: State,
        previous: &State,
        batch: &mut Batch,
    ) {
        if state.shared_heads != previous.shared_heads {
            self.docs.stage_sync_state(batch, &self.peer, case, &state);
        }
        if self.track_dirty && !doc.is_empty() && doc.has_our_changes(&state) {
            self.docs.stage_dirty(batch, case, false);
        }
        self.states.insert(case.clone(), state);
        self.loaded.insert(case.clone(), doc);
    }
}

/// A state as [`SyncSession::offer`] prepares it from a decoded one (nothing heard from the
/// peer in this session) for a peer of V2 messages: the generator's message is then known
/// without running it.
fn as_prepared(state: &State) -> bool {
    let v2 = state
        .their_capabilities
        .as_ref()
        .is_some_and(|c| c.contains(&Capability::MessageV2));
    v2 && state.their_heads.is_none()
        && state.last_sent_heads.is_empty()
        && state.sent_hashes.is_empty()
        && !state.have_responded
        && !state.in_flight
        && !state.read_only
        && !state.peer_read_only
        && !state.needs_reset
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SledStore, Store};
    use automerge::transaction::Transactable;
    use std::sync::Arc;

    /// A document with two concurrent heads (two actors), committed and then evicted from a
    /// one-document cache, so that only its heads are cached.
    fn evicted(docs: &DocStore, case: &CaseId) -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "a", 1).expect("put");
        doc.commit();
        let mut other = doc.fork();
        other.put(automerge::ROOT, "b", 2).expect("put");
        doc.put(automerge::ROOT, "c", 3).expect("put");
        doc.merge(&mut other).expect("merge");
        assert_eq!(doc.get_heads().len(), 2);
        let mut batch = Batch::new();
        docs.stage_save(&mut batch, case, &mut doc, &[])
            .expect("staged");
        docs.commit(batch).expect("committed");
        docs.release([case]);
        docs.note_committed(case, &mut doc);
        let mut filler = AutoCommit::new();
        docs.note_committed(&CaseId::new("filler"), &mut filler);
        assert!(docs.cached_heads(case).is_some(), "its heads stay cached");
        doc
    }

    /// [`evicted`], and held whole by `peer`: the state stored after the last exchange shares
    /// the document's heads. Returns the document and that state.
    fn shared_whole(docs: &DocStore, case: &CaseId) -> (AutoCommit, State) {
        let mut doc = evicted(docs, case);
        let mut shared = State::new();
        shared.shared_heads = doc.get_heads();
        let mut batch = Batch::new();
        docs.stage_sync_state(&mut batch, "peer", case, &shared);
        docs.commit(batch).expect("committed");
        (doc, shared)
    }

    /// Commits one more change to a stored case, as a writer does (an increment, cached).
    fn commit_change(docs: &DocStore, case: &CaseId, doc: &mut AutoCommit) {
        let before = doc.get_heads();
        doc.put(automerge::ROOT, "d", 4).expect("put");
        doc.commit();
        let mut batch = Batch::new();
        docs.stage_save(&mut batch, case, doc, &before)
            .expect("staged");
        docs.commit(batch).expect("committed");
        docs.note_committed(case, doc);
    }

    /// What automerge's own generator sends from the state `offer` prepares.
    fn generated(doc: &mut AutoCommit, mut state: State) -> (Vec<u8>, State) {
        state.their_need = Some(Vec::new());
        state.their_have = Some(vec![Have {
            last_sync: state.shared_heads.clone(),
            bloom: BloomFilter::default(),
        }]);
        state.their_capabilities = Some(vec![Capability::MessageV1, Capability::MessageV2]);
        let m = doc
            .sync()
            .generate_sync_message(&mut state)
            .expect("a message");
        (m.encode(), state)
    }

    #[test]
    fn an_offer_of_a_case_the_peer_holds_is_automerges_message_without_loading_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
        let docs = DocStore::new(store).with_cache(1);
        let case = CaseId::new("case-1");
        // The peer holds everything: the state as stored after the last exchange.
        let (mut doc, shared) = shared_whole(&docs, &case);
        let decoded = State::decode(&shared.encode()).expect("decoded");

        let mut session = SyncSession::new(&docs, "peer");
        let offered = session.offer([case.clone()]).expect("offered");
        assert!(!session.loaded.contains_key(&case), "not loaded");
        let (expected, expected_state) = generated(&mut doc, decoded);
        assert_eq!(offered, vec![(case.clone(), expected)]);
        assert_eq!(session.states.get(&case), Some(&expected_state));

        // One change the peer lacks: the generator's own message, with the change.
        commit_change(&docs, &case, &mut doc);
        let mut session = SyncSession::new(&docs, "peer");
        let offered = session.offer([case.clone()]).expect("offered");
        let decoded = State::decode(&shared.encode()).expect("decoded");
        let (expected, _) = generated(&mut doc, decoded);
        assert_eq!(offered, vec![(case.clone(), expected)]);
        assert!(
            session.loaded.contains_key(&case),
            "loaded to send the change"
        );
    }

    #[test]
    fn the_feeds_offers_leave_out_what_the_peer_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
        let docs = DocStore::new(store).with_cache(1);
        let held = CaseId::new("case-1");
        let (mut doc, _) = shared_whole(&docs, &held);
        // A case the peer has never heard of.
        let new = CaseId::new("case-2");
        let mut other = AutoCommit::new();
        other.put(automerge::ROOT, "a", 1).expect("put");
        let mut batch = Batch::new();
        docs.stage_save(&mut batch, &new, &mut other, &[])
            .expect("staged");
        docs.commit(batch).expect("committed");
        docs.release([&new]);

        let both = [held.clone(), new.clone()];
        let offered = SyncSession::new(&docs, "peer")
            .offer(both.clone())
            .expect("offered");
        assert_eq!(offered.len(), 2, "offer speaks of both");
        let mut session = SyncSession::new(&docs, "peer");
        let news = session.offer_news(both.clone()).expect("offered");
        assert_eq!(news, vec![offered[1].clone()], "only the new case");
        assert!(!session.loaded.contains_key(&held), "not loaded to know it");

        // Held by the peer, but not yet on the cache's heads: loaded, and still left out.
        let cold = DocStore::new(docs.store().clone());
        let news = SyncSession::new(&cold, "peer")
            .offer_news([held.clone()])
            .expect("offered");
        assert!(news.is_empty());

        // A change the peer lacks: offered as `offer` offers it.
        commit_change(&docs, &held, &mut doc);
        let offered = SyncSession::new(&docs, "peer")
            .offer([held.clone()])
            .expect("offered");
        let news = SyncSession::new(&docs, "peer")
            .offer_news([held.clone()])
            .expect("offered");
        assert_eq!(news, offered);
        assert_eq!(news.len(), 1);
    }

    /// A new case committed whole as a sync session commits it: staged, committed, its claim
    /// released, cached and kept for offers.
    fn committed_whole(docs: &DocStore, case: &CaseId, doc: &mut AutoCommit) {
        let mut batch = Batch::new();
        let (_, offerable) = docs
            .stage_save_offerable(&mut batch, case, doc, &[])
            .expect("staged");
        docs.commit(batch).expect("committed");
        docs.release([case]);
        docs.note_committed(case, doc);
        docs.note_offerable(case, offerable.expect("a new case is offerable"));
    }

    #[test]
    fn a_whole_offer_of_a_case_committed_whole_is_automerges_message_without_loading_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
        let docs = DocStore::new(store).with_cache(4);
        let case = CaseId::new("case-1");
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "a", 1).expect("put");
        doc.commit();
        let mut other = doc.fork();
        other.put(automerge::ROOT, "b", 2).expect("put");
        doc.put(automerge::ROOT, "c", 3).expect("put");
        doc.merge(&mut other).expect("merge");
        committed_whole(&docs, &case, &mut doc);

        // What the old path made: the document loaded, automerge's generator asked with
        // nothing of the peer's known, the whole document saved uncompressed as its chunk.
        let mut expected_state = State::new();
        expected_state.their_need = Some(Vec::new());
        expected_state.their_have = Some(Vec::new());
        expected_state.their_capabilities =
            Some(vec![Capability::MessageV1, Capability::MessageV2]);
        let mut m = doc
            .sync()
            .generate_sync_message(&mut expected_state)
            .expect("a message");
        m.changes = ChunkList::from(doc.save_nocompress());
        m.version = MessageVersion::V2;

        let mut session = SyncSession::new(&docs, "new-peer");
        let offered = session.offer([case.clone()]).expect("offered");
        assert!(!session.loaded.contains_key(&case), "not loaded");
        assert_eq!(offered, vec![(case.clone(), m.encode())]);
        assert_eq!(session.states.get(&case), Some(&expected_state));

        // A peer receiving it holds the case.
        let mut peer = AutoCommit::new();
        let mut peer_state = State::new();
        let message = Message::decode(&offered[0].1).expect("decodes");
        peer.sync()
            .receive_sync_message(&mut peer_state, message)
            .expect("applies");
        assert_eq!(peer.get_heads(), doc.get_heads());

        // Once something else is committed to the case, the kept form is not used.
        doc.put(automerge::ROOT, "d", 4).expect("put");
        doc.commit();
        docs.note_committed(&case, &mut doc);
        let mut session = SyncSession::new(&docs, "another-peer");
        session.offer([case.clone()]).expect("offered");
        assert!(
            session.loaded.contains_key(&case),
            "loaded: the kept form is stale"
        );

        // A change stored by a path that did not tell the cache: the increment shows it.
        let second = CaseId::new("case-2");
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "a", 1).expect("put");
        doc.commit();
        committed_whole(&docs, &second, &mut doc);
        let before = doc.get_heads();
        doc.put(automerge::ROOT, "b", 2).expect("put");
        doc.commit();
        let mut batch = Batch::new();
        docs.stage_save(&mut batch, &second, &mut doc, &before)
            .expect("staged");
        docs.commit(batch).expect("committed");
        let mut session = SyncSession::new(&docs, "a-third-peer");
        session.offer([second.clone()]).expect("offered");
        assert!(
            session.loaded.contains_key(&second),
            "loaded: an increment came after"
        );
    }
}
