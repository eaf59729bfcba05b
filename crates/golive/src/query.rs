//! `golive query`: one answer type, two sources. Local mode folds the ledger on disk
//! (nearest snapshot plus replay); `--server URL` asks a running `golive serve` over HTTP and
//! deserializes its JSON into the same view types. Either answers at the head, as of a sequence
//! or time (`--as-of-seq`, `--as-of`: what the ledger had received), and optionally known at a
//! time (`--known-at`: only the records whose `recorded_at` is at or before it, see
//! docs/EVENTS.md, "The three times of an event"). Both are printed by
//! [`crate::render::views::answer`], so the two modes print the same bytes for the same ledger
//! state.

use chrono::{DateTime, Utc};
use golive_ledger::{
    LedgerError, claims_register_both, claims_register_marked, projections_at,
    projections_known_at, seq_received_by,
};
use golive_model::OdsCode;
use golive_projections::{
    Align, ClaimRules, ClaimsView, CoverageView, DeferredView, IncidentsView, LostPatientsView,
    Marked, MoneyView, Projections, RecoveryView, RolloutView, Synthetic, Tariffs, UsageBurdenView,
    WarningRules, WarningsView,
};
use golive_store::Store;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::{Client, ClientError};

/// What to query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    LostPatients,
    Money,
    Rollout,
    Warnings,
    Deferred,
    Incidents,
    Trusts,
    /// Per programme trust: reporting, silent or dark.
    Coverage,
    /// The claim register: each assurance claim against what was known at its date.
    Claims,
    /// Per trust and month: usage beside burden, struggle months marked.
    UsageBurden,
    /// Per trust and point of delivery: activity against its baseline since go-live, the priced
    /// shortfall beside income at risk, the validation burn-down.
    Recovery,
}

impl What {
    /// The HTTP API path that serves it.
    pub fn path(self) -> &'static str {
        match self {
            What::LostPatients => "/v1/lost-patients",
            What::Money => "/v1/money",
            What::Rollout => "/v1/rollout",
            What::Warnings => "/v1/warnings",
            What::Deferred => "/v1/deferred-features",
            What::Incidents => "/v1/incidents",
            What::Trusts => "/v1/trusts",
            What::Coverage => "/v1/coverage",
            What::Claims => "/v1/claims",
            What::UsageBurden => "/v1/usage-burden",
            What::Recovery => "/v1/recovery",
        }
    }
}

/// Which state of the ledger to answer about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    Head,
    /// Right after this record.
    Seq(u64),
    /// Up to the last record received at or before this time.
    Time(DateTime<Utc>),
}

/// The state of the ledger an answer is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    pub at: At,
    /// Only the records recorded at or before this time count.
    pub known_at: Option<DateTime<Utc>>,
    /// As if no synthetic event had been appended.
    pub exclude_synthetic: bool,
    /// How the recovery view lines trusts up (`--align go-live`); other views ignore it.
    pub align: Align,
}

impl Point {
    /// At `at`, known at `known_at`, synthetic events included, on the calendar.
    pub fn new(at: At, known_at: Option<DateTime<Utc>>) -> Self {
        Self {
            at,
            known_at,
            exclude_synthetic: false,
            align: Align::Calendar,
        }
    }
}

/// The rules and tables the views are answered with, from the config file.
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    pub warnings: &'a WarningRules,
    pub claims: &'a ClaimRules,
    pub tariffs: &'a Tariffs,
}

/// A view, whichever it is. Serialized as the view itself.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum View {
    LostPatients(LostPatientsView),
    Money(MoneyView),
    Rollout(RolloutView),
    Warnings(WarningsView),
    Deferred(DeferredView),
    Incidents(IncidentsView),
    Trusts(Vec<OdsCode>),
    Coverage(CoverageView),
    Claims(ClaimsView),
    UsageBurden(UsageBurdenView),
    Recovery(RecoveryView),
}

/// A view and the ledger sequence it is at.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub as_of_seq: u64,
    /// The known-at time asked for: only the records recorded by then count.
    pub known_at: Option<DateTime<Utc>>,
    pub view: View,
    /// What the answer says of synthetic data (its share of each figure, or that it was left
    /// out); the default for the list of trusts, which says nothing of it.
    pub synthetic: Synthetic,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("trust {trust} has no events in this ledger (as of seq {seq})")]
    NoSuchTrust { trust: OdsCode, seq: u64 },
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Evidence(#[from] golive_report::EvidenceError<golive_store::StoreError>),
    #[error("--evidence is for money and lost-patients (the views whose lines list their events)")]
    NoEvidence,
}

/// `NoSuchTrust` unless the trust asked about (if any) has events in `p` (in its non-synthetic
/// events, with `exclude`).
fn has_trust(
    p: &Projections,
    seq: u64,
    trust: Option<&OdsCode>,
    exclude: bool,
) -> Result<(), QueryError> {
    let p = if exclude { p.sourced_only() } else { p };
    match trust {
        Some(t) if !p.trusts().contains(t) => Err(QueryError::NoSuchTrust {
            trust: t.clone(),
            seq,
        }),
        _ => Ok(()),
    }
}

/// The view `what` of projections `p` (at sequence `seq`), for one trust or all, marked with
/// its synthetic share, or with `point.exclude_synthetic` of the non-synthetic events only (the
/// recovery view aligned as `point.align` says).
pub fn view_of(
    p: &Projections,
    seq: u64,
    what: What,
    trust: Option<&OdsCode>,
    all: Rules<'_>,
    point: Point,
) -> Result<Answer, QueryError> {
    let exclude = point.exclude_synthetic;
    has_trust(p, seq, trust, exclude)?;
    let build = |p: &Projections| build_view(p, what, trust, all, point.align);
    let m = p.marked(exclude, build);
    Ok(Answer {
        as_of_seq: seq,
        known_at: None,
        synthetic: unless_trusts(&m.view, m.synthetic),
        view: m.view,
    })
}

/// The view `what` of `p`, for one trust or all (not the claim register: it needs the store).
fn build_view(
    p: &Projections,
    what: What,
    trust: Option<&OdsCode>,
    all: Rules<'_>,
    align: Align,
) -> View {
    let rules = all.warnings;
    match what {
        What::LostPatients => View::LostPatients(p.lost_patients(trust)),
        What::Money => View::Money(p.money(trust)),
        What::Rollout => View::Rollout(p.rollout(trust)),
        What::Warnings => View::Warnings(p.warnings(rules, trust)),
        What::Deferred => View::Deferred(p.deferred_features(trust)),
        What::Incidents => View::Incidents(p.incidents(trust)),
        What::Trusts => View::Trusts(match trust {
            Some(t) => vec![t.clone()],
            None => p.trusts(),
        }),
        What::Coverage => View::Coverage(p.coverage(rules, trust)),
        What::UsageBurden => View::UsageBurden(p.usage_burden(trust)),
        What::Recovery => View::Recovery(p.recovery(all.tariffs, rules, trust, align)),
        // A programmer error: the register folds the log again, see `local`.
        What::Claims => unreachable!("the claim register needs the store: use `local`"),
    }
}

impl golive_report::Tabular for View {
    fn table(&self) -> golive_report::Table {
        match self {
            View::LostPatients(v) => v.table(),
            View::Money(v) => v.table(),
            View::Rollout(v) => v.table(),
            View::Warnings(v) => v.table(),
            View::Deferred(v) => v.table(),
            View::Incidents(v) => v.table(),
            View::Trusts(v) => v.table(),
            View::Coverage(v) => v.table(),
            View::Claims(v) => v.table(),
            View::UsageBurden(v) => v.table(),
            View::Recovery(v) => v.table(),
        }
    }
}

/// The list of trusts says nothing of synthetic data (it is not an object to say it in).
fn unless_trusts(view: &View, synthetic: Synthetic) -> Synthetic {
    match view {
        View::Trusts(_) => Synthetic::default(),
        _ => synthetic,
    }
}

/// Answers from the ledger on disk: the nearest snapshot at or before the sequence, plus
/// replay; with `known_at`, a fold of the records up to the sequence recorded by then.
pub fn local(
    store: &Store,
    what: What,
    trust: Option<&OdsCode>,
    point: Point,
    rules: Rules<'_>,
) -> Result<Answer, QueryError> {
    let (seq, p) = fold(store, point)?;
    let known_at = point.known_at;
    let exclude = point.exclude_synthetic;
    let answer = match what {
        What::Claims => claims(store, &p, (seq, known_at), trust, rules.claims, exclude),
        _ => view_of(&p, seq, what, trust, rules, point).map(|a| Answer { known_at, ..a }),
    };
    drop_later(p);
    answer
}

/// The table of `what` from the ledger on disk (docs/API.md, "Tables"), at `point`, each row
/// marked as the synthetic events stand to it; with the sequence it is at.
pub fn local_table(
    store: &Store,
    what: What,
    trust: Option<&OdsCode>,
    point: Point,
    rules: Rules<'_>,
) -> Result<(u64, golive_report::Table), QueryError> {
    let (seq, p) = fold(store, point)?;
    let table = table_of(store, (seq, &p), what, trust, point, rules)?;
    drop_later(p);
    Ok((seq, table))
}

/// The table of `what` of `p`, the ledger folded at `seq` (so that many tables share one fold).
pub fn table_of(
    store: &Store,
    (seq, p): (u64, &Projections),
    what: What,
    trust: Option<&OdsCode>,
    point: Point,
    rules: Rules<'_>,
) -> Result<golive_report::Table, QueryError> {
    let exclude = point.exclude_synthetic;
    has_trust(p, seq, trust, exclude)?;
    Ok(match what {
        What::Claims => {
            let at = (seq, point.known_at);
            let (view, sourced) = claims_register_both(store, p, at, rules.claims, trust, exclude)?;
            golive_report::marked_table(&view, sourced.as_ref())
        }
        _ => golive_report::table_of(p, exclude, |p| {
            build_view(p, what, trust, rules, point.align)
        }),
    })
}

/// The sequence `point` is at, and the projections there (known at its time, if any).
pub fn fold(store: &Store, point: Point) -> Result<(u64, Projections), QueryError> {
    let seq = match point.at {
        At::Head => store.head().seq,
        At::Seq(s) => s,
        At::Time(t) => seq_received_by(store, t)?,
    };
    let p = match point.known_at {
        Some(t) => projections_known_at(store, seq, t)?,
        None => projections_at(store, seq, &mut |_, _| {})?,
    };
    Ok((seq, p))
}

/// Freeing the state of a large ledger (millions of small allocations) took an eighth of a
/// one-shot `golive query` (docs/BENCHMARKS.md): done off the answering path; a process that
/// exits first leaves it to the kernel.
fn drop_later(p: Projections) {
    std::thread::spawn(move || drop(p));
}

/// The claim register of `p` (the ledger after `seq`, known at `known_at`), marked.
fn claims(
    store: &Store,
    p: &Projections,
    (seq, known_at): (u64, Option<DateTime<Utc>>),
    trust: Option<&OdsCode>,
    rules: &ClaimRules,
    exclude: bool,
) -> Result<Answer, QueryError> {
    has_trust(p, seq, trust, exclude)?;
    let m: Marked<ClaimsView> =
        claims_register_marked(store, p, (seq, known_at), rules, trust, exclude)?;
    Ok(Answer {
        as_of_seq: seq,
        known_at,
        view: View::Claims(m.view),
        synthetic: m.synthetic,
    })
}

/// Which view's lines `what`'s evidence is of, if it has any.
fn evidence_of(what: What) -> Result<golive_report::EvidenceOf, QueryError> {
    match what {
        What::Money => Ok(golive_report::EvidenceOf::Money),
        What::LostPatients => Ok(golive_report::EvidenceOf::LostPatients),
        _ => Err(QueryError::NoEvidence),
    }
}

/// The evidence behind each line of `what` (docs/API.md, "Evidence behind a figure") from the
/// ledger on disk at `point`, with the sequence it is at: the same as the API's `evidence`.
pub fn local_evidence(
    store: &Store,
    what: What,
    trust: Option<&OdsCode>,
    point: Point,
    page: golive_report::EvidencePage,
) -> Result<(u64, golive_report::Evidence), QueryError> {
    let of = evidence_of(what)?;
    let (seq, p) = fold(store, point)?;
    let exclude = point.exclude_synthetic;
    has_trust(&p, seq, trust, exclude)?;
    let plan = {
        let p = if exclude { p.sourced_only() } else { &p };
        golive_report::EvidencePlan::of(p, of, trust)
    };
    drop_later(p);
    let evidence = plan.resolve(page, |id| {
        Ok(store.record_of(id)?.map(|r| (r.seq, r.envelope)))
    })?;
    Ok((seq, evidence))
}

/// The evidence behind each line of `what`, as a running ledger's API answers it.
pub fn remote_evidence(
    server: &str,
    what: What,
    trust: Option<&OdsCode>,
    point: Point,
    page: golive_report::EvidencePage,
) -> Result<(u64, golive_report::Evidence), QueryError> {
    evidence_of(what)?;
    #[derive(Deserialize)]
    struct WithEvidence {
        as_of_seq: u64,
        evidence: golive_report::Evidence,
    }
    let client = Client::new(server);
    let full = url(client.base(), what, trust, point);
    let path = &full[client.base().len()..];
    let sep = if path.contains('?') { '&' } else { '?' };
    let asked = format!(
        "{path}{sep}evidence=true&evidence_offset={}&evidence_limit={}",
        page.offset, page.limit
    );
    let body = client.get(&asked)?;
    let w: WithEvidence = serde_json::from_slice(&body).map_err(|e| {
        QueryError::Client(ClientError::BadAnswer {
            url: format!("{}{asked}", client.base()),
            message: e.to_string(),
        })
    })?;
    Ok((w.as_of_seq, w.evidence))
}

/// The part of an API answer the CLI reads; `data` is the view.
#[derive(Deserialize)]
struct Wire<T> {
    as_of_seq: u64,
    data: T,
}

/// The URL of `what` on `server` with the query parameters.
pub fn url(server: &str, what: What, trust: Option<&OdsCode>, point: Point) -> String {
    let Point {
        at,
        known_at,
        exclude_synthetic,
        align,
    } = point;
    let mut params = Vec::new();
    if let Some(t) = trust {
        params.push(format!("trust={t}"));
    }
    match at {
        At::Head => {}
        At::Seq(s) => params.push(format!("as_of_seq={s}")),
        // RFC 3339 with `Z`: only digits, `-`, `:`, `.`, `T`, `Z`, all safe in a query.
        At::Time(t) => params.push(format!("as_of={}", golive_model::format_time(&t))),
    }
    if let Some(t) = known_at {
        params.push(format!("known_at={}", golive_model::format_time(&t)));
    }
    if exclude_synthetic {
        params.push("exclude_synthetic=true".to_owned());
    }
    if what == What::Recovery && align == Align::GoLive {
        params.push("align=go_live".to_owned());
    }
    let mut u = format!("{}{}", server.trim_end_matches('/'), what.path());
    if !params.is_empty() {
        u.push('?');
        u.push_str(&params.join("&"));
    }
    u
}

/// Answers from a running ledger's HTTP API (`golive serve --http`).
pub fn remote(
    server: &str,
    what: What,
    trust: Option<&OdsCode>,
    point: Point,
) -> Result<Answer, QueryError> {
    let client = Client::new(server);
    let url = url(client.base(), what, trust, point);
    let path = &url[client.base().len()..];
    let body = client.get(path)?;
    fn read<T: DeserializeOwned>(url: &str, body: &[u8]) -> Result<(u64, T), QueryError> {
        serde_json::from_slice::<Wire<T>>(body)
            .map(|w| (w.as_of_seq, w.data))
            .map_err(|e| {
                QueryError::Client(ClientError::BadAnswer {
                    url: url.to_owned(),
                    message: e.to_string(),
                })
            })
    }
    let (as_of_seq, view) = match what {
        What::LostPatients => read(&url, &body).map(|(s, v)| (s, View::LostPatients(v)))?,
        What::Money => read(&url, &body).map(|(s, v)| (s, View::Money(v)))?,
        What::Rollout => read(&url, &body).map(|(s, v)| (s, View::Rollout(v)))?,
        What::Warnings => read(&url, &body).map(|(s, v)| (s, View::Warnings(v)))?,
        What::Deferred => read(&url, &body).map(|(s, v)| (s, View::Deferred(v)))?,
        What::Incidents => read(&url, &body).map(|(s, v)| (s, View::Incidents(v)))?,
        What::Trusts => read(&url, &body).map(|(s, v)| (s, View::Trusts(v)))?,
        What::Coverage => read(&url, &body).map(|(s, v)| (s, View::Coverage(v)))?,
        What::Claims => read(&url, &body).map(|(s, v)| (s, View::Claims(v)))?,
        What::UsageBurden => read(&url, &body).map(|(s, v)| (s, View::UsageBurden(v)))?,
        What::Recovery => read(&url, &body).map(|(s, v)| (s, View::Recovery(v)))?,
    };
    // The list of trusts is not an object: it says nothing of synthetic data.
    let synthetic = match read::<serde_json::Value>(&url, &body)?.1.get("synthetic") {
        Some(s) => serde_json::from_value(s.clone()).map_err(|e| {
            QueryError::Client(ClientError::BadAnswer {
                url: url.clone(),
                message: format!("data.synthetic: {e}"),
            })
        })?,
        None => Synthetic::default(),
    };
    Ok(Answer {
        as_of_seq,
        known_at: point.known_at,
        view,
        synthetic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::views::answer as render;
    use crate::simulate::{SimParams, Simulation};
    use golive_ledger::{Ledger, LedgerOptions};
    use golive_store::Incoming;

    #[test]
    fn every_view_survives_a_json_round_trip() {
        // Proves `--server` can print what local mode prints: each view, serialized as the API
        // serves it and read back into the same type, renders to the same text, as JSON and as
        // a table.
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(dir.path(), LedgerOptions::default()).unwrap();
        let now = Utc::now();
        let events: Vec<Incoming> = Simulation::new(SimParams::new(5, 4, 2_000))
            .map(|e| Incoming::new(e, None, now))
            .collect();
        for chunk in events.chunks(500) {
            ledger.append(chunk.to_vec()).unwrap();
        }
        let p = ledger.projections();
        let seq = ledger.head().seq;
        let (rules, claim_rules, tariffs) = (
            WarningRules::default(),
            ClaimRules::default(),
            Tariffs::default(),
        );
        let all = Rules {
            warnings: &rules,
            claims: &claim_rules,
            tariffs: &tariffs,
        };
        // One simulated (fictional) trust, as `--trust` would name it.
        let ral = crate::simulate::trust_codes(1).remove(0);
        for what in [
            What::LostPatients,
            What::Money,
            What::Rollout,
            What::Warnings,
            What::Deferred,
            What::Incidents,
            What::Trusts,
            What::Coverage,
            What::UsageBurden,
            What::Recovery,
        ] {
            for trust in [None, Some(&ral)] {
                let a = view_of(p, seq, what, trust, all, Point::new(At::Head, None)).unwrap();
                let data = match &a.view {
                    View::LostPatients(v) => serde_json::to_vec(v),
                    View::Money(v) => serde_json::to_vec(v),
                    View::Rollout(v) => serde_json::to_vec(v),
                    View::Warnings(v) => serde_json::to_vec(v),
                    View::Deferred(v) => serde_json::to_vec(v),
                    View::Incidents(v) => serde_json::to_vec(v),
                    View::Trusts(v) => serde_json::to_vec(v),
                    View::Coverage(v) => serde_json::to_vec(v),
                    View::UsageBurden(v) => serde_json::to_vec(v),
                    View::Claims(v) => serde_json::to_vec(v),
                    View::Recovery(v) => serde_json::to_vec(v),
                }
                .unwrap();
                let wire = format!(
                    "{{\"as_of_seq\":{seq},\"head_seq\":{seq},\"as_of\":null,\"trust\":null,\"data\":{}}}",
                    String::from_utf8(data).unwrap()
                );
                let back = match what {
                    What::LostPatients => View::LostPatients(read_data(&wire)),
                    What::Money => View::Money(read_data(&wire)),
                    What::Rollout => View::Rollout(read_data(&wire)),
                    What::Warnings => View::Warnings(read_data(&wire)),
                    What::Deferred => View::Deferred(read_data(&wire)),
                    What::Incidents => View::Incidents(read_data(&wire)),
                    What::Trusts => View::Trusts(read_data(&wire)),
                    What::Coverage => View::Coverage(read_data(&wire)),
                    What::UsageBurden => View::UsageBurden(read_data(&wire)),
                    What::Claims => View::Claims(read_data(&wire)),
                    What::Recovery => View::Recovery(read_data(&wire)),
                };
                let b = Answer {
                    as_of_seq: seq,
                    known_at: None,
                    view: back,
                    synthetic: a.synthetic.clone(),
                };
                // Equal as served (a view can hold fields that are not served, such as an open
                // case's seq, which a round trip cannot bring back and no output shows).
                assert_eq!(render(&a, true), render(&b, true), "{what:?} {trust:?}");
                assert_eq!(render(&a, false), render(&b, false));
            }
        }
    }

    fn read_data<T: DeserializeOwned>(wire: &str) -> T {
        serde_json::from_str::<Wire<T>>(wire).unwrap().data
    }

    #[test]
    fn urls_carry_the_parameters() {
        // Proves the CLI asks for what it was told, with a time in a URL-safe form.
        let ral = OdsCode::parse("RAL").unwrap();
        assert_eq!(
            url(
                "http://h:1/",
                What::Deferred,
                Some(&ral),
                Point::new(At::Seq(4), None)
            ),
            "http://h:1/v1/deferred-features?trust=RAL&as_of_seq=4"
        );
        let t = chrono::DateTime::parse_from_rfc3339("2009-02-01T00:00:00+00:00")
            .unwrap()
            .to_utc();
        assert_eq!(
            url(
                "http://h:1",
                What::Money,
                None,
                Point::new(At::Time(t), None)
            ),
            "http://h:1/v1/money?as_of=2009-02-01T00:00:00Z"
        );
        assert_eq!(
            url(
                "http://h:1",
                What::Money,
                Some(&ral),
                Point::new(At::Seq(7), Some(t))
            ),
            "http://h:1/v1/money?trust=RAL&as_of_seq=7&known_at=2009-02-01T00:00:00Z"
        );
        assert_eq!(
            url(
                "http://h:1",
                What::Rollout,
                None,
                Point::new(At::Head, Some(t))
            ),
            "http://h:1/v1/rollout?known_at=2009-02-01T00:00:00Z"
        );
        let sourced = Point {
            exclude_synthetic: true,
            ..Point::new(At::Head, None)
        };
        assert_eq!(
            url("http://h:1", What::Money, None, sourced),
            "http://h:1/v1/money?exclude_synthetic=true"
        );
    }

    /// The London scenario in a ledger, and its HTTP API served on a loopback port from a
    /// runtime on another thread: (state, base URL, the runtime's handle and shutdown).
    fn london_served(
        dir: &std::path::Path,
    ) -> (
        golive_http::AppState,
        String,
        (tokio::runtime::Runtime, tokio::sync::oneshot::Sender<()>),
    ) {
        use golive_ledger::{LineSource, ingest_lines};
        let mut ledger = Ledger::open(dir, LedgerOptions::default()).unwrap();
        let f = std::fs::File::open(golive_testkit::golive::scenario()).unwrap();
        let source = LineSource::Stdin;
        let s = ingest_lines(
            &mut ledger,
            std::io::BufReader::new(f),
            &source,
            7,
            &mut |_| {},
        );
        assert_eq!(s.unwrap().rejected, 0);
        let state = golive_http::AppState::new(
            std::sync::Arc::new(std::sync::Mutex::new(ledger)),
            std::sync::Arc::new(WarningRules::default()),
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(golive_http::serve_on(listener, state.clone(), async {
            stopped.await.ok();
        }));
        (state, base, (rt, stop))
    }

    #[test]
    fn evidence_is_the_same_locally_and_over_http_and_refused_for_other_views() {
        // Proves `--evidence` reads the same lines from the disk as from `--server` (at the
        // head, as of a seq, known at a time, paged), and that the RAL net-cost line adds up to
        // RAL's net cost.
        let dir = tempfile::tempdir().unwrap();
        let (state, base, _server) = london_served(dir.path());
        let ral = OdsCode::parse("RAL").unwrap();
        let time = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let page = golive_report::EvidencePage::default();
        for (what, trust, point, page) in [
            (What::Money, Some(&ral), Point::new(At::Head, None), page),
            (What::Money, None, Point::new(At::Seq(100), None), page),
            (
                What::Money,
                Some(&ral),
                Point::new(At::Head, Some(time("2009-01-11T00:00:00Z"))),
                page,
            ),
            (What::LostPatients, None, Point::new(At::Head, None), page),
            (
                What::Money,
                None,
                Point::new(At::Head, None),
                golive_report::EvidencePage {
                    offset: 1,
                    limit: 1,
                },
            ),
        ] {
            let l = local_evidence(&state.store, what, trust, point, page).unwrap();
            let r = remote_evidence(&base, what, trust, point, page).unwrap();
            assert_eq!(l, r, "{what:?} {point:?}");
            assert!(!l.1.lines.is_empty());
        }
        let (_, e) = local_evidence(
            &state.store,
            What::Money,
            Some(&ral),
            Point::new(At::Head, None),
            page,
        )
        .unwrap();
        let net = e
            .lines
            .iter()
            .find(|l| l.line.get("measure").map(String::as_str) == Some("net_cost"))
            .unwrap();
        let p = projections_at(&state.store, state.store.head().seq, &mut |_, _| {}).unwrap();
        assert_eq!(
            net.amount_pence,
            Some(p.money(Some(&ral)).trusts["RAL"].total.net_cost_pence)
        );
        for q in [
            local_evidence(
                &state.store,
                What::Rollout,
                None,
                Point::new(At::Head, None),
                page,
            ),
            remote_evidence(&base, What::Rollout, None, Point::new(At::Head, None), page),
        ] {
            assert!(matches!(q, Err(QueryError::NoEvidence)));
        }
    }

    #[test]
    fn known_at_gives_the_same_json_locally_over_http_and_as_the_api_answer() {
        // Proves `--known-at` (alone and with `--as-of-seq`) asks the known-at fold both ways:
        // local and `--server` print the same JSON, which is the API answer's `data`, and the
        // 27 Feb 2009 Hansard deployment charge makes RAL's money differ between the 26th and
        // the 28th.
        let dir = tempfile::tempdir().unwrap();
        let (state, base, _server) = london_served(dir.path());
        let ral = OdsCode::parse("RAL").unwrap();
        let rules = WarningRules::default();
        let claim_rules = ClaimRules::default();
        let tariffs = Tariffs::default();
        let all = Rules {
            warnings: &rules,
            claims: &claim_rules,
            tariffs: &tariffs,
        };
        let time = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let head = state.store.head().seq;
        let mut printed = Vec::new();
        let mut claims = Vec::new();
        for (at, t) in [
            (At::Head, "2009-02-26T00:00:00Z"),
            (At::Head, "2009-02-28T00:00:00Z"),
            (At::Seq(head - 5), "2009-02-28T00:00:00Z"),
        ] {
            let point = Point::new(at, Some(time(t)));
            for what in [What::Money, What::Rollout, What::Claims] {
                let l = local(&state.store, what, Some(&ral), point, all).unwrap();
                let r = remote(&base, what, Some(&ral), point).unwrap();
                assert_eq!(l, r, "{what:?} {at:?} {t}");
                assert_eq!(render(&l, true), render(&r, true));
                assert_eq!(render(&l, false), render(&r, false));
                assert!(render(&l, false).contains(&format!("known at {t}")));
                let api: serde_json::Value = Client::new(&base)
                    .get_json(&url("", what, Some(&ral), point))
                    .unwrap();
                assert_eq!(api["known_at"], t);
                let printed_json: serde_json::Value =
                    serde_json::from_str(&render(&l, true)).unwrap();
                assert_eq!(printed_json, api["data"], "{what:?} {at:?} {t}");
                if what == What::Money {
                    printed.push(render(&l, true));
                }
                if let (What::Claims, View::Claims(v)) = (what, &l.view) {
                    claims.push(v.totals.clone());
                }
            }
        }
        assert_ne!(printed[0], printed[1], "the charge recorded on 27 Feb 2009");
        // The Hansard claims of 27 Feb 2009 are not yet made on the 26th; by the 28th all three
        // are in the register, contradicted by what was known that day.
        assert_eq!(claims[0].claims, 0, "{:?}", claims[0]);
        assert_eq!(
            (claims[1].claims, claims[1].contradicted),
            (3, 3),
            "{:?}",
            claims[1]
        );
        // Known at a time after every record, the head's answer.
        let late = Point::new(At::Head, Some(time("2100-01-01T00:00:00Z")));
        let now = Point::new(At::Head, None);
        assert_eq!(
            local(&state.store, What::Money, None, late, all)
                .unwrap()
                .view,
            local(&state.store, What::Money, None, now, all)
                .unwrap()
                .view
        );
    }
}
