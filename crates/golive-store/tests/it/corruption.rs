//! Corruption: altered records, a head that disagrees with the log, a damaged id index, a
//! foreign format version. Each test writes raw bytes through sled directly, as a disk fault or
//! a tamperer would, using the layout spelled out in `crate::common::raw`.

use crate::common::raw::{self, TREE, seq_key};
use crate::common::*;
use golive_store::{ChainError, Store, StoreError};

/// A store with `n` patient_lost events appended in one batch (so one log chunk), closed again.
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

/// A store with `n` events appended one batch each (so one log chunk per seq), closed again.
fn store_one_per_batch(n: u128) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for i in 1..=n {
        store
            .append_batch(vec![incoming(lost(i, "RAL", "ral-pas", i as u64))])
            .unwrap();
    }
    dir
}

fn ledger(dir: &tempfile::TempDir, f: impl FnOnce(&sled::Tree)) {
    raw::with_tree(dir.path(), TREE, f);
}

/// Flips the lowest bit of the first byte of `needle` inside record `seq`'s stored bytes.
fn flip_in_record(dir: &tempfile::TempDir, seq: u64, needle: &[u8]) {
    ledger(dir, |t| {
        raw::edit_chunk(t, seq, |records, i| {
            let v = &mut records[i];
            let at = v
                .windows(needle.len())
                .position(|w| w == needle)
                .expect("needle in record");
            v[at] ^= 1;
        });
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
    // Proves a record cut short is reported as undecodable at its seq, a removed chunk as a
    // gap at the first missing seq, and a record removed from inside a chunk at its seq.
    let dir = store_with(6);
    ledger(&dir, |t| {
        raw::edit_chunk(t, 2, |records, i| {
            let v = &mut records[i];
            v.truncate(v.len() - 3);
        });
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
    // The records around it still read.
    assert_eq!(store.get(3).unwrap().unwrap().seq, 3);
    drop(store);

    let dir = store_one_per_batch(6);
    ledger(&dir, |t| {
        assert_eq!(raw::chunk_starts(t), vec![1, 2, 3, 4, 5, 6]);
        t.remove(seq_key(b'L', 4)).unwrap();
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
    assert_eq!(store.get(4).unwrap(), None);
}

#[test]
fn verify_chain_names_the_seq_of_a_record_missing_from_inside_a_chunk() {
    // Proves that when a record disappears from the middle of a chunk (the later chunk, the
    // head and the id index intact, so open succeeds), verify_chain names the seq whose
    // position now holds the wrong record.
    let dir = store_with(6);
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .append_batch(vec![incoming(lost(7, "RAL", "ral-pas", 7))])
            .unwrap();
    }
    ledger(&dir, |t| {
        assert_eq!(raw::chunk_starts(t), vec![1, 7]);
        raw::edit_chunk(t, 4, |records, i| {
            records.remove(i);
        });
    });
    let store = Store::open(dir.path()).expect("the last chunk and the head are intact");
    let err = store.verify_chain().unwrap_err();
    assert!(
        matches!(err, ChainError::SeqMismatch { seq: 4, found: 5 }),
        "got {err:?}"
    );
    assert_eq!(err.seq(), Some(4));
    assert!(matches!(
        store.get(4),
        Err(StoreError::Corrupt { seq: 4, .. })
    ));
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
fn open_refuses_a_chunk_cut_short() {
    // Proves a log chunk whose bytes end inside its last record is refused at open, naming
    // that record's seq.
    let dir = store_with(3);
    ledger(&dir, |t| {
        let v = t.get(seq_key(b'L', 1)).unwrap().unwrap();
        t.insert(seq_key(b'L', 1), &v[..v.len() - 10]).unwrap();
    });
    match Store::open(dir.path()).expect_err("chunk cut short") {
        StoreError::Corrupt { seq: 3, what } => assert!(what.contains("malformed"), "{what}"),
        other => panic!("got {other:?}"),
    }
}

#[test]
fn open_refuses_a_head_that_disagrees_with_the_log() {
    // Proves open compares the stored head with the last record: a different hash, a head
    // behind the log and a head ahead of the log are each refused, naming the seq.
    let dir = store_with(3);
    ledger(&dir, |t| {
        let mut h = t.get("H").unwrap().unwrap().to_vec();
        h[20] ^= 0xff;
        t.insert("H", h).unwrap();
    });
    match Store::open(dir.path()).expect_err("hash mismatch") {
        StoreError::Corrupt { seq: 3, what } => assert!(what.contains("stored head"), "{what}"),
        other => panic!("got {other:?}"),
    }

    let dir = store_with(3);
    ledger(&dir, |t| {
        // A fourth record that the head never moved to: a copy of record 3 in a chunk at 4.
        let (_, records) = raw::chunk_of(t, 3);
        t.insert(seq_key(b'L', 4), raw::join_chunk(&records[2..]))
            .unwrap();
    });
    match Store::open(dir.path()).expect_err("log ahead of head") {
        StoreError::Corrupt { seq: 4, .. } => {}
        other => panic!("got {other:?}"),
    }

    let dir = store_with(3);
    ledger(&dir, |t| {
        raw::edit_chunk(t, 3, |records, i| {
            records.remove(i);
        });
    });
    match Store::open(dir.path()).expect_err("head ahead of log") {
        StoreError::Corrupt { seq: 3, what } => assert!(what.contains("seq 2"), "{what}"),
        other => panic!("got {other:?}"),
    }
}

#[test]
fn verify_chain_names_a_record_whose_indexed_id_was_altered() {
    // Proves the id index is checked against the log: an id block entry that differs from
    // its record's event id is reported at that seq (dedupe relies on this index).
    let dir = store_with(6);
    ledger(&dir, |t| {
        let mut block = t.get(seq_key(b'I', 1)).unwrap().unwrap().to_vec();
        assert_eq!(block.len(), 6 * 16);
        block[4 * 16 + 3] ^= 1;
        t.insert(seq_key(b'I', 1), block).unwrap();
    });
    let store = Store::open(dir.path()).unwrap();
    match store.verify_chain().expect_err("index differs from log") {
        ChainError::Store(StoreError::Corrupt { seq: 5, what }) => {
            assert!(what.contains("id index"), "{what}")
        }
        other => panic!("got {other:?}"),
    }
}

#[test]
fn open_refuses_an_id_index_with_a_hole_or_a_repeated_id() {
    // Proves open refuses an id index that does not cover every seq once (a missing block) or
    // that holds one event id at two seqs, naming the seq; either would break dedupe.
    let dir = store_one_per_batch(5);
    ledger(&dir, |t| {
        t.remove(seq_key(b'I', 3)).unwrap();
    });
    match Store::open(dir.path()).expect_err("hole in the index") {
        StoreError::Corrupt { seq: 3, what } => assert!(what.contains("id index"), "{what}"),
        other => panic!("got {other:?}"),
    }

    let dir = store_one_per_batch(5);
    ledger(&dir, |t| {
        let second = t.get(seq_key(b'I', 2)).unwrap().unwrap();
        t.insert(seq_key(b'I', 4), second).unwrap();
    });
    match Store::open(dir.path()).expect_err("repeated id") {
        StoreError::Corrupt { seq: 4, what } => assert!(what.contains("seq 2"), "{what}"),
        other => panic!("got {other:?}"),
    }

    let dir = store_one_per_batch(2);
    ledger(&dir, |t| {
        t.insert(seq_key(b'I', 3), &[0u8; 16][..]).unwrap();
    });
    match Store::open(dir.path()).expect_err("index beyond the head") {
        StoreError::Corrupt { seq: 3, .. } => {}
        other => panic!("got {other:?}"),
    }
}

#[test]
fn open_refuses_another_format_version() {
    // Proves a store written in another format version is refused with both versions named.
    let dir = store_with(1);
    raw::with_tree(dir.path(), "meta", |meta| {
        meta.insert("format_version", &3u32.to_be_bytes()).unwrap();
    });
    // A format-3 log need not decode as format 2: the version is checked before the head.
    ledger(&dir, |t| {
        t.insert(seq_key(b'L', 1), &[3u8, 0, 0][..]).unwrap();
    });
    let err = Store::open(dir.path()).expect_err("format 3 is unknown");
    assert!(
        matches!(
            err,
            StoreError::UnsupportedFormat {
                found: 3,
                supported: 2,
                ..
            }
        ),
        "got {err:?}"
    );
}

#[test]
fn a_format_1_store_is_marked_format_2_in_place_and_keeps_its_records() {
    // Proves the in-place upgrade: a store recording format 1 opens, its records are untouched
    // (same head), and it now records format 2, so a format-1 build would refuse it.
    let dir = store_with(3);
    let head = Store::open(dir.path()).unwrap().head();
    raw::with_tree(dir.path(), "meta", |meta| {
        meta.insert("format_version", &1u32.to_be_bytes()).unwrap();
    });
    let store = Store::open(dir.path()).expect("format 1 opens");
    assert_eq!(store.head(), head);
    drop(store);
    raw::with_tree(dir.path(), "meta", |meta| {
        let v = meta.get("format_version").unwrap().unwrap();
        assert_eq!(v.as_ref(), &2u32.to_be_bytes());
    });
}

#[test]
fn open_refuses_the_pre_release_layout_instead_of_reading_it_as_empty() {
    // Proves a directory written with the pre-release layout (a tree per index, `log` among
    // them) is refused rather than opened as an empty ledger.
    let dir = tempfile::tempdir().unwrap();
    raw::with_tree(dir.path(), "log", |log| {
        log.insert(1u64.to_be_bytes(), &b"old record"[..]).unwrap();
    });
    match Store::open(dir.path()).expect_err("legacy layout") {
        StoreError::CorruptTree { what, .. } => assert!(what.contains("pre-release"), "{what}"),
        other => panic!("got {other:?}"),
    }
}

/// Copies the files of a closed store (sled's and the head mark) from `from` into `to`.
fn copy_files(from: &std::path::Path, to: &std::path::Path, only: Option<&str>) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_str().unwrap();
        if only.is_some_and(|o| o != name) || entry.file_type().unwrap().is_dir() {
            continue;
        }
        std::fs::copy(entry.path(), to.join(name)).unwrap();
    }
}

#[test]
fn open_refuses_a_sled_file_that_lost_its_end_by_the_head_mark_outside_sled() {
    // Proves that a sled file which lost its last records (what sled's own recovery makes of a
    // truncated or torn file: a valid, shorter log with a matching head inside it) is refused
    // at open, naming the missing seqs, because the head mark beside it recorded more; and that
    // a missing mark or a mark of another log is refused too, while a mark that merely lags
    // (a crash between sled's flush and the mark's write) is accepted and brought up to date.
    let dir = tempfile::tempdir().unwrap();
    let older = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        for i in 1..=3 {
            store
                .append_batch(vec![incoming(lost(i, "RAL", "ral-pas", i as u64))])
                .unwrap();
        }
    }
    copy_files(dir.path(), older.path(), None);
    {
        let store = Store::open(dir.path()).unwrap();
        for i in 4..=5 {
            store
                .append_batch(vec![incoming(lost(i, "RAL", "ral-pas", i as u64))])
                .unwrap();
        }
    }
    // sled's files of 3 records under the mark of 5.
    let shortened = tempfile::tempdir().unwrap();
    copy_files(older.path(), shortened.path(), None);
    copy_files(
        dir.path(),
        shortened.path(),
        Some(golive_store::HEAD_MARK_FILE),
    );
    match Store::open(shortened.path()).expect_err("sled lost seqs 4 and 5") {
        StoreError::Corrupt { seq: 4, what } => {
            assert!(what.contains("seqs 4 to 5 are missing"), "{what}");
        }
        other => panic!("got {other}"),
    }
    // The mark removed: refused, not taken for an older store.
    let unmarked = tempfile::tempdir().unwrap();
    copy_files(dir.path(), unmarked.path(), None);
    std::fs::remove_file(unmarked.path().join(golive_store::HEAD_MARK_FILE)).unwrap();
    let err = Store::open(unmarked.path()).expect_err("mark missing");
    assert!(err.to_string().contains("is missing"), "{err}");
    // A lagging mark (of 3, sled at 5): accepted and moved to 5.
    let lagging = tempfile::tempdir().unwrap();
    copy_files(dir.path(), lagging.path(), None);
    copy_files(
        older.path(),
        lagging.path(),
        Some(golive_store::HEAD_MARK_FILE),
    );
    assert_eq!(Store::open(lagging.path()).unwrap().head().seq, 5);
    // The mark of another log at the same seq: refused.
    let other = tempfile::tempdir().unwrap();
    {
        let store = Store::open(other.path()).unwrap();
        for i in 1..=5 {
            store
                .append_batch(vec![incoming(lost(100 + i, "RAL", "ral-pas", i as u64))])
                .unwrap();
        }
    }
    let forked = tempfile::tempdir().unwrap();
    copy_files(dir.path(), forked.path(), None);
    copy_files(
        other.path(),
        forked.path(),
        Some(golive_store::HEAD_MARK_FILE),
    );
    match Store::open(forked.path()).expect_err("another log's mark") {
        StoreError::Corrupt { seq: 5, what } => {
            assert!(what.contains("not the one that was flushed"), "{what}")
        }
        other => panic!("got {other}"),
    }
}
