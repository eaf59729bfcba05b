//! The assertions of [`Projections::apply`](crate::Projections::apply), which hold in release
//! builds too.

use golive_model::CostCategory;

use crate::Projections;
use crate::testkit::*;

#[test]
#[should_panic(expected = "`superseded` must be the event that `event.supersedes` names")]
fn a_superseded_event_the_correction_does_not_name_panics() {
    // Proves a caller that hands apply the wrong superseded event crashes instead of removing
    // an event the correction does not name.
    let a = ev(1, "RAL", "2008-09-15", cost(CostCategory::Other, 1_000));
    let b = ev(2, "RAL", "2008-09-16", cost(CostCategory::Other, 2_000));
    let fix = correcting(
        ev(3, "RAL", "2008-09-17", cost(CostCategory::Other, 600)),
        1,
    );
    let mut p = Projections::new();
    p.apply(1, &a, None);
    p.apply(2, &b, None);
    p.apply(3, &fix, Some(&b));
}

#[test]
#[should_panic(expected = "`superseded` must be the event that `event.supersedes` names")]
fn a_superseded_event_handed_with_an_event_that_corrects_nothing_panics() {
    // Proves an event that supersedes nothing cannot be handed a superseded event to remove.
    let a = ev(1, "RAL", "2008-09-15", cost(CostCategory::Other, 1_000));
    let b = ev(2, "RAL", "2008-09-16", cost(CostCategory::Other, 2_000));
    let mut p = Projections::new();
    p.apply(1, &a, None);
    p.apply(2, &b, Some(&a));
}
