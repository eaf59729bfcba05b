//! `golive status`: the ledger's head, dead letters, collectors and size on disk.

use std::process::ExitCode;

use anyhow::Result;
use golive::config::Config;
use golive::render;
use golive::render::ledger::Status;

use super::open_store;
use crate::cli::StatusArgs;
use crate::terminal;

pub fn run(config: &Config, args: StatusArgs) -> Result<ExitCode> {
    let store = open_store(config)?;
    let status = Status {
        data_dir: config.data_dir.display().to_string(),
        head: store.head(),
        dead_letters: store.dead_letter_count(),
        collectors: store
            .collectors()?
            .into_iter()
            .map(|(c, s)| (c.0, s))
            .collect(),
        bytes_on_disk: store.size_on_disk()?,
    };
    terminal::out(&render::ledger::status(&status, args.json))?;
    Ok(ExitCode::SUCCESS)
}
