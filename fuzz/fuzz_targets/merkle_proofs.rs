//! RFC 9162 proof verification (`golive_verify::verify_inclusion`, `verify_consistency`) on
//! arbitrary tree sizes (up to 2^64-1), indices and proof paths: an answer, never a panic or
//! an overflow. For a small tree built from the input, genuine proofs verify, the same proofs
//! with one hash changed do not, and the frontier's root equals the tree's root.
#![no_main]

use golive_verify::{
    Frontier, Hash, consistency_path, inclusion_path, leaf_hash, root_of, verify_consistency,
    verify_inclusion,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    |input: (u64, u64, Vec<Hash>, Hash, Hash, Hash, u8, u8, u8)| {
        let (a, b, path, leaf, r1, r2, n, m, flip) = input;

        // Arbitrary sizes and paths: any answer will do.
        let _ = verify_inclusion(a, b, &leaf, &path, &r1);
        let _ = verify_consistency(a, b, &r1, &r2, &path);
        if let Some(f) = Frontier::from_parts(a, path.clone()) {
            assert_eq!(f.size(), a);
            let _ = f.root();
        }

        // A small genuine tree.
        let n = u64::from(n % 64) + 1;
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&[i as u8, leaf[0]])).collect();
        let root = root_of(&leaves);
        let mut frontier = Frontier::new();
        for l in &leaves {
            frontier.push(*l);
        }
        assert_eq!(
            frontier.root(),
            root,
            "frontier root != tree root at size {n}"
        );
        let mut mth = |s: u64, l: u64| Ok::<_, ()>(root_of(&leaves[s as usize..(s + l) as usize]));

        let index = u64::from(m) % n;
        let proof = inclusion_path(index, n, &mut mth).expect("in memory");
        assert_eq!(
            verify_inclusion(index, n, &leaves[index as usize], &proof, &root),
            Ok(()),
            "genuine inclusion proof of {index} in {n} rejected"
        );
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = usize::from(flip) % bad.len();
            bad[i][usize::from(flip) % 32] ^= 1 | flip;
            assert!(verify_inclusion(index, n, &leaves[index as usize], &bad, &root).is_err());
        }

        let old = u64::from(m) % (n + 1);
        let old_root = root_of(&leaves[..old as usize]);
        let proof = consistency_path(old, n, &mut mth).expect("in memory");
        assert_eq!(
            verify_consistency(old, n, &old_root, &root, &proof),
            Ok(()),
            "genuine consistency proof {old} -> {n} rejected"
        );
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = usize::from(flip) % bad.len();
            bad[i][usize::from(flip) % 32] ^= 1 | flip;
            assert!(verify_consistency(old, n, &old_root, &root, &bad).is_err());
        }
    }
);
