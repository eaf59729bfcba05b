//! The shared builders (golive-testkit's), and `given`, which folds events into this crate's
//! `Projections` (the kit does not depend on this crate: see `golive_testkit::projections`).

pub use golive_testkit::projections::*;

use golive_model::Envelope;
use golive_projections::Projections;

/// Given these events, in this order, numbered from 1: the projections.
pub fn given(events: impl IntoIterator<Item = Envelope>) -> Projections {
    fold(events, Projections::new(), Projections::apply)
}
