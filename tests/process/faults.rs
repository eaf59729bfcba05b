//! Fault injection with real processes (issue 8): several collectors publish a seeded workload
//! through a real nats-server to `golive serve` while, each round, one fault is injected at a
//! random moment: kill -9 of the ledger, of a collector or of nats-server (each restarted), or a
//! pause (SIGSTOP, then SIGCONT) of one of them. After each round, once every collector has
//! exited 0 (its outbox empty: the ledger receipted every event as durably appended), the
//! invariants are checked: every event fed so far is in the ledger exactly once, no event twice,
//! the chain verifies (`golive verify`, `golive audit verify --store`), and the live projections
//! (HTTP, before the stop) equal those of a fresh replay of the log.
//!
//! Seeded: GOLIVE_FAULT_SEED (default 8), GOLIVE_FAULT_ROUNDS (default 6, the CI run),
//! GOLIVE_FAULT_EVENTS_PER_ROUND (default 600, spread over the collectors). The long run
//! (docs/RELIABILITY.md): `GOLIVE_FAULT_ROUNDS=200 GOLIVE_FAULT_EVENTS_PER_ROUND=150 cargo test
//! --release -p golive --test process faults::kill_and_pause -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::GOLIVE;
use golive_testkit::golive::{http_head_seq, ok};
use golive_testkit::nats::NatsServer;
use golive_testkit::process::{Proc, signal};
use golive_testkit::{wait_for, wait_until};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

const TRUSTS: usize = 3;
const WHATS: [&str; 5] = ["money", "lost-patients", "rollout", "deferred", "incidents"];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v}: not a number"))
        })
        .unwrap_or(default)
}

fn start_ledger(data: &Path, nats: &NatsServer, log: &Path) -> (Proc, String) {
    GOLIVE.serve_http(
        &["--data", data.to_str().unwrap(), "--nats", &nats.url()],
        log,
    )
}

fn collect(file: &Path, outbox: &Path, nats: &NatsServer, log: &Path) -> Proc {
    GOLIVE.collect(
        file,
        outbox,
        &nats.url(),
        &["--republish-after-ms", "1000", "--wait-receipts-secs", "0"],
        log,
    )
}

/// A counter of the running ledger's /metrics (0 if unreachable: it may be paused or dying).
fn metric(base: &str, name: &str) -> u64 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let Ok(mut resp) = agent.get(format!("{base}/metrics")).call() else {
        return 0;
    };
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    body.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

fn query(args: &[&str]) -> String {
    String::from_utf8(ok(GOLIVE.run(args)).stdout).unwrap()
}

#[derive(Default)]
struct Figures {
    rounds: u64,
    kills: BTreeMap<&'static str, u64>,
    pauses: BTreeMap<&'static str, u64>,
    fed: u64,
    published: u64,
    appended: u64,
    duplicates: u64,
    lost: u64,
    twice: u64,
}

#[test]
fn kill_and_pause_anything_and_every_durable_event_is_in_the_ledger_exactly_once() {
    let seed = env_u64("GOLIVE_FAULT_SEED", 8);
    let rounds = env_u64("GOLIVE_FAULT_ROUNDS", 6);
    let per_round = env_u64("GOLIVE_FAULT_EVENTS_PER_ROUND", 600);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start();
    let ev = GOLIVE.simulated(dir.path(), seed, TRUSTS, rounds * per_round);
    // Each trust's file, split into `rounds` chunks: round r feeds chunk r of every trust.
    let chunks: Vec<(String, Vec<Vec<String>>)> = ev
        .files
        .iter()
        .map(|(t, f)| {
            let lines: Vec<String> = std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            let per = lines.len().div_ceil(rounds as usize).max(1);
            let mut cs: Vec<Vec<String>> = lines.chunks(per).map(<[String]>::to_vec).collect();
            cs.resize(rounds as usize, Vec::new());
            (t.clone(), cs)
        })
        .collect();
    let data = dir.path().join("ledger");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut lives = 0;
    let mut ledger_log = || {
        lives += 1;
        logs.join(format!("serve-{lives}.log"))
    };
    let (mut ledger, mut base) = start_ledger(&data, &nats, &ledger_log());
    let mut expected: BTreeSet<String> = BTreeSet::new();
    let mut fig = Figures::default();
    let started = Instant::now();

    for round in 0..rounds as usize {
        // The round's workload: one collector per trust, each over its chunk.
        let mut files: Vec<PathBuf> = Vec::new();
        let mut collectors: Vec<Proc> = Vec::new();
        for (i, (t, cs)) in chunks.iter().enumerate() {
            let file = dir.path().join(format!("{t}-{round}.jsonl"));
            let body: String = cs[round].iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(&file, body).unwrap();
            for l in &cs[round] {
                let v: Value = serde_json::from_str(l).unwrap();
                expected.insert(v["event_id"].as_str().unwrap().to_owned());
            }
            fig.fed += cs[round].len() as u64;
            fig.published += cs[round].len() as u64;
            collectors.push(collect(
                &file,
                &dir.path().join(format!("outbox-{i}")),
                &nats,
                &logs.join(format!("c-{i}-{round}.log")),
            ));
            files.push(file);
        }
        // One fault at a random moment (the sleeps below are the fault schedule, not waits).
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..400)));
        let pause = Duration::from_millis(rng.gen_range(100..1500));
        match rng.gen_range(0..6) {
            0 => {
                fig.duplicates += metric(&base, "golive_duplicates_skipped_total");
                ledger.kill9();
                *fig.kills.entry("ledger").or_default() += 1;
                std::thread::sleep(Duration::from_millis(rng.gen_range(0..300)));
                (ledger, base) = start_ledger(&data, &nats, &ledger_log());
            }
            1 => {
                let i = rng.gen_range(0..collectors.len());
                collectors[i].kill9();
                *fig.kills.entry("collector").or_default() += 1;
                // Restarted over the same file: what it had not forgotten is sent again.
                fig.published += chunks[i].1[round].len() as u64;
                collectors[i] = collect(
                    &files[i],
                    &dir.path().join(format!("outbox-{i}")),
                    &nats,
                    &logs.join(format!("c-{i}-{round}-again.log")),
                );
            }
            2 => {
                nats.kill();
                *fig.kills.entry("nats-server").or_default() += 1;
                std::thread::sleep(Duration::from_millis(rng.gen_range(100..1000)));
                nats.restart();
            }
            3 => {
                ledger.pause();
                *fig.pauses.entry("ledger").or_default() += 1;
                std::thread::sleep(pause);
                ledger.resume();
            }
            4 => {
                let i = rng.gen_range(0..collectors.len());
                collectors[i].pause();
                *fig.pauses.entry("collector").or_default() += 1;
                std::thread::sleep(pause);
                collectors[i].resume();
            }
            _ => {
                let pid = nats.pid().expect("nats-server running");
                signal(pid, "STOP");
                *fig.pauses.entry("nats-server").or_default() += 1;
                std::thread::sleep(pause);
                signal(pid, "CONT");
            }
        }
        // Recovery: every collector exits 0 only once the ledger receipted all its events.
        for c in &mut collectors {
            assert_eq!(
                c.wait(Duration::from_secs(180)),
                Some(0),
                "round {round}: {}",
                c.log_text()
            );
        }
        // Invariants. Live projections first (HTTP), then a graceful stop to read the store.
        let live: Vec<String> = WHATS
            .iter()
            .map(|w| query(&["query", w, "--json", "--server", &base]))
            .collect();
        fig.duplicates += metric(&base, "golive_duplicates_skipped_total");
        assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
        let records = GOLIVE.exported_records(&data, &dir.path().join("export.jsonl"));
        let mut seen = BTreeSet::new();
        let twice = records
            .iter()
            .filter(|(_, _, id)| !seen.insert(id.clone()))
            .count() as u64;
        let lost = expected.difference(&seen).count() as u64;
        let invented = seen.difference(&expected).count();
        fig.twice += twice;
        fig.lost += lost;
        fig.appended = records.len() as u64;
        assert_eq!(
            (lost, twice, invented),
            (0, 0, 0),
            "round {round}: lost, twice, invented"
        );
        assert!(
            records.iter().map(|r| r.0).eq(1..=records.len() as u64),
            "round {round}: seqs 1..n"
        );
        let v = query(&["verify", "--data", data.to_str().unwrap()]);
        assert!(v.starts_with("OK"), "round {round}: {v}");
        let pubkey = query(&["audit", "pubkey", "--data", data.to_str().unwrap()]);
        let a = query(&[
            "audit",
            "verify",
            "--store",
            "--data",
            data.to_str().unwrap(),
            "--pubkey",
            pubkey.trim(),
        ]);
        assert!(a.starts_with("OK"), "round {round}: {a}");
        ok(GOLIVE.run(&["replay", "--data", data.to_str().unwrap()]));
        for (w, live) in WHATS.iter().zip(&live) {
            let replayed = query(&["query", w, "--json", "--data", data.to_str().unwrap()]);
            assert_eq!(&replayed, live, "round {round}: {w}: live vs fresh replay");
        }
        fig.rounds += 1;
        eprintln!(
            "round {round}: {} events in the ledger, 0 lost, 0 twice ({:.0?})",
            records.len(),
            started.elapsed()
        );
        (ledger, base) = start_ledger(&data, &nats, &ledger_log());
    }
    ledger.term();

    let count = |m: &BTreeMap<&str, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    eprintln!(
        "\nfault injection, seed {seed}, {} rounds, {:.0?}",
        fig.rounds,
        started.elapsed()
    );
    eprintln!("| figure | value |\n|---|---|");
    eprintln!("| rounds | {} |", fig.rounds);
    for k in ["ledger", "collector", "nats-server"] {
        eprintln!("| kill -9 {k} | {} |", count(&fig.kills, k));
    }
    for k in ["ledger", "collector", "nats-server"] {
        eprintln!("| SIGSTOP/SIGCONT {k} | {} |", count(&fig.pauses, k));
    }
    eprintln!("| events fed to collectors | {} |", fig.fed);
    eprintln!(
        "| events published (incl. re-runs after a collector kill) | {} |",
        fig.published
    );
    eprintln!("| appended | {} |", fig.appended);
    eprintln!(
        "| duplicates suppressed (counted by the ledger) | {} |",
        fig.duplicates
    );
    eprintln!("| lost | {} |", fig.lost);
    eprintln!("| in the ledger twice | {} |", fig.twice);
    assert_eq!(fig.appended, fig.fed);
}

fn ok_status(st: std::process::ExitStatus) {
    assert!(st.success(), "{st}");
}

/// Damages a copy of a store's sled file: `how` is "truncate-half", "truncate-pct-N" (cut to
/// N% of its length), "truncate-tail" (the last 100 bytes: a torn tail) or "flip" (64 bytes
/// inverted in the middle).
fn damage(src: &Path, dst: &Path, how: &str) {
    ok_status(
        std::process::Command::new("cp")
            .arg("-a")
            .arg(src)
            .arg(dst)
            .status()
            .unwrap(),
    );
    let db = dst.join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    match how {
        "truncate-half" => bytes.truncate(bytes.len() / 2),
        pct if pct.starts_with("truncate-pct-") => {
            let pct: usize = pct["truncate-pct-".len()..].parse().unwrap();
            bytes.truncate(bytes.len() * pct / 100);
        }
        "truncate-tail" => bytes.truncate(bytes.len() - 100),
        "flip" => {
            let m = bytes.len() / 2;
            for b in &mut bytes[m..m + 64] {
                *b ^= 0xff;
            }
        }
        other => panic!("unknown damage {other}"),
    }
    std::fs::write(&db, bytes).unwrap();
}

#[test]
fn a_damaged_store_is_rebuilt_from_a_verified_export_with_identical_chain_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p);
    let input = d("all.jsonl");
    ok(GOLIVE.run(&[
        "simulate",
        "--seed",
        "5",
        "--trusts",
        "3",
        "--events",
        "3000",
        "--out",
        input.to_str().unwrap(),
    ]));
    let orig = d("orig");
    ok(GOLIVE.run(&[
        "ingest",
        input.to_str().unwrap(),
        "--data",
        orig.to_str().unwrap(),
    ]));
    let pubkey = query(&["audit", "pubkey", "--data", orig.to_str().unwrap()]);
    let pubkey = pubkey.trim();
    let export = d("backup.jsonl");
    ok(GOLIVE.run(&[
        "audit",
        "export",
        "--data",
        orig.to_str().unwrap(),
        "--out",
        export.to_str().unwrap(),
    ]));
    // Cut anywhere, the store is refused at open or (if sled lost nothing it needs) whole:
    // never a shorter ledger. sled itself recovers a cut file as a valid shorter log; the head
    // mark outside sled is what refuses it, naming the missing seqs.
    for pct in [5, 20, 40, 60, 80, 90, 95, 99] {
        let damaged = d(&format!("cut-{pct}"));
        damage(&orig, &damaged, &format!("truncate-pct-{pct}"));
        let st = GOLIVE.run(&["status", "--json", "--data", damaged.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&st.stderr);
        if st.status.success() {
            let v: Value = serde_json::from_slice(&st.stdout).unwrap();
            assert_eq!(
                v["head_seq"], 3000,
                "cut to {pct}%: opened as a shorter ledger"
            );
        } else {
            assert!(
                stderr.contains("are missing") || stderr.contains("corrupted data"),
                "cut to {pct}%: {stderr}"
            );
        }
    }
    for how in ["truncate-half", "truncate-tail", "flip"] {
        let damaged = d(&format!("damaged-{how}"));
        damage(&orig, &damaged, how);
        // What the damaged store says at open (sled recovers what its checksums accept; see
        // docs/RELIABILITY.md): either an error, or a head the last export shows to be short.
        let st = GOLIVE.run(&["status", "--json", "--data", damaged.to_str().unwrap()]);
        let head = serde_json::from_slice::<Value>(&st.stdout)
            .ok()
            .and_then(|v| v["head_seq"].as_u64());
        eprintln!(
            "{how}: status exit {:?}, head {head:?}, stderr {}",
            st.status.code(),
            String::from_utf8_lossy(&st.stderr).trim()
        );
        let stderr = String::from_utf8_lossy(&st.stderr);
        assert!(!stderr.contains("panicked"), "{how}: no panic");
        if !st.status.success() {
            // Refused at open with the store's error, naming what is wrong.
            assert!(
                stderr.to_lowercase().contains("corrupt") && stderr.contains("restore"),
                "{how}: {stderr}"
            );
        } else {
            // sled's checksums accepted the file: then it must be the whole ledger, never a
            // shorter one (the head mark outside sled catches a lost end).
            assert_eq!(head, Some(3000), "{how}: opened as a shorter ledger");
            // Opened: what a full verification of the damaged store says.
            let v = GOLIVE.run(&[
                "audit",
                "verify",
                "--store",
                "--data",
                damaged.to_str().unwrap(),
                "--pubkey",
                pubkey,
            ]);
            eprintln!(
                "{how}: audit verify --store exit {:?}: {}{}",
                v.status.code(),
                String::from_utf8_lossy(&v.stdout).trim(),
                String::from_utf8_lossy(&v.stderr).trim()
            );
            assert!(!String::from_utf8_lossy(&v.stderr).contains("panicked"));
        }
        // Rebuild into a new directory from the export, with the old signing key.
        let repaired = d(&format!("repaired-{how}"));
        let out = query(&[
            "repair",
            "--from-export",
            export.to_str().unwrap(),
            "--pubkey",
            pubkey,
            "--key-from",
            damaged.to_str().unwrap(),
            "--data",
            repaired.to_str().unwrap(),
        ]);
        assert!(out.starts_with("repaired: 3000 records"), "{out}");
        let v = query(&[
            "audit",
            "verify",
            "--store",
            "--data",
            repaired.to_str().unwrap(),
            "--pubkey",
            pubkey,
        ]);
        assert!(v.starts_with("OK head seq 3000"), "{v}");
        let c = query(&[
            "audit",
            "compare",
            export.to_str().unwrap(),
            repaired.to_str().unwrap(),
        ]);
        assert!(c.contains("IDENTICAL"), "{c}");
        let c = query(&[
            "audit",
            "compare",
            orig.to_str().unwrap(),
            repaired.to_str().unwrap(),
        ]);
        assert!(c.contains("IDENTICAL"), "{c}");
        for what in WHATS {
            assert_eq!(
                query(&[
                    "query",
                    what,
                    "--json",
                    "--data",
                    repaired.to_str().unwrap()
                ]),
                query(&["query", what, "--json", "--data", orig.to_str().unwrap()]),
                "{how}: {what}"
            );
        }
    }
    // A tampered export is refused, and nothing is written.
    let text = std::fs::read_to_string(&export).unwrap();
    let tampered = d("tampered.jsonl");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // The first record's event gains a field: its bytes no longer match its chain hash.
    lines[1] = lines[1].replacen("\"event\":{", "\"event\":{\"x\":1,", 1);
    std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
    let o = GOLIVE.run(&[
        "repair",
        "--from-export",
        tampered.to_str().unwrap(),
        "--pubkey",
        pubkey,
        "--data",
        d("never").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(!d("never").exists());
    // A non-empty target is refused.
    let o = GOLIVE.run(&[
        "repair",
        "--from-export",
        export.to_str().unwrap(),
        "--pubkey",
        pubkey,
        "--data",
        orig.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not empty"));
}

#[test]
fn a_damaged_store_is_refused_at_open_and_rebuilt_from_the_nats_stream() {
    // Proves the recovery of docs/OPERATIONS.md ("Rebuilding from the NATS stream"): a ledger
    // whose sled file lost its end is refused at open naming the missing seqs; a new ledger
    // with an empty directory and a new consumer reads the stream from its first message and
    // ends with every event exactly once, in the same order (same stream seqs), nothing
    // invented, the same projections, and a chain that verifies.
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p);
    let nats = NatsServer::start();
    let ev = GOLIVE.simulated(dir.path(), 12, TRUSTS, 2400);
    let data = d("ledger");
    let (mut ledger, base) = start_ledger(&data, &nats, &d("ledger.log"));
    let mut collectors: Vec<Proc> = ev
        .files
        .iter()
        .map(|(t, f)| {
            collect(
                f,
                &d(&format!("outbox-{t}")),
                &nats,
                &d(&format!("collect-{t}.log")),
            )
        })
        .collect();
    for c in &mut collectors {
        c.wait_ok(Duration::from_secs(120));
    }
    let n = ev.ids.len() as u64;
    assert_eq!(http_head_seq(&base), n);
    assert_eq!(ledger.term(), Some(0));
    let original = GOLIVE.exported_records(&data, &d("original.jsonl"));

    // Cut the sled file until a cut loses records (where sled's file ends in free space a cut
    // loses nothing, and the store opens whole: that is checked too).
    let refused = [80, 60, 40, 20, 5].into_iter().find(|pct| {
        let damaged = d(&format!("damaged-{pct}"));
        damage(&data, &damaged, &format!("truncate-pct-{pct}"));
        let st = GOLIVE.run(&["status", "--json", "--data", damaged.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&st.stderr);
        if st.status.success() {
            let v: Value = serde_json::from_slice(&st.stdout).unwrap();
            assert_eq!(
                v["head_seq"], n,
                "cut to {pct}%: opened as a shorter ledger"
            );
            return false;
        }
        assert!(
            stderr.to_lowercase().contains("corrupt") && stderr.contains("restore"),
            "{stderr}"
        );
        true
    });
    assert!(refused.is_some(), "no cut of the sled file lost records");

    let rebuilt = d("rebuilt");
    let (mut second, base2) = GOLIVE.serve_http(
        &[
            "--data",
            rebuilt.to_str().unwrap(),
            "--nats",
            &nats.url(),
            "--consumer",
            "golive-ledger-rebuild",
        ],
        &d("rebuild.log"),
    );
    wait_until(
        Duration::from_secs(120),
        "the rebuild reaches the head",
        || http_head_seq(&base2) >= n,
    );
    // Nothing more arrives: the stream held exactly these events. The new consumer has
    // acknowledged the stream's last message, so the rebuild has seen all there is.
    wait_for(
        Duration::from_secs(120),
        "the rebuild to acknowledge the whole stream",
        || match nats.consumer_progress("GOLIVE", "golive-ledger-rebuild") {
            Ok(p) if p.caught_up() => Ok(()),
            Ok(p) => Err(p.to_string()),
            Err(e) => Err(e),
        },
    );
    assert_eq!(http_head_seq(&base2), n);
    assert_eq!(second.term(), Some(0));
    let again = GOLIVE.exported_records(&rebuilt, &d("rebuilt.jsonl"));
    assert_eq!(again, original, "same events, same order, same stream seqs");
    let ids: BTreeSet<String> = again.iter().map(|(_, _, id)| id.clone()).collect();
    assert_eq!(ids, ev.ids);
    ok(GOLIVE.run(&["verify", "--data", rebuilt.to_str().unwrap()]));
    // The chain hash covers the previous hash, the seq and the event's bytes: the same events
    // in the same order make the same chain and Merkle tree.
    let c = query(&[
        "audit",
        "compare",
        data.to_str().unwrap(),
        rebuilt.to_str().unwrap(),
    ]);
    assert!(c.contains("IDENTICAL up to head seq 2400"), "{c}");
    for what in WHATS {
        assert_eq!(
            query(&["query", what, "--json", "--data", rebuilt.to_str().unwrap()]),
            query(&["query", what, "--json", "--data", data.to_str().unwrap()]),
            "{what}"
        );
    }
}
