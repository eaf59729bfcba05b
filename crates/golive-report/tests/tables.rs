//! The tables of the London scenario's views: the money table adds up to the money view's
//! headline, every view's table has the documented header and unique keys, synthetic rows are
//! marked, and the workbook reads back with one sheet per view and the same cells.

use std::collections::{HashMap, HashSet};

use calamine::{Data, Reader, Xlsx};
use golive_model::{Envelope, EventId};
use golive_projections::{Align, Projections, Tariffs, WarningRules};
use golive_report::{
    Cover, SYNTHETIC_ALL, SYNTHETIC_NONE, Table, Tabular, marked_table, write_csv, write_xlsx,
};

fn london() -> Projections {
    let text = std::fs::read_to_string(golive_testkit::golive::scenario()).unwrap();
    let mut p = Projections::new();
    let mut seen: HashMap<EventId, Envelope> = HashMap::new();
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let e = golive_model::decode(line.as_bytes()).unwrap();
        let old = e.supersedes.and_then(|s| seen.get(&s)).cloned();
        p.apply(i as u64 + 1, &e, old.as_ref());
        seen.insert(e.event_id, e);
    }
    p
}

/// Every view's table, marked against the sourced-only fold.
fn tables(p: &Projections) -> Vec<Table> {
    fn m<V: Tabular>(p: &Projections, build: impl Fn(&Projections) -> V) -> Table {
        marked_table(&build(p), Some(&build(p.sourced_only())))
    }
    // The claim register needs the store (it folds the log again): crates/golive's tests.
    let (w, t) = (WarningRules::default(), Tariffs::default());
    vec![
        m(p, |p| p.money(None)),
        m(p, |p| p.lost_patients(None)),
        m(p, |p| p.incidents(None)),
        m(p, |p| p.rollout(None)),
        m(p, |p| p.warnings(&w, None)),
        m(p, |p| p.deferred_features(None)),
        m(p, |p| p.coverage(&w, None)),
        m(p, |p| p.evidence(None)),
        m(p, |p| p.usage_burden(None)),
        m(p, |p| p.recovery(&t, &w, None, Align::Calendar)),
        m(p, |p| p.trusts()),
    ]
}

fn column(t: &Table, name: &str) -> usize {
    t.header().iter().position(|h| h == name).unwrap()
}

#[test]
fn the_money_table_adds_up_to_the_headline_net_cost_of_each_trust() {
    // Proves: summing the headline rows (recovered income negative) gives each trust's
    // headline net cost in /v1/money; estimates are rows of their own, never in that sum.
    let p = london();
    let view = p.money(None);
    let t = view.table();
    let (trust, measure, status, pence) = (
        column(&t, "trust"),
        column(&t, "measure"),
        column(&t, "status"),
        column(&t, "amount_pence"),
    );
    let mut net: HashMap<String, i64> = HashMap::new();
    let mut estimated = 0i64;
    for row in &t.rows {
        let w = t.written(row);
        let p: i64 = w[pence].parse().unwrap();
        match (w[status].as_str(), w[measure].as_str()) {
            ("headline", "income_recovered") => *net.entry(w[trust].clone()).or_default() -= p,
            ("headline", _) => *net.entry(w[trust].clone()).or_default() += p,
            ("estimated", _) => estimated += p,
            (s, _) => panic!("status {s}"),
        }
    }
    assert!(estimated != 0, "the scenario has estimates");
    for (code, m) in &view.trusts {
        assert_eq!(
            net.get(code).copied().unwrap_or(0),
            m.total.net_cost_pence,
            "{code}"
        );
    }
    assert!(view.trusts["RAL"].total.net_cost_pence > 0);
}

#[test]
fn every_table_has_unique_keys_and_synthetic_rows_are_marked() {
    let p = london();
    assert!(
        p.synthetic_events() > 0,
        "the scenario has synthetic events"
    );
    let all = tables(&p);
    assert_eq!(all.len(), 11);
    let mut marks = HashSet::new();
    for t in &all {
        let h = t.header();
        assert_eq!(
            h.last().map(String::as_str),
            Some("synthetic"),
            "{}",
            t.view
        );
        let mut keys = HashSet::new();
        for row in &t.rows {
            let w = t.written(row);
            assert_eq!(w.len(), h.len(), "{}", t.view);
            assert!(
                keys.insert(t.key_of(&w).to_vec()),
                "{}: {w:?} twice",
                t.view
            );
            marks.insert(w.last().unwrap().clone());
        }
    }
    // Every recovery figure of the scenario is synthetic: each row of its table says so.
    let r = all.iter().find(|t| t.view == "recovery").unwrap();
    assert!(!r.rows.is_empty());
    assert!(
        r.rows
            .iter()
            .all(|row| r.written(row).last().unwrap() == SYNTHETIC_ALL)
    );
    assert!(marks.contains(SYNTHETIC_NONE) && marks.contains(SYNTHETIC_ALL));
}

#[test]
fn the_csv_reads_back_as_the_table() {
    let p = london();
    for t in tables(&p) {
        let bytes = write_csv(&t, true);
        let mut r = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), t.header());
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|x| x.unwrap().iter().map(str::to_owned).collect())
            .collect();
        let want: Vec<Vec<String>> = t.rows.iter().map(|row| t.written(row)).collect();
        assert_eq!(rows, want, "{}", t.view);
    }
}

#[test]
fn the_workbook_has_a_cover_and_one_sheet_per_view_with_the_same_cells() {
    let p = london();
    let all = tables(&p);
    let cover = Cover {
        title: "Go-Live Ledger figures".into(),
        lines: vec![("as_of_seq".into(), p.last_seq().to_string())],
    };
    let bytes = write_xlsx(&cover, &all).unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let names = book.sheet_names();
    let mut want = vec!["cover".to_owned()];
    want.extend(all.iter().map(|t| t.view.to_owned()));
    assert_eq!(names, want);
    let c = book.worksheet_range("cover").unwrap();
    assert_eq!(
        c.get_value((2, 1)),
        Some(&Data::String(p.last_seq().to_string()))
    );
    let money = &all[0];
    let range = book.worksheet_range("money").unwrap();
    assert_eq!(range.height(), money.rows.len() + 1);
    let pence = column(money, "amount_pence");
    for (i, row) in money.rows.iter().enumerate() {
        let w = money.written(row);
        let cell = range.get_value((i as u32 + 1, pence as u32)).unwrap();
        assert_eq!(
            cell,
            &Data::Float(w[pence].parse::<f64>().unwrap()),
            "row {i}"
        );
        assert_eq!(
            range.get_value((i as u32 + 1, 0)),
            Some(&Data::String(w[0].clone()))
        );
    }
}
