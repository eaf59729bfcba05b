//! The audit over a running ledger's HTTP API (`--server URL`): verify, export and the record
//! stream of `compare`, page by page through `/v1/events`, `/v1/checkpoints` and
//! `/v1/proof/consistency`. The server is not trusted: what it sends is checked exactly as an
//! export would be (an export made here is a plain export, verified offline like any other).

use std::io::Write;

use golive_model::chain_hash;
use golive_verify::{
    CheckpointEntry, CheckpointLine, Header, Line, Outcome, Problem, Start, TrustKeys, Verifier,
    VerifierKey, parse_line,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{AuditError, ExportSummary, HashStream, Progress, check_range, write_json_line};
use crate::client::{Client, ClientError};

/// Records asked for per page (the server's maximum).
const PAGE_RECORDS: u64 = 1_000;

#[derive(Deserialize)]
struct CheckpointsAnswer {
    checkpoints: Vec<CheckpointItem>,
}

#[derive(Deserialize)]
struct CheckpointItem {
    size: u64,
    note: String,
}

#[derive(Deserialize)]
struct EventsAnswer<'a> {
    head_seq: u64,
    #[serde(default)]
    start: Option<StartAnswer>,
    #[serde(borrow)]
    records: Vec<&'a RawValue>,
    next_from_seq: Option<u64>,
}

#[derive(Deserialize)]
struct StartAnswer {
    prev_hash: String,
    tree_prefix: Vec<String>,
}

#[derive(Deserialize)]
struct ConsistencyAnswer {
    proof: Vec<String>,
}

fn events_path(from: u64, start: bool) -> String {
    format!(
        "/v1/events?from_seq={from}&limit={PAGE_RECORDS}{}",
        if start { "&start=true" } else { "" }
    )
}

fn parse_events<'a>(
    client: &Client,
    from: u64,
    body: &'a [u8],
) -> Result<EventsAnswer<'a>, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::BadAnswer {
        url: client.url(&events_path(from, false)),
        message: e.to_string(),
    })
}

/// The signed checkpoints of sizes up to `to`, ascending.
fn checkpoints(client: &Client, to: u64) -> Result<Vec<CheckpointItem>, ClientError> {
    let mut all = Vec::new();
    let mut from_size = 0u64;
    loop {
        let answer: CheckpointsAnswer =
            client.get_json(&format!("/v1/checkpoints?from_size={from_size}"))?;
        let Some(last) = answer.checkpoints.last().map(|c| c.size) else {
            break;
        };
        all.extend(answer.checkpoints.into_iter().filter(|c| c.size <= to));
        if last >= to {
            break;
        }
        from_size = last + 1;
    }
    Ok(all)
}

/// Verifies the ledger behind `server` from seq 1 to its head as of the first page.
pub fn verify_server(server: &str, key: &VerifierKey) -> Outcome {
    verify_server_with(server, key, None, &mut |_, _| {})
}

/// [`verify_server`], telling `progress` the records checked of the head, page by page.
pub fn verify_server_with(
    server: &str,
    key: &VerifierKey,
    trust_keys: Option<TrustKeys>,
    progress: Progress<'_>,
) -> Outcome {
    match verify(&Client::new(server), key, trust_keys, progress) {
        Ok(o) => o,
        Err(e) => Outcome::CouldNotRead(e.to_string()),
    }
}

fn verify(
    client: &Client,
    key: &VerifierKey,
    trust_keys: Option<TrustKeys>,
    progress: Progress<'_>,
) -> Result<Outcome, ClientError> {
    // The records first, to fix the head; then only checkpoints up to it.
    let first = client.get(&events_path(1, false))?;
    let head = parse_events(client, 1, &first)?.head_seq;
    let entries = checkpoints(client, head)?
        .into_iter()
        .map(|c| CheckpointEntry {
            note: c.note,
            consistency: None,
        })
        .collect();
    let mut v = Verifier::new(key, Start::genesis(), entries);
    if let Some(keys) = trust_keys {
        v = v.with_trust_keys(keys);
    }
    let mut pending = Some(first);
    let mut next = Some(1u64);
    while let Some(from) = next {
        let body = match pending.take() {
            Some(b) => b,
            None => client.get(&events_path(from, false))?,
        };
        let answer = parse_events(client, from, &body)?;
        for raw in &answer.records {
            let r = match parse_line(raw.get()) {
                Ok(Line::Record(r)) => r,
                _ => {
                    return Ok(Outcome::Tampered(Problem {
                        seq: from,
                        kind: golive_verify::Kind::Malformed,
                        detail: "the server sent a record that does not parse".to_owned(),
                    }));
                }
            };
            if r.seq > head {
                break;
            }
            if let Err(p) = v.push(&r) {
                return Ok(Outcome::Tampered(p));
            }
            progress(r.seq, head);
        }
        next = answer.next_from_seq.filter(|&n| n <= head);
    }
    Ok(match v.finish(Some(head)) {
        Ok(ok) => Outcome::Verified(Box::new(ok)),
        Err(p) => Outcome::Tampered(p),
    })
}

/// Writes the export of records `from..=to` (to defaults to the head as of the first page)
/// from a running ledger, in the same format as `audit::export` writes from a store. The
/// record lines are the server's bytes verbatim; nothing is checked here (verify the file).
pub fn export_server(
    client: &Client,
    from: u64,
    to: Option<u64>,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, AuditError> {
    let from = from.max(1);
    let first = client.get(&events_path(from, true))?;
    let answer = parse_events(client, from, &first)?;
    let head = answer.head_seq;
    let to = to.unwrap_or(head).min(head);
    check_range(from, to, head)?;
    write_header(client, from, to, answer.start, out)?;
    let records = write_records(client, from, to, first, out, progress)?;
    let checkpoints = write_checkpoints(client, to, out)?;
    out.flush()?;
    Ok(ExportSummary {
        from_seq: from,
        to_seq: to,
        records,
        checkpoints,
    })
}

/// The header, from where the server says the first page starts (its previous chain hash and
/// the Merkle frontier before it).
fn write_header(
    client: &Client,
    from: u64,
    to: u64,
    start: Option<StartAnswer>,
    out: &mut dyn Write,
) -> Result<(), AuditError> {
    let start = start.ok_or_else(|| {
        AuditError::Export(format!(
            "{} does not say where the page starts (a ledger older than this client?)",
            client.url(&events_path(from, true))
        ))
    })?;
    let header = Header {
        golive_export: golive_verify::export::EXPORT_FORMAT,
        from_seq: from,
        to_seq: to,
        prev_hash: start.prev_hash,
        tree_prefix: start.tree_prefix,
    };
    write_json_line(out, &header)
}

/// The server's record lines of `from..=to`, verbatim, page by page (`first` is the page
/// already read from `from`); returns how many.
fn write_records(
    client: &Client,
    from: u64,
    to: u64,
    first: Vec<u8>,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, AuditError> {
    let mut records = 0u64;
    let mut pending = Some(first);
    let mut next = (from <= to).then_some(from);
    'pages: while let Some(at) = next {
        let body = match pending.take() {
            Some(b) => b,
            None => client.get(&events_path(at, false))?,
        };
        let answer = parse_events(client, at, &body)?;
        for raw in &answer.records {
            let seq = match parse_line(raw.get()) {
                Ok(Line::Record(r)) => r.seq,
                _ => {
                    return Err(AuditError::Export(format!(
                        "the server sent a record that does not parse on the page from seq {at}"
                    )));
                }
            };
            if seq > to {
                break 'pages;
            }
            out.write_all(raw.get().as_bytes())?;
            out.write_all(b"\n")?;
            records += 1;
        }
        progress(records);
        next = answer.next_from_seq.filter(|&n| n <= to);
    }
    Ok(records)
}

/// The server's signed checkpoints up to size `to`, each after the first with the consistency
/// proof the server gives from the one before; returns how many.
fn write_checkpoints(client: &Client, to: u64, out: &mut dyn Write) -> Result<u64, AuditError> {
    let mut prev: Option<u64> = None;
    let mut written = 0u64;
    for c in checkpoints(client, to)? {
        let consistency = match prev {
            Some(p) => {
                client
                    .get_json::<ConsistencyAnswer>(&format!(
                        "/v1/proof/consistency?from={p}&to={}",
                        c.size
                    ))?
                    .proof
            }
            None => Vec::new(),
        };
        let line = CheckpointLine {
            checkpoint: c.note,
            consistency_from: prev,
            consistency,
        };
        write_json_line(out, &line)?;
        prev = Some(c.size);
        written += 1;
    }
    Ok(written)
}

/// (seq, chain hash recomputed from the record) of each record the server holds, from seq 1
/// to its head as of the first page.
pub(super) fn hashes(client: &Client) -> HashStream<'_> {
    Box::new(RemoteHashes {
        client,
        head: None,
        next: Some(1),
        page: Vec::new().into_iter(),
        failed: false,
    })
}

struct RemoteHashes<'a> {
    client: &'a Client,
    head: Option<u64>,
    next: Option<u64>,
    page: std::vec::IntoIter<(u64, [u8; 32])>,
    failed: bool,
}

impl RemoteHashes<'_> {
    fn fetch(&mut self, from: u64) -> Result<(), AuditError> {
        let body = self.client.get(&events_path(from, false))?;
        let answer = parse_events(self.client, from, &body)?;
        let head = *self.head.get_or_insert(answer.head_seq);
        let mut page = Vec::with_capacity(answer.records.len());
        for raw in &answer.records {
            match parse_line(raw.get()) {
                Ok(Line::Record(r)) if r.seq <= head => {
                    page.push((r.seq, chain_hash(&r.prev_hash, r.seq, r.event)));
                }
                Ok(Line::Record(_)) => break,
                _ => {
                    return Err(AuditError::Export(format!(
                        "{} sent a record that does not parse on the page from seq {from}",
                        self.client.base()
                    )));
                }
            }
        }
        self.page = page.into_iter();
        self.next = answer.next_from_seq.filter(|&n| n <= head);
        Ok(())
    }
}

impl Iterator for RemoteHashes<'_> {
    type Item = Result<(u64, [u8; 32]), AuditError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(x) = self.page.next() {
                return Some(Ok(x));
            }
            let from = self.next?;
            if let Err(e) = self.fetch(from) {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }
}
