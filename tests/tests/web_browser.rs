//! The web board in a real headless browser: Chromium from the
//! distribution's packages, driven by its chromedriver over WebDriver
//! (the kit's hand-written HTTP client speaks it). The page loads, shows
//! the figures, shows a student's join within a second, shows staff's
//! markup as text, and the browser logs no script error.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use jqueue_shared::staff::StaffRequest;
use jqueue_tests::web;
use jqueue_tests::{PATIENCE, Student, TestServer, department_config, require};
use serde_json::{Value, json};

/// Chromium as root in a sandbox with no network: each flag keeps it from
/// reaching out (updates, sync, field trials) or from needing what a
/// container lacks (a GPU, the setuid sandbox).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,800",
];

/// A chromedriver of our own on a free loopback port, stopped on drop.
struct Driver {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Result<Self> {
        // A port the OS has just handed out and taken back: free unless
        // another program grabs it in the next instant.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        let driver = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(status) = web::get(driver.addr, "/status").await
                && status.body.contains("\"ready\":true")
            {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not get ready on {}", driver.addr);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A WebDriver command; its `value`.
    async fn command(&self, method: &str, path: &str, body: &Value) -> Result<Value> {
        let body = (method == "POST").then(|| body.to_string());
        let answer = web::request(self.addr, method, path, body.as_deref()).await?;
        let value: Value = serde_json::from_str(&answer.body)
            .with_context(|| format!("{method} {path}: {}", answer.body))?;
        if answer.status != 200 {
            bail!("{method} {path}: {} {value}", answer.status);
        }
        Ok(value["value"].clone())
    }
}

/// A browser session on `driver`, ended on drop's behalf by [`Self::end`].
struct Browser<'a> {
    driver: &'a Driver,
    session: String,
}

impl<'a> Browser<'a> {
    async fn open(driver: &'a Driver, profile: &std::path::Path) -> Result<Self> {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium()?, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let value = driver.command("POST", "/session", &capabilities).await?;
        let session = value["sessionId"]
            .as_str()
            .context("no session id")?
            .to_owned();
        Ok(Self { driver, session })
    }

    async fn go(&self, url: &str) -> Result<()> {
        let path = format!("/session/{}/url", self.session);
        self.driver
            .command("POST", &path, &json!({"url": url}))
            .await?;
        Ok(())
    }

    /// Runs `script` in the page; what it returns.
    async fn run(&self, script: &str) -> Result<Value> {
        let path = format!("/session/{}/execute/sync", self.session);
        self.driver
            .command("POST", &path, &json!({"script": script, "args": []}))
            .await
    }

    /// The browser's console and script errors so far.
    async fn log(&self) -> Result<Vec<Value>> {
        let path = format!("/session/{}/se/log", self.session);
        let value = self
            .driver
            .command("POST", &path, &json!({"type": "browser"}))
            .await?;
        Ok(value.as_array().cloned().unwrap_or_default())
    }

    /// Waits until `script` returns true; how long it took.
    async fn until(&self, what: &str, script: &str, limit: Duration) -> Result<Duration> {
        let started = Instant::now();
        loop {
            if self.run(script).await? == Value::Bool(true) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                let shown = self.run("return document.body.innerText").await?;
                bail!("{what}: not within {limit:?}; the page shows {shown}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn end(self) -> Result<()> {
        let path = format!("/session/{}", self.session);
        self.driver.command("DELETE", &path, &Value::Null).await?;
        Ok(())
    }
}

/// Debian's chromium binary.
fn chromium() -> Result<String> {
    ["/usr/bin/chromium", "/usr/lib/chromium/chromium"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .map(str::to_owned)
        .context("chromium is not installed")
}

/// A script expression: the text of the element of `class` in the panel
/// of queue `name` ('' while there is none).
fn shown(name: &str, class: &str) -> String {
    format!(
        "((document.querySelector('section[data-queue=\"{name}\"] .{class}') || {{}}).textContent || '')"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: a headless browser (chromium, chromium-driver) — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
async fn the_page_shows_the_figures_and_a_join_within_a_second_with_no_script_error() -> Result<()>
{
    require("chromium", "the web board's browser test");
    require("chromedriver", "the web board's browser test");
    let dir = tempfile::tempdir()?;
    let mut config = department_config(
        dir.path(),
        "web",
        &[("cs101", &["lab"]), ("cs225", &["office"])],
    );
    config.http = Some("127.0.0.1:0".parse()?);
    let server = TestServer::start(config).await?;
    let web = server.web.context("a web board")?;
    server
        .handle
        .on_queue(1)
        .professor(StaffRequest::Announce {
            text: "<b>Moved</b> to 0216".into(),
        })
        .await;

    let driver = Driver::start().await?;
    let profile = tempfile::tempdir()?;
    let browser = Browser::open(&driver, profile.path()).await?;
    let checked = check_the_page(&browser, &server, web).await;
    // Ended whatever the checks said: a browser left behind outlives the
    // test (its driver's end does not end it).
    let ended = browser.end().await;
    checked?;
    ended?;
    server.stop().await
}

/// What the test checks, in a page that `browser` opens on `web`.
async fn check_the_page(browser: &Browser<'_>, server: &TestServer, web: SocketAddr) -> Result<()> {
    browser.go(&format!("http://{web}/")).await?;
    let waiting = shown("cs101/lab", "waiting");
    let state = shown("cs101/lab", "state");
    browser
        .until(
            "the board",
            &format!("return {waiting} === '0' && {state} === 'OPEN';"),
            PATIENCE,
        )
        .await?;
    let figures = browser
        .run(&format!(
            "return [{}, {}];",
            shown("cs101/lab", "figures"),
            shown("cs101/lab", "duty")
        ))
        .await?;
    ensure!(
        figures == json!(["waiting", "On duty: 1"]),
        "the figures: {figures}"
    );
    // Staff's markup is shown as the text it is, not made into markup.
    let announcement = shown("cs225/office", "announcement");
    browser
        .until(
            "the announcement",
            &format!("return {announcement} !== '';"),
            PATIENCE,
        )
        .await?;
    let office = browser
        .run(&format!(
            "return [{announcement}, document.querySelectorAll('.announcement *').length];"
        ))
        .await?;
    ensure!(
        office == json!(["“<b>Moved</b> to 0216”", 0]),
        "the announcement: {office}"
    );

    let mut amy = Student::register_on(server.addr, "amy", "cs101/lab").await?;
    amy.ask_for_help("help").await?;
    let took = browser
        .until("the join", &format!("return {waiting} === '1';"), PATIENCE)
        .await?;
    ensure!(
        took < Duration::from_secs(1),
        "the join showed after {took:?}"
    );
    let live = browser
        .run("return document.getElementById('link').textContent")
        .await?;
    ensure!(live == json!("● Live"), "the link: {live}");

    let errors: Vec<Value> = browser
        .log()
        .await?
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .collect();
    ensure!(errors.is_empty(), "the browser logged errors: {errors:?}");
    Ok(())
}
