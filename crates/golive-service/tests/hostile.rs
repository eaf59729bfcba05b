//! The ledger's side of hostile input: every kind of hostile message (docs/EVENTS.md,
//! "Hostile input: defined outcomes"), mixed with valid events, through both ways in (the NATS
//! consumer's `process_batch` and file ingest). Each hostile message becomes exactly one dead
//! letter naming its field and reason, with its bytes; every valid event around it is appended
//! in order; nothing crashes, stops the stream or is lost.

use bytes::Bytes;
use golive_ledger::{Ledger, LedgerOptions, LineSource, ingest_lines};
use golive_model::MESSAGE_BYTES_MAX;
use golive_service::{Delivered, process_batch};
use golive_store::{DEAD_LETTER_RAW_BYTES_MAX, DeadLetter};

/// A valid `extra_cost` event with id and collector_seq `i`.
fn valid(i: u64) -> Vec<u8> {
    format!(
        r#"{{"event_id":"00000000-0000-4000-8000-{i:012}","trust":"RAL","collector":"ral-board","collector_seq":{i},"occurred_at":"2008-11-05T00:00:00Z","recorded_at":"2008-11-05T12:00:00Z","schema":1,"kind":"extra_cost","data":{{"category":"temporary_staff","amount_pence":{i}00}}}}"#
    )
    .into_bytes()
}

/// `valid(i)` with `from` replaced (once) by `to`.
fn broken(i: u64, from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(valid(i)).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from}");
    text.replacen(from, to, 1).into_bytes()
}

/// One hostile message of each kind: (what, bytes, the field its dead letter names, a part of
/// its reason).
fn hostile() -> Vec<(&'static str, Vec<u8>, &'static str, String)> {
    let mut not_utf8 = valid(900);
    not_utf8[40] = 0xff;
    let too_large = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes();
    let huge = vec![b' '; 3 * DEAD_LETTER_RAW_BYTES_MAX];
    vec![
        ("malformed UTF-8", not_utf8, "(message)", "not valid UTF-8".into()),
        (
            "huge number",
            broken(901, "90100", "1e400"),
            "data.amount_pence",
            "number out of range".into(),
        ),
        (
            "beyond 64 bits",
            broken(902, r#""collector_seq":902"#, r#""collector_seq":18446744073709551616"#),
            "collector_seq",
            "expected u64".into(),
        ),
        (
            "negative amount",
            broken(903, "90300", "-90300"),
            "data.amount_pence",
            "must not be negative".into(),
        ),
        (
            "deeply nested",
            broken(904, "90400", &format!("{}{}", "[".repeat(20_000), "]".repeat(20_000))),
            "data.amount_pence",
            "invalid type: sequence".into(),
        ),
        (
            "nested 100k deep (over the size limit)",
            too_large,
            "(message)",
            format!("the limit is {MESSAGE_BYTES_MAX}"),
        ),
        (
            "duplicate key",
            broken(905, r#""trust":"RAL""#, r#""trust":"RAL","trust":"RNJ""#),
            "trust",
            "field appears twice".into(),
        ),
        (
            "unknown field",
            broken(906, r#""schema":1"#, r#""schema":1,"colour":"red""#),
            "colour",
            "unknown field".into(),
        ),
        (
            "empty key",
            broken(907, r#""schema":1"#, r#""schema":1,"":1"#),
            r#""""#,
            "unknown field".into(),
        ),
        (
            "object as array",
            br#"["00000000-0000-4000-8000-000000000908","RAL",null,"ral-board",908,"2008-11-05T00:00:00Z","2008-11-05T12:00:00Z",1,"extra_cost",{"category":"validation","amount_pence":1},null,null,null]"#.to_vec(),
            "(message)",
            "expected a JSON object".into(),
        ),
        (
            "oversized (beyond what a dead letter keeps)",
            huge,
            "(message)",
            format!("message is {} bytes", 3 * DEAD_LETTER_RAW_BYTES_MAX),
        ),
        ("not JSON", b"hello".to_vec(), "(message)", "not valid JSON".into()),
        ("empty object", b"{}".to_vec(), "event_id", "missing".into()),
    ]
}

fn open() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), LedgerOptions::default()).unwrap();
    (dir, ledger)
}

fn dead_letters(ledger: &Ledger) -> Vec<DeadLetter> {
    ledger
        .store()
        .dead_letters()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Checks the dead letters against `hostile()`, in order: field, reason and bytes (cut at
/// DEAD_LETTER_RAW_BYTES_MAX, with the length before the cut recorded). `file`: from file
/// ingest, which keeps only the first MESSAGE_BYTES_MAX bytes of a line over the message limit
/// and counts the line's newline in the length its reason states.
fn check_dead_letters(letters: &[DeadLetter], file: bool) {
    let hostile = hostile();
    assert_eq!(letters.len(), hostile.len());
    for (d, (what, bytes, field, reason)) in letters.iter().zip(&hostile) {
        assert_eq!(d.field.as_deref(), Some(*field), "{what}: {d:?}");
        let (reason, kept) = if file && bytes.len() > MESSAGE_BYTES_MAX {
            let reason = format!("message is {} bytes", bytes.len() + 1);
            (reason, MESSAGE_BYTES_MAX)
        } else {
            (reason.clone(), bytes.len().min(DEAD_LETTER_RAW_BYTES_MAX))
        };
        assert!(
            d.reason.contains(reason.as_str()),
            "{what}: reason {:?} lacks {reason:?}",
            d.reason
        );
        assert_eq!(d.raw, bytes[..kept], "{what}");
        let len = if file { kept } else { bytes.len() };
        assert_eq!(d.raw_len, len as u64, "{what}");
    }
}

#[test]
fn hostile_messages_from_the_stream_are_dead_lettered_and_the_stream_goes_on() {
    // Proves: through the NATS consumer's batch step, each hostile message (one of every kind)
    // is one dead letter with its field, reason and bytes; the valid events between them are
    // all appended, in stream order; the chain verifies; delivered = appended + dead-lettered.
    let (_dir, mut ledger) = open();
    let subject = "golive.events.RAL.extra_cost".to_owned();
    let mut batch = Vec::new();
    let mut stream_seq = 0;
    for (i, (_, bytes, _, _)) in hostile().into_iter().enumerate() {
        for payload in [valid(i as u64 + 1), bytes] {
            stream_seq += 1;
            batch.push(Delivered {
                subject: subject.clone(),
                payload: Bytes::from(payload),
                stream_seq,
                origin_signature: None,
            });
        }
    }
    let delivered = batch.len() as u64;
    let tally = process_batch(&mut ledger, batch).unwrap();
    let n = hostile().len() as u64;
    assert_eq!((tally.appended, tally.dead_lettered), (n, n));
    assert_eq!(tally.appended + tally.dead_lettered, delivered);
    assert_eq!(ledger.head().seq, n);
    for seq in 1..=n {
        let r = ledger.store().get(seq).unwrap().unwrap();
        assert_eq!(r.envelope.collector_seq, seq);
        assert_eq!(r.stream_seq, Some(2 * seq - 1));
    }
    ledger.store().verify_chain().unwrap();
    let letters = dead_letters(&ledger);
    check_dead_letters(&letters, false);
    for (i, d) in letters.iter().enumerate() {
        assert_eq!(d.origin, format!("{subject} (stream seq {})", 2 * (i + 1)));
    }
    // The same batch again: the valid events are duplicates, the hostile ones dead-lettered
    // again (each delivery is recorded), and the ledger does not change.
    let head = ledger.head();
    let again: Vec<_> = hostile()
        .into_iter()
        .map(|(_, bytes, _, _)| Delivered {
            subject: subject.clone(),
            payload: Bytes::from(bytes),
            stream_seq: 1000,
            origin_signature: None,
        })
        .collect();
    let tally = process_batch(&mut ledger, again).unwrap();
    assert_eq!(tally.dead_lettered, n);
    assert_eq!(ledger.head(), head);
}

#[test]
fn hostile_lines_of_a_file_are_dead_lettered_and_ingest_goes_on() {
    // Proves: the same through `golive ingest`: each hostile line is one dead letter naming
    // its line, field and reason, every valid line is appended, and ingest reads to the end.
    let (_dir, mut ledger) = open();
    let mut file = Vec::new();
    for (i, (_, bytes, _, _)) in hostile().into_iter().enumerate() {
        file.extend(valid(i as u64 + 1));
        file.push(b'\n');
        file.extend(bytes);
        file.push(b'\n');
    }
    let source = LineSource::File("hostile.jsonl".into());
    let summary = ingest_lines(&mut ledger, &file[..], &source, 4, &mut |_| {}).unwrap();
    let n = hostile().len() as u64;
    assert_eq!((summary.appended, summary.rejected), (n, n));
    assert_eq!(summary.lines, 2 * n);
    assert_eq!(ledger.head().seq, n);
    ledger.store().verify_chain().unwrap();
    let letters = dead_letters(&ledger);
    check_dead_letters(&letters, true);
    for (i, d) in letters.iter().enumerate() {
        assert_eq!(d.origin, format!("hostile.jsonl:{}", 2 * (i + 1)));
    }
}
