//! Every byte the handhelds' library moves: the bench's handhelds reach the server through
//! [`Counted`], a transport that wraps the built-in one and counts each request and answer
//! whole, whatever the route (sync batches, sign-in, `/v1/org`, case numbers, callers,
//! photos), so that "bytes on the wire" compares with automerge-repo's count of every message.
//!
//! What is counted, each way: the bodies as they travel (zstd where the library compresses), the
//! request line (`POST /v1/sync?sent_only=true HTTP/1.1`) and every header the library hands
//! the transport, and the status line and every header the answer brings back. Not counted:
//! the few headers ureq adds on its own (`host`, `user-agent`, `accept`, `content-length`,
//! about 80 bytes a request), chunk framing, TCP and IP.

use gridcase_client::transport::{
    BuiltinTransport, HttpHeader, HttpRequest, HttpResponse, HttpTransport, TransportError,
};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Requests and bytes of one route.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    pub requests: u64,
    pub up: u64,
    pub down: u64,
}

/// The bytes of every handheld of a run, by route (the path, ids as `{}`, no query).
#[derive(Default)]
pub struct Wire {
    by_route: Mutex<BTreeMap<String, Traffic>>,
}

/// What the handhelds moved between two readings of a [`Wire`].
#[derive(Debug, Default, Clone)]
pub struct Moved {
    pub by_route: BTreeMap<String, Traffic>,
}

impl Moved {
    pub fn up(&self) -> u64 {
        self.by_route.values().map(|t| t.up).sum()
    }

    pub fn down(&self) -> u64 {
        self.by_route.values().map(|t| t.down).sum()
    }

    /// `{route: {requests, bytes_up, bytes_down}}`.
    pub fn json(&self) -> Value {
        let routes: Map<String, Value> = self
            .by_route
            .iter()
            .map(|(route, t)| {
                (
                    route.clone(),
                    json!({"requests": t.requests, "bytes_up": t.up, "bytes_down": t.down}),
                )
            })
            .collect();
        Value::Object(routes)
    }
}

impl Wire {
    pub fn new() -> Arc<Wire> {
        Arc::new(Wire::default())
    }

    /// What was moved so far.
    pub fn reading(&self) -> Moved {
        Moved {
            by_route: self.by_route.lock().expect("wire").clone(),
        }
    }

    /// What was moved since `before` (an earlier [`Wire::reading`]).
    pub fn since(&self, before: &Moved) -> Moved {
        let now = self.reading();
        let by_route = now
            .by_route
            .into_iter()
            .filter_map(|(route, t)| {
                let b = before.by_route.get(&route).copied().unwrap_or_default();
                let d = Traffic {
                    requests: t.requests - b.requests,
                    up: t.up - b.up,
                    down: t.down - b.down,
                };
                (d != Traffic::default()).then_some((route, d))
            })
            .collect();
        Moved { by_route }
    }

    fn add(&self, route: String, up: u64, down: u64) {
        let mut routes = self.by_route.lock().expect("wire");
        let t = routes.entry(route).or_default();
        t.requests += 1;
        t.up += up;
        t.down += down;
    }
}

/// The built-in transport, counting into a [`Wire`].
pub struct Counted {
    inner: BuiltinTransport,
    wire: Arc<Wire>,
}

impl Counted {
    pub fn new(wire: Arc<Wire>) -> Counted {
        Counted {
            inner: BuiltinTransport::new(),
            wire,
        }
    }
}

fn header_bytes(headers: &[HttpHeader]) -> u64 {
    // "name: value\r\n"
    headers
        .iter()
        .map(|h| (h.name.len() + h.value.len() + 4) as u64)
        .sum()
}

/// The path and query of a URL (`http://host:port/v1/sync?x` → `/v1/sync?x`).
fn target(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// A route's name: the path without its query, each id-like segment (a case id, a photo's
/// hash, a caller) as `{}`.
fn route(url: &str) -> String {
    let path = target(url).split(['?', '#']).next().unwrap_or("/");
    path.split('/')
        .map(|seg| {
            if seg.len() >= 16 && seg.chars().all(|c| c.is_ascii_hexdigit()) {
                "{}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl HttpTransport for Counted {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        // "METHOD target HTTP/1.1\r\n", the headers, "\r\n", the body.
        let up = (request.method.len() + target(&request.url).len() + 11) as u64
            + header_bytes(&request.headers)
            + 2
            + request.body.len() as u64;
        let route = route(&request.url);
        let answer = self.inner.send(request);
        let down = match &answer {
            // The status line taken as "HTTP/1.1 200 OK\r\n", the headers, "\r\n", the body.
            Ok(r) => 17 + header_bytes(&r.headers) + 2 + r.body.len() as u64,
            Err(_) => 0,
        };
        self.wire.add(route, up, down);
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_ids_alike() {
        assert_eq!(
            route("http://127.0.0.1:9/v1/sync?sent_only=true"),
            "/v1/sync"
        );
        assert_eq!(
            route("http://h/v1/cases/0190a1b2c3d4e5f60718293a4b5c6d7e/callers/0190a1b2c3d4e5f6"),
            "/v1/cases/{}/callers/{}"
        );
        assert_eq!(route("http://h/v1/cases/numbers"), "/v1/cases/numbers");
        assert_eq!(
            target("http://h:1/v1/sync?numbers=true"),
            "/v1/sync?numbers=true"
        );
    }
}
