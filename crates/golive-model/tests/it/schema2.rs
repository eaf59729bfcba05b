//! Schema 2: plural graded sources, links, attribution, money periods and states, harm that can
//! be unknown, programme rosters; and schema 1 kept exactly as it was. One test per rule, each
//! naming the field and reason the publisher sees.

use golive_model::*;
use serde_json::{Value, json};

use crate::{accept, reject};

/// A valid schema-2 `extra_cost`; each test breaks one thing in it.
fn base2() -> Value {
    json!({
        "event_id": "3a0c2f6d-9a01-4e7a-9d55-0b0e8f8e1c1a",
        "trust": "RNJ",
        "collector": "rnj-board",
        "collector_seq": 9,
        "occurred_at": "2009-10-22T00:00:00Z",
        "recorded_at": "2009-10-22T18:00:00Z",
        "schema": 2,
        "kind": "contract_penalty",
        "data": {
            "commissioner": "NHS Tower Hamlets",
            "amount_pence": 40_000_000,
            "period": "2009-10",
            "state": "threatened"
        },
        "sources": [
            { "type": "parliament_debate", "ref": "Richard Bacon MP, House of Commons, 22 Oct 2009",
              "published_at": "2009-10-22" },
            { "type": "press", "ref": "E-Health Insider, \"Barts faces fines over Cerner problems\", Oct 2009",
              "url": "https://www.digitalhealth.net/2009/10/barts-faces-fines/" }
        ],
        "status": "reported",
        "relates_to": { "event_id": "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "relation": "corroborates" },
        "attribution": { "by": "Richard Bacon MP", "stance": "attributes_to_system" }
    })
}

fn money2(kind: &str, data: Value) -> Value {
    let mut v = base2();
    v["kind"] = json!(kind);
    v["data"] = data;
    v
}

#[test]
fn a_full_schema_2_event_decodes_with_every_new_field() {
    // Proves: sources (with published_at and url), relates_to, attribution and a penalty's
    // state are read, and the canonical bytes keep the documented field order.
    let e = accept(&base2());
    assert_eq!(e.schema, SCHEMA_2);
    assert_eq!(e.sources.len(), 2);
    assert_eq!(e.sources[0].source_type, SourceType::ParliamentDebate);
    assert_eq!(e.sources[0].published_at.unwrap().to_string(), "2009-10-22");
    assert_eq!(
        e.relates_to.as_ref().unwrap().relation,
        Relation::Corroborates
    );
    assert_eq!(
        e.attribution.as_ref().unwrap().stance,
        Stance::AttributesToSystem
    );
    match &e.body {
        EventBody::ContractPenalty(d) => assert_eq!(d.state(), PenaltyState::Threatened),
        other => panic!("{other:?}"),
    }
    let text = String::from_utf8(e.canonical_bytes()).unwrap();
    let order = [
        "\"data\"",
        "\"sources\"",
        "\"status\"",
        "\"relates_to\"",
        "\"attribution\"",
    ];
    let at: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(!text.contains("\"source\":"), "{text}");
}

#[test]
fn schema_1_reads_its_source_as_a_list_and_writes_it_back_unchanged() {
    // Proves: the one upcast of schema 1 (`source` -> a one-element `sources`), and that a
    // schema-1 event's canonical bytes are those schema 1 always wrote: same `source` field,
    // no new field, a penalty without state read as levied.
    let line = r#"{"event_id":"0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a","trust":"RNJ","collector":"rnj-board","collector_seq":3,"occurred_at":"2009-10-27T00:00:00Z","recorded_at":"2009-10-27T12:00:00Z","schema":1,"kind":"contract_penalty","data":{"commissioner":"PCTs","amount_pence":40000000,"period":"2009-10"},"source":{"type":"press","ref":"Hansard via E-Health Insider, 27 Oct 2009"},"status":"reported"}"#;
    let e = decode(line.as_bytes()).unwrap();
    assert_eq!(e.schema, SCHEMA_1);
    assert_eq!(e.sources.len(), 1);
    assert_eq!(
        e.sources[0].reference,
        "Hansard via E-Health Insider, 27 Oct 2009"
    );
    assert_eq!(String::from_utf8(e.canonical_bytes()).unwrap(), line);
    match &e.body {
        EventBody::ContractPenalty(d) => assert_eq!(d.state(), PenaltyState::Levied),
        other => panic!("{other:?}"),
    }
    let none = upcast_schema1_source(None);
    assert!(none.is_empty());
}

#[test]
fn empty_or_missing_sources_are_rejected() {
    // Proves: schema 2 names at least one source; none, or an empty list, is an error
    // naming `sources`.
    let mut v = base2();
    v["sources"] = json!([]);
    assert_eq!(reject(&v), ("sources".into(), Reason::Empty));
    v.as_object_mut().unwrap().remove("sources");
    assert_eq!(reject(&v), ("sources".into(), Reason::Missing));
}

#[test]
fn too_many_sources_or_too_much_source_text_is_rejected() {
    // Proves: at most SOURCES_MAX sources, and their texts share SOURCES_CHARS_MAX.
    let mut v = base2();
    let one = json!({ "type": "press", "ref": "E-Health Insider" });
    v["sources"] = json!(vec![one; limits::SOURCES_MAX + 1]);
    assert_eq!(
        reject(&v),
        (
            "sources".into(),
            Reason::TooManyItems {
                len: limits::SOURCES_MAX + 1,
                max: limits::SOURCES_MAX
            }
        )
    );
    let long = json!({ "type": "press", "ref": "x".repeat(1_500) });
    v["sources"] = json!([long.clone(), long]);
    assert_eq!(
        reject(&v),
        (
            "sources".into(),
            Reason::TooLong {
                len: 3_000,
                max: limits::SOURCES_CHARS_MAX
            }
        )
    );
}

#[test]
fn a_bad_source_is_named_by_its_index() {
    // Proves: an unknown type, an empty ref, a bad date and a URL without a scheme each name
    // the source and its field.
    let mut v = base2();
    v["sources"][1]["type"] = json!("blog");
    let (field, reason) = reject(&v);
    assert_eq!(field, "sources[1].type");
    assert!(matches!(reason, Reason::Malformed(_)), "{reason:?}");
    let mut v = base2();
    v["sources"][0]["ref"] = json!("  ");
    assert_eq!(reject(&v), ("sources[0].ref".into(), Reason::Empty));
    let mut v = base2();
    v["sources"][0]["published_at"] = json!("22/10/2009");
    assert_eq!(
        reject(&v),
        (
            "sources[0].published_at".into(),
            Reason::BadDate("22/10/2009".into())
        )
    );
    let mut v = base2();
    v["sources"][1]["url"] = json!("www.digitalhealth.net");
    assert_eq!(reject(&v), ("sources[1].url".into(), Reason::BadUrl));
    v["sources"][1]["url"] = json!("https://");
    assert_eq!(reject(&v), ("sources[1].url".into(), Reason::BadUrl));
}

#[test]
fn schema_2_fields_in_a_schema_1_event_are_rejected() {
    // Proves: schema 1 stays exactly what it was: `sources`, `relates_to`, `attribution`, a
    // source's `url`, a new source type, the new period forms and a penalty state each need
    // schema 2, and the error says so.
    let mut v = base2();
    v["schema"] = json!(1);
    assert_eq!(reject(&v), ("sources".into(), Reason::NeedsSchema2));
    let mut v1 = v.clone();
    v1.as_object_mut().unwrap().remove("sources");
    v1["source"] = json!({ "type": "press", "ref": "E-Health Insider" });
    assert_eq!(reject(&v1), ("relates_to".into(), Reason::NeedsSchema2));
    v1.as_object_mut().unwrap().remove("relates_to");
    assert_eq!(reject(&v1), ("attribution".into(), Reason::NeedsSchema2));
    v1.as_object_mut().unwrap().remove("attribution");
    assert_eq!(reject(&v1), ("data.state".into(), Reason::NeedsSchema2));
    v1["data"].as_object_mut().unwrap().remove("state");
    accept(&v1);
    let mut v2 = v1.clone();
    v2["source"]["type"] = json!("parliament_debate");
    let (field, reason) = reject(&v2);
    assert_eq!(field, "source.type");
    assert!(
        matches!(reason, Reason::SourceTypeNeedsSchema2(..)),
        "{reason:?}"
    );
    let mut v3 = v1.clone();
    v3["source"]["url"] = json!("https://example.org/a");
    assert_eq!(reject(&v3), ("source.url".into(), Reason::NeedsSchema2));
    let mut v4 = v1;
    v4["data"].as_object_mut().unwrap().remove("period");
    v4["data"]["to_date"] = json!(true);
    v4["data"]["as_at"] = json!("2009-10-27");
    assert_eq!(reject(&v4), ("data.to_date".into(), Reason::NeedsSchema2));
}

#[test]
fn a_source_field_in_schema_2_is_refused_with_the_right_name() {
    // Proves: schema 2 has `sources` only; a schema-1 `source` in it says where sources go.
    let mut v = base2();
    v["source"] = json!({ "type": "press", "ref": "E-Health Insider" });
    let (field, reason) = reject(&v);
    assert_eq!(field, "source");
    assert!(matches!(reason, Reason::Malformed(m) if m.contains("`sources`")));
}

#[test]
fn relates_to_cannot_name_the_event_itself() {
    // Proves: a link to itself is refused naming relates_to.event_id; an unknown relation is
    // an error of relates_to.relation.
    let mut v = base2();
    v["relates_to"]["event_id"] = v["event_id"].clone();
    assert_eq!(
        reject(&v),
        ("relates_to.event_id".into(), Reason::RelatesToItself)
    );
    let mut v = base2();
    v["relates_to"]["relation"] = json!("contradicts");
    assert_eq!(reject(&v).0, "relates_to.relation");
}

#[test]
fn attribution_names_who_and_a_known_stance() {
    // Proves: an empty `by` and an unknown stance are each named.
    let mut v = base2();
    v["attribution"]["by"] = json!("");
    assert_eq!(reject(&v), ("attribution.by".into(), Reason::Empty));
    let mut v = base2();
    v["attribution"]["stance"] = json!("blames_users");
    assert_eq!(reject(&v).0, "attribution.stance");
}

#[test]
fn a_penalty_in_schema_2_says_whether_it_was_levied() {
    // Proves: schema 2 requires a penalty's state; an unknown one is named.
    let mut v = base2();
    v["data"].as_object_mut().unwrap().remove("state");
    assert_eq!(reject(&v), ("data.state".into(), Reason::Missing));
    v["data"]["state"] = json!("pending");
    assert_eq!(reject(&v).0, "data.state");
}

#[test]
fn money_names_exactly_one_period_form() {
    // Proves: `period`, `period_from`+`period_to` and `to_date`+`as_at` are the three forms;
    // two at once, half a range, a range backwards or too long, `to_date` without `as_at` (or
    // false) are each an error naming the field.
    let data = |extra: Value| {
        let mut d = json!({ "category": "unbilled", "amount_pence": 150_000_000 });
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        money2("income_at_risk", d)
    };
    let e = accept(&data(
        json!({ "period_from": "2008-04", "period_to": "2008-06" }),
    ));
    assert!(matches!(e.body.span(), Some(Span::Months { .. })));
    let e = accept(&data(json!({ "to_date": true, "as_at": "2009-02-19" })));
    assert!(matches!(e.body.span(), Some(Span::ToDate { .. })));
    assert_eq!(
        reject(&data(json!({}))),
        ("data.period".into(), Reason::Missing)
    );
    let (field, reason) = reject(&data(
        json!({ "period": "2008-04", "period_from": "2008-04", "period_to": "2008-06" }),
    ));
    assert_eq!(field, "data.period");
    assert!(matches!(reason, Reason::Inconsistent(_)));
    assert_eq!(
        reject(&data(json!({ "period_from": "2008-04" }))),
        ("data.period_to".into(), Reason::Missing)
    );
    let (field, reason) = reject(&data(
        json!({ "period_from": "2008-06", "period_to": "2008-04" }),
    ));
    assert_eq!(field, "data.period_to");
    assert!(matches!(reason, Reason::Inconsistent(m) if m.contains("before")));
    let (field, _) = reject(&data(
        json!({ "period_from": "2000-01", "period_to": "2010-01" }),
    ));
    assert_eq!(field, "data.period_to");
    assert_eq!(
        reject(&data(json!({ "to_date": true }))),
        ("data.as_at".into(), Reason::Missing)
    );
    assert_eq!(
        reject(&data(json!({ "to_date": false, "as_at": "2009-02-19" }))).0,
        "data.to_date"
    );
    assert_eq!(
        reject(&data(json!({ "as_at": "2009-02-19" }))),
        ("data.to_date".into(), Reason::Missing)
    );
    assert_eq!(
        reject(&data(json!({ "to_date": true, "as_at": "2009-02-30" }))),
        ("data.as_at".into(), Reason::BadDate("2009-02-30".into()))
    );
}

#[test]
fn harm_can_be_unknown_and_reviews_say_what_they_grade() {
    // Proves: `unknown` is a harm level of schema 2 (not of schema 1), a review's assessment
    // and its count of ungraded cases are read, and the ungraded count adds to the total.
    let incident = money2(
        "safety_incident",
        json!({ "local_ref": "RNJ-SUI-2009-04", "harm": "unknown", "serious_incident": true }),
    );
    let e = accept(&incident);
    match &e.body {
        EventBody::SafetyIncident(d) => assert!(!d.harm.is_graded()),
        other => panic!("{other:?}"),
    }
    let review = money2(
        "harm_review",
        json!({ "cases_reviewed": 10, "harm": { "none": 5, "unknown": 6 }, "assessment": "risk_of_harm" }),
    );
    let (field, reason) = reject(&review);
    assert_eq!(field, "data.harm");
    assert!(matches!(reason, Reason::Inconsistent(_)), "{reason:?}");
    let mut review = review;
    review["data"]["cases_reviewed"] = json!(11);
    let e = accept(&review);
    match &e.body {
        EventBody::HarmReview(d) => {
            assert_eq!(d.assessment(), Assessment::RiskOfHarm);
            assert_eq!(d.harm.total(), 11);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_programme_roster_lists_distinct_trusts() {
    // Proves: the roster kind (schema 2 only) needs 1..=ROSTER_TRUSTS_MAX distinct ODS codes.
    let roster = |trusts: Value| {
        money2(
            "programme_roster",
            json!({ "programme": "London Programme for IT (NPfIT)", "trusts": trusts }),
        )
    };
    let e = accept(&roster(json!(["RQX", "RNH", "RVL", "RGZ"])));
    assert_eq!(e.kind(), Kind::ProgrammeRoster);
    assert_eq!(
        reject(&roster(json!([]))),
        ("data.trusts".into(), Reason::Empty)
    );
    assert_eq!(
        reject(&roster(json!(["RVL", "rvl"]))),
        ("data.trusts[1]".into(), Reason::BadOdsCode("rvl".into()))
    );
    assert_eq!(
        reject(&roster(json!(["RVL", "RVL"]))),
        ("data.trusts[1]".into(), Reason::DuplicateItem("RVL".into()))
    );
    let mut v1 = roster(json!(["RVL"]));
    v1["schema"] = json!(1);
    v1.as_object_mut().unwrap().remove("sources");
    for k in ["relates_to", "attribution"] {
        v1.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(reject(&v1), ("kind".into(), Reason::NeedsSchema2));
}

#[test]
fn a_fictional_trust_code_takes_only_synthetic_events() {
    // `ZZ001` and every `Z...` code are reserved for simulated data: a reported fact under one is
    // refused (naming the field), a synthetic event accepted; a real code takes either.
    let mut v = base2();
    v["trust"] = json!("ZZ001");
    let (field, reason) = reject(&v);
    assert_eq!(field, "trust");
    assert!(
        matches!(&reason, Reason::Inconsistent(m) if m.contains("fictional code")),
        "{reason:?}"
    );
    // A synthetic source beside a real one does not make the event synthetic.
    v["sources"][1] = json!({"type": "synthetic", "ref": "SYNTHETIC: golive simulate, seed 1"});
    assert_eq!(reject(&v).0, "trust");
    v["sources"] = json!([{"type": "synthetic", "ref": "SYNTHETIC: golive simulate, seed 1"}]);
    v.as_object_mut().unwrap().remove("relates_to");
    let e = accept(&v);
    assert!(e.trust.is_fictional() && e.is_synthetic());
    v["trust"] = json!("RNJ");
    assert!(!accept(&v).trust.is_fictional());
}
