//! Receipts are forever: a ledger written by a release before 2026-11-30 holds one JSON row per
//! event in `ledger_receipts`; later releases write one row per arrival in `ledger_arrivals`
//! (`ledger/receipts.rs`). The old rows are written by hand here, byte for byte as that release
//! wrote them, and must read the same through every reader: `Ledger::receipts`,
//! `Ledger::authored_by`, and the numbering of a ledger from before case numbers.
//!
//! Never rewrite an old row here to make a change pass: rows like these are on disk.

use gridcase_server::ledger::{Ledger, Receipt};
use gridcase_server::metrics::Metrics;
use gridcase_sync_core::commands::{act, open_case};
use gridcase_sync_core::store::{key_part, Batch, SledStore, Store};
use gridcase_sync_core::{Action, Actor, ActorId, CaseDoc, CaseId, EventId, Millis, Role, Scope};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

const OLD: &str = "ledger_receipts";
const ARRIVALS: &str = "ledger_arrivals";

fn operator() -> Actor {
    Actor {
        user: "operator".into(),
        device: "online:operator".into(),
        role: Role::DistrictCenter,
        scope: Scope::District,
    }
}

fn open(store: &Arc<dyn Store>) -> Ledger {
    Ledger::open(store.clone(), 16, Arc::new(Metrics::default()), "DC").expect("ledger")
}

fn writer(n: u8) -> ActorId {
    let mut b = [0x5b; 16];
    b[15] = n;
    ActorId::from(b.as_slice())
}

/// A case opened online at `now` by actor `n`, not yet written.
fn opened(n: u8, now: Millis) -> (CaseDoc, EventId) {
    let intake = serde_json::from_value(json!({
        "channel": "hotline",
        "description": "路灯不亮",
        "territory": {"street": "s1", "community": "c1", "grid": "g1"},
    }))
    .expect("an intake");
    let (doc, event) = open_case(&operator(), writer(n), intake, now).expect("opened");
    (doc, event.id)
}

/// Three comments on a case, written together at `now` with their receipts through `via`.
fn three_comments(ledger: &Ledger, case: &CaseId, n: u8, now: Millis, via: &str) -> Vec<String> {
    let mut doc = ledger.load(case).expect("load").expect("a case");
    let since = doc.heads();
    doc.set_actor(writer(n));
    let mut ids = Vec::new();
    for text in ["一", "二", "三"] {
        let comment = Action::Comment { text: text.into() };
        let event = act(&mut doc, &operator(), comment, now, &ledger.calendar).expect("comment");
        ids.push(event.id);
    }
    let changes: BTreeMap<EventId, _> = doc.event_changes().into_iter().collect();
    let receipts: Vec<(EventId, Receipt)> = ids
        .iter()
        .map(|id| {
            let receipt = Receipt {
                received_at: now,
                via: via.into(),
                change: changes[id].map(|h| h.to_string()),
                flag: (id == &ids[1]).then(|| "outside_tier: u9".to_owned()),
            };
            (id.clone(), receipt)
        })
        .collect();
    let mut write = ledger.write(now);
    write.save(&mut doc, &since, &receipts).expect("staged");
    write.commit().expect("committed");
    ids.into_iter().map(|e| e.to_string()).collect()
}

/// A per-event row as releases before 2026-11-30 wrote it: key = the case's key part + the
/// event id, value = the receipt's JSON (`serde_json::to_vec` of the struct, fields in order).
fn old_row(batch: &mut Batch, case: &CaseId, event: &str, json: &str) {
    let mut key = key_part(case.as_str());
    key.extend_from_slice(event.as_bytes());
    batch.put(OLD, key, json.as_bytes().to_vec());
}

fn rows(store: &dyn Store, tree: &'static str, case: &CaseId) -> usize {
    store.scan_prefix(tree, &key_part(case.as_str())).count()
}

#[test]
fn receipts_of_earlier_releases_read_the_same_beside_new_arrivals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
    let ledger = open(&store);
    let now = 1_796_000_000_000;
    // The case was written without receipts (as a bulk import does); an earlier release's
    // receipts of its intake and of a flagged event are put beside it by hand.
    let (mut doc, intake) = opened(1, now);
    let mut write = ledger.write(now);
    write.save(&mut doc, &[], &[]).expect("staged");
    write.commit().expect("committed");
    let case = doc.header().expect("header").case;
    let mut batch = Batch::new();
    let intake_json = r#"{"received_at":1796000000000,"via":"dev-5acbc354369c","change":"bf3fbdd87f5f77de662b7b73b833ccdc7f7e67e451f483733036f8087ec21d3a","flag":null}"#;
    old_row(&mut batch, &case, intake.as_str(), intake_json);
    let flagged_json = r#"{"received_at":1796000000500,"via":"online:operator","change":null,"flag":"unknown_reference: the grid g9 is not in the organization"}"#;
    old_row(&mut batch, &case, "7b1c-not-hex", flagged_json);
    store.commit(batch).expect("written");

    let old: BTreeMap<String, Receipt> = [
        (
            intake.to_string(),
            Receipt {
                received_at: 1_796_000_000_000,
                via: "dev-5acbc354369c".into(),
                change: Some(
                    "bf3fbdd87f5f77de662b7b73b833ccdc7f7e67e451f483733036f8087ec21d3a".into(),
                ),
                flag: None,
            },
        ),
        (
            "7b1c-not-hex".to_owned(),
            Receipt {
                received_at: 1_796_000_000_500,
                via: "online:operator".into(),
                change: None,
                flag: Some("unknown_reference: the grid g9 is not in the organization".into()),
            },
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(ledger.receipts(&case).expect("read"), old);
    assert!(ledger.authored_by(&case, "dev-5acbc354369c").expect("read"));
    assert!(!ledger.authored_by(&case, "dev-other").expect("read"));

    // A write of three events now: one arrival row, beside the old rows, which stay.
    let later = now + 60_000;
    let ids = three_comments(&ledger, &case, 2, later, "dev-e40320b733d0");
    assert_eq!(
        rows(&*store, OLD, &case),
        2,
        "the old rows stay as they were"
    );
    assert_eq!(rows(&*store, ARRIVALS, &case), 1, "one row for the arrival");
    let receipts = ledger.receipts(&case).expect("read");
    assert_eq!(receipts.len(), 5);
    for (k, v) in &old {
        assert_eq!(receipts.get(k), Some(v), "{k}");
    }
    let changes: BTreeMap<String, String> = doc_changes(&ledger, &case);
    for (i, id) in ids.iter().enumerate() {
        let r = &receipts[id];
        assert_eq!(r.received_at, later);
        assert_eq!(r.via, "dev-e40320b733d0");
        assert_eq!(
            r.change.as_ref(),
            Some(&changes[id]),
            "the change that carried it"
        );
        assert_eq!(r.flag.is_some(), i == 1);
    }
    assert!(ledger.authored_by(&case, "dev-5acbc354369c").expect("read"));
    assert!(ledger.authored_by(&case, "dev-e40320b733d0").expect("read"));

    // The same after a reopening.
    drop(ledger);
    let ledger = open(&store);
    assert_eq!(ledger.receipts(&case).expect("read"), receipts);
}

fn doc_changes(ledger: &Ledger, case: &CaseId) -> BTreeMap<String, String> {
    let doc = ledger.load(case).expect("load").expect("a case");
    doc.event_changes()
        .into_iter()
        .filter_map(|(e, h)| Some((e.to_string(), h?.to_string())))
        .collect()
}

/// A ledger from before case numbers numbers its cases in the order their first receipts
/// say, whether an earlier release's per-event rows or arrivals hold them.
#[test]
fn older_cases_are_numbered_by_their_first_receipt_in_either_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
    let ledger = open(&store);
    let start = gridcase_server::district_time::parse_iso("2026-11-30T08:00:00+08:00");
    let day = |h: i64| start.expect("a time") + h * 3_600_000;
    // Four cases created at hour 0 (their summaries' creation time, the fallback), written
    // without receipts; receipts put at hours 5, 3, 4 (two of them per-event rows), the last
    // case's through a later arrival at hour 1 and an old row at hour 2.
    let mut cases = Vec::new();
    for n in 0..4 {
        let (mut doc, _) = opened(10 + n, day(0));
        let mut write = ledger.write(day(0));
        write.save(&mut doc, &[], &[]).expect("staged");
        write.commit().expect("committed");
        cases.push(doc.header().expect("header").case);
    }
    let mut batch = Batch::new();
    let json =
        |at: Millis| format!(r#"{{"received_at":{at},"via":"dev-old","change":null,"flag":null}}"#);
    old_row(&mut batch, &cases[0], "a", &json(day(5)));
    old_row(&mut batch, &cases[1], "a", &json(day(3)));
    old_row(&mut batch, &cases[1], "b", &json(day(6)));
    old_row(&mut batch, &cases[3], "a", &json(day(2)));
    store.commit(batch).expect("written");
    three_comments(&ledger, &cases[2], 20, day(4), "dev-new");
    three_comments(&ledger, &cases[3], 21, day(1), "dev-new");
    drop(ledger);
    strip_numbers(&*store);

    let ledger = open(&store);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ledger.numbers_complete().expect("read") {
        assert!(
            std::time::Instant::now() < deadline,
            "numbering never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let numbers: Vec<String> = cases
        .iter()
        .map(|c| ledger.number(c).expect("read").expect("numbered"))
        .collect();
    let n = |k: u32| format!("DC-20261130-{k:04}");
    assert_eq!(numbers, [n(4), n(2), n(3), n(1)]);
}

/// Makes a ledger look as a release before numbers left it (as `case_numbers.rs` does).
fn strip_numbers(store: &dyn Store) {
    let mut batch = Batch::new();
    for tree in [
        "ledger_case_number",
        "ledger_numbered_case",
        "ledger_case_number_day",
    ] {
        for entry in store.range(tree, &[], None) {
            batch.delete(tree, entry.expect("entry").0);
        }
    }
    batch.delete("ledger_meta", b"case_numbers".to_vec());
    for entry in store.range("ledger_summaries", &[], None) {
        let (key, value) = entry.expect("entry");
        let mut row: serde_json::Value = serde_json::from_slice(&value).expect("a summary");
        row.as_object_mut().expect("an object").remove("number");
        batch.put("ledger_summaries", key, row.to_string().into_bytes());
    }
    store.commit(batch).expect("stripped");
}
