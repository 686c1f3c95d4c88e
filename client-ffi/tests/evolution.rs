//! A later release's events meet this release, over the real server and the real handheld
//! library: nothing is refused for being newer. A device writes a kind this release does not
//! know (and a field no event of today has); the server stores it, shows it in the case's
//! history as an action this version does not know, and a handheld of this release receives
//! the case, keeps the event and shows it, and goes on working on the case.
//! Beside it, the two refusals that stay: a kind the author's role may never write, and a
//! document of a later schema.

use gridcase_client::client::{Client, Retry};
use gridcase_client::transport::BuiltinTransport;
use gridcase_sync_core::sync::SyncBatch;
use gridcase_tests::scenario::{demo_server, now, operator_view, patrol};
use gridcase_tests::{Device, Server, PASSWORD};
use std::sync::Arc;
use std::time::Duration;

/// The notice codes a sync gave one case.
fn codes_for(
    report: &gridcase_tests::SyncReport,
    case: &gridcase_sync_core::CaseId,
) -> Vec<String> {
    let codes = report.notices.iter().filter(|n| n.case == *case);
    codes.map(|n| n.code.clone()).collect()
}

fn handheld(dir: &std::path::Path, server: &Server, user: &str) -> Client {
    let client = Client::open(
        dir,
        &format!("http://{}", server.addr),
        Arc::new(BuiltinTransport::new()),
    )
    .expect("open")
    .with_retry(Retry {
        attempts: 2,
        first_delay: Duration::from_millis(10),
        ..Retry::default()
    });
    client.login(user, PASSWORD).expect("login");
    client
}

#[test]
fn a_later_kind_travels_through_server_and_handheld() {
    let (_tmp, server) = demo_server();
    let newer = Device::register(&server, "worker1");
    let case = newer.open(patrol("井盖缺失 manhole cover missing"), now());
    let later = newer.write_later_release(
        &case,
        "photo_annotation",
        r#"{"photo":"none","arrows":[[1,2],[3,4]]}"#,
        now() + 1_000,
    );
    let report = newer.sync().expect("sync");
    assert!(report.notices.is_empty(), "refused: {:?}", report.notices);

    // The server keeps it and shows it as not understood, without a conflict.
    let view = operator_view(&server, &case);
    let entry = view["state"]["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|t| t["event"] == later.as_str())
        .expect("the later event is in the server's timeline")
        .clone();
    assert_eq!(entry["kind"], "unknown");
    assert_eq!(entry["stored_kind"], "photo_annotation");
    assert_eq!(view["state"]["conflicts"].as_array().map(Vec::len), Some(0));
    assert_eq!(view["state"]["status"], "reported");

    // A handheld of this release receives the case and keeps the event as written.
    let dir = tempfile::tempdir().expect("dir");
    let older = handheld(dir.path(), &server, "worker1");
    older.sync(&|_, _, _| {}).expect("the handheld syncs");
    assert!(older.pending().expect("pending").refused.is_empty());
    let detail = older
        .case(case.as_str())
        .expect("the case is on the handheld");
    let item = detail
        .timeline
        .iter()
        .find(|t| t.event == later)
        .expect("shown in the handheld's timeline");
    assert_eq!(item.kind, "unknown");
    assert_eq!(item.stored_kind.as_deref(), Some("photo_annotation"));
    assert_eq!(item.payload, r#"{"photo":"none","arrows":[[1,2],[3,4]]}"#);
    assert_eq!(detail.case.status, "reported");

    // And works on: the next event names the later one as seen, and the server takes it.
    older
        .act_json(
            case.as_str(),
            r#"{"kind":"comment","payload":{"text":"seen"}}"#,
        )
        .expect("comment after a later event");
    older.sync(&|_, _, _| {}).expect("sync again");
    assert!(older.pending().expect("pending").refused.is_empty());
    let view = operator_view(&server, &case);
    let last = view["history"].as_array().expect("history").last().cloned();
    assert_eq!(
        last.as_ref()
            .and_then(|h| h["event"]["action"]["kind"].as_str()),
        Some("comment")
    );
    let parents = last.map(|h| h["event"]["parents"].clone());
    assert_eq!(parents, Some(serde_json::json!([later])));
}

/// A grid worker filing is no offline race: the gate refuses it with a code instead of
/// storing a conflict for the review queue.
#[test]
fn a_kind_the_role_may_never_write_is_refused_at_the_gate() {
    let (_tmp, server) = demo_server();
    let worker = Device::register(&server, "worker1");
    let case = worker.open(patrol("占道经营"), now());
    worker.sync().expect("first sync");
    let filing =
        r#"{"category":"E0101","level":"general","units":[],"suggestion":"","callback":false}"#;
    worker.write_later_release(&case, "file", filing, now() + 1_000);
    let report = worker.sync().expect("sync");
    let codes: Vec<&str> = report.notices.iter().map(|n| n.code.as_str()).collect();
    assert_eq!(codes, ["not_permitted"], "{:?}", report.notices);
    let view = operator_view(&server, &case);
    assert_eq!(
        view["history"].as_array().map(Vec::len),
        Some(1),
        "nothing stored"
    );

    // A payload that does not read is no way around it: the stored kind decides.
    let other = worker.open(patrol("占道经营 again"), now());
    worker.sync().expect("sync the new case");
    worker.write_later_release(&other, "file", r#"{"category":1}"#, now() + 2_000);
    let report = worker.sync().expect("sync");
    assert_eq!(codes_for(&report, &other), ["not_permitted"]);
}

/// While handhelds too old to keep a later release's events still sync, the server can be
/// told to refuse those events (`--refuse-later-events`): a later kind and a later field
/// are refused with `later_event`; today's events pass.
#[test]
fn later_events_can_be_refused_while_old_handhelds_sync() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &["--refuse-later-events"]);
    let worker = Device::register(&server, "worker1");
    for (kind, payload) in [
        ("photo_annotation", "{}"),
        ("comment", r#"{"text":"an ordinary comment"}"#),
    ] {
        let case = worker.open(patrol("井盖缺失"), now());
        let report = worker.sync().expect("sync");
        assert!(codes_for(&report, &case).is_empty(), "today's events pass");
        // write_later_release adds a field no release of today has: both are a later release's.
        worker.write_later_release(&case, kind, payload, now() + 1_000);
        let report = worker.sync().expect("sync");
        assert_eq!(codes_for(&report, &case), ["later_event"], "{kind}");
        let view = operator_view(&server, &case);
        assert_eq!(view["history"].as_array().map(Vec::len), Some(1), "{kind}");
    }
}

/// A document of a later schema is refused by name, whole: the server answers
/// `newer_schema` and stores nothing of it.
#[test]
fn a_case_of_a_later_schema_is_refused_by_name() {
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;
    use automerge::ReadDoc;
    let (_tmp, server) = demo_server();
    let worker = Device::register(&server, "worker1");
    let case = worker.open(patrol("later schema"), now());
    let mut am = worker
        .docs
        .load(&case)
        .expect("load")
        .expect("case")
        .into_automerge();
    let header = am
        .get(automerge::ROOT, "header")
        .expect("get")
        .expect("header")
        .1;
    am.put(&header, "schema", 2u64).expect("put");
    am.commit();
    let mut state = automerge::sync::State::new();
    let mut codes = Vec::new();
    for _ in 0..4 {
        let Some(message) = am.sync().generate_sync_message(&mut state) else {
            break;
        };
        let (status, answer) = worker
            .post_batch(&SyncBatch {
                cursor: 0,
                more: false,
                entries: vec![(case.clone(), message.encode())],
                notices: vec![],
            })
            .expect("post");
        assert_eq!(status, 200);
        let answer = answer.expect("answer");
        codes.extend(answer.notices.iter().map(|n| n.code.clone()));
        if !codes.is_empty() {
            break;
        }
        for (_, reply) in answer.entries {
            let reply = automerge::sync::Message::decode(&reply).expect("reply");
            am.sync()
                .receive_sync_message(&mut state, reply)
                .expect("receive");
        }
    }
    assert_eq!(codes, ["newer_schema"]);
    let http = server.http();
    let operator = http.login("operator");
    let r = http.get(&format!("/v1/cases/{case}"), Some(&operator));
    assert_eq!(r.status, 404, "nothing of the case is stored");
}

/// A broken device reuses an event id: the history shows the event the fold judged (the
/// first under the fold's order), and the other is named by a `duplicate_id` conflict.
#[test]
fn a_reused_event_id_shows_the_event_the_fold_kept() {
    let (_tmp, server) = demo_server();
    let worker = Device::register(&server, "worker1");
    let case = worker.open(patrol("reused id"), now());
    let intake = worker.events(&case)[0].id.to_string();
    worker.write_raw_event(
        &case,
        &intake,
        "comment",
        r#"{"text":"same id"}"#,
        now() + 60_000,
    );
    let report = worker.sync().expect("sync");
    assert!(report.notices.is_empty(), "{:?}", report.notices);
    let view = operator_view(&server, &case);
    let history = view["history"].as_array().expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["event"]["action"]["kind"], "intake");
    let conflicts = view["state"]["conflicts"].as_array().expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["reason"], "duplicate_id");
    assert_eq!(view["state"]["status"], "reported");
}
