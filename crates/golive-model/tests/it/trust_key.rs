//! `trust_key` (schema 2 only): its form. One case per rule, each naming the field and reason
//! the publisher sees. Whether a change applies to the keys in force, and its admin signature,
//! are checked where keys are known (golive-verify's `TrustKeys`).

use golive_model::*;
use serde_json::{Value, json};

use crate::{accept, reject};

const OLD: &str = "RAL+c264ccac+AbEzhGMvZwI3B4G+hfH/Aj8PSTTw8Uoi6j2trpY09aTg";
const NEW: &str = "RAL+332bed0c+AaZg5ioSTtDPhVCiZ+FpezKEUPOJ84tDyX+lM0cndnsD";

fn event(data: Value) -> Value {
    json!({
        "event_id": "6a0f3b1e-2c4d-4e5f-8a9b-0c1d2e3f4a5b",
        "trust": "RAL",
        "collector": "golive-admin",
        "collector_seq": 1,
        "occurred_at": "2026-12-01T00:00:00Z",
        "recorded_at": "2026-12-01T00:00:00Z",
        "schema": 2,
        "kind": "trust_key",
        "data": data,
        "sources": [{ "type": "system", "ref": "golive trust-key publish" }],
        "status": "reported"
    })
}

fn inconsistent_at(v: &Value, field: &str) {
    let (f, reason) = reject(v);
    assert_eq!(f, field, "{reason}");
    assert!(matches!(reason, Reason::Inconsistent(_)), "{reason}");
}

#[test]
fn each_action_in_its_form_is_accepted() {
    let add = accept(&event(json!({ "action": "add", "key": OLD })));
    let EventBody::TrustKey(d) = &add.body else {
        panic!("{add:?}")
    };
    assert_eq!((d.action, d.revoked_at), (TrustKeyAction::Add, None));
    accept(&event(
        json!({ "action": "rotate", "key": NEW, "replaces": OLD,
                          "revoked_at": "2026-12-01T00:00:00Z", "signatures": "required" }),
    ));
    accept(&event(
        json!({ "action": "revoke", "key": OLD, "revoked_at": "2026-11-01T00:00:00Z" }),
    ));
}

#[test]
fn each_rule_names_its_field() {
    // Another trust's key; not a key at all.
    inconsistent_at(
        &event(json!({ "action": "add", "key": OLD.replacen("RAL", "RRV", 1) })),
        "data.key",
    );
    let (f, reason) = reject(&event(json!({ "action": "add", "key": "RAL+zz+AAAA" })));
    assert_eq!(f, "data.key");
    assert!(matches!(reason, Reason::Malformed(_)), "{reason}");
    // `revoked_at` exactly for rotate and revoke; `replaces` exactly for rotate, not itself.
    inconsistent_at(
        &event(json!({ "action": "add", "key": OLD, "revoked_at": "2026-01-01T00:00:00Z" })),
        "data.revoked_at",
    );
    assert_eq!(
        reject(&event(json!({ "action": "revoke", "key": OLD }))),
        ("data.revoked_at".to_owned(), Reason::Missing)
    );
    assert_eq!(
        reject(&event(
            json!({ "action": "rotate", "key": NEW, "revoked_at": "2026-01-01T00:00:00Z" })
        )),
        ("data.replaces".to_owned(), Reason::Missing)
    );
    inconsistent_at(
        &event(json!({ "action": "rotate", "key": NEW, "replaces": NEW,
                       "revoked_at": "2026-01-01T00:00:00Z" })),
        "data.replaces",
    );
    inconsistent_at(
        &event(json!({ "action": "add", "key": NEW, "replaces": OLD })),
        "data.replaces",
    );
    // Not a correction; not schema 1.
    let mut correction = event(json!({ "action": "add", "key": OLD }));
    correction["supersedes"] = json!("1a0f3b1e-2c4d-4e5f-8a9b-0c1d2e3f4a5b");
    inconsistent_at(&correction, "supersedes");
    let mut schema1 = event(json!({ "action": "add", "key": OLD }));
    schema1["schema"] = json!(1);
    schema1["source"] = json!({ "type": "system", "ref": "x" });
    schema1.as_object_mut().unwrap().remove("sources");
    assert_eq!(reject(&schema1).0, "kind");
}
