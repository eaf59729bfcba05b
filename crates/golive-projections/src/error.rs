//! Errors of this crate. Both are about input handed in (a rules file, a snapshot), never IO.

/// A rules document that cannot be used: the user's fault, with a message saying what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("warning rules are not valid: {0}")]
    Toml(String),
    #[error("`halt_on` names unknown rule `{rule}`; known rules: {known}")]
    UnknownRule { rule: String, known: String },
    #[error("`{field}` must be {expected} (got {got})")]
    OutOfRange {
        field: &'static str,
        expected: &'static str,
        got: i64,
    },
}

/// A snapshot that cannot be loaded. Snapshots are caches of the log: on any of these the
/// caller drops the snapshot and replays from the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a golive-projections snapshot: {0}")]
    NotASnapshot(String),
    #[error("snapshot format version {found}; this build reads version {expected}")]
    UnsupportedVersion { found: u32, expected: u32 },
    #[error("snapshot is corrupt: {0}")]
    Corrupt(String),
}
