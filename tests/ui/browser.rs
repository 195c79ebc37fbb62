//! Headless Chromium driven through chromedriver (WebDriver), one browser per test.
//!
//! The binaries come from Debian's `chromium` and `chromium-driver` (`.ci/run` installs them);
//! `CHROMIUM` and `CHROMEDRIVER` override where they are looked for. Without them the harness
//! skips the browser tests and says so at the end; under `CI` they fail.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::common::harness::browser_binaries;

/// How long a page may take to show what a test waits for.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// A running chromedriver and a browser session through it.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium. The harness has checked that both are
    /// installed before the test starts ([`Need::Browser`](crate::common::harness::Need)).
    pub(crate) async fn start() -> Browser {
        let (chromium, driver) =
            browser_binaries().expect("chromium and chromedriver (checked by the harness)");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut driver = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    // Root in containers has no user namespaces for the sandbox.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-extensions",
                    "--no-first-run",
                    "--window-size=1280,900",
                    "--force-device-scale-factor=1",
                    "--lang=en-US",
                ],
            },
        });
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("an object literal"),
        };
        let started = Instant::now();
        let client = loop {
            let attempt = ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match attempt {
                Ok(client) => break client,
                Err(_) if started.elapsed() < Duration::from_secs(30) => {
                    // Not listening yet.
                    if let Ok(Some(status)) = driver.try_wait() {
                        panic!("chromedriver exited with {status}");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    let _ = driver.kill();
                    panic!("no browser session through chromedriver: {e}");
                }
            }
        };
        Browser { client, driver }
    }

    /// Opens `url` and waits until the router has rendered it (`main[data-ready]`).
    pub(crate) async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
        self.wait_ready().await;
    }

    /// Follows a hash route in the page (as a click would) and waits for it to render.
    pub(crate) async fn route(&self, hash: &str) {
        self.client
            .execute(
                "document.getElementById('main').removeAttribute('data-ready'); location.hash = arguments[0];",
                vec![json!(hash)],
            )
            .await
            .expect("hash change");
        self.wait_ready().await;
    }

    pub(crate) async fn wait_ready(&self) {
        self.wait_for_css("main[data-ready]").await;
    }

    pub(crate) async fn wait_for_css(&self, selector: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector} never appeared: {e}"))
    }

    /// Waits until the element's text satisfies `pred`; returns the text.
    pub(crate) async fn wait_for_text(
        &self,
        selector: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < PATIENCE {
            if let Ok(el) = self.client.find(Locator::Css(selector)).await
                && let Ok(text) = el.text().await
            {
                if pred(&text) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{selector} never had the expected text; last: {last:?}");
    }

    /// Text of every element matching `selector`, read in one step (the page may redraw
    /// between separate WebDriver calls).
    pub(crate) async fn texts(&self, selector: &str) -> Vec<String> {
        let texts = self
            .client
            .execute(
                "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText);",
                vec![json!(selector)],
            )
            .await
            .expect("texts");
        serde_json::from_value(texts).expect("a list of strings")
    }

    /// Evaluates `script` (a function body that returns a value).
    pub(crate) async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Saves a PNG of the viewport as `<screenshot dir>/<name>.png`.
    pub(crate) async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    pub(crate) async fn close(self) {
        // Ends the browser session; Drop then stops chromedriver.
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Also when a test failed before `close`: chromedriver ends the browser it started.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `UI_SCREENSHOT_DIR`, or `target/ui-screenshots`.
pub(crate) fn screenshot_dir() -> PathBuf {
    std::env::var_os("UI_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots"))
}
