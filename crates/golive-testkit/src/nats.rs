//! A real `nats-server` per test, with JetStream, on a free loopback port and its own temporary
//! store, so that a test can kill, pause and restart it; optionally started with a
//! configuration file such as the shipped deploy/nats/auth.conf; and a JetStream cluster of
//! them. Never the default port 4222, never a server shared between tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, port_open, wait_until};

/// How long a nats-server may take to start listening or to stop, on a busy machine.
const START_STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// The URL of a nats-server on 127.0.0.1:`port`.
pub fn nats_url(port: u16) -> String {
    format!("nats://127.0.0.1:{port}")
}

/// The nats-server binary: `NATS_SERVER` if set, else Debian's (/usr/sbin), else one on PATH.
pub fn nats_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        return p.into();
    }
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
    /// Starts a server with JetStream on a free port, with its own store.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts on `port`, e.g. one a client was given before the server existed.
    pub fn start_on(port: u16) -> Self {
        let mut s = Self::new(port, None, None);
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
        let mut s = Self::new(free_port(), Some(text), None);
        s.restart();
        s
    }

    fn new(port: u16, config: Option<String>, cluster: Option<ClusterMember>) -> Self {
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
            port,
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

    /// What the server has logged so far.
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
        nats_url(self.port)
    }

    /// Starts (again) on the same port and store.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "nats-server already running");
        assert_ne!(self.port, 4222, "tests never use the default NATS port");
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
            .expect("nats-server starts (apt-get install nats-server, or set NATS_SERVER)");
        self.child = Some(child);
        let port = self.port;
        wait_until(START_STOP_TIMEOUT, "nats-server to listen", || {
            port_open(port)
        });
    }

    /// Where the durable `consumer` of `stream` stands: see [`ConsumerProgress`]. An `Err` says
    /// why JetStream did not answer (for a wait's "last seen").
    pub fn consumer_progress(
        &self,
        stream: &str,
        consumer: &str,
    ) -> Result<ConsumerProgress, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(10),
                consumer_progress(self.url(), stream, consumer),
            )
            .await
        })
        .map_err(|_| "JetStream did not answer within 10 s".to_owned())?
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
        wait_until(START_STOP_TIMEOUT, "nats-server to stop", || {
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
                    free_port(),
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

/// How far a durable consumer has got through its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerProgress {
    /// The stream seq up to which the consumer has acknowledged every message (its ack floor).
    pub acked_stream_seq: u64,
    /// The stream's last message.
    pub last_stream_seq: u64,
}

impl ConsumerProgress {
    /// The consumer has acknowledged the stream's last message: nothing is left for it to do.
    pub fn caught_up(&self) -> bool {
        self.acked_stream_seq >= self.last_stream_seq
    }
}

impl std::fmt::Display for ConsumerProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "acknowledged up to stream seq {} of {}",
            self.acked_stream_seq, self.last_stream_seq
        )
    }
}

async fn consumer_progress(
    url: String,
    stream: &str,
    consumer: &str,
) -> Result<ConsumerProgress, String> {
    let c = async_nats::connect(url).await.map_err(|e| e.to_string())?;
    let js = async_nats::jetstream::new(c);
    let mut s = js.get_stream(stream).await.map_err(|e| e.to_string())?;
    let last_stream_seq = s
        .info()
        .await
        .map_err(|e| e.to_string())?
        .state
        .last_sequence;
    let mut cons: async_nats::jetstream::consumer::PullConsumer =
        s.get_consumer(consumer).await.map_err(|e| e.to_string())?;
    let info = cons.info().await.map_err(|e| e.to_string())?;
    Ok(ConsumerProgress {
        acked_stream_seq: info.ack_floor.stream_sequence,
        last_stream_seq,
    })
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
