//! `golive query WHAT`: one projection, at the head or as of a sequence or time, optionally known
//! at a time, from the ledger on disk or from a running ledger's HTTP API (same bytes either
//! way).

use std::process::ExitCode;

use anyhow::{Context, Result};
use golive::config::Config;
use golive::query::{At, Point, Rules, What, local, remote};
use golive::render;
use golive_model::OdsCode;

use super::open_store;
use crate::cli::{AlignArg, QueryArgs};
use crate::terminal;

pub fn run(config: &Config, args: QueryArgs) -> Result<ExitCode> {
    if args.align != AlignArg::Calendar && args.what != What::Recovery {
        anyhow::bail!("--align go-live is for `golive query recovery` only");
    }
    let trust = args
        .trust
        .map(|t| {
            OdsCode::parse(&t).with_context(|| {
                format!(
                    "--trust {t}: not an ODS code (3 to 5 upper-case letters or digits, e.g. RAL)"
                )
            })
        })
        .transpose()?;
    let at = Point {
        at: at(args.as_of_seq, args.as_of)?,
        known_at: args.known_at.map(|t| utc("--known-at", &t)).transpose()?,
        exclude_synthetic: args.exclude_synthetic,
        align: args.align.into(),
    };
    let answer = match args.server {
        Some(url) => remote(&url, args.what, trust.as_ref(), at)?,
        None => local(
            &open_store(config)?,
            args.what,
            trust.as_ref(),
            at,
            Rules {
                warnings: &config.rules,
                claims: &config.claim_rules,
                tariffs: &config.tariffs,
            },
        )?,
    };
    terminal::out(&render::views::answer(&answer, args.json))?;
    Ok(ExitCode::SUCCESS)
}

/// Which state of the ledger `--as-of-seq` / `--as-of` ask for (the head without either).
fn at(as_of_seq: Option<u64>, as_of: Option<String>) -> Result<At> {
    Ok(match (as_of_seq, as_of) {
        (Some(s), _) => At::Seq(s),
        (None, Some(t)) => At::Time(utc("--as-of", &t)?),
        (None, None) => At::Head,
    })
}

/// The time given to option `name`: RFC 3339 in UTC.
fn utc(name: &str, t: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    Ok(chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .filter(|t| t.offset().local_minus_utc() == 0)
        .with_context(|| {
            format!("{name} {t}: not an RFC 3339 time in UTC such as 2009-02-01T00:00:00Z")
        })?
        .to_utc())
}
