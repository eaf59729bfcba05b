//! Tables as one Excel workbook: a cover sheet (what the figures are: the ledger's sequence, its
//! signed checkpoint, the command that re-derives them), then one sheet per view with its header
//! row frozen. Written by `rust_xlsxwriter` (never hand-built XML).
//!
//! Numbers are Excel numbers: counts and `_pence` columns exact (Excel holds integers below
//! 2^53 exactly: £90 trillion), `_pounds` columns the pence divided by 100 as Excel stores any
//! number, formatted `£#,##0.00`. The pence column is the one to reconcile with.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::ReportError;
use crate::table::{Cell, Table};

/// What the cover sheet says: one labelled line each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cover {
    pub title: String,
    /// `(label, value)` lines, in order: as-of sequence, checkpoint, command, ...
    pub lines: Vec<(String, String)>,
}

/// The workbook's bytes: the cover sheet, then each table on a sheet named after its view.
pub fn write_xlsx(cover: &Cover, tables: &[Table]) -> Result<Vec<u8>, ReportError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("£#,##0.00");
    let sheet = book.add_worksheet();
    sheet.set_name("cover")?;
    sheet.write_string_with_format(0, 0, &cover.title, &bold)?;
    for (i, (label, value)) in cover.lines.iter().enumerate() {
        let row = u32::try_from(i + 2).unwrap_or(u32::MAX);
        sheet.write_string_with_format(row, 0, label, &bold)?;
        sheet.write_string(row, 1, value)?;
    }
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 120)?;
    for t in tables {
        let sheet = book.add_worksheet();
        sheet.set_name(t.view)?;
        write_table(sheet, t, &bold, &money)?;
    }
    Ok(book.save_to_buffer()?)
}

fn write_table(
    sheet: &mut Worksheet,
    t: &Table,
    bold: &Format,
    money: &Format,
) -> Result<(), XlsxError> {
    for (c, name) in t.header().iter().enumerate() {
        sheet.write_string_with_format(0, col(c), name, bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, row) in t.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        let mut c = 0usize;
        for (column, cell) in t.columns.iter().zip(row) {
            match cell {
                Cell::Empty => {}
                Cell::Text(s) => {
                    sheet.write_string(r, col(c), s)?;
                }
                Cell::Int(n) => {
                    sheet.write_number(r, col(c), *n as f64)?;
                }
                Cell::Bool(b) => {
                    sheet.write_boolean(r, col(c), *b)?;
                }
                Cell::Decimal(x) => {
                    sheet.write_number(r, col(c), *x)?;
                }
                Cell::Pence(p) => {
                    sheet.write_number(r, col(c), *p as f64)?;
                    sheet.write_number_with_format(r, col(c + 1), *p as f64 / 100.0, money)?;
                }
            }
            c += if column.money { 2 } else { 1 };
        }
    }
    sheet.autofit();
    Ok(())
}

/// A column index as the workbook counts them (a view has a dozen columns at most).
fn col(c: usize) -> u16 {
    u16::try_from(c).expect("a table has fewer than 65536 columns")
}
