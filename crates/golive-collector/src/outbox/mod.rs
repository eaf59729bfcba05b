//! The durable outbox: every valid event is written here and flushed before it is published,
//! and leaves only when the ledger's receipt says it was appended (or dead-lettered, when it
//! moves to the `rejected` tree). It lives in the collector's `--data DIR`.
//!
//! Format 2 (this build) keeps the events in an append-only log of chunk files and the rest in
//! a small sled database:
//! - `chunks/<id>.log` and `chunks/<id>.marks`: the pending events, appended in chunks, with
//!   their later publish states and receipts marked per chunk; a chunk whose events are all
//!   settled is deleted ([`log`] has the layout and the rules). Keyed by outbox seq (the order
//!   events were read): a restart publishes in the same order as the first run, so a
//!   correction still follows the event it supersedes.
//! - `outbox-head`: the head mark ([`head`]): which chunks exist and how much of the newest was
//!   synced, so that a cut or damaged outbox is refused at open, never opened shorter.
//! - sled trees: `rejected` (outbox seq -> events the ledger dead-lettered, with the reason,
//!   for `--status`); `refused` (outbox seq -> a mark on a pending event whose publish the NATS
//!   server refused, a permissions violation, with the server's reason and time: the event
//!   stays pending and is tried again on the next run; the mark goes when a publish is
//!   acknowledged or the event settles; value V1 `[1][refused_unix_ms i64][reason, UTF-8]`);
//!   `files` (watched files already read: name, size, mtime, so a restart does not re-read
//!   them); `meta` (`format` -> the layout version, `u32` big-endian).
//!
//! Format 1 kept the events in a sled tree `events` too; an outbox of format 1 is migrated
//! once at open (its entries, with their states, are appended to chunks, synced and marked,
//! then the format record says 2 and the tree is dropped; a migration cut short is done again
//! from the start). Why the move: sled rewrote each event's value at every state change and
//! never gave its disk space back (docs/BENCHMARKS.md, ARCHITECTURE.md).
//!
//! The layouts are hand-written byte formats with a leading version byte, independent of any
//! Rust type, and pinned by golden-bytes tests: a refactor cannot silently change the disk.
//!
//! Entry, V1 (in a chunk frame; it was format 1's `events` value):
//! `[1][state u8][republishes u32][publish_attempts u32][queued_unix_ms i64]
//! [last_publish_unix_ms i64, 0 = never][event_id 16][subject_len u16][subject][payload...]`,
//! integers big-endian. The first 26 bytes are the state header, which a state mark repeats.

mod head;
mod log;
mod records;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use golive_model::EventId;

use crate::error::CollectError;
pub use head::HEAD_FILE;
use head::HeadFile;
pub use log::{CHUNK_BYTES_TARGET, CHUNK_DIR};
use log::{Log, remove_log_files};
pub use records::{
    decode_entry, decode_refused, decode_rejected, encode_entry, encode_refused, encode_rejected,
};

/// The outbox layout this build reads and writes.
pub const OUTBOX_FORMAT: u32 = 2;
/// Rejected events listed by [`Outbox::status`] (all are counted).
pub const REJECTED_LISTED_MAX: usize = 100;
/// Events refused by the NATS server listed by [`Outbox::status`] (all are counted).
pub const REFUSED_LISTED_MAX: usize = 100;

const RECORD_V1: u8 = 1;
const HEADER_LEN: usize = 26;
const FIXED_LEN: usize = HEADER_LEN + 16 + 2;
const OPEN_LOCK_WAIT_MS_MAX: u64 = 2_000;
const OPEN_LOCK_RETRY_MS: u64 = 20;

/// Whether JetStream ever acknowledged a publish of the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublishState {
    /// Written to the outbox; no publish acknowledged yet.
    Queued,
    /// JetStream acknowledged a publish; waiting for the ledger's receipt.
    Published,
}

impl PublishState {
    fn to_byte(self) -> u8 {
        match self {
            PublishState::Queued => 0,
            PublishState::Published => 1,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(PublishState::Queued),
            1 => Some(PublishState::Published),
            _ => None,
        }
    }
}

/// The mutable part of an outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryState {
    pub state: PublishState,
    /// Re-publishes asked for by the receipts; the n-th uses msg id `<event_id>.r<n>`.
    pub republishes: u32,
    /// Publishes sent, acknowledged or not.
    pub publish_attempts: u32,
    pub queued_unix_ms: i64,
    /// Last publish sent; `None` before the first.
    pub last_publish_unix_ms: Option<i64>,
}

/// One pending event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub seq: u64,
    pub event_id: EventId,
    pub subject: String,
    /// The canonical bytes that are published.
    pub payload: Vec<u8>,
    pub state: EntryState,
}

impl OutboxEntry {
    /// The `Nats-Msg-Id` of the entry's current publish: the event id, then `<id>.r<n>` after the
    /// n-th re-publish, because JetStream's duplicate window would swallow a re-publish under the
    /// original id when the broker lost the message but remembers the id.
    pub fn msg_id(&self) -> String {
        msg_id(&self.event_id, self.state.republishes)
    }
}

/// See [`OutboxEntry::msg_id`].
pub fn msg_id(event_id: &EventId, republishes: u32) -> String {
    if republishes == 0 {
        event_id.to_string()
    } else {
        format!("{event_id}.r{republishes}")
    }
}

/// A watched file already read: a file of the same name with another size or mtime is new.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey {
    pub name: String,
    pub size: u64,
    pub mtime_ns: u128,
}

impl FileKey {
    fn to_key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.name.len() + 1 + 8 + 16);
        k.extend_from_slice(self.name.as_bytes());
        k.push(0);
        k.extend_from_slice(&self.size.to_be_bytes());
        k.extend_from_slice(&self.mtime_ns.to_be_bytes());
        k
    }

    fn from_key(k: &[u8]) -> Option<Self> {
        let zero = k.iter().position(|b| *b == 0)?;
        let name = std::str::from_utf8(&k[..zero]).ok()?.to_owned();
        let rest = &k[zero + 1..];
        if rest.len() != 24 {
            return None;
        }
        Some(FileKey {
            name,
            size: u64::from_be_bytes(rest[..8].try_into().ok()?),
            mtime_ns: u128::from_be_bytes(rest[8..].try_into().ok()?),
        })
    }
}

/// An event the ledger dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedEntry {
    pub seq: u64,
    pub event_id: EventId,
    pub subject: String,
    pub reason: String,
    pub rejected_unix_ms: i64,
    pub payload: Vec<u8>,
}

/// What `golive collect --status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboxStatus {
    pub path: PathBuf,
    /// Events in the outbox: not yet confirmed by the ledger.
    pub pending: u64,
    /// Of those, never acknowledged by JetStream.
    pub never_published: u64,
    /// Of those, acknowledged by JetStream and waiting for the ledger's receipt.
    pub awaiting_receipt: u64,
    pub oldest_pending: Option<PendingInfo>,
    /// The first [`REJECTED_LISTED_MAX`] events the ledger rejected, oldest first.
    pub rejected_by_ledger: Vec<RejectedInfo>,
    pub rejected_total: u64,
    /// Of the pending events, those whose last publish the NATS server refused (permissions).
    pub refused_total: u64,
    /// The first [`REFUSED_LISTED_MAX`] of them, in outbox order.
    pub refused_by_server: Vec<RefusedInfo>,
    /// Watched files recorded as read.
    pub files_processed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInfo {
    pub event_id: EventId,
    pub subject: String,
    pub publish_attempts: u32,
    pub republishes: u32,
    /// Since the event was written to the outbox.
    pub age_ms: u64,
    /// Since the last publish, if any.
    pub last_publish_age_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedInfo {
    pub event_id: EventId,
    pub subject: String,
    pub reason: String,
    pub rejected_at: DateTime<Utc>,
}

/// A pending event whose publish the NATS server refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedInfo {
    pub event_id: EventId,
    pub subject: String,
    /// The server's words, e.g. `Permissions Violation for Publish to "golive.events.RF4.outage"`.
    pub reason: String,
    pub refused_at: DateTime<Utc>,
}

/// The collector's outbox. One process at a time (sled locks the directory).
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: sled::Db,
    rejected: sled::Tree,
    refused: sled::Tree,
    files: sled::Tree,
    log: Mutex<Log>,
    /// The head mark; its lock also keeps flushes one at a time.
    head: Mutex<HeadFile>,
    /// Something was written to sled since its last flush.
    sled_dirty: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Outbox {
    /// Opens the outbox at `dir`, creating it if needed.
    pub fn open(dir: &Path) -> Result<Self, CollectError> {
        std::fs::create_dir_all(dir).map_err(|source| CollectError::OutboxIo {
            path: dir.to_owned(),
            source,
        })?;
        Self::open_db(dir)
    }

    /// Opens an existing outbox; a directory without one is [`CollectError::NoOutbox`].
    pub fn open_existing(dir: &Path) -> Result<Self, CollectError> {
        if !dir.join("conf").exists() && !dir.join("db").exists() {
            return Err(CollectError::NoOutbox(dir.to_owned()));
        }
        Self::open_db(dir)
    }

    fn open_db(dir: &Path) -> Result<Self, CollectError> {
        let db = open_locked(dir)?;
        let meta = db.open_tree("meta").map_err(|e| engine(dir, e))?;
        let found = meta.get("format").map_err(|e| engine(dir, e))?.map(|v| {
            <[u8; 4]>::try_from(v.as_ref())
                .map(u32::from_be_bytes)
                .unwrap_or(u32::MAX)
        });
        let migrating = match found {
            Some(OUTBOX_FORMAT) => false,
            Some(1) => {
                // A migration cut short left chunk files behind: they are made again.
                remove_log_files(dir)?;
                true
            }
            None => {
                if HeadFile::read(dir)?.is_some() {
                    return Err(CollectError::OutboxDamaged {
                        path: dir.to_owned(),
                        what: "its sled database has no format record but its head mark \
                               exists: the database lost its contents"
                            .to_owned(),
                    });
                }
                // A new outbox: the format record first, so that a crash before the head mark
                // is written leaves a new outbox, not a damaged one.
                set_format(dir, &db, &meta)?;
                false
            }
            Some(found) => {
                return Err(CollectError::OutboxFormat {
                    path: dir.to_owned(),
                    found,
                    supported: OUTBOX_FORMAT,
                });
            }
        };
        let outbox = Self::open_log(dir, db)?;
        if migrating {
            outbox.migrate_v1()?;
            // Only now: a migration cut short before this is done again from the start.
            set_format(dir, &outbox.inner.db, &meta)?;
        }
        outbox.drop_v1_tree()?;
        outbox.flush_blocking()?;
        outbox.inner.db.flush().map_err(|e| engine(dir, e))?;
        Ok(outbox)
    }

    fn open_log(dir: &Path, db: sled::Db) -> Result<Self, CollectError> {
        let tree = |name: &str| db.open_tree(name).map_err(|e| engine(dir, e));
        let found = HeadFile::read(dir)?;
        let log = Log::open(dir, found.map(|f| f.0))?;
        let mut head = HeadFile::open(dir, found.map(|f| f.1))?;
        if found.is_none() {
            // The mark exists from the start, so chunk files without one mean damage.
            head.write(&log.written)?;
            log::sync_dir(dir)?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                path: dir.to_owned(),
                rejected: tree("rejected")?,
                refused: tree("refused")?,
                files: tree("files")?,
                db,
                log: Mutex::new(log),
                head: Mutex::new(head),
                sled_dirty: AtomicBool::new(false),
            }),
        })
    }

    /// Moves the entries of a format-1 outbox (sled tree `events`) into the chunk log, with
    /// their states; the tree itself is dropped once the format record says 2.
    fn migrate_v1(&self) -> Result<(), CollectError> {
        let events = self
            .inner
            .db
            .open_tree("events")
            .map_err(|e| self.engine(e))?;
        let mut batch = Vec::new();
        for r in events.iter() {
            let (k, v) = r.map_err(|e| self.engine(e))?;
            batch.push(decode_entry(seq_of_key(&k), &v)?);
            if batch.len() == 4096 {
                self.insert(&batch, &[])?;
                batch.clear();
            }
        }
        self.insert(&batch, &[])?;
        let n = self.len();
        self.flush_blocking()?;
        tracing::info!(
            path = %self.inner.path.display(),
            pending = n,
            "outbox migrated from format 1 (sled) to format {OUTBOX_FORMAT} (chunk files)"
        );
        Ok(())
    }

    /// Drops the format-1 `events` tree if it is still there (after a migration).
    fn drop_v1_tree(&self) -> Result<(), CollectError> {
        let db = &self.inner.db;
        if db.tree_names().iter().any(|n| n.as_ref() == b"events") {
            db.drop_tree("events").map_err(|e| self.engine(e))?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The seq the next new entry gets: one past the highest ever given (pending, settled or
    /// rejected).
    pub fn next_seq(&self) -> Result<u64, CollectError> {
        let rejected = self
            .inner
            .rejected
            .last()
            .map_err(|e| self.engine(e))?
            .map_or(0, |(k, _)| seq_of_key(&k));
        Ok(lock(&self.inner.log).next_seq.max(rejected + 1))
    }

    /// Pending entries in seq order.
    pub fn entries(&self) -> impl Iterator<Item = Result<OutboxEntry, CollectError>> + '_ {
        let seqs: Vec<u64> = lock(&self.inner.log).pending.keys().copied().collect();
        seqs.into_iter()
            .filter_map(move |seq| self.get(seq).transpose())
    }

    pub fn len(&self) -> usize {
        lock(&self.inner.log).pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, seq: u64) -> Result<Option<OutboxEntry>, CollectError> {
        let log = lock(&self.inner.log);
        let Some(live) = log.pending.get(&seq) else {
            return Ok(None);
        };
        let chunk = log
            .chunks
            .get(&live.chunk)
            .expect("a pending entry's chunk is open");
        log::read_entry(&self.inner.path, chunk, seq, live).map(Some)
    }

    /// Appends new entries to the chunk log, and notes `files_done` as read: they are recorded
    /// at the next flush, after the entries are synced (so a file is never recorded as read
    /// before its events are on disk). Not durable until [`Outbox::flush`].
    pub fn insert(
        &self,
        entries: &[OutboxEntry],
        files_done: &[FileKey],
    ) -> Result<(), CollectError> {
        let dir = &self.inner.path;
        let mut log = lock(&self.inner.log);
        if !entries.is_empty() {
            let id = log.chunk_for_append(dir)?;
            let chunk = log.chunks.get_mut(&id).expect("the active chunk is open");
            for (seq, live) in log::append_entries(dir, chunk, entries)? {
                log.next_seq = log.next_seq.max(seq + 1);
                log.pending.insert(seq, live);
            }
        }
        log.files_done.extend_from_slice(files_done);
        Ok(())
    }

    /// Records new publish states of pending entries; entries no longer pending are skipped.
    /// Written at the next flush: a lost state change only means a publish is repeated after a
    /// crash.
    pub fn update_states(&self, updates: &[(u64, EntryState)]) -> Result<(), CollectError> {
        let mut log = lock(&self.inner.log);
        let log = &mut *log;
        for (seq, st) in updates {
            if let Some(live) = log.pending.get_mut(seq) {
                live.state = *st;
                let chunk = log.chunks.get_mut(&live.chunk).expect("open");
                log::mark_state(chunk, *seq, st);
            }
        }
        Ok(())
    }

    /// Settles entries the ledger appended and moves those it dead-lettered to `rejected`
    /// (first, so that an event is never in neither). Not flushed; call [`Outbox::flush`].
    pub fn settle(
        &self,
        appended: &[u64],
        dead_lettered: &[(u64, &str)],
    ) -> Result<(), CollectError> {
        let now = now_unix_ms();
        let mut rejected = sled::Batch::default();
        for (seq, reason) in dead_lettered {
            if let Some(e) = self.get(*seq)? {
                let r = RejectedEntry {
                    seq: *seq,
                    event_id: e.event_id,
                    subject: e.subject,
                    reason: (*reason).to_owned(),
                    rejected_unix_ms: now,
                    payload: e.payload,
                };
                rejected.insert(&seq.to_be_bytes(), encode_rejected(&r));
            }
        }
        if !dead_lettered.is_empty() {
            self.inner
                .rejected
                .apply_batch(rejected)
                .map_err(|e| self.engine(e))?;
            self.inner.sled_dirty.store(true, Ordering::Relaxed);
        }
        let settled: Vec<u64> = appended
            .iter()
            .copied()
            .chain(dead_lettered.iter().map(|(s, _)| *s))
            .collect();
        lock(&self.inner.log).settle(&settled);
        self.clear_refused(settled)
    }

    /// Marks pending events as refused by the NATS server, with its reason. Not flushed.
    pub fn mark_refused(&self, seqs: &[u64], reason: &str) -> Result<(), CollectError> {
        let mut batch = sled::Batch::default();
        let v = encode_refused(now_unix_ms(), reason);
        for seq in seqs {
            batch.insert(&seq.to_be_bytes(), v.clone());
        }
        self.inner.sled_dirty.store(true, Ordering::Relaxed);
        self.inner
            .refused
            .apply_batch(batch)
            .map_err(|e| self.engine(e))
    }

    /// Removes the refused marks of `seqs` (published after all, or settled). Not flushed.
    pub fn clear_refused(&self, seqs: impl IntoIterator<Item = u64>) -> Result<(), CollectError> {
        if self.inner.refused.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for seq in seqs {
            batch.remove(&seq.to_be_bytes());
        }
        self.inner.sled_dirty.store(true, Ordering::Relaxed);
        self.inner
            .refused
            .apply_batch(batch)
            .map_err(|e| self.engine(e))
    }

    /// Seqs of the events marked refused, with the server's reason.
    pub fn refused_marks(&self) -> Result<Vec<(u64, String, i64)>, CollectError> {
        self.inner
            .refused
            .iter()
            .map(|r| {
                let (k, v) = r.map_err(|e| self.engine(e))?;
                let seq = seq_of_key(&k);
                let (at, reason) = decode_refused(seq, &v)?;
                Ok((seq, reason, at))
            })
            .collect()
    }

    /// Makes everything written so far durable.
    pub async fn flush(&self) -> Result<(), CollectError> {
        let outbox = self.clone();
        tokio::task::spawn_blocking(move || outbox.flush_blocking())
            .await
            .map_err(|e| CollectError::OutboxIo {
                path: self.inner.path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?
    }

    /// [`Outbox::flush`] for callers outside a runtime. In order: the chunks written are synced;
    /// the head mark records them; the read files are recorded and sled is flushed (dead
    /// letters included); the marks are written; then fully settled chunks leave the head mark
    /// and their files are deleted.
    pub fn flush_blocking(&self) -> Result<(), CollectError> {
        let inner = &self.inner;
        let mut head = lock(&inner.head);
        let plan = lock(&inner.log).plan_flush(&inner.path)?;
        let chunk_dir = inner.path.join(log::CHUNK_DIR);
        for f in &plan.sync {
            f.sync_data().map_err(|e| log::io(&chunk_dir, e))?;
        }
        if plan.dir_changed {
            log::sync_dir(&chunk_dir)?;
        }
        if let Some(h) = &plan.head {
            head.write(h)?;
        }
        self.flush_sled(&plan.files_done)?;
        let mut marks_created = false;
        for m in &plan.marks {
            m.file
                .write_all_at(&m.frame, m.at)
                .and_then(|()| m.file.sync_data())
                .map_err(|e| log::io(&chunk_dir, e))?;
            marks_created |= m.created;
        }
        if marks_created {
            log::sync_dir(&chunk_dir)?;
        }
        if let Some(h) = &plan.head_after_drop {
            head.write(h)?;
            for id in &plan.dropped {
                for p in [
                    log::chunk_path(&inner.path, *id),
                    log::marks_path(&inner.path, *id),
                ] {
                    match std::fs::remove_file(&p) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(log::io(&p, e));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Records `files_done` as read and flushes sled, if anything was written to it.
    fn flush_sled(&self, files_done: &[FileKey]) -> Result<(), CollectError> {
        let inner = &self.inner;
        if !files_done.is_empty() {
            let now = now_unix_ms().to_be_bytes();
            let mut batch = sled::Batch::default();
            for f in files_done {
                batch.insert(f.to_key(), &now);
            }
            inner.files.apply_batch(batch).map_err(|e| self.engine(e))?;
            inner.sled_dirty.store(true, Ordering::Relaxed);
        }
        if inner.sled_dirty.swap(false, Ordering::Relaxed) {
            inner.db.flush().map_err(|e| self.engine(e))?;
        }
        Ok(())
    }

    pub fn is_file_processed(&self, key: &FileKey) -> Result<bool, CollectError> {
        if lock(&self.inner.log).files_done.contains(key) {
            return Ok(true);
        }
        self.inner
            .files
            .contains_key(key.to_key())
            .map_err(|e| self.engine(e))
    }

    /// Forgets read files whose name is no longer in `present`: the record exists only to keep a
    /// file from being read twice, and a file that is gone cannot be.
    pub fn forget_files_except(&self, present: &dyn Fn(&str) -> bool) -> Result<(), CollectError> {
        lock(&self.inner.log)
            .files_done
            .retain(|f| present(&f.name));
        let mut batch = sled::Batch::default();
        let mut any = false;
        for r in self.inner.files.iter().keys() {
            let k = r.map_err(|e| self.engine(e))?;
            match FileKey::from_key(&k) {
                Some(f) if present(&f.name) => {}
                _ => {
                    batch.remove(k);
                    any = true;
                }
            }
        }
        if any {
            self.inner.sled_dirty.store(true, Ordering::Relaxed);
            self.inner
                .files
                .apply_batch(batch)
                .map_err(|e| self.engine(e))?;
        }
        Ok(())
    }

    /// Events the ledger rejected, oldest first.
    pub fn rejected(&self) -> impl Iterator<Item = Result<RejectedEntry, CollectError>> + '_ {
        self.inner.rejected.iter().map(move |r| {
            let (k, v) = r.map_err(|e| self.engine(e))?;
            decode_rejected(seq_of_key(&k), &v)
        })
    }
    /// Counts and the oldest pending event, from the disk alone (no NATS needed).
    pub fn status(&self) -> Result<OutboxStatus, CollectError> {
        let now = now_unix_ms();
        let age = |t: i64| u64::try_from(now.saturating_sub(t)).unwrap_or(0);
        let mut st = OutboxStatus {
            path: self.inner.path.clone(),
            ..OutboxStatus::default()
        };
        for e in self.entries() {
            let e = e?;
            st.pending += 1;
            match e.state.state {
                PublishState::Queued => st.never_published += 1,
                PublishState::Published => st.awaiting_receipt += 1,
            }
            if st.oldest_pending.is_none() {
                st.oldest_pending = Some(PendingInfo {
                    event_id: e.event_id,
                    subject: e.subject,
                    publish_attempts: e.state.publish_attempts,
                    republishes: e.state.republishes,
                    age_ms: age(e.state.queued_unix_ms),
                    last_publish_age_ms: e.state.last_publish_unix_ms.map(age),
                });
            }
        }
        for r in self.rejected() {
            let r = r?;
            st.rejected_total += 1;
            if st.rejected_by_ledger.len() < REJECTED_LISTED_MAX {
                st.rejected_by_ledger.push(RejectedInfo {
                    event_id: r.event_id,
                    subject: r.subject,
                    reason: r.reason,
                    rejected_at: DateTime::from_timestamp_millis(r.rejected_unix_ms)
                        .unwrap_or_default(),
                });
            }
        }
        for (seq, reason, at) in self.refused_marks()? {
            // A mark whose event is gone (settled by a receipt after a crash) means nothing.
            let Some(e) = self.get(seq)? else { continue };
            st.refused_total += 1;
            if st.refused_by_server.len() < REFUSED_LISTED_MAX {
                st.refused_by_server.push(RefusedInfo {
                    event_id: e.event_id,
                    subject: e.subject,
                    reason,
                    refused_at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
                });
            }
        }
        st.files_processed = self.inner.files.len() as u64;
        Ok(st)
    }

    fn engine(&self, e: sled::Error) -> CollectError {
        engine(&self.inner.path, e)
    }
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn now_unix_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Records [`OUTBOX_FORMAT`] in `meta` and flushes it.
fn set_format(dir: &Path, db: &sled::Db, meta: &sled::Tree) -> Result<(), CollectError> {
    meta.insert("format", &OUTBOX_FORMAT.to_be_bytes())
        .map_err(|e| engine(dir, e))?;
    db.flush().map_err(|e| engine(dir, e))?;
    Ok(())
}

fn open_locked(dir: &Path) -> Result<sled::Db, CollectError> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(dir)
            .cache_capacity(64 * 1024 * 1024)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(e) => match open_error(dir, e) {
                // sled's background threads let go of the lock just after the last handle of
                // a database closed in this process is dropped: wait a little for that.
                CollectError::OutboxLocked { .. }
                    if started.elapsed() < Duration::from_millis(OPEN_LOCK_WAIT_MS_MAX) =>
                {
                    std::thread::sleep(Duration::from_millis(OPEN_LOCK_RETRY_MS));
                }
                other => return Err(other),
            },
        }
    }
}

fn open_error(dir: &Path, e: sled::Error) -> CollectError {
    match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            CollectError::OutboxLocked {
                path: dir.to_owned(),
            }
        }
        sled::Error::Io(source) => CollectError::OutboxIo {
            path: dir.to_owned(),
            source,
        },
        other => engine(dir, other),
    }
}

fn engine(dir: &Path, e: sled::Error) -> CollectError {
    match e {
        sled::Error::Io(source) => CollectError::OutboxIo {
            path: dir.to_owned(),
            source,
        },
        source => CollectError::OutboxEngine {
            path: dir.to_owned(),
            source,
        },
    }
}

fn seq_of_key(k: &[u8]) -> u64 {
    <[u8; 8]>::try_from(k).map(u64::from_be_bytes).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> OutboxEntry {
        OutboxEntry {
            seq: 7,
            event_id: EventId::from_bytes([0xAB; 16]),
            subject: "golive.events.RAL.outage".to_owned(),
            payload: b"{}".to_vec(),
            state: EntryState {
                state: PublishState::Published,
                republishes: 2,
                publish_attempts: 3,
                queued_unix_ms: 1_000,
                last_publish_unix_ms: Some(2_000),
            },
        }
    }

    #[test]
    fn entry_layout_is_pinned() {
        // Proves the V1 on-disk layout of an outbox entry does not change by accident, and that
        // it round trips.
        let e = entry();
        let bytes = encode_entry(&e);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "0101000000020000000300000000000003e800000000000007d0\
             abababababababababababababababab0018\
             676f6c6976652e6576656e74732e52414c2e6f7574616765\
             7b7d"
        );
        assert_eq!(decode_entry(7, &bytes).unwrap(), e);
        assert_eq!(e.msg_id(), format!("{}.r2", e.event_id));
    }

    #[test]
    fn rejected_layout_round_trips_and_refuses_garbage() {
        // Proves the rejected record round trips and a truncated one is reported as corrupt.
        let r = RejectedEntry {
            seq: 3,
            event_id: EventId::from_bytes([1; 16]),
            subject: "golive.events.RAL.outage".to_owned(),
            reason: "rejected by the ledger".to_owned(),
            rejected_unix_ms: 42,
            payload: b"{\"a\":1}".to_vec(),
        };
        let v = encode_rejected(&r);
        assert_eq!(decode_rejected(3, &v).unwrap(), r);
        assert!(decode_rejected(3, &v[..30]).is_err());
        assert!(decode_entry(1, &[9; 50]).is_err());
    }

    #[test]
    fn refused_layout_is_pinned() {
        // Proves the V1 layout of a refused mark does not change by accident and round trips.
        let v = encode_refused(42, "Permissions Violation");
        let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "01000000000000002a5065726d697373696f6e732056696f6c6174696f6e"
        );
        assert_eq!(
            decode_refused(1, &v).unwrap(),
            (42, "Permissions Violation".to_owned())
        );
        assert!(decode_refused(1, &v[..5]).is_err());
    }

    #[test]
    fn refused_marks_show_in_the_status_until_the_event_settles() {
        // Proves a refused event stays pending, is listed with its subject and the server's
        // reason, and loses the mark when the ledger confirms it.
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        let mut e = entry();
        e.seq = 1;
        e.state.state = PublishState::Queued;
        o.insert(&[e.clone()], &[]).unwrap();
        o.mark_refused(&[1], "Permissions Violation for Publish to \"x\"")
            .unwrap();
        let st = o.status().unwrap();
        assert_eq!((st.pending, st.refused_total), (1, 1));
        assert_eq!(st.refused_by_server[0].subject, e.subject);
        assert!(st.refused_by_server[0].reason.starts_with("Permissions"));
        o.settle(&[1], &[]).unwrap();
        let st = o.status().unwrap();
        assert_eq!((st.pending, st.refused_total), (0, 0));
        assert!(o.refused_marks().unwrap().is_empty());
    }

    #[test]
    fn file_keys_round_trip() {
        // Proves a processed-file key keeps name, size and mtime apart.
        let k = FileKey {
            name: "a.jsonl".to_owned(),
            size: 12,
            mtime_ns: 34,
        };
        assert_eq!(FileKey::from_key(&k.to_key()), Some(k));
    }
}
