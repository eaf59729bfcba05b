//! The Merkle tree of RFC 9162 (Certificate Transparency 2.0), section 2.1, over the ledger's
//! records, and the verification of its two proofs.
//!
//! - leaf hash: `SHA-256(0x00 || leaf data)`; node hash: `SHA-256(0x01 || left || right)`.
//!   The distinct prefixes stop anyone passing a node off as a leaf or the reverse.
//! - **Leaf data of record `seq` is its 32-byte chain hash**, at leaf index `seq - 1`. The chain
//!   hash already commits to the record's seq, its `prev_hash` and its canonical bytes, so the
//!   tree commits to the whole record; leaves stay fixed-size, so the ledger stores and proves
//!   them cheaply. To prove an event is in the tree, recompute its chain hash from the exported
//!   record and check the inclusion proof of that leaf.
//! - The tree of size `n` is the tree of records `1..=n`. Its root is `MTH(D[n])` of the RFC:
//!   for `n > 1`, with `k` the largest power of two below `n`,
//!   `MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))`; the empty tree's root is `SHA-256("")`.

use sha2::{Digest, Sha256};

/// A SHA-256 digest in the tree.
pub type Hash = [u8; 32];

/// Root of the empty tree: `SHA-256()` of no bytes.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below `n` (`n >= 2`): where the RFC splits a tree.
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// `MTH` of the RFC over leaf hashes held in memory: the reference definition, for small trees
/// and tests. The ledger itself uses [`Frontier`] or its stored tiles.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The right edge of a tree of `size` leaves: the roots of its perfect subtrees, one per set
/// bit of `size`, largest (leftmost) first. Enough to append a leaf and to compute the root,
/// in `O(log size)` memory; this is how a verifier rebuilds the tree while streaming records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A frontier taken from elsewhere (an export's header): one hash per set bit of `size`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        (hashes.len() == size.count_ones() as usize).then_some(Self { size, hashes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtrees' roots, largest first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends one leaf hash. Each trailing set bit of the old size is a perfect subtree of the
    /// same height as the one being carried, so they merge, like a binary counter's carry.
    pub fn push(&mut self, leaf: Hash) {
        let mut carried = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self
                .hashes
                .pop()
                .expect("a set bit of the size has its subtree");
            carried = node_hash(&left, &carried);
            size >>= 1;
        }
        self.hashes.push(carried);
        self.size += 1;
    }

    /// `MTH` of the tree: the perfect subtrees folded right to left, which is exactly the RFC's
    /// split at the largest power of two, applied again to the right part.
    pub fn root(&self) -> Hash {
        let mut rest = self.hashes.iter().rev();
        let Some(mut root) = rest.next().copied() else {
            return EMPTY_ROOT;
        };
        for left in rest {
            root = node_hash(left, &root);
        }
        root
    }
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexBeyondSize { index: u64, size: u64 },
    #[error("the old tree size {old} is larger than the new tree size {new}")]
    OldBeyondNew { old: u64, new: u64 },
    #[error("the proof has {0} hashes, which does not fit the tree sizes")]
    WrongLength(usize),
    #[error("the proof does not lead to the expected root hash")]
    RootMismatch,
    #[error("the proof does not lead to the expected old root hash")]
    OldRootMismatch,
}

/// RFC 9162 section 2.1.3.2: checks that `leaf` (a leaf hash) is at `index` in the tree of
/// `size` whose root is `root`, given the audit path `proof` (leaf to root order).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // 1. The index must be within the tree.
    if index >= size {
        return Err(ProofError::IndexBeyondSize { index, size });
    }
    // 2-3.
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    // 4.
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // 5.
    if snode != 0 {
        return Err(ProofError::WrongLength(proof.len()));
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 section 2.1.4.2: checks that the tree of `old_size` with root `old_root` is a
/// prefix of the tree of `new_size` with root `new_root`, given the consistency proof.
/// Sizes the RFC leaves out: equal sizes need an empty proof and equal roots; every tree is
/// consistent with the empty tree (empty proof).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldBeyondNew {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    // 1.
    if proof.is_empty() {
        return Err(ProofError::WrongLength(0));
    }
    let (fr, sr) = consistency_roots(old_size, new_size, old_root, proof)?;
    // 7, continued: the roots the proof leads to must be the ones given.
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Steps 2 to 7 of RFC 9162 section 2.1.4.2 for `0 < old_size < new_size` and a non-empty
/// proof: the old and new roots the proof leads to, or the proof's wrong length.
fn consistency_roots(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    proof: &[Hash],
) -> Result<(Hash, Hash), ProofError> {
    // 2. When the old tree is a perfect subtree of the new one, its root is the first node.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    // 3-4.
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // 5.
    let (mut fr, mut sr) = (path[0], path[0]);
    // 6.
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // 7.
    if snode != 0 {
        return Err(ProofError::WrongLength(proof.len()));
    }
    Ok((fr, sr))
}

/// The audit path of leaf `index` in the tree of `size` (RFC 9162 section 2.1.3.1), given a way
/// to get `MTH` of any aligned range `[start, start + len)`. Shared by the store (which answers
/// `range_root` from its tiles) and tests (from leaves in memory).
pub fn inclusion_path<E>(
    index: u64,
    size: u64,
    range_root: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    assert!(index < size, "inclusion_path: index {index} >= size {size}");
    let mut out = Vec::new();
    path_into(index, 0, size, range_root, &mut out)?;
    Ok(out)
}

fn path_into<E>(
    m: u64,
    start: u64,
    n: u64,
    range_root: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
    out: &mut Vec<Hash>,
) -> Result<(), E> {
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < k {
        path_into(m, start, k, range_root, out)?;
        out.push(range_root(start + k, n - k)?);
    } else {
        path_into(m - k, start + k, n - k, range_root, out)?;
        out.push(range_root(start, k)?);
    }
    Ok(())
}

/// The consistency proof from `old_size` to `new_size` (RFC 9162 section 2.1.4.1), given
/// `MTH` of aligned ranges as for [`inclusion_path`]. Empty when `old_size` is 0 or equal.
pub fn consistency_path<E>(
    old_size: u64,
    new_size: u64,
    range_root: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    assert!(old_size <= new_size, "consistency_path: old > new");
    let mut out = Vec::new();
    if old_size > 0 && old_size < new_size {
        subproof_into(old_size, 0, new_size, true, range_root, &mut out)?;
    }
    Ok(out)
}

fn subproof_into<E>(
    m: u64,
    start: u64,
    n: u64,
    whole: bool,
    range_root: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
    out: &mut Vec<Hash>,
) -> Result<(), E> {
    if m == n {
        if !whole {
            out.push(range_root(start, n)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof_into(m, start, k, whole, range_root, out)?;
        out.push(range_root(start + k, n - k)?);
    } else {
        subproof_into(m - k, start + k, n - k, false, range_root, out)?;
        out.push(range_root(start, k)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The leaves of the reference test tree used by Certificate Transparency implementations.
    fn ct_leaves() -> Vec<Hash> {
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        data.iter().map(|d| leaf_hash(d)).collect()
    }

    #[test]
    fn roots_match_the_published_ct_test_vectors() {
        // Proves leaf and node hashing and MTH agree with the roots published with the
        // reference Certificate Transparency test tree (sizes 1 to 8), and that the streaming
        // Frontier gives the same root at every size.
        let want = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves = ct_leaves();
        let mut f = Frontier::new();
        assert_eq!(f.root(), EMPTY_ROOT);
        assert_eq!(root_of(&[]), EMPTY_ROOT);
        for (n, want) in (1..=8).zip(want) {
            assert_eq!(hex(&root_of(&leaves[..n])), want, "size {n}");
            f.push(leaves[n - 1]);
            assert_eq!(hex(&f.root()), want, "frontier at size {n}");
        }
    }

    #[test]
    fn every_proof_of_small_trees_verifies_and_a_changed_one_does_not() {
        // Proves the proofs built here verify with the RFC algorithms for every index and pair
        // of sizes up to 40, and that changing a hash, the index or a size makes them fail.
        let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut mth = |start: u64, len: u64| {
            Ok::<_, ()>(root_of(&leaves[start as usize..(start + len) as usize]))
        };
        for size in 1..=40u64 {
            let root = root_of(&leaves[..size as usize]);
            for index in 0..size {
                let proof = inclusion_path(index, size, &mut mth).unwrap();
                let leaf = leaves[index as usize];
                verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
                assert!(verify_inclusion(index, size, &leaf_hash(b"x"), &proof, &root).is_err());
                if size > 1 {
                    let other = (index + 1) % size;
                    assert!(verify_inclusion(other, size, &leaf, &proof, &root).is_err());
                }
            }
            for old in 0..=size {
                let old_root = root_of(&leaves[..old as usize]);
                let proof = consistency_path(old, size, &mut mth).unwrap();
                verify_consistency(old, size, &old_root, &root, &proof).unwrap();
                if old > 0 && old < size {
                    let mut bad = proof.clone();
                    bad[0][0] ^= 1;
                    assert!(verify_consistency(old, size, &old_root, &root, &bad).is_err());
                    let wrong_old = root_of(&leaves[1..=old as usize]);
                    assert!(verify_consistency(old, size, &wrong_old, &root, &proof).is_err());
                }
            }
        }
    }
}
