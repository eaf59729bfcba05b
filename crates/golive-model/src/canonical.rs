//! Canonical bytes of an event and the hash chain over the log.

use sha2::{Digest, Sha256};

use crate::envelope::Envelope;

/// A SHA-256 digest in the chain.
pub type ChainHash = [u8; 32];

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: ChainHash = [0u8; 32];

impl Envelope {
    /// Compact JSON in the fixed field order of [`Envelope`]; absent optional fields are left
    /// out, times are RFC 3339 UTC with `Z`. Decoding these bytes gives back an equal envelope.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Serialising plain data (strings, integers, enums) to a Vec cannot fail; if it did,
        // the hash chain would be meaningless, so this is a programmer error.
        serde_json::to_vec(self).expect("an envelope always serialises")
    }
}

/// `SHA-256(prev_hash || seq as 8 bytes big-endian || canonical bytes)`.
pub fn chain_hash(prev_hash: &ChainHash, seq: u64, canonical: &[u8]) -> ChainHash {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(seq.to_be_bytes());
    h.update(canonical);
    h.finalize().into()
}
