//! Errors of the store. [`StoreError`] separates the operator's problems (the disk, a second
//! process), corruption (names the sequence and what is wrong) and bugs (encoding).
//! [`RejectReason`] is not an error of the store: it is why one event of a batch was not appended.

use std::path::PathBuf;

use golive_model::{EventId, Kind, OdsCode};

use crate::codec::CodecError;

/// Everything that can go wrong with the store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (or another handle in this one) has the store open.
    #[error(
        "the ledger store at {path} is in use by another process; stop the other golive process \
         or give this one a different data directory"
    )]
    Locked { path: PathBuf },

    /// The disk is full (or below the store's reserve, `DISK_RESERVE_BYTES`): the write was
    /// not made, so nothing it carried was acknowledged.
    #[error(
        "the disk holding the ledger store at {path} is full (the store keeps 32 MiB free); the \
         batch being written was not stored nor acknowledged (its senders keep it and send it \
         again): free space or move the data directory to a bigger disk, then start again"
    )]
    DiskFull { path: PathBuf },

    /// The disk said no: permissions, space, a missing mount.
    #[error(
        "I/O error on the ledger store at {path}: {source}; check that the directory exists, is \
         writable and that the disk has free space"
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// sled itself reported a problem it did not classify as IO (its own corruption or bug).
    #[error(
        "the storage engine failed on the ledger store at {path}: {source}; restore the \
         directory from a backup or rebuild it from an export"
    )]
    Engine {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },

    /// The directory holds a store of a format this build does not read.
    #[error(
        "the ledger store at {path} has format version {found}; this build reads version \
         {supported}: use a matching golive build"
    )]
    UnsupportedFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// A log record or the head is not what was written. `seq` is the record concerned.
    #[error(
        "the ledger log is corrupt at seq {seq}: {what}; run `golive audit verify` and restore \
         from a backup or an export"
    )]
    Corrupt { seq: u64, what: String },

    /// A value in one of the index trees (ids, superseded, collectors, dead, meta) is malformed.
    #[error("the ledger store's `{tree}` tree is corrupt: {what}")]
    CorruptTree { tree: &'static str, what: String },

    /// A value could not be encoded. Encoding plain data into memory cannot fail: this is a bug.
    #[error("could not encode a value for storage (a bug): {0}")]
    Encode(#[from] bincode::error::EncodeError),

    /// A stored value (not a log record) could not be decoded.
    #[error("could not decode `{tree}` entry {key}: {source}")]
    Decode {
        tree: &'static str,
        key: String,
        #[source]
        source: CodecError,
    },

    /// The caller passed more than a limit allows.
    #[error("{what} is {len}; the limit is {max}")]
    TooLarge {
        what: &'static str,
        len: u64,
        max: u64,
    },

    /// A projection snapshot was offered for a sequence the log has not reached.
    #[error("a snapshot at seq {seq} is ahead of the log's head at seq {head}")]
    SnapshotAhead { seq: u64, head: u64 },

    /// A signed checkpoint was offered for a tree size the log has not reached.
    #[error("a checkpoint at seq {seq} is ahead of the log's head at seq {head}")]
    CheckpointAhead { seq: u64, head: u64 },
}

/// Why the chain does not verify. Every variant but `Store` names the first bad sequence.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("seq {expected} is missing from the log: the next record is seq {found}")]
    Gap { expected: u64, found: u64 },
    #[error("record at key {seq} does not decode: {what}")]
    Undecodable { seq: u64, what: String },
    #[error("record at key {seq} says it is seq {found}")]
    SeqMismatch { seq: u64, found: u64 },
    #[error("record {seq}: prev_hash is not the hash of the record before it")]
    PrevHash { seq: u64 },
    #[error("record {seq}: stored hash does not match the hash recomputed from its contents")]
    Hash { seq: u64 },
    #[error("head: {what}")]
    HeadMismatch { seq: u64, what: String },
}

impl ChainError {
    /// The first bad sequence, when the chain (not the disk) is at fault.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ChainError::Store(_) => None,
            ChainError::Gap { expected, .. } => Some(*expected),
            ChainError::Undecodable { seq, .. }
            | ChainError::SeqMismatch { seq, .. }
            | ChainError::PrevHash { seq }
            | ChainError::Hash { seq }
            | ChainError::HeadMismatch { seq, .. } => Some(*seq),
        }
    }
}

/// Why an event of a batch was not appended. The caller dead-letters it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("supersedes {0}, which is not in the ledger")]
    SupersedesUnknown(EventId),
    #[error(
        "supersedes {target}, an event of trust {target_trust}, but this event is of trust {trust}"
    )]
    SupersedesOtherTrust {
        target: EventId,
        target_trust: OdsCode,
        trust: OdsCode,
    },
    #[error("supersedes {target}, a {target_kind} event, but this event is a {kind}")]
    SupersedesOtherKind {
        target: EventId,
        target_kind: Kind,
        kind: Kind,
    },
    #[error("supersedes {target}, which seq {by_seq} already superseded")]
    AlreadySuperseded { target: EventId, by_seq: u64 },
}
