//! Admins changing the organization at once each keep their change: `PUT /v1/admin/org/{id}`
//! is a guarded read-change-write (it lost nodes when four writers added grids at once).

use gridcase_tests::{Http, Server};
use serde_json::json;

#[test]
fn concurrent_organization_edits_all_land() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let admin = server.http().login("admin");
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (addr, admin) = (server.addr, admin.clone());
            std::thread::spawn(move || {
                let http = Http::new(addr);
                for i in 0..10 {
                    let r = http.json(
                        "PUT",
                        &format!("/v1/admin/org/cg{w}x{i}"),
                        Some(&admin),
                        Some(json!({"kind": "grid", "name": format!("并发网格 {w}-{i}"), "community": "c1"})),
                    );
                    assert_eq!(r.status, 200, "{}", r.text());
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    let org = server.http().get("/v1/org", Some(&admin)).json();
    let grids = org["grids"].as_object().expect("grids");
    for w in 0..4 {
        for i in 0..10 {
            assert!(
                grids.contains_key(&format!("cg{w}x{i}")),
                "cg{w}x{i} was lost"
            );
        }
    }
}
