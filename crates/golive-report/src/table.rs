//! A view as one table: named columns, one row per line of the view (a trust, a month, a
//! category, a case). The CSV and Excel writers read only this, so a view's table is defined
//! once, in [`crate::views`], and both formats agree.

use serde::Serialize;

/// One cell. Money is integer pence, written as two columns: `<name>_pence` (the integer) and
/// `<name>_pounds` (pounds with two decimals, computed from the integer, never through a float).
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Bool(bool),
    Pence(i64),
    /// A percentage or a ratio as the view gives it (one decimal in the views).
    Decimal(f64),
}

impl Cell {
    /// A label of a value that serializes as a string (the views' enums: `snake_case`).
    pub fn label<T: Serialize>(value: &T) -> Cell {
        Cell::Text(name_of(value))
    }

    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    pub fn opt_text<T: std::fmt::Display>(s: Option<T>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.to_string()))
    }

    pub fn count(n: u64) -> Cell {
        Cell::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }

    pub fn opt_count(n: Option<u64>) -> Cell {
        n.map_or(Cell::Empty, Cell::count)
    }

    pub fn opt_int(n: Option<i64>) -> Cell {
        n.map_or(Cell::Empty, Cell::Int)
    }

    pub fn opt_decimal(x: Option<f64>) -> Cell {
        x.map_or(Cell::Empty, Cell::Decimal)
    }

    /// A UTC time as RFC 3339 with a `Z`.
    pub fn time(t: chrono::DateTime<chrono::Utc>) -> Cell {
        Cell::Text(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    pub fn opt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> Cell {
        t.map_or(Cell::Empty, Cell::time)
    }
}

/// The name a value serializes as (the views' enums are `snake_case` strings).
pub fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(v) => v.to_string(),
        Err(e) => unreachable!("a view's value always serializes: {e}"),
    }
}

/// `pence` as pounds with two decimals: `-123456` is `-1234.56`.
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.unsigned_abs();
    format!("{sign}{}.{:02}", p / 100, p % 100)
}

/// A column: its name, and whether it holds money (then it is written as two columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub money: bool,
}

impl Column {
    pub const fn plain(name: &'static str) -> Self {
        Self { name, money: false }
    }

    /// A money column `name`: written as `name_pence` and `name_pounds`.
    pub const fn money(name: &'static str) -> Self {
        Self { name, money: true }
    }
}

/// One view's table.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The view's name as the CLI spells it (`money`, `lost-patients`): a sheet's name.
    pub view: &'static str,
    pub columns: Vec<Column>,
    /// The first this many columns identify a row (all of them until a view says fewer).
    pub key_columns: usize,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(view: &'static str, columns: &[Column]) -> Self {
        Self {
            view,
            columns: columns.to_vec(),
            key_columns: columns.len(),
            rows: Vec::new(),
        }
    }

    /// The same table, its first `keys` columns identifying a row.
    pub fn with_keys(mut self, keys: usize) -> Self {
        assert!(
            keys <= self.columns.len(),
            "the {} table's keys are columns",
            self.view
        );
        self.key_columns = keys;
        self
    }

    /// Adds a row. A row of another width is a programmer error.
    pub fn push(&mut self, row: Vec<Cell>) {
        assert_eq!(
            row.len(),
            self.columns.len(),
            "a row of the {} table has one cell per column",
            self.view
        );
        for (c, cell) in self.columns.iter().zip(&row) {
            assert!(
                c.money || !matches!(cell, Cell::Pence(_)),
                "pence in column {} of the {} table, which is not a money column",
                c.name,
                self.view
            );
        }
        self.rows.push(row);
    }

    /// The header as written: a money column is two.
    pub fn header(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.columns {
            if c.money {
                out.push(format!("{}_pence", c.name));
                out.push(format!("{}_pounds", c.name));
            } else {
                out.push(c.name.to_owned());
            }
        }
        out
    }

    /// The written cells of a row that identify it (a money column is two).
    pub fn key_of<'a>(&self, written: &'a [String]) -> &'a [String] {
        let width: usize = self.columns[..self.key_columns]
            .iter()
            .map(|c| if c.money { 2 } else { 1 })
            .sum();
        &written[..width]
    }

    /// A row as written (text of each written column), matching [`Table::header`].
    pub fn written(&self, row: &[Cell]) -> Vec<String> {
        let mut out = Vec::new();
        for (c, cell) in self.columns.iter().zip(row) {
            match cell {
                Cell::Pence(p) => {
                    out.push(p.to_string());
                    out.push(pounds(*p));
                }
                other => {
                    out.push(text_of(other));
                    if c.money {
                        out.push(String::new());
                    }
                }
            }
        }
        out
    }
}

/// A cell's text in a CSV file.
pub fn text_of(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.clone(),
        Cell::Int(n) | Cell::Pence(n) => n.to_string(),
        Cell::Bool(b) => b.to_string(),
        Cell::Decimal(x) => x.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pounds_are_the_pence_with_two_decimals() {
        assert_eq!(pounds(0), "0.00");
        assert_eq!(pounds(5), "0.05");
        assert_eq!(pounds(467_600_000), "4676000.00");
        assert_eq!(pounds(-123_456), "-1234.56");
        assert_eq!(pounds(i64::MIN), "-92233720368547758.08");
    }

    proptest! {
        #[test]
        fn pounds_read_back_as_the_same_pence(p in any::<i64>()) {
            // Proves: the pounds column never loses a penny (parsed as an integer, no float).
            let s = pounds(p);
            let (whole, frac) = s.trim_start_matches('-').split_once('.').unwrap();
            prop_assert_eq!(frac.len(), 2);
            let back = i128::from(whole.parse::<u64>().unwrap()) * 100
                + i128::from(frac.parse::<u64>().unwrap());
            let back = if s.starts_with('-') { -back } else { back };
            prop_assert_eq!(back, i128::from(p));
        }
    }

    #[test]
    fn a_money_column_is_written_as_pence_and_pounds() {
        let mut t = Table::new("money", &[Column::plain("trust"), Column::money("amount")]);
        t.push(vec![Cell::text("RAL"), Cell::Pence(130_000_000)]);
        assert_eq!(t.header(), ["trust", "amount_pence", "amount_pounds"]);
        assert_eq!(t.written(&t.rows[0]), ["RAL", "130000000", "1300000.00"]);
    }

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn a_row_of_another_width_is_a_programmer_error() {
        let mut t = Table::new("money", &[Column::plain("trust")]);
        t.push(vec![]);
    }
}
