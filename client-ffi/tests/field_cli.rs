//! The `gridcase-field` command against the real server: log in, work offline, sync, and keep
//! working with the server gone.

use gridcase_tests::{Server, PASSWORD};
use serde_json::Value;
use std::process::Command;

struct Field {
    dir: std::path::PathBuf,
    server: String,
}

impl Field {
    fn run(&self, args: &[&str]) -> (bool, Value, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_gridcase-field"))
            .arg("--data-dir")
            .arg(&self.dir)
            .args(["--server", &self.server, "--json"])
            .args(args)
            .env("GRIDCASE_PASSWORD", PASSWORD)
            .output()
            .expect("run gridcase-field");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            out.status.success(),
            serde_json::from_str(&stdout).unwrap_or(Value::Null),
            stdout,
        )
    }

    fn human(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_gridcase-field"))
            .arg("--data-dir")
            .arg(&self.dir)
            .args(["--server", &self.server])
            .args(args)
            .output()
            .expect("run gridcase-field");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[test]
fn the_field_cli_works_offline_and_syncs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let field = Field {
        dir: tmp.path().join("field"),
        server: format!("http://{}", server.addr),
    };

    let (ok, who, _) = field.run(&["login", "worker1"]);
    assert!(ok, "{who}");
    assert_eq!(who["role"], "grid_worker");
    let (ok, created, _) = field.run(&[
        "new",
        "--description",
        "illegal flyers on the wall",
        "--category",
        "E0201",
    ]);
    assert!(ok, "{created}");
    let case = created["case"].as_str().expect("case id").to_owned();
    let (_, status, _) = field.run(&["status"]);
    assert_eq!(status["pending"]["cases"][0], case.as_str());
    let (ok, report, _) = field.run(&["sync"]);
    assert!(ok, "{report}");
    assert_eq!(report["cases_sent"], 1);
    // The number the server gave, learned with the sync, in the list and on the case.
    let (_, list, _) = field.run(&["list"]);
    let number = list[0]["number"].as_str().expect("a number").to_owned();
    assert!(number.starts_with("DC-"), "{number}");
    assert!(field.human(&["list"]).contains(&number));
    assert!(field
        .human(&["show", &case])
        .contains(&format!("number {number}")));

    // The server goes away: everything but sync still works.
    drop(server);
    let (ok, _, _) = field.run(&["comment", &case, "removed half of them"]);
    assert!(ok);
    let (ok, _, _) = field.run(&["self-handle-is-not-a-command"]);
    assert!(!ok);
    let (ok, list, _) = field.run(&["list", "--pending"]);
    assert!(ok);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (ok, shown, _) = field.run(&["show", &case]);
    assert!(ok);
    assert_eq!(shown["timeline"].as_array().map(Vec::len), Some(2));
    let (ok, failed, _) = field.run(&["sync"]);
    assert!(!ok);
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("unreachable")),
        "{failed}"
    );
    let (ok, refused, _) = field.run(&["close", &case]);
    assert!(!ok, "closing before verification is refused locally");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("wrong_status")),
        "{refused}"
    );

    let text = field.human(&["show", &case]);
    assert!(
        text.contains("timeline:") && text.contains("comment"),
        "{text}"
    );
}
