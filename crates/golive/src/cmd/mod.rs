//! One file per `golive` command. Each takes its parsed arguments (`crate::cli`) and the
//! configuration, does its work through the library crates, builds what it reports, has
//! `golive::render` turn it into text and `crate::terminal` write it; it returns the exit code.
//! Errors go back to `main` as `anyhow` errors, which prints them as one `error: ...` line and
//! exits 1 (`golive::exit::ERROR`). Every other exit code, one meaning each, is in
//! `golive::exit`.

pub mod audit;
pub mod collect;
pub mod completions;
pub mod dead_letters;
pub mod demo;
pub mod ingest;
pub mod nats_user;
pub mod query;
pub mod repair;
pub mod replay;
pub mod report;
pub mod serve;
pub mod simulate;
pub mod status;
pub mod token;
pub mod trust_key;
pub mod trust_secret;
pub mod verify;

use std::sync::Arc;

use anyhow::{Context, Result};
use golive::config::Config;
use golive_ledger::Ledger;
use golive_store::Store;

use crate::cli::{Command, NatsArgs};

/// `--check-config`: the checks of `serve` and `collect` that need no store nor NATS; for the
/// other commands, the configuration alone (already loaded and checked).
pub fn check_config(config: &Config, command: &Command) -> Result<std::process::ExitCode> {
    match command {
        Command::Serve(a) => serve::check_only(config, a),
        Command::Collect(a) => collect::check_only(config, a),
        _ => {
            crate::terminal::err(&golive::render::config_checked(
                config.file.as_deref(),
                &config.data_dir,
            ));
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// Opens the ledger to append, with checkpoint signing: every ledger that appends signs
/// checkpoints, and the key is created on first start.
pub fn open_ledger(config: &Config) -> Result<Ledger> {
    let mut ledger = Ledger::open(&config.data_dir, config.ledger)
        .with_context(|| format!("cannot open the ledger in {}", config.data_dir.display()))?;
    let key = golive_ledger::signing::load_or_create_key_at(
        &config.signing_key_file(&config.data_dir),
        &config.audit_origin,
    )?;
    let signer = golive_ledger::signing::CheckpointSigner::new(key, config.audit, ledger.store())?;
    ledger.enable_checkpoint_signing(signer);
    ledger.set_trust_keys(config.trust_keys.clone());
    Ok(ledger)
}

/// Opens the store to read.
pub fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.data_dir)
        .with_context(|| format!("cannot open the ledger in {}", config.data_dir.display()))
}

/// The async runtime of the commands that talk to NATS or serve HTTP.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this
/// is called (inside the runtime), not when the future is first polled, so a signal that arrives
/// while the ledger is still opening is not lost to the default action.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut t), Ok(mut i)) => {
                tokio::select! {
                    _ = t.recv() => {}
                    _ = i.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        tracing::info!("shutdown requested");
    }
}

/// [`shutdown_signal`], with its handlers installed now, inside `rt`.
pub fn shutdown_signal_in(
    rt: &tokio::runtime::Runtime,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let _guard = rt.enter();
    shutdown_signal()
}

/// The NKey user of `--nkey`, read and checked now (before anything else starts), with the
/// TLS files of `--nats-ca`, `--nats-cert` and `--nats-key`.
pub fn nkey(nats: &NatsArgs) -> Result<Option<Arc<nkeys::KeyPair>>> {
    golive::natsauth::check_tls_files(&nats.tls())?;
    Ok(nats
        .nkey
        .as_deref()
        .map(golive::natsauth::read_seed_file)
        .transpose()?)
}
