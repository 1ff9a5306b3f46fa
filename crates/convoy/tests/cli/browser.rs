//! A headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`): a
//! small client of the W3C protocol, enough for the UI tests. Stopped when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.runtime.block_on(self.http.delete(self.base.clone()).send());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// A browser, or `None` (with the reason printed) where Chromium is not installed; under
    /// `CI=true` a missing browser fails the test.
    pub fn start() -> Option<Browser> {
        let missing =
            ["/usr/bin/chromium", "/usr/bin/chromedriver"].into_iter().find(|p| !std::path::Path::new(p).exists());
        if let Some(path) = missing {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{path} is required in CI (scripts/test.sh installs it)"
            );
            eprintln!("skipping: {path} is not installed");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while runtime.block_on(http.get(format!("{url}/status")).send()).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"]
            }
        }}});
        let session: Value = runtime
            .block_on(async { http.post(format!("{url}/session")).json(&capabilities).send().await?.json().await })
            .expect("a browser session");
        let id = session["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}")).to_owned();
        Some(Browser { driver, base: format!("{url}/session/{id}"), runtime, http })
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let answer: Value = self.runtime.block_on(async {
            let mut request = self.http.request(method, url);
            if let Some(body) = body {
                request = request.json(&body);
            }
            request.send().await.unwrap().json().await.unwrap()
        });
        answer["value"].clone()
    }

    /// Forgets the cookies of the site at `url` (a sign-in there, for one).
    pub fn forget(&self, url: &str) {
        self.goto(url);
        self.call(reqwest::Method::DELETE, "/cookie", None);
    }

    pub fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    pub fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).as_str().unwrap_or("").to_owned()
    }

    /// The first element matching `css`, waiting up to 20 s for it.
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found =
                self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css})));
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "no element {css:?} on {}:\n{}", self.url(), self.text("body"));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks the element; found again when a live update replaced it between the look-up and
    /// the click (WebDriver's "stale element reference").
    pub fn click(&self, css: &str) {
        for _ in 0..20 {
            let id = self.find(css);
            let answer = self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({})));
            if answer.get("error").is_none() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("could not click {css:?} on {}", self.url());
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text})));
    }

    /// Replaces the text of an input.
    pub fn replace_text(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({})));
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text})));
    }

    /// The rendered text of the first element matching `css` ("" when there is none), read in one
    /// script: a live update cannot swap the element between finding and reading it.
    pub fn text(&self, css: &str) -> String {
        let text =
            self.run("const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", json!([css]));
        text.as_str().unwrap_or("").to_owned()
    }

    /// Runs `script` (a function body; `arguments` as given) in the page and returns its value;
    /// a returned Promise is awaited.
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/async", Some(json!({
            "script": format!("const done = arguments[arguments.length - 1]; Promise.resolve((async () => {{ {script} }})()).then(done, e => done('error: ' + e));"),
            "args": args,
        })))
    }

    /// Waits up to 60 s for `check` (a JavaScript expression) to be true.
    pub fn wait_for(&self, what: &str, check: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.run(&format!("return !!({check});"), json!([])) != Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} on {}:\n{}",
                self.url(),
                self.text("body")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The serious and critical accessibility violations axe-core finds on the page (`id: where`),
    /// or `None` where axe-core is not installed (scripts/test.sh installs it; CI requires it).
    pub fn accessibility_violations(&self) -> Option<Vec<String>> {
        let path = std::env::var("CONVOY_AXE_JS").map(std::path::PathBuf::from).unwrap_or_else(|_| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/tools/axe-core-4.10.3/node_modules/axe-core/axe.min.js")
        });
        let Ok(source) = std::fs::read_to_string(&path) else {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "axe-core is required in CI: {}", path.display());
            eprintln!("skipping the accessibility check: no {}", path.display());
            return None;
        };
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": format!("{source}; return true;"), "args": []})),
        );
        let found = self.run(
            "const result = await axe.run(document, {resultTypes: ['violations']});
             return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
               .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));",
            json!([]),
        );
        Some(found.as_array().into_iter().flatten().map(|v| v.as_str().unwrap_or("").to_owned()).collect())
    }

    /// A PNG of the window.
    pub fn screenshot(&self, path: &std::path::Path) {
        let encoded = self.call(reqwest::Method::GET, "/screenshot", None);
        let bytes = decode_base64(encoded.as_str().unwrap_or(""));
        std::fs::write(path, bytes).unwrap();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}
