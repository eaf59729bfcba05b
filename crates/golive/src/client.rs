//! One HTTP client for every command that talks to a running ledger (`--server URL`):
//! `golive query`, `golive audit export|verify|compare`. It sends the bearer token from
//! `GOLIVE_TOKEN` when one is set, limits how much it reads, and turns the server's JSON
//! errors (`{"error": {"message": ...}}`) into one readable line.

use std::time::Duration;

use serde::Deserialize;

/// Largest answer read from a server.
pub const ANSWER_BYTES_MAX: u64 = 1 << 30;

/// The environment variable holding the bearer token sent to the server, if any.
pub const TOKEN_ENV: &str = "GOLIVE_TOKEN";

/// The environment variable naming a PEM file of CA certificates to trust for `https://`
/// servers instead of the web's public roots (e.g. a ledger with its own certificate).
pub const CA_CERT_ENV: &str = "GOLIVE_CA_CERT";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the ledger at {url}: {message}; is `golive serve --http` running there?")]
    Unreachable { url: String, message: String },
    #[error("the ledger at {url} answered {status}: {message}")]
    Server {
        url: String,
        status: u16,
        message: String,
    },
    #[error("the ledger at {url} sent an answer this build cannot read: {message}")]
    BadAnswer { url: String, message: String },
}

#[derive(Deserialize)]
struct WireError {
    error: WireErrorBody,
}

#[derive(Deserialize)]
struct WireErrorBody {
    message: String,
}

/// The CA certificates of `GOLIVE_CA_CERT`, if set and readable (else a warning, and the
/// public roots).
fn ca_roots() -> Option<ureq::tls::RootCerts> {
    let path = std::env::var_os(CA_CERT_ENV)?;
    let pem = match std::fs::read(&path) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(path = %std::path::Path::new(&path).display(), error = %e, "cannot read {CA_CERT_ENV}");
            return None;
        }
    };
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        tracing::warn!(path = %std::path::Path::new(&path).display(), "{CA_CERT_ENV} holds no certificate");
        return None;
    }
    Some(ureq::tls::RootCerts::new_with_certs(&certs))
}

/// A client of one ledger's HTTP API.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client of the ledger at `server` (e.g. `http://127.0.0.1:8080`), with the token from
    /// `GOLIVE_TOKEN` if set.
    pub fn new(server: &str) -> Self {
        let token = std::env::var(TOKEN_ENV)
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        Self::with_token(server, token)
    }

    pub fn with_token(server: &str, token: Option<String>) -> Self {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)));
        if let Some(roots) = ca_roots() {
            config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
        }
        let agent = config.build().into();
        Self {
            agent,
            base: server.trim_end_matches('/').to_owned(),
            token,
        }
    }

    /// The server's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `path_and_query` (starting with `/`) on this server.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    /// The body of a 200 answer to `GET path_and_query`; any other status is an error carrying
    /// the server's message.
    pub fn get(&self, path_and_query: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.url(path_and_query);
        let mut request = self.agent.get(&url);
        if let Some(t) = &self.token {
            request = request.header("Authorization", &format!("Bearer {t}"));
        }
        let mut response = request.call().map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(ANSWER_BYTES_MAX)
            .read_to_vec()
            .map_err(|e| ClientError::Unreachable {
                url: url.clone(),
                message: e.to_string(),
            })?;
        if status != 200 {
            let message = serde_json::from_slice::<WireError>(&body)
                .map(|e| e.error.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(300).collect());
            let message = match status {
                401 => format!("{message} (set {TOKEN_ENV} to a valid token)"),
                403 => format!("{message} (the token in {TOKEN_ENV} lacks the role)"),
                _ => message,
            };
            return Err(ClientError::Server {
                url,
                status,
                message,
            });
        }
        Ok(body)
    }

    /// `GET path_and_query`, deserialized.
    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, ClientError> {
        let body = self.get(path_and_query)?;
        serde_json::from_slice(&body).map_err(|e| ClientError::BadAnswer {
            url: self.url(path_and_query),
            message: e.to_string(),
        })
    }
}
