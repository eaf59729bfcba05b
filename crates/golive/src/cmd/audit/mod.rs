//! `golive audit ...`: the auditor's commands, one file each, over `golive::audit`.
//!
//! Exit codes of `verify` and `compare`: 0 verified (or identical), 2 tampered (or diverged),
//! 3 could not read (no such file or store, not an export, a bad key).

mod compare;
mod export;
mod figures;
mod pubkey;
mod replay;
mod verify;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use golive::config::Config;
use golive_verify::VerifierKey;

use crate::cli::{AuditArgs, AuditCommand};

pub fn run(config: &Config, args: AuditArgs) -> Result<ExitCode> {
    match args.what {
        AuditCommand::Pubkey => pubkey::run(config),
        AuditCommand::Export(a) => export::run(config, a),
        AuditCommand::Verify(a) => verify::run(config, a),
        AuditCommand::Replay(a) => replay::run(config, a),
        AuditCommand::Figures(a) => figures::run(config, a),
        AuditCommand::Compare(a) => compare::run(a),
    }
}

/// The key text, or the first line of a file holding it.
pub fn read_key(arg: &str) -> Result<VerifierKey> {
    let text = if Path::new(arg).is_file() {
        std::fs::read_to_string(arg).with_context(|| format!("cannot read {arg}"))?
    } else {
        arg.to_owned()
    };
    Ok(VerifierKey::parse(text.lines().next().unwrap_or_default())?)
}
