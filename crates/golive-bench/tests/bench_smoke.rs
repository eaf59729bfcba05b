//! CI's smoke run of `golive-bench all` (issue 7): tiny sizes, one run, every part included
//! (its own nats-server and PostgreSQL server, which scripts/test installs), and a check that the
//! JSON report has every figure, each sane and non-zero. No thresholds: CI machines are shared.
//!
//! The bench runs the `golive` binary as its ledger, by default the one next to its own
//! executable. Cargo builds `golive` only for the tests of its own package, so these tests need
//! it built already: `cargo test --workspace` builds every binary before it runs any test; with
//! `cargo test -p golive-bench`, run `cargo build -p golive` first (same profile).

use std::path::PathBuf;
use std::process::Command;

/// `golive-bench`, after checking that the `golive` it runs is next to it.
fn bench_command() -> Command {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_golive-bench"));
    let golive = bench.with_file_name("golive");
    assert!(
        golive.is_file(),
        "{} is missing: golive-bench runs the golive binary next to it. `cargo test --workspace` \
         builds it; with `cargo test -p golive-bench`, run `cargo build -p golive` first (with \
         --release for `cargo test --release`)",
        golive.display()
    );
    Command::new(bench)
}

#[test]
fn bench_all_reports_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = bench_command()
        .args([
            "all",
            "--events",
            "3000",
            "--trusts",
            "4",
            "--runs",
            "1",
            "--query-requests",
            "200",
            "--cold-requests",
            "8",
            "--clients",
            "8",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--dir")
        .arg(dir.path())
        .env_remove("GOLIVE_CONFIG")
        .env_remove("GOLIVE_DATA")
        .env_remove("NATS_URL")
        .output()
        .expect("golive-bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status.code()
    );
    assert!(stdout.contains("golive bench all: 3000 events"), "{stdout}");
    assert!(!stdout.contains("not measured"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("the JSON report")).unwrap();
    assert_eq!(report["events"], 3000);
    let summary = report["summary"].as_object().expect("summary");
    for (key, value) in summary {
        if key == "not_measured" {
            assert_eq!(value.as_array().map(Vec::len), Some(0), "{value}");
            continue;
        }
        let v = value
            .as_f64()
            .unwrap_or_else(|| panic!("summary.{key} is not a number: {value}"));
        // CPU time is counted in 10 ms clock ticks: a tiny run may see none for one process.
        let may_be_zero = key.contains("cpu_us_per_event");
        assert!(
            v.is_finite() && (v > 0.0 || (may_be_zero && v == 0.0)),
            "summary.{key} = {v}"
        );
    }
    for key in [
        "raw_publish_per_s",
        "end_to_end_per_s",
        "end_to_end_collector_cpu_us_per_event",
        "end_to_end_ledger_cpu_us_per_event",
        "end_to_end_nats_cpu_us_per_event",
        "end_to_end_cores_busy",
        "ledger_append_per_s",
        "ledger_replay_per_s",
        "ledger_rebuild_per_s",
        "pg_append_per_s",
        "pg_replay_decode_per_s",
        "ledger_append_ratio_to_pg",
        "ledger_replay_ratio_to_pg",
        "query_head_p99_ms",
        "query_as_of_cached_p99_ms",
        "query_as_of_distinct_p99_ms",
        "query_as_of_trust_distinct_p99_ms",
        "raw_pipeline_per_s",
        "end_to_end_ratio_to_raw_pipeline",
        "audit_verify_per_s",
        "ledger_bytes_per_event",
        "outbox_bytes_per_event",
        "ledger_peak_rss_bytes",
        "replay_peak_rss_bytes",
    ] {
        assert!(summary.contains_key(key), "summary lacks {key}");
    }
    // Sanity beyond non-zero: a per-event size between the JSON size and a few KiB, a resident
    // set between 1 MiB and 4 GiB, latencies under a minute.
    for key in ["ledger_bytes_per_event", "served_ledger_bytes_per_event"] {
        let v = summary[key].as_f64().unwrap();
        assert!((50.0..8192.0).contains(&v), "{key} = {v}");
    }
    for key in ["ledger_peak_rss_bytes", "replay_peak_rss_bytes"] {
        let v = summary[key].as_f64().unwrap();
        assert!((1048576.0..4294967296.0).contains(&v), "{key} = {v}");
    }
    for key in [
        "query_head_p99_ms",
        "query_as_of_distinct_p99_ms",
        "query_as_of_trust_distinct_p99_ms",
    ] {
        let v = summary[key].as_f64().unwrap();
        assert!(v < 60_000.0, "{key} = {v}");
    }
    let rows = report["rows"].as_array().expect("rows");
    assert!(rows.len() >= 20);
    for row in rows {
        assert!(row["value"].as_f64().is_some_and(|v| v > 0.0), "{row}");
    }
    assert_eq!(report["postgres"]["server"], "own");
    // The bench cleans up after itself: nothing but the JSON report is left in --dir.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("bench.json")]);
}

/// Command lines of the running processes that contain one of `markers`.
fn processes_with(markers: &[String]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| markers.iter().any(|m| c.contains(m.as_str())))
        .collect()
}

#[test]
fn bench_all_stopped_by_a_signal_leaves_no_server_and_no_scratch_behind() {
    // Proves the bench's signal handling: SIGTERM while its own PostgreSQL server runs (which
    // `pg_ctl` puts in a session of its own, out of reach of a Ctrl-C or a kill of the bench)
    // stops that server and removes the scratch directory, and the bench exits with 143.
    let dir = tempfile::tempdir().unwrap();
    let mut child = bench_command()
        .args(["all", "--events", "1000000", "--runs", "1"])
        .arg("--dir")
        .arg(dir.path())
        .env_remove("GOLIVE_CONFIG")
        .env_remove("GOLIVE_DATA")
        .env_remove("NATS_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("golive-bench runs");
    let pid = child.id();
    // Its scratch directory, and the PostgreSQL directory it uses when the postgres user cannot
    // reach the scratch one (as root with a 0700 temporary directory).
    let markers = [
        format!("golive-bench-{pid}"),
        format!("golive-bench-pg-{pid}"),
    ];
    let started = std::time::Instant::now();
    // The postmaster itself (not initdb, nor the `runuser -u postgres` that starts it).
    while !processes_with(&markers)
        .iter()
        .any(|c| c.contains("bin/postgres -D"))
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the bench's PostgreSQL server never started"
        );
        assert!(child.try_wait().unwrap().is_none(), "the bench ended early");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: kill(2) of our own child with a valid signal.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(240),
            "the bench did not stop after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(143), "{status:?}");
    let stopped = std::time::Instant::now();
    loop {
        let left = processes_with(&markers);
        if left.is_empty() {
            break;
        }
        assert!(
            stopped.elapsed() < std::time::Duration::from_secs(30),
            "still running after the bench stopped: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        !dir.path().join(&markers[0]).exists(),
        "scratch directory left"
    );
    assert!(
        !std::env::temp_dir().join(&markers[1]).exists(),
        "PostgreSQL directory left"
    );
}
