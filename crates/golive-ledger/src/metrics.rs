//! Counters, gauges and histograms of the ledger service and its HTTP API, rendered as
//! Prometheus text (exposition format 0.0.4).
//!
//! A small registry of our own rather than a metrics crate: a fixed set of series, each an
//! atomic (or a fixed array of atomic bucket counts), so recording is a few relaxed atomic adds
//! on the append and request paths and never allocates. The HTTP series are keyed by route
//! template (`/v1/money`, not `/v1/money?trust=RAL`), so their number is bounded by the router.
//!
//! One [`Metrics`] is shared (`Arc`) by `golive_service::serve`, which counts what the consumer
//! loop does, and the HTTP layer, which times requests and renders the text at `/metrics`.
//! Beside them: figures read from the store when rendered ([`LedgerGauges::read`]: head, dead
//! letters, snapshots, the last signed checkpoint, free disk), `golive_build_info` and the
//! standard `process_*` series ([`process`]). `deploy/prometheus/golive-rules.yml` and
//! `deploy/grafana/golive.json` use these names; a test checks each one is rendered.

pub mod process;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use golive_store::{Store, StoreError};

/// Upper bounds (seconds) of the append batch latency buckets: decode, validate, one sled
/// write and flush, fold. A batch takes about a millisecond to tens of milliseconds.
pub const APPEND_BATCH_BUCKETS_S: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds (seconds) of the HTTP request latency buckets: a head query takes tens of
/// microseconds, an as-of query that replays from a snapshot up to seconds.
pub const HTTP_REQUEST_BUCKETS_S: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Most distinct HTTP routes tracked; requests beyond are counted under `other` (the router
/// has a fixed set, so this only guards against a bug).
pub const HTTP_ROUTES_MAX: usize = 64;

/// Tallies of one processed batch of the consumer loop (`golive_service::process_batch`),
/// defined here because [`Metrics::record_batch`] counts them.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchTally {
    pub appended: u64,
    /// Corrections whose target has not arrived yet (re-sent by their collector later).
    pub deferred: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
}

impl std::ops::AddAssign for BatchTally {
    fn add_assign(&mut self, other: Self) {
        self.appended += other.appended;
        self.deferred += other.deferred;
        self.duplicates += other.duplicates;
        self.dead_lettered += other.dead_lettered;
    }
}

/// A cumulative histogram with fixed bucket bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds_s: &'static [f64],
    /// One count per bound (observations <= bound and > the previous one), then `+Inf`.
    buckets: Vec<AtomicU64>,
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds_s: &'static [f64]) -> Self {
        assert!(
            bounds_s.windows(2).all(|w| w[0] < w[1]),
            "histogram bounds must increase"
        );
        Self {
            bounds_s,
            buckets: (0..=bounds_s.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = self
            .bounds_s
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(self.bounds_s.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// `name_bucket{labels,le=..}` lines (cumulative), `name_sum`, `name_count`.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0u64;
        for (i, b) in self.bounds_s.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        cumulative += self.buckets[self.bounds_s.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        );
        let braces = |l: &str| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{{{l}}}")
            }
        };
        let _ = writeln!(
            out,
            "{name}_sum{} {}",
            braces(labels),
            self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        // The count written is the cumulative bucket total, so the two always agree even when
        // an observation lands between the reads.
        let _ = writeln!(out, "{name}_count{} {cumulative}", braces(labels));
    }
}

/// Requests of one route: latency, and counts by status class (1xx..5xx).
#[derive(Debug)]
struct RouteStats {
    latency: Histogram,
    by_class: [AtomicU64; 5],
}

impl RouteStats {
    fn new() -> Self {
        Self {
            latency: Histogram::new(HTTP_REQUEST_BUCKETS_S),
            by_class: Default::default(),
        }
    }
}

/// Figures read from the store when the metrics are rendered (not counted as they happen).
#[derive(Debug, Clone, Copy, Default)]
pub struct LedgerGauges {
    pub head_seq: u64,
    pub dead_letters_stored: u64,
    pub snapshots_stored: u64,
    /// Tree size of the latest signed checkpoint in the store (0: none yet).
    pub checkpoint_signed_size: u64,
    /// When it was signed (its `time` extension), seconds since the Unix epoch.
    pub checkpoint_signed_unix_s: Option<u64>,
    /// Bytes free on the store's file system, if the system says.
    pub disk_free_bytes: Option<u64>,
}

impl LedgerGauges {
    /// The figures of `store` now.
    pub fn read(store: &Store) -> Result<Self, StoreError> {
        let latest = store.latest_signed_checkpoint()?;
        Ok(Self {
            head_seq: store.head().seq,
            dead_letters_stored: store.dead_letter_count(),
            snapshots_stored: store.snapshot_seqs()?.len() as u64,
            checkpoint_signed_size: latest.as_ref().map_or(0, |(size, _)| *size),
            checkpoint_signed_unix_s: latest.as_ref().and_then(|(_, note)| signed_at(note)),
            disk_free_bytes: store.disk_free_bytes(),
        })
    }
}

/// The `time` extension of a signed checkpoint note, as seconds since the Unix epoch.
fn signed_at(note: &str) -> Option<u64> {
    let text = &note[..note.rfind("\n\n")? + 1];
    let checkpoint = golive_verify::Checkpoint::parse(text).ok()?;
    let t = chrono::DateTime::parse_from_rfc3339(checkpoint.time()?).ok()?;
    u64::try_from(t.timestamp()).ok()
}

/// Everything `/metrics` shows. Counters count since this process started.
#[derive(Debug)]
pub struct Metrics {
    /// Events appended to the log by the consumer loop.
    pub events_appended: AtomicU64,
    /// Events whose id was already in the log (re-deliveries, re-publishes).
    pub duplicates_skipped: AtomicU64,
    /// Messages refused to the dead letters by the consumer loop.
    pub dead_letters: AtomicU64,
    /// Corrections that arrived before the event they correct (re-sent later).
    pub corrections_deferred: AtomicU64,
    /// Messages taken off the stream.
    pub messages_consumed: AtomicU64,
    /// Messages the consumer still has to deliver after the last fetch: JetStream's `pending`
    /// of the last message fetched, 0 after a fetch that found nothing.
    pub consumer_lag: AtomicU64,
    /// Decode, validate, append (one sled write, flushed) and fold of one fetched batch.
    pub append_batch: Histogram,
    /// As-of answers served from the cache of recent as-of projections.
    pub as_of_cache_hits: AtomicU64,
    /// As-of answers computed (nearest snapshot plus replay).
    pub as_of_computed: AtomicU64,
    /// Records replayed on top of snapshots for as-of answers.
    pub as_of_replayed_records: AtomicU64,
    /// Money as-of answers from the money history (no fold).
    pub as_of_money_history: AtomicU64,
    /// 1 once the money history is built and installed (until then money as-of answers are
    /// folds like the others).
    pub money_history_ready: AtomicU64,
    http: RwLock<BTreeMap<String, RouteStats>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            events_appended: AtomicU64::new(0),
            duplicates_skipped: AtomicU64::new(0),
            dead_letters: AtomicU64::new(0),
            corrections_deferred: AtomicU64::new(0),
            messages_consumed: AtomicU64::new(0),
            consumer_lag: AtomicU64::new(0),
            append_batch: Histogram::new(APPEND_BATCH_BUCKETS_S),
            as_of_cache_hits: AtomicU64::new(0),
            as_of_computed: AtomicU64::new(0),
            as_of_replayed_records: AtomicU64::new(0),
            as_of_money_history: AtomicU64::new(0),
            money_history_ready: AtomicU64::new(0),
            http: RwLock::new(BTreeMap::new()),
        }
    }

    /// Counts one processed batch of the consumer loop.
    pub fn record_batch(&self, messages: u64, tally: &BatchTally, took: Duration) {
        add(&self.messages_consumed, messages);
        add(&self.events_appended, tally.appended);
        add(&self.duplicates_skipped, tally.duplicates);
        add(&self.dead_letters, tally.dead_lettered);
        add(&self.corrections_deferred, tally.deferred);
        self.append_batch.observe(took);
    }

    pub fn set_consumer_lag(&self, pending: u64) {
        self.consumer_lag.store(pending, Ordering::Relaxed);
    }

    /// Counts one HTTP request of `route` (a route template, or `unmatched`).
    pub fn record_http(&self, route: &str, status: u16, took: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        let record = |s: &RouteStats| {
            s.latency.observe(took);
            s.by_class[class].fetch_add(1, Ordering::Relaxed);
        };
        {
            let map = self.http.read().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = map.get(route) {
                record(s);
                return;
            }
        }
        let mut map = self.http.write().unwrap_or_else(|e| e.into_inner());
        let key = if map.len() >= HTTP_ROUTES_MAX && !map.contains_key(route) {
            "other"
        } else {
            route
        };
        record(map.entry(key.to_owned()).or_insert_with(RouteStats::new));
    }

    /// Requests counted for `route` so far (for tests).
    pub fn http_requests(&self, route: &str) -> u64 {
        let map = self.http.read().unwrap_or_else(|e| e.into_inner());
        map.get(route).map_or(0, |s| s.latency.count())
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self, gauges: &LedgerGauges) -> String {
        let mut out = String::with_capacity(8 * 1024);
        for s in &PLAIN_SERIES {
            let _ = writeln!(out, "# HELP {} {}", s.name, s.help);
            let _ = writeln!(out, "# TYPE {} {}", s.name, s.kind);
            if let Some(v) = (s.value)(self, gauges) {
                let _ = writeln!(out, "{} {v}", s.name);
            }
        }
        let _ = writeln!(
            out,
            "# HELP golive_append_batch_seconds Time to decode, validate, append durably (one write, flushed) and fold one fetched batch."
        );
        let _ = writeln!(out, "# TYPE golive_append_batch_seconds histogram");
        self.append_batch
            .render(&mut out, "golive_append_batch_seconds", "");
        self.render_http(&mut out);
        render_process(&mut out, false);
        out
    }

    /// What `/metrics` shows while `golive serve` stays up on a store it refused at open:
    /// `golive_store_open_refused 1`, the build and the process, nothing of the store.
    pub fn render_refused() -> String {
        let mut out = String::with_capacity(2 * 1024);
        render_process(&mut out, true);
        out
    }

    /// The HTTP series: requests by route and status class, then latency by route.
    fn render_http(&self, out: &mut String) {
        let map = self.http.read().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            out,
            "# HELP golive_http_requests_total HTTP requests answered, by route template and status class."
        );
        let _ = writeln!(out, "# TYPE golive_http_requests_total counter");
        for (route, s) in map.iter() {
            for (i, c) in s.by_class.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "golive_http_requests_total{{route=\"{}\",code=\"{}xx\"}} {n}",
                        escape(route),
                        i + 1
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP golive_http_request_seconds HTTP request latency (handler, including JSON encoding), by route template."
        );
        let _ = writeln!(out, "# TYPE golive_http_request_seconds histogram");
        for (route, s) in map.iter() {
            s.latency.render(
                out,
                "golive_http_request_seconds",
                &format!("route=\"{}\"", escape(route)),
            );
        }
    }
}

/// `golive_store_open_refused`, `golive_build_info` and the `process_*` series: what the
/// ledger's process shows whether or not its store is open.
fn render_process(out: &mut String, refused: bool) {
    let _ = writeln!(
        out,
        "# HELP golive_store_open_refused 1 while golive serve stays up on a store it refused at open (damaged, another format, no room; the reason is in its log), else 0."
    );
    let _ = writeln!(out, "# TYPE golive_store_open_refused gauge");
    let _ = writeln!(out, "golive_store_open_refused {}", u8::from(refused));
    render_build_and_process(out);
}

/// `golive_build_info` and the `process_*` series, for any golive process (the collector's
/// `--metrics` too).
pub fn render_build_and_process(out: &mut String) {
    let _ = writeln!(
        out,
        "# HELP golive_build_info The golive build serving: its version. Always 1."
    );
    let _ = writeln!(out, "# TYPE golive_build_info gauge");
    let _ = writeln!(
        out,
        "golive_build_info{{version=\"{}\"}} 1",
        escape(env!("CARGO_PKG_VERSION"))
    );
    if let Some(p) = process::ProcessStats::read() {
        p.render(out);
    }
}

/// A series of one value: a counter of [`Metrics`] or a gauge read from the store (left out
/// when the value is not known).
struct PlainSeries {
    name: &'static str,
    /// `counter` or `gauge`.
    kind: &'static str,
    help: &'static str,
    value: fn(&Metrics, &LedgerGauges) -> Option<u64>,
}

fn load(c: &AtomicU64) -> Option<u64> {
    Some(c.load(Ordering::Relaxed))
}

/// The single-value series, in the order `/metrics` shows them.
const PLAIN_SERIES: [PlainSeries; 18] = [
    PlainSeries {
        name: "golive_events_appended_total",
        kind: "counter",
        help: "Events appended to the ledger by the NATS consumer since start.",
        value: |m, _| load(&m.events_appended),
    },
    PlainSeries {
        name: "golive_duplicates_skipped_total",
        kind: "counter",
        help: "Events skipped because their event_id is already in the ledger.",
        value: |m, _| load(&m.duplicates_skipped),
    },
    PlainSeries {
        name: "golive_dead_letters_total",
        kind: "counter",
        help: "Messages refused to the dead letters by the NATS consumer since start.",
        value: |m, _| load(&m.dead_letters),
    },
    PlainSeries {
        name: "golive_corrections_deferred_total",
        kind: "counter",
        help: "Corrections that arrived before the event they correct (their collector re-sends them).",
        value: |m, _| load(&m.corrections_deferred),
    },
    PlainSeries {
        name: "golive_messages_consumed_total",
        kind: "counter",
        help: "Messages fetched from the JetStream consumer since start.",
        value: |m, _| load(&m.messages_consumed),
    },
    PlainSeries {
        name: "golive_consumer_lag_messages",
        kind: "gauge",
        help: "Messages still to be delivered to the ledger's consumer (JetStream pending of the last fetched message; 0 after an empty fetch).",
        value: |m, _| load(&m.consumer_lag),
    },
    PlainSeries {
        name: "golive_head_seq",
        kind: "gauge",
        help: "Sequence number of the last durable record of the ledger.",
        value: |_, g| Some(g.head_seq),
    },
    PlainSeries {
        name: "golive_dead_letters_stored",
        kind: "gauge",
        help: "Dead letters held in the store (all time).",
        value: |_, g| Some(g.dead_letters_stored),
    },
    PlainSeries {
        name: "golive_snapshots_stored",
        kind: "gauge",
        help: "Projection snapshots held in the store (as-of queries start from them).",
        value: |_, g| Some(g.snapshots_stored),
    },
    PlainSeries {
        name: "golive_checkpoint_signed_size",
        kind: "gauge",
        help: "Tree size (records covered) of the latest signed checkpoint in the store; below golive_head_seq until the next one is signed.",
        value: |_, g| Some(g.checkpoint_signed_size),
    },
    PlainSeries {
        name: "golive_checkpoint_signed_timestamp_seconds",
        kind: "gauge",
        help: "When the latest signed checkpoint was signed (its time line), seconds since the Unix epoch; absent before the first.",
        value: |_, g| g.checkpoint_signed_unix_s,
    },
    PlainSeries {
        name: "golive_store_disk_free_bytes",
        kind: "gauge",
        help: "Bytes free on the file system holding the store; below golive_store_disk_reserve_bytes the store refuses to append and the ledger stops.",
        value: |_, g| g.disk_free_bytes,
    },
    PlainSeries {
        name: "golive_store_disk_reserve_bytes",
        kind: "gauge",
        help: "Free bytes the store keeps in reserve (golive_store::DISK_RESERVE_BYTES).",
        value: |_, _| Some(golive_store::DISK_RESERVE_BYTES),
    },
    PlainSeries {
        name: "golive_as_of_cache_hits_total",
        kind: "counter",
        help: "As-of answers served from the cache of recent as-of projections.",
        value: |m, _| load(&m.as_of_cache_hits),
    },
    PlainSeries {
        name: "golive_as_of_computed_total",
        kind: "counter",
        help: "As-of projections computed from the nearest snapshot plus replay.",
        value: |m, _| load(&m.as_of_computed),
    },
    PlainSeries {
        name: "golive_as_of_replayed_records_total",
        kind: "counter",
        help: "Records replayed on top of a snapshot to compute as-of projections.",
        value: |m, _| load(&m.as_of_replayed_records),
    },
    PlainSeries {
        name: "golive_as_of_money_history_total",
        kind: "counter",
        help: "Money as-of answers from the money history, without a fold.",
        value: |m, _| load(&m.as_of_money_history),
    },
    PlainSeries {
        name: "golive_money_history_ready",
        kind: "gauge",
        help: "1 once the money history is built at start (money as-of answers are folds until then).",
        value: |m, _| load(&m.money_history_ready),
    },
];

/// Escapes a label value (backslash, double quote, newline).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_count_matches() {
        // Proves the text format: cumulative buckets ending in +Inf equal to _count, sum in s.
        let h = Histogram::new(&[0.001, 0.01]);
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_secs(1));
        let mut s = String::new();
        h.render(&mut s, "x", "route=\"/a\"");
        assert!(s.contains("x_bucket{route=\"/a\",le=\"0.001\"} 1\n"), "{s}");
        assert!(s.contains("x_bucket{route=\"/a\",le=\"0.01\"} 3\n"), "{s}");
        assert!(s.contains("x_bucket{route=\"/a\",le=\"+Inf\"} 4\n"), "{s}");
        assert!(s.contains("x_count{route=\"/a\"} 4\n"), "{s}");
        assert!(s.contains("x_sum{route=\"/a\"} 1.0105\n"), "{s}");
    }

    #[test]
    fn the_store_gauges_build_and_process_series_are_rendered_and_unknown_ones_left_out() {
        // Proves the series the alert rules need are rendered with their values, that a gauge
        // not known (no signed checkpoint yet, no statvfs) is left out rather than shown as 0,
        // and that the refused form has the refusal, the build and the process only.
        let m = Metrics::new();
        let g = LedgerGauges {
            head_seq: 9,
            checkpoint_signed_size: 7,
            checkpoint_signed_unix_s: Some(1_700_000_000),
            disk_free_bytes: Some(123),
            ..LedgerGauges::default()
        };
        let text = m.render(&g);
        for line in [
            "golive_checkpoint_signed_size 7\n",
            "golive_checkpoint_signed_timestamp_seconds 1700000000\n",
            "golive_store_disk_free_bytes 123\n",
            "golive_store_disk_reserve_bytes 33554432\n",
            "golive_store_open_refused 0\n",
            &format!(
                "golive_build_info{{version=\"{}\"}} 1\n",
                env!("CARGO_PKG_VERSION")
            ),
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
        #[cfg(target_os = "linux")]
        assert!(text.contains("\nprocess_resident_memory_bytes "), "{text}");
        let text = m.render(&LedgerGauges::default());
        assert!(
            !text.contains("\ngolive_checkpoint_signed_timestamp_seconds "),
            "{text}"
        );
        assert!(!text.contains("\ngolive_store_disk_free_bytes "), "{text}");
        let refused = Metrics::render_refused();
        assert!(
            refused.contains("golive_store_open_refused 1\n"),
            "{refused}"
        );
        assert!(refused.contains("golive_build_info{"), "{refused}");
        assert!(!refused.contains("golive_head_seq"), "{refused}");
    }

    #[test]
    fn the_signing_time_is_read_from_a_signed_checkpoint_note() {
        // Proves golive_checkpoint_signed_timestamp_seconds comes from the note's `time` line,
        // as CheckpointSigner writes it.
        let signer = golive_verify::NoteSigner::from_seed("golive.ledger/test", [7; 32]).unwrap();
        let text = golive_verify::Checkpoint {
            origin: "golive.ledger/test".to_owned(),
            size: 3,
            root: [0; 32],
            extensions: vec!["time 2023-11-14T22:13:20Z".to_owned()],
        }
        .to_text();
        assert_eq!(signed_at(&signer.sign(&text)), Some(1_700_000_000));
        assert_eq!(signed_at("no blank line"), None);
    }

    #[test]
    fn http_routes_are_bounded_and_classes_counted() {
        // Proves requests are counted per route and status class, and that the number of
        // route series cannot grow without bound.
        let m = Metrics::new();
        m.record_http("/v1/money", 200, Duration::from_micros(50));
        m.record_http("/v1/money", 404, Duration::from_micros(50));
        for i in 0..200 {
            m.record_http(&format!("/r{i}"), 200, Duration::from_micros(1));
        }
        let text = m.render(&LedgerGauges::default());
        assert!(text.contains("golive_http_requests_total{route=\"/v1/money\",code=\"2xx\"} 1"));
        assert!(text.contains("golive_http_requests_total{route=\"/v1/money\",code=\"4xx\"} 1"));
        assert_eq!(m.http_requests("/v1/money"), 2);
        let routes = m.http.read().unwrap().len();
        assert!(routes <= HTTP_ROUTES_MAX + 1, "{routes}");
        assert!(m.http_requests("other") > 0);
    }
}
