//! # golive-ledger
//!
//! The ledger: one [`Ledger`] owns a [`golive_store::Store`] and the live
//! [`golive_projections::Projections`] folded from it. Every way events arrive (a file, stdin,
//! the NATS stream through the `golive-service` crate) goes through [`Ledger::append`], which
//! appends durably to the store first and only then folds the appended events into the
//! projections, so the projections never show an event the log does not hold.
//!
//! Design decision: projections are rebuilt from the nearest checkpoint (a snapshot stored in the
//! store at sequence N) plus a replay of the records after it, never from zero when a snapshot
//! exists. A snapshot written by an older build that cannot be read is ignored, and the log (the
//! only source of truth) is replayed instead.
//!
//! This crate knows nothing of NATS: the consumer loop lives in `golive-service`, so the HTTP
//! crate, which needs the ledger, its [`Metrics`] and its [`Readiness`], does not compile a NATS client.

mod ingest;
mod ledger;
pub mod metrics;
pub mod readiness;
pub mod signing;

pub use ingest::{IngestSummary, LineSource, REJECTIONS_KEPT_MAX, Rejection, ingest_lines};
pub use ledger::{
    Ledger, LedgerError, LedgerOptions, ReplayProgress, SharedMoneyHistory, build_money_history,
    claims_register, claims_register_both, claims_register_marked, extend_money_history,
    projections_at, projections_cuts, projections_known_at, replay_from_start, seq_received_by,
    spawn_money_history_build,
};
pub use metrics::{BatchTally, LedgerGauges, Metrics};
pub use readiness::{READY_LAG_MAX_MESSAGES_DEFAULT, Readiness, ReadyReport};
