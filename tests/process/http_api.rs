//! The analyst API against a real running ledger: `golive serve --http 127.0.0.1:0` fed by
//! `golive collect` through a real nats-server started by the test, queried over HTTP with a
//! blocking client. Checks what docs/API.md promises: figures equal to the scenario file's own
//! sums, as-of answers equal to local `golive query` after the ledger stops, `golive query
//! --server` printing exactly what local mode prints, JSON errors for bad parameters, and
//! plausible metrics.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::GOLIVE;
use golive_testkit::golive::{ok, oracle_money, scenario};
use golive_testkit::nats::NatsServer;
use golive_testkit::wait_until;
use serde_json::Value;

/// An HTTP answer: status, the as-of header, the body.
struct Http {
    status: u16,
    as_of_seq: Option<u64>,
    content_type: String,
    body: String,
}

impl Http {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn http_get(base: &str, path: &str) -> Http {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut r = agent
        .get(format!("{base}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let as_of_seq = header("x-golive-as-of-seq").map(|v| v.parse().unwrap());
    let content_type = header("content-type").unwrap_or_default();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    Http {
        status,
        as_of_seq,
        content_type,
        body,
    }
}

/// Value of an unlabelled or labelled series in Prometheus text.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("{series} missing from /metrics:\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    String::from_utf8(ok(GOLIVE.run(args)).stdout).unwrap()
}

#[test]
fn the_api_answers_what_the_docs_say_over_a_ledger_fed_through_nats() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start();
    let data = dir.path().join("ledger");
    let data_s = data.to_str().unwrap().to_owned();
    let url = nats.url();
    let (mut serve, base) = GOLIVE.serve_http(
        &["--data", data.to_str().unwrap(), "--nats", &url],
        &dir.path().join("serve.log"),
    );

    // Feed the London scenario through NATS with a collector.
    let mut collector = GOLIVE.spawn(
        &[
            "collect",
            scenario().to_str().unwrap(),
            "--data",
            dir.path().join("outbox").to_str().unwrap(),
            "--nats",
            &url,
        ],
        &dir.path().join("collect.log"),
    );
    collector.wait_ok(Duration::from_secs(120));
    let events = std::fs::read_to_string(scenario()).unwrap().lines().count() as u64;
    wait_until(Duration::from_secs(60), "the scenario's head seq", || {
        http_get(&base, "/v1/head").json()["seq"] == events
    });

    // /v1/head
    let head = http_get(&base, "/v1/head");
    assert_eq!(head.status, 200);
    assert_eq!(head.as_of_seq, Some(events));
    let head = head.json();
    assert_eq!(head["hash"].as_str().unwrap().len(), 64);
    let head_received = head["received_at"].as_str().unwrap().to_owned();

    // /v1/trusts: every trust of the file.
    let text = std::fs::read_to_string(scenario()).unwrap();
    let file_trusts: BTreeSet<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["trust"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let t = http_get(&base, "/v1/trusts");
    assert_eq!(t.status, 200);
    assert!(t.content_type.starts_with("application/json"));
    let t = t.json();
    assert_eq!(t["as_of_seq"], events);
    assert_eq!(t["head_seq"], events);
    let served: BTreeSet<String> = t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(served, file_trusts);

    // /v1/money: RAL's money equals the file's own sums, corrections applied.
    let m = http_get(&base, "/v1/money?trust=RAL").json();
    assert_eq!(m["trust"], "RAL");
    let total = &m["data"]["trusts"]["RAL"]["total"];
    let oracle = oracle_money(&scenario(), "RAL");
    for (field, pence) in &oracle {
        assert_eq!(total[*field].as_i64(), Some(*pence), "RAL {field}");
    }
    assert_eq!(
        oracle["net_cost_pence"], 1_000_000_000,
        "the published £10m"
    );
    assert_eq!(
        m["data"]["trusts"].as_object().unwrap().len(),
        1,
        "only RAL"
    );

    // /v1/warnings: RAL is halt-recommended, with reasons.
    let w = http_get(&base, "/v1/warnings").json();
    assert_eq!(w["data"]["trusts"]["RAL"]["halt_recommended"], true);
    assert!(
        !w["data"]["trusts"]["RAL"]["halt_reasons"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        w["data"]["total"]["halt_recommended"]
            .as_array()
            .unwrap()
            .contains(&Value::from("RAL"))
    );

    // The other views answer with their documented top-level fields.
    for (path, fields) in [
        (
            "/v1/lost-patients",
            &["as_at", "trusts", "total", "synthetic"][..],
        ),
        (
            "/v1/rollout",
            &["as_at", "trusts", "programmes", "total", "synthetic"][..],
        ),
        (
            "/v1/deferred-features",
            &["trusts", "total", "synthetic"][..],
        ),
        ("/v1/incidents", &["trusts", "total", "synthetic"][..]),
    ] {
        let r = http_get(&base, path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.as_of_seq, Some(events), "{path}");
        let v = r.json();
        let keys: BTreeSet<&str> = v["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, fields.iter().copied().collect(), "{path}");
    }
    let r = http_get(&base, "/v1/rollout?trust=RAL").json();
    assert_eq!(r["data"]["trusts"]["RAL"]["status"], "fit_to_deploy");
    let d = http_get(&base, "/v1/deferred-features").json();
    assert_eq!(
        d["data"]["total"]["count"].as_u64().unwrap() as usize,
        text.matches("\"kind\":\"feature_deferred\"").count()
    );

    // As-of answers, kept to compare with local mode once the ledger has stopped.
    let one_ms_before_head = (chrono::DateTime::parse_from_rfc3339(&head_received).unwrap()
        - chrono::Duration::milliseconds(1))
    .to_utc();
    let before = golive_model::format_time(&one_ms_before_head);
    let as_of_queries: Vec<(String, String, Vec<String>)> = [
        ("money", "/v1/money", "as_of_seq=40"),
        ("rollout", "/v1/rollout", "as_of_seq=40&trust=RAL"),
        ("lost-patients", "/v1/lost-patients", "as_of_seq=1"),
        ("warnings", "/v1/warnings", "as_of_seq=60"),
        ("incidents", "/v1/incidents", "as_of_seq=0"),
        ("money", "/v1/money", &format!("as_of={head_received}")),
        ("warnings", "/v1/warnings", &format!("as_of={before}")),
        ("trusts", "/v1/trusts", "as_of=2000-01-01T00:00:00Z"),
    ]
    .iter()
    .map(|(what, path, q)| {
        let mut cli: Vec<String> = Vec::new();
        for kv in q.split('&') {
            let (k, v) = kv.split_once('=').unwrap();
            cli.push(format!("--{}", k.replace('_', "-")));
            cli.push(v.to_owned());
        }
        (what.to_string(), format!("{path}?{q}"), cli)
    })
    .collect();
    let mut as_of_answers = Vec::new();
    for (_, path, _) in &as_of_queries {
        let r = http_get(&base, path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let v = r.json();
        assert_eq!(r.as_of_seq, v["as_of_seq"].as_u64(), "{path}");
        assert_eq!(v["head_seq"], events);
        as_of_answers.push(v);
    }
    assert_eq!(
        as_of_answers[5]["as_of_seq"], events,
        "as_of = head's receive time"
    );
    assert!(as_of_answers[6]["as_of_seq"].as_u64().unwrap() < events);
    assert_eq!(as_of_answers[7]["as_of_seq"], 0);
    assert_eq!(as_of_answers[7]["data"], serde_json::json!([]));

    // Bad parameters: a JSON error with the status that fits and a message saying what is wrong.
    for (path, status, says) in [
        ("/v1/money?trust=ral", 400, "not an ODS code"),
        ("/v1/money?trust=ZZZ", 404, "trust ZZZ has no events"),
        (
            "/v1/lost-patients?as_of_seq=1000",
            400,
            "beyond the ledger's head",
        ),
        ("/v1/rollout?as_of_seq=ten", 400, "not a sequence number"),
        ("/v1/warnings?as_of=last-week", 400, "not an RFC 3339 time"),
        (
            "/v1/warnings?as_of=2009-01-01T00:00:00%2B01:00",
            400,
            "not UTC",
        ),
        (
            "/v1/money?as_of_seq=3&as_of=2009-01-01T00:00:00Z",
            400,
            "not both",
        ),
        ("/v1/money?trst=RAL", 400, "unknown parameter `trst`"),
        ("/v1/nothing-here", 404, "no such path"),
    ] {
        let r = http_get(&base, path);
        assert_eq!(r.status, status, "{path}");
        assert!(r.content_type.starts_with("application/json"), "{path}");
        let v = r.json();
        assert_eq!(v["error"]["status"], status, "{path}");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains(says), "{path}: {m}");
    }

    // The OpenAPI document is served and parses.
    let doc = http_get(&base, "/v1/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/money"]["get"].is_object());

    // A malformed message straight onto the stream: dead-lettered and counted.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
        js.publish("golive.events.RAL.extra_cost", "{not json".into())
            .await
            .unwrap()
            .await
            .unwrap();
    });
    wait_until(
        Duration::from_secs(60),
        "the dead letter to be counted",
        || {
            metric(
                &http_get(&base, "/metrics").body,
                "golive_dead_letters_total",
            ) == 1.0
        },
    );

    // /metrics: the counters, with plausible values.
    let m = http_get(&base, "/metrics");
    assert!(m.content_type.starts_with("text/plain"));
    let text = m.body;
    assert_eq!(metric(&text, "golive_events_appended_total"), events as f64);
    assert_eq!(metric(&text, "golive_head_seq"), events as f64);
    assert_eq!(metric(&text, "golive_dead_letters_stored"), 1.0);
    assert_eq!(
        metric(&text, "golive_messages_consumed_total"),
        events as f64
            + metric(&text, "golive_duplicates_skipped_total")
            + metric(&text, "golive_dead_letters_total")
            + metric(&text, "golive_corrections_deferred_total")
    );
    assert_eq!(metric(&text, "golive_consumer_lag_messages"), 0.0);
    let batches = metric(&text, "golive_append_batch_seconds_count");
    assert!((1.0..=90.0).contains(&batches), "{batches} batches");
    assert_eq!(
        metric(&text, "golive_append_batch_seconds_bucket{le=\"+Inf\"}"),
        batches
    );
    assert!(metric(&text, "golive_append_batch_seconds_sum") > 0.0);
    assert!(
        metric(
            &text,
            "golive_http_request_seconds_count{route=\"/v1/money\"}"
        ) >= 4.0
    );
    assert!(
        metric(
            &text,
            "golive_http_requests_total{route=\"/v1/money\",code=\"4xx\"}"
        ) >= 1.0
    );
    assert!(
        metric(
            &text,
            "golive_http_requests_total{route=\"unmatched\",code=\"4xx\"}"
        ) >= 1.0
    );
    assert!(metric(&text, "golive_as_of_computed_total") >= 1.0);

    // `golive query --server` while the ledger runs; local mode after it stops: same bytes.
    let whats = [
        "lost-patients",
        "money",
        "rollout",
        "warnings",
        "deferred",
        "incidents",
        "trusts",
        "recovery",
        "claims",
    ];
    let csv = |more: &[&str]| -> Vec<String> {
        let mut v = vec!["--format".to_owned(), "csv".to_owned()];
        v.extend(more.iter().map(|s| (*s).to_owned()));
        v
    };
    let variants: Vec<Vec<String>> = vec![
        vec![],
        csv(&[]),
        csv(&["--trust", "RAL", "--bom", "--as-of-seq", "100"]),
        vec!["--json".into()],
        vec!["--trust".into(), "RAL".into()],
        vec!["--trust".into(), "RNJ".into(), "--json".into()],
        vec!["--as-of-seq".into(), "40".into()],
        vec!["--as-of-seq".into(), "40".into(), "--json".into()],
        vec!["--as-of".into(), head_received.clone()],
    ];
    let mut remote_out = Vec::new();
    for what in whats {
        for v in &variants {
            let mut args: Vec<&str> = vec!["query", what, "--server", &base];
            args.extend(v.iter().map(String::as_str));
            remote_out.push((what, v.clone(), stdout_of(&args)));
        }
    }
    // And an error from the server reaches the user as an error.
    let o = GOLIVE.run(&["query", "money", "--trust", "ZZZ", "--server", &base]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("trust ZZZ has no events"));

    assert_eq!(serve.term(), Some(0), "{}", serve.log_text());

    for (what, v, remote) in &remote_out {
        let mut args: Vec<&str> = vec!["query", what, "--data", &data_s];
        args.extend(v.iter().map(String::as_str));
        let local = stdout_of(&args);
        assert_eq!(
            &local, remote,
            "golive query {what} {v:?}: --server vs local"
        );
    }
    for ((what, _, cli), served) in as_of_queries.iter().zip(&as_of_answers) {
        let mut args: Vec<&str> = vec!["query", what, "--json", "--data", &data_s];
        args.extend(cli.iter().map(String::as_str));
        let local: Value = serde_json::from_str(&stdout_of(&args)).unwrap();
        assert_eq!(&local, &served["data"], "{what} {cli:?}: HTTP vs local");
    }
    // The head the API reported is the one `golive verify` recomputes.
    let verify = stdout_of(&["verify", "--data", &data_s]);
    assert!(verify.contains(head["hash"].as_str().unwrap()), "{verify}");
}
