//! The `golive` binary end to end on a real on-disk ledger: what a user types, what they get.

use std::path::Path;

use crate::GOLIVE;
use golive_testkit::golive::{ok, oracle_money, scenario, scenario_len, stdout};
use serde_json::Value;

fn head_hash(data: &Path) -> String {
    let s: Value =
        serde_json::from_slice(&ok(GOLIVE.run_with_data(data, &["status", "--json"])).stdout)
            .unwrap();
    s["head_hash"].as_str().unwrap().to_owned()
}

#[test]
fn london_money_equals_the_sum_of_its_events_and_reingest_changes_nothing() {
    // Proves the Done-when lines: exact integer-pence sums per trust, and idempotent re-ingest.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let first = stdout(&ok(
        GOLIVE.run_with_data(&data, &["ingest", scenario().to_str().unwrap()])
    ));
    assert!(first.contains("0 rejected"), "{first}");
    let hash1 = head_hash(&data);
    for trust in ["RAL", "RNJ", "RVL"] {
        let v: Value = serde_json::from_slice(
            &ok(GOLIVE.run_with_data(&data, &["query", "money", "--trust", trust, "--json"]))
                .stdout,
        )
        .unwrap();
        let t = &v["trusts"][trust]["total"];
        let oracle = oracle_money(&scenario(), trust);
        let [extra, at_risk, recovered, penalty] = [
            "extra_cost_pence",
            "income_at_risk_pence",
            "income_recovered_pence",
            "contract_penalty_pence",
        ]
        .map(|field| oracle[field]);
        assert_eq!(t["extra_cost_pence"], extra, "{trust}");
        assert_eq!(t["income_at_risk_pence"], at_risk, "{trust}");
        assert_eq!(t["income_recovered_pence"], recovered, "{trust}");
        assert_eq!(t["contract_penalty_pence"], penalty, "{trust}");
        assert_eq!(
            t["net_cost_pence"],
            extra + at_risk - recovered + penalty,
            "{trust}"
        );
    }
    let before = ok(GOLIVE.run_with_data(&data, &["query", "money", "--json"])).stdout;
    let again = stdout(&ok(
        GOLIVE.run_with_data(&data, &["ingest", scenario().to_str().unwrap()])
    ));
    assert!(again.contains(" 0 appended"), "{again}");
    assert!(
        again.contains(&format!("{} duplicates skipped", scenario_len())),
        "{again}"
    );
    assert_eq!(head_hash(&data), hash1);
    assert_eq!(
        ok(GOLIVE.run_with_data(&data, &["query", "money", "--json"])).stdout,
        before
    );
    let v = stdout(&ok(GOLIVE.run_with_data(&data, &["verify"])));
    assert!(
        v.starts_with(&format!("OK head seq {}", scenario_len())),
        "{v}"
    );
}

#[test]
fn a_malformed_line_is_dead_lettered_with_line_and_field_and_the_rest_appended() {
    // Proves bad input gets a clear error naming line and field, lands in dead letters, and does
    // not stop the other lines.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let good: Vec<String> = std::fs::read_to_string(scenario())
        .unwrap()
        .lines()
        .take(3)
        .map(str::to_owned)
        .collect();
    let input = format!(
        "{}\n{}\n{{\"event_id\":\"not-a-uuid\",\"trust\":\"???\",\"kind\":\"extra_cost\"}}\n{}\nnot json at all\n",
        good[0], good[1], good[2]
    );
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, input).unwrap();
    let o = GOLIVE.run_with_data(&data, &["ingest", file.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "exit code 3 means some lines were rejected"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("line 3: event_id: `not-a-uuid` is not a UUID"),
        "{err}"
    );
    assert!(
        err.contains("line 5: (message): message is not valid JSON"),
        "{err}"
    );
    assert!(stdout(&o).contains("3 appended"), "{}", stdout(&o));
    let dl = stdout(&ok(GOLIVE.run_with_data(&data, &["dead-letters", "--json"])));
    let rows: Vec<Value> = dl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0]["origin"].as_str().unwrap().ends_with("in.jsonl:3"));
    assert_eq!(rows[0]["field"], "event_id");
    assert!(rows[0]["raw"].as_str().unwrap().contains("not-a-uuid"));
    assert!(rows[1]["origin"].as_str().unwrap().ends_with("in.jsonl:5"));
}

#[test]
fn malformed_claims_usage_and_burden_are_dead_lettered_with_the_field_named() {
    // Proves: each malformed event of the claims kinds is refused at the field that is wrong,
    // lands in dead letters with its raw bytes, and the good one after them is appended.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let event = |n: u32, kind: &str, data: Value| {
        serde_json::json!({
            "event_id": format!("5b0f3c8e-1d1e-4f5a-9c2b-3a7d6e9f0a{n:02}"),
            "trust": "RAL", "collector": "ral-claims", "collector_seq": n,
            "occurred_at": "2009-02-27T00:00:00Z", "recorded_at": "2009-02-27T12:00:00Z",
            "schema": 2, "kind": kind, "data": data,
            "sources": [{"type": "parliament_answer", "ref": "Hansard, 27 Feb 2009"}],
            "status": "reported"
        })
        .to_string()
    };
    let claimant = serde_json::json!({"type": "minister", "name": "a minister"});
    let lines = [
        event(
            1,
            "assurance_claim",
            serde_json::json!({"claimant": claimant, "claim": "fit_to_deploy"}),
        ),
        event(
            2,
            "usage_reported",
            serde_json::json!({"metric": "notes_electronic_pct", "value": 140, "period": "2009-02"}),
        ),
        event(3, "burden", serde_json::json!({"period": "2009-02"})),
        event(
            4,
            "burden",
            serde_json::json!({"period": "2009-02", "task_time_ratio_pct": 400}),
        ),
        event(
            5,
            "assurance_claim",
            serde_json::json!({"claimant": {"type": "pundit", "name": "x"}, "claim": "stable", "statement": "fine"}),
        ),
        event(
            6,
            "burden",
            serde_json::json!({"period": "2009-02", "extra_staff": 40}),
        ),
    ];
    let file = dir.path().join("claims.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let o = GOLIVE.run_with_data(&data, &["ingest", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "some lines were rejected");
    assert!(stdout(&o).contains("1 appended"), "{}", stdout(&o));
    let dl = stdout(&ok(GOLIVE.run_with_data(&data, &["dead-letters", "--json"])));
    let fields: Vec<String> = dl
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["field"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        fields,
        [
            "data.statement",
            "data.value",
            "data",
            "data.task",
            "data.claimant.type"
        ]
    );
}

#[test]
fn as_of_a_sequence_equals_a_ledger_that_only_ever_saw_that_prefix() {
    // Proves as-of answers (snapshot + replay) equal a fresh ledger cut at the same sequence,
    // and that `replay` (a rebuild from the log) changes no answer.
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    let config = dir.path().join("golive.toml");
    // Snapshots every 7 events so that as-of answers start from a snapshot.
    std::fs::write(&config, "[ledger]\nsnapshot_every_events = 7\n").unwrap();
    let cfg = ["--config", config.to_str().unwrap()];
    let ingest = |data: &Path, file: &Path| {
        let mut args = vec!["ingest", file.to_str().unwrap()];
        args.extend_from_slice(&cfg);
        ok(GOLIVE.run_with_data(data, &args))
    };
    ingest(&full, &scenario());
    let lines: Vec<String> = std::fs::read_to_string(scenario())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    for cut in [1usize, 20, 45, 84] {
        let part = dir.path().join(format!("part-{cut}.jsonl"));
        std::fs::write(&part, lines[..cut].join("\n")).unwrap();
        let prefix = dir.path().join(format!("prefix-{cut}"));
        ingest(&prefix, &part);
        for what in [
            "money",
            "lost-patients",
            "rollout",
            "warnings",
            "deferred",
            "incidents",
        ] {
            let cut_s = cut.to_string();
            let as_of =
                ok(GOLIVE.run_with_data(&full, &["query", what, "--json", "--as-of-seq", &cut_s]))
                    .stdout;
            let fresh = ok(GOLIVE.run_with_data(&prefix, &["query", what, "--json"])).stdout;
            assert_eq!(
                String::from_utf8_lossy(&as_of),
                String::from_utf8_lossy(&fresh),
                "{what} as of {cut}"
            );
        }
    }
    let before = ok(GOLIVE.run_with_data(&full, &["query", "warnings", "--json"])).stdout;
    let r = stdout(&ok(GOLIVE.run_with_data(&full, &["replay"])));
    assert!(
        r.starts_with(&format!("replayed {} records", scenario_len())),
        "{r}"
    );
    assert_eq!(
        ok(GOLIVE.run_with_data(&full, &["query", "warnings", "--json"])).stdout,
        before
    );
}

#[test]
fn bad_query_parameters_get_clear_errors() {
    // Proves a wrong trust code, an unknown trust and a sequence past the head are refused with
    // a message that says what is wrong, not a panic or an empty answer.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    ok(GOLIVE.run_with_data(&data, &["ingest", scenario().to_str().unwrap()]));
    let e = GOLIVE.run_with_data(&data, &["query", "money", "--trust", "ral"]);
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("not an ODS code"));
    let e = GOLIVE.run_with_data(&data, &["query", "money", "--trust", "ZZZ"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("no events"));
    let e = GOLIVE.run_with_data(&data, &["query", "money", "--as-of-seq", "1000"]);
    assert!(
        String::from_utf8_lossy(&e.stderr)
            .contains(&format!("beyond the ledger's head ({})", scenario_len()))
    );
}

#[test]
fn simulate_is_deterministic_and_ingests_cleanly() {
    // Proves `simulate` gives the same bytes for the same seed and only events the ledger accepts.
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    let data = dir.path().join("ledger");
    for f in [&a, &b] {
        ok(GOLIVE.run_with_data(
            &data,
            &[
                "simulate",
                "--seed",
                "42",
                "--trusts",
                "6",
                "--events",
                "2000",
                "--out",
                f.to_str().unwrap(),
            ],
        ));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let out = stdout(&ok(
        GOLIVE.run_with_data(&data, &["ingest", a.to_str().unwrap()])
    ));
    assert!(out.contains("2000 appended"), "{out}");
    let w = stdout(&ok(GOLIVE.run_with_data(&data, &["query", "warnings"])));
    assert!(w.contains("trusts halt-recommended"), "{w}");
}

/// `golive query VIEW --json` (plus `args`) of the ledger at `data`, as JSON.
fn query_json(data: &Path, view: &str, args: &[&str]) -> Value {
    let mut all = vec!["query", view, "--json"];
    all.extend_from_slice(args);
    serde_json::from_slice(&ok(GOLIVE.run_with_data(data, &all)).stdout).unwrap()
}

#[test]
fn exclude_synthetic_answers_as_a_ledger_of_the_sourced_events_alone() {
    // Proves the Done-when line: `query money --exclude-synthetic --json` of London plus a
    // simulated feed equals `query money --json` of a ledger given only the non-synthetic events
    // (of both files), and so for every view; without the flag the answer says how much of each
    // figure is synthetic, and the tables mark the simulated trusts.
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim.jsonl");
    let (mixed, sourced) = (dir.path().join("mixed"), dir.path().join("sourced"));
    let args = [
        "simulate", "--seed", "3", "--trusts", "3", "--events", "400",
    ];
    let mut args: Vec<&str> = args.to_vec();
    args.extend(["--out", sim.to_str().unwrap()]);
    ok(GOLIVE.run_with_data(&mixed, &args));
    let mut kept = String::new();
    for file in [scenario(), sim.clone()] {
        let text = std::fs::read_to_string(&file).unwrap();
        ok(GOLIVE.run_with_data(&mixed, &["ingest", file.to_str().unwrap()]));
        for line in text.lines() {
            let e: Value = serde_json::from_str(line).unwrap();
            let sources = e["sources"].as_array().unwrap();
            if !sources.iter().all(|s| s["type"] == "synthetic") {
                kept.push_str(line);
                kept.push('\n');
            }
        }
    }
    let kept_file = dir.path().join("kept.jsonl");
    std::fs::write(&kept_file, &kept).unwrap();
    ok(GOLIVE.run_with_data(&sourced, &["ingest", kept_file.to_str().unwrap()]));
    let without = |mut v: Value| {
        v.as_object_mut().unwrap().remove("synthetic");
        v
    };
    for view in [
        "money",
        "lost-patients",
        "rollout",
        "warnings",
        "incidents",
        "coverage",
    ] {
        let a = query_json(&mixed, view, &["--exclude-synthetic"]);
        assert_eq!(a["synthetic"]["excluded"], true, "{view}");
        assert!(a["synthetic"]["events"].as_u64().unwrap() > 400, "{view}");
        let b = query_json(&sourced, view, &[]);
        assert_eq!(b["synthetic"]["events"], 0, "{view}");
        assert_eq!(without(a), without(b), "{view}");
    }
    // Without the flag: the simulated trusts and the total carry a synthetic share.
    let m = query_json(&mixed, "money", &[]);
    let s = &m["synthetic"];
    assert_eq!(s["affected"], true);
    assert_eq!(
        s["share"]["trusts"]["ZZ001"],
        serde_json::json!({"sourced_only": null})
    );
    assert!(s["share"]["trusts"].get("RAL").is_none(), "{s}");
    let sourced_net = query_json(&sourced, "money", &[])["total"]["net_cost_pence"].clone();
    assert_eq!(
        m["total"]["net_cost_pence"].as_i64().unwrap()
            - s["share"]["total"]["net_cost_pence"].as_i64().unwrap(),
        sourced_net.as_i64().unwrap()
    );
    let table = stdout(&ok(GOLIVE.run_with_data(&mixed, &["query", "money"])));
    assert!(table.lines().any(|l| l.starts_with("ZZ001*")), "{table}");
    assert!(table.lines().any(|l| l.starts_with("RAL ")), "{table}");
    assert!(
        table.contains("includes synthetic (simulated) data"),
        "{table}"
    );
    let table = stdout(&ok(
        GOLIVE.run_with_data(&mixed, &["query", "money", "--exclude-synthetic"])
    ));
    assert!(!table.contains("ZZ001"), "{table}");
    assert!(table.contains("sourced figures only"), "{table}");
}

/// `golive collect --dry-run --json` of `file` through `mapping`: the object it prints.
fn dry_run(file: &Path, mapping: &Path) -> Value {
    let o = GOLIVE.run(&[
        "collect",
        file.to_str().unwrap(),
        "--map",
        mapping.to_str().unwrap(),
        "--dry-run",
        "--json",
    ]);
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

#[test]
fn a_finance_workbook_dry_runs_to_the_events_of_its_csv() {
    // Proves: the finance sample saved as an Excel workbook (its amounts as numbers, as a
    // finance spreadsheet holds them) is read through the same mapping by `collect --dry-run`
    // and would publish the same events (ids and figures) as the CSV.
    use golive_report::{Cell, Column, Cover, Table, write_xlsx};
    let dir = tempfile::tempdir().unwrap();
    let root = golive_testkit::golive::repo_root();
    let csv_path = root.join("samples/finance.csv");
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let header: Vec<&'static str> = rdr
        .headers()
        .unwrap()
        .iter()
        .map(|h| &*Box::leak(h.to_owned().into_boxed_str()))
        .collect();
    let columns: Vec<Column> = header.iter().map(|h| Column::plain(h)).collect();
    let mut sheet = Table::new("finance", &columns);
    for row in rdr.records() {
        let row = row.unwrap();
        sheet.push(
            row.iter()
                .enumerate()
                .map(|(i, c)| match header[i] {
                    "Amount" => Cell::Decimal(c.replace(['£', ','], "").parse().unwrap()),
                    _ => Cell::text(c),
                })
                .collect(),
        );
    }
    let book = dir.path().join("finance-nov.xlsx");
    std::fs::write(&book, write_xlsx(&Cover::default(), &[sheet]).unwrap()).unwrap();
    let mapping = dir.path().join("finance.toml");
    let shipped = std::fs::read_to_string(root.join("deploy/feeds/finance.toml")).unwrap();
    std::fs::write(&mapping, format!("sheet = \"finance\"\n{shipped}")).unwrap();
    let (from_book, from_csv) = (dry_run(&book, &mapping), dry_run(&csv_path, &mapping));
    assert_eq!(from_book["rejected"], 0, "{from_book}");
    let events = |v: &Value| -> Vec<(Value, Value)> {
        v["would_publish"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["event"]["event_id"].clone(), e["event"]["data"].clone()))
            .collect()
    };
    assert!(!events(&from_csv).is_empty());
    assert_eq!(events(&from_book), events(&from_csv));
}
