//! The collector against a real nats-server started by each test (free loopback port, own
//! store directory) and a fake ledger answering receipt queries.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, message::PublishMessage};
use futures::StreamExt;
use golive_collector::{CollectError, CollectOutcome, Input, collect, outbox_status};
use golive_model::protocol::RECEIPTS_SUBJECT;
use golive_testkit::nats::{NatsServer, nats_url};
use golive_testkit::{free_port, wait_until_async};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_events_published_with_msg_id_in_order_and_confirmed() {
    // Proves (a): every event is published once with Nats-Msg-Id = event_id, in input order;
    // the fake ledger's receipts empty the outbox; a dead-lettered event lands in the outbox's
    // rejected list; `outbox_status` then shows nothing pending, without NATS.
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let server = NatsServer::start();
    let ledger = FakeLedger::new();
    ledger.dead.lock().unwrap().insert(event_id(7));
    ledger.start(client(&server.url()).await).await;

    let n = 2_000;
    let input = tmp.path().join("events.jsonl");
    write_events(&input, "RAL", 1, n);
    let outbox = tmp.path().join("outbox");
    let rec = Recorder::default();
    let summary = collect(
        test_config(&server.url(), &outbox),
        Input::File(input),
        rec.callback(),
        std::future::pending(),
    )
    .await
    .unwrap();

    assert_eq!(summary.outcome, CollectOutcome::AllConfirmed);
    assert_eq!(
        (summary.read, summary.queued, summary.rejected_locally),
        (n, n, 0)
    );
    assert_eq!(summary.published, n);
    assert_eq!(summary.republished, 0);
    assert_eq!(summary.confirmed, n - 1);
    assert_eq!(summary.dead_lettered, 1);
    assert_eq!(summary.pending_at_exit, 0);
    let log = ledger.log.lock().unwrap().clone();
    assert_eq!(log.len() as u64, n, "each event exactly once in the stream");
    for (i, s) in log.iter().enumerate() {
        let want = event_id(i as u64 + 1);
        assert_eq!(s.event_id, want, "stream order is input order");
        assert_eq!(s.msg_id, want.to_string(), "Nats-Msg-Id is the event id");
    }
    let last = rec.last().unwrap();
    assert_eq!((last.pending, last.confirmed), (0, n - 1));
    assert!(last.nats_connected);

    let status = outbox_status(&outbox).unwrap();
    assert_eq!(status.pending, 0);
    assert_eq!(status.rejected_total, 1);
    assert_eq!(status.rejected_by_ledger[0].event_id, event_id(7));
    assert_eq!(
        status.rejected_by_ledger[0].reason,
        "rejected by the ledger"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffers_while_nats_is_down_and_delivers_once_it_is_up() {
    // Proves (b): started before nats-server exists, the collector queues every event in the
    // outbox, reports NATS unreachable, publishes nothing; once the server starts (and later
    // the stream is created) everything gets through and is confirmed.
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let n = 500;
    let input = tmp.path().join("events.csv.jsonl");
    write_events(&input, "RVL", 1, n);
    let rec = Recorder::default();
    let config = test_config(&nats_url(port), &tmp.path().join("outbox"));
    let run = tokio::spawn(collect(
        config,
        Input::File(input),
        rec.callback(),
        std::future::pending(),
    ));

    wait_until_async(Duration::from_secs(60), "the unreachable note", || {
        rec.last().is_some_and(|p| {
            p.pending == n
                && !p.nats_connected
                && p.note.as_deref().is_some_and(|t| {
                    t.contains("NATS unreachable") && t.contains(&format!("{n} events buffered"))
                })
        })
    })
    .await;
    assert!(!rec.any(|p| p.published > 0));

    let _server = NatsServer::start_on(port);
    // The collector connects before the stream exists: its publishes fail and are retried.
    wait_until_async(Duration::from_secs(60), "the reconnect", || {
        rec.last().is_some_and(|p| p.nats_connected)
    })
    .await;
    wait_until_async(
        Duration::from_secs(60),
        "a publish to fail for want of the stream",
        || {
            rec.any(|p| {
                p.note
                    .as_deref()
                    .is_some_and(|t| t.contains("publishing to JetStream fails"))
            })
        },
    )
    .await;
    let ledger = FakeLedger::new();
    ledger.start(client(&nats_url(port)).await).await;

    let summary = run.await.unwrap().unwrap();
    assert_eq!(summary.outcome, CollectOutcome::AllConfirmed);
    assert_eq!(summary.confirmed, n);
    assert_eq!(summary.pending_at_exit, 0);
    let copies = ledger.copies();
    assert_eq!(copies.len() as u64, n);
    assert!(
        copies.values().all(|c| *c == 1),
        "nothing twice in the stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republishes_a_lost_event_under_a_new_msg_id() {
    // Proves (c): an event the broker "lost" (the fake ledger deletes it from the stream and
    // answers Unknown) is re-published after republish_after_ms under msg id `<id>.r1` and
    // reaches the ledger, although the original id is still inside JetStream's duplicate window
    // (a publish under the original id afterwards is reported duplicate and stored nowhere).
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let server = NatsServer::start();
    let ledger = FakeLedger::new();
    let lost_id = event_id(3);
    ledger.lose.lock().unwrap().insert(lost_id);
    ledger.start(client(&server.url()).await).await;

    let n = 10;
    let input = tmp.path().join("events.jsonl");
    write_events(&input, "RAL", 1, n);
    let mut config = test_config(&server.url(), &tmp.path().join("outbox"));
    config.republish_after_ms = 400;
    let summary = collect(config, Input::File(input), |_| {}, std::future::pending())
        .await
        .unwrap();

    assert_eq!(summary.outcome, CollectOutcome::AllConfirmed);
    assert_eq!(summary.confirmed, n);
    assert_eq!(summary.republished, 1);
    let lost = ledger.lost.lock().unwrap().clone();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].msg_id, lost_id.to_string());
    let copies: Vec<_> = ledger
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.event_id == lost_id)
        .cloned()
        .collect();
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].msg_id, format!("{lost_id}.r1"));
    assert!(copies[0].stream_seq > lost[0].stream_seq);
    assert!(copies[0].at.duration_since(lost[0].at) >= Duration::from_millis(400));

    // The original id is still in the duplicate window: the same publish would be swallowed.
    let js = jetstream::new(client(&server.url()).await);
    let ack = js
        .send_publish(
            "golive.events.RAL.extra_cost",
            PublishMessage::build()
                .payload(event_line("RAL", 3).into())
                .message_id(lost_id.to_string()),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(
        ack.duplicate,
        "JetStream would have dropped a re-publish under the original id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_ledger_is_not_flooded_with_copies() {
    // Proves the re-publish rule tells a backlog from a loss: a ledger that works through the
    // stream slowly (events wait well over republish_after_ms, answered Unknown meanwhile) but
    // keeps confirming gets no re-publishes at all, and sees each event once.
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let server = NatsServer::start();
    let ledger = FakeLedger::new();
    *ledger.delay_per_message.lock().unwrap() = Duration::from_millis(5);
    ledger.start(client(&server.url()).await).await;
    let n = 300;
    let input = tmp.path().join("events.jsonl");
    write_events(&input, "RAL", 1, n);
    let mut config = test_config(&server.url(), &tmp.path().join("outbox"));
    config.republish_after_ms = 400;
    let started = Instant::now();
    let summary = collect(config, Input::File(input), |_| {}, std::future::pending())
        .await
        .unwrap();
    assert!(
        started.elapsed() > Duration::from_millis(1_000),
        "the ledger was slower than republish_after_ms"
    );
    assert_eq!(summary.confirmed, n);
    assert_eq!(summary.republished, 0);
    assert!(ledger.copies().values().all(|c| *c == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_outbox() {
    // Proves that events left pending by a run whose ledger never answered (receipt wait
    // elapsed) are delivered by the next run without re-reading any input, and the ledger sees
    // each event exactly once (the JetStream-acked events are asked about, not re-sent).
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let server = NatsServer::start();
    let js = jetstream::new(client(&server.url()).await);
    create_stream(&js).await;
    let n = 300;
    let input = tmp.path().join("events.jsonl");
    write_events(&input, "RAL", 1, n);
    let outbox = tmp.path().join("outbox");
    let mut config = test_config(&server.url(), &outbox);
    config.wait_for_receipts_ms = Some(300);
    let first = collect(
        config.clone(),
        Input::File(input),
        |_| {},
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(first.outcome, CollectOutcome::ReceiptWaitElapsed);
    assert_eq!((first.published, first.pending_at_exit), (n, n));
    let status = outbox_status(&outbox).unwrap();
    assert_eq!((status.pending, status.awaiting_receipt), (n, n));
    assert!(
        status
            .oldest_pending
            .is_some_and(|o| o.event_id == event_id(1))
    );

    let ledger = FakeLedger::new();
    ledger.start(client(&server.url()).await).await;
    let empty = tmp.path().join("nothing.jsonl");
    std::fs::write(&empty, "").unwrap();
    config.wait_for_receipts_ms = Some(120_000);
    let second = collect(config, Input::File(empty), |_| {}, std::future::pending())
        .await
        .unwrap();
    assert_eq!(second.outcome, CollectOutcome::AllConfirmed);
    assert_eq!((second.read, second.confirmed, second.published), (0, n, 0));
    assert!(ledger.copies().values().all(|c| *c == 1));
    assert_eq!(outbox_status(&outbox).unwrap().pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_mode_reads_each_new_file_once_across_restarts() {
    // Proves the directory watch reads new *.jsonl and *.csv files once, reports a bad line of
    // a watched file, and after a restart does not read the same files again.
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let server = NatsServer::start();
    let ledger = FakeLedger::new();
    ledger.start(client(&server.url()).await).await;
    let dir = tmp.path().join("drop");
    std::fs::create_dir(&dir).unwrap();
    write_events(&dir.join("a.jsonl"), "RAL", 1, 20);
    std::fs::write(dir.join("ignored.txt"), "not a feed").unwrap();
    let outbox = tmp.path().join("outbox");
    let config = test_config(&server.url(), &outbox);

    let run = |rec: Recorder, stop: tokio::sync::oneshot::Receiver<()>| {
        tokio::spawn(collect(
            config.clone(),
            Input::Watch {
                dir: dir.clone(),
                poll_ms: 50,
                feeds: Default::default(),
            },
            rec.callback(),
            async move {
                let _ = stop.await;
            },
        ))
    };
    let rec = Recorder::default();
    let (stop, stop_rx) = tokio::sync::oneshot::channel();
    let handle = run(rec.clone(), stop_rx);
    wait_until_async(Duration::from_secs(60), "a.jsonl confirmed", || {
        rec.last().is_some_and(|p| p.confirmed == 20)
    })
    .await;
    // A second file appears while the collector runs, with one bad line.
    let mut text = String::new();
    for i in 21..=30 {
        text.push_str(&event_line("RAL", i));
        text.push('\n');
    }
    text.push_str("{\"event_id\":\"nope\"}\n");
    std::fs::write(dir.join("b.jsonl"), text).unwrap();
    wait_until_async(Duration::from_secs(60), "b.jsonl confirmed", || {
        rec.last()
            .is_some_and(|p| p.confirmed == 30 && p.rejected_locally == 1)
    })
    .await;
    stop.send(()).unwrap();
    let summary = handle.await.unwrap().unwrap();
    assert_eq!(summary.outcome, CollectOutcome::Shutdown);
    assert_eq!(summary.rejections[0].line, 11);
    assert_eq!(summary.rejections[0].field, "event_id");
    assert!(summary.rejections[0].source.ends_with("b.jsonl"));

    // A third file appears while no collector runs. The watch lists files in name order, so
    // once the restarted collector has had c.jsonl confirmed it has passed a.jsonl and b.jsonl.
    write_events(&dir.join("c.jsonl"), "RAL", 31, 1);
    let rec = Recorder::default();
    let (stop, stop_rx) = tokio::sync::oneshot::channel();
    let handle = run(rec.clone(), stop_rx);
    wait_until_async(Duration::from_secs(60), "c.jsonl confirmed", || {
        rec.last().is_some_and(|p| p.confirmed == 1)
    })
    .await;
    stop.send(()).unwrap();
    let summary = handle.await.unwrap().unwrap();
    assert_eq!(
        summary.read, 1,
        "files already read are not read again: only c.jsonl's one event is"
    );
    assert_eq!(ledger.copies().len(), 31);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outbox_pauses_reading_and_drops_nothing() {
    // Proves outbox_events_max: with no ledger answering, the outbox fills to the limit, reading
    // pauses and the note says why; when a ledger appears, the rest is read and all confirmed.
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let server = NatsServer::start();
    create_stream(&jetstream::new(client(&server.url()).await)).await;
    let n = 200;
    let input = tmp.path().join("events.jsonl");
    write_events(&input, "RAL", 1, n);
    let mut config = test_config(&server.url(), &tmp.path().join("outbox"));
    config.outbox_events_max = 50;
    let rec = Recorder::default();
    let run = tokio::spawn(collect(
        config,
        Input::File(input),
        rec.callback(),
        std::future::pending(),
    ));
    wait_until_async(Duration::from_secs(60), "the outbox-full note", || {
        rec.last().is_some_and(|p| {
            p.pending == 50
                && p.published == 50
                && p.note
                    .as_deref()
                    .is_some_and(|t| t.contains("outbox is full"))
        })
    })
    .await;
    // Reading stays paused while the collector goes on working: it asks for receipts three more
    // times (a silent listener stands in for the absent ledger) and still reads no further.
    let listener = client(&server.url()).await;
    let mut queries = listener.subscribe(RECEIPTS_SUBJECT).await.unwrap();
    listener.flush().await.unwrap();
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(60), queries.next())
            .await
            .expect("a receipt query within 60 s")
            .expect("the subscription is open");
    }
    drop(queries);
    assert!(!rec.any(|p| p.pending > 50 || p.read > 50));

    let ledger = FakeLedger::new();
    ledger.start(client(&server.url()).await).await;
    let summary = run.await.unwrap().unwrap();
    assert_eq!((summary.read, summary.confirmed), (n, n));
    assert_eq!(ledger.copies().len() as u64, n);
}

#[tokio::test]
async fn configuration_and_input_errors_come_first() {
    // Proves mistakes the operator must fix are errors returned at once (before any NATS
    // connection): a missing input file, an impossible window, an unreadable credentials file.
    let tmp = tempfile::tempdir().unwrap();
    let config = test_config(&nats_url(free_port()), &tmp.path().join("outbox"));
    let missing = collect(
        config.clone(),
        Input::File(tmp.path().join("missing.jsonl")),
        |_| {},
        std::future::pending(),
    )
    .await;
    assert!(
        matches!(missing, Err(CollectError::Read { .. })),
        "{missing:?}"
    );

    let mut bad = config.clone();
    bad.window = 0;
    let r = collect(bad, Input::Stdin, |_| {}, std::future::pending()).await;
    assert!(matches!(r, Err(CollectError::Config(_))), "{r:?}");

    let mut creds = config;
    creds.credentials = Some(tmp.path().join("nope.creds"));
    let empty = tmp.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let r = collect(creds, Input::File(empty), |_| {}, std::future::pending()).await;
    assert!(matches!(r, Err(CollectError::Credentials { .. })), "{r:?}");
}
