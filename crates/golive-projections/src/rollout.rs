//! Rollout per trust and per programme: current status, dated history, go-live, anomalies.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use golive_model::{EventId, OdsCode, RolloutState};
use serde::{Deserialize, Serialize};

use crate::timeline::{Entry, Timeline};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RolloutFact {
    pub programme: String,
    pub supplier: Option<String>,
    pub release: Option<String>,
    pub status: RolloutState,
    pub reason: Option<String>,
}

/// A programme-scope status, with the trust whose feed reported it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ProgrammeFact {
    pub trust: OdsCode,
    pub supplier: Option<String>,
    pub release: Option<String>,
    pub status: RolloutState,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolloutChange {
    pub occurred_at: DateTime<Utc>,
    pub status: RolloutState,
    pub release: Option<String>,
    pub reason: Option<String>,
    pub event_id: EventId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgrammeChange {
    pub occurred_at: DateTime<Utc>,
    /// The trust whose feed reported it.
    pub trust: String,
    pub status: RolloutState,
    pub release: Option<String>,
    pub reason: Option<String>,
    pub event_id: EventId,
}

/// A status that does not follow from the ones before it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    pub occurred_at: DateTime<Utc>,
    pub text: String,
    pub event_id: EventId,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrustRollout {
    /// Latest status in event time; `null` for a trust with no rollout events.
    pub status: Option<RolloutState>,
    pub programme: Option<String>,
    pub supplier: Option<String>,
    pub release: Option<String>,
    /// Went live, and has not been withdrawn since.
    pub live: bool,
    /// The first `go_live`.
    pub go_live: Option<DateTime<Utc>>,
    /// Whole days from the first go-live to the projection's `as_at`.
    pub days_since_go_live: Option<u64>,
    pub history: Vec<RolloutChange>,
    pub anomalies: Vec<Anomaly>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgrammeRollout {
    /// Latest programme-scope status; `null` if only trust-scope events name the programme.
    pub status: Option<RolloutState>,
    pub supplier: Option<String>,
    pub release: Option<String>,
    /// Trusts whose current programme this is, with their current status.
    pub trusts: BTreeMap<String, RolloutState>,
    /// Programme-scope statuses only.
    pub history: Vec<ProgrammeChange>,
    pub anomalies: Vec<Anomaly>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolloutTotals {
    pub trusts: u64,
    pub live_trusts: u64,
    /// Trusts by current status; every status, zero included.
    pub by_status: BTreeMap<RolloutState, u64>,
    /// Trusts with no rollout events.
    pub no_status: u64,
    pub anomalies: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolloutView {
    pub as_at: Option<DateTime<Utc>>,
    pub trusts: BTreeMap<String, TrustRollout>,
    pub programmes: BTreeMap<String, ProgrammeRollout>,
    pub total: RolloutTotals,
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// Tracks the pause state that `resumed` and `fit_to_deploy` are checked against.
#[derive(Default)]
struct Pause {
    stopped: Option<RolloutState>,
}

impl Pause {
    /// Returns an anomaly text for `status`, then moves on to it.
    fn step(&mut self, status: RolloutState, at: DateTime<Utc>) -> Option<String> {
        let text = match status {
            RolloutState::Resumed if self.stopped.is_none() => Some(format!(
                "resumed on {} without an earlier paused or halted",
                day(at)
            )),
            RolloutState::FitToDeploy => self
                .stopped
                .map(|s| format!("declared fit_to_deploy on {} while {}", day(at), s.as_str())),
            _ => None,
        };
        match status {
            RolloutState::Paused | RolloutState::Halted => self.stopped = Some(status),
            RolloutState::Resumed
            | RolloutState::GoLive
            | RolloutState::Withdrawn
            | RolloutState::Planned => self.stopped = None,
            RolloutState::Stabilised | RolloutState::FitToDeploy => {}
        }
        text
    }
}

pub(crate) fn trust_view(tl: &Timeline<RolloutFact>, as_at: Option<DateTime<Utc>>) -> TrustRollout {
    let mut out = TrustRollout::default();
    let mut pause = Pause::default();
    let mut withdrawn = false;
    for e in tl.iter() {
        let d = &e.data;
        let mut anomaly = |text: String| {
            out.anomalies.push(Anomaly {
                occurred_at: e.at,
                text,
                event_id: e.event_id,
            })
        };
        let after_withdrawal = matches!(
            d.status,
            RolloutState::Paused
                | RolloutState::Halted
                | RolloutState::Resumed
                | RolloutState::Stabilised
                | RolloutState::FitToDeploy
        );
        if withdrawn && after_withdrawal {
            anomaly(format!("{} on {} after withdrawn", d.status, day(e.at)));
        } else if d.status == RolloutState::GoLive && out.live {
            anomaly(format!(
                "go_live again on {} (live since {})",
                day(e.at),
                out.go_live.map(day).unwrap_or_default()
            ));
        } else if d.status == RolloutState::Stabilised && !out.live {
            anomaly(format!("stabilised on {} before any go_live", day(e.at)));
        }
        if let Some(text) = pause.step(d.status, e.at) {
            anomaly(text);
        }
        match d.status {
            RolloutState::GoLive => {
                out.live = true;
                withdrawn = false;
                out.go_live.get_or_insert(e.at);
            }
            RolloutState::Withdrawn => {
                out.live = false;
                withdrawn = true;
            }
            RolloutState::Planned => withdrawn = false,
            _ => {}
        }
        out.status = Some(d.status);
        out.programme = Some(d.programme.clone());
        if d.supplier.is_some() {
            out.supplier.clone_from(&d.supplier);
        }
        if d.release.is_some() {
            out.release.clone_from(&d.release);
        }
        out.history.push(RolloutChange {
            occurred_at: e.at,
            status: d.status,
            release: d.release.clone(),
            reason: d.reason.clone(),
            event_id: e.event_id,
        });
    }
    out.days_since_go_live = match (out.go_live, as_at) {
        (Some(g), Some(now)) => Some(u64::try_from((now - g).num_days()).unwrap_or(0)),
        _ => None,
    };
    out
}

fn programme_view(tl: Option<&Timeline<ProgrammeFact>>) -> ProgrammeRollout {
    let mut out = ProgrammeRollout::default();
    let mut pause = Pause::default();
    for e in tl.into_iter().flat_map(|t| t.iter()) {
        let Entry {
            at,
            event_id,
            data: d,
            ..
        } = e;
        if let Some(text) = pause.step(d.status, *at) {
            out.anomalies.push(Anomaly {
                occurred_at: *at,
                text,
                event_id: *event_id,
            });
        }
        out.status = Some(d.status);
        if d.supplier.is_some() {
            out.supplier.clone_from(&d.supplier);
        }
        if d.release.is_some() {
            out.release.clone_from(&d.release);
        }
        out.history.push(ProgrammeChange {
            occurred_at: *at,
            trust: d.trust.to_string(),
            status: d.status,
            release: d.release.clone(),
            reason: d.reason.clone(),
            event_id: *event_id,
        });
    }
    out
}

/// Builds the view over the selected trusts. `programmes` is every programme's timeline;
/// `all_trusts` is every trust's rollout, for the trust lists of the programmes shown.
pub(crate) fn view<'a>(
    selected: impl Iterator<Item = (&'a OdsCode, &'a Timeline<RolloutFact>)>,
    all_trusts: impl Iterator<Item = (&'a OdsCode, &'a Timeline<RolloutFact>)> + Clone,
    programmes: &BTreeMap<String, Timeline<ProgrammeFact>>,
    filtered: bool,
    as_at: Option<DateTime<Utc>>,
) -> RolloutView {
    let mut trusts = BTreeMap::new();
    let mut total = RolloutTotals {
        trusts: 0,
        live_trusts: 0,
        by_status: RolloutState::ALL.iter().map(|s| (*s, 0)).collect(),
        no_status: 0,
        anomalies: 0,
    };
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut selected_codes: BTreeSet<&OdsCode> = BTreeSet::new();
    for (code, tl) in selected {
        let v = trust_view(tl, as_at);
        total.trusts += 1;
        total.live_trusts += u64::from(v.live);
        match v.status {
            Some(s) => *total.by_status.entry(s).or_default() += 1,
            None => total.no_status += 1,
        }
        total.anomalies += v.anomalies.len() as u64;
        wanted.extend(tl.iter().map(|e| e.data.programme.clone()));
        selected_codes.insert(code);
        trusts.insert(code.to_string(), v);
    }
    for (name, tl) in programmes {
        if !filtered || tl.iter().any(|e| selected_codes.contains(&e.data.trust)) {
            wanted.insert(name.clone());
        }
    }
    if !filtered {
        for (_, tl) in all_trusts.clone() {
            if let Some(e) = tl.last() {
                wanted.insert(e.data.programme.clone());
            }
        }
    }
    let mut out_programmes = BTreeMap::new();
    for name in wanted {
        let mut p = programme_view(programmes.get(&name));
        total.anomalies += p.anomalies.len() as u64;
        for (code, tl) in all_trusts.clone() {
            if let Some(e) = tl.last()
                && e.data.programme == name
            {
                p.trusts.insert(code.to_string(), e.data.status);
            }
        }
        out_programmes.insert(name, p);
    }
    RolloutView {
        as_at,
        trusts,
        programmes: out_programmes,
        total,
    }
}
