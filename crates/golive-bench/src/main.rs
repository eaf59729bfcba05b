//! `golive-bench`: the benchmarks of Go-Live Ledger (`golive-bench all|store|pipeline|query`),
//! a binary of their own so that the product, `golive`, carries none of them. Thin: parses the
//! command line, sets up logging as `golive` does, dispatches to `commands`.
//!
//! `pipeline` and `all` run the ledger as the `golive` binary in a child process: `--golive
//! PATH`, by default the `golive` next to this executable (`cargo build --release` builds both
//! into target/release).

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

fn main() -> ExitCode {
    golive::edge::default_sigpipe();
    let cli = Cli::parse();
    golive::edge::init_tracing(&cli.logging);
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            if golive::edge::is_broken_pipe(e.as_ref()) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
