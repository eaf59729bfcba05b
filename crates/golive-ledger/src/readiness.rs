//! Whether a serving ledger is ready to be sent traffic (`GET /readyz`), as opposed to merely
//! alive (`/healthz`). One [`Readiness`] is shared (`Arc`) by the process's parts, each of which
//! sets what only it knows: `golive serve` that the store is open, the consumer loop
//! (`golive_service::serve`) whether NATS is connected and whether the loop is consuming; the
//! consumer lag is the loop's [`crate::Metrics::consumer_lag`]. The HTTP layer asks
//! [`Readiness::check`] and answers 200 or 503 with the reasons.
//!
//! Plain atomics: no lock, no IO, so a probe never waits on the ledger.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// The default of `[http] ready_lag_max_messages`: at most this many stream messages not yet
/// delivered to the ledger's consumer for it to be ready (a few seconds of appending).
pub const READY_LAG_MAX_MESSAGES_DEFAULT: u64 = 10_000;

/// Where the consumer loop stands.
const LOOP_NOT_STARTED: u8 = 0;
const LOOP_RUNNING: u8 = 1;
const LOOP_STOPPED: u8 = 2;

/// The NATS connection as the client last reported it.
const NATS_NEVER: u8 = 0;
const NATS_CONNECTED: u8 = 1;
const NATS_DISCONNECTED: u8 = 2;

/// What each part of the process has said about itself.
#[derive(Debug)]
pub struct Readiness {
    lag_max: u64,
    store_open: AtomicBool,
    nats: AtomicU8,
    consumer: AtomicU8,
}

/// The answer of `/readyz`: ready or not, why not, and what was looked at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReadyReport {
    pub ready: bool,
    /// One line per unmet condition, each starting with what it is about (`store:`, `nats:`,
    /// `consumer:`, `lag:`); empty when ready.
    pub reasons: Vec<String>,
    pub store_open: bool,
    pub nats_connected: bool,
    pub consuming: bool,
    pub consumer_lag_messages: u64,
    pub lag_max_messages: u64,
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new(READY_LAG_MAX_MESSAGES_DEFAULT)
    }
}

impl Readiness {
    /// Nothing is ready yet; the lag must stay at most `lag_max` messages.
    pub fn new(lag_max: u64) -> Self {
        Self {
            lag_max,
            store_open: AtomicBool::new(false),
            nats: AtomicU8::new(NATS_NEVER),
            consumer: AtomicU8::new(LOOP_NOT_STARTED),
        }
    }

    /// The ledger's store is open (or, `false`, no longer usable: the ledger stopped on it).
    pub fn set_store_open(&self, open: bool) {
        self.store_open.store(open, Ordering::Relaxed);
    }

    /// The NATS client is connected (or, `false`, lost its connection and is reconnecting).
    pub fn set_nats_connected(&self, connected: bool) {
        let state = if connected {
            NATS_CONNECTED
        } else {
            NATS_DISCONNECTED
        };
        self.nats.store(state, Ordering::Relaxed);
    }

    /// The consumer loop runs (stream and consumer set up), or (`false`) has stopped.
    pub fn set_consuming(&self, running: bool) {
        let state = if running { LOOP_RUNNING } else { LOOP_STOPPED };
        self.consumer.store(state, Ordering::Relaxed);
    }

    /// Whether the consumer loop has started and not stopped.
    pub fn consuming(&self) -> bool {
        self.consumer.load(Ordering::Relaxed) == LOOP_RUNNING
    }

    pub fn lag_max(&self) -> u64 {
        self.lag_max
    }

    /// Ready when the store is open, NATS connected, the loop consuming and `lag` (the
    /// consumer's, in messages) at most the bound.
    pub fn check(&self, lag: u64) -> ReadyReport {
        let store_open = self.store_open.load(Ordering::Relaxed);
        let nats = self.nats.load(Ordering::Relaxed);
        let consumer = self.consumer.load(Ordering::Relaxed);
        let mut reasons = Vec::new();
        if !store_open {
            reasons.push("store: the ledger's store is not open".to_owned());
        }
        match nats {
            NATS_NEVER => reasons.push("nats: not connected yet".to_owned()),
            NATS_DISCONNECTED => {
                reasons.push("nats: disconnected from the NATS server; reconnecting".to_owned())
            }
            _ => {}
        }
        match consumer {
            LOOP_NOT_STARTED => reasons.push(
                "consumer: the stream and its durable consumer are not set up yet".to_owned(),
            ),
            LOOP_STOPPED => reasons.push("consumer: the consumer loop has stopped".to_owned()),
            _ => {}
        }
        if lag > self.lag_max {
            reasons.push(format!(
                "lag: {lag} stream messages not yet read, over the bound of {} ([http] ready_lag_max_messages)",
                self.lag_max
            ));
        }
        ReadyReport {
            ready: reasons.is_empty(),
            reasons,
            store_open,
            nats_connected: nats == NATS_CONNECTED,
            consuming: consumer == LOOP_RUNNING,
            consumer_lag_messages: lag,
            lag_max_messages: self.lag_max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: &ReadyReport) -> Vec<&str> {
        r.reasons
            .iter()
            .map(|s| s.split(':').next().unwrap())
            .collect()
    }

    #[test]
    fn ready_only_when_every_part_says_so_and_each_missing_part_is_named() {
        // Proves each condition of /readyz on its own: nothing set names all three parts; once
        // all are set it is ready; losing NATS, the loop or the store, or a lag over the bound,
        // makes it unready naming exactly that.
        let r = Readiness::new(5);
        assert_eq!(names(&r.check(0)), ["store", "nats", "consumer"]);
        r.set_store_open(true);
        r.set_nats_connected(true);
        r.set_consuming(true);
        let ok = r.check(5);
        assert!(ok.ready && ok.reasons.is_empty(), "{ok:?}");
        assert_eq!(names(&r.check(6)), ["lag"]);
        r.set_nats_connected(false);
        let down = r.check(0);
        assert_eq!(names(&down), ["nats"]);
        assert!(down.reasons[0].contains("reconnecting"), "{down:?}");
        r.set_nats_connected(true);
        r.set_consuming(false);
        assert_eq!(names(&r.check(0)), ["consumer"]);
        r.set_consuming(true);
        r.set_store_open(false);
        assert_eq!(names(&r.check(0)), ["store"]);
    }
}
