//! `GET /v1/stream` over a real socket: the current head first, a new event announced to a
//! subscriber in under a second, a bounded number of subscribers (one more is a 503), and a
//! server shutdown that ends open streams instead of waiting for them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use golive_http::AppState;
use golive_http::stream::STREAM_SUBSCRIBERS_MAX;
use golive_ledger::{Ledger, LedgerOptions};
use golive_projections::WarningRules;
use golive_store::Incoming;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The scenario's first `n` events, appended.
fn state(dir: &std::path::Path) -> (AppState, Vec<golive_model::Envelope>) {
    let text = std::fs::read_to_string(golive_testkit::golive::scenario()).unwrap();
    let events: Vec<_> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| golive_model::decode(l.as_bytes()).unwrap())
        .collect();
    let mut ledger = Ledger::open(dir, LedgerOptions::default()).unwrap();
    let first: Vec<Incoming> = events[..10]
        .iter()
        .map(|e| Incoming::new(e.clone(), None, chrono::Utc::now()))
        .collect();
    ledger.append(first).unwrap();
    let st = AppState::new(
        Arc::new(Mutex::new(ledger)),
        Arc::new(WarningRules::default()),
    );
    (st, events)
}

/// A subscriber: the status line, then the events as `(event, data)` pairs.
struct Sub {
    lines: tokio::io::Lines<BufReader<TcpStream>>,
    status: String,
}

async fn subscribe(addr: std::net::SocketAddr) -> Sub {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /v1/stream HTTP/1.1\r\nhost: test\r\naccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    let mut lines = BufReader::new(s).lines();
    let status = lines.next_line().await.unwrap().unwrap();
    Sub { lines, status }
}

impl Sub {
    /// The next event (skipping headers, chunk sizes and keep-alive comments), within 10 s.
    async fn next(&mut self) -> Option<(String, String)> {
        let deadline = Duration::from_secs(10);
        tokio::time::timeout(deadline, async {
            let mut event = None;
            while let Some(line) = self.lines.next_line().await.ok()? {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = Some(e.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    return Some((event.take()?, d.to_owned()));
                }
            }
            None
        })
        .await
        .ok()?
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_event_reaches_a_subscriber_in_under_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let (st, events) = state(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(golive_http::serve_on(listener, st.clone(), async {
        let _ = stop_rx.await;
    }));
    let mut sub = subscribe(addr).await;
    assert!(sub.status.contains("200"), "{}", sub.status);
    let (event, data) = sub.next().await.expect("the current head first");
    assert_eq!(event, "head");
    assert!(data.starts_with(r#"{"seq":10,"#), "{data}");
    for (i, e) in events[10..13].iter().enumerate() {
        let appended = Instant::now();
        st.ledger
            .lock()
            .unwrap()
            .append(vec![Incoming::new(e.clone(), None, chrono::Utc::now())])
            .unwrap();
        let (event, data) = sub.next().await.expect("the new head");
        let took = appended.elapsed();
        assert_eq!(event, "head");
        assert!(
            data.starts_with(&format!(r#"{{"seq":{},"#, 11 + i)),
            "{data}"
        );
        assert!(took < Duration::from_secs(1), "announced after {took:?}");
    }
    // Bounded: with the places all taken, one more is a 503 naming the limit.
    let mut more = Vec::new();
    while st.head_watch.subscribers() < STREAM_SUBSCRIBERS_MAX {
        let mut s = subscribe(addr).await;
        assert!(s.status.contains("200"), "{}", s.status);
        s.next().await.expect("its first head");
        more.push(s);
    }
    let refused = subscribe(addr).await;
    assert!(refused.status.contains("503"), "{}", refused.status);
    // Leaving gives the place back (seen when the next announcement finds the socket closed).
    drop(more.pop());
    st.ledger
        .lock()
        .unwrap()
        .append(vec![Incoming::new(
            events[13].clone(),
            None,
            chrono::Utc::now(),
        )])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while st.head_watch.subscribers() >= STREAM_SUBSCRIBERS_MAX {
        assert!(Instant::now() < deadline, "a place given back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Shutdown ends the open streams: the server stops with subscribers still connected.
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops although streams were open")
        .unwrap()
        .unwrap();
    // What was announced before the shutdown may still be read; then the stream ends (not a
    // time-out: the whole read has its own deadline).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(line)) = sub.lines.next_line().await {
            assert!(
                !line.starts_with("event: ") || line == "event: head",
                "{line}"
            );
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ended with the server");
}
