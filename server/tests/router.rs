//! Router-level tests, in process: the real router over a real sled ledger in a temporary
//! directory, called without a socket.

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::Router;
use gridcase_server::{demo, router, AppState, Config};
use serde_json::{json, Value};
use tower::ServiceExt;

const PASSWORD: &str = "router-test-password";

struct App {
    router: Router,
    state: AppState,
    _dir: tempfile::TempDir,
}

fn app_with(adjust: impl FnOnce(&mut Config)) -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::for_dir(dir.path());
    adjust(&mut config);
    let state = AppState::open(config).expect("open ledger");
    demo::seed(&state.directory, Some(PASSWORD.into())).expect("seed");
    App {
        router: router(state.clone()),
        state,
        _dir: dir,
    }
}

fn app() -> App {
    app_with(|_| {})
}

impl App {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, bytes.to_vec())
    }

    async fn json(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let (s, b) = self
            .call(
                method,
                uri,
                token,
                &[("content-type", "application/json")],
                body.to_string().into_bytes(),
            )
            .await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    async fn get(&self, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
        let (s, b) = self.call("GET", uri, token, &[], Vec::new()).await;
        (
            s,
            serde_json::from_slice(&b)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&b).into())),
        )
    }

    async fn login(&self, user: &str) -> (String, String) {
        let (s, v) = self
            .json(
                "POST",
                "/v1/auth/login",
                None,
                json!({"username": user, "password": PASSWORD}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        (
            v["access_token"].as_str().expect("access").to_owned(),
            v["refresh_token"].as_str().expect("refresh").to_owned(),
        )
    }

    async fn token(&self, user: &str) -> String {
        self.login(user).await.0
    }

    async fn device_token(&self, user: &str) -> String {
        let t = self.token(user).await;
        let (s, v) = self
            .json(
                "POST",
                "/v1/devices",
                Some(&t),
                json!({"name": "h", "actors": ["0a0b0c0d"]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["tokens"]["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    async fn new_case(&self, token: &str, grid: &str) -> String {
        let (s, v) = self
            .json(
                "POST",
                "/v1/cases",
                Some(token),
                json!({"channel": "walk_in", "description": "lamp out", "grid": grid}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["case"].as_str().expect("case").to_owned()
    }

    async fn act(
        &self,
        token: &str,
        case: &str,
        kind: &str,
        payload: Value,
    ) -> (StatusCode, Value) {
        self.json(
            "POST",
            &format!("/v1/cases/{case}/events"),
            Some(token),
            json!({"kind": kind, "payload": payload}),
        )
        .await
    }
}

#[tokio::test]
async fn health_openapi_and_metrics() {
    let app = app();
    assert_eq!(app.get("/healthz", None).await.0, StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.0, StatusCode::OK);
    let (s, doc) = app.get("/v1/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/v1/sync",
        "/v1/cases",
        "/v1/cases/{id}",
        "/v1/cases/{id}/events",
        "/v1/review/conflicts",
        "/v1/stats",
        "/v1/auth/login",
        "/v1/devices",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(
        app.get("/metrics", None).await.0,
        StatusCode::UNAUTHORIZED,
        "/metrics is not public"
    );
    let supervisor = app.token("supervisor").await;
    let (s, text) = app.get("/metrics", Some(&supervisor)).await;
    assert_eq!(s, StatusCode::OK);
    let text = text.as_str().expect("text").to_owned();
    assert!(
        text.contains("gridcase_http_requests_total{route=\"/v1/openapi.json\",status=\"200\"} 1"),
        "{text}"
    );
    let (s, v) = app.get("/v1/nowhere", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["code"], "not_found");
}

#[tokio::test]
async fn login_refresh_and_logout() {
    let app = app();
    let (s, v) = app
        .json(
            "POST",
            "/v1/auth/login",
            None,
            json!({"username": "operator", "password": "wrong"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "unauthorized");
    let (s, _) = app
        .json(
            "POST",
            "/v1/auth/login",
            None,
            json!({"username": "nobody", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = app
        .json("POST", "/v1/auth/login", None, json!({"username": 1}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["code"], "bad_request");

    let (_, refresh) = app.login("operator").await;
    let (s, v) = app
        .json(
            "POST",
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let renewed = v["refresh_token"].as_str().expect("rotated").to_owned();
    let (s, _) = app
        .json(
            "POST",
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a refresh token is spent once used"
    );
    let (s, _) = app
        .json(
            "POST",
            "/v1/auth/logout",
            None,
            json!({"refresh_token": renewed}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .json(
            "POST",
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": renewed}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "logged out");
}

#[tokio::test]
async fn administration_is_for_admins_and_takes_effect_at_once() {
    let app = app();
    let worker = app.token("worker1").await;
    let (s, v) = app.get("/v1/admin/users", Some(&worker)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["code"], "forbidden");
    let admin = app.token("admin").await;
    let (s, v) = app.get("/v1/admin/users", Some(&admin)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.as_array().expect("users").len() >= 9);
    assert!(
        v.to_string().find("password").is_none(),
        "hashes never leave the server"
    );

    let (s, _) = app
        .json(
            "PUT",
            "/v1/admin/org/g9",
            Some(&admin),
            json!({"kind": "grid", "name": "new", "community": "nowhere"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, org) = app
        .json(
            "PUT",
            "/v1/admin/org/g9",
            Some(&admin),
            json!({"kind": "grid", "name": "new", "community": "c1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(org["grids"]["g9"].is_object());
    let (s, _) = app
        .json("POST", "/v1/admin/users", Some(&admin), json!({"id": "bad", "name": "x", "role": "grid_worker", "scope": {"level": "district"}, "password": "long enough"}))
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a grid worker cannot hold the district"
    );

    let device_token = app.device_token("worker2").await;
    assert_eq!(
        app.get("/v1/me", Some(&device_token)).await.0,
        StatusCode::OK
    );
    let (_, devices) = app.get("/v1/admin/devices", Some(&admin)).await;
    let id = devices[0]["id"].as_str().expect("id").to_owned();
    let (s, _) = app
        .call(
            "POST",
            &format!("/v1/admin/devices/{id}/revoke"),
            Some(&admin),
            &[],
            vec![],
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/v1/me", Some(&device_token)).await.0,
        StatusCode::UNAUTHORIZED,
        "revoked device"
    );
    let (s, _) = app
        .call(
            "POST",
            "/v1/admin/users/worker1/disable",
            Some(&admin),
            &[],
            vec![],
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/v1/me", Some(&worker)).await.0,
        StatusCode::UNAUTHORIZED,
        "disabled user"
    );
}

#[tokio::test]
async fn devices_cannot_share_an_actor() {
    let app = app();
    app.device_token("worker1").await;
    let t = app.token("worker2").await;
    let (s, v) = app
        .json(
            "POST",
            "/v1/devices",
            Some(&t),
            json!({"name": "h", "actors": ["0a0b0c0d"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = app
        .json(
            "POST",
            "/v1/devices",
            Some(&t),
            json!({"name": "h", "actors": ["not hex"]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sync_rejects_bad_bodies_with_4xx() {
    let app = app_with(|c| {
        c.max_body = 4096;
        c.max_batch_cases = 3;
        c.max_batch_bytes = 1024 * 1024;
    });
    let sync =
        |token: Option<String>, headers: Vec<(&'static str, &'static str)>, body: Vec<u8>| {
            let app = &app;
            async move {
                let (s, b) = app
                    .call("POST", "/v1/sync", token.as_deref(), &headers, body)
                    .await;
                (
                    s,
                    serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
                )
            }
        };
    let empty = gridcase_sync_core::sync::SyncBatch::default().encode();
    assert_eq!(
        sync(None, vec![], empty.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let user_only = app.token("worker1").await;
    let (s, v) = sync(Some(user_only), vec![], empty.clone()).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a token without a device cannot sync: {v}"
    );

    let t = Some(app.device_token("worker1").await);
    assert_eq!(
        sync(t.clone(), vec![], empty.clone()).await.0,
        StatusCode::OK
    );
    let (s, v) = sync(t.clone(), vec![], b"garbage".to_vec()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_batch"))
    );
    let mut v9 = empty.clone();
    v9[4] = 9;
    let (s, v) = sync(t.clone(), vec![], v9).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_batch_version"))
    );
    let (s, _) = sync(t.clone(), vec![], empty[..empty.len() - 1].to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "truncated");
    let (s, _) = sync(
        t.clone(),
        vec![("content-encoding", "zstd")],
        b"not zstd".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = sync(t.clone(), vec![("content-encoding", "br")], empty.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = sync(t.clone(), vec![], vec![0u8; 10_000]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    let many = gridcase_sync_core::sync::SyncBatch {
        entries: (0..4)
            .map(|i| (format!("c{i}").into(), Vec::new()))
            .collect(),
        ..Default::default()
    };
    let (s, _) = sync(t.clone(), vec![], many.encode()).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "too many cases");
    let bomb = zstd::bulk::compress(&vec![0u8; 8 * 1024 * 1024], 19).expect("compress");
    assert!(bomb.len() < 4096, "{}", bomb.len());
    let (s, _) = sync(t.clone(), vec![("content-encoding", "zstd")], bomb).await;
    assert_eq!(
        s,
        StatusCode::PAYLOAD_TOO_LARGE,
        "a zstd bomb is cut off at the batch limit"
    );
}

#[tokio::test]
async fn online_actions_follow_the_rules_with_clear_statuses() {
    let app = app();
    let operator = app.token("operator").await;
    let worker1 = app.token("worker1").await;
    let (s, v) = app
        .json(
            "POST",
            "/v1/cases",
            Some(&worker1),
            json!({"channel": "patrol", "description": "x", "grid": "g4"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("out_of_scope"))
    );
    let (s, _) = app
        .json(
            "POST",
            "/v1/cases",
            Some(&operator),
            json!({"channel": "hotline", "description": "x", "grid": "g77"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown grid");
    let (s, v) = app
        .json("POST", "/v1/cases", Some(&operator), json!({"channel": "web", "description": "by coordinates", "coordinates": [116.4012, 39.9113]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let case = app.new_case(&operator, "g1").await;
    let (s, v) = app
        .act(&operator, &case, "dispatch", json!({"unit": "u1"}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("wrong_status")),
        "dispatch before filing"
    );
    let (s, v) = app
        .act(
            &operator,
            &case,
            "file",
            json!({"category": "E9999", "level": "general"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_payload"))
    );
    let (s, _) = app.act(&operator, &case, "teleport", json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let worker3 = app.token("worker3").await;
    // Outside the scope and unknown answer alike: an id tells nobody that a case exists.
    let (s, v) = app
        .act(&worker3, &case, "comment", json!({"text": "hi"}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, v) = app.get(&format!("/v1/cases/{case}"), Some(&worker3)).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, unknown) = app.get("/v1/cases/nope", Some(&worker3)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        v["message"]
            .as_str()
            .map(|m| m.replace(case.as_str(), "nope")),
        unknown["message"].as_str().map(str::to_owned)
    );
    let unit1 = app.token("unit1").await;
    let (s, v) = app.act(&unit1, &case, "handle", json!({"note": "n"})).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a unit sees only what it was given: {v}"
    );
}

#[tokio::test]
async fn listing_filters_pages_and_indicators() {
    let app = app();
    let operator = app.token("operator").await;
    let unit1 = app.token("unit1").await;
    let supervisor = app.token("supervisor").await;
    let mut cases = Vec::new();
    for _ in 0..3 {
        cases.push(app.new_case(&operator, "g1").await);
    }
    let done = &cases[0];
    for (who, kind, payload) in [
        (
            &operator,
            "file",
            json!({"category": "E0102", "level": "general", "units": ["u1"]}),
        ),
        (&operator, "dispatch", json!({"unit": "u1"})),
        (&unit1, "feedback", json!({"resolved": true})),
        (&operator, "verify", json!({"resolved": false})),
        (&unit1, "feedback", json!({"resolved": true})),
        (&operator, "verify", json!({"resolved": true})),
        (&operator, "close", json!({})),
        (
            &supervisor,
            "evaluate",
            json!({"satisfaction": "satisfied"}),
        ),
    ] {
        let (s, v) = app.act(who, done, kind, payload).await;
        assert_eq!(s, StatusCode::CREATED, "{kind}: {v}");
    }

    let (_, page) = app.get("/v1/cases?status=evaluated", Some(&operator)).await;
    assert_eq!(page["cases"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["cases"][0]["id"], done.as_str());
    let (_, reported) = app.get("/v1/cases?status=reported", Some(&operator)).await;
    assert_eq!(reported["cases"].as_array().map(Vec::len), Some(2));
    let (_, page) = app.get("/v1/cases?limit=2", Some(&operator)).await;
    assert_eq!(page["cases"].as_array().map(Vec::len), Some(2));
    let next = page["next"].as_str().expect("a next page").to_owned();
    let (_, rest) = app
        .get(&format!("/v1/cases?limit=2&cursor={next}"), Some(&operator))
        .await;
    assert_eq!(rest["cases"].as_array().map(Vec::len), Some(1));
    assert!(rest["next"].is_null());
    let mut seen: Vec<&str> = page["cases"]
        .as_array()
        .expect("page")
        .iter()
        .chain(rest["cases"].as_array().expect("rest"))
        .filter_map(|c| c["id"].as_str())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "pages neither repeat nor skip");
    let (_, unit_view) = app.get("/v1/cases", Some(&unit1)).await;
    assert_eq!(
        unit_view["cases"].as_array().map(Vec::len),
        Some(1),
        "a unit sees what it was given"
    );
    let (_, none) = app.get("/v1/cases?grid=g2", Some(&operator)).await;
    assert_eq!(none["cases"].as_array().map(Vec::len), Some(0));
    let (s, _) = app.get("/v1/cases?limit=notanumber", Some(&operator)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The last 30 days: the case closed in them (throughput), but its deadline is days away,
    // so it is not due in them (closing is counted among the due cases).
    let (s, stats) = app.get("/v1/stats?by=unit", Some(&supervisor)).await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    let u1 = &stats["groups"]["u1"];
    assert_eq!(u1["filed"], 1);
    assert_eq!(u1["closed_in_period"], 1);
    assert_eq!(
        (u1["due"].clone(), u1["closed"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(
        u1["closing_rate"],
        serde_json::Value::Null,
        "no data, not 0%"
    );
    assert_eq!(u1["satisfaction_rate"], 1.0);
    assert_eq!(stats["total"]["closed_in_period"], 1);
    // A period that holds its deadline: due and closed on time, one verification of two failed.
    let (s, stats) = app
        .get(
            "/v1/stats?by=unit&from=0&to=4102444800000",
            Some(&supervisor),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    let u1 = &stats["groups"]["u1"];
    assert_eq!(
        (u1["due"].clone(), u1["closed"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(u1["closed_on_time"], 1);
    assert_eq!(
        (u1["rework"].clone(), u1["verifications"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(u1["rework_rate"], 0.5);
    assert_eq!(stats["total"]["closed"], 1);
    let (s, _) = app.get("/v1/stats?by=colour", Some(&supervisor)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let worker1 = app.token("worker1").await;
    assert_eq!(
        app.get("/v1/stats", Some(&worker1)).await.0,
        StatusCode::FORBIDDEN
    );
    assert!(app.state.ledger.committed_seq() >= 11);
}

/// The operator as the server writes for it online.
fn online_operator() -> gridcase_sync_core::Actor {
    use gridcase_sync_core::{Role, Scope};
    gridcase_sync_core::Actor {
        user: "operator".into(),
        device: "online:operator".into(),
        role: Role::DistrictCenter,
        scope: Scope::District,
    }
}

#[tokio::test]
async fn concurrent_writers_of_one_case_leave_a_complete_summary() {
    use gridcase_sync_core::commands::act;
    use gridcase_sync_core::{Action, ActorId, CaseId};
    let app = app();
    let operator = app.token("operator").await;
    let case = CaseId::new(app.new_case(&operator, "g1").await);
    let ledger = app.state.ledger.clone();
    let who = online_operator();
    // Two writers load the same version and each add a comment, unaware of the other.
    let mut first = ledger.load(&case).expect("load").expect("case");
    let mut second = ledger.load(&case).expect("load").expect("case");
    let since = first.heads();
    first.set_actor(ActorId::from(&[1u8; 16][..]));
    second.set_actor(ActorId::from(&[2u8; 16][..]));
    let calendar = ledger.calendar.clone();
    act(
        &mut first,
        &who,
        Action::Comment { text: "one".into() },
        1,
        &calendar,
    )
    .expect("first");
    act(
        &mut second,
        &who,
        Action::Comment { text: "two".into() },
        2,
        &calendar,
    )
    .expect("second");
    // The second indexes its own view before the first commits, and commits last.
    let mut second_write = ledger.write(2);
    second_write
        .save(&mut second, &since, &[])
        .expect("second staged");
    let mut first_write = ledger.write(1);
    first_write
        .save(&mut first, &since, &[])
        .expect("first staged");
    first_write.commit().expect("first committed");
    second_write.commit().expect("second committed");
    let summary = ledger.summary(&case).expect("summary").expect("indexed");
    assert_eq!(
        summary.events, 3,
        "intake and both comments are in the summary"
    );
}

#[test]
fn an_abandoned_write_releases_its_claim_on_a_new_case() {
    use gridcase_sync_core::commands::open_case;
    use gridcase_sync_core::ActorId;
    let app = app();
    let ledger = app.state.ledger.clone();
    let who = online_operator();
    let intake = serde_json::from_value(json!({
        "channel": "walk_in",
        "description": "lamp out",
        "territory": {"street": "s1", "community": "c1", "grid": "g1"},
    }))
    .expect("an intake");
    let (mut doc, _) = open_case(&who, ActorId::from(&[7u8; 16][..]), intake, 1).expect("opened");
    let case = doc.header().expect("header").case;
    // A write that claims the new case and is dropped uncommitted (an error on the way)...
    let mut abandoned = ledger.write(1);
    abandoned.save(&mut doc, &[], &[]).expect("staged");
    drop(abandoned);
    // ...leaves the next writer the claim: it writes the case whole, as its snapshot, rather
    // than an increment that would wait for compaction.
    let mut probe = gridcase_sync_core::store::Batch::new();
    let staged = ledger
        .docs
        .stage_save(&mut probe, &case, doc.automerge(), &[])
        .expect("probed");
    assert!(staged.claimed, "the abandoned write still holds its claim");
    ledger.docs.release([&case]);

    // A write that did not win the claim (a second writer of the same new case, say a
    // handheld's retried sync) releases nothing when it ends: the winner keeps its claim.
    let mut winner = ledger.write(2);
    winner.save(&mut doc, &[], &[]).expect("staged");
    let mut loser = ledger.write(2);
    loser
        .save(&mut doc, &[], &[])
        .expect("staged as an increment");
    drop(loser);
    let mut probe = gridcase_sync_core::store::Batch::new();
    let staged = ledger
        .docs
        .stage_save(&mut probe, &case, doc.automerge(), &[])
        .expect("probed");
    assert!(!staged.claimed, "the loser released the winner's claim");
    drop(winner);

    let mut write = ledger.write(2);
    write.save(&mut doc, &[], &[]).expect("staged");
    write.commit().expect("committed");
    assert_eq!(ledger.docs.pending_increments(&case).expect("count"), 0);
    assert_eq!(
        ledger.summary(&case).expect("summary").map(|s| s.events),
        Some(1)
    );
}
