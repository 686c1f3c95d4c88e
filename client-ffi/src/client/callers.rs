//! Callers: the personal data of a resident who reported a case in person (a walk-in at a
//! community workstation, or to a grid worker on the street).
//!
//! It never enters the case document: that is replicated to every device whose user may see
//! the case, and nothing written there can be taken back. The intake names only the id of the
//! caller's record (minted here, in the form of a case id). The record waits on this device in
//! a tree of its own (`client_pending_callers`, caller id → record), written in the same atomic
//! batch as the new case, until a sync has brought the case to the server; then it goes to the
//! server's caller register (`PUT /v1/cases/{case}/callers/{caller}`) and is deleted here, so
//! that a lost handheld holds only the callers it has not uploaded yet. Like photos, callers go
//! after their cases: the server takes a caller only for a case it holds.

use super::{invalid, storage, trees, Client};
use crate::error::{ClientError, Result};
use crate::views::{NewCaller, PendingCaller, RefusalItem};
use gridcase_sync_core::caller::{mask_contact, mask_name, mask_phone, Caller};
use gridcase_sync_core::store::Batch;
use gridcase_sync_core::{CaseDoc, CaseId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The refusal code of a caller record the server will not take (its own code is in the
/// message).
const CALLER_REFUSED: &str = "caller_refused";

/// A caller as the register takes it, the body of the upload: sync-core's [`Caller`], checked
/// by the same rule the desk and the server run.
pub(super) type CallerBody = Caller;

/// A caller waiting on this device: the case it belongs to and what goes up.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Waiting {
    case: String,
    caller: CallerBody,
}

/// The register's answer to an upload.
#[derive(Debug, Deserialize)]
struct Uploaded {
    caller: String,
    case: String,
}

/// A caller record the server refused for good. Its personal data is gone from the device;
/// this says only which case lost its caller and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CallerRefusal {
    pub(super) case: String,
    pub(super) code: String,
    pub(super) message: String,
}

/// A fresh caller id: the register's form, that of a case id (32 lower-case hex digits,
/// time-ordered), safe to mint offline.
pub(super) fn new_id() -> String {
    CaseId::generate().to_string()
}

/// Checks a caller as taken down and writes it the one way the register keeps it
/// (`sync_core::caller`: an anonymous caller leaves nothing personal, anyone else gives a name,
/// a phone number or another contact, a callback needs something to call back on). The
/// refusal names the field, never the value typed: errors end up in logs.
pub(super) fn checked(caller: NewCaller) -> Result<CallerBody> {
    Caller {
        name: caller.name,
        phone: caller.phone,
        contact: caller.contact,
        address: caller.address,
        callback: caller.callback,
        anonymous: caller.anonymous,
    }
    .checked()
    .map_err(|p| invalid(format!("caller {p}")))
}

impl Client {
    /// Saves a new case and its caller `id` in one atomic batch, so that neither is kept
    /// without the other.
    pub(super) fn save_with_caller(
        &self,
        case: &CaseId,
        doc: &mut CaseDoc,
        id: &str,
        caller: CallerBody,
    ) -> Result<()> {
        let waiting = Waiting {
            case: case.to_string(),
            caller,
        };
        let mut batch = Batch::new();
        let staged = self
            .docs
            .stage_save(&mut batch, case, doc.automerge(), &[])?;
        self.docs.stage_dirty(&mut batch, case, true);
        batch.put(
            trees::PENDING_CALLERS,
            id.as_bytes().to_vec(),
            serde_json::to_vec(&waiting).map_err(storage)?,
        );
        let committed = self.docs.commit(batch);
        if staged.claimed {
            self.docs.release([case]);
        }
        committed?;
        self.docs.note_committed(case, doc.automerge());
        if staged.compact {
            self.docs.compact(case)?;
        }
        Ok(())
    }

    /// The callers waiting on this device, by id.
    fn waiting(&self) -> Result<Vec<(String, Waiting)>> {
        self.store
            .range(trees::PENDING_CALLERS, &[], None)
            .map(|entry| {
                let (k, v) = entry.map_err(storage)?;
                let waiting = serde_json::from_slice(&v).map_err(storage)?;
                Ok((String::from_utf8_lossy(&k).into_owned(), waiting))
            })
            .collect()
    }

    /// The cases whose caller waits for upload.
    pub(super) fn cases_with_waiting_callers(&self) -> Result<Vec<String>> {
        Ok(self.waiting()?.into_iter().map(|(_, w)| w.case).collect())
    }

    /// The caller waiting for a case, masked.
    pub(super) fn pending_caller(&self, case: &CaseId) -> Result<Option<PendingCaller>> {
        Ok(self
            .waiting()?
            .into_iter()
            .find(|(_, w)| w.case == case.as_str())
            .map(|(id, w)| {
                let c = w.caller;
                PendingCaller {
                    id,
                    name: mask_name(&c.name),
                    phone: c.phone.as_deref().map(mask_phone),
                    contact: c.contact.as_deref().map(mask_contact),
                    has_address: c.address.is_some(),
                    callback: c.callback,
                    anonymous: c.anonymous,
                }
            }))
    }

    /// Uploads the callers of cases the server has acknowledged, deleting each once the
    /// register holds it. A case the server does not hold (yet) keeps its caller for the next
    /// sync; a caller the server refuses for good (400, 403) is deleted and reported among the
    /// refusals; a broken connection stops here with the rest kept for the next sync.
    pub(super) fn upload_callers(&self, refusals: &mut Vec<RefusalItem>) -> Result<u32> {
        let waiting = self.waiting()?;
        if waiting.is_empty() {
            return Ok(0);
        }
        // Not yet stored by the server (unsent, or refused and held back): it would say 404.
        let unsent: BTreeSet<CaseId> = self.docs.dirty_cases()?.into_iter().collect();
        let mut done = 0;
        for (id, w) in waiting {
            if unsent.contains(&CaseId::new(w.case.as_str())) {
                continue;
            }
            let (headers, body) =
                Self::json_body(&serde_json::to_value(&w.caller).map_err(storage)?);
            let path = format!("/v1/cases/{}/callers/{id}", w.case);
            let r = self.authed("PUT", &path, headers, body)?;
            match r.status {
                200 | 201 => {
                    let answer: Uploaded =
                        serde_json::from_slice(&r.body).map_err(|e| ClientError::BadAnswer {
                            message: format!("caller upload: {e}"),
                        })?;
                    if answer.caller != id || answer.case != w.case {
                        return Err(ClientError::BadAnswer {
                            message: "caller upload: the answer names another caller".into(),
                        });
                    }
                    let mut b = Batch::new();
                    b.delete(trees::PENDING_CALLERS, id.as_bytes().to_vec());
                    self.store.commit(b).map_err(storage)?;
                    done += 1;
                }
                // The server does not hold the case (yet): try again after the next sync.
                404 => {}
                400 | 403 | 409 | 413 | 422 => {
                    refusals.push(self.refuse_caller(&id, &w.case, r.status, &r.body)?);
                }
                // Told to slow down: the rest waits for the next sync.
                408 | 429 => break,
                401 => {
                    return Err(ClientError::Unauthorized {
                        message: String::from_utf8_lossy(&r.body).into(),
                    })
                }
                s => {
                    return Err(ClientError::Server {
                        status: s,
                        message: format!("caller upload: {}", String::from_utf8_lossy(&r.body)),
                    })
                }
            }
        }
        Ok(done)
    }

    /// Deletes a caller the server refused for good and keeps, in its place, only which case
    /// lost its caller and why, for the user to see.
    fn refuse_caller(&self, id: &str, case: &str, status: u16, body: &[u8]) -> Result<RefusalItem> {
        let said: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let code = said["code"].as_str().unwrap_or("refused");
        let message = said["message"].as_str().unwrap_or_default();
        let refusal = CallerRefusal {
            case: case.to_owned(),
            code: CALLER_REFUSED.into(),
            message: format!(
                "the server refused the caller of case {case} ({status} {code}: {message}); it was deleted from this device"
            ),
        };
        tracing::warn!(case = %case, status, code, "the server refused a caller");
        let mut b = Batch::new();
        b.delete(trees::PENDING_CALLERS, id.as_bytes().to_vec());
        b.put(
            trees::REFUSED_CALLERS,
            id.as_bytes().to_vec(),
            serde_json::to_vec(&refusal).map_err(storage)?,
        );
        self.store.commit(b).map_err(storage)?;
        Ok(RefusalItem {
            case_id: refusal.case,
            code: refusal.code,
            message: refusal.message,
        })
    }

    /// The callers the server refused, for the device's refusals.
    pub(super) fn caller_refusals(&self) -> Result<Vec<RefusalItem>> {
        self.store
            .range(trees::REFUSED_CALLERS, &[], None)
            .map(|entry| {
                let (_, v) = entry.map_err(storage)?;
                let r: CallerRefusal = serde_json::from_slice(&v).map_err(storage)?;
                Ok(RefusalItem {
                    case_id: r.case,
                    code: r.code,
                    message: r.message,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(name: &str, phone: Option<&str>) -> NewCaller {
        NewCaller {
            name: name.into(),
            phone: phone.map(Into::into),
            ..NewCaller::default()
        }
    }

    fn refused(c: NewCaller) -> String {
        match checked(c) {
            Err(ClientError::Invalid { message }) => message,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_phone_is_kept_the_one_way_it_is_dialled() {
        let body = checked(NewCaller {
            callback: true,
            address: Some("  韶九胡同 3 号 ".into()),
            ..caller(" 王小明 ", Some("+86 138-1234 5678"))
        })
        .expect("a caller");
        assert_eq!(body.name, "王小明");
        assert_eq!(body.phone.as_deref(), Some("13812345678"));
        assert_eq!(body.address.as_deref(), Some("韶九胡同 3 号"));
        assert!(body.callback && !body.anonymous);
        let landline = checked(caller("", Some("(010) 6234 5678"))).expect("a landline");
        assert_eq!(landline.phone.as_deref(), Some("010-62345678"));
    }

    #[test]
    fn a_bad_phone_is_refused_with_what_to_fix_and_without_the_number() {
        for (typed, says) in [
            ("1381234567", "mobile number"),
            ("87654321", "area code"),
            ("138-abc", "only digits"),
        ] {
            let message = refused(caller("王", Some(typed)));
            assert!(message.contains(says), "{typed}: {message}");
            assert!(!message.contains(typed), "{message}");
        }
    }

    #[test]
    fn who_the_caller_is_must_hang_together() {
        assert!(refused(caller("", None)).contains("name or phone"));
        assert!(refused(NewCaller {
            callback: true,
            ..caller("王", None)
        })
        .contains("callback needs"));
        assert!(refused(NewCaller {
            anonymous: true,
            ..caller("王", None)
        })
        .contains("anonymous"));
        assert!(refused(NewCaller {
            anonymous: true,
            callback: true,
            ..NewCaller::default()
        })
        .contains("called back"));
        let anonymous = checked(NewCaller {
            anonymous: true,
            phone: Some("  ".into()),
            ..NewCaller::default()
        })
        .expect("anonymous");
        assert_eq!(
            (
                anonymous.name.as_str(),
                anonymous.phone,
                anonymous.anonymous
            ),
            ("", None, true)
        );
        assert!(refused(caller(
            &"名".repeat(gridcase_sync_core::limits::PERSON_NAME + 1),
            None
        ))
        .contains("at most"));
    }
}
