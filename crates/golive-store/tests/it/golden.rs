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
                origin_signature: None,
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

const GOLDEN_V2_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/golden_records_v2.txt"
);

/// Schema-2 events (every new envelope field, each period form, a roster, the recovery kinds),
/// chained after the
/// schema-1 golden records: what format 2 must hold besides schema 1.
const SCHEMA2_EVENTS: &[&str] = &[
    r#"{"event_id":"3a0c2f6d-9a01-4e7a-9d55-0b0e8f8e1c1a","trust":"RNJ","collector":"rnj-board","collector_seq":9,"occurred_at":"2009-10-22T00:00:00Z","recorded_at":"2009-10-22T18:00:00Z","schema":2,"kind":"contract_penalty","data":{"commissioner":"NHS Tower Hamlets","amount_pence":40000000,"period":"2009-10","state":"threatened"},"sources":[{"type":"parliament_debate","ref":"Richard Bacon MP, 22 Oct 2009","published_at":"2009-10-22"},{"type":"press","ref":"E-Health Insider, Oct 2009","url":"https://www.digitalhealth.net/x"}],"status":"reported","relates_to":{"event_id":"0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a","relation":"corroborates"},"attribution":{"by":"Richard Bacon MP","stance":"attributes_to_system"}}"#,
    r#"{"event_id":"5b1d3e7f-0a12-4f8b-8e66-1c1f9a9f2d2b","trust":"RNJ","collector":"rnj-board","collector_seq":4,"occurred_at":"2008-09-01T00:00:00Z","recorded_at":"2008-09-01T12:00:00Z","schema":2,"kind":"income_at_risk","data":{"category":"unbilled","amount_pence":150000000,"period_from":"2008-04","period_to":"2008-06"},"sources":[{"type":"press","ref":"Computer Weekly, 1 Sep 2008"}],"status":"estimated"}"#,
    r#"{"event_id":"6c2e4f80-1b23-4a9c-9f77-2d2a0b0a3e3c","trust":"RAL","collector":"ral-board","collector_seq":12,"occurred_at":"2009-02-19T00:00:00Z","recorded_at":"2009-02-19T12:00:00Z","schema":2,"kind":"extra_cost","data":{"category":"deployment_charge","amount_pence":467600000,"to_date":true,"as_at":"2009-02-19"},"sources":[{"type":"parliament_answer","ref":"Hansard, 27 Feb 2009"}],"status":"validated"}"#,
    r#"{"event_id":"7d3f5091-2c34-4bad-a088-3e3b1c1b4f4d","trust":"RVL","collector":"rvl-harm","collector_seq":2,"occurred_at":"2015-05-01T00:00:00Z","recorded_at":"2015-05-31T12:00:00Z","schema":2,"kind":"harm_review","data":{"cases_reviewed":10080,"harm":{"none":6000,"low":4000,"moderate":77,"severe":1,"death":0,"unknown":2},"assessment":"risk_of_harm"},"sources":[{"type":"press","ref":"Computer Weekly, 2015"}],"status":"estimated"}"#,
    r#"{"event_id":"8e40a1a2-3d45-4cbe-b199-4f4c2d2c5a5f","trust":"Q36","collector":"q36-programme","collector_seq":1,"occurred_at":"2008-03-06T00:00:00Z","recorded_at":"2008-03-06T12:00:00Z","schema":2,"kind":"programme_roster","data":{"programme":"London Programme for IT (NPfIT)","trusts":["RGZ","RNH","RQX","RVL"]},"sources":[{"type":"parliament_answer","ref":"Hansard, NHS: ICT, 6 Mar 2008"}],"status":"reported"}"#,
    r#"{"event_id":"9f51b2b3-4e56-4dcf-b2aa-5a5d3e3d6b6f","trust":"RNJ","collector":"rnj-board","collector_seq":10,"occurred_at":"2009-04-28T00:00:00Z","recorded_at":"2009-04-28T14:00:00Z","schema":2,"kind":"safety_incident","data":{"local_ref":"RNJ-SUI-2009-04","harm":"unknown","serious_incident":true,"state":"open"},"sources":[{"type":"press","ref":"The Guardian, 28 Apr 2009"}],"status":"reported"}"#,
    r#"{"event_id":"a062c3c4-5f67-4ed0-83bb-6b6e4f4e7c70","trust":"RAL","collector":"ral-activity","collector_seq":1,"occurred_at":"2008-06-01T00:00:00Z","recorded_at":"2008-06-02T09:00:00Z","schema":2,"kind":"activity_baseline","data":{"point_of_delivery":"outpatient_first","monthly_value":4200,"baseline_from":"2007-06","baseline_to":"2008-05"},"sources":[{"type":"synthetic","ref":"SYNTHETIC: illustrative"}],"status":"reported"}"#,
    r#"{"event_id":"b173d4d5-6078-4fe1-94cc-7c7f5a5f8d81","trust":"RVJ","collector":"rvj-activity","collector_seq":1,"occurred_at":"2011-12-11T00:00:00Z","recorded_at":"2011-12-12T09:00:00Z","schema":2,"kind":"activity_actual","data":{"point_of_delivery":"day_case","week":"2011-W49","value":610,"data_quality":"estimated"},"sources":[{"type":"synthetic","ref":"SYNTHETIC: illustrative"}],"status":"estimated","supersedes":"a062c3c4-5f67-4ed0-83bb-6b6e4f4e7c71"}"#,
    r#"{"event_id":"c284e5e6-7189-40f2-a5dd-8d806b609e92","trust":"RNJ","collector":"rnj-ptl","collector_seq":1,"occurred_at":"2009-04-30T00:00:00Z","recorded_at":"2009-05-01T09:00:00Z","schema":2,"kind":"ptl_validation","data":{"pathway":"rtt_18wk","on_list":22000,"validated":8000,"removed_duplicate":4000,"removed_treated":1500,"unknown_clock_start":2100,"over_52_weeks":300,"remaining":14000},"sources":[{"type":"press","ref":"Computer Weekly, 2009"}],"status":"reported"}"#,
];

/// The schema-1 golden records and the schema-2 events after them, chained.
fn golden_records_v2() -> Vec<Record> {
    let mut records = golden_records();
    let mut prev = records.last().expect("golden records").hash;
    for (i, text) in SCHEMA2_EVENTS.iter().enumerate() {
        let e = golive_model::decode(text.as_bytes()).expect("a valid schema-2 event");
        let seq = records.len() as u64 + 1;
        let hash = chain_hash(&prev, seq, &e.canonical_bytes());
        records.push(Record {
            seq,
            stream_seq: Some(2000 + i as u64),
            received_at: t(1_800_000_000 + i as i64, 7),
            prev_hash: prev,
            hash,
            envelope: e,
            origin_signature: None,
        });
        prev = hash;
    }
    records
}

#[test]
fn format_2_encodes_to_the_committed_bytes_and_decodes_back() {
    // Proves the bytes of format 2 (schema-1 and schema-2 events alike) are exactly the
    // committed ones, that they decode back to the same records whose hashes verify, and that
    // a record holds the canonical bytes that were hashed, verbatim.
    let records = golden_records_v2();
    let actual: String = records
        .iter()
        .map(|r| {
            let mut buf = Vec::new();
            encode_record(r, &mut buf).expect("encodes");
            assert_eq!(buf[0], golive_store::codec::RECORD_V2);
            let canonical = r.envelope.canonical_bytes();
            assert!(
                buf.windows(canonical.len()).any(|w| w == canonical),
                "seq {}: the canonical bytes are in the record",
                r.seq
            );
            format!("{} {}\n", r.envelope.kind(), to_hex(&buf))
        })
        .collect();
    if std::env::var_os("GOLIVE_BLESS_GOLDEN").is_some() {
        std::fs::write(GOLDEN_V2_PATH, &actual).expect("write golden file");
    }
    let expected = std::fs::read_to_string(GOLDEN_V2_PATH).expect("golden file is committed");
    assert_eq!(expected.lines().count(), records.len());
    for (a, e) in actual.lines().zip(expected.lines()) {
        assert_eq!(
            a, e,
            "the stored bytes of a record changed: see this file's header"
        );
    }
    for (line, want) in expected.lines().zip(records) {
        let (_, hex) = line.split_once(' ').expect("`kind hex` per line");
        let got = decode_record(&from_hex(hex)).expect("decodes");
        assert!(got.verify_hash(), "seq {} hash recomputes", got.seq);
        assert_eq!(got, want);
    }
}

const GOLDEN_V3_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/golden_records_v3.txt"
);

/// The format-2 golden records, each signed by its trust's key (a fixed seed: Ed25519 is
/// deterministic, so the signatures and the bytes are too).
fn golden_records_v3() -> Vec<Record> {
    let signer = golive_verify::NoteSigner::from_seed("RAL", [11; 32]).expect("a key");
    golden_records_v2()
        .into_iter()
        .map(|mut r| {
            let sig = golive_verify::sign_event(&signer, &r.envelope.canonical_bytes());
            r.origin_signature = Some(sig);
            r
        })
        .collect()
}

#[test]
fn format_3_encodes_to_the_committed_bytes_and_decodes_back_with_its_signature() {
    // Proves a signed record is written in format 3, to exactly the committed bytes, that it
    // is format 2's bytes plus the 68 signature bytes, and that it decodes back whole.
    let records = golden_records_v3();
    let actual: String = records
        .iter()
        .map(|r| {
            let mut buf = Vec::new();
            encode_record(r, &mut buf).expect("encodes");
            assert_eq!(buf[0], golive_store::codec::RECORD_V3);
            let mut unsigned = Vec::new();
            let plain = Record {
                origin_signature: None,
                ..r.clone()
            };
            encode_record(&plain, &mut unsigned).expect("encodes");
            assert_eq!(buf[1..buf.len() - 68], unsigned[1..], "seq {}", r.seq);
            let sig = r.origin_signature.expect("signed").to_bytes();
            assert_eq!(buf[buf.len() - 68..], sig[..]);
            format!("{} {}\n", r.envelope.kind(), to_hex(&buf))
        })
        .collect();
    if std::env::var_os("GOLIVE_BLESS_GOLDEN").is_some() {
        std::fs::write(GOLDEN_V3_PATH, &actual).expect("write golden file");
    }
    let expected = std::fs::read_to_string(GOLDEN_V3_PATH).expect("golden file is committed");
    assert_eq!(expected.lines().count(), records.len());
    for ((a, e), want) in actual.lines().zip(expected.lines()).zip(records) {
        assert_eq!(a, e, "the stored bytes of a signed record changed");
        let (_, hex) = e.split_once(' ').expect("`kind hex` per line");
        assert_eq!(decode_record(&from_hex(hex)).expect("decodes"), want);
    }
}

#[test]
fn a_format_3_record_with_a_cut_signature_is_refused() {
    // Proves a signed record one byte short does not decode as anything.
    let r = golden_records_v3().remove(0);
    let mut buf = Vec::new();
    encode_record(&r, &mut buf).expect("encodes");
    buf.pop();
    assert!(decode_record(&buf).is_err());
}
