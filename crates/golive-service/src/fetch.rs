//! Taking messages off the stream: batches from the durable pull consumer (the next one fetched
//! while this one is appended, a failed fetch retried with backoff), and single messages read
//! back from the stream itself when the consumer did not deliver them.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;
use tokio::task::JoinHandle;

use crate::batch::Delivered;
use crate::error::{ServeError, js_err};
use crate::stop::{Stop, Stopper};

/// The first wait before a failed fetch or read is tried again; each retry doubles it.
const RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest wait between two tries.
const RETRY_MAX: Duration = Duration::from_secs(5);

fn next_retry(retry: Duration) -> Duration {
    (retry * 2).min(RETRY_MAX)
}

type Fetch = JoinHandle<Result<Vec<jetstream::Message>, ServeError>>;

/// Fetches batches one ahead: the next batch is fetched while this one is appended (pipelining:
/// the pull request's round trip and the delivery overlap the store's flush). What a fetch
/// brought but the loop never processed (a stop) is not acknowledged, so it is delivered again
/// or read back by the cursor.
pub(crate) struct Fetcher {
    consumer: consumer::PullConsumer,
    batch_events_max: usize,
    fetch_wait_ms: u64,
    next: Fetch,
    retry: Duration,
}

impl Fetcher {
    /// Starts the first fetch.
    pub(crate) fn start(
        consumer: consumer::PullConsumer,
        batch_events_max: usize,
        fetch_wait_ms: u64,
    ) -> Self {
        let next = spawn_fetch(&consumer, batch_events_max, fetch_wait_ms);
        Self {
            consumer,
            batch_events_max,
            fetch_wait_ms,
            next,
            retry: RETRY_FIRST,
        }
    }

    /// The next fetched batch (empty when the fetch waited `fetch_wait_ms` for nothing), or why
    /// the loop stops. A failed fetch is retried after a wait that doubles up to `RETRY_MAX`.
    pub(crate) async fn next_batch<F: Future<Output = ()>>(
        &mut self,
        stopper: &mut Stopper<'_, F>,
    ) -> Result<Vec<jetstream::Message>, Stop> {
        loop {
            let fetched = tokio::select! {
                stop = stopper.stopped() => return Err(stop),
                r = &mut self.next => r.map_err(js_err).and_then(|r| r),
            };
            match fetched {
                Ok(messages) => {
                    self.retry = RETRY_FIRST;
                    self.fetch_again();
                    return Ok(messages);
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = self.retry.as_millis() as u64, "fetch from JetStream failed; retrying");
                    tokio::select! {
                        stop = stopper.stopped() => return Err(stop),
                        _ = tokio::time::sleep(self.retry) => {}
                    }
                    self.retry = next_retry(self.retry);
                    self.fetch_again();
                }
            }
        }
    }

    /// Stops the fetch under way.
    pub(crate) fn abort(&self) {
        self.next.abort();
    }

    fn fetch_again(&mut self) {
        self.next = spawn_fetch(&self.consumer, self.batch_events_max, self.fetch_wait_ms);
    }
}

fn spawn_fetch(consumer: &consumer::PullConsumer, max: usize, wait_ms: u64) -> Fetch {
    let consumer = consumer.clone();
    tokio::spawn(async move { fetch_batch(&consumer, max, wait_ms).await })
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

/// A message the consumer did not deliver, read from the stream (retried with backoff until it
/// is read or the shutdown comes). `None` when the stream no longer has it (deleted, or aged
/// out): there is nothing to process.
pub(crate) async fn read_back<F: Future<Output = ()>>(
    stream: &stream::Stream,
    seq: u64,
    stopper: &mut Stopper<'_, F>,
) -> Result<Option<Delivered>, Stop> {
    let mut retry = RETRY_FIRST;
    loop {
        match read_from_stream(stream, seq).await {
            Ok(found) => return Ok(found),
            Err(e) => {
                tracing::warn!(error = %e, stream_seq = seq, retry_in_ms = retry.as_millis() as u64, "cannot read a message from the stream; retrying");
                tokio::select! {
                    _ = stopper.shutdown() => return Err(Stop::Shutdown),
                    _ = tokio::time::sleep(retry) => {}
                }
                retry = next_retry(retry);
            }
        }
    }
}

/// One read of a message from the stream itself (from its leader).
async fn read_from_stream(
    stream: &stream::Stream,
    seq: u64,
) -> Result<Option<Delivered>, ServeError> {
    match stream.get_raw_message(seq).await {
        Ok(m) => Ok(Some(Delivered {
            subject: m.subject.to_string(),
            origin_signature: origin_signature_of(Some(&m.headers)),
            payload: m.payload,
            stream_seq: seq,
        })),
        Err(e) if matches!(e.kind(), stream::RawMessageErrorKind::NoMessageFound) => Ok(None),
        Err(e) => Err(js_err(e)),
    }
}

/// The text of a message's `Golive-Signature` header, if it has one.
pub(crate) fn origin_signature_of(headers: Option<&async_nats::HeaderMap>) -> Option<String> {
    headers?
        .get(golive_verify::SIGNATURE_HEADER)
        .map(|v| v.as_str().to_owned())
}
