//! `golive audit export`: the history as JSONL, from the store of --data, or from a running
//! ledger over its HTTP API (`--server`, or found beside a store that ledger holds).

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use golive::audit;
use golive::client::Client;
use golive::config::Config;
use golive::render;
use golive_store::{Store, StoreError};

use crate::cli::AuditExportArgs;
use crate::terminal;

/// Bytes buffered before a write to the output.
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// Where an export reads from.
enum Source {
    Store(Store),
    Server(Client),
}

pub fn run(config: &Config, args: AuditExportArgs) -> Result<ExitCode> {
    let source = source(config, args.server)?;
    let mut w = BufWriter::with_capacity(
        WRITE_BUFFER_BYTES,
        terminal::data_sink(args.out.as_deref())?,
    );
    let bar = terminal::export_bar(records_to_export(&source, args.from_seq, args.to_seq));
    let mut progress = |n| bar.set_position(n);
    let summary = match &source {
        Source::Store(store) => {
            audit::export(store, args.from_seq, args.to_seq, &mut w, &mut progress)?
        }
        Source::Server(client) => {
            audit::export_server(client, args.from_seq, args.to_seq, &mut w, &mut progress)?
        }
    };
    bar.finish_and_clear();
    w.flush()?;
    terminal::err(&render::audit::exported(&summary, args.out.as_deref()));
    Ok(ExitCode::SUCCESS)
}

/// The server of `--server`; else the store of --data, or the running ledger that holds it
/// (found through the address it announces beside the store).
fn source(config: &Config, server: Option<String>) -> Result<Source> {
    if let Some(url) = server {
        return Ok(Source::Server(Client::new(&url)));
    }
    match Store::open(&config.data_dir) {
        Ok(store) => Ok(Source::Store(store)),
        Err(StoreError::Locked { path }) => match golive::serving::url_of(&config.data_dir) {
            Some(url) => {
                terminal::err(&render::audit::exporting_through(&path, &url));
                Ok(Source::Server(Client::new(&url)))
            }
            None => anyhow::bail!(
                "the ledger store at {} is in use by a running ledger without HTTP; export from a running ledger with --server URL, or stop it first",
                path.display()
            ),
        },
        Err(e) => Err(e)
            .with_context(|| format!("cannot open the ledger in {}", config.data_dir.display())),
    }
}

/// How many records the export will write, for the progress bar: known beforehand from a
/// store, not from a server (0: a bar without length).
fn records_to_export(source: &Source, from_seq: u64, to_seq: Option<u64>) -> u64 {
    match source {
        Source::Store(store) => {
            let head = store.head().seq;
            to_seq
                .unwrap_or(head)
                .min(head)
                .saturating_sub(from_seq.max(1) - 1)
        }
        Source::Server(_) => 0,
    }
}
