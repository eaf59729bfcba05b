//! The service's one error type.

use std::path::PathBuf;

use golive_ledger::LedgerError;
use golive_model::protocol::STREAM_NAME;
use golive_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot reach NATS at {url}: {message}; is nats-server running there (see docs/OPERATIONS.md)?"
    )]
    Connect { url: String, message: String },
    /// The TLS handshake with NATS failed: an untrusted certificate, a server without TLS, a
    /// client certificate refused.
    #[error("TLS to NATS at {url} failed: {message}; {hint}")]
    Tls {
        url: String,
        message: String,
        hint: &'static str,
    },
    #[error("cannot read the NATS credentials file {path}: {message}")]
    Credentials { path: PathBuf, message: String },
    /// The server answered "authorization violation": wrong, unknown or missing credentials.
    #[error("NATS at {url} refused the credentials for {who}: authorization violation; {hint}")]
    Refused {
        url: String,
        who: String,
        hint: &'static str,
    },
    #[error(
        "stream {STREAM_NAME} exists with different settings: {0}. The ledger does not change an existing stream; edit it (nats stream edit {STREAM_NAME}) or start the ledger with matching settings"
    )]
    StreamMismatch(String),
    #[error("JetStream error: {0}")]
    JetStream(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) fn js_err(e: impl std::fmt::Display) -> ServeError {
    ServeError::JetStream(e.to_string())
}
