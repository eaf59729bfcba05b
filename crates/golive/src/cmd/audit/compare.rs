//! `golive audit compare A B`: where two ledgers diverge, if anywhere.

use std::process::ExitCode;

use anyhow::{Context, Result};
use golive::audit::{self, Comparison, EXIT_COULD_NOT_READ, EXIT_TAMPERED, EXIT_VERIFIED, Side};
use golive::render;

use crate::cli::AuditCompareArgs;
use crate::terminal;

pub fn run(args: AuditCompareArgs) -> Result<ExitCode> {
    let open = |p: &str| Side::open(p).with_context(|| format!("cannot open {p}"));
    let (a, b) = match (open(&args.a), open(&args.b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => {
            terminal::err(&render::audit::could_not_read(format_args!("{e:#}")));
            return Ok(ExitCode::from(EXIT_COULD_NOT_READ));
        }
    };
    let c = match audit::compare(&a, &b) {
        Ok(c) => c,
        Err(e) => {
            terminal::err(&render::audit::could_not_read(&e));
            return Ok(ExitCode::from(EXIT_COULD_NOT_READ));
        }
    };
    terminal::out(&render::audit::comparison(&c, &args.a, &args.b))?;
    Ok(ExitCode::from(match c {
        Comparison::Identical { .. } | Comparison::Prefix { .. } => EXIT_VERIFIED,
        Comparison::Diverge { .. } => EXIT_TAMPERED,
    }))
}
