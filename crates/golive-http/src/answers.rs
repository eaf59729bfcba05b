//! Encoded answers of the projection endpoints, kept by what they answer: the endpoint, the
//! trust, the sequence answered for, the head at the time and the `as_of` and `known_at` times asked for. An
//! answer for head N never changes while the head is N, and one as of seq S with head N never
//! changes at all, so a hit is served without the ledger's lock, without building the view and
//! without encoding JSON again: the dashboard's polling and many analysts asking the same thing
//! cost a map lookup each (docs/BENCHMARKS.md, "Analyst queries").

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;

/// Answers kept at most; when full, the map is emptied (new heads make old entries useless
/// anyway, so nothing cleverer pays off).
pub const ANSWER_CACHE_ENTRIES: usize = 512;
/// Bytes of answers kept at most (some views of a large ledger are megabytes); an answer bigger
/// than a quarter of this is not kept at all.
pub const ANSWER_CACHE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// What an answer answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AnswerKey {
    pub path: &'static str,
    pub trust: Option<String>,
    pub as_of_seq: u64,
    pub head_seq: u64,
    pub as_of: Option<String>,
    pub known_at: Option<String>,
    pub exclude_synthetic: bool,
    pub format: crate::api::Format,
    pub evidence: Option<golive_report::EvidencePage>,
}

#[derive(Default)]
pub struct AnswerCache {
    /// The answers, and the sum of their sizes.
    map: Mutex<(HashMap<AnswerKey, Bytes>, usize)>,
}

impl AnswerCache {
    pub(crate) fn get(&self, key: &AnswerKey) -> Option<Bytes> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .get(key)
            .cloned()
    }

    pub(crate) fn put(&self, key: AnswerKey, body: Bytes) {
        if body.len() > ANSWER_CACHE_BYTES_MAX / 4 {
            return;
        }
        let mut guard = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let (map, bytes) = &mut *guard;
        if map.len() >= ANSWER_CACHE_ENTRIES || *bytes + body.len() > ANSWER_CACHE_BYTES_MAX {
            map.clear();
            *bytes = 0;
        }
        *bytes += body.len();
        if let Some(old) = map.insert(key, body) {
            *bytes -= old.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(head: u64) -> AnswerKey {
        AnswerKey {
            path: "/v1/money",
            trust: Some("RAL".into()),
            as_of_seq: head,
            head_seq: head,
            as_of: None,
            known_at: None,
            exclude_synthetic: false,
            format: crate::api::Format::Json,
            evidence: None,
        }
    }

    #[test]
    fn answers_are_found_by_everything_they_answer_and_the_map_stays_bounded() {
        let c = AnswerCache::default();
        c.put(key(1), Bytes::from_static(b"one"));
        assert_eq!(c.get(&key(1)).as_deref(), Some(&b"one"[..]));
        assert_eq!(c.get(&key(2)), None);
        let mut other = key(1);
        other.trust = None;
        assert_eq!(c.get(&other), None);
        for h in 0..(ANSWER_CACHE_ENTRIES as u64 + 10) {
            c.put(key(h + 10), Bytes::from_static(b"x"));
        }
        assert!(c.map.lock().unwrap().0.len() <= ANSWER_CACHE_ENTRIES);
        // By bytes too: big answers push the others out, one too big is not kept.
        let big = Bytes::from(vec![b'x'; ANSWER_CACHE_BYTES_MAX / 4]);
        for h in 0..6 {
            c.put(key(1_000 + h), big.clone());
            assert!(c.map.lock().unwrap().1 <= ANSWER_CACHE_BYTES_MAX);
        }
        assert_eq!(c.get(&key(1_005)), Some(big));
        c.put(
            key(2_000),
            Bytes::from(vec![b'y'; ANSWER_CACHE_BYTES_MAX / 4 + 1]),
        );
        assert_eq!(c.get(&key(2_000)), None);
    }
}
