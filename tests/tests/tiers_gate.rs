//! Tiered dispatch (分级分类) at the sync gate: a dispatch arriving by sync to a unit outside
//! its writer's tier is refused (`not_permitted`) and nothing of the change is stored; one
//! within the tier is admitted. A handheld's own commands refuse such a dispatch against its
//! cached organization, so only a broken or hostile client sends one; the device here writes
//! with the engine's plain commands, which check no organization.

use gridcase_sync_core::category::Level;
use gridcase_sync_core::event::Filing;
use gridcase_sync_core::{Action, CaseId, CategoryCode};
use gridcase_tests::scenario::{case_view, now, patrol};
use gridcase_tests::{Device, Server};

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

#[test]
fn a_dispatch_outside_the_writers_tier_is_refused_at_the_sync_gate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&tmp.path().join("ledger"), &[]);
    let http = server.http();
    let operator = http.login("operator");

    // Community c1's workstation commands c1's property manager (u6), not the street's team
    // (u5) nor a district unit (u1).
    let community1 = Device::register(&server, "community1");
    for unit in ["u5", "u1"] {
        let case = filed_case(&community1, &format!("refused dispatch to {unit}"));
        let event = community1
            .act(&case, dispatch(unit), now() + 2)
            .expect("the plain commands check no organization");
        let report = community1.sync().expect("sync");
        let notice = report
            .notices
            .iter()
            .find(|n| n.case == case)
            .unwrap_or_else(|| panic!("a notice for the dispatch to {unit}: {report:?}"));
        assert_eq!(notice.code, "not_permitted", "{notice:?}");
        assert!(
            notice.text.contains(event.id.as_str()) && notice.text.contains(unit),
            "{notice:?}"
        );
        // Nothing of the refused change is stored: the case stays as filed.
        let view = case_view(&http, &operator, &case);
        assert_eq!(view["state"]["status"], "filed", "{view}");
        assert!(view["state"]["assigned_unit"].is_null(), "{view}");
        assert!(
            !view["history"]
                .as_array()
                .expect("history")
                .iter()
                .any(|h| h["event"]["id"] == event.id.as_str()),
            "{view}"
        );
    }

    // A new case whose first sync carries the dispatch is refused whole.
    let fresh = community1.open(patrol("refused with its intake"), now());
    community1.act(&fresh, filing(), now() + 1).expect("file");
    community1
        .act(&fresh, dispatch("u5"), now() + 2)
        .expect("dispatch");
    let report = community1.sync().expect("sync");
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.case == fresh && n.code == "not_permitted"),
        "{report:?}"
    );
    let missing = http.get(&format!("/v1/cases/{fresh}"), Some(&operator));
    assert_eq!(missing.status, 404, "{}", missing.text());

    // Within the tier: the community's own unit.
    let ours = filed_case(&community1, "dispatched to the community's unit");
    community1
        .act(&ours, dispatch("u6"), now() + 2)
        .expect("dispatch");
    let report = community1.sync().expect("sync");
    assert!(
        !report.notices.iter().any(|n| n.case == ours),
        "{:?}",
        report.notices
    );
    let view = case_view(&http, &operator, &ours);
    assert_eq!(view["state"]["assigned_unit"], "u6", "{view}");

    // Street s1's center commands its own team (u5) and its communities' units (u6), but not
    // a district unit (u3).
    let street1 = Device::register(&server, "street1");
    for (unit, admitted) in [("u5", true), ("u6", true), ("u3", false)] {
        let case = filed_case(&street1, &format!("street dispatch to {unit}"));
        street1
            .act(&case, dispatch(unit), now() + 2)
            .expect("dispatch");
        let report = street1.sync().expect("sync");
        let refused = report
            .notices
            .iter()
            .any(|n| n.case == case && n.code == "not_permitted");
        assert_eq!(refused, !admitted, "{unit}: {report:?}");
        let view = case_view(&http, &operator, &case);
        let expected = if admitted {
            serde_json::json!(unit)
        } else {
            serde_json::Value::Null
        };
        assert_eq!(view["state"]["assigned_unit"], expected, "{unit}: {view}");
    }

    // The district commands every unit.
    let district = Device::register(&server, "operator");
    let case = filed_case(&district, "district dispatch to the community's unit");
    district
        .act(&case, dispatch("u6"), now() + 2)
        .expect("dispatch");
    let report = district.sync().expect("sync");
    assert!(report.notices.is_empty(), "{:?}", report.notices);
}
