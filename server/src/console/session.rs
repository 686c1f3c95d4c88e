//! Console sign-in: a session cookie instead of a bearer header, because a browser page, its
//! `EventSource` and its `<img>` tags cannot send one.
//!
//! The middleware turns a live session cookie into a short-lived bearer token on the request,
//! so every route (the JSON API the page's script calls included) authenticates the one way it
//! already does, and role and scope are still read per request. Unsafe methods carrying the
//! cookie must come from this origin: the cookie is `SameSite=Strict` and the `Origin` (or
//! `Sec-Fetch-Site`) header is checked as well.

use super::i18n::Lang;
use super::{layout, Form, PageError};
use crate::auth;
use crate::error::Error;
use crate::throttle::ClientAddr;
use crate::AppState;
use axum::extract::{Query, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use gridcase_sync_core::UserId;
use maud::{html, Markup};
use serde::Deserialize;

pub const SESSION_COOKIE: &str = "gc_session";
pub const LANG_COOKIE: &str = "gc_lang";

/// The value of one cookie of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// What the browser says of where an unsafe request comes from.
#[derive(Debug, PartialEq, Eq)]
enum Provenance {
    SameOrigin,
    CrossSite,
    /// Neither `Origin` nor `Sec-Fetch-Site`: not a browser's form or script.
    Unknown,
}

/// Compares the browser's `Origin` with the host this server was asked for (`Host`, or
/// `X-Forwarded-Host` behind a proxy: a cross-site form cannot set either), else reads
/// `Sec-Fetch-Site`.
fn provenance(headers: &HeaderMap) -> Provenance {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = text("origin") {
        let host = origin.split_once("://").map(|(_, h)| h);
        let ours = [text("host"), text("x-forwarded-host")];
        return if host.is_some() && ours.contains(&host) {
            Provenance::SameOrigin
        } else {
            Provenance::CrossSite
        };
    }
    match text("sec-fetch-site") {
        Some("same-origin" | "none") => Provenance::SameOrigin,
        Some(_) => Provenance::CrossSite,
        None => Provenance::Unknown,
    }
}

fn cross_site_refused() -> Response {
    Error::Forbidden("a cross-site request to the console was refused".into()).into_response()
}

/// Authenticates requests that carry a console session cookie and no bearer header.
pub async fn middleware(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.headers().contains_key(AUTHORIZATION) {
        return next.run(request).await;
    }
    let Some(token) = cookie(request.headers(), SESSION_COOKIE).map(str::to_owned) else {
        return next.run(request).await;
    };
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // The cookie authenticates: only this site's own pages may use it to change anything.
    if !safe && provenance(request.headers()) != Provenance::SameOrigin {
        return cross_site_refused();
    }
    let bearer =
        auth::session_user(&state.directory, &token).and_then(|user| state.keys.sign(&user, None));
    match bearer {
        Ok(jwt) => {
            if let Ok(v) = HeaderValue::from_str(&format!("Bearer {jwt}")) {
                request.headers_mut().insert(AUTHORIZATION, v);
            }
            next.run(request).await
        }
        // A store or signing failure is not the session's end: keep the cookie for the retry.
        Err(e) if !matches!(e, Error::Unauthorized(_)) => {
            tracing::error!(error = %e, "console session lookup failed");
            e.into_response()
        }
        Err(_) => {
            let mut response = next.run(request).await;
            response
                .headers_mut()
                .append(SET_COOKIE, clear_cookie(SESSION_COOKIE));
            response
        }
    }
}

fn clear_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Where to go after signing in: only a path of this site, never another host, and only
/// printable ASCII (a `Location` header can carry nothing else; browsers send paths encoded).
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.chars().all(|c| c.is_ascii_graphic()) =>
        {
            p.to_owned()
        }
        _ => "/queue".to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

pub async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Markup {
    let lang = Lang::parse(cookie(&headers, LANG_COOKIE));
    login_form(lang, &local_path(q.next.as_deref()), None)
}

fn login_form(lang: Lang, next: &str, error: Option<&str>) -> Markup {
    let t = lang.text();
    layout::bare(
        lang,
        t.sign_in,
        html! {
            form.login method="post" action="/login" {
                h1 { (t.app) }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                input type="hidden" name="next" value=(next);
                label { (t.username) input name="username" autocomplete="username" required autofocus; }
                label { (t.password) input name="password" type="password" autocomplete="current-password" required; }
                button type="submit" { (t.sign_in) }
                p { a href=(switch_link(lang, &format!("/login?{}", serde_urlencoded::to_string([("next", next)]).unwrap_or_default()))) { (t.other_language) } }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let lang = Lang::parse(cookie(&headers, LANG_COOKIE));
    // Another site must not sign a browser in (to an account of its choosing).
    if provenance(&headers) == Provenance::CrossSite {
        return Ok(cross_site_refused());
    }
    let next = local_path(form.next.as_deref());
    let checked =
        crate::routes::auth::check_password(&state, client, form.username, form.password).await;
    let user = match checked {
        Ok(user) => user,
        Err(Error::Unauthorized(_)) => {
            let page = login_form(lang, &next, Some(lang.text().wrong_password));
            return Ok((StatusCode::UNAUTHORIZED, page).into_response());
        }
        Err(e @ Error::TooManyRequests { retry_after_secs }) => {
            let message = lang
                .text()
                .too_many_sign_ins
                .replace("{seconds}", &retry_after_secs.to_string());
            let page = login_form(lang, &next, Some(&message));
            let mut response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
            if let Some((name, value)) = e.retry_after() {
                response.headers_mut().insert(name, value);
            }
            return Ok(response);
        }
        Err(e) => return Err(e.into()),
    };
    let ttl = state.config.console_session_ttl;
    let directory = state.directory.clone();
    let id: UserId = user.id.clone();
    let token = crate::blocking(move || auth::open_session(&directory, &id, ttl)).await?;
    tracing::info!(user = %user.id, "console sign-in");
    let cookie = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}{}",
        if state.config.console_secure_cookie {
            "; Secure"
        } else {
            ""
        }
    ))
    .map_err(Error::internal)?;
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().append(SET_COOKIE, cookie);
    Ok(response)
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE).map(str::to_owned) {
        let directory = state.directory.clone();
        crate::blocking(move || auth::close_session(&directory, &token)).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(SET_COOKIE, clear_cookie(SESSION_COOKIE));
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    pub to: String,
    pub back: Option<String>,
}

/// The link that switches to the other language and comes back to `back`.
pub fn switch_link(lang: Lang, back: &str) -> String {
    let other = if lang == Lang::Zh { "en" } else { "zh" };
    format!(
        "/lang?{}",
        serde_urlencoded::to_string([("to", other), ("back", back)]).unwrap_or_default()
    )
}

/// Switches the console's language and returns to the page.
pub async fn switch_language(Query(q): Query<LangQuery>) -> Response {
    let value = if q.to == "en" { "en" } else { "zh" };
    let mut response = Redirect::to(&local_path(q.back.as_deref())).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={value}; Path=/; SameSite=Lax; Max-Age=31536000"
    )) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}
