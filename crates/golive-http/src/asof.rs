//! As-of projections: the ledger as it stood right after a given sequence, computed from the
//! nearest snapshot at or before it plus a replay of the records after it
//! (`golive_ledger::projections_at`), on a clone of the store handle, so the ledger's lock is never
//! held while it runs.
//!
//! Known-at projections (`known_at=T`: only the records recorded by T,
//! `golive_ledger::projections_known_at`, a fold from the first record) are computed and kept the
//! same way, keyed by (sequence, known-at time).
//!
//! The last few answers are cached: an analyst (or a dashboard) asking about the same moment
//! again gets it without another replay. Concurrent requests for the same key share one
//! computation, and at most [`AS_OF_COMPUTATIONS_MAX`] computations run at once, because each
//! builds a full copy of the projections.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use golive_ledger::{Metrics, SharedMoneyHistory, projections_at, projections_known_at};
use golive_model::OdsCode;
use golive_projections::{KnownRecord, MoneyAt, MoneyHistory, Projections};
use golive_store::{Store, StoreError};
use tokio::sync::{OnceCell, Semaphore};

use crate::ApiError;

/// As-of and known-at projections kept in memory (each is a full copy of the projections at
/// that point).
pub const AS_OF_CACHE_ENTRIES: usize = 4;
/// As-of and known-at projections computed at the same time, at most.
pub const AS_OF_COMPUTATIONS_MAX: usize = 2;

type Slot = Arc<OnceCell<Arc<Projections>>>;

/// What a cached state is: right after this sequence, of every record or (known-at) only of
/// those recorded at or before the time.
type Key = (u64, Option<DateTime<Utc>>);

/// The cache of recent as-of and known-at projections, most recently used first.
pub struct AsOfCache {
    store: Store,
    /// The ledger's money history: money as-of answers without a fold (see [`Self::money_at`]).
    money: SharedMoneyHistory,
    slots: Mutex<VecDeque<(Key, Slot)>>,
    permits: Semaphore,
}

impl AsOfCache {
    pub fn new(store: Store, money: SharedMoneyHistory) -> Self {
        Self {
            store,
            money,
            slots: Mutex::new(VecDeque::with_capacity(AS_OF_CACHE_ENTRIES + 1)),
            permits: Semaphore::new(AS_OF_COMPUTATIONS_MAX),
        }
    }

    /// The money view right after record `seq` from the ledger's money history, off the async
    /// threads; `None` when there is no history yet (it is built at start).
    pub async fn money_at(
        &self,
        seq: u64,
        trust: Option<OdsCode>,
        exclude: bool,
        metrics: &Metrics,
    ) -> Result<Option<MoneyAt>, ApiError> {
        self.ask_history(metrics, move |h, _| {
            Ok(h.money_at(seq, trust.as_ref(), exclude))
        })
        .await
    }

    /// The money view right after record `seq` of only the records recorded by `known_at`, from
    /// the ledger's money history (the records it folds beyond its prefix read back from the
    /// store), off the async threads; `None` when there is no history yet.
    pub async fn money_known_at(
        &self,
        (seq, known_at): (u64, DateTime<Utc>),
        trust: Option<OdsCode>,
        exclude: bool,
        metrics: &Metrics,
    ) -> Result<Option<MoneyAt>, ApiError> {
        self.ask_history(metrics, move |h, store| {
            let mut fetch = |s: u64| known_record(store, s);
            h.money_known_at((seq, known_at), trust.as_ref(), exclude, &mut fetch)
        })
        .await
    }

    /// `answer` of the installed money history (and the store), on a blocking thread under the
    /// history's read lock, counted when it answers; `None` when there is no history yet.
    async fn ask_history(
        &self,
        metrics: &Metrics,
        answer: impl FnOnce(&MoneyHistory, &Store) -> Result<Option<MoneyAt>, StoreError>
        + Send
        + 'static,
    ) -> Result<Option<MoneyAt>, ApiError> {
        let (money, store) = (self.money.clone(), self.store.clone());
        let found = tokio::task::spawn_blocking(move || {
            let history = money.read().unwrap_or_else(|e| e.into_inner());
            history.as_ref().map_or(Ok(None), |h| answer(h, &store))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("money history answer failed: {e}")))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        if found.is_some() {
            metrics
                .as_of_money_history
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(found)
    }

    /// The projections right after record `seq` (which must be at or below the head); with
    /// `known_at`, of only the records up to `seq` recorded at or before it.
    pub async fn projections(
        &self,
        seq: u64,
        known_at: Option<DateTime<Utc>>,
        metrics: &Metrics,
    ) -> Result<Arc<Projections>, ApiError> {
        let key = (seq, known_at);
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            let slot = match slots.iter().position(|(k, _)| *k == key) {
                Some(i) => slots.remove(i).map(|(_, c)| c).unwrap_or_default(),
                None => Slot::default(),
            };
            slots.push_front((key, slot.clone()));
            slots.truncate(AS_OF_CACHE_ENTRIES);
            slot
        };
        if let Some(p) = slot.get() {
            metrics
                .as_of_cache_hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok(p.clone());
        }
        let p = slot
            .get_or_try_init(|| async {
                // The asking token's own bound first (429 at it), then the global one (wait).
                let _mine = crate::limits::as_of_permit()?;
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| ApiError::Internal("as-of computation closed".into()))?;
                let store = self.store.clone();
                let (p, replayed) = tokio::task::spawn_blocking(move || {
                    let mut replayed = 0;
                    let p = match known_at {
                        // A known-at fold reads every record up to `seq`.
                        Some(t) => projections_known_at(&store, seq, t).inspect(|_| replayed = seq),
                        None => projections_at(&store, seq, &mut |_, total| replayed = total),
                    }?;
                    Ok::<_, golive_ledger::LedgerError>((p, replayed))
                })
                .await
                .map_err(|e| ApiError::Internal(format!("as-of computation failed: {e}")))?
                .map_err(|e| ApiError::Internal(e.to_string()))?;
                metrics
                    .as_of_computed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                metrics
                    .as_of_replayed_records
                    .fetch_add(replayed, std::sync::atomic::Ordering::Relaxed);
                Ok::<_, ApiError>(Arc::new(p))
            })
            .await?;
        Ok(p.clone())
    }
}

/// The record at `seq` and the event it corrects, read back for a known-at money answer.
fn known_record(store: &Store, seq: u64) -> Result<KnownRecord, StoreError> {
    let missing = |what: String| StoreError::Corrupt { seq, what };
    let record = store
        .get(seq)?
        .ok_or_else(|| missing("the record is missing below the head".to_owned()))?;
    let superseded = match record.envelope.supersedes {
        None => None,
        Some(target) => Some(
            store
                .record_of(&target)?
                .ok_or_else(|| missing(format!("the event it corrects ({target}) is missing")))?
                .envelope,
        ),
    };
    Ok((record.envelope, superseded))
}
