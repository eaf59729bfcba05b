//! Projection snapshots as files of their own: `snapshots/<seq, 20 digits>.snap` in the
//! store's directory, beside sled's files, not inside sled. Stores written before "checkpoint"
//! came to mean only the signed tree head kept them as `checkpoints/<seq>.ckpt`; [`migrate_dir`]
//! moves those files under the new names once, at open (the bytes are the same format).
//!
//! Why not a sled tree (the first layout, moved out at open by [`migrate_tree`]): a snapshot is
//! megabytes (about 45 bytes per logged event), and sled keeps values inline in its tree nodes.
//! Inserting one rewrote the node holding the others, pruning read every value back only to
//! find the keys, and the old versions stayed on disk until sled's garbage collection. In a
//! full replay that was half the time (profile in docs/BENCHMARKS.md). A file is written once,
//! read in one go and deleted for good.
//!
//! A snapshot is a cache of the log, never the truth: it is written without `fsync` (a lost
//! one costs a longer replay), under a temporary name renamed into place, and read back only if
//! its header and CRC-32 agree, the same integrity sled gave it. A file that fails the check
//! (a crash before the data reached the disk, damage) is logged, removed, and the next older
//! snapshot is used.
//!
//! The body is compressed with LZ4 (block format, the uncompressed size in front): a snapshot is
//! mostly 16-byte event ids and small integers, and compresses about 1.7 to 1 at a few hundred
//! MB/s each way. The snapshots kept were two fifths of the store's disk (docs/BENCHMARKS.md).
//!
//! File format (the magic is the first layout's, kept so that every file reads the same way):
//! `magic "GLCKPT01" (8) | seq (8, LE) | stored length (8, LE) | CRC-32 of the
//! stored body (4, LE) | encoding (1: 0 = as is, 1 = LZ4 block, size prepended) | zero (3) |
//! stored body`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::StoreError;

/// The directory under the store's directory.
pub const SNAPSHOT_DIR: &str = "snapshots";
/// Where stores of the earlier naming kept their snapshot files, and those files' suffix.
const LEGACY_DIR: &str = "checkpoints";
const LEGACY_SUFFIX: &str = ".ckpt";
const MAGIC: [u8; 8] = *b"GLCKPT01";
const HEADER: usize = 32;
const SUFFIX: &str = ".snap";
const TMP_SUFFIX: &str = ".tmp";
const PLAIN: u8 = 0;
const LZ4: u8 = 1;

pub(super) struct SnapshotFiles {
    dir: PathBuf,
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn name(seq: u64) -> String {
    format!("{seq:020}{SUFFIX}")
}

/// Moves the snapshot files of the earlier naming (`checkpoints/<seq>.ckpt`) to
/// `snapshots/<seq>.snap` and removes the old directory once it is empty. Renames within one
/// directory tree: a crash half way leaves some files in each place, and the next open moves
/// the rest.
fn migrate_dir(store_dir: &Path, dir: &Path) -> Result<(), StoreError> {
    let legacy = store_dir.join(LEGACY_DIR);
    if !legacy.is_dir() {
        return Ok(());
    }
    let mut moved = 0u64;
    for entry in std::fs::read_dir(&legacy).map_err(|e| io(&legacy, e))? {
        let entry = entry.map_err(|e| io(&legacy, e))?;
        let file_name = entry.file_name();
        let Some(stem) = file_name
            .to_str()
            .and_then(|n| n.strip_suffix(LEGACY_SUFFIX))
        else {
            continue;
        };
        let to = dir.join(format!("{stem}{SUFFIX}"));
        std::fs::rename(entry.path(), &to).map_err(|e| io(&to, e))?;
        moved += 1;
    }
    // Left behind only if it holds files of other names (temporary ones of a crash).
    let _ = std::fs::remove_dir_all(&legacy);
    tracing::info!(
        moved,
        "projection snapshots moved from checkpoints/ to snapshots/"
    );
    Ok(())
}

impl SnapshotFiles {
    /// Creates the directory if missing and removes temporary files a crash left behind.
    pub fn open(store_dir: &Path) -> Result<Self, StoreError> {
        let dir = store_dir.join(SNAPSHOT_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        migrate_dir(store_dir, &dir)?;
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let entry = entry.map_err(|e| io(&dir, e))?;
            if entry.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self { dir })
    }

    /// Seqs of the snapshot files, ascending (files of other names are left alone).
    pub fn seqs(&self) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| io(&self.dir, e))? {
            let entry = entry.map_err(|e| io(&self.dir, e))?;
            let file_name = entry.file_name();
            let Some(digits) = file_name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
                continue;
            };
            if digits.len() == 20
                && let Ok(seq) = digits.parse::<u64>()
            {
                out.push(seq);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Writes the snapshot of `seq` (replacing one of the same seq), compressed, not synced.
    pub fn put(&self, seq: u64, body: &[u8]) -> Result<(), StoreError> {
        self.put_encoded(seq, &lz4_flex::block::compress_prepend_size(body), LZ4)
    }

    fn put_encoded(&self, seq: u64, body: &[u8], encoding: u8) -> Result<(), StoreError> {
        let path = self.dir.join(name(seq));
        let tmp = self.dir.join(format!("{}{TMP_SUFFIX}", name(seq)));
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(&MAGIC);
        header[8..16].copy_from_slice(&seq.to_le_bytes());
        header[16..24].copy_from_slice(&(body.len() as u64).to_le_bytes());
        header[24..28].copy_from_slice(&crc32fast::hash(body).to_le_bytes());
        header[28] = encoding;
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&header)?;
            f.write_all(body)?;
            drop(f);
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(&path, e)
        })
    }

    /// The body of `seq`'s snapshot; None when the file is gone (pruned meanwhile) or fails
    /// its check (then it is removed, with a warning).
    pub fn get(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.dir.join(name(seq));
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path, e)),
        };
        let mut header = [0u8; HEADER];
        let bad = |what: &str| {
            tracing::warn!(
                path = %path.display(),
                what,
                "a projection snapshot file is damaged (or was cut by a crash); removing it \
                 and using an older one (snapshots are caches of the log: nothing is lost)"
            );
            let _ = std::fs::remove_file(&path);
            Ok(None)
        };
        if f.read_exact(&mut header).is_err() {
            return bad("shorter than its header");
        }
        let field = |r: std::ops::Range<usize>| {
            let mut b = [0u8; 8];
            b[..r.len()].copy_from_slice(&header[r]);
            u64::from_le_bytes(b)
        };
        if header[..8] != MAGIC || field(8..16) != seq {
            return bad("wrong magic or seq in the header");
        }
        let len = field(16..24);
        let crc = field(24..28) as u32;
        let file_len = f.metadata().map_err(|e| io(&path, e))?.len();
        if file_len != HEADER as u64 + len {
            return bad("its length is not the one its header gives");
        }
        let mut body = Vec::with_capacity(len as usize);
        f.take(len)
            .read_to_end(&mut body)
            .map_err(|e| io(&path, e))?;
        if body.len() as u64 != len || crc32fast::hash(&body) != crc {
            return bad("its CRC-32 does not match");
        }
        match header[28] {
            PLAIN => Ok(Some(body)),
            LZ4 => match lz4_flex::block::decompress_size_prepended(&body) {
                Ok(plain) => Ok(Some(plain)),
                Err(_) => bad("its LZ4 body does not decompress"),
            },
            _ => bad("unknown encoding"),
        }
    }

    /// Removes the snapshot of `seq`, if there.
    pub fn remove(&self, seq: u64) -> Result<(), StoreError> {
        let path = self.dir.join(name(seq));
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path, e)),
            _ => Ok(()),
        }
    }

    /// Bytes of every file in the directory.
    pub fn bytes(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

/// Moves the snapshots of the first layout (the sled tree `snapshots`) to files, once, and
/// drops the tree. Returns how many were moved.
pub(super) fn migrate_tree(
    db: &sled::Db,
    files: &SnapshotFiles,
    path: &Path,
) -> Result<u64, StoreError> {
    const TREE: &[u8] = b"checkpoints";
    if !db.tree_names().iter().any(|n| n.as_ref() == TREE) {
        return Ok(0);
    }
    let tree = db.open_tree(TREE).map_err(|e| super::sled_error(path, e))?;
    let mut moved = 0;
    for entry in tree.iter() {
        let (k, v) = entry.map_err(|e| super::sled_error(path, e))?;
        let Ok(seq) = <[u8; 8]>::try_from(k.as_ref()).map(u64::from_be_bytes) else {
            continue; // not a snapshot of this layout: dropped with the tree
        };
        files.put(seq, &v)?;
        moved += 1;
    }
    drop(tree);
    db.drop_tree(TREE).map_err(|e| super::sled_error(path, e))?;
    if moved > 0 {
        tracing::info!(
            moved,
            "moved the projection snapshots out of sled into snapshot files (once)"
        );
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_file_reads_back_only_whole() {
        // Proves the round trip, and that a cut, a flipped byte or a file of another seq is
        // refused (and removed) rather than handed to the projections.
        let dir = tempfile::tempdir().unwrap();
        let files = SnapshotFiles::open(dir.path()).unwrap();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let body: Vec<u8> = (0..10_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        files.put(42, &body).unwrap();
        files.put(7, b"seven").unwrap();
        assert_eq!(files.seqs().unwrap(), vec![7, 42]);
        assert_eq!(files.get(42).unwrap().as_deref(), Some(&body[..]));
        assert_eq!(files.get(8).unwrap(), None);

        let path = dir.path().join(SNAPSHOT_DIR).join(name(42));
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 1]).unwrap();
        assert_eq!(files.get(42).unwrap(), None, "cut");
        assert!(!path.exists(), "a damaged snapshot is removed");

        let mut flipped = whole.clone();
        let at = flipped.len() - 10;
        flipped[at] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert_eq!(files.get(42).unwrap(), None, "flipped byte");

        std::fs::write(dir.path().join(SNAPSHOT_DIR).join(name(43)), &whole).unwrap();
        // An uncompressed body (encoding 0) reads back as is.
        files.put_encoded(44, b"plain", PLAIN).unwrap();
        assert_eq!(files.get(44).unwrap().as_deref(), Some(&b"plain"[..]));
        files.remove(44).unwrap();
        assert_eq!(files.get(43).unwrap(), None, "another seq's file");
        assert_eq!(files.seqs().unwrap(), vec![7]);

        // A temporary file left by a crash is not a snapshot and is cleared at open.
        let tmp = dir
            .path()
            .join(SNAPSHOT_DIR)
            .join(format!("{}{TMP_SUFFIX}", name(9)));
        std::fs::write(&tmp, b"half").unwrap();
        assert_eq!(files.seqs().unwrap(), vec![7]);
        let files = SnapshotFiles::open(dir.path()).unwrap();
        assert!(!tmp.exists());
        files.remove(7).unwrap();
        files.remove(7).unwrap();
        assert!(files.seqs().unwrap().is_empty());
    }
}
