//! The auditor routes of `src/audit.rs`, compiled here against the crate's public `AppState`
//! and `ApiError` until the router merges them (`pub mod audit;` in lib.rs).

#[path = "../src/audit.rs"]
#[allow(dead_code)]
mod audit;

pub use golive_http::{ApiError, AppState};

#[test]
fn the_routes_build() {
    // Proves the auditor routes compile against the crate's state and build a router.
    let _router: axum::Router<AppState> = audit::routes();
}
