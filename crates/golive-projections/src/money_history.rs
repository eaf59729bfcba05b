//! The money view as it stood after any sequence, without a snapshot or a replay of the log:
//! what the dashboard's time slider asks (`/v1/money?trust=X&as_of_seq=N`) in milliseconds.
//!
//! [`MoneyState`] is small (running sums per month and line, the to-date chains) and reads
//! nothing of an event but its [`MoneyMove`], so a history of the money moves of each trust, in
//! seq order, with a copy of the trust's money state every [`CHECKPOINT_ENTRIES`] moves, rebuilds
//! the money state at any sequence from the nearest copy and at most that many moves. The
//! history mirrors [`Projections::apply`](crate::Projections::apply) exactly: a correction
//! removes the event it supersedes once (the first correction of it does), and the sourced-only
//! fold (`?exclude_synthetic=true`) leaves synthetic events out and keeps its own list of what
//! it has retracted. The property test `money_history_tests` holds it against the fold at every
//! sequence of random logs.
//!
//! Beyond its last sequence [`MoneyHistory::money_at`] answers `None` (the caller asks the full
//! fold).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use golive_model::{Envelope, EventId, OdsCode, Status};

use crate::claims::ClaimsState;
use crate::money::{self, MoneyMove, MoneyState, MoneyView};
use crate::recovery::RecoveryState;
use crate::{Marked, Part};

/// Money moves between two copies of a trust's money state: at most this many are folded to
/// answer one trust's money at a sequence.
pub const CHECKPOINT_ENTRIES: usize = 1024;

/// Events per block of the minimum `recorded_at` a known-at answer skips blocks by.
pub(crate) const RECORDED_BLOCK: usize = 1024;

/// One step of a trust's money history.
#[derive(Clone, Debug)]
enum Entry {
    /// A money event folded in.
    Add {
        seq: u64,
        at: DateTime<Utc>,
        id: EventId,
        status: Status,
        synthetic: bool,
        money: MoneyMove,
    },
    /// The money event at `target` (an index of the same trust's entries) removed by a
    /// correction: from every event's fold (`main`), from the sourced-only fold (`sourced`).
    Remove {
        seq: u64,
        target: usize,
        main: bool,
        sourced: bool,
    },
}

impl Entry {
    fn seq(&self) -> u64 {
        match self {
            Entry::Add { seq, .. } | Entry::Remove { seq, .. } => *seq,
        }
    }
}

/// A copy of a trust's money states (every event's, the sourced-only) after `entries` entries.
#[derive(Clone, Debug)]
struct Checkpoint {
    entries: usize,
    main: MoneyState,
    sourced: MoneyState,
}

/// The first sequence from which something holds of a trust, in every event's fold and in the
/// sourced-only fold.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Since {
    main: Option<u64>,
    sourced: Option<u64>,
}

impl Since {
    pub(crate) fn mark(&mut self, seq: u64, synthetic: bool) {
        self.main.get_or_insert(seq);
        if !synthetic {
            self.sourced.get_or_insert(seq);
        }
    }

    pub(crate) fn holds_at(&self, seq: u64, exclude: bool) -> bool {
        let from = if exclude { self.sourced } else { self.main };
        from.is_some_and(|from| from <= seq)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TrustHistory {
    pub code: OdsCode,
    /// Has a line in the trust views (any kind but the claims, recovery and key kinds).
    pub state: Since,
    /// Has claims facts (never dropped): one of `Projections::trusts` from then on.
    pub claims: Since,
    /// Recovery facts in force after each change, in every event's fold and in the sourced-only:
    /// the fold drops a trust's recovery state when a correction empties it, and the trust is
    /// one of `Projections::trusts` only while it has facts (or claims, or a line).
    recovery: [Vec<(u64, i64)>; 2],
    entries: Vec<Entry>,
    checkpoints: Vec<Checkpoint>,
    main: MoneyState,
    sourced: MoneyState,
}

impl TrustHistory {
    fn new(code: OdsCode) -> Self {
        Self {
            code,
            state: Since::default(),
            claims: Since::default(),
            recovery: [Vec::new(), Vec::new()],
            entries: Vec::new(),
            checkpoints: Vec::new(),
            main: MoneyState::default(),
            sourced: MoneyState::default(),
        }
    }

    /// Whether `Projections::trusts` (of the fold asked for) lists the trust after `seq`.
    fn seen_at(&self, seq: u64, exclude: bool) -> bool {
        self.state.holds_at(seq, exclude)
            || self.claims.holds_at(seq, exclude)
            || self.recovery_at(seq, exclude) > 0
    }

    /// Recovery facts in force after `seq` (with `exclude`, in the sourced-only fold).
    pub(crate) fn recovery_at(&self, seq: u64, exclude: bool) -> i64 {
        let changes = &self.recovery[usize::from(exclude)];
        let i = changes.partition_point(|(at, _)| *at <= seq);
        i.checked_sub(1).map_or(0, |i| changes[i].1)
    }

    /// Counts a recovery fact in (`by` 1) or out (-1) at `seq`, in the fold `sourced` says.
    fn count_recovery(&mut self, seq: u64, sourced: bool, by: i64) {
        let changes = &mut self.recovery[usize::from(sourced)];
        let now = changes.last().map_or(0, |(_, n)| *n) + by;
        match changes.last_mut() {
            Some((at, n)) if *at == seq => *n = now,
            _ => changes.push((seq, now)),
        }
    }

    fn push(&mut self, entry: Entry, every: usize) {
        fold_entry(&self.entries, &entry, &mut self.main, false);
        fold_entry(&self.entries, &entry, &mut self.sourced, true);
        self.entries.push(entry);
        if self.entries.len().is_multiple_of(every) {
            self.checkpoints.push(Checkpoint {
                entries: self.entries.len(),
                main: self.main.clone(),
                sourced: self.sourced.clone(),
            });
        }
    }

    /// The trust's money state after `seq` (every event's, or with `exclude` the sourced-only).
    pub(crate) fn state_at(&self, seq: u64, exclude: bool) -> MoneyState {
        let upto = self.entries.partition_point(|e| e.seq() <= seq);
        let from = self.checkpoints.partition_point(|c| c.entries <= upto);
        let (mut state, start) = match from.checked_sub(1).map(|i| &self.checkpoints[i]) {
            Some(c) if exclude => (c.sourced.clone(), c.entries),
            Some(c) => (c.main.clone(), c.entries),
            None => (MoneyState::default(), 0),
        };
        for entry in &self.entries[start..upto] {
            fold_entry(&self.entries, entry, &mut state, exclude);
        }
        state
    }
}

/// Folds one entry into a money state: of every event, or (`sourced`) of the sourced-only fold.
fn fold_entry(entries: &[Entry], entry: &Entry, state: &mut MoneyState, sourced: bool) {
    match entry {
        Entry::Add {
            seq,
            at,
            id,
            status,
            synthetic,
            money,
        } => {
            if !(sourced && *synthetic) {
                state.add_move(*seq, *at, *id, *status, money);
            }
        }
        Entry::Remove {
            target,
            main,
            sourced: in_sourced,
            ..
        } => {
            if (sourced && *in_sourced) || (!sourced && *main) {
                let Entry::Add {
                    at,
                    id,
                    status,
                    money,
                    ..
                } = &entries[*target]
                else {
                    unreachable!("a removal targets an added money event");
                };
                state.remove_move(*at, *id, *status, money);
            }
        }
    }
}

/// What [`MoneyHistory::money_at`] found.
#[derive(Debug)]
pub enum MoneyAt {
    /// The money view, marked with its synthetic share as [`crate::Projections::marked`] marks it.
    View(Box<Marked<MoneyView>>),
    /// The trust asked about has no events by then (in the fold asked for).
    NoEvents,
}

/// The money moves of every trust, in seq order; see the module documentation.
#[derive(Clone, Debug)]
pub struct MoneyHistory {
    /// Entries between two checkpoints of a trust ([`CHECKPOINT_ENTRIES`] but in tests).
    checkpoint_entries: usize,
    last_seq: u64,
    events_applied: u64,
    /// Each trust's history, in the order first seen; `index` finds one by code.
    pub(crate) trusts: Vec<TrustHistory>,
    pub(crate) index: HashMap<OdsCode, u32>,
    /// Where each money event's `Add` is: its trust, its index there.
    adds: HashMap<EventId, (u32, u32)>,
    /// Every corrected event: the first sequence at which a correction removed it, in every
    /// event's fold (`[0]`) and in the sourced-only fold (`[1]`).
    pub(crate) retracted: HashMap<EventId, [Option<u64>; 2]>,
    /// Each event's sequence and `recorded_at`, in seq order, with the running maximum of
    /// `recorded_at` and its minimum per block of [`RECORDED_BLOCK`]: what a known-at answer
    /// finds the events it takes by (`money_known`).
    pub(crate) recorded: Vec<(u64, DateTime<Utc>)>,
    pub(crate) recorded_max: Vec<DateTime<Utc>>,
    pub(crate) recorded_block_min: Vec<DateTime<Utc>>,
    /// Runs of synthetic sequences `(first, last, synthetic events before the run)`.
    synthetic: Vec<(u64, u64, u64)>,
}

impl Default for MoneyHistory {
    fn default() -> Self {
        Self::with_checkpoints_every(CHECKPOINT_ENTRIES)
    }
}

impl MoneyHistory {
    pub fn new() -> Self {
        Self::default()
    }

    /// A history that copies a trust's money state every `entries` money moves.
    pub fn with_checkpoints_every(entries: usize) -> Self {
        assert!(entries > 0, "checkpoints need a positive interval");
        Self {
            checkpoint_entries: entries,
            last_seq: 0,
            events_applied: 0,
            trusts: Vec::new(),
            index: HashMap::new(),
            adds: HashMap::new(),
            retracted: HashMap::new(),
            recorded: Vec::new(),
            recorded_max: Vec::new(),
            recorded_block_min: Vec::new(),
            synthetic: Vec::new(),
        }
    }

    /// Highest sequence folded in (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Folds in the event at `seq`, as [`crate::Projections::apply`] does (same arguments, same
    /// idempotence by sequence).
    pub fn apply(&mut self, seq: u64, e: &Envelope, superseded: Option<&Envelope>) {
        if self.events_applied > 0 && seq <= self.last_seq {
            return;
        }
        self.events_applied += 1;
        self.last_seq = seq;
        self.record_time(seq, e.recorded_at);
        let synthetic = e.is_synthetic();
        if synthetic {
            self.count_synthetic(seq);
        }
        if let Some(old) = superseded {
            self.retract(seq, old, synthetic);
        }
        let trust = self.trust_index(&e.trust);
        let t = &mut self.trusts[trust as usize];
        let part = Part::of(&e.body);
        if !part.apart() {
            t.state.mark(seq, synthetic);
        }
        if ClaimsState::reads(e) {
            t.claims.mark(seq, synthetic);
        }
        if RecoveryState::reads(e) {
            t.count_recovery(seq, false, 1);
            if !synthetic {
                t.count_recovery(seq, true, 1);
            }
        }
        let Some(money) = MoneyMove::of(&e.body) else {
            return;
        };
        let at = u32::try_from(t.entries.len()).expect("fewer than 2^32 money moves per trust");
        self.adds.insert(e.event_id, (trust, at));
        t.push(
            Entry::Add {
                seq,
                at: e.occurred_at,
                id: e.event_id,
                status: e.status,
                synthetic,
                money,
            },
            self.checkpoint_entries,
        );
    }

    fn record_time(&mut self, seq: u64, at: DateTime<Utc>) {
        let max = self.recorded_max.last().map_or(at, |m| (*m).max(at));
        if self.recorded.len().is_multiple_of(RECORDED_BLOCK) {
            self.recorded_block_min.push(at);
        } else if let Some(min) = self.recorded_block_min.last_mut() {
            *min = (*min).min(at);
        }
        self.recorded.push((seq, at));
        self.recorded_max.push(max);
    }

    /// The index of `code`'s history, made on first sight.
    fn trust_index(&mut self, code: &OdsCode) -> u32 {
        if let Some(&i) = self.index.get(code) {
            return i;
        }
        let i = u32::try_from(self.trusts.len()).expect("fewer than 2^32 trusts");
        self.trusts.push(TrustHistory::new(code.clone()));
        self.index.insert(code.clone(), i);
        i
    }

    fn count_synthetic(&mut self, seq: u64) {
        match self.synthetic.last_mut() {
            Some((_, last, _)) if *last + 1 == seq => *last = seq,
            Some(&mut (first, last, before)) => {
                self.synthetic.push((seq, seq, before + (last - first + 1)))
            }
            None => self.synthetic.push((seq, seq, 0)),
        }
    }

    /// Synthetic events at or before `seq`.
    pub(crate) fn synthetic_at(&self, seq: u64) -> u64 {
        let i = self
            .synthetic
            .partition_point(|(first, _, _)| *first <= seq);
        i.checked_sub(1).map_or(0, |i| {
            let (first, last, before) = self.synthetic[i];
            before + (last.min(seq) - first + 1)
        })
    }

    /// The removal a correction at `seq` makes of `old`, in each fold that removes it.
    fn retract(&mut self, seq: u64, old: &Envelope, synthetic: bool) {
        let first = self.retracted.entry(old.event_id).or_default();
        let main = first[0].is_none();
        // The sourced-only fold sees the correction only if both are sourced, and removes
        // only what it has not removed already (`Projections::fold_sourced`).
        let sourced = !synthetic && !old.is_synthetic() && first[1].is_none();
        for (removed, at) in [(main, 0), (sourced, 1)] {
            if removed {
                first[at] = Some(seq);
            }
        }
        if RecoveryState::reads(old)
            && let Some(&i) = self.index.get(&old.trust)
        {
            let t = &mut self.trusts[i as usize];
            for (removed, in_sourced) in [(main, false), (sourced, true)] {
                if removed {
                    t.count_recovery(seq, in_sourced, -1);
                }
            }
        }
        if !(main || sourced) {
            return;
        }
        let Some(&(trust, target)) = self.adds.get(&old.event_id) else {
            return;
        };
        self.trusts[trust as usize].push(
            Entry::Remove {
                seq,
                target: target as usize,
                main,
                sourced,
            },
            self.checkpoint_entries,
        );
    }

    /// The money view after `seq` of one trust or all (with `exclude`, of the sourced-only
    /// fold), marked as [`crate::Projections::marked`] marks it. `None` when `seq` is beyond what
    /// this history has folded.
    pub fn money_at(&self, seq: u64, trust: Option<&OdsCode>, exclude: bool) -> Option<MoneyAt> {
        if seq > self.last_seq {
            return None;
        }
        if let Some(code) = trust
            && !self
                .index
                .get(code)
                .is_some_and(|&i| self.trusts[i as usize].seen_at(seq, exclude))
        {
            return Some(MoneyAt::NoEvents);
        }
        let events = self.synthetic_at(seq);
        let view = |exclude: bool| self.view_at(seq, trust, exclude);
        Some(MoneyAt::View(Box::new(if exclude {
            Marked::excluded(view(true), events)
        } else {
            let sourced = (events > 0).then(|| view(true));
            Marked::compared(view(false), sourced.as_ref(), events)
        })))
    }

    fn view_at(&self, seq: u64, trust: Option<&OdsCode>, exclude: bool) -> MoneyView {
        let asked: Vec<&TrustHistory> = match trust {
            Some(code) => self
                .index
                .get(code)
                .map(|&i| &self.trusts[i as usize])
                .into_iter()
                .collect(),
            None => self.trusts.iter().collect(),
        };
        let mut selected: Vec<(&OdsCode, MoneyState)> = asked
            .into_iter()
            .filter(|t| t.state.holds_at(seq, exclude))
            .map(|t| (&t.code, t.state_at(seq, exclude)))
            .collect();
        selected.sort_by(|a, b| a.0.cmp(b.0));
        money::view(selected.iter().map(|(code, s)| (code.as_str(), s)))
    }
}
