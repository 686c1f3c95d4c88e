//! What reading the organization costs the server per sync request (issue 17): the demo
//! organization plus one bench grid per two workers, as `gridcase-bench --workers W` makes it,
//! parsed from its stored JSON (`Directory::org`) and written again for its fingerprint
//! (`Directory::org_tag`: JSON, then SHA-256, not counted here), as `routes/sync.rs::exchange`
//! does for every sync request.
//!
//! cargo run --release -p gridcase-bench --example org_cost

use gridcase_sync_core::org::{Grid, Org};
use std::time::Instant;

fn main() {
    for workers in [200, 500, 2000] {
        let mut org: Org = gridcase_server::demo::org();
        for g in 0..workers / 2 {
            org.grids.insert(
                format!("bg{g}").as_str().into(),
                Grid {
                    name: format!("bench grid {g}"),
                    community: "c1".into(),
                    polygon: Vec::new(),
                },
            );
        }
        let stored = serde_json::to_vec(&org).expect("json");
        let rounds = 2000;
        let t = Instant::now();
        for _ in 0..rounds {
            let parsed: Org = serde_json::from_slice(&stored).expect("parse");
            std::hint::black_box(&parsed);
        }
        let parse = t.elapsed().as_secs_f64() / rounds as f64;
        let t = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(serde_json::to_vec(&org).expect("json"));
        }
        let write = t.elapsed().as_secs_f64() / rounds as f64;
        println!(
            "{workers} workers: {} grids, {} bytes stored; parse {:.0} µs, write again {:.0} µs",
            org.grids.len(),
            stored.len(),
            parse * 1e6,
            write * 1e6
        );
    }
}
