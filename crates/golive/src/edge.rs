//! What both binaries (`golive` and `golive-bench`) do at their edge, written once: the default
//! SIGPIPE disposition, the tracing subscriber on stderr, and telling a closed pipe from an
//! error.

use clap::ValueEnum;

/// `--log-format`: human-readable lines or one JSON object per line.
#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The logging flags of both binaries (global: they go before or after the subcommand).
#[derive(clap::Args)]
pub struct LogArgs {
    /// Log filter for the tracing logs on stderr, e.g. `info`, `golive_ledger=debug`. The NATS
    /// client's own logs are off by default: golive reports connection trouble itself, in one
    /// line (e.g. refused credentials)
    #[arg(
        long,
        global = true,
        env = "GOLIVE_LOG",
        default_value = "warn,golive_ledger::ingest=error,async_nats=off,sled=off"
    )]
    pub log: String,
    /// Log format on stderr
    #[arg(long, global = true, env = "GOLIVE_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

/// Die quietly on a closed pipe (`golive query ... | head`), as command-line tools do, instead
/// of panicking inside a write to stdout. Call it first thing in `main`.
pub fn default_sigpipe() {
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The tracing subscriber on stderr with the `--log` filter (EnvFilter syntax; `warn` if it
/// does not parse) in the `--log-format`.
pub fn init_tracing(args: &LogArgs) {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Whether an error, or any error it was caused by, is a write to a pipe the reader closed
/// early (`| head`): not an error for a command-line tool.
pub fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_is_found_under_context_and_other_errors_are_not() {
        // Proves the closed-pipe test looks through the causes an error carries.
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let wrapped = anyhow::Error::new(pipe).context("writing the table");
        assert!(is_broken_pipe(wrapped.as_ref()));
        let other = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(!is_broken_pipe(other.context("opening").as_ref()));
    }
}
