//! What the commands over the ledger on disk report: `simulate`, `ingest`, `replay`,
//! `dead-letters`, `status` and `verify`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use golive_ledger::IngestSummary;
use golive_store::{ChainError, DeadLetter, Head};
use serde_json::json;

use super::{line, truncate};

/// `golive simulate --out FILE`: what was written where (on stderr).
pub fn simulated(events: u64, trusts: usize, out: &Path) -> String {
    line(format_args!(
        "wrote {events} events for {trusts} trusts to {}",
        out.display()
    ))
}

/// The rejected lines of an ingest, then how many more are only in the dead letters (stderr).
pub fn ingest_rejections(summary: &IngestSummary) -> String {
    let mut out = String::new();
    for r in &summary.rejections {
        let _ = writeln!(
            out,
            "line {}: {}: {} (dead letter {})",
            r.line,
            r.field.as_deref().unwrap_or("(message)"),
            r.reason,
            r.dead_letter_id
        );
    }
    if summary.rejected as usize > summary.rejections.len() {
        let _ = writeln!(
            out,
            "... {} more rejected lines: see `golive dead-letters`",
            summary.rejected as usize - summary.rejections.len()
        );
    }
    out
}

/// The one line an ingest ends with (stdout).
pub fn ingested(input: &str, summary: &IngestSummary) -> String {
    line(format_args!(
        "ingested {input}: {} lines, {} appended, {} duplicates skipped, {} rejected to dead letters; head seq {} hash {}",
        summary.lines - summary.blank,
        summary.appended,
        summary.duplicates,
        summary.rejected,
        summary.head_seq,
        summary.head_hash
    ))
}

/// `golive ingest --json`: the summary and the rejections it kept, as one JSON object.
pub fn ingested_json(input: &str, summary: &IngestSummary) -> String {
    let rejections: Vec<_> = summary
        .rejections
        .iter()
        .map(|r| {
            json!({
                "line": r.line,
                "field": r.field,
                "reason": r.reason,
                "dead_letter_id": r.dead_letter_id,
            })
        })
        .collect();
    line(json!({
        "input": input,
        "lines": summary.lines - summary.blank,
        "appended": summary.appended,
        "duplicates": summary.duplicates,
        "rejected": summary.rejected,
        "rejections": rejections,
        "head_seq": summary.head_seq,
        "head_hash": summary.head_hash,
    }))
}

/// `golive replay --json`.
pub fn replayed_json(records: u64, secs: f64, head: &Head) -> String {
    line(json!({
        "records": records,
        "seconds": secs,
        "events_per_second": records as f64 / secs.max(1e-9),
        "head_seq": head.seq,
        "head_hash": hex::encode(head.hash),
    }))
}

/// The man pages `golive man` wrote (stderr).
pub fn man_pages_written(dir: &Path, written: &[std::path::PathBuf]) -> String {
    line(format_args!(
        "wrote {} man pages into {} (golive.1 and one per subcommand); read them with man -l {}",
        written.len(),
        dir.display(),
        dir.join("golive.1").display()
    ))
}

/// `golive replay`: how many records were folded, how fast, and the head they end at.
pub fn replayed(records: u64, secs: f64, head: &Head) -> String {
    line(format_args!(
        "replayed {records} records into every projection in {secs:.2} s ({:.0} events/s); head hash {}",
        records as f64 / secs.max(1e-9),
        hex::encode(head.hash)
    ))
}

/// The first line of `golive dead-letters` (not in `--json`).
pub fn dead_letters_count(total: u64) -> String {
    line(format_args!("{total} dead letters"))
}

/// One dead letter: a JSON line, or a heading line and its raw bytes (cut at 200 characters).
pub fn dead_letter(d: &DeadLetter, as_json: bool) -> String {
    if as_json {
        let v = serde_json::json!({
            "id": d.id,
            "received_at": golive_model::format_time(&d.received_at),
            "origin": d.origin,
            "field": d.field,
            "reason": d.reason,
            "raw": String::from_utf8_lossy(&d.raw),
        });
        return line(v);
    }
    line(format_args!(
        "#{} {} {}: {}: {}\n    {}",
        d.id,
        golive_model::format_time(&d.received_at),
        d.origin,
        d.field.as_deref().unwrap_or("(message)"),
        d.reason,
        truncate(&String::from_utf8_lossy(&d.raw), 200)
    ))
}

/// What `golive status` shows of a ledger.
#[derive(Debug, Clone)]
pub struct Status {
    pub data_dir: String,
    pub head: Head,
    pub dead_letters: u64,
    /// Each collector's last sequence appended.
    pub collectors: BTreeMap<String, u64>,
    pub bytes_on_disk: u64,
}

/// `golive status`: one JSON object, or aligned lines.
pub fn status(s: &Status, as_json: bool) -> String {
    if as_json {
        let v = serde_json::json!({
            "data_dir": s.data_dir,
            "head_seq": s.head.seq,
            "head_hash": hex::encode(s.head.hash),
            "dead_letters": s.dead_letters,
            "collectors": s.collectors,
            "bytes_on_disk": s.bytes_on_disk,
        });
        return line(v);
    }
    let mut out = String::new();
    let _ = writeln!(out, "ledger      {}", s.data_dir);
    let _ = writeln!(out, "head seq    {}", s.head.seq);
    let _ = writeln!(out, "head hash   {}", hex::encode(s.head.hash));
    let _ = writeln!(out, "dead letters {}", s.dead_letters);
    let _ = writeln!(out, "on disk     {} bytes", s.bytes_on_disk);
    out
}

/// `golive verify`: the head the chain checks up to, the first bad record, or the store that
/// could not be read; one line, or one JSON object.
pub fn chain_checked(result: &Result<Head, ChainError>, as_json: bool) -> String {
    if as_json {
        return line(match result {
            Ok(head) => json!({
                "result": "verified",
                "head_seq": head.seq,
                "head_hash": hex::encode(head.hash),
            }),
            Err(e @ ChainError::Store(_)) => {
                json!({"result": "could_not_read", "error": e.to_string()})
            }
            Err(e) => json!({"result": "tampered", "seq": e.seq(), "error": e.to_string()}),
        });
    }
    match result {
        Ok(head) => line(format_args!(
            "OK head seq {} hash {}",
            head.seq,
            hex::encode(head.hash)
        )),
        Err(e @ ChainError::Store(_)) => line(format_args!("COULD NOT READ: {e}")),
        Err(e) => line(format_args!("TAMPERED: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_prints_aligned_lines_or_one_json_object_with_sorted_keys() {
        // Proves the two shapes of `golive status` that scripts and people read.
        let s = Status {
            data_dir: "/d".to_owned(),
            head: Head {
                seq: 3,
                hash: [0xab; 32],
            },
            dead_letters: 1,
            collectors: BTreeMap::from([("ral-pas".to_owned(), 2)]),
            bytes_on_disk: 4096,
        };
        let hash = "ab".repeat(32);
        assert_eq!(
            status(&s, false),
            format!(
                "ledger      /d\nhead seq    3\nhead hash   {hash}\ndead letters 1\non disk     4096 bytes\n"
            )
        );
        assert_eq!(
            status(&s, true),
            format!(
                "{{\"bytes_on_disk\":4096,\"collectors\":{{\"ral-pas\":2}},\"data_dir\":\"/d\",\"dead_letters\":1,\"head_hash\":\"{hash}\",\"head_seq\":3}}\n"
            )
        );
    }

    #[test]
    fn ingest_says_how_many_rejections_it_did_not_list() {
        // Proves the summary points to `golive dead-letters` only when it kept fewer than it
        // rejected.
        let mut summary = IngestSummary {
            rejected: 1,
            rejections: vec![golive_ledger::Rejection {
                line: 2,
                field: None,
                reason: "bad".to_owned(),
                dead_letter_id: 7,
            }],
            ..Default::default()
        };
        assert_eq!(
            ingest_rejections(&summary),
            "line 2: (message): bad (dead letter 7)\n"
        );
        summary.rejected = 3;
        assert!(
            ingest_rejections(&summary)
                .ends_with("... 2 more rejected lines: see `golive dead-letters`\n")
        );
    }
}
