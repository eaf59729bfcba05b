//! Test certificates made with openssl, as an operator would make them: a CA (`ca.pem`,
//! `ca.key`) and a server certificate for 127.0.0.1 signed by it (`server.pem`, `server.key`).
//! One place for every TLS test (the HTTPS API, its graceful shutdown).

use std::path::Path;
use std::process::Command;

/// Runs `openssl ARGS` in `dir`; a failure is the test's.
pub fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Writes into `dir` a CA named `ca_name` and a certificate for 127.0.0.1 signed by it, valid
/// two days: `ca.pem`, `ca.key`, `server.pem`, `server.key`.
pub fn certificates(dir: &Path, ca_name: &str) {
    let subject = format!("/CN={ca_name}");
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", &subject,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(dir.join("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext",
        ],
    );
}

/// Writes into `dir` a client certificate `NAME.pem` with its key `NAME.key` (mode 0600), for
/// TLS client authentication, signed by the CA that [`certificates`] wrote there.
pub fn client_certificate(dir: &Path, name: &str) {
    use std::os::unix::fs::PermissionsExt;
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let subject = format!("/CN={name}");
    openssl(
        dir,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
            &subject,
        ],
    );
    let ext = format!("{name}.ext");
    std::fs::write(dir.join(&ext), "extendedKeyUsage=clientAuth\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
    std::fs::set_permissions(dir.join(&key), std::fs::Permissions::from_mode(0o600)).unwrap();
}
