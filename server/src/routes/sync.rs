//! `POST /v1/sync`: one round of the sync conversation for all of a device's cases.
//!
//! The body is a sync batch (see `sync-core/src/sync/wire.rs`), zstd-compressed when the
//! request says `Content-Encoding: zstd`. Incoming changes are inspected and gated per case;
//! what is admitted is durable before the answer leaves. The answer carries the server's
//! messages for the cases the device spoke about and for the cases in its scope that changed
//! since its cursor, the new cursor, and a notice for every case refused. With `?sent_only=true`
//! it carries only the cases the device spoke about (no page of the feed, the cursor unchanged):
//! a device pushing its own work first hears nothing of others' cases until it asks again. With
//! `?numbers=true` it also carries the number of each case it speaks of that the user may see
//! (a `numbered` notice, `sync::InfoCode`), so the device need not ask `POST /v1/cases/numbers`.

use crate::auth::{now_millis, Caller};
use crate::cases::summary_in_scope;
use crate::directory::{Device, User};
use crate::error::{ApiQuery, Error, Result};
use crate::ledger::{FeedScope, Receipt};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gridcase_sync_core::fold::{fold, CaseState};
use gridcase_sync_core::inspect::Inspection;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::references::check_references;
use gridcase_sync_core::rules::{in_scope, may_ever};
use gridcase_sync_core::sync::{
    encoding, wire, Admission, Gate, InfoCode, Notice, Outcome, Refusal, RefusalCode, SyncBatch,
    SyncSession,
};
use gridcase_sync_core::tiers::check_tier;
use gridcase_sync_core::Error as CoreError;
use gridcase_sync_core::{Action, ActionKind, CaseDoc, CaseId, EventId, Scope, WorkCalendar};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

pub const CONTENT_TYPE: &str = "application/x-gridcase-sync";

/// A sync batch's bytes, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct SyncBody(Vec<u8>);

/// What a sync request asks of the answer besides its batch.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// `true`: answer only the cases this batch speaks about (what the server says of each, and
    /// its refusals), with no page of the feed: the cursor comes back unchanged and `more` is
    /// true. A device pushing its own work first sends its cases so until the server has them
    /// all, then asks without it for what others did. A server before this parameter ignores
    /// it and answers with the feed as usual. Default `false`.
    #[serde(default)]
    pub sent_only: bool,
    /// `true`: the device understands `numbered` notices, which refuse nothing. The answer then
    /// also carries, after its refusals, one notice per case the device sees for the first
    /// time (one it speaks of for the first time, a case offered whole) that the user may see and that the
    /// ledger has numbered: code `numbered`, text the case's number (as `POST
    /// /v1/cases/numbers` answers it; a device lacking others asks there). Without it the answer has
    /// none: older devices take every notice as a refusal. A server before this parameter
    /// ignores it (then ask `POST /v1/cases/numbers`). Default `false`.
    #[serde(default)]
    pub numbers: bool,
}

/// Admits a device's changes: actors bound to it, events authored by its user, dispatches
/// within the writer's tier, the case in the user's scope now or in the scope the events were
/// written under (then flagged).
struct DeviceGate<'a> {
    user: &'a User,
    device: &'a Device,
    calendar: &'a WorkCalendar,
    /// The organization events are checked against: unknown references are stored, flagged.
    org: &'a Org,
    now: i64,
    /// `--refuse-later-events`: a later release's events are refused while older handhelds,
    /// which would refuse the whole case, still sync.
    refuse_later: bool,
    /// Per admitted case: its receipts and its folded state (folded once, indexed later).
    receipts: Mutex<HashMap<CaseId, Admitted>>,
}

type Admitted = (Vec<(EventId, Receipt)>, CaseState);

impl Gate for DeviceGate<'_> {
    fn admit(&self, case: &CaseId, inspection: &Inspection, doc: &CaseDoc) -> Admission {
        let refuse = |code, text: String| Admission::Refuse(Refusal::new(code, text));
        for actor in &inspection.actors {
            let hex = actor.to_string();
            if !self.device.actors.contains(&hex) {
                return refuse(
                    RefusalCode::ActorNotBound,
                    format!(
                        "case {case}: a change by actor {hex} is not bound to device {}",
                        self.device.id
                    ),
                );
            }
        }
        for new in &inspection.new_events {
            let e = &new.event;
            if e.device != self.device.id || e.author != self.user.id {
                return refuse(
                    RefusalCode::ForgedAuthor,
                    format!(
                        "case {case}: event {} names {} on {}, but {} on {} sent it",
                        e.id, e.author, e.device, self.user.id, self.device.id
                    ),
                );
            }
            // A kind the role may never write is no offline race but a broken or hostile
            // client: refused here rather than stored as a conflict for the review queue.
            // Judged by the stored name, so a payload that does not read is no way around it.
            let kind = ActionKind::parse(e.action.stored_kind()).unwrap_or(ActionKind::Unknown);
            if !may_ever(e.role, kind) {
                return refuse(
                    RefusalCode::NotPermitted,
                    format!(
                        "case {case}: event {}: {} may never {kind}",
                        e.id,
                        e.role.as_str(),
                    ),
                );
            }
            let later = matches!(e.action, Action::Unknown(_)) || !new.later_fields.is_empty();
            if later && self.refuse_later {
                return refuse(
                    RefusalCode::LaterEvent,
                    format!(
                        "case {case}: event {} is a later release's ({}); this server does \
                         not take those yet (--refuse-later-events)",
                        e.id,
                        match &e.action {
                            Action::Unknown(u) => u.reason.clone(),
                            _ => format!("fields {}", new.later_fields.join(", ")),
                        }
                    ),
                );
            }
            if !self.user.held(e.role, &e.scope) {
                if self.user.revoked.contains(&(e.role, e.scope.clone())) {
                    return refuse(
                        RefusalCode::ScopeRevoked,
                        format!(
                            "case {case}: event {} was written under a scope taken away from {}",
                            e.id, self.user.id
                        ),
                    );
                }
                return refuse(
                    RefusalCode::ForgedScope,
                    format!(
                        "case {case}: event {} claims role {} with a scope {} never held",
                        e.id,
                        e.role.as_str(),
                        self.user.id
                    ),
                );
            }
        }
        let events = match doc.events() {
            Ok(events) => events,
            Err(e) => return refuse(RefusalCode::BadEvent, format!("case {case}: {e}")),
        };
        let state = fold(&events, self.calendar);
        let now_in_scope = in_scope(&self.user.scope, &state);
        // Outside the scope, only the author's own events written under a scope that covered
        // the case get in: a change without events (or one the device merely claims to hold)
        // proves nothing.
        let claimed_in_scope = !inspection.new_events.is_empty()
            && inspection
                .new_events
                .iter()
                .all(|n| n.event.scope.fits(n.event.role) && in_scope(&n.event.scope, &state));
        if !now_in_scope && !claimed_in_scope {
            return refuse(
                RefusalCode::OutOfScope,
                format!("case {case} lies outside the scope of {}", self.user.id),
            );
        }
        let receipts = inspection
            .new_events
            .iter()
            .map(|n| {
                let e = &n.event;
                let permission = if e.role != self.user.role || e.scope != self.user.scope {
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
                // Written offline against an older organization (or a forged one): kept, and
                // flagged for the center, never lost.
                let reference = check_references(case, &e.action, self.org)
                    .err()
                    .map(|v| format!("unknown_reference: {}", v.message));
                // A dispatch outside the writer's tier (分级分类) under the organization now:
                // its handheld checked it against the organization it had cached, which an
                // admin may have changed since (or it had none yet). Events cannot be taken
                // back, so refusing would stop the case on that device for good: kept, and
                // flagged for the center like an unknown reference.
                let tier = check_tier(&e.actor(), &e.action, self.org)
                    .err()
                    .map(|v| format!("outside_tier: {}", v.message));
                let flags: Vec<String> = [permission, reference, tier].into_iter().flatten().collect();
                let flag = (!flags.is_empty()).then(|| flags.join("; "));
                let receipt = Receipt {
                    received_at: self.now,
                    via: self.device.id.to_string(),
                    // The document names the change that carried each event
                    // (`CaseDoc::changes_in_order`): kept once, there.
                    change: None,
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

/// Where a scope's feed is read: the grids it covers (`Org::grids_in`), or a unit.
pub fn feed_scope(scope: &Scope, org: &Org) -> FeedScope {
    match scope {
        Scope::District => FeedScope::All,
        Scope::Unit(u) => FeedScope::Unit(u.clone()),
        _ => FeedScope::Grids(org.grids_in(scope)),
    }
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
    params(SyncQuery),
    request_body(content = SyncBody, content_type = "application/x-gridcase-sync",
        description = "A sync batch (format: schema/README.md, \"The sync batch\"), optionally zstd-compressed (Content-Encoding: zstd)"),
    responses(
        (status = 200, content_type = "application/x-gridcase-sync", body = SyncBody, description = "The server's batch: messages, new cursor, notices (codes: x-gridcase-notice-codes of GET /v1/schema/case-document.json; with numbers=true also `numbered` notices, the case numbers, which refuse nothing)"),
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
    ApiQuery(query): ApiQuery<SyncQuery>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    caller.require_reader()?;
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
    // workers. The turn goes with the work onto its blocking thread: a request that times out
    // drops its handler, not the work, which keeps the turn until it ends (held by the handler,
    // the turn was given away while the work ran on, and past the request timeout the syncs
    // at once were unbounded: 18 to 242 threads and 1.4 GB with 2,000 handhelds).
    // A sync that would wait past a third of the request timeout is told to come back later
    // (`503 busy` with `Retry-After`, see `sync_door`).
    let turn = state.sync_door.enter().await?;
    let worker = state.clone();
    let (body, org_tag) = crate::workers::on_own_turn(move || {
        let _turn = turn;
        let raw = if compressed {
            encoding::decompress(&body, worker.config.max_batch_bytes).map_err(|e| match e {
                CoreError::BatchTooLarge(_) => Error::TooLarge(e.to_string()),
                CoreError::BatchEncoding(reason) => Error::BadRequest(reason),
                other => Error::Core(other),
            })?
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
            cursor = request.cursor,
            sent_only = query.sent_only,
            numbers = query.numbers
        );
        let (answer, org_tag) = span.in_scope(|| {
            exchange(
                &worker,
                &caller.user,
                &device,
                request,
                query.sent_only,
                query.numbers,
            )
        })?;
        let encoded = answer.encode();
        let body = if compressed {
            encoding::compress(&encoded)?
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
///
/// What the answer may carry is decided from what the server knows, never from what the
/// device claims: a case is sent only while it lies in the user's scope now (its stored
/// summary says so). Heads or `have` a device names prove nothing; a device that wrote to a
/// case before it left the scope may still deliver that work, and hears only that it arrived.
///
/// `sent_only` leaves the feed out: the answer speaks only of the cases the request did, and
/// hands back the request's cursor (which then passes nothing new) with `more`, so that the
/// device asks again for the rest.
///
/// `numbers` adds a `numbered` notice for each case the device sees for the first time (one it
/// speaks of before any heads were shared, or one offered whole) whose stored summary lies in the user's
/// scope now and names a number: the rule of `POST /v1/cases/numbers`
/// (`cases::numbers_of`). The summaries of the cases spoken about are read anyway; those of
/// the feed's offers in one more read.
fn exchange(
    state: &AppState,
    user: &User,
    device: &Device,
    request: SyncBatch,
    sent_only: bool,
    numbers: bool,
) -> Result<(SyncBatch, String)> {
    let ledger = &state.ledger;
    let (org, org_tag) = state.directory.org_and_tag()?;
    let now = now_millis();
    let gate = DeviceGate {
        user,
        device,
        calendar: &ledger.calendar,
        org: &org,
        now,
        refuse_later: state.config.refuse_later_events,
        receipts: Mutex::new(HashMap::new()),
    };
    // Read before the session loads any document (see `Write::loaded_after`).
    let seen = ledger.committed_seq();
    let mut session = SyncSession::new(&ledger.docs, device.id.as_str());
    let spoken: Vec<CaseId> = request.entries.iter().map(|(c, _)| c.clone()).collect();
    // The cases the device speaks of for the first time (its new ones): it learns their
    // numbers in this answer.
    let first_sight: HashSet<CaseId> = if numbers {
        session.holding_nothing(&spoken)?.into_iter().collect()
    } else {
        HashSet::new()
    };
    let (outcomes, staged) = session.receive_staged(&request.entries, &gate)?;
    // The new cases the session claimed (and only those: a case another writer claimed is
    // not this request's to release): from here the write holds those claims and releases
    // them when it ends, committed or not.
    let mut write = ledger.write(now);
    write.loaded_after(seen);
    let claimed = session.take_claimed();
    write.offerable(session.take_offerables());
    write.adopt(
        staged,
        session.accepted_documents(),
        claimed,
        session.take_due_for_compaction(),
    );
    let mut receipts = gate.receipts.into_inner().map_err(Error::internal)?;

    let mut notices = Vec::new();
    for o in &outcomes {
        match &o.outcome {
            Outcome::Accepted { .. } => {
                state.metrics.sync_case("accepted");
                let Some(doc) = session.document(&o.case) else {
                    continue;
                };
                let heads = doc.get_heads();
                let (mine, folded) = match receipts.remove(&o.case) {
                    Some((mine, folded)) => (mine, Some(folded)),
                    None => (Vec::new(), None),
                };
                let indexed =
                    session.with_case(&o.case, |doc| write.index(doc, heads, folded, &mine))?;
                if let Some(indexed) = indexed {
                    indexed?;
                }
            }
            Outcome::Refused { code, reason } => {
                state.metrics.sync_case("refused");
                tracing::warn!(case = %o.case, %code, %reason, "refused");
                notices.push(Notice {
                    case: o.case.clone(),
                    code: code.as_str().into(),
                    text: reason.clone(),
                });
            }
            Outcome::Invalid { reason } => {
                state.metrics.sync_case("invalid");
                notices.push(Notice {
                    case: o.case.clone(),
                    code: RefusalCode::InvalidMessage.as_str().into(),
                    text: reason.clone(),
                });
            }
            Outcome::Unchanged => state.metrics.sync_case("unchanged"),
        }
    }
    write.commit()?;

    // The answer: cases the device spoke about that it may see, then the feed of its scope.
    let refused: HashSet<CaseId> = notices.iter().map(|n| n.case.clone()).collect();
    let mut answer: Vec<CaseId> = Vec::new();
    let mut requests = Vec::new();
    let mut listed = HashSet::new();
    // The numbers of the cases the answer speaks of that the user may see (if asked).
    let mut numbered: Vec<(CaseId, String)> = Vec::new();
    let summaries = ledger.summaries_of(&spoken)?;
    for ((case, message), summary) in request.entries.iter().zip(summaries) {
        if refused.contains(case) {
            continue;
        }
        let visible = match summary {
            Some(s) => {
                let visible = summary_in_scope(&user.scope, &s);
                let first = numbers && first_sight.contains(case);
                if let Some(number) = s.number.filter(|_| visible && first) {
                    numbered.push((case.clone(), number));
                }
                visible
            }
            // Nothing stored: there is nothing to leak, and the answer asks for the changes.
            None => true,
        };
        if visible {
            listed.insert(case.clone());
            answer.push(case.clone());
        } else {
            match out_of_scope(ledger, user, case, message, &mut session)? {
                Ok(request) => requests.push((case.clone(), request)),
                Err(notice) => notices.push(notice),
            }
        }
    }
    let mut offers = Vec::new();
    let (cursor, more) = if sent_only {
        // The feed is not read: the cursor passes nothing this answer does not offer.
        (request.cursor, true)
    } else {
        let high = ledger.committed_seq();
        let page = ledger.feed_until(
            &feed_scope(&user.scope, &org),
            request.cursor,
            state.config.max_answer_cases,
            high,
        )?;
        for case in page.cases {
            if listed.insert(case.clone()) {
                offers.push(case);
            }
        }
        (page.cursor, page.more)
    };
    // The cursor handed out may pass only changes this answer offers. The commit thread caches
    // a document before it publishes its position, so after reading the position here, the
    // cases answered are brought up to the cache (a concurrent writer may have committed since
    // they were loaded), and the feed's cases are loaded afresh.
    session.catch_up(answer.iter().chain(&offers))?;
    let mut entries = session.generate(answer)?;
    entries.extend(requests);
    // The feed's cases, less those the device holds whole already: its own, pushed before
    // it asked for the feed, come back in it.
    let offered = session.offer_news(offers)?;
    if numbers && !offered.is_empty() {
        // Only the cases the device sees for the first time: it learned the others' numbers
        // when it first got them (or asks `POST /v1/cases/numbers` for what it lacks), so the
        // answers of later rounds do not repeat them.
        let cases: Vec<CaseId> = offered.iter().map(|(c, _)| c.clone()).collect();
        let cases = session.holding_nothing(&cases)?;
        let summaries = ledger.summaries_of(&cases)?;
        for (case, summary) in cases.into_iter().zip(summaries) {
            let Some(s) = summary else { continue };
            if !summary_in_scope(&user.scope, &s) {
                continue;
            }
            if let Some(number) = s.number {
                numbered.push((case, number));
            }
        }
    }
    entries.extend(offered);
    // After the refusals, within the notices a batch may hold (the rest: `POST
    // /v1/cases/numbers`, the device's fallback).
    let room = wire::MAX_ENTRIES.saturating_sub(notices.len());
    notices.extend(
        numbered
            .into_iter()
            .take(room)
            .map(|(case, number)| Notice {
                case,
                code: InfoCode::Numbered.as_str().into(),
                text: number,
            }),
    );
    let answer = SyncBatch {
        cursor,
        more,
        entries,
        notices,
    };
    Ok((answer, org_tag))
}

/// What a device hears of a case it spoke about but may not read. A device that never wrote
/// to it gets `out_of_scope`, whatever hashes it names. One that did (it left the scope with
/// work not yet delivered) gets a message asking for its changes and carrying none
/// ([`SyncSession::request_only`]) until the ledger holds every head it names, then
/// `delivered_out_of_scope`.
fn out_of_scope(
    ledger: &crate::ledger::Ledger,
    user: &User,
    case: &CaseId,
    message: &[u8],
    session: &mut SyncSession<'_>,
) -> Result<std::result::Result<Vec<u8>, Notice>> {
    let notice = |code: RefusalCode, text: String| Notice {
        case: case.clone(),
        code: code.as_str().into(),
        text,
    };
    if !ledger.authored_by(case, session.peer())? {
        return Ok(Err(notice(
            RefusalCode::OutOfScope,
            format!("case {case} lies outside the scope of {}", user.id),
        )));
    }
    let (heads, named) = match automerge::sync::Message::decode(message) {
        Ok(m) => {
            let mut named = m.heads.clone();
            named.extend(m.have.into_iter().flat_map(|h| h.last_sync));
            (m.heads, named)
        }
        Err(_) => (Vec::new(), Vec::new()),
    };
    if !heads.is_empty() && session.holds_all(case, &heads) {
        return Ok(Err(notice(
            RefusalCode::DeliveredOutOfScope,
            format!(
                "case {case} lies outside the scope of {}: what this device wrote to it is stored and flagged; nothing more of it is sent",
                user.id
            ),
        )));
    }
    Ok(Ok(session.request_only(case, &named)?))
}
