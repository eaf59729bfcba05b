//! The side tables: dead letters (and their event-id index), snapshots and named values.

use crate::common::*;
use golive_store::{DEAD_LETTER_RAW_BYTES_MAX, DeadLetter, NewDeadLetter, Store, StoreError};

#[test]
fn dead_letters_round_trip_in_order_and_survive_reopen() {
    // Proves dead letters keep origin, raw bytes, field, reason and time, are numbered from 1
    // in the order added, are counted, and are still there after a reopen.
    let dir = tempfile::tempdir().unwrap();
    let first = NewDeadLetter {
        origin: "feed.jsonl:12".into(),
        raw: b"{\"event_id\": 1}".to_vec(),
        field: Some("event_id".into()),
        reason: "`1` is not a UUID".into(),
        received_at: t(1_700_000_000, 5),
        event_id: Some(golive_model::EventId::from_bytes([7; 16])),
    };
    let second = NewDeadLetter {
        origin: "golive.events.RAL.patient_lost".into(),
        raw: vec![0xff, 0xfe, 0x00],
        field: None,
        reason: "message is not valid UTF-8".into(),
        received_at: t(1_700_000_001, 0),
        event_id: None,
    };
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.dead_letter_count(), 0);
        assert_eq!(store.add_dead_letter(first.clone()).unwrap(), 1);
        assert_eq!(store.add_dead_letter(second.clone()).unwrap(), 2);
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.dead_letter_count(), 2);
    let got: Vec<DeadLetter> = store.dead_letters().map(Result::unwrap).collect();
    let want = |id: u64, d: &NewDeadLetter| DeadLetter {
        id,
        origin: d.origin.clone(),
        raw: d.raw.clone(),
        raw_len: d.raw.len() as u64,
        field: d.field.clone(),
        reason: d.reason.clone(),
        received_at: d.received_at,
    };
    assert_eq!(got, vec![want(1, &first), want(2, &second)]);
    // A refused event's id leads to its dead letter (receipts say "dead-lettered" for it).
    assert_eq!(
        store
            .dead_letter_of(&golive_model::EventId::from_bytes([7; 16]))
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        store
            .dead_letter_of(&golive_model::EventId::from_bytes([8; 16]))
            .unwrap(),
        None
    );
    assert_eq!(store.add_dead_letter(first).unwrap(), 3);
}

#[test]
fn an_oversized_dead_letter_is_cut_and_its_length_kept() {
    // Proves raw bytes beyond the limit are cut while the original length is recorded.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let raw = vec![b'x'; DEAD_LETTER_RAW_BYTES_MAX + 10];
    store
        .add_dead_letter(NewDeadLetter {
            origin: "stdin:1".into(),
            raw,
            field: None,
            reason: "message is too large".into(),
            received_at: t(0, 0),
            event_id: None,
        })
        .unwrap();
    let d = store.dead_letters().next().unwrap().unwrap();
    assert_eq!(d.raw.len(), DEAD_LETTER_RAW_BYTES_MAX);
    assert_eq!(d.raw_len, DEAD_LETTER_RAW_BYTES_MAX as u64 + 10);
}

/// Appends `n` lost-patient events of RAL (seqs 1 to `n` in a new store).
fn append_lost(store: &Store, n: u32) {
    store
        .append_batch(
            (1..=n)
                .map(|i| incoming(lost(u128::from(i), "RAL", "ral-pas", u64::from(i))))
                .collect(),
        )
        .unwrap();
}

#[test]
fn snapshot_lookup_finds_the_latest_at_or_before_a_seq() {
    // Proves snapshot_at_or_before returns the nearest snapshot not after the seq, none
    // before the first, refuses a snapshot ahead of the head, and pruning keeps the latest.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    append_lost(&store, 30);
    for seq in [10u64, 20, 30] {
        store
            .put_snapshot(seq, format!("snapshot@{seq}").as_bytes())
            .unwrap();
    }
    assert_eq!(store.snapshot_at_or_before(9).unwrap(), None);
    assert_eq!(
        store.snapshot_at_or_before(10).unwrap(),
        Some((10, b"snapshot@10".to_vec()))
    );
    assert_eq!(
        store.snapshot_at_or_before(25).unwrap(),
        Some((20, b"snapshot@20".to_vec()))
    );
    assert_eq!(
        store.snapshot_at_or_before(u64::MAX).unwrap().unwrap().0,
        30
    );
    assert!(matches!(
        store.put_snapshot(31, b"ahead"),
        Err(StoreError::SnapshotAhead { seq: 31, head: 30 })
    ));
    assert_eq!(store.prune_snapshots(2).unwrap(), 1);
    assert_eq!(store.snapshot_seqs().unwrap(), vec![20, 30]);
    assert_eq!(store.snapshot_at_or_before(15).unwrap(), None);
    assert_eq!(store.prune_snapshots(5).unwrap(), 0);
}

#[test]
fn snapshots_are_files_and_a_damaged_one_falls_back_to_the_one_before() {
    // Proves snapshots live in `snapshots/` beside sled (counted in size_on_disk), survive a
    // reopen, and that a damaged latest file is skipped for the previous one, not returned.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        append_lost(&store, 20);
        let before = store.size_on_disk().unwrap();
        store.put_snapshot(10, &[1u8; 100_000]).unwrap();
        store.put_snapshot(20, &[2u8; 100_000]).unwrap();
        // Counted, compressed (100,000 equal bytes take a few hundred).
        assert!(store.size_on_disk().unwrap() > before);
    }
    let files = dir.path().join(golive_store::SNAPSHOT_DIR);
    let latest = files.join(format!("{:020}.snap", 20));
    let mut bytes = std::fs::read(&latest).unwrap();
    let at = bytes.len() - 5; // in the (compressed) body
    bytes[at] ^= 0xff;
    std::fs::write(&latest, bytes).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.snapshot_seqs().unwrap(), vec![10, 20]);
    assert_eq!(
        store.snapshot_at_or_before(25).unwrap(),
        Some((10, vec![1u8; 100_000]))
    );
    assert_eq!(store.snapshot_seqs().unwrap(), vec![10]);
}

#[test]
fn snapshot_files_of_the_earlier_naming_move_to_snapshots_at_open() {
    // Proves a store whose snapshot files are `checkpoints/<seq>.ckpt` (before "checkpoint"
    // meant only the signed tree head) opens with the same snapshots under `snapshots/`, and the
    // old directory is gone.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        append_lost(&store, 20);
        store.put_snapshot(10, b"ten").unwrap();
        store.put_snapshot(20, b"twenty").unwrap();
    }
    let new_dir = dir.path().join(golive_store::SNAPSHOT_DIR);
    let old_dir = dir.path().join("checkpoints");
    std::fs::rename(&new_dir, &old_dir).unwrap();
    for seq in [10u64, 20] {
        let from = old_dir.join(format!("{seq:020}.snap"));
        std::fs::rename(&from, old_dir.join(format!("{seq:020}.ckpt"))).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.snapshot_seqs().unwrap(), vec![10, 20]);
    assert_eq!(
        store.snapshot_at_or_before(15).unwrap(),
        Some((10, b"ten".to_vec()))
    );
    assert!(
        !old_dir.exists(),
        "the old directory is removed once emptied"
    );
    assert!(new_dir.join(format!("{:020}.snap", 20)).is_file());
}

#[test]
fn snapshots_kept_in_sled_by_the_first_layout_move_to_files_at_open() {
    // Proves an older store (snapshots in the sled tree `checkpoints`) keeps its snapshots:
    // they become files at the first open and the tree is gone.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        append_lost(&store, 20);
        store.flush().unwrap();
    }
    raw::with_tree(dir.path(), "checkpoints", |tree| {
        tree.insert(10u64.to_be_bytes(), b"snapshot@10".to_vec())
            .unwrap();
        tree.insert(20u64.to_be_bytes(), b"snapshot@20".to_vec())
            .unwrap();
    });
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.snapshot_seqs().unwrap(), vec![10, 20]);
    assert_eq!(
        store.snapshot_at_or_before(15).unwrap(),
        Some((10, b"snapshot@10".to_vec()))
    );
    drop(store);
    raw::with_db(dir.path(), |db| {
        assert!(
            !db.tree_names().iter().any(|n| n.as_ref() == b"checkpoints"),
            "the old tree is dropped"
        );
    });
}

#[test]
fn named_values_round_trip_and_cannot_touch_the_head() {
    // Proves meta_get/meta_set keep small values across a reopen, live apart from the store's
    // own keys (setting "head" does not move the head), and refuse oversized values.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .append_batch(vec![incoming(lost(1, "RAL", "ral-pas", 1))])
            .unwrap();
        assert_eq!(store.meta_get("consumer_position").unwrap(), None);
        store
            .meta_set("consumer_position", &42u64.to_be_bytes())
            .unwrap();
        store.meta_set("head", b"not the head").unwrap();
        store.flush().unwrap();
        assert!(matches!(
            store.meta_set("big", &vec![0u8; 1 << 20]),
            Err(StoreError::TooLarge { .. })
        ));
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.meta_get("consumer_position").unwrap(),
        Some(42u64.to_be_bytes().to_vec())
    );
    assert_eq!(
        store.meta_get("head").unwrap(),
        Some(b"not the head".to_vec())
    );
    assert_eq!(store.head().seq, 1);
    assert!(store.size_on_disk().unwrap() > 0);
}
