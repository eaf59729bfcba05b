//! Corruption: altered records, a head that disagrees with the log, a foreign format version.
//! Each test writes raw bytes through sled directly, as a disk fault or a tamperer would.

mod common;

use common::*;
use golive_store::{ChainError, Store, StoreError};

/// A store with `n` patient_lost events, closed again.
fn store_with(n: u128) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .append_batch(
            (1..=n)
                .map(|i| incoming(lost(i, "RAL", "ral-pas", i as u64)))
                .collect(),
        )
        .unwrap();
    dir
}

/// Runs `f` on the raw sled tree `name` of the closed store in `dir`.
/// Like `Store::open`, it waits for sled's background threads of the closed store to let go.
fn raw_tree(dir: &tempfile::TempDir, name: &str, f: impl FnOnce(&sled::Tree)) {
    let mut tries = 0;
    let db = loop {
        match sled::open(dir.path()) {
            Ok(db) => break db,
            Err(_) if tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("raw open: {e}"),
        }
    };
    let tree = db.open_tree(name).unwrap();
    f(&tree);
    db.flush().unwrap();
}

/// Flips the lowest bit of the first byte of `needle` inside record `seq`'s stored bytes.
fn flip_in_record(dir: &tempfile::TempDir, seq: u64, needle: &[u8]) {
    raw_tree(dir, "log", |log| {
        let mut v = log.get(seq.to_be_bytes()).unwrap().unwrap().to_vec();
        let at = v
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("needle in record");
        v[at] ^= 1;
        log.insert(seq.to_be_bytes(), v).unwrap();
    });
}

#[test]
fn verify_chain_names_the_record_whose_byte_was_flipped() {
    // Proves a single flipped bit inside a record's data (still decodable) is detected by
    // verify_chain and reported at that record's seq, while open (which checks the head only)
    // still succeeds.
    let dir = store_with(10);
    flip_in_record(&dir, 5, b"P-000005");
    let store = Store::open(dir.path()).expect("the head is intact");
    let err = store.verify_chain().expect_err("the chain is broken");
    assert!(matches!(err, ChainError::Hash { seq: 5 }), "got {err:?}");
    assert_eq!(err.seq(), Some(5));
    assert!(err.to_string().contains("record 5"), "{err}");
    // Reading the record does not check its hash; the caller can.
    let r = store.get(5).unwrap().unwrap();
    assert!(!r.verify_hash());
    assert!(store.get(4).unwrap().unwrap().verify_hash());
}

#[test]
fn verify_chain_names_a_record_whose_stored_hash_was_altered() {
    // Proves altering the stored hash of a record is caught at that record (its hash no
    // longer recomputes), not only at the next one.
    let dir = store_with(6);
    let hash = {
        let store = Store::open(dir.path()).unwrap();
        store.get(3).unwrap().unwrap().hash
    };
    flip_in_record(&dir, 3, &hash);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.verify_chain().unwrap_err().seq(), Some(3));
}

#[test]
fn verify_chain_names_an_undecodable_record_and_a_gap() {
    // Proves a record cut short is reported as undecodable at its seq, and a removed record as
    // a gap at the missing seq.
    let dir = store_with(6);
    raw_tree(&dir, "log", |log| {
        let v = log.get(2u64.to_be_bytes()).unwrap().unwrap();
        log.insert(2u64.to_be_bytes(), &v[..v.len() - 3]).unwrap();
    });
    let store = Store::open(dir.path()).unwrap();
    let err = store.verify_chain().unwrap_err();
    assert!(
        matches!(err, ChainError::Undecodable { seq: 2, .. }),
        "got {err:?}"
    );
    assert!(matches!(
        store.get(2),
        Err(StoreError::Corrupt { seq: 2, .. })
    ));
    drop(store);

    let dir = store_with(6);
    raw_tree(&dir, "log", |log| {
        log.remove(4u64.to_be_bytes()).unwrap();
    });
    let store = Store::open(dir.path()).unwrap();
    let err = store.verify_chain().unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::Gap {
                expected: 4,
                found: 5
            }
        ),
        "got {err:?}"
    );
}

#[test]
fn open_refuses_a_last_record_that_was_altered() {
    // Proves open recomputes the last record's hash and names its seq when it does not match.
    let dir = store_with(4);
    flip_in_record(&dir, 4, b"P-000004");
    let err = Store::open(dir.path()).expect_err("open must fail");
    match &err {
        StoreError::Corrupt { seq: 4, what } => assert!(what.contains("hash"), "{what}"),
        other => panic!("expected Corrupt at seq 4, got {other:?}"),
    }
    assert!(err.to_string().contains("seq 4"), "{err}");
}

#[test]
fn open_refuses_a_head_that_disagrees_with_the_log() {
    // Proves open compares meta's head with the last record: a different hash, a head behind
    // the log and a head ahead of the log are each refused, naming the seq.
    let dir = store_with(3);
    raw_tree(&dir, "meta", |meta| {
        let mut h = meta.get("head").unwrap().unwrap().to_vec();
        h[20] ^= 0xff;
        meta.insert("head", h).unwrap();
    });
    match Store::open(dir.path()).expect_err("hash mismatch") {
        StoreError::Corrupt { seq: 3, what } => assert!(what.contains("meta's head"), "{what}"),
        other => panic!("got {other:?}"),
    }

    let dir = store_with(3);
    raw_tree(&dir, "log", |log| {
        // A fourth record that the head never moved to: a copy of record 3 under key 4.
        let v = log.get(3u64.to_be_bytes()).unwrap().unwrap();
        log.insert(4u64.to_be_bytes(), v).unwrap();
    });
    match Store::open(dir.path()).expect_err("log ahead of head") {
        StoreError::Corrupt { seq: 4, .. } => {}
        other => panic!("got {other:?}"),
    }

    let dir = store_with(3);
    raw_tree(&dir, "log", |log| {
        log.remove(3u64.to_be_bytes()).unwrap();
    });
    match Store::open(dir.path()).expect_err("head ahead of log") {
        StoreError::Corrupt { seq: 3, what } => assert!(what.contains("seq 2"), "{what}"),
        other => panic!("got {other:?}"),
    }
}

#[test]
fn open_refuses_another_format_version() {
    // Proves a store written in another format version is refused with both versions named.
    let dir = store_with(1);
    raw_tree(&dir, "meta", |meta| {
        meta.insert("format_version", &2u32.to_be_bytes()).unwrap();
    });
    // A format-2 record need not decode as format 1: the version is checked before the head.
    raw_tree(&dir, "log", |log| {
        log.insert(1u64.to_be_bytes(), &[2u8, 0, 0][..]).unwrap();
    });
    let err = Store::open(dir.path()).expect_err("format 2 is unknown");
    assert!(
        matches!(
            err,
            StoreError::UnsupportedFormat {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "got {err:?}"
    );
}
