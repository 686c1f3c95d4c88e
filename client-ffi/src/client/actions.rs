//! Offline actions: each one folds the case, checks it with sync-core's commands (the same rule
//! table the server runs, and the cached organization), appends the event, and marks the case
//! for the next sync. Photos named by an action are imported and queued for upload; a caller
//! taken down with a new case is kept apart from it (`callers.rs`).

use super::{callers, invalid, Client};
use crate::error::{ClientError, Result};
use crate::views::NewReport;
use gridcase_sync_core::commands::{act_with_org, open_case_with_org};
use gridcase_sync_core::event::{
    BusinessType, Channel, DeclineReason, Filing, Intake, Satisfaction,
};
use gridcase_sync_core::{Action, CaseId, CategoryCode, Level, UnitId};

impl Client {
    /// Reports a new case (采集), offline. A caller taken down with it is checked (its phone
    /// written one way) and kept on this device beside the case, never in it: the intake
    /// names no reporter, only the id of the caller's record-to-be in the server's register.
    pub fn report(&self, report: NewReport) -> Result<String> {
        let actor = self.actor()?;
        let channel = Channel::parse(&report.channel)
            .ok_or_else(|| invalid(format!("unknown channel {}", report.channel)))?;
        let business_type = match report.business_type.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(b) => Some(BusinessType::parse(b).ok_or_else(|| {
                invalid(format!(
                    "unknown business type {b}: consultation, request_for_help, complaint, report, suggestion or praise"
                ))
            })?),
        };
        let caller = report
            .caller
            .map(callers::checked)
            .transpose()?
            .map(|body| (callers::new_id(), body));
        if caller.is_some() && channel == Channel::Patrol {
            return Err(invalid(
                "a patrol report has no caller: take a resident's report as walk_in (or hotline)",
            ));
        }
        let org = self.org()?;
        let grid = report.grid.as_deref().map(gridcase_sync_core::GridId::from);
        let point = report.longitude.zip(report.latitude);
        let territory = org
            .locate(grid.as_ref(), point, &actor.scope)
            .map_err(|v| invalid(v.message))?;
        let category = match &report.category {
            Some(c) => {
                Some(CategoryCode::parse(c).ok_or_else(|| invalid(format!("bad category {c}")))?)
            }
            None => None,
        };
        let blobs = self.import_all(&report.photos)?;
        let intake = Intake {
            media_url: None,
            business_type,
            caller: caller.as_ref().map(|(id, _)| id.clone()),
            callback: caller.as_ref().is_some_and(|(_, body)| body.callback),
            channel,
            reporter: None,
            description: report.description,
            territory,
            address: report.address,
            coordinates: report.longitude.zip(report.latitude),
            category,
            photos: Vec::new(),
        };
        let (mut doc, _) = open_case_with_org(
            &actor,
            self.writer()?,
            intake,
            blobs.clone(),
            self.now(),
            Some(&org),
        )?;
        let case = doc.header()?.case;
        match caller {
            Some((id, body)) => self.save_with_caller(&case, &mut doc, &id, body)?,
            None => self.docs.save_local(&case, &mut doc, &[])?,
        }
        self.queue_uploads(&case, &blobs)?;
        Ok(case.to_string())
    }

    /// Any action on a case, offline, checked by the same rules the server runs and against
    /// the cached organization (a unit it does not know is refused here, not on arrival).
    pub fn act(&self, case: &str, action: Action, photos: &[String]) -> Result<String> {
        let actor = self.actor()?;
        let org = self.cached_org()?;
        let case = CaseId::new(case);
        let mut doc = self
            .docs
            .load(&case)?
            .ok_or_else(|| ClientError::NotFound {
                message: format!("no case {case} on this device"),
            })?;
        doc.set_actor(self.writer()?);
        let since = doc.heads();
        let blobs = self.import_all(photos)?;
        let event = act_with_org(
            &mut doc,
            &actor,
            action,
            blobs.clone(),
            self.now(),
            &self.calendar,
            org.as_ref(),
        )?;
        self.docs.save_local(&case, &mut doc, &since)?;
        self.queue_uploads(&case, &blobs)?;
        Ok(event.id.to_string())
    }

    pub fn act_json(&self, case: &str, action_json: &str) -> Result<String> {
        let action: Action = serde_json::from_str(action_json)
            .map_err(|e| invalid(format!("not an action: {e}")))?;
        self.act(case, action, &[])
    }

    pub fn file_case(
        &self,
        case: &str,
        category: &str,
        level: &str,
        units: Vec<String>,
        suggestion: String,
        callback: bool,
    ) -> Result<String> {
        let filing = Filing {
            category: CategoryCode::parse(category)
                .ok_or_else(|| invalid(format!("bad category {category}")))?,
            level: Level::parse(level).ok_or_else(|| invalid(format!("bad level {level}")))?,
            units: units.into_iter().map(UnitId::new).collect(),
            suggestion,
            callback,
        };
        self.act(case, Action::File(filing), &[])
    }

    pub fn decline(&self, case: &str, reason: &str, note: String) -> Result<String> {
        let reason = DeclineReason::parse(reason)
            .ok_or_else(|| invalid(format!("unknown decline reason {reason}")))?;
        self.act(case, Action::Decline { reason, note }, &[])
    }

    pub fn dispatch(
        &self,
        case: &str,
        unit: &str,
        responsible: Option<String>,
        deadline: Option<i64>,
    ) -> Result<String> {
        self.act(
            case,
            Action::Dispatch {
                unit: unit.into(),
                responsible,
                deadline,
                lead: false,
            },
            &[],
        )
    }

    pub fn handle(&self, case: &str, note: String, photos: Vec<String>) -> Result<String> {
        self.act(
            case,
            Action::Handle {
                note,
                photos: vec![],
            },
            &photos,
        )
    }

    pub fn feedback(
        &self,
        case: &str,
        resolved: bool,
        note: String,
        photos: Vec<String>,
    ) -> Result<String> {
        self.act(
            case,
            Action::Feedback {
                resolved,
                note,
                photos: vec![],
            },
            &photos,
        )
    }

    pub fn verify(
        &self,
        case: &str,
        resolved: bool,
        note: String,
        photos: Vec<String>,
    ) -> Result<String> {
        self.act(
            case,
            Action::Verify {
                resolved,
                note,
                photos: vec![],
            },
            &photos,
        )
    }

    pub fn close(&self, case: &str, note: String) -> Result<String> {
        self.act(case, Action::Close { note }, &[])
    }

    pub fn self_handle(&self, case: &str, note: String, photos: Vec<String>) -> Result<String> {
        self.act(
            case,
            Action::SelfHandle {
                note,
                photos: vec![],
            },
            &photos,
        )
    }

    /// Not this unit's responsibility: the case goes back to the dispatcher (退回).
    pub fn return_case(&self, case: &str, reason: String) -> Result<String> {
        self.act(case, Action::Return { reason }, &[])
    }

    /// More time to handle the case (延期), granted by a center.
    pub fn extend(&self, case: &str, hours: u32, reason: String) -> Result<String> {
        self.act(
            case,
            Action::Extend {
                hours,
                reason,
                request: None,
            },
            &[],
        )
    }

    /// The unit dispatched to acknowledges receipt (签收); the time from the dispatch is its
    /// response time.
    pub fn acknowledge(&self, case: &str, note: Option<String>) -> Result<String> {
        let note = note.unwrap_or_default();
        self.act(case, Action::Acknowledge { note }, &[])
    }

    /// The unit dispatched to asks the dispatcher for more time (延期申请): one request waits at
    /// a time, for at most the hours the case's category and level allow.
    pub fn request_extension(&self, case: &str, hours: u32, reason: String) -> Result<String> {
        self.act(case, Action::ExtensionRequest { hours, reason }, &[])
    }

    /// Calls the supervisor's attention to an open case (督办).
    pub fn escalate(&self, case: &str, reason: String) -> Result<String> {
        self.act(case, Action::Escalate { reason }, &[])
    }

    pub fn confirm(&self, case: &str, exists: bool, note: String) -> Result<String> {
        self.act(case, Action::Confirm { exists, note }, &[])
    }

    pub fn evaluate(
        &self,
        case: &str,
        satisfaction: Option<String>,
        solved: Option<bool>,
        note: String,
    ) -> Result<String> {
        let satisfaction = match satisfaction {
            Some(s) => Some(
                Satisfaction::parse(&s)
                    .ok_or_else(|| invalid(format!("unknown satisfaction {s}")))?,
            ),
            None => None,
        };
        self.act(
            case,
            Action::Evaluate {
                satisfaction,
                solved,
                note,
            },
            &[],
        )
    }

    pub fn comment(&self, case: &str, text: String) -> Result<String> {
        self.act(case, Action::Comment { text }, &[])
    }

    pub fn attach(&self, case: &str, photos: Vec<String>) -> Result<String> {
        let blobs = self.import_all(&photos)?;
        let action = Action::Attach {
            blobs: blobs.iter().map(|b| b.sha256.clone()).collect(),
        };
        self.act(case, action, &photos)
    }
}
