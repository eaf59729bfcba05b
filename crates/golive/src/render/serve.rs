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
