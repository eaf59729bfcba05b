//! The peer a user would pick instead of the ledger: a PostgreSQL append-only event table, run by
//! `golive-bench all` over the same events as the ledger.
//!
//! Table: `seq bigserial primary key, event_id text unique not null, body bytea not null`, the
//! body being the exact canonical event bytes. Append: batches of 1,000 events, each ONE
//! statement `INSERT ... SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT (event_id) DO
//! NOTHING` (prepared once; a statement outside an explicit transaction is its own transaction,
//! so each batch is one commit), fsync=on, synchronous_commit=on: a batch is durable when the
//! call returns, as a ledger batch is. Replay: `SELECT body ... ORDER BY seq` streamed row by
//! row (`query_raw`), each body decoded with `golive_model::decode` into an `Envelope`.
//!
//! The server is the bench's own (`initdb` into the bench directory, a free loopback port, the
//! unix socket beside the data, stopped and removed at the end, also on error), or one the user
//! names with `--pg-url`. Debian's binaries live in `/usr/lib/postgresql/<version>/bin`; `initdb`
//! refuses to run as root, so as root the server runs as the `postgres` user (`runuser`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use golive_model::decode;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};
use serde::Serialize;

use crate::events::{BenchEvents, median_of, rate};

/// The bench's table, created afresh for every run (and dropped at the end on a `--pg-url`).
const TABLE: &str = "golive_bench_events";

/// Settings of the bench's own server beyond Debian's defaults (durability as the ledger's:
/// fsync and synchronous commit on; full_page_writes left at its default, on). The memory and
/// checkpoint settings are the ones a user loading a large append-only table would set.
const SETTINGS: &[(&str, &str)] = &[
    ("fsync", "on"),
    ("synchronous_commit", "on"),
    ("shared_buffers", "'512MB'"),
    ("wal_buffers", "'64MB'"),
    ("max_wal_size", "'8GB'"),
    ("checkpoint_timeout", "'30min'"),
];

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "PostgreSQL is not installed (no initdb/pg_ctl in /usr/lib/postgresql/*/bin or on PATH); Debian: apt-get install postgresql"
    )]
    NotInstalled,
    #[error("the `postgres` user, which runs the server when golive runs as root, does not exist")]
    NoPostgresUser,
    #[error("{what} failed: {detail}")]
    Server { what: String, detail: String },
    #[error("PostgreSQL: {0}")]
    Client(#[from] postgres::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("PostgreSQL run incomplete: {0}")]
    Incomplete(String),
}

/// One run's figures of the PostgreSQL peer.
#[derive(Debug, Clone, Serialize)]
pub struct PgRun {
    /// Durable append: batches of 1,000, one commit each.
    pub append_per_s: f64,
    /// `SELECT body ORDER BY seq`, streamed, each body decoded into an Envelope.
    pub replay_decode_per_s: f64,
    /// `pg_total_relation_size` of the table (heap, TOAST, both indexes), per event.
    pub table_bytes_per_event: f64,
    /// WAL written during the append, per event.
    pub wal_bytes_per_event: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PgReport {
    pub server_version: String,
    /// "own" (started by the bench) or "external" (`--pg-url`).
    pub server: String,
    pub settings: Vec<(String, String)>,
    pub batch_events: usize,
    pub method: &'static str,
    pub runs: Vec<PgRun>,
    pub median: PgRun,
}

/// The directory of PostgreSQL's server binaries: the newest `/usr/lib/postgresql/<ver>/bin`,
/// else the one of `initdb` on PATH.
pub fn find_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

/// A PostgreSQL server this process started, in its own directory; stopped (`pg_ctl stop -m
/// fast`) and removed when dropped.
pub struct OwnPostgres {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    started: bool,
    pub port: u16,
    /// Stops the server and removes its directory if a signal ends the run (`pg_ctl` puts the
    /// server in a session of its own: Ctrl-C on the bench does not reach it).
    on_signal: Option<golive::on_signal::Registration>,
}

impl OwnPostgres {
    /// Connection parameters: the unix socket in the data directory.
    pub fn conn_string(&self) -> String {
        format!(
            "host={} port={} user=postgres dbname=postgres",
            self.data.display(),
            self.port
        )
    }

    fn command(&self, tool: &str) -> Command {
        tool_command(&self.bin, self.as_postgres, tool)
    }

    fn run(&self, what: &str, mut c: Command) -> Result<(), PgError> {
        let out = c.stdin(Stdio::null()).output()?;
        if !out.status.success() {
            return Err(PgError::Server {
                what: what.to_owned(),
                detail: format!(
                    "{}{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
                )
                .trim()
                .to_owned(),
            });
        }
        Ok(())
    }
}

/// A PostgreSQL tool from `bin`, run as the `postgres` user when this process is root.
fn tool_command(bin: &Path, as_postgres: bool, tool: &str) -> Command {
    let exe = bin.join(tool);
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

/// `pg_ctl stop` of the server in `data` (`mode`: fast, or immediate when a signal ends the
/// run), waiting up to a minute.
fn stop_server(bin: &Path, as_postgres: bool, data: &Path, mode: &str) {
    let mut c = tool_command(bin, as_postgres, "pg_ctl");
    c.arg("stop")
        .arg("-D")
        .arg(data)
        .args(["-m", mode, "-w", "-t", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _ = c.status();
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        if self.started {
            stop_server(&self.bin, self.as_postgres, &self.data, "fast");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The uid and gid of the `postgres` user.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == "postgres")
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

/// True when every existing ancestor of `dir` lets other users through (o+x), as the
/// `postgres` user needs to reach its data directory.
fn others_can_reach(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    dir.ancestors()
        .filter_map(|a| std::fs::metadata(a).ok())
        .all(|m| m.permissions().mode() & 0o001 != 0)
}

/// Starts a fresh server under `dir` (created; must not exist yet) on a free loopback port. As
/// root, when the `postgres` user cannot reach `dir` (say a 0700 temporary directory), the
/// server's directory is `golive-bench-pg-<pid>` in the system temp dir instead.
pub fn start(dir: &Path) -> Result<OwnPostgres, PgError> {
    let bin = find_bin_dir().ok_or(PgError::NotInstalled)?;
    // SAFETY: geteuid has no preconditions.
    let as_postgres = unsafe { libc::geteuid() } == 0;
    let dir = server_dir(dir, as_postgres);
    std::fs::create_dir_all(&dir)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut pg = OwnPostgres {
        bin,
        data: dir.join("data"),
        dir,
        as_postgres,
        started: false,
        port,
        on_signal: None,
    };
    // From here on a signal removes the directory, and stops the server if it runs by then
    // (`pg_ctl stop` of a server not started yet fails at once, harmlessly).
    pg.on_signal = Some({
        let (bin, as_postgres) = (pg.bin.clone(), pg.as_postgres);
        let (data, dir) = (pg.data.clone(), pg.dir.clone());
        golive::on_signal::register(move || {
            stop_server(&bin, as_postgres, &data, "immediate");
            golive::on_signal::remove_dir(&dir);
        })
    });
    if as_postgres {
        let (uid, gid) = postgres_user().ok_or(PgError::NoPostgresUser)?;
        std::os::unix::fs::chown(&pg.dir, Some(uid), Some(gid))?;
    }
    pg.initdb()?;
    pg.start_server()?;
    Ok(pg)
}

/// Where the server's directory goes: `dir`, unless the server runs as the `postgres` user and
/// that user cannot reach it.
fn server_dir(dir: &Path, as_postgres: bool) -> PathBuf {
    if as_postgres && !others_can_reach(dir.parent().unwrap_or(dir)) {
        let fallback = std::env::temp_dir().join(format!("golive-bench-pg-{}", std::process::id()));
        tracing::info!(dir = %fallback.display(), "the postgres user cannot reach the bench directory: PostgreSQL runs in the temp dir");
        fallback
    } else {
        dir.to_path_buf()
    }
}

impl OwnPostgres {
    /// `initdb` of the data directory, then the bench's settings appended to its
    /// postgresql.conf: loopback only, the port, the socket beside the data, [`SETTINGS`].
    fn initdb(&self) -> Result<(), PgError> {
        let mut c = self.command("initdb");
        c.arg("-D")
            .arg(&self.data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            // initdb's own fsyncs of the template files only; the server below runs with fsync on.
            .arg("--no-sync");
        self.run("initdb", c)?;
        let conf: String = [
            ("listen_addresses", "'127.0.0.1'".to_owned()),
            ("port", self.port.to_string()),
            (
                "unix_socket_directories",
                format!("'{}'", self.data.display()),
            ),
        ]
        .into_iter()
        .chain(SETTINGS.iter().map(|(k, v)| (*k, (*v).to_owned())))
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.conf"))?;
        f.write_all(b"\n# golive bench all\n")?;
        f.write_all(conf.as_bytes())?;
        Ok(())
    }

    /// `pg_ctl start`, waiting up to a minute for the server to accept connections. From here
    /// on Drop stops it.
    fn start_server(&mut self) -> Result<(), PgError> {
        let mut c = self.command("pg_ctl");
        c.arg("start")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.dir.join("postgres.log"))
            .args(["-w", "-t", "60"]);
        self.started = true;
        self.run("pg_ctl start", c)
    }
}

/// Measures the peer `runs` times over `ev` (a fresh table each run) on the server at `conn`.
pub fn pg_bench(
    conn: &str,
    server: &str,
    ev: &BenchEvents,
    runs: usize,
    batch: usize,
) -> Result<PgReport, PgError> {
    let batch = batch.max(1);
    let ids: Vec<String> = ev
        .envelopes
        .iter()
        .map(|e| e.event_id.to_string())
        .collect();
    let mut client = Client::connect(conn, NoTls)?;
    let (server_version, settings) = server_facts(&mut client)?;
    let mut all = Vec::new();
    for run in 0..runs.max(1) {
        let figures = pg_run(&mut client, &ids, ev, batch)?;
        tracing::info!(run, ?figures, "postgres bench run done");
        all.push(figures);
    }
    client.batch_execute(&format!("DROP TABLE IF EXISTS {TABLE}"))?;
    Ok(PgReport {
        server_version,
        server: server.to_owned(),
        settings,
        batch_events: batch,
        method: "one prepared INSERT ... SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT (event_id) DO NOTHING per batch, autocommit (one transaction, one commit per batch); replay: query_raw SELECT body ORDER BY seq streamed, golive_model::decode per row",
        median: PgRun::median(&all),
        runs: all,
    })
}

/// The server's version and the settings that decide its durability and speed, for the report.
fn server_facts(client: &mut Client) -> Result<(String, Vec<(String, String)>), PgError> {
    let server_version = client
        .query_one("SHOW server_version", &[])?
        .get::<_, String>(0);
    let mut settings = Vec::new();
    for name in [
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "wal_level",
        "shared_buffers",
        "max_wal_size",
    ] {
        let v: String = client.query_one(&format!("SHOW {name}"), &[])?.get(0);
        settings.push((name.to_owned(), v));
    }
    Ok((server_version, settings))
}

/// One run: a fresh table, the append of every event (with the WAL it wrote and the table's
/// size after), then the replay.
fn pg_run(
    client: &mut Client,
    ids: &[String],
    ev: &BenchEvents,
    batch: usize,
) -> Result<PgRun, PgError> {
    let events = ev.len();
    client.batch_execute(&format!(
        "DROP TABLE IF EXISTS {TABLE};
         CREATE TABLE {TABLE} (
             seq bigserial PRIMARY KEY,
             event_id text UNIQUE NOT NULL,
             body bytea NOT NULL
         );
         CHECKPOINT;"
    ))?;
    let lsn: String = client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])?
        .get(0);
    let append_per_s = append_all(client, ids, &ev.canonical, batch)?;
    let wal: i64 = client
        .query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::bigint",
            &[&lsn],
        )?
        .get(0);
    let table: i64 = client
        .query_one(&format!("SELECT pg_total_relation_size('{TABLE}')"), &[])?
        .get(0);
    let replay_decode_per_s = replay_decode(client, events)?;
    Ok(PgRun {
        append_per_s,
        replay_decode_per_s,
        table_bytes_per_event: table as f64 / events.max(1) as f64,
        wal_bytes_per_event: wal as f64 / events.max(1) as f64,
    })
}

/// Appends every event in batches of `batch`, one prepared statement and one commit each;
/// events/s. An error unless every row is inserted.
fn append_all(
    client: &mut Client,
    ids: &[String],
    bodies: &[bytes::Bytes],
    batch: usize,
) -> Result<f64, PgError> {
    let events = ids.len() as u64;
    let insert = client.prepare(&format!(
        "INSERT INTO {TABLE} (event_id, body)
         SELECT * FROM unnest($1::text[], $2::bytea[])
         ON CONFLICT (event_id) DO NOTHING"
    ))?;
    let t = Instant::now();
    let mut inserted = 0u64;
    for (id_chunk, body_chunk) in ids.chunks(batch).zip(bodies.chunks(batch)) {
        let bodies: Vec<&[u8]> = body_chunk.iter().map(|b| b.as_ref()).collect();
        inserted += client.execute(&insert, &[&id_chunk, &bodies])?;
    }
    let append_per_s = rate(events, t);
    if inserted != events {
        return Err(PgError::Incomplete(format!(
            "{inserted} of {events} rows inserted"
        )));
    }
    Ok(append_per_s)
}

/// Reads every body in seq order, streamed, and decodes each into an `Envelope`; rows/s. An
/// error unless it reads `events` rows.
fn replay_decode(client: &mut Client, events: u64) -> Result<f64, PgError> {
    let t = Instant::now();
    let mut rows = client.query_raw(
        &format!("SELECT body FROM {TABLE} ORDER BY seq"),
        std::iter::empty::<i32>(),
    )?;
    let mut n = 0u64;
    while let Some(row) = rows.next()? {
        let body: &[u8] = row.get(0);
        let envelope = decode(body)
            .map_err(|e| PgError::Incomplete(format!("row {} does not decode: {e}", n + 1)))?;
        std::hint::black_box(envelope);
        n += 1;
    }
    drop(rows);
    let replay_decode_per_s = rate(n, t);
    if n != events {
        return Err(PgError::Incomplete(format!(
            "replay read {n} of {events} rows"
        )));
    }
    Ok(replay_decode_per_s)
}

impl PgRun {
    /// The median of every figure over `runs`, each on its own.
    fn median(runs: &[PgRun]) -> PgRun {
        PgRun {
            append_per_s: median_of(runs, |r| r.append_per_s),
            replay_decode_per_s: median_of(runs, |r| r.replay_decode_per_s),
            table_bytes_per_event: median_of(runs, |r| r.table_bytes_per_event),
            wal_bytes_per_event: median_of(runs, |r| r.wal_bytes_per_event),
        }
    }
}
