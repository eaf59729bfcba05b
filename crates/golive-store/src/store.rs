//! [`Store`]: the sled database, its trees and every operation on them. The keys of the
//! `ledger` tree are in [`crate::layout`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use golive_model::{ChainHash, CollectorId, EventId, Kind, OdsCode, chain_hash};
use sled::Tree;

use crate::codec;
use crate::error::{ChainError, RejectReason, StoreError};
use crate::layout::{
    self, COLLECTOR, FRAME_LEN_BYTES, Frames, HEAD, ID_BYTES, IDS, LOG, key_seq, seq_key, seq_range,
};
use crate::{
    APPEND_BATCH_EVENTS_MAX, DEAD_LETTER_RAW_BYTES_MAX, DEAD_LETTER_TEXT_BYTES_MAX, DeadLetter,
    FORMAT_VERSION, Head, Incoming, LOG_CHUNK_BYTES_TARGET, META_KEY_BYTES_MAX,
    META_VALUE_BYTES_MAX, NewDeadLetter, OPEN_LOCK_WAIT_MS_MAX, Outcome, Record,
    SNAPSHOT_BYTES_MAX,
};

mod as_stored;
mod headmark;
mod merkle;
mod snapshots;
#[cfg(test)]
mod tests;
pub use headmark::HEAD_MARK_FILE;
use headmark::HeadMark;
pub use merkle::{SIGNED_CHECKPOINT_BYTES_MAX, TILE_HEIGHT, TILE_WIDTH};
pub use snapshots::SNAPSHOT_DIR;
use snapshots::SnapshotFiles;

/// Pause between attempts to take the store's lock.
const OPEN_LOCK_RETRY_MS: u64 = 20;
const META_FORMAT: &[u8] = b"format_version";
/// Set once the store has a head mark file (see `headmark`): from then on a missing file is
/// damage, not an older store.
const META_HEAD_MARK: &[u8] = b"head_mark";
/// Named values of callers live under this prefix, apart from the store's own keys.
const META_USER_PREFIX: &[u8] = b"user/";
/// Trees of the pre-release layout (one tree per index). Their presence means a directory this
/// build would otherwise mistake for an empty ledger.
const LEGACY_TREES: [&str; 4] = ["log", "ids", "collectors", "superseded"];

/// Event id -> seq of every event in the log: the dedupe index, rebuilt from the id blocks at
/// open and extended after each batch is applied.
type IdIndex = HashMap<[u8; ID_BYTES], u64>;

/// A handle on an open store. Cloning is cheap and every clone sees the same store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: sled::Db,
    /// Log chunks, id blocks, head, collector receipts, superseded events: everything an
    /// append changes, so that one `apply_batch` changes it atomically.
    ledger: Tree,
    meta: Tree,
    /// Projection snapshots, as files beside sled's (see `snapshots`).
    snapshots: SnapshotFiles,
    dead: Tree,
    /// Event id (16 bytes) -> id of the dead letter that refused it.
    dead_ids: Tree,
    /// The one writer of `ledger`: held from the dedupe and supersedes checks until the batch
    /// is applied and flushed, so that checks and writes cannot interleave between clones.
    writer: Mutex<Writer>,
    /// Every event id in `ledger` (flushed or not) -> its seq. Only the holder of `writer`
    /// changes it.
    ids: RwLock<IdIndex>,
    /// The head as of the last successful flush: what callers may rely on.
    head: Mutex<Head>,
    /// Id of the last dead letter; the lock also serialises adding them.
    dead_last: Mutex<u64>,
    /// The Merkle tree's tails as of the durable head, for readers (see `merkle`).
    merkle: Mutex<Arc<merkle::Tails>>,
}

/// What the writer knows between batches.
struct Writer {
    /// The head in `ledger`: ahead of the durable head only while a flush has failed.
    head: Head,
    /// Set when sled failed while applying a batch: what the tree holds is then unknown until
    /// the store is reopened (sled recovers a batch whole or not at all).
    broken: Option<String>,
    /// Reused between batches: the chunk and id block being built.
    chunk: Vec<u8>,
    id_block: Vec<u8>,
    /// The Merkle tree's tails as of `head`.
    tails: Arc<merkle::Tails>,
    /// The durable head, also outside sled: written after every flush.
    mark: HeadMark,
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
/// plain value set in one assignment, a map extended only after sled accepted the batch, or
/// nothing), so a poisoned lock is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn sled_error(path: &Path, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(source) if source.kind() == std::io::ErrorKind::StorageFull => {
            StoreError::DiskFull {
                path: path.to_owned(),
            }
        }
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
            tree: layout::TREE,
            what: format!("the head is {} bytes, expected 40", bytes.len()),
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

fn read_head(path: &Path, tree: &Tree) -> Result<Option<Head>, StoreError> {
    tree.get(HEAD)
        .map_err(|e| sled_error(path, e))?
        .map(|v| decode_head(&v))
        .transpose()
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

fn bad_frame((seq, what): (u64, String)) -> StoreError {
    StoreError::Corrupt {
        seq,
        what: format!("the log chunk is malformed at this record: {what}"),
    }
}

/// Decodes the record at position `seq` of a chunk and checks that it says it is that seq.
fn decode_log_entry(seq: u64, bytes: &[u8]) -> Result<Record, StoreError> {
    let record = codec::decode_record(bytes).map_err(|e| StoreError::Corrupt {
        seq,
        what: format!("the record does not decode: {e}"),
    })?;
    if record.seq != seq {
        return Err(StoreError::Corrupt {
            seq,
            what: format!(
                "the record stored as seq {seq} says it is seq {}",
                record.seq
            ),
        });
    }
    Ok(record)
}

/// The stored bytes of record `seq`, passed to `f`, if the log has it.
fn with_record_bytes<T>(
    path: &Path,
    tree: &Tree,
    seq: u64,
    f: impl FnOnce(&[u8]) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let Some((first, chunk)) = layout::chunk_at_or_before(path, tree, seq)? else {
        return Ok(None);
    };
    for frame in Frames::new(&chunk, first) {
        let (at, bytes) = frame.map_err(bad_frame)?;
        if at == seq {
            return f(bytes).map(Some);
        }
    }
    Ok(None)
}

/// Records of the log in seq order within `from..=to`, chunk by chunk. Owns its sled iterator,
/// so it does not borrow the store. After a malformed chunk it goes on with the next one.
struct Records {
    path: PathBuf,
    chunks: sled::Iter,
    /// The chunk being read, where in it, and the seq found there.
    current: Option<(sled::IVec, usize, u64)>,
    from: u64,
    to: u64,
    /// An error finding where to start, reported by the first `next`.
    error: Option<StoreError>,
    done: bool,
}

impl Iterator for Records {
    type Item = Result<Record, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            self.done = true;
            return Some(Err(e));
        }
        while !self.done {
            if let Some((chunk, pos, seq)) = &mut self.current {
                let mut frames = Frames::new(chunk.get(*pos..).unwrap_or_default(), *seq);
                match frames.next() {
                    None => self.current = None,
                    Some(Err(bad)) => {
                        self.current = None;
                        return Some(Err(bad_frame(bad)));
                    }
                    Some(Ok((at, bytes))) => {
                        *pos += FRAME_LEN_BYTES + bytes.len();
                        *seq = at + 1;
                        if at > self.to {
                            self.done = true;
                            return None;
                        }
                        if at >= self.from {
                            return Some(decode_log_entry(at, bytes));
                        }
                    }
                }
                continue;
            }
            match self.chunks.next() {
                None => self.done = true,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(sled_error(&self.path, e)));
                }
                Some(Ok((k, v))) => match key_seq(&k) {
                    Ok(first) => self.current = Some((v, 0, first)),
                    Err(e) => return Some(Err(e)),
                },
            }
        }
        None
    }
}

impl Store {
    /// Opens the store in `dir`, creating it if missing. Checks the format version and that the
    /// last record decodes, carries the hash recomputed from its contents, and is the stored
    /// head; likewise the record the head mark names; anything else is [`StoreError::Corrupt`]
    /// naming the seq. Then loads the event id index from the id blocks, which must cover seqs 1
    /// to the head exactly once each.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.to_path_buf();
        let db = open_db(&path)?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| sled_error(&path, e));
        let meta = tree("meta")?;
        let dead = tree("dead")?;
        let dead_ids = tree("dead_ids")?;

        // The format first: a store of another version need not decode as this one.
        let format = read_format(&path, &meta)?;
        let names = db.tree_names();
        if let Some(legacy) = LEGACY_TREES
            .iter()
            .find(|n| names.iter().any(|have| have.as_ref() == n.as_bytes()))
        {
            return Err(StoreError::CorruptTree {
                tree: legacy,
                what: "it belongs to the pre-release layout (a tree per index), which this \
                       build does not read; ingest the events again into a new data directory"
                    .to_owned(),
            });
        }
        let ledger = tree(layout::TREE)?;
        let head = check_head(&path, &ledger)?;
        if format.is_none() {
            init_format(&path, &db, &meta, head)?;
        }
        let mark = check_head_mark(&path, &db, &meta, &ledger, head)?;
        let ids = load_ids(&path, &ledger, head)?;
        let snapshots = SnapshotFiles::open(&path)?;
        snapshots::migrate_tree(&db, &snapshots, &path)?;
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
        let store = Store {
            inner: Arc::new(Inner {
                path,
                db,
                ledger,
                meta,
                snapshots,
                dead,
                dead_ids,
                writer: Mutex::new(Writer {
                    head,
                    broken: None,
                    chunk: Vec::new(),
                    id_block: Vec::new(),
                    tails: Arc::default(),
                    mark,
                }),
                ids: RwLock::new(ids),
                head: Mutex::new(head),
                dead_last: Mutex::new(dead_last),
                merkle: Mutex::default(),
            }),
        };
        store.load_merkle()?;
        Ok(store)
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

    /// Bytes free to this process on the file system holding the store (`statvfs`), if the
    /// system says; the store refuses to write below [`crate::DISK_RESERVE_BYTES`].
    pub fn disk_free_bytes(&self) -> Option<u64> {
        free_bytes(&self.inner.path)
    }

    /// Refuses to write when the file system holding the store has less than
    /// [`crate::DISK_RESERVE_BYTES`] free: sled does not recover from running out of space in the
    /// middle of a write (it can wait forever for a flush that cannot finish), so the store
    /// stops short of it, with an error that says what to do, and nothing half-written.
    fn ensure_room(&self) -> Result<(), StoreError> {
        match free_bytes(&self.inner.path) {
            Some(free) if free < crate::DISK_RESERVE_BYTES => Err(StoreError::DiskFull {
                path: self.inner.path.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Appends a batch atomically and flushes it. Returns one [`Outcome`] per event, in
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
        let mut writer = lock(&self.inner.writer);
        if let Some(why) = &writer.broken {
            return Err(StoreError::Io {
                path: self.inner.path.clone(),
                source: std::io::Error::other(format!(
                    "an earlier append failed while it was being written ({why}); reopen the \
                     store"
                )),
            });
        }
        let writer = &mut *writer;
        let planned = {
            let ids = read(&self.inner.ids);
            plan_batch(&self.inner, &ids, writer, &batch)?
        };
        if planned.head != writer.head {
            self.ensure_room()?;
            // Cleared once sled has applied the batch; left set if it fails or panics part-way.
            writer.broken = Some("interrupted while sled applied a batch".to_owned());
            if let Err(e) = self.inner.ledger.apply_batch(planned.writes) {
                writer.broken = Some(e.to_string());
                return Err(self.err(e));
            }
            writer.broken = None;
            writer.head = planned.head;
            writer.tails = planned.tails;
            self.inner
                .ids
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(planned.new_ids);
        }
        // A batch of duplicates writes nothing and needs no flush, unless an earlier flush
        // failed and the head in sled is ahead of the durable one.
        if writer.head != self.head() {
            self.flush()?;
            writer.mark.write(writer.head)?;
            *lock(&self.inner.head) = writer.head;
            *lock(&self.inner.merkle) = writer.tails.clone();
        }
        tracing::debug!(
            events = planned.outcomes.len(),
            head_seq = writer.head.seq,
            "appended batch"
        );
        Ok(planned.outcomes)
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The record at `seq`, if the log has it.
    pub fn get(&self, seq: u64) -> Result<Option<Record>, StoreError> {
        with_record_bytes(&self.inner.path, &self.inner.ledger, seq, |bytes| {
            decode_log_entry(seq, bytes)
        })
    }

    /// The seq of the event with this id, if it was appended.
    pub fn seq_of(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        Ok(read(&self.inner.ids).get(id.as_bytes()).copied())
    }

    /// The record of the event with this id, if it was appended.
    pub fn record_of(&self, id: &EventId) -> Result<Option<Record>, StoreError> {
        match self.seq_of(id)? {
            Some(seq) => self.get(seq),
            None => Ok(None),
        }
    }

    /// Every superseded event's id -> the seq of the correction that superseded it: one entry
    /// per correction, read in one scan. Replays use it to keep in memory exactly the events a
    /// later record supersedes, instead of reading each target back from the log.
    pub fn superseded_index(&self) -> Result<HashMap<EventId, u64>, StoreError> {
        let mut out = HashMap::new();
        for entry in self.inner.ledger.scan_prefix([layout::SUPERSEDED]) {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            let id: [u8; ID_BYTES] =
                k.get(1..).and_then(|b| b.try_into().ok()).ok_or_else(|| {
                    StoreError::CorruptTree {
                        tree: layout::TREE,
                        what: format!("a superseded key of {} bytes", k.len()),
                    }
                })?;
            out.insert(EventId::from_bytes(id), u64_value(layout::TREE, &v)?);
        }
        Ok(out)
    }

    /// The seq of the correction that superseded the event with this id, if any.
    pub fn superseded_by(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        self.inner
            .ledger
            .get(layout::superseded_key(id.as_bytes()))
            .map_err(|e| self.err(e))?
            .map(|v| u64_value(layout::TREE, &v))
            .transpose()
    }

    /// Records from `seq` on, in seq order. The iterator does not borrow the store.
    pub fn iter_from(&self, seq: u64) -> impl Iterator<Item = Result<Record, StoreError>> + use<> {
        self.records(seq, u64::MAX)
    }

    /// Records `from..=to_inclusive`, in seq order (none when `from > to_inclusive`).
    pub fn range(
        &self,
        from: u64,
        to_inclusive: u64,
    ) -> impl Iterator<Item = Result<Record, StoreError>> + use<> {
        self.records(from, to_inclusive)
    }

    fn records(&self, from: u64, to: u64) -> Records {
        let tree = &self.inner.ledger;
        let path = self.inner.path.clone();
        let nothing = || tree.range(seq_key(LOG, 1)..seq_key(LOG, 1));
        // Start at the chunk holding `from`; chunks starting after `to` hold nothing wanted.
        let (chunks, error) = if from > to {
            (nothing(), None)
        } else {
            match layout::chunk_at_or_before(&path, tree, from) {
                Ok(found) => {
                    let start = found.map_or(from, |(first, _)| first);
                    (tree.range(seq_key(LOG, start)..=seq_key(LOG, to)), None)
                }
                Err(e) => (nothing(), Some(e)),
            }
        };
        Records {
            path,
            chunks,
            current: None,
            from,
            to,
            error,
            done: false,
        }
    }

    /// Highest `collector_seq` appended from this collector: its durable receipt.
    pub fn collector_high(&self, c: &CollectorId) -> Result<Option<u64>, StoreError> {
        self.inner
            .ledger
            .get(layout::collector_key(c.as_str()))
            .map_err(|e| self.err(e))?
            .map(|v| u64_value(layout::TREE, &v))
            .transpose()
    }

    /// Every collector seen, with its highest `collector_seq` appended, ordered by id.
    pub fn collectors(&self) -> Result<Vec<(CollectorId, u64)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.inner.ledger.scan_prefix([COLLECTOR]) {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            let id = std::str::from_utf8(&k[1..]).map_err(|_| StoreError::CorruptTree {
                tree: layout::TREE,
                what: format!("collector key {} is not UTF-8", hex(&k[1..])),
            })?;
            out.push((CollectorId(id.to_owned()), u64_value(layout::TREE, &v)?));
        }
        Ok(out)
    }

    /// Stores a projection snapshot taken at `seq` (not flushed: a lost snapshot only costs a
    /// longer replay). `seq` must not be ahead of the head.
    pub fn put_snapshot(&self, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.ensure_room()?;
        let head = self.head().seq;
        if seq > head {
            return Err(StoreError::SnapshotAhead { seq, head });
        }
        if bytes.len() > SNAPSHOT_BYTES_MAX {
            return Err(StoreError::TooLarge {
                what: "the snapshot's size in bytes",
                len: bytes.len() as u64,
                max: SNAPSHOT_BYTES_MAX as u64,
            });
        }
        self.inner.snapshots.put(seq, bytes)
    }

    /// The latest snapshot taken at or before `seq` (a damaged one is skipped for the one
    /// before it).
    pub fn snapshot_at_or_before(&self, seq: u64) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let files = &self.inner.snapshots;
        for at in files.seqs()?.into_iter().rev().filter(|&s| s <= seq) {
            if let Some(body) = files.get(at)? {
                return Ok(Some((at, body)));
            }
        }
        Ok(None)
    }

    /// Seqs of all stored snapshots, ascending.
    pub fn snapshot_seqs(&self) -> Result<Vec<u64>, StoreError> {
        self.inner.snapshots.seqs()
    }

    /// Deletes all but the `keep` latest snapshots. Returns how many were deleted.
    pub fn prune_snapshots(&self, keep: usize) -> Result<u64, StoreError> {
        let seqs = self.inner.snapshots.seqs()?;
        let old = &seqs[..seqs.len().saturating_sub(keep)];
        for &seq in old {
            self.inner.snapshots.remove(seq)?;
        }
        Ok(old.len() as u64)
    }

    /// Stores a dead letter and flushes it. Returns its id (from 1). Raw bytes beyond
    /// [`DEAD_LETTER_RAW_BYTES_MAX`] and text beyond [`DEAD_LETTER_TEXT_BYTES_MAX`] are cut.
    pub fn add_dead_letter(&self, d: NewDeadLetter) -> Result<u64, StoreError> {
        self.ensure_room()?;
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
        if let Some(event_id) = d.event_id {
            self.inner
                .dead_ids
                .insert(event_id.as_bytes(), &letter.id.to_be_bytes())
                .map_err(|e| self.err(e))?;
        }
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

    /// The dead letter that refused event `id`, if the event decoded but was refused.
    pub fn dead_letter_of(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        match self
            .inner
            .dead_ids
            .get(id.as_bytes())
            .map_err(|e| self.err(e))?
        {
            Some(v) => Ok(Some(u64_value("dead_ids", &v)?)),
            None => Ok(None),
        }
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
    /// hash, each hash recomputed from the record, each event id equal to the one the id index
    /// holds for its seq, the last record equal to the stored head.
    /// Returns the head, or the first bad seq and what is wrong with it.
    pub fn verify_chain(&self) -> Result<Head, ChainError> {
        self.verify_chain_with(&mut |_| {})
    }

    /// [`Store::verify_chain`], calling `progress(records checked)` after each log chunk (for a
    /// progress bar).
    pub fn verify_chain_with(&self, progress: &mut dyn FnMut(u64)) -> Result<Head, ChainError> {
        let tree = &self.inner.ledger;
        let mut prev = Head::GENESIS;
        let mut expected = 1u64;
        let mut blocks = seq_range(tree, IDS);
        for entry in seq_range(tree, LOG) {
            let (k, chunk) = entry.map_err(|e| self.err(e))?;
            let first = key_seq(&k)?;
            if first != expected {
                return Err(ChainError::Gap {
                    expected,
                    found: first,
                });
            }
            if chunk.is_empty() {
                return Err(ChainError::Undecodable {
                    seq: first,
                    what: "its log chunk is empty".to_owned(),
                });
            }
            let block = self.id_block_of_chunk(&mut blocks, first)?;
            expected = first + verify_chunk(&chunk, first, &block, &mut prev)?;
            progress(expected - 1);
        }
        if let Some((ik, _)) = blocks.next().transpose().map_err(|e| self.err(e))? {
            let seq = key_seq(&ik)?;
            return Err(index_corrupt(
                seq,
                format!("the id index has a block at seq {seq} beyond the log"),
            ));
        }
        let stored = read_head(&self.inner.path, tree)?.unwrap_or(Head::GENESIS);
        if stored != prev {
            return Err(ChainError::HeadMismatch {
                seq: prev.seq.max(stored.seq),
                what: format!(
                    "the log ends at seq {} ({}) but the stored head is seq {} ({})",
                    prev.seq,
                    hex(&prev.hash),
                    stored.seq,
                    hex(&stored.hash)
                ),
            });
        }
        Ok(prev)
    }

    /// The next id block, which must be the one of the log chunk starting at `first`.
    fn id_block_of_chunk(
        &self,
        blocks: &mut sled::Iter,
        first: u64,
    ) -> Result<sled::IVec, ChainError> {
        match blocks.next().transpose().map_err(|e| self.err(e))? {
            Some((ik, block)) if key_seq(&ik)? == first => Ok(block),
            other => {
                let next = match other {
                    Some((ik, _)) => format!("seq {}", key_seq(&ik)?),
                    None => "nowhere".to_owned(),
                };
                Err(index_corrupt(
                    first,
                    format!(
                        "the id index has no block for the log chunk at seq {first} (its next block starts at {next})"
                    ),
                ))
            }
        }
    }

    /// Bytes the store takes on disk: sled's files and the snapshot files.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        let sled = self.inner.db.size_on_disk().map_err(|e| self.err(e))?;
        Ok(sled + self.inner.snapshots.bytes())
    }
}

/// Checks each record of the log chunk starting at `first` against the chain so far (`prev`,
/// moved on to each record in turn) and against the chunk's id block. Returns how many records
/// the chunk holds.
fn verify_chunk(
    chunk: &[u8],
    first: u64,
    block: &[u8],
    prev: &mut Head,
) -> Result<u64, ChainError> {
    let mut count = 0usize;
    for frame in Frames::new(chunk, first) {
        let (seq, bytes) = frame.map_err(|(seq, what)| ChainError::Undecodable { seq, what })?;
        let record = verify_record(seq, bytes, prev)?;
        let indexed = block.get(count * ID_BYTES..(count + 1) * ID_BYTES);
        if indexed != Some(&record.envelope.event_id.as_bytes()[..]) {
            return Err(index_corrupt(
                seq,
                format!(
                    "the record's event id is {} but the id index holds {} for it",
                    record.envelope.event_id,
                    indexed.map_or_else(|| "nothing".to_owned(), hex)
                ),
            ));
        }
        *prev = Head {
            seq,
            hash: record.hash,
        };
        count += 1;
    }
    if block.len() != count * ID_BYTES {
        return Err(index_corrupt(
            first,
            format!(
                "the id block of the log chunk at seq {first} is {} bytes for {count} records",
                block.len()
            ),
        ));
    }
    Ok(count as u64)
}

/// Decodes the record stored at `seq` and checks that it says it is that seq, follows `prev`
/// and carries the hash of its contents.
fn verify_record(seq: u64, bytes: &[u8], prev: &Head) -> Result<Record, ChainError> {
    let record = codec::decode_record(bytes).map_err(|e| ChainError::Undecodable {
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
    Ok(record)
}

fn index_corrupt(seq: u64, what: String) -> ChainError {
    ChainError::Store(StoreError::Corrupt { seq, what })
}

/// The last record of the log, decoded, with the seq its position gives it.
fn last_record(path: &Path, tree: &Tree) -> Result<Option<Record>, StoreError> {
    let Some(entry) = seq_range(tree, LOG).next_back() else {
        return Ok(None);
    };
    let (k, chunk) = entry.map_err(|e| sled_error(path, e))?;
    let first = key_seq(&k)?;
    let mut last = None;
    for frame in Frames::new(&chunk, first) {
        last = Some(frame.map_err(bad_frame)?);
    }
    let (seq, bytes) = last.ok_or_else(|| StoreError::Corrupt {
        seq: first,
        what: "the log chunk starting here is empty".to_owned(),
    })?;
    decode_log_entry(seq, bytes).map(Some)
}

/// Checks sled's head against the head mark kept outside sled (see `headmark`), then opens
/// the mark for writing (creating it for a new store or one made before marks existed).
fn check_head_mark(
    path: &Path,
    db: &sled::Db,
    meta: &Tree,
    ledger: &Tree,
    head: Head,
) -> Result<HeadMark, StoreError> {
    let had_mark = meta
        .get(META_HEAD_MARK)
        .map_err(|e| sled_error(path, e))?
        .is_some();
    let found = HeadMark::read(path)?;
    match found.map(|f| f.head) {
        None if had_mark => {
            return Err(StoreError::CorruptTree {
                tree: "head mark",
                what: format!(
                    "{} is missing, but this store had one: without it a truncated sled file \
                     cannot be told from a shorter ledger; restore the directory from a backup",
                    path.join(HEAD_MARK_FILE).display()
                ),
            });
        }
        None => {}
        Some(m) if m.seq > head.seq => return Err(log_short_of_mark(head, m)),
        Some(m) => check_record_at_mark(path, ledger, m)?,
    }
    let mark = HeadMark::open(path, head, found)?;
    if !had_mark {
        meta.insert(META_HEAD_MARK, &[1u8][..])
            .map_err(|e| sled_error(path, e))?;
        db.flush().map_err(|e| sled_error(path, e))?;
    }
    Ok(mark)
}

/// The error for a head mark beyond sled's head: records that were flushed are gone.
fn log_short_of_mark(head: Head, m: Head) -> StoreError {
    StoreError::Corrupt {
        seq: head.seq + 1,
        what: format!(
            "sled holds the log only up to seq {} but the head mark ({HEAD_MARK_FILE}) \
             says seq {} ({}) was flushed: seqs {} to {} are missing, the sled file was \
             truncated or damaged; restore from a backup or rebuild with `golive repair \
             --from-export` (docs/OPERATIONS.md)",
            head.seq,
            m.seq,
            hex(&m.hash),
            head.seq + 1,
            m.seq
        ),
    }
}

/// Checks that the record the head mark names, read back, is the one it recorded and carries
/// the hash of its contents. The mark may lag sled's head (a crash between sled's flush and the
/// mark's write), but the record it names must be the one it recorded.
fn check_record_at_mark(path: &Path, ledger: &Tree, m: Head) -> Result<(), StoreError> {
    let at_mark = if m.seq == 0 {
        Some(Head::GENESIS.hash)
    } else {
        with_record_bytes(path, ledger, m.seq, |b| {
            let record = decode_log_entry(m.seq, b)?;
            check_record_hash(&record)?;
            Ok(record.hash)
        })?
    };
    if at_mark != Some(m.hash) {
        return Err(StoreError::Corrupt {
            seq: m.seq,
            what: format!(
                "the head mark ({HEAD_MARK_FILE}) records seq {} with hash {}, but the \
                 log's record there is {}: this log is not the one that was flushed",
                m.seq,
                hex(&m.hash),
                at_mark.map_or_else(|| "missing".to_owned(), |h| hex(&h))
            ),
        });
    }
    Ok(())
}

/// Reads the stored head and checks it against the last record of the log.
fn check_head(path: &Path, tree: &Tree) -> Result<Head, StoreError> {
    let stored = read_head(path, tree)?;
    let last = last_record(path, tree)?;
    let head = match (stored, last) {
        (None, None) => Head::GENESIS,
        (Some(h), None) => {
            if h != Head::GENESIS {
                return Err(StoreError::Corrupt {
                    seq: h.seq,
                    what: format!("the stored head names seq {} but the log is empty", h.seq),
                });
            }
            h
        }
        (None, Some(record)) => {
            return Err(StoreError::Corrupt {
                seq: record.seq,
                what: format!(
                    "the log has records up to seq {} but no stored head",
                    record.seq
                ),
            });
        }
        (Some(h), Some(record)) => check_last_record(h, &record)?,
    };
    if head != Head::GENESIS {
        check_log_starts_at_one(path, tree)?;
    }
    Ok(head)
}

/// Checks the last record of the log, read back at open, against the stored head `h`: the same
/// seq, and a hash that is both the hash of its contents and the head's.
fn check_last_record(h: Head, record: &Record) -> Result<Head, StoreError> {
    let seq = record.seq;
    if seq != h.seq {
        // Name the seq that is extra (log ahead) or missing (head ahead).
        return Err(StoreError::Corrupt {
            seq: seq.max(h.seq),
            what: format!(
                "the last record is seq {seq} but the stored head is seq {}",
                h.seq
            ),
        });
    }
    check_record_hash(record)?;
    if record.hash != h.hash {
        return Err(StoreError::Corrupt {
            seq,
            what: format!(
                "the record's hash {} differs from the stored head's hash {}",
                hex(&record.hash),
                hex(&h.hash)
            ),
        });
    }
    Ok(h)
}

/// A record read back from disk must carry the hash recomputed from its contents; one that does
/// not was damaged or altered there, which is corruption (an error), not a bug of this build.
fn check_record_hash(record: &Record) -> Result<(), StoreError> {
    let computed = record.computed_hash();
    if computed != record.hash {
        return Err(StoreError::Corrupt {
            seq: record.seq,
            what: format!(
                "the record's stored hash {} is not the hash of its contents {}",
                hex(&record.hash),
                hex(&computed)
            ),
        });
    }
    Ok(())
}

/// seq 1 starts the chain: makes sure the log really begins there.
fn check_log_starts_at_one(path: &Path, tree: &Tree) -> Result<(), StoreError> {
    match seq_range(tree, LOG).next() {
        Some(entry) => {
            let (k, _) = entry.map_err(|e| sled_error(path, e))?;
            let first = key_seq(&k)?;
            if first != 1 {
                return Err(StoreError::Corrupt {
                    seq: 1,
                    what: format!("the log starts at seq {first} instead of 1"),
                });
            }
        }
        None => unreachable!("the log has a last record, so it has a first"),
    }
    Ok(())
}

/// Builds the event id index from the id blocks, which must cover seqs `1..=head.seq` in
/// order, each once, with no id twice.
fn load_ids(path: &Path, tree: &Tree, head: Head) -> Result<IdIndex, StoreError> {
    let mut ids = IdIndex::with_capacity(usize::try_from(head.seq).unwrap_or(0));
    let mut expected = 1u64;
    for entry in seq_range(tree, IDS) {
        let (k, block) = entry.map_err(|e| sled_error(path, e))?;
        let first = key_seq(&k)?;
        if first != expected {
            return Err(StoreError::Corrupt {
                seq: expected.min(first),
                what: format!(
                    "the id index should continue at seq {expected} but its next block starts at seq {first}"
                ),
            });
        }
        if block.is_empty() || block.len() % ID_BYTES != 0 {
            return Err(StoreError::Corrupt {
                seq: first,
                what: format!(
                    "the id block starting here is {} bytes, not a whole number of ids",
                    block.len()
                ),
            });
        }
        for (seq, id) in (first..).zip(block.chunks_exact(ID_BYTES)) {
            let mut key = [0u8; ID_BYTES];
            key.copy_from_slice(id);
            if let Some(other) = ids.insert(key, seq) {
                return Err(StoreError::Corrupt {
                    seq,
                    what: format!(
                        "the id index holds event id {} at seq {other} and again at seq {seq}",
                        EventId::from_bytes(key)
                    ),
                });
            }
        }
        expected = first + (block.len() / ID_BYTES) as u64;
    }
    if expected - 1 != head.seq {
        return Err(StoreError::Corrupt {
            seq: (expected - 1).max(head.seq),
            what: format!(
                "the id index covers seqs up to {} but the head is seq {}",
                expected - 1,
                head.seq
            ),
        });
    }
    Ok(ids)
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
    if !crate::FORMATS_READ.contains(&found) {
        return Err(StoreError::UnsupportedFormat {
            path: path.to_owned(),
            found,
            supported: FORMAT_VERSION,
        });
    }
    if found != FORMAT_VERSION {
        // An older format this build reads: mark the store as this build's, so that the older
        // build refuses it once it may hold records it cannot read. Nothing else is rewritten.
        meta.insert(META_FORMAT, &FORMAT_VERSION.to_be_bytes())
            .map_err(|e| sled_error(path, e))?;
        meta.flush().map_err(|e| sled_error(path, e))?;
        tracing::info!(
            from = found,
            to = FORMAT_VERSION,
            "store format upgraded in place"
        );
    }
    Ok(Some(FORMAT_VERSION))
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

/// What a batch will change: built before anything is written.
struct Planned {
    outcomes: Vec<Outcome>,
    /// The head after the batch (the writer's head when nothing is appended).
    head: Head,
    /// Every write to `ledger`, applied atomically.
    writes: sled::Batch,
    /// Ids appended by this batch -> their seqs.
    new_ids: IdIndex,
    /// The Merkle tree's tails after the batch (its full tiles are in `writes`).
    tails: Arc<merkle::Tails>,
}

/// Decides every event of the batch and builds its writes: dedupe, supersedes rules, seqs,
/// hashes, log chunks with their id blocks, collector receipts, the head. Reads the tree and
/// the id index; writes nothing. The caller holds the writer lock.
fn plan_batch(
    inner: &Inner,
    ids: &IdIndex,
    writer: &mut Writer,
    batch: &[Incoming],
) -> Result<Planned, StoreError> {
    writer.tails.check()?;
    let mut plan = BatchPlan::new(writer, batch.len());
    for (index, incoming) in batch.iter().enumerate() {
        match plan.refusal(inner, ids, batch, incoming)? {
            Some(outcome) => plan.outcomes.push(outcome),
            None => plan.append(index, incoming)?,
        }
    }
    plan.finish(inner)
}

/// A batch being planned: what is decided so far and the writes built for it.
struct BatchPlan<'w, 'b> {
    /// The head before the batch.
    start: Head,
    /// The head after the events appended so far.
    head: Head,
    outcomes: Vec<Outcome>,
    writes: sled::Batch,
    new_ids: IdIndex,
    tails: merkle::Tails,
    /// Batch index of each event appended here, by `seq - start.seq - 1`.
    appended: Vec<usize>,
    /// Targets superseded earlier in this batch -> seq of the correction.
    superseded_here: HashMap<[u8; ID_BYTES], u64>,
    /// Highest collector_seq per collector in this batch; few collectors per batch.
    highs: Vec<(&'b str, u64)>,
    /// The log chunk and id block being built (the writer's buffers, reused between batches).
    chunk: &'w mut Vec<u8>,
    id_block: &'w mut Vec<u8>,
    /// Seq of the chunk's first record.
    chunk_first: u64,
}

impl<'w, 'b> BatchPlan<'w, 'b> {
    fn new(writer: &'w mut Writer, events: usize) -> Self {
        let start = writer.head;
        writer.chunk.clear();
        writer.id_block.clear();
        Self {
            start,
            head: start,
            outcomes: Vec::with_capacity(events),
            writes: sled::Batch::default(),
            new_ids: IdIndex::with_capacity(events),
            tails: (*writer.tails).clone(),
            appended: Vec::with_capacity(events),
            superseded_here: HashMap::new(),
            highs: Vec::new(),
            chunk: &mut writer.chunk,
            id_block: &mut writer.id_block,
            chunk_first: start.seq + 1,
        }
    }

    /// The outcome of an event that is not appended: a duplicate of an event in the ledger or
    /// earlier in the batch, or a correction the supersedes rules refuse. `None` to append it.
    fn refusal(
        &self,
        inner: &Inner,
        ids: &IdIndex,
        batch: &[Incoming],
        incoming: &Incoming,
    ) -> Result<Option<Outcome>, StoreError> {
        let envelope = &incoming.envelope;
        let id = envelope.event_id.as_bytes();
        if let Some(&seq) = self.new_ids.get(id).or_else(|| ids.get(id)) {
            return Ok(Some(Outcome::Duplicate { seq }));
        }
        let Some(target) = envelope.supersedes else {
            return Ok(None);
        };
        let found = Lookup {
            inner,
            ids,
            new_ids: &self.new_ids,
            superseded_here: &self.superseded_here,
            batch,
            appended: &self.appended,
            start: self.start,
        };
        Ok(found
            .check_supersedes(target, incoming)?
            .map(|reason| Outcome::Rejected { reason }))
    }

    /// Appends the event at `index` of the batch as the next record: its hash, Merkle leaf,
    /// framed bytes, id, supersedes key and collector receipt.
    fn append(&mut self, index: usize, incoming: &'b Incoming) -> Result<(), StoreError> {
        let envelope = &incoming.envelope;
        let seq = next_seq(self.head.seq);
        let canonical = envelope.canonical_bytes();
        let hash = chain_hash(&self.head.hash, seq, &canonical);
        self.tails
            .push_leaf(golive_verify::record_leaf(&hash), &mut self.writes);
        self.push_record(seq, hash, incoming, &canonical)?;
        let id = envelope.event_id.as_bytes();
        self.id_block.extend_from_slice(id);
        self.new_ids.insert(*id, seq);
        if let Some(target) = envelope.supersedes {
            self.superseded_here.insert(*target.as_bytes(), seq);
            self.writes.insert(
                &layout::superseded_key(target.as_bytes())[..],
                &seq.to_be_bytes()[..],
            );
        }
        let collector = envelope.collector.as_str();
        match self.highs.iter_mut().find(|(c, _)| *c == collector) {
            Some((_, high)) => *high = (*high).max(envelope.collector_seq),
            None => self.highs.push((collector, envelope.collector_seq)),
        }
        self.appended.push(index);
        self.head = Head { seq, hash };
        self.outcomes.push(Outcome::Appended { seq });
        if self.chunk.len() >= LOG_CHUNK_BYTES_TARGET {
            close_chunk(
                &mut self.writes,
                self.chunk_first,
                self.chunk,
                self.id_block,
            );
            self.chunk_first = seq + 1;
        }
        Ok(())
    }

    /// Frames the record of `seq` onto the chunk, refuses one too large to read back, and
    /// checks that the bytes written carry the hash of their contents.
    fn push_record(
        &mut self,
        seq: u64,
        hash: ChainHash,
        incoming: &Incoming,
        canonical: &[u8],
    ) -> Result<(), StoreError> {
        let prev_hash = self.head.hash;
        let len = layout::push_frame(self.chunk, |buf| {
            let parts = codec::RecordParts {
                seq,
                stream_seq: incoming.stream_seq,
                received_at: incoming.received_at,
                prev_hash: &prev_hash,
                hash: &hash,
                origin_signature: incoming.origin_signature.as_ref(),
            };
            codec::encode_record_parts(&parts, canonical, buf)
        })?;
        if len > codec::DECODE_BYTES_MAX {
            return Err(StoreError::TooLarge {
                what: "a record's encoded size in bytes",
                len: len as u64,
                max: codec::DECODE_BYTES_MAX as u64,
            });
        }
        let encoded = &self.chunk[self.chunk.len() - len..];
        assert_record_carries_its_hash(encoded, seq, &prev_hash, &hash, &incoming.envelope);
        Ok(())
    }

    /// Closes the last chunk and adds the collector receipts and the head to the writes.
    fn finish(mut self, inner: &Inner) -> Result<Planned, StoreError> {
        if !self.chunk.is_empty() {
            close_chunk(
                &mut self.writes,
                self.chunk_first,
                self.chunk,
                self.id_block,
            );
        }
        for (collector, high) in self.highs {
            let key = layout::collector_key(collector);
            let current = inner
                .ledger
                .get(&key)
                .map_err(|e| sled_error(&inner.path, e))?
                .map(|v| u64_value(layout::TREE, &v))
                .transpose()?;
            if current.is_none_or(|c| high > c) {
                self.writes.insert(key, &high.to_be_bytes()[..]);
            }
        }
        if self.head != self.start {
            self.writes.insert(HEAD, &encode_head(&self.head)[..]);
        }
        Ok(Planned {
            outcomes: self.outcomes,
            head: self.head,
            writes: self.writes,
            new_ids: self.new_ids,
            tails: Arc::new(self.tails),
        })
    }
}

/// The seq of the record after `prev`. Seqs strictly increase on append, in release builds too,
/// where `+` would wrap at `u64::MAX` and fork the chain at seq 0.
fn next_seq(prev: u64) -> u64 {
    let seq = prev.wrapping_add(1);
    assert!(
        seq > prev,
        "seqs must strictly increase on append: no seq follows {prev}"
    );
    seq
}

/// Asserts that a record just encoded carries the hash of its contents, so that reading it
/// back (at open, in `verify_chain`) recomputes the same hash. Decoded, it must hold the seq and
/// previous hash that were hashed, the hash computed from them, and an envelope equal to the
/// one whose canonical bytes were hashed: then its recomputed hash is that hash, since the
/// canonical bytes are a function of the envelope. This costs one decode of bytes still in
/// cache, not a second SHA-256 and canonical encoding; and it checks the bytes actually
/// written, which recomputing the hash from the same inputs would not.
fn assert_record_carries_its_hash(
    encoded: &[u8],
    seq: u64,
    prev_hash: &ChainHash,
    hash: &ChainHash,
    envelope: &golive_model::Envelope,
) {
    let record = match codec::decode_record(encoded) {
        Ok(record) => record,
        Err(e) => panic!("the record just encoded for seq {seq} does not decode: {e}"),
    };
    assert!(
        record.seq == seq
            && record.prev_hash == *prev_hash
            && record.hash == *hash
            && record.envelope == *envelope,
        "the record encoded for seq {seq} does not carry the hash of its contents"
    );
}

/// Adds the chunk and its id block to the writes, and empties both buffers for the next.
fn close_chunk(writes: &mut sled::Batch, first: u64, chunk: &mut Vec<u8>, ids: &mut Vec<u8>) {
    writes.insert(&seq_key(LOG, first)[..], &chunk[..]);
    writes.insert(&seq_key(IDS, first)[..], &ids[..]);
    chunk.clear();
    ids.clear();
}

/// What the supersedes rules read: the ledger before the batch, and the batch so far.
struct Lookup<'a> {
    inner: &'a Inner,
    ids: &'a IdIndex,
    new_ids: &'a IdIndex,
    superseded_here: &'a HashMap<[u8; ID_BYTES], u64>,
    batch: &'a [Incoming],
    appended: &'a [usize],
    start: Head,
}

impl Lookup<'_> {
    /// Checks a correction against the event it supersedes. `None` when it may be appended.
    fn check_supersedes(
        &self,
        target: EventId,
        incoming: &Incoming,
    ) -> Result<Option<RejectReason>, StoreError> {
        let envelope = &incoming.envelope;
        let key = target.as_bytes();
        let Some(&target_seq) = self.new_ids.get(key).or_else(|| self.ids.get(key)) else {
            return Ok(Some(RejectReason::SupersedesUnknown(target)));
        };
        let (target_trust, target_kind) = self.trust_and_kind(target, target_seq)?;
        if target_trust != envelope.trust {
            return Ok(Some(RejectReason::SupersedesOtherTrust {
                target,
                target_trust,
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
        let by_seq = match self.superseded_here.get(key) {
            Some(&seq) => Some(seq),
            None => self
                .inner
                .ledger
                .get(layout::superseded_key(key))
                .map_err(|e| sled_error(&self.inner.path, e))?
                .map(|v| u64_value(layout::TREE, &v))
                .transpose()?,
        };
        if let Some(by_seq) = by_seq {
            return Ok(Some(RejectReason::AlreadySuperseded { target, by_seq }));
        }
        Ok(None)
    }

    /// Trust and kind of the event at `target_seq`: from the batch when it was appended
    /// earlier in this batch, else from the log.
    fn trust_and_kind(
        &self,
        target: EventId,
        target_seq: u64,
    ) -> Result<(OdsCode, Kind), StoreError> {
        if target_seq > self.start.seq {
            let offset = usize::try_from(target_seq - self.start.seq - 1).unwrap_or(usize::MAX);
            let index = *self
                .appended
                .get(offset)
                .expect("an id appended in this batch maps to an event appended in this batch");
            let e = &self.batch[index].envelope;
            return Ok((e.trust.clone(), e.kind()));
        }
        let found = with_record_bytes(&self.inner.path, &self.inner.ledger, target_seq, |bytes| {
            codec::decode_trust_and_kind(bytes).map_err(|e| StoreError::Corrupt {
                seq: target_seq,
                what: format!("the record does not decode: {e}"),
            })
        })?;
        found.ok_or_else(|| StoreError::Corrupt {
            seq: target_seq,
            what: format!("the id index maps {target} to seq {target_seq}, which the log lacks"),
        })
    }
}

/// Bytes available to this process on the file system holding `path` (`statvfs`), if known.
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path and `st` a buffer of the right type; statvfs
    // only writes into it, and it is read only when the call succeeded.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    // The field types differ between platforms (u64 here, u32 on some): widen both.
    #[allow(clippy::unnecessary_cast)]
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}
