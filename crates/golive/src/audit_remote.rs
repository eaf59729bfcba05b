//! `golive audit verify --server URL`: the same verification over a running ledger's auditor
//! routes (`/v1/checkpoints`, `/v1/events`), page by page. The server is not trusted: what it
//! sends is checked exactly as an export would be.

use std::time::Duration;

use golive_verify::{CheckpointEntry, Outcome, Problem, Start, Verifier, VerifierKey};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Largest answer read from the server.
const ANSWER_BYTES_MAX: u64 = 64 * 1024 * 1024;
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
    #[serde(borrow)]
    records: Vec<&'a RawValue>,
    next_from_seq: Option<u64>,
}

fn get(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>, String> {
    let mut response = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(ANSWER_BYTES_MAX)
        .read_to_vec()
        .map_err(|e| format!("{url}: {e}"))?;
    if status != 200 {
        return Err(format!(
            "{url}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>()
        ));
    }
    Ok(body)
}

/// Verifies the ledger behind `server` from seq 1 to its head as of the first page.
pub fn verify_server(server: &str, key: &VerifierKey) -> Outcome {
    match run(server.trim_end_matches('/'), key) {
        Ok(o) => o,
        Err(e) => Outcome::CouldNotRead(e),
    }
}

fn run(base: &str, key: &VerifierKey) -> Result<Outcome, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    // The records first, to fix the head; then only checkpoints up to it.
    let mut pages: Vec<Vec<u8>> = Vec::new();
    let first = get(
        &agent,
        &format!("{base}/v1/events?from_seq=1&limit={PAGE_RECORDS}"),
    )?;
    let head = serde_json::from_slice::<EventsAnswer<'_>>(&first)
        .map_err(|e| format!("{base}/v1/events: {e}"))?
        .head_seq;
    let mut entries = Vec::new();
    let mut from_size = 0u64;
    loop {
        let body = get(
            &agent,
            &format!("{base}/v1/checkpoints?from_size={from_size}"),
        )?;
        let answer: CheckpointsAnswer =
            serde_json::from_slice(&body).map_err(|e| format!("{base}/v1/checkpoints: {e}"))?;
        let Some(last) = answer.checkpoints.last().map(|c| c.size) else {
            break;
        };
        entries.extend(
            answer
                .checkpoints
                .into_iter()
                .filter(|c| c.size <= head)
                .map(|c| CheckpointEntry {
                    note: c.note,
                    consistency: None,
                }),
        );
        if last >= head {
            break;
        }
        from_size = last + 1;
    }
    let mut v = Verifier::new(key, Start::genesis(), entries);
    pages.push(first);
    let mut next = Some(1u64);
    while next.is_some() {
        let body = match pages.pop() {
            Some(b) => b,
            None => get(
                &agent,
                &format!(
                    "{base}/v1/events?from_seq={}&limit={PAGE_RECORDS}",
                    next.unwrap_or(1)
                ),
            )?,
        };
        let answer: EventsAnswer<'_> =
            serde_json::from_slice(&body).map_err(|e| format!("{base}/v1/events: {e}"))?;
        for raw in &answer.records {
            let r = match golive_verify::parse_line(raw.get()) {
                Ok(golive_verify::Line::Record(r)) => r,
                _ => {
                    return Ok(Outcome::Tampered(Problem {
                        seq: next.unwrap_or(0),
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
        }
        next = answer.next_from_seq.filter(|&n| n <= head);
    }
    Ok(match v.finish(Some(head)) {
        Ok(ok) => Outcome::Verified(ok),
        Err(p) => Outcome::Tampered(p),
    })
}
