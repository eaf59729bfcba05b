//! `golive collect`: the trust side. Reads events, keeps each in a durable outbox, publishes
//! to NATS and forgets an event only once the ledger's receipt says it is appended. `--status`
//! shows the outbox without NATS.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use golive::config::Config;
use golive::{exit, render};
use golive_collector::mapping::{FeedMaps, MappedFeed, Mapping, TrustSecret, read_mapped};
use golive_collector::{CollectSummary, CollectorConfig, FeedFormat, FeedRecord, Input, Progress};

use super::{nkey, runtime, shutdown_signal_in};
use crate::cli::CollectArgs;
use crate::terminal;

pub fn run(config: &Config, args: CollectArgs) -> Result<ExitCode> {
    if args.status {
        let st = golive_collector::outbox_status(&config.data_dir)?;
        terminal::out(&if args.json {
            render::collect::outbox_status_json(&st)
        } else {
            render::collect::outbox_status(&st)
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let feeds = feeds(&args)?;
    if args.dry_run {
        return dry_run(args.input.as_deref(), &feeds, args.json);
    }
    let trust_signer = trust_signer(&args)?;
    let input = input(args.input, args.watch, feeds)?;
    let nkey = nkey(&args.nats)?;
    let cc = CollectorConfig {
        tls: args.nats.tls(),
        nats_url: args.nats.url,
        outbox_dir: config.data_dir.clone(),
        credentials: args.nats.creds,
        nkey,
        window: args.window.clamp(1, 65_536),
        republish_after_ms: args.republish_after_ms,
        receipt_interval_ms: 250,
        receipt_timeout_ms: 2_000,
        wait_for_receipts_ms: (args.wait_receipts_secs > 0)
            .then_some(args.wait_receipts_secs * 1_000),
        outbox_events_max: 1_000_000,
        trust_signer,
    };
    let rt = runtime()?;
    let stop = shutdown_signal_in(&rt);
    let latest = Arc::new(Mutex::new(Progress::default()));
    if let Some(addr) = args.metrics {
        rt.block_on(serve_metrics(addr, latest.clone()))?;
    }
    let summary = rt.block_on(golive_collector::collect(cc, input, reporter(latest), stop))?;
    if args.json {
        terminal::out(&render::collect::summary_json(&summary))?;
    } else {
        terminal::err(&render::collect::rejections(&summary));
        terminal::out(&render::collect::summary(&summary))?;
        terminal::err(&render::collect::refused_subjects(&summary));
    }
    Ok(ExitCode::from(exit_code(&summary)))
}

/// The trust key of `--trust-key`, read and checked now.
fn trust_signer(args: &CollectArgs) -> Result<Option<Arc<golive_verify::NoteSigner>>> {
    let Some(path) = &args.trust_key else {
        return Ok(None);
    };
    let signer = super::trust_key::read(path)?;
    tracing::info!(trust = signer.name(), key = %signer.verifier(), "signing events");
    Ok(Some(Arc::new(signer)))
}

/// What to read: a file (through its mapping, if --map gave one), stdin or a watched
/// directory.
fn input(input: Option<String>, watch: Option<PathBuf>, feeds: FeedMaps) -> Result<Input> {
    Ok(match (input, watch) {
        (_, Some(dir)) => Input::Watch {
            dir,
            poll_ms: 500,
            feeds,
        },
        (Some(i), None) if i == "-" => {
            if !feeds.is_empty() {
                bail!("--map reads a file, not stdin: give the export's path");
            }
            Input::Stdin
        }
        (Some(i), None) => match feeds.by_pattern.into_iter().next() {
            Some((_, feed)) => Input::Mapped {
                path: PathBuf::from(i),
                feed,
            },
            None => Input::File(PathBuf::from(i)),
        },
        (None, None) => bail!("give an input file, `-` for stdin, or --watch DIR"),
    })
}

/// The mappings of `--map` (checked now: a mistake is refused before anything starts), with
/// the trust secret of `--trust-secret`. For a file, one `MAPPING`; with --watch, any number of
/// `PATTERN=MAPPING` (a bare `MAPPING` there means `*.csv=MAPPING`).
fn feeds(args: &CollectArgs) -> Result<FeedMaps> {
    if args.map.is_empty() {
        return Ok(FeedMaps::default());
    }
    let secret = args
        .trust_secret
        .as_deref()
        .map(TrustSecret::read)
        .transpose()?;
    if args.watch.is_none() && args.map.len() > 1 {
        bail!("one --map for one input file (several PATTERN=MAPPING go with --watch)");
    }
    let mut by_pattern = Vec::new();
    for m in &args.map {
        let (pattern, file) = match (args.watch.is_some(), m.split_once('=')) {
            (true, Some((p, f))) => (p.to_owned(), f),
            (true, None) => ("*.csv".to_owned(), m.as_str()),
            (false, _) => ("*".to_owned(), m.as_str()),
        };
        by_pattern.push((
            pattern,
            Arc::new(load_mapping(Path::new(file), secret.clone())?),
        ));
    }
    Ok(FeedMaps { by_pattern })
}

/// Reads and checks one mapping file.
fn load_mapping(path: &Path, secret: Option<TrustSecret>) -> Result<MappedFeed> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the feed mapping {name}"))?;
    let mapping = Mapping::parse(&name, &text)
        .with_context(|| format!("the feed mapping {name} is refused"))?;
    MappedFeed::new(mapping, &name, secret)
        .with_context(|| format!("the feed mapping {name} is refused"))
}

/// `--dry-run`: reads the file as a run would and prints each event or rejection; nothing is
/// published, no outbox is opened, no NATS is needed.
fn dry_run(input: Option<&str>, feeds: &FeedMaps, json: bool) -> Result<ExitCode> {
    let Some(path) = input.filter(|i| *i != "-") else {
        bail!("--dry-run reads a file: give its path");
    };
    let path = Path::new(path);
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let reader = BufReader::with_capacity(256 * 1024, file);
    let source = path.display().to_string();
    let mut records: Vec<FeedRecord> = Vec::new();
    let mut emit = |r: FeedRecord| {
        records.push(r);
        std::ops::ControlFlow::Continue(())
    };
    let counts = match feeds.by_pattern.first() {
        Some((_, feed)) => {
            let context = golive_collector::file_context(path);
            read_mapped(reader, &source, feed, &context, &mut emit)
        }
        None => {
            golive_collector::feed::read_feed(FeedFormat::of_path(path), reader, &source, &mut emit)
        }
    }
    .with_context(|| format!("cannot read {}", path.display()))?;
    terminal::out(&if json {
        render::collect::dry_run_json(&records, &counts)
    } else {
        render::collect::dry_run(&source, &records, &counts)
    })?;
    Ok(ExitCode::from(if counts.rejected > 0 {
        exit::REJECTED
    } else {
        exit::OK
    }))
}

/// `golive collect --check-config`: the input named and the NKey file readable; nothing is
/// opened or connected.
pub fn check_only(config: &Config, args: &CollectArgs) -> Result<ExitCode> {
    if !args.status {
        input(args.input.clone(), args.watch.clone(), feeds(args)?)?;
        nkey(&args.nats)?;
        trust_signer(args)?;
    }
    terminal::err(&render::collect::config_ok(&config.data_dir));
    Ok(ExitCode::SUCCESS)
}

/// `--metrics ADDR`: listens now and serves [`golive::collector_metrics`] of the latest
/// progress report in the background, until the runtime is dropped at the end of the run.
async fn serve_metrics(addr: std::net::SocketAddr, latest: Arc<Mutex<Progress>>) -> Result<()> {
    use axum::http::header;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for metrics on {addr} (--metrics)"))?;
    let bound = listener.local_addr().unwrap_or(addr);
    terminal::err(&render::collect::metrics_listening(bound));
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let p = latest.lock().unwrap_or_else(|e| e.into_inner()).clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    golive::collector_metrics::render(&p),
                )
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics server ended");
        }
    });
    Ok(())
}

/// Keeps the spinner's line up to date, and says each change of the collector's note once
/// on stderr (also when stderr is not a terminal, where the spinner is hidden); `latest` keeps
/// the last report for `--metrics`.
fn reporter(latest: Arc<Mutex<Progress>>) -> impl FnMut(&Progress) + Send {
    let bar = terminal::spinner("collect");
    let mut last_note: Option<String> = None;
    move |p: &Progress| {
        latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone_from(p);
        bar.set_message(render::collect::progress(p));
        bar.tick();
        if p.note != last_note {
            if let Some(n) = &p.note {
                terminal::err(&render::collect::note(n));
            }
            last_note = p.note.clone();
        }
    }
}

/// The exit code: refused events first (nothing more can happen to them this run), then
/// unconfirmed ones (with the note that says they will be re-sent), then local rejections.
fn exit_code(summary: &CollectSummary) -> u8 {
    if summary.refused > 0 {
        exit::REFUSED
    } else if summary.pending_at_exit > 0 {
        terminal::err(&render::collect::still_pending());
        exit::PENDING
    } else if summary.rejected_locally > 0 {
        exit::REJECTED
    } else {
        exit::OK
    }
}
