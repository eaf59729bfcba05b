//! What `golive serve --stay-up-when-refused` answers while the store it was given was refused
//! at open (damaged, of another format, no room, an unreadable signing key): `/healthz` (the
//! process answers), `/metrics` (admin, as always: `golive_store_open_refused 1`, the build and
//! the process, so that the alert can tell this from a ledger that is down) and, on every other
//! path, 503 with the reason as the API's JSON error. Nothing here reads the store.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use golive_ledger::Metrics;

use crate::auth::{self, Auth, Role};

/// The routes of a refused store; `reason` is the error that refused it.
pub fn router(auth: Auth, reason: String) -> Router {
    let auth = Arc::new(auth);
    let message = Arc::new(format!(
        "the ledger store was refused at open: {reason}; see the ledger's log and \
         docs/OPERATIONS.md (\"Ledger refuses to open\")"
    ));
    let admin = Router::new()
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn(move |req: Request, next: Next| {
            auth::require(auth.clone(), Role::Admin, req, next)
        }));
    Router::new()
        .route("/healthz", get(crate::api::healthz))
        .merge(admin)
        .fallback(move || {
            let message = message.clone();
            async move {
                crate::error_response(StatusCode::SERVICE_UNAVAILABLE, message.to_string())
            }
        })
}

async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        Metrics::render_refused(),
    )
        .into_response()
}

/// Serves [`router`] on a bound listener until `shutdown` completes.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn get(app: &Router, path: &str, token: Option<&str>) -> (StatusCode, String) {
        let mut req = Request::builder().uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let r = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_refused_store_answers_health_metrics_for_admins_and_503_with_the_reason() {
        // Proves the refused state's surface: /healthz 200, /metrics only with an admin token
        // and showing the refusal, any other path 503 with the reason as JSON.
        let token = "glt_admin";
        let auth = Auth::from_tokens(vec![
            auth::TokenEntry::new("ops", Role::Admin, &auth::token_hash_hex(token)).unwrap(),
        ])
        .unwrap();
        let app = router(auth, "seqs 5 to 9 are missing".to_owned());
        assert_eq!(get(&app, "/healthz", None).await.0, StatusCode::OK);
        assert_eq!(
            get(&app, "/metrics", None).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (status, text) = get(&app, "/metrics", Some(token)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(text.contains("golive_store_open_refused 1\n"), "{text}");
        for path in ["/v1/head", "/readyz", "/"] {
            let (status, body) = get(&app, path, Some(token)).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains("seqs 5 to 9 are missing"), "{message}");
        }
    }
}
