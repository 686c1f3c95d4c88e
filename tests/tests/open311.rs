//! Open311 GeoReport v2 against the real server: every resource in JSON and XML, checked
//! against the fields and element names of the specification's examples
//! (http://wiki.open311.org/GeoReport_v2), the error format, the limits, and that personal
//! data never comes back.

use gridcase_tests::scenario::{demo_server, post_action};
use gridcase_tests::{url_encode as encode, Http, Reply, Server};
use serde_json::Value;
use std::collections::BTreeSet;

const KEY: &str = "demo-open311-key";
/// Inside grid g1 of the demo district.
const LAT: &str = "39.912";
const LONG: &str = "116.402";
/// A filing's form in the demo district: the key, service E0101 and coordinates in grid g1.
const FILING: [(&str, &str); 4] = [
    ("api_key", KEY),
    ("service_code", "E0101"),
    ("lat", LAT),
    ("long", LONG),
];

/// What a hotline caller said, as staff wrote it: a name and a number never to be published.
const HOTLINE_CALL: &str = "caller Li Lei at 13900000000 reports a blocked drain";

/// The fields of one service request in the specification's `GET requests` example.
const REQUEST_FIELDS: [&str; 17] = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
];

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// The content type GeoReport v2 gives each format.
fn content_type(format: &str) -> &'static str {
    match format {
        "json" => "application/json; charset=utf-8",
        _ => "text/xml; charset=utf-8",
    }
}

/// Asserts that an XML answer is well-formed to a strict parser (which also refuses the
/// characters XML 1.0 forbids).
fn well_formed(xml: &str) {
    if let Err(e) = roxmltree::Document::parse(xml) {
        panic!("not well-formed XML ({e}): {xml}");
    }
}

fn post(http: &Http, format: &str, form: &[(&str, &str)]) -> Reply {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    http.send(
        "POST",
        &format!("/open311/v2/requests.{format}"),
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body.into_bytes()),
    )
    .expect("HTTP request")
}

/// A filing of the demo's form ([`FILING`]) with these fields added.
fn post_filing(http: &Http, format: &str, extra: &[(&str, &str)]) -> Reply {
    let mut form = FILING.to_vec();
    form.extend_from_slice(extra);
    post(http, format, &form)
}

/// An error answer exactly as GeoReport v2 has it, in this format; `what` names the request.
fn assert_error_answer(r: &Reply, format: &str, code: u16, what: &str) {
    assert_eq!(r.status, code, "{what}: {}", text(r));
    assert_eq!(r.header("content-type"), Some(content_type(format)));
    if format == "json" {
        let v = r.json();
        let errors = v.as_array().expect("a list of errors");
        assert_eq!(keys(&errors[0]), set(&["code", "description"]));
        assert_eq!(errors[0]["code"], u64::from(code));
        assert!(errors[0]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
    } else {
        let body = text(r);
        well_formed(&body);
        assert!(body.starts_with("<?xml"), "{body}");
        assert!(
            body.contains(&format!("<errors><error><code>{code}</code><description>")),
            "{body}"
        );
    }
}

/// `GET` of this path (written with `.json`) is refused with this code, in both formats.
fn assert_get_error(http: &Http, path_json: &str, code: u16) {
    for format in ["json", "xml"] {
        let path = path_json.replace(".json", &format!(".{format}"));
        let r = http.get(&path, None);
        assert_error_answer(&r, format, code, &format!("GET {path}"));
    }
}

/// A filing of this form is refused with this code, in both formats.
fn assert_post_error(http: &Http, form: &[(&str, &str)], code: u16) {
    for format in ["json", "xml"] {
        let r = post(http, format, form);
        let what = format!("POST /open311/v2/requests.{format}");
        assert_error_answer(&r, format, code, &what);
    }
}

/// The id of the request a filing's answer (in JSON) made.
fn request_id(reply: &Reply) -> String {
    reply.json()[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// The ids `GET requests.json` lists with this query string.
fn listed(http: &Http, query: &str) -> Vec<String> {
    let r = http.get(&format!("/open311/v2/requests.json{query}"), None);
    assert_eq!(r.status, 200, "{query}: {}", text(&r));
    r.json()
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|x| x["service_request_id"].as_str().map(str::to_owned))
        .collect()
}

/// A case the center opens itself through `POST /v1/cases` (not through Open311), in grid
/// g1; its id.
fn staff_case(http: &Http, operator: &str, channel: &str, description: &str) -> String {
    let r = http.json(
        "POST",
        "/v1/cases",
        Some(operator),
        Some(serde_json::json!({"channel": channel, "grid": "g1", "description": description})),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    r.json()["case"].as_str().expect("id").to_owned()
}

#[test]
fn discovery_and_services_in_json_and_xml() {
    let (_tmp, server) = demo_server();
    let http = server.http();

    let d = http.get("/open311/v2/discovery.json", None);
    assert_eq!(d.status, 200);
    let d = d.json();
    assert_eq!(
        keys(&d),
        set(&["changeset", "contact", "key_service", "endpoints"])
    );
    let endpoint = &d["endpoints"][0];
    assert_eq!(
        keys(endpoint),
        set(&["specification", "url", "changeset", "type", "formats"])
    );
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    let xml = text(&http.get("/open311/v2/discovery.xml", None));
    assert!(xml.contains("<discovery><changeset>"), "{xml}");
    assert!(xml
        .contains("<formats><format>text/xml</format><format>application/json</format></formats>"));

    let services = http.get("/open311/v2/services.json", None).json();
    let services = services.as_array().expect("a list");
    assert_eq!(
        services.len(),
        gridcase_sync_core::Catalog::standard()
            .small_categories()
            .len(),
        "one service per small category"
    );
    for s in services {
        assert_eq!(
            keys(s),
            set(&[
                "service_code",
                "service_name",
                "description",
                "metadata",
                "type",
                "keywords",
                "group"
            ])
        );
    }
    assert!(services.iter().any(|s| s["service_code"] == "E0101"));
    let xml = text(&http.get("/open311/v2/services.xml", None));
    assert!(xml.contains("<services><service><service_code>"), "{xml}");
    assert!(xml.contains("<metadata>true</metadata><type>realtime</type>"));

    let def = http.get("/open311/v2/services/C0101.json", None);
    assert_eq!(def.status, 200, "{}", text(&def));
    let def = def.json();
    assert_eq!(keys(&def), set(&["service_code", "attributes"]));
    let attributes = def["attributes"].as_array().expect("attributes");
    for a in attributes {
        for field in [
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
        ] {
            assert!(a.get(field).is_some(), "{field} in {a}");
        }
    }
    assert!(
        attributes.iter().any(|a| a["code"] == "asset_id"),
        "a facility asks for its number"
    );
    let urgent = attributes
        .iter()
        .find(|a| a["code"] == "urgent")
        .expect("urgent");
    assert_eq!(urgent["datatype"], "singlevaluelist");
    assert_eq!(keys(&urgent["values"][0]), set(&["key", "name"]));
    let xml = text(&http.get("/open311/v2/services/E0101.xml", None));
    assert!(xml.contains("<service_definition><service_code>E0101</service_code><attributes><attribute><variable>true</variable>"), "{xml}");
    assert!(xml.contains("<values><value><key>yes</key>"));

    assert_get_error(&http, "/open311/v2/services/E9999.json", 404);
    assert_get_error(&http, "/open311/v2/nothing.json", 404);
    assert_eq!(http.get("/open311/v2/services.csv", None).status, 404);
}

#[test]
fn a_request_is_filed_read_back_listed_and_keeps_personal_data_to_itself() {
    let (_tmp, server) = demo_server();
    let http = server.http();

    // Refusals, each in the specification's error format.
    let good = FILING;
    assert_post_error(&http, &good[1..], 403);
    let mut wrong_key = good;
    wrong_key[0] = ("api_key", "guess");
    assert_post_error(&http, &wrong_key, 403);
    assert_post_error(&http, &[good[0], good[2], good[3]], 400);
    let mut unknown = good;
    unknown[1] = ("service_code", "E9999");
    assert_post_error(&http, &unknown, 404);
    let outside = [good[0], good[1], ("lat", "31.23"), ("long", "121.47")];
    assert_post_error(&http, &outside, 400);
    let address_only = [good[0], good[1], ("address_string", "西单北大街 1 号")];
    assert_post_error(&http, &address_only, 400);

    // Filed, in JSON: the answer has the example's fields.
    let personal = [
        ("first_name", "Xiaoming"),
        ("last_name", "Wang"),
        ("email", "wang.xiaoming@example.cn"),
        ("phone", "13800138000"),
    ];
    let mut form = good.to_vec();
    form.extend(personal);
    form.push((
        "description",
        "Garbage piled by the lane <entrance> & not cleared",
    ));
    form.push(("attribute[urgent]", "yes"));
    let r = post(&http, "json", &form);
    assert_eq!(r.status, 201, "{}", text(&r));
    let filed = r.json();
    assert_eq!(
        keys(&filed[0]),
        set(&["service_request_id", "service_notice", "account_id"])
    );
    let id = request_id(&r);

    // And in XML.
    let r = post(&http, "xml", &good);
    assert_eq!(r.status, 201);
    let xml = text(&r);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><service_request_id>"), "{xml}");
    assert!(xml.contains("<account_id/>"));

    // Read back.
    let one = http.get(&format!("/open311/v2/requests/{id}.json"), None);
    assert_eq!(one.status, 200, "{}", text(&one));
    let one = one.json();
    let request = &one[0];
    assert_eq!(keys(request), set(&REQUEST_FIELDS));
    assert_eq!(request["service_request_id"], id.as_str());
    assert_eq!(request["status"], "open");
    assert!(request["status_notes"]
        .as_str()
        .is_some_and(|n| n.contains("awaiting_confirmation")));
    assert_eq!(request["service_code"], "E0101");
    assert_eq!(request["lat"], 39.912);
    assert_eq!(request["long"], 116.402);
    assert!(request["description"]
        .as_str()
        .is_some_and(|d| d.contains("<entrance>")));
    assert!(request["requested_datetime"]
        .as_str()
        .is_some_and(|t| t.ends_with("+08:00")));
    let xml = text(&http.get(&format!("/open311/v2/requests/{id}.xml"), None));
    assert!(xml.contains(&format!("<service_requests><request><service_request_id>{id}</service_request_id><status>open</status>")), "{xml}");
    assert!(xml.contains("&lt;entrance&gt; &amp; not cleared"));
    assert_get_error(&http, "/open311/v2/requests/nope.json", 404);

    let token = http
        .get(&format!("/open311/v2/tokens/{id}.json"), None)
        .json();
    assert_eq!(keys(&token[0]), set(&["service_request_id", "token"]));
    assert_eq!(token[0]["service_request_id"], id.as_str());

    // Lists and their filters.
    assert!(listed(&http, "").contains(&id));
    assert!(listed(&http, "?service_code=E0101&status=open").contains(&id));
    assert!(!listed(&http, "?status=closed").contains(&id));
    assert!(!listed(&http, "?service_code=C0101").contains(&id));
    assert_eq!(
        listed(&http, &format!("?service_request_id={id},nope")),
        vec![id.clone()]
    );
    assert!(!listed(&http, "?start_date=2020-01-01&end_date=2020-02-01").contains(&id));
    assert_get_error(
        &http,
        "/open311/v2/requests.json?start_date=2020-01-01&end_date=2020-06-01",
        400,
    );
    assert_get_error(&http, "/open311/v2/requests.json?start_date=yesterday", 400);
    assert_get_error(&http, "/open311/v2/requests.json?status=pending", 400);
    let xml = text(&http.get("/open311/v2/requests.xml?status=open", None));
    assert!(xml.contains(&format!("<service_request_id>{id}</service_request_id>")));

    // Personal data stays with the center: no GET answer carries it.
    let everything = [
        text(&http.get("/open311/v2/requests.json", None)),
        text(&http.get("/open311/v2/requests.xml", None)),
        text(&http.get(&format!("/open311/v2/requests/{id}.json"), None)),
        text(&http.get(&format!("/open311/v2/requests/{id}.xml"), None)),
    ]
    .concat();
    for (_, value) in personal {
        assert!(!everything.contains(value), "{value} leaked");
    }
    // The center sees the case, and who to call back.
    let operator = http.login("operator");
    // Cases that did not come through Open311 are not published: staff wrote their text.
    let hotline = staff_case(&http, &operator, "hotline", HOTLINE_CALL);
    assert_get_error(&http, &format!("/open311/v2/requests/{hotline}.json"), 404);
    assert!(!listed(&http, "").contains(&hotline));
    assert!(listed(&http, &format!("?service_request_id={hotline}")).is_empty());
    let case = http.get(&format!("/v1/cases/{id}"), Some(&operator)).json();
    assert_eq!(case["state"]["channel"], "web", "{case}");
    assert!(case.to_string().contains("13800138000"));
}

/// A filing with these fields, located by the demo's coordinates, in JSON; its request id.
fn file(http: &Http, extra: &[(&str, &str)]) -> String {
    let r = post_filing(http, "json", extra);
    assert_eq!(r.status, 201, "{}", text(&r));
    request_id(&r)
}

/// One request as `GET requests/{id}.json` answers it.
fn request(http: &Http, id: &str) -> Value {
    let r = http.get(&format!("/open311/v2/requests/{id}.json"), None);
    assert_eq!(r.status, 200, "{}", text(&r));
    r.json()[0].clone()
}

/// When a request was filed, as `GET requests/{id}.json` says.
fn requested_at(http: &Http, id: &str) -> String {
    request(http, id)["requested_datetime"]
        .as_str()
        .expect("a time")
        .to_owned()
}

/// A `GET` answered 200 with well-formed XML; its text.
fn get_xml(http: &Http, path: &str) -> String {
    let r = http.get(path, None);
    assert_eq!(r.status, 200, "{path}: {}", text(&r));
    let xml = text(&r);
    well_formed(&xml);
    xml
}

/// The description of an error answer.
fn error_description(reply: &Reply) -> String {
    reply.json()[0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn characters_xml_cannot_carry_are_refused_at_filing_and_never_written() {
    let (_tmp, server) = demo_server();
    let http = server.http();

    // Filing: refused, naming the field and the character, in both formats.
    for (field, value) in [
        ("description", "a lamp \u{FFFE} out"),
        ("description", "a lamp \u{FFFF} out"),
        ("description", "a lamp \u{1} out"),
        ("address_string", "南池子大街\u{FFFF}"),
        ("first_name", "\u{FFFE}"),
    ] {
        for format in ["json", "xml"] {
            let r = post_filing(&http, format, &[(field, value)]);
            assert_eq!(r.status, 400, "{field}: {}", text(&r));
            let body = text(&r);
            assert!(
                body.contains(field) && body.contains("XML 1.0 cannot carry"),
                "{body}"
            );
        }
    }
    // Line breaks and tabs are text.
    let id = file(&http, &[("description", "line one\r\nline two\tend")]);
    let xml = text(&http.get(&format!("/open311/v2/requests/{id}.xml"), None));
    let doc = roxmltree::Document::parse(&xml).expect("well-formed");
    let description = doc
        .descendants()
        .find(|n| n.has_tag_name("description"))
        .and_then(|n| n.text())
        .expect("a description");
    assert_eq!(description, "line one\r\nline two\tend");

    // A case of the web channel written another way (the center's API) may hold them: the
    // XML writer puts U+FFFD in their place, JSON carries them as they are.
    let operator = http.login("operator");
    let other = staff_case(
        &http,
        &operator,
        "web",
        "broken \u{FFFE}\u{FFFF}\u{1} bench",
    );
    for path in [
        format!("/open311/v2/requests/{other}.xml"),
        format!("/open311/v2/requests.xml?service_request_id={other}"),
        "/open311/v2/requests.xml".to_owned(),
    ] {
        let xml = get_xml(&http, &path);
        assert!(
            xml.contains("broken \u{FFFD}\u{FFFD}\u{FFFD} bench"),
            "{path}: {xml}"
        );
    }
    assert_eq!(
        request(&http, &other)["description"],
        "broken \u{FFFE}\u{FFFF}\u{1} bench"
    );
}

#[test]
fn media_url_is_kept_and_answered() {
    let (_tmp, server) = demo_server();
    let http = server.http();

    let url = "https://pics.example.cn/2026/lamp.jpg?size=large";
    let id = file(&http, &[("media_url", url)]);
    assert_eq!(request(&http, &id)["media_url"], url);
    let xml = text(&http.get(&format!("/open311/v2/requests/{id}.xml"), None));
    well_formed(&xml);
    assert!(
        xml.contains("<media_url>https://pics.example.cn/2026/lamp.jpg?size=large</media_url>"),
        "{xml}"
    );
    let listed = http
        .get(
            &format!("/open311/v2/requests.json?service_request_id={id}"),
            None,
        )
        .json();
    assert_eq!(listed[0]["media_url"], url);
    // The center sees it too.
    let operator = http.login("operator");
    let case = http.get(&format!("/v1/cases/{id}"), Some(&operator)).json();
    assert!(case.to_string().contains(url), "{case}");
    // Without one, none.
    let plain = file(&http, &[]);
    assert_eq!(request(&http, &plain)["media_url"], Value::Null);
    // Only a link to the web.
    for bad in [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "pics.example.cn/x.jpg",
    ] {
        let r = post_filing(&http, "json", &[("media_url", bad)]);
        assert_eq!(r.status, 400, "{bad}: {}", text(&r));
        assert!(error_description(&r).contains("media_url"), "{}", text(&r));
    }
    let long = format!("https://pics.example.cn/{}", "a".repeat(2100));
    let r = post_filing(&http, "json", &[("media_url", &long)]);
    assert_eq!(r.status, 400, "{}", text(&r));
}

#[test]
fn a_closed_request_was_updated_when_it_was_closed_and_its_notes_say_why() {
    let (_tmp, server) = demo_server();
    let http = server.http();
    let operator = http.login("operator");
    let act = |case: &str, action: Value| post_action(&http, &operator, &case, action);

    let first = file(&http, &[("description", "lamp out at the lane")]);
    let second = file(&http, &[("description", "the lamp at the lane again")]);
    act(
        &second,
        serde_json::json!({"kind": "mark_duplicate", "payload": {"of": first}}),
    );
    let closed = request(&http, &second);
    assert_eq!(closed["status"], "closed");
    let notes = closed["status_notes"].as_str().expect("notes");
    assert!(
        notes.contains(&format!("duplicate of request {first}")),
        "{notes}"
    );
    // A comment later is a change, but the request was closed before it.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    act(
        &second,
        serde_json::json!({"kind": "comment", "payload": {"text": "caller Li Lei rang again"}}),
    );
    let later = request(&http, &second);
    assert_eq!(later["updated_datetime"], closed["updated_datetime"]);
    assert!(!later.to_string().contains("Li Lei"), "{later}");

    // A duplicate of a staff case does not name it (its id would be published).
    let staff = staff_case(&http, &operator, "hotline", HOTLINE_CALL);
    let third = file(&http, &[("description", "the drain again")]);
    act(
        &third,
        serde_json::json!({"kind": "mark_duplicate", "payload": {"of": staff}}),
    );
    let notes = request(&http, &third)["status_notes"].to_string();
    assert!(notes.contains("duplicate of an earlier request"), "{notes}");
    assert!(!notes.contains(&staff), "{notes}");

    // Each reason of a decline says itself, never the note.
    let far = file(&http, &[]);
    act(
        &far,
        serde_json::json!({"kind": "decline", "payload": {"reason": "out_of_jurisdiction",
            "note": "Wang Fang at 13911112222 says it is the next district's"}}),
    );
    let gone = file(&http, &[]);
    act(
        &gone,
        serde_json::json!({"kind": "confirm", "payload": {"exists": false,
            "note": "nothing there, told Mr Zhao"}}),
    );
    for (id, says) in [(&far, "out of jurisdiction"), (&gone, "not found on site")] {
        let r = request(&http, id);
        assert_eq!(r["status"], "closed");
        let notes = r["status_notes"].as_str().expect("notes");
        assert!(notes.contains(says), "{notes}");
        assert!(!r.to_string().contains("Wang Fang") && !r.to_string().contains("Zhao"));
    }
    // An open request's notes say where it stands.
    let open = request(&http, &first);
    assert_eq!(open["status"], "open");
    assert!(
        open["status_notes"]
            .as_str()
            .is_some_and(|n| n.contains("awaiting on-site confirmation")),
        "{open}"
    );
}

#[test]
fn an_unknown_service_code_is_not_found() {
    let (_tmp, server) = demo_server();
    let http = server.http();
    for code in ["E9999", "nonsense"] {
        let mut form = FILING;
        form[1] = ("service_code", code);
        assert_post_error(&http, &form, 404);
        assert_get_error(&http, &format!("/open311/v2/services/{code}.json"), 404);
    }
    // Not given at all: a bad request.
    let form = [("api_key", KEY), ("lat", LAT), ("long", LONG)];
    assert_post_error(&http, &form, 400);
    // As a filter of a list it finds nothing.
    let r = http.get("/open311/v2/requests.json?service_code=E9999", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::json!([]));
}

#[test]
fn an_address_of_the_register_locates_a_request() {
    let (tmp, server) = demo_server();
    let http = server.http();
    let operator = http.login("operator");
    let grid_of = |id: &str| {
        let case = http.get(&format!("/v1/cases/{id}"), Some(&operator)).json();
        case["state"]["territory"]["grid"].clone()
    };
    let filed = |location: &[(&str, &str)]| {
        let mut form = vec![("api_key", KEY), ("service_code", "E0101")];
        form.extend_from_slice(location);
        post(&http, "json", &form)
    };

    // The demo register: however it is spaced or written, an exact address is located.
    for written in [
        "南池子大街 12号",
        "南池子大街１２号",
        "  南池子大街12  ",
        "东华门街道 南池子大街 12 号",
        "南池子大街12号, 东华门街道",
    ] {
        let r = filed(&[("address_string", written)]);
        assert_eq!(r.status, 201, "{written}: {}", text(&r));
        let id = request_id(&r);
        let got = request(&http, &id);
        assert_eq!(got["address"], "南池子大街12号, 东华门街道");
        assert_eq!(got["lat"], Value::Null);
        assert_eq!(got["long"], Value::Null);
        assert_eq!(grid_of(&id), "g1");
    }
    let r = filed(&[("address_string", "吉祥胡同 3号")]);
    assert_eq!(r.status, 201, "{}", text(&r));
    let id = request_id(&r);
    assert_eq!(grid_of(&id), "g4");
    let r = filed(&[("address_id", "Dg3-0001")]);
    assert_eq!(r.status, 201, "{}", text(&r));
    let id = request_id(&r);
    assert_eq!(grid_of(&id), "g3");
    assert_eq!(request(&http, &id)["address"], "多福巷1号, 东华门街道");

    // Not in the register: refused, saying what to do, never guessed.
    for location in [
        [("address_string", "西单北大街 1 号")],
        [("address_string", "南池子大街")],
        [("address_id", "nowhere")],
    ] {
        let r = filed(&location);
        assert_eq!(r.status, 400, "{location:?}: {}", text(&r));
        assert!(
            error_description(&r).contains("not in the district's register; give lat and long"),
            "{}",
            text(&r)
        );
    }
    // Coordinates still win, and the address is kept as written.
    let id = file(&http, &[("address_string", "the corner by the lane")]);
    assert_eq!(request(&http, &id)["address"], "the corner by the lane");
    assert_eq!(request(&http, &id)["lat"], 39.912);
    // Half a coordinate is no location.
    let r = filed(&[("lat", LAT), ("address_string", "南池子大街12号")]);
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(error_description(&r).contains("lat and long must be given together"));
    drop(server);

    // A register from a file (--addresses) replaces the demo's.
    let csv = tmp.path().join("addresses.csv");
    std::fs::write(
        &csv,
        "id,street,road,number,building,grid\nX1,景山街道,沙滩北街,7号,2号楼,g4\n",
    )
    .expect("write the register");
    let server = Server::start_in(
        &tmp.path().join("ledger2"),
        &["--addresses", csv.to_str().expect("a UTF-8 path")],
    );
    let http = server.http();
    let mut form = vec![("api_key", KEY), ("service_code", "E0101")];
    form.push(("address_string", "沙滩北街 7号 2号楼"));
    let r = post(&http, "json", &form);
    assert_eq!(r.status, 201, "{}", text(&r));
    form.pop();
    form.push(("address_string", "南池子大街12号"));
    assert_eq!(post(&http, "json", &form).status, 400);
}

/// A `multipart/form-data` body of text parts, and a file part if given.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str)>) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--XyZzY\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    if let Some((name, file_name)) = file {
        body.push_str(&format!(
            "--XyZzY\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: image/jpeg\r\n\r\nJFIF...\r\n"
        ));
    }
    body.push_str("--XyZzY--\r\n");
    body.into_bytes()
}

#[test]
fn parameters_are_read_as_the_specification_has_them() {
    let (_tmp, server) = demo_server();
    let http = server.http();
    let id = file(&http, &[]);

    // A start_date alone runs to now.
    let requested = requested_at(&http, &id);
    let day = &requested[..10];
    assert!(listed(&http, &format!("?start_date={day}")).contains(&id));
    let to_the_second = requested.replace('+', "%2B");
    assert!(listed(&http, &format!("?start_date={to_the_second}")).contains(&id));
    // ... and is bounded like any range: more than 90 days to now is refused, not cut short.
    let r = http.get("/open311/v2/requests.json?start_date=2020-01-01", None);
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(error_description(&r).contains("90 days"), "{}", text(&r));

    // Lists merge repeated values; a single value given twice differently is refused.
    assert!(listed(&http, "?status=closed&status=open").contains(&id));
    assert!(listed(&http, "?service_code=C0101&service_code=E0101").contains(&id));
    assert_eq!(
        listed(
            &http,
            &format!("?service_request_id=nope&service_request_id={id}")
        ),
        vec![id.clone()]
    );
    assert!(listed(&http, &format!("?start_date={day}&start_date={day}")).contains(&id));
    assert_get_error(
        &http,
        "/open311/v2/requests.json?start_date=2026-01-01&start_date=2026-02-01",
        400,
    );
    // A flood of parameters is refused before any work (it was a quadratic scan).
    let flood = "x=1&".repeat(5_000);
    let r = http.get(&format!("/open311/v2/requests.json?{flood}"), None);
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(
        error_description(&r).contains("at most 100 parameters"),
        "{}",
        text(&r)
    );
    // service_code names one service when filing.
    let r = post_filing(&http, "json", &[("service_code", "C0101")]);
    assert_eq!(r.status, 400, "{}", text(&r));
    let r = post_filing(
        &http,
        "json",
        &[("description", "one"), ("description", "two")],
    );
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(error_description(&r).contains("description is given more than once"));

    // The api_key may come in the query string.
    let key_in_query = |key: &str| {
        http.send(
            "POST",
            &format!("/open311/v2/requests.json?api_key={key}"),
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(format!("service_code=E0101&lat={LAT}&long={LONG}").into_bytes()),
        )
        .expect("HTTP request")
    };
    let r = key_in_query(KEY);
    assert_eq!(r.status, 201, "{}", text(&r));
    let r = key_in_query("guess");
    assert_eq!(r.status, 403, "{}", text(&r));

    // multipart/form-data, text fields only.
    let mut fields = FILING.to_vec();
    fields.extend([
        ("description", "倒伏的树 a fallen tree"),
        ("email", "li.lei@example.cn"),
    ]);
    let send_multipart = |body: Vec<u8>| {
        http.send(
            "POST",
            "/open311/v2/requests.xml",
            None,
            &[("content-type", "multipart/form-data; boundary=XyZzY")],
            Some(body),
        )
        .expect("HTTP request")
    };
    let r = send_multipart(multipart(&fields, None));
    assert_eq!(r.status, 201, "{}", text(&r));
    let xml = text(&r);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let made = doc
        .descendants()
        .find(|n| n.has_tag_name("service_request_id"))
        .and_then(|n| n.text())
        .expect("an id")
        .to_owned();
    assert_eq!(
        request(&http, &made)["description"],
        "倒伏的树 a fallen tree"
    );
    let r = send_multipart(multipart(&fields, Some(("media", "tree.jpg"))));
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("media_url"), "{}", text(&r));
    let r = send_multipart(b"--XyZzY\r\nnonsense".to_vec());
    assert_eq!(r.status, 400, "{}", text(&r));

    // JSON says its charset.
    for path in [
        "/open311/v2/discovery.json",
        "/open311/v2/services.json",
        "/open311/v2/services/E0101.json",
        "/open311/v2/requests.json",
        &format!("/open311/v2/requests/{id}.json"),
        &format!("/open311/v2/tokens/{id}.json"),
        "/open311/v2/servicerequestupdates.json",
    ] {
        let r = http.get(path, None);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.header("content-type"),
            Some(content_type("json")),
            "{path}"
        );
        let xml = http.get(&path.replace(".json", ".xml"), None);
        assert_eq!(
            xml.header("content-type"),
            Some(content_type("xml")),
            "{path}"
        );
        well_formed(&text(&xml));
    }

    // Descriptions: at most the specification's 4,000 characters, the rest refused with 400
    // (a body past the filing's 64 KiB is refused before it is read: 413, tests/limits.rs).
    let at_limit = "描".repeat(4000);
    let _ = file(&http, &[("description", &at_limit)]);
    for n in [4001, 5000] {
        let long = "描".repeat(n);
        let r = post_filing(&http, "json", &[("description", &long)]);
        assert_eq!(r.status, 400, "{n}: {}", text(&r));
        assert_eq!(
            error_description(&r),
            format!("description is too long: at most 4000 characters ({n} given)")
        );
    }
}

/// `GET discovery.json` with this `Host` header, over a raw connection (an HTTP client sets
/// its own).
fn discovery_url(server: &Server, host: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
    write!(
        stream,
        "GET /open311/v2/discovery.json HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let body = answer.split("\r\n\r\n").nth(1).expect("a body");
    let v: Value = serde_json::from_str(body).expect("JSON");
    v["endpoints"][0]["url"].as_str().expect("url").to_owned()
}

#[test]
fn discovery_names_the_configured_url_never_the_host_header() {
    let (tmp, server) = demo_server();
    assert_eq!(
        discovery_url(&server, "evil.example"),
        format!("http://{}/open311/v2/", server.addr)
    );
    drop(server);
    let server = Server::start_in(
        &tmp.path().join("ledger2"),
        &["--public-url", "https://311.example.cn/city/"],
    );
    assert_eq!(
        discovery_url(&server, "evil.example"),
        "https://311.example.cn/city/open311/v2/"
    );
}

#[test]
fn service_request_updates_follow_public_status_changes() {
    let (_tmp, server) = demo_server();
    let http = server.http();
    let operator = http.login("operator");
    let act = |case: &str, action: Value| post_action(&http, &operator, &case, action);
    let updates = |query: &str| -> Vec<Value> {
        let r = http.get(
            &format!("/open311/v2/servicerequestupdates.json{query}"),
            None,
        );
        assert_eq!(r.status, 200, "{query}: {}", text(&r));
        assert_eq!(r.header("content-type"), Some(content_type("json")));
        r.json().as_array().expect("a list").clone()
    };

    let a = file(&http, &[("description", "overflowing bin")]);
    let start = requested_at(&http, &a);
    assert!(updates("").is_empty(), "filing is not an update");
    let b = file(&http, &[]);
    act(
        &a,
        serde_json::json!({"kind": "confirm", "payload": {"exists": true,
            "note": "checked with the caller Zhang Wei, 13700001111"}}),
    );
    act(
        &a,
        serde_json::json!({"kind": "file", "payload": {"category": "E0101", "level": "general", "units": ["u1"]}}),
    );
    act(
        &a,
        serde_json::json!({"kind": "comment", "payload": {"text": "Zhang Wei called again"}}),
    );
    act(
        &a,
        serde_json::json!({"kind": "dispatch", "payload": {"unit": "u1"}}),
    );
    act(
        &b,
        serde_json::json!({"kind": "mark_duplicate", "payload": {"of": a}}),
    );
    // The center's own cases are not published.
    let hotline = staff_case(&http, &operator, "hotline", HOTLINE_CALL);
    act(
        &hotline,
        serde_json::json!({"kind": "decline", "payload": {"reason": "not_actionable", "note": "Li Lei"}}),
    );

    let got = updates(&format!("?start_date={}", start.replace('+', "%2B")));
    let summary: Vec<(String, String, String)> = got
        .iter()
        .map(|u| {
            assert_eq!(
                keys(u),
                set(&[
                    "update_id",
                    "service_request_id",
                    "status",
                    "updated_datetime",
                    "description",
                    "media_url"
                ])
            );
            (
                u["service_request_id"].as_str().expect("id").to_owned(),
                u["status"].as_str().expect("status").to_owned(),
                u["description"].as_str().expect("description").to_owned(),
            )
        })
        .collect();
    assert_eq!(summary.len(), 4, "{got:?}");
    assert_eq!(summary[0].0, a);
    assert!(summary[0].2.contains("confirmed on site"), "{summary:?}");
    assert!(summary[1].2.contains("filed"), "{summary:?}");
    assert!(summary[2].2.contains("dispatched"), "{summary:?}");
    assert_eq!(
        (&summary[3].0, summary[3].1.as_str()),
        (&b, "closed"),
        "{summary:?}"
    );
    assert!(
        summary[3].2.contains(&format!("duplicate of request {a}")),
        "{summary:?}"
    );
    for (u, (_, status, _)) in got.iter().zip(&summary[..3]) {
        assert_eq!(status, "open", "{u}");
    }
    let times: Vec<&str> = got
        .iter()
        .map(|u| u["updated_datetime"].as_str().expect("a time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(times.iter().all(|t| t.ends_with("+08:00") && **t >= *start));
    // The update ids are the events': the same on every ask, and unique.
    let ids: BTreeSet<&str> = got
        .iter()
        .map(|u| u["update_id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(updates(""), got, "the default range is the last day");
    let everything = serde_json::to_string(&got).expect("JSON");
    for private in ["Zhang Wei", "13700001111", "Li Lei", &hotline] {
        assert!(!everything.contains(private), "{private} leaked");
    }

    // In XML, as mySociety's extension has it.
    let xml = get_xml(
        &http,
        &format!(
            "/open311/v2/servicerequestupdates.xml?start_date={}&api_key={KEY}",
            start.replace('+', "%2B")
        ),
    );
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><service_request_updates><request_update><update_id>"),
        "{xml}"
    );
    assert!(
        xml.contains("<media_url></media_url></request_update>"),
        "{xml}"
    );
    assert_eq!(xml.matches("<request_update>").count(), 4);

    // Ranges: bounded like GET requests, and the end is the latest time included.
    assert_get_error(
        &http,
        "/open311/v2/servicerequestupdates.json?start_date=2020-01-01&end_date=2020-06-01",
        400,
    );
    assert!(updates("?start_date=2020-01-01&end_date=2020-02-01").is_empty());
    assert_get_error(
        &http,
        "/open311/v2/servicerequestupdates.json?end_date=soon",
        400,
    );
}
