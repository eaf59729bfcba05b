//! Upgrade without loss: a ledger written by the release before schema 2 (format-1 records,
//! schema-1 events: tests/fixtures/v1, see its README) opens with this build, keeps its head
//! hash, verifies, answers as before, takes schema-2 events after it, and the mixed log
//! verifies offline from an export.

use std::path::{Path, PathBuf};

use golive_testkit::golive::{code, ok, repo_root, stdout};
use serde_json::Value;

use crate::GOLIVE;

fn fixture() -> PathBuf {
    repo_root().join("tests/fixtures/v1")
}

/// A writable copy of the fixture store (opening a store may write to it). Git does not keep
/// empty directories nor a file's 0600 mode: both are restored here as the release left them.
fn copy_store(to: &Path) -> PathBuf {
    let store = to.join("store");
    std::fs::create_dir_all(store.join("blobs")).unwrap();
    std::fs::create_dir_all(store.join("snapshots")).unwrap();
    for entry in std::fs::read_dir(fixture().join("store")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), store.join(entry.file_name())).unwrap();
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = store.join("audit-signing.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    store
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixture().join("expected").join(name)).unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Every field of `old` is in `new` with the same value (new fields may be added), with the
/// path of the first difference.
fn assert_superset(old: &Value, new: &Value, path: &str) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in o {
                let p = format!("{path}.{k}");
                let nv = n.get(k).unwrap_or_else(|| panic!("{p} is gone"));
                assert_superset(v, nv, &p);
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            assert_eq!(o.len(), n.len(), "{path}: length");
            for (i, (a, b)) in o.iter().zip(n).enumerate() {
                assert_superset(a, b, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(old, new, "{path}"),
    }
}

fn query(store: &Path, view: &str, extra: &[&str]) -> Value {
    let mut args = vec!["query", view, "--json"];
    args.extend_from_slice(extra);
    json(&stdout(&ok(GOLIVE.run_with_data(store, &args))))
}

/// The old money figures summed every status; the new headline leaves estimates beside it.
/// So, per trust and in total, old = headline + estimated, figure by figure.
fn assert_money_upcast(old: &Value, new: &Value) {
    let figures = [
        "extra_cost_pence",
        "income_at_risk_pence",
        "income_recovered_pence",
        "contract_penalty_pence",
        "net_cost_pence",
    ];
    let mut totals: Vec<(String, &Value, &Value)> =
        vec![("total".into(), &old["total"], &new["total"])];
    for (code, t) in old["trusts"].as_object().unwrap() {
        totals.push((code.clone(), &t["total"], &new["trusts"][code]["total"]));
    }
    for (who, o, n) in totals {
        for f in figures {
            let headline = n[f].as_i64().unwrap();
            let estimated = n["by_status"]["estimated"][f].as_i64().unwrap();
            assert_eq!(o[f].as_i64().unwrap(), headline + estimated, "{who} {f}");
        }
    }
}

#[test]
fn a_schema_1_ledger_opens_verifies_answers_as_before_and_takes_schema_2_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_store(dir.path());

    // Same head, and the whole chain verifies.
    let status = GOLIVE.status(&store);
    let want_hash = expected("status.txt")
        .lines()
        .find_map(|l| l.strip_prefix("head hash").map(|h| h.trim().to_owned()))
        .unwrap();
    assert_eq!(status["head_seq"], 89, "{status}");
    assert_eq!(status["head_hash"], want_hash.as_str(), "{status}");
    let verify = stdout(&ok(GOLIVE.run_with_data(&store, &["verify"])));
    assert_eq!(verify.trim(), expected("verify.txt").trim());

    // The views answer as the old release did for schema-1 figures (new fields may be added).
    for view in [
        "lost-patients",
        "rollout",
        "deferred",
        "incidents",
        "trusts",
    ] {
        let old = json(&expected(&format!("{view}.json")));
        assert_superset(&old, &query(&store, view, &[]), view);
    }
    assert_money_upcast(&json(&expected("money.json")), &query(&store, "money", &[]));
    assert_money_upcast(
        &json(&expected("money-as-of-seq-40.json")),
        &query(&store, "money", &["--as-of-seq", "40"]),
    );
    let letters = GOLIVE.dead_letters(&store);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["field"], "data.amount_pence");

    // Schema-2 events append after the schema-1 log. Not the `trust_key` examples: a key change
    // stands only with an admin's signature, which a file line cannot carry (ingest refuses it).
    let events = repo_root().join("docs/EVENTS.md");
    let schema2: Vec<String> = std::fs::read_to_string(events)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{') && l.contains("\"schema\":2"))
        .filter(|l| !l.contains("\"kind\":\"trust_key\""))
        .map(str::to_owned)
        .collect();
    assert!(schema2.len() >= 3, "docs/EVENTS.md has schema-2 examples");
    let input = dir.path().join("schema2.jsonl");
    std::fs::write(&input, schema2.join("\n") + "\n").unwrap();
    let out = GOLIVE.run_with_data(&store, &["ingest", input.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let status = GOLIVE.status(&store);
    assert_eq!(status["head_seq"], 89 + schema2.len() as u64, "{status}");
    ok(GOLIVE.run_with_data(&store, &["verify"]));

    // The mixed log verifies offline, and the old export is a prefix of the new one.
    let export = dir.path().join("mixed.jsonl");
    ok(GOLIVE.run_with_data(
        &store,
        &["audit", "export", "--out", export.to_str().unwrap()],
    ));
    let pubkey = std::fs::read_to_string(fixture().join("pubkey.txt")).unwrap();
    let verified = ok(GOLIVE.run(&[
        "audit",
        "verify",
        "--pubkey",
        pubkey.trim(),
        export.to_str().unwrap(),
    ]));
    assert!(
        stdout(&verified).starts_with("OK head seq"),
        "{}",
        stdout(&verified)
    );
    let old_export = fixture().join("export.jsonl");
    let compared = GOLIVE.run(&[
        "audit",
        "compare",
        old_export.to_str().unwrap(),
        export.to_str().unwrap(),
    ]);
    assert_eq!(code(&compared), 0, "{}", stdout(&compared));
    let old_lines: Vec<String> = std::fs::read_to_string(&old_export)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"event\":"))
        .map(str::to_owned)
        .collect();
    let new_text = std::fs::read_to_string(&export).unwrap();
    for line in &old_lines {
        assert!(
            new_text.contains(line.as_str()),
            "an old record line changed: {line}"
        );
    }
}
