//! The evidence behind each line of a view (`?evidence=true`, `--evidence`; docs/API.md
//! "Evidence behind a figure"): for each row of the view's table, identified by its key columns,
//! the events in force that make it up, each with its sources, what it corrects and what it
//! disputes or corroborates, and for money its part of the figure in pence, the parts adding up
//! to the figure.
//!
//! The fold keeps only which events are in force per trust and figure group; the envelopes are
//! looked up when asked (the `lookup` the caller hands in: the store, or an export) and each
//! money event's part is recomputed by the fold's own code ([`golive_projections::money_parts`]).
//! So the evidence costs nothing until it is asked for, and it cannot disagree with the figures.

use std::collections::BTreeMap;

use golive_model::{Envelope, EventBody, EventId, Kind, OdsCode, RelatesTo};
use golive_projections::{MoneyView, Projections, TrustMoney, money_parts};
use serde::{Deserialize, Serialize};

use crate::table::{Cell, Table, text_of};
use crate::views::Tabular;

/// Events listed per line unless `evidence_limit` says otherwise.
pub const EVIDENCE_LIMIT_DEFAULT: usize = 100;
/// The most events listed per line in one answer: a figure made of more is paged.
pub const EVIDENCE_LIMIT_MAX: usize = 1000;
/// The measure of the per-trust line whose parts add up to the trust's net cost (headline).
pub const NET_COST: &str = "net_cost";

/// Which view's lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceOf {
    /// A line per row of the money table, and per trust a `net_cost` line.
    Money,
    /// A line per open case (a row of the lost-patients table).
    LostPatients,
}

/// Which events of each line an answer lists: `offset` events in, at most `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EvidencePage {
    pub offset: usize,
    pub limit: usize,
}

impl Default for EvidencePage {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: EVIDENCE_LIMIT_DEFAULT,
        }
    }
}

/// An event behind a line, as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceEvent {
    pub event_id: EventId,
    pub seq: u64,
    pub kind: Kind,
    /// Money: the event's part of the line's figure; the parts of a line add up to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_pence: Option<i64>,
    pub status: golive_model::Status,
    pub synthetic: bool,
    pub occurred_at: String,
    pub recorded_at: String,
    pub sources: Vec<golive_model::Source>,
    /// The event this one corrects (it stands in its place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<EventId>,
    /// The event this one corroborates, disputes or otherwise relates to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<RelatesTo>,
}

/// One line of the view and the events that make it up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineEvidence {
    /// The key columns of the line's row in the view's table and their values.
    pub line: BTreeMap<String, String>,
    /// Money: the line's figure, the sum of every event's part (listed or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_pence: Option<i64>,
    /// Events behind the line, all pages.
    pub events_total: usize,
    /// This page of them, in ledger order.
    pub events: Vec<EvidenceEvent>,
}

/// The evidence of one answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub offset: usize,
    pub limit: usize,
    pub lines: Vec<LineEvidence>,
}

/// An event the fold holds in force could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError<E: std::error::Error + 'static> {
    #[error("looking up event {event_id}: {source}")]
    Lookup {
        event_id: EventId,
        #[source]
        source: E,
    },
    #[error("event {0} is in force in the projections but not in the ledger")]
    Missing(EventId),
}

/// A record as the caller found it: its sequence and envelope.
pub type Found = (u64, Envelope);

/// What the evidence of an answer needs from the projections, taken from them at once (under
/// the ledger's lock, where the projections are the live ones): per trust covered, the events
/// in force, and for the lost-patients view the keys of its open cases by patient. Resolving it
/// ([`EvidencePlan::resolve`]) reads the events and needs no projections.
#[derive(Clone, Debug)]
pub struct EvidencePlan {
    of: EvidenceOf,
    trusts: Vec<PlannedTrust>,
}

#[derive(Clone, Debug)]
struct PlannedTrust {
    code: OdsCode,
    events: Vec<EventId>,
    /// Lost patients: each open case's row key, by patient.
    cases: BTreeMap<String, Vec<(String, String)>>,
}

impl EvidencePlan {
    /// The plan of `of`'s lines in `p`, for one trust or all.
    pub fn of(p: &Projections, of: EvidenceOf, trust: Option<&OdsCode>) -> Self {
        let per_trust = match of {
            EvidenceOf::Money => p.money_events(trust),
            EvidenceOf::LostPatients => p.lost_events(trust),
        };
        let trusts = per_trust
            .into_iter()
            .map(|(code, events)| {
                let cases = match of {
                    EvidenceOf::Money => BTreeMap::new(),
                    EvidenceOf::LostPatients => open_cases(p, &code),
                };
                PlannedTrust {
                    code,
                    events,
                    cases,
                }
            })
            .collect();
        Self { of, trusts }
    }

    /// Events the plan will look up.
    pub fn events(&self) -> usize {
        self.trusts.iter().map(|t| t.events.len()).sum()
    }

    /// The evidence, each event looked up with `lookup` (`Ok(None)`, not there, is an error:
    /// the fold and the log disagree).
    pub fn resolve<E: std::error::Error + 'static>(
        &self,
        page: EvidencePage,
        mut lookup: impl FnMut(&EventId) -> Result<Option<Found>, E>,
    ) -> Result<Evidence, EvidenceError<E>> {
        let mut lines: BTreeMap<Vec<(String, String)>, Line> = BTreeMap::new();
        for t in &self.trusts {
            let mut found = Vec::with_capacity(t.events.len());
            for id in &t.events {
                match lookup(id) {
                    Ok(Some(f)) => found.push(f),
                    Ok(None) => return Err(EvidenceError::Missing(*id)),
                    Err(source) => {
                        return Err(EvidenceError::Lookup {
                            event_id: *id,
                            source,
                        });
                    }
                }
            }
            match self.of {
                EvidenceOf::Money => money_lines(&t.code, &found, &mut lines),
                EvidenceOf::LostPatients => lost_lines(&t.cases, &found, &mut lines),
            }
        }
        Ok(Evidence {
            offset: page.offset,
            limit: page.limit,
            lines: lines
                .into_iter()
                .map(|(key, line)| line.paged(key, page))
                .collect(),
        })
    }
}

/// The evidence of `of`'s lines in `p` (one trust or all): [`EvidencePlan::of`], resolved.
pub fn evidence_of<E: std::error::Error + 'static>(
    p: &Projections,
    of: EvidenceOf,
    trust: Option<&OdsCode>,
    page: EvidencePage,
    lookup: impl FnMut(&EventId) -> Result<Option<Found>, E>,
) -> Result<Evidence, EvidenceError<E>> {
    EvidencePlan::of(p, of, trust).resolve(page, lookup)
}

/// A line being gathered: its events (with their parts) in ledger order.
#[derive(Default)]
struct Line {
    amount_pence: Option<i64>,
    events: BTreeMap<u64, (Option<i64>, EvidenceEvent)>,
}

impl Line {
    fn add(&mut self, f: &Found, part_pence: Option<i64>) {
        if let Some(p) = part_pence {
            let sum = self.amount_pence.get_or_insert(0);
            *sum = sum.saturating_add(p);
        }
        let e = self
            .events
            .entry(f.0)
            .or_insert_with(|| (None, event_of(f)));
        if let Some(p) = part_pence {
            e.0 = Some(e.0.unwrap_or(0).saturating_add(p));
        }
    }

    fn paged(self, key: Vec<(String, String)>, page: EvidencePage) -> LineEvidence {
        let events_total = self.events.len();
        LineEvidence {
            line: key.into_iter().collect(),
            amount_pence: self.amount_pence,
            events_total,
            events: self
                .events
                .into_values()
                .skip(page.offset)
                .take(page.limit)
                .map(|(part, mut e)| {
                    e.part_pence = part;
                    e
                })
                .collect(),
        }
    }
}

fn event_of((seq, e): &Found) -> EvidenceEvent {
    EvidenceEvent {
        event_id: e.event_id,
        seq: *seq,
        kind: e.kind(),
        part_pence: None,
        status: e.status,
        synthetic: e.is_synthetic(),
        occurred_at: golive_model::format_time(&e.occurred_at),
        recorded_at: golive_model::format_time(&e.recorded_at),
        sources: e.sources.clone(),
        supersedes: e.supersedes,
        relates_to: e.relates_to.clone(),
    }
}

/// The key of a table row: its key columns' names and written values.
fn row_key(t: &Table, row: &[Cell]) -> Vec<(String, String)> {
    t.columns[..t.key_columns]
        .iter()
        .zip(row)
        .map(|(c, cell)| (c.name.to_owned(), text_of(cell)))
        .collect()
}

/// Each money event's part, as rows of the money table (the same code that writes the table,
/// so every line is a row's key), and its part of the trust's net cost.
fn money_lines(code: &OdsCode, found: &[Found], lines: &mut BTreeMap<Vec<(String, String)>, Line>) {
    let refs: Vec<(u64, &Envelope)> = found.iter().map(|(s, e)| (*s, e)).collect();
    let by_id: BTreeMap<EventId, &Found> = found.iter().map(|f| (f.1.event_id, f)).collect();
    for (id, part) in money_parts(&refs) {
        let f = by_id[&id];
        let net = part.total.net_cost_pence;
        let table = one_trust(code, part).table();
        let amount_at = table.columns[..table.key_columns].len();
        for row in &table.rows {
            let Cell::Pence(pence) = row[amount_at] else {
                unreachable!("the money table's amount is pence");
            };
            lines
                .entry(row_key(&table, row))
                .or_default()
                .add(f, Some(pence));
        }
        if net != 0 {
            let key = vec![
                ("trust".to_owned(), code.to_string()),
                ("measure".to_owned(), NET_COST.to_owned()),
            ];
            lines.entry(key).or_default().add(f, Some(net));
        }
    }
}

fn one_trust(code: &OdsCode, part: TrustMoney) -> MoneyView {
    MoneyView {
        trusts: BTreeMap::from([(code.to_string(), part)]),
        ..MoneyView::default()
    }
}

/// Each open case's row key (a row of the lost-patients table), by patient.
fn open_cases(p: &Projections, code: &OdsCode) -> BTreeMap<String, Vec<(String, String)>> {
    let table = p.lost_patients(Some(code)).table();
    table
        .rows
        .iter()
        .map(|r| (text_of(&r[1]), row_key(&table, r)))
        .collect()
}

/// Per open case: the lost-patient events in force that name its patient.
fn lost_lines(
    cases: &BTreeMap<String, Vec<(String, String)>>,
    found: &[Found],
    lines: &mut BTreeMap<Vec<(String, String)>, Line>,
) {
    for f in found {
        let patient = match &f.1.body {
            EventBody::PatientLost(d) => d.patient_ref.to_string(),
            EventBody::PatientTraced(d) => d.patient_ref.to_string(),
            _ => continue,
        };
        if let Some(key) = cases.get(&patient) {
            lines.entry(key.clone()).or_default().add(f, None);
        }
    }
}
