//! The live dashboard: a page served by the binary itself, and the time series it draws.
//!
//! - `GET /` is the page (`assets/index.html`); `GET /assets/dashboard.js` and
//!   `GET /assets/dashboard.css` are its script and style. All three are compiled into the
//!   binary (`include_str!`), so the dashboard works on a machine without internet. The charts
//!   are small SVG drawings made by our own script; no third-party code is shipped.
//! - `GET /v1/series[?trust=ODS][&exclude_synthetic=true|false]` is everything the page draws,
//!   taken from the live projections under one lock so that every figure on the page belongs to
//!   the same ledger sequence; with `exclude_synthetic=true`, from the sourced-only projections
//!   (as if no synthetic event had been appended), as the API answers with it.
//! - Live updates: the page polls `GET /v1/head` every 2 s and fetches `/v1/series` again (and
//!   the projection answers it shows beside it, at the series' sequence) when the head sequence
//!   has moved.
//! - Synthetic data: the page says in a banner when any figure it shows includes synthetic
//!   (simulated) events, and marks those trusts and figures from the `synthetic` members of the
//!   answers; its "Sourced only" control adds `exclude_synthetic=true` to every data request
//!   (`/v1/head` takes no parameters).
//!
//! ## `GET /v1/series`
//!
//! ```text
//! {
//!   "as_of_seq": 89,                      ledger head the figures belong to
//!   "as_at": "2009-10-27T00:00:00Z",      latest event time folded in (null before any)
//!   "trust": "RAL" | null,                the trust asked for, null for all
//!   "all_trusts": ["Q36", "RAL", ...],    every trust in the ledger (for the picker)
//!   "headline": { "trusts", "trusts_live", "open_lost_patients", "net_cost_pence",
//!                 "income_at_risk_pence", "income_recovered_pence", "halt_recommended": [codes],
//!                 "deferred_features" },
//!   "trusts": { "RAL": {
//!       "status", "live", "go_live" (time|null), "release", "programme",
//!       "open_lost_patients", "net_cost_pence", "income_at_risk_pence",
//!       "halt_recommended", "warnings": [{"id","severity","message","since","halt"}],
//!       "deferred": [{"feature","promised_for","reason","times","first_at","last_at"}],
//!       "weekly_open_lost": [{"week_start": "2008-06-30", "open": 1}],
//!       "monthly": [{"month": "2009-02", "net_cost_pence", "cumulative_net_cost_pence",
//!                    "income_at_risk_pence", "cumulative_income_at_risk_pence"}],
//!       "rollout": [{"occurred_at","status","release","reason"}] } },
//!   "programmes": { "London Programme for IT (NPfIT)": {
//!       "status", "rollout": [{"occurred_at","status","release","reason","trust"}],
//!       "warnings": [...] } },
//!   "synthetic": { "excluded": false, "events": 56, "affected": true,
//!                  "trusts": {"RAL": "partly", "ZZ001": "wholly"}, "share": {...} }
//! }
//! ```
//!
//! Each trust also has `"synthetic": true|false` and each warning (trust and programme)
//! `"synthetic_only"`, as in `/v1/warnings`. Synthetic events are those whose every source is
//! `synthetic` (`golive_projections::synthetic`). Without `exclude_synthetic`, `synthetic` says
//! what of the series they make: `events` synthetic events in the ledger; `share`, the series
//! minus the same series of the sourced-only projections where they differ (the share tree of
//! the API's answers: an integer is the difference, `{"sourced_only": null}` a trust or
//! programme only synthetic events name, `{"sourced_only": v}` another value that differs);
//! `affected` when the share is not empty; a trust's `synthetic` when its entry is in the share;
//! and `trusts`, every trust of the whole ledger (not only those shown: the picker lists them
//! all) whose all-trusts entry differs, `wholly` when only synthetic events name it, else
//! `partly`. Both sides are framed alike (the same `all_trusts`, months up to the same month),
//! so the share holds figures only. With `exclude_synthetic=true`, `excluded` is true, `events`
//! counts the synthetic events left out, `trusts` and `share` are empty and no trust or warning
//! is marked; `all_trusts` lists only the trusts of non-synthetic events, and a trust only
//! synthetic events name is a 404. Cost: once the ledger holds a synthetic event, a marked series
//! is built twice under the lock (of every event and of the sourced-only fold), four times with
//! `trust` (the picker's marks are the whole ledger's); a sourced-only one once.
//!
//! `monthly` covers every month from the earlier of the trust's go-live and its first money
//! event up to the month of `as_at` (months without money have zeros, so the cumulative lines
//! are continuous). Money is integer pence. A malformed `trust` is a 400, an unknown one a 404,
//! an `exclude_synthetic` other than `true` or `false` a 400, any other parameter a 400, all as
//! [`ApiError`] JSON.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use golive_model::{OdsCode, Period, RolloutState};
use golive_projections::{
    DeferredFeature, DeferredView, LostPatientsView, MoneyView, ProgrammeRollout, Projections,
    RolloutView, TrustRollout, Warning, WarningRules, WarningsView,
};
use serde::Serialize;

use crate::{ApiError, AppState};

const INDEX_HTML: &str = include_str!("../assets/index.html");
const DASHBOARD_JS: &str = include_str!("../assets/dashboard.js");
const DASHBOARD_CSS: &str = include_str!("../assets/dashboard.css");

/// The page may load only its own script, style and data.
const PAGE_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Longest `monthly` series built for one trust: a hundred years. Earlier months still count in
/// the cumulative figures; only their detail is dropped.
pub const MONTHLY_SERIES_MONTHS_MAX: usize = 1200;

/// The dashboard's page and assets: no data, public.
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/assets/dashboard.js", get(script))
        .route("/assets/dashboard.css", get(style))
}

/// The dashboard's data (`/v1/series`): analyst.
pub fn data_routes() -> Router<AppState> {
    Router::new().route("/v1/series", get(series_handler))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The assets change with the binary; revalidate rather than keep a stale page.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

async fn index() -> Response {
    let mut r = asset("text/html; charset=utf-8", INDEX_HTML);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    r
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", DASHBOARD_JS)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", DASHBOARD_CSS)
}

type RawQuery = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// `?trust=` (absent means every trust) and `?exclude_synthetic=true|false`, checked as the API
/// checks them (unknown or repeated parameters, or a flag that is not `true` or `false`, are
/// refused).
fn parse_query(raw: RawQuery) -> Result<(Option<OdsCode>, bool), ApiError> {
    let Query(pairs) = raw.map_err(|e| {
        ApiError::BadRequest(format!("the query string is malformed: {}", e.body_text()))
    })?;
    let sel = crate::parse_selection(pairs, "/v1/series", &["trust", "exclude_synthetic"])?;
    Ok((sel.trust, sel.exclude_synthetic))
}

async fn series_handler(
    State(state): State<AppState>,
    raw: RawQuery,
) -> Result<Json<SeriesView>, ApiError> {
    let (trust, exclude) = parse_query(raw)?;
    let ledger = state
        .ledger
        .lock()
        .map_err(|_| ApiError::Internal("ledger lock poisoned".into()))?;
    let p = ledger.projections();
    let known = if exclude { p.sourced_only() } else { p };
    if let Some(t) = &trust
        && !known.trusts().contains(t)
    {
        let which = if exclude {
            " that are not synthetic"
        } else {
            ""
        };
        return Err(ApiError::NotFound(format!(
            "trust {t} has no events{which} in this ledger (as of seq {}); GET /v1/trusts lists them",
            ledger.head().seq
        )));
    }
    let seq = ledger.head().seq;
    Ok(Json(series(p, seq, &state.rules, trust.as_ref(), exclude)))
}

/// Everything the dashboard shows. See the module documentation for the fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesView {
    pub as_of_seq: u64,
    pub as_at: Option<DateTime<Utc>>,
    pub trust: Option<String>,
    pub all_trusts: Vec<String>,
    pub headline: Headline,
    pub trusts: BTreeMap<String, TrustSeries>,
    pub programmes: BTreeMap<String, ProgrammeSeries>,
    /// What of it comes from synthetic (simulated) events.
    pub synthetic: SeriesSynthetic,
}

/// The `synthetic` member of the series: as the API's (see
/// [`golive_projections::Synthetic`]), with the trusts of the whole ledger whose figures
/// include synthetic data (for the picker, which lists every trust whatever is shown).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SeriesSynthetic {
    /// The series is the sourced-only one: as if no synthetic event had been appended.
    pub excluded: bool,
    /// Synthetic events in the ledger (left out when `excluded`).
    pub events: u64,
    /// Some figure of this series differs from the sourced-only series (never when `excluded`).
    pub affected: bool,
    /// Every trust of the ledger (not only those shown) whose series differs from its
    /// sourced-only series: `wholly` when only synthetic events name it (it is not in the
    /// sourced-only series at all), `partly` otherwise. Empty when `excluded`.
    pub trusts: BTreeMap<String, SyntheticPart>,
    /// This series minus the sourced-only series, where they differ: the share tree of
    /// `golive_projections::synthetic` (an empty object when nothing differs).
    pub share: serde_json::Value,
}

/// How much of a trust's figures synthetic events make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyntheticPart {
    /// Only synthetic events name the trust.
    Wholly,
    /// Some of its figures differ without the synthetic events.
    Partly,
}

/// The tiles at the top of the page, over the trusts covered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Headline {
    pub trusts: u64,
    pub trusts_live: u64,
    pub open_lost_patients: u64,
    pub net_cost_pence: i64,
    pub income_at_risk_pence: i64,
    pub income_recovered_pence: i64,
    pub halt_recommended: Vec<String>,
    pub deferred_features: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrustSeries {
    /// Some figure of this trust differs from its sourced-only figures (never in a sourced-only
    /// series).
    pub synthetic: bool,
    pub status: Option<RolloutState>,
    pub live: bool,
    pub go_live: Option<DateTime<Utc>>,
    pub release: Option<String>,
    pub programme: Option<String>,
    pub open_lost_patients: u64,
    pub net_cost_pence: i64,
    pub income_at_risk_pence: i64,
    pub halt_recommended: bool,
    pub warnings: Vec<Warning>,
    /// Deferred features, one entry per feature however often it was put off.
    pub deferred: Vec<DeferredPromise>,
    pub weekly_open_lost: Vec<WeekPoint>,
    pub monthly: Vec<MonthPoint>,
    pub rollout: Vec<RolloutPoint>,
}

/// A feature (or go-live) that was promised and put off, once or many times.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeferredPromise {
    pub feature: String,
    /// As the latest deferral says.
    pub promised_for: Option<String>,
    /// As the latest deferral says.
    pub reason: Option<String>,
    /// How many `feature_deferred` events name it.
    pub times: u64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// Groups deferrals (in event-time order) by feature, in order of first deferral.
fn deferred_promises(features: &[DeferredFeature]) -> Vec<DeferredPromise> {
    let mut out: Vec<DeferredPromise> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for f in features {
        match index.get(f.feature.as_str()) {
            Some(&i) => {
                let p = &mut out[i];
                p.times += 1;
                p.first_at = p.first_at.min(f.occurred_at);
                if f.occurred_at >= p.last_at {
                    p.last_at = f.occurred_at;
                    p.promised_for.clone_from(&f.promised_for);
                    p.reason.clone_from(&f.reason);
                }
            }
            None => {
                index.insert(&f.feature, out.len());
                out.push(DeferredPromise {
                    feature: f.feature.clone(),
                    promised_for: f.promised_for.clone(),
                    reason: f.reason.clone(),
                    times: 1,
                    first_at: f.occurred_at,
                    last_at: f.occurred_at,
                });
            }
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WeekPoint {
    pub week_start: NaiveDate,
    pub open: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthPoint {
    pub month: Period,
    pub net_cost_pence: i64,
    pub cumulative_net_cost_pence: i64,
    pub income_at_risk_pence: i64,
    pub cumulative_income_at_risk_pence: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RolloutPoint {
    pub occurred_at: DateTime<Utc>,
    pub status: RolloutState,
    pub release: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgrammePoint {
    pub occurred_at: DateTime<Utc>,
    pub status: RolloutState,
    pub release: Option<String>,
    pub reason: Option<String>,
    /// The trust that reported it.
    pub trust: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgrammeSeries {
    pub status: Option<RolloutState>,
    pub rollout: Vec<ProgrammePoint>,
    pub warnings: Vec<Warning>,
}

fn next_month(p: Period) -> Period {
    if p.month >= 12 {
        Period {
            year: p.year.saturating_add(1),
            month: 1,
        }
    } else {
        Period {
            year: p.year,
            month: p.month + 1,
        }
    }
}

fn months_between(from: Period, to: Period) -> i64 {
    (i64::from(to.year) - i64::from(from.year)) * 12 + i64::from(to.month) - i64::from(from.month)
}

/// One point per month from the earlier of `go_live` and the first money month to the later of
/// the last money month and `as_at`, with running totals.
fn monthly_series(
    by_month: &BTreeMap<Period, golive_projections::MoneyFigures>,
    go_live: Option<DateTime<Utc>>,
    as_at: Option<DateTime<Utc>>,
) -> Vec<MonthPoint> {
    let first = by_month
        .keys()
        .next()
        .copied()
        .into_iter()
        .chain(go_live.map(Period::of))
        .min();
    let last = by_month
        .keys()
        .next_back()
        .copied()
        .into_iter()
        .chain(as_at.map(Period::of))
        .max();
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let span = months_between(first, last);
    let skip = usize::try_from(span + 1)
        .unwrap_or(0)
        .saturating_sub(MONTHLY_SERIES_MONTHS_MAX);
    let mut out = Vec::new();
    let (mut cum_net, mut cum_risk) = (0i64, 0i64);
    let mut m = first;
    for i in 0..=usize::try_from(span).unwrap_or(0) {
        let (net, risk) = by_month
            .get(&m)
            .map_or((0, 0), |f| (f.net_cost_pence, f.income_at_risk_pence));
        cum_net = cum_net.saturating_add(net);
        cum_risk = cum_risk.saturating_add(risk);
        if i >= skip {
            out.push(MonthPoint {
                month: m,
                net_cost_pence: net,
                cumulative_net_cost_pence: cum_net,
                income_at_risk_pence: risk,
                cumulative_income_at_risk_pence: cum_risk,
            });
        }
        m = next_month(m);
    }
    out
}

/// The projections' views the dashboard draws from, all for the same trust filter.
struct Views {
    lost: LostPatientsView,
    money: MoneyView,
    rollout: RolloutView,
    warnings: WarningsView,
    deferred: DeferredView,
    /// The month the `monthly` series run to.
    months_to: Option<DateTime<Utc>>,
}

/// Builds the dashboard's data from projections at ledger sequence `seq`, for one trust (which
/// the caller has checked exists, in the sourced-only projections with `exclude`) or all.
///
/// With `exclude`, the series of the sourced-only projections ([`Projections::sourced_only`]).
/// Otherwise the series of every event, marked with what synthetic events make of it: the share
/// tree of the series against the same series of the sourced-only projections
/// ([`Projections::marked`]), each trust whose entry differs, and (for the picker) every trust
/// of the ledger whose all-trusts entry differs. Both sides are framed alike: the picker's list
/// is the whole ledger's (its marks are `synthetic.trusts`, not a share of `all_trusts`) and
/// the monthly series run to the month of the whole ledger's `as_at`, so that a synthetic event
/// that is the latest one does not by its date alone mark every trust's months (`as_at` itself
/// is compared, and marked).
pub fn series(
    p: &Projections,
    seq: u64,
    rules: &WarningRules,
    trust: Option<&OdsCode>,
    exclude: bool,
) -> SeriesView {
    if exclude {
        let q = p.sourced_only();
        let mut s = figures(q, q, seq, rules, trust);
        s.synthetic = SeriesSynthetic {
            excluded: true,
            events: p.synthetic_events(),
            affected: false,
            trusts: BTreeMap::new(),
            share: serde_json::Value::Object(serde_json::Map::new()),
        };
        return s;
    }
    let marked = p.marked(false, |q| figures(q, p, seq, rules, trust));
    let all_share = match trust {
        None => marked.synthetic.share.clone(),
        Some(_) => {
            p.marked(false, |q| figures(q, p, seq, rules, None))
                .synthetic
                .share
        }
    };
    let mut s = marked.view;
    let shared = &marked.synthetic.share["trusts"];
    for (code, t) in &mut s.trusts {
        t.synthetic = shared.get(code).is_some();
    }
    s.synthetic = SeriesSynthetic {
        excluded: false,
        events: marked.synthetic.events,
        affected: marked.synthetic.affected,
        trusts: synthetic_parts(p, &all_share),
        share: marked.synthetic.share,
    };
    s
}

/// The trusts an all-trusts series' share tree marks, each `wholly` synthetic when the
/// sourced-only projections do not know it.
fn synthetic_parts(p: &Projections, share: &serde_json::Value) -> BTreeMap<String, SyntheticPart> {
    let sourced: BTreeSet<String> = p
        .sourced_only()
        .trusts()
        .iter()
        .map(|t| t.to_string())
        .collect();
    share["trusts"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .map(|code| {
            let part = if sourced.contains(code) {
                SyntheticPart::Partly
            } else {
                SyntheticPart::Wholly
            };
            (code.clone(), part)
        })
        .collect()
}

/// The series of `p` alone (nothing marked), framed by `frame`: the picker lists its trusts and
/// the monthly series run to the month of its `as_at`.
fn figures(
    p: &Projections,
    frame: &Projections,
    seq: u64,
    rules: &WarningRules,
    trust: Option<&OdsCode>,
) -> SeriesView {
    let v = Views {
        lost: p.lost_patients(trust),
        money: p.money(trust),
        rollout: p.rollout(trust),
        warnings: p.warnings(rules, trust),
        deferred: p.deferred_features(trust),
        months_to: frame.as_at(),
    };
    let trusts = v
        .rollout
        .trusts
        .iter()
        .map(|(code, r)| (code.clone(), trust_series(&v, code, r)))
        .collect();
    let programmes = v
        .rollout
        .programmes
        .iter()
        .map(|(name, pr)| (name.clone(), programme_series(&v, name, pr)))
        .collect();
    SeriesView {
        as_of_seq: seq,
        as_at: p.as_at(),
        trust: trust.map(|t| t.to_string()),
        all_trusts: frame.trusts().iter().map(|t| t.to_string()).collect(),
        headline: Headline {
            trusts: v.rollout.total.trusts,
            trusts_live: v.rollout.total.live_trusts,
            open_lost_patients: v.lost.total.open_count,
            net_cost_pence: v.money.total.net_cost_pence,
            income_at_risk_pence: v.money.total.income_at_risk_pence,
            income_recovered_pence: v.money.total.income_recovered_pence,
            halt_recommended: v.warnings.total.halt_recommended.clone(),
            deferred_features: v.deferred.total.count,
        },
        trusts,
        programmes,
        synthetic: SeriesSynthetic::default(),
    }
}

/// One trust's figures and series, from its rollout `r` and its sections of the other views.
fn trust_series(v: &Views, code: &str, r: &TrustRollout) -> TrustSeries {
    let l = v.lost.trusts.get(code);
    let m = v.money.trusts.get(code);
    let w = v.warnings.trusts.get(code);
    TrustSeries {
        synthetic: false,
        status: r.status,
        live: r.live,
        go_live: r.go_live,
        release: r.release.clone(),
        programme: r.programme.clone(),
        open_lost_patients: l.map_or(0, |l| l.open_count),
        net_cost_pence: m.map_or(0, |m| m.total.net_cost_pence),
        income_at_risk_pence: m.map_or(0, |m| m.total.income_at_risk_pence),
        halt_recommended: w.is_some_and(|w| w.halt_recommended),
        warnings: w.map(|w| w.warnings.clone()).unwrap_or_default(),
        deferred: v
            .deferred
            .trusts
            .get(code)
            .map(|d| deferred_promises(&d.features))
            .unwrap_or_default(),
        weekly_open_lost: l
            .map(|l| {
                l.weekly_open
                    .iter()
                    .map(|w| WeekPoint {
                        week_start: w.week_start,
                        open: w.open,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        monthly: m
            .map(|m| monthly_series(&m.by_month, r.go_live, v.months_to))
            .unwrap_or_default(),
        rollout: r
            .history
            .iter()
            .map(|h| RolloutPoint {
                occurred_at: h.occurred_at,
                status: h.status,
                release: h.release.clone(),
                reason: h.reason.clone(),
            })
            .collect(),
    }
}

/// One programme's status, its programme-scope rollout history and its warnings.
fn programme_series(v: &Views, name: &str, pr: &ProgrammeRollout) -> ProgrammeSeries {
    ProgrammeSeries {
        status: pr.status,
        rollout: pr
            .history
            .iter()
            .map(|h| ProgrammePoint {
                occurred_at: h.occurred_at,
                status: h.status,
                release: h.release.clone(),
                reason: h.reason.clone(),
                trust: h.trust.clone(),
            })
            .collect(),
        warnings: v.warnings.programmes.get(name).cloned().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use golive_model::{Envelope, EventId};
    use std::collections::HashMap;

    const LONDON: &str = include_str!("../../../scenarios/london-2008.jsonl");

    fn london() -> Projections {
        let mut p = Projections::new();
        let mut seen: HashMap<EventId, Envelope> = HashMap::new();
        for (i, line) in LONDON.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let e = golive_model::decode_str(line).expect("the scenario decodes");
            let old = e.supersedes.and_then(|id| seen.get(&id)).cloned();
            p.apply(i as u64 + 1, &e, old.as_ref());
            seen.insert(e.event_id, e);
        }
        p
    }

    #[test]
    fn series_agree_with_the_projection_views() {
        // Proves the dashboard's figures are the API's: headline totals equal the views', each
        // trust's cumulative money ends at its total, and the weekly series is the view's.
        let p = london();
        let rules = WarningRules::default();
        let s = series(&p, 89, &rules, None, false);
        let money = p.money(None);
        let lost = p.lost_patients(None);
        let warnings = p.warnings(&rules, None);
        assert_eq!(s.as_of_seq, 89);
        assert_eq!(s.headline.net_cost_pence, money.total.net_cost_pence);
        assert_eq!(
            s.headline.income_at_risk_pence,
            money.total.income_at_risk_pence
        );
        assert_eq!(s.headline.open_lost_patients, lost.total.open_count);
        assert_eq!(s.headline.halt_recommended, warnings.total.halt_recommended);
        assert_eq!(s.all_trusts.len(), s.trusts.len());
        for (code, t) in &s.trusts {
            let m = &money.trusts[code];
            let last = t.monthly.last();
            assert_eq!(
                last.map_or(0, |x| x.cumulative_net_cost_pence),
                m.total.net_cost_pence,
                "{code}"
            );
            assert_eq!(
                last.map_or(0, |x| x.cumulative_income_at_risk_pence),
                m.total.income_at_risk_pence,
                "{code}"
            );
            let weekly: Vec<u64> = lost.trusts[code]
                .weekly_open
                .iter()
                .map(|w| w.open)
                .collect();
            let mine: Vec<u64> = t.weekly_open_lost.iter().map(|w| w.open).collect();
            assert_eq!(weekly, mine, "{code}");
        }
        // RAL: live since June 2008; the months run, continuous, to the projection's "now"
        // (the scenario's last event, May 2015).
        let ral = &s.trusts["RAL"];
        assert_eq!(ral.monthly.first().unwrap().month.to_string(), "2008-06");
        assert_eq!(ral.monthly.last().unwrap().month.to_string(), "2015-05");
        assert_eq!(ral.monthly.len(), 84);
        assert!(ral.halt_recommended);
        assert!(!s.programmes.is_empty());
    }

    #[test]
    fn one_trust_covers_only_that_trust() {
        // Proves `?trust=` narrows the headline and the trusts, but the picker still lists all.
        let p = london();
        let rules = WarningRules::default();
        let ral = OdsCode::parse("RAL").unwrap();
        let s = series(&p, 89, &rules, Some(&ral), false);
        assert_eq!(s.trusts.keys().collect::<Vec<_>>(), ["RAL"]);
        assert_eq!(s.trust.as_deref(), Some("RAL"));
        assert_eq!(s.all_trusts.len(), p.trusts().len());
        assert_eq!(
            s.headline.net_cost_pence,
            p.money(Some(&ral)).total.net_cost_pence
        );
        assert_eq!(s.headline.trusts, 1);
    }

    #[test]
    fn deferrals_of_one_feature_are_one_promise() {
        // Proves repeated deferrals of a feature collapse into one row that counts them and
        // keeps the latest target and reason.
        let at = |d: u32| {
            chrono::NaiveDate::from_ymd_opt(2009, 3, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        };
        let f = |feature: &str, day, target: &str| DeferredFeature {
            feature: feature.into(),
            promised_for: Some(target.into()),
            reason: Some(format!("reason {day}")),
            occurred_at: at(day),
            event_id: EventId::from_bytes([day as u8; 16]),
        };
        let rows = deferred_promises(&[
            f("theatres", 1, "LC1"),
            f("e-prescribing", 2, "LC1"),
            f("theatres", 3, "LC2"),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].feature, "theatres");
        assert_eq!(rows[0].times, 2);
        assert_eq!(rows[0].first_at, at(1));
        assert_eq!(rows[0].last_at, at(3));
        assert_eq!(rows[0].promised_for.as_deref(), Some("LC2"));
        assert_eq!(rows[0].reason.as_deref(), Some("reason 3"));
        assert_eq!(rows[1].times, 1);
    }

    #[test]
    fn monthly_series_is_bounded_and_keeps_the_running_total() {
        // Proves a span longer than the cap keeps only the latest months but the cumulative
        // figures still include the dropped ones.
        let mut by_month = BTreeMap::new();
        let f = |pence| golive_projections::MoneyFigures {
            net_cost_pence: pence,
            income_at_risk_pence: pence,
            ..Default::default()
        };
        by_month.insert(
            Period {
                year: 1900,
                month: 1,
            },
            f(5),
        );
        by_month.insert(
            Period {
                year: 2200,
                month: 12,
            },
            f(7),
        );
        let s = monthly_series(&by_month, None, None);
        assert_eq!(s.len(), MONTHLY_SERIES_MONTHS_MAX);
        let last = s.last().unwrap();
        assert_eq!(last.month.to_string(), "2200-12");
        assert_eq!(last.cumulative_net_cost_pence, 12);
        assert_eq!(s[0].cumulative_income_at_risk_pence, 5);
        assert!(monthly_series(&BTreeMap::new(), None, None).is_empty());
    }

    #[test]
    fn parameters_are_checked() {
        // Proves a malformed trust, an unknown or a repeated parameter, or an exclude_synthetic
        // that is not `true` or `false`, is refused.
        let q = |pairs: &[(&str, &str)]| -> RawQuery {
            Ok(Query(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ))
        };
        assert_eq!(parse_query(q(&[])).unwrap(), (None, false));
        assert_eq!(
            parse_query(q(&[("trust", "RAL")])).unwrap(),
            (OdsCode::parse("RAL"), false)
        );
        assert_eq!(
            parse_query(q(&[("exclude_synthetic", "true"), ("trust", "RAL")])).unwrap(),
            (OdsCode::parse("RAL"), true)
        );
        assert_eq!(
            parse_query(q(&[("exclude_synthetic", "false")])).unwrap(),
            (None, false)
        );
        for bad in [
            &[("trust", "ral!")][..],
            &[("trust", "")],
            &[("trusts", "RAL")],
            &[("trust", "RAL"), ("trust", "RNJ")],
            &[("exclude_synthetic", "1")],
            &[("exclude_synthetic", "yes")],
            &[("exclude_synthetic", "")],
            &[("exclude_synthetic", "TRUE")],
            &[("exclude_synthetic", "true"), ("exclude_synthetic", "true")],
        ] {
            assert!(
                matches!(parse_query(q(bad)), Err(ApiError::BadRequest(_))),
                "{bad:?}"
            );
        }
    }

    /// The London scenario and then two simulated events under a fictional trust code: a cost
    /// and a go-live.
    fn london_and_simulated() -> Projections {
        let mut p = london();
        let sim = |n: u8, kind: &str, data: &str| {
            format!(
                r#"{{"event_id":"00000000-0000-4000-8000-0000000000{n:02}","trust":"ZZ001","collector":"sim","collector_seq":{n},"occurred_at":"2009-01-0{n}T09:00:00Z","recorded_at":"2009-01-0{n}T10:00:00Z","schema":2,"kind":"{kind}","data":{data},"sources":[{{"type":"synthetic","ref":"SYNTHETIC: test"}}],"status":"reported"}}"#
            )
        };
        let lines = [
            sim(
                1,
                "rollout_status",
                r#"{"status":"go_live","release":"R1","programme":"Simulated programme"}"#,
            ),
            sim(
                2,
                "extra_cost",
                r#"{"category":"temporary_staff","amount_pence":500000,"description":"simulated"}"#,
            ),
        ];
        for (i, line) in lines.iter().enumerate() {
            let e = golive_model::decode_str(line).expect("the simulated events decode");
            p.apply(1000 + i as u64, &e, None);
        }
        p
    }

    #[test]
    fn synthetic_figures_are_marked_and_can_be_left_out() {
        // Proves a trust only synthetic events name is marked wholly synthetic, a London trust
        // with synthetic lost patients partly, one without none; the share tree is the series
        // minus the sourced-only series; with exclude the series is the sourced-only one.
        let p = london_and_simulated();
        let rules = WarningRules::default();
        let s = series(&p, 1001, &rules, None, false);
        let sy = &s.synthetic;
        assert!(!sy.excluded && sy.affected);
        assert_eq!(sy.events, p.synthetic_events());
        assert_eq!(sy.trusts.get("ZZ001"), Some(&SyntheticPart::Wholly));
        assert_eq!(sy.trusts.get("RVL"), Some(&SyntheticPart::Partly));
        assert!(s.trusts["ZZ001"].synthetic && s.trusts["RVL"].synthetic);
        assert!(!sy.trusts.contains_key("RAX") && !s.trusts["RAX"].synthetic);
        assert_eq!(
            sy.share["trusts"]["ZZ001"],
            serde_json::json!({"sourced_only": null})
        );
        let sourced = p.sourced_only();
        let net = s.headline.net_cost_pence - sourced.money(None).total.net_cost_pence;
        assert_eq!(net, 500000);
        assert_eq!(
            sy.share["headline"]["net_cost_pence"],
            serde_json::json!(net)
        );

        let x = series(&p, 1001, &rules, None, true);
        assert!(x.synthetic.excluded && !x.synthetic.affected);
        assert_eq!(x.synthetic.events, p.synthetic_events());
        assert!(x.synthetic.trusts.is_empty());
        assert_eq!(x.synthetic.share, serde_json::json!({}));
        assert!(!x.trusts.contains_key("ZZ001") && !x.all_trusts.contains(&"ZZ001".into()));
        assert!(x.trusts.values().all(|t| !t.synthetic));
        let m = sourced.money(None);
        assert_eq!(x.headline.net_cost_pence, m.total.net_cost_pence);
        assert_eq!(
            x.headline.open_lost_patients,
            sourced.lost_patients(None).total.open_count
        );

        // One trust: its own entry is marked from its own series, the picker's marks are the
        // whole ledger's.
        let rax = OdsCode::parse("RAX").unwrap();
        let one = series(&p, 1001, &rules, Some(&rax), false);
        assert!(!one.synthetic.affected && !one.trusts["RAX"].synthetic);
        assert_eq!(one.synthetic.trusts, sy.trusts);
    }
}
