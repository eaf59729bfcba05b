//! `golive query WHAT`: one projection, at the head or as of a sequence or time, optionally known
//! at a time, from the ledger on disk or from a running ledger's HTTP API (same bytes either
//! way).

use std::process::ExitCode;

use anyhow::{Context, Result};
use golive::config::Config;
use golive::query::{
    At, Point, Rules, What, local, local_evidence, local_table, remote, remote_evidence,
};
use golive::render;
use golive_model::OdsCode;

use super::open_store;
use crate::cli::{AlignArg, OutputFormat, QueryArgs};
use crate::terminal;

pub fn run(config: &Config, args: QueryArgs) -> Result<ExitCode> {
    if args.align != AlignArg::Calendar && args.what != What::Recovery {
        anyhow::bail!("--align go-live is for `golive query recovery` only");
    }
    let trust = trust_arg(args.trust.as_deref())?;
    let at = Point {
        at: at(args.as_of_seq, args.as_of.as_deref())?,
        known_at: args
            .known_at
            .as_deref()
            .map(|t| utc("--known-at", t))
            .transpose()?,
        exclude_synthetic: args.exclude_synthetic,
        align: args.align.into(),
    };
    let rules = Rules {
        warnings: &config.rules,
        claims: &config.claim_rules,
        tariffs: &config.tariffs,
    };
    let json = match (args.json, args.format) {
        (true, OutputFormat::Csv) => anyhow::bail!("give --json or --format csv, not both"),
        (_, OutputFormat::Csv) if args.evidence => {
            anyhow::bail!("--evidence is printed as text or JSON: the CSV is the view's table")
        }
        (_, OutputFormat::Csv) => return csv(config, &args, trust.as_ref(), at, rules),
        (json, f) => json || f == OutputFormat::Json,
    };
    if args.bom {
        anyhow::bail!("--bom is for --format csv only");
    }
    if args.evidence {
        let page = golive_report::EvidencePage {
            offset: args.evidence_offset,
            limit: usize::try_from(args.evidence_limit).unwrap_or(usize::MAX),
        };
        let (seq, e) = match &args.server {
            Some(url) => remote_evidence(url, args.what, trust.as_ref(), at, page)?,
            None => local_evidence(&open_store(config)?, args.what, trust.as_ref(), at, page)?,
        };
        terminal::out(&render::evidence::evidence(seq, &e, json))?;
        return Ok(ExitCode::SUCCESS);
    }
    let answer = match &args.server {
        Some(url) => remote(url, args.what, trust.as_ref(), at)?,
        None => local(&open_store(config)?, args.what, trust.as_ref(), at, rules)?,
    };
    terminal::out(&render::views::answer(&answer, json))?;
    Ok(ExitCode::SUCCESS)
}

/// `--format csv`: the view's table, from the ledger on disk or as the server writes it.
fn csv(
    config: &Config,
    args: &QueryArgs,
    trust: Option<&OdsCode>,
    at: Point,
    rules: Rules<'_>,
) -> Result<ExitCode> {
    let bytes = match &args.server {
        Some(url) => {
            let client = golive::client::Client::new(url);
            let full = golive::query::url(client.base(), args.what, trust, at);
            let path = &full[client.base().len()..];
            let sep = if path.contains('?') { '&' } else { '?' };
            let bom = if args.bom { "&bom=true" } else { "" };
            client.get(&format!("{path}{sep}format=csv{bom}"))?
        }
        None => {
            let store = open_store(config)?;
            let (_, table) = local_table(&store, args.what, trust, at, rules)?;
            golive_report::write_csv(&table, args.bom)
        }
    };
    terminal::out_bytes(&bytes)?;
    Ok(ExitCode::SUCCESS)
}

/// `--trust`, checked.
pub(crate) fn trust_arg(trust: Option<&str>) -> Result<Option<OdsCode>> {
    trust
        .map(|t| {
            OdsCode::parse(t).with_context(|| {
                format!(
                    "--trust {t}: not an ODS code (3 to 5 upper-case letters or digits, e.g. RAL)"
                )
            })
        })
        .transpose()
}

/// Which state of the ledger `--as-of-seq` / `--as-of` ask for (the head without either).
pub(crate) fn at(as_of_seq: Option<u64>, as_of: Option<&str>) -> Result<At> {
    Ok(match (as_of_seq, as_of) {
        (Some(s), _) => At::Seq(s),
        (None, Some(t)) => At::Time(utc("--as-of", t)?),
        (None, None) => At::Head,
    })
}

/// The time given to option `name`: RFC 3339 in UTC.
pub(crate) fn utc(name: &str, t: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    Ok(chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .filter(|t| t.offset().local_minus_utc() == 0)
        .with_context(|| {
            format!("{name} {t}: not an RFC 3339 time in UTC such as 2009-02-01T00:00:00Z")
        })?
        .to_utc())
}
