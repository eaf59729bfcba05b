//! # golive-projections
//!
//! Pure folds of the Go-Live Ledger's event log into what analysts ask about: lost patients
//! (open and traced cases, waiting-list discrepancies, harm reviews, reporting suspensions),
//! money (extra cost, income at risk and recovered, contract penalties, per category and month),
//! rollout (status per trust and per programme, history, go-live, anomalies), outages and safety
//! incidents, deferred features, and early warnings computed from all of these.
//!
//! **Invariant:** this crate does no IO. Time comes only from events: "now" is the projection's
//! `as_at`, the latest `occurred_at` folded in, never the clock. [`Projections::apply`] cannot
//! fail and holds no business validation: an event reaches it only after the ledger has
//! validated and appended it.
//!
//! ## Main design decision: keep each event's fact, derive the answers
//!
//! A projection keeps, per trust, the small fact each event contributed (a patient lost on a
//! pathway, a status change, a waiting-list report, ...) in a timeline sorted by
//! `(occurred_at, seq)`, and computes current states (open cases, current status, latest report,
//! anomalies, weekly series) from those facts when asked. Only plain sums (money and harm-review
//! totals) are kept as running totals. This makes two things exact and simple:
//!
//! - **Corrections.** Removing an event's contribution is deleting its fact (or subtracting
//!   its amount); every derived answer is then what it would have been had the event never
//!   been applied.
//! - **Order.** Because facts are ordered by event time, a late report lands where it
//!   happened; ties are broken by `seq`, whose relative order within a trust the ledger keeps
//!   whatever the interleaving of trusts. So the per-trust views do not depend on how the
//!   events of different trusts were interleaved.
//!
//! The cost is that a query walks the facts of the trusts it covers (linear in their events),
//! which is cheap at the scale of go-live incident reporting (thousands to hundreds of
//! thousands of events), and that the state holds one small record per event.
//!
//! ## Corrections: what "remove the contribution" means, per kind
//!
//! [`Projections::apply`] takes the event that `event.supersedes` names. Its contribution is
//! removed from the trust (and, for programme-scope rollout, the programme) it was recorded
//! under, then the new event is applied as any other. Per kind of the superseded event:
//!
//! | kind | removal |
//! | --- | --- |
//! | `patient_lost`, `patient_traced` | the fact leaves that patient's timeline; the patient's cases are recomputed, so a case disappears, or reopens if the removed event was the trace that closed it; days to trace, counts by outcome and harm, and the weekly series follow |
//! | `waiting_list_discrepancy` | the report leaves the pathway's timeline; the previous report (if any) becomes the latest again |
//! | `harm_review` | its cases and harm counts are subtracted from the totals, and the review count drops by one |
//! | `reporting_suspended`, `reporting_resumed` | the change leaves the history; the current suspensions are recomputed |
//! | `extra_cost`, `income_at_risk`, `income_recovered`, `contract_penalty` | its amount is subtracted from the same trust, months, status and category (or commissioner and state) it was added to (sums that reach zero are dropped); a to-date figure leaves its chain, so the previous figure of the chain is the latest again |
//! | `rollout_status` | the entry leaves the trust's (or programme's) history; status, release, supplier, go-live date, days since go-live and anomalies are recomputed |
//! | `outage`, `safety_incident` | the report leaves the timeline; the outage or incident is recomputed from its remaining reports (an incident closed by the removed report is open again) |
//! | `feature_deferred` | the feature leaves the list |
//! | `activity_baseline`, `activity_actual`, `ptl_validation` | the report leaves its timeline (kept apart from the trust state, see the `recovery` module): the previous report of the month, week or pathway stands again, and the curve, shortfall and burn-down are recomputed as if it had never been made |
//!
//! Limitations, each deliberate:
//! - An event is removed at most once: the ids of superseded events are remembered, so a second
//!   correction of the same event removes nothing more (it is still applied as a new event).
//!   A chain (C supersedes B, which superseded A) removes B, and A stays removed.
//! - `superseded` must be the event whose `event_id` `event.supersedes` names: a mismatch is a
//!   caller bug and panics, in release builds too.
//!   When `event.supersedes` names an event the caller could not find, pass `None`: the event
//!   is then applied as new and nothing is removed.
//! - `as_at` and `last_seq` are never lowered by a correction (they are high-water marks of
//!   what has been folded in), and a trust once seen stays in [`Projections::trusts`].
//! - Money sums saturate at the `i64` limits; removal is exact unless a sum saturated, which
//!   would take about nine million events of the largest allowed amount (£10bn).
//!
//! ## Snapshots
//!
//! [`Projections::to_snapshot`] writes versioned JSON. JSON rather than bincode because the
//! model's enums are then stored by name (a reordering of variants cannot silently change the
//! meaning of a stored snapshot) and no serde attribute of a model type can break the format.
//! A snapshot of another version is refused with [`SnapshotError`], and the caller replays from
//! the log: snapshots are caches of the log, never the truth.

mod claims;
mod coverage;
mod deferred;
mod error;
mod evidence;
mod incidents;
mod lost;
mod money;
mod money_history;
mod money_known;
mod recovery;
mod register;
mod rollout;
mod synthetic;
mod timeline;
mod warnings;
mod week;

// Lets the shared test kit name this crate the same way inside and outside it.
#[cfg(test)]
extern crate self as golive_projections;
#[cfg(test)]
mod apply_invariants;
#[cfg(test)]
mod money_history_tests;
#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod register_tests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use golive_model::{Envelope, EventBody, EventId, OdsCode, RolloutScope};
use serde::{Deserialize, Serialize};

pub use claims::{
    CLAIM_WINDOW_WEEKS_MAX, ClaimRules, TrustUsageBurden, UsageBurdenMonth, UsageBurdenView,
};
pub use coverage::{
    CoverageState, CoverageTotals, CoverageView, DarkDataset, LastKnown, ProgrammeCoverage,
    SILENT_AFTER_WEEKS_DEFAULT, SILENT_AFTER_WEEKS_MAX, TrustCoverage,
};
pub use deferred::{DeferredFeature, DeferredTotals, DeferredView, TrustDeferred};
pub use error::{RulesError, SnapshotError};
pub use evidence::{EvidenceLink, EvidenceSource, EvidenceView, FigureEvidence, TrustEvidence};
pub use incidents::{
    IncidentGrade, IncidentItem, IncidentsTotals, IncidentsView, OutageItem, OutageSummary,
    SafetySummary, TrustIncidents,
};
pub use lost::{
    DaysToTrace, HarmReviewTotals, LostPatientsTotals, LostPatientsView, OpenCase, ReportingChange,
    ReportingChangeKind, ReportingView, Suspension, TracedSummary, TrustLostPatients,
    WaitingListFigures, WaitingListTotals, WeekCount,
};
pub use money::{
    MoneyFigures, MoneyView, Restatement, StatusFigures, TrustMoney, UNSPECIFIED,
    parts as money_parts,
};
pub use money_history::{CHECKPOINT_ENTRIES as MONEY_CHECKPOINT_ENTRIES, MoneyAt, MoneyHistory};
pub use money_known::KnownRecord;
pub use recovery::{
    Align, AlignedPoint, BURN_DOWN_REPORTS, Baseline, BurnDown, BurnDownPoint, BurnDownState,
    MonthSource, NotYet, PointRecovery, RECOVERED_TENTHS, RecoveryMonth, RecoveryView, Stall,
    TARIFF_PENCE_MAX, Tariffs, TrustRecovery, WeeksTo95,
};
pub use register::{
    Bearing, ClaimContext, ClaimEntry, ClaimSnapshot, ClaimantOut, ClaimsTotals, ClaimsView, Cut,
    Finding, FindingSource, Rule as ClaimRule, SeriousIncidentItem, Verdict, rules_against,
    rules_for,
};
pub use rollout::{
    Anomaly, ProgrammeChange, ProgrammeRollout, RolloutChange, RolloutTotals, RolloutView,
    TrustRollout,
};
pub use synthetic::{Marked, Synthetic, marked_trusts, share as synthetic_share};
pub use warnings::{
    GROWTH_WEEKS_MAX, HALT_ON_DEFAULT, OverallState, RULE_CLAIM_ON_STRUGGLE, RULE_INCOME_AT_RISK,
    RULE_NET_COST, RULE_OPEN_LOST_GROWTH, RULE_PROGRAMME_SITES_HALTING, RULE_RECOVERY_STALLED,
    RULE_REPORTING_SUSPENDED, RULE_SERIOUS_INCIDENT, Severity, TRUST_RULES, TrustWarnings, Warning,
    WarningRules, WarningsTotals, WarningsView,
};
pub use week::WEEKLY_SERIES_WEEKS_MAX;

use coverage::{EventTimes, Rosters};
use deferred::DeferredFact;
use incidents::IncidentsState;
use lost::LostState;
use money::MoneyState;
use rollout::{ProgrammeFact, RolloutFact};
use timeline::Timeline;

/// The first bytes of a snapshot: its format's name.
pub const SNAPSHOT_FORMAT: &str = "golive-projections";
/// The snapshot version this build writes and reads. Bump it whenever the state changes shape
/// or meaning. Version 1 was JSON; version 2 is bincode (serde, standard config): about 3x
/// smaller and 5-10x faster to write and read, which is what as-of answers and snapshots pay
/// for (docs/BENCHMARKS.md). Version 3: schema 2 (status, periods, rosters, unknown harm). Version 4: claims, usage,
/// burden, recovery plans, and the harm and attributions the claim register reads. Version 5:
/// the synthetic event count and the sourced-only fold. Version 6: activity baselines and
/// reports and waiting-list validations (the recovery view). Version 7: the trust-key changes
/// of `trust_key` events. A snapshot of another version is not read; the ledger replays.
pub const SNAPSHOT_VERSION: u32 = 7;
/// Header: format name, version (u32 LE), last_seq (u64 LE).
const SNAPSHOT_HEADER_BYTES: usize = SNAPSHOT_FORMAT.len() + 4 + 8;

/// Everything folded in about one trust.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct TrustState {
    lost: LostState,
    money: MoneyState,
    rollout: Timeline<RolloutFact>,
    incidents: IncidentsState,
    deferred: Timeline<DeferredFact>,
    evidence: evidence::EvidenceState,
    /// When its events happened (coverage: last event, silence).
    seen: EventTimes,
}

/// All projections, folded from the log one event at a time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Projections {
    /// Highest `seq` folded in.
    last_seq: u64,
    /// Number of events folded in (lets `seq` 0 be a valid first sequence).
    events_applied: u64,
    /// Latest `occurred_at` folded in: the projection's "now".
    as_at: Option<DateTime<Utc>>,
    trusts: BTreeMap<OdsCode, TrustState>,
    /// Programme-scope rollout statuses, by programme name.
    programmes: BTreeMap<String, Timeline<ProgrammeFact>>,
    /// Programme rosters, by programme name.
    rosters: Rosters,
    /// Events whose contribution has been removed by a correction.
    retracted: BTreeSet<EventId>,
    /// Per trust: claims, usage, burden, recovery plans, and the harm and attributions of
    /// every event. Apart from `trusts`, so that the claims kinds change no other view (a
    /// trust that only has claims made about it is not a trust seen, nor reporting).
    claims: BTreeMap<OdsCode, claims::ClaimsState>,
    /// Per trust: activity baselines and reports, and waiting-list validations. Apart from
    /// `trusts` for the reason `claims` is: the recovery kinds change no other view.
    recovery: BTreeMap<OdsCode, recovery::RecoveryState>,
    /// The `trust_key` events, in log order: what the ledger and an auditor apply to the trust
    /// keys of the config (golive-verify's `TrustKeys::apply`). Never retracted.
    trust_keys: Vec<TrustKeyFact>,
    /// Synthetic events folded in (see the `synthetic` module).
    synthetic_events: u64,
    /// The fold of the non-synthetic events only, from the first synthetic event on (until
    /// then it would equal this one, so it is not kept): what every view would be had no
    /// synthetic event been appended. It never holds a twin of its own.
    sourced: Option<Box<Projections>>,
}

/// One `trust_key` event folded in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrustKeyFact {
    pub seq: u64,
    pub trust: OdsCode,
    pub recorded_at: DateTime<Utc>,
    pub change: golive_model::TrustKeyChange,
}

/// What coverage reads of one trust.
fn coverage_input<'a>(
    t: &'a TrustState,
    suspended: &'a BTreeMap<golive_model::Dataset, Suspension>,
    live: bool,
) -> coverage::TrustInput<'a> {
    coverage::TrustInput {
        seen: &t.seen,
        suspended,
        waiting_lists: &t.lost.waiting_lists,
        live,
        programmes: t
            .rollout
            .iter()
            .map(|e| e.data.programme.as_str())
            .collect(),
    }
}

/// Which of a trust's projections an event of each kind feeds: the one routing table that
/// both adding an event and removing a superseded one follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Lost,
    Money,
    Rollout,
    Incidents,
    Deferred,
    /// Claims, usage, burden and recovery plans: read only by the claim register and the
    /// usage-burden view; no other projection changes.
    Claims,
    /// Activity baselines and reports, waiting-list validations: read only by the recovery
    /// view and the `recovery_stalled` warning.
    Recovery,
    /// Changes to the trusts' signing keys: no view reads them.
    Keys,
}

impl Part {
    fn of(body: &EventBody) -> Self {
        match body {
            EventBody::PatientLost(_)
            | EventBody::PatientTraced(_)
            | EventBody::WaitingListDiscrepancy(_)
            | EventBody::HarmReview(_)
            | EventBody::ReportingSuspended(_)
            | EventBody::ReportingResumed(_) => Self::Lost,
            EventBody::ExtraCost(_)
            | EventBody::IncomeAtRisk(_)
            | EventBody::IncomeRecovered(_)
            | EventBody::ContractPenalty(_) => Self::Money,
            EventBody::RolloutStatus(_) => Self::Rollout,
            EventBody::Outage(_) | EventBody::SafetyIncident(_) => Self::Incidents,
            EventBody::FeatureDeferred(_) | EventBody::ProgrammeRoster(_) => Self::Deferred,
            EventBody::AssuranceClaim(_)
            | EventBody::UsageReported(_)
            | EventBody::Burden(_)
            | EventBody::RecoveryPlan(_) => Self::Claims,
            EventBody::ActivityBaseline(_)
            | EventBody::ActivityActual(_)
            | EventBody::PtlValidation(_) => Self::Recovery,
            EventBody::TrustKey(_) => Self::Keys,
        }
    }

    /// Kinds kept apart from the trust state, which move no other view.
    fn apart(self) -> bool {
        matches!(self, Self::Claims | Self::Recovery | Self::Keys)
    }
}

impl Projections {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in the event at ledger sequence `seq`.
    ///
    /// `superseded` is the earlier event that `event.supersedes` names (the caller looks it up
    /// in the log): its contribution is removed first, then `event` is applied. See the crate
    /// documentation for what removal means per kind.
    ///
    /// Idempotent by sequence: an event whose `seq` is not above [`Self::last_seq`] has already
    /// been folded in and is ignored, so a replay that overlaps a snapshot counts nothing
    /// twice. Cannot fail and does no validation.
    pub fn apply(&mut self, seq: u64, event: &Envelope, superseded: Option<&Envelope>) {
        if self.events_applied > 0 && seq <= self.last_seq {
            return;
        }
        self.fold_sourced(seq, event, superseded);
        self.events_applied = self.events_applied.saturating_add(1);
        self.last_seq = seq;
        // The claims and recovery kinds move no other view, so not the projection's "now"
        // either.
        if !Part::of(&event.body).apart() {
            self.as_at = Some(
                self.as_at
                    .map_or(event.occurred_at, |t| t.max(event.occurred_at)),
            );
        }
        if let Some(old) = superseded {
            // A caller bug, in release builds too: removing an event the correction does not
            // name would silently leave wrong figures in every view.
            assert_eq!(
                event.supersedes,
                Some(old.event_id),
                "`superseded` must be the event that `event.supersedes` names"
            );
            if self.retracted.insert(old.event_id) {
                self.remove(old);
            }
        }
        self.add(seq, event);
    }

    /// Keeps the sourced-only fold: a synthetic event is counted and left out of it (the fold
    /// is started, as a copy of this one, at the first); any other event is folded into it too,
    /// with its correction only if the corrected event is in it (a synthetic one never is).
    fn fold_sourced(&mut self, seq: u64, event: &Envelope, superseded: Option<&Envelope>) {
        if event.is_synthetic() {
            if self.sourced.is_none() {
                self.sourced = Some(Box::new(self.clone()));
            }
            self.synthetic_events = self.synthetic_events.saturating_add(1);
        } else if let Some(s) = &mut self.sourced {
            s.apply(seq, event, superseded.filter(|old| !old.is_synthetic()));
        }
    }

    /// The projections of the non-synthetic events only: as if no synthetic event had been
    /// appended (`?exclude_synthetic=true`). Itself when no synthetic event was folded in.
    pub fn sourced_only(&self) -> &Projections {
        self.sourced.as_deref().unwrap_or(self)
    }

    /// The `trust_key` events folded in, in log order.
    pub fn trust_key_changes(&self) -> &[TrustKeyFact] {
        &self.trust_keys
    }

    /// Synthetic events folded in (events whose every source is `synthetic`).
    pub fn synthetic_events(&self) -> u64 {
        self.synthetic_events
    }

    /// The view `build` makes of these projections, with its synthetic share (every figure
    /// minus the same figure without synthetic events); with `exclude`, the view of the
    /// sourced-only projections instead.
    pub fn marked<V: Serialize>(
        &self,
        exclude: bool,
        build: impl Fn(&Projections) -> V,
    ) -> Marked<V> {
        if exclude {
            return Marked::excluded(build(self.sourced_only()), self.synthetic_events);
        }
        let sourced = self.sourced.as_deref().map(&build);
        Marked::compared(build(self), sourced.as_ref(), self.synthetic_events)
    }

    /// Adds what the state kept apart (claims, recovery) reads of `e`; true when that is all
    /// `e` feeds.
    fn add_apart(&mut self, seq: u64, e: &Envelope) -> bool {
        if claims::ClaimsState::reads(e) {
            self.claims.entry(e.trust.clone()).or_default().add(seq, e);
        }
        if recovery::RecoveryState::reads(e) {
            self.recovery
                .entry(e.trust.clone())
                .or_default()
                .add(seq, e);
        }
        if let EventBody::TrustKey(change) = &e.body {
            self.trust_keys.push(TrustKeyFact {
                seq,
                trust: e.trust.clone(),
                recorded_at: e.recorded_at,
                change: change.clone(),
            });
        }
        Part::of(&e.body).apart()
    }

    fn add(&mut self, seq: u64, e: &Envelope) {
        let (at, id) = (e.occurred_at, e.event_id);
        if self.add_apart(seq, e) {
            return;
        }
        let t = self.trusts.entry(e.trust.clone()).or_default();
        t.evidence.add(e);
        t.seen.add(at);
        if let EventBody::ProgrammeRoster(d) = &e.body {
            self.rosters.add(seq, at, id, d);
            return;
        }
        if let EventBody::RolloutStatus(d) = &e.body
            && d.scope == RolloutScope::Programme
        {
            self.programmes
                .entry(d.programme.clone())
                .or_default()
                .insert(
                    at,
                    seq,
                    id,
                    ProgrammeFact {
                        trust: e.trust.clone(),
                        supplier: d.supplier.clone(),
                        release: d.release.clone(),
                        status: d.status,
                        reason: d.reason.clone(),
                    },
                );
            // The reporting trust is still a trust seen.
            self.trusts.entry(e.trust.clone()).or_default();
            return;
        }
        let t = self.trusts.entry(e.trust.clone()).or_default();
        match (Part::of(&e.body), &e.body) {
            (Part::Lost, body) => t.lost.add(seq, at, id, body),
            (Part::Money, body) => t.money.add(seq, at, id, e.status, body),
            (Part::Incidents, body) => t.incidents.add(seq, at, id, body),
            (Part::Claims | Part::Recovery | Part::Keys, _) => {
                unreachable!("kinds kept apart return above")
            }
            (Part::Rollout, EventBody::RolloutStatus(d)) => t.rollout.insert(
                at,
                seq,
                id,
                RolloutFact {
                    programme: d.programme.clone(),
                    supplier: d.supplier.clone(),
                    release: d.release.clone(),
                    status: d.status,
                    reason: d.reason.clone(),
                },
            ),
            (Part::Deferred, EventBody::FeatureDeferred(d)) => t.deferred.insert(
                at,
                seq,
                id,
                DeferredFact {
                    feature: d.feature.clone(),
                    promised_for: d.promised_for.clone(),
                    reason: d.reason.clone(),
                },
            ),
            (part, _) => unreachable!("Part::of routed a {} to {part:?}", e.body.kind()),
        }
    }

    fn remove(&mut self, e: &Envelope) {
        let (at, id) = (e.occurred_at, e.event_id);
        if let Some(c) = self.claims.get_mut(&e.trust) {
            c.remove(e);
        }
        if let Some(r) = self.recovery.get_mut(&e.trust) {
            r.remove(e);
            if r.is_empty() {
                self.recovery.remove(&e.trust);
            }
        }
        if Part::of(&e.body).apart() {
            return;
        }
        if let Some(t) = self.trusts.get_mut(&e.trust) {
            t.evidence.remove(e);
            t.seen.remove(at);
        }
        if let EventBody::ProgrammeRoster(d) = &e.body {
            self.rosters.remove(at, id, d);
            return;
        }
        if let EventBody::RolloutStatus(d) = &e.body
            && d.scope == RolloutScope::Programme
        {
            if let Some(tl) = self.programmes.get_mut(&d.programme) {
                tl.remove(at, id);
                if tl.is_empty() {
                    self.programmes.remove(&d.programme);
                }
            }
            return;
        }
        let Some(t) = self.trusts.get_mut(&e.trust) else {
            return;
        };
        match Part::of(&e.body) {
            Part::Lost => t.lost.remove(at, id, &e.body),
            Part::Money => t.money.remove(at, id, e.status, &e.body),
            Part::Incidents => t.incidents.remove(at, id, &e.body),
            Part::Rollout => {
                t.rollout.remove(at, id);
            }
            Part::Deferred => {
                t.deferred.remove(at, id);
            }
            Part::Claims | Part::Recovery | Part::Keys => {
                unreachable!("kinds kept apart return above")
            }
        }
    }

    /// Highest ledger sequence folded in (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Latest `occurred_at` folded in: the time every "days since" is measured to.
    pub fn as_at(&self) -> Option<DateTime<Utc>> {
        self.as_at
    }

    /// Number of events folded in.
    pub fn events_applied(&self) -> u64 {
        self.events_applied
    }

    /// Every trust seen, in code order: a trust that has reported only claims or activity is a
    /// trust seen too (it can be asked for by `?trust=`), though the views of the other kinds
    /// have no line for it.
    pub fn trusts(&self) -> Vec<OdsCode> {
        let mut all: BTreeSet<&OdsCode> = self.trusts.keys().collect();
        all.extend(self.claims.keys());
        all.extend(self.recovery.keys());
        all.into_iter().cloned().collect()
    }

    /// The trusts a view covers: one (if seen) or all.
    fn selected<'a>(
        &'a self,
        trust: Option<&'a OdsCode>,
    ) -> impl Iterator<Item = (&'a OdsCode, &'a TrustState)> + Clone {
        self.trusts
            .iter()
            .filter(move |(code, _)| trust.is_none_or(|t| t == *code))
    }

    /// Per trust covered (in code order), the money events in force: the events that make up
    /// its money figures, which [`money_parts`] splits into each one's part.
    pub fn money_events(&self, trust: Option<&OdsCode>) -> Vec<(OdsCode, Vec<EventId>)> {
        self.selected(trust)
            .map(|(c, t)| (c.clone(), t.evidence.money_events()))
            .filter(|(_, ids)| !ids.is_empty())
            .collect()
    }

    /// Per trust covered (in code order), the lost-patient events in force.
    pub fn lost_events(&self, trust: Option<&OdsCode>) -> Vec<(OdsCode, Vec<EventId>)> {
        self.selected(trust)
            .map(|(c, t)| (c.clone(), t.evidence.lost_events()))
            .filter(|(_, ids)| !ids.is_empty())
            .collect()
    }

    /// The events in force (of any trust) that corroborate, dispute or otherwise relate to
    /// `id`, in trust and then linking-event order.
    pub fn links_to(&self, id: &EventId) -> Vec<EvidenceLink> {
        self.trusts
            .values()
            .flat_map(|t| t.evidence.links_to(id))
            .collect()
    }

    pub fn lost_patients(&self, trust: Option<&OdsCode>) -> LostPatientsView {
        lost::view(
            self.selected(trust).map(|(c, t)| (c.as_str(), &t.lost)),
            self.as_at,
        )
    }

    pub fn money(&self, trust: Option<&OdsCode>) -> MoneyView {
        money::view(self.selected(trust).map(|(c, t)| (c.as_str(), &t.money)))
    }

    /// Per-trust rollout, plus the programmes that concern the trusts covered: with a trust,
    /// the programmes its events name; without, every programme.
    pub fn rollout(&self, trust: Option<&OdsCode>) -> RolloutView {
        rollout::view(
            self.selected(trust).map(|(c, t)| (c, &t.rollout)),
            self.trusts.iter().map(|(c, t)| (c, &t.rollout)),
            &self.programmes,
            trust.is_some(),
            self.as_at,
        )
    }

    pub fn incidents(&self, trust: Option<&OdsCode>) -> IncidentsView {
        incidents::view(
            self.selected(trust)
                .map(|(c, t)| (c.as_str(), &t.incidents)),
        )
    }

    /// The sources and links behind each trust's figure groups (see the `evidence` module).
    pub fn evidence(&self, trust: Option<&OdsCode>) -> EvidenceView {
        evidence::view(
            self.trusts.values().map(|t| &t.evidence),
            self.selected(trust).map(|(c, t)| (c.as_str(), &t.evidence)),
        )
    }

    /// Per trust and month, usage beside burden, with the `struggle_read_as_success` marks.
    pub fn usage_burden(&self, trust: Option<&OdsCode>) -> UsageBurdenView {
        UsageBurdenView {
            trusts: self
                .claims
                .iter()
                .filter(|(c, _)| trust.is_none_or(|t| t == *c))
                .map(|(c, s)| (c.to_string(), claims::trust_usage_burden(s)))
                .filter(|(_, u)| !u.months.is_empty())
                .collect(),
        }
    }

    /// Per trust and point of delivery, activity against its baseline by month since go-live,
    /// the shortfall priced with `tariffs` beside the income at risk of the same months, and the
    /// validation burn-down (see the `recovery` module); with `Align::GoLive`, every series on
    /// weeks since its trust's own go-live too.
    pub fn recovery(
        &self,
        tariffs: &Tariffs,
        rules: &WarningRules,
        trust: Option<&OdsCode>,
        align: Align,
    ) -> RecoveryView {
        RecoveryView {
            align,
            tariffs: tariffs.clone(),
            trusts: self
                .recovery
                .iter()
                .filter(|(c, _)| trust.is_none_or(|t| t == *c))
                .map(|(c, s)| {
                    let r = self.trust_recovery(c, s, tariffs, rules, align);
                    (c.to_string(), r)
                })
                .collect(),
        }
    }

    fn trust_recovery(
        &self,
        code: &OdsCode,
        s: &recovery::RecoveryState,
        tariffs: &Tariffs,
        rules: &WarningRules,
        align: Align,
    ) -> TrustRecovery {
        let t = self.trusts.get(code);
        let go_live = t.and_then(|t| rollout::trust_view(&t.rollout, self.as_at).go_live);
        let money = t.map(|t| money::trust_view(&t.money)).unwrap_or_default();
        let input = recovery::TrustInput {
            state: s,
            go_live,
            money: &money,
        };
        recovery::trust_recovery(&input, tariffs, rules.stall_rule(), align)
    }

    pub fn deferred_features(&self, trust: Option<&OdsCode>) -> DeferredView {
        deferred::view(self.selected(trust).map(|(c, t)| (c.as_str(), &t.deferred)))
    }

    /// Per programme, the coverage of each member trust (rostered, or with a trust-scope
    /// rollout status for it): reporting, silent or dark. With `trust`, only that trust, in the
    /// programmes it belongs to.
    pub fn coverage(&self, rules: &WarningRules, trust: Option<&OdsCode>) -> CoverageView {
        let suspended: BTreeMap<&OdsCode, _> = self
            .trusts
            .iter()
            .map(|(c, t)| (c, lost::reporting_view(&t.lost.reporting).suspended))
            .collect();
        let inputs = self
            .trusts
            .iter()
            .map(|(c, t)| {
                let live = rollout::trust_view(&t.rollout, self.as_at).live;
                (c.as_str(), coverage_input(t, &suspended[c], live))
            })
            .collect();
        coverage::view(
            rules.silent_after_weeks,
            &self.rosters,
            &inputs,
            trust.map(OdsCode::as_str),
            self.as_at,
        )
    }

    /// Fired rules per trust, and programme-level warnings. The programme rule always looks at
    /// every trust (it is about the programme), but only programmes of the covered trusts are
    /// shown when `trust` is given.
    pub fn warnings(&self, rules: &WarningRules, trust: Option<&OdsCode>) -> WarningsView {
        let mut all = BTreeMap::new();
        for (code, t) in &self.trusts {
            let (lost, _) = lost::trust_view(&t.lost, self.as_at);
            let rollout = rollout::trust_view(&t.rollout, self.as_at);
            let struggle = self.claims.get(code).map_or_else(Vec::new, |c| {
                claims::claims_on_struggle(c, rules.claim_on_struggle_weeks)
            });
            let recovery = self
                .recovery
                .get(code)
                .map(|s| self.trust_recovery(code, s, &Tariffs::default(), rules, Align::Calendar));
            let facts = warnings::TrustFacts {
                recovery: recovery.as_ref(),
                rollout: &rollout,
                money: &money::trust_view(&t.money),
                lost: &lost,
                incidents: &incidents::trust_view(&t.incidents),
                claims_on_struggle: &struggle,
            };
            let mut w = warnings::evaluate_trust(rules, &facts);
            let input = coverage_input(t, &lost.reporting.suspended, rollout.live);
            let c = coverage::trust_coverage(rules.silent_after_weeks, Some(&input), self.as_at);
            warnings::apply_coverage(&mut w, c.state);
            all.insert(code.to_string(), w);
        }
        let mut programmes = warnings::evaluate_programmes(rules, &all);
        let mut trusts = all;
        if let Some(t) = trust {
            trusts.retain(|code, _| code == t.as_str());
            let mine: BTreeSet<&str> = trusts
                .values()
                .filter_map(|w| w.programme.as_deref())
                .collect();
            programmes.retain(|p, _| mine.contains(p.as_str()));
        }
        let mut total = WarningsTotals::default();
        for (code, w) in &trusts {
            total.trusts += 1;
            total.trusts_with_warnings += u64::from(!w.warnings.is_empty());
            total.warnings += w.warnings.len() as u64;
            total.critical += w
                .warnings
                .iter()
                .filter(|x| x.severity == Severity::Critical)
                .count() as u64;
            if w.halt_recommended {
                total.halt_recommended.push(code.clone());
            }
        }
        total.programme_warnings = programmes.values().map(|v| v.len() as u64).sum();
        let mut view = WarningsView {
            as_at: self.as_at,
            rules: rules.clone(),
            trusts,
            programmes,
            total,
        };
        if let Some(s) = &self.sourced {
            warnings::mark_synthetic_only(&mut view, &s.warnings(rules, trust));
        }
        view
    }

    /// A versioned JSON snapshot for snapshots: `{"format", "version", "last_seq",
    /// "projections"}`. Deterministic: equal projections give equal bytes.
    pub fn to_snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * 1024);
        out.extend_from_slice(SNAPSHOT_FORMAT.as_bytes());
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.last_seq.to_le_bytes());
        // Plain data cannot fail to encode into memory; if it did, no snapshot could ever be
        // trusted, so this is a programmer error.
        bincode::serde::encode_into_std_write(self, &mut out, bincode::config::standard())
            .expect("projections always encode");
        out
    }

    /// Reads a snapshot written by [`Self::to_snapshot`] of the same [`SNAPSHOT_VERSION`].
    pub fn from_snapshot(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let Some(rest) = bytes.strip_prefix(SNAPSHOT_FORMAT.as_bytes()) else {
            return Err(SnapshotError::NotASnapshot(format!(
                "it does not start with `{SNAPSHOT_FORMAT}` (version 1 snapshots were JSON)"
            )));
        };
        if bytes.len() < SNAPSHOT_HEADER_BYTES {
            return Err(SnapshotError::NotASnapshot(format!(
                "{} bytes, shorter than its header",
                bytes.len()
            )));
        }
        let version = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
        if version != SNAPSHOT_VERSION {
            return Err(SnapshotError::UnsupportedVersion {
                found: version,
                expected: SNAPSHOT_VERSION,
            });
        }
        let last_seq = u64::from_le_bytes(rest[4..12].try_into().expect("8 bytes"));
        let body = &rest[12..];
        let (p, used): (Projections, usize) =
            bincode::serde::decode_from_slice(body, bincode::config::standard())
                .map_err(|e| SnapshotError::Corrupt(e.to_string()))?;
        if used != body.len() {
            return Err(SnapshotError::Corrupt(format!(
                "{} bytes after the state",
                body.len() - used
            )));
        }
        if p.last_seq != last_seq {
            return Err(SnapshotError::Corrupt(format!(
                "header says last_seq {} but the state says {}",
                last_seq, p.last_seq
            )));
        }
        Ok(p)
    }
}
