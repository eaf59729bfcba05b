//! What the auditor's commands report: `golive audit export|verify|replay|compare` and the
//! outcome lines `golive repair` shares with them (docs/AUDIT.md documents these words).

use std::path::Path;

use golive_projections::{Projections, WarningRules};
use golive_verify::{Outcome, Verified, to_hex};

use super::line;
use crate::audit::{Comparison, ExportSummary};

/// `golive audit pubkey`: the verifier key, in the signed-note format.
pub fn pubkey(key: &impl std::fmt::Display) -> String {
    line(key)
}

/// `COULD NOT READ: ...`: the input of a check could not be read (exit 6).
pub fn could_not_read(what: impl std::fmt::Display) -> String {
    line(format_args!("COULD NOT READ: {what}"))
}

/// The result of `golive audit verify` on stdout: one JSON object, or one line.
pub fn outcome(outcome: &Outcome, as_json: bool) -> String {
    if as_json {
        let v = match outcome {
            Outcome::Verified(v) => serde_json::json!({"result": "verified", "verified": v}),
            Outcome::Tampered(p) => serde_json::json!({"result": "tampered", "problem": p}),
            Outcome::CouldNotRead(e) => {
                serde_json::json!({"result": "could_not_read", "error": e})
            }
        };
        return line(v);
    }
    match outcome {
        Outcome::Verified(v) => line(format_args!(
            "OK head seq {} hash {} root {}",
            v.head_seq,
            to_hex(&v.head_hash),
            to_hex(&v.root)
        )),
        Outcome::Tampered(p) => line(format_args!(
            "TAMPERED at seq {}: {}: {}",
            p.seq,
            p.kind.as_str(),
            p.detail
        )),
        Outcome::CouldNotRead(e) => could_not_read(e),
    }
}

/// What a verification covered (stderr, after the `OK` line): the checkpoints, their origin,
/// and how many of the last records no signed checkpoint covers yet.
pub fn verified_coverage(v: &Verified) -> String {
    let unsigned = v.head_seq.saturating_sub(v.signed_size);
    line(format_args!(
        "{} signed checkpoints checked{}; signed up to seq {}{}",
        v.checkpoints,
        v.origin
            .as_deref()
            .map(|o| format!(" (origin {o})"))
            .unwrap_or_default(),
        v.signed_size,
        if unsigned > 0 {
            format!(
                "; the last {unsigned} records are intact but not yet covered by a signed checkpoint"
            )
        } else {
            String::new()
        }
    ))
}

/// With `--trust-keys` (stderr, after the coverage): per trust, how its events are signed.
pub fn origins(v: &Verified) -> String {
    let Some(origins) = &v.origins else {
        return String::new();
    };
    if origins.is_empty() {
        return line("origin: no records to check");
    }
    origins
        .iter()
        .map(|(trust, t)| {
            let changes = match t.key_changes {
                0 => String::new(),
                n => format!(", {n} key change(s) signed by an admin key"),
            };
            line(format_args!(
                "origin {trust}: {} signed, {} signed by a key revoked since (before its \
                 revocation), {} unsigned{changes}",
                t.signed, t.signed_by_revoked_key, t.unsigned
            ))
        })
        .collect()
}

/// `golive audit compare A B`: where the two stand, named as the user gave them.
pub fn comparison(c: &Comparison, name_a: &str, name_b: &str) -> String {
    match c {
        Comparison::Identical { head_seq, root } => line(format_args!(
            "IDENTICAL up to head seq {head_seq}, Merkle root {}",
            to_hex(root)
        )),
        Comparison::Prefix {
            shorter,
            common,
            longer_head,
        } => {
            let (s, l) = if *shorter == 'A' {
                (name_a, name_b)
            } else {
                (name_b, name_a)
            };
            line(format_args!(
                "PREFIX: {s} holds the same records as {l} up to seq {common}, and {l} goes on to seq {longer_head} (a replica behind, not a divergence)"
            ))
        }
        Comparison::Diverge { seq, a, b } => line(format_args!(
            "DIVERGE at seq {seq}: {name_a} has {a}, {name_b} has {b}"
        )),
    }
}

/// `golive audit compare --json`: the same, as one JSON object (`a` and `b` as given).
pub fn comparison_json(c: &Comparison, name_a: &str, name_b: &str) -> String {
    line(match c {
        Comparison::Identical { head_seq, root } => serde_json::json!({
            "result": "identical", "a": name_a, "b": name_b,
            "head_seq": head_seq, "root": to_hex(root),
        }),
        Comparison::Prefix {
            shorter,
            common,
            longer_head,
        } => serde_json::json!({
            "result": "prefix", "a": name_a, "b": name_b,
            "shorter": if *shorter == 'A' { "a" } else { "b" },
            "common_seq": common, "longer_head_seq": longer_head,
        }),
        Comparison::Diverge { seq, a, b } => serde_json::json!({
            "result": "diverged", "a": name_a, "b": name_b,
            "seq": seq, "a_has": a, "b_has": b,
        }),
    })
}

/// A check's input that could not be read, as one JSON object (`--json`).
pub fn could_not_read_json(what: impl std::fmt::Display) -> String {
    line(serde_json::json!({"result": "could_not_read", "error": what.to_string()}))
}

/// `golive audit export` without `--server`, when a running ledger holds the store (stderr).
pub fn exporting_through(store: &Path, url: &str) -> String {
    line(format_args!(
        "the ledger in {} is held by a running ledger; exporting through its HTTP API at {url}",
        store.display()
    ))
}

/// What an export wrote, and where (stderr).
pub fn exported(summary: &ExportSummary, out: Option<&Path>) -> String {
    line(format_args!(
        "exported seqs {}..={} ({} records) and {} signed checkpoints{}",
        summary.from_seq,
        summary.to_seq,
        summary.records,
        summary.checkpoints,
        out.map(|p| format!(" to {}", p.display()))
            .unwrap_or_default()
    ))
}

/// `golive audit replay FILE`: every view rebuilt from the export, as one JSON object or as
/// the tables `golive query` prints.
pub fn replayed(file: &Path, p: &Projections, rules: &WarningRules, as_json: bool) -> String {
    if as_json {
        return line(super::views::views_json(p, rules));
    }
    let mut out = line(format_args!(
        "replayed from {} as of seq {}",
        file.display(),
        p.last_seq()
    ));
    out.push_str(&super::views::all_views(p, rules));
    out
}

/// `golive repair`: why the export is not used (stderr); `None` when it verified.
pub fn repair_refused(export: &Path, outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Verified(_) => None,
        Outcome::Tampered(p) => Some(line(format_args!(
            "not repairing: {} does not verify: seq {}: {:?}: {}",
            export.display(),
            p.seq,
            p.kind,
            p.detail
        ))),
        Outcome::CouldNotRead(e) => Some(line(format_args!(
            "not repairing: cannot read {}: {e}",
            export.display()
        ))),
    }
}

/// `golive repair --key-from DIR`: the old signing key was copied (stderr).
pub fn signing_key_copied(from: &Path) -> String {
    line(format_args!("signing key copied from {}", from.display()))
}

/// `golive repair` without an old key to copy (stderr).
pub fn signing_key_new() -> String {
    line(
        "no signing key to copy (--key-from): the repaired ledger signs with a NEW key; publish \
         its public key (`golive audit pubkey`) beside the old one",
    )
}

/// The last line of a repair: what was rebuilt, and how to check it.
pub fn repaired(records: u64, hash: &[u8; 32], export: &Path, dir: &Path) -> String {
    line(format_args!(
        "repaired: {records} records from {} into {}, head seq {records} hash {} (the export's); check: \
         golive audit compare {} {}",
        export.display(),
        dir.display(),
        to_hex(hash),
        export.display(),
        dir.display()
    ))
}

/// `golive audit figures`: each trust's headline figures at `size`, re-derived from the
/// verified export, with whether a signed checkpoint covers that size.
pub fn figures(
    file: &Path,
    v: &Verified,
    size: u64,
    figures: &golive_report::Headline,
    as_json: bool,
) -> String {
    let signed = v.signed_size >= size;
    if as_json {
        return line(serde_json::json!({
            "result": "verified",
            "as_of_seq": size,
            "signed": signed,
            "signed_size": v.signed_size,
            "origin": v.origin,
            "export_head_seq": v.head_seq,
            "figures": figures,
        }));
    }
    let mut out = line(format_args!(
        "verified {} (records 1..={}, signed up to tree size {}); figures at tree size {size}{}",
        file.display(),
        v.head_seq,
        v.signed_size,
        if signed {
            ""
        } else {
            " (NOT covered by a signed checkpoint)"
        }
    ));
    for (trust, t) in &figures.trusts {
        out.push_str(&line(format_args!(
            "{trust}: net cost {} (extra cost {}, income at risk {}, recovered {}, penalties {}; \
             estimated {} apart); lost not traced {}; open serious incidents {}; priced activity \
             shortfall {}; warnings {}{}",
            golive_report::money(t.net_cost_pence),
            golive_report::money(t.extra_cost_pence),
            golive_report::money(t.income_at_risk_pence),
            golive_report::money(t.income_recovered_pence),
            golive_report::money(t.contract_penalty_pence),
            golive_report::money(t.estimated_net_cost_pence),
            t.open_lost_patients,
            t.open_serious_incidents,
            golive_report::money(t.priced_shortfall_pence),
            t.warnings,
            if t.halt_recommended {
                ", halt recommended"
            } else {
                ""
            }
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_names_the_shorter_side_first_whichever_it_is() {
        // Proves `compare`'s line says which ledger is behind by the names the user gave.
        let prefix = |shorter| Comparison::Prefix {
            shorter,
            common: 30,
            longer_head: 89,
        };
        let expected = |s: &str, l: &str| {
            format!(
                "PREFIX: {s} holds the same records as {l} up to seq 30, and {l} goes on to seq 89 (a replica behind, not a divergence)\n"
            )
        };
        assert_eq!(
            comparison(&prefix('A'), "a.jsonl", "dir"),
            expected("a.jsonl", "dir")
        );
        assert_eq!(
            comparison(&prefix('B'), "a.jsonl", "dir"),
            expected("dir", "a.jsonl")
        );
    }
}
