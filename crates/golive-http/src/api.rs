//! The JSON API: one endpoint per projection view, the trusts, the head, the metrics, the
//! OpenAPI document and the probes (`/healthz`, `/readyz`).
//!
//! Every projection endpoint answers `{"as_of_seq", "head_seq", "as_of", "known_at", "trust",
//! "data"}`, where
//! `data` is the view exactly as `golive query <view> --json` prints it (the same serde types),
//! and repeats `as_of_seq` in the `X-Golive-As-Of-Seq` header. Parameters are checked strictly:
//! an unknown or repeated parameter is a 400, not silently ignored, so that a typo cannot return
//! the whole programme when one trust was meant.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use golive_ledger::{LedgerGauges, seq_received_by};
use golive_model::OdsCode;
use golive_projections::{Align, Marked, MoneyAt, Projections, WarningRules};
use golive_report::{
    EVIDENCE_LIMIT_DEFAULT, EVIDENCE_LIMIT_MAX, Evidence, EvidenceOf, EvidencePage, EvidencePlan,
};
use serde::Serialize;

use crate::answers::AnswerKey;
use crate::{ApiError, AppState};

/// The header that repeats the body's `as_of_seq`.
pub const AS_OF_SEQ_HEADER: &str = "x-golive-as-of-seq";

/// The OpenAPI document of this API (`docs/openapi.json`), served at `/v1/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// Parameters of the projection endpoints.
const SELECT: &[&str] = &[
    "trust",
    "as_of_seq",
    "as_of",
    "known_at",
    "exclude_synthetic",
    "format",
    "bom",
];

/// The parameters the projection endpoints whose lines can list their events (`/v1/money`,
/// `/v1/lost-patients`) take besides [`SELECT`].
const EVIDENCE_PARAMS: &[&str] = &["evidence", "evidence_offset", "evidence_limit"];

/// Which state of the ledger a request asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The live head.
    Head,
    /// Right after this record.
    Seq(u64),
    /// As the ledger stood at this time: up to the last record received at or before it.
    Time(DateTime<Utc>),
}

/// A request's trust filter and point in the log, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub trust: Option<OdsCode>,
    pub at: At,
    /// `known_at`: only the records (up to `at`) recorded at or before this time count.
    pub known_at: Option<DateTime<Utc>>,
    /// `exclude_synthetic=true`: answer as if no synthetic event had been appended.
    pub exclude_synthetic: bool,
    /// `format=csv` (with `bom=true`, a UTF-8 byte-order mark first): the view's table as CSV
    /// instead of the JSON answer.
    pub format: Format,
    /// `evidence=true` (with `evidence_offset`, `evidence_limit`): the events behind each line,
    /// on the views that list them ([`EVIDENCE_PARAMS`]).
    pub evidence: Option<EvidencePage>,
}

/// How an answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    #[default]
    Json,
    /// RFC 4180, the view's table (docs/API.md, "Tables").
    Csv { bom: bool },
}

type RawQuery = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// Parses and checks the query string against the parameters `accepted` by `path`.
pub fn parse_selection(
    raw: Vec<(String, String)>,
    path: &str,
    accepted: &[&str],
) -> Result<Selection, ApiError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut sel = Selection {
        trust: None,
        at: At::Head,
        known_at: None,
        exclude_synthetic: false,
        format: Format::Json,
        evidence: None,
    };
    let (mut as_of_seq, mut format, mut bom) = (None, None, None);
    let (mut evidence, mut offset, mut limit) = (false, None, None);
    let mut as_of = None;
    for (name, value) in &raw {
        if !accepted.contains(&name.as_str()) {
            return Err(ApiError::BadRequest(if accepted.is_empty() {
                format!("unknown parameter `{name}`: {path} takes no parameters")
            } else {
                format!(
                    "unknown parameter `{name}`: {path} accepts {}",
                    accepted.join(", ")
                )
            }));
        }
        if seen.contains(&name.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "parameter `{name}` is given more than once"
            )));
        }
        seen.push(name);
        match name.as_str() {
            "trust" => {
                sel.trust = Some(OdsCode::parse(value).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "trust `{value}` is not an ODS code (3 to 5 upper-case letters or digits, the first a letter, e.g. RAL)"
                    ))
                })?)
            }
            "as_of_seq" => {
                let ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                as_of_seq = Some(value.parse::<u64>().ok().filter(|_| ok).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "as_of_seq `{value}` is not a sequence number (a whole number from 0)"
                    ))
                })?)
            }
            "as_of" => as_of = Some(parse_utc(value)?),
            "known_at" => sel.known_at = Some(parse_time("known_at", value)?),
            "exclude_synthetic" => sel.exclude_synthetic = parse_flag(name, value)?,
            "format" => format = Some(value.as_str()),
            "bom" => bom = Some(parse_flag(name, value)?),
            "evidence" => evidence = parse_flag(name, value)?,
            "evidence_offset" => offset = Some(parse_count(name, value)?),
            "evidence_limit" => limit = Some(parse_count(name, value)?),
            _ => unreachable!("only accepted names get here"),
        }
    }
    sel.format = parse_format(format, bom)?;
    sel.evidence = parse_evidence(evidence, offset, limit, sel.format)?;
    sel.at = at_of(as_of_seq, as_of)?;
    Ok(sel)
}

/// The point `as_of_seq` or `as_of` asks for (the head without either; both is a 400).
fn at_of(as_of_seq: Option<u64>, as_of: Option<DateTime<Utc>>) -> Result<At, ApiError> {
    match (as_of_seq, as_of) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest(
            "give as_of_seq or as_of, not both".to_owned(),
        )),
        (Some(s), None) => Ok(At::Seq(s)),
        (None, Some(t)) => Ok(At::Time(t)),
        (None, None) => Ok(At::Head),
    }
}

/// `format` (`json`, the default, or `csv`) and `bom` (with `csv` only).
fn parse_format(format: Option<&str>, bom: Option<bool>) -> Result<Format, ApiError> {
    match (format, bom) {
        (None | Some("json"), None) => Ok(Format::Json),
        (Some("csv"), bom) => Ok(Format::Csv {
            bom: bom.unwrap_or(false),
        }),
        (None | Some("json"), Some(_)) => Err(ApiError::BadRequest(
            "bom is for format=csv only".to_owned(),
        )),
        (Some(other), _) => Err(ApiError::BadRequest(format!(
            "format `{other}` is not `json` or `csv`"
        ))),
    }
}

/// `evidence` with its page, checked: a page without `evidence=true`, a limit outside 1 to
/// [`EVIDENCE_LIMIT_MAX`] or evidence asked of a CSV answer is a 400.
fn parse_evidence(
    evidence: bool,
    offset: Option<usize>,
    limit: Option<usize>,
    format: Format,
) -> Result<Option<EvidencePage>, ApiError> {
    if !evidence {
        return match (offset, limit) {
            (None, None) => Ok(None),
            _ => Err(ApiError::BadRequest(
                "evidence_offset and evidence_limit are for evidence=true only".to_owned(),
            )),
        };
    }
    if format != Format::Json {
        return Err(ApiError::BadRequest(
            "evidence=true is answered in JSON only: the CSV is the view's table".to_owned(),
        ));
    }
    let limit = limit.unwrap_or(EVIDENCE_LIMIT_DEFAULT);
    if !(1..=EVIDENCE_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "evidence_limit `{limit}` is not from 1 to {EVIDENCE_LIMIT_MAX}"
        )));
    }
    Ok(Some(EvidencePage {
        offset: offset.unwrap_or(0),
        limit,
    }))
}

/// A whole number from 0.
fn parse_count(name: &str, value: &str) -> Result<usize, ApiError> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    value.parse().ok().filter(|_| digits).ok_or_else(|| {
        ApiError::BadRequest(format!("{name} `{value}` is not a whole number from 0"))
    })
}

/// `true` or `false`, and nothing else.
fn parse_flag(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "{name} `{value}` is not `true` or `false`"
        ))),
    }
}

/// An RFC 3339 time in UTC (`Z` or `+00:00`); any other offset is refused, not converted, as
/// everywhere in the ledger.
pub fn parse_utc(value: &str) -> Result<DateTime<Utc>, ApiError> {
    parse_time("as_of", value)
}

/// As [`parse_utc`], for the parameter `name` (named in the error).
fn parse_time(name: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    let t = DateTime::parse_from_rfc3339(value).map_err(|_| {
        let hint = if value.contains(' ') {
            " (a `+` in a URL reads as a space: write the offset as `Z` or `%2B00:00`)"
        } else {
            ""
        };
        ApiError::BadRequest(format!(
            "{name} `{value}` is not an RFC 3339 time such as 2008-06-15T09:00:00Z{hint}"
        ))
    })?;
    if t.offset().local_minus_utc() != 0 {
        return Err(ApiError::BadRequest(format!(
            "{name} `{value}` is not UTC: write times in UTC with `Z`, e.g. 2008-06-15T09:00:00Z"
        )));
    }
    Ok(t.with_timezone(&Utc))
}

fn selection(raw: RawQuery, path: &str, accepted: &[&str]) -> Result<Selection, ApiError> {
    let Query(pairs) = raw.map_err(|e| {
        ApiError::BadRequest(format!("the query string is malformed: {}", e.body_text()))
    })?;
    parse_selection(pairs, path, accepted)
}

/// The body of every projection endpoint.
#[derive(Serialize)]
struct Answer<'a, V> {
    as_of_seq: u64,
    head_seq: u64,
    as_of: Option<String>,
    known_at: Option<String>,
    trust: Option<&'a str>,
    data: V,
    /// With `evidence=true` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<Evidence>,
}

/// A JSON body with the as-of header.
fn json_response(as_of_seq: u64, body: Bytes) -> Response {
    let mut r = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    r.headers_mut().insert(
        HeaderName::from_static(AS_OF_SEQ_HEADER),
        HeaderValue::from(as_of_seq),
    );
    r
}

/// A CSV body with the as-of header, named for a download (`money-at-seq-160.csv`).
fn csv_response(path: &str, as_of_seq: u64, body: Bytes) -> Response {
    let view = path
        .trim_start_matches("/v1/")
        .split('?')
        .next()
        .unwrap_or("answer");
    let disposition = format!("attachment; filename=\"{view}-at-seq-{as_of_seq}.csv\"");
    let mut r = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8; header=present"),
        )],
        body,
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(
        HeaderName::from_static(AS_OF_SEQ_HEADER),
        HeaderValue::from(as_of_seq),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// A cached body as its format's response.
fn cached_response(sel: &Selection, path: &str, as_of_seq: u64, body: Bytes) -> Response {
    match sel.format {
        Format::Json => json_response(as_of_seq, body),
        Format::Csv { .. } => csv_response(path, as_of_seq, body),
    }
}

fn no_events(trust: &OdsCode, seq: u64, known_at: Option<&str>) -> ApiError {
    let known = known_at
        .map(|t| format!(", known at {t}"))
        .unwrap_or_default();
    ApiError::NotFound(format!(
        "trust {trust} has no events in this ledger (as of seq {seq}{known})"
    ))
}

fn lock_err<T>(_: T) -> ApiError {
    ApiError::Internal("ledger lock poisoned".into())
}

/// What an answer answers, and how its envelope is written: the endpoint, the selection,
/// and the `as_of` and `known_at` texts of the envelope.
struct Asked<'a> {
    path: &'static str,
    sel: &'a Selection,
    as_of_text: Option<String>,
    known_at_text: Option<String>,
}

impl<'a> Asked<'a> {
    fn new(path: &'static str, sel: &'a Selection) -> Self {
        Self {
            path,
            sel,
            as_of_text: match sel.at {
                At::Time(t) => Some(golive_model::format_time(&t)),
                _ => None,
            },
            known_at_text: sel.known_at.as_ref().map(golive_model::format_time),
        }
    }

    fn key(&self, as_of_seq: u64, head_seq: u64) -> AnswerKey {
        AnswerKey {
            path: self.path,
            trust: self.sel.trust.as_ref().map(|t| t.as_str().to_owned()),
            as_of_seq,
            head_seq,
            as_of: self.as_of_text.clone(),
            known_at: self.known_at_text.clone(),
            exclude_synthetic: self.sel.exclude_synthetic,
            format: self.sel.format,
            evidence: self.sel.evidence,
        }
    }

    /// The table's CSV, kept in the cache, and the response.
    fn respond_csv(
        &self,
        state: &AppState,
        (as_of_seq, head_seq): (u64, u64),
        table: &golive_report::Table,
        bom: bool,
    ) -> Response {
        let body = Bytes::from(golive_report::write_csv(table, bom));
        state
            .answers
            .put(self.key(as_of_seq, head_seq), body.clone());
        csv_response(self.path, as_of_seq, body)
    }

    /// The answer's bytes, kept in the cache, and the response.
    fn respond<V: Serialize>(
        &self,
        state: &AppState,
        (as_of_seq, head_seq): (u64, u64),
        data: V,
        evidence: Option<Evidence>,
    ) -> Result<Response, ApiError> {
        let body = Bytes::from(
            serde_json::to_vec(&Answer {
                as_of_seq,
                head_seq,
                as_of: self.as_of_text.clone(),
                known_at: self.known_at_text.clone(),
                trust: self.sel.trust.as_ref().map(OdsCode::as_str),
                data,
                evidence,
            })
            .map_err(|e| ApiError::Internal(format!("cannot encode the answer: {e}")))?,
        );
        state
            .answers
            .put(self.key(as_of_seq, head_seq), body.clone());
        Ok(json_response(as_of_seq, body))
    }

    /// A 404 unless the trust asked about (if any) has events in `p` (of the non-synthetic
    /// events only, when they are what is asked for).
    fn check(&self, p: &Projections, seq: u64) -> Result<(), ApiError> {
        let p = if self.sel.exclude_synthetic {
            p.sourced_only()
        } else {
            p
        };
        match &self.sel.trust {
            Some(t) if !p.trusts().contains(t) => {
                Err(no_events(t, seq, self.known_at_text.as_deref()))
            }
            _ => Ok(()),
        }
    }
}

/// Builds the view `build` at the selected point, marked with its synthetic share (or of the
/// sourced-only projections with `exclude_synthetic`), and wraps it as an [`Answer`].
///
/// At the head (or at a sequence that is the head) the view is built from the live projections
/// under the ledger's lock, which is held only while `build` runs; anything older is an as-of
/// answer from the cache or from the nearest snapshot plus replay, without the lock. A known-at
/// answer is always from the cache or a known-at fold up to the sequence (the head if none).
async fn answer<V, F>(
    state: &AppState,
    (path, of): (&'static str, Option<EvidenceOf>),
    sel: Selection,
    build: F,
) -> Result<Response, ApiError>
where
    V: Serialize + golive_report::Tabular,
    F: Fn(&Projections, Option<&OdsCode>, &WarningRules) -> V,
{
    let head_now = state.store.head().seq;
    let mut wanted = wanted_seq(state, sel.at, head_now).await?;
    if sel.known_at.is_some() {
        // A known-at fold is never the live state: it is up to a sequence, the head if none.
        wanted = Some(wanted.unwrap_or(head_now));
    }
    let asked = Asked::new(path, &sel);
    // The same question at the same head was answered already: no lock, no view, no encoding.
    if let Some(body) = state
        .answers
        .get(&asked.key(wanted.unwrap_or(head_now), head_now))
    {
        return Ok(cached_response(
            &sel,
            path,
            wanted.unwrap_or(head_now),
            body,
        ));
    }
    let exclude = sel.exclude_synthetic;
    let trust = sel.trust.as_ref();
    if let Format::Csv { bom } = sel.format {
        let table = |p: &Projections| {
            golive_report::table_of(p, exclude, |p| build(p, trust, &state.rules))
        };
        let (as_of_seq, head_seq, t) = view_at(state, &asked, wanted, table).await?;
        return Ok(asked.respond_csv(state, (as_of_seq, head_seq), &t, bom));
    }
    let wants = sel.evidence.zip(of);
    let marked = |p: &Projections| {
        let plan = wants.map(|(_, of)| {
            let p = if exclude { p.sourced_only() } else { p };
            EvidencePlan::of(p, of, trust)
        });
        (p.marked(exclude, |p| build(p, trust, &state.rules)), plan)
    };
    let (as_of_seq, head_seq, (view, plan)) = view_at(state, &asked, wanted, marked).await?;
    let evidence = match (plan, sel.evidence) {
        (Some(plan), Some(page)) => Some(resolve(state, plan, page).await?),
        _ => None,
    };
    asked.respond(state, (as_of_seq, head_seq), view, evidence)
}

/// The evidence of `plan`, its events read from the store off the async threads and without
/// the ledger's lock.
async fn resolve(
    state: &AppState,
    plan: EvidencePlan,
    page: EvidencePage,
) -> Result<Evidence, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        plan.resolve(page, |id| {
            Ok::<_, golive_store::StoreError>(store.record_of(id)?.map(|r| (r.seq, r.envelope)))
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The sequence a request asks about: `None` for the head, else a past sequence (a time is
/// turned into the last sequence received by then). A sequence beyond the head is a 400.
async fn wanted_seq(state: &AppState, at: At, head_now: u64) -> Result<Option<u64>, ApiError> {
    match at {
        At::Head => Ok(None),
        At::Seq(s) if s > head_now => Err(ApiError::BadRequest(format!(
            "as_of_seq {s} is beyond the ledger's head ({head_now})"
        ))),
        At::Seq(s) => Ok(Some(s)),
        At::Time(t) => {
            let store = state.store.clone();
            let seq = tokio::task::spawn_blocking(move || seq_received_by(&store, t))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(Some(seq))
        }
    }
}

/// `(as_of_seq, head_seq, view)`: the view built from the live projections when they are at the
/// sequence wanted (and no `known_at` is asked), else from the as-of or known-at projections at
/// it. A trust without events is a 404.
async fn view_at<V, F>(
    state: &AppState,
    asked: &Asked<'_>,
    wanted: Option<u64>,
    build: F,
) -> Result<(u64, u64, V), ApiError>
where
    F: Fn(&Projections) -> V,
{
    let known_at = asked.sel.known_at;
    // The live projections, if they are what is asked for. The lock is let go before any
    // await.
    let live = {
        let ledger = state.ledger.lock().map_err(lock_err)?;
        let head = ledger.head().seq;
        if known_at.is_none() && wanted.is_none_or(|s| s == head) {
            let p = ledger.projections();
            asked.check(p, head)?;
            Some((head, head, build(p)))
        } else {
            None
        }
    };
    if let Some(v) = live {
        return Ok(v);
    }
    let seq = wanted.expect("only a past sequence gets here");
    let p = state
        .as_of
        .projections(seq, known_at, &state.metrics)
        .await?;
    asked.check(&p, seq)?;
    Ok((seq, state.store.head().seq, build(&p)))
}

macro_rules! projection_endpoint {
    ($name:ident, $path:literal, |$p:ident, $t:ident, $rules:ident| $build:expr) => {
        projection_endpoint!($name, $path, None, |$p, $t, $rules| $build);
    };
    ($name:ident, $path:literal, $of:expr, |$p:ident, $t:ident, $rules:ident| $build:expr) => {
        pub(crate) async fn $name(
            State(state): State<AppState>,
            raw: RawQuery,
        ) -> Result<Response, ApiError> {
            let of: Option<EvidenceOf> = $of;
            let mut accepted = SELECT.to_vec();
            if of.is_some() {
                accepted.extend_from_slice(EVIDENCE_PARAMS);
            }
            let sel = selection(raw, $path, &accepted)?;
            answer(
                &state,
                ($path, of),
                sel,
                |$p: &Projections, $t: Option<&OdsCode>, $rules: &WarningRules| $build,
            )
            .await
        }
    };
}

projection_endpoint!(
    lost_patients,
    "/v1/lost-patients",
    Some(EvidenceOf::LostPatients),
    |p, t, _r| p.lost_patients(t)
);
/// `/v1/money`: a projection view like the others, except that a past sequence or a known-at
/// time (JSON, no evidence) is answered from the ledger's money history when it has one
/// (`golive_projections::MoneyHistory`: milliseconds, no snapshot, no replay) rather than from a
/// full as-of fold. Both give the same answer; the history's property test holds it so.
pub(crate) async fn money(
    State(state): State<AppState>,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    const PATH: &str = "/v1/money";
    let mut accepted = SELECT.to_vec();
    accepted.extend_from_slice(EVIDENCE_PARAMS);
    let sel = selection(raw, PATH, &accepted)?;
    if let Some(response) = money_from_history(&state, PATH, &sel).await? {
        return Ok(response);
    }
    answer(&state, (PATH, Some(EvidenceOf::Money)), sel, |p, t, _r| {
        p.money(t)
    })
    .await
}

/// The money answer from the history, when it can give it (else `None`: the full fold does).
/// A known-at question is at its sequence, the head if none.
async fn money_from_history(
    state: &AppState,
    path: &'static str,
    sel: &Selection,
) -> Result<Option<Response>, ApiError> {
    if sel.evidence.is_some() || sel.format != Format::Json {
        return Ok(None);
    }
    let head_now = state.store.head().seq;
    let seq = match (wanted_seq(state, sel.at, head_now).await?, sel.known_at) {
        (Some(seq), _) => seq,
        (None, Some(_)) => head_now,
        (None, None) => return Ok(None),
    };
    let asked = Asked::new(path, sel);
    if let Some(body) = state.answers.get(&asked.key(seq, head_now)) {
        return Ok(Some(cached_response(sel, path, seq, body)));
    }
    let (trust, exclude) = (sel.trust.clone(), sel.exclude_synthetic);
    let found = match sel.known_at {
        None => {
            state
                .as_of
                .money_at(seq, trust, exclude, &state.metrics)
                .await?
        }
        Some(t) => {
            let at = (seq, t);
            state
                .as_of
                .money_known_at(at, trust, exclude, &state.metrics)
                .await?
        }
    };
    match (found, &sel.trust) {
        (None, _) => Ok(None),
        (Some(MoneyAt::NoEvents), Some(t)) => {
            Err(no_events(t, seq, asked.known_at_text.as_deref()))
        }
        (Some(MoneyAt::NoEvents), None) => unreachable!("only a trust has no events"),
        (Some(MoneyAt::View(view)), _) => asked
            .respond(state, (seq, state.store.head().seq), *view, None)
            .map(Some),
    }
}
projection_endpoint!(rollout, "/v1/rollout", |p, t, _r| p.rollout(t));
projection_endpoint!(warnings, "/v1/warnings", |p, t, r| p.warnings(r, t));
projection_endpoint!(deferred_features, "/v1/deferred-features", |p, t, _r| p
    .deferred_features(t));
projection_endpoint!(incidents, "/v1/incidents", |p, t, _r| p.incidents(t));
projection_endpoint!(evidence, "/v1/evidence", |p, t, _r| p.evidence(t));
projection_endpoint!(coverage, "/v1/coverage", |p, t, r| p.coverage(r, t));
projection_endpoint!(usage_burden, "/v1/usage-burden", |p, t, _r| p
    .usage_burden(t));

/// `/v1/recovery`: the recovery view, priced with the state's tariffs. Not a
/// [`projection_endpoint!`] only because it takes `align` (`calendar`, the default, or
/// `go_live`) besides the selection; the two alignments are cached apart.
pub(crate) async fn recovery(
    State(state): State<AppState>,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    const PATH: &str = "/v1/recovery";
    let Query(mut pairs) = raw.map_err(|e| {
        ApiError::BadRequest(format!("the query string is malformed: {}", e.body_text()))
    })?;
    let align = take_align(&mut pairs)?;
    let mut accepted = SELECT.to_vec();
    accepted.push("align");
    let sel = parse_selection(pairs, PATH, &accepted)?;
    let key: &'static str = match align {
        Align::Calendar => PATH,
        Align::GoLive => "/v1/recovery?align=go_live",
    };
    let tariffs = state.tariffs.clone();
    answer(&state, (key, None), sel, |p, t, r| {
        p.recovery(&tariffs, r, t, align)
    })
    .await
}

/// Removes `align` from the parameters and reads it: `calendar` or `go_live`, at most once.
fn take_align(pairs: &mut Vec<(String, String)>) -> Result<Align, ApiError> {
    let given: Vec<String> = pairs
        .iter()
        .filter(|(n, _)| n == "align")
        .map(|(_, v)| v.clone())
        .collect();
    pairs.retain(|(n, _)| n != "align");
    match given.as_slice() {
        [] => Ok(Align::Calendar),
        [v] if v == "calendar" => Ok(Align::Calendar),
        [v] if v == "go_live" => Ok(Align::GoLive),
        [v] => Err(ApiError::BadRequest(format!(
            "align `{v}` is not `calendar` or `go_live`"
        ))),
        _ => Err(ApiError::BadRequest(
            "parameter `align` is given more than once".to_owned(),
        )),
    }
}

/// `/v1/claims`: the claim register. Not a [`projection_endpoint!`]: besides the projection at
/// the selected point it folds the log at each claim's date (`golive_ledger::claims_register`),
/// which reads the store, so it runs off the async threads and never under the ledger's lock.
/// Marked as every view is: `golive_ledger::claims_register_marked`.
pub(crate) async fn claims(
    State(state): State<AppState>,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    const PATH: &str = "/v1/claims";
    let sel = selection(raw, PATH, SELECT)?;
    let head_now = state.store.head().seq;
    let seq = wanted_seq(&state, sel.at, head_now)
        .await?
        .unwrap_or(head_now);
    let asked = Asked::new(PATH, &sel);
    if let Some(body) = state.answers.get(&asked.key(seq, head_now)) {
        return Ok(cached_response(&sel, PATH, seq, body));
    }
    let p = state
        .as_of
        .projections(seq, sel.known_at, &state.metrics)
        .await?;
    asked.check(&p, seq)?;
    let (store, rules, trust, known_at, exclude) = (
        state.store.clone(),
        state.claim_rules.clone(),
        sel.trust.clone(),
        sel.known_at,
        sel.exclude_synthetic,
    );
    let events = p.synthetic_events();
    let (view, sourced) = tokio::task::spawn_blocking(move || {
        let at = (seq, known_at);
        golive_ledger::claims_register_both(&store, &p, at, &rules, trust.as_ref(), exclude)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Format::Csv { bom } = sel.format {
        let t = golive_report::marked_table(&view, sourced.as_ref());
        return Ok(asked.respond_csv(&state, (seq, head_now), &t, bom));
    }
    let marked = if exclude {
        Marked::excluded(view, events)
    } else {
        Marked::compared(view, sourced.as_ref(), events)
    };
    asked.respond(&state, (seq, head_now), marked, None)
}
// With `trust`, the list is that one trust (or a 404): a cheap "does it have events" check.
projection_endpoint!(trusts, "/v1/trusts", |p, t, _r| match t {
    Some(t) => vec![t.clone()],
    None => p.trusts(),
});

#[derive(Serialize)]
struct HeadBody {
    seq: u64,
    hash: String,
    /// When the head record was received (`null` for an empty ledger).
    received_at: Option<String>,
}

pub(crate) async fn head(
    State(state): State<AppState>,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    selection(raw, "/v1/head", &[])?;
    let h = state.store.head();
    let received_at = match h.seq {
        0 => None,
        seq => state
            .store
            .get(seq)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map(|r| golive_model::format_time(&r.received_at)),
    };
    let body = serde_json::to_vec(&HeadBody {
        seq: h.seq,
        hash: h.hash.iter().map(|b| format!("{b:02x}")).collect(),
        received_at,
    })
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json_response(h.seq, Bytes::from(body)))
}

pub(crate) async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI_JSON,
    )
        .into_response()
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let gauges = LedgerGauges::read(&state.store).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(&gauges),
    )
        .into_response())
}

/// Unknown paths: a JSON 404 naming where to look.
pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!(
        "no such path {}; the API is described at /v1/openapi.json",
        uri.path()
    ))
}

/// A known path with a method it does not serve.
pub(crate) async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "method {method} is not allowed here; the API is read-only (GET)"
    ))
}

/// `GET /healthz`: `ok` while the process serves (public; for load balancers and probes).
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz` (public): 200 `{"ready": true, ...}` when the store is open, NATS connected,
/// the consumer loop consuming and its lag within `[http] ready_lag_max_messages`; else 503
/// `{"ready": false, "reasons": [...], ...}`, each reason naming its part (`nats: ...`).
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    use std::sync::atomic::Ordering;
    let lag = state.metrics.consumer_lag.load(Ordering::Relaxed);
    let report = state.readiness.check(lag);
    let status = if report.ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

/// Most dead letters per `/v1/dead-letters` page.
pub const DEAD_LETTERS_PAGE_MAX: u64 = 1_000;

#[derive(serde::Deserialize)]
pub(crate) struct DeadLettersQuery {
    from_id: Option<u64>,
    limit: Option<u64>,
}

/// `GET /v1/dead-letters?from_id=&limit=` (admin): rejected messages in the order they came,
/// each with its origin, field, reason and the bytes as received (base64, and as text with
/// invalid UTF-8 replaced), paged by id.
pub(crate) async fn dead_letters(
    State(state): State<AppState>,
    Query(q): Query<DeadLettersQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    use base64::Engine;
    let from = q.from_id.unwrap_or(1).max(1);
    let limit = q.limit.unwrap_or(100);
    if !(1..=DEAD_LETTERS_PAGE_MAX).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be from 1 to {DEAD_LETTERS_PAGE_MAX}"
        )));
    }
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let total = store.dead_letter_count();
        let mut items = Vec::new();
        let mut next = None;
        for d in store.dead_letters() {
            let d = d.map_err(|e| ApiError::Internal(e.to_string()))?;
            if d.id < from {
                continue;
            }
            if items.len() as u64 == limit {
                next = Some(d.id);
                break;
            }
            items.push(serde_json::json!({
                "id": d.id,
                "origin": d.origin,
                "field": d.field,
                "reason": d.reason,
                "received_at": golive_model::format_time(&d.received_at),
                "raw_len": d.raw_len,
                "raw_base64": base64::engine::general_purpose::STANDARD.encode(&d.raw),
                "raw_text": String::from_utf8_lossy(&d.raw),
            }));
        }
        Ok(Json(serde_json::json!({
            "total": total,
            "dead_letters": items,
            "next_from_id": next,
        })))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("dead letters task failed: {e}")))?
}
