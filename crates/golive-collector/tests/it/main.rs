//! The collector's integration tests, one binary (linking a binary per file is slow): the feed
//! readers on in-memory input, the durable outbox on disk, and the whole collector against a
//! real nats-server and a fake ledger.

mod common;
mod feed;
mod nats;
mod outbox;
