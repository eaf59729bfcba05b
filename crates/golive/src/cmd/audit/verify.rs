//! `golive audit verify`: an export file, a store directory or a running ledger, checked
//! against a public key given out of band, with a progress bar.

use std::process::ExitCode;

use anyhow::Result;
use golive::audit;
use golive::config::Config;
use golive::config::read_trust_keys_file;
use golive::{exit, render};
use golive_verify::Outcome;

use super::read_key;
use crate::cli::AuditVerifyArgs;
use crate::terminal;

pub fn run(config: &Config, args: AuditVerifyArgs) -> Result<ExitCode> {
    let key = match read_key(&args.pubkey) {
        Ok(k) => k,
        Err(e) => return could_not_read(&format!("--pubkey: {e:#}"), args.json),
    };
    let trust_keys = match args
        .trust_keys
        .as_deref()
        .map(read_trust_keys_file)
        .transpose()
    {
        Ok(k) => k,
        Err(e) => return could_not_read(&format!("--trust-keys: {e:#}"), args.json),
    };
    let trust_keys = match with_admin_keys(trust_keys, &args.admin_keys) {
        Ok(k) => k,
        Err(e) => return could_not_read(&format!("--admin-key: {e:#}"), args.json),
    };
    // Without a file or a server, the store of --data (`--store` only makes that explicit).
    let (source, unit) = match (args.file.or(args.export), args.server) {
        (Some(f), _) => (Source::File(f), "bytes"),
        (None, Some(url)) => (Source::Server(url), "records"),
        (None, None) => (Source::Store, "records"),
    };
    let bar = terminal::progress_bar(Some(0), &format!("audit verify ({unit})"));
    let mut progress = |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let outcome = match source {
        Source::File(f) => audit::verify_file_with(&f, &key, trust_keys, &mut progress),
        Source::Server(url) => audit::verify_server_with(&url, &key, trust_keys, &mut progress),
        Source::Store => {
            audit::verify_store_with(&config.data_dir, &key, trust_keys, &mut progress)
        }
    };
    bar.finish_and_clear();
    terminal::out(&render::audit::outcome(&outcome, args.json))?;
    Ok(ExitCode::from(match &outcome {
        Outcome::Verified(v) => {
            if !args.json {
                terminal::err(&render::audit::verified_coverage(v));
                terminal::err(&render::audit::origins(v));
            }
            exit::OK
        }
        Outcome::Tampered(_) => exit::TAMPERED,
        Outcome::CouldNotRead(_) => exit::COULD_NOT_READ,
    }))
}

/// An input of the check could not be read: said on stdout (--json) or stderr, exit 6.
fn could_not_read(what: &str, json: bool) -> Result<ExitCode> {
    if json {
        terminal::out(&render::audit::could_not_read_json(what))?;
    } else {
        terminal::err(&render::audit::could_not_read(what));
    }
    Ok(ExitCode::from(exit::COULD_NOT_READ))
}

/// What is verified.
enum Source {
    File(std::path::PathBuf),
    Server(String),
    Store,
}

/// The trust keys of --trust-keys with the admin keys of --admin-key (a file's `[admin]` keys
/// stay when none is given); with admin keys alone, the trusts' keys come from the log only.
fn with_admin_keys(
    trust_keys: Option<golive_verify::TrustKeys>,
    admin: &[String],
) -> Result<Option<golive_verify::TrustKeys>> {
    if admin.is_empty() {
        return Ok(trust_keys);
    }
    let keys = admin
        .iter()
        .map(|text| {
            golive_verify::VerifierKey::parse(text.trim())
                .map_err(|e| anyhow::anyhow!("{text:?}: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(trust_keys.unwrap_or_default().with_admin_keys(keys)))
}
