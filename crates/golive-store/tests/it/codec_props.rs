//! The record codec under property tests: wire (JSON) -> model (`Envelope`) -> storage (the
//! bincode record) -> model gives the same event for every kind, and arbitrary or corrupted
//! stored bytes give a `CodecError`, never a panic. The invariants are shared with the fuzz
//! targets (`invariants`); the event generator is the model's (`arb`).

use chrono::{DateTime, Utc};
use golive_model::{Envelope, MESSAGE_BYTES_MAX};
use golive_store::OriginSignature;
use golive_testkit::arb;
use golive_testkit::invariants::model as model_invariants;
use golive_testkit::invariants::store::{decode_stored_checked, storage_round_trip};
use golive_verify::{NoteSigner, ORIGIN_SIGNATURE_BYTES, sign_event};
use proptest::prelude::*;
use proptest::sample::Index;

fn received_at() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..8_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, ns)| DateTime::from_timestamp(s, ns).expect("in range"))
}

/// The JSON an independent publisher might send for `e`: pretty-printed, keys sorted.
fn wire_text(e: &Envelope) -> String {
    let v: serde_json::Value = serde_json::from_slice(&e.canonical_bytes()).unwrap();
    serde_json::to_string_pretty(&v).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn wire_to_model_to_storage_to_model_is_the_same_event(
        e in arb::envelope(),
        seq in 1u64..,
        at in received_at(),
    ) {
        // Proves: an event published as JSON (not in canonical form) decodes to an envelope
        // that, stored as a record and read back, is equal, hashes the same and has the same
        // canonical bytes; for every kind and every optional field present or absent.
        let wire = wire_text(&e);
        prop_assume!(wire.len() <= MESSAGE_BYTES_MAX);
        let decoded = model_invariants::decode_checked(wire.as_bytes())
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(&decoded, &e);
        storage_round_trip(&decoded, seq, at, None);
    }

    #[test]
    fn arbitrary_bytes_are_a_codec_error_never_a_panic(
        b in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        // Proves: arbitrary stored bytes (after the version byte or not) give an error or a
        // value that re-encodes stably; the version byte is set on half the cases so that the
        // bincode decoder itself is exercised.
        let _ = decode_stored_checked(&b);
        let mut v1 = b;
        v1.insert(0, golive_store::codec::RECORD_V1);
        let _ = decode_stored_checked(&v1);
        let mut v3 = v1;
        v3[0] = golive_store::codec::RECORD_V3;
        let _ = decode_stored_checked(&v3);
    }

    #[test]
    fn signed_records_keep_their_signature_through_storage(
        e in arb::envelope(),
        seq in 1u64..,
        at in received_at(),
        seed in any::<[u8; 32]>(),
    ) {
        // Proves: an event stored with its trust's origin signature is written in format 3
        // and reads back with the same signature (the shared invariant of `store_codec`).
        let signer = NoteSigner::from_seed("RAL", seed).expect("a key");
        let sig = sign_event(&signer, &e.canonical_bytes());
        let stored = storage_round_trip(&e, seq, at, Some(sig));
        prop_assert_eq!(stored[0], golive_store::codec::RECORD_V3);
        prop_assert_eq!(decode_stored_checked(&stored).unwrap().origin_signature, Some(sig));
    }

    #[test]
    fn corrupted_records_are_a_codec_error_never_a_panic(
        e in arb::envelope(),
        at in received_at(),
        sig in proptest::option::of(proptest::collection::vec(any::<u8>(), ORIGIN_SIGNATURE_BYTES)),
        flips in proptest::collection::vec((any::<Index>(), 1u8..), 1..4),
        cut in proptest::option::of(any::<Index>()),
    ) {
        // Proves: a real stored record (format 2, or format 3 with any 68 signature bytes)
        // with bytes flipped or cut short (a torn or rotted value) decodes to an error or to a record, never a panic; length prefixes that
        // claim more than is there are refused (bounded by DECODE_BYTES_MAX).
        let sig = sig.map(|b| OriginSignature::from_bytes(&b).expect("68 bytes"));
        let mut stored = storage_round_trip(&e, 1, at, sig);
        for (i, x) in &flips {
            let i = i.index(stored.len());
            stored[i] ^= x;
        }
        if let Some(c) = cut {
            stored.truncate(c.index(stored.len() + 1));
        }
        let _ = decode_stored_checked(&stored);
    }
}

#[test]
fn the_golden_records_of_every_format_pass_the_shared_invariant() {
    // Proves: the seeds of the fuzz target `store_codec` (the golden records, formats 1, 2
    // and 3) decode and hold its invariant, format 3 with its signature.
    for v in 1..=3 {
        let path = format!(
            "{}/tests/data/golden_records_v{v}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("golden file is committed");
        for line in text.lines() {
            let (_, hex) = line.split_once(' ').expect("`kind hex` per line");
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            let record = decode_stored_checked(&bytes).expect("a golden record decodes");
            assert_eq!(record.origin_signature.is_some(), v == 3, "{line}");
        }
    }
}

#[test]
fn a_format_1_record_of_another_schema_is_refused() {
    // Proves (regression, found by the fuzz target store_codec on 2026-12-07): a format-1
    // record whose schema field is not 1 (here 129, a flipped bit) is a codec error at
    // `schema`; it used to decode, and its envelope could then not be stored again (format 2
    // refuses schemas it cannot read), failing the re-encode invariant.
    let hex = "010500fc08e2a7cafc15cd5b07fa741c7961459a1aee6efef1050d36a6d7df527c4eb584f5486ae49e6a0300854f01dd83dd640a9f82209ea4aef9ffff9d8d70e0fc1036d4e707108efc0730b8000000000000000000000000000000050352414c010a726f79616c2d667265650772616c2d7061732cfc0a180d8f00fcd2180d8f00810564500c05020101001b426f61726420706170657220323030392d30322c206974656d203701010000000000000000000000000000abc5";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let err = decode_stored_checked(&bytes).expect_err("refused");
    assert!(err.to_string().contains("schema"), "{err}");
}

#[test]
fn a_format_1_record_holding_an_event_the_model_refuses_is_refused() {
    // Proves (regression, found by the fuzz target store_codec on 2026-12-07, run 2): a
    // format-1 record whose income period is in year 32473 is a codec error; it used to decode
    // (format 1's fields are read one by one), and could then not be stored again.
    let hex = "010a01fbf203fc12e2a7ca6d697373696e67206669656c642060fc15cd5b0718f5abeae47249116314074be8ef23bbb62e2b1598976379b16b814200ac2e1dc09adcc9845d9fea5260013b7d0000000000000000000000000000000a0352414c000772616c2d70617331fc14180d8f00fcdc180d8f00010ac6fbd97e020101000000";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert!(decode_stored_checked(&bytes).is_err());
}
