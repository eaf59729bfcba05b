//! The export file (JSONL) and the verifier that checks a history against the ledger's signed
//! checkpoints.
//!
//! ## The file
//!
//! One JSON object per line; the first key names the kind of line. Hashes are lowercase hex.
//!
//! 1. One header: `{"golive_export":1,"from_seq":A,"to_seq":B,"prev_hash":"<hex>","tree_prefix":["<hex>",...]}`.
//!    `prev_hash` is the chain hash of record `A-1` (zeros when `A` is 1) and `tree_prefix` the
//!    right edge of the Merkle tree of size `A-1` ([`Frontier`], largest subtree first), so that a
//!    partial export can be checked against signed roots. Neither is trusted: a wrong value makes
//!    the first checkpoint in range fail.
//! 2. One line per record, in seq order:
//!    `{"seq":N,"prev_hash":"<hex>","hash":"<hex>","received_at":"<RFC 3339>","stream_seq":S|null,"event":{...}}`.
//!    `event` comes last and its value is the event's canonical bytes, verbatim: the bytes that
//!    were hashed. `hash = SHA-256(prev_hash || seq as u64 big-endian || event bytes)`.
//! 3. One line per signed checkpoint with a size in `0..=B`, ascending:
//!    `{"checkpoint":"<signed note>","consistency_from":P,"consistency":["<hex>",...]}`: the note,
//!    and the RFC 9162 consistency proof from the previous checkpoint's size `P` (absent for the
//!    first).
//!
//! ## What the verifier checks, in order of sequence
//!
//! - Every checkpoint: its Ed25519 signature by the auditor's key (`BadSignature`); each
//!   checkpoint is consistent with the one before it, by its proof or by equal roots at equal
//!   sizes (`ForkedCheckpoint`).
//! - Every record: seqs consecutive from `A` (`Missing`, `Reordered`), its hash recomputed from
//!   its contents (`Altered` at that seq), its `prev_hash` equal to the previous record's hash
//!   (`Altered` at the previous seq: that record was changed and its hash recomputed).
//! - The Merkle tree of the records: at each checkpoint's size, the recomputed root equals the
//!   signed root (`RootMismatch`, naming the first seq after the last checkpoint that matched:
//!   the history was rewritten, hashes and all, somewhere from there to the checkpoint).
//! - The records reach `B` and every checkpoint's size (`Missing`: a truncated tail).

use std::io::BufRead;

use golive_model::{ChainHash, GENESIS_HASH, chain_hash};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::merkle::{Frontier, Hash, leaf_hash, verify_consistency};
use crate::note::{VerifierKey, verify_checkpoint};
use crate::origin::{OriginAudit, OriginTally, TrustKeys};
use crate::{from_hex32, to_hex};

/// The export format this build writes and reads.
pub const EXPORT_FORMAT: u32 = 1;

/// Longest line read: a record is at most the model's message size plus its hashes.
pub const LINE_BYTES_MAX: usize = golive_model::MESSAGE_BYTES_MAX + 4096;

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub golive_export: u32,
    pub from_seq: u64,
    pub to_seq: u64,
    pub prev_hash: String,
    pub tree_prefix: Vec<String>,
}

impl Header {
    /// The header of an export of `from_seq..=to_seq`, given the state of the ledger before it.
    pub fn new(from_seq: u64, to_seq: u64, prev_hash: &ChainHash, prefix: &Frontier) -> Self {
        Self {
            golive_export: EXPORT_FORMAT,
            from_seq,
            to_seq,
            prev_hash: to_hex(prev_hash),
            tree_prefix: prefix.hashes().iter().map(|h| to_hex(h)).collect(),
        }
    }

    /// Where the records start: the seq expected first, its `prev_hash`, the tree before it.
    pub fn start(&self) -> Result<Start, String> {
        if self.golive_export != EXPORT_FORMAT {
            return Err(format!(
                "export format {} (this build reads {EXPORT_FORMAT})",
                self.golive_export
            ));
        }
        if self.from_seq == 0 {
            return Err("from_seq is 0; records start at seq 1".to_owned());
        }
        if self.from_seq - 1 > self.to_seq {
            return Err(format!(
                "to_seq {} is before from_seq {}: the range runs backwards",
                self.to_seq, self.from_seq
            ));
        }
        let prev_hash = from_hex32(&self.prev_hash).ok_or("prev_hash is not 32 bytes of hex")?;
        let hashes = self
            .tree_prefix
            .iter()
            .map(|h| from_hex32(h))
            .collect::<Option<Vec<_>>>()
            .ok_or("tree_prefix holds something that is not 32 bytes of hex")?;
        let frontier = Frontier::from_parts(self.from_seq - 1, hashes)
            .ok_or("tree_prefix does not fit the tree size from_seq - 1")?;
        Ok(Start {
            next_seq: self.from_seq,
            prev_hash,
            frontier,
        })
    }
}

/// A record line, borrowed from the line it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRecord<'a> {
    pub seq: u64,
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
    pub received_at: &'a str,
    pub stream_seq: Option<u64>,
    /// The trust's signature of the event (the `Golive-Signature` text, [`crate::origin`]),
    /// when it was signed. Not part of the chain hash: it proves itself against the trust's key.
    pub origin_signature: Option<&'a str>,
    /// The canonical bytes of the event, exactly as hashed.
    pub event: &'a [u8],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordLine<'a> {
    seq: u64,
    prev_hash: &'a str,
    hash: &'a str,
    received_at: &'a str,
    stream_seq: Option<u64>,
    #[serde(default)]
    origin_signature: Option<&'a str>,
    #[serde(borrow)]
    event: &'a RawValue,
}

/// A checkpoint line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointLine {
    pub checkpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency_from: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consistency: Vec<String>,
}

/// One line of an export.
#[derive(Debug)]
pub enum Line<'a> {
    Header(Header),
    Record(ExportRecord<'a>),
    Checkpoint(CheckpointLine),
}

/// Reads one line (without its newline). The first key says what it is.
pub fn parse_line(line: &str) -> Result<Line<'_>, String> {
    let body = line.trim_start();
    if body.starts_with("{\"seq\"") {
        let r: RecordLine<'_> = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let hex = |what: &str, h: &str| {
            from_hex32(h).ok_or_else(|| format!("{what} is not 32 bytes of hex (64 digits)"))
        };
        Ok(Line::Record(ExportRecord {
            seq: r.seq,
            prev_hash: hex("prev_hash", r.prev_hash)?,
            hash: hex("hash", r.hash)?,
            received_at: r.received_at,
            stream_seq: r.stream_seq,
            origin_signature: r.origin_signature,
            event: r.event.get().as_bytes(),
        }))
    } else if body.starts_with("{\"checkpoint\"") {
        serde_json::from_str(line)
            .map(Line::Checkpoint)
            .map_err(|e| e.to_string())
    } else if body.starts_with("{\"golive_export\"") {
        serde_json::from_str(line)
            .map(Line::Header)
            .map_err(|e| e.to_string())
    } else {
        Err("not a header, record or checkpoint line".to_owned())
    }
}

/// Appends a record line (with its newline) to `out`. `r.event` must be canonical bytes (JSON);
/// `r.origin_signature`, when present, is the signature's base64 text (any other text is
/// written as a JSON string, so that a line read from a damaged export is written back as read).
pub fn write_record_line(out: &mut Vec<u8>, r: &ExportRecord<'_>) {
    use std::io::Write;
    // Every value but `event` is a number, hex, base64 or an RFC 3339 time: nothing to escape.
    let _ = write!(
        out,
        "{{\"seq\":{},\"prev_hash\":\"{}\",\"hash\":\"{}\",\"received_at\":\"{}\",\"stream_seq\":",
        r.seq,
        to_hex(&r.prev_hash),
        to_hex(&r.hash),
        r.received_at
    );
    match r.stream_seq {
        Some(s) => {
            let _ = write!(out, "{s}");
        }
        None => out.extend_from_slice(b"null"),
    }
    if let Some(sig) = r.origin_signature {
        // A signature's base64 text needs no escaping, but a line's reader gives back any JSON
        // string (a damaged export's): written as JSON, it reads back as it was read.
        out.extend_from_slice(b",\"origin_signature\":");
        serde_json::to_writer(&mut *out, sig).expect("a string serialises into memory");
    }
    out.extend_from_slice(b",\"event\":");
    out.extend_from_slice(r.event);
    out.extend_from_slice(b"}\n");
}

/// What a verification found wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A record's contents do not give its hash, or its hash is not the next record's prev_hash.
    Altered,
    /// A seq is absent: a gap, or the records end before the header or a checkpoint says.
    Missing,
    /// A record is out of order (swapped, moved or repeated).
    Reordered,
    /// A checkpoint is not signed by the auditor's key.
    BadSignature,
    /// Two signed checkpoints cannot both be true: one history does not extend the other.
    ForkedCheckpoint,
    /// The records do not give the root hash that a checkpoint signed.
    RootMismatch,
    /// A line or a checkpoint could not be parsed where one was expected.
    Malformed,
    /// A record's origin signature is not a good signature by a key of its trust in force at
    /// its `recorded_at` (checked only against trust keys the auditor gives).
    BadOrigin,
    /// A record is unsigned although the auditor's trust keys say its trust must sign.
    MissingOrigin,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Altered => "altered",
            Kind::Missing => "missing",
            Kind::Reordered => "reordered",
            Kind::BadSignature => "bad signature",
            Kind::ForkedCheckpoint => "forked checkpoint",
            Kind::RootMismatch => "root mismatch",
            Kind::Malformed => "malformed",
            Kind::BadOrigin => "bad origin signature",
            Kind::MissingOrigin => "missing origin signature",
        }
    }
}

/// The first problem found: the sequence it concerns, its kind, and what exactly is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("seq {seq}: {kind}: {detail}", kind = kind.as_str())]
pub struct Problem {
    pub seq: u64,
    pub kind: Kind,
    pub detail: String,
}

pub(crate) fn problem(seq: u64, kind: Kind, detail: impl Into<String>) -> Problem {
    Problem {
        seq,
        kind,
        detail: detail.into(),
    }
}

/// A history that checked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// The last record checked (`from_seq - 1` when there were none).
    pub head_seq: u64,
    #[serde(serialize_with = "hex_ser")]
    pub head_hash: ChainHash,
    /// Root of the Merkle tree of records `1..=head_seq`.
    #[serde(serialize_with = "hex_ser")]
    pub root: Hash,
    /// Checkpoints whose signature (and consistency) checked.
    pub checkpoints: usize,
    /// Largest tree size at which a signed root equalled the records' root: records beyond it
    /// are checked for integrity but not yet covered by a signature. 0 when none.
    pub signed_size: u64,
    /// The log's origin, from the checkpoints.
    pub origin: Option<String>,
    /// With trust keys to check against: per trust, how its events are signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origins: Option<std::collections::BTreeMap<String, OriginTally>>,
}

fn hex_ser<S: serde::Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(h))
}

/// The result of verifying: what the CLI maps to exit codes 0, 2 and 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Verified(Box<Verified>),
    Tampered(Problem),
    CouldNotRead(String),
}

/// A signed checkpoint as given to the [`Verifier`], with its consistency proof from the
/// previous checkpoint when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointEntry {
    pub note: String,
    pub consistency: Option<(u64, Vec<Hash>)>,
}

impl CheckpointEntry {
    /// From an export line.
    pub fn from_line(line: CheckpointLine) -> Result<Self, String> {
        let consistency = match line.consistency_from {
            None => None,
            Some(from) => Some((
                from,
                line.consistency
                    .iter()
                    .map(|h| from_hex32(h))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("a consistency proof hash is not 32 bytes of hex")?,
            )),
        };
        Ok(Self {
            note: line.checkpoint,
            consistency,
        })
    }
}

/// Where the records to check begin.
#[derive(Debug, Clone)]
pub struct Start {
    pub next_seq: u64,
    pub prev_hash: ChainHash,
    pub frontier: Frontier,
}

impl Start {
    /// The whole log, from seq 1.
    pub fn genesis() -> Self {
        Self {
            next_seq: 1,
            prev_hash: GENESIS_HASH,
            frontier: Frontier::new(),
        }
    }
}

/// A checkpoint after its signature and consistency checks.
struct Checked {
    size: u64,
    root: Hash,
    /// What is wrong with it, reported when the records reach its size.
    problem: Option<Problem>,
}

/// Checks records one at a time against the chain, the tree and the checkpoints, in bounded
/// memory (the tree's right edge and the checkpoints). Feed records with [`Verifier::push`] in
/// file order, then call [`Verifier::finish`].
pub struct Verifier {
    checkpoints: Vec<Checked>,
    next_checkpoint: usize,
    frontier: Frontier,
    prev_hash: ChainHash,
    expected: u64,
    /// A record arrived ahead of `expected`: that seq is missing unless it comes next.
    gap: Option<u64>,
    /// A problem to report before anything else (a checkpoint before the records).
    early: Option<Problem>,
    signed_size: u64,
    first_unsigned: u64,
    origin: Option<String>,
    checkpoints_ok: usize,
    /// Trust keys to check each record's origin signature against, and the tally so far.
    origins: Option<OriginAudit>,
}

impl Verifier {
    /// Checks every checkpoint's signature by `key` and their consistency with each other,
    /// remembering problems to report in order of sequence.
    pub fn new(key: &VerifierKey, start: Start, entries: Vec<CheckpointEntry>) -> Self {
        let mut checked: Vec<Checked> = Vec::with_capacity(entries.len());
        let mut origin = None;
        let mut ok = 0;
        for entry in entries {
            let c = match verify_checkpoint(&entry.note, key) {
                Ok(c) => c,
                Err(e) => {
                    checked.push(unreadable_checkpoint(&entry.note, e));
                    continue;
                }
            };
            let p = checked
                .last()
                .and_then(|prev| problem_after(prev, &c, entry.consistency.as_ref()));
            if p.is_none() {
                ok += 1;
                origin = Some(c.origin.clone());
            }
            checked.push(Checked {
                size: c.size,
                root: c.root,
                problem: p,
            });
        }
        let mut v = Verifier {
            checkpoints: checked,
            next_checkpoint: 0,
            prev_hash: start.prev_hash,
            expected: start.next_seq,
            frontier: start.frontier,
            gap: None,
            early: None,
            signed_size: 0,
            first_unsigned: start.next_seq,
            origin,
            checkpoints_ok: ok,
            origins: None,
        };
        // Checkpoints before the records: only their own problems and, at the size where the
        // records start, the root of the header's tree prefix can be checked.
        let before = v.expected.saturating_sub(1);
        if let Err(p) = v.check_checkpoints(|size| size < before) {
            v.early = Some(p);
        } else if let Err(p) = v.check_checkpoints(|size| size == before) {
            v.early = Some(p);
        }
        v
    }

    /// Also checks each record's origin signature against `keys` (the auditor's trust keys)
    /// and tallies, per trust, signed, signed-by-a-since-revoked-key and unsigned events.
    pub fn with_trust_keys(mut self, keys: TrustKeys) -> Self {
        self.origins = Some(OriginAudit::new(keys));
        self
    }

    /// Checks the next record in file order.
    pub fn push(&mut self, r: &ExportRecord<'_>) -> Result<(), Problem> {
        if !self.in_order(r)? {
            return Ok(());
        }
        check_record_hashes(r, &self.prev_hash)?;
        if let Some(origins) = &mut self.origins {
            origins.check(r)?;
        }
        self.frontier.push(leaf_hash(&r.hash));
        self.prev_hash = r.hash;
        self.expected += 1;
        let seq = r.seq;
        self.check_checkpoints(|size| size == seq)
    }

    /// Whether `r` is the record expected next. A later one is held as a gap (`false`): the
    /// expected seq is missing unless it comes next. Problems found earlier come first.
    fn in_order(&mut self, r: &ExportRecord<'_>) -> Result<bool, Problem> {
        if let Some(p) = self.early.take() {
            return Err(p);
        }
        if let Some(missing) = self.gap.take() {
            return Err(if r.seq == missing {
                problem(
                    missing,
                    Kind::Reordered,
                    format!("seq {missing} comes after a later record"),
                )
            } else {
                missing_problem(missing, "the next record in the file is a later seq")
            });
        }
        if r.seq < self.expected {
            return Err(problem(
                r.seq,
                Kind::Reordered,
                format!(
                    "seq {} appears after seq {}: records are repeated or out of order",
                    r.seq,
                    self.expected - 1
                ),
            ));
        }
        if r.seq > self.expected {
            self.gap = Some(self.expected);
            return Ok(false);
        }
        if r.seq == u64::MAX {
            // The seq after it would not fit in 64 bits: no log gets here, and counting on
            // would wrap around to seq 0.
            return Err(problem(
                r.seq,
                Kind::Malformed,
                format!(
                    "seq {} is beyond any log: its successor does not fit in 64 bits",
                    r.seq
                ),
            ));
        }
        Ok(true)
    }

    /// Checkpoints whose size passes `due`, in order: their own problem, else their root
    /// against the records' tree (the tree's size must be theirs when `due` allows it).
    fn check_checkpoints(&mut self, due: impl Fn(u64) -> bool) -> Result<(), Problem> {
        while let Some(c) = self.checkpoints.get(self.next_checkpoint) {
            if !due(c.size) {
                break;
            }
            self.next_checkpoint += 1;
            if let Some(p) = &c.problem {
                return Err(p.clone());
            }
            if c.size != self.frontier.size() {
                // Before the records and linked by consistency only.
                continue;
            }
            if c.root != self.frontier.root() {
                // When the next checkpoint is inconsistent with this one, the log signed two
                // histories, and this checkpoint is the one the records contradict.
                let forked_next = self.checkpoints.get(self.next_checkpoint).filter(|n| {
                    n.problem
                        .as_ref()
                        .is_some_and(|p| p.kind == Kind::ForkedCheckpoint)
                });
                if let Some(next) = forked_next {
                    return Err(problem(
                        c.size,
                        Kind::ForkedCheckpoint,
                        format!(
                            "the log signed two histories: the checkpoint at tree size {} matches \
                             neither the records nor the later checkpoint at size {}",
                            c.size, next.size
                        ),
                    ));
                }
                return Err(problem(
                    self.first_unsigned,
                    Kind::RootMismatch,
                    format!(
                        "records up to seq {} do not give the root hash signed at tree size {}: \
                         the history from seq {} on was rewritten (hashes and all) before seq {}",
                        c.size, c.size, self.first_unsigned, c.size
                    ),
                ));
            }
            self.signed_size = c.size;
            self.first_unsigned = c.size + 1;
        }
        Ok(())
    }

    /// Ends the check. `to_seq`: the last seq the records claim to reach (an export's header).
    pub fn finish(mut self, to_seq: Option<u64>) -> Result<Verified, Problem> {
        if let Some(p) = self.early.take() {
            return Err(p);
        }
        let last = self.expected.saturating_sub(1);
        if let Some(missing) = self.gap {
            return Err(missing_problem(missing, "a later seq follows it"));
        }
        if let Some(to) = to_seq
            && to > last
        {
            return Err(missing_problem(
                last + 1,
                &format!(
                    "the export says it holds records up to seq {to} but they end at seq {last}"
                ),
            ));
        }
        if let Some(c) = self.checkpoints.get(self.next_checkpoint) {
            if let Some(p) = &c.problem {
                return Err(p.clone());
            }
            return Err(missing_problem(
                last + 1,
                &format!(
                    "a checkpoint is signed at tree size {} but the records end at seq {last}",
                    c.size
                ),
            ));
        }
        Ok(Verified {
            head_seq: last,
            head_hash: self.prev_hash,
            root: self.frontier.root(),
            checkpoints: self.checkpoints_ok,
            signed_size: self.signed_size,
            origin: self.origin,
            origins: self.origins.map(OriginAudit::into_tally),
        })
    }
}

fn missing_problem(seq: u64, why: &str) -> Problem {
    problem(seq, Kind::Missing, format!("seq {seq} is missing: {why}"))
}

/// A checkpoint whose note does not verify: its problem, at the size the note claims if it can
/// be read at all.
fn unreadable_checkpoint(note: &str, e: crate::NoteError) -> Checked {
    let size = note
        .rfind("\n\n")
        .and_then(|i| crate::note::Checkpoint::parse(&note[..i + 1]).ok())
        .map_or(0, |c| c.size);
    let kind = match e {
        crate::NoteError::Malformed(_) | crate::NoteError::BadCheckpoint(_) => Kind::Malformed,
        _ => Kind::BadSignature,
    };
    Checked {
        size,
        root: [0; 32],
        problem: Some(problem(
            size,
            kind,
            format!("checkpoint at size {size}: {e}"),
        )),
    }
}

/// What is wrong with checkpoint `c` given the one before it: a smaller size, or (when the one
/// before is sound) a consistency proof that does not link them.
fn problem_after(
    prev: &Checked,
    c: &crate::note::Checkpoint,
    proof: Option<&(u64, Vec<Hash>)>,
) -> Option<Problem> {
    if c.size < prev.size {
        return Some(problem(
            c.size,
            Kind::Malformed,
            format!(
                "checkpoint at size {} comes after one at size {}",
                c.size, prev.size
            ),
        ));
    }
    if prev.problem.is_some() {
        return None;
    }
    consistency_problem(prev, c, proof)
}

/// Checks that a record carries the hash of its contents and follows `prev_hash`, the hash of
/// the record before it.
fn check_record_hashes(r: &ExportRecord<'_>, prev_hash: &ChainHash) -> Result<(), Problem> {
    let computed = chain_hash(&r.prev_hash, r.seq, r.event);
    if computed != r.hash {
        return Err(problem(
            r.seq,
            Kind::Altered,
            format!(
                "the record's contents give hash {} but it carries {}",
                to_hex(&computed),
                to_hex(&r.hash)
            ),
        ));
    }
    if r.prev_hash != *prev_hash {
        return Err(problem(
            r.seq - 1,
            Kind::Altered,
            format!(
                "record {} has hash {} but record {} says the previous hash is {}: record {} was changed and its hash recomputed",
                r.seq - 1,
                to_hex(prev_hash),
                r.seq,
                to_hex(&r.prev_hash),
                r.seq - 1
            ),
        ));
    }
    Ok(())
}

/// Is checkpoint `c` consistent with the one before it?
fn consistency_problem(
    prev: &Checked,
    c: &crate::note::Checkpoint,
    proof: Option<&(u64, Vec<Hash>)>,
) -> Option<Problem> {
    let forked = |why: String| {
        Some(problem(
            c.size,
            Kind::ForkedCheckpoint,
            format!(
                "the checkpoint at tree size {} is not consistent with the one at size {}: {why}",
                c.size, prev.size
            ),
        ))
    };
    if c.size == prev.size {
        return (c.root != prev.root)
            .then(|| forked("two different roots for the same size".to_owned()))
            .flatten();
    }
    match proof {
        // Without a proof both must be checked against the records' roots.
        None => None,
        Some((from, _)) if *from != prev.size => forked(format!(
            "its consistency proof starts at size {from}, not at the previous checkpoint"
        )),
        Some((_, path)) => verify_consistency(prev.size, c.size, &prev.root, &c.root, path)
            .err()
            .and_then(|e| forked(format!("the consistency proof fails ({e})"))),
    }
}

/// Reads an export from `open()` (called twice: checkpoints first, then records, so that
/// memory stays bounded by the checkpoints) and verifies it with `key`.
pub fn verify_export<R: BufRead>(
    open: impl FnMut() -> std::io::Result<R>,
    key: &VerifierKey,
) -> Outcome {
    verify_export_with(open, key, None)
}

/// [`verify_export`], and with `trust_keys` each record's origin signature too.
pub fn verify_export_with<R: BufRead>(
    mut open: impl FnMut() -> std::io::Result<R>,
    key: &VerifierKey,
    trust_keys: Option<TrustKeys>,
) -> Outcome {
    let (header, entries) = match read_header_and_checkpoints(open()) {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    let start = match header.start() {
        Ok(s) => s,
        Err(e) => return Outcome::CouldNotRead(format!("the header: {e}")),
    };
    // Pass 2: the records.
    let mut v = Verifier::new(key, start, entries);
    if let Some(keys) = trust_keys {
        v = v.with_trust_keys(keys);
    }
    let pass2 = for_each_line(open(), |n, line| {
        if n == 1 || line.trim_start().starts_with("{\"checkpoint\"") {
            return Ok(());
        }
        match parse_line(line) {
            Ok(Line::Record(r)) => v.push(&r).map_err(Stop::Bad),
            Ok(_) => Err(Stop::Bad(problem(
                v.expected,
                Kind::Malformed,
                format!("line {n}: a second header"),
            ))),
            Err(e) => Err(Stop::Bad(problem(
                v.expected,
                Kind::Malformed,
                format!("line {n} does not parse as a record: {e}"),
            ))),
        }
    });
    match pass2 {
        Err(Stop::Read(e)) => Outcome::CouldNotRead(e),
        Err(Stop::Bad(p)) => Outcome::Tampered(p),
        Ok(()) => match v.finish(Some(header.to_seq)) {
            Ok(ok) => Outcome::Verified(Box::new(ok)),
            Err(p) => Outcome::Tampered(p),
        },
    }
}

/// Pass 1 of [`verify_export_with`]: the header and the checkpoints.
fn read_header_and_checkpoints<R: BufRead>(
    reader: std::io::Result<R>,
) -> Result<(Header, Vec<CheckpointEntry>), Outcome> {
    let mut header = None;
    let mut entries = Vec::new();
    let pass1 = for_each_line(reader, |n, line| {
        if n == 1 {
            match parse_line(line) {
                Ok(Line::Header(h)) => header = Some(h),
                _ => {
                    return Err(Stop::Read(
                        "the first line is not a golive export header".into(),
                    ));
                }
            }
        } else if line.trim_start().starts_with("{\"checkpoint\"") {
            let entry = serde_json::from_str::<CheckpointLine>(line)
                .map_err(|e| e.to_string())
                .and_then(CheckpointEntry::from_line)
                .map_err(|e| Stop::Bad(problem(0, Kind::Malformed, format!("line {n}: {e}"))))?;
            entries.push(entry);
        }
        Ok(())
    });
    match pass1 {
        Err(Stop::Read(e)) => Err(Outcome::CouldNotRead(e)),
        Err(Stop::Bad(p)) => Err(Outcome::Tampered(p)),
        Ok(()) => header
            .map(|h| (h, entries))
            .ok_or_else(|| Outcome::CouldNotRead("the file is empty".to_owned())),
    }
}

enum Stop {
    Read(String),
    Bad(Problem),
}

/// Calls `f(line number, line)` for each non-empty line, lines capped at [`LINE_BYTES_MAX`].
fn for_each_line<R: BufRead>(
    reader: std::io::Result<R>,
    mut f: impl FnMut(u64, &str) -> Result<(), Stop>,
) -> Result<(), Stop> {
    use std::io::Read;
    let mut reader = reader.map_err(|e| Stop::Read(e.to_string()))?;
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        let read = (&mut reader)
            .take(LINE_BYTES_MAX as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Stop::Read(e.to_string()))?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        if buf.len() > LINE_BYTES_MAX {
            return Err(Stop::Bad(problem(
                0,
                Kind::Malformed,
                format!("line {n} is longer than {LINE_BYTES_MAX} bytes"),
            )));
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        let line = std::str::from_utf8(&buf).map_err(|_| {
            Stop::Bad(problem(
                0,
                Kind::Malformed,
                format!("line {n} is not UTF-8"),
            ))
        })?;
        if !line.trim().is_empty() {
            f(n, line)?;
        }
    }
}
