//! `golive verify`: walk the whole hash chain, with a progress bar; TAMPERED at the first bad
//! record, COULD NOT READ when the store itself fails to read.

use std::process::ExitCode;

use anyhow::Result;
use golive::config::Config;
use golive::{exit, render};
use golive_store::ChainError;

use super::open_store;
use crate::cli::VerifyArgs;
use crate::terminal;

pub fn run(config: &Config, args: VerifyArgs) -> Result<ExitCode> {
    let store = open_store(config)?;
    let bar = terminal::progress_bar(Some(store.head().seq), "verify");
    let checked = store.verify_chain_with(&mut |n| bar.set_position(n));
    bar.finish_and_clear();
    terminal::out(&render::ledger::chain_checked(&checked, args.json))?;
    Ok(ExitCode::from(match checked {
        Ok(_) => exit::OK,
        Err(ChainError::Store(_)) => exit::COULD_NOT_READ,
        Err(_) => exit::TAMPERED,
    }))
}
