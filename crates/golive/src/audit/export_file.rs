//! The audit over an export file: verify it offline, replay it into projections, and the
//! stream of its records' chain hashes that `compare` reads.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use golive_model::{Envelope, EventId, GENESIS_HASH, chain_hash, decode};
use golive_projections::Projections;
use golive_verify::{Line, Outcome, TrustKeys, VerifierKey, parse_line};

use super::{AuditError, Progress};

/// Verifies an export file.
pub fn verify_file(path: &Path, key: &VerifierKey) -> Outcome {
    verify_file_with(path, key, None, &mut |_, _| {})
}

/// [`verify_file`], telling `progress` the bytes read so far of twice the file's length (the
/// verifier reads it twice: checkpoints, then records). With `trust_keys`, each record's origin
/// signature is checked too.
pub fn verify_file_with(
    path: &Path,
    key: &VerifierKey,
    trust_keys: Option<TrustKeys>,
    progress: Progress<'_>,
) -> Outcome {
    let total = std::fs::metadata(path).map_or(0, |m| m.len()) * 2;
    let tally = Tally {
        done: Cell::new(0),
        total,
        report: RefCell::new(progress),
    };
    golive_verify::verify_export_with(
        || {
            std::fs::File::open(path).map(|f| Counting {
                inner: BufReader::with_capacity(1 << 20, f),
                tally: &tally,
                unreported: 0,
            })
        },
        key,
        trust_keys,
    )
}

/// Bytes read between two reports of a file's verification.
const BYTES_PER_PROGRESS: u64 = 1 << 20;

/// The bytes read of a file's two passes, and whom to tell.
struct Tally<'p> {
    done: Cell<u64>,
    total: u64,
    report: RefCell<Progress<'p>>,
}

/// A reader that counts what its consumer took, telling the [`Tally`] every
/// [`BYTES_PER_PROGRESS`].
struct Counting<'t, 'p, R> {
    inner: R,
    tally: &'t Tally<'p>,
    unreported: u64,
}

impl<R> Counting<'_, '_, R> {
    fn count(&mut self, n: usize) {
        self.unreported += n as u64;
        if self.unreported >= BYTES_PER_PROGRESS {
            let done = self.tally.done.get() + std::mem::take(&mut self.unreported);
            self.tally.done.set(done);
            let mut report = self.tally.report.borrow_mut();
            (*report)(done, self.tally.total);
        }
    }
}

impl<R: BufRead> Read for Counting<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<'_, '_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
        self.count(amt);
    }
}

/// Reads `path` line by line: `f(line number, parsed line)`.
fn for_each_line(
    path: &Path,
    mut f: impl FnMut(u64, Line<'_>) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    let file = std::fs::File::open(path)
        .map_err(|e| AuditError::Export(format!("cannot open {}: {e}", path.display())))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = String::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        if reader.read_line(&mut buf)? == 0 {
            return Ok(());
        }
        n += 1;
        let line = buf.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let parsed = parse_line(line).map_err(|e| AuditError::Export(format!("line {n}: {e}")))?;
        f(n, parsed)?;
    }
}

/// Rebuilds every projection from an export alone, up to `to_seq` (default: its last record).
/// Checks each record's chain hash and order on the way (not the signatures: that is
/// `verify`'s job) and refuses an export that does not start at seq 1.
pub fn replay_file(path: &Path, to_seq: Option<u64>) -> Result<Projections, AuditError> {
    replay_file_known_at(path, to_seq, None)
}

/// [`replay_file`], counting with `known_at` only the records whose `recorded_at` is at or
/// before it (a correction of a record left out is applied as a plain event), as `golive query
/// --known-at` folds the store.
pub fn replay_file_known_at(
    path: &Path,
    to_seq: Option<u64>,
    known_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Projections, AuditError> {
    let to = to_seq.unwrap_or(u64::MAX);
    let bad = |seq: u64, what: &str| AuditError::Export(format!("seq {seq}: {what}"));
    let targets = superseded_targets(path, to)?;
    // Pass 2: fold.
    let mut p = Projections::new();
    let mut kept: HashMap<EventId, Envelope> = HashMap::new();
    let mut unknown: HashSet<EventId> = HashSet::new();
    let mut prev = GENESIS_HASH;
    let mut expected = 1u64;
    for_each_line(path, |_, line| {
        let Line::Record(r) = line else {
            return Ok(());
        };
        if r.seq > to {
            return Ok(());
        }
        if r.seq != expected {
            return Err(bad(expected, "missing or out of order in the export"));
        }
        if r.prev_hash != prev || chain_hash(&r.prev_hash, r.seq, r.event) != r.hash {
            return Err(bad(
                r.seq,
                "its hashes do not check; run `golive audit verify` on the export",
            ));
        }
        let e = decode(r.event).map_err(|e| bad(r.seq, &e.to_string()))?;
        prev = r.hash;
        expected += 1;
        if known_at.is_some_and(|k| e.recorded_at > k) {
            unknown.insert(e.event_id);
            return Ok(());
        }
        let superseded = match e.supersedes {
            Some(t) if unknown.contains(&t) => None,
            Some(t) => Some(kept.remove(&t).ok_or_else(|| {
                bad(
                    r.seq,
                    &format!("supersedes {t}, which is not earlier in the export"),
                )
            })?),
            None => None,
        };
        p.apply(r.seq, &e, superseded.as_ref());
        if targets.contains(&e.event_id) {
            kept.insert(e.event_id, e);
        }
        Ok(())
    })?;
    if to != u64::MAX && expected != to + 1 {
        return Err(AuditError::Export(format!(
            "the export ends at seq {} before --to-seq {to}",
            expected - 1
        )));
    }
    Ok(p)
}

/// Pass 1 of a replay: the events that a record up to `to` supersedes (only those are kept in
/// memory in pass 2). Refuses an export that does not start at seq 1.
fn superseded_targets(path: &Path, to: u64) -> Result<HashSet<EventId>, AuditError> {
    let bad = |seq: u64, what: &str| AuditError::Export(format!("seq {seq}: {what}"));
    let mut targets: HashSet<EventId> = HashSet::new();
    for_each_line(path, |n, line| {
        match line {
            Line::Header(h) if n == 1 && h.from_seq != 1 => {
                return Err(AuditError::Export(format!(
                    "the export starts at seq {}; replay needs the history from seq 1",
                    h.from_seq
                )));
            }
            Line::Record(r) if r.seq <= to => {
                let e = decode(r.event).map_err(|e| bad(r.seq, &e.to_string()))?;
                if let Some(t) = e.supersedes {
                    targets.insert(t);
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(targets)
}

/// Streams (seq, hash) of an export's records.
pub(super) struct ExportHashes {
    reader: Option<std::io::Lines<BufReader<std::fs::File>>>,
    error: Option<AuditError>,
}

impl ExportHashes {
    pub(super) fn open(path: &Path) -> Self {
        match std::fs::File::open(path) {
            Ok(f) => Self {
                reader: Some(BufReader::new(f).lines()),
                error: None,
            },
            Err(e) => Self {
                reader: None,
                error: Some(AuditError::Export(format!(
                    "cannot open {}: {e}",
                    path.display()
                ))),
            },
        }
    }
}

impl Iterator for ExportHashes {
    type Item = Result<(u64, [u8; 32]), AuditError>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            self.reader = None;
            return Some(Err(e));
        }
        let lines = self.reader.as_mut()?;
        for line in lines.by_ref() {
            let line = match line {
                Ok(l) => l,
                Err(e) => return Some(Err(e.into())),
            };
            match parse_line(&line) {
                Ok(Line::Record(r)) => {
                    return Some(Ok((r.seq, chain_hash(&r.prev_hash, r.seq, r.event))));
                }
                Ok(_) => {}
                Err(e) => return Some(Err(AuditError::Export(e))),
            }
        }
        None
    }
}
