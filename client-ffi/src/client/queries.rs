//! What the app shows: the cases on the device (folded with the same code as the server),
//! one case in detail, open conflicts, refusals, and what waits for the next sync.

use super::photos::PhotoRefusal;
use super::sync::Refusal;
use super::{storage, trees, Client};
use crate::error::{ClientError, Result};
use crate::views::*;
use gridcase_sync_core::fold::{self, fold, CaseState};
use gridcase_sync_core::{CaseDoc, CaseId};
use std::collections::BTreeSet;

impl Client {
    /// A case as the lists show it.
    fn item(
        &self,
        case: &CaseId,
        doc: &CaseDoc,
        state: &CaseState,
        dirty: &BTreeSet<CaseId>,
    ) -> Result<CaseItem> {
        let header = doc.header()?;
        Ok(CaseItem {
            id: case.to_string(),
            status: state.status.map_or("unknown", |s| s.as_str()).into(),
            step: state.status.map_or(1, |s| s.step()),
            grid: state.territory.as_ref().map(|t| t.grid.to_string()),
            description: state.description.clone(),
            category: state.category.as_ref().map(ToString::to_string),
            unit: state.assigned_unit.as_ref().map(ToString::to_string),
            created_at: header.created_at,
            deadline: state.deadline,
            overdue: state.overdue_at(self.now()),
            events: state.timeline.len() as u32,
            open_conflicts: u32::try_from(state.open_conflicts().count()).unwrap_or(u32::MAX),
            pending_sync: dirty.contains(case),
            refused: self.refusal(case)?.map(|r| r.code),
        })
    }

    /// The cases on this device, newest first.
    pub fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseItem>> {
        let dirty: BTreeSet<CaseId> = self.docs.dirty_cases()?.into_iter().collect();
        let mut out = Vec::new();
        for case in self.docs.case_ids()? {
            let Some(doc) = self.docs.load(&case)? else {
                continue;
            };
            let state = fold(&doc.events()?, &self.calendar);
            let item = self.item(&case, &doc, &state, &dirty)?;
            let keep = filter.status.as_ref().is_none_or(|s| *s == item.status)
                && filter
                    .text
                    .as_ref()
                    .is_none_or(|t| item.description.contains(t.as_str()))
                && (!filter.only_pending_sync || item.pending_sync)
                && (!filter.only_conflicts || item.open_conflicts > 0)
                && (!filter.only_overdue || item.overdue);
            if keep {
                out.push(item);
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    fn conflict_items(case: &CaseId, state: &CaseState) -> Vec<ConflictItem> {
        state
            .conflicts
            .iter()
            .map(|c| ConflictItem {
                case_id: case.to_string(),
                event: c.event.to_string(),
                against: c.against.iter().map(ToString::to_string).collect(),
                reason: c.reason.as_str().into(),
                message: c.message.clone(),
                resolved: c.resolved_by.is_some(),
            })
            .collect()
    }

    /// One case: derived state, timeline in merged order, conflicts and attachments.
    pub fn case(&self, id: &str) -> Result<CaseDetail> {
        let case = CaseId::new(id);
        let doc = self
            .docs
            .load(&case)?
            .ok_or_else(|| ClientError::NotFound {
                message: format!("no case {id} on this device"),
            })?;
        let events = doc.events()?;
        let state = fold(&events, &self.calendar);
        let dirty: BTreeSet<CaseId> = self.docs.dirty_cases()?.into_iter().collect();
        // Under a reused id, the event the fold judged.
        let by_id: std::collections::HashMap<_, _> = fold::dedupe(&events)
            .0
            .into_iter()
            .map(|e| (&e.id, e))
            .collect();
        let timeline = state
            .timeline
            .iter()
            .map(|t| {
                let payload = by_id
                    .get(&t.event)
                    .map(|e| e.action.stored_form().1)
                    .unwrap_or_else(|| "{}".into());
                TimelineItem {
                    event: t.event.to_string(),
                    kind: t.kind.as_str().into(),
                    stored_kind: t.stored_kind.clone(),
                    author: t.author.to_string(),
                    device: t.device.to_string(),
                    at: t.at,
                    disposition: t.disposition.as_str().into(),
                    status_after: t.status.map_or("unknown", |s| s.as_str()).into(),
                    payload,
                }
            })
            .collect();
        let attachments = doc
            .attachments()?
            .into_iter()
            .map(|a| {
                let path = self.blob_path(&a.sha256);
                AttachmentItem {
                    path: path.exists().then(|| path.to_string_lossy().into_owned()),
                    sha256: a.sha256,
                    mime: a.mime,
                    size: a.size,
                    name: a.name,
                    event: a.event.to_string(),
                }
            })
            .collect();
        Ok(CaseDetail {
            case: self.item(&case, &doc, &state, &dirty)?,
            conflicts: Self::conflict_items(&case, &state),
            timeline,
            attachments,
        })
    }

    /// Open conflicts across the device's cases.
    pub fn conflicts(&self) -> Result<Vec<ConflictItem>> {
        let mut out = Vec::new();
        for case in self.docs.case_ids()? {
            let Some(doc) = self.docs.load(&case)? else {
                continue;
            };
            let state = fold(&doc.events()?, &self.calendar);
            out.extend(
                Self::conflict_items(&case, &state)
                    .into_iter()
                    .filter(|c| !c.resolved),
            );
        }
        Ok(out)
    }

    pub fn refusals(&self) -> Result<Vec<RefusalItem>> {
        let mut out = Vec::new();
        for entry in self.store.range(trees::REFUSED, &[], None) {
            let (k, v) = entry.map_err(storage)?;
            let r: Refusal = serde_json::from_slice(&v).map_err(storage)?;
            out.push(RefusalItem {
                case_id: String::from_utf8_lossy(&k).into_owned(),
                code: r.code,
                message: r.message,
            });
        }
        for entry in self.store.range(trees::REFUSED_PHOTOS, &[], None) {
            let (_, v) = entry.map_err(storage)?;
            let r: PhotoRefusal = serde_json::from_slice(&v).map_err(storage)?;
            out.push(RefusalItem {
                case_id: r.case,
                code: r.code,
                message: r.message,
            });
        }
        Ok(out)
    }

    /// What waits for the next sync.
    pub fn pending(&self) -> Result<Pending> {
        Ok(Pending {
            cases: self
                .docs
                .dirty_cases()?
                .into_iter()
                .map(|c| c.to_string())
                .collect(),
            uploads: self.keys(trees::UPLOADS)?,
            downloads: self.keys(trees::DOWNLOADS)?,
            refused: self.refusals()?,
        })
    }
}
