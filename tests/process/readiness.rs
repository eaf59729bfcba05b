//! Liveness, readiness and systemd's notifications of a real `golive serve` on a real
//! nats-server that the test kills and restarts: `/readyz` is 503 naming NATS while the server
//! is down and 200 once it is back, `/healthz` answers all along; under a `$NOTIFY_SOCKET` the
//! ledger says READY=1 once consuming, pings the watchdog and says STOPPING=1 on SIGTERM; and
//! its JSON access log names each request's route and status.

use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::GOLIVE;
use golive_testkit::nats::NatsServer;
use golive_testkit::process::Proc;
use golive_testkit::wait_for;
use serde_json::Value;

/// Generous for a loaded 2-core machine.
const WITHIN: Duration = Duration::from_secs(90);

/// `GET base+path`: status and body, whatever the status.
fn get(base: &str, path: &str) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut r = agent
        .get(format!("{base}{path}"))
        .call()
        .map_err(|e| format!("GET {path}: {e}"))?;
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// Waits until `/readyz` answers `want`; its JSON.
fn readyz_becomes(base: &str, want: u16, what: &str) -> Value {
    wait_for(WITHIN, what, || {
        let (status, body) = get(base, "/readyz")?;
        if status == want {
            serde_json::from_str::<Value>(&body).map_err(|e| e.to_string())
        } else {
            Err(format!("{status} {body}"))
        }
    })
}

/// Every notification received on a socket, in order, read by a thread of its own so that the
/// sender never finds the queue full.
struct Notifications {
    seen: Arc<Mutex<Vec<String>>>,
    done: Arc<AtomicBool>,
}

impl Notifications {
    fn listen(sock: UnixDatagram) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let (into, stop) = (seen.clone(), done.clone());
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    into.lock().unwrap().push(text);
                }
            }
        });
        Self { seen, done }
    }

    /// Waits for a notification after the first `after` that starts with `prefix`: its index
    /// and text.
    fn next(&self, after: usize, prefix: &str) -> (usize, String) {
        wait_for(WITHIN, &format!("a {prefix} notification"), || {
            let seen = self.seen.lock().unwrap();
            seen.iter()
                .enumerate()
                .skip(after)
                .find(|(_, t)| t.starts_with(prefix))
                .map(|(i, t)| (i, t.clone()))
                .ok_or_else(|| format!("{seen:?}"))
        })
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// `golive serve --http 127.0.0.1:0` with JSON logs at info, notifying `socket` with a watchdog
/// of `watchdog_usec`; the process and the base URL of its API once it listens.
fn serve(
    dir: &std::path::Path,
    nats: &str,
    socket: &std::path::Path,
    watchdog_usec: u64,
) -> (Proc, String) {
    const MARK: &str = "HTTP API and dashboard on ";
    let mut cmd = GOLIVE.command();
    cmd.args(["serve", "--data"])
        .arg(dir.join("ledger"))
        .args([
            "--nats",
            nats,
            "--http",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .env("GOLIVE_LOG", "info")
        .env("NOTIFY_SOCKET", socket)
        .env("WATCHDOG_USEC", watchdog_usec.to_string());
    let mut proc = Proc::spawn(cmd, &dir.join("serve.log"));
    let base = wait_for(WITHIN, "golive serve to listen for HTTP", || {
        let text = proc.log_text();
        if let Some(rest) = text.split(MARK).nth(1) {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            return Ok(addr.trim_end_matches('/').to_owned());
        }
        if proc.running() {
            Err(String::new())
        } else {
            Err(format!("it exited:\n{text}"))
        }
    });
    (proc, base)
}

#[test]
fn readyz_is_503_naming_nats_while_it_is_down_and_200_once_it_is_back() {
    // Proves the Done-when line for readiness with a real nats-server killed (SIGKILL)
    // and restarted on its store, the sd_notify protocol a Type=notify unit relies on, and the
    // access log of the probes.
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start();
    let socket = dir.path().join("notify.sock");
    let notes = Notifications::listen(UnixDatagram::bind(&socket).unwrap());
    let (mut serve, base) = serve(dir.path(), &nats.url(), &socket, 400_000);

    let (ready, text) = notes.next(0, "READY=1");
    assert_eq!(text, "READY=1\nSTATUS=consuming the stream GOLIVE");
    notes.next(ready, "WATCHDOG=1");
    let up = readyz_becomes(&base, 200, "/readyz 200 with NATS up");
    assert_eq!(up["ready"], true, "{up}");
    assert_eq!(up["reasons"], serde_json::json!([]), "{up}");
    assert_eq!(up["nats_connected"], true, "{up}");

    nats.kill();
    let down = readyz_becomes(&base, 503, "/readyz 503 with NATS down");
    assert_eq!(down["ready"], false, "{down}");
    let reasons: Vec<&str> = down["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.iter().any(|r| r.starts_with("nats: ")), "{down}");
    assert_eq!(down["nats_connected"], false, "{down}");
    assert_eq!(get(&base, "/healthz").unwrap(), (200, "ok\n".to_owned()));
    // The ledger is alive, so the watchdog is still fed while NATS is away.
    notes.next(notes.count(), "WATCHDOG=1");

    nats.restart();
    let back = readyz_becomes(&base, 200, "/readyz 200 once NATS is back");
    assert_eq!(back["ready"], true, "{back}");

    let before_stop = notes.count();
    assert_eq!(serve.term(), Some(0), "{}", serve.log_text());
    notes.next(before_stop, "STOPPING=1");
    let log = serve.log_text();
    let access: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "golive_http::access")
        .collect();
    for status in [200, 503] {
        assert!(
            access.iter().any(|v| v["fields"]["route"] == "/readyz"
                && v["fields"]["status"] == status
                && v["fields"]["method"] == "GET"
                && v["fields"]["token"] == "-"),
            "no access log line of GET /readyz {status}:\n{log}"
        );
    }
}
