//! Baselines A and A' of the pipeline benchmark: what plain JetStream does with the same
//! messages, measured in the same run against the same nats-server. A: publish every message
//! with a msg id and `window` acks in flight (as a collector does). A': consume them all with a
//! durable pull consumer, batches of 1,000, one ack per batch (`AckPolicy::All`). A+: the
//! same publish and consume running at the same time on a stream of their own (what the
//! transport alone carries end to end, the fair limit of the pipeline).

use std::time::Instant;

use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;

use super::{Message, PipelineBenchError, client_err};
use crate::events::rate;
use crate::procstat::{cpu_seconds, cpu_us_per_event};

/// What [`raw_jetstream`] measured.
pub(super) struct RawJetStream {
    pub(super) publish_per_s: f64,
    pub(super) consume_per_s: f64,
    /// A+: messages/s from the first publish until the consumer has read the last.
    pub(super) pipeline_per_s: f64,
    /// CPU of the publishing client (this process) and of nats-server during the publish.
    pub(super) client_cpu_us_per_event: Option<f64>,
    pub(super) nats_cpu_us_per_event: Option<f64>,
}

/// A JetStream publish acknowledgement in flight.
type AckFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<jetstream::publish::PublishAck, jetstream::context::PublishError>,
            > + Send,
    >,
>;

/// Raw JetStream on the stream `BENCHRAW`: publish every message, then consume them all.
pub(super) async fn raw_jetstream(
    nats: &golive::natsproc::OwnNats,
    messages: &[Message],
    window: usize,
) -> Result<RawJetStream, PipelineBenchError> {
    let client = async_nats::connect(&nats.url).await.map_err(client_err)?;
    let js = jetstream::new(client);
    let stream = create_stream(&js, "BENCHRAW").await?;
    let nats_pid = nats.pid().to_string();
    let n = messages.len() as u64;
    let cpu_before = (cpu_seconds("self"), cpu_seconds(&nats_pid));
    let publish_per_s = publish_all(&js, "benchraw", messages, window).await?;
    let client_cpu_us_per_event = cpu_us_per_event(cpu_before.0, cpu_seconds("self"), n);
    let nats_cpu_us_per_event = cpu_us_per_event(cpu_before.1, cpu_seconds(&nats_pid), n);
    let consume_per_s = consume_all(&stream, n).await?;
    js.delete_stream("BENCHRAW").await.map_err(client_err)?;
    Ok(RawJetStream {
        publish_per_s,
        consume_per_s,
        pipeline_per_s: pipeline(&js, &nats.url, messages, window).await?,
        client_cpu_us_per_event,
        nats_cpu_us_per_event,
    })
}

/// A file stream `name` taking the subjects `<name in lower case>.>`, as GOLIVE is kept.
async fn create_stream(
    js: &jetstream::Context,
    name: &str,
) -> Result<stream::Stream, PipelineBenchError> {
    js.create_stream(stream::Config {
        name: name.to_owned(),
        subjects: vec![format!("{}.>", name.to_lowercase())],
        storage: stream::StorageType::File,
        duplicate_window: std::time::Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .map_err(client_err)
}

/// Baseline A+: the publish of A and the consume of A' at the same time, on the stream
/// `BENCHPIPE`, the consumer on a connection of its own (as the ledger has); messages/s from
/// the first publish until the last message is read and its batch acked.
async fn pipeline(
    js: &jetstream::Context,
    url: &str,
    messages: &[Message],
    window: usize,
) -> Result<f64, PipelineBenchError> {
    let stream = create_stream(js, "BENCHPIPE").await?;
    let consumer = durable(&stream, "benchpipe").await?;
    let n = messages.len() as u64;
    let reader = async_nats::connect(url).await.map_err(client_err)?;
    let consumer_of_reader = jetstream::new(reader)
        .get_stream("BENCHPIPE")
        .await
        .map_err(client_err)?
        .get_consumer::<consumer::pull::Config>(consumer.cached_info().name.as_str())
        .await
        .map_err(client_err)?;
    let t = Instant::now();
    let read = tokio::spawn(async move { read_all(&consumer_of_reader, n, 100).await });
    publish_all(js, "benchpipe", messages, window).await?;
    read.await.map_err(client_err)??;
    let per_s = rate(n, t);
    js.delete_stream("BENCHPIPE").await.map_err(client_err)?;
    Ok(per_s)
}

/// Baseline A: publishes every message under `<prefix>.` with its msg id, `window` acks in
/// flight, until every ack is in; messages/s.
async fn publish_all(
    js: &jetstream::Context,
    prefix: &str,
    messages: &[Message],
    window: usize,
) -> Result<f64, PipelineBenchError> {
    let t = Instant::now();
    let mut inflight: futures::stream::FuturesUnordered<AckFuture> =
        futures::stream::FuturesUnordered::new();
    for Message {
        subject,
        id,
        payload,
    } in messages
    {
        if inflight.len() >= window
            && let Some(r) = inflight.next().await
        {
            r.map_err(client_err)?;
        }
        let ack = js
            .send_publish(
                format!("{prefix}.{subject}"),
                jetstream::message::PublishMessage::build()
                    .message_id(id)
                    .payload(payload.clone()),
            )
            .await
            .map_err(client_err)?;
        inflight.push(std::future::IntoFuture::into_future(ack));
    }
    while let Some(r) = inflight.next().await {
        r.map_err(client_err)?;
    }
    Ok(rate(messages.len() as u64, t))
}

/// Baseline A': reads `n` messages with a durable pull consumer, acking the last of each
/// batch; messages/s.
async fn consume_all(stream: &stream::Stream, n: u64) -> Result<f64, PipelineBenchError> {
    let c = durable(stream, "benchraw").await?;
    let t = Instant::now();
    read_all(&c, n, 0).await?;
    Ok(rate(n, t))
}

/// A durable pull consumer `name` on `stream`, one ack covering a batch (`AckPolicy::All`).
async fn durable(
    stream: &stream::Stream,
    name: &str,
) -> Result<consumer::PullConsumer, PipelineBenchError> {
    stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some(name.to_owned()),
            ack_policy: consumer::AckPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(client_err)
}

/// Reads `n` messages from `c` in batches of up to 1,000, acking the last of each. With
/// `wait_ms` 0 a batch is what the stream holds now (the stream is full); above 0 a batch
/// waits up to that long for messages still being published, as the ledger's fetch does.
async fn read_all(
    c: &consumer::PullConsumer,
    n: u64,
    wait_ms: u64,
) -> Result<(), PipelineBenchError> {
    let mut got = 0u64;
    while got < n {
        let mut batch = if wait_ms == 0 {
            c.fetch().max_messages(1_000).messages().await
        } else {
            c.batch()
                .max_messages(1_000)
                .expires(std::time::Duration::from_millis(wait_ms))
                .messages()
                .await
        }
        .map_err(client_err)?;
        let mut last = None;
        while let Some(m) = batch.next().await {
            last = Some(m.map_err(client_err)?);
            got += 1;
        }
        if let Some(m) = last {
            m.ack().await.map_err(client_err)?;
        }
    }
    Ok(())
}
