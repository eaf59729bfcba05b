//! Reporting: the progress snapshot (about every 100 ms and once at the end), the note saying
//! what the collector waits for, and when the engine next wants to be woken.

use std::time::{Duration, Instant};

use super::{Action, Engine, PublishLink, ReceiptAnswers};
use crate::Progress;
use crate::error::CollectError;

/// Least time between progress reports.
const PROGRESS_INTERVAL_MS: u64 = 100;

impl Engine {
    /// Reports progress when it is due (or `force`d).
    pub(super) fn report(&mut self, now: Instant, force: bool, out: &mut Vec<Action>) {
        let due = self
            .last_progress
            .is_none_or(|t| now.duration_since(t) >= Duration::from_millis(PROGRESS_INTERVAL_MS));
        if force || due {
            out.push(Action::Report(self.progress_now(now)));
        }
    }

    /// The last progress report, once the outbox is flushed at exit.
    pub(crate) fn last_report(&mut self, now: Instant) -> Progress {
        self.progress_now(now)
    }

    /// A progress snapshot; says once (per filling) that the outbox is full.
    fn progress_now(&mut self, now: Instant) -> Progress {
        if self.reading.open && self.space() == 0 && !self.outbox_full_logged {
            tracing::warn!(
                "{}",
                CollectError::OutboxFull {
                    pending: self.slots.len() as u64,
                    max: self.cfg.outbox_events_max,
                }
            );
            self.outbox_full_logged = true;
        } else if self.space() > 0 {
            self.outbox_full_logged = false;
        }
        self.last_progress = Some(now);
        Progress {
            read: self.summary.read,
            rejected_locally: self.summary.rejected_locally,
            queued: self.summary.queued,
            published: self.summary.published,
            republished: self.summary.republished,
            confirmed: self.summary.confirmed,
            dead_lettered: self.summary.dead_lettered,
            pending: self.slots.len() as u64,
            refused: self.refused.events.len() as u64,
            nats_connected: self.connected(),
            note: self.note(now),
        }
    }

    /// What the collector is waiting for, when it is not simply busy.
    pub(super) fn note(&self, now: Instant) -> Option<String> {
        let pending = self.slots.len();
        match &self.link.state {
            PublishLink::Unreachable => {
                let retry = retrying_in(self.link.reconnect_at, now);
                let why = self
                    .link
                    .last_error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                return Some(format!(
                    "NATS unreachable at {}{why}: {pending} events buffered in the outbox{retry}",
                    self.cfg.nats_url
                ));
            }
            PublishLink::Failing(reason) => {
                let retry = retrying_in(self.outgoing.retry_at, now);
                return Some(format!(
                    "publishing to JetStream fails ({reason}): {pending} events buffered in the \
                     outbox{retry}"
                ));
            }
            PublishLink::Connecting => {
                return Some(format!("connecting to NATS at {}", self.cfg.nats_url));
            }
            PublishLink::Up => {}
        }
        if self.reading.open && self.space() == 0 {
            let e = CollectError::OutboxFull {
                pending: pending as u64,
                max: self.cfg.outbox_events_max,
            };
            return Some(e.to_string());
        }
        if let ReceiptAnswers::Silent(s) = &self.receipts.answers
            && pending > 0
        {
            return Some(format!(
                "{}: {pending} events kept in the outbox until the ledger confirms them",
                self.silence_text(s)
            ));
        }
        None
    }

    /// When to wake if nothing happens first: the next report, the end of a backoff, the next
    /// receipt round, the end of the receipt wait.
    pub(super) fn next_wake(&self, now: Instant) -> Instant {
        let mut wake = now + Duration::from_millis(PROGRESS_INTERVAL_MS);
        if let Some(t) = self.outgoing.retry_at {
            wake = wake.min(t);
        }
        if self.receipts.queries_in_flight == 0 && !self.receipts.awaiting.is_empty() {
            wake = wake.min(self.receipts.next_round_at);
        }
        if let (Some(done), Some(max)) = (self.reading.done_at, self.cfg.wait_for_receipts_ms) {
            wake = wake.min(done + Duration::from_millis(max));
        }
        wake.max(now)
    }
}

/// `, retrying in 2.0s`, or nothing when no retry is scheduled.
fn retrying_in(at: Option<Instant>, now: Instant) -> String {
    at.map(|t| format!(", retrying in {}", human(t.saturating_duration_since(now))))
        .unwrap_or_default()
}

/// A duration for people: `250 ms`, `2.0s`.
pub(super) fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
