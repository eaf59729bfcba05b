//! The store plus its live projections, snapshots and as-of answers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use golive_model::{Envelope, EventId};
use golive_projections::{ClaimRules, ClaimsView, Cut, Marked, MoneyHistory, Projections};
use golive_store::{Head, Incoming, Outcome, Record, Store, StoreError};
use golive_verify::TrustKeys;

/// Snapshots get sparser as the log grows: the next is due at least this fraction (1/N) of
/// the log after the last one (see [`LedgerOptions::snapshot_due`]).
pub const SNAPSHOT_GAP_FRACTION: u64 = 4;

/// Tuning of a [`Ledger`].
#[derive(Debug, Clone, Copy)]
pub struct LedgerOptions {
    /// A projection snapshot is written after this many appended events (or more: see
    /// [`LedgerOptions::snapshot_due`]).
    pub snapshot_every_events: u64,
    /// How many snapshots to keep (oldest pruned first); they serve as-of queries.
    pub snapshots_kept_max: usize,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        Self {
            snapshot_every_events: 10_000,
            snapshots_kept_max: 16,
        }
    }
}

impl LedgerOptions {
    /// Whether a snapshot is due at `head` when the last one is at `last`: after
    /// `snapshot_every_events`, or after a quarter of the log if that is more. A snapshot
    /// is a snapshot of the whole state, which grows with the log, so a fixed interval makes
    /// snapshotting cost (time, bytes written and kept) grow with the square of the log
    /// (measured: 8.8 KB per event on disk and 9 GB of RSS at 1M events with JSON snapshots
    /// every 10,000 events, docs/BENCHMARKS.md); growing gaps keep it linear, at the price of
    /// a computed as-of answer replaying up to a quarter of the log.
    pub fn snapshot_due(&self, last: u64, head: u64) -> bool {
        let gap = self
            .snapshot_every_events
            .max(last / SNAPSHOT_GAP_FRACTION)
            .max(1);
        head >= last.saturating_add(gap)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sequence {asked} is beyond the ledger's head ({head})")]
    BeyondHead { asked: u64, head: u64 },
    #[error(
        "record {seq} supersedes event {target}, which is not in the log: the store is inconsistent; run `golive replay` after restoring from a backup"
    )]
    MissingSuperseded { seq: u64, target: String },
    #[error("could not read the input: {0}")]
    Read(String),
}

/// The ledger's money history, shared with the readers that answer money as-of questions
/// (`golive-http`): `None` until [`Ledger::install_money_history`] installed one, then kept up
/// to the head by every append.
pub type SharedMoneyHistory = Arc<RwLock<Option<MoneyHistory>>>;

/// Called during long replays with (records done, records in total).
pub type ReplayProgress<'a> = &'a mut dyn FnMut(u64, u64);

/// The ledger: the durable log and the projections folded from it.
pub struct Ledger {
    store: Store,
    live: Projections,
    options: LedgerOptions,
    last_snapshot_seq: u64,
    /// `received_at` of the head record: no later record gets an earlier one.
    last_received_at: Option<DateTime<Utc>>,
    /// Signs checkpoints of the Merkle tree, once enabled (see `crate::signing`).
    signing: Option<crate::signing::CheckpointSigner>,
    /// Each trust's signature policy and keys: the origin every event must show to be appended
    /// (`golive_verify::TrustKeys::check`, applied by the consumer loop and by ingest). The
    /// config's keys (`config_keys`) with the log's `trust_key` events applied in log order.
    trust_keys: Arc<TrustKeys>,
    config_keys: TrustKeys,
    /// How many of the projections' `trust_key` changes `trust_keys` holds.
    key_changes_applied: usize,
    money_history: SharedMoneyHistory,
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir` and brings the projections up to the head from the
    /// latest readable snapshot.
    pub fn open(dir: &Path, options: LedgerOptions) -> Result<Self, LedgerError> {
        let store = Store::open(dir)?;
        let head = store.head().seq;
        // Snapshots of another format version (an upgrade) or damaged ones are rebuilt once,
        // here, so that as-of answers do not each replay from the first record. The latest one
        // is read and decoded once (at 10M events it is hundreds of megabytes).
        let (live, last_snapshot_seq, unreadable) = match load_snapshot(&store, head)? {
            Ok(base) => {
                let base = base.unwrap_or_default();
                let seq = base.last_seq();
                (replay_onto(&store, base, head, &mut |_, _| {})?, seq, None)
            }
            Err((seq, why)) => (Projections::new(), seq, Some(why)),
        };
        let last_received_at = match head {
            0 => None,
            seq => store.get(seq)?.map(|r| r.received_at),
        };
        let mut ledger = Self {
            store,
            live,
            options,
            last_snapshot_seq,
            last_received_at,
            signing: None,
            trust_keys: Arc::default(),
            config_keys: TrustKeys::default(),
            key_changes_applied: 0,
            money_history: SharedMoneyHistory::default(),
        };
        if let Some(e) = unreadable {
            tracing::warn!(
                snapshot_seq = ledger.last_snapshot_seq,
                error = %e,
                head,
                "projection snapshots are unreadable (another snapshot version?); rebuilding \
                 them from the log once"
            );
            ledger.rebuild(&mut |_, _| {})?;
        }
        ledger.refresh_trust_keys();
        Ok(ledger)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The config's trust keys (and admin keys); the log's `trust_key` events are applied on
    /// top of them, and every event's origin is checked against the result from now on.
    pub fn set_trust_keys(&mut self, config_keys: TrustKeys) {
        self.config_keys = config_keys;
        self.key_changes_applied = 0;
        self.trust_keys = Arc::new(self.config_keys.clone());
        self.refresh_trust_keys();
    }

    /// Applies the `trust_key` events folded in since the last call to the keys in force. Each
    /// was checked against the keys in force when it was admitted, so a refusal here means a
    /// config that changed since (a key revoked in the config at another time): it is logged
    /// and that change is skipped, as the auditor reports it.
    fn refresh_trust_keys(&mut self) {
        let changes = self.live.trust_key_changes();
        if changes.len() <= self.key_changes_applied {
            return;
        }
        let keys = Arc::make_mut(&mut self.trust_keys);
        for fact in &changes[self.key_changes_applied..] {
            if let Err(e) = keys.apply(fact.trust.as_str(), &fact.change) {
                tracing::warn!(seq = fact.seq, trust = %fact.trust, error = %e, "a trust_key event of the log does not apply to the configured keys; skipped");
            }
        }
        self.key_changes_applied = changes.len();
    }

    pub fn trust_keys(&self) -> Arc<TrustKeys> {
        self.trust_keys.clone()
    }

    pub fn head(&self) -> Head {
        self.store.head()
    }

    /// The projections at the head.
    pub fn projections(&self) -> &Projections {
        &self.live
    }

    /// Appends a batch durably (one store transaction, flushed), then folds what was appended
    /// into the live projections. Duplicates and rejected corrections are reported, not applied.
    ///
    /// **Invariant:** `received_at` never decreases along the log: a time earlier than the
    /// previous record's (the clock stepped back) is raised to it. This is what lets
    /// [`seq_received_by`] find "the ledger as it stood at time t" by binary search.
    pub fn append(&mut self, mut batch: Vec<Incoming>) -> Result<Vec<Outcome>, LedgerError> {
        let mut floor = self.last_received_at;
        for incoming in &mut batch {
            if let Some(f) = floor
                && incoming.received_at < f
            {
                incoming.received_at = f;
            }
            floor = Some(incoming.received_at);
        }
        let envelopes: Vec<Envelope> = batch.iter().map(|i| i.envelope.clone()).collect();
        let received: Vec<DateTime<Utc>> = batch.iter().map(|i| i.received_at).collect();
        let outcomes = self.store.append_batch(batch)?;
        // Readers of the money history wait for the batch, not for each record.
        let money_history = self.money_history.clone();
        let mut money = money_history.write().unwrap_or_else(|e| e.into_inner());
        for ((envelope, outcome), at) in envelopes.iter().zip(&outcomes).zip(received) {
            if let Outcome::Appended { seq } = outcome {
                self.last_received_at = Some(at);
                let superseded = superseded_of(&self.store, *seq, envelope)?;
                self.live.apply(*seq, envelope, superseded.as_ref());
                if let Some(h) = money.as_mut() {
                    h.apply(*seq, envelope, superseded.as_ref());
                }
            }
        }
        drop(money);
        self.refresh_trust_keys();
        let head = self.store.head().seq;
        // The batch is durable already: a projection snapshot or a signed checkpoint that
        // cannot be written now is written later, and must not make the caller believe the
        // append failed (it would be retried, and redelivered events are duplicates).
        if self.options.snapshot_due(self.last_snapshot_seq, head)
            && let Err(e) = self.write_snapshot()
        {
            // Not again on the next batch: encoding a snapshot costs time in proportion to the
            // state, so a refused one (too big, disk full) is tried again only a gap later.
            self.last_snapshot_seq = head;
            tracing::warn!(
                error = %e,
                "could not write a projection snapshot; the next is tried a snapshot gap later"
            );
        }
        if let Err(e) = self.sign_checkpoint_if_due() {
            tracing::warn!(error = %e, "could not sign a checkpoint; will retry");
        }
        Ok(outcomes)
    }

    /// The money history readers share (see [`SharedMoneyHistory`]).
    pub fn money_history(&self) -> SharedMoneyHistory {
        self.money_history.clone()
    }

    /// Brings `history` (built by [`extend_money_history`] off the ledger's lock, from the log as
    /// it stood then) up to the head and installs it: from now on every append keeps it there.
    pub fn install_money_history(&mut self, mut history: MoneyHistory) -> Result<(), LedgerError> {
        extend_money_history(&self.store, &mut history, self.store.head().seq)?;
        *self
            .money_history
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(history);
        Ok(())
    }

    /// Signs checkpoints of the Merkle tree from now on (every N events or T seconds).
    pub fn enable_checkpoint_signing(&mut self, signer: crate::signing::CheckpointSigner) {
        self.signing = Some(signer);
    }

    /// The checkpoint signer, when signing is enabled.
    pub fn checkpoint_signer(&self) -> Option<&crate::signing::CheckpointSigner> {
        self.signing.as_ref()
    }

    /// Signs a checkpoint at the head if one is due (also called by the service when idle, so
    /// that the last events get signed within T seconds). Returns the tree size signed.
    pub fn sign_checkpoint_if_due(&mut self) -> Result<Option<u64>, LedgerError> {
        match &mut self.signing {
            Some(s) if s.is_due(self.store.head().seq) => s.sign(&self.store),
            _ => Ok(None),
        }
    }

    /// Signs a checkpoint at the head now, unless the head is already signed (end of an ingest,
    /// clean shutdown).
    pub fn sign_checkpoint(&mut self) -> Result<Option<u64>, LedgerError> {
        match &mut self.signing {
            Some(s) => s.sign(&self.store),
            None => Ok(None),
        }
    }

    /// Writes a snapshot of the live projections at the head now.
    pub fn write_snapshot(&mut self) -> Result<(), LedgerError> {
        let seq = self.live.last_seq();
        if seq == 0 || seq == self.last_snapshot_seq {
            return Ok(());
        }
        let snapshot = self.live.to_snapshot();
        self.store.put_snapshot(seq, &snapshot)?;
        self.store
            .prune_snapshots(self.options.snapshots_kept_max)?;
        self.last_snapshot_seq = seq;
        tracing::debug!(seq, bytes = snapshot.len(), "projection snapshot written");
        Ok(())
    }

    /// The projections as they were right after record `seq` was appended: the nearest snapshot
    /// at or before `seq`, plus a replay of the records after it.
    pub fn as_of(&self, seq: u64) -> Result<Projections, LedgerError> {
        let head = self.store.head().seq;
        if seq > head {
            return Err(LedgerError::BeyondHead { asked: seq, head });
        }
        if seq == self.live.last_seq() {
            return Ok(self.live.clone());
        }
        projections_at(&self.store, seq, &mut |_, _| {})
    }

    /// Rebuilds the projections from the first record, replacing every snapshot. On an error
    /// the live projections are left empty: drop the ledger and open it again (every caller
    /// returns the error and does).
    pub fn rebuild(&mut self, progress: ReplayProgress<'_>) -> Result<(), LedgerError> {
        self.store.prune_snapshots(0)?;
        let head = self.store.head().seq;
        // The state being replaced goes first: holding both doubled the peak memory of
        // `golive replay` (docs/BENCHMARKS.md). Until the fold ends, `live` is empty.
        self.live = Projections::new();
        let mut p = Projections::new();
        let mut done = 0;
        let mut last = 0;
        let mut fold = Fold::new(&self.store)?;
        for record in self.store.iter_from(1) {
            let record = record?;
            let seq = record.seq;
            fold.apply(&mut p, record)?;
            done += 1;
            if self.options.snapshot_due(last, seq) {
                self.store.put_snapshot(seq, &p.to_snapshot())?;
                self.store
                    .prune_snapshots(self.options.snapshots_kept_max)?;
                last = seq;
            }
            if done % 4096 == 0 {
                progress(done, head);
            }
        }
        progress(done, head);
        self.live = p;
        self.last_snapshot_seq = 0;
        self.write_snapshot()?;
        self.store.flush()?;
        Ok(())
    }
}

/// Every projection folded from the first record of the log to the head, no snapshot read
/// or written: the full replay an auditor (or a benchmark) means. [`Ledger::rebuild`] is this
/// plus writing the snapshots that as-of queries start from.
pub fn replay_from_start(
    store: &Store,
    progress: ReplayProgress<'_>,
) -> Result<Projections, LedgerError> {
    replay_onto(store, Projections::new(), store.head().seq, progress)
}

/// Folds the records after `history`'s last sequence up to `to_seq` into it (from the first
/// record for a new history: one pass, no snapshot, since the history is of every sequence).
/// [`Ledger::install_money_history`] brings it up to the head.
pub fn extend_money_history(
    store: &Store,
    history: &mut MoneyHistory,
    to_seq: u64,
) -> Result<(), LedgerError> {
    let from = history.last_seq() + 1;
    if from > to_seq {
        return Ok(());
    }
    let mut fold = Fold::new(store)?;
    for record in store.range(from, to_seq) {
        fold.visit(record?, |seq, e, old| history.apply(seq, e, old))?;
    }
    Ok(())
}

/// Builds the money history of `ledger`'s log and installs it, holding the ledger's lock only
/// for the last records (those appended while the rest was read). Meant for a thread of its
/// own at start: until it returns, money as-of answers are folds like the others. Returns the
/// sequence the history was installed at.
pub fn build_money_history(ledger: &std::sync::Mutex<Ledger>) -> Result<u64, LedgerError> {
    let lock = || ledger.lock().unwrap_or_else(|e| e.into_inner());
    let store = lock().store().clone();
    let mut history = MoneyHistory::new();
    // Twice unlocked (the second pass reads what was appended during the first), then the rest
    // under the lock.
    for _ in 0..2 {
        let head = store.head().seq;
        extend_money_history(&store, &mut history, head)?;
    }
    let mut ledger = lock();
    ledger.install_money_history(history)?;
    Ok(ledger.head().seq)
}

/// [`build_money_history`] on a thread of its own, saying in `metrics` when the history is
/// ready (`golive_money_history_ready`) and logging how long it took, or why it failed (money
/// as-of answers then stay folds).
pub fn spawn_money_history_build(
    ledger: Arc<std::sync::Mutex<Ledger>>,
    metrics: Arc<crate::Metrics>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("money-history".to_owned())
        .spawn(move || {
            let started = std::time::Instant::now();
            match build_money_history(&ledger) {
                Ok(seq) => {
                    metrics
                        .money_history_ready
                        .store(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!(
                        seq,
                        seconds = started.elapsed().as_secs_f64(),
                        "money history built: money as-of answers need no fold from now on"
                    );
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    "could not build the money history; money as-of answers stay folds"
                ),
            }
        })
}

/// Projections up to `to_seq` from the nearest readable snapshot at or before it, plus replay.
pub fn projections_at(
    store: &Store,
    to_seq: u64,
    progress: ReplayProgress<'_>,
) -> Result<Projections, LedgerError> {
    let head = store.head().seq;
    if to_seq > head {
        return Err(LedgerError::BeyondHead {
            asked: to_seq,
            head,
        });
    }
    let p = match load_snapshot(store, to_seq)? {
        Ok(p) => p.unwrap_or_default(),
        Err((seq, why)) => {
            tracing::warn!(
                seq,
                error = %why,
                "projection snapshot unreadable; replaying the log from the start"
            );
            Projections::new()
        }
    };
    replay_onto(store, p, to_seq, progress)
}

/// What was on the public record at `known_at`, as the ledger stood after `upto_seq`: a fresh
/// fold, in seq order, of the records up to `upto_seq` whose `recorded_at` is at or before
/// `known_at` (docs/EVENTS.md, "The three times of an event"). No snapshot serves it (each holds
/// every record up to its seq), so it reads the log from the first record.
///
/// Corrections follow the filter: one recorded after `known_at` is left out, so the figure it
/// corrects stands; one recorded by then whose target was recorded later is folded as a plain
/// event (`superseded = None`), since nothing it replaces was on the record.
pub fn projections_known_at(
    store: &Store,
    upto_seq: u64,
    known_at: DateTime<Utc>,
) -> Result<Projections, LedgerError> {
    let head = store.head().seq;
    if upto_seq > head {
        return Err(LedgerError::BeyondHead {
            asked: upto_seq,
            head,
        });
    }
    let mut p = Projections::new();
    if upto_seq == 0 {
        return Ok(p);
    }
    let mut fold = Fold::new(store)?;
    fold.cut = Some(Cut {
        known_at: Some(known_at),
        occurred_by: None,
        synthetic: true,
    });
    for record in store.range(1, upto_seq) {
        fold.apply(&mut p, record?)?;
    }
    Ok(p)
}

/// One fresh fold per cut of the records up to `upto_seq`, in one read of the log: what the
/// claim register needs (see `golive_projections::Cut`). Corrections follow each cut as they
/// follow known-at (see [`projections_known_at`]).
pub fn projections_cuts(
    store: &Store,
    upto_seq: u64,
    cuts: &[Cut],
) -> Result<Vec<Projections>, LedgerError> {
    let head = store.head().seq;
    if upto_seq > head {
        return Err(LedgerError::BeyondHead {
            asked: upto_seq,
            head,
        });
    }
    let mut ps = vec![Projections::new(); cuts.len()];
    if upto_seq == 0 || cuts.is_empty() {
        return Ok(ps);
    }
    let mut fold = Fold::new(store)?;
    for record in store.range(1, upto_seq) {
        fold.apply_cuts(&mut ps, cuts, record?)?;
    }
    Ok(ps)
}

/// The claim register of the ledger as it stood after `upto_seq` (known at `known_at`, when
/// given): `now` is that projection (as the caller already holds it), the folds are made here.
pub fn claims_register(
    store: &Store,
    now: &Projections,
    upto_seq: u64,
    known_at: Option<DateTime<Utc>>,
    rules: &ClaimRules,
    trust: Option<&golive_model::OdsCode>,
) -> Result<ClaimsView, LedgerError> {
    let cuts = now.claim_cuts(rules, known_at, trust);
    let folds = projections_cuts(store, upto_seq, &cuts)?;
    // A finding's sources and dates are read back by event id. The folds just read every
    // record, so an error here is new damage: said, and the finding shown without them.
    let lookup = |id: &EventId| -> Option<Envelope> {
        let read = store
            .seq_of(id)
            .and_then(|seq| seq.map_or(Ok(None), |seq| store.get(seq)));
        match read {
            Ok(record) => record.map(|r| r.envelope),
            Err(e) => {
                tracing::warn!(event = %id, error = %e, "claim register: cannot read an event back");
                None
            }
        }
    };
    Ok(now.claims_register(rules, known_at, trust, &folds, &lookup))
}

/// [`claims_register`], marked as every view is (its synthetic share: the register minus the
/// register of the non-synthetic events only); with `exclude`, the register of the
/// non-synthetic events only. Either way the sourced-only register counts no synthetic event as
/// evidence, whatever `[claims] count_synthetic` says.
pub fn claims_register_marked(
    store: &Store,
    now: &Projections,
    at: (u64, Option<DateTime<Utc>>),
    rules: &ClaimRules,
    trust: Option<&golive_model::OdsCode>,
    exclude: bool,
) -> Result<Marked<ClaimsView>, LedgerError> {
    let events = now.synthetic_events();
    let (view, sourced) = claims_register_both(store, now, at, rules, trust, exclude)?;
    Ok(if exclude {
        Marked::excluded(view, events)
    } else {
        Marked::compared(view, sourced.as_ref(), events)
    })
}

/// The register and, when `now` has synthetic events, the register of the sourced-only
/// projections (synthetic claims not counted) to hold it against; with `exclude`, that one
/// alone. What [`claims_register_marked`] marks, and what a table is marked against.
pub fn claims_register_both(
    store: &Store,
    now: &Projections,
    (upto_seq, known_at): (u64, Option<DateTime<Utc>>),
    rules: &ClaimRules,
    trust: Option<&golive_model::OdsCode>,
    exclude: bool,
) -> Result<(ClaimsView, Option<ClaimsView>), LedgerError> {
    let sourced_rules = ClaimRules {
        count_synthetic: false,
        ..rules.clone()
    };
    let sourced = || {
        claims_register(
            store,
            now.sourced_only(),
            upto_seq,
            known_at,
            &sourced_rules,
            trust,
        )
    };
    if exclude {
        return Ok((sourced()?, None));
    }
    let view = claims_register(store, now, upto_seq, known_at, rules, trust)?;
    let without = match now.synthetic_events() {
        0 => None,
        _ => Some(sourced()?),
    };
    Ok((view, without))
}

/// The snapshot at or before `seq`, decoded: `Ok(None)` when there is none, `Err((its seq,
/// why))` when it cannot be read as this build's snapshot of that seq.
fn load_snapshot(
    store: &Store,
    seq: u64,
) -> Result<Result<Option<Projections>, (u64, String)>, LedgerError> {
    Ok(match store.snapshot_at_or_before(seq)? {
        None => Ok(None),
        Some((at, bytes)) => match Projections::from_snapshot(&bytes) {
            Ok(p) if p.last_seq() == at => Ok(Some(p)),
            Ok(p) => Err((
                at,
                format!("it is stored at seq {at} but holds seq {}", p.last_seq()),
            )),
            Err(e) => Err((at, e.to_string())),
        },
    })
}

/// Folds the records after `p`'s last seq up to `to_seq` into `p`.
fn replay_onto(
    store: &Store,
    mut p: Projections,
    to_seq: u64,
    progress: ReplayProgress<'_>,
) -> Result<Projections, LedgerError> {
    let from = p.last_seq() + 1;
    let total = to_seq.saturating_sub(p.last_seq());
    let mut done = 0;
    if from <= to_seq {
        let mut fold = Fold::new(store)?;
        for record in store.range(from, to_seq) {
            fold.apply(&mut p, record?)?;
            done += 1;
            if done % 4096 == 0 {
                progress(done, total);
            }
        }
    }
    progress(done, total);
    Ok(p)
}

/// The last sequence whose record was received at or before `t`: the head of the ledger as it
/// stood at that time (0 when nothing had been received yet). A binary search over the log, which
/// relies on `received_at` never decreasing along it (see [`Ledger::append`]).
pub fn seq_received_by(store: &Store, t: DateTime<Utc>) -> Result<u64, LedgerError> {
    let head = store.head().seq;
    let received = |seq: u64| -> Result<DateTime<Utc>, LedgerError> {
        store.get(seq)?.map(|r| r.received_at).ok_or_else(|| {
            LedgerError::Store(StoreError::Corrupt {
                seq,
                what: "the record is missing below the head".to_owned(),
            })
        })
    };
    // Invariant of the loop: received(lo) <= t (or lo == 0), received(hi + 1) > t (or hi == head).
    let (mut lo, mut hi) = (0u64, head);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if received(mid)? <= t {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// Folds records into projections in seq order. The events that a later record supersedes (the
/// store's superseded index names them) are kept in memory from their own record until their
/// correction is folded, so that a correction needs no random read of the log; a target before
/// the fold's first record is read from the log. Profiled: the random reads were about a third
/// of a full replay (docs/BENCHMARKS.md).
struct Fold<'a> {
    store: &'a Store,
    corrected_by: HashMap<EventId, u64>,
    kept: HashMap<EventId, Envelope>,
    /// A cut fold (known-at is one): only the events it admits count, as records and as the
    /// targets of corrections (see [`projections_known_at`]).
    cut: Option<Cut>,
}

impl<'a> Fold<'a> {
    fn new(store: &'a Store) -> Result<Self, LedgerError> {
        Ok(Self {
            store,
            corrected_by: store.superseded_index()?,
            kept: HashMap::new(),
            cut: None,
        })
    }

    /// Whether `e` is on the record this fold is of (every event, unless it is a cut fold).
    fn known(&self, e: &Envelope) -> bool {
        self.cut.is_none_or(|c| c.admits(e))
    }

    fn apply(&mut self, p: &mut Projections, record: Record) -> Result<(), LedgerError> {
        self.visit(record, |seq, e, old| p.apply(seq, e, old))
    }

    /// Hands `fold` the record's seq, its event and the event it supersedes (as
    /// `Projections::apply` takes them), if the record is on this fold's record.
    fn visit(
        &mut self,
        record: Record,
        fold: impl FnOnce(u64, &Envelope, Option<&Envelope>),
    ) -> Result<(), LedgerError> {
        if !self.known(&record.envelope) {
            return Ok(());
        }
        let superseded = self.superseded(&record)?.filter(|e| self.known(e));
        fold(record.seq, &record.envelope, superseded.as_ref());
        self.keep(record);
        Ok(())
    }

    /// Folds one record into each of `ps` whose cut admits it (this fold's own cut is unused).
    fn apply_cuts(
        &mut self,
        ps: &mut [Projections],
        cuts: &[Cut],
        record: Record,
    ) -> Result<(), LedgerError> {
        let admitted: Vec<usize> = (0..cuts.len())
            .filter(|&i| cuts[i].admits(&record.envelope))
            .collect();
        // A record no cut admits is no cut's correction target either: nothing to keep.
        if admitted.is_empty() {
            return Ok(());
        }
        let superseded = self.superseded(&record)?;
        for i in admitted {
            let target = superseded.as_ref().filter(|e| cuts[i].admits(e));
            ps[i].apply(record.seq, &record.envelope, target);
        }
        self.keep(record);
        Ok(())
    }

    /// The event `record` corrects: kept in memory since its own record, or read from the log.
    fn superseded(&mut self, record: &Record) -> Result<Option<Envelope>, LedgerError> {
        Ok(match record.envelope.supersedes {
            None => None,
            Some(target) => match self.kept.remove(&target) {
                Some(e) => Some(e),
                None => superseded_of(self.store, record.seq, &record.envelope)?,
            },
        })
    }

    /// Keeps the record's event while a later record will correct it.
    fn keep(&mut self, record: Record) {
        let id = record.envelope.event_id;
        if self
            .corrected_by
            .get(&id)
            .is_some_and(|&by| by > record.seq)
        {
            self.kept.insert(id, record.envelope);
        }
    }
}

/// The earlier event a correction replaces, read from the log.
fn superseded_of(store: &Store, seq: u64, e: &Envelope) -> Result<Option<Envelope>, LedgerError> {
    let Some(target) = e.supersedes else {
        return Ok(None);
    };
    let missing = || LedgerError::MissingSuperseded {
        seq,
        target: target.to_string(),
    };
    let target_seq = store.seq_of(&target)?.ok_or_else(missing)?;
    let record = store.get(target_seq)?.ok_or_else(missing)?;
    // The id index is read from disk: one that maps the target to another event's record is
    // damage to report here, before `Projections::apply` asserts the match (a bug of ours).
    if record.envelope.event_id != target {
        return Err(LedgerError::Store(StoreError::Corrupt {
            seq: target_seq,
            what: format!(
                "the id index maps event {target} to seq {target_seq}, whose record is event {}",
                record.envelope.event_id
            ),
        }));
    }
    Ok(Some(record.envelope))
}
