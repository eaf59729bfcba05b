//! The outbox's head mark: which chunk files hold the outbox and how much of the newest one
//! was made durable, kept in a small file (`outbox-head`) so that a chunk file that lost its
//! end, or a chunk that vanished, is refused at open instead of being read as a shorter outbox.
//!
//! Format: two 64-byte slots, written alternately in place and `fdatasync`ed, each
//! `magic "GLOBXH02" (8) | generation (8) | oldest chunk (8) | next chunk (8) | newest chunk's
//! durable length (8) | next seq (8) | checksum (8: the first bytes of SHA-256 of the 48 before)
//! | zero (8)`, integers big-endian. A write torn by a power cut spoils one slot at most; the
//! valid slot with the higher generation is the mark. The ledger's store keeps a mark of the
//! same shape (crates/golive-store/src/store/headmark.rs) for its own head.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::CollectError;

/// The file's name in the outbox's directory.
pub const HEAD_FILE: &str = "outbox-head";
const MAGIC: [u8; 8] = *b"GLOBXH02";
const SLOT: usize = 64;

/// What the mark records at a flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    /// Counts the writes: the valid slot with the higher one is the mark.
    pub generation: u64,
    /// The first chunk that holds events; every id from it to `next_chunk - 1` must exist.
    pub oldest_chunk: u64,
    /// One past the newest chunk.
    pub next_chunk: u64,
    /// Bytes of chunk `next_chunk - 1` that were synced before this mark was written.
    pub newest_len: u64,
    /// The seq the next new entry gets.
    pub next_seq: u64,
}

fn checksum(body: &[u8]) -> [u8; 8] {
    let d = Sha256::digest(body);
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// The slot bytes of `h`.
pub fn encode(h: &Head) -> [u8; SLOT] {
    let mut s = [0u8; SLOT];
    s[..8].copy_from_slice(&MAGIC);
    let fields = [
        h.generation,
        h.oldest_chunk,
        h.next_chunk,
        h.newest_len,
        h.next_seq,
    ];
    for (i, v) in fields.iter().enumerate() {
        s[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_be_bytes());
    }
    let sum = checksum(&s[..48]);
    s[48..56].copy_from_slice(&sum);
    s
}

fn decode(s: &[u8]) -> Option<Head> {
    if s.len() < 56 || s[..8] != MAGIC || s[48..56] != checksum(&s[..48]) {
        return None;
    }
    let at = |i: usize| u64::from_be_bytes(s[8 + 8 * i..16 + 8 * i].try_into().expect("8"));
    Some(Head {
        generation: at(0),
        oldest_chunk: at(1),
        next_chunk: at(2),
        newest_len: at(3),
        next_seq: at(4),
    })
}

/// The mark file, open for writing.
pub struct HeadFile {
    path: PathBuf,
    file: File,
    next_slot: usize,
}

fn io(path: &Path, source: std::io::Error) -> CollectError {
    CollectError::OutboxIo {
        path: path.to_owned(),
        source,
    }
}

impl HeadFile {
    /// Reads the mark in `dir` and the slot holding it: `Ok(None)` if there is no file; an
    /// error naming the file if it exists but holds no valid slot.
    pub fn read(dir: &Path) -> Result<Option<(Head, usize)>, CollectError> {
        let path = dir.join(HEAD_FILE);
        let mut bytes = Vec::new();
        match File::open(&path) {
            Ok(mut f) => f.read_to_end(&mut bytes).map_err(|e| io(&path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path, e)),
        };
        let newest = bytes
            .chunks(SLOT)
            .take(2)
            .enumerate()
            .filter_map(|(slot, b)| decode(b).map(|h| (h, slot)))
            .max_by_key(|(h, _)| h.generation);
        match newest {
            Some(h) => Ok(Some(h)),
            None => Err(CollectError::OutboxDamaged {
                path: dir.to_owned(),
                what: format!(
                    "{} holds no valid head record ({} bytes)",
                    path.display(),
                    bytes.len()
                ),
            }),
        }
    }

    /// Opens (or creates) the mark file of `dir`; the first write goes to the slot that does
    /// not hold the newest mark (`newest_slot`, from [`HeadFile::read`]).
    pub fn open(dir: &Path, newest_slot: Option<usize>) -> Result<Self, CollectError> {
        let path = dir.join(HEAD_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        Ok(Self {
            path,
            file,
            next_slot: newest_slot.map_or(0, |s| 1 - s),
        })
    }

    /// Writes `h` (whose generation must be one above the last) and syncs it.
    pub fn write(&mut self, h: &Head) -> Result<(), CollectError> {
        let offset = (self.next_slot * SLOT) as u64;
        self.file
            .write_all_at(&encode(h), offset)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io(&self.path, e))?;
        self.next_slot = 1 - self.next_slot;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(generation: u64) -> Head {
        Head {
            generation,
            oldest_chunk: 2,
            next_chunk: 5,
            newest_len: 4096 + generation,
            next_seq: 77,
        }
    }

    #[test]
    fn the_slot_layout_is_pinned() {
        // Proves the head record's bytes do not change by accident.
        let hex: String = encode(&h(1)).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&hex[..16], "474c4f4258483032");
        assert_eq!(
            &hex[16..96],
            "0000000000000001000000000000000200000000000000050000000000001001000000000000004d"
        );
        assert_eq!(decode(&encode(&h(1))), Some(h(1)));
    }

    #[test]
    fn the_newest_valid_slot_wins_and_a_torn_slot_is_ignored() {
        // Proves alternate slots, the higher generation winning, a torn slot falling back to
        // the other, and a file with no valid slot being an error rather than "no mark".
        let dir = tempfile::tempdir().unwrap();
        let newest = |d: &Path| HeadFile::read(d).unwrap().map(|(h, _)| h);
        assert_eq!(newest(dir.path()), None);
        let mut f = HeadFile::open(dir.path(), None).unwrap();
        for g in 1..=5 {
            f.write(&h(g)).unwrap();
            assert_eq!(newest(dir.path()), Some(h(g)));
        }
        drop(f);
        // Generation 5 went to slot 0 (1 to 0, 2 to 1, ...): tear it, and the mark is
        // generation 4 (slot 1).
        let p = dir.path().join(HEAD_FILE);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        let found = HeadFile::read(dir.path()).unwrap();
        assert_eq!(found, Some((h(4), 1)));
        // Reopened, the next write overwrites the torn slot.
        let mut f = HeadFile::open(dir.path(), found.map(|f| f.1)).unwrap();
        f.write(&h(5)).unwrap();
        assert_eq!(newest(dir.path()), Some(h(5)));
        std::fs::write(&p, [0u8; 2 * SLOT]).unwrap();
        assert!(matches!(
            HeadFile::read(dir.path()),
            Err(CollectError::OutboxDamaged { .. })
        ));
    }
}
