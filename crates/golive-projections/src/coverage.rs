//! Coverage: which trusts of each programme are reporting, which have gone silent, and which are
//! dark (a dataset's reporting suspended). A trust that reports nothing is not a trust without
//! harm: silence is shown as silence, never as an empty, healthy-looking row.
//!
//! Programme members are the trusts of the programme's latest `programme_roster` (by
//! `(occurred_at, seq)`) and every trust that reported a trust-scope `rollout_status` for it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use golive_model::{Dataset, EventId, OdsCode, Pathway, ProgrammeRoster};
use serde::{Deserialize, Serialize};

use crate::lost::{Suspension, WaitingListFact};
use crate::timeline::Timeline;

/// Default of `[warnings] silent_after_weeks`.
pub const SILENT_AFTER_WEEKS_DEFAULT: u32 = 8;
/// Largest `silent_after_weeks`: ten years.
pub const SILENT_AFTER_WEEKS_MAX: u32 = 520;

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// When a trust's events happened: how many events at each `occurred_at`, so a correction
/// removes exactly one and the latest time left is the trust's last event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct EventTimes(BTreeMap<DateTime<Utc>, u64>);

impl EventTimes {
    pub fn add(&mut self, at: DateTime<Utc>) {
        *self.0.entry(at).or_default() += 1;
    }

    pub fn remove(&mut self, at: DateTime<Utc>) {
        if let Some(n) = self.0.get_mut(&at) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&at);
            }
        }
    }

    pub fn last(&self) -> Option<DateTime<Utc>> {
        self.0.keys().next_back().copied()
    }

    /// Events that happened in `from..=to`.
    pub fn count_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
        if from > to {
            return 0;
        }
        self.0.range(from..=to).map(|(_, n)| n).sum()
    }
}

/// One `programme_roster`: the trusts a programme deploys to, as at the event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RosterFact {
    pub trusts: Vec<OdsCode>,
    pub reason: Option<String>,
}

/// Every roster of every programme, by programme name; the latest of each is in force.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rosters(BTreeMap<String, Timeline<RosterFact>>);

impl Rosters {
    pub fn add(&mut self, seq: u64, at: DateTime<Utc>, id: EventId, d: &ProgrammeRoster) {
        let fact = RosterFact {
            trusts: d.trusts.clone(),
            reason: d.reason.clone(),
        };
        self.0
            .entry(d.programme.clone())
            .or_default()
            .insert(at, seq, id, fact);
    }

    pub fn remove(&mut self, at: DateTime<Utc>, id: EventId, d: &ProgrammeRoster) {
        if let Some(tl) = self.0.get_mut(&d.programme) {
            tl.remove(at, id);
            if tl.is_empty() {
                self.0.remove(&d.programme);
            }
        }
    }

    /// The trusts of each programme's latest roster.
    fn current(&self) -> impl Iterator<Item = (&str, &[OdsCode])> {
        self.0
            .iter()
            .filter_map(|(p, tl)| tl.last().map(|e| (p.as_str(), e.data.trusts.as_slice())))
    }
}

// ---------------------------------------------------------------------------------------------
// View
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageState {
    /// Events within the last `silent_after_weeks`, and no dataset suspended.
    Reporting,
    /// No events at all, or none within the last `silent_after_weeks` before `as_at`.
    Silent,
    /// A dataset's reporting is suspended now.
    Dark,
}

/// The latest waiting-list report before a suspension: the last figure known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastKnown {
    pub pathway: Pathway,
    pub records: u64,
    pub unique_patients: u64,
    pub breaches: Option<u64>,
    pub occurred_at: DateTime<Utc>,
}

/// A dataset suspended now, with the last figure known before it went dark.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DarkDataset {
    pub dataset: Dataset,
    pub since: DateTime<Utc>,
    /// The latest `waiting_list_discrepancy` of the trust at or before `since` (any pathway).
    pub last_known: Option<LastKnown>,
    /// Whether `last_known` is a value carried forward (true whenever there is one).
    pub carried_forward: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrustCoverage {
    pub state: CoverageState,
    /// In the programme's latest roster.
    pub rostered: bool,
    /// Went live and has not been withdrawn since.
    pub live: bool,
    /// Latest `occurred_at` of any event of the trust.
    pub last_event_at: Option<DateTime<Utc>>,
    /// Whole weeks from `last_event_at` to the projection's `as_at`.
    pub weeks_since_last_event: Option<u64>,
    pub dark_datasets: Vec<DarkDataset>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgrammeCoverage {
    pub trusts: BTreeMap<String, TrustCoverage>,
}

/// Distinct trusts listed, by state (a trust in two programmes counts once).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CoverageTotals {
    pub reporting: u64,
    pub silent: u64,
    pub dark: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoverageView {
    pub as_at: Option<DateTime<Utc>>,
    pub silent_after_weeks: u32,
    pub programmes: BTreeMap<String, ProgrammeCoverage>,
    pub totals: CoverageTotals,
}

/// What coverage reads about one trust (absent for a rostered trust never heard from).
pub(crate) struct TrustInput<'a> {
    pub seen: &'a EventTimes,
    pub suspended: &'a BTreeMap<Dataset, Suspension>,
    pub waiting_lists: &'a Timeline<WaitingListFact>,
    pub live: bool,
    /// The programmes of its trust-scope rollout statuses.
    pub programmes: BTreeSet<&'a str>,
}

/// A trust's coverage, without `rostered` (which depends on the programme).
pub(crate) fn trust_coverage(
    silent_after_weeks: u32,
    t: Option<&TrustInput<'_>>,
    as_at: Option<DateTime<Utc>>,
) -> TrustCoverage {
    let last_event_at = t.and_then(|t| t.seen.last());
    let weeks_since_last_event = match (last_event_at, as_at) {
        (Some(last), Some(now)) => Some(u64::try_from((now - last).num_weeks()).unwrap_or(0)),
        _ => None,
    };
    let dark_datasets: Vec<DarkDataset> = t.map_or_else(Vec::new, |t| {
        t.suspended
            .iter()
            .map(|(dataset, s)| dark(*dataset, s.since, t.waiting_lists))
            .collect()
    });
    let window = Duration::weeks(i64::from(silent_after_weeks));
    let recent = matches!((last_event_at, as_at), (Some(last), Some(now)) if now - last <= window);
    let state = if !dark_datasets.is_empty() {
        CoverageState::Dark
    } else if !recent {
        CoverageState::Silent
    } else {
        CoverageState::Reporting
    };
    TrustCoverage {
        state,
        rostered: false,
        live: t.is_some_and(|t| t.live),
        last_event_at,
        weeks_since_last_event,
        dark_datasets,
    }
}

fn dark(
    dataset: Dataset,
    since: DateTime<Utc>,
    waiting_lists: &Timeline<WaitingListFact>,
) -> DarkDataset {
    // The timeline is in event-time order: the last entry at or before `since` is the latest.
    let last_known = waiting_lists
        .iter()
        .take_while(|e| e.at <= since)
        .last()
        .map(|e| LastKnown {
            pathway: e.data.pathway,
            records: e.data.records,
            unique_patients: e.data.unique_patients,
            breaches: e.data.breaches,
            occurred_at: e.at,
        });
    DarkDataset {
        dataset,
        since,
        carried_forward: last_known.is_some(),
        last_known,
    }
}

/// Every programme's members with their coverage; with `trust`, only that trust, in the
/// programmes it is a member of.
pub(crate) fn view<'a>(
    silent_after_weeks: u32,
    rosters: &Rosters,
    trusts: &BTreeMap<&'a str, TrustInput<'a>>,
    trust: Option<&str>,
    as_at: Option<DateTime<Utc>>,
) -> CoverageView {
    // Programme -> member -> rostered.
    let mut members: BTreeMap<&str, BTreeMap<&str, bool>> = BTreeMap::new();
    for (programme, roster) in rosters.current() {
        let m = members.entry(programme).or_default();
        for code in roster {
            m.insert(code.as_str(), true);
        }
    }
    for (code, t) in trusts {
        for programme in &t.programmes {
            members
                .entry(programme)
                .or_default()
                .entry(code)
                .or_insert(false);
        }
    }
    let mut programmes = BTreeMap::new();
    let mut states: BTreeMap<&str, CoverageState> = BTreeMap::new();
    for (programme, m) in members {
        let mut p = ProgrammeCoverage::default();
        for (code, rostered) in m {
            if trust.is_some_and(|t| t != code) {
                continue;
            }
            let mut c = trust_coverage(silent_after_weeks, trusts.get(code), as_at);
            c.rostered = rostered;
            states.insert(code, c.state);
            p.trusts.insert(code.to_owned(), c);
        }
        if !p.trusts.is_empty() {
            programmes.insert(programme.to_owned(), p);
        }
    }
    let mut totals = CoverageTotals::default();
    for state in states.values() {
        match state {
            CoverageState::Reporting => totals.reporting += 1,
            CoverageState::Silent => totals.silent += 1,
            CoverageState::Dark => totals.dark += 1,
        }
    }
    CoverageView {
        as_at,
        silent_after_weeks,
        programmes,
        totals,
    }
}
