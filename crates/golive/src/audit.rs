//! `golive audit`: export the history, verify it (from an export, a store or a running ledger),
//! replay it into projections, compare two ledgers. The checks themselves are in
//! `golive_verify`; this module only feeds them. See docs/AUDIT.md.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use golive_model::{Envelope, EventId, GENESIS_HASH, chain_hash, decode, format_time};
use golive_projections::{Projections, WarningRules};
use golive_store::{Record, Store, StoreError};
use golive_verify::{
    CheckpointEntry, CheckpointLine, ExportRecord, Header, Kind, Line, Outcome, Problem, Start,
    Verifier, VerifierKey, parse_line, to_hex, write_record_line,
};

/// Signed checkpoints read from the store per call while exporting.
const CHECKPOINTS_PER_READ: usize = 1_000;

/// Exit codes of `golive audit verify` (and `compare`): documented in docs/AUDIT.md.
pub const EXIT_VERIFIED: u8 = 0;
pub const EXIT_TAMPERED: u8 = 2;
pub const EXIT_COULD_NOT_READ: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Export(String),
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub from_seq: u64,
    pub to_seq: u64,
    pub records: u64,
    pub checkpoints: u64,
}

/// Writes records `from..=to` (to defaults to the head) and every signed checkpoint up to `to`,
/// each with its consistency proof from the one before. Streams: memory stays bounded by one
/// log chunk and one page of checkpoints. `progress(records written)`.
pub fn export(
    store: &Store,
    from: u64,
    to: Option<u64>,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, AuditError> {
    let head = store.head().seq;
    let from = from.max(1);
    let to = to.unwrap_or(head).min(head);
    if from > to + 1 {
        return Err(AuditError::Export(format!(
            "--from-seq {from} is beyond --to-seq {to} (the head is {head})"
        )));
    }
    let prev_hash = match from - 1 {
        0 => GENESIS_HASH,
        seq => {
            store
                .get(seq)?
                .ok_or_else(|| AuditError::Export(format!("record {seq} is missing")))?
                .hash
        }
    };
    let header = Header::new(from, to, &prev_hash, &store.merkle_frontier(from - 1)?);
    serde_json::to_writer(&mut *out, &header).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;

    let mut line = Vec::with_capacity(4096);
    let mut records = 0u64;
    for record in store.range(from, to) {
        let r = record?;
        line.clear();
        write_record_line(
            &mut line,
            r.seq,
            &r.prev_hash,
            &r.hash,
            &format_time(&r.received_at),
            r.stream_seq,
            &r.envelope.canonical_bytes(),
        );
        out.write_all(&line)?;
        records += 1;
        if records.is_multiple_of(4096) {
            progress(records);
        }
    }
    progress(records);

    let mut checkpoints = 0u64;
    let mut prev: Option<u64> = None;
    let mut next_size = 0u64;
    loop {
        let page = store.signed_checkpoints(next_size, to, CHECKPOINTS_PER_READ)?;
        let Some(&(last, _)) = page.last() else { break };
        for (size, note) in page {
            let line = CheckpointLine {
                checkpoint: note,
                consistency_from: prev,
                consistency: match prev {
                    Some(p) => store
                        .consistency_proof(p, size)?
                        .iter()
                        .map(|h| to_hex(h))
                        .collect(),
                    None => Vec::new(),
                },
            };
            serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
            prev = Some(size);
            checkpoints += 1;
        }
        next_size = last + 1;
    }
    out.flush()?;
    Ok(ExportSummary {
        from_seq: from,
        to_seq: to,
        records,
        checkpoints,
    })
}

/// Verifies an export file.
pub fn verify_file(path: &Path, key: &VerifierKey) -> Outcome {
    golive_verify::verify_export(
        || std::fs::File::open(path).map(|f| BufReader::with_capacity(1 << 20, f)),
        key,
    )
}

/// Verifies a store directory: the records as stored (chain, order, tree), every signed
/// checkpoint, then the store's own structures (id index, head) and its Merkle tiles.
pub fn verify_store(dir: &Path, key: &VerifierKey) -> Outcome {
    if !dir.join("db").exists() && !dir.join("conf").exists() {
        return Outcome::CouldNotRead(format!("{} holds no ledger store", dir.display()));
    }
    let store = match Store::open(dir) {
        Ok(s) => s,
        // The store refuses to open on some damage (a head that disagrees with the log): that
        // is tampering, and the error names the seq.
        Err(StoreError::Corrupt { seq, what }) => {
            return Outcome::Tampered(Problem {
                seq,
                kind: Kind::Altered,
                detail: format!("the store does not open: {what}"),
            });
        }
        // A running ledger holds the store: verify through its HTTP API (the same checks but
        // the store's own structures, which only the ledger can read while it runs).
        Err(e @ StoreError::Locked { .. }) => {
            return match crate::serving::url_of(dir) {
                Some(url) => {
                    tracing::info!(%url, "store held by a running ledger; verifying over HTTP");
                    crate::audit_remote::verify_server(&url, key)
                }
                None => Outcome::CouldNotRead(format!(
                    "{e}; or verify the running ledger with --server URL"
                )),
            };
        }
        Err(e) => return Outcome::CouldNotRead(e.to_string()),
    };
    let head = store.head().seq;
    let entries = match store.signed_checkpoints(0, u64::MAX, usize::MAX) {
        Ok(c) => c
            .into_iter()
            .map(|(_, note)| CheckpointEntry {
                note,
                consistency: None,
            })
            .collect(),
        Err(e) => return Outcome::CouldNotRead(e.to_string()),
    };
    let mut v = Verifier::new(key, Start::genesis(), entries);
    for record in store.records_as_stored() {
        let checked = match record {
            Ok(r) => {
                let canonical = r.envelope.canonical_bytes();
                let received = format_time(&r.received_at);
                v.push(&as_export(&r, &received, &canonical))
            }
            Err(StoreError::Corrupt { seq, what }) => Err(Problem {
                seq,
                kind: Kind::Altered,
                detail: what,
            }),
            Err(e) => return Outcome::CouldNotRead(e.to_string()),
        };
        if let Err(p) = checked {
            return Outcome::Tampered(p);
        }
    }
    let verified = match v.finish(Some(head)) {
        Ok(ok) => ok,
        Err(p) => return Outcome::Tampered(p),
    };
    if let Err(e) = store.verify_chain() {
        return match e.seq() {
            Some(seq) => Outcome::Tampered(Problem {
                seq,
                kind: Kind::Altered,
                detail: e.to_string(),
            }),
            None => Outcome::Tampered(Problem {
                seq: 0,
                kind: Kind::Altered,
                detail: e.to_string(),
            }),
        };
    }
    match store.merkle_root(head) {
        Ok(root) if root == verified.root => Outcome::Verified(verified),
        Ok(root) => Outcome::Tampered(Problem {
            seq: head,
            kind: Kind::RootMismatch,
            detail: format!(
                "the store's Merkle tiles give root {} but its records give {}: the tiles were altered",
                to_hex(&root),
                to_hex(&verified.root)
            ),
        }),
        Err(StoreError::Corrupt { seq, what }) => Outcome::Tampered(Problem {
            seq,
            kind: Kind::Altered,
            detail: what,
        }),
        Err(e) => Outcome::CouldNotRead(e.to_string()),
    }
}

fn as_export<'a>(r: &Record, received: &'a str, canonical: &'a [u8]) -> ExportRecord<'a> {
    ExportRecord {
        seq: r.seq,
        prev_hash: r.prev_hash,
        hash: r.hash,
        received_at: received,
        stream_seq: r.stream_seq,
        event: canonical,
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
    let to = to_seq.unwrap_or(u64::MAX);
    let bad = |seq: u64, what: &str| AuditError::Export(format!("seq {seq}: {what}"));
    // Pass 1: which events are superseded later (only those are kept in memory).
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
    // Pass 2: fold.
    let mut p = Projections::new();
    let mut kept: HashMap<EventId, Envelope> = HashMap::new();
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
        let superseded = match e.supersedes {
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
        prev = r.hash;
        expected += 1;
        Ok(())
    })?;
    if to != u64::MAX && p.last_seq() != to {
        return Err(AuditError::Export(format!(
            "the export ends at seq {} before --to-seq {to}",
            p.last_seq()
        )));
    }
    Ok(p)
}

/// Every view of `p`, as `golive query <what> --json` prints each one.
pub fn views_json(p: &Projections, rules: &WarningRules) -> serde_json::Value {
    let v = |x: serde_json::Result<serde_json::Value>| x.unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "as_of_seq": p.last_seq(),
        "lost_patients": v(serde_json::to_value(p.lost_patients(None))),
        "money": v(serde_json::to_value(p.money(None))),
        "rollout": v(serde_json::to_value(p.rollout(None))),
        "warnings": v(serde_json::to_value(p.warnings(rules, None))),
        "deferred": v(serde_json::to_value(p.deferred_features(None))),
        "incidents": v(serde_json::to_value(p.incidents(None))),
        "trusts": v(serde_json::to_value(p.trusts())),
    })
}

/// Where two ledgers stand against each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Same records up to both heads, hence the same Merkle root (`root`, at the head).
    Identical { head_seq: u64, root: [u8; 32] },
    /// One (`'A'` or `'B'`) is a prefix of the other: a replica behind.
    Prefix {
        shorter: char,
        common: u64,
        longer_head: u64,
    },
    /// The first seq whose record differs.
    Diverge { seq: u64, a: String, b: String },
}

/// (seq, recomputed chain hash) of each record of one side, in order.
pub(crate) type HashStream<'a> = Box<dyn Iterator<Item = Result<(u64, [u8; 32]), AuditError>> + 'a>;

/// One side of a comparison: a store directory, an export file or a running ledger.
pub enum Side {
    Store(Store),
    Export(std::path::PathBuf),
    Server(crate::client::Client),
}

impl Side {
    /// `http://...` or `https://...` is a running ledger; a directory a store; else an export.
    pub fn open(arg: &str) -> Result<Side, AuditError> {
        if arg.starts_with("http://") || arg.starts_with("https://") {
            return Ok(Side::Server(crate::client::Client::new(arg)));
        }
        let path = Path::new(arg);
        if path.is_dir() {
            Ok(Side::Store(Store::open(path)?))
        } else {
            Ok(Side::Export(path.to_owned()))
        }
    }

    /// (seq, chain hash recomputed from the record's contents) of each record, in order.
    fn hashes(&self) -> HashStream<'_> {
        match self {
            Side::Store(s) => Box::new(s.iter_from(1).map(|r| {
                r.map(|r| (r.seq, r.computed_hash()))
                    .map_err(AuditError::from)
            })),
            Side::Export(path) => Box::new(ExportHashes::open(path)),
            Side::Server(client) => crate::audit_remote::hashes(client),
        }
    }
}

/// Streams (seq, hash) of an export's records.
struct ExportHashes {
    reader: Option<std::io::Lines<BufReader<std::fs::File>>>,
    error: Option<AuditError>,
}

impl ExportHashes {
    fn open(path: &Path) -> Self {
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

/// Walks both ledgers' records in step and reports the first seq whose chain hash, recomputed
/// from the record, differs. Equal chain hashes at seq N mean equal histories up to N (the
/// hash commits to every record before), so this finds where they part; the Merkle tree's
/// leaves are those chain hashes, so equal histories have equal roots at every size (the root
/// at the common head is computed here and reported). It does not check signatures: run
/// `verify` on each side for that.
pub fn compare(a: &Side, b: &Side) -> Result<Comparison, AuditError> {
    let (mut ia, mut ib) = (a.hashes(), b.hashes());
    let mut common = 0u64;
    let mut tree = golive_verify::Frontier::new();
    loop {
        match (ia.next().transpose()?, ib.next().transpose()?) {
            (None, None) => {
                return Ok(Comparison::Identical {
                    head_seq: common,
                    root: tree.root(),
                });
            }
            (Some((seq, _)), None) => {
                return Ok(Comparison::Prefix {
                    shorter: 'B',
                    common,
                    longer_head: last_seq(seq, ia)?,
                });
            }
            (None, Some((seq, _))) => {
                return Ok(Comparison::Prefix {
                    shorter: 'A',
                    common,
                    longer_head: last_seq(seq, ib)?,
                });
            }
            (Some((sa, ha)), Some((sb, hb))) => {
                if sa != sb || ha != hb {
                    return Ok(Comparison::Diverge {
                        seq: common + 1,
                        a: format!("seq {sa} hash {}", to_hex(&ha)),
                        b: format!("seq {sb} hash {}", to_hex(&hb)),
                    });
                }
                common = sa;
                tree.push(golive_verify::record_leaf(&ha));
            }
        }
    }
}

/// The last seq of a record stream whose current record is `seq`.
fn last_seq(seq: u64, rest: HashStream<'_>) -> Result<u64, AuditError> {
    let mut last = seq;
    for r in rest {
        last = r?.0;
    }
    Ok(last)
}
