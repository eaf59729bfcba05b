//! Reader threads: a file, stdin, or a watched directory, turned into [`ReadItem`]s on a
//! bounded channel. They run on plain threads (blocking IO; a thread blocked on stdin must not
//! hold up the runtime's shutdown) and stop when the engine drops the receiver.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use crate::error::CollectError;
use crate::feed::{FeedFormat, FeedRecord, read_feed};
use crate::mapping::{FeedMaps, FileContext, MappedFeed, read_mapped};
use crate::outbox::{FileKey, Outbox};

/// Records in the channel between a reader thread and the engine.
pub(crate) const READ_CHANNEL_CAPACITY: usize = 4096;

/// What a reader sends to the engine, in input order.
#[derive(Debug)]
pub(crate) enum ReadItem {
    Record {
        source: Arc<str>,
        record: FeedRecord,
    },
    /// Every record of this watched file has been sent: record it as read once they are on disk.
    FileDone(FileKey),
    /// The input failed (IO): the run stops with this error.
    Failed(CollectError),
    /// The input is exhausted.
    End,
}

/// How a file is read: in one of the collector's own formats, or through a mapping.
#[derive(Debug, Clone)]
pub(crate) enum Reading {
    Native(FeedFormat),
    Mapped(Arc<MappedFeed>, FileContext),
}

impl Reading {
    /// The mapping `feeds` has for the file at `path`, else its own format by extension.
    fn of(path: &Path, feeds: &FeedMaps) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match feeds.for_name(&name) {
            Some(feed) => Reading::Mapped(feed.clone(), file_context(path)),
            None => Reading::Native(FeedFormat::of_path(path)),
        }
    }
}

/// The file's name and modification time (whole seconds, UTC) for a mapping's `{file}` and
/// `file_date`.
pub fn file_context(path: &Path) -> FileContext {
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| chrono::DateTime::from_timestamp(d.as_secs() as i64, 0));
    FileContext {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        modified,
    }
}

/// Reads one file (through its mapping if it has one; else CSV if it ends in `.csv`, JSONL
/// otherwise), then sends `End`.
pub(crate) fn spawn_file(path: PathBuf, file: File, feeds: FeedMaps, tx: mpsc::Sender<ReadItem>) {
    spawn("golive-collect-file", move || {
        let source: Arc<str> = path.display().to_string().into();
        let reading = Reading::of(&path, &feeds);
        let reader = BufReader::with_capacity(256 * 1024, file);
        if let Err(error) = send_feed(&reading, reader, &source, &tx) {
            let _ = tx.blocking_send(ReadItem::Failed(CollectError::Read {
                source_name: source.to_string(),
                error,
            }));
        }
        let _ = tx.blocking_send(ReadItem::End);
    });
}

/// Reads stdin (JSONL, or CSV when the first byte is not `{`), then sends `End`.
pub(crate) fn spawn_stdin(tx: mpsc::Sender<ReadItem>) {
    spawn("golive-collect-stdin", move || {
        let source: Arc<str> = "stdin".into();
        let stdin = io::stdin();
        let mut reader = BufReader::with_capacity(256 * 1024, stdin.lock());
        let result = reader
            .fill_buf()
            .map(|head| Reading::Native(FeedFormat::sniff(head)))
            .and_then(|reading| send_feed(&reading, reader, &source, &tx));
        if let Err(error) = result {
            let _ = tx.blocking_send(ReadItem::Failed(CollectError::Read {
                source_name: source.to_string(),
                error,
            }));
        }
        let _ = tx.blocking_send(ReadItem::End);
    });
}

/// Polls `dir` every `poll_ms` for `*.jsonl`, `*.ndjson` and `*.csv` files, and files a
/// pattern of `feeds` matches (read through its mapping), and reads each new one once. A file is new if its (name, size, mtime) is not recorded in the outbox; it is read
/// once it looks complete: unchanged since the previous poll, or last modified over a second
/// ago. Runs until the engine stops listening.
pub(crate) fn spawn_watch(
    dir: PathBuf,
    poll_ms: u64,
    feeds: FeedMaps,
    outbox: Outbox,
    tx: mpsc::Sender<ReadItem>,
) {
    spawn("golive-collect-watch", move || {
        let poll = Duration::from_millis(poll_ms.max(1));
        let settled_after = poll.max(Duration::from_secs(1));
        let mut last_seen: HashMap<String, (u64, u128)> = HashMap::new();
        let mut sent: HashSet<FileKey> = HashSet::new();
        let mut dir_error_logged = false;
        tracing::info!(dir = %dir.display(), poll_ms, "watching for new *.jsonl and *.csv files");
        while !tx.is_closed() {
            match list_feed_files(&dir, &feeds) {
                Ok(files) => {
                    dir_error_logged = false;
                    let names: HashSet<&str> = files.iter().map(|f| f.key.name.as_str()).collect();
                    if let Err(e) = outbox.forget_files_except(&|n| names.contains(n)) {
                        tracing::warn!(error = %e, "cannot prune the list of read files");
                    }
                    last_seen.retain(|n, _| names.contains(n.as_str()));
                    for f in &files {
                        if tx.is_closed() {
                            return;
                        }
                        if sent.contains(&f.key) {
                            continue;
                        }
                        match outbox.is_file_processed(&f.key) {
                            Ok(true) => continue,
                            Ok(false) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "cannot read the list of read files");
                                continue;
                            }
                        }
                        let observed = (f.key.size, f.key.mtime_ns);
                        let unchanged =
                            last_seen.insert(f.key.name.clone(), observed) == Some(observed);
                        let old = f.modified.elapsed().is_ok_and(|age| age >= settled_after);
                        if !(unchanged || old) {
                            continue; // may still be being written: look again next poll
                        }
                        if read_watched(&f.path, &f.key, &feeds, &tx) {
                            sent.insert(f.key.clone());
                        }
                    }
                    sent.retain(|k| names.contains(k.name.as_str()));
                }
                Err(e) => {
                    if !dir_error_logged {
                        tracing::warn!(dir = %dir.display(), error = %e, "cannot list the watched directory; trying again");
                        dir_error_logged = true;
                    }
                }
            }
            std::thread::sleep(poll);
        }
    });
}

/// Reads one watched file; true when all of it was sent and `FileDone` followed.
fn read_watched(path: &Path, key: &FileKey, feeds: &FeedMaps, tx: &mpsc::Sender<ReadItem>) -> bool {
    let source: Arc<str> = path.display().to_string().into();
    let result = File::open(path).and_then(|file| {
        let reader = BufReader::with_capacity(256 * 1024, file);
        send_feed(&Reading::of(path, feeds), reader, &source, tx)
    });
    match result {
        Ok(()) => {
            tracing::info!(file = %source, "read");
            tx.blocking_send(ReadItem::FileDone(key.clone())).is_ok()
        }
        Err(e) => {
            // Not recorded as read: it is tried again at the next poll. Records already sent
            // are recognised in the outbox (or by the ledger's dedupe) and not sent twice.
            tracing::warn!(file = %source, error = %e, "cannot read a watched file; trying again");
            false
        }
    }
}

struct FeedFile {
    path: PathBuf,
    key: FileKey,
    modified: SystemTime,
}

fn list_feed_files(dir: &Path, feeds: &FeedMaps) -> io::Result<Vec<FeedFile>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let lower = name.to_ascii_lowercase();
        let wanted = [".jsonl", ".ndjson", ".csv"]
            .iter()
            .any(|e| lower.ends_with(e))
            || feeds.for_name(name).is_some();
        if !wanted || name.starts_with('.') {
            continue;
        }
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let mtime_ns = modified
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        out.push(FeedFile {
            path: entry.path(),
            key: FileKey {
                name: name.to_owned(),
                size: meta.len(),
                mtime_ns,
            },
            modified,
        });
    }
    out.sort_by(|a, b| a.key.name.cmp(&b.key.name));
    Ok(out)
}

/// Reads a feed and sends every record; an IO error is returned, a closed channel stops quietly.
fn send_feed<R: BufRead>(
    reading: &Reading,
    reader: R,
    source: &Arc<str>,
    tx: &mpsc::Sender<ReadItem>,
) -> io::Result<()> {
    let mut emit = |record: FeedRecord| {
        let item = ReadItem::Record {
            source: source.clone(),
            record,
        };
        if tx.blocking_send(item).is_err() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    match reading {
        Reading::Native(format) => read_feed(*format, reader, source, &mut emit).map(|_| ()),
        Reading::Mapped(feed, file) => {
            read_mapped(reader, source, feed, file, &mut emit).map(|_| ())
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) {
    // Spawning a thread fails only when the OS is out of resources; nothing sensible remains.
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("the OS can start a reader thread");
}
