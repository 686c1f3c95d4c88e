//! The central office's web console on the real server binary: its HTTP edges (session
//! cookie, cross-site refusal, scope, sign-out, expiry) over plain HTTP, and the pages in a
//! real headless Chromium driven through chromedriver.

use gridcase_sync_core::commands::Blob;
use gridcase_sync_core::Action;
use gridcase_tests::console::{browser_test, sign_in_page};
use gridcase_tests::scenario::{case_awaiting_verification, now, patrol, post_action, verify};
use gridcase_tests::webdriver;
use gridcase_tests::{Device, Http, Reply, Server, PASSWORD};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Signs in through the console's form and returns the session cookie (`gc_session=…`).
fn sign_in(http: &Http, user: &str) -> String {
    let form = format!("username={user}&password={PASSWORD}&next=%2Fcases");
    let r = form_post(http, "/login", None, None, &form);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/cases"));
    let cookie = r.header("set-cookie").expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().expect("name=value").to_owned()
}

fn form_post(
    http: &Http,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    form: &str,
) -> Reply {
    let cookie = cookie.map(|c| ("cookie", c));
    let origin = origin.map(|o| ("origin", o));
    let headers: Vec<_> = cookie.into_iter().chain(origin).collect();
    form_post_with(http, path, &headers, form)
}

/// A form post with exactly these headers beside its content type.
fn form_post_with(http: &Http, path: &str, headers: &[(&str, &str)], form: &str) -> Reply {
    let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    http.send("POST", path, None, &all, Some(form.as_bytes().to_vec()))
        .expect("HTTP request")
}

fn page(http: &Http, path: &str, cookie: &str) -> Reply {
    http.send("GET", path, None, &[("cookie", cookie)], None)
        .expect("HTTP request")
}

/// How many items the JSON answer at `path` lists under `key`.
fn listed(http: &Http, path: &str, token: &str, key: &str) -> usize {
    http.get(path, Some(token)).json()[key]
        .as_array()
        .map_or(0, Vec::len)
}

fn history_len(http: &Http, token: &str, case: &str) -> usize {
    listed(http, &format!("/v1/cases/{case}"), token, "history")
}

#[test]
fn console_sessions_refuse_cross_site_posts_respect_scope_and_end_at_sign_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = Http::with_redirects(server.addr, 0);
    let origin = format!("http://{}", server.addr);
    let operator_token = http.login("operator");
    let created = http.json(
        "POST",
        "/v1/cases",
        Some(&operator_token),
        Some(json!({"channel": "walk_in", "description": "路灯不亮", "grid": "g1"})),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let case = created.json()["case"].as_str().expect("case id").to_owned();

    let r = http.get("/cases?status=filed", None);
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/login?next=%2Fcases%3Fstatus%3Dfiled")
    );

    let wrong = form_post(
        &http,
        "/login",
        None,
        None,
        "username=operator&password=nope",
    );
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.text().contains("用户名或密码错误"),
        "{}",
        wrong.text()
    );
    assert!(wrong.header("set-cookie").is_none());

    let cookie = sign_in(&http, "operator");
    let hostile = http.json(
        "POST",
        "/v1/cases",
        Some(&operator_token),
        Some(json!({"channel": "walk_in", "description": "<img src=x onerror=alert(1)>", "grid": "g2"})),
    );
    assert_eq!(hostile.status, 201, "{}", hostile.text());
    let list = page(&http, "/cases", &cookie);
    assert_eq!(list.status, 200);
    assert!(
        list.header("content-security-policy").is_some_and(
            |p| p.contains("script-src 'self'") && p.contains("frame-ancestors 'none'")
        ),
        "pages run only the server's own script and cannot be framed"
    );
    assert_eq!(list.header("x-content-type-options"), Some("nosniff"));
    assert!(list.text().contains("路灯不亮"), "{}", list.text());
    assert!(
        list.text().contains("&lt;img src=x onerror=alert(1)&gt;")
            && !list.text().contains("<img src=x"),
        "what people type is shown, never run"
    );
    // The session authenticates the JSON API too (the live stream and photos need that).
    let me = page(&http, "/v1/me", &cookie);
    assert_eq!(me.json()["user"], "operator", "{}", me.text());

    let comment = "kind=comment&note=%E5%B7%B2%E7%94%B5%E8%AF%9D%E8%81%94%E7%B3%BB";
    let act = format!("/cases/{case}/act");
    let before = history_len(&http, &operator_token, &case);
    for bad_origin in [Some("http://evil.example"), None] {
        let r = form_post(&http, &act, Some(&cookie), bad_origin, comment);
        assert_eq!(r.status, 403, "{bad_origin:?}: {}", r.text());
    }
    let fetched = |site: &str| {
        let headers = [("cookie", cookie.as_str()), ("sec-fetch-site", site)];
        form_post_with(&http, &act, &headers, comment).status
    };
    assert_eq!(fetched("cross-site"), 403);
    assert_eq!(
        fetched("same-site"),
        403,
        "a sibling subdomain is another site's page"
    );
    assert_eq!(
        history_len(&http, &operator_token, &case),
        before,
        "nothing written"
    );
    let r = form_post(&http, &act, Some(&cookie), Some(&origin), comment);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some(format!("/cases/{case}?done=comment").as_str())
    );
    assert_eq!(history_len(&http, &operator_token, &case), before + 1);

    // A refusal by the rules comes back to the page; a malformed form is a clear 400.
    let r = form_post(
        &http,
        &act,
        Some(&cookie),
        Some(&origin),
        "kind=reopen&reason=x",
    );
    assert_eq!(r.status, 303);
    let refused = r.header("location").expect("back to the case");
    assert!(
        refused.starts_with(&format!("/cases/{case}?refused=")),
        "{refused}"
    );
    assert!(page(&http, refused, &cookie).text().contains("操作被拒绝"));
    let r = form_post(&http, &act, Some(&cookie), Some(&origin), "note=no-kind");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = form_post(&http, &act, Some(&cookie), Some(&origin), "kind=dispatch");
    assert!(
        r.header("location").is_some_and(|l| l.contains("refused=")),
        "unit missing"
    );

    // Without Origin, a same-origin Sec-Fetch-Site will do; behind a proxy the forwarded
    // host counts as ours.
    let before = history_len(&http, &operator_token, &case);
    assert_eq!(fetched("same-origin"), 303);
    let proxied = [
        ("cookie", cookie.as_str()),
        ("origin", "https://console.district.example"),
        ("x-forwarded-host", "console.district.example"),
    ];
    let r = form_post_with(&http, &act, &proxied, comment);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(history_len(&http, &operator_token, &case), before + 2);

    // A link cannot put words on the page: a refusal is named by code only.
    let spoof = page(
        &http,
        &format!("/cases/{case}?refused=%E8%B4%A6%E5%8F%B7%E5%B7%B2%E5%86%BB%E7%BB%93"),
        &cookie,
    )
    .text();
    assert!(
        spoof.contains("操作未能完成") && !spoof.contains("账号已冻结"),
        "{spoof}"
    );

    // The session cookie is no refresh token, whichever way it is presented.
    let token = cookie.trim_start_matches("gc_session=");
    for presented in [token.to_owned(), format!("console-session:{token}")] {
        let r = http.json(
            "POST",
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": presented})),
        );
        assert_eq!(r.status, 401, "{}", r.text());
    }
    assert_eq!(
        page(&http, "/cases", &cookie).status,
        200,
        "and it still works"
    );

    // Another site cannot sign a browser in.
    let form = format!("username=operator&password={PASSWORD}");
    let r = form_post(&http, "/login", None, Some("http://evil.example"), &form);
    assert_eq!(r.status, 403);
    assert!(r.header("set-cookie").is_none());

    // Nothing a request names reaches a Location header unchecked.
    let r = form_post(
        &http,
        "/cases/x%0D%0ASet-Cookie:%20a=b/act",
        Some(&cookie),
        Some(&origin),
        comment,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let form =
        format!("username=operator&password={PASSWORD}&next=%2Fcases%0D%0ASet-Cookie:%20a=b");
    let r = form_post(&http, "/login", None, None, &form);
    assert_eq!((r.status, r.header("location")), (303, Some("/queue")));

    // Filing and evaluating from the page's forms, through the same commands as the API.
    let file = "kind=file&category=C0105&level=urgent&unit=u1";
    let r = form_post(&http, &act, Some(&cookie), Some(&origin), file);
    assert_eq!(
        r.header("location"),
        Some(format!("/cases/{case}?done=file").as_str())
    );
    let state = &http
        .get(&format!("/v1/cases/{case}"), Some(&operator_token))
        .json()["state"];
    assert_eq!(
        (state["status"].as_str(), state["category"].as_str()),
        (Some("filed"), Some("C0105"))
    );
    assert_eq!(state["level"], "urgent");
    assert!(page(&http, "/cases?step=2", &cookie)
        .text()
        .contains("路灯不亮"));
    assert!(!page(&http, "/cases?step=1", &cookie)
        .text()
        .contains("路灯不亮"));
    let unit1 = http.login("unit1");
    for (token, action) in [
        (
            &operator_token,
            json!({"kind": "dispatch", "payload": {"unit": "u1"}}),
        ),
        (
            &unit1,
            json!({"kind": "feedback", "payload": {"resolved": true}}),
        ),
        (
            &operator_token,
            json!({"kind": "verify", "payload": {"resolved": true}}),
        ),
        (&operator_token, json!({"kind": "close", "payload": {}})),
    ] {
        post_action(&http, token, &case, action);
    }
    let evaluate = "kind=evaluate&satisfaction=basic&solved=true&note=";
    let r = form_post(&http, &act, Some(&cookie), Some(&origin), evaluate);
    assert_eq!(
        r.header("location"),
        Some(format!("/cases/{case}?done=evaluate").as_str())
    );
    let state = &http
        .get(&format!("/v1/cases/{case}"), Some(&operator_token))
        .json()["state"];
    assert_eq!(
        (state["status"].as_str(), state["satisfaction"].as_str()),
        (Some("evaluated"), Some("basic"))
    );

    // Pages of 50, the next one linked with the filters kept.
    for i in 0..53 {
        let r = http.json(
            "POST",
            "/v1/cases",
            Some(&operator_token),
            Some(
                json!({"channel": "walk_in", "description": format!("井盖缺失 {i}"), "grid": "g3"}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let first = page(&http, "/cases?grid=g3", &cookie).text();
    assert_eq!(first.matches("<tr data-case=").count(), 50);
    let next = first
        .split("class=\"next\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a next-page link")
        .replace("&amp;", "&");
    assert!(
        next.contains("grid=g3") && next.contains("cursor="),
        "{next}"
    );
    let second = page(&http, &next, &cookie).text();
    assert_eq!(second.matches("<tr data-case=").count(), 3);
    assert!(!second.contains("class=\"next\""));

    // Scope: a grid worker of g4 sees neither the g1 case nor the review queue.
    let worker = sign_in(&http, "worker3");
    assert!(!page(&http, "/cases", &worker).text().contains("路灯不亮"));
    assert_eq!(page(&http, &format!("/cases/{case}"), &worker).status, 404);
    assert_eq!(page(&http, "/review", &worker).status, 403);
    assert_eq!(page(&http, "/performance", &worker).status, 403);

    let tampered = format!("{}0", cookie);
    assert_eq!(page(&http, "/cases", &tampered).status, 303);
    let out = form_post(&http, "/logout", Some(&cookie), Some(&origin), "");
    assert_eq!(out.status, 303);
    assert!(out
        .header("set-cookie")
        .is_some_and(|c| c.contains("Max-Age=0")));
    let r = page(&http, "/cases", &cookie);
    assert_eq!(r.status, 303, "the old cookie no longer works");
    assert_eq!(page(&http, "/v1/me", &cookie).status, 401);
    drop(server);

    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &["--console-session-ttl", "1"]);
    let http = Http::with_redirects(server.addr, 0);
    let cookie = sign_in(&http, "operator");
    assert_eq!(page(&http, "/cases", &cookie).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(
        page(&http, "/cases", &cookie).status,
        303,
        "an expired session signs in again"
    );
}

/// Cases taken around the whole loop for unit u1 (one with a rework), so that the performance
/// page has closings, reworks and satisfaction to show.
fn closed_cases(http: &Http) {
    let operator = http.login("operator");
    let unit1 = http.login("unit1");
    let plan = [
        ("g2", "E0102", "satisfied", false, 60_000),
        ("g3", "C0105", "basic", true, 60_000),
        ("g2", "E0101", "satisfied", false, 60_000),
        ("g3", "E0102", "dissatisfied", false, -60_000),
    ];
    for (i, (grid, category, satisfaction, rework, deadline)) in plan.into_iter().enumerate() {
        let r = http.json(
            "POST",
            "/v1/cases",
            Some(&operator),
            Some(json!({"channel": "walk_in", "description": format!("来访反映问题 {i}"), "grid": grid})),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let case = r.json()["case"].as_str().expect("case").to_owned();
        post_action(
            http,
            &operator,
            &case,
            json!({"kind": "file", "payload": {"category": category, "level": "general", "units": ["u1"]}}),
        );
        post_action(
            http,
            &operator,
            &case,
            json!({"kind": "dispatch", "payload": {"unit": "u1", "deadline": now() + deadline}}),
        );
        let feedback = json!({"kind": "feedback", "payload": {"resolved": true, "note": "已处理"}});
        post_action(http, &unit1, &case, feedback.clone());
        if rework {
            post_action(
                http,
                &operator,
                &case,
                json!({"kind": "verify", "payload": {"resolved": false}}),
            );
            post_action(http, &unit1, &case, feedback);
        }
        post_action(
            http,
            &operator,
            &case,
            json!({"kind": "verify", "payload": {"resolved": true}}),
        );
        post_action(
            http,
            &operator,
            &case,
            json!({"kind": "close", "payload": {}}),
        );
        post_action(
            http,
            &operator,
            &case,
            json!({"kind": "evaluate", "payload": {"satisfaction": satisfaction}}),
        );
    }
}

#[test]
fn the_console_in_chromium_signs_in_filters_resolves_a_conflict_and_updates_live() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (browser, server, shots) = browser_test(tmp.path());
    let base = format!("http://{}", server.addr);
    let http = server.http();
    let operator = http.login("operator");

    // A conflicted case: two grid workers verify offline and disagree.
    let worker1 = Device::register(&server, "worker1");
    let worker2 = Device::register(&server, "worker2");
    let conflicted = case_awaiting_verification(&server, &worker1);
    worker1.sync().expect("worker1 catches up");
    worker2.sync().expect("worker2 receives the case");
    worker1
        .act(&conflicted, verify(true), now())
        .expect("verify");
    worker1
        .act(
            &conflicted,
            Action::Close {
                note: "已恢复".into(),
            },
            now() + 1,
        )
        .expect("close");
    worker2
        .act(&conflicted, verify(false), now() + 2)
        .expect("not resolved");
    // A handheld of a later release annotated a photo: kept and shown, without effect.
    worker1.write_later_release(
        &conflicted,
        "photo_annotation",
        r#"{"arrows":[]}"#,
        now() + 3,
    );
    worker1.sync().expect("worker1 reconnects");
    worker2.sync().expect("worker2 reconnects");
    // Plain cases around it, one of them past its deadline.
    let quiet = worker1.open(patrol("共享单车乱停放"), now());
    worker1.sync().expect("sync");
    for (description, grid) in [("垃圾桶满溢", "g2"), ("绿地被占用", "g4")] {
        let r = http.json(
            "POST",
            "/v1/cases",
            Some(&operator),
            Some(json!({"channel": "patrol", "description": description, "grid": grid})),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let file = json!({"kind": "file", "payload": {"category": "C0105", "level": "urgent", "units": ["u2"]}});
    post_action(&http, &operator, &quiet, file);
    let dispatch =
        json!({"kind": "dispatch", "payload": {"unit": "u2", "deadline": now() - 3_600_000}});
    post_action(&http, &operator, &quiet, dispatch);

    closed_cases(&http);

    browser.goto(&format!("{base}/cases"));
    assert!(browser.url().contains("/login?next="), "{}", browser.url());
    sign_in_page(&browser, "operator");
    browser.wait_for(
        "the case list",
        "return !!document.querySelector('table.cases');",
    );
    assert_eq!(browser.find_all("table.cases tbody tr").len(), 8);
    assert_eq!(
        browser.find_all("tr.conflict").len(),
        1,
        "the conflicted case stands out"
    );
    assert_eq!(
        browser.find_all("tr.overdue").len(),
        2,
        "the overdue cases stand out: one open past its deadline, one closed late"
    );
    browser.wait_for(
        "the live stream",
        "return document.getElementById('live-status').classList.contains('on');",
    );
    browser.screenshot(&shots.join("cases.png"));

    // Filter: grid g1 has three cases; with "conflicted" only one remains.
    browser.find("select[name=grid] option[value=g1]").click();
    browser.find("#filters button[type=submit]").click();
    browser.wait_for(
        "the grid filter",
        "return location.search.includes('grid=g1');",
    );
    assert_eq!(browser.find_all("table.cases tbody tr").len(), 2);
    browser.find("input[name=conflict]").click();
    browser.find("#filters button[type=submit]").click();
    browser.wait_for(
        "the conflict filter",
        "return location.search.includes('conflict=1');",
    );
    let rows = browser.find_all("table.cases tbody tr");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].attribute("data-case").as_deref(),
        Some(conflicted.as_str())
    );

    // The case page: merged timeline with the superseded verification, and the conflict.
    browser.find("table.cases tbody tr a").click();
    browser.wait_for(
        "the case page",
        "return !!document.getElementById('timeline');",
    );
    assert_eq!(browser.find_all("table.timeline tbody tr").len(), 8);
    assert_eq!(browser.find_all("tr.superseded").len(), 1);
    let later = browser.find("tr.unknown");
    assert!(
        later.text().contains("本版本不认识的操作") && later.text().contains("photo_annotation"),
        "{}",
        later.text()
    );
    let card = browser.find(".conflict-card:not(.resolved)");
    assert!(
        card.text().contains("并发操作") && card.text().contains("未看到"),
        "{}",
        card.text()
    );
    browser.resize(1400, 1500);
    browser.screenshot(&shots.join("case.png"));
    browser.resize(1400, 1000);

    browser.goto(&format!("{base}/review"));
    assert_eq!(browser.find_all("table.review tbody tr").len(), 1);
    assert!(browser
        .text()
        .contains("核查（worker2）是在未看到结案（worker1）的情况下做出的"));
    browser.screenshot(&shots.join("review.png"));

    browser.goto(&format!("{base}/cases/{conflicted}"));
    // Both sides are offered, each saying what it leaves: keep the closing (still closed), or
    // side with the worker who found it not fixed (back to rework).
    let sides = browser.find(".conflict-card fieldset.decision").text();
    assert!(
        sides.contains("已结案") && sides.contains("返工"),
        "each side says what it will do: {sides}"
    );
    browser
        .find(".conflict-card input[name=decision][value=adopt]")
        .click();
    browser
        .find(".conflict-card input[name=note]")
        .type_text("现场复核未修复，重新处置");
    browser.find(".conflict-card button.resolve").click();
    browser.wait_for(
        "the resolution",
        "return location.search.includes('done=adopt');",
    );
    assert!(browser.try_find(".conflict-card:not(.resolved)").is_none());
    assert_eq!(browser.find_all(".conflict-card.resolved").len(), 1);
    assert!(browser.find(".state .status").text().contains("返工"));
    let view = http
        .get(&format!("/v1/cases/{conflicted}"), Some(&operator))
        .json();
    assert_eq!(view["state"]["status"], "rework", "adopted: {view}");
    assert_eq!(
        view["state"]["closed_at"],
        serde_json::Value::Null,
        "{view}"
    );
    let queue = http.get("/v1/review/conflicts", Some(&operator)).json();
    assert_eq!(queue.as_array().map(Vec::len), Some(0), "{queue}");

    // The list changed: no conflicted case is left.
    browser.goto(&format!("{base}/cases?conflict=1"));
    assert!(browser.try_find("table.cases").is_none());
    assert!(browser
        .find("p.empty")
        .text()
        .contains("没有符合条件的案件"));

    // The search box finds a case by the number a caller reads out, however it is typed.
    let view = http
        .get(&format!("/v1/cases/{quiet}"), Some(&operator))
        .json();
    let number = view["number"].as_str().expect("numbered").to_owned();
    browser.goto(&format!("{base}/cases"));
    browser
        .find("input[name=q]")
        .type_text(&number.to_lowercase());
    browser.find("#filters button[type=submit]").click();
    browser.wait_for(
        "the number search",
        "return location.search.includes('q=');",
    );
    let rows = browser.find_all("table.cases tbody tr");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].attribute("data-case").as_deref(),
        Some(quiet.as_str())
    );
    assert!(rows[0].text().contains(&number), "{}", rows[0].text());

    // Live: a handheld's sync shows up in the open list without a reload.
    browser.goto(&format!("{base}/cases"));
    browser.wait_for(
        "the live stream",
        "return document.getElementById('live-status').classList.contains('on');",
    );
    browser.script("window.__sameDocument = true; return true;");
    // With a photo (the list's screenshot), uploaded once the case is synced, as the
    // handheld does.
    let photo = std::fs::read(shots.join("cases.png")).expect("a PNG");
    let sha = hex::encode(Sha256::digest(&photo));
    let fresh = worker2.open(patrol("消防通道被堵"), now());
    let blob = Blob {
        sha256: sha.clone(),
        mime: "image/png".into(),
        size: photo.len() as u64,
        name: Some("现场.png".into()),
    };
    worker2.attach(&fresh, vec![blob], now()).expect("attach");
    worker2.sync().expect("worker2 syncs a new report");
    let length = photo.len().to_string();
    let upload = worker2
        .http
        .send(
            "PUT",
            &format!("/v1/blobs/{sha}"),
            Some(&worker2.token),
            &[("upload-offset", "0"), ("upload-length", &length)],
            Some(photo),
        )
        .expect("upload");
    assert!(upload.status < 300, "{}", upload.text());
    browser.wait_for(
        "the new report in the list",
        &format!("return !!document.querySelector('tr[data-case=\"{fresh}\"]');"),
    );
    assert_eq!(
        browser.script("return window.__sameDocument === true;"),
        json!(true),
        "no reload"
    );

    // Live on the case page: an event synced by a handheld appears in the open timeline.
    browser.goto(&format!("{base}/cases/{fresh}"));
    browser.wait_for(
        "the live stream",
        "return document.getElementById('live-status').classList.contains('on');",
    );
    let rows_before = browser.find_all("table.timeline tbody tr").len();
    worker2
        .act(
            &fresh,
            Action::Comment {
                text: "已通知物业".into(),
            },
            // Written half an hour before the handheld got a connection.
            now() - 30 * 60_000,
        )
        .expect("comment");
    worker2.sync().expect("sync the comment");
    browser.wait_for(
        "the comment in the timeline",
        &format!(
            "return document.querySelectorAll('table.timeline tbody tr').length === {};",
            rows_before + 1
        ),
    );
    assert!(browser.text().contains("已通知物业"));
    let offline = browser.find("table.timeline tbody tr:last-child .badge.offline");
    assert_eq!(offline.text(), "离线");
    browser.wait_for(
        "the photo",
        &format!("const i = document.querySelector('.photos img[src=\"/v1/blobs/{sha}\"]'); return !!i && i.complete && i.naturalWidth > 0;"),
    );

    // Dispatch from the page, as the district center may once the case is filed.
    let file = json!({"kind": "file", "payload": {"category": "E0101", "level": "general"}});
    post_action(&http, &operator, &fresh, file);
    browser.goto(&format!("{base}/cases/{fresh}"));
    browser
        .find("form[data-kind=dispatch] select[name=unit] option[value=u3]")
        .click();
    browser.find("form[data-kind=dispatch] button").click();
    browser.wait_for(
        "the dispatch",
        "return location.search.includes('done=dispatch');",
    );
    let view = http
        .get(&format!("/v1/cases/{fresh}"), Some(&operator))
        .json();
    assert_eq!(view["state"]["status"], "dispatched", "{view}");
    assert_eq!(view["state"]["assigned_unit"], "u3");

    browser.goto(&format!("{base}/performance?by=unit"));
    assert_eq!(browser.find_all("figure.chart svg").len(), 6);
    assert!(
        browser.find_all("figure.chart rect").len() >= 3,
        "bars for u1's rates"
    );
    // Ranked by score: u1's row, wherever it ranks, names the unit after its rank.
    let u1 = browser
        .find("table.indicators tbody tr[data-group=u1] th")
        .text();
    assert_eq!(u1, "城管执法队");
    assert!(browser.text().contains("按期结案率"));
    browser.screenshot(&shots.join("performance.png"));

    // A rate opens the cases of its denominator, each with what it adds, summed above them:
    // u1's rework rate is its failed verifications over its verifications.
    browser
        .find("table.indicators tbody tr[data-group=u1] a[data-rate=rework_rate]")
        .click();
    browser.wait_for(
        "the cases behind the rework rate",
        "return location.pathname === '/cases' && location.search.includes('figure=verifications');",
    );
    let sums = browser.find("#figure-sums").text();
    assert!(
        sums.contains("核查数") && sums.contains("返工数"),
        "the list sums the rate's parts: {sums}"
    );
    assert!(
        browser
            .find("#drill")
            .text()
            .contains("城管执法队 · 核查数"),
        "{}",
        browser.find("#drill").text()
    );
    browser.screenshot(&shots.join("cases-figure.png"));
    browser.goto(&format!("{base}/performance?by=unit"));

    // English, then back.
    browser.find("#lang-switch").click();
    browser.wait_for("English", "return document.documentElement.lang === 'en';");
    assert!(
        browser.text().contains("On-time rate"),
        "{}",
        browser.text()
    );
    browser.goto(&format!("{base}/cases"));
    assert!(browser.text().contains("Cases"));
    browser.find("#lang-switch").click();
    browser.wait_for(
        "Chinese",
        "return document.documentElement.lang === 'zh-CN';",
    );

    // Many tabs share one stream: eight live tabs and a form posted from the last one (a
    // stream per tab would fill the browser's six connections to the server and stall it),
    // live updates in a tab that does not hold the stream, and a handover when the one that
    // holds it closes.
    let first = browser.tab();
    browser.goto(&format!("{base}/cases"));
    let live_on = "return document.getElementById('live-status').classList.contains('on');";
    browser.wait_for("the live stream", live_on);
    for _ in 0..7 {
        browser.new_tab();
        browser.goto(&format!("{base}/cases"));
        browser.wait_for("the shared live stream", live_on);
    }
    browser.goto(&format!("{base}/cases/{fresh}"));
    browser
        .find("form[data-kind=comment] input[name=note]")
        .type_text("第八个标签页");
    browser.find("form[data-kind=comment] button").click();
    browser.wait_for(
        "the comment from the eighth tab",
        "return location.search.includes('done=comment');",
    );
    let last = browser.tab();
    for (tab, description) in [(None, "路面塌陷"), (Some(first), "树木倒伏")] {
        if let Some(tab) = tab {
            browser.switch_to(&tab);
            browser.close_tab();
        }
        browser.switch_to(&last);
        browser.goto(&format!("{base}/cases"));
        browser.wait_for("the shared live stream", live_on);
        let case = worker2.open(patrol(description), now());
        worker2.sync().expect("sync");
        browser.wait_for(
            "a new report in a tab without the stream",
            &format!("return !!document.querySelector('tr[data-case=\"{case}\"]');"),
        );
    }

    // Scope: worker3 (grid g4) sees only g4's case.
    browser.find("header form button").click();
    browser.wait_for("sign-in", "return location.pathname === '/login';");
    sign_in_page(&browser, "worker3");
    browser.wait_for("the work queue", "return location.pathname === '/queue';");
    browser.goto(&format!("{base}/cases"));
    let text = browser.text();
    assert!(
        text.contains("绿地被占用") && !text.contains("垃圾桶满溢"),
        "{text}"
    );
    assert!(browser.try_find("a[href='/review']").is_none());
}

/// An event of a later release is on the case page as an action this version does not know,
/// with the kind it was stored under, and nothing else on the page changes for it.
#[test]
fn the_case_page_shows_a_later_release_event_as_not_understood() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let worker = Device::register(&server, "worker1");
    let case = worker.open(patrol("路灯不亮"), now());
    worker.write_later_release(&case, "photo_annotation", r#"{"arrows":[]}"#, now() + 1_000);
    let report = worker.sync().expect("sync");
    assert!(report.notices.is_empty(), "{:?}", report.notices);
    let http = Http::with_redirects(server.addr, 0);
    let cookie = sign_in(&http, "operator");
    let html = page(&http, &format!("/cases/{case}"), &cookie).text();
    assert!(html.contains("本版本不认识的操作"), "{html}");
    assert!(html.contains("photo_annotation"));
    assert!(html.contains("需更新版本"));
    let both = format!("{cookie}; gc_lang=en");
    let en = page(&http, &format!("/cases/{case}"), &both).text();
    assert!(en.contains("An action this version does not know"), "{en}");
}

/// The desk's new-case form for one whole call, as the page posts it.
fn call_form(token: &str) -> Vec<(&'static str, String)> {
    [
        ("token", token),
        ("caller_name", "王女士"),
        ("phone", "138 1234 5678"),
        ("callback", "yes"),
        ("business_type", "complaint"),
        ("address", "韶九胡同8号, 东华门街道"),
        ("grid", "g1"),
        ("lon", ""),
        ("lat", ""),
        ("category", "C0101"),
        ("level", "urgent"),
        ("description", "井盖松动，车辆经过有响声"),
        ("suggestion", "尽快加固"),
        ("lead", "u1 城管执法队"),
        ("cooperating", "u2"),
        ("responsible", "张队长"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// The form with one field replaced.
fn with(
    mut form: Vec<(&'static str, String)>,
    name: &str,
    value: &str,
) -> Vec<(&'static str, String)> {
    for (k, v) in &mut form {
        if *k == name {
            *v = value.to_owned();
        }
    }
    form
}

fn post_call(http: &Http, cookie: &str, origin: &str, form: &[(&'static str, String)]) -> Reply {
    let body = serde_urlencoded::to_string(form).expect("a form body");
    form_post(http, "/cases/new", Some(cookie), Some(origin), &body)
}

/// The token (the case id to be) of a rendered new-case form.
fn token_of(html: &str) -> String {
    html.split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token")
        .to_owned()
}

fn case_count(http: &Http, token: &str) -> usize {
    listed(http, "/v1/cases?limit=500", token, "cases")
}

#[test]
fn the_desk_opens_one_case_per_form_and_names_each_bad_field() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = Http::with_redirects(server.addr, 0);
    let origin = format!("http://{}", server.addr);
    let operator = http.login("operator");
    let cookie = sign_in(&http, "operator");

    // One click from every page, for a center.
    assert!(page(&http, "/cases", &cookie)
        .text()
        .contains(r#"id="new-case" href="/cases/new""#));
    let blank = page(&http, "/cases/new", &cookie);
    assert_eq!(blank.status, 200, "{}", blank.text());
    let token = token_of(&blank.text());
    assert_ne!(
        token,
        token_of(&page(&http, "/cases/new", &cookie).text()),
        "a token per form"
    );

    // One save: intake, confirmation, filing and dispatch, written together.
    let form = call_form(&token);
    let r = post_call(&http, &cookie, &origin, &form);
    assert_eq!(r.status, 303, "{}", r.text());
    let saved = format!("/cases/new?saved={token}");
    assert_eq!(r.header("location"), Some(saved.as_str()));
    let view = http
        .get(&format!("/v1/cases/{token}"), Some(&operator))
        .json();
    let kinds: Vec<&str> = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["event"]["action"]["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["intake", "confirm", "file", "dispatch"], "{view}");
    let state = &view["state"];
    assert_eq!(state["status"], "dispatched");
    assert_eq!(state["business_type"], "complaint");
    assert_eq!(state["channel"], "hotline");
    assert_eq!(state["category"], "C0101");
    assert_eq!(state["level"], "urgent");
    assert_eq!(
        state["assigned_unit"], "u1",
        "the dispatch goes to the lead"
    );
    assert_eq!(state["units_involved"], json!(["u1", "u2"]));
    assert_eq!(state["responsible"], "张队长");
    assert_eq!(state["callback"], true);
    assert_eq!(state["territory"]["grid"], "g1");
    let intake = &view["history"][0]["event"]["action"]["payload"];
    assert_eq!(intake["business_type"], "complaint");
    // The caller is in the register beside the case, never in the replicated document.
    assert_eq!(intake["reporter"], serde_json::Value::Null);
    assert_eq!(view["callers"][0]["name"], "王女士");
    assert_eq!(view["callers"][0]["phone"], "13812345678");
    let shown = page(&http, &saved, &cookie).text();
    assert!(
        shown.contains("已受理") && shown.contains(&format!("id=\"saved-case\">{token}<")),
        "{shown}"
    );
    let case_page = page(&http, &format!("/cases/{token}"), &cookie).text();
    assert!(
        case_page.contains("id=\"business-type\">投诉<"),
        "{case_page}"
    );

    // The same form again (a resend, a restored draft) answers with the same case.
    let again = post_call(&http, &cookie, &origin, &form);
    assert_eq!(again.status, 303, "{}", again.text());
    assert_eq!(
        again.header("location"),
        Some(format!("{saved}&again=1").as_str())
    );
    assert!(page(&http, &format!("{saved}&again=1"), &cookie)
        .text()
        .contains("此表单已保存过"));
    // A double click: two sends at once, one case.
    let token2 = token_of(&page(&http, "/cases/new", &cookie).text());
    let form2 = call_form(&token2);
    let sends: Vec<_> = (0..2)
        .map(|_| {
            let (http, cookie, origin, form) =
                (http.clone(), cookie.clone(), origin.clone(), form2.clone());
            std::thread::spawn(move || post_call(&http, &cookie, &origin, &form).status)
        })
        .collect();
    for send in sends {
        assert_eq!(send.join().expect("a send"), 303);
    }
    assert_eq!(case_count(&http, &operator), 2, "two forms, two cases");
    assert_eq!(history_len(&http, &operator, &token2), 4);

    // Each bad input: a message beside its field, every value as typed, nothing written.
    let token3 = token_of(&page(&http, "/cases/new", &cookie).text());
    let good = call_form(&token3);
    for (field, value, message) in [
        ("phone", "12345", "不是有效的电话号码"),
        ("phone", "62345678", "固定电话须带区号"),
        ("category", "C9999", "类别目录中没有这个类别"),
        ("lead", "u9", "没有这个单位"),
        ("description", " ", "此项必填"),
        ("business_type", "", "此项必填"),
        ("address", "不存在的路1号", "地址库中找不到这个地址"),
    ] {
        let mut bad = with(good.clone(), field, value);
        if field == "address" {
            bad = with(bad, "grid", "");
        }
        let r = post_call(&http, &cookie, &origin, &bad);
        assert_eq!(r.status, 422, "{field}: {}", r.text());
        let html = r.text();
        assert!(
            html.contains(&format!("aria-describedby=\"e-{field}\""))
                && html.contains(&format!(
                    "<span class=\"field-error\" id=\"e-{field}\">{message}"
                )),
            "{field}: {html}"
        );
        assert!(html.contains("请修改下面标出的内容"), "{field}");
        assert_eq!(token_of(&html), token3, "{field}: the same form");
        for kept in ["王女士", "尽快加固", "张队长"] {
            assert!(html.contains(kept), "{field}: {kept} was lost");
        }
        if field != "description" {
            assert!(html.contains("井盖松动，车辆经过有响声"), "{field}");
        }
        if !value.trim().is_empty() {
            assert!(
                html.contains(&format!("value=\"{value}\"")),
                "{field}: {value} was lost"
            );
        }
    }
    assert_eq!(case_count(&http, &operator), 2, "nothing written");
    // In English too.
    let en = format!("{cookie}; gc_lang=en");
    let r = post_call(&http, &en, &origin, &with(good.clone(), "phone", "12345"));
    assert!(r.text().contains("Not a phone number"), "{}", r.text());

    // Another user's token opens nothing and reveals nothing: a fresh form comes back.
    let community = sign_in(&http, "community1");
    let r = post_call(
        &http,
        &community,
        &origin,
        &with(form.clone(), "description", "冒用"),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("此表单已失效"), "{}", r.text());
    assert_ne!(token_of(&r.text()), token);
    assert_eq!(history_len(&http, &operator, &token), 4);

    // Only a center takes calls at the desk.
    for user in ["worker1", "unit1", "supervisor"] {
        let c = sign_in(&http, user);
        assert_eq!(page(&http, "/cases/new", &c).status, 403, "{user}");
        assert!(
            !page(&http, "/cases", &c).text().contains("id=\"new-case\""),
            "{user}"
        );
    }

    // The address search behind the address box: scoped to the caller's grids.
    let query = |q: &str| serde_urlencoded::to_string([("q", q)]).expect("query");
    let found = http
        .get(
            &format!("/v1/addresses?{}", query("韶九胡同 8")),
            Some(&operator),
        )
        .json();
    assert_eq!(found[0]["text"], "韶九胡同8号, 东华门街道", "{found}");
    assert_eq!(found[0]["grid"], "g1");
    assert_eq!(found[0]["community_name"], "韶九社区");
    let community_token = http.login("community1");
    let all = http
        .get(
            &format!("/v1/addresses?limit=50&{}", query("号")),
            Some(&community_token),
        )
        .json();
    let grids: std::collections::BTreeSet<&str> = all
        .as_array()
        .expect("matches")
        .iter()
        .filter_map(|a| a["grid"].as_str())
        .collect();
    assert!(
        !grids.is_empty() && grids.iter().all(|g| ["g1", "g2"].contains(g)),
        "{grids:?}"
    );
    let unit = http.login("unit1");
    assert_eq!(http.get("/v1/addresses?q=x", Some(&unit)).status, 403);
    assert_eq!(http.get("/v1/addresses?q=x", None).status, 401);
    assert_eq!(
        http.get("/v1/addresses?q=x&limit=0", Some(&operator))
            .status,
        400
    );
    let long = query(&"路".repeat(501));
    assert_eq!(
        http.get(&format!("/v1/addresses?{long}"), Some(&operator))
            .status,
        400
    );
}

#[test]
fn the_desk_in_chromium_takes_a_call_by_keyboard_and_keeps_a_draft() {
    use webdriver::key::{ARROW_DOWN, ENTER, ESCAPE, TAB};
    let tmp = tempfile::tempdir().expect("tempdir");
    let (browser, server, shots) = browser_test(tmp.path());
    let base = format!("http://{}", server.addr);
    let http = server.http();
    let operator = http.login("operator");
    browser.goto(&format!("{base}/login"));
    sign_in_page(&browser, "operator");
    browser.wait_for("the work queue", "return location.pathname === '/queue';");

    // `n` from any page opens the desk, the caller's name first.
    browser.keys("n");
    browser.wait_for("the desk", "return location.pathname === '/cases/new';");
    assert_eq!(browser.focused(), "f-caller_name");

    // The call, in its order, on the keyboard alone.
    browser.keys(&format!("王女士{TAB}138 1234 5678{TAB}"));
    assert_eq!(browser.focused(), "f-caller_address", "optional: passed by");
    browser.keys(TAB);
    assert_eq!(browser.focused(), "f-anonymous");
    browser.keys(&format!(
        "{TAB}{TAB}{ARROW_DOWN}{ARROW_DOWN}{ARROW_DOWN}{ENTER}"
    ));
    assert_eq!(browser.focused(), "f-address", "Enter moves on");
    browser.keys("韶九胡同8");
    browser.wait_for(
        "the register's matches",
        "return document.querySelectorAll('#address-options li[role=option]').length > 0;",
    );
    assert!(browser
        .find("#address-options li[role=option]")
        .text()
        .starts_with("韶九胡同8号"));
    browser.keys(&format!("{ARROW_DOWN}{ENTER}"));
    assert_eq!(
        browser.focused(),
        "f-category",
        "a picked address moves on to what"
    );
    assert_eq!(
        browser.script("return [document.getElementById('f-address').value, document.getElementById('f-grid').value, document.getElementById('place').textContent];"),
        json!(["韶九胡同8号, 东华门街道", "g1", "东华门街道 / 韶九社区 / 韶九第一网格"])
    );
    browser.keys("上水井盖");
    browser.wait_for(
        "the category's matches",
        "return document.querySelectorAll('#categories-options li[role=option]').length > 0;",
    );
    browser.keys(ENTER);
    assert_eq!(browser.focused(), "f-level");
    browser.keys(&format!(
        "{ARROW_DOWN}{ARROW_DOWN}{ENTER}井盖松动，车辆经过有响声{TAB}尽快加固{TAB}城管"
    ));
    browser.wait_for(
        "the units' matches",
        "return document.querySelectorAll('#units-options li[role=option]').length > 0;",
    );
    browser.keys(ENTER);
    assert_eq!(browser.focused(), "f-cooperating");
    browser.keys(&format!("{ARROW_DOWN}{ARROW_DOWN}{ENTER}张队长"));
    assert_eq!(
        browser.script("const f = document.getElementById('call-form').elements; return [f.category.value, f.level.value, f.lead.value, [...f.cooperating.selectedOptions].map(o => o.value), f.business_type.value];"),
        json!(["C0101 上水井盖", "urgent", "u1 城管执法队", ["u2"], "complaint"])
    );
    // Esc clears a field; the draft keeps everything else.
    browser.keys(&format!("{ESCAPE}张队长"));
    browser.resize(1400, 900);
    browser.screenshot(&shots.join("new-case.png"));
    browser.resize(1400, 1000);

    // Enter in the last field saves; the page shows the case to read to the caller.
    browser.keys(ENTER);
    browser.wait_for("the save", "return location.search.includes('saved=');");
    let case = browser.find("#saved-case").text();
    assert_eq!(case.len(), 32, "{case}");
    let view = http
        .get(&format!("/v1/cases/{case}"), Some(&operator))
        .json();
    assert_eq!(view["state"]["status"], "dispatched", "{view}");
    assert_eq!(view["state"]["business_type"], "complaint");
    assert_eq!(view["state"]["responsible"], "张队长");
    assert_eq!(view["state"]["territory"]["grid"], "g1");
    assert_eq!(
        browser.focused(),
        "f-caller_name",
        "ready for the next call"
    );
    assert!(browser.try_find("#draft-restored:not([hidden])").is_none());
    browser.find("#saved-link").click();
    browser.wait_for(
        "the case page",
        "return !!document.getElementById('timeline');",
    );
    assert_eq!(browser.find("#business-type").text(), "投诉");

    // Nothing typed is lost: a draft outlives leaving the page and a server restart.
    browser.keys("n");
    browser.wait_for("the desk", "return location.pathname === '/cases/new';");
    browser.keys(&format!("李先生{TAB}010-6234 5678"));
    browser.find("#f-description").type_text("路灯不亮");
    browser.goto(&format!("{base}/cases"));
    let _server = server.restart(&[]);
    browser.goto(&format!("{base}/cases"));
    browser.wait_for("the case list", "return location.pathname === '/cases';");
    browser.keys("n");
    browser.wait_for("the desk", "return location.pathname === '/cases/new';");
    browser.wait_for(
        "the restored draft",
        "return !document.getElementById('draft-restored').hidden;",
    );
    assert_eq!(
        browser.script("const f = document.getElementById('call-form').elements; return [f.caller_name.value, f.phone.value, f.description.value];"),
        json!(["李先生", "010-6234 5678", "路灯不亮"])
    );
}
