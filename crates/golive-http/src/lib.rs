//! # golive-http
//!
//! The ledger's HTTP surface for analysts: JSON projections (also as of an earlier sequence or
//! time), the live dashboard, Prometheus metrics and the OpenAPI document. Served by
//! `golive serve --http ADDR`; `docs/API.md` is the guide, `docs/openapi.json` the contract.
//!
//! Design decision: handlers read the live projections under the ledger's lock only for the time
//! it takes to build a view (the JSON is encoded after the lock is released); as-of answers are
//! computed from a clone of the store handle (nearest snapshot plus replay, see [`asof`])
//! without holding the ledger's lock at all, so a slow as-of query never delays an append.
//!
//! Routes (every path here is in `docs/openapi.json`, and a test checks both ways):
//!
//! | path | what |
//! | --- | --- |
//! | `/v1/trusts`, `/v1/lost-patients`, `/v1/money`, `/v1/rollout`, `/v1/warnings`, `/v1/deferred-features`, `/v1/incidents`, `/v1/evidence`, `/v1/coverage`, `/v1/usage-burden`, `/v1/recovery` | a projection view; `?trust=`, `?as_of_seq=` or `?as_of=`, `?known_at=`, `?exclude_synthetic=`; `/v1/recovery` also `?align=go_live` |
//! | `/v1/head` | sequence, chain hash and receive time of the last record |
//! | `/v1/stream` | server-sent events: each new head and signed checkpoint ([`stream`]) |
//! | `/v1/openapi.json`, `/healthz`, `/readyz` | the OpenAPI 3.1 document; `ok` while the process answers; 200 or 503 with the reasons, ready to be sent traffic or not (public) |
//! | `/metrics`, `/v1/dead-letters` | Prometheus text; rejected messages (admin) |
//! | `/`, `/assets/...`, `/v1/series` | the dashboard ([`dashboard`]; the page is public, its data needs analyst) |
//! | `/v1/events`, `/v1/checkpoints`, `/v1/proof/inclusion`, `/v1/proof/consistency` | the log and its proofs for auditors ([`tlog`]) |
//!
//! Access: bearer tokens with roles analyst < auditor < admin ([`auth`]); TLS ([`tls`]). While
//! `golive serve --stay-up-when-refused` waits on a store it refused at open, [`refused`]
//! answers instead: `/healthz`, `/metrics` (`golive_store_open_refused 1`) and 503 elsewhere.
//! Every request is logged at info level (target `golive_http::access`): method, route
//! template, status, latency and the name of the token that was checked, never the token.

pub mod answers;
pub mod api;
pub mod asof;
pub mod auth;
pub mod dashboard;
pub mod event;
pub mod limits;
pub mod refused;
pub mod server;
pub mod stream;
pub mod tlog;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use golive_ledger::{Ledger, Metrics, Readiness};
use golive_projections::{ClaimRules, Tariffs, WarningRules};
use golive_store::Store;

pub use api::{AS_OF_SEQ_HEADER, At, OPENAPI_JSON, Selection, parse_selection};
pub use asof::AsOfCache;
pub use auth::{Auth, Role, TokenEntry};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The ledger: its live projections are read under this lock.
    pub ledger: Arc<Mutex<Ledger>>,
    pub rules: Arc<WarningRules>,
    /// The claim register's rules (`[claims]`).
    pub claim_rules: Arc<ClaimRules>,
    /// The recovery view's tariffs (`[tariffs]`).
    pub tariffs: Arc<Tariffs>,
    /// Shared with the consumer loop (`golive_service::ServeConfig::metrics`).
    pub metrics: Arc<Metrics>,
    /// A handle on the ledger's store, for what needs no lock: the head, as-of replays, gauges.
    pub store: Store,
    /// Recent as-of projections.
    pub as_of: Arc<AsOfCache>,
    /// Who may read what ([`auth`]); open unless tokens are configured.
    pub auth: Arc<Auth>,
    /// Recent encoded answers of the projection endpoints.
    pub answers: Arc<answers::AnswerCache>,
    /// What `/readyz` answers from (shared with the consumer loop,
    /// `golive_service::ServeConfig::readiness`).
    pub readiness: Arc<Readiness>,
    /// The live stream's watcher and subscribers (`/v1/stream`).
    pub head_watch: Arc<stream::HeadWatch>,
    /// The limits against abuse and their state ([`limits`]); none unless
    /// [`AppState::with_limits`] sets them.
    pub limiter: Arc<limits::Limiter>,
}

impl AppState {
    /// State over `ledger`, with metrics of its own (see [`AppState::with_metrics`] to share
    /// the consumer loop's).
    pub fn new(ledger: Arc<Mutex<Ledger>>, rules: Arc<WarningRules>) -> Self {
        let (store, money) = {
            let ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
            (ledger.store().clone(), ledger.money_history())
        };
        Self {
            ledger,
            rules,
            claim_rules: Arc::default(),
            tariffs: Arc::default(),
            metrics: Arc::new(Metrics::new()),
            as_of: Arc::new(AsOfCache::new(store.clone(), money)),
            store,
            auth: Arc::new(Auth::Open),
            answers: Arc::default(),
            readiness: Arc::default(),
            head_watch: Arc::default(),
            limiter: Arc::new(limits::Limiter::new(limits::Limits::off())),
        }
    }

    /// The same state, served within `limits` ([`limits`]).
    pub fn with_limits(mut self, limits: limits::Limits) -> Self {
        self.limiter = Arc::new(limits::Limiter::new(limits));
        self
    }

    /// The same state, answering `/readyz` from `readiness`.
    pub fn with_readiness(mut self, readiness: Arc<Readiness>) -> Self {
        self.readiness = readiness;
        self
    }

    /// The same state, refusing what `auth` does not allow.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = Arc::new(auth);
        self
    }

    /// The same state, with the claim register's rules.
    pub fn with_claim_rules(mut self, rules: ClaimRules) -> Self {
        self.claim_rules = Arc::new(rules);
        self
    }

    /// The same state, pricing the recovery view with `tariffs`.
    pub fn with_tariffs(mut self, tariffs: Tariffs) -> Self {
        self.tariffs = Arc::new(tariffs);
        self
    }

    /// The same state, counting into `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }
}

/// An error as the API returns it: JSON `{"error": {"status": 400, "message": "..."}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Internal(String),
    /// 503: a bounded resource is full (the live stream's subscribers).
    #[error("{0}")]
    Unavailable(String),
    /// 429 with `Retry-After`: a token or an address over its limit ([`limits`]).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_s: u64 },
    /// 408: the request's body did not arrive in time ([`limits`]).
    #[error("{0}")]
    Timeout(String),
    /// 413: a request body over [`limits::BODY_BYTES_MAX`].
    #[error("{0}")]
    TooLarge(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "HTTP request failed");
        }
        let retry_after_s = match &self {
            ApiError::TooManyRequests { retry_after_s, .. } => Some(*retry_after_s),
            _ => None,
        };
        let response = error_response(status, self.to_string());
        match retry_after_s {
            Some(s) => limits::with_retry_after(response, s),
            None => response,
        }
    }
}

/// `{"error": {"status", "message"}}` with `status`.
pub(crate) fn error_response(status: StatusCode, message: String) -> Response {
    #[derive(serde::Serialize)]
    struct Body {
        error: Inner,
    }
    #[derive(serde::Serialize)]
    struct Inner {
        status: u16,
        message: String,
    }
    let body = Body {
        error: Inner {
            status: status.as_u16(),
            message,
        },
    };
    (status, Json(body)).into_response()
}

/// Longest plain-text error body turned into a JSON error message.
const ERROR_TEXT_BYTES_MAX: usize = 4 * 1024;

/// Times every request into the metrics, by route template (`unmatched` for unknown paths),
/// turns any error that is not JSON yet (an extractor's plain-text rejection, say) into the API's
/// JSON error, so that every error a client sees has the same shape, and logs the request
/// ([`access_log`]).
async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = req.method().clone();
    let started = Instant::now();
    let response = next.run(req).await;
    let token = response.extensions().get::<auth::TokenName>().cloned();
    let response = json_errors(response).await;
    let route = route.as_deref().unwrap_or("unmatched");
    let status = response.status().as_u16();
    let took = started.elapsed();
    metrics.record_http(route, status, took);
    access_log(&method, route, status, took, token.as_ref());
    response
}

/// The access log line of one request: method, route template (never the path's values nor
/// the query), status, latency and the name of the token the guard checked (`-` when none
/// was), at info level on the target `golive_http::access`. Never the token itself.
fn access_log(
    method: &axum::http::Method,
    route: &str,
    status: u16,
    took: Duration,
    token: Option<&auth::TokenName>,
) {
    tracing::info!(
        target: "golive_http::access",
        method = %method,
        route,
        status,
        latency_ms = took.as_secs_f64() * 1e3,
        token = token.map_or("-", |t| t.0.as_str()),
        "HTTP request"
    );
}

/// `response`, with an error body that is not JSON turned into the API's JSON error.
async fn json_errors(mut response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let text = axum::body::to_bytes(response.into_body(), ERROR_TEXT_BYTES_MAX)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default();
        let message = if text.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("request failed")
                .to_owned()
        } else {
            text
        };
        response = error_response(status, message);
    }
    response
}

/// `routes`, answering only requests whose token has `needs` (or above).
fn guarded(routes: Router<AppState>, auth: &Arc<Auth>, needs: Role) -> Router<AppState> {
    let auth = auth.clone();
    routes.route_layer(middleware::from_fn(move |req: Request, next: Next| {
        auth::require(auth.clone(), needs, req, next)
    }))
}

/// The whole HTTP surface. Routes are grouped by the role they need ([`auth`]).
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let auth = state.auth.clone();
    let guard = limits::Guard {
        limiter: state.limiter.clone(),
        auth: auth.clone(),
    };
    let public = Router::new()
        .route("/v1/openapi.json", get(api::openapi))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .merge(dashboard::page_routes());
    let analyst = Router::new()
        .route("/v1/trusts", get(api::trusts))
        .route("/v1/lost-patients", get(api::lost_patients))
        .route("/v1/money", get(api::money))
        .route("/v1/rollout", get(api::rollout))
        .route("/v1/warnings", get(api::warnings))
        .route("/v1/deferred-features", get(api::deferred_features))
        .route("/v1/incidents", get(api::incidents))
        .route("/v1/evidence", get(api::evidence))
        .route("/v1/coverage", get(api::coverage))
        .route("/v1/claims", get(api::claims))
        .route("/v1/usage-burden", get(api::usage_burden))
        .route("/v1/recovery", get(api::recovery))
        .route("/v1/events/{event_id}", get(event::event))
        .route("/v1/head", get(api::head))
        .route("/v1/stream", get(stream::stream))
        .merge(dashboard::data_routes());
    let admin = Router::new()
        .route("/metrics", get(api::metrics))
        .route("/v1/dead-letters", get(api::dead_letters));
    Router::new()
        .merge(public)
        .merge(guarded(analyst, &auth, Role::Analyst))
        .merge(guarded(tlog::routes(), &auth, Role::Auditor))
        .merge(guarded(admin, &auth, Role::Admin))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(middleware::from_fn_with_state(guard, limits::limit))
        .layer(middleware::from_fn_with_state(metrics, track))
        .with_state(state)
}

/// Serves the HTTP surface on a bound listener until `shutdown` completes.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, "HTTP API listening");
    let shutdown = state.head_watch.clone().closing(shutdown);
    let limits = state.limiter.limits;
    server::serve_app(listener, router(state), None, limits, shutdown).await
}
