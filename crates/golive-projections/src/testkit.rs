//! The unit tests' builders: golive-testkit's, and `given`, which folds events into this
//! crate's own `Projections`. The kit does not depend on this crate: through such a cycle the
//! unit tests would see a second copy of its types, not theirs.

pub use golive_testkit::projections::*;

use golive_model::Envelope;

/// Given these events, in this order, numbered from 1: the projections.
pub fn given(events: impl IntoIterator<Item = Envelope>) -> crate::Projections {
    fold(events, crate::Projections::new(), crate::Projections::apply)
}

/// The claim register of `events` (in this order), known at `known_at`, with the cut folds made
/// here as the ledger makes them.
pub fn register(
    events: &[Envelope],
    rules: &crate::ClaimRules,
    known_at: Option<chrono::DateTime<chrono::Utc>>,
) -> crate::ClaimsView {
    let known: Vec<Envelope> = events
        .iter()
        .filter(|e| known_at.is_none_or(|k| e.recorded_at <= k))
        .cloned()
        .collect();
    let now = given(known.clone());
    let cuts = now.claim_cuts(rules, known_at, None);
    let folds = fold_cuts(
        events,
        cuts.len(),
        |i, e| cuts[i].admits(e),
        crate::Projections::new(),
        crate::Projections::apply,
    );
    let lookup = |id: &golive_model::EventId| events.iter().find(|e| e.event_id == *id).cloned();
    now.claims_register(rules, known_at, None, &folds, &lookup)
}
