//! `golive repair --from-export FILE`: rebuild a ledger store from a verified audit export, into
//! a new data directory. The export is verified first (every chain hash, the Merkle tree, every
//! signed checkpoint against the given public key); then each record's event is appended in
//! order, with its original `received_at` and stream sequence, and must land at its original
//! seq with its original chain hash (the hash covers only the previous hash, the seq and the
//! event's canonical bytes). Nothing is invented or dropped: any difference stops the repair.
//! The export's signed checkpoints are not copied; the rebuilt ledger signs a new one at its
//! head (with the old signing key when `--key-from` gives it, else a new key).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use golive_ledger::Ledger;
use golive_store::{Incoming, Outcome as Appended};
use golive_verify::export::{Line, Outcome, parse_line};
use golive_verify::to_hex;

use crate::audit::{self, EXIT_COULD_NOT_READ, EXIT_TAMPERED};
use crate::config::Config;

/// The signing key's file name in a data directory.
const KEY_FILE: &str = "audit-signing.key";
const BATCH: usize = 1_000;

pub fn run(
    config: &Config,
    export: &Path,
    pubkey: &str,
    key_from: Option<&Path>,
) -> Result<ExitCode> {
    let key = match crate::audit_cmd::read_key(pubkey) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("COULD NOT READ: --pubkey: {e:#}");
            return Ok(ExitCode::from(EXIT_COULD_NOT_READ));
        }
    };
    match audit::verify_file(export, &key) {
        Outcome::Verified(_) => {}
        Outcome::Tampered(p) => {
            eprintln!(
                "not repairing: {} does not verify: seq {}: {:?}: {}",
                export.display(),
                p.seq,
                p.kind,
                p.detail
            );
            return Ok(ExitCode::from(EXIT_TAMPERED));
        }
        Outcome::CouldNotRead(e) => {
            eprintln!("not repairing: cannot read {}: {e}", export.display());
            return Ok(ExitCode::from(EXIT_COULD_NOT_READ));
        }
    }
    let dir = &config.data_dir;
    if dir.exists()
        && std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: repair writes a new store into an empty (or new) directory; keep the \
             damaged one aside and give another --data",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    match key_from.map(|d| d.join(KEY_FILE)).filter(|k| k.is_file()) {
        Some(old) => {
            std::fs::copy(&old, dir.join(KEY_FILE))
                .with_context(|| format!("cannot copy {}", old.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(
                    dir.join(KEY_FILE),
                    std::fs::Permissions::from_mode(0o600),
                )?;
            }
            eprintln!("signing key copied from {}", old.display());
        }
        None => eprintln!(
            "no signing key to copy (--key-from): the repaired ledger signs with a NEW key; publish \
             its public key (`golive audit pubkey`) beside the old one"
        ),
    }

    let mut ledger = Ledger::open(dir, config.ledger)
        .with_context(|| format!("cannot open the new ledger in {}", dir.display()))?;
    let signing = golive_ledger::audit::load_or_create_key(dir, &config.audit_origin)?;
    let signer =
        golive_ledger::audit::CheckpointSigner::new(signing, config.audit, ledger.store())?;
    ledger.enable_checkpoint_signing(signer);

    let f =
        std::fs::File::open(export).with_context(|| format!("cannot open {}", export.display()))?;
    let mut batch: Vec<Incoming> = Vec::with_capacity(BATCH);
    // (seq, hash) expected of each record in `batch`.
    let mut expect: Vec<(u64, [u8; 32])> = Vec::with_capacity(BATCH);
    let mut last: Option<(u64, [u8; 32])> = None;
    for (n, line) in BufReader::with_capacity(1 << 20, f).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", export.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = parse_line(&line)
            .map_err(|e| anyhow::anyhow!("{}:{}: {e}", export.display(), n + 1))?;
        match parsed {
            Line::Header(h) if h.from_seq != 1 => bail!(
                "{} starts at seq {}: a store can be rebuilt only from a whole export (from seq 1)",
                export.display(),
                h.from_seq
            ),
            Line::Record(r) => {
                let envelope = golive_model::decode(r.event).map_err(|e| {
                    anyhow::anyhow!("seq {}: the event does not decode: {e}", r.seq)
                })?;
                let received_at = chrono::DateTime::parse_from_rfc3339(r.received_at)
                    .with_context(|| format!("seq {}: received_at {:?}", r.seq, r.received_at))?
                    .with_timezone(&chrono::Utc);
                batch.push(Incoming::new(envelope, r.stream_seq, received_at));
                expect.push((r.seq, r.hash));
                last = Some((r.seq, r.hash));
                if batch.len() == BATCH {
                    append(&mut ledger, &mut batch, &mut expect)?;
                }
            }
            _ => {}
        }
    }
    append(&mut ledger, &mut batch, &mut expect)?;
    ledger.sign_checkpoint()?;
    ledger.store().flush()?;
    let head = ledger.head();
    let (seq, hash) = last.unwrap_or((0, golive_model::GENESIS_HASH));
    if head.seq != seq || head.hash != hash {
        bail!(
            "the rebuilt head (seq {} hash {}) differs from the export's (seq {seq} hash {})",
            head.seq,
            to_hex(&head.hash),
            to_hex(&hash)
        );
    }
    println!(
        "repaired: {seq} records from {} into {}, head seq {seq} hash {} (the export's); check: \
         golive audit compare {} {}",
        export.display(),
        dir.display(),
        to_hex(&hash),
        export.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Appends `batch`; every event must land at its expected seq with its expected hash.
fn append(
    ledger: &mut Ledger,
    batch: &mut Vec<Incoming>,
    expect: &mut Vec<(u64, [u8; 32])>,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let outcomes = ledger.append(std::mem::take(batch))?;
    for (o, (seq, _)) in outcomes.iter().zip(expect.iter()) {
        match o {
            Appended::Appended { seq: s } if s == seq => {}
            other => bail!("seq {seq}: not appended at its seq by the rebuilt store: {other:?}"),
        }
    }
    if let Some((seq, hash)) = expect.last()
        && ledger.head().hash != *hash
    {
        bail!("seq {seq}: the rebuilt chain hash differs from the export's");
    }
    expect.clear();
    Ok(())
}
