//! What `golive collect --metrics ADDR` serves at `/metrics` (Prometheus text): the outbox and
//! this run's counts from the collector's latest progress report, `golive_build_info` and the
//! standard `process_*` series. The rule "collector outbox growing" of
//! `deploy/prometheus/golive-rules.yml` reads `golive_collector_outbox_pending`.

use std::fmt::Write;

use golive_collector::Progress;

/// One series: name, type, help, value.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Progress) -> u64,
);

/// Every collector series, in the order `/metrics` shows them.
pub const SERIES: [Series; 9] = [
    (
        "golive_collector_outbox_pending",
        "gauge",
        "Events in the outbox not yet confirmed by the ledger (from this run or earlier ones).",
        |p| p.pending,
    ),
    (
        "golive_collector_outbox_refused",
        "gauge",
        "Of the pending events, those whose publish the NATS server refused this run (permissions).",
        |p| p.refused,
    ),
    (
        "golive_collector_nats_connected",
        "gauge",
        "1 while the collector is connected to NATS, else 0.",
        |p| u64::from(p.nats_connected),
    ),
    (
        "golive_collector_read_total",
        "counter",
        "Records read from the feed this run (valid or not).",
        |p| p.read,
    ),
    (
        "golive_collector_rejected_locally_total",
        "counter",
        "Records refused by local validation this run (never sent).",
        |p| p.rejected_locally,
    ),
    (
        "golive_collector_published_total",
        "counter",
        "Publishes JetStream acknowledged this run (re-publishes included).",
        |p| p.published,
    ),
    (
        "golive_collector_republished_total",
        "counter",
        "Re-publishes of events the ledger did not have this run.",
        |p| p.republished,
    ),
    (
        "golive_collector_confirmed_total",
        "counter",
        "Events the ledger confirmed appended this run (they left the outbox).",
        |p| p.confirmed,
    ),
    (
        "golive_collector_dead_lettered_total",
        "counter",
        "Events the ledger rejected for good this run.",
        |p| p.dead_lettered,
    ),
];

/// The exposition of `progress`, the build and this process.
pub fn render(progress: &Progress) -> String {
    let mut out = String::with_capacity(2 * 1024);
    for (name, kind, help, value) in SERIES {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {}", value(progress));
    }
    golive_ledger::metrics::render_build_and_process(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_and_counts_are_rendered_from_the_progress() {
        // Proves each field of the progress report lands in its series.
        let p = Progress {
            pending: 7,
            confirmed: 3,
            nats_connected: true,
            ..Progress::default()
        };
        let text = render(&p);
        assert!(
            text.contains("\ngolive_collector_outbox_pending 7\n"),
            "{text}"
        );
        assert!(
            text.contains("\ngolive_collector_confirmed_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains("\ngolive_collector_nats_connected 1\n"),
            "{text}"
        );
        assert!(text.contains("\ngolive_build_info{version="), "{text}");
    }
}
