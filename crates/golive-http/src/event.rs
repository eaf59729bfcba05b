//! `GET /v1/events/{event_id}` (analyst role): one event as the ledger holds it, with what an
//! analyst asks of a figure's evidence: where it is in the log, its sources (in the event),
//! whether it is still in force or was corrected (and by which chain of corrections), what it
//! corrects, what it corroborates or disputes, and which events in force corroborate or dispute
//! it. At the head; the auditor's `/v1/events` pages the log itself.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Json, Response};
use golive_model::{EventId, Kind, Relation};
use golive_store::Store;
use serde::Serialize;

use crate::{ApiError, AppState};

/// Corrections followed at most from one event (a longer chain is cut, and says so).
pub const CORRECTIONS_LISTED_MAX: usize = 100;

/// An event named by another, where the log has it.
#[derive(Serialize)]
struct Named {
    event_id: EventId,
    /// `null` when the log does not hold it (a link may name an event of another ledger).
    seq: Option<u64>,
}

#[derive(Serialize)]
struct Correction {
    event_id: EventId,
    seq: u64,
    recorded_at: String,
}

#[derive(Serialize)]
struct Link {
    event_id: EventId,
    seq: Option<u64>,
    relation: Relation,
}

#[derive(Serialize)]
struct Related {
    event_id: EventId,
    relation: Relation,
    kind: Kind,
}

#[derive(Serialize)]
struct EventAnswer {
    seq: u64,
    head_seq: u64,
    received_at: String,
    /// False once a correction supersedes it: its figures are then the correction's.
    in_force: bool,
    synthetic: bool,
    /// The envelope as appended (docs/EVENTS.md), sources included.
    event: serde_json::Value,
    /// The event this one corrects.
    corrects: Option<Named>,
    /// The corrections that followed, each superseding the one before, the latest last.
    corrected_by: Vec<Correction>,
    /// True when the chain is longer than [`CORRECTIONS_LISTED_MAX`].
    corrected_by_truncated: bool,
    /// What this event corroborates, disputes or otherwise relates to.
    relates_to: Option<Link>,
    /// Events in force that corroborate, dispute or relate to this one.
    related: Vec<Related>,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

pub(crate) async fn event(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = EventId::parse(&raw).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "event id `{raw}` is not a UUID such as 0f8e7c1a-3b2d-4c5e-9f60-7a8b9c0d1e2f"
        ))
    })?;
    let related: Vec<Related> = {
        let ledger = state
            .ledger
            .lock()
            .map_err(|_| internal("ledger lock poisoned"))?;
        ledger
            .projections()
            .links_to(&id)
            .into_iter()
            .map(|l| Related {
                event_id: l.event_id,
                relation: l.relation,
                kind: l.kind,
            })
            .collect()
    };
    let store = state.store.clone();
    let answer = tokio::task::spawn_blocking(move || look_up(&store, id, related))
        .await
        .map_err(internal)??;
    Ok(Json(answer).into_response())
}

fn look_up(store: &Store, id: EventId, related: Vec<Related>) -> Result<EventAnswer, ApiError> {
    let head_seq = store.head().seq;
    let Some(r) = store.record_of(&id).map_err(internal)? else {
        return Err(match store.dead_letter_of(&id).map_err(internal)? {
            Some(n) => ApiError::NotFound(format!(
                "event {id} was refused, not appended: it is dead letter {n} (/v1/dead-letters, admin role)"
            )),
            None => ApiError::NotFound(format!("event {id} is not in this ledger")),
        });
    };
    let (corrected_by, corrected_by_truncated) = corrections(store, id)?;
    let named =
        |id: EventId| -> Result<Option<u64>, ApiError> { store.seq_of(&id).map_err(internal) };
    let e = &r.envelope;
    Ok(EventAnswer {
        seq: r.seq,
        head_seq,
        received_at: golive_model::format_time(&r.received_at),
        in_force: corrected_by.is_empty(),
        synthetic: e.is_synthetic(),
        event: serde_json::to_value(e).map_err(internal)?,
        corrects: match e.supersedes {
            Some(old) => Some(Named {
                event_id: old,
                seq: named(old)?,
            }),
            None => None,
        },
        corrected_by,
        corrected_by_truncated,
        relates_to: match &e.relates_to {
            Some(l) => Some(Link {
                event_id: l.event_id,
                seq: named(l.event_id)?,
                relation: l.relation,
            }),
            None => None,
        },
        related,
    })
}

/// The chain of corrections after `id`, and whether it was cut at [`CORRECTIONS_LISTED_MAX`].
fn corrections(store: &Store, mut id: EventId) -> Result<(Vec<Correction>, bool), ApiError> {
    let mut out = Vec::new();
    while let Some(seq) = store.superseded_by(&id).map_err(internal)? {
        if out.len() == CORRECTIONS_LISTED_MAX {
            return Ok((out, true));
        }
        let r = store
            .get(seq)
            .map_err(internal)?
            .ok_or_else(|| internal(format!("correction at seq {seq} is not in the log")))?;
        id = r.envelope.event_id;
        out.push(Correction {
            event_id: id,
            seq,
            recorded_at: golive_model::format_time(&r.envelope.recorded_at),
        });
    }
    Ok((out, false))
}
