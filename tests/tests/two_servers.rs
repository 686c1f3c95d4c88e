//! Two servers on one PostgreSQL database (`--database-url`), any request to either: writes
//! through both land in one ledger with unique feed positions and case numbers, handhelds sync
//! to both at random and carry on when one is killed, live listeners on one hear the other's
//! writes, and a refresh token is spent once. Runs in the PostgreSQL pass of the tests
//! (`GRIDCASE_TEST_DATABASE_URL`, set by `scripts/test`); with sled there is one server per
//! ledger, and the test says so and returns.

use gridcase_sync_core::Action;
use gridcase_tests::scenario::{now, patrol};
use gridcase_tests::{listen, test_database, Device, Http, Server};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// The signing key both servers share, so a token from one is good at the other.
const SECRET: &str = "6772696463617365206b657920666f722074776f207365727665727320313233";

/// Two servers on one database, or `None` when the tests run on sled.
fn pair(dir: &Path) -> Option<(Server, Server)> {
    let (a, b) = (dir.join("a"), dir.join("b"));
    test_database(&a)?;
    std::fs::create_dir_all(&b).expect("data dir");
    // The second server's data directory names the first one's database.
    std::fs::copy(a.join("test-database"), b.join("test-database")).expect("same database");
    let flags = ["--jwt-secret", SECRET];
    let first = Server::start_in(&a, &flags);
    let second = Server::start_in(&b, &flags);
    Some((first, second))
}

fn skipped() {
    eprintln!("two servers need the PostgreSQL engine: run with GRIDCASE_TEST_DATABASE_URL");
}

fn open(http: &Http, token: &str, description: &str) -> Value {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(token),
        Some(json!({"channel": "hotline", "description": description, "grid": "g1"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn comment(http: &Http, token: &str, case: &str, text: &str) -> u16 {
    http.json(
        "POST",
        &format!("/v1/cases/{case}/events"),
        Some(token),
        Some(json!({"kind": "comment", "payload": {"text": text}})),
    )
    .status
}

fn view(http: &Http, token: &str, case: &str) -> Value {
    let r = http.get(&format!("/v1/cases/{case}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn event_ids(view: &Value) -> BTreeSet<String> {
    view["events"]
        .as_array()
        .or_else(|| view["state"]["timeline"].as_array())
        .expect("events")
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn writes_through_both_servers_land_in_one_ledger() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some((a, b)) = pair(tmp.path()) else {
        return skipped();
    };
    let (ha, hb) = (a.http(), b.http());
    let operator = ha.login("operator");
    let case = open(&ha, &operator, "两台服务器")["case"]
        .as_str()
        .expect("case")
        .to_owned();
    // The second server reads what the first wrote.
    assert_eq!(
        view(&hb, &operator, &case)["state"]["status"],
        "awaiting_confirmation"
    );

    // Concurrent writes to one case and concurrent new cases through both.
    let threads: Vec<_> = [a.addr, b.addr, a.addr, b.addr]
        .into_iter()
        .enumerate()
        .map(|(t, addr)| {
            let (operator, case) = (operator.clone(), case.clone());
            std::thread::spawn(move || {
                let http = Http::new(addr);
                let mut numbers = Vec::new();
                for i in 0..8 {
                    assert_eq!(comment(&http, &operator, &case, &format!("{t}-{i}")), 201);
                    let opened = open(&http, &operator, &format!("并发 {t}-{i}"));
                    numbers.push(opened["number"].as_str().expect("a number").to_owned());
                }
                numbers
            })
        })
        .collect();
    let numbers: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("writer"))
        .collect();
    let distinct: BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), 32, "every case its own number: {numbers:?}");

    // Both servers show the case with every comment, whichever server took it.
    for http in [&ha, &hb] {
        let v = view(http, &operator, &case);
        let comments = v["state"]["timeline"]
            .as_array()
            .or_else(|| v["events"].as_array())
            .expect("timeline")
            .iter()
            .filter(|e| e["kind"] == "comment")
            .count();
        assert_eq!(comments, 32, "{v}");
    }
    assert_eq!(
        event_ids(&view(&ha, &operator, &case)),
        event_ids(&view(&hb, &operator, &case))
    );
    // The lists agree: 33 cases on each.
    for http in [&ha, &hb] {
        let listed = http.get("/v1/cases?limit=100", Some(&operator)).json();
        assert_eq!(
            listed["cases"].as_array().map(Vec::len),
            Some(33),
            "{listed}"
        );
    }
}

#[test]
fn handhelds_sync_to_either_server_and_carry_on_when_one_is_killed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some((a, b)) = pair(tmp.path()) else {
        return skipped();
    };
    let mut workers: Vec<Device> = ["worker1", "worker1", "worker2", "worker2"]
        .into_iter()
        .map(|user| Device::register(&a, user))
        .collect();
    let mut opened = Vec::new();
    for round in 0..3 {
        for (i, w) in workers.iter_mut().enumerate() {
            let case = w.open(patrol(&format!("巡查 {round}-{i}")), now() - 60_000);
            w.act(
                &case,
                Action::Comment {
                    text: format!("现场 {round}-{i}"),
                },
                now() - 30_000,
            )
            .expect("a comment on its own case");
            opened.push((i, case));
            // To either server, at random.
            w.reconnect(if (round + i) % 2 == 0 { &a } else { &b });
            w.sync().expect("sync");
        }
    }
    // One server dies the hard way in the middle of everyone's sync; everyone carries on
    // against the other.
    for w in &mut workers {
        let case = w.open(patrol("被打断的同步"), now() - 2_000);
        opened.push((usize::MAX, case));
        w.reconnect(&a);
    }
    std::thread::scope(|s| {
        for w in &workers {
            s.spawn(move || {
                // Cut off or not, what it does not finish it finishes with the other server.
                let _ = w.sync();
            });
        }
        std::thread::sleep(Duration::from_millis(15));
        a.kill();
    });
    for w in &mut workers {
        let case = w.open(patrol("之后"), now() - 1_000);
        opened.push((usize::MAX, case));
        w.reconnect(&b);
        w.sync().expect("sync after the kill");
    }
    for w in &workers {
        w.sync().expect("settle");
    }
    let http = b.http();
    let operator = http.login("operator");
    for (_, case) in &opened {
        let v = view(&http, &operator, case.as_str());
        // Every event any handheld holds is in the ledger.
        let held: BTreeSet<String> = workers
            .iter()
            .flat_map(|w| w.events(case))
            .map(|e| e.id.to_string())
            .collect();
        let ledger: BTreeSet<String> = v["state"]["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter_map(|e| e["event"].as_str().map(str::to_owned))
            .collect();
        assert!(!held.is_empty(), "a handheld holds {case}");
        assert_eq!(held, ledger, "{case}: the handhelds and the ledger differ");
    }
    // Partners in one grid hold the same cases, event for event.
    for pair in workers.chunks(2) {
        for (_, case) in &opened {
            let (one, other) = (pair[0].events(case), pair[1].events(case));
            if !one.is_empty() || !other.is_empty() {
                let ids = |e: &[gridcase_sync_core::Event]| {
                    e.iter().map(|e| e.id.clone()).collect::<BTreeSet<_>>()
                };
                assert_eq!(ids(&one), ids(&other), "partners differ on {case}");
            }
        }
    }
}

#[test]
fn listeners_on_one_server_hear_writes_through_the_other() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some((a, b)) = pair(tmp.path()) else {
        return skipped();
    };
    let operator = a.http().login("operator");
    let rx = listen(&b, &operator);
    // Let the stream open, then write through the other server.
    std::thread::sleep(Duration::from_millis(500));
    let case = open(&a.http(), &operator, "另一台服务器写入")["case"]
        .as_str()
        .expect("case")
        .to_owned();
    let heard = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the other server's write reaches this server's listeners");
    assert_eq!(heard["case"], case.as_str(), "{heard}");
}

#[test]
fn a_refresh_token_is_spent_once_whichever_servers_see_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some((a, b)) = pair(tmp.path()) else {
        return skipped();
    };
    let login = a.http().json(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "operator", "password": gridcase_tests::PASSWORD})),
    );
    assert_eq!(login.status, 200, "{}", login.text());
    let refresh = login.json()["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let threads: Vec<_> = [a.addr, b.addr, a.addr, b.addr]
        .into_iter()
        .map(|addr| {
            let refresh = refresh.clone();
            std::thread::spawn(move || {
                Http::new(addr)
                    .json(
                        "POST",
                        "/v1/auth/refresh",
                        None,
                        Some(json!({"refresh_token": refresh})),
                    )
                    .status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .map(|t| t.join().expect("refresh"))
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "one rotation wins: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
}

/// Each server keeps the organization in memory; a change made through one is what the other
/// serves at its next request (it compares its copy's tag with the stored one).
#[test]
fn an_organization_change_through_one_server_is_served_by_the_other_at_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some((a, b)) = pair(tmp.path()) else {
        return skipped();
    };
    let (ha, hb) = (a.http(), b.http());
    let admin = ha.login("admin");
    let etag = |http: &Http| {
        let r = http.get("/v1/org", Some(&admin));
        assert_eq!(r.status, 200, "{}", r.text());
        let tag = r.header("etag").expect("an ETag").to_owned();
        (tag, r.json())
    };
    let (before, org) = etag(&hb);
    assert!(org["grids"].get("g-new0").is_none());
    for n in 0..3 {
        let grid = format!("g-new{n}");
        let r = ha.json(
            "PUT",
            &format!("/v1/admin/org/{grid}"),
            Some(&admin),
            Some(json!({"kind": "grid", "name": format!("新网格 {n}"), "community": "c1"})),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let (on_b, org) = etag(&hb);
        let (on_a, _) = etag(&ha);
        assert_ne!(
            on_b, before,
            "the second server still serves the old organization"
        );
        assert_eq!(on_a, on_b, "both servers serve one organization");
        assert!(
            org["grids"].get(&grid).is_some(),
            "{grid} missing on the second server"
        );
    }
}

/// A photo's upload cut halfway through one server is resumed through the other from the
/// offset it reports (every byte the first kept), and the photo reads back byte for byte from
/// both, whole and in ranges.
#[test]
fn a_photo_cut_on_one_server_is_resumed_and_read_on_the_other() {
    use gridcase_sync_core::commands::Blob;
    use gridcase_tests::proxy::{Link, Proxy};
    use sha2::{Digest, Sha256};

    let tmp = tempfile::tempdir().expect("tempdir");
    let Some((a, b)) = pair(tmp.path()) else {
        return skipped();
    };
    // Photo-like bytes over several of the store's chunks (256 KiB), a JPEG by its first bytes.
    const SIZE: usize = 700_000;
    let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while photo.len() < SIZE {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        photo.extend_from_slice(&x.to_le_bytes());
    }
    photo.truncate(SIZE);
    let sha = hex::encode(Sha256::digest(&photo));
    let worker = Device::register(&a, "worker1");
    let case = worker.open(patrol("照片跨服务器"), now() - 1_000);
    let blob = Blob {
        sha256: sha.clone(),
        mime: "image/jpeg".into(),
        size: SIZE as u64,
        name: Some("井盖.jpg".into()),
    };
    worker.attach(&case, vec![blob], now()).expect("attach");
    worker.sync().expect("the case reaches the servers");

    let put = |http: &Http, offset: usize, body: &[u8]| {
        http.send(
            "PUT",
            &format!("/v1/blobs/{sha}"),
            Some(&worker.token),
            &[
                ("content-type", "application/octet-stream"),
                ("upload-offset", &offset.to_string()),
                ("upload-length", &SIZE.to_string()),
            ],
            Some(body.to_vec()),
        )
    };
    let status = |http: &Http| {
        let r = http.get(&format!("/v1/blobs/{sha}/upload"), Some(&worker.token));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };

    // The whole photo sent to the first server through a link that cuts halfway.
    let proxy = Proxy::start(
        a.addr,
        Link {
            cut_up_after: Some(SIZE as u64 / 2),
            ..Link::default()
        },
    );
    let cut = put(&Http::new(proxy.addr), 0, &photo);
    assert!(
        !matches!(&cut, Ok(r) if r.status == 200),
        "the link cut the upload"
    );
    assert!(proxy.cuts() >= 1, "the link cut the upload");
    // The first server answers once what arrived is kept; the second says the same.
    let (ha, hb) = (a.http(), b.http());
    // The server learns of the cut when its read of the body fails: on a loaded machine that
    // can take a moment after the proxy's cut.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let kept = loop {
        let kept = status(&ha);
        if kept["offset"].as_u64().unwrap_or(0) > 0 || std::time::Instant::now() > deadline {
            break kept;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(kept["complete"], false, "{kept}");
    let offset = kept["offset"].as_u64().expect("offset") as usize;
    assert!(
        offset > 0 && offset <= SIZE / 2,
        "what crossed before the cut is kept: {kept}"
    );
    assert_eq!(
        status(&hb),
        kept,
        "both servers see where the upload stands"
    );
    assert_eq!(
        hb.get(&format!("/v1/blobs/{sha}"), Some(&worker.token))
            .status,
        404,
        "not readable before it is whole"
    );
    // A chunk at another offset is told where the upload stands, by either server.
    let stale = put(&hb, 0, &photo[..1000]).expect("HTTP");
    assert_eq!(stale.status, 409, "{}", stale.text());
    assert_eq!(stale.json(), kept);

    // The rest through the second server, from the offset it reported.
    let rest = put(&hb, offset, &photo[offset..]).expect("HTTP");
    assert_eq!(rest.status, 200, "{}", rest.text());
    assert_eq!(rest.json(), json!({"complete": true, "offset": SIZE}));
    for http in [&ha, &hb] {
        assert_eq!(status(http), json!({"complete": true, "offset": SIZE}));
        let whole = http.get(&format!("/v1/blobs/{sha}"), Some(&worker.token));
        assert_eq!(whole.status, 200);
        assert_eq!(whole.header("content-type"), Some("image/jpeg"));
        assert!(whole.body == photo, "the photo reads back byte for byte");
        for (range, from, last) in [
            (format!("bytes={offset}-"), offset, SIZE - 1),
            ("bytes=262000-262300".to_owned(), 262_000, 262_300),
            ("bytes=5-5".to_owned(), 5, 5),
            (format!("bytes={}-", SIZE - 10), SIZE - 10, SIZE - 1),
            (format!("bytes=600000-{}", SIZE + 50), 600_000, SIZE - 1),
        ] {
            let piece = http
                .send(
                    "GET",
                    &format!("/v1/blobs/{sha}"),
                    Some(&worker.token),
                    &[("range", &range)],
                    None,
                )
                .expect("HTTP");
            assert_eq!(piece.status, 206, "{range}");
            assert_eq!(
                piece.header("content-range"),
                Some(format!("bytes {from}-{last}/{SIZE}").as_str()),
                "{range}"
            );
            assert!(
                piece.body == photo[from..=last],
                "{range}: the bytes asked for"
            );
        }
        let past = http
            .send(
                "GET",
                &format!("/v1/blobs/{sha}"),
                Some(&worker.token),
                &[("range", &format!("bytes={SIZE}-"))],
                None,
            )
            .expect("HTTP");
        assert_eq!(past.status, 416);
    }
}
