//! The hand-written byte layouts of the outbox's records, each with a leading version byte,
//! independent of any Rust type and pinned by golden-bytes tests (in `super::tests`).

use golive_model::EventId;

use super::{
    EntryState, FIXED_LEN, HEADER_LEN, OutboxEntry, PublishState, RECORD_V1, RejectedEntry,
};
use crate::error::CollectError;

pub(super) fn corrupt(seq: u64, what: &str) -> CollectError {
    CollectError::OutboxCorrupt {
        seq,
        what: what.to_owned(),
    }
}

pub(super) fn encode_header(st: &EntryState) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = RECORD_V1;
    h[1] = st.state.to_byte();
    h[2..6].copy_from_slice(&st.republishes.to_be_bytes());
    h[6..10].copy_from_slice(&st.publish_attempts.to_be_bytes());
    h[10..18].copy_from_slice(&st.queued_unix_ms.to_be_bytes());
    h[18..26].copy_from_slice(&st.last_publish_unix_ms.unwrap_or(0).to_be_bytes());
    h
}

/// The V1 `events` value of `e` (see the module documentation).
pub fn encode_entry(e: &OutboxEntry) -> Vec<u8> {
    let mut v = Vec::with_capacity(FIXED_LEN + e.subject.len() + e.payload.len());
    encode_entry_into(e, &mut v);
    v
}

/// [`encode_entry`], appended to `v` (the chunk log writes a batch into one buffer).
pub(super) fn encode_entry_into(e: &OutboxEntry, v: &mut Vec<u8>) {
    let subject = e.subject.as_bytes();
    // Subjects are `golive.events.<ODS code>.<kind>`: far below 64 KiB.
    let subject_len = u16::try_from(subject.len()).expect("a subject is shorter than 64 KiB");
    v.extend_from_slice(&encode_header(&e.state));
    v.extend_from_slice(e.event_id.as_bytes());
    v.extend_from_slice(&subject_len.to_be_bytes());
    v.extend_from_slice(subject);
    v.extend_from_slice(&e.payload);
}

pub fn decode_entry(seq: u64, v: &[u8]) -> Result<OutboxEntry, CollectError> {
    if v.len() < FIXED_LEN {
        return Err(corrupt(seq, "record is shorter than its fixed part"));
    }
    let state = decode_header(seq, &v[..HEADER_LEN])?;
    let mut id = [0u8; 16];
    id.copy_from_slice(&v[26..42]);
    let subject_len = usize::from(u16::from_be_bytes([v[42], v[43]]));
    let rest = &v[FIXED_LEN..];
    if rest.len() < subject_len {
        return Err(corrupt(seq, "subject runs past the end of the record"));
    }
    let subject = std::str::from_utf8(&rest[..subject_len])
        .map_err(|_| corrupt(seq, "subject is not UTF-8"))?
        .to_owned();
    Ok(OutboxEntry {
        seq,
        event_id: EventId::from_bytes(id),
        subject,
        payload: rest[subject_len..].to_vec(),
        state,
    })
}

/// The state header ([`HEADER_LEN`] bytes) of an entry, as [`encode_header`] wrote it.
pub(super) fn decode_header(seq: u64, h: &[u8]) -> Result<EntryState, CollectError> {
    if h.len() < HEADER_LEN {
        return Err(corrupt(seq, "state header is shorter than its fixed part"));
    }
    if h[0] != RECORD_V1 {
        return Err(corrupt(seq, &format!("unknown record version {}", h[0])));
    }
    let state = PublishState::from_byte(h[1])
        .ok_or_else(|| corrupt(seq, &format!("unknown publish state {}", h[1])))?;
    let u32_at = |i: usize| u32::from_be_bytes(h[i..i + 4].try_into().expect("4 bytes"));
    let i64_at = |i: usize| i64::from_be_bytes(h[i..i + 8].try_into().expect("8 bytes"));
    let last = i64_at(18);
    Ok(EntryState {
        state,
        republishes: u32_at(2),
        publish_attempts: u32_at(6),
        queued_unix_ms: i64_at(10),
        last_publish_unix_ms: (last != 0).then_some(last),
    })
}

/// `rejected` value, V1: `[1][rejected_unix_ms i64][event_id 16][subject_len u16][subject]
/// [reason_len u16][reason][payload...]`.
pub fn encode_rejected(r: &RejectedEntry) -> Vec<u8> {
    let subject = r.subject.as_bytes();
    let reason = truncate_utf8(&r.reason, usize::from(u16::MAX));
    let mut v = Vec::with_capacity(1 + 8 + 16 + 4 + subject.len() + reason.len() + r.payload.len());
    v.push(RECORD_V1);
    v.extend_from_slice(&r.rejected_unix_ms.to_be_bytes());
    v.extend_from_slice(r.event_id.as_bytes());
    v.extend_from_slice(&(subject.len() as u16).to_be_bytes());
    v.extend_from_slice(subject);
    v.extend_from_slice(&(reason.len() as u16).to_be_bytes());
    v.extend_from_slice(reason.as_bytes());
    v.extend_from_slice(&r.payload);
    v
}

pub fn decode_rejected(seq: u64, v: &[u8]) -> Result<RejectedEntry, CollectError> {
    let bad = || corrupt(seq, "rejected record is malformed");
    if v.len() < 1 + 8 + 16 + 2 || v[0] != RECORD_V1 {
        return Err(bad());
    }
    let at = i64::from_be_bytes(v[1..9].try_into().expect("8 bytes"));
    let mut id = [0u8; 16];
    id.copy_from_slice(&v[9..25]);
    let mut rest = &v[25..];
    let mut text = || -> Result<String, CollectError> {
        if rest.len() < 2 {
            return Err(bad());
        }
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let s = rest.get(2..2 + n).ok_or_else(bad)?;
        let s = std::str::from_utf8(s).map_err(|_| bad())?.to_owned();
        rest = &rest[2 + n..];
        Ok(s)
    };
    let subject = text()?;
    let reason = text()?;
    Ok(RejectedEntry {
        seq,
        event_id: EventId::from_bytes(id),
        subject,
        reason,
        rejected_unix_ms: at,
        payload: rest.to_vec(),
    })
}

/// `refused` value, V1: `[1][refused_unix_ms i64][reason...]` (see the module documentation).
pub fn encode_refused(refused_unix_ms: i64, reason: &str) -> Vec<u8> {
    let reason = truncate_utf8(reason, 4096);
    let mut v = Vec::with_capacity(9 + reason.len());
    v.push(RECORD_V1);
    v.extend_from_slice(&refused_unix_ms.to_be_bytes());
    v.extend_from_slice(reason.as_bytes());
    v
}

pub fn decode_refused(seq: u64, v: &[u8]) -> Result<(i64, String), CollectError> {
    let bad = || corrupt(seq, "refused record is malformed");
    if v.len() < 9 || v[0] != RECORD_V1 {
        return Err(bad());
    }
    let at = i64::from_be_bytes(v[1..9].try_into().expect("8 bytes"));
    let reason = std::str::from_utf8(&v[9..]).map_err(|_| bad())?.to_owned();
    Ok((at, reason))
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
