//! Everything `golive` shows on a terminal, as text: the projection views as tables, and what
//! each command reports (summaries, outcomes, notes). Commands build a value and hand it here;
//! the text comes back as a `String`, and the binary's `terminal` module is the one place that
//! writes it out. So the words of the interface live in one directory, and a function here can
//! be tested without running a command.
//!
//! **Invariant:** nothing here does IO; every function is a pure function of its arguments.
//! `--json` output is `serde_json` of the same values the HTTP API serves.

pub mod access;
pub mod audit;
pub mod collect;
pub mod demo;
pub mod evidence;
pub mod ledger;
pub mod recovery;
pub mod serve;
mod table;
pub mod views;

use serde::Serialize;

pub use views::{deferred, incidents, lost_patients, money, rollout, warnings};

/// Pretty JSON of any view.
pub fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `--check-config` of a command that has nothing to check beyond its configuration.
pub fn config_checked(file: Option<&std::path::Path>, data_dir: &std::path::Path) -> String {
    let file = file.map_or("no config file".to_owned(), |f| {
        format!("config file {}", f.display())
    });
    line(format_args!(
        "configuration OK ({file}, ledger {}); nothing started",
        data_dir.display()
    ))
}

/// `text` and a newline: one line as `println!` would print it.
pub(crate) fn line(text: impl std::fmt::Display) -> String {
    format!("{text}\n")
}
