//! The live dashboard: a page served by the binary itself, and the time series it draws.

use axum::Router;

use crate::AppState;

/// Routes of the dashboard (`/`, its assets, `/v1/series`).
pub fn routes() -> Router<AppState> {
    Router::new()
}
