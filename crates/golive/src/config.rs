//! Configuration: flags win over environment variables, which win over the TOML file, which wins
//! over the defaults. The file is optional; `golive --help` lists every flag and variable, and
//! [`ENV_KEYS`] the variables that set the file's `[ledger]`, `[audit]`, `[http]` and `[stream]`
//! keys (`GOLIVE_<SECTION>_<KEY>`, module `env`).

mod env;
mod trusts;

pub use env::{ENV_KEYS, EnvKey};
pub use trusts::{AdminSection, KeyEntry, TrustSection, read_trust_keys_file};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use golive_ledger::LedgerOptions;
use golive_ledger::signing::{AuditOptions, DEFAULT_ORIGIN};
use golive_projections::{ClaimRules, Tariffs, WarningRules};
use serde::Deserialize;

/// The TOML file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Ledger directory (same as `--data`).
    pub data: Option<PathBuf>,
    #[serde(default)]
    pub ledger: LedgerSection,
    /// Early-warning thresholds; see docs/OPERATIONS.md and `golive query warnings`.
    #[serde(default)]
    pub warnings: Option<WarningRules>,
    /// The claim register's rules; see docs/OPERATIONS.md and `golive query claims`.
    #[serde(default)]
    pub claims: Option<ClaimRules>,
    /// Pence per activity unit per point of delivery, pricing the recovery view's shortfall;
    /// the defaults are ILLUSTRATIVE (docs/OPERATIONS.md, `golive query recovery`).
    #[serde(default)]
    pub tariffs: Option<Tariffs>,
    /// Signed checkpoints for auditors; see docs/AUDIT.md.
    #[serde(default)]
    pub audit: AuditSection,
    /// HTTP access: bearer tokens with roles, TLS; see docs/SECURITY.md.
    #[serde(default)]
    pub http: HttpSection,
    /// The JetStream stream `golive serve` creates or checks; see docs/OPERATIONS.md.
    #[serde(default)]
    pub stream: StreamSection,
    /// Each trust's signature policy and public keys; see docs/SECURITY.md and docs/EVENTS.md.
    #[serde(default)]
    pub trusts: BTreeMap<String, TrustSection>,
    /// `[admin] keys = [...]`: the keys that sign `trust_key` events; see docs/SECURITY.md.
    #[serde(default)]
    pub admin: AdminSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Serve without tokens on a non-loopback address (default false: refused).
    pub allow_open: Option<bool>,
    /// `/readyz` answers 503 while the consumer's lag is over this many stream messages
    /// (default [`golive_ledger::READY_LAG_MAX_MESSAGES_DEFAULT`]).
    pub ready_lag_max_messages: Option<u64>,
    /// Bearer tokens, as `golive token NAME --role ROLE` prints them: `{ name, role, sha256 }`.
    #[serde(default)]
    pub tokens: Vec<TokenSection>,
    /// A TOML file of more `[[http.tokens]]` entries (as `golive token NAME --role ROLE
    /// --append-to FILE` writes them), e.g. a secret mounted into a container.
    pub tokens_file: Option<PathBuf>,
    /// `[http.limits]`: connections, request rates per token and per address, header and body
    /// timeouts, as-of computations per token (defaults: [`golive_http::limits::Limits`]).
    #[serde(default)]
    pub limits: golive_http::limits::Limits,
}

/// A file of `[[http.tokens]]` entries and nothing else (`[http] tokens_file`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    http: TokensFileHttp,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFileHttp {
    #[serde(default)]
    tokens: Vec<TokenSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSection {
    pub name: String,
    pub role: String,
    pub sha256: String,
}

/// HTTP access settings, checked.
#[derive(Debug, Clone)]
pub struct HttpAccess {
    pub auth: golive_http::Auth,
    /// (certificate chain, private key), PEM.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub allow_open: bool,
    /// The lag, in stream messages, over which `/readyz` says not ready.
    pub ready_lag_max_messages: u64,
    /// The limits against abuse (`[http.limits]`).
    pub limits: golive_http::limits::Limits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSection {
    /// Copies of each message the NATS cluster keeps: 1 (one server, the default) or 3 (a
    /// 3-node cluster; an ack then means 2 of the 3 have it). `golive serve --stream-replicas`.
    pub replicas: Option<usize>,
}

/// Most replicas JetStream allows for a stream.
pub const STREAM_REPLICAS_MAX: usize = 5;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// Sign a checkpoint after this many events (default 1,000).
    pub checkpoint_every_events: Option<u64>,
    /// ... or after this many seconds with new events (default 60).
    pub checkpoint_every_secs: Option<u64>,
    /// The log's origin line, `golive.ledger/<name>`; fixed when the signing key is created.
    pub origin: Option<String>,
    /// The signing key's file (default: `audit-signing.key` in the data directory), created
    /// there (mode 0600) if it does not exist yet.
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSection {
    /// A projection snapshot after this many appended events (default 10,000).
    pub snapshot_every_events: Option<u64>,
    /// How many projection snapshots to keep for as-of answers (default 16).
    pub snapshots_kept_max: Option<usize>,
    pub batch_events_max: Option<usize>,
    /// The names of the two keys above before "checkpoint" came to mean only the signed tree
    /// head: still read, with a warning that names the new key.
    pub checkpoint_every_events: Option<u64>,
    pub checkpoints_kept_max: Option<usize>,
}

/// A `[ledger]` key under its new name or its old one (with a warning that names the new one);
/// both at once is refused, since they could disagree.
fn renamed<T>(
    new: Option<T>,
    old: Option<T>,
    new_key: &str,
    old_key: &str,
) -> Result<Option<T>, ConfigError> {
    match (new, old) {
        (Some(_), Some(_)) => Err(ConfigError::Value(format!(
            "ledger.{old_key} is the old name of ledger.{new_key}: set only ledger.{new_key}"
        ))),
        (None, Some(v)) => {
            tracing::warn!(
                "ledger.{old_key} is read as ledger.{new_key} (projection caches are snapshots; \
                 a checkpoint is a signed tree head): rename it to {new_key}"
            );
            Ok(Some(v))
        }
        (new, None) => Ok(new),
    }
}

/// Largest batch appended in one store transaction.
pub const BATCH_EVENTS_MAX_LIMIT: usize = 10_000;

/// The configuration every command runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub ledger: LedgerOptions,
    pub batch_events_max: usize,
    pub rules: WarningRules,
    /// The claim register's rules (`[claims]`).
    pub claim_rules: ClaimRules,
    /// The recovery view's tariffs (`[tariffs]` over the illustrative defaults).
    pub tariffs: Tariffs,
    /// When to sign checkpoints.
    pub audit: AuditOptions,
    /// Origin of a new signing key.
    pub audit_origin: String,
    /// `[audit] key_file`, if set; see [`Config::signing_key_file`].
    pub audit_key_file: Option<PathBuf>,
    /// Tokens and TLS of the HTTP API.
    pub http: HttpAccess,
    /// Replicas of the JetStream stream (`[stream] replicas`; `--stream-replicas` overrides).
    pub stream_replicas: usize,
    /// Each trust's signature policy and keys (`[trusts.<ODS>]`).
    pub trust_keys: golive_verify::TrustKeys,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Value(String),
}

/// Where the ledger lives when neither `--data`, `GOLIVE_DATA` nor the file say.
pub fn default_data_dir() -> PathBuf {
    dirs::data_local_dir()
        .map(|d| d.join("golive"))
        .unwrap_or_else(|| PathBuf::from("golive-data"))
}

/// The config file read when `--config` / `GOLIVE_CONFIG` are not given (only if it exists).
pub fn default_config_file() -> Option<PathBuf> {
    dirs::config_dir()
        .map(|d| d.join("golive").join("config.toml"))
        .filter(|p| p.exists())
}

impl Config {
    /// Builds the configuration. `config_file` and `data` come from flags or environment
    /// (clap has already applied that precedence); the file's keys are overridden by this
    /// process's `GOLIVE_<SECTION>_<KEY>` variables ([`ENV_KEYS`]).
    pub fn load(config_file: Option<&Path>, data: Option<PathBuf>) -> Result<Self, ConfigError> {
        Self::load_with_env(config_file, data, &env::process_vars()?)
    }

    /// [`Config::load`] with the `GOLIVE_*` variables given (tests).
    pub fn load_with_env(
        config_file: Option<&Path>,
        data: Option<PathBuf>,
        vars: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let path = config_file
            .map(Path::to_path_buf)
            .or_else(default_config_file);
        let mut file = match &path {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        env::apply(&mut file, vars)?;
        // Checked in the order of the file's sections, so the first bad value is named first.
        let (ledger, batch_events_max) = ledger_options(&file.ledger)?;
        let rules = file.warnings.unwrap_or_default();
        rules
            .validate()
            .map_err(|e| ConfigError::Value(format!("[warnings]: {e}")))?;
        let claim_rules = file.claims.unwrap_or_default();
        claim_rules
            .validate()
            .map_err(|e| ConfigError::Value(format!("[claims]: {e}")))?;
        let tariffs = file.tariffs.unwrap_or_default().over_defaults();
        tariffs
            .validate()
            .map_err(|e| ConfigError::Value(format!("[tariffs]: {e}")))?;
        let audit = audit_options(&file.audit)?;
        let audit_origin = audit_origin(file.audit.origin)?;
        let audit_key_file = file.audit.key_file;
        let http = http_access(file.http)?;
        let stream_replicas = file.stream.replicas.unwrap_or(1);
        check_stream_replicas(stream_replicas)
            .map_err(|e| ConfigError::Value(format!("stream.replicas {e}")))?;
        let trust_keys = trusts::trust_keys(&file.trusts, &file.admin)?;
        Ok(Self {
            data_dir: data.or(file.data).unwrap_or_else(default_data_dir),
            ledger,
            batch_events_max,
            rules,
            claim_rules,
            tariffs,
            audit,
            audit_origin,
            audit_key_file,
            http,
            stream_replicas,
            trust_keys,
            file: path,
        })
    }
}

impl Config {
    /// Where the ledger's signing key is: `[audit] key_file`, else `audit-signing.key` in
    /// `data_dir`.
    pub fn signing_key_file(&self, data_dir: &Path) -> PathBuf {
        self.audit_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join(golive_ledger::signing::KEY_FILE))
    }
}

/// Reads and parses the TOML file at `path`.
fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_owned(),
        message: e.message().to_owned(),
    })
}

/// `[ledger]`, checked: the ledger's options and the largest batch appended at once.
fn ledger_options(l: &LedgerSection) -> Result<(LedgerOptions, usize), ConfigError> {
    let defaults = LedgerOptions::default();
    let batch_events_max = l.batch_events_max.unwrap_or(1_000);
    if batch_events_max == 0 || batch_events_max > BATCH_EVENTS_MAX_LIMIT {
        return Err(ConfigError::Value(format!(
            "ledger.batch_events_max must be between 1 and {BATCH_EVENTS_MAX_LIMIT} (got {batch_events_max})"
        )));
    }
    let snapshot_every_events = renamed(
        l.snapshot_every_events,
        l.checkpoint_every_events,
        "snapshot_every_events",
        "checkpoint_every_events",
    )?
    .unwrap_or(defaults.snapshot_every_events);
    if snapshot_every_events == 0 {
        return Err(ConfigError::Value(
            "ledger.snapshot_every_events must be at least 1".to_owned(),
        ));
    }
    let snapshots_kept_max = renamed(
        l.snapshots_kept_max,
        l.checkpoints_kept_max,
        "snapshots_kept_max",
        "checkpoints_kept_max",
    )?
    .unwrap_or(defaults.snapshots_kept_max);
    let options = LedgerOptions {
        snapshot_every_events,
        snapshots_kept_max,
    };
    Ok((options, batch_events_max))
}

/// `[audit]`'s signing intervals, checked.
fn audit_options(a: &AuditSection) -> Result<AuditOptions, ConfigError> {
    let defaults = AuditOptions::default();
    let audit = AuditOptions {
        checkpoint_every_events: a
            .checkpoint_every_events
            .unwrap_or(defaults.checkpoint_every_events),
        checkpoint_every_secs: a
            .checkpoint_every_secs
            .unwrap_or(defaults.checkpoint_every_secs),
    };
    if audit.checkpoint_every_events == 0 || audit.checkpoint_every_secs == 0 {
        return Err(ConfigError::Value(
            "audit.checkpoint_every_events and audit.checkpoint_every_secs must be at least 1"
                .to_owned(),
        ));
    }
    Ok(audit)
}

/// `[audit] origin`, checked: it becomes one field of the signed-note format.
fn audit_origin(origin: Option<String>) -> Result<String, ConfigError> {
    let origin = origin.unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
    if origin.is_empty()
        || origin
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c.is_control())
    {
        return Err(ConfigError::Value(format!(
            "audit.origin {origin:?} must be non-empty, without '+' or spaces"
        )));
    }
    Ok(origin)
}

/// The entries of `[http] tokens_file`.
fn read_tokens_file(path: &Path) -> Result<Vec<TokenSection>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file: TokensFile = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_owned(),
        message: format!(
            "{} (a tokens file holds only [[http.tokens]] entries)",
            e.message()
        ),
    })?;
    Ok(file.http.tokens)
}

fn http_access(mut h: HttpSection) -> Result<HttpAccess, ConfigError> {
    if let Some(path) = &h.tokens_file {
        h.tokens.extend(read_tokens_file(path)?);
    }
    let mut entries = Vec::with_capacity(h.tokens.len());
    for t in &h.tokens {
        let role: golive_http::Role = t
            .role
            .parse()
            .map_err(|e| ConfigError::Value(format!("http.tokens {:?}: {e}", t.name)))?;
        if t.name.trim().is_empty() {
            return Err(ConfigError::Value(
                "http.tokens: every token needs a name".to_owned(),
            ));
        }
        entries.push(
            golive_http::TokenEntry::new(&t.name, role, &t.sha256)
                .map_err(|e| ConfigError::Value(format!("http.tokens: {e}")))?,
        );
    }
    let auth = golive_http::Auth::from_tokens(entries)
        .map_err(|e| ConfigError::Value(format!("http.tokens: {e}")))?;
    let tls = match (h.tls_cert, h.tls_key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            return Err(ConfigError::Value(
                "http.tls_cert and http.tls_key go together: give both or neither".to_owned(),
            ));
        }
    };
    h.limits.check().map_err(ConfigError::Value)?;
    Ok(HttpAccess {
        limits: h.limits,
        auth,
        tls,
        allow_open: h.allow_open.unwrap_or(false),
        ready_lag_max_messages: h
            .ready_lag_max_messages
            .unwrap_or(golive_ledger::READY_LAG_MAX_MESSAGES_DEFAULT),
    })
}

/// A stream's replica count: 1 to 5 (JetStream's limit). 1 on a single server, 3 in a 3-node
/// cluster.
pub fn check_stream_replicas(n: usize) -> Result<usize, String> {
    if n == 0 || n > STREAM_REPLICAS_MAX {
        return Err(format!(
            "must be between 1 and {STREAM_REPLICAS_MAX} (got {n}); 3 in a 3-node cluster"
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_limits_default_and_can_be_set() {
        let h: FileConfig =
            toml::from_str("[http.limits]\ntoken_requests_per_s = 7\ntoken_burst = 9\n").unwrap();
        let access = http_access(h.http).unwrap();
        assert_eq!(access.limits.token_requests_per_s, 7);
        assert_eq!(access.limits.token_burst, 9);
        assert_eq!(
            access.limits.connections_max,
            golive_http::limits::Limits::default().connections_max
        );
        let bad: FileConfig =
            toml::from_str("[http.limits]\ntoken_requests_per_s = 7\ntoken_burst = 0\n").unwrap();
        assert!(http_access(bad.http).is_err());
        assert!(toml::from_str::<FileConfig>("[http.limits]\nno_such_limit = 1\n").is_err());
    }

    #[test]
    fn flag_beats_file_and_file_beats_default() {
        // Proves the documented precedence and that a bad value is refused with its name.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "data = \"/from/file\"\n[ledger]\nsnapshot_every_events = 5\n",
        )
        .unwrap();
        let c = Config::load(Some(&f), None).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.ledger.snapshot_every_events, 5);
        let c = Config::load(Some(&f), Some("/from/flag".into())).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/flag"));
        std::fs::write(&f, "[ledger]\nbatch_events_max = 0\n").unwrap();
        let e = Config::load(Some(&f), None).unwrap_err().to_string();
        assert!(e.contains("batch_events_max"), "{e}");
        assert_eq!(c.stream_replicas, 1, "one server unless configured");
        std::fs::write(&f, "[stream]\nreplicas = 3\n").unwrap();
        assert_eq!(Config::load(Some(&f), None).unwrap().stream_replicas, 3);
        std::fs::write(&f, "[stream]\nreplicas = 7\n").unwrap();
        let e = Config::load(Some(&f), None).unwrap_err().to_string();
        assert!(e.contains("stream.replicas must be between 1 and 5"), "{e}");
        std::fs::write(&f, "nonsense = 1\n").unwrap();
        let e = Config::load(Some(&f), None).unwrap_err().to_string();
        assert!(e.contains("nonsense"), "{e}");
    }

    #[test]
    fn warnings_and_claims_rules_are_read_and_an_out_of_range_one_is_refused_by_name() {
        // Proves [warnings] and [claims] are checked when the config is read (a value out of
        // range was once accepted and used), and that good ones are used.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "[warnings]\nclaim_on_struggle_weeks = 4\n[claims]\nwindow_weeks = 12\ncount_synthetic = true\n[claims.burden_max]\nextra_staff = 10\n",
        )
        .unwrap();
        let c = Config::load(Some(&f), None).unwrap();
        assert_eq!(c.rules.claim_on_struggle_weeks, 4);
        assert_eq!(c.tariffs, golive_projections::Tariffs::default());
        std::fs::write(&f, "[tariffs]\nday_case = 65000\n").unwrap();
        let t = Config::load(Some(&f), None).unwrap().tariffs;
        assert_eq!(t.of(golive_model::PointOfDelivery::DayCase), 65_000);
        assert_eq!(
            t.pence_per_unit.len(),
            golive_model::PointOfDelivery::ALL.len()
        );
        std::fs::write(
            &f,
            "[warnings]\nclaim_on_struggle_weeks = 4\n[claims]\nwindow_weeks = 12\ncount_synthetic = true\n[claims.burden_max]\nextra_staff = 10\n",
        )
        .unwrap();
        let c = Config::load(Some(&f), None).unwrap();
        assert_eq!(c.claim_rules.window_weeks, 12);
        assert!(c.claim_rules.count_synthetic);
        assert_eq!(
            c.claim_rules
                .burden_limit(golive_model::BurdenMetric::ExtraStaff),
            10
        );
        for (text, name) in [
            ("[warnings]\nsilent_after_weeks = 0\n", "silent_after_weeks"),
            ("[claims]\nwindow_weeks = 99\n", "window_weeks"),
            ("[claims]\nnet_cost_pence_min = 0\n", "net_cost_pence_min"),
            (
                "[warnings]\nrecovery_stalled_below_pct = 0\n",
                "recovery_stalled_below_pct",
            ),
            (
                "[warnings]\nrecovery_stalled_weeks = 53\n",
                "recovery_stalled_weeks",
            ),
            ("[tariffs]\nday_case = -5\n", "day_case"),
            ("[tariffs]\nward_round = 5\n", "ward_round"),
        ] {
            std::fs::write(&f, text).unwrap();
            let e = Config::load(Some(&f), None).unwrap_err().to_string();
            assert!(e.contains(name), "{text}: {e}");
        }
    }

    #[test]
    fn the_old_snapshot_keys_are_still_read_and_both_names_at_once_are_refused() {
        // Proves a config of the earlier naming keeps working (checkpoint_* read as snapshot_*)
        // and that setting a key under both names is an error that names the new one.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "[ledger]\ncheckpoint_every_events = 9\ncheckpoints_kept_max = 3\n",
        )
        .unwrap();
        let c = Config::load(Some(&f), None).unwrap();
        assert_eq!(c.ledger.snapshot_every_events, 9);
        assert_eq!(c.ledger.snapshots_kept_max, 3);
        std::fs::write(
            &f,
            "[ledger]\ncheckpoint_every_events = 9\nsnapshot_every_events = 9\n",
        )
        .unwrap();
        let e = Config::load(Some(&f), None).unwrap_err().to_string();
        assert!(e.contains("set only ledger.snapshot_every_events"), "{e}");
    }

    #[test]
    fn the_audit_section_sets_when_to_sign_and_refuses_bad_values() {
        // Proves [audit] is read (defaults 1,000 events / 60 s / golive.ledger/main otherwise)
        // and that zero intervals and an origin with spaces are refused by name.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "").unwrap();
        let c = Config::load(Some(&f), None).unwrap();
        assert_eq!(c.audit, AuditOptions::default());
        assert_eq!(c.audit_origin, "golive.ledger/main");
        std::fs::write(
            &f,
            "[audit]\ncheckpoint_every_events = 5\ncheckpoint_every_secs = 2\norigin = \"golive.ledger/rf\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&f), None).unwrap();
        assert_eq!(c.audit.checkpoint_every_events, 5);
        assert_eq!(c.audit.checkpoint_every_secs, 2);
        assert_eq!(c.audit_origin, "golive.ledger/rf");
        std::fs::write(&f, "[audit]\ncheckpoint_every_secs = 0\n").unwrap();
        let e = Config::load(Some(&f), None).unwrap_err().to_string();
        assert!(e.contains("checkpoint_every_secs"), "{e}");
        std::fs::write(&f, "[audit]\norigin = \"a b\"\n").unwrap();
        let e = Config::load(Some(&f), None).unwrap_err().to_string();
        assert!(e.contains("audit.origin"), "{e}");
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const HASH_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const HASH_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn token_names(c: &Config) -> Vec<String> {
        match &c.http.auth {
            golive_http::Auth::Open => vec![],
            golive_http::Auth::Tokens(t) => t.iter().map(|t| t.name.clone()).collect(),
        }
    }

    #[test]
    fn every_environment_variable_sets_its_key_over_the_file() {
        // Proves the GOLIVE_<SECTION>_<KEY> mapping of docs/OPERATIONS.md: each variable of
        // ENV_KEYS lands in its key, and wins over the file's value for the same key.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        let cert = dir.path().join("cert.pem");
        std::fs::write(
            &f,
            "[ledger]\nbatch_events_max = 5\nsnapshot_every_events = 6\nsnapshots_kept_max = 7\n\
             [audit]\ncheckpoint_every_events = 8\ncheckpoint_every_secs = 9\norigin = \"golive.ledger/file\"\n\
             [http]\nallow_open = false\n[stream]\nreplicas = 1\n",
        )
        .unwrap();
        let tokens_file = dir.path().join("tokens.toml");
        std::fs::write(
            &tokens_file,
            format!("\n[[http.tokens]]\nname = \"prometheus\"\nrole = \"admin\"\nsha256 = \"{HASH_B}\"\n"),
        )
        .unwrap();
        let env = vars(&[
            ("GOLIVE_LEDGER_BATCH_EVENTS_MAX", "50"),
            ("GOLIVE_LEDGER_SNAPSHOT_EVERY_EVENTS", "60"),
            ("GOLIVE_LEDGER_SNAPSHOTS_KEPT_MAX", "70"),
            ("GOLIVE_AUDIT_CHECKPOINT_EVERY_EVENTS", "80"),
            ("GOLIVE_AUDIT_CHECKPOINT_EVERY_SECS", "90"),
            ("GOLIVE_AUDIT_ORIGIN", "golive.ledger/env"),
            ("GOLIVE_AUDIT_KEY_FILE", "/run/secrets/signing.key"),
            ("GOLIVE_HTTP_TLS_CERT", cert.to_str().unwrap()),
            ("GOLIVE_HTTP_TLS_KEY", "/k.pem"),
            ("GOLIVE_HTTP_ALLOW_OPEN", "true"),
            ("GOLIVE_HTTP_TOKENS", &format!("alice:analyst:{HASH_A}")),
            ("GOLIVE_HTTP_TOKENS_FILE", tokens_file.to_str().unwrap()),
            ("GOLIVE_HTTP_READY_LAG_MAX_MESSAGES", "1234"),
            ("GOLIVE_HTTP_LIMITS_CONNECTIONS_MAX", "11"),
            ("GOLIVE_HTTP_LIMITS_TOKEN_REQUESTS_PER_S", "12"),
            ("GOLIVE_HTTP_LIMITS_TOKEN_BURST", "13"),
            ("GOLIVE_HTTP_LIMITS_ADDRESS_REQUESTS_PER_S", "14"),
            ("GOLIVE_HTTP_LIMITS_ADDRESS_BURST", "15"),
            ("GOLIVE_HTTP_LIMITS_HEADER_TIMEOUT_MS", "16"),
            ("GOLIVE_HTTP_LIMITS_BODY_TIMEOUT_MS", "17"),
            ("GOLIVE_HTTP_LIMITS_AS_OF_PER_TOKEN_MAX", "18"),
            ("GOLIVE_HTTP_LIMITS_OVER_RATE_DELAY_MS", "19"),
            ("GOLIVE_HTTP_LIMITS_OVER_RATE_DELAYED_MAX", "20"),
            ("GOLIVE_HTTP_LIMITS_ADDRESS_CONNECTIONS_MAX", "21"),
            ("GOLIVE_STREAM_REPLICAS", "3"),
        ]);
        assert_eq!(env.len(), ENV_KEYS.len(), "one value per variable");
        let c = Config::load_with_env(Some(&f), None, &env).unwrap();
        assert_eq!(c.batch_events_max, 50);
        assert_eq!(c.ledger.snapshot_every_events, 60);
        assert_eq!(c.ledger.snapshots_kept_max, 70);
        assert_eq!(c.audit.checkpoint_every_events, 80);
        assert_eq!(c.audit.checkpoint_every_secs, 90);
        assert_eq!(c.audit_origin, "golive.ledger/env");
        assert_eq!(
            c.signing_key_file(Path::new("/data")),
            PathBuf::from("/run/secrets/signing.key")
        );
        assert_eq!(c.http.tls, Some((cert, PathBuf::from("/k.pem"))));
        assert!(c.http.allow_open);
        assert_eq!(c.http.ready_lag_max_messages, 1234);
        assert_eq!(token_names(&c), ["alice", "prometheus"]);
        assert_eq!(c.stream_replicas, 3);
        let l = c.http.limits;
        assert_eq!(
            (l.connections_max, l.token_requests_per_s, l.token_burst),
            (11, 12, 13)
        );
        assert_eq!((l.address_requests_per_s, l.address_burst), (14, 15));
        assert_eq!(
            (
                l.header_timeout_ms,
                l.body_timeout_ms,
                l.as_of_per_token_max
            ),
            (16, 17, 18)
        );
        assert_eq!((l.over_rate_delay_ms, l.over_rate_delayed_max), (19, 20));
        assert_eq!(l.address_connections_max, 21);
        // Without the variables, the file's values (and the default key file) stand.
        let c = Config::load_with_env(Some(&f), None, &BTreeMap::new()).unwrap();
        assert_eq!(c.batch_events_max, 5);
        assert_eq!(c.audit_origin, "golive.ledger/file");
        assert_eq!(
            c.signing_key_file(Path::new("/data")),
            PathBuf::from("/data/audit-signing.key")
        );
        assert!(c.http.auth.is_open());
    }

    #[test]
    fn every_key_of_the_environment_sections_has_its_variable() {
        // Proves ENV_KEYS covers [ledger], [audit], [http] and [stream] whole: a key added to
        // one of them without a variable fails here (the field names come from Debug). The old
        // names of two [ledger] keys are read from the file only.
        let sections = [
            ("ledger", format!("{:?}", LedgerSection::default())),
            ("audit", format!("{:?}", AuditSection::default())),
            // [http.limits] is a table of its own, below.
            (
                "http",
                format!("{:?}", HttpSection::default())
                    .replace(&format!("{:?}", golive_http::limits::Limits::default()), ""),
            ),
            (
                "http.limits",
                format!("{:?}", golive_http::limits::Limits::default()),
            ),
            ("stream", format!("{:?}", StreamSection::default())),
        ];
        for (section, debug) in sections {
            let fields = debug
                .split(['{', ','])
                .skip(1)
                .filter_map(|f| f.split(':').next())
                .map(str::trim)
                .filter(|f| !f.is_empty() && !f.starts_with('}'));
            for field in fields {
                if ["checkpoint_every_events", "checkpoints_kept_max"].contains(&field)
                    && section == "ledger"
                    || field == "limits" && section == "http"
                {
                    continue;
                }
                let key = format!("{section}.{field}");
                let var = format!("GOLIVE_{}_{}", section.replace('.', "_"), field).to_uppercase();
                assert!(
                    ENV_KEYS.iter().any(|k| k.key == key && k.var == var),
                    "{key} has no environment variable {var} in ENV_KEYS"
                );
            }
        }
    }

    #[test]
    fn operations_md_lists_every_environment_variable() {
        // Proves the documented mapping is the implemented one: docs/OPERATIONS.md names each
        // variable of ENV_KEYS with its key.
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/OPERATIONS.md"),
        )
        .unwrap();
        for k in &ENV_KEYS {
            let (section, key) = k.key.split_once('.').unwrap();
            let row = doc
                .lines()
                .find(|l| l.starts_with('|') && l.contains(&format!("`{}`", k.var)))
                .unwrap_or_else(|| panic!("docs/OPERATIONS.md has no row for {}", k.var));
            assert!(
                row.contains(&format!("[{section}]")) && row.contains(key),
                "{}: {row}",
                k.var
            );
        }
    }

    #[test]
    fn an_unknown_or_bad_variable_is_refused_by_name_and_an_empty_one_is_unset() {
        // Proves a typo in a variable's name (which would leave a setting at its default) and
        // a value that does not parse are errors naming the variable; other GOLIVE_* variables
        // (flags' own, such as GOLIVE_HTTP) are not this module's business.
        let load = |pairs: &[(&str, &str)]| Config::load_with_env(None, None, &vars(pairs));
        let e = load(&[("GOLIVE_HTTP_TOKEN_FILE", "/x")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("GOLIVE_HTTP_TOKEN_FILE names no configuration key"),
            "{e}"
        );
        assert!(e.contains("GOLIVE_HTTP_TOKENS_FILE"), "{e}");
        let e = load(&[("GOLIVE_LEDGER_BATCH_EVENTS_MAX", "many")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("GOLIVE_LEDGER_BATCH_EVENTS_MAX (ledger.batch_events_max)"),
            "{e}"
        );
        let e = load(&[("GOLIVE_HTTP_ALLOW_OPEN", "perhaps")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not true or false"), "{e}");
        let e = load(&[("GOLIVE_HTTP_TOKENS", "alice")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("NAME:ROLE:SHA256"), "{e}");
        let e = load(&[("GOLIVE_STREAM_REPLICAS", "9")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("stream.replicas must be between 1 and 5"), "{e}");
        let c = load(&[
            ("GOLIVE_HTTP", "0.0.0.0:8080"),
            ("GOLIVE_DATA", "/d"),
            ("GOLIVE_LEDGER_BATCH_EVENTS_MAX", ""),
        ])
        .unwrap();
        assert_eq!(c.batch_events_max, 1_000);
    }

    #[test]
    fn a_tokens_file_holds_only_token_entries_and_adds_to_the_config_files() {
        // Proves [http] tokens_file adds its [[http.tokens]] (the format `golive token
        // --append-to` writes) to the config file's, that a missing file is an error naming it,
        // and that anything but token entries in it is refused.
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens.toml");
        std::fs::write(
            &tokens,
            format!("\n[[http.tokens]]\nname = \"b\"\nrole = \"admin\"\nsha256 = \"{HASH_B}\"\n"),
        )
        .unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            format!(
                "[http]\ntokens_file = {:?}\n[[http.tokens]]\nname = \"a\"\nrole = \"analyst\"\nsha256 = \"{HASH_A}\"\n",
                tokens.to_str().unwrap()
            ),
        )
        .unwrap();
        let c = Config::load_with_env(Some(&f), None, &BTreeMap::new()).unwrap();
        assert_eq!(token_names(&c), ["a", "b"]);
        std::fs::write(&tokens, "[ledger]\nbatch_events_max = 1\n").unwrap();
        let e = Config::load_with_env(Some(&f), None, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("only [[http.tokens]] entries"), "{e}");
        std::fs::remove_file(&tokens).unwrap();
        let e = Config::load_with_env(Some(&f), None, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("tokens.toml"), "{e}");
    }
}
