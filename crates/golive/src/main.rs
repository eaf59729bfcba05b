//! `golive`: the one command of Go-Live Ledger. Parses the command line (`cli`), sets up
//! logging, and hands each subcommand to its file in `cmd/`; everything it prints goes through
//! `terminal`. Thin glue over the library crates.

mod cli;
mod cmd;
mod terminal;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use golive::config::Config;

use cli::{Cli, Command};

fn main() -> ExitCode {
    golive::edge::default_sigpipe();
    let cli = Cli::parse();
    golive::edge::init_tracing(&cli.logging);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if golive::edge::is_broken_pipe(e.as_ref()) {
                return ExitCode::SUCCESS;
            }
            terminal::err(&format!("error: {e:#}\n"));
            ExitCode::FAILURE
        }
    }
}

/// Loads the configuration and runs the subcommand; its exit code, or the error to report.
fn run(cli: Cli) -> Result<ExitCode> {
    let data_given = cli.data.is_some();
    let config = Config::load(cli.config.as_deref(), cli.data)?;
    if cli.check_config {
        return cmd::check_config(&config, &cli.command);
    }
    match cli.command {
        Command::Simulate(a) => cmd::simulate::run(a),
        Command::Ingest(a) => cmd::ingest::run(&config, a),
        Command::Query(a) => cmd::query::run(&config, a),
        Command::Replay => cmd::replay::run(&config),
        Command::DeadLetters(a) => cmd::dead_letters::run(&config, a),
        Command::Status(a) => cmd::status::run(&config, a),
        Command::Verify => cmd::verify::run(&config),
        Command::Demo(a) => cmd::demo::run(config, data_given, a),
        Command::Serve(a) => cmd::serve::run(&config, a),
        Command::Collect(a) => cmd::collect::run(&config, a),
        Command::Audit(a) => cmd::audit::run(&config, a),
        Command::Token(a) => cmd::token::run(a),
        Command::NatsUser(a) => cmd::nats_user::run(a),
        Command::Repair(a) => cmd::repair::run(&config, a),
    }
}
