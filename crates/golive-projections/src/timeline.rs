//! A list of per-event facts kept in event-time order, from which a projection's answers are
//! recomputed. Removing one event's fact is exact: the entry goes and nothing else changes.

use chrono::{DateTime, Utc};
use golive_model::EventId;
use serde::{Deserialize, Serialize};

/// One event's fact, with the time it happened and its place in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry<T> {
    /// Nanoseconds since the epoch in snapshots: parsing RFC 3339 text for every fact was the
    /// largest single cost of reading a snapshot (docs/BENCHMARKS.md).
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    pub at: DateTime<Utc>,
    pub seq: u64,
    pub event_id: EventId,
    pub data: T,
}

/// Entries sorted by `(at, seq)`: event time first, so that a late report lands where it
/// happened; the log sequence breaks ties, so the order never depends on how the events of
/// different trusts were interleaved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Timeline<T>(Vec<Entry<T>>);

impl<T> Default for Timeline<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> Timeline<T> {
    pub fn insert(&mut self, at: DateTime<Utc>, seq: u64, event_id: EventId, data: T) {
        // Events usually arrive in time order, so this is nearly always a push at the end:
        // checked first, without the binary search (a cache miss per step on a long timeline,
        // a tenth of a replay in the profile, docs/BENCHMARKS.md).
        let i = match self.0.last() {
            Some(last) if (last.at, last.seq) > (at, seq) => {
                self.0.partition_point(|e| (e.at, e.seq) <= (at, seq))
            }
            _ => self.0.len(),
        };
        self.0.insert(
            i,
            Entry {
                at,
                seq,
                event_id,
                data,
            },
        );
    }

    /// Removes the entry of `event_id`, which happened at `at`. Returns whether it was there.
    pub fn remove(&mut self, at: DateTime<Utc>, event_id: EventId) -> bool {
        let lo = self.0.partition_point(|e| e.at < at);
        let found = self.0[lo..]
            .iter()
            .take_while(|e| e.at == at)
            .position(|e| e.event_id == event_id)
            .map(|i| lo + i);
        match found {
            Some(i) => {
                self.0.remove(i);
                true
            }
            None => false,
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Entry<T>> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn last(&self) -> Option<&Entry<T>> {
        self.0.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2008, 6, day, 9, 0, 0).unwrap()
    }

    fn id(n: u8) -> EventId {
        EventId::from_bytes([n; 16])
    }

    #[test]
    fn entries_sort_by_time_then_seq_and_remove_exactly() {
        // Proves the order is (event time, seq) whatever the arrival order, and that removal
        // takes out only the named event, even among entries at the same time.
        let mut tl = Timeline::default();
        tl.insert(t(3), 1, id(1), "c");
        tl.insert(t(1), 2, id(2), "a");
        tl.insert(t(3), 3, id(3), "d");
        tl.insert(t(2), 4, id(4), "b");
        let order: Vec<_> = tl.iter().map(|e| e.data).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        assert!(tl.remove(t(3), id(3)));
        assert!(!tl.remove(t(3), id(3)));
        assert!(!tl.remove(t(2), id(1)));
        let order: Vec<_> = tl.iter().map(|e| e.data).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }
}
