//! `GET /v1/changes`: server-sent events, one per case whose change became durable, in the
//! caller's scope. A console keeps its list and open case page current with it.

use crate::auth::Caller;
use crate::directory::Directory;
use crate::error::Result;
use crate::ledger::Change;
use crate::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::rules::covers_case;
use gridcase_sync_core::Scope;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// How often a quiet stream asks whether its caller still holds.
const RECHECK: Duration = Duration::from_secs(30);

struct Listener {
    changes: broadcast::Receiver<Change>,
    closing: watch::Receiver<bool>,
    org: std::sync::Arc<Org>,
    scope: Scope,
    caller: Caller,
    directory: Directory,
}

impl Listener {
    fn sees(&self, change: &Change) -> bool {
        let territory = change.grid.as_ref().and_then(|g| self.org.territory(g));
        let units = change.units.iter().cloned().collect();
        covers_case(&self.scope, territory.as_ref(), &units)
    }

    /// Whether the caller may still listen: a user disabled or moved, or a device revoked,
    /// ends the stream (a reconnect then authenticates afresh).
    fn still_holds(&self) -> bool {
        match self.caller.still_holds(&self.directory) {
            Ok(true) => true,
            Ok(false) => {
                tracing::info!(user = %self.caller.user.id, "live listener ended: access changed");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "live listener ended: the directory did not answer");
                false
            }
        }
    }

    /// The next event for this listener; `None` once the server shuts down or the caller's
    /// access changed.
    async fn next(&mut self) -> Option<Event> {
        loop {
            let received = tokio::select! {
                r = self.changes.recv() => Some(r),
                _ = self.closing.wait_for(|closing| *closing) => return None,
                () = tokio::time::sleep(RECHECK) => None,
            };
            let Some(received) = received else {
                if !self.still_holds() {
                    return None;
                }
                continue;
            };
            match received {
                Ok(change) if self.sees(&change) => {
                    if !self.still_holds() {
                        return None;
                    }
                    let data = serde_json::json!({"case": change.case, "seq": change.seq});
                    return Some(
                        Event::default()
                            .event("case")
                            .id(change.seq.to_string())
                            .data(data.to_string()),
                    );
                }
                Ok(_) => {}
                // Too slow to keep up: say how many were missed, so the page reloads.
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Some(Event::default().event("lagged").data(missed.to_string()))
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[utoipa::path(get, path = "/v1/changes", tag = "review",
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "`event: case`, `data: {\"case\": id, \"seq\": n}` for each durable change in scope; `event: lagged` when some were missed")),
    security(("bearer" = [])))]
pub async fn changes(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    caller.require_reader()?;
    let listener = Listener {
        changes: state.ledger.subscribe(),
        closing: state.closing.subscribe(),
        org: state.directory.org()?,
        scope: caller.user.scope.clone(),
        directory: state.directory.clone(),
        caller,
    };
    tracing::info!(user = %listener.caller.user.id, "live listener joined");
    let stream = futures_util::stream::unfold(listener, |mut l| async move {
        let event = l.next().await?;
        Some((Ok(event), l))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
