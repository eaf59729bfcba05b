//! The trust-held secret key of keyed pseudonyms (`golive trust-secret new TRUST`): a small TOML
//! file, mode 0600, kept on the trust's collector host and never sent anywhere.

use std::path::{Path, PathBuf};

use golive_model::OdsCode;

use super::transform::TRUST_KEY_BYTES;

/// A trust's pseudonym key.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustSecret {
    pub trust: String,
    pub key: [u8; TRUST_KEY_BYTES],
}

impl std::fmt::Debug for TrustSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustSecret({}, <key not shown>)", self.trust)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the trust secret {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the trust secret {path} can be read by other users (mode {mode:o}); chmod 600 it: \
         whoever has it can tell which patient a pseudonym stands for"
    )]
    Exposed { path: PathBuf, mode: u32 },
    /// The reason never quotes the key.
    #[error("{path} is not a trust secret: {reason}")]
    Malformed { path: PathBuf, reason: &'static str },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFile {
    trust: String,
    key: String,
}

impl TrustSecret {
    /// The file's text: the trust, the key in hex, and a warning.
    pub fn file_text(&self) -> String {
        format!(
            "# The pseudonym key of trust {trust} (golive trust-secret new). A secret: keep it\n\
             # on this trust's collector host only, mode 0600. Never send it. Losing it means new\n\
             # pseudonyms for the same patients; whoever has it can link pseudonyms to NHS numbers.\n\
             trust = \"{trust}\"\nkey = \"{key}\"\n",
            trust = self.trust,
            key = hex::encode(self.key)
        )
    }

    /// Parses a secret file's text.
    pub fn parse(path: &Path, text: &str) -> Result<Self, SecretError> {
        let bad = |reason| SecretError::Malformed {
            path: path.to_owned(),
            reason,
        };
        // The parser's message may quote the file: never echo a secret.
        let f: SecretFile = toml::from_str(text)
            .map_err(|_| bad("expected trust = \"...\" and key = \"<64 hex digits>\""))?;
        if OdsCode::parse(&f.trust).is_none() {
            return Err(bad("its trust is not an ODS code"));
        }
        let bytes = hex::decode(f.key.trim()).map_err(|_| bad("its key is not hex"))?;
        let key: [u8; TRUST_KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| bad("its key is not 32 bytes (64 hex digits)"))?;
        Ok(Self {
            trust: f.trust,
            key,
        })
    }

    /// Reads a secret file, refusing one that group or others may read.
    pub fn read(path: &Path) -> Result<Self, SecretError> {
        let read = |source| SecretError::Read {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(SecretError::Exposed {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        let _ = meta;
        let text = std::fs::read_to_string(path).map_err(read)?;
        Self::parse(path, &text)
    }
}
