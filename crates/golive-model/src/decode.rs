//! JSON wire bytes -> validated [`Envelope`]. The one way events enter the system.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::envelope::{Envelope, SCHEMA_VERSION, Source, Status};
use crate::error::{DecodeError, Reason};
use crate::kinds::{EventBody, Kind};
use crate::types::{CollectorId, EventId, OdsCode, utc};

/// Largest message accepted, in bytes. Real events are a few hundred bytes.
pub const MESSAGE_BYTES_MAX: usize = 64 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    trust: Cow<'a, str>,
    #[serde(default)]
    site: Option<String>,
    collector: String,
    collector_seq: u64,
    #[serde(borrow)]
    occurred_at: Cow<'a, str>,
    #[serde(borrow)]
    recorded_at: Cow<'a, str>,
    schema: u64,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    data: &'a RawValue,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default, borrow)]
    supersedes: Option<Cow<'a, str>>,
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
    if text.len() > MESSAGE_BYTES_MAX {
        return Err(DecodeError::whole(Reason::MessageTooLarge {
            len: text.len(),
            max: MESSAGE_BYTES_MAX,
        }));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let wire: Wire = serde_path_to_error::deserialize(&mut de).map_err(|e| serde_error("", e))?;
    de.end().map_err(|e| {
        DecodeError::whole(Reason::Syntax(strip_position(&e.to_string())))
    })?;

    let event_id = parse_uuid("event_id", &wire.event_id)?;
    let trust = OdsCode::parse(&wire.trust)
        .ok_or_else(|| DecodeError::new("trust", Reason::BadOdsCode(wire.trust.to_string())))?;
    let occurred_at = parse_time("occurred_at", &wire.occurred_at)?;
    let recorded_at = parse_time("recorded_at", &wire.recorded_at)?;
    if wire.schema != u64::from(SCHEMA_VERSION) {
        return Err(DecodeError::new("schema", Reason::UnsupportedSchema(wire.schema)));
    }
    let kind = Kind::parse(&wire.kind).ok_or_else(|| {
        DecodeError::new("kind", Reason::UnknownKind(wire.kind.to_string(), Kind::NAMES.trim_end()))
    })?;
    let body = EventBody::from_data(kind, wire.data).map_err(|e| serde_error("data", e))?;
    let supersedes = wire
        .supersedes
        .as_deref()
        .map(|s| parse_uuid("supersedes", s))
        .transpose()?;
    let envelope = Envelope {
        event_id,
        trust,
        site: wire.site,
        collector: CollectorId(wire.collector),
        collector_seq: wire.collector_seq,
        occurred_at,
        recorded_at,
        schema: SCHEMA_VERSION,
        body,
        source: wire.source,
        status: wire.status.unwrap_or_default(),
        supersedes,
    };
    envelope.validate()?;
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

/// Turns a serde error into a field path and a typed reason.
fn serde_error(prefix: &str, e: serde_path_to_error::Error<serde_json::Error>) -> DecodeError {
    let path = e.path().to_string();
    let path = if path == "." || path.is_empty() {
        prefix.to_owned()
    } else if prefix.is_empty() {
        path
    } else {
        format!("{prefix}.{path}")
    };
    let inner = e.into_inner();
    let msg = strip_position(&inner.to_string());
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if matches!(
        inner.classify(),
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof
    ) {
        return DecodeError::whole(Reason::Syntax(msg));
    }
    for (prefix, reason) in [
        ("missing field `", Reason::Missing),
        ("unknown field `", Reason::UnknownField),
        ("duplicate field `", Reason::DuplicateField),
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let name = rest.split('`').next().unwrap_or("");
            return DecodeError::new(join(name), reason);
        }
    }
    let field = if path.is_empty() { "(message)".to_owned() } else { path };
    if field.ends_with("amount_pence") {
        return DecodeError::new(field, Reason::BadPence(msg));
    }
    DecodeError::new(field, Reason::Malformed(msg))
}

/// serde_json appends " at line L column C"; the field path says more than the position.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}
