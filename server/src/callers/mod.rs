//! Callers (来电人): the personal data of the residents who report a case, kept by the center in
//! its caller register beside the case, never in the replicated case document.
//!
//! A case document goes to every handheld whose user may see the case, and whatever is written
//! in it can never be taken back; a lost handheld would leak every caller of its grid, above
//! all those who report wrongdoing (举报). So the intake and each `caller_added` event name
//! a caller only by the id of its record here, and who sees a record (whole, masked, or not at
//! all) is decided by [`sight`] from the viewer's role, on every front: the JSON API, the
//! console and the sync answer (which never carries a record).
//!
//! Cases written before the register carry the reporter inside their intake. Their history
//! cannot change; their display does: [`legacy`] reads that reporter as a caller record, shown
//! under the same rules, and the intake's `reporter` is masked or removed from the views.

use gridcase_sync_core::caller::split_contact;
use gridcase_sync_core::event::{BusinessType, Intake};
use gridcase_sync_core::{CaseId, Millis, Role};
use serde::{Deserialize, Serialize};

/// How a caller came to the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The caller whose call opened the case.
    Intake,
    /// A later caller about the same problem (a duplicate call attached to the case).
    Added,
    /// The reporter written inside the intake by a release before the register.
    Legacy,
}

/// One caller of one case, as the register keeps it. Stored as JSON: a field added later has a
/// default, so older records still load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerRecord {
    /// 32 hex, like a case id: minted by the desk's form or the handheld that took the call.
    pub id: String,
    pub case: CaseId,
    pub source: Source,
    /// Who they are and how to call them back, as checked (`sync_core::caller`); stored
    /// flattened, so the record's JSON reads its fields by name.
    #[serde(flatten)]
    pub caller: CallerInput,
    pub added_at: Millis,
    /// The user who recorded it.
    pub added_by: String,
}

/// A caller as a form or a handheld gives one: sync-core's rule, the same on every front.
pub use gridcase_sync_core::caller::{
    mask_contact, mask_name, mask_phone, Caller as CallerInput, CallerProblem,
};

impl CallerRecord {
    /// The register's record of a (checked) caller.
    pub fn new(
        caller: CallerInput,
        id: String,
        case: CaseId,
        source: Source,
        added_at: Millis,
        added_by: String,
    ) -> CallerRecord {
        CallerRecord {
            id,
            case,
            source,
            caller,
            added_at,
            added_by,
        }
    }
}

pub use gridcase_sync_core::caller::is_caller_id;

/// How much of a caller a viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sight {
    /// Nothing: not even that there is a caller.
    None,
    /// Enough to recognise a caller (`王*`, `138****8000`), nothing to call them with.
    Masked,
    /// Everything: the desk that takes and returns calls.
    Whole,
}

/// Who sees callers (ARCHITECTURE, "Who sees what"): the district and street centers, which
/// take and return calls, see them whole; community workstations and supervisors see them
/// masked, except the reporters of wrongdoing (举报), whom they do not see; units, grid
/// workers, intake channels and admins never see them. Scope is decided before this: a viewer
/// sees a case's callers only if they may see the case.
pub fn sight(role: Role, business_type: Option<BusinessType>) -> Sight {
    if role.takes_calls() {
        return Sight::Whole;
    }
    match role {
        Role::CommunityWorkstation | Role::Supervisor
            if business_type != Some(BusinessType::Report) =>
        {
            Sight::Masked
        }
        _ => Sight::None,
    }
}

/// A caller as a viewer may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallerView {
    pub id: String,
    pub source: Source,
    pub name: String,
    pub phone: Option<String>,
    pub contact: Option<String>,
    pub address: Option<String>,
    pub callback: bool,
    pub anonymous: bool,
    pub added_at: Millis,
    /// Whether the fields were masked for this viewer.
    pub masked: bool,
}

impl CallerRecord {
    /// The record as seen with `sight`; `None` when the viewer sees no callers.
    pub fn view(&self, sight: Sight) -> Option<CallerView> {
        let whole = match sight {
            Sight::None => return None,
            Sight::Masked => false,
            Sight::Whole => true,
        };
        let c = &self.caller;
        let keep = |text: &Option<String>, mask: fn(&str) -> String| {
            text.as_deref()
                .map(|t| if whole { t.to_owned() } else { mask(t) })
        };
        Some(CallerView {
            id: self.id.clone(),
            source: self.source,
            name: if whole {
                c.name.clone()
            } else {
                mask_name(&c.name)
            },
            phone: keep(&c.phone, mask_phone),
            contact: keep(&c.contact, mask_contact),
            address: if whole { c.address.clone() } else { None },
            callback: c.callback,
            anonymous: c.anonymous,
            added_at: self.added_at,
            masked: !whole,
        })
    }
}

/// The reporter an intake written before the register carries, read as a caller record (its
/// id: the case's, so it is stable). Its contact is a phone when it reads as one.
pub fn legacy(case: &CaseId, intake: &Intake, at: Millis, by: &str) -> Option<CallerRecord> {
    let reporter = intake.reporter.as_ref()?;
    let (phone, contact) = split_contact(&reporter.contact);
    let caller = CallerInput {
        name: reporter.name.clone(),
        phone,
        contact,
        ..CallerInput::default()
    };
    Some(CallerRecord::new(
        caller,
        case.to_string(),
        case.clone(),
        Source::Legacy,
        at,
        by.to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_sees_callers() {
        use BusinessType::*;
        assert_eq!(sight(Role::DistrictCenter, Some(Report)), Sight::Whole);
        assert_eq!(sight(Role::StreetCenter, None), Sight::Whole);
        assert_eq!(
            sight(Role::CommunityWorkstation, Some(Complaint)),
            Sight::Masked
        );
        assert_eq!(sight(Role::CommunityWorkstation, Some(Report)), Sight::None);
        assert_eq!(sight(Role::Supervisor, None), Sight::Masked);
        for role in [
            Role::GridWorker,
            Role::UnitHandler,
            Role::IntakeChannel,
            Role::Admin,
        ] {
            assert_eq!(sight(role, Some(Complaint)), Sight::None, "{role:?}");
        }
    }

    /// A record's stored JSON names each field: what the register holds today reads the same
    /// in every later release, whatever the struct's shape.
    #[test]
    fn a_stored_record_is_pinned() {
        let stored = r#"{"id":"0190a1b2c3d4e5f60718293a4b5c6d7e","case":"c","source":"added","name":"李先生","phone":"010-62345678","contact":null,"address":null,"callback":true,"anonymous":false,"added_at":5,"added_by":"operator"}"#;
        let record: CallerRecord = serde_json::from_str(stored).expect("reads");
        assert_eq!(record.caller.phone.as_deref(), Some("010-62345678"));
        assert!(record.caller.callback);
        assert_eq!(serde_json::to_string(&record).ok().as_deref(), Some(stored));
    }

    #[test]
    fn caller_ids_are_case_ids() {
        assert!(is_caller_id("0190a1b2c3d4e5f60718293a4b5c6d7e"));
        assert!(!is_caller_id("0190A1B2C3D4E5F60718293A4B5C6D7E"));
        assert!(!is_caller_id("../etc"));
    }

    #[test]
    fn a_masked_record_shows_nothing_to_dial_or_visit() {
        let record = CallerRecord::new(
            CallerInput {
                name: "王小明".into(),
                phone: Some("13812348000".into()),
                address: Some("韶九胡同12号".into()),
                ..CallerInput::default()
            },
            "0190a1b2c3d4e5f60718293a4b5c6d7e".into(),
            CaseId::new("c"),
            Source::Intake,
            0,
            "operator".into(),
        );
        let masked = record.view(Sight::Masked).expect("seen masked");
        assert_eq!(
            (
                masked.name.as_str(),
                masked.phone.as_deref(),
                masked.address
            ),
            ("王*", Some("138****8000"), None)
        );
        assert_eq!(
            record.view(Sight::Whole).map(|v| v.phone),
            Some(Some("13812348000".into()))
        );
        assert_eq!(record.view(Sight::None), None);
    }
}
