//! Integration tests of the wire format: the documented examples decode, every rejection names
//! the right field and reason, and canonical bytes round-trip.

use golive_model::*;
use golive_testkit::arb::envelope;
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A valid `extra_cost` envelope; each rejection test breaks exactly one thing in it.
fn base() -> Value {
    json!({
        "event_id": "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
        "trust": "RAL",
        "collector": "ral-board",
        "collector_seq": 7,
        "occurred_at": "2008-11-05T00:00:00Z",
        "recorded_at": "2008-11-05T12:00:00Z",
        "schema": 1,
        "kind": "extra_cost",
        "data": {
            "category": "temporary_staff",
            "amount_pence": 120_000_000,
            "description": "Extra staff after the go-live"
        },
        "source": { "type": "press", "ref": "E-Health Insider, 5 Nov 2008" },
        "status": "reported"
    })
}

/// A valid `outage` envelope.
fn outage() -> Value {
    let mut v = base();
    v["kind"] = json!("outage");
    v["data"] = json!({
        "scope": "Cerner Millennium",
        "services": ["outpatient booking"],
        "start": "2008-06-17T08:00:00Z",
        "end": "2008-06-17T11:00:00Z",
        "paper_fallback": true
    });
    v
}

/// A valid `patient_lost` envelope.
fn lost() -> Value {
    let mut v = base();
    v["kind"] = json!("patient_lost");
    v["data"] = json!({ "patient_ref": "RNJ-SYN-0001", "pathway": "rtt_18wk" });
    v
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn accept(v: &Value) -> Envelope {
    decode(&bytes(v)).unwrap_or_else(|e| panic!("expected {v} to decode, got {e}"))
}

fn reject_bytes(b: &[u8]) -> DecodeError {
    match decode(b) {
        Ok(e) => panic!("expected a rejection, decoded {e:?}"),
        Err(e) => e,
    }
}

fn reject(v: &Value) -> DecodeError {
    reject_bytes(&bytes(v))
}

/// The serialised base with `from` replaced (once) by `to`, for inputs `Value` cannot express.
fn base_text_with(from: &str, to: &str) -> String {
    let text = serde_json::to_string(&base()).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` must occur once in {text}"
    );
    text.replacen(from, to, 1)
}

/// One name per `Reason` variant. The match is exhaustive, so a new variant fails to compile
/// here until it is given a test and a row in docs/EVENTS.md.
fn reason_name(r: &Reason) -> &'static str {
    match r {
        Reason::Syntax(_) => "Syntax",
        Reason::NotUtf8 => "NotUtf8",
        Reason::MessageTooLarge { .. } => "MessageTooLarge",
        Reason::Missing => "Missing",
        Reason::UnknownField => "UnknownField",
        Reason::DuplicateField => "DuplicateField",
        Reason::Malformed(_) => "Malformed",
        Reason::UnknownKind(..) => "UnknownKind",
        Reason::UnsupportedSchema(_) => "UnsupportedSchema",
        Reason::BadOdsCode(_) => "BadOdsCode",
        Reason::BadUuid(_) => "BadUuid",
        Reason::BadTime(_) => "BadTime",
        Reason::NotUtc(_) => "NotUtc",
        Reason::BadPeriod(_) => "BadPeriod",
        Reason::NegativePence(_) => "NegativePence",
        Reason::PenceOverLimit(..) => "PenceOverLimit",
        Reason::BadPence(_) => "BadPence",
        Reason::EndBeforeStart { .. } => "EndBeforeStart",
        Reason::TooLong { .. } => "TooLong",
        Reason::Empty => "Empty",
        Reason::TooManyItems { .. } => "TooManyItems",
        Reason::LooksLikeNhsNumber => "LooksLikeNhsNumber",
        Reason::BadIdentifier(_) => "BadIdentifier",
        Reason::Inconsistent(_) => "Inconsistent",
        Reason::SupersedesItself => "SupersedesItself",
        Reason::BadDate(_) => "BadDate",
        Reason::NeedsSchema2 => "NeedsSchema2",
        Reason::SourceTypeNeedsSchema2(..) => "SourceTypeNeedsSchema2",
        Reason::RelatesToItself => "RelatesToItself",
        Reason::BadUrl => "BadUrl",
        Reason::DuplicateItem(_) => "DuplicateItem",
    }
}

const EVENTS_MD: &str = include_str!("../../../../docs/EVENTS.md");

/// The body of every ```json fenced block in a markdown text.
fn json_blocks(md: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in md.lines() {
        match &mut current {
            None if line.trim_start() == "```json" => current = Some(String::new()),
            None => {}
            Some(block) if line.trim_start() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(
        current.is_none(),
        "unterminated ```json block in docs/EVENTS.md"
    );
    blocks
}

// ---------------------------------------------------------------------------------------------
// (a) The documentation cannot rot
// ---------------------------------------------------------------------------------------------

#[test]
fn every_json_example_in_events_md_decodes_and_every_kind_has_one() {
    // Proves: each ```json block in docs/EVENTS.md is a complete, valid event, re-encodes to
    // canonical bytes that decode to the same event, and the examples cover every kind.
    let blocks = json_blocks(EVENTS_MD);
    assert!(!blocks.is_empty(), "docs/EVENTS.md has no ```json blocks");
    let mut kinds = std::collections::BTreeSet::new();
    for (i, block) in blocks.iter().enumerate() {
        let e = decode(block.as_bytes())
            .unwrap_or_else(|err| panic!("json block #{} does not decode: {err}\n{block}", i + 1));
        assert_eq!(decode(&e.canonical_bytes()).unwrap(), e);
        kinds.insert(e.kind());
    }
    let missing: Vec<_> = Kind::ALL.iter().filter(|k| !kinds.contains(k)).collect();
    assert!(
        missing.is_empty(),
        "no example in docs/EVENTS.md for {missing:?}"
    );
}

#[test]
fn events_md_documents_every_reason_and_the_limits() {
    // Proves: the error table names every `Reason` variant (the list below is checked for
    // exhaustiveness by `reason_name`) and the documented limits are the compiled ones.
    let every = [
        Reason::Syntax(String::new()),
        Reason::NotUtf8,
        Reason::MessageTooLarge { len: 0, max: 0 },
        Reason::Missing,
        Reason::UnknownField,
        Reason::DuplicateField,
        Reason::Malformed(String::new()),
        Reason::UnknownKind(String::new(), ""),
        Reason::UnsupportedSchema(0),
        Reason::BadOdsCode(String::new()),
        Reason::BadUuid(String::new()),
        Reason::BadTime(String::new()),
        Reason::NotUtc(String::new()),
        Reason::BadPeriod(String::new()),
        Reason::NegativePence(0),
        Reason::PenceOverLimit(0, 0),
        Reason::BadPence(String::new()),
        Reason::EndBeforeStart {
            start: String::new(),
            end: String::new(),
        },
        Reason::TooLong { len: 0, max: 0 },
        Reason::Empty,
        Reason::TooManyItems { len: 0, max: 0 },
        Reason::LooksLikeNhsNumber,
        Reason::BadIdentifier(String::new()),
        Reason::Inconsistent(String::new()),
        Reason::SupersedesItself,
        Reason::BadDate(String::new()),
        Reason::NeedsSchema2,
        Reason::SourceTypeNeedsSchema2(String::new(), ""),
        Reason::RelatesToItself,
        Reason::BadUrl,
        Reason::DuplicateItem(String::new()),
    ];
    for r in &every {
        let row = format!("| `{}` |", reason_name(r));
        assert!(
            EVENTS_MD.contains(&row),
            "docs/EVENTS.md has no row `{row}`"
        );
    }
    for (name, value) in [
        ("ID_CHARS_MAX", limits::ID_CHARS_MAX.to_string()),
        ("NAME_CHARS_MAX", limits::NAME_CHARS_MAX.to_string()),
        ("TEXT_CHARS_MAX", limits::TEXT_CHARS_MAX.to_string()),
        ("SERVICES_MAX", limits::SERVICES_MAX.to_string()),
        ("PENCE_MAX", limits::PENCE_MAX.to_string()),
        ("SOURCES_MAX", limits::SOURCES_MAX.to_string()),
        ("SPAN_MONTHS_MAX", limits::SPAN_MONTHS_MAX.to_string()),
        ("ROSTER_TRUSTS_MAX", limits::ROSTER_TRUSTS_MAX.to_string()),
        ("MESSAGE_BYTES_MAX", MESSAGE_BYTES_MAX.to_string()),
    ] {
        let row = format!("`{name}` | {value} |");
        assert!(EVENTS_MD.contains(&row), "docs/EVENTS.md has no `{row}`");
    }
}

// ---------------------------------------------------------------------------------------------
// (b) One test per rejection: the exact field and reason
// ---------------------------------------------------------------------------------------------

#[test]
fn base_examples_are_valid() {
    // Proves: the rejection tests below start from valid events, so each failure is caused by
    // the one thing the test changes.
    accept(&base());
    accept(&outage());
    accept(&lost());
}

#[test]
fn event_id_that_is_not_a_uuid_is_rejected() {
    // Proves: event_id must parse as a UUID; the error names event_id and echoes the value.
    let mut v = base();
    v["event_id"] = json!("not-a-uuid");
    let e = reject(&v);
    assert_eq!(e.field, "event_id");
    assert_eq!(e.reason, Reason::BadUuid("not-a-uuid".into()));
}

#[test]
fn bad_ods_code_is_rejected() {
    // Proves: trust must be an ODS code (3-5 upper-case letters/digits from a letter).
    let mut v = base();
    v["trust"] = json!("???");
    let e = reject(&v);
    assert_eq!(e.field, "trust");
    assert_eq!(e.reason, Reason::BadOdsCode("???".into()));
    v["trust"] = json!("ral");
    assert_eq!(reject(&v).reason, Reason::BadOdsCode("ral".into()));
}

#[test]
fn unknown_kind_is_rejected_not_dropped() {
    // Proves: a kind this build does not know is an error naming `kind`, and the message lists
    // the kinds that are known.
    let mut v = base();
    v["kind"] = json!("billing_failure");
    let e = reject(&v);
    assert_eq!(e.field, "kind");
    match &e.reason {
        Reason::UnknownKind(k, known) => {
            assert_eq!(k, "billing_failure");
            assert!(known.contains("extra_cost") && known.contains("feature_deferred"));
        }
        other => panic!("expected UnknownKind, got {other:?}"),
    }
}

#[test]
fn schema_3_is_rejected() {
    // Proves: only schemas 1 and 2 are read; a future schema is refused with its number.
    let mut v = base();
    for n in [0, 3, 65_537] {
        v["schema"] = json!(n);
        let e = reject(&v);
        assert_eq!(e.field, "schema");
        assert_eq!(e.reason, Reason::UnsupportedSchema(n));
    }
}

#[test]
fn negative_pence_is_rejected() {
    // Proves: money is never negative (refunds are income_recovered, corrections supersede).
    let mut v = base();
    v["data"]["amount_pence"] = json!(-1);
    let e = reject(&v);
    assert_eq!(e.field, "data.amount_pence");
    assert_eq!(e.reason, Reason::NegativePence(-1));
}

#[test]
fn pence_over_the_limit_is_rejected_and_the_limit_itself_accepted() {
    // Proves: PENCE_MAX is inclusive; one penny more is rejected with both numbers.
    let mut v = base();
    v["data"]["amount_pence"] = json!(limits::PENCE_MAX);
    accept(&v);
    v["data"]["amount_pence"] = json!(limits::PENCE_MAX + 1);
    let e = reject(&v);
    assert_eq!(e.field, "data.amount_pence");
    assert_eq!(
        e.reason,
        Reason::PenceOverLimit(limits::PENCE_MAX + 1, limits::PENCE_MAX)
    );
}

#[test]
fn float_pence_is_rejected() {
    // Proves: 1.5 pence (and even 1.0) is not a whole number of pence on the wire.
    for literal in ["1.5", "1.0"] {
        let text = base_text_with("120000000", literal);
        let e = reject_bytes(text.as_bytes());
        assert_eq!(e.field, "data.amount_pence");
        assert!(matches!(e.reason, Reason::BadPence(_)), "{literal}: {e:?}");
    }
}

#[test]
fn huge_pence_is_rejected_without_overflow() {
    // Proves: 1e30 and a 31-digit integer (beyond i64 and u64) are rejected as BadPence rather
    // than wrapped, saturated or rounded.
    for literal in [
        "1e30",
        "1000000000000000000000000000000",
        "9223372036854775808",
    ] {
        let text = base_text_with("120000000", literal);
        let e = reject_bytes(text.as_bytes());
        assert_eq!(e.field, "data.amount_pence");
        assert!(matches!(e.reason, Reason::BadPence(_)), "{literal}: {e:?}");
    }
}

#[test]
fn string_pence_is_rejected() {
    // Proves: "120000000" as a string is not accepted for an amount.
    let mut v = base();
    v["data"]["amount_pence"] = json!("120000000");
    let e = reject(&v);
    assert_eq!(e.field, "data.amount_pence");
    assert!(matches!(e.reason, Reason::BadPence(_)), "{e:?}");
}

#[test]
fn outage_ending_before_it_starts_is_rejected() {
    // Proves: an outage's end may equal its start but not precede it.
    let mut v = outage();
    v["data"]["end"] = json!("2008-06-17T08:00:00Z");
    accept(&v);
    v["data"]["end"] = json!("2008-06-17T07:59:59Z");
    let e = reject(&v);
    assert_eq!(e.field, "data.end");
    assert_eq!(
        e.reason,
        Reason::EndBeforeStart {
            start: "2008-06-17T08:00:00Z".into(),
            end: "2008-06-17T07:59:59Z".into()
        }
    );
}

#[test]
fn text_over_its_limit_is_rejected_counting_characters() {
    // Proves: text limits count characters, not bytes: 2000 two-byte characters pass, 2001
    // plain ones fail with the length and the limit.
    let mut v = base();
    v["data"]["description"] = json!("é".repeat(limits::TEXT_CHARS_MAX));
    accept(&v);
    v["data"]["description"] = json!("x".repeat(limits::TEXT_CHARS_MAX + 1));
    let e = reject(&v);
    assert_eq!(e.field, "data.description");
    assert_eq!(
        e.reason,
        Reason::TooLong {
            len: limits::TEXT_CHARS_MAX + 1,
            max: limits::TEXT_CHARS_MAX
        }
    );
}

#[test]
fn patient_ref_that_is_a_valid_nhs_number_is_rejected() {
    // Proves: a patient_ref that passes the NHS-number check digit (9434765919 is the NHS's
    // published example) is refused, so real NHS numbers cannot be published by mistake.
    let mut v = lost();
    for nhs in ["9434765919", "943 476 5919", "943-476-5919"] {
        v["data"]["patient_ref"] = json!(nhs);
        let e = reject(&v);
        assert_eq!(e.field, "data.patient_ref");
        assert_eq!(e.reason, Reason::LooksLikeNhsNumber, "{nhs}");
    }
}

#[test]
fn non_utc_offset_is_rejected_at_top_level_and_in_data() {
    // Proves: times must be UTC (`Z` or +00:00); +01:00 is NotUtc wherever it appears, and the
    // same instant written with +00:00 is accepted.
    let mut v = base();
    v["occurred_at"] = json!("2008-11-05T01:00:00+01:00");
    let e = reject(&v);
    assert_eq!(e.field, "occurred_at");
    assert_eq!(e.reason, Reason::NotUtc("2008-11-05T01:00:00+01:00".into()));
    v["occurred_at"] = json!("2008-11-05T00:00:00+00:00");
    assert_eq!(format_time(&accept(&v).occurred_at), "2008-11-05T00:00:00Z");

    let mut v = outage();
    v["data"]["start"] = json!("2008-06-17T09:00:00+01:00");
    let e = reject(&v);
    assert_eq!(e.field, "data.start");
    assert_eq!(e.reason, Reason::NotUtc("2008-06-17T09:00:00+01:00".into()));
}

#[test]
fn missing_field_is_rejected_with_its_path() {
    // Proves: a missing required field is named, at the top level and inside data.
    let mut v = base();
    v.as_object_mut().unwrap().remove("collector");
    let e = reject(&v);
    assert_eq!(e.field, "collector");
    assert_eq!(e.reason, Reason::Missing);

    let mut v = base();
    v["data"].as_object_mut().unwrap().remove("amount_pence");
    let e = reject(&v);
    assert_eq!(e.field, "data.amount_pence");
    assert_eq!(e.reason, Reason::Missing);
}

#[test]
fn unknown_field_is_rejected_at_top_level_and_inside_data() {
    // Proves: extra fields are refused, never silently ignored, wherever they are.
    let mut v = base();
    v["colour"] = json!("red");
    let e = reject(&v);
    assert_eq!(e.field, "colour");
    assert_eq!(e.reason, Reason::UnknownField);

    let mut v = base();
    v["data"]["vat_pence"] = json!(10);
    let e = reject(&v);
    assert_eq!(e.field, "data.vat_pence");
    assert_eq!(e.reason, Reason::UnknownField);

    let mut v = base();
    v["source"]["link"] = json!("https://example.org");
    let e = reject(&v);
    assert_eq!(e.field, "source.link");
    assert_eq!(e.reason, Reason::UnknownField);
}

#[test]
fn duplicate_key_is_rejected() {
    // Proves: a key given twice is refused (no "last one wins"), at the top level and in data.
    let text = base_text_with(r#""trust":"RAL""#, r#""trust":"RAL","trust":"RNJ""#);
    let e = reject_bytes(text.as_bytes());
    assert_eq!(e.field, "trust");
    assert_eq!(e.reason, Reason::DuplicateField);

    let text = base_text_with(
        r#""amount_pence":120000000"#,
        r#""amount_pence":120000000,"amount_pence":1"#,
    );
    let e = reject_bytes(text.as_bytes());
    assert_eq!(e.field, "data.amount_pence");
    assert_eq!(e.reason, Reason::DuplicateField);
}

#[test]
fn malformed_utf8_is_rejected() {
    // Proves: bytes that are not UTF-8 are refused as a whole message before any parsing.
    let mut b = bytes(&base());
    let at = b.windows(3).position(|w| w == b"RAL").unwrap();
    b[at] = 0xff;
    let e = reject_bytes(&b);
    assert_eq!(e.field, "(message)");
    assert_eq!(e.reason, Reason::NotUtf8);
}

#[test]
fn message_over_the_size_limit_is_rejected() {
    // Proves: MESSAGE_BYTES_MAX is inclusive, and a larger message is refused before parsing,
    // even when it is valid JSON (here padded with whitespace), by both entry points.
    let text = serde_json::to_string(&base()).unwrap();
    let at_limit = format!("{text}{}", " ".repeat(MESSAGE_BYTES_MAX - text.len()));
    assert_eq!(at_limit.len(), MESSAGE_BYTES_MAX);
    decode(at_limit.as_bytes()).unwrap();
    let over = format!("{at_limit} ");
    let expected = Reason::MessageTooLarge {
        len: MESSAGE_BYTES_MAX + 1,
        max: MESSAGE_BYTES_MAX,
    };
    let e = reject_bytes(over.as_bytes());
    assert_eq!(e.field, "(message)");
    assert_eq!(e.reason, expected);
    assert_eq!(decode_str(&over).unwrap_err().reason, expected);
}

#[test]
fn deeply_nested_json_is_an_error_not_a_panic() {
    // Proves: 10,000 nested arrays or objects (under the size limit) are rejected with an error
    // and do not overflow the stack, whether in data, in another field or as the message.
    let depth = 10_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    assert!(objects.len() < MESSAGE_BYTES_MAX);
    for nested in [&arrays, &objects] {
        let in_data = base_text_with(&serde_json::to_string(&base()["data"]).unwrap(), nested);
        let e = reject_bytes(in_data.as_bytes());
        assert!(e.field.starts_with("data"), "{e:?}");
        let in_site = base_text_with(
            r#""trust":"RAL""#,
            &format!(r#""trust":"RAL","site":{nested}"#),
        );
        let e = reject_bytes(in_site.as_bytes());
        assert!(e.field.starts_with("site"), "{e:?}");
        reject_bytes(nested.as_bytes());
    }
    // Unclosed nesting is a syntax error of the whole message.
    let e = reject_bytes("[".repeat(depth).as_bytes());
    assert_eq!(e.field, "(message)");
    assert!(matches!(e.reason, Reason::Syntax(_)), "{e:?}");
}

#[test]
fn trailing_garbage_after_the_object_is_rejected() {
    // Proves: exactly one JSON object per message; trailing whitespace is fine, anything else
    // (a stray character, a second object) is a syntax error of the whole message.
    let text = serde_json::to_string(&base()).unwrap();
    decode(format!("{text} \n").as_bytes()).unwrap();
    for tail in ["x", "}", text.as_str()] {
        let e = reject_bytes(format!("{text}{tail}").as_bytes());
        assert_eq!(e.field, "(message)");
        assert!(matches!(e.reason, Reason::Syntax(_)), "{tail}: {e:?}");
    }
}

#[test]
fn not_json_is_a_syntax_error() {
    // Proves: input that is not JSON at all, or is cut short, is a syntax error of the message.
    for text in ["", "hello", "{", r#"{"event_id":"#] {
        let e = reject_bytes(text.as_bytes());
        assert_eq!(e.field, "(message)");
        assert!(matches!(e.reason, Reason::Syntax(_)), "{text:?}: {e:?}");
    }
}

#[test]
fn bad_time_is_rejected_at_top_level_and_in_data() {
    // Proves: a time that is not RFC 3339 is BadTime with its field, wherever it appears.
    let mut v = base();
    v["recorded_at"] = json!("05/11/2008");
    let e = reject(&v);
    assert_eq!(e.field, "recorded_at");
    assert_eq!(e.reason, Reason::BadTime("05/11/2008".into()));

    let mut v = outage();
    v["data"]["end"] = json!("2008-06-17 noon");
    let e = reject(&v);
    assert_eq!(e.field, "data.end");
    assert_eq!(e.reason, Reason::BadTime("2008-06-17 noon".into()));
}

#[test]
fn bad_period_is_rejected() {
    // Proves: a period must be a real month written YYYY-MM.
    let mut v = base();
    v["kind"] = json!("income_at_risk");
    v["data"] = json!({ "category": "unbilled", "amount_pence": 1, "period": "2008-13" });
    let e = reject(&v);
    assert_eq!(e.field, "data.period");
    assert_eq!(e.reason, Reason::BadPeriod("2008-13".into()));
}

#[test]
fn wrong_type_or_unknown_enum_value_is_malformed() {
    // Proves: a value of the wrong type or an unknown enum value in well-formed JSON is Malformed
    // with its path (not a syntax error of the whole message).
    let mut v = base();
    v["collector_seq"] = json!(-1);
    let e = reject(&v);
    assert_eq!(e.field, "collector_seq");
    assert!(matches!(e.reason, Reason::Malformed(_)), "{e:?}");

    // serde_json calls a wrong-typed enum value a syntax error; the JSON is fine, the value not.
    let mut v = base();
    v["status"] = json!(5);
    let e = reject(&v);
    assert_eq!(e.field, "status");
    assert!(matches!(e.reason, Reason::Malformed(_)), "{e:?}");

    let mut v = base();
    v["data"]["category"] = json!("biscuits");
    let e = reject(&v);
    assert_eq!(e.field, "data.category");
    assert!(matches!(e.reason, Reason::Malformed(_)), "{e:?}");

    let mut v = outage();
    v["data"]["services"] = json!(["ok", 3]);
    let e = reject(&v);
    assert_eq!(e.field, "data.services[1]");
    assert!(matches!(e.reason, Reason::Malformed(_)), "{e:?}");
}

#[test]
fn empty_or_blank_text_is_rejected() {
    // Proves: a text field that is present must say something; blank is not "absent".
    let mut v = base();
    v["data"]["description"] = json!("   ");
    let e = reject(&v);
    assert_eq!(e.field, "data.description");
    assert_eq!(e.reason, Reason::Empty);
}

#[test]
fn too_many_services_is_rejected() {
    // Proves: an outage names at most SERVICES_MAX services.
    let mut v = outage();
    v["data"]["services"] = json!(vec!["pas"; limits::SERVICES_MAX]);
    accept(&v);
    v["data"]["services"] = json!(vec!["pas"; limits::SERVICES_MAX + 1]);
    let e = reject(&v);
    assert_eq!(e.field, "data.services");
    assert_eq!(
        e.reason,
        Reason::TooManyItems {
            len: limits::SERVICES_MAX + 1,
            max: limits::SERVICES_MAX
        }
    );
}

#[test]
fn identifier_with_other_characters_is_rejected() {
    // Proves: identifiers (collector, patient_ref, local_ref) are plain: no spaces or slashes.
    let mut v = base();
    v["collector"] = json!("ral board");
    let e = reject(&v);
    assert_eq!(e.field, "collector");
    assert_eq!(e.reason, Reason::BadIdentifier("ral board".into()));

    let mut v = lost();
    v["data"]["patient_ref"] = json!("RNJ/0001");
    let e = reject(&v);
    assert_eq!(e.field, "data.patient_ref");
    assert_eq!(e.reason, Reason::BadIdentifier("RNJ/0001".into()));
}

#[test]
fn inconsistent_counts_are_rejected() {
    // Proves: a waiting list cannot have more unique patients than records, and a harm review
    // cannot grade more cases than it reviewed.
    let mut v = base();
    v["kind"] = json!("waiting_list_discrepancy");
    v["data"] = json!({ "pathway": "rtt_18wk", "records": 14000, "unique_patients": 22000 });
    let e = reject(&v);
    assert_eq!(e.field, "data.unique_patients");
    assert!(matches!(e.reason, Reason::Inconsistent(_)), "{e:?}");

    let mut v = base();
    v["kind"] = json!("harm_review");
    v["data"] = json!({ "cases_reviewed": 10000,
        "harm": { "none": 6000, "low": 4000, "moderate": 77, "severe": 1 } });
    let e = reject(&v);
    assert_eq!(e.field, "data.harm");
    assert!(matches!(e.reason, Reason::Inconsistent(_)), "{e:?}");
}

#[test]
fn event_superseding_itself_is_rejected() {
    // Proves: a correction must point at another event.
    let mut v = base();
    v["supersedes"] = v["event_id"].clone();
    let e = reject(&v);
    assert_eq!(e.field, "supersedes");
    assert_eq!(e.reason, Reason::SupersedesItself);
}

#[test]
fn defaults_fill_in_absent_optional_fields() {
    // Proves: status defaults to reported, rollout scope to trust, incident state to open,
    // outage services/flags to empty/false; source, site and supersedes stay absent.
    let mut v = base();
    for k in ["status", "source"] {
        v.as_object_mut().unwrap().remove(k);
    }
    let e = accept(&v);
    assert_eq!(e.status, Status::Reported);
    assert_eq!((e.sources, e.site, e.supersedes), (vec![], None, None));

    v["kind"] = json!("rollout_status");
    v["data"] = json!({ "programme": "London Programme for IT", "status": "go_live" });
    match accept(&v).body {
        EventBody::RolloutStatus(d) => assert_eq!(d.scope, RolloutScope::Trust),
        other => panic!("{other:?}"),
    }
    v["kind"] = json!("safety_incident");
    v["data"] = json!({ "local_ref": "DATIX-1", "harm": "low" });
    match accept(&v).body {
        EventBody::SafetyIncident(d) => {
            assert_eq!(d.state, IncidentState::Open);
            assert!(!d.serious_incident);
        }
        other => panic!("{other:?}"),
    }
    v["kind"] = json!("outage");
    v["data"] = json!({ "scope": "trust", "start": "2008-06-17T08:00:00Z" });
    match accept(&v).body {
        EventBody::Outage(d) => {
            assert!(d.services.is_empty() && d.end.is_none());
            assert!(!d.paper_fallback && !d.major_incident);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn null_means_absent_only_for_fields_without_a_default() {
    // Proves: the documented `null` rule: null is "absent" for optional fields without a
    // default, and Malformed for fields that have one.
    let mut v = base();
    for k in ["site", "source", "status", "supersedes"] {
        v[k] = Value::Null;
    }
    v["data"]["description"] = Value::Null;
    let e = accept(&v);
    assert_eq!(e.status, Status::Reported);
    assert_eq!((e.site, e.sources, e.supersedes), (None, vec![], None));

    let mut v = outage();
    v["data"]["end"] = Value::Null;
    accept(&v);
    for (field, value) in [("services", Value::Null), ("paper_fallback", Value::Null)] {
        let mut v = outage();
        v["data"][field] = value;
        let e = reject(&v);
        assert_eq!(e.field, format!("data.{field}"));
        assert!(matches!(e.reason, Reason::Malformed(_)), "{e:?}");
    }
}

#[test]
fn subject_and_chain_hash_are_as_documented() {
    // Proves: the subject is golive.events.<TRUST>.<kind>, and the chain hash is
    // SHA-256(prev || seq as u64 big-endian || canonical bytes), with a fixed known value.
    let e = accept(&base());
    assert_eq!(e.subject(), "golive.events.RAL.extra_cost");
    let canonical = e.canonical_bytes();
    let h1 = chain_hash(&GENESIS_HASH, 1, &canonical);
    let h2 = chain_hash(&h1, 2, &canonical);
    assert_ne!(h1, h2);
    let mut pre = GENESIS_HASH.to_vec();
    pre.extend_from_slice(&1u64.to_be_bytes());
    pre.extend_from_slice(&canonical);
    let expected: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&pre).into();
    assert_eq!(h1, expected);
    let documented = std::str::from_utf8(&canonical).unwrap();
    assert!(
        EVENTS_MD.contains(documented),
        "docs/EVENTS.md should show the canonical bytes {documented}"
    );
    assert!(
        EVENTS_MD.contains(&hex(&h1)),
        "docs/EVENTS.md should show the chain hash {}",
        hex(&h1)
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// (c) Round trip of canonical bytes (generators in `arb`)
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_bytes_round_trip(e in envelope()) {
        // Proves: for valid envelopes of every kind, decoding the canonical bytes gives the same
        // envelope, and the canonical bytes are a fixed point (stable after one round trip).
        prop_assert_eq!(e.validate(), Ok(()));
        let canonical = e.canonical_bytes();
        let back = decode(&canonical).map_err(|err| {
            TestCaseError::fail(format!("{err}\n{}", String::from_utf8_lossy(&canonical)))
        })?;
        prop_assert_eq!(&back, &e);
        prop_assert_eq!(back.canonical_bytes(), canonical);
    }

    #[test]
    fn any_formatting_gives_the_same_canonical_bytes(e in envelope()) {
        // Proves: two publishers writing the same event differently (keys sorted, pretty
        // printed) produce the same canonical bytes, hence the same chain hash.
        let canonical = e.canonical_bytes();
        let value: Value = serde_json::from_slice(&canonical).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        prop_assume!(pretty.len() <= MESSAGE_BYTES_MAX);
        let back = decode(pretty.as_bytes()).map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(back.canonical_bytes(), canonical);
    }
}

#[test]
fn every_kind_is_generated() {
    // Proves: the round-trip strategy covers every kind, so the property holds for each.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = envelope();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..2000 {
        seen.insert(strategy.new_tree(&mut runner).unwrap().current().kind());
    }
    assert_eq!(seen.len(), Kind::ALL.len(), "{seen:?}");
}
