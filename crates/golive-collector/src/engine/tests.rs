//! The engine driven without NATS, sled or a clock: [`Sim`] plays the driver with a fake clock
//! and a fake outbox, and each test scripts what NATS and the ledger answer.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use golive_model::EventId;
use golive_model::protocol::ReceiptStatus;

use super::report::human;
use super::*;
use crate::DEFAULT_RECEIPT_INTERVAL_MS;
use crate::driver::PUBLISH_ACK_TIMEOUT_MS;
use crate::feed::{FeedRecord, ValidEvent};
use crate::input::ReadItem;
use crate::outbox::msg_id;

const RAL: &str = "golive.events.RAL.outage";
const RF4: &str = "golive.events.RF4.outage";
const RF4_REFUSED: &str = r#"Permissions Violation for Publish to "golive.events.RF4.outage""#;

fn config(window: usize) -> CollectorConfig {
    let mut cfg = CollectorConfig::new("nats://127.0.0.1:4222", "/nonexistent/outbox");
    cfg.window = window;
    cfg
}

fn id(n: u64) -> EventId {
    EventId(uuid::Uuid::from_u128(u128::from(n)))
}

fn event(n: u64, subject: &str) -> ValidEvent {
    ValidEvent {
        event_id: id(n),
        subject: subject.to_owned(),
        canonical: format!("{{\"n\":{n}}}").into_bytes(),
        line: n,
    }
}

fn events(ns: std::ops::RangeInclusive<u64>) -> Vec<ValidEvent> {
    ns.map(|n| event(n, RAL)).collect()
}

impl Now {
    fn after(self, ms: u64) -> Self {
        Self {
            at: self.at + Duration::from_millis(ms),
            unix_ms: self.unix_ms + ms as i64,
        }
    }
}

/// The engine with a fake clock, playing the driver: it carries out every action on a fake
/// outbox and records it, so that a test scripts only what NATS and the ledger answer.
struct Sim {
    engine: Engine,
    now: Now,
    /// The fake outbox: seq -> payload, as Insert and Settle leave it.
    outbox: BTreeMap<u64, Vec<u8>>,
    /// Publishes handed out since the test last took them.
    sent: Vec<Publish>,
    /// Publishes handed out and not answered, in order.
    unanswered: Vec<Publish>,
    /// Receipt queries asked and not answered.
    asked: Vec<Vec<(u64, EventId)>>,
    flush_asked: bool,
    states_written: Vec<(u64, EntryState)>,
    marked_refused: BTreeMap<u64, String>,
    settled: Vec<u64>,
    dead_lettered: Vec<u64>,
    last_report: Option<Progress>,
    wake_at: Option<Instant>,
    stopped: Option<CollectOutcome>,
    failed: Option<CollectError>,
    next_stream_seq: u64,
}

impl Sim {
    /// A fresh outbox, connected to NATS, stopping once everything read is settled.
    fn new(cfg: CollectorConfig) -> Self {
        Self::resume(cfg, Vec::new(), NatsState::Connected)
    }

    fn resume(cfg: CollectorConfig, entries: Vec<OutboxEntry>, nats: NatsState) -> Self {
        let now = Now {
            at: Instant::now(),
            unix_ms: 1_700_000_000_000,
        };
        let start = Start {
            next_seq: entries.last().map_or(1, |e| e.seq + 1),
            stop_when_done: true,
            ..Start::default()
        };
        let outbox = entries.iter().map(|e| (e.seq, e.payload.clone())).collect();
        let engine = Engine::new(cfg, start, entries.into_iter().map(Ok), now).unwrap();
        let mut sim = Self {
            engine,
            now,
            outbox,
            sent: Vec::new(),
            unanswered: Vec::new(),
            asked: Vec::new(),
            flush_asked: false,
            states_written: Vec::new(),
            marked_refused: BTreeMap::new(),
            settled: Vec::new(),
            dead_lettered: Vec::new(),
            last_report: None,
            wake_at: None,
            stopped: None,
            failed: None,
            next_stream_seq: 1,
        };
        sim.step(Input::Connection(nats));
        sim
    }

    fn step(&mut self, input: Input<'_>) {
        assert!(self.stopped.is_none(), "a step after the run stopped");
        let mut out = Vec::new();
        self.engine.on(input, self.now, &mut out);
        for action in out {
            self.carry_out(action);
        }
    }

    fn carry_out(&mut self, action: Action) {
        match action {
            Action::Insert { entries, .. } => {
                for e in entries {
                    self.outbox.insert(e.seq, e.payload);
                }
            }
            Action::Flush => self.flush_asked = true,
            Action::Publish(p) => {
                self.sent.push(p.clone());
                self.unanswered.push(p);
            }
            Action::WriteStates(states) => self.states_written.extend(states),
            Action::Settle {
                appended,
                dead_lettered,
            } => {
                for seq in appended.iter().chain(&dead_lettered) {
                    self.outbox.remove(seq);
                }
                self.settled.extend(appended);
                self.dead_lettered.extend(dead_lettered);
            }
            Action::MarkRefused { seq, reason } => {
                self.marked_refused.insert(seq, reason);
            }
            Action::ClearRefused(seq) => {
                self.marked_refused.remove(&seq);
            }
            Action::AskReceipts(ids) => self.asked.push(ids),
            Action::Report(p) => self.last_report = Some(p),
            Action::Wait { wake_at, .. } => self.wake_at = Some(wake_at),
            Action::Stop(outcome) => self.stopped = Some(outcome),
            Action::Fail(e) => self.failed = Some(e),
        }
        assert!(
            self.unanswered.len() <= self.engine.cfg.window,
            "more publishes unanswered than the window allows"
        );
    }

    /// Reads a batch (then the end of input, if `end`), with the driver's stored-copy facts.
    fn read(&mut self, events: Vec<ValidEvent>, end: bool) {
        let mut stored = Vec::new();
        for (index, ev) in events.iter().enumerate() {
            if let Some(seq) = self.engine.seq_of(&ev.event_id) {
                let same_payload = self.outbox.get(&seq).is_none_or(|p| *p == ev.canonical);
                stored.push(StoredCopy {
                    index,
                    same_payload,
                });
            }
        }
        let source: Arc<str> = "test.jsonl".into();
        let mut items: Vec<ReadItem> = events
            .into_iter()
            .map(|ev| ReadItem::Record {
                source: source.clone(),
                record: FeedRecord::Event(ev),
            })
            .collect();
        if end {
            items.push(ReadItem::End);
        }
        self.step(Input::Read {
            items: &mut items,
            stored: &stored,
        });
    }

    /// The flush the engine asked for finishes.
    fn flushed(&mut self) {
        assert!(self.flush_asked, "no flush was asked for");
        self.flush_asked = false;
        self.step(Input::Flushed);
    }

    fn take_sent(&mut self) -> Vec<Publish> {
        std::mem::take(&mut self.sent)
    }

    fn answer_of(&mut self, seq: u64) -> Publish {
        let i = (self.unanswered.iter().position(|p| p.seq == seq))
            .unwrap_or_else(|| panic!("no publish of seq {seq} in flight"));
        self.unanswered.remove(i)
    }

    fn ack(&mut self, seq: u64) {
        self.answer_of(seq);
        let stream_seq = self.next_stream_seq;
        self.next_stream_seq += 1;
        self.step(Input::Acked {
            seq,
            stream_seq,
            duplicate: false,
        });
    }

    fn ack_all(&mut self) {
        let seqs: Vec<u64> = self.unanswered.iter().map(|p| p.seq).collect();
        for seq in seqs {
            self.ack(seq);
        }
    }

    fn fail(&mut self, seq: u64, reason: &str) {
        let p = self.answer_of(seq);
        self.step(Input::PublishFailed {
            seq,
            epoch: p.epoch,
            reason: reason.to_owned(),
        });
    }

    /// Answers every receipt query asked so far, each event with `status(seq)`.
    fn answer(&mut self, status: impl Fn(u64) -> ReceiptStatus) {
        for ids in std::mem::take(&mut self.asked) {
            let statuses = ids.iter().map(|(seq, _)| status(*seq)).collect();
            self.step(Input::Receipts {
                ids,
                result: Ok(statuses),
            });
        }
    }

    /// Reads events 1 to `n` (the whole input), publishes them, has JetStream ack them all,
    /// and waits for the receipt round that asks about them.
    fn acked_and_asked(&mut self, n: u64) {
        self.read(events(1..=n), true);
        self.flushed();
        self.ack_all();
        self.advance(DEFAULT_RECEIPT_INTERVAL_MS);
        assert_eq!(self.asked.len(), 1, "one receipt query");
    }

    /// Lets `ms` pass with nothing happening but the engine's wake-up.
    fn advance(&mut self, ms: u64) {
        self.now = self.now.after(ms);
        self.step(Input::Wake);
    }

    fn note(&self) -> String {
        let report = self.last_report.as_ref().expect("a progress report");
        report.note.clone().unwrap_or_default()
    }

    fn close(mut self) -> CollectSummary {
        let outcome = self.stopped.expect("the run stopped");
        self.engine.close(outcome, self.now.unix_ms);
        self.engine.into_summary()
    }
}

#[test]
fn end_of_input_with_everything_receipted_is_done() {
    // Proves the whole path: read records are written, published only once flushed, acked,
    // asked about, and confirmed; then, with the input ended, the run stops AllConfirmed.
    let mut sim = Sim::new(config(16));
    sim.read(events(1..=3), true);
    assert_eq!(sim.outbox.len(), 3, "written to the outbox");
    assert!(
        sim.take_sent().is_empty(),
        "nothing published before its flush"
    );
    sim.flushed();
    let sent = sim.take_sent();
    assert_eq!(sent.iter().map(|p| p.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(sent[0].msg_id, id(1).to_string(), "msg id is the event id");
    assert_eq!(&*sent[0].subject, RAL);
    sim.ack_all();
    assert!(sim.stopped.is_none(), "acked is not confirmed");
    sim.advance(DEFAULT_RECEIPT_INTERVAL_MS);
    assert_eq!(sim.asked.len(), 1);
    assert_eq!(sim.asked[0].len(), 3);
    sim.answer(|_| ReceiptStatus::Appended);
    assert_eq!(sim.stopped, Some(CollectOutcome::AllConfirmed));
    let summary = sim.close();
    assert_eq!(
        (
            summary.read,
            summary.queued,
            summary.published,
            summary.confirmed
        ),
        (3, 3, 3, 3)
    );
    assert_eq!(summary.pending_at_exit, 0);
}

#[test]
fn durable_receipts_forget_the_event() {
    // Proves an event the ledger says it appended leaves the outbox and the engine at once,
    // while the one it does not know yet stays pending and is asked about again.
    let mut sim = Sim::new(config(16));
    sim.acked_and_asked(2);
    sim.answer(|seq| {
        if seq == 1 {
            ReceiptStatus::Appended
        } else {
            ReceiptStatus::Unknown
        }
    });
    assert_eq!(sim.settled, [1]);
    assert_eq!(sim.outbox.keys().copied().collect::<Vec<_>>(), [2]);
    assert_eq!(sim.engine.seq_of(&id(1)), None, "forgotten");
    sim.advance(DEFAULT_RECEIPT_INTERVAL_MS);
    assert_eq!(sim.last_report.as_ref().map(|p| p.pending), Some(1));
    assert_eq!(
        sim.asked,
        [vec![(2, id(2))]],
        "only the unknown one is asked again"
    );
}

#[test]
fn dead_lettered_events_are_forgotten_and_counted() {
    // Proves an event the ledger dead-lettered is settled (moved to the rejected list), counted,
    // and not published again; with it the run is done.
    let mut sim = Sim::new(config(16));
    sim.acked_and_asked(2);
    sim.answer(|seq| {
        if seq == 2 {
            ReceiptStatus::DeadLettered
        } else {
            ReceiptStatus::Appended
        }
    });
    assert_eq!(
        (sim.settled.as_slice(), sim.dead_lettered.as_slice()),
        (&[1][..], &[2][..])
    );
    assert!(sim.take_sent().len() == 2 && sim.outbox.is_empty());
    assert_eq!(sim.stopped, Some(CollectOutcome::AllConfirmed));
    let summary = sim.close();
    assert_eq!((summary.confirmed, summary.dead_lettered), (1, 1));
}

#[test]
fn a_lost_ack_is_published_again_after_the_timeout() {
    // Proves a publish whose ack never comes stays in flight (no copy meanwhile) until the
    // client's ack timeout fails it, and is then published again under the same msg id (so
    // JetStream dedupes it if the first copy did arrive) once the backoff has passed.
    let mut sim = Sim::new(config(16));
    sim.read(events(1..=1), true);
    sim.flushed();
    let first = sim.take_sent().remove(0);
    sim.advance(PUBLISH_ACK_TIMEOUT_MS - 1);
    assert!(
        sim.take_sent().is_empty(),
        "nothing sent while the ack may come"
    );
    sim.now = sim.now.after(1);
    sim.fail(1, "timed out");
    assert!(sim.take_sent().is_empty(), "not again before the backoff");
    sim.advance(Backoff::FIRST_MS - 1);
    assert!(sim.take_sent().is_empty());
    assert!(
        sim.note()
            .contains("publishing to JetStream fails (timed out)")
    );
    sim.advance(1);
    let again = sim.take_sent();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].seq, &again[0].msg_id), (first.seq, &first.msg_id));
}

#[test]
fn duplicate_acks_count_once() {
    // Proves an ack JetStream flags as a duplicate (it had the msg id) counts as the event's
    // publish, and a second answer for a publish already answered changes nothing: not the
    // counts, not the window.
    let mut sim = Sim::new(config(1));
    sim.read(events(1..=3), true);
    sim.flushed();
    assert_eq!(sim.take_sent().len(), 1, "window of one");
    sim.answer_of(1);
    let duplicate = |seq| Input::Acked {
        seq,
        stream_seq: 7,
        duplicate: true,
    };
    sim.step(duplicate(1));
    assert_eq!(sim.engine.summary.published, 1);
    assert_eq!(sim.engine.slots[&1].stream_seq, Some(7));
    assert_eq!(
        sim.take_sent().iter().map(|p| p.seq).collect::<Vec<_>>(),
        [2]
    );
    sim.step(duplicate(1));
    assert_eq!(sim.engine.summary.published, 1, "counted once");
    assert!(sim.take_sent().is_empty(), "the window is still full");
    assert_eq!(sim.engine.outgoing.in_flight.len(), 1);
}

#[test]
fn unknown_receipts_republish_under_a_new_msg_id_once_overdue() {
    // Proves an acked event the ledger keeps answering unknown is published again only once
    // republish_after_ms has passed since its publish, under the numbered msg id
    // `<event_id>.r1`, and that the re-publish's state is written at the next state write
    // (its numbered msg id must not be reused after a crash).
    let mut cfg = config(16);
    cfg.republish_after_ms = 2_000;
    let mut sim = Sim::new(cfg);
    sim.read(events(1..=1), true);
    sim.flushed();
    sim.take_sent();
    sim.ack(1);
    let published_at = sim.now.at;
    let mut rounds = 0;
    while sim.sent.is_empty() {
        rounds += 1;
        assert!(rounds < 100, "no re-publish");
        sim.advance(DEFAULT_RECEIPT_INTERVAL_MS);
        sim.answer(|_| ReceiptStatus::Unknown);
    }
    assert!(sim.now.at.duration_since(published_at) >= Duration::from_millis(2_000));
    let again = sim.take_sent();
    assert_eq!(again[0].msg_id, msg_id(&id(1), 1));
    assert_eq!(again[0].msg_id, format!("{}.r1", id(1)));
    sim.ack(1);
    assert_eq!(sim.engine.summary.republished, 1);
    sim.advance(1_000);
    let written = sim.states_written.iter().rev().find(|(seq, _)| *seq == 1);
    assert_eq!(written.map(|(_, st)| st.republishes), Some(1));
}

#[test]
fn nats_down_then_reconnect_resumes_publishing() {
    // Proves that while NATS is down nothing is published or asked, the note says the events
    // are buffered and when the client tries again, and that after the reconnect publishing
    // resumes in outbox order.
    let mut sim = Sim::new(config(16));
    sim.step(Input::Connection(NatsState::Disconnected));
    sim.step(Input::Nats(NatsEvent::Disconnected));
    sim.read(events(1..=3), true);
    sim.flushed();
    sim.advance(100);
    assert!(sim.take_sent().is_empty() && sim.asked.is_empty());
    let note = sim.note();
    assert!(note.contains("NATS unreachable") && note.contains("(connection lost)"));
    assert!(note.contains("3 events buffered in the outbox"));
    sim.step(Input::Nats(NatsEvent::ReconnectAt(
        sim.now.at + Duration::from_millis(400),
    )));
    sim.advance(100);
    assert!(sim.note().contains("retrying in 300 ms"), "{}", sim.note());
    assert!(!sim.last_report.as_ref().unwrap().nats_connected);
    sim.step(Input::Connection(NatsState::Connected));
    sim.step(Input::Nats(NatsEvent::Connected));
    let sent = sim.take_sent();
    assert_eq!(sent.iter().map(|p| p.seq).collect::<Vec<_>>(), [1, 2, 3]);
    sim.advance(100);
    assert_eq!(sim.note(), "", "nothing to wait for");
}

#[test]
fn publish_failures_back_off_doubling_to_5s() {
    // Proves each burst of failed publishes doubles the wait before the next try, 100 ms up to
    // 5 s; failures of publishes sent before the burst began do not double it again; nothing
    // is published before the wait is over; and an ack resets the wait.
    let mut sim = Sim::new(config(2));
    sim.read(events(1..=2), true);
    sim.flushed();
    let mut waits = Vec::new();
    for _ in 0..8 {
        assert_eq!(sim.take_sent().len(), 2, "both tried again together");
        sim.fail(1, "no responders");
        sim.fail(2, "no responders");
        let retry_at = sim.engine.outgoing.retry_at.expect("a backoff");
        let wait = retry_at.duration_since(sim.now.at).as_millis() as u64;
        waits.push(wait);
        sim.advance(wait - 1);
        assert!(
            sim.take_sent().is_empty(),
            "nothing before the wait is over"
        );
        sim.advance(1);
    }
    assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    sim.ack(1);
    sim.fail(2, "no responders");
    let retry_at = sim.engine.outgoing.retry_at.expect("a backoff");
    assert_eq!(
        retry_at.duration_since(sim.now.at),
        Duration::from_millis(100)
    );
}

#[test]
fn publishes_lost_to_a_disconnect_back_off_and_resume_after_the_reconnect() {
    // Proves publishes that fail because NATS went down are queued again with the backoff
    // (the note says NATS is unreachable, not that publishing fails), and after the reconnect
    // they go out again once the backoff is over, not before.
    let mut sim = Sim::new(config(2));
    sim.read(events(1..=2), true);
    sim.flushed();
    assert_eq!(sim.take_sent().len(), 2);
    sim.step(Input::Connection(NatsState::Disconnected));
    sim.step(Input::Nats(NatsEvent::Disconnected));
    sim.fail(1, "not connected to NATS");
    sim.fail(2, "not connected to NATS");
    let retry_at = sim.engine.outgoing.retry_at.expect("a backoff");
    assert_eq!(
        retry_at.duration_since(sim.now.at),
        Duration::from_millis(100)
    );
    let note = sim.engine.note(sim.now.at).unwrap_or_default();
    assert!(note.starts_with("NATS unreachable"), "{note}");
    sim.now = sim.now.after(50);
    sim.step(Input::Connection(NatsState::Connected));
    sim.step(Input::Nats(NatsEvent::Connected));
    assert!(sim.take_sent().is_empty(), "not before the backoff is over");
    sim.advance(50);
    let sent = sim.take_sent();
    assert_eq!(sent.iter().map(|p| p.seq).collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn a_refused_subject_is_marked_and_not_retried_this_run() {
    // Proves that after the server's permissions violation for a subject, the event in flight
    // on it is marked refused and not queued again when its publish fails, a later event on it
    // is refused without a publish, events on other subjects carry on, and the run ends
    // SomeRefused naming the subject and the server's words.
    let mut sim = Sim::new(config(2));
    let read = vec![event(1, RF4), event(2, RAL), event(3, RF4), event(4, RAL)];
    sim.read(read, true);
    sim.flushed();
    assert_eq!(sim.take_sent().len(), 2);
    sim.step(Input::Nats(NatsEvent::ServerError(NatsError {
        text: format!("nats: {RF4_REFUSED}"),
        words: Some(RF4_REFUSED.to_owned()),
    })));
    assert_eq!(sim.marked_refused.keys().copied().collect::<Vec<_>>(), [1]);
    assert_eq!(sim.marked_refused[&1], RF4_REFUSED);
    sim.fail(1, "permissions violation");
    sim.ack(2);
    let sent = sim.take_sent();
    assert_eq!(
        sent.iter().map(|p| p.seq).collect::<Vec<_>>(),
        [4],
        "3 is refused unsent"
    );
    assert!(sim.marked_refused.contains_key(&3));
    sim.ack(4);
    sim.advance(DEFAULT_RECEIPT_INTERVAL_MS);
    assert_eq!(sim.asked, [vec![(2, id(2)), (4, id(4))]]);
    sim.answer(|_| ReceiptStatus::Appended);
    assert_eq!(sim.stopped, Some(CollectOutcome::SomeRefused));
    let summary = sim.close();
    assert_eq!((summary.refused, summary.pending_at_exit), (2, 2));
    assert_eq!(
        summary.refused_subjects,
        [RefusedSubject {
            subject: RF4.to_owned(),
            reason: RF4_REFUSED.to_owned(),
            events: 2,
        }]
    );
}

#[test]
fn the_window_is_never_exceeded() {
    // Proves that however acks, failures and receipts interleave, no more than `window`
    // publishes are unanswered at once (Sim checks after every action), and that the run
    // still ends with everything confirmed.
    for seed in 1..=8u64 {
        let mut rng = seed;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut sim = Sim::new(config(8));
        sim.read(events(1..=60), true);
        let mut steps = 0;
        while sim.stopped.is_none() {
            steps += 1;
            assert!(steps < 10_000, "seed {seed}: the run does not end");
            if sim.flush_asked {
                sim.flushed();
            }
            match (next() % 4, sim.unanswered.first().map(|p| p.seq)) {
                (0 | 1, Some(seq)) => sim.ack(seq),
                (2, Some(seq)) => sim.fail(seq, "no responders"),
                _ => {
                    sim.advance(next() % 300);
                    // Some stay unknown for a while (and are published again), then the ledger
                    // has them all.
                    let unknown_ok = steps <= 500;
                    sim.answer(|seq| {
                        if unknown_ok && seq % 3 == 0 {
                            ReceiptStatus::Unknown
                        } else {
                            ReceiptStatus::Appended
                        }
                    });
                }
            }
            assert!(sim.engine.outgoing.in_flight.len() <= 8);
        }
        assert_eq!(
            sim.stopped,
            Some(CollectOutcome::AllConfirmed),
            "seed {seed}"
        );
        let summary = sim.close();
        assert_eq!(summary.confirmed, 60);
        assert!(
            summary.republished > 0,
            "seed {seed}: the script re-publishes some"
        );
    }
}

#[test]
fn refused_credentials_end_the_run() {
    // Proves the client saying the server refused the credentials (which it would retry
    // forever) fails the run at once with the error naming them.
    let mut sim = Sim::new(config(16));
    sim.step(Input::Nats(NatsEvent::ClientError(NatsError {
        text: "nats: authorization violation".to_owned(),
        words: Some("authorization violation".to_owned()),
    })));
    assert!(matches!(sim.failed, Some(CollectError::NatsRefused { .. })));
}

#[test]
fn a_reread_event_is_skipped_and_a_changed_one_rejected() {
    // Proves an event id already in the outbox (or earlier in the batch) with the same bytes is
    // counted already queued and not written again, and with other bytes is rejected locally.
    let mut sim = Sim::new(config(16));
    sim.read(events(1..=2), false);
    let mut changed = event(2, RAL);
    changed.canonical = b"{\"n\":\"other\"}".to_vec();
    let mut changed_in_batch = event(3, RAL);
    changed_in_batch.canonical = b"{}".to_vec();
    sim.read(
        vec![
            event(1, RAL),
            changed,
            event(3, RAL),
            event(3, RAL),
            changed_in_batch,
        ],
        true,
    );
    let s = &sim.engine.summary;
    assert_eq!(
        (s.read, s.queued, s.already_queued, s.rejected_locally),
        (7, 3, 2, 2)
    );
    assert_eq!(s.rejections[0].field, "event_id");
    assert_eq!(sim.outbox.len(), 3);
}

#[test]
fn a_restart_publishes_what_was_never_acked_and_asks_about_the_rest() {
    // Proves an engine resuming from the outbox publishes its queued entries at once and asks
    // the ledger about the acknowledged ones, without reading anything.
    let entry = |seq: u64, state| OutboxEntry {
        seq,
        event_id: id(seq),
        subject: RAL.to_owned(),
        payload: b"{}".to_vec(),
        state: EntryState {
            state,
            republishes: 0,
            publish_attempts: 1,
            queued_unix_ms: 0,
            last_publish_unix_ms: None,
        },
    };
    let entries = vec![
        entry(1, PublishState::Published),
        entry(2, PublishState::Queued),
    ];
    let sim = Sim::resume(config(16), entries, NatsState::Connected);
    assert_eq!(sim.sent.iter().map(|p| p.seq).collect::<Vec<_>>(), [2]);
    assert_eq!(sim.asked, [vec![(1, id(1))]]);
    assert_eq!(sim.engine.reading.next_seq, 3);
}

#[test]
fn the_receipt_wait_elapses() {
    // Proves that with wait_for_receipts_ms set, the run stops ReceiptWaitElapsed that long
    // after the input ended when the ledger never answers, and not before.
    let mut cfg = config(16);
    cfg.wait_for_receipts_ms = Some(1_000);
    let mut sim = Sim::new(cfg);
    sim.read(events(1..=1), true);
    sim.flushed();
    sim.ack(1);
    sim.advance(500);
    let ids = sim.asked.remove(0);
    sim.step(Input::Receipts {
        ids,
        result: Err(NoReceipt::NoResponders),
    });
    sim.advance(400);
    assert!(
        sim.note().contains("no ledger is answering"),
        "{}",
        sim.note()
    );
    sim.advance(99);
    assert!(sim.stopped.is_none(), "not before the wait is over");
    sim.advance(1);
    assert_eq!(sim.stopped, Some(CollectOutcome::ReceiptWaitElapsed));
    assert_eq!(sim.close().pending_at_exit, 1);
}

#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "collector engine invariant violated: slots and the id index")]
fn a_broken_invariant_panics_naming_it() {
    // Proves the check after each step catches a corrupted state and names the rule it broke.
    let mut sim = Sim::new(config(16));
    sim.read(events(1..=2), false);
    sim.engine.by_id.clear();
    sim.advance(1);
}

#[test]
fn publish_permission_violations_name_their_subject() {
    // Proves the subject is read from nats-server's permissions violation, and other errors
    // (a subscription violation, anything else) are not taken for a refused publish.
    assert_eq!(
        publishing::refused_publish_subject(RF4_REFUSED),
        Some("golive.events.RF4.outage")
    );
    assert_eq!(
        publishing::refused_publish_subject(
            r#"Permissions Violation for Subscription to "_INBOX.x""#
        ),
        None
    );
    assert_eq!(
        publishing::refused_publish_subject("Maximum Payload Violation"),
        None
    );
}

#[test]
fn human_durations() {
    // Proves short waits read in milliseconds and long ones in seconds.
    assert_eq!(human(Duration::from_millis(250)), "250 ms");
    assert_eq!(human(Duration::from_millis(2000)), "2.0s");
}
