//! The durable outbox on disk: what is written and flushed survives closing and reopening;
//! what the ledger confirmed is gone; what it dead-lettered is listed; a second process is
//! refused. No NATS.

use std::collections::BTreeMap;

use golive_collector::outbox::{EntryState, FileKey, Outbox, OutboxEntry, PublishState};
use golive_collector::{CollectError, outbox_status};
use golive_model::EventId;
use proptest::prelude::*;

fn entry(seq: u64) -> OutboxEntry {
    OutboxEntry {
        seq,
        event_id: EventId::from_bytes([seq as u8; 16]),
        subject: "golive.events.RAL.extra_cost".to_owned(),
        payload: format!("{{\"n\":{seq}}}").into_bytes(),
        state: EntryState {
            state: PublishState::Queued,
            republishes: 0,
            publish_attempts: 0,
            queued_unix_ms: 1_000 + seq as i64,
            last_publish_unix_ms: None,
        },
    }
}

fn pending(dir: &std::path::Path) -> Vec<OutboxEntry> {
    let o = Outbox::open(dir).unwrap();
    o.entries().collect::<Result<_, _>>().unwrap()
}

#[test]
fn flushed_entries_survive_reopening_and_confirmed_ones_are_gone() {
    // Proves write -> flush -> drop -> reopen keeps every pending entry (bytes and order), that
    // a state change persists, and that settled entries are gone after reopening while the
    // dead-lettered one is listed with its reason.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("outbox");
    {
        let o = Outbox::open(&dir).unwrap();
        assert_eq!(o.next_seq().unwrap(), 1);
        let entries: Vec<_> = (1..=4).map(entry).collect();
        o.insert(&entries, &[]).unwrap();
        o.flush_blocking().unwrap();
    }
    assert_eq!(pending(&dir), (1..=4).map(entry).collect::<Vec<_>>());
    {
        let o = Outbox::open(&dir).unwrap();
        assert_eq!(o.next_seq().unwrap(), 5);
        let mut st = entry(3).state;
        st.state = PublishState::Published;
        st.publish_attempts = 2;
        st.republishes = 1;
        st.last_publish_unix_ms = Some(5_000);
        o.update_states(&[(3, st), (99, st)]).unwrap();
        o.settle(&[1, 4], &[(2, "rejected by the ledger")]).unwrap();
        o.flush_blocking().unwrap();
    }
    let left = pending(&dir);
    assert_eq!(left.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
    assert_eq!(left[0].state.state, PublishState::Published);
    assert_eq!(left[0].msg_id(), format!("{}.r1", left[0].event_id));
    assert_eq!(left[0].payload, entry(3).payload);

    let status = outbox_status(&dir).unwrap();
    assert_eq!(
        (
            status.pending,
            status.awaiting_receipt,
            status.never_published
        ),
        (1, 1, 0)
    );
    let oldest = status.oldest_pending.unwrap();
    assert_eq!((oldest.publish_attempts, oldest.republishes), (2, 1));
    assert_eq!(status.rejected_total, 1);
    assert_eq!(status.rejected_by_ledger[0].event_id, entry(2).event_id);
    assert_eq!(
        status.rejected_by_ledger[0].reason,
        "rejected by the ledger"
    );
    // The next seq follows the highest one ever given (4, settled), not only those still held:
    // a seq is never given twice.
    assert_eq!(Outbox::open(&dir).unwrap().next_seq().unwrap(), 5);
}

#[test]
fn processed_files_are_remembered_until_they_disappear() {
    // Proves a watched file recorded as read stays recorded across a reopen, that a changed
    // size or mtime makes it a new file, and that records of vanished files are pruned.
    let tmp = tempfile::tempdir().unwrap();
    let key = FileKey {
        name: "a.jsonl".to_owned(),
        size: 10,
        mtime_ns: 7,
    };
    {
        let o = Outbox::open(tmp.path()).unwrap();
        o.insert(&[entry(1)], std::slice::from_ref(&key)).unwrap();
        o.flush_blocking().unwrap();
    }
    let o = Outbox::open(tmp.path()).unwrap();
    assert!(o.is_file_processed(&key).unwrap());
    let grown = FileKey {
        size: 11,
        ..key.clone()
    };
    assert!(!o.is_file_processed(&grown).unwrap());
    o.forget_files_except(&|name| name == "a.jsonl").unwrap();
    assert!(o.is_file_processed(&key).unwrap());
    o.forget_files_except(&|_| false).unwrap();
    assert!(!o.is_file_processed(&key).unwrap());
}

#[test]
fn a_second_process_is_refused_and_status_needs_an_outbox() {
    // Proves a locked outbox gives a clear error rather than a second writer, and that asking
    // for the status of a directory without an outbox says so.
    let tmp = tempfile::tempdir().unwrap();
    let _first = Outbox::open(tmp.path()).unwrap();
    assert!(matches!(
        Outbox::open(tmp.path()),
        Err(CollectError::OutboxLocked { .. })
    ));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        outbox_status(empty.path()),
        Err(CollectError::NoOutbox(_))
    ));
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u8),
    Appended(u8),
    DeadLettered(u8),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u8..8).prop_map(Op::Insert),
        2 => (0u8..16).prop_map(Op::Appended),
        1 => (0u8..16).prop_map(Op::DeadLettered),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn outbox_matches_a_model_across_reopens(ops in prop::collection::vec(op(), 1..30)) {
        // Proves, for random inserts, confirmations, dead letters and reopens, that the pending
        // entries and the rejected list always equal a BTreeMap model, and the next seq is above every seq still held.
        let tmp = tempfile::tempdir().unwrap();
        let mut o = Some(Outbox::open(tmp.path()).unwrap());
        let mut model: BTreeMap<u64, OutboxEntry> = BTreeMap::new();
        let mut rejected: Vec<u64> = Vec::new();
        for op in ops {
            let ob = o.as_ref().unwrap();
            match op {
                Op::Insert(n) => {
                    let first = ob.next_seq().unwrap();
                    let entries: Vec<_> = (first..first + u64::from(n)).map(entry).collect();
                    ob.insert(&entries, &[]).unwrap();
                    for e in entries { model.insert(e.seq, e); }
                }
                Op::Appended(k) => {
                    if let Some(seq) = model.keys().nth(usize::from(k)).copied() {
                        ob.settle(&[seq], &[]).unwrap();
                        model.remove(&seq);
                    }
                }
                Op::DeadLettered(k) => {
                    if let Some(seq) = model.keys().nth(usize::from(k)).copied() {
                        ob.settle(&[], &[(seq, "rejected by the ledger")]).unwrap();
                        model.remove(&seq);
                        rejected.push(seq);
                    }
                }
                Op::Reopen => {
                    ob.flush_blocking().unwrap();
                    drop(o.take());
                    o = Some(Outbox::open(tmp.path()).unwrap());
                }
            }
            let ob = o.as_ref().unwrap();
            let got: Vec<OutboxEntry> = ob.entries().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(got, model.values().cloned().collect::<Vec<_>>());
            let rej: Vec<u64> = ob.rejected().map(|r| r.unwrap().seq).collect();
            let mut want = rejected.clone();
            want.sort_unstable();
            prop_assert_eq!(rej, want);
            let used = model.keys().chain(rejected.iter()).max().copied().unwrap_or(0);
            prop_assert!(ob.next_seq().unwrap() > used);
        }
    }
}

/// An entry with a payload of `bytes` bytes.
fn big_entry(seq: u64, bytes: usize) -> OutboxEntry {
    let mut e = entry(seq);
    e.event_id = EventId::from_bytes({
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&seq.to_be_bytes());
        id
    });
    e.payload = vec![b'x'; bytes];
    e
}

fn chunk_file(dir: &std::path::Path, id: u64) -> std::path::PathBuf {
    dir.join(golive_collector::outbox::CHUNK_DIR)
        .join(format!("{id:020}.log"))
}

fn damaged(dir: &std::path::Path) -> String {
    match Outbox::open(dir) {
        Err(e @ CollectError::OutboxDamaged { .. }) => e.to_string(),
        Err(e) => panic!("expected OutboxDamaged, got {e}"),
        Ok(o) => panic!("a damaged outbox opened with {} entries", o.len()),
    }
}

#[test]
fn what_was_not_flushed_is_cut_off_and_what_was_is_whole() {
    // Proves a crash (a drop without a flush) loses only what was never flushed: entries
    // written after the last flush are cut off the chunk (they were never published), a settle
    // not yet flushed is undone (the event is asked about again), and garbage after the synced
    // end (a torn write) is cut off too.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    {
        let o = Outbox::open(dir).unwrap();
        o.insert(&(1..=5).map(entry).collect::<Vec<_>>(), &[])
            .unwrap();
        o.flush_blocking().unwrap();
        o.insert(&(6..=8).map(entry).collect::<Vec<_>>(), &[])
            .unwrap();
        o.settle(&[1], &[]).unwrap();
    }
    let seqs = |o: &Outbox| o.entries().map(|e| e.unwrap().seq).collect::<Vec<_>>();
    let o = Outbox::open(dir).unwrap();
    assert_eq!(seqs(&o), [1, 2, 3, 4, 5]);
    assert_eq!(o.next_seq().unwrap(), 6);
    drop(o);
    let path = chunk_file(dir, 1);
    let synced = std::fs::metadata(&path).unwrap().len();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0xEE; 37]);
    std::fs::write(&path, &bytes).unwrap();
    let o = Outbox::open(dir).unwrap();
    assert_eq!(seqs(&o), [1, 2, 3, 4, 5]);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), synced);
    assert_eq!(o.get(3).unwrap().unwrap(), entry(3));
}

#[test]
fn a_cut_or_changed_chunk_a_missing_chunk_or_head_mark_is_refused() {
    // Proves the outbox is refused, naming what is wrong, when its newest chunk is shorter
    // than what was synced, when a byte of an older chunk changed, when a chunk in the middle
    // is gone, and when the head mark is gone; and that restoring the bytes opens it whole.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let n = 600u64;
    {
        let o = Outbox::open(dir).unwrap();
        for first in (1..=n).step_by(50) {
            let batch: Vec<_> = (first..first + 50).map(|s| big_entry(s, 10_000)).collect();
            o.insert(&batch, &[]).unwrap();
            o.flush_blocking().unwrap();
        }
    }
    assert!(chunk_file(dir, 3).exists(), "6 MB spans at least 3 chunks");
    let newest = (1..)
        .take_while(|id| chunk_file(dir, *id).exists())
        .last()
        .unwrap();
    let keep = |p: &std::path::Path| std::fs::read(p).unwrap();

    let p = chunk_file(dir, newest);
    let whole = keep(&p);
    std::fs::write(&p, &whole[..whole.len() - 1]).unwrap();
    assert!(damaged(dir).contains("it was cut"), "{}", damaged(dir));
    std::fs::write(&p, &whole).unwrap();

    let p = chunk_file(dir, 2);
    let whole = keep(&p);
    let mut changed = whole.clone();
    changed[whole.len() / 2] ^= 1;
    std::fs::write(&p, &changed).unwrap();
    assert!(damaged(dir).contains("checksum"), "{}", damaged(dir));
    std::fs::remove_file(&p).unwrap();
    assert!(damaged(dir).contains("is missing"), "{}", damaged(dir));
    std::fs::write(&p, &whole).unwrap();

    let head = dir.join(golive_collector::outbox::HEAD_FILE);
    let mark = keep(&head);
    std::fs::remove_file(&head).unwrap();
    assert!(damaged(dir).contains("head mark"), "{}", damaged(dir));
    std::fs::write(&head, &mark).unwrap();

    let o = Outbox::open(dir).unwrap();
    assert_eq!(o.len() as u64, n);
    assert_eq!(o.get(n).unwrap().unwrap(), big_entry(n, 10_000));
}

/// Bytes of disk the files under `dir` take (allocated blocks).
fn disk_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        total += if m.is_dir() {
            disk_bytes(&e.path())
        } else {
            m.blocks() * 512
        };
    }
    total
}

#[test]
fn once_every_event_is_settled_the_disk_use_falls_under_5_percent_of_its_peak() {
    // Proves chunks are deleted once their events are all settled: after 20,000 events of
    // 500 bytes are written, published and receipted, the outbox takes under 5% of the disk
    // it took at its peak, and reopens empty.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = Outbox::open(dir).unwrap();
    let mut peak = 0;
    for first in (1..=20_000u64).step_by(500) {
        let batch: Vec<_> = (first..first + 500).map(|s| big_entry(s, 500)).collect();
        o.insert(&batch, &[]).unwrap();
        o.flush_blocking().unwrap();
        let mut st = batch[0].state;
        st.state = PublishState::Published;
        let states: Vec<_> = batch.iter().map(|e| (e.seq, st)).collect();
        o.update_states(&states).unwrap();
        peak = peak.max(disk_bytes(dir));
    }
    o.flush_blocking().unwrap();
    peak = peak.max(disk_bytes(dir));
    assert!(peak > 10_000_000, "the peak holds the events: {peak} bytes");
    for first in (1..=20_000u64).step_by(1_000) {
        let seqs: Vec<u64> = (first..first + 1_000).collect();
        o.settle(&seqs, &[]).unwrap();
        o.flush_blocking().unwrap();
    }
    let after = disk_bytes(dir);
    eprintln!("outbox disk use: peak {peak} bytes, after settling {after} bytes");
    assert!(
        after * 20 < peak,
        "after settling everything the outbox takes {after} bytes, its peak was {peak}"
    );
    drop(o);
    let o = Outbox::open(dir).unwrap();
    assert!(o.is_empty());
    assert_eq!(o.next_seq().unwrap(), 20_001);
}

#[test]
fn a_format_1_outbox_is_migrated_once_with_its_states() {
    // Proves an outbox written by a format-1 build (every entry in sled's `events` tree) opens
    // with every pending entry, its publish state, its dead letters and its read files, that
    // the old tree is gone, and that opening it again changes nothing.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut published = entry(2);
    published.state.state = PublishState::Published;
    published.state.republishes = 3;
    published.state.last_publish_unix_ms = Some(9_000);
    let held = vec![entry(1), published, entry(4)];
    let file = FileKey {
        name: "a.jsonl".to_owned(),
        size: 5,
        mtime_ns: 6,
    };
    {
        let db = sled::open(dir).unwrap();
        let events = db.open_tree("events").unwrap();
        for e in &held {
            events
                .insert(
                    e.seq.to_be_bytes(),
                    golive_collector::outbox::encode_entry(e),
                )
                .unwrap();
        }
        db.open_tree("meta")
            .unwrap()
            .insert("format", &1u32.to_be_bytes())
            .unwrap();
        let rejected = golive_collector::outbox::RejectedEntry {
            seq: 3,
            event_id: entry(3).event_id,
            subject: entry(3).subject,
            reason: "rejected by the ledger".to_owned(),
            rejected_unix_ms: 7,
            payload: entry(3).payload,
        };
        db.open_tree("rejected")
            .unwrap()
            .insert(
                3u64.to_be_bytes(),
                golive_collector::outbox::encode_rejected(&rejected),
            )
            .unwrap();
        db.open_tree("files")
            .unwrap()
            .insert(file_key_bytes(&file), &[0u8; 8])
            .unwrap();
        db.flush().unwrap();
    }
    for _ in 0..2 {
        let o = Outbox::open(dir).unwrap();
        assert_eq!(o.entries().collect::<Result<Vec<_>, _>>().unwrap(), held);
        assert_eq!(
            o.get(2).unwrap().unwrap().msg_id(),
            format!("{}.r3", held[1].event_id)
        );
        assert_eq!(
            o.rejected().map(|r| r.unwrap().seq).collect::<Vec<_>>(),
            [3]
        );
        assert!(o.is_file_processed(&file).unwrap());
        assert_eq!(o.next_seq().unwrap(), 5);
    }
    let db = sled::open(dir).unwrap();
    assert!(!db.tree_names().iter().any(|n| n.as_ref() == b"events"));
    let format = db
        .open_tree("meta")
        .unwrap()
        .get("format")
        .unwrap()
        .unwrap();
    assert_eq!(format.as_ref(), &2u32.to_be_bytes());
}

/// A read file's key in the `files` tree, as format 1 wrote it: name, 0, size, mtime.
fn file_key_bytes(f: &FileKey) -> Vec<u8> {
    let mut k = f.name.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&f.size.to_be_bytes());
    k.extend_from_slice(&f.mtime_ns.to_be_bytes());
    k
}

#[derive(Debug, Clone)]
enum Damage {
    /// Flip a bit of chunk `id % chunks` at `at % len`.
    Flip { id: u64, at: usize, bit: u8 },
    /// Cut chunk `id % chunks` to `keep % len` bytes.
    Cut { id: u64, keep: usize },
    /// Append bytes to chunk `id % chunks`.
    Append { id: u64, bytes: Vec<u8> },
}

/// What a [`Damage`] does to a chunk file's bytes.
type Change = Box<dyn Fn(&mut Vec<u8>)>;

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0u64..8, any::<usize>(), 0u8..8).prop_map(|(id, at, bit)| Damage::Flip { id, at, bit }),
        (0u64..8, any::<usize>()).prop_map(|(id, keep)| Damage::Cut { id, keep }),
        (0u64..8, prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(id, bytes)| Damage::Append { id, bytes }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn a_damaged_chunk_is_refused_or_opens_whole_never_shorter(d in damage()) {
        // Proves, for a flipped bit, a cut or appended bytes anywhere in any chunk file of a
        // flushed outbox, that opening it either is refused as damaged or gives back every
        // entry exactly: never fewer, never different, never a panic.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let all: Vec<_> = (1..=250u64).map(|s| big_entry(s, 10_000)).collect();
        {
            let o = Outbox::open(dir).unwrap();
            for batch in all.chunks(50) {
                o.insert(batch, &[]).unwrap();
                o.flush_blocking().unwrap();
            }
        }
        let chunks = (1..).take_while(|id| chunk_file(dir, *id).exists()).count() as u64;
        prop_assert!(chunks >= 2);
        let (id, change): (u64, Change) = match d {
            Damage::Flip { id, at, bit } => (id, Box::new(move |b: &mut Vec<u8>| {
                let i = at % b.len();
                b[i] ^= 1 << bit;
            })),
            Damage::Cut { id, keep } => (id, Box::new(move |b: &mut Vec<u8>| b.truncate(keep % b.len()))),
            Damage::Append { id, bytes } => (id, Box::new(move |b: &mut Vec<u8>| b.extend_from_slice(&bytes))),
        };
        let p = chunk_file(dir, 1 + id % chunks);
        let mut bytes = std::fs::read(&p).unwrap();
        change(&mut bytes);
        std::fs::write(&p, &bytes).unwrap();
        match Outbox::open(dir) {
            Ok(o) => {
                let got: Vec<_> = o.entries().collect::<Result<_, _>>().unwrap();
                prop_assert!(got == all, "opened with {} entries, not the {} flushed", got.len(), all.len());
            }
            Err(e) => prop_assert!(matches!(e, CollectError::OutboxDamaged { .. }), "{e}"),
        }
    }
}
