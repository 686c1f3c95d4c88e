//! The real server binary on 127.0.0.1 with a temporary ledger, driven over HTTP by handhelds
//! built on the sync-core engine.

use gridcase_sync_core::event::Intake;
use gridcase_sync_core::org::Territory;
use gridcase_sync_core::{Action, CaseId};
use gridcase_tests::scenario::{
    case_awaiting_verification, case_view, now, operator_view, patrol, verify,
};
use gridcase_tests::{Device, Server};
use serde_json::json;

#[test]
fn two_grid_workers_offline_on_one_case_merge_into_one_history_with_the_conflict_queued() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let worker1 = Device::register(&server, "worker1");
    let worker2 = Device::register(&server, "worker2");
    let case = case_awaiting_verification(&server, &worker1);
    worker1.sync().expect("worker1 catches up");
    worker2
        .sync()
        .expect("worker2 receives the case through its grid's feed");
    assert_eq!(
        worker2.events(&case).len(),
        4,
        "intake, file, dispatch, feedback"
    );

    // Both offline: worker1 verifies and closes, worker2 finds it not fixed.
    worker1.act(&case, verify(true), now()).expect("verify");
    worker1
        .act(
            &case,
            Action::Close {
                note: String::new(),
            },
            now() + 1,
        )
        .expect("close");
    worker2
        .act(&case, verify(false), now() + 2)
        .expect("not resolved");
    let r1 = worker1.sync().expect("worker1 reconnects");
    let r2 = worker2.sync().expect("worker2 reconnects");
    assert!(
        r1.notices.is_empty() && r2.notices.is_empty(),
        "{:?} {:?}",
        r1.notices,
        r2.notices
    );
    worker1.sync().expect("worker1 gets worker2's verification");

    let mut a = worker1
        .events(&case)
        .into_iter()
        .map(|e| e.id)
        .collect::<Vec<_>>();
    let mut b = worker2
        .events(&case)
        .into_iter()
        .map(|e| e.id)
        .collect::<Vec<_>>();
    a.sort();
    b.sort();
    assert_eq!(a, b, "both handhelds hold the same merged history");
    assert_eq!(a.len(), 7);

    let http = server.http();
    let operator = http.login("operator");
    let view = case_view(&http, &operator, &case);
    let history = view["history"].as_array().expect("history");
    assert_eq!(history.len(), 7);
    assert!(history
        .iter()
        .all(|h| h["received_at"].is_i64() && h["change"].is_string()));
    assert!(history.iter().any(|h| h["disposition"] == "superseded"));
    assert_eq!(view["state"]["conflicts"].as_array().map(Vec::len), Some(1));

    let queue = http.get("/v1/review/conflicts", Some(&operator)).json();
    let item = queue
        .as_array()
        .expect("queue")
        .iter()
        .find(|i| i["case"]["id"] == case.as_str())
        .expect("the case is in the review queue")
        .clone();
    let superseded = item["conflicts"][0]["event"]
        .as_str()
        .expect("event")
        .to_owned();
    let r = http.json(
        "POST",
        &format!("/v1/review/conflicts/{case}/{superseded}/resolve"),
        Some(&operator),
        Some(json!({"note": "site visit confirms the fix"})),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let queue = http.get("/v1/review/conflicts", Some(&operator)).json();
    assert!(queue
        .as_array()
        .expect("queue")
        .iter()
        .all(|i| i["case"]["id"] != case.as_str()));
    worker1.sync().expect("the resolution reaches the handheld");
    assert_eq!(worker1.events(&case).len(), 8);
}

#[test]
fn out_of_scope_forged_and_unbound_changes_are_refused_and_the_rest_goes_through() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let worker1 = Device::register(&server, "worker1");
    let worker3 = Device::register(&server, "worker3");
    let case = worker1.open(patrol("a broken lamp"), now());
    worker1.sync().expect("sync");

    // worker3 (grid g4) asks for worker1's g1 case: no data, a notice.
    let ask = gridcase_sync_core::sync::SyncBatch {
        cursor: 0,
        more: false,
        entries: vec![(case.clone(), automerge_hello())],
        notices: vec![],
    };
    let (status, answer) = worker3.post_batch(&ask).expect("post");
    assert_eq!(status, 200);
    let answer = answer.expect("answer");
    assert!(
        answer.entries.iter().all(|(c, _)| *c != case),
        "no data outside the scope"
    );
    assert!(answer
        .notices
        .iter()
        .any(|n| n.case == case && n.code == "out_of_scope"));

    // worker3 claims g1 to open a case there: a scope never held.
    let mut forged = worker3.actor.clone();
    forged.scope = gridcase_sync_core::Scope::Grids(vec!["g1".into()]);
    let (mut doc, _) = gridcase_sync_core::commands::open_case(
        &forged,
        worker3.writer.clone(),
        patrol("forged"),
        now(),
    )
    .expect("the claim passes local rules");
    let forged_case = doc.header().expect("header").case;
    worker3
        .docs
        .save_local(&forged_case, &mut doc, &[])
        .expect("save");
    // An honest case of worker3's own grid in the same sync.
    let own = worker3.open(
        Intake {
            media_url: None,
            business_type: None,
            caller: None,
            callback: false,
            territory: Territory {
                street: "s2".into(),
                community: "c3".into(),
                grid: "g4".into(),
            },
            ..patrol("own grid")
        },
        now(),
    );
    let report = worker3.sync().expect("sync");
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.case == forged_case && n.code == "forged_scope"),
        "{:?}",
        report.notices
    );
    let http = server.http();
    let operator = http.login("operator");
    assert_eq!(
        http.get(&format!("/v1/cases/{forged_case}"), Some(&operator))
            .status,
        404
    );
    assert_eq!(
        http.get(&format!("/v1/cases/{own}"), Some(&operator))
            .status,
        200
    );
    assert!(
        !worker3.events(&forged_case).is_empty(),
        "the refused case stays on the device"
    );

    // worker1 writes with an actor that was never bound to its device.
    let mut doc = worker1.docs.load(&case).expect("load").expect("case");
    doc.set_actor(gridcase_sync_core::ActorId::from(
        uuid::Uuid::new_v4().as_bytes().as_slice(),
    ));
    let since = doc.heads();
    gridcase_sync_core::commands::act(
        &mut doc,
        &worker1.actor,
        Action::Comment {
            text: "from a rogue actor".into(),
        },
        now(),
        &gridcase_sync_core::WorkCalendar::beijing(),
    )
    .expect("local rules pass");
    worker1
        .docs
        .save_local(&case, &mut doc, &since)
        .expect("save");
    let report = worker1.sync().expect("sync");
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.case == case && n.code == "actor_not_bound"),
        "{:?}",
        report.notices
    );
    let view = case_view(&http, &operator, &case);
    assert_eq!(
        view["history"].as_array().map(Vec::len),
        Some(1),
        "the rogue comment is not in the ledger"
    );
}

#[test]
fn forged_authors_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let worker1 = Device::register(&server, "worker1");
    let case = worker1.open(patrol("graffiti"), now());
    worker1.sync().expect("sync");
    let mut as_worker2 = worker1.actor.clone();
    as_worker2.user = "worker2".into();
    worker1
        .act_as(
            &as_worker2,
            &case,
            Action::Comment {
                text: "I am worker2".into(),
            },
            now(),
        )
        .expect("local rules pass");
    let report = worker1.sync().expect("sync");
    assert!(
        report.notices.iter().any(|n| n.code == "forged_author"),
        "{:?}",
        report.notices
    );
}

#[test]
fn expired_tampered_and_missing_tokens_get_401() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &["--access-ttl", "1"]);
    let http = server.http();
    let token = http.login("operator");
    assert_eq!(http.get("/v1/me", Some(&token)).status, 200);
    assert_eq!(http.get("/v1/me", None).status, 401);

    let parts: Vec<&str> = token.split('.').collect();
    let edited_claims = {
        let payload = String::from_utf8(base64url_decode(parts[1])).expect("utf8");
        let edited = payload.replace("\"operator\"", "\"admin\"");
        format!(
            "{}.{}.{}",
            parts[0],
            base64url_encode(edited.as_bytes()),
            parts[2]
        )
    };
    let alg_none = format!(
        "{}.{}.",
        base64url_encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let other_key = {
        let mut sig = base64url_decode(parts[2]);
        sig[0] ^= 1;
        format!("{}.{}.{}", parts[0], parts[1], base64url_encode(&sig))
    };
    for (what, bad) in [
        ("edited claims", edited_claims),
        ("alg none", alg_none),
        ("another key", other_key),
        ("garbage", "abc".into()),
    ] {
        let r = http.get("/v1/me", Some(&bad));
        assert_eq!(r.status, 401, "{what}");
        assert_eq!(r.json()["code"], "unauthorized", "{what}");
    }
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let r = http.get("/v1/me", Some(&token));
    assert_eq!(r.status, 401, "expired");
}

#[test]
fn a_restarted_server_still_has_everything() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ledger");
    let server = Server::start_in(&dir, &[]);
    let mut worker1 = Device::register(&server, "worker1");
    let cases: Vec<CaseId> = (0..5)
        .map(|i| worker1.open(patrol(&format!("case {i}")), now()))
        .collect();
    worker1.sync().expect("sync");
    const STATS: &str = "/v1/stats?from=0&to=4102444800000&by=grid";
    let before = {
        let http = server.http();
        let operator = http.login("operator");
        http.get(STATS, Some(&operator)).json()
    };
    assert!(before["groups"]["g1"].is_object(), "{before}");
    assert!(server.stop().success(), "graceful shutdown");

    let server = Server::start_in(&dir, &[]);
    worker1.reconnect(&server);
    let http = server.http();
    let operator = http.login("operator");
    assert_eq!(
        http.get(STATS, Some(&operator)).json(),
        before,
        "the indicator table is rebuilt from disk"
    );
    let list = http.get("/v1/cases?limit=100", Some(&operator)).json();
    let listed: Vec<&str> = list["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    for case in &cases {
        assert!(
            listed.contains(&case.as_str()),
            "{case} survived the restart"
        );
    }
    let report = worker1
        .sync()
        .expect("the device's token and cursor still work");
    assert!(report.notices.is_empty());
    assert!(
        report.bytes_down < 200,
        "nothing to resend: {} bytes",
        report.bytes_down
    );
}

#[test]
fn sigkill_during_a_stream_of_syncs_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ledger");
    let mut server = Server::start_in(&dir, &[]);
    let mut worker1 = Device::register(&server, "worker1");
    let mut acknowledged: std::collections::BTreeMap<CaseId, usize> = Default::default();
    for round in 0..20u64 {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let device = std::sync::Arc::new(worker1);
        let writer = device.clone();
        let handle = std::thread::spawn(move || {
            let mut acked = Vec::new();
            let mut i = 0;
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                let case = writer.open(patrol(&format!("round {round} case {i}")), now());
                let _ = writer.act(
                    &case,
                    Action::Comment {
                        text: "more".into(),
                    },
                    now(),
                );
                i += 1;
                match writer.sync() {
                    Ok(report) if report.notices.is_empty() => {
                        acked.push((case.clone(), writer.events(&case).len()))
                    }
                    _ => break,
                }
            }
            acked
        });
        std::thread::sleep(std::time::Duration::from_millis(40 + (round * 37) % 160));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        server.kill();
        let acked = handle.join().expect("writer thread");
        acknowledged.extend(acked);

        worker1 = std::sync::Arc::try_unwrap(device)
            .ok()
            .expect("device is ours again");
        server = Server::start_in(&dir, &[]);
        worker1.reconnect(&server);
        let http = server.http();
        let operator = http.login("operator");
        for (case, events) in &acknowledged {
            let r = http.get(&format!("/v1/cases/{case}"), Some(&operator));
            assert_eq!(
                r.status, 200,
                "round {round}: acknowledged case {case} is gone"
            );
            let have = r.json()["history"].as_array().map_or(0, Vec::len);
            assert!(
                have >= *events,
                "round {round}: case {case} has {have} of {events} acknowledged events"
            );
        }
    }
    assert!(!acknowledged.is_empty(), "the stream made progress");
    worker1
        .sync()
        .expect("the device finishes what was cut off");
}

/// An automerge sync message from an empty document: "tell me what you have".
fn automerge_hello() -> Vec<u8> {
    use automerge::sync::SyncDoc;
    let mut doc = automerge::AutoCommit::new();
    let mut state = automerge::sync::State::new();
    let message = doc.sync().generate_sync_message(&mut state);
    message.expect("a first message").encode()
}

fn base64url_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let Some(v) = alphabet.iter().position(|&a| a == c) else {
            continue;
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

fn base64url_encode(bytes: &[u8]) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(alphabet[((v >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn a_retried_sync_request_is_harmless() {
    use gridcase_sync_core::sync::{AcceptClean, SyncBatch, SyncSession};
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let worker1 = Device::register(&server, "worker1");
    let case = worker1.open(patrol("pothole"), now());
    worker1
        .act(
            &case,
            Action::Comment {
                text: "deep".into(),
            },
            now(),
        )
        .expect("note");
    let mut session = SyncSession::new(&worker1.docs, "server");
    let mut carrying_changes = None;
    for _ in 0..4 {
        let entries = session.generate([case.clone()]).expect("generate");
        if entries.is_empty() {
            break;
        }
        let batch = SyncBatch {
            cursor: 0,
            more: false,
            entries,
            notices: vec![],
        };
        let (status, answer) = worker1.post_batch(&batch).expect("post");
        assert_eq!(status, 200);
        if batch.entries.iter().any(|(_, m)| m.len() > 200) {
            carrying_changes = Some(batch);
        }
        session
            .receive(&answer.expect("answer").entries, &AcceptClean)
            .expect("receive");
    }
    let batch = carrying_changes.expect("one round carried the case");
    for _ in 0..3 {
        let (status, answer) = worker1.post_batch(&batch).expect("retry");
        assert_eq!(status, 200, "a retry is answered like the first try");
        assert!(answer.expect("answer").notices.is_empty());
    }
    let view = operator_view(&server, &case);
    assert_eq!(
        view["history"].as_array().map(Vec::len),
        Some(2),
        "no event twice"
    );
}
