//! Projection snapshots across an upgrade of the snapshot format: a store whose snapshots
//! this build cannot read (version 1 was JSON) is rebuilt once at open, and answers as before.

use golive_ledger::{Ledger, LedgerOptions, LineSource, ingest_lines};

/// `n` valid `extra_cost` events of one trust as JSON lines.
fn lines(n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 1..=n {
        out.extend(format!(
            r#"{{"event_id":"00000000-0000-4000-8000-{i:012}","trust":"RAL","collector":"ral-board","collector_seq":{i},"occurred_at":"2008-11-05T00:00:00Z","recorded_at":"2008-11-05T12:00:00Z","schema":1,"kind":"extra_cost","data":{{"category":"temporary_staff","amount_pence":{i}00}}}}"#
        ).bytes());
        out.push(b'\n');
    }
    out
}

#[test]
fn snapshots_of_another_snapshot_version_are_rebuilt_once_at_open() {
    // Proves: after every snapshot is replaced by bytes of an old format (version 1's JSON,
    // version 5's bincode header), open rebuilds
    // them (every `snapshot_every_events`, readable again), the live projections and as-of
    // answers equal those before, and the log is untouched.
    let dir = tempfile::tempdir().unwrap();
    let options = LedgerOptions {
        snapshot_every_events: 100,
        ..LedgerOptions::default()
    };
    let (money, money_at_250, seqs, head) = {
        let mut ledger = Ledger::open(dir.path(), options).unwrap();
        let source = LineSource::File("events.jsonl".into());
        ingest_lines(&mut ledger, &lines(1000)[..], &source, 64, &mut |_| {}).unwrap();
        ledger.write_snapshot().unwrap();
        let seqs = ledger.store().snapshot_seqs().unwrap();
        assert!(seqs.len() >= 3, "{seqs:?}");
        for (i, &seq) in seqs.iter().enumerate() {
            let old = if i % 2 == 0 {
                format!(
                    r#"{{"format":"golive-projections","version":1,"last_seq":{seq},"projections":{{}}}}"#
                )
                .into_bytes()
            } else {
                // The bincode layout of version 5 (before the recovery state): its header, and
                // a body this build would misread if it did not check the version.
                let mut b = golive_projections::SNAPSHOT_FORMAT.as_bytes().to_vec();
                b.extend_from_slice(&5u32.to_le_bytes());
                b.extend_from_slice(&seq.to_le_bytes());
                b.extend_from_slice(&[0u8; 64]);
                b
            };
            ledger.store().put_snapshot(seq, &old).unwrap();
        }
        ledger.store().flush().unwrap();
        (
            ledger.projections().money(None),
            ledger.as_of(250).unwrap().money(None),
            seqs,
            ledger.head(),
        )
    };
    let ledger = Ledger::open(dir.path(), options).unwrap();
    assert_eq!(ledger.head(), head);
    assert_eq!(ledger.projections().money(None), money);
    assert_eq!(ledger.as_of(250).unwrap().money(None), money_at_250);
    let rebuilt = ledger.store().snapshot_seqs().unwrap();
    assert!(
        rebuilt.contains(&1000) && rebuilt.contains(&200),
        "{rebuilt:?} (was {seqs:?})"
    );
    for seq in rebuilt {
        let (_, bytes) = ledger.store().snapshot_at_or_before(seq).unwrap().unwrap();
        golive_projections::Projections::from_snapshot(&bytes).unwrap();
    }
    ledger.store().verify_chain().unwrap();
}

#[test]
fn snapshot_gaps_grow_with_the_log_so_snapshotting_stays_linear() {
    // Proves the spacing rule: every `snapshot_every_events` while the log is small, then a
    // quarter of the log after the last snapshot, so a 10M-event log has a few dozen
    // snapshots, not a thousand.
    let o = LedgerOptions::default();
    assert!(!o.snapshot_due(0, 9_999));
    assert!(o.snapshot_due(0, 10_000));
    assert!(o.snapshot_due(30_000, 40_000));
    assert!(!o.snapshot_due(400_000, 490_000));
    assert!(o.snapshot_due(400_000, 500_000));
    let mut last = 0;
    let mut count = 0;
    for head in (1_000..=10_000_000u64).step_by(1_000) {
        if o.snapshot_due(last, head) {
            last = head;
            count += 1;
        }
    }
    assert!((20..=40).contains(&count), "{count} snapshots up to 10M");
}
