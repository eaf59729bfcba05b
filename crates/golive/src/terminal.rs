//! The one place that writes to the terminal. Commands get their text from `golive::render`
//! and hand it here: [`out`] for what the command answers (stdout, what scripts read), [`err`]
//! for notes, warnings and errors (stderr), and the progress bars, which draw on stderr only
//! when it is a terminal. Data streams (`simulate`, `audit export`) go to [`data_sink`].
//!
//! Nothing here adds or drops a byte: the text is written as rendered, so the output of every
//! command is exactly what its `render` function returns.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

/// Writes `text` to stdout as it is.
pub fn out(text: &str) -> std::io::Result<()> {
    std::io::stdout().lock().write_all(text.as_bytes())
}

/// Writes `bytes` to stdout as they are (a CSV with its byte-order mark, say).
pub fn out_bytes(bytes: &[u8]) -> std::io::Result<()> {
    std::io::stdout().lock().write_all(bytes)
}

/// Writes `text` to stderr as it is. A failure to write there has nowhere to be reported.
pub fn err(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Where a command's data stream goes: the file `path` (created or truncated), else stdout.
pub fn data_sink(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    })
}

/// A progress bar of `len` steps (a spinner without), named `what`; hidden unless stderr is a
/// terminal, so logs and pipes never see it.
pub fn progress_bar(len: Option<u64>, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let style = ProgressStyle::with_template(&format!(
        "{what} {{bar:40}} {{pos}}/{{len}} ({{per_sec}}, eta {{eta}})"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// A spinner followed by a message the caller keeps up to date (`golive collect`).
pub fn spinner(what: &str) -> ProgressBar {
    let bar = progress_bar(None, what);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}

/// The bar of `golive audit export`: records written of `total` (no length when the total is
/// not known before the first page), redrawn even while a slow server keeps it still.
pub fn export_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = if total > 0 {
        ProgressBar::new(total)
    } else {
        ProgressBar::no_length()
    };
    bar.set_style(
        ProgressStyle::with_template("export {bar:40} {pos}/{len} records ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
