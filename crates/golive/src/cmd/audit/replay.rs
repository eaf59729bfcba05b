//! `golive audit replay FILE`: every projection rebuilt from an export alone.

use std::process::ExitCode;

use anyhow::{Context, Result};
use golive::audit;
use golive::config::Config;
use golive::render;

use crate::cli::AuditReplayArgs;
use crate::terminal;

pub fn run(config: &Config, args: AuditReplayArgs) -> Result<ExitCode> {
    let p = audit::replay_file(&args.file, args.to_seq)
        .with_context(|| format!("cannot replay {}", args.file.display()))?;
    terminal::out(&render::audit::replayed(
        &args.file,
        &p,
        &config.rules,
        args.json,
    ))?;
    Ok(ExitCode::SUCCESS)
}
