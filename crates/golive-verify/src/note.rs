//! Signed checkpoints in the C2SP formats `tlog-checkpoint` and `signed-note`, so that tools
//! written for transparency logs can read them.
//!
//! A checkpoint note looks like this (`\n` ends every line):
//!
//! ```text
//! golive.ledger/main                          <- origin: names the log
//! 1000                                        <- tree size in decimal
//! 3QD5qSEPY1SLj9uQVbfVn3CjhXDd8nbSjOSyDeBoTtw= <- root hash, standard base64
//! time 2026-01-02T03:04:05Z                   <- extension line: when it was signed
//!                                             <- blank line: the signatures follow
//! — golive.ledger/main Ab3xQ...               <- em dash, key name, base64(key id || signature)
//! ```
//!
//! The signature is Ed25519 over the note text: every byte up to and including the newline
//! before the blank line. The key id is the first 4 bytes of
//! `SHA-256(key name || 0x0A || 0x01 || public key)`, where `0x01` names Ed25519. A verifier key
//! is written `<name>+<key id in 8 hex digits>+<base64(0x01 || public key)>`, and the signing
//! key file `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || 32-byte seed)>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The signature algorithm byte of Ed25519 in signed notes.
pub const ALG_ED25519: u8 = 0x01;

/// Largest note this code reads: a checkpoint is a few hundred bytes.
pub const NOTE_BYTES_MAX: usize = 16 * 1024;

/// The em dash and space that open a signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note or key could not be read, or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed key: {0}")]
    BadKey(String),
    #[error("malformed note: {0}")]
    Malformed(String),
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(String),
    #[error("no signature by key {name} (key id {id:08x}) on the note")]
    NoSignature { name: String, id: u32 },
    #[error(
        "the signature by key {name} does not verify: the note was changed or signed by another key"
    )]
    BadSignature { name: String },
}

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A key name is non-empty and has no `+`, whitespace or control characters.
fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c.is_control())
    {
        return Err(NoteError::BadKey(format!(
            "key name {name:?} must be non-empty without '+' or spaces"
        )));
    }
    Ok(())
}

/// A public key that checks notes: `<name>+<hex key id>+<base64(0x01 || key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Reads the text form. The key id must match the name and key (a typo is caught here).
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let text = text.trim();
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey(
                "expected <name>+<key id>+<base64 key>".to_owned(),
            ));
        };
        check_name(name)?;
        let id = u32::from_str_radix(id, 16)
            .ok()
            .filter(|_| id.len() == 8)
            .ok_or_else(|| NoteError::BadKey(format!("key id {id:?} is not 8 hex digits")))?;
        let bytes = B64
            .decode(key)
            .map_err(|e| NoteError::BadKey(format!("key is not base64: {e}")))?;
        let public: [u8; 32] = match bytes.split_first() {
            Some((&ALG_ED25519, rest)) => rest
                .try_into()
                .map_err(|_| NoteError::BadKey("an Ed25519 key is 32 bytes".to_owned()))?,
            _ => {
                return Err(NoteError::BadKey(
                    "only Ed25519 keys (algorithm byte 0x01) are supported".to_owned(),
                ));
            }
        };
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|e| NoteError::BadKey(format!("not an Ed25519 public key: {e}")))?;
        if key_id(name, &public) != id {
            return Err(NoteError::BadKey(format!(
                "key id {id:08x} does not match the name and key"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }
}

impl VerifierKey {
    /// The Ed25519 key itself, for signatures that are not notes (`origin::verify_event`).
    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut bytes = vec![ALG_ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(bytes))
    }
}

/// The private half: signs notes under a key name.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed (the caller draws it from the OS's random source).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| NoteError::BadKey("expected PRIVATE+KEY+...".to_owned()))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey(
                "expected PRIVATE+KEY+<name>+<key id>+<base64 key>".to_owned(),
            ));
        };
        let bytes = B64
            .decode(key)
            .map_err(|e| NoteError::BadKey(format!("key is not base64: {e}")))?;
        let seed: [u8; 32] = match bytes.split_first() {
            Some((&ALG_ED25519, rest)) => rest
                .try_into()
                .map_err(|_| NoteError::BadKey("an Ed25519 seed is 32 bytes".to_owned()))?,
            _ => {
                return Err(NoteError::BadKey(
                    "only Ed25519 keys are supported".to_owned(),
                ));
            }
        };
        let signer = Self::from_seed(name, seed)?;
        if format!("{:08x}", signer.verifier().id) != id {
            return Err(NoteError::BadKey(format!(
                "key id {id} does not match the name and key"
            )));
        }
        Ok(signer)
    }

    /// The text form of the private key, for the key file.
    pub fn to_private_text(&self) -> String {
        let mut bytes = vec![ALG_ED25519];
        bytes.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.verifier().id,
            B64.encode(bytes)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Ed25519 key itself, for signatures that are not notes (`origin::sign_event`).
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public key that checks this signer's notes.
    pub fn verifier(&self) -> VerifierKey {
        let key = self.key.verifying_key();
        VerifierKey {
            name: self.name.clone(),
            id: key_id(&self.name, key.as_bytes()),
            key,
        }
    }

    /// Signs `text` (which must end with a newline) and returns the whole signed note.
    pub fn sign(&self, text: &str) -> String {
        assert!(text.ends_with('\n'), "note text must end with a newline");
        let sig = self.key.sign(text.as_bytes());
        let mut blob = self.verifier().id.to_be_bytes().to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        format!("{text}\n{SIG_PREFIX}{} {}\n", self.name, B64.encode(blob))
    }
}

/// Checks `note` carries a valid signature by `key` and returns its text (up to and including
/// the newline before the blank line). Signatures by other keys are ignored, as the spec asks.
pub fn open_note<'a>(note: &'a str, key: &VerifierKey) -> Result<&'a str, NoteError> {
    if note.len() > NOTE_BYTES_MAX {
        return Err(NoteError::Malformed(format!(
            "{} bytes, more than {NOTE_BYTES_MAX}",
            note.len()
        )));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| NoteError::Malformed("no blank line before the signatures".to_owned()))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if !sigs.ends_with('\n') {
        return Err(NoteError::Malformed(
            "the last signature line does not end with a newline".to_owned(),
        ));
    }
    for line in sigs.lines() {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
            NoteError::Malformed(format!("signature line {line:?} does not start with '— '"))
        })?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| NoteError::Malformed(format!("signature line {line:?}")))?;
        let blob = B64
            .decode(b64)
            .map_err(|e| NoteError::Malformed(format!("signature is not base64: {e}")))?;
        if blob.len() < 4 || name != key.name || blob[..4] != key.id.to_be_bytes() {
            continue;
        }
        let sig: [u8; 64] = blob[4..]
            .try_into()
            .map_err(|_| NoteError::BadSignature { name: name.into() })?;
        return key
            .key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
            .map(|()| text)
            .map_err(|_| NoteError::BadSignature { name: name.into() });
    }
    Err(NoteError::NoSignature {
        name: key.name.clone(),
        id: key.id,
    })
}

/// The body of a `tlog-checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Extension lines after the root hash, without their newlines (here: `time <RFC 3339>`).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extension lines, each ending with a newline.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Reads a note text (as returned by [`open_note`]).
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let bad = |what: &str| NoteError::BadCheckpoint(what.to_owned());
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("the text does not end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no origin line"))?;
        let size = lines.next().ok_or_else(|| bad("no tree size line"))?;
        if size.is_empty() || (size.len() > 1 && size.starts_with('0')) {
            return Err(bad(
                "the tree size is not a decimal number without leading zeros",
            ));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| bad("the tree size is not a number"))?;
        let root = lines.next().ok_or_else(|| bad("no root hash line"))?;
        let root: Hash = B64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("the root hash is not 32 bytes of base64"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("an empty extension line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The `time` extension, if there is one.
    pub fn time(&self) -> Option<&str> {
        self.extensions.iter().find_map(|e| e.strip_prefix("time "))
    }
}

/// Checks the signature by `key` and reads the checkpoint inside.
pub fn verify_checkpoint(note: &str, key: &VerifierKey) -> Result<Checkpoint, NoteError> {
    Checkpoint::parse(open_note(note, key)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "golive.ledger/test".to_owned(),
            size: 42,
            root: [7u8; 32],
            extensions: vec!["time 2026-01-02T03:04:05Z".to_owned()],
        }
    }

    #[test]
    fn a_signed_checkpoint_round_trips_and_any_change_breaks_it() {
        // Proves sign -> verify gives back the checkpoint, keys round-trip through their text
        // forms, and that changing the text, or checking with another key, is refused.
        let signer = NoteSigner::from_seed("golive.ledger/test", [1u8; 32]).unwrap();
        let key = VerifierKey::parse(&signer.verifier().to_string()).unwrap();
        assert_eq!(key, signer.verifier());
        let again = NoteSigner::parse(&signer.to_private_text()).unwrap();
        assert_eq!(again.verifier(), key);
        let note = signer.sign(&checkpoint().to_text());
        assert!(note.contains("\n\n\u{2014} golive.ledger/test "));
        assert_eq!(verify_checkpoint(&note, &key).unwrap(), checkpoint());
        assert_eq!(checkpoint().time(), Some("2026-01-02T03:04:05Z"));

        let changed = note.replacen("\n42\n", "\n43\n", 1);
        assert!(matches!(
            verify_checkpoint(&changed, &key),
            Err(NoteError::BadSignature { .. })
        ));
        let other = NoteSigner::from_seed("golive.ledger/test", [2u8; 32]).unwrap();
        let forged = other.sign(&checkpoint().to_text());
        assert!(matches!(
            verify_checkpoint(&forged, &key),
            Err(NoteError::NoSignature { .. })
        ));
    }

    #[test]
    fn key_ids_follow_the_signed_note_spec() {
        // Proves the key id is the first 4 bytes of SHA-256(name || "\n" || 0x01 || key),
        // computed here independently, and that a key with a wrong id is refused.
        let signer = NoteSigner::from_seed("example.com/log", [9u8; 32]).unwrap();
        let vk = signer.verifier();
        let mut data = b"example.com/log\n\x01".to_vec();
        data.extend_from_slice(vk.key.as_bytes());
        let d = Sha256::digest(&data);
        assert_eq!(vk.id.to_be_bytes(), [d[0], d[1], d[2], d[3]]);
        let text = vk.to_string();
        let wrong = text.replacen(&format!("+{:08x}+", vk.id), "+00000000+", 1);
        assert!(VerifierKey::parse(&wrong).is_err());
    }
}
