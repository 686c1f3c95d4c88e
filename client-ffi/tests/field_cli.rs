//! The `gridcase-field` command against the real server: log in, work offline, sync, and keep
//! working with the server gone.

use gridcase_tests::{Server, PASSWORD};
use serde_json::Value;
use std::process::{Command, Output, Stdio};

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

    /// The command's whole outcome: exit status, stdout and stderr.
    fn output(&self, json: bool, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gridcase-field"));
        command
            .arg("--data-dir")
            .arg(&self.dir)
            .args(["--server", &self.server]);
        if json {
            command.arg("--json");
        }
        command.args(args).output().expect("run gridcase-field")
    }

    /// Runs the command with its stdout closed before it writes, as `| head -1` closes it
    /// after the first line: (success, stderr).
    fn to_closed_pipe(&self, json: bool, args: &[&str]) -> (bool, String) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gridcase-field"));
        command
            .arg("--data-dir")
            .arg(&self.dir)
            .args(["--server", &self.server]);
        if json {
            command.arg("--json");
        }
        let mut child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run gridcase-field");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait for gridcase-field");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// District time (UTC+8) of an instant, written independently of the CLI.
fn district_minute(ms: i64) -> String {
    let local = ms + 8 * 3_600_000;
    let (y, m, d) = gridcase_sync_core::calendar::civil_from_days(local.div_euclid(86_400_000));
    let minute = local.rem_euclid(86_400_000) / 60_000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", minute / 60, minute % 60)
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

/// A community workstation takes a walk-in resident's report with the caller's details and the
/// business type; the caller stays on the workstation, masked when shown, out of the case, until
/// the case has synced and the caller is uploaded. A grid worker's on-site check of a public
/// report (confirm) and a center's decline, from the command line.
#[test]
fn the_field_cli_takes_a_walk_in_caller_and_confirms_and_declines() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let desk = Field {
        dir: tmp.path().join("workstation"),
        server: format!("http://{}", server.addr),
    };
    let (ok, who, _) = desk.run(&["login", "community1"]);
    assert!(ok, "{who}");
    assert_eq!(who["role"], "community_workstation");

    let new = |extra: &[&str]| {
        let mut args = vec!["new", "--description", "street lamp out", "--grid", "g1"];
        args.extend_from_slice(extra);
        desk.run(&args)
    };
    let (ok, refused, _) = new(&["--caller-name", "王小明", "--caller-phone", "8765 4321"]);
    assert!(!ok, "a landline without its area code is refused");
    let said = refused["error"].as_str().unwrap_or_default();
    assert!(
        said.contains("area code") && !said.contains("8765"),
        "{refused}"
    );
    let (ok, _, _) = new(&["--anonymous", "--caller-name", "王小明"]);
    assert!(!ok, "anonymous and a name do not go together");
    let (ok, _, _) = new(&["--caller-name", "王", "--business-type", "gossip"]);
    assert!(!ok, "an unknown business type is refused");
    let (_, status, _) = desk.run(&["status"]);
    assert_eq!(
        status["pending"]["cases"],
        serde_json::json!([]),
        "nothing written"
    );

    let (ok, created, _) = new(&[
        "--caller-name",
        "王小明",
        "--caller-phone",
        "+86 138-1234-8000",
        "--caller-address",
        "韶九胡同 3 号",
        "--callback",
        "--business-type",
        "complaint",
    ]);
    assert!(ok, "{created}");
    let case = created["case"].as_str().expect("case id").to_owned();
    assert_eq!(created["caller"]["name"], "王*");
    assert_eq!(created["caller"]["phone"], "138****8000");
    let (_, shown, _) = desk.run(&["show", &case]);
    assert_eq!(shown["case"]["business_type"], "complaint");
    assert_eq!(
        shown["timeline"][0]["kind"], "intake",
        "walk_in by default with a caller: {shown}"
    );
    let payload = &shown["timeline"][0]["payload"];
    assert_eq!(
        payload["channel"], "walk_in",
        "the payload as an object: {shown}"
    );
    let intake = payload.to_string();
    for personal in ["王小明", "13812348000", "韶九胡同"] {
        assert!(!intake.contains(personal), "{intake}");
        assert!(!shown.to_string().contains(personal), "{shown}");
    }
    let text = desk.human(&["show", &case]);
    assert!(text.contains("business type complaint"), "{text}");
    assert!(
        text.contains("caller 王* 138****8000, wants a callback"),
        "{text}"
    );
    let (_, status, _) = desk.run(&["status"]);
    assert_eq!(status["pending"]["callers"][0], case.as_str());

    // A hotline report waits for confirmation on site; another is declined.
    let (_, public, _) = desk.run(&[
        "new",
        "--description",
        "bins overflowing",
        "--grid",
        "g1",
        "--channel",
        "hotline",
    ]);
    assert_eq!(public["status"], "awaiting_confirmation", "{public}");
    let public = public["case"].as_str().expect("case id").to_owned();
    let (ok, _, _) = desk.run(&["confirm", &public, "--exists", "maybe"]);
    assert!(!ok, "--exists is true or false");
    let (ok, confirmed, _) = desk.run(&["confirm", &public, "--exists", "true", "--note", "seen"]);
    assert!(ok, "{confirmed}");
    let (_, shown, _) = desk.run(&["show", &public]);
    assert_eq!(shown["case"]["status"], "reported");
    let (_, twice, _) = desk.run(&[
        "new",
        "--description",
        "bins overflowing again",
        "--grid",
        "g1",
        "--channel",
        "hotline",
    ]);
    let twice = twice["case"].as_str().expect("case id").to_owned();
    let (ok, declined, _) = desk.run(&[
        "decline",
        &twice,
        "--reason",
        "duplicate",
        "--note",
        "same as the other",
    ]);
    assert!(ok, "{declined}");
    let (_, shown, _) = desk.run(&["show", &twice]);
    assert_eq!(shown["case"]["status"], "declined");
    let (ok, _, _) = desk.run(&["decline", &public, "--reason", "bored"]);
    assert!(!ok, "an unknown reason is refused");

    // The sync takes the cases up, then the caller, which leaves the workstation.
    let (ok, report, _) = desk.run(&["sync"]);
    assert!(ok, "{report}");
    assert_eq!(report["cases_sent"], 3, "{report}");
    assert_eq!(report["callers_uploaded"], 1, "{report}");
    let (_, status, _) = desk.run(&["status"]);
    assert_eq!(status["pending"]["callers"], serde_json::json!([]));
    let (_, shown, _) = desk.run(&["show", &case]);
    assert_eq!(shown["caller"], serde_json::Value::Null);
    assert!(!desk.human(&["show", &case]).contains("caller "));
}

/// Without a session, commands that need one say so on stderr and exit with 2; nothing is
/// written to stdout but the `--json` error.
#[test]
fn the_field_cli_asks_for_a_login_first() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let field = Field {
        dir: tmp.path().join("field"),
        server: "http://127.0.0.1:9".into(),
    };
    let commands: [&[&str]; 8] = [
        &["list"],
        &["show", "0190f2b3c4d5e6f708192a3b4c5d6e7f"],
        &["comment", "0190f2b3c4d5e6f708192a3b4c5d6e7f", "hello"],
        &["new", "--description", "a hole in the road"],
        &[
            "escalate",
            "0190f2b3c4d5e6f708192a3b4c5d6e7f",
            "--reason",
            "late",
        ],
        &["acknowledge", "0190f2b3c4d5e6f708192a3b4c5d6e7f"],
        &[
            "request-extension",
            "0190f2b3c4d5e6f708192a3b4c5d6e7f",
            "--hours",
            "2",
            "--reason",
            "rain",
        ],
        &["sync"],
    ];
    for args in commands {
        let out = field.output(false, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("not logged in"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("gridcase-field login"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = field.output(true, &["list"]);
    assert_eq!(out.status.code(), Some(2));
    let said: Value = serde_json::from_slice(&out.stdout).expect("a JSON error");
    assert_eq!(said["code"], "not_logged_in", "{said}");
    // What waits to be synced can be asked without a session.
    let out = field.output(false, &["status"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not logged in"));
}

/// Output into a closed pipe ends quietly; times for people are district time; `--json` keeps
/// machine values and gives payloads and scopes as objects; `new` tells the status folded; the
/// return, extend, self-handle and escalate actions, with the rule's code when refused.
#[test]
fn the_field_cli_catches_up_with_the_handheld() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let field = Field {
        dir: tmp.path().join("field"),
        server: format!("http://{}", server.addr),
    };
    let (ok, who, _) = field.run(&["login", "worker1"]);
    assert!(ok, "{who}");
    assert!(who["scope"].is_object(), "the scope as an object: {who}");
    let (_, status, _) = field.run(&["status"]);
    assert!(status["user"]["scope"].is_object(), "{status}");

    let (ok, created, _) = field.run(&["new", "--description", "a broken bench"]);
    assert!(ok, "{created}");
    assert_eq!(created["status"], "reported", "a patrol report: {created}");
    let case = created["case"].as_str().expect("case id").to_owned();
    let human = field.human(&["new", "--description", "graffiti on the bridge"]);
    assert!(human.contains(", reported (not yet synced)"), "{human}");

    // `| head -1`: the reader goes away; no panic, no complaint, success.
    for json in [false, true] {
        for args in [&["list"][..], &["show", &case][..], &["status"][..]] {
            let (ok, stderr) = field.to_closed_pipe(json, args);
            assert!(ok, "{args:?} --json {json}: {stderr}");
            assert!(
                !stderr.contains("panicked") && !stderr.to_lowercase().contains("broken pipe"),
                "{args:?} --json {json}: {stderr}"
            );
        }
    }

    // Machine values in JSON, district time for people.
    let (_, shown, _) = field.run(&["show", &case]);
    let created_at = shown["case"]["created_at"]
        .as_i64()
        .expect("ms since the epoch");
    let intake = &shown["timeline"][0];
    assert_eq!(intake["payload"]["channel"], "patrol", "{shown}");
    assert_eq!(
        intake["payload"]["description"], "a broken bench",
        "{shown}"
    );
    let at = intake["at"].as_i64().expect("ms since the epoch");
    let text = field.human(&["show", &case]);
    assert!(
        text.contains(&format!("reported {}", district_minute(created_at))),
        "{text}"
    );
    assert!(
        text.contains(&format!("  {}  intake", district_minute(at))),
        "{text}"
    );
    assert!(
        !text.contains(&at.to_string()),
        "no epoch milliseconds: {text}"
    );
    let list = field.human(&["list"]);
    assert!(list.contains(&district_minute(created_at)), "{list}");
    assert!(!list.contains(&created_at.to_string()), "{list}");

    // A grid worker escalates and handles on the spot; returning and extending are not theirs.
    let (ok, escalated, _) = field.run(&["escalate", &case, "--reason", "a danger to children"]);
    assert!(ok, "{escalated}");
    for args in [
        &["return", &case, "--reason", "not ours"][..],
        &[
            "extend",
            &case,
            "--hours",
            "8",
            "--reason",
            "waiting for parts",
        ][..],
    ] {
        let (ok, refused, _) = field.run(args);
        assert!(!ok, "{args:?}: {refused}");
        let code = refused["code"].as_str().expect("the rule's code");
        assert!(!code.is_empty(), "{refused}");
        let out = field.output(false, args);
        assert_eq!(out.status.code(), Some(4), "{args:?}: refused");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("not allowed ({code})")),
            "{stderr}"
        );
    }
    let (ok, handled, _) = field.run(&["self-handle", &case, "--note", "tightened the bolts"]);
    assert!(ok, "{handled}");
    let (_, shown, _) = field.run(&["show", &case]);
    let kinds: Vec<_> = shown["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|t| t["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kinds, ["intake", "escalate", "self_handle"], "{shown}");
    assert_eq!(
        shown["timeline"][2]["payload"]["note"], "tightened the bolts",
        "{shown}"
    );
    assert_ne!(shown["case"]["status"], "reported", "{shown}");
    let (ok, refused, _) = field.run(&["self-handle", &case, "--note", "again"]);
    assert!(!ok, "handled once: {refused}");
    assert_eq!(refused["code"], "wrong_status", "{refused}");
}

/// A unit handler works from the command line: acknowledges a case dispatched to its unit
/// (签收) and asks for more time (延期申请) offline, then syncs; the server shows both. A case
/// since dispatched to another unit is refused with the rule's code and exit 4 (refused), and so is a
/// request over what the case's category allows; nothing refused is written.
#[test]
fn the_field_cli_acknowledges_and_asks_for_more_time() {
    use gridcase_tests::scenario::post_action;
    use serde_json::json;
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let address = format!("http://{}", server.addr);
    let worker = Field {
        dir: tmp.path().join("worker"),
        server: address.clone(),
    };
    let (ok, who, _) = worker.run(&["login", "worker1"]);
    assert!(ok, "{who}");
    let mut cases = Vec::new();
    for description in ["garbage piled at the corner", "bins overflowing"] {
        let (ok, created, _) = worker.run(&["new", "--description", description]);
        assert!(ok, "{created}");
        cases.push(created["case"].as_str().expect("case id").to_owned());
    }
    let (ok, report, _) = worker.run(&["sync"]);
    assert!(ok, "{report}");
    let (ours, theirs) = (&cases[0], &cases[1]);
    let http = server.http();
    let operator = http.login("operator");
    for case in [ours, theirs] {
        let file = json!({"kind": "file", "payload": {"category": "E0102", "level": "general", "units": ["u1"]}});
        post_action(&http, &operator, case, file);
        post_action(
            &http,
            &operator,
            case,
            json!({"kind": "dispatch", "payload": {"unit": "u1"}}),
        );
    }
    post_action(
        &http,
        &operator,
        theirs,
        json!({"kind": "dispatch", "payload": {"unit": "u2"}}),
    );

    let unit = Field {
        dir: tmp.path().join("unit"),
        server: address,
    };
    let (ok, who, _) = unit.run(&["login", "unit1"]);
    assert!(ok, "{who}");
    assert_eq!(who["role"], "unit_handler");
    let (ok, report, _) = unit.run(&["sync"]);
    assert!(ok, "{report}");

    // Offline: the server goes away.
    let ledger = server.data_dir.clone();
    server.kill();
    let (ok, acknowledged, _) = unit.run(&["acknowledge", ours, "--note", "on our way"]);
    assert!(ok, "{acknowledged}");
    assert!(acknowledged["event"].is_string(), "{acknowledged}");
    let human = unit.human(&[
        "request-extension",
        ours,
        "--hours",
        "3",
        "--reason",
        "waiting for a skip lorry",
    ]);
    assert!(human.starts_with("ok (event "), "{human}");
    for (args, code) in [
        (&["acknowledge", theirs.as_str()][..], "not_assigned"),
        (
            &[
                "request-extension",
                theirs,
                "--hours",
                "1",
                "--reason",
                "not ours",
            ][..],
            "not_assigned",
        ),
        (
            &[
                "request-extension",
                ours,
                "--hours",
                "1",
                "--reason",
                "one more",
            ][..],
            "invalid_payload",
        ),
    ] {
        let (ok, refused, _) = unit.run(args);
        assert!(!ok, "{args:?}: {refused}");
        assert_eq!(refused["code"], code, "{args:?}: {refused}");
        let out = unit.output(false, args);
        assert_eq!(out.status.code(), Some(4), "{args:?}: refused");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("not allowed ({code})")),
            "{stderr}"
        );
    }
    let (ok, _, _) = unit.run(&["request-extension", ours, "--reason", "no hours"]);
    assert!(!ok, "--hours is required");
    let (_, shown, _) = unit.run(&["show", theirs]);
    let kinds: Vec<_> = shown["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|t| t["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        !kinds
            .iter()
            .any(|k| k == "acknowledge" || k == "extension_request"),
        "nothing refused is written: {shown}"
    );
    let (_, shown, _) = unit.run(&["show", ours]);
    let timeline = shown["timeline"].as_array().expect("a timeline");
    let tail: Vec<_> = timeline[timeline.len() - 2..]
        .iter()
        .map(|t| t["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(tail, ["acknowledge", "extension_request"], "{shown}");
    assert_eq!(
        timeline[timeline.len() - 2]["payload"]["note"],
        "on our way"
    );
    assert_eq!(timeline[timeline.len() - 1]["payload"]["hours"], 3);
    let (_, status, _) = unit.run(&["status"]);
    assert_eq!(status["pending"]["cases"], json!([ours]), "{status}");

    // Back online: both reach the server.
    let server = Server::start_in(&ledger, &[]);
    let unit = Field {
        dir: unit.dir,
        server: format!("http://{}", server.addr),
    };
    let (ok, report, _) = unit.run(&["sync"]);
    assert!(ok, "{report}");
    assert_eq!(report["cases_sent"], 1, "{report}");
    assert_eq!(report["refusals"], json!([]), "{report}");
    let http = server.http();
    let view = http
        .get(&format!("/v1/cases/{ours}"), Some(&http.login("operator")))
        .json();
    assert!(view["state"]["acknowledged_at"].is_i64(), "{view}");
    assert_eq!(view["state"]["pending_extension"]["hours"], 3, "{view}");
    assert_eq!(view["state"]["pending_extension"]["by"], "unit1", "{view}");
}

/// A workstation that wants cases now and photos later: `sync --no-photos` brings another
/// worker's case but leaves its photo waiting (`status`, the report, the case without a local
/// file, a hint for people), and `photos` fetches it whole, byte for byte; a second `photos`
/// has nothing left to do.
#[test]
fn sync_without_photos_leaves_them_for_the_photos_command() {
    use sha2::{Digest, Sha256};
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let url = format!("http://{}", server.addr);
    let worker = Field {
        dir: tmp.path().join("worker1"),
        server: url.clone(),
    };
    let desk = Field {
        dir: tmp.path().join("desk"),
        server: url,
    };
    let bytes: Vec<u8> = [0xFF, 0xD8, 0xFF, 0xE0]
        .into_iter()
        .chain((0..120_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8))
        .collect();
    let sha = hex::encode(Sha256::digest(&bytes));
    let photo = tmp.path().join("bins.jpg");
    std::fs::write(&photo, &bytes).expect("photo");

    let (ok, who, _) = worker.run(&["login", "worker1"]);
    assert!(ok, "{who}");
    let (ok, created, _) = worker.run(&[
        "new",
        "--description",
        "overflowing bins",
        "--grid",
        "g1",
        "--photo",
        &photo.to_string_lossy(),
    ]);
    assert!(ok, "{created}");
    let case = created["case"].as_str().expect("case id").to_owned();
    let (ok, report, _) = worker.run(&["sync"]);
    assert!(ok, "{report}");
    assert_eq!(report["blobs_uploaded"], 1, "{report}");

    let (ok, who, _) = desk.run(&["login", "worker2"]);
    assert!(ok, "{who}");
    let (ok, report, _) = desk.run(&["sync", "--no-photos"]);
    assert!(ok, "{report}");
    assert_eq!(report["cases_received"], 1, "{report}");
    assert_eq!(report["blobs_downloaded"], 0, "{report}");
    assert_eq!(report["photo_bytes_received"], 0, "{report}");
    assert_eq!(report["photos_to_download"], 1, "{report}");
    assert_eq!(report["own_work_on_server"], true, "{report}");
    let (_, status, _) = desk.run(&["status"]);
    assert_eq!(
        status["pending"]["downloads"],
        serde_json::json!([sha]),
        "{status}"
    );
    let (_, shown, _) = desk.run(&["show", &case]);
    assert_eq!(shown["attachments"][0]["sha256"], sha.as_str(), "{shown}");
    assert!(shown["attachments"][0]["path"].is_null(), "{shown}");
    // For people: the photo waits, and the command that fetches it is named.
    let human = desk.human(&["sync", "--no-photos"]);
    assert!(
        human.contains("1 photo(s) of others' cases not downloaded yet: gridcase-field photos"),
        "{human}"
    );

    let (ok, report, _) = desk.run(&["photos"]);
    assert!(ok, "{report}");
    assert_eq!(report["blobs_downloaded"], 1, "{report}");
    assert_eq!(report["photo_bytes_received"], bytes.len(), "{report}");
    assert_eq!(report["photos_to_download"], 0, "{report}");
    let (_, status, _) = desk.run(&["status"]);
    assert_eq!(
        status["pending"]["downloads"],
        serde_json::json!([]),
        "{status}"
    );
    let (_, shown, _) = desk.run(&["show", &case]);
    let path = shown["attachments"][0]["path"]
        .as_str()
        .expect("the photo is on the desk");
    assert_eq!(std::fs::read(path).expect("read"), bytes);

    // Nothing left: `photos` succeeds having moved nothing.
    let (ok, report, _) = desk.run(&["photos"]);
    assert!(ok, "{report}");
    assert_eq!(report["blobs_downloaded"], 0, "{report}");
    assert_eq!(report["bytes_received"], 0, "{report}");
}
