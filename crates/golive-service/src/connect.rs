//! The connection to NATS, with the ledger's credentials, and what a refusal of them says.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use golive_ledger::Readiness;
use golive_model::protocol::{self, NatsTls};

use crate::error::ServeError;

/// How async-nats reports a connect attempt the server refused (`ConnectErrorKind`'s words).
const CONNECT_REFUSED: [&str; 2] = ["authorization violation", "failed signing nonce"];

/// A connection to NATS, and a signal that fires when the server starts refusing its
/// credentials on a reconnect (the key was removed or replaced, and the server reloaded).
pub struct Connection {
    pub client: async_nats::Client,
    pub refused: Arc<tokio::sync::Notify>,
}

/// Connects to NATS with the ledger's options: a `.creds` file or an NKey, if given, and TLS
/// (see [`with_tls`]). With an NKey the client's reply subjects are `_INBOX.<public key>.*`, the
/// only ones its permissions let it subscribe to. Every connect and disconnect the client
/// reports is told to `readiness`.
pub async fn connect(
    url: &str,
    credentials: Option<&Path>,
    nkey: Option<&nkeys::KeyPair>,
    tls: &NatsTls,
    name: &str,
    readiness: Arc<Readiness>,
) -> Result<Connection, ServeError> {
    let refused = Arc::new(tokio::sync::Notify::new());
    let on_refusal = refused.clone();
    let on_connection = readiness.clone();
    let mut opts = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        .max_reconnects(None::<usize>)
        // The client retries a refused reconnect forever; it would be refused the same way.
        .event_callback(move |event| {
            let on_refusal = on_refusal.clone();
            let on_connection = on_connection.clone();
            async move {
                match &event {
                    async_nats::Event::Connected => on_connection.set_nats_connected(true),
                    async_nats::Event::Disconnected => on_connection.set_nats_connected(false),
                    async_nats::Event::ClientError(async_nats::ClientError::Other(e))
                        if CONNECT_REFUSED.contains(&e.as_str()) =>
                    {
                        on_refusal.notify_one();
                    }
                    _ => {}
                }
            }
        });
    if let Some(path) = credentials {
        opts = opts
            .credentials_file(path)
            .await
            .map_err(|e| ServeError::Credentials {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
    }
    if let Some(kp) = nkey {
        let seed = kp.seed().map_err(|e| ServeError::Credentials {
            path: PathBuf::from("--nkey"),
            message: e.to_string(),
        })?;
        opts = opts
            .nkey(seed)
            .custom_inbox_prefix(protocol::user_inbox_prefix(&kp.public_key()));
    }
    opts = with_tls(opts, tls);
    // `url` may list the servers of a cluster (`nats://a:4222,nats://b:4222`): the client tries
    // each at start and on every reconnect, so the ledger survives the loss of any one node.
    match opts.connect(protocol::server_urls(url)).await {
        Ok(client) => {
            readiness.set_nats_connected(true);
            Ok(Connection { client, refused })
        }
        Err(e) => Err(connect_error(url, &e, credentials, nkey, tls)),
    }
}

/// What a failed first connect says: credentials refused, TLS failed, or NATS unreachable.
fn connect_error(
    url: &str,
    e: &async_nats::ConnectError,
    credentials: Option<&Path>,
    nkey: Option<&nkeys::KeyPair>,
    tls: &NatsTls,
) -> ServeError {
    match e.kind() {
        async_nats::ConnectErrorKind::AuthorizationViolation
        | async_nats::ConnectErrorKind::Authentication => {
            credentials_refused(url, credentials, nkey)
        }
        _ if protocol::is_tls_failure(&e.to_string()) => ServeError::Tls {
            url: url.to_owned(),
            message: e.to_string(),
            hint: tls.hint(),
        },
        _ => ServeError::Connect {
            url: url.to_owned(),
            message: e.to_string(),
        },
    }
}

/// `opts` with TLS as `tls` says: its CA trusted instead of the system's roots, its client
/// certificate presented, and TLS required whenever any of them is set (a server without TLS
/// is then refused, never talked to in clear). Without them the client still upgrades to TLS
/// when the server requires it, trusting the system's roots.
pub fn with_tls(mut opts: async_nats::ConnectOptions, tls: &NatsTls) -> async_nats::ConnectOptions {
    if let Some(ca) = &tls.ca {
        opts = opts.add_root_certificates(ca.clone());
    }
    if let Some((cert, key)) = &tls.client {
        opts = opts.add_client_certificate(cert.clone(), key.clone());
    }
    opts.require_tls(tls.required())
}

/// The error for credentials the server refused, naming them and the flag to check.
pub(crate) fn credentials_refused(
    url: &str,
    credentials: Option<&Path>,
    nkey: Option<&nkeys::KeyPair>,
) -> ServeError {
    let (who, hint) = protocol::refused_identity(nkey.map(|kp| kp.public_key()), credentials);
    ServeError::Refused {
        url: url.to_owned(),
        who,
        hint,
    }
}
