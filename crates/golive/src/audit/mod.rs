//! The auditor's library behind `golive audit` and `golive repair`: write the history as an
//! export, verify it, replay it into projections, compare two ledgers. The checks themselves
//! are in `golive_verify`; this module only feeds them, from three kinds of source, one file
//! each: a store directory on disk (`store`), an export file (`export_file`) and a running
//! ledger's HTTP API (`server`); `compare` walks any two of them in step. See docs/AUDIT.md.
//!
//! **Invariant:** an export is the same bytes whichever source wrote it, and every source is
//! checked by the same `golive_verify::Verifier`; a server is not trusted more than a file.

mod compare;
mod export_file;
mod server;
mod store;

use std::io::Write;

use golive_store::StoreError;

pub use compare::{Comparison, Side, compare};
pub use export_file::{replay_file, replay_file_known_at, verify_file, verify_file_with};
pub use server::{export_server, verify_server, verify_server_with};
pub use store::{export, verify_store, verify_store_with};

/// Where a long verification says how far it got, for a progress bar: `(done, total)`, in
/// bytes read of an export file (read twice: `total` is twice its length) or in records
/// checked of a store (walked twice: `total` is twice its head) or a server.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Export(String),
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub from_seq: u64,
    pub to_seq: u64,
    pub records: u64,
    pub checkpoints: u64,
}

/// (seq, recomputed chain hash) of each record of one side, in order.
pub(crate) type HashStream<'a> = Box<dyn Iterator<Item = Result<(u64, [u8; 32]), AuditError>> + 'a>;

/// Refuses an export range that starts after it ends (an empty range right after `to` is
/// allowed: it exports only the checkpoints).
fn check_range(from: u64, to: u64, head: u64) -> Result<(), AuditError> {
    if from > to + 1 {
        return Err(AuditError::Export(format!(
            "--from-seq {from} is beyond --to-seq {to} (the head is {head})"
        )));
    }
    Ok(())
}

/// Writes `value` as one line of JSON: the export's header and checkpoint lines.
fn write_json_line(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<(), AuditError> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}
