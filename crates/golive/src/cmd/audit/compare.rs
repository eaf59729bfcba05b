//! `golive audit compare A B`: where two ledgers diverge, if anywhere.

use std::process::ExitCode;

use anyhow::{Context, Result};
use golive::audit::{self, Comparison, Side};
use golive::{exit, render};

use crate::cli::AuditCompareArgs;
use crate::terminal;

pub fn run(args: AuditCompareArgs) -> Result<ExitCode> {
    let open = |p: &str| Side::open(p).with_context(|| format!("cannot open {p}"));
    let compared = match (open(&args.a), open(&args.b)) {
        (Ok(a), Ok(b)) => audit::compare(&a, &b).map_err(anyhow::Error::from),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let c = match compared {
        Ok(c) => c,
        Err(e) => {
            let what = format!("{e:#}");
            if args.json {
                terminal::out(&render::audit::could_not_read_json(&what))?;
            } else {
                terminal::err(&render::audit::could_not_read(&what));
            }
            return Ok(ExitCode::from(exit::COULD_NOT_READ));
        }
    };
    terminal::out(&if args.json {
        render::audit::comparison_json(&c, &args.a, &args.b)
    } else {
        render::audit::comparison(&c, &args.a, &args.b)
    })?;
    Ok(ExitCode::from(match c {
        Comparison::Identical { .. } | Comparison::Prefix { .. } => exit::OK,
        Comparison::Diverge { .. } => exit::DIVERGED,
    }))
}
