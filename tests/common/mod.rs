//! Shared harness of the process-level integration tests: a real `nats-server` on a free
//! loopback port with its own temporary store (so a test can kill and restart it), and `golive`
//! child processes. Never a fixed port, never a shared server.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_millis(100),
    )
    .is_ok()
}

/// Waits until `cond` holds, panicking with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn nats_binary() -> PathBuf {
    for p in ["/usr/sbin/nats-server", "/usr/bin/nats-server"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    "nats-server".into()
}

/// A nats-server child with JetStream, on its own port and store directory.
pub struct NatsServer {
    pub port: u16,
    pub store: tempfile::TempDir,
    child: Option<Child>,
    log: PathBuf,
}

impl NatsServer {
    pub fn start() -> Self {
        let store = tempfile::tempdir().expect("temp dir");
        let log = store.path().join("nats.log");
        let mut s = Self {
            port: free_port(),
            store,
            child: None,
            log,
        };
        s.restart();
        s
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and store.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "nats-server already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("nats log");
        let child = Command::new(nats_binary())
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path().join("js"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("nats-server starts (apt-get install nats-server)");
        self.child = Some(child);
        let port = self.port;
        wait_until(Duration::from_secs(10), "nats-server to listen", || {
            port_open(port)
        });
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let port = self.port;
        wait_until(Duration::from_secs(10), "nats-server to stop", || {
            !port_open(port)
        });
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn golive_bin() -> &'static str {
    env!("CARGO_BIN_EXE_golive")
}

/// Runs `golive ARGS` to completion.
pub fn golive(args: &[&str]) -> Output {
    Command::new(golive_bin())
        .args(args)
        .env_remove("GOLIVE_CONFIG")
        .env_remove("GOLIVE_DATA")
        .env_remove("NATS_URL")
        .output()
        .expect("golive runs")
}

pub fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// A `golive` child process (serve or collect) with its output in a log file.
pub struct Proc {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(args: &[&str], log: &Path) -> Self {
        let f = std::fs::File::create(log).expect("log file");
        let child = Command::new(golive_bin())
            .args(args)
            .env_remove("GOLIVE_CONFIG")
            .env_remove("GOLIVE_DATA")
            .env_remove("NATS_URL")
            .env("GOLIVE_LOG", "info")
            .stdout(Stdio::from(f.try_clone().unwrap()))
            .stderr(Stdio::from(f))
            .spawn()
            .expect("golive starts");
        Self {
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL: a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait: a graceful stop. Returns the exit code.
    pub fn term(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = c.kill();
                panic!(
                    "golive did not stop on SIGTERM within 30 s; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit by itself; panics after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let mut c = self.child.take()?;
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            if start.elapsed() > timeout {
                let _ = c.kill();
                panic!(
                    "golive did not finish within {timeout:?}; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Starts `golive serve --data DATA --nats URL --http 127.0.0.1:0 EXTRA...`, waits until it
/// consumes and serves HTTP, and returns it with its HTTP base URL (`http://127.0.0.1:PORT`).
pub fn serve_http(data: &Path, nats_url: &str, extra: &[&str], log: &Path) -> (Proc, String) {
    const MARK: &str = "HTTP API and dashboard on ";
    let mut args = vec![
        "serve",
        "--data",
        data.to_str().expect("utf-8 path"),
        "--nats",
        nats_url,
        "--http",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let p = Proc::spawn(&args, log);
    wait_until(Duration::from_secs(30), "the ledger to serve HTTP", || {
        let log = p.log_text();
        log.contains("ledger serving") && log.contains(MARK)
    });
    let log = p.log_text();
    let base = log[log.find(MARK).unwrap() + MARK.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    (p, base)
}
