//! The keys and value framing of the `ledger` tree (see the crate docs for why it looks so).
//!
//! | key | value |
//! | --- | --- |
//! | `H` | head: seq (u64 BE) then hash (32 bytes) |
//! | `L` + first seq (u64 BE) | log chunk: records of consecutive seqs from `first`, each framed as its length (u32 BE) then its [`crate::codec`] bytes |
//! | `I` + first seq (u64 BE) | id block of the chunk with the same first seq: its records' 16-byte event ids, in seq order |
//! | `C` + collector id (UTF-8) | highest `collector_seq` appended from that collector (u64 BE) |
//! | `S` + event id (16 bytes) | seq of the correction that superseded that event (u64 BE) |
//! | `T` + level (1 byte) + tile index (u64 BE) | a full tile: 256 hashes of Merkle tree level 8 x level |

use std::path::Path;

use sled::{IVec, Tree};

use crate::error::StoreError;
use crate::store::sled_error;

/// Name of the tree that holds everything an append changes.
pub(crate) const TREE: &str = "ledger";
/// Key of the head.
pub(crate) const HEAD: &[u8] = b"H";
/// Prefix of log chunks.
pub(crate) const LOG: u8 = b'L';
/// Prefix of id blocks.
pub(crate) const IDS: u8 = b'I';
/// Prefix of collector receipts.
pub(crate) const COLLECTOR: u8 = b'C';
/// Prefix of superseded events.
pub(crate) const SUPERSEDED: u8 = b'S';
/// Prefix of Merkle tree tiles (`T` + stored level + tile index; see `store::merkle`).
pub(crate) const TILE: u8 = b'T';
/// Bytes of the length in front of each record of a chunk.
pub(crate) const FRAME_LEN_BYTES: usize = 4;
/// Bytes of one event id in an id block.
pub(crate) const ID_BYTES: usize = 16;

/// `prefix` + `seq` big-endian: the key of a chunk or an id block.
pub(crate) fn seq_key(prefix: u8, seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = prefix;
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// `S` + event id.
pub(crate) fn superseded_key(id: &[u8; ID_BYTES]) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = SUPERSEDED;
    k[1..].copy_from_slice(id);
    k
}

/// `C` + collector id.
pub(crate) fn collector_key(collector: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + collector.len());
    k.push(COLLECTOR);
    k.extend_from_slice(collector.as_bytes());
    k
}

/// The seq of a chunk or id block key.
pub(crate) fn key_seq(key: &[u8]) -> Result<u64, StoreError> {
    let arr: [u8; 8] = key
        .get(1..)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| StoreError::CorruptTree {
            tree: TREE,
            what: format!(
                "a key under prefix {:?} is {} bytes, expected 9",
                key.first().map(|b| *b as char),
                key.len()
            ),
        })?;
    Ok(u64::from_be_bytes(arr))
}

/// Every key with `prefix` followed by a seq, in seq order.
pub(crate) fn seq_range(tree: &Tree, prefix: u8) -> sled::Iter {
    tree.range(seq_key(prefix, 0)..=seq_key(prefix, u64::MAX))
}

/// The chunk holding `seq`, if any: the last chunk that starts at or before it. The chunk
/// may end before `seq`; [`Frames`] tells.
pub(crate) fn chunk_at_or_before(
    path: &Path,
    tree: &Tree,
    seq: u64,
) -> Result<Option<(u64, IVec)>, StoreError> {
    match tree.range(seq_key(LOG, 0)..=seq_key(LOG, seq)).next_back() {
        None => Ok(None),
        Some(entry) => {
            let (k, v) = entry.map_err(|e| sled_error(path, e))?;
            Ok(Some((key_seq(&k)?, v)))
        }
    }
}

/// Appends one framed record to `chunk`: a length placeholder, then whatever `encode` appends,
/// then the length is filled in. Returns the record's length.
pub(crate) fn push_frame<E>(
    chunk: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<usize, E> {
    let at = chunk.len();
    chunk.extend_from_slice(&[0u8; FRAME_LEN_BYTES]);
    encode(chunk)?;
    let len = chunk.len() - at - FRAME_LEN_BYTES;
    // The caller bounds records far below 4 GiB (codec::DECODE_BYTES_MAX).
    let len32 = u32::try_from(len).unwrap_or(u32::MAX);
    chunk[at..at + FRAME_LEN_BYTES].copy_from_slice(&len32.to_be_bytes());
    Ok(len)
}

/// The records of a chunk with their seqs. A framing error names the seq whose frame is bad
/// and ends the iteration.
pub(crate) struct Frames<'a> {
    bytes: &'a [u8],
    pos: usize,
    seq: u64,
}

impl<'a> Frames<'a> {
    pub(crate) fn new(bytes: &'a [u8], first_seq: u64) -> Self {
        Self {
            bytes,
            pos: 0,
            seq: first_seq,
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    /// `(seq, record bytes)`, or `(seq, what is wrong)`.
    type Item = Result<(u64, &'a [u8]), (u64, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.pos..).filter(|r| !r.is_empty())?;
        let seq = self.seq;
        let Some((len, body)) = rest.split_first_chunk::<FRAME_LEN_BYTES>() else {
            self.pos = self.bytes.len();
            return Some(Err((
                seq,
                format!(
                    "{} stray bytes at the end of its log chunk where a record length should be",
                    rest.len()
                ),
            )));
        };
        let len = u32::from_be_bytes(*len) as usize;
        let Some(record) = body.get(..len) else {
            self.pos = self.bytes.len();
            return Some(Err((
                seq,
                format!(
                    "its length {len} runs past the end of its log chunk ({} bytes left)",
                    body.len()
                ),
            )));
        };
        self.pos += FRAME_LEN_BYTES + len;
        self.seq += 1;
        Some(Ok((seq, record)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_name_the_seq_of_a_bad_frame() {
        // Proves records framed by push_frame come back with consecutive seqs, and that a cut
        // length or a cut body is reported at the seq of the frame concerned.
        let mut chunk = Vec::new();
        for body in [&b"abc"[..], b"", b"xy"] {
            push_frame::<()>(&mut chunk, |c| {
                c.extend_from_slice(body);
                Ok(())
            })
            .unwrap();
        }
        let got: Vec<_> = Frames::new(&chunk, 7).collect();
        assert_eq!(
            got,
            vec![Ok((7, &b"abc"[..])), Ok((8, &b""[..])), Ok((9, &b"xy"[..]))]
        );
        let cut_body: Vec<_> = Frames::new(&chunk[..chunk.len() - 1], 7).collect();
        assert!(matches!(cut_body[2], Err((9, _))), "{cut_body:?}");
        let cut_len: Vec<_> = Frames::new(&chunk[..9], 7).collect();
        assert_eq!(cut_len.len(), 2);
        assert!(matches!(&cut_len[1], Err((8, what)) if what.contains("stray")));
        assert_eq!(Frames::new(&[], 1).count(), 0);
    }
}
