//! `golive replay`: rebuild every projection from the log, with a progress bar.

use std::process::ExitCode;

use anyhow::Result;
use golive::config::Config;
use golive::render;

use super::open_ledger;
use crate::terminal;

pub fn run(config: &Config) -> Result<ExitCode> {
    let mut ledger = open_ledger(config)?;
    let head = ledger.head().seq;
    let bar = terminal::progress_bar(Some(head), "replay");
    let started = std::time::Instant::now();
    ledger.rebuild(&mut |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    terminal::out(&render::ledger::replayed(head, secs, &ledger.head()))?;
    Ok(ExitCode::SUCCESS)
}
