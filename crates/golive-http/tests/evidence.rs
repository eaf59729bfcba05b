//! The evidence behind a figure over HTTP, on the London scenario: `?evidence=true` lists per
//! line the events in force whose parts add up to the line (at the head, as of a past seq and
//! known at a time), never a corrected event; a line is paged without losing an event; and
//! `GET /v1/events/{id}` says of an event whether it stands, which correction replaced it, what
//! it corrects and what disputes it.

mod common;

use common::{get, london_state as state, scenario_events};
use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use golive_http::AppState;
use golive_model::{Envelope, Relation};
use serde_json::Value;

async fn ok(state: &AppState, uri: &str) -> Value {
    let (status, v) = get(state, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {v}");
    v
}

fn lines(v: &Value) -> &Vec<Value> {
    v["evidence"]["lines"].as_array().expect("evidence lines")
}

fn net_line<'a>(v: &'a Value, trust: &str) -> &'a Value {
    lines(v)
        .iter()
        .find(|l| l["line"] == serde_json::json!({"trust": trust, "measure": "net_cost"}))
        .unwrap_or_else(|| panic!("no net-cost line of {trust}"))
}

/// Every line's listed parts add up to its amount (the page is the whole line here), and every
/// event listed is one of `seqs`.
fn assert_lines_add_up(v: &Value, allowed: &BTreeSet<u64>) {
    for l in lines(v) {
        let events = l["events"].as_array().unwrap();
        assert_eq!(l["events_total"].as_u64(), Some(events.len() as u64));
        let parts: i64 = events
            .iter()
            .map(|e| e["part_pence"].as_i64().unwrap())
            .sum();
        assert_eq!(Some(parts), l["amount_pence"].as_i64(), "{}", l["line"]);
        for e in events {
            let seq = e["seq"].as_u64().unwrap();
            assert!(allowed.contains(&seq), "seq {seq} listed in {}", l["line"]);
            assert!(!e["sources"].as_array().unwrap().is_empty());
        }
    }
}

#[tokio::test]
async fn money_evidence_adds_up_at_the_head_as_of_and_known_at_and_never_lists_a_corrected_event() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let events = scenario_events();
    let corrected: BTreeSet<u64> = events
        .iter()
        .filter_map(|e| e.supersedes)
        .map(|id| events.iter().position(|e| e.event_id == id).unwrap() as u64 + 1)
        .collect();
    assert!(!corrected.is_empty(), "the scenario has corrections");
    // The events in force up to `upto` (known by `known`): those recorded in time, less those
    // whose correction is among them.
    let recorded = |s: u64| golive_model::format_time(&events[s as usize - 1].recorded_at);
    let standing = |upto: u64, known: Option<&str>| -> BTreeSet<u64> {
        let counts = |s: u64| s <= upto && known.is_none_or(|k| recorded(s).as_str() <= k);
        (1..=upto)
            .filter(|s| counts(*s))
            .filter(|s| !corrected.contains(s) || !counts(correction_seq(&events, *s)))
            .collect()
    };
    let head = events.len() as u64;
    let known = "2009-01-11T00:00:00Z";
    for (q, upto, k) in [
        ("", head, None),
        ("&as_of_seq=100", 100, None),
        ("&known_at=2009-01-11T00:00:00Z", head, Some(known)),
    ] {
        let v = ok(
            &st,
            &format!("/v1/money?trust=RAL&evidence=true&evidence_limit=1000{q}"),
        )
        .await;
        let net = net_line(&v, "RAL");
        assert_eq!(
            net["amount_pence"], v["data"]["trusts"]["RAL"]["total"]["net_cost_pence"],
            "{q}"
        );
        assert!(lines(&v).iter().all(|l| l["line"]["trust"] == "RAL"));
        assert_lines_add_up(&v, &standing(upto, k));
    }
    // The whole programme: a net-cost line per trust with money, adding up to its net cost.
    let v = ok(&st, "/v1/money?evidence=true&evidence_limit=1000").await;
    for (code, t) in v["data"]["trusts"].as_object().unwrap() {
        if t["total"]["net_cost_pence"] != 0 {
            assert_eq!(
                net_line(&v, code)["amount_pence"],
                t["total"]["net_cost_pence"]
            );
        }
    }
    assert_lines_add_up(&v, &standing(head, None));
    // The same question without evidence is answered without it (cached apart).
    let plain = ok(&st, "/v1/money").await;
    assert!(plain.get("evidence").is_none());
    assert_eq!(plain["data"], v["data"]);
}

/// The seq of the correction of the event at `seq`.
fn correction_seq(events: &[Envelope], seq: u64) -> u64 {
    let id = events[seq as usize - 1].event_id;
    events
        .iter()
        .position(|e| e.supersedes == Some(id))
        .unwrap() as u64
        + 1
}

#[tokio::test]
async fn a_line_is_paged_and_the_pages_together_are_the_whole_line() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let whole = ok(&st, "/v1/money?trust=RAL&evidence=true&evidence_limit=1000").await;
    let all: Vec<Value> = net_line(&whole, "RAL")["events"]
        .as_array()
        .unwrap()
        .clone();
    assert!(all.len() >= 2, "RAL's net cost is made of several events");
    let mut paged = Vec::new();
    for offset in 0..all.len() + 1 {
        let v = ok(
            &st,
            &format!("/v1/money?trust=RAL&evidence=true&evidence_limit=1&evidence_offset={offset}"),
        )
        .await;
        let net = net_line(&v, "RAL");
        assert_eq!(net["events_total"].as_u64(), Some(all.len() as u64));
        assert_eq!(net["amount_pence"], net_line(&whole, "RAL")["amount_pence"]);
        paged.extend(net["events"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(paged, all);
}

#[tokio::test]
async fn an_event_says_if_it_stands_what_corrected_it_what_it_corrects_and_what_disputes_it() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let events = scenario_events();
    let seq_of: HashMap<_, _> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.event_id, i as u64 + 1))
        .collect();
    let fix = events.iter().find(|e| e.supersedes.is_some()).unwrap();
    let old = fix.supersedes.unwrap();

    let v = ok(&st, &format!("/v1/events/{old}")).await;
    assert_eq!(v["in_force"], false);
    assert_eq!(v["seq"].as_u64(), Some(seq_of[&old]));
    assert_eq!(v["corrected_by"][0]["event_id"], fix.event_id.to_string());
    assert_eq!(
        v["corrected_by"][0]["seq"].as_u64(),
        Some(seq_of[&fix.event_id])
    );
    assert_eq!(v["event"]["event_id"], old.to_string());
    assert!(!v["event"]["sources"].as_array().unwrap().is_empty());

    let v = ok(&st, &format!("/v1/events/{}", fix.event_id)).await;
    assert_eq!(v["in_force"], true);
    assert_eq!(v["corrects"]["event_id"], old.to_string());
    assert_eq!(v["corrects"]["seq"].as_u64(), Some(seq_of[&old]));
    assert_eq!(v["corrected_by"], serde_json::json!([]));

    let dispute = events
        .iter()
        .find(|e| {
            e.relates_to
                .as_ref()
                .is_some_and(|r| r.relation == Relation::Disputes)
        })
        .expect("the scenario has a dispute");
    let target = dispute.relates_to.as_ref().unwrap().event_id;
    let v = ok(&st, &format!("/v1/events/{}", dispute.event_id)).await;
    assert_eq!(v["relates_to"]["event_id"], target.to_string());
    assert_eq!(v["relates_to"]["relation"], "disputes");
    let v = ok(&st, &format!("/v1/events/{target}")).await;
    let related = v["related"].as_array().unwrap();
    assert!(
        related
            .iter()
            .any(|r| r["event_id"] == dispute.event_id.to_string() && r["relation"] == "disputes"),
        "{related:?}"
    );
}

#[tokio::test]
async fn an_open_case_lists_its_lost_event_with_its_sources() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let v = ok(&st, "/v1/lost-patients?evidence=true").await;
    let mut cases = 0;
    for (code, t) in v["data"]["trusts"].as_object().unwrap() {
        for c in t["open_cases"].as_array().unwrap() {
            let l = lines(&v)
                .iter()
                .find(|l| {
                    l["line"]["trust"] == *code && l["line"]["patient_ref"] == c["patient_ref"]
                })
                .unwrap_or_else(|| panic!("no line for {code} {}", c["patient_ref"]));
            let ids: Vec<&Value> = l["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["event_id"])
                .collect();
            assert!(ids.contains(&&c["event_id"]), "{ids:?}");
            assert!(l.get("amount_pence").is_none());
            cases += 1;
        }
    }
    assert_eq!(cases, lines(&v).len(), "one line per open case");
}
