//! What `golive serve` says on stderr: where it starts, where it serves HTTP, and what it did
//! when it stops. Tests and operators read the HTTP line to find a port picked with `:0`.

use std::net::SocketAddr;
use std::path::Path;

use golive_service::ServeSummary;
use golive_store::Head;

use super::line;

/// The first line: the ledger, its head and the NATS server.
pub fn started(data_dir: &Path, head_seq: u64, nats_url: &str) -> String {
    line(format_args!(
        "golive serve: ledger {} at seq {head_seq}, NATS {nats_url}",
        data_dir.display()
    ))
}

/// `golive serve --check-config`: what a start would use (the checks passed).
pub fn config_ok(data_dir: &Path, http: Option<SocketAddr>, open: bool, replicas: usize) -> String {
    let http = match http {
        Some(a) if open => format!("HTTP {a} open (no tokens)"),
        Some(a) => format!("HTTP {a} with tokens"),
        None => "no HTTP".to_owned(),
    };
    line(format_args!(
        "golive serve: configuration OK (ledger {}, {http}, stream replicas {replicas}); nothing started",
        data_dir.display()
    ))
}

/// `--stay-up-when-refused` after the store was refused at open (the error is printed first).
pub fn refused_staying_up(scheme: &str, bound: SocketAddr) -> String {
    line(format_args!(
        "golive serve: the store was refused at open; answering /healthz and /metrics \
         (golive_store_open_refused 1) on {scheme}://{bound}/ and 503 elsewhere until stopped"
    ))
}

/// Where the API and dashboard answer, and whether they ask for tokens.
pub fn http_listening(scheme: &str, bound: SocketAddr, open: bool) -> String {
    line(format_args!(
        "golive serve: HTTP API and dashboard on {scheme}://{bound}/{}",
        if open {
            " (open: no tokens configured)"
        } else {
            " (bearer tokens required)"
        }
    ))
}

/// The default address is taken (not an error: `--http` was not given).
pub fn http_default_unavailable(addr: SocketAddr, error: &std::io::Error) -> String {
    line(format_args!(
        "golive serve: cannot listen for HTTP on the default {addr} ({error}); serving without HTTP. Pass --http ADDR to choose an address"
    ))
}

/// The last line: what the consumer loop did, and the head it left.
pub fn stopped(summary: &ServeSummary, head: &Head) -> String {
    line(format_args!(
        "golive serve stopped: {} messages, {} appended, {} duplicates, {} dead letters; head seq {} hash {}",
        summary.messages,
        summary.appended,
        summary.duplicates,
        summary.dead_lettered,
        head.seq,
        hex::encode(head.hash)
    ))
}
