//! A small W3C WebDriver client for the console tests: Debian's `chromedriver` driving
//! headless `chromium`, spoken to in JSON over HTTP. Just the commands the tests use.
//!
//! Ours rather than a maintained crate: fantoccini and thirtyfour are async (a tokio runtime
//! and a `block_on` around every command in a synchronous test) and bring Mozilla's `webdriver`
//! crate with ICU segmentation tables, or reqwest; and starting chromedriver with the flags
//! this closed network needs would stay ours either way. This is synchronous, on the `ureq`
//! the tests already use, and each command is one call.

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// WebDriver's codes for the keys that type no character, for [`Browser::keys`].
pub mod key {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const ARROW_UP: &str = "\u{E013}";
    pub const ARROW_DOWN: &str = "\u{E015}";
}

/// Where Debian puts the browser and its driver; `None` when they are not installed.
pub fn installed() -> Option<(PathBuf, PathBuf)> {
    let chromium = std::env::var_os("GRIDCASE_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let driver = std::env::var_os("GRIDCASE_CHROMEDRIVER")
        .map_or_else(|| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from);
    (chromium.exists() && driver.exists()).then_some((chromium, driver))
}

/// A running chromedriver with one browser session; both end when dropped.
pub struct Browser {
    driver: Child,
    agent: ureq::Agent,
    session: String,
    base: String,
    /// The browser's fresh profile, removed with it.
    profile: tempfile::TempDir,
}

/// A found element.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a fresh profile, with the
    /// flags this closed network needs (no background connections to Google's hosts).
    pub fn start(chromium: &Path, driver: &Path) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        // Built before anything can fail, so that dropping it stops the driver.
        let mut browser = Browser {
            driver: child,
            agent,
            session: String::new(),
            base: format!("http://127.0.0.1:{port}"),
            profile: tempfile::tempdir().expect("profile dir"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = browser
                .agent
                .get(format!("{}/status", browser.base))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = format!("--user-data-dir={}", browser.profile.path().display());
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,1000",
            profile.as_str(),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args},
        }}});
        let created = browser.command("POST", "/session", caps);
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        browser
    }

    /// One WebDriver command; panics with the driver's message on an error.
    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let mut response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self.agent.post(&url).send_json(&body),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let value: Value = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_json()
            .unwrap_or(Value::Null);
        assert!(status < 400, "{method} {path}: {status} {value}");
        value["value"].clone()
    }

    fn session_command(&self, method: &str, path: &str, body: Value) -> Value {
        self.command(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn goto(&self, url: &str) {
        self.session_command("POST", "/url", json!({ "url": url }));
    }

    pub fn url(&self) -> String {
        self.session_command("GET", "/url", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn find(&self, css: &str) -> Element<'_> {
        self.try_find(css)
            .unwrap_or_else(|| panic!("no element matches {css} on {}", self.url()))
    }

    pub fn try_find(&self, css: &str) -> Option<Element<'_>> {
        self.find_all(css).into_iter().next()
    }

    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let found = self.session_command(
            "POST",
            "/elements",
            json!({"using": "css selector", "value": css}),
        );
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str())
            .map(|id| Element {
                browser: self,
                id: id.to_owned(),
            })
            .collect()
    }

    /// Runs a script in the page and returns its result.
    pub fn script(&self, source: &str) -> Value {
        self.session_command(
            "POST",
            "/execute/sync",
            json!({"script": source, "args": []}),
        )
    }

    /// Waits until the script returns true, or panics saying what was awaited.
    pub fn wait_for(&self, what: &str, source: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.script(source) != Value::Bool(true) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The visible text of the page.
    pub fn text(&self) -> String {
        self.script("return document.body.innerText;")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A PNG of the window.
    pub fn screenshot(&self, to: &Path) {
        use base64::Engine;
        let data = self.session_command("GET", "/screenshot", Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("a base64 screenshot");
        std::fs::write(to, png).expect("write the screenshot");
    }

    /// Opens a new tab and switches to it.
    pub fn new_tab(&self) -> String {
        let created = self.session_command("POST", "/window/new", json!({"type": "tab"}));
        let handle = created["handle"].as_str().expect("a tab handle").to_owned();
        self.switch_to(&handle);
        handle
    }

    /// The tab commands go to from now on.
    pub fn switch_to(&self, handle: &str) {
        self.session_command("POST", "/window", json!({ "handle": handle }));
    }

    /// The current tab's handle.
    pub fn tab(&self) -> String {
        self.session_command("GET", "/window", Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Closes the current tab (switch to another one afterwards).
    pub fn close_tab(&self) {
        self.session_command("DELETE", "/window", Value::Null);
    }

    /// Types on the keyboard into whatever has the focus, as a person would: a key press per
    /// character, the keys of [`key`] included (Tab moves the focus as it does for people).
    pub fn keys(&self, text: &str) {
        let presses: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                let c = c.to_string();
                [
                    json!({"type": "keyDown", "value": c}),
                    json!({"type": "keyUp", "value": c}),
                ]
            })
            .collect();
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": presses}]});
        self.session_command("POST", "/actions", actions);
    }

    /// The `id` of the element that has the focus (empty when it has none).
    pub fn focused(&self) -> String {
        self.script("return document.activeElement ? document.activeElement.id : '';")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Sets the window's size (a taller window shows a whole page in a screenshot).
    pub fn resize(&self, width: u32, height: u32) {
        self.session_command(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        );
    }
}

impl Element<'_> {
    pub fn click(&self) {
        self.browser
            .session_command("POST", &format!("/element/{}/click", self.id), json!({}));
    }

    pub fn type_text(&self, text: &str) {
        self.browser.session_command(
            "POST",
            &format!("/element/{}/value", self.id),
            json!({ "text": text }),
        );
    }

    pub fn text(&self) -> String {
        self.browser
            .session_command("GET", &format!("/element/{}/text", self.id), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn attribute(&self, name: &str) -> Option<String> {
        self.browser
            .session_command(
                "GET",
                &format!("/element/{}/attribute/{name}", self.id),
                Value::Null,
            )
            .as_str()
            .map(str::to_owned)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
