//! The console as its tests drive it: a user signed in through the console's own form, over
//! plain HTTP (redirects shown, not followed), and headless Chromium beside a server with the
//! demo district.

use crate::webdriver::{self, Browser};
use crate::{Http, Reply, Server, PASSWORD};
use std::path::{Path, PathBuf};

/// A signed-in console user: its session cookie, and this site's origin, which unsafe
/// methods must carry.
pub struct Console<'a> {
    pub http: &'a Http,
    pub cookie: String,
    pub origin: String,
}

impl Console<'_> {
    pub fn sign_in<'a>(http: &'a Http, server: &Server, user: &str) -> Console<'a> {
        Console {
            http,
            cookie: http.console_sign_in(user),
            origin: format!("http://{}", server.addr),
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.http
            .send("GET", path, None, &[("cookie", &self.cookie)], None)
            .expect("HTTP request")
    }

    /// A page that must answer 200, as text.
    pub fn page(&self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.text()
    }

    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(form).expect("a form body");
        let headers = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", self.cookie.as_str()),
            ("origin", self.origin.as_str()),
        ];
        self.http
            .send("POST", path, None, &headers, Some(body.into_bytes()))
            .expect("HTTP request")
    }

    /// Posts a form and follows its redirect: where it led, and that page's text.
    pub fn post_and_show(&self, path: &str, form: &[(&str, &str)]) -> (String, String) {
        let r = self.post(path, form);
        assert_eq!(r.status, 303, "{path}: {}", r.text());
        let to = r.header("location").expect("a redirect").to_owned();
        (to.clone(), self.page(&to))
    }
}

/// Where screenshots go: `docs/screenshots` when asked (`GRIDCASE_SCREENSHOTS`, to refresh the
/// README's), else a temporary directory so a test run leaves the tree alone.
pub fn screenshot_dir(tmp: &Path) -> PathBuf {
    match std::env::var_os("GRIDCASE_SCREENSHOTS") {
        Some(dir) => PathBuf::from(dir),
        None => tmp.join("screenshots"),
    }
}

/// What a browser test starts from: headless Chromium (or a clear failure when it is not
/// installed), a server with the demo district in `tmp`, and where screenshots go.
pub fn browser_test(tmp: &Path) -> (Browser, Server, PathBuf) {
    let Some((chromium, driver)) = webdriver::installed() else {
        panic!("the console's browser tests need Debian's chromium and chromium-driver: run ./scripts/setup");
    };
    let shots = screenshot_dir(tmp);
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let server = Server::start_in(&tmp.join("ledger"), &[]);
    (Browser::start(&chromium, &driver), server, shots)
}

/// Signs in on the sign-in page the browser shows.
pub fn sign_in_page(browser: &Browser, user: &str) {
    browser.find("input[name=username]").type_text(user);
    browser.find("input[name=password]").type_text(PASSWORD);
    browser.find("form.login button").click();
}
