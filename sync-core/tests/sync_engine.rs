//! The sans-IO sync engine between two real stores on disk: many cases per batch, resumed
//! sessions that do not resend, refusals that store nothing, bad messages that hurt no one.

mod common;

use common::*;
use gridcase_sync_core::commands::open_case;
use gridcase_sync_core::event::Channel;
use gridcase_sync_core::inspect::Inspection;
use gridcase_sync_core::store::{DocStore, SledStore};
use gridcase_sync_core::sync::{
    AcceptClean, Admission, Gate, Outcome, Refusal, RefusalCode, SyncBatch, SyncSession,
};
use gridcase_sync_core::{Action, ActorId, CaseDoc, CaseId};
use std::collections::BTreeSet;
use std::sync::Arc;
use tempfile::TempDir;

fn store() -> (TempDir, DocStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let docs = DocStore::new(Arc::new(SledStore::open(dir.path()).expect("open")));
    (dir, docs)
}

/// Refuses changes by actors it does not know, like the server does for unbound devices.
struct Bound(BTreeSet<ActorId>);

impl Gate for Bound {
    fn admit(&self, case: &CaseId, inspection: &Inspection, _: &CaseDoc) -> Admission {
        match inspection.actors.iter().find(|a| !self.0.contains(a)) {
            Some(a) => Admission::Refuse(Refusal::new(
                RefusalCode::ActorNotBound,
                format!("case {case}: actor {a} is not bound to the device"),
            )),
            None => Admission::Accept,
        }
    }
}

struct Totals {
    bytes: usize,
    rounds: usize,
    outcomes: Vec<Outcome>,
}

/// Runs device ↔ server rounds through encoded batches until neither side has anything to say.
fn exchange(device: &DocStore, server: &DocStore, gate: &dyn Gate) -> Totals {
    exchange_as(device, "server", server, gate)
}

fn exchange_as(device: &DocStore, server_name: &str, server: &DocStore, gate: &dyn Gate) -> Totals {
    let mut d = SyncSession::new(device, server_name).tracking_dirty(true);
    let mut s = SyncSession::new(server, "device-1");
    let mut cases: BTreeSet<CaseId> = device.dirty_cases().expect("dirty").into_iter().collect();
    let mut totals = Totals {
        bytes: 0,
        rounds: 0,
        outcomes: vec![],
    };
    let mut refused = BTreeSet::new();
    loop {
        let live: Vec<CaseId> = cases.difference(&refused).cloned().collect();
        let up = SyncBatch {
            cursor: 0,
            more: false,
            entries: d.generate(live.clone()).expect("device generates"),
            notices: vec![],
        }
        .encode();
        let up = SyncBatch::decode(&up).expect("server decodes");
        let outcomes = s.receive(&up.entries, gate).expect("server receives");
        for o in &outcomes {
            if matches!(o.outcome, Outcome::Refused { .. } | Outcome::Invalid { .. }) {
                refused.insert(o.case.clone());
            }
        }
        totals
            .outcomes
            .extend(outcomes.into_iter().map(|o| o.outcome));
        let live: Vec<CaseId> = cases.difference(&refused).cloned().collect();
        let down = SyncBatch {
            cursor: 0,
            more: false,
            entries: s.generate(live).expect("server generates"),
            notices: vec![],
        }
        .encode();
        totals.bytes += up.encode().len() + down.len();
        let down = SyncBatch::decode(&down).expect("device decodes");
        d.receive(&down.entries, &AcceptClean)
            .expect("device receives");
        totals.rounds += 1;
        cases.extend(down.entries.iter().map(|(c, _)| c.clone()));
        if up.entries.is_empty() && down.entries.is_empty() {
            return totals;
        }
        assert!(totals.rounds < 20, "sync does not converge");
    }
}

fn new_local_case(docs: &DocStore, i: i64) -> (CaseId, CaseDoc) {
    let (mut doc, _) = open_case(
        &worker1(),
        writer("worker1-device"),
        intake(Channel::Patrol),
        t0() + i,
    )
    .expect("intake");
    let case = doc.header().expect("header").case;
    docs.save_local(&case, &mut doc, &[]).expect("save");
    (case, doc)
}

fn comment(docs: &DocStore, case: &CaseId, text: &str) {
    let mut doc = docs.load(case).expect("load").expect("case");
    let before = doc.heads();
    step(
        &mut doc,
        &worker1(),
        Action::Comment { text: text.into() },
        300,
    )
    .expect("comment");
    docs.save_local(case, &mut doc, &before).expect("save");
}

#[test]
fn many_cases_in_one_session_converge_and_clear_the_dirty_set() {
    let (_d, device) = store();
    let (_s, server) = store();
    let cases: Vec<CaseId> = (0..25).map(|i| new_local_case(&device, i).0).collect();
    let totals = exchange(&device, &server, &AcceptClean);
    assert!(totals.rounds <= 4, "{} rounds", totals.rounds);
    for case in &cases {
        let mut a = device.load(case).expect("load").expect("device copy");
        let mut b = server.load(case).expect("load").expect("server copy");
        assert_eq!(a.heads(), b.heads());
        assert_eq!(state(&a), state(&b));
    }
    assert!(device.dirty_cases().expect("dirty").is_empty());
    let accepted = totals
        .outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Accepted { new_events: 1 }))
        .count();
    assert_eq!(accepted, cases.len());
}

#[test]
fn a_resumed_session_does_not_resend_what_the_peer_has() {
    let (_d, device) = store();
    let (_s, server) = store();
    let mut cases = Vec::new();
    for i in 0..10 {
        let (case, _) = new_local_case(&device, i);
        for n in 0..6 {
            comment(&device, &case, &format!("note {n} with some words in it"));
        }
        cases.push(case);
    }
    let first = exchange(&device, &server, &AcceptClean);
    comment(&device, &cases[3], "one more");
    let resumed = exchange(&device, &server, &AcceptClean);
    assert_eq!(device.dirty_cases().expect("dirty"), Vec::<CaseId>::new());

    // A long case: one more comment must cost about one change, not the case.
    for n in 0..60 {
        comment(&device, &cases[5], &format!("long history {n}"));
    }
    exchange(&device, &server, &AcceptClean);
    comment(&device, &cases[5], "one more on a long case");
    let long = exchange(&device, &server, &AcceptClean);
    let case_size = device
        .load(&cases[5])
        .expect("load")
        .expect("case")
        .into_automerge()
        .save_nocompress()
        .len();

    assert!(
        resumed.bytes * 10 < first.bytes,
        "resumed {} vs first {}",
        resumed.bytes,
        first.bytes
    );
    assert!(
        long.bytes * 3 < case_size,
        "one change cost {} bytes, the case is {case_size}",
        long.bytes
    );
    assert!(
        long.bytes < resumed.bytes * 2,
        "cost grows with history: {} vs {}",
        long.bytes,
        resumed.bytes
    );
}

#[test]
fn tampered_cases_are_refused_and_the_rest_of_the_batch_goes_through() {
    let (_d, device) = store();
    let (_s, server) = store();
    let (good, _) = new_local_case(&device, 1);
    let (bad, _) = new_local_case(&device, 2);
    exchange(&device, &server, &AcceptClean);
    let server_heads = server.load(&bad).expect("load").expect("case").heads();

    comment(&device, &good, "fine");
    let mut doc = device.load(&bad).expect("load").expect("case");
    let before = doc.heads();
    {
        use automerge::transaction::Transactable;
        use automerge::{ReadDoc, ROOT};
        let am = doc.automerge();
        let events = am.get(ROOT, "events").expect("get").expect("events").1;
        let first = am.get(&events, 0).expect("get").expect("intake").1;
        am.put(&first, "description", "rewritten history")
            .expect("put");
        am.commit();
    }
    device.save_local(&bad, &mut doc, &before).expect("save");

    let totals = exchange(&device, &server, &AcceptClean);
    assert!(totals.outcomes.iter().any(
        |o| matches!(o, Outcome::Refused { reason, .. } if reason.starts_with("event_edited"))
    ));
    assert!(totals
        .outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Accepted { new_events: 1 })));
    assert_eq!(
        server.load(&bad).expect("load").expect("case").heads(),
        server_heads
    );
    let mut g = server.load(&good).expect("load").expect("case");
    assert_eq!(
        g.heads(),
        device.load(&good).expect("load").expect("case").heads()
    );
    assert_eq!(device.dirty_cases().expect("dirty"), vec![bad]);
}

#[test]
fn a_gate_refuses_unbound_actors_and_stores_nothing() {
    let (_d, device) = store();
    let (_s, server) = store();
    let (case, _) = new_local_case(&device, 1);
    let gate = Bound([writer("someone-else")].into_iter().collect());
    let totals = exchange(&device, &server, &gate);
    assert!(totals
        .outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Refused { reason, .. } if reason.contains("not bound"))));
    assert!(server.load(&case).expect("load").is_none());
    let gate = Bound([writer("worker1-device")].into_iter().collect());
    exchange(&device, &server, &gate);
    assert!(server.load(&case).expect("load").is_some());
}

#[test]
fn bad_messages_are_reported_per_case() {
    let (_s, server) = store();
    let (_d, device) = store();
    let (case, _) = new_local_case(&device, 1);
    let mut d = SyncSession::new(&device, "server");
    let mut good = d.generate([case.clone()]).expect("generate");
    let mut s = SyncSession::new(&server, "device-1");
    good.push((CaseId::new("garbage"), b"\x42\x00\x01junk".to_vec()));
    good.push((CaseId::new("empty"), Vec::new()));
    let outcomes = s.receive(&good, &AcceptClean).expect("receive");
    assert_eq!(
        outcomes[0].outcome,
        Outcome::Unchanged,
        "a first message only says hello"
    );
    assert!(matches!(outcomes[1].outcome, Outcome::Invalid { .. }));
    assert_eq!(outcomes[2].outcome, Outcome::Unchanged);
}

#[test]
fn a_session_cut_off_midway_resumes_and_loses_nothing() {
    let (_d, device) = store();
    let (_s, server) = store();
    let cases: Vec<CaseId> = (0..5).map(|i| new_local_case(&device, i).0).collect();
    {
        // Round one and half of round two, then the link drops: the answer never arrives.
        let mut d = SyncSession::new(&device, "server").tracking_dirty(true);
        let mut s = SyncSession::new(&server, "device-1");
        let up = d.generate(cases.clone()).expect("generate");
        s.receive(&up, &AcceptClean).expect("receive");
        let down = s.generate(cases.clone()).expect("generate");
        d.receive(&down, &AcceptClean).expect("receive");
        let up = d.generate(cases.clone()).expect("generate");
        s.receive(&up, &AcceptClean)
            .expect("server stores the changes");
    }
    assert_eq!(
        device.dirty_cases().expect("dirty").len(),
        5,
        "nothing acknowledged yet"
    );
    exchange(&device, &server, &AcceptClean);
    assert!(device.dirty_cases().expect("dirty").is_empty());
    for case in &cases {
        assert!(server.load(case).expect("load").is_some());
    }
}

#[test]
fn an_offer_delivers_a_case_in_one_message() {
    let (_d, device) = store();
    let (_s, server) = store();
    let (case, _) = new_local_case(&device, 1);
    exchange(&device, &server, &AcceptClean);
    // Someone else changes the case on the server; the server offers it unasked.
    let mut doc = server.load(&case).expect("load").expect("case");
    let before = doc.heads();
    step(
        &mut doc,
        &operator(),
        Action::Comment {
            text: "from the center".into(),
        },
        400,
    )
    .expect("comment");
    server.save_local(&case, &mut doc, &before).expect("save");
    let offered = SyncSession::new(&server, "device-1")
        .offer([case.clone()])
        .expect("offer");
    assert_eq!(offered.len(), 1);
    let mut d = SyncSession::new(&device, "server");
    let outcomes = d.receive(&offered, &AcceptClean).expect("receive");
    assert_eq!(outcomes[0].outcome, Outcome::Accepted { new_events: 1 });
    assert!(d.incomplete().is_empty());
    assert_eq!(
        device.load(&case).expect("load").expect("case").heads(),
        doc.heads()
    );

    // A peer that never shared the case gets all of it, also in one message.
    let (_f, fresh) = store();
    let offered = SyncSession::new(&server, "new-device")
        .offer([case.clone()])
        .expect("offer");
    let message = &offered[0].1;
    assert_eq!(message[0], 0x43, "a V2 message: the whole saved document");
    let decoded = automerge::sync::Message::decode(message).expect("decode");
    let chunks: Vec<&[u8]> = decoded.changes.iter().collect();
    assert_eq!(
        chunks,
        [doc.clone().into_automerge().save_nocompress().as_slice()],
        "saved without deflate, so the batch's zstd can share what cases have in common"
    );
    SyncSession::new(&fresh, "server")
        .receive(&offered, &AcceptClean)
        .expect("receive");
    assert_eq!(
        fresh.load(&case).expect("load").expect("case").heads(),
        doc.heads()
    );
}

/// A server answers each request with a fresh session. When changes arrive before the one
/// they depend on, that session queues them and then ends, forgetting them; the device must
/// send them again when the server names what it needs.
fn forgotten_changes_are_sent_again(comments: usize) {
    use automerge::sync::{ChunkList, Message};
    let (_d, device) = store();
    let (_s, server) = store();
    let (case, _) = new_local_case(&device, 0);
    exchange(&device, &server, &AcceptClean);
    let texts: Vec<String> = (0..comments).map(|i| format!("comment {i}")).collect();
    for text in &texts {
        comment(&device, &case, text);
    }
    let cases = vec![case.clone()];

    let mut d = SyncSession::new(&device, "server").tracking_dirty(true);
    let request = |entries: Vec<(CaseId, Vec<u8>)>| {
        let mut s = SyncSession::new(&server, "device-1");
        s.receive(&entries, &AcceptClean).expect("server receives");
        s.generate(vec![case.clone()]).expect("server answers")
    };
    let answer = request(d.generate(cases.clone()).expect("heads and bloom"));
    d.receive(&answer, &AcceptClean).expect("device receives");
    // The device sends every comment; the first is lost on the way, as if the server's bloom
    // filter had claimed it, so all the others wait on it.
    let mut sent = d.generate(cases.clone()).expect("changes");
    assert_eq!(sent.len(), 1);
    let mut message = Message::decode(&sent[0].1).expect("a sync message");
    assert!(!message.changes.is_empty());
    let mut doc = device.load_automerge(&case).expect("load").expect("case");
    let mut chain = Vec::new();
    let mut head = doc.get_heads()[0];
    for _ in 0..comments {
        let change = doc.get_change_by_hash(&head).expect("a comment").clone();
        chain.push(change.raw_bytes().to_vec());
        head = change.deps()[0];
    }
    chain.pop();
    message.changes = ChunkList::from(chain);
    sent[0].1 = message.encode();
    let mut answer = request(sent);
    let mut rounds = 0;
    loop {
        d.receive(&answer, &AcceptClean).expect("device receives");
        let up = d.generate(cases.clone()).expect("device answers");
        if up.is_empty() {
            break;
        }
        answer = request(up);
        rounds += 1;
        assert!(rounds < 10, "the forgotten changes were never sent again");
    }
    assert!(
        device.dirty_cases().expect("dirty").is_empty(),
        "all acknowledged"
    );
    let held = server.load(&case).expect("load").expect("case");
    let stored: Vec<String> = held
        .events()
        .expect("events")
        .into_iter()
        .filter_map(|e| match e.action {
            Action::Comment { text } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(stored, texts);
}

#[test]
fn a_change_the_server_forgot_is_sent_again_when_it_is_needed() {
    forgotten_changes_are_sent_again(2);
}

#[test]
fn a_chain_the_server_forgot_is_sent_again_whole() {
    forgotten_changes_are_sent_again(5);
}

/// The receiver reads a stored case before the changes apply and hands the events it read on
/// (to the gate, then to `with_case`): they must be the case's events as the store has them,
/// in list order, for a new case and for new events on a stored one.
#[test]
fn the_events_handed_on_after_receiving_are_the_stored_cases() {
    let (_d, device) = store();
    let (_s, server) = store();
    let (case, _) = new_local_case(&device, 0);
    exchange(&device, &server, &AcceptClean);
    comment(&device, &case, "first");
    comment(&device, &case, "second");

    let mut d = SyncSession::new(&device, "server").tracking_dirty(true);
    let mut s = SyncSession::new(&server, "device-1");
    // The first messages only compare heads; the changes follow.
    for round in 0.. {
        assert!(round < 5, "the changes never arrived");
        let up = d.generate([case.clone()]).expect("device generates");
        let outcomes = s.receive(&up, &AcceptClean).expect("server receives");
        if outcomes
            .iter()
            .any(|o| o.outcome == Outcome::Accepted { new_events: 2 })
        {
            break;
        }
        let down = s.generate([case.clone()]).expect("server generates");
        d.receive(&down, &AcceptClean).expect("device receives");
    }
    let handed = s
        .with_case(&case, |doc| doc.events().expect("events"))
        .expect("with_case")
        .expect("the session holds the case");
    let stored = server
        .load(&case)
        .expect("load")
        .expect("stored")
        .events()
        .expect("stored events");
    assert_eq!(handed.len(), 3);
    assert_eq!(handed, stored);
    // Asked again, the same.
    let again = s
        .with_case(&case, |doc| doc.events().expect("events"))
        .expect("with_case")
        .expect("held");
    assert_eq!(again, stored);
}
