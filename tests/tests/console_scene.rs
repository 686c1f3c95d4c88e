//! The operator's workbench (issue 13) on the real server binary: the desk's new-case page with
//! its repeat-caller and duplicate panels, attaching a call to an open case, a consultation
//! answered directly, the case page's callers, confirmation and callback forms, the callback
//! worklist and the list's phone search. Form-level checks over plain HTTP, and the whole scene
//! of a call in headless Chromium: taken by keyboard, worked by the unit and the grid worker's
//! handheld offline, called back dissatisfied, worked again, called back satisfied.

use gridcase_sync_core::Action;
use gridcase_tests::console::{browser_test, sign_in_page, Console};
use gridcase_tests::scenario::{now, post_action, verify};
use gridcase_tests::webdriver::{key, Browser};
use gridcase_tests::{url_encode, Device, Http, Server};
use serde_json::{json, Value};

const DAY: i64 = 24 * 3_600_000;

/// The token (the case id to be) of a rendered new-case form.
fn token_of(html: &str) -> String {
    html.split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token")
        .to_owned()
}

fn view(http: &Http, token: &str, case: &str) -> Value {
    let r = http.get(&format!("/v1/cases/{case}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn kinds(view: &Value) -> Vec<String> {
    view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["event"]["action"]["kind"].as_str().map(str::to_owned))
        .collect()
}

/// A hotline call taken over the JSON API in grid g1: its caller in the register.
fn api_call(http: &Http, operator: &str, body: Value) -> String {
    let mut body = body;
    body["channel"] = json!("hotline");
    body["grid"] = json!("g1");
    let r = http.json("POST", "/v1/cases", Some(operator), Some(body));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["case"].as_str().expect("a case").to_owned()
}

/// Confirmed, filed (with a callback) and dispatched to u1.
fn file_and_dispatch(http: &Http, operator: &str, case: &str, category: &str) {
    post_action(
        http,
        operator,
        &case,
        json!({"kind": "confirm", "payload": {"exists": true}}),
    );
    post_action(
        http,
        operator,
        &case,
        json!({"kind": "file", "payload": {"category": category, "level": "general", "units": ["u1"], "callback": true}}),
    );
    post_action(
        http,
        operator,
        &case,
        json!({"kind": "dispatch", "payload": {"unit": "u1"}}),
    );
}

/// The desk's whole new-case form, as the page posts it.
fn call_form(token: &str) -> Vec<(&'static str, String)> {
    [
        ("token", token),
        ("caller_name", "赵大妈"),
        ("phone", "139 0000 2222"),
        ("caller_address", "韶九胡同3号"),
        ("callback", "no"),
        ("business_type", "complaint"),
        ("address", "韶九胡同8号, 东华门街道"),
        ("grid", "g1"),
        ("category", "C0101 上水井盖"),
        ("level", "general"),
        ("description", "同一个井盖，邻居也在反映"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn with(
    mut form: Vec<(&'static str, String)>,
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    match form.iter_mut().find(|(k, _)| *k == name) {
        Some((_, v)) => *v = value.to_owned(),
        None => form.push((name, value.to_owned())),
    }
    form
}

/// The text of a field's error on a refused desk form.
fn field_error<'a>(html: &'a str, field: &str) -> &'a str {
    html.split(&format!("<span class=\"field-error\" id=\"e-{field}\">"))
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no error at {field}: {html}"))
}

#[test]
fn the_desk_answers_a_consultation_directly_and_confirms_a_hotline_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = Http::with_redirects(server.addr, 0);
    let operator = http.login("operator");
    let desk = Console::sign_in(&http, &server, "operator");

    // A consultation answered on the phone: intake and answer, closed, no category needed.
    let token = token_of(&desk.get("/cases/new").text());
    let consultation = with(
        with(
            with(call_form(&token), "business_type", "consultation"),
            "category",
            "",
        ),
        "answer_directly",
        "1",
    );
    let answered = with(
        consultation.clone(),
        "answer",
        "大件垃圾请预约社区每周六上午统一清运",
    );
    let (to, shown) = desk.post_and_show("/cases/new", &pairs(&answered));
    assert_eq!(to, format!("/cases/new?saved={token}"));
    assert!(shown.contains("已直接答复并办结"), "{shown}");
    let v = view(&http, &operator, &token);
    assert_eq!(kinds(&v), ["intake", "answer"], "{v}");
    assert_eq!(v["state"]["status"], "closed");
    assert_eq!(v["state"]["answered_directly"], true);
    assert_eq!(v["callers"][0]["phone"], "13900002222");
    assert_eq!(v["callers"][0]["address"], "韶九胡同3号");
    let case_page = desk.get(&format!("/cases/{token}")).text();
    assert!(
        case_page.contains("大件垃圾请预约社区每周六上午统一清运"),
        "{case_page}"
    );
    let en = http
        .send(
            "GET",
            &format!("/cases/new?saved={token}"),
            None,
            &[("cookie", &format!("{}; gc_lang=en", desk.cookie))],
            None,
        )
        .expect("HTTP request");
    assert!(en.text().contains("Answered and closed"), "{}", en.text());

    // Each way to get it wrong is named at its field, the form kept as typed.
    let token2 = token_of(&desk.get("/cases/new").text());
    let form2 = with(answered.clone(), "token", &token2);
    for (name, value, field, message) in [
        (
            "business_type",
            "complaint",
            "answer",
            "只有诉求类型为“咨询”的来电可以直接答复",
        ),
        ("answer", " ", "answer", "此项必填"),
        ("lead", "u1 城管执法队", "lead", "直接答复的来电不派遣"),
        (
            "caller_address",
            &"路".repeat(501),
            "caller_address",
            "内容过长",
        ),
    ] {
        let r = desk.post("/cases/new", &pairs(&with(form2.clone(), name, value)));
        assert_eq!(r.status, 422, "{name}: {}", r.text());
        let html = r.text();
        assert!(
            field_error(&html, field).starts_with(message),
            "{name}: {}",
            field_error(&html, field)
        );
        assert!(html.contains("韶九胡同3号") || name == "caller_address");
    }
    let community = Console::sign_in(&http, &server, "community1");
    let token3 = token_of(&community.get("/cases/new").text());
    let r = community.post(
        "/cases/new",
        &pairs(&with(answered.clone(), "token", &token3)),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(field_error(&r.text(), "answer").starts_with("只有区中心和街道分中心"));
    assert_eq!(
        http.get(&format!("/v1/cases/{token2}"), Some(&operator))
            .status,
        404
    );

    // A hotline report waiting for its confirmation (核实) in a grid without a grid worker:
    // the case page confirms it, then files it. A consultation waiting there is also answered
    // from the case page; a complaint is not offered the answer.
    let complaint = api_call(
        &http,
        &operator,
        json!({"description": "路灯不亮", "category": "C0105", "business_type": "complaint",
            "reporter_name": "钱先生", "reporter_contact": "13911112222"}),
    );
    let asked = api_call(
        &http,
        &operator,
        json!({"description": "问：办理占道许可去哪里", "business_type": "consultation",
            "reporter_name": "孙女士", "reporter_contact": "13911113333"}),
    );
    let complaint_page = desk.get(&format!("/cases/{complaint}")).text();
    assert!(
        complaint_page.contains("data-kind=\"confirm\""),
        "{complaint_page}"
    );
    assert!(!complaint_page.contains("data-kind=\"answer\""));
    assert!(
        !complaint_page.contains("data-kind=\"file\""),
        "not before 核实"
    );
    let (_, confirmed) = desk.post_and_show(
        &format!("/cases/{complaint}/act"),
        &[("kind", "confirm"), ("exists", "yes"), ("note", "电话核实")],
    );
    assert!(confirmed.contains("已完成: 核实"), "{confirmed}");
    assert!(confirmed.contains("data-kind=\"file\""));
    // The filing form starts at the case's own category, not the catalog's first.
    assert!(
        confirmed.contains("<option value=\"C0105\" selected>"),
        "{confirmed}"
    );
    assert_eq!(
        view(&http, &operator, &complaint)["state"]["status"],
        "reported"
    );
    let asked_page = desk.get(&format!("/cases/{asked}")).text();
    assert!(asked_page.contains("data-kind=\"answer\""), "{asked_page}");
    let (_, done) = desk.post_and_show(
        &format!("/cases/{asked}/act"),
        &[("kind", "answer"), ("answer", "请到街道政务服务中心办理")],
    );
    assert!(done.contains("已完成: 直接答复"), "{done}");
    assert_eq!(view(&http, &operator, &asked)["state"]["status"], "closed");
    // Refused by the rules on the page, like every form there.
    let r = desk.post(
        &format!("/cases/{complaint}/act"),
        &[("kind", "answer"), ("answer", "x")],
    );
    let to = r.header("location").expect("back to the case");
    assert!(to.contains("refused="), "{to}");
    assert!(desk.get(to).text().contains("操作被拒绝"));

    // An address the register lacks is allowed (placed by its grid) and listed for the
    // register's keepers.
    let token4 = token_of(&desk.get("/cases/new").text());
    let unregistered = with(
        with(call_form(&token4), "address", "新建小区7号楼"),
        "description",
        "楼前路灯不亮",
    );
    let (to, _) = desk.post_and_show("/cases/new", &pairs(&unregistered));
    assert_eq!(to, format!("/cases/new?saved={token4}"));
    let r = http.get("/v1/addresses/unregistered", Some(&operator));
    assert_eq!(r.status, 200, "{}", r.text());
    let misses = r.json();
    assert_eq!(misses[0]["address"], "新建小区7号楼", "{misses}");
    assert_eq!(misses[0]["cases"], 1);
    assert_eq!(misses[0]["last_case"], token4.as_str());
    let worker = http.login("worker1");
    assert_eq!(
        http.get("/v1/addresses/unregistered", Some(&worker)).status,
        403
    );
}

#[test]
fn a_call_is_attached_to_an_open_case_once_and_callbacks_are_refused_clearly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = Http::with_redirects(server.addr, 0);
    let operator = http.login("operator");
    let desk = Console::sign_in(&http, &server, "operator");
    let open = api_call(
        &http,
        &operator,
        json!({"description": "井盖松动", "category": "C0101", "business_type": "complaint",
            "address": "韶九胡同8号, 东华门街道", "reporter_name": "李先生", "reporter_contact": "13900001111"}),
    );
    file_and_dispatch(&http, &operator, &open, "C0101");
    let count = || {
        http.get("/v1/cases?limit=500", Some(&operator)).json()["cases"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(count(), 1);

    // The desk's call, attached to the open case from the new-case form.
    let token = token_of(&desk.get("/cases/new").text());
    let form = with(call_form(&token), "from", "desk");
    let attach = format!("/cases/{open}/callers");
    let (to, shown) = desk.post_and_show(&attach, &pairs(&form));
    assert_eq!(to, format!("/cases/{open}?attached={token}"));
    assert!(
        shown.contains("来电已追加为本案来电人，未新建案件")
            && shown.contains(&format!("data-forget-draft=\"{token}\"")),
        "{shown}"
    );
    for name in ["李先生", "赵大妈", "13900002222", "追加来电"] {
        assert!(shown.contains(name), "{name}");
    }
    // Sent again (a double click): one caller, still no new case.
    desk.post_and_show(&attach, &pairs(&form));
    let v = view(&http, &operator, &open);
    assert_eq!(
        kinds(&v).iter().filter(|k| *k == "caller_added").count(),
        1,
        "{v}"
    );
    assert_eq!(v["callers"].as_array().map_or(0, Vec::len), 2);
    assert_eq!(v["callers"][1]["address"], "韶九胡同3号");
    assert_eq!(count(), 1, "the call did not open a case");

    // A caller field at fault: the desk's form comes back as typed, the field named.
    let token2 = token_of(&desk.get("/cases/new").text());
    let bad = with(with(call_form(&token2), "from", "desk"), "phone", "12345");
    let r = desk.post(&attach, &pairs(&bad));
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(field_error(&r.text(), "phone").starts_with("不是有效的电话号码"));
    assert_eq!(token_of(&r.text()), token2);
    assert!(r.text().contains("同一个井盖，邻居也在反映"));
    // A case the rules refuse (closed) keeps the call on the form, with the reason.
    let closed = api_call(
        &http,
        &operator,
        json!({"description": "已办结", "business_type": "consultation"}),
    );
    post_action(
        &http,
        &operator,
        &closed,
        json!({"kind": "answer", "payload": {"answer": "已答复"}}),
    );
    let r = desk.post(
        &format!("/cases/{closed}/callers"),
        &pairs(&with(call_form(&token2), "from", "desk")),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        r.text().contains("案件当前状态不允许此操作"),
        "{}",
        r.text()
    );
    assert_eq!(token_of(&r.text()), token2);
    // Only a center's desk posts calls.
    let unit = Console::sign_in(&http, &server, "unit1");
    assert_eq!(unit.post(&attach, &pairs(&form)).status, 403);

    // The case page's own form: another resident calling about the case again.
    let case_token = token_of(&desk.get(&format!("/cases/{open}")).text());
    let again = [
        ("token", case_token.as_str()),
        ("caller_name", "周师傅"),
        ("phone", "010-6234 5678"),
        ("callback", "yes"),
        ("note", "第三次反映"),
    ];
    let (to, shown) = desk.post_and_show(&attach, &again);
    assert_eq!(to, format!("/cases/{open}?done=caller_added"));
    assert!(
        shown.contains("010-62345678") && shown.contains("需回访"),
        "{shown}"
    );
    let (to, shown) = desk.post_and_show(
        &attach,
        &[("token", case_token.as_str()), ("phone", "62345678")],
    );
    assert_eq!(to, format!("/cases/{open}?refused=phone_no_area_code"));
    assert!(shown.contains("固定电话须带区号"), "{shown}");
    let (to, _) = desk.post_and_show(&attach, &[("token", "../x"), ("phone", "13900003333")]);
    assert!(to.ends_with("refused=bad_request"), "{to}");

    // Who sees the callers: a community workstation masked (and told so), a unit not at all.
    let community = Console::sign_in(&http, &server, "community1");
    let masked = community.get(&format!("/cases/{open}")).text();
    assert!(
        masked.contains("139****2222")
            && masked.contains("已脱敏")
            && !masked.contains("13900002222"),
        "{masked}"
    );
    let unseen = unit.get(&format!("/cases/{open}")).text();
    assert!(
        !unseen.contains("id=\"callers\"") && !unseen.contains("1390000"),
        "{unseen}"
    );

    // Callbacks: only for a closed case, a follow-up only after an unhappy answer.
    let r = desk.post(&format!("/cases/{open}/callback"), &[("reached", "yes")]);
    assert!(
        r.header("location")
            .is_some_and(|l| l.ends_with("refused=wrong_status")),
        "{:?}",
        r.header("location")
    );
    let unit1 = http.login("unit1");
    post_action(
        &http,
        &unit1,
        &open,
        json!({"kind": "feedback", "payload": {"resolved": true}}),
    );
    post_action(
        &http,
        &operator,
        &open,
        json!({"kind": "verify", "payload": {"resolved": true}}),
    );
    post_action(
        &http,
        &operator,
        &open,
        json!({"kind": "close", "payload": {}}),
    );
    let callback = format!("/cases/{open}/callback");
    let (to, shown) = desk.post_and_show(
        &callback,
        &[
            ("reached", "yes"),
            ("satisfaction", "satisfied"),
            ("follow_up", "reopen"),
        ],
    );
    assert!(to.ends_with("refused=follow_up_unhappy"), "{to}");
    assert!(shown.contains("只有回访接通且来电人不满意"), "{shown}");
    // Not reached: whatever the answer fields said is not sent; the caller stays due.
    let (to, _) = desk.post_and_show(
        &callback,
        &[
            ("reached", "no"),
            ("satisfaction", "satisfied"),
            ("note", "无人接听"),
        ],
    );
    assert!(to.ends_with("done=callback"), "{to}");
    let worklist = desk.get("/callbacks");
    assert_eq!(worklist.status, 200);
    assert!(worklist.text().contains(&format!("/cases/{open}#callback")));
    assert!(
        worklist.text().contains("13900001111"),
        "{}",
        worklist.text()
    );
    for user in ["community1", "supervisor", "worker1"] {
        let c = Console::sign_in(&http, &server, user);
        assert_eq!(c.get("/callbacks").status, 403, "{user}");
        assert!(
            !c.get("/cases").text().contains("id=\"nav-callbacks\""),
            "{user}"
        );
    }
    let street = Console::sign_in(&http, &server, "street1");
    assert!(street.get("/cases").text().contains("id=\"nav-callbacks\""));

    // The list: the business type shown; the desk finds a number's cases from the search box.
    let list = desk
        .get(&format!("/cases?q={}", url_encode("139 0000 2222")))
        .text();
    assert!(list.contains("电话 13900002222 的来电案件"), "{list}");
    assert!(
        list.contains(&format!("data-case=\"{open}\""))
            && !list.contains(&format!("data-case=\"{closed}\""))
    );
    assert!(list.contains("<td class=\"business\">投诉</td>"), "{list}");
    let text_search = community
        .get(&format!("/cases?q={}", url_encode("139 0000 2222")))
        .text();
    assert!(
        !text_search.contains("来电案件"),
        "the desk alone looks callers up"
    );
}

/// Presses Tab until the element `css` matches has the focus.
fn tab_to(browser: &Browser, css: &str) {
    let focused = format!("return document.activeElement === document.querySelector('{css}');");
    for _ in 0..16 {
        if browser.script(&focused) == Value::Bool(true) {
            return;
        }
        browser.keys(key::TAB);
    }
    panic!("Tab never reached {css}");
}

/// The window as tall as the page and scrolled to its top, for a screenshot of all of it.
fn whole_page(browser: &Browser) {
    let height = browser
        .script("return document.documentElement.scrollHeight;")
        .as_u64()
        .unwrap_or(1000);
    browser.resize(1400, u32::try_from(height + 120).unwrap_or(1000).min(4000));
    browser.script("window.scrollTo(0, 0); return true;");
}

/// The unit handles and feeds back over the JSON API (the scene is about the desk), and
/// the grid worker's handheld verifies and closes offline, then syncs.
fn worked_and_closed(http: &Http, worker: &Device, case: &str) {
    let unit1 = http.login("unit1");
    post_action(
        http,
        &unit1,
        &case,
        json!({"kind": "handle", "payload": {"note": "已到场加固"}}),
    );
    post_action(
        http,
        &unit1,
        &case,
        json!({"kind": "feedback", "payload": {"resolved": true, "note": "井盖已加固"}}),
    );
    worker.sync().expect("the handheld receives the feedback");
    let id = gridcase_sync_core::CaseId::new(case);
    worker
        .act(&id, verify(true), now())
        .expect("verify offline");
    worker
        .act(
            &id,
            Action::Close {
                note: "现场核查已修复".into(),
            },
            now() + 1,
        )
        .expect("close offline");
    let report = worker.sync().expect("the handheld syncs");
    assert!(report.notices.is_empty(), "{:?}", report.notices);
}

#[test]
fn the_operator_takes_a_call_by_keyboard_and_calls_back_until_the_caller_is_satisfied() {
    use key::{ARROW_DOWN, ENTER, TAB};
    let tmp = tempfile::tempdir().expect("tempdir");
    let (browser, server, shots) = browser_test(tmp.path());
    let base = format!("http://{}", server.addr);
    let http = server.http();
    let operator = http.login("operator");
    let worker = Device::register(&server, "worker1");

    // 王秀英 called before about a street light: closed six days ago by the grid worker's
    // handheld, offline, her callback now overdue.
    let earlier = api_call(
        &http,
        &operator,
        json!({"description": "南池子大街路灯不亮", "category": "C0105", "business_type": "complaint",
            "address": "南池子大街12号, 东华门街道", "reporter_name": "王秀英", "reporter_contact": "138 1234 8000"}),
    );
    file_and_dispatch(&http, &operator, &earlier, "C0105");
    post_action(
        &http,
        &http.login("unit1"),
        &earlier,
        json!({"kind": "feedback", "payload": {"resolved": true}}),
    );
    worker.sync().expect("sync");
    let earlier_id = gridcase_sync_core::CaseId::new(&earlier);
    worker
        .act(&earlier_id, verify(true), now() - 6 * DAY)
        .expect("verify");
    worker
        .act(
            &earlier_id,
            Action::Close {
                note: String::new(),
            },
            now() - 6 * DAY + 1,
        )
        .expect("close");
    worker.sync().expect("sync");
    // 李先生 reported a loose manhole cover at 韶九胡同8号 this morning: open, dispatched.
    let open = api_call(
        &http,
        &operator,
        json!({"description": "井盖松动有响声", "category": "C0101", "business_type": "complaint",
            "address": "韶九胡同8号, 东华门街道", "reporter_name": "李先生", "reporter_contact": "13900001111"}),
    );
    file_and_dispatch(&http, &operator, &open, "C0101");

    browser.goto(&format!("{base}/login"));
    sign_in_page(&browser, "operator");
    browser.wait_for("the work queue", "return location.pathname === '/queue';");

    // The call, by keyboard. Her number brings up her earlier case beside the form.
    browser.keys("n");
    browser.wait_for("the desk", "return location.pathname === '/cases/new';");
    browser.keys(&format!("王秀英{TAB}138 1234 8000"));
    browser.wait_for(
        "the repeat caller's earlier case",
        &format!("return !!document.querySelector('#repeat-caller li[data-case=\"{earlier}\"]');"),
    );
    browser.keys(&format!("{TAB}韶九胡同12号{TAB}"));
    assert_eq!(browser.focused(), "f-anonymous");
    browser.keys(&format!(
        "{TAB}{TAB}{ARROW_DOWN}{ARROW_DOWN}{ARROW_DOWN}{ENTER}"
    ));
    assert_eq!(browser.focused(), "f-address");
    browser.keys("韶九胡同8");
    browser.wait_for(
        "the register's matches",
        "return document.querySelectorAll('#address-options li[role=option]').length > 0;",
    );
    browser.keys(&format!("{ARROW_DOWN}{ENTER}上水井盖"));
    browser.wait_for(
        "the category's matches",
        "return document.querySelectorAll('#categories-options li[role=option]').length > 0;",
    );
    browser.keys(ENTER);
    assert_eq!(browser.focused(), "f-level");
    // A category and an address: the open case there is suggested as a duplicate.
    browser.wait_for(
        "the duplicate suggestion",
        &format!("return !!document.querySelector('#duplicates li[data-case=\"{open}\"] button.attach');"),
    );
    browser.keys(&format!(
        "{ARROW_DOWN}{ARROW_DOWN}{ENTER}又一个井盖松了，在胡同口西侧{TAB}尽快加固{TAB}城管"
    ));
    browser.wait_for(
        "the units' matches",
        "return document.querySelectorAll('#units-options li[role=option]').length > 0;",
    );
    browser.keys(&format!("{ENTER}{ENTER}张队长"));
    assert_eq!(browser.focused(), "f-responsible");
    let repeat = browser.find("#repeat-caller").text();
    assert!(repeat.contains("南池子大街路灯不亮"), "{repeat}");
    let suggested = browser.find("#duplicates").text();
    assert!(
        suggested.contains("井盖松动有响声") && suggested.contains("同一地址"),
        "{suggested}"
    );
    browser.resize(1400, 1000);
    browser.screenshot(&shots.join("workbench-new-case.png"));

    // Not the same cover: declined, and the call goes on to its own case.
    tab_to(
        &browser,
        &format!("#duplicates li[data-case=\"{open}\"] button.not-same"),
    );
    browser.keys(ENTER);
    assert_eq!(browser.focused(), "save", "back to the call");
    assert!(browser
        .try_find(&format!("#duplicates li[data-case=\"{open}\"]"))
        .is_none());
    browser.keys(ENTER);
    browser.wait_for("the save", "return location.search.includes('saved=');");
    let number = browser.find("#saved-number").text();
    assert!(number.starts_with("DC-"), "{number}");
    let case = browser.find("#saved-case").text();
    let v = view(&http, &operator, &case);
    assert_eq!(v["number"], number.as_str());
    assert_eq!(v["state"]["status"], "dispatched", "{v}");
    assert_eq!(v["state"]["assigned_unit"], "u1");
    assert_eq!(v["state"]["responsible"], "张队长");
    assert_eq!(v["callers"][0]["phone"], "13812348000");
    assert_eq!(v["callers"][0]["address"], "韶九胡同12号");

    // A neighbour calls about the same cover: attached to that case, no second case.
    assert_eq!(
        browser.focused(),
        "f-caller_name",
        "ready for the next call"
    );
    browser.keys(&format!(
        "赵大妈{TAB}139 0000 2222{TAB}{TAB}{TAB}{ARROW_DOWN}{TAB}{ARROW_DOWN}{ARROW_DOWN}{ARROW_DOWN}{ENTER}韶九胡同8"
    ));
    browser.wait_for(
        "the register's matches",
        "return document.querySelectorAll('#address-options li[role=option]').length > 0;",
    );
    browser.keys(&format!("{ARROW_DOWN}{ENTER}上水井盖"));
    browser.wait_for(
        "the category's matches",
        "return document.querySelectorAll('#categories-options li[role=option]').length > 0;",
    );
    browser.keys(&format!("{ENTER}{ENTER}同一个井盖，邻居也在反映"));
    let attach = format!("#duplicates li[data-case=\"{case}\"] button.attach");
    browser.wait_for(
        "the new case suggested",
        &format!("return !!document.querySelector('{attach}');"),
    );
    tab_to(&browser, &attach);
    browser.keys(ENTER);
    browser.wait_for(
        "the case the call joined",
        "return !!document.getElementById('attached');",
    );
    assert!(
        browser.url().contains(&format!("/cases/{case}")),
        "{}",
        browser.url()
    );
    let callers = browser.find("#callers").text();
    assert!(
        callers.contains("王秀英") && callers.contains("赵大妈") && callers.contains("13900002222"),
        "{callers}"
    );
    let before = http.get("/v1/cases?limit=500", Some(&operator)).json()["cases"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(before, 3, "the neighbour's call opened no case");
    browser.resize(1400, 1000);
    browser.screenshot(&shots.join("workbench-attached.png"));
    // Its draft is gone: the desk opens on a fresh form.
    browser.keys("n");
    browser.wait_for("the desk", "return location.pathname === '/cases/new';");
    assert!(browser.try_find("#draft-restored:not([hidden])").is_none());
    assert_eq!(
        browser.script("return document.getElementById('f-caller_name').value;"),
        json!("")
    );

    // The unit works it; the grid worker verifies and closes from the handheld, offline.
    worked_and_closed(&http, &worker, &case);
    assert_eq!(view(&http, &operator, &case)["state"]["status"], "closed");

    // The operator finds her cases by her number in the list's search box.
    browser.goto(&format!("{base}/cases"));
    browser.find("#search").click();
    browser.keys(&format!("138 1234 8000{ENTER}"));
    browser.wait_for(
        "the phone's cases",
        "return !!document.getElementById('phone-search');",
    );
    let rows: Vec<String> = browser
        .find_all("table.cases tbody tr")
        .iter()
        .filter_map(|r| r.attribute("data-case"))
        .collect();
    assert_eq!(
        rows,
        [case.clone(), earlier.clone()],
        "newest first, only hers"
    );

    // The callback worklist, one click away: the overdue callback first, then this case.
    browser.find("#nav-callbacks").click();
    browser.wait_for("the worklist", "return location.pathname === '/callbacks';");
    let listed: Vec<String> = browser
        .find_all("table.worklist tbody tr")
        .iter()
        .filter_map(|r| r.attribute("data-case"))
        .collect();
    assert_eq!(listed, [earlier.clone(), case.clone()]);
    assert!(browser
        .try_find(&format!(
            "tr.overdue[data-case=\"{earlier}\"] td.due strong.late"
        ))
        .is_some());
    let row = browser.find(&format!("tr[data-case=\"{case}\"]")).text();
    assert!(
        row.contains("王秀英") && row.contains("13812348000") && !row.contains("赵大妈"),
        "{row}"
    );
    assert!(row.contains(&number) && row.contains("投诉"), "{row}");
    browser.resize(1400, 800);
    browser.screenshot(&shots.join("workbench-callbacks.png"));

    // j / j / Enter: to this case's callback form. Dissatisfied: worked again.
    browser.keys("jj");
    browser.keys(ENTER);
    browser.wait_for(
        "the callback form",
        "return document.activeElement && document.activeElement.id === 'cb-caller';",
    );
    whole_page(&browser);
    browser.screenshot(&shots.join("workbench-case.png"));
    browser.resize(1400, 1000);
    browser.keys(&format!(
        "{TAB}{TAB}{ARROW_DOWN}{ARROW_DOWN}{ARROW_DOWN}{TAB}{ARROW_DOWN}{ARROW_DOWN}{TAB}{ARROW_DOWN}{TAB}井盖仍然松动{ENTER}"
    ));
    browser.wait_for(
        "the callback recorded",
        "return location.search.includes('done=callback');",
    );
    let v = view(&http, &operator, &case);
    assert_eq!(v["state"]["status"], "filed", "reopened: {v}");
    let last: Vec<String> = kinds(&v).into_iter().rev().take(2).collect();
    assert_eq!(last, ["reopen", "callback"]);

    // Dispatched again from the case page (its own unit by default), worked and closed again.
    assert_eq!(
        browser.script(
            "return document.querySelector('form[data-kind=dispatch] select[name=unit]').value;"
        ),
        json!("u1")
    );
    browser.find("form[data-kind=dispatch] button").click();
    browser.wait_for(
        "the dispatch",
        "return location.search.includes('done=dispatch');",
    );
    worked_and_closed(&http, &worker, &case);

    // The second callback: satisfied, and the case leaves the worklist.
    browser.find("#nav-callbacks").click();
    browser.wait_for("the worklist", "return location.pathname === '/callbacks';");
    browser.keys("jj");
    browser.keys(ENTER);
    browser.wait_for(
        "the callback form",
        "return document.activeElement && document.activeElement.id === 'cb-caller';",
    );
    browser.keys(&format!(
        "{TAB}{TAB}{ARROW_DOWN}{TAB}{ARROW_DOWN}{TAB}{TAB}满意{ENTER}"
    ));
    browser.wait_for(
        "the callback recorded",
        "return location.search.includes('done=callback');",
    );
    browser.find("#back-to-worklist").click();
    browser.wait_for("the worklist", "return location.pathname === '/callbacks';");
    let listed: Vec<String> = browser
        .find_all("table.worklist tbody tr")
        .iter()
        .filter_map(|r| r.attribute("data-case"))
        .collect();
    assert_eq!(listed, [earlier], "called back: gone from the worklist");
    let v = view(&http, &operator, &case);
    assert_eq!(v["state"]["status"], "closed");
    let said: Vec<&str> = v["state"]["callbacks"]
        .as_array()
        .expect("callbacks")
        .iter()
        .filter_map(|c| c["satisfaction"].as_str())
        .collect();
    assert_eq!(said, ["dissatisfied", "satisfied"]);

    // She calls once more, to ask when bulky waste is collected: answered directly, closed.
    browser.keys("n");
    browser.wait_for("the desk", "return location.pathname === '/cases/new';");
    assert!(
        browser.try_find("#answer-choice:not([hidden])").is_none(),
        "offered for a consultation only"
    );
    browser.keys(&format!(
        "王秀英{TAB}138 1234 8000{TAB}{TAB}{TAB}{TAB}{ARROW_DOWN}{ENTER}韶九胡同12"
    ));
    browser.wait_for(
        "the register's matches",
        "return document.querySelectorAll('#address-options li[role=option]').length > 0;",
    );
    browser.keys(&format!(
        "{ARROW_DOWN}{ENTER}{ENTER}{ENTER}大件垃圾什么时候清运？{TAB}"
    ));
    assert_eq!(browser.focused(), "f-answer_directly");
    assert!(browser.try_find("#f-answer").is_some_and(|_| browser
        .script("return document.getElementById('f-answer').getClientRects().length === 0;")
        == json!(true)));
    browser.keys(&format!(" {TAB}每周六上午，请提前一天在社区预约"));
    assert_eq!(browser.focused(), "f-answer");
    browser.wait_for(
        "her earlier cases",
        "return document.querySelectorAll('#repeat-caller li[data-case]').length === 2;",
    );
    browser.resize(1400, 1000);
    browser.screenshot(&shots.join("workbench-answer.png"));
    tab_to(&browser, "#save");
    browser.keys(ENTER);
    browser.wait_for("the save", "return location.search.includes('saved=');");
    assert_eq!(browser.find("section.saved h2").text(), "已直接答复并办结");
    let answered = browser.find("#saved-case").text();
    let v = view(&http, &operator, &answered);
    assert_eq!(kinds(&v), ["intake", "answer"], "{v}");
    assert_eq!(v["state"]["status"], "closed");
}
