//! What Prometheus and Grafana are given: every metric name that `deploy/prometheus/golive-rules.yml`
//! and `deploy/grafana/golive.json` use is exported by the ledger's `/metrics` (served over a real
//! ledger on a loopback port) or by a collector's `--metrics`; and `golive serve
//! --stay-up-when-refused` on a store refused at open keeps `/metrics` up with the refusal.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::GOLIVE;
use golive_ledger::{Ledger, LedgerOptions};
use golive_testkit::golive::{repo_root, scenario};
use golive_testkit::wait_for;

/// Series Prometheus makes itself, not any exporter.
const PROMETHEUS_OWN: [&str; 1] = ["up"];

/// PromQL words that are not metric names (aggregations may be followed by `by (...)` rather
/// than by their parenthesis).
const KEYWORDS: [&str; 26] = [
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "atan2",
];

/// The expressions of a rules file: each `expr:` value, inline or a block scalar.
fn rule_exprs(yaml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = yaml.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(value) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let value = value.trim();
        if value.starts_with(['>', '|']) {
            let indent = line.len() - line.trim_start().len();
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .map(|l| l.trim())
                .collect();
            out.push(block.join(" "));
        } else {
            out.push(value.trim_matches(['"', '\'']).to_owned());
        }
    }
    out
}

/// The PromQL of a dashboard: every `expr` of a panel target, and the templating queries.
fn dashboard_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr" | "definition", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => dashboard_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| dashboard_exprs(v, out)),
        _ => {}
    }
}

/// Drops what sits between `open` and its matching `close` (label matchers, ranges, strings
/// are handled before).
fn drop_between(s: &str, open: char, close: char) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in s.chars() {
        if c == open {
            depth += 1;
        } else if c == close && depth > 0 {
            depth -= 1;
        } else if depth == 0 {
            out.push(c);
        }
    }
    out
}

/// The metric names an expression reads: identifiers that are not functions (followed by `(`),
/// keywords, grouping labels (`by (...)` and the like), numbers, durations, Grafana variables,
/// nor inside label matchers, ranges or strings. `label_values(METRIC, LABEL)` reads METRIC.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut s = String::new();
    let mut quote = None;
    for c in expr.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' || c == '`' => quote = Some(c),
            None => s.push(c),
        }
    }
    let s = strip_label_values(&drop_between(&drop_between(&s, '{', '}'), '[', ']'));
    let mut names = BTreeSet::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' || c == ':' || c == '$' || c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:$.".contains(chars[i]))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            let grouping = [
                "by",
                "without",
                "on",
                "ignoring",
                "group_left",
                "group_right",
            ]
            .contains(&word.as_str());
            if grouping && next == Some(&'(') {
                // Skip the label list.
                let close = chars[i..].iter().position(|c| *c == ')').unwrap();
                i += close + 1;
                continue;
            }
            let number = c.is_ascii_digit() || c == '$';
            if !number && next != Some(&'(') && !KEYWORDS.contains(&word.as_str()) {
                names.insert(word);
            }
            continue;
        }
        i += 1;
    }
    names
}

/// `label_values(METRIC, LABEL)` (a Grafana query) as `METRIC`.
fn strip_label_values(s: &str) -> String {
    const CALL: &str = "label_values(";
    let mut out = s.to_owned();
    while let Some(start) = out.find(CALL) {
        let rest = &out[start + CALL.len()..];
        let close = rest.find(')').expect("label_values( is closed");
        let metric = rest[..close].split(',').next().unwrap().trim().to_owned();
        out = format!("{}{metric}{}", &out[..start], &rest[close + 1..]);
    }
    out
}

/// The series names of a Prometheus text exposition.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_owned())
        .collect()
}

/// The ledger's `/metrics` over a ledger of the London scenario (with a signed checkpoint),
/// served on a loopback port, after one API request.
fn ledger_metrics(data: &Path) -> String {
    let o = GOLIVE.run_with_data(data, &["ingest", scenario().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ledger = Ledger::open(data, LedgerOptions::default()).unwrap();
    let state = golive_http::AppState::new(Arc::new(Mutex::new(ledger)), Arc::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, golive_http::router(state)).await });
    ureq::get(format!("{base}/v1/head")).call().unwrap();
    ureq::get(format!("{base}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}

#[test]
fn the_extractor_finds_metric_names_and_nothing_else() {
    // Proves the PromQL reading below: functions, keywords, labels, ranges, durations, strings
    // and Grafana variables are not taken for metric names.
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{route=~"$r", x="y z"}[$__rate_interval]))) / on(instance) group_left(version) b_info offset 5m > 1e3 and bool c unless label_values(d, instance)"#,
    );
    assert_eq!(
        names,
        ["a_bucket", "b_info", "c", "d"]
            .map(str::to_owned)
            .into_iter()
            .collect()
    );
}

#[test]
fn every_metric_the_alert_rules_and_the_dashboard_use_is_exported() {
    // Proves each name in the rules and the dashboard is a series the ledger's /metrics or a
    // collector's --metrics really shows (or Prometheus's own `up`), so no alert or panel
    // silently watches nothing.
    let dir = tempfile::tempdir().unwrap();
    let mut have = exported(&ledger_metrics(&dir.path().join("ledger")));
    have.extend(exported(&golive::collector_metrics::render(
        &golive_collector::Progress::default(),
    )));
    have.extend(PROMETHEUS_OWN.map(str::to_owned));
    let deploy = repo_root().join("deploy");
    let rules = std::fs::read_to_string(deploy.join("prometheus/golive-rules.yml")).unwrap();
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(deploy.join("grafana/golive.json")).unwrap())
            .unwrap();
    let mut exprs = rule_exprs(&rules);
    assert!(exprs.len() >= 7, "{exprs:?}");
    dashboard_exprs(&dashboard, &mut exprs);
    let mut used = BTreeSet::new();
    for e in &exprs {
        used.extend(metric_names(e));
    }
    let missing: Vec<&String> = used.difference(&have).collect();
    assert!(missing.is_empty(), "used but not exported: {missing:?}");
    for name in [
        "golive_checkpoint_signed_timestamp_seconds",
        "golive_store_disk_free_bytes",
        "golive_collector_outbox_pending",
        "process_resident_memory_bytes",
        "golive_build_info",
    ] {
        assert!(
            used.contains(name),
            "{name} is not used; the extraction missed it"
        );
    }
}

#[test]
fn operations_md_says_what_to_do_on_every_alert() {
    // Proves the runbook and the rule file name the same alerts: each `alert:` of the rules has
    // its entry in docs/OPERATIONS.md, "What to do on each alert".
    let root = repo_root();
    let rules = std::fs::read_to_string(root.join("deploy/prometheus/golive-rules.yml")).unwrap();
    let ops = std::fs::read_to_string(root.join("docs/OPERATIONS.md")).unwrap();
    let section = ops.split("## What to do on each alert").nth(1).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 7, "{alerts:?}");
    for a in alerts {
        assert!(
            section.contains(&format!("**{a}**")),
            "docs/OPERATIONS.md has no entry for {a}"
        );
    }
}

#[test]
fn serve_stays_up_on_a_refused_store_with_the_refusal_in_its_metrics() {
    // Proves --stay-up-when-refused: a store whose head mark is gone is refused at open, yet
    // /healthz and /metrics answer (golive_store_open_refused 1), every other path is a 503
    // naming the reason, and SIGTERM ends it with exit 1; without the flag it exits 1 at once.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let o = GOLIVE.run_with_data(&data, &["ingest", scenario().to_str().unwrap()]);
    assert!(o.status.success());
    std::fs::remove_file(data.join("golive-head")).unwrap();
    let args = [
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--http",
        "127.0.0.1:0",
    ];
    let o = GOLIVE.run(&args);
    assert_eq!(o.status.code(), Some(1));
    let mut serve = GOLIVE.spawn(
        &[&args[..], &["--stay-up-when-refused"]].concat(),
        &dir.path().join("serve.log"),
    );
    let base = wait_for(
        Duration::from_secs(60),
        "the refused ledger's address",
        || {
            let log = serve.log_text();
            log.split("and /metrics (golive_store_open_refused 1) on ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(|u| u.trim_end_matches('/').to_owned())
                .ok_or(log)
        },
    );
    let get = |path: &str| {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut r = agent.get(format!("{base}{path}")).call().unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    assert_eq!(get("/healthz").0, 200);
    let (status, metrics) = get("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("\ngolive_store_open_refused 1\n"),
        "{metrics}"
    );
    let (status, body) = get("/v1/head");
    assert_eq!(status, 503);
    assert!(
        body.contains("refused at open") && body.contains("golive-head is missing"),
        "{body}"
    );
    assert_eq!(serve.term(), Some(1), "{}", serve.log_text());
}
