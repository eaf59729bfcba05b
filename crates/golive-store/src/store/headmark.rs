//! The head mark: the durable head (seq and hash) kept in a small file beside sled's own, so
//! that a sled file that lost its end is not mistaken for a shorter ledger.
//!
//! sled recovers what its checksums accept and silently drops the rest: a truncated or
//! damaged file opens as a valid but shorter (or empty) log. The head stored *inside* sled is
//! dropped with it. The mark is outside: it is written after every flush, so at open its seq
//! can never be ahead of sled's durable head unless sled lost records; that is reported as
//! [`StoreError::Corrupt`] naming the missing seqs.
//!
//! Format: two 64-byte slots, written alternately in place, each `magic (8) | seq (8, LE) |
//! hash (32) | checksum (8: the first bytes of SHA-256 of the 48 before) | zero (8)`, and
//! `fdatasync`ed. A write torn by a power cut spoils one slot at most; the valid slot with the
//! higher seq is the mark. Writing a slot in place needs no new disk blocks, so it works on a
//! full disk.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{Head, StoreError};

/// The file's name in the store's directory.
pub const HEAD_MARK_FILE: &str = "golive-head";
const MAGIC: [u8; 8] = *b"GLHEAD01";
const SLOT: usize = 64;

pub(super) struct HeadMark {
    path: PathBuf,
    file: File,
    /// The slot the next write goes to: the one not holding the newest mark.
    next_slot: usize,
}

fn checksum(body: &[u8]) -> [u8; 8] {
    let d = Sha256::digest(body);
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

fn encode(head: &Head) -> [u8; SLOT] {
    let mut s = [0u8; SLOT];
    s[..8].copy_from_slice(&MAGIC);
    s[8..16].copy_from_slice(&head.seq.to_le_bytes());
    s[16..48].copy_from_slice(&head.hash);
    let sum = checksum(&s[..48]);
    s[48..56].copy_from_slice(&sum);
    s
}

fn decode(s: &[u8]) -> Option<Head> {
    if s.len() < 56 || s[..8] != MAGIC || s[48..56] != checksum(&s[..48]) {
        return None;
    }
    let seq = u64::from_le_bytes(s[8..16].try_into().ok()?);
    let hash: [u8; 32] = s[16..48].try_into().ok()?;
    Some(Head { seq, hash })
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The mark as read from its file: the newest valid slot's head, and which slot holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Found {
    pub head: Head,
    slot: usize,
}

impl HeadMark {
    /// Reads the mark in `dir`: `Ok(None)` if the file does not exist, the newest valid slot,
    /// or an error if the file exists but holds no valid slot.
    pub(super) fn read(dir: &Path) -> Result<Option<Found>, StoreError> {
        let path = dir.join(HEAD_MARK_FILE);
        let mut bytes = Vec::new();
        match File::open(&path) {
            Ok(mut f) => {
                f.read_to_end(&mut bytes).map_err(|e| io(&path, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path, e)),
        }
        let newest = bytes
            .chunks(SLOT)
            .take(2)
            .enumerate()
            .filter_map(|(slot, b)| decode(b).map(|head| Found { head, slot }))
            .max_by_key(|f| f.head.seq);
        match newest {
            Some(f) => Ok(Some(f)),
            None => Err(StoreError::CorruptTree {
                tree: "head mark",
                what: format!(
                    "{} holds no valid head record ({} bytes): the file is damaged",
                    path.display(),
                    bytes.len()
                ),
            }),
        }
    }

    /// Opens the mark in `dir` for writing, given what [`HeadMark::read`] found there: creates
    /// it with `head` in both slots (synced, and the directory entry synced) if it was missing;
    /// otherwise writes `head` if it differs from the newest slot.
    pub(super) fn open(
        dir: &Path,
        head: Head,
        found: Option<Found>,
    ) -> Result<HeadMark, StoreError> {
        let path = dir.join(HEAD_MARK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let mut mark = HeadMark {
            path,
            file,
            // Continue with the slot that does not hold the newest mark.
            next_slot: found.map_or(0, |f| 1 - f.slot),
        };
        match found {
            None => {
                let slot = encode(&head);
                let mut both = [0u8; 2 * SLOT];
                both[..SLOT].copy_from_slice(&slot);
                both[SLOT..].copy_from_slice(&slot);
                mark.write_at(0, &both)?;
                // Make the new name durable too, so that a crash cannot leave a store whose
                // sled holds records but whose mark vanished.
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| io(dir, e))?;
            }
            Some(f) if f.head != head => mark.write(head)?,
            Some(_) => {}
        }
        Ok(mark)
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.write_all(bytes))
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io(&path, e))
    }

    /// Records `head` as durable. Call only after sled has flushed it.
    pub(super) fn write(&mut self, head: Head) -> Result<(), StoreError> {
        let slot = self.next_slot;
        self.write_at((slot * SLOT) as u64, &encode(&head))?;
        self.next_slot = 1 - slot;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(seq: u64) -> Head {
        Head {
            seq,
            hash: [seq as u8; 32],
        }
    }

    #[test]
    fn the_newest_valid_slot_wins_and_a_torn_slot_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let newest = |d: &Path| HeadMark::read(d).map(|f| f.map(|f| f.head));
        assert_eq!(newest(dir.path()).unwrap(), None);
        let mut m = HeadMark::open(dir.path(), h(0), None).unwrap();
        assert_eq!(newest(dir.path()).unwrap(), Some(h(0)));
        for s in 1..=5 {
            m.write(h(s)).unwrap();
            assert_eq!(newest(dir.path()).unwrap(), Some(h(s)));
        }
        drop(m);
        // Tear the newest slot (seq 5 went to slot 0): the older one (seq 4) is the mark.
        let p = dir.path().join(HEAD_MARK_FILE);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(newest(dir.path()).unwrap(), Some(h(4)));
        // Reopened, it overwrites the torn slot first.
        let found = HeadMark::read(dir.path()).unwrap();
        let mut m = HeadMark::open(dir.path(), h(6), found).unwrap();
        assert_eq!(newest(dir.path()).unwrap(), Some(h(6)));
        m.write(h(7)).unwrap();
        assert_eq!(newest(dir.path()).unwrap(), Some(h(7)));
        // Both slots spoilt: an error, not "no mark".
        std::fs::write(&p, [0u8; 128]).unwrap();
        assert!(matches!(
            HeadMark::read(dir.path()),
            Err(StoreError::CorruptTree { .. })
        ));
    }
}
