//! # golive-store
//!
//! The ledger's storage: an append-only, hash-chained log of validated events in sled, with the
//! indexes that make appending safe to repeat (event id -> seq, forever) and the side tables the
//! service needs (per-collector durability receipts, superseded events, projection checkpoints,
//! dead letters, small named values such as the consumer position).
//!
//! Trees: `log` (u64 big-endian seq from 1 -> record),
//! `ids` (16-byte event id -> seq), `meta` (head, format version, named values), `collectors`
//! (collector id -> highest collector_seq appended), `superseded` (event id -> seq of the
//! correction), `checkpoints` (seq -> caller's snapshot bytes), `dead` (id -> dead letter).
//!
//! Main design decisions:
//! - **One batch, one sled transaction, one flush.** [`Store::append_batch`] dedupes, checks
//!   corrections, assigns consecutive seqs, chains hashes and moves the head, the id index and the
//!   collector receipts together, then flushes before it returns. "Appended" therefore always
//!   means durable, and a crash leaves either all of a batch or none of it.
//! - **The bytes on disk belong to this crate.** Records are stored as a versioned type
//!   ([`codec`]) that mirrors the model with explicit conversions and explicit enum tags, so a
//!   refactor of `golive-model` cannot silently change the format; a golden-bytes test pins it.
//! - **Deterministic.** Appending the same events in the same order gives byte-identical logs and
//!   the same head on every replica, so auditors can compare heads.
//!
//! **Boundary:** this is the only crate that depends on sled. It does not validate events (the
//! model does, before append); it only enforces what needs the ledger's history: duplicates and
//! the supersedes rules.

pub mod baseline;
pub mod codec;
mod error;
mod store;

use chrono::{DateTime, Utc};
use golive_model::{ChainHash, Envelope, GENESIS_HASH, chain_hash};

pub use error::{ChainError, RejectReason, StoreError};
pub use store::Store;

/// The storage format this build reads and writes (stored in `meta`).
pub const FORMAT_VERSION: u32 = 1;

/// How long [`Store::open`] waits for the directory's lock before reporting it as in use.
pub const OPEN_LOCK_WAIT_MS_MAX: u64 = 2_000;

/// Most events accepted by one [`Store::append_batch`].
pub const APPEND_BATCH_EVENTS_MAX: usize = 10_000;

/// Most raw bytes kept in one dead letter; longer input is cut (its full length is recorded).
pub const DEAD_LETTER_RAW_BYTES_MAX: usize = 128 * 1024;

/// Most bytes kept of a dead letter's origin, field and reason each.
pub const DEAD_LETTER_TEXT_BYTES_MAX: usize = 4 * 1024;

/// Longest key of a named value in `meta`.
pub const META_KEY_BYTES_MAX: usize = 128;

/// Largest named value in `meta`.
pub const META_VALUE_BYTES_MAX: usize = 64 * 1024;

/// Largest projection checkpoint.
pub const CHECKPOINT_BYTES_MAX: usize = 256 * 1024 * 1024;

/// The last record of the log: its seq and hash. Seq 0 and [`GENESIS_HASH`] when empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: ChainHash,
}

impl Head {
    /// The head of an empty log.
    pub const GENESIS: Head = Head {
        seq: 0,
        hash: GENESIS_HASH,
    };
}

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Position in the ledger, from 1, without gaps.
    pub seq: u64,
    /// JetStream stream sequence the event arrived with, when it came through NATS.
    pub stream_seq: Option<u64>,
    /// When the ledger received the event.
    pub received_at: DateTime<Utc>,
    /// Hash of the record before (or [`GENESIS_HASH`] for seq 1).
    pub prev_hash: ChainHash,
    /// `chain_hash(prev_hash, seq, envelope.canonical_bytes())`.
    pub hash: ChainHash,
    pub envelope: Envelope,
}

impl Record {
    /// The hash this record should carry, recomputed from its contents.
    pub fn computed_hash(&self) -> ChainHash {
        chain_hash(&self.prev_hash, self.seq, &self.envelope.canonical_bytes())
    }

    /// True when the stored hash equals the recomputed one. Decoding never checks this by
    /// itself: replay is hot, and [`Store::verify_chain`] does it for the whole log.
    pub fn verify_hash(&self) -> bool {
        self.computed_hash() == self.hash
    }
}

/// An event offered to [`Store::append_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub envelope: Envelope,
    pub stream_seq: Option<u64>,
    pub received_at: DateTime<Utc>,
}

impl Incoming {
    pub fn new(envelope: Envelope, stream_seq: Option<u64>, received_at: DateTime<Utc>) -> Self {
        Self {
            envelope,
            stream_seq,
            received_at,
        }
    }
}

/// What happened to one event of a batch, in the batch's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Appended at `seq`, durable when `append_batch` returned.
    Appended { seq: u64 },
    /// The event id was already in the ledger (or earlier in the batch) at `seq`; nothing written.
    Duplicate { seq: u64 },
    /// Not appended; the caller dead-letters it.
    Rejected { reason: RejectReason },
}

impl Outcome {
    /// The seq the event is at, unless it was rejected.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Outcome::Appended { seq } | Outcome::Duplicate { seq } => Some(*seq),
            Outcome::Rejected { .. } => None,
        }
    }
}

/// A message the ledger could not accept, offered to [`Store::add_dead_letter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeadLetter {
    /// Where it came from, e.g. `feed.jsonl:12` or a NATS subject.
    pub origin: String,
    /// The bytes as received.
    pub raw: Vec<u8>,
    /// The offending field, when known (e.g. `data.amount_pence`).
    pub field: Option<String>,
    pub reason: String,
    pub received_at: DateTime<Utc>,
}

/// A stored dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// From 1, in the order they were added.
    pub id: u64,
    pub origin: String,
    /// The bytes as received, cut at [`DEAD_LETTER_RAW_BYTES_MAX`].
    pub raw: Vec<u8>,
    /// Length of the bytes as received, before any cut.
    pub raw_len: u64,
    pub field: Option<String>,
    pub reason: String,
    pub received_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_and_errors_cross_threads() {
        // Proves a Store can be shared with other threads and its errors carried across them
        // (e.g. into anyhow or a tokio task).
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Store>();
        send_sync::<StoreError>();
        send_sync::<ChainError>();
        send_sync::<Record>();
    }
}
