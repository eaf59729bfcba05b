//! `golive serve`: the ledger service. Consumes the JetStream stream, appends each event once,
//! answers receipts, and serves the HTTP API and dashboard, until SIGINT/SIGTERM or until the
//! consumer loop ends (then the HTTP server stops with it, or the process would never exit).
//! Under systemd (`Type=notify`) it says READY=1 once consuming, pings the watchdog while the
//! ledger answers, and STOPPING=1 on the way out (`golive::sdnotify`).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use golive::config::Config;
use golive::render;
use golive::sdnotify::{self, Notifier};
use golive_ledger::{Ledger, Readiness};
use golive_service::{ServeConfig, ServeSummary, StreamSettings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{nkey, open_ledger, runtime, shutdown_signal_in};
use crate::cli::ServeArgs;
use crate::terminal;

/// Where `golive serve` listens for HTTP when `--http` is not given.
const DEFAULT_HTTP: &str = "127.0.0.1:8080";

/// What `golive serve` checks before it opens anything: the same for a run and for
/// `--check-config`.
struct Checked {
    replicas: usize,
    http_addr: Option<SocketAddr>,
    /// `--http` was given.
    explicit: bool,
    nkey: Option<Arc<nkeys::KeyPair>>,
    tls: Option<golive_http::tls::TlsConfig>,
}

fn check(config: &Config, args: &ServeArgs) -> Result<Checked> {
    let http_addr = http_addr(args.http.clone())?;
    if let Some(addr) = http_addr {
        refuse_open_api(config, addr)?;
    }
    let tls = match &config.http.tls {
        Some((cert, key)) => Some(golive_http::tls::load(cert, key)?),
        None => None,
    };
    Ok(Checked {
        replicas: args.stream_replicas.unwrap_or(config.stream_replicas),
        http_addr,
        explicit: args.http.is_some(),
        nkey: nkey(&args.nats)?,
        tls,
    })
}

/// `golive serve --check-config`: every check a start makes before it opens the store, and
/// the signing key if it exists (a missing one is created at start); nothing is opened,
/// created or listened on.
pub fn check_only(config: &Config, args: &ServeArgs) -> Result<ExitCode> {
    let c = check(config, args)?;
    let key = config.signing_key_file(&config.data_dir);
    if key.exists() {
        golive_ledger::signing::load_or_create_key_at(&key, &config.audit_origin)?;
    }
    terminal::err(&render::serve::config_ok(
        &config.data_dir,
        c.http_addr,
        config.http.auth.is_open(),
        c.replicas,
    ));
    Ok(ExitCode::SUCCESS)
}

pub fn run(config: &Config, args: ServeArgs) -> Result<ExitCode> {
    let Checked {
        replicas,
        http_addr,
        explicit,
        nkey,
        tls,
    } = check(config, &args)?;
    let rt = runtime()?;
    let stop = shutdown_signal_in(&rt);
    let ledger = match open_ledger(config) {
        Ok(ledger) => ledger,
        Err(e) => match http_addr.filter(|_| args.stay_up_when_refused) {
            Some(addr) => return rt.block_on(stay_up_refused(e, addr, tls, config, stop)),
            None => return Err(e),
        },
    };
    terminal::err(&render::serve::started(
        &config.data_dir,
        ledger.head().seq,
        &args.nats.url,
    ));
    let ledger = Arc::new(Mutex::new(ledger));
    // One set of counters: the consumer loop counts into it, `/metrics` renders it.
    let metrics = Arc::new(golive_ledger::Metrics::new());
    // One readiness: the consumer loop says how NATS and it stand, `/readyz` answers from it.
    let readiness = Arc::new(Readiness::new(config.http.ready_lag_max_messages));
    readiness.set_store_open(true);
    let sc = ServeConfig {
        metrics: metrics.clone(),
        readiness: readiness.clone(),
        ..consumer_config(config, args, replicas, nkey)
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    if http_addr.is_some() {
        golive_ledger::spawn_money_history_build(ledger.clone(), metrics.clone())
            .context("cannot start the money history's thread")?;
    }
    let state = app_state(config, &ledger, metrics, readiness.clone());
    let http = http_addr.map(|addr| Http {
        addr,
        explicit,
        scheme,
        open: config.http.auth.is_open(),
        data_dir: config.data_dir.clone(),
        serve: move |listener: TcpListener, stop: watch::Receiver<bool>| async move {
            match tls {
                Some(t) => {
                    golive_http::tls::serve_tls_on(listener, state, t, until_stopped(stop)).await
                }
                None => golive_http::serve_on(listener, state, until_stopped(stop)).await,
            }
        },
    });
    let systemd = Systemd {
        notifier: Notifier::from_env(),
        readiness,
        ledger: ledger.clone(),
    };
    let summary = rt.block_on(serve_until_stopped(ledger.clone(), sc, http, systemd, stop))?;
    let head = ledger
        .lock()
        .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?
        .head();
    terminal::err(&render::serve::stopped(&summary, &head));
    Ok(ExitCode::SUCCESS)
}

/// What the consumer loop connects with and how it appends (its counters and readiness are
/// the caller's to share).
fn consumer_config(
    config: &Config,
    args: ServeArgs,
    replicas: usize,
    nkey: Option<Arc<nkeys::KeyPair>>,
) -> ServeConfig {
    ServeConfig {
        tls: args.nats.tls(),
        nats_url: args.nats.url,
        credentials: args.nats.creds,
        nkey,
        consumer: args.consumer,
        batch_events_max: config.batch_events_max,
        stream: StreamSettings {
            replicas,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The HTTP API's state over `ledger`: counting into `metrics` (the consumer loop's too),
/// answering `/readyz` from `readiness`, with the configured rules and tokens.
fn app_state(
    config: &Config,
    ledger: &Arc<Mutex<Ledger>>,
    metrics: Arc<golive_ledger::Metrics>,
    readiness: Arc<Readiness>,
) -> golive_http::AppState {
    golive_http::AppState::new(ledger.clone(), Arc::new(config.rules.clone()))
        .with_metrics(metrics)
        .with_readiness(readiness)
        .with_claim_rules(config.claim_rules.clone())
        .with_tariffs(config.tariffs.clone())
        .with_auth(config.http.auth.clone())
        .with_limits(config.http.limits)
}

/// The address of `--http` (default [`DEFAULT_HTTP`]); `None` for `off`.
fn http_addr(flag: Option<String>) -> Result<Option<SocketAddr>> {
    let http = flag.unwrap_or_else(|| DEFAULT_HTTP.to_owned());
    if http == "off" {
        return Ok(None);
    }
    Ok(Some(http.parse().with_context(|| {
        format!("--http {http}: expected ADDRESS:PORT such as 127.0.0.1:8080, or off")
    })?))
}

/// An API without tokens is served only on loopback, unless the configuration says a proxy
/// in front checks access.
fn refuse_open_api(config: &Config, addr: SocketAddr) -> Result<()> {
    if config.http.auth.is_open() && !addr.ip().is_loopback() && !config.http.allow_open {
        anyhow::bail!(
            "refusing to serve the API without tokens on {addr}, which is not a loopback address: add [[http.tokens]] to the config (see `golive token NAME --role ROLE --append-to FILE`), or set http.allow_open = true if a proxy in front checks access"
        );
    }
    Ok(())
}

/// `--stay-up-when-refused`: says why the store was refused, then answers on `addr` with
/// [`golive_http::refused`] until stopped; exits 1.
async fn stay_up_refused(
    error: anyhow::Error,
    addr: SocketAddr,
    tls: Option<golive_http::tls::TlsConfig>,
    config: &Config,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<ExitCode> {
    let reason = format!("{error:#}");
    terminal::err(&format!("error: {reason}\n"));
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for HTTP on {addr} (--http)"))?;
    let bound = listener.local_addr().unwrap_or(addr);
    let scheme = if tls.is_some() { "https" } else { "http" };
    terminal::err(&render::serve::refused_staying_up(scheme, bound));
    let app = golive_http::refused::router(config.http.auth.clone(), reason);
    match tls {
        Some(t) => golive_http::tls::serve_app_tls_on(listener, app, t, stop).await?,
        None => golive_http::refused::serve_on(listener, app, stop).await?,
    }
    Ok(ExitCode::FAILURE)
}

/// Completes once `true` is sent on the stop channel (or it is closed).
async fn until_stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// The HTTP side: where to listen and how to serve once listening.
struct Http<F> {
    addr: SocketAddr,
    /// `--http` was given: failing to listen is an error, not a note.
    explicit: bool,
    scheme: &'static str,
    /// No tokens configured.
    open: bool,
    /// Where to announce the address (`golive::serving`).
    data_dir: PathBuf,
    /// Serves the API on the listener until the stop channel says so.
    serve: F,
}

/// Runs the consumer loop, and the HTTP server if any, until `stop` (a signal) or until the
/// loop ends by itself (e.g. a stream with other settings); then stops the HTTP server too.
async fn serve_until_stopped<F, Fut>(
    ledger: Arc<Mutex<Ledger>>,
    sc: ServeConfig,
    http: Option<Http<F>>,
    systemd: Systemd,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<ServeSummary>
where
    F: FnOnce(TcpListener, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let on_signal = stop_tx.clone();
    tokio::spawn(async move {
        stop.await;
        let _ = on_signal.send(true);
    });
    let http = match http {
        Some(h) => start_http(h, stop_rx.clone()).await?,
        None => None,
    };
    let notifying = tokio::spawn(systemd.run(stop_rx.clone()));
    let summary = golive_service::serve(ledger, sc, until_stopped(stop_rx)).await;
    let _ = stop_tx.send(true);
    let _ = notifying.await;
    if let Some(h) = http {
        match h.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server ended with an error"),
            Err(e) => tracing::warn!(error = %e, "HTTP server task failed"),
            Ok(Ok(())) => {}
        }
    }
    Ok(summary?)
}

/// Listens and starts serving HTTP, announcing the address beside the store while it serves.
/// The default address being taken is only a note; an address given with `--http` is an error.
async fn start_http<F, Fut>(
    h: Http<F>,
    stop: watch::Receiver<bool>,
) -> Result<Option<JoinHandle<std::io::Result<()>>>>
where
    F: FnOnce(TcpListener, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let listener = match TcpListener::bind(h.addr).await {
        Ok(listener) => listener,
        Err(e) if h.explicit => {
            anyhow::bail!(
                "cannot listen for HTTP on {} (--http): {e}; choose another address or --http off",
                h.addr
            );
        }
        Err(e) => {
            terminal::err(&render::serve::http_default_unavailable(h.addr, &e));
            return Ok(None);
        }
    };
    let bound = listener.local_addr().unwrap_or(h.addr);
    terminal::err(&render::serve::http_listening(h.scheme, bound, h.open));
    let announced = golive::serving::announce(&h.data_dir, &format!("{}://{bound}", h.scheme));
    let served = (h.serve)(listener, stop);
    Ok(Some(tokio::spawn(async move {
        let r = served.await;
        drop(announced);
        r
    })))
}

/// How often the READY=1 notification looks whether the consumer loop runs yet.
const READY_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// What systemd is told (`Type=notify`, `WatchdogSec=`): READY=1 once the consumer loop
/// consumes (the ledger is open and serving HTTP by then), WATCHDOG=1 at half the watchdog's
/// timeout while the ledger's lock can be taken (a ledger stuck inside a write stops the pings,
/// and systemd restarts it), STOPPING=1 when it stops. Nothing without `$NOTIFY_SOCKET`.
struct Systemd {
    notifier: Notifier,
    readiness: Arc<Readiness>,
    ledger: Arc<Mutex<Ledger>>,
}

impl Systemd {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        if !self.notifier.enabled() {
            return;
        }
        while !self.readiness.consuming() {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return self.say("STOPPING=1"),
                _ = tokio::time::sleep(READY_POLL) => {}
            }
        }
        self.say("READY=1\nSTATUS=consuming the stream GOLIVE");
        if let Some(every) = sdnotify::watchdog_interval() {
            self.watchdog(every, &mut stop).await;
        } else {
            let _ = stop.wait_for(|s| *s).await;
        }
        self.say("STOPPING=1");
    }

    /// Pings every `every` until `stop`, while the previous probe of the ledger's lock came
    /// back (a probe still waiting means the ledger is stuck: no ping).
    async fn watchdog(&self, every: std::time::Duration, stop: &mut watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(every);
        let mut probe: Option<JoinHandle<()>> = None;
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tick.tick() => {}
            }
            if probe.as_ref().is_some_and(|p| !p.is_finished()) {
                tracing::warn!(
                    "the ledger's lock has not been free for a watchdog interval; not pinging systemd's watchdog"
                );
                continue;
            }
            self.say("WATCHDOG=1");
            let ledger = self.ledger.clone();
            probe = Some(tokio::task::spawn_blocking(move || {
                drop(ledger.lock());
            }));
        }
    }

    fn say(&self, state: &str) {
        if let Err(e) = self.notifier.notify(state) {
            tracing::warn!(error = %e, state, "cannot notify systemd");
        }
    }
}
