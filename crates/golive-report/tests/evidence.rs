//! The evidence behind each line (`?evidence=true`): every money row's events and their parts
//! add up to the row, a superseded event is never listed, the net-cost line adds up to the
//! trust's net cost, an open case lists the events that name its patient, lines are paged, and
//! an event the fold holds but the lookup cannot find is an error, not a silent gap.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;

use golive_model::{CostCategory, Envelope, EventId, IncomeCategory, Pathway, Status};
use golive_projections::Projections;
use golive_report::{
    Cell, Evidence, EvidenceError, EvidenceOf, EvidencePage, NET_COST, Tabular, evidence_of,
    text_of,
};
use golive_testkit::projections::*;

fn folded(events: &[Envelope]) -> (Projections, HashMap<EventId, (u64, Envelope)>) {
    let mut p = Projections::new();
    let mut by_id = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let seq = i as u64 + 1;
        let old = e
            .supersedes
            .and_then(|s| by_id.get(&s))
            .map(|(_, e): &(u64, Envelope)| e.clone());
        p.apply(seq, e, old.as_ref());
        by_id.insert(e.event_id, (seq, e.clone()));
    }
    (p, by_id)
}

fn evidence(
    p: &Projections,
    by_id: &HashMap<EventId, (u64, Envelope)>,
    of: EvidenceOf,
    page: EvidencePage,
) -> Evidence {
    evidence_of(p, of, None, page, |id| {
        Ok::<_, Infallible>(by_id.get(id).cloned())
    })
    .unwrap()
}

fn line<'a>(ev: &'a Evidence, key: &[(&str, &str)]) -> &'a golive_report::LineEvidence {
    let want: BTreeMap<String, String> = key
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ev.lines
        .iter()
        .find(|l| l.line == want)
        .unwrap_or_else(|| panic!("no line {want:?} in {:#?}", ev.lines))
}

/// A money row's key columns and their written values.
fn key_of(table: &golive_report::Table, row: &[Cell]) -> Vec<(String, String)> {
    table.columns[..table.key_columns]
        .iter()
        .zip(row)
        .map(|(c, cell)| (c.name.to_owned(), text_of(cell)))
        .collect()
}

fn history() -> Vec<Envelope> {
    let mut estimated = ev(
        4,
        "RAL",
        "2008-06-20",
        cost(CostCategory::TemporaryStaff, 900),
    );
    estimated.status = Status::Estimated;
    vec![
        ev(
            1,
            "RAL",
            "2008-06-16",
            cost(CostCategory::TemporaryStaff, 100),
        ),
        ev(
            2,
            "RAL",
            "2008-06-17",
            cost(CostCategory::TemporaryStaff, 200),
        ),
        ev(
            3,
            "RAL",
            "2008-06-18",
            at_risk(IncomeCategory::Unbilled, 301, "2008-06"),
        ),
        estimated,
        ev(5, "RAL", "2008-06-19", recovered(50, "2008-06", None)),
        correcting(
            ev(
                6,
                "RAL",
                "2008-06-16",
                cost(CostCategory::TemporaryStaff, 120),
            ),
            1,
        ),
        ev(7, "RAL", "2008-06-19", lost("P1", Pathway::Rtt18wk)),
        ev(8, "RAL", "2008-06-19", lost("P2", Pathway::Rtt18wk)),
        ev(
            9,
            "RAL",
            "2008-06-25",
            traced(
                "P2",
                golive_model::TraceOutcome::AlreadyTreated,
                golive_model::Harm::None,
            ),
        ),
        ev(10, "RVL", "2008-07-01", cost(CostCategory::Contractors, 70)),
    ]
}

#[test]
fn each_money_line_lists_the_events_in_force_and_their_parts_add_up_to_it() {
    let events = history();
    let (p, by_id) = folded(&events);
    let ev = evidence(&p, &by_id, EvidenceOf::Money, EvidencePage::default());
    let staff = line(
        &ev,
        &[
            ("trust", "RAL"),
            ("month", "2008-06"),
            ("measure", "extra_cost"),
            ("category", "temporary_staff"),
            ("status", "headline"),
        ],
    );
    let listed: Vec<(EventId, Option<i64>)> = staff
        .events
        .iter()
        .map(|e| (e.event_id, e.part_pence))
        .collect();
    assert_eq!(
        listed,
        [(id(2), Some(200)), (id(6), Some(120))],
        "event 1 is corrected by 6"
    );
    assert_eq!(staff.amount_pence, Some(320));
    assert_eq!(staff.events[1].supersedes, Some(id(1)));
    assert_eq!(staff.events[1].seq, 6);
    assert_eq!(staff.events[0].sources[0].reference, "golive-testkit");

    let estimated = line(
        &ev,
        &[
            ("trust", "RAL"),
            ("month", "2008-06"),
            ("measure", "extra_cost"),
            ("category", ""),
            ("status", "estimated"),
        ],
    );
    assert_eq!(
        estimated
            .events
            .iter()
            .map(|e| e.event_id)
            .collect::<Vec<_>>(),
        [id(4)]
    );

    // The net cost: every headline event's part in net terms (recovered income counts
    // against), the estimate not at all; it adds up to the trust's net cost.
    let net = line(&ev, &[("trust", "RAL"), ("measure", NET_COST)]);
    let money = p.money(None);
    assert_eq!(
        net.amount_pence,
        Some(money.trusts["RAL"].total.net_cost_pence)
    );
    assert_eq!(net.amount_pence, Some(200 + 301 - 50 + 120));
    let parts: Vec<(EventId, Option<i64>)> = net
        .events
        .iter()
        .map(|e| (e.event_id, e.part_pence))
        .collect();
    assert_eq!(
        parts,
        [
            (id(2), Some(200)),
            (id(3), Some(301)),
            (id(5), Some(-50)),
            (id(6), Some(120))
        ]
    );

    // Every row of the money table is a line, with the row's amount.
    let table = money.table();
    for row in &table.rows {
        let key = key_of(&table, row);
        let keyed: Vec<(&str, &str)> = key.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let Cell::Pence(pence) = row[5] else {
            panic!("amount")
        };
        assert_eq!(line(&ev, &keyed).amount_pence, Some(pence), "row {key:?}");
    }
    assert!(
        ev.lines
            .iter()
            .all(|l| l.events.iter().all(|e| e.event_id != id(1)))
    );
}

#[test]
fn an_open_case_lists_the_events_naming_its_patient_and_a_closed_one_is_no_line() {
    let (p, by_id) = folded(&history());
    let ev = evidence(
        &p,
        &by_id,
        EvidenceOf::LostPatients,
        EvidencePage::default(),
    );
    assert_eq!(ev.lines.len(), 1, "{:#?}", ev.lines);
    let p1 = line(&ev, &[("trust", "RAL"), ("patient_ref", "P1")]);
    assert_eq!(
        p1.events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        [id(7)]
    );
    assert_eq!(p1.amount_pence, None);
    assert_eq!(p1.events[0].part_pence, None);
}

#[test]
fn a_line_is_paged_and_the_total_counts_every_page() {
    let (p, by_id) = folded(&history());
    let page = EvidencePage {
        offset: 1,
        limit: 2,
    };
    let ev = evidence(&p, &by_id, EvidenceOf::Money, page);
    let net = line(&ev, &[("trust", "RAL"), ("measure", NET_COST)]);
    assert_eq!(net.events_total, 4);
    assert_eq!(
        net.events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        [id(3), id(5)]
    );
    assert_eq!(
        net.amount_pence,
        Some(571),
        "the figure is the whole line's, not the page's"
    );
    assert_eq!((ev.offset, ev.limit), (1, 2));
}

#[test]
fn an_event_in_force_the_lookup_cannot_find_is_an_error() {
    let (p, mut by_id) = folded(&history());
    by_id.remove(&id(3));
    let e = evidence_of(&p, EvidenceOf::Money, None, EvidencePage::default(), |id| {
        Ok::<_, Infallible>(by_id.get(id).cloned())
    })
    .unwrap_err();
    assert!(matches!(e, EvidenceError::Missing(x) if x == id(3)), "{e}");
    let rvl = evidence_of(
        &p,
        EvidenceOf::Money,
        Some(&ods("RVL")),
        EvidencePage::default(),
        |id| Ok::<_, Infallible>(by_id.get(id).cloned()),
    )
    .unwrap();
    assert!(rvl.lines.iter().all(|l| l.line["trust"] == "RVL"));
    assert!(!rvl.lines.is_empty());
}

#[test]
fn in_the_london_scenario_every_money_row_and_net_cost_is_the_sum_of_its_events_parts() {
    let text = std::fs::read_to_string(golive_testkit::golive::scenario()).unwrap();
    let events: Vec<Envelope> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| golive_model::decode(l.as_bytes()).unwrap())
        .collect();
    let (p, by_id) = folded(&events);
    let all = EvidencePage {
        offset: 0,
        limit: usize::MAX,
    };
    let ev = evidence(&p, &by_id, EvidenceOf::Money, all);
    let money = p.money(None);
    let table = money.table();
    assert!(table.rows.len() >= 15, "the scenario has money");
    for row in &table.rows {
        let key = key_of(&table, row);
        let keyed: Vec<(&str, &str)> = key.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let l = line(&ev, &keyed);
        let Cell::Pence(pence) = row[5] else {
            panic!("amount")
        };
        let parts: i64 = l.events.iter().map(|e| e.part_pence.unwrap()).sum();
        assert_eq!((l.amount_pence, parts), (Some(pence), pence), "row {key:?}");
    }
    for (code, t) in &money.trusts {
        if t.total.net_cost_pence != 0 {
            let net = line(&ev, &[("trust", code), ("measure", NET_COST)]);
            assert_eq!(net.amount_pence, Some(t.total.net_cost_pence), "{code}");
        }
    }
}
