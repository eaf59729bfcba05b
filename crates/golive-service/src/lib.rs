//! # golive-service
//!
//! `golive serve`: the ledger as a NATS JetStream consumer. The loop fetches an in-order batch
//! from the durable pull consumer, decodes and validates each message (bad ones to the dead
//! letters, with subject, raw bytes and reason), appends the batch (one store write, flushed),
//! and only then acknowledges the batch's last message (`AckPolicy::All`). A crash between the
//! flush and the ack only causes a redelivery, which is skipped (the ledger knows the stream
//! sequence of its head record) or deduplicated by the forever-dedupe by `event_id`. Beside it, a
//! core-NATS responder answers collectors' receipt queries from the store (see
//! `golive_model::protocol`).
//!
//! Design decision: each message is processed once, in stream order, with none skipped, whatever
//! the consumer delivers: a message the consumer did not deliver is read back from the stream.
//! So the ledger's log is a function of the stream alone, and ledger replicas with their own
//! consumers on one stream keep identical logs. Those decisions are one pure type,
//! [`StreamCursor`], with no IO; the loop around it only does what it says.
//!
//! **Boundary:** this crate (and the collector) depend on async-nats; `golive-ledger` and
//! `golive-http` do not. [`process_batch`] is the one way stream messages enter the ledger, and
//! needs no NATS.

mod batch;
mod config;
mod connect;
mod cursor;
mod error;
mod fetch;
mod provision;
mod receipts;
mod serve;
mod stop;

pub use batch::{Delivered, process_batch};
pub use config::{ServeConfig, StreamSettings};
pub use connect::{Connection, connect};
pub use cursor::{BatchPlan, Resume, Span, Step, StreamCursor};
pub use error::ServeError;
pub use golive_ledger::BatchTally;
pub use provision::{ensure_consumer, ensure_stream};
pub use receipts::receipt_statuses;
pub use serve::{ServeSummary, serve};
