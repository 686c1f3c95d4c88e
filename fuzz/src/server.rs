//! Targets in the server: Open311 through the real router, district dates, console forms.

use axum::body::{to_bytes, Body};
use axum::http::{header, Request};
use axum::Router;
use gridcase_server::console::act::ActForm;
use gridcase_server::console::i18n::Lang;
use gridcase_server::console::session::{local_path, LoginForm};
use gridcase_server::district_time::{date_of, iso, parse_iso, when, DAY};
use gridcase_server::{demo, router, AppState, Config};
use gridcase_sync_core::{Action, WorkCalendar};
use std::path::PathBuf;
use std::sync::OnceLock;
use tower::ServiceExt;

/// The api_key the fuzzed server accepts (the corpus uses it).
pub const OPEN311_KEY: &str = "fuzz-open311-key";
const DIR_PREFIX: &str = "gridcase-fuzz-open311-";

struct App {
    runtime: tokio::runtime::Runtime,
    router: Router,
}

/// Where the server's data directories go: memory when the machine has `/dev/shm`.
fn scratch() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

/// The server, once per process, on a data directory named after the process. A fuzzer exits
/// without running destructors, so directories of processes that are gone are removed here.
fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let scratch = scratch();
        if let Ok(entries) = std::fs::read_dir(&scratch) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let gone = name
                    .strip_prefix(DIR_PREFIX)
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(|pid| !PathBuf::from(format!("/proc/{pid}")).exists());
                if gone {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = scratch.join(format!("{DIR_PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config::for_dir(&dir);
        config.open311_keys = vec![OPEN311_KEY.to_owned()];
        // No filing limit: past it every filing would stop at the throttle, unparsed.
        config.open311_burst = 0;
        let state = AppState::open(config).expect("open the ledger");
        demo::seed(&state.directory, Some("fuzz-password".into())).expect("seed the demo");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        App {
            runtime,
            router: router(state),
        }
    })
}

/// Percent-encodes what may not stand in a URI as it is; with `keep`, the query's own
/// delimiters and escapes stay as the input has them.
fn uri_part(bytes: &[u8], keep: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Open311 routes through the real router, on a ledger with the demo district. Input: a
/// selector byte, then the rest. The selector's low 7 bits `% 6` pick: 0 `POST requests` with
/// the rest as the form body; 1 `GET requests` with the rest as the query;
/// 2 `GET /open311/v2/{rest}`; 3 `services/{rest}`; 4 `requests/{rest}`; 5 `tokens/{rest}`.
/// Bit 7 asks 0 and 1 for XML instead of JSON. Bad input gets a 4xx, never a 5xx, and every
/// answer is well-formed JSON or XML, as its content type says.
pub fn open311(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let ext = if selector & 0x80 != 0 { "xml" } else { "json" };
    let segment = || uri_part(rest, b"");
    let (method, uri, body) = match (selector & 0x7f) % 6 {
        0 => ("POST", format!("/open311/v2/requests.{ext}"), rest.to_vec()),
        1 => (
            "GET",
            format!(
                "/open311/v2/requests.{ext}?{}",
                uri_part(rest, b"!$&'()*+,;=:@/?%")
            ),
            Vec::new(),
        ),
        2 => ("GET", format!("/open311/v2/{}", segment()), Vec::new()),
        3 => (
            "GET",
            format!("/open311/v2/services/{}", segment()),
            Vec::new(),
        ),
        4 => (
            "GET",
            format!("/open311/v2/requests/{}", segment()),
            Vec::new(),
        ),
        _ => (
            "GET",
            format!("/open311/v2/tokens/{}", segment()),
            Vec::new(),
        ),
    };
    let Ok(request) = Request::builder()
        .method(method)
        .uri(&uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
    else {
        return;
    };
    let app = app();
    let (status, kind, body) = app.runtime.block_on(async {
        let response = app
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body is in memory");
        (status, kind, body)
    });
    let text = String::from_utf8_lossy(&body);
    if crate::debug() {
        eprintln!("open311: {method} {uri}: {status}: {text:.200}");
    }
    assert!(
        !status.is_server_error(),
        "{method} {uri}: {status}: {text}"
    );
    if kind.starts_with("application/json") {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&body) {
            panic!("{method} {uri}: {status}: the JSON answer does not parse ({e}): {text}");
        }
    } else if kind.starts_with("text/xml") {
        let text = std::str::from_utf8(&body).expect("an XML answer is UTF-8");
        if let Err(e) = roxmltree::Document::parse(text) {
            panic!("{method} {uri}: {status}: the XML answer is not well-formed ({e}): {text}");
        }
    }
}

/// District dates and datetimes as people type them (`parse_iso`: Open311's `start_date` and
/// `end_date`, the console's filters) and as the server writes them (`iso`, `when`,
/// `date_of`): never a panic (an 8-byte input is also written as a little-endian instant), and
/// a time read from text is written back as text that reads as the same time, within its
/// local day.
pub fn dates(data: &[u8]) {
    // Any instant is written without a panic: event times and deadlines come from devices, and
    // a deadline past the calendar's range is `Millis::MAX`.
    if let Ok(bytes) = <[u8; 8]>::try_from(data) {
        let ms = i64::from_le_bytes(bytes);
        iso(ms);
        when(ms);
        date_of(ms);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(ms) = parse_iso(text) else {
        return;
    };
    let written = iso(ms);
    when(ms);
    // Years 0..=9999 in district time: GeoReport's four digits.
    if written.len() == 25 && written.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        assert_eq!(parse_iso(&written), Some(ms), "{text:?} → {written}");
        let day = parse_iso(&date_of(ms)).expect("a written date reads");
        assert!(
            day <= ms && ms < day + DAY,
            "{text:?}: {ms} is not on its day {day}"
        );
    }
}

/// The console's forms (urlencoded bodies): the first byte picks the case page's action form
/// (even) or sign-in (odd). An action form yields one or two actions that read back from their
/// JSON as written; sign-in returns only to a path of this site that a `Location` header can
/// carry.
pub fn console_form(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    if selector & 1 == 1 {
        let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(body) else {
            return;
        };
        let next = local_path(form.next.as_deref());
        assert!(
            next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && next.bytes().all(|b| b.is_ascii_graphic()),
            "sign-in would return to {next:?}"
        );
        let _ = axum::response::Redirect::to(&next);
        return;
    }
    let Ok(form) = serde_urlencoded::from_bytes::<ActForm>(body) else {
        return;
    };
    let lang = if selector & 2 == 0 {
        Lang::Zh
    } else {
        Lang::En
    };
    // A Monday morning in the district, 2026-03-02 09:00.
    let now = 1_772_413_200_000;
    let Ok(actions) = form.actions(now, &WorkCalendar::beijing(), lang) else {
        return;
    };
    assert!(
        (1..=2).contains(&actions.len()),
        "{} actions from one form",
        actions.len()
    );
    for action in &actions {
        let json = serde_json::to_string(action).expect("an action writes as JSON");
        let back: Action = serde_json::from_str(&json).expect("an action reads from its JSON");
        assert_eq!(&back, action, "an action reads back differently: {json}");
    }
}
