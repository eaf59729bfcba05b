//! Mappings: the grammar's errors name their line and key; rows become events the model
//! accepts, or rejections naming their column; NHS numbers never come out.

use std::ops::ControlFlow;

use super::*;
use crate::feed::FeedRecord;

const PTL: &str = include_str!("../../../../deploy/feeds/ptl.toml");
const PTL_CSV: &str = include_str!("../../../../samples/ptl.csv");
const SAMPLES: [(&str, &str, &str); 3] = [
    (
        "incidents",
        include_str!("../../../../deploy/feeds/incidents.toml"),
        include_str!("../../../../samples/incidents.csv"),
    ),
    (
        "finance",
        include_str!("../../../../deploy/feeds/finance.toml"),
        include_str!("../../../../samples/finance.csv"),
    ),
    (
        "activity",
        include_str!("../../../../deploy/feeds/activity.toml"),
        include_str!("../../../../samples/activity.csv"),
    ),
];

fn secret() -> TrustSecret {
    TrustSecret {
        trust: "ZF001".into(),
        key: [42; transform::TRUST_KEY_BYTES],
    }
}

fn context() -> FileContext {
    FileContext {
        name: "export.csv".into(),
        modified: Some(chrono::DateTime::from_timestamp(1_225_650_000, 0).unwrap()),
    }
}

fn read(
    mapping: &str,
    csv: &str,
    secret: Option<TrustSecret>,
) -> (Vec<FeedRecord>, crate::FeedCounts) {
    let feed =
        MappedFeed::new(Mapping::parse("m.toml", mapping).unwrap(), "m.toml", secret).unwrap();
    let mut out = Vec::new();
    let counts = read_mapped_csv(csv.as_bytes(), "export.csv", &feed, &context(), &mut |r| {
        out.push(r);
        ControlFlow::Continue(())
    })
    .unwrap();
    (out, counts)
}

fn parse_err(text: &str) -> MappingError {
    Mapping::parse("m.toml", text).unwrap_err()
}

#[test]
fn every_shipped_sample_maps_without_a_rejection() {
    let (records, counts) = read(PTL, PTL_CSV, Some(secret()));
    assert_eq!(
        (counts.events, counts.rejected, counts.skipped),
        (14, 0, 2),
        "{records:?}"
    );
    for (name, mapping, csv) in SAMPLES {
        let (records, counts) = read(mapping, csv, None);
        assert_eq!(counts.rejected, 0, "{name}: {records:?}");
        assert!(counts.events > 0, "{name}");
        for r in &records {
            let FeedRecord::Event(ev) = r else {
                unreachable!()
            };
            let text = String::from_utf8(ev.canonical.clone()).unwrap();
            assert!(text.contains(r#""type":"synthetic""#), "{name}: {text}");
        }
    }
}

#[test]
fn no_nhs_number_of_the_ptl_sample_comes_out_of_a_valid_or_a_bad_row() {
    let bad = PTL_CSV
        .replace("999 001 1370", "999 001 1371")
        .replace("Outpatients 13 weeks", "OP");
    for csv in [PTL_CSV.to_owned(), bad] {
        let (records, _) = read(PTL, &csv, Some(secret()));
        let out = format!("{records:?}");
        let canonical: Vec<u8> = records
            .iter()
            .filter_map(|r| match r {
                FeedRecord::Event(e) => Some(e.canonical.clone()),
                FeedRecord::Rejected(_) => None,
            })
            .flatten()
            .collect();
        let all = format!("{out}{}", String::from_utf8_lossy(&canonical));
        for digits in [
            "9990010005",
            "9990011370",
            "9990011371",
            "9990012741",
            "9990026440",
        ] {
            let spaced = format!("{} {} {}", &digits[..3], &digits[3..6], &digits[6..]);
            assert!(
                !all.contains(digits) && !all.contains(&spaced),
                "{digits} leaked"
            );
        }
    }
}

#[test]
fn the_same_patient_gets_the_same_pseudonym_in_lost_and_traced() {
    let (records, _) = read(PTL, PTL_CSV, Some(secret()));
    let refs: Vec<String> = records
        .iter()
        .filter_map(|r| match r {
            FeedRecord::Event(e) => {
                let v: serde_json::Value = serde_json::from_slice(&e.canonical).unwrap();
                Some(format!("{} {}", v["kind"], v["data"]["patient_ref"]))
            }
            FeedRecord::Rejected(_) => None,
        })
        .collect();
    let first_lost = refs[0].split(' ').nth(1).unwrap().to_owned();
    assert!(
        refs.contains(&format!("\"patient_traced\" {first_lost}")),
        "{refs:?}"
    );
}

#[test]
fn re_reading_an_export_gives_the_same_bytes() {
    let (a, _) = read(PTL, PTL_CSV, Some(secret()));
    let (b, _) = read(PTL, PTL_CSV, Some(secret()));
    assert_eq!(a, b);
}

#[test]
fn bad_rows_name_their_row_and_column_and_the_rest_is_read() {
    let csv = PTL_CSV
        .replace("12/03/2008 09:15", "12/13/2008 09:15")
        .replace("999 001 1370", "999 001 1371")
        .replace(
            ",Cancer 2WW,28/02/2008,Lost",
            ",Cancer 2 weeks,28/02/2008,Lost",
        );
    let (records, counts) = read(PTL, &csv, Some(secret()));
    let rejected: Vec<(u64, String)> = records
        .iter()
        .filter_map(|r| match r {
            FeedRecord::Rejected(j) => Some((j.line, j.field.clone())),
            FeedRecord::Event(_) => None,
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (3, "Status Date".into()),
            (4, "NHS Number".into()),
            (5, "Pathway".into())
        ]
    );
    assert_eq!(counts.events, 11);
}

#[test]
fn a_pseudonymising_mapping_needs_its_trusts_secret() {
    let m = Mapping::parse("m.toml", PTL).unwrap();
    assert!(
        MappedFeed::new(m.clone(), "m.toml", None)
            .unwrap_err()
            .reason
            .contains("--trust-secret")
    );
    let other = TrustSecret {
        trust: "RNJ".into(),
        ..secret()
    };
    assert!(
        MappedFeed::new(m, "m.toml", Some(other))
            .unwrap_err()
            .reason
            .contains("RNJ")
    );
}

#[test]
fn a_copied_nhs_number_is_refused_without_quoting_it() {
    let mapping = PTL.replace(
        r#"discovered_via = { constant = "Patient tracking list validation (SYNTHETIC sample)" }"#,
        r#"discovered_via = { column = "Specialty" }"#,
    );
    let csv = PTL_CSV.replace("Trauma & Orthopaedics", "943 476 5919");
    let (records, _) = read(&mapping, &csv, Some(secret()));
    let FeedRecord::Rejected(j) = &records[0] else {
        panic!("{records:?}")
    };
    assert_eq!(j.field, "Specialty");
    assert!(!j.reason.contains("943"), "{}", j.reason);
}

#[test]
fn a_header_without_a_mapped_column_rejects_the_file_at_line_1() {
    let csv = PTL_CSV.replace("Status Date", "Date");
    let (records, counts) = read(PTL, &csv, Some(secret()));
    assert_eq!(counts.events, 0);
    let FeedRecord::Rejected(j) = &records[0] else {
        panic!()
    };
    assert_eq!(j.line, 1);
    assert!(j.reason.contains("Status Date"), "{}", j.reason);
}

#[test]
fn mapping_errors_name_their_line_and_key() {
    let unknown_kind = PTL.replacen(r#"kind = "patient_lost""#, r#"kind = "patient_mislaid""#, 1);
    let e = parse_err(&unknown_kind);
    let line = PTL
        .lines()
        .position(|l| l.starts_with(r#"kind = "patient_lost""#))
        .unwrap()
        + 1;
    assert_eq!((e.line, e.key.as_str()), (line, "rows[0].kind"), "{e}");

    let bad_as = PTL.replace(
        r#"as = "time", format = "%d/%m/%Y %H:%M", zone"#,
        r#"as = "instant", format = "%d/%m/%Y %H:%M", zone"#,
    );
    let e = parse_err(&bad_as);
    let line = PTL.lines().position(|l| l.contains("zone = ")).unwrap() + 1;
    assert_eq!(
        (e.line, e.key.as_str()),
        (line, "rows[0].occurred_at"),
        "{e}"
    );

    let typo = PTL.replace("key_columns =", "key_colums =");
    let e = parse_err(&typo);
    let line = PTL
        .lines()
        .position(|l| l.starts_with("key_columns"))
        .unwrap()
        + 1;
    assert_eq!(e.line, line, "{e}");
    assert!(e.key.contains("key_colums"), "{e}");

    let two_sources = PTL.replace(
        r#"patient_ref = { pseudonym = "NHS Number" }"#,
        r#"patient_ref = { pseudonym = "NHS Number", column = "X" }"#,
    );
    let e = parse_err(&two_sources);
    assert_eq!(e.key, "rows[0].data.patient_ref", "{e}");
    assert!(e.to_string().starts_with(&format!("m.toml:{}:", e.line)));

    let float = "trust = \"ZF001\"\ncollector = \"c\"\nkey_columns = [\"A\"]\nsources = [{ type = \"manual\", ref = \"r\" }]\nrecorded_at = { file_date = true }\n[[rows]]\nkind = \"extra_cost\"\noccurred_at = { file_date = true }\n[rows.data]\namount_pence = { constant = 1.5 }\n";
    let e = parse_err(float);
    assert_eq!(
        (e.line, e.key.as_str()),
        (10, "rows[0].data.amount_pence"),
        "{e}"
    );

    let bad_trust = PTL.replace(r#"trust = "ZF001""#, r#"trust = "zf""#);
    assert_eq!(parse_err(&bad_trust).key, "trust");
    let syntax = format!("{PTL}\n[[rows]\n");
    assert!(parse_err(&syntax).line > PTL.lines().count());
}

#[test]
fn glob_patterns() {
    assert!(glob_match("ptl-*.csv", "ptl-2008-11.csv"));
    assert!(!glob_match("ptl-*.csv", "finance-2008.csv"));
    assert!(glob_match("*", "anything"));
    assert!(glob_match("a?c*", "abcde"));
    assert!(!glob_match("a?c", "ac"));
}

/// `csv` (comment lines included) as the first sheet of a workbook, every cell text; with
/// `numbers`, the cells of those columns (0-based) that are plain pounds written as numbers.
fn workbook(csv: &str, numbers: &[u16]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, line) in csv.lines().enumerate() {
        let mut rdr = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line.as_bytes());
        let Some(Ok(rec)) = rdr.records().next() else {
            continue;
        };
        for (c, cell) in rec.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            let pounds = cell.trim_start_matches('£').replace(',', "");
            match pounds.parse::<f64>() {
                Ok(x) if numbers.contains(&c) && r > 1 => sheet.write_number(r, c, x),
                _ => sheet.write_string(r, c, cell),
            }
            .unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

fn read_xlsx(mapping: &str, bytes: Vec<u8>) -> (Vec<FeedRecord>, crate::FeedCounts) {
    let feed = MappedFeed::new(
        Mapping::parse("m.toml", mapping).unwrap(),
        "m.toml",
        Some(secret()),
    )
    .unwrap();
    let file = FileContext {
        name: "export.xlsx".into(),
        ..context()
    };
    let mut out = Vec::new();
    let counts = read_mapped(&bytes[..], "export.xlsx", &feed, &file, &mut |r| {
        out.push(r);
        ControlFlow::Continue(())
    })
    .unwrap();
    (out, counts)
}

#[test]
fn a_sample_saved_as_a_workbook_reads_as_its_csv() {
    // Proves: each shipped sample written into an .xlsx (its cells as text; the finance
    // amounts as Excel numbers, as a finance spreadsheet holds them) gives the same events and
    // rejections, row for row, as the CSV.
    let mut all = SAMPLES.to_vec();
    all.push(("ptl", PTL, PTL_CSV));
    for (name, mapping, csv) in all {
        let numbers: &[u16] = if name == "finance" { &[4] } else { &[] };
        let (want, want_counts) = read(mapping, csv, Some(secret()));
        let (got, got_counts) = read_xlsx(mapping, workbook(csv, numbers));
        assert!(want_counts.events > 0, "{name}");
        assert_eq!(got_counts, want_counts, "{name}");
        // The same events, but for the file's name in their sources (`{file}`).
        let events = |r: &[FeedRecord]| -> Vec<String> {
            r.iter()
                .filter_map(|x| match x {
                    FeedRecord::Event(e) => Some(
                        String::from_utf8_lossy(&e.canonical).replace("export.xlsx", "export.csv"),
                    ),
                    FeedRecord::Rejected(_) => None,
                })
                .collect()
        };
        assert_eq!(events(&got), events(&want), "{name}");
    }
}

#[test]
fn a_workbook_without_the_sheet_or_not_a_workbook_is_one_rejection_of_the_file() {
    let (_, finance, csv) = SAMPLES[1];
    let with_sheet = format!("sheet = \"Nov 2008\"\n{finance}");
    let (got, counts) = read_xlsx(&with_sheet, workbook(csv, &[]));
    assert_eq!(counts.rejected, 1);
    let FeedRecord::Rejected(r) = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!((r.line, r.field.as_str()), (1, "(file)"));
    assert!(r.reason.contains("no sheet `Nov 2008`"), "{}", r.reason);
    let (got, _) = read_xlsx(finance, b"not a workbook".to_vec());
    let FeedRecord::Rejected(r) = &got[0] else {
        panic!("{got:?}")
    };
    assert!(
        r.reason.starts_with("not an Excel workbook"),
        "{}",
        r.reason
    );
}
