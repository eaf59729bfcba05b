//! The store's integration tests, one binary (linking a binary per file is slow): append and
//! its limits, the codec's properties and golden bytes, corruption found at open, Merkle
//! proofs, a model-based test against a `BTreeMap`, and the side tables. `common` builds
//! envelopes and reaches the raw on-disk layout.

mod append;
mod codec_props;
mod common;
mod corruption;
mod golden;
mod merkle_proofs;
mod model_based;
mod side_tables;
