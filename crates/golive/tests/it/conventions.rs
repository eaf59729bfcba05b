//! The command line's conventions for scripts, through the binary: every exit code of the table
//! (`golive --help`, README.md) for the condition it names, one JSON object per `--json`
//! command, shell completions and man pages.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::GOLIVE;
use golive_testkit::golive::repo_root;
use golive_testkit::golive::{code, ok, scenario, stdout};
use serde_json::Value;

// A ledger with the London scenario, its public key and an export of it: the audit tests'.
use super::audit::{Fixture as Ledger, fixture as ledger};

/// A copy of the export with one amount changed by a penny.
fn tampered(l: &Ledger) -> PathBuf {
    let text = std::fs::read_to_string(&l.export).unwrap();
    let at = text.find("\"amount_pence\":").unwrap() + "\"amount_pence\":".len();
    let end = at + text[at..].find(|c: char| !c.is_ascii_digit()).unwrap();
    let amount: u64 = text[at..end].parse().unwrap();
    let bad = l.dir.path().join("tampered.jsonl");
    std::fs::write(
        &bad,
        format!("{}{}{}", &text[..at], amount + 1, &text[end..]),
    )
    .unwrap();
    bad
}

fn audit_verify(l: &Ledger, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "audit",
        "verify",
        "--export",
        file.to_str().unwrap(),
        "--pubkey",
        &l.pubkey,
    ];
    args.extend_from_slice(extra);
    GOLIVE.run(&args)
}

/// The one JSON object a `--json` command printed.
fn one_object(o: &Output) -> Value {
    let text = stdout(o);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(v.is_object(), "{text}");
    v
}

/// The exit-code table of `golive --help`: (code, name, meaning) per row.
fn help_table() -> Vec<(u8, String, String)> {
    let help = stdout(&ok(GOLIVE.run(&["--help"])));
    let table = help
        .split("Exit codes:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no exit codes in --help:\n{help}"));
    table
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let code = words.next()?.parse().ok()?;
            let name = words.next()?.to_owned();
            Some((code, name, words.collect::<Vec<_>>().join(" ")))
        })
        .collect()
}

/// README.md's table of exit codes, as (code, name, meaning).
fn readme_table() -> Vec<(u8, String, String)> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<String> = l
                .replace("\\|", "\u{0}")
                .split('|')
                .map(|c| c.trim().replace('\u{0}', "|"))
                .collect();
            let code = cells.get(1)?.parse().ok()?;
            let name = cells.get(2)?;
            (name.chars().all(|c| c.is_ascii_uppercase() || c == '_')).then(|| {
                (
                    code,
                    name.clone(),
                    cells.get(3).cloned().unwrap_or_default(),
                )
            })
        })
        .collect()
}

#[test]
fn the_exit_code_table_is_the_same_in_help_and_readme_and_each_code_is_its_own() {
    // Proves the table is documented twice alike (`golive --help` and README.md), codes 0 to 8
    // once each, the usage code apart from TAMPERED.
    let help = help_table();
    assert_eq!(help, readme_table());
    let codes: Vec<u8> = help.iter().map(|r| r.0).collect();
    assert_eq!(codes, (0..=8).collect::<Vec<u8>>());
    let names: Vec<&str> = help.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        names,
        [
            "OK",
            "ERROR",
            "USAGE",
            "REJECTED",
            "PENDING",
            "REFUSED",
            "COULD_NOT_READ",
            "DIVERGED",
            "TAMPERED"
        ]
    );
}

#[test]
fn each_exit_code_is_what_its_condition_exits_with() {
    // Proves each row of the table on the binary (REFUSED, which needs a NATS server with
    // per-trust permissions, is tested in tests/process/nats_auth.rs): in particular a mistyped
    // flag (2) and a tampered export (8) differ, as the issue asks.
    let l = ledger();
    assert_eq!(code(&audit_verify(&l, &l.export, &[])), 0);
    let bad_config = l.dir.path().join("no-such-config.toml");
    let o = GOLIVE.run(&["status", "--config", bad_config.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let usage = GOLIVE.run(&["audit", "verify", "--no-such-flag"]);
    assert_eq!(code(&usage), 2);
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--no-such-flag"));
    assert_eq!(code(&GOLIVE.run(&["collect"])), 2, "an input is required");
    assert_eq!(code(&GOLIVE.run(&["query", "nonsense"])), 2);
    assert_eq!(code(&GOLIVE.run(&["--help"])), 0);

    let lines = l.dir.path().join("bad.jsonl");
    std::fs::write(&lines, "not json\n").unwrap();
    let o = GOLIVE.run_with_data(&l.data, &["ingest", lines.to_str().unwrap()]);
    assert_eq!(code(&o), 3);

    // A collector whose NATS never answers gives up waiting for receipts.
    let nowhere = format!("nats://127.0.0.1:{}", golive_testkit::free_port());
    let outbox = l.dir.path().join("outbox");
    let o = GOLIVE.run(&[
        "collect",
        scenario().to_str().unwrap(),
        "--data",
        outbox.to_str().unwrap(),
        "--nats",
        &nowhere,
        "--wait-receipts-secs",
        "1",
    ]);
    assert_eq!(code(&o), 4, "{}", String::from_utf8_lossy(&o.stderr));

    let missing = l.dir.path().join("missing.jsonl");
    assert_eq!(code(&audit_verify(&l, &missing, &[])), 6);
    let bad = tampered(&l);
    let compare = |a: &Path, b: &Path| {
        GOLIVE.run(&["audit", "compare", a.to_str().unwrap(), b.to_str().unwrap()])
    };
    assert_eq!(code(&compare(&l.export, &l.export)), 0);
    assert_eq!(code(&compare(&l.export, &missing)), 6);
    assert_eq!(code(&compare(&l.export, &bad)), 7);
    let o = audit_verify(&l, &bad, &[]);
    assert_eq!(code(&o), 8, "{}", stdout(&o));
    assert!(stdout(&o).starts_with("TAMPERED at seq "), "{}", stdout(&o));
    let repaired = l.dir.path().join("repaired");
    let o = GOLIVE.run_with_data(
        &repaired,
        &[
            "repair",
            "--from-export",
            bad.to_str().unwrap(),
            "--pubkey",
            &l.pubkey,
        ],
    );
    assert_eq!(code(&o), 8, "a tampered export is not repaired from");
}

#[test]
fn json_is_one_object_on_each_command_that_takes_it() {
    // Proves `--json` on verify, audit verify, audit compare, ingest, replay, collect and collect
    // --status: one JSON object on stdout with the documented fields, and the same exit code as
    // the text.
    let l = ledger();
    let data = l.data.to_str().unwrap();
    let v = one_object(&ok(GOLIVE.run(&["verify", "--json", "--data", data])));
    assert_eq!(v["result"], "verified");
    assert_eq!(v["head_seq"], golive_testkit::golive::scenario_len());
    assert_eq!(v["head_hash"].as_str().unwrap().len(), 64);

    let v = one_object(&ok(audit_verify(&l, &l.export, &["--json"])));
    assert_eq!(v["result"], "verified");
    let o = audit_verify(&l, &tampered(&l), &["--json"]);
    assert_eq!(code(&o), 8);
    let v = one_object(&o);
    assert_eq!(v["result"], "tampered");
    assert!(v["problem"]["seq"].as_u64().unwrap() > 0, "{v}");

    let export = l.export.to_str().unwrap();
    let v = one_object(&ok(
        GOLIVE.run(&["audit", "compare", export, data, "--json"])
    ));
    assert_eq!(v["result"], "identical", "{v}");
    assert_eq!(v["a"], export);
    assert_eq!(v["head_seq"], golive_testkit::golive::scenario_len());
    let o = GOLIVE.run(&[
        "audit",
        "compare",
        export,
        "/no/such/ledger.jsonl",
        "--json",
    ]);
    assert_eq!(code(&o), 6);
    assert_eq!(one_object(&o)["result"], "could_not_read");

    let o = GOLIVE.run(&[
        "ingest",
        scenario().to_str().unwrap(),
        "--json",
        "--data",
        data,
    ]);
    let v = one_object(&ok(o));
    assert_eq!(v["appended"], 0);
    assert_eq!(v["duplicates"], golive_testkit::golive::scenario_len());
    assert_eq!(v["rejections"], serde_json::json!([]));
    let lines = l.dir.path().join("bad.jsonl");
    std::fs::write(&lines, "not json\n").unwrap();
    let o = GOLIVE.run(&["ingest", lines.to_str().unwrap(), "--json", "--data", data]);
    assert_eq!(code(&o), 3);
    let v = one_object(&o);
    assert_eq!(v["rejected"], 1);
    assert_eq!(v["rejections"][0]["line"], 1);
    assert!(o.stderr.is_empty(), "the rejections are in the object");

    let v = one_object(&ok(GOLIVE.run(&["replay", "--json", "--data", data])));
    assert_eq!(v["records"], golive_testkit::golive::scenario_len());
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);

    // A collector whose NATS never answers keeps every event in its outbox.
    let outbox = l.dir.path().join("outbox");
    let nowhere = format!("nats://127.0.0.1:{}", golive_testkit::free_port());
    let feed = scenario();
    let o = GOLIVE.run(&[
        "collect",
        feed.to_str().unwrap(),
        "--data",
        outbox.to_str().unwrap(),
        "--nats",
        &nowhere,
        "--wait-receipts-secs",
        "1",
        "--json",
    ]);
    assert_eq!(code(&o), 4);
    let v = one_object(&o);
    assert_eq!(v["outcome"], "receipt_wait_elapsed");
    let events = golive_testkit::golive::scenario_len();
    assert_eq!(v["pending_at_exit"], events);
    let status = [
        "collect",
        "--status",
        "--json",
        "--data",
        outbox.to_str().unwrap(),
    ];
    let v = one_object(&ok(GOLIVE.run(&status)));
    assert_eq!(v["pending"], events);
    assert_eq!(v["never_published"], events);
    assert_eq!(v["rejected_by_ledger"], serde_json::json!([]));
}

#[test]
fn completions_and_man_pages_come_from_the_command_line_itself() {
    // Proves `golive completions bash|zsh|fish` prints a script naming the subcommands, and
    // `golive man --out DIR` writes golive.1 and one page per subcommand.
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&ok(GOLIVE.run(&["completions", shell])));
        for word in ["golive", "audit", "verify", "--json", "completions"] {
            assert!(script.contains(word), "{shell}: {word}");
        }
    }
    assert_eq!(code(&GOLIVE.run(&["completions", "tcsh"])), 2);
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man1");
    ok(GOLIVE.run(&["man", "--out", man.to_str().unwrap()]));
    for page in [
        "golive.1",
        "golive-audit.1",
        "golive-audit-verify.1",
        "golive-serve.1",
    ] {
        let text =
            std::fs::read_to_string(man.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}: {text}"
        );
    }
    let top = std::fs::read_to_string(man.join("golive.1")).unwrap();
    assert!(top.contains("TAMPERED"), "the exit codes are in the page");
}
