//! An event's origin signature (the NATS header `Golive-Signature`) on arbitrary input, split
//! by `invariants::origin::OriginCase::split` into a flip position and bits, a `recorded_at`,
//! a header text and event bytes. Asserted, not just "no panic": `OriginSignature::parse`
//! names a reason or gives a signature whose text and bytes round-trip; `from_bytes` of the
//! event bytes likewise; `TrustKeys::check` with the test trust's key under `required` and
//! `optional` (revoked) policy accepts only the genuine signature; the genuine signature of
//! the event bytes verifies and one flipped byte of it, or of the event, is refused; the
//! auditor's `OriginAudit` passes a record only with the genuine signature.
#![no_main]

use golive_testkit::invariants::origin as invariants;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = invariants::origin_checked(&invariants::OriginCase::split(data));
});
