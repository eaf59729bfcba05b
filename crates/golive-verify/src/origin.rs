//! Who reported an event: a trust's Ed25519 signature over the event's canonical bytes.
//!
//! A trust's collector holds a signing key in the signed-note key format ([`NoteSigner`], key
//! name = the trust's ODS code) and signs `SIGNING_CONTEXT || canonical bytes` of each event.
//! The signature travels in the NATS header [`SIGNATURE_HEADER`] as
//! `base64(key id (4 bytes, big-endian) || signature (64 bytes))`, the same blob a signed note
//! carries, so any language with Ed25519 and base64 can produce it (docs/EVENTS.md, with a
//! Python example). The ledger stores it in the record; exports carry it; [`TrustKeys::check`]
//! is the one rule the ledger (at append) and the auditor (offline) both apply.
//!
//! The signature is not part of the chain hash: it proves its own integrity (a changed byte
//! fails the check, a new signature needs the trust's private key), and the chain stays what it
//! was for every record ever written. What the chain does not prevent is removing a signature:
//! the event then counts as unsigned, which a trust whose policy is `required` shows.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _};

use crate::note::{NoteSigner, VerifierKey};

/// The NATS header that carries an event's origin signature.
pub const SIGNATURE_HEADER: &str = "Golive-Signature";

/// Signed before the canonical bytes, so that an event signature can never be taken for a
/// signature of anything else made with the same key.
pub const SIGNING_CONTEXT: &[u8] = b"golive-event-signature-v1\n";

/// Length of the stored form: key id (4) + signature (64).
pub const ORIGIN_SIGNATURE_BYTES: usize = 68;

/// A trust's signature of one event, and the id of the key that made it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OriginSignature {
    pub key_id: u32,
    pub signature: [u8; 64],
}

impl std::fmt::Debug for OriginSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OriginSignature({:08x}, {})",
            self.key_id,
            self.to_text()
        )
    }
}

/// Why a signature's text or bytes are not a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginFormatError {
    #[error("the signature is not base64: {0}")]
    NotBase64(String),
    #[error("the signature is {0} bytes; expected 68 (key id 4 + Ed25519 signature 64)")]
    WrongLength(usize),
}

impl OriginSignature {
    /// From the stored form: key id (big-endian) then the signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OriginFormatError> {
        if bytes.len() != ORIGIN_SIGNATURE_BYTES {
            return Err(OriginFormatError::WrongLength(bytes.len()));
        }
        let (id, sig) = bytes.split_at(4);
        Ok(Self {
            key_id: u32::from_be_bytes(id.try_into().expect("4 bytes")),
            signature: sig.try_into().expect("64 bytes"),
        })
    }

    pub fn to_bytes(&self) -> [u8; ORIGIN_SIGNATURE_BYTES] {
        let mut out = [0u8; ORIGIN_SIGNATURE_BYTES];
        out[..4].copy_from_slice(&self.key_id.to_be_bytes());
        out[4..].copy_from_slice(&self.signature);
        out
    }

    /// The header's (and the export's) text: standard base64 with padding.
    pub fn parse(text: &str) -> Result<Self, OriginFormatError> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|e| OriginFormatError::NotBase64(e.to_string()))?;
        Self::from_bytes(&bytes)
    }

    pub fn to_text(&self) -> String {
        B64.encode(self.to_bytes())
    }
}

/// The bytes a trust signs for an event.
pub fn signed_message(canonical: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_CONTEXT.len() + canonical.len());
    m.extend_from_slice(SIGNING_CONTEXT);
    m.extend_from_slice(canonical);
    m
}

/// Signs an event's canonical bytes with a trust's key.
pub fn sign_event(signer: &NoteSigner, canonical: &[u8]) -> OriginSignature {
    OriginSignature {
        key_id: signer.verifier().id,
        signature: signer
            .signing_key()
            .sign(&signed_message(canonical))
            .to_bytes(),
    }
}

/// True when `sig` is `key`'s signature of the event (strict Ed25519 verification).
pub fn verify_event(key: &VerifierKey, canonical: &[u8], sig: &OriginSignature) -> bool {
    sig.key_id == key.id
        && key
            .verifying_key()
            .verify_strict(
                &signed_message(canonical),
                &Signature::from_bytes(&sig.signature),
            )
            .is_ok()
}

/// What a trust's events must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignaturePolicy {
    /// Every event must be signed by a key of the trust valid at its `recorded_at`.
    Required,
    /// Unsigned events are recorded as unsigned; a signature present must still be good.
    #[default]
    Optional,
}

impl SignaturePolicy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "required" => Some(Self::Required),
            "optional" => Some(Self::Optional),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
        }
    }
}

/// One public key of a trust and, once revoked, from when its signatures stop counting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustKey {
    pub key: VerifierKey,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A trust's policy and keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustOrigin {
    pub policy: SignaturePolicy,
    pub keys: Vec<TrustKey>,
}

/// What a good check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Signed by the key with this id, valid at the event's `recorded_at`.
    Signed { key_id: u32 },
    /// No signature, and the trust's policy allows that.
    Unsigned,
}

/// Why an event's origin does not stand. The ledger dead-letters the event with this reason;
/// an auditor reports it at the record's seq.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginRefusal {
    #[error("unsigned, and {trust}'s policy is signatures = required")]
    Missing { trust: String },
    #[error("signed by key id {key_id:08x}, which is not a key of {trust}")]
    UnknownKey { trust: String, key_id: u32 },
    #[error("bad origin signature (key id {key_id:08x} of {trust})")]
    BadSignature { trust: String, key_id: u32 },
    #[error(
        "signed by key id {key_id:08x} of {trust}, revoked at {revoked_at} (before the event's recorded_at {recorded_at})"
    )]
    Revoked {
        trust: String,
        key_id: u32,
        revoked_at: DateTime<Utc>,
        recorded_at: DateTime<Utc>,
    },
}

/// The trust keys in force: each trust's policy and keys. A trust not listed is `optional`
/// with no keys (so a signature claiming it is refused: no key of it is known).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustKeys {
    trusts: BTreeMap<String, TrustOrigin>,
}

impl TrustKeys {
    pub fn new(trusts: BTreeMap<String, TrustOrigin>) -> Self {
        Self { trusts }
    }

    pub fn is_empty(&self) -> bool {
        self.trusts.is_empty()
    }

    pub fn trusts(&self) -> impl Iterator<Item = (&str, &TrustOrigin)> {
        self.trusts.iter().map(|(t, o)| (t.as_str(), o))
    }

    pub fn policy(&self, trust: &str) -> SignaturePolicy {
        self.trusts.get(trust).map(|o| o.policy).unwrap_or_default()
    }

    /// The one rule: a signature present must be a good signature by a key of `trust` not
    /// revoked at `recorded_at`; none present is fine unless the trust's policy is `required`.
    pub fn check(
        &self,
        trust: &str,
        recorded_at: DateTime<Utc>,
        canonical: &[u8],
        sig: Option<&OriginSignature>,
    ) -> Result<Origin, OriginRefusal> {
        let origin = self.trusts.get(trust);
        let Some(sig) = sig else {
            return match origin.map(|o| o.policy) {
                Some(SignaturePolicy::Required) => Err(OriginRefusal::Missing {
                    trust: trust.to_owned(),
                }),
                _ => Ok(Origin::Unsigned),
            };
        };
        let key_id = sig.key_id;
        let key = origin
            .and_then(|o| o.keys.iter().find(|k| k.key.id == key_id))
            .ok_or_else(|| OriginRefusal::UnknownKey {
                trust: trust.to_owned(),
                key_id,
            })?;
        if !verify_event(&key.key, canonical, sig) {
            return Err(OriginRefusal::BadSignature {
                trust: trust.to_owned(),
                key_id,
            });
        }
        match key.revoked_at {
            Some(revoked_at) if revoked_at <= recorded_at => Err(OriginRefusal::Revoked {
                trust: trust.to_owned(),
                key_id,
                revoked_at,
                recorded_at,
            }),
            _ => Ok(Origin::Signed { key_id }),
        }
    }
}

/// How one trust's events in a history are signed (`golive audit verify --trust-keys`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OriginTally {
    /// Signed by a key of the trust that is not revoked.
    pub signed: u64,
    /// Signed by a key revoked since, before its revocation: the signature still counts.
    pub signed_by_revoked_key: u64,
    /// Not signed (the trust's policy allows it).
    pub unsigned: u64,
}

/// The auditor's origin check of a history: each record's signature against the trust keys
/// in force at its `recorded_at` ([`TrustKeys::check`], the ledger's own rule), tallied per
/// trust. The first refusal is the record's problem.
#[derive(Debug)]
pub struct OriginAudit {
    keys: TrustKeys,
    tally: BTreeMap<String, OriginTally>,
}

/// The fields of an event its origin check needs.
#[derive(serde::Deserialize)]
struct Said {
    trust: String,
    recorded_at: DateTime<Utc>,
}

impl OriginAudit {
    pub fn new(keys: TrustKeys) -> Self {
        Self {
            keys,
            tally: BTreeMap::new(),
        }
    }

    /// Checks one record whose hashes have checked.
    pub fn check(&mut self, r: &crate::ExportRecord<'_>) -> Result<(), crate::Problem> {
        use crate::Kind;
        use crate::export::problem;
        let said: Said = serde_json::from_slice(r.event).map_err(|e| {
            problem(
                r.seq,
                Kind::Malformed,
                format!("the event has no trust or recorded_at: {e}"),
            )
        })?;
        let sig = r
            .origin_signature
            .map(OriginSignature::parse)
            .transpose()
            .map_err(|e| problem(r.seq, Kind::BadOrigin, format!("{e}")))?;
        let origin = self
            .keys
            .check(&said.trust, said.recorded_at, r.event, sig.as_ref())
            .map_err(|refusal| {
                let kind = match refusal {
                    OriginRefusal::Missing { .. } => Kind::MissingOrigin,
                    _ => Kind::BadOrigin,
                };
                problem(r.seq, kind, refusal.to_string())
            })?;
        let tally = self.tally.entry(said.trust).or_default();
        match origin {
            Origin::Unsigned => tally.unsigned += 1,
            Origin::Signed { key_id } => {
                let revoked = self
                    .keys
                    .trusts
                    .values()
                    .flat_map(|o| &o.keys)
                    .any(|k| k.key.id == key_id && k.revoked_at.is_some());
                if revoked {
                    tally.signed_by_revoked_key += 1;
                } else {
                    tally.signed += 1;
                }
            }
        }
        Ok(())
    }

    pub fn into_tally(self) -> BTreeMap<String, OriginTally> {
        self.tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(policy: SignaturePolicy, signer: &NoteSigner, revoked: Option<i64>) -> TrustKeys {
        let key = TrustKey {
            key: signer.verifier(),
            revoked_at: revoked.map(|s| DateTime::from_timestamp(s, 0).unwrap()),
        };
        let origin = TrustOrigin {
            policy,
            keys: vec![key],
        };
        TrustKeys::new([("RAL".to_owned(), origin)].into())
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    #[test]
    fn a_good_signature_passes_and_any_changed_byte_fails() {
        let signer = NoteSigner::from_seed("RAL", [9; 32]).unwrap();
        let k = keys(SignaturePolicy::Required, &signer, None);
        let event = br#"{"event_id":"x"}"#;
        let sig = sign_event(&signer, event);
        assert_eq!(
            k.check("RAL", at(10), event, Some(&sig)),
            Ok(Origin::Signed { key_id: sig.key_id })
        );
        let mut bad = sig;
        bad.signature[7] ^= 1;
        assert!(matches!(
            k.check("RAL", at(10), event, Some(&bad)),
            Err(OriginRefusal::BadSignature { .. })
        ));
        assert!(matches!(
            k.check("RAL", at(10), br#"{"event_id":"y"}"#, Some(&sig)),
            Err(OriginRefusal::BadSignature { .. })
        ));
        // Without the context prefix the same key's signature of the same bytes is refused.
        let plain = OriginSignature {
            key_id: sig.key_id,
            signature: signer.signing_key().sign(event).to_bytes(),
        };
        assert!(k.check("RAL", at(10), event, Some(&plain)).is_err());
    }

    #[test]
    fn policy_decides_unsigned_and_another_trusts_key_is_unknown() {
        let ral = NoteSigner::from_seed("RAL", [1; 32]).unwrap();
        let rrv = NoteSigner::from_seed("RRV", [2; 32]).unwrap();
        let event = b"{}";
        let required = keys(SignaturePolicy::Required, &ral, None);
        assert!(matches!(
            required.check("RAL", at(1), event, None),
            Err(OriginRefusal::Missing { .. })
        ));
        let optional = keys(SignaturePolicy::Optional, &ral, None);
        assert_eq!(
            optional.check("RAL", at(1), event, None),
            Ok(Origin::Unsigned)
        );
        let by_other = sign_event(&rrv, event);
        let e = required
            .check("RAL", at(1), event, Some(&by_other))
            .unwrap_err();
        assert!(matches!(e, OriginRefusal::UnknownKey { .. }), "{e}");
        assert_eq!(
            TrustKeys::default().check("X", at(1), event, None),
            Ok(Origin::Unsigned)
        );
    }

    #[test]
    fn a_revoked_key_counts_only_before_its_revocation() {
        let signer = NoteSigner::from_seed("RAL", [3; 32]).unwrap();
        let k = keys(SignaturePolicy::Required, &signer, Some(100));
        let sig = sign_event(&signer, b"{}");
        assert!(k.check("RAL", at(99), b"{}", Some(&sig)).is_ok());
        assert!(matches!(
            k.check("RAL", at(100), b"{}", Some(&sig)),
            Err(OriginRefusal::Revoked { .. })
        ));
    }

    #[test]
    fn text_and_bytes_round_trip_and_bad_forms_are_named() {
        let signer = NoteSigner::from_seed("RAL", [4; 32]).unwrap();
        let sig = sign_event(&signer, b"{}");
        assert_eq!(OriginSignature::parse(&sig.to_text()), Ok(sig));
        assert_eq!(OriginSignature::from_bytes(&sig.to_bytes()), Ok(sig));
        assert_eq!(
            OriginSignature::parse("AAAA"),
            Err(OriginFormatError::WrongLength(3))
        );
        assert!(matches!(
            OriginSignature::parse("not base64!"),
            Err(OriginFormatError::NotBase64(_))
        ));
    }

    /// An export record of `event` at `seq`, signed with `sig` (its text) or not.
    fn record<'a>(seq: u64, event: &'a [u8], sig: Option<&'a str>) -> crate::ExportRecord<'a> {
        crate::ExportRecord {
            seq,
            prev_hash: [0; 32],
            hash: [0; 32],
            received_at: "2026-01-01T00:00:00Z",
            stream_seq: None,
            origin_signature: sig,
            event,
        }
    }

    #[test]
    fn the_audit_tallies_per_trust_and_names_a_bad_or_missing_signature() {
        // Proves the auditor's check counts signed, signed-by-a-since-revoked-key and unsigned
        // events per trust, and reports a flipped byte, a garbled text and a missing signature
        // under `required` as problems at the record's seq.
        let signer = NoteSigner::from_seed("RAL", [3; 32]).unwrap();
        let event = br#"{"trust":"RAL","recorded_at":"2026-01-01T00:00:00Z"}"#;
        let text = sign_event(&signer, event).to_text();
        let mut audit = OriginAudit::new(keys(SignaturePolicy::Optional, &signer, None));
        audit.check(&record(1, event, Some(&text))).unwrap();
        audit.check(&record(2, event, None)).unwrap();
        let other = br#"{"trust":"RNJ","recorded_at":"2026-01-01T00:00:00Z"}"#;
        audit.check(&record(3, other, None)).unwrap();
        let tally = audit.into_tally();
        assert_eq!(
            tally["RAL"],
            OriginTally {
                signed: 1,
                signed_by_revoked_key: 0,
                unsigned: 1
            }
        );
        assert_eq!(tally["RNJ"].unsigned, 1);
        // Revoked after recorded_at: still good, counted apart.
        let later = at(DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .unwrap()
            .timestamp());
        let mut audit = OriginAudit::new(keys(
            SignaturePolicy::Required,
            &signer,
            Some(later.timestamp()),
        ));
        audit.check(&record(1, event, Some(&text))).unwrap();
        assert_eq!(audit.into_tally()["RAL"].signed_by_revoked_key, 1);
        let mut audit = OriginAudit::new(keys(SignaturePolicy::Required, &signer, None));
        let mut sig = sign_event(&signer, event);
        sig.signature[0] ^= 0x80;
        let p = audit
            .check(&record(5, event, Some(&sig.to_text())))
            .unwrap_err();
        assert_eq!((p.seq, p.kind), (5, crate::Kind::BadOrigin));
        let p = audit.check(&record(6, event, Some("%%%"))).unwrap_err();
        assert_eq!((p.seq, p.kind), (6, crate::Kind::BadOrigin));
        let p = audit.check(&record(7, event, None)).unwrap_err();
        assert_eq!((p.seq, p.kind), (7, crate::Kind::MissingOrigin));
    }
}
