//! `golive demo`: the whole pipeline on one machine. NATS (found at `NATS_URL`, or started from
//! PATH on a free port with a temporary store), the ledger, one collector per trust of the London
//! 2008 scenario, and a simulated live feed that keeps publishing; the projections are printed
//! as they change, and the live dashboard is served on 127.0.0.1:8080 (or a free port).
//!
//! This file sets the stage (directories, NATS, the ledger, tokens) and runs the tour;
//! `feed.rs` holds the collectors and the live feed.

mod feed;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use golive::config::Config;
use golive::natsproc::{self, OwnNats};
use golive::render;
use golive::render::demo::DashboardAccess;
use golive_ledger::Ledger;
use golive_service::{ServeConfig, serve};
use tokio::sync::watch;

use crate::cli::DemoArgs;
use crate::terminal;

/// The London 2008 scenario, shipped inside the binary so the demo needs no checkout.
pub const LONDON_2008: &str = include_str!("../../../../../scenarios/london-2008.jsonl");

/// How long the ledger gets to provision the stream before collectors publish.
const STREAM_SETUP_MS: u64 = 800;
/// How long open browser connections may hold the demo's end.
const HTTP_DRAIN_SECS: u64 = 3;

/// Runs the demo in a new scratch directory; the ledger goes there too unless `--data` (or
/// `GOLIVE_DATA`, or the config file) named one: `data_given`.
pub fn run(mut config: Config, data_given: bool, args: DemoArgs) -> Result<ExitCode> {
    let live_events_per_s = args.live_events_per_s.clamp(1, 10_000);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let work = std::env::temp_dir().join(format!("golive-demo-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    if !data_given {
        config.data_dir = work.join("ledger");
    }
    terminal::out(&render::demo::intro())?;
    let (url, _own) = nats(&work)?;
    terminal::out(&render::demo::ledger_dir(&config.data_dir))?;
    let stage = Stage::open(&mut config, url, work)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(stage.tour(&config, args.duration_secs, live_events_per_s))?;
    let l = stage.lock()?;
    terminal::out(&render::demo::snapshot(
        l.head().seq,
        l.projections(),
        &config.rules,
    ))?;
    terminal::out(&render::demo::try_next(&config.data_dir))?;
    Ok(ExitCode::SUCCESS)
}

/// The NATS server to use: `NATS_URL` if it answers, else a private nats-server (kept running
/// while the returned handle lives).
fn nats(work: &Path) -> Result<(String, Option<OwnNats>)> {
    let env_url = std::env::var("NATS_URL").ok().filter(|u| !u.is_empty());
    match env_url {
        Some(u) if natsproc::answers(&u) => {
            terminal::out(&render::demo::nats_from_env(&u))?;
            Ok((u, None))
        }
        other => {
            if let Some(u) = other {
                terminal::out(&render::demo::nats_env_unanswered(&u))?;
            }
            let own = natsproc::start(work)?;
            terminal::out(&render::demo::nats_started(&own.url, &own.store))?;
            Ok((own.url.clone(), Some(own)))
        }
    }
}

/// What the tour runs on: the ledger, how to reach it, and the scratch directory.
struct Stage {
    ledger: Arc<Mutex<Ledger>>,
    nats_url: String,
    work: PathBuf,
    tokens: DemoTokens,
    /// The ledger's verifier key, for auditors.
    pubkey: String,
}

impl Stage {
    /// Opens the ledger with signed checkpoints, as `golive serve` does, so the demo's history
    /// can be audited; signs more often than a production ledger, since a demo lasts minutes.
    fn open(config: &mut Config, nats_url: String, work: PathBuf) -> Result<Self> {
        let mut ledger = Ledger::open(&config.data_dir, config.ledger)
            .with_context(|| format!("cannot open the ledger in {}", config.data_dir.display()))?;
        let key =
            golive_ledger::signing::load_or_create_key(&config.data_dir, &config.audit_origin)?;
        let pubkey = key.verifier().to_string();
        // The API needs tokens, as it would in production: one per role, made for this run.
        let tokens = DemoTokens::new()?;
        config.audit.checkpoint_every_events = config.audit.checkpoint_every_events.min(100);
        config.audit.checkpoint_every_secs = config.audit.checkpoint_every_secs.min(10);
        ledger.enable_checkpoint_signing(golive_ledger::signing::CheckpointSigner::new(
            key,
            config.audit,
            ledger.store(),
        )?);
        Ok(Self {
            ledger: Arc::new(Mutex::new(ledger)),
            nats_url,
            work,
            tokens,
            pubkey,
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Ledger>> {
        self.ledger
            .lock()
            .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))
    }

    /// The ledger service and the dashboard, the London collectors, then the live feed until
    /// Ctrl-C or `duration_secs`; then everything stops and the ledger's summary is printed.
    async fn tour(
        &self,
        config: &Config,
        duration_secs: Option<u64>,
        live_events_per_s: u64,
    ) -> Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let metrics = Arc::new(golive_ledger::Metrics::new());
        let readiness = Arc::new(golive_ledger::Readiness::new(
            config.http.ready_lag_max_messages,
        ));
        readiness.set_store_open(true);
        let sc = ServeConfig {
            nats_url: self.nats_url.clone(),
            batch_events_max: config.batch_events_max,
            metrics: metrics.clone(),
            readiness: readiness.clone(),
            ..Default::default()
        };
        let server = tokio::spawn(serve(
            self.ledger.clone(),
            sc,
            feed::until_stopped(stop_rx.clone()),
        ));
        let http = self
            .dashboard(config, metrics, readiness, stop_rx.clone())
            .await?;
        tokio::time::sleep(Duration::from_millis(STREAM_SETUP_MS)).await;
        let feeds = feed::Feeds {
            nats_url: &self.nats_url,
            work: &self.work,
            stop: stop_rx,
        };
        feeds.london().await?;
        {
            let l = self.lock()?;
            terminal::out(&render::demo::london_appended(
                l.head().seq,
                l.projections(),
                &config.rules,
            ))?;
        }
        let (live, dir) = feeds.start_live(live_events_per_s)?;
        feed::feed_live(&self.ledger, config, &dir, duration_secs, live_events_per_s).await?;
        let _ = stop_tx.send(true);
        let _ = live.await;
        if let Some(h) = http {
            // Open browser connections must not keep the demo from ending.
            let _ = tokio::time::timeout(Duration::from_secs(HTTP_DRAIN_SECS), h).await;
        }
        let stopped = server.await?;
        terminal::out(&render::demo::ledger_stopped(&stopped))?;
        Ok(())
    }

    /// The dashboard and the API, so the scenario can be watched arriving in a browser; `None`
    /// (and a note) when there is no address to listen on.
    async fn dashboard(
        &self,
        config: &Config,
        metrics: Arc<golive_ledger::Metrics>,
        readiness: Arc<golive_ledger::Readiness>,
        stop: watch::Receiver<bool>,
    ) -> Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>> {
        let listener = match demo_listener().await {
            Ok(listener) => listener,
            Err(e) => {
                terminal::out(&render::demo::no_dashboard(&e))?;
                return Ok(None);
            }
        };
        let addr = listener.local_addr()?;
        terminal::out(&render::demo::dashboard(&DashboardAccess {
            addr,
            analyst_token: &self.tokens.analyst,
            auditor_token: &self.tokens.auditor,
            admin_token: &self.tokens.admin,
            pubkey: &self.pubkey,
        }))?;
        let announced = golive::serving::announce(&config.data_dir, &format!("http://{addr}"));
        golive_ledger::spawn_money_history_build(self.ledger.clone(), metrics.clone())?;
        let state = golive_http::AppState::new(self.ledger.clone(), Arc::new(config.rules.clone()))
            .with_metrics(metrics)
            .with_readiness(readiness)
            .with_claim_rules(config.claim_rules.clone())
            .with_tariffs(config.tariffs.clone())
            .with_auth(self.tokens.auth()?)
            .with_limits(config.http.limits);
        let served = golive_http::serve_on(listener, state, feed::until_stopped(stop));
        Ok(Some(tokio::spawn(async move {
            let r = served.await;
            drop(announced);
            r
        })))
    }
}

/// Where the demo serves the dashboard: `GOLIVE_HTTP` if set, else 127.0.0.1:8080, else (when
/// 8080 is taken) a free loopback port.
async fn demo_listener() -> std::io::Result<tokio::net::TcpListener> {
    if let Some(addr) = std::env::var("GOLIVE_HTTP").ok().filter(|a| !a.is_empty()) {
        return tokio::net::TcpListener::bind(addr).await;
    }
    match tokio::net::TcpListener::bind("127.0.0.1:8080").await {
        Ok(l) => Ok(l),
        Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await,
    }
}

/// One bearer token per role, made for one demo run (not stored anywhere).
struct DemoTokens {
    analyst: String,
    auditor: String,
    admin: String,
}

impl DemoTokens {
    fn new() -> Result<Self> {
        let t = || golive_http::auth::new_token().context("cannot draw randomness for a token");
        Ok(Self {
            analyst: t()?,
            auditor: t()?,
            admin: t()?,
        })
    }

    fn auth(&self) -> Result<golive_http::Auth> {
        use golive_http::{Role, TokenEntry, auth::token_hash_hex};
        let entry =
            |name: &str, role, token: &str| TokenEntry::new(name, role, &token_hash_hex(token));
        Ok(golive_http::Auth::from_tokens(vec![
            entry("demo-analyst", Role::Analyst, &self.analyst)?,
            entry("demo-auditor", Role::Auditor, &self.auditor)?,
            entry("demo-admin", Role::Admin, &self.admin)?,
        ])?)
    }
}
