//! Every role at work where it works (issue 14), in Chromium on the demo district: the unit
//! acknowledges, handles with a photo, asks for more time and is granted it by the center, and
//! returns the case; the center re-dispatches; the second unit returns it too; the case lands
//! in the center's arbitration queue; the center names the lead; the lead cannot return it and
//! feeds back with a photo; a grid worker verifies offline from a handheld; the center closes.
//! Every photo shows on the case page, the chain of units and the deadline history are right.
//! Tiered dispatch: the street and the community are offered only the units they command. Each
//! role's queue is photographed for docs/.

use base64::Engine;
use gridcase_sync_core::CaseId;
use gridcase_tests::console::{browser_test, sign_in_page, Console};
use gridcase_tests::scenario::{now, verify};
use gridcase_tests::webdriver::Browser;
use gridcase_tests::{Device, Http};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// A 1×1 PNG, the smallest photo a browser sends.
const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// A distinct small PNG per name: the 1×1 image with a text chunk saying which it is, so two
/// photos are two blobs.
fn photo(dir: &Path, name: &str) -> (std::path::PathBuf, String) {
    let mut png = base64::engine::general_purpose::STANDARD
        .decode(PNG_B64)
        .expect("the PNG");
    // Before IEND (the last 12 bytes): a tEXt chunk (CRC unchecked by browsers and by us).
    let text = format!("Comment\0{name}");
    let mut chunk = (text.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"tEXt");
    chunk.extend_from_slice(text.as_bytes());
    chunk.extend_from_slice(&[0, 0, 0, 0]);
    let at = png.len() - 12;
    png.splice(at..at, chunk);
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, &png).expect("the photo file");
    (path, hex::encode(Sha256::digest(&png)))
}

fn view(http: &Http, token: &str, case: &str) -> Value {
    let r = http.get(&format!("/v1/cases/{case}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Signs out whoever is signed in and signs `user` in: they land on their work queue.
fn become_user(browser: &Browser, base: &str, user: &str) {
    if browser.try_find("header form button").is_some() {
        browser.find("header form button").click();
        browser.wait_for("sign-in", "return location.pathname === '/login';");
    } else {
        browser.goto(&format!("{base}/login"));
    }
    sign_in_page(browser, user);
    browser.wait_for("the work queue", "return location.pathname === '/queue';");
}

/// The cases a queue section lists, by id.
fn section(browser: &Browser, key: &str) -> Vec<String> {
    browser
        .find_all(&format!("section[data-section={key}] tr[data-case]"))
        .iter()
        .filter_map(|row| row.attribute("data-case"))
        .collect()
}

fn open_case(browser: &Browser, base: &str, case: &str) {
    browser.goto(&format!("{base}/cases/{case}"));
    browser.wait_for(
        "the case page",
        "return !!document.getElementById('actions');",
    );
}

/// Submits a case page form of `kind`, after `fill` filled it in, and waits until it is done.
fn submit(browser: &Browser, kind: &str, fill: &[(&str, &str)]) {
    for (field, value) in fill {
        browser
            .find(&format!("form[data-kind={kind}] [name={field}]"))
            .type_text(value);
    }
    browser
        .find(&format!("form[data-kind={kind}] button[type=submit]"))
        .click();
    browser.wait_for(
        kind,
        &format!("return location.search.includes('done={kind}');"),
    );
}

fn offered_units(browser: &Browser) -> Vec<String> {
    browser
        .find_all("form[data-kind=dispatch] select[name=unit] option")
        .iter()
        .filter_map(|o| o.attribute("value"))
        .collect()
}

#[test]
fn every_role_works_a_bounced_case_to_its_close_in_chromium() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (browser, server, shots) = browser_test(tmp.path());
    let base = format!("http://{}", server.addr);
    let http = server.http();
    // The console's forms answer with redirects; this client shows them.
    let forms = Http::with_redirects(server.addr, 0);
    let operator = http.login("operator");
    browser.resize(1400, 1100);

    // A walk-in report in g1, filed by the center over the API.
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(&operator),
        Some(json!({"channel": "walk_in", "description": "小区北门井盖缺失", "grid": "g1"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let case = r.json()["case"].as_str().expect("a case").to_owned();
    let r = http.json(
        "POST",
        &format!("/v1/cases/{case}/events"),
        Some(&operator),
        Some(
            json!({"kind": "file", "payload": {"category": "C0105", "level": "general",
            "units": ["u1", "u3"], "suggestion": "请城管执法队补装井盖", "callback": true}}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // The center: the case waits to be dispatched; dispatched from its page to unit 1.
    become_user(&browser, &base, "operator");
    assert_eq!(section(&browser, "to_dispatch"), [case.as_str()]);
    open_case(&browser, &base, &case);
    let offered = offered_units(&browser);
    assert!(
        ["u1", "u2", "u5", "u6"]
            .iter()
            .all(|u| offered.contains(&u.to_string())),
        "the district commands every unit: {offered:?}"
    );
    browser
        .find("form[data-kind=dispatch] select[name=unit] option[value=u1]")
        .click();
    submit(&browser, "dispatch", &[("responsible", "王队长")]);

    // Unit 1: the case waits for its acknowledgement; acknowledged, handled with a photo,
    // more time asked.
    become_user(&browser, &base, "unit1");
    assert_eq!(section(&browser, "to_acknowledge"), [case.as_str()]);
    browser.screenshot(&shots.join("queue-unit.png"));
    open_case(&browser, &base, &case);
    assert!(browser.find("#acknowledged").text().contains("未签收"));
    submit(&browser, "acknowledge", &[]);
    assert!(
        browser.try_find("form[data-kind=acknowledge]").is_none(),
        "acknowledged once"
    );
    let (first_photo, first_sha) = photo(tmp.path(), "handled");
    submit(
        &browser,
        "handle",
        &[
            ("note", "已到现场, 临时围挡"),
            ("photo", &first_photo.to_string_lossy()),
        ],
    );
    submit(
        &browser,
        "extension_request",
        &[("hours", "2"), ("reason", "需调配井盖")],
    );
    assert!(browser
        .find("#extension-request")
        .text()
        .contains("需调配井盖"));

    // The center grants the extension from its queue.
    become_user(&browser, &base, "operator");
    assert_eq!(section(&browser, "extension_requests"), [case.as_str()]);
    open_case(&browser, &base, &case);
    submit(&browser, "extend", &[("reason", "同意延期")]);
    let v = view(&http, &operator, &case);
    assert_eq!(v["state"]["extensions"], 1, "{v}");
    assert!(v["state"]["pending_extension"].is_null(), "{v}");

    // Unit 1 returns it: not its job after all.
    become_user(&browser, &base, "unit1");
    assert_eq!(section(&browser, "in_progress"), [case.as_str()]);
    open_case(&browser, &base, &case);
    submit(
        &browser,
        "return",
        &[("reason", "井盖属自来水公司, 非本单位职责")],
    );

    // The center re-dispatches to unit 2, who returns it too.
    become_user(&browser, &base, "operator");
    assert_eq!(section(&browser, "returned"), [case.as_str()]);
    open_case(&browser, &base, &case);
    browser
        .find("form[data-kind=dispatch] select[name=unit] option[value=u2]")
        .click();
    submit(&browser, "dispatch", &[]);
    become_user(&browser, &base, "unit2");
    open_case(&browser, &base, &case);
    submit(&browser, "return", &[("reason", "应由城管处理")]);

    // Twice returned: the case waits for the center's arbitration, which names unit 1 the lead.
    become_user(&browser, &base, "operator");
    assert_eq!(section(&browser, "arbitration"), [case.as_str()]);
    assert!(section(&browser, "returned").is_empty());
    browser.screenshot(&shots.join("queue-district.png"));
    open_case(&browser, &base, &case);
    assert!(
        browser
            .find("#dispatch-lead")
            .attribute("checked")
            .is_some(),
        "after the returns that start arbitration, naming the lead is the default"
    );
    browser
        .find("form[data-kind=dispatch] select[name=unit] option[value=u1]")
        .click();
    submit(&browser, "dispatch", &[]);
    assert!(browser.find("#lead-unit").text().contains("城管执法队"));

    // The lead cannot return it; it feeds back with a photo.
    let unit1 = Console::sign_in(&forms, &server, "unit1");
    let r = unit1.post(
        &format!("/cases/{case}/act"),
        &[("kind", "return"), ("reason", "仍非本单位职责")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some(format!("/cases/{case}?refused=not_permitted").as_str())
    );
    become_user(&browser, &base, "unit1");
    open_case(&browser, &base, &case);
    submit(&browser, "acknowledge", &[]);
    let (second_photo, second_sha) = photo(tmp.path(), "fixed");
    browser
        .find("form[data-kind=feedback] select[name=resolved] option[value=yes]")
        .click();
    submit(
        &browser,
        "feedback",
        &[
            ("note", "已协调补装新井盖"),
            ("photo", &second_photo.to_string_lossy()),
        ],
    );

    // A grid worker verifies on site, offline, from a handheld; it syncs when back.
    let worker = Device::register(&server, "worker1");
    worker.sync().expect("the handheld receives the case");
    let id = CaseId::new(case.as_str());
    worker
        .act(&id, verify(true), now())
        .expect("verified offline");
    worker.sync().expect("the verification arrives");
    become_user(&browser, &base, "worker1");
    browser.screenshot(&shots.join("queue-grid-worker.png"));

    // The center closes; the page shows the whole story.
    become_user(&browser, &base, "operator");
    assert_eq!(section(&browser, "to_close"), [case.as_str()]);
    open_case(&browser, &base, &case);
    submit(&browser, "close", &[("note", "已修复")]);
    for sha in [&first_sha, &second_sha] {
        browser.wait_for(
            "every photo shown",
            &format!(
                "const i = document.querySelector('img[src=\"/v1/blobs/{sha}\"]'); \
                 return !!i && i.complete && i.naturalWidth === 1;"
            ),
        );
    }
    let chain: Vec<String> = browser
        .find_all("#unit-chain tbody tr")
        .iter()
        .map(|row| row.text())
        .collect();
    assert_eq!(chain.len(), 3, "{chain:?}");
    assert!(chain[0].contains("城管执法队") && chain[0].contains("非本单位职责"));
    assert!(chain[1].contains("环卫中心") && chain[1].contains("应由城管处理"));
    assert!(chain[2].contains("主办单位") && !chain[2].contains("职责"));
    assert!(browser.find("#unit-chain h2").text().contains("2"));
    let history: Vec<String> = browser
        .find_all("#deadline-history tbody tr")
        .iter()
        .map(|row| row.text())
        .collect();
    // dispatch, extend, return, dispatch, return, dispatch (the lead).
    assert_eq!(history.len(), 6, "{history:?}");
    assert!(history[1].contains("延期") && history[1].contains("operator"));
    assert!(history[2].contains("退回") && history[2].contains("unit1"));
    assert!(browser.find("#callback-wanted").text().contains("是"));
    assert!(browser.find("#suggestion").text().contains("补装井盖"));
    assert!(browser
        .find("#cooperating-units")
        .text()
        .contains("市政市容委"));
    browser.resize(1400, 2600);
    browser.screenshot(&shots.join("case-every-role.png"));
    browser.resize(1400, 1100);
    let v = view(&http, &operator, &case);
    assert_eq!(v["state"]["status"], "closed", "{v}");
    assert_eq!(v["state"]["returns"], 2);
    assert_eq!(v["state"]["lead_unit"], "u1");

    // Tiered dispatch: the street is offered its own and its communities' units, the community
    // its own; each queue photographed.
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(&operator),
        Some(json!({"channel": "walk_in", "description": "楼道堆物", "grid": "g1"})),
    );
    let street_case = r.json()["case"].as_str().expect("a case").to_owned();
    let r = http.json(
        "POST",
        &format!("/v1/cases/{street_case}/events"),
        Some(&operator),
        Some(json!({"kind": "file", "payload": {"category": "C0105", "level": "general"}})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    become_user(&browser, &base, "street1");
    assert!(section(&browser, "to_dispatch").contains(&street_case));
    open_case(&browser, &base, &street_case);
    assert_eq!(offered_units(&browser), ["u5", "u6"]);
    browser
        .find("form[data-kind=dispatch] select[name=unit] option[value=u5]")
        .click();
    submit(&browser, "dispatch", &[]);
    become_user(&browser, &base, "street1");
    assert_eq!(
        section(&browser, "dispatched_by_us"),
        [street_case.as_str()]
    );
    browser.screenshot(&shots.join("queue-street.png"));
    become_user(&browser, &base, "community1");
    browser.screenshot(&shots.join("queue-community.png"));
    become_user(&browser, &base, "unit5");
    assert_eq!(section(&browser, "to_acknowledge"), [street_case.as_str()]);
    become_user(&browser, &base, "supervisor");
    browser.screenshot(&shots.join("queue-supervisor.png"));

    // A street may not dispatch to a district unit, whatever its form says.
    let street = Console::sign_in(&forms, &server, "street1");
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(&operator),
        Some(json!({"channel": "walk_in", "description": "路灯不亮", "grid": "g1"})),
    );
    let other = r.json()["case"].as_str().expect("a case").to_owned();
    http.json(
        "POST",
        &format!("/v1/cases/{other}/events"),
        Some(&operator),
        Some(json!({"kind": "file", "payload": {"category": "C0105", "level": "general"}})),
    );
    let before = view(&http, &operator, &other)["history"]
        .as_array()
        .map_or(0, Vec::len);
    let r = street.post(
        &format!("/cases/{other}/act"),
        &[("kind", "dispatch"), ("unit", "u1")],
    );
    assert_eq!(
        r.header("location"),
        Some(format!("/cases/{other}?refused=not_permitted").as_str())
    );
    let after = view(&http, &operator, &other)["history"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(before, after, "nothing written");
}
