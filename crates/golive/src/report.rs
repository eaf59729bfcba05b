//! `golive report` and `golive export-xlsx`: the take-away figures of a ledger on disk at one
//! sequence. This module gathers what the documents show (pure over the store: no file is
//! written here); `cmd::report` writes them and prints the PDF with headless Chromium.

use chrono::{DateTime, Utc};
use golive_ledger::claims_register_both;
use golive_model::OdsCode;
use golive_projections::{Align, Projections};
use golive_report::{CheckpointInfo, Cover, Headline, Table, headline};
use golive_store::Store;

use crate::query::{At, Point, QueryError, Rules, What, table_of};

/// Which trusts a report covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Trust(OdsCode),
    /// The member trusts of a programme (as `/v1/coverage` lists them).
    Programme(String),
}

/// Where the figures stand in the log, and the proof of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub as_of_seq: u64,
    pub known_at: Option<DateTime<Utc>>,
    /// Merkle root at `as_of_seq`, hex.
    pub root_at_seq: String,
    /// The first signed checkpoint at or above `as_of_seq`.
    pub checkpoint: Option<CheckpointInfo>,
    pub pubkey: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Store(#[from] golive_store::StoreError),
    #[error(transparent)]
    Ledger(#[from] golive_ledger::LedgerError),
    #[error("programme `{name}` is not in this ledger; its programmes: {known}")]
    NoSuchProgramme { name: String, known: String },
}

/// The provenance of figures at `point`'s sequence in `store`; `pubkey` is the ledger's public
/// key when the operator's key file is readable.
pub fn provenance(
    store: &Store,
    point: Point,
    pubkey: Option<String>,
) -> Result<Provenance, ReportError> {
    let seq = match point.at {
        At::Head => store.head().seq,
        At::Seq(s) => s,
        At::Time(t) => golive_ledger::seq_received_by(store, t)?,
    };
    let root = golive_verify::to_hex(&store.merkle_root(seq)?);
    let checkpoint = store
        .signed_checkpoints(seq.max(1), u64::MAX, 1)?
        .into_iter()
        .next()
        .map(|(size, note)| CheckpointInfo { note, size });
    Ok(Provenance {
        as_of_seq: seq,
        known_at: point.known_at,
        root_at_seq: root,
        checkpoint,
        pubkey,
    })
}

/// The commands that re-derive the figures offline: export the history up to the checkpoint,
/// then `audit figures` at the report's size.
pub fn auditor_commands(prov: &Provenance, scope: &Scope) -> Vec<String> {
    let to = prov.checkpoint.as_ref().map_or(prov.as_of_seq, |c| c.size);
    let key = prov
        .pubkey
        .as_deref()
        .unwrap_or("<the ledger's public key>");
    let scope = match scope {
        Scope::All => String::new(),
        Scope::Trust(t) => format!(" --trust {t}"),
        Scope::Programme(p) => format!(" --programme '{p}'"),
    };
    let known = prov
        .known_at
        .map(|t| format!(" --known-at {}", golive_model::format_time(&t)))
        .unwrap_or_default();
    vec![
        format!("golive audit export --to-seq {to} --out history.jsonl"),
        format!(
            "golive audit figures --export history.jsonl --pubkey '{key}' --at-size {}{known}{scope}",
            prov.as_of_seq
        ),
    ]
}

/// The trusts of `scope` in `p` (a programme's members as coverage lists them).
pub fn scope_trusts(
    p: &Projections,
    rules: Rules<'_>,
    scope: &Scope,
) -> Result<Vec<OdsCode>, ReportError> {
    match scope {
        Scope::All => Ok(p.trusts()),
        Scope::Trust(t) => Ok(vec![t.clone()]),
        Scope::Programme(name) => {
            let c = p.coverage(rules.warnings, None);
            let Some(members) = c.programmes.get(name) else {
                return Err(ReportError::NoSuchProgramme {
                    name: name.clone(),
                    known: c.programmes.keys().cloned().collect::<Vec<_>>().join(", "),
                });
            };
            Ok(members
                .trusts
                .keys()
                .filter_map(|t| OdsCode::parse(t))
                .collect())
        }
    }
}

/// The headline of the trusts of `scope` (one trust's own figures, or each member's).
pub fn scoped_headline(
    p: &Projections,
    rules: Rules<'_>,
    scope: &Scope,
) -> Result<Headline, ReportError> {
    let trusts = scope_trusts(p, rules, scope)?;
    let single = match scope {
        Scope::Trust(t) => Some(t),
        _ => None,
    };
    let mut h = headline(p, rules.warnings, rules.tariffs, single);
    h.trusts
        .retain(|code, _| trusts.iter().any(|t| t.as_str() == code));
    Ok(h)
}

/// Every view's table at `point` (the cover sheet's figures are of this state).
pub fn all_tables(
    store: &Store,
    trust: Option<&OdsCode>,
    point: Point,
    rules: Rules<'_>,
) -> Result<Vec<Table>, ReportError> {
    let whats = [
        What::Money,
        What::LostPatients,
        What::Incidents,
        What::Rollout,
        What::Warnings,
        What::Coverage,
        What::Claims,
        What::UsageBurden,
        What::Recovery,
        What::Deferred,
        What::Trusts,
    ];
    // One fold for every table.
    let (seq, p) = crate::query::fold(store, point)?;
    whats
        .iter()
        .map(|w| Ok(table_of(store, (seq, &p), *w, trust, point, rules)?))
        .collect()
}

/// The workbook's cover: what the figures are and how to check them.
pub fn cover(prov: &Provenance, scope: &Scope, synthetic_events: u64) -> Cover {
    let mut lines = vec![
        ("as_of_seq".to_owned(), prov.as_of_seq.to_string()),
        (
            "known_at".to_owned(),
            prov.known_at
                .map(|t| golive_model::format_time(&t))
                .unwrap_or_else(|| "(everything received by then)".to_owned()),
        ),
        ("merkle_root_at_seq".to_owned(), prov.root_at_seq.clone()),
    ];
    match &prov.checkpoint {
        Some(c) => {
            lines.push(("signed_checkpoint_size".to_owned(), c.size.to_string()));
            lines.push(("signed_checkpoint".to_owned(), c.note.clone()));
        }
        None => lines.push((
            "signed_checkpoint".to_owned(),
            "UNSIGNED: no signed checkpoint covers this sequence yet".to_owned(),
        )),
    }
    if let Some(k) = &prov.pubkey {
        lines.push(("public_key".to_owned(), k.clone()));
    }
    lines.push((
        "synthetic_events".to_owned(),
        format!(
            "{synthetic_events} (each row's `synthetic` column says whether they made or changed it)"
        ),
    ));
    for (i, c) in auditor_commands(prov, scope).into_iter().enumerate() {
        lines.push((format!("re-derive, step {}", i + 1), c));
    }
    Cover {
        title: "Go-Live Ledger figures".to_owned(),
        lines,
    }
}

/// The claim register at `prov`'s state, for a report (it folds the log again).
pub fn claims_at(
    store: &Store,
    p: &Projections,
    prov: &Provenance,
    trust: Option<&OdsCode>,
    rules: Rules<'_>,
) -> Result<golive_projections::ClaimsView, ReportError> {
    let at = (prov.as_of_seq, prov.known_at);
    Ok(claims_register_both(store, p, at, rules.claims, trust, false)?.0)
}

/// Recovery is always on the calendar in a report.
pub const REPORT_ALIGN: Align = Align::Calendar;
