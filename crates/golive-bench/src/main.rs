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

use crate::cli::{Cli, LogFormat};

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`golive-bench store | head`), as command-line tools do,
    // instead of panicking inside `println!`.
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    init_tracing(&cli.log, cli.log_format);
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            // A pipe closed early (`| head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The tracing subscriber on stderr, with `golive`'s filter syntax and formats.
fn init_tracing(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
