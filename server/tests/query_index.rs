//! The query index's version 4 replaces the legacy form (versions 1–3) of a ledger an earlier
//! release wrote: the legacy keys are read until version 4 is built in the background, writes
//! meanwhile go to both forms, and afterwards the legacy keys are gone and nothing is missed.

use gridcase_server::ledger::Ledger;
use gridcase_server::metrics::Metrics;
use gridcase_server::query_index::{self, Term};
use gridcase_sync_core::commands::open_case;
use gridcase_sync_core::store::{Batch, SledStore, Store};
use gridcase_sync_core::{Actor, ActorId, CaseId, Role, Scope};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const META: &str = "ledger_meta";

fn open(store: &Arc<dyn Store>) -> Ledger {
    Ledger::open(store.clone(), 16, Arc::new(Metrics::default()), "DC").expect("ledger")
}

/// Writes a new case through the ledger's one write path.
fn write_case(ledger: &Ledger, n: u8, now: i64) -> CaseId {
    let operator = Actor {
        user: "operator".into(),
        device: "online:operator".into(),
        role: Role::DistrictCenter,
        scope: Scope::District,
    };
    let intake = serde_json::from_value(json!({
        "channel": "hotline",
        "description": "路灯不亮",
        "territory": {"street": "s1", "community": "c1", "grid": "g1"},
    }))
    .expect("an intake");
    let (mut doc, _) =
        open_case(&operator, ActorId::from([n; 16].as_slice()), intake, now).expect("opened");
    let mut write = ledger.write(now);
    write.save(&mut doc, &[], &[]).expect("staged");
    write.commit().expect("committed");
    doc.header().expect("header").case
}

fn found(ledger: &Ledger, term: &Term) -> Vec<CaseId> {
    ledger
        .index_scan(term, None)
        .map(|e| e.expect("read").1)
        .collect()
}

fn keys(store: &dyn Store, tree: &'static str) -> usize {
    store.range(tree, &[], None).count()
}

#[test]
fn a_ledger_indexed_by_an_earlier_release_moves_to_version_4_without_missing_a_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("store"));
    let now = 1_796_000_000_000;

    // An earlier release's ledger: case A indexed in the legacy form only, marked version 3.
    let a = {
        let ledger = open(&store);
        let a = write_case(&ledger, 1, now);
        let mut batch = Batch::new();
        for entry in store.range(query_index::TREE, &[], None) {
            batch.delete(query_index::TREE, entry.expect("read").0);
        }
        batch.put(META, b"query_index_v2".to_vec(), b"1".to_vec());
        batch.put(META, b"query_index_v3".to_vec(), b"1".to_vec());
        store.commit(batch).expect("written");
        a
    };
    let legacy_per_case = keys(&*store, query_index::LEGACY_TREE);
    assert!(legacy_per_case > 5, "A's terms in the legacy form");
    assert_eq!(keys(&*store, query_index::TREE), 0);

    // This release reads it as it is, and writes B in both forms while version 4 is missing.
    let ledger = open(&store);
    let text = Term::Text("路灯".into());
    assert_eq!(found(&ledger, &text), vec![a.clone()]);
    let b = write_case(&ledger, 2, now + 1_000);
    assert_eq!(found(&ledger, &text), vec![b.clone(), a.clone()]);
    assert_eq!(keys(&*store, query_index::LEGACY_TREE), 2 * legacy_per_case);
    assert_eq!(keys(&*store, query_index::TREE), legacy_per_case);

    ledger.ensure_query_index().expect("started");
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.get(META, b"query_index_v4").expect("read").is_none()
        || keys(&*store, query_index::LEGACY_TREE) > 0
    {
        assert!(Instant::now() < deadline, "not migrated in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(keys(&*store, query_index::LEGACY_TREE), 0);
    assert_eq!(found(&ledger, &text), vec![b.clone(), a.clone()]);
    assert_eq!(found(&ledger, &Term::All), vec![b.clone(), a.clone()]);
    assert_eq!(keys(&*store, query_index::TREE), 2 * legacy_per_case);

    // From now on, version 4 only.
    let c = write_case(&ledger, 3, now + 2_000);
    assert_eq!(found(&ledger, &text), vec![c, b, a]);
    assert_eq!(keys(&*store, query_index::LEGACY_TREE), 0);
    assert_eq!(keys(&*store, query_index::TREE), 3 * legacy_per_case);
}
