//! Receipts: rounds of queries asking the ledger about published, unconfirmed events. What it
//! appended or dead-lettered is settled (and forgotten); what it does not know is published
//! again once overdue and once the ledger has read past it.

use std::time::{Duration, Instant};

use golive_model::EventId;
use golive_model::protocol::{RECEIPT_IDS_MAX, RECEIPTS_SUBJECT, ReceiptStatus};

use super::{Action, Engine, NoReceipt, RECEIPT_QUERIES_PER_ROUND, ReceiptAnswers};
use crate::outbox::{PublishState, msg_id};

/// Least gap between receipt rounds while receipts are confirming events.
const RECEIPT_ROUND_GAP_MS: u64 = 5;
/// Re-publishing an event that stays unknown waits `republish_after_ms * 2^n` after the n-th
/// re-publish, n capped here: a ledger that is merely slow is not flooded with copies.
const REPUBLISH_BACKOFF_DOUBLINGS_MAX: u32 = 4;

impl Engine {
    /// Asks the ledger about published, unconfirmed events: up to [`RECEIPT_QUERIES_PER_ROUND`]
    /// queries of [`RECEIPT_IDS_MAX`] ids, starting where the last round stopped so that a
    /// stuck head cannot starve the rest.
    pub(super) fn start_receipt_round(&mut self, now: Instant, out: &mut Vec<Action>) {
        let r = &mut self.receipts;
        if r.queries_in_flight > 0
            || now < r.next_round_at
            || self.link.nats != super::NatsState::Connected
        {
            return;
        }
        let max = RECEIPT_IDS_MAX * RECEIPT_QUERIES_PER_ROUND;
        let ids: Vec<(u64, EventId)> = r
            .awaiting
            .range(r.cursor..)
            .chain(r.awaiting.range(..r.cursor))
            .take(max)
            .filter_map(|seq| self.slots.get(seq).map(|s| (*seq, s.event_id)))
            .collect();
        if ids.is_empty() {
            r.next_round_at = now + Duration::from_millis(self.cfg.receipt_interval_ms);
            return;
        }
        r.cursor = if ids.len() < max {
            0
        } else {
            ids.last().map_or(0, |(s, _)| s + 1)
        };
        r.round_started = now;
        r.round_progress = false;
        for chunk in ids.chunks(RECEIPT_IDS_MAX) {
            r.queries_in_flight += 1;
            out.push(Action::AskReceipts(chunk.to_vec()));
        }
    }

    pub(super) fn on_receipts(
        &mut self,
        ids: &[(u64, EventId)],
        result: Result<Vec<ReceiptStatus>, NoReceipt>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.receipts.queries_in_flight = self.receipts.queries_in_flight.saturating_sub(1);
        match result {
            Err(silence) => self.ledger_silent(silence, ids.len()),
            Ok(statuses) => {
                if self.receipts.answers != ReceiptAnswers::Answering {
                    tracing::info!("the ledger answers receipt queries");
                    self.receipts.answers = ReceiptAnswers::Answering;
                }
                self.apply_receipts(ids, statuses, now, out);
            }
        }
        if self.receipts.queries_in_flight == 0 {
            let gap = if self.receipts.round_progress {
                RECEIPT_ROUND_GAP_MS.min(self.cfg.receipt_interval_ms)
            } else {
                self.cfg.receipt_interval_ms
            };
            self.receipts.next_round_at = self.receipts.round_started + Duration::from_millis(gap);
        }
    }

    fn ledger_silent(&mut self, silence: NoReceipt, awaiting: usize) {
        if matches!(&self.receipts.answers, ReceiptAnswers::Silent(s) if *s == silence) {
            return;
        }
        tracing::warn!(
            reason = %self.silence_text(&silence),
            awaiting,
            "no receipt from the ledger; events stay in the outbox until it confirms them"
        );
        self.receipts.answers = ReceiptAnswers::Silent(silence);
    }

    /// Settles what the ledger appended or dead-lettered, and considers re-publishing what it
    /// does not know.
    fn apply_receipts(
        &mut self,
        ids: &[(u64, EventId)],
        statuses: Vec<ReceiptStatus>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let mut appended = Vec::new();
        let mut dead = Vec::new();
        let mut unknown = Vec::new();
        for ((seq, id), status) in ids.iter().zip(statuses) {
            let Some(slot) = self.slots.get(seq) else {
                continue;
            };
            if slot.event_id != *id {
                continue;
            }
            match status {
                ReceiptStatus::Appended => {
                    if let Some(s) = slot.stream_seq {
                        self.receipts.confirmed_stream_seq_max =
                            self.receipts.confirmed_stream_seq_max.max(s);
                    }
                    appended.push(*seq);
                }
                ReceiptStatus::DeadLettered => dead.push(*seq),
                ReceiptStatus::Unknown => unknown.push(*seq),
            }
        }
        let ledger_idle = self.receipts.last_confirmed_at.is_none_or(|t| {
            now.duration_since(t) >= Duration::from_millis(self.cfg.republish_after_ms)
        });
        if !appended.is_empty() {
            self.receipts.last_confirmed_at = Some(now);
        }
        for seq in unknown {
            self.consider_republish(seq, now, ledger_idle);
        }
        if !appended.is_empty() || !dead.is_empty() {
            self.settle(appended, dead, out);
        }
    }

    /// The ledger has these events for good: they leave the outbox (not flushed: a removal
    /// lost in a crash only means the event is asked about again, and confirmed again, after
    /// the restart).
    fn settle(&mut self, appended: Vec<u64>, dead_lettered: Vec<u64>, out: &mut Vec<Action>) {
        for seq in &dead_lettered {
            if let Some(slot) = self.slots.get(seq) {
                tracing::warn!(
                    event_id = %slot.event_id,
                    "the ledger dead-lettered this event; it is kept in the outbox's \
                     rejected list (see `golive collect --status`)"
                );
            }
        }
        self.summary.confirmed += appended.len() as u64;
        self.summary.dead_lettered += dead_lettered.len() as u64;
        for seq in appended.iter().chain(&dead_lettered) {
            self.forget(*seq);
        }
        self.receipts.round_progress = true;
        out.push(Action::Settle {
            appended,
            dead_lettered,
        });
    }

    /// Re-publishes an event the ledger does not know, if it is overdue and the ledger is
    /// past it: the ledger confirmed a later message of the stream (it reads in order, so this
    /// one was lost), or it has confirmed nothing for `republish_after_ms` (it is idle, or this
    /// run has no stream sequence for the event, as after a restart). An event merely waiting
    /// behind a backlog is left alone, so a slow ledger is not flooded with copies; the wait
    /// also doubles with each re-publish of the same event.
    fn consider_republish(&mut self, seq: u64, now: Instant, ledger_idle: bool) {
        let Some(slot) = self.slots.get_mut(&seq) else {
            return;
        };
        let doublings = slot.st.republishes.min(REPUBLISH_BACKOFF_DOUBLINGS_MAX);
        let wait = Duration::from_millis(self.cfg.republish_after_ms << doublings);
        let overdue = slot
            .last_publish
            .is_none_or(|t| now.duration_since(t) >= wait);
        let passed = slot
            .stream_seq
            .is_some_and(|s| s < self.receipts.confirmed_stream_seq_max);
        if slot.st.state != PublishState::Published
            || slot.in_flight
            || !overdue
            || !(passed || ledger_idle)
            || self.outgoing.to_publish.contains(&seq)
        {
            return;
        }
        slot.st.republishes = slot.st.republishes.saturating_add(1);
        tracing::info!(
            event_id = %slot.event_id,
            attempt = slot.st.republishes,
            msg_id = %msg_id(&slot.event_id, slot.st.republishes),
            "the ledger does not have this event; re-publishing it under a new msg id"
        );
        self.outgoing.to_publish.insert(seq);
    }

    pub(super) fn silence_text(&self, s: &NoReceipt) -> String {
        match s {
            NoReceipt::NoResponders => {
                format!("no ledger is answering receipt queries on {RECEIPTS_SUBJECT}")
            }
            NoReceipt::TimedOut => format!(
                "the ledger did not answer a receipt query within {} ms",
                self.cfg.receipt_timeout_ms
            ),
            NoReceipt::Failed(e) => format!("receipt query failed: {e}"),
        }
    }
}
