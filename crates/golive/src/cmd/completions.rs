//! `golive completions SHELL` and `golive man --out DIR`: shell completions (clap_complete) and
//! man pages (clap_mangen), generated from the same clap command as the parser, so they name
//! every subcommand and flag `golive --help` does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;
use golive::render;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::terminal;

pub fn run(args: &CompletionsArgs) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "golive", &mut script);
    terminal::out(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: &ManArgs) -> Result<ExitCode> {
    let dir = &args.out;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, dir, &mut written)?;
    terminal::err(&render::ledger::man_pages_written(dir, &written));
    Ok(ExitCode::SUCCESS)
}

/// The page of `cmd` and of each of its subcommands (named `golive-audit-verify.1`, ...).
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    let page = clap_mangen::Man::new(cmd.clone());
    let path = page
        .generate_to(dir)
        .with_context(|| format!("cannot write a man page into {}", dir.display()))?;
    written.push(path);
    Ok(())
}
