//! Helpers of the collector's tests: the GOLIVE stream, a fake ledger that answers receipt
//! queries, event generators and a progress recorder. The nats-server itself is
//! golive-testkit's.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;
use golive_model::EventId;
use golive_model::protocol::{
    EVENTS_SUBJECTS, RECEIPTS_SUBJECT, ReceiptStatus, STREAM_NAME, decode_receipt_query,
    encode_receipt_reply,
};

/// Connects a plain client (for the test's own use).
pub async fn client(url: &str) -> async_nats::Client {
    async_nats::connect(url)
        .await
        .expect("test client connects")
}

/// Creates the GOLIVE stream (file storage, 2-minute duplicate window), retrying while
/// JetStream is still starting.
pub async fn create_stream(js: &jetstream::Context) -> stream::Stream {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = js
            .get_or_create_stream(stream::Config {
                name: STREAM_NAME.to_owned(),
                subjects: vec![EVENTS_SUBJECTS.to_owned()],
                storage: stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await;
        match r {
            Ok(s) => return s,
            Err(e) => {
                assert!(Instant::now() < deadline, "cannot create the stream: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One message the fake ledger read from the stream.
#[derive(Debug, Clone)]
pub struct Seen {
    pub event_id: EventId,
    pub msg_id: String,
    pub stream_seq: u64,
    pub at: Instant,
}

/// Plays the ledger: reads the stream with a pull consumer and answers receipt queries.
/// - an event read from the stream is `Appended` (or `DeadLettered` if listed in `dead`);
/// - an event in `lose` has its first copy deleted from the stream and forgotten, as if the
///   broker had lost it: the collector must re-publish it;
/// - everything else is `Unknown`.
#[derive(Clone, Default)]
pub struct FakeLedger {
    pub log: Arc<Mutex<Vec<Seen>>>,
    pub lost: Arc<Mutex<Vec<Seen>>>,
    appended: Arc<Mutex<HashSet<EventId>>>,
    pub dead: Arc<Mutex<HashSet<EventId>>>,
    pub lose: Arc<Mutex<HashSet<EventId>>>,
    pub queries: Arc<Mutex<u64>>,
    /// Time the fake ledger spends on each message: a slow ledger with a backlog.
    pub delay_per_message: Arc<Mutex<Duration>>,
}

impl FakeLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the consumer and the responder on `client`; they run until the test ends.
    pub async fn start(&self, client: async_nats::Client) {
        let js = jetstream::new(client.clone());
        let stream = create_stream(&js).await;
        let consumer = stream
            .get_or_create_consumer(
                "fake-ledger",
                consumer::pull::Config {
                    durable_name: Some("fake-ledger".to_owned()),
                    ack_policy: consumer::AckPolicy::None,
                    ..Default::default()
                },
            )
            .await
            .expect("fake ledger consumer");
        let me = self.clone();
        tokio::spawn(async move {
            // A pull stream can report errors (missed heartbeats under load) or end: the fake
            // ledger, like a real one, keeps consuming.
            loop {
                let mut messages = match consumer.messages().await {
                    Ok(m) => m,
                    Err(e) => {
                        eprintln!("fake ledger: cannot pull: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                while let Some(next) = messages.next().await {
                    match next {
                        Ok(m) => me.take(&stream, &m).await,
                        Err(e) => eprintln!("fake ledger: pull error: {e}"),
                    }
                }
            }
        });
        let mut sub = client.subscribe(RECEIPTS_SUBJECT).await.expect("subscribe");
        client
            .flush()
            .await
            .expect("subscription reaches the server");
        let me = self.clone();
        tokio::spawn(async move {
            while let Some(q) = sub.next().await {
                let ids = decode_receipt_query(&q.payload).expect("well-formed query");
                *me.queries.lock().unwrap() += 1;
                let statuses: Vec<ReceiptStatus> = {
                    let appended = me.appended.lock().unwrap();
                    let dead = me.dead.lock().unwrap();
                    ids.iter()
                        .map(|id| match (appended.contains(id), dead.contains(id)) {
                            (true, true) => ReceiptStatus::DeadLettered,
                            (true, false) => ReceiptStatus::Appended,
                            _ => ReceiptStatus::Unknown,
                        })
                        .collect()
                };
                if let Some(reply) = q.reply {
                    let _ = client
                        .publish(reply, encode_receipt_reply(&statuses).into())
                        .await;
                }
            }
        });
    }

    async fn take(&self, stream: &stream::Stream, m: &jetstream::Message) {
        let delay = *self.delay_per_message.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let v: serde_json::Value =
            serde_json::from_slice(&m.payload).expect("collector publishes JSON");
        let event_id = EventId(
            v["event_id"]
                .as_str()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .expect("event_id"),
        );
        let msg_id = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let stream_seq = m.info().expect("jetstream info").stream_sequence;
        let seen = Seen {
            event_id,
            msg_id,
            stream_seq,
            at: Instant::now(),
        };
        if self.lose.lock().unwrap().remove(&event_id) {
            stream.delete_message(stream_seq).await.expect("delete");
            self.lost.lock().unwrap().push(seen);
            return;
        }
        self.log.lock().unwrap().push(seen);
        self.appended.lock().unwrap().insert(event_id);
    }

    pub fn copies(&self) -> HashMap<EventId, usize> {
        let mut m = HashMap::new();
        for s in self.log.lock().unwrap().iter() {
            *m.entry(s.event_id).or_insert(0) += 1;
        }
        m
    }
}

/// A valid `extra_cost` event as one JSONL line; ids are deterministic from `n`.
pub fn event_line(trust: &str, n: u64) -> String {
    format!(
        r#"{{"event_id":"{}","trust":"{trust}","collector":"{c}-fin","collector_seq":{n},"occurred_at":"2008-06-01T09:00:00Z","recorded_at":"2008-06-02T09:00:00Z","schema":1,"kind":"extra_cost","data":{{"category":"temporary_staff","amount_pence":{amount}}},"source":{{"type":"board_paper","ref":"test"}},"status":"reported"}}"#,
        event_id(n),
        c = trust.to_ascii_lowercase(),
        amount = 1000 + n,
    )
}

pub fn event_id(n: u64) -> EventId {
    EventId(uuid::Uuid::from_u128(
        0x0193_f0e2_0000_4000_8000_0000_0000_0000 | u128::from(n),
    ))
}

/// Writes `n` events (numbered from `first`) to `path`, one per line.
pub fn write_events(path: &Path, trust: &str, first: u64, n: u64) {
    let mut text = String::new();
    for i in first..first + n {
        text.push_str(&event_line(trust, i));
        text.push('\n');
    }
    std::fs::write(path, text).expect("write events");
}

/// A collector configuration tuned for tests: quick receipts and re-publishes.
pub fn test_config(url: &str, outbox: &Path) -> golive_collector::CollectorConfig {
    let mut c = golive_collector::CollectorConfig::new(url, outbox);
    c.receipt_interval_ms = 50;
    c.receipt_timeout_ms = 500;
    c.republish_after_ms = 2_000;
    c.wait_for_receipts_ms = Some(120_000);
    c
}

/// Progress snapshots, shared with the test.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<golive_collector::Progress>>>);

impl Recorder {
    pub fn callback(&self) -> impl FnMut(&golive_collector::Progress) + Send + 'static {
        let inner = self.0.clone();
        move |p| inner.lock().unwrap().push(p.clone())
    }

    pub fn last(&self) -> Option<golive_collector::Progress> {
        self.0.lock().unwrap().last().cloned()
    }

    pub fn any(&self, f: impl Fn(&golive_collector::Progress) -> bool) -> bool {
        self.0.lock().unwrap().iter().any(f)
    }
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}
