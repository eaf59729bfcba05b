//! Take-away figures end to end on a real ledger of the London scenario: the PDF report (printed
//! by headless Chromium, read back with poppler's pdftotext and rendered with pdftoppm) holds
//! the same figures as `golive query` at the same sequence and the signed checkpoint; `golive
//! audit figures` re-derives them from a verified export alone; the workbook reads back with one
//! sheet per view; a tampered export is refused.

use std::path::Path;
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use golive_testkit::golive::{ok, scenario, stdout};
use serde_json::Value;

use super::GOLIVE;

fn ledger(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("ledger");
    ok(GOLIVE.run_with_data(&data, &["ingest", scenario().to_str().unwrap()]));
    data
}

fn json(data: &Path, args: &[&str]) -> Value {
    let o = ok(GOLIVE.run_with_data(data, args));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// The PDF's text, as a reader's tool extracts it (lines joined).
fn pdf_text(pdf: &Path) -> String {
    let o = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils) is installed");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).replace('\n', " ")
}

/// £ as the report writes it (from pence).
fn pounds(pence: i64) -> String {
    golive_report::money(pence)
}

#[test]
fn the_report_pdf_holds_the_query_s_figures_and_the_signed_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = ledger(dir.path());
    let pdf = dir.path().join("r.pdf");
    let o = ok(GOLIVE.run_with_data(
        &data,
        &["report", "--trust", "RAL", "--out", pdf.to_str().unwrap()],
    ));
    assert!(String::from_utf8_lossy(&o.stderr).contains("as of seq"));
    let bytes = std::fs::read(&pdf).unwrap();
    assert_eq!(&bytes[..4], b"%PDF");
    let text = pdf_text(&pdf);
    let money = json(&data, &["query", "money", "--trust", "RAL", "--json"]);
    let t = &money["trusts"]["RAL"]["total"];
    for field in ["net_cost_pence", "extra_cost_pence", "income_at_risk_pence"] {
        let want = pounds(t[field].as_i64().unwrap());
        assert!(
            text.contains(&want),
            "{field} {want} not in the report: {text}"
        );
    }
    let head = json(&data, &["status", "--json"]);
    let seq = head["head_seq"].as_u64().unwrap();
    assert!(text.contains(&format!("Ledger sequence {seq}")), "{text}");
    let key = stdout(&ok(GOLIVE.run_with_data(&data, &["audit", "pubkey"])));
    assert!(text.contains("golive audit figures"), "{text}");
    assert!(text.contains("signed checkpoint"), "{text}");
    // The checkpoint's origin line and the key are printed as they are.
    let origin = key.trim().split('+').next().unwrap();
    assert!(text.contains(origin), "{origin} in {text}");
    // A page rendered for people to look at: kept with the test's artifacts.
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-page-1");
    let r = Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&out)
        .status()
        .expect("pdftoppm runs");
    assert!(r.success());
    let png = std::fs::read(out.with_extension("png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn audit_figures_re_derive_the_figures_from_a_verified_export_alone() {
    let f = super::audit::fixture();
    let (dir, data, key, export) = (f.dir.path(), &f.data, &f.pubkey, &f.export);
    let e = export.to_str().unwrap();
    for (size, known) in [
        ("160", None),
        ("100", None),
        ("160", Some("2009-01-11T00:00:00Z")),
    ] {
        let mut args = vec!["audit", "figures", "--export", e, "--pubkey", key];
        args.extend(["--at-size", size, "--json"]);
        let mut q = vec!["query", "money", "--json", "--as-of-seq", size];
        if let Some(k) = known {
            args.extend(["--known-at", k]);
            q.extend(["--known-at", k]);
        }
        let got: Value = serde_json::from_str(&stdout(&ok(GOLIVE.run(&args)))).unwrap();
        assert_eq!(got["result"], "verified");
        assert_eq!(got["as_of_seq"].as_u64(), size.parse().ok());
        let money = json(data, &q);
        let lost = {
            let mut l = q.clone();
            l[1] = "lost-patients";
            json(data, &l)
        };
        let trusts = money["trusts"].as_object().unwrap();
        assert!(!trusts.is_empty());
        for (code, m) in trusts {
            let f = &got["figures"]["trusts"][code];
            assert_eq!(
                f["net_cost_pence"], m["total"]["net_cost_pence"],
                "{code} at {size} {known:?}"
            );
            assert_eq!(
                f["open_lost_patients"], lost["trusts"][code]["open_count"],
                "{code}"
            );
        }
    }
    // An export with one figure changed is refused, with verify's exit code.
    let text = std::fs::read_to_string(export).unwrap();
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, text.replacen("467600000", "467600001", 1)).unwrap();
    assert_ne!(text, std::fs::read_to_string(&bad).unwrap());
    let o = GOLIVE.run(&[
        "audit",
        "figures",
        "--export",
        bad.to_str().unwrap(),
        "--pubkey",
        key,
    ]);
    assert_eq!(
        o.status.code(),
        Some(golive::exit::TAMPERED as i32),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_workbook_has_a_cover_and_a_sheet_per_view_matching_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let data = ledger(dir.path());
    let book = dir.path().join("board.xlsx");
    ok(GOLIVE.run_with_data(
        &data,
        &[
            "export-xlsx",
            "--out",
            book.to_str().unwrap(),
            "--as-of-seq",
            "120",
        ],
    ));
    let mut x: Xlsx<_> = calamine::open_workbook(&book).unwrap();
    let names = x.sheet_names();
    for v in [
        "cover",
        "money",
        "lost-patients",
        "warnings",
        "claims",
        "recovery",
        "trusts",
    ] {
        assert!(names.iter().any(|n| n == v), "{v} in {names:?}");
    }
    let cover = x.worksheet_range("cover").unwrap();
    assert_eq!(
        cover.get_value((2, 0)),
        Some(&Data::String("as_of_seq".into()))
    );
    assert_eq!(cover.get_value((2, 1)), Some(&Data::String("120".into())));
    let csv = stdout(&ok(GOLIVE.run_with_data(
        &data,
        &["query", "money", "--format", "csv", "--as-of-seq", "120"],
    )));
    let money = x.worksheet_range("money").unwrap();
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let pence = header.iter().position(|h| h == "amount_pence").unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(money.height(), rows.len() + 1);
    for (i, row) in rows.iter().enumerate() {
        let cell = money.get_value((i as u32 + 1, pence as u32)).unwrap();
        assert_eq!(cell, &Data::Float(row[pence].parse().unwrap()), "row {i}");
    }
}
