//! Outages and safety incidents per trust.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use golive_model::{EventBody, EventId, Harm, HarmCounts, IncidentState};
use serde::{Deserialize, Serialize};

use crate::timeline::Timeline;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct OutageFact {
    pub scope: String,
    pub services: Vec<String>,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub paper_fallback: bool,
    pub major_incident: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct IncidentFact {
    pub local_ref: String,
    pub harm: Harm,
    pub serious_incident: bool,
    pub state: IncidentState,
    pub description: Option<String>,
}

/// Every outage and safety-incident report; the current picture is recomputed from them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct IncidentsState {
    pub outages: Timeline<OutageFact>,
    pub safety: Timeline<IncidentFact>,
}

impl IncidentsState {
    pub fn add(&mut self, seq: u64, at: DateTime<Utc>, id: EventId, body: &EventBody) {
        match body {
            EventBody::Outage(d) => self.outages.insert(
                at,
                seq,
                id,
                OutageFact {
                    scope: d.scope.clone(),
                    services: d.services.clone(),
                    start: d.start,
                    end: d.end,
                    paper_fallback: d.paper_fallback,
                    major_incident: d.major_incident,
                },
            ),
            EventBody::SafetyIncident(d) => self.safety.insert(
                at,
                seq,
                id,
                IncidentFact {
                    local_ref: d.local_ref.clone(),
                    harm: d.harm,
                    serious_incident: d.serious_incident,
                    state: d.state,
                    description: d.description.clone(),
                },
            ),
            _ => {}
        }
    }

    pub fn remove(&mut self, at: DateTime<Utc>, id: EventId, body: &EventBody) {
        match body {
            EventBody::Outage(_) => {
                self.outages.remove(at, id);
            }
            EventBody::SafetyIncident(_) => {
                self.safety.remove(at, id);
            }
            _ => {}
        }
    }
}

/// One outage, as its latest report describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutageItem {
    pub scope: String,
    pub services: Vec<String>,
    pub start: DateTime<Utc>,
    /// `null` while it goes on.
    pub end: Option<DateTime<Utc>>,
    /// Whole minutes from start to end; `null` while it goes on.
    pub minutes: Option<u64>,
    pub paper_fallback: bool,
    pub major_incident: bool,
    pub reported_at: DateTime<Utc>,
    pub event_id: EventId,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutageSummary {
    pub count: u64,
    pub ongoing: u64,
    pub closed: u64,
    /// Sum over closed outages.
    pub downtime_minutes: u64,
    pub major_incidents: u64,
    pub paper_fallback: u64,
    /// By start.
    pub outages: Vec<OutageItem>,
}

/// One safety incident, as its latest report describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentItem {
    pub local_ref: String,
    pub harm: Harm,
    pub serious_incident: bool,
    pub state: IncidentState,
    /// `occurred_at` of its first report.
    pub opened_at: DateTime<Utc>,
    /// `occurred_at` of its latest report.
    pub updated_at: DateTime<Utc>,
    pub description: Option<String>,
    /// The latest report.
    pub event_id: EventId,
    /// Every report's grade, in `(occurred_at, seq)` order: the last is `harm`.
    pub grades: Vec<IncidentGrade>,
}

/// One report's grade of an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentGrade {
    pub at: DateTime<Utc>,
    pub harm: Harm,
    pub event_id: EventId,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SafetySummary {
    /// Distinct `local_ref`s.
    pub count: u64,
    pub open: u64,
    pub closed: u64,
    pub serious: u64,
    /// Current harm of each incident.
    pub by_harm: HarmCounts,
    /// Open serious incidents, oldest first.
    pub open_serious: Vec<IncidentItem>,
    /// Every open incident, oldest first.
    pub open_incidents: Vec<IncidentItem>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrustIncidents {
    pub outages: OutageSummary,
    pub safety: SafetySummary,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentsTotals {
    pub trusts: u64,
    pub outages: u64,
    pub ongoing_outages: u64,
    pub downtime_minutes: u64,
    pub safety_incidents: u64,
    pub open_incidents: u64,
    pub open_serious: u64,
    pub by_harm: HarmCounts,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentsView {
    pub trusts: BTreeMap<String, TrustIncidents>,
    pub total: IncidentsTotals,
}

pub(crate) fn trust_view(s: &IncidentsState) -> TrustIncidents {
    TrustIncidents {
        outages: outage_summary(&s.outages),
        safety: safety_summary(&s.safety),
    }
}

/// Each outage as its latest report describes it, with the counts over them.
fn outage_summary(reports: &Timeline<OutageFact>) -> OutageSummary {
    // An outage is known by its scope and start; a later report of the same one (with its end,
    // say) replaces the earlier.
    let mut outages: BTreeMap<(DateTime<Utc>, &str), OutageItem> = BTreeMap::new();
    for e in reports.iter() {
        let d = &e.data;
        outages.insert(
            (d.start, d.scope.as_str()),
            OutageItem {
                scope: d.scope.clone(),
                services: d.services.clone(),
                start: d.start,
                end: d.end,
                minutes: d
                    .end
                    .map(|end| u64::try_from((end - d.start).num_minutes()).unwrap_or(0)),
                paper_fallback: d.paper_fallback,
                major_incident: d.major_incident,
                reported_at: e.at,
                event_id: e.event_id,
            },
        );
    }
    let mut o = OutageSummary::default();
    for item in outages.into_values() {
        o.count += 1;
        match item.minutes {
            Some(m) => {
                o.closed += 1;
                o.downtime_minutes = o.downtime_minutes.saturating_add(m);
            }
            None => o.ongoing += 1,
        }
        o.major_incidents += u64::from(item.major_incident);
        o.paper_fallback += u64::from(item.paper_fallback);
        o.outages.push(item);
    }
    o
}

/// Each safety incident as its latest report describes it, with the counts over them.
fn safety_summary(reports: &Timeline<IncidentFact>) -> SafetySummary {
    let mut incidents: BTreeMap<&str, IncidentItem> = BTreeMap::new();
    for e in reports.iter() {
        let d = &e.data;
        let (opened_at, mut grades) = incidents
            .remove(d.local_ref.as_str())
            .map_or((e.at, Vec::new()), |i| (i.opened_at, i.grades));
        grades.push(IncidentGrade {
            at: e.at,
            harm: d.harm,
            event_id: e.event_id,
        });
        incidents.insert(
            &d.local_ref,
            IncidentItem {
                local_ref: d.local_ref.clone(),
                harm: d.harm,
                serious_incident: d.serious_incident,
                state: d.state,
                opened_at,
                updated_at: e.at,
                description: d.description.clone(),
                event_id: e.event_id,
                grades,
            },
        );
    }
    let mut sa = SafetySummary::default();
    for item in incidents.into_values() {
        sa.count += 1;
        sa.by_harm.bump(item.harm);
        sa.serious += u64::from(item.serious_incident);
        match item.state {
            IncidentState::Open => {
                sa.open += 1;
                if item.serious_incident {
                    sa.open_serious.push(item.clone());
                }
                sa.open_incidents.push(item);
            }
            IncidentState::Closed => sa.closed += 1,
        }
    }
    let order = |a: &IncidentItem, b: &IncidentItem| {
        (a.opened_at, &a.local_ref).cmp(&(b.opened_at, &b.local_ref))
    };
    sa.open_serious.sort_by(order);
    sa.open_incidents.sort_by(order);
    sa
}

pub(crate) fn view<'a>(
    trusts: impl Iterator<Item = (&'a str, &'a IncidentsState)>,
) -> IncidentsView {
    let mut out = IncidentsView::default();
    for (code, s) in trusts {
        let t = trust_view(s);
        let tot = &mut out.total;
        tot.trusts += 1;
        tot.outages += t.outages.count;
        tot.ongoing_outages += t.outages.ongoing;
        tot.downtime_minutes = tot
            .downtime_minutes
            .saturating_add(t.outages.downtime_minutes);
        tot.safety_incidents += t.safety.count;
        tot.open_incidents += t.safety.open;
        tot.open_serious += t.safety.open_serious.len() as u64;
        tot.by_harm.add(&t.safety.by_harm);
        out.trusts.insert(code.to_owned(), t);
    }
    out
}
