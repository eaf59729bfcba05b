//! Baselines A and A' of the pipeline benchmark: what plain JetStream does with the same
//! messages, measured in the same run against the same nats-server. A: publish every message
//! with a msg id and `window` acks in flight (as a collector does). A': consume them all with a
//! durable pull consumer, batches of 1,000, one ack per batch (`AckPolicy::All`).

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
    let stream = js
        .create_stream(stream::Config {
            name: "BENCHRAW".to_owned(),
            subjects: vec!["benchraw.>".to_owned()],
            storage: stream::StorageType::File,
            duplicate_window: std::time::Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(client_err)?;
    let nats_pid = nats.pid().to_string();
    let n = messages.len() as u64;
    let cpu_before = (cpu_seconds("self"), cpu_seconds(&nats_pid));
    let publish_per_s = publish_all(&js, messages, window).await?;
    let client_cpu_us_per_event = cpu_us_per_event(cpu_before.0, cpu_seconds("self"), n);
    let nats_cpu_us_per_event = cpu_us_per_event(cpu_before.1, cpu_seconds(&nats_pid), n);
    Ok(RawJetStream {
        publish_per_s,
        consume_per_s: consume_all(&stream, n).await?,
        client_cpu_us_per_event,
        nats_cpu_us_per_event,
    })
}

/// Baseline A: publishes every message under `benchraw.` with its msg id, `window` acks in
/// flight, until every ack is in; messages/s.
async fn publish_all(
    js: &jetstream::Context,
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
                format!("benchraw.{subject}"),
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
    let c = stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some("benchraw".to_owned()),
            ack_policy: consumer::AckPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(client_err)?;
    let t = Instant::now();
    let mut got = 0u64;
    while got < n {
        let mut batch = c
            .fetch()
            .max_messages(1_000)
            .messages()
            .await
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
    Ok(rate(n, t))
}
