//! What must hold for ANY input to `decode`, asserted with panics so that the same code serves
//! the property tests (golive-model's `tests/it/hostile.rs`) and the fuzz target
//! `decode_envelope`. No proptest here: the fuzz crate does not build it.

use golive_model::{DecodeError, Envelope, MESSAGE_BYTES_MAX, decode, decode_str, protocol};

/// Decodes `bytes` and checks the invariants of the answer:
///
/// - the two entry points agree (`decode` on bytes, `decode_str` on the same text);
/// - a rejection names a field and says why (non-empty, printable);
/// - an accepted envelope is valid, its canonical bytes fit in one message, decode back to an
///   equal envelope and are a fixed point (so the chain hash an auditor recomputes from an
///   export is the one the ledger stored), and its subject parses back to its trust and kind.
pub fn decode_checked(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    let result = decode(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        assert_eq!(decode_str(text), result, "decode and decode_str disagree");
    }
    match &result {
        Err(e) => {
            assert!(!e.field.is_empty(), "a rejection without a field: {e:?}");
            assert!(!e.to_string().is_empty());
        }
        Ok(envelope) => check_accepted(envelope),
    }
    result
}

/// The invariants of an accepted envelope (see [`decode_checked`]).
pub fn check_accepted(envelope: &Envelope) {
    assert_eq!(envelope.validate(), Ok(()), "accepted but not valid");
    let canonical = envelope.canonical_bytes();
    assert!(
        canonical.len() <= MESSAGE_BYTES_MAX,
        "canonical bytes of an accepted event are {} bytes, over the message limit",
        canonical.len()
    );
    let again = decode(&canonical).unwrap_or_else(|e| {
        panic!(
            "canonical bytes of an accepted event do not decode: {e}\n{}",
            String::from_utf8_lossy(&canonical)
        )
    });
    assert_eq!(
        &again, envelope,
        "canonical bytes decode to another envelope"
    );
    assert_eq!(
        again.canonical_bytes(),
        canonical,
        "canonical bytes are not a fixed point"
    );
    let subject = envelope.subject();
    let (trust, kind) = protocol::parse_event_subject(&subject)
        .unwrap_or_else(|| panic!("subject {subject} does not parse"));
    assert_eq!(trust, envelope.trust.as_str());
    assert_eq!(kind, envelope.kind().as_str());
}
