//! What `golive collect` reports: its progress line, the events it refused locally, its
//! summary, the subjects the NATS server refused, and `--status` of the outbox.

use std::fmt::Write;

use golive_collector::{CollectOutcome, CollectSummary, OutboxStatus, Progress};
use serde_json::json;

use super::line;

/// Where `--metrics` answers (stderr).
pub fn metrics_listening(bound: std::net::SocketAddr) -> String {
    line(format_args!(
        "golive collect: metrics on http://{bound}/metrics"
    ))
}

/// `golive collect --check-config`: the checks passed.
pub fn config_ok(outbox: &std::path::Path) -> String {
    line(format_args!(
        "golive collect: configuration OK (outbox {}); nothing started",
        outbox.display()
    ))
}

/// The progress spinner's message (without a newline).
pub fn progress(p: &Progress) -> String {
    format!(
        "read {} (rejected {}), published {}, confirmed {}, pending {}{}",
        p.read,
        p.rejected_locally,
        p.published,
        p.confirmed,
        p.pending,
        if p.nats_connected {
            ""
        } else {
            ", NATS unreachable"
        }
    )
}

/// A change of what the collector waits for (NATS unreachable, the outbox full, ...).
pub fn note(text: &str) -> String {
    line(text)
}

/// The input lines refused before sending (stderr).
pub fn rejections(summary: &CollectSummary) -> String {
    let mut out = String::new();
    for r in &summary.rejections {
        let _ = writeln!(
            out,
            "{}:{}: {}: {} (not sent)",
            r.source, r.line, r.field, r.reason
        );
    }
    out
}

/// The one line a run ends with (stdout).
pub fn summary(s: &CollectSummary) -> String {
    line(format_args!(
        "collected: {} read, {} rejected locally, {} published, {} confirmed by the ledger, {} dead-lettered by the ledger, {} still pending in the outbox",
        s.read, s.rejected_locally, s.published, s.confirmed, s.dead_lettered, s.pending_at_exit
    ))
}

/// The subjects the NATS server refused to let these credentials publish on (stderr).
pub fn refused_subjects(summary: &CollectSummary) -> String {
    let mut out = String::new();
    for r in &summary.refused_subjects {
        let _ = writeln!(
            out,
            "{}: the NATS server refused to let these credentials publish here ({}): {} kept in \
             the outbox and tried again on the next run; a collector may publish only its own \
             trust's events (see `golive collect --status`)",
            r.subject,
            r.reason,
            if r.events == 1 {
                "1 event".to_owned()
            } else {
                format!("{} events", r.events)
            }
        );
    }
    out
}

/// Said when a run ends with events the ledger has not confirmed (stderr, exit 4).
pub fn still_pending() -> String {
    line(
        "some events are not yet confirmed by the ledger; they stay in the outbox and are re-sent on the next run",
    )
}

/// `golive collect --status`: what the outbox holds and what happened to it.
pub fn outbox_status(st: &OutboxStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "outbox {}", st.path.display());
    let _ = writeln!(
        out,
        "pending {} (never published {}, awaiting the ledger's receipt {})",
        st.pending, st.never_published, st.awaiting_receipt
    );
    if let Some(o) = &st.oldest_pending {
        let _ = writeln!(
            out,
            "oldest pending: {} on {}, {} publish attempts ({} re-publishes), in the outbox for {} s",
            o.event_id,
            o.subject,
            o.publish_attempts,
            o.republishes,
            o.age_ms / 1_000
        );
    }
    refused_by_server(&mut out, st);
    let _ = writeln!(out, "rejected by the ledger: {}", st.rejected_total);
    for r in &st.rejected_by_ledger {
        let _ = writeln!(
            out,
            "  {} {} {}: {}",
            golive_model::format_time(&r.rejected_at),
            r.event_id,
            r.subject,
            r.reason
        );
    }
    let _ = writeln!(out, "watched files read: {}", st.files_processed);
    out
}

/// The outbox's events the NATS server refused, if any.
fn refused_by_server(out: &mut String, st: &OutboxStatus) {
    if st.refused_total == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "refused by the NATS server: {} (kept, tried again on the next run)",
        st.refused_total
    );
    for r in &st.refused_by_server {
        let _ = writeln!(
            out,
            "  {} {} {}: {}",
            golive_model::format_time(&r.refused_at),
            r.event_id,
            r.subject,
            r.reason
        );
    }
}

/// `golive collect --json`: the run's summary as one JSON object.
pub fn summary_json(s: &CollectSummary) -> String {
    let outcome = match s.outcome {
        CollectOutcome::AllConfirmed => "all_confirmed",
        CollectOutcome::ReceiptWaitElapsed => "receipt_wait_elapsed",
        CollectOutcome::SomeRefused => "some_refused",
        CollectOutcome::Shutdown => "shutdown",
    };
    let rejections: Vec<_> = s
        .rejections
        .iter()
        .map(|r| json!({"source": r.source, "line": r.line, "field": r.field, "reason": r.reason}))
        .collect();
    let refused: Vec<_> = s
        .refused_subjects
        .iter()
        .map(|r| json!({"subject": r.subject, "reason": r.reason, "events": r.events}))
        .collect();
    line(json!({
        "outcome": outcome,
        "read": s.read,
        "rejected_locally": s.rejected_locally,
        "queued": s.queued,
        "already_queued": s.already_queued,
        "published": s.published,
        "republished": s.republished,
        "confirmed": s.confirmed,
        "dead_lettered": s.dead_lettered,
        "pending_at_exit": s.pending_at_exit,
        "refused": s.refused,
        "refused_subjects": refused,
        "rejections": rejections,
    }))
}

/// `golive collect --status --json`: the outbox as one JSON object.
pub fn outbox_status_json(st: &OutboxStatus) -> String {
    let oldest = st.oldest_pending.as_ref().map(|o| {
        json!({
            "event_id": o.event_id.to_string(),
            "subject": o.subject,
            "publish_attempts": o.publish_attempts,
            "republishes": o.republishes,
            "age_ms": o.age_ms,
            "last_publish_age_ms": o.last_publish_age_ms,
        })
    });
    let rejected: Vec<_> = st
        .rejected_by_ledger
        .iter()
        .map(|r| {
            json!({
                "event_id": r.event_id.to_string(),
                "subject": r.subject,
                "reason": r.reason,
                "rejected_at": golive_model::format_time(&r.rejected_at),
            })
        })
        .collect();
    let refused: Vec<_> = st
        .refused_by_server
        .iter()
        .map(|r| {
            json!({
                "event_id": r.event_id.to_string(),
                "subject": r.subject,
                "reason": r.reason,
                "refused_at": golive_model::format_time(&r.refused_at),
            })
        })
        .collect();
    line(json!({
        "outbox": st.path.display().to_string(),
        "pending": st.pending,
        "never_published": st.never_published,
        "awaiting_receipt": st.awaiting_receipt,
        "oldest_pending": oldest,
        "rejected_total": st.rejected_total,
        "rejected_by_ledger": rejected,
        "refused_total": st.refused_total,
        "refused_by_server": refused,
        "files_processed": st.files_processed,
    }))
}

/// `golive trust-secret new`: where the key is, and how to keep it (stderr).
pub fn trust_secret_written(trust: &str, path: &std::path::Path) -> String {
    line(format_args!(
        "golive trust-secret: wrote the pseudonym key of {trust} to {} (mode 0600). Keep it on \
         this trust's collector host only and back it up there: a new key gives new pseudonyms. \
         Use it with `golive collect --map MAPPING --trust-secret {}`",
        path.display(),
        path.display()
    ))
}

pub fn trust_key_written(trust: &str, path: &std::path::Path, public: &str) -> String {
    line(format_args!(
        "golive trust-key: wrote the signing key of {trust} to {} (mode 0600). Keep it on this \
         trust's collector host only (`golive collect --trust-key {}`) and give the ledger's \
         operator and auditors the public key below, for its config:\n  [trusts.{trust}]\n  \
         signatures = \"required\"\n  keys = [\"{public}\"]",
        path.display(),
        path.display()
    ))
}

pub fn admin_key_written(path: &std::path::Path, public: &str) -> String {
    line(format_args!(
        "golive trust-key: wrote the admin key to {} (mode 0600). It signs `trust_key` events \
         (`golive trust-key publish --admin-key {}`); keep it off the trusts' hosts. The public \
         key below goes into the ledger's config and to auditors (`golive audit verify \
         --admin-key`):\n  [admin]\n  keys = [\"{public}\"]",
        path.display(),
        path.display()
    ))
}

/// One dry-run row: (row, kind, event id, key fields) of an event.
fn dry_run_event(ev: &golive_collector::ValidEvent) -> (String, String, String) {
    let v: serde_json::Value = serde_json::from_slice(&ev.canonical).unwrap_or_default();
    let kind = v["kind"].as_str().unwrap_or("?").to_owned();
    let mut key = format!("occurred_at={}", v["occurred_at"].as_str().unwrap_or("?"));
    if let Some(data) = v["data"].as_object() {
        for (k, x) in data {
            let shown = x.as_str().map_or_else(|| x.to_string(), str::to_owned);
            let _ = write!(key, " {k}={}", super::truncate(&shown, 40));
        }
    }
    (kind, ev.event_id.to_string(), key)
}

/// `golive collect --dry-run`: a table of what would be published and what is refused, then
/// the counts (stdout).
pub fn dry_run(
    source: &str,
    records: &[golive_collector::FeedRecord],
    counts: &golive_collector::FeedCounts,
) -> String {
    use golive_collector::FeedRecord;
    let mut table = super::table::Table::new(vec![
        "row",
        "kind",
        "event_id",
        "key fields, or the rejection",
    ]);
    for r in records {
        match r {
            FeedRecord::Event(ev) => {
                let (kind, id, key) = dry_run_event(ev);
                table.row(vec![ev.line.to_string(), kind, id, key]);
            }
            FeedRecord::Rejected(j) => table.row(vec![
                j.line.to_string(),
                "REJECTED".to_owned(),
                format!("column {}", j.field),
                j.reason.clone(),
            ]),
        }
    }
    let mut out = String::new();
    table.render(&mut out);
    let _ = writeln!(
        out,
        "dry run of {source}: {} rows, {} events would be published, {} rejected, {} skipped (no rule); nothing was published",
        counts.records, counts.events, counts.rejected, counts.skipped
    );
    out
}

/// `golive collect --dry-run --json`: one object with every event and rejection.
pub fn dry_run_json(
    records: &[golive_collector::FeedRecord],
    counts: &golive_collector::FeedCounts,
) -> String {
    use golive_collector::FeedRecord;
    let mut events = Vec::new();
    let mut rejections = Vec::new();
    for r in records {
        match r {
            FeedRecord::Event(ev) => {
                let envelope: serde_json::Value =
                    serde_json::from_slice(&ev.canonical).unwrap_or_default();
                events.push(json!({"row": ev.line, "subject": ev.subject, "event": envelope}));
            }
            FeedRecord::Rejected(j) => rejections.push(json!({
                "source": j.source, "row": j.line, "column": j.field, "reason": j.reason
            })),
        }
    }
    line(json!({
        "dry_run": true,
        "rows": counts.records,
        "events": counts.events,
        "rejected": counts.rejected,
        "skipped": counts.skipped,
        "would_publish": events,
        "rejections": rejections,
    }))
}
