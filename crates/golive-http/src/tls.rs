//! HTTPS for the API and dashboard: rustls (ring provider, TLS 1.2 and 1.3) over the same
//! router, from a PEM certificate chain and private key (`[http] tls_cert`, `tls_key`).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::{AppState, router};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate chain {path}: {message}; give a PEM file")]
    Cert { path: PathBuf, message: String },
    #[error(
        "cannot read the TLS private key {path}: {message}; give a PEM file (PKCS#8, PKCS#1 or SEC1)"
    )]
    Key { path: PathBuf, message: String },
    #[error("the TLS certificate {cert} and key {key} do not make a server identity: {message}")]
    Config {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
}

/// The server's TLS settings, as [`load`] makes them and [`serve_tls_on`] takes them.
pub type TlsConfig = Arc<rustls::ServerConfig>;

/// The server's TLS settings from PEM files.
pub fn load(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Cert {
            path: cert.to_owned(),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Cert {
            path: cert.to_owned(),
            message: "no CERTIFICATE block".to_owned(),
        });
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.to_owned(),
        message: e.to_string(),
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .and_then(|b| b.with_no_client_auth().with_single_cert(chain, private))
    .map_err(|e| TlsError::Config {
        cert: cert.to_owned(),
        key: key.to_owned(),
        message: e.to_string(),
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves the HTTP surface over TLS on a bound listener until `shutdown` completes, then
/// stops as plain HTTP does (`axum::serve(..).with_graceful_shutdown`): it stops listening,
/// idle connections close, and requests in flight (or in their handshake) are answered before
/// this returns. A client whose handshake fails is logged and dropped; the server goes on.
pub async fn serve_tls_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shutdown = state.head_watch.clone().closing(shutdown);
    serve_app_tls_on(listener, router(state), config, shutdown).await
}

/// [`serve_tls_on`] for any router (the refused state's, [`crate::refused`]).
pub async fn serve_app_tls_on(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let graceful = GracefulShutdown::new();
    tracing::info!(addr = ?listener.local_addr().ok(), "HTTPS API listening");
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, do not spin.
                    tracing::warn!(error = %e, "accepting an HTTPS connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        tokio::spawn(connection(
            acceptor.clone(),
            tcp,
            peer,
            app.clone(),
            graceful.watcher(),
        ));
    }
    drop(listener);
    let open = graceful.count();
    if open > 0 {
        tracing::info!(
            open,
            "HTTPS: answering the requests in flight before stopping"
        );
    }
    graceful.shutdown().await;
    Ok(())
}

/// One HTTPS connection: the handshake (at most 10 s), then HTTP/1.1 or HTTP/2 until the client
/// closes or the server's shutdown (seen through `watcher`) ends it after its requests in flight.
async fn connection(
    acceptor: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    app: axum::Router,
    watcher: Watcher,
) {
    let handshake =
        tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await;
    let tls = match handshake {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let service = TowerToHyperService::new(app);
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::debug!(%peer, error = %e, "HTTPS connection ended with an error");
    }
}
