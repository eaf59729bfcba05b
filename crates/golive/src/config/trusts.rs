//! `[trusts.<ODS>]`: each trust's signature policy and public keys, for the ledger (what an
//! event must show to be appended) and for the auditor (`golive audit verify --trust-keys`,
//! which reads the same tables from any TOML file, the ledger's config included).
//!
//! `[admin] keys` are the public keys whose signatures make a `trust_key` event stand: keys
//! added, rotated and revoked in the log itself, on top of these tables, so that an auditor
//! can take a trust's keys from the log (`golive audit verify --admin-key`).
//!
//! ```toml
//! [admin]
//! keys = ["golive-admin+5e6f7a8b+AS..."]  # as `golive trust-key new-admin` prints it
//!
//! [trusts.RAL]
//! signatures = "required"            # or "optional" (the default)
//! keys = [
//!   "RAL+1a2b3c4d+AS...",            # as `golive trust-key new RAL` prints it
//!   { key = "RAL+99aa00ff+AX...", revoked_at = "2026-05-01T00:00:00Z" },
//! ]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use golive_model::OdsCode;
use golive_verify::{SignaturePolicy, TrustKey, TrustKeys, TrustOrigin, VerifierKey};
use serde::Deserialize;

use super::ConfigError;

/// The `[admin]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    #[serde(default)]
    pub keys: Vec<String>,
}

/// One `[trusts.<ODS>]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSection {
    /// `required` or `optional`.
    pub signatures: Option<String>,
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
}

/// A public key line, or a table with the key and when it was revoked.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KeyEntry {
    Key(String),
    Revocable {
        key: String,
        revoked_at: Option<String>,
    },
}

/// The trust keys of the `[trusts]` tables, each checked: the ODS code, the policy, each key
/// (named after its trust), a revocation time in RFC 3339 UTC, and keys for `required` (in the
/// table, or to come from `trust_key` events signed by an admin key).
pub fn trust_keys(
    trusts: &BTreeMap<String, TrustSection>,
    admin: &AdminSection,
) -> Result<TrustKeys, ConfigError> {
    let admin_keys = admin
        .keys
        .iter()
        .map(|text| {
            VerifierKey::parse(text)
                .map_err(|e| ConfigError::Value(format!("[admin] key {text:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = BTreeMap::new();
    for (trust, section) in trusts {
        let bad = |what: String| ConfigError::Value(format!("[trusts.{trust}] {what}"));
        OdsCode::parse(trust).ok_or_else(|| {
            bad("is not an ODS code (3 to 5 upper-case letters or digits, a letter first)".into())
        })?;
        let policy = match section.signatures.as_deref() {
            None => SignaturePolicy::Optional,
            Some(text) => SignaturePolicy::parse(text).ok_or_else(|| {
                bad(format!(
                    "signatures = {text:?}: expected \"required\" or \"optional\""
                ))
            })?,
        };
        let keys = section
            .keys
            .iter()
            .map(|entry| trust_key(trust, entry).map_err(&bad))
            .collect::<Result<Vec<_>, _>>()?;
        if policy == SignaturePolicy::Required && keys.is_empty() && admin_keys.is_empty() {
            return Err(bad(
                "signatures = \"required\" needs at least one key (golive trust-key new), or \
                 [admin] keys to add keys with trust_key events"
                    .into(),
            ));
        }
        out.insert(trust.clone(), TrustOrigin { policy, keys });
    }
    Ok(TrustKeys::new(out).with_admin_keys(admin_keys))
}

fn trust_key(trust: &str, entry: &KeyEntry) -> Result<TrustKey, String> {
    let (text, revoked) = match entry {
        KeyEntry::Key(k) => (k, None),
        KeyEntry::Revocable { key, revoked_at } => (key, revoked_at.as_deref()),
    };
    let key = VerifierKey::parse(text).map_err(|e| format!("key {text:?}: {e}"))?;
    if key.name != trust {
        return Err(format!(
            "key {text:?} is named {}, not {trust}: a trust's key carries its ODS code",
            key.name
        ));
    }
    let revoked_at = revoked
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| format!("revoked_at {t:?} is not an RFC 3339 time: {e}"))
        })
        .transpose()?;
    Ok(TrustKey { key, revoked_at })
}

/// The `[trusts]` tables of any TOML file (other sections are ignored): what an auditor
/// passes to `golive audit verify --trust-keys`.
pub fn read_trust_keys_file(path: &Path) -> Result<TrustKeys, ConfigError> {
    #[derive(Deserialize)]
    struct OnlyTrusts {
        #[serde(default)]
        trusts: BTreeMap<String, TrustSection>,
        #[serde(default)]
        admin: AdminSection,
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file: OnlyTrusts = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    trust_keys(&file.trusts, &file.admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, seed: u8) -> String {
        golive_verify::NoteSigner::from_seed(name, [seed; 32])
            .unwrap()
            .verifier()
            .to_string()
    }

    fn parse(text: &str) -> Result<TrustKeys, ConfigError> {
        #[derive(Deserialize)]
        struct F {
            trusts: BTreeMap<String, TrustSection>,
        }
        trust_keys(
            &toml::from_str::<F>(text).expect("toml").trusts,
            &AdminSection::default(),
        )
    }

    #[test]
    fn keys_policies_and_revocations_are_read() {
        let (k1, k2) = (key("RAL", 1), key("RAL", 2));
        let text = format!(
            "[trusts.RAL]\nsignatures = \"required\"\nkeys = [\"{k1}\", {{ key = \"{k2}\", revoked_at = \"2026-05-01T00:00:00Z\" }}]\n[trusts.RRV]\n"
        );
        let keys = parse(&text).unwrap();
        assert_eq!(keys.policy("RAL"), SignaturePolicy::Required);
        assert_eq!(keys.policy("RRV"), SignaturePolicy::Optional);
        let (_, ral) = keys.trusts().find(|(t, _)| *t == "RAL").unwrap();
        assert_eq!(ral.keys.len(), 2);
        assert_eq!(ral.keys[0].revoked_at, None);
        assert_eq!(
            ral.keys[1].revoked_at.unwrap().to_rfc3339(),
            "2026-05-01T00:00:00+00:00"
        );
    }

    #[test]
    fn bad_tables_are_refused_by_name() {
        let other = key("RRV", 1);
        let cases = [
            (
                format!("[trusts.RAL]\nkeys = [\"{other}\"]\n"),
                "is named RRV, not RAL",
            ),
            (
                "[trusts.RAL]\nsignatures = \"always\"\n".to_owned(),
                "expected \"required\"",
            ),
            (
                "[trusts.RAL]\nsignatures = \"required\"\n".to_owned(),
                "needs at least one key",
            ),
            (
                "[trusts.RAL]\nkeys = [\"RAL+zz\"]\n".to_owned(),
                "[trusts.RAL] key",
            ),
            (
                format!(
                    "[trusts.RAL]\nkeys = [{{ key = \"{}\", revoked_at = \"May\" }}]\n",
                    key("RAL", 3)
                ),
                "not an RFC 3339 time",
            ),
            ("[trusts.toolong7]\n".to_owned(), "is not an ODS code"),
        ];
        for (text, want) in cases {
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
