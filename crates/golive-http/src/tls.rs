//! HTTPS for the API and dashboard: rustls (ring provider, TLS 1.2 and 1.3) over the same
//! router, from a PEM certificate chain and private key (`[http] tls_cert`, `tls_key`).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Serves the HTTP surface over TLS on a bound listener until `shutdown` completes, within the
/// state's limits ([`crate::limits`]), then stops as plain HTTP does
/// ([`crate::server::serve_app`]): it stops listening, idle connections close, and requests in
/// flight (or in their handshake) are answered before this returns. A client whose handshake
/// fails is logged and dropped; the server goes on.
pub async fn serve_tls_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shutdown = state.head_watch.clone().closing(shutdown);
    let limits = state.limiter.limits;
    tracing::info!(addr = ?listener.local_addr().ok(), "HTTPS API listening");
    crate::server::serve_app(listener, router(state), Some(config), limits, shutdown).await
}

/// [`serve_tls_on`] for any router (the refused state's, [`crate::refused`]), without limits.
pub async fn serve_app_tls_on(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "HTTPS API listening");
    let limits = crate::limits::Limits::off();
    crate::server::serve_app(listener, app, Some(config), limits, shutdown).await
}
