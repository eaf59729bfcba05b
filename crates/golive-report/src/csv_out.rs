//! A table as CSV: RFC 4180 (comma-separated, CRLF line ends, fields with a comma, a quote or a
//! line end quoted, quotes doubled), a header row, UTF-8, optionally with a byte-order mark so
//! that Excel reads the pound signs and accents of the text columns right.

use crate::table::Table;

const BOM: &[u8] = "\u{feff}".as_bytes();

/// `table` as CSV bytes, with a UTF-8 byte-order mark first when `bom`.
pub fn write_csv(table: &Table, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(BOM);
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    // Writing to a Vec cannot fail; every row has the header's width (Table::push asserts it).
    w.write_record(table.header())
        .expect("CSV into memory cannot fail");
    for row in &table.rows {
        w.write_record(table.written(row))
            .expect("CSV into memory cannot fail");
    }
    w.into_inner().expect("CSV into memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Cell, Column};

    #[test]
    fn rfc_4180_quoting_crlf_and_the_optional_bom() {
        let mut t = Table::new("x", &[Column::plain("a"), Column::money("amount")]);
        t.push(vec![Cell::text("say \"hi\", then\nleave"), Cell::Pence(-5)]);
        let s = String::from_utf8(write_csv(&t, false)).unwrap();
        assert_eq!(
            s,
            "a,amount_pence,amount_pounds\r\n\"say \"\"hi\"\", then\nleave\",-5,-0.05\r\n"
        );
        let b = write_csv(&t, true);
        assert_eq!(&b[..3], [0xEF, 0xBB, 0xBF]);
        assert_eq!(&b[3..], s.as_bytes());
    }
}
