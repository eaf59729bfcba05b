//! [`Store`]: the sled database, its trees and every operation on them.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use golive_model::{CollectorId, EventId, chain_hash};
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};
use sled::{Transactional, Tree};

use crate::codec;
use crate::error::{ChainError, RejectReason, StoreError};
use crate::{
    APPEND_BATCH_EVENTS_MAX, CHECKPOINT_BYTES_MAX, DEAD_LETTER_RAW_BYTES_MAX,
    DEAD_LETTER_TEXT_BYTES_MAX, DeadLetter, FORMAT_VERSION, Head, Incoming, META_KEY_BYTES_MAX,
    META_VALUE_BYTES_MAX, NewDeadLetter, OPEN_LOCK_WAIT_MS_MAX, Outcome, Record,
};

const META_HEAD: &[u8] = b"head";
/// Pause between attempts to take the store's lock.
const OPEN_LOCK_RETRY_MS: u64 = 20;
const META_FORMAT: &[u8] = b"format_version";
/// Named values of callers live under this prefix, apart from the store's own keys.
const META_USER_PREFIX: &[u8] = b"user/";

/// A handle on an open store. Cloning is cheap and every clone sees the same store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: sled::Db,
    log: Tree,
    ids: Tree,
    meta: Tree,
    collectors: Tree,
    superseded: Tree,
    checkpoints: Tree,
    dead: Tree,
    /// Serialises appends: the chain has exactly one writer at a time.
    append: Mutex<()>,
    /// The head as of the last successful flush: what callers may rely on.
    head: Mutex<Head>,
    /// Id of the last dead letter; the lock also serialises adding them.
    dead_last: Mutex<u64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("head", &self.head())
            .finish()
    }
}

/// A panic while one of these locks was held cannot leave its value half-written (each holds a
/// plain value set in one assignment, or nothing), so a poisoned lock is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn sled_error(path: &Path, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(source) => StoreError::Io {
            path: path.to_owned(),
            source,
        },
        other => StoreError::Engine {
            path: path.to_owned(),
            source: other,
        },
    }
}

/// sled reports a held lock as a plain IO error whose text says so; nothing else tells it apart.
fn open_error(path: &Path, e: sled::Error) -> StoreError {
    if let sled::Error::Io(io) = &e
        && io.to_string().contains("could not acquire lock")
    {
        return StoreError::Locked {
            path: path.to_owned(),
        };
    }
    sled_error(path, e)
}

/// Opens sled, waiting a bounded time for a lock that a store closed a moment ago in this
/// process may still hold: sled's background writer threads let go of the file just after the
/// last handle is dropped. A lock held by another process outlasts the wait and is reported.
fn open_db(path: &Path) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new().path(path).open() {
            Ok(db) => return Ok(db),
            Err(e) => match open_error(path, e) {
                StoreError::Locked { .. }
                    if started.elapsed().as_millis() < u128::from(OPEN_LOCK_WAIT_MS_MAX) =>
                {
                    tracing::debug!(path = %path.display(), "store is locked; waiting");
                    std::thread::sleep(std::time::Duration::from_millis(OPEN_LOCK_RETRY_MS));
                }
                other => return Err(other),
            },
        }
    }
}

fn u64_value(tree: &'static str, bytes: &[u8]) -> Result<u64, StoreError> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| StoreError::CorruptTree {
        tree,
        what: format!("expected an 8-byte number, found {} bytes", bytes.len()),
    })?;
    Ok(u64::from_be_bytes(arr))
}

fn encode_head(h: &Head) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..8].copy_from_slice(&h.seq.to_be_bytes());
    out[8..].copy_from_slice(&h.hash);
    out
}

fn decode_head(bytes: &[u8]) -> Result<Head, StoreError> {
    if bytes.len() != 40 {
        return Err(StoreError::CorruptTree {
            tree: "meta",
            what: format!("head is {} bytes, expected 40", bytes.len()),
        });
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&bytes[..8]);
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&bytes[8..]);
    Ok(Head {
        seq: u64::from_be_bytes(seq),
        hash,
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Cuts `s` to at most `max` bytes at a character boundary.
fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Decodes one log entry and checks that the record sits under its own seq.
fn decode_log_entry(key: &[u8], value: &[u8]) -> Result<Record, StoreError> {
    let seq = u64_value("log", key)?;
    let record = codec::decode_record(value).map_err(|e| StoreError::Corrupt {
        seq,
        what: format!("the record does not decode: {e}"),
    })?;
    if record.seq != seq {
        return Err(StoreError::Corrupt {
            seq,
            what: format!(
                "the record stored under seq {seq} says it is seq {}",
                record.seq
            ),
        });
    }
    Ok(record)
}

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

impl Store {
    /// Opens the store in `dir`, creating it if missing. Checks the format version and that the
    /// last record decodes, carries the hash recomputed from its contents, and is the head that
    /// `meta` records; anything else is [`StoreError::Corrupt`] naming the seq.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.to_path_buf();
        let db = open_db(&path)?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| sled_error(&path, e));
        let log = tree("log")?;
        let ids = tree("ids")?;
        let meta = tree("meta")?;
        let collectors = tree("collectors")?;
        let superseded = tree("superseded")?;
        let checkpoints = tree("checkpoints")?;
        let dead = tree("dead")?;

        // The format first: a store of another version need not decode as this one.
        let format = read_format(&path, &meta)?;
        let head = check_head(&path, &meta, &log)?;
        if format.is_none() {
            init_format(&path, &db, &meta, head)?;
        }
        let dead_last = match dead.last().map_err(|e| sled_error(&path, e))? {
            Some((k, _)) => u64_value("dead", &k)?,
            None => 0,
        };
        tracing::info!(
            path = %path.display(),
            head_seq = head.seq,
            head_hash = %hex(&head.hash),
            dead_letters = dead_last,
            "opened ledger store"
        );
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                db,
                log,
                ids,
                meta,
                collectors,
                superseded,
                checkpoints,
                dead,
                append: Mutex::new(()),
                head: Mutex::new(head),
                dead_last: Mutex::new(dead_last),
            }),
        })
    }

    /// The directory this store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The durable head: the last record appended and flushed.
    pub fn head(&self) -> Head {
        *lock(&self.inner.head)
    }

    /// Number of records in the log; equals `head().seq`.
    pub fn len(&self) -> u64 {
        self.head().seq
    }

    /// True when the log has no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn err(&self, e: sled::Error) -> StoreError {
        sled_error(&self.inner.path, e)
    }

    /// Appends a batch in one transaction and flushes it. Returns one [`Outcome`] per event, in
    /// order. An event whose id is already in the ledger, or earlier in the batch, is a
    /// `Duplicate` of the first copy's seq. An event that supersedes another must name an
    /// event already appended (or earlier in this batch) of the same trust and kind that nothing
    /// superseded yet; otherwise it is `Rejected`. Appended events get consecutive seqs.
    pub fn append_batch(&self, batch: Vec<Incoming>) -> Result<Vec<Outcome>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        if batch.len() > APPEND_BATCH_EVENTS_MAX {
            return Err(StoreError::TooLarge {
                what: "the batch's number of events",
                len: batch.len() as u64,
                max: APPEND_BATCH_EVENTS_MAX as u64,
            });
        }
        let _writer = lock(&self.inner.append);
        let durable = self.head();
        let i = &*self.inner;
        let result = (&i.log, &i.ids, &i.meta, &i.collectors, &i.superseded).transaction(
            |(log, ids, meta, collectors, superseded)| {
                append_in_tx(
                    &batch,
                    &TxTrees {
                        log,
                        ids,
                        meta,
                        collectors,
                        superseded,
                    },
                )
            },
        );
        let (outcomes, head) = match result {
            Ok(v) => v,
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => return Err(self.err(e)),
        };
        // A batch of duplicates writes nothing and needs no flush, unless an earlier flush
        // failed and the head in sled is ahead of the durable one.
        if head != durable {
            self.flush()?;
            *lock(&self.inner.head) = head;
        }
        tracing::debug!(
            events = outcomes.len(),
            head_seq = head.seq,
            "appended batch"
        );
        Ok(outcomes)
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The record at `seq`, if the log has it.
    pub fn get(&self, seq: u64) -> Result<Option<Record>, StoreError> {
        let key = seq.to_be_bytes();
        match self.inner.log.get(key).map_err(|e| self.err(e))? {
            Some(v) => decode_log_entry(&key, &v).map(Some),
            None => Ok(None),
        }
    }

    /// The seq of the event with this id, if it was appended.
    pub fn seq_of(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        self.inner
            .ids
            .get(id.as_bytes())
            .map_err(|e| self.err(e))?
            .map(|v| u64_value("ids", &v))
            .transpose()
    }

    /// The seq of the correction that superseded the event with this id, if any.
    pub fn superseded_by(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        self.inner
            .superseded
            .get(id.as_bytes())
            .map_err(|e| self.err(e))?
            .map(|v| u64_value("superseded", &v))
            .transpose()
    }

    /// Records from `seq` on, in seq order. The iterator does not borrow the store.
    pub fn iter_from(&self, seq: u64) -> impl Iterator<Item = Result<Record, StoreError>> + use<> {
        self.records(self.inner.log.range(seq.to_be_bytes()..))
    }

    /// Records `from..=to_inclusive`, in seq order (none when `from > to_inclusive`).
    pub fn range(
        &self,
        from: u64,
        to_inclusive: u64,
    ) -> impl Iterator<Item = Result<Record, StoreError>> + use<> {
        let from_key = from.to_be_bytes();
        let iter = if from > to_inclusive {
            self.inner.log.range(from_key..from_key)
        } else {
            self.inner.log.range(from_key..=to_inclusive.to_be_bytes())
        };
        self.records(iter)
    }

    fn records(
        &self,
        iter: sled::Iter,
    ) -> impl Iterator<Item = Result<Record, StoreError>> + use<> {
        let path = self.inner.path.clone();
        iter.map(move |entry| {
            let (k, v) = entry.map_err(|e| sled_error(&path, e))?;
            decode_log_entry(&k, &v)
        })
    }

    /// Highest `collector_seq` appended from this collector: its durable receipt.
    pub fn collector_high(&self, c: &CollectorId) -> Result<Option<u64>, StoreError> {
        self.inner
            .collectors
            .get(c.as_str())
            .map_err(|e| self.err(e))?
            .map(|v| u64_value("collectors", &v))
            .transpose()
    }

    /// Every collector seen, with its highest `collector_seq` appended, ordered by id.
    pub fn collectors(&self) -> Result<Vec<(CollectorId, u64)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.inner.collectors.iter() {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            let id = std::str::from_utf8(&k).map_err(|_| StoreError::CorruptTree {
                tree: "collectors",
                what: format!("key {} is not UTF-8", hex(&k)),
            })?;
            out.push((CollectorId(id.to_owned()), u64_value("collectors", &v)?));
        }
        Ok(out)
    }

    /// Stores a projection snapshot taken at `seq` (not flushed: a lost checkpoint only costs a
    /// longer replay). `seq` must not be ahead of the head.
    pub fn put_checkpoint(&self, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let head = self.head().seq;
        if seq > head {
            return Err(StoreError::CheckpointAhead { seq, head });
        }
        if bytes.len() > CHECKPOINT_BYTES_MAX {
            return Err(StoreError::TooLarge {
                what: "the checkpoint's size in bytes",
                len: bytes.len() as u64,
                max: CHECKPOINT_BYTES_MAX as u64,
            });
        }
        self.inner
            .checkpoints
            .insert(seq.to_be_bytes(), bytes)
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The latest checkpoint taken at or before `seq`.
    pub fn checkpoint_at_or_before(&self, seq: u64) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        match self
            .inner
            .checkpoints
            .range(..=seq.to_be_bytes())
            .next_back()
        {
            None => Ok(None),
            Some(entry) => {
                let (k, v) = entry.map_err(|e| self.err(e))?;
                Ok(Some((u64_value("checkpoints", &k)?, v.to_vec())))
            }
        }
    }

    /// Seqs of all stored checkpoints, ascending.
    pub fn checkpoint_seqs(&self) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        for k in self.inner.checkpoints.iter().keys() {
            out.push(u64_value("checkpoints", &k.map_err(|e| self.err(e))?)?);
        }
        Ok(out)
    }

    /// Deletes all but the `keep` latest checkpoints. Returns how many were deleted.
    pub fn prune_checkpoints(&self, keep: usize) -> Result<u64, StoreError> {
        let mut deleted = 0u64;
        for k in self.inner.checkpoints.iter().keys().rev().skip(keep) {
            let k = k.map_err(|e| self.err(e))?;
            self.inner.checkpoints.remove(k).map_err(|e| self.err(e))?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Stores a dead letter and flushes it. Returns its id (from 1). Raw bytes beyond
    /// [`DEAD_LETTER_RAW_BYTES_MAX`] and text beyond [`DEAD_LETTER_TEXT_BYTES_MAX`] are cut.
    pub fn add_dead_letter(&self, d: NewDeadLetter) -> Result<u64, StoreError> {
        let raw_len = d.raw.len() as u64;
        let mut raw = d.raw;
        raw.truncate(DEAD_LETTER_RAW_BYTES_MAX);
        let mut last = lock(&self.inner.dead_last);
        let letter = DeadLetter {
            id: *last + 1,
            origin: cut(d.origin, DEAD_LETTER_TEXT_BYTES_MAX),
            raw,
            raw_len,
            field: d.field.map(|f| cut(f, DEAD_LETTER_TEXT_BYTES_MAX)),
            reason: cut(d.reason, DEAD_LETTER_TEXT_BYTES_MAX),
            received_at: d.received_at,
        };
        let mut buf = Vec::with_capacity(letter.raw.len() + 256);
        codec::encode_dead_letter(&letter, &mut buf)?;
        self.inner
            .dead
            .insert(letter.id.to_be_bytes(), buf)
            .map_err(|e| self.err(e))?;
        // The id is taken even if the flush fails, so a retry never overwrites this entry.
        *last = letter.id;
        drop(last);
        self.flush()?;
        tracing::debug!(id = letter.id, origin = %letter.origin, reason = %letter.reason, "dead letter");
        Ok(letter.id)
    }

    /// All dead letters in the order they were added.
    pub fn dead_letters(&self) -> impl Iterator<Item = Result<DeadLetter, StoreError>> + use<> {
        let path = self.inner.path.clone();
        self.inner.dead.iter().map(move |entry| {
            let (k, v) = entry.map_err(|e| sled_error(&path, e))?;
            let id = u64_value("dead", &k)?;
            codec::decode_dead_letter(&v).map_err(|source| StoreError::Decode {
                tree: "dead",
                key: id.to_string(),
                source,
            })
        })
    }

    /// Number of dead letters stored.
    pub fn dead_letter_count(&self) -> u64 {
        *lock(&self.inner.dead_last)
    }

    fn meta_key(key: &str) -> Result<Vec<u8>, StoreError> {
        if key.len() > META_KEY_BYTES_MAX {
            return Err(StoreError::TooLarge {
                what: "the meta key's length in bytes",
                len: key.len() as u64,
                max: META_KEY_BYTES_MAX as u64,
            });
        }
        let mut k = Vec::with_capacity(META_USER_PREFIX.len() + key.len());
        k.extend_from_slice(META_USER_PREFIX);
        k.extend_from_slice(key.as_bytes());
        Ok(k)
    }

    /// A small named value (e.g. the consumer position), kept apart from the store's own keys.
    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let k = Self::meta_key(key)?;
        Ok(self
            .inner
            .meta
            .get(k)
            .map_err(|e| self.err(e))?
            .map(|v| v.to_vec()))
    }

    /// Sets a small named value. Not flushed by itself: the next append or [`Store::flush`]
    /// makes it durable.
    pub fn meta_set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let k = Self::meta_key(key)?;
        if value.len() > META_VALUE_BYTES_MAX {
            return Err(StoreError::TooLarge {
                what: "the meta value's size in bytes",
                len: value.len() as u64,
                max: META_VALUE_BYTES_MAX as u64,
            });
        }
        self.inner.meta.insert(k, value).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Walks the whole log: seqs consecutive from 1, each `prev_hash` the previous record's
    /// hash, each hash recomputed from the record, the last one equal to the head in `meta`.
    /// Returns the head, or the first bad seq and what is wrong with it.
    pub fn verify_chain(&self) -> Result<Head, ChainError> {
        let mut prev = Head::GENESIS;
        for (expected, entry) in (1u64..).zip(self.inner.log.iter()) {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            let seq = u64_value("log", &k)?;
            if seq != expected {
                return Err(ChainError::Gap {
                    expected,
                    found: seq,
                });
            }
            let record = codec::decode_record(&v).map_err(|e| ChainError::Undecodable {
                seq,
                what: e.to_string(),
            })?;
            if record.seq != seq {
                return Err(ChainError::SeqMismatch {
                    seq,
                    found: record.seq,
                });
            }
            if record.prev_hash != prev.hash {
                return Err(ChainError::PrevHash { seq });
            }
            if !record.verify_hash() {
                return Err(ChainError::Hash { seq });
            }
            prev = Head {
                seq,
                hash: record.hash,
            };
        }
        let meta_head = self
            .inner
            .meta
            .get(META_HEAD)
            .map_err(|e| self.err(e))?
            .map(|v| decode_head(&v))
            .transpose()?
            .unwrap_or(Head::GENESIS);
        if meta_head != prev {
            return Err(ChainError::HeadMismatch {
                seq: prev.seq.max(meta_head.seq),
                what: format!(
                    "the log ends at seq {} ({}) but meta's head is seq {} ({})",
                    prev.seq,
                    hex(&prev.hash),
                    meta_head.seq,
                    hex(&meta_head.hash)
                ),
            });
        }
        Ok(prev)
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.inner.db.size_on_disk().map_err(|e| self.err(e))
    }
}

/// Reads the head from `meta` and checks it against the last record of the log.
fn check_head(path: &Path, meta: &Tree, log: &Tree) -> Result<Head, StoreError> {
    let meta_head = meta
        .get(META_HEAD)
        .map_err(|e| sled_error(path, e))?
        .map(|v| decode_head(&v))
        .transpose()?;
    let last = log.last().map_err(|e| sled_error(path, e))?;
    let head = match (meta_head, last) {
        (None, None) => Head::GENESIS,
        (Some(h), None) => {
            if h != Head::GENESIS {
                return Err(StoreError::Corrupt {
                    seq: h.seq,
                    what: format!("meta's head names seq {} but the log is empty", h.seq),
                });
            }
            h
        }
        (None, Some((k, _))) => {
            let seq = u64_value("log", &k)?;
            return Err(StoreError::Corrupt {
                seq,
                what: format!("the log has records up to seq {seq} but meta has no head"),
            });
        }
        (Some(h), Some((k, v))) => {
            let record = decode_log_entry(&k, &v)?;
            let seq = record.seq;
            if seq != h.seq {
                // Name the seq that is extra (log ahead) or missing (head ahead).
                return Err(StoreError::Corrupt {
                    seq: seq.max(h.seq),
                    what: format!(
                        "the last record is seq {seq} but meta's head is seq {}",
                        h.seq
                    ),
                });
            }
            let computed = record.computed_hash();
            if computed != record.hash {
                return Err(StoreError::Corrupt {
                    seq,
                    what: format!(
                        "the record's stored hash {} is not the hash of its contents {}",
                        hex(&record.hash),
                        hex(&computed)
                    ),
                });
            }
            if record.hash != h.hash {
                return Err(StoreError::Corrupt {
                    seq,
                    what: format!(
                        "the record's hash {} differs from meta's head hash {}",
                        hex(&record.hash),
                        hex(&h.hash)
                    ),
                });
            }
            h
        }
    };
    if head != Head::GENESIS {
        // seq 1 starts the chain: make sure the log really begins there.
        match log.first().map_err(|e| sled_error(path, e))? {
            Some((k, _)) if u64_value("log", &k)? == 1 => {}
            Some((k, _)) => {
                return Err(StoreError::Corrupt {
                    seq: 1,
                    what: format!(
                        "the log starts at seq {} instead of 1",
                        u64_value("log", &k)?
                    ),
                });
            }
            None => unreachable!("the log has a last record, so it has a first"),
        }
    }
    Ok(head)
}

/// The format version an existing store records, refusing one this build does not read.
fn read_format(path: &Path, meta: &Tree) -> Result<Option<u32>, StoreError> {
    let Some(v) = meta.get(META_FORMAT).map_err(|e| sled_error(path, e))? else {
        return Ok(None);
    };
    let arr: [u8; 4] = v.as_ref().try_into().map_err(|_| StoreError::CorruptTree {
        tree: "meta",
        what: format!("format_version is {} bytes, expected 4", v.len()),
    })?;
    let found = u32::from_be_bytes(arr);
    if found != FORMAT_VERSION {
        return Err(StoreError::UnsupportedFormat {
            path: path.to_owned(),
            found,
            supported: FORMAT_VERSION,
        });
    }
    Ok(Some(found))
}

/// Writes the format version into a new store. A store with records but no version is corrupt.
fn init_format(path: &Path, db: &sled::Db, meta: &Tree, head: Head) -> Result<(), StoreError> {
    if head != Head::GENESIS {
        return Err(StoreError::Corrupt {
            seq: head.seq,
            what: "meta has no format version but the log has records".to_owned(),
        });
    }
    meta.insert(META_FORMAT, &FORMAT_VERSION.to_be_bytes())
        .map_err(|e| sled_error(path, e))?;
    db.flush().map_err(|e| sled_error(path, e))?;
    Ok(())
}

struct TxTrees<'t> {
    log: &'t TransactionalTree,
    ids: &'t TransactionalTree,
    meta: &'t TransactionalTree,
    collectors: &'t TransactionalTree,
    superseded: &'t TransactionalTree,
}

/// The body of the append transaction. sled may run it more than once (on conflict), so it only
/// reads `batch` and writes through `t`.
fn append_in_tx(
    batch: &[Incoming],
    t: &TxTrees<'_>,
) -> ConflictableTransactionResult<(Vec<Outcome>, Head), StoreError> {
    let start = match t.meta.get(META_HEAD)? {
        Some(v) => decode_head(&v).map_err(abort)?,
        None => Head::GENESIS,
    };
    let mut head = start;
    let mut outcomes = Vec::with_capacity(batch.len());
    // Batch index of each event appended here, by `seq - start.seq - 1`.
    let mut appended: Vec<usize> = Vec::with_capacity(batch.len());
    // Highest collector_seq per collector in this batch; few collectors per batch.
    let mut highs: Vec<(&str, u64)> = Vec::new();
    let mut buf = Vec::with_capacity(1024);

    for (index, incoming) in batch.iter().enumerate() {
        let envelope = &incoming.envelope;
        // The transaction reads its own writes, so this also finds copies earlier in the batch.
        if let Some(v) = t.ids.get(envelope.event_id.as_bytes())? {
            let seq = u64_value("ids", &v).map_err(abort)?;
            outcomes.push(Outcome::Duplicate { seq });
            continue;
        }
        if let Some(target) = envelope.supersedes
            && let Some(reason) = check_supersedes(target, incoming, batch, &appended, start, t)?
        {
            outcomes.push(Outcome::Rejected { reason });
            continue;
        }

        let seq = head.seq + 1;
        assert!(
            seq > start.seq && seq > head.seq,
            "seqs must strictly increase"
        );
        let hash = chain_hash(&head.hash, seq, &envelope.canonical_bytes());
        buf.clear();
        codec::encode_record_parts(
            seq,
            incoming.stream_seq,
            incoming.received_at,
            &head.hash,
            &hash,
            envelope,
            &mut buf,
        )
        .map_err(|e| abort(StoreError::Encode(e)))?;
        let key = seq.to_be_bytes();
        let previous = t.log.insert(&key[..], &buf[..])?;
        assert!(
            previous.is_none(),
            "the log already holds seq {seq}: meta's head is behind the log"
        );
        t.ids.insert(&envelope.event_id.as_bytes()[..], &key[..])?;
        if let Some(target) = envelope.supersedes {
            t.superseded.insert(&target.as_bytes()[..], &key[..])?;
        }
        let collector = envelope.collector.as_str();
        match highs.iter_mut().find(|(c, _)| *c == collector) {
            Some((_, high)) => *high = (*high).max(envelope.collector_seq),
            None => highs.push((collector, envelope.collector_seq)),
        }
        appended.push(index);
        head = Head { seq, hash };
        outcomes.push(Outcome::Appended { seq });
    }

    for (collector, high) in highs {
        let current = match t.collectors.get(collector.as_bytes())? {
            Some(v) => Some(u64_value("collectors", &v).map_err(abort)?),
            None => None,
        };
        if current.is_none_or(|c| high > c) {
            t.collectors
                .insert(collector.as_bytes(), &high.to_be_bytes()[..])?;
        }
    }
    if head != start {
        t.meta.insert(META_HEAD, &encode_head(&head)[..])?;
    }
    Ok((outcomes, head))
}

/// Checks a correction against the event it supersedes. `None` when it may be appended.
fn check_supersedes(
    target: EventId,
    incoming: &Incoming,
    batch: &[Incoming],
    appended: &[usize],
    start: Head,
    t: &TxTrees<'_>,
) -> ConflictableTransactionResult<Option<RejectReason>, StoreError> {
    let envelope = &incoming.envelope;
    let Some(v) = t.ids.get(target.as_bytes())? else {
        return Ok(Some(RejectReason::SupersedesUnknown(target)));
    };
    let target_seq = u64_value("ids", &v).map_err(abort)?;
    let (target_trust, target_kind) = if target_seq > start.seq {
        // Appended earlier in this batch: read it from the batch, not back from bincode.
        let offset = usize::try_from(target_seq - start.seq - 1).unwrap_or(usize::MAX);
        let index = *appended
            .get(offset)
            .expect("an id written in this batch maps to an event appended in this batch");
        let target_envelope = &batch[index].envelope;
        (
            Cow::Borrowed(&target_envelope.trust),
            target_envelope.kind(),
        )
    } else {
        let bytes = t.log.get(target_seq.to_be_bytes())?.ok_or_else(|| {
            abort(StoreError::Corrupt {
                seq: target_seq,
                what: format!(
                    "the id index maps {target} to seq {target_seq}, which the log lacks"
                ),
            })
        })?;
        let (trust, kind) = codec::decode_trust_and_kind(&bytes).map_err(|e| {
            abort(StoreError::Corrupt {
                seq: target_seq,
                what: format!("the record does not decode: {e}"),
            })
        })?;
        (Cow::Owned(trust), kind)
    };
    if *target_trust != envelope.trust {
        return Ok(Some(RejectReason::SupersedesOtherTrust {
            target,
            target_trust: target_trust.into_owned(),
            trust: envelope.trust.clone(),
        }));
    }
    if target_kind != envelope.kind() {
        return Ok(Some(RejectReason::SupersedesOtherKind {
            target,
            target_kind,
            kind: envelope.kind(),
        }));
    }
    if let Some(v) = t.superseded.get(target.as_bytes())? {
        let by_seq = u64_value("superseded", &v).map_err(abort)?;
        return Ok(Some(RejectReason::AlreadySuperseded { target, by_seq }));
    }
    Ok(None)
}
