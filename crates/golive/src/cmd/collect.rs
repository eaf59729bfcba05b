//! `golive collect`: the trust side. Reads events, keeps each in a durable outbox, publishes
//! to NATS and forgets an event only once the ledger's receipt says it is appended. `--status`
//! shows the outbox without NATS.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use golive::config::Config;
use golive::{exit, render};
use golive_collector::{CollectSummary, CollectorConfig, Input, Progress};

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
    let input = input(args.input, args.watch)?;
    let nkey = nkey(&args.nats)?;
    let cc = CollectorConfig {
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

/// What to read: a file, stdin or a watched directory.
fn input(input: Option<String>, watch: Option<PathBuf>) -> Result<Input> {
    Ok(match (input, watch) {
        (_, Some(dir)) => Input::Watch { dir, poll_ms: 500 },
        (Some(i), None) if i == "-" => Input::Stdin,
        (Some(i), None) => Input::File(PathBuf::from(i)),
        (None, None) => anyhow::bail!("give an input file, `-` for stdin, or --watch DIR"),
    })
}

/// `golive collect --check-config`: the input named and the NKey file readable; nothing is
/// opened or connected.
pub fn check_only(config: &Config, args: &CollectArgs) -> Result<ExitCode> {
    if !args.status {
        input(args.input.clone(), args.watch.clone())?;
        nkey(&args.nats)?;
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
