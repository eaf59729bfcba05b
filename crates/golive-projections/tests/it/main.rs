//! The projections' integration tests, one binary (linking a binary per file is slow):
//! corrections, warnings, snapshots and JSON, and property tests over generated histories.

mod common;
mod corrections;
mod coverage;
mod properties;
mod scenario;
mod snapshot_and_json;
mod warnings;
