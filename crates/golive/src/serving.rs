//! The address a running ledger serves HTTP on, written beside its store (`serving.url` in the
//! data directory) so that commands which find the store locked by that ledger (e.g. `golive
//! audit export` during `golive demo`) can ask it over HTTP instead. Removed when the ledger
//! stops; a stale file is only read while the store is locked, i.e. while a ledger runs.

use std::path::{Path, PathBuf};

const FILE: &str = "serving.url";

/// Removes the file when dropped.
pub struct Serving {
    path: PathBuf,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Records that the ledger in `data_dir` serves HTTP at `url`. Failing to write it is not fatal
/// (the ledger serves anyway); it is logged.
pub fn announce(data_dir: &Path, url: &str) -> Serving {
    let path = data_dir.join(FILE);
    if let Err(e) = std::fs::write(&path, format!("{url}\n")) {
        tracing::warn!(path = %path.display(), error = %e, "cannot record the HTTP address");
    }
    Serving { path }
}

/// The HTTP address recorded by the ledger running in `data_dir`, if any.
pub fn url_of(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join(FILE))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| s.starts_with("http://") || s.starts_with("https://"))
}
