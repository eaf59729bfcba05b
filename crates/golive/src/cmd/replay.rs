//! `golive replay`: rebuild every projection from the log, with a progress bar.

use std::process::ExitCode;

use anyhow::Result;
use golive::config::Config;
use golive::render;

use super::open_ledger;
use crate::cli::ReplayArgs;
use crate::terminal;

pub fn run(config: &Config, args: ReplayArgs) -> Result<ExitCode> {
    let mut ledger = open_ledger(config)?;
    let head = ledger.head().seq;
    let bar = terminal::progress_bar(Some(head), "replay");
    let started = std::time::Instant::now();
    ledger.rebuild(&mut |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    terminal::out(&if args.json {
        render::ledger::replayed_json(head, secs, &ledger.head())
    } else {
        render::ledger::replayed(head, secs, &ledger.head())
    })?;
    Ok(ExitCode::SUCCESS)
}
