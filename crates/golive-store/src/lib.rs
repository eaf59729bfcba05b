//! # golive-store
//!
//! The ledger's storage: an append-only, hash-chained log of validated events in sled, with the
//! indexes that make appending safe to repeat (event id -> seq, forever) and the side tables the
//! service needs (per-collector durability receipts, superseded events, projection snapshots,
//! dead letters, small named values such as the consumer position).
//!
//! ## Layout
//!
//! Everything an append changes lives in ONE sled tree, `ledger`, under 1-byte key prefixes:
//!
//! | key | value |
//! | --- | --- |
//! | `H` | head: seq (u64 big-endian) then hash (32 bytes) |
//! | `L` + first seq (u64 BE) | log chunk: the records of consecutive seqs from `first`, each as its length (u32 BE) then its [`codec`] bytes |
//! | `I` + first seq (u64 BE) | id block of the chunk with the same key: its records' 16-byte event ids, in seq order |
//! | `C` + collector id (UTF-8) | highest `collector_seq` appended from that collector (u64 BE) |
//! | `S` + event id (16 bytes) | seq of the correction that superseded that event (u64 BE) |
//! | `T` + level (1 byte) + tile index (u64 BE) | a full tile of the Merkle tree: 256 hashes of tree level 8 x level, written once, in the batch that completes it |
//!
//! The Merkle tree (RFC 9162, leaf data = each record's chain hash) grows in the same
//! `apply_batch` as the records it covers; see `store/merkle.rs` for the tiles and the proofs
//! ([`Store::merkle_root`], [`Store::inclusion_proof`], [`Store::consistency_proof`]). Signed
//! checkpoint notes live in the tree `signed_checkpoints` (tree size -> note), off the append path.
//!
//! A batch is cut into chunks of about [`LOG_CHUNK_BYTES_TARGET`] (~170 records of the bench's
//! ~190 B); a batch of one event is a chunk of one record. The trees `meta` (format version,
//! callers' named values) and `dead` (id -> dead letter) are off the append path and stay
//! separate; projection snapshots are files beside sled's (`store/snapshots.rs`).
//!
//! ## Why: measured
//!
//! Measured with `golive-bench store --events 100000 --runs 3` (2-core machine, medians; the
//! baseline is plain sled inserting the same record bytes into one tree, one key per record,
//! flush every 1,000, in the same run):
//!
//! | layout | ledger append | x baseline | bytes on disk per event |
//! | --- | --- | --- | --- |
//! | one sled transaction over 5 trees (`log`, `ids`, `meta`, `collectors`, `superseded`), a key per record and per id | 54k-60k/s | 0.26-0.27 | 614-629 |
//! | one tree, a key per record and per id (`I`+id -> seq), `apply_batch` (sled work alone, no hashing or encoding) | ~76k/s | ~0.45 | ~690 |
//! | this layout (chunks + id blocks, one `apply_batch`, in-memory id index) | 260k-330k/s | 1.44-1.64 | 347-361 |
//!
//! Baseline in those runs: 156k-224k/s at ~435 B/event (records average ~190 B). With 200,000
//! events: 1.36 x, 371 B/event; with batches of 10: 0.73 x (0.50 x before), 393 B/event (734
//! before). What the numbers say:
//! - A sled entry per event id is what costs: the ids are random (UUIDv4), so every batch
//!   dirties leaves all over the index, and sled rewrites and keeps them (2x the time, +400 B
//!   per event on disk). The dedupe index is therefore held in memory (a map of every event id
//!   to its seq) and persisted only as id blocks appended beside the chunks they describe, in
//!   the same atomic batch. [`Store::open`] rebuilds the map from the id blocks (1M events:
//!   ~0.3 s, ~50 MB), checking that they cover seqs 1..=head exactly once with no id twice;
//!   [`Store::verify_chain`] checks every id against its record.
//! - A sled entry per record costs per-entry overhead in time and bytes; chunks of ~32 KiB
//!   cost neither (sled work alone: ~750k-850k events/s). What remains on the append path is
//!   the canonical JSON, SHA-256 and bincode of each event, and the flush.
//! - One tree because `Tree::apply_batch` is atomic within one tree only (sled recovers such a
//!   batch whole or not at all); across trees it would take a sled transaction, which buffers
//!   and re-reads every write.
//!
//! ## Design decisions
//! - **One batch, one atomic write, one flush.** [`Store::append_batch`] dedupes, checks
//!   corrections, assigns consecutive seqs, chains hashes and builds chunks, id blocks, head
//!   and collector receipts; then applies them as one `apply_batch` and flushes before it
//!   returns. "Appended" therefore always means durable, and a crash leaves either all of a
//!   batch or none of it.
//! - **One writer.** The store holds a lock from the dedupe and supersedes checks until the
//!   batch is applied and flushed, so clones of a [`Store`] appending from several threads
//!   cannot both append an id. The reads these checks need happen before the write is built.
//!   If sled fails while applying a batch, further appends are refused until the store is
//!   reopened (what sled holds in memory is then unknown; on disk it is all or nothing).
//! - **The bytes on disk belong to this crate.** Records are stored as a versioned type
//!   ([`codec`]) that mirrors the model with explicit conversions and explicit enum tags, so a
//!   refactor of `golive-model` cannot silently change the format; a golden-bytes test pins it.
//! - **Deterministic.** Appending the same events in the same order gives byte-identical
//!   records and the same head on every replica, so auditors can compare heads.
//! - **Bugs crash, damage is reported.** The append path asserts, in release builds too, that
//!   seqs strictly increase and that each record, decoded again once encoded, holds the seq,
//!   previous hash, hash and envelope that were hashed (so its hash verifies when read back; one
//!   decode, not a second SHA-256). Damage found on disk, at open or by [`Store::verify_chain`],
//!   is a [`StoreError`] or [`ChainError`] naming the seq, never a panic.
//!
//! **Boundary:** this is the only crate that depends on sled. It does not validate events (the
//! model does, before append); it only enforces what needs the ledger's history: duplicates and
//! the supersedes rules.

pub mod codec;
mod error;
mod layout;
mod store;

use chrono::{DateTime, Utc};
use golive_model::{ChainHash, Envelope, EventId, GENESIS_HASH, chain_hash};
pub use golive_verify::OriginSignature;

pub use error::{ChainError, RejectReason, StoreError};
pub use store::{
    HEAD_MARK_FILE, SIGNED_CHECKPOINT_BYTES_MAX, SNAPSHOT_DIR, Store, TILE_HEIGHT, TILE_WIDTH,
};

/// The storage format this build writes (stored in `meta`): the record encodings of [`codec`]
/// and the layout above. Format 2 writes log records as the event's canonical bytes (record
/// version 2); a store of format 1 is marked format 2 when this build opens it, in place: its
/// records stay as they are (record version 1 is read forever), and from then on a build that
/// reads only format 1 refuses the store with `UnsupportedFormat` instead of meeting a record
/// it cannot read.
pub const FORMAT_VERSION: u32 = 2;

/// The storage formats this build opens.
pub const FORMATS_READ: &[u32] = &[1, 2];

/// How long [`Store::open`] waits for the directory's lock before reporting it as in use.
pub const OPEN_LOCK_WAIT_MS_MAX: u64 = 2_000;

/// Most events accepted by one [`Store::append_batch`].
pub const APPEND_BATCH_EVENTS_MAX: usize = 10_000;

/// Free space the store keeps in reserve on its file system: below it, appends, dead letters and
/// snapshots are refused with [`StoreError::DiskFull`] before anything is written.
pub const DISK_RESERVE_BYTES: u64 = 32 * 1024 * 1024;

/// A log chunk is closed once it holds this many bytes of records: the records of one batch
/// are stored as few sled values of about this size, never one value per event.
pub const LOG_CHUNK_BYTES_TARGET: usize = 32 * 1024;

/// Most raw bytes kept in one dead letter; longer input is cut (its full length is recorded).
pub const DEAD_LETTER_RAW_BYTES_MAX: usize = 128 * 1024;

/// Most bytes kept of a dead letter's origin, field and reason each.
pub const DEAD_LETTER_TEXT_BYTES_MAX: usize = 4 * 1024;

/// Longest key of a named value in `meta`.
pub const META_KEY_BYTES_MAX: usize = 128;

/// Largest named value in `meta`.
pub const META_VALUE_BYTES_MAX: usize = 64 * 1024;

/// Largest projection snapshot: about 20M events' state at ~45 B per logged event (bincode
/// snapshots, golive-projections). A bigger one is refused and the ledger goes on without it.
pub const SNAPSHOT_BYTES_MAX: usize = 1024 * 1024 * 1024;

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
    /// The reporting trust's signature of the event, when it came signed (format 3). Not in
    /// the chain hash: it proves itself (`golive_verify::origin`).
    pub origin_signature: Option<OriginSignature>,
}

impl Record {
    /// Calls `f` with this record as an export line sees it (received time as RFC 3339, the
    /// canonical bytes, the signature's text): what `audit export`, `/v1/events` and the
    /// store's audit verification write or check.
    pub fn with_export<T>(&self, f: impl FnOnce(&golive_verify::ExportRecord<'_>) -> T) -> T {
        let received_at = golive_model::format_time(&self.received_at);
        let canonical = self.envelope.canonical_bytes();
        let signature = self.origin_signature.as_ref().map(OriginSignature::to_text);
        f(&golive_verify::ExportRecord {
            seq: self.seq,
            prev_hash: self.prev_hash,
            hash: self.hash,
            received_at: &received_at,
            stream_seq: self.stream_seq,
            origin_signature: signature.as_deref(),
            event: &canonical,
        })
    }

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
    /// Checked by the caller against the trust's keys before the append.
    pub origin_signature: Option<OriginSignature>,
}

impl Incoming {
    /// An unsigned event.
    pub fn new(envelope: Envelope, stream_seq: Option<u64>, received_at: DateTime<Utc>) -> Self {
        Self {
            envelope,
            stream_seq,
            received_at,
            origin_signature: None,
        }
    }

    /// The event with the trust's signature, already checked.
    pub fn signed(mut self, origin_signature: Option<OriginSignature>) -> Self {
        self.origin_signature = origin_signature;
        self
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
    /// The event's id when the message decoded but was refused (subject mismatch, supersedes
    /// rules): indexed so that receipts can tell a collector the event was refused for good.
    pub event_id: Option<EventId>,
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
