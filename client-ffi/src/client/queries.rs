//! What the app shows: the cases on the device (folded with the same code as the server),
//! one case in detail (with its caller, masked, while it waits here for upload), open
//! conflicts, refusals, and what waits for the next sync.

use super::photos::PhotoRefusal;
use super::sync::Refusal;
use super::{storage, trees, Client};
use crate::error::{ClientError, Result};
use crate::views::*;
use gridcase_sync_core::fold::{self, fold, CaseState};
use gridcase_sync_core::{CaseDoc, CaseId, CaseOutline};
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
        Ok(case_item(
            &CaseOutline::of(&doc.header()?, state),
            self.now(),
            dirty.contains(case),
            self.refusal(case)?.map(|r| r.code),
            self.number(case)?,
        ))
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
                && filter.text.as_ref().is_none_or(|t| {
                    item.description.contains(t.as_str())
                        || item
                            .number
                            .as_deref()
                            .is_some_and(|n| n.contains(t.as_str()))
                })
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
            caller: self.pending_caller(&case)?,
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
        out.extend(self.caller_refusals()?);
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
            callers: self.cases_with_waiting_callers()?,
        })
    }
}

/// A case as the lists show it: its outline (every derived value is the outline's) as the app
/// reads it, with what only this device knows: whether its changes wait for the next sync, why
/// the server refused the last ones, and the number the server gave it.
fn case_item(
    outline: &CaseOutline<'_>,
    now: i64,
    pending_sync: bool,
    refused: Option<String>,
    number: Option<String>,
) -> CaseItem {
    let state = outline.state;
    CaseItem {
        id: outline.id.to_string(),
        status: state.status.map_or("unknown", |s| s.as_str()).into(),
        step: outline.step,
        grid: state.territory.as_ref().map(|t| t.grid.to_string()),
        description: state.description.clone(),
        category: state.category.as_ref().map(ToString::to_string),
        unit: state.assigned_unit.as_ref().map(ToString::to_string),
        created_at: outline.created_at,
        deadline: state.deadline,
        overdue: state.overdue_at(now),
        events: u32::try_from(outline.events).unwrap_or(u32::MAX),
        open_conflicts: u32::try_from(outline.open_conflicts).unwrap_or(u32::MAX),
        pending_sync,
        refused,
        number,
        business_type: state.business_type.map(|b| b.as_str().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_sync_core::store::decode_snapshot;
    use gridcase_sync_core::WorkCalendar;

    /// A golden case (`sync-core/tests/golden/`) as a handheld lists it at `now`, as JSON.
    fn listed(
        name: &str,
        now: i64,
        pending_sync: bool,
        refused: Option<&str>,
        number: Option<&str>,
    ) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../sync-core/tests/golden")
            .join(format!("{name}.snapshot"));
        let bytes = std::fs::read(path).expect("a golden case");
        let doc = CaseDoc::from_automerge(decode_snapshot(&bytes).expect("loads")).expect("a case");
        let state = fold(&doc.events().expect("events"), &WorkCalendar::beijing());
        let header = doc.header().expect("a header");
        let outline = CaseOutline::of(&header, &state);
        let item = case_item(
            &outline,
            now,
            pending_sync,
            refused.map(Into::into),
            number.map(Into::into),
        );
        serde_json::to_string(&item).expect("JSON")
    }

    /// What the app sees of a case (the Python tests and the generated bindings read these
    /// fields), pinned for golden cases: an open one past its deadline, one with an open
    /// conflict, a reopened one and a declined one.
    #[test]
    fn list_items_of_golden_cases_are_pinned() {
        for (name, now, pending, refused, expected) in [
            (
                "v1-attachments",
                1_800_000_000_000,
                true,
                None,
                r#"{"id":"01a22bcfae927183a871bd6f250a801a","status":"in_progress","step":4,"grid":"g1","description":"garbage piled at the corner","category":"E0102","unit":"u1","created_at":1772413200000,"deadline":1772432400000,"overdue":true,"events":5,"open_conflicts":0,"pending_sync":true,"refused":null}"#,
            ),
            (
                "v1-attachments",
                1_772_420_000_000,
                false,
                None,
                r#"{"id":"01a22bcfae927183a871bd6f250a801a","status":"in_progress","step":4,"grid":"g1","description":"garbage piled at the corner","category":"E0102","unit":"u1","created_at":1772413200000,"deadline":1772432400000,"overdue":false,"events":5,"open_conflicts":0,"pending_sync":false,"refused":null}"#,
            ),
            (
                "v1-conflicts",
                1_772_420_000_000,
                false,
                Some("out_of_scope"),
                r#"{"id":"01a22bcfae87707c9ea18cea4a20ee0e","status":"verified","step":6,"grid":"g1","description":"garbage piled at the corner","category":"E0102","unit":"u1","created_at":1772413200000,"deadline":1772432400000,"overdue":false,"events":8,"open_conflicts":1,"pending_sync":false,"refused":"out_of_scope"}"#,
            ),
            (
                "v1-lifecycle",
                1_800_000_000_000,
                false,
                None,
                r#"{"id":"01a22bcfae7a738489465f1ef7925589","status":"filed","step":2,"grid":"g1","description":"地锁又装回来了 ground locks are back","category":"E0102","unit":null,"created_at":1772413200000,"deadline":null,"overdue":false,"events":19,"open_conflicts":0,"pending_sync":false,"refused":null}"#,
            ),
            (
                "v1-duplicate",
                1_800_000_000_000,
                false,
                None,
                r#"{"id":"01a22bcfae8e72f296fbb717bf3780ef","status":"declined","step":2,"grid":"g1","description":"garbage piled at the corner","category":null,"unit":null,"created_at":1772413200000,"deadline":null,"overdue":false,"events":2,"open_conflicts":0,"pending_sync":false,"refused":null}"#,
            ),
        ] {
            let got = listed(name, now, pending, refused, None);
            assert_eq!(got, expected, "{name} at {now}");
        }
    }

    /// A case whose number the device has learned lists it last; one without a number lists as
    /// before numbers existed (above).
    #[test]
    fn a_learned_number_is_listed() {
        assert_eq!(
            listed(
                "v1-duplicate",
                1_800_000_000_000,
                false,
                None,
                Some("DC-20260302-0007")
            ),
            r#"{"id":"01a22bcfae8e72f296fbb717bf3780ef","status":"declined","step":2,"grid":"g1","description":"garbage piled at the corner","category":null,"unit":null,"created_at":1772413200000,"deadline":null,"overdue":false,"events":2,"open_conflicts":0,"pending_sync":false,"refused":null,"number":"DC-20260302-0007"}"#
        );
    }
}
