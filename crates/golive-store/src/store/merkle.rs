//! The Merkle tree beside the log (RFC 9162; leaf data = each record's chain hash, see
//! `golive_verify::merkle`), kept in fixed-size tiles in the `ledger` tree so that it grows in
//! the same atomic `apply_batch` as the records, and signed checkpoints in their own tree.
//!
//! ## Tiles
//!
//! As in tile-based transparency logs, only every 8th level of the tree is stored: a tile at
//! stored level `k` holds 256 consecutive hashes of tree level `8k`, key `T` + `k` (1 byte) +
//! tile index (u64 BE), value 256 x 32 bytes. The hashes of levels `8k+1 ..= 8k+7` are
//! recomputed from a tile when needed (at most 127 hashes). **Only full tiles are written,
//! once each, never rewritten**: per event that is 32 bytes of level 0 plus 1/256 of that for
//! each level above.
//!
//! The hashes not yet in a full tile (fewer than 256 per stored level) are the *tails*. They
//! are held in memory and derived at open: level 0's from the last records' chain hashes,
//! level `k`'s from the roots of the full tiles of level `k - 1`. So nothing but the log and
//! full tiles is persisted, and a crash can leave no half-written tree.
//!
//! A store written before the tree existed (records but no tile) gets its tiles built from the
//! log the first time it is opened.

use std::sync::Arc;

use golive_verify::{Frontier, Hash, consistency_path, inclusion_path, node_hash, root_of};
use sled::Tree;

use super::{Store, lock, sled_error};
use crate::error::StoreError;
use crate::layout::{self, TILE};

/// Levels of the tree per stored level.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes per tile.
pub const TILE_WIDTH: usize = 1 << TILE_HEIGHT;
const HASH_BYTES: usize = 32;
/// Tiles written per `apply_batch` while building the tree of an older store.
const BACKFILL_TILES_PER_BATCH: usize = 256;
/// Name of the tree of signed checkpoints: tree size (u64 BE) -> the signed note (UTF-8).
const SIGNED_CHECKPOINTS: &str = "signed_checkpoints";
/// Largest signed checkpoint note stored.
pub const SIGNED_CHECKPOINT_BYTES_MAX: usize = 16 * 1024;

/// `T` + stored level + tile index.
fn tile_key(level: u32, index: u64) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[0] = TILE;
    k[1] = level as u8;
    k[2..].copy_from_slice(&index.to_be_bytes());
    k
}

/// The hashes of each stored level that are not in a full tile yet, for a tree of `size`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tails {
    size: u64,
    /// `levels[k]`: the hashes of tree level `8k` after the last full tile; fewer than 256.
    levels: Vec<Vec<Hash>>,
    /// Why the tails could not be derived at open (a corrupt record or tile): the store still
    /// opens so that `verify_chain` and audits can name the damage, but the tree cannot be
    /// read or extended. `(seq, what)`.
    broken: Option<(u64, String)>,
}

impl Tails {
    /// Adds the leaf of the next record. Each tile that fills is added to `writes` and its root
    /// carried into the level above, like a counter in base 256.
    pub(crate) fn push_leaf(&mut self, leaf: Hash, writes: &mut sled::Batch) {
        self.size += 1;
        let mut carried = leaf;
        let mut k = 0usize;
        loop {
            if self.levels.len() == k {
                self.levels.push(Vec::with_capacity(TILE_WIDTH));
            }
            self.levels[k].push(carried);
            if self.levels[k].len() < TILE_WIDTH {
                return;
            }
            let full = std::mem::replace(&mut self.levels[k], Vec::with_capacity(TILE_WIDTH));
            let nodes = self.size >> (TILE_HEIGHT * k as u32);
            let index = nodes / TILE_WIDTH as u64 - 1;
            writes.insert(&tile_key(k as u32, index)[..], full.as_flattened());
            carried = root_of(&full);
            k += 1;
        }
    }

    /// The tail of stored level `k`, and the index of the tile it will become.
    fn tail(&self, k: u32) -> (u64, &[Hash]) {
        let index = self.size >> (TILE_HEIGHT * (k + 1));
        let hashes = self.levels.get(k as usize).map_or(&[][..], |v| &v[..]);
        (index, hashes)
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// An error when the tree cannot be used (see `broken`).
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        match &self.broken {
            None => Ok(()),
            Some((seq, what)) => Err(corrupt(
                *seq,
                format!("the Merkle tree could not be rebuilt at open: {what}"),
            )),
        }
    }
}

fn corrupt(seq: u64, what: String) -> StoreError {
    StoreError::Corrupt { seq, what }
}

fn tile_hashes(bytes: &[u8]) -> Option<Vec<Hash>> {
    (bytes.len() == TILE_WIDTH * HASH_BYTES).then(|| {
        bytes
            .chunks_exact(HASH_BYTES)
            .map(|c| c.try_into().expect("chunks of 32"))
            .collect()
    })
}

/// Reads the tree: tiles from sled, tails from a snapshot at least as large as any size asked.
struct TreeReader<'a> {
    store: &'a Store,
    tails: &'a Tails,
}

impl TreeReader<'_> {
    /// Hashes `first..first + count` of tree level `8k`, all within one tile.
    fn hashes(&self, k: u32, first: u64, count: usize) -> Result<Vec<Hash>, StoreError> {
        let index = first / TILE_WIDTH as u64;
        let at = (first % TILE_WIDTH as u64) as usize;
        let (tail_index, tail) = self.tails.tail(k);
        let found = if index == tail_index {
            tail.get(at..at + count).map(<[Hash]>::to_vec)
        } else {
            let inner = &self.store.inner;
            let value = inner
                .ledger
                .get(tile_key(k, index))
                .map_err(|e| sled_error(&inner.path, e))?;
            value
                .as_deref()
                .and_then(tile_hashes)
                .map(|t| t[at..at + count].to_vec())
        };
        found.ok_or_else(|| {
            corrupt(
                (first << (TILE_HEIGHT * k)) + 1,
                format!(
                    "the Merkle tile at stored level {k} index {index} is missing or malformed"
                ),
            )
        })
    }

    /// Root of the perfect subtree at tree `level` with index `i` (covering leaves
    /// `i * 2^level .. (i + 1) * 2^level`).
    fn subtree(&self, level: u32, i: u64) -> Result<Hash, StoreError> {
        let k = level / TILE_HEIGHT;
        let r = level % TILE_HEIGHT;
        let hashes = self.hashes(k, i << r, 1 << r)?;
        Ok(root_of(&hashes))
    }

    /// `MTH` of leaves `start..start + len`, where the range is aligned as RFC 9162's proofs
    /// use them (perfect subtrees, and their right-hand remainders).
    fn range_root(&self, start: u64, len: u64) -> Result<Hash, StoreError> {
        if len.is_power_of_two() && start.is_multiple_of(len) {
            return self.subtree(len.trailing_zeros(), start / len);
        }
        let k = golive_verify::merkle::split_point(len);
        Ok(node_hash(
            &self.range_root(start, k)?,
            &self.range_root(start + k, len - k)?,
        ))
    }
}

impl Store {
    /// The tree state readers may use: as of the durable head.
    fn tails(&self) -> Arc<Tails> {
        lock(&self.inner.merkle).clone()
    }

    fn check_size(&self, size: u64, tails: &Tails) -> Result<(), StoreError> {
        tails.check()?;
        if size > tails.size() {
            return Err(StoreError::TooLarge {
                what: "the tree size asked for",
                len: size,
                max: tails.size(),
            });
        }
        Ok(())
    }

    /// Root hash of the Merkle tree of records `1..=size` (`size` at most the head).
    pub fn merkle_root(&self, size: u64) -> Result<Hash, StoreError> {
        let tails = self.tails();
        self.check_size(size, &tails)?;
        if size == 0 {
            return Ok(golive_verify::EMPTY_ROOT);
        }
        TreeReader {
            store: self,
            tails: &tails,
        }
        .range_root(0, size)
    }

    /// The inclusion proof (audit path, leaf to root) of record `seq` in the tree of `size`.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        let tails = self.tails();
        self.check_size(size, &tails)?;
        if seq == 0 || seq > size {
            return Err(StoreError::TooLarge {
                what: "the seq to prove (it must be from 1 to the tree size)",
                len: seq,
                max: size,
            });
        }
        let reader = TreeReader {
            store: self,
            tails: &tails,
        };
        inclusion_path(seq - 1, size, &mut |s, l| reader.range_root(s, l))
    }

    /// The consistency proof from the tree of `old` to the tree of `new` (`old <= new <= head`).
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        let tails = self.tails();
        self.check_size(new, &tails)?;
        if old > new {
            return Err(StoreError::TooLarge {
                what: "the old tree size",
                len: old,
                max: new,
            });
        }
        let reader = TreeReader {
            store: self,
            tails: &tails,
        };
        consistency_path(old, new, &mut |s, l| reader.range_root(s, l))
    }

    /// The right edge of the tree of `size`: what an export starting at `size + 1` carries so
    /// that its records can be checked against signed roots.
    pub fn merkle_frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        let tails = self.tails();
        self.check_size(size, &tails)?;
        let reader = TreeReader {
            store: self,
            tails: &tails,
        };
        let mut hashes = Vec::new();
        let mut start = 0u64;
        for level in (0..64).rev() {
            if size & (1 << level) != 0 {
                hashes.push(reader.subtree(level, start >> level)?);
                start += 1 << level;
            }
        }
        Ok(Frontier::from_parts(size, hashes).expect("one hash per set bit"))
    }

    fn signed_tree(&self) -> Result<Tree, StoreError> {
        self.inner
            .db
            .open_tree(SIGNED_CHECKPOINTS)
            .map_err(|e| self.err(e))
    }

    /// Stores a signed checkpoint note for tree `size` (replacing one of the same size). Not
    /// flushed by itself: a lost one is signed again later.
    pub fn put_signed_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        let head = self.head().seq;
        if size > head {
            return Err(StoreError::CheckpointAhead { seq: size, head });
        }
        if note.len() > SIGNED_CHECKPOINT_BYTES_MAX {
            return Err(StoreError::TooLarge {
                what: "the signed checkpoint's size in bytes",
                len: note.len() as u64,
                max: SIGNED_CHECKPOINT_BYTES_MAX as u64,
            });
        }
        self.signed_tree()?
            .insert(size.to_be_bytes(), note.as_bytes())
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Signed checkpoints with a tree size in `from..=to`, ascending, at most `limit`.
    pub fn signed_checkpoints(
        &self,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let mut out = Vec::new();
        if from > to {
            return Ok(out);
        }
        for entry in self
            .signed_tree()?
            .range(from.to_be_bytes()..=to.to_be_bytes())
            .take(limit)
        {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            out.push(decode_signed(&k, &v)?);
        }
        Ok(out)
    }

    /// The signed checkpoint of the largest tree size, if any.
    pub fn latest_signed_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        match self.signed_tree()?.last().map_err(|e| self.err(e))? {
            Some((k, v)) => Ok(Some(decode_signed(&k, &v)?)),
            None => Ok(None),
        }
    }

    /// Derives the tails at open (building the tiles of a store that predates them) and makes
    /// them the writer's and the readers' state.
    pub(super) fn load_merkle(&self) -> Result<(), StoreError> {
        let head = self.head().seq;
        let tree = &self.inner.ledger;
        let path = &self.inner.path;
        let has_tiles = tree
            .scan_prefix([TILE])
            .next()
            .transpose()
            .map_err(|e| sled_error(path, e))?
            .is_some();
        let built = if head >= TILE_WIDTH as u64 && !has_tiles {
            self.build_tiles(head)
        } else {
            self.derive_tails(head)
        };
        let tails = match built {
            Ok(t) => t,
            // A damaged log must still open, so that verification can name the damage.
            Err(StoreError::Corrupt { seq, what }) => {
                tracing::error!(seq, %what, "the Merkle tree cannot be rebuilt; appends are refused");
                Tails {
                    size: head,
                    levels: Vec::new(),
                    broken: Some((seq, what)),
                }
            }
            Err(e) => return Err(e),
        };
        let tails = Arc::new(tails);
        lock(&self.inner.writer).tails = tails.clone();
        *lock(&self.inner.merkle) = tails;
        Ok(())
    }

    /// Checks that the full tiles are exactly those a tree of `head` has, and rebuilds the tails.
    fn derive_tails(&self, head: u64) -> Result<Tails, StoreError> {
        let tree = &self.inner.ledger;
        let path = &self.inner.path;
        let mut tails = Tails {
            size: head,
            ..Tails::default()
        };
        for k in 0u32.. {
            let nodes = head >> (TILE_HEIGHT * k);
            let full = nodes / TILE_WIDTH as u64;
            let last = tree
                .scan_prefix([TILE, k as u8])
                .next_back()
                .transpose()
                .map_err(|e| sled_error(path, e))?
                .map(|(key, _)| layout::key_seq(&key[1..]))
                .transpose()?;
            if last.map_or(0, |i| i + 1) != full {
                return Err(corrupt(
                    head,
                    format!(
                        "the Merkle tree has {} full tiles at stored level {k} but a log of {head} \
                         records needs {full}",
                        last.map_or(0, |i| i + 1)
                    ),
                ));
            }
            if nodes == 0 {
                break;
            }
            let first = full * TILE_WIDTH as u64;
            let mut tail = Vec::with_capacity(TILE_WIDTH);
            if k == 0 {
                for record in self.range(first + 1, head) {
                    tail.push(golive_verify::record_leaf(&record?.hash));
                }
            } else {
                // Tiles below the tails are all full, hence in sled.
                let reader = TreeReader {
                    store: self,
                    tails: &tails,
                };
                for i in first..nodes {
                    let below = reader.hashes(k - 1, i * TILE_WIDTH as u64, TILE_WIDTH)?;
                    tail.push(root_of(&below));
                }
            }
            if tail.len() as u64 != nodes - first {
                return Err(corrupt(
                    first + 1,
                    format!("the log has fewer than the {head} records its head says"),
                ));
            }
            tails.levels.push(tail);
        }
        Ok(tails)
    }

    /// Builds the tiles of a store written before they existed, from its log.
    fn build_tiles(&self, head: u64) -> Result<Tails, StoreError> {
        tracing::info!(head, "building the Merkle tree of a store that has none");
        let mut tails = Tails::default();
        let mut writes = sled::Batch::default();
        let mut pending = 0usize;
        for record in self.range(1, head) {
            let before = tails.levels.first().map_or(0, Vec::len);
            tails.push_leaf(golive_verify::record_leaf(&record?.hash), &mut writes);
            if before == TILE_WIDTH - 1 {
                pending += 1;
            }
            if pending >= BACKFILL_TILES_PER_BATCH {
                self.inner
                    .ledger
                    .apply_batch(std::mem::take(&mut writes))
                    .map_err(|e| self.err(e))?;
                pending = 0;
            }
        }
        self.inner
            .ledger
            .apply_batch(writes)
            .map_err(|e| self.err(e))?;
        self.flush()?;
        Ok(tails)
    }
}

fn decode_signed(k: &[u8], v: &[u8]) -> Result<(u64, String), StoreError> {
    let bad = |what: String| StoreError::CorruptTree {
        tree: SIGNED_CHECKPOINTS,
        what,
    };
    let size: [u8; 8] = k
        .try_into()
        .map_err(|_| bad(format!("a key is {} bytes, expected 8", k.len())))?;
    let note = std::str::from_utf8(v).map_err(|_| bad("a note is not UTF-8".to_owned()))?;
    Ok((u64::from_be_bytes(size), note.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use golive_verify::{leaf_hash, record_leaf, verify_consistency, verify_inclusion};

    /// `n` valid patient_lost events with distinct ids.
    fn events(n: usize) -> Vec<crate::Incoming> {
        (1..=n)
            .map(|i| {
                let line = format!(
                    r#"{{"event_id":"00000000-0000-4000-8000-{i:012}","trust":"RAL","collector":"c","collector_seq":{i},"occurred_at":"2008-01-01T00:00:00Z","recorded_at":"2008-01-02T00:00:00Z","schema":1,"kind":"patient_lost","data":{{"patient_ref":"P-{i:06}","pathway":"rtt_18wk"}},"status":"reported"}}"#
                );
                let e = golive_model::decode(line.as_bytes()).expect("valid test event");
                crate::Incoming::new(e, None, chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap())
            })
            .collect()
    }

    #[test]
    fn tails_write_each_full_tile_once_and_carry_its_root() {
        // Proves the base-256 carry: after 256 * 256 + 3 leaves, level 0 has 256 full tiles
        // written once each, level 1 one full tile, and the tails hold exactly the rest.
        let mut tails = Tails::default();
        let mut writes = sled::Batch::default();
        let leaves: Vec<Hash> = (0u32..65_539)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        for l in &leaves {
            tails.push_leaf(*l, &mut writes);
        }
        assert_eq!(tails.levels[0].len(), 3);
        assert_eq!(tails.levels[1].len(), 0);
        assert_eq!(tails.levels[2], vec![root_of(&leaves[..65_536])]);
        assert_eq!(tails.tail(0).0, 256);
        assert_eq!(tails.tail(1).0, 1);
    }

    #[test]
    fn the_store_tree_matches_the_reference_and_its_proofs_verify() {
        // Proves that after appends in uneven batches (crossing tile boundaries), and again
        // after reopening, the store's roots equal MTH over the records' leaves, and its
        // inclusion and consistency proofs verify with the RFC algorithms.
        let dir = tempfile::tempdir().unwrap();
        let n = 700u64;
        {
            let store = Store::open(dir.path()).unwrap();
            let mut events = events(n as usize).into_iter();
            for size in [1usize, 255, 1, 300, 143] {
                let batch: Vec<_> = events.by_ref().take(size).collect();
                store.append_batch(batch).unwrap();
            }
            assert_eq!(store.head().seq, n);
        }
        let store = Store::open(dir.path()).unwrap();
        let leaves: Vec<Hash> = store
            .range(1, n)
            .map(|r| record_leaf(&r.unwrap().hash))
            .collect();
        for size in [0u64, 1, 2, 255, 256, 257, 511, 512, 513, 699, 700] {
            let root = root_of(&leaves[..size as usize]);
            assert_eq!(store.merkle_root(size).unwrap(), root, "root at {size}");
            let f = store.merkle_frontier(size).unwrap();
            assert_eq!(f.root(), root, "frontier at {size}");
            for seq in [1, size / 2, size]
                .into_iter()
                .filter(|s| (1..=size).contains(s))
            {
                let proof = store.inclusion_proof(seq, size).unwrap();
                verify_inclusion(seq - 1, size, &leaves[seq as usize - 1], &proof, &root).unwrap();
            }
            for old in [0u64, 1, 3, 256, size / 3, size] {
                if old <= size {
                    let proof = store.consistency_proof(old, size).unwrap();
                    let old_root = root_of(&leaves[..old as usize]);
                    verify_consistency(old, size, &old_root, &root, &proof).unwrap();
                }
            }
        }
        assert!(store.merkle_root(n + 1).is_err());
        assert!(store.inclusion_proof(0, n).is_err());
    }

    #[test]
    fn a_store_without_tiles_gets_them_built_at_open() {
        // Proves the migration of a store written before the tree existed: with every tile
        // removed, reopening rebuilds them from the log, giving the same roots and tiles.
        let dir = tempfile::tempdir().unwrap();
        let (root, tiles) = {
            let store = Store::open(dir.path()).unwrap();
            store.append_batch(events(600)).unwrap();
            let tiles: Vec<_> = store
                .inner
                .ledger
                .scan_prefix([TILE])
                .map(|e| e.unwrap())
                .collect();
            assert_eq!(tiles.len(), 2, "two full level-0 tiles");
            for (k, _) in &tiles {
                store.inner.ledger.remove(k).unwrap();
            }
            store.flush().unwrap();
            (store.merkle_root(600).unwrap(), tiles)
        };
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.merkle_root(600).unwrap(), root);
        let rebuilt: Vec<_> = store
            .inner
            .ledger
            .scan_prefix([TILE])
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(rebuilt, tiles);
        store.append_batch(events(601)).unwrap();
        assert_eq!(store.head().seq, 601);
    }
}
