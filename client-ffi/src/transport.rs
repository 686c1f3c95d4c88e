//! How the client reaches the server: a built-in HTTP stack (ureq with rustls), or one the app
//! hands in (OkHttp, URLSession) through the foreign trait [`HttpTransport`].

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// A transport failure: nothing (or not all) came back.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TransportError {
    /// No connection could be made.
    #[error("unreachable: {message}")]
    Unreachable { message: String },
    /// The connection broke mid-way; the answer is incomplete.
    #[error("interrupted: {message}")]
    Interrupted { message: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportError::Interrupted { message: e.reason }
    }
}

/// Sends one HTTP request and returns the whole answer, whatever its status.
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// How long the built-in transport waits for the link to move (a byte read or written) before
/// it gives up on a request. Not a total: a photo on a slow link takes as long as it takes while
/// bytes flow. As long as the server's own request timeout, so a slow answer is not cut.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest the built-in transport lets any request but a photo's bytes (`/v1/blobs/{sha}`)
/// take in all, however slowly its bytes keep coming: a generous bound (a sync batch of a few
/// hundred KB takes minutes only on the worst link), so a link that trickles cannot hold a
/// sync forever. Photo transfers have only the idle timeout: they take as long as they need
/// while bytes move, and resume at the byte when cut.
pub const DEFAULT_REQUEST_CAP: Duration = Duration::from_secs(10 * 60);

/// An answer whose body is read as it arrives (the built-in transport's downloads).
pub struct StreamingResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    /// The body; a read fails when the link is cut or stays silent past the idle timeout, and
    /// what was read before stays read.
    pub body: Box<dyn std::io::Read + Send>,
}

impl StreamingResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// The built-in transport.
pub struct BuiltinTransport {
    agent: ureq::Agent,
    /// The total a request other than a photo transfer may take.
    cap: Duration,
}

impl BuiltinTransport {
    pub fn new() -> BuiltinTransport {
        BuiltinTransport::with_idle_timeout(DEFAULT_IDLE_TIMEOUT)
    }

    /// A transport that gives up on a request when no byte moved for `idle` (each read and each
    /// write waits at most that long), with no limit on a request's total time.
    pub fn with_idle_timeout(idle: Duration) -> BuiltinTransport {
        let idle = idle.max(Duration::from_secs(1));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10).min(idle)))
            .timeout_per_read(Some(idle))
            .timeout_per_write(Some(idle))
            .build()
            .into();
        BuiltinTransport {
            agent,
            cap: DEFAULT_REQUEST_CAP,
        }
    }

    /// Bounds the total time of every request but a photo transfer (default
    /// [`DEFAULT_REQUEST_CAP`]).
    pub fn with_request_cap(mut self, cap: Duration) -> BuiltinTransport {
        self.cap = cap.max(Duration::from_secs(1));
        self
    }

    fn run(
        &self,
        request: HttpRequest,
    ) -> Result<ureq::http::Response<ureq::Body>, TransportError> {
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for h in &request.headers {
            builder = builder.header(h.name.as_str(), h.value.as_str());
        }
        let transfer = is_photo_transfer(&request.url);
        let req = builder
            .body(request.body)
            .map_err(|e| TransportError::Unreachable {
                message: e.to_string(),
            })?;
        let req = if transfer {
            req
        } else {
            self.agent
                .configure_request(req)
                .timeout_global(Some(self.cap))
                .build()
        };
        self.agent.run(req).map_err(|e| match e {
            ureq::Error::Io(ref io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                TransportError::Unreachable {
                    message: e.to_string(),
                }
            }
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                TransportError::Unreachable {
                    message: e.to_string(),
                }
            }
            other => TransportError::Interrupted {
                message: other.to_string(),
            },
        })
    }

    /// Sends one request and hands its answer over before the body is read, so the body can go
    /// to a file as it arrives and a cut loses nothing that came.
    pub fn open(&self, request: HttpRequest) -> Result<StreamingResponse, TransportError> {
        let resp = self.run(request)?;
        let status = resp.status().as_u16();
        let headers = headers_of(&resp);
        let body = Box::new(resp.into_body().into_reader());
        Ok(StreamingResponse {
            status,
            headers,
            body,
        })
    }
}

/// A photo's bytes going either way (`/v1/blobs/{sha}`), not its upload status
/// (`/v1/blobs/{sha}/upload`) nor any other request.
fn is_photo_transfer(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.split_once("/v1/blobs/")
        .is_some_and(|(_, rest)| !rest.is_empty() && !rest.contains('/'))
}

fn headers_of(resp: &ureq::http::Response<ureq::Body>) -> Vec<HttpHeader> {
    resp.headers()
        .iter()
        .filter_map(|(k, v)| {
            Some(HttpHeader {
                name: k.as_str().to_owned(),
                value: v.to_str().ok()?.to_owned(),
            })
        })
        .collect()
}

impl Default for BuiltinTransport {
    fn default() -> Self {
        BuiltinTransport::new()
    }
}

impl HttpTransport for BuiltinTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut resp = self.run(request)?;
        let status = resp.status().as_u16();
        let headers = headers_of(&resp);
        let body = resp
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| TransportError::Interrupted {
                message: e.to_string(),
            })?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_photo_transfer;

    #[test]
    fn only_a_photos_bytes_go_without_a_total_bound() {
        let sha = "ab".repeat(32);
        assert!(is_photo_transfer(&format!("http://h:1/v1/blobs/{sha}")));
        assert!(!is_photo_transfer(&format!(
            "http://h:1/v1/blobs/{sha}/upload"
        )));
        assert!(!is_photo_transfer("http://h:1/v1/sync"));
        assert!(!is_photo_transfer("http://h:1/v1/blobs/"));
    }
}
