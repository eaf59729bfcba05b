//! The audit export reader: `golive_verify::parse_line` on every line (what parses is written
//! back and parses to the same value) and the streaming `verify_export_with` over the whole
//! input, with the key that signed the seed exports' checkpoints (the test key of
//! crates/golive-verify/tests/export.rs), so that mutations of genuine exports get past the
//! signatures, and the test trust's key (`invariants::origin`, policy `optional`), so that each
//! record's `origin_signature` is checked too.
#![no_main]

use std::sync::OnceLock;

use golive_testkit::invariants::{origin, verify as invariants};
use golive_verify::{NoteSigner, SignaturePolicy, TrustKeys, VerifierKey};
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static (VerifierKey, TrustKeys) {
    static KEYS: OnceLock<(VerifierKey, TrustKeys)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let log = NoteSigner::from_seed("golive.ledger/test", [42u8; 32])
            .expect("a valid test key")
            .verifier();
        (
            log,
            origin::test_trust_keys(SignaturePolicy::Optional, None),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let (key, trust) = keys();
    let _ = invariants::export_checked(data, key, trust);
});
