//! The audit export reader: `golive_verify::parse_line` on every line (what parses is written
//! back and parses to the same value) and the streaming `verify_export` over the whole input,
//! with the key that signed the seed exports (the test key of crates/golive-verify/tests/
//! export.rs), so that mutations of genuine exports get past the signatures.
#![no_main]

use std::sync::OnceLock;

use golive_testkit::invariants::verify as invariants;
use golive_verify::{NoteSigner, VerifierKey};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static VerifierKey {
    static KEY: OnceLock<VerifierKey> = OnceLock::new();
    KEY.get_or_init(|| {
        NoteSigner::from_seed("golive.ledger/test", [42u8; 32])
            .expect("a valid test key")
            .verifier()
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = invariants::export_checked(data, key());
});
