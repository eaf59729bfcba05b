//! Semantic validation of an envelope: limits, identifiers, money, times, consistency.

use crate::envelope::{Envelope, SCHEMA_1, Source, SourceType};
use crate::error::{DecodeError, Reason};
use crate::kinds::{
    ActivityActual, ActivityBaseline, AssuranceClaim, Burden, BurdenMetric, CostCategory,
    EventBody, Harm, HarmReview, Outage, PeriodFields, ProgrammeRoster, PtlValidation,
    RecoveryPlan, RolloutScope, TrustKeyAction, TrustKeyChange, UsageMetric, UsageReported,
    WaitingListDiscrepancy,
};
use crate::types::{FICTIONAL_PREFIX, OdsCode, Pence, Period, looks_like_nhs_number};

/// The limits every event is held to. Each is documented in `docs/EVENTS.md`.
pub mod limits {
    /// Identifiers: collector, patient_ref, local_ref, release, site.
    pub const ID_CHARS_MAX: usize = 64;
    /// Short names: programme, supplier, commissioner, feature, scope, service, promised_for.
    pub const NAME_CHARS_MAX: usize = 200;
    /// Free text: reason, description, discovered_via, source ref.
    pub const TEXT_CHARS_MAX: usize = 2000;
    /// Services named in one outage.
    pub const SERVICES_MAX: usize = 32;
    /// Largest amount in one event: £10bn. Keeps every sum far from i64 overflow.
    pub const PENCE_MAX: i64 = 1_000_000_000_000;
    /// Sources of one event (schema 2).
    pub const SOURCES_MAX: usize = 8;
    /// Characters of all `ref` and `url` texts of one event's sources together: what one
    /// schema-1 `source.ref` could hold, so that the canonical form of every valid event still
    /// fits in one message (`MESSAGE_BYTES_MAX`).
    pub const SOURCES_CHARS_MAX: usize = TEXT_CHARS_MAX;
    /// Months one money figure may be spread over (`period_from`..`period_to`): ten years.
    pub const SPAN_MONTHS_MAX: u32 = 120;
    /// Trusts in one programme roster.
    pub const ROSTER_TRUSTS_MAX: usize = 500;
    /// Largest usage or burden figure in one event: keeps every sum of them far from u64
    /// overflow.
    pub const FIGURE_MAX: u64 = 1_000_000_000_000;
    /// Largest `task_time_ratio_pct`: a task taking 100 times as long as before.
    pub const TASK_TIME_RATIO_PCT_MAX: u64 = 10_000;
}

use limits::*;

fn text(field: &str, s: &str, max: usize) -> Result<(), DecodeError> {
    let len = s.chars().count();
    if len == 0 || s.trim().is_empty() {
        return Err(DecodeError::new(field, Reason::Empty));
    }
    if len > max {
        return Err(DecodeError::new(field, Reason::TooLong { len, max }));
    }
    Ok(())
}

fn opt_text(field: &str, s: &Option<String>, max: usize) -> Result<(), DecodeError> {
    s.as_deref().map_or(Ok(()), |s| text(field, s, max))
}

/// Identifiers are short and plain so that they can appear in subjects, keys and file names.
fn ident(field: &str, s: &str) -> Result<(), DecodeError> {
    text(field, s, ID_CHARS_MAX)?;
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return Err(DecodeError::new(field, Reason::BadIdentifier(s.to_owned())));
    }
    Ok(())
}

fn pence(field: &str, p: Pence) -> Result<(), DecodeError> {
    if p.0 < 0 {
        return Err(DecodeError::new(field, Reason::NegativePence(p.0)));
    }
    if p.0 > PENCE_MAX {
        return Err(DecodeError::new(
            field,
            Reason::PenceOverLimit(p.0, PENCE_MAX),
        ));
    }
    Ok(())
}

fn patient_ref(field: &str, s: &str) -> Result<(), DecodeError> {
    if looks_like_nhs_number(s) {
        return Err(DecodeError::new(field, Reason::LooksLikeNhsNumber));
    }
    ident(field, s)
}

fn inconsistent(field: &str, msg: String) -> DecodeError {
    DecodeError::new(field, Reason::Inconsistent(msg))
}

impl Envelope {
    /// Checks everything a single event can be checked for without the ledger's history.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if OdsCode::parse(self.trust.as_str()).is_none() {
            return Err(DecodeError::new(
                "trust",
                Reason::BadOdsCode(self.trust.as_str().to_owned()),
            ));
        }
        opt_text("site", &self.site, ID_CHARS_MAX)?;
        ident("collector", self.collector.as_str())?;
        if self.schema == SCHEMA_1 {
            schema1_only(self)?;
        } else {
            body_schema2(&self.body)?;
        }
        body(&self.body)?;
        self.sources_valid()?;
        if self.trust.is_fictional() && !self.is_synthetic() {
            return Err(inconsistent(
                "trust",
                format!(
                    "`{}` is a fictional code (prefix `{FICTIONAL_PREFIX}`, reserved for simulated \
                     data): its events must have only `synthetic` sources",
                    self.trust
                ),
            ));
        }
        if self.supersedes == Some(self.event_id) {
            return Err(DecodeError::new("supersedes", Reason::SupersedesItself));
        }
        if let Some(r) = &self.relates_to
            && r.event_id == self.event_id
        {
            return Err(DecodeError::new(
                "relates_to.event_id",
                Reason::RelatesToItself,
            ));
        }
        if let Some(a) = &self.attribution {
            text("attribution.by", &a.by, NAME_CHARS_MAX)?;
        }
        if let EventBody::TrustKey(d) = &self.body {
            if self.supersedes.is_some() {
                return Err(inconsistent(
                    "supersedes",
                    "a trust_key event is not corrected: publish another change".to_owned(),
                ));
            }
            trust_key(d, self.trust.as_str())?;
        }
        Ok(())
    }

    /// Schema 1: at most one source, named `source`; schema 2: 1 to [`SOURCES_MAX`].
    fn sources_valid(&self) -> Result<(), DecodeError> {
        if self.schema == SCHEMA_1 {
            assert!(self.sources.len() <= 1, "a schema-1 event has one source");
            return self
                .sources
                .first()
                .map_or(Ok(()), |s| source("source", s, true));
        }
        if self.sources.is_empty() {
            return Err(DecodeError::new("sources", Reason::Empty));
        }
        if self.sources.len() > SOURCES_MAX {
            return Err(DecodeError::new(
                "sources",
                Reason::TooManyItems {
                    len: self.sources.len(),
                    max: SOURCES_MAX,
                },
            ));
        }
        for (i, s) in self.sources.iter().enumerate() {
            source(&format!("sources[{i}]"), s, false)?;
        }
        let len: usize = self
            .sources
            .iter()
            .map(|s| {
                s.reference.chars().count() + s.url.as_deref().map_or(0, |u| u.chars().count())
            })
            .sum();
        if len > SOURCES_CHARS_MAX {
            return Err(DecodeError::new(
                "sources",
                Reason::TooLong {
                    len,
                    max: SOURCES_CHARS_MAX,
                },
            ));
        }
        Ok(())
    }
}

fn source(field: &str, s: &Source, schema1: bool) -> Result<(), DecodeError> {
    if schema1 && !SourceType::SCHEMA_1.contains(&s.source_type) {
        return Err(DecodeError::new(
            format!("{field}.type"),
            Reason::SourceTypeNeedsSchema2(
                s.source_type.as_str().to_owned(),
                "board_paper foi press audit_report system manual",
            ),
        ));
    }
    if schema1 && (s.published_at.is_some() || s.url.is_some()) {
        let name = if s.url.is_some() {
            "url"
        } else {
            "published_at"
        };
        return Err(DecodeError::new(
            format!("{field}.{name}"),
            Reason::NeedsSchema2,
        ));
    }
    text(&format!("{field}.ref"), &s.reference, TEXT_CHARS_MAX)?;
    if let Some(url) = &s.url {
        let f = format!("{field}.url");
        text(&f, url, TEXT_CHARS_MAX)?;
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if rest.is_none_or(|r| r.is_empty() || r.chars().any(char::is_whitespace)) {
            return Err(DecodeError::new(f, Reason::BadUrl));
        }
    }
    Ok(())
}

/// A schema-1 event uses none of the fields and values schema 2 added.
fn schema1_only(e: &Envelope) -> Result<(), DecodeError> {
    let needs2 = |field: &str| Err(DecodeError::new(field, Reason::NeedsSchema2));
    if e.relates_to.is_some() {
        return needs2("relates_to");
    }
    if e.attribution.is_some() {
        return needs2("attribution");
    }
    if let Some(f) = e.body.period_fields() {
        let named = [
            ("data.period_from", f.period_from.is_some()),
            ("data.period_to", f.period_to.is_some()),
            ("data.to_date", f.to_date.is_some()),
            ("data.as_at", f.as_at.is_some()),
        ];
        if let Some((field, _)) = named.iter().find(|(_, present)| *present) {
            return needs2(field);
        }
    }
    match &e.body {
        EventBody::ProgrammeRoster(_)
        | EventBody::AssuranceClaim(_)
        | EventBody::UsageReported(_)
        | EventBody::Burden(_)
        | EventBody::RecoveryPlan(_)
        | EventBody::ActivityBaseline(_)
        | EventBody::ActivityActual(_)
        | EventBody::PtlValidation(_)
        | EventBody::TrustKey(_) => needs2("kind"),
        EventBody::ExtraCost(d) if d.period.is_some() => needs2("data.period"),
        EventBody::ExtraCost(d) if d.category == CostCategory::DeploymentCharge => {
            needs2("data.category")
        }
        EventBody::IncomeAtRisk(d) if d.period.is_none() => {
            Err(DecodeError::new("data.period", Reason::Missing))
        }
        EventBody::IncomeRecovered(d) if d.period.is_none() => {
            Err(DecodeError::new("data.period", Reason::Missing))
        }
        EventBody::ContractPenalty(d) if d.state.is_some() => needs2("data.state"),
        EventBody::HarmReview(d) if d.assessment.is_some() => needs2("data.assessment"),
        EventBody::HarmReview(d) if d.harm.unknown > 0 => needs2("data.harm.unknown"),
        EventBody::PatientTraced(d) if d.harm == Harm::Unknown => needs2("data.harm"),
        EventBody::SafetyIncident(d) if d.harm == Harm::Unknown => needs2("data.harm"),
        _ => Ok(()),
    }
}

/// Schema 2: money names one period form (see docs/EVENTS.md, "Periods"); a penalty its state.
fn body_schema2(body: &EventBody) -> Result<(), DecodeError> {
    if let Some(f) = body.period_fields() {
        let needs_period = matches!(
            body,
            EventBody::IncomeAtRisk(_) | EventBody::IncomeRecovered(_)
        );
        period_form(&f, needs_period)?;
    }
    if let EventBody::ContractPenalty(d) = body
        && d.state.is_none()
    {
        return Err(DecodeError::new("data.state", Reason::Missing));
    }
    Ok(())
}

/// Exactly one of `period`, `period_from`+`period_to` or `to_date: true`+`as_at`.
fn period_form(f: &PeriodFields, needs_period: bool) -> Result<(), DecodeError> {
    let one_form = || {
        inconsistent(
            "data.period",
            "name one period form: `period`, `period_from` with `period_to`, or `to_date: true` \
             with `as_at`"
                .to_owned(),
        )
    };
    let range = f.period_from.is_some() || f.period_to.is_some();
    let to_date = f.to_date.is_some() || f.as_at.is_some();
    if u8::from(f.period.is_some()) + u8::from(range) + u8::from(to_date) > 1 {
        return Err(one_form());
    }
    if range {
        let from = f
            .period_from
            .ok_or_else(|| DecodeError::new("data.period_from", Reason::Missing))?;
        let to = f
            .period_to
            .ok_or_else(|| DecodeError::new("data.period_to", Reason::Missing))?;
        return span_months(from, to).map(|_| ());
    }
    if to_date {
        if f.to_date != Some(true) {
            let reason = match f.to_date {
                None => Reason::Missing,
                Some(_) => Reason::Malformed("`to_date` is `true` or absent".to_owned()),
            };
            return Err(DecodeError::new("data.to_date", reason));
        }
        if f.as_at.is_none() {
            return Err(DecodeError::new("data.as_at", Reason::Missing));
        }
        return Ok(());
    }
    if needs_period && f.period.is_none() {
        return Err(DecodeError::new("data.period", Reason::Missing));
    }
    Ok(())
}

/// The number of months of `from..=to`, at most [`SPAN_MONTHS_MAX`].
pub(crate) fn span_months(from: Period, to: Period) -> Result<u32, DecodeError> {
    let index = |p: Period| u32::from(p.year) * 12 + u32::from(p.month) - 1;
    if index(to) < index(from) {
        return Err(inconsistent(
            "data.period_to",
            format!("period_to ({to}) is before period_from ({from})"),
        ));
    }
    let months = index(to) - index(from) + 1;
    if months > SPAN_MONTHS_MAX {
        return Err(inconsistent(
            "data.period_to",
            format!("{months} months from {from} to {to}; the limit is {SPAN_MONTHS_MAX}"),
        ));
    }
    Ok(months)
}

/// The limits and consistency rules of the event's kind data.
fn body(body: &EventBody) -> Result<(), DecodeError> {
    match body {
        EventBody::RolloutStatus(d) => {
            text("data.programme", &d.programme, NAME_CHARS_MAX)?;
            opt_text("data.supplier", &d.supplier, NAME_CHARS_MAX)?;
            opt_text("data.release", &d.release, ID_CHARS_MAX)?;
            opt_text("data.reason", &d.reason, TEXT_CHARS_MAX)?;
        }
        EventBody::PatientLost(d) => {
            patient_ref("data.patient_ref", d.patient_ref.as_str())?;
            opt_text("data.discovered_via", &d.discovered_via, TEXT_CHARS_MAX)?;
        }
        EventBody::PatientTraced(d) => {
            patient_ref("data.patient_ref", d.patient_ref.as_str())?;
        }
        EventBody::WaitingListDiscrepancy(d) => waiting_list(d)?,
        EventBody::HarmReview(d) => harm_review(d)?,
        EventBody::ReportingSuspended(d) | EventBody::ReportingResumed(d) => {
            opt_text("data.reason", &d.reason, TEXT_CHARS_MAX)?;
        }
        EventBody::ExtraCost(d) => {
            pence("data.amount_pence", d.amount_pence)?;
            opt_text("data.description", &d.description, TEXT_CHARS_MAX)?;
        }
        EventBody::IncomeAtRisk(d) => pence("data.amount_pence", d.amount_pence)?,
        EventBody::IncomeRecovered(d) => pence("data.amount_pence", d.amount_pence)?,
        EventBody::ContractPenalty(d) => {
            text("data.commissioner", &d.commissioner, NAME_CHARS_MAX)?;
            pence("data.amount_pence", d.amount_pence)?;
        }
        EventBody::Outage(d) => outage(d)?,
        EventBody::SafetyIncident(d) => {
            ident("data.local_ref", &d.local_ref)?;
            opt_text("data.description", &d.description, TEXT_CHARS_MAX)?;
        }
        EventBody::FeatureDeferred(d) => {
            text("data.feature", &d.feature, NAME_CHARS_MAX)?;
            opt_text("data.promised_for", &d.promised_for, NAME_CHARS_MAX)?;
            opt_text("data.reason", &d.reason, TEXT_CHARS_MAX)?;
        }
        EventBody::ProgrammeRoster(d) => roster(d)?,
        EventBody::AssuranceClaim(d) => claim(d)?,
        EventBody::UsageReported(d) => usage(d)?,
        EventBody::Burden(d) => burden(d)?,
        EventBody::RecoveryPlan(d) => recovery_plan(d)?,
        EventBody::ActivityBaseline(d) => activity_baseline(d)?,
        EventBody::ActivityActual(d) => activity_actual(d)?,
        EventBody::PtlValidation(d) => ptl_validation(d)?,
        // Checked with the envelope's trust (`Envelope::validate`).
        EventBody::TrustKey(_) => {}
    }
    Ok(())
}

/// A key change names keys of its own trust, and a date exactly when it revokes one.
fn trust_key(d: &TrustKeyChange, trust: &str) -> Result<(), DecodeError> {
    key_text("data.key", &d.key, trust)?;
    let rotates = d.action == TrustKeyAction::Rotate;
    match (&d.replaces, rotates) {
        (Some(old), true) if *old == d.key => {
            return Err(inconsistent(
                "data.replaces",
                "a key cannot replace itself".to_owned(),
            ));
        }
        (Some(old), true) => key_text("data.replaces", old, trust)?,
        (None, true) => return Err(DecodeError::new("data.replaces", Reason::Missing)),
        (Some(_), false) => {
            return Err(inconsistent(
                "data.replaces",
                format!("only `rotate` replaces a key, not `{}`", d.action.as_str()),
            ));
        }
        (None, false) => {}
    }
    match (d.revoked_at, d.action) {
        (Some(_), TrustKeyAction::Add) => Err(inconsistent(
            "data.revoked_at",
            "`add` revokes nothing".to_owned(),
        )),
        (None, TrustKeyAction::Rotate | TrustKeyAction::Revoke) => {
            Err(DecodeError::new("data.revoked_at", Reason::Missing))
        }
        _ => Ok(()),
    }
}

/// A public key as `golive trust-key new` prints it: `NAME+keyid+base64`, named after `trust`.
/// Its bytes are checked where keys are used (golive-verify); this checks its form.
fn key_text(field: &str, key: &str, trust: &str) -> Result<(), DecodeError> {
    text(field, key, NAME_CHARS_MAX)?;
    let parts: Vec<&str> = key.splitn(3, '+').collect();
    let well_formed = parts.len() == 3
        && parts[1].len() == 8
        && parts[1].chars().all(|c| c.is_ascii_hexdigit())
        && !parts[2].is_empty()
        && parts[2]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
    if !well_formed {
        return Err(DecodeError::new(
            field,
            Reason::Malformed(
                "a key is NAME+keyid+base64, as `golive trust-key new` prints it".to_owned(),
            ),
        ));
    }
    if parts[0] != trust {
        return Err(inconsistent(
            field,
            format!(
                "the key is named {}, not {trust}: a trust's key carries its ODS code",
                parts[0]
            ),
        ));
    }
    Ok(())
}

/// A claim names its claimant and its words; a programme-scope claim names the programme
/// (and only it does).
fn claim(d: &AssuranceClaim) -> Result<(), DecodeError> {
    text("data.claimant.name", &d.claimant.name, NAME_CHARS_MAX)?;
    text("data.statement", &d.statement, TEXT_CHARS_MAX)?;
    match (d.scope, &d.programme) {
        (RolloutScope::Programme, None) => Err(DecodeError::new("data.programme", Reason::Missing)),
        (RolloutScope::Programme, Some(p)) => text("data.programme", p, NAME_CHARS_MAX),
        (RolloutScope::Trust, Some(_)) => Err(inconsistent(
            "data.programme",
            "a claim about one trust names no programme (use `scope: programme` for a claim \
             about the whole programme)"
                .to_owned(),
        )),
        (RolloutScope::Trust, None) => Ok(()),
    }
}

fn figure(field: &str, n: u64, max: u64) -> Result<(), DecodeError> {
    if n > max {
        return Err(inconsistent(
            field,
            format!("{n} is over the limit of {max}"),
        ));
    }
    Ok(())
}

/// A usage figure is at most [`FIGURE_MAX`]; a percentage at most 100.
fn usage(d: &UsageReported) -> Result<(), DecodeError> {
    let max = if d.metric == UsageMetric::NotesElectronicPct {
        100
    } else {
        FIGURE_MAX
    };
    figure("data.value", d.value, max)
}

/// A burden reports at least one figure, each at most [`FIGURE_MAX`]; a task-time ratio is
/// above 0 and at most [`TASK_TIME_RATIO_PCT_MAX`] and names its task.
fn burden(d: &Burden) -> Result<(), DecodeError> {
    opt_text("data.task", &d.task, NAME_CHARS_MAX)?;
    let mut any = false;
    for (metric, value) in d.figures() {
        let Some(n) = value else { continue };
        any = true;
        let field = format!("data.{metric}");
        if metric == BurdenMetric::TaskTimeRatioPct {
            if n == 0 {
                return Err(inconsistent(
                    &field,
                    "a task-time ratio is above 0 (100 = as long as before)".to_owned(),
                ));
            }
            figure(&field, n, TASK_TIME_RATIO_PCT_MAX)?;
            if d.task.is_none() {
                return Err(DecodeError::new("data.task", Reason::Missing));
            }
        } else {
            figure(&field, n, FIGURE_MAX)?;
        }
    }
    if !any {
        return Err(DecodeError::new(
            "data",
            Reason::Inconsistent(format!(
                "a burden reports at least one of {}",
                BurdenMetric::NAMES.trim_end()
            )),
        ));
    }
    Ok(())
}

fn recovery_plan(d: &RecoveryPlan) -> Result<(), DecodeError> {
    text("data.plan", &d.plan, NAME_CHARS_MAX)?;
    opt_text("data.reason", &d.reason, TEXT_CHARS_MAX)?;
    if let Some(n) = d.problems {
        figure("data.problems", n, FIGURE_MAX)?;
    }
    Ok(())
}

/// A baseline's value is at most [`FIGURE_MAX`]; its months run forwards, at most
/// [`SPAN_MONTHS_MAX`] of them.
fn activity_baseline(d: &ActivityBaseline) -> Result<(), DecodeError> {
    figure("data.monthly_value", d.monthly_value, FIGURE_MAX)?;
    let (from, to) = (d.baseline_from, d.baseline_to);
    let months = month_index(to) - month_index(from) + 1;
    if months < 1 {
        return Err(inconsistent(
            "data.baseline_to",
            format!("baseline_to ({to}) is before baseline_from ({from})"),
        ));
    }
    if months > i64::from(SPAN_MONTHS_MAX) {
        return Err(inconsistent(
            "data.baseline_to",
            format!("{months} months from {from} to {to}; the limit is {SPAN_MONTHS_MAX}"),
        ));
    }
    Ok(())
}

fn month_index(p: Period) -> i64 {
    i64::from(p.year) * 12 + i64::from(p.month) - 1
}

/// An activity report names exactly one of `period` and `week`; its value is at most
/// [`FIGURE_MAX`].
fn activity_actual(d: &ActivityActual) -> Result<(), DecodeError> {
    match (d.period, d.week) {
        (None, None) => return Err(DecodeError::new("data.period", Reason::Missing)),
        (Some(_), Some(_)) => {
            return Err(inconsistent(
                "data.week",
                "an activity report names a `period` (month) or a `week` (ISO week), not both"
                    .to_owned(),
            ));
        }
        _ => {}
    }
    figure("data.value", d.value, FIGURE_MAX)
}

/// Every count is at most [`FIGURE_MAX`], and each part is of the list: validated, remaining,
/// unknown clock starts and over-52-week waits are at most `on_list`; the removals (duplicates
/// plus already treated) are at most `validated`, since a record is removed once validated.
fn ptl_validation(d: &PtlValidation) -> Result<(), DecodeError> {
    for (field, n) in [
        ("data.on_list", d.on_list),
        ("data.validated", d.validated),
        ("data.removed_duplicate", d.removed_duplicate),
        ("data.removed_treated", d.removed_treated),
        ("data.unknown_clock_start", d.unknown_clock_start),
        ("data.over_52_weeks", d.over_52_weeks),
        ("data.remaining", d.remaining),
    ] {
        figure(field, n, FIGURE_MAX)?;
    }
    for (field, n) in [
        ("data.validated", d.validated),
        ("data.remaining", d.remaining),
        ("data.unknown_clock_start", d.unknown_clock_start),
        ("data.over_52_weeks", d.over_52_weeks),
    ] {
        if n > d.on_list {
            let name = &field["data.".len()..];
            return Err(inconsistent(
                field,
                format!("{name} ({n}) cannot exceed on_list ({})", d.on_list),
            ));
        }
    }
    let removed = d.removed_duplicate + d.removed_treated;
    if removed > d.validated {
        return Err(inconsistent(
            "data.removed_treated",
            format!(
                "removed_duplicate + removed_treated ({removed}) cannot exceed validated ({})",
                d.validated
            ),
        ));
    }
    Ok(())
}

/// A roster names its programme and 1 to [`ROSTER_TRUSTS_MAX`] distinct ODS codes.
fn roster(d: &ProgrammeRoster) -> Result<(), DecodeError> {
    text("data.programme", &d.programme, NAME_CHARS_MAX)?;
    opt_text("data.reason", &d.reason, TEXT_CHARS_MAX)?;
    if d.trusts.is_empty() {
        return Err(DecodeError::new("data.trusts", Reason::Empty));
    }
    if d.trusts.len() > ROSTER_TRUSTS_MAX {
        return Err(DecodeError::new(
            "data.trusts",
            Reason::TooManyItems {
                len: d.trusts.len(),
                max: ROSTER_TRUSTS_MAX,
            },
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, t) in d.trusts.iter().enumerate() {
        let field = format!("data.trusts[{i}]");
        if OdsCode::parse(t.as_str()).is_none() {
            return Err(DecodeError::new(
                field,
                Reason::BadOdsCode(t.as_str().to_owned()),
            ));
        }
        if !seen.insert(t.as_str()) {
            return Err(DecodeError::new(
                field,
                Reason::DuplicateItem(t.as_str().to_owned()),
            ));
        }
    }
    Ok(())
}

/// Unique patients and breaches are counts of the records, so neither can exceed them.
fn waiting_list(d: &WaitingListDiscrepancy) -> Result<(), DecodeError> {
    if d.unique_patients > d.records {
        return Err(inconsistent(
            "data.unique_patients",
            format!(
                "unique_patients ({}) cannot exceed records ({})",
                d.unique_patients, d.records
            ),
        ));
    }
    if let Some(b) = d.breaches
        && b > d.records
    {
        return Err(inconsistent(
            "data.breaches",
            format!("breaches ({b}) cannot exceed records ({})", d.records),
        ));
    }
    Ok(())
}

/// The harm counts are of reviewed cases, so they cannot add up to more than were reviewed.
fn harm_review(d: &HarmReview) -> Result<(), DecodeError> {
    // Summed in u128: five counts near 2^64 must not saturate (or wrap) to a total that fits
    // under `cases_reviewed`.
    let h = &d.harm;
    let total: u128 = [h.none, h.low, h.moderate, h.severe, h.death, h.unknown]
        .iter()
        .map(|&n| u128::from(n))
        .sum();
    if total > u128::from(d.cases_reviewed) {
        return Err(inconsistent(
            "data.harm",
            format!(
                "harm counts add up to {total} but only {} cases were reviewed",
                d.cases_reviewed
            ),
        ));
    }
    Ok(())
}

/// An outage's scope and services are short names, at most [`SERVICES_MAX`] of them, and it
/// cannot end before it starts.
fn outage(d: &Outage) -> Result<(), DecodeError> {
    text("data.scope", &d.scope, NAME_CHARS_MAX)?;
    if d.services.len() > SERVICES_MAX {
        return Err(DecodeError::new(
            "data.services",
            Reason::TooManyItems {
                len: d.services.len(),
                max: SERVICES_MAX,
            },
        ));
    }
    for (i, s) in d.services.iter().enumerate() {
        text(&format!("data.services[{i}]"), s, NAME_CHARS_MAX)?;
    }
    if let Some(end) = d.end
        && end < d.start
    {
        return Err(DecodeError::new(
            "data.end",
            Reason::EndBeforeStart {
                start: crate::format_time(&d.start),
                end: crate::format_time(&end),
            },
        ));
    }
    Ok(())
}
