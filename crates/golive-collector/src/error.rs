//! Errors of the collector. Bad input records are not errors: they are
//! [`LocalRejection`](crate::LocalRejection)s, reported and never sent. NATS being unreachable is
//! not an error either: the collector buffers and retries, and says so in its progress.
//! What remains is the operator's problem (configuration, a locked or unwritable outbox, an
//! unreadable input) or corruption of the outbox.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A setting that cannot work, such as a window of 0.
    #[error("invalid collector configuration: {0}")]
    Config(String),

    /// The NATS URL cannot be parsed (connection failures are retried, not errors).
    #[error("cannot use the NATS server address {url}: {reason}")]
    NatsUrl { url: String, reason: String },

    /// The TLS handshake with NATS failed (an untrusted certificate, a server without TLS, a
    /// client certificate refused): a setting to fix, so the collector stops rather than retry.
    #[error("TLS to NATS at {url} failed: {reason}; {hint}")]
    NatsTls {
        url: String,
        reason: String,
        hint: &'static str,
    },

    /// The server answered "authorization violation": wrong, unknown or missing credentials.
    #[error("NATS at {url} refused the credentials for {who}: authorization violation; {hint}")]
    NatsRefused {
        url: String,
        who: String,
        hint: &'static str,
    },

    #[error("cannot read the NATS credentials file {path}: {source}")]
    Credentials {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An input file or stdin could not be read (bad records are rejections, not this).
    #[error("cannot read {source_name}: {error}")]
    Read {
        source_name: String,
        #[source]
        error: std::io::Error,
    },

    /// Another collector process has the outbox open.
    #[error(
        "the outbox at {path} is in use by another process (a running `golive collect`?); stop it \
         or give this one a different --data directory"
    )]
    OutboxLocked { path: PathBuf },

    #[error("no collector outbox at {0}: nothing has been collected with this --data directory")]
    NoOutbox(PathBuf),

    #[error(
        "I/O error on the outbox at {path}: {source}; check that the directory exists, is \
         writable and that the disk has free space"
    )]
    OutboxIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the storage engine failed on the outbox at {path}: {source}")]
    OutboxEngine {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },

    #[error(
        "the outbox at {path} has format version {found}; this build reads version {supported}"
    )]
    OutboxFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// The outbox on disk is not whole (a chunk cut short, missing or changed, or the head
    /// mark spoilt). It is not opened: opening it would silently forget events.
    #[error(
        "the outbox at {path} is damaged: {what}. It was not opened, so none of its events is \
         skipped: restore the directory from a backup, or, once every event read into it is \
         known to be in the ledger (`golive audit export`), move it aside (docs/OPERATIONS.md)"
    )]
    OutboxDamaged { path: PathBuf, what: String },

    #[error("the outbox is corrupt at entry {seq}: {what}")]
    OutboxCorrupt { seq: u64, what: String },

    /// The outbox holds `outbox_events_max` events. Reading waits until receipts make room;
    /// nothing is dropped. Reported in the progress note rather than returned.
    #[error(
        "the outbox is full: {pending} events wait for the ledger's receipt and the limit \
         (outbox_events_max) is {max}; reading is paused until the ledger confirms some"
    )]
    OutboxFull { pending: u64, max: u64 },
}
