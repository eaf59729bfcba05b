//! The NATS pipeline end to end with real processes: `golive collect` (one per trust) publishes
//! to a real nats-server started by the test; `golive serve` appends to sled. The tests kill the
//! ledger, the broker, and delete a message from the stream, and check that every valid event is
//! in the ledger exactly once and every malformed one in the dead letters.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use crate::GOLIVE;
use futures::StreamExt;
use golive_testkit::golive::{http_head_seq, ok};
use golive_testkit::nats::NatsServer;
use golive_testkit::process::Proc;
use golive_testkit::{free_port, wait_for, wait_until};
use serde_json::Value;

/// Starts `golive serve` and waits until it consumes (stream provisioned, signals handled).
fn serve(data: &Path, nats: &NatsServer, log: &Path) -> Proc {
    let url = nats.url();
    let p = GOLIVE.spawn(
        &["serve", "--data", data.to_str().unwrap(), "--nats", &url],
        log,
    );
    wait_until(
        Duration::from_secs(60),
        "the ledger to start serving",
        || p.log_text().contains("ledger serving"),
    );
    p
}

fn collect(file: &Path, outbox: &Path, nats: &NatsServer, log: &Path, extra: &[&str]) -> Proc {
    GOLIVE.collect(file, outbox, &nats.url(), extra, log)
}

/// Waits until the ledger's durable consumer has acknowledged every message up to stream seq
/// `last` (the ledger acknowledges only what it has stored, appended or dead-lettered).
pub(crate) fn wait_until_processed(nats: &NatsServer, last: u64) {
    wait_for(
        Duration::from_secs(120),
        &format!("the ledger to process the stream up to seq {last}"),
        || {
            let p = nats.consumer_progress("GOLIVE", "golive-ledger")?;
            if p.acked_stream_seq >= last {
                Ok(())
            } else {
                Err(p.to_string())
            }
        },
    );
}

fn query_json(data: &Path, what: &str) -> String {
    String::from_utf8(
        ok(GOLIVE.run(&["query", what, "--json", "--data", data.to_str().unwrap()])).stdout,
    )
    .unwrap()
}

/// The ledger holds exactly `ids`, once each, its chain verifies, and its projections equal those
/// of a ledger that ingested the same events from a file (no NATS at all).
fn assert_ledger_holds_exactly(
    data: &Path,
    ids: &BTreeSet<String>,
    reference_input: &Path,
    dir: &Path,
) {
    let s = GOLIVE.status(data);
    assert_eq!(
        s["head_seq"].as_u64().unwrap(),
        ids.len() as u64,
        "events in the ledger"
    );
    let v = String::from_utf8(ok(GOLIVE.run(&["verify", "--data", data.to_str().unwrap()])).stdout)
        .unwrap();
    assert!(v.starts_with("OK"), "{v}");
    let reference = dir.join("reference");
    ok(GOLIVE.run(&[
        "ingest",
        reference_input.to_str().unwrap(),
        "--data",
        reference.to_str().unwrap(),
    ]));
    for what in ["money", "lost-patients", "rollout", "deferred", "incidents"] {
        assert_eq!(
            query_json(data, what),
            query_json(&reference, what),
            "{what}"
        );
    }
}

#[test]
fn collectors_publish_thousands_with_duplicates_and_the_ledger_appends_each_once() {
    // Proves exactly-once append through real NATS: each trust's collector runs twice over its
    // file (re-published events), files contain duplicated lines, and raw malformed messages go
    // to the dead letters without stopping the stream.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start();
    let ev = GOLIVE.simulated(dir.path(), 11, 4, 3_000);
    // Duplicate the first 50 lines of each trust's file inside the file itself.
    for f in ev.files.values() {
        let text = std::fs::read_to_string(f).unwrap();
        let head: String = text.lines().take(50).map(|l| format!("{l}\n")).collect();
        std::fs::write(f, format!("{text}{head}")).unwrap();
    }
    let data = dir.path().join("ledger");
    let mut ledger = serve(&data, &nats, &dir.path().join("serve.log"));
    for round in 0..2 {
        let mut procs: Vec<Proc> = ev
            .files
            .iter()
            .map(|(t, f)| {
                collect(
                    f,
                    &dir.path().join(format!("outbox-{t}")),
                    &nats,
                    &dir.path().join(format!("collect-{t}-{round}.log")),
                    &[],
                )
            })
            .collect();
        for p in &mut procs {
            p.wait_ok(Duration::from_secs(120));
        }
    }
    // Malformed messages straight onto the stream, as a broken trust system would send them.
    let malformed: Vec<(&str, &[u8])> = vec![
        ("golive.events.RAL.extra_cost", b"{not json"),
        (
            "golive.events.RAL.extra_cost",
            br#"{"event_id":"not-a-uuid"}"#,
        ),
        ("golive.events.RAL.extra_cost", &[0xff, 0xfe, 0x00]),
    ];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let last = rt.block_on(async {
        let c = async_nats::connect(nats.url()).await.unwrap();
        let js = async_nats::jetstream::new(c);
        let mut last = 0;
        for (subject, body) in &malformed {
            last = js
                .publish(subject.to_string(), body.to_vec().into())
                .await
                .unwrap()
                .await
                .unwrap()
                .sequence;
        }
        last
    });
    // The malformed ones are behind the valid ones: wait until the ledger has reached them.
    wait_until_processed(&nats, last);
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
    assert_ledger_holds_exactly(&data, &ev.ids, &ev.all, dir.path());
    let rows = GOLIVE.dead_letters(&data);
    assert_eq!(rows.len(), malformed.len(), "{rows:?}");
    assert!(rows.iter().all(|r| {
        r["origin"]
            .as_str()
            .unwrap()
            .starts_with("golive.events.RAL.extra_cost")
    }));
    assert_eq!(rows[1]["field"], "event_id");
}

#[test]
fn a_trust_publishing_under_another_trusts_subject_is_dead_lettered() {
    // Proves the subject's trust must equal the envelope's trust.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start();
    let ev = GOLIVE.simulated(dir.path(), 5, 2, 20);
    let data = dir.path().join("ledger");
    let mut ledger = serve(&data, &nats, &dir.path().join("serve.log"));
    let line = std::fs::read_to_string(&ev.all)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let v: Value = serde_json::from_str(&line).unwrap();
    let other = if v["trust"] == "RAL" { "RNJ" } else { "RAL" };
    let subject = format!("golive.events.{other}.{}", v["kind"].as_str().unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let seq = rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
        js.publish(subject, line.clone().into())
            .await
            .unwrap()
            .await
            .unwrap()
            .sequence
    });
    wait_until_processed(&nats, seq);
    assert_eq!(ledger.term(), Some(0));
    assert_eq!(GOLIVE.status(&data)["head_seq"], 0);
    let dl = String::from_utf8(
        ok(GOLIVE.run(&["dead-letters", "--data", data.to_str().unwrap()])).stdout,
    )
    .unwrap();
    assert!(dl.contains("does not match the envelope's trust"), "{dl}");
}

#[test]
fn killing_the_ledger_mid_stream_loses_nothing_and_appends_nothing_twice() {
    // Proves crash safety of the append-then-ack loop: kill -9 of `golive serve` while events
    // stream in, restart, and the ledger ends with every event exactly once and a valid chain.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start();
    let ev = GOLIVE.simulated(dir.path(), 21, 3, 60_000);
    let data = dir.path().join("ledger");
    let mut procs: Vec<Proc> = ev
        .files
        .iter()
        .map(|(t, f)| {
            collect(
                f,
                &dir.path().join(format!("outbox-{t}")),
                &nats,
                &dir.path().join(format!("c-{t}.log")),
                &[],
            )
        })
        .collect();
    let mut heads = Vec::new();
    for round in 0..4 {
        let mut ledger = serve(&data, &nats, &dir.path().join(format!("serve-{round}.log")));
        // The fault schedule: a crash a little later in each run (not a wait for anything).
        std::thread::sleep(Duration::from_millis(50 + 150 * round));
        ledger.kill9();
        heads.push(GOLIVE.status(&data)["head_seq"].as_u64().unwrap());
    }
    // The first kill came while events were still streaming in (else this test proves little).
    assert!(
        heads[0] < ev.ids.len() as u64,
        "heads after each kill: {heads:?}"
    );
    assert!(
        heads.windows(2).all(|w| w[0] <= w[1]),
        "heads after each kill: {heads:?}"
    );
    let mut ledger = serve(&data, &nats, &dir.path().join("serve-final.log"));
    for p in &mut procs {
        p.wait_ok(Duration::from_secs(180));
    }
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
    let before = query_json(&data, "lost-patients");
    assert_ledger_holds_exactly(&data, &ev.ids, &ev.all, dir.path());
    ok(GOLIVE.run(&["replay", "--data", data.to_str().unwrap()]));
    assert_eq!(
        query_json(&data, "lost-patients"),
        before,
        "live projections equal a fresh replay"
    );
}

#[test]
fn stopping_nats_while_a_collector_publishes_loses_nothing() {
    // Proves the collector's outbox and retries: the broker dies (SIGKILL, so unsynced JetStream
    // writes may be lost) mid-publish and comes back; every event still reaches the ledger.
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start();
    let ev = GOLIVE.simulated(dir.path(), 31, 1, 20_000);
    let data = dir.path().join("ledger");
    let mut ledger = serve(&data, &nats, &dir.path().join("serve.log"));
    let (_, file) = ev.files.iter().next().unwrap();
    let mut c = collect(
        file,
        &dir.path().join("outbox"),
        &nats,
        &dir.path().join("c.log"),
        &["--republish-after-ms", "2000"],
    );
    // Mid-publish: once the first events are in the stream.
    wait_for(
        Duration::from_secs(120),
        "the collector to publish its first events",
        || match nats.consumer_progress("GOLIVE", "golive-ledger") {
            Ok(p) if p.last_stream_seq > 0 => Ok(()),
            Ok(p) => Err(p.to_string()),
            Err(e) => Err(e),
        },
    );
    nats.kill();
    let noticed =
        |log: &str| log.to_lowercase().contains("unreachable") || log.contains("disconnect");
    wait_until(
        Duration::from_secs(60),
        "the collector to notice that NATS is down",
        || noticed(&c.log_text()),
    );
    nats.restart();
    c.wait_ok(Duration::from_secs(180));
    assert!(
        noticed(&c.log_text()),
        "the collector said NATS was down: {}",
        c.log_text()
    );
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
    assert_ledger_holds_exactly(&data, &ev.ids, &ev.all, dir.path());
}

#[test]
fn a_message_lost_by_the_broker_is_republished_by_the_collector() {
    // Proves end-to-end receipts: a message deleted from the stream before the ledger read it
    // (broker loss) is re-published by the collector, because only the ledger's durable receipt
    // lets the collector forget an event.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start();
    let ev = GOLIVE.simulated(dir.path(), 41, 1, 200);
    let data = dir.path().join("ledger");
    let (_, file) = ev.files.iter().next().unwrap();
    // The ledger provisions the stream and its durable consumer, then stops: events will wait
    // in the stream.
    let mut first = serve(&data, &nats, &dir.path().join("serve-0.log"));
    assert_eq!(first.term(), Some(0), "{}", first.log_text());
    let mut c = collect(
        file,
        &dir.path().join("outbox"),
        &nats,
        &dir.path().join("c.log"),
        &["--republish-after-ms", "1000"],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Wait until everything is in the stream, then delete message 7 (no ledger is running yet).
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut s) = js.get_stream("GOLIVE").await
                && s.info().await.map(|i| i.state.messages).unwrap_or(0) >= 200
            {
                assert!(s.delete_message(7).await.unwrap());
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "collector never published 200 events"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut ledger = serve(&data, &nats, &dir.path().join("serve.log"));
    c.wait_ok(Duration::from_secs(120));
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
    assert_ledger_holds_exactly(&data, &ev.ids, &ev.all, dir.path());
}

#[test]
fn an_existing_stream_with_other_settings_stops_the_ledger_with_a_clear_error() {
    // Proves stream provisioning checks rather than silently changes: a GOLIVE stream with a
    // different max_age makes `golive serve` exit with one line naming the difference.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
        js.create_stream(async_nats::jetstream::stream::Config {
            name: "GOLIVE".to_owned(),
            subjects: vec!["golive.events.>".to_owned()],
            storage: async_nats::jetstream::stream::StorageType::File,
            max_age: Duration::from_secs(7 * 86_400),
            ..Default::default()
        })
        .await
        .unwrap();
    });
    let data = dir.path().join("ledger");
    let url = nats.url();
    let o = GOLIVE.run(&["serve", "--data", data.to_str().unwrap(), "--nats", &url]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("stream GOLIVE exists with different settings"),
        "{err}"
    );
    assert!(
        err.contains("max_age is 604800s, expected 2592000s"),
        "{err}"
    );
    // The stream was not changed.
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
        let mut s = js.get_stream("GOLIVE").await.unwrap();
        assert_eq!(
            s.info().await.unwrap().config.max_age,
            Duration::from_secs(7 * 86_400)
        );
    });
}

#[test]
fn serve_says_clearly_when_nats_is_unreachable() {
    // Proves an operator gets one readable line, not a stack of errors, when NATS is down.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("nats://127.0.0.1:{}", free_port());
    let data = dir.path().join("ledger");
    let o = GOLIVE.run(&["serve", "--data", data.to_str().unwrap(), "--nats", &url]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("cannot reach NATS at {url}")),
        "{err}"
    );
}

#[test]
fn messages_delivered_to_a_run_that_died_are_read_from_the_stream_in_order() {
    // Proves the ledger reads the stream without gaps: messages its durable consumer delivered
    // to an earlier run that died before acknowledging them (the consumer does not deliver them
    // again before ack_wait, and the next ack, AckPolicy::All, covers them) are read from the
    // stream, in stream order, rather than lost until some collector re-publishes them (here
    // no collector runs at all). Ledger replicas rely on this to keep identical logs.
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start();
    let ev = GOLIVE.simulated(dir.path(), 51, 2, 300);
    let data = dir.path().join("ledger");
    // Provisions the stream and the durable consumer, then stops.
    let mut first = serve(&data, &nats, &dir.path().join("serve-0.log"));
    assert_eq!(first.term(), Some(0), "{}", first.log_text());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
        for line in std::fs::read_to_string(&ev.all).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let subject = format!(
                "golive.events.{}.{}",
                v["trust"].as_str().unwrap(),
                v["kind"].as_str().unwrap()
            );
            js.publish(subject, line.to_owned().into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
        // A run that took the first 100 messages and died: never acknowledged.
        let consumer: async_nats::jetstream::consumer::PullConsumer = js
            .get_stream("GOLIVE")
            .await
            .unwrap()
            .get_consumer("golive-ledger")
            .await
            .unwrap();
        let mut taken = consumer.fetch().max_messages(100).messages().await.unwrap();
        let mut n = 0;
        while let Some(m) = taken.next().await {
            m.unwrap();
            n += 1;
        }
        assert_eq!(n, 100);
    });
    let url = nats.url();
    let (mut ledger, http) = GOLIVE.serve_http(
        &["--data", data.to_str().unwrap(), "--nats", &url],
        &dir.path().join("serve.log"),
    );
    wait_until(Duration::from_secs(60), "the ledger to append 300", || {
        http_head_seq(&http) >= 300
    });
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
    assert!(
        ledger.log_text().contains("reading them from the stream"),
        "{}",
        ledger.log_text()
    );
    assert_ledger_holds_exactly(&data, &ev.ids, &ev.all, dir.path());
    let stream_seqs: Vec<Option<u64>> = GOLIVE
        .exported_records(&data, &dir.path().join("export.jsonl"))
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(stream_seqs, (1..=300).map(Some).collect::<Vec<_>>());
}
