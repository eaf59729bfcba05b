//! Shared harness of the process-level integration tests: a real `nats-server` on a free
//! loopback port with its own temporary store (so a test can kill and restart it), optionally
//! started with a configuration file such as the shipped deploy/nats/auth.conf, and `golive`
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

pub fn nats_binary() -> PathBuf {
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
    /// The configuration file it runs with (`-c`), if any: the given file with only its
    /// `store_dir` line replaced (see [`NatsServer::start_with_config`]).
    pub config: Option<PathBuf>,
    child: Option<Child>,
    log: PathBuf,
}

impl NatsServer {
    pub fn start() -> Self {
        Self::start_inner(None)
    }

    /// Starts nats-server with the configuration file `config` (e.g. the shipped
    /// deploy/nats/auth.conf) as it is, except for two things: the listen address and port,
    /// which the command line overrides (`-a 127.0.0.1 -p PORT`), and the JetStream store
    /// directory, which nats-server 2.9 does not let `-sd` override ("Duplicate 'store_dir'
    /// configuration"): the file is read at start and run with its one `store_dir:` line
    /// pointing at this server's temporary store. Nothing else is changed.
    pub fn start_with_config(config: &Path) -> Self {
        let text =
            std::fs::read_to_string(config).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
        let store_dir_lines = text
            .lines()
            .filter(|l| l.trim_start().starts_with("store_dir:"))
            .count();
        assert_eq!(
            store_dir_lines,
            1,
            "{} has exactly one store_dir line",
            config.display()
        );
        Self::start_inner(Some(text))
    }

    fn start_inner(config: Option<String>) -> Self {
        let store = tempfile::tempdir().expect("temp dir");
        let log = store.path().join("nats.log");
        let config = config.map(|text| {
            let js = store.path().join("js");
            let text: String = text
                .lines()
                .map(|l| {
                    if l.trim_start().starts_with("store_dir:") {
                        format!("  store_dir: {js:?}\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            let path = store.path().join("nats.conf");
            std::fs::write(&path, text).expect("write the server's configuration");
            path
        });
        let mut s = Self {
            port: free_port(),
            store,
            config,
            child: None,
            log,
        };
        s.restart();
        s
    }

    /// What nats-server wrote so far (its log).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
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
        let mut cmd = Command::new(nats_binary());
        cmd.args(["-a", "127.0.0.1", "-p", &self.port.to_string()]);
        match &self.config {
            Some(config) => cmd.arg("-c").arg(config),
            None => cmd.args(["-js", "-sd"]).arg(self.store.path().join("js")),
        };
        let child = cmd
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

    /// Makes the server re-read its configuration file (SIGHUP), e.g. after a test changed the
    /// users in [`NatsServer::config`].
    pub fn reload(&self) {
        let pid = self.child.as_ref().expect("nats-server running").id();
        let st = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(st.success(), "kill -HUP {pid}");
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
        .env_remove("GOLIVE_NATS_CREDS")
        .env_remove("GOLIVE_NATS_NKEY")
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
            .env_remove("GOLIVE_NATS_CREDS")
            .env_remove("GOLIVE_NATS_NKEY")
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
