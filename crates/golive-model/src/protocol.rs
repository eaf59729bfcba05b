//! The NATS wire protocol between trust collectors and the ledger, as pure data: subject names
//! and the encoding of durability receipts. No IO here; the collector and the ledger service do
//! the sending.
//!
//! Receipts are a request/reply exchange rather than a per-collector high-water mark: a
//! high-water mark would wrongly cover an event the broker lost while a later one got through,
//! and would never move past a sequence number that was rejected locally and never sent.

use crate::types::EventId;

/// The JetStream stream that carries events.
pub const STREAM_NAME: &str = "GOLIVE";
/// Subjects of the stream: `golive.events.<TRUST>.<kind>`.
pub const EVENTS_SUBJECTS: &str = "golive.events.>";
/// Prefix of an event's subject; the trust's ODS code and the kind follow.
pub const EVENTS_SUBJECT_PREFIX: &str = "golive.events.";
/// Core NATS request/reply subject on which the ledger answers receipt queries.
pub const RECEIPTS_SUBJECT: &str = "golive.receipts.query";
/// Queue group of the ledgers answering receipts, so that one replica answers each query.
pub const RECEIPTS_QUEUE_GROUP: &str = "golive-ledger";
/// Most event ids in one receipt query (16 bytes each: 64 KiB).
pub const RECEIPT_IDS_MAX: usize = 4096;
/// First token of every reply subject (NATS's conventional inbox prefix).
pub const INBOX_PREFIX: &str = "_INBOX";

/// The reply-subject prefix of a client that authenticates with the NKey `public_key`:
/// `_INBOX.<public key>`. Each user's subscribe permission is then only `_INBOX.<its key>.>`,
/// so no trust can read the replies of another, nor the events the ledger fetches from the
/// stream (they are delivered to the ledger's inbox). See deploy/nats/auth.conf.
pub fn user_inbox_prefix(public_key: &str) -> String {
    format!("{INBOX_PREFIX}.{public_key}")
}

/// The subject a trust's collector may publish on: `golive.events.<TRUST>.>`.
pub fn trust_publish_permission(trust: &str) -> String {
    format!("{EVENTS_SUBJECT_PREFIX}{trust}.>")
}

/// What the ledger knows of one event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReceiptStatus {
    /// Not (yet) durably in the ledger: keep it and re-publish it.
    Unknown = 0,
    /// Appended and flushed to disk: the collector may forget it.
    Appended = 1,
    /// Received but rejected for good (dead-lettered with a reason): re-sending will not help.
    DeadLettered = 2,
}

impl ReceiptStatus {
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Unknown),
            1 => Some(Self::Appended),
            2 => Some(Self::DeadLettered),
            _ => None,
        }
    }
}

/// Why a receipt message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt query is {0} bytes, not a multiple of 16")]
    Length(usize),
    #[error("receipt query has {0} ids; the limit is {RECEIPT_IDS_MAX}")]
    TooMany(usize),
    #[error("receipt reply has {got} statuses for {want} ids")]
    Count { got: usize, want: usize },
    #[error("receipt reply has an unknown status byte {0}")]
    Status(u8),
}

/// The request body: the ids, 16 bytes each.
pub fn encode_receipt_query(ids: &[EventId]) -> Result<Vec<u8>, ReceiptError> {
    if ids.len() > RECEIPT_IDS_MAX {
        return Err(ReceiptError::TooMany(ids.len()));
    }
    Ok(ids.iter().flat_map(|id| *id.as_bytes()).collect())
}

pub fn decode_receipt_query(body: &[u8]) -> Result<Vec<EventId>, ReceiptError> {
    if !body.len().is_multiple_of(16) {
        return Err(ReceiptError::Length(body.len()));
    }
    if body.len() / 16 > RECEIPT_IDS_MAX {
        return Err(ReceiptError::TooMany(body.len() / 16));
    }
    Ok(body
        .chunks_exact(16)
        .map(|c| {
            let mut b = [0u8; 16];
            b.copy_from_slice(c);
            EventId::from_bytes(b)
        })
        .collect())
}

/// The reply body: one status byte per queried id, in the same order.
pub fn encode_receipt_reply(statuses: &[ReceiptStatus]) -> Vec<u8> {
    statuses.iter().map(|s| *s as u8).collect()
}

pub fn decode_receipt_reply(body: &[u8], ids: usize) -> Result<Vec<ReceiptStatus>, ReceiptError> {
    if body.len() != ids {
        return Err(ReceiptError::Count {
            got: body.len(),
            want: ids,
        });
    }
    body.iter()
        .map(|b| ReceiptStatus::from_byte(*b).ok_or(ReceiptError::Status(*b)))
        .collect()
}

/// The trust and kind named by an event subject, if it has the form `golive.events.<T>.<kind>`.
pub fn parse_event_subject(subject: &str) -> Option<(&str, &str)> {
    let rest = subject.strip_prefix(EVENTS_SUBJECT_PREFIX)?;
    let (trust, kind) = rest.split_once('.')?;
    (!trust.is_empty() && !kind.is_empty() && !kind.contains('.')).then_some((trust, kind))
}

/// Who a refused NATS connection was, and the flag to check: for the one-line error of the
/// ledger and of the collector. `nkey_public` is the NKey user's public key, if one was given.
pub fn refused_identity(
    nkey_public: Option<String>,
    credentials: Option<&std::path::Path>,
) -> (String, &'static str) {
    match (nkey_public, credentials) {
        (Some(k), _) => (format!("NKey user {k}"), "check --nkey"),
        (None, Some(p)) => (
            format!("the credentials file {}", p.display()),
            "check --creds",
        ),
        (None, None) => (
            "an anonymous connection".to_owned(),
            "the server requires credentials: give --nkey FILE (or --creds FILE)",
        ),
    }
}

/// The servers of a NATS URL, which may list several separated by commas, as `NATS_URL` and the
/// `nats` CLI take them: `nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222`. The client
/// library parses one string as ONE server, so a cluster's list must be split before connecting;
/// the client then tries each listed server at start and on every reconnect.
pub fn server_urls(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// TLS to NATS, as `golive serve` and `golive collect` take it (`--nats-ca`, `--nats-cert`,
/// `--nats-key`): file paths only; the ledger service and the collector hand them to the client
/// library. With any of them the client requires TLS, so a server that does not offer it is
/// refused rather than talked to in clear.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsTls {
    /// PEM file of the CA(s) that signed the server's certificate, trusted instead of the
    /// system's roots.
    pub ca: Option<std::path::PathBuf>,
    /// PEM certificate and private key of this client, for a server that verifies clients
    /// (deploy/nats/tls-verify.conf). Both or neither.
    pub client: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl NatsTls {
    /// Whether any TLS option is set (the client then requires TLS).
    pub fn required(&self) -> bool {
        self.ca.is_some() || self.client.is_some()
    }

    /// Every file named, with the flag that named it: for the checks before a start.
    pub fn files(&self) -> Vec<(&'static str, &std::path::Path)> {
        let mut files = Vec::new();
        if let Some(ca) = &self.ca {
            files.push(("--nats-ca", ca.as_path()));
        }
        if let Some((cert, key)) = &self.client {
            files.push(("--nats-cert", cert.as_path()));
            files.push(("--nats-key", key.as_path()));
        }
        files
    }

    /// What to check after a TLS failure, given what was set.
    pub fn hint(&self) -> &'static str {
        match (&self.ca, &self.client) {
            (None, None) => {
                "the server requires TLS: give --nats-ca FILE (the CA that signed its certificate), and --nats-cert/--nats-key if it verifies clients"
            }
            (_, None) => {
                "check --nats-ca (the CA that signed the server's certificate, whose names must include the host of the URL); if the server verifies clients, give --nats-cert and --nats-key"
            }
            _ => {
                "check --nats-ca (the CA that signed the server's certificate) and --nats-cert/--nats-key (a certificate the server's CA signed)"
            }
        }
    }
}

/// Whether a connect error's text is a TLS failure (an untrusted or mismatched certificate, a
/// refused client certificate, a server that does not speak TLS): a setting to fix, not a
/// server that is down, so neither the ledger nor the collector retries it. async-nats reports
/// most of these as IO errors, so the words decide.
pub fn is_tls_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "tls",
        "certificate",
        "handshake",
        "peer sent",
        "corrupt message",
    ]
    .iter()
    .any(|w| m.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_failures_are_told_from_a_server_that_is_down() {
        for tls in [
            "IO error: invalid peer certificate: UnknownIssuer",
            "TLS error: could not load certs",
            "IO error: received corrupt message of type InvalidContentType",
            "IO error: peer sent alert: CertificateRequired",
        ] {
            assert!(is_tls_failure(tls), "{tls}");
        }
        for down in ["IO error: Connection refused (os error 111)", "timed out"] {
            assert!(!is_tls_failure(down), "{down}");
        }
    }

    #[test]
    fn tls_lists_its_files_with_their_flags() {
        let tls = NatsTls {
            ca: Some("ca.pem".into()),
            client: Some(("c.pem".into(), "c.key".into())),
        };
        assert!(tls.required());
        let flags: Vec<&str> = tls.files().into_iter().map(|(f, _)| f).collect();
        assert_eq!(flags, ["--nats-ca", "--nats-cert", "--nats-key"]);
        assert!(!NatsTls::default().required());
        assert!(NatsTls::default().hint().contains("--nats-ca FILE"));
    }

    #[test]
    fn a_nats_url_list_splits_into_servers() {
        // Proves a cluster's comma-separated URL list gives one entry per server.
        assert_eq!(
            server_urls("nats://127.0.0.1:4222"),
            ["nats://127.0.0.1:4222"]
        );
        assert_eq!(
            server_urls("nats://a:4222, nats://b:4222,,nats://c:4222"),
            ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
        );
    }

    #[test]
    fn receipts_round_trip_and_refuse_bad_bodies() {
        // Proves query and reply encodings round trip and malformed bodies are errors.
        let ids: Vec<EventId> = (0u8..5).map(|i| EventId::from_bytes([i; 16])).collect();
        let q = encode_receipt_query(&ids).unwrap();
        assert_eq!(decode_receipt_query(&q).unwrap(), ids);
        assert_eq!(
            decode_receipt_query(&q[..17]),
            Err(ReceiptError::Length(17))
        );
        let st = [
            ReceiptStatus::Appended,
            ReceiptStatus::Unknown,
            ReceiptStatus::DeadLettered,
        ];
        let r = encode_receipt_reply(&st);
        assert_eq!(decode_receipt_reply(&r, 3).unwrap(), st);
        assert!(decode_receipt_reply(&r, 4).is_err());
        assert_eq!(decode_receipt_reply(&[9], 1), Err(ReceiptError::Status(9)));
    }

    #[test]
    fn event_subjects_parse() {
        // Proves the subject parser takes exactly `golive.events.<T>.<kind>`.
        assert_eq!(
            parse_event_subject("golive.events.RAL.extra_cost"),
            Some(("RAL", "extra_cost"))
        );
        assert_eq!(parse_event_subject("golive.events.RAL"), None);
        assert_eq!(parse_event_subject("golive.events.RAL.a.b"), None);
        assert_eq!(parse_event_subject("other.RAL.x"), None);
    }

    #[test]
    fn per_user_subjects() {
        // Proves the inbox prefix and publish permission have the shapes deploy/nats/auth.conf uses.
        assert_eq!(user_inbox_prefix("UABC"), "_INBOX.UABC");
        assert_eq!(trust_publish_permission("RAL"), "golive.events.RAL.>");
    }
}
