//! The HTTP surface in process (no sockets) over a ledger holding the London scenario: the OpenAPI
//! document lists exactly the router's paths, every JSON answer matches its documented schema
//! field for field (checked by the `jsonschema` crate, JSON Schema 2020-12 as OpenAPI 3.1 uses),
//! and bad requests get the documented JSON errors.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use golive_http::{AppState, OPENAPI_JSON, router};
use golive_ledger::{
    Ledger, LedgerOptions, LineSource, READY_LAG_MAX_MESSAGES_DEFAULT, Readiness, ingest_lines,
};
use golive_projections::WarningRules;
use serde_json::Value;
use tower::ServiceExt;

fn scenario() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/london-2008.jsonl")
}

/// A ledger with the London scenario, snapshots every 10 records.
fn state(dir: &std::path::Path) -> AppState {
    let mut ledger = Ledger::open(
        dir,
        LedgerOptions {
            snapshot_every_events: 10,
            snapshots_kept_max: 100,
        },
    )
    .unwrap();
    let f = std::fs::File::open(scenario()).unwrap();
    let s = ingest_lines(
        &mut ledger,
        std::io::BufReader::new(f),
        &LineSource::Stdin,
        7,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(s.rejected, 0);
    AppState::new(
        Arc::new(Mutex::new(ledger)),
        Arc::new(WarningRules::default()),
    )
    .with_readiness(all_up(READY_LAG_MAX_MESSAGES_DEFAULT))
}

/// A readiness whose every part says it is up, as a consuming ledger's does.
fn all_up(lag_max: u64) -> Arc<Readiness> {
    let r = Readiness::new(lag_max);
    r.set_store_open(true);
    r.set_nats_connected(true);
    r.set_consuming(true);
    Arc::new(r)
}

struct Got {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }
}

async fn call(state: &AppState, method: Method, uri: &str) -> Got {
    call_with(state, method, uri, None).await
}

async fn call_with(state: &AppState, method: Method, uri: &str, token: Option<&str>) -> Got {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let r = router(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    // A live stream never ends: its status and headers are the answer (tests/stream.rs reads
    // its events over a socket).
    let streaming = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let body = if streaming {
        Vec::new()
    } else {
        axum::body::to_bytes(r.into_body(), 64 << 20)
            .await
            .unwrap()
            .to_vec()
    };
    Got {
        status,
        headers,
        body,
    }
}

async fn get(state: &AppState, uri: &str) -> Got {
    call(state, Method::GET, uri).await
}

/// Route templates registered with `.route("...")` in `lib.rs` and the modules it declares (the
/// dashboard's and any other merged into the router).
fn routes_in_source() -> BTreeSet<String> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut files = vec![lib.clone()];
    for line in lib.lines() {
        let line = line.trim();
        if let Some(m) = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("mod "))
            .and_then(|m| m.strip_suffix(';'))
        {
            files.push(std::fs::read_to_string(src.join(format!("{m}.rs"))).unwrap());
        }
    }
    let mut out = BTreeSet::new();
    for text in &files {
        for part in text.split(".route(").skip(1) {
            let part = part.trim_start();
            if let Some(rest) = part.strip_prefix('"') {
                out.insert(rest[..rest.find('"').unwrap()].to_owned());
            }
        }
    }
    out
}

/// Ids of the scenario's events, in file (= seq) order.
fn scenario_ids() -> Vec<String> {
    std::fs::read_to_string(scenario())
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            golive_model::decode(l.as_bytes())
                .unwrap()
                .event_id
                .to_string()
        })
        .collect()
}

/// A documented path with its path parameters filled in (an event of the scenario).
fn concrete(path: &str) -> String {
    path.replace("{event_id}", &scenario_ids()[0])
}

/// The events of the shipped scenario the state holds.
fn scenario_len() -> u64 {
    std::fs::read_to_string(scenario())
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64
}

/// A test's own text, for a table of `&'static str` cases.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn doc() -> Value {
    serde_json::from_str(OPENAPI_JSON).expect("docs/openapi.json is JSON")
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_path_is_routed() {
    // Proves the OpenAPI document and the router list the same paths: none undocumented, none
    // documented that the server does not answer.
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let routed = routes_in_source();
    assert!(routed.contains("/v1/money") && routed.contains("/metrics"));
    assert_eq!(
        routed, documented,
        "router paths (left) vs docs/openapi.json paths (right)"
    );
    for path in &documented {
        let uri = concrete(path);
        assert!(
            !uri.contains('{'),
            "a path parameter without a value: {path}"
        );
        // Routed: whatever it answers without parameters, it is not the fallback's 404.
        let g = get(&st, &uri).await;
        let fallback = g.status == StatusCode::NOT_FOUND
            && String::from_utf8_lossy(&g.body).contains("no such path");
        assert!(!fallback, "{path} is documented but not routed");
        let methods = doc["paths"][path].as_object().unwrap();
        assert_eq!(
            methods.keys().collect::<Vec<_>>(),
            vec!["get"],
            "{path}: only GET"
        );
    }
    // And a path that is not routed is the JSON 404 of the fallback.
    let g = get(&st, "/v1/nope").await;
    assert_eq!(g.status, StatusCode::NOT_FOUND);
    assert!(
        g.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no such path /v1/nope")
    );
}

/// A validator of the schema at `pointer` (a JSON pointer into docs/openapi.json), by the
/// `jsonschema` crate: OpenAPI 3.1's schemas are JSON Schema 2020-12, so the document itself is
/// the root (its `#/components/schemas/...` references resolve in it) with a `$ref` to the
/// schema asked for. Formats are checked; a `date-time` must also be in UTC (`Z`), as every time
/// golive writes is. Objects are closed where the document says so (`additionalProperties`:
/// every object schema says, [`every_object_schema_says_whether_it_takes_other_fields`]).
fn validator(doc: &Value, pointer: &str) -> jsonschema::Validator {
    let mut root = doc.clone();
    root["$schema"] = Value::from("https://json-schema.org/draft/2020-12/schema");
    root["$ref"] = Value::from(format!("#{pointer}"));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("date-time", |s: &str| {
            s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
        })
        .build(&root)
        .unwrap_or_else(|e| panic!("docs/openapi.json#{pointer} is not a JSON Schema: {e}"))
}

/// Where `v` differs from what `validator` accepts, each with its JSON path.
fn violations(validator: &jsonschema::Validator, v: &Value) -> Vec<String> {
    validator
        .iter_errors(v)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The JSON pointer of the `status` answer's JSON schema of GET `path`.
fn answer_pointer(path: &str, status: &str) -> String {
    // A JSON pointer (RFC 6901), percent-encoded where a URI fragment needs it (`{`, `}`).
    let escape = |s: &str| {
        s.replace('~', "~0")
            .replace('/', "~1")
            .replace('{', "%7B")
            .replace('}', "%7D")
    };
    format!(
        "/paths/{}/get/responses/{status}/content/{}/schema",
        escape(path),
        escape("application/json")
    )
}

#[test]
fn every_schema_of_the_document_is_valid_json_schema_2020_12() {
    // Proves the document's schemas are themselves valid against the 2020-12 meta-schema, so
    // a generated client reads them as they are checked here.
    let doc = doc();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas.len() > 20);
    for (name, schema) in schemas {
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            panic!("components.schemas.{name} is not valid JSON Schema 2020-12: {e}");
        }
    }
}

#[test]
fn every_object_schema_says_whether_it_takes_other_fields() {
    // Proves the answers are checked field for field: an object schema with `properties` and
    // no `additionalProperties` would let an undocumented field through the validator.
    fn walk(v: &Value, at: &str, open: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if o.contains_key("properties") && !o.contains_key("additionalProperties") {
                    open.push(at.to_owned());
                }
                for (k, x) in o {
                    walk(x, &format!("{at}/{k}"), open);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{at}/{i}"), open);
                }
            }
            _ => {}
        }
    }
    let mut open = Vec::new();
    walk(&doc(), "", &mut open);
    assert!(
        open.is_empty(),
        "object schemas without additionalProperties: {open:?}"
    );
}

#[test]
fn the_validator_refuses_what_the_document_does_not_allow() {
    // Proves the validator is not a yes-machine: a served answer passes, and each of a missing
    // field, a field of the wrong type, an undocumented field, a time not in UTC and a value
    // outside an enum is refused with its path.
    let doc = doc();
    let v = validator(&doc, &answer_pointer("/readyz", "200"));
    let good = serde_json::json!({"ready": true, "reasons": [], "store_open": true,
        "nats_connected": true, "consuming": true, "consumer_lag_messages": 0,
        "lag_max_messages": 10000});
    assert_eq!(violations(&v, &good), Vec::<String>::new());
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("ready");
    let mut wrong = good.clone();
    wrong["consumer_lag_messages"] = Value::from("many");
    let mut extra = good.clone();
    extra["secret"] = Value::from(1);
    for bad in [missing, wrong, extra] {
        assert!(!violations(&v, &bad).is_empty(), "accepted {bad}");
    }
    let head = validator(&doc, &answer_pointer("/v1/head", "200"));
    let time = &doc["components"]["schemas"]["Time"];
    assert_eq!(time["format"], "date-time", "{time}");
    let t = validator(&doc, "/components/schemas/Time");
    assert!(violations(&t, &Value::from("2008-06-15T00:00:00Z")).is_empty());
    assert!(!violations(&t, &Value::from("2008-06-15T01:00:00+01:00")).is_empty());
    assert!(!violations(&t, &Value::from("15 June 2008")).is_empty());
    assert!(!violations(&head, &serde_json::json!({})).is_empty());
}

/// The projection endpoints (`trust`, `as_of_seq`, `as_of`, `known_at`).
const SELECTING: &[&str] = &[
    "/v1/trusts",
    "/v1/lost-patients",
    "/v1/money",
    "/v1/rollout",
    "/v1/warnings",
    "/v1/deferred-features",
    "/v1/incidents",
    "/v1/evidence",
    "/v1/coverage",
    "/v1/claims",
    "/v1/usage-burden",
    "/v1/recovery",
];

/// The schema of the 200 answer of GET `path`.
fn answer_schema(doc: &Value, path: &str) -> Value {
    doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"].clone()
}

#[tokio::test]
async fn every_answer_matches_its_schema() {
    // Proves the documented field names and types are the served ones, for every projection
    // endpoint, all trusts and one, at the head and as of an earlier sequence or time.
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let doc = doc();
    let paths = [
        "/v1/trusts",
        "/v1/lost-patients",
        "/v1/money",
        "/v1/rollout",
        "/v1/warnings",
        "/v1/deferred-features",
        "/v1/incidents",
        "/v1/evidence",
        "/v1/coverage",
        "/v1/recovery",
        "/v1/head",
        "/v1/series",
        "/v1/events",
        "/v1/events/{event_id}",
        "/v1/checkpoints",
        "/v1/proof/inclusion",
        "/v1/proof/consistency",
        "/readyz",
    ];
    // Every event of the scenario, corrected, correcting, disputing and disputed ones included.
    let every_event: Vec<String> = scenario_ids().iter().map(|id| format!("/{id}")).collect();
    let every_event: Vec<&str> = every_event.iter().map(|s| leak(s.clone())).collect();
    let mut checked = 0;
    for path in paths {
        assert!(
            answer_schema(&doc, path).is_object(),
            "{path} has a 200 JSON schema"
        );
        let schema = validator(&doc, &answer_pointer(path, "200"));
        let queries: &[&str] = match path {
            "/v1/head" => &[""],
            "/v1/events/{event_id}" => &every_event,
            "/v1/money" | "/v1/lost-patients" => &[
                "",
                "?trust=RAL",
                "?evidence=true",
                "?trust=RAL&evidence=true&evidence_limit=2&evidence_offset=1",
                "?evidence=true&as_of_seq=40",
                "?evidence=true&known_at=2009-02-28T00:00:00Z",
                "?evidence=true&exclude_synthetic=true",
                "?evidence=false",
                "?trust=RNJ&as_of_seq=40",
                "?as_of=2100-01-01T00:00:00Z&known_at=2008-07-01T00:00:00Z",
            ],
            "/v1/series" => &[
                "",
                "?trust=RAL",
                "?exclude_synthetic=true",
                "?trust=RAX&exclude_synthetic=false",
            ],
            "/v1/events" => &["", "?from_seq=80&limit=10"],
            "/v1/checkpoints" => &[""],
            "/v1/proof/inclusion" => &["?seq=5", "?seq=90&size=90"],
            "/v1/proof/consistency" => &["?from=3", "?from=10&to=40"],
            "/readyz" => &[""],
            "/v1/recovery" => &[
                "",
                "?trust=RAL",
                "?align=go_live",
                "?align=calendar&trust=RNJ&as_of_seq=40",
                "?trust=RAL&align=go_live&known_at=2009-02-28T00:00:00Z",
                "?exclude_synthetic=true&align=go_live",
            ],
            _ => &[
                "",
                "?trust=RAL",
                "?trust=RNJ&as_of_seq=40",
                "?as_of_seq=0",
                "?as_of_seq=17",
                "?as_of=2000-01-01T00:00:00Z",
                "?as_of=2100-01-01T00:00:00Z",
                "?known_at=2009-02-28T00:00:00Z",
                "?trust=RAL&as_of_seq=70&known_at=2009-02-28T00:00:00Z",
                "?as_of=2100-01-01T00:00:00Z&known_at=2008-07-01T00:00:00Z",
                "?exclude_synthetic=true",
                "?trust=RAL&exclude_synthetic=false&as_of_seq=60",
            ],
        };
        for q in queries {
            let uri = match path {
                "/v1/events/{event_id}" => format!("/v1/events{q}"),
                _ => format!("{path}{q}"),
            };
            let g = get(&st, &uri).await;
            assert_eq!(g.status, StatusCode::OK, "{uri}: {}", g.json());
            let v = g.json();
            let errs = violations(&schema, &v);
            assert!(
                errs.is_empty(),
                "{uri} does not match docs/openapi.json:\n{}",
                errs.join("\n")
            );
            if path == "/v1/head" || SELECTING.contains(&path) {
                let h = g.headers["x-golive-as-of-seq"].to_str().unwrap();
                let field = if path == "/v1/head" {
                    "seq"
                } else {
                    "as_of_seq"
                };
                assert_eq!(h, v[field].to_string(), "{uri}: header = body");
            }
            checked += 1;
        }
    }
    assert!(checked >= 50);
}

#[tokio::test]
async fn answers_say_which_state_they_are_and_as_of_time_is_the_last_record_received() {
    // Proves as_of_seq / head_seq / as_of / trust in the wrapper, and that `data` is the view of
    // the projections at that sequence.
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let head = get(&st, "/v1/head").await.json();
    assert_eq!(head["seq"], scenario_len());
    let received = head["received_at"].as_str().unwrap().to_owned();

    let v = get(&st, "/v1/money?trust=RAL").await.json();
    assert_eq!(v["as_of_seq"], scenario_len());
    assert_eq!(v["head_seq"], scenario_len());
    assert_eq!(v["trust"], "RAL");
    assert_eq!(v["as_of"], Value::Null);
    assert_eq!(
        v["data"]["trusts"]["RAL"]["total"]["net_cost_pence"],
        1_000_000_000
    );

    let v = get(&st, "/v1/rollout?as_of_seq=40").await.json();
    assert_eq!(
        (v["as_of_seq"].as_u64(), v["head_seq"].as_u64()),
        (Some(40), Some(scenario_len()))
    );
    let p = golive_ledger::projections_at(&st.store, 40, &mut |_, _| {}).unwrap();
    assert_eq!(
        v["data"],
        serde_json::to_value(p.marked(false, |p| p.rollout(None))).unwrap()
    );

    // Every record was received before the head's receive time + 1 s, none before 2000.
    let later =
        chrono::DateTime::parse_from_rfc3339(&received).unwrap() + chrono::Duration::seconds(1);
    let v = get(
        &st,
        &format!(
            "/v1/money?as_of={}",
            later.to_utc().format("%Y-%m-%dT%H:%M:%S%.fZ")
        ),
    )
    .await
    .json();
    assert_eq!(v["as_of_seq"], scenario_len());
    assert!(v["as_of"].as_str().unwrap().ends_with('Z'));
    let v = get(&st, "/v1/money?as_of=2000-01-01T00:00:00Z")
        .await
        .json();
    assert_eq!(v["as_of_seq"], 0);
    assert_eq!(v["data"]["trusts"], serde_json::json!({}));
}

#[tokio::test]
async fn bad_requests_get_json_errors_with_the_right_status() {
    // Proves each documented error: 400 for malformed, unknown, repeated or conflicting
    // parameters and a sequence beyond the head; 404 for a trust with no events (also one that
    // has events only later) and unknown paths; 405 for other methods.
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let cases: &[(&str, StatusCode, &str)] = &[
        (
            "/v1/money?trust=ral",
            StatusCode::BAD_REQUEST,
            "not an ODS code",
        ),
        (
            "/v1/money?trust=",
            StatusCode::BAD_REQUEST,
            "not an ODS code",
        ),
        (
            "/v1/money?trust=ZZZ",
            StatusCode::NOT_FOUND,
            "trust ZZZ has no events",
        ),
        (
            "/v1/trusts?trust=ZZZ",
            StatusCode::NOT_FOUND,
            "trust ZZZ has no events",
        ),
        (
            "/v1/money?trust=RAL&as_of_seq=1",
            StatusCode::NOT_FOUND,
            "(as of seq 1)",
        ),
        (
            leak(format!("/v1/money?as_of_seq={}", scenario_len() + 1)),
            StatusCode::BAD_REQUEST,
            leak(format!("beyond the ledger's head ({})", scenario_len())),
        ),
        (
            "/v1/money?as_of_seq=-1",
            StatusCode::BAD_REQUEST,
            "not a sequence number",
        ),
        (
            "/v1/money?as_of_seq=abc",
            StatusCode::BAD_REQUEST,
            "not a sequence number",
        ),
        (
            "/v1/money?format=xlsx",
            StatusCode::BAD_REQUEST,
            "format `xlsx` is not `json` or `csv`",
        ),
        (
            "/v1/money?bom=true",
            StatusCode::BAD_REQUEST,
            "bom is for format=csv only",
        ),
        (
            "/v1/money?format=csv&bom=yes",
            StatusCode::BAD_REQUEST,
            "bom `yes` is not `true` or `false`",
        ),
        (
            "/v1/money?as_of_seq=99999999999999999999999",
            StatusCode::BAD_REQUEST,
            "not a sequence number",
        ),
        (
            "/v1/money?as_of=yesterday",
            StatusCode::BAD_REQUEST,
            "not an RFC 3339 time",
        ),
        (
            "/v1/money?as_of=2008-06-15T09:00:00+01:00",
            StatusCode::BAD_REQUEST,
            "a `+` in a URL reads as a space",
        ),
        (
            "/v1/money?as_of=2008-06-15T09:00:00%2B01:00",
            StatusCode::BAD_REQUEST,
            "is not UTC",
        ),
        (
            "/v1/money?as_of=2008-06-15T09:00:00Z&as_of_seq=3",
            StatusCode::BAD_REQUEST,
            "not both",
        ),
        (
            "/v1/money?trust=RAL&trust=RNJ",
            StatusCode::BAD_REQUEST,
            "more than once",
        ),
        (
            "/v1/money?trsut=RAL",
            StatusCode::BAD_REQUEST,
            "unknown parameter `trsut`",
        ),
        (
            "/v1/recovery?align=sideways",
            StatusCode::BAD_REQUEST,
            "align `sideways` is not `calendar` or `go_live`",
        ),
        (
            "/v1/recovery?align=go_live&align=calendar",
            StatusCode::BAD_REQUEST,
            "`align` is given more than once",
        ),
        (
            "/v1/recovery?aligned=go_live",
            StatusCode::BAD_REQUEST,
            "exclude_synthetic, format, bom, align",
        ),
        (
            "/v1/money?align=go_live",
            StatusCode::BAD_REQUEST,
            "unknown parameter `align`",
        ),
        (
            "/v1/recovery?trust=ZZZ&align=go_live",
            StatusCode::NOT_FOUND,
            "trust ZZZ has no events",
        ),
        (
            "/v1/head?trust=RAL",
            StatusCode::BAD_REQUEST,
            "takes no parameters",
        ),
        ("/v2/money", StatusCode::NOT_FOUND, "no such path"),
        (
            "/v1/money?evidence=yes",
            StatusCode::BAD_REQUEST,
            "evidence `yes` is not `true` or `false`",
        ),
        (
            "/v1/money?evidence=true&evidence_limit=0",
            StatusCode::BAD_REQUEST,
            "evidence_limit `0` is not from 1 to 1000",
        ),
        (
            "/v1/money?evidence=true&evidence_limit=1001",
            StatusCode::BAD_REQUEST,
            "evidence_limit `1001` is not from 1 to 1000",
        ),
        (
            "/v1/lost-patients?evidence=true&evidence_offset=-1",
            StatusCode::BAD_REQUEST,
            "evidence_offset `-1` is not a whole number",
        ),
        (
            "/v1/money?evidence_limit=5",
            StatusCode::BAD_REQUEST,
            "for evidence=true only",
        ),
        (
            "/v1/money?evidence=true&format=csv",
            StatusCode::BAD_REQUEST,
            "evidence=true is answered in JSON only",
        ),
        (
            "/v1/rollout?evidence=true",
            StatusCode::BAD_REQUEST,
            "unknown parameter `evidence`",
        ),
        (
            "/v1/events/not-an-id",
            StatusCode::BAD_REQUEST,
            "is not a UUID",
        ),
        (
            "/v1/events/00000000-0000-4000-8000-000000000000",
            StatusCode::NOT_FOUND,
            "is not in this ledger",
        ),
    ];
    for (uri, status, message) in cases {
        let g = get(&st, uri).await;
        assert_eq!(g.status, *status, "{uri}");
        let v = g.json();
        assert_eq!(v["error"]["status"], status.as_u16(), "{uri}");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains(message), "{uri}: {m}");
    }
    // Errors of routes that parse their own parameters are JSON too.
    let g = get(&st, "/v1/proof/inclusion?seq=abc").await;
    assert_eq!(g.status, StatusCode::BAD_REQUEST);
    assert!(
        g.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(g.json()["error"]["status"], 400);
    assert!(!g.json()["error"]["message"].as_str().unwrap().is_empty());
    let g = call(&st, Method::POST, "/v1/money").await;
    assert_eq!(g.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(g.json()["error"]["status"], 405);
    // `+00:00` sent properly encoded is UTC and fine.
    let g = get(&st, "/v1/money?as_of=2008-06-15T09:00:00%2B00:00").await;
    assert_eq!(g.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_as_of_answers_use_the_cache() {
    // Proves /metrics is Prometheus text with the HTTP histogram by route template, and that a
    // repeated as-of query is answered from the cache rather than replayed again: the same
    // answer from the answer cache, other views of the same moment from the as-of cache.
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let first = get(&st, "/v1/money?as_of_seq=45").await;
    assert_eq!(first.status, StatusCode::OK);
    let again = get(&st, "/v1/money?as_of_seq=45").await;
    assert_eq!(again.body, first.body);
    for path in ["/v1/rollout?as_of_seq=45", "/v1/lost-patients?as_of_seq=45"] {
        assert_eq!(get(&st, path).await.status, StatusCode::OK);
    }
    assert_eq!(get(&st, "/v1/nope").await.status, StatusCode::NOT_FOUND);
    let g = get(&st, "/metrics").await;
    assert_eq!(g.status, StatusCode::OK);
    assert!(
        g.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(g.body).unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("golive_head_seq"), scenario_len() as f64);
    assert_eq!(value("golive_as_of_computed_total"), 1.0);
    assert_eq!(value("golive_as_of_cache_hits_total"), 2.0);
    // Replayed from the nearest snapshot at or before 45, not from zero.
    let (cp, _) = st.store.snapshot_at_or_before(45).unwrap().unwrap();
    assert!(cp > 30, "snapshot {cp}");
    assert_eq!(
        value("golive_as_of_replayed_records_total"),
        (45 - cp) as f64
    );
    assert_eq!(
        value("golive_http_request_seconds_count{route=\"/v1/money\"}"),
        2.0
    );
    assert_eq!(
        value("golive_http_requests_total{route=\"unmatched\",code=\"4xx\"}"),
        1.0
    );
    assert!(text.contains("# TYPE golive_append_batch_seconds histogram"));
    assert!(text.contains("golive_consumer_lag_messages 0"));
}

#[tokio::test]
async fn every_route_answers_only_the_roles_the_document_gives_it() {
    // Proves the access rule of each documented path (`x-golive-role`, none = public): 401 with
    // a JSON error and `WWW-Authenticate` without a token or with an unknown one, 403 for a role
    // below the route's, 200 from the route's role up.
    use golive_http::auth::{new_token, token_hash_hex};
    use golive_http::{Auth, Role, TokenEntry};
    let dir = tempfile::tempdir().unwrap();
    let tokens: Vec<(Role, String)> = [Role::Analyst, Role::Auditor, Role::Admin]
        .into_iter()
        .map(|r| (r, new_token().unwrap()))
        .collect();
    let auth = Auth::from_tokens(
        tokens
            .iter()
            .map(|(r, t)| TokenEntry::new(r.as_str(), *r, &token_hash_hex(t)).unwrap())
            .collect(),
    )
    .unwrap();
    let st = state(dir.path()).with_auth(auth);
    let doc = doc();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let uri = match path.as_str() {
            "/v1/proof/inclusion" => "/v1/proof/inclusion?seq=1".to_owned(),
            "/v1/proof/consistency" => "/v1/proof/consistency?from=1".to_owned(),
            p => concrete(p),
        };
        let needs: Option<Role> = item["get"]["x-golive-role"]
            .as_str()
            .map(|r| r.parse().unwrap());
        let Some(needs) = needs else {
            assert_eq!(
                get(&st, &uri).await.status,
                StatusCode::OK,
                "{uri} is public"
            );
            continue;
        };
        for token in [None, Some("glt_not-a-token")] {
            let g = call_with(&st, Method::GET, &uri, token).await;
            assert_eq!(g.status, StatusCode::UNAUTHORIZED, "{uri} with {token:?}");
            assert_eq!(g.json()["error"]["status"], 401);
            assert!(g.headers.contains_key("www-authenticate"), "{uri}");
        }
        for (role, token) in &tokens {
            let g = call_with(&st, Method::GET, &uri, Some(token)).await;
            let want = if *role >= needs {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(g.status, want, "{uri} as {role:?}");
            if want == StatusCode::FORBIDDEN {
                let msg = g.json()["error"]["message"].as_str().unwrap().to_owned();
                assert!(msg.contains(needs.as_str()), "{msg}");
                assert!(
                    !msg.contains(token.as_str()),
                    "a token must never be echoed"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked} guarded paths");
}

#[tokio::test]
async fn dead_letters_page_by_id_for_admins() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    {
        let l = st.ledger.lock().unwrap();
        for i in 0..5 {
            l.store()
                .add_dead_letter(golive_store::NewDeadLetter {
                    origin: format!("golive.events.RAL.incident#{i}"),
                    raw: vec![b'{', 0xff, b'0' + i],
                    field: Some("kind".to_owned()),
                    reason: "unknown kind".to_owned(),
                    received_at: chrono::Utc::now(),
                    event_id: None,
                })
                .unwrap();
        }
    }
    let a = get(&st, "/v1/dead-letters?limit=2").await.json();
    assert_eq!(a["total"], 5);
    assert_eq!(a["dead_letters"].as_array().unwrap().len(), 2);
    assert_eq!(a["dead_letters"][0]["id"], 1);
    assert_eq!(a["dead_letters"][0]["field"], "kind");
    assert_eq!(a["next_from_id"], 3);
    let b = get(&st, "/v1/dead-letters?from_id=5").await.json();
    assert_eq!(b["dead_letters"][0]["id"], 5);
    assert!(b["next_from_id"].is_null());
    assert_eq!(
        get(&st, "/v1/dead-letters?limit=0").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn readyz_is_503_naming_each_missing_part_and_200_once_all_hold() {
    // Proves /readyz's contract without NATS: 503 with a JSON reason per unmet condition (no
    // consumer loop yet, NATS lost, a lag over the bound), each matching the documented schema,
    // and 200 `{"ready": true}` once every part is up; /healthz answers `ok` all along.
    let dir = tempfile::tempdir().unwrap();
    let readiness = Arc::new(Readiness::new(100));
    let st = state(dir.path()).with_readiness(readiness.clone());
    let doc = doc();
    let schema = |status: &str| validator(&doc, &answer_pointer("/readyz", status));
    let ready = async |want: StatusCode| {
        let g = get(&st, "/readyz").await;
        assert_eq!(g.status, want, "{}", g.json());
        let v = g.json();
        let errs = violations(&schema(g.status.as_str()), &v);
        assert!(errs.is_empty(), "{}", errs.join("\n"));
        assert_eq!(get(&st, "/healthz").await.status, StatusCode::OK);
        v
    };
    let parts = |v: &Value| -> Vec<String> {
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().split(':').next().unwrap().to_owned())
            .collect()
    };
    let v = ready(StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(v["ready"], false);
    assert_eq!(parts(&v), ["store", "nats", "consumer"]);
    readiness.set_store_open(true);
    readiness.set_nats_connected(true);
    readiness.set_consuming(true);
    let v = ready(StatusCode::OK).await;
    assert_eq!(v["ready"], true);
    assert_eq!(v["reasons"], serde_json::json!([]));
    readiness.set_nats_connected(false);
    assert_eq!(
        parts(&ready(StatusCode::SERVICE_UNAVAILABLE).await),
        ["nats"]
    );
    readiness.set_nats_connected(true);
    st.metrics.set_consumer_lag(101);
    let v = ready(StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(parts(&v), ["lag"]);
    assert_eq!(v["consumer_lag_messages"], 101);
    assert_eq!(v["lag_max_messages"], 100);
    st.metrics.set_consumer_lag(100);
    ready(StatusCode::OK).await;
}

/// A log sink for a test's subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_request_is_logged_with_route_status_and_token_name_never_the_token() {
    // Proves the access log: one JSON line per request at info level with method, route
    // template (not the query), status, latency and the token's name (`-` without one), for
    // answered, refused (401, 403) and unknown requests alike; no token appears anywhere.
    use golive_http::auth::{new_token, token_hash_hex};
    use golive_http::{Auth, Role, TokenEntry};
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(logs.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (new_token().unwrap(), new_token().unwrap());
    let auth = Auth::from_tokens(vec![
        TokenEntry::new("alice", Role::Analyst, &token_hash_hex(&alice)).unwrap(),
        TokenEntry::new("bob", Role::Admin, &token_hash_hex(&bob)).unwrap(),
    ])
    .unwrap();
    let st = state(dir.path()).with_auth(auth);
    let calls = [
        (
            "/v1/money?trust=RAL",
            Some(alice.as_str()),
            200,
            "/v1/money",
            "alice",
        ),
        (
            "/v1/events",
            Some(alice.as_str()),
            403,
            "/v1/events",
            "alice",
        ),
        ("/v1/money", None, 401, "/v1/money", "-"),
        ("/metrics", Some(bob.as_str()), 200, "/metrics", "bob"),
        ("/healthz", Some(bob.as_str()), 200, "/healthz", "-"),
        ("/v1/nope?x=1", None, 404, "unmatched", "-"),
    ];
    // Tests on other threads, with no subscriber, may have registered the access log's
    // callsite as uninteresting while this one's subscriber was being made: ask again.
    tracing::callsite::rebuild_interest_cache();
    for (uri, token, status, _, _) in calls {
        let g = call_with(&st, Method::GET, uri, token).await;
        assert_eq!(g.status.as_u16(), status, "{uri}");
    }
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains(&alice) && !text.contains(&bob), "{text}");
    let access: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["target"] == "golive_http::access")
        .collect();
    assert_eq!(access.len(), calls.len(), "{text}");
    for (v, (uri, _, status, route, name)) in access.iter().zip(calls) {
        let f = &v["fields"];
        assert_eq!(v["level"], "INFO", "{uri}");
        assert_eq!(f["method"], "GET", "{uri}");
        assert_eq!(f["route"], route, "{uri}");
        assert_eq!(f["status"], status, "{uri}");
        assert_eq!(f["token"], name, "{uri}");
        assert!(f["latency_ms"].as_f64().unwrap() >= 0.0, "{uri}");
    }
}

/// Every path that documents `format` answers `format=csv` as the documented media type.
fn csv_paths() -> Vec<String> {
    let d = doc();
    let mut out = Vec::new();
    for (path, item) in d["paths"].as_object().unwrap() {
        let params = item["get"]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if params
            .iter()
            .any(|p| p["$ref"] == "#/components/parameters/format")
        {
            assert!(
                item["get"]["responses"]["200"]["content"]["text/csv"].is_object(),
                "{path} documents text/csv"
            );
            out.push(path.clone());
        }
    }
    out
}

#[tokio::test]
async fn every_projection_answers_csv_with_a_header_and_the_json_answer_s_figures() {
    // Proves: each projection endpoint answers `format=csv` as RFC 4180 text with a header row
    // ending in `synthetic`, named for download and with the as-of header; `bom=true` puts the
    // byte-order mark first; RAL's money CSV at a past seq adds up (headline rows, recovered
    // income negative) to the JSON answer's net cost at that seq; a second ask is the cache's
    // same bytes.
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let paths = csv_paths();
    assert!(paths.len() >= 12, "{paths:?}");
    for path in &paths {
        let g = get(&st, &format!("{path}?format=csv")).await;
        assert_eq!(g.status, StatusCode::OK, "{path}");
        let ct = g.headers["content-type"].to_str().unwrap();
        assert!(ct.starts_with("text/csv"), "{path}: {ct}");
        let cd = g.headers["content-disposition"].to_str().unwrap();
        assert!(cd.contains(".csv"), "{path}: {cd}");
        assert_eq!(
            g.headers["x-golive-as-of-seq"].to_str().unwrap(),
            scenario_len().to_string()
        );
        let text = String::from_utf8(g.body.clone()).unwrap();
        let header = text.split("\r\n").next().unwrap();
        assert!(
            header.ends_with(",synthetic") || header == "trust,synthetic",
            "{path}: {header}"
        );
        let again = get(&st, &format!("{path}?format=csv")).await;
        assert_eq!(again.body, g.body, "{path}");
    }
    let bom = get(&st, "/v1/money?format=csv&bom=true").await;
    assert_eq!(&bom.body[..3], [0xEF, 0xBB, 0xBF]);
    let seq = scenario_len() - 20;
    let json = get(&st, &format!("/v1/money?trust=RAL&as_of_seq={seq}"))
        .await
        .json();
    let want = json["data"]["trusts"]["RAL"]["total"]["net_cost_pence"]
        .as_i64()
        .unwrap();
    let csv = get(
        &st,
        &format!("/v1/money?trust=RAL&as_of_seq={seq}&format=csv"),
    )
    .await;
    let mut r = csv::Reader::from_reader(&csv.body[..]);
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (measure, status, pence) = (col("measure"), col("status"), col("amount_pence"));
    let mut net = 0i64;
    for row in r.records() {
        let row = row.unwrap();
        let p: i64 = row[pence].parse().unwrap();
        match (&row[status], &row[measure]) {
            ("headline", "income_recovered") => net -= p,
            ("headline", _) => net += p,
            _ => {}
        }
    }
    assert!(want > 0);
    assert_eq!(net, want);
}
