//! Publishing: queued events go to the sender in outbox order, at most `window` unanswered at
//! once; acks mark them published (then receipts take over), failures put them back with
//! backoff; the NATS link's state is followed for the log and the progress note; a publish the
//! server refuses (permissions) marks its event refused for the rest of the run.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use super::{Action, Engine, NatsError, NatsEvent, NatsState, Now, Publish, PublishLink};
use crate::outbox::{PublishState, msg_id};

/// How nats-server words the error it sends when a client may not publish on a subject; the
/// subject follows in double quotes.
const PUBLISH_REFUSED_PREFIX: &str = "Permissions Violation for Publish to ";
/// How async-nats reports a connect attempt the server refused (`ConnectErrorKind`'s words).
const CONNECT_REFUSED: [&str; 2] = ["authorization violation", "failed signing nonce"];

/// The subject named by a nats-server publish permissions violation, if `error` is one.
pub(crate) fn refused_publish_subject(error: &str) -> Option<&str> {
    let rest = error.strip_prefix(PUBLISH_REFUSED_PREFIX)?;
    let subject = rest.trim().trim_matches('"');
    (!subject.is_empty() && !subject.contains('"')).then_some(subject)
}

impl Engine {
    pub(super) fn connected(&self) -> bool {
        self.link.nats == NatsState::Connected
    }

    /// Follows the link's state (logging each change) and lets an elapsed backoff go.
    pub(super) fn observe_link(&mut self, now: Instant) {
        let link = match (self.link.nats, &self.link.state) {
            // A publish failure is cleared by the next acknowledged publish, not by time.
            (NatsState::Connected, PublishLink::Failing(_)) => None,
            (NatsState::Connected, _) => Some(PublishLink::Up),
            (NatsState::Pending, _) if self.link.last_error.is_none() => {
                Some(PublishLink::Connecting)
            }
            (NatsState::Pending | NatsState::Disconnected, _) => Some(PublishLink::Unreachable),
        };
        if let Some(link) = link
            && link != self.link.state
        {
            match &link {
                PublishLink::Up => tracing::info!(url = %self.cfg.nats_url, "connected to NATS"),
                PublishLink::Unreachable => tracing::warn!(
                    url = %self.cfg.nats_url,
                    buffered = self.slots.len(),
                    error = self.link.last_error.as_deref().unwrap_or("connection lost"),
                    "NATS unreachable; events stay in the outbox and the collector retries"
                ),
                PublishLink::Failing(_) | PublishLink::Connecting => {}
            }
            self.link.state = link;
        }
        if let Some(t) = self.outgoing.retry_at
            && now >= t
        {
            self.outgoing.retry_at = None;
        }
    }

    /// Hands queued events to the sender, in outbox order, up to the window.
    pub(super) fn dispatch(&mut self, now: Now, out: &mut Vec<Action>) {
        if !self.connected() || self.outgoing.retry_at.is_some_and(|t| now.at < t) {
            return;
        }
        while self.outgoing.in_flight.len() < self.cfg.window {
            let Some(seq) = self.outgoing.to_publish.pop_first() else {
                break;
            };
            if self.refused.events.contains_key(&seq) {
                continue;
            }
            let Some(slot) = self.slots.get_mut(&seq) else {
                continue;
            };
            // Refused on this subject already: the server would refuse this one too.
            if self.refused.subjects.contains_key(&slot.subject) {
                let subject = slot.subject.clone();
                self.refuse(seq, &subject, out);
                continue;
            }
            slot.in_flight = true;
            slot.last_publish = Some(now.at);
            slot.st.publish_attempts = slot.st.publish_attempts.saturating_add(1);
            slot.st.last_publish_unix_ms = Some(now.unix_ms);
            self.outgoing.in_flight.insert(seq, slot.subject.clone());
            out.push(Action::Publish(Publish {
                seq,
                epoch: self.outgoing.epoch,
                subject: slot.subject.clone(),
                msg_id: msg_id(&slot.event_id, slot.st.republishes),
            }));
        }
    }

    /// JetStream has the event: receipts now ask the ledger about it.
    pub(super) fn on_acked(
        &mut self,
        seq: u64,
        stream_seq: u64,
        duplicate: bool,
        out: &mut Vec<Action>,
    ) {
        if self.outgoing.in_flight.remove(&seq).is_none() {
            return; // not in flight: a repeated answer
        }
        if duplicate {
            tracing::debug!(stream_seq, "JetStream already had this msg id");
        }
        let Some(slot) = self.slots.get_mut(&seq) else {
            return; // confirmed by a receipt while the publish was in flight
        };
        slot.in_flight = false;
        self.refused.events.remove(&seq);
        if self.refused.marked.remove(&seq) {
            out.push(Action::ClearRefused(seq));
        }
        slot.stream_seq = Some(stream_seq);
        slot.st.state = PublishState::Published;
        self.receipts.awaiting.insert(seq);
        self.state_updates.insert(seq, slot.st);
        self.summary.published += 1;
        if slot.st.republishes > 0 {
            self.summary.republished += 1;
        }
        if matches!(self.link.state, PublishLink::Failing(_)) {
            tracing::info!("publishing to JetStream works again");
            self.link.state = PublishLink::Up;
        }
        self.outgoing.backoff.reset();
    }

    /// The publish did not get through: the event is queued again, after a backoff.
    pub(super) fn on_publish_failed(
        &mut self,
        seq: u64,
        epoch: u64,
        reason: String,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(subject) = self.outgoing.in_flight.remove(&seq) else {
            return; // not in flight: a repeated answer
        };
        let Some(slot) = self.slots.get_mut(&seq) else {
            return; // confirmed by a receipt while the publish was in flight
        };
        slot.in_flight = false;
        if self.refused.events.contains_key(&seq) {
            return; // the server said why: see on_publish_refused
        }
        if self.refused.subjects.contains_key(&subject) {
            self.refuse(seq, &subject, out);
            return;
        }
        self.outgoing.to_publish.insert(seq);
        // Only the first failure of a burst doubles the backoff: publishes dispatched before it
        // began fail together and say nothing new.
        if epoch == self.outgoing.epoch {
            self.outgoing.epoch += 1;
            let delay = self.outgoing.backoff.next_delay();
            self.outgoing.retry_at = Some(now + delay);
            if self.connected() {
                self.link_publish_failing(reason);
            }
        }
    }

    fn link_publish_failing(&mut self, reason: String) {
        let changed = !matches!(&self.link.state, PublishLink::Failing(r) if *r == reason);
        if changed {
            tracing::warn!(
                reason = %reason,
                buffered = self.slots.len(),
                "publishing to JetStream fails; events stay in the outbox and the collector \
                 retries with backoff"
            );
        }
        self.link.state = PublishLink::Failing(reason);
    }

    /// The driver found no outbox entry for a publish: a bug. The event is forgotten rather
    /// than asked for again and again.
    pub(super) fn on_entry_missing(&mut self, seq: u64) {
        tracing::error!(seq, "outbox entry vanished; dropping it from memory");
        self.outgoing.in_flight.remove(&seq);
        self.forget(seq);
    }

    pub(super) fn on_nats(&mut self, event: NatsEvent, out: &mut Vec<Action>) -> ControlFlow<()> {
        match event {
            NatsEvent::Connected => {
                self.link.last_error = None;
                self.link.reconnect_at = None;
            }
            NatsEvent::Disconnected => {
                self.link
                    .last_error
                    .get_or_insert_with(|| "connection lost".to_owned());
            }
            NatsEvent::ReconnectAt(at) => self.link.reconnect_at = Some(at),
            // The client retries a refused connect forever; a retry is refused the same way.
            NatsEvent::ClientError(e)
                if e.words
                    .as_deref()
                    .is_some_and(|w| CONNECT_REFUSED.contains(&w)) =>
            {
                out.push(Action::Fail(crate::credentials_refused(&self.cfg)));
                return ControlFlow::Break(());
            }
            NatsEvent::ClientError(e) => self.link.last_error = Some(e.text),
            NatsEvent::ServerError(e) => self.on_server_error(e, out),
        }
        ControlFlow::Continue(())
    }

    fn on_server_error(&mut self, e: NatsError, out: &mut Vec<Action>) {
        let refused = e.words.as_deref().and_then(refused_publish_subject);
        if let Some(subject) = refused.map(str::to_owned) {
            self.on_publish_refused(&subject, e.words.unwrap_or_default(), out);
            return;
        }
        tracing::warn!(error = %e.text, "NATS server error");
        self.link.last_error = Some(format!("server error: {}", e.text));
    }

    /// The server refused a publish on `subject`: these credentials may not publish there
    /// (nothing a retry can change in this run). The events on it are marked refused and kept.
    fn on_publish_refused(&mut self, subject: &str, reason: String, out: &mut Vec<Action>) {
        let subject = self.intern(subject);
        if !self.refused.subjects.contains_key(&subject) {
            tracing::warn!(
                %subject,
                error = %reason,
                "the NATS server refused to let these credentials publish on {subject}: a \
                 collector may publish only its own trust's events (golive.events.<TRUST>.>); \
                 the events stay in the outbox, marked refused (golive collect --status), and \
                 are tried again on the next run"
            );
            self.refused.subjects.insert(subject.clone(), reason);
        }
        let mut seqs: Vec<u64> = self
            .outgoing
            .in_flight
            .iter()
            .filter(|(_, s)| **s == subject)
            .map(|(seq, _)| *seq)
            .collect();
        seqs.sort_unstable();
        for seq in seqs {
            self.refuse(seq, &subject, out);
        }
    }

    /// Marks one event refused (see [`Engine::on_publish_refused`]).
    pub(super) fn refuse(&mut self, seq: u64, subject: &Arc<str>, out: &mut Vec<Action>) {
        let Some(slot) = self.slots.get(&seq) else {
            return;
        };
        if self.refused.events.insert(seq, subject.clone()).is_some() {
            return;
        }
        self.outgoing.to_publish.remove(&seq);
        let reason = self
            .refused
            .subjects
            .get(subject)
            .map_or("refused by the NATS server", String::as_str);
        tracing::info!(event_id = %slot.event_id, %subject, "publish refused by the NATS server; kept in the outbox");
        // Its publish attempts count, though the server refused them.
        self.state_updates.insert(seq, slot.st);
        out.push(Action::MarkRefused {
            seq,
            reason: reason.to_owned(),
        });
        self.refused.marked.insert(seq);
    }
}
