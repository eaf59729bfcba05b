//! `golive simulate`: a deterministic simulated rollout as JSONL, on stdout or into a file.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Result;
use golive::render;
use golive::simulate::{SimParams, Simulation};

use crate::cli::SimulateArgs;
use crate::terminal;

pub fn run(args: SimulateArgs) -> Result<ExitCode> {
    let SimulateArgs {
        seed,
        trusts,
        events,
        real_trust_codes,
        out,
    } = args;
    anyhow::ensure!(
        (1..=1_000).contains(&trusts),
        "--trusts must be between 1 and 1000"
    );
    let mut w = BufWriter::new(terminal::data_sink(out.as_deref())?);
    let params = SimParams {
        real_trust_codes,
        ..SimParams::new(seed, trusts, events)
    };
    for e in Simulation::new(params) {
        w.write_all(&e.canonical_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    if let Some(p) = out {
        terminal::err(&render::ledger::simulated(events, trusts, &p));
    }
    Ok(ExitCode::SUCCESS)
}
