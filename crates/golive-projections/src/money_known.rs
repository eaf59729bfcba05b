//! Known-at money answers from the money history: the money view of only the events up to a
//! sequence recorded by a time (`/v1/money?known_at=T`), as `golive_ledger::projections_known_at`
//! folds them, without a fold from the first record.
//!
//! The events recorded by `T` are, in the log, a prefix that is all recorded by then (up to the
//! last sequence before the first event recorded later) and a few beyond it (recorded by `T`
//! too, appended after one that was not). The history answers the prefix as it answers an
//! as-of question; the few beyond are read back (the caller fetches them from the log) and
//! folded on top, as the known-at fold folds them: a correction removes its target only if the
//! target is recorded by `T` too and not removed already in this fold.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use golive_model::{Envelope, EventId, OdsCode};

use crate::claims::ClaimsState;
use crate::money::{self, MoneyMove, MoneyState};
use crate::money_history::{MoneyAt, MoneyHistory, RECORDED_BLOCK};
use crate::recovery::RecoveryState;
use crate::{Marked, Part};

/// A record after the prefix that the known-at fold takes, read back from the log: its event
/// and, when it corrects one, the corrected event.
pub type KnownRecord = (Envelope, Option<Envelope>);

/// What the records beyond the prefix change of one trust, in each fold (`[0]` every event's,
/// `[1]` the sourced-only).
#[derive(Default)]
struct TrustChange {
    money: [Option<MoneyState>; 2],
    state: [bool; 2],
    claims: [bool; 2],
    recovery: [i64; 2],
}

/// The records beyond the prefix folded on top of the history at the prefix's end.
struct Overlay<'a> {
    history: &'a MoneyHistory,
    prefix_seq: u64,
    known_at: DateTime<Utc>,
    trusts: HashMap<u32, TrustChange>,
    removed: [HashSet<EventId>; 2],
    synthetic: u64,
}

impl<'a> Overlay<'a> {
    fn change(&mut self, trust: u32) -> &mut TrustChange {
        self.trusts.entry(trust).or_default()
    }

    fn trust(&self, code: &OdsCode) -> u32 {
        *self
            .history
            .index
            .get(code)
            .expect("every event folded has its trust's history")
    }

    /// The money state of `trust` in fold `f`, from the history at the prefix's end on first use.
    fn money(&mut self, trust: u32, f: usize) -> &mut MoneyState {
        let (history, prefix_seq) = (self.history, self.prefix_seq);
        self.change(trust).money[f]
            .get_or_insert_with(|| history.trusts[trust as usize].state_at(prefix_seq, f == 1))
    }

    /// Whether fold `f` has removed `id` before now.
    fn was_removed(&self, id: &EventId, f: usize) -> bool {
        self.removed[f].contains(id)
            || self
                .history
                .retracted
                .get(id)
                .and_then(|first| first[f])
                .is_some_and(|at| at <= self.prefix_seq)
    }

    /// Folds in the record at `seq`, as the known-at fold does: its correction counts only if
    /// the corrected event was recorded by the time asked about too.
    fn apply(&mut self, seq: u64, (e, superseded): &KnownRecord) {
        let synthetic = e.is_synthetic();
        if synthetic {
            self.synthetic += 1;
        }
        if let Some(old) = superseded
            && old.recorded_at <= self.known_at
        {
            self.retract(old, synthetic);
        }
        let trust = self.trust(&e.trust);
        let folds: &[usize] = if synthetic { &[0] } else { &[0, 1] };
        for &f in folds {
            let c = self.change(trust);
            c.state[f] |= !Part::of(&e.body).apart();
            c.claims[f] |= ClaimsState::reads(e);
            c.recovery[f] += i64::from(RecoveryState::reads(e));
            if let Some(m) = MoneyMove::of(&e.body) {
                self.money(trust, f)
                    .add_move(seq, e.occurred_at, e.event_id, e.status, &m);
            }
        }
    }

    /// The removal a correction makes of `old` (recorded by the time asked about).
    fn retract(&mut self, old: &Envelope, synthetic: bool) {
        let folds: &[usize] = if synthetic || old.is_synthetic() {
            &[0]
        } else {
            &[0, 1]
        };
        let trust = self.trust(&old.trust);
        for &f in folds {
            if self.was_removed(&old.event_id, f) {
                continue;
            }
            self.removed[f].insert(old.event_id);
            if RecoveryState::reads(old) {
                self.change(trust).recovery[f] -= 1;
            }
            if let Some(m) = MoneyMove::of(&old.body) {
                self.money(trust, f)
                    .remove_move(old.occurred_at, old.event_id, old.status, &m);
            }
        }
    }
}

impl MoneyHistory {
    /// The sequences beyond the prefix recorded by `known_at`, up to `seq`, and the prefix's
    /// last sequence: every event up to it was recorded by `known_at`.
    fn known_beyond(&self, seq: u64, known_at: DateTime<Utc>) -> (u64, Vec<u64>) {
        let upto = self.recorded.partition_point(|(s, _)| *s <= seq);
        let prefix = self.recorded_max[..upto].partition_point(|m| *m <= known_at);
        let prefix_seq = prefix.checked_sub(1).map_or(0, |i| self.recorded[i].0);
        let mut beyond = Vec::new();
        let mut i = prefix;
        while i < upto {
            let block = i / RECORDED_BLOCK;
            if self.recorded_block_min[block] > known_at {
                i = (block + 1) * RECORDED_BLOCK;
                continue;
            }
            let (s, at) = self.recorded[i];
            if at <= known_at {
                beyond.push(s);
            }
            i += 1;
        }
        (prefix_seq, beyond)
    }

    /// The money view after `seq` of only the events recorded at or before `known_at`, as the
    /// known-at fold gives it (marked, `NoEvents` for a trust without any then); `fetch` reads a
    /// record beyond the prefix back from the log. `Ok(None)` when `seq` is beyond this history.
    pub fn money_known_at<E>(
        &self,
        (seq, known_at): (u64, DateTime<Utc>),
        trust: Option<&OdsCode>,
        exclude: bool,
        fetch: &mut dyn FnMut(u64) -> Result<KnownRecord, E>,
    ) -> Result<Option<MoneyAt>, E> {
        if seq > self.last_seq() {
            return Ok(None);
        }
        let (prefix_seq, beyond) = self.known_beyond(seq, known_at);
        if beyond.is_empty() {
            return Ok(self.money_at(prefix_seq, trust, exclude));
        }
        let mut overlay = Overlay {
            history: self,
            prefix_seq,
            known_at,
            trusts: HashMap::new(),
            removed: [HashSet::new(), HashSet::new()],
            synthetic: 0,
        };
        for s in beyond {
            overlay.apply(s, &fetch(s)?);
        }
        Ok(Some(overlay.answer(trust, exclude)))
    }
}

impl Overlay<'_> {
    /// Whether the records beyond the prefix made `what` true of trust `i`.
    fn holds(&self, i: u32, what: impl Fn(&TrustChange) -> bool) -> bool {
        self.trusts.get(&i).is_some_and(what)
    }

    fn seen(&self, i: u32, f: usize) -> bool {
        let t = &self.history.trusts[i as usize];
        let exclude = f == 1;
        let recovery = t.recovery_at(self.prefix_seq, exclude)
            + self.trusts.get(&i).map_or(0, |c| c.recovery[f]);
        t.state.holds_at(self.prefix_seq, exclude)
            || t.claims.holds_at(self.prefix_seq, exclude)
            || self.holds(i, |c| c.state[f] || c.claims[f])
            || recovery > 0
    }

    fn view(&self, trust: Option<&OdsCode>, f: usize) -> money::MoneyView {
        let exclude = f == 1;
        let mut selected: Vec<(&OdsCode, MoneyState)> = Vec::new();
        for (i, t) in self.history.trusts.iter().enumerate() {
            let i = i as u32;
            if trust.is_some_and(|c| *c != t.code) {
                continue;
            }
            if !(t.state.holds_at(self.prefix_seq, exclude) || self.holds(i, |c| c.state[f])) {
                continue;
            }
            let state = match self.trusts.get(&i).and_then(|c| c.money[f].clone()) {
                Some(s) => s,
                None => t.state_at(self.prefix_seq, exclude),
            };
            selected.push((&t.code, state));
        }
        selected.sort_by(|a, b| a.0.cmp(b.0));
        money::view(selected.iter().map(|(code, s)| (code.as_str(), s)))
    }

    fn answer(&self, trust: Option<&OdsCode>, exclude: bool) -> MoneyAt {
        let f = usize::from(exclude);
        if let Some(code) = trust
            && !self
                .history
                .index
                .get(code)
                .is_some_and(|&i| self.seen(i, f))
        {
            return MoneyAt::NoEvents;
        }
        let events = self.history.synthetic_at(self.prefix_seq) + self.synthetic;
        MoneyAt::View(Box::new(if exclude {
            Marked::excluded(self.view(trust, 1), events)
        } else {
            let sourced = (events > 0).then(|| self.view(trust, 1));
            Marked::compared(self.view(trust, 0), sourced.as_ref(), events)
        }))
    }
}
