//! Tiered dispatch (分级分类) at the sync gate: a dispatch arriving by sync to a unit outside
//! its writer's tier under the organization now is kept and flagged (`outside_tier`) for the
//! center, never refused: a handheld's own commands checked it against the organization it had
//! cached, which an admin may have changed since, and events cannot be taken back. One within
//! the tier arrives unflagged. The device here writes with the engine's plain commands, which
//! check no organization.

use gridcase_sync_core::category::Level;
use gridcase_sync_core::event::Filing;
use gridcase_sync_core::{Action, CaseId, CategoryCode};
use gridcase_tests::scenario::{case_view, now, patrol};
use gridcase_tests::{Device, Server};
use serde_json::Value;

fn filing() -> Action {
    Action::File(Filing {
        category: CategoryCode::parse("E0102").expect("code"),
        level: Level::General,
        units: vec![],
        suggestion: String::new(),
        callback: false,
    })
}

fn dispatch(unit: &str) -> Action {
    Action::Dispatch {
        unit: unit.into(),
        responsible: None,
        deadline: None,
        lead: false,
    }
}

/// A case in g1 (community c1, street s1) filed by the device's user and synced.
fn filed_case(device: &Device, description: &str) -> CaseId {
    let case = device.open(patrol(description), now());
    device.act(&case, filing(), now() + 1).expect("file");
    let report = device.sync().expect("sync");
    // The device resends cases refused in an earlier session (its changes stay on it): only
    // this case's notices count here.
    assert!(
        !report.notices.iter().any(|n| n.case == case),
        "{:?}",
        report.notices
    );
    case
}

/// The flag the center sees on an event of the case's history, if any.
fn flag_of(view: &Value, event: &str) -> Option<String> {
    view["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|h| h["event"]["id"] == event)
        .unwrap_or_else(|| panic!("event {event} is stored: {view}"))["flag"]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn a_dispatch_outside_the_writers_tier_is_kept_and_flagged_at_the_sync_gate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");

    // Community c1's workstation commands c1's property manager (u6), not the street's team
    // (u5) nor a district unit (u1); street s1's center its team and its communities' units,
    // not a district unit (u3); the district every unit.
    let community1 = Device::register(&server, "community1");
    let street1 = Device::register(&server, "street1");
    let district = Device::register(&server, "operator");
    let table: [(&Device, &str, bool); 6] = [
        (&community1, "u5", false),
        (&community1, "u1", false),
        (&community1, "u6", true),
        (&street1, "u5", true),
        (&street1, "u3", false),
        (&district, "u6", true),
    ];
    for (device, unit, within) in table {
        let case = filed_case(device, &format!("dispatch to {unit}"));
        let event = device
            .act(&case, dispatch(unit), now() + 2)
            .expect("the plain commands check no organization");
        let report = device.sync().expect("sync");
        assert!(
            !report.notices.iter().any(|n| n.case == case),
            "kept, never refused: {:?}",
            report.notices
        );
        let view = case_view(&http, &operator, &case);
        assert_eq!(view["state"]["assigned_unit"], unit, "{view}");
        let flag = flag_of(&view, event.id.as_str());
        match within {
            true => assert_eq!(flag, None, "{unit}"),
            false => assert!(
                flag.as_deref()
                    .is_some_and(|f| f.starts_with("outside_tier") && f.contains(unit)),
                "{unit}: {flag:?}"
            ),
        }
    }

    // A new case whose first sync carries the dispatch is kept too, flagged.
    let fresh = community1.open(patrol("flagged with its intake"), now());
    community1.act(&fresh, filing(), now() + 1).expect("file");
    let event = community1
        .act(&fresh, dispatch("u5"), now() + 2)
        .expect("dispatch");
    community1.sync().expect("sync");
    let view = case_view(&http, &operator, &fresh);
    assert!(flag_of(&view, event.id.as_str()).is_some_and(|f| f.starts_with("outside_tier")));
    let review = http.get("/v1/review/conflicts", Some(&operator)).json();
    assert!(
        review
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i["case"]["id"] == fresh.as_str())),
        "a flagged event is in the review queue: {review}"
    );
}
