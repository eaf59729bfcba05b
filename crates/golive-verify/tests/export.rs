//! The export verifier against every kind of tampering the issue names: each test builds a
//! genuine export (records, chain hashes, signed checkpoints with consistency proofs) with
//! nothing but this crate and the model, damages it the way an attacker or a bad copy would,
//! and checks that verification fails naming the right sequence and kind.

use golive_model::{ChainHash, GENESIS_HASH, chain_hash, decode};
use golive_testkit::invariants::origin::{TEST_TRUST, test_signer, test_trust_keys};
use golive_testkit::invariants::verify::{export_checked, parse_line_checked};
use golive_verify::{
    Checkpoint, CheckpointLine, Frontier, Hash, Header, Kind, NoteSigner, Outcome, SignaturePolicy,
    TrustKeys, VerifierKey, consistency_path, record_leaf, root_of, sign_event, to_hex,
    verify_export, verify_export_with, write_record_line,
};
use proptest::prelude::*;
use proptest::sample::Index;

const ORIGIN: &str = "golive.ledger/test";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, [42u8; 32]).unwrap()
}

fn key() -> VerifierKey {
    signer().verifier()
}

/// The trust keys the shared invariants check origin signatures with (as the fuzz target
/// `export_line` does): the test trust's key, policy `optional`.
fn trust() -> TrustKeys {
    test_trust_keys(SignaturePolicy::Optional, None)
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
    export_lines_signed(from, to, false)
}

/// [`export_lines`], and with `signed` the odd seqs carry the test trust's origin signature.
fn export_lines_signed(from: u64, to: u64, signed: bool) -> Vec<String> {
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
        let sig = (signed && seq % 2 == 1).then(|| sign_event(test_signer(), e).to_text());
        lines.push(signed_line_of(*seq, prev, hash, e, sig.as_deref()));
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
        lines[at(*seq)] = line_of(*seq, prev, hash, e);
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
    let mut lines = export_lines(1, 30);
    lines[at(8)] = line_of(8, &h[6].2, &hash, &e);
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

// ---------------------------------------------------------------------------------------------
// Hostile input: whatever the file holds, an answer and never a panic (shared with the fuzz
// target `export_line` through `invariants`)
// ---------------------------------------------------------------------------------------------

/// A record line for seq `seq` carrying `event`, chained from `prev`.
fn record_line(seq: u64, prev: &ChainHash, event: &[u8]) -> String {
    line_of(seq, prev, &chain_hash(prev, seq, event), event)
}

/// The export line of an unsigned record, without its newline.
fn line_of(seq: u64, prev: &ChainHash, hash: &ChainHash, event: &[u8]) -> String {
    signed_line_of(seq, prev, hash, event, None)
}

/// The export line of a record carrying `sig` (an origin signature's text) or not.
fn signed_line_of(
    seq: u64,
    prev: &ChainHash,
    hash: &ChainHash,
    event: &[u8],
    sig: Option<&str>,
) -> String {
    let mut out = Vec::new();
    let r = golive_verify::ExportRecord {
        seq,
        prev_hash: *prev,
        hash: *hash,
        received_at: "2026-01-01T00:00:00Z",
        stream_seq: None,
        origin_signature: sig,
        event,
    };
    write_record_line(&mut out, &r);
    String::from_utf8(out).unwrap().trim_end().to_owned()
}

#[test]
fn a_record_at_the_largest_sequence_is_malformed_not_wrapped_around() {
    // Proves (regression, found by this suite): a record with seq 2^64-1, correctly hashed
    // after a header that starts there, is refused as malformed: the next seq would not fit in
    // 64 bits, and the verifier used to wrap around to seq 0 (or panic with overflow checks).
    let prev = [7u8; 32];
    let prefix = Frontier::from_parts(u64::MAX - 1, vec![[1u8; 32]; 63]).unwrap();
    let header = Header::new(u64::MAX, u64::MAX, &prev, &prefix);
    let lines = vec![
        serde_json::to_string(&header).unwrap(),
        record_line(u64::MAX, &prev, &event(1, 1)),
    ];
    let (seq, kind, detail) = tampered(&lines);
    assert_eq!((seq, kind), (u64::MAX, Kind::Malformed), "{detail}");
    // And nothing after it can wrap around to seq 0.
    let mut more = lines.clone();
    more.push(record_line(0, &[0; 32], &event(2, 2)));
    assert_eq!(tampered(&more).1, Kind::Malformed);
}

#[test]
fn a_header_whose_range_runs_backwards_cannot_be_read() {
    // Proves (regression, found by this suite): a header with from_seq beyond to_seq + 1 (which
    // no export writes) is unreadable rather than "verified" with no records; from = to + 1 is
    // the empty export and still reads.
    let header = Header::new(
        11,
        5,
        &[0; 32],
        &Frontier::from_parts(10, vec![[1; 32]; 2]).unwrap(),
    );
    let lines = vec![serde_json::to_string(&header).unwrap()];
    assert!(matches!(verify(&lines), Outcome::CouldNotRead(e) if e.contains("to_seq")));
    let empty = Header::new(1, 0, &GENESIS_HASH, &Frontier::new());
    assert!(matches!(
        verify(&[serde_json::to_string(&empty).unwrap()]),
        Outcome::Verified(v) if v.head_seq == 0
    ));
}

#[test]
fn hostile_values_in_each_field_of_a_line_are_errors() {
    // Proves: numbers beyond 64 bits, negative seqs, hashes that are not 32 bytes of hex, escaped times (which cannot be borrowed), duplicate and unknown keys are
    // each a parse error of the line, and a Malformed problem of the export, never a panic.
    let good = record_line(1, &GENESIS_HASH, &event(1, 100));
    parse_line_checked(&good);
    let hash = to_hex(&chain_hash(&GENESIS_HASH, 1, &event(1, 100)));
    let zeros = to_hex(&GENESIS_HASH);
    let bad = [
        good.replacen(r#""seq":1"#, r#""seq":18446744073709551616"#, 1),
        good.replacen(r#""seq":1"#, r#""seq":-1"#, 1),
        good.replacen(r#""seq":1"#, r#""seq":1e400"#, 1),
        good.replacen(r#""seq":1"#, r#""seq":1,"seq":1"#, 1),
        good.replacen(&hash, &hash[..62], 1),
        good.replacen(&zeros, "zz", 1),
        good.replacen("2026-01-01T00:00:00Z", r"\u0032026-01-01T00:00:00Z", 1),
        good.replacen(r#""stream_seq":null"#, r#""stream_seq":null,"extra":1"#, 1),
        good.replacen(r#""stream_seq":null"#, r#""stream_seq":1e400"#, 1),
    ];
    for line in &bad {
        assert_ne!(line, &good);
        assert!(golive_verify::parse_line(line).is_err(), "{line}");
        parse_line_checked(line);
        let header =
            serde_json::to_string(&Header::new(1, 1, &GENESIS_HASH, &Frontier::new())).unwrap();
        let (seq, kind, _) = tampered(&[header, line.clone()]);
        assert_eq!((seq, kind), (1, Kind::Malformed), "{line}");
    }
    // Hex digits are read in either case (the writer uses lowercase).
    let upper = good.replacen(&hash, &hash.to_uppercase(), 1);
    assert!(golive_verify::parse_line(&upper).is_ok());
    parse_line_checked(&upper);
    // The event itself is whatever JSON the line holds: the verifier hashes its bytes (an event
    // that is not a valid envelope can only fail the hash, never crash the parser).
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    parse_line_checked(&record_line(1, &GENESIS_HASH, nested.as_bytes()));
}

#[test]
fn invalid_utf8_and_overlong_lines_are_malformed() {
    // Proves: a line that is not UTF-8, or longer than LINE_BYTES_MAX, is a Malformed problem
    // (the export was damaged), not a crash and not unreadable.
    let lines = export_lines(1, 30);
    let mut text = (lines.join("\n") + "\n").into_bytes();
    let at = text.iter().position(|&b| b == b'R').unwrap();
    text[at] = 0xff;
    let key = key();
    assert!(
        matches!(export_checked(&text, &key, &trust()), Outcome::Tampered(p) if p.kind == Kind::Malformed)
    );
    let mut long = lines.clone();
    long.insert(
        1,
        format!(
            "{{\"seq\":{}}}",
            " ".repeat(golive_verify::export::LINE_BYTES_MAX)
        ),
    );
    let text = long.join("\n") + "\n";
    assert!(
        matches!(export_checked(text.as_bytes(), &key, &trust()), Outcome::Tampered(p) if p.kind == Kind::Malformed)
    );
}

/// Line-level damage to an export.
#[derive(Debug, Clone)]
enum Damage {
    Drop(Index),
    Repeat(Index),
    Swap(Index, Index),
    Replace(Index, String),
    Xor(Index, Index, u8),
    Cut(Index, Index),
}

fn damage() -> impl Strategy<Value = Damage> {
    let hostile = prop_oneof![
        Just(String::new()),
        Just("{".to_owned()),
        Just(r#"{"seq":18446744073709551615,"prev_hash":"","hash":"","received_at":"","stream_seq":null,"event":{}}"#.to_owned()),
        Just(r#"{"golive_export":1,"from_seq":1,"to_seq":18446744073709551615,"prev_hash":"00","tree_prefix":[]}"#.to_owned()),
        Just(r#"{"checkpoint":"golive.ledger/test\n18446744073709551615\nAAAA\n\n— x y\n","consistency_from":18446744073709551615,"consistency":["zz"]}"#.to_owned()),
        "\\PC{0,200}",
        ("\\{\"(seq|checkpoint|golive_export)\"", "\\PC{0,100}").prop_map(|(a, b)| a + &b),
    ];
    prop_oneof![
        any::<Index>().prop_map(Damage::Drop),
        any::<Index>().prop_map(Damage::Repeat),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Damage::Swap(a, b)),
        (any::<Index>(), hostile).prop_map(|(a, s)| Damage::Replace(a, s)),
        (any::<Index>(), any::<Index>(), 1u8..).prop_map(|(a, b, x)| Damage::Xor(a, b, x)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Damage::Cut(a, b)),
    ]
}

fn apply(lines: &mut Vec<Vec<u8>>, d: &Damage) {
    if lines.is_empty() {
        return;
    }
    let n = lines.len();
    match d {
        Damage::Drop(i) => {
            lines.remove(i.index(n));
        }
        Damage::Repeat(i) => {
            let l = lines[i.index(n)].clone();
            lines.insert(i.index(n), l);
        }
        Damage::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
        Damage::Replace(i, s) => lines[i.index(n)] = s.clone().into_bytes(),
        Damage::Xor(i, at, x) => {
            let l = &mut lines[i.index(n)];
            if !l.is_empty() {
                let at = at.index(l.len());
                l[at] ^= x;
            }
        }
        Damage::Cut(i, at) => {
            let l = &mut lines[i.index(n)];
            let at = at.index(l.len() + 1);
            l.truncate(at);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn damaged_exports_give_an_answer_never_a_panic(
        partial in any::<bool>(),
        signed in any::<bool>(),
        ds in proptest::collection::vec(damage(), 1..5),
    ) {
        // Proves: a genuine export (whole or partial, its records signed or not) with lines dropped, repeated, swapped,
        // replaced by hostile ones, bytes flipped or lines cut is verified, found tampered or
        // unreadable; never a panic, and every line parses or fails cleanly.
        let mut lines: Vec<Vec<u8>> = export_lines_signed(if partial { 11 } else { 1 }, 30, signed)
            .into_iter()
            .map(String::into_bytes)
            .collect();
        for d in &ds {
            apply(&mut lines, d);
        }
        let text = lines.join(&b'\n');
        let _ = export_checked(&text, &key(), &trust());
    }

    #[test]
    fn arbitrary_lines_parse_or_fail_never_panic(
        kind in "\\{\"(seq|checkpoint|golive_export)\"(:)?",
        rest in "\\PC{0,300}",
    ) {
        // Proves: text after each line kind's opening parses or is an error, and what parses
        // is written back and read again to the same value.
        parse_line_checked(&format!("{kind}{rest}"));
    }

    #[test]
    fn arbitrary_bytes_as_an_export_give_an_answer(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        // Proves: any bytes at all are an answer (mostly "could not read"), never a panic.
        let _ = export_checked(&b, &key(), &trust());
    }
}

#[test]
fn genuine_exports_pass_the_shared_invariants() {
    // Proves: the invariants the fuzz target asserts hold on genuine exports (so a fuzz
    // failure is about the mutation, not the seed).
    for (from, to, signed) in [
        (1, 30, false),
        (11, 25, false),
        (1, 0, false),
        (1, 30, true),
        (11, 25, true),
    ] {
        let text = export_lines_signed(from, to.max(from - 1), signed).join("\n") + "\n";
        assert!(matches!(
            export_checked(text.as_bytes(), &key(), &trust()),
            Outcome::Verified(_)
        ));
    }
}

#[test]
#[ignore = "writes the fuzz seed corpus of export_line; run by fuzz/seed-corpus.sh"]
fn write_fuzz_seed_exports() {
    // Writes genuine exports signed by this file's test key (the key the fuzz target
    // verifies with), some with origin-signed records, into $GOLIVE_FUZZ_SEED_DIR.
    let dir = std::env::var("GOLIVE_FUZZ_SEED_DIR").expect("GOLIVE_FUZZ_SEED_DIR");
    for (from, to) in [(1, 30), (11, 25), (21, 30)] {
        let text = export_lines(from, to).join("\n") + "\n";
        std::fs::write(format!("{dir}/export-{from}-{to}.jsonl"), text).unwrap();
    }
    // And records carrying origin signatures of the test trust (the key the target checks).
    for (from, to) in [(1, 30), (11, 25)] {
        let text = export_lines_signed(from, to, true).join("\n") + "\n";
        std::fs::write(format!("{dir}/export-signed-{from}-{to}.jsonl"), text).unwrap();
    }
}

#[test]
fn a_signed_record_line_round_trips_with_its_signature_before_the_event() {
    // Proves the writer puts `origin_signature` in the line and the reader gives it back, and a
    // line without one reads as unsigned (format 1 exports from before signatures).
    let event = br#"{"event_id":"x"}"#;
    let r = golive_verify::ExportRecord {
        seq: 3,
        prev_hash: [1; 32],
        hash: [2; 32],
        received_at: "2026-01-01T00:00:00Z",
        stream_seq: Some(9),
        origin_signature: Some("AAAA"),
        event,
    };
    let mut out = Vec::new();
    write_record_line(&mut out, &r);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#","origin_signature":"AAAA","event":{"#),
        "{text}"
    );
    match golive_verify::parse_line(text.trim_end()) {
        Ok(golive_verify::Line::Record(again)) => assert_eq!(again, r),
        other => panic!("{other:?}"),
    }
    let unsigned = line_of(3, &[1; 32], &[2; 32], event);
    assert!(!unsigned.contains("origin_signature"));
    match golive_verify::parse_line(&unsigned) {
        Ok(golive_verify::Line::Record(again)) => assert_eq!(again.origin_signature, None),
        other => panic!("{other:?}"),
    }
}

/// Verifies `lines` with the log's key and the test trust's keys under `policy`.
fn verify_origins(lines: &[String], policy: SignaturePolicy) -> Outcome {
    let text = lines.join("\n") + "\n";
    verify_export_with(
        || Ok(std::io::Cursor::new(text.as_bytes())),
        &key(),
        Some(test_trust_keys(policy, None)),
    )
}

#[test]
fn origin_signed_records_are_tallied_and_a_bad_or_missing_one_is_named_at_its_seq() {
    // Proves the export verifier checks each record's origin signature with the trust keys:
    // the genuine signatures of the odd seqs tally as signed and the even seqs as unsigned; a
    // changed signature character is a bad origin and, under `required`, an unsigned record is
    // a missing origin, each at its seq; without trust keys the same export just verifies.
    let lines = export_lines_signed(1, 30, true);
    let Outcome::Verified(v) = verify_origins(&lines, SignaturePolicy::Optional) else {
        panic!("a signed export does not verify");
    };
    let tally = v.origins.expect("a tally")[TEST_TRUST];
    assert_eq!((tally.signed, tally.unsigned), (15, 15));
    assert!(matches!(verify(&lines), Outcome::Verified(_)));
    let p = match verify_origins(&lines, SignaturePolicy::Required) {
        Outcome::Tampered(p) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!((p.seq, p.kind), (2, Kind::MissingOrigin), "{}", p.detail);
    let mut bad = lines.clone();
    let i = bad[at(5)].find("\"origin_signature\":\"").unwrap() + 25;
    let c = if &bad[at(5)][i..=i] == "A" { "B" } else { "A" };
    bad[at(5)].replace_range(i..=i, c);
    let p = match verify_origins(&bad, SignaturePolicy::Optional) {
        Outcome::Tampered(p) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!((p.seq, p.kind), (5, Kind::BadOrigin), "{}", p.detail);
}

#[test]
fn a_record_line_whose_signature_is_not_base64_is_written_back_as_read() {
    // Proves (regression): a record line whose `origin_signature` holds characters outside
    // base64 (any JSON string the reader can borrow) is written back and read again to the
    // same value, and under trust keys is a bad origin at its seq, not a panic of the writer.
    let lines = export_lines_signed(1, 3, true);
    let sig = sign_event(test_signer(), &event(1, 100)).to_text();
    for odd in ["not base64!", " ", "é", "<>"] {
        let mut bad = lines.clone();
        bad[at(1)] = bad[at(1)].replacen(&sig, odd, 1);
        parse_line_checked(&bad[at(1)]);
        let text = bad.join("\n") + "\n";
        match export_checked(text.as_bytes(), &key(), &trust()) {
            Outcome::Tampered(p) => assert_eq!((p.seq, p.kind), (1, Kind::BadOrigin), "{odd}"),
            other => panic!("{odd}: {other:?}"),
        }
    }
}
