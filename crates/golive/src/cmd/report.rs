//! `golive report` and `golive export-xlsx`: the figures at one sequence as a PDF (the report's
//! HTML printed by headless Chromium), its HTML, or a workbook.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};
use golive::config::Config;
use golive::query::{At, Point, Rules, fold};
use golive::report::{self, Provenance, Scope};
use golive_projections::Projections;
use golive_report::{ReportInput, report_html, write_xlsx};
use golive_store::Store;

use super::open_store;
use super::query::{at, trust_arg, utc};
use crate::cli::{AtArgs, ExportXlsxArgs, ReportArgs, ReportFormat};

fn rules(config: &Config) -> Rules<'_> {
    Rules {
        warnings: &config.rules,
        claims: &config.claim_rules,
        tariffs: &config.tariffs,
    }
}

/// The point of `--as-of-seq` / `--known-at`.
fn point(a: &AtArgs) -> Result<Point> {
    Ok(Point::new(
        at(a.as_of_seq, None)?,
        a.known_at
            .as_deref()
            .map(|t| utc("--known-at", t))
            .transpose()?,
    ))
}

/// The ledger's public key, when the signing key file is there to read (nothing is created).
fn pubkey(config: &Config) -> Option<String> {
    let path = config.signing_key_file(&config.data_dir);
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        golive_verify::NoteSigner::parse(&text)
            .ok()?
            .verifier()
            .to_string(),
    )
}

/// Where the figures stand, pinned to a sequence (a later append changes nothing of them).
fn pinned(config: &Config, store: &Store, a: &AtArgs) -> Result<(Provenance, Point)> {
    let p = point(a)?;
    let prov = report::provenance(store, p, pubkey(config))?;
    Ok((
        prov.clone(),
        Point {
            at: At::Seq(prov.as_of_seq),
            ..p
        },
    ))
}

pub fn export_xlsx(config: &Config, args: ExportXlsxArgs) -> Result<ExitCode> {
    let trust = trust_arg(args.trust.as_deref())?;
    let scope = trust.clone().map_or(Scope::All, Scope::Trust);
    write_workbook(config, &args.at, trust.as_ref(), &scope, &args.out)
}

fn write_workbook(
    config: &Config,
    a: &AtArgs,
    trust: Option<&golive_model::OdsCode>,
    scope: &Scope,
    out: &Path,
) -> Result<ExitCode> {
    let store = open_store(config)?;
    let (prov, point) = pinned(config, &store, a)?;
    let tables = report::all_tables(&store, trust, point, rules(config))?;
    let (_, p) = fold(&store, point)?;
    let bytes = write_xlsx(&report::cover(&prov, scope, p.synthetic_events()), &tables)?;
    std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    crate::terminal::err(&format!(
        "wrote {} ({} sheets) as of seq {}\n",
        out.display(),
        tables.len() + 1,
        prov.as_of_seq
    ));
    Ok(ExitCode::SUCCESS)
}

pub fn run(config: &Config, args: ReportArgs) -> Result<ExitCode> {
    let trust = trust_arg(args.trust.as_deref())?;
    let scope = match (&trust, &args.programme) {
        (Some(t), _) => Scope::Trust(t.clone()),
        (None, Some(p)) => Scope::Programme(p.clone()),
        (None, None) => Scope::All,
    };
    if args.format == ReportFormat::Xlsx {
        return write_workbook(config, &args.at, trust.as_ref(), &scope, &args.out);
    }
    let store = open_store(config)?;
    let (prov, point) = pinned(config, &store, &args.at)?;
    let (_, p) = fold(&store, point)?;
    let html = html(config, &store, &p, &prov, &scope)?;
    match args.format {
        ReportFormat::Html => std::fs::write(&args.out, html)
            .with_context(|| format!("cannot write {}", args.out.display()))?,
        _ => print_pdf(&args.chromium, &html, &args.out)?,
    }
    crate::terminal::err(&format!(
        "wrote {} as of seq {}\n",
        args.out.display(),
        prov.as_of_seq
    ));
    Ok(ExitCode::SUCCESS)
}

/// The report's HTML: every part computed from `p` (the ledger at `prov`'s sequence).
fn html(
    config: &Config,
    store: &Store,
    p: &Projections,
    prov: &Provenance,
    scope: &Scope,
) -> Result<String> {
    let r = rules(config);
    let trusts = report::scope_trusts(p, r, scope)?;
    let keep = |code: &String| trusts.iter().any(|t| t.as_str() == code);
    let single = match scope {
        Scope::Trust(t) => Some(t),
        _ => None,
    };
    let headline = report::scoped_headline(p, r, scope)?;
    let sourced = (p.synthetic_events() > 0)
        .then(|| report::scoped_headline(p.sourced_only(), r, scope))
        .transpose()?;
    let mut money = p.money(single);
    money.trusts.retain(|c, _| keep(c));
    let mut recovery = p.recovery(r.tariffs, r.warnings, single, report::REPORT_ALIGN);
    recovery.trusts.retain(|c, _| keep(c));
    let mut warnings = p.warnings(r.warnings, single);
    warnings.trusts.retain(|c, _| keep(c));
    let mut coverage = p.coverage(r.warnings, single);
    if let Scope::Programme(name) = scope {
        coverage.programmes.retain(|p, _| p == name);
    }
    let mut claims = report::claims_at(store, p, prov, single, r)?;
    claims.claims.retain(|c| keep(&c.trust));
    let mut evidence = p.evidence(single);
    evidence.trusts.retain(|c, _| keep(c));
    let title = match scope {
        Scope::All => "All trusts".to_owned(),
        Scope::Trust(t) => format!("Trust {t}"),
        Scope::Programme(n) => format!("Programme: {n}"),
    };
    Ok(report_html(&ReportInput {
        title,
        generated_at: golive_model::format_time(&chrono::Utc::now()),
        as_of_seq: prov.as_of_seq,
        known_at: prov.known_at.map(|t| golive_model::format_time(&t)),
        root_at_seq: prov.root_at_seq.clone(),
        headline: &headline,
        sourced: sourced.as_ref(),
        money: &money,
        recovery: &recovery,
        warnings: &warnings,
        coverage: &coverage,
        claims: Some(&claims),
        evidence: &evidence,
        checkpoint: prov.checkpoint.clone(),
        pubkey: prov.pubkey.clone(),
        commands: report::auditor_commands(prov, scope),
    }))
}

/// Prints `html` to the PDF `out` with headless Chromium (from a temporary file: no server).
fn print_pdf(chromium: &str, html: &str, out: &Path) -> Result<()> {
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).context("cannot write the report's page")?;
    let out_abs =
        std::path::absolute(out).with_context(|| format!("cannot resolve {}", out.display()))?;
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            &format!("--user-data-dir={}", dir.path().join("profile").display()),
            &format!("--print-to-pdf={}", out_abs.display()),
        ])
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()
        .with_context(|| {
            format!(
                "cannot run `{chromium}` to print the PDF: install Debian's `chromium` or give \
                 --chromium PATH (GOLIVE_CHROMIUM); `--format html` needs neither"
            )
        })?;
    let printed = std::fs::metadata(&out_abs).is_ok_and(|m| m.len() > 0);
    if !o.status.success() || !printed {
        bail!(
            "`{chromium}` did not print {}: {}",
            out.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    Ok(())
}
