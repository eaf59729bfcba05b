//! # golive-http
//!
//! The ledger's HTTP surface for analysts: JSON projections (also as of an earlier sequence or
//! time), the live dashboard, and Prometheus metrics. Served by `golive serve --http ADDR`.
//!
//! Design decision: handlers read the live projections under the ledger's lock only for the time
//! it takes to build a view; as-of answers are computed from the store (nearest checkpoint plus
//! replay) without holding the ledger's lock at all.

pub mod dashboard;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use golive_ledger::Ledger;
use golive_projections::WarningRules;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Arc<Mutex<Ledger>>,
    pub rules: Arc<WarningRules>,
}

/// An error as the API returns it: JSON `{"error": {"status": 400, "message": "..."}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = serde_json::json!({
            "error": { "status": status.as_u16(), "message": self.to_string() }
        });
        (status, Json(body)).into_response()
    }
}

async fn head(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let ledger = state
        .ledger
        .lock()
        .map_err(|_| ApiError::Internal("ledger lock poisoned".into()))?;
    let h = ledger.head();
    Ok(Json(serde_json::json!({
        "seq": h.seq,
        "hash": h.hash.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    })))
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new().route("/v1/head", get(head)).with_state(state)
}

/// Serves the HTTP surface on a bound listener until `shutdown` completes.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, "HTTP API listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
