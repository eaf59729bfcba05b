//! Deferred features per trust: what was promised, for when, and why it slipped.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use golive_model::EventId;
use serde::{Deserialize, Serialize};

use crate::timeline::Timeline;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct DeferredFact {
    pub feature: String,
    pub promised_for: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeferredFeature {
    pub feature: String,
    pub promised_for: Option<String>,
    pub reason: Option<String>,
    /// When it was deferred (`occurred_at`).
    pub occurred_at: DateTime<Utc>,
    pub event_id: EventId,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrustDeferred {
    pub count: u64,
    /// In event-time order.
    pub features: Vec<DeferredFeature>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeferredTotals {
    pub trusts: u64,
    pub count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeferredView {
    pub trusts: BTreeMap<String, TrustDeferred>,
    pub total: DeferredTotals,
}

pub(crate) fn view<'a>(
    trusts: impl Iterator<Item = (&'a str, &'a Timeline<DeferredFact>)>,
) -> DeferredView {
    let mut out = DeferredView::default();
    for (code, tl) in trusts {
        let features: Vec<DeferredFeature> = tl
            .iter()
            .map(|e| DeferredFeature {
                feature: e.data.feature.clone(),
                promised_for: e.data.promised_for.clone(),
                reason: e.data.reason.clone(),
                occurred_at: e.at,
                event_id: e.event_id,
            })
            .collect();
        out.total.trusts += 1;
        out.total.count += features.len() as u64;
        out.trusts.insert(
            code.to_owned(),
            TrustDeferred {
                count: features.len() as u64,
                features,
            },
        );
    }
    out
}
