//! The glue between the client and its [`HttpTransport`](crate::transport::HttpTransport):
//! every request the client makes goes through here, retried with backoff on transport
//! failures and 5xx answers, authenticated with the kept token (renewed once when it has
//! expired), and sync batches travel as zstd-compressed bodies.

use super::progress::{Meter, Of};
use super::{storage, Client};
use crate::error::{ClientError, Result};
use crate::transport::{HttpHeader, HttpRequest, HttpResponse, TransportError};
use gridcase_sync_core::sync::{encoding, SyncBatch};

/// The most bytes a sync answer may decompress to: far above any answer a server sends (a
/// page of at most a few hundred cases), it keeps a corrupt or hostile body from exhausting
/// the handheld's memory.
const MAX_ANSWER_BYTES: usize = 1 << 30;

/// The longest single wait a server's `Retry-After` is followed for.
const LONGEST_ASKED_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Whether a request to `path` waits when the server asks: syncs and photo transfers, which
/// run in the background and which a server busy with thousands of handhelds refuses first.
/// A sign-in or an action a user waits for fails at once with the server's answer instead.
fn waits_when_asked(path: &str) -> bool {
    path.starts_with("/v1/sync") || path.starts_with("/v1/blobs")
}

/// How long a 503 answer asks the client to wait (`Retry-After` in seconds; capped at
/// [`LONGEST_ASKED_WAIT`]); `None` for any other answer. A 429 is a throttle on this user's own
/// attempts (a locked sign-in): said to the user at once, not waited out.
fn asked_to_wait(r: &HttpResponse) -> Option<std::time::Duration> {
    if r.status != 503 {
        return None;
    }
    let secs: u64 = r.header("retry-after")?.trim().parse().ok()?;
    Some(std::time::Duration::from_secs(secs.max(1)).min(LONGEST_ASKED_WAIT))
}

impl Client {
    /// One request to the server, retried with backoff on transport failures and 5xx answers.
    pub(super) fn send(
        &self,
        method: &str,
        path: &str,
        headers: Vec<HttpHeader>,
        body: Vec<u8>,
        token: Option<&str>,
    ) -> Result<HttpResponse> {
        self.send_tries(method, path, headers, body, token, self.retry.attempts)
    }

    /// One request, tried at most `attempts` times.
    fn send_tries(
        &self,
        method: &str,
        path: &str,
        headers: Vec<HttpHeader>,
        body: Vec<u8>,
        token: Option<&str>,
        attempts: u32,
    ) -> Result<HttpResponse> {
        let mut headers = headers;
        if let Some(t) = token {
            headers.push(HttpHeader {
                name: "authorization".into(),
                value: format!("Bearer {t}"),
            });
        }
        let request = HttpRequest {
            method: method.into(),
            url: format!("{}{path}", self.server),
            headers,
            body,
        };
        let mut delay = self.retry.first_delay;
        let mut attempt = 1;
        let mut waited_as_asked = std::time::Duration::ZERO;
        loop {
            let outcome = self.transport.send(request.clone());
            let asked = outcome
                .as_ref()
                .ok()
                .filter(|_| waits_when_asked(path))
                .and_then(asked_to_wait);
            if let Some(asked) = asked {
                if waited_as_asked.saturating_add(asked) > self.retry.busy_for {
                    // Asked to wait past what this request may: the server's answer stands.
                    attempt = attempts.max(1);
                } else {
                    tracing::debug!(?asked, path, "the server asked to come back later");
                    std::thread::sleep(asked);
                    waited_as_asked += asked;
                    continue;
                }
            }
            let retryable = match &outcome {
                Err(_) => true,
                Ok(r) => r.status >= 500,
            };
            if !retryable || attempt >= attempts.max(1) {
                return match outcome {
                    Ok(r) if r.status >= 500 => Err(ClientError::Server {
                        status: r.status,
                        message: String::from_utf8_lossy(&r.body).chars().take(500).collect(),
                    }),
                    Ok(r) => Ok(r),
                    Err(TransportError::Unreachable { message }) => {
                        Err(ClientError::Unreachable { message })
                    }
                    Err(TransportError::Interrupted { message }) => {
                        Err(ClientError::BadAnswer { message })
                    }
                };
            }
            tracing::debug!(attempt, ?delay, path, "retrying");
            std::thread::sleep(delay);
            delay *= 4;
            attempt += 1;
        }
    }

    pub(super) fn json_body(value: &serde_json::Value) -> (Vec<HttpHeader>, Vec<u8>) {
        (
            vec![HttpHeader {
                name: "content-type".into(),
                value: "application/json".into(),
            }],
            value.to_string().into_bytes(),
        )
    }

    /// An authenticated call; renews the access token once when it has expired.
    pub(super) fn authed(
        &self,
        method: &str,
        path: &str,
        headers: Vec<HttpHeader>,
        body: Vec<u8>,
    ) -> Result<HttpResponse> {
        let id = self.identity()?;
        let r = self.send(
            method,
            path,
            headers.clone(),
            body.clone(),
            Some(&id.access_token),
        )?;
        if r.status != 401 {
            return Ok(r);
        }
        let id = self.renew(id)?;
        self.send(method, path, headers, body, Some(&id.access_token))
    }

    /// An authenticated call tried once (a chunk of an upload: after a failure the caller asks
    /// the server where the upload stands rather than sending the same bytes again).
    pub(super) fn authed_once(
        &self,
        method: &str,
        path: &str,
        headers: Vec<HttpHeader>,
        body: Vec<u8>,
    ) -> Result<HttpResponse> {
        let id = self.identity()?;
        let r = self.send_tries(
            method,
            path,
            headers.clone(),
            body.clone(),
            Some(&id.access_token),
            1,
        )?;
        if r.status != 401 {
            return Ok(r);
        }
        let id = self.renew(id)?;
        self.send_tries(method, path, headers, body, Some(&id.access_token), 1)
    }

    /// The JSON body of a 2xx answer; any other status as the error it means.
    pub(super) fn expect_json(r: HttpResponse, what: &str) -> Result<serde_json::Value> {
        match r.status {
            200..=299 => Ok(serde_json::from_slice(&r.body)?),
            401 => Err(ClientError::Unauthorized {
                message: String::from_utf8_lossy(&r.body).into(),
            }),
            s => Err(ClientError::Server {
                status: s,
                message: format!("{what}: {}", String::from_utf8_lossy(&r.body)),
            }),
        }
    }

    /// Sends one round; returns the server's batch and the organization fingerprint it carried.
    /// `sent_only` asks the server to answer only the cases the batch speaks about, without a
    /// page of the feed (`?sent_only=true`; a server that predates it answers as usual). Every
    /// round asks for the numbers of the cases the answer brings the device for the first time
    /// (`numbers=true`: `numbered` notices, which the driver hands over apart from refusals); a
    /// server that predates it sends none, and `learn_numbers` asks for them after the sync.
    pub(super) fn post_batch(
        &self,
        batch: &SyncBatch,
        sent_only: bool,
        meter: &Meter<'_>,
    ) -> Result<(SyncBatch, Option<String>)> {
        let body = encoding::compress(&batch.encode()).map_err(storage)?;
        let sent = body.len() as u64;
        let headers = vec![
            HttpHeader {
                name: "content-type".into(),
                value: "application/x-gridcase-sync".into(),
            },
            HttpHeader {
                name: "content-encoding".into(),
                value: "zstd".into(),
            },
        ];
        let path = if sent_only {
            "/v1/sync?sent_only=true&numbers=true"
        } else {
            "/v1/sync?numbers=true"
        };
        let r = self.authed("POST", path, headers, body)?;
        meter.moved(Of::Cases, sent, r.body.len() as u64);
        match r.status {
            200 => {}
            401 => {
                return Err(ClientError::Unauthorized {
                    message: String::from_utf8_lossy(&r.body).into(),
                })
            }
            s => {
                return Err(ClientError::Server {
                    status: s,
                    message: String::from_utf8_lossy(&r.body).into(),
                })
            }
        }
        let org_tag = r.header("x-gridcase-org").map(str::to_owned);
        let raw = if r.header("content-encoding") == Some("zstd") {
            encoding::decompress(&r.body, MAX_ANSWER_BYTES).map_err(|e| ClientError::BadAnswer {
                message: format!("the answer does not decompress: {e}"),
            })?
        } else {
            r.body
        };
        let answer = SyncBatch::decode(&raw).map_err(|e| ClientError::BadAnswer {
            message: e.to_string(),
        })?;
        Ok((answer, org_tag))
    }
}
