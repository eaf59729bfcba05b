//! Waiting for a condition instead of sleeping for a guessed time, and free loopback ports.
//!
//! A test that sleeps and then asserts races the clock: on a busy machine the sleep is too
//! short. A test waits for the condition itself, with a deadline generous enough for a loaded
//! 2-core machine (60 s or more where a process must do real work), and a timeout says what it
//! waited for and what it saw last.

use std::fmt::Display;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// How often a wait looks at its condition again.
const POLL_INTERVAL_MS: u64 = 50;

/// Waits until `cond` holds; panics after `timeout`, naming `what` was awaited. (Where the
/// value seen on the way says why a wait failed, use [`wait_for`].)
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    wait_for(timeout, what, || if cond() { Ok(()) } else { Err("") });
}

/// Waits until `probe` answers `Ok` and returns its value; panics after `timeout`, naming `what`
/// was awaited and the last `Err` (what was seen instead; an empty one says nothing more).
pub fn wait_for<T, E: Display>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<T, E>,
) -> T {
    let waiting = Waiting::new(timeout, what);
    loop {
        if let Some(v) = waiting.look(&mut probe) {
            return v;
        }
        std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
    }
}

/// [`wait_until`] inside a tokio runtime: it sleeps without blocking a worker thread.
#[cfg(feature = "harness")]
pub async fn wait_until_async(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let waiting = Waiting::new(timeout, what);
    let mut probe = || if cond() { Ok(()) } else { Err("") };
    while waiting.look(&mut probe).is_none() {
        tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
    }
}

/// One wait: what it waits for and until when.
struct Waiting<'a> {
    start: Instant,
    timeout: Duration,
    what: &'a str,
}

impl<'a> Waiting<'a> {
    fn new(timeout: Duration, what: &'a str) -> Self {
        Self {
            start: Instant::now(),
            timeout,
            what,
        }
    }

    /// Asks `probe` once: its value, or `None` to look again; panics once the time is up.
    fn look<T, E: Display>(&self, probe: &mut impl FnMut() -> Result<T, E>) -> Option<T> {
        match probe() {
            Ok(v) => Some(v),
            Err(last) => {
                let (timeout, what) = (self.timeout, self.what);
                let last = last.to_string();
                let seen = if last.is_empty() { "" } else { "; last seen: " };
                assert!(
                    self.start.elapsed() < timeout,
                    "timed out after {timeout:?} waiting for {what}{seen}{last}"
                );
                None
            }
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released for a server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(100),
    )
    .is_ok()
}
