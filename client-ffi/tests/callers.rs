//! Callers taken down on a handheld or a community workstation: checked and kept on the device
//! beside their case, never in it; uploaded to the server's caller register after the case has
//! synced, then deleted; each answer of the register honoured (not yet, refused for good, a
//! broken link). The register's answers are scripted where the real server cannot be made to
//! give them; the last test runs against the real endpoint.

use gridcase_client::client::{Client, Retry};
use gridcase_client::error::ClientError;
use gridcase_client::transport::{
    BuiltinTransport, HttpRequest, HttpResponse, HttpTransport, TransportError,
};
use gridcase_client::views::{NewCaller, NewReport};
use gridcase_tests::{Server, PASSWORD};
use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn fast() -> Retry {
    Retry {
        attempts: 2,
        first_delay: Duration::from_millis(10),
        ..Retry::default()
    }
}

fn url(server: &Server) -> String {
    format!("http://{}", server.addr)
}

fn walk_in(description: &str, caller: NewCaller) -> NewReport {
    NewReport {
        channel: "walk_in".into(),
        description: description.into(),
        grid: Some("g1".into()),
        business_type: Some("complaint".into()),
        caller: Some(caller),
        ..NewReport::default()
    }
}

fn resident() -> NewCaller {
    NewCaller {
        name: "王小明".into(),
        phone: Some("+86 138 1234 8000".into()),
        address: Some("韶九胡同 3 号".into()),
        callback: true,
        ..NewCaller::default()
    }
}

/// What the register answers a caller upload, in order; the real server once the script runs
/// out.
enum Answer {
    Status(u16, &'static str),
    /// 200, naming the caller and case of the request, as the register does.
    Stored,
    Cut,
}

/// The built-in transport, with the caller uploads seen and answered from a script.
struct Register {
    inner: BuiltinTransport,
    script: Mutex<VecDeque<Answer>>,
    seen: Mutex<Vec<(String, Value)>>,
}

impl Register {
    fn new(script: Vec<Answer>) -> Arc<Register> {
        Arc::new(Register {
            inner: BuiltinTransport::new(),
            script: Mutex::new(script.into()),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The paths of the caller uploads seen, after the server's address.
    fn uploads(&self) -> Vec<(String, Value)> {
        self.seen.lock().expect("seen").clone()
    }
}

impl HttpTransport for Register {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let Some(at) = request.url.find("/v1/cases/") else {
            return self.inner.send(request);
        };
        let path = request.url[at..].to_owned();
        if !path.contains("/callers/") {
            return self.inner.send(request);
        }
        let body = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        self.seen
            .lock()
            .expect("seen")
            .push((format!("{} {path}", request.method), body));
        let answer = self.script.lock().expect("script").pop_front();
        let reply = |status: u16, body: String| {
            Ok(HttpResponse {
                status,
                headers: vec![],
                body: body.into_bytes(),
            })
        };
        match answer {
            None => self.inner.send(request),
            Some(Answer::Cut) => Err(TransportError::Interrupted {
                message: "link lost".into(),
            }),
            Some(Answer::Status(status, code)) => reply(
                status,
                serde_json::json!({"code": code, "message": "scripted"}).to_string(),
            ),
            Some(Answer::Stored) => {
                let parts: Vec<&str> = path.split('/').collect();
                reply(
                    200,
                    serde_json::json!({"case": parts[3], "caller": parts[5], "again": false})
                        .to_string(),
                )
            }
        }
    }
}

fn open_with(dir: &Path, server: &Server, transport: Arc<Register>) -> Client {
    Client::open(dir, &url(server), transport)
        .expect("open")
        .with_retry(fast())
}

/// The intake's stored payload, as every device holding the case reads it.
fn intake_payload(client: &Client, case: &str) -> String {
    let detail = client.case(case).expect("case");
    let intake = detail
        .timeline
        .iter()
        .find(|t| t.kind == "intake")
        .expect("an intake");
    intake.payload.clone()
}

#[test]
fn a_walk_in_caller_is_kept_beside_the_case_never_in_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let desk = open_with(&tmp.path().join("c1"), &server, Register::new(vec![]));
    desk.login("community1", PASSWORD).expect("login");

    let case = desk
        .report(walk_in("street lamp out for a week", resident()))
        .expect("report");
    let detail = desk.case(&case).expect("case");
    assert_eq!(detail.case.business_type.as_deref(), Some("complaint"));
    assert_eq!(
        detail.case.status, "reported",
        "a walk-in needs no confirmation"
    );
    let shown = detail.caller.expect("the caller waits on the device");
    assert_eq!(shown.name, "王*");
    assert_eq!(shown.phone.as_deref(), Some("138****8000"));
    assert!(shown.has_address && shown.callback && !shown.anonymous);
    assert_eq!(shown.id.len(), 32, "{}", shown.id);
    assert!(shown.id.chars().all(|c| c.is_ascii_hexdigit()));
    let intake: Value = serde_json::from_str(&intake_payload(&desk, &case)).expect("json");
    assert_eq!(intake["reporter"], Value::Null, "{intake}");
    assert_eq!(intake["business_type"], "complaint");
    assert_eq!(intake["caller"], shown.id.as_str(), "only the record's id");
    for personal in ["王小明", "13812348000", "1234 8000", "韶九胡同"] {
        assert!(!intake.to_string().contains(personal), "{intake}");
    }
    assert_eq!(desk.pending().expect("pending").callers, vec![case.clone()]);

    // Refused before anything is written: a bad phone, a caller on a patrol, a bad type.
    let before = desk.cases(&Default::default()).expect("list").len();
    let bad_phone = desk.report(walk_in(
        "bad phone",
        NewCaller {
            phone: Some("6234 567".into()),
            ..resident()
        },
    ));
    assert!(
        matches!(&bad_phone, Err(ClientError::Invalid { message }) if message.contains("phone")),
        "{bad_phone:?}"
    );
    let patrol = desk.report(NewReport {
        channel: "patrol".into(),
        ..walk_in("found on patrol", resident())
    });
    assert!(
        matches!(&patrol, Err(ClientError::Invalid { .. })),
        "{patrol:?}"
    );
    let bad_type = desk.report(NewReport {
        business_type: Some("gossip".into()),
        ..walk_in("what type", resident())
    });
    assert!(
        matches!(&bad_type, Err(ClientError::Invalid { message }) if message.contains("business type")),
        "{bad_type:?}"
    );
    assert_eq!(desk.cases(&Default::default()).expect("list").len(), before);
    assert_eq!(desk.pending().expect("pending").callers.len(), 1);

    // An anonymous caller: nothing personal, but the case still says someone came.
    let anonymous = desk
        .report(walk_in(
            "dog fouling",
            NewCaller {
                anonymous: true,
                ..NewCaller::default()
            },
        ))
        .expect("report");
    let shown = desk.case(&anonymous).expect("case").caller.expect("waits");
    assert!(shown.anonymous && shown.name.is_empty() && shown.phone.is_none());
    // A case without a caller has none, and its business type may be absent.
    let plain = desk
        .report(NewReport {
            business_type: None,
            caller: None,
            ..walk_in("no caller", resident())
        })
        .expect("report");
    let detail = desk.case(&plain).expect("case");
    assert_eq!((detail.caller, detail.case.business_type), (None, None));
}

#[test]
fn callers_go_after_their_cases_and_each_answer_of_the_register_is_honoured() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let dir = tmp.path().join("c1");
    let register = Register::new(vec![
        // The first sync: the server does not hold the case yet, then the link breaks.
        Answer::Status(404, "not_found"),
        Answer::Cut,
        Answer::Cut,
        // The next: refused for good, then stored.
        Answer::Status(403, "forbidden"),
        Answer::Stored,
    ]);
    let desk = open_with(&dir, &server, register.clone());
    desk.login("community1", PASSWORD).expect("login");
    let first = desk
        .report(walk_in("lamp out", resident()))
        .expect("report");
    let second = desk
        .report(walk_in(
            "bins overflowing",
            NewCaller {
                name: "李四".into(),
                phone: Some("010 6234 5678".into()),
                ..NewCaller::default()
            },
        ))
        .expect("report");
    let ids = |case: &str| desk.case(case).expect("case").caller.expect("waits").id;
    let (first_id, second_id) = (ids(&first), ids(&second));

    let cut = desk.sync(&|_, _, _| {});
    // A network failure, saying the cases are saved and the callers remain.
    let Err(ClientError::SyncInterrupted { message, .. }) = &cut else {
        panic!("{cut:?}");
    };
    let (report, remaining) = (
        desk.last_sync_report().expect("report"),
        desk.pending().expect("pending"),
    );
    assert!(message.contains("link lost"), "{message}");
    assert!(message.contains("2 caller(s) to upload"), "{message}");
    assert_eq!(
        (report.cases_sent, remaining.callers.len()),
        (2, 2),
        "{cut:?}"
    );
    assert!(
        desk.pending().expect("pending").cases.is_empty(),
        "the cases reached the server"
    );
    assert_eq!(desk.pending().expect("pending").callers.len(), 2, "kept");
    let uploads = register.uploads();
    assert_eq!(uploads.len(), 3, "{uploads:?}");
    assert!(
        uploads.iter().all(|(line, _)| line.starts_with("PUT ")),
        "{uploads:?}"
    );
    let body_of = |id: &str| {
        uploads
            .iter()
            .find(|(line, _)| line.ends_with(&format!("/callers/{id}")))
            .map(|(line, body)| (line.clone(), body.clone()))
            .expect("uploaded")
    };
    let (line, body) = body_of(&first_id);
    assert_eq!(line, format!("PUT /v1/cases/{first}/callers/{first_id}"));
    assert_eq!(
        body,
        serde_json::json!({"name": "王小明", "phone": "13812348000", "contact": null,
            "address": "韶九胡同 3 号", "callback": true, "anonymous": false})
    );
    assert_eq!(body_of(&second_id).1["phone"], "010-62345678");

    // The next sync: one refused for good (deleted, reported), the other stored (deleted).
    let report = desk.sync(&|_, _, _| {}).expect("sync");
    assert_eq!(report.callers_uploaded, 1, "{report:?}");
    let refused: Vec<_> = report
        .refusals
        .iter()
        .filter(|r| r.code == "caller_refused")
        .collect();
    assert_eq!(refused.len(), 1, "{report:?}");
    let pending = desk.pending().expect("pending");
    assert!(pending.callers.is_empty(), "{pending:?}");
    assert_eq!(
        pending
            .refused
            .iter()
            .filter(|r| r.code == "caller_refused")
            .count(),
        1,
        "{pending:?}"
    );
    assert!(
        !refused[0].message.contains("王小明") && !refused[0].message.contains("李四"),
        "a refusal keeps no personal data: {}",
        refused[0].message
    );
    for case in [&first, &second] {
        assert_eq!(desk.case(case).expect("case").caller, None);
    }
    drop(desk);

    // Nothing more to upload: the next sync asks the register nothing.
    let desk = open_with(&dir, &server, register.clone());
    let seen = register.uploads().len();
    assert_eq!(desk.sync(&|_, _, _| {}).expect("sync").callers_uploaded, 0);
    assert_eq!(register.uploads().len(), seen);
}

/// A caller goes only after its case has reached the server: while the server refuses the case
/// (here, the user moved away from the case's community), the caller waits on the device and
/// the register is not asked.
#[test]
fn the_caller_of_a_case_the_server_refused_waits_on_the_device() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let register = Register::new(vec![]);
    let desk = open_with(&tmp.path().join("c1"), &server, register.clone());
    desk.login("community1", PASSWORD).expect("login");
    // Outside community1's grids: refused on the device, before anything is written.
    let outside = desk.report(NewReport {
        grid: Some("g4".into()),
        ..walk_in("outside", resident())
    });
    assert!(outside.is_err(), "{outside:?}");
    assert!(desk.pending().expect("pending").callers.is_empty());

    let case = desk
        .report(walk_in("lamp out", resident()))
        .expect("report");
    let http = server.http();
    let admin = http.login("admin");
    let moved = http.json(
        "POST",
        "/v1/admin/users",
        Some(&admin),
        Some(
            serde_json::json!({"id": "community1", "name": "韶九社区工作站",
            "role": "community_workstation", "scope": {"level": "community", "id": "c3"},
            "revoke_previous_scopes": true}),
        ),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    let report = desk.sync(&|_, _, _| {}).expect("sync");
    assert_eq!(report.refusals.len(), 1, "{report:?}");
    assert_eq!(report.callers_uploaded, 0);
    assert!(register.uploads().is_empty(), "{:?}", register.uploads());
    assert_eq!(desk.pending().expect("pending").callers, vec![case.clone()]);
    assert!(desk.case(&case).expect("case").caller.is_some());
}

/// Against the server's own register: the caller goes up once its case has synced and leaves
/// the device; a grid worker who receives the case gets no caller with it; the hotline desk
/// sees the caller in the register; the register knows the record when it is sent again.
#[test]
fn the_register_takes_the_caller_and_other_devices_never_see_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let desk = open_with(&tmp.path().join("c1"), &server, Register::new(vec![]));
    desk.login("community1", PASSWORD).expect("login");
    let case = desk
        .report(walk_in("street lamp out", resident()))
        .expect("report");
    let id = desk.case(&case).expect("case").caller.expect("waits").id;

    let report = desk.sync(&|_, _, _| {}).expect("sync");
    assert_eq!(
        (report.cases_sent, report.callers_uploaded),
        (1, 1),
        "{report:?}"
    );
    assert!(report.refusals.is_empty(), "{report:?}");
    assert!(desk.pending().expect("pending").callers.is_empty());
    assert_eq!(desk.case(&case).expect("case").caller, None);

    let worker = open_with(&tmp.path().join("w1"), &server, Register::new(vec![]));
    worker.login("worker1", PASSWORD).expect("login");
    assert_eq!(worker.sync(&|_, _, _| {}).expect("sync").cases_received, 1);
    let seen = worker.case(&case).expect("received");
    assert_eq!(seen.caller, None);
    assert_eq!(seen.case.business_type.as_deref(), Some("complaint"));
    for t in &seen.timeline {
        for personal in ["王小明", "13812348000", "韶九胡同"] {
            assert!(!t.payload.contains(personal), "{}", t.payload);
        }
    }

    let http = server.http();
    let operator = http.login("operator");
    let view = http.get(&format!("/v1/cases/{case}"), Some(&operator));
    assert_eq!(view.status, 200);
    assert!(
        view.text().contains("13812348000"),
        "the desk sees the caller: {}",
        view.text()
    );
    let again = http.json(
        "PUT",
        &format!("/v1/cases/{case}/callers/{id}"),
        Some(&http.login("community1")),
        Some(
            serde_json::json!({"name": "王小明", "phone": "13812348000", "contact": null,
            "address": "韶九胡同 3 号", "callback": true, "anonymous": false}),
        ),
    );
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["again"], true);
}
