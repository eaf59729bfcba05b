//! Synthetic shares: how much of each figure of an answer comes from simulated events.
//!
//! An event is synthetic when every one of its sources is `synthetic`
//! ([`golive_model::Envelope::is_synthetic`]). Besides the fold of every event, the projections
//! keep a second fold of the non-synthetic events only (see [`crate::Projections::sourced_only`]),
//! so that any view can be answered "as if no synthetic event had been appended", and the
//! synthetic share of a figure is defined counterfactually: the figure minus the same figure of
//! the sourced-only answer. That is the only definition that holds for every figure, not just
//! the sums: a synthetic trace that closes a reported loss lowers the open count by one (a share
//! of -1), a synthetic outage can turn a trust's state from `silent` to `reporting`.
//!
//! [`share`] computes it for any view from the two answers' JSON, in one place for every view,
//! so that a new view is marked without code of its own. The share tree mirrors the answer and
//! holds only what differs:
//!
//! | in the answer | in the share |
//! | --- | --- |
//! | an object | an object of its members that differ (absent when none does) |
//! | an integer | the difference, answer minus sourced-only answer (a member absent on one side counts 0) |
//! | an array of integers as long as its counterpart | the differences, element by element |
//! | any other array | `{"synthetic_items": [indices of the items not in the sourced-only array], "sourced_only_len": n}` |
//! | anything else that differs (text, true/false, a fraction, null), or an object or array with no counterpart at all | `{"sourced_only": the sourced-only value}` (`null` when there is none: the whole of it is synthetic) |

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// What an answer says of synthetic data: the `synthetic` member of every projection answer's
/// JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Synthetic {
    /// The answer is the sourced-only one: as if no synthetic event had been appended.
    pub excluded: bool,
    /// Synthetic events folded into the ledger at this point (left out when `excluded`).
    pub events: u64,
    /// Some figure of this answer differs from the sourced-only answer (never when `excluded`).
    pub affected: bool,
    /// The answer minus the sourced-only answer, where they differ (see the module
    /// documentation); an empty object when nothing does.
    pub share: Value,
}

/// A view and what it says of synthetic data. Serialized as the view's JSON object with a
/// `synthetic` member added (a view that is not an object, the list of trusts, is written as is).
#[derive(Clone, Debug, PartialEq)]
pub struct Marked<V> {
    pub view: V,
    pub synthetic: Synthetic,
}

impl<V: Serialize> Marked<V> {
    /// `view` of every event, beside `sourced` (the same view of the non-synthetic events
    /// only; `None` when the ledger holds no synthetic event, so the two are the same).
    pub fn compared(view: V, sourced: Option<&V>, events: u64) -> Self {
        let share = match sourced {
            Some(s) => share(&to_value(&view), &to_value(s)).unwrap_or_else(empty),
            None => empty(),
        };
        let affected = share.as_object().is_some_and(|m| !m.is_empty());
        Self {
            view,
            synthetic: Synthetic {
                excluded: false,
                events,
                affected,
                share,
            },
        }
    }

    /// `view` is the sourced-only answer; `events` synthetic events were left out.
    pub fn excluded(view: V, events: u64) -> Self {
        Self {
            view,
            synthetic: Synthetic {
                excluded: true,
                events,
                affected: false,
                share: empty(),
            },
        }
    }
}

impl<V: Serialize> Serialize for Marked<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut v = serde_json::to_value(&self.view).map_err(serde::ser::Error::custom)?;
        if let Value::Object(m) = &mut v {
            let synthetic =
                serde_json::to_value(&self.synthetic).map_err(serde::ser::Error::custom)?;
            m.insert("synthetic".to_owned(), synthetic);
        }
        v.serialize(s)
    }
}

fn empty() -> Value {
    Value::Object(Map::new())
}

/// A view's JSON. The views are plain data with string keys: encoding one cannot fail.
fn to_value<V: Serialize>(v: &V) -> Value {
    serde_json::to_value(v).expect("views always encode as JSON")
}

fn sourced_only(v: &Value) -> Value {
    let mut m = Map::new();
    m.insert("sourced_only".to_owned(), v.clone());
    Value::Object(m)
}

/// `answer` minus `sourced` where they differ, `None` where they do not (see the module
/// documentation for the shape).
pub fn share(answer: &Value, sourced: &Value) -> Option<Value> {
    diff(Some(answer), Some(sourced))
}

/// As [`share`]; `None` on a side is a member absent there.
fn diff(answer: Option<&Value>, sourced: Option<&Value>) -> Option<Value> {
    if answer == sourced {
        return None;
    }
    match (answer, sourced) {
        (Some(Value::Object(a)), Some(Value::Object(s))) => {
            let mut out = Map::new();
            for k in a.keys().chain(s.keys().filter(|k| !a.contains_key(*k))) {
                if let Some(d) = diff(a.get(k), s.get(k)) {
                    out.insert(k.clone(), d);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        (Some(Value::Array(a)), Some(Value::Array(s))) => Some(array_share(a, s)),
        _ => match (integer(answer), integer(sourced)) {
            (Some(x), Some(y)) => Some(number(x - y)),
            _ => Some(sourced_only(sourced.unwrap_or(&Value::Null))),
        },
    }
}

/// An integer, or 0 for a member absent on its side (not for `null`: no value is not zero).
fn integer(v: Option<&Value>) -> Option<i128> {
    match v {
        Some(Value::Number(n)) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        None => Some(0),
        Some(_) => None,
    }
}

/// A difference as JSON, saturated at the `i64` limits (as the money sums are).
fn number(x: i128) -> Value {
    Value::from(x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

fn array_share(a: &[Value], s: &[Value]) -> Value {
    let all_integers = |xs: &[Value]| xs.iter().all(|x| x.is_i64() || x.is_u64());
    if a.len() == s.len() && all_integers(a) && all_integers(s) {
        let diffs = a
            .iter()
            .zip(s)
            .map(|(x, y)| number(integer(Some(x)).unwrap_or(0) - integer(Some(y)).unwrap_or(0)))
            .collect();
        return Value::Array(diffs);
    }
    let items: Vec<Value> = a
        .iter()
        .enumerate()
        .filter(|(_, x)| !s.contains(x))
        .map(|(i, _)| Value::from(i))
        .collect();
    let mut m = Map::new();
    m.insert("synthetic_items".to_owned(), Value::Array(items));
    m.insert("sourced_only_len".to_owned(), Value::from(s.len()));
    Value::Object(m)
}

/// The trusts a share tree marks: the members of every `trusts` object in it (every view
/// lists its trusts under `trusts`, keyed by ODS code).
pub fn marked_trusts(share: &Value) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    fn walk(v: &Value, out: &mut std::collections::BTreeSet<String>) {
        if let Value::Object(m) = v {
            for (k, child) in m {
                if let (true, Value::Object(t)) = (k == "trusts", child) {
                    out.extend(t.keys().cloned());
                }
                walk(child, out);
            }
        }
    }
    walk(share, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_what_differs_is_in_the_share() {
        let a = json!({"total": {"net_cost_pence": 500, "trusts": 2}, "name": "x"});
        let s = json!({"total": {"net_cost_pence": 200, "trusts": 2}, "name": "x"});
        assert_eq!(
            share(&a, &s),
            Some(json!({"total": {"net_cost_pence": 300}}))
        );
        assert_eq!(share(&a, &a), None);
    }

    #[test]
    fn a_share_can_be_negative_and_a_missing_member_counts_zero() {
        let a = json!({"open_count": 0, "by": {"rtt": 3}});
        let s = json!({"open_count": 1, "by": {"rtt": 1, "cancer": 2}});
        assert_eq!(
            share(&a, &s),
            Some(json!({"open_count": -1, "by": {"rtt": 2, "cancer": -2}}))
        );
    }

    #[test]
    fn a_trust_only_synthetic_events_made_is_wholly_synthetic() {
        let a = json!({"trusts": {"RAL": {"n": 1}, "ZZ001": {"n": 4, "state": "ok"}}});
        let s = json!({"trusts": {"RAL": {"n": 1}}});
        assert_eq!(
            share(&a, &s),
            Some(json!({"trusts": {"ZZ001": {"sourced_only": null}}}))
        );
        assert_eq!(
            marked_trusts(&share(&a, &s).unwrap())
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["ZZ001".to_owned()]
        );
    }

    #[test]
    fn text_and_flags_that_differ_give_the_sourced_value() {
        let a = json!({"state": "reporting", "live": true, "mean": 2.5, "max": null});
        let s = json!({"state": "silent", "live": false, "mean": 3.0, "max": 4});
        assert_eq!(
            share(&a, &s),
            Some(json!({
                "state": {"sourced_only": "silent"},
                "live": {"sourced_only": false},
                "mean": {"sourced_only": 3.0},
                "max": {"sourced_only": 4},
            }))
        );
    }

    #[test]
    fn arrays_of_counts_differ_element_by_element_and_other_arrays_by_item() {
        let a = json!({"weekly": [1, 3, 2], "cases": [{"p": "a"}, {"p": "b"}, {"p": "c"}]});
        let s = json!({"weekly": [1, 1, 2], "cases": [{"p": "a"}, {"p": "c"}]});
        assert_eq!(
            share(&a, &s),
            Some(json!({
                "weekly": [0, 2, 0],
                "cases": {"synthetic_items": [1], "sourced_only_len": 2},
            }))
        );
    }

    #[test]
    fn a_marked_view_is_its_object_with_a_synthetic_member() {
        let m = Marked::compared(json!({"n": 3}), Some(&json!({"n": 1})), 7);
        assert!(m.synthetic.affected);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"n": 3, "synthetic": {
                "excluded": false, "events": 7, "affected": true, "share": {"n": 2}
            }})
        );
        let x = Marked::excluded(json!(["RAL"]), 7);
        assert_eq!(serde_json::to_value(&x).unwrap(), json!(["RAL"]));
        let none = Marked::compared(json!({"n": 3}), None, 0);
        assert!(!none.synthetic.affected);
        assert_eq!(none.synthetic.share, json!({}));
    }
}
