//! The `golive audit ...` subcommands: argument parsing and printing over [`crate::audit`].
//!
//! Exit codes of `verify` and `compare`: 0 verified (or identical), 2 tampered (or diverged),
//! 3 could not read (no such file or store, not an export, a bad key).

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use golive_store::Store;
use golive_verify::{Outcome, VerifierKey, to_hex};
use indicatif::{ProgressBar, ProgressStyle};

use crate::audit::{self, Comparison, EXIT_COULD_NOT_READ, EXIT_TAMPERED, EXIT_VERIFIED, Side};
use crate::client::Client;
use crate::config::Config;
use crate::render;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Print the ledger's public key in the signed-note verifier key format
    /// (`<origin>+<key id>+<base64 key>`), creating the signing key if there is none yet
    Pubkey,
    /// Write the history as JSONL (header, one line per record, then the signed checkpoints
    /// with consistency proofs); streams, with a progress bar on a terminal
    Export {
        #[arg(long, value_name = "SEQ", default_value_t = 1)]
        from_seq: u64,
        #[arg(long, value_name = "SEQ")]
        to_seq: Option<u64>,
        /// Output file (default: stdout)
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Export from a running ledger over its HTTP API (e.g. http://127.0.0.1:8080) instead
        /// of opening --data; needed while a ledger holds the store open. Without it, a store
        /// held by a running `golive serve`/`demo` is exported through that ledger's address
        #[arg(long, value_name = "URL", env = "GOLIVE_SERVER")]
        server: Option<String>,
    },
    /// Recompute every hash and the Merkle tree, check every signed checkpoint's signature,
    /// root and consistency. Prints `OK head seq N hash H root R` (exit 0), or the first bad
    /// seq and what is wrong (exit 2); exit 3 when the input cannot be read
    Verify {
        /// An export file (as written by `golive audit export`)
        file: Option<PathBuf>,
        /// The same, as a flag
        #[arg(long, value_name = "FILE", conflicts_with = "file")]
        export: Option<PathBuf>,
        /// Verify a ledger's store directory instead (the global --data)
        #[arg(long, conflicts_with_all = ["file", "export", "server"])]
        store: bool,
        /// Verify a running ledger over its HTTP API, e.g. http://127.0.0.1:8080
        #[arg(long, value_name = "URL", conflicts_with_all = ["file", "export"])]
        server: Option<String>,
        /// The ledger's public key (`<origin>+<key id>+<base64>`), or a file holding it. Get it
        /// from the operator out of band, not from the data you are checking
        #[arg(long, value_name = "KEY")]
        pubkey: String,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild every projection from an export alone and print them (as `golive query` would
    /// at that seq)
    Replay {
        file: PathBuf,
        #[arg(long, value_name = "SEQ")]
        to_seq: Option<u64>,
        /// One JSON object: {as_of_seq, lost_patients, money, rollout, warnings, deferred,
        /// incidents, trusts}, each as `golive query <what> --json` prints it
        #[arg(long)]
        json: bool,
    },
    /// Say where two ledgers diverge, if anywhere: each a store directory, an export file or a
    /// running ledger's URL (http://...). Exit 0 identical or one a prefix of the other (a
    /// replica behind), 2 diverged, 3 could not read
    Compare { a: String, b: String },
}

pub fn run(config: &Config, cmd: AuditCommand) -> Result<ExitCode> {
    match cmd {
        AuditCommand::Pubkey => {
            let signer =
                golive_ledger::audit::load_or_create_key(&config.data_dir, &config.audit_origin)?;
            println!("{}", signer.verifier());
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export {
            from_seq,
            to_seq,
            out,
            server,
        } => export(config, from_seq, to_seq, out, server),
        AuditCommand::Verify {
            file,
            export,
            store,
            server,
            pubkey,
            json,
        } => {
            let key = match read_key(&pubkey) {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("COULD NOT READ: --pubkey: {e:#}");
                    return Ok(ExitCode::from(EXIT_COULD_NOT_READ));
                }
            };
            let outcome = match (file.or(export), server) {
                (Some(f), _) => audit::verify_file(&f, &key),
                (None, Some(url)) => crate::audit_remote::verify_server(&url, &key),
                (None, None) => {
                    let _ = store;
                    audit::verify_store(&config.data_dir, &key)
                }
            };
            Ok(print_outcome(&outcome, json))
        }
        AuditCommand::Replay { file, to_seq, json } => {
            let p = audit::replay_file(&file, to_seq)
                .with_context(|| format!("cannot replay {}", file.display()))?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", audit::views_json(&p, &config.rules))?;
            } else {
                writeln!(
                    out,
                    "replayed from {} as of seq {}",
                    file.display(),
                    p.last_seq()
                )?;
                for text in [
                    render::lost_patients(&p.lost_patients(None)),
                    render::money(&p.money(None)),
                    render::rollout(&p.rollout(None)),
                    render::warnings(&p.warnings(&config.rules, None)),
                    render::deferred(&p.deferred_features(None)),
                    render::incidents(&p.incidents(None)),
                ] {
                    writeln!(out, "\n{}", text.trim_end())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Compare { a, b } => {
            let open = |p: &str| Side::open(p).with_context(|| format!("cannot open {p}"));
            let (sa, sb) = match (open(&a), open(&b)) {
                (Ok(x), Ok(y)) => (x, y),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("COULD NOT READ: {e:#}");
                    return Ok(ExitCode::from(EXIT_COULD_NOT_READ));
                }
            };
            let c = match audit::compare(&sa, &sb) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("COULD NOT READ: {e}");
                    return Ok(ExitCode::from(EXIT_COULD_NOT_READ));
                }
            };
            let (name_a, name_b) = (a, b);
            match c {
                Comparison::Identical { head_seq, root } => {
                    println!(
                        "IDENTICAL up to head seq {head_seq}, Merkle root {}",
                        to_hex(&root)
                    );
                    Ok(ExitCode::from(EXIT_VERIFIED))
                }
                Comparison::Prefix {
                    shorter,
                    common,
                    longer_head,
                } => {
                    let (s, l) = if shorter == 'A' {
                        (name_a, name_b)
                    } else {
                        (name_b, name_a)
                    };
                    println!(
                        "PREFIX: {s} holds the same records as {l} up to seq {common}, and {l} goes on to seq {longer_head} (a replica behind, not a divergence)"
                    );
                    Ok(ExitCode::from(EXIT_VERIFIED))
                }
                Comparison::Diverge { seq, a, b } => {
                    println!("DIVERGE at seq {seq}: {name_a} has {a}, {name_b} has {b}");
                    Ok(ExitCode::from(EXIT_TAMPERED))
                }
            }
        }
    }
}

/// The key text, or the first line of a file holding it.
pub(crate) fn read_key(arg: &str) -> Result<VerifierKey> {
    let text = if Path::new(arg).is_file() {
        std::fs::read_to_string(arg).with_context(|| format!("cannot read {arg}"))?
    } else {
        arg.to_owned()
    };
    Ok(VerifierKey::parse(text.lines().next().unwrap_or_default())?)
}

fn print_outcome(outcome: &Outcome, json: bool) -> ExitCode {
    match outcome {
        Outcome::Verified(v) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"result": "verified", "verified": v})
                );
            } else {
                println!(
                    "OK head seq {} hash {} root {}",
                    v.head_seq,
                    to_hex(&v.head_hash),
                    to_hex(&v.root)
                );
                let unsigned = v.head_seq.saturating_sub(v.signed_size);
                eprintln!(
                    "{} signed checkpoints checked{}; signed up to seq {}{}",
                    v.checkpoints,
                    v.origin
                        .as_deref()
                        .map(|o| format!(" (origin {o})"))
                        .unwrap_or_default(),
                    v.signed_size,
                    if unsigned > 0 {
                        format!(
                            "; the last {unsigned} records are intact but not yet covered by a signed checkpoint"
                        )
                    } else {
                        String::new()
                    }
                );
            }
            ExitCode::from(EXIT_VERIFIED)
        }
        Outcome::Tampered(p) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"result": "tampered", "problem": p})
                );
            } else {
                println!(
                    "TAMPERED at seq {}: {}: {}",
                    p.seq,
                    p.kind.as_str(),
                    p.detail
                );
            }
            ExitCode::from(EXIT_TAMPERED)
        }
        Outcome::CouldNotRead(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"result": "could_not_read", "error": e})
                );
            } else {
                println!("COULD NOT READ: {e}");
            }
            ExitCode::from(EXIT_COULD_NOT_READ)
        }
    }
}

fn export(
    config: &Config,
    from_seq: u64,
    to_seq: Option<u64>,
    out: Option<PathBuf>,
    server: Option<String>,
) -> Result<ExitCode> {
    // The store, or the running ledger that holds it.
    let source = match server {
        Some(url) => Source::Server(Client::new(&url)),
        None => match Store::open(&config.data_dir) {
            Ok(store) => Source::Store(store),
            Err(golive_store::StoreError::Locked { path }) => {
                match crate::serving::url_of(&config.data_dir) {
                    Some(url) => {
                        eprintln!(
                            "the ledger in {} is held by a running ledger; exporting through its HTTP API at {url}",
                            path.display()
                        );
                        Source::Server(Client::new(&url))
                    }
                    None => anyhow::bail!(
                        "the ledger store at {} is in use by a running ledger without HTTP; export from a running ledger with --server URL, or stop it first",
                        path.display()
                    ),
                }
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot open the ledger in {}", config.data_dir.display())
                });
            }
        },
    };
    let sink: Box<dyn Write> = match &out {
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::with_capacity(1 << 20, sink);
    let bar = if std::io::stderr().is_terminal() {
        let total = match &source {
            Source::Store(store) => {
                let head = store.head().seq;
                to_seq
                    .unwrap_or(head)
                    .min(head)
                    .saturating_sub(from_seq.max(1) - 1)
            }
            Source::Server(_) => 0,
        };
        let bar = if total > 0 {
            ProgressBar::new(total)
        } else {
            ProgressBar::no_length()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "export {bar:40} {pos}/{len} records ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut progress = |n| bar.set_position(n);
    let summary = match &source {
        Source::Store(store) => audit::export(store, from_seq, to_seq, &mut w, &mut progress)?,
        Source::Server(client) => {
            crate::audit_remote::export_server(client, from_seq, to_seq, &mut w, &mut progress)?
        }
    };
    bar.finish_and_clear();
    w.flush()?;
    eprintln!(
        "exported seqs {}..={} ({} records) and {} signed checkpoints{}",
        summary.from_seq,
        summary.to_seq,
        summary.records,
        summary.checkpoints,
        out.map(|p| format!(" to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// Where an export reads from.
enum Source {
    Store(Store),
    Server(Client),
}
