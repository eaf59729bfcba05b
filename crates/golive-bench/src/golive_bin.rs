//! Which `golive` binary the benchmarks run as the ledger (`golive serve`, `golive replay`).
//!
//! The bench is a binary of its own, so it cannot run itself as the ledger (as `golive bench`
//! did with its own executable). It runs the `golive` given with `--golive PATH`, or else the
//! one next to its own executable: `cargo build --release` puts both in `target/release`, and
//! `cargo test --workspace` builds every binary before it runs any test. A missing binary is
//! reported before the run starts, with how to build it.

use std::path::{Path, PathBuf};

/// File name of the product's binary, beside `golive-bench` in a cargo target directory.
const GOLIVE_FILE: &str = "golive";

#[derive(Debug, thiserror::Error)]
pub enum GoliveBinError {
    #[error("cannot tell where golive-bench runs from (to find golive next to it): {0}")]
    CurrentExe(#[source] std::io::Error),
    #[error(
        "no golive binary at {path}, next to golive-bench: build it with `cargo build --release -p golive` (for target/debug: `cargo build -p golive`) or pass --golive PATH"
    )]
    NotNextToBench { path: PathBuf },
    #[error("--golive {path}: no such file")]
    Missing { path: PathBuf },
}

/// The `golive` binary to run: `given` (`--golive`), else the one next to this executable.
pub fn resolve(given: Option<&Path>) -> Result<PathBuf, GoliveBinError> {
    match given {
        Some(path) if path.is_file() => Ok(path.to_path_buf()),
        Some(path) => Err(GoliveBinError::Missing {
            path: path.to_path_buf(),
        }),
        None => next_to(&std::env::current_exe().map_err(GoliveBinError::CurrentExe)?),
    }
}

/// The `golive` in the directory of `exe`, if it is there.
pub fn next_to(exe: &Path) -> Result<PathBuf, GoliveBinError> {
    let path = exe.with_file_name(GOLIVE_FILE);
    if path.is_file() {
        Ok(path)
    } else {
        Err(GoliveBinError::NotNextToBench { path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golive_is_found_next_to_the_bench_or_reported_with_how_to_build_it() {
        // Proves the default of --golive: the `golive` beside the bench's executable, and a
        // missing one (default or given) is an error that says how to get it.
        let dir = tempfile::tempdir().unwrap();
        let bench = dir.path().join("golive-bench");
        std::fs::write(&bench, b"").unwrap();
        let err = next_to(&bench).unwrap_err().to_string();
        assert!(err.contains("cargo build --release -p golive"), "{err}");
        assert!(err.contains("--golive PATH"), "{err}");
        let golive = dir.path().join("golive");
        std::fs::write(&golive, b"").unwrap();
        assert_eq!(next_to(&bench).unwrap(), golive);
        assert_eq!(resolve(Some(&golive)).unwrap(), golive);
        let missing = dir.path().join("elsewhere/golive");
        let err = resolve(Some(&missing)).unwrap_err().to_string();
        assert!(err.starts_with("--golive "), "{err}");
    }
}
