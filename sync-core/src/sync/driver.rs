//! The device side of a sync conversation, sans-IO: [`DeviceSync`] decides what each request
//! carries and what each answer means, and the caller moves the batches.
//!
//! A conversation is one device's `sync()`: requests go out until the device has nothing more
//! to send and the server nothing more to page through. The driver owns every decision of it:
//!
//! - which cases to send: the cases changed locally (dirty) when it starts, less those the
//!   caller holds back (refused at heads that have not moved since), plus the cases the session
//!   reports incomplete (changes received that wait for ones the server has not sent yet);
//! - each request: a [`SyncBatch`] with the cursor of the last answer and a message per case;
//! - each answer: its notices become refusals (a refused case is not sent again in this
//!   conversation; `delivered_out_of_scope` also ends the case's "changed locally" mark, since
//!   nothing more of it will come), except those of an [`InfoCode`] (the case numbers a device
//!   asked for: [`Answered::numbers`]), which refuse nothing; its entries go through [`SyncSession::receive`] with the
//!   device's gate ([`AcceptClean`]: a device takes from its server whatever keeps a case
//!   append-only), its cursor and `more` decide whether to go on;
//! - the end: the cursor is persisted only when the conversation finishes, so a conversation
//!   cut short resumes from the old cursor and loses nothing.
//!
//! It does no network I/O, reads no clock and never sleeps: retries, backoff, token renewal and
//! photo transfers are the caller's. It does read and write the device's [`DocStore`], as the
//! session under it does.
//!
//! # States
//!
//! ```text
//!            next_request: Send(batch)            take_answer
//!   Ready ─────────────────────────────▶ Awaiting ───────────▶ Ready (or Stalled past the
//!     │                                                               round limit)
//!     │ next_request: nothing to send, no `more`
//!     ▼
//!   Done ── finish ──▶ Finished
//! ```
//!
//! A caller loops on [`DeviceSync::next_request`]: on [`Next::Send`] it posts the batch and
//! hands the answer to [`DeviceSync::take_answer`], committing the [`Answered::persist`] batch
//! it returns (with any records of its own); on [`Next::Finished`] it calls
//! [`DeviceSync::finish`] and commits [`Finished::persist`] (the cursor); on [`Next::Stalled`]
//! it gives up, and the cursor stays where it was.

use crate::ids::CaseId;
use crate::store::{Batch, DocStore};
use crate::sync::{
    AcceptClean, CaseOutcome, InfoCode, Notice, Outcome, RefusalCode, SyncBatch, SyncSession,
};
use crate::{ChangeHash, Error};
use std::collections::BTreeSet;

/// Rounds a conversation may take before the driver gives up on a peer that never finishes.
pub const DEFAULT_ROUND_LIMIT: u32 = 500;

/// How the first request of a conversation speaks about the dirty cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Opening {
    /// Every change after the heads last shared with the server, outright
    /// ([`SyncSession::offer`]): one round trip fewer per sync. The handheld's opening.
    #[default]
    Offer,
    /// Automerge's own opening ([`SyncSession::generate`]): heads and a bloom filter first,
    /// changes once the peer says what it lacks. What any automerge implementation running one
    /// sync session per case does, so a server must answer it too.
    HaveNeed,
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The next request is to be built ([`DeviceSync::next_request`]).
    Ready,
    /// A request is out; its answer goes to [`DeviceSync::take_answer`].
    Awaiting,
    /// Nothing more to send or page through; [`DeviceSync::finish`] says what to persist.
    Done,
    /// The peer kept the conversation going past the round limit.
    Stalled,
    /// [`DeviceSync::finish`] was called.
    Finished,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send this batch, then hand the answer to [`DeviceSync::take_answer`].
    Send(SyncBatch),
    /// The conversation is over: call [`DeviceSync::finish`].
    Finished,
    /// The conversation took more rounds than allowed: give up (nothing is persisted, the
    /// next conversation starts from the old cursor).
    Stalled { rounds: u32 },
}

/// A case the peer refused in this conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The peer's word: the case, a stable code, a text for people.
    pub notice: Notice,
    /// The case's heads on this device when refused: until they move (new work on the case),
    /// sending it again would only be refused again (see [`DeviceSync::hold_back`]).
    pub heads: Vec<ChangeHash>,
}

/// What one answer did.
#[derive(Debug)]
#[must_use = "the persist batch must be committed"]
pub struct Answered {
    /// The cases the answer refused.
    pub refused: Vec<Refused>,
    /// The numbers the server gave cases of the answer (its `numbered` notices: only a device
    /// that asked, `POST /v1/sync?numbers=true`, receives them), for the caller to keep.
    pub numbers: Vec<(CaseId, String)>,
    /// What became of each case the answer carried (already durable).
    pub outcomes: Vec<CaseOutcome>,
    /// Writes the answer calls for (a case delivered out of scope is no longer dirty). The
    /// caller adds its own records of the refusals and commits it before the next request.
    pub persist: Batch,
}

/// What a finished conversation did, and what to persist ([`DeviceSync::cursor`] and
/// [`DeviceSync::rounds`] say where it ended and how long it took).
#[derive(Debug)]
#[must_use = "the persist batch must be committed"]
pub struct Finished {
    /// The cursor of the last answer, staged: the caller adds its own end-of-session writes
    /// and commits it, so the cursor moves together with them.
    pub persist: Batch,
    /// Cases dirty at the start that the peer now holds in full (or took out of scope).
    pub sent: Vec<CaseId>,
    /// Cases the peer refused in this conversation.
    pub refused: BTreeSet<CaseId>,
    /// Cases that came in with new events.
    pub received: BTreeSet<CaseId>,
}

/// The device's side of one sync conversation with its server. See the module docs.
pub struct DeviceSync<'s> {
    docs: &'s DocStore,
    peer: String,
    session: SyncSession<'s>,
    opening: Opening,
    round_limit: u32,
    phase: Phase,
    cursor: u64,
    more: bool,
    rounds: u32,
    dirty_at_start: BTreeSet<CaseId>,
    active: BTreeSet<CaseId>,
    refused: BTreeSet<CaseId>,
    received: BTreeSet<CaseId>,
}

/// A call out of turn: a caller's bug, reported rather than guessed around.
fn out_of_turn(what: &'static str) -> Error {
    Error::Malformed(what)
}

impl<'s> DeviceSync<'s> {
    /// Starts a conversation with `peer` (the name the server's sync states and cursor are
    /// kept under): reads the cursor and the cases changed locally.
    pub fn start(docs: &'s DocStore, peer: &str) -> Result<DeviceSync<'s>, Error> {
        let dirty: BTreeSet<CaseId> = docs.dirty_cases()?.into_iter().collect();
        Ok(DeviceSync {
            docs,
            peer: peer.to_owned(),
            session: SyncSession::new(docs, peer).tracking_dirty(true),
            opening: Opening::default(),
            round_limit: DEFAULT_ROUND_LIMIT,
            phase: Phase::Ready,
            cursor: docs.cursor(peer)?,
            more: true,
            rounds: 0,
            active: dirty.clone(),
            dirty_at_start: dirty,
            refused: BTreeSet::new(),
            received: BTreeSet::new(),
        })
    }

    /// How the first request speaks (default [`Opening::Offer`]).
    pub fn with_opening(self, opening: Opening) -> Self {
        DeviceSync { opening, ..self }
    }

    /// Gives up after this many rounds (default [`DEFAULT_ROUND_LIMIT`]).
    pub fn with_round_limit(self, rounds: u32) -> Self {
        DeviceSync {
            round_limit: rounds,
            ..self
        }
    }

    /// Keeps a dirty case out of this conversation when the peer refused it at `refused_at`
    /// and its heads have not moved since: only new work on it earns another try. Returns
    /// whether the case is held back. Call before the first request.
    pub fn hold_back(&mut self, case: &CaseId, refused_at: &[ChangeHash]) -> Result<bool, Error> {
        if self.phase != Phase::Ready || self.rounds > 0 {
            return Err(out_of_turn(
                "sync driver: hold_back after the first request",
            ));
        }
        if !self.active.contains(case) {
            return Ok(false);
        }
        let heads = self.docs.current_heads(case)?.unwrap_or_default();
        let held = heads == refused_at;
        if held {
            self.active.remove(case);
        }
        Ok(held)
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// The cursor of the last answer (the stored one before any answer).
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The next request, or whether the conversation is over.
    pub fn next_request(&mut self) -> Result<Next, Error> {
        match self.phase {
            Phase::Ready => {}
            Phase::Awaiting => {
                return Err(out_of_turn(
                    "sync driver: a request was asked for while one is unanswered",
                ))
            }
            Phase::Done | Phase::Finished => return Ok(Next::Finished),
            Phase::Stalled => {
                return Ok(Next::Stalled {
                    rounds: self.rounds,
                })
            }
        }
        let live: Vec<CaseId> = self.active.difference(&self.refused).cloned().collect();
        let entries = if self.rounds == 0 && self.opening == Opening::Offer {
            self.session.offer(live)?
        } else {
            self.session.generate(live)?
        };
        if entries.is_empty() && !self.more {
            self.phase = Phase::Done;
            return Ok(Next::Finished);
        }
        self.rounds += 1;
        self.phase = Phase::Awaiting;
        Ok(Next::Send(SyncBatch {
            cursor: self.cursor,
            more: false,
            entries,
            notices: vec![],
        }))
    }

    /// Takes the peer's answer to the request out: its refusals, its changes (durable when
    /// this returns), its cursor and whether it holds more.
    pub fn take_answer(&mut self, answer: &SyncBatch) -> Result<Answered, Error> {
        if self.phase != Phase::Awaiting {
            return Err(out_of_turn(
                "sync driver: an answer came with no request out",
            ));
        }
        let mut persist = Batch::new();
        let mut refused = Vec::with_capacity(answer.notices.len());
        let mut numbers = Vec::new();
        for n in &answer.notices {
            if let Some(code) = InfoCode::parse(&n.code) {
                match code {
                    InfoCode::Numbered => numbers.push((n.case.clone(), n.text.clone())),
                }
                continue;
            }
            tracing::warn!(case = %n.case, code = %n.code, "the server refused a case");
            self.refused.insert(n.case.clone());
            if n.code == RefusalCode::DeliveredOutOfScope.as_str() {
                // Stored on the server, and nothing more of the case will come: done.
                self.docs.stage_dirty(&mut persist, &n.case, false);
            }
            refused.push(Refused {
                notice: n.clone(),
                heads: self.docs.current_heads(&n.case)?.unwrap_or_default(),
            });
        }
        let outcomes = self.session.receive(&answer.entries, &AcceptClean)?;
        for o in &outcomes {
            if matches!(o.outcome, Outcome::Accepted { new_events } if new_events > 0) {
                self.received.insert(o.case.clone());
            }
        }
        self.active.extend(self.session.incomplete());
        self.cursor = answer.cursor;
        self.more = answer.more;
        self.phase = if self.rounds > self.round_limit {
            Phase::Stalled
        } else {
            Phase::Ready
        };
        Ok(Answered {
            refused,
            numbers,
            outcomes,
            persist,
        })
    }

    /// Ends a finished conversation: which dirty cases went, and the cursor to persist. The
    /// last answer's [`Answered::persist`] must be committed first.
    pub fn finish(&mut self) -> Result<Finished, Error> {
        if self.phase != Phase::Done {
            return Err(out_of_turn(
                "sync driver: finish before the conversation ended",
            ));
        }
        let still_dirty: BTreeSet<CaseId> = self.docs.dirty_cases()?.into_iter().collect();
        let mut persist = Batch::new();
        self.docs
            .stage_cursor(&mut persist, &self.peer, self.cursor);
        self.phase = Phase::Finished;
        Ok(Finished {
            persist,
            sent: self
                .dirty_at_start
                .difference(&still_dirty)
                .cloned()
                .collect(),
            refused: self.refused.clone(),
            received: self.received.clone(),
        })
    }

    /// Runs `f` on a case as this conversation holds it (after receiving), without loading it
    /// again: what the caller reads of the cases received (conflicts, attachments to fetch).
    pub fn with_case<T>(
        &mut self,
        case: &CaseId,
        f: impl FnOnce(&crate::CaseDoc) -> T,
    ) -> Result<Option<T>, Error> {
        self.session.with_case(case, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{act, open_case};
    use crate::event::Intake;
    use crate::inspect::Inspection;
    use crate::store::SledStore;
    use crate::sync::{Admission, Gate, Refusal};
    use crate::{Action, Actor, ActorId, CaseDoc, Role, Scope, WorkCalendar};
    use std::sync::Arc;

    const T0: i64 = 1_772_413_200_000;

    fn store() -> (tempfile::TempDir, DocStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let docs = DocStore::new(Arc::new(SledStore::open(dir.path()).expect("open")));
        (dir, docs)
    }

    fn worker() -> Actor {
        Actor {
            user: "worker1".into(),
            device: "device-1".into(),
            role: Role::GridWorker,
            scope: Scope::Grids(vec!["g1".into()]),
        }
    }

    fn writer() -> ActorId {
        ActorId::from(uuid::Uuid::new_v4().as_bytes().as_slice())
    }

    /// Opens a case on a device's store, marked for the next sync.
    fn report(docs: &DocStore, text: &str) -> CaseId {
        let intake: Intake = serde_json::from_value(serde_json::json!({
            "channel": "patrol",
            "description": text,
            "territory": {"street": "s1", "community": "c1", "grid": "g1"},
        }))
        .expect("an intake");
        let (mut doc, _) = open_case(&worker(), writer(), intake, T0).expect("open");
        let case = doc.header().expect("header").case;
        docs.save_local(&case, &mut doc, &[]).expect("save");
        case
    }

    fn comment(docs: &DocStore, case: &CaseId, text: &str) {
        let mut doc = docs.load(case).expect("load").expect("held");
        doc.set_actor(writer());
        let since = doc.heads();
        let action = Action::Comment { text: text.into() };
        act(
            &mut doc,
            &worker(),
            action,
            T0 + 1,
            &WorkCalendar::beijing(),
        )
        .expect("comment");
        docs.save_local(case, &mut doc, &since).expect("save");
    }

    /// Refuses the cases it names.
    struct RefuseSome(BTreeSet<CaseId>);

    impl Gate for RefuseSome {
        fn admit(&self, case: &CaseId, _: &Inspection, _: &CaseDoc) -> Admission {
            if self.0.contains(case) {
                Admission::Refuse(Refusal::new(RefusalCode::ForgedAuthor, "not yours"))
            } else {
                Admission::Accept
            }
        }
    }

    /// A server without HTTP: a session per request, a notice per refusal, answers for the
    /// cases asked about, and a feed of every case it holds, `page` cases an answer.
    struct Hub {
        docs: DocStore,
        gate: RefuseSome,
        page: usize,
        /// Answers `more` forever (a peer that never finishes).
        endless: bool,
    }

    impl Hub {
        fn new(page: usize) -> (tempfile::TempDir, Hub) {
            let (dir, docs) = store();
            let gate = RefuseSome(BTreeSet::new());
            let hub = Hub {
                docs,
                gate,
                page,
                endless: false,
            };
            (dir, hub)
        }

        fn answer(&self, device: &str, request: &SyncBatch) -> SyncBatch {
            let mut session = SyncSession::new(&self.docs, device);
            let outcomes = session
                .receive(&request.entries, &self.gate)
                .expect("receive");
            let notices: Vec<Notice> = outcomes
                .iter()
                .filter_map(|o| match &o.outcome {
                    Outcome::Refused { code, reason } => Some(Notice {
                        case: o.case.clone(),
                        code: code.as_str().into(),
                        text: reason.clone(),
                    }),
                    _ => None,
                })
                .collect();
            let mut spoken: Vec<CaseId> = request.entries.iter().map(|(c, _)| c.clone()).collect();
            spoken.retain(|c| notices.iter().all(|n| n.case != *c));
            let feed = self.docs.case_ids().expect("cases");
            let from = usize::try_from(request.cursor)
                .expect("cursor")
                .min(feed.len());
            let to = (from + self.page).min(feed.len());
            let offers: Vec<CaseId> = feed[from..to]
                .iter()
                .filter(|c| !spoken.contains(c))
                .cloned()
                .collect();
            let mut entries = session.generate(spoken).expect("generate");
            entries.extend(session.offer(offers).expect("offer"));
            SyncBatch {
                cursor: to as u64,
                more: self.endless || to < feed.len(),
                entries,
                notices,
            }
        }
    }

    /// Runs a conversation through encoded batches; returns the refusals and the end.
    fn converse(
        driver: &mut DeviceSync,
        docs: &DocStore,
        name: &str,
        hub: &Hub,
    ) -> (Vec<Refused>, Finished) {
        let mut refused = Vec::new();
        while let Next::Send(request) = driver.next_request().expect("request") {
            let request = SyncBatch::decode(&request.encode()).expect("request decodes");
            let answer = hub.answer(name, &request);
            let answer = SyncBatch::decode(&answer.encode()).expect("answer decodes");
            let answered = driver.take_answer(&answer).expect("answer");
            docs.commit(answered.persist).expect("commit");
            refused.extend(answered.refused);
        }
        let finished = driver.finish().expect("finish");
        (refused, finished)
    }

    #[test]
    fn two_stores_exchange_cases_through_the_driver() {
        let (_a, device) = store();
        let (_b, other) = store();
        let (_h, hub) = Hub::new(100);
        let case = report(&device, "blocked drain");
        comment(&device, &case, "water rising");

        let mut driver = DeviceSync::start(&device, "server").expect("start");
        let (refused, finished) = converse(&mut driver, &device, "device-1", &hub);
        assert!(refused.is_empty());
        assert_eq!(finished.sent, vec![case.clone()]);
        assert_eq!(driver.cursor(), 1);
        device.commit(finished.persist).expect("commit");
        assert!(device.dirty_cases().expect("dirty").is_empty());
        assert_eq!(device.cursor("server").expect("cursor"), 1);
        assert_eq!(hub.docs.case_ids().expect("cases"), vec![case.clone()]);

        // Another device receives the case from the feed, whole, in one answer.
        let mut driver = DeviceSync::start(&other, "server").expect("start");
        let (_, finished) = converse(&mut driver, &other, "device-2", &hub);
        assert_eq!(driver.rounds(), 1);
        assert_eq!(finished.received, BTreeSet::from([case.clone()]));
        let events = other.load(&case).expect("load").expect("held").events();
        assert_eq!(events.expect("events").len(), 2);

        // Nothing left to say: one round asks the feed, and nothing comes.
        let mut driver = DeviceSync::start(&device, "server").expect("start");
        let (_, finished) = converse(&mut driver, &device, "device-1", &hub);
        assert_eq!((driver.rounds(), finished.sent.len()), (1, 0));
        assert!(finished.received.is_empty());
    }

    #[test]
    fn the_automerge_opening_converges_too() {
        let (_a, device) = store();
        let (_h, hub) = Hub::new(100);
        let case = report(&device, "broken lamp");
        let mut driver = DeviceSync::start(&device, "server")
            .expect("start")
            .with_opening(Opening::HaveNeed);
        let (_, finished) = converse(&mut driver, &device, "device-1", &hub);
        assert!(driver.rounds() > 1, "have/need first, changes after");
        assert_eq!(finished.sent, vec![case]);
    }

    #[test]
    fn a_refused_case_is_reported_and_held_back_until_it_changes() {
        let (_a, device) = store();
        let (_h, mut hub) = Hub::new(100);
        let bad = report(&device, "refused");
        let good = report(&device, "accepted");
        hub.gate = RefuseSome(BTreeSet::from([bad.clone()]));

        let mut driver = DeviceSync::start(&device, "server").expect("start");
        let (refused, finished) = converse(&mut driver, &device, "device-1", &hub);
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].notice.case, bad);
        assert_eq!(refused[0].notice.code, "forged_author");
        let heads = device.current_heads(&bad).expect("heads").expect("held");
        assert_eq!(refused[0].heads, heads);
        assert_eq!(finished.refused, BTreeSet::from([bad.clone()]));
        assert_eq!(finished.sent, vec![good]);
        assert_eq!(device.dirty_cases().expect("dirty"), vec![bad.clone()]);
        assert!(
            !hub.docs.contains(&bad).expect("contains"),
            "nothing refused is kept"
        );
        device.commit(finished.persist).expect("commit");

        // Unchanged, it is not offered again.
        let mut driver = DeviceSync::start(&device, "server").expect("start");
        assert!(driver.hold_back(&bad, &heads).expect("hold back"));
        match driver.next_request().expect("request") {
            Next::Send(request) => assert!(request.entries.is_empty(), "only the feed is asked"),
            other => panic!("expected a request, got {other:?}"),
        }

        // New work on it earns another try.
        comment(&device, &bad, "more");
        hub.gate = RefuseSome(BTreeSet::new());
        let mut driver = DeviceSync::start(&device, "server").expect("start");
        assert!(!driver.hold_back(&bad, &heads).expect("hold back"));
        let (refused, finished) = converse(&mut driver, &device, "device-1", &hub);
        assert!(refused.is_empty());
        assert_eq!(finished.sent, vec![bad]);
    }

    #[test]
    fn delivered_out_of_scope_ends_the_dirty_mark() {
        let (_a, device) = store();
        let case = report(&device, "moved away");
        let mut driver = DeviceSync::start(&device, "server").expect("start");
        assert!(matches!(
            driver.next_request().expect("request"),
            Next::Send(_)
        ));
        let answer = SyncBatch {
            cursor: 7,
            more: false,
            entries: vec![],
            notices: vec![Notice {
                case: case.clone(),
                code: RefusalCode::DeliveredOutOfScope.as_str().into(),
                text: "stored and flagged".into(),
            }],
        };
        let answered = driver.take_answer(&answer).expect("answer");
        assert_eq!(answered.refused.len(), 1);
        device.commit(answered.persist).expect("commit");
        assert_eq!(driver.next_request().expect("request"), Next::Finished);
        let finished = driver.finish().expect("finish");
        assert_eq!((finished.sent, driver.cursor()), (vec![case], 7));
    }

    /// A `numbered` notice refuses nothing: the case is acknowledged and leaves the dirty set
    /// as any other, and its number is handed over; a refusal beside it stays one.
    #[test]
    fn numbers_in_the_answer_are_handed_over_not_refused() {
        let (_a, device) = store();
        let (_h, hub) = Hub::new(100);
        let numbered = report(&device, "numbered");
        let refused = report(&device, "refused");
        let mut driver = DeviceSync::start(&device, "server").expect("start");
        let Next::Send(request) = driver.next_request().expect("request") else {
            panic!("a request");
        };
        let mut answer = hub.answer("device-1", &request);
        answer.entries.retain(|(c, _)| *c != refused);
        answer.notices = vec![
            Notice {
                case: refused.clone(),
                code: RefusalCode::ForgedAuthor.as_str().into(),
                text: "not yours".into(),
            },
            Notice {
                case: numbered.clone(),
                code: InfoCode::Numbered.as_str().into(),
                text: "DC-20261201-0007".into(),
            },
        ];
        let answer = SyncBatch::decode(&answer.encode()).expect("answer decodes");
        let answered = driver.take_answer(&answer).expect("answer");
        assert_eq!(
            answered.numbers,
            vec![(numbered.clone(), "DC-20261201-0007".to_owned())]
        );
        let refusals: Vec<&CaseId> = answered.refused.iter().map(|r| &r.notice.case).collect();
        assert_eq!(refusals, vec![&refused]);
        device.commit(answered.persist).expect("commit");
        while let Next::Send(request) = driver.next_request().expect("request") {
            let answered = driver
                .take_answer(&hub.answer("device-1", &request))
                .expect("answer");
            device.commit(answered.persist).expect("commit");
        }
        let finished = driver.finish().expect("finish");
        assert_eq!(finished.sent, vec![numbered]);
        assert_eq!(finished.refused, BTreeSet::from([refused]));
    }

    #[test]
    fn paging_with_more_moves_the_cursor_only_at_the_end() {
        let (_a, writer_store) = store();
        let (_b, reader) = store();
        let (_h, hub) = Hub::new(1);
        let cases: BTreeSet<CaseId> = ["one", "two", "three"]
            .into_iter()
            .map(|t| report(&writer_store, t))
            .collect();
        let mut driver = DeviceSync::start(&writer_store, "server").expect("start");
        let (_, finished) = converse(&mut driver, &writer_store, "device-1", &hub);
        writer_store.commit(finished.persist).expect("commit");

        let mut driver = DeviceSync::start(&reader, "server").expect("start");
        let mut cursors = Vec::new();
        while let Next::Send(request) = driver.next_request().expect("request") {
            cursors.push(request.cursor);
            let answered = driver
                .take_answer(&hub.answer("device-2", &request))
                .expect("answer");
            reader.commit(answered.persist).expect("commit");
            assert_eq!(
                reader.cursor("server").expect("cursor"),
                0,
                "not before the end"
            );
        }
        assert_eq!(cursors, vec![0, 1, 2]);
        let finished = driver.finish().expect("finish");
        assert_eq!(finished.received, cases);
        reader.commit(finished.persist).expect("commit");
        assert_eq!(reader.cursor("server").expect("cursor"), 3);
    }

    #[test]
    fn a_peer_that_never_finishes_stalls_the_conversation() {
        let (_a, device) = store();
        let (_h, mut hub) = Hub::new(1);
        hub.endless = true;
        let mut driver = DeviceSync::start(&device, "server")
            .expect("start")
            .with_round_limit(3);
        let mut sent = 0;
        let rounds = loop {
            match driver.next_request().expect("request") {
                Next::Send(request) => {
                    sent += 1;
                    let answered = driver
                        .take_answer(&hub.answer("device-1", &request))
                        .expect("answer");
                    device.commit(answered.persist).expect("commit");
                }
                Next::Stalled { rounds } => break rounds,
                Next::Finished => panic!("an endless peer cannot finish"),
            }
        };
        assert_eq!((rounds, sent), (4, 4));
        assert_eq!(driver.phase(), Phase::Stalled);
        assert!(driver.finish().is_err());
        assert_eq!(device.cursor("server").expect("cursor"), 0);
    }

    #[test]
    fn calls_out_of_turn_are_errors() {
        let (_a, device) = store();
        let mut driver = DeviceSync::start(&device, "server").expect("start");
        assert!(driver.take_answer(&SyncBatch::default()).is_err());
        assert!(driver.finish().is_err());
        assert!(matches!(
            driver.next_request().expect("request"),
            Next::Send(_)
        ));
        assert_eq!(driver.phase(), Phase::Awaiting);
        assert!(driver.next_request().is_err());
        assert!(driver.hold_back(&CaseId::new("c"), &[]).is_err());
    }
}
