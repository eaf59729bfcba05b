//! HTTPS stops as plain HTTP does: on shutdown it takes no new connection, and a request
//! already in flight is answered in full before the server's future ends (so `golive serve`,
//! which waits for that future, exits only after it). The slow request is a route of the
//! test's own that waits until the test releases it, so nothing here races the clock.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, oneshot};

const DEADLINE: Duration = Duration::from_secs(30);

/// `GET path` over TLS trusting `ca`, with `Connection: close`; everything the server sent.
async fn get_over_tls(addr: std::net::SocketAddr, ca: &Path, path: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    // The server closes after the response; a TLS close without close_notify is an error here.
    tls.read_to_end(&mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

/// Waits until `addr` refuses a new TCP connection: the server has stopped listening.
async fn until_refused(addr: std::net::SocketAddr) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            start.elapsed() < DEADLINE,
            "{addr} still accepts after the shutdown"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_https_request_is_answered_in_full_across_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    golive_testkit::tls::certificates(dir.path(), "golive graceful test CA");
    let config = golive_http::tls::load(
        &dir.path().join("server.pem"),
        &dir.path().join("server.key"),
    )
    .unwrap();
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let body = "answered in full\n".repeat(4096);
    let app = {
        let (entered, release, body) = (entered.clone(), release.clone(), body.clone());
        Router::new().route(
            "/slow",
            get(move || async move {
                entered.notify_one();
                release.notified().await;
                body
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(golive_http::tls::serve_app_tls_on(
        listener,
        app,
        config,
        async {
            let _ = stopped.await;
        },
    ));
    let ca = dir.path().join("ca.pem");
    let client = tokio::spawn(async move { get_over_tls(addr, &ca, "/slow").await });
    tokio::time::timeout(DEADLINE, entered.notified())
        .await
        .expect("the request reaches its handler");

    stop.send(()).unwrap();
    until_refused(addr).await;
    assert!(
        !server.is_finished(),
        "the HTTPS server ended with a request in flight"
    );
    release.notify_one();

    let answer = tokio::time::timeout(DEADLINE, client)
        .await
        .expect("the client is answered")
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    assert!(
        answer.ends_with(&body),
        "the body was cut: {} bytes",
        answer.len()
    );
    tokio::time::timeout(DEADLINE, server)
        .await
        .expect("the server ends once answered")
        .unwrap()
        .unwrap();
}
