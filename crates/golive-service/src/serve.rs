//! `golive serve`: the consumer loop, and the service around it (connection, stream and
//! consumer, receipts responder, the final snapshot when it stops).

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_nats::jetstream::{self, stream};
use golive_ledger::{BatchTally, Ledger, LedgerError};
use golive_store::Store;

use crate::batch::{Delivered, process_batch};
use crate::config::ServeConfig;
use crate::connect::{Connection, connect, credentials_refused};
use crate::cursor::{BatchPlan, Resume, Span, Step, StreamCursor};
use crate::error::{ServeError, js_err};
use crate::fetch::{Fetcher, read_back};
use crate::provision::{ensure_consumer, ensure_stream};
use crate::receipts::answer_receipts;
use crate::stop::{Stop, Stopper};

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

impl ServeSummary {
    fn add_batch(&mut self, messages: u64, tally: &BatchTally, last_stream_seq: u64) {
        self.batches += 1;
        self.messages += messages;
        self.appended += tally.appended;
        self.duplicates += tally.duplicates;
        self.dead_lettered += tally.dead_lettered;
        self.deferred += tally.deferred;
        self.last_stream_seq = last_stream_seq;
    }
}

/// Runs the ledger service until `shutdown` completes: consumes the stream, appends, acks, and
/// answers receipts. Returns what it did. Says in `config.readiness` whether NATS is connected
/// and the loop consuming, and that the store is unusable when the loop ends on its error.
pub async fn serve(
    ledger: Arc<Mutex<Ledger>>,
    config: ServeConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<ServeSummary, ServeError> {
    let readiness = config.readiness.clone();
    let served = serve_inner(ledger, config, shutdown).await;
    readiness.set_consuming(false);
    if let Err(ServeError::Ledger(_) | ServeError::Store(_)) = &served {
        readiness.set_store_open(false);
    }
    served
}

/// The service itself; [`serve`] around it keeps the readiness true to how it ended.
async fn serve_inner(
    ledger: Arc<Mutex<Ledger>>,
    config: ServeConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<ServeSummary, ServeError> {
    let Connection { client, refused } = connect(
        &config.nats_url,
        config.credentials.as_deref(),
        config.nkey.as_deref(),
        &config.tls,
        "golive-ledger",
        config.readiness.clone(),
    )
    .await?;
    let js = jetstream::new(client.clone());
    let stream = ensure_stream(&js, &config.stream).await?;
    let consumer = ensure_consumer(&stream, &config.consumer).await?;
    let store = ledger.lock().expect("ledger lock").store().clone();
    let receipts = config
        .receipts
        .then(|| tokio::spawn(answer_receipts(client.clone(), store.clone())));
    let cursor = resume_cursor(&store, &stream)?;
    config.readiness.set_consuming(true);
    tracing::info!(url = %config.nats_url, consumer = %config.consumer, head = store.head().seq, "ledger serving");
    let mut consumer_loop = ConsumerLoop {
        cursor,
        fetcher: Fetcher::start(consumer, config.batch_events_max, config.fetch_wait_ms),
        ledger: &ledger,
        config: &config,
        stream: &stream,
        summary: ServeSummary::default(),
    };
    let shutdown = std::pin::pin!(shutdown);
    let mut stopper = Stopper::new(shutdown, refused);
    let stop = consumer_loop.run(&mut stopper).await?;
    consumer_loop.fetcher.abort();
    if let Some(r) = receipts {
        r.abort();
    }
    let summary = consumer_loop.summary;
    snapshot_on_stop(&ledger).await?;
    tracing::info!(
        messages = summary.messages,
        appended = summary.appended,
        duplicates = summary.duplicates,
        dead_lettered = summary.dead_lettered,
        "ledger stopped"
    );
    if stop == Stop::CredentialsRefused {
        return Err(credentials_refused(
            &config.nats_url,
            config.credentials.as_deref(),
            config.nkey.as_deref(),
        ));
    }
    Ok(summary)
}

/// Where the loop starts: after the stream message of the ledger's head record, when the stream
/// still has it (see [`StreamCursor::resume`]).
fn resume_cursor(store: &Store, stream: &stream::Stream) -> Result<StreamCursor, ServeError> {
    let state = &stream.cached_info().state;
    let head_stream_seq = store.get(store.head().seq)?.and_then(|r| r.stream_seq);
    let (cursor, resume) =
        StreamCursor::resume(head_stream_seq, state.first_sequence, state.last_sequence);
    if let Resume::StreamBehindHead { head_stream_seq } = resume {
        tracing::warn!(
            head_stream_seq,
            stream_last_seq = state.last_sequence,
            "the stream ends before this ledger's head (was it deleted and created again?); \
             reading it from its first message"
        );
    }
    Ok(cursor)
}

/// The consumer loop: fetch a batch -> put it in stream order, reading back what the consumer
/// did not deliver ([`StreamCursor`] decides) -> append it (durable, flushed) -> only then
/// acknowledge its last message (`AckPolicy::All`).
struct ConsumerLoop<'a> {
    cursor: StreamCursor,
    fetcher: Fetcher,
    ledger: &'a Arc<Mutex<Ledger>>,
    config: &'a ServeConfig,
    stream: &'a stream::Stream,
    summary: ServeSummary,
}

impl ConsumerLoop<'_> {
    /// Consumes until a stop; an error of the ledger or the store ends it at once.
    async fn run<F: Future<Output = ()>>(
        &mut self,
        stopper: &mut Stopper<'_, F>,
    ) -> Result<Stop, ServeError> {
        loop {
            let messages = match self.fetcher.next_batch(stopper).await {
                Ok(messages) => messages,
                Err(stop) => return Ok(stop),
            };
            // JetStream tells, with each message, how many are still pending for this
            // consumer: the lag behind the stream right after this fetch.
            let pending = messages
                .last()
                .and_then(|m| m.info().ok().map(|i| i.pending));
            self.config.metrics.set_consumer_lag(pending.unwrap_or(0));
            if messages.is_empty() {
                sign_checkpoint_if_due(self.ledger).await;
                continue;
            }
            let by_seq = by_stream_seq(&messages);
            match self.cursor.plan(by_seq.keys().copied()) {
                BatchPlan::Nothing => {}
                BatchPlan::Skip { ack_seq } => {
                    if let Err(e) = by_seq[&ack_seq].ack().await {
                        tracing::warn!(error = %e, "ack of redelivered messages failed");
                    }
                }
                BatchPlan::Process(span) => {
                    if let ControlFlow::Break(stop) = self.process(span, &by_seq, stopper).await? {
                        return Ok(stop);
                    }
                }
            }
        }
    }

    /// Appends every message of `span`, in stream order, then acknowledges it.
    async fn process<F: Future<Output = ()>>(
        &mut self,
        span: Span,
        by_seq: &BTreeMap<u64, &jetstream::Message>,
        stopper: &mut Stopper<'_, F>,
    ) -> Result<ControlFlow<Stop>, ServeError> {
        let span = self.clamp_to_stream(span).await;
        let Ok(delivered) = gather(self.stream, &span, by_seq, stopper).await else {
            return Ok(ControlFlow::Break(Stop::Shutdown));
        };
        let messages = delivered.len() as u64;
        let started = Instant::now();
        let tally = append(self.ledger, delivered, self.config).await?;
        self.cursor.advance(&span);
        self.config
            .metrics
            .record_batch(messages, &tally, started.elapsed());
        // Durable now: acknowledge everything up to the batch's last message.
        if let Err(e) = by_seq[&span.last_seq()].ack().await {
            tracing::warn!(error = %e, "ack failed; the batch will be redelivered and skipped");
        }
        self.summary.add_batch(messages, &tally, span.last_seq());
        tracing::debug!(
            events = messages,
            appended = tally.appended,
            duplicates = tally.duplicates,
            dead_lettered = tally.dead_lettered,
            stream_seq = span.last_seq(),
            append_ms = started.elapsed().as_millis() as u64,
            "batch appended"
        );
        Ok(ControlFlow::Continue(()))
    }

    /// `span` without what aged out of the stream (or was purged), when its first message was
    /// not delivered; unchanged when the stream's info cannot be read.
    async fn clamp_to_stream(&self, span: Span) -> Span {
        let span = if span.starts_undelivered() {
            match self.stream.get_info().await {
                Ok(info) => span.clamp_to_stream(info.state.first_sequence),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the stream's info");
                    span
                }
            }
        } else {
            span
        };
        let missing = span.read_back_count();
        if missing > 0 {
            tracing::info!(
                from = span.from(),
                to = span.last_seq(),
                missing,
                "the consumer did not deliver some stream messages (lost in transit when a NATS \
                 node went away, or delivered to an earlier run); reading them from the stream"
            );
        }
        span
    }
}

/// The fetched messages by stream sequence (a message without JetStream info has none).
fn by_stream_seq(messages: &[jetstream::Message]) -> BTreeMap<u64, &jetstream::Message> {
    messages
        .iter()
        .filter_map(|m| m.info().ok().map(|i| (i.stream_sequence, m)))
        .collect()
}

/// The messages of `span` in stream order: the delivered ones, and the others read back from
/// the stream (`Err` when the shutdown came while a read was being retried).
async fn gather<F: Future<Output = ()>>(
    stream: &stream::Stream,
    span: &Span,
    by_seq: &BTreeMap<u64, &jetstream::Message>,
    stopper: &mut Stopper<'_, F>,
) -> Result<Vec<Delivered>, Stop> {
    let mut delivered = Vec::with_capacity(span.seq_count() as usize);
    for step in span.steps() {
        match step {
            Step::Delivered(seq) => {
                let m = by_seq[&seq];
                delivered.push(Delivered {
                    subject: m.subject.to_string(),
                    payload: m.payload.clone(),
                    stream_seq: seq,
                    origin_signature: crate::fetch::origin_signature_of(m.headers.as_ref()),
                });
            }
            Step::ReadBack(seq) => delivered.extend(read_back(stream, seq, stopper).await?),
        }
    }
    Ok(delivered)
}

/// Appends `delivered` in chunks of at most `batch_events_max` (each one store write, flushed),
/// off the async threads.
async fn append(
    ledger: &Arc<Mutex<Ledger>>,
    mut delivered: Vec<Delivered>,
    config: &ServeConfig,
) -> Result<BatchTally, ServeError> {
    let batch_events_max = config.batch_events_max;
    let mut tally = BatchTally::default();
    while !delivered.is_empty() {
        let chunk: Vec<Delivered> = delivered
            .drain(..delivered.len().min(batch_events_max.max(1)))
            .collect();
        let l = ledger.clone();
        tally += tokio::task::spawn_blocking(move || {
            let mut ledger = l.lock().expect("ledger lock");
            process_batch(&mut ledger, chunk)
        })
        .await
        .map_err(js_err)??;
    }
    Ok(tally)
}

/// Idle: the last events still get a signed checkpoint within checkpoint_every_secs.
async fn sign_checkpoint_if_due(ledger: &Arc<Mutex<Ledger>>) {
    let l = ledger.clone();
    let signed = tokio::task::spawn_blocking(move || {
        l.lock().expect("ledger lock").sign_checkpoint_if_due()
    })
    .await;
    if let Ok(Err(e)) = signed {
        tracing::warn!(error = %e, "could not sign a checkpoint; will retry");
    }
}

/// On the way out: a projections checkpoint, a signed checkpoint, and a flush.
async fn snapshot_on_stop(ledger: &Arc<Mutex<Ledger>>) -> Result<(), ServeError> {
    let l = ledger.clone();
    tokio::task::spawn_blocking(move || {
        let mut ledger = l.lock().expect("ledger lock");
        ledger.write_snapshot()?;
        ledger.sign_checkpoint()?;
        ledger.store().flush().map_err(LedgerError::from)
    })
    .await
    .map_err(js_err)??;
    Ok(())
}
