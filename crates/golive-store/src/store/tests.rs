//! The store's run-time assertions (programmer errors, which crash in release builds too) and
//! its read-back checks at open (damage on disk, which stays a `StoreError`).

use super::*;
use crate::{Incoming, StoreError};

/// Valid patient_lost event number `i`, received at a fixed time.
fn event(i: u64) -> Incoming {
    let line = format!(
        r#"{{"event_id":"00000000-0000-4000-8000-{i:012}","trust":"RAL","collector":"c","collector_seq":{i},"occurred_at":"2008-01-01T00:00:00Z","recorded_at":"2008-01-02T00:00:00Z","schema":1,"kind":"patient_lost","data":{{"patient_ref":"P-{i:06}","pathway":"rtt_18wk"}},"status":"reported"}}"#
    );
    let e = golive_model::decode(line.as_bytes()).expect("valid test event");
    Incoming::new(
        e,
        None,
        chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    )
}

/// The stored bytes of event `i` as record `seq` after `prev_hash`, with the hash it should carry.
fn encoded(i: u64, seq: u64, prev_hash: &ChainHash) -> (Vec<u8>, ChainHash, Incoming) {
    let incoming = event(i);
    let canonical = incoming.envelope.canonical_bytes();
    let hash = chain_hash(prev_hash, seq, &canonical);
    let mut buf = Vec::new();
    let parts = codec::RecordParts {
        seq,
        stream_seq: None,
        received_at: incoming.received_at,
        prev_hash,
        hash: &hash,
        origin_signature: None,
    };
    codec::encode_record_parts(&parts, &canonical, &mut buf).unwrap();
    (buf, hash, incoming)
}

#[test]
fn next_seq_is_one_more() {
    // Proves the seq after a record's is the next integer, from the genesis head on.
    assert_eq!(next_seq(0), 1);
    assert_eq!(next_seq(41), 42);
}

#[test]
#[should_panic(
    expected = "seqs must strictly increase on append: no seq follows 18446744073709551615"
)]
fn no_seq_follows_the_largest() {
    // Proves seqs never wrap: at u64::MAX the append crashes instead of writing seq 0.
    next_seq(u64::MAX);
}

#[test]
fn a_record_encoded_with_its_hash_passes_the_check() {
    // Proves the check after building a record accepts what the append path writes.
    let (bytes, hash, incoming) = encoded(1, 1, &Head::GENESIS.hash);
    assert_record_carries_its_hash(&bytes, 1, &Head::GENESIS.hash, &hash, &incoming.envelope);
}

#[test]
#[should_panic(expected = "the record encoded for seq 1 does not carry the hash of its contents")]
fn a_record_carrying_another_hash_fails_the_check() {
    // Proves a record whose carried hash is not the one computed for it is caught before it
    // is written.
    let (bytes, _, incoming) = encoded(1, 1, &Head::GENESIS.hash);
    assert_record_carries_its_hash(&bytes, 1, &Head::GENESIS.hash, &[7; 32], &incoming.envelope);
}

#[test]
#[should_panic(expected = "the record encoded for seq 2 does not carry the hash of its contents")]
fn a_record_that_decodes_to_another_envelope_fails_the_check() {
    // Proves the check catches an envelope that does not survive encoding (what a lossy codec
    // would write): its hash would not verify when read back.
    let (bytes, hash, _) = encoded(1, 2, &[3; 32]);
    let other = event(2);
    assert_record_carries_its_hash(&bytes, 2, &[3; 32], &hash, &other.envelope);
}

#[test]
#[should_panic(expected = "the record just encoded for seq 1 does not decode")]
fn bytes_that_do_not_decode_fail_the_check() {
    // Proves a record the decoder cannot read back is caught before it is written.
    let (bytes, hash, incoming) = encoded(1, 1, &Head::GENESIS.hash);
    let cut = &bytes[..bytes.len() - 1];
    assert_record_carries_its_hash(cut, 1, &Head::GENESIS.hash, &hash, &incoming.envelope);
}

#[test]
fn open_refuses_a_damaged_record_at_a_lagging_head_mark() {
    // Proves the record the head mark names is read back at open with its hash recomputed:
    // with the mark at seq 3 (lagging sled's head at 5, which open accepts), a flipped byte in
    // record 3's data is reported as corruption at seq 3, not opened silently.
    let dir = tempfile::tempdir().unwrap();
    let mark_path = dir.path().join(HEAD_MARK_FILE);
    let store = Store::open(dir.path()).unwrap();
    for i in 1..=3 {
        store.append_batch(vec![event(i)]).unwrap();
    }
    let mark_at_3 = std::fs::read(&mark_path).unwrap();
    for i in 4..=5 {
        store.append_batch(vec![event(i)]).unwrap();
    }
    drop(store);
    std::fs::write(&mark_path, mark_at_3).unwrap();
    {
        let db = open_db(dir.path()).unwrap();
        let tree = db.open_tree(layout::TREE).unwrap();
        let key = seq_key(LOG, 3);
        let mut chunk = tree
            .get(key)
            .unwrap()
            .expect("one chunk per batch")
            .to_vec();
        let at = chunk
            .windows(8)
            .position(|w| w == b"P-000003")
            .expect("the patient ref in the record");
        chunk[at] ^= 1;
        tree.insert(key, chunk).unwrap();
        db.flush().unwrap();
    }
    match Store::open(dir.path()).expect_err("record 3 was altered") {
        StoreError::Corrupt { seq: 3, what } => {
            assert!(what.contains("is not the hash of its contents"), "{what}");
        }
        other => panic!("expected Corrupt at seq 3, got {other}"),
    }
}
