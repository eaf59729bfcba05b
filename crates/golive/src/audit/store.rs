//! The audit over a store directory on disk: write its history as an export, and verify it in
//! place (the records as stored, every signed checkpoint, then the store's own structures).

use std::io::Write;
use std::path::Path;

use golive_model::GENESIS_HASH;
use golive_store::{Store, StoreError};
use golive_verify::{
    CheckpointEntry, CheckpointLine, Header, Kind, Outcome, Problem, Start, TrustKeys, Verified,
    Verifier, VerifierKey, to_hex, write_record_line,
};

use super::{AuditError, ExportSummary, Progress, check_range, write_json_line};

/// Signed checkpoints read from the store per call while exporting.
const CHECKPOINTS_PER_READ: usize = 1_000;

/// Records written between two calls of an export's `progress`.
const RECORDS_PER_PROGRESS: u64 = 4096;

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
    check_range(from, to, head)?;
    write_header(store, from, to, out)?;
    let records = write_records(store, from, to, out, progress)?;
    let checkpoints = write_checkpoints(store, to, out)?;
    out.flush()?;
    Ok(ExportSummary {
        from_seq: from,
        to_seq: to,
        records,
        checkpoints,
    })
}

/// The header: the range, the chain hash before `from` and the Merkle frontier it extends.
fn write_header(store: &Store, from: u64, to: u64, out: &mut dyn Write) -> Result<(), AuditError> {
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
    write_json_line(out, &header)
}

/// One line per record of `from..=to`; returns how many.
fn write_records(
    store: &Store,
    from: u64,
    to: u64,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, AuditError> {
    let mut line = Vec::with_capacity(4096);
    let mut records = 0u64;
    for record in store.range(from, to) {
        let r = record?;
        line.clear();
        r.with_export(|e| write_record_line(&mut line, e));
        out.write_all(&line)?;
        records += 1;
        if records.is_multiple_of(RECORDS_PER_PROGRESS) {
            progress(records);
        }
    }
    progress(records);
    Ok(records)
}

/// Every signed checkpoint up to size `to`, each after the first with its consistency proof
/// from the one before, read a page at a time; returns how many.
fn write_checkpoints(store: &Store, to: u64, out: &mut dyn Write) -> Result<u64, AuditError> {
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
            write_json_line(out, &line)?;
            prev = Some(size);
            checkpoints += 1;
        }
        next_size = last + 1;
    }
    Ok(checkpoints)
}

/// Verifies a store directory: the records as stored (chain, order, tree), every signed
/// checkpoint, then the store's own structures (id index, head) and its Merkle tiles.
pub fn verify_store(dir: &Path, key: &VerifierKey) -> Outcome {
    verify_store_with(dir, key, None, &mut |_, _| {})
}

/// [`verify_store`], telling `progress` the records checked of twice the head (the records as
/// stored, then the chain again with the store's own structures). A store held by a running
/// ledger is verified through its API, without progress.
pub fn verify_store_with(
    dir: &Path,
    key: &VerifierKey,
    trust_keys: Option<TrustKeys>,
    progress: Progress<'_>,
) -> Outcome {
    let store = match open_to_verify(dir, key, &trust_keys) {
        Ok(store) => store,
        Err(outcome) => return outcome,
    };
    match verify_records(&store, key, trust_keys, progress) {
        Ok(verified) => check_structures(&store, verified, progress),
        Err(outcome) => outcome,
    }
}

/// The store in `dir`, or the outcome when it does not open: no store there, damage the store
/// itself detects, or a running ledger holding it (then verified through that ledger's API).
fn open_to_verify(
    dir: &Path,
    key: &VerifierKey,
    trust_keys: &Option<TrustKeys>,
) -> Result<Store, Outcome> {
    if !dir.join("db").exists() && !dir.join("conf").exists() {
        return Err(Outcome::CouldNotRead(format!(
            "{} holds no ledger store",
            dir.display()
        )));
    }
    match Store::open(dir) {
        Ok(s) => Ok(s),
        // The store refuses to open on some damage (a head that disagrees with the log): that
        // is tampering, and the error names the seq.
        Err(StoreError::Corrupt { seq, what }) => Err(Outcome::Tampered(Problem {
            seq,
            kind: Kind::Altered,
            detail: format!("the store does not open: {what}"),
        })),
        // A running ledger holds the store: verify through its HTTP API (the same checks but
        // the store's own structures, which only the ledger can read while it runs).
        Err(e @ StoreError::Locked { .. }) => Err(match crate::serving::url_of(dir) {
            Some(url) => {
                tracing::info!(%url, "store held by a running ledger; verifying over HTTP");
                super::verify_server_with(&url, key, trust_keys.clone(), &mut |_, _| {})
            }
            None => Outcome::CouldNotRead(format!(
                "{e}; or verify the running ledger with --server URL"
            )),
        }),
        Err(e) => Err(Outcome::CouldNotRead(e.to_string())),
    }
}

/// The records as stored and every signed checkpoint, through the verifier an export goes
/// through.
fn verify_records(
    store: &Store,
    key: &VerifierKey,
    trust_keys: Option<TrustKeys>,
    progress: Progress<'_>,
) -> Result<Verified, Outcome> {
    let head = store.head().seq;
    let entries = store
        .signed_checkpoints(0, u64::MAX, usize::MAX)
        .map_err(|e| Outcome::CouldNotRead(e.to_string()))?
        .into_iter()
        .map(|(_, note)| CheckpointEntry {
            note,
            consistency: None,
        })
        .collect();
    let mut v = Verifier::new(key, Start::genesis(), entries);
    if let Some(keys) = trust_keys {
        v = v.with_trust_keys(keys);
    }
    let mut done = 0u64;
    for record in store.records_as_stored() {
        let checked = match record {
            Ok(r) => r.with_export(|e| v.push(e)),
            Err(StoreError::Corrupt { seq, what }) => Err(Problem {
                seq,
                kind: Kind::Altered,
                detail: what,
            }),
            Err(e) => return Err(Outcome::CouldNotRead(e.to_string())),
        };
        checked.map_err(Outcome::Tampered)?;
        done += 1;
        if done.is_multiple_of(RECORDS_PER_PROGRESS) {
            progress(done, head * 2);
        }
    }
    progress(head, head * 2);
    v.finish(Some(head)).map_err(Outcome::Tampered)
}

/// The store's own structures against what its records gave: the id index and head
/// (`verify_chain`), then the Merkle tiles' root.
fn check_structures(store: &Store, verified: Verified, progress: Progress<'_>) -> Outcome {
    let head = store.head().seq;
    if let Err(e) = store.verify_chain_with(&mut |n| progress(head + n, head * 2)) {
        return Outcome::Tampered(Problem {
            seq: e.seq().unwrap_or(0),
            kind: Kind::Altered,
            detail: e.to_string(),
        });
    }
    match store.merkle_root(head) {
        Ok(root) if root == verified.root => Outcome::Verified(Box::new(verified)),
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
