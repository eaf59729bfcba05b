//! The recovery kinds (schema 2 only): `activity_baseline`, `activity_actual`,
//! `ptl_validation`. One case per rule, each naming the field and reason the publisher sees.

use golive_model::*;
use serde_json::{Value, json};

use crate::{accept, reject};

fn event(kind: &str, data: Value) -> Value {
    json!({
        "event_id": "9f4d7a2c-5b52-4d9e-8f6a-7e1b0c3d4e55",
        "trust": "RAL",
        "collector": "ral-activity",
        "collector_seq": 1,
        "occurred_at": "2008-07-31T00:00:00Z",
        "recorded_at": "2008-08-05T09:00:00Z",
        "schema": 2,
        "kind": kind,
        "data": data,
        "sources": [{ "type": "board_paper", "ref": "Board paper, Aug 2008" }],
        "status": "reported"
    })
}

fn baseline() -> Value {
    event(
        "activity_baseline",
        json!({ "point_of_delivery": "outpatient_first", "monthly_value": 4200,
                "baseline_from": "2007-06", "baseline_to": "2008-05" }),
    )
}

fn actual() -> Value {
    event(
        "activity_actual",
        json!({ "point_of_delivery": "day_case", "period": "2008-07", "value": 900,
                "data_quality": "partial" }),
    )
}

fn ptl() -> Value {
    event(
        "ptl_validation",
        json!({ "pathway": "rtt_18wk", "on_list": 22000, "validated": 8000,
                "removed_duplicate": 4000, "removed_treated": 1500, "unknown_clock_start": 2100,
                "over_52_weeks": 300, "remaining": 14000 }),
    )
}

type Break = Box<dyn Fn(&mut Value)>;

/// Each case, applied to `good()`, is refused at its field.
fn refused_at(good: fn() -> Value, cases: Vec<(&str, Break, &str)>) {
    for (what, break_it, field) in cases {
        let mut v = good();
        break_it(&mut v);
        let (f, reason) = reject(&v);
        assert_eq!(f, field, "{what}: {reason}");
    }
}

fn schema1() -> Break {
    Box::new(|v| {
        v["schema"] = json!(1);
        let s = v.as_object_mut().unwrap().remove("sources").unwrap();
        v["source"] = json!({"type": "board_paper", "ref": s[0]["ref"]});
    })
}

fn set(field: &'static str, value: Value) -> Break {
    Box::new(move |v| v["data"][field] = value.clone())
}

fn remove(field: &'static str) -> Break {
    Box::new(move |v| {
        v["data"].as_object_mut().unwrap().remove(field);
    })
}

#[test]
fn a_baseline_decodes_and_each_bad_field_is_named() {
    let e = accept(&baseline());
    let EventBody::ActivityBaseline(b) = &e.body else {
        panic!("not a baseline: {e:?}")
    };
    assert_eq!(b.point_of_delivery, PointOfDelivery::OutpatientFirst);
    assert_eq!(b.monthly_value, 4200);
    let mut one_month = baseline();
    one_month["data"]["baseline_to"] = json!("2007-06");
    accept(&one_month);
    refused_at(
        baseline,
        vec![
            (
                "unknown point of delivery",
                set("point_of_delivery", json!("clinic")),
                "data.point_of_delivery",
            ),
            (
                "negative value",
                set("monthly_value", json!(-1)),
                "data.monthly_value",
            ),
            (
                "fractional value",
                set("monthly_value", json!(1.5)),
                "data.monthly_value",
            ),
            (
                "value over the limit",
                set("monthly_value", json!(limits::FIGURE_MAX + 1)),
                "data.monthly_value",
            ),
            ("no value", remove("monthly_value"), "data.monthly_value"),
            (
                "not a month",
                set("baseline_from", json!("2007-13")),
                "data.baseline_from",
            ),
            (
                "to before from",
                set("baseline_to", json!("2007-05")),
                "data.baseline_to",
            ),
            (
                "over ten years",
                set("baseline_to", json!("2017-06")),
                "data.baseline_to",
            ),
            ("extra field", set("trend", json!(1)), "data.trend"),
            ("schema 1", schema1(), "kind"),
        ],
    );
}

#[test]
fn an_activity_report_names_a_month_or_a_week_never_both() {
    let e = accept(&actual());
    let EventBody::ActivityActual(a) = &e.body else {
        panic!("not an activity report: {e:?}")
    };
    assert_eq!(
        a.span(),
        ActivitySpan::Month(Period::parse("2008-07").unwrap())
    );
    assert_eq!(a.data_quality, DataQuality::Partial);
    let mut weekly = actual();
    weekly["data"].as_object_mut().unwrap().remove("period");
    weekly["data"]["week"] = json!("2008-W27");
    let e = accept(&weekly);
    let EventBody::ActivityActual(a) = &e.body else {
        panic!("not an activity report")
    };
    assert_eq!(
        a.span(),
        ActivitySpan::Week(IsoWeek::parse("2008-W27").unwrap())
    );
    refused_at(
        actual,
        vec![
            ("neither", remove("period"), "data.period"),
            ("both", set("week", json!("2008-W27")), "data.week"),
            (
                "not a week",
                Box::new(|v| {
                    v["data"].as_object_mut().unwrap().remove("period");
                    v["data"]["week"] = json!("2008-W53");
                }),
                "data.week",
            ),
            ("negative value", set("value", json!(-5)), "data.value"),
            (
                "value over the limit",
                set("value", json!(limits::FIGURE_MAX + 1)),
                "data.value",
            ),
            (
                "unknown quality",
                set("data_quality", json!("good")),
                "data.data_quality",
            ),
            ("no quality", remove("data_quality"), "data.data_quality"),
            (
                "unknown point of delivery",
                set("point_of_delivery", json!("ward")),
                "data.point_of_delivery",
            ),
            ("schema 1", schema1(), "kind"),
        ],
    );
}

#[test]
fn a_ptl_validation_is_consistent_with_its_list() {
    let e = accept(&ptl());
    let EventBody::PtlValidation(p) = &e.body else {
        panic!("not a PTL validation: {e:?}")
    };
    assert_eq!((p.pathway, p.remaining), (Pathway::Rtt18wk, 14000));
    refused_at(
        ptl,
        vec![
            (
                "validated over the list",
                set("validated", json!(22001)),
                "data.validated",
            ),
            (
                "remaining over the list",
                set("remaining", json!(22001)),
                "data.remaining",
            ),
            (
                "clock starts over the list",
                set("unknown_clock_start", json!(22001)),
                "data.unknown_clock_start",
            ),
            (
                "52-week waits over the list",
                set("over_52_weeks", json!(22001)),
                "data.over_52_weeks",
            ),
            (
                "removals over validated",
                set("removed_treated", json!(4001)),
                "data.removed_treated",
            ),
            (
                "list over the limit",
                set("on_list", json!(limits::FIGURE_MAX + 1)),
                "data.on_list",
            ),
            (
                "negative count",
                set("removed_duplicate", json!(-1)),
                "data.removed_duplicate",
            ),
            ("no remaining", remove("remaining"), "data.remaining"),
            (
                "unknown pathway",
                set("pathway", json!("rtt_52wk")),
                "data.pathway",
            ),
            ("schema 1", schema1(), "kind"),
        ],
    );
}

#[test]
fn a_correction_of_an_activity_report_is_an_ordinary_supersedes() {
    // Proves a recovery kind takes `supersedes` like every other kind (the store checks the
    // target is of the same trust and kind).
    let mut v = actual();
    v["supersedes"] = json!("6f7f7085-0f78-4688-a531-815862a42e99");
    let e = accept(&v);
    assert!(e.supersedes.is_some());
}
