//! The export verifier against every kind of tampering the issue names: each test builds a
//! genuine export (records, chain hashes, signed checkpoints with consistency proofs) with
//! nothing but this crate and the model, damages it the way an attacker or a bad copy would,
//! and checks that verification fails naming the right sequence and kind.

use golive_model::{ChainHash, GENESIS_HASH, chain_hash, decode};
use golive_verify::{
    Checkpoint, CheckpointLine, Frontier, Hash, Header, Kind, NoteSigner, Outcome, VerifierKey,
    consistency_path, record_leaf, root_of, to_hex, verify_export, write_record_line,
};

const ORIGIN: &str = "golive.ledger/test";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, [42u8; 32]).unwrap()
}

fn key() -> VerifierKey {
    signer().verifier()
}

/// The canonical bytes of event `i` (an extra cost of `amount` pence).
fn event(i: u64, amount: u64) -> Vec<u8> {
    let line = format!(
        r#"{{"event_id":"00000000-0000-4000-8000-{i:012}","trust":"RAL","collector":"c","collector_seq":{i},"occurred_at":"2008-01-01T00:00:00Z","recorded_at":"2008-01-02T00:00:00Z","schema":1,"kind":"extra_cost","data":{{"category":"validation","amount_pence":{amount}}},"status":"reported"}}"#
    );
    decode(line.as_bytes())
        .expect("valid event")
        .canonical_bytes()
}

/// A history of `n` records as (seq, prev_hash, hash, event bytes); `amount(i)` per event.
fn history(n: u64, amount: impl Fn(u64) -> u64) -> Vec<(u64, ChainHash, ChainHash, Vec<u8>)> {
    let mut prev = GENESIS_HASH;
    (1..=n)
        .map(|seq| {
            let e = event(seq, amount(seq));
            let hash = chain_hash(&prev, seq, &e);
            let r = (seq, prev, hash, e);
            prev = hash;
            r
        })
        .collect()
}

fn leaves(h: &[(u64, ChainHash, ChainHash, Vec<u8>)]) -> Vec<Hash> {
    h.iter().map(|r| record_leaf(&r.2)).collect()
}

/// A signed checkpoint note for the tree of `size` over `leaves`.
fn note(signer: &NoteSigner, leaves: &[Hash], size: u64) -> String {
    signer.sign(
        &Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root: root_of(&leaves[..size as usize]),
            extensions: vec!["time 2026-01-01T00:00:00Z".to_owned()],
        }
        .to_text(),
    )
}

fn checkpoint_line(leaves: &[Hash], note: String, prev: Option<u64>, size: u64) -> String {
    let mut mth = |s: u64, l: u64| Ok::<_, ()>(root_of(&leaves[s as usize..(s + l) as usize]));
    let line = CheckpointLine {
        checkpoint: note,
        consistency_from: prev,
        consistency: match prev {
            Some(p) => consistency_path(p, size, &mut mth)
                .unwrap()
                .iter()
                .map(|h| to_hex(h))
                .collect(),
            None => Vec::new(),
        },
    };
    serde_json::to_string(&line).unwrap()
}

/// The export of records `from..=to` of a 30-record history, checkpoints at 10, 20 and 30.
fn export_lines(from: u64, to: u64) -> Vec<String> {
    let h = history(30, |i| i * 100);
    let l = leaves(&h);
    let prefix_leaves = &l[..from as usize - 1];
    let mut prefix = Frontier::new();
    for leaf in prefix_leaves {
        prefix.push(*leaf);
    }
    let prev_hash = if from == 1 {
        GENESIS_HASH
    } else {
        h[from as usize - 2].2
    };
    let mut lines =
        vec![serde_json::to_string(&Header::new(from, to, &prev_hash, &prefix)).unwrap()];
    for (seq, prev, hash, e) in &h[from as usize - 1..to as usize] {
        let mut out = Vec::new();
        write_record_line(&mut out, *seq, prev, hash, "2026-01-01T00:00:00Z", None, e);
        lines.push(String::from_utf8(out).unwrap().trim_end().to_owned());
    }
    let s = signer();
    let mut prev = None;
    for size in [10u64, 20, 30].into_iter().filter(|&s| s <= to) {
        lines.push(checkpoint_line(&l, note(&s, &l, size), prev, size));
        prev = Some(size);
    }
    lines
}

fn verify(lines: &[String]) -> Outcome {
    let text = lines.join("\n") + "\n";
    verify_export(
        || Ok(std::io::Cursor::new(text.clone().into_bytes())),
        &key(),
    )
}

fn tampered(lines: &[String]) -> (u64, Kind, String) {
    match verify(lines) {
        Outcome::Tampered(p) => (p.seq, p.kind, p.detail),
        other => panic!("expected tampering to be found, got {other:?}"),
    }
}

/// Index in `lines` of record `seq` (line 0 is the header).
fn at(seq: u64) -> usize {
    seq as usize
}

#[test]
fn a_genuine_export_verifies_with_its_head_root_and_signed_size() {
    // Proves the untouched export verifies, reporting the head, the Merkle root of all records
    // (equal to MTH computed independently here) and that all 30 records are signed.
    let h = history(30, |i| i * 100);
    match verify(&export_lines(1, 30)) {
        Outcome::Verified(v) => {
            assert_eq!(v.head_seq, 30);
            assert_eq!(v.head_hash, h[29].2);
            assert_eq!(v.root, root_of(&leaves(&h)));
            assert_eq!(v.checkpoints, 3);
            assert_eq!(v.signed_size, 30);
            assert_eq!(v.origin.as_deref(), Some(ORIGIN));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_partial_export_verifies_against_the_signed_roots_through_its_tree_prefix() {
    // Proves an export of seqs 11..=25 checks out: its header's tree prefix lets the root at
    // size 20 be checked, the checkpoint at 10 is linked by its consistency proof, and records
    // 21..=25 are intact but not yet covered by a signature.
    match verify(&export_lines(11, 25)) {
        Outcome::Verified(v) => {
            assert_eq!(v.head_seq, 25);
            assert_eq!(v.signed_size, 20);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_flipped_byte_in_a_record_is_named_at_its_seq() {
    // Proves changing one digit of one event's amount (seq 17) is reported as altered at 17.
    let mut lines = export_lines(1, 30);
    lines[at(17)] = lines[at(17)].replacen("\"amount_pence\":1700", "\"amount_pence\":1701", 1);
    let (seq, kind, _) = tampered(&lines);
    assert_eq!((seq, kind), (17, Kind::Altered));
}

#[test]
fn a_deleted_record_is_missing_at_its_seq() {
    // Proves removing record 12 is reported as missing at 12, not as a problem elsewhere.
    let mut lines = export_lines(1, 30);
    lines.remove(at(12));
    let (seq, kind, _) = tampered(&lines);
    assert_eq!((seq, kind), (12, Kind::Missing));
}

#[test]
fn two_swapped_records_are_reordered_at_the_first() {
    // Proves swapping records 5 and 6 is told apart from a deletion: reordered at 5.
    let mut lines = export_lines(1, 30);
    lines.swap(at(5), at(6));
    let (seq, kind, _) = tampered(&lines);
    assert_eq!((seq, kind), (5, Kind::Reordered));
}

#[test]
fn a_truncated_tail_is_missing_after_the_last_record() {
    // Proves dropping records 26..=30 is reported as missing at 26, both when the header still
    // says 30 and when the header was edited too (the checkpoint at 30 still says so).
    let full = export_lines(1, 30);
    let mut lines = full.clone();
    lines.drain(at(26)..=at(30));
    let (seq, kind, _) = tampered(&lines);
    assert_eq!((seq, kind), (26, Kind::Missing));
    lines[0] = lines[0].replacen("\"to_seq\":30", "\"to_seq\":25", 1);
    let (seq, kind, detail) = tampered(&lines);
    assert_eq!((seq, kind), (26, Kind::Missing), "{detail}");
}

#[test]
fn a_checkpoint_forged_with_another_key_is_a_bad_signature_at_its_size() {
    // Proves a checkpoint signed by a different key under the same name is refused, named by
    // its tree size (20).
    let h = history(30, |i| i * 100);
    let l = leaves(&h);
    let other = NoteSigner::from_seed(ORIGIN, [7u8; 32]).unwrap();
    let mut lines = export_lines(1, 30);
    let i = lines.len() - 2;
    lines[i] = checkpoint_line(&l, note(&other, &l, 20), Some(10), 20);
    let (seq, kind, _) = tampered(&lines);
    assert_eq!((seq, kind), (20, Kind::BadSignature));
}

#[test]
fn a_checkpoint_inconsistent_with_an_earlier_one_is_a_forked_checkpoint() {
    // Proves that a validly signed checkpoint at 30 of another history (seq 14 different),
    // with a consistency proof built over that other history, is reported as a forked
    // checkpoint at its size: it cannot extend the genuine checkpoint at 20.
    let other = history(30, |i| if i == 14 { 1 } else { i * 100 });
    let lo = leaves(&other);
    let s = signer();
    let mut lines = export_lines(1, 30);
    let i = lines.len() - 1; // the checkpoint at 30
    lines[i] = checkpoint_line(&lo, note(&s, &lo, 30), Some(20), 30);
    let (seq, kind, detail) = tampered(&lines);
    assert_eq!((seq, kind), (30, Kind::ForkedCheckpoint), "{detail}");
}

#[test]
fn a_forged_checkpoint_between_two_genuine_ones_is_named_as_the_fork() {
    // Proves that a validly signed checkpoint at 20 of another history (consistent with the
    // one at 10, since seqs 1..=10 agree, but not with the one at 30) is named as the forked
    // checkpoint at 20, not merely as a root mismatch.
    let other = history(30, |i| if i == 14 { 1 } else { i * 100 });
    let lo = leaves(&other);
    let s = signer();
    let mut lines = export_lines(1, 30);
    let i = lines.len() - 2; // the checkpoint at 20
    lines[i] = checkpoint_line(&lo, note(&s, &lo, 20), Some(10), 20);
    let (seq, kind, detail) = tampered(&lines);
    assert_eq!((seq, kind), (20, Kind::ForkedCheckpoint), "{detail}");
}

#[test]
fn a_history_rewritten_with_recomputed_hashes_fails_at_the_signed_root() {
    // Proves that changing record 14 and recomputing every later hash (a self-consistent
    // chain) is still caught: the signed root at size 20 does not match, and the first seq
    // not covered by an earlier checkpoint (11) is named.
    let rewritten = history(30, |i| if i == 14 { 1 } else { i * 100 });
    let mut lines = export_lines(1, 30);
    for (seq, prev, hash, e) in &rewritten {
        let mut out = Vec::new();
        write_record_line(&mut out, *seq, prev, hash, "2026-01-01T00:00:00Z", None, e);
        lines[at(*seq)] = String::from_utf8(out).unwrap().trim_end().to_owned();
    }
    let (seq, kind, _) = tampered(&lines);
    assert_eq!((seq, kind), (11, Kind::RootMismatch));
}

#[test]
fn a_record_whose_hash_was_recomputed_breaks_the_next_link() {
    // Proves that changing record 8 and its own hash (but not record 9's prev_hash) is named
    // at 8: record 9 no longer links to it.
    let h = history(30, |i| i * 100);
    let e = event(8, 9);
    let hash = chain_hash(&h[6].2, 8, &e);
    let mut out = Vec::new();
    write_record_line(
        &mut out,
        8,
        &h[6].2,
        &hash,
        "2026-01-01T00:00:00Z",
        None,
        &e,
    );
    let mut lines = export_lines(1, 30);
    lines[at(8)] = String::from_utf8(out).unwrap().trim_end().to_owned();
    let (seq, kind, _) = tampered(&lines);
    assert_eq!((seq, kind), (8, Kind::Altered));
}

#[test]
fn unreadable_input_is_not_called_tampering() {
    // Proves an empty file or a file that is not an export is "could not read", not tampered.
    assert!(matches!(verify(&[]), Outcome::CouldNotRead(_)));
    assert!(matches!(
        verify(&["hello".to_owned()]),
        Outcome::CouldNotRead(_)
    ));
}
