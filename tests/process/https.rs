//! The HTTP API over TLS with tokens, as an operator would set it up: a CA and a server
//! certificate made with openssl, `[http] tls_cert`/`tls_key` and tokens appended by `golive
//! token`; then the CLI as a client: it needs `GOLIVE_CA_CERT` to trust the server, and
//! `GOLIVE_TOKEN` of a sufficient role to be answered.

use std::process::Output;

use crate::GOLIVE;
use golive_testkit::golive::ok;
use golive_testkit::nats::NatsServer;

/// `golive ARGS` with the client environment given.
fn client(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = GOLIVE.command();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("golive runs")
}

#[test]
fn https_with_tokens_answers_only_trusting_clients_of_the_right_role() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A CA, and a server certificate for 127.0.0.1 signed by it.
    golive_testkit::tls::certificates(d, "golive test CA");
    let config = d.join("golive.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\ntls_cert = {:?}\ntls_key = {:?}\n",
            d.join("server.pem"),
            d.join("server.key")
        ),
    )
    .unwrap();
    let config_s = config.to_str().unwrap();
    let token = |name: &str, role: &str| {
        let o = ok(GOLIVE.run(&["token", name, "--role", role, "--append-to", config_s]));
        String::from_utf8(o.stdout).unwrap().trim().to_owned()
    };
    let analyst = token("ann", "analyst");
    let auditor = token("aud", "auditor");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        !text.contains(&analyst) && !text.contains(&auditor),
        "only hashes are kept"
    );

    let nats = NatsServer::start();
    let data = d.join("ledger");
    let (mut serve, base) = GOLIVE.serve_http(
        &[
            "--data",
            data.to_str().unwrap(),
            "--nats",
            &nats.url(),
            "--config",
            config_s,
        ],
        &d.join("serve.log"),
    );
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let ca = d.join("ca.pem");
    let ca = ca.to_str().unwrap();

    // A client that trusts the CA, with an analyst's token: answered.
    let o = client(
        &["query", "trusts", "--json", "--server", &base],
        &[("GOLIVE_CA_CERT", ca), ("GOLIVE_TOKEN", &analyst)],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");

    // Not trusting the CA: the TLS handshake fails, nothing is answered.
    let o = client(
        &["query", "trusts", "--server", &base],
        &[("GOLIVE_TOKEN", &analyst)],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot reach the ledger"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // No token: 401, and the error says which variable to set.
    let o = client(
        &["query", "trusts", "--server", &base],
        &[("GOLIVE_CA_CERT", ca)],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("401") && err.contains("GOLIVE_TOKEN"), "{err}");

    // The analyst may not read the log; the auditor may, and it verifies.
    let pubkey = String::from_utf8(
        ok(GOLIVE.run(&["audit", "pubkey", "--data", data.to_str().unwrap()])).stdout,
    )
    .unwrap();
    let verify = |token: &str| {
        client(
            &[
                "audit",
                "verify",
                "--server",
                &base,
                "--pubkey",
                pubkey.trim(),
            ],
            &[("GOLIVE_CA_CERT", ca), ("GOLIVE_TOKEN", token)],
        )
    };
    let o = verify(&analyst);
    assert_eq!(
        o.status.code(),
        Some(i32::from(golive::exit::COULD_NOT_READ))
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("403") && out.contains("auditor"), "{out}");
    let o = verify(&auditor);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    assert_eq!(serve.term(), Some(0), "{}", serve.log_text());
}
