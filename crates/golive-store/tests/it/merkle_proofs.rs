//! The store's Merkle tree and proofs checked against an independent implementation of
//! RFC 9162 written here: its own hashing (SHA-256 with the 0x00 / 0x01 prefixes), its own
//! MTH by the RFC's recursive definition, and proof verification that rebuilds both roots by
//! recursing over the RFC's PATH and SUBPROOF definitions (section 2.1.3.1 and 2.1.4.1) rather
//! than by the iterative algorithms of 2.1.3.2 / 2.1.4.2 that `golive-verify` implements. Leaf
//! data is each record's chain hash.

use crate::common::*;
use golive_store::Store;
use sha2::{Digest, Sha256};

type H = [u8; 32];

fn leaf(data: &[u8]) -> H {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node(l: &H, r: &H) -> H {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// Largest power of two strictly below n (n >= 2).
fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) by the RFC's definition.
fn mth(d: &[H]) -> H {
    match d.len() {
        0 => Sha256::digest([]).into(),
        1 => d[0],
        n => {
            let k = k_of(n);
            node(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// The root that an inclusion proof for leaf `m` of a tree of `n` leads to: PATH(m, D[n]) is
/// PATH(m, D[0:k]) + MTH(D[k:n]) or PATH(m-k, D[k:n]) + MTH(D[0:k]), so the last element of
/// the proof is the sibling at the top. Consumes the proof from its end. `None` if it does
/// not fit.
fn root_from_path(m: usize, n: usize, leaf_hash: H, proof: &mut Vec<H>) -> Option<H> {
    if n == 1 {
        return Some(leaf_hash);
    }
    let sibling = proof.pop()?;
    let k = k_of(n);
    Some(if m < k {
        node(&root_from_path(m, k, leaf_hash, proof)?, &sibling)
    } else {
        node(&sibling, &root_from_path(m - k, n - k, leaf_hash, proof)?)
    })
}

fn inclusion_ok(m: usize, n: usize, leaf_hash: H, proof: &[H], root: &H) -> bool {
    let mut p = proof.to_vec();
    root_from_path(m, n, leaf_hash, &mut p).is_some_and(|r| p.is_empty() && r == *root)
}

/// (old root, new root) rebuilt from SUBPROOF(m, D[n], b), consuming the proof from its end.
/// With b true and m == n the old tree is the whole subtree, whose root the verifier knows.
fn roots_from_subproof(
    m: usize,
    n: usize,
    b: bool,
    old_root: &H,
    proof: &mut Vec<H>,
) -> Option<(H, H)> {
    if m == n {
        if b {
            return Some((*old_root, *old_root));
        }
        let x = proof.pop()?;
        return Some((x, x));
    }
    let k = k_of(n);
    let last = proof.pop()?;
    if m <= k {
        let (o, new) = roots_from_subproof(m, k, b, old_root, proof)?;
        Some((o, node(&new, &last)))
    } else {
        let (o, new) = roots_from_subproof(m - k, n - k, false, old_root, proof)?;
        Some((node(&last, &o), node(&last, &new)))
    }
}

fn consistency_ok(m: usize, n: usize, old_root: &H, new_root: &H, proof: &[H]) -> bool {
    if m == 0 || m == n {
        return proof.is_empty() && (m == 0 || old_root == new_root);
    }
    let mut p = proof.to_vec();
    roots_from_subproof(m, n, true, old_root, &mut p)
        .is_some_and(|(o, new)| p.is_empty() && o == *old_root && new == *new_root)
}

#[test]
fn store_proofs_verify_with_an_independent_rfc_implementation() {
    // Proves, for a log of 1,100 records appended in uneven batches (so crossing tiles of 256
    // and a second tile level is not reached but partial tiles are), that every root the store
    // gives equals MTH computed here, every inclusion proof leads to that root for the right
    // leaf only, and every consistency proof rebuilds both roots, and fails for a wrong old
    // root. Sizes and seqs are sampled densely around tile boundaries.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut next = 1u128;
    for size in [1u128, 2, 253, 300, 1, 511, 32] {
        let batch = (next..next + size)
            .map(|i| incoming(lost(i, "RAL", "ral-pas", i as u64)))
            .collect();
        store.append_batch(batch).unwrap();
        next += size;
    }
    let n = store.head().seq as usize;
    assert_eq!(n, 1_100);
    let leaves: Vec<H> = store
        .range(1, n as u64)
        .map(|r| leaf(&r.unwrap().hash))
        .collect();

    let sizes: Vec<usize> = [
        1, 2, 3, 7, 8, 255, 256, 257, 300, 511, 512, 513, 767, 768, 1_023, 1_024, 1_025, 1_100,
    ]
    .into_iter()
    .collect();
    for &size in &sizes {
        let root = mth(&leaves[..size]);
        assert_eq!(
            store.merkle_root(size as u64).unwrap(),
            root,
            "root at size {size}"
        );
        for m in [0, 1, size / 2, 255, 256, size - 1]
            .into_iter()
            .filter(|&m| m < size)
        {
            let proof = store.inclusion_proof(m as u64 + 1, size as u64).unwrap();
            assert!(
                inclusion_ok(m, size, leaves[m], &proof, &root),
                "inclusion of {m} in {size}"
            );
            let wrong = leaves[(m + 1) % size];
            assert!(size == 1 || !inclusion_ok(m, size, wrong, &proof, &root));
        }
        for &old in sizes.iter().filter(|&&o| o <= size) {
            let old_root = mth(&leaves[..old]);
            let proof = store.consistency_proof(old as u64, size as u64).unwrap();
            assert!(
                consistency_ok(old, size, &old_root, &root, &proof),
                "consistency {old} -> {size}"
            );
            if old < size {
                let wrong = mth(&leaves[1..=old]);
                assert!(!consistency_ok(old, size, &wrong, &root, &proof));
            }
        }
    }
}
