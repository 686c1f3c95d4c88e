//! Open311 GeoReport v2 against the real server: every resource in JSON and XML, checked
//! against the fields and element names of the specification's examples
//! (http://wiki.open311.org/GeoReport_v2), the error format, the limits, and that personal
//! data never comes back.

use gridcase_tests::{Http, Server};
use serde_json::Value;
use std::collections::BTreeSet;

const KEY: &str = "demo-open311-key";
/// Inside grid g1 of the demo district.
const LAT: &str = "39.912";
const LONG: &str = "116.402";

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

fn text(reply: &gridcase_tests::Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

fn post(http: &Http, format: &str, form: &[(&str, &str)]) -> gridcase_tests::Reply {
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

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An error exactly as GeoReport v2 has it, in both formats.
fn assert_error(
    http: &Http,
    method: &str,
    path_json: &str,
    form: Option<&[(&str, &str)]>,
    code: u16,
) {
    for format in ["json", "xml"] {
        let path = path_json.replace(".json", &format!(".{format}"));
        let r = match (method, form) {
            ("POST", Some(f)) => post(http, format, f),
            _ => http.get(&path, None),
        };
        assert_eq!(r.status, code, "{method} {path}: {}", text(&r));
        if format == "json" {
            let v = r.json();
            let errors = v.as_array().expect("a list of errors");
            assert_eq!(keys(&errors[0]), set(&["code", "description"]));
            assert_eq!(errors[0]["code"], u64::from(code));
            assert!(errors[0]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()));
        } else {
            let body = text(&r);
            assert!(body.starts_with("<?xml"), "{body}");
            assert!(
                body.contains(&format!("<errors><error><code>{code}</code><description>")),
                "{body}"
            );
        }
    }
}

#[test]
fn discovery_and_services_in_json_and_xml() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
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

    assert_error(&http, "GET", "/open311/v2/services/E9999.json", None, 404);
    assert_error(&http, "GET", "/open311/v2/nothing.json", None, 404);
    assert_eq!(http.get("/open311/v2/services.csv", None).status, 404);
}

#[test]
fn a_request_is_filed_read_back_listed_and_keeps_personal_data_to_itself() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();

    // Refusals, each in the specification's error format.
    let good = [
        ("api_key", KEY),
        ("service_code", "E0101"),
        ("lat", LAT),
        ("long", LONG),
    ];
    assert_error(
        &http,
        "POST",
        "/open311/v2/requests.json",
        Some(&good[1..]),
        403,
    );
    let mut wrong_key = good;
    wrong_key[0] = ("api_key", "guess");
    assert_error(
        &http,
        "POST",
        "/open311/v2/requests.json",
        Some(&wrong_key),
        403,
    );
    assert_error(
        &http,
        "POST",
        "/open311/v2/requests.json",
        Some(&[good[0], good[2], good[3]]),
        400,
    );
    let mut unknown = good;
    unknown[1] = ("service_code", "E9999");
    assert_error(
        &http,
        "POST",
        "/open311/v2/requests.json",
        Some(&unknown),
        400,
    );
    let outside = [good[0], good[1], ("lat", "31.23"), ("long", "121.47")];
    assert_error(
        &http,
        "POST",
        "/open311/v2/requests.json",
        Some(&outside),
        400,
    );
    let address_only = [good[0], good[1], ("address_string", "东华门大街 1 号")];
    assert_error(
        &http,
        "POST",
        "/open311/v2/requests.json",
        Some(&address_only),
        400,
    );

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
    let id = filed[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();

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
    assert_error(&http, "GET", "/open311/v2/requests/nope.json", None, 404);

    let token = http
        .get(&format!("/open311/v2/tokens/{id}.json"), None)
        .json();
    assert_eq!(keys(&token[0]), set(&["service_request_id", "token"]));
    assert_eq!(token[0]["service_request_id"], id.as_str());

    // Lists and their filters.
    let listed = |query: &str| -> Vec<String> {
        let r = http.get(&format!("/open311/v2/requests.json{query}"), None);
        assert_eq!(r.status, 200, "{query}: {}", text(&r));
        r.json()
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|x| x["service_request_id"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(listed("").contains(&id));
    assert!(listed("?service_code=E0101&status=open").contains(&id));
    assert!(!listed("?status=closed").contains(&id));
    assert!(!listed("?service_code=C0101").contains(&id));
    assert_eq!(
        listed(&format!("?service_request_id={id},nope")),
        vec![id.clone()]
    );
    assert!(!listed("?start_date=2020-01-01&end_date=2020-02-01").contains(&id));
    assert_error(
        &http,
        "GET",
        "/open311/v2/requests.json?start_date=2020-01-01&end_date=2020-06-01",
        None,
        400,
    );
    assert_error(
        &http,
        "GET",
        "/open311/v2/requests.json?start_date=yesterday",
        None,
        400,
    );
    assert_error(
        &http,
        "GET",
        "/open311/v2/requests.json?status=pending",
        None,
        400,
    );
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
    let hotline = http.json(
        "POST",
        "/v1/cases",
        Some(&operator),
        Some(serde_json::json!({"channel": "hotline", "grid": "g1",
            "description": "caller Li Lei at 13900000000 reports a blocked drain"})),
    );
    assert_eq!(hotline.status, 201);
    let hotline = hotline.json()["case"].as_str().expect("id").to_owned();
    assert_error(
        &http,
        "GET",
        &format!("/open311/v2/requests/{hotline}.json"),
        None,
        404,
    );
    assert!(!listed("").contains(&hotline));
    assert!(listed(&format!("?service_request_id={hotline}")).is_empty());
    let case = http.get(&format!("/v1/cases/{id}"), Some(&operator)).json();
    assert_eq!(case["state"]["channel"], "web", "{case}");
    assert!(case.to_string().contains("13800138000"));
}
