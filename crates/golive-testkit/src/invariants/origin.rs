//! What must hold for an event's origin signature (the `Golive-Signature` header) on ANY
//! input, asserted with panics so that the same code serves the property tests
//! (golive-verify's `tests/origin.rs`) and the fuzz target `origin_signature`. No proptest here.
//!
//! The trust key is fixed ([`test_signer`]): a signature the checker did not make can only be
//! accepted if it is the one [`sign_event`] makes (Ed25519 signing is deterministic and the
//! check is strict), so "accepted" is compared with that genuine signature, not with the
//! checker's own answer.

use std::borrow::Cow;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use golive_verify::{
    ExportRecord, Kind, NoteSigner, Origin, OriginAudit, OriginFormatError, OriginRefusal,
    OriginSignature, SignaturePolicy, TrustKey, TrustKeys, TrustOrigin, sign_event, verify_event,
};

/// The trust whose key the checkers hold.
pub const TEST_TRUST: &str = "RAL";

/// When the test key is revoked in the `optional` trust keys: 2026-01-01T00:00:00Z.
pub const REVOKED_AT: i64 = 1_767_225_600;

/// Bytes before the header text in a split input: flip position, flip bits, recorded_at.
pub const CASE_PREFIX_BYTES: usize = 10;

/// The test trust's signing key (the seeds, the property tests and the fuzz targets share it).
pub fn test_signer() -> &'static NoteSigner {
    static SIGNER: OnceLock<NoteSigner> = OnceLock::new();
    SIGNER.get_or_init(|| NoteSigner::from_seed(TEST_TRUST, [21u8; 32]).expect("a valid key"))
}

/// Trust keys holding only the test key for [`TEST_TRUST`], under `policy`, revoked at
/// `revoked_at` when given.
pub fn test_trust_keys(policy: SignaturePolicy, revoked_at: Option<DateTime<Utc>>) -> TrustKeys {
    let origin = TrustOrigin {
        policy,
        keys: vec![TrustKey {
            key: test_signer().verifier(),
            revoked_at,
        }],
    };
    TrustKeys::new([(TEST_TRUST.to_owned(), origin)].into())
}

/// The two configurations every input is checked under: `required` with the key in force, and
/// `optional` with the key revoked at [`REVOKED_AT`].
fn configurations() -> &'static [(TrustKeys, Option<DateTime<Utc>>); 2] {
    static KEYS: OnceLock<[(TrustKeys, Option<DateTime<Utc>>); 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let revoked = DateTime::from_timestamp(REVOKED_AT, 0).expect("in range");
        [
            (test_trust_keys(SignaturePolicy::Required, None), None),
            (
                test_trust_keys(SignaturePolicy::Optional, Some(revoked)),
                Some(revoked),
            ),
        ]
    })
}

/// One input: a header text, the event bytes it claims to sign, the event's `recorded_at`, and
/// which byte of a genuine signature (and of the event) to flip, with which bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginCase<'a> {
    pub flip_at: u8,
    pub flip_bits: u8,
    pub recorded_at: DateTime<Utc>,
    pub header: Cow<'a, str>,
    pub event: &'a [u8],
}

impl<'a> OriginCase<'a> {
    /// Splits arbitrary bytes: flip position (1 byte), flip bits (1), `recorded_at` in seconds
    /// (8, little-endian; clamped to chrono's range), then the header text up to the first
    /// newline (invalid UTF-8 replaced), then the event bytes. Missing bytes count as zero.
    pub fn split(data: &'a [u8]) -> Self {
        let mut prefix = [0u8; CASE_PREFIX_BYTES];
        let n = data.len().min(CASE_PREFIX_BYTES);
        prefix[..n].copy_from_slice(&data[..n]);
        let rest = &data[n..];
        let (header, event) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        let secs = i64::from_le_bytes(prefix[2..].try_into().expect("8 bytes"));
        let recorded_at = DateTime::from_timestamp(secs, 0).unwrap_or(if secs < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        });
        OriginCase {
            flip_at: prefix[0],
            flip_bits: prefix[1],
            recorded_at,
            header: String::from_utf8_lossy(header),
            event,
        }
    }

    /// The bytes that [`OriginCase::split`] reads back as this case (for seeds), when the
    /// header has no newline and `recorded_at` is a whole second.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.flip_at, self.flip_bits];
        out.extend_from_slice(&self.recorded_at.timestamp().to_le_bytes());
        out.extend_from_slice(self.header.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.event);
        out
    }
}

/// Every check of one input; returns what the header text parsed to.
pub fn origin_checked(case: &OriginCase<'_>) -> Result<OriginSignature, OriginFormatError> {
    let parsed = parse_checked(&case.header);
    from_bytes_checked(case.event);
    let genuine = sign_event(test_signer(), case.event);
    check_checked(case, parsed.as_ref().ok(), &genuine);
    genuine_checked(case, &genuine);
    audit_checked(case, &parsed, &genuine);
    parsed
}

/// `OriginSignature::parse` on any text: an error naming its reason, or a signature whose
/// text is the input's (trimmed: base64 is read in its canonical form only) and whose text and
/// bytes read back to it.
pub fn parse_checked(text: &str) -> Result<OriginSignature, OriginFormatError> {
    let parsed = OriginSignature::parse(text);
    match &parsed {
        Err(e) => {
            assert!(!e.to_string().is_empty(), "an error without a message");
            match e {
                OriginFormatError::NotBase64(why) => assert!(!why.is_empty(), "no reason: {e}"),
                OriginFormatError::WrongLength(n) => {
                    assert_ne!(*n, golive_verify::ORIGIN_SIGNATURE_BYTES, "{e}")
                }
            }
        }
        Ok(sig) => {
            let again = sig.to_text();
            assert_eq!(again, text.trim(), "two texts read as one signature");
            assert_eq!(OriginSignature::parse(&again).as_ref(), Ok(sig));
            assert_eq!(
                OriginSignature::from_bytes(&sig.to_bytes()).as_ref(),
                Ok(sig)
            );
            let _ = format!("{sig:?}");
        }
    }
    parsed
}

/// `OriginSignature::from_bytes` on any bytes: a signature exactly when there are 68, whose
/// bytes are the input's.
pub fn from_bytes_checked(bytes: &[u8]) {
    match OriginSignature::from_bytes(bytes) {
        Ok(sig) => assert_eq!(&sig.to_bytes()[..], bytes, "bytes round trip"),
        Err(e) => {
            assert_eq!(e, OriginFormatError::WrongLength(bytes.len()));
            assert_ne!(bytes.len(), golive_verify::ORIGIN_SIGNATURE_BYTES);
        }
    }
}

/// What `TrustKeys::check` must answer for `sig` (or none) over the case's event under
/// `keys`, whose one key is revoked at `revoked`.
fn expected(
    keys: &TrustKeys,
    revoked: Option<DateTime<Utc>>,
    case: &OriginCase<'_>,
    sig: Option<&OriginSignature>,
    genuine: &OriginSignature,
) -> Result<Origin, OriginRefusal> {
    let trust = TEST_TRUST.to_owned();
    let Some(sig) = sig else {
        return match keys.policy(TEST_TRUST) {
            SignaturePolicy::Required => Err(OriginRefusal::Missing { trust }),
            SignaturePolicy::Optional => Ok(Origin::Unsigned),
        };
    };
    let key_id = sig.key_id;
    if key_id != genuine.key_id {
        return Err(OriginRefusal::UnknownKey { trust, key_id });
    }
    if sig != genuine {
        return Err(OriginRefusal::BadSignature { trust, key_id });
    }
    match revoked {
        Some(revoked_at) if revoked_at <= case.recorded_at => Err(OriginRefusal::Revoked {
            trust,
            key_id,
            revoked_at,
            recorded_at: case.recorded_at,
        }),
        _ => Ok(Origin::Signed { key_id }),
    }
}

/// `TrustKeys::check` of the header's signature (or of none) under both configurations: only
/// the genuine signature is accepted, each refusal is the one the rule names; a trust with no
/// keys refuses every signature and takes unsigned events.
fn check_checked(case: &OriginCase<'_>, sig: Option<&OriginSignature>, genuine: &OriginSignature) {
    for (keys, revoked) in configurations() {
        let got = keys.check(TEST_TRUST, case.recorded_at, case.event, sig);
        let want = expected(keys, *revoked, case, sig, genuine);
        assert_eq!(got, want, "check of {sig:?} (genuine {genuine:?})");
        let other = keys.check("ZZZ", case.recorded_at, case.event, sig);
        match sig {
            None => assert_eq!(other, Ok(Origin::Unsigned)),
            Some(s) => assert_eq!(
                other,
                Err(OriginRefusal::UnknownKey {
                    trust: "ZZZ".to_owned(),
                    key_id: s.key_id
                })
            ),
        }
    }
}

/// The genuine signature of the event verifies and is accepted; with one of its bytes flipped,
/// or one byte of the event flipped, it is refused.
fn genuine_checked(case: &OriginCase<'_>, genuine: &OriginSignature) {
    let key = test_signer().verifier();
    let (keys, _) = &configurations()[0];
    assert!(verify_event(&key, case.event, genuine), "genuine refused");
    check_checked(case, Some(genuine), genuine);
    let bits = if case.flip_bits == 0 {
        1
    } else {
        case.flip_bits
    };

    let mut bytes = genuine.to_bytes();
    let at = usize::from(case.flip_at) % bytes.len();
    bytes[at] ^= bits;
    let bad = OriginSignature::from_bytes(&bytes).expect("68 bytes");
    assert!(!verify_event(&key, case.event, &bad), "byte {at} flipped");
    let refusal = keys.check(TEST_TRUST, case.recorded_at, case.event, Some(&bad));
    let refused_as = match refusal {
        Err(OriginRefusal::UnknownKey { .. }) => at < 4,
        Err(OriginRefusal::BadSignature { .. }) => at >= 4,
        _ => false,
    };
    assert!(refused_as, "signature byte {at} flipped: {refusal:?}");

    let mut event = case.event.to_vec();
    match event.len() {
        0 => event.push(bits),
        n => event[usize::from(case.flip_at) % n] ^= bits,
    }
    let refusal = keys.check(TEST_TRUST, case.recorded_at, &event, Some(genuine));
    assert!(
        matches!(refusal, Err(OriginRefusal::BadSignature { .. })),
        "event byte flipped: {refusal:?}"
    );
}

/// The auditor's check of a record carrying the header text and the event: an answer, never
/// a panic; a signature passes only if it is the genuine one, and a refusal is a problem of
/// the record's own seq.
fn audit_checked(
    case: &OriginCase<'_>,
    parsed: &Result<OriginSignature, OriginFormatError>,
    genuine: &OriginSignature,
) {
    let (keys, _) = &configurations()[1];
    let mut audit = OriginAudit::new(keys.clone());
    let header = (!case.header.is_empty()).then_some(&*case.header);
    let record = ExportRecord {
        seq: 7,
        prev_hash: [0; 32],
        hash: [0; 32],
        received_at: "2026-01-01T00:00:00Z",
        stream_seq: None,
        origin_signature: header,
        event: case.event,
    };
    match audit.check(&record) {
        Ok(()) => {
            if header.is_some() {
                assert_eq!(
                    parsed.as_ref(),
                    Ok(genuine),
                    "the audit passed a bad signature"
                );
            }
            let tally = audit.into_tally();
            let counted: u64 = tally
                .values()
                .map(|t| t.signed + t.signed_by_revoked_key + t.unsigned)
                .sum();
            assert_eq!(counted, 1, "one record, tallied once: {tally:?}");
        }
        Err(p) => {
            assert_eq!(p.seq, 7, "{p}");
            assert!(matches!(p.kind, Kind::Malformed | Kind::BadOrigin), "{p}");
            assert!(!p.detail.is_empty());
        }
    }
}
