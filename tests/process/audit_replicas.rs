//! The auditor surface against running ledgers fed through a real nats-server: two ledger
//! replicas consuming the same stream end with identical logs and identical Merkle roots at
//! every signed checkpoint (`golive audit compare URL1 URL2`); a ledger that goes idle signs
//! its head after `checkpoint_every_secs`; `golive audit export` works while the ledger runs
//! (over `--server URL`, and through the address the ledger records when its store is
//! locked), and the export verifies offline, and fails naming the seq of an edited amount.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::GOLIVE;
use base64::Engine;
use golive_testkit::golive::{get_json, http_head_seq, ok};
use golive_testkit::nats::NatsServer;
use golive_testkit::process::Proc;
use golive_testkit::wait_until;
use serde_json::Value;

/// (size, root as hex) of every signed checkpoint the ledger at `base` lists.
fn checkpoint_roots(base: &str) -> Vec<(u64, String)> {
    get_json(base, "/v1/checkpoints")["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let note = c["note"].as_str().unwrap();
            // C2SP tlog-checkpoint: origin, size, base64 root, then the signature block.
            let lines: Vec<&str> = note.lines().collect();
            let size: u64 = lines[1].parse().unwrap();
            assert_eq!(size, c["size"].as_u64().unwrap());
            let root = base64::engine::general_purpose::STANDARD
                .decode(lines[2])
                .unwrap();
            (size, root.iter().map(|b| format!("{b:02x}")).collect())
        })
        .collect()
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let o = GOLIVE.run(args);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn events_in(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64
}

#[test]
fn replicas_agree_idle_ledgers_sign_and_a_running_ledger_exports_a_verifiable_history() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start();
    let url = nats.url();
    // Checkpoints after a batch that brings 200 events, or 5 seconds after the last one.
    let config = dir.path().join("golive.toml");
    std::fs::write(
        &config,
        "[audit]\ncheckpoint_every_events = 200\ncheckpoint_every_secs = 5\n",
    )
    .unwrap();
    let config_s = config.to_str().unwrap();
    let (data_a, data_b): (PathBuf, PathBuf) = (dir.path().join("a"), dir.path().join("b"));
    let (mut serve_a, base_a) = GOLIVE.serve_http(
        &[
            "--data",
            data_a.to_str().unwrap(),
            "--nats",
            &url,
            "--config",
            config_s,
            "--consumer",
            "replica-a",
        ],
        &dir.path().join("serve-a.log"),
    );
    let (mut serve_b, base_b) = GOLIVE.serve_http(
        &[
            "--data",
            data_b.to_str().unwrap(),
            "--nats",
            &url,
            "--config",
            config_s,
            "--consumer",
            "replica-b",
        ],
        &dir.path().join("serve-b.log"),
    );

    // 1,500 simulated events (with corrections) plus the London scenario, two collectors.
    let sim = dir.path().join("sim.jsonl");
    ok(GOLIVE.run(&[
        "simulate",
        "--seed",
        "7",
        "--events",
        "1500",
        "--out",
        sim.to_str().unwrap(),
    ]));
    let scenario = golive_testkit::golive::scenario();
    let total = events_in(&sim) + events_in(&scenario);
    let mut collectors: Vec<Proc> = [sim.as_path(), scenario.as_path()]
        .iter()
        .enumerate()
        .map(|(i, feed)| {
            GOLIVE.collect(
                feed,
                &dir.path().join(format!("outbox-{i}")),
                &url,
                &[],
                &dir.path().join(format!("collect-{i}.log")),
            )
        })
        .collect();
    for c in &mut collectors {
        c.wait_ok(Duration::from_secs(300));
    }
    wait_until(
        Duration::from_secs(120),
        "both replicas at the head",
        || http_head_seq(&base_a) == total && http_head_seq(&base_b) == total,
    );

    for base in [&base_a, &base_b] {
        wait_until(Duration::from_secs(60), "the head to be signed", || {
            checkpoint_roots(base).last().map(|c| c.0) == Some(total)
        });
    }

    // Idle signing: one more event, far fewer than 200, then nothing. No batch makes it due,
    // so the consumer loop's idle path signs it within checkpoint_every_secs.
    let one = dir.path().join("one.jsonl");
    ok(GOLIVE.run(&[
        "simulate",
        "--seed",
        "99",
        "--events",
        "1",
        "--out",
        one.to_str().unwrap(),
    ]));
    let mut c = GOLIVE.collect(
        &one,
        &dir.path().join("outbox-one"),
        &url,
        &[],
        &dir.path().join("collect-one.log"),
    );
    c.wait_ok(Duration::from_secs(60));
    let total = total + 1;
    wait_until(
        Duration::from_secs(60),
        "both replicas at the new head",
        || http_head_seq(&base_a) == total && http_head_seq(&base_b) == total,
    );
    let signed_on_arrival = checkpoint_roots(&base_a).last().map(|c| c.0) == Some(total);
    for base in [&base_a, &base_b] {
        wait_until(
            Duration::from_secs(60),
            "the idle head to be signed",
            || checkpoint_roots(base).last().map(|c| c.0) == Some(total),
        );
    }
    if signed_on_arrival {
        eprintln!("note: the last event came 5 s after the previous checkpoint; signed on arrival");
    }

    // The replicas agree: same records, so the same root at every signed size of either.
    let (code, out, err) = run(&["audit", "compare", &base_a, &base_b]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.starts_with(&format!("IDENTICAL up to head seq {total}, Merkle root ")),
        "{out}"
    );
    let (roots_a, roots_b) = (checkpoint_roots(&base_a), checkpoint_roots(&base_b));
    assert!(roots_a.len() >= 3, "{roots_a:?}");
    for (size, root) in roots_a.iter().chain(&roots_b) {
        for base in [&base_a, &base_b] {
            let c = get_json(
                base,
                &format!("/v1/proof/consistency?from={size}&to={total}"),
            );
            assert_eq!(
                c["from_root"].as_str().unwrap(),
                root,
                "root at size {size} on {base}"
            );
        }
    }

    // Export while running: over --server, and through the recorded address when the store is
    // locked by the running ledger. Both verify offline and are the same bytes.
    let pubkey = run(&["audit", "pubkey", "--data", data_a.to_str().unwrap()]).1;
    let pubkey = pubkey.trim();
    let pubkey_b = run(&["audit", "pubkey", "--data", data_b.to_str().unwrap()]).1;
    let pubkey_b = pubkey_b.trim();
    assert_ne!(pubkey, pubkey_b, "each replica signs with its own key");
    let h1 = dir.path().join("h1.jsonl");
    let (code, _, err) = run(&[
        "audit",
        "export",
        "--server",
        &base_a,
        "--out",
        h1.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let h2 = dir.path().join("h2.jsonl");
    let (code, _, err) = run(&[
        "audit",
        "export",
        "--data",
        data_a.to_str().unwrap(),
        "--out",
        h2.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("held by a running ledger"), "{err}");
    let (t1, t2) = (
        std::fs::read_to_string(&h1).unwrap(),
        std::fs::read_to_string(&h2).unwrap(),
    );
    assert_eq!(t1, t2);
    let (code, out, err) = run(&[
        "audit",
        "verify",
        "--export",
        h1.to_str().unwrap(),
        "--pubkey",
        pubkey,
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with(&format!("OK head seq {total} ")), "{out}");

    // A part of the history, from the middle: verifies from its header on.
    let part = dir.path().join("part.jsonl");
    let (code, _, err) = run(&[
        "audit",
        "export",
        "--server",
        &base_b,
        "--from-seq",
        "777",
        "--to-seq",
        "1200",
        "--out",
        part.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&[
        "audit",
        "verify",
        "--export",
        part.to_str().unwrap(),
        "--pubkey",
        pubkey_b,
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("OK head seq 1200 "), "{out}");

    // Edit one amount: verify fails (TAMPERED) naming that record's seq.
    let mut edited = None;
    let lines: Vec<String> = t1
        .lines()
        .map(|l| {
            let Some(at) = l.find("\"amount_pence\":") else {
                return l.to_owned();
            };
            if edited.is_some() {
                return l.to_owned();
            }
            edited = Some(
                serde_json::from_str::<Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap(),
            );
            let digits = at + "\"amount_pence\":".len();
            format!("{}9{}", &l[..digits], &l[digits..])
        })
        .collect();
    let edited = edited.expect("an amount in the export");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let (code, out, _) = run(&[
        "audit",
        "verify",
        "--export",
        bad.to_str().unwrap(),
        "--pubkey",
        pubkey,
    ]);
    assert_eq!(code, Some(i32::from(golive::exit::TAMPERED)), "{out}");
    assert!(out.contains(&format!("at seq {edited}:")), "{out}");

    // An export against a replica's URL: the same history, so compare says so.
    let (code, out, _) = run(&["audit", "compare", h1.to_str().unwrap(), &base_b]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("IDENTICAL"), "{out}");

    assert_eq!(serve_a.term(), Some(0), "{}", serve_a.log_text());
    assert_eq!(serve_b.term(), Some(0), "{}", serve_b.log_text());
    // The stores, after the ledgers stop, agree too; the recorded addresses are gone.
    assert!(!data_a.join("serving.url").exists());
    let (code, out, _) = run(&[
        "audit",
        "compare",
        data_a.to_str().unwrap(),
        data_b.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with(&format!("IDENTICAL up to head seq {total}")),
        "{out}"
    );
}
