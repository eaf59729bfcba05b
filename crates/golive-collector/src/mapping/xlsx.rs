//! An Excel workbook (`.xlsx`, read with `calamine`) as the CSV of one of its sheets, so that a
//! mapping reads a finance spreadsheet exactly as it reads the same sheet saved as CSV: the
//! first row is the header, each later row one data row, row numbers as Excel shows them.
//!
//! Cells become text as a CSV export writes them: numbers in their shortest form (`1234.56`,
//! `39630`), a cell formatted as a date as its Excel serial number (map it with `format =
//! "excel"`), booleans `true`/`false`, an error cell as its code (`#DIV/0!`, which no transform
//! accepts), and a line break inside a cell as a space (one row stays one line).

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};

/// Largest workbook read (bytes): a trust export, not a data warehouse.
pub const XLSX_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Whether a file is read as a workbook (by its name).
pub fn is_xlsx(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".xlsx")
}

/// The sheet `sheet` (default: the first) of the workbook `reader` holds, as CSV with
/// `delimiter`; the reason when it cannot be read.
pub fn sheet_as_csv(
    reader: impl Read,
    sheet: Option<&str>,
    delimiter: u8,
) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(XLSX_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the workbook: {e}"))?;
    if bytes.len() as u64 > XLSX_BYTES_MAX {
        return Err(format!("the workbook is over {XLSX_BYTES_MAX} bytes"));
    }
    let mut book: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| format!("not an Excel workbook: {e}"))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) if names.iter().any(|n| n == s) => s.to_owned(),
        Some(s) => {
            return Err(format!(
                "the workbook has no sheet `{s}`; its sheets: {}",
                names.join(", ")
            ));
        }
        None => names
            .first()
            .cloned()
            .ok_or_else(|| "the workbook has no sheet".to_owned())?,
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| format!("cannot read sheet `{name}`: {e}"))?;
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_writer(Vec::new());
    for row in range.rows() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        w.write_record(&cells)
            .map_err(|e| format!("cannot convert sheet `{name}`: {e}"))?;
    }
    w.into_inner()
        .map_err(|e| format!("cannot convert sheet `{name}`: {e}"))
}

/// A cell's text as a CSV export would write it.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            s.replace(['\r', '\n'], " ")
        }
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => number(d.as_f64()),
        Data::Error(e) => e.to_string(),
    }
}

/// A number in its shortest form; a whole number without a decimal point.
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_a_csv_export_writes_them() {
        assert_eq!(number(39630.0), "39630");
        assert_eq!(number(1234.56), "1234.56");
        assert_eq!(number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(cell_text(&Data::String("a\nb".into())), "a b");
        assert_eq!(cell_text(&Data::Bool(true)), "true");
        assert!(is_xlsx("Finance-Nov.XLSX") && !is_xlsx("finance.csv"));
    }

    #[test]
    fn what_is_not_a_workbook_or_lacks_the_sheet_is_refused_with_the_reason() {
        let e = sheet_as_csv(&b"trust,amount\n"[..], None, b',').unwrap_err();
        assert!(e.starts_with("not an Excel workbook"), "{e}");
    }
}
