//! # golive-verify
//!
//! Everything an auditor needs to check a Go-Live Ledger history without trusting its operator,
//! and nothing else: it depends on the event model and the crypto crates only (no sled, no NATS,
//! no service), and is meant to be read in an hour. Start with `docs/AUDIT.md`.
//!
//! - [`merkle`]: the RFC 9162 Merkle tree over the log (leaf data = each record's chain hash)
//!   and the verification of inclusion and consistency proofs, written as the RFC's steps.
//! - [`note`]: signed checkpoints in the C2SP `tlog-checkpoint` / `signed-note` text formats,
//!   Ed25519 keys in the signed-note key formats.
//! - [`export`]: the JSONL export file and the streaming [`Verifier`] that recomputes every
//!   chain hash and the tree, checks every checkpoint's signature, root and consistency, and
//!   names the first bad sequence and what is wrong with it.
//! - [`origin`]: a trust's Ed25519 signature of each event it reports, and the one rule
//!   ([`TrustKeys::check`]) the ledger and the auditor both apply to it.
//!
//! Design decision: the tree's leaves are the records' chain hashes, not their bytes. The chain
//! hash already commits to the seq, the previous hash and the canonical bytes, so the tree
//! commits to the whole history with fixed-size leaves; the ledger can keep the tree beside the
//! log for 32 bytes per event, and a verifier recomputes each leaf from the exported record.

pub mod export;
pub mod merkle;
pub mod note;
pub mod origin;

pub use export::{
    CheckpointEntry, CheckpointLine, ExportRecord, Header, Kind, Line, Outcome, Problem, Start,
    Verified, Verifier, parse_line, verify_export, verify_export_with, write_record_line,
};
pub use merkle::{
    EMPTY_ROOT, Frontier, Hash, ProofError, consistency_path, inclusion_path, leaf_hash, node_hash,
    root_of, verify_consistency, verify_inclusion,
};
pub use note::{Checkpoint, NoteError, NoteSigner, VerifierKey, open_note, verify_checkpoint};
pub use origin::{
    KeyChangeRefusal, ORIGIN_SIGNATURE_BYTES, Origin, OriginAudit, OriginFormatError,
    OriginRefusal, OriginSignature, OriginTally, SIGNATURE_HEADER, SIGNING_CONTEXT,
    SignaturePolicy, TrustKey, TrustKeys, TrustOrigin, sign_event, signed_message, verify_event,
};

/// The leaf hash of the record whose chain hash is `chain_hash`.
pub fn record_leaf(chain_hash: &golive_model::ChainHash) -> Hash {
    leaf_hash(chain_hash)
}

/// Lowercase hex, as hashes are written in exports and the HTTP API.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// 32 bytes from 64 hex digits (either case), or `None`.
pub fn from_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_bad_input() {
        // Proves the hand-written hex helpers agree with each other and refuse wrong lengths
        // and non-hex characters.
        let h: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        assert_eq!(from_hex32(&to_hex(&h)), Some(h));
        assert_eq!(from_hex32(&to_hex(&h).to_uppercase()), Some(h));
        assert_eq!(from_hex32("00"), None);
        assert_eq!(from_hex32(&"g".repeat(64)), None);
    }
}
