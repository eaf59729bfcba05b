//! systemd's service notification protocol (sd_notify(3)), for `golive serve` run as a
//! `Type=notify` unit: `READY=1` once the ledger serves, `WATCHDOG=1` pings while it is alive
//! when the unit sets `WatchdogSec=`, `STOPPING=1` on the way out. Each message is one datagram
//! of `KEY=VALUE` lines sent to the Unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` in
//! the abstract namespace). Without `$NOTIFY_SOCKET` (not under systemd) nothing is sent.
//!
//! Design decision: the protocol is a single `sendto` on a Unix datagram socket, so it is
//! written here on `std::os::unix::net::UnixDatagram` rather than pulled in as a dependency.

use std::ffi::OsString;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Where notifications go: the socket of `$NOTIFY_SOCKET`, if any.
#[derive(Debug, Clone)]
pub struct Notifier {
    socket: Option<OsString>,
}

impl Notifier {
    /// The notifier of this process's environment (`$NOTIFY_SOCKET`; none when unset or empty).
    pub fn from_env() -> Self {
        Self::to_socket(std::env::var_os("NOTIFY_SOCKET"))
    }

    /// A notifier sending to `socket` (a path, or `@name` for the abstract namespace), or to
    /// nothing.
    pub fn to_socket(socket: Option<OsString>) -> Self {
        Self {
            socket: socket.filter(|s| !s.is_empty()),
        }
    }

    /// Whether anyone listens (the process runs under systemd, or a test's socket).
    pub fn enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// Sends `state` (`READY=1`, `WATCHDOG=1`, ...; lines joined by `\n`), without waiting.
    /// Without a socket, nothing and `Ok`.
    pub fn notify(&self, state: &str) -> std::io::Result<()> {
        let Some(socket) = &self.socket else {
            return Ok(());
        };
        let sock = UnixDatagram::unbound()?;
        // Never block the caller (an async task) on a listener that does not read: a full
        // queue loses this notification, with an error to log.
        sock.set_nonblocking(true)?;
        let bytes = socket.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            return send_abstract(&sock, name, state);
        }
        sock.send_to(state.as_bytes(), socket).map(|_| ())
    }
}

#[cfg(target_os = "linux")]
fn send_abstract(sock: &UnixDatagram, name: &[u8], state: &str) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    sock.send_to_addr(state.as_bytes(), &addr).map(|_| ())
}

#[cfg(not(target_os = "linux"))]
fn send_abstract(_: &UnixDatagram, _: &[u8], _: &str) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "abstract Unix sockets exist only on Linux",
    ))
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC` (systemd's advice), when it is set
/// for this process (`$WATCHDOG_PID` unset or ours). `None`: no watchdog.
pub fn watchdog_interval() -> Option<Duration> {
    watchdog_interval_of(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// [`watchdog_interval`] from the variables' values and this process's id.
pub fn watchdog_interval_of(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    if pid.is_some_and(|p| p.trim().parse::<u32>().ok() != Some(me)) {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    Some(Duration::from_micros(usec / 2).max(Duration::from_millis(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_is_one_datagram_on_the_socket_and_nothing_without_one() {
        // Proves the wire form systemd reads: the state's bytes as one datagram on the path of
        // NOTIFY_SOCKET; without a socket, sending is a no-op.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::to_socket(Some(path.clone().into_os_string()));
        assert!(n.enabled());
        n.notify("READY=1\nSTATUS=serving").unwrap();
        let mut buf = [0u8; 64];
        let len = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=serving");
        let none = Notifier::to_socket(Some(OsString::new()));
        assert!(!none.enabled());
        none.notify("READY=1").unwrap();
    }

    #[test]
    fn the_watchdog_pings_at_half_its_timeout_and_only_for_its_own_process() {
        // Proves the interval rule: half of WATCHDOG_USEC, none when unset, zero or garbage, or
        // when WATCHDOG_PID names another process.
        let half = Some(Duration::from_millis(1_500));
        assert_eq!(watchdog_interval_of(Some("3000000"), None, 7), half);
        assert_eq!(watchdog_interval_of(Some("3000000"), Some("7"), 7), half);
        assert_eq!(watchdog_interval_of(Some("3000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval_of(None, None, 7), None);
        assert_eq!(watchdog_interval_of(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval_of(Some("soon"), None, 7), None);
    }
}
