//! # golive-collector
//!
//! The trust side of Go-Live Ledger: `golive collect` reads incident events from JSONL or CSV
//! (a file, stdin, or a directory it watches), validates each record locally with
//! [`golive_model::decode`] (a bad record is reported with its file, line, field and reason and
//! never sent), and publishes the canonical JSON of each event to JetStream on
//! `golive.events.<TRUST>.<kind>` with `Nats-Msg-Id = event_id`.
//!
//! **Main design decision: the collector trusts only the ledger's receipt, not the broker's
//! ack.** A JetStream ack on nats-server 2.9 means the write reached the OS, not the disk, so
//! every event is first written to a durable outbox (sled, flushed) and stays there until the
//! ledger says, in answer to a receipt query on [`golive_model::protocol::RECEIPTS_SUBJECT`],
//! that it appended the event (or dead-lettered it for good). An event the ledger does not know
//! long after its publish, once the ledger has read past it in the stream, is published again
//! under a new msg id (`<event_id>.r<n>`): under the original id JetStream's duplicate window
//! would swallow the copy exactly when the broker lost the original. The ledger dedupes by
//! `event_id` forever, so copies are harmless.
//!
//! Consequences:
//! - NATS down is not an error: events wait in the outbox, publishing retries with backoff
//!   (100 ms doubling to 5 s) and the progress note says what is happening.
//! - A restart loses nothing: the outbox is read back, never-acknowledged events are
//!   published first, the rest are asked about.
//! - The outbox has a limit (`outbox_events_max`): at the limit reading pauses; nothing is
//!   dropped.
//! - A publish the NATS server refuses (a permissions violation: these credentials may not
//!   publish on the event's subject, e.g. another trust's `golive.events.<TRUST>.>`) is not
//!   retried in this run: it is logged with the subject and the server's words, the event stays
//!   in the outbox marked refused (`golive collect --status`), and it is tried once more on the
//!   next run, when the permissions may have been fixed. Every other event carries on.
//! - Credentials the server refuses at connect time end the run at once with
//!   [`CollectError::NatsRefused`] (nothing to retry: a retry would be refused the same way).
//!
//! **Boundary:** `golive-store` and `golive-collector` are the two crates that touch sled: the
//! store holds the ledger, the [`outbox`] is the collector's own (a separate database in the
//! collector's `--data` directory, with its own versioned byte layout).
//!
//! Modules: [`feed`] (pure readers: bytes in, events or rejections out), [`mapping`] (a trust's
//! own exports through a feed mapping, with keyed pseudonyms: docs/FEEDS.md), [`outbox`] (sled),
//! `engine` (every decision of a run, as a pure state machine: inputs in, actions out),
//! `driver` (the tokio/NATS/sled IO that feeds the engine and carries out its actions),
//! `input` (reader threads), `backoff` (the retry schedule).

mod backoff;
mod driver;
mod engine;
mod error;
pub mod feed;
mod input;
pub mod mapping;
pub mod outbox;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

pub use backoff::Backoff;
pub use driver::PUBLISH_ACK_TIMEOUT_MS;
pub use engine::{RECEIPT_QUERIES_PER_ROUND, REJECTED_BY_LEDGER};
pub use error::CollectError;
pub use feed::{FeedCounts, FeedFormat, FeedRecord, LocalRejection, ValidEvent};
pub use input::file_context;
pub use outbox::{OutboxStatus, PendingInfo, RefusedInfo, RejectedInfo};

/// Rejections kept in [`CollectSummary::rejections`]; all are counted and logged.
pub const REJECTIONS_KEPT_MAX: usize = 100;
pub const DEFAULT_WINDOW: usize = 1024;
pub const DEFAULT_REPUBLISH_AFTER_MS: u64 = 5_000;
pub const DEFAULT_RECEIPT_INTERVAL_MS: u64 = 250;
pub const DEFAULT_RECEIPT_TIMEOUT_MS: u64 = 2_000;
pub const DEFAULT_OUTBOX_EVENTS_MAX: u64 = 1_000_000;
/// Largest publish window accepted.
pub const WINDOW_MAX: usize = 65_536;

/// How to run a collector.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// e.g. `nats://127.0.0.1:4222`; several servers may be given separated by commas.
    pub nats_url: String,
    /// The outbox directory (`--data DIR`).
    pub outbox_dir: PathBuf,
    /// A NATS `.creds` file (JWT and NKey seed), if the server requires one.
    pub credentials: Option<PathBuf>,
    /// An NKey user (deploy/nats/auth.conf): authenticates with its seed, and its replies come
    /// on `_INBOX.<public key>` (see [`golive_model::protocol::user_inbox_prefix`]).
    pub nkey: Option<Arc<nkeys::KeyPair>>,
    /// TLS to NATS (`--nats-ca`, `--nats-cert`, `--nats-key`); none by default.
    pub tls: golive_model::protocol::NatsTls,
    /// JetStream publishes awaiting their ack at once.
    pub window: usize,
    /// An event the ledger still does not know this long after its publish is published again
    /// (the wait doubles with each re-publish, up to 16 times this).
    pub republish_after_ms: u64,
    /// Time between receipt rounds when nothing is being confirmed.
    pub receipt_interval_ms: u64,
    /// How long one receipt query waits for the ledger.
    pub receipt_timeout_ms: u64,
    /// File and stdin input: how long to wait for receipts after reading; `None` waits until
    /// every event is confirmed.
    pub wait_for_receipts_ms: Option<u64>,
    /// Most events in the outbox; at the limit reading pauses.
    pub outbox_events_max: u64,
    /// The trust's signing key (`golive trust-key new`): each publish carries its Ed25519
    /// signature of the event's canonical bytes in the `Golive-Signature` header
    /// (docs/EVENTS.md). `None` publishes unsigned events.
    pub trust_signer: Option<Arc<golive_verify::NoteSigner>>,
}

impl CollectorConfig {
    /// A configuration with the defaults for everything but the server and the outbox.
    pub fn new(nats_url: impl Into<String>, outbox_dir: impl Into<PathBuf>) -> Self {
        Self {
            nats_url: nats_url.into(),
            outbox_dir: outbox_dir.into(),
            credentials: None,
            nkey: None,
            tls: Default::default(),
            window: DEFAULT_WINDOW,
            republish_after_ms: DEFAULT_REPUBLISH_AFTER_MS,
            receipt_interval_ms: DEFAULT_RECEIPT_INTERVAL_MS,
            receipt_timeout_ms: DEFAULT_RECEIPT_TIMEOUT_MS,
            wait_for_receipts_ms: None,
            outbox_events_max: DEFAULT_OUTBOX_EVENTS_MAX,
            trust_signer: None,
        }
    }

    fn validate(&self) -> Result<(), CollectError> {
        let bad = |s: String| Err(CollectError::Config(s));
        if self.window == 0 || self.window > WINDOW_MAX {
            return bad(format!(
                "window must be 1 to {WINDOW_MAX}, not {}",
                self.window
            ));
        }
        if self.receipt_interval_ms == 0 || self.receipt_timeout_ms == 0 {
            return bad("receipt_interval_ms and receipt_timeout_ms must be above 0".to_owned());
        }
        if self.republish_after_ms == 0 {
            return bad("republish_after_ms must be above 0".to_owned());
        }
        if self.outbox_events_max == 0 {
            return bad("outbox_events_max must be above 0".to_owned());
        }
        if self.nats_url.trim().is_empty() {
            return bad("the NATS URL is empty".to_owned());
        }
        Ok(())
    }
}

/// Where events come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// One file: CSV if its name ends in `.csv`, JSONL otherwise.
    File(PathBuf),
    /// One export of a trust's own system, read through a mapping (docs/FEEDS.md).
    Mapped {
        path: PathBuf,
        feed: Arc<mapping::MappedFeed>,
    },
    /// Standard input: JSONL, or CSV when the first byte is not `{`.
    Stdin,
    /// A directory polled every `poll_ms` for new `*.jsonl`, `*.ndjson` and `*.csv` files, and
    /// files a pattern of `feeds` matches (read through its mapping); runs until shutdown.
    Watch {
        dir: PathBuf,
        poll_ms: u64,
        feeds: mapping::FeedMaps,
    },
}

/// A snapshot for the CLI's progress line; counts are for this run, `pending` for the outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Records read (valid or not).
    pub read: u64,
    pub rejected_locally: u64,
    /// Events written to the outbox.
    pub queued: u64,
    /// Publishes JetStream acknowledged (re-publishes included).
    pub published: u64,
    /// Of `published`, re-publishes of events the ledger did not have.
    pub republished: u64,
    /// Events the ledger confirmed appended (they left the outbox).
    pub confirmed: u64,
    /// Events the ledger rejected for good (moved to the outbox's rejected list).
    pub dead_lettered: u64,
    /// Events in the outbox now, from this run or earlier ones.
    pub pending: u64,
    /// Of `pending`, events whose publish the NATS server refused this run (permissions).
    pub refused: u64,
    pub nats_connected: bool,
    /// What the collector is waiting for, when it is not simply busy: NATS unreachable,
    /// publishes failing, the outbox full, or no ledger answering receipts.
    pub note: Option<String>,
}

/// Why [`collect`] returned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CollectOutcome {
    /// All input read and every event confirmed (or dead-lettered) by the ledger.
    #[default]
    AllConfirmed,
    /// `wait_for_receipts_ms` elapsed with events still pending; they stay in the outbox.
    ReceiptWaitElapsed,
    /// All input read and every event confirmed, except events the NATS server refused to let
    /// these credentials publish: nothing more can happen to them in this run.
    SomeRefused,
    /// The shutdown future completed.
    Shutdown,
}

/// Events of one subject the NATS server refused to let these credentials publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedSubject {
    pub subject: String,
    /// The server's words, e.g. `Permissions Violation for Publish to "golive.events.RF4.outage"`.
    pub reason: String,
    pub events: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectSummary {
    pub read: u64,
    pub rejected_locally: u64,
    pub queued: u64,
    /// Valid events whose event_id was already in the outbox with the same content: skipped.
    pub already_queued: u64,
    pub published: u64,
    pub republished: u64,
    pub confirmed: u64,
    pub dead_lettered: u64,
    /// Events left in the outbox (published again by the next run).
    pub pending_at_exit: u64,
    /// Of those, events the NATS server refused to let these credentials publish.
    pub refused: u64,
    /// The refused subjects, with the server's reason and how many events each.
    pub refused_subjects: Vec<RefusedSubject>,
    /// The first [`REJECTIONS_KEPT_MAX`] local rejections, in input order.
    pub rejections: Vec<LocalRejection>,
    pub outcome: CollectOutcome,
}

/// Runs a collector: reads `input` into the outbox, publishes, and follows receipts.
///
/// File and stdin input: returns once everything is read and every event confirmed, or when
/// `wait_for_receipts_ms` has elapsed after reading (`pending_at_exit > 0`). Watch input: runs
/// until `shutdown` completes. On shutdown reading stops and pending events stay in the outbox.
/// Events left in the outbox by an earlier run are published (or asked about) first.
///
/// `progress` is called about every 100 ms and once at the end. Errors are configuration,
/// input or outbox failures; NATS and the ledger being away are not errors.
pub async fn collect(
    config: CollectorConfig,
    input: Input,
    progress: impl FnMut(&Progress) + Send,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<CollectSummary, CollectError> {
    config.validate()?;
    // Open the input first: a typo in a path should fail before anything else happens.
    let file = match &input {
        Input::File(path) | Input::Mapped { path, .. } => Some(std::fs::File::open(path).map_err(
            |error| CollectError::Read {
                source_name: path.display().to_string(),
                error,
            },
        )?),
        Input::Watch { dir, .. } => {
            std::fs::read_dir(dir).map_err(|error| CollectError::Read {
                source_name: dir.display().to_string(),
                error,
            })?;
            None
        }
        Input::Stdin => None,
    };
    let outbox_dir = config.outbox_dir.clone();
    let outbox = tokio::task::spawn_blocking(move || outbox::Outbox::open(&outbox_dir))
        .await
        .map_err(|e| CollectError::Config(format!("outbox open task failed: {e}")))??;

    let (news_tx, news_rx) = mpsc::channel(64);
    let (client, link_error) = connect(&config, news_tx).await?;

    let (items_tx, items_rx) = mpsc::channel(input::READ_CHANNEL_CAPACITY);
    let stop_when_done = !matches!(input, Input::Watch { .. });
    match input {
        Input::File(path) => {
            let file = file.expect("opened above");
            input::spawn_file(path, file, mapping::FeedMaps::default(), items_tx);
        }
        Input::Mapped { path, feed } => {
            let feeds = mapping::FeedMaps {
                by_pattern: vec![("*".to_owned(), feed)],
            };
            input::spawn_file(path, file.expect("opened above"), feeds, items_tx);
        }
        Input::Stdin => input::spawn_stdin(items_tx),
        Input::Watch {
            dir,
            poll_ms,
            feeds,
        } => input::spawn_watch(dir, poll_ms, feeds, outbox.clone(), items_tx),
    }
    tracing::info!(
        url = %config.nats_url,
        outbox = %config.outbox_dir.display(),
        window = config.window,
        "collector started"
    );
    driver::Driver::new(config, outbox, client, link_error, stop_when_done, progress)?
        .run(items_rx, news_rx, shutdown)
        .await
}

/// Connects: one attempt first, so that credentials the server refuses end the run with one
/// clear error instead of a collector that waits forever; if NATS is merely unreachable,
/// connects in the background (`retry_on_initial_connect`), so the collector starts and buffers
/// while NATS is down. Reconnects use the same 100 ms to 5 s backoff, forever. Returns the
/// client and, when the first attempt failed, why.
async fn connect(
    config: &CollectorConfig,
    news: mpsc::Sender<driver::NatsNews>,
) -> Result<(async_nats::Client, Option<String>), CollectError> {
    let first = options(config, news.clone(), false)
        .await?
        .connect(golive_model::protocol::server_urls(&config.nats_url))
        .await;
    let error = match first {
        Ok(client) => return Ok((client, None)),
        Err(e) => e,
    };
    match error.kind() {
        async_nats::ConnectErrorKind::AuthorizationViolation
        | async_nats::ConnectErrorKind::Authentication => {
            return Err(credentials_refused(config));
        }
        async_nats::ConnectErrorKind::ServerParse | async_nats::ConnectErrorKind::Dns => {
            return Err(CollectError::NatsUrl {
                url: config.nats_url.clone(),
                reason: error.to_string(),
            });
        }
        _ if golive_model::protocol::is_tls_failure(&error.to_string()) => {
            return Err(CollectError::NatsTls {
                url: config.nats_url.clone(),
                reason: error.to_string(),
                hint: config.tls.hint(),
            });
        }
        _ => {}
    }
    let client = options(config, news, true)
        .await?
        .connect(golive_model::protocol::server_urls(&config.nats_url))
        .await
        .map_err(|e| CollectError::NatsUrl {
            url: config.nats_url.clone(),
            reason: e.to_string(),
        })?;
    Ok((client, Some(error.to_string())))
}

/// The error for credentials the server refused, naming them and the flag to check.
pub(crate) fn credentials_refused(config: &CollectorConfig) -> CollectError {
    let (who, hint) = golive_model::protocol::refused_identity(
        config.nkey.as_ref().map(|kp| kp.public_key()),
        config.credentials.as_deref(),
    );
    CollectError::NatsRefused {
        url: config.nats_url.clone(),
        who,
        hint,
    }
}

/// The collector's connect options; `retry` connects in the background.
async fn options(
    config: &CollectorConfig,
    news: mpsc::Sender<driver::NatsNews>,
    retry: bool,
) -> Result<async_nats::ConnectOptions, CollectError> {
    let mut options = async_nats::ConnectOptions::new();
    if let Some(path) = &config.credentials {
        options =
            options
                .credentials_file(path)
                .await
                .map_err(|source| CollectError::Credentials {
                    path: path.clone(),
                    source,
                })?;
    }
    if let Some(kp) = &config.nkey {
        let seed = kp.seed().map_err(|e| CollectError::Credentials {
            path: PathBuf::from("--nkey"),
            source: std::io::Error::other(e.to_string()),
        })?;
        options = options
            .nkey(seed)
            .custom_inbox_prefix(golive_model::protocol::user_inbox_prefix(&kp.public_key()));
    }
    if let Some(ca) = &config.tls.ca {
        options = options.add_root_certificates(ca.clone());
    }
    if let Some((cert, key)) = &config.tls.client {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    // With any TLS option a server without TLS is refused, never talked to in clear.
    options = options.require_tls(config.tls.required());
    if retry {
        options = options.retry_on_initial_connect();
    }
    let delay_news = news.clone();
    Ok(options
        .name("golive-collector")
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .ping_interval(Duration::from_secs(10))
        .reconnect_delay_callback(move |attempt| {
            let delay = Backoff::delay_of_attempt(attempt);
            let _ = delay_news.try_send(driver::NatsNews::ReconnectAt(Instant::now() + delay));
            delay
        })
        .event_callback(move |event| {
            let news = news.clone();
            async move {
                let _ = news.try_send(driver::NatsNews::Event(event));
            }
        }))
}

/// What is pending in an outbox, from the disk alone: works without NATS. Fails with
/// [`CollectError::OutboxLocked`] while a collector runs on the same directory.
pub fn outbox_status(outbox_dir: &Path) -> Result<OutboxStatus, CollectError> {
    outbox::Outbox::open_existing(outbox_dir)?.status()
}
