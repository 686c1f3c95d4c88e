//! `POST /v1/sync`: one round of the sync conversation for all of a device's cases.
//!
//! The body is a sync batch (see `sync-core/src/sync/wire.rs`), zstd-compressed when the
//! request says `Content-Encoding: zstd`. Incoming changes are inspected and gated per case;
//! what is admitted is durable before the answer leaves. The answer carries the server's
//! messages for the cases the device spoke about and for the cases in its scope that changed
//! since its cursor, the new cursor, and a notice for every case refused.

use crate::auth::{now_millis, Caller};
use crate::directory::{Device, User};
use crate::error::{Error, Result};
use crate::ledger::{FeedScope, Receipt};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gridcase_sync_core::fold::{fold, CaseState};
use gridcase_sync_core::inspect::Inspection;
use gridcase_sync_core::org::{Org, Territory};
use gridcase_sync_core::rules::{covers_case, in_scope};
use gridcase_sync_core::sync::{Admission, Gate, Notice, Outcome, SyncBatch, SyncSession};
use gridcase_sync_core::{CaseDoc, CaseId, EventId, Scope, WorkCalendar};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Mutex;

pub const CONTENT_TYPE: &str = "application/x-gridcase-sync";

/// Admits a device's changes: actors bound to it, events authored by its user, the case in
/// the user's scope now or in the scope the events were written under (then flagged).
struct DeviceGate<'a> {
    user: &'a User,
    device: &'a Device,
    calendar: &'a WorkCalendar,
    now: i64,
    /// Per admitted case: its receipts and its folded state (folded once, indexed later).
    receipts: Mutex<HashMap<CaseId, Admitted>>,
}

type Admitted = (Vec<(EventId, Receipt)>, CaseState);

impl Gate for DeviceGate<'_> {
    fn admit(&self, case: &CaseId, inspection: &Inspection, doc: &CaseDoc) -> Admission {
        for actor in &inspection.actors {
            let hex = actor.to_string();
            if !self.device.actors.contains(&hex) {
                return Admission::Refuse(format!(
                    "actor_not_bound: case {case}: a change by actor {hex} is not bound to device {}",
                    self.device.id
                ));
            }
        }
        for new in &inspection.new_events {
            let e = &new.event;
            if e.device != self.device.id || e.author != self.user.id {
                return Admission::Refuse(format!(
                    "forged_author: case {case}: event {} names {} on {}, but {} on {} sent it",
                    e.id, e.author, e.device, self.user.id, self.device.id
                ));
            }
            if !self.user.held(e.role, &e.scope) {
                if self.user.revoked.contains(&(e.role, e.scope.clone())) {
                    return Admission::Refuse(format!(
                        "scope_revoked: case {case}: event {} was written under a scope taken away from {}",
                        e.id, self.user.id
                    ));
                }
                return Admission::Refuse(format!(
                    "forged_scope: case {case}: event {} claims role {} with a scope {} never held",
                    e.id,
                    e.role.as_str(),
                    self.user.id
                ));
            }
        }
        let events = match doc.events() {
            Ok(events) => events,
            Err(e) => return Admission::Refuse(format!("bad_event: case {case}: {e}")),
        };
        let state = fold(&events, self.calendar);
        let now_in_scope = in_scope(&self.user.scope, &state);
        let claimed_in_scope = inspection
            .new_events
            .iter()
            .all(|n| n.event.scope.fits(n.event.role) && in_scope(&n.event.scope, &state));
        if !now_in_scope && !claimed_in_scope {
            return Admission::Refuse(format!(
                "out_of_scope: case {case} lies outside the scope of {}",
                self.user.id
            ));
        }
        let receipts = inspection
            .new_events
            .iter()
            .map(|n| {
                let e = &n.event;
                let flag = if e.role != self.user.role || e.scope != self.user.scope {
                    Some(format!(
                        "author_permission_changed: written as {} with scope {}, the author is now {} with scope {}",
                        e.role.as_str(),
                        serde_json::to_string(&e.scope).unwrap_or_default(),
                        self.user.role.as_str(),
                        serde_json::to_string(&self.user.scope).unwrap_or_default(),
                    ))
                } else if !now_in_scope {
                    Some("author_out_of_scope: the case is outside the author's scope now".into())
                } else {
                    None
                };
                let receipt = Receipt {
                    received_at: self.now,
                    via: self.device.id.to_string(),
                    change: n.change.map(|h| h.to_string()),
                    flag,
                };
                (e.id.clone(), receipt)
            })
            .collect();
        if let Ok(mut r) = self.receipts.lock() {
            r.insert(case.clone(), (receipts, state));
        }
        Admission::Accept
    }
}

/// Where a scope's feed is read: the grids under a street or community, a worker's grids, a unit.
pub fn feed_scope(scope: &Scope, org: &Org) -> FeedScope {
    match scope {
        Scope::District => FeedScope::All,
        Scope::Street(s) => FeedScope::Grids(
            org.grids
                .iter()
                .filter(|(_, g)| {
                    org.communities
                        .get(&g.community)
                        .is_some_and(|c| c.street == *s)
                })
                .map(|(id, _)| id.clone())
                .collect(),
        ),
        Scope::Community(c) => FeedScope::Grids(
            org.grids
                .iter()
                .filter(|(_, g)| g.community == *c)
                .map(|(id, _)| id.clone())
                .collect(),
        ),
        Scope::Grids(gs) => FeedScope::Grids(gs.clone()),
        Scope::Unit(u) => FeedScope::Unit(u.clone()),
    }
}

/// Whether a stored case summary is inside a scope.
pub fn summary_in_scope(scope: &Scope, s: &crate::summary::CaseSummary) -> bool {
    let territory = Territory::from_parts(
        s.street.as_deref(),
        s.community.as_deref(),
        s.grid.as_deref(),
    );
    let units = s.units.iter().map(|u| u.as_str().into()).collect();
    covers_case(scope, territory.as_ref(), &units)
}

fn decompress(body: &[u8], limit: usize) -> Result<Vec<u8>> {
    let decoder = zstd::stream::read::Decoder::new(body)
        .map_err(|e| Error::BadRequest(format!("zstd: {e}")))?;
    let mut out = Vec::new();
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::BadRequest(format!("the body is not valid zstd: {e}")))?;
    if out.len() > limit {
        return Err(Error::TooLarge(format!(
            "the sync batch is larger than {limit} bytes uncompressed"
        )));
    }
    Ok(out)
}

/// Reads the request body, mapping axum's rejections to our JSON errors.
pub fn body_bytes(body: std::result::Result<Bytes, BytesRejection>) -> Result<Bytes> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge("the request body is too large".into())
        } else {
            Error::BadRequest(format!("unreadable body: {r}"))
        }
    })
}

#[utoipa::path(
    post,
    path = "/v1/sync",
    tag = "sync",
    request_body(content = Vec<u8>, content_type = "application/x-gridcase-sync",
        description = "A sync batch (sync-core/src/sync/wire.rs), optionally zstd-compressed (Content-Encoding: zstd)"),
    responses(
        (status = 200, content_type = "application/x-gridcase-sync", body = Vec<u8>, description = "The server's batch: messages, new cursor, notices"),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let device = caller.device.clone().ok_or_else(|| {
        Error::Forbidden(
            "sync needs a token bound to a registered device (POST /v1/devices)".into(),
        )
    })?;
    let body = body_bytes(body)?;
    let compressed = match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str()) {
        None | Some(Ok("identity")) => false,
        Some(Ok("zstd")) => true,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "unsupported content encoding {other:?}; use zstd"
            )))
        }
    };
    // Everything from decompression on waits for a turn: hundreds of handhelds reconnecting
    // at once then hold only their compressed bodies, and the CPU work stays off the async
    // workers.
    let _turn = state
        .sync_permits
        .acquire()
        .await
        .map_err(|_| Error::Internal("the server is shutting down".into()))?;
    let worker = state.clone();
    let (body, org_tag) = crate::blocking(move || {
        let raw = if compressed {
            decompress(&body, worker.config.max_batch_bytes)?
        } else {
            body.to_vec()
        };
        let request = SyncBatch::decode(&raw)?;
        if request.entries.len() > worker.config.max_batch_cases {
            return Err(Error::TooLarge(format!(
                "{} cases in one batch; the limit is {}",
                request.entries.len(),
                worker.config.max_batch_cases
            )));
        }
        let span = tracing::info_span!(
            "sync",
            device = %device.id,
            user = %caller.user.id,
            cases = request.entries.len(),
            cursor = request.cursor
        );
        let (answer, org_tag) =
            span.in_scope(|| exchange(&worker, &caller.user, &device, request))?;
        let encoded = answer.encode();
        let body = if compressed {
            zstd::bulk::compress(&encoded, 3).map_err(Error::internal)?
        } else {
            encoded
        };
        worker.metrics.sync_bytes(raw.len(), body.len());
        Ok((body, org_tag))
    })
    .await?;
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(CONTENT_TYPE),
    );
    if compressed {
        h.insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("zstd"),
        );
    }
    if let Ok(v) = header::HeaderValue::from_str(&org_tag) {
        h.insert(ORG_TAG, v);
    }
    Ok(response)
}

/// The sync answer's header with the organization's fingerprint (see `Directory::org_tag`).
pub const ORG_TAG: &str = "x-gridcase-org";

/// Receive, commit durably, then answer (with the organization's fingerprint). Runs on a
/// blocking thread: all of it is CPU and disk.
fn exchange(
    state: &AppState,
    user: &User,
    device: &Device,
    request: SyncBatch,
) -> Result<(SyncBatch, String)> {
    let ledger = &state.ledger;
    let now = now_millis();
    let gate = DeviceGate {
        user,
        device,
        calendar: &ledger.calendar,
        now,
        receipts: Mutex::new(HashMap::new()),
    };
    let mut session = SyncSession::new(&ledger.docs, device.id.as_str());
    let (outcomes, mut batch) = session.receive_staged(&request.entries, &gate)?;
    let mut receipts = gate.receipts.into_inner().map_err(Error::internal)?;

    let mut notices = Vec::new();
    let mut feed = Vec::new();
    let mut indexed = Vec::new();
    for o in &outcomes {
        match &o.outcome {
            Outcome::Accepted { .. } => {
                state.metrics.sync_case("accepted");
                let Some(doc) = session.document(&o.case) else {
                    continue;
                };
                indexed.push((o.case.clone(), doc.get_heads()));
                let admitted = receipts.remove(&o.case);
                let entry = session.with_case(&o.case, |doc| match admitted {
                    Some((mine, state)) => {
                        ledger.stage_index_folded(&mut batch, doc, state, &mine, now)
                    }
                    None => ledger.stage_index(&mut batch, doc, &[], now),
                })?;
                if let Some(entry) = entry {
                    feed.push(entry?);
                }
            }
            Outcome::Refused { reason } => {
                state.metrics.sync_case("refused");
                tracing::warn!(case = %o.case, %reason, "refused");
                let code = reason.split(':').next().unwrap_or("refused").to_owned();
                notices.push(Notice {
                    case: o.case.clone(),
                    code,
                    text: reason.clone(),
                });
            }
            Outcome::Invalid { reason } => {
                state.metrics.sync_case("invalid");
                notices.push(Notice {
                    case: o.case.clone(),
                    code: "invalid_message".into(),
                    text: reason.clone(),
                });
            }
            Outcome::Unchanged => state.metrics.sync_case("unchanged"),
        }
    }
    ledger.commit(batch, feed)?;
    session.committed();
    ledger.settle(indexed, now)?;
    ledger.compact_later(session.take_due_for_compaction());

    // The answer: cases the device spoke about that it may see, then the feed of its scope.
    let refused: HashSet<CaseId> = notices.iter().map(|n| n.case.clone()).collect();
    let accepted: HashSet<&CaseId> = outcomes
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Accepted { .. }))
        .map(|o| &o.case)
        .collect();
    let mut answer: Vec<CaseId> = Vec::new();
    let mut listed = HashSet::new();
    for (case, _) in &request.entries {
        if refused.contains(case) {
            continue;
        }
        // A case the device already shared with us stays in the conversation when the user
        // leaves its scope, so that what was written offline still arrives (and is flagged).
        let visible = match ledger.summary(case)? {
            Some(s) => {
                summary_in_scope(&user.scope, &s)
                    || accepted.contains(case)
                    || !ledger
                        .docs
                        .sync_state(device.id.as_str(), case)?
                        .shared_heads
                        .is_empty()
            }
            None => true,
        };
        if visible {
            listed.insert(case.clone());
            answer.push(case.clone());
        } else {
            notices.push(Notice {
                case: case.clone(),
                code: "out_of_scope".into(),
                text: format!("case {case} lies outside the scope of {}", user.id),
            });
        }
    }
    let org = state.directory.org()?;
    let page = ledger.feed(
        &feed_scope(&user.scope, &org),
        request.cursor,
        state.config.max_answer_cases,
    )?;
    let mut offers = Vec::new();
    for case in page.cases {
        if listed.insert(case.clone()) {
            offers.push(case);
        }
    }
    let mut entries = session.generate(answer)?;
    entries.extend(session.offer(offers)?);
    let answer = SyncBatch {
        cursor: page.cursor,
        more: page.more,
        entries,
        notices,
    };
    Ok((answer, crate::directory::Directory::org_tag(&org)))
}
