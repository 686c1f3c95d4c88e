//! The central office's web console, served by the server itself: server-rendered HTML (maud,
//! escaped by construction), one small vendored script for live updates, no front-end build.
//!
//! Pages call the same case service as the JSON API (`crate::cases`, the indicator table), so
//! the console can never show or do more than the API allows the signed-in user.

pub mod act;
pub mod call_form;
pub mod callbacks;
pub mod callers;
pub mod case_page;
pub mod case_work;
pub mod chart;
pub mod drill;
pub mod i18n;
pub mod layout;
pub mod list;
pub mod new_case;
pub mod performance;
pub mod queue;
pub mod review;
pub mod session;
pub mod upload;
pub mod work_text;

use crate::auth::Caller;
use crate::error::Error;
use crate::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use gridcase_sync_core::org::Org;
use i18n::Lang;

/// The console's routes; `lib::router` merges them beside the API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/queue", get(queue::show))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/lang", get(session::switch_language))
        .route("/cases", get(list::list))
        .route("/cases/new", get(new_case::show).post(new_case::save))
        .route("/cases/{id}", get(case_page::show))
        .route("/cases/{id}/act", post(act::act))
        .route("/cases/{id}/callers", post(callers::attach))
        .route("/cases/{id}/callback", post(callbacks::record))
        .route("/callbacks", get(callbacks::worklist))
        .route("/review", get(review::queue))
        .route("/performance", get(performance::show))
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
        .layer(axum::middleware::map_response(security_headers))
}

/// Pages load only this server's own script, styles and images, cannot be framed, and do not
/// send their addresses elsewhere: the session cookie opens the whole API.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    response
}

async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    )
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The signed-in user of a console page, and the language to answer in. Without a session the
/// page redirects to sign-in and comes back afterwards.
pub struct Viewer {
    pub caller: Caller,
    pub lang: Lang,
    /// Path and query of this page, for the language switch to return to.
    pub here: String,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let lang = Lang::parse(session::cookie(&parts.headers, session::LANG_COOKIE));
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => Ok(Viewer { caller, lang, here }),
            // A form posted after the session ended returns to its page, not to the post.
            Err(Error::Unauthorized(_)) if parts.method != axum::http::Method::GET => {
                let path = parts.uri.path();
                let page = ["/act", "/callers", "/callback"]
                    .iter()
                    .find_map(|post| path.strip_suffix(post))
                    .unwrap_or(path);
                Err(to_login(page))
            }
            Err(Error::Unauthorized(_)) => Err(to_login(&here)),
            Err(e) => Err(PageError(e).into_response()),
        }
    }
}

fn to_login(here: &str) -> Response {
    let query = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// A query string for a page, refused as a page (not axum's plain text) when malformed.
pub struct PageQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, PageError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(PageQuery)
            .map_err(|e| PageError(Error::BadRequest(format!("bad query: {e}"))))
    }
}

/// An HTML form body (`application/x-www-form-urlencoded`), refused with a clear 400. The
/// case page's step forms, which may carry photos, are read by [`upload::WithPhotos`].
pub struct Form<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        let bytes = read_form_body(req, state).await?;
        serde_urlencoded::from_bytes(&bytes)
            .map(Form)
            .map_err(|e| PageError(Error::BadRequest(format!("bad form: {e}"))))
    }
}

/// A form's body, within `--max-body`.
async fn read_form_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<axum::body::Bytes, PageError> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|r| {
            PageError(if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::TooLarge("the form is too large".into())
            } else {
                Error::BadRequest(r.body_text())
            })
        })
}

/// An error shown as a page: the status of the API error, a message in both languages (the
/// language cookie is not at hand everywhere an error starts), and the way back.
#[derive(Debug)]
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(e: Error) -> PageError {
        PageError(e)
    }
}

impl From<gridcase_sync_core::Error> for PageError {
    fn from(e: gridcase_sync_core::Error) -> PageError {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Error::Unauthorized(_) = self.0 {
            return to_login("/queue");
        }
        let (status, code) = self.0.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = %self.0, "console page failed");
        }
        let page = layout::error_page(status, code.as_str(), &self.0.to_string());
        (status, page).into_response()
    }
}

/// The kinds of place a page names by id.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    Street,
    Community,
    Grid,
    Unit,
}

/// The name of a street, community, grid or unit, or its id when the organization lacks it.
pub fn place(org: &Org, kind: Place, id: Option<&str>) -> String {
    let Some(id) = id else { return "—".into() };
    let name = match kind {
        Place::Street => org.streets.get(&id.into()).map(|s| &s.name),
        Place::Community => org.communities.get(&id.into()).map(|c| &c.name),
        Place::Grid => org.grids.get(&id.into()).map(|g| &g.name),
        Place::Unit => org.units.get(&id.into()).map(|u| &u.name),
    };
    name.cloned().unwrap_or_else(|| id.to_owned())
}

/// A case id from a console route's path, checked before it goes into a `Location` header:
/// anything but an id's characters names no case.
pub fn case_in_path(id: &str) -> Result<(), PageError> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::NotFound(format!("no case {id:?}")).into());
    }
    Ok(())
}

/// A redirect to a case page with one notice (`done`, `refused`, `attached`) in its query.
/// Only stable codes and ids go into the address: the page words them in the reader's
/// language, so a link cannot put words on it.
pub fn back_to_case(case: &str, key: &str, value: &str) -> Response {
    let query = serde_urlencoded::to_string([(key, value)]).unwrap_or_default();
    Redirect::to(&format!("/cases/{case}?{query}")).into_response()
}

/// An empty form field is no filter.
pub fn given(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_returns_only_to_this_site() {
        use session::local_path;
        assert_eq!(
            local_path(Some("/cases?status=filed")),
            "/cases?status=filed"
        );
        assert_eq!(local_path(Some("//evil.example/")), "/queue");
        assert_eq!(local_path(Some("https://evil.example/")), "/queue");
        assert_eq!(local_path(Some("/\\evil.example")), "/queue");
        assert_eq!(local_path(Some("/cases\r\nSet-Cookie: x=1")), "/queue");
        assert_eq!(local_path(Some("/cases?q=井")), "/queue");
        assert_eq!(local_path(None), "/queue");
    }
}
