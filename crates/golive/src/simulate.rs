//! A deterministic simulated multi-trust rollout: the same seed gives the same events, byte for
//! byte. Used by `golive simulate`, the tests and the benchmarks.

use chrono::{DateTime, Duration, TimeZone, Utc};
use golive_model::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Real London ODS codes, used only with `real_trust_codes` (`golive simulate
/// --real-trust-codes`): a simulation under a real trust's name is misinformation about it
/// unless every event says it is simulated, which they all do.
const REAL_TRUSTS: &[&str] = &[
    "RAL", "RNJ", "RVL", "RAX", "RJ1", "RJ7", "RQM", "RYJ", "RAP", "RKE", "RAS", "RF4", "RJZ",
    "RJ6", "RQX", "RV8",
];

/// Parameters of a simulation.
#[derive(Debug, Clone, Copy)]
pub struct SimParams {
    pub seed: u64,
    pub trusts: usize,
    pub events: u64,
    /// When the first trust goes live.
    pub start: DateTime<Utc>,
    /// Skip this many trust codes of the list (so two simulations can run side by side).
    pub trust_offset: usize,
    /// Use real London ODS codes (then fictional ones) instead of fictional codes only.
    pub real_trust_codes: bool,
}

impl SimParams {
    pub fn new(seed: u64, trusts: usize, events: u64) -> Self {
        Self {
            seed,
            trusts,
            events,
            start: Utc
                .with_ymd_and_hms(2008, 4, 1, 9, 0, 0)
                .single()
                .unwrap_or_default(),
            trust_offset: 0,
            real_trust_codes: false,
        }
    }
}

pub use golive_model::FICTIONAL_PREFIX;

/// Whether `code` is one of the fictional codes of [`trust_codes_from`].
pub fn is_fictional(code: &OdsCode) -> bool {
    code.is_fictional()
}

/// The `i`-th fictional code: `ZZ001`..`ZZ999`, then `ZY001`, ...
fn fictional(i: usize) -> String {
    let letter = char::from(b'Z' - u8::try_from(i / 999).expect("fewer than 25,974 trusts"));
    format!("Z{letter}{:03}", i % 999 + 1)
}

/// The (fictional) trust codes a simulation with `n` trusts uses.
pub fn trust_codes(n: usize) -> Vec<OdsCode> {
    trust_codes_from(0, n, false)
}

/// `n` trust codes starting at position `offset`: fictional ones, or with `real` the real
/// London codes first and fictional ones after them.
pub fn trust_codes_from(offset: usize, n: usize, real: bool) -> Vec<OdsCode> {
    (offset..offset + n)
        .map(|i| {
            let code = match (real, REAL_TRUSTS.get(i)) {
                (true, Some(s)) => s.to_string(),
                (true, None) => fictional(i - REAL_TRUSTS.len()),
                (false, _) => fictional(i),
            };
            let code = OdsCode::parse(&code).expect("simulated trust codes are valid ODS codes");
            assert!(real || is_fictional(&code), "{code} is not fictional");
            code
        })
        .collect()
}

/// A schema-2 penalty says where it stands: the simulation's are levied.
fn levied(mut p: ContractPenalty) -> ContractPenalty {
    p.state = Some(PenaltyState::Levied);
    p
}

/// The one source of every simulated event: synthetic, naming the generator, seed and version.
fn synthetic_source(seed: u64) -> Source {
    Source {
        source_type: SourceType::Synthetic,
        reference: format!(
            "SYNTHETIC: golive simulate, seed {seed}, golive {}",
            env!("CARGO_PKG_VERSION")
        ),
        published_at: None,
        url: None,
    }
}

struct SimTrust {
    code: OdsCode,
    collector: CollectorId,
    seq: u64,
    go_live_at: DateTime<Utc>,
    planned: bool,
    live: bool,
    paused: bool,
    open_patients: Vec<String>,
    next_patient: u64,
    suspended: Vec<Dataset>,
    open_incidents: Vec<(String, Harm)>,
    next_incident: u64,
    /// Live (not yet superseded) extra costs that a correction may replace.
    costs: Vec<(EventId, ExtraCost)>,
    at_risk_pence: i64,
    recovered_pence: i64,
}

/// An iterator over the simulated events, in the order they occur.
pub struct Simulation {
    rng: ChaCha8Rng,
    trusts: Vec<SimTrust>,
    clock: DateTime<Utc>,
    step_secs: i64,
    left: u64,
    source: Source,
}

impl Simulation {
    pub fn new(p: SimParams) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let n = p.trusts.max(1);
        // Spread the run over two years whatever the event count, so weeks and months fill in.
        let span_secs: i64 = 2 * 365 * 86_400;
        let step_secs = (span_secs / p.events.clamp(1, i64::MAX as u64) as i64).max(1);
        let trusts = trust_codes_from(p.trust_offset, n, p.real_trust_codes)
            .into_iter()
            .enumerate()
            .map(|(i, code)| {
                let offset_days = i as i64 * 45 + rng.gen_range(0..20);
                SimTrust {
                    collector: CollectorId(format!("{}-sim", code.as_str().to_lowercase())),
                    code,
                    seq: 0,
                    go_live_at: p.start + Duration::days(offset_days),
                    planned: false,
                    live: false,
                    paused: false,
                    open_patients: Vec::new(),
                    next_patient: 1,
                    suspended: Vec::new(),
                    open_incidents: Vec::new(),
                    next_incident: 1,
                    costs: Vec::new(),
                    at_risk_pence: 0,
                    recovered_pence: 0,
                }
            })
            .collect();
        Self {
            rng,
            trusts,
            clock: p.start - Duration::days(30),
            step_secs,
            left: p.events,
            source: synthetic_source(p.seed),
        }
    }

    fn event_id(&mut self) -> EventId {
        let bytes: [u8; 16] = self.rng.r#gen();
        EventId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    fn next_event(&mut self) -> Envelope {
        let jitter = self.rng.gen_range(0..=self.step_secs);
        self.clock += Duration::seconds(self.step_secs / 2 + jitter);
        let i = self.rng.gen_range(0..self.trusts.len());
        let body = self.body_for(i);
        let event_id = self.event_id();
        let (supersedes, body) = match body {
            Generated::Plain(b) => (None, b),
            Generated::Correction(id, b) => (Some(id), b),
        };
        if let EventBody::ExtraCost(c) = &body {
            self.trusts[i].costs.push((event_id, c.clone()));
        }
        let delay = Duration::seconds(self.rng.gen_range(1..3_600));
        let t = &mut self.trusts[i];
        t.seq += 1;
        Envelope {
            event_id,
            trust: t.code.clone(),
            site: None,
            collector: t.collector.clone(),
            collector_seq: t.seq,
            occurred_at: self.clock,
            recorded_at: self.clock + delay,
            schema: SCHEMA_2,
            body,
            sources: vec![self.source.clone()],
            status: Status::Reported,
            supersedes,
            relates_to: None,
            attribution: None,
        }
    }

    /// The body of trust `i`'s next event: its rollout until it is live, then an incident
    /// drawn by weight (the ranges out of 100 below). A kind that needs earlier state (an open
    /// patient, a cost to correct, income at risk) falls through to the last arm without it.
    fn body_for(&mut self, i: usize) -> Generated {
        let clock = self.clock;
        let rng = &mut self.rng;
        let t = &mut self.trusts[i];
        if let Some(g) = t.before_live(rng, clock) {
            return g;
        }
        let period = Period::of(clock);
        let roll = rng.gen_range(0..100);
        match roll {
            0..=29 => t.patient_lost(rng),
            30..=49 if !t.open_patients.is_empty() => t.patient_traced(rng),
            50..=61 => extra_cost(rng),
            62..=63 if !t.costs.is_empty() => t.cost_restated(rng),
            64..=73 => t.income_at_risk(rng, period),
            74..=78 if t.at_risk_pence > t.recovered_pence => t.income_recovered(rng, period),
            79..=80 => Generated::Plain(EventBody::ContractPenalty(levied(ContractPenalty::new(
                "NHS London commissioners".to_owned(),
                Pence(40_000_000),
                Some(period),
            )))),
            81..=83 => t.reporting_toggled(rng),
            84..=86 => outage(rng, clock),
            87..=89 => t.safety_incident(rng),
            90..=92 => waiting_list_discrepancy(rng),
            93..=94 => harm_review(rng),
            95..=96 => t.pause_toggled(),
            _ => Generated::Plain(EventBody::FeatureDeferred(FeatureDeferred {
                feature: "clinical documentation".to_owned(),
                promised_for: Some("LC2".to_owned()),
                reason: Some("stabilisation first".to_owned()),
            })),
        }
    }
}

/// The simulated programme: a fictional name, as its trusts' codes are, so that its warnings
/// never read as the real London programme's.
pub const SIMULATED_PROGRAMME: &str = "Simulated programme (synthetic)";

/// A status change of the simulated programme's rollout at one trust.
fn rollout(status: RolloutState, reason: Option<&str>) -> Generated {
    Generated::Plain(EventBody::RolloutStatus(RolloutStatus {
        programme: SIMULATED_PROGRAMME.to_owned(),
        supplier: Some("simulated supplier".to_owned()),
        release: Some("LC1".to_owned()),
        status,
        scope: RolloutScope::Trust,
        reason: reason.map(str::to_owned),
    }))
}

impl SimTrust {
    /// Until go-live: the plan, then deferred features until the go-live date, then go-live.
    /// `None` once the trust is live.
    fn before_live(&mut self, rng: &mut ChaCha8Rng, clock: DateTime<Utc>) -> Option<Generated> {
        if !self.planned {
            self.planned = true;
            return Some(rollout(RolloutState::Planned, None));
        }
        if self.live {
            return None;
        }
        if clock >= self.go_live_at {
            self.live = true;
            return Some(rollout(RolloutState::GoLive, None));
        }
        Some(Generated::Plain(EventBody::FeatureDeferred(
            FeatureDeferred {
                feature: ["theatres", "maternity", "order comms", "e-prescribing"]
                    [rng.gen_range(0..4)]
                .to_owned(),
                promised_for: Some("LC1".to_owned()),
                reason: Some("not ready for go-live".to_owned()),
            },
        )))
    }

    /// A new lost patient, kept open until traced.
    fn patient_lost(&mut self, rng: &mut ChaCha8Rng) -> Generated {
        let n = self.next_patient;
        self.next_patient += 1;
        let patient_ref = format!("{}-SIM-{n:06}", self.code);
        self.open_patients.push(patient_ref.clone());
        Generated::Plain(EventBody::PatientLost(PatientLost {
            patient_ref: PatientRef(patient_ref),
            pathway: *Pathway::ALL.choose(rng).unwrap_or(&Pathway::Rtt18wk),
            discovered_via: Some("waiting list validation".to_owned()),
        }))
    }

    /// One of the open lost patients traced, mostly without harm.
    fn patient_traced(&mut self, rng: &mut ChaCha8Rng) -> Generated {
        let k = rng.gen_range(0..self.open_patients.len());
        let patient_ref = self.open_patients.swap_remove(k);
        let harm = match rng.gen_range(0..1000) {
            0..=599 => Harm::None,
            600..=969 => Harm::Low,
            970..=995 => Harm::Moderate,
            996..=998 => Harm::Severe,
            _ => Harm::Death,
        };
        Generated::Plain(EventBody::PatientTraced(PatientTraced {
            patient_ref: PatientRef(patient_ref),
            outcome: *TraceOutcome::ALL
                .choose(rng)
                .unwrap_or(&TraceOutcome::StillWaiting),
            harm,
        }))
    }

    /// A correction: an earlier cost re-stated (it supersedes the original).
    fn cost_restated(&mut self, rng: &mut ChaCha8Rng) -> Generated {
        let k = rng.gen_range(0..self.costs.len());
        let (id, mut cost) = self.costs.swap_remove(k);
        cost.amount_pence = Pence(cost.amount_pence.0 / 100 * rng.gen_range(50..150));
        cost.description = Some("re-stated after audit".to_owned());
        Generated::Correction(id, EventBody::ExtraCost(cost))
    }

    fn income_at_risk(&mut self, rng: &mut ChaCha8Rng, period: Period) -> Generated {
        let amount = rng.gen_range(10_000..2_000_000) * 100;
        self.at_risk_pence += amount;
        Generated::Plain(EventBody::IncomeAtRisk(IncomeAtRisk::new(
            *IncomeCategory::ALL
                .choose(rng)
                .unwrap_or(&IncomeCategory::Unbilled),
            Pence(amount),
            period,
        )))
    }

    /// Some of the income at risk recovered, never more than is at risk.
    fn income_recovered(&mut self, rng: &mut ChaCha8Rng, period: Period) -> Generated {
        let room = self.at_risk_pence - self.recovered_pence;
        let amount = rng.gen_range(1..=room.min(1_000_000_000));
        self.recovered_pence += amount;
        Generated::Plain(EventBody::IncomeRecovered(IncomeRecovered::new(
            Pence(amount),
            period,
            None,
        )))
    }

    /// Reporting of a dataset suspended, or resumed if it was suspended.
    fn reporting_toggled(&mut self, rng: &mut ChaCha8Rng) -> Generated {
        let dataset = *Dataset::ALL.choose(rng).unwrap_or(&Dataset::Rtt);
        if let Some(k) = self.suspended.iter().position(|d| *d == dataset) {
            self.suspended.swap_remove(k);
            Generated::Plain(EventBody::ReportingResumed(Reporting {
                dataset,
                reason: Some("data validated".to_owned()),
            }))
        } else {
            self.suspended.push(dataset);
            Generated::Plain(EventBody::ReportingSuspended(Reporting {
                dataset,
                reason: Some("data quality after go-live".to_owned()),
            }))
        }
    }

    /// The oldest open safety incident closed (half the time, if any), else a new one opened.
    fn safety_incident(&mut self, rng: &mut ChaCha8Rng) -> Generated {
        if !self.open_incidents.is_empty() && rng.gen_bool(0.5) {
            let (local_ref, harm) = self.open_incidents.swap_remove(0);
            return Generated::Plain(EventBody::SafetyIncident(SafetyIncident {
                local_ref,
                harm,
                serious_incident: harm >= Harm::Moderate,
                state: IncidentState::Closed,
                description: Some("investigation closed".to_owned()),
            }));
        }
        let local_ref = format!("DATIX-{}-{:05}", self.code, self.next_incident);
        self.next_incident += 1;
        let harm = *[Harm::Low, Harm::Low, Harm::Moderate, Harm::Severe]
            .choose(rng)
            .unwrap_or(&Harm::Low);
        self.open_incidents.push((local_ref.clone(), harm));
        Generated::Plain(EventBody::SafetyIncident(SafetyIncident {
            local_ref,
            harm,
            serious_incident: harm >= Harm::Moderate,
            state: IncidentState::Open,
            description: None,
        }))
    }

    /// The rollout paused, or resumed if it was paused.
    fn pause_toggled(&mut self) -> Generated {
        self.paused = !self.paused;
        if self.paused {
            rollout(RolloutState::Paused, Some("recovery plan"))
        } else {
            rollout(RolloutState::Resumed, Some("recovery plan complete"))
        }
    }
}

fn extra_cost(rng: &mut ChaCha8Rng) -> Generated {
    // The categories of schema 1, which the simulator writes (a deployment charge is not an
    // incident cost).
    let category = *CostCategory::ALL[..6]
        .choose(rng)
        .unwrap_or(&CostCategory::Other);
    Generated::Plain(EventBody::ExtraCost(ExtraCost::new(
        category,
        Pence(rng.gen_range(1_000..500_000) * 100),
        None,
    )))
}

/// An outage of up to two days that ended now; a major incident beyond a day.
fn outage(rng: &mut ChaCha8Rng, clock: DateTime<Utc>) -> Generated {
    let hours = rng.gen_range(1..48);
    Generated::Plain(EventBody::Outage(Outage {
        scope: "trust".to_owned(),
        services: vec!["PAS".to_owned(), "outpatient booking".to_owned()],
        start: clock - Duration::hours(hours),
        end: Some(clock),
        paper_fallback: rng.gen_bool(0.7),
        major_incident: hours > 24,
    }))
}

fn waiting_list_discrepancy(rng: &mut ChaCha8Rng) -> Generated {
    let records = rng.gen_range(1_000..30_000);
    let unique = records * rng.gen_range(60..100) / 100;
    Generated::Plain(EventBody::WaitingListDiscrepancy(WaitingListDiscrepancy {
        pathway: Pathway::Rtt18wk,
        records,
        unique_patients: unique,
        breaches: Some(unique / rng.gen_range(5..40)),
    }))
}

fn harm_review(rng: &mut ChaCha8Rng) -> Generated {
    let cases = rng.gen_range(100..2_000);
    let moderate = cases / 100;
    let low = cases * 4 / 10;
    Generated::Plain(EventBody::HarmReview(HarmReview {
        cases_reviewed: cases,
        harm: HarmCounts {
            none: cases - low - moderate,
            low,
            moderate,
            severe: 0,
            death: 0,
            unknown: 0,
        },
        assessment: None,
    }))
}

enum Generated {
    Plain(EventBody),
    Correction(EventId, EventBody),
}

impl Iterator for Simulation {
    type Item = Envelope;
    fn next(&mut self) -> Option<Envelope> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.next_event())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_every_event_valid() {
        // Proves determinism and that the generator only produces events the ledger accepts.
        let a: Vec<Vec<u8>> = Simulation::new(SimParams::new(7, 5, 3_000))
            .map(|e| e.canonical_bytes())
            .collect();
        let b: Vec<Vec<u8>> = Simulation::new(SimParams::new(7, 5, 3_000))
            .map(|e| e.canonical_bytes())
            .collect();
        assert_eq!(a.len(), 3_000);
        assert_eq!(a, b);
        for bytes in &a {
            let e = decode(bytes)
                .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(bytes)));
            assert_eq!(e.canonical_bytes(), *bytes);
        }
        let c: Vec<Vec<u8>> = Simulation::new(SimParams::new(8, 5, 3_000))
            .map(|e| e.canonical_bytes())
            .collect();
        assert_ne!(a, c);
    }

    #[test]
    fn covers_many_kinds_and_all_trusts() {
        // Proves a modest run exercises the projections broadly, including corrections.
        let events: Vec<Envelope> = Simulation::new(SimParams::new(1, 20, 5_000)).collect();
        let kinds: std::collections::BTreeSet<_> = events.iter().map(|e| e.kind()).collect();
        assert!(kinds.len() >= 13, "{kinds:?}");
        let trusts: std::collections::BTreeSet<_> =
            events.iter().map(|e| e.trust.clone()).collect();
        assert_eq!(trusts.len(), 20);
        assert!(events.iter().any(|e| e.supersedes.is_some()));
    }

    #[test]
    fn simulated_events_are_synthetic_and_under_fictional_codes_unless_asked() {
        // Proves: by default no real ODS code is written and every event says it is simulated
        // (schema 2, one synthetic source naming the generator and seed); with real codes asked
        // for, the real London codes come first and every event is still synthetic.
        let events: Vec<Envelope> = Simulation::new(SimParams::new(3, 30, 2_000)).collect();
        for e in &events {
            assert!(is_fictional(&e.trust), "{}", e.trust);
            assert!(!REAL_TRUSTS.contains(&e.trust.as_str()));
            assert_eq!(e.schema, SCHEMA_2);
            assert!(e.is_synthetic(), "{:?}", e.sources);
            assert!(e.sources[0].reference.contains("golive simulate, seed 3"));
            assert!(e.collector.as_str().ends_with("-sim"));
        }
        assert_eq!(trust_codes(2)[1].as_str(), "ZZ002");
        assert_eq!(fictional(999), "ZY001");
        let real = SimParams {
            real_trust_codes: true,
            ..SimParams::new(3, 20, 2_000)
        };
        let events: Vec<Envelope> = Simulation::new(real).collect();
        assert!(events.iter().any(|e| e.trust.as_str() == "RAL"));
        assert!(events.iter().all(Envelope::is_synthetic));
        assert!(
            events.iter().any(|e| is_fictional(&e.trust)),
            "past the real list"
        );
    }
}
