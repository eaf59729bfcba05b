//! The model's integration tests, one binary (linking a binary per file is slow): the wire
//! format as documented, and hostile input with its defined outcomes. Their strategies and
//! invariant checkers are golive-testkit's (the fuzz targets share the checkers).

mod claims;
mod decode;
mod hostile;
mod recovery;
mod schema2;
mod trust_key;

use golive_model::{Envelope, Reason, decode};
use serde_json::Value;

/// Decodes `v`, which must be valid, and checks its canonical bytes decode to the same event.
pub(crate) fn accept(v: &Value) -> Envelope {
    let e = decode(&serde_json::to_vec(v).unwrap())
        .unwrap_or_else(|e| panic!("expected {v} to decode, got {e}"));
    assert_eq!(
        decode(&e.canonical_bytes()).unwrap(),
        e,
        "canonical round trip"
    );
    e
}

/// The field and reason `v` is refused with.
pub(crate) fn reject(v: &Value) -> (String, Reason) {
    match decode(&serde_json::to_vec(v).unwrap()) {
        Ok(e) => panic!("expected a rejection, decoded {e:?}"),
        Err(e) => (e.field, e.reason),
    }
}
