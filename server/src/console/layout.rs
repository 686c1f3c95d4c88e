//! The frame around every console page: header, navigation, language switch, sign-out, and
//! the hooks the live script reads (`data-live`, `data-case`).

use super::i18n::Lang;
use super::Viewer;
use crate::cases::REVIEWERS;
use axum::http::StatusCode;
use maud::{html, Markup, DOCTYPE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Queue,
    Cases,
    Review,
    Performance,
    NewCase,
    Callbacks,
}

/// What the live script refreshes on this page when a change arrives.
pub enum Live<'a> {
    Off,
    /// Any change in scope refreshes `#live`.
    List,
    /// Only a change of this case refreshes `#live`.
    Case(&'a str),
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (lang.text().app) }
            link rel="stylesheet" href="/assets/console.css";
            script src="/assets/console.js" defer {}
        }
    }
}

/// A page for a signed-in user.
pub fn page(v: &Viewer, title: &str, nav: Nav, live: Live, body: Markup) -> Markup {
    let lang = v.lang;
    let t = lang.text();
    let user = &v.caller.user;
    let reviewer = REVIEWERS.contains(&user.role);
    let switch = super::session::switch_link(lang, &v.here);
    let (live_mode, case) = match live {
        Live::Off => ("", ""),
        Live::List => ("list", ""),
        Live::Case(id) => ("case", id),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body data-live=(live_mode) data-case=(case) data-updated=(t.updated) {
                header.top {
                    a.brand href="/queue" { (t.app) }
                    nav {
                        a #nav-queue href="/queue" class=[(nav == Nav::Queue).then_some("active")] { (lang.work().queue) }
                        a href="/cases" class=[(nav == Nav::Cases).then_some("active")] { (t.nav_cases) }
                        @if reviewer {
                            a href="/review" class=[(nav == Nav::Review).then_some("active")] { (t.nav_review) }
                            a href="/performance" class=[(nav == Nav::Performance).then_some("active")] { (t.nav_performance) }
                        }
                        // The desk returns calls: its callback worklist, one click away.
                        @if user.role.takes_calls() {
                            a #nav-callbacks href="/callbacks" class=[(nav == Nav::Callbacks).then_some("active")] { (lang.calls().nav_callbacks) }
                        }
                        // The desk's page, one click (or the `n` key) from every page.
                        @if user.role.is_center() {
                            a #new-case href="/cases/new" aria-keyshortcuts="n" title="N"
                                class=[(nav == Nav::NewCase).then_some("active")] { "+ " (lang.desk().new_case) }
                        }
                    }
                    span.spacer {}
                    @if !live_mode.is_empty() {
                        span #live-status .live title=(t.live) { (t.live) }
                    }
                    span.who { (user.name) " · " (lang.role(user.role)) }
                    a #lang-switch href=(switch) { (t.other_language) }
                    form.inline method="post" action="/logout" {
                        button type="submit" { (t.sign_out) }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// A page without the signed-in frame (sign-in itself).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body { main.narrow { (body) } }
        }
    }
}

pub fn error_page(status: StatusCode, code: &str, message: &str) -> Markup {
    bare(
        Lang::Zh,
        "出错了 · Error",
        html! {
            h1 { "出错了 · Something went wrong" }
            p.error role="alert" { (status.as_u16()) " " (code) ": " (message) }
            p { a href="/cases" { "返回案件列表 · Back to cases" } }
        },
    )
}
