//! The command line of `golive`: every flag, its help text, environment variable and default,
//! one `Args` struct per subcommand. Parsing only: what each command does is in `cmd/`.
//!
//! The help texts are part of the interface (`golive X --help` is the reference users read),
//! so a change of wording here is a change of behaviour.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "golive",
    version,
    about = "Go-Live Ledger: the harm of an electronic-record go-live, as an auditable ledger",
    long_about = "Go-Live Ledger records every incident of an electronic patient record go-live \
(lost patients, extra costs, lost income, rollout pauses) as an immutable, hash-chained event, \
and folds the history into projections that analysts can query, also as of any past point.\n\n\
Configuration: flags win over environment variables, which win over the TOML config file \
(--config, GOLIVE_CONFIG, or ~/.config/golive/config.toml if it exists), which wins over defaults. \
Every key of the file's [ledger], [audit], [http] and [stream] sections can also be set by a \
GOLIVE_<SECTION>_<KEY> variable, e.g. GOLIVE_HTTP_TOKENS_FILE (docs/OPERATIONS.md).",
    after_help = golive::exit::help_table()
)]
pub struct Cli {
    /// Ledger directory (sled store). Default: the per-user data dir, e.g. ~/.local/share/golive
    #[arg(long, global = true, env = "GOLIVE_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// TOML config file (keys: data, [ledger], [warnings], [claims], [audit], [http], [stream];
    /// see README)
    #[arg(long, global = true, env = "GOLIVE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check the command line and the configuration (flags, GOLIVE_* variables, config file;
    /// for serve also its HTTP access rules, TLS files, signing key, NKey file and NATS TLS
    /// files; for collect its input, NKey file and NATS TLS files), then exit 0 without running the command (deploy checks)
    #[arg(long, global = true)]
    pub check_config: bool,
    #[command(flatten)]
    pub logging: golive::edge::LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a deterministic simulated multi-trust rollout as JSONL (same seed, same bytes)
    Simulate(SimulateArgs),
    /// Append events from a JSONL file (or `-` for stdin) to the ledger; bad lines go to the
    /// dead letters with their line number and reason, every other line is appended. Exits 3 when
    /// some lines were rejected.
    Ingest(IngestArgs),
    /// Query a projection, at the head or as of an earlier sequence or time (optionally known at
    /// a time); from the ledger on disk (--data), or from a running `golive serve --http`
    /// (--server URL) with the same output
    Query(QueryArgs),
    /// A board report at one sequence: headline figures with their sources, charts over time,
    /// warnings and why, coverage, claims and recovery, and on its last page the signed
    /// checkpoint the figures were computed at with the commands an auditor runs to re-derive
    /// them. PDF printed by headless Chromium (a runtime dependency), or HTML, or a workbook
    Report(ReportArgs),
    /// Every view as one Excel workbook: a cover sheet (as-of sequence, Merkle root, signed
    /// checkpoint, how to re-derive), then one sheet per view (docs/API.md, "Tables")
    ExportXlsx(ExportXlsxArgs),
    /// Rebuild every projection from the log (replacing snapshots), with a progress bar
    Replay(ReplayArgs),
    /// List rejected messages with their origin, field and reason
    DeadLetters(DeadLettersArgs),
    /// The ledger's head (sequence and chain hash), counts and size on disk
    Status(StatusArgs),
    /// Walk the whole hash chain and report the first bad record, if any: `OK head seq N hash
    /// H` (exit 0), `TAMPERED: ...` (exit 8), `COULD NOT READ: ...` (exit 6)
    Verify(VerifyArgs),
    /// The five-minute tour: NATS (NATS_URL, or a private nats-server started from PATH), the
    /// ledger, one collector per trust of the London 2008 scenario and a simulated live feed;
    /// prints the projections as they change. Stop with Ctrl-C.
    Demo(DemoArgs),
    /// Run the ledger service: consume the NATS JetStream stream GOLIVE, append each event
    /// exactly once (durably, before the ack), keep projections live, answer collectors'
    /// receipt queries. Stops cleanly on SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Trust side: read events (JSONL or CSV file, `-` for stdin, or --watch DIR), validate them
    /// locally, keep each in a durable outbox (--data DIR), publish to NATS and forget an event
    /// only when the ledger's receipt says it is durably appended.
    Collect(CollectArgs),
    /// For auditors: the signing key, export, offline verification, replay and comparison of
    /// ledgers (see docs/AUDIT.md)
    Audit(AuditArgs),
    /// Trust side: the trust's own pseudonym key for NHS numbers in mapped feeds
    /// (docs/FEEDS.md): `new TRUST` writes it, mode 0600; it is never sent anywhere
    TrustSecret(TrustSecretArgs),
    /// Trust side: the trust's Ed25519 signing key for the events its collector publishes
    /// (`new TRUST` writes it 0600 and prints the public key for the ledger's `[trusts]`
    /// config; `show FILE` prints the public key again). docs/EVENTS.md, "Event signatures"
    TrustKey(TrustKeyArgs),
    /// Make a bearer token for the HTTP API. Prints the token on stdout (give it to its holder:
    /// it is stored nowhere) and, on stderr, the `[[http.tokens]]` entry holding only its hash
    Token(TokenArgs),
    /// NATS users with NKeys (deploy/nats/auth.conf): `add` makes the user of a new trust's
    /// collector (or of the ledger), writes its seed file (0600) and prints its configuration
    NatsUser(NatsUserArgs),
    /// Rebuild a damaged ledger into a NEW data directory (--data) from a verified audit export:
    /// same records, seqs and chain hashes (docs/OPERATIONS.md, "Backup and restore")
    Repair(RepairArgs),
    /// Print a shell completion script: `golive completions bash > /etc/bash_completion.d/golive`
    /// (zsh: into a directory of $fpath as `_golive`; fish: ~/.config/fish/completions/golive.fish)
    Completions(CompletionsArgs),
    /// Write the man pages (golive.1 and one per subcommand, e.g. golive-audit-verify.1) into a
    /// directory: `golive man --out /usr/local/share/man/man1`
    Man(ManArgs),
}

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Seed of the random generator
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of trusts, under fictional codes (ZZ001, ZZ002, ...: no NHS organisation's)
    #[arg(long, default_value_t = 5)]
    pub trusts: usize,
    /// Use real London ODS codes first (RAL, RNJ, ...); every event is still marked synthetic
    #[arg(long)]
    pub real_trust_codes: bool,
    /// Number of events
    #[arg(long, default_value_t = 1_000)]
    pub events: u64,
    /// Output file (default: stdout)
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct IngestArgs {
    /// JSONL file, or `-` for stdin
    pub input: String,
    /// One JSON object on stdout: {input, lines, appended, duplicates, rejected, head_seq,
    /// head_hash, rejections: [{line, field, reason, dead_letter_id}]}
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// One JSON object on stdout: {records, seconds, events_per_second, head_seq, head_hash}
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// One JSON object on stdout: {result: verified|tampered|could_not_read, head_seq,
    /// head_hash} or {result, seq, error}
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    pub shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Directory to write the pages into (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct QueryArgs {
    /// lost-patients, money, rollout, warnings, deferred, incidents, trusts, coverage, claims
    /// (the claim register), usage-burden or recovery (activity against its baseline)
    pub what: golive::query::What,
    /// Only this trust (ODS code, e.g. RAL)
    #[arg(long)]
    pub trust: Option<String>,
    /// Answer as the ledger stood right after this sequence number
    #[arg(long, value_name = "SEQ")]
    pub as_of_seq: Option<u64>,
    /// Answer as the ledger stood at this time (RFC 3339 UTC, e.g. 2009-02-01T00:00:00Z): up
    /// to the last record received at or before it
    #[arg(long, value_name = "TIME", conflicts_with = "as_of_seq")]
    pub as_of: Option<String>,
    /// Answer with what was on the public record at this time (RFC 3339 UTC): only the events
    /// whose recorded_at (when the source published them) is at or before it, whenever the
    /// ledger received them; a correction recorded later is left out. With --as-of-seq or
    /// --as-of, only the records up to that point
    #[arg(long, value_name = "TIME")]
    pub known_at: Option<String>,
    /// Answer as if no synthetic (simulated) event had been appended: the sourced figures only
    #[arg(long)]
    pub exclude_synthetic: bool,
    /// recovery only: go-live puts every trust on weeks and months since its own go-live
    /// (week 0 = the go-live week), for overlays
    #[arg(long, value_enum, default_value_t = AlignArg::Calendar)]
    pub align: AlignArg,
    /// JSON for scripts instead of tables (the same as --format json)
    #[arg(long)]
    pub json: bool,
    /// text (tables for people), json, or csv: the view's table as RFC 4180 CSV with a header
    /// row, pence beside pounds and a `synthetic` column (docs/API.md, "Tables")
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// With --format csv: a UTF-8 byte-order mark first, so that Excel reads it as UTF-8
    #[arg(long)]
    pub bom: bool,
    /// money and lost-patients: the events behind each line instead of the view (their sources,
    /// what they correct or dispute; for money each one's part, adding up to the line), as
    /// `?evidence=true` answers (docs/API.md, "Evidence behind a figure")
    #[arg(long)]
    pub evidence: bool,
    /// With --evidence: skip this many events of each line
    #[arg(long, value_name = "N", default_value_t = 0, requires = "evidence")]
    pub evidence_offset: usize,
    /// With --evidence: at most this many events per line (1 to 1000)
    #[arg(long, value_name = "N", default_value_t = golive_report::EVIDENCE_LIMIT_DEFAULT as u64,
          requires = "evidence", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub evidence_limit: u64,
    /// Ask a running ledger's HTTP API instead of opening --data, e.g. http://127.0.0.1:8080
    #[arg(long, env = "GOLIVE_SERVER", value_name = "URL")]
    pub server: Option<String>,
}

/// `golive query --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Csv,
}

/// Where in the log a report or a workbook stands.
#[derive(clap::Args, Clone, Debug)]
pub struct AtArgs {
    /// The ledger as it stood right after this sequence number (default: the head)
    #[arg(long, value_name = "SEQ")]
    pub as_of_seq: Option<u64>,
    /// Only the events on the public record at this time (RFC 3339 UTC), as `query --known-at`
    #[arg(long, value_name = "TIME")]
    pub known_at: Option<String>,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Only this trust (ODS code, e.g. RAL)
    #[arg(long, conflicts_with = "programme")]
    pub trust: Option<String>,
    /// Only the member trusts of this programme (as `golive query coverage` names it)
    #[arg(long, value_name = "NAME")]
    pub programme: Option<String>,
    #[command(flatten)]
    pub at: AtArgs,
    /// The file to write (e.g. report.pdf)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// pdf (printed by headless Chromium), html (the page it prints), or xlsx (as export-xlsx)
    #[arg(long, value_enum, default_value_t = ReportFormat::Pdf)]
    pub format: ReportFormat,
    /// The Chromium binary that prints the PDF
    #[arg(
        long,
        env = "GOLIVE_CHROMIUM",
        default_value = "chromium",
        value_name = "PATH"
    )]
    pub chromium: String,
}

/// `golive report --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Pdf,
    Html,
    Xlsx,
}

#[derive(clap::Args)]
pub struct ExportXlsxArgs {
    /// Only this trust (ODS code, e.g. RAL)
    #[arg(long)]
    pub trust: Option<String>,
    #[command(flatten)]
    pub at: AtArgs,
    /// The workbook to write (e.g. board.xlsx)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `--align`: how the recovery view lines trusts up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AlignArg {
    Calendar,
    GoLive,
}

impl From<AlignArg> for golive_projections::Align {
    fn from(a: AlignArg) -> Self {
        match a {
            AlignArg::Calendar => golive_projections::Align::Calendar,
            AlignArg::GoLive => golive_projections::Align::GoLive,
        }
    }
}

#[derive(clap::Args)]
pub struct DeadLettersArgs {
    /// JSON lines instead of a table
    #[arg(long)]
    pub json: bool,
    /// Show at most this many (newest last)
    #[arg(long, default_value_t = 1_000)]
    pub limit: usize,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Stop by itself after this many seconds of live traffic
    #[arg(long)]
    pub duration_secs: Option<u64>,
    /// Simulated live events per second
    #[arg(long, default_value_t = 20)]
    pub live_events_per_s: u64,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Durable consumer name (each ledger replica needs its own)
    #[arg(long, env = "GOLIVE_CONSUMER", default_value = "golive-ledger")]
    pub consumer: String,
    /// Address of the HTTP API, dashboard and metrics (default 127.0.0.1:8080; port 0 picks a
    /// free port and prints it); `off` to serve none
    #[arg(long, env = "GOLIVE_HTTP")]
    pub http: Option<String>,
    /// Replicas of the stream GOLIVE (created with them, or checked): 1 on one server, 3 in a
    /// 3-node cluster (default: the config file's [stream] replicas, else 1)
    #[arg(long, env = "GOLIVE_STREAM_REPLICAS", value_name = "N", value_parser = stream_replicas)]
    pub stream_replicas: Option<usize>,
    /// When the store is refused at open (damaged, of another format, no room), stay up on the
    /// --http address and answer /healthz, /metrics (golive_store_open_refused 1) and 503 with
    /// the reason on every other path until stopped, then exit 1; without it (or with --http
    /// off), exit 1 at once. For supervisors that would restart it in a loop, and for the
    /// alert rule GoliveStoreRefusedAtOpen
    #[arg(long, env = "GOLIVE_STAY_UP_WHEN_REFUSED")]
    pub stay_up_when_refused: bool,
}

#[derive(clap::Args)]
pub struct CollectArgs {
    /// JSONL or CSV file (by extension), or `-` for stdin (JSONL); with --map, a trust's own
    /// CSV export
    #[arg(required_unless_present_any = ["watch", "status"])]
    pub input: Option<String>,
    /// Watch this directory for new *.jsonl / *.csv files instead (runs until stopped)
    #[arg(long, value_name = "DIR", conflicts_with = "input")]
    pub watch: Option<PathBuf>,
    /// Show what is still pending in the outbox (no NATS needed) and exit
    #[arg(long)]
    pub status: bool,
    /// One JSON object on stdout: with --status the outbox's state, else the run's summary
    /// (README.md, "For scripts")
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Publishes in flight at once
    #[arg(long, default_value_t = 1024)]
    pub window: usize,
    /// Re-publish an event the ledger has not confirmed after this long
    #[arg(long, default_value_t = 5_000)]
    pub republish_after_ms: u64,
    /// Give up waiting for receipts after this long (events stay in the outbox); 0 = forever
    #[arg(long, default_value_t = 300)]
    pub wait_receipts_secs: u64,
    /// While it runs, serve Prometheus metrics at http://ADDR/metrics (outbox pending, this
    /// run's counts, NATS connected), e.g. 127.0.0.1:9187; port 0 picks one and prints it. No
    /// token: keep it on loopback or a private network
    #[arg(long, env = "GOLIVE_COLLECT_METRICS", value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Read a trust's own export through a feed mapping (docs/FEEDS.md): `--map MAPPING.toml`
    /// for the input file; with --watch, `--map PATTERN=MAPPING.toml` (repeatable; `*` and `?`
    /// in PATTERN, e.g. `ptl-*.csv=ptl.toml`): files whose name matches are read through it
    #[arg(long, value_name = "[PATTERN=]MAPPING")]
    pub map: Vec<String>,
    /// The trust's pseudonym key (`golive trust-secret new TRUST`), for a mapping that reads
    /// NHS numbers with `pseudonym`. Stays on this host: never sent
    #[arg(long, env = "GOLIVE_TRUST_SECRET", value_name = "FILE")]
    pub trust_secret: Option<PathBuf>,
    /// The trust's signing key (`golive trust-key new TRUST`): every publish carries the
    /// trust's Ed25519 signature of the event in the `Golive-Signature` header, which the
    /// ledger checks against its `[trusts]` keys. Stays on this host: never sent
    #[arg(long, env = "GOLIVE_TRUST_KEY", value_name = "FILE")]
    pub trust_key: Option<PathBuf>,
    /// Read and check the input, print each row's event (row, kind, key fields) or rejection
    /// (row, column, reason), and publish nothing: no NATS, no outbox. Exits 3 when some rows
    /// were rejected. With --json, one JSON object
    #[arg(long, conflicts_with_all = ["watch", "status"])]
    pub dry_run: bool,
}

#[derive(clap::Args)]
pub struct TrustSecretArgs {
    #[command(subcommand)]
    pub what: TrustSecretCommand,
}

#[derive(Subcommand)]
pub enum TrustSecretCommand {
    /// Make a trust's pseudonym key: 32 random bytes in a new file, mode 0600, never
    /// overwritten. Keep it on the trust's collector host only; `golive collect --trust-secret`
    /// reads it. Whoever holds it can link pseudonyms to NHS numbers; without it nobody can
    New(TrustSecretNewArgs),
}

#[derive(clap::Args)]
pub struct TrustSecretNewArgs {
    /// The trust's ODS code, e.g. RNJ
    pub trust: String,
    /// The file to write [default: <TRUST>.trust-secret in the current directory]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct TrustKeyArgs {
    #[command(subcommand)]
    pub what: TrustKeyCommand,
}

#[derive(Subcommand)]
pub enum TrustKeyCommand {
    /// Make a trust's signing key: a new Ed25519 key named by the trust's ODS code, in a new
    /// file of mode 0600, never overwritten. Prints its public key (`<TRUST>+<key id>+<base64>`)
    /// on stdout, for `[trusts.<TRUST>] keys` in the ledger's config. Keep the file on the
    /// trust's collector host only; `golive collect --trust-key` reads it
    New(TrustKeyNewArgs),
    /// Print the public key of a trust's (or the admin's) signing key file
    Show(TrustKeyShowArgs),
    /// Make the admin key that signs `trust_key` events: like `new`, named `golive-admin` (or
    /// --name). Its public key goes into the ledger's `[admin] keys` and to auditors
    /// (`golive audit verify --admin-key`); keep the file off the trusts' hosts
    NewAdmin(TrustKeyNewAdminArgs),
    /// Publish a `trust_key` event signed with the admin key: add a trust's key, rotate to a
    /// new one, or revoke one from a date. The ledger checks the admin signature and applies
    /// the change to the keys in force from that record on; auditors read it from the log.
    /// Waits for the stream's acknowledgement; a refusal is a dead letter with the reason
    Publish(Box<TrustKeyPublishArgs>),
}

#[derive(clap::Args)]
pub struct TrustKeyNewAdminArgs {
    /// The key's name
    #[arg(long, default_value = "golive-admin")]
    pub name: String,
    /// The file to write [default: <NAME>.admin-key in the current directory]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("change").required(true).args(["add", "rotate_to", "revoke"])))]
pub struct TrustKeyPublishArgs {
    /// The trust whose keys change (ODS code)
    pub trust: String,
    /// The admin key file (`golive trust-key new-admin`)
    #[arg(long, env = "GOLIVE_ADMIN_KEY", value_name = "FILE")]
    pub admin_key: PathBuf,
    /// Add this public key of the trust (as `golive trust-key new` printed it)
    #[arg(long, value_name = "KEY")]
    pub add: Option<String>,
    /// Rotate to this public key, revoking --replaces from --revoked-at
    #[arg(long = "rotate-to", value_name = "KEY", requires_all = ["replaces", "revoked_at"])]
    pub rotate_to: Option<String>,
    /// With --rotate-to: the key it replaces
    #[arg(long, value_name = "KEY")]
    pub replaces: Option<String>,
    /// Revoke this public key of the trust from --revoked-at
    #[arg(long, value_name = "KEY", requires = "revoked_at")]
    pub revoke: Option<String>,
    /// From when the revoked key's signatures stop counting (RFC 3339 UTC); its signatures of
    /// events recorded before stay valid
    #[arg(long, value_name = "TIME")]
    pub revoked_at: Option<String>,
    /// Also set the trust's signature policy: required or optional
    #[arg(long, value_name = "POLICY")]
    pub signatures: Option<String>,
    /// The source the event names (e.g. the change ticket)
    #[arg(
        long = "ref",
        value_name = "TEXT",
        default_value = "golive trust-key publish"
    )]
    pub reference: String,
    /// Print the event and its signature header instead of publishing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub nats: NatsArgs,
}

#[derive(clap::Args)]
pub struct TrustKeyNewArgs {
    /// The trust's ODS code, e.g. RAL
    pub trust: String,
    /// The file to write [default: <TRUST>.trust-key in the current directory]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct TrustKeyShowArgs {
    /// The trust's signing key file
    pub file: PathBuf,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub what: AuditCommand,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Print the ledger's public key in the signed-note verifier key format
    /// (`<origin>+<key id>+<base64 key>`), creating the signing key if there is none yet
    Pubkey,
    /// Write the history as JSONL (header, one line per record, then the signed checkpoints
    /// with consistency proofs); streams, with a progress bar on a terminal
    Export(AuditExportArgs),
    /// Recompute every hash and the Merkle tree, check every signed checkpoint's signature,
    /// root and consistency. Prints `OK head seq N hash H root R` (exit 0), or the first bad
    /// seq and what is wrong (TAMPERED, exit 8); exit 6 when the input cannot be read
    Verify(AuditVerifyArgs),
    /// Rebuild every projection from an export alone and print them (as `golive query` would
    /// at that seq)
    Replay(AuditReplayArgs),
    /// Verify an export as `verify` does, then fold its verified records alone (no store) and
    /// print each trust's headline figures at a tree size: the figures of `golive report` and
    /// the API at that sequence, re-derived offline. Exit 0, or as `verify` (8 tampered, 6
    /// could not read)
    Figures(AuditFiguresArgs),
    /// Say where two ledgers diverge, if anywhere: each a store directory, an export file or a
    /// running ledger's URL (http://...). Exit 0 identical or one a prefix of the other (a
    /// replica behind), 7 diverged, 6 could not read
    Compare(AuditCompareArgs),
}

#[derive(clap::Args)]
pub struct AuditExportArgs {
    #[arg(long, value_name = "SEQ", default_value_t = 1)]
    pub from_seq: u64,
    #[arg(long, value_name = "SEQ")]
    pub to_seq: Option<u64>,
    /// Output file (default: stdout)
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Export from a running ledger over its HTTP API (e.g. http://127.0.0.1:8080) instead
    /// of opening --data; needed while a ledger holds the store open. Without it, a store
    /// held by a running `golive serve`/`demo` is exported through that ledger's address
    #[arg(long, value_name = "URL", env = "GOLIVE_SERVER")]
    pub server: Option<String>,
}

#[derive(clap::Args)]
pub struct AuditVerifyArgs {
    /// An export file (as written by `golive audit export`)
    pub file: Option<PathBuf>,
    /// The same, as a flag
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    pub export: Option<PathBuf>,
    /// Verify a ledger's store directory instead (the global --data)
    #[arg(long, conflicts_with_all = ["file", "export", "server"])]
    pub store: bool,
    /// Verify a running ledger over its HTTP API, e.g. http://127.0.0.1:8080
    #[arg(long, value_name = "URL", conflicts_with_all = ["file", "export"])]
    pub server: Option<String>,
    /// The ledger's public key (`<origin>+<key id>+<base64>`), or a file holding it. Get it
    /// from the operator out of band, not from the data you are checking
    #[arg(long, value_name = "KEY")]
    pub pubkey: String,
    /// Also check each record's origin signature against these trust keys: a TOML file with
    /// a `[trusts]` section as in the ledger's config (`[trusts.RAL] signatures = "required"`,
    /// `keys = [...]`), from the trusts, not from the operator. Reports per trust how many
    /// events are signed, unsigned or signed by a key revoked since; a bad signature is
    /// TAMPERED at its seq
    #[arg(long, value_name = "FILE")]
    pub trust_keys: Option<PathBuf>,
    /// Take the trusts' keys from the log itself: its `trust_key` events, each of which must be
    /// signed by one of these admin keys (`<name>+<key id>+<base64>`, as `golive trust-key
    /// new-admin` printed it; repeatable), applied in log order on top of --trust-keys (if
    /// given). An unsigned or badly signed key change is TAMPERED at its seq
    #[arg(long = "admin-key", value_name = "KEY")]
    pub admin_keys: Vec<String>,
    /// One JSON object on stdout: {result: verified|tampered|could_not_read, verified |
    /// problem | error}
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct AuditReplayArgs {
    pub file: PathBuf,
    #[arg(long, value_name = "SEQ")]
    pub to_seq: Option<u64>,
    /// One JSON object: {as_of_seq, lost_patients, money, rollout, warnings, deferred,
    /// incidents, trusts}, each as `golive query <what> --json` prints it
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct AuditFiguresArgs {
    /// An export file (as written by `golive audit export`)
    #[arg(long, value_name = "FILE")]
    pub export: PathBuf,
    /// The ledger's public key (`<origin>+<key id>+<base64>`), or a file holding it, from the
    /// operator out of band
    #[arg(long)]
    pub pubkey: String,
    /// The tree size (sequence) to compute the figures at (default: the export's last record)
    #[arg(long, value_name = "N")]
    pub at_size: Option<u64>,
    /// Only the events on the public record at this time (RFC 3339 UTC), as `query --known-at`
    #[arg(long, value_name = "TIME")]
    pub known_at: Option<String>,
    /// Only this trust (ODS code)
    #[arg(long, conflicts_with = "programme")]
    pub trust: Option<String>,
    /// Only the member trusts of this programme
    #[arg(long, value_name = "NAME")]
    pub programme: Option<String>,
    /// One JSON object: {result, as_of_seq, signed_size, root, figures: {trusts: {...}}}
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct AuditCompareArgs {
    pub a: String,
    pub b: String,
    /// One JSON object on stdout: {result: identical|prefix|diverged|could_not_read, a, b, ...}
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct TokenArgs {
    /// Who will hold it (shown in logs when a request is refused, and used to revoke it)
    pub name: String,
    /// analyst (projections), auditor (also the log and proofs) or admin (also dead letters
    /// and metrics)
    #[arg(long)]
    pub role: golive_http::Role,
    /// Append the entry to this config file instead of printing it
    #[arg(long, value_name = "FILE")]
    pub append_to: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct NatsUserArgs {
    #[command(subcommand)]
    pub what: NatsUserCommand,
}

#[derive(Subcommand)]
pub enum NatsUserCommand {
    /// Create a user: writes DIR/<TRUST>.nk (the seed, mode 0600: copy it to that trust's
    /// collector host only, for `golive collect --nkey`) and prints the public key and the block
    /// to add to the `users` list of deploy/nats/auth.conf (see deploy/README.md)
    Add(NatsUserAddArgs),
}

#[derive(clap::Args)]
pub struct NatsUserAddArgs {
    /// The trust's ODS code, e.g. RAL: it may publish only on golive.events.<TRUST>.>
    #[arg(required_unless_present = "ledger", conflicts_with = "ledger")]
    pub trust: Option<String>,
    /// The ledger's user instead (`golive serve --nkey`): consumes the stream, answers receipts
    #[arg(long)]
    pub ledger: bool,
    /// The ledger's durable consumer name (`golive serve --consumer`)
    #[arg(long, default_value = "golive-ledger", requires = "ledger")]
    pub consumer: String,
    /// Directory for the seed file (created if missing)
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(clap::Args)]
pub struct RepairArgs {
    /// The export (`golive audit export`) to rebuild from; verified first
    #[arg(long, value_name = "FILE")]
    pub from_export: PathBuf,
    /// The ledger's public key, or a file holding it, to verify the export with
    #[arg(long, value_name = "KEY")]
    pub pubkey: String,
    /// The damaged ledger's directory: its signing key is copied over (else a new key)
    #[arg(long, value_name = "DIR")]
    pub key_from: Option<PathBuf>,
}

/// How to reach NATS.
#[derive(clap::Args, Clone)]
pub struct NatsArgs {
    /// NATS server URL
    #[arg(
        long = "nats",
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub url: String,
    /// NATS credentials file (.creds: user JWT and NKey seed), if the server requires one
    #[arg(long = "creds", env = "GOLIVE_NATS_CREDS", value_name = "FILE")]
    pub creds: Option<PathBuf>,
    /// NKey seed file of this NATS user (deploy/nats/auth.conf; made by `golive nats-user add`);
    /// refused if group or others can read it
    #[arg(
        long = "nkey",
        env = "GOLIVE_NATS_NKEY",
        value_name = "FILE",
        conflicts_with = "creds"
    )]
    pub nkey: Option<PathBuf>,
    /// PEM file of the CA that signed the NATS server's certificate (deploy/nats/tls.conf),
    /// trusted instead of the system's roots; with it (or --nats-cert) TLS is required
    #[arg(long = "nats-ca", env = "GOLIVE_NATS_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// PEM certificate of this client, for a NATS server that verifies clients
    /// (deploy/nats/tls-verify.conf); needs --nats-key
    #[arg(
        long = "nats-cert",
        env = "GOLIVE_NATS_CERT",
        value_name = "FILE",
        requires = "key"
    )]
    pub cert: Option<PathBuf>,
    /// PEM private key of --nats-cert; refused if group or others can read it
    #[arg(
        long = "nats-key",
        env = "GOLIVE_NATS_KEY",
        value_name = "FILE",
        requires = "cert"
    )]
    pub key: Option<PathBuf>,
}

impl NatsArgs {
    /// The TLS options as the ledger service and the collector take them.
    pub fn tls(&self) -> golive_model::protocol::NatsTls {
        golive_model::protocol::NatsTls {
            ca: self.ca.clone(),
            client: self.cert.clone().zip(self.key.clone()),
        }
    }
}

fn stream_replicas(s: &str) -> Result<usize, String> {
    let n = s.parse().map_err(|e| format!("{e}"))?;
    golive::config::check_stream_replicas(n)
}
