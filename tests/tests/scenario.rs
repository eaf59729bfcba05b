//! The shipped scenario `scenarios/london-2008.jsonl` is valid, well-ordered, sourced, honest
//! about what is synthetic, and adds up to the published figures once corrections are applied.
//! The modelling choices are described in docs/EVENTS.md, "The London 2008 scenario".

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use golive_model::{Envelope, EventBody, EventId, Kind, SourceType, Status, decode, format_time};

const SYNTHETIC: &str = "SYNTHETIC: illustrative, not a published figure";

/// The publications named in /work/shared/DOMAIN.md. A published event's `source.ref` is one of
/// these, or several joined by "; ".
const PUBLICATIONS: &[&str] = &[
    "E-Health Insider / Computer Weekly reporting, 2008",
    "E-Health Insider, 10 Apr 2008",
    "BBC News, 27 Jun 2008",
    "Computer Weekly, 1 Sep 2008",
    "E-Health Insider (digitalhealth.net), Sep 2008",
    "Computer Weekly, 2009",
    "The Guardian, 28 Apr 2009",
    "E-Health Insider, Jul 2009",
    "Hansard via E-Health Insider, 27 Oct 2009",
    "Hansard, 27 Feb 2009",
    "E-Health Insider, 5 Nov 2008",
    "E-Health Insider, Oct 2008",
    "E-Health Insider, Feb 2009",
    "Computer Weekly, 11 Feb 2009",
    "E-Health Insider, Mar 2009",
];

fn scenario_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scenarios")
        .join("london-2008.jsonl")
}

/// Every line of the scenario, decoded, with its text.
fn load() -> Vec<(String, Envelope)> {
    let path = scenario_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(text.ends_with('\n'), "the file ends with a newline");
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let e = decode(line.as_bytes())
                .unwrap_or_else(|err| panic!("line {} is rejected: {err}\n{line}", i + 1));
            (line.to_owned(), e)
        })
        .collect()
}

fn events() -> Vec<Envelope> {
    load().into_iter().map(|(_, e)| e).collect()
}

fn is_synthetic(e: &Envelope) -> bool {
    e.source
        .as_ref()
        .is_some_and(|s| s.source_type == SourceType::Manual && s.reference == SYNTHETIC)
}

/// The events that count: those no later event supersedes.
fn effective(events: &[Envelope]) -> Vec<&Envelope> {
    let superseded: HashSet<EventId> = events.iter().filter_map(|e| e.supersedes).collect();
    events
        .iter()
        .filter(|e| !superseded.contains(&e.event_id))
        .collect()
}

/// Sum of `amount_pence` of the events of `kind` for `trust`.
fn sum(events: &[&Envelope], trust: &str, kind: Kind) -> i64 {
    events
        .iter()
        .filter(|e| e.trust.as_str() == trust && e.kind() == kind)
        .map(|e| e.body.amount().expect("a money kind").get())
        .sum()
}

#[test]
fn every_line_decodes_and_is_already_canonical() {
    // Proves: all lines are valid events (schema 1), and each line is exactly the canonical
    // bytes of its event, so the file hashes the same however it is re-encoded.
    let lines = load();
    assert!(
        (60..=150).contains(&lines.len()),
        "{} events; the scenario aims at 60 to 150",
        lines.len()
    );
    for (line, e) in &lines {
        assert_eq!(e.schema, 1);
        assert_eq!(String::from_utf8(e.canonical_bytes()).unwrap(), *line);
    }
}

#[test]
fn event_ids_are_unique() {
    // Proves: no two lines share an event_id, so the ledger's dedupe drops none of them.
    let events = events();
    let ids: HashSet<EventId> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), events.len());
}

#[test]
fn collector_seq_increases_strictly_per_collector() {
    // Proves: in file order, each collector's collector_seq is 1, 2, 3, ... (strictly increasing,
    // no gaps), as a real collector's feed would be; and a collector publishes for one trust.
    let mut last: HashMap<String, (u64, String)> = HashMap::new();
    for e in events() {
        let (prev, trust) = last
            .entry(e.collector.as_str().to_owned())
            .or_insert((0, e.trust.as_str().to_owned()));
        assert!(
            e.collector_seq > *prev,
            "{}: collector_seq {} after {}",
            e.collector,
            e.collector_seq,
            prev
        );
        assert_eq!(e.collector_seq, *prev + 1, "{}: gap", e.collector);
        assert_eq!(
            e.trust.as_str(),
            trust,
            "{} publishes for one trust",
            e.collector
        );
        *prev = e.collector_seq;
    }
}

#[test]
fn times_are_ordered_and_in_the_period() {
    // Proves: the file is in recorded_at order, nothing is recorded before it happened, and
    // everything lies between July 2007 and the end of 2009.
    let events = events();
    for w in events.windows(2) {
        assert!(
            w[0].recorded_at <= w[1].recorded_at,
            "{} out of order",
            w[1].event_id
        );
    }
    for e in &events {
        assert!(
            e.recorded_at >= e.occurred_at,
            "{} recorded before it occurred",
            e.event_id
        );
        let (from, to) = (format_time(&e.occurred_at), format_time(&e.recorded_at));
        assert!(
            from.as_str() >= "2007-07-01" && to.as_str() < "2010-01-01",
            "{from} {to}"
        );
    }
}

#[test]
fn every_event_has_a_source_and_synthetic_ones_are_marked() {
    // Proves: every event cites a source; published ones cite DOMAIN.md's publications and are
    // never `manual`; synthetic ones say so exactly, carry no money, and are the only ones with
    // `-SYN-` pseudonyms.
    let money = [
        Kind::ExtraCost,
        Kind::IncomeAtRisk,
        Kind::IncomeRecovered,
        Kind::ContractPenalty,
    ];
    let synthetic_kinds = [
        Kind::PatientLost,
        Kind::PatientTraced,
        Kind::HarmReview,
        Kind::Outage,
        Kind::SafetyIncident,
    ];
    let mut synthetic = 0;
    for e in events() {
        let source = e
            .source
            .as_ref()
            .unwrap_or_else(|| panic!("{} has no source", e.event_id));
        let refs_syn = match &e.body {
            EventBody::PatientLost(d) => d.patient_ref.as_str().contains("-SYN-"),
            EventBody::PatientTraced(d) => d.patient_ref.as_str().contains("-SYN-"),
            EventBody::SafetyIncident(d) => d.local_ref.contains("-SYN-"),
            _ => false,
        };
        if is_synthetic(&e) {
            synthetic += 1;
            assert!(
                synthetic_kinds.contains(&e.kind()),
                "synthetic {}",
                e.kind()
            );
            assert!(!money.contains(&e.kind()), "synthetic money {}", e.event_id);
            if matches!(e.kind(), Kind::PatientLost | Kind::PatientTraced) {
                assert!(refs_syn, "synthetic patient without a -SYN- pseudonym");
            }
        } else {
            assert!(
                !refs_syn,
                "{}: -SYN- reference in a published event",
                e.event_id
            );
            assert_ne!(source.source_type, SourceType::Manual, "{}", e.event_id);
            assert!(!source.reference.contains("SYNTHETIC"));
            for part in source.reference.split("; ") {
                assert!(PUBLICATIONS.contains(&part), "unknown publication `{part}`");
            }
            assert_ne!(
                e.status,
                Status::Validated,
                "published figures are not validated here"
            );
        }
    }
    assert!(synthetic > 0 && synthetic < 89);
}

#[test]
fn corrections_point_back_to_an_earlier_event_of_the_same_trust_and_kind() {
    // Proves: every `supersedes` names an event earlier in the file with the same trust and
    // kind, and no event is superseded twice (so the effective figure is unambiguous).
    let events = events();
    let mut seen: HashMap<EventId, &Envelope> = HashMap::new();
    let mut targets = HashSet::new();
    let mut corrections = 0;
    for e in &events {
        if let Some(target) = e.supersedes {
            corrections += 1;
            let old = seen
                .get(&target)
                .unwrap_or_else(|| panic!("{} supersedes an unknown or later event", e.event_id));
            assert_eq!((&old.trust, old.kind()), (&e.trust, e.kind()));
            assert!(targets.insert(target), "{target} superseded twice");
        }
        seen.insert(e.event_id, e);
    }
    assert!(corrections >= 1);
}

#[test]
fn royal_free_money_adds_up_to_the_published_figures() {
    // Proves: RAL's money, with corrections applied, is the November 2008 split (£1.3m lost
    // activity + £3.789m correctable data entry at risk, £1.2m extra staff) until February 2009,
    // then the chief executive's £10m (£4m extra spend + £6m lost revenue), with nothing counted
    // twice; and that ignoring `supersedes` would double count.
    let events = events();

    let before: Vec<Envelope> = events
        .iter()
        .filter(|e| format_time(&e.recorded_at).as_str() < "2009-02-01")
        .cloned()
        .collect();
    let nov = effective(&before);
    assert_eq!(sum(&nov, "RAL", Kind::ExtraCost), 120_000_000);
    assert_eq!(
        sum(&nov, "RAL", Kind::IncomeAtRisk),
        130_000_000 + 378_900_000
    );

    let now = effective(&events);
    assert_eq!(sum(&now, "RAL", Kind::ExtraCost), 400_000_000);
    assert_eq!(sum(&now, "RAL", Kind::IncomeAtRisk), 600_000_000);
    assert_eq!(
        sum(&now, "RAL", Kind::ExtraCost) + sum(&now, "RAL", Kind::IncomeAtRisk),
        1_000_000_000,
        "£10m"
    );
    assert_eq!(sum(&now, "RAL", Kind::IncomeRecovered), 0);
    assert_eq!(sum(&now, "RAL", Kind::ContractPenalty), 0);

    let all: Vec<&Envelope> = events.iter().collect();
    assert_eq!(
        sum(&all, "RAL", Kind::ExtraCost) + sum(&all, "RAL", Kind::IncomeAtRisk),
        120_000_000 + 130_000_000 + 378_900_000 + 400_000_000 + 600_000_000,
        "without supersedes the £6.289m and the £10m would both count"
    );
}

#[test]
fn barts_money_adds_up_to_the_published_figures() {
    // Proves: RNJ's money is ~£1m temporary staff, the £3m forecast (which replaces the £1.5m
    // shortfall so far) and one month's £400k commissioner fine.
    let events = events();
    let now = effective(&events);
    assert_eq!(sum(&now, "RNJ", Kind::ExtraCost), 100_000_000);
    assert_eq!(sum(&now, "RNJ", Kind::IncomeAtRisk), 300_000_000);
    assert_eq!(sum(&now, "RNJ", Kind::ContractPenalty), 40_000_000);
    for trust in ["RVL", "Q36", "RAX"] {
        assert!(
            now.iter()
                .filter(|e| e.trust.as_str() == trust)
                .all(|e| e.body.amount().is_none()),
            "{trust} has no published money"
        );
    }
}

#[test]
fn counts_match_the_documentation() {
    // Proves: the per-trust and per-kind counts given in docs/EVENTS.md are those of the file,
    // and the scenario's key facts are present.
    let events = events();
    let mut per_trust: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    for e in &events {
        *per_trust.entry(e.trust.as_str()).or_default() += 1;
        *per_kind.entry(e.kind()).or_default() += 1;
    }
    assert_eq!(events.len(), 89);
    assert_eq!(
        per_trust,
        BTreeMap::from([
            ("Q36", 2),
            ("RAL", 24),
            ("RAX", 2),
            ("RNJ", 49),
            ("RVL", 12)
        ])
    );
    let expected = [
        (Kind::PatientLost, 33),
        (Kind::PatientTraced, 18),
        (Kind::RolloutStatus, 7),
        (Kind::IncomeAtRisk, 6),
        (Kind::Outage, 5),
        (Kind::SafetyIncident, 4),
        (Kind::HarmReview, 4),
        (Kind::ExtraCost, 3),
        (Kind::WaitingListDiscrepancy, 3),
        (Kind::ReportingSuspended, 2),
        (Kind::ReportingResumed, 2),
        (Kind::ContractPenalty, 1),
        (Kind::FeatureDeferred, 1),
    ];
    assert_eq!(per_kind, BTreeMap::from(expected));

    // Go-lives with their releases, and the programme pause and resumption.
    let status = |trust: &str, state: &str| {
        events.iter().any(|e| {
            e.trust.as_str() == trust
                && matches!(&e.body, EventBody::RolloutStatus(d) if d.status.as_str() == state)
        })
    };
    for (trust, state) in [
        ("RVL", "go_live"),
        ("RNJ", "go_live"),
        ("RAL", "go_live"),
        ("RAL", "fit_to_deploy"),
        ("Q36", "paused"),
        ("Q36", "resumed"),
        ("RAX", "planned"),
    ] {
        assert!(status(trust, state), "{trust} {state}");
    }
    let cancer = events
        .iter()
        .filter(|e| {
            matches!(&e.body, EventBody::PatientLost(d)
                if d.pathway.as_str() == "cancer_2ww" && d.patient_ref.as_str().starts_with("RNJ-C2WW-"))
        })
        .count();
    assert_eq!(cancer, 11, "the 11 suspected-cancer patients");
}
