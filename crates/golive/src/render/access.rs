//! What the access commands print: `golive token` (a bearer token and its config entry) and
//! `golive nats-user add` (an NKey user's public key and configuration block).

use std::path::Path;

use crate::natsauth::NewUser;

use super::line;

/// The `[[http.tokens]]` entry holding only the token's hash, as written to a config file
/// (it starts with a blank line, so it can be appended to any file).
pub fn token_entry(name: &str, role: &str, sha256_hex: &str) -> String {
    format!("\n[[http.tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{sha256_hex}\"\n")
}

/// The entry, to be added by hand (stderr).
pub fn token_entry_to_add(entry: &str) -> String {
    format!("add to the config file ([http] section):{entry}\n")
}

/// The entry was appended to `path` (stderr).
pub fn token_appended(name: &str, role: &str, path: &Path) -> String {
    line(format_args!(
        "added token {name:?} ({role}) to {}; restart the ledger to use it",
        path.display()
    ))
}

/// Where the new user's seed is and what to do with it and its configuration (stderr).
pub fn nats_user_notes(user: &NewUser, command: &str) -> String {
    let mut out = line(format_args!(
        "wrote the seed to {} (mode 0600): copy it to that host only and pass it to `{command} --nkey FILE`",
        user.seed_file.display()
    ));
    out.push_str(&line(
        "add the block below to the users list of the NATS server's configuration (deploy/nats/auth.conf), then reload it: nats-server --signal reload",
    ));
    out
}

/// The public key and the block for the server's `users` list (stdout).
pub fn nats_user_block(user: &NewUser) -> String {
    format!("# public key {}\n{}", user.public_key, user.config)
}

/// The token itself, for its holder (stdout).
pub fn token(token: &str) -> String {
    line(token)
}
