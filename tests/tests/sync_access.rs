//! What a device may read through `POST /v1/sync` is decided by what the server knows (the
//! user's scope now, and which events this device delivered), never by what the device
//! claims: heads, needs or `have` naming a case's change hashes prove nothing.

use automerge::sync::{BloomFilter, Have, Message, SyncDoc};
use automerge::ChangeHash;
use gridcase_sync_core::sync::SyncBatch;
use gridcase_sync_core::{Action, CaseId};
use gridcase_tests::scenario::{move_to_grid, now, patrol, post_action};
use gridcase_tests::{Device, Server};
use serde_json::json;

/// A g1 case reported by worker1, and the change hashes its history shows an in-scope user.
fn g1_case(server: &Server) -> (CaseId, Vec<ChangeHash>) {
    let worker1 = Device::register(server, "worker1");
    let case = worker1.open(patrol("路灯不亮, reporter 张三 13800000000"), now());
    worker1.sync().expect("sync");
    let http = server.http();
    let operator = http.login("operator");
    let view = http
        .get(&format!("/v1/cases/{case}"), Some(&operator))
        .json();
    let hashes = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["change"].as_str())
        .map(|h| h.parse().expect("hash"))
        .collect();
    (case, hashes)
}

/// A sync message from an empty document whose heads, need and have are the attacker's.
fn forged(heads: &[ChangeHash], need: &[ChangeHash], last_sync: &[ChangeHash]) -> Vec<u8> {
    let mut doc = automerge::AutoCommit::new();
    let mut state = automerge::sync::State::new();
    let mut message: Message = doc
        .sync()
        .generate_sync_message(&mut state)
        .expect("a first message");
    message.heads = heads.to_vec();
    message.need = need.to_vec();
    message.have = vec![Have {
        last_sync: last_sync.to_vec(),
        bloom: BloomFilter::default(),
    }];
    message.encode()
}

fn ask(device: &Device, case: &CaseId, message: Vec<u8>, cursor: u64) -> SyncBatch {
    let (status, answer) = device
        .post_batch(&SyncBatch {
            cursor,
            more: false,
            entries: vec![(case.clone(), message)],
            notices: vec![],
        })
        .expect("post");
    assert_eq!(status, 200);
    answer.expect("answer")
}

#[test]
fn naming_a_case_hash_reads_nothing_outside_the_scope() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(tmp.path(), &[]);
    let (case, hashes) = g1_case(&server);
    assert!(!hashes.is_empty());
    // A fresh device of worker3 (grid g4) names the g1 case's hash every way it can.
    let attacker = Device::register(&server, "worker3");
    for (name, message) in [
        ("need", forged(&hashes, &hashes, &[])),
        ("last_sync", forged(&hashes, &[], &hashes)),
        ("heads", forged(&hashes, &[], &[])),
        ("all", forged(&hashes, &hashes, &hashes)),
    ] {
        for round in 0..3 {
            let answer = ask(&attacker, &case, message.clone(), 0);
            assert!(
                answer.entries.iter().all(|(c, _)| *c != case),
                "{name}, round {round}: the server sent the case"
            );
            assert!(
                answer
                    .notices
                    .iter()
                    .any(|n| n.case == case && n.code == "out_of_scope"),
                "{name}: {:?}",
                answer.notices
            );
        }
    }
    // Later changes are not offered either, and the claim survives nothing: a restart and a
    // new comment later, the attacker still hears nothing of the case.
    let http = server.http();
    let operator = http.login("operator");
    post_action(
        &http,
        &operator,
        &case,
        json!({"kind": "comment", "payload": {"text": "secret follow-up"}}),
    );
    let answer = ask(&attacker, &case, forged(&hashes, &hashes, &hashes), 0);
    assert!(answer.entries.iter().all(|(c, _)| *c != case));
    let report = attacker.sync().expect("a plain sync");
    assert!(report.notices.is_empty(), "{:?}", report.notices);
    assert!(
        attacker.docs.load(&case).expect("load").is_none(),
        "nothing of the case reached the attacker's device"
    );
}

#[test]
fn a_worker_moved_out_of_scope_delivers_offline_work_and_receives_nothing_new() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(tmp.path(), &[]);
    let worker2 = Device::register(&server, "worker2");
    let case = worker2.open(patrol("blocked drain"), now());
    worker2.sync().expect("sync");
    worker2
        .act(
            &case,
            Action::Comment {
                text: "water rising".into(),
            },
            now(),
        )
        .expect("offline note");
    // The administrator moves worker2 to grid g4, and the center writes to the case.
    let http = server.http();
    move_to_grid(&http, "worker2", "网格员二", "g4");
    let operator = http.login("operator");
    post_action(
        &http,
        &operator,
        &case,
        json!({"kind": "comment", "payload": {"text": "for the new grid worker only"}}),
    );

    // The device speaks automerge's have/need first (no changes in its first message): the
    // server asks for its changes without sending any, then says they arrived.
    let report = worker2.sync().expect("sync");
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.case == case && n.code == "delivered_out_of_scope"),
        "{:?}",
        report.notices
    );
    let view = http
        .get(&format!("/v1/cases/{case}"), Some(&operator))
        .json();
    let history = view["history"].as_array().expect("history");
    assert!(
        history.iter().any(
            |h| h["event"]["action"]["payload"]["text"] == "water rising" && h["flag"].is_string()
        ),
        "the offline note is stored and flagged: {history:?}"
    );
    let queue = http.get("/v1/review/conflicts", Some(&operator)).json();
    assert!(
        queue
            .as_array()
            .expect("queue")
            .iter()
            .any(|i| i["case"]["id"] == case.as_str()),
        "the flagged event waits in the review queue"
    );
    let texts: Vec<String> = worker2
        .events(&case)
        .iter()
        .filter_map(|e| match &e.action {
            Action::Comment { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        vec!["water rising".to_owned()],
        "nothing new arrived"
    );
    // Another sync still brings nothing of the case.
    worker2.sync().expect("sync again");
    assert_eq!(worker2.events(&case).len(), 2);
}

/// `?sent_only=true` (a device pushing its own work first): the answer speaks only of the
/// cases the request sent, never of the feed: the cursor comes back unchanged with `more`, so
/// nothing of others' cases comes down until the device asks without it. What the device may
/// read is judged as ever: a case outside its scope it names gets its notice, nothing more.
#[test]
fn a_sent_only_request_is_answered_without_the_feed() {
    use gridcase_sync_core::sync::SyncSession;
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(tmp.path(), &[]);
    let (theirs, hashes) = g1_case(&server);
    let worker2 = Device::register(&server, "worker2");
    let ours = worker2.open(patrol("our blocked drain"), now());
    let entries = SyncSession::new(&worker2.docs, "server")
        .offer(vec![ours.clone()])
        .expect("offer");
    let request = SyncBatch {
        cursor: 0,
        more: false,
        entries,
        notices: vec![],
    };
    let (status, answer) = worker2
        .post_batch_to("/v1/sync?sent_only=true", &request)
        .expect("post");
    assert_eq!(status, 200);
    let answer = answer.expect("answer");
    let spoken: Vec<&CaseId> = answer.entries.iter().map(|(c, _)| c).collect();
    assert_eq!(spoken, vec![&ours], "only our case is answered");
    assert!(answer.notices.is_empty(), "{:?}", answer.notices);
    assert_eq!((answer.cursor, answer.more), (0, true));
    let http = server.http();
    let operator = http.login("operator");
    let stored = http.get(&format!("/v1/cases/{ours}"), Some(&operator));
    assert_eq!(stored.status, 200, "our case is stored: {}", stored.text());

    // Asked again without it, the feed comes: their case, and the cursor moves.
    let (status, answer) = worker2
        .post_batch(&SyncBatch {
            cursor: 0,
            more: false,
            entries: vec![],
            notices: vec![],
        })
        .expect("post");
    assert_eq!(status, 200);
    let answer = answer.expect("answer");
    assert!(
        answer.entries.iter().any(|(c, _)| *c == theirs),
        "the feed brings their case"
    );
    assert!(
        answer.entries.iter().all(|(c, _)| *c != ours),
        "our case, which the server knows we hold whole, is not offered back"
    );
    assert!(answer.cursor > 0);

    // Outside the scope, sent_only reads nothing more than a plain request.
    let attacker = Device::register(&server, "worker3");
    let (status, answer) = attacker
        .post_batch_to(
            "/v1/sync?sent_only=true",
            &SyncBatch {
                cursor: 0,
                more: false,
                entries: vec![(theirs.clone(), forged(&hashes, &hashes, &hashes))],
                notices: vec![],
            },
        )
        .expect("post");
    assert_eq!(status, 200);
    let answer = answer.expect("answer");
    assert!(answer.entries.is_empty(), "{:?}", answer.entries);
    assert!(answer
        .notices
        .iter()
        .any(|n| n.case == theirs && n.code == "out_of_scope"));

    // A value that does not read is a clear 400, not a silent plain sync.
    let (status, _) = worker2
        .post_batch_to("/v1/sync?sent_only=perhaps", &request)
        .expect("post");
    assert_eq!(status, 400);
}
