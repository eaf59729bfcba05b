//! The store's record and dead-letter decoders (`golive_store::codec`) on arbitrary bytes: an
//! error, never a panic (length prefixes beyond the input, bad tags, bad UTF-8, times out of
//! range, trailing bytes); bytes that decode re-encode stably to the same value.
#![no_main]

use golive_testkit::invariants::store as invariants;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = invariants::decode_stored_checked(data);
});
