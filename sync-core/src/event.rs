//! Events: the only thing a case is made of. Every step of the seven-step loop and every
//! side action is one event kind with its own payload.

use crate::calendar::Millis;
use crate::category::{CategoryCode, Level};
use crate::ids::{CaseId, DeviceId, EventId, UnitId, UserId};
use crate::org::Territory;
use crate::role::{Actor, Role, Scope};
use serde::{Deserialize, Serialize};

/// `as_str` and `parse` for an enum whose serde names are its `snake_case` variant names: the
/// names forms, the CLI and the handheld's FFI take and show, written once (a test in each
/// module holds them equal to serde's).
#[macro_export]
macro_rules! snake_names {
    ($ty:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),*];

            /// The value's name, as serde writes it.
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),* }
            }

            /// The value named `name`, if there is one.
            pub fn parse(name: &str) -> Option<$ty> {
                match name { $($name => Some(<$ty>::$variant),)* _ => None }
            }
        }
    };
}

/// One entry of a case's history, as written by its author's device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: EventId,
    pub author: UserId,
    pub device: DeviceId,
    /// The role and scope the author held when writing, as the device knew them.
    pub role: Role,
    pub scope: Scope,
    /// Device time. Device clocks drift: this orders ties, it is never an audit trail.
    pub at: Millis,
    /// The frontier of events the author had seen: what makes two events concurrent.
    pub parents: Vec<EventId>,
    pub action: Action,
}

impl Event {
    /// The actor who wrote this event, as claimed in it.
    pub fn actor(&self) -> Actor {
        Actor {
            user: self.author.clone(),
            device: self.device.clone(),
            role: self.role,
            scope: self.scope.clone(),
        }
    }

    pub fn kind(&self) -> ActionKind {
        self.action.kind()
    }
}

/// How a report reached the system (受理渠道).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 12345 hotline call.
    Hotline,
    /// A grid worker's own patrol (巡查).
    Patrol,
    /// Walk-in at a community workstation.
    WalkIn,
    /// Web form or Open311.
    Web,
}

crate::snake_names!(Channel {
    Hotline => "hotline",
    Patrol => "patrol",
    WalkIn => "walk_in",
    Web => "web",
});

crate::snake_names!(DeclineReason {
    Duplicate => "duplicate",
    OutOfJurisdiction => "out_of_jurisdiction",
    NotActionable => "not_actionable",
    NotFound => "not_found",
});

crate::snake_names!(Satisfaction {
    Satisfied => "satisfied",
    Basic => "basic",
    Dissatisfied => "dissatisfied",
});

/// 诉求类型: what a caller wants of the hotline, as the operator classifies the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BusinessType {
    /// 咨询: a question.
    Consultation,
    /// 求助: a request for help.
    RequestForHelp,
    /// 投诉: a complaint.
    Complaint,
    /// 举报: a report of wrongdoing.
    Report,
    /// 建议: a suggestion.
    Suggestion,
    /// 表扬: praise.
    Praise,
}

crate::snake_names!(BusinessType {
    Consultation => "consultation",
    RequestForHelp => "request_for_help",
    Complaint => "complaint",
    Report => "report",
    Suggestion => "suggestion",
    Praise => "praise",
});

/// Reads an intake's business type, and a value this release does not know as none.
///
/// A later release's new value of a payload's enum makes the whole event unreadable to older
/// releases (ARCHITECTURE, "Persisted formats and evolution"); for the intake that would hide
/// the case's first event. Losing only this optional field is the lesser harm, so a later
/// release may add business types freely.
fn business_type_or_none<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<BusinessType>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(BusinessType::parse))
}

impl Channel {
    /// Reports from the public must be confirmed on site before they are filed (核实).
    pub fn needs_confirmation(self) -> bool {
        matches!(self, Channel::Hotline | Channel::Web)
    }
}

/// Who reported and how to call them back. Personal data: never indexed or logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Reporter {
    pub name: String,
    pub contact: String,
}

/// 采集受理: the first event of every case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Intake {
    pub channel: Channel,
    #[serde(default)]
    pub reporter: Option<Reporter>,
    pub description: String,
    pub territory: Territory,
    #[serde(default)]
    pub address: Option<String>,
    /// (longitude, latitude).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schema(value_type = Option<Vec<f64>>, min_items = 2, max_items = 2))]
    pub coordinates: Option<(f64, f64)>,
    /// A first guess at the category, refined when the case is filed.
    #[serde(default)]
    pub category: Option<CategoryCode>,
    /// sha-256 hex of photo blobs.
    #[serde(default)]
    pub photos: Vec<String>,
    /// A picture the reporter published elsewhere (Open311's `media_url`): an http(s) URL,
    /// kept as given. Omitted when absent, so intakes without one read as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    /// What the caller wants (诉求类型), when the intake desk classified it. Omitted when
    /// absent, so intakes without one read and are written as before; a value this release
    /// does not know reads as none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "business_type_or_none"
    )]
    pub business_type: Option<BusinessType>,
    /// The caller's record in the center's caller register (32 hex, like a case id): the
    /// document refers to the caller, the register holds the personal data. Omitted when
    /// absent (patrol findings, intakes written before the register).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// Whether the caller asked to be called back (回访) once the case is closed. Omitted when
    /// false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub callback: bool,
}

/// 案卷建立.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Filing {
    pub category: CategoryCode,
    pub level: Level,
    #[serde(default)]
    pub units: Vec<UnitId>,
    #[serde(default)]
    pub suggestion: String,
    /// Whether the citizen must be called back (回访).
    #[serde(default)]
    pub callback: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    Duplicate,
    OutOfJurisdiction,
    NotActionable,
    /// On-site confirmation found no problem.
    NotFound,
}

/// Citizen satisfaction from the callback (回访满意度).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    Basic,
    Dissatisfied,
}

/// The payload of an event; its variant is the event kind.
// The intake is much the largest variant; actions are few and short-lived (one per event being
// written or folded), and boxing it would change the public shape every front matches on.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Action {
    Intake(Intake),
    /// 核实 that a public report is real.
    Confirm {
        exists: bool,
        #[serde(default)]
        note: String,
    },
    File(Filing),
    Decline {
        reason: DeclineReason,
        #[serde(default)]
        note: String,
    },
    /// 指挥派遣; a later dispatch reassigns.
    Dispatch {
        unit: UnitId,
        #[serde(default)]
        responsible: Option<String>,
        /// Overrides the catalog deadline.
        #[serde(default)]
        deadline: Option<Millis>,
        /// 指定主办: the center names this unit the lead, typically after arbitration of a case
        /// units kept returning. The lead unit cannot return the case. Omitted when false, so
        /// older dispatches read and are written as before, and an older release reads a lead
        /// dispatch as a dispatch.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        lead: bool,
    },
    /// 签收: the unit dispatched to acknowledges receipt. The time from the dispatch is the
    /// response time (响应); the unit's first handling, feedback or return counts as one too.
    Acknowledge {
        #[serde(default)]
        note: String,
    },
    /// 任务处理 progress.
    Handle {
        note: String,
        #[serde(default)]
        photos: Vec<String>,
    },
    /// Not our responsibility: back to the dispatcher.
    Return {
        reason: String,
    },
    /// 处理反馈.
    Feedback {
        resolved: bool,
        #[serde(default)]
        note: String,
        #[serde(default)]
        photos: Vec<String>,
    },
    /// 核查 on site after feedback.
    Verify {
        resolved: bool,
        #[serde(default)]
        note: String,
        #[serde(default)]
        photos: Vec<String>,
    },
    /// 结案.
    Close {
        #[serde(default)]
        note: String,
    },
    /// 综合评价.
    Evaluate {
        #[serde(default)]
        satisfaction: Option<Satisfaction>,
        #[serde(default)]
        solved: Option<bool>,
        #[serde(default)]
        note: String,
    },
    /// 延期 by a center: on its own, or approving a unit's request (`request`).
    Extend {
        hours: u32,
        reason: String,
        /// The `extension_request` this approves. Only the dispatching tier (or one above it)
        /// approves, never the requester. Omitted when the center extends on its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<EventId>,
    },
    /// 延期申请: the unit dispatched to asks for more time; the dispatcher approves (`extend`
    /// naming it) or refuses (`refuse_extension`).
    ExtensionRequest {
        hours: u32,
        reason: String,
    },
    /// The dispatcher refuses a unit's extension request.
    RefuseExtension {
        request: EventId,
        reason: String,
    },
    /// 自处理: the grid worker fixed it on the spot.
    SelfHandle {
        note: String,
        #[serde(default)]
        photos: Vec<String>,
    },
    /// 挂账.
    Hold {
        reason: String,
    },
    Release {
        #[serde(default)]
        note: String,
    },
    /// 作废.
    Void {
        reason: String,
    },
    Comment {
        text: String,
    },
    Attach {
        blobs: Vec<String>,
    },
    MarkDuplicate {
        of: CaseId,
    },
    Reopen {
        reason: String,
    },
    Escalate {
        reason: String,
    },
    /// 直接答复: a consultation answered on the phone, closed at intake with the answer given.
    /// It counts toward the first-contact resolution rate.
    Answer {
        answer: String,
    },
    /// Another caller reported this case (a duplicate call attached to it). The caller's
    /// personal data stays in the center's caller register under `caller`; the replicated
    /// document carries only that reference.
    CallerAdded {
        /// The caller record's id in the register (32 hex, like a case id).
        caller: String,
        #[serde(default)]
        note: String,
        /// Whether this caller wants a callback (回访) once the case is closed.
        #[serde(default)]
        callback: bool,
    },
    /// 回访: the center called a caller back after closing: the public evaluation
    /// (社会公众外评价), kept apart from the center's own `evaluate`.
    Callback {
        /// The caller record called back, when the register has one.
        #[serde(default)]
        caller: Option<String>,
        /// Whether the caller was reached; an unreached callback is tried again later.
        reached: bool,
        /// Whether the caller says the problem is solved.
        #[serde(default)]
        solved: Option<bool>,
        #[serde(default)]
        satisfaction: Option<Satisfaction>,
        #[serde(default)]
        note: String,
        /// 督办: the caller's complaint goes to the supervisor. Only after a reached caller
        /// said the problem is not solved or was dissatisfied.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        to_supervisor: bool,
    },
    /// The central office's answer to a conflict record, named by its superseded event.
    Resolve {
        conflict: EventId,
        #[serde(default)]
        note: String,
    },
    /// The central office's answer to a conflict that takes the superseded event's side: its
    /// effect is applied at this event's place and time, if its writer could have written it
    /// here but for the status (a case it moves back into work is no longer closed). Only for
    /// a transition that lost by being concurrent (`Conflict::adoptable`). A kind of its own,
    /// not a flag on `resolve`: an older release must not read it as keeping the outcome.
    Adopt {
        conflict: EventId,
        #[serde(default)]
        note: String,
    },
    /// An event this release cannot read: a kind added by a later release, or a payload that
    /// does not read as its kind (a later release's new value in a field). Kept verbatim,
    /// carried by sync, shown in the timeline, and without effect on the fold. No command
    /// writes one: the rule table permits it to nobody.
    Unknown(UnknownAction),
}

/// What a stored event held, as stored, when this release cannot read it as an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct UnknownAction {
    /// The stored kind, as written.
    pub kind: String,
    /// The stored payload text, as written (normally JSON).
    pub payload: String,
    /// Why this release does not understand it, for people.
    pub reason: String,
}

macro_rules! action_kinds {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// The kind of an event, without its payload. `Unknown` stands for every kind this
        /// release does not know; it is always last (the rule table is indexed by kind).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ActionKind { $($variant,)* Unknown }

        impl ActionKind {
            /// Every kind, `Unknown` last.
            pub const ALL: &'static [ActionKind] = &[$(ActionKind::$variant,)* ActionKind::Unknown];

            pub fn as_str(self) -> &'static str {
                match self { $(ActionKind::$variant => $name,)* ActionKind::Unknown => "unknown" }
            }

            /// A kind this release knows by its stored name. `"unknown"` is not one: it names
            /// no kind anyone may write.
            pub fn parse(s: &str) -> Option<ActionKind> {
                match s { $($name => Some(ActionKind::$variant),)* _ => None }
            }
        }

        impl Action {
            pub fn kind(&self) -> ActionKind {
                match self {
                    $(Action::$variant { .. } => ActionKind::$variant,)*
                    Action::Unknown(_) => ActionKind::Unknown,
                }
            }
        }
    };
}

action_kinds! {
    Intake => "intake",
    Confirm => "confirm",
    File => "file",
    Decline => "decline",
    Dispatch => "dispatch",
    Handle => "handle",
    Return => "return",
    Feedback => "feedback",
    Verify => "verify",
    Close => "close",
    Evaluate => "evaluate",
    Extend => "extend",
    SelfHandle => "self_handle",
    Hold => "hold",
    Release => "release",
    Void => "void",
    Comment => "comment",
    Attach => "attach",
    MarkDuplicate => "mark_duplicate",
    Reopen => "reopen",
    Escalate => "escalate",
    Answer => "answer",
    CallerAdded => "caller_added",
    Callback => "callback",
    Resolve => "resolve",
    Acknowledge => "acknowledge",
    ExtensionRequest => "extension_request",
    RefuseExtension => "refuse_extension",
    Adopt => "adopt",
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Action {
    /// The name this action is stored under: its kind's, or for an unknown action the name it
    /// was stored under.
    pub fn stored_kind(&self) -> &str {
        match self {
            Action::Unknown(unknown) => &unknown.kind,
            known => known.kind().as_str(),
        }
    }

    /// The stored kind and payload text of this action (the document's `kind` and `payload`
    /// fields). An unknown action gives back exactly what was read.
    pub fn stored_form(&self) -> (String, String) {
        if let Action::Unknown(unknown) = self {
            return (unknown.kind.clone(), unknown.payload.clone());
        }
        let payload = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut tagged)) => tagged
                .remove("payload")
                .unwrap_or(serde_json::Value::Object(Default::default())),
            _ => serde_json::Value::Object(Default::default()),
        };
        (self.kind().as_str().to_owned(), payload.to_string())
    }

    /// Whether two transitions reach the same outcome, so that making both concurrently is
    /// agreement (two workers verifying "resolved"), not a conflict.
    pub fn agrees_with(&self, other: &Action) -> bool {
        use Action::*;
        match (self, other) {
            (Confirm { exists: a, .. }, Confirm { exists: b, .. }) => a == b,
            (File(a), File(b)) => a.category == b.category && a.level == b.level,
            (Decline { reason: a, .. }, Decline { reason: b, .. }) => a == b,
            (
                Dispatch {
                    unit: a, lead: x, ..
                },
                Dispatch {
                    unit: b, lead: y, ..
                },
            ) => a == b && x == y,
            (Feedback { resolved: a, .. }, Feedback { resolved: b, .. }) => a == b,
            (Verify { resolved: a, .. }, Verify { resolved: b, .. }) => a == b,
            (MarkDuplicate { of: a }, MarkDuplicate { of: b }) => a == b,
            (Evaluate { .. }, Evaluate { .. }) => false,
            (Intake(_), Intake(_)) => false,
            (Unknown(_), _) | (_, Unknown(_)) => false,
            (a, b) => a.kind() == b.kind(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names written once by `snake_names!` are serde's.
    #[test]
    fn names_are_serdes() {
        fn check<T: Serialize + Copy>(all: &[T], name: fn(T) -> &'static str) {
            for v in all {
                assert_eq!(
                    serde_json::to_value(v).ok(),
                    Some(serde_json::json!(name(*v)))
                );
            }
        }
        check(Channel::ALL, Channel::as_str);
        check(DeclineReason::ALL, DeclineReason::as_str);
        check(Satisfaction::ALL, Satisfaction::as_str);
        check(BusinessType::ALL, BusinessType::as_str);
        assert_eq!(Channel::parse("walk_in"), Some(Channel::WalkIn));
        assert_eq!(Channel::parse("Walk_in"), None);
    }

    /// An intake without a business type is written as before; one a later release added
    /// reads as none, and the intake stays readable.
    #[test]
    fn business_types_are_optional_and_later_ones_read_as_none() {
        let payload = |extra: &str| {
            format!(
                r#"{{"kind":"intake","payload":{{"channel":"hotline","description":"d",
                "territory":{{"street":"s1","community":"c1","grid":"g1"}}{extra}}}}}"#
            )
        };
        let read = |extra: &str| match serde_json::from_str::<Action>(&payload(extra)) {
            Ok(Action::Intake(intake)) => Some(intake),
            _ => None,
        };
        let none = read("").expect("an intake");
        assert_eq!(none.business_type, None);
        assert!(!Action::Intake(none)
            .stored_form()
            .1
            .contains("business_type"));
        let complaint = read(r#","business_type":"complaint""#).expect("an intake");
        assert_eq!(complaint.business_type, Some(BusinessType::Complaint));
        assert!(Action::Intake(complaint)
            .stored_form()
            .1
            .contains(r#""business_type":"complaint""#));
        for later in [r#","business_type":"petition""#, r#","business_type":7"#] {
            assert_eq!(read(later).map(|i| i.business_type), Some(None), "{later}");
        }
    }
}
