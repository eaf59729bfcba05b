//! Hostile input. Whatever bytes arrive, `decode` answers with an envelope or a `DecodeError`
//! naming a field and a reason, never a panic; whatever it accepts round-trips through its
//! canonical bytes (`invariants::decode_checked`, shared with the fuzz target
//! `decode_envelope`). Each kind of hostile input has one defined outcome, pinned here and
//! tabled in docs/EVENTS.md ("Hostile input: defined outcomes").

use golive_model::*;
use golive_testkit::arb::envelope;
use golive_testkit::invariants::model::{check_accepted, decode_checked};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

/// A valid `extra_cost` event, as compact JSON text.
const BASE: &str = r#"{"event_id":"0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a","trust":"RAL","collector":"ral-board","collector_seq":7,"occurred_at":"2008-11-05T00:00:00Z","recorded_at":"2008-11-05T12:00:00Z","schema":1,"kind":"extra_cost","data":{"category":"temporary_staff","amount_pence":120000000},"source":{"type":"press","ref":"E-Health Insider, 5 Nov 2008"}}"#;

/// A valid `harm_review` event (the one kind with an object inside `data`).
const HARM: &str = r#"{"event_id":"389750d7-25f9-458f-b723-07f9ae9db464","trust":"RNJ","collector":"rnj-harm","collector_seq":1,"occurred_at":"2008-10-31T00:00:00Z","recorded_at":"2008-11-03T09:00:00Z","schema":1,"kind":"harm_review","data":{"cases_reviewed":6,"harm":{"none":4,"low":1,"moderate":1}}}"#;

/// `text` with `from` (which must occur exactly once) replaced by `to`.
fn with(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

fn reject(text: &str) -> DecodeError {
    match decode_checked(text.as_bytes()) {
        Ok(e) => panic!("expected a rejection, decoded {e:?} from {text}"),
        Err(e) => e,
    }
}

#[test]
fn the_base_events_are_valid() {
    decode_checked(BASE.as_bytes()).unwrap();
    decode_checked(HARM.as_bytes()).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Defined outcomes, one test per kind of hostile input
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_utf8_anywhere_is_not_utf8_of_the_message() {
    // Proves: invalid UTF-8 (a stray continuation byte, an overlong encoding, a surrogate
    // encoded in UTF-8, a truncated sequence), inside a string or between tokens, is refused
    // before any parsing as NotUtf8 of the whole message.
    for bad in [
        &[0x80][..],
        &[0xc0, 0xaf],
        &[0xed, 0xa0, 0x80],
        &[0xf0, 0x9f, 0x98],
        &[0xff],
    ] {
        for at in [BASE.find("RAL").unwrap(), BASE.len() - 1, 0] {
            let mut b = BASE.as_bytes().to_vec();
            b.splice(at..at, bad.iter().copied());
            let e = decode_checked(&b).unwrap_err();
            assert_eq!(e.field, "(message)");
            assert_eq!(e.reason, Reason::NotUtf8, "{bad:?} at {at}");
        }
    }
}

#[test]
fn a_json_escape_that_is_not_unicode_is_malformed_at_its_field() {
    // Proves: a lone surrogate written as a JSON escape (valid UTF-8 bytes, but no Unicode
    // text) is Malformed at the field that holds it; NUL and other control characters written
    // as escapes are ordinary text (the canonical form escapes them again), while a raw control
    // character inside a string is not JSON (Syntax).
    for escape in [
        r"\ud800",
        r"\udc00",
        r"\ud800\u0041",
        r"\ud800x",
        r"\udbff\udbff",
    ] {
        let e = reject(&with(BASE, "5 Nov 2008", escape));
        assert_eq!(e.field, "source.ref", "{escape}");
        assert!(
            matches!(&e.reason, Reason::Malformed(m) if m.contains("escape")),
            "{escape}: {e:?}"
        );
        let e = reject(&with(BASE, r#""RAL""#, &format!("\"{escape}\"")));
        assert_eq!(e.field, "trust", "{escape}");
    }
    // A valid surrogate pair is one character.
    let ok = decode_checked(with(BASE, "5 Nov 2008", r"\ud83d\ude00").as_bytes()).unwrap();
    assert_eq!(ok.sources[0].reference, "E-Health Insider, \u{1f600}");
    let ok = decode_checked(with(BASE, "5 Nov 2008", r"a\u0000b\u001fc").as_bytes()).unwrap();
    assert_eq!(ok.sources[0].reference, "E-Health Insider, a\0b\x1fc");
    let e = reject(&with(BASE, "5 Nov 2008", "a\u{1}b"));
    assert_eq!(e.field, "(message)");
    assert!(matches!(e.reason, Reason::Syntax(_)), "{e:?}");
}

#[test]
fn a_byte_order_mark_is_a_syntax_error() {
    // Proves: a UTF-8 byte-order mark before the object is not whitespace in JSON: Syntax.
    let e = reject(&format!("\u{feff}{BASE}"));
    assert_eq!(e.field, "(message)");
    assert!(matches!(e.reason, Reason::Syntax(_)), "{e:?}");
}

#[test]
fn huge_and_negative_numbers_have_one_outcome_per_field_type() {
    // Proves: numbers beyond 64 bits, beyond even f64 (`1e400`), floats written for integers,
    // and negatives where none are allowed are refused at their field, never rounded, wrapped
    // or saturated: BadPence for money, NegativePence for a negative amount, Malformed for
    // counts, `collector_seq` and `schema`.
    let amount = r#""amount_pence":120000000"#;
    for n in [
        "1e400",
        "-1e400",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "99999999999999999999999999999999999999999",
        "1e30",
        "1e2",
        "1.0",
        "-0.0",
    ] {
        let e = reject(&with(BASE, amount, &format!(r#""amount_pence":{n}"#)));
        assert_eq!(e.field, "data.amount_pence", "{n}");
        assert!(matches!(e.reason, Reason::BadPence(_)), "{n}: {e:?}");
    }
    let e = reject(&with(BASE, amount, r#""amount_pence":-1"#));
    assert_eq!(e.reason, Reason::NegativePence(-1));
    let e = reject(&with(
        BASE,
        amount,
        r#""amount_pence":-9223372036854775808"#,
    ));
    assert_eq!(e.reason, Reason::NegativePence(i64::MIN));
    let e = reject(&with(BASE, amount, r#""amount_pence":9223372036854775807"#));
    assert_eq!(
        e.reason,
        Reason::PenceOverLimit(i64::MAX, limits::PENCE_MAX)
    );
    let e = reject(&with(BASE, amount, r#""amount_pence":1e400"#));
    assert_eq!(
        e.reason,
        Reason::BadPence("number out of range (beyond any 64-bit integer or float)".into())
    );

    for (field, from) in [
        ("collector_seq", r#""collector_seq":7"#),
        ("schema", r#""schema":1"#),
        ("data.cases_reviewed", r#""cases_reviewed":6"#),
        ("data.harm.none", r#""none":4"#),
    ] {
        let text = if field.starts_with("data") {
            HARM
        } else {
            BASE
        };
        let name = field.rsplit('.').next().unwrap();
        for n in ["1e400", "18446744073709551616", "-1", "7.0", "-0"] {
            let e = reject(&with(text, from, &format!(r#""{name}":{n}"#)));
            assert_eq!(e.field, field, "{n}");
            assert!(
                matches!(e.reason, Reason::Malformed(_)),
                "{field} {n}: {e:?}"
            );
        }
    }
    // The largest u64 is a valid collector_seq; schema 2^64-1 is only unsupported.
    let max = with(
        BASE,
        r#""collector_seq":7"#,
        r#""collector_seq":18446744073709551615"#,
    );
    assert_eq!(
        decode_checked(max.as_bytes()).unwrap().collector_seq,
        u64::MAX
    );
    let e = reject(&with(
        BASE,
        r#""schema":1"#,
        r#""schema":18446744073709551615"#,
    ));
    assert_eq!(e.reason, Reason::UnsupportedSchema(u64::MAX));
}

#[test]
fn harm_counts_that_overflow_64_bits_are_inconsistent_not_saturated() {
    // Proves (regression, found by this suite): harm counts whose sum exceeds 2^64-1 are
    // Inconsistent, even when `cases_reviewed` is 2^64-1; they used to saturate to 2^64-1 and
    // pass the "sum <= cases_reviewed" check.
    let text = with(
        HARM,
        r#""cases_reviewed":6"#,
        r#""cases_reviewed":18446744073709551615"#,
    );
    let text = with(
        &text,
        r#"{"none":4,"low":1,"moderate":1}"#,
        r#"{"none":18446744073709551615,"low":1}"#,
    );
    let e = reject(&text);
    assert_eq!(e.field, "data.harm");
    assert_eq!(
        e.reason,
        Reason::Inconsistent(
            "harm counts add up to 18446744073709551616 but only 18446744073709551615 cases were reviewed"
                .into()
        )
    );
    // Every count at the maximum is one big sum, not a wrapped small one.
    let all = r#"{"none":18446744073709551615,"low":18446744073709551615,"moderate":18446744073709551615,"severe":18446744073709551615,"death":18446744073709551615}"#;
    let text = with(HARM, r#"{"none":4,"low":1,"moderate":1}"#, all);
    assert!(matches!(reject(&text).reason, Reason::Inconsistent(_)));
    // At the limit exactly, it is accepted.
    let text = with(
        HARM,
        r#""cases_reviewed":6"#,
        r#""cases_reviewed":18446744073709551615"#,
    );
    let text = with(
        &text,
        r#"{"none":4,"low":1,"moderate":1}"#,
        r#"{"none":18446744073709551614,"low":1}"#,
    );
    decode_checked(text.as_bytes()).unwrap();
}

#[test]
fn nesting_one_hundred_thousand_deep_is_too_large_and_any_depth_is_an_error() {
    // Proves: 100,000 `[` is over the message limit (MessageTooLarge, not parsed at all); under
    // the limit, deep nesting is an error at the field where it appears, whatever the depth,
    // and the stack is never at risk.
    let e = reject(&"[".repeat(100_000));
    assert_eq!(
        e.reason,
        Reason::MessageTooLarge {
            len: 100_000,
            max: MESSAGE_BYTES_MAX
        }
    );
    let e = reject(&"[".repeat(60_000));
    assert_eq!(e.reason, Reason::Syntax("EOF while parsing a list".into()));
    for depth in [129, 1_000, 30_000] {
        let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        for nested in [&arrays, &objects] {
            if nested.len() > MESSAGE_BYTES_MAX {
                continue;
            }
            // As the message: not an object (arrays), or an unknown field `a` (objects).
            let e = reject(nested);
            assert!(e.field == "(message)" || e.field == "a", "{e:?}");
            // As data, as a field of data, as a top-level field, inside source.
            let in_data = with(
                BASE,
                r#"{"category":"temporary_staff","amount_pence":120000000}"#,
                nested,
            );
            assert!(reject(&in_data).field.starts_with("data"));
            let in_amount = with(BASE, "120000000", nested);
            assert_eq!(reject(&in_amount).field, "data.amount_pence");
            let in_site = with(
                BASE,
                r#""trust":"RAL""#,
                &format!(r#""trust":"RAL","site":{nested}"#),
            );
            assert!(reject(&in_site).field.starts_with("site"));
            let in_source = with(BASE, r#""E-Health Insider, 5 Nov 2008""#, nested);
            assert!(reject(&in_source).field.starts_with("source"));
        }
    }
    // No field's type recurses, so nesting is refused at its first level: the depth of what
    // follows is skipped without recursion (serde_json's ignore is iterative).
    let e = reject(&format!("{}{}", "[".repeat(30_000), "]".repeat(30_000)));
    assert_eq!(
        e.reason,
        Reason::Malformed("invalid type: sequence, expected a JSON object".into())
    );
}

#[test]
fn duplicate_keys_are_rejected_with_the_field_named_even_when_escaped() {
    // Proves: a key given twice is DuplicateField at every level (top, data, source,
    // data.harm), also when the second spelling uses JSON escapes for the same name; never
    // "last wins" or "first wins".
    let cases = [
        (
            BASE,
            r#""trust":"RAL""#,
            r#""trust":"RAL","trust":"RNJ""#,
            "trust",
        ),
        (
            BASE,
            r#""trust":"RAL""#,
            r#""trust":"RAL","tr\u0075st":"RAL""#,
            "trust",
        ),
        (BASE, r#""schema":1"#, r#""schema":1,"data":{}"#, "data"),
        (
            BASE,
            r#""amount_pence":120000000"#,
            r#""amount_pence":120000000,"amount_pence":1"#,
            "data.amount_pence",
        ),
        (
            BASE,
            r#""type":"press""#,
            r#""type":"press","type":"foi""#,
            "source.type",
        ),
        (
            HARM,
            r#""none":4"#,
            r#""none":4,"none":0"#,
            "data.harm.none",
        ),
        (
            HARM,
            r#""none":4"#,
            r#""none":4,"n\u006fne":4"#,
            "data.harm.none",
        ),
    ];
    for (text, from, to, field) in cases {
        let e = reject(&with(text, from, to));
        assert_eq!(
            (e.field.as_str(), &e.reason),
            (field, &Reason::DuplicateField),
            "{to}"
        );
    }
}

#[test]
fn unknown_fields_are_rejected_at_every_level() {
    // Proves: a field the schema does not have is UnknownField with its path, at the top, in
    // data, in source and in data.harm; a misspelt known field is unknown too.
    let cases = [
        (
            BASE,
            r#""schema":1"#,
            r#""schema":1,"colour":"red""#,
            "colour",
        ),
        (
            BASE,
            r#""schema":1"#,
            r#""schema":1,"Trust":"RAL""#,
            "Trust",
        ),
        (
            BASE,
            r#""amount_pence":120000000"#,
            r#""amount_pence":120000000,"vat_pence":1"#,
            "data.vat_pence",
        ),
        (
            BASE,
            r#""type":"press""#,
            r#""type":"press","link":"x""#,
            "source.link",
        ),
        (
            HARM,
            r#""none":4"#,
            r#""none":4,"catastrophic":0"#,
            "data.harm.catastrophic",
        ),
    ];
    for (text, from, to, field) in cases {
        let e = reject(&with(text, from, to));
        assert_eq!(
            (e.field.as_str(), &e.reason),
            (field, &Reason::UnknownField),
            "{to}"
        );
    }
}

#[test]
fn an_empty_or_odd_key_is_an_unknown_field_named_as_written() {
    // Proves (regression, found by the fuzz target decode_envelope): the empty key `""` is an
    // UnknownField named `""` (it used to be named by the empty string, i.e. not at all), at
    // the top and inside objects; a key with backticks or dots is named in full.
    let cases = [
        (BASE, r#""schema":1"#, r#""schema":1,"":1"#, r#""""#),
        (
            BASE,
            r#""amount_pence":120000000"#,
            r#""amount_pence":120000000,"":1"#,
            r#"data."""#,
        ),
        (
            BASE,
            r#""type":"press""#,
            r#""type":"press","":1"#,
            r#"source."""#,
        ),
        (HARM, r#""none":4"#, r#""none":4,"":0"#, r#"data.harm."""#),
        (
            BASE,
            r#""schema":1"#,
            r#""schema":1,"a`b, c`":1"#,
            "a`b, c`",
        ),
        (BASE, r#""schema":1"#, r#""schema":1,"a.b":1"#, "a.b"),
        (
            BASE,
            r#""amount_pence":120000000"#,
            r#""amount_pence":120000000,"`":1"#,
            "data.`",
        ),
    ];
    for (text, from, to, field) in cases {
        let e = reject(&with(text, from, to));
        assert_eq!(
            (e.field.as_str(), &e.reason),
            (field, &Reason::UnknownField),
            "{to}"
        );
    }
}

#[test]
fn an_object_written_as_an_array_is_rejected() {
    // Proves (regression, found by this suite): serde's derive accepts a struct written as an
    // array of its field values; the envelope, data, source and data.harm are refused unless
    // they are JSON objects (Malformed at their path).
    let positional = r#"["0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a","RAL",null,"ral-board",7,"2008-11-05T00:00:00Z","2008-11-05T12:00:00Z",1,"extra_cost",{"category":"temporary_staff","amount_pence":120000000},null,null,null]"#;
    let expected = |field: &str| {
        DecodeError::new(
            field,
            Reason::Malformed("invalid type: sequence, expected a JSON object".into()),
        )
    };
    assert_eq!(reject(positional), expected("(message)"));
    let data = with(
        BASE,
        r#"{"category":"temporary_staff","amount_pence":120000000}"#,
        r#"["temporary_staff",120000000,null]"#,
    );
    assert_eq!(reject(&data), expected("data"));
    let source = with(
        BASE,
        r#"{"type":"press","ref":"E-Health Insider, 5 Nov 2008"}"#,
        r#"["press","x"]"#,
    );
    assert_eq!(reject(&source), expected("source"));
    let harm = with(HARM, r#"{"none":4,"low":1,"moderate":1}"#, "[4,1,1,0,0]");
    assert_eq!(reject(&harm), expected("data.harm"));
    // Any other JSON type is refused the same way (`null` is "absent", as for every optional
    // field without a default).
    for other in ["1", r#""x""#, "true"] {
        assert_eq!(
            reject(&with(
                BASE,
                r#"{"type":"press","ref":"E-Health Insider, 5 Nov 2008"}"#,
                other
            ))
            .field,
            "source"
        );
    }
}

#[test]
fn oversized_messages_are_refused_before_parsing() {
    // Proves: one byte over MESSAGE_BYTES_MAX is MessageTooLarge, whatever the bytes are (here
    // not even UTF-8), so an oversized message costs no parsing.
    let mut b = vec![0xffu8; MESSAGE_BYTES_MAX + 1];
    b[0] = b'{';
    let e = decode_checked(&b).unwrap_err();
    assert_eq!(
        e.reason,
        Reason::MessageTooLarge {
            len: MESSAGE_BYTES_MAX + 1,
            max: MESSAGE_BYTES_MAX
        }
    );
}

#[test]
fn the_largest_valid_event_still_fits_in_one_message_in_canonical_form() {
    // Proves: canonical bytes never outgrow the message limit, so every accepted event can be
    // decoded again from an export (audit replay): the largest event the limits allow, with
    // every text at its character limit in the character that escapes longest (`\u0001`, six
    // bytes), is still under MESSAGE_BYTES_MAX in canonical form.
    let c = |n: usize| "\u{1}".repeat(n);
    let e = Envelope {
        event_id: EventId::from_bytes([7; 16]),
        trust: OdsCode::parse("RAL99").unwrap(),
        site: Some(c(limits::ID_CHARS_MAX)),
        collector: CollectorId("c".repeat(limits::ID_CHARS_MAX)),
        collector_seq: u64::MAX,
        occurred_at: "2008-06-17T08:00:00.123456789Z".parse().unwrap(),
        recorded_at: "2008-06-17T08:00:00.123456789Z".parse().unwrap(),
        schema: SCHEMA_2,
        body: EventBody::Outage(Outage {
            scope: c(limits::NAME_CHARS_MAX),
            services: vec![c(limits::NAME_CHARS_MAX); limits::SERVICES_MAX],
            start: "2008-06-17T08:00:00.123456789Z".parse().unwrap(),
            end: Some("2008-06-17T09:00:00.123456789Z".parse().unwrap()),
            paper_fallback: true,
            major_incident: true,
        }),
        // The sources' texts share one budget: split over the most sources, with URLs.
        sources: (0..limits::SOURCES_MAX)
            .map(|_| {
                let share = limits::SOURCES_CHARS_MAX / limits::SOURCES_MAX;
                Source {
                    source_type: SourceType::ParliamentDebate,
                    reference: c(share - 9),
                    published_at: Some(chrono::NaiveDate::from_ymd_opt(2009, 2, 27).unwrap()),
                    url: Some("https://\u{1}".to_owned()),
                }
            })
            .collect(),
        status: Status::Validated,
        supersedes: Some(EventId::from_bytes([8; 16])),
        relates_to: Some(RelatesTo {
            event_id: EventId::from_bytes([9; 16]),
            relation: Relation::Disputes,
        }),
        attribution: Some(Attribution {
            by: c(limits::NAME_CHARS_MAX),
            stance: Stance::DeniesSystemCause,
        }),
    };
    assert_eq!(e.validate(), Ok(()));
    let canonical = e.canonical_bytes();
    assert!(canonical.len() <= MESSAGE_BYTES_MAX, "{}", canonical.len());
    check_accepted(&e);
}

// ---------------------------------------------------------------------------------------------
// Properties: arbitrary and mutated input
// ---------------------------------------------------------------------------------------------

/// Tokens a hostile or broken publisher might put anywhere.
const TOKENS: &[&str] = &[
    "1e400",
    "-1",
    "18446744073709551616",
    "-9223372036854775809",
    "1.5",
    "-0",
    "null",
    "true",
    "[]",
    "{}",
    r#""\ud800""#,
    r#""\u0000""#,
    "\u{feff}",
    ",",
    ":",
    "\"",
    "\\",
    "{\"a\":1}",
    "[[[[[[[[",
    "]]]]",
    "}}",
    "0x10",
    "NaN",
    "Infinity",
    "\u{10ffff}",
    "\u{2028}",
    "\"\"",
    r#""event_id""#,
    r#""data""#,
    r#""kind":"outage""#,
];

#[derive(Debug, Clone)]
enum Mutation {
    Xor(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Truncate(Index),
    Token(Index, Index),
    /// Copies a slice of the message to another place (keys and values repeated).
    Copy(Index, Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1u8..).prop_map(|(i, b)| Mutation::Xor(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Remove),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(i, t)| Mutation::Token(i, t)),
        (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(a, b, c)| Mutation::Copy(a, b, c)),
    ]
}

fn mutate(b: &mut Vec<u8>, m: &Mutation) {
    let at = |i: &Index, b: &Vec<u8>| i.index(b.len() + 1);
    match m {
        Mutation::Xor(i, x) if !b.is_empty() => {
            let i = i.index(b.len());
            b[i] ^= x;
        }
        Mutation::Insert(i, x) => {
            let i = at(i, b);
            b.insert(i, *x);
        }
        Mutation::Remove(i) if !b.is_empty() => {
            let i = i.index(b.len());
            b.remove(i);
        }
        Mutation::Truncate(i) => {
            let i = at(i, b);
            b.truncate(i);
        }
        Mutation::Token(i, t) => {
            let i = at(i, b);
            let t = TOKENS[t.index(TOKENS.len())].as_bytes();
            b.splice(i..i, t.iter().copied());
        }
        Mutation::Copy(from, len, to) if !b.is_empty() => {
            let from = from.index(b.len());
            let len = len.index(b.len() - from) + 1;
            let piece = b[from..from + len].to_vec();
            let to = at(to, b);
            b.splice(to..to, piece);
        }
        _ => {}
    }
}

/// A path to a value inside a JSON document.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    At(usize),
}

/// Every path in `v` (including the root, `[]`), objects and arrays first-class.
fn paths(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                here.push(Step::Key(k.clone()));
                paths(child, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                here.push(Step::At(i));
                paths(child, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn get_mut<'a>(v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(v, |v, s| match s {
        Step::Key(k) => &mut v[k.as_str()],
        Step::At(i) => &mut v[*i],
    })
}

/// The field path `decode` names for `path`: keys joined with `.`, indices as `[i]`.
fn field_of(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) if s.is_empty() => s.push_str(k),
            Step::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Step::At(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// A JSON text of `e` with the value at a chosen path replaced by raw `token` text.
fn with_token_at(e: &Envelope, at: &Index, token: &str) -> (String, Vec<Step>) {
    const MARK: &str = "\u{1}HOSTILE\u{1}";
    let mut v: Value = serde_json::from_slice(&e.canonical_bytes()).unwrap();
    let mut all = Vec::new();
    paths(&v, &mut Vec::new(), &mut all);
    all.remove(0); // not the root
    let path = all[at.index(all.len())].clone();
    *get_mut(&mut v, &path) = json!(MARK);
    let text = serde_json::to_string(&v).unwrap();
    (text.replacen(r#""\u0001HOSTILE\u0001""#, token, 1), path)
}

/// Values that no field of any kind accepts.
fn never_valid() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1e400".to_owned()),
        Just("-1e400".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("1.5".to_owned()),
        Just(r#""\ud800""#.to_owned()),
        Just(r#"[1.5]"#.to_owned()),
        (129usize..2000).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
        (129usize..2000).prop_map(|d| format!("{}1.5{}", r#"{"a":"#.repeat(d), "}".repeat(d))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_give_an_answer_never_a_panic(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Proves: arbitrary bytes give Ok (with the round-trip invariants) or a DecodeError.
        let _ = decode_checked(&b);
    }

    #[test]
    fn arbitrary_text_gives_an_answer_never_a_panic(s in "\\PC{0,300}") {
        // Proves: the same for arbitrary (valid UTF-8) text, which gets further into the parser.
        let _ = decode_checked(s.as_bytes());
    }

    #[test]
    fn mutated_valid_events_give_an_answer_never_a_panic(
        e in envelope(),
        ms in proptest::collection::vec(mutation(), 1..6),
    ) {
        // Proves: valid events with bytes flipped, inserted, removed, cut, repeated or hostile
        // tokens spliced in are decoded or rejected; whatever is accepted round-trips.
        let mut b = e.canonical_bytes();
        for m in &ms {
            mutate(&mut b, m);
        }
        let _ = decode_checked(&b);
    }

    #[test]
    fn a_never_valid_value_anywhere_is_rejected_at_its_path(
        e in envelope(),
        at in any::<Index>(),
        token in never_valid(),
    ) {
        // Proves: replacing any one value of a valid event (top level, data, source, harm,
        // an outage's services) with a value no field accepts (a huge or fractional number, a
        // lone surrogate, nesting past 128 levels) is rejected, naming that value's path (or a
        // path inside it).
        let (text, path) = with_token_at(&e, &at, &token);
        prop_assume!(text.len() <= MESSAGE_BYTES_MAX);
        let err = decode_checked(text.as_bytes()).expect_err("a never-valid value was accepted");
        let field = field_of(&path);
        prop_assert!(err.field.starts_with(&field), "{} at {}: {:?}", token.chars().take(20).collect::<String>(), field, err);
    }

    #[test]
    fn an_unknown_field_in_any_object_is_rejected_with_its_path(e in envelope(), at in any::<Index>()) {
        // Proves: an extra key in any object of any kind of event is UnknownField, named.
        let mut v: Value = serde_json::from_slice(&e.canonical_bytes()).unwrap();
        let mut all = Vec::new();
        paths(&v, &mut Vec::new(), &mut all);
        let objects: Vec<_> = all.into_iter().filter(|p| get_mut(&mut v, p).is_object()).collect();
        let path = objects[at.index(objects.len())].clone();
        get_mut(&mut v, &path)["x_unknown"] = json!(1);
        let err = decode_checked(&serde_json::to_vec(&v).unwrap()).expect_err("accepted");
        let mut field = field_of(&path);
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str("x_unknown");
        prop_assert_eq!(err, DecodeError::new(field, Reason::UnknownField));
    }

    #[test]
    fn a_duplicate_key_in_any_object_is_rejected_with_its_path(
        e in envelope(),
        at in any::<Index>(),
        key in any::<Index>(),
    ) {
        // Proves: any key of any object of any kind of event, given twice (same value), is
        // DuplicateField naming that key: never "last wins".
        const MARK: &str = "\u{1}DUP\u{1}";
        let mut v: Value = serde_json::from_slice(&e.canonical_bytes()).unwrap();
        let mut all = Vec::new();
        paths(&v, &mut Vec::new(), &mut all);
        let objects: Vec<_> = all
            .into_iter()
            .filter(|p| get_mut(&mut v, p).as_object().is_some_and(|o| !o.is_empty()))
            .collect();
        let path = objects[at.index(objects.len())].clone();
        let object = get_mut(&mut v, &path).as_object_mut().unwrap();
        let name = object.keys().nth(key.index(object.len())).unwrap().clone();
        let value = object[&name].clone();
        object.insert(MARK.to_owned(), value);
        let text = serde_json::to_string(&v)
            .unwrap()
            .replacen(r#""\u0001DUP\u0001""#, &serde_json::to_string(&name).unwrap(), 1);
        prop_assume!(text.len() <= MESSAGE_BYTES_MAX);
        let err = decode_checked(text.as_bytes()).expect_err("accepted");
        let mut field = field_of(&path);
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(&name);
        prop_assert_eq!(err, DecodeError::new(field, Reason::DuplicateField));
    }
}

#[test]
fn the_hostile_input_table_in_events_md_cites_tests_that_exist() {
    // Proves: docs/EVENTS.md's "Hostile input: defined outcomes" table names, for each row, a
    // test in this file (or decode.rs) that exists, so the table cannot drift from the tests.
    const EVENTS_MD: &str = include_str!("../../../../docs/EVENTS.md");
    const SOURCES: [&str; 2] = [include_str!("hostile.rs"), include_str!("decode.rs")];
    let section = EVENTS_MD
        .split("## Hostile input: defined outcomes")
        .nth(1)
        .expect("the section exists")
        .split("\n## ")
        .next()
        .unwrap();
    let mut cited = 0;
    for row in section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ---"))
    {
        let test = row.trim_end_matches(" |").rsplit(" | ").next().unwrap();
        for name in test
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|n| n.contains('_'))
        {
            let f = format!("fn {name}(");
            assert!(SOURCES.iter().any(|s| s.contains(&f)), "no test {name}");
            cited += 1;
        }
    }
    assert!(cited >= 12, "{cited}");
}
