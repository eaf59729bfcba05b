//! The one accept loop of HTTP and HTTPS ([`crate::serve_on`], [`crate::tls`]): at most
//! `connections_max` connections at once, and `address_connections_max` from one client
//! address (one more is answered 503 with `Retry-After` and closed, never handed to the
//! router), a client's headers within `header_timeout_ms` (else the
//! connection is closed), the TLS handshake within [`TLS_HANDSHAKE_TIMEOUT`], and each request
//! told its client's address (`ConnectInfo<SocketAddr>`, for the per-address rate of
//! [`crate::limits`]). On shutdown it stops listening, idle connections close, and requests in
//! flight are answered before it returns, as `axum::serve(..).with_graceful_shutdown` does.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::Layer;

use crate::limits::{Limits, over_connections_answer};

/// Time a client has to complete the TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` (over TLS with `tls`) within `limits` until `shutdown` completes.
pub async fn serve_app(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let open =
        (limits.connections_max > 0).then(|| Arc::new(Semaphore::new(limits.connections_max)));
    let per_address = Arc::new(AddressCounts::new(limits.address_connections_max));
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, do not spin.
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let permit = match &open {
            None => None,
            Some(s) => match s.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    refuse(tcp, peer, "the server", limits.connections_max);
                    continue;
                }
            },
        };
        let Some(from_address) = per_address.admit(peer.ip()) else {
            refuse(tcp, peer, "this address", limits.address_connections_max);
            continue;
        };
        let conn = Connection {
            peer,
            app: app.clone(),
            limits,
            watcher: graceful.watcher(),
            _permit: permit,
            _from_address: from_address,
        };
        tokio::spawn(conn.run(tcp, acceptor.clone()));
    }
    drop(listener);
    let open = graceful.count();
    if open > 0 {
        tracing::info!(
            open,
            "HTTP: answering the requests in flight before stopping"
        );
    }
    graceful.shutdown().await;
    Ok(())
}

/// Refused connections lingering at once (below): beyond this many, one is closed at once.
const LINGERING_MAX: usize = 64;
/// How long a refused connection is read from after its 503, and how much of it.
const LINGER_MS: u64 = 1_000;
const LINGER_BYTES_MAX: usize = 16 * 1024;

static LINGERING: Semaphore = Semaphore::const_new(LINGERING_MAX);

/// A connection over `connections_max` (or its address's share): the 503 if the socket takes it at once, then closed.
/// Closed gracefully: the write side first, then what the client sent is read and dropped
/// for a moment, since closing a socket with unread input resets it and the client would
/// see "connection reset" instead of the 503. Bounded by [`LINGERING_MAX`].
fn refuse(tcp: TcpStream, peer: SocketAddr, who: &'static str, max: usize) {
    tracing::warn!(%peer, who, max, "HTTP connection refused: too many open");
    let _ = tcp.try_write(&over_connections_answer(who, max));
    let Ok(permit) = LINGERING.try_acquire() else {
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let mut tcp = tcp;
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut tcp).await;
        let mut buf = [0u8; 4096];
        let mut read = 0;
        let drain = async {
            while read < LINGER_BYTES_MAX {
                match tokio::io::AsyncReadExt::read(&mut tcp, &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(LINGER_MS), drain).await;
    });
}

/// One accepted connection and what it is served with; `_permit` is its place among the
/// `connections_max`, given back when it ends.
struct Connection {
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    watcher: Watcher,
    _permit: Option<OwnedSemaphorePermit>,
    _from_address: AddressPlace,
}

/// Connections open per client address, each at most `max` (0: no bound).
struct AddressCounts {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl AddressCounts {
    fn new(max: usize) -> Self {
        Self {
            max,
            open: Mutex::default(),
        }
    }

    /// A place for one more connection from `ip`, or `None` when it has `max` open.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<AddressPlace> {
        if self.max == 0 {
            return Some(AddressPlace(None));
        }
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_default();
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddressPlace(Some((self.clone(), ip))))
    }
}

/// One connection's place among its address's: given back when the connection ends (the
/// address's entry goes when its last connection does, so the table holds open addresses only).
struct AddressPlace(Option<(Arc<AddressCounts>, IpAddr)>);

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let Some((counts, ip)) = self.0.take() else {
            return;
        };
        let mut open = counts.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}

impl Connection {
    /// The TLS handshake if any, then HTTP/1.1 or HTTP/2 until the client closes, its headers
    /// are late, or the server's shutdown ends it after its requests in flight.
    async fn run(self, tcp: TcpStream, tls: Option<tokio_rustls::TlsAcceptor>) {
        let Some(acceptor) = tls else {
            return self.serve(TokioIo::new(tcp)).await;
        };
        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(s)) => self.serve(TokioIo::new(s)).await,
            Ok(Err(e)) => tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn serve<I>(self, io: TokioIo<I>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service =
            TowerToHyperService::new(axum::Extension(ConnectInfo(self.peer)).layer(self.app));
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout());
        let conn = builder.serve_connection_with_upgrades(io, service);
        if let Err(e) = self.watcher.watch(conn.into_owned()).await {
            tracing::debug!(peer = %self.peer, error = %e, "HTTP connection ended with an error");
        }
    }
}
