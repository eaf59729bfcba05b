//! Feed mappings: how a trust's own export (a CSV from its incident system, its patient tracking
//! list, its finance spreadsheet) becomes events. A mapping is a TOML file (grammar in
//! docs/FEEDS.md); [`Mapping::parse`] checks all of it before any row is read and names the
//! line and key of the first mistake. [`MappedFeed`] applies it: each row becomes the wire JSON
//! of an envelope and goes through [`golive_model::decode`] like any other input, so a row the
//! collector accepts is one the ledger accepts.
//!
//! NHS numbers are read only through `pseudonym = "COLUMN"`: the keyed HMAC of [`transform`],
//! with a trust-held secret ([`TrustSecret`]). Their cells are never quoted in a rejection, and
//! a copied cell that looks like an NHS number is refused rather than sent.
//!
//! Modules: `grammar` (the TOML, with spans), [`transform`] (pure value transforms), `apply`
//! (one row), `read` (a CSV file).

mod apply;
mod grammar;
mod read;
mod secret;
pub mod transform;
mod xlsx;

pub use apply::{FileContext, MappedFeed};
pub use grammar::{As, FieldSpec, Mapping, Rule, Source, Unmatched, When};
pub use read::{read_mapped, read_mapped_csv};
pub use secret::{SecretError, TrustSecret};
pub use transform::TransformError;

/// A mapping file that cannot be used: where (line, key) and why. Refused before any row is
/// read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {key}: {reason}")]
pub struct MappingError {
    pub file: String,
    /// 1-based line of the mapping file.
    pub line: usize,
    /// The key (dotted path such as `rows[0].data.pathway`) at fault.
    pub key: String,
    pub reason: String,
}

/// Mappings for a run: one for a single file, or one per file-name pattern for `--watch`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedMaps {
    /// `(pattern, feed)`: the first whose pattern matches a file's name reads it.
    pub by_pattern: Vec<(String, std::sync::Arc<MappedFeed>)>,
}

impl FeedMaps {
    /// The mapping for a file named `name`, if any pattern matches it.
    pub fn for_name(&self, name: &str) -> Option<&std::sync::Arc<MappedFeed>> {
        self.by_pattern
            .iter()
            .find(|(p, _)| glob_match(p, name))
            .map(|(_, f)| f)
    }

    pub fn is_empty(&self) -> bool {
        self.by_pattern.is_empty()
    }
}

/// A file-name pattern: `*` any run of characters, `?` one character, anything else itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Classic two-pointer match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests;
