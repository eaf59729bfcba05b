//! Origin signatures (the `Golive-Signature` header) under hostile input: the property-test
//! counterpart of the fuzz target `origin_signature`, calling the same checker
//! (`golive_testkit::invariants::origin`). Whatever the header text, the event bytes and the
//! event's `recorded_at`, parsing names a reason or round-trips, `TrustKeys::check` accepts
//! only the genuine signature, and one flipped byte of a genuine signature or event fails.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use golive_testkit::invariants::origin::{
    CASE_PREFIX_BYTES, OriginCase, REVOKED_AT, TEST_TRUST, origin_checked, parse_checked,
    test_signer,
};
use golive_verify::{NoteSigner, OriginFormatError, OriginSignature, sign_event};
use proptest::prelude::*;

/// An event the auditor can read (`trust`, `recorded_at`): of the test trust, or of another.
fn event_json(trust: &str, n: u64, recorded_at: DateTime<Utc>) -> Vec<u8> {
    format!(
        r#"{{"event_id":"00000000-0000-4000-8000-{n:012}","trust":"{trust}","recorded_at":"{}","kind":"extra_cost"}}"#,
        recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
    .into_bytes()
}

fn near_revocation() -> impl Strategy<Value = DateTime<Utc>> {
    (-200_000i64..200_000).prop_map(|d| DateTime::from_timestamp(REVOKED_AT + d, 0).unwrap())
}

/// What a header might hold for `event`: its genuine signature (as sent, or padded with
/// whitespace, or with one character changed), another key's signature, or arbitrary text.
fn header_for(event: Vec<u8>) -> impl Strategy<Value = String> {
    let genuine = sign_event(test_signer(), &event).to_text();
    let other = NoteSigner::from_seed(TEST_TRUST, [22u8; 32]).unwrap();
    let by_other = sign_event(&other, &event).to_text();
    let g = genuine.clone();
    prop_oneof![
        Just(genuine.clone()),
        Just(format!(" {genuine}\t")),
        Just(by_other),
        (0..genuine.len(), "[A-Za-z0-9+/=!. ]").prop_map(move |(i, c)| {
            let mut t = g.clone();
            t.replace_range(i..=i, &c);
            t
        }),
        "[A-Za-z0-9+/=]{0,100}",
        "\\PC{0,120}",
    ]
}

fn case_parts() -> impl Strategy<Value = (u8, u8, DateTime<Utc>, String, Vec<u8>)> {
    let event = prop_oneof![
        ("(RAL|RVL)", 0u64..1000, near_revocation()).prop_map(|(t, n, at)| event_json(&t, n, at)),
        proptest::collection::vec(any::<u8>(), 0..200),
    ];
    (any::<u8>(), any::<u8>(), near_revocation(), event)
        .prop_flat_map(|(a, b, at, e)| (Just(a), Just(b), Just(at), header_for(e.clone()), Just(e)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_split_into_a_header_and_an_event_hold_the_origin_invariants(
        b in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        // Proves: any input, split as the fuzz target splits it, gives an answer at every
        // step that the shared checker accepts (never a panic).
        let _ = origin_checked(&OriginCase::split(&b));
    }

    #[test]
    fn genuine_mutated_and_foreign_headers_hold_the_origin_invariants(
        (flip_at, flip_bits, recorded_at, header, event) in case_parts(),
    ) {
        // Proves: for real and arbitrary events, headers that are the genuine signature (as
        // sent or padded), another key's, the genuine with one character changed, or
        // arbitrary text, are accepted only when genuine, under both policies and on both
        // sides of the key's revocation; the auditor agrees.
        let case = OriginCase {
            flip_at,
            flip_bits,
            recorded_at,
            header: Cow::Owned(header),
            event: &event,
        };
        let parsed = origin_checked(&case);
        let genuine = sign_event(test_signer(), &event);
        if case.header.trim() == genuine.to_text() {
            prop_assert_eq!(parsed, Ok(genuine));
        }
        // And the case survives the fuzz target's layout.
        if !case.header.contains('\n') {
            let bytes = case.to_bytes();
            prop_assert_eq!(OriginCase::split(&bytes), case);
        }
    }
}

#[test]
fn short_inputs_count_missing_bytes_as_zero_and_times_out_of_range_are_clamped() {
    // Proves the fuzz layout reads inputs shorter than its prefix, and a `recorded_at` beyond
    // chrono's range as its nearest end, so that every input is a case.
    for n in 0..=CASE_PREFIX_BYTES + 1 {
        let _ = origin_checked(&OriginCase::split(&vec![0xff; n]));
    }
    let mut max = vec![0, 0];
    max.extend_from_slice(&i64::MAX.to_le_bytes());
    assert_eq!(
        OriginCase::split(&max).recorded_at,
        DateTime::<Utc>::MAX_UTC
    );
    let mut min = vec![0, 0];
    min.extend_from_slice(&i64::MIN.to_le_bytes());
    assert_eq!(
        OriginCase::split(&min).recorded_at,
        DateTime::<Utc>::MIN_UTC
    );
}

#[test]
fn header_texts_that_are_not_a_signature_are_named() {
    // Proves each bad form of the header has its reason: not base64 (with base64's own
    // message), or base64 of the wrong length; padding in the middle is not base64; a
    // non-canonical final character is refused or read as written.
    let genuine = sign_event(test_signer(), b"{}").to_text();
    assert!(parse_checked(&genuine).is_ok());
    assert_eq!(
        parse_checked("AAAA"),
        Err(OriginFormatError::WrongLength(3))
    );
    assert_eq!(
        parse_checked(&format!("{}AAAA", &genuine[..88])),
        Err(OriginFormatError::WrongLength(69))
    );
    for bad in ["%%%", "AAA", &genuine[..91], &format!("{genuine}AAAA")] {
        assert!(
            matches!(parse_checked(bad), Err(OriginFormatError::NotBase64(_))),
            "{bad}"
        );
    }
    // The last character before the padding carries 4 bits of which only 2 are data.
    let last = genuine.as_bytes()[90];
    let next = if last == b'A' { 'B' } else { 'A' };
    let mut odd = genuine.clone();
    odd.replace_range(90..91, &next.to_string());
    let parsed = parse_checked(&odd);
    assert!(
        parsed.is_err() || parsed.as_ref().unwrap().to_text() == odd,
        "{parsed:?}"
    );
    let _ = OriginSignature::from_bytes(&[0; 68]).unwrap();
}

#[test]
#[ignore = "writes the fuzz seed corpus of origin_signature; run by fuzz/seed-corpus.sh"]
fn write_fuzz_seed_origin() {
    // Writes inputs in the target's layout into $GOLIVE_FUZZ_SEED_DIR: events of the test
    // trust (and of another) with their genuine header, on both sides of the key's revocation,
    // and the bad forms of a header.
    let dir = std::env::var("GOLIVE_FUZZ_SEED_DIR").expect("GOLIVE_FUZZ_SEED_DIR");
    let revoked = DateTime::from_timestamp(REVOKED_AT, 0).unwrap();
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, d) in [-86_400i64, -1, 0, 1].into_iter().enumerate() {
        let at = revoked + chrono::Duration::seconds(d);
        for trust in [TEST_TRUST, "RVL"] {
            let event = event_json(trust, i as u64, at);
            let case = OriginCase {
                flip_at: i as u8 * 17,
                flip_bits: 0x80 >> i,
                recorded_at: at,
                header: Cow::Owned(sign_event(test_signer(), &event).to_text()),
                event: &event,
            };
            seeds.push((format!("genuine-{trust}-{i}"), case.to_bytes()));
        }
    }
    let event = event_json(TEST_TRUST, 9, revoked);
    let genuine = sign_event(test_signer(), &event);
    let other = NoteSigner::from_seed(TEST_TRUST, [22u8; 32]).unwrap();
    let headers = [
        ("empty", String::new()),
        ("short", "AAAA".to_owned()),
        ("not-base64", "not base64!".to_owned()),
        ("other-key", sign_event(&other, &event).to_text()),
        ("padded", format!("  {}  ", genuine.to_text())),
    ];
    for (name, header) in headers {
        let case = OriginCase {
            flip_at: 5,
            flip_bits: 1,
            recorded_at: revoked,
            header: Cow::Owned(header),
            event: &event,
        };
        seeds.push((format!("header-{name}"), case.to_bytes()));
    }
    let bytes = genuine.to_bytes();
    let case = OriginCase {
        flip_at: 2,
        flip_bits: 2,
        recorded_at: revoked,
        header: Cow::Owned(genuine.to_text()),
        event: &bytes,
    };
    seeds.push(("event-is-68-bytes".to_owned(), case.to_bytes()));
    for (name, bytes) in seeds {
        std::fs::write(format!("{dir}/{name}.bin"), bytes).unwrap();
    }
}
