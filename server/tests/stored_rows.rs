//! Stored rows are forever: what the ledger writes for a case besides its document, pinned byte
//! for byte for the golden cases (`sync-core/tests/golden/`). A case's summary is a JSON row
//! (`summary.rs`: field names, their order, enums by name, the defaults an older row reads
//! with) and its indicator row is a fixed-width byte row (`indicators/row.rs`). Both are
//! derived from the fold through `sync_core::outline::CaseOutline`; a change in that
//! derivation that would change a stored row fails here.
//!
//! Never rewrite an expected row to make a change pass: a row already on disk must keep
//! reading as it did. A field added later goes at the end of the summary, with a default.

use gridcase_server::indicators::{stored, CaseFacts};
use gridcase_server::summary::CaseSummary;
use gridcase_sync_core::store::decode_snapshot;
use gridcase_sync_core::{
    fold, ActionKind, CaseDoc, CaseOutline, Event, Header, Millis, WorkCalendar,
};
use std::path::Path;

/// Server time of the summaries written here.
const NOW: Millis = 1_800_000_000_000;

/// A golden case's header and events.
fn golden(name: &str) -> (Header, Vec<Event>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sync-core/tests/golden")
        .join(format!("{name}.snapshot"));
    let bytes = std::fs::read(&path).expect("a golden case");
    let doc = CaseDoc::from_automerge(decode_snapshot(&bytes).expect("loads")).expect("a case");
    (
        doc.header().expect("a header"),
        doc.events().expect("events"),
    )
}

/// The summary the ledger stores for a case (`Ledger::stage_summary`), as stored, and its
/// indicator row in slot 7, in hex.
fn rows(header: &Header, events: &[Event], flagged: usize) -> (String, String) {
    let state = fold(events, &WorkCalendar::beijing());
    let mut summary = CaseSummary::of(&CaseOutline::of(header, &state), flagged, NOW);
    if summary.channel == Some(gridcase_sync_core::event::Channel::Web) {
        summary.publish(&state, events, None, NOW);
    }
    let json = serde_json::to_string(&summary).expect("JSON");
    let read: CaseSummary = serde_json::from_str(&json).expect("reads back");
    assert_eq!(read, summary, "a stored summary reads as written");
    let row = stored(7, &CaseFacts::of(&summary));
    (json, hex::encode(row))
}

/// The golden cases' stored rows: (golden case, its events before the first of this kind,
/// flagged events, summary, indicator row).
#[test]
fn the_rows_of_golden_cases_are_pinned() {
    let cases: [(&str, Option<ActionKind>, usize, &str, &str); 5] = [
        // Reopened after rework, an extension and an evaluation; two events flagged; escalated
        // once and returned once (counts a later release added, written only when not zero).
        // The summary's response, missed-deadline and chain fields, and the indicator row's
        // chain tail, are later additions at the end (see
        // `rows_from_before_the_chain_tail_read_as_no_chain`); so are the verifications and
        // the work's tail after the chain's (`rows_from_before_the_work_tail_read_as_none`).
        (
            "v1-lifecycle",
            None,
            2,
            r#"{"id":"01a22bcfae7a738489465f1ef7925589","status":"filed","step":2,"street":"s1","community":"c1","grid":"g1","unit":null,"units":["u1","u2"],"category":"E0102","level":"urgent","channel":"hotline","description":"地锁又装回来了 ground locks are back","address":"东四北大街 12号","coordinates":[116.417,39.93],"created_at":1772413200000,"filed_at":1772414400000,"dispatched_at":1772416200000,"deadline":null,"closed_at":null,"rework_count":1,"extensions":1,"satisfaction":"dissatisfied","events":19,"open_conflicts":0,"flagged_events":2,"updated_at":1800000000000,"decline_reason":null,"duplicate_of":null,"concluded_at":null,"escalations":1,"returns":1,"acknowledged_at":1772416800000,"response_due":1772418000000,"dispatched_by":{"level":"district"},"chain":[{"unit":"u1","dispatched_at":1772415000000,"returned_at":1772415600000,"return_reason":"not ours","acknowledged_at":1772415600000,"response_due":1772416800000,"lead":false},{"unit":"u2","dispatched_at":1772416200000,"returned_at":null,"return_reason":null,"acknowledged_at":1772416800000,"response_due":1772418000000,"lead":false}],"verifications":2}"#,
            "070000000180260fac9c010000007621ac9c0100000000000000000080000000000000008002020100000001000000020073310200633102006731020075320500453031303202000000020075310200753200ff000202007531c09d2aac9c01000080c533ac9c010000001546ac9c010000010200753240ed3cac9c010000001546ac9c010000806458ac9c01000000ffff02000000",
        ),
        // The same case closed and evaluated: its events before the reopening.
        (
            "v1-lifecycle",
            Some(ActionKind::Reopen),
            0,
            r#"{"id":"01a22bcfae7a738489465f1ef7925589","status":"evaluated","step":7,"street":"s1","community":"c1","grid":"g1","unit":"u2","units":["u1","u2"],"category":"E0102","level":"urgent","channel":"hotline","description":"地锁又装回来了 ground locks are back","address":"东四北大街 12号","coordinates":[116.417,39.93],"created_at":1772413200000,"filed_at":1772414400000,"dispatched_at":1772416200000,"deadline":1772673000000,"closed_at":1772421600000,"rework_count":1,"extensions":1,"satisfaction":"dissatisfied","events":17,"open_conflicts":0,"flagged_events":0,"updated_at":1800000000000,"decline_reason":null,"duplicate_of":null,"concluded_at":1772421600000,"escalations":1,"returns":1,"acknowledged_at":1772416800000,"response_due":1772418000000,"dispatched_by":{"level":"district"},"chain":[{"unit":"u1","dispatched_at":1772415000000,"returned_at":1772415600000,"return_reason":"not ours","acknowledged_at":1772415600000,"response_due":1772416800000,"lead":false},{"unit":"u2","dispatched_at":1772416200000,"returned_at":null,"return_reason":null,"acknowledged_at":1772416800000,"response_due":1772418000000,"lead":false}],"verifications":2}"#,
            "070000000180260fac9c010000007621ac9c01000040628bbb9c01000000538fac9c0100000b020100000001000000020073310200633102006731020075320500453031303202000000020075310200753200ff000202007531c09d2aac9c01000080c533ac9c010000001546ac9c010000010200753240ed3cac9c010000001546ac9c010000806458ac9c01000000ffff02000000",
        ),
        // Dispatched with a deadline, verified, with one open conflict of two.
        (
            "v1-conflicts",
            None,
            1,
            r#"{"id":"01a22bcfae87707c9ea18cea4a20ee0e","status":"verified","step":6,"street":"s1","community":"c1","grid":"g1","unit":"u1","units":["u1"],"category":"E0102","level":"general","channel":"patrol","description":"garbage piled at the corner","address":"1 Example Lane","coordinates":[116.4,39.9],"created_at":1772413200000,"filed_at":1772413800000,"dispatched_at":1772414400000,"deadline":1772432400000,"closed_at":null,"rework_count":0,"extensions":0,"satisfaction":null,"events":8,"open_conflicts":1,"flagged_events":1,"updated_at":1800000000000,"decline_reason":null,"duplicate_of":null,"concluded_at":null,"acknowledged_at":1772415000000,"response_due":1772421600000,"dispatched_by":{"level":"district"},"chain":[{"unit":"u1","dispatched_at":1772414400000,"returned_at":null,"return_reason":null,"acknowledged_at":1772415000000,"response_due":1772421600000,"lead":false}],"verifications":1}"#,
            "070000000180260fac9c010000404e18ac9c010000801e34ad9c010000000000000000008007ff00000000000000000200733102006331020067310200753105004530313032010000000200753100ff000102007531007621ac9c010000c09d2aac9c01000000538fac9c01000000ffff01000000",
        ),
        // A public (web) request not found on site: published, concluded.
        (
            "v1-not-found",
            None,
            0,
            r#"{"id":"01a22bcfae8d71c8a1d020138cca8707","status":"declined","step":2,"street":"s1","community":"c1","grid":"g1","unit":null,"units":[],"category":null,"level":null,"channel":"web","description":"garbage piled at the corner","address":"1 Example Lane","coordinates":[116.4,39.9],"created_at":1772413200000,"filed_at":null,"dispatched_at":null,"deadline":null,"closed_at":null,"rework_count":0,"extensions":0,"satisfaction":null,"events":2,"open_conflicts":0,"flagged_events":0,"updated_at":1800000000000,"decline_reason":"not_found","duplicate_of":null,"concluded_at":1772413800000,"published":[{"event":"01a22bcfae8d71c8a1d020157ad98986","status":"declined","published_at":1800000000000,"reason":"not_found"}]}"#,
            "070000000180260fac9c01000000000000000000800000000000000080000000000000008003ff0000000000000000020073310200633102006731ffffffff00000000",
        ),
        // Declined as a duplicate.
        (
            "v1-duplicate",
            None,
            0,
            r#"{"id":"01a22bcfae8e72f296fbb717bf3780ef","status":"declined","step":2,"street":"s1","community":"c1","grid":"g1","unit":null,"units":[],"category":null,"level":null,"channel":"patrol","description":"garbage piled at the corner","address":"1 Example Lane","coordinates":[116.4,39.9],"created_at":1772413200000,"filed_at":null,"dispatched_at":null,"deadline":null,"closed_at":null,"rework_count":0,"extensions":0,"satisfaction":null,"events":2,"open_conflicts":0,"flagged_events":0,"updated_at":1800000000000,"decline_reason":"duplicate","duplicate_of":"01a22bcfae8d71c8a1d02016a42d7479","concluded_at":1772413800000}"#,
            "070000000180260fac9c01000000000000000000800000000000000080000000000000008003ff0000000000000000020073310200633102006731ffffffff00000000",
        ),
    ];
    for (name, until, flagged, json, row) in cases {
        let (header, mut events) = golden(name);
        if let Some(kind) = until {
            let first = events.iter().find(|e| e.kind() == kind);
            let at = first.map(|e| e.at).expect("the golden case has one");
            events.retain(|e| e.at < at);
        }
        let (got_json, got_row) = rows(&header, &events, flagged);
        assert_eq!(
            got_json, json,
            "{name} until {until:?}: the stored summary changed"
        );
        assert_eq!(
            got_row, row,
            "{name} until {until:?}: the stored indicator row changed"
        );
    }
}

/// The indicator rows the golden cases had before the chain of units' tail (`ChainFacts`): a
/// row on disk from then still reads, as no chain, and each row above is that row with the
/// tail appended (the hotline's two bytes, saying nothing, then the chain, then the work's
/// tail, which such a row predates as well).
#[test]
fn rows_from_before_the_chain_tail_read_as_no_chain() {
    let before = [
        ("v1-lifecycle", None, "070000000180260fac9c010000007621ac9c01000000000000000000800000000000000080020201000000010000000200733102006331020067310200753205004530313032020000000200753102007532"),
        ("v1-lifecycle", Some(ActionKind::Reopen), "070000000180260fac9c010000007621ac9c01000040628bbb9c01000000538fac9c0100000b0201000000010000000200733102006331020067310200753205004530313032020000000200753102007532"),
        ("v1-conflicts", None, "070000000180260fac9c010000404e18ac9c010000801e34ad9c010000000000000000008007ff000000000000000002007331020063310200673102007531050045303130320100000002007531"),
    ];
    for (name, until, old) in before {
        let (header, mut events) = golden(name);
        if let Some(kind) = until {
            let first = events.iter().find(|e| e.kind() == kind);
            let at = first.map(|e| e.at).expect("the golden case has one");
            events.retain(|e| e.at < at);
        }
        let (_, row) = rows(&header, &events, 0);
        assert!(
            row.starts_with(old),
            "{name} until {until:?}: only appended"
        );
        assert_eq!(&row[old.len()..old.len() + 4], "00ff", "no hotline facts");
        let old = hex::decode(old).expect("hex");
        let read = CaseFacts::decode(&old[4..]).expect("an old row reads");
        let new = CaseFacts::decode(&hex::decode(&row).expect("hex")[4..]).expect("reads");
        assert!(!new.chain.links.is_empty(), "{name}: dispatched");
        assert_eq!(
            read,
            CaseFacts {
                chain: Default::default(),
                work: Default::default(),
                ..new
            },
            "{name} until {until:?}"
        );
    }
}

/// A summary an older release wrote, before the fields that have defaults: it reads with
/// those defaults, and its indicator row is the same as ever.
#[test]
fn an_old_summary_reads_with_its_defaults() {
    let old = r#"{"id":"01a22bcfae87707c9ea18cea4a20ee0e","status":"verified","step":6,"street":"s1","community":"c1","grid":"g1","unit":"u1","units":["u1"],"category":"E0102","level":"general","channel":"patrol","description":"garbage piled at the corner","created_at":1772413200000,"filed_at":1772413800000,"dispatched_at":1772414400000,"deadline":1772432400000,"closed_at":null,"rework_count":0,"extensions":0,"satisfaction":null,"events":8,"open_conflicts":1,"flagged_events":1,"updated_at":1800000000000}"#;
    let summary: CaseSummary = serde_json::from_str(old).expect("an old row reads");
    assert_eq!(summary.number, None, "numbered at start-up, not by reading");
    assert_eq!(
        serde_json::to_string(&summary).expect("JSON"),
        r#"{"id":"01a22bcfae87707c9ea18cea4a20ee0e","status":"verified","step":6,"street":"s1","community":"c1","grid":"g1","unit":"u1","units":["u1"],"category":"E0102","level":"general","channel":"patrol","description":"garbage piled at the corner","address":null,"coordinates":null,"created_at":1772413200000,"filed_at":1772413800000,"dispatched_at":1772414400000,"deadline":1772432400000,"closed_at":null,"rework_count":0,"extensions":0,"satisfaction":null,"events":8,"open_conflicts":1,"flagged_events":1,"updated_at":1800000000000,"decline_reason":null,"duplicate_of":null,"concluded_at":null}"#,
        "read with the defaults"
    );
    assert_eq!(
        hex::encode(stored(7, &CaseFacts::of(&summary))),
        "070000000180260fac9c010000404e18ac9c010000801e34ad9c010000000000000000008007ff000000000000000002007331020063310200673102007531050045303130320100000002007531"
    );
}

/// A summary with its case number (which the commit thread gives, `ledger/numbers.rs`): the
/// field is last and written only when there is one, so every row above, written before
/// numbers, stays byte for byte what it was.
#[test]
fn a_numbered_summary_is_pinned() {
    let (header, events) = golden("v1-duplicate");
    let state = fold(&events, &WorkCalendar::beijing());
    let mut summary = CaseSummary::of(&CaseOutline::of(&header, &state), 0, NOW);
    summary.number = Some("DC-20260302-0007".into());
    let json = serde_json::to_string(&summary).expect("JSON");
    assert_eq!(
        json,
        r#"{"id":"01a22bcfae8e72f296fbb717bf3780ef","status":"declined","step":2,"street":"s1","community":"c1","grid":"g1","unit":null,"units":[],"category":null,"level":null,"channel":"patrol","description":"garbage piled at the corner","address":"1 Example Lane","coordinates":[116.4,39.9],"created_at":1772413200000,"filed_at":null,"dispatched_at":null,"deadline":null,"closed_at":null,"rework_count":0,"extensions":0,"satisfaction":null,"events":2,"open_conflicts":0,"flagged_events":0,"updated_at":1800000000000,"decline_reason":"duplicate","duplicate_of":"01a22bcfae8d71c8a1d02016a42d7479","concluded_at":1772413800000,"number":"DC-20260302-0007"}"#
    );
    let read: CaseSummary = serde_json::from_str(&json).expect("reads back");
    assert_eq!(read, summary);
    assert_eq!(
        hex::encode(stored(7, &CaseFacts::of(&summary))),
        "070000000180260fac9c01000000000000000000800000000000000080000000000000008003ff0000000000000000020073310200633102006731ffffffff00000000",
        "the number is no fact of the indicators"
    );
}

/// The indicator rows the golden cases had before the work's tail (`WorkFacts`: the
/// responsible person and the verifications): a row on disk from then still reads, as nobody
/// responsible and no verification, and each row above is that row with the tail appended.
#[test]
fn rows_from_before_the_work_tail_read_as_none() {
    let before = [
        ("v1-lifecycle", None, "070000000180260fac9c010000007621ac9c0100000000000000000080000000000000008002020100000001000000020073310200633102006731020075320500453031303202000000020075310200753200ff000202007531c09d2aac9c01000080c533ac9c010000001546ac9c010000010200753240ed3cac9c010000001546ac9c010000806458ac9c01000000", 2),
        ("v1-lifecycle", Some(ActionKind::Reopen), "070000000180260fac9c010000007621ac9c01000040628bbb9c01000000538fac9c0100000b020100000001000000020073310200633102006731020075320500453031303202000000020075310200753200ff000202007531c09d2aac9c01000080c533ac9c010000001546ac9c010000010200753240ed3cac9c010000001546ac9c010000806458ac9c01000000", 2),
        ("v1-conflicts", None, "070000000180260fac9c010000404e18ac9c010000801e34ad9c010000000000000000008007ff00000000000000000200733102006331020067310200753105004530313032010000000200753100ff000102007531007621ac9c010000c09d2aac9c01000000538fac9c01000000", 1),
    ];
    for (name, until, old, verifications) in before {
        let (header, mut events) = golden(name);
        if let Some(kind) = until {
            let first = events.iter().find(|e| e.kind() == kind);
            let at = first.map(|e| e.at).expect("the golden case has one");
            events.retain(|e| e.at < at);
        }
        let (_, row) = rows(&header, &events, 0);
        assert!(
            row.starts_with(old),
            "{name} until {until:?}: only appended"
        );
        // Nobody responsible (ffff), then the verifications as a little-endian u32.
        assert_eq!(
            &row[old.len()..],
            format!("ffff{:02x}000000", verifications),
            "{name} until {until:?}"
        );
        let old = hex::decode(old).expect("hex");
        let read = CaseFacts::decode(&old[4..]).expect("an old row reads");
        let new = CaseFacts::decode(&hex::decode(&row).expect("hex")[4..]).expect("reads");
        assert_eq!(new.work.verifications, verifications);
        assert_eq!(
            read,
            CaseFacts {
                work: Default::default(),
                ..new
            },
            "{name} until {until:?}"
        );
    }
}

/// A summary whose current dispatch names a responsible person: the field comes after the
/// chain, before the verifications, written only when there is one; the indicator row carries
/// it in the work's tail.
#[test]
fn a_responsible_person_is_pinned() {
    let (header, events) = golden("v1-conflicts");
    let state = fold(&events, &WorkCalendar::beijing());
    let mut summary = CaseSummary::of(&CaseOutline::of(&header, &state), 1, NOW);
    summary.responsible = Some("王五".into());
    let json = serde_json::to_string(&summary).expect("JSON");
    assert!(
        json.ends_with(r#""lead":false}],"responsible":"王五","verifications":1}"#),
        "{json}"
    );
    let read: CaseSummary = serde_json::from_str(&json).expect("reads back");
    assert_eq!(read, summary);
    let row = hex::encode(stored(7, &CaseFacts::of(&summary)));
    assert_eq!(
        row,
        "070000000180260fac9c010000404e18ac9c010000801e34ad9c010000000000000000008007ff00000000000000000200733102006331020067310200753105004530313032010000000200753100ff000102007531007621ac9c010000c09d2aac9c01000000538fac9c010000000600e78e8be4ba9401000000"
    );
}
