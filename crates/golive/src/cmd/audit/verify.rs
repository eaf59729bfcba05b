//! `golive audit verify`: an export file, a store directory or a running ledger, checked
//! against a public key given out of band.

use std::process::ExitCode;

use anyhow::Result;
use golive::audit::{self, EXIT_COULD_NOT_READ, EXIT_TAMPERED, EXIT_VERIFIED};
use golive::config::Config;
use golive::render;
use golive_verify::Outcome;

use super::read_key;
use crate::cli::AuditVerifyArgs;
use crate::terminal;

pub fn run(config: &Config, args: AuditVerifyArgs) -> Result<ExitCode> {
    let key = match read_key(&args.pubkey) {
        Ok(k) => k,
        Err(e) => {
            terminal::err(&render::audit::could_not_read(format_args!(
                "--pubkey: {e:#}"
            )));
            return Ok(ExitCode::from(EXIT_COULD_NOT_READ));
        }
    };
    // Without a file or a server, the store of --data (`--store` only makes that explicit).
    let outcome = match (args.file.or(args.export), args.server) {
        (Some(f), _) => audit::verify_file(&f, &key),
        (None, Some(url)) => audit::verify_server(&url, &key),
        (None, None) => audit::verify_store(&config.data_dir, &key),
    };
    terminal::out(&render::audit::outcome(&outcome, args.json))?;
    Ok(match &outcome {
        Outcome::Verified(v) => {
            if !args.json {
                terminal::err(&render::audit::verified_coverage(v));
            }
            ExitCode::from(EXIT_VERIFIED)
        }
        Outcome::Tampered(_) => ExitCode::from(EXIT_TAMPERED),
        Outcome::CouldNotRead(_) => ExitCode::from(EXIT_COULD_NOT_READ),
    })
}
