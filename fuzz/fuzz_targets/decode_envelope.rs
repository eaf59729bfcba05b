//! `golive_model::decode` (size limit, UTF-8, strict JSON, validation) on arbitrary bytes.
//! Asserted, not just "no panic": both entry points agree; a rejection names a field; an
//! accepted envelope's canonical bytes fit in one message, decode to the same envelope and are
//! a fixed point; and wire -> model -> storage (the store's bincode record) -> model gives the
//! same event with a hash that still verifies.
#![no_main]

use golive_testkit::invariants::{model as model_invariants, store as store_invariants};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = model_invariants::decode_checked(data) {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 123).expect("a valid time");
        store_invariants::storage_round_trip(&envelope, 1 + data.len() as u64, at, None);
    }
});
