//! The envelope every event travels in, in both schemas.
//!
//! Schema 1 (the first release) and schema 2 (graded, plural sources; links between reports;
//! attribution) share one domain type. A schema-1 event is upcast when read (its optional single
//! `source` becomes a list of at most one, see [`upcast_schema1_source`]) and is written back in
//! exactly its schema-1 form, so its canonical bytes and chain hash never change.

use chrono::{DateTime, NaiveDate, Utc};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::kinds::{EventBody, Kind};
use crate::types::{CollectorId, EventId, OdsCode, utc};

/// The first schema: one optional, ungraded `source`.
pub const SCHEMA_1: u16 = 1;
/// The second schema: `sources`, `relates_to`, `attribution`, periods, penalty states, ...
pub const SCHEMA_2: u16 = 2;
/// The newest schema this build reads and writes. Every older one is read forever.
pub const SCHEMA_VERSION: u16 = SCHEMA_2;

wire_enum!(
    /// How sure the publisher is of the figures an event carries. Sums keep them apart: the
    /// headline counts `reported` and `validated`; `estimated` is shown beside it.
    Status {
        Reported => "reported",
        Estimated => "estimated",
        Validated => "validated",
    }
);

// By hand: `envelope_enum!` takes no attributes on variants, so `#[default]` cannot be derived.
#[allow(clippy::derivable_impls)]
impl Default for Status {
    fn default() -> Self {
        Status::Reported
    }
}

wire_enum!(
    /// What kind of evidence a source is. A written parliamentary answer is the government's
    /// account; a statement by an MP in a debate is an allegation.
    SourceType {
        BoardPaper => "board_paper",
        Foi => "foi",
        Press => "press",
        AuditReport => "audit_report",
        System => "system",
        Manual => "manual",
        RegulatorReport => "regulator_report",
        ParliamentAnswer => "parliament_answer",
        ParliamentDebate => "parliament_debate",
        Synthetic => "synthetic",
    }
);

impl SourceType {
    /// The types schema 1 knew. A schema-1 event may name only these.
    pub const SCHEMA_1: &'static [SourceType] = &[
        SourceType::BoardPaper,
        SourceType::Foi,
        SourceType::Press,
        SourceType::AuditReport,
        SourceType::System,
        SourceType::Manual,
    ];
}

wire_enum!(
    /// How an event relates to an earlier report.
    Relation {
        Corroborates => "corroborates",
        Disputes => "disputes",
        Restates => "restates",
    }
);

wire_enum!(
    /// Whether whoever is named blames the system for the harm.
    Stance {
        AttributesToSystem => "attributes_to_system",
        DeniesSystemCause => "denies_system_cause",
        Unattributed => "unattributed",
    }
);

/// Where a figure was published. `published_at` and `url` are schema 2 only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(rename = "type")]
    pub source_type: SourceType,
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(
        default,
        with = "crate::types::day::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub published_at: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A link to another report of the same fact (schema 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelatesTo {
    pub event_id: EventId,
    pub relation: Relation,
}

/// Who attributes the harm to what (schema 2). The attribution is itself a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribution {
    pub by: String,
    pub stance: Stance,
}

/// A validated event, of either schema. [`Envelope::canonical_bytes`] writes the schema's own
/// form (see the `Serialize` impl for the field order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub event_id: EventId,
    pub trust: OdsCode,
    pub site: Option<String>,
    pub collector: CollectorId,
    pub collector_seq: u64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub schema: u16,
    pub body: EventBody,
    /// Schema 2: one or more. Schema 1: at most one (its `source`).
    pub sources: Vec<Source>,
    pub status: Status,
    pub supersedes: Option<EventId>,
    pub relates_to: Option<RelatesTo>,
    pub attribution: Option<Attribution>,
}

/// The one upcast of schema 1: its optional single `source` is a list of at most one.
pub fn upcast_schema1_source(source: Option<Source>) -> Vec<Source> {
    source.into_iter().collect()
}

impl Envelope {
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    /// The NATS subject this event is published on: `golive.events.<TRUST>.<kind>`.
    pub fn subject(&self) -> String {
        format!("golive.events.{}.{}", self.trust, self.kind())
    }

    /// True when every source says the event is simulated.
    pub fn is_synthetic(&self) -> bool {
        !self.sources.is_empty()
            && self
                .sources
                .iter()
                .all(|s| s.source_type == SourceType::Synthetic)
    }
}

/// Canonical order: `event_id, trust, site?, collector, collector_seq, occurred_at,
/// recorded_at, schema, kind, data, source? (schema 1) | sources (schema 2), status,
/// supersedes?, relates_to?, attribution?`.
impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Time<'a>(&'a DateTime<Utc>);
        impl Serialize for Time<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                utc::serialize(self.0, s)
            }
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("event_id", &self.event_id)?;
        m.serialize_entry("trust", &self.trust)?;
        if let Some(site) = &self.site {
            m.serialize_entry("site", site)?;
        }
        m.serialize_entry("collector", &self.collector)?;
        m.serialize_entry("collector_seq", &self.collector_seq)?;
        m.serialize_entry("occurred_at", &Time(&self.occurred_at))?;
        m.serialize_entry("recorded_at", &Time(&self.recorded_at))?;
        m.serialize_entry("schema", &self.schema)?;
        m.serialize_entry("kind", &self.kind())?;
        self.body.serialize_data(&mut m)?;
        if self.schema == SCHEMA_1 {
            if let Some(source) = self.sources.first() {
                m.serialize_entry("source", source)?;
            }
        } else {
            m.serialize_entry("sources", &self.sources)?;
        }
        m.serialize_entry("status", &self.status)?;
        if let Some(id) = &self.supersedes {
            m.serialize_entry("supersedes", id)?;
        }
        if let Some(r) = &self.relates_to {
            m.serialize_entry("relates_to", r)?;
        }
        if let Some(a) = &self.attribution {
            m.serialize_entry("attribution", a)?;
        }
        m.end()
    }
}
