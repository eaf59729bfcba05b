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
use golive::audit;
use golive::config::Config;
use golive::{exit, render};
use golive_ledger::Ledger;
use golive_store::{Incoming, Outcome as Appended};
use golive_verify::export::{Line, Outcome, parse_line};
use golive_verify::to_hex;

use crate::cli::RepairArgs;
use crate::terminal;

/// The signing key's file name in a data directory.
const KEY_FILE: &str = "audit-signing.key";
/// Events appended per batch while rebuilding.
const BATCH: usize = 1_000;
/// Bytes read from the export at a time.
const READ_BUFFER_BYTES: usize = 1 << 20;

/// (seq, chain hash) of a record.
type SeqHash = (u64, [u8; 32]);

pub fn run(config: &Config, args: RepairArgs) -> Result<ExitCode> {
    let export = args.from_export.as_path();
    let key = match super::audit::read_key(&args.pubkey) {
        Ok(k) => k,
        Err(e) => {
            terminal::err(&render::audit::could_not_read(format_args!(
                "--pubkey: {e:#}"
            )));
            return Ok(ExitCode::from(exit::COULD_NOT_READ));
        }
    };
    // One bar over three passes of the export: two to verify it, one to rebuild from it.
    let len = std::fs::metadata(export).map_or(0, |m| m.len());
    let bar = terminal::progress_bar(Some(len * 3), "repair (bytes)");
    let outcome =
        audit::verify_file_with(export, &key, None, &mut |done, _| bar.set_position(done));
    if let Some(refused) = render::audit::repair_refused(export, &outcome) {
        bar.finish_and_clear();
        terminal::err(&refused);
        return Ok(ExitCode::from(match outcome {
            Outcome::Tampered(_) => exit::TAMPERED,
            _ => exit::COULD_NOT_READ,
        }));
    }
    let dir = &config.data_dir;
    prepare_dir(dir, args.key_from.as_deref())?;
    let mut ledger = open_new_ledger(config)?;
    let last = rebuild(&mut ledger, export, &mut |read| {
        bar.set_position(len * 2 + read)
    })?;
    bar.finish_and_clear();
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
    terminal::out(&render::audit::repaired(seq, &hash, export, dir))?;
    Ok(ExitCode::SUCCESS)
}

/// Creates `dir`, which must be empty or new, and copies the old signing key into it when
/// `key_from` holds one.
fn prepare_dir(dir: &Path, key_from: Option<&Path>) -> Result<()> {
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
            terminal::err(&render::audit::signing_key_copied(&old));
        }
        None => terminal::err(&render::audit::signing_key_new()),
    }
    Ok(())
}

/// The new ledger, signing with the key now in its directory (or a new one).
fn open_new_ledger(config: &Config) -> Result<Ledger> {
    let dir = &config.data_dir;
    let mut ledger = Ledger::open(dir, config.ledger)
        .with_context(|| format!("cannot open the new ledger in {}", dir.display()))?;
    let signing = golive_ledger::signing::load_or_create_key_at(
        &config.signing_key_file(dir),
        &config.audit_origin,
    )?;
    let signer =
        golive_ledger::signing::CheckpointSigner::new(signing, config.audit, ledger.store())?;
    ledger.enable_checkpoint_signing(signer);
    Ok(ledger)
}

/// Appends every record of the export in order, in batches, telling `progress` the bytes read;
/// returns the last record's seq and hash (`None` for an export without records).
fn rebuild(
    ledger: &mut Ledger,
    export: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<SeqHash>> {
    let f =
        std::fs::File::open(export).with_context(|| format!("cannot open {}", export.display()))?;
    let mut batch: Vec<Incoming> = Vec::with_capacity(BATCH);
    // (seq, hash) expected of each record in `batch`.
    let mut expect: Vec<SeqHash> = Vec::with_capacity(BATCH);
    let mut last: Option<SeqHash> = None;
    let mut read = 0u64;
    for (n, line) in BufReader::with_capacity(READ_BUFFER_BYTES, f)
        .lines()
        .enumerate()
    {
        let line = line.with_context(|| format!("cannot read {}", export.display()))?;
        read += line.len() as u64 + 1;
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
                batch.push(incoming(&r)?);
                expect.push((r.seq, r.hash));
                last = Some((r.seq, r.hash));
                if batch.len() == BATCH {
                    append(ledger, &mut batch, &mut expect)?;
                    progress(read);
                }
            }
            _ => {}
        }
    }
    append(ledger, &mut batch, &mut expect)?;
    Ok(last)
}

/// The event of an export record, to append with its original `received_at` and stream seq.
fn incoming(r: &golive_verify::ExportRecord<'_>) -> Result<Incoming> {
    let envelope = golive_model::decode(r.event)
        .map_err(|e| anyhow::anyhow!("seq {}: the event does not decode: {e}", r.seq))?;
    let received_at = chrono::DateTime::parse_from_rfc3339(r.received_at)
        .with_context(|| format!("seq {}: received_at {:?}", r.seq, r.received_at))?
        .with_timezone(&chrono::Utc);
    Ok(Incoming::new(envelope, r.stream_seq, received_at))
}

/// Appends `batch`; every event must land at its expected seq with its expected hash.
fn append(ledger: &mut Ledger, batch: &mut Vec<Incoming>, expect: &mut Vec<SeqHash>) -> Result<()> {
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
