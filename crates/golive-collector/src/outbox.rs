//! The durable outbox: every valid event is written here and flushed before it is published,
//! and leaves only when the ledger's receipt says it was appended (or dead-lettered, when it
//! moves to the `rejected` tree). It is the collector's own sled database at `--data DIR`.
//!
//! Trees:
//! - `events`: outbox seq (`u64` big-endian, the order events were read) -> [`OutboxEntry`]
//!   in the V1 layout below. Keying by read order means a restart publishes in the same order
//!   as the first run, so a correction still follows the event it supersedes.
//! - `rejected`: outbox seq -> events the ledger dead-lettered, with the reason, for `--status`.
//! - `refused`: outbox seq -> a mark on a pending event whose publish the NATS server refused
//!   (a permissions violation: these credentials may not publish on its subject), with the
//!   server's reason and time. The event itself stays in `events`: it is kept, tried again on
//!   the next run, and the mark goes when a publish is acknowledged or the event settles.
//!   Value V1: `[1][refused_unix_ms i64][reason, UTF-8, to the end]`. Added after V1 of the
//!   other trees; a build that does not know the tree ignores it, so the format stays 1.
//! - `files`: watched files already read (name, size, mtime), so a restart does not re-read them.
//! - `meta`: `format` -> the layout version (`u32` big-endian).
//!
//! The layouts are hand-written byte formats with a leading version byte, independent of any
//! Rust type, and pinned by golden-bytes tests: a refactor cannot silently change the disk.
//!
//! `events` value, V1: `[1][state u8][republishes u32][publish_attempts u32][queued_unix_ms i64]
//! [last_publish_unix_ms i64, 0 = never][event_id 16][subject_len u16][subject][payload...]`,
//! integers big-endian. The mutable part is a fixed-size header so a state change rewrites the
//! header without decoding the rest.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use golive_model::EventId;

use crate::error::CollectError;

/// The outbox layout this build reads and writes.
pub const OUTBOX_FORMAT: u32 = 1;
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
    path: PathBuf,
    db: sled::Db,
    events: sled::Tree,
    rejected: sled::Tree,
    refused: sled::Tree,
    files: sled::Tree,
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
        let tree = |name: &str| db.open_tree(name).map_err(|e| engine(dir, e));
        let events = tree("events")?;
        let rejected = tree("rejected")?;
        let refused = tree("refused")?;
        let files = tree("files")?;
        let meta = tree("meta")?;
        match meta.get("format").map_err(|e| engine(dir, e))? {
            None => {
                meta.insert("format", &OUTBOX_FORMAT.to_be_bytes())
                    .map_err(|e| engine(dir, e))?;
                db.flush().map_err(|e| engine(dir, e))?;
            }
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .unwrap_or(u32::MAX);
                if found != OUTBOX_FORMAT {
                    return Err(CollectError::OutboxFormat {
                        path: dir.to_owned(),
                        found,
                        supported: OUTBOX_FORMAT,
                    });
                }
            }
        }
        Ok(Self {
            path: dir.to_owned(),
            db,
            events,
            rejected,
            refused,
            files,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The seq the next new entry gets: one past the highest in use (pending or rejected).
    pub fn next_seq(&self) -> Result<u64, CollectError> {
        let last = |t: &sled::Tree| -> Result<u64, CollectError> {
            Ok(t.last()
                .map_err(|e| self.engine(e))?
                .map_or(0, |(k, _)| seq_of_key(&k)))
        };
        Ok(last(&self.events)?.max(last(&self.rejected)?) + 1)
    }

    /// Pending entries in seq order.
    pub fn entries(&self) -> impl Iterator<Item = Result<OutboxEntry, CollectError>> + '_ {
        self.events.iter().map(move |r| {
            let (k, v) = r.map_err(|e| self.engine(e))?;
            decode_entry(seq_of_key(&k), &v)
        })
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn get(&self, seq: u64) -> Result<Option<OutboxEntry>, CollectError> {
        self.events
            .get(seq.to_be_bytes())
            .map_err(|e| self.engine(e))?
            .map(|v| decode_entry(seq, &v))
            .transpose()
    }

    /// Writes new entries and then marks `files_done` as read, in that order (so a file is never
    /// recorded as read before its events are on disk). Not durable until [`Outbox::flush`].
    pub fn insert(
        &self,
        entries: &[OutboxEntry],
        files_done: &[FileKey],
    ) -> Result<(), CollectError> {
        let mut batch = sled::Batch::default();
        for e in entries {
            batch.insert(&e.seq.to_be_bytes(), encode_entry(e));
        }
        self.events.apply_batch(batch).map_err(|e| self.engine(e))?;
        if !files_done.is_empty() {
            let now = now_unix_ms().to_be_bytes();
            let mut batch = sled::Batch::default();
            for f in files_done {
                batch.insert(f.to_key(), &now);
            }
            self.files.apply_batch(batch).map_err(|e| self.engine(e))?;
        }
        Ok(())
    }

    /// Rewrites the state header of pending entries; entries no longer pending are skipped.
    /// Not flushed: a lost state change only means a publish is repeated after a crash.
    pub fn update_states(&self, updates: &[(u64, EntryState)]) -> Result<(), CollectError> {
        let mut batch = sled::Batch::default();
        for (seq, st) in updates {
            let Some(old) = self
                .events
                .get(seq.to_be_bytes())
                .map_err(|e| self.engine(e))?
            else {
                continue;
            };
            if old.len() < FIXED_LEN || old[0] != RECORD_V1 {
                return Err(corrupt(*seq, "unknown record version"));
            }
            let mut v = old.to_vec();
            v[..HEADER_LEN].copy_from_slice(&encode_header(st));
            batch.insert(&seq.to_be_bytes(), v);
        }
        self.events.apply_batch(batch).map_err(|e| self.engine(e))
    }

    /// Removes entries the ledger appended and moves those it dead-lettered to `rejected`.
    /// Not flushed; call [`Outbox::flush`].
    pub fn settle(
        &self,
        appended: &[u64],
        dead_lettered: &[(u64, &str)],
    ) -> Result<(), CollectError> {
        let now = now_unix_ms();
        let mut rejected = sled::Batch::default();
        let mut events = sled::Batch::default();
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
                events.remove(&seq.to_be_bytes());
            }
        }
        for seq in appended {
            events.remove(&seq.to_be_bytes());
        }
        // Rejected first: a crash between the two leaves the event in both trees, never in
        // neither.
        self.rejected
            .apply_batch(rejected)
            .map_err(|e| self.engine(e))?;
        self.events
            .apply_batch(events)
            .map_err(|e| self.engine(e))?;
        let settled = appended
            .iter()
            .copied()
            .chain(dead_lettered.iter().map(|(s, _)| *s));
        self.clear_refused(settled)
    }

    /// Marks pending events as refused by the NATS server, with its reason. Not flushed.
    pub fn mark_refused(&self, seqs: &[u64], reason: &str) -> Result<(), CollectError> {
        let mut batch = sled::Batch::default();
        let v = encode_refused(now_unix_ms(), reason);
        for seq in seqs {
            batch.insert(&seq.to_be_bytes(), v.clone());
        }
        self.refused.apply_batch(batch).map_err(|e| self.engine(e))
    }

    /// Removes the refused marks of `seqs` (published after all, or settled). Not flushed.
    pub fn clear_refused(&self, seqs: impl IntoIterator<Item = u64>) -> Result<(), CollectError> {
        if self.refused.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for seq in seqs {
            batch.remove(&seq.to_be_bytes());
        }
        self.refused.apply_batch(batch).map_err(|e| self.engine(e))
    }

    /// Seqs of the events marked refused, with the server's reason.
    pub fn refused_marks(&self) -> Result<Vec<(u64, String, i64)>, CollectError> {
        self.refused
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
        self.db.flush_async().await.map_err(|e| self.engine(e))?;
        Ok(())
    }

    /// [`Outbox::flush`] for callers outside a runtime.
    pub fn flush_blocking(&self) -> Result<(), CollectError> {
        self.db.flush().map_err(|e| self.engine(e))?;
        Ok(())
    }

    pub fn is_file_processed(&self, key: &FileKey) -> Result<bool, CollectError> {
        self.files
            .contains_key(key.to_key())
            .map_err(|e| self.engine(e))
    }

    /// Forgets read files whose name is no longer in `present`: the record exists only to keep a
    /// file from being read twice, and a file that is gone cannot be.
    pub fn forget_files_except(&self, present: &dyn Fn(&str) -> bool) -> Result<(), CollectError> {
        let mut batch = sled::Batch::default();
        let mut any = false;
        for r in self.files.iter().keys() {
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
            self.files.apply_batch(batch).map_err(|e| self.engine(e))?;
        }
        Ok(())
    }

    /// Events the ledger rejected, oldest first.
    pub fn rejected(&self) -> impl Iterator<Item = Result<RejectedEntry, CollectError>> + '_ {
        self.rejected.iter().map(move |r| {
            let (k, v) = r.map_err(|e| self.engine(e))?;
            decode_rejected(seq_of_key(&k), &v)
        })
    }

    /// Counts and the oldest pending event, from the disk alone (no NATS needed).
    pub fn status(&self) -> Result<OutboxStatus, CollectError> {
        let now = now_unix_ms();
        let age = |t: i64| u64::try_from(now.saturating_sub(t)).unwrap_or(0);
        let mut st = OutboxStatus {
            path: self.path.clone(),
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
        st.files_processed = self.files.len() as u64;
        Ok(st)
    }

    fn engine(&self, e: sled::Error) -> CollectError {
        engine(&self.path, e)
    }
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn now_unix_ms() -> i64 {
    Utc::now().timestamp_millis()
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

fn corrupt(seq: u64, what: &str) -> CollectError {
    CollectError::OutboxCorrupt {
        seq,
        what: what.to_owned(),
    }
}

fn seq_of_key(k: &[u8]) -> u64 {
    <[u8; 8]>::try_from(k).map(u64::from_be_bytes).unwrap_or(0)
}

fn encode_header(st: &EntryState) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = RECORD_V1;
    h[1] = st.state.to_byte();
    h[2..6].copy_from_slice(&st.republishes.to_be_bytes());
    h[6..10].copy_from_slice(&st.publish_attempts.to_be_bytes());
    h[10..18].copy_from_slice(&st.queued_unix_ms.to_be_bytes());
    h[18..26].copy_from_slice(&st.last_publish_unix_ms.unwrap_or(0).to_be_bytes());
    h
}

/// The V1 `events` value of `e` (see the module documentation).
pub fn encode_entry(e: &OutboxEntry) -> Vec<u8> {
    let subject = e.subject.as_bytes();
    // Subjects are `golive.events.<ODS code>.<kind>`: far below 64 KiB.
    let subject_len = u16::try_from(subject.len()).expect("a subject is shorter than 64 KiB");
    let mut v = Vec::with_capacity(FIXED_LEN + subject.len() + e.payload.len());
    v.extend_from_slice(&encode_header(&e.state));
    v.extend_from_slice(e.event_id.as_bytes());
    v.extend_from_slice(&subject_len.to_be_bytes());
    v.extend_from_slice(subject);
    v.extend_from_slice(&e.payload);
    v
}

pub fn decode_entry(seq: u64, v: &[u8]) -> Result<OutboxEntry, CollectError> {
    if v.len() < FIXED_LEN {
        return Err(corrupt(seq, "record is shorter than its fixed part"));
    }
    if v[0] != RECORD_V1 {
        return Err(corrupt(seq, &format!("unknown record version {}", v[0])));
    }
    let state = PublishState::from_byte(v[1])
        .ok_or_else(|| corrupt(seq, &format!("unknown publish state {}", v[1])))?;
    let u32_at = |i: usize| u32::from_be_bytes(v[i..i + 4].try_into().expect("4 bytes"));
    let i64_at = |i: usize| i64::from_be_bytes(v[i..i + 8].try_into().expect("8 bytes"));
    let last = i64_at(18);
    let mut id = [0u8; 16];
    id.copy_from_slice(&v[26..42]);
    let subject_len = usize::from(u16::from_be_bytes([v[42], v[43]]));
    let rest = &v[FIXED_LEN..];
    if rest.len() < subject_len {
        return Err(corrupt(seq, "subject runs past the end of the record"));
    }
    let subject = std::str::from_utf8(&rest[..subject_len])
        .map_err(|_| corrupt(seq, "subject is not UTF-8"))?
        .to_owned();
    Ok(OutboxEntry {
        seq,
        event_id: EventId::from_bytes(id),
        subject,
        payload: rest[subject_len..].to_vec(),
        state: EntryState {
            state,
            republishes: u32_at(2),
            publish_attempts: u32_at(6),
            queued_unix_ms: i64_at(10),
            last_publish_unix_ms: (last != 0).then_some(last),
        },
    })
}

/// `rejected` value, V1: `[1][rejected_unix_ms i64][event_id 16][subject_len u16][subject]
/// [reason_len u16][reason][payload...]`.
pub fn encode_rejected(r: &RejectedEntry) -> Vec<u8> {
    let subject = r.subject.as_bytes();
    let reason = truncate_utf8(&r.reason, usize::from(u16::MAX));
    let mut v = Vec::with_capacity(1 + 8 + 16 + 4 + subject.len() + reason.len() + r.payload.len());
    v.push(RECORD_V1);
    v.extend_from_slice(&r.rejected_unix_ms.to_be_bytes());
    v.extend_from_slice(r.event_id.as_bytes());
    v.extend_from_slice(&(subject.len() as u16).to_be_bytes());
    v.extend_from_slice(subject);
    v.extend_from_slice(&(reason.len() as u16).to_be_bytes());
    v.extend_from_slice(reason.as_bytes());
    v.extend_from_slice(&r.payload);
    v
}

pub fn decode_rejected(seq: u64, v: &[u8]) -> Result<RejectedEntry, CollectError> {
    let bad = || corrupt(seq, "rejected record is malformed");
    if v.len() < 1 + 8 + 16 + 2 || v[0] != RECORD_V1 {
        return Err(bad());
    }
    let at = i64::from_be_bytes(v[1..9].try_into().expect("8 bytes"));
    let mut id = [0u8; 16];
    id.copy_from_slice(&v[9..25]);
    let mut rest = &v[25..];
    let mut text = || -> Result<String, CollectError> {
        if rest.len() < 2 {
            return Err(bad());
        }
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let s = rest.get(2..2 + n).ok_or_else(bad)?;
        let s = std::str::from_utf8(s).map_err(|_| bad())?.to_owned();
        rest = &rest[2 + n..];
        Ok(s)
    };
    let subject = text()?;
    let reason = text()?;
    Ok(RejectedEntry {
        seq,
        event_id: EventId::from_bytes(id),
        subject,
        reason,
        rejected_unix_ms: at,
        payload: rest.to_vec(),
    })
}

/// `refused` value, V1: `[1][refused_unix_ms i64][reason...]` (see the module documentation).
pub fn encode_refused(refused_unix_ms: i64, reason: &str) -> Vec<u8> {
    let reason = truncate_utf8(reason, 4096);
    let mut v = Vec::with_capacity(9 + reason.len());
    v.push(RECORD_V1);
    v.extend_from_slice(&refused_unix_ms.to_be_bytes());
    v.extend_from_slice(reason.as_bytes());
    v
}

pub fn decode_refused(seq: u64, v: &[u8]) -> Result<(i64, String), CollectError> {
    let bad = || corrupt(seq, "refused record is malformed");
    if v.len() < 9 || v[0] != RECORD_V1 {
        return Err(bad());
    }
    let at = i64::from_be_bytes(v[1..9].try_into().expect("8 bytes"));
    let reason = std::str::from_utf8(&v[9..]).map_err(|_| bad())?.to_owned();
    Ok((at, reason))
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
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
