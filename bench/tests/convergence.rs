//! Handhelds converge with the server while online writers comment beside them: after the
//! load, every handheld syncs until idle and holds exactly the server's events of every case
//! in its scope (issue 10). A few seconds here; the benchmark runs it longer
//! (`gridcase-bench --no-field --convergence-secs 90`).

#[test]
fn handhelds_converge_while_online_writers_comment() {
    let secs = std::env::var("GRIDCASE_CONVERGENCE_SECS").unwrap_or_else(|_| "8".into());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridcase-bench"))
        .args(["--no-field", "--convergence-secs", &secs])
        .output()
        .expect("run gridcase-bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON line on stdout");
    let c = &figures["convergence"];
    assert!(c["online_comments"].as_u64().unwrap_or(0) > 0, "{c}");
    assert!(c["syncs"].as_u64().unwrap_or(0) > 0, "{c}");
    assert_eq!(c["gaps"], 0, "handhelds that differ from the server: {c}");
}
