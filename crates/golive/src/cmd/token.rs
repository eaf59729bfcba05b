//! `golive token NAME --role ROLE`: a new bearer token for the HTTP API. The token goes to
//! stdout for its holder; only its hash goes into the configuration.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use golive::render;

use crate::cli::TokenArgs;
use crate::terminal;

pub fn run(args: TokenArgs) -> Result<ExitCode> {
    let TokenArgs {
        name,
        role,
        append_to,
    } = args;
    if name.trim().is_empty() || name.contains(['"', '\\', '\n']) {
        anyhow::bail!(
            "the token's name must be non-empty, without quotes, backslashes or newlines"
        );
    }
    let token = golive_http::auth::new_token().context("cannot draw randomness for a token")?;
    let entry = render::access::token_entry(
        &name,
        role.as_str(),
        &golive_http::auth::token_hash_hex(&token),
    );
    match append_to {
        Some(path) => {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            f.write_all(entry.as_bytes())?;
            terminal::err(&render::access::token_appended(&name, role.as_str(), &path));
        }
        None => terminal::err(&render::access::token_entry_to_add(&entry)),
    }
    terminal::out(&render::access::token(&token))?;
    Ok(ExitCode::SUCCESS)
}
