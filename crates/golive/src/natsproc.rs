//! Finding or starting a nats-server for the demo and the benchmarks (tests have their own
//! harness in golive-testkit's `nats`, which can also kill and restart it).

use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A nats-server this process started; killed when dropped.
pub struct OwnNats {
    child: Child,
    pub url: String,
    pub store: PathBuf,
    /// Kills the server if a signal ends a run that installed `on_signal`.
    _on_signal: crate::on_signal::Registration,
}

impl OwnNats {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NatsProcError {
    #[error(
        "`nats-server` is not on PATH. Install it (Debian/Ubuntu: sudo apt-get install nats-server) or set NATS_URL to a running server"
    )]
    NotInstalled,
    #[error("cannot start nats-server: {0}")]
    Io(#[from] std::io::Error),
    #[error("nats-server did not start listening; see {0}")]
    NoAnswer(PathBuf),
}

/// True when something accepts TCP connections at the host and port of a `nats://` URL.
pub fn answers(url: &str) -> bool {
    let hostport = url
        .split(',')
        .next()
        .unwrap_or("")
        .trim_start_matches("nats://")
        .trim_start_matches("tls://")
        .rsplit('@')
        .next()
        .unwrap_or("")
        .to_owned();
    hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
}

/// The nats-server binary: on PATH, or where Debian installs it.
pub fn find_nats_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// Starts nats-server with JetStream on a free loopback port, its store and log under `dir`.
pub fn start(dir: &Path) -> Result<OwnNats, NatsProcError> {
    let bin = find_nats_server().ok_or(NatsProcError::NotInstalled)?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let store = dir.join("nats");
    std::fs::create_dir_all(&store)?;
    let log_path = dir.join("nats-server.log");
    let log = std::fs::File::create(&log_path)?;
    let child = Command::new(&bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(&store)
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()?;
    let pid = child.id();
    let own = OwnNats {
        child,
        url: format!("nats://127.0.0.1:{port}"),
        store,
        _on_signal: crate::on_signal::register(move || crate::on_signal::kill(pid)),
    };
    for _ in 0..100 {
        if answers(&own.url) {
            return Ok(own);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(NatsProcError::NoAnswer(log_path))
}
