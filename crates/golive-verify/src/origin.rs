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

use golive_model::{SignaturesRule, TrustKeyAction, TrustKeyChange};

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
    #[error("a trust_key event must be signed by an admin key ([admin] keys); it is unsigned")]
    AdminMissing,
    #[error("signed by key id {key_id:08x}, which is not an admin key")]
    AdminUnknownKey { key_id: u32 },
    #[error("bad admin signature (key id {key_id:08x})")]
    AdminBadSignature { key_id: u32 },
}

/// Why a `trust_key` event's change cannot be applied to the keys in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyChangeRefusal {
    #[error("{field}: {reason}")]
    BadKey { field: &'static str, reason: String },
    #[error("{key} is not a key of {trust}")]
    UnknownKey { trust: String, key: String },
    #[error("{key} is already revoked at {revoked_at}")]
    AlreadyRevoked {
        key: String,
        revoked_at: DateTime<Utc>,
    },
}

/// The trust keys in force: each trust's policy and keys, and the admin keys that sign
/// `trust_key` events. A trust not listed is `optional` with no keys (so a signature claiming
/// it is refused: no key of it is known).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustKeys {
    trusts: BTreeMap<String, TrustOrigin>,
    admin: Vec<VerifierKey>,
}

impl TrustKeys {
    pub fn new(trusts: BTreeMap<String, TrustOrigin>) -> Self {
        Self {
            trusts,
            admin: Vec::new(),
        }
    }

    /// The admin keys whose signatures make a `trust_key` event stand.
    pub fn with_admin_keys(mut self, admin: Vec<VerifierKey>) -> Self {
        self.admin = admin;
        self
    }

    pub fn admin_keys(&self) -> &[VerifierKey] {
        &self.admin
    }

    /// A `trust_key` event stands only when signed by an admin key: the trust's own key
    /// cannot vouch for a new key of the trust (whoever stole it would add their own).
    pub fn check_admin(
        &self,
        canonical: &[u8],
        sig: Option<&OriginSignature>,
    ) -> Result<u32, OriginRefusal> {
        let sig = sig.ok_or(OriginRefusal::AdminMissing)?;
        let key = self
            .admin
            .iter()
            .find(|k| k.id == sig.key_id)
            .ok_or(OriginRefusal::AdminUnknownKey { key_id: sig.key_id })?;
        if !verify_event(key, canonical, sig) {
            return Err(OriginRefusal::AdminBadSignature { key_id: sig.key_id });
        }
        Ok(sig.key_id)
    }

    /// Applies a `trust_key` event of `trust` to the keys in force. Idempotent: adding a key
    /// already there, or revoking one again from the same time, changes nothing (a replay
    /// of the log applies each change once more onto keys that may hold it already).
    pub fn apply(&mut self, trust: &str, change: &TrustKeyChange) -> Result<(), KeyChangeRefusal> {
        let key = parse_trust_key("data.key", trust, &change.key)?;
        let mut next = self.trusts.get(trust).cloned().unwrap_or_default();
        match change.action {
            TrustKeyAction::Add => add_key(&mut next, key)?,
            TrustKeyAction::Rotate => {
                let old = change.replaces.as_deref().unwrap_or_default();
                let old = parse_trust_key("data.replaces", trust, old)?;
                add_key(&mut next, key)?;
                revoke_key(&mut next, trust, &old, revoked_at(change))?;
            }
            TrustKeyAction::Revoke => revoke_key(&mut next, trust, &key, revoked_at(change))?,
        }
        match change.signatures {
            Some(SignaturesRule::Required) => next.policy = SignaturePolicy::Required,
            Some(SignaturesRule::Optional) => next.policy = SignaturePolicy::Optional,
            None => {}
        }
        self.trusts.insert(trust.to_owned(), next);
        Ok(())
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
    /// `trust_key` events about the trust, each signed by an admin key.
    pub key_changes: u64,
}

/// The auditor's origin check of a history: each record's signature against the trust keys
/// in force at that record ([`TrustKeys::check`], the ledger's own rule), tallied per trust.
/// A `trust_key` record must carry an admin signature and then changes the keys in force
/// for the records after it, as it did in the ledger. The first refusal is the record's
/// problem.
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
    #[serde(default)]
    kind: String,
    #[serde(default)]
    data: Option<Box<serde_json::value::RawValue>>,
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
        if said.kind == golive_model::Kind::TrustKey.as_str() {
            return self.key_change(r, &said, sig.as_ref());
        }
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
        let revoked = match origin {
            Origin::Signed { key_id } => self.keys.trusts.get(&said.trust).is_some_and(|o| {
                o.keys
                    .iter()
                    .any(|k| k.key.id == key_id && k.revoked_at.is_some())
            }),
            Origin::Unsigned => false,
        };
        let tally = self.tally.entry(said.trust).or_default();
        match (origin, revoked) {
            (Origin::Unsigned, _) => tally.unsigned += 1,
            (Origin::Signed { .. }, true) => tally.signed_by_revoked_key += 1,
            (Origin::Signed { .. }, false) => tally.signed += 1,
        }
        Ok(())
    }

    /// A `trust_key` record: its admin signature, then its change to the keys in force.
    fn key_change(
        &mut self,
        r: &crate::ExportRecord<'_>,
        said: &Said,
        sig: Option<&OriginSignature>,
    ) -> Result<(), crate::Problem> {
        use crate::Kind;
        use crate::export::problem;
        self.keys.check_admin(r.event, sig).map_err(|refusal| {
            let kind = match refusal {
                OriginRefusal::AdminMissing => Kind::MissingOrigin,
                _ => Kind::BadOrigin,
            };
            problem(r.seq, kind, refusal.to_string())
        })?;
        let change: TrustKeyChange = said
            .data
            .as_deref()
            .map(|d| serde_json::from_str(d.get()))
            .transpose()
            .ok()
            .flatten()
            .ok_or_else(|| problem(r.seq, Kind::Malformed, "a trust_key event with no change"))?;
        self.keys
            .apply(&said.trust, &change)
            .map_err(|e| problem(r.seq, Kind::BadOrigin, format!("trust_key: {e}")))?;
        self.tally
            .entry(said.trust.clone())
            .or_default()
            .key_changes += 1;
        Ok(())
    }

    /// The keys in force after the records checked so far.
    pub fn keys(&self) -> &TrustKeys {
        &self.keys
    }

    pub fn into_tally(self) -> BTreeMap<String, OriginTally> {
        self.tally
    }
}

fn parse_trust_key(
    field: &'static str,
    trust: &str,
    text: &str,
) -> Result<VerifierKey, KeyChangeRefusal> {
    let bad = |reason: String| KeyChangeRefusal::BadKey { field, reason };
    let key = VerifierKey::parse(text).map_err(|e| bad(format!("{text:?}: {e}")))?;
    if key.name != trust {
        return Err(bad(format!("{text:?} is named {}, not {trust}", key.name)));
    }
    Ok(key)
}

/// The model's validation holds `revoked_at` present for `rotate` and `revoke`.
fn revoked_at(change: &TrustKeyChange) -> DateTime<Utc> {
    change
        .revoked_at
        .expect("a validated rotate or revoke names revoked_at")
}

fn add_key(origin: &mut TrustOrigin, key: VerifierKey) -> Result<(), KeyChangeRefusal> {
    match origin.keys.iter().find(|k| k.key == key) {
        Some(TrustKey {
            revoked_at: Some(at),
            ..
        }) => Err(KeyChangeRefusal::AlreadyRevoked {
            key: key.to_string(),
            revoked_at: *at,
        }),
        Some(_) => Ok(()),
        None => {
            origin.keys.push(TrustKey {
                key,
                revoked_at: None,
            });
            Ok(())
        }
    }
}

fn revoke_key(
    origin: &mut TrustOrigin,
    trust: &str,
    key: &VerifierKey,
    at: DateTime<Utc>,
) -> Result<(), KeyChangeRefusal> {
    let known = origin
        .keys
        .iter_mut()
        .find(|k| k.key == *key)
        .ok_or_else(|| KeyChangeRefusal::UnknownKey {
            trust: trust.to_owned(),
            key: key.to_string(),
        })?;
    match known.revoked_at {
        Some(earlier) if earlier != at => Err(KeyChangeRefusal::AlreadyRevoked {
            key: key.to_string(),
            revoked_at: earlier,
        }),
        _ => {
            known.revoked_at = Some(at);
            Ok(())
        }
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
                unsigned: 1,
                key_changes: 0,
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

    /// A `trust_key` event of RAL as the export carries it: its canonical bytes.
    fn key_event(action: &str, key: &str, extra: &str, at: &str) -> Vec<u8> {
        format!(
            r#"{{"trust":"RAL","recorded_at":"{at}","kind":"trust_key","data":{{"action":"{action}","key":"{key}"{extra}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn key_changes_in_the_log_need_an_admin_signature_and_change_the_keys_after_them() {
        // Proves the auditor takes a trust's keys from the log: an admin-signed add makes the
        // trust's later signatures count, a revocation stops those recorded from its date, and
        // a key change that is unsigned or signed by the trust's own key is a problem.
        let admin = NoteSigner::from_seed("golive-admin", [7; 32]).unwrap();
        let ral = NoteSigner::from_seed("RAL", [8; 32]).unwrap();
        let keys = TrustKeys::default().with_admin_keys(vec![admin.verifier()]);
        let mut audit = OriginAudit::new(keys);
        let event = br#"{"trust":"RAL","recorded_at":"2026-03-01T00:00:00Z","kind":"outage"}"#;
        let signed = sign_event(&ral, event).to_text();
        // Before its key is in the log, RAL's signature is of an unknown key.
        let p = audit.check(&record(1, event, Some(&signed))).unwrap_err();
        assert_eq!((p.seq, p.kind), (1, crate::Kind::BadOrigin));
        let pubkey = ral.verifier().to_string();
        let add = key_event("add", &pubkey, "", "2026-02-01T00:00:00Z");
        // Unsigned, and signed by the trust itself: refused.
        let p = audit.check(&record(2, &add, None)).unwrap_err();
        assert_eq!((p.seq, p.kind), (2, crate::Kind::MissingOrigin));
        let by_trust = sign_event(&ral, &add).to_text();
        let p = audit.check(&record(2, &add, Some(&by_trust))).unwrap_err();
        assert_eq!(p.kind, crate::Kind::BadOrigin, "{}", p.detail);
        let by_admin = sign_event(&admin, &add).to_text();
        audit.check(&record(2, &add, Some(&by_admin))).unwrap();
        audit.check(&record(3, event, Some(&signed))).unwrap();
        let revoke = key_event(
            "revoke",
            &pubkey,
            r#","revoked_at":"2026-04-01T00:00:00Z""#,
            "2026-05-01T00:00:00Z",
        );
        let by_admin = sign_event(&admin, &revoke).to_text();
        audit.check(&record(4, &revoke, Some(&by_admin))).unwrap();
        // Recorded before the revocation: still counts, as signed by a key revoked since.
        audit.check(&record(5, event, Some(&signed))).unwrap();
        let late = br#"{"trust":"RAL","recorded_at":"2026-04-02T00:00:00Z","kind":"outage"}"#;
        let late_sig = sign_event(&ral, late).to_text();
        let p = audit.check(&record(6, late, Some(&late_sig))).unwrap_err();
        assert!(p.detail.contains("revoked at"), "{}", p.detail);
        let tally = audit.into_tally();
        assert_eq!(tally["RAL"].key_changes, 2);
        assert_eq!(tally["RAL"].signed, 1);
        assert_eq!(tally["RAL"].signed_by_revoked_key, 1);
    }

    #[test]
    fn applying_changes_is_idempotent_and_refuses_what_does_not_fit() {
        let old = NoteSigner::from_seed("RAL", [1; 32]).unwrap().verifier();
        let new = NoteSigner::from_seed("RAL", [2; 32]).unwrap().verifier();
        let other = NoteSigner::from_seed("RRV", [3; 32]).unwrap().verifier();
        let change =
            |action, key: &VerifierKey, replaces: Option<&VerifierKey>, at: Option<i64>| {
                TrustKeyChange {
                    action,
                    key: key.to_string(),
                    replaces: replaces.map(ToString::to_string),
                    revoked_at: at.map(|s| DateTime::from_timestamp(s, 0).unwrap()),
                    signatures: Some(SignaturesRule::Required),
                }
            };
        let mut keys = TrustKeys::default();
        let add = change(TrustKeyAction::Add, &old, None, None);
        keys.apply("RAL", &add).unwrap();
        keys.apply("RAL", &add).unwrap();
        assert_eq!(keys.trusts["RAL"].keys.len(), 1);
        assert_eq!(keys.policy("RAL"), SignaturePolicy::Required);
        let rotate = change(TrustKeyAction::Rotate, &new, Some(&old), Some(100));
        keys.apply("RAL", &rotate).unwrap();
        keys.apply("RAL", &rotate).unwrap();
        let ral = &keys.trusts["RAL"];
        assert_eq!(ral.keys.len(), 2);
        assert_eq!(ral.keys[0].revoked_at.map(|t| t.timestamp()), Some(100));
        // Revoked again from another time; re-adding a revoked key; another trust's key;
        // revoking a key the trust never had.
        let e = keys
            .apply("RAL", &change(TrustKeyAction::Revoke, &old, None, Some(50)))
            .unwrap_err();
        assert!(matches!(e, KeyChangeRefusal::AlreadyRevoked { .. }), "{e}");
        let e = keys.apply("RAL", &add).unwrap_err();
        assert!(matches!(e, KeyChangeRefusal::AlreadyRevoked { .. }), "{e}");
        let e = keys
            .apply("RAL", &change(TrustKeyAction::Add, &other, None, None))
            .unwrap_err();
        assert!(matches!(e, KeyChangeRefusal::BadKey { .. }), "{e}");
        let e = keys
            .apply(
                "RRV",
                &change(TrustKeyAction::Revoke, &other, None, Some(1)),
            )
            .unwrap_err();
        assert!(matches!(e, KeyChangeRefusal::UnknownKey { .. }), "{e}");
    }
}
