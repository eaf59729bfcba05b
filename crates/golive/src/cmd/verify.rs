//! `golive verify`: walk the whole hash chain; exit 2 at the first bad record.

use std::process::ExitCode;

use anyhow::Result;
use golive::audit::EXIT_TAMPERED;
use golive::config::Config;
use golive::render;

use super::open_store;
use crate::terminal;

pub fn run(config: &Config) -> Result<ExitCode> {
    let store = open_store(config)?;
    let checked = store.verify_chain();
    terminal::out(&render::ledger::chain_checked(&checked))?;
    Ok(match checked {
        Ok(_) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(EXIT_TAMPERED),
    })
}
