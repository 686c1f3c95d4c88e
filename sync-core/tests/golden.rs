//! Golden documents: cases saved by an earlier release, checked in, that every later release
//! must load and fold to the state frozen beside them. Stored formats are forever.
//!
//! `r088568d-*` were written and folded by release 088568d's own code; `v1-*` by the release
//! after it. `tests/golden/<name>.automerge` is automerge's own compressed save (the snapshot format of
//! the first releases), `<name>.snapshot` the current one (`encode_snapshot`: the
//! uncompressed save, zstd-compressed whole), `<name>.state.json` the fold of its events as
//! that release computed it. A later release may add fields to the state; every frozen field
//! must keep its value. `batch-v1.bin` is a sync batch of wire version 1.
//!
//! Never rewrite a golden file. To freeze the cases of a new release beside the old ones,
//! add them to `cases()` under new names and run
//! `GRIDCASE_GOLDEN_WRITE=1 cargo test -p gridcase-sync-core --test golden`, which writes only
//! the files that do not exist yet.

mod common;

use common::*;
use gridcase_sync_core::commands::{act_with, attach, open_case, Blob};
use gridcase_sync_core::event::{
    BusinessType, Channel, DeclineReason, Filing, Intake, Reporter, Satisfaction,
};
use gridcase_sync_core::inspect::Snapshot;
use gridcase_sync_core::store::{decode_snapshot, encode_snapshot};
use gridcase_sync_core::sync::{Notice, SyncBatch};
use gridcase_sync_core::{Action, Actor, CaseDoc, CaseId, EventId, Level};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Every golden case by name. Names are never reused. `r088568d-*` were written by release
/// 088568d's own code (the release before evolvable events), the same cases but the later
/// release's; `v1-*` by the release that froze them first.
const NAMES: [&str; 22] = [
    "r088568d-lifecycle",
    "r088568d-conflicts",
    "r088568d-not-found",
    "r088568d-declined",
    "r088568d-duplicate",
    "r088568d-voided",
    "r088568d-self-handled",
    "r088568d-attachments",
    "v1-lifecycle",
    "v1-conflicts",
    "v1-not-found",
    "v1-declined",
    "v1-duplicate",
    "v1-self-handled",
    "v1-voided",
    "v1-attachments",
    "v1-later-release",
    "v1-desk-call",
    "r13-callback",
    "r13-answered",
    "r14-units-at-work",
    "r14-adopted",
];

/// The prefix of the cases this release freezes; older names are never written again.
const THIS_RELEASE: &str = "r14-";

#[test]
fn golden_documents_load_and_fold_to_the_frozen_state() {
    if std::env::var_os("GRIDCASE_GOLDEN_WRITE").is_some() {
        write_missing();
    }
    for name in NAMES {
        let frozen: Value = serde_json::from_slice(
            &std::fs::read(dir().join(format!("{name}.state.json"))).expect("frozen state"),
        )
        .expect("frozen state is JSON");
        for form in ["automerge", "snapshot"] {
            let bytes = std::fs::read(dir().join(format!("{name}.{form}"))).expect("golden file");
            let mut am = decode_snapshot(&bytes).expect("loads");
            // Arriving whole at a server that has never seen it, it passes inspection.
            let breaches = Snapshot::empty().inspect(&mut am).breaches;
            assert!(breaches.is_empty(), "{name}.{form}: {breaches:?}");
            let doc = CaseDoc::from_automerge(am)
                .unwrap_or_else(|e| panic!("{name}.{form} does not read as a case: {e}"));
            let events = doc
                .events()
                .unwrap_or_else(|e| panic!("{name}.{form}: events do not read: {e}"));
            let now = serde_json::to_value(gridcase_sync_core::fold(&events, &cal()))
                .expect("state serializes");
            if let Err(path) = contains(&now, &frozen, String::new()) {
                panic!("{name}.{form}: the fold differs from the frozen state at {path}");
            }
            doc.attachments()
                .unwrap_or_else(|e| panic!("{name}.{form}: attachments do not read: {e}"));
        }
    }
}

#[test]
fn a_golden_sync_batch_decodes() {
    let bytes = std::fs::read(dir().join("batch-v1.bin")).expect("golden batch");
    let batch = SyncBatch::decode(&bytes).expect("a version 1 batch decodes");
    assert_eq!(batch.cursor, 42);
    assert!(batch.more);
    assert_eq!(batch.entries.len(), 2);
    assert_eq!(batch.notices.len(), 1);
    assert_eq!(batch.notices[0].code, "out_of_scope");
    for (_, message) in &batch.entries {
        automerge::sync::Message::decode(message).expect("each entry is a sync message");
    }
}

/// Every field of `frozen` is in `now` with the same value; objects in `now` may have more.
fn contains(now: &Value, frozen: &Value, path: String) -> Result<(), String> {
    match (now, frozen) {
        (Value::Object(n), Value::Object(f)) => f.iter().try_for_each(|(k, fv)| {
            let at = format!("{path}.{k}");
            match n.get(k) {
                Some(nv) => contains(nv, fv, at),
                None if fv.is_null() => Ok(()),
                None => Err(at),
            }
        }),
        (Value::Array(n), Value::Array(f)) if n.len() == f.len() => n
            .iter()
            .zip(f)
            .enumerate()
            .try_for_each(|(i, (nv, fv))| contains(nv, fv, format!("{path}[{i}]"))),
        (n, f) if n == f => Ok(()),
        _ => Err(path),
    }
}

// ---- Writing the golden files (once) ----

fn write_missing() {
    std::fs::create_dir_all(dir()).expect("golden dir");
    for (name, mut doc) in cases() {
        assert!(NAMES.contains(&name), "{name} is not listed in NAMES");
        if !name.starts_with(THIS_RELEASE) {
            // An earlier release's case: frozen by that release, never written again.
            continue;
        }
        let state = state(&doc);
        let files = [
            (format!("{name}.automerge"), doc.save()),
            (
                format!("{name}.snapshot"),
                encode_snapshot(&mut doc.automerge().clone()),
            ),
            (
                format!("{name}.state.json"),
                serde_json::to_vec_pretty(&state).expect("state"),
            ),
        ];
        for (file, bytes) in files {
            let path = dir().join(file);
            if !path.exists() {
                std::fs::write(&path, bytes).expect("write golden file");
            }
        }
    }
    let path = dir().join("batch-v1.bin");
    if !path.exists() {
        let mut a = case_at("dispatched");
        let mut b = case_at("reported");
        let message = |doc: &mut CaseDoc| {
            use automerge::sync::SyncDoc;
            let mut state = automerge::sync::State::new();
            doc.automerge()
                .sync()
                .generate_sync_message(&mut state)
                .expect("message")
                .encode()
        };
        let id = |doc: &CaseDoc| doc.header().expect("header").case;
        let batch = SyncBatch {
            cursor: 42,
            more: true,
            entries: vec![(id(&a), message(&mut a)), (id(&b), message(&mut b))],
            notices: vec![Notice {
                case: CaseId::new("0190a1b2c3d4e5f60718293a4b5c6d7e"),
                code: "out_of_scope".into(),
                text: "case lies outside the scope of worker1".into(),
            }],
        };
        std::fs::write(path, batch.encode()).expect("write batch");
    }
}

fn go(doc: &mut CaseDoc, who: &Actor, action: Action, minutes: i64) {
    let kind = action.kind();
    step(doc, who, action, minutes).unwrap_or_else(|e| panic!("{kind} by {}: {e}", who.user));
}

fn note(text: &str) -> String {
    text.to_owned()
}

fn cases() -> Vec<(&'static str, CaseDoc)> {
    let mut out = Vec::new();

    // A hotline call through every step, with a return, a hold, rework and a reopening.
    let hotline = Intake {
        channel: Channel::Hotline,
        reporter: Some(Reporter {
            name: "张三".into(),
            contact: "13800000000".into(),
        }),
        description: "地锁又装回来了 ground locks are back".into(),
        territory: here(),
        address: Some("东四北大街 12号".into()),
        coordinates: Some((116.417, 39.93)),
        category: Some(garbage()),
        photos: vec![],
        media_url: None,
        business_type: None,
        caller: None,
        callback: false,
    };
    let (mut doc, _) =
        open_case(&operator(), writer("operator"), hotline.clone(), t0()).expect("hotline intake");
    go(
        &mut doc,
        &worker1(),
        Action::Confirm {
            exists: true,
            note: note("seen"),
        },
        10,
    );
    go(
        &mut doc,
        &operator(),
        urgent_to_u1_and_u2("remove the locks"),
        20,
    );
    go(
        &mut doc,
        &operator(),
        Action::Dispatch {
            unit: "u1".into(),
            responsible: Some("王五".into()),
            deadline: None,
            lead: false,
        },
        30,
    );
    go(
        &mut doc,
        &unit1(),
        Action::Return {
            reason: note("not ours"),
        },
        40,
    );
    go(
        &mut doc,
        &operator(),
        Action::Dispatch {
            unit: "u2".into(),
            responsible: None,
            deadline: Some(t0() + 48 * HOUR),
            lead: false,
        },
        50,
    );
    go(
        &mut doc,
        &unit2(),
        Action::Handle {
            note: note("on site"),
            photos: vec![],
        },
        60,
    );
    go(
        &mut doc,
        &operator(),
        Action::Extend {
            hours: 8,
            reason: note("parts"),
            request: None,
        },
        70,
    );
    go(
        &mut doc,
        &operator(),
        Action::Hold {
            reason: note("court order"),
        },
        80,
    );
    go(
        &mut doc,
        &operator(),
        Action::Release {
            note: note("resumed"),
        },
        90,
    );
    go(&mut doc, &unit2(), feedback(), 100);
    go(&mut doc, &worker1(), verify(false), 110);
    go(&mut doc, &unit2(), feedback(), 120);
    go(&mut doc, &worker1(), verify(true), 130);
    go(
        &mut doc,
        &worker1(),
        Action::Escalate {
            reason: note("again?"),
        },
        135,
    );
    go(&mut doc, &worker1(), close(), 140);
    go(
        &mut doc,
        &supervisor(),
        Action::Evaluate {
            satisfaction: Some(Satisfaction::Dissatisfied),
            solved: Some(false),
            note: note("caller unhappy"),
        },
        150,
    );
    go(
        &mut doc,
        &operator(),
        Action::Reopen {
            reason: note("callback: not fixed"),
        },
        160,
    );
    go(
        &mut doc,
        &unit1(),
        Action::Comment {
            text: note("备注 note"),
        },
        170,
    );
    out.push(("v1-lifecycle", doc));

    // Two verifiers disagree offline; the center resolves; one id is reused.
    let mut doc = case_at("awaiting_verification");
    let mut other = replica(&mut doc);
    go(&mut doc, &worker1(), verify(true), 200);
    go(&mut other, &worker2(), verify(false), 201);
    merge(&mut doc, &mut other);
    let superseded = state(&doc).conflicts[0].event.clone();
    go(
        &mut doc,
        &operator(),
        Action::Resolve {
            conflict: superseded,
            note: note("photos agree"),
        },
        210,
    );
    reuse_an_id(&mut doc);
    out.push(("v1-conflicts", doc));

    // A web report not found on site.
    let (mut doc, _) =
        open_case(&open311(), writer("open311"), intake(Channel::Web), t0()).expect("web");
    go(
        &mut doc,
        &worker1(),
        Action::Confirm {
            exists: false,
            note: note("nothing"),
        },
        10,
    );
    out.push(("v1-not-found", doc));

    // Declined, and another marked a duplicate of it.
    let mut doc = case_at("reported");
    go(
        &mut doc,
        &operator(),
        Action::Decline {
            reason: DeclineReason::OutOfJurisdiction,
            note: note("rail land"),
        },
        10,
    );
    let first = doc.header().expect("header").case;
    out.push(("v1-declined", doc));
    let mut dup = case_at("reported");
    go(
        &mut dup,
        &operator(),
        Action::MarkDuplicate { of: first },
        10,
    );
    out.push(("v1-duplicate", dup));

    // Filed, held, released and voided.
    let mut doc = case_at("filed");
    go(
        &mut doc,
        &operator(),
        Action::Hold {
            reason: note("wait"),
        },
        100,
    );
    go(
        &mut doc,
        &operator(),
        Action::Release {
            note: String::new(),
        },
        110,
    );
    go(
        &mut doc,
        &operator(),
        Action::Void {
            reason: note("entered twice"),
        },
        120,
    );
    out.push(("v1-voided", doc));

    let mut doc = case_at("reported");
    go(
        &mut doc,
        &worker1(),
        Action::SelfHandle {
            note: note("swept"),
            photos: vec![],
        },
        10,
    );
    out.push(("v1-self-handled", doc));

    // Photos with their records.
    let mut doc = case_at("dispatched");
    doc.set_actor(writer("unit1-device"));
    let sha = |c: char| c.to_string().repeat(64);
    attach(
        &mut doc,
        &unit1(),
        vec![
            Blob {
                sha256: sha('a'),
                mime: "image/jpeg".into(),
                size: 2_600_000,
                name: Some("before.jpg".into()),
            },
            Blob {
                sha256: sha('b'),
                mime: "image/png".into(),
                size: 1_234,
                name: None,
            },
        ],
        t0() + 30 * 60_000,
        &cal(),
    )
    .expect("attach");
    act_with(
        &mut doc,
        &unit1(),
        Action::Handle {
            note: note("after"),
            photos: vec![sha('c')],
        },
        vec![Blob {
            sha256: sha('c'),
            mime: "image/jpeg".into(),
            size: 99,
            name: Some("after.jpg".into()),
        }],
        t0() + 40 * 60_000,
        &cal(),
    )
    .expect("handle with a photo");
    out.push(("v1-attachments", doc));

    // Events of a later release: an unknown kind, a known kind with more fields, a later
    // value, and an event map with a field of its own.
    let mut doc = case_at("filed");
    later(
        &mut doc,
        &operator(),
        "callback_made",
        r#"{"satisfied":true}"#,
        30,
    );
    later(
        &mut doc,
        &operator(),
        "dispatch",
        r#"{"unit":"u1","responsible":null,"deadline":null,"lead":true}"#,
        40,
    );
    later(
        &mut doc,
        &unit1(),
        "handle",
        r#"{"note":"x","photos":[],"mood":{"calm":true}}"#,
        50,
    );
    later(
        &mut doc,
        &unit1(),
        "feedback",
        r#"{"resolved":"partly"}"#,
        60,
    );
    out.push(("v1-later-release", doc));

    // A call taken at the hotline desk: an intake with its business type (诉求类型), then the
    // confirmation, the filing and the dispatch the desk writes with it in one batch.
    let call = Intake {
        reporter: Some(Reporter {
            name: "王女士".into(),
            contact: "13812345678".into(),
        }),
        description: "井盖松动，车辆经过有响声".into(),
        address: Some("韶九胡同8号, 东华门街道".into()),
        coordinates: None,
        business_type: Some(BusinessType::Complaint),
        ..hotline.clone()
    };
    let (mut doc, _) = open_case(&operator(), writer("operator"), call, t0()).expect("call intake");
    go(
        &mut doc,
        &operator(),
        Action::Confirm {
            exists: true,
            note: String::new(),
        },
        0,
    );
    go(&mut doc, &operator(), urgent_to_u1_and_u2("尽快加固"), 0);
    go(
        &mut doc,
        &operator(),
        Action::Dispatch {
            unit: "u1".into(),
            responsible: Some("张队长".into()),
            deadline: None,
            lead: false,
        },
        0,
    );
    out.push(("v1-desk-call", doc));

    // The callback (回访) of release 13: the caller's personal data kept out of the document
    // (the register holds it, events name it by id), a second caller attached, a dissatisfied
    // callback that reopens the case, an unreached attempt, and a satisfied second round.
    let call = Intake {
        reporter: None,
        caller: Some("0190a1b2c3d4e5f60718293a4b5c6d7e".into()),
        description: "地锁又装回来了".into(),
        address: Some("韶九胡同8号".into()),
        coordinates: None,
        business_type: Some(BusinessType::Complaint),
        ..hotline.clone()
    };
    let (mut doc, _) = open_case(&operator(), writer("operator"), call, t0()).expect("call intake");
    let confirm = || Action::Confirm {
        exists: true,
        note: String::new(),
    };
    go(&mut doc, &operator(), confirm(), 0);
    go(&mut doc, &operator(), urgent_to_u1_and_u2("拆除地锁"), 0);
    go(
        &mut doc,
        &operator(),
        Action::CallerAdded {
            caller: "0190a1b2c3d4e5f60718293a4b5c6d7f".into(),
            note: note("同一地址第二位来电人"),
            callback: true,
        },
        5,
    );
    let round = |doc: &mut CaseDoc, at: i64| {
        go(doc, &operator(), dispatch("u1"), at);
        go(doc, &unit1(), feedback(), at + 60);
        go(doc, &worker1(), verify(true), at + 120);
        go(doc, &worker1(), close(), at + 130);
    };
    round(&mut doc, 10);
    let callback = |reached: bool, solved: Option<bool>, satisfaction: Option<Satisfaction>| {
        Action::Callback {
            caller: Some("0190a1b2c3d4e5f60718293a4b5c6d7e".into()),
            reached,
            solved,
            satisfaction,
            note: note("回访"),
            to_supervisor: false,
        }
    };
    go(
        &mut doc,
        &operator(),
        callback(true, Some(false), Some(Satisfaction::Dissatisfied)),
        200,
    );
    go(
        &mut doc,
        &operator(),
        Action::Reopen {
            reason: "回访不满意: 地锁仍在".into(),
        },
        201,
    );
    round(&mut doc, 300);
    go(&mut doc, &operator(), callback(false, None, None), 500);
    go(
        &mut doc,
        &operator(),
        callback(true, Some(true), Some(Satisfaction::Satisfied)),
        600,
    );
    out.push(("r13-callback", doc));

    // 直接答复: a consultation answered on the phone and closed at intake.
    let call = Intake {
        reporter: None,
        description: "咨询居住证办理地点".into(),
        business_type: Some(BusinessType::Consultation),
        ..hotline
    };
    let (mut doc, _) = open_case(&operator(), writer("operator"), call, t0()).expect("call intake");
    go(
        &mut doc,
        &operator(),
        Action::Answer {
            answer: "街道政务服务中心一层, 工作日 9:00-17:00".into(),
        },
        1,
    );
    out.push(("r13-answered", doc));

    // Units at work: acknowledged, an extension asked and granted, another refused, returned
    // twice, the lead named after arbitration, fed back, verified and closed.
    let mut doc = new_case();
    go(&mut doc, &operator(), filing(), 1);
    go(&mut doc, &operator(), dispatch("u1"), 2);
    go(
        &mut doc,
        &unit1(),
        Action::Acknowledge {
            note: note("已签收"),
        },
        3,
    );
    let ask = |hours: u32| Action::ExtensionRequest {
        hours,
        reason: "需协调施工队".into(),
    };
    let asked = written(&mut doc, &unit1(), ask(2), 4);
    go(
        &mut doc,
        &operator(),
        Action::Extend {
            hours: 2,
            reason: "同意".into(),
            request: Some(asked),
        },
        5,
    );
    let asked = written(&mut doc, &unit1(), ask(1), 6);
    go(
        &mut doc,
        &operator(),
        Action::RefuseExtension {
            request: asked,
            reason: "时限内可完成".into(),
        },
        7,
    );
    let back = |reason: &str| Action::Return {
        reason: reason.into(),
    };
    go(&mut doc, &unit1(), back("非本单位职责"), 8);
    go(&mut doc, &operator(), dispatch("u2"), 9);
    go(&mut doc, &unit2(), back("应由u1处理"), 10);
    go(
        &mut doc,
        &operator(),
        Action::Dispatch {
            unit: "u1".into(),
            responsible: Some("张科长".into()),
            deadline: None,
            lead: true,
        },
        11,
    );
    go(&mut doc, &unit1(), feedback(), 12);
    go(&mut doc, &worker1(), verify(true), 13);
    go(&mut doc, &worker1(), close(), 14);
    out.push(("r14-units-at-work", doc));

    // A concurrent verification that lost, taken by the central office (adopt).
    let mut doc = new_case();
    go(&mut doc, &operator(), filing(), 1);
    go(&mut doc, &operator(), dispatch("u1"), 2);
    go(&mut doc, &unit1(), feedback(), 3);
    let mut other = CaseDoc::load(&doc.save()).expect("a replica");
    go(&mut doc, &worker1(), verify(true), 4);
    go(&mut doc, &worker1(), close(), 5);
    let lost = written(&mut other, &worker2(), verify(false), 4);
    doc.automerge()
        .merge(other.automerge())
        .expect("replicas merge");
    go(
        &mut doc,
        &operator(),
        Action::Adopt {
            conflict: lost,
            note: note("现场复核未解决"),
        },
        6,
    );
    out.push(("r14-adopted", doc));
    out
}

/// [`go`], returning the id of the event written.
fn written(doc: &mut CaseDoc, who: &Actor, action: Action, minutes: i64) -> EventId {
    let kind = action.kind();
    step(doc, who, action, minutes)
        .unwrap_or_else(|e| panic!("{kind} by {}: {e}", who.user))
        .id
}

/// An urgent filing for units u1 and u2, with a callback.
fn urgent_to_u1_and_u2(suggestion: &str) -> Action {
    Action::File(Filing {
        category: garbage(),
        level: Level::Urgent,
        units: vec!["u1".into(), "u2".into()],
        suggestion: note(suggestion),
        callback: true,
    })
}

/// A comment that reuses the id of the case's first event (a broken device's doing).
fn reuse_an_id(doc: &mut CaseDoc) {
    let first = doc.events().expect("events")[0].id.to_string();
    raw(
        doc,
        &operator(),
        &first,
        "comment",
        r#"{"text":"same id"}"#,
        220,
    );
}

fn later(doc: &mut CaseDoc, who: &Actor, kind: &str, payload: &str, minutes: i64) {
    let id = uuid::Uuid::now_v7().simple().to_string();
    raw(doc, who, &id, kind, payload, minutes);
}

fn raw(doc: &mut CaseDoc, who: &Actor, id: &str, kind: &str, payload: &str, minutes: i64) {
    write_raw_event(
        doc,
        who,
        id,
        (kind, payload),
        &[("release", "9.0")],
        minutes,
    );
}
