//! The engine's invariants, checked after every step in debug builds. A violation is a bug in
//! the engine (or in what the driver fed it), never an operating condition, so it panics with
//! the rule's name.
//!
//! The checks that cost O(1) run after every step. The full pass visits every event, so it
//! runs after a step only once the steps since the last pass have earned credit for its size:
//! after every step while the engine holds a few dozen events, and at least once every
//! (events / [`CHECK_CREDIT_PER_STEP`]) steps beyond that, so that a debug build with a million
//! events in its outbox stays usable.

#![cfg(debug_assertions)]

use super::{Engine, NatsState, PublishLink, RECEIPT_QUERIES_PER_ROUND};
use crate::outbox::PublishState;

/// Events' worth of full checking each step earns.
const CHECK_CREDIT_PER_STEP: usize = 64;

/// Panics naming `rule` unless `holds`.
fn ensure(holds: bool, rule: &str) {
    assert!(holds, "collector engine invariant violated: {rule}");
}

impl Engine {
    pub(super) fn check_invariants(&mut self) {
        self.check_counts();
        let cost = self.slots.len() + self.outgoing.in_flight.len();
        self.check_credit = self.check_credit.saturating_add(CHECK_CREDIT_PER_STEP);
        if self.check_credit >= cost {
            self.check_credit = 0;
            self.check_events();
            self.check_in_flight();
        }
    }

    /// The O(1) checks.
    fn check_counts(&self) {
        let slots = self.slots.len();
        ensure(
            self.by_id.len() == slots,
            "slots and the id index have the same length",
        );
        ensure(
            self.outgoing.in_flight.len() <= self.cfg.window,
            "publishes in flight stay within the window",
        );
        ensure(
            self.outgoing.to_publish.len() <= slots
                && self.receipts.awaiting.len() <= slots
                && self.refused.events.len() <= slots,
            "queued, awaiting and refused events are all in the outbox",
        );
        ensure(
            self.receipts.queries_in_flight <= RECEIPT_QUERIES_PER_ROUND,
            "at most one round of receipt queries is in flight",
        );
        let s = &self.summary;
        ensure(
            s.read == s.queued + s.already_queued + s.rejected_locally,
            "every record read is queued, already queued or rejected",
        );
        ensure(
            self.reading.open || self.reading.done_at.is_some(),
            "closed reading knows when it ended",
        );
        ensure(
            self.link.state != PublishLink::Up || self.link.nats == NatsState::Connected,
            "the link is up only while NATS is connected",
        );
        ensure(
            self.slots
                .last_key_value()
                .is_none_or(|(seq, _)| *seq < self.reading.next_seq),
            "the next seq is past every event in the outbox",
        );
    }

    /// Every event, against the index and the sets that name it.
    fn check_events(&self) {
        let mut published = 0;
        let mut flagged = 0;
        for (seq, slot) in &self.slots {
            ensure(
                self.by_id.get(&slot.event_id) == Some(seq),
                "slots and the id index agree",
            );
            if slot.st.state == PublishState::Published {
                published += 1;
                ensure(
                    self.receipts.awaiting.contains(seq),
                    "an acknowledged event awaits its receipt",
                );
            }
            if slot.in_flight {
                flagged += 1;
                ensure(
                    self.outgoing.in_flight.contains_key(seq),
                    "an event marked in flight has a publish in flight",
                );
            }
        }
        ensure(
            published == self.receipts.awaiting.len(),
            "only acknowledged events await receipts",
        );
        let in_flight_here = self
            .outgoing
            .in_flight
            .keys()
            .filter(|seq| self.slots.contains_key(seq))
            .count();
        ensure(
            flagged == in_flight_here,
            "the in-flight count matches the events marked in flight",
        );
        for seq in self
            .outgoing
            .to_publish
            .iter()
            .chain(self.refused.events.keys())
        {
            ensure(
                self.slots.contains_key(seq),
                "queued and refused events are in the outbox",
            );
        }
        for seq in self.state_updates.keys() {
            ensure(
                self.slots.contains_key(seq),
                "publish states are written only for events in the outbox",
            );
        }
        self.check_refusals();
        self.check_unflushed();
    }

    fn check_refusals(&self) {
        for (seq, subject) in &self.refused.events {
            ensure(
                self.refused.marked.contains(seq),
                "an event refused this run is marked refused",
            );
            ensure(
                self.refused.subjects.contains_key(subject),
                "an event is refused for a subject the server refused",
            );
            ensure(
                self.slots.get(seq).is_some_and(|s| s.subject == *subject),
                "a refused event is refused on its own subject",
            );
        }
    }

    /// Entries not yet flushed are neither queued to publish nor in flight.
    fn check_unflushed(&self) {
        let flushing = self.reading.flushing.iter().flatten();
        for seq in self.reading.unflushed.iter().chain(flushing) {
            let queued = self
                .slots
                .get(seq)
                .is_some_and(|s| s.st.state == PublishState::Queued && !s.in_flight);
            ensure(
                queued && !self.outgoing.to_publish.contains(seq),
                "an entry not yet flushed is neither published nor queued to publish",
            );
        }
    }

    /// Nothing is both awaiting an ack and queued to publish; in-flight subjects are the
    /// events' own.
    fn check_in_flight(&self) {
        for (seq, subject) in &self.outgoing.in_flight {
            ensure(
                !self.outgoing.to_publish.contains(seq),
                "nothing is both awaiting an ack and queued to publish",
            );
            ensure(
                self.slots.get(seq).is_none_or(|s| s.subject == *subject),
                "a publish in flight carries its event's subject",
            );
        }
    }
}
