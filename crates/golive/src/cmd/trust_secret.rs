//! `golive trust-secret new TRUST`: a trust's pseudonym key for mapped feeds (docs/FEEDS.md).
//! Written with the signing key's own owner-only, never-overwrite file creation.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use golive_collector::mapping::TrustSecret;
use golive_collector::mapping::transform::TRUST_KEY_BYTES;
use golive_model::OdsCode;

use crate::cli::{TrustSecretArgs, TrustSecretCommand, TrustSecretNewArgs};
use crate::terminal;

pub fn run(args: TrustSecretArgs) -> Result<ExitCode> {
    match args.what {
        TrustSecretCommand::New(new) => run_new(new),
    }
}

fn run_new(args: TrustSecretNewArgs) -> Result<ExitCode> {
    check_trust(&args.trust)?;
    let path = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}.trust-secret", args.trust)));
    let mut key = [0u8; TRUST_KEY_BYTES];
    golive_ledger::signing::getrandom(&mut key).context("cannot read the OS's random source")?;
    let secret = TrustSecret {
        trust: args.trust.clone(),
        key,
    };
    let mut f = create_key_file(
        &path,
        "a trust secret is never overwritten (its pseudonyms would change)",
    )?;
    f.write_all(secret.file_text().as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    terminal::err(&golive::render::collect::trust_secret_written(
        &args.trust,
        &path,
    ));
    Ok(ExitCode::SUCCESS)
}

/// Refuses a trust that is not an ODS code (`trust-secret new`, `trust-key new`).
pub(super) fn check_trust(trust: &str) -> Result<()> {
    if OdsCode::parse(trust).is_none() {
        bail!("{trust}: not an ODS code (3 to 5 upper-case letters or digits, e.g. RNJ)");
    }
    Ok(())
}

/// Creates a trust's new key file, owner-only, never over an existing one (`why` says why).
pub(super) fn create_key_file(path: &Path, why: &str) -> Result<std::fs::File> {
    golive_ledger::signing::create_owner_only(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} exists already; {why}: remove it first or choose another --out",
                path.display()
            )
        } else {
            anyhow::anyhow!("cannot create {}: {e}", path.display())
        }
    })
}
