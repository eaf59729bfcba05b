//! The shipped scenario `scenarios/london-2008.jsonl` (envelope schema 2) is valid, well-ordered,
//! sourced, honest about what is synthetic, and adds up to the published figures under the
//! headline rule (reported and validated amounts, levied penalties only; estimates beside).
//! The modelling choices are described in docs/EVENTS.md, "The London 2008 scenario".

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use golive_model::{
    Assessment, Envelope, EventBody, EventId, Harm, IncidentState, Kind, PenaltyState, Period,
    Relation, SourceType, Stance, Status, decode, format_time,
};

const SYNTHETIC: &str = "SYNTHETIC: illustrative, not a published figure";

/// The publications a published event may cite, with their source type, as the generator
/// (`scenarios/gen_london_2008.py`) names them. Each is named in /work/shared/DOMAIN.md or was
/// read there as published (titles, days and addresses).
const PUBLICATIONS: &[(SourceType, &str)] = &[
    (
        SourceType::Press,
        "E-Health Insider, \"Barnet and Chase Farm switch on Cerner\", Aug 2007",
    ),
    (
        SourceType::Press,
        "E-Health Insider / Computer Weekly reporting, 2008",
    ),
    (
        SourceType::ParliamentAnswer,
        "Hansard, House of Commons written answer, \"NHS: ICT\", 6 Mar 2008",
    ),
    (
        SourceType::Press,
        "E-Health Insider, \"Barts and The London deny CRS crash report\", 10 Apr 2008",
    ),
    (
        SourceType::Press,
        "BBC News, \"NHS IT mess hits cancer patients\", 27 Jun 2008",
    ),
    (SourceType::Press, "E-Health Insider (date not recorded)"),
    (
        SourceType::Press,
        "Computer Weekly, \"Barts underestimated impact of IT system\", 1 Sep 2008",
    ),
    (
        SourceType::Press,
        "Computer Weekly IT Projects blog, \"Barts - we underestimated impact of NPfIT go-live\"",
    ),
    (
        SourceType::Press,
        "E-Health Insider (digitalhealth.net), \"CRS problems cost Barts and the London £3m\", Sep 2008",
    ),
    (
        SourceType::Press,
        "politics.co.uk, \"NHS IT system 'grinding to a halt'\", 28 Oct 2008",
    ),
    (SourceType::Press, "The Telegraph, Oct 2008"),
    (
        SourceType::Press,
        "Computing, \"NHS care record rollout grinds to a halt\", Oct 2008",
    ),
    (SourceType::Press, "E-Health Insider, Oct 2008"),
    (
        SourceType::Press,
        "E-Health Insider, \"Royal Free says £7.2m deficit due to Cerner\", 5 Nov 2008",
    ),
    (
        SourceType::Press,
        "Computerworld (IDG), \"London hospital trust loses millions in upgrade debacle\", Nov 2008",
    ),
    (
        SourceType::Press,
        "Computing, \"NHS IT programme costs London hospital £7.2m\"",
    ),
    (
        SourceType::Press,
        "Computer Weekly, \"BT to resume roll out of Cerner Millennium system\", 11 Feb 2009",
    ),
    (
        SourceType::Press,
        "Computer Weekly, \"BT relief as NPfIT roll-outs in London due to resume\", Feb 2009",
    ),
    (
        SourceType::Press,
        "Camden New Journal, \"Hospital chief apologises over computer chaos\", 19 Feb 2009",
    ),
    (
        SourceType::Press,
        "E-Health Insider, \"Royal Free boss says CRS problems cost £10m\", Feb 2009",
    ),
    (
        SourceType::ParliamentAnswer,
        "Hansard, House of Commons written answer, \"Royal Free Hospital: Medical Records\", 27 Feb 2009",
    ),
    (
        SourceType::Press,
        "E-Health Insider, \"Next London Cerner go-live delayed until autumn\", Mar 2009",
    ),
    (
        SourceType::Press,
        "The Guardian, \"London trusts in chaos as NHS IT system 'loses' waiting lists\", 28 Apr 2009",
    ),
    (
        SourceType::Press,
        "E-Health Insider, Oct 2008 (the Royal Free's 90-day recovery plan)",
    ),
    (
        SourceType::Press,
        "E-Health Insider, \"March before Royal Free CRS fixes assessed\", 10 Feb 2009",
    ),
    (
        SourceType::Press,
        "E-Health Insider, \"Barts still stuck on 18-week waits\", Jul 2009",
    ),
    (SourceType::Press, "Computer Weekly, 2009"),
    (
        SourceType::Press,
        "E-Health Insider, \"North Bristol spent £4.6m on IT crisis\", Jul 2012",
    ),
    (
        SourceType::ParliamentDebate,
        "Richard Bacon MP, House of Commons, 22 Oct 2009",
    ),
    (
        SourceType::Press,
        "E-Health Insider, \"Barts faces fines over Cerner problems\", 27 Oct 2009",
    ),
    (
        SourceType::Press,
        "HSJ, \"Patients suffer harm due to treatment delays\", Mar 2015",
    ),
    (
        SourceType::Press,
        "Computer Weekly, reporting Joan Ryan MP, 2015",
    ),
];

/// Pence per pound.
const GBP: i64 = 100;

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

fn recorded(e: &Envelope) -> String {
    format_time(&e.recorded_at)
}

/// Synthetic: exactly one source, `synthetic`, with the fixed reference.
fn is_synthetic(e: &Envelope) -> bool {
    e.sources.len() == 1
        && e.sources[0].source_type == SourceType::Synthetic
        && e.sources[0].reference == SYNTHETIC
}

/// The one event with this id.
fn by_id(events: &[Envelope], id: EventId) -> &Envelope {
    events
        .iter()
        .find(|e| e.event_id == id)
        .unwrap_or_else(|| panic!("no event {id}"))
}

/// A money event's amount, whether it is a "to date" figure, the key a later to-date figure
/// replaces it under (category; commissioner for penalties) and, for penalties, the state.
struct MoneyFacts {
    amount: i64,
    to_date: bool,
    key: String,
    penalty: Option<PenaltyState>,
}

fn money_facts(e: &Envelope) -> Option<MoneyFacts> {
    let f = |amount: i64, to_date: Option<bool>, key: &str| MoneyFacts {
        amount,
        to_date: to_date == Some(true),
        key: key.to_owned(),
        penalty: None,
    };
    match &e.body {
        EventBody::ExtraCost(d) => Some(f(d.amount_pence.get(), d.to_date, d.category.as_str())),
        EventBody::IncomeAtRisk(d) => Some(f(d.amount_pence.get(), d.to_date, d.category.as_str())),
        EventBody::IncomeRecovered(d) => Some(f(
            d.amount_pence.get(),
            d.to_date,
            d.category.map_or("", |c| c.as_str()),
        )),
        EventBody::ContractPenalty(d) => Some(MoneyFacts {
            // A schema-1 penalty has no state and reads as levied.
            penalty: Some(d.state.unwrap_or(PenaltyState::Levied)),
            ..f(d.amount_pence.get(), d.to_date, &d.commissioner)
        }),
        _ => None,
    }
}

/// One trust's money as the ledger knows it at `asof` (an RFC 3339 UTC time, compared as text):
/// events recorded by then, minus those a known correction supersedes, minus to-date figures a
/// later to-date figure of the same kind and key replaces.
#[derive(Debug, Default, PartialEq, Eq)]
struct Money {
    /// Headline: reported and validated amounts.
    extra_cost: i64,
    income_at_risk: i64,
    income_recovered: i64,
    penalties_levied: i64,
    /// Beside the headline, never summed into it.
    estimated_extra_cost: i64,
    estimated_income_at_risk: i64,
    penalties_threatened: i64,
    penalties_waived: i64,
}

fn money(events: &[Envelope], trust: &str, asof: &str) -> Money {
    let known: Vec<&Envelope> = events
        .iter()
        .filter(|e| recorded(e).as_str() <= asof)
        .collect();
    let superseded: HashSet<EventId> = known.iter().filter_map(|e| e.supersedes).collect();
    let live: Vec<(&Envelope, MoneyFacts)> = known
        .into_iter()
        .filter(|e| e.trust.as_str() == trust && !superseded.contains(&e.event_id))
        .filter_map(|e| money_facts(e).map(|m| (e, m)))
        .collect();
    // The latest to-date figure of each (kind, key), in file (recorded_at) order.
    let mut latest: HashMap<(Kind, String), EventId> = HashMap::new();
    for (e, m) in &live {
        if m.to_date {
            latest.insert((e.kind(), m.key.clone()), e.event_id);
        }
    }
    let mut out = Money::default();
    for (e, m) in &live {
        if m.to_date && latest[&(e.kind(), m.key.clone())] != e.event_id {
            continue;
        }
        let estimated = e.status == Status::Estimated;
        let slot = match (e.kind(), m.penalty, estimated) {
            (Kind::ContractPenalty, Some(PenaltyState::Threatened), _) => {
                &mut out.penalties_threatened
            }
            (Kind::ContractPenalty, Some(PenaltyState::Waived), _) => &mut out.penalties_waived,
            (Kind::ContractPenalty, _, false) => &mut out.penalties_levied,
            (Kind::ExtraCost, _, false) => &mut out.extra_cost,
            (Kind::ExtraCost, _, true) => &mut out.estimated_extra_cost,
            (Kind::IncomeAtRisk, _, false) => &mut out.income_at_risk,
            (Kind::IncomeAtRisk, _, true) => &mut out.estimated_income_at_risk,
            (Kind::IncomeRecovered, _, false) => &mut out.income_recovered,
            (kind, _, _) => panic!("{}: no estimated {kind} in the scenario", e.event_id),
        };
        *slot += m.amount;
    }
    out
}

const END: &str = "9999-12-31T00:00:00Z";

#[test]
fn every_line_decodes_and_is_already_canonical() {
    // Proves: all lines are valid schema-2 events, and each line is exactly the canonical bytes
    // of its event, so the file hashes the same however it is re-encoded.
    let lines = load();
    assert!(
        (60..=200).contains(&lines.len()),
        "{} events; the scenario aims at 60 to 200 (the recovery curves are most of the rest)",
        lines.len()
    );
    for (line, e) in &lines {
        assert_eq!(e.schema, 2);
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
        assert_eq!(
            e.collector_seq,
            *prev + 1,
            "{}: not the next seq",
            e.collector
        );
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
fn times_are_ordered_and_never_ahead_of_the_sources() {
    // Proves: the file is in recorded_at order, nothing is recorded before it happened,
    // everything lies between July 2007 and the end of 2015, and a published event is recorded
    // at 12:00Z on a day no later than any of its sources' exact publication days (and on the
    // earliest of them when every source has one): the ledger never claims to have known a fact
    // before a source made it public, nor long after.
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
        let (from, to) = (format_time(&e.occurred_at), recorded(e));
        assert!(
            from.as_str() >= "2007-07-01" && to.as_str() < "2016-01-01",
            "{from} {to}"
        );
        if is_synthetic(e) {
            continue;
        }
        assert!(to.ends_with("T12:00:00Z"), "{}: {to}", e.event_id);
        let days: Vec<_> = e.sources.iter().filter_map(|s| s.published_at).collect();
        let day = e.recorded_at.date_naive();
        assert!(days.iter().all(|&d| day <= d), "{}: {to}", e.event_id);
        if days.len() == e.sources.len() {
            assert_eq!(Some(day), days.iter().copied().min(), "{}", e.event_id);
        }
    }
}

#[test]
fn every_event_is_sourced_and_synthetic_ones_are_marked() {
    // Proves: every event has 1 to 8 sources; published ones cite only the publications listed
    // above, with their grade (written answer, Commons debate, press), never `synthetic` or
    // `manual`, never `validated`; synthetic ones have exactly one `synthetic` source, carry no
    // money, and are the only ones with `-SYN-` pseudonyms.
    let money_kinds = [
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
        Kind::UsageReported,
        Kind::ActivityBaseline,
        Kind::ActivityActual,
        Kind::PtlValidation,
    ];
    let mut synthetic = 0;
    let events = events();
    for e in &events {
        assert!((1..=8).contains(&e.sources.len()), "{}", e.event_id);
        let refs_syn = match &e.body {
            EventBody::PatientLost(d) => d.patient_ref.as_str().contains("-SYN-"),
            EventBody::PatientTraced(d) => d.patient_ref.as_str().contains("-SYN-"),
            EventBody::SafetyIncident(d) => d.local_ref.contains("-SYN-"),
            _ => false,
        };
        if is_synthetic(e) {
            synthetic += 1;
            assert!(
                synthetic_kinds.contains(&e.kind()),
                "synthetic {}",
                e.kind()
            );
            assert!(
                !money_kinds.contains(&e.kind()),
                "synthetic money {}",
                e.event_id
            );
            if matches!(e.kind(), Kind::PatientLost | Kind::PatientTraced) {
                assert!(refs_syn, "synthetic patient without a -SYN- pseudonym");
            }
            continue;
        }
        assert!(
            !refs_syn,
            "{}: -SYN- reference in a published event",
            e.event_id
        );
        assert_ne!(
            e.status,
            Status::Validated,
            "published figures are not validated here"
        );
        for s in &e.sources {
            assert!(
                !matches!(s.source_type, SourceType::Synthetic | SourceType::Manual),
                "{}",
                e.event_id
            );
            assert!(!s.reference.contains("SYNTHETIC"));
            assert!(
                PUBLICATIONS.contains(&(s.source_type, s.reference.as_str())),
                "{}: unknown publication {:?} `{}`",
                e.event_id,
                s.source_type,
                s.reference
            );
            if let Some(url) = &s.url {
                assert!(url.starts_with("https://") || url.starts_with("http://"));
            }
        }
    }
    assert!(synthetic > 0 && synthetic < events.len());
}

#[test]
fn corrections_and_links_point_back_to_earlier_events() {
    // Proves: every `supersedes` names an event earlier in the file with the same trust and
    // kind, and no event is superseded twice (so the effective figure is unambiguous); every
    // `relates_to` names another, earlier event of the same trust and kind.
    let events = events();
    let mut seen: HashMap<EventId, &Envelope> = HashMap::new();
    let mut targets = HashSet::new();
    let (mut corrections, mut links) = (0, 0);
    for e in &events {
        if let Some(target) = e.supersedes {
            corrections += 1;
            let old = seen
                .get(&target)
                .unwrap_or_else(|| panic!("{} supersedes an unknown or later event", e.event_id));
            assert_eq!((&old.trust, old.kind()), (&e.trust, e.kind()));
            assert!(targets.insert(target), "{target} superseded twice");
        }
        if let Some(rel) = &e.relates_to {
            links += 1;
            assert_ne!(rel.event_id, e.event_id);
            let old = seen
                .get(&rel.event_id)
                .unwrap_or_else(|| panic!("{} relates to an unknown or later event", e.event_id));
            assert_eq!((&old.trust, old.kind()), (&e.trust, e.kind()));
        }
        seen.insert(e.event_id, e);
    }
    assert_eq!((corrections, links), (6, 6));
}

#[test]
fn royal_free_money_adds_up_to_the_published_figures() {
    // Proves: RAL's money is nothing before the November 2008 figures were published; then the
    // to-date split (£1.2m extra staff; £1.3m lost activity + £3.789m correctable data entry at
    // risk) with the ~£0.9m clinical-efficiency estimate beside it; from 19 February 2009 the
    // chief executive's £10m to date (£4m extra spend + £6m lost revenue), with nothing counted
    // twice, not even beside the headline; from 27 February 2009 the deployment charge
    // (£4.676m at 2003-04 prices) beside it as an estimate. Adding every event naively would
    // double count.
    let events = events();
    assert_eq!(
        money(&events, "RAL", "2008-11-04T23:59:59Z"),
        Money::default()
    );
    let nov = Money {
        extra_cost: 1_200_000 * GBP,
        income_at_risk: (1_300_000 + 3_789_000) * GBP,
        estimated_income_at_risk: 900_000 * GBP,
        ..Money::default()
    };
    assert_eq!(money(&events, "RAL", "2008-11-30T23:59:59Z"), nov);
    assert_eq!(money(&events, "RAL", "2009-02-18T23:59:59Z"), nov);

    let feb = Money {
        extra_cost: 4_000_000 * GBP,
        income_at_risk: 6_000_000 * GBP,
        ..Money::default()
    };
    assert_eq!(money(&events, "RAL", "2009-02-26T23:59:59Z"), feb, "£10m");
    let now = Money {
        estimated_extra_cost: 4_676_000 * GBP,
        ..feb
    };
    assert_eq!(money(&events, "RAL", "2009-02-28T00:00:00Z"), now);
    assert_eq!(money(&events, "RAL", END), now);
    assert_eq!(now.extra_cost + now.income_at_risk, 10_000_000 * GBP);

    let naive: i64 = events
        .iter()
        .filter(|e| e.trust.as_str() == "RAL")
        .filter_map(|e| e.body.amount())
        .map(|p| p.get())
        .sum();
    assert_eq!(
        naive,
        (1_200_000 + 1_300_000 + 3_789_000 + 900_000 + 4_000_000 + 6_000_000 + 4_676_000) * GBP,
        "without the rules the £6.289m, the estimates and the £10m would all count"
    );

    // The February figures are to-date restatements of the November ones; the £4m (another
    // category) also supersedes the £1.2m. The deployment charge is an estimate for June 2008.
    let mut restated = 0;
    for e in events.iter().filter(|e| e.trust.as_str() == "RAL") {
        match &e.body {
            EventBody::ExtraCost(d) if d.category.as_str() == "other" => {
                assert_eq!(d.to_date, Some(true));
                let rel = e.relates_to.as_ref().expect("restates");
                assert_eq!(rel.relation, Relation::Restates);
                assert_eq!(e.supersedes, Some(rel.event_id));
                assert!(matches!(
                    &by_id(&events, rel.event_id).body,
                    EventBody::ExtraCost(old) if old.category.as_str() == "temporary_staff"
                        && old.to_date == Some(true)
                ));
                restated += 1;
            }
            EventBody::ExtraCost(d) if d.category.as_str() == "deployment_charge" => {
                assert_eq!(d.amount_pence.get(), 4_676_000 * GBP);
                assert_eq!(d.period, Period::parse("2008-06"));
                assert_eq!(e.status, Status::Estimated);
                assert_eq!(recorded(e), "2009-02-27T12:00:00Z");
                assert_eq!(e.sources[0].source_type, SourceType::ParliamentAnswer);
            }
            EventBody::IncomeAtRisk(d) if format_time(&e.occurred_at).as_str() >= "2009-02" => {
                let rel = e.relates_to.as_ref().expect("restates");
                assert_eq!(rel.relation, Relation::Restates);
                restated += 1;
                if d.amount_pence.get() > 0 {
                    assert_eq!(d.to_date, Some(true));
                    assert_eq!(d.category.as_str(), "lost_activity");
                    assert_eq!(e.supersedes, None, "the to-date rule replaces the £1.3m");
                } else {
                    assert_eq!(e.status, Status::Estimated);
                    assert_eq!(e.supersedes, Some(rel.event_id));
                }
            }
            _ => {}
        }
        if let Some(a) = &e.attribution {
            assert_eq!(a.by, "Royal Free Hampstead NHS Trust");
            assert_eq!(a.stance, Stance::AttributesToSystem);
        }
    }
    assert_eq!(restated, 4);
}

#[test]
fn barts_money_adds_up_to_the_published_figures() {
    // Proves: RNJ's headline is the £930,000 temporary staff and the £1.5m April-June 2008
    // income provision; the £3m full-year forecast (April 2008 to March 2009) is an estimate
    // beside it that restates the £1.5m without superseding it; the £400k a month from NHS
    // Tower Hamlets is a threat (exposure from 22 October 2009), never in the headline.
    let events = events();
    let sep = Money {
        extra_cost: 930_000 * GBP,
        income_at_risk: 1_500_000 * GBP,
        estimated_income_at_risk: 3_000_000 * GBP,
        ..Money::default()
    };
    assert_eq!(money(&events, "RNJ", "2009-10-21T23:59:59Z"), sep);
    let now = Money {
        penalties_threatened: 400_000 * GBP,
        ..sep
    };
    assert_eq!(money(&events, "RNJ", END), now);
    assert_eq!(now.penalties_levied, 0);

    for e in events.iter().filter(|e| e.trust.as_str() == "RNJ") {
        match &e.body {
            EventBody::IncomeAtRisk(d) if e.status == Status::Estimated => {
                assert_eq!(d.amount_pence.get(), 3_000_000 * GBP);
                assert_eq!(
                    (d.period_from, d.period_to),
                    (Period::parse("2008-04"), Period::parse("2009-03"))
                );
                let rel = e.relates_to.as_ref().expect("restates the £1.5m");
                assert_eq!(rel.relation, Relation::Restates);
                assert_eq!(e.supersedes, None);
                assert_eq!(
                    by_id(&events, rel.event_id).body.amount().map(|p| p.get()),
                    Some(1_500_000 * GBP)
                );
            }
            EventBody::IncomeAtRisk(d) => {
                assert_eq!(d.amount_pence.get(), 1_500_000 * GBP);
                assert_eq!(
                    (d.period, d.period_from, d.period_to),
                    (None, Period::parse("2008-04"), Period::parse("2008-06"))
                );
            }
            EventBody::ExtraCost(d) => {
                assert_eq!(d.amount_pence.get(), 930_000 * GBP);
                assert_eq!(e.status, Status::Reported);
            }
            EventBody::ContractPenalty(d) => {
                assert_eq!(d.commissioner, "NHS Tower Hamlets");
                assert_eq!(d.state, Some(PenaltyState::Threatened));
                assert_eq!(d.period, Period::parse("2009-10"));
                assert_eq!(recorded(e), "2009-10-22T12:00:00Z");
                let types: Vec<SourceType> = e.sources.iter().map(|s| s.source_type).collect();
                assert_eq!(types, [SourceType::ParliamentDebate, SourceType::Press]);
                let a = e.attribution.as_ref().expect("attributed");
                assert_eq!(a.by, "Richard Bacon MP");
                assert_eq!(a.stance, Stance::AttributesToSystem);
            }
            _ => {}
        }
    }
    for trust in ["RVL", "Q36", "RAX"] {
        assert!(
            events
                .iter()
                .filter(|e| e.trust.as_str() == trust)
                .all(|e| e.body.amount().is_none()),
            "{trust} has no published money"
        );
    }
}

#[test]
fn barts_incidents_are_delays_and_ungraded_harm() {
    // Proves: the 11 suspected-cancer patients are one safety incident (delayed, not lost) with
    // harm unknown, attributed by the trust board to the system; no published patient_lost
    // exists; the April 2009 serious untoward incident is ungraded (unknown, not none).
    let events = events();
    assert!(
        events
            .iter()
            .filter(|e| e.kind() == Kind::PatientLost)
            .all(is_synthetic),
        "every lost patient is synthetic"
    );
    let incidents: Vec<_> = events
        .iter()
        .filter(|e| e.kind() == Kind::SafetyIncident && !is_synthetic(e))
        .collect();
    assert_eq!(incidents.len(), 2);
    for e in incidents {
        let EventBody::SafetyIncident(d) = &e.body else {
            unreachable!()
        };
        assert_eq!(e.trust.as_str(), "RNJ");
        assert_eq!((d.harm, d.state), (Harm::Unknown, IncidentState::Open));
        match d.local_ref.as_str() {
            "RNJ-BOARD-2008-06-C2WW" => {
                assert!(!d.serious_incident);
                assert!(d.description.as_deref().unwrap().contains("placeholder"));
                assert_eq!(recorded(e), "2008-06-27T12:00:00Z");
                let a = e.attribution.as_ref().expect("attributed");
                assert_eq!(a.by, "Barts and The London NHS Trust board");
                assert_eq!(a.stance, Stance::AttributesToSystem);
            }
            "RNJ-SUI-2009-04" => assert!(d.serious_incident),
            other => panic!("unexpected incident {other}"),
        }
    }
}

#[test]
fn the_programme_roster_pause_and_go_live_dates() {
    // Proves: NHS London's roster (Hansard, 6 March 2008) lists the four London Cerner sites;
    // the pause is late October 2008 and the resumption 11 February 2009, both programme-wide
    // under Q36; Barnet & Chase Farm went live on 19 July 2007, recorded at the end of August
    // 2007, and its RTT suspension does not start before it; "fit to deploy" is known from
    // Hansard's statement of 27 February 2009.
    let events = events();
    let rosters: Vec<_> = events
        .iter()
        .filter(|e| e.kind() == Kind::ProgrammeRoster)
        .collect();
    assert_eq!(rosters.len(), 1);
    let e = rosters[0];
    assert_eq!(
        (e.trust.as_str(), e.collector.as_str()),
        ("Q36", "q36-programme")
    );
    assert_eq!(recorded(e), "2008-03-06T12:00:00Z");
    assert_eq!(e.sources[0].source_type, SourceType::ParliamentAnswer);
    assert!(e.sources[0].url.is_some());
    let EventBody::ProgrammeRoster(d) = &e.body else {
        unreachable!()
    };
    let trusts: HashSet<&str> = d.trusts.iter().map(|t| t.as_str()).collect();
    assert_eq!(trusts, HashSet::from(["RQX", "RNH", "RVL", "RGZ"]));

    fn one<'a>(events: &'a [Envelope], trust: &str, state: &str) -> &'a Envelope {
        let found: Vec<&Envelope> = events
            .iter()
            .filter(|e| {
                e.trust.as_str() == trust
                    && matches!(&e.body, EventBody::RolloutStatus(d) if d.status.as_str() == state)
            })
            .collect();
        assert_eq!(found.len(), 1, "{trust} {state}");
        found[0]
    }
    for (trust, state, occurred, recorded_at) in [
        ("RVL", "go_live", "2007-07-19", "2007-08-31"),
        ("RNJ", "go_live", "2008-04-08", "2008-04-10"),
        ("RAL", "go_live", "2008-06-15", "2008-11-05"),
        ("Q36", "paused", "2008-10-28", "2008-10-28"),
        ("Q36", "resumed", "2009-02-11", "2009-02-11"),
        ("RAL", "fit_to_deploy", "2009-01-31", "2009-02-27"),
        ("RAX", "planned", "2009-03-01", "2009-03-31"),
    ] {
        let e = one(&events, trust, state);
        assert!(
            format_time(&e.occurred_at).starts_with(occurred),
            "{trust} {state}"
        );
        assert!(recorded(e).starts_with(recorded_at), "{trust} {state}");
        if trust == "Q36" {
            assert!(matches!(&e.body,
                EventBody::RolloutStatus(d) if d.scope.as_str() == "programme"));
        }
    }
    assert_eq!(
        one(&events, "RAL", "fit_to_deploy").sources[0].source_type,
        SourceType::ParliamentAnswer
    );
    let golive = one(&events, "RVL", "go_live").occurred_at;
    for e in events
        .iter()
        .filter(|e| e.trust.as_str() == "RVL" && e.kind() == Kind::ReportingSuspended)
    {
        assert!(
            e.occurred_at >= golive,
            "RVL's RTT suspension before its go-live"
        );
    }
}

#[test]
fn the_two_2015_reviews_dispute_each_other() {
    // Proves: the Barnet & Chase Farm referral review of 2015 is two harm reviews under RVL:
    // HSJ's actual harm in 7,174 cases (1 severe, 39 moderate, 68 low; the rest not given) and
    // Joan Ryan MP's risk of harm via Computer Weekly (6,000 none, 4,000 low, 77 moderate, 1
    // severe: 10,078 cases, an estimate because the published "10,000" is rounded), the later
    // one linked to the earlier as disputing it and carrying the Royal Free London's claim that
    // the system was to blame.
    let events = events();
    let reviews: Vec<_> = events
        .iter()
        .filter(|e| e.kind() == Kind::HarmReview && !is_synthetic(e))
        .collect();
    assert_eq!(reviews.len(), 2);
    let (hsj, cw) = (reviews[0], reviews[1]);
    for e in [hsj, cw] {
        assert_eq!(e.trust.as_str(), "RVL");
        assert!(recorded(e).starts_with("2015-"));
    }
    let EventBody::HarmReview(h) = &hsj.body else {
        unreachable!()
    };
    assert_eq!(h.cases_reviewed, 7_174);
    assert_eq!(h.assessment, Some(Assessment::ActualHarm));
    assert_eq!(
        (h.harm.low, h.harm.moderate, h.harm.severe, h.harm.death),
        (68, 39, 1, 0)
    );
    assert_eq!(h.harm.unknown, 0);
    assert_eq!(hsj.status, Status::Reported);

    let EventBody::HarmReview(c) = &cw.body else {
        unreachable!()
    };
    assert_eq!(c.cases_reviewed, 10_078);
    assert_eq!(c.assessment, Some(Assessment::RiskOfHarm));
    assert_eq!(
        (c.harm.none, c.harm.low, c.harm.moderate, c.harm.severe),
        (6_000, 4_000, 77, 1)
    );
    assert_eq!(c.harm.total(), c.cases_reviewed);
    assert_eq!(cw.status, Status::Estimated);
    let rel = cw.relates_to.as_ref().expect("linked");
    assert_eq!(rel.event_id, hsj.event_id);
    assert_eq!(rel.relation, Relation::Disputes);
    let a = cw.attribution.as_ref().expect("attributed");
    assert_eq!(a.by, "Royal Free London NHS Foundation Trust");
    assert_eq!(a.stance, Stance::AttributesToSystem);
}

#[test]
fn counts_match_the_documentation() {
    // Proves: the per-trust and per-kind counts given in docs/EVENTS.md are those of the file.
    let events = events();
    let mut per_trust: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    for e in &events {
        *per_trust.entry(e.trust.as_str()).or_default() += 1;
        *per_kind.entry(e.kind()).or_default() += 1;
    }
    assert_eq!(events.len(), 160);
    assert_eq!(
        per_trust,
        BTreeMap::from([
            ("Q36", 3),
            ("RAL", 52),
            ("RAX", 2),
            ("RNJ", 57),
            ("RVJ", 24),
            ("RVL", 22)
        ])
    );
    let expected = [
        (Kind::ActivityActual, 50),
        (Kind::PatientLost, 22),
        (Kind::PatientTraced, 18),
        (Kind::IncomeAtRisk, 8),
        (Kind::PtlValidation, 8),
        (Kind::RolloutStatus, 8),
        (Kind::ActivityBaseline, 4),
        (Kind::HarmReview, 6),
        (Kind::Outage, 5),
        (Kind::SafetyIncident, 5),
        (Kind::AssuranceClaim, 5),
        (Kind::ExtraCost, 4),
        (Kind::UsageReported, 4),
        (Kind::WaitingListDiscrepancy, 3),
        (Kind::ReportingSuspended, 2),
        (Kind::ReportingResumed, 2),
        (Kind::RecoveryPlan, 2),
        (Kind::ProgrammeRoster, 1),
        (Kind::Burden, 1),
        (Kind::ContractPenalty, 1),
        (Kind::FeatureDeferred, 1),
    ];
    assert_eq!(per_kind, BTreeMap::from(expected));
    let synthetic = events.iter().filter(|e| is_synthetic(e)).count();
    assert_eq!(synthetic, 118);
}

#[test]
fn the_claims_are_the_published_words_made_public_on_their_day() {
    // Proves: the five claims are published (never synthetic), each recorded on the day its
    // source made it public, with the words as published; the burden and the recovery plan
    // that decide the Royal Free's verdicts are published too.
    let events = events();
    let claims: Vec<(&str, String, &str, &str)> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::AssuranceClaim(c) => Some((
                e.trust.as_str(),
                recorded(e),
                c.claim.as_str(),
                c.statement.as_str(),
            )),
            _ => None,
        })
        .collect();
    let days: Vec<(&str, &str, &str)> = claims
        .iter()
        .map(|(t, d, c, _)| (*t, &d[..10], *c))
        .collect();
    assert_eq!(
        days,
        [
            ("RNJ", "2008-06-27", "no_clinical_harm"),
            ("RAL", "2009-02-27", "successful_go_live"),
            ("RAL", "2009-02-27", "stable"),
            ("RAL", "2009-02-27", "fit_to_deploy"),
            ("RNJ", "2009-04-28", "no_clinical_harm"),
        ]
    );
    assert!(claims[1].3.contains("following a successful go-live"));
    assert!(claims[3].3.contains("fit to be deployed"));
    for e in &events {
        if matches!(
            e.kind(),
            Kind::AssuranceClaim | Kind::Burden | Kind::RecoveryPlan
        ) {
            assert!(!is_synthetic(e), "{} {}", e.kind(), e.event_id);
        }
    }
    let burden = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::Burden(b) => Some(b),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (burden.extra_staff, burden.task_time_ratio_pct),
        (Some(40), Some(400))
    );
}
