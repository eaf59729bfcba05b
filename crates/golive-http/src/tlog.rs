//! The auditors' routes: the log itself, the signed checkpoints, and Merkle proofs. Everything
//! here can be checked with `golive_verify` (or any RFC 9162 / C2SP implementation) without
//! trusting this server. Hashes are lowercase hex; checkpoint notes are the signed-note text
//! (whose root hash is base64, as that format requires).
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /v1/events?from_seq=A&limit=L&start=true` | `{"head_seq", "from_seq", "records": [export record lines], "next_from_seq"}`; `limit` 1 to 1,000 (default 100); `next_from_seq` is null at the head; with `start=true` also `"start": {"prev_hash", "tree_prefix"}`, the chain hash and Merkle frontier before `from_seq` (an export header's fields) |
//! | `GET /v1/checkpoints?from_size=S&limit=L` | `{"origin", "public_key", "checkpoints": [{"size", "note"}]}`, ascending from size S (default 0), `limit` 1 to 1,000 (default 1,000) |
//! | `GET /v1/proof/inclusion?seq=S&size=N` | `{"seq", "leaf_index", "tree_size", "chain_hash", "leaf_hash", "root", "proof": [hex], "checkpoint"}`; `size` defaults to the latest signed checkpoint's (else the head); `checkpoint` is the signed note of that size, if there is one |
//! | `GET /v1/proof/consistency?from=A&to=B` | `{"from", "to", "from_root", "to_root", "proof": [hex]}`; `to` defaults as `size` above |
//!
//! Records in `/v1/events` have the export's line format (`golive_verify::export`), with the
//! event's canonical bytes verbatim as the `event` value, so a client can recompute each chain
//! hash from the response bytes.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use golive_store::{Store, StoreError};
use golive_verify::{record_leaf, to_hex, write_record_line};
use serde::Deserialize;

use crate::{ApiError, AppState};

/// Most records per `/v1/events` page.
pub const EVENTS_PAGE_MAX: u64 = 1_000;
/// Records per page when `limit` is not given.
pub const EVENTS_PAGE_DEFAULT: u64 = 100;
/// Most checkpoints per `/v1/checkpoints` answer.
pub const CHECKPOINTS_PAGE_MAX: usize = 1_000;

/// The auditor routes, to merge into the API's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/events", get(events))
        .route("/v1/checkpoints", get(checkpoints))
        .route("/v1/proof/inclusion", get(inclusion))
        .route("/v1/proof/consistency", get(consistency))
}

/// The store and the log's origin and key, taken under the ledger's lock for a moment only.
fn store_of(state: &AppState) -> Result<(Store, Option<(String, String)>), ApiError> {
    let ledger = state
        .ledger
        .lock()
        .map_err(|_| ApiError::Internal("ledger lock poisoned".into()))?;
    let signer = ledger
        .checkpoint_signer()
        .map(|s| (s.origin().to_owned(), s.verifier().to_string()));
    Ok((ledger.store().clone(), signer))
}

fn internal(e: StoreError) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// Runs store reads (blocking sled IO) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("audit task failed: {e}")))?
}

#[derive(Deserialize)]
struct EventsQuery {
    from_seq: Option<u64>,
    limit: Option<u64>,
    /// Also say where the page starts: the chain hash and Merkle frontier before `from_seq`
    /// (an export's header needs them).
    #[serde(default)]
    start: bool,
}

async fn events(
    State(state): State<AppState>,
    Query(q): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    let from = q.from_seq.unwrap_or(1).max(1);
    let with_start = q.start;
    let limit = q.limit.unwrap_or(EVENTS_PAGE_DEFAULT);
    if !(1..=EVENTS_PAGE_MAX).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be from 1 to {EVENTS_PAGE_MAX}"
        )));
    }
    let (store, _) = store_of(&state)?;
    let body = blocking(move || {
        let head = store.head().seq;
        let to = from.saturating_add(limit - 1).min(head);
        let mut records = Vec::new();
        let mut n = 0u64;
        for r in store.range(from, to) {
            let r = r.map_err(internal)?;
            records.push(if n == 0 { b'[' } else { b',' });
            r.with_export(|e| write_record_line(&mut records, e));
            records.pop(); // the line's newline
            n += 1;
        }
        if n == 0 {
            records.push(b'[');
        }
        records.push(b']');
        let next = if from + n <= head {
            (from + n).to_string()
        } else {
            "null".to_owned()
        };
        let mut body = format!("{{\"head_seq\":{head},\"from_seq\":{from},").into_bytes();
        if with_start {
            let before = from.min(head + 1) - 1;
            let prev_hash = match before {
                0 => golive_model::GENESIS_HASH,
                seq => {
                    store
                        .get(seq)
                        .map_err(internal)?
                        .ok_or_else(|| ApiError::Internal(format!("record {seq} is missing")))?
                        .hash
                }
            };
            let frontier = store.merkle_frontier(before).map_err(internal)?;
            let start = serde_json::json!({
                "prev_hash": to_hex(&prev_hash),
                "tree_prefix": frontier.hashes().iter().map(|h| to_hex(h)).collect::<Vec<_>>(),
            });
            body.extend_from_slice(format!("\"start\":{start},").as_bytes());
        }
        body.extend_from_slice(b"\"records\":");
        body.extend_from_slice(&records);
        body.extend_from_slice(format!(",\"next_from_seq\":{next}}}").as_bytes());
        Ok(body)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Deserialize)]
struct CheckpointsQuery {
    from_size: Option<u64>,
    limit: Option<usize>,
}

async fn checkpoints(
    State(state): State<AppState>,
    Query(q): Query<CheckpointsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = q.limit.unwrap_or(CHECKPOINTS_PAGE_MAX);
    if !(1..=CHECKPOINTS_PAGE_MAX).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be from 1 to {CHECKPOINTS_PAGE_MAX}"
        )));
    }
    let (store, signer) = store_of(&state)?;
    let from = q.from_size.unwrap_or(0);
    let list = blocking(move || {
        store
            .signed_checkpoints(from, u64::MAX, limit)
            .map_err(internal)
    })
    .await?;
    Ok(Json(serde_json::json!({
        "origin": signer.as_ref().map(|s| &s.0),
        "public_key": signer.as_ref().map(|s| &s.1),
        "checkpoints": list
            .into_iter()
            .map(|(size, note)| serde_json::json!({"size": size, "note": note}))
            .collect::<Vec<_>>(),
    })))
}

/// The tree size proofs default to: the latest signed checkpoint's, else the head.
fn default_size(store: &Store) -> Result<u64, ApiError> {
    Ok(match store.latest_signed_checkpoint().map_err(internal)? {
        Some((size, _)) => size,
        None => store.head().seq,
    })
}

fn check_size(store: &Store, size: u64) -> Result<(), ApiError> {
    let head = store.head().seq;
    if size > head {
        return Err(ApiError::BadRequest(format!(
            "tree size {size} is beyond the head ({head})"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
struct InclusionQuery {
    seq: u64,
    size: Option<u64>,
}

async fn inclusion(
    State(state): State<AppState>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (store, _) = store_of(&state)?;
    blocking(move || {
        let size = match q.size {
            Some(s) => s,
            None => default_size(&store)?,
        };
        check_size(&store, size)?;
        if q.seq == 0 || q.seq > size {
            return Err(ApiError::BadRequest(format!(
                "seq must be from 1 to the tree size {size}"
            )));
        }
        let record = store
            .get(q.seq)
            .map_err(internal)?
            .ok_or_else(|| ApiError::NotFound(format!("no record at seq {}", q.seq)))?;
        let proof = store.inclusion_proof(q.seq, size).map_err(internal)?;
        let root = store.merkle_root(size).map_err(internal)?;
        let note = store
            .signed_checkpoints(size, size, 1)
            .map_err(internal)?
            .pop()
            .map(|(_, n)| n);
        Ok(Json(serde_json::json!({
            "seq": q.seq,
            "leaf_index": q.seq - 1,
            "tree_size": size,
            "chain_hash": to_hex(&record.hash),
            "leaf_hash": to_hex(&record_leaf(&record.hash)),
            "root": to_hex(&root),
            "proof": proof.iter().map(|h| to_hex(h)).collect::<Vec<_>>(),
            "checkpoint": note,
        })))
    })
    .await
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (store, _) = store_of(&state)?;
    blocking(move || {
        let to = match q.to {
            Some(t) => t,
            None => default_size(&store)?,
        };
        check_size(&store, to)?;
        if q.from > to {
            return Err(ApiError::BadRequest(format!(
                "from ({}) must not be beyond to ({to})",
                q.from
            )));
        }
        let proof = store.consistency_proof(q.from, to).map_err(internal)?;
        Ok(Json(serde_json::json!({
            "from": q.from,
            "to": to,
            "from_root": to_hex(&store.merkle_root(q.from).map_err(internal)?),
            "to_root": to_hex(&store.merkle_root(to).map_err(internal)?),
            "proof": proof.iter().map(|h| to_hex(h)).collect::<Vec<_>>(),
        })))
    })
    .await
}
