//! Who may read what over HTTP: bearer tokens with roles.
//!
//! | role | may read |
//! | --- | --- |
//! | `analyst` | the projections, `/v1/head`, `/v1/series` (the dashboard's data) |
//! | `auditor` | also the log and its proofs: `/v1/events`, `/v1/checkpoints`, `/v1/proof/*` |
//! | `admin` | also the dead letters (`/v1/dead-letters`) and `/metrics` |
//!
//! Public, whatever the mode: the dashboard's page and assets (they hold no data; the page asks
//! for a token), `/v1/openapi.json`, `/healthz` and `/readyz` (what probes and load balancers
//! ask, without a token; `/readyz` says only whether the parts are up and the lag).
//!
//! Tokens are configured as SHA-256 hashes (`[[http.tokens]]` with `name`, `role`, `sha256`, as
//! `golive token NAME --role ROLE` prints them), never
//! as the tokens themselves; a token is 32 random bytes, so a plain hash cannot be reversed by
//! guessing. Neither tokens nor their hashes are logged; a refusal logs the token's name only
//! when it is known (wrong role). Without any configured token the API is open ([`Auth::Open`]);
//! `golive serve` allows that only on a loopback address.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token may do; each role includes the ones before it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Analyst,
    Auditor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "analyst" => Ok(Role::Analyst),
            "auditor" => Ok(Role::Auditor),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}: expected analyst, auditor or admin"
            )),
        }
    }
}

/// One configured token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenEntry {
    /// Who holds it (for logs and revocation), never secret.
    pub name: String,
    pub role: Role,
    /// SHA-256 of the token's bytes.
    pub sha256: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthConfigError {
    #[error(
        "token {name:?}: sha256 must be 64 hex digits (as `golive token NAME --role ROLE` prints)"
    )]
    BadHash { name: String },
    #[error("two tokens are named {0:?}; names identify tokens in logs and must differ")]
    DuplicateName(String),
    #[error("tokens {0:?} and {1:?} have the same hash; make a new token for one of them")]
    DuplicateHash(String, String),
}

impl TokenEntry {
    /// An entry from its configured parts (`sha256` as hex).
    pub fn new(name: &str, role: Role, sha256_hex: &str) -> Result<Self, AuthConfigError> {
        let bad = || AuthConfigError::BadHash {
            name: name.to_owned(),
        };
        let bytes = golive_verify::from_hex32(sha256_hex.trim()).ok_or_else(bad)?;
        Ok(Self {
            name: name.to_owned(),
            role,
            sha256: bytes,
        })
    }
}

/// SHA-256 of a token, as configured.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new random token: `glt_` and 43 base64url characters (32 bytes from the OS's generator).
pub fn new_token() -> std::io::Result<String> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    golive_ledger::signing::getrandom(&mut bytes)?;
    Ok(format!(
        "glt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The configured form of a token's hash (lowercase hex).
pub fn token_hash_hex(token: &str) -> String {
    golive_verify::to_hex(&token_hash(token))
}

/// The HTTP access policy.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No tokens configured: every route answers everyone (loopback only, see the module doc).
    Open,
    Tokens(Vec<TokenEntry>),
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, a malformed header, or a token that is not configured: 401.
    Unauthenticated(&'static str),
    /// A valid token whose role is below the route's: 403.
    Forbidden {
        name: String,
        has: Role,
        needs: Role,
    },
}

impl Auth {
    /// The policy for `tokens` (open when empty), checking names and hashes are distinct.
    pub fn from_tokens(tokens: Vec<TokenEntry>) -> Result<Self, AuthConfigError> {
        for (i, a) in tokens.iter().enumerate() {
            for b in &tokens[i + 1..] {
                if a.name == b.name {
                    return Err(AuthConfigError::DuplicateName(a.name.clone()));
                }
                if a.sha256 == b.sha256 {
                    return Err(AuthConfigError::DuplicateHash(
                        a.name.clone(),
                        b.name.clone(),
                    ));
                }
            }
        }
        Ok(if tokens.is_empty() {
            Auth::Open
        } else {
            Auth::Tokens(tokens)
        })
    }

    pub fn is_open(&self) -> bool {
        matches!(self, Auth::Open)
    }

    /// Whether the `Authorization` header value allows a route needing `needs`: the name of
    /// the token that does (`None` when the API is open), or why not.
    pub fn check(
        &self,
        authorization: Option<&HeaderValue>,
        needs: Role,
    ) -> Result<Option<&str>, Refusal> {
        let tokens = match self {
            Auth::Open => return Ok(None),
            Auth::Tokens(t) => t,
        };
        let value = authorization
            .ok_or(Refusal::Unauthenticated("this ledger needs a bearer token"))?
            .to_str()
            .map_err(|_| Refusal::Unauthenticated("the Authorization header is not text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::Unauthenticated(
                "the Authorization header must be `Bearer <token>`",
            ))?;
        let hash = token_hash(token);
        // Compare with every entry in constant time (`subtle`), without an early exit.
        let found = tokens.iter().fold(None, |found, e| {
            if bool::from(e.sha256[..].ct_eq(&hash[..])) {
                Some(e)
            } else {
                found
            }
        });
        let entry = found.ok_or(Refusal::Unauthenticated("the token is not valid here"))?;
        if entry.role >= needs {
            Ok(Some(entry.name.as_str()))
        } else {
            Err(Refusal::Forbidden {
                name: entry.name.clone(),
                has: entry.role,
                needs,
            })
        }
    }
}

/// The name of the token a request was let in or refused with, in its response's extensions
/// for the access log (the name only: never the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenName(pub String);

/// The middleware guarding a group of routes with `needs`.
pub async fn require(
    auth: std::sync::Arc<Auth>,
    needs: Role,
    req: Request,
    next: Next,
) -> Response {
    let checked = auth
        .check(req.headers().get(header::AUTHORIZATION), needs)
        .map(|name| name.map(str::to_owned));
    match checked {
        Ok(None) => next.run(req).await,
        Ok(Some(name)) => {
            let mut r = next.run(req).await;
            r.extensions_mut().insert(TokenName(name));
            r
        }
        Err(Refusal::Unauthenticated(why)) => {
            let mut r = crate::error_response(StatusCode::UNAUTHORIZED, why.to_owned());
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"golive\""),
            );
            r
        }
        Err(Refusal::Forbidden { name, has, needs }) => {
            tracing::info!(token = %name, role = has.as_str(), needs = needs.as_str(), path = %req.uri().path(), "HTTP request refused: role");
            let mut r = crate::error_response(
                StatusCode::FORBIDDEN,
                format!(
                    "this needs the {} role; the token has {}",
                    needs.as_str(),
                    has.as_str()
                ),
            );
            r.extensions_mut().insert(TokenName(name));
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> (Auth, String, String, String) {
        let (a, u, d) = (
            new_token().unwrap(),
            new_token().unwrap(),
            new_token().unwrap(),
        );
        let hex = |t: &str| token_hash_hex(t);
        let auth = Auth::from_tokens(vec![
            TokenEntry::new("ann", Role::Analyst, &hex(&a)).unwrap(),
            TokenEntry::new("aud", Role::Auditor, &hex(&u)).unwrap(),
            TokenEntry::new("adm", Role::Admin, &hex(&d)).unwrap(),
        ])
        .unwrap();
        (auth, a, u, d)
    }

    fn bearer(t: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Bearer {t}")).unwrap()
    }

    #[test]
    fn roles_include_the_lower_ones_and_nothing_more() {
        let (auth, a, u, d) = policy();
        let holders = [
            (&a, Role::Analyst, "ann"),
            (&u, Role::Auditor, "aud"),
            (&d, Role::Admin, "adm"),
        ];
        for (token, role, name) in holders {
            for needs in [Role::Analyst, Role::Auditor, Role::Admin] {
                let r = auth.check(Some(&bearer(token)), needs);
                if role >= needs {
                    assert_eq!(r, Ok(Some(name)));
                } else {
                    assert!(matches!(r, Err(Refusal::Forbidden { .. })), "{r:?}");
                }
            }
        }
    }

    #[test]
    fn missing_malformed_and_unknown_tokens_are_unauthenticated() {
        let (auth, a, _, _) = policy();
        let unauth = |h: Option<&HeaderValue>| {
            matches!(
                auth.check(h, Role::Analyst),
                Err(Refusal::Unauthenticated(_))
            )
        };
        assert!(unauth(None));
        assert!(unauth(Some(&HeaderValue::from_static("Basic abc"))));
        assert!(unauth(Some(&HeaderValue::from_static("Bearer "))));
        assert!(unauth(Some(&bearer(&format!("{a}x")))));
        assert!(unauth(Some(&bearer("glt_guess"))));
        assert!(Auth::Open.check(None, Role::Admin).is_ok());
    }

    #[test]
    fn tokens_are_random_and_config_is_checked() {
        let (t1, t2) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(t1, t2);
        assert_eq!(t1.len(), 4 + 43);
        assert!(matches!(
            TokenEntry::new("x", Role::Admin, "abc"),
            Err(AuthConfigError::BadHash { .. })
        ));
        let h = "00".repeat(32);
        let e = TokenEntry::new("x", Role::Admin, &h).unwrap();
        assert!(matches!(
            Auth::from_tokens(vec![e.clone(), e.clone()]),
            Err(AuthConfigError::DuplicateName(_))
        ));
        let mut f = e.clone();
        f.name = "y".into();
        assert!(matches!(
            Auth::from_tokens(vec![e, f]),
            Err(AuthConfigError::DuplicateHash(..))
        ));
        assert!(Auth::from_tokens(vec![]).unwrap().is_open());
    }
}
