//! Semantic validation of an envelope: limits, identifiers, money, times, consistency.

use crate::envelope::Envelope;
use crate::error::{DecodeError, Reason};
use crate::kinds::{EventBody, HarmReview, Outage, WaitingListDiscrepancy};
use crate::types::{OdsCode, Pence, looks_like_nhs_number};

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
        if let Some(src) = &self.source {
            text("source.ref", &src.reference, TEXT_CHARS_MAX)?;
        }
        if self.supersedes == Some(self.event_id) {
            return Err(DecodeError::new("supersedes", Reason::SupersedesItself));
        }
        body(&self.body)
    }
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
    let total: u128 = [h.none, h.low, h.moderate, h.severe, h.death]
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
