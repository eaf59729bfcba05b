//! Golden bytes: the on-disk encodings of formats 1 and 2 are pinned, kind by kind.
//!
//! If this test fails, a change altered the bytes written to disk. That is only acceptable as a
//! new format version (a new record version byte with its own stored types), never by editing
//! the constants. To write the file for a NEW format, set `GOLIVE_BLESS_GOLDEN=1` once.

use crate::common::*;
use golive_model::{GENESIS_HASH, Source, SourceType, Status, chain_hash};
use golive_store::Record;
use golive_store::codec::{decode_record, encode_record, encode_record_v1};

const GOLDEN_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/golden_records_v1.txt"
);

/// One record of each kind, chained, with optional fields and enum values varied.
fn golden_records() -> Vec<Record> {
    let mut prev = GENESIS_HASH;
    let statuses = [Status::Reported, Status::Estimated, Status::Validated];
    bodies()
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let n = i as u128 + 1;
            let mut e = envelope(n, "RAL", "ral-pas", 40 + i as u64, body);
            if i % 2 == 0 {
                e.site = Some("royal-free".into());
                e.sources = vec![Source {
                    source_type: SourceType::BoardPaper,
                    reference: "Board paper 2009-02, item 7".into(),
                    published_at: None,
                    url: None,
                }];
            }
            if i % 3 == 1 {
                e.supersedes = Some(id(0xabc0 + n));
            }
            e.status = statuses[i % 3];
            let seq = i as u64 + 1;
            let hash = chain_hash(&prev, seq, &e.canonical_bytes());
            let r = Record {
                seq,
                stream_seq: (i % 2 == 1).then_some(1000 + seq),
                received_at: t(1_700_000_000 + i as i64, 123_456_789),
                prev_hash: prev,
                hash,
                envelope: e,
            };
            prev = hash;
            r
        })
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn every_kind_encodes_to_the_committed_bytes_and_decodes_back() {
    // Proves the bytes of a record of each kind are exactly the committed format-1 bytes, and
    // that the committed bytes decode back to the very same records (whose hashes verify).
    let records = golden_records();
    let actual: String = records
        .iter()
        .map(|r| {
            let mut buf = Vec::new();
            encode_record_v1(r, &mut buf).expect("encodes");
            format!("{} {}\n", r.envelope.kind(), to_hex(&buf))
        })
        .collect();
    if std::env::var_os("GOLIVE_BLESS_GOLDEN").is_some() {
        std::fs::write(GOLDEN_PATH, &actual).expect("write golden file");
    }
    let expected = std::fs::read_to_string(GOLDEN_PATH).expect("golden file is committed");
    assert_eq!(expected.lines().count(), records.len());
    for (a, e) in actual.lines().zip(expected.lines()) {
        assert_eq!(
            a, e,
            "the stored bytes of a record changed: see this file's header"
        );
    }
    for (line, want) in expected.lines().zip(records) {
        let (kind, hex) = line.split_once(' ').expect("`kind hex` per line");
        let got = decode_record(&from_hex(hex)).expect("decodes");
        assert_eq!(got.envelope.kind().as_str(), kind);
        assert!(got.verify_hash(), "seq {} hash recomputes", got.seq);
        assert_eq!(got, want);
    }
}
