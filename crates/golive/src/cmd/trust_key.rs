//! `golive trust-key new TRUST` and `show FILE`: a trust's Ed25519 key for signing the events
//! its collector publishes (docs/EVENTS.md, "Event signatures"). The key file is the
//! signed-note private key format the ledger's own key uses, named by the trust's ODS code;
//! written with the same owner-only, never-overwrite file creation. `new-admin` makes the admin
//! key, and `publish` publishes a `trust_key` event signed with it (docs/SECURITY.md,
//! "Trust keys in the log").

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use golive_model::OdsCode;
use golive_verify::NoteSigner;

use super::trust_secret::{check_trust, create_key_file};
use crate::cli::{TrustKeyArgs, TrustKeyCommand, TrustKeyNewAdminArgs, TrustKeyNewArgs};
use crate::terminal;

mod publish;

pub fn run(args: TrustKeyArgs) -> Result<ExitCode> {
    match args.what {
        TrustKeyCommand::New(new) => run_new(new),
        TrustKeyCommand::NewAdmin(new) => run_new_admin(new),
        TrustKeyCommand::Publish(p) => publish::run(*p),
        TrustKeyCommand::Show(show) => {
            let signer = read(&show.file)?;
            terminal::out(&format!("{}\n", signer.verifier()))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_new(args: TrustKeyNewArgs) -> Result<ExitCode> {
    check_trust(&args.trust)?;
    let path = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}.trust-key", args.trust)));
    let public = write_new_key(&args.trust, &path)?;
    terminal::err(&golive::render::collect::trust_key_written(
        &args.trust,
        &path,
        &public,
    ));
    terminal::out(&format!("{public}\n"))?;
    Ok(ExitCode::SUCCESS)
}

fn run_new_admin(args: TrustKeyNewAdminArgs) -> Result<ExitCode> {
    if OdsCode::parse(&args.name).is_some() {
        bail!(
            "--name {}: an admin key is not named like a trust (an ODS code), so that neither \
             can be taken for the other",
            args.name
        );
    }
    let path = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}.admin-key", args.name)));
    let public = write_new_key(&args.name, &path)?;
    terminal::err(&golive::render::collect::admin_key_written(&path, &public));
    terminal::out(&format!("{public}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a new Ed25519 key named `name` to a new 0600 file; returns its public key.
fn write_new_key(name: &str, path: &Path) -> Result<String> {
    let mut seed = [0u8; 32];
    golive_ledger::signing::getrandom(&mut seed).context("cannot read the OS's random source")?;
    let signer = NoteSigner::from_seed(name, seed)?;
    let mut f = create_key_file(
        path,
        "a signing key is never overwritten (the ledger knows its public key)",
    )?;
    f.write_all(format!("{}\n", signer.to_private_text()).as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(signer.verifier().to_string())
}

/// Reads the admin key file (`golive trust-key publish --admin-key`): any name but a trust's.
pub fn read_admin(path: &Path) -> Result<NoteSigner> {
    let signer = read_signer(
        path,
        "an admin key (`golive trust-key new-admin` makes one)",
    )?;
    if OdsCode::parse(signer.name()).is_some() {
        bail!(
            "{}: the key is named {}, a trust's ODS code: it is a trust key, not the admin key",
            path.display(),
            signer.name()
        );
    }
    Ok(signer)
}

/// Reads a trust's signing key file (`golive collect --trust-key`); its name must be an ODS
/// code, the trust it signs for.
pub fn read(path: &Path) -> Result<NoteSigner> {
    let signer = read_signer(path, "a trust key (`golive trust-key new TRUST` makes one)")?;
    if OdsCode::parse(signer.name()).is_none() {
        bail!(
            "{}: the key is named {:?}, not an ODS code: it is not a trust key (the ledger's own \
             audit key?)",
            path.display(),
            signer.name()
        );
    }
    Ok(signer)
}

/// A signing key file; `what` says which kind was expected when it is not one.
fn read_signer(path: &Path, what: &str) -> Result<NoteSigner> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    NoteSigner::parse(&text).map_err(|e| anyhow::anyhow!("{}: not {what}: {e}", path.display()))
}
