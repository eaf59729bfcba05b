//! The claims kinds (schema 2 only): `assurance_claim`, `usage_reported`, `burden`,
//! `recovery_plan`. One test per rule, each naming the field and reason the publisher sees.

use golive_model::*;
use serde_json::{Value, json};

use crate::{accept, reject};

fn event(kind: &str, data: Value) -> Value {
    json!({
        "event_id": "5b0f3c8e-1d1e-4f5a-9c2b-3a7d6e9f0a11",
        "trust": "RAL",
        "collector": "ral-claims",
        "collector_seq": 1,
        "occurred_at": "2009-02-27T00:00:00Z",
        "recorded_at": "2009-02-27T12:00:00Z",
        "schema": 2,
        "kind": kind,
        "data": data,
        "sources": [{ "type": "parliament_answer", "ref": "Hansard, 27 Feb 2009" }],
        "status": "reported"
    })
}

fn claim() -> Value {
    event(
        "assurance_claim",
        json!({
            "claimant": { "type": "minister", "name": "Department of Health minister" },
            "claim": "fit_to_deploy",
            "statement": "The trust confirmed that the system was fit to be deployed."
        }),
    )
}

#[test]
fn a_claim_decodes_with_its_claimant_words_and_default_trust_scope() {
    let e = accept(&claim());
    let EventBody::AssuranceClaim(c) = &e.body else {
        panic!("not a claim: {e:?}")
    };
    assert_eq!(c.claimant.claimant_type, ClaimantType::Minister);
    assert_eq!(c.claim, ClaimType::FitToDeploy);
    assert_eq!(c.scope, RolloutScope::Trust);
    // The default scope is written out, so the canonical form says what the ledger read.
    let canonical = String::from_utf8(e.canonical_bytes()).unwrap();
    assert!(canonical.contains(r#""scope":"trust""#), "{canonical}");
}

#[test]
fn every_claim_rule_names_its_field() {
    // Proves: each malformed claim is refused at the field that is wrong.
    type Break = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Break, &str)> = vec![
        (
            "unknown claimant type",
            Box::new(|v| v["data"]["claimant"]["type"] = json!("journalist")),
            "data.claimant.type",
        ),
        (
            "blank claimant",
            Box::new(|v| v["data"]["claimant"]["name"] = json!("  ")),
            "data.claimant.name",
        ),
        (
            "no statement",
            Box::new(|v| {
                v["data"].as_object_mut().unwrap().remove("statement");
            }),
            "data.statement",
        ),
        (
            "statement too long",
            Box::new(|v| v["data"]["statement"] = json!("x".repeat(2001))),
            "data.statement",
        ),
        (
            "unknown claim",
            Box::new(|v| v["data"]["claim"] = json!("great")),
            "data.claim",
        ),
        (
            "programme scope, no programme",
            Box::new(|v| v["data"]["scope"] = json!("programme")),
            "data.programme",
        ),
        (
            "trust scope naming a programme",
            Box::new(|v| v["data"]["programme"] = json!("NPfIT")),
            "data.programme",
        ),
        (
            "extra field",
            Box::new(|v| v["data"]["verdict"] = json!("true")),
            "data.verdict",
        ),
        (
            "schema 1",
            Box::new(|v| {
                v["schema"] = json!(1);
                let s = v.as_object_mut().unwrap().remove("sources").unwrap();
                v["source"] = json!({"type": "press", "ref": s[0]["ref"]});
            }),
            "kind",
        ),
    ];
    for (what, break_it, field) in cases {
        let mut v = claim();
        break_it(&mut v);
        let (f, reason) = reject(&v);
        assert_eq!(f, field, "{what}: {reason}");
    }
    let mut v = claim();
    v["data"]["scope"] = json!("programme");
    v["data"]["programme"] = json!("London Programme for IT (NPfIT)");
    accept(&v);
}

#[test]
fn usage_is_an_integer_for_a_month_and_a_percentage_at_most_100() {
    let usage = |value: Value, metric: &str| {
        event(
            "usage_reported",
            json!({ "metric": metric, "value": value, "period": "2009-01" }),
        )
    };
    accept(&usage(json!(1500), "active_users"));
    accept(&usage(json!(100), "notes_electronic_pct"));
    assert_eq!(
        reject(&usage(json!(101), "notes_electronic_pct")).0,
        "data.value"
    );
    assert_eq!(reject(&usage(json!(1.5), "logins")).0, "data.value");
    assert_eq!(reject(&usage(json!(-1), "logins")).0, "data.value");
    assert_eq!(
        reject(&usage(json!(limits::FIGURE_MAX + 1), "logins")).0,
        "data.value"
    );
    assert_eq!(reject(&usage(json!(1), "happiness")).0, "data.metric");
    let mut v = usage(json!(1), "logins");
    v["data"]["period"] = json!("2009-13");
    assert_eq!(reject(&v).0, "data.period");
}

#[test]
fn a_burden_reports_at_least_one_integer_figure_and_a_ratio_names_its_task() {
    let burden = |data: Value| event("burden", data);
    accept(&burden(json!({ "period": "2009-02", "extra_staff": 40 })));
    accept(&burden(
        json!({ "period": "2009-02", "task_time_ratio_pct": 400, "task": "outpatient booking" }),
    ));
    let (f, r) = reject(&burden(json!({ "period": "2009-02" })));
    assert_eq!(f, "data");
    assert!(r.to_string().contains("at least one of"), "{r}");
    assert_eq!(
        reject(&burden(
            json!({ "period": "2009-02", "task_time_ratio_pct": 400 })
        )),
        ("data.task".to_owned(), Reason::Missing)
    );
    assert_eq!(
        reject(&burden(
            json!({ "period": "2009-02", "task_time_ratio_pct": 0, "task": "x" })
        ))
        .0,
        "data.task_time_ratio_pct"
    );
    assert_eq!(
        reject(&burden(
            json!({ "period": "2009-02", "task_time_ratio_pct": 10_001, "task": "x" })
        ))
        .0,
        "data.task_time_ratio_pct"
    );
    assert_eq!(
        reject(&burden(
            json!({ "period": "2009-02", "overtime_hours": 2.5 })
        ))
        .0,
        "data.overtime_hours"
    );
    assert_eq!(
        reject(&burden(
            json!({ "period": "2009-02", "workarounds": limits::FIGURE_MAX + 1 })
        ))
        .0,
        "data.workarounds"
    );
    assert_eq!(
        reject(&burden(json!({ "period": "2009-02", "happiness": 1 }))).0,
        "data.happiness"
    );
}

#[test]
fn a_recovery_plan_names_itself_and_its_state() {
    let plan = |data: Value| event("recovery_plan", data);
    let e = accept(&plan(
        json!({ "plan": "90-day recovery plan", "state": "open", "problems": 22, "due": "2009-01-04" }),
    ));
    assert_eq!(e.kind(), Kind::RecoveryPlan);
    assert_eq!(
        reject(&plan(json!({ "plan": "p", "state": "shelved" }))).0,
        "data.state"
    );
    assert_eq!(reject(&plan(json!({ "state": "open" }))).0, "data.plan");
    assert_eq!(
        reject(&plan(
            json!({ "plan": "p", "state": "open", "due": "2009-02-30" })
        ))
        .0,
        "data.due"
    );
}
