//! `golive audit pubkey`: the ledger's verifier key, creating the signing key if there is none.

use std::process::ExitCode;

use anyhow::Result;
use golive::config::Config;
use golive::render;

use crate::terminal;

pub fn run(config: &Config) -> Result<ExitCode> {
    let signer = golive_ledger::signing::load_or_create_key_at(
        &config.signing_key_file(&config.data_dir),
        &config.audit_origin,
    )?;
    terminal::out(&render::audit::pubkey(&signer.verifier()))?;
    Ok(ExitCode::SUCCESS)
}
