//! `golive audit figures`: an export verified against the ledger's public key, then its
//! records folded by the projections crate alone and each trust's headline figures printed at
//! a tree size. What it proves beyond `verify`: the figures a report or the API gave at that
//! sequence follow from the signed records and nothing else (docs/AUDIT.md).

use std::process::ExitCode;

use anyhow::Result;
use golive::audit;
use golive::config::Config;
use golive::query::Rules;
use golive::report::{Scope, scoped_headline};
use golive::{exit, render};
use golive_verify::Outcome;

use super::read_key;
use crate::cli::AuditFiguresArgs;
use crate::cmd::query::{trust_arg, utc};
use crate::terminal;

pub fn run(config: &Config, args: AuditFiguresArgs) -> Result<ExitCode> {
    let key = match read_key(&args.pubkey) {
        Ok(k) => k,
        Err(e) => {
            terminal::err(&render::audit::could_not_read(format!("--pubkey: {e:#}")));
            return Ok(ExitCode::from(exit::COULD_NOT_READ));
        }
    };
    let verified = match audit::verify_file(&args.export, &key) {
        Outcome::Verified(v) => v,
        other => {
            terminal::out(&render::audit::outcome(&other, args.json))?;
            return Ok(ExitCode::from(match other {
                Outcome::Tampered(_) => exit::TAMPERED,
                _ => exit::COULD_NOT_READ,
            }));
        }
    };
    let size = args.at_size.unwrap_or(verified.head_seq);
    if size > verified.head_seq {
        anyhow::bail!(
            "--at-size {size} is beyond the export's last record ({})",
            verified.head_seq
        );
    }
    let known_at = args
        .known_at
        .as_deref()
        .map(|t| utc("--known-at", t))
        .transpose()?;
    let scope = match (trust_arg(args.trust.as_deref())?, args.programme) {
        (Some(t), _) => Scope::Trust(t),
        (None, Some(p)) => Scope::Programme(p),
        (None, None) => Scope::All,
    };
    let p = audit::replay_file_known_at(&args.export, Some(size), known_at)?;
    let rules = Rules {
        warnings: &config.rules,
        claims: &config.claim_rules,
        tariffs: &config.tariffs,
    };
    let figures = scoped_headline(&p, rules, &scope)?;
    terminal::out(&render::audit::figures(
        &args.export,
        &verified,
        size,
        &figures,
        args.json,
    ))?;
    Ok(ExitCode::from(exit::OK))
}
