//! `golive nats-user add`: a new NKey user for a trust's collector or for the ledger.

use std::process::ExitCode;

use anyhow::{Context, Result};
use golive::natsauth::{Role, add_user};
use golive::render;
use golive_model::OdsCode;

use crate::cli::{NatsUserAddArgs, NatsUserArgs, NatsUserCommand};
use crate::terminal;

pub fn run(args: NatsUserArgs) -> Result<ExitCode> {
    match args.what {
        NatsUserCommand::Add(add) => run_add(add),
    }
}

fn run_add(args: NatsUserAddArgs) -> Result<ExitCode> {
    let role = match args.trust {
        Some(t) if !args.ledger => Role::Collector(OdsCode::parse(&t).with_context(|| {
            format!("{t}: not an ODS code (3 to 5 upper-case letters or digits, e.g. RAL)")
        })?),
        _ => Role::Ledger {
            consumer: args.consumer,
        },
    };
    let user = add_user(&role, &args.dir)?;
    let command = match &role {
        Role::Collector(_) => "golive collect",
        Role::Ledger { .. } => "golive serve",
    };
    terminal::err(&render::access::nats_user_notes(&user, command));
    terminal::out(&render::access::nats_user_block(&user))?;
    Ok(ExitCode::SUCCESS)
}
