//! `golive`: the one command of Go-Live Ledger. Thin glue over the library crates.

use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
mod demo;

use golive::config::Config;
use golive::render;
use golive::simulate::{SimParams, Simulation};
use golive_ledger::{IngestSummary, Ledger, LineSource, ingest_lines};
use golive_model::OdsCode;
use golive_store::Store;
use indicatif::{ProgressBar, ProgressStyle};

/// Exit code when some input lines were rejected (they are in the dead letters).
const EXIT_REJECTED: u8 = 3;
/// `collect`: the NATS server refused to let these credentials publish some events (they stay
/// in the outbox).
const EXIT_REFUSED: u8 = 5;

#[derive(Parser)]
#[command(
    name = "golive",
    version,
    about = "Go-Live Ledger: the harm of an electronic-record go-live, as an auditable ledger",
    long_about = "Go-Live Ledger records every incident of an electronic patient record go-live \
(lost patients, extra costs, lost income, rollout pauses) as an immutable, hash-chained event, \
and folds the history into projections that analysts can query, also as of any past point.\n\n\
Configuration: flags win over environment variables, which win over the TOML config file \
(--config, GOLIVE_CONFIG, or ~/.config/golive/config.toml if it exists), which wins over defaults."
)]
struct Cli {
    /// Ledger directory (sled store). Default: the per-user data dir, e.g. ~/.local/share/golive
    #[arg(long, global = true, env = "GOLIVE_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// TOML config file (keys: data, [ledger], [warnings]; see README)
    #[arg(long, global = true, env = "GOLIVE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log filter for the tracing logs on stderr, e.g. `info`, `golive_ledger=debug`. The NATS
    /// client's own logs are off by default: golive reports connection trouble itself, in one
    /// line (e.g. refused credentials)
    #[arg(
        long,
        global = true,
        env = "GOLIVE_LOG",
        default_value = "warn,golive_ledger::ingest=error,async_nats=off,sled=off"
    )]
    log: String,
    /// Log format on stderr
    #[arg(long, global = true, env = "GOLIVE_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Write a deterministic simulated multi-trust rollout as JSONL (same seed, same bytes)
    Simulate {
        /// Seed of the random generator
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of trusts (real London ODS codes first)
        #[arg(long, default_value_t = 5)]
        trusts: usize,
        /// Number of events
        #[arg(long, default_value_t = 1_000)]
        events: u64,
        /// Output file (default: stdout)
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Append events from a JSONL file (or `-` for stdin) to the ledger; bad lines go to the
    /// dead letters with their line number and reason, every other line is appended. Exits 3 when
    /// some lines were rejected.
    Ingest {
        /// JSONL file, or `-` for stdin
        input: String,
    },
    /// Query a projection, at the head or as of an earlier sequence or time; from the ledger on
    /// disk (--data), or from a running `golive serve --http` (--server URL) with the same output
    Query {
        /// lost-patients, money, rollout, warnings, deferred, incidents or trusts
        what: golive::query::What,
        /// Only this trust (ODS code, e.g. RAL)
        #[arg(long)]
        trust: Option<String>,
        /// Answer as the ledger stood right after this sequence number
        #[arg(long, value_name = "SEQ")]
        as_of_seq: Option<u64>,
        /// Answer as the ledger stood at this time (RFC 3339 UTC, e.g. 2009-02-01T00:00:00Z): up
        /// to the last record received at or before it
        #[arg(long, value_name = "TIME", conflicts_with = "as_of_seq")]
        as_of: Option<String>,
        /// JSON for scripts instead of tables
        #[arg(long)]
        json: bool,
        /// Ask a running ledger's HTTP API instead of opening --data, e.g. http://127.0.0.1:8080
        #[arg(long, env = "GOLIVE_SERVER", value_name = "URL")]
        server: Option<String>,
    },
    /// Rebuild every projection from the log (replacing checkpoints), with a progress bar
    Replay,
    /// List rejected messages with their origin, field and reason
    DeadLetters {
        /// JSON lines instead of a table
        #[arg(long)]
        json: bool,
        /// Show at most this many (newest last)
        #[arg(long, default_value_t = 1_000)]
        limit: usize,
    },
    /// The ledger's head (sequence and chain hash), counts and size on disk
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Walk the whole hash chain and report the first bad record, if any
    Verify,
    /// The five-minute tour: NATS (NATS_URL, or a private nats-server started from PATH), the
    /// ledger, one collector per trust of the London 2008 scenario and a simulated live feed;
    /// prints the projections as they change. Stop with Ctrl-C.
    Demo {
        /// Stop by itself after this many seconds of live traffic
        #[arg(long)]
        duration_secs: Option<u64>,
        /// Simulated live events per second
        #[arg(long, default_value_t = 20)]
        live_events_per_s: u64,
    },
    /// Run the ledger service: consume the NATS JetStream stream GOLIVE, append each event
    /// exactly once (durably, before the ack), keep projections live, answer collectors'
    /// receipt queries. Stops cleanly on SIGINT/SIGTERM.
    Serve {
        #[command(flatten)]
        nats: NatsArgs,
        /// Durable consumer name (each ledger replica needs its own)
        #[arg(long, env = "GOLIVE_CONSUMER", default_value = "golive-ledger")]
        consumer: String,
        /// Address of the HTTP API, dashboard and metrics (default 127.0.0.1:8080; port 0 picks a
        /// free port and prints it); `off` to serve none
        #[arg(long, env = "GOLIVE_HTTP")]
        http: Option<String>,
        /// Replicas of the stream GOLIVE (created with them, or checked): 1 on one server, 3 in a
        /// 3-node cluster (default: the config file's [stream] replicas, else 1)
        #[arg(long, env = "GOLIVE_STREAM_REPLICAS", value_name = "N", value_parser = stream_replicas)]
        stream_replicas: Option<usize>,
    },
    /// Trust side: read events (JSONL or CSV file, `-` for stdin, or --watch DIR), validate them
    /// locally, keep each in a durable outbox (--data DIR), publish to NATS and forget an event
    /// only when the ledger's receipt says it is durably appended.
    Collect {
        /// JSONL or CSV file (by extension), or `-` for stdin (JSONL)
        input: Option<String>,
        /// Watch this directory for new *.jsonl / *.csv files instead (runs until stopped)
        #[arg(long, value_name = "DIR", conflicts_with = "input")]
        watch: Option<PathBuf>,
        /// Show what is still pending in the outbox (no NATS needed) and exit
        #[arg(long)]
        status: bool,
        #[command(flatten)]
        nats: NatsArgs,
        /// Publishes in flight at once
        #[arg(long, default_value_t = 1024)]
        window: usize,
        /// Re-publish an event the ledger has not confirmed after this long
        #[arg(long, default_value_t = 5_000)]
        republish_after_ms: u64,
        /// Give up waiting for receipts after this long (events stay in the outbox); 0 = forever
        #[arg(long, default_value_t = 300)]
        wait_receipts_secs: u64,
    },
    /// For auditors: the signing key, export, offline verification, replay and comparison of
    /// ledgers (see docs/AUDIT.md)
    Audit {
        #[command(subcommand)]
        what: golive::audit_cmd::AuditCommand,
    },
    /// Make a bearer token for the HTTP API. Prints the token on stdout (give it to its holder:
    /// it is stored nowhere) and, on stderr, the `[[http.tokens]]` entry holding only its hash
    Token {
        /// Who will hold it (shown in logs when a request is refused, and used to revoke it)
        name: String,
        /// analyst (projections), auditor (also the log and proofs) or admin (also dead letters
        /// and metrics)
        #[arg(long)]
        role: golive_http::Role,
        /// Append the entry to this config file instead of printing it
        #[arg(long, value_name = "FILE")]
        append_to: Option<PathBuf>,
    },
    /// NATS users with NKeys (deploy/nats/auth.conf): `add` makes the user of a new trust's
    /// collector (or of the ledger), writes its seed file (0600) and prints its configuration
    NatsUser {
        #[command(subcommand)]
        what: NatsUserWhat,
    },
    /// Rebuild a damaged ledger into a NEW data directory (--data) from a verified audit export:
    /// same records, seqs and chain hashes (docs/OPERATIONS.md, "Backup and restore")
    Repair {
        /// The export (`golive audit export`) to rebuild from; verified first
        #[arg(long, value_name = "FILE")]
        from_export: PathBuf,
        /// The ledger's public key, or a file holding it, to verify the export with
        #[arg(long, value_name = "KEY")]
        pubkey: String,
        /// The damaged ledger's directory: its signing key is copied over (else a new key)
        #[arg(long, value_name = "DIR")]
        key_from: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum NatsUserWhat {
    /// Create a user: writes DIR/<TRUST>.nk (the seed, mode 0600: copy it to that trust's
    /// collector host only, for `golive collect --nkey`) and prints the public key and the block
    /// to add to the `users` list of deploy/nats/auth.conf (see deploy/README.md)
    Add {
        /// The trust's ODS code, e.g. RAL: it may publish only on golive.events.<TRUST>.>
        #[arg(required_unless_present = "ledger", conflicts_with = "ledger")]
        trust: Option<String>,
        /// The ledger's user instead (`golive serve --nkey`): consumes the stream, answers receipts
        #[arg(long)]
        ledger: bool,
        /// The ledger's durable consumer name (`golive serve --consumer`)
        #[arg(long, default_value = "golive-ledger", requires = "ledger")]
        consumer: String,
        /// Directory for the seed file (created if missing)
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

/// How to reach NATS.
#[derive(clap::Args, Clone)]
struct NatsArgs {
    /// NATS server URL
    #[arg(
        long = "nats",
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    url: String,
    /// NATS credentials file (.creds: user JWT and NKey seed), if the server requires one
    #[arg(long = "creds", env = "GOLIVE_NATS_CREDS", value_name = "FILE")]
    creds: Option<PathBuf>,
    /// NKey seed file of this NATS user (deploy/nats/auth.conf; made by `golive nats-user add`);
    /// refused if group or others can read it
    #[arg(
        long = "nkey",
        env = "GOLIVE_NATS_NKEY",
        value_name = "FILE",
        conflicts_with = "creds"
    )]
    nkey: Option<PathBuf>,
}

impl NatsArgs {
    /// The NKey user of `--nkey`, read and checked now (before anything else starts).
    fn nkey(&self) -> Result<Option<std::sync::Arc<nkeys::KeyPair>>> {
        Ok(self
            .nkey
            .as_deref()
            .map(golive::natsauth::read_seed_file)
            .transpose()?)
    }
}

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`golive query ... | head`), as command-line tools do,
    // instead of panicking inside `println!`.
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    init_tracing(&cli.log, cli.log_format);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // `golive query ... | head` closes the pipe early: that is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let data_given = cli.data.is_some();
    let config = Config::load(cli.config.as_deref(), cli.data)?;
    match cli.command {
        Command::Simulate {
            seed,
            trusts,
            events,
            out,
        } => simulate(seed, trusts, events, out),
        Command::Ingest { input } => ingest(&config, &input),
        Command::Query {
            what,
            trust,
            as_of_seq,
            as_of,
            json,
            server,
        } => query(&config, what, trust, as_of_seq, as_of, json, server),
        Command::Replay => replay(&config),
        Command::DeadLetters { json, limit } => dead_letters(&config, json, limit),
        Command::Status { json } => status(&config, json),
        Command::Verify => verify(&config),
        Command::Audit { what } => golive::audit_cmd::run(&config, what),
        Command::Token {
            name,
            role,
            append_to,
        } => token(&name, role, append_to.as_deref()),
        Command::NatsUser {
            what:
                NatsUserWhat::Add {
                    trust,
                    ledger,
                    consumer,
                    dir,
                },
        } => nats_user_add(trust, ledger, consumer, &dir),
        Command::Demo {
            duration_secs,
            live_events_per_s,
        } => {
            demo::run(
                config,
                data_given,
                duration_secs,
                live_events_per_s.clamp(1, 10_000),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            nats,
            consumer,
            http,
            stream_replicas,
        } => {
            let replicas = stream_replicas.unwrap_or(config.stream_replicas);
            serve(&config, nats, consumer, http, replicas)
        }
        Command::Collect {
            input,
            watch,
            status,
            nats,
            window,
            republish_after_ms,
            wait_receipts_secs,
        } => {
            if status {
                return collect_status(&config);
            }
            let input = match (input, watch) {
                (_, Some(dir)) => golive_collector::Input::Watch { dir, poll_ms: 500 },
                (Some(i), None) if i == "-" => golive_collector::Input::Stdin,
                (Some(i), None) => golive_collector::Input::File(PathBuf::from(i)),
                (None, None) => anyhow::bail!("give an input file, `-` for stdin, or --watch DIR"),
            };
            let nkey = nats.nkey()?;
            let cc = golive_collector::CollectorConfig {
                nats_url: nats.url,
                outbox_dir: config.data_dir.clone(),
                credentials: nats.creds,
                nkey,
                window: window.clamp(1, 65_536),
                republish_after_ms,
                receipt_interval_ms: 250,
                receipt_timeout_ms: 2_000,
                wait_for_receipts_ms: (wait_receipts_secs > 0)
                    .then_some(wait_receipts_secs * 1_000),
                outbox_events_max: 1_000_000,
            };
            collect(cc, input)
        }
        Command::Repair {
            from_export,
            pubkey,
            key_from,
        } => golive::repair::run(&config, &from_export, &pubkey, key_from.as_deref()),
    }
}

fn simulate(seed: u64, trusts: usize, events: u64, out: Option<PathBuf>) -> Result<ExitCode> {
    anyhow::ensure!(
        (1..=1_000).contains(&trusts),
        "--trusts must be between 1 and 1000"
    );
    let sink: Box<dyn Write> = match &out {
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::new(sink);
    for e in Simulation::new(SimParams::new(seed, trusts, events)) {
        w.write_all(&e.canonical_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    if let Some(p) = out {
        eprintln!(
            "wrote {events} events for {trusts} trusts to {}",
            p.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn open_ledger(config: &Config) -> Result<Ledger> {
    let mut ledger = Ledger::open(&config.data_dir, config.ledger)
        .with_context(|| format!("cannot open the ledger in {}", config.data_dir.display()))?;
    // Every ledger that appends signs checkpoints; the key is created on first start.
    let key = golive_ledger::audit::load_or_create_key(&config.data_dir, &config.audit_origin)?;
    let signer = golive_ledger::audit::CheckpointSigner::new(key, config.audit, ledger.store())?;
    ledger.enable_checkpoint_signing(signer);
    Ok(ledger)
}

fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.data_dir)
        .with_context(|| format!("cannot open the ledger in {}", config.data_dir.display()))
}

fn progress_bar(len: Option<u64>, what: &str) -> ProgressBar {
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

fn ingest(config: &Config, input: &str) -> Result<ExitCode> {
    let mut ledger = open_ledger(config)?;
    let (reader, source, len): (Box<dyn BufRead>, LineSource, Option<u64>) = if input == "-" {
        (
            Box::new(BufReader::new(std::io::stdin().lock())),
            LineSource::Stdin,
            None,
        )
    } else {
        let f = std::fs::File::open(input).with_context(|| format!("cannot open {input}"))?;
        let len = f.metadata().ok().map(|m| m.len());
        (
            Box::new(BufReader::with_capacity(1 << 20, f)),
            LineSource::File(input.to_owned()),
            len,
        )
    };
    let bar = progress_bar(len, "ingest (bytes)");
    let summary = ingest_lines(
        &mut ledger,
        reader,
        &source,
        config.batch_events_max,
        &mut |s: &IngestSummary| bar.set_position(s.bytes_read),
    )?;
    bar.finish_and_clear();
    // The end of an input is a natural point to sign: the whole file is then covered.
    ledger.sign_checkpoint()?;
    ledger.store().flush()?;
    for r in &summary.rejections {
        eprintln!(
            "line {}: {}: {} (dead letter {})",
            r.line,
            r.field.as_deref().unwrap_or("(message)"),
            r.reason,
            r.dead_letter_id
        );
    }
    if summary.rejected as usize > summary.rejections.len() {
        eprintln!(
            "... {} more rejected lines: see `golive dead-letters`",
            summary.rejected as usize - summary.rejections.len()
        );
    }
    println!(
        "ingested {input}: {} lines, {} appended, {} duplicates skipped, {} rejected to dead letters; head seq {} hash {}",
        summary.lines - summary.blank,
        summary.appended,
        summary.duplicates,
        summary.rejected,
        summary.head_seq,
        summary.head_hash
    );
    Ok(if summary.rejected > 0 {
        ExitCode::from(EXIT_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn query(
    config: &Config,
    what: golive::query::What,
    trust: Option<String>,
    as_of_seq: Option<u64>,
    as_of: Option<String>,
    json: bool,
    server: Option<String>,
) -> Result<ExitCode> {
    use golive::query::{At, local, remote, render};
    let trust = trust
        .map(|t| {
            OdsCode::parse(&t).with_context(|| {
                format!(
                    "--trust {t}: not an ODS code (3 to 5 upper-case letters or digits, e.g. RAL)"
                )
            })
        })
        .transpose()?;
    let at = match (as_of_seq, as_of) {
        (Some(s), _) => At::Seq(s),
        (None, Some(t)) => At::Time(
            chrono::DateTime::parse_from_rfc3339(&t)
                .ok()
                .filter(|t| t.offset().local_minus_utc() == 0)
                .with_context(|| {
                    format!("--as-of {t}: not an RFC 3339 time in UTC such as 2009-02-01T00:00:00Z")
                })?
                .to_utc(),
        ),
        (None, None) => At::Head,
    };
    let answer = match server {
        Some(url) => remote(&url, what, trust.as_ref(), at)?,
        None => local(
            &open_store(config)?,
            what,
            trust.as_ref(),
            at,
            &config.rules,
        )?,
    };
    std::io::stdout()
        .lock()
        .write_all(render(&answer, json).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn replay(config: &Config) -> Result<ExitCode> {
    let mut ledger = open_ledger(config)?;
    let head = ledger.head().seq;
    let bar = progress_bar(Some(head), "replay");
    let started = std::time::Instant::now();
    ledger.rebuild(&mut |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "replayed {head} records into every projection in {secs:.2} s ({:.0} events/s); head hash {}",
        head as f64 / secs.max(1e-9),
        hex::encode(ledger.head().hash)
    );
    Ok(ExitCode::SUCCESS)
}

fn dead_letters(config: &Config, json: bool, limit: usize) -> Result<ExitCode> {
    let store = open_store(config)?;
    let total = store.dead_letter_count();
    let skip = (total as usize).saturating_sub(limit);
    let mut stdout = std::io::stdout().lock();
    if !json {
        writeln!(stdout, "{total} dead letters")?;
    }
    for d in store.dead_letters().skip(skip) {
        let d = d?;
        if json {
            let v = serde_json::json!({
                "id": d.id,
                "received_at": golive_model::format_time(&d.received_at),
                "origin": d.origin,
                "field": d.field,
                "reason": d.reason,
                "raw": String::from_utf8_lossy(&d.raw),
            });
            writeln!(stdout, "{v}")?;
        } else {
            writeln!(
                stdout,
                "#{} {} {}: {}: {}\n    {}",
                d.id,
                golive_model::format_time(&d.received_at),
                d.origin,
                d.field.as_deref().unwrap_or("(message)"),
                d.reason,
                render::truncate(&String::from_utf8_lossy(&d.raw), 200)
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status(config: &Config, json: bool) -> Result<ExitCode> {
    let store = open_store(config)?;
    let head = store.head();
    let v = serde_json::json!({
        "data_dir": config.data_dir.display().to_string(),
        "head_seq": head.seq,
        "head_hash": hex::encode(head.hash),
        "dead_letters": store.dead_letter_count(),
        "collectors": store.collectors()?.into_iter().map(|(c, s)| (c.0, s)).collect::<std::collections::BTreeMap<_, _>>(),
        "bytes_on_disk": store.size_on_disk()?,
    });
    if json {
        println!("{v}");
    } else {
        println!("ledger      {}", config.data_dir.display());
        println!("head seq    {}", head.seq);
        println!("head hash   {}", hex::encode(head.hash));
        println!("dead letters {}", store.dead_letter_count());
        println!("on disk     {} bytes", store.size_on_disk()?);
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(config: &Config) -> Result<ExitCode> {
    let store = open_store(config)?;
    match store.verify_chain() {
        Ok(head) => {
            println!("OK head seq {} hash {}", head.seq, hex::encode(head.hash));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("TAMPERED: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this
/// is called (inside the runtime), not when the future is first polled, so a signal that arrives
/// while the ledger is still opening is not lost to the default action.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut t), Ok(mut i)) => {
                tokio::select! {
                    _ = t.recv() => {}
                    _ = i.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        tracing::info!("shutdown requested");
    }
}

fn token(name: &str, role: golive_http::Role, append_to: Option<&Path>) -> Result<ExitCode> {
    if name.trim().is_empty() || name.contains(['"', '\\', '\n']) {
        anyhow::bail!(
            "the token's name must be non-empty, without quotes, backslashes or newlines"
        );
    }
    let token = golive_http::auth::new_token().context("cannot draw randomness for a token")?;
    let entry = format!(
        "\n[[http.tokens]]\nname = \"{name}\"\nrole = \"{}\"\nsha256 = \"{}\"\n",
        role.as_str(),
        golive_http::auth::token_hash_hex(&token)
    );
    match append_to {
        Some(path) => {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            f.write_all(entry.as_bytes())?;
            eprintln!(
                "added token {name:?} ({}) to {}; restart the ledger to use it",
                role.as_str(),
                path.display()
            );
        }
        None => eprintln!("add to the config file ([http] section):{entry}"),
    }
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

fn stream_replicas(s: &str) -> Result<usize, String> {
    let n = s.parse().map_err(|e| format!("{e}"))?;
    golive::config::check_stream_replicas(n)
}

/// Where `golive serve` listens for HTTP when `--http` is not given.
const DEFAULT_HTTP: &str = "127.0.0.1:8080";

fn serve(
    config: &Config,
    nats: NatsArgs,
    consumer: String,
    http: Option<String>,
    stream_replicas: usize,
) -> Result<ExitCode> {
    let explicit = http.is_some();
    let http = http.unwrap_or_else(|| DEFAULT_HTTP.to_owned());
    let http_addr: Option<std::net::SocketAddr> = if http == "off" {
        None
    } else {
        Some(http.parse().with_context(|| {
            format!("--http {http}: expected ADDRESS:PORT such as 127.0.0.1:8080, or off")
        })?)
    };
    let nkey = nats.nkey()?;
    let rt = runtime()?;
    let stop = {
        let _guard = rt.enter();
        shutdown_signal()
    };
    let ledger = open_ledger(config)?;
    let head = ledger.head();
    eprintln!(
        "golive serve: ledger {} at seq {}, NATS {}",
        config.data_dir.display(),
        head.seq,
        nats.url
    );
    let ledger = std::sync::Arc::new(std::sync::Mutex::new(ledger));
    // One set of counters: the consumer loop counts into it, `/metrics` renders it.
    let metrics = std::sync::Arc::new(golive_ledger::Metrics::new());
    let sc = golive_service::ServeConfig {
        nats_url: nats.url,
        credentials: nats.creds,
        nkey,
        consumer,
        batch_events_max: config.batch_events_max,
        metrics: metrics.clone(),
        stream: golive_service::StreamSettings {
            replicas: stream_replicas,
            ..Default::default()
        },
        ..Default::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    if let Some(addr) = http_addr
        && config.http.auth.is_open()
        && !addr.ip().is_loopback()
        && !config.http.allow_open
    {
        anyhow::bail!(
            "refusing to serve the API without tokens on {addr}, which is not a loopback address: add [[http.tokens]] to the config (see `golive token new`), or set http.allow_open = true if a proxy in front checks access"
        );
    }
    let tls = match &config.http.tls {
        Some((cert, key)) => Some(golive_http::tls::load(cert, key)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let state =
        golive_http::AppState::new(ledger.clone(), std::sync::Arc::new(config.rules.clone()))
            .with_metrics(metrics)
            .with_auth(config.http.auth.clone());
    let stop_tx = std::sync::Arc::new(stop_tx);
    let summary = rt.block_on(async {
        let on_signal = stop_tx.clone();
        tokio::spawn(async move {
            stop.await;
            let _ = on_signal.send(true);
        });
        let http = match http_addr {
            Some(addr) => match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    let bound = listener.local_addr().unwrap_or(addr);
                    eprintln!(
                        "golive serve: HTTP API and dashboard on {scheme}://{bound}/{}",
                        if config.http.auth.is_open() {
                            " (open: no tokens configured)"
                        } else {
                            " (bearer tokens required)"
                        }
                    );
                    let announced = golive::serving::announce(
                        &config.data_dir,
                        &format!("{scheme}://{bound}"),
                    );
                    let tls = tls.clone();
                    let state = state.clone();
                    let stop = stopped();
                    Some(tokio::spawn(async move {
                        let r = match tls {
                            Some(t) => {
                                golive_http::tls::serve_tls_on(listener, state, t, stop).await
                            }
                            None => golive_http::serve_on(listener, state, stop).await,
                        };
                        drop(announced);
                        r
                    }))
                }
                Err(e) if explicit => {
                    return Err(anyhow::anyhow!(
                        "cannot listen for HTTP on {addr} (--http): {e}; choose another address or --http off"
                    ));
                }
                Err(e) => {
                    eprintln!(
                        "golive serve: cannot listen for HTTP on the default {addr} ({e}); serving without HTTP. Pass --http ADDR to choose an address"
                    );
                    None
                }
            },
            None => None,
        };
        let summary = golive_service::serve(ledger.clone(), sc, stopped()).await;
        // The consumer loop has ended (stop requested, or an error such as a stream with other
        // settings): the HTTP server stops with it, or the process would never exit.
        let _ = stop_tx.send(true);
        if let Some(h) = http {
            match h.await {
                Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server ended with an error"),
                Err(e) => tracing::warn!(error = %e, "HTTP server task failed"),
                Ok(Ok(())) => {}
            }
        }
        anyhow::Ok(summary?)
    })?;
    let head = ledger
        .lock()
        .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?
        .head();
    eprintln!(
        "golive serve stopped: {} messages, {} appended, {} duplicates, {} dead letters; head seq {} hash {}",
        summary.messages,
        summary.appended,
        summary.duplicates,
        summary.dead_lettered,
        head.seq,
        hex::encode(head.hash)
    );
    Ok(ExitCode::SUCCESS)
}

fn collect(
    cc: golive_collector::CollectorConfig,
    input: golive_collector::Input,
) -> Result<ExitCode> {
    let bar = progress_bar(None, "collect");
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut last_note: Option<String> = None;
    let progress = move |p: &golive_collector::Progress| {
        bar.set_message(format!(
            "read {} (rejected {}), published {}, confirmed {}, pending {}{}",
            p.read,
            p.rejected_locally,
            p.published,
            p.confirmed,
            p.pending,
            if p.nats_connected {
                ""
            } else {
                ", NATS unreachable"
            }
        ));
        bar.tick();
        if p.note != last_note {
            if let Some(n) = &p.note {
                // Said once per change of state, also when stderr is not a terminal.
                eprintln!("{n}");
            }
            last_note = p.note.clone();
        }
    };
    let rt = runtime()?;
    let stop = {
        let _guard = rt.enter();
        shutdown_signal()
    };
    let summary = rt.block_on(golive_collector::collect(cc, input, progress, stop))?;
    for r in &summary.rejections {
        eprintln!(
            "{}:{}: {}: {} (not sent)",
            r.source, r.line, r.field, r.reason
        );
    }
    println!(
        "collected: {} read, {} rejected locally, {} published, {} confirmed by the ledger, {} dead-lettered by the ledger, {} still pending in the outbox",
        summary.read,
        summary.rejected_locally,
        summary.published,
        summary.confirmed,
        summary.dead_lettered,
        summary.pending_at_exit
    );
    for r in &summary.refused_subjects {
        eprintln!(
            "{}: the NATS server refused to let these credentials publish here ({}): {} kept in \
             the outbox and tried again on the next run; a collector may publish only its own \
             trust's events (see `golive collect --status`)",
            r.subject,
            r.reason,
            if r.events == 1 {
                "1 event".to_owned()
            } else {
                format!("{} events", r.events)
            }
        );
    }
    Ok(if summary.refused > 0 {
        ExitCode::from(EXIT_REFUSED)
    } else if summary.pending_at_exit > 0 {
        eprintln!(
            "some events are not yet confirmed by the ledger; they stay in the outbox and are re-sent on the next run"
        );
        ExitCode::from(4)
    } else if summary.rejected_locally > 0 {
        ExitCode::from(EXIT_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn nats_user_add(
    trust: Option<String>,
    ledger: bool,
    consumer: String,
    dir: &std::path::Path,
) -> Result<ExitCode> {
    use golive::natsauth::{Role, add_user};
    let role = match trust {
        Some(t) if !ledger => Role::Collector(OdsCode::parse(&t).with_context(|| {
            format!("{t}: not an ODS code (3 to 5 upper-case letters or digits, e.g. RAL)")
        })?),
        _ => Role::Ledger { consumer },
    };
    let user = add_user(&role, dir)?;
    let flag = match &role {
        Role::Collector(_) => "golive collect",
        Role::Ledger { .. } => "golive serve",
    };
    eprintln!(
        "wrote the seed to {} (mode 0600): copy it to that host only and pass it to `{flag} --nkey FILE`",
        user.seed_file.display()
    );
    eprintln!(
        "add the block below to the users list of the NATS server's configuration (deploy/nats/auth.conf), then reload it: nats-server --signal reload"
    );
    println!("# public key {}", user.public_key);
    print!("{}", user.config);
    Ok(ExitCode::SUCCESS)
}

fn collect_status(config: &Config) -> Result<ExitCode> {
    let st = golive_collector::outbox_status(&config.data_dir)?;
    println!("outbox {}", st.path.display());
    println!(
        "pending {} (never published {}, awaiting the ledger's receipt {})",
        st.pending, st.never_published, st.awaiting_receipt
    );
    if let Some(o) = &st.oldest_pending {
        println!(
            "oldest pending: {} on {}, {} publish attempts ({} re-publishes), in the outbox for {} s",
            o.event_id,
            o.subject,
            o.publish_attempts,
            o.republishes,
            o.age_ms / 1_000
        );
    }
    if st.refused_total > 0 {
        println!(
            "refused by the NATS server: {} (kept, tried again on the next run)",
            st.refused_total
        );
        for r in &st.refused_by_server {
            println!(
                "  {} {} {}: {}",
                golive_model::format_time(&r.refused_at),
                r.event_id,
                r.subject,
                r.reason
            );
        }
    }
    println!("rejected by the ledger: {}", st.rejected_total);
    for r in &st.rejected_by_ledger {
        println!(
            "  {} {} {}: {}",
            golive_model::format_time(&r.rejected_at),
            r.event_id,
            r.subject,
            r.reason
        );
    }
    println!("watched files read: {}", st.files_processed);
    Ok(ExitCode::SUCCESS)
}
