//! The incident kinds and their typed `data`. Each data struct refuses unknown fields.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::decode::ObjectOnly;
use crate::types::{IsoWeek, OdsCode, PatientRef, Pence, Period, day, utc};

wire_enum!(
    /// The kind of an event; also the last token of its NATS subject.
    Kind {
        RolloutStatus => "rollout_status",
        PatientLost => "patient_lost",
        PatientTraced => "patient_traced",
        WaitingListDiscrepancy => "waiting_list_discrepancy",
        HarmReview => "harm_review",
        ReportingSuspended => "reporting_suspended",
        ReportingResumed => "reporting_resumed",
        ExtraCost => "extra_cost",
        IncomeAtRisk => "income_at_risk",
        IncomeRecovered => "income_recovered",
        ContractPenalty => "contract_penalty",
        Outage => "outage",
        SafetyIncident => "safety_incident",
        FeatureDeferred => "feature_deferred",
        ProgrammeRoster => "programme_roster",
        AssuranceClaim => "assurance_claim",
        UsageReported => "usage_reported",
        Burden => "burden",
        RecoveryPlan => "recovery_plan",
        ActivityBaseline => "activity_baseline",
        ActivityActual => "activity_actual",
        PtlValidation => "ptl_validation",
        TrustKey => "trust_key",
    }
);

wire_enum!(
    /// Where a rollout stands.
    RolloutState {
        Planned => "planned",
        GoLive => "go_live",
        Paused => "paused",
        Resumed => "resumed",
        Halted => "halted",
        Withdrawn => "withdrawn",
        Stabilised => "stabilised",
        FitToDeploy => "fit_to_deploy",
    }
);

wire_enum!(
    /// Whether a rollout status applies to one trust or to the whole programme.
    RolloutScope { Trust => "trust", Programme => "programme" }
);

wire_enum!(
    /// Waiting-list pathways.
    Pathway {
        Rtt18wk => "rtt_18wk",
        Cancer2ww => "cancer_2ww",
        Outpatient13wk => "outpatient_13wk",
        Inpatient26wk => "inpatient_26wk",
        Diagnostic6wk => "diagnostic_6wk",
        FollowUp => "follow_up",
    }
);

wire_enum!(
    /// What tracing a lost patient found.
    TraceOutcome {
        StillWaiting => "still_waiting",
        AlreadyTreated => "already_treated",
        DuplicateRecord => "duplicate_record",
        Discharged => "discharged",
        Deceased => "deceased",
    }
);

wire_enum!(
    /// NHS incident-reporting harm levels, in increasing order after `unknown`: not yet graded,
    /// which is never `none` and never compares as at least any graded level's harm (it sorts
    /// first, so `harm >= Harm::Moderate` is false for it; ask [`Harm::is_graded`]).
    Harm {
        Unknown => "unknown",
        None => "none",
        Low => "low",
        Moderate => "moderate",
        Severe => "severe",
        Death => "death",
    }
);

impl Harm {
    pub fn is_graded(self) -> bool {
        self != Harm::Unknown
    }
}

wire_enum!(
    /// What the counts of a harm review grade: harm that happened, or the risk of it.
    Assessment { ActualHarm => "actual_harm", RiskOfHarm => "risk_of_harm" }
);

wire_enum!(
    /// Where a contract penalty stands. Only `levied` is money the trust pays.
    PenaltyState { Threatened => "threatened", Levied => "levied", Waived => "waived" }
);

wire_enum!(
    /// National datasets a trust submits.
    Dataset { Rtt => "rtt", Cancer => "cancer", Ae => "ae", Sus => "sus" }
);

wire_enum!(
    /// What extra money was spent on.
    CostCategory {
        TemporaryStaff => "temporary_staff",
        Validation => "validation",
        Contractors => "contractors",
        ExtraClinics => "extra_clinics",
        Remediation => "remediation",
        Other => "other",
        DeploymentCharge => "deployment_charge",
    }
);

wire_enum!(
    /// Why income is at risk.
    IncomeCategory {
        LostActivity => "lost_activity",
        CorrectableDataEntry => "correctable_data_entry",
        Misclassification => "misclassification",
        Unbilled => "unbilled",
    }
);

wire_enum!(
    /// Whether a safety incident is still open.
    IncidentState { Open => "open", Closed => "closed" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutStatus {
    pub programme: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    pub status: RolloutState,
    #[serde(default = "default_scope")]
    pub scope: RolloutScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn default_scope() -> RolloutScope {
    RolloutScope::Trust
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientLost {
    pub patient_ref: PatientRef,
    pub pathway: Pathway,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_via: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientTraced {
    pub patient_ref: PatientRef,
    pub outcome: TraceOutcome,
    pub harm: Harm,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitingListDiscrepancy {
    pub pathway: Pathway,
    /// Records on the list.
    pub records: u64,
    /// Distinct patients behind those records.
    pub unique_patients: u64,
    /// Patients over the pathway's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaches: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarmCounts {
    #[serde(default)]
    pub none: u64,
    #[serde(default)]
    pub low: u64,
    #[serde(default)]
    pub moderate: u64,
    #[serde(default)]
    pub severe: u64,
    #[serde(default)]
    pub death: u64,
    /// Schema 2: reviewed cases not yet graded. A review's canonical bytes leave it out when 0
    /// (see [`HarmReview`]), so a schema-1 review keeps its bytes.
    #[serde(default)]
    pub unknown: u64,
}

/// The canonical form of a review's counts: `unknown` only when not 0.
fn serialize_review_counts<S: serde::Serializer>(h: &HarmCounts, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("HarmCounts", 6)?;
    st.serialize_field("none", &h.none)?;
    st.serialize_field("low", &h.low)?;
    st.serialize_field("moderate", &h.moderate)?;
    st.serialize_field("severe", &h.severe)?;
    st.serialize_field("death", &h.death)?;
    if h.unknown != 0 {
        st.serialize_field("unknown", &h.unknown)?;
    }
    st.end()
}

impl HarmCounts {
    fn counts(&self) -> [u64; 6] {
        [
            self.none,
            self.low,
            self.moderate,
            self.severe,
            self.death,
            self.unknown,
        ]
    }
    fn counts_mut(&mut self) -> [&mut u64; 6] {
        [
            &mut self.none,
            &mut self.low,
            &mut self.moderate,
            &mut self.severe,
            &mut self.death,
            &mut self.unknown,
        ]
    }
    /// Every case counted, graded or not.
    pub fn total(&self) -> u64 {
        self.counts().iter().fold(0u64, |a, n| a.saturating_add(*n))
    }
    pub fn add(&mut self, o: &HarmCounts) {
        for (c, n) in self.counts_mut().into_iter().zip(o.counts()) {
            *c = c.saturating_add(n);
        }
    }
    pub fn sub(&mut self, o: &HarmCounts) {
        for (c, n) in self.counts_mut().into_iter().zip(o.counts()) {
            *c = c.saturating_sub(n);
        }
    }
    fn slot(&mut self, h: Harm) -> &mut u64 {
        match h {
            Harm::Unknown => &mut self.unknown,
            Harm::None => &mut self.none,
            Harm::Low => &mut self.low,
            Harm::Moderate => &mut self.moderate,
            Harm::Severe => &mut self.severe,
            Harm::Death => &mut self.death,
        }
    }
    pub fn bump(&mut self, h: Harm) {
        *self.slot(h) += 1;
    }
    pub fn unbump(&mut self, h: Harm) {
        let c = self.slot(h);
        *c = c.saturating_sub(1);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarmReview {
    pub cases_reviewed: u64,
    #[serde(
        deserialize_with = "crate::decode::object_only",
        serialize_with = "serialize_review_counts"
    )]
    pub harm: HarmCounts,
    /// Schema 2. Absent: `actual_harm` (what schema-1 reviews meant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Assessment>,
}

impl HarmReview {
    pub fn assessment(&self) -> Assessment {
        self.assessment.unwrap_or(Assessment::ActualHarm)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reporting {
    pub dataset: Dataset,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The time a money figure covers: one of the period forms of schema 2 (see docs/EVENTS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// One month.
    Month(Period),
    /// A range of months, both included; the amount is spread evenly over them.
    Months { from: Period, to: Period },
    /// Cumulative since go-live as at a date: replaces the earlier to-date figure of the same
    /// trust, kind and category.
    ToDate { as_at: NaiveDate },
}

/// The period fields every money kind has in schema 2, in canonical order after the kind's own.
macro_rules! money_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),+ $(,)? } $($extra:tt)*) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)+
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub period_from: Option<Period>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub period_to: Option<Period>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub to_date: Option<bool>,
            #[serde(default, with = "day::option", skip_serializing_if = "Option::is_none")]
            pub as_at: Option<NaiveDate>,
            $($extra)*
        }
        impl $name {
            /// The period form, once validated (see `validate.rs`); `None` when the event names
            /// no period and takes the month of `occurred_at`.
            pub fn span(&self) -> Option<Span> {
                span(self.period, self.period_from, self.period_to, self.to_date, self.as_at)
            }
            /// The period fields as given, for validation.
            pub(crate) fn period_fields(&self) -> PeriodFields {
                PeriodFields {
                    period: self.period,
                    period_from: self.period_from,
                    period_to: self.period_to,
                    to_date: self.to_date,
                    as_at: self.as_at,
                }
            }
        }
    };
}

/// The period fields of a money event as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeriodFields {
    pub period: Option<Period>,
    pub period_from: Option<Period>,
    pub period_to: Option<Period>,
    pub to_date: Option<bool>,
    pub as_at: Option<NaiveDate>,
}

fn span(
    period: Option<Period>,
    from: Option<Period>,
    to: Option<Period>,
    to_date: Option<bool>,
    as_at: Option<NaiveDate>,
) -> Option<Span> {
    match (period, from, to, to_date, as_at) {
        (Some(p), ..) => Some(Span::Month(p)),
        (None, Some(from), Some(to), ..) => Some(Span::Months { from, to }),
        (None, None, None, Some(true), Some(as_at)) => Some(Span::ToDate { as_at }),
        _ => None,
    }
}

money_struct!(ExtraCost {
    category: CostCategory,
    amount_pence: Pence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// Schema 2. Without any period field the cost falls in the month of `occurred_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period: Option<Period>,
});

money_struct!(IncomeAtRisk {
    category: IncomeCategory,
    amount_pence: Pence,
    /// Required in schema 1; in schema 2 one of the period forms is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period: Option<Period>,
});

money_struct!(IncomeRecovered {
    amount_pence: Pence,
    /// Required in schema 1; in schema 2 one of the period forms is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    category: Option<IncomeCategory>,
});

money_struct!(ContractPenalty {
    commissioner: String,
    amount_pence: Pence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period: Option<Period>,
}
    /// Required in schema 2; a schema-1 penalty reads as `levied` (see [`ContractPenalty::state`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PenaltyState>,
);

impl ContractPenalty {
    /// Where the penalty stands: schema-1 penalties (no `state`) were counted as levied.
    pub fn state(&self) -> PenaltyState {
        self.state.unwrap_or(PenaltyState::Levied)
    }
}

/// The trusts a programme is deploying to, as at the event (schema 2). The latest roster of a
/// programme replaces its earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeRoster {
    pub programme: String,
    pub trusts: Vec<OdsCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

wire_enum!(
    /// Who made an assurance claim (schema 2).
    ClaimantType {
        TrustBoard => "trust_board",
        Supplier => "supplier",
        Programme => "programme",
        Department => "department",
        Minister => "minister",
        Regulator => "regulator",
    }
);

wire_enum!(
    /// What an assurance claim asserts (schema 2). docs/EVENTS.md says what evidence each is
    /// held against.
    ClaimType {
        SuccessfulGoLive => "successful_go_live",
        Stable => "stable",
        FitToDeploy => "fit_to_deploy",
        NoClinicalHarm => "no_clinical_harm",
        NotSystemRelated => "not_system_related",
        BenefitsRealised => "benefits_realised",
        AdoptionHigh => "adoption_high",
    }
);

impl ClaimType {
    /// The claims that read the go-live as a success (the struggle rule looks at these).
    pub fn is_success(self) -> bool {
        !matches!(
            self,
            ClaimType::NoClinicalHarm | ClaimType::NotSystemRelated
        )
    }
}

wire_enum!(
    /// The figures offered as proof of use (schema 2). `notes_electronic_pct` is a percentage.
    UsageMetric {
        ActiveUsers => "active_users",
        Logins => "logins",
        OrdersPlaced => "orders_placed",
        NotesElectronicPct => "notes_electronic_pct",
        ResultsViewed => "results_viewed",
        PrescriptionsElectronic => "prescriptions_electronic",
    }
);

wire_enum!(
    /// What one burden figure measures (schema 2): the `data` field of the same name.
    BurdenMetric {
        ExtraStaffHours => "extra_staff_hours",
        ExtraStaff => "extra_staff",
        AgencyFteTenths => "agency_fte_tenths",
        OvertimeHours => "overtime_hours",
        TaskTimeRatioPct => "task_time_ratio_pct",
        PaperFallbackHours => "paper_fallback_hours",
        Workarounds => "workarounds",
        ValidationFteTenths => "validation_fte_tenths",
    }
);

wire_enum!(
    /// Whether a trust's recovery plan is still being worked (schema 2).
    PlanState { Open => "open", Closed => "closed" }
);

/// Who made a claim: the kind of body and its name as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claimant {
    #[serde(rename = "type")]
    pub claimant_type: ClaimantType,
    pub name: String,
}

/// A public statement that the go-live went well (schema 2). Its `recorded_at` is when it was
/// made public: the date the ledger holds it against what was known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssuranceClaim {
    pub claimant: Claimant,
    pub claim: ClaimType,
    /// The words, as published.
    pub statement: String,
    /// `trust`: the event's trust; `programme`: every trust of `programme`.
    #[serde(default = "default_scope")]
    pub scope: RolloutScope,
    /// Required with `scope: programme`, and only then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme: Option<String>,
}

/// A usage figure offered as proof of success, for one month (schema 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageReported {
    pub metric: UsageMetric,
    pub value: u64,
    pub period: Period,
}

/// What using the system cost the trust's staff in one month (schema 2): any of the figures,
/// at least one. Integers only; `task_time_ratio_pct` 400 means a task took four times as long
/// as before the go-live (`task` names it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burden {
    pub period: Period,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_staff_hours: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_staff: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency_fte_tenths: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overtime_hours: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_time_ratio_pct: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_fallback_hours: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workarounds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_fte_tenths: Option<u64>,
    /// The task `task_time_ratio_pct` measures, e.g. `outpatient booking`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
}

impl Burden {
    /// Every figure, in [`BurdenMetric::ALL`] order; `None` where not reported.
    pub fn figures(&self) -> [(BurdenMetric, Option<u64>); 8] {
        [
            (BurdenMetric::ExtraStaffHours, self.extra_staff_hours),
            (BurdenMetric::ExtraStaff, self.extra_staff),
            (BurdenMetric::AgencyFteTenths, self.agency_fte_tenths),
            (BurdenMetric::OvertimeHours, self.overtime_hours),
            (BurdenMetric::TaskTimeRatioPct, self.task_time_ratio_pct),
            (BurdenMetric::PaperFallbackHours, self.paper_fallback_hours),
            (BurdenMetric::Workarounds, self.workarounds),
            (
                BurdenMetric::ValidationFteTenths,
                self.validation_fte_tenths,
            ),
        ]
    }

    /// A burden of one month with no figure yet (set the fields afterwards).
    pub fn new(period: Period) -> Self {
        Self {
            period,
            extra_staff_hours: None,
            extra_staff: None,
            agency_fte_tenths: None,
            overtime_hours: None,
            task_time_ratio_pct: None,
            paper_fallback_hours: None,
            workarounds: None,
            validation_fte_tenths: None,
            task: None,
        }
    }
}

/// A trust's own recovery plan after a go-live (schema 2). The latest event of a plan (by
/// `plan` name) says whether it is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryPlan {
    pub plan: String,
    pub state: PlanState,
    /// Problems the plan addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problems: Option<u64>,
    /// When it was due to be complete.
    #[serde(default, with = "day::option", skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

wire_enum!(
    /// What activity is counted in (schema 2): the points of delivery of NHS activity data.
    PointOfDelivery {
        OutpatientFirst => "outpatient_first",
        OutpatientFollowUp => "outpatient_follow_up",
        ElectiveInpatient => "elective_inpatient",
        DayCase => "day_case",
        NonElective => "non_elective",
        AeAttendance => "ae_attendance",
        TheatreSession => "theatre_session",
        DiagnosticTest => "diagnostic_test",
    }
);

wire_enum!(
    /// How complete an activity report is (schema 2).
    DataQuality { Complete => "complete", Partial => "partial", Estimated => "estimated" }
);

/// A trust's activity before its go-live, per month, at one point of delivery (schema 2): what
/// its activity after the go-live is measured against. The latest baseline of a point of
/// delivery (event time, then seq) is the one in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityBaseline {
    pub point_of_delivery: PointOfDelivery,
    /// Activity units per month (attendances, spells, sessions, tests).
    pub monthly_value: u64,
    /// The months the baseline was measured over, both included.
    pub baseline_from: Period,
    pub baseline_to: Period,
}

/// Activity delivered in one month or one ISO week at one point of delivery (schema 2): exactly
/// one of `period` and `week`. A later report of the same trust, point of delivery and month
/// (or week) replaces an earlier one in the recovery view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityActual {
    pub point_of_delivery: PointOfDelivery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub week: Option<IsoWeek>,
    /// Activity units in that month or week.
    pub value: u64,
    pub data_quality: DataQuality,
}

/// Where activity is reported for: a month or an ISO week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActivitySpan {
    Month(Period),
    Week(IsoWeek),
}

impl ActivityActual {
    /// The month or week reported, once validated (exactly one of them is given).
    pub fn span(&self) -> ActivitySpan {
        match (self.period, self.week) {
            (Some(p), _) => ActivitySpan::Month(p),
            (None, Some(w)) => ActivitySpan::Week(w),
            (None, None) => panic!("a validated activity_actual names a period or a week"),
        }
    }
}

/// A waiting-list (patient tracking list) validation report of one pathway, as at the event's
/// `occurred_at` (schema 2), as `waiting_list_discrepancy` is. Counts are records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PtlValidation {
    pub pathway: Pathway,
    /// Records on the list.
    pub on_list: u64,
    /// Records validated so far.
    pub validated: u64,
    /// Validated records removed as duplicates.
    pub removed_duplicate: u64,
    /// Validated records removed because the patient had already been treated.
    pub removed_treated: u64,
    /// Records whose clock start is not known.
    pub unknown_clock_start: u64,
    /// Records of patients waiting over 52 weeks.
    pub over_52_weeks: u64,
    /// Records still to be validated.
    pub remaining: u64,
}

wire_enum!(
    /// What a `trust_key` event does to a trust's keys.
    TrustKeyAction { Add => "add", Rotate => "rotate", Revoke => "revoke" }
);

wire_enum!(
    /// A trust's signature policy as a `trust_key` event sets it.
    SignaturesRule { Required => "required", Optional => "optional" }
);

/// A change to a trust's origin-signing keys, published by an admin identity (its signature
/// is checked by an admin key, not by the trust's): `add` a key; `rotate` to `key`, revoking
/// `replaces` from `revoked_at`; `revoke` `key` from `revoked_at`. A revoked key's signatures of
/// events recorded before `revoked_at` still count. Keys are written as `golive trust-key new`
/// prints them (`ODS+keyid+base64`), named after the event's trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustKeyChange {
    pub action: TrustKeyAction,
    pub key: String,
    /// `rotate`: the key it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// `rotate` and `revoke`: from when the old key's signatures stop counting.
    #[serde(default, with = "utc::option", skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// The trust's signature policy from this event on, if it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<SignaturesRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    /// What was down: `trust`, `site` or a system name.
    pub scope: String,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(with = "utc")]
    pub start: DateTime<Utc>,
    /// `None` while the outage goes on.
    #[serde(default, with = "utc::option", skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    #[serde(default)]
    pub paper_fallback: bool,
    #[serde(default)]
    pub major_incident: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyIncident {
    /// The trust's own incident reference (e.g. its Datix number).
    pub local_ref: String,
    pub harm: Harm,
    #[serde(default)]
    pub serious_incident: bool,
    #[serde(default = "default_incident_state")]
    pub state: IncidentState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn default_incident_state() -> IncidentState {
    IncidentState::Open
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureDeferred {
    pub feature: String,
    /// What had been promised: a release (`LC1`) or a date (`2008-06`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_for: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The kind of an event together with its typed data. On the wire: `"kind"` and `"data"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventBody {
    RolloutStatus(RolloutStatus),
    PatientLost(PatientLost),
    PatientTraced(PatientTraced),
    WaitingListDiscrepancy(WaitingListDiscrepancy),
    HarmReview(HarmReview),
    ReportingSuspended(Reporting),
    ReportingResumed(Reporting),
    ExtraCost(ExtraCost),
    IncomeAtRisk(IncomeAtRisk),
    IncomeRecovered(IncomeRecovered),
    ContractPenalty(ContractPenalty),
    Outage(Outage),
    SafetyIncident(SafetyIncident),
    FeatureDeferred(FeatureDeferred),
    ProgrammeRoster(ProgrammeRoster),
    AssuranceClaim(AssuranceClaim),
    UsageReported(UsageReported),
    Burden(Burden),
    RecoveryPlan(RecoveryPlan),
    ActivityBaseline(ActivityBaseline),
    ActivityActual(ActivityActual),
    PtlValidation(PtlValidation),
    TrustKey(TrustKeyChange),
}

impl EventBody {
    pub fn kind(&self) -> Kind {
        match self {
            EventBody::RolloutStatus(_) => Kind::RolloutStatus,
            EventBody::PatientLost(_) => Kind::PatientLost,
            EventBody::PatientTraced(_) => Kind::PatientTraced,
            EventBody::WaitingListDiscrepancy(_) => Kind::WaitingListDiscrepancy,
            EventBody::HarmReview(_) => Kind::HarmReview,
            EventBody::ReportingSuspended(_) => Kind::ReportingSuspended,
            EventBody::ReportingResumed(_) => Kind::ReportingResumed,
            EventBody::ExtraCost(_) => Kind::ExtraCost,
            EventBody::IncomeAtRisk(_) => Kind::IncomeAtRisk,
            EventBody::IncomeRecovered(_) => Kind::IncomeRecovered,
            EventBody::ContractPenalty(_) => Kind::ContractPenalty,
            EventBody::Outage(_) => Kind::Outage,
            EventBody::SafetyIncident(_) => Kind::SafetyIncident,
            EventBody::FeatureDeferred(_) => Kind::FeatureDeferred,
            EventBody::ProgrammeRoster(_) => Kind::ProgrammeRoster,
            EventBody::AssuranceClaim(_) => Kind::AssuranceClaim,
            EventBody::UsageReported(_) => Kind::UsageReported,
            EventBody::Burden(_) => Kind::Burden,
            EventBody::RecoveryPlan(_) => Kind::RecoveryPlan,
            EventBody::ActivityBaseline(_) => Kind::ActivityBaseline,
            EventBody::ActivityActual(_) => Kind::ActivityActual,
            EventBody::PtlValidation(_) => Kind::PtlValidation,
            EventBody::TrustKey(_) => Kind::TrustKey,
        }
    }

    /// Parses `data` for `kind`, with the path of any bad field relative to `data`.
    pub(crate) fn from_data(
        kind: Kind,
        data: &serde_json::value::RawValue,
    ) -> Result<Self, serde_path_to_error::Error<serde_json::Error>> {
        fn p<'a, T: Deserialize<'a>>(
            raw: &'a serde_json::value::RawValue,
        ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
            // `data` is already known to be one well-formed JSON value: nothing to check after.
            crate::decode::from_str_tracked(raw.get()).map(|(ObjectOnly(t), _)| t)
        }
        Ok(match kind {
            Kind::RolloutStatus => EventBody::RolloutStatus(p(data)?),
            Kind::PatientLost => EventBody::PatientLost(p(data)?),
            Kind::PatientTraced => EventBody::PatientTraced(p(data)?),
            Kind::WaitingListDiscrepancy => EventBody::WaitingListDiscrepancy(p(data)?),
            Kind::HarmReview => EventBody::HarmReview(p(data)?),
            Kind::ReportingSuspended => EventBody::ReportingSuspended(p(data)?),
            Kind::ReportingResumed => EventBody::ReportingResumed(p(data)?),
            Kind::ExtraCost => EventBody::ExtraCost(p(data)?),
            Kind::IncomeAtRisk => EventBody::IncomeAtRisk(p(data)?),
            Kind::IncomeRecovered => EventBody::IncomeRecovered(p(data)?),
            Kind::ContractPenalty => EventBody::ContractPenalty(p(data)?),
            Kind::Outage => EventBody::Outage(p(data)?),
            Kind::SafetyIncident => EventBody::SafetyIncident(p(data)?),
            Kind::FeatureDeferred => EventBody::FeatureDeferred(p(data)?),
            Kind::ProgrammeRoster => EventBody::ProgrammeRoster(p(data)?),
            Kind::AssuranceClaim => EventBody::AssuranceClaim(p(data)?),
            Kind::UsageReported => EventBody::UsageReported(p(data)?),
            Kind::Burden => EventBody::Burden(p(data)?),
            Kind::RecoveryPlan => EventBody::RecoveryPlan(p(data)?),
            Kind::ActivityBaseline => EventBody::ActivityBaseline(p(data)?),
            Kind::ActivityActual => EventBody::ActivityActual(p(data)?),
            Kind::PtlValidation => EventBody::PtlValidation(p(data)?),
            Kind::TrustKey => EventBody::TrustKey(p(data)?),
        })
    }

    /// Writes the `data` entry of the envelope.
    pub(crate) fn serialize_data<M: serde::ser::SerializeMap>(
        &self,
        m: &mut M,
    ) -> Result<(), M::Error> {
        match self {
            EventBody::RolloutStatus(d) => m.serialize_entry("data", d),
            EventBody::PatientLost(d) => m.serialize_entry("data", d),
            EventBody::PatientTraced(d) => m.serialize_entry("data", d),
            EventBody::WaitingListDiscrepancy(d) => m.serialize_entry("data", d),
            EventBody::HarmReview(d) => m.serialize_entry("data", d),
            EventBody::ReportingSuspended(d) => m.serialize_entry("data", d),
            EventBody::ReportingResumed(d) => m.serialize_entry("data", d),
            EventBody::ExtraCost(d) => m.serialize_entry("data", d),
            EventBody::IncomeAtRisk(d) => m.serialize_entry("data", d),
            EventBody::IncomeRecovered(d) => m.serialize_entry("data", d),
            EventBody::ContractPenalty(d) => m.serialize_entry("data", d),
            EventBody::Outage(d) => m.serialize_entry("data", d),
            EventBody::SafetyIncident(d) => m.serialize_entry("data", d),
            EventBody::FeatureDeferred(d) => m.serialize_entry("data", d),
            EventBody::ProgrammeRoster(d) => m.serialize_entry("data", d),
            EventBody::AssuranceClaim(d) => m.serialize_entry("data", d),
            EventBody::UsageReported(d) => m.serialize_entry("data", d),
            EventBody::Burden(d) => m.serialize_entry("data", d),
            EventBody::RecoveryPlan(d) => m.serialize_entry("data", d),
            EventBody::ActivityBaseline(d) => m.serialize_entry("data", d),
            EventBody::ActivityActual(d) => m.serialize_entry("data", d),
            EventBody::PtlValidation(d) => m.serialize_entry("data", d),
            EventBody::TrustKey(d) => m.serialize_entry("data", d),
        }
    }

    /// The period form of a money event (`None` for other kinds, and for a money event that
    /// names no period: it falls in the month of `occurred_at`).
    pub fn span(&self) -> Option<Span> {
        match self {
            EventBody::ExtraCost(d) => d.span(),
            EventBody::IncomeAtRisk(d) => d.span(),
            EventBody::IncomeRecovered(d) => d.span(),
            EventBody::ContractPenalty(d) => d.span(),
            _ => None,
        }
    }

    /// The period fields of a money event as given, for validation.
    pub(crate) fn period_fields(&self) -> Option<PeriodFields> {
        match self {
            EventBody::ExtraCost(d) => Some(d.period_fields()),
            EventBody::IncomeAtRisk(d) => Some(d.period_fields()),
            EventBody::IncomeRecovered(d) => Some(d.period_fields()),
            EventBody::ContractPenalty(d) => Some(d.period_fields()),
            _ => None,
        }
    }

    /// The amount of money this event moves, if it is a money kind.
    pub fn amount(&self) -> Option<Pence> {
        match self {
            EventBody::ExtraCost(d) => Some(d.amount_pence),
            EventBody::IncomeAtRisk(d) => Some(d.amount_pence),
            EventBody::IncomeRecovered(d) => Some(d.amount_pence),
            EventBody::ContractPenalty(d) => Some(d.amount_pence),
            _ => None,
        }
    }
}

// Builders of the money kinds with no schema-2 period field (as schema 1 writes them); set the
// fields afterwards for the other forms.
impl ExtraCost {
    pub fn new(category: CostCategory, amount_pence: Pence, description: Option<String>) -> Self {
        Self {
            category,
            amount_pence,
            description,
            period: None,
            period_from: None,
            period_to: None,
            to_date: None,
            as_at: None,
        }
    }
}

impl IncomeAtRisk {
    pub fn new(category: IncomeCategory, amount_pence: Pence, period: Period) -> Self {
        Self {
            category,
            amount_pence,
            period: Some(period),
            period_from: None,
            period_to: None,
            to_date: None,
            as_at: None,
        }
    }
}

impl IncomeRecovered {
    pub fn new(amount_pence: Pence, period: Period, category: Option<IncomeCategory>) -> Self {
        Self {
            amount_pence,
            period: Some(period),
            category,
            period_from: None,
            period_to: None,
            to_date: None,
            as_at: None,
        }
    }
}

impl ContractPenalty {
    /// A penalty without `state` (schema 1: read as levied).
    pub fn new(commissioner: String, amount_pence: Pence, period: Option<Period>) -> Self {
        Self {
            commissioner,
            amount_pence,
            period,
            period_from: None,
            period_to: None,
            to_date: None,
            as_at: None,
            state: None,
        }
    }
}
