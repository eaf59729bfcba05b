//! The limits against abuse over real sockets (`golive_http::serve_on`), each configured tight:
//! a token flooding gets 429s with `Retry-After` while another token is served; an address
//! flooding gets 429s while another address is served; a client sending its headers byte by
//! byte is disconnected after the header timeout, one that never sends its body gets a 408;
//! a connection beyond `connections_max` is answered 503 and closed, and served again once one
//! closes, and a connection beyond its address's limit likewise while another address is served;
//! a request over its rate waits its delay for the 429, and beyond the bound of waiting
//! answers is refused at once and its connection closed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use golive_http::limits::Limits;
use golive_http::{AppState, Auth, Role, TokenEntry, auth};
use golive_ledger::{Ledger, LedgerOptions};
use golive_projections::WarningRules;
use golive_store::Incoming;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A ledger of the scenario's first 20 events.
fn state(dir: &std::path::Path) -> AppState {
    let text = std::fs::read_to_string(golive_testkit::golive::scenario()).unwrap();
    let events: Vec<Incoming> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .map(|l| {
            Incoming::new(
                golive_model::decode(l.as_bytes()).unwrap(),
                None,
                chrono::Utc::now(),
            )
        })
        .collect();
    let mut ledger = Ledger::open(dir, LedgerOptions::default()).unwrap();
    ledger.append(events).unwrap();
    AppState::new(
        Arc::new(Mutex::new(ledger)),
        Arc::new(WarningRules::default()),
    )
}

/// Two analyst tokens, `flood` and `quiet`: the policy and the tokens.
fn two_tokens() -> (Auth, String, String) {
    let (flood, quiet) = (auth::new_token().unwrap(), auth::new_token().unwrap());
    let entry = |name: &str, t: &str| {
        TokenEntry::new(name, Role::Analyst, &auth::token_hash_hex(t)).unwrap()
    };
    let policy = Auth::from_tokens(vec![entry("flood", &flood), entry("quiet", &quiet)]).unwrap();
    (policy, flood, quiet)
}

/// Serves `st` on a free loopback port until the test ends.
async fn serve(st: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(golive_http::serve_on(listener, st, std::future::pending()));
    addr
}

/// One answer: status, headers (lower-case names) and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a 429 in the API's error shape with a whole number of seconds to wait.
    fn assert_too_many(&self) {
        assert_eq!(self.status, 429, "{}", self.body);
        let retry: u64 = self
            .header("retry-after")
            .expect("Retry-After on a 429")
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        let v: Value = serde_json::from_str(&self.body).unwrap();
        assert_eq!(v["error"]["status"], 429, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("requests per second"),
            "{v}"
        );
    }
}

/// Reads a whole `Connection: close` answer from `s`, within 10 s.
async fn read_answer(mut s: TcpStream) -> Answer {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    parse_answer(&String::from_utf8_lossy(&raw))
}

fn parse_answer(text: &str) -> Answer {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// `GET path` with `token` on a new keep-alive connection: the answer (read by its
/// `content-length`), the time it took, and whether the server said `Connection: close` (and
/// then closed it within 10 s).
async fn get_keep_alive(addr: SocketAddr, path: &str, token: &str) -> (Answer, Duration, bool) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {token}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let answer = loop {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(n > 0, "closed before a whole answer: {raw:?}");
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let a = parse_answer(&format!("{head}\r\n\r\n"));
        let length: usize = a.header("content-length").unwrap().parse().unwrap();
        if body.len() >= length {
            break parse_answer(&text);
        }
    };
    let took = started.elapsed();
    let closed = answer.header("connection") == Some("close");
    if closed {
        let end = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
        assert!(matches!(end, Ok(Ok(0))), "said close, not closed: {end:?}");
    }
    (answer, took, closed)
}

/// `GET path` from the local address `from`, with `token` if given, on a new connection.
async fn get_from(from: &str, addr: SocketAddr, path: &str, token: Option<&str>) -> Answer {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    let req = format!("GET {path} HTTP/1.1\r\nhost: test\r\n{auth}connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    read_answer(s).await
}

/// A keep-alive connection from `from`, served one `/healthz` (so the server counts it open).
async fn served_keep_alive(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    s
}

async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Answer {
    get_from("127.0.0.1", addr, path, token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_token_gets_429s_while_another_token_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, flood, quiet) = two_tokens();
    let st = state(dir.path()).with_auth(policy).with_limits(Limits {
        token_requests_per_s: 5,
        token_burst: 10,
        ..Limits::off()
    });
    let addr = serve(st).await;
    let started = Instant::now();
    let mut served = 0u64;
    let mut refused = 0u64;
    for _ in 0..60 {
        let a = get(addr, "/v1/head", Some(&flood)).await;
        if a.status == 200 {
            served += 1;
        } else {
            a.assert_too_many();
            refused += 1;
        }
    }
    // The burst, and what the rate refilled meanwhile, and no more.
    let allowed = 10 + (started.elapsed().as_secs_f64() * 5.0).ceil() as u64;
    assert!(
        served >= 10 && served <= allowed,
        "served {served}, allowed {allowed}"
    );
    assert!(refused > 0, "no 429 in 60 requests");
    // The other token is not charged for the flood: every one of its requests succeeds.
    for _ in 0..10 {
        let a = get(addr, "/v1/head", Some(&quiet)).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    // The flooding token is still refused right after.
    get(addr, "/v1/head", Some(&flood)).await.assert_too_many();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_address_gets_429s_while_another_address_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).with_limits(Limits {
        address_requests_per_s: 5,
        address_burst: 10,
        ..Limits::off()
    });
    let addr = serve(st).await;
    let mut refused = 0;
    for _ in 0..60 {
        let a = get_from("127.0.0.1", addr, "/v1/head", None).await;
        if a.status != 200 {
            a.assert_too_many();
            refused += 1;
        }
    }
    assert!(refused > 0, "no 429 in 60 requests from one address");
    // Another address (all of 127/8 is loopback) has its own bucket.
    for _ in 0..10 {
        let a = get_from("127.0.0.2", addr, "/v1/head", None).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    get_from("127.0.0.1", addr, "/healthz", None)
        .await
        .assert_too_many();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_its_headers_byte_by_byte_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).with_limits(Limits {
        header_timeout_ms: 500,
        ..Limits::off()
    });
    let addr = serve(st).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    // Headers that never end: one byte every 50 ms, for up to 20 s.
    let drip = b"GET /healthz HTTP/1.1\r\nx-slow: "
        .iter()
        .chain([b'a'; 400].iter());
    let mut closed_after = None;
    for byte in drip {
        if s.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Ok(Ok(n)) => {
                // hyper may answer 408 before it closes; never a 200.
                let text = String::from_utf8_lossy(&buf[..n]);
                assert!(!text.contains(" 200 "), "{text}");
            }
            Err(_) => {}
        }
    }
    let took = closed_after.expect("the server closed the connection before the headers ended");
    assert!(
        took >= Duration::from_millis(400),
        "closed after {took:?}, before the timeout"
    );
    assert!(took < Duration::from_secs(10), "closed only after {took:?}");
    // A client that sends its headers at once is served.
    assert_eq!(get(addr, "/healthz", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_arrives_gets_a_408() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).with_limits(Limits {
        body_timeout_ms: 300,
        ..Limits::off()
    });
    let addr = serve(st).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"GET /healthz HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\nconnection: close\r\n\r\nabc",
    )
    .await
    .unwrap();
    let a = read_answer(s).await;
    assert_eq!(a.status, 408, "{}", a.body);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["error"]["status"], 408, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_beyond_the_limit_is_answered_503_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).with_limits(Limits {
        connections_max: 2,
        ..Limits::off()
    });
    let addr = serve(st).await;
    // Two keep-alive connections, each served once (so both are counted).
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(served_keep_alive("127.0.0.1", addr).await);
    }
    // The third: 503 with Retry-After and the API's JSON error, then closed.
    let third = TcpStream::connect(addr).await.unwrap();
    let a = read_answer(third).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.header("retry-after"), Some("1"));
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["error"]["status"], 503, "{v}");
    // Once one closes, a new connection is served.
    drop(open.pop());
    served_again(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_rate_answer_waits_its_delay_and_beyond_the_bound_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, flood, quiet) = two_tokens();
    let delay = Duration::from_millis(3_000);
    let st = state(dir.path()).with_auth(policy).with_limits(Limits {
        token_requests_per_s: 1,
        token_burst: 1,
        over_rate_delay_ms: delay.as_millis() as u64,
        over_rate_delayed_max: 1,
        ..Limits::off()
    });
    let addr = serve(st).await;
    // The flooding token spends its burst of one.
    let (a, _, _) = get_keep_alive(addr, "/v1/head", &flood).await;
    assert_eq!(a.status, 200, "{}", a.body);
    // Two requests over its rate at once; one place to wait. While they wait, the other token
    // is served.
    let (first, second, other) = tokio::join!(
        get_keep_alive(addr, "/v1/head", &flood),
        get_keep_alive(addr, "/v1/head", &flood),
        get(addr, "/v1/head", Some(&quiet)),
    );
    assert_eq!(other.status, 200, "{}", other.body);
    for (a, _, _) in [&first, &second] {
        a.assert_too_many();
    }
    // One waited its delay and kept its connection; the other was answered with
    // `Connection: close` and closed.
    let (waited, refused) = if first.2 {
        (second, first)
    } else {
        (first, second)
    };
    assert!(!waited.2, "both connections were closed");
    assert!(refused.2, "neither connection was closed");
    assert!(
        waited.1 >= delay,
        "the delayed 429 came after {:?}",
        waited.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_beyond_its_address_limit_is_answered_503_while_another_address_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).with_limits(Limits {
        address_connections_max: 2,
        ..Limits::off()
    });
    let addr = serve(st).await;
    // Two keep-alive connections from 127.0.0.1, each served once (so both are counted).
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(served_keep_alive("127.0.0.1", addr).await);
    }
    // A third from the same address: 503, naming the address's limit.
    let a = get_from("127.0.0.1", addr, "/healthz", None).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.header("retry-after"), Some("1"));
    assert!(
        a.body.contains("this address has 2 connections open"),
        "{}",
        a.body
    );
    // Another address is served meanwhile.
    let a = get_from("127.0.0.2", addr, "/healthz", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    // Once one of the first address's connections closes, it is served again.
    drop(open.pop());
    served_again(addr).await;
}

/// Waits (30 s at most) until a new connection from 127.0.0.1 is served, not refused 503.
async fn served_again(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = get(addr, "/healthz", None).await;
        if a.status == 200 {
            return;
        }
        assert_eq!(a.status, 503, "{}", a.body);
        assert!(
            Instant::now() < deadline,
            "still refused 30 s after a connection closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
