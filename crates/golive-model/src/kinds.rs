//! The incident kinds and their typed `data`. Each data struct refuses unknown fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::decode::ObjectOnly;
use crate::types::{PatientRef, Pence, Period, utc};

/// Declares a wire enum: snake_case names, `as_str`, `ALL` and a one-line list for messages.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( #[serde(rename = $s)] $variant ),+
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const NAMES: &'static str = concat!($($s, " "),+);
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

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
    /// NHS incident-reporting harm levels, in increasing order.
    Harm { None => "none", Low => "low", Moderate => "moderate", Severe => "severe", Death => "death" }
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
}

impl HarmCounts {
    pub fn total(&self) -> u64 {
        self.none
            .saturating_add(self.low)
            .saturating_add(self.moderate)
            .saturating_add(self.severe)
            .saturating_add(self.death)
    }
    pub fn add(&mut self, o: &HarmCounts) {
        self.none = self.none.saturating_add(o.none);
        self.low = self.low.saturating_add(o.low);
        self.moderate = self.moderate.saturating_add(o.moderate);
        self.severe = self.severe.saturating_add(o.severe);
        self.death = self.death.saturating_add(o.death);
    }
    pub fn sub(&mut self, o: &HarmCounts) {
        self.none = self.none.saturating_sub(o.none);
        self.low = self.low.saturating_sub(o.low);
        self.moderate = self.moderate.saturating_sub(o.moderate);
        self.severe = self.severe.saturating_sub(o.severe);
        self.death = self.death.saturating_sub(o.death);
    }
    pub fn bump(&mut self, h: Harm) {
        match h {
            Harm::None => self.none += 1,
            Harm::Low => self.low += 1,
            Harm::Moderate => self.moderate += 1,
            Harm::Severe => self.severe += 1,
            Harm::Death => self.death += 1,
        }
    }
    pub fn unbump(&mut self, h: Harm) {
        let c = match h {
            Harm::None => &mut self.none,
            Harm::Low => &mut self.low,
            Harm::Moderate => &mut self.moderate,
            Harm::Severe => &mut self.severe,
            Harm::Death => &mut self.death,
        };
        *c = c.saturating_sub(1);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarmReview {
    pub cases_reviewed: u64,
    #[serde(deserialize_with = "crate::decode::object_only")]
    pub harm: HarmCounts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reporting {
    pub dataset: Dataset,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraCost {
    pub category: CostCategory,
    pub amount_pence: Pence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeAtRisk {
    pub category: IncomeCategory,
    pub amount_pence: Pence,
    pub period: Period,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeRecovered {
    pub amount_pence: Pence,
    pub period: Period,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<IncomeCategory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractPenalty {
    pub commissioner: String,
    pub amount_pence: Pence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
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
        })
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
