//! `golive ingest FILE|-`: append a JSONL file to the ledger; bad lines go to the dead letters.

use std::io::{BufRead, BufReader};
use std::process::ExitCode;

use anyhow::{Context, Result};
use golive::config::Config;
use golive::{exit, render};
use golive_ledger::{IngestSummary, LineSource, ingest_lines};

use super::open_ledger;
use crate::cli::IngestArgs;
use crate::terminal;

/// Bytes read from an input file at a time.
const READ_BUFFER_BYTES: usize = 1 << 20;

pub fn run(config: &Config, args: IngestArgs) -> Result<ExitCode> {
    let IngestArgs { input, json } = args;
    let mut ledger = open_ledger(config)?;
    let (reader, source, len) = open_input(&input)?;
    let bar = terminal::progress_bar(len, "ingest (bytes)");
    let summary = ingest_lines(
        &mut ledger,
        reader,
        &source,
        config.batch_events_max,
        &mut |s: &IngestSummary| bar.set_position(s.bytes_read),
    )?;
    bar.finish_and_clear();
    // The end of an input is a natural point to sign: the whole file is then covered.
    ledger.sign_checkpoint()?;
    ledger.store().flush()?;
    if json {
        terminal::out(&render::ledger::ingested_json(&input, &summary))?;
    } else {
        terminal::err(&render::ledger::ingest_rejections(&summary));
        terminal::out(&render::ledger::ingested(&input, &summary))?;
    }
    Ok(ExitCode::from(if summary.rejected > 0 {
        exit::REJECTED
    } else {
        exit::OK
    }))
}

/// The reader of `input` (`-` is stdin), how its lines are named in dead letters, and its
/// length in bytes when known (for the progress bar).
fn open_input(input: &str) -> Result<(Box<dyn BufRead>, LineSource, Option<u64>)> {
    if input == "-" {
        return Ok((
            Box::new(BufReader::new(std::io::stdin().lock())),
            LineSource::Stdin,
            None,
        ));
    }
    let f = std::fs::File::open(input).with_context(|| format!("cannot open {input}"))?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok((
        Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, f)),
        LineSource::File(input.to_owned()),
        len,
    ))
}
