//! `golive`: the one command of Go-Live Ledger. Parses the command line (`cli`), sets up
//! logging, and hands each subcommand to its file in `cmd/`; everything it prints goes through
//! `terminal`. Thin glue over the library crates. Exit codes: `golive::exit`.

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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    golive::edge::init_tracing(&cli.logging);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if golive::edge::is_broken_pipe(e.as_ref()) {
                return ExitCode::SUCCESS;
            }
            terminal::err(&format!("error: {e:#}\n"));
            ExitCode::from(golive::exit::ERROR)
        }
    }
}

/// A command line clap did not accept: its message, and [`golive::exit::USAGE`]; or what
/// `--help` and `--version` print, and success.
fn usage(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(golive::exit::USAGE)
    } else {
        ExitCode::SUCCESS
    }
}

/// Loads the configuration (checked even by the commands that use none of it, so a bad file
/// is said at once; not by those that only describe the command line) and runs the
/// subcommand; its exit code, or the error to report.
fn run(cli: Cli) -> Result<ExitCode> {
    let data_given = cli.data.is_some();
    let config = || Config::load(cli.config.as_deref(), cli.data.clone());
    if cli.check_config {
        return cmd::check_config(&config()?, &cli.command);
    }
    match cli.command {
        Command::Completions(a) => cmd::completions::run(&a),
        Command::Man(a) => cmd::completions::man(&a),
        Command::Simulate(a) => {
            config()?;
            cmd::simulate::run(a)
        }
        Command::Ingest(a) => cmd::ingest::run(&config()?, a),
        Command::Query(a) => cmd::query::run(&config()?, a),
        Command::Report(a) => cmd::report::run(&config()?, a),
        Command::ExportXlsx(a) => cmd::report::export_xlsx(&config()?, a),
        Command::Replay(a) => cmd::replay::run(&config()?, a),
        Command::DeadLetters(a) => cmd::dead_letters::run(&config()?, a),
        Command::Status(a) => cmd::status::run(&config()?, a),
        Command::Verify(a) => cmd::verify::run(&config()?, a),
        Command::Demo(a) => cmd::demo::run(config()?, data_given, a),
        Command::Serve(a) => cmd::serve::run(&config()?, a),
        Command::Collect(a) => cmd::collect::run(&config()?, a),
        Command::Audit(a) => cmd::audit::run(&config()?, a),
        Command::TrustSecret(a) => {
            config()?;
            cmd::trust_secret::run(a)
        }
        Command::TrustKey(a) => {
            config()?;
            cmd::trust_key::run(a)
        }
        Command::Token(a) => {
            config()?;
            cmd::token::run(a)
        }
        Command::NatsUser(a) => {
            config()?;
            cmd::nats_user::run(a)
        }
        Command::Repair(a) => cmd::repair::run(&config()?, a),
    }
}
