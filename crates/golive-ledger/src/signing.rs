//! Signed checkpoints: the ledger's Ed25519 key, and when to sign the Merkle tree's root.
//!
//! The key lives in the data directory as `audit-signing.key`, in the signed-note private key
//! format (`PRIVATE+KEY+<origin>+<key id>+<base64>`), created on first use with mode 0600 and
//! never overwritten. Its name is the log's origin (`golive.ledger/<name>`), fixed when the key
//! is created. A checkpoint is signed at the head once `checkpoint_every_events` events or
//! `checkpoint_every_secs` seconds have passed since the last one (and only if the head moved),
//! and stored in the store's `signed_checkpoints` tree by tree size. Signing happens after the
//! batch is durable: a crash can lose the newest checkpoint, never sign an event that is lost.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use golive_store::Store;
use golive_verify::{Checkpoint, NoteSigner, VerifierKey};

use crate::ledger::LedgerError;

/// The signing key's file in the data directory.
pub const KEY_FILE: &str = "audit-signing.key";

/// The origin of a log when the configuration names none.
pub const DEFAULT_ORIGIN: &str = "golive.ledger/main";

/// When to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditOptions {
    pub checkpoint_every_events: u64,
    pub checkpoint_every_secs: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            checkpoint_every_events: 1_000,
            checkpoint_every_secs: 60,
        }
    }
}

/// Why the signing key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum AuditKeyError {
    #[error("cannot {what} the signing key {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the signing key {path} is not a signed-note Ed25519 private key: {why}")]
    Invalid { path: PathBuf, why: String },
}

/// Reads the signing key from `dir`, or creates it (owner-only) if there is none. `origin`
/// names a new key; an existing key keeps the name it was created with.
pub fn load_or_create_key(dir: &Path, origin: &str) -> Result<NoteSigner, AuditKeyError> {
    load_or_create_key_at(&dir.join(KEY_FILE), origin)
}

/// [`load_or_create_key`] for a key file anywhere (`[audit] key_file`): read it, or create it
/// (owner-only, and its directory) if there is none.
pub fn load_or_create_key_at(path: &Path, origin: &str) -> Result<NoteSigner, AuditKeyError> {
    let path = path.to_path_buf();
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |what, source| AuditKeyError::Io {
        what,
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            warn_if_readable_by_others(&path);
            let signer = NoteSigner::parse(&text).map_err(|e| AuditKeyError::Invalid {
                path: path.clone(),
                why: e.to_string(),
            })?;
            if signer.name() != origin {
                tracing::info!(
                    key_origin = signer.name(),
                    configured = origin,
                    "the signing key keeps the origin it was created with"
                );
            }
            Ok(signer)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
            let mut seed = [0u8; 32];
            getrandom(&mut seed).map_err(|e| io("draw randomness for", e))?;
            let signer =
                NoteSigner::from_seed(origin, seed).map_err(|e| AuditKeyError::Invalid {
                    path: path.clone(),
                    why: e.to_string(),
                })?;
            let mut f = create_owner_only(&path).map_err(|e| io("create", e))?;
            f.write_all(signer.to_private_text().as_bytes())
                .and_then(|()| f.write_all(b"\n"))
                .and_then(|()| f.sync_all())
                .map_err(|e| io("write", e))?;
            tracing::info!(path = %path.display(), origin, "created the ledger's signing key");
            Ok(signer)
        }
        Err(e) => Err(io("read", e)),
    }
}

/// Fills `buf` from the OS's random source (the `getrandom` crate: the getrandom(2) system
/// call, which blocks only until the kernel's pool is first seeded): keys and tokens.
pub fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::fill(buf).map_err(|e| std::io::Error::other(e.to_string()))
}

/// Creates a new file only its owner may read and write (0600 on Unix); never over an existing
/// one (`AlreadyExists`). The signing key, and the trust secrets of `golive trust-secret`.
#[cfg(unix)]
pub fn create_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
pub fn create_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), mode = format!("{:o}", m.permissions().mode() & 0o777), "the signing key is readable by other users; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

/// Signs checkpoints for one ledger.
#[derive(Debug)]
pub struct CheckpointSigner {
    signer: NoteSigner,
    options: AuditOptions,
    /// Tree size of the last signed checkpoint.
    last_size: u64,
    last_at: Instant,
}

impl CheckpointSigner {
    /// Starts from the latest checkpoint already in `store`.
    pub fn new(
        signer: NoteSigner,
        options: AuditOptions,
        store: &Store,
    ) -> Result<Self, LedgerError> {
        let last_size = store.latest_signed_checkpoint()?.map_or(0, |(s, _)| s);
        Ok(Self {
            signer,
            options,
            last_size,
            last_at: Instant::now(),
        })
    }

    /// The log's origin (the key's name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The public key auditors check checkpoints with.
    pub fn verifier(&self) -> VerifierKey {
        self.signer.verifier()
    }

    /// Tree size of the last checkpoint signed.
    pub fn last_size(&self) -> u64 {
        self.last_size
    }

    /// True when the head moved since the last checkpoint and enough events or time passed.
    pub fn is_due(&self, head: u64) -> bool {
        head > self.last_size
            && (head - self.last_size >= self.options.checkpoint_every_events.max(1)
                || self.last_at.elapsed()
                    >= Duration::from_secs(self.options.checkpoint_every_secs))
    }

    /// Signs the tree at the store's durable head, unless it is already signed. Returns the
    /// tree size signed.
    pub fn sign(&mut self, store: &Store) -> Result<Option<u64>, LedgerError> {
        let size = store.head().seq;
        if size == 0 || size == self.last_size {
            return Ok(None);
        }
        let checkpoint = Checkpoint {
            origin: self.signer.name().to_owned(),
            size,
            root: store.merkle_root(size)?,
            extensions: vec![format!(
                "time {}",
                golive_model::format_time(&chrono::Utc::now())
            )],
        };
        let note = self.signer.sign(&checkpoint.to_text());
        store.put_signed_checkpoint(size, &note)?;
        self.last_size = size;
        self.last_at = Instant::now();
        tracing::debug!(size, "signed checkpoint");
        Ok(Some(size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_owner_only_once_and_read_back() {
        // Proves the first call creates a key file only its owner can read, and later calls
        // read the same key (with the origin it was created with) instead of replacing it.
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_key(dir.path(), "golive.ledger/test").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let b = load_or_create_key(dir.path(), "golive.ledger/other").unwrap();
        assert_eq!(a.verifier(), b.verifier());
        assert_eq!(b.name(), "golive.ledger/test");
    }
}
