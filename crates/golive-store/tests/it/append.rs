//! Appending: seqs, heads, dedupe, reopen, collectors, corrections, limits, the lock.

use crate::common::*;
use golive_model::{CollectorId, EventBody, GENESIS_HASH, Kind, chain_hash};
use golive_store::{
    APPEND_BATCH_EVENTS_MAX, Head, Incoming, Outcome, RejectReason, Store, StoreError,
};

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path()).expect("store opens")
}

fn appended(seqs: impl IntoIterator<Item = u64>) -> Vec<Outcome> {
    seqs.into_iter()
        .map(|seq| Outcome::Appended { seq })
        .collect()
}

#[test]
fn a_new_store_is_empty_at_genesis() {
    // Proves an empty store has head seq 0 and the genesis hash, and no records.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert_eq!(
        store.head(),
        Head {
            seq: 0,
            hash: GENESIS_HASH
        }
    );
    assert_eq!(store.len(), 0);
    assert!(store.get(1).unwrap().is_none());
    assert_eq!(store.iter_from(1).count(), 0);
    assert_eq!(store.verify_chain().unwrap(), Head::GENESIS);
}

#[test]
fn append_then_reopen_continues_at_the_right_seq_and_head() {
    // Proves seqs start at 1, hashes chain, and after a reopen the next batch continues the
    // same chain from the same head.
    let dir = tempfile::tempdir().unwrap();
    let head_before;
    {
        let store = open(&dir);
        let out = store
            .append_batch(
                (1..=3)
                    .map(|n| incoming(lost(n, "RAL", "ral-pas", n as u64)))
                    .collect(),
            )
            .unwrap();
        assert_eq!(out, appended(1..=3));
        head_before = store.head();
        assert_eq!(head_before.seq, 3);
        let r1 = store.get(1).unwrap().unwrap();
        assert_eq!(r1.prev_hash, GENESIS_HASH);
        assert_eq!(
            r1.hash,
            chain_hash(&GENESIS_HASH, 1, &r1.envelope.canonical_bytes())
        );
        assert_eq!(store.get(3).unwrap().unwrap().hash, head_before.hash);
    }
    let store = open(&dir);
    assert_eq!(store.head(), head_before);
    let out = store
        .append_batch(vec![incoming(lost(4, "RAL", "ral-pas", 4))])
        .unwrap();
    assert_eq!(out, appended([4]));
    let r4 = store.get(4).unwrap().unwrap();
    assert_eq!(r4.prev_hash, head_before.hash);
    assert!(r4.verify_hash());
    assert_eq!(store.len(), 4);
    assert_eq!(store.verify_chain().unwrap(), store.head());
}

#[test]
fn records_keep_what_was_appended() {
    // Proves a record reads back with its envelope, stream seq and receive time unchanged.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let batch: Vec<Incoming> = bodies()
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            Incoming::new(
                envelope(i as u128 + 1, "RNJ", "rnj-pas", i as u64, b),
                Some(500 + i as u64),
                t(1_700_000_000 + i as i64, 42),
            )
        })
        .collect();
    let out = store.append_batch(batch.clone()).unwrap();
    assert_eq!(out, appended(1..=batch.len() as u64));
    for (i, inc) in batch.iter().enumerate() {
        let r = store.get(i as u64 + 1).unwrap().unwrap();
        assert_eq!(r.envelope, inc.envelope);
        assert_eq!(r.stream_seq, inc.stream_seq);
        assert_eq!(r.received_at, inc.received_at);
    }
}

#[test]
fn duplicates_within_a_batch_and_across_batches_are_appended_once() {
    // Proves a second copy of an event id, in the same batch or a later one, is reported as a
    // duplicate of the first copy's seq and writes nothing.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let out = store
        .append_batch(vec![
            incoming(lost(1, "RAL", "ral-pas", 1)),
            incoming(lost(2, "RAL", "ral-pas", 2)),
            incoming(lost(1, "RAL", "ral-pas", 1)),
            incoming(lost(3, "RAL", "ral-pas", 3)),
        ])
        .unwrap();
    assert_eq!(
        out,
        vec![
            Outcome::Appended { seq: 1 },
            Outcome::Appended { seq: 2 },
            Outcome::Duplicate { seq: 1 },
            Outcome::Appended { seq: 3 },
        ]
    );
    let head = store.head();
    let out = store
        .append_batch(vec![
            incoming(lost(2, "RAL", "ral-pas", 2)),
            incoming(lost(3, "RAL", "ral-pas", 3)),
        ])
        .unwrap();
    assert_eq!(
        out,
        vec![Outcome::Duplicate { seq: 2 }, Outcome::Duplicate { seq: 3 }]
    );
    assert_eq!(store.head(), head);
    assert_eq!(store.seq_of(&id(3)).unwrap(), Some(3));
    assert_eq!(store.seq_of(&id(99)).unwrap(), None);
}

#[test]
fn collectors_record_the_highest_collector_seq_appended() {
    // Proves each collector's receipt is the maximum collector_seq appended, never lowered by
    // an out-of-order or duplicate event, and survives a reopen.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir);
        store
            .append_batch(vec![
                incoming(lost(1, "RAL", "ral-pas", 7)),
                incoming(lost(2, "RAL", "ral-pas", 5)),
                incoming(lost(3, "RNJ", "rnj-pas", 2)),
            ])
            .unwrap();
        store
            .append_batch(vec![incoming(lost(4, "RAL", "ral-pas", 6))])
            .unwrap();
        let ral = CollectorId("ral-pas".into());
        assert_eq!(store.collector_high(&ral).unwrap(), Some(7));
    }
    let store = open(&dir);
    assert_eq!(
        store.collectors().unwrap(),
        vec![
            (CollectorId("ral-pas".into()), 7),
            (CollectorId("rnj-pas".into()), 2)
        ]
    );
    assert_eq!(
        store.collector_high(&CollectorId("none".into())).unwrap(),
        None
    );
}

#[test]
fn iterators_return_records_in_seq_order() {
    // Proves iter_from and range return exactly the requested seqs in order.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store
        .append_batch(
            (1..=10)
                .map(|n| incoming(lost(n, "RAL", "ral-pas", n as u64)))
                .collect(),
        )
        .unwrap();
    let seqs = |it: &mut dyn Iterator<Item = Result<golive_store::Record, StoreError>>| {
        it.map(|r| r.unwrap().seq).collect::<Vec<_>>()
    };
    assert_eq!(seqs(&mut store.iter_from(7)), vec![7, 8, 9, 10]);
    assert_eq!(seqs(&mut store.iter_from(0)), (1..=10).collect::<Vec<_>>());
    assert_eq!(seqs(&mut store.range(3, 5)), vec![3, 4, 5]);
    assert_eq!(seqs(&mut store.range(5, 3)), Vec::<u64>::new());
    assert_eq!(seqs(&mut store.range(9, 100)), vec![9, 10]);
    // The iterator does not borrow the store.
    let it = store.iter_from(1);
    drop(store);
    assert_eq!(it.count(), 10);
}

#[test]
fn a_batch_over_the_limit_is_refused_whole() {
    // Proves a batch larger than APPEND_BATCH_EVENTS_MAX writes nothing and says why.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let batch: Vec<Incoming> = (1..=APPEND_BATCH_EVENTS_MAX as u128 + 1)
        .map(|n| incoming(lost(n, "RAL", "ral-pas", n as u64)))
        .collect();
    assert!(matches!(
        store.append_batch(batch),
        Err(StoreError::TooLarge { .. })
    ));
    assert_eq!(store.len(), 0);
    assert_eq!(store.append_batch(Vec::new()).unwrap(), Vec::new());
}

#[test]
fn a_second_open_of_the_same_directory_is_locked() {
    // Proves a second open while the store is open fails with a readable Locked error.
    let dir = tempfile::tempdir().unwrap();
    let _store = open(&dir);
    let err = Store::open(dir.path()).expect_err("second open must fail");
    assert!(matches!(err, StoreError::Locked { .. }), "got {err:?}");
    let msg = err.to_string();
    assert!(msg.contains("in use by another process"), "{msg}");
    assert!(!msg.contains('\n'));
}

fn correction(n: u128, of: u128, trust_code: &str, body: EventBody) -> Incoming {
    let mut e = envelope(n, trust_code, "ral-pas", n as u64, body);
    e.supersedes = Some(id(of));
    incoming(e)
}

fn lost_body(n: u128) -> EventBody {
    lost(n, "RAL", "ral-pas", 0).body
}

#[test]
fn a_correction_must_name_a_known_event_of_the_same_trust_and_kind() {
    // Proves the supersedes rules: unknown target, other trust and other kind are rejected
    // with a reason and write nothing; a valid correction is appended and indexed.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store
        .append_batch(vec![incoming(lost(1, "RAL", "ral-pas", 1))])
        .unwrap();
    let cost = bodies()
        .into_iter()
        .find(|b| b.kind() == Kind::ExtraCost)
        .unwrap();
    let out = store
        .append_batch(vec![
            correction(10, 99, "RAL", lost_body(10)),
            correction(11, 1, "RNJ", lost_body(11)),
            correction(12, 1, "RAL", cost),
            correction(13, 1, "RAL", lost_body(13)),
        ])
        .unwrap();
    assert_eq!(
        out[0],
        Outcome::Rejected {
            reason: RejectReason::SupersedesUnknown(id(99))
        }
    );
    assert_eq!(
        out[1],
        Outcome::Rejected {
            reason: RejectReason::SupersedesOtherTrust {
                target: id(1),
                target_trust: trust("RAL"),
                trust: trust("RNJ"),
            }
        }
    );
    assert_eq!(
        out[2],
        Outcome::Rejected {
            reason: RejectReason::SupersedesOtherKind {
                target: id(1),
                target_kind: Kind::PatientLost,
                kind: Kind::ExtraCost,
            }
        }
    );
    assert_eq!(out[3], Outcome::Appended { seq: 2 });
    assert_eq!(store.superseded_by(&id(1)).unwrap(), Some(2));
    assert_eq!(store.superseded_by(&id(13)).unwrap(), None);
    assert_eq!(
        store.seq_of(&id(10)).unwrap(),
        None,
        "a rejected event is not indexed"
    );
    assert!(out[1].seq().is_none());
    let msg = match &out[1] {
        Outcome::Rejected { reason } => reason.to_string(),
        _ => unreachable!(),
    };
    assert!(msg.contains("RAL") && msg.contains("RNJ"), "{msg}");
}

#[test]
fn an_event_can_be_superseded_only_once() {
    // Proves a second correction of the same event is rejected naming the first correction's
    // seq, both across batches and within one batch, and that corrections of corrections work.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let out = store
        .append_batch(vec![
            incoming(lost(1, "RAL", "ral-pas", 1)),
            correction(2, 1, "RAL", lost_body(2)),
            correction(3, 1, "RAL", lost_body(3)),
        ])
        .unwrap();
    assert_eq!(
        out,
        vec![
            Outcome::Appended { seq: 1 },
            Outcome::Appended { seq: 2 },
            Outcome::Rejected {
                reason: RejectReason::AlreadySuperseded {
                    target: id(1),
                    by_seq: 2
                }
            },
        ]
    );
    let out = store
        .append_batch(vec![
            correction(4, 1, "RAL", lost_body(4)),
            correction(5, 2, "RAL", lost_body(5)),
        ])
        .unwrap();
    assert_eq!(
        out,
        vec![
            Outcome::Rejected {
                reason: RejectReason::AlreadySuperseded {
                    target: id(1),
                    by_seq: 2
                }
            },
            Outcome::Appended { seq: 3 },
        ]
    );
    assert_eq!(store.superseded_by(&id(2)).unwrap(), Some(3));
    // A rejected correction can come back later as a duplicate-free retry once it is valid.
    let out = store
        .append_batch(vec![correction(6, 5, "RAL", lost_body(6))])
        .unwrap();
    assert_eq!(out, appended([4]));
    assert_eq!(store.verify_chain().unwrap().seq, 4);
}

#[test]
fn a_correction_of_an_event_earlier_in_the_batch_checks_trust_and_kind() {
    // Proves the supersedes rules use events appended earlier in the same batch.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let cost = bodies()
        .into_iter()
        .find(|b| b.kind() == Kind::ExtraCost)
        .unwrap();
    let out = store
        .append_batch(vec![
            incoming(lost(1, "RAL", "ral-pas", 1)),
            correction(2, 1, "RNJ", lost_body(2)),
            correction(3, 1, "RAL", cost),
            correction(4, 1, "RAL", lost_body(4)),
        ])
        .unwrap();
    assert!(matches!(
        out[1],
        Outcome::Rejected {
            reason: RejectReason::SupersedesOtherTrust { .. }
        }
    ));
    assert!(matches!(
        out[2],
        Outcome::Rejected {
            reason: RejectReason::SupersedesOtherKind { .. }
        }
    ));
    assert_eq!(out[3], Outcome::Appended { seq: 2 });
}

#[test]
fn a_batch_spanning_several_log_chunks_reads_back_across_their_boundaries() {
    // Proves a batch whose records exceed one log chunk is stored as several chunks, and that
    // get, iter_from, range, dedupe, corrections and verify_chain work across chunk boundaries
    // and across a reopen, including a correction whose target sits in an earlier chunk.
    let dir = tempfile::tempdir().unwrap();
    let n = 1_500u128;
    let head;
    {
        let store = open(&dir);
        let out = store
            .append_batch(
                (1..=n)
                    .map(|i| incoming(lost(i, "RAL", "ral-pas", i as u64)))
                    .collect(),
            )
            .unwrap();
        assert_eq!(out, appended(1..=n as u64));
        // A correction of seq 2 (first chunk) and a repeat of seq 1,400 (a later chunk), in the
        // same batch as new events.
        let mut fix = lost(n + 1, "RAL", "ral-pas", 0);
        fix.supersedes = Some(id(2));
        let out = store
            .append_batch(vec![
                incoming(fix),
                incoming(lost(1_400, "RAL", "ral-pas", 1_400)),
            ])
            .unwrap();
        assert_eq!(
            out,
            vec![
                Outcome::Appended { seq: n as u64 + 1 },
                Outcome::Duplicate { seq: 1_400 }
            ]
        );
        head = store.head();
    }
    crate::common::raw::with_tree(dir.path(), crate::common::raw::TREE, |t| {
        let starts = crate::common::raw::chunk_starts(t);
        assert!(starts.len() > 3, "expected several chunks, got {starts:?}");
        assert_eq!(starts[0], 1);
        assert_eq!(*starts.last().unwrap(), n as u64 + 1);
    });
    let store = open(&dir);
    assert_eq!(store.head(), head);
    assert_eq!(store.verify_chain().unwrap(), head);
    for seq in 1..=n as u64 + 1 {
        assert_eq!(store.get(seq).unwrap().unwrap().seq, seq, "get({seq})");
    }
    assert_eq!(store.get(n as u64 + 2).unwrap(), None);
    assert_eq!(store.get(0).unwrap(), None);
    let seqs: Vec<u64> = store.iter_from(0).map(|r| r.unwrap().seq).collect();
    assert_eq!(seqs, (1..=n as u64 + 1).collect::<Vec<_>>());
    for from in [1u64, 2, 100, 777, 1_499, 1_500, 1_501] {
        let got: Vec<u64> = store.iter_from(from).map(|r| r.unwrap().seq).collect();
        assert_eq!(
            got,
            (from..=n as u64 + 1).collect::<Vec<_>>(),
            "from {from}"
        );
        let to = (from + 150).min(n as u64 + 1);
        let got: Vec<u64> = store.range(from, to).map(|r| r.unwrap().seq).collect();
        assert_eq!(got, (from..=to).collect::<Vec<_>>(), "range {from}..={to}");
    }
    assert_eq!(store.superseded_by(&id(2)).unwrap(), Some(n as u64 + 1));
    assert_eq!(store.seq_of(&id(1_400)).unwrap(), Some(1_400));
    // The reopened id index still dedupes every event of the big batch.
    let out = store
        .append_batch(
            (1..=n)
                .step_by(97)
                .map(|i| incoming(lost(i, "RAL", "ral-pas", i as u64)))
                .collect(),
        )
        .unwrap();
    assert!(out.iter().all(|o| matches!(o, Outcome::Duplicate { .. })));
    assert_eq!(store.head(), head);
}

#[test]
fn clones_appending_from_several_threads_append_each_event_once() {
    // Proves appends through clones of one Store on several threads are serialised: every
    // event id is appended exactly once whichever thread offered it first, seqs have no gaps,
    // and the chain verifies.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let threads = 4u128;
    let per_thread = 400u128;
    let outcomes: Vec<Vec<Outcome>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let store = store.clone();
                s.spawn(move || {
                    // Every thread offers the same ids, in batches of 50, starting at a
                    // different offset.
                    let ids: Vec<u128> = (0..per_thread)
                        .map(|i| (i + t * 100) % per_thread + 1)
                        .collect();
                    let mut out = Vec::new();
                    for chunk in ids.chunks(50) {
                        let batch = chunk
                            .iter()
                            .map(|&n| incoming(lost(n, "RAL", "ral-pas", n as u64)))
                            .collect();
                        out.extend(store.append_batch(batch).unwrap());
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let appended_count = outcomes
        .iter()
        .flatten()
        .filter(|o| matches!(o, Outcome::Appended { .. }))
        .count();
    assert_eq!(appended_count as u128, per_thread);
    assert_eq!(store.len(), per_thread as u64);
    assert_eq!(store.verify_chain().unwrap(), store.head());
    let mut seen = std::collections::HashSet::new();
    for r in store.iter_from(1) {
        assert!(seen.insert(r.unwrap().envelope.event_id), "an id twice");
    }
    for n in 1..=per_thread {
        let seq = store.seq_of(&id(n)).unwrap().expect("indexed");
        assert_eq!(store.get(seq).unwrap().unwrap().envelope.event_id, id(n));
    }
}

#[test]
fn a_signed_event_keeps_its_signature_across_a_reopen_beside_unsigned_ones() {
    // Proves the origin signature handed to the append is stored with the record (format 3),
    // read back after a reopen, and that unsigned records beside it stay unsigned with the
    // chain intact.
    let dir = tempfile::tempdir().unwrap();
    let signer = golive_verify::NoteSigner::from_seed("RAL", [5; 32]).unwrap();
    let signed_event = lost(1, "RAL", "ral-pas", 1);
    let sig = golive_verify::sign_event(&signer, &signed_event.canonical_bytes());
    {
        let store = open(&dir);
        let batch = vec![
            incoming(signed_event).signed(Some(sig)),
            incoming(lost(2, "RAL", "ral-pas", 2)),
        ];
        assert_eq!(store.append_batch(batch).unwrap(), appended(1..=2));
    }
    let store = open(&dir);
    let r1 = store.get(1).unwrap().unwrap();
    assert_eq!(r1.origin_signature, Some(sig));
    assert_eq!(store.get(2).unwrap().unwrap().origin_signature, None);
    assert_eq!(store.verify_chain().unwrap().seq, 2);
}
