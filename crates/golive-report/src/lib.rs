//! Go-Live Ledger's take-away figures: every projection view as one documented table
//! ([`Tabular`], docs/API.md "Tables"), written as CSV (RFC 4180, [`write_csv`]) or as an Excel
//! workbook with a cover sheet ([`write_xlsx`], written by `rust_xlsxwriter`). Pure: no store,
//! no network; the HTTP API and the CLI hand it views and write what it returns.

mod csv_out;
mod evidence;
mod headline;
mod html;
mod table;
mod views;
mod xlsx;

use std::collections::HashMap;

pub use csv_out::write_csv;
pub use evidence::{
    EVIDENCE_LIMIT_DEFAULT, EVIDENCE_LIMIT_MAX, Evidence, EvidenceError, EvidenceEvent, EvidenceOf,
    EvidencePage, EvidencePlan, Found, LineEvidence, NET_COST, evidence_of,
};
pub use headline::{Headline, TrustHeadline, headline};
pub use html::{CheckpointInfo, ReportInput, esc, money, report_html};
pub use table::{Cell, Column, Table, name_of, pounds, text_of};
pub use views::Tabular;
pub use xlsx::{Cover, write_xlsx};

/// How a row of a table stands to the synthetic events (column `synthetic`).
pub const SYNTHETIC_NONE: &str = "none";
/// The row differs from the same row of the sourced-only answer.
pub const SYNTHETIC_PART: &str = "part";
/// The row exists only because of synthetic events.
pub const SYNTHETIC_ALL: &str = "all";

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// `view`'s table with a last column `synthetic`: for each row, `none` when the sourced-only
/// answer (`sourced`, the same view as if no synthetic event had been appended) has the same
/// row, `part` when it has the row (the same key) with other figures, `all` when it has no such
/// row. Without `sourced` (no synthetic event in the ledger, or synthetic events excluded) every
/// row is `none`.
pub fn marked_table<V: Tabular>(view: &V, sourced: Option<&V>) -> Table {
    let mut t = view.table();
    let theirs: Option<HashMap<Vec<String>, Vec<String>>> = sourced.map(|s| {
        let st = s.table();
        st.rows
            .iter()
            .map(|r| {
                let w = st.written(r);
                (st.key_of(&w).to_vec(), w)
            })
            .collect()
    });
    let marks: Vec<&'static str> = t
        .rows
        .iter()
        .map(|r| {
            let Some(theirs) = &theirs else {
                return SYNTHETIC_NONE;
            };
            let w = t.written(r);
            match theirs.get(t.key_of(&w)) {
                None => SYNTHETIC_ALL,
                Some(s) if *s == w => SYNTHETIC_NONE,
                Some(_) => SYNTHETIC_PART,
            }
        })
        .collect();
    t.columns.push(Column::plain("synthetic"));
    for (row, mark) in t.rows.iter_mut().zip(marks) {
        row.push(Cell::text(mark));
    }
    t
}

/// The table of the view `build` makes of `p`, marked (see [`marked_table`]): against the
/// sourced-only projections when `p` has synthetic events, or of those alone with `exclude`.
pub fn table_of<V: Tabular>(
    p: &golive_projections::Projections,
    exclude: bool,
    build: impl Fn(&golive_projections::Projections) -> V,
) -> Table {
    if exclude {
        return marked_table(&build(p.sourced_only()), None);
    }
    let sourced = (p.synthetic_events() > 0).then(|| build(p.sourced_only()));
    marked_table(&build(p), sourced.as_ref())
}
