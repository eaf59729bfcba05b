//! The unit tests' builders: golive-testkit's, and `given`, which folds events into this
//! crate's own `Projections`. The kit does not depend on this crate: through such a cycle the
//! unit tests would see a second copy of its types, not theirs.

pub use golive_testkit::projections::*;

use golive_model::Envelope;

/// Given these events, in this order, numbered from 1: the projections.
pub fn given(events: impl IntoIterator<Item = Envelope>) -> crate::Projections {
    fold(events, crate::Projections::new(), crate::Projections::apply)
}
