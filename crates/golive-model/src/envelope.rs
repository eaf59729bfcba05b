//! The envelope every event travels in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::kinds::{EventBody, Kind};
use crate::types::{CollectorId, EventId, OdsCode, utc};

/// The only schema version this build reads and writes.
pub const SCHEMA_VERSION: u16 = 1;

/// How sure the publisher is of a figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Reported,
    Estimated,
    Validated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Estimated => "estimated",
            Status::Validated => "validated",
        }
    }
}

/// Where a figure was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    BoardPaper,
    Foi,
    Press,
    AuditReport,
    System,
    Manual,
}

impl SourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::BoardPaper => "board_paper",
            SourceType::Foi => "foi",
            SourceType::Press => "press",
            SourceType::AuditReport => "audit_report",
            SourceType::System => "system",
            SourceType::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(rename = "type")]
    pub source_type: SourceType,
    #[serde(rename = "ref")]
    pub reference: String,
}

/// A validated event. Field order here is the canonical JSON order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope {
    pub event_id: EventId,
    pub trust: OdsCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub collector: CollectorId,
    pub collector_seq: u64,
    #[serde(with = "utc")]
    pub occurred_at: DateTime<Utc>,
    #[serde(with = "utc")]
    pub recorded_at: DateTime<Utc>,
    pub schema: u16,
    #[serde(flatten)]
    pub body: EventBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<EventId>,
}

impl Envelope {
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    /// The NATS subject this event is published on: `golive.events.<TRUST>.<kind>`.
    pub fn subject(&self) -> String {
        format!("golive.events.{}.{}", self.trust, self.kind())
    }
}
