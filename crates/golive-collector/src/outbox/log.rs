//! The outbox's events: an append-only log of chunk files, `chunks/<id>.log`, each beside a
//! `chunks/<id>.marks` file of the entries' later publish states and receipts.
//!
//! - A chunk file is `magic "GLOBXC02" | chunk id (u64 BE)`, then frames
//!   `len (u32 BE) | CRC-32 of the body (u32 BE) | body`. A body is an entry,
//!   `1 | seq (u64 BE) | the entry in the V1 layout of [`super::encode_entry`]`, or the seal that
//!   closes a full chunk, `2 | entries (u32 BE)`. Entries are appended as they are inserted;
//!   a chunk is sealed and the next begun once it holds [`CHUNK_BYTES_TARGET`] bytes.
//! - A marks file is `magic "GLOBXM02" | chunk id`, then frames of the same shape whose bodies
//!   are runs of items: `1 | seq | state header (26 bytes, as in V1)` (a publish state) or
//!   `2 | seq` (settled: appended or dead-lettered). Marks are written at a flush, after sled,
//!   so a dead-lettered event is in the `rejected` tree before its settled mark can be on disk.
//!   A lost mark can only make an event pending again (it is then asked about again); the
//!   reader stops at the first unreadable frame and cuts the file there.
//! - The head mark ([`super::head`]) names the chunks that exist (oldest to newest) and how
//!   much of the newest was synced. At open every chunk in that range must be there; each but
//!   the newest must be whole and sealed; the newest must hold at least its synced length,
//!   and what lies beyond it (written after the last flush) is cut off. Anything else is
//!   [`CollectError::OutboxDamaged`]: a cut or damaged outbox is refused, never opened shorter.
//! - A chunk whose entries are all settled is deleted, oldest first: the head mark is moved
//!   past it (after sled has flushed the dead letters it held), then its files go. The range
//!   of live chunks therefore has no holes, and a missing chunk always means damage.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::head::Head;
use super::records::{corrupt, decode_entry, decode_header, encode_entry_into, encode_header};
use super::{EntryState, FileKey, HEADER_LEN, OutboxEntry};
use crate::error::CollectError;

/// The directory of the chunk files, inside the outbox's.
pub const CHUNK_DIR: &str = "chunks";
/// A chunk is sealed, and the next one begun, once it holds this many bytes.
pub const CHUNK_BYTES_TARGET: u64 = 1 << 20;
const CHUNK_MAGIC: [u8; 8] = *b"GLOBXC02";
const MARKS_MAGIC: [u8; 8] = *b"GLOBXM02";
const FILE_HEADER_LEN: u64 = 16;
const FRAME_HEADER_LEN: usize = 8;
const BODY_ENTRY: u8 = 1;
const BODY_SEAL: u8 = 2;
const MARK_STATE: u8 = 1;
const MARK_SETTLED: u8 = 2;
const MARK_STATE_LEN: usize = 1 + 8 + HEADER_LEN;
const MARK_SETTLED_LEN: usize = 1 + 8;

/// Appends one frame whose body `body` writes.
fn push_frame(buf: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let at = buf.len();
    buf.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    body(buf);
    let len = u32::try_from(buf.len() - at - FRAME_HEADER_LEN).expect("a frame is under 4 GiB");
    let crc = crc32fast::hash(&buf[at + FRAME_HEADER_LEN..]);
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    buf[at + 4..at + 8].copy_from_slice(&crc.to_be_bytes());
}

/// The frame at `at`: `Ok(Some(body range))`, `Ok(None)` at the end of `bytes`, or why the
/// bytes there are not a frame.
fn frame_at(bytes: &[u8], at: usize) -> Result<Option<std::ops::Range<usize>>, String> {
    if at == bytes.len() {
        return Ok(None);
    }
    let Some(h) = bytes.get(at..at + FRAME_HEADER_LEN) else {
        return Err(format!(
            "{} stray bytes where a frame should begin",
            bytes.len() - at
        ));
    };
    let len = u32::from_be_bytes(h[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_be_bytes(h[4..].try_into().expect("4 bytes"));
    let body = at + FRAME_HEADER_LEN..at + FRAME_HEADER_LEN + len;
    let Some(b) = bytes.get(body.clone()) else {
        return Err(format!(
            "a frame of {len} bytes runs past the end of the file"
        ));
    };
    if crc32fast::hash(b) != crc {
        return Err("a frame's checksum does not match its bytes".to_owned());
    }
    Ok(Some(body))
}

fn file_header(magic: [u8; 8], id: u64) -> [u8; FILE_HEADER_LEN as usize] {
    let mut h = [0u8; FILE_HEADER_LEN as usize];
    h[..8].copy_from_slice(&magic);
    h[8..].copy_from_slice(&id.to_be_bytes());
    h
}

pub fn chunk_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(CHUNK_DIR).join(format!("{id:020}.log"))
}

pub fn marks_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(CHUNK_DIR).join(format!("{id:020}.marks"))
}

/// Where a pending entry is, and its publish state now.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub chunk: u64,
    /// Offset of the entry's frame in its chunk file.
    pub offset: u64,
    /// Length of the frame, header included.
    pub len: u32,
    pub state: EntryState,
}

/// One chunk file held open.
pub struct Chunk {
    pub id: u64,
    pub file: File,
    /// Bytes written (synced or not).
    pub len: u64,
    pub live: u32,
    pub entries: u32,
    /// Written since the last flush synced it.
    pub unsynced: bool,
    /// The marks file and its length, once opened.
    pub marks: MarksFile,
    /// Marks not yet written (they are written at a flush, after sled).
    pub marks_buf: Vec<u8>,
}

/// The bytes and live entries of one chunk, as read at open.
pub struct Scanned {
    pub chunk: Chunk,
    pub sealed: bool,
    pub entries: Vec<(u64, Live)>,
}

pub fn io(path: &Path, source: std::io::Error) -> CollectError {
    CollectError::OutboxIo {
        path: path.to_owned(),
        source,
    }
}

fn damaged(dir: &Path, what: String) -> CollectError {
    CollectError::OutboxDamaged {
        path: dir.to_owned(),
        what,
    }
}

/// Creates chunk `id`'s file with its header, unsynced.
pub fn create_chunk(dir: &Path, id: u64) -> Result<Chunk, CollectError> {
    let path = chunk_path(dir, id);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    file.write_all_at(&file_header(CHUNK_MAGIC, id), 0)
        .map_err(|e| io(&path, e))?;
    Ok(Chunk {
        id,
        file,
        len: FILE_HEADER_LEN,
        live: 0,
        entries: 0,
        unsynced: true,
        marks: None,
        marks_buf: Vec::new(),
    })
}

/// Appends `entries` to `chunk` as one write; returns where each landed.
pub fn append_entries(
    dir: &Path,
    chunk: &mut Chunk,
    entries: &[OutboxEntry],
) -> Result<Vec<(u64, Live)>, CollectError> {
    let id = chunk.id;
    let mut buf = Vec::with_capacity(entries.iter().map(|e| e.payload.len() + 128).sum());
    let mut placed = Vec::with_capacity(entries.len());
    for e in entries {
        let at = buf.len();
        push_frame(&mut buf, |b| {
            b.push(BODY_ENTRY);
            b.extend_from_slice(&e.seq.to_be_bytes());
            encode_entry_into(e, b);
        });
        let live = Live {
            chunk: id,
            offset: chunk.len + at as u64,
            len: u32::try_from(buf.len() - at).expect("an entry is under 4 GiB"),
            state: e.state,
        };
        placed.push((e.seq, live));
    }
    let path = chunk_path(dir, id);
    chunk
        .file
        .write_all_at(&buf, chunk.len)
        .map_err(|e| io(&path, e))?;
    chunk.len += buf.len() as u64;
    chunk.entries += entries.len() as u32;
    chunk.live += entries.len() as u32;
    chunk.unsynced = true;
    Ok(placed)
}

/// Appends the seal that closes a full chunk.
pub fn seal(dir: &Path, chunk: &mut Chunk) -> Result<(), CollectError> {
    let mut buf = Vec::new();
    push_frame(&mut buf, |b| {
        b.push(BODY_SEAL);
        b.extend_from_slice(&chunk.entries.to_be_bytes());
    });
    let id = chunk.id;
    chunk
        .file
        .write_all_at(&buf, chunk.len)
        .map_err(|e| io(&chunk_path(dir, id), e))?;
    chunk.len += buf.len() as u64;
    chunk.unsynced = true;
    Ok(())
}

/// Reads the entry `live` points at, with its current state.
pub fn read_entry(
    dir: &Path,
    chunk: &Chunk,
    seq: u64,
    live: &Live,
) -> Result<OutboxEntry, CollectError> {
    let mut frame = vec![0u8; live.len as usize];
    chunk
        .file
        .read_exact_at(&mut frame, live.offset)
        .map_err(|e| io(&chunk_path(dir, live.chunk), e))?;
    let body = match frame_at(&frame, 0) {
        Ok(Some(body)) => &frame[body],
        Ok(None) | Err(_) => {
            return Err(corrupt(seq, "its frame in the chunk file does not check"));
        }
    };
    let mut e = decode_entry(seq, &body[9..])?;
    e.state = live.state;
    Ok(e)
}

/// Queues a state mark for `seq` in its chunk's marks.
pub fn mark_state(chunk: &mut Chunk, seq: u64, st: &EntryState) {
    chunk.marks_buf.push(MARK_STATE);
    chunk.marks_buf.extend_from_slice(&seq.to_be_bytes());
    chunk.marks_buf.extend_from_slice(&encode_header(st));
}

/// Queues a settled mark for `seq` in its chunk's marks.
pub fn mark_settled(chunk: &mut Chunk, seq: u64) {
    chunk.marks_buf.push(MARK_SETTLED);
    chunk.marks_buf.extend_from_slice(&seq.to_be_bytes());
}

/// Reads chunk `id` at open. `synced_len` is `Some` for the newest chunk (the length the head
/// mark says was synced: it must be there, whatever lies beyond is cut off) and `None` for an
/// older one (it must be whole and sealed).
pub fn scan_chunk(dir: &Path, id: u64, synced_len: Option<u64>) -> Result<Scanned, CollectError> {
    let path = chunk_path(dir, id);
    let bytes = read_chunk(dir, &path)?;
    let end = synced_end(dir, id, &path, bytes.len(), synced_len)?;
    if bytes.len() < FILE_HEADER_LEN as usize || bytes[..16] != file_header(CHUNK_MAGIC, id) {
        return Err(damaged(
            dir,
            format!("chunk file {} has no valid header", path.display()),
        ));
    }
    let (entries, sealed) = scan_frames(&bytes[..end], id).map_err(|(at, why)| {
        damaged(
            dir,
            format!("chunk file {}, byte {at}: {why}", path.display()),
        )
    })?;
    if synced_len.is_none() && !sealed {
        return Err(damaged(
            dir,
            format!(
                "chunk file {} is not the newest but has no seal: it was cut",
                path.display()
            ),
        ));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    if bytes.len() > end {
        // Written after the last flush: never synced, never published.
        file.set_len(end as u64)
            .and_then(|()| file.sync_data())
            .map_err(|e| io(&path, e))?;
    }
    let n = entries.len() as u32;
    Ok(Scanned {
        chunk: Chunk {
            id,
            file,
            len: end as u64,
            live: n,
            entries: n,
            unsynced: false,
            marks: None,
            marks_buf: Vec::new(),
        },
        sealed,
        entries,
    })
}

/// Where a chunk's checked bytes end: its synced length for the newest (which the file must
/// hold), the whole file for an older one.
fn synced_end(
    dir: &Path,
    id: u64,
    path: &Path,
    file_len: usize,
    synced_len: Option<u64>,
) -> Result<usize, CollectError> {
    match synced_len {
        Some(n) if (file_len as u64) < n => Err(damaged(
            dir,
            format!(
                "chunk file {} holds {} bytes, but {n} were synced at the last flush: it was cut",
                path.display(),
                file_len
            ),
        )),
        Some(n) if n < FILE_HEADER_LEN => Err(damaged(
            dir,
            format!(
                "the head mark gives chunk {id} a synced length of {n} bytes, less than its header"
            ),
        )),
        Some(n) => Ok(n as usize),
        None => Ok(file_len),
    }
}

/// The bytes of a chunk file the head mark names: a missing one is damage.
fn read_chunk(dir: &Path, path: &Path) -> Result<Vec<u8>, CollectError> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(damaged(
            dir,
            format!("chunk file {} is missing", path.display()),
        )),
        Err(e) => Err(io(path, e)),
    }
}

type ScanError = (usize, String);

/// The entries of a chunk's bytes (header included) and whether a seal ends them.
fn scan_frames(bytes: &[u8], id: u64) -> Result<(Vec<(u64, Live)>, bool), ScanError> {
    let mut at = FILE_HEADER_LEN as usize;
    let mut entries = Vec::new();
    while let Some(body) = frame_at(bytes, at).map_err(|why| (at, why))? {
        let b = &bytes[body.clone()];
        match b.first() {
            Some(&BODY_ENTRY) if b.len() >= 9 + HEADER_LEN => {
                let seq = u64::from_be_bytes(b[1..9].try_into().expect("8 bytes"));
                let state = decode_header(seq, &b[9..]).map_err(|e| (at, e.to_string()))?;
                let len = (body.end - at) as u32;
                entries.push((
                    seq,
                    Live {
                        chunk: id,
                        offset: at as u64,
                        len,
                        state,
                    },
                ));
            }
            Some(&BODY_SEAL) if b.len() == 5 => {
                let n = u32::from_be_bytes(b[1..5].try_into().expect("4 bytes")) as usize;
                if n != entries.len() {
                    let read = entries.len();
                    return Err((at, format!("the seal counts {n} entries, {read} were read")));
                }
                if body.end != bytes.len() {
                    return Err((at, "bytes follow the seal".to_owned()));
                }
                return Ok((entries, true));
            }
            _ => return Err((at, "a frame that is neither an entry nor a seal".to_owned())),
        }
        at = body.end;
    }
    Ok((entries, false))
}

/// A marks file held open, with its length.
pub type MarksFile = Option<(File, u64)>;
/// A mark read back: `(seq, Some(state))`, or `(seq, None)` for settled.
pub type Mark = (u64, Option<EntryState>);

/// One frame of marks to write at `at` of a marks file (`created`: the file is new).
pub struct MarksWrite {
    pub file: File,
    pub at: u64,
    pub frame: Vec<u8>,
    pub created: bool,
}

/// Reads chunk `id`'s marks (if any), cuts the file after its last readable frame, and returns
/// the marks in order: `(seq, Some(state))` or `(seq, None)` for settled.
pub fn scan_marks(dir: &Path, id: u64) -> Result<(MarksFile, Vec<Mark>), CollectError> {
    let path = marks_path(dir, id);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, Vec::new())),
        Err(e) => return Err(io(&path, e)),
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    if bytes.len() < FILE_HEADER_LEN as usize || bytes[..16] != file_header(MARKS_MAGIC, id) {
        // Created but its header never synced: no mark in it was either.
        let header = file_header(MARKS_MAGIC, id);
        file.set_len(0)
            .and_then(|()| file.write_all_at(&header, 0))
            .map_err(|e| io(&path, e))?;
        return Ok((Some((file, FILE_HEADER_LEN)), Vec::new()));
    }
    let mut at = FILE_HEADER_LEN as usize;
    let mut marks = Vec::new();
    while let Ok(Some(body)) = frame_at(&bytes, at) {
        parse_marks(&bytes[body.clone()], &mut marks);
        at = body.end;
    }
    if at < bytes.len() {
        tracing::warn!(
            path = %path.display(),
            byte = at,
            "the outbox's marks end in an unreadable frame (written when the collector stopped); \
             the events it settled are asked about again"
        );
        file.set_len(at as u64)
            .and_then(|()| file.sync_data())
            .map_err(|e| io(&path, e))?;
    }
    Ok((Some((file, at as u64)), marks))
}

fn parse_marks(mut b: &[u8], marks: &mut Vec<Mark>) {
    while let Some(&kind) = b.first() {
        let need = if kind == MARK_STATE {
            MARK_STATE_LEN
        } else {
            MARK_SETTLED_LEN
        };
        if b.len() < need || (kind != MARK_STATE && kind != MARK_SETTLED) {
            return;
        }
        let seq = u64::from_be_bytes(b[1..9].try_into().expect("8 bytes"));
        if kind == MARK_STATE {
            match decode_header(seq, &b[9..need]) {
                Ok(st) => marks.push((seq, Some(st))),
                Err(_) => return,
            }
        } else {
            marks.push((seq, None));
        }
        b = &b[need..];
    }
}

/// The frame to append to chunk `id`'s marks for what is queued, and where: opens (creating)
/// the marks file if needed. Returns `None` when nothing is queued.
pub fn take_marks(dir: &Path, chunk: &mut Chunk) -> Result<Option<MarksWrite>, CollectError> {
    if chunk.marks_buf.is_empty() {
        return Ok(None);
    }
    let id = chunk.id;
    let mut created = false;
    if chunk.marks.is_none() {
        let path = marks_path(dir, id);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        file.write_all_at(&file_header(MARKS_MAGIC, id), 0)
            .map_err(|e| io(&path, e))?;
        chunk.marks = Some((file, FILE_HEADER_LEN));
        created = true;
    }
    let items = std::mem::take(&mut chunk.marks_buf);
    let mut frame = Vec::with_capacity(items.len() + FRAME_HEADER_LEN);
    push_frame(&mut frame, |b| b.extend_from_slice(&items));
    let (file, len) = chunk.marks.as_mut().expect("opened above");
    let at = *len;
    *len += frame.len() as u64;
    let file = file.try_clone().map_err(|e| io(&marks_path(dir, id), e))?;
    Ok(Some(MarksWrite {
        file,
        at,
        frame,
        created,
    }))
}

/// Ids of the chunk and marks files in the chunk directory.
pub fn chunk_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, CollectError> {
    let cdir = dir.join(CHUNK_DIR);
    let rd = match std::fs::read_dir(&cdir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&cdir, e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| io(&cdir, e))?;
        let name = ent.file_name();
        let name = name.to_string_lossy();
        let id = name
            .strip_suffix(".log")
            .or_else(|| name.strip_suffix(".marks"))
            .and_then(|s| s.parse::<u64>().ok());
        if let Some(id) = id {
            out.push((id, ent.path()));
        }
    }
    Ok(out)
}

/// The head mark a log with nothing in it starts from.
pub fn empty_head() -> Head {
    Head {
        generation: 0,
        oldest_chunk: 1,
        next_chunk: 1,
        newest_len: 0,
        next_seq: 1,
    }
}

/// Syncs a directory, so that files created or deleted in it stay so.
pub fn sync_dir(path: &Path) -> Result<(), CollectError> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(path, e))
}

/// The in-memory view of the chunk log ([`log`]).
pub struct Log {
    /// Pending entries by outbox seq.
    pub pending: BTreeMap<u64, Live>,
    /// The chunk files that exist, by id (oldest first).
    pub chunks: BTreeMap<u64, Chunk>,
    /// The newest chunk, while new entries may still go to it (it is not sealed).
    pub active: Option<u64>,
    pub next_chunk: u64,
    pub next_seq: u64,
    /// The oldest chunk the last head mark names.
    pub oldest_on_disk: u64,
    /// The last head mark written.
    pub written: Head,
    /// A chunk file was created since the last flush.
    pub dir_changed: bool,
    /// Read files waiting for the next flush to be recorded (after their events are synced).
    pub files_done: Vec<FileKey>,
}

/// What one flush writes, taken from the log under its lock and written outside it.
pub struct FlushPlan {
    pub sync: Vec<File>,
    pub dir_changed: bool,
    pub head: Option<Head>,
    pub files_done: Vec<FileKey>,
    pub marks: Vec<MarksWrite>,
    /// Chunks whose entries are all settled, and the head mark that leaves them out.
    pub dropped: Vec<u64>,
    pub head_after_drop: Option<Head>,
}

impl Log {
    /// The log as the head mark `head` (`None`: a new outbox) describes it; every chunk it
    /// names is read and checked (see the module documentation).
    pub fn open(dir: &Path, head: Option<Head>) -> Result<Self, CollectError> {
        let files = chunk_files(dir)?;
        if head.is_none() && !files.is_empty() {
            return Err(damaged(
                dir,
                format!(
                    "{} holds chunk files but the head mark {} is missing",
                    dir.join(CHUNK_DIR).display(),
                    super::head::HEAD_FILE
                ),
            ));
        }
        let cdir = dir.join(CHUNK_DIR);
        std::fs::create_dir_all(&cdir).map_err(|e| io(&cdir, e))?;
        let h = head.unwrap_or_else(empty_head);
        for (id, path) in &files {
            // Deleted after a drop (older), or made after the last flush (newer).
            if *id < h.oldest_chunk || *id >= h.next_chunk {
                std::fs::remove_file(path).map_err(|e| io(path, e))?;
            }
        }
        let mut log = Log {
            pending: BTreeMap::new(),
            chunks: BTreeMap::new(),
            active: None,
            next_chunk: h.next_chunk,
            next_seq: h.next_seq,
            oldest_on_disk: h.oldest_chunk,
            written: h,
            dir_changed: false,
            files_done: Vec::new(),
        };
        for id in h.oldest_chunk..h.next_chunk {
            let newest = id + 1 == h.next_chunk;
            log.add_scanned(dir, id, newest.then_some(h.newest_len))?;
        }
        Ok(log)
    }

    fn add_scanned(
        &mut self,
        dir: &Path,
        id: u64,
        synced_len: Option<u64>,
    ) -> Result<(), CollectError> {
        let mut s = scan_chunk(dir, id, synced_len)?;
        for (seq, live) in s.entries {
            if self.pending.insert(seq, live).is_some() {
                return Err(damaged(dir, format!("entry {seq} is in two chunk files")));
            }
            self.next_seq = self.next_seq.max(seq + 1);
        }
        let (marks_file, marks) = scan_marks(dir, id)?;
        s.chunk.marks = marks_file;
        for (seq, mark) in marks {
            match (self.pending.get_mut(&seq), mark) {
                (Some(live), Some(st)) if live.chunk == id => live.state = st,
                (Some(live), None) if live.chunk == id => {
                    self.pending.remove(&seq);
                    s.chunk.live -= 1;
                }
                _ => {}
            }
        }
        if synced_len.is_some() && !s.sealed {
            self.active = Some(id);
        }
        self.chunks.insert(id, s.chunk);
        Ok(())
    }

    /// The chunk new entries go to: the active one, or a new one once it is full.
    pub fn chunk_for_append(&mut self, dir: &Path) -> Result<u64, CollectError> {
        if let Some(id) = self.active {
            let chunk = self.chunks.get_mut(&id).expect("the active chunk is open");
            if chunk.len < CHUNK_BYTES_TARGET {
                return Ok(id);
            }
            seal(dir, chunk)?;
            self.active = None;
        }
        let id = self.next_chunk;
        self.chunks.insert(id, create_chunk(dir, id)?);
        self.next_chunk += 1;
        self.active = Some(id);
        self.dir_changed = true;
        Ok(id)
    }

    /// Settles the pending entries among `seqs`: queues their settled marks.
    pub fn settle(&mut self, seqs: &[u64]) {
        for seq in seqs {
            if let Some(live) = self.pending.remove(seq) {
                let chunk = self.chunks.get_mut(&live.chunk).expect("open");
                chunk.live -= 1;
                mark_settled(chunk, *seq);
            }
        }
    }

    /// Takes what the next flush writes (see [`super::Outbox::flush_blocking`]).
    pub fn plan_flush(&mut self, dir: &Path) -> Result<FlushPlan, CollectError> {
        let mut sync = Vec::new();
        for c in self.chunks.values_mut().filter(|c| c.unsynced) {
            sync.push(
                c.file
                    .try_clone()
                    .map_err(|e| io(&chunk_path(dir, c.id), e))?,
            );
            c.unsynced = false;
        }
        let newest_len = self.chunks.get(&(self.next_chunk - 1)).map_or(0, |c| c.len);
        let mut h = Head {
            generation: self.written.generation,
            oldest_chunk: self.oldest_on_disk,
            next_chunk: self.next_chunk,
            newest_len,
            next_seq: self.next_seq,
        };
        let head = (h != self.written).then(|| {
            h.generation += 1;
            h
        });
        let mut marks = Vec::new();
        for c in self.chunks.values_mut() {
            marks.extend(take_marks(dir, c)?);
        }
        let mut dropped = Vec::new();
        while let Some(entry) = self.chunks.first_entry()
            && entry.get().live == 0
        {
            let (id, _) = entry.remove_entry();
            if self.active == Some(id) {
                self.active = None;
            }
            dropped.push(id);
        }
        let head_after_drop = (!dropped.is_empty()).then(|| {
            self.oldest_on_disk = self
                .chunks
                .keys()
                .next()
                .copied()
                .unwrap_or(self.next_chunk);
            h.generation += 1;
            h.oldest_chunk = self.oldest_on_disk;
            h
        });
        self.written = h;
        Ok(FlushPlan {
            sync,
            dir_changed: std::mem::take(&mut self.dir_changed),
            head,
            files_done: std::mem::take(&mut self.files_done),
            marks,
            dropped,
            head_after_drop,
        })
    }
}

/// Deletes every chunk file and the head mark (what a format-1 migration cut short left).
pub fn remove_log_files(dir: &Path) -> Result<(), CollectError> {
    let cdir = dir.join(CHUNK_DIR);
    match std::fs::remove_dir_all(&cdir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&cdir, e)),
        _ => {}
    }
    let head = dir.join(super::head::HEAD_FILE);
    match std::fs::remove_file(&head) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&head, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_pinned_and_a_changed_byte_is_caught() {
        // Proves the frame layout (length, CRC-32, body) and that any changed or missing byte
        // is refused rather than read.
        let mut buf = Vec::new();
        push_frame(&mut buf, |b| b.extend_from_slice(b"abc"));
        let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "00000003352441c2616263");
        assert_eq!(frame_at(&buf, 0), Ok(Some(8..11)));
        assert_eq!(frame_at(&buf, 11), Ok(None));
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x10;
            assert!(
                frame_at(&bad, 0).is_err() || frame_at(&bad, 0) != Ok(Some(8..11)),
                "byte {i}"
            );
        }
        assert!(frame_at(&buf[..10], 0).is_err());
        assert!(frame_at(&buf[..5], 0).is_err());
    }
}
