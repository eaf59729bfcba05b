//! `golive dead-letters`: the rejected messages, newest last, as a table or JSON lines.

use std::process::ExitCode;

use anyhow::Result;
use golive::config::Config;
use golive::render;

use super::open_store;
use crate::cli::DeadLettersArgs;
use crate::terminal;

pub fn run(config: &Config, args: DeadLettersArgs) -> Result<ExitCode> {
    let store = open_store(config)?;
    let total = store.dead_letter_count();
    let skip = (total as usize).saturating_sub(args.limit);
    if !args.json {
        terminal::out(&render::ledger::dead_letters_count(total))?;
    }
    // One at a time: a dead letter holds up to its raw bytes, and `--limit` may be large.
    for d in store.dead_letters().skip(skip) {
        terminal::out(&render::ledger::dead_letter(&d?, args.json))?;
    }
    Ok(ExitCode::SUCCESS)
}
