//! NKey users of the NATS server (deploy/nats/auth.conf, docs/SECURITY.md): reading a seed
//! file for `--nkey` (refused when group or others may read it), and `golive nats-user add`,
//! which creates the user of a new trust (or of the ledger) and prints its configuration block.
//!
//! A seed file holds one NKey user seed (`SU...`, as `nk -gen user` writes it); blank lines and
//! lines starting with `#` are ignored. The public key (`U...`) goes in the server's
//! configuration; the seed stays on the one host that connects as that user.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use golive_model::OdsCode;
use golive_model::protocol::{
    RECEIPTS_QUEUE_GROUP, RECEIPTS_SUBJECT, STREAM_NAME, trust_publish_permission,
    user_inbox_prefix,
};
use nkeys::{KeyPair, KeyPairType};

/// Mode bits a seed file must not have: any access by group or others.
const NOT_OWNER_BITS: u32 = 0o077;

#[derive(Debug, thiserror::Error)]
pub enum NatsAuthError {
    #[error("cannot read the NKey seed file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the NKey seed file {path} can be read by group or others (mode {mode:04o}); a seed is a \
         password: `chmod 600 {path}` and keep it only on this host"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("{path} does not hold an NKey user seed (one line starting with SU): {reason}")]
    NotASeed { path: PathBuf, reason: String },
    #[error(
        "{path} holds the seed of a NATS {kind:?} key, not of a user (SU...); create one with \
         `golive nats-user add`"
    )]
    NotAUser { path: PathBuf, kind: KeyPairType },
    #[error(
        "{0} exists already; a seed is never overwritten (the server may still accept its public \
         key): choose another --dir or remove it first"
    )]
    Exists(PathBuf),
    #[error("cannot read {path} ({flag}): {source}")]
    TlsFile {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the TLS private key {path} (--nats-key) can be read by group or others (mode {mode:04o}): \
         `chmod 600 {path}`"
    )]
    TlsKeyExposed { path: PathBuf, mode: u32 },
    #[error("cannot write the NKey seed file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Checks the files of `--nats-ca`, `--nats-cert` and `--nats-key` before anything connects:
/// each can be opened, and the private key is not readable by group or others (as a seed).
/// Their contents are checked by the TLS library at connect.
pub fn check_tls_files(tls: &golive_model::protocol::NatsTls) -> Result<(), NatsAuthError> {
    for (flag, path) in tls.files() {
        let meta = std::fs::File::open(path)
            .and_then(|f| f.metadata())
            .map_err(|source| NatsAuthError::TlsFile {
                flag,
                path: path.to_owned(),
                source,
            })?;
        let mode = meta.permissions().mode() & 0o7777;
        if flag == "--nats-key" && mode & NOT_OWNER_BITS != 0 {
            return Err(NatsAuthError::TlsKeyExposed {
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(())
}

/// Reads an NKey user seed from `path`, refusing a file that group or others can access.
pub fn read_seed_file(path: &Path) -> Result<Arc<KeyPair>, NatsAuthError> {
    let read = |source| NatsAuthError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & NOT_OWNER_BITS != 0 {
        return Err(NatsAuthError::Exposed {
            path: path.to_owned(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    let not_seed = |reason: &str| NatsAuthError::NotASeed {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let seed = lines.next().ok_or_else(|| not_seed("the file is empty"))?;
    if lines.next().is_some() {
        return Err(not_seed("more than one line besides comments"));
    }
    if !seed.starts_with('S') {
        return Err(not_seed(
            "a seed starts with S (a public key, starting with U, is not enough)",
        ));
    }
    // The decoder's message may quote the input: never echo a secret.
    let kp = KeyPair::from_seed(seed).map_err(|_| not_seed("not a valid NKey seed"))?;
    match kp.key_pair_type() {
        KeyPairType::User => Ok(Arc::new(kp)),
        kind => Err(NatsAuthError::NotAUser {
            path: path.to_owned(),
            kind,
        }),
    }
}

/// Whose user `golive nats-user add` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A trust's collector: publishes only `golive.events.<TRUST>.>`.
    Collector(OdsCode),
    /// The ledger (`golive serve`) with its durable consumer's name.
    Ledger { consumer: String },
}

impl Role {
    /// The seed file's name in `--dir`.
    pub fn file_name(&self) -> String {
        match self {
            Role::Collector(t) => format!("{t}.nk"),
            Role::Ledger { consumer } => format!("ledger-{consumer}.nk"),
        }
    }
}

/// A user created by [`add_user`].
pub struct NewUser {
    pub public_key: String,
    pub seed_file: PathBuf,
    /// The block to add to the `users` list of deploy/nats/auth.conf.
    pub config: String,
}

/// Creates a new NKey user: writes its seed to `dir/<name>.nk` (mode 0600, never over an
/// existing file) and returns the public key and the configuration block.
pub fn add_user(role: &Role, dir: &Path) -> Result<NewUser, NatsAuthError> {
    let kp = KeyPair::new_user();
    let seed = kp.seed().expect("a freshly made key pair has a seed");
    let public_key = kp.public_key();
    let path = dir.join(role.file_name());
    let write = |source| NatsAuthError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(write)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                NatsAuthError::Exists(path.clone())
            } else {
                write(e)
            }
        })?;
    let who = match role {
        Role::Collector(t) => format!("the collector of trust {t}"),
        Role::Ledger { consumer } => format!("the ledger (consumer {consumer})"),
    };
    let body = format!(
        "# NKey seed of {who}: a password. Keep it on that host only, mode 0600.\n\
         # Public key (in the NATS server's configuration): {public_key}\n{seed}\n"
    );
    f.write_all(body.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(write)?;
    let config = config_block(role, &public_key);
    Ok(NewUser {
        public_key,
        seed_file: path,
        config,
    })
}

/// The `users` entry of deploy/nats/auth.conf for `role` with `public_key`.
pub fn config_block(role: &Role, public_key: &str) -> String {
    let inbox = format!("{}.>", user_inbox_prefix(public_key));
    match role {
        Role::Collector(trust) => format!(
            "      # {trust}: collector\n\
             \x20     {{\n\
             \x20       nkey: {public_key}\n\
             \x20       permissions: {{\n\
             \x20         publish: {{ allow: [\"{events}\", \"{RECEIPTS_SUBJECT}\"] }}\n\
             \x20         subscribe: {{ allow: [\"{inbox}\"] }}\n\
             \x20       }}\n\
             \x20     }}\n",
            events = trust_publish_permission(trust.as_str()),
        ),
        Role::Ledger { consumer } => {
            let api = "$JS.API";
            let s = STREAM_NAME;
            format!(
                "      # the ledger (golive serve, durable consumer {consumer})\n\
                 \x20     {{\n\
                 \x20       nkey: {public_key}\n\
                 \x20       permissions: {{\n\
                 \x20         publish: {{ allow: [\n\
                 \x20           \"{api}.STREAM.INFO.{s}\"\n\
                 \x20           \"{api}.STREAM.CREATE.{s}\"\n\
                 \x20           \"{api}.CONSUMER.INFO.{s}.{consumer}\"\n\
                 \x20           \"{api}.CONSUMER.CREATE.{s}.{consumer}.>\"\n\
                 \x20           \"{api}.CONSUMER.MSG.NEXT.{s}.{consumer}\"\n\
                 \x20           \"{api}.STREAM.MSG.GET.{s}\"\n\
                 \x20           \"$JS.ACK.{s}.{consumer}.>\"\n\
                 \x20         ] }}\n\
                 \x20         subscribe: {{ allow: [\"{inbox}\", \"{RECEIPTS_SUBJECT} {RECEIPTS_QUEUE_GROUP}\"] }}\n\
                 \x20         # receipt replies go to each asking collector's inbox, and only there\n\
                 \x20         allow_responses: true\n\
                 \x20       }}\n\
                 \x20     }}\n"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_user_seed_is_private_and_reads_back() {
        // Proves `nats-user add` writes a 0600 seed that `--nkey` accepts, never overwrites it,
        // and that a seed readable by others is refused without echoing it.
        let dir = tempfile::tempdir().unwrap();
        let role = Role::Collector(OdsCode::parse("RAL").unwrap());
        let u = add_user(&role, dir.path()).unwrap();
        let mode = std::fs::metadata(&u.seed_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let kp = read_seed_file(&u.seed_file).unwrap();
        assert_eq!(kp.public_key(), u.public_key);
        assert!(u.config.contains("golive.events.RAL.>"));
        assert!(u.config.contains(&format!("_INBOX.{}.>", u.public_key)));
        assert!(matches!(
            add_user(&role, dir.path()),
            Err(NatsAuthError::Exists(_))
        ));
        std::fs::set_permissions(&u.seed_file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = read_seed_file(&u.seed_file).unwrap_err().to_string();
        assert!(e.contains("mode 0640") && e.contains("chmod 600"), "{e}");
        let seed = kp.seed().unwrap();
        assert!(!e.contains(&seed));
    }

    #[test]
    fn files_that_hold_no_user_seed_are_refused() {
        // Proves a public key, garbage, or a non-user seed is refused with a reason.
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            p
        };
        let user = KeyPair::new_user();
        let e = read_seed_file(&write("pub", &user.public_key())).unwrap_err();
        assert!(e.to_string().contains("starts with S"), "{e}");
        let e = read_seed_file(&write("junk", "SUNOTASEED\n")).unwrap_err();
        assert!(e.to_string().contains("not a valid NKey seed"), "{e}");
        let account = KeyPair::new_account().seed().unwrap();
        let e = read_seed_file(&write("acct", &account)).unwrap_err();
        assert!(matches!(e, NatsAuthError::NotAUser { .. }), "{e}");
        let e = read_seed_file(&write("empty", "# nothing\n\n")).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }
}
