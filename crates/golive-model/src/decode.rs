//! JSON wire bytes -> validated [`Envelope`]. The one way events enter the system.

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::envelope::{
    Attribution, Envelope, RelatesTo, SCHEMA_1, SCHEMA_2, Source, Status, upcast_schema1_source,
};
use crate::error::{DecodeError, Reason};
use crate::kinds::{EventBody, Kind};
use crate::types::{CollectorId, EventId, OdsCode, utc};

/// Largest message accepted, in bytes. Real events are a few hundred bytes.
pub const MESSAGE_BYTES_MAX: usize = 64 * 1024;

/// The envelope as it arrives. Required fields are `Option` here so that the first problem
/// reported follows the field order of the envelope (a bad `event_id` is named before a missing
/// `collector`), rather than serde's order of discovery.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(default, borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    trust: Option<Cow<'a, str>>,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    collector: Option<String>,
    #[serde(default)]
    collector_seq: Option<u64>,
    #[serde(default, borrow)]
    occurred_at: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    recorded_at: Option<Cow<'a, str>>,
    #[serde(default)]
    schema: Option<u64>,
    #[serde(default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    source: Option<ObjectOnly<Source>>,
    #[serde(default)]
    sources: Option<Vec<ObjectOnly<Source>>>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default, borrow)]
    supersedes: Option<Cow<'a, str>>,
    #[serde(default)]
    relates_to: Option<ObjectOnly<RelatesTo>>,
    #[serde(default)]
    attribution: Option<ObjectOnly<Attribution>>,
}

/// The sources of an event as its schema writes them: schema 1 has an optional `source` (upcast
/// to a list of at most one), schema 2 a required `sources` list; each refuses the other's
/// fields.
fn sources_of(
    schema: u16,
    source: Option<ObjectOnly<Source>>,
    sources: Option<Vec<ObjectOnly<Source>>>,
    links: [(&str, bool); 2],
) -> Result<Vec<Source>, DecodeError> {
    let source = source.map(|s| s.0);
    if schema == SCHEMA_1 {
        if sources.is_some() {
            return Err(DecodeError::new("sources", Reason::NeedsSchema2));
        }
        for (field, present) in links {
            if present {
                return Err(DecodeError::new(field, Reason::NeedsSchema2));
            }
        }
        return Ok(upcast_schema1_source(source));
    }
    if source.is_some() {
        return Err(DecodeError::new(
            "source",
            Reason::Malformed("schema 2 lists its sources in `sources` (a list)".to_owned()),
        ));
    }
    let sources = required("sources", sources)?;
    Ok(sources.into_iter().map(|s| s.0).collect())
}

/// `T` (a derived struct) read from a JSON object only. serde's derive also accepts a struct
/// written as an array of its field values in declaration order (`["0f8e...", "RAL", ...]`);
/// the wire format is objects with named fields, so an array (or any other JSON type) is a
/// wrong type here. The object itself goes to `T`'s own derived code (unknown and duplicate
/// fields are still its to refuse), so this costs one visitor call.
pub(crate) struct ObjectOnly<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object_only(d).map(ObjectOnly)
    }
}

/// `deserialize_with` form of [`ObjectOnly`], for struct fields inside `data`.
pub(crate) fn object_only<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    struct Object<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Object<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(Object(PhantomData))
}

/// Deserializes a `T` from the start of `text` (the caller checks what follows), and hands back
/// the deserializer. Plain serde first: tracking the path of every field costs about a third
/// of decoding an event (collector profile, docs/BENCHMARKS.md), and it is only needed to say
/// where an error is, so only input that fails is read a second time, with the path tracked.
pub(crate) fn from_str_tracked<'de, T: Deserialize<'de>>(
    text: &'de str,
) -> Result<
    (T, serde_json::Deserializer<serde_json::de::StrRead<'de>>),
    serde_path_to_error::Error<serde_json::Error>,
> {
    let mut de = serde_json::Deserializer::from_str(text);
    match T::deserialize(&mut de) {
        Ok(t) => Ok((t, de)),
        Err(plain) => {
            let mut de = serde_json::Deserializer::from_str(text);
            match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Err(e) => Err(e),
                // The same text and the same rules fail the same way; should they not, the
                // plain error is kept, without a path.
                Ok(_) => Err(serde_path_to_error::Error::new(
                    serde_path_to_error::Track::new().path(),
                    plain,
                )),
            }
        }
    }
}

fn required<T>(field: &str, v: Option<T>) -> Result<T, DecodeError> {
    v.ok_or_else(|| DecodeError::new(field, Reason::Missing))
}

/// Decodes and validates one event from JSON bytes.
pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    if bytes.len() > MESSAGE_BYTES_MAX {
        return Err(DecodeError::whole(Reason::MessageTooLarge {
            len: bytes.len(),
            max: MESSAGE_BYTES_MAX,
        }));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::whole(Reason::NotUtf8))?;
    decode_str(text)
}

/// Decodes and validates one event from a JSON string.
pub fn decode_str(text: &str) -> Result<Envelope, DecodeError> {
    let envelope = parse_str(text)?;
    envelope.validate()?;
    Ok(envelope)
}

/// Reads the canonical bytes of an event the ledger already accepted (a stored record): the
/// structure is checked, the semantic rules of [`Envelope::validate`] are not, so that a rule
/// tightened in a later release never makes an old record unreadable.
pub fn decode_canonical(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::whole(Reason::NotUtf8))?;
    parse_str(text)
}

/// JSON text -> envelope, structure only.
fn parse_str(text: &str) -> Result<Envelope, DecodeError> {
    if text.len() > MESSAGE_BYTES_MAX {
        return Err(DecodeError::whole(Reason::MessageTooLarge {
            len: text.len(),
            max: MESSAGE_BYTES_MAX,
        }));
    }
    let (ObjectOnly(wire), mut de) =
        from_str_tracked::<ObjectOnly<Wire>>(text).map_err(|e| serde_error("", text, e))?;
    de.end()
        .map_err(|e| DecodeError::whole(Reason::Syntax(strip_position(&e.to_string()))))?;

    let event_id = parse_uuid("event_id", &required("event_id", wire.event_id)?)?;
    let trust_text = required("trust", wire.trust)?;
    let trust = OdsCode::parse(&trust_text)
        .ok_or_else(|| DecodeError::new("trust", Reason::BadOdsCode(trust_text.to_string())))?;
    let collector = required("collector", wire.collector)?;
    let collector_seq = required("collector_seq", wire.collector_seq)?;
    let occurred_at = parse_time("occurred_at", &required("occurred_at", wire.occurred_at)?)?;
    let recorded_at = parse_time("recorded_at", &required("recorded_at", wire.recorded_at)?)?;
    let schema = required("schema", wire.schema)?;
    let schema = match u16::try_from(schema) {
        Ok(s) if s == SCHEMA_1 || s == SCHEMA_2 => s,
        _ => {
            return Err(DecodeError::new(
                "schema",
                Reason::UnsupportedSchema(schema),
            ));
        }
    };
    let kind_text = required("kind", wire.kind)?;
    let kind = Kind::parse(&kind_text).ok_or_else(|| {
        DecodeError::new(
            "kind",
            Reason::UnknownKind(kind_text.to_string(), Kind::NAMES.trim_end()),
        )
    })?;
    let data = required("data", wire.data)?;
    let body = EventBody::from_data(kind, data).map_err(|e| serde_error("data", data.get(), e))?;
    let supersedes = wire
        .supersedes
        .as_deref()
        .map(|s| parse_uuid("supersedes", s))
        .transpose()?;
    let links = [
        ("relates_to", wire.relates_to.is_some()),
        ("attribution", wire.attribution.is_some()),
    ];
    let sources = sources_of(schema, wire.source, wire.sources, links)?;
    let envelope = Envelope {
        event_id,
        trust,
        site: wire.site,
        collector: CollectorId(collector),
        collector_seq,
        occurred_at,
        recorded_at,
        schema,
        body,
        sources,
        status: wire.status.unwrap_or_default(),
        supersedes,
        relates_to: wire.relates_to.map(|r| r.0),
        attribution: wire.attribution.map(|a| a.0),
    };
    Ok(envelope)
}

fn parse_uuid(field: &str, s: &str) -> Result<EventId, DecodeError> {
    uuid::Uuid::parse_str(s)
        .map(EventId)
        .map_err(|_| DecodeError::new(field, Reason::BadUuid(s.to_owned())))
}

fn parse_time(field: &str, s: &str) -> Result<chrono::DateTime<chrono::Utc>, DecodeError> {
    utc::parse(s).map_err(|_| {
        let reason = if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
            Reason::NotUtc(s.to_owned())
        } else {
            Reason::BadTime(s.to_owned())
        };
        DecodeError::new(field, reason)
    })
}

/// Turns a serde error into a field path and a typed reason. `source` is the JSON text that was
/// being read.
fn serde_error(
    prefix: &str,
    source: &str,
    e: serde_path_to_error::Error<serde_json::Error>,
) -> DecodeError {
    // Input that is not well-formed JSON is a syntax error of the message, whatever serde met
    // first (it reports a type error before reaching a broken or truncated part). `data` was
    // already read as well-formed JSON, so only the whole message needs the check.
    if prefix.is_empty()
        && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(source)
    {
        return DecodeError::whole(Reason::Syntax(strip_position(&e.to_string())));
    }
    let path = field_path(prefix, &e.path().to_string());
    let inner = e.into_inner();
    let msg = strip_position(&inner.to_string());
    if matches!(
        inner.classify(),
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof
    ) {
        return bad_value_in_wellformed_json(path, msg);
    }
    if let Some(error) = field_name_error(&path, &msg) {
        return error;
    }
    let field = field_or_message(path);
    if field.ends_with("amount_pence") {
        return DecodeError::new(field, Reason::BadPence(msg));
    }
    if let Some(reason) = custom_reason(&msg) {
        return DecodeError::new(field, reason);
    }
    DecodeError::new(field, Reason::Malformed(msg))
}

/// The full path of a field: serde's path inside the value read, under `prefix` (the path of
/// that value in the message, empty for the message itself).
fn field_path(prefix: &str, path: &str) -> String {
    if path == "." || path.is_empty() {
        prefix.to_owned()
    } else if prefix.is_empty() {
        path.to_owned()
    } else if path.starts_with('[') {
        format!("{prefix}{path}")
    } else {
        format!("{prefix}.{path}")
    }
}

/// The field an error names: its path, or the whole message when the path is empty.
fn field_or_message(path: String) -> String {
    if path.is_empty() {
        "(message)".to_owned()
    } else {
        path
    }
}

/// A syntax error serde_json reports in JSON that is well-formed (checked before): serde_json
/// reports some bad values as syntax errors: a wrong-typed enum value (`"status": 5`: "expected
/// value"), a number beyond even a float's range (`1e400`: "number out of range") and a string
/// escape that is not Unicode (`"\ud800"`, a lone surrogate). Each is a bad value of the field.
fn bad_value_in_wellformed_json(path: String, msg: String) -> DecodeError {
    let field = field_or_message(path);
    if msg.starts_with("number out of range") {
        let what = "number out of range (beyond any 64-bit integer or float)".to_owned();
        let reason = if field.ends_with("amount_pence") {
            Reason::BadPence(what)
        } else {
            Reason::Malformed(what)
        };
        return DecodeError::new(field, reason);
    }
    if msg.starts_with("expected") {
        return DecodeError::new(
            field,
            Reason::Malformed(format!(
                "invalid type: {msg} (one of the names this field allows)"
            )),
        );
    }
    DecodeError::new(field, Reason::Malformed(msg))
}

/// A missing, unknown or duplicate field, named by its full path; `None` for other errors.
fn field_name_error(path: &str, msg: &str) -> Option<DecodeError> {
    // The path of an unknown field already ends with the field's own name; the path of a
    // missing or duplicate field is that of the enclosing object.
    let (rest, reason, name_in_path) = [
        ("missing field `", Reason::Missing, false),
        ("unknown field `", Reason::UnknownField, true),
        ("duplicate field `", Reason::DuplicateField, false),
    ]
    .into_iter()
    .find_map(|(start, reason, in_path)| {
        msg.strip_prefix(start).map(|rest| (rest, reason, in_path))
    })?;
    // An unknown key is the publisher's text and may hold backticks: it ends where serde's
    // list of the expected fields begins.
    let name = if name_in_path {
        ["`, expected", "`, there are no fields"]
            .iter()
            .find_map(|end| rest.find(end).map(|i| &rest[..i]))
            .unwrap_or_else(|| rest.strip_suffix('`').unwrap_or(rest))
    } else {
        rest.split('`').next().unwrap_or("")
    };
    if name.is_empty() {
        // The empty key `""` has no name to show; it is written as `""`.
        let enclosing = if name_in_path {
            path.strip_suffix('.').unwrap_or(path)
        } else {
            path
        };
        let field = if enclosing.is_empty() || enclosing == "." {
            "\"\"".to_owned()
        } else {
            format!("{enclosing}.\"\"")
        };
        return Some(DecodeError::new(field, reason));
    }
    let field = if name_in_path && (path == name || path.ends_with(&format!(".{name}"))) {
        path.to_owned()
    } else if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    };
    Some(DecodeError::new(field, reason))
}

/// Months and times inside `data` are checked by the custom deserialisers in `types.rs`; their
/// messages (kept in step with those) map back to the typed reasons the top-level fields get.
fn custom_reason(msg: &str) -> Option<Reason> {
    let rest = msg.strip_prefix('`')?;
    let value = |suffix: &str| rest.strip_suffix(suffix).map(str::to_owned);
    if let Some(v) = value("` is not a date in the form YYYY-MM-DD") {
        return Some(Reason::BadDate(v));
    }
    if let Some(v) = value("` is not a month in the form YYYY-MM") {
        return Some(Reason::BadPeriod(v));
    }
    if let Some(v) = value("` is not UTC: write times with `Z`") {
        return Some(Reason::NotUtc(v));
    }
    value("` is not an RFC 3339 time (e.g. 2008-06-15T09:00:00Z)").map(Reason::BadTime)
}

/// serde_json appends " at line L column C"; the field path says more than the position.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}
