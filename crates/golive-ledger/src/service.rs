//! `golive serve`: the ledger as a JetStream consumer.
//!
//! Loop: fetch an in-order batch from the durable pull consumer -> decode and validate each
//! message (bad ones to the dead letters, with subject, raw bytes and reason) -> append the batch
//! (one store write, flushed) -> only then acknowledge the batch's last message (`AckPolicy::All`).
//! A crash between the flush and the ack only causes a redelivery, which is skipped (the ledger
//! knows the stream sequence of its head record) or deduplicated by the forever-dedupe by
//! `event_id`. Each message is processed once, in stream order, with none skipped (a message
//! the consumer did not deliver is read from the stream), so ledger replicas with their own
//! consumers on one stream keep identical logs. Beside it, a core-NATS responder answers collectors'
//! receipt queries from the store (see `golive_model::protocol`).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use golive_model::protocol::{
    self, EVENTS_SUBJECTS, RECEIPTS_QUEUE_GROUP, RECEIPTS_SUBJECT, ReceiptStatus, STREAM_NAME,
};
use golive_model::{EventId, decode};
use golive_store::{Incoming, NewDeadLetter, Outcome, RejectReason, Store, StoreError};

use crate::ledger::{Ledger, LedgerError};
use crate::metrics::Metrics;

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
    /// on `_INBOX.<public key>` (see [`protocol::user_inbox_prefix`]).
    pub nkey: Option<Arc<nkeys::KeyPair>>,
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
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4222".to_owned(),
            credentials: None,
            nkey: None,
            consumer: "golive-ledger".to_owned(),
            batch_events_max: 1_000,
            fetch_wait_ms: 500,
            stream: StreamSettings::default(),
            receipts: true,
            metrics: Arc::new(Metrics::new()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot reach NATS at {url}: {message}; is nats-server running there (see docs/OPERATIONS.md)?"
    )]
    Connect { url: String, message: String },
    #[error("cannot read the NATS credentials file {path}: {message}")]
    Credentials { path: PathBuf, message: String },
    /// The server answered "authorization violation": wrong, unknown or missing credentials.
    #[error("NATS at {url} refused the credentials for {who}: authorization violation; {hint}")]
    Refused {
        url: String,
        who: String,
        hint: &'static str,
    },
    #[error(
        "stream {STREAM_NAME} exists with different settings: {0}. The ledger does not change an existing stream; edit it (nats stream edit {STREAM_NAME}) or start the ledger with matching settings"
    )]
    StreamMismatch(String),
    #[error("JetStream error: {0}")]
    JetStream(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn js_err(e: impl std::fmt::Display) -> ServeError {
    ServeError::JetStream(e.to_string())
}

/// What a `serve` run did, for the final log line and tests.
#[derive(Debug, Clone, Default)]
pub struct ServeSummary {
    pub batches: u64,
    pub messages: u64,
    pub appended: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    pub deferred: u64,
    pub last_stream_seq: u64,
}

/// How async-nats reports a connect attempt the server refused (`ConnectErrorKind`'s words).
const CONNECT_REFUSED: [&str; 2] = ["authorization violation", "failed signing nonce"];

/// A connection to NATS, and a signal that fires when the server starts refusing its
/// credentials on a reconnect (the key was removed or replaced, and the server reloaded).
pub struct Connection {
    pub client: async_nats::Client,
    pub refused: Arc<tokio::sync::Notify>,
}

/// Connects to NATS with the ledger's options: a `.creds` file or an NKey, if given. With an
/// NKey the client's reply subjects are `_INBOX.<public key>.*`, the only ones its permissions
/// let it subscribe to.
pub async fn connect(
    url: &str,
    credentials: Option<&std::path::Path>,
    nkey: Option<&nkeys::KeyPair>,
    name: &str,
) -> Result<Connection, ServeError> {
    let refused = Arc::new(tokio::sync::Notify::new());
    let on_refusal = refused.clone();
    let mut opts = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        .max_reconnects(None::<usize>)
        // The client retries a refused reconnect forever; it would be refused the same way.
        .event_callback(move |event| {
            let on_refusal = on_refusal.clone();
            async move {
                if let async_nats::Event::ClientError(async_nats::ClientError::Other(e)) = &event
                    && CONNECT_REFUSED.contains(&e.as_str())
                {
                    on_refusal.notify_one();
                }
            }
        });
    if let Some(path) = credentials {
        opts = opts
            .credentials_file(path)
            .await
            .map_err(|e| ServeError::Credentials {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
    }
    if let Some(kp) = nkey {
        let seed = kp.seed().map_err(|e| ServeError::Credentials {
            path: PathBuf::from("--nkey"),
            message: e.to_string(),
        })?;
        opts = opts
            .nkey(seed)
            .custom_inbox_prefix(protocol::user_inbox_prefix(&kp.public_key()));
    }
    // `url` may list the servers of a cluster (`nats://a:4222,nats://b:4222`): the client tries
    // each at start and on every reconnect, so the ledger survives the loss of any one node.
    match opts.connect(protocol::server_urls(url)).await {
        Ok(client) => Ok(Connection { client, refused }),
        Err(e) => Err(match e.kind() {
            async_nats::ConnectErrorKind::AuthorizationViolation
            | async_nats::ConnectErrorKind::Authentication => {
                credentials_refused(url, credentials, nkey)
            }
            _ => ServeError::Connect {
                url: url.to_owned(),
                message: e.to_string(),
            },
        }),
    }
}

/// The error for credentials the server refused, naming them and the flag to check.
fn credentials_refused(
    url: &str,
    credentials: Option<&std::path::Path>,
    nkey: Option<&nkeys::KeyPair>,
) -> ServeError {
    let (who, hint) = protocol::refused_identity(nkey.map(|kp| kp.public_key()), credentials);
    ServeError::Refused {
        url: url.to_owned(),
        who,
        hint,
    }
}

/// Creates the stream, or checks that the existing one has the expected settings.
pub async fn ensure_stream(
    js: &jetstream::Context,
    settings: &StreamSettings,
) -> Result<stream::Stream, ServeError> {
    let want = settings.to_config();
    match js.get_stream(STREAM_NAME).await {
        Ok(mut s) => {
            let have = s.info().await.map_err(js_err)?.config.clone();
            let mut diffs = Vec::new();
            let mut check = |name: &str, a: String, b: String| {
                if a != b {
                    diffs.push(format!("{name} is {a}, expected {b}"));
                }
            };
            check(
                "subjects",
                format!("{:?}", have.subjects),
                format!("{:?}", want.subjects),
            );
            check(
                "storage",
                format!("{:?}", have.storage),
                format!("{:?}", want.storage),
            );
            check(
                "retention",
                format!("{:?}", have.retention),
                format!("{:?}", want.retention),
            );
            check(
                "discard",
                format!("{:?}", have.discard),
                format!("{:?}", want.discard),
            );
            check(
                "replicas",
                have.num_replicas.to_string(),
                want.num_replicas.to_string(),
            );
            check(
                "max_bytes",
                have.max_bytes.to_string(),
                want.max_bytes.to_string(),
            );
            check(
                "max_msgs",
                have.max_messages.to_string(),
                want.max_messages.to_string(),
            );
            check(
                "max_age",
                format!("{:?}", have.max_age),
                format!("{:?}", want.max_age),
            );
            check(
                "duplicate_window",
                format!("{:?}", have.duplicate_window),
                format!("{:?}", want.duplicate_window),
            );
            check(
                "max_msg_size",
                have.max_message_size.to_string(),
                want.max_message_size.to_string(),
            );
            if !diffs.is_empty() {
                return Err(ServeError::StreamMismatch(diffs.join("; ")));
            }
            Ok(s)
        }
        Err(e)
            if matches!(e.kind(), jetstream::context::GetStreamErrorKind::JetStream(ref je)
                if je.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND) =>
        {
            tracing::info!(stream = STREAM_NAME, "creating the JetStream stream");
            js.create_stream(want).await.map_err(js_err)
        }
        Err(e) => Err(js_err(e)),
    }
}

/// The durable pull consumer of this ledger (created if missing).
pub async fn ensure_consumer(
    stream: &stream::Stream,
    name: &str,
) -> Result<consumer::PullConsumer, ServeError> {
    stream
        .get_or_create_consumer(
            name,
            consumer::pull::Config {
                durable_name: Some(name.to_owned()),
                description: Some("Go-Live Ledger appender".to_owned()),
                ack_policy: consumer::AckPolicy::All,
                deliver_policy: consumer::DeliverPolicy::All,
                filter_subject: EVENTS_SUBJECTS.to_owned(),
                ack_wait: Duration::from_secs(60),
                max_ack_pending: 100_000,
                ..Default::default()
            },
        )
        .await
        .map_err(js_err)
}

/// One message taken off the stream.
pub struct Delivered {
    pub subject: String,
    pub payload: Bytes,
    pub stream_seq: u64,
}

/// Tallies of one processed batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchTally {
    pub appended: u64,
    /// Corrections whose target has not arrived yet (re-sent by their collector later).
    pub deferred: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
}

/// Decodes, validates and appends one batch; bad messages go to the dead letters. Everything
/// this returns `Ok` for is durable.
pub fn process_batch(
    ledger: &mut Ledger,
    batch: Vec<Delivered>,
) -> Result<BatchTally, LedgerError> {
    let mut tally = BatchTally::default();
    let now = Utc::now();
    let mut incoming = Vec::with_capacity(batch.len());
    let mut raws = Vec::with_capacity(batch.len());
    let store = ledger.store().clone();
    let dead = |d: &Delivered, event_id: Option<EventId>, field: Option<String>, reason: String| {
        tracing::warn!(subject = %d.subject, stream_seq = d.stream_seq, field = field.as_deref().unwrap_or(""), %reason, "message dead-lettered");
        store.add_dead_letter(NewDeadLetter {
            origin: format!("{} (stream seq {})", d.subject, d.stream_seq),
            raw: d.payload.to_vec(),
            field,
            reason,
            received_at: now,
            event_id,
        })
    };
    for d in batch {
        let envelope = match decode(&d.payload) {
            Ok(e) => e,
            Err(e) => {
                dead(&d, None, Some(e.field.clone()), e.reason.to_string())?;
                tally.dead_lettered += 1;
                continue;
            }
        };
        let mismatch = match protocol::parse_event_subject(&d.subject) {
            None => Some(format!(
                "subject {} is not golive.events.<TRUST>.<kind>",
                d.subject
            )),
            Some((trust, _)) if trust != envelope.trust.as_str() => Some(format!(
                "the subject's trust {trust} does not match the envelope's trust {}: a trust may only publish its own events",
                envelope.trust
            )),
            Some((_, kind)) if kind != envelope.kind().as_str() => Some(format!(
                "the subject's kind {kind} does not match the envelope's kind {}",
                envelope.kind()
            )),
            Some(_) => None,
        };
        if let Some(reason) = mismatch {
            dead(
                &d,
                Some(envelope.event_id),
                Some("trust".to_owned()),
                reason,
            )?;
            tally.dead_lettered += 1;
            continue;
        }
        incoming.push(Incoming::new(envelope, Some(d.stream_seq), now));
        raws.push(d);
    }
    if incoming.is_empty() {
        return Ok(tally);
    }
    let ids: Vec<EventId> = incoming.iter().map(|i| i.envelope.event_id).collect();
    let outcomes = ledger.append(incoming)?;
    for ((d, id), outcome) in raws.iter().zip(ids).zip(outcomes) {
        match outcome {
            Outcome::Appended { .. } => tally.appended += 1,
            Outcome::Duplicate { .. } => tally.duplicates += 1,
            // A correction can overtake the event it corrects (a collector re-publishes what the
            // broker refused earlier, so its events need not arrive in order). It is not refused
            // for good: the receipt stays "unknown", the collector re-sends it, and by then the
            // corrected event is in.
            Outcome::Rejected {
                reason: reason @ RejectReason::SupersedesUnknown(_),
            } => {
                tracing::info!(subject = %d.subject, stream_seq = d.stream_seq, %reason, "correction deferred until the event it corrects arrives");
                tally.deferred += 1;
            }
            Outcome::Rejected { reason } => {
                dead(
                    d,
                    Some(id),
                    Some("supersedes".to_owned()),
                    reason.to_string(),
                )?;
                tally.dead_lettered += 1;
            }
        }
    }
    Ok(tally)
}

/// What the ledger durably knows of each id.
pub fn receipt_statuses(store: &Store, ids: &[EventId]) -> Result<Vec<ReceiptStatus>, StoreError> {
    let head = store.head().seq;
    ids.iter()
        .map(|id| {
            // Only what is at or below the flushed head counts as appended.
            if store.seq_of(id)?.is_some_and(|seq| seq <= head) {
                return Ok(ReceiptStatus::Appended);
            }
            if store.dead_letter_of(id)?.is_some() {
                return Ok(ReceiptStatus::DeadLettered);
            }
            Ok(ReceiptStatus::Unknown)
        })
        .collect()
}

/// Answers receipt queries until the subscription ends.
async fn answer_receipts(client: async_nats::Client, store: Store) -> Result<(), ServeError> {
    let mut sub = client
        .queue_subscribe(RECEIPTS_SUBJECT, RECEIPTS_QUEUE_GROUP.to_owned())
        .await
        .map_err(js_err)?;
    while let Some(msg) = sub.next().await {
        let Some(reply) = msg.reply else { continue };
        let body = match protocol::decode_receipt_query(&msg.payload) {
            Ok(ids) => match receipt_statuses(&store, &ids) {
                Ok(st) => protocol::encode_receipt_reply(&st),
                Err(e) => {
                    tracing::error!(error = %e, "receipt lookup failed");
                    continue;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "malformed receipt query ignored");
                continue;
            }
        };
        if let Err(e) = client.publish(reply, body.into()).await {
            tracing::warn!(error = %e, "could not send a receipt reply");
        }
    }
    Ok(())
}

/// Runs the ledger service until `shutdown` completes: consumes the stream, appends, acks, and
/// answers receipts. Returns what it did.
pub async fn serve(
    ledger: Arc<Mutex<Ledger>>,
    config: ServeConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<ServeSummary, ServeError> {
    let Connection { client, refused } = connect(
        &config.nats_url,
        config.credentials.as_deref(),
        config.nkey.as_deref(),
        "golive-ledger",
    )
    .await?;
    let js = jetstream::new(client.clone());
    let stream = ensure_stream(&js, &config.stream).await?;
    let consumer = ensure_consumer(&stream, &config.consumer).await?;
    let store = ledger.lock().expect("ledger lock").store().clone();
    let receipts = config
        .receipts
        .then(|| tokio::spawn(answer_receipts(client.clone(), store.clone())));
    tracing::info!(url = %config.nats_url, consumer = %config.consumer, head = store.head().seq, "ledger serving");

    // The next stream sequence to process. Every message of the stream is processed once, in
    // stream order, whatever the consumer delivers: a redelivery of a processed message is
    // skipped, and a message the consumer skipped is read from the stream. A pull consumer can
    // skip some: those in flight when a NATS node dies, or those delivered to a run that was
    // killed before it appended them (they come back only after ack_wait, by which time the
    // ack of a later batch, AckPolicy::All, has acknowledged them). Reading them in order,
    // rather than leaving them to the collectors' re-publish, makes the ledger's log a function
    // of the stream alone: ledger replicas on one stream append the same events in the same
    // order (same chain, same Merkle root), and a correction's fate does not depend on
    // redelivery timing. At start: the message after the head record's, or, when the head did
    // not come through NATS (an empty ledger, or one fed by `golive ingest`), the stream's
    // first message (what a new consumer would deliver first), as also when the stream is
    // behind the ledger (it was deleted and created again).
    let state = &stream.cached_info().state;
    let mut next_seq = match store.get(store.head().seq)?.and_then(|r| r.stream_seq) {
        Some(s) if s <= state.last_sequence => s + 1,
        Some(s) => {
            tracing::warn!(
                head_stream_seq = s,
                stream_last_seq = state.last_sequence,
                "the stream ends before this ledger's head (was it deleted and created again?); \
                 reading it from its first message"
            );
            state.first_sequence.max(1)
        }
        None => state.first_sequence.max(1),
    };
    let mut summary = ServeSummary::default();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = Duration::from_millis(100);
    let mut credentials_refused_now = false;
    // The next batch is fetched while this one is appended (pipelining: the pull request's round
    // trip and the delivery overlap the store's flush). What a fetch brought but the loop never
    // processed (a stop) is not acknowledged, so it is delivered again or read by `next_seq`.
    let start_fetch = || {
        let consumer = consumer.clone();
        let (max, wait_ms) = (config.batch_events_max, config.fetch_wait_ms);
        tokio::spawn(async move { fetch_batch(&consumer, max, wait_ms).await })
    };
    let mut next_fetch = start_fetch();
    'consume: loop {
        let fetched = tokio::select! {
            _ = &mut shutdown => break,
            _ = refused.notified() => {
                credentials_refused_now = true;
                break;
            }
            r = &mut next_fetch => r.map_err(js_err).and_then(|r| r),
        };
        let messages = match fetched {
            Ok(m) => {
                backoff = Duration::from_millis(100);
                next_fetch = start_fetch();
                m
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "fetch from JetStream failed; retrying");
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = refused.notified() => {
                        credentials_refused_now = true;
                        break;
                    }
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                next_fetch = start_fetch();
                continue;
            }
        };
        // JetStream tells, with each message, how many are still pending for this consumer:
        // the lag behind the stream right after this fetch.
        config.metrics.set_consumer_lag(
            messages
                .last()
                .and_then(|m| m.info().ok().map(|i| i.pending))
                .unwrap_or(0),
        );
        if messages.is_empty() {
            // Idle: the last events still get a signed checkpoint within checkpoint_every_secs.
            let l = ledger.clone();
            let signed = tokio::task::spawn_blocking(move || {
                l.lock().expect("ledger lock").sign_checkpoint_if_due()
            })
            .await;
            if let Ok(Err(e)) = signed {
                tracing::warn!(error = %e, "could not sign a checkpoint; will retry");
            }
            continue;
        }
        // Put the fetched messages in stream order and fill any gap from the stream itself, so
        // that this ledger processes every message once, in stream order (see `next_seq`).
        let mut by_seq: BTreeMap<u64, &jetstream::Message> = BTreeMap::new();
        for m in &messages {
            if let Ok(i) = m.info() {
                by_seq.insert(i.stream_sequence, m);
            }
        }
        let Some((&last_seq, &last_msg)) = by_seq.iter().next_back() else {
            continue;
        };
        let mut from = next_seq;
        if last_seq < from {
            // Only redeliveries of messages this ledger has processed already: acknowledge them.
            if let Err(e) = last_msg.ack().await {
                tracing::warn!(error = %e, "ack of redelivered messages failed");
            }
            continue;
        }
        if !by_seq.contains_key(&from) {
            // Messages that aged out of the stream (or were purged) need no reading one by one.
            match stream.get_info().await {
                Ok(info) => from = from.max(info.state.first_sequence.min(last_seq)),
                Err(e) => tracing::warn!(error = %e, "cannot read the stream's info"),
            }
        }
        let missing = (from..=last_seq)
            .filter(|s| !by_seq.contains_key(s))
            .count();
        if missing > 0 {
            tracing::info!(
                from,
                to = last_seq,
                missing,
                "the consumer did not deliver some stream messages (lost in transit when a NATS \
                 node went away, or delivered to an earlier run); reading them from the stream"
            );
        }
        let mut delivered = Vec::with_capacity((last_seq - from + 1) as usize);
        for seq in from..=last_seq {
            if let Some(m) = by_seq.get(&seq) {
                delivered.push(Delivered {
                    subject: m.subject.to_string(),
                    payload: m.payload.clone(),
                    stream_seq: seq,
                });
                continue;
            }
            let mut retry = Duration::from_millis(100);
            loop {
                match read_from_stream(&stream, seq).await {
                    Ok(Some(d)) => delivered.push(d),
                    // Deleted from the stream, or aged out: nothing to process.
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, stream_seq = seq, retry_in_ms = retry.as_millis() as u64, "cannot read a message from the stream; retrying");
                        tokio::select! {
                            _ = &mut shutdown => break 'consume,
                            _ = tokio::time::sleep(retry) => {}
                        }
                        retry = (retry * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
                break;
            }
        }
        let n = delivered.len() as u64;
        let started = std::time::Instant::now();
        let mut tally = BatchTally::default();
        let mut rest = delivered;
        while !rest.is_empty() {
            let chunk: Vec<Delivered> = rest
                .drain(..rest.len().min(config.batch_events_max.max(1)))
                .collect();
            let l = ledger.clone();
            let t = tokio::task::spawn_blocking(move || {
                let mut ledger = l.lock().expect("ledger lock");
                process_batch(&mut ledger, chunk)
            })
            .await
            .map_err(js_err)??;
            tally.appended += t.appended;
            tally.deferred += t.deferred;
            tally.duplicates += t.duplicates;
            tally.dead_lettered += t.dead_lettered;
        }
        next_seq = last_seq + 1;
        config.metrics.record_batch(n, &tally, started.elapsed());
        // Durable now: acknowledge everything up to the batch's last message.
        if let Err(e) = last_msg.ack().await {
            tracing::warn!(error = %e, "ack failed; the batch will be redelivered and skipped");
        }
        summary.batches += 1;
        summary.messages += n;
        summary.appended += tally.appended;
        summary.duplicates += tally.duplicates;
        summary.dead_lettered += tally.dead_lettered;
        summary.deferred += tally.deferred;
        summary.last_stream_seq = last_seq;
        tracing::debug!(
            events = n,
            appended = tally.appended,
            duplicates = tally.duplicates,
            dead_lettered = tally.dead_lettered,
            stream_seq = last_seq,
            append_ms = started.elapsed().as_millis() as u64,
            "batch appended"
        );
    }
    next_fetch.abort();
    if let Some(r) = receipts {
        r.abort();
    }
    let l = ledger.clone();
    tokio::task::spawn_blocking(move || {
        let mut ledger = l.lock().expect("ledger lock");
        ledger.checkpoint()?;
        ledger.sign_checkpoint()?;
        ledger.store().flush().map_err(LedgerError::from)
    })
    .await
    .map_err(js_err)??;
    tracing::info!(
        messages = summary.messages,
        appended = summary.appended,
        duplicates = summary.duplicates,
        dead_lettered = summary.dead_lettered,
        "ledger stopped"
    );
    if credentials_refused_now {
        return Err(credentials_refused(
            &config.nats_url,
            config.credentials.as_deref(),
            config.nkey.as_deref(),
        ));
    }
    Ok(summary)
}

/// A message the consumer did not deliver, read from the stream itself (from its leader). `None`
/// when the stream no longer has it (deleted, or aged out): there is nothing to process.
async fn read_from_stream(
    stream: &stream::Stream,
    seq: u64,
) -> Result<Option<Delivered>, ServeError> {
    match stream.get_raw_message(seq).await {
        Ok(m) => Ok(Some(Delivered {
            subject: m.subject.to_string(),
            payload: m.payload,
            stream_seq: seq,
        })),
        Err(e) if matches!(e.kind(), stream::RawMessageErrorKind::NoMessageFound) => Ok(None),
        Err(e) => Err(js_err(e)),
    }
}

async fn fetch_batch(
    consumer: &consumer::PullConsumer,
    max: usize,
    wait_ms: u64,
) -> Result<Vec<jetstream::Message>, ServeError> {
    let mut batch = consumer
        .batch()
        .max_messages(max)
        .expires(Duration::from_millis(wait_ms))
        .messages()
        .await
        .map_err(js_err)?;
    let mut out = Vec::with_capacity(max);
    while let Some(m) = batch.next().await {
        out.push(m.map_err(js_err)?);
    }
    Ok(out)
}
