//! Exports read back: `GET /v1/cases/export` and `GET /v1/stats/export` as CSV (parsed with the
//! `csv` crate) and XLSX (read with `calamine`), in process over the real router: the rows the
//! list or the stats hold, headers in Chinese and English, the filters and the formulas in the
//! file, the caller's scope, and the refusals.

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::Router;
use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use gridcase_server::{demo, router, AppState, Config};
use serde_json::{json, Value};
use tower::ServiceExt;

const PASSWORD: &str = "export-test-password";

struct App {
    router: Router,
    state: AppState,
    _dir: tempfile::TempDir,
}

impl App {
    fn new() -> App {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = AppState::open(Config::for_dir(dir.path())).expect("open ledger");
        demo::seed(&state.directory, Some(PASSWORD.into())).expect("seed");
        App {
            router: router(state.clone()),
            state,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let response = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, headers, bytes.to_vec())
    }

    async fn token(&self, user: &str) -> String {
        let req = Request::builder()
            .method("POST")
            .uri("/v1/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"username": user, "password": PASSWORD}).to_string(),
            ))
            .expect("request");
        let response = self.router.clone().oneshot(req).await.expect("infallible");
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        v["access_token"].as_str().expect("token").to_owned()
    }

    async fn case(&self, token: &str, grid: &str, description: &str) -> String {
        let (s, _, b) = self
            .call(
                "POST",
                "/v1/cases",
                token,
                Some(json!({"channel": "walk_in", "description": description, "grid": grid})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
        let v: Value = serde_json::from_slice(&b).expect("json");
        v["case"].as_str().expect("case").to_owned()
    }

    async fn event(&self, token: &str, case: &str, kind: &str, payload: Value) {
        let (s, _, b) = self
            .call(
                "POST",
                &format!("/v1/cases/{case}/events"),
                token,
                Some(json!({"kind": kind, "payload": payload})),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::CREATED,
            "{kind}: {}",
            String::from_utf8_lossy(&b)
        );
    }
}

/// The `#` lines and the table of an exported CSV.
fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<String>, Vec<Vec<String>>) {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark first");
    let notes = text
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let mut r = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(bytes);
    let headers = r
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = r
        .records()
        .map(|r| r.expect("a row").iter().map(str::to_owned).collect())
        .collect();
    (notes, headers, rows)
}

fn read_xlsx(bytes: Vec<u8>) -> (Vec<String>, Vec<Vec<Data>>, Vec<Vec<Data>>) {
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("an xlsx");
    let names = book.sheet_names();
    let table = book
        .worksheet_range(&names[0])
        .expect("the table")
        .rows()
        .map(<[Data]>::to_vec)
        .collect();
    let notes = book
        .worksheet_range("说明 Notes")
        .expect("the notes sheet")
        .rows()
        .map(<[Data]>::to_vec)
        .collect();
    (names, table, notes)
}

fn header(headers: &[String], starts: &str) -> usize {
    headers
        .iter()
        .position(|h| h.starts_with(starts))
        .unwrap_or_else(|| panic!("{starts} in {headers:?}"))
}

#[tokio::test]
async fn case_lists_export_as_csv_and_xlsx_in_scope_with_their_filters() {
    let app = App::new();
    let operator = app.token("operator").await;
    let street1 = app.token("street1").await;
    let a = app.case(&operator, "g1", "=路灯不亮, 东侧").await;
    let b = app.case(&operator, "g2", "井盖缺失").await;
    let far = app.case(&operator, "g4", "吉祥网格的案件").await;
    let filing = json!({"category": "C0101", "level": "general", "units": ["u1"]});
    app.event(&operator, &a, "file", filing.clone()).await;
    app.event(&operator, &a, "dispatch", json!({"unit": "u1"}))
        .await;

    // The district's operator: all three; CSV.
    let (s, headers, bytes) = app
        .call("GET", "/v1/cases/export?format=csv", &operator, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(get("content-type").starts_with("text/csv"), "{headers:?}");
    assert!(
        get("content-disposition").starts_with("attachment; filename=\"cases-"),
        "{headers:?}"
    );
    let (notes, cols, rows) = read_csv(&bytes);
    assert!(cols.iter().any(|h| h == "案件编号 Number"), "{cols:?}");
    assert!(
        cols.iter().any(|h| h == "计入单位 Counted unit"),
        "{cols:?}"
    );
    let id = header(&cols, "案件标识");
    let mut ids: Vec<&str> = rows.iter().map(|r| r[id].as_str()).collect();
    ids.sort_unstable();
    let mut want = vec![a.as_str(), b.as_str(), far.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let desc = header(&cols, "问题描述");
    assert!(
        rows.iter().any(|r| r[desc] == "'=路灯不亮, 东侧"),
        "a formula-like text is defused: {rows:?}"
    );
    assert!(notes.iter().any(|n| n.contains("筛选条件")), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("100000")), "{notes:?}");

    // The street center, filtered by unit, as XLSX: only a (b has no unit; far is outside s1).
    let (s, _, bytes) = app
        .call(
            "GET",
            "/v1/cases/export?format=xlsx&counted_unit=u1&limit=1",
            &street1,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    let (names, table, notes) = read_xlsx(bytes);
    assert_eq!(names, ["案件 Cases", "说明 Notes"]);
    let cols: Vec<String> = table[0].iter().map(|c| c.to_string()).collect();
    let id = header(&cols, "案件标识");
    let unit = header(&cols, "计入单位");
    assert_eq!(table.len(), 2, "a header row and one case: {table:?}");
    assert_eq!(table[1][id], Data::String(a.clone()));
    assert_eq!(table[1][unit], Data::String("城管执法队".into()));
    let note = |what: &str| {
        notes
            .iter()
            .find(|r| r[0].to_string().contains(what))
            .map(|r| r[1].to_string())
            .unwrap_or_else(|| panic!("{what} in {notes:?}"))
    };
    assert_eq!(note("筛选条件"), "counted_unit=u1");
    assert!(note("范围").contains("s1"), "{notes:?}");

    // Outside the scope, nothing leaks: the street center asks for g4.
    let (s, _, bytes) = app
        .call("GET", "/v1/cases/export?format=csv&grid=g4", &street1, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(read_csv(&bytes).2.is_empty());

    // Refusals: an unknown format, a phone search, a unit handler's role is fine but an
    // intake channel reads nothing.
    let (s, _, _) = app
        .call("GET", "/v1/cases/export?format=pdf", &operator, None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, bytes) = app
        .call(
            "GET",
            "/v1/cases/export?format=csv&phone=13800138000",
            &operator,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!String::from_utf8_lossy(&bytes).contains("13800138000"));

    // Past the bound, the whole export is refused, never cut short.
    let user = app
        .state
        .directory
        .user(&"operator".into())
        .expect("the directory")
        .expect("the operator");
    let caller = gridcase_server::auth::Caller { user, device: None };
    let filter = gridcase_server::cases::CaseFilter::default();
    let refused = gridcase_server::cases::export::cases_at_most(&app.state, &caller, &filter, 2)
        .expect_err("three cases, at most two");
    assert!(
        matches!(&refused, gridcase_server::Error::TooLarge(m) if m.contains("at most 2 rows")),
        "{refused}"
    );
    let whole = gridcase_server::cases::export::cases_at_most(&app.state, &caller, &filter, 3)
        .expect("three cases, at most three");
    assert_eq!(whole.rows.len(), 3);
}

#[tokio::test]
async fn the_indicator_table_exports_with_its_period_and_formulas() {
    let app = App::new();
    let operator = app.token("operator").await;
    let a = app.case(&operator, "g1", "路灯不亮").await;
    let filing = json!({"category": "C0101", "level": "general", "units": ["u1"]});
    app.event(&operator, &a, "file", filing).await;
    app.event(&operator, &a, "dispatch", json!({"unit": "u1"}))
        .await;
    let query = "from=0&to=4102444800000&by=unit";
    let (_, _, stats) = app
        .call("GET", &format!("/v1/stats?{query}"), &operator, None)
        .await;
    let stats: Value = serde_json::from_slice(&stats).expect("stats");

    let (s, _, bytes) = app
        .call(
            "GET",
            &format!("/v1/stats/export?format=csv&{query}"),
            &operator,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    let (notes, cols, rows) = read_csv(&bytes);
    assert!(cols.iter().any(|h| h == "应结案数 due"), "{cols:?}");
    assert!(cols.iter().any(|h| h == "派遣数 dispatches"), "{cols:?}");
    assert!(
        notes.iter().any(|n| n.starts_with("# 时段 Period")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("closing_rate") && n.contains("due")),
        "the formulas: {notes:?}"
    );
    let groups = stats["groups"].as_object().expect("groups");
    assert_eq!(rows.len(), groups.len() + 1, "each group and the total");
    let dispatches = header(&cols, "派遣数");
    let u1 = rows.iter().find(|r| r[0] == "u1").expect("u1's row");
    assert_eq!(u1[1], "城管执法队");
    assert_eq!(
        u1[dispatches],
        stats["groups"]["u1"]["dispatches"].to_string()
    );
    let score = header(&cols, "综合得分 score");
    let shown = |v: &Value| v.as_f64().map_or("—".to_owned(), |f| f.to_string());
    assert_eq!(
        u1[score],
        shown(&stats["groups"]["u1"]["score"]),
        "scored like /v1/stats"
    );
    let total = rows.last().expect("the total");
    assert_eq!(total[0], "total");
    assert_eq!(total[dispatches], stats["total"]["dispatches"].to_string());

    let (s, _, bytes) = app
        .call(
            "GET",
            &format!("/v1/stats/export?format=xlsx&{query}"),
            &operator,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (names, table, notes) = read_xlsx(bytes);
    assert_eq!(names, ["指标 Indicators", "说明 Notes"]);
    assert_eq!(table.len(), groups.len() + 2, "headers, groups, total");
    assert!(
        notes
            .iter()
            .any(|r| r[0].to_string().contains("on_time_rate")),
        "{notes:?}"
    );

    // Only reviewers: a unit handler may not.
    let unit1 = app.token("unit1").await;
    let (s, _, _) = app
        .call(
            "GET",
            &format!("/v1/stats/export?format=csv&{query}"),
            &unit1,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
