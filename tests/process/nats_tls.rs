//! NATS over TLS with the shipped server configurations: a real nats-server started with
//! deploy/nats/tls.conf (server certificate) or tls-verify.conf (client certificates too), the
//! certificates made by openssl from a test CA (golive_testkit::tls), the file's certificate
//! paths pointed at them (the only change besides the port and `store_dir`).
//!
//! What is proved: the whole pipeline (collectors publish, `golive serve` ingests, receipts come
//! back) runs over TLS; the server refuses a plain connection; a collector that does not trust
//! the server's CA, or that has no client certificate where one is required, stops with one
//! clear line instead of retrying forever; `--check-config` names a TLS file that is missing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::GOLIVE;
use golive_testkit::golive::{http_head_seq, repo_root, scenario, scenario_len};
use golive_testkit::nats::NatsServer;
use golive_testkit::process::Proc;
use golive_testkit::{tls, wait_for};

/// Where the shipped configurations expect the certificates.
const SHIPPED_DIR: &str = "/etc/golive/nats-tls/";

/// deploy/nats/`name` with its certificate paths in `dir` (which holds the test CA's files),
/// written into `dir`.
fn shipped_conf(dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("deploy/nats").join(name)).unwrap();
    assert!(text.contains(SHIPPED_DIR), "{name} names {SHIPPED_DIR}");
    let to = dir.join(name);
    std::fs::write(
        &to,
        text.replace(SHIPPED_DIR, &format!("{}/", dir.display())),
    )
    .unwrap();
    to
}

/// A test CA with a server certificate for 127.0.0.1, and client certificates of `clients`.
fn certificates(dir: &Path, clients: &[&str]) -> PathBuf {
    let certs = dir.join("certs");
    std::fs::create_dir(&certs).unwrap();
    tls::certificates(&certs, "golive NATS test CA");
    for c in clients {
        tls::client_certificate(&certs, c);
    }
    certs
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Sends a plain (non-TLS) CONNECT and PING to the server and returns everything it answered
/// until it closed the connection (or 30 s passed).
fn plain_exchange(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut info = String::new();
    BufReader::new(&s).read_line(&mut info).unwrap();
    assert!(info.contains("\"tls_required\":true"), "{info}");
    s.write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    String::from_utf8_lossy(&rest).into_owned()
}

/// `golive serve` over TLS with `tls` flags, waiting until it consumes.
fn serve(dir: &Path, nats: &NatsServer, tls: &[&str]) -> (Proc, String) {
    let data = dir.join("ledger");
    let url = nats.url();
    let mut args = vec!["--data", path(&data), "--nats", &url];
    args.extend_from_slice(tls);
    GOLIVE.serve_http(&args, &dir.join("serve.log"))
}

/// `golive collect FEED` to completion, over TLS with `tls` flags.
fn collect(dir: &Path, nats: &NatsServer, feed: &Path, tls: &[&str]) -> std::process::Output {
    let outbox = dir.join("outbox");
    let url = nats.url();
    let mut args = vec![
        "collect",
        path(feed),
        "--data",
        path(&outbox),
        "--nats",
        &url,
        "--wait-receipts-secs",
        "120",
    ];
    args.extend_from_slice(tls);
    GOLIVE.run(&args)
}

fn wait_head(http: &str, seq: u64, ledger: &Proc) {
    wait_for(Duration::from_secs(60), &format!("head seq {seq}"), || {
        let head = http_head_seq(http);
        if head == seq {
            Ok(())
        } else {
            Err(format!("head {head}; the log:\n{}", ledger.log_text()))
        }
    });
}

/// Asserts `o` failed at once with one line saying TLS to NATS failed and what to check.
fn assert_tls_refused(o: &std::process::Output, url: &str, check: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("TLS to NATS at {url} failed: ")),
        "{err}"
    );
    assert!(err.contains(check), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn the_pipeline_runs_over_tls_and_the_server_refuses_plain_connections() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certificates(dir.path(), &[]);
    let nats = NatsServer::start_with_config(&shipped_conf(&certs, "tls.conf"));
    let ca = certs.join("ca.pem");

    // A plain client: the server closes the connection without answering its PING.
    let answer = plain_exchange(nats.port);
    assert!(!answer.contains("PONG"), "a plain client got {answer:?}");
    wait_for(
        Duration::from_secs(30),
        "the server logs the refusal",
        || {
            let log = nats.log_text();
            if log.contains("TLS handshake error") {
                Ok(())
            } else {
                Err(log)
            }
        },
    );

    // A collector that does not trust the server's CA stops with one line, publishing nothing.
    let o = collect(dir.path(), &nats, &scenario(), &[]);
    assert_tls_refused(&o, &nats.url(), "give --nats-ca FILE");

    // The whole pipeline through TLS: every event of the scenario appended, receipts back.
    let (mut ledger, http) = serve(dir.path(), &nats, &["--nats-ca", path(&ca)]);
    let o = collect(dir.path(), &nats, &scenario(), &["--nats-ca", path(&ca)]);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stderr),
        ledger.log_text()
    );
    wait_head(&http, scenario_len(), &ledger);
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
}

#[test]
fn a_server_that_verifies_clients_refuses_a_client_without_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certificates(dir.path(), &["ledger", "RAL"]);
    let nats = NatsServer::start_with_config(&shipped_conf(&certs, "tls-verify.conf"));
    let ca = certs.join("ca.pem");
    let (ral_cert, ral_key) = (certs.join("RAL.pem"), certs.join("RAL.key"));

    // Trusting the server is not enough: without a client certificate the handshake fails.
    let o = collect(dir.path(), &nats, &scenario(), &["--nats-ca", path(&ca)]);
    assert_tls_refused(&o, &nats.url(), "give --nats-cert and --nats-key");

    // A private key others can read is refused before connecting.
    let exposed = certs.join("exposed.key");
    std::fs::copy(&ral_key, &exposed).unwrap();
    std::fs::set_permissions(&exposed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let flags = [
        "--nats-ca",
        path(&ca),
        "--nats-cert",
        path(&ral_cert),
        "--nats-key",
        path(&exposed),
    ];
    let o = collect(dir.path(), &nats, &scenario(), &flags);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("chmod 600"), "{err}");

    // With certificates, the ledger and the collector carry the scenario end to end.
    let (ledger_cert, ledger_key) = (certs.join("ledger.pem"), certs.join("ledger.key"));
    let ledger_tls = [
        "--nats-ca",
        path(&ca),
        "--nats-cert",
        path(&ledger_cert),
        "--nats-key",
        path(&ledger_key),
    ];
    let (mut ledger, http) = serve(dir.path(), &nats, &ledger_tls);
    let flags = [
        "--nats-ca",
        path(&ca),
        "--nats-cert",
        path(&ral_cert),
        "--nats-key",
        path(&ral_key),
    ];
    let o = collect(dir.path(), &nats, &scenario(), &flags);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    wait_head(&http, scenario_len(), &ledger);
    assert_eq!(ledger.term(), Some(0), "{}", ledger.log_text());
}

#[test]
fn check_config_names_a_nats_tls_file_that_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ca.pem");
    let feed = scenario();
    for cmd in ["serve", "collect"] {
        let mut args = vec!["--check-config", cmd, "--nats-ca", path(&missing)];
        if cmd == "collect" {
            args.push(path(&feed));
        }
        let o = GOLIVE.run_with_data(&dir.path().join("data"), &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{cmd}: {err}");
        assert!(
            err.contains(&format!("cannot read {} (--nats-ca)", missing.display())),
            "{cmd}: {err}"
        );
    }
    // A certificate without its key is a usage error.
    let o = GOLIVE.run(&["serve", "--nats-cert", path(&missing), "--http", "off"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
