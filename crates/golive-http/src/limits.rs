//! Limits that keep the API answering under abuse: requests per second per token and per
//! client address (token buckets; beyond them 429 with `Retry-After`, answered after a delay so
//! that a flood in a loop costs little), as-of computations at
//! once per token (beyond it 429), and, in [`crate::server`], connections at once and the time
//! a client has to send its headers and its body. Configured by `[http.limits]` (see
//! [`Limits`] for each key and its default, docs/SECURITY.md for what each protects against).
//!
//! Design decisions:
//! - A request is charged to its token when it carries a configured one (whatever the route's
//!   role), and always to its address; requests without a valid token are limited by address
//!   only, so an attacker cannot make a bucket per made-up token, and each bucket table is
//!   bounded ([`BUCKETS_MAX`]).
//! - The per-token as-of bound reads who is asking from a task-local ([`Caller`]) that the
//!   middleware sets around the handler, so the handlers need no extra argument: only a
//!   computation this request would start counts (a request served from the cache, or waiting
//!   for another request's computation of the same point, takes nothing).
//! - Hand-written buckets rather than the `governor` crate: the rule is a dozen lines, and the
//!   table's bound and eviction are the part that matters here.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ApiError;
use crate::auth::{Auth, Role};

/// Most keys (tokens or addresses) one bucket table keeps; past it, full buckets are dropped
/// and, if every bucket is in use, a new key is refused until one refills.
pub const BUCKETS_MAX: usize = 10_000;

/// `[http.limits]`: every limit of the HTTP server. `0` turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Connections open at once (`connections_max`, default 1,024); beyond it a new connection
    /// is answered 503 and closed.
    pub connections_max: usize,
    /// Connections open at once from one client address (`address_connections_max`, default
    /// 256, a quarter of `connections_max`), so that one address cannot take every connection;
    /// beyond it a new connection from that address is answered 503 and closed.
    pub address_connections_max: usize,
    /// Requests per second per token (`token_requests_per_s`, default 100), in bursts of up to
    /// `token_burst` (default 200).
    pub token_requests_per_s: u32,
    pub token_burst: u32,
    /// Requests per second per client address (`address_requests_per_s`, default 200), in
    /// bursts of up to `address_burst` (default 400).
    pub address_requests_per_s: u32,
    pub address_burst: u32,
    /// Time a client has to send a request's headers (`header_timeout_ms`, default 10,000);
    /// the connection is closed after it.
    pub header_timeout_ms: u64,
    /// Time a client has to send a request's body (`body_timeout_ms`, default 10,000): 408.
    pub body_timeout_ms: u64,
    /// As-of or known-at computations one token may have running at once
    /// (`as_of_per_token_max`, default 1); beyond it 429. All tokens together are bounded by
    /// [`crate::asof::AS_OF_COMPUTATIONS_MAX`] (more wait).
    pub as_of_per_token_max: usize,
    /// How long a request over its token's or address's rate waits for its 429
    /// (`over_rate_delay_ms`, default 500): a client that floods in a loop then costs the
    /// server a few answers a second per connection instead of thousands. At most
    /// `over_rate_delayed_max` (default 512, half of `connections_max`) such answers wait at
    /// once; beyond them the 429 is sent at once with `Connection: close`.
    pub over_rate_delay_ms: u64,
    pub over_rate_delayed_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connections_max: 1_024,
            address_connections_max: 256,
            token_requests_per_s: 100,
            token_burst: 200,
            address_requests_per_s: 200,
            address_burst: 400,
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            as_of_per_token_max: 1,
            over_rate_delay_ms: 500,
            over_rate_delayed_max: 512,
        }
    }
}

impl Limits {
    /// No limit at all: what [`crate::AppState::new`] starts with, for embedded and test
    /// servers; `golive serve` applies the configured (or default) limits.
    pub fn off() -> Self {
        Self {
            connections_max: 0,
            address_connections_max: 0,
            token_requests_per_s: 0,
            token_burst: 0,
            address_requests_per_s: 0,
            address_burst: 0,
            header_timeout_ms: 0,
            body_timeout_ms: 0,
            as_of_per_token_max: 0,
            over_rate_delay_ms: 0,
            over_rate_delayed_max: 0,
        }
    }

    /// Refuses a rate without a burst to spend it (or the reverse).
    pub fn check(&self) -> Result<(), String> {
        let pairs = [
            ("token", self.token_requests_per_s, self.token_burst),
            ("address", self.address_requests_per_s, self.address_burst),
        ];
        for (what, rate, burst) in pairs {
            if (rate == 0) != (burst == 0) {
                return Err(format!(
                    "http.limits.{what}_requests_per_s and {what}_burst are both 0 (off) or both above 0, not {rate} and {burst}"
                ));
            }
        }
        Ok(())
    }

    fn millis(ms: u64) -> Option<Duration> {
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    /// The header read timeout, if any.
    pub fn header_timeout(&self) -> Option<Duration> {
        Self::millis(self.header_timeout_ms)
    }

    /// The body read timeout, if any.
    pub fn body_timeout(&self) -> Option<Duration> {
        Self::millis(self.body_timeout_ms)
    }

    /// How long an over-rate 429 waits, if at all.
    pub fn over_rate_delay(&self) -> Option<Duration> {
        Self::millis(self.over_rate_delay_ms)
    }
}

/// One token bucket: `tokens` left as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key, at most [`BUCKETS_MAX`] of them.
struct Buckets<K> {
    per_s: f64,
    burst: f64,
    table: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> Buckets<K> {
    fn new(per_s: u32, burst: u32) -> Self {
        Self {
            per_s: f64::from(per_s),
            burst: f64::from(burst),
            table: Mutex::default(),
        }
    }

    fn refilled(&self, b: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        (b.tokens + elapsed * self.per_s).min(self.burst)
    }

    /// Takes one request from `key`'s bucket at `now`; if it is empty, how long until it holds
    /// one again.
    fn take(&self, key: K, now: Instant) -> Result<(), Duration> {
        if self.per_s <= 0.0 {
            return Ok(());
        }
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= BUCKETS_MAX && !table.contains_key(&key) {
            table.retain(|_, b| self.refilled(*b, now) < self.burst);
            if table.len() >= BUCKETS_MAX {
                return Err(Duration::from_secs(1));
            }
        }
        let bucket = table.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = self.refilled(*bucket, now);
        *bucket = Bucket { tokens, at: now };
        if tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_s))
        }
    }
}

/// The limits' state: the buckets and each token's as-of permits.
pub struct Limiter {
    pub limits: Limits,
    tokens: Buckets<Arc<str>>,
    addresses: Buckets<IpAddr>,
    as_of: Mutex<HashMap<Arc<str>, Arc<Semaphore>>>,
    /// Places for over-rate answers waiting their delay (`None`: no bound).
    delayed: Option<Arc<Semaphore>>,
}

impl Limiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            tokens: Buckets::new(limits.token_requests_per_s, limits.token_burst),
            addresses: Buckets::new(limits.address_requests_per_s, limits.address_burst),
            as_of: Mutex::default(),
            delayed: (limits.over_rate_delayed_max > 0)
                .then(|| Arc::new(Semaphore::new(limits.over_rate_delayed_max))),
        }
    }

    /// The answer to a request over its rate: its 429 after `over_rate_delay_ms` while a place
    /// to wait is free, else at once with `Connection: close` (the client reconnects, which
    /// costs it more than us). A flood from a closed loop (each connection waiting for its
    /// answer) is slowed to one request per delay per connection.
    async fn over_rate(&self, refusal: ApiError) -> Response {
        let Some(delay) = self.limits.over_rate_delay() else {
            return refusal.into_response();
        };
        let place = match &self.delayed {
            None => None,
            Some(s) => match s.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    let mut r = refusal.into_response();
                    r.headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    return r;
                }
            },
        };
        tokio::time::sleep(delay).await;
        drop(place);
        refusal.into_response()
    }

    /// Charges one request to `token` and `address`; if either is over its rate, the 429.
    fn admit(&self, token: Option<&Arc<str>>, address: Option<IpAddr>) -> Result<(), ApiError> {
        let now = Instant::now();
        if let Some(t) = token {
            self.tokens.take(t.clone(), now).map_err(|wait| {
                too_many(
                    format!(
                        "the token {t} is over its {} requests per second",
                        self.limits.token_requests_per_s
                    ),
                    wait,
                )
            })?;
        }
        if let Some(a) = address {
            self.addresses.take(a, now).map_err(|wait| {
                too_many(
                    format!(
                        "this address is over its {} requests per second",
                        self.limits.address_requests_per_s
                    ),
                    wait,
                )
            })?;
        }
        Ok(())
    }

    /// A permit for one as-of computation of `token`, or the 429 when it has
    /// `as_of_per_token_max` running.
    fn as_of_permit(&self, token: &Arc<str>) -> Result<Option<OwnedSemaphorePermit>, ApiError> {
        let max = self.limits.as_of_per_token_max;
        if max == 0 {
            return Ok(None);
        }
        let semaphore = self
            .as_of
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(token.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(max)))
            .clone();
        semaphore.try_acquire_owned().map(Some).map_err(|_| {
            too_many(
                format!("the token {token} has {max} as-of computations running; wait for them"),
                Duration::from_secs(1),
            )
        })
    }
}

fn too_many(message: String, wait: Duration) -> ApiError {
    ApiError::TooManyRequests {
        message,
        retry_after_s: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}

/// Who is asking, for the handlers' bounded resources: set by [`limit`] around each request.
#[derive(Clone)]
pub struct Caller {
    token: Option<Arc<str>>,
    limiter: Arc<Limiter>,
}

tokio::task_local! {
    static CALLER: Caller;
}

/// A permit for one as-of computation of the token of the request being served (none needed
/// outside a request, without a token, or with the bound off); the 429 when the token is at
/// its bound.
pub fn as_of_permit() -> Result<Option<OwnedSemaphorePermit>, ApiError> {
    CALLER
        .try_with(|c| match &c.token {
            Some(t) => c.limiter.as_of_permit(t),
            None => Ok(None),
        })
        .unwrap_or(Ok(None))
}

/// The middleware state: the limits and the tokens they are charged to.
#[derive(Clone)]
pub struct Guard {
    pub limiter: Arc<Limiter>,
    pub auth: Arc<Auth>,
}

/// Charges the request to its token and address (429 beyond either rate, after the over-rate
/// delay), reads its body
/// within the body timeout (408 after it), and serves it with its [`Caller`] set.
pub async fn limit(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let token: Option<Arc<str>> = match guard
        .auth
        .check(req.headers().get(header::AUTHORIZATION), Role::Analyst)
    {
        Ok(name) => name.map(Arc::from),
        Err(crate::auth::Refusal::Forbidden { name, .. }) => Some(Arc::from(name)),
        Err(_) => None,
    };
    let address = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Err(e) = guard.limiter.admit(token.as_ref(), address) {
        return guard.limiter.over_rate(e).await;
    }
    let req = match read_body(req, guard.limiter.limits.body_timeout()).await {
        Ok(req) => req,
        Err(e) => return e.into_response(),
    };
    let caller = Caller {
        token,
        limiter: guard.limiter.clone(),
    };
    CALLER.scope(caller, next.run(req)).await
}

/// Most bytes of a request body (the API reads none: every route is a GET).
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// `req` with its body read within `timeout` (so a client cannot hold a request open by
/// sending its body slowly): 408 after it, 413 over [`BODY_BYTES_MAX`]. A request that
/// declares no body is passed on as it is.
async fn read_body(req: Request, timeout: Option<Duration>) -> Result<Request, ApiError> {
    let declares_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v != HeaderValue::from_static("0"));
    let Some(timeout) = timeout.filter(|_| declares_body) else {
        return Ok(req);
    };
    let (parts, body) = req.into_parts();
    let bytes = tokio::time::timeout(timeout, axum::body::to_bytes(body, BODY_BYTES_MAX))
        .await
        .map_err(|_| {
            ApiError::Timeout(format!(
                "the request body did not arrive within {} ms",
                timeout.as_millis()
            ))
        })?
        .map_err(|_| {
            ApiError::TooLarge(format!("a request body is at most {BODY_BYTES_MAX} bytes"))
        })?;
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// A response with `Retry-After: seconds`.
pub(crate) fn with_retry_after(mut r: Response, seconds: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// 503 for a connection over `connections_max` or `address_connections_max` (`who` has `max`
/// connections open: "the server", "this address"), as raw HTTP/1.1 (it is never handed to
/// the router).
pub(crate) fn over_connections_answer(who: &str, max: usize) -> Vec<u8> {
    let body = format!(
        "{{\"error\":{{\"status\":503,\"message\":\"{who} has {max} connections open, its limit; try again\"}}}}"
    );
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_spends_its_burst_then_refills_at_its_rate() {
        let b: Buckets<u8> = Buckets::new(10, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.take(1, t0), Ok(()));
        }
        let wait = b.take(1, t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        // Another key has its own bucket.
        assert_eq!(b.take(2, t0), Ok(()));
        // 100 ms later one request more, not two.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(b.take(1, t1), Ok(()));
        assert!(b.take(1, t1).is_err());
        // Never more than the burst, however long it waited.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(b.take(1, t2), Ok(()));
        }
        assert!(b.take(1, t2).is_err());
    }

    #[test]
    fn the_bucket_table_is_bounded() {
        let b: Buckets<usize> = Buckets::new(1, 1);
        let t0 = Instant::now();
        for k in 0..BUCKETS_MAX {
            assert_eq!(b.take(k, t0), Ok(()));
        }
        // Every bucket is in use (empty): a new key waits.
        assert!(b.take(BUCKETS_MAX, t0).is_err());
        // Once they refill, they are dropped and the new key is served.
        assert_eq!(b.take(BUCKETS_MAX, t0 + Duration::from_secs(2)), Ok(()));
        assert!(b.table.lock().unwrap().len() <= 1);
    }

    #[test]
    fn a_rate_of_zero_is_off() {
        let b: Buckets<u8> = Buckets::new(0, 0);
        for _ in 0..1_000 {
            assert_eq!(b.take(1, Instant::now()), Ok(()));
        }
        assert!(Limits::off().check().is_ok());
        let half = Limits {
            token_burst: 0,
            ..Limits::default()
        };
        assert!(half.check().is_err());
    }

    #[tokio::test]
    async fn a_token_at_its_as_of_bound_is_refused_while_another_token_is_not() {
        let limiter = Arc::new(Limiter::new(Limits {
            as_of_per_token_max: 1,
            ..Limits::default()
        }));
        let caller = |t: &str| Caller {
            token: Some(Arc::from(t)),
            limiter: limiter.clone(),
        };
        let held = CALLER
            .scope(caller("flood"), async { as_of_permit() })
            .await
            .unwrap();
        assert!(held.is_some());
        let refused = CALLER
            .scope(caller("flood"), async { as_of_permit() })
            .await;
        match refused {
            Err(ApiError::TooManyRequests { retry_after_s, .. }) => assert_eq!(retry_after_s, 1),
            other => panic!("expected a 429, got {:?}", other.map(|p| p.is_some())),
        }
        let other = CALLER
            .scope(caller("quiet"), async { as_of_permit() })
            .await;
        assert!(other.unwrap().is_some());
        drop(held);
        let again = CALLER
            .scope(caller("flood"), async { as_of_permit() })
            .await;
        assert!(again.unwrap().is_some());
        // Outside a request, nothing is bounded here.
        assert!(as_of_permit().unwrap().is_none());
    }
}
