//! A real browser for the end-to-end tests of pages: headless Chromium (Debian's `chromium`
//! and `chromium-driver`, installed by `scripts/stack up`) behind its own chromedriver,
//! driven over WebDriver with fantoccini; waits with deadlines, screenshots into
//! `target/screenshots/` or the directory `BUREAU_SCREENSHOTS` names. Without chromedriver
//! a test fails unless `BUREAU_SKIP_BROWSER=1`. (The same helpers `tests/back_office.rs`
//! carries inline, shared here for the tests that came after it: admin pages, reports.)

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::{DEADLINE, TestStack, eventually};

/// A headless Chromium behind its own chromedriver, both ended when dropped.
pub struct Browser {
    pub client: Client,
    _driver: Driver,
}

/// chromedriver and every Chromium process it started, in a process group of their own,
/// all killed when this is dropped: a test that fails (or panics) before closing its
/// WebDriver session leaves no browser behind.
pub struct Driver {
    child: tokio::process::Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) with a negative pid signals the group chromedriver leads (made
            // with `process_group(0)` at spawn); it has no memory effects.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        }
        let _ = self.child.start_kill();
    }
}

pub async fn browser() -> anyhow::Result<Option<Browser>> {
    Ok(chromium("en-US,en", "1400,1000")
        .await?
        .map(|(client, driver)| Browser {
            client,
            _driver: driver,
        }))
}

/// Starts chromedriver and a headless Chromium asking for `languages` (`Accept-Language`,
/// the first one also the UI's) in a `width,height` window: the client and the driver
/// (chromedriver and its browsers, killed when dropped). `None` when chromedriver is missing and
/// `BUREAU_SKIP_BROWSER=1`; an error otherwise.
pub async fn chromium(languages: &str, window: &str) -> anyhow::Result<Option<(Client, Driver)>> {
    let Some(driver_path) = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        // Skipped only when asked: a browser test that passes without a browser proves
        // nothing, so a missing chromedriver fails the run unless the person running it chose.
        anyhow::ensure!(
            std::env::var("BUREAU_SKIP_BROWSER").as_deref() == Ok("1"),
            "chromedriver is not installed: `scripts/stack up` installs it \
             (or set BUREAU_SKIP_BROWSER=1 to skip the browser tests)"
        );
        eprintln!("skipping: chromedriver is not installed and BUREAU_SKIP_BROWSER=1");
        return Ok(None);
    };
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let driver = Driver {
        child: tokio::process::Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .context("starting chromedriver")?,
    };
    let url = format!("http://127.0.0.1:{port}");
    eventually("chromedriver listening", DEADLINE, || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
    })
    .await?;
    let primary = languages.split(',').next().unwrap_or("en-US");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={window}"), format!("--lang={primary}")],
            "prefs": {"intl.accept_languages": languages},
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&url)
        .await
        .map_err(|e| anyhow!("connecting to chromedriver: {e}"))?;
    Ok(Some((client, driver)))
}

impl Browser {
    pub async fn go(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .map_err(|e| anyhow!("opening {url}: {e}"))
    }

    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let field = self.find(css).await?;
            field.clear().await.ok();
            match field.send_keys(text).await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline && e.to_string().contains("stale") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(anyhow!("typing into {css}: {e}")),
            }
        }
    }

    /// Clicks `css`, again if the page refreshed that part of itself under the click (a
    /// live update replaces the page's content).
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match self.find(css).await?.click().await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline && e.to_string().contains("stale") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(anyhow!("clicking {css}: {e}")),
            }
        }
    }

    /// The element, once it is there (the pages refresh parts of themselves).
    pub async fn find(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| anyhow!("waiting for {css}: {e}"))
    }

    /// The text of `css`, once `pred` accepts it.
    pub async fn text_until(
        &self,
        css: &str,
        pred: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + DEADLINE;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if pred(&text) {
                    return Ok(text);
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(anyhow!("{css} never matched; last text: {last:?}"))
    }

    pub async fn body(&self) -> anyhow::Result<String> {
        self.text_until("body", |_| true).await
    }

    /// Runs `script` in the page and returns what it returned.
    pub async fn run(&self, script: &str) -> anyhow::Result<serde_json::Value> {
        self.client
            .execute(script, vec![])
            .await
            .map_err(|e| anyhow!("running a script: {e}"))
    }

    pub async fn screenshot(&self, name: &str) -> anyhow::Result<()> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| anyhow!("screenshot: {e}"))?;
        // Not into docs/ by default: a test run must not change files in the repository.
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = match std::env::var_os("BUREAU_SCREENSHOTS") {
            Some(dir) => root.join(dir),
            None => root.join("target/screenshots"),
        };
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.png")), png)?;
        Ok(())
    }

    pub async fn sign_in(
        &self,
        stack: &TestStack,
        email: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        self.go(&stack.web_url("/office/sign-in")).await?;
        self.fill("input[name=email]", email).await?;
        self.fill("input[name=password]", password).await?;
        self.click("#sign-in button[type=submit]").await?;
        self.find(".top nav").await?;
        Ok(())
    }

    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.click(".top form button").await?;
        self.find("#sign-in").await?;
        Ok(())
    }
}
