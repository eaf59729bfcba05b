//! The exit codes of `golive`: one meaning each, the same for every command, so that a script
//! can tell a mistyped flag from a tampered ledger. [`TABLE`] is what `golive --help` prints
//! after the commands and what README.md's "Exit codes" table shows (a test compares them).
//!
//! A panic (a bug) exits 101, as every Rust program does; a signal the shell reports as 128+N.

/// Success: done, verified, or (`audit compare`) identical or one a prefix of the other.
pub const OK: u8 = 0;
/// Any failure not below: a store, file or config that cannot be opened, NATS unreachable.
pub const ERROR: u8 = 1;
/// The command line is wrong (clap's usage errors): unknown flag, bad value, missing argument.
pub const USAGE: u8 = 2;
/// `ingest`, `collect`: some input lines were rejected (in the dead letters / not sent).
pub const REJECTED: u8 = 3;
/// `collect`: gave up waiting for the ledger's receipts; the events stay in the outbox.
pub const PENDING: u8 = 4;
/// `collect`: the NATS server refused to let these credentials publish some events.
pub const REFUSED: u8 = 5;
/// `verify`, `audit verify|compare`, `repair`: what was to be checked cannot be read.
pub const COULD_NOT_READ: u8 = 6;
/// `audit compare`: the two ledgers hold different records at some seq.
pub const DIVERGED: u8 = 7;
/// `verify`, `audit verify`, `repair`: a record, hash, tree, checkpoint or signature does not
/// verify. No other condition exits with it.
pub const TAMPERED: u8 = 8;

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: u8,
    pub name: &'static str,
    pub meaning: &'static str,
}

/// Every exit code, in order.
pub const TABLE: &[Code] = &[
    Code {
        code: OK,
        name: "OK",
        meaning: "success; verified; audit compare: identical, or one a prefix of the other",
    },
    Code {
        code: ERROR,
        name: "ERROR",
        meaning: "any other failure: cannot open or write, bad configuration, NATS unreachable",
    },
    Code {
        code: USAGE,
        name: "USAGE",
        meaning: "the command line is wrong: unknown flag, bad value, missing argument",
    },
    Code {
        code: REJECTED,
        name: "REJECTED",
        meaning: "ingest, collect: some input lines were rejected (dead letters / not sent)",
    },
    Code {
        code: PENDING,
        name: "PENDING",
        meaning: "collect: gave up waiting for receipts; the events stay in the outbox",
    },
    Code {
        code: REFUSED,
        name: "REFUSED",
        meaning: "collect: the NATS server refused to let these credentials publish some events",
    },
    Code {
        code: COULD_NOT_READ,
        name: "COULD_NOT_READ",
        meaning: "verify, audit verify|compare, repair: the input to check cannot be read",
    },
    Code {
        code: DIVERGED,
        name: "DIVERGED",
        meaning: "audit compare: the two ledgers differ at some seq",
    },
    Code {
        code: TAMPERED,
        name: "TAMPERED",
        meaning: "verify, audit verify, repair: a record, hash, checkpoint or signature fails",
    },
];

/// The table as `golive --help` prints it, after the commands.
pub fn help_table() -> String {
    let mut out = String::from("Exit codes:\n");
    for c in TABLE {
        out.push_str(&format!("  {:<3}{:<16}{}\n", c.code, c.name, c.meaning));
    }
    out.push_str("  (101: a bug, please report it; 128+N: killed by signal N)");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_row_and_tampered_is_its_own() {
        // Proves the table's promise: codes in order, each once, and the usage code (clap's)
        // distinct from TAMPERED and from every outcome.
        let codes: Vec<u8> = TABLE.iter().map(|c| c.code).collect();
        assert_eq!(codes, (0..=8).collect::<Vec<u8>>());
        assert_eq!(TABLE.iter().filter(|c| c.code == TAMPERED).count(), 1);
        assert_ne!(USAGE, TAMPERED);
        let help = help_table();
        for c in TABLE {
            assert!(
                help.contains(&format!("  {:<3}{}", c.code, c.name)),
                "{help}"
            );
        }
    }
}
