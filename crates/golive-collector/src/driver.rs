//! The engine's driver: the IO around the pure [`Engine`]. One task owns the engine, the
//! outbox and the NATS client; it waits on a single `select!` for whatever happens next (a
//! batch from the reader thread, an answer of the sender task, an ack, a receipt, a finished
//! flush, a NATS event, the engine's wake-up time), reads the clocks once, feeds that to
//! [`Engine::on`] as an [`Input`] and carries out the [`Action`]s it answers with. It decides
//! nothing itself. Nothing here is shared mutable state: the reader thread sends records in,
//! the sender task sends publishes out in the engine's order, and the NATS client's callbacks
//! send their news over a channel.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::connection::State;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::{Client, RequestErrorKind};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use golive_model::EventId;
use golive_model::protocol::{RECEIPTS_SUBJECT, decode_receipt_reply, encode_receipt_query};
use golive_verify::{NoteSigner, SIGNATURE_HEADER, sign_event};
use tokio::sync::mpsc;

use crate::engine::{
    Action, Engine, Input, NatsError, NatsEvent, NatsState, NoReceipt, Now, Publish,
    READ_BATCH_MAX, REJECTED_BY_LEDGER, Start, StoredCopy,
};
use crate::error::CollectError;
use crate::feed::FeedRecord;
use crate::input::ReadItem;
use crate::outbox::{FileKey, Outbox, OutboxEntry, now_unix_ms};
use crate::{CollectOutcome, CollectSummary, CollectorConfig, Progress};

/// How long a JetStream publish may wait for its ack before it counts as failed.
pub const PUBLISH_ACK_TIMEOUT_MS: u64 = 5_000;
/// Payloads of newly read events kept in memory for their first publish (saves reading them
/// back from sled); beyond this many, the first publish reads the outbox like any other.
const FRESH_PAYLOADS_MAX: usize = 65_536;

impl Now {
    /// Reads both clocks: the driver's job, once per step.
    pub(crate) fn read() -> Self {
        Self {
            at: Instant::now(),
            unix_ms: now_unix_ms(),
        }
    }
}

/// What the NATS client's callbacks send the driver.
#[derive(Debug)]
pub(crate) enum NatsNews {
    Event(async_nats::Event),
    /// The reconnect-delay callback: the next connect attempt is at this time.
    ReconnectAt(Instant),
}

/// One publish for the sender task.
struct PublishJob {
    seq: u64,
    epoch: u64,
    subject: String,
    payload: Bytes,
    msg_id: String,
}

/// The sender task's answer: the ack future, or why the publish could not be sent.
struct Sent {
    seq: u64,
    epoch: u64,
    result: Result<PublishAckFuture, String>,
}

/// Sends publishes one at a time, in the order the engine dispatched them, so that JetStream
/// receives events in outbox order; the acks are awaited concurrently by the driver.
/// With a trust key, each publish carries the trust's signature of the payload (the event's
/// canonical bytes); Ed25519 is deterministic, so a re-publish carries the same signature.
async fn sender_task(
    js: async_nats::jetstream::Context,
    client: Client,
    signer: Option<Arc<NoteSigner>>,
    mut jobs: mpsc::Receiver<PublishJob>,
    sent: mpsc::Sender<Sent>,
) {
    while let Some(job) = jobs.recv().await {
        let result = if client.connection_state() != State::Connected {
            Err("not connected to NATS".to_owned())
        } else {
            let mut msg = PublishMessage::build().message_id(&job.msg_id);
            if let Some(signer) = &signer {
                let signature = sign_event(signer, &job.payload).to_text();
                msg = msg.header(SIGNATURE_HEADER, signature.as_str());
            }
            let msg = msg.payload(job.payload);
            js.send_publish(job.subject, msg)
                .await
                .map_err(|e| e.to_string())
        };
        let out = Sent {
            seq: job.seq,
            epoch: job.epoch,
            result,
        };
        if sent.send(out).await.is_err() {
            break;
        }
    }
}

/// What woke the driver.
enum Woke {
    Shutdown,
    Sent(Sent),
    /// An ack or a receipt came back.
    Answer(Input<'static>),
    Flushed(Result<(), CollectError>),
    /// Records read into the batch buffer; 0 when the reader hung up.
    Read(usize),
    Nats(NatsNews),
    Timer,
}

/// The last [`Action::Wait`].
struct Wait {
    read_max: usize,
    wake_at: Instant,
}

pub(crate) struct Driver<F> {
    engine: Engine,
    outbox: Outbox,
    client: Client,
    progress: F,
    receipt_timeout: Duration,
    jobs: mpsc::Sender<PublishJob>,
    sent: mpsc::Receiver<Sent>,
    acks: FuturesUnordered<BoxFuture<'static, Input<'static>>>,
    receipts: FuturesUnordered<BoxFuture<'static, Input<'static>>>,
    flushing: Option<BoxFuture<'static, Result<(), CollectError>>>,
    /// See [`FRESH_PAYLOADS_MAX`]: seq -> canonical bytes.
    fresh: HashMap<u64, Bytes>,
    /// The engine's answer to the step in progress (kept to reuse its allocation).
    actions: Vec<Action>,
    /// Inputs that carrying out actions produced, fed before waiting again.
    follow_ups: Vec<Input<'static>>,
    /// The connection state last fed to the engine.
    fed_state: Option<NatsState>,
    wait: Wait,
}

impl<F: FnMut(&Progress) + Send> Driver<F> {
    /// Builds the engine from what the outbox holds and starts the sender task.
    pub(crate) fn new(
        cfg: CollectorConfig,
        outbox: Outbox,
        client: Client,
        link_error: Option<String>,
        stop_when_done: bool,
        progress: F,
    ) -> Result<Self, CollectError> {
        let js = async_nats::jetstream::ContextBuilder::new()
            .timeout(Duration::from_millis(PUBLISH_ACK_TIMEOUT_MS))
            .max_ack_inflight(cfg.window * 2)
            .backpressure_on_inflight(true)
            .build(client.clone());
        let (jobs_tx, jobs_rx) = mpsc::channel(cfg.window);
        let (sent_tx, sent_rx) = mpsc::channel(cfg.window);
        let signer = cfg.trust_signer.clone();
        tokio::spawn(sender_task(js, client.clone(), signer, jobs_rx, sent_tx));
        let start = Start {
            next_seq: outbox.next_seq()?,
            marked_refused: outbox.refused_marks()?.into_iter().map(|m| m.0).collect(),
            link_error,
            stop_when_done,
        };
        let receipt_timeout = Duration::from_millis(cfg.receipt_timeout_ms);
        let now = Now::read();
        let engine = Engine::new(cfg, start, outbox.entries(), now)?;
        Ok(Self {
            engine,
            outbox,
            client,
            progress,
            receipt_timeout,
            jobs: jobs_tx,
            sent: sent_rx,
            acks: FuturesUnordered::new(),
            receipts: FuturesUnordered::new(),
            flushing: None,
            fresh: HashMap::new(),
            actions: Vec::new(),
            follow_ups: Vec::new(),
            fed_state: None,
            wait: Wait {
                read_max: 0,
                wake_at: now.at,
            },
        })
    }

    /// Runs until the engine stops the run (input done and every event confirmed, or the
    /// receipt wait elapsed), or until `shutdown` completes.
    pub(crate) async fn run(
        mut self,
        mut items: mpsc::Receiver<ReadItem>,
        mut news: mpsc::Receiver<NatsNews>,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> Result<CollectSummary, CollectError> {
        tokio::pin!(shutdown);
        let mut buf: Vec<ReadItem> = Vec::with_capacity(READ_BATCH_MAX);
        let mut stored: Vec<StoredCopy> = Vec::new();
        // The first step (the connection state as it stands, then a wake-up) starts publishing
        // and asking about what the outbox held.
        let mut flow = self.step(Input::Wake, Now::read())?;
        let outcome = loop {
            if let ControlFlow::Break(outcome) = flow {
                break outcome;
            }
            let woke = self
                .next(&mut items, &mut news, &mut shutdown, &mut buf)
                .await;
            let now = Now::read();
            flow = match woke {
                Woke::Shutdown => self.step(Input::Shutdown, now)?,
                Woke::Sent(sent) => match self.on_sent(sent) {
                    Some(input) => self.step(input, now)?,
                    None => continue,
                },
                Woke::Answer(input) => self.step(input, now)?,
                Woke::Flushed(result) => {
                    result?;
                    self.flushing = None;
                    self.step(Input::Flushed, now)?
                }
                Woke::Read(0) => self.step(Input::ReadDone, now)?,
                Woke::Read(_) => {
                    self.stored_copies(&buf, &mut stored)?;
                    let read = Input::Read {
                        items: &mut buf,
                        stored: &stored,
                    };
                    self.step(read, now)?
                }
                Woke::Nats(news) => match nats_event(news) {
                    Some(event) => self.step(Input::Nats(event), now)?,
                    None => continue,
                },
                Woke::Timer => self.step(Input::Wake, now)?,
            };
        };
        self.close(outcome).await
    }

    /// Waits for whatever happens next. The order matters (`biased`): a finished flush is
    /// looked at before reading, or a reader that always has input would keep it unobserved
    /// and nothing would be published until the input ended (profiled: docs/BENCHMARKS.md).
    async fn next<S: std::future::Future<Output = ()>>(
        &mut self,
        items: &mut mpsc::Receiver<ReadItem>,
        news: &mut mpsc::Receiver<NatsNews>,
        shutdown: &mut Pin<&mut S>,
        buf: &mut Vec<ReadItem>,
    ) -> Woke {
        let read_max = self.wait.read_max;
        tokio::select! {
            biased;
            () = shutdown.as_mut() => Woke::Shutdown,
            Some(sent) = self.sent.recv() => Woke::Sent(sent),
            Some(input) = self.acks.next(), if !self.acks.is_empty() => Woke::Answer(input),
            Some(input) = self.receipts.next(), if !self.receipts.is_empty() => {
                Woke::Answer(input)
            }
            r = async { self.flushing.as_mut().expect("guarded").await }, if self.flushing.is_some() => {
                Woke::Flushed(r)
            }
            n = items.recv_many(buf, read_max.max(1)), if read_max > 0 => Woke::Read(n),
            Some(news) = news.recv() => Woke::Nats(news),
            () = tokio::time::sleep_until(self.wait.wake_at.into()) => Woke::Timer,
        }
    }

    /// Feeds one input (after the connection state, when it changed) and carries out what the
    /// engine answers, including the inputs that carrying it out produced.
    fn step(
        &mut self,
        input: Input<'_>,
        now: Now,
    ) -> Result<ControlFlow<CollectOutcome>, CollectError> {
        let state = nats_state(&self.client);
        if self.fed_state != Some(state) {
            self.fed_state = Some(state);
            self.engine
                .on(Input::Connection(state), now, &mut self.actions);
            if let ControlFlow::Break(outcome) = self.carry_out()? {
                return Ok(ControlFlow::Break(outcome));
            }
        }
        self.engine.on(input, now, &mut self.actions);
        let mut flow = self.carry_out()?;
        while flow.is_continue()
            && let Some(next) = self.follow_ups.pop()
        {
            self.engine.on(next, now, &mut self.actions);
            flow = self.carry_out()?;
        }
        Ok(flow)
    }

    /// Carries out the engine's actions in order.
    fn carry_out(&mut self) -> Result<ControlFlow<CollectOutcome>, CollectError> {
        let mut actions = std::mem::take(&mut self.actions);
        let mut flow = ControlFlow::Continue(());
        for action in actions.drain(..) {
            match action {
                Action::Insert { entries, files } => self.insert(entries, &files)?,
                Action::Flush => {
                    let outbox = self.outbox.clone();
                    self.flushing = Some(Box::pin(async move { outbox.flush().await }));
                }
                Action::Publish(p) => self.publish(p)?,
                Action::WriteStates(states) => self.outbox.update_states(&states)?,
                Action::Settle {
                    appended,
                    dead_lettered,
                } => self.settle(&appended, &dead_lettered)?,
                Action::MarkRefused { seq, reason } => {
                    self.fresh.remove(&seq);
                    self.outbox.mark_refused(&[seq], &reason)?;
                }
                Action::ClearRefused(seq) => self.outbox.clear_refused([seq])?,
                Action::AskReceipts(ids) => self.ask_receipts(ids),
                Action::Report(p) => (self.progress)(&p),
                Action::Wait { read_max, wake_at } => self.wait = Wait { read_max, wake_at },
                Action::Stop(outcome) => flow = ControlFlow::Break(outcome),
                Action::Fail(e) => return Err(e),
            }
        }
        self.actions = actions;
        Ok(flow)
    }

    /// Writes new entries; their payloads are kept for the first publish.
    fn insert(&mut self, entries: Vec<OutboxEntry>, files: &[FileKey]) -> Result<(), CollectError> {
        self.outbox.insert(&entries, files)?;
        for e in entries {
            if self.fresh.len() < FRESH_PAYLOADS_MAX {
                self.fresh.insert(e.seq, Bytes::from(e.payload));
            }
        }
        Ok(())
    }

    /// Hands a publish to the sender task with its payload.
    fn publish(&mut self, p: Publish) -> Result<(), CollectError> {
        let payload = match self.fresh.remove(&p.seq) {
            Some(payload) => payload,
            None => match self.outbox.get(p.seq)? {
                Some(e) => Bytes::from(e.payload),
                None => {
                    self.follow_ups.push(Input::EntryMissing(p.seq));
                    return Ok(());
                }
            },
        };
        let job = PublishJob {
            seq: p.seq,
            epoch: p.epoch,
            subject: p.subject.to_string(),
            payload,
            msg_id: p.msg_id,
        };
        // The channel holds `window` jobs and at most `window` are in flight, so it is never
        // full: it fails only if the sender task is gone.
        if self.jobs.try_send(job).is_err() {
            self.follow_ups.push(Input::PublishFailed {
                seq: p.seq,
                epoch: p.epoch,
                reason: "the publish task stopped".to_owned(),
            });
        }
        Ok(())
    }

    /// A sent publish waits for its ack; one that could not be sent failed.
    fn on_sent(&mut self, sent: Sent) -> Option<Input<'static>> {
        let (seq, epoch) = (sent.seq, sent.epoch);
        match sent.result {
            Ok(ack) => {
                self.acks.push(Box::pin(async move {
                    match ack.await {
                        Ok(a) => Input::Acked {
                            seq,
                            stream_seq: a.sequence,
                            duplicate: a.duplicate,
                        },
                        Err(e) => Input::PublishFailed {
                            seq,
                            epoch,
                            reason: e.to_string(),
                        },
                    }
                }));
                None
            }
            Err(reason) => Some(Input::PublishFailed { seq, epoch, reason }),
        }
    }

    fn settle(&mut self, appended: &[u64], dead_lettered: &[u64]) -> Result<(), CollectError> {
        let dead: Vec<(u64, &str)> = dead_lettered
            .iter()
            .map(|seq| (*seq, REJECTED_BY_LEDGER))
            .collect();
        self.outbox.settle(appended, &dead)?;
        for seq in appended.iter().chain(dead_lettered) {
            self.fresh.remove(seq);
        }
        Ok(())
    }

    /// Sends one receipt query; its answer (or the ledger's silence) comes back as an input.
    fn ask_receipts(&mut self, ids: Vec<(u64, EventId)>) {
        let event_ids: Vec<EventId> = ids.iter().map(|(_, id)| *id).collect();
        // The engine asks about at most RECEIPT_IDS_MAX ids at once.
        let body = encode_receipt_query(&event_ids).expect("a receipt query fits its ids");
        let client = self.client.clone();
        let timeout = self.receipt_timeout;
        self.receipts.push(Box::pin(async move {
            let request = async_nats::Request::new()
                .payload(Bytes::from(body))
                .timeout(Some(timeout));
            let result = match client.send_request(RECEIPTS_SUBJECT, request).await {
                Ok(msg) => decode_receipt_reply(&msg.payload, ids.len())
                    .map_err(|e| NoReceipt::Failed(format!("unreadable receipt: {e}"))),
                Err(e) => Err(match e.kind() {
                    RequestErrorKind::NoResponders => NoReceipt::NoResponders,
                    RequestErrorKind::TimedOut => NoReceipt::TimedOut,
                    _ => NoReceipt::Failed(e.to_string()),
                }),
            };
            Input::Receipts { ids, result }
        }));
    }

    /// For each read event whose id the outbox already holds, whether the stored copy has the
    /// same bytes (the engine decides what that means).
    fn stored_copies(
        &self,
        items: &[ReadItem],
        stored: &mut Vec<StoredCopy>,
    ) -> Result<(), CollectError> {
        stored.clear();
        for (index, item) in items.iter().enumerate() {
            let ReadItem::Record {
                record: FeedRecord::Event(ev),
                ..
            } = item
            else {
                continue;
            };
            if let Some(seq) = self.engine.seq_of(&ev.event_id) {
                let same_payload =
                    (self.outbox.get(seq)?).is_none_or(|e| e.payload == ev.canonical);
                stored.push(StoredCopy {
                    index,
                    same_payload,
                });
            }
        }
        Ok(())
    }

    /// At exit everything is written: there is no next round.
    async fn close(mut self, outcome: CollectOutcome) -> Result<CollectSummary, CollectError> {
        if let Some(flush) = self.flushing.take() {
            flush.await?;
        }
        let states = self.engine.close(outcome, now_unix_ms());
        if !states.is_empty() {
            self.outbox.update_states(&states)?;
        }
        self.outbox.flush().await?;
        let last = self.engine.last_report(Instant::now());
        (self.progress)(&last);
        Ok(self.engine.into_summary())
    }
}

fn nats_state(client: &Client) -> NatsState {
    match client.connection_state() {
        State::Connected => NatsState::Connected,
        State::Pending => NatsState::Pending,
        State::Disconnected => NatsState::Disconnected,
    }
}

/// The engine's view of what a NATS callback said; `None` for what the engine has no use for.
fn nats_event(news: NatsNews) -> Option<NatsEvent> {
    let event = match news {
        NatsNews::ReconnectAt(at) => return Some(NatsEvent::ReconnectAt(at)),
        NatsNews::Event(event) => event,
    };
    match event {
        async_nats::Event::Connected => Some(NatsEvent::Connected),
        async_nats::Event::Disconnected => Some(NatsEvent::Disconnected),
        async_nats::Event::ClientError(e) => {
            let text = e.to_string();
            let words = match e {
                async_nats::ClientError::Other(w) => Some(w),
                _ => None,
            };
            Some(NatsEvent::ClientError(NatsError { text, words }))
        }
        async_nats::Event::ServerError(e) => {
            let text = e.to_string();
            let words = match e {
                async_nats::ServerError::Other(w) => Some(w),
                _ => None,
            };
            Some(NatsEvent::ServerError(NatsError { text, words }))
        }
        other => {
            tracing::debug!(event = %other, "NATS event");
            None
        }
    }
}
