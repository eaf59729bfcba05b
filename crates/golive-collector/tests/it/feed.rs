//! The feed readers on in-memory input: JSONL and CSV, good and bad records, line numbers,
//! fields and reasons. No NATS, no disk.

use std::ops::ControlFlow;

use golive_collector::feed::{FeedRecord, LocalRejection, ValidEvent, read_csv, read_jsonl};
use golive_model::decode;

fn collect_jsonl(text: &[u8]) -> (Vec<ValidEvent>, Vec<LocalRejection>) {
    let mut events = Vec::new();
    let mut rejects = Vec::new();
    let counts = read_jsonl(text, "feed.jsonl", &mut |r| {
        match r {
            FeedRecord::Event(e) => events.push(e),
            FeedRecord::Rejected(r) => rejects.push(r),
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(counts.events as usize, events.len());
    assert_eq!(counts.rejected as usize, rejects.len());
    (events, rejects)
}

fn collect_csv(text: &str) -> (Vec<ValidEvent>, Vec<LocalRejection>) {
    let mut events = Vec::new();
    let mut rejects = Vec::new();
    read_csv(text.as_bytes(), "feed.csv", &mut |r| {
        match r {
            FeedRecord::Event(e) => events.push(e),
            FeedRecord::Rejected(r) => rejects.push(r),
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    (events, rejects)
}

const GOOD: &str = r#"{"event_id":"0193f0e2-0000-4000-8000-000000000001","trust":"RAL","site":"Royal Free","collector":"ral-fin","collector_seq":1,"occurred_at":"2008-06-01T09:00:00Z","recorded_at":"2008-06-02T09:00:00Z","schema":1,"kind":"extra_cost","data":{"category":"temporary_staff","amount_pence":1001},"source":{"type":"board_paper","ref":"Board paper"},"status":"reported"}"#;

fn good_with(id_digit: char, seq: u64) -> String {
    GOOD.replace("000000000001", &format!("00000000000{id_digit}"))
        .replace("\"collector_seq\":1", &format!("\"collector_seq\":{seq}"))
}

#[test]
fn jsonl_good_lines_become_canonical_events_and_blank_lines_are_skipped() {
    // Proves valid lines yield the canonical bytes, subject and line number the model defines,
    // with CRLF endings, a byte-order mark and blank lines tolerated.
    let text = format!(
        "\u{feff}{}\r\n\n   \n{}\n",
        good_with('1', 1),
        good_with('2', 2)
    );
    let (events, rejects) = collect_jsonl(text.as_bytes());
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(events.len(), 2);
    let env = decode(good_with('2', 2).as_bytes()).unwrap();
    assert_eq!(events[1].canonical, env.canonical_bytes());
    assert_eq!(events[1].subject, "golive.events.RAL.extra_cost");
    assert_eq!(events[1].event_id, env.event_id);
    assert_eq!((events[0].line, events[1].line), (1, 4));
}

#[test]
fn jsonl_bad_lines_are_rejected_with_line_field_and_reason() {
    // Proves each kind of bad line is reported with its own line number, the offending field and
    // a reason, and that reading continues after it (including after an overlong line).
    let overlong = format!("{{\"x\":\"{}\"}}", "a".repeat(70 * 1024));
    let lines = [
        good_with('1', 1),                                            // 1 ok
        "{not json".to_owned(),                                       // 2
        GOOD.replace("\"trust\":\"RAL\",", ""),                       // 3 missing trust
        GOOD.replace("extra_cost", "extra_costs"),                    // 4 unknown kind
        GOOD.replace("\"amount_pence\":1001", "\"amount_pence\":-5"), // 5 negative money
        overlong,                                                     // 6 too large
        GOOD.replace(
            "\"amount_pence\":1001}",
            "\"amount_pence\":1001,\"colour\":\"red\"}",
        ), // 7
        good_with('3', 3),                                            // 8 ok
    ];
    let text = lines.join("\n");
    let (events, rejects) = collect_jsonl(text.as_bytes());
    assert_eq!(events.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 8]);
    let got: Vec<(u64, &str)> = rejects.iter().map(|r| (r.line, r.field.as_str())).collect();
    assert_eq!(
        got,
        [
            (2, "(message)"),
            (3, "trust"),
            (4, "kind"),
            (5, "data.amount_pence"),
            (6, "(message)"),
            (7, "data.colour"),
        ]
    );
    assert!(
        rejects[1].reason.contains("missing"),
        "{}",
        rejects[1].reason
    );
    assert!(rejects[4].reason.contains("limit"), "{}", rejects[4].reason);
    assert!(rejects.iter().all(|r| r.source == "feed.jsonl"));
}

const HEADER: &str = "event_id,trust,site,collector,collector_seq,occurred_at,recorded_at,schema,kind,status,source_type,source_ref,supersedes,data";

fn row(id: &str, seq: &str, data: &str) -> String {
    format!(
        "{id},RAL,Royal Free,ral-fin,{seq},2008-06-01T09:00:00Z,2008-06-02T09:00:00Z,1,extra_cost,reported,board_paper,Board paper,,\"{}\"",
        data.replace('"', "\"\"")
    )
}

const DATA: &str = r#"{"category":"temporary_staff","amount_pence":1001}"#;

#[test]
fn csv_rows_decode_to_the_same_event_as_jsonl() {
    // Proves a CSV row becomes exactly the event its JSONL twin becomes (same canonical bytes),
    // with a byte-order mark, any column order and absent optional columns accepted.
    let csv = format!(
        "\u{feff}{HEADER}\n{}\n",
        row("0193f0e2-0000-4000-8000-000000000001", "1", DATA)
    );
    let (events, rejects) = collect_csv(&csv);
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(events.len(), 1);
    let twin = decode(GOOD.as_bytes()).unwrap();
    assert_eq!(events[0].canonical, twin.canonical_bytes());
    assert_eq!(events[0].line, 2);

    // Reordered columns, no site/status/supersedes columns at all.
    let csv = format!(
        "data,kind,schema,recorded_at,occurred_at,collector_seq,collector,trust,event_id,source_ref,source_type\n\
         \"{}\",extra_cost,1,2008-06-02T09:00:00Z,2008-06-01T09:00:00Z,1,ral-fin,RAL,0193f0e2-0000-4000-8000-000000000001,Board paper,board_paper\n",
        DATA.replace('"', "\"\"")
    );
    let (events, rejects) = collect_csv(&csv);
    assert!(rejects.is_empty(), "{rejects:?}");
    let without_site = decode(GOOD.replace("\"site\":\"Royal Free\",", "").as_bytes()).unwrap();
    assert_eq!(events[0].canonical, without_site.canonical_bytes());
}

#[test]
fn csv_bad_rows_are_rejected_with_line_field_and_reason() {
    // Proves bad CSV rows are each reported with the line they start on (quoted newlines
    // counted), the column or data field at fault, and that later rows are still read.
    let id = |n: u32| format!("0193f0e2-0000-4000-8000-00000000000{n}");
    let multiline = r#"{"category":"temporary_staff",
"amount_pence":1001,
"description":"spans lines"}"#;
    let rows = [
        row(&id(1), "1", DATA),   // line 2 ok
        row(&id(2), "abc", DATA), // 3
        row(
            &id(3),
            "3",
            r#"{"category":"temporary_staff","amount_pence":-5}"#,
        ), // 4
        row(&id(4), "4", "not json"), // 5
        row(&id(5), "5", DATA).replace(",RAL,", ",,"), // 6 no trust
        "a,b,c".to_owned(),       // 7
        row(&id(6), "6", DATA).replace(",board_paper,Board paper,", ",board_paper,,"), // 8
        row(&id(7), "7", multiline), // 9-11 ok
        row(&id(8), "8", DATA).replace("extra_cost", "bogus"), // 12
        row(&id(9), "9", DATA),   // 13 ok
    ];
    let csv = format!("{HEADER}\n{}\n", rows.join("\n"));
    let (events, rejects) = collect_csv(&csv);
    assert_eq!(
        events.iter().map(|e| e.line).collect::<Vec<_>>(),
        [2, 9, 13]
    );
    let got: Vec<(u64, &str)> = rejects.iter().map(|r| (r.line, r.field.as_str())).collect();
    assert_eq!(
        got,
        [
            (3, "collector_seq"),
            (4, "data.amount_pence"),
            (5, "data"),
            (6, "trust"),
            (7, "(row)"),
            (8, "source_ref"),
            (12, "kind"),
        ]
    );
    assert!(rejects[0].reason.contains("`abc`"), "{}", rejects[0].reason);
    assert!(
        rejects[4].reason.contains("3 cells"),
        "{}",
        rejects[4].reason
    );
}

#[test]
fn csv_bad_header_rejects_the_whole_input() {
    // Proves an unknown, duplicated or missing required column is reported once at line 1 and
    // no row is read (a shifted header would put every value in the wrong field).
    let body = row("0193f0e2-0000-4000-8000-000000000001", "1", DATA);
    let (e, r) = collect_csv(&format!("{},colour\n{body},red\n", HEADER));
    assert!(e.is_empty());
    assert_eq!((r[0].line, r[0].field.as_str()), (1, "colour"));
    let (e, r) = collect_csv(&format!("{HEADER},trust\n{body},RAL\n"));
    assert!(e.is_empty());
    assert_eq!(r[0].field, "trust");
    assert!(r[0].reason.contains("twice"));
    let (e, r) = collect_csv("event_id,trust\n1,RAL\n");
    assert!(e.is_empty());
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].field, "(header)");
    assert!(r[0].reason.contains("collector_seq"), "{}", r[0].reason);
    // Empty input: nothing, and no complaint.
    assert_eq!(collect_csv(""), (vec![], vec![]));
}

#[test]
fn the_readme_csv_example_is_valid() {
    // Proves every ```csv block in the crate's README reads without a single rejection, so the
    // documented format is the implemented one.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```csv\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(!blocks.is_empty(), "the README has a CSV example");
    for block in blocks {
        let (events, rejects) = collect_csv(block);
        assert!(rejects.is_empty(), "{rejects:?}");
        assert!(!events.is_empty());
    }
}
