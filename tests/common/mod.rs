//! Shared harness of the process-level integration tests: a real `nats-server` on a free
//! loopback port with its own temporary store (so a test can kill and restart it), optionally
//! started with a configuration file such as the shipped deploy/nats/auth.conf, a 3-node
//! JetStream cluster of them, and `golive` child processes. Never a fixed port, never a shared
//! server.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

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
    /// Set for a member of a [`NatsCluster`].
    cluster: Option<ClusterMember>,
}

/// How a cluster member is started: its name, its route port and its peers' route ports.
#[derive(Debug, Clone)]
struct ClusterMember {
    name: String,
    route_port: u16,
    peer_route_ports: Vec<u16>,
}

impl NatsServer {
    pub fn start() -> Self {
        let mut s = Self::new(None, None);
        s.restart();
        s
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
        let mut s = Self::new(Some(text), None);
        s.restart();
        s
    }

    fn new(config: Option<String>, cluster: Option<ClusterMember>) -> Self {
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
        Self {
            port: free_port(),
            store,
            config,
            child: None,
            log,
            cluster,
        }
    }

    /// The cluster member's server name (`nats-1`, ...), if it is one.
    pub fn name(&self) -> Option<&str> {
        self.cluster.as_ref().map(|c| c.name.as_str())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// The process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
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
        cmd.args(self.cluster.iter().flat_map(|c| {
            let routes: Vec<String> = c
                .peer_route_ports
                .iter()
                .map(|p| format!("nats://127.0.0.1:{p}"))
                .collect();
            [
                "--server_name".to_owned(),
                c.name.clone(),
                "--cluster_name".to_owned(),
                "golive".to_owned(),
                "--cluster".to_owned(),
                format!("nats://127.0.0.1:{}", c.route_port),
                "--routes".to_owned(),
                routes.join(","),
            ]
        }));
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

/// A JetStream cluster of nats-server children on loopback: each with its own client and route
/// ports, store directory and server name (`nats-1`, ...), routed to all the others. A member can
/// be killed and restarted on the same ports and store, as a crashed node would be.
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts `size` servers and waits until the cluster has a JetStream meta leader (until
    /// then JetStream requests fail, e.g. stream creation).
    pub fn start(size: usize) -> Self {
        let route_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let mut nodes: Vec<NatsServer> = (0..size)
            .map(|i| {
                NatsServer::new(
                    None,
                    Some(ClusterMember {
                        name: format!("nats-{}", i + 1),
                        route_port: route_ports[i],
                        peer_route_ports: route_ports
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| *j != i)
                            .map(|(_, p)| *p)
                            .collect(),
                    }),
                )
            })
            .collect();
        for n in &mut nodes {
            n.restart();
        }
        let cluster = Self { nodes };
        cluster.wait_jetstream_ready(Duration::from_secs(60));
        cluster
    }

    /// Every member's URL, comma-separated, as NATS_URL and `golive --nats` take a cluster.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The running members' URLs, for a client in the test itself.
    pub fn running_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.running())
            .map(NatsServer::url)
            .collect()
    }

    /// Waits until JetStream answers through the running members: a stream lookup returns the
    /// stream or "not found" (rather than "no meta leader", a timeout, or no responders).
    pub fn wait_jetstream_ready(&self, timeout: Duration) {
        let urls = self.running_urls();
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let start = Instant::now();
        let mut last = String::new();
        rt.block_on(async {
            loop {
                match jetstream_answers(&urls).await {
                    Ok(()) => return,
                    Err(e) => last = e,
                }
                assert!(
                    start.elapsed() < timeout,
                    "timed out after {timeout:?} waiting for the cluster's JetStream (last: {last})\n{}",
                    self.logs()
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
    }

    /// The Raft group of `stream` as JetStream reports it (leader, and each other replica:
    /// current or not), if the stream exists and answers.
    pub fn stream_cluster(
        &self,
        stream: &str,
    ) -> Option<async_nats::jetstream::stream::ClusterInfo> {
        let urls = self.running_urls();
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        rt.block_on(async {
            let c = async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(2))
                .connect(urls)
                .await
                .ok()?;
            let js = async_nats::jetstream::new(c);
            let info = tokio::time::timeout(Duration::from_secs(5), async {
                js.get_stream(stream).await.ok()?.info().await.ok().cloned()
            })
            .await
            .ok()??;
            info.cluster
        })
    }

    /// The name of the member that the process `pid` (a NATS client) is connected to, found by
    /// matching the process's TCP sockets to the members' client ports (Linux /proc).
    pub fn node_of_client(&self, pid: u32) -> Option<String> {
        let ports = connected_ports(pid);
        self.nodes
            .iter()
            .find(|n| n.running() && ports.contains(&n.port))
            .and_then(|n| n.name().map(str::to_owned))
    }

    /// Makes `target` the Raft leader of the stream `stream` (or of its consumer `consumer`) by
    /// asking the current leader to step down until the election lands on `target`.
    pub fn move_leader(&self, stream: &str, consumer: Option<&str>, target: &str) {
        let urls = self.running_urls();
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        rt.block_on(async {
            let c = async_nats::connect(urls)
                .await
                .expect("connect to the cluster");
            let js = async_nats::jetstream::new(c.clone());
            let leader = || async {
                let mut s = js.get_stream(stream).await.ok()?;
                match consumer {
                    None => s.info().await.ok()?.cluster.clone()?.leader,
                    Some(name) => {
                        let mut cons: async_nats::jetstream::consumer::PullConsumer =
                            s.get_consumer(name).await.ok()?;
                        cons.info().await.ok()?.cluster.clone()?.leader
                    }
                }
            };
            let subject = match consumer {
                None => format!("$JS.API.STREAM.LEADER.STEPDOWN.{stream}"),
                Some(name) => format!("$JS.API.CONSUMER.LEADER.STEPDOWN.{stream}.{name}"),
            };
            let what = consumer.unwrap_or(stream);
            for _ in 0..40 {
                let now = leader().await;
                if now.as_deref() == Some(target) {
                    return;
                }
                if now.is_some() {
                    let _ = c.request(subject.clone(), "".into()).await;
                }
                // Wait for the election after the step-down.
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(15) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let next = leader().await;
                    if next.is_some() && next != now {
                        break;
                    }
                }
            }
            panic!("could not move the leader of {what} to {target}");
        });
    }

    /// The member named `name`.
    pub fn node_mut(&mut self, name: &str) -> &mut NatsServer {
        self.nodes
            .iter_mut()
            .find(|n| n.name() == Some(name))
            .unwrap_or_else(|| panic!("no cluster member {name}"))
    }

    /// Every member's log, for a failure message.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| {
                let text = n.log_text();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                format!(
                    "--- {} (last 40 lines)\n{}",
                    n.name().unwrap_or("?"),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Remote ports of the established TCP connections of process `pid` (Linux: its socket fds,
/// looked up in /proc/net/tcp and tcp6).
pub fn connected_ports(pid: u32) -> BTreeSet<u16> {
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ports = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st ... inode (field 9); st 01 is ESTABLISHED.
            if f.len() > 9
                && f[3] == "01"
                && inodes.contains(f[9])
                && let Some(port) = f[2].rsplit(':').next()
                && let Ok(port) = u16::from_str_radix(port, 16)
            {
                ports.insert(port);
            }
        }
    }
    ports
}

async fn jetstream_answers(urls: &[String]) -> Result<(), String> {
    let c = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .connect(urls)
        .await
        .map_err(|e| e.to_string())?;
    let js = async_nats::jetstream::new(c);
    match tokio::time::timeout(Duration::from_secs(5), js.get_stream("GOLIVE-PROBE")).await {
        Err(_) => Err("timed out".to_owned()),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => match e.kind() {
            async_nats::jetstream::context::GetStreamErrorKind::JetStream(je)
                if je.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND =>
            {
                Ok(())
            }
            _ => Err(e.to_string()),
        },
    }
}

/// The golive binary under test: cargo's build of it, or `GOLIVE_TEST_BIN` (a frozen copy, so
/// that a long run is not disturbed by a rebuild of target/).
pub fn golive_bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("GOLIVE_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_golive").to_owned())
    })
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

/// Sends `kill -SIG pid` (e.g. "STOP", "CONT"); an already exited process is not an error.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stderr(Stdio::null())
        .status();
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

    /// SIGSTOP: the process is frozen (not killed) until [`Proc::resume`].
    pub fn pause(&self) {
        if let Some(c) = &self.child {
            signal(c.id(), "STOP");
        }
    }

    /// SIGCONT after [`Proc::pause`].
    pub fn resume(&self) {
        if let Some(c) = &self.child {
            signal(c.id(), "CONT");
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

/// Starts `golive serve ARGS --http 127.0.0.1:0` and waits until it consumes (panics if it
/// exits first). Returns the process and the base URL of its HTTP API.
pub fn serve_http(args: &[&str], log: &Path) -> (Proc, String) {
    const MARK: &str = "HTTP API and dashboard on ";
    let mut all = vec!["serve"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--http", "127.0.0.1:0"]);
    let mut proc = Proc::spawn(&all, log);
    let start = Instant::now();
    loop {
        let text = proc.log_text();
        if text.contains("ledger serving")
            && let Some(rest) = text.split(MARK).nth(1)
        {
            let base = rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
            return (proc, base);
        }
        assert!(
            proc.running(),
            "golive serve exited before serving:\n{text}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "golive serve did not start serving within 60 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The head seq of a running ledger, from its HTTP API (its store is locked while it runs).
pub fn http_head_seq(base: &str) -> u64 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let body = agent
        .get(format!("{base}/v1/head"))
        .call()
        .unwrap_or_else(|e| panic!("GET {base}/v1/head: {e}"))
        .body_mut()
        .read_to_string()
        .unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    v["seq"].as_u64().unwrap()
}

/// (seq, stream seq, event id) of every record of a stopped ledger, from `golive audit export`.
pub fn exported_records(data: &Path, export: &Path) -> Vec<(u64, Option<u64>, String)> {
    ok(golive(&[
        "audit",
        "export",
        "--data",
        data.to_str().unwrap(),
        "--out",
        export.to_str().unwrap(),
    ]));
    std::fs::read_to_string(export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("seq").is_some() && v.get("event").is_some())
        .map(|v| {
            (
                v["seq"].as_u64().unwrap(),
                v["stream_seq"].as_u64(),
                v["event"]["event_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub struct Events {
    /// trust -> JSONL file of that trust's events
    pub files: BTreeMap<String, PathBuf>,
    pub all: PathBuf,
    pub ids: BTreeSet<String>,
}

/// A simulated rollout, split into one file per trust (each trust has its own collector).
pub fn simulated(dir: &Path, seed: u64, trusts: usize, events: u64) -> Events {
    let all = dir.join("all.jsonl");
    ok(golive(&[
        "simulate",
        "--seed",
        &seed.to_string(),
        "--trusts",
        &trusts.to_string(),
        "--events",
        &events.to_string(),
        "--out",
        all.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&all).unwrap();
    let mut by_trust: BTreeMap<String, String> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        ids.insert(v["event_id"].as_str().unwrap().to_owned());
        let t = by_trust
            .entry(v["trust"].as_str().unwrap().to_owned())
            .or_default();
        t.push_str(line);
        t.push('\n');
    }
    let files = by_trust
        .into_iter()
        .map(|(t, body)| {
            let p = dir.join(format!("{t}.jsonl"));
            std::fs::write(&p, body).unwrap();
            (t, p)
        })
        .collect();
    Events { files, all, ids }
}

/// `golive status --json` of a ledger that is not running.
pub fn status(data: &Path) -> Value {
    serde_json::from_slice(
        &ok(golive(&[
            "status",
            "--json",
            "--data",
            data.to_str().unwrap(),
        ]))
        .stdout,
    )
    .unwrap()
}

/// Starts `golive collect FEED --data OUTBOX --nats URL EXTRA...` with its output in `log`.
pub fn collect(feed: &Path, outbox: &Path, nats_url: &str, extra: &[&str], log: &Path) -> Proc {
    let mut args = vec![
        "collect",
        feed.to_str().expect("utf-8 path"),
        "--data",
        outbox.to_str().expect("utf-8 path"),
        "--nats",
        nats_url,
    ];
    args.extend_from_slice(extra);
    Proc::spawn(&args, log)
}
