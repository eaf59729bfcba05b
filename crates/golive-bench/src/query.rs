//! `golive-bench query`: latency of the analyst API under concurrent load.
//!
//! Builds a ledger of N simulated events (snapshots as configured), serves the HTTP API
//! in-process on a free loopback port, and sends requests from C concurrent clients (tasks of
//! one load thread, a keep-alive HTTP/1.1 connection per client; see `load` for why not a
//! thread per client). Each
//! scenario measures the latency of every request, client side (connect excluded, response body
//! read included), and reports percentiles and throughput.
//!
//! Scenarios:
//! The scenarios ask about ZZ001, the first simulated trust (the bench's events have fictional
//! codes; `trust=RAL`, which earlier rounds asked for, is answered 404 by today's API, so those
//! rounds' figures after the 404 was introduced timed a refusal, not a view).
//! - `head`: `/v1/money?trust=ZZ001` at the live head (lock, build view, unlock, encode);
//! - `as-of, same seq`: `/v1/money?trust=ZZ001&as_of_seq=N/2`, the same sequence again and again,
//!   served from the as-of cache after the first computation;
//! - `as-of one trust, distinct seqs`: a different sequence on every request, spread over the
//!   whole log, so each one is computed: nearest snapshot (a snapshot read and parsed) plus the
//!   replay of the records after it (on average half a snapshot interval); the dashboard's
//!   question when its time slider moves;
//! - `as-of whole ledger, distinct seqs`: the same for `/v1/money?as_of_seq=N`, every trust;
//! - `known-at one trust, distinct times` and `known-at whole ledger, distinct times`:
//!   `/v1/money?trust=ZZ001&known_at=T` and `/v1/money?known_at=T` at the head, a different time
//!   on every request, spread over the log's `recorded_at` span.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use golive_ledger::{Ledger, LedgerError, LedgerOptions};
use golive_model::Envelope;
use golive_projections::WarningRules;
use golive_store::Incoming;
use serde::Serialize;

use golive::simulate::{SimParams, Simulation};

/// Latencies of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioFigures {
    pub name: String,
    /// The first request's path (distinct-seq scenarios vary `as_of_seq`).
    pub example_path: String,
    pub requests: u64,
    pub clients: usize,
    pub errors: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub requests_per_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryReport {
    pub events: u64,
    pub trusts: usize,
    pub head_seq: u64,
    pub snapshot_every_events: u64,
    pub snapshots: u64,
    pub build_secs: f64,
    /// Building the money history from the log (`golive_ledger::build_money_history`).
    pub money_history_secs: f64,
    pub load_tool: &'static str,
    pub scenarios: Vec<ScenarioFigures>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryBenchError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] golive_store::StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct QueryBenchParams {
    pub events: u64,
    pub trusts: usize,
    pub seed: u64,
    pub clients: usize,
    /// Requests per cached scenario (head, as-of same seq).
    pub requests: u64,
    /// Requests of the distinct-seq as-of scenario (each one replays).
    pub cold_requests: u64,
    pub snapshot_every_events: u64,
    /// Keep serving this long after measuring (for an external load tool), printing the URL.
    pub serve_secs: u64,
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// Sends `requests` GETs from `clients` concurrent keep-alive connections; `path(i)` is the
/// i-th request's path.
///
/// Closed loop: each client sends its next request when the answer to the last one is read.
/// The clients are tasks of ONE thread (a current-thread tokio runtime) rather than an OS
/// thread each: on a 2-core machine 32 client threads compete with the server for the cores
/// and their run queue, not the server, dominated the tail (p99 15 ms with 0.2 ms for one
/// client). One load thread leaves the server its cores, as a load generator on another
/// machine would; the server still has up to `clients` requests to serve at once.
fn load(
    base: &str,
    name: &str,
    clients: usize,
    requests: u64,
    path: &(dyn Fn(u64) -> String + Sync),
) -> ScenarioFigures {
    load_as(base, name, &Caller::default(), clients, requests, path)
}

/// Who the load generator's requests come from: a bearer token, a local address to connect
/// from (127.0.0.2, ... are loopback too: another client address for the per-address limit),
/// and a flag that ends the load early.
#[derive(Default)]
pub(crate) struct Caller<'a> {
    pub token: Option<&'a str>,
    pub from: Option<std::net::IpAddr>,
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
    /// Each client sends a request at most every this many ms (an open loop below a rate
    /// limit) instead of as soon as the last answer is read.
    pub pace_ms: Option<u64>,
}

/// [`load`] with the requests of `caller`.
pub(crate) fn load_as(
    base: &str,
    name: &str,
    caller: &Caller<'_>,
    clients: usize,
    requests: u64,
    path: &(dyn Fn(u64) -> String + Sync),
) -> ScenarioFigures {
    let addr = base.trim_start_matches("http://").to_owned();
    let stopped = || {
        caller
            .stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
    };
    let next = std::sync::atomic::AtomicU64::new(0);
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime for the load generator");
    let results: Vec<(Vec<Duration>, u64)> = rt.block_on(async {
        let tasks = (0..clients).map(|_| async {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut conn: Option<HttpConn> = None;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests || stopped() {
                    break;
                }
                let target = path(i);
                if conn.is_none() {
                    // Connecting is not part of a request's latency (keep-alive, as ureq did).
                    conn = HttpConn::connect(&addr, caller.from).await.ok();
                }
                let t = Instant::now();
                let ok = match conn.as_mut() {
                    Some(c) => match c.get(&addr, &target, caller.token).await {
                        Ok(status) => status == 200,
                        Err(_) => {
                            conn = None; // a broken connection is replaced for the next one
                            false
                        }
                    },
                    None => false,
                };
                lat.push(t.elapsed());
                errors += u64::from(!ok);
                if let Some(ms) = caller.pace_ms {
                    tokio::time::sleep(Duration::from_millis(ms).saturating_sub(t.elapsed())).await;
                }
            }
            (lat, errors)
        });
        futures::future::join_all(tasks).await
    });
    figures(
        name,
        path(0),
        clients,
        results,
        started.elapsed().as_secs_f64(),
    )
}

/// The percentiles of each client's (latencies, errors) over `wall` seconds.
fn figures(
    name: &str,
    example_path: String,
    clients: usize,
    results: Vec<(Vec<Duration>, u64)>,
    wall: f64,
) -> ScenarioFigures {
    let errors = results.iter().map(|(_, e)| e).sum();
    let mut all: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
    all.sort_unstable();
    ScenarioFigures {
        name: name.to_owned(),
        example_path,
        requests: all.len() as u64,
        clients,
        errors,
        p50_ms: percentile(&all, 0.50),
        p90_ms: percentile(&all, 0.90),
        p99_ms: percentile(&all, 0.99),
        max_ms: all.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        requests_per_s: all.len() as f64 / wall.max(1e-9),
    }
}

/// One keep-alive HTTP/1.1 connection of the load generator: GET only, the whole answer read
/// (`Content-Length` or chunked), its bytes dropped.
struct HttpConn {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    line: String,
}

impl HttpConn {
    async fn connect(addr: &str, from: Option<std::net::IpAddr>) -> std::io::Result<Self> {
        let tcp = match from {
            None => tokio::net::TcpStream::connect(addr).await?,
            Some(ip) => {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.bind(std::net::SocketAddr::new(ip, 0))?;
                let to = tokio::net::lookup_host(addr)
                    .await?
                    .next()
                    .ok_or_else(|| std::io::Error::other("no address"))?;
                socket.connect(to).await?
            }
        };
        tcp.set_nodelay(true)?;
        Ok(Self {
            stream: tokio::io::BufReader::new(tcp),
            line: String::new(),
        })
    }

    /// Sends `GET target` and reads the whole answer; returns its status.
    async fn get(&mut self, host: &str, target: &str, token: Option<&str>) -> std::io::Result<u16> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n");
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        self.line.clear();
        if self.stream.read_line(&mut self.line).await? == 0 {
            return Err(bad("connection closed"));
        }
        let status: u16 = self
            .line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no status line"))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            self.line.clear();
            if self.stream.read_line(&mut self.line).await? == 0 {
                return Err(bad("connection closed in the headers"));
            }
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("content-length") {
                    length = Some(v.parse::<u64>().map_err(|_| bad("content-length"))?);
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = v.eq_ignore_ascii_case("chunked");
                }
            }
        }
        let mut sink = tokio::io::sink();
        if chunked {
            loop {
                self.line.clear();
                self.stream.read_line(&mut self.line).await?;
                let size =
                    u64::from_str_radix(self.line.trim_end().split(';').next().unwrap_or(""), 16)
                        .map_err(|_| bad("chunk size"))?;
                // The chunk and its CRLF; the last (empty) chunk ends with one more CRLF.
                tokio::io::copy(&mut (&mut self.stream).take(size + 2), &mut sink).await?;
                if size == 0 {
                    break;
                }
            }
        } else {
            let n = length.ok_or_else(|| bad("neither content-length nor chunked"))?;
            let copied = tokio::io::copy(&mut (&mut self.stream).take(n), &mut sink).await?;
            if copied != n {
                return Err(bad("answer cut short"));
            }
        }
        Ok(status)
    }
}

/// Builds the ledger of `p.events` simulated events under `dir`, serves it, measures every
/// scenario.
pub fn query_bench(dir: &Path, p: QueryBenchParams) -> Result<QueryReport, QueryBenchError> {
    query_bench_over(
        dir,
        Simulation::new(SimParams::new(p.seed, p.trusts, p.events)),
        p,
    )
}

/// [`query_bench`] over given events (`golive-bench all` passes the ones its other parts use).
pub fn query_bench_over(
    dir: &Path,
    events: impl IntoIterator<Item = Envelope>,
    p: QueryBenchParams,
) -> Result<QueryReport, QueryBenchError> {
    std::fs::create_dir_all(dir)?;
    let started = Instant::now();
    let ledger = build_ledger(dir, events, p.snapshot_every_events)?;
    let build_secs = started.elapsed().as_secs_f64();
    let head = ledger.head().seq;
    let snapshots = ledger.store().snapshot_seqs()?.len() as u64;
    tracing::info!(head, snapshots, build_secs, "bench ledger built");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Built before serving, as `golive serve` builds it at start: money as-of answers are
    // measured as they are served once it is.
    let ledger = Arc::new(Mutex::new(ledger));
    let started = Instant::now();
    golive_ledger::build_money_history(&ledger)?;
    let money_history_secs = started.elapsed().as_secs_f64();
    let recorded = |seq: u64| {
        ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .store()
            .get(seq)
            .map(|r| r.map(|r| r.envelope.recorded_at))
    };
    let span = match (recorded(1)?, recorded(head)?) {
        (Some(a), Some(b)) => (a.min(b), a.max(b)),
        _ => (Utc::now(), Utc::now()),
    };
    let server = InProcessServer::start(&rt, ledger)?;
    let scenarios = scenarios(&server.base, head, span, &p);
    if p.serve_secs > 0 {
        println!(
            "serving {base} for {} s (e.g. wrk -t2 -c32 -d20s --latency '{base}/v1/money?trust=ZZ001')",
            p.serve_secs,
            base = server.base,
        );
        std::thread::sleep(Duration::from_secs(p.serve_secs));
    }
    server.stop(&rt);
    Ok(QueryReport {
        events: p.events,
        trusts: p.trusts,
        head_seq: head,
        snapshot_every_events: p.snapshot_every_events,
        snapshots,
        build_secs,
        money_history_secs,
        load_tool: "golive bench query: one load thread, a keep-alive connection per client (closed loop), in-process axum server",
        scenarios,
    })
}

/// A ledger under `dir` holding `events`, appended in batches of 1,000, with a projection
/// snapshot every `snapshot_every_events` and one at the head.
pub(crate) fn build_ledger(
    dir: &Path,
    events: impl IntoIterator<Item = Envelope>,
    snapshot_every_events: u64,
) -> Result<Ledger, QueryBenchError> {
    let mut ledger = Ledger::open(
        &dir.join("ledger"),
        LedgerOptions {
            snapshot_every_events: snapshot_every_events.max(1),
            ..LedgerOptions::default()
        },
    )?;
    let mut batch = Vec::with_capacity(1_000);
    for e in events {
        batch.push(Incoming::new(e, None, Utc::now()));
        if batch.len() == 1_000 {
            ledger.append(std::mem::take(&mut batch))?;
        }
    }
    if !batch.is_empty() {
        ledger.append(batch)?;
    }
    ledger.write_snapshot()?;
    Ok(ledger)
}

/// The HTTP API over the bench's ledger on a free loopback port, served by `rt`.
pub(crate) struct InProcessServer {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    stop_tx: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl InProcessServer {
    fn start(rt: &tokio::runtime::Runtime, ledger: Arc<Mutex<Ledger>>) -> std::io::Result<Self> {
        let state = golive_http::AppState::new(ledger, Arc::new(WarningRules::default()));
        Self::start_with(rt, state)
    }

    /// Serves `state` on a free loopback port.
    pub(crate) fn start_with(
        rt: &tokio::runtime::Runtime,
        state: golive_http::AppState,
    ) -> std::io::Result<Self> {
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = rt.spawn(golive_http::serve_on(listener, state, async move {
            let _ = stop_rx.await;
        }));
        Ok(Self {
            base,
            stop_tx,
            task,
        })
    }

    /// Stops the server and waits for it to end.
    pub(crate) fn stop(self, rt: &tokio::runtime::Runtime) {
        let _ = self.stop_tx.send(());
        let _ = rt.block_on(self.task);
    }
}

/// Warms up, then measures every scenario against the server at `base` (ledger head `head`).
/// A time spread by a prime stride over `span` (first and last `recorded_at` of the log) but
/// its first sixteenth, so that the trust asked about has events by then: the i-th of the
/// known-at scenarios' distinct times.
fn known_at_time(span: (DateTime<Utc>, DateTime<Utc>), i: u64) -> String {
    let secs = (span.1 - span.0).num_seconds().max(16) as u64;
    let offset = secs / 16 + (i * 104_729 * 60) % (secs - secs / 16);
    golive_model::format_time(&(span.0 + chrono::Duration::seconds(offset as i64)))
}

fn scenarios(
    base: &str,
    head: u64,
    span: (DateTime<Utc>, DateTime<Utc>),
    p: &QueryBenchParams,
) -> Vec<ScenarioFigures> {
    let half = head / 2;
    let clients = p.clients.max(1);
    // Warm-up: connections, allocator, the as-of cache entry of the same-seq scenario.
    load(base, "warm-up", clients, (clients as u64) * 4, &|_| {
        "/v1/money?trust=ZZ001".to_owned()
    });
    load(base, "warm-up", 1, 1, &|_| {
        format!("/v1/money?trust=ZZ001&as_of_seq={half}")
    });
    let mut scenarios = vec![
        load(base, "projection at the head", clients, p.requests, &|_| {
            "/v1/money?trust=ZZ001".to_owned()
        }),
        load(
            base,
            "as-of, same seq (cached)",
            clients,
            p.requests,
            &|_| format!("/v1/money?trust=ZZ001&as_of_seq={half}"),
        ),
    ];
    if p.cold_requests > 0 {
        // Sequences spread over the whole log by a prime stride: distinct (so never cached),
        // each between two snapshots at a different distance from the one before it.
        let seq = |i: u64| 1 + (half + i * 104_729) % head.max(1);
        scenarios.push(load(
            base,
            "as-of one trust, distinct seqs (computed)",
            clients,
            p.cold_requests,
            &|i| format!("/v1/money?trust=ZZ001&as_of_seq={}", seq(i)),
        ));
        // Other sequences than the one-trust scenario's, so none is in the as-of cache.
        scenarios.push(load(
            base,
            "as-of whole ledger, distinct seqs (computed)",
            clients,
            p.cold_requests,
            &|i| format!("/v1/money?as_of_seq={}", seq(i + p.cold_requests)),
        ));
        // Known at distinct times (at the head): what had been recorded by then.
        scenarios.push(load(
            base,
            "known-at one trust, distinct times (computed)",
            clients,
            p.cold_requests,
            &|i| format!("/v1/money?trust=ZZ001&known_at={}", known_at_time(span, i)),
        ));
        scenarios.push(load(
            base,
            "known-at whole ledger, distinct times (computed)",
            clients,
            p.cold_requests,
            &|i| {
                format!(
                    "/v1/money?known_at={}",
                    known_at_time(span, i + p.cold_requests)
                )
            },
        ));
    }
    scenarios
}

/// The table printed by `golive-bench query`.
pub fn query_table(r: &QueryReport) -> String {
    let mut s = format!(
        "{} events ({} trusts), head seq {}, snapshot every {} events ({} kept), ledger built in {:.1} s, money history in {:.1} s\n",
        r.events,
        r.trusts,
        r.head_seq,
        r.snapshot_every_events,
        r.snapshots,
        r.build_secs,
        r.money_history_secs
    );
    s.push_str(&format!(
        "{:<44} {:>8} {:>7} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "scenario",
        "requests",
        "clients",
        "errors",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "req/s"
    ));
    for x in &r.scenarios {
        s.push_str(&format!(
            "{:<44} {:>8} {:>7} {:>6} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.0}\n",
            x.name,
            x.requests,
            x.clients,
            x.errors,
            x.p50_ms,
            x.p90_ms,
            x.p99_ms,
            x.max_ms,
            x.requests_per_s
        ));
    }
    for x in &r.scenarios {
        s.push_str(&format!("  {}: GET {}\n", x.name, x.example_path));
    }
    s
}
