//! The clustered deployment end to end with real processes: a 3-node NATS JetStream cluster,
//! the stream GOLIVE at replicas 3, two ledger replicas (`golive serve`, each with its own data
//! directory and durable consumer) and one collector per trust, all given the list of the three
//! servers. One NATS node is killed (SIGKILL) in the middle of ingest and later restarted on its
//! store; both ledgers still end with every event exactly once, and with identical logs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::GOLIVE;
use golive_testkit::golive::{http_head_seq, ok};
use golive_testkit::nats::NatsCluster;
use golive_testkit::process::Proc;
use golive_testkit::wait_until;

/// Events of the simulated rollout, and trusts (one collector each).
const EVENTS: u64 = 30_000;
const TRUSTS: usize = 3;

/// A running ledger replica.
struct Replica {
    proc: Proc,
    data: PathBuf,
    /// Base URL of its HTTP API.
    http: String,
}

/// Starts `golive serve` against the cluster and waits until it consumes.
fn serve_replica(dir: &Path, name: &str, nats_url: &str) -> Replica {
    let data = dir.join(name);
    let (proc, http) = GOLIVE.serve_http(
        &[
            "--data",
            data.to_str().unwrap(),
            "--nats",
            nats_url,
            "--consumer",
            name,
            "--stream-replicas",
            "3",
        ],
        &dir.join(format!("{name}.log")),
    );
    Replica { proc, data, http }
}

fn head_seq(r: &Replica) -> u64 {
    http_head_seq(&r.http)
}

fn stdout_of(args: &[&str]) -> String {
    String::from_utf8(ok(GOLIVE.run(args)).stdout).unwrap()
}

/// What the test compares between the replicas, read from a stopped ledger.
#[derive(Debug)]
struct Log {
    head_seq: u64,
    head_hash: String,
    /// The Merkle root at the head, from `golive audit verify --store`.
    root: String,
    /// (seq, stream seq, event id) of every record, from `golive audit export`.
    records: Vec<(u64, u64, String)>,
}

fn read_log(data: &Path, dir: &Path) -> Log {
    let d = data.to_str().unwrap();
    let s = GOLIVE.status(data);
    let verify = stdout_of(&["verify", "--data", d]);
    assert!(verify.starts_with("OK"), "{verify}");
    // The ledger's own public key; audit verify checks the chain, the Merkle tree and every
    // signed checkpoint against it.
    let pubkey = stdout_of(&["audit", "pubkey", "--data", d])
        .trim()
        .to_owned();
    let audit = stdout_of(&[
        "audit", "verify", "--store", "--pubkey", &pubkey, "--data", d,
    ]);
    assert!(audit.starts_with("OK head seq"), "{audit}");
    let root = audit
        .split_whitespace()
        .skip_while(|w| *w != "root")
        .nth(1)
        .unwrap_or_else(|| panic!("no root in: {audit}"))
        .to_owned();
    let export = dir.join(format!(
        "{}.export.jsonl",
        data.file_name().unwrap().to_str().unwrap()
    ));
    let records = GOLIVE
        .exported_records(data, &export)
        .into_iter()
        .map(|(seq, stream_seq, id)| {
            let stream_seq = stream_seq.expect("an event that came through NATS has a stream seq");
            (seq, stream_seq, id)
        })
        .collect();
    Log {
        head_seq: s["head_seq"].as_u64().unwrap(),
        head_hash: s["head_hash"].as_str().unwrap().to_owned(),
        root,
        records,
    }
}

#[test]
fn two_ledgers_on_a_three_node_cluster_survive_a_node_kill_with_identical_logs() {
    // Proves the clustered deployment: with the stream at replicas 3, SIGKILL mid-ingest of the
    // node a ledger is connected to, leader of the stream and of that ledger's consumer (and
    // the node's restart later) loses no event, appends none twice, and
    // both ledger replicas end with the same log: same records in the same order, same head
    // hash, same Merkle root, each verified against its own signing key.
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = NatsCluster::start(3);
    let url = cluster.url();
    let ev = GOLIVE.simulated(dir.path(), 8, TRUSTS, EVENTS);
    assert_eq!(ev.ids.len() as u64, EVENTS);

    let mut a = serve_replica(dir.path(), "ledger-a", &url);
    let mut b = serve_replica(dir.path(), "ledger-b", &url);
    let gs = cluster
        .stream_cluster("GOLIVE")
        .expect("the stream GOLIVE exists");
    assert_eq!(gs.replicas.len(), 2, "replicas 3: a leader and two peers");
    // The worst node to lose: the one ledger-a is connected to, made the leader of the stream
    // and of ledger-a's consumer. Killing it forces a client reconnect and two elections.
    let victim = cluster
        .node_of_client(a.proc.pid())
        .expect("ledger-a is connected to a NATS node");
    cluster.move_leader("GOLIVE", None, &victim);
    cluster.move_leader("GOLIVE", Some("ledger-a"), &victim);

    let mut collectors: Vec<Proc> = ev
        .files
        .iter()
        .map(|(t, f)| {
            GOLIVE.collect(
                f,
                &dir.path().join(format!("outbox-{t}")),
                &url,
                &[],
                &dir.path().join(format!("collect-{t}.log")),
            )
        })
        .collect();

    // Mid-ingest: the ledgers have some of the events, not all; kill the node then.
    wait_until(
        Duration::from_secs(120),
        "a ledger to append a tenth of the events",
        || head_seq(&a).max(head_seq(&b)) >= EVENTS / 10,
    );
    cluster.node_mut(&victim).kill();
    let at_kill = (head_seq(&a), head_seq(&b));
    assert!(
        at_kill.0 < EVENTS && at_kill.1 < EVENTS,
        "the node was killed mid-ingest: heads at the kill {at_kill:?} of {EVENTS}"
    );
    assert!(
        collectors.iter_mut().any(Proc::running),
        "collectors were still publishing at the kill"
    );

    // The two remaining nodes are a quorum: ingest goes on without the killed one.
    wait_until(
        Duration::from_secs(180),
        "both ledgers to append more with a node down",
        || head_seq(&a) > at_kill.0 && head_seq(&b) > at_kill.1,
    );
    cluster.node_mut(&victim).restart();

    for c in &mut collectors {
        c.wait_ok(Duration::from_secs(300));
    }
    // A collector is done when one ledger has confirmed each event; the other may lag.
    wait_until(
        Duration::from_secs(180),
        "both ledgers to have every event",
        || head_seq(&a) >= EVENTS && head_seq(&b) >= EVENTS,
    );
    // The restarted node caught up: it is a current replica of the stream again.
    wait_until(
        Duration::from_secs(120),
        "the restarted node to be a current replica of GOLIVE",
        || {
            cluster.stream_cluster("GOLIVE").is_some_and(|c| {
                c.leader.as_deref() == Some(victim.as_str())
                    || c.replicas.iter().any(|p| p.name == victim && p.current)
            })
        },
    );
    assert!(
        a.proc.log_text().contains("event: disconnected"),
        "ledger-a lost its NATS server and reconnected to another:\n{}",
        a.proc.log_text()
    );
    assert_eq!(a.proc.term(), Some(0), "{}", a.proc.log_text());
    assert_eq!(b.proc.term(), Some(0), "{}", b.proc.log_text());

    let la = read_log(&a.data, dir.path());
    let lb = read_log(&b.data, dir.path());
    for (name, l) in [("ledger-a", &la), ("ledger-b", &lb)] {
        // Every event exactly once: as many records as events, and their ids are the events'.
        assert_eq!(l.head_seq, EVENTS, "{name}: head seq");
        assert_eq!(l.records.len() as u64, EVENTS, "{name}: records exported");
        let ids: BTreeSet<String> = l.records.iter().map(|r| r.2.clone()).collect();
        assert_eq!(ids.len() as u64, EVENTS, "{name}: an event id twice");
        assert!(
            ids == ev.ids,
            "{name}: the event ids differ from the feed's"
        );
    }
    assert_eq!(la.head_hash, lb.head_hash, "head hash");
    assert_eq!(la.root, lb.root, "Merkle root at the head");
    assert!(
        la.records == lb.records,
        "the replicas appended different stream messages or in another order"
    );
    let cmp = GOLIVE.run(&[
        "audit",
        "compare",
        a.data.to_str().unwrap(),
        b.data.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&cmp.stdout);
    assert_eq!(cmp.status.code(), Some(0), "{out}");
    assert!(out.contains("IDENTICAL"), "{out}");
}
