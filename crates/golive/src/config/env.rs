//! Every key of `[ledger]`, `[audit]`, `[http]` and `[stream]` from the environment:
//! `GOLIVE_<SECTION>_<KEY>` (upper case), e.g. `GOLIVE_HTTP_TOKENS_FILE` for `[http]
//! tokens_file`. A variable wins over the file's key and loses to a flag; an empty one counts as
//! unset. A variable of those sections that names no key is refused, as an unknown key in the
//! file is, so that a typo cannot silently leave a setting at its default (an API without
//! tokens, say). `[warnings]` and `[claims]` are read from the file only.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use super::{ConfigError, FileConfig, TokenSection};

/// One configuration key read from one environment variable.
pub struct EnvKey {
    /// The variable, `GOLIVE_<SECTION>_<KEY>`.
    pub var: &'static str,
    /// The key it sets, `section.key` as in the file.
    pub key: &'static str,
    /// What a value looks like (for the error message and the docs).
    pub value: &'static str,
    apply: fn(&mut FileConfig, &str) -> Result<(), String>,
}

/// The prefixes of the sections read from the environment.
const SECTION_PREFIXES: [&str; 4] = [
    "GOLIVE_LEDGER_",
    "GOLIVE_AUDIT_",
    "GOLIVE_HTTP_",
    "GOLIVE_STREAM_",
];

/// Every variable, in the order of the file's sections (docs/OPERATIONS.md lists them).
pub const ENV_KEYS: [EnvKey; 25] = [
    EnvKey {
        var: "GOLIVE_LEDGER_BATCH_EVENTS_MAX",
        key: "ledger.batch_events_max",
        value: "a whole number",
        apply: |f, v| {
            f.ledger.batch_events_max = Some(number(v)?);
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_LEDGER_SNAPSHOT_EVERY_EVENTS",
        key: "ledger.snapshot_every_events",
        value: "a whole number",
        apply: |f, v| {
            f.ledger.snapshot_every_events = Some(number(v)?);
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_LEDGER_SNAPSHOTS_KEPT_MAX",
        key: "ledger.snapshots_kept_max",
        value: "a whole number",
        apply: |f, v| {
            f.ledger.snapshots_kept_max = Some(number(v)?);
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_AUDIT_CHECKPOINT_EVERY_EVENTS",
        key: "audit.checkpoint_every_events",
        value: "a whole number",
        apply: |f, v| {
            f.audit.checkpoint_every_events = Some(number(v)?);
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_AUDIT_CHECKPOINT_EVERY_SECS",
        key: "audit.checkpoint_every_secs",
        value: "a whole number",
        apply: |f, v| {
            f.audit.checkpoint_every_secs = Some(number(v)?);
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_AUDIT_ORIGIN",
        key: "audit.origin",
        value: "golive.ledger/<name>",
        apply: |f, v| {
            f.audit.origin = Some(v.to_owned());
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_AUDIT_KEY_FILE",
        key: "audit.key_file",
        value: "a path",
        apply: |f, v| {
            f.audit.key_file = Some(PathBuf::from(v));
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_TLS_CERT",
        key: "http.tls_cert",
        value: "a path",
        apply: |f, v| {
            f.http.tls_cert = Some(PathBuf::from(v));
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_TLS_KEY",
        key: "http.tls_key",
        value: "a path",
        apply: |f, v| {
            f.http.tls_key = Some(PathBuf::from(v));
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_ALLOW_OPEN",
        key: "http.allow_open",
        value: "true or false",
        apply: |f, v| {
            f.http.allow_open = Some(boolean(v)?);
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_TOKENS",
        key: "http.tokens",
        value: "NAME:ROLE:SHA256, comma-separated",
        apply: |f, v| {
            f.http.tokens = tokens(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_TOKENS_FILE",
        key: "http.tokens_file",
        value: "a path",
        apply: |f, v| {
            f.http.tokens_file = Some(PathBuf::from(v));
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_READY_LAG_MAX_MESSAGES",
        key: "http.ready_lag_max_messages",
        value: "a whole number",
        apply: |f, v| {
            f.http.ready_lag_max_messages = Some(number(v)?);
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_CONNECTIONS_MAX",
        key: "http.limits.connections_max",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.connections_max = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_ADDRESS_CONNECTIONS_MAX",
        key: "http.limits.address_connections_max",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.address_connections_max = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_TOKEN_REQUESTS_PER_S",
        key: "http.limits.token_requests_per_s",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.token_requests_per_s = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_TOKEN_BURST",
        key: "http.limits.token_burst",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.token_burst = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_ADDRESS_REQUESTS_PER_S",
        key: "http.limits.address_requests_per_s",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.address_requests_per_s = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_ADDRESS_BURST",
        key: "http.limits.address_burst",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.address_burst = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_HEADER_TIMEOUT_MS",
        key: "http.limits.header_timeout_ms",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.header_timeout_ms = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_BODY_TIMEOUT_MS",
        key: "http.limits.body_timeout_ms",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.body_timeout_ms = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_AS_OF_PER_TOKEN_MAX",
        key: "http.limits.as_of_per_token_max",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.as_of_per_token_max = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_OVER_RATE_DELAY_MS",
        key: "http.limits.over_rate_delay_ms",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.over_rate_delay_ms = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_HTTP_LIMITS_OVER_RATE_DELAYED_MAX",
        key: "http.limits.over_rate_delayed_max",
        value: "a whole number (0: off)",
        apply: |f, v| {
            f.http.limits.over_rate_delayed_max = number(v)?;
            Ok(())
        },
    },
    EnvKey {
        var: "GOLIVE_STREAM_REPLICAS",
        key: "stream.replicas",
        value: "a whole number",
        apply: |f, v| {
            f.stream.replicas = Some(number(v)?);
            Ok(())
        },
    },
];

/// The `GOLIVE_*` variables of this process (a value that is not UTF-8 is an error if its
/// name is one of ours).
pub fn process_vars() -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with("GOLIVE_")) else {
            continue;
        };
        let value = value.into_string().map_err(|_| {
            ConfigError::Value(format!("environment variable {name} is not valid UTF-8"))
        })?;
        out.insert(name.to_owned(), value);
    }
    Ok(out)
}

/// Sets each key whose variable is in `vars` (and not empty) over what the file said.
pub fn apply(file: &mut FileConfig, vars: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (name, value) in vars {
        if !SECTION_PREFIXES.iter().any(|p| name.starts_with(p)) || value.is_empty() {
            continue;
        }
        let Some(k) = ENV_KEYS.iter().find(|k| k.var == name) else {
            return Err(ConfigError::Value(format!(
                "environment variable {name} names no configuration key; the keys read from \
                 the environment are {}",
                known_vars()
            )));
        };
        (k.apply)(file, value).map_err(|why| {
            ConfigError::Value(format!(
                "environment variable {name} ({}): {why}; expected {}",
                k.key, k.value
            ))
        })?;
    }
    Ok(())
}

/// Every variable's name, comma-separated.
fn known_vars() -> String {
    ENV_KEYS
        .iter()
        .map(|k| k.var)
        .collect::<Vec<_>>()
        .join(", ")
}

fn number<T: FromStr>(v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{v:?} is not a whole number"))
}

fn boolean(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("{v:?} is not true or false")),
    }
}

/// `NAME:ROLE:SHA256,NAME:ROLE:SHA256`: the `[[http.tokens]]` entries in one line (a name may
/// hold `:` but not `,`). Checked further, as the file's are, when the access rules are built.
fn tokens(v: &str) -> Result<Vec<TokenSection>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let mut parts = t.rsplitn(3, ':');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(sha256), Some(role), Some(name)) => Ok(TokenSection {
                    name: name.to_owned(),
                    role: role.to_owned(),
                    sha256: sha256.to_owned(),
                }),
                _ => Err(format!("{t:?} is not NAME:ROLE:SHA256")),
            }
        })
        .collect()
}
