//! The live dashboard in a real browser: a real nats-server, `golive serve --http 127.0.0.1:0`,
//! the London scenario sent through `golive collect`, then headless Debian Chromium driven by
//! chromedriver (WebDriver, through the `fantoccini` crate). The test reads the figures the page
//! shows and checks them against the JSON API's answers fetched in the same test (the claim
//! register, usage beside burden and the board's contradicted claims against `/v1/claims` and
//! `/v1/usage-burden`), publishes two more events (an extra cost; a harm that contradicts a claim
//! later) and waits for the page to update by itself, and saves a screenshot to
//! `target/dashboard.png`. A second test adds a simulated feed (`golive simulate`, fictional
//! trusts ZZ001 and ZZ002) to the London scenario and checks that the page never lets simulated
//! data pass for real: the banner names the API's count of synthetic events, the simulated trusts
//! and every figure with a synthetic share are marked and a trust without one is not, and
//! "Sourced only" shows the API's `exclude_synthetic=true` figures with nothing marked.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`scripts/test` installs them).
//! Without them the test fails and says so: a browser test that skips silently proves nothing.
//! `GOLIVE_CHROMIUM` and `GOLIVE_CHROMEDRIVER` override the binaries' paths.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::GOLIVE;
use fantoccini::{Client, ClientBuilder, Locator};
use golive_model::Pence;
use golive_testkit::golive::{scenario, scenario_len};
use golive_testkit::nats::NatsServer;
use golive_testkit::process::Proc;
use golive_testkit::{free_port, port_open, wait_until};
use serde_json::{Value, json};

/// How long the page may take to show an event after the ledger has appended it (it polls every
/// 2 s; the rest is room for a busy machine).
const LIVE_UPDATE_WITHIN: Duration = Duration::from_secs(60);

fn browser_binaries() -> (PathBuf, PathBuf) {
    let chromium =
        PathBuf::from(std::env::var("GOLIVE_CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    let driver = PathBuf::from(
        std::env::var("GOLIVE_CHROMEDRIVER").unwrap_or("/usr/bin/chromedriver".into()),
    );
    let missing: Vec<String> = [&chromium, &driver]
        .iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard browser test needs headless Chromium and ChromeDriver, but {} {} not \
         found. Install the Debian packages: `sudo apt-get install chromium chromium-driver` \
         (scripts/test installs them), or point GOLIVE_CHROMIUM / GOLIVE_CHROMEDRIVER at them.",
        missing.join(" and "),
        if missing.len() == 1 { "was" } else { "were" }
    );
    (chromium, driver)
}

/// A plain HTTP/1.0 GET on loopback (the server closes the connection after the body, so no
/// chunked decoding is needed). Returns the status, the header block (lower-cased) and the body.
fn http_get(addr: &str, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect to golive serve");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the HTTP response");
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn get_json(addr: &str, path: &str) -> Value {
    let (status, _, body) = http_get(addr, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
}

/// The `data` of a projection endpoint, checked to be at `seq`.
fn api_view(addr: &str, path: &str, seq: u64) -> Value {
    let v = get_json(addr, path);
    assert_eq!(
        v["as_of_seq"],
        json!(seq),
        "GET {path} answered at another seq"
    );
    v["data"].clone()
}

/// The `data` of GET `path` at `seq`, or None when the ledger does not answer it (an answer
/// added by another change may not be there yet; the page then shows "—" for it too).
fn api_view_opt(addr: &str, path: &str, seq: u64) -> Option<Value> {
    let (status, _, body) = http_get(addr, path);
    if status != 200 {
        return None;
    }
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["as_of_seq"],
        json!(seq),
        "GET {path} answered at another seq"
    );
    Some(v["data"].clone())
}

/// `path` (which may have a query already) at `seq`, and without synthetic events when
/// `sourced`: what the page asks when it shows sourced figures only.
fn at(path: &str, seq: u64, sourced: bool) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    let exclude = if sourced {
        "&exclude_synthetic=true"
    } else {
        ""
    };
    format!("{path}{sep}as_of_seq={seq}{exclude}")
}

/// What the page shows for a figure the API may not have yet: its pounds, or "—".
fn pounds_or_dash(pence: &Value) -> String {
    if pence.is_null() {
        "\u{2014}".to_owned()
    } else {
        pounds(pence)
    }
}

fn pounds(pence: &Value) -> String {
    Pence(pence.as_i64().expect("integer pence")).to_string()
}

/// `1234567` as `1,234,567`, as the page writes counts.
fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Publishes `file` through a collector with its own outbox (`outbox-NAME` in `dir`) and waits,
/// up to `within`, for it to exit once the ledger's receipts say every event is appended.
fn collect(file: &Path, dir: &Path, name: &str, url: &str, within: Duration) {
    let mut c = GOLIVE.spawn(
        &[
            "collect",
            file.to_str().unwrap(),
            "--data",
            dir.join(format!("outbox-{name}")).to_str().unwrap(),
            "--nats",
            url,
        ],
        &dir.join(format!("collect-{name}.log")),
    );
    c.wait_ok(within);
}

fn head_seq(addr: &str) -> u64 {
    get_json(addr, "/v1/head")["seq"]
        .as_u64()
        .expect("head seq")
}

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    _proc: Proc,
    port: u16,
}

impl Driver {
    fn start(bin: &Path, log: &Path) -> Self {
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--port={port}"));
        let proc = Proc::spawn(cmd, log);
        wait_until(Duration::from_secs(60), "chromedriver to listen", || {
            port_open(port)
        });
        Self { _proc: proc, port }
    }
}

async fn browser(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--window-size=1400,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session in headless Chromium")
}

/// The text of the element with `data-testid`.
async fn text(c: &Client, testid: &str) -> String {
    c.find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
        .await
        .unwrap_or_else(|e| panic!("no element data-testid={testid}: {e}"))
        .text()
        .await
        .unwrap()
        .trim()
        .to_owned()
}

async fn how_many(c: &Client, testid: &str) -> usize {
    c.find_all(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
        .await
        .unwrap()
        .len()
}

async fn attr(c: &Client, testid: &str, name: &str) -> Option<String> {
    c.find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
        .await
        .unwrap_or_else(|e| panic!("no element data-testid={testid}: {e}"))
        .attr(name)
        .await
        .unwrap()
}

async fn body_data(c: &Client, key: &str) -> String {
    c.execute(
        &format!("return document.body.dataset['{key}'] || ''"),
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Waits until the page shows ledger sequence `seq` (for `trust`, "" for all), by itself.
async fn wait_for_page(c: &Client, seq: u64, trust: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (s, t) = (body_data(c, "seq").await, body_data(c, "trust").await);
        if s == seq.to_string() && t == trust && body_data(c, "state").await == "ready" {
            return start.elapsed();
        }
        if start.elapsed() > within {
            let status = text(c, "as-of-seq").await;
            panic!(
                "the page did not show seq {seq} (trust `{trust}`) within {within:?}: it shows seq {s:?}, \
                 trust {t:?}, header seq {status:?}; page errors: {:?}",
                page_errors(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn page_errors(c: &Client) -> Value {
    c.execute(
        "return window.__dashboardErrors || ['dashboard.js did not run']",
        vec![],
    )
    .await
    .unwrap()
}

/// Every figure the test reads, against the API at `seq` (all trusts; without synthetic events
/// when `sourced`).
async fn assert_page_matches_api(c: &Client, addr: &str, seq: u64, sourced: bool) {
    let money = api_view(addr, &at("/v1/money", seq, sourced), seq);
    let lost = api_view(addr, &at("/v1/lost-patients", seq, sourced), seq);
    let warnings = api_view(addr, &at("/v1/warnings", seq, sourced), seq);
    let rollout = api_view(addr, &at("/v1/rollout", seq, sourced), seq);

    assert_eq!(text(c, "as-of-seq").await, grouped(seq));
    assert_eq!(
        text(c, "tile-open-lost").await,
        grouped(lost["total"]["open_count"].as_u64().unwrap()),
        "open lost patients"
    );
    assert_eq!(
        text(c, "tile-net-cost").await,
        pounds(&money["total"]["net_cost_pence"]),
        "total net cost"
    );
    assert_eq!(
        attr(c, "tile-net-cost", "data-pence").await.as_deref(),
        Some(money["total"]["net_cost_pence"].to_string().as_str())
    );
    assert_eq!(
        text(c, "tile-income-at-risk").await,
        pounds(&money["total"]["income_at_risk_pence"]),
        "income at risk"
    );
    assert_eq!(
        text(c, "tile-trusts-live").await,
        grouped(rollout["total"]["live_trusts"].as_u64().unwrap()),
        "trusts live"
    );
    let halt: Vec<&str> = warnings["total"]["halt_recommended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(text(c, "tile-halt-count").await, halt.len().to_string());
    assert_eq!(
        text(c, "tile-halt-list").await,
        if halt.is_empty() {
            "none".to_owned()
        } else {
            halt.join(", ")
        }
    );
    for (code, m) in money["trusts"].as_object().unwrap() {
        assert_eq!(
            text(c, &format!("net-cost-{code}")).await,
            pounds(&m["total"]["net_cost_pence"]),
            "net cost of {code}"
        );
        assert_eq!(
            text(c, &format!("income-at-risk-{code}")).await,
            pounds(&m["total"]["income_at_risk_pence"]),
            "income at risk of {code}"
        );
        assert_eq!(
            text(c, &format!("open-lost-{code}")).await,
            grouped(lost["trusts"][code]["open_count"].as_u64().unwrap()),
            "open lost patients of {code}"
        );
        let halted = warnings["trusts"][code]["halt_recommended"]
            .as_bool()
            .unwrap();
        let shown = text(c, &format!("warning-status-{code}")).await;
        if warnings["trusts"][code]["state"] == json!("unknown") {
            assert_eq!(
                shown, "UNKNOWN",
                "warnings board for {code}: silent or dark"
            );
        } else {
            assert_eq!(
                shown == "HALT RECOMMENDED",
                halted,
                "warnings board for {code} shows {shown:?}"
            );
        }
    }
    assert_meaning_matches_api(c, addr, (seq, sourced), &money).await;
    assert_eq!(page_errors(c).await, json!([]), "JavaScript errors");
}

/// Estimates, exposure, coverage and disputes: each compared with the API when the API has it,
/// and shown as "—" (or not at all) when it does not.
async fn assert_meaning_matches_api(
    c: &Client,
    addr: &str,
    (seq, sourced): (u64, bool),
    money: &Value,
) {
    let est = &money["total"]["by_status"]["estimated"]["net_cost_pence"];
    let shown = text(c, "tile-estimated").await;
    assert!(
        shown.contains(&pounds_or_dash(est)),
        "estimated beside the net cost: {shown:?}, API {est}"
    );
    assert_eq!(
        text(c, "tile-exposure").await,
        pounds_or_dash(&money["total"]["penalties_threatened_pence"]),
        "exposure: threatened penalties"
    );
    for (code, m) in money["trusts"].as_object().unwrap() {
        let est = &m["total"]["by_status"]["estimated"]["net_cost_pence"];
        let shown = text(c, &format!("estimated-{code}")).await;
        assert!(
            shown.contains(&pounds_or_dash(est)),
            "estimated of {code}: {shown:?}"
        );
    }
    let coverage = api_view_opt(addr, &at("/v1/coverage", seq, sourced), seq);
    if let Some(cov) = coverage.filter(|v| v.get("totals").is_some()) {
        let shown = text(c, "coverage-totals").await;
        for state in ["reporting", "silent", "dark"] {
            let want = format!(
                "{} {state}",
                grouped(cov["totals"][state].as_u64().unwrap())
            );
            assert!(
                shown.contains(&want),
                "coverage totals {shown:?} lack {want:?}"
            );
        }
        // A trust in two programmes has two badges; the first is its first programme's.
        let mut seen = std::collections::BTreeSet::new();
        for p in cov["programmes"].as_object().unwrap().values() {
            for (code, t) in p["trusts"].as_object().unwrap() {
                if seen.insert(code.clone()) {
                    let want = t["state"].as_str().unwrap();
                    assert_eq!(text(c, &format!("coverage-state-{code}")).await, want);
                }
            }
        }
    } else {
        assert_eq!(text(c, "coverage-totals").await, "\u{2014}");
    }
    let Some(evidence) = api_view_opt(addr, &at("/v1/evidence", seq, sourced), seq) else {
        return;
    };
    for code in money["trusts"].as_object().unwrap().keys() {
        for group in ["money", "lost"] {
            let disputed = evidence["trusts"][code][group]["disputed"] == json!(true);
            let badges = how_many(c, &format!("disputed-{code}-{group}")).await;
            assert_eq!(
                badges,
                usize::from(disputed),
                "disputed badge of {code} {group}"
            );
        }
    }
}

/// How many elements match the CSS selector `css`.
async fn how_many_css(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.unwrap().len()
}

/// The text of the element matching `css`.
async fn text_css(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
        .text()
        .await
        .unwrap()
        .trim()
        .to_owned()
}

/// Runs of white space as one space, as a browser lays text out.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `2009-06-01...` (a date or an RFC 3339 UTC time) as the page writes dates: `1 Jun 2009`.
fn date_text(t: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = (&t[0..4], &t[5..7], &t[8..10]);
    let m: usize = m.parse().expect("a month");
    let d: u32 = d.parse().expect("a day");
    format!("{d} {} {y}", MONTHS[m - 1])
}

/// The claim totals as the page writes them.
fn claims_totals_text(t: &Value) -> String {
    let n = |k: &str| grouped(t[k].as_u64().unwrap_or_else(|| panic!("totals.{k}")));
    let claims = t["claims"].as_u64().unwrap();
    format!(
        "{} {}; {} contradicted; {} contradicted later; {} unsupported (nothing either way); {} consistent",
        n("claims"),
        if claims == 1 { "claim" } else { "claims" },
        n("contradicted"),
        n("contradicted_later"),
        n("unsupported"),
        n("consistent"),
    )
}

/// The claims of `code` the evidence contradicts (at their date or later), as the warnings
/// board lists them: those whose `trusts` include it.
fn contradicted_claims_of<'a>(claims: &'a [Value], code: &str) -> Vec<&'a Value> {
    claims
        .iter()
        .filter(|c| {
            let v = c["verdict"].as_str().unwrap();
            (v == "contradicted" || v == "contradicted_later")
                && c["trusts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t.as_str() == Some(code))
        })
        .collect()
}

/// The claims section (register and usage-beside-burden charts) and the warnings board's
/// contradicted claims, against `/v1/claims` and `/v1/usage-burden` at `seq` (all trusts;
/// without synthetic events when `sourced`).
async fn assert_claims_match_api(c: &Client, addr: &str, seq: u64, sourced: bool) {
    let view = api_view(addr, &at("/v1/claims", seq, sourced), seq);
    let claims = view["claims"].as_array().expect("claims").clone();
    assert_eq!(
        view["totals"]["claims"].as_u64(),
        Some(claims.len() as u64),
        "the API's totals count its claims"
    );
    assert_eq!(
        text(c, "claims-totals").await,
        claims_totals_text(&view["totals"]),
        "claim totals"
    );
    assert_eq!(
        how_many_css(c, "tr[data-testid^=\"claim-row-\"]").await,
        claims.len(),
        "one register row per claim"
    );
    for claim in &claims {
        let id = claim["event_id"].as_str().unwrap();
        let verdict = claim["verdict"].as_str().unwrap();
        let row = format!("[data-testid=\"claim-row-{id}\"]");
        assert_eq!(
            text(c, &format!("claim-verdict-{id}")).await,
            verdict,
            "verdict of claim {id}"
        );
        assert_eq!(
            attr(c, &format!("claim-row-{id}"), "data-verdict")
                .await
                .as_deref(),
            Some(verdict),
            "row of claim {id}"
        );
        let shown = squash(&text_css(c, &row).await);
        for want in [
            claim["claimant"]["name"].as_str().unwrap().to_owned(),
            claim["claimant"]["type"]
                .as_str()
                .unwrap()
                .replace('_', " "),
            squash(claim["statement"].as_str().unwrap()),
            date_text(claim["claimed_on"].as_str().unwrap()),
        ] {
            assert!(
                shown.to_lowercase().contains(&want.to_lowercase()),
                "row of claim {id} lacks {want:?}: {shown:?}"
            );
        }
        if verdict == "unsupported" {
            assert!(
                shown.contains("unsupported: nothing either way"),
                "an unsupported claim reads as nothing either way: {shown:?}"
            );
        }
        if verdict == "contradicted_later" {
            let known = claim["contradicted_known_at"]
                .as_str()
                .expect("a contradicted_later claim says when it became known");
            let shown = text(c, &format!("claim-known-{id}")).await;
            assert!(
                shown.contains(&date_text(known)),
                "when claim {id} was known to be contradicted: {shown:?}, API {known}"
            );
        } else {
            assert_eq!(how_many(c, &format!("claim-known-{id}")).await, 0);
        }
        assert_eq!(
            how_many(c, &format!("claim-synthetic-{id}")).await,
            usize::from(claim["synthetic"] == json!(true)),
            "synthetic mark of claim {id}"
        );
        let findings = claim["decided_by"].as_array().unwrap();
        let cell = format!("[data-testid=\"claim-findings-{id}\"]");
        assert_eq!(
            how_many_css(c, &format!("{cell} li.finding")).await,
            findings.len(),
            "findings of claim {id}"
        );
        let shown = squash(&text(c, &format!("claim-findings-{id}")).await);
        let mut links = Vec::new();
        for f in findings {
            for want in [
                f["trust"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().replace('_', " "),
                squash(f["detail"].as_str().unwrap()),
            ] {
                assert!(
                    shown.contains(&want),
                    "findings of claim {id} lack {want:?}: {shown:?}"
                );
            }
            for src in f["sources"].as_array().unwrap() {
                let r = squash(src["ref"].as_str().unwrap());
                assert!(
                    shown.contains(&r),
                    "findings of claim {id} lack the source {r:?}: {shown:?}"
                );
                if let Some(url) = src["url"].as_str() {
                    links.push(url.to_owned());
                }
            }
        }
        let anchors = c
            .find_all(Locator::Css(&format!("{cell} a")))
            .await
            .unwrap();
        let mut hrefs = Vec::new();
        for a in &anchors {
            assert_eq!(
                a.attr("rel").await.unwrap().as_deref(),
                Some("noopener noreferrer"),
                "a source link of claim {id}"
            );
            hrefs.push(a.attr("href").await.unwrap().unwrap_or_default());
        }
        links.sort();
        hrefs.sort();
        assert_eq!(hrefs, links, "source links of claim {id}'s findings");
    }

    let ub = api_view(addr, &at("/v1/usage-burden", seq, sourced), seq);
    let trusts = ub["trusts"].as_object().expect("usage-burden trusts");
    assert_eq!(
        how_many_css(c, "figure[data-testid^=\"usage-burden-\"]").await,
        trusts.len(),
        "one usage-burden chart per trust the API lists"
    );
    for (code, t) in trusts {
        let months = t["months"].as_array().unwrap();
        let chart = format!("[data-testid=\"usage-burden-{code}\"]");
        assert_eq!(
            how_many_css(
                c,
                &format!("{chart} [data-testid^=\"usage-burden-month-\"]")
            )
            .await,
            months.len(),
            "months of {code}'s usage-burden chart"
        );
        if months.is_empty() {
            assert!(
                text(c, &format!("usage-burden-{code}"))
                    .await
                    .contains("No usage or burden reported"),
                "{code} has no months: said so, no empty chart"
            );
        }
        for m in months {
            let period = m["period"].as_str().unwrap();
            let id = format!("usage-burden-month-{code}-{period}");
            for (flag, key) in [
                ("data-struggle", "struggle_read_as_success"),
                ("data-synthetic", "synthetic"),
            ] {
                let want = m[key].as_bool().unwrap().to_string();
                assert_eq!(
                    attr(c, &id, flag).await.as_deref(),
                    Some(want.as_str()),
                    "{flag} of {code} {period}"
                );
            }
        }
        let struggle: Vec<&str> = t["struggle_months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(
            how_many_css(c, &format!("{chart} g[data-struggle=\"true\"]")).await,
            struggle.len(),
            "struggle months of {code}"
        );
        let labels = how_many_css(c, &format!("{chart} text.ub-struggle-label")).await;
        assert_eq!(labels, struggle.len(), "labelled struggle months of {code}");
        // A measure a month did not report is marked "not reported", never drawn as zero.
        let mut missing = 0;
        for group in ["usage", "burden"] {
            let keys: std::collections::BTreeSet<&String> = months
                .iter()
                .flat_map(|m| m[group].as_object().unwrap().keys())
                .collect();
            missing += months
                .iter()
                .map(|m| {
                    keys.iter()
                        .filter(|k| m[group].get(k.as_str()).is_none())
                        .count()
                })
                .sum::<usize>();
        }
        assert_eq!(
            how_many_css(c, &format!("{chart} text.ub-not-reported")).await,
            missing,
            "measures {code} did not report, marked so"
        );
        let synthetic = months
            .iter()
            .filter(|m| m["synthetic"] == json!(true))
            .count();
        let labels = how_many_css(c, &format!("{chart} text.ub-synthetic-label")).await;
        assert_eq!(labels, synthetic, "months of {code} labelled synthetic");
    }

    // The warnings board: each trust's contradicted claims, and none where it has none.
    let codes = get_json(addr, &at("/v1/trusts", seq, sourced))["data"].clone();
    for code in codes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
    {
        let want = contradicted_claims_of(&claims, code);
        let testid = format!("warning-claims-{code}");
        if want.is_empty() {
            assert_eq!(
                how_many(c, &testid).await,
                0,
                "warnings board: {code} has no contradicted claims"
            );
            continue;
        }
        let items = c
            .find_all(Locator::Css(&format!("[data-testid=\"{testid}\"] li")))
            .await
            .unwrap();
        let mut shown_ids = Vec::new();
        for li in &items {
            shown_ids.push(li.attr("data-event-id").await.unwrap().unwrap_or_default());
        }
        let mut want_ids: Vec<String> = want
            .iter()
            .map(|c| c["event_id"].as_str().unwrap().to_owned())
            .collect();
        shown_ids.sort();
        want_ids.sort();
        assert_eq!(
            shown_ids, want_ids,
            "warnings board: contradicted claims of {code}"
        );
        let shown = text(c, &testid).await;
        for claim in want {
            let date = date_text(claim["claimed_on"].as_str().unwrap());
            let words = claim["claim"].as_str().unwrap().replace('_', " ");
            let words = words.replace("go live", "go-live");
            assert!(
                shown.contains(&date) && shown.contains(&words),
                "warnings board of {code} lacks {words:?} of {date}: {shown:?}"
            );
        }
    }
    assert_eq!(page_errors(c).await, json!([]), "JavaScript errors");
}

/// The scenario the test feeds holds claims of every verdict the London figures give, and
/// usage months that are struggle and synthetic, so the claim checks are not checks of nothing.
fn assert_scenario_has_claims(addr: &str, seq: u64) {
    let claims = api_view(addr, &format!("/v1/claims?as_of_seq={seq}"), seq);
    let t = &claims["totals"];
    assert_eq!(t["claims"], json!(5), "the London scenario's claims: {t}");
    assert_eq!(t["contradicted"], json!(3), "{t}");
    assert_eq!(t["unsupported"], json!(2), "{t}");
    let ub = api_view(addr, &format!("/v1/usage-burden?as_of_seq={seq}"), seq);
    let months: Vec<&Value> = ub["trusts"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|t| t["months"].as_array().unwrap())
        .collect();
    assert!(
        months
            .iter()
            .any(|m| m["struggle_read_as_success"] == json!(true)),
        "a struggle month in the scenario"
    );
    assert!(
        months.iter().any(|m| m["synthetic"] == json!(true)),
        "a synthetic month in the scenario"
    );
    assert!(
        months.iter().any(
            |m| m["synthetic"] == json!(false) || m["struggle_read_as_success"] == json!(false)
        ),
        "a month that is not both"
    );
}

/// Clicking a trust's net cost shows the sources `/v1/evidence` lists for its money figures.
async fn assert_sources_panel(c: &Client, addr: &str, seq: u64) {
    let evidence = api_view(addr, &format!("/v1/evidence?as_of_seq={seq}"), seq);
    let money = api_view(addr, &format!("/v1/money?as_of_seq={seq}"), seq);
    let (code, sources) = evidence["trusts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(code, t)| (code, t["money"]["sources"].as_array().unwrap()))
        .find(|(code, s)| {
            !s.is_empty() && money["trusts"][code]["total"]["net_cost_pence"] != json!(0)
        })
        .expect("a trust with money sources and a net cost");
    let figure = c
        .find(Locator::Css(&format!("[data-testid=\"net-cost-{code}\"]")))
        .await
        .unwrap();
    let title = figure.attr("title").await.unwrap().unwrap_or_default();
    let first = sources[0]["ref"].as_str().unwrap();
    assert!(title.contains(first), "hover of net-cost-{code}: {title:?}");
    figure.click().await.unwrap();
    let shown = text(c, "sources-panel").await;
    for s in sources {
        let r = s["ref"].as_str().unwrap();
        let words: String = r.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            shown.contains(&words),
            "sources panel of {code} lacks {r:?}: {shown:?}"
        );
    }
    assert_money_events_listed(c, addr, seq, code, &figure).await;
    c.find(Locator::Css("[data-testid=\"sources-close\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The panel of a clicked net cost lists the events behind it, as `?evidence=true` gives them
/// at the page's seq: the same events in the same order, each with its part, adding up to the
/// figure shown, and each event's sources.
async fn assert_money_events_listed(
    c: &Client,
    addr: &str,
    seq: u64,
    code: &str,
    figure: &fantoccini::elements::Element,
) {
    let start = Instant::now();
    while attr(c, "evidence-events", "data-state").await.as_deref() != Some("ready") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the events of {code}'s net cost were not listed: {:?}; page errors {:?}",
            attr(c, "evidence-events", "data-state").await,
            page_errors(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = get_json(
        addr,
        &format!("/v1/money?trust={code}&as_of_seq={seq}&evidence=true&evidence_limit=50"),
    );
    let line = v["evidence"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["line"] == json!({"trust": code, "measure": "net_cost"}))
        .expect("a net-cost line")
        .clone();
    let items = c
        .find_all(Locator::Css("[data-testid=\"evidence-event\"]"))
        .await
        .unwrap();
    let mut listed = Vec::new();
    for item in &items {
        let id = item.attr("data-event-id").await.unwrap().unwrap();
        let part: i64 = item
            .attr("data-part-pence")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        listed.push((id, part));
    }
    let want: Vec<(String, i64)> = line["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event_id"].as_str().unwrap().to_owned(),
                e["part_pence"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(!want.is_empty(), "{code}'s net cost is made of events");
    assert_eq!(listed, want, "events listed for {code}'s net cost");
    let shown: i64 = figure
        .attr("data-pence")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        listed.iter().map(|(_, p)| p).sum::<i64>(),
        shown,
        "the parts add up to the figure"
    );
    let panel = text(c, "evidence-events").await;
    for e in line["events"].as_array().unwrap() {
        let r = e["sources"][0]["ref"].as_str().unwrap();
        let words: String = r.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            panel.contains(&words),
            "the events panel lacks source {r:?}: {panel:?}"
        );
    }
}

/// A ledger (`golive serve --http` on a fresh nats-server) holding the London scenario, sent
/// through `golive collect` and NATS: where each browser test starts. Returns the nats-server,
/// the ledger, its HTTP address, the NATS URL and the ledger's head.
fn ledger_with_london(dir: &Path) -> (NatsServer, Proc, String, String, u64) {
    let nats = NatsServer::start();
    let data = dir.join("ledger");
    let url = nats.url();
    let (serve, base) = GOLIVE.serve_http(
        &["--data", data.to_str().unwrap(), "--nats", &url],
        &dir.join("serve.log"),
    );
    let addr = base.trim_start_matches("http://").to_owned();
    let events = scenario_len();
    collect(&scenario(), dir, "london", &url, Duration::from_secs(120));
    wait_until(
        Duration::from_secs(60),
        "the scenario in the ledger",
        || head_seq(&addr) == events,
    );
    (nats, serve, addr, url, events)
}

#[test]
fn dashboard_shows_the_apis_figures_and_updates_live() {
    let (chromium, chromedriver) = browser_binaries();
    let dir = tempfile::tempdir().unwrap();
    let (_nats, mut serve, addr, url, events) = ledger_with_london(dir.path());

    // The page and its assets, with their content types; the series endpoint's errors.
    for (path, ctype) in [
        ("/", "content-type: text/html"),
        ("/assets/dashboard.js", "content-type: text/javascript"),
        ("/assets/dashboard.css", "content-type: text/css"),
        ("/v1/series", "content-type: application/json"),
    ] {
        let (status, head, _) = http_get(&addr, path);
        assert_eq!(status, 200, "GET {path}");
        assert!(head.contains(ctype), "GET {path}: {head}");
    }
    for (path, want) in [
        ("/v1/series?trust=ral", 400),
        ("/v1/series?colour=red", 400),
        ("/v1/series?trust=ZZZ9", 404),
    ] {
        let (status, head, body) = http_get(&addr, path);
        assert_eq!(status, want, "GET {path}: {body}");
        assert!(head.contains("application/json"), "GET {path}: {head}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["status"], json!(want), "{body}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    let driver = Driver::start(&chromedriver, &dir.path().join("chromedriver.log"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let screenshot = GOLIVE
        .path()
        .parent()
        .and_then(Path::parent)
        .expect("the golive binary lives in target/<profile>/")
        .join("dashboard.png");
    let outcome = rt.block_on(async {
        let c = browser(&driver, &chromium, &dir.path().join("chromium-profile")).await;
        let result = async {
            c.goto(&format!("http://{addr}/")).await.unwrap();
            wait_for_page(&c, events, "", Duration::from_secs(60)).await;
            assert_page_matches_api(&c, &addr, events, false).await;
            assert_sources_panel(&c, &addr, events).await;
            assert_scenario_has_claims(&addr, events);
            assert_claims_match_api(&c, &addr, events, false).await;
            assert_recovery_matches_api(&c, &addr, events).await;

            // One trust picked: the tiles are that trust's.
            c.find(Locator::Css("[data-testid=\"trust-picker\"]"))
                .await
                .unwrap()
                .select_by_value("RAL")
                .await
                .unwrap();
            wait_for_page(&c, events, "RAL", Duration::from_secs(60)).await;
            let ral_money = api_view(&addr, "/v1/money?trust=RAL", events);
            assert_eq!(
                text(&c, "tile-net-cost").await,
                pounds(&ral_money["total"]["net_cost_pence"])
            );
            let ral_warn = api_view(&addr, "/v1/warnings?trust=RAL", events);
            assert_eq!(
                text(&c, "tile-halt-count").await,
                ral_warn["total"]["halt_recommended"]
                    .as_array()
                    .unwrap()
                    .len()
                    .to_string()
            );
            c.find(Locator::Css("[data-testid=\"trust-picker\"]"))
                .await
                .unwrap()
                .select_by_value("")
                .await
                .unwrap();
            wait_for_page(&c, events, "", Duration::from_secs(60)).await;

            // A new extra cost for RAL arrives through NATS; the page follows by itself.
            let before = api_view(&addr, "/v1/money?trust=RAL", events)["total"]["net_cost_pence"]
                .as_i64()
                .unwrap();
            let amount: i64 = 12_345_678; // £123,456.78
            let live_file = dir.path().join("live.jsonl");
            std::fs::write(
                &live_file,
                json!({
                    "event_id": uuid::Uuid::new_v4().to_string(),
                    "trust": "RAL",
                    "collector": "ral-dashboard-test",
                    "collector_seq": 1,
                    "occurred_at": "2009-10-26T09:00:00Z",
                    "recorded_at": "2009-10-26T12:00:00Z",
                    "schema": 1,
                    "kind": "extra_cost",
                    "data": {
                        "category": "temporary_staff",
                        "amount_pence": amount,
                        "description": "More temporary staff (browser test)"
                    }
                })
                .to_string()
                    + "\n",
            )
            .unwrap();
            collect(
                &live_file,
                dir.path(),
                "live",
                &url,
                Duration::from_secs(60),
            );
            // The collector exits once the ledger's receipt says the event is appended.
            assert_eq!(head_seq(&addr), events + 1);
            let took = wait_for_page(&c, events + 1, "", LIVE_UPDATE_WITHIN).await;
            eprintln!("the page showed the new event {took:?} after it was appended");
            // Pushed by /v1/stream, not found by polling.
            assert_eq!(
                body_data(&c, "push").await,
                "on",
                "the page follows /v1/stream"
            );
            let after =
                api_view(&addr, "/v1/money?trust=RAL", events + 1)["total"]["net_cost_pence"]
                    .as_i64()
                    .unwrap();
            assert_eq!(after, before + amount);
            assert_eq!(
                text(&c, "net-cost-RAL").await,
                Pence(after).to_string(),
                "RAL's net cost after the live update"
            );
            assert_page_matches_api(&c, &addr, events + 1, false).await;
            assert_claims_match_api(&c, &addr, events + 1, false).await;

            // A harm found after Barts' claim of no clinical harm of 28 Apr 2009, made public
            // later: the claim, unsupported at its date, becomes contradicted later, on the
            // register and on the warnings board, by itself. With it, a simulated claim, which
            // the register marks synthetic.
            let claim = "e2cc1c25-7e9a-5782-a4b5-f2241bc38fe8";
            let verdict_of = |seq: u64| {
                let v = api_view(&addr, &format!("/v1/claims?as_of_seq={seq}"), seq);
                v["claims"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["event_id"] == json!(claim))
                    .unwrap_or_else(|| panic!("claim {claim} in the register"))["verdict"]
                    .clone()
            };
            assert_eq!(verdict_of(events + 1), json!("unsupported"));
            assert_eq!(
                text(&c, &format!("claim-verdict-{claim}")).await,
                "unsupported"
            );
            assert_eq!(how_many(&c, "warning-claims-RNJ").await, 0);
            let harm_file = dir.path().join("harm.jsonl");
            let synthetic_claim = uuid::Uuid::new_v4().to_string();
            std::fs::write(
                &harm_file,
                json!({
                    "event_id": uuid::Uuid::new_v4().to_string(),
                    "trust": "RNJ",
                    "collector": "rnj-dashboard-test",
                    "collector_seq": 1,
                    "occurred_at": "2009-05-11T10:00:00Z",
                    "recorded_at": "2009-06-01T12:00:00Z",
                    "schema": 2,
                    "kind": "safety_incident",
                    "data": {
                        "local_ref": "RNJ-BROWSER-TEST-1",
                        "harm": "moderate",
                        "serious_incident": false,
                        "state": "open",
                        "description": "Clinic letter lost after the migration (browser test)"
                    },
                    "sources": [{"type": "press", "ref": "Browser test press report, 1 Jun 2009"}],
                    "status": "reported"
                })
                .to_string()
                    + "\n"
                    + &json!({
                        "event_id": synthetic_claim,
                        "trust": "RAL",
                        "collector": "ral-dashboard-test-claims",
                        "collector_seq": 1,
                        "occurred_at": "2009-03-02T00:00:00Z",
                        "recorded_at": "2009-03-02T12:00:00Z",
                        "schema": 2,
                        "kind": "assurance_claim",
                        "data": {
                            "claimant": {"type": "supplier", "name": "A simulated supplier"},
                            "claim": "adoption_high",
                            "statement": "Clinicians <b>love</b> the new system & use it daily.",
                            "scope": "trust"
                        },
                        "sources": [{"type": "synthetic", "ref": "SYNTHETIC: browser test"}],
                        "status": "reported"
                    })
                    .to_string()
                    + "\n",
            )
            .unwrap();
            collect(
                &harm_file,
                dir.path(),
                "harm",
                &url,
                Duration::from_secs(60),
            );
            let last = events + 3;
            assert_eq!(head_seq(&addr), last);
            assert_eq!(
                verdict_of(last),
                json!("contradicted_later"),
                "the harm found later contradicts the claim"
            );
            wait_for_page(&c, last, "", LIVE_UPDATE_WITHIN).await;
            assert_eq!(
                text(&c, &format!("claim-verdict-{claim}")).await,
                "contradicted_later"
            );
            assert!(
                text(&c, &format!("claim-known-{claim}"))
                    .await
                    .contains("1 Jun 2009"),
                "when the contradiction became known"
            );
            assert_eq!(how_many(&c, "warning-claims-RNJ").await, 1);
            // The simulated claim: marked synthetic, its words shown as text, not as markup.
            assert_eq!(
                how_many(&c, &format!("claim-synthetic-{synthetic_claim}")).await,
                1
            );
            let row = text(&c, &format!("claim-row-{synthetic_claim}")).await;
            assert!(
                row.contains("Clinicians <b>love</b> the new system & use it daily."),
                "the claim's words as text: {row:?}"
            );
            assert_page_matches_api(&c, &addr, last, false).await;
            assert_claims_match_api(&c, &addr, last, false).await;

            // The whole page as an artifact (without the picker's focus ring).
            c.execute(
                "document.activeElement && document.activeElement.blur()",
                vec![],
            )
            .await
            .unwrap();
            let height = c
                .execute("return document.documentElement.scrollHeight", vec![])
                .await
                .unwrap()
                .as_u64()
                .unwrap_or(3000);
            c.set_window_size(1400, u32::try_from(height.min(8000)).unwrap() + 20)
                .await
                .unwrap();
            // Lets the page lay out at its new size: the screenshot is an artifact for people,
            // and nothing is asserted about what it shows.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let png = c.screenshot().await.unwrap();
            assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
            std::fs::write(&screenshot, png).unwrap();
            eprintln!("screenshot saved to {}", screenshot.display());
        };
        // Run the checks, then always end the browser session before reporting.
        let r = futures_catch(result).await;
        let _ = c.close().await;
        r
    });
    finish(outcome, &mut serve);
}

/// Whether the share tree `share` holds a share of the figure at `path`: the path is in it, or
/// an object on the way is `{"sourced_only": ...}` (it differs as a whole).
fn has_share(share: &Value, path: &[&str]) -> bool {
    let mut v = share;
    for k in path {
        if let Some(m) = v.as_object()
            && m.len() == 1
            && m.contains_key("sourced_only")
        {
            return true;
        }
        match v.get(k) {
            Some(next) => v = next,
            None => return false,
        }
    }
    !v.is_null()
}

/// The answers the page reads beside `/v1/series`, and the views the series is made of.
const SHARE_VIEWS: &[&str] = &[
    "/v1/money",
    "/v1/coverage",
    "/v1/warnings",
    "/v1/evidence",
    "/v1/claims",
    "/v1/usage-burden",
    "/v1/lost-patients",
    "/v1/rollout",
    "/v1/deferred-features",
    // What the page reads of the recovery view (the aligned answer holds the calendar months).
    "/v1/recovery?align=go_live",
];

/// Every trust some answer of the API at `seq` gives a synthetic share, and those
/// `/v1/series` marks.
fn trusts_with_synthetic_share(addr: &str, seq: u64, series: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for path in SHARE_VIEWS {
        let v = api_view(addr, &at(path, seq, false), seq);
        out.extend(golive_projections::marked_trusts(&v["synthetic"]["share"]));
    }
    let marked = series["synthetic"]["trusts"]
        .as_object()
        .expect("series trusts");
    out.extend(marked.keys().cloned());
    out
}

/// The trusts of the ledger at `seq` (only those of non-synthetic events when `sourced`).
fn trusts_at(addr: &str, seq: u64, sourced: bool) -> Vec<String> {
    api_view(addr, &at("/v1/trusts", seq, sourced), seq)
        .as_array()
        .expect("a list of trusts")
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// `/v1/series` with and without the synthetic events, and its parameter checked strictly.
fn assert_series_synthetic(addr: &str, seq: u64, zz: &[String]) -> Value {
    let series = get_json(addr, "/v1/series");
    assert_eq!(series["as_of_seq"], json!(seq));
    let money = api_view(addr, &at("/v1/money", seq, false), seq);
    let sy = &series["synthetic"];
    assert_eq!(sy["excluded"], json!(false));
    assert_eq!(sy["affected"], json!(true));
    assert_eq!(
        sy["events"], money["synthetic"]["events"],
        "synthetic events"
    );
    for code in zz {
        assert_eq!(sy["trusts"][code], json!("wholly"), "{code}: {sy}");
        assert_eq!(series["trusts"][code]["synthetic"], json!(true), "{code}");
        assert_eq!(sy["share"]["trusts"][code], json!({"sourced_only": null}));
    }
    let sourced = get_json(addr, "/v1/series?exclude_synthetic=true");
    let sx = &sourced["synthetic"];
    assert_eq!(sx["excluded"], json!(true));
    assert_eq!(sx["affected"], json!(false));
    assert_eq!(sx["events"], sy["events"]);
    assert_eq!((&sx["trusts"], &sx["share"]), (&json!({}), &json!({})));
    assert_eq!(sourced["all_trusts"], json!(trusts_at(addr, seq, true)));
    let sourced_money = api_view(addr, &at("/v1/money", seq, true), seq);
    assert_eq!(
        sourced["headline"]["net_cost_pence"],
        sourced_money["total"]["net_cost_pence"]
    );
    assert!(
        sourced["trusts"]
            .as_object()
            .unwrap()
            .values()
            .all(|t| t["synthetic"] == json!(false))
    );
    let zz001 = format!("/v1/series?exclude_synthetic=true&trust={}", zz[0]);
    for (path, want) in [
        ("/v1/series?exclude_synthetic=yes", 400),
        ("/v1/series?exclude_synthetic=", 400),
        (
            "/v1/series?exclude_synthetic=true&exclude_synthetic=true",
            400,
        ),
        (zz001.as_str(), 404),
    ] {
        let (status, _, body) = http_get(addr, path);
        assert_eq!(status, want, "GET {path}: {body}");
    }
    series
}

/// How many trust marks (`synthetic-mark`) of `code` the page shows inside the elements `within`
/// matches (a CSS selector; "" for the whole page).
async fn marks_of(c: &Client, within: &str, code: &str) -> usize {
    let css = format!("{within} [data-testid=\"synthetic-mark\"][data-trust=\"{code}\"]");
    how_many_css(c, css.trim_start()).await
}

/// Whether the figure with `testid` is marked as having a synthetic share.
async fn share_marked(c: &Client, testid: &str) -> bool {
    attr(c, testid, "data-synthetic-share").await.as_deref() == Some("true")
}

/// The text of the picker's option for `code`.
async fn picker_option(c: &Client, code: &str) -> String {
    text_css(
        c,
        &format!("[data-testid=\"trust-picker\"] option[value=\"{code}\"]"),
    )
    .await
}

/// Waits until the page shows seq `seq` for all trusts, with sourced figures only or not.
async fn wait_for_sourced(c: &Client, seq: u64, sourced: bool, within: Duration) {
    let start = Instant::now();
    loop {
        if body_data(c, "sourced").await == sourced.to_string() {
            let left = within.saturating_sub(start.elapsed());
            wait_for_page(c, seq, "", left).await;
            if body_data(c, "sourced").await == sourced.to_string() {
                return;
            }
        }
        assert!(
            start.elapsed() <= within,
            "the page did not show sourced={sourced} within {within:?}; page errors: {:?}",
            page_errors(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The recovery chart's plotted points, as `trust pod x pct carried` (x: the month, or weeks
/// since go-live when aligned), sorted.
async fn recovery_points(c: &Client) -> Vec<String> {
    let v = c
        .execute(
            "return [...document.querySelectorAll('[data-testid=\"recovery-point\"]')].map((e) => \
             [e.dataset.trust, e.dataset.pod, e.dataset.x, e.dataset.pct, e.dataset.carried].join(' '))",
            vec![],
        )
        .await
        .unwrap();
    let mut out: Vec<String> = serde_json::from_value(v).unwrap();
    out.sort();
    out
}

/// What the recovery chart must plot from the API's answer: every month with a percentage, or
/// with `aligned`, every point on weeks since go-live.
fn recovery_expected(view: &Value, aligned: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (code, t) in view["trusts"].as_object().unwrap() {
        for (pod, p) in t["points_of_delivery"].as_object().unwrap() {
            let series = if aligned { &p["aligned"] } else { &p["months"] };
            for m in series.as_array().into_iter().flatten() {
                let Some(pct) = m["pct_of_baseline"].as_f64() else {
                    continue;
                };
                let x = if aligned {
                    m["weeks_since_go_live"].to_string()
                } else {
                    m["period"].as_str().unwrap().to_owned()
                };
                out.push(format!("{code} {pod} {x} {pct} {}", m["carried"]));
            }
        }
    }
    out.sort();
    out
}

/// The recovery chart plots what `/v1/recovery` answers, on the calendar and, with "line the
/// trusts up on their go-live day" ticked, what `/v1/recovery?align=go_live` answers: every
/// trust on weeks since its own go-live. RAL's dark month is drawn as carried, never as zero.
async fn assert_recovery_matches_api(c: &Client, addr: &str, seq: u64) {
    let calendar = api_view(addr, &at("/v1/recovery", seq, false), seq);
    let want = recovery_expected(&calendar, false);
    assert!(
        want.iter()
            .any(|p| p.starts_with("RAL ") && p.ends_with(" true")),
        "the scenario has a dark month for RAL: {want:?}"
    );
    assert_eq!(
        recovery_points(c).await,
        want,
        "the calendar recovery chart"
    );
    let carried: Vec<String> = want
        .iter()
        .filter(|p| p.ends_with(" true"))
        .cloned()
        .collect();
    assert!(carried.iter().all(|p| !p.contains(" 0 ")), "{carried:?}");
    let aligned = api_view(addr, &at("/v1/recovery?align=go_live", seq, false), seq);
    let want = recovery_expected(&aligned, true);
    let trusts: BTreeSet<&str> = want.iter().map(|p| &p[..3]).collect();
    assert!(
        trusts.len() >= 4,
        "every trust on its own day 0: {trusts:?}"
    );
    click(c, "align").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = recovery_points(c).await;
        if got == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the aligned recovery chart plots {got:?}, the API answers {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let caption = text(c, "caption-recovery").await;
    assert!(
        caption.contains("since each trust's own go-live"),
        "{caption}"
    );
    click(c, "align").await;
}

async fn click(c: &Client, testid: &str) {
    c.find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// With the simulated feed in the ledger: the banner names the synthetic events, the simulated
/// trusts and every figure with a synthetic share are marked, a trust without one is not.
async fn assert_synthetic_marked(c: &Client, addr: &str, seq: u64, zz: &[String], series: &Value) {
    let events = series["synthetic"]["events"].as_u64().unwrap();
    let banner = c
        .find(Locator::Css("[data-testid=\"synthetic-banner\"]"))
        .await
        .unwrap();
    assert!(banner.is_displayed().await.unwrap(), "the banner is shown");
    assert_eq!(
        attr(c, "synthetic-banner", "data-mode").await.as_deref(),
        Some("synthetic")
    );
    let said = squash(&text(c, "synthetic-banner").await);
    for want in [
        "Some figures on this page come from simulated (synthetic) events",
        &format!("{} synthetic (simulated) events", grouped(events)),
        "not reported facts",
    ] {
        assert!(said.contains(want), "the banner lacks {want:?}: {said:?}");
    }
    assert_eq!(text(c, "synthetic-events").await, grouped(events));
    for code in zz {
        for within in ["[data-testid=\"trust-table\"]", "#warnings-board"] {
            assert_eq!(marks_of(c, within, code).await, 1, "{code} in {within}");
        }
        if how_many_css(c, &format!("#legend [data-trust=\"{code}\"]")).await > 0 {
            assert_eq!(
                marks_of(c, "#legend", code).await,
                1,
                "{code} in the legend"
            );
        }
        let mark = text_css(
            c,
            &format!("[data-testid=\"trust-table\"] [data-testid=\"synthetic-mark\"][data-trust=\"{code}\"]"),
        )
        .await;
        assert_eq!(mark, "SIMULATED", "{code}'s mark");
        assert!(
            picker_option(c, code).await.contains("SIMULATED"),
            "{code} in the picker"
        );
    }
    let legend_zz = zz.iter().map(|z| format!("#legend [data-trust=\"{z}\"]"));
    let mut in_legend = 0;
    for css in legend_zz {
        in_legend += how_many_css(c, &css).await;
    }
    assert!(in_legend > 0, "a simulated trust in the charts' legend");
    // A London trust no answer gives a synthetic share is not marked anywhere.
    let shared = trusts_with_synthetic_share(addr, seq, series);
    let clean: Vec<String> = trusts_at(addr, seq, false)
        .into_iter()
        .filter(|t| !shared.contains(t))
        .collect();
    assert!(
        !clean.is_empty(),
        "a London trust without a synthetic share: {shared:?}"
    );
    for code in &clean {
        assert_eq!(marks_of(c, "", code).await, 0, "{code} is marked");
        assert_eq!(picker_option(c, code).await, *code);
    }
    for code in series["synthetic"]["trusts"].as_object().unwrap().keys() {
        let table = "[data-testid=\"trust-table\"]";
        assert_eq!(marks_of(c, table, code).await, 1, "{code} in the table");
    }
    assert_figures_marked(c, series).await;
    let warnings = api_view(addr, &at("/v1/warnings", seq, false), seq);
    for (code, t) in warnings["trusts"].as_object().unwrap() {
        let only = t["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["synthetic_only"] == json!(true))
            .count();
        let css = format!("[data-testid=\"synthetic-only\"][data-trust=\"{code}\"]");
        assert_eq!(
            how_many_css(c, &css).await,
            only,
            "{code}'s synthetic-only warnings"
        );
    }
}

/// Each figure of the tiles and the trust table is marked exactly when the series' share tree
/// holds a share of it.
async fn assert_figures_marked(c: &Client, series: &Value) {
    let share = &series["synthetic"]["share"];
    for (testid, key) in [
        ("tile-net-cost", "net_cost_pence"),
        ("tile-open-lost", "open_lost_patients"),
        ("tile-income-at-risk", "income_at_risk_pence"),
        ("tile-trusts-live", "trusts_live"),
    ] {
        assert_eq!(
            share_marked(c, testid).await,
            has_share(share, &["headline", key]),
            "{testid}"
        );
    }
    assert!(share_marked(c, "tile-net-cost").await, "simulated costs");
    for code in series["trusts"].as_object().unwrap().keys() {
        for (prefix, key) in [
            ("net-cost-", "net_cost_pence"),
            ("open-lost-", "open_lost_patients"),
            ("income-at-risk-", "income_at_risk_pence"),
        ] {
            assert_eq!(
                share_marked(c, &format!("{prefix}{code}")).await,
                has_share(share, &["trusts", code, key]),
                "{prefix}{code}"
            );
        }
    }
}

/// After "Sourced only": the figures are the API's without synthetic events, nothing is marked
/// and no simulated trust is listed.
async fn assert_sourced_only(c: &Client, addr: &str, seq: u64, events: u64) {
    assert_eq!(
        attr(c, "synthetic-banner", "data-mode").await.as_deref(),
        Some("sourced")
    );
    let said = squash(&text(c, "synthetic-banner").await);
    for want in [
        "Sourced figures only".to_owned(),
        format!(
            "leaves out the ledger's {} synthetic (simulated) events",
            grouped(events)
        ),
    ] {
        assert!(said.contains(&want), "the banner lacks {want:?}: {said:?}");
    }
    let hash = c.execute("return location.hash", vec![]).await.unwrap();
    assert!(
        hash.as_str().is_some_and(|h| h.contains("sourced=1")),
        "the control in the address: {hash}"
    );
    for css in [
        "[data-testid=\"synthetic-mark\"]",
        "[data-testid=\"synthetic-only\"]",
        ".synthetic-share",
        "[data-trust^=\"Z\"]",
        "[data-testid=\"trust-picker\"] option[value^=\"Z\"]",
        "[data-testid^=\"net-cost-Z\"]",
    ] {
        assert_eq!(
            how_many_css(c, css).await,
            0,
            "{css} with sourced figures only"
        );
    }
    assert_page_matches_api(c, addr, seq, true).await;
    assert_claims_match_api(c, addr, seq, true).await;
    let series = get_json(addr, "/v1/series?exclude_synthetic=true");
    assert_eq!(
        attr(c, "tile-net-cost", "data-pence").await.as_deref(),
        Some(series["headline"]["net_cost_pence"].to_string().as_str())
    );
}

#[test]
fn dashboard_marks_simulated_data_and_shows_sourced_figures_only() {
    let (chromium, chromedriver) = browser_binaries();
    let dir = tempfile::tempdir().unwrap();
    let (_nats, mut serve, addr, url, london) = ledger_with_london(dir.path());
    // A simulated live feed beside the sourced history: two fictional trusts, 200 events.
    let sim = dir.path().join("simulated");
    std::fs::create_dir(&sim).unwrap();
    let feed = GOLIVE.simulated(&sim, 7, 2, 200);
    collect(&feed.all, dir.path(), "sim", &url, Duration::from_secs(120));
    let seq = london + 200;
    assert_eq!(head_seq(&addr), seq);
    let zz: Vec<String> = trusts_at(&addr, seq, false)
        .into_iter()
        .filter(|t| t.starts_with('Z'))
        .collect();
    assert_eq!(zz, ["ZZ001", "ZZ002"], "the simulated trusts");
    let series = assert_series_synthetic(&addr, seq, &zz);
    let events = series["synthetic"]["events"].as_u64().unwrap();

    let driver = Driver::start(&chromedriver, &dir.path().join("chromedriver.log"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = rt.block_on(async {
        let c = browser(&driver, &chromium, &dir.path().join("chromium-profile")).await;
        let result = async {
            c.goto(&format!("http://{addr}/")).await.unwrap();
            wait_for_page(&c, seq, "", Duration::from_secs(60)).await;
            assert_page_matches_api(&c, &addr, seq, false).await;
            assert_synthetic_marked(&c, &addr, seq, &zz, &series).await;

            click(&c, "sourced-only").await;
            wait_for_sourced(&c, seq, true, Duration::from_secs(60)).await;
            assert_sourced_only(&c, &addr, seq, events).await;

            // Back to every event: marked again.
            click(&c, "sourced-only").await;
            wait_for_sourced(&c, seq, false, Duration::from_secs(60)).await;
            assert_eq!(
                marks_of(&c, "[data-testid=\"trust-table\"]", &zz[0]).await,
                1
            );
            assert_eq!(
                attr(&c, "synthetic-banner", "data-mode").await.as_deref(),
                Some("synthetic")
            );
            // The control is kept in the address: opening it there shows sourced figures.
            c.goto(&format!("http://{addr}/#sourced=1")).await.unwrap();
            wait_for_sourced(&c, seq, true, Duration::from_secs(60)).await;
            let checked = c
                .find(Locator::Css("[data-testid=\"sourced-only\"]"))
                .await
                .unwrap()
                .prop("checked")
                .await
                .unwrap();
            assert_eq!(checked.as_deref(), Some("true"), "the box is ticked");
            assert_sourced_only(&c, &addr, seq, events).await;
            assert_eq!(page_errors(&c).await, json!([]), "JavaScript errors");
        };
        let r = futures_catch(result).await;
        let _ = c.close().await;
        r
    });
    finish(outcome, &mut serve);
}

/// Ends a browser test: a failure is reported with the ledger's log; then the ledger must stop
/// cleanly.
fn finish(outcome: Result<(), Box<dyn std::any::Any + Send>>, serve: &mut Proc) {
    if let Err(panic) = outcome {
        eprintln!("serve log:\n{}", serve.log_text());
        std::panic::resume_unwind(panic);
    }
    assert_eq!(serve.term(), Some(0), "{}", serve.log_text());
}

/// Runs `f` and returns its panic instead of unwinding through the caller, so the browser
/// session can be closed first.
async fn futures_catch<F: std::future::Future<Output = ()>>(
    f: F,
) -> Result<(), Box<dyn std::any::Any + Send>> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(f).catch_unwind().await
}
