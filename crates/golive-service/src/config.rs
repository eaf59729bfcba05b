//! What `golive serve` is told: the stream it expects and how it connects and consumes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::stream;
use golive_ledger::{Metrics, Readiness};
use golive_model::protocol::{EVENTS_SUBJECTS, STREAM_NAME};

/// The JetStream stream the ledger reads. Checked (never silently changed) at start.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSettings {
    pub replicas: usize,
    /// Bytes the broker keeps before refusing new messages (`discard: new`).
    pub max_bytes: i64,
    pub max_messages: i64,
    /// How long the broker keeps a message; the ledger is the system of record, not the broker.
    pub max_age: Duration,
    /// JetStream's `Nats-Msg-Id` duplicate window.
    pub duplicate_window: Duration,
    pub max_message_bytes: i32,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            replicas: 1,
            max_bytes: 10 * 1024 * 1024 * 1024,
            max_messages: 100_000_000,
            max_age: Duration::from_secs(30 * 86_400),
            duplicate_window: Duration::from_secs(120),
            max_message_bytes: golive_model::MESSAGE_BYTES_MAX as i32,
        }
    }
}

impl StreamSettings {
    pub fn to_config(&self) -> stream::Config {
        stream::Config {
            name: STREAM_NAME.to_owned(),
            subjects: vec![EVENTS_SUBJECTS.to_owned()],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            discard: stream::DiscardPolicy::New,
            num_replicas: self.replicas,
            max_bytes: self.max_bytes,
            max_messages: self.max_messages,
            max_age: self.max_age,
            duplicate_window: self.duplicate_window,
            max_message_size: self.max_message_bytes,
            description: Some("Go-Live Ledger incident events".to_owned()),
            ..Default::default()
        }
    }
}

/// How `golive serve` connects and consumes.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub nats_url: String,
    /// A NATS `.creds` file (user JWT + NKey seed), if the server requires one.
    pub credentials: Option<PathBuf>,
    /// An NKey user (deploy/nats/auth.conf): authenticates with its seed, and its replies come
    /// on `_INBOX.<public key>` (see [`golive_model::protocol::user_inbox_prefix`]).
    pub nkey: Option<Arc<nkeys::KeyPair>>,
    /// TLS to NATS (`--nats-ca`, `--nats-cert`, `--nats-key`); none by default.
    pub tls: golive_model::protocol::NatsTls,
    /// Durable consumer name; each ledger replica needs its own.
    pub consumer: String,
    pub batch_events_max: usize,
    /// How long one fetch waits for messages before the loop goes round.
    pub fetch_wait_ms: u64,
    pub stream: StreamSettings,
    /// Answer receipt queries (on by default; a read-only replica may turn it off).
    pub receipts: bool,
    /// Where the consumer loop counts what it does (shared with the HTTP API's `/metrics`).
    pub metrics: Arc<Metrics>,
    /// Where the loop says whether NATS is connected and whether it consumes (shared with the
    /// HTTP API's `/readyz`).
    pub readiness: Arc<Readiness>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4222".to_owned(),
            credentials: None,
            nkey: None,
            tls: Default::default(),
            consumer: "golive-ledger".to_owned(),
            batch_events_max: 1_000,
            fetch_wait_ms: 500,
            stream: StreamSettings::default(),
            receipts: true,
            metrics: Arc::new(Metrics::new()),
            readiness: Arc::new(Readiness::default()),
        }
    }
}
