//! Photos from the browser console, on the real server: the unit's handling form posted as
//! `multipart/form-data` with a real PNG names the photo's sha-256 in its event, writes its
//! attachment record, stores the bytes where `GET /v1/blobs/{sha}` serves them to the
//! console's session, and the case page shows it. A text file named `.png`, a file over
//! `--max-blob` and more files than an event may name are each refused at the form with their
//! code, and nothing is written. Then the same through Chromium's file input.

use base64::Engine;
use gridcase_tests::console::{browser_test, sign_in_page, Console};
use gridcase_tests::scenario::post_action;
use gridcase_tests::{Http, Reply, Server};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// A real 1×1 PNG.
const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// What the test server takes as its largest photo (`--max-blob`).
const MAX_BLOB: usize = 64 * 1024;

fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(PNG_B64)
        .expect("the PNG")
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A file of a multipart body: its name, its declared type, its bytes.
type File<'a> = (&'a str, &'a str, &'a [u8]);

/// A `multipart/form-data` body: text fields, then files as `photo`.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----gridcase-test-7d3f9a1c";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (file_name, content_type, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; \
                 filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts the case page's form with photos, as the browser does, with the session cookie.
fn post_photos(
    console: &Console,
    case: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Reply {
    let (content_type, body) = multipart(fields, files);
    let headers = [
        ("content-type", content_type.as_str()),
        ("cookie", console.cookie.as_str()),
        ("origin", console.origin.as_str()),
    ];
    console
        .http
        .send(
            "POST",
            &format!("/cases/{case}/act"),
            None,
            &headers,
            Some(body),
        )
        .expect("HTTP request")
}

fn view(http: &Http, token: &str, case: &str) -> Value {
    let r = http.get(&format!("/v1/cases/{case}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn history_len(http: &Http, token: &str, case: &str) -> usize {
    view(http, token, case)["history"]
        .as_array()
        .map_or(0, Vec::len)
}

/// The files in the blob store (complete, partial and temporary); on PostgreSQL, where the
/// servers keep blobs in the ledger itself, the blobs it holds a record of.
fn stored_blobs(data_dir: &Path) -> Vec<String> {
    if gridcase_tests::test_database(data_dir).is_some() {
        let store = gridcase_tests::ledger_store(data_dir);
        let mut names: Vec<String> = store
            .range(gridcase_server::blob_store::META, &[], None)
            .map(|e| String::from_utf8_lossy(&e.expect("a blob record").0).into_owned())
            .collect();
        names.sort();
        return names;
    }
    let mut names = Vec::new();
    for dir in [
        data_dir.join("blobs"),
        data_dir.join("blobs").join("partial"),
    ] {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.path().is_file() {
                    names.push(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
    }
    names.sort();
    names
}

/// A case in g1 filed and dispatched to u1 by the operator, through the API.
fn dispatched_case(http: &Http, operator: &str, description: &str) -> String {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(operator),
        Some(json!({"channel": "walk_in", "description": description, "grid": "g1"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let case = r.json()["case"].as_str().expect("a case").to_owned();
    let file = json!({"kind": "file", "payload": {"category": "E0102", "level": "general", "units": ["u1"]}});
    post_action(http, operator, &case, file);
    let dispatch = json!({"kind": "dispatch", "payload": {"unit": "u1"}});
    post_action(http, operator, &case, dispatch);
    case
}

#[test]
fn a_unit_handles_a_case_with_a_photo_and_bad_files_are_refused_at_the_form() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let max_blob = MAX_BLOB.to_string();
    let server = Server::start_in(&tmp.path().join("ledger"), &["--max-blob", &max_blob]);
    let http = Http::with_redirects(server.addr, 0);
    let operator = http.login("operator");
    let unit = Console::sign_in(&http, &server, "unit1");
    let case = dispatched_case(&http, &operator, "路灯不亮");

    // The unit's handling form takes photos; the handheld note is gone.
    let page = unit.page(&format!("/cases/{case}"));
    let form = page
        .split("data-kind=\"handle\"")
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .expect("the handling form");
    assert!(form.contains("enctype=\"multipart/form-data\""), "{form}");
    assert!(
        form.contains("type=\"file\"")
            && form.contains("name=\"photo\"")
            && form.contains("accept=\"image/jpeg,image/png,image/webp\"")
            && form.contains("multiple"),
        "{form}"
    );
    assert!(!page.contains("手持终端拍摄"), "no handheld note: {page}");
    // Forms without photos stay urlencoded.
    let ret = page
        .split("data-kind=\"return\"")
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .expect("the return form");
    assert!(!ret.contains("enctype"), "{ret}");

    let fields = [("kind", "handle"), ("note", "已更换灯泡")];
    let blobs_before = stored_blobs(&server.data_dir);
    let before = history_len(&http, &operator, &case);

    // Refused, each with its code, at the form, and nothing written.
    let text = b"this is a text file, not a picture\n".to_vec();
    let mut oversized = png();
    oversized.resize(MAX_BLOB + 1, 0);
    let many: Vec<Vec<u8>> = (0..21u8)
        .map(|i| {
            let mut p = png();
            p.push(i);
            p
        })
        .collect();
    let many_files: Vec<File> = many
        .iter()
        .map(|p| ("p.png", "image/png", p.as_slice()))
        .collect();
    let good = png();
    let cases: [(&str, Vec<File>, &str); 4] = [
        (
            "not_an_image",
            vec![("notes.png", "image/png", text.as_slice())],
            "只能上传 JPEG、PNG 或 WebP 格式的图片",
        ),
        (
            // Refused even beside a good photo: nothing of the form is kept.
            "not_an_image",
            vec![
                ("good.png", "image/png", good.as_slice()),
                ("notes.png", "image/png", text.as_slice()),
            ],
            "只能上传 JPEG、PNG 或 WebP 格式的图片",
        ),
        (
            "photo_too_large",
            vec![("big.png", "image/png", oversized.as_slice())],
            "照片文件过大",
        ),
        ("too_many_photos", many_files, "照片数量超过上限"),
    ];
    for (code, files, message) in cases {
        let r = post_photos(&unit, &case, &fields, &files);
        assert_eq!(r.status, 303, "{code}: {}", r.text());
        let to = r.header("location").expect("back to the case").to_owned();
        assert_eq!(to, format!("/cases/{case}?refused={code}&form=handle"));
        let shown = unit.page(&to);
        assert!(shown.contains("id=\"handle-error\""), "{code}: {shown}");
        assert!(shown.contains(message), "{code}: {shown}");
        assert!(shown.contains("id=\"handle-photo\""), "{shown}");
        assert_eq!(
            history_len(&http, &operator, &case),
            before,
            "{code}: nothing written"
        );
        assert_eq!(
            stored_blobs(&server.data_dir),
            blobs_before,
            "{code}: no blob stored"
        );
    }

    // A real PNG: the event names its sha-256, its attachment is recorded with it.
    let photo = png();
    let sha = sha256(&photo);
    let r = post_photos(&unit, &case, &fields, &[("lamp.png", "image/png", &photo)]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some(format!("/cases/{case}?done=handle").as_str())
    );
    let v = view(&http, &operator, &case);
    let history = v["history"].as_array().expect("history");
    assert_eq!(history.len(), before + 1, "{v}");
    let handle = &history[history.len() - 1]["event"];
    assert_eq!(handle["action"]["kind"], "handle", "{v}");
    assert_eq!(handle["action"]["payload"]["photos"], json!([sha]), "{v}");
    assert_eq!(handle["action"]["payload"]["note"], "已更换灯泡", "{v}");
    let attachments = v["attachments"].as_array().expect("attachments");
    let attachment = attachments
        .iter()
        .find(|a| a["sha256"] == json!(sha))
        .unwrap_or_else(|| panic!("an attachment record for {sha}: {v}"));
    assert_eq!(attachment["event"], handle["id"], "{v}");
    assert_eq!(attachment["mime"], "image/png", "{v}");
    assert_eq!(attachment["size"], photo.len(), "{v}");
    assert_eq!(attachment["name"], "lamp.png", "{v}");

    // The bytes, to the console's session (the cookie alone) and to the API's bearer alike.
    let r = unit.get(&format!("/v1/blobs/{sha}"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, photo, "the same bytes");
    assert_eq!(r.header("content-type"), Some("image/png"));
    let r = http.get(&format!("/v1/blobs/{sha}"), Some(&operator));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, photo);
    // Someone whose scope does not see the case is not served (the demo's unit u2).
    let other = http.login("unit2");
    let r = http.get(&format!("/v1/blobs/{sha}"), Some(&other));
    assert_eq!(r.status, 404, "{}", r.text());

    // The case page shows it.
    let page = unit.page(&format!("/cases/{case}"));
    assert!(
        page.contains(&format!("<img src=\"/v1/blobs/{sha}\"")),
        "{page}"
    );

    // The feedback form takes photos too; the same photo again is stored once.
    let r = post_photos(
        &unit,
        &case,
        &[
            ("kind", "feedback"),
            ("resolved", "yes"),
            ("note", "已修复"),
        ],
        &[("lamp.png", "image/png", &photo)],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some(format!("/cases/{case}?done=feedback").as_str())
    );
    let v = view(&http, &operator, &case);
    let last = v["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("an event");
    assert_eq!(last["event"]["action"]["kind"], "feedback", "{v}");
    assert_eq!(last["event"]["action"]["payload"]["photos"], json!([sha]));
    let stored = stored_blobs(&server.data_dir);
    assert_eq!(
        stored.iter().filter(|n| **n == sha).count(),
        1,
        "{stored:?}"
    );
    assert!(
        stored.iter().all(|n| !n.ends_with(".tmp")),
        "no temporary file left: {stored:?}"
    );

    // A form without photos still posts urlencoded.
    let r = unit.post(
        &format!("/cases/{case}/act"),
        &[("kind", "return"), ("reason", " ")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
}

#[test]
fn chromium_sends_a_photo_from_the_file_input() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (browser, server, shots) = browser_test(tmp.path());
    let base = format!("http://{}", server.addr);
    let http = server.http();
    let operator = http.login("operator");
    let case = dispatched_case(&http, &operator, "井盖缺失");
    let photo = png();
    let sha = sha256(&photo);
    let file = tmp.path().join("manhole.png");
    std::fs::write(&file, &photo).expect("the photo file");

    browser.goto(&format!("{base}/cases/{case}"));
    sign_in_page(&browser, "unit1");
    browser.wait_for(
        "the case page",
        &format!("return location.pathname === '/cases/{case}';"),
    );
    browser
        .find("form[data-kind=handle] input[name=note]")
        .type_text("已补装井盖");
    browser
        .find("form[data-kind=handle] input[type=file]")
        .type_text(&file.to_string_lossy());
    browser.find("form[data-kind=handle] button").click();
    browser.wait_for(
        "the handling done",
        "return location.search.includes('done=handle');",
    );
    browser.wait_for(
        "the photo shown",
        &format!(
            "const i = document.querySelector('img[src=\"/v1/blobs/{sha}\"]'); \
             return !!i && i.complete && i.naturalWidth === 1;"
        ),
    );
    browser.screenshot(&shots.join("console-photo.png"));
    let v = view(&http, &operator, &case);
    let last = v["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("an event");
    assert_eq!(last["event"]["action"]["kind"], "handle", "{v}");
    assert_eq!(last["event"]["action"]["payload"]["photos"], json!([sha]));
}
