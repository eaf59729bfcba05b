//! `golive query VIEW --evidence`: the events behind each line, for people (each line's key and
//! figure, then its events with their part, sources, and what they correct or dispute), or as
//! JSON (`{"as_of_seq", "evidence"}`, the API's `evidence` beside the sequence).

use std::fmt::Write;

use golive_model::Pence;
use golive_report::{Evidence, EvidenceEvent, LineEvidence};

/// The evidence at `as_of_seq`, as text or JSON.
pub fn evidence(as_of_seq: u64, e: &Evidence, as_json: bool) -> String {
    if as_json {
        let body = serde_json::json!({"as_of_seq": as_of_seq, "evidence": e});
        return format!("{}\n", super::json(&body));
    }
    let mut out = format!("as of seq {as_of_seq}: the events behind each line\n");
    for l in &e.lines {
        line(&mut out, l, e.offset);
    }
    if e.lines.is_empty() {
        out.push_str("no lines\n");
    }
    out
}

fn line(out: &mut String, l: &LineEvidence, offset: usize) {
    let key: Vec<String> = l
        .line
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let amount = l
        .amount_pence
        .map(|p| format!(": {}", Pence(p)))
        .unwrap_or_default();
    let _ = writeln!(out, "\n{}{amount}", key.join(" "));
    for e in &l.events {
        event(out, e);
    }
    let shown = l.events.len();
    if shown < l.events_total {
        let _ = writeln!(
            out,
            "  ({} of {} events from {}; --evidence-offset pages on)",
            shown,
            l.events_total,
            offset + 1
        );
    }
}

fn event(out: &mut String, e: &EvidenceEvent) {
    let part = e
        .part_pence
        .map(|p| format!(" {}", Pence(p)))
        .unwrap_or_default();
    let synthetic = if e.synthetic { " SYNTHETIC" } else { "" };
    let _ = writeln!(
        out,
        "  seq {} {} {}{part} ({}{synthetic}, recorded {})",
        e.seq,
        e.event_id,
        golive_report::name_of(&e.kind),
        golive_report::name_of(&e.status),
        e.recorded_at
    );
    if let Some(old) = e.supersedes {
        let _ = writeln!(out, "    corrects {old}");
    }
    if let Some(r) = &e.relates_to {
        let _ = writeln!(
            out,
            "    {} {}",
            golive_report::name_of(&r.relation),
            r.event_id
        );
    }
    for s in &e.sources {
        let url = s
            .url
            .as_deref()
            .map(|u| format!(" <{u}>"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    source: {}: {}{url}",
            golive_report::name_of(&s.source_type),
            s.reference
        );
    }
}
