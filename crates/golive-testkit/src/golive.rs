//! The `golive` binary under test: one way to build its command line with the environment
//! scrubbed, and the runs the tests make of it (a command to completion, `serve`, `collect`,
//! `simulate`, `status`, `audit export`, `dead-letters`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::Proc;

/// How long `golive serve` may take to start consuming, on a busy machine.
const SERVE_START_TIMEOUT: Duration = Duration::from_secs(60);

/// The root of the repository (for scenarios/, deploy/, tests/fixtures/).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped London 2008 scenario.
pub fn scenario() -> PathBuf {
    repo_root().join("scenarios/london-2008.jsonl")
}

/// The number of events in the shipped scenario (one per line), so that no test pins it.
pub fn scenario_len() -> u64 {
    std::fs::read_to_string(scenario())
        .expect("the scenario is readable")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64
}

/// The `golive` binary a test runs. Only the `golive` package's tests know where cargo built it
/// (`env!("CARGO_BIN_EXE_golive")`), so each of its test crates holds one:
///
/// ```text
/// pub static GOLIVE: Golive = Golive::new(env!("CARGO_BIN_EXE_golive"));
/// ```
pub struct Golive {
    built: &'static str,
}

impl Golive {
    pub const fn new(built: &'static str) -> Self {
        Self { built }
    }

    /// `GOLIVE_TEST_BIN` if set (a frozen copy, so that a long run is not disturbed by a
    /// rebuild of target/), else cargo's build.
    pub fn path(&self) -> PathBuf {
        std::env::var_os("GOLIVE_TEST_BIN").map_or_else(|| self.built.into(), PathBuf::from)
    }

    /// `golive` with none of the variables it reads from the environment: every one is named
    /// `GOLIVE_*` or is `NATS_URL` (clap's `env =` attributes, `GOLIVE_LOG`), and a developer's
    /// shell may set any of them. A test that wants one sets it on the command.
    pub fn command(&self) -> Command {
        crate::scrubbed_command(self.path())
    }

    /// Runs `golive ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("golive runs")
    }

    /// Runs `golive ARGS --data DATA` to completion.
    pub fn run_with_data(&self, data: &Path, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .arg("--data")
            .arg(data)
            .output()
            .expect("golive runs")
    }

    /// Starts `golive ARGS` (serve or collect) at log level info, its output in `log`.
    pub fn spawn(&self, args: &[&str], log: &Path) -> Proc {
        let mut cmd = self.command();
        cmd.args(args).env("GOLIVE_LOG", "info");
        Proc::spawn(cmd, log)
    }

    /// Starts `golive serve ARGS --http 127.0.0.1:0` and waits until it consumes (panics if it
    /// exits first). Returns the process and the base URL of its HTTP API.
    pub fn serve_http(&self, args: &[&str], log: &Path) -> (Proc, String) {
        const MARK: &str = "HTTP API and dashboard on ";
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--http", "127.0.0.1:0"]);
        let mut proc = self.spawn(&all, log);
        let start = Instant::now();
        loop {
            let text = proc.log_text();
            if text.contains("ledger serving")
                && let Some(rest) = text.split(MARK).nth(1)
            {
                let base = rest
                    .split_whitespace()
                    .next()
                    .expect("an address after the mark")
                    .trim_end_matches('/')
                    .to_owned();
                return (proc, base);
            }
            assert!(
                proc.running(),
                "golive serve exited before serving:\n{text}"
            );
            assert!(
                start.elapsed() < SERVE_START_TIMEOUT,
                "golive serve did not start serving within {SERVE_START_TIMEOUT:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts `golive collect FEED --data OUTBOX --nats URL EXTRA...` with its output in `log`.
    pub fn collect(
        &self,
        feed: &Path,
        outbox: &Path,
        nats_url: &str,
        extra: &[&str],
        log: &Path,
    ) -> Proc {
        let mut args = vec![
            "collect",
            feed.to_str().expect("utf-8 path"),
            "--data",
            outbox.to_str().expect("utf-8 path"),
            "--nats",
            nats_url,
        ];
        args.extend_from_slice(extra);
        self.spawn(&args, log)
    }

    /// `golive status --json` of a ledger that is not running.
    pub fn status(&self, data: &Path) -> Value {
        serde_json::from_slice(&ok(self.run_with_data(data, &["status", "--json"])).stdout)
            .expect("status --json prints JSON")
    }

    /// `golive dead-letters --json` of a ledger that is not running, one value per letter.
    pub fn dead_letters(&self, data: &Path) -> Vec<Value> {
        stdout(&ok(self.run_with_data(data, &["dead-letters", "--json"])))
            .lines()
            .map(|l| serde_json::from_str(l).expect("a dead letter as JSON"))
            .collect()
    }

    /// (seq, stream seq, event id) of every record of a stopped ledger, from `golive audit
    /// export` into the file `export`.
    pub fn exported_records(&self, data: &Path, export: &Path) -> Vec<(u64, Option<u64>, String)> {
        ok(self.run_with_data(
            data,
            &[
                "audit",
                "export",
                "--out",
                export.to_str().expect("utf-8 path"),
            ],
        ));
        std::fs::read_to_string(export)
            .expect("the export")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("an export line is JSON"))
            .filter(|v| v.get("seq").is_some() && v.get("event").is_some())
            .map(|v| {
                (
                    v["seq"].as_u64().expect("seq"),
                    v["stream_seq"].as_u64(),
                    v["event"]["event_id"]
                        .as_str()
                        .expect("event_id")
                        .to_owned(),
                )
            })
            .collect()
    }

    /// A simulated rollout in `dir`, split into one file per trust (each trust has its own
    /// collector).
    pub fn simulated(&self, dir: &Path, seed: u64, trusts: usize, events: u64) -> Events {
        let all = dir.join("all.jsonl");
        ok(self.run(&[
            "simulate",
            "--seed",
            &seed.to_string(),
            "--trusts",
            &trusts.to_string(),
            "--events",
            &events.to_string(),
            "--out",
            all.to_str().expect("utf-8 path"),
        ]));
        Events::split(dir, all)
    }
}

/// A simulated rollout: all its events, and the same split by trust.
pub struct Events {
    /// trust -> JSONL file of that trust's events
    pub files: BTreeMap<String, PathBuf>,
    pub all: PathBuf,
    pub ids: BTreeSet<String>,
}

impl Events {
    /// Splits the JSONL file `all` into `dir/TRUST.jsonl` files.
    fn split(dir: &Path, all: PathBuf) -> Self {
        let text = std::fs::read_to_string(&all).expect("the simulated events");
        let mut by_trust: BTreeMap<String, String> = BTreeMap::new();
        let mut ids = BTreeSet::new();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).expect("an event as JSON");
            ids.insert(v["event_id"].as_str().expect("event_id").to_owned());
            let t = by_trust
                .entry(v["trust"].as_str().expect("trust").to_owned())
                .or_default();
            t.push_str(line);
            t.push('\n');
        }
        let files = by_trust
            .into_iter()
            .map(|(t, body)| {
                let p = dir.join(format!("{t}.jsonl"));
                std::fs::write(&p, body).expect("write a trust's events");
                (t, p)
            })
            .collect();
        Self { files, all, ids }
    }
}

/// The headline money of `trust` in the JSONL events file `path`, by field of the money view
/// (`extra_cost_pence`, ..., `net_cost_pence`), summed from the raw JSON with none of the
/// ledger's code: the oracle the ledger's answers are checked against. The rules of
/// docs/EVENTS.md: an event that another supersedes does not count; only `reported` and
/// `validated` figures count (no `status` is `reported`); only levied penalties (no `state` is
/// levied); of the to-date figures (`to_date: true`) of one kind and category (commissioner for
/// penalties) only the latest by `as_at` (then file order) counts.
pub fn oracle_money(path: &Path, trust: &str) -> BTreeMap<&'static str, i64> {
    let text = std::fs::read_to_string(path).expect("the events file");
    let events: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("an event as JSON"))
        .collect();
    let superseded: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["supersedes"].as_str())
        .collect();
    let mut sums: BTreeMap<&'static str, i64> = [
        "extra_cost_pence",
        "income_at_risk_pence",
        "income_recovered_pence",
        "contract_penalty_pence",
    ]
    .map(|field| (field, 0))
    .into();
    // (field, category) -> (as_at, amount) of the latest to-date figure.
    let mut to_date: BTreeMap<(&'static str, String), (String, i64)> = BTreeMap::new();
    for e in &events {
        if e["trust"] != trust || superseded.contains(e["event_id"].as_str().expect("event_id")) {
            continue;
        }
        let field = match e["kind"].as_str().expect("kind") {
            "extra_cost" => "extra_cost_pence",
            "income_at_risk" => "income_at_risk_pence",
            "income_recovered" => "income_recovered_pence",
            "contract_penalty" => "contract_penalty_pence",
            _ => continue,
        };
        let status = e["status"].as_str().unwrap_or("reported");
        let levied = e["data"]["state"].as_str().unwrap_or("levied") == "levied";
        if status == "estimated" || !levied {
            continue;
        }
        let amount = e["data"]["amount_pence"].as_i64().expect("pence");
        if e["data"]["to_date"] == Value::Bool(true) {
            let d = &e["data"];
            let category = d["category"].as_str().or(d["commissioner"].as_str());
            let as_at = d["as_at"].as_str().expect("as_at").to_owned();
            let latest = to_date
                .entry((field, category.unwrap_or("").to_owned()))
                .or_insert((as_at.clone(), amount));
            if as_at >= latest.0 {
                *latest = (as_at, amount);
            }
            continue;
        }
        *sums.entry(field).or_default() += amount;
    }
    for ((field, _), (_, amount)) in to_date {
        *sums.entry(field).or_default() += amount;
    }
    let net = sums["extra_cost_pence"] + sums["income_at_risk_pence"]
        - sums["income_recovered_pence"]
        + sums["contract_penalty_pence"];
    sums.insert("net_cost_pence", net);
    sums
}

/// `o`, if the command succeeded; else a panic with its exit code and output.
pub fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// What the command printed on stdout.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The command's exit code (-1 if a signal ended it).
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `GET base+path` of a running ledger's HTTP API, as JSON; panics unless it answers 2xx.
pub fn get_json(base: &str, path: &str) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let body = agent
        .get(format!("{base}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {base}{path}: {e}"))
        .body_mut()
        .read_to_string()
        .expect("a body");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {base}{path}: not JSON ({e})"))
}

/// The head seq of a running ledger, from its HTTP API at `base` (its store is locked while it
/// runs).
pub fn http_head_seq(base: &str) -> u64 {
    get_json(base, "/v1/head")["seq"].as_u64().expect("a seq")
}
