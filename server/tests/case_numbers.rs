//! Case numbers in the ledger, in process: given by the commit thread in the batch of a case's
//! first commit, one per case under concurrent writers, counted per district day (the write's
//! server time is the ledger's clock, so a day's turn is written at the instants around its
//! midnight), kept across a reopening, and given in the background to the cases of a ledger
//! from before numbers, in the order it received them.

use gridcase_server::ledger::{Ledger, Receipt};
use gridcase_server::metrics::Metrics;
use gridcase_sync_core::commands::{act, open_case};
use gridcase_sync_core::store::{Batch, SledStore, Store};
use gridcase_sync_core::{Action, Actor, ActorId, CaseDoc, CaseId, EventId, Millis, Role, Scope};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

/// District time (UTC+8) in milliseconds since the epoch.
fn at(iso: &str) -> Millis {
    gridcase_server::district_time::parse_iso(iso).expect("a time")
}

fn operator() -> Actor {
    Actor {
        user: "operator".into(),
        device: "online:operator".into(),
        role: Role::DistrictCenter,
        scope: Scope::District,
    }
}

fn open(store: &Arc<dyn Store>, prefix: &str) -> Ledger {
    Ledger::open(store.clone(), 16, Arc::new(Metrics::default()), prefix).expect("ledger")
}

/// A case opened online at `now`, and the receipt of its intake at that time.
fn opened(now: Millis) -> (CaseDoc, (EventId, Receipt)) {
    let intake = serde_json::from_value(json!({
        "channel": "hotline",
        "description": "路灯不亮",
        "territory": {"street": "s1", "community": "c1", "grid": "g1"},
    }))
    .expect("an intake");
    let writer = ActorId::from(uuid_bytes().as_slice());
    let (doc, event) = open_case(&operator(), writer, intake, now).expect("opened");
    let receipt = Receipt {
        received_at: now,
        via: "online:operator".into(),
        change: None,
        flag: None,
    };
    (doc, (event.id, receipt))
}

/// Opens a case online and writes it at server time `now`, with the receipt of its intake.
fn new_case(ledger: &Ledger, now: Millis) -> CaseId {
    let (mut doc, receipt) = opened(now);
    let mut write = ledger.write(now);
    write.save(&mut doc, &[], &[receipt]).expect("staged");
    write.commit().expect("committed");
    doc.header().expect("header").case
}

/// Comments on a case online, written at server time `now`.
fn comment(ledger: &Ledger, case: &CaseId, now: Millis) {
    let mut doc = ledger.load(case).expect("load").expect("case");
    let since = doc.heads();
    doc.set_actor(ActorId::from(uuid_bytes().as_slice()));
    let comment = Action::Comment {
        text: "回访".into(),
    };
    act(&mut doc, &operator(), comment, now, &ledger.calendar).expect("comment");
    let mut write = ledger.write(now);
    write.save(&mut doc, &since, &[]).expect("staged");
    write.commit().expect("committed");
}

fn uuid_bytes() -> [u8; 16] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_be_bytes());
    b[8] = 0x5a;
    b
}

fn number(ledger: &Ledger, case: &CaseId) -> String {
    let number = ledger.number(case).expect("read").expect("numbered");
    let summary = ledger.summary(case).expect("read").expect("a summary");
    assert_eq!(summary.number.as_deref(), Some(number.as_str()));
    assert_eq!(
        ledger.numbered(&number).expect("read").as_ref(),
        Some(case),
        "the number finds its case"
    );
    number
}

#[test]
fn numbers_count_per_district_day_stay_with_their_case_and_never_repeat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
    let ledger = open(&store, "DC");

    let late = at("2026-12-01T00:00:00+08:00") - 1;
    let first = new_case(&ledger, late);
    let second = new_case(&ledger, late);
    let next_day = new_case(&ledger, at("2026-12-01T00:00:00+08:00"));
    assert_eq!(number(&ledger, &first), "DC-20261130-0001");
    assert_eq!(number(&ledger, &second), "DC-20261130-0002");
    assert_eq!(number(&ledger, &next_day), "DC-20261201-0001");

    // A later change keeps the number (and the summary keeps naming it).
    comment(&ledger, &first, at("2026-12-03T09:00:00+08:00"));
    assert_eq!(number(&ledger, &first), "DC-20261130-0001");
    assert_eq!(
        ledger.summary(&first).expect("read").map(|s| s.events),
        Some(2)
    );

    // Eight writers at once, their commits merged into groups by the commit thread: each case
    // its own number, the day's count without a gap.
    let busy = at("2026-12-02T10:00:00+08:00");
    let cases: Vec<CaseId> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..8)
            .map(|_| s.spawn(|| (0..25).map(|_| new_case(&ledger, busy)).collect::<Vec<_>>()))
            .collect();
        writers
            .into_iter()
            .flat_map(|w| w.join().expect("a writer"))
            .collect()
    });
    let numbers: BTreeSet<String> = cases.iter().map(|c| number(&ledger, c)).collect();
    let expected: BTreeSet<String> = (1..=200).map(|n| format!("DC-20261202-{n:04}")).collect();
    assert_eq!(numbers, expected);

    // Reopened (with another prefix): what was given stays, the day's count goes on.
    drop(ledger);
    let ledger = open(&store, "GZ");
    assert_eq!(number(&ledger, &second), "DC-20261130-0002");
    let after = new_case(&ledger, late);
    assert_eq!(number(&ledger, &after), "GZ-20261130-0003");
    // Looked up as people type it; an unknown number finds nothing.
    let typed = gridcase_server::case_number::parse(" gz-20261130-3 ").expect("a number");
    assert_eq!(ledger.numbered(&typed).expect("read"), Some(after));
    assert_eq!(ledger.numbered("GZ-20261130-0004").expect("read"), None);
}

/// The trees a number lives in (stored formats are forever: these names are pinned here).
const NUMBER_TREES: [&str; 3] = [
    "ledger_case_number",
    "ledger_numbered_case",
    "ledger_case_number_day",
];

/// Makes a ledger look as a release before numbers left it: no number trees, no mark, and
/// summaries without the field.
fn strip_numbers(store: &dyn Store) {
    let mut batch = Batch::new();
    for tree in NUMBER_TREES {
        for entry in store.range(tree, &[], None) {
            batch.delete(tree, entry.expect("entry").0);
        }
    }
    batch.delete("ledger_meta", b"case_numbers".to_vec());
    for entry in store.range("ledger_summaries", &[], None) {
        let (key, value) = entry.expect("entry");
        let mut row: serde_json::Value = serde_json::from_slice(&value).expect("a summary");
        assert!(row
            .as_object_mut()
            .expect("an object")
            .remove("number")
            .is_some());
        batch.put("ledger_summaries", key, row.to_string().into_bytes());
    }
    store.commit(batch).expect("stripped");
}

/// Waits until the ledger has numbered the cases of a ledger from before numbers.
fn numbered_all(ledger: &Ledger) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ledger.numbers_complete().expect("read") {
        assert!(
            std::time::Instant::now() < deadline,
            "numbering never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn an_older_ledger_numbers_its_cases_in_the_order_it_received_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
    let ledger = open(&store, "DC");
    // Case ids run one way, receipts another: the ledger's order is the receipts'.
    let times = [
        at("2026-11-29T15:00:00+08:00"),
        at("2026-11-29T09:00:00+08:00"),
        at("2026-11-30T08:00:00+08:00"),
        at("2026-11-29T12:00:00+08:00"),
    ];
    let cases: Vec<CaseId> = times.iter().map(|t| new_case(&ledger, *t)).collect();
    drop(ledger);
    strip_numbers(&*store);
    let old = store
        .range("ledger_summaries", &[], None)
        .next()
        .expect("a row")
        .expect("read")
        .1;
    assert!(
        !String::from_utf8_lossy(&old).contains("\"number\""),
        "an old row"
    );

    // Numbered in the background while the ledger serves.
    let ledger = open(&store, "DC");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ledger.numbers_complete().expect("read") {
        assert!(
            std::time::Instant::now() < deadline,
            "numbering never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let numbers: Vec<String> = cases.iter().map(|c| number(&ledger, c)).collect();
    assert_eq!(
        numbers,
        [
            "DC-20261129-0003",
            "DC-20261129-0001",
            "DC-20261130-0001",
            "DC-20261129-0002"
        ]
    );
    // Read in one batch (as a sync answer reads them), the old rows get their numbers too.
    let batched: Vec<Option<String>> = ledger
        .summaries_of(&cases)
        .expect("read")
        .into_iter()
        .map(|s| s.expect("a summary").number)
        .collect();
    assert_eq!(
        batched,
        numbers.iter().cloned().map(Some).collect::<Vec<_>>()
    );
    // The old rows stay as they were and are read with their numbers; a case's next change
    // stores its number in its row.
    let row = |case: &CaseId| {
        let key = gridcase_sync_core::store::key_part(case.as_str());
        let row = store
            .get("ledger_summaries", &key)
            .expect("read")
            .expect("a row");
        String::from_utf8(row).expect("JSON")
    };
    assert!(!row(&cases[1]).contains("\"number\""));
    comment(&ledger, &cases[1], at("2026-12-05T10:00:00+08:00"));
    assert!(row(&cases[1]).ends_with(",\"number\":\"DC-20261129-0001\"}"));
    assert_eq!(number(&ledger, &cases[1]), "DC-20261129-0001");
    // New cases continue each day's count.
    let later = new_case(&ledger, at("2026-11-29T23:00:00+08:00"));
    assert_eq!(number(&ledger, &later), "DC-20261129-0004");
    // Once numbered, a reopening numbers nothing again.
    drop(ledger);
    let ledger = open(&store, "XX");
    assert_eq!(number(&ledger, &cases[0]), "DC-20261129-0003");
}

/// New cases written while an older ledger's cases are numbered in the background (several
/// commits of them) share no number with them: each day's count has every number once, and
/// the older cases keep the order they were received in.
#[test]
fn writers_beside_the_background_numbering_never_share_a_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
    let ledger = open(&store, "DC");
    // 5,000 cases received ten seconds apart from 20:00 on, so across a midnight.
    let start = at("2026-11-29T20:00:00+08:00");
    let mut write = ledger.write(start);
    let mut older = Vec::new();
    for i in 0..5_000 {
        let (mut doc, receipt) = opened(start + i * 10_000);
        write.save(&mut doc, &[], &[receipt]).expect("staged");
        older.push(doc.header().expect("header").case);
    }
    write.commit().expect("committed");
    drop(ledger);
    strip_numbers(&*store);

    let ledger = open(&store, "DC");
    let newer: Vec<CaseId> = std::thread::scope(|s| {
        let writers: Vec<_> = [
            at("2026-11-29T23:00:00+08:00"),
            at("2026-11-30T09:00:00+08:00"),
        ]
        .into_iter()
        .flat_map(|t| [t, t])
        .map(|t| {
            let ledger = &ledger;
            s.spawn(move || (0..25).map(|_| new_case(ledger, t)).collect::<Vec<_>>())
        })
        .collect();
        writers
            .into_iter()
            .flat_map(|w| w.join().expect("a writer"))
            .collect()
    });
    numbered_all(&ledger);
    let mut by_day: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
    for case in older.iter().chain(&newer) {
        let n = number(&ledger, case);
        let (date, seq) = n["DC-".len()..].split_once('-').expect("a number");
        by_day
            .entry(date.to_owned())
            .or_default()
            .push(seq.parse().expect("digits"));
    }
    assert_eq!(by_day.len(), 2, "{:?}", by_day.keys());
    for (date, seqs) in &by_day {
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        let count = sorted.len() as u32;
        assert_eq!(sorted, (1..=count).collect::<Vec<_>>(), "{date}: once each");
    }
    // The older ones come in the order they were received.
    let older_numbers: Vec<String> = older.iter().map(|c| number(&ledger, c)).collect();
    let mut in_order = older_numbers.clone();
    in_order.sort_by_key(|n| {
        let (date, seq) = n["DC-".len()..].split_once('-').expect("a number");
        (date.to_owned(), seq.parse::<u32>().expect("digits"))
    });
    assert_eq!(older_numbers, in_order);
}
