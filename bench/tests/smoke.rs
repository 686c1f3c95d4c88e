//! The benchmark tool works end to end on a tiny run (CI runs only this, not the benchmark).

/// The public 311 samples: `GRIDCASE_DATA`, or `shared/data` beside the checkout.
fn data_dir() -> Option<std::path::PathBuf> {
    let beside = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    std::env::var_os("GRIDCASE_DATA")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain([beside])
        .find(|d| d.join("nyc311_tuplex_micro_2000.csv").exists())
}

#[test]
fn a_tiny_run_prints_every_figure() {
    let data = data_dir();
    let mut args = vec![
        "--workers",
        "2",
        "--cases",
        "3",
        "--events",
        "4",
        "--shared-pct",
        "34",
        "--photo-pct",
        "50",
        "--ledger-cases",
        "60",
    ];
    if data.is_some() {
        args.push("--replay");
    } else {
        eprintln!("the public 311 samples are not beside this checkout: replay not run");
    }
    let mut bench = std::process::Command::new(env!("CARGO_BIN_EXE_gridcase-bench"));
    bench.args(&args);
    // Without the samples, no GRIDCASE_DATA at all: an empty one is a missing value to clap.
    match data {
        Some(d) => bench.env("GRIDCASE_DATA", d),
        None => bench.env_remove("GRIDCASE_DATA"),
    };
    let out = bench.output().expect("run gridcase-bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let figures: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    for key in [
        "reconnect_s",
        "steady_s",
        "bytes_up",
        "bytes_down",
        "requests",
        "server_cpu_s",
        "server_peak_rss_bytes",
        "ledger_disk_bytes",
        "cold_start_s",
        "list_p50_ms",
        "list_p95_ms",
        "stats_ms",
        "one_worker_reconnect_s",
    ] {
        assert!(figures[key].is_number(), "{key} missing in {figures}");
    }
    assert_eq!(
        figures["cases"], 5,
        "2 workers: 2 own cases each and 1 shared case"
    );
    assert_eq!(figures["refusals"], 0);
    assert_eq!(figures["ledger_cases"], 60);
    assert!(figures["requests"].as_u64().is_some_and(|n| n >= 2));
    if args.contains(&"--replay") {
        // The three samples: NYC micro 2,000, NYC 2013 199, Boston 100, every row written.
        assert_eq!(figures["replay_rows"], 2299, "{figures}");
        assert_eq!(figures["replay_cases"], 2299, "{figures}");
        let quality = &figures["replay_quality"];
        assert_eq!(
            quality["nyc311_tuplex_micro_2000.csv"]["placeholder_dates"], 1,
            "{figures}"
        );
        assert!(
            figures["replay_closing_rate"]
                .as_f64()
                .is_some_and(|r| r > 0.5),
            "{figures}"
        );
    }
}
