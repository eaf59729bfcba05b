//! Encoded answers of the projection endpoints, kept by what they answer: the endpoint, the
//! trust, the sequence answered for, the head at the time and the `as_of` time asked for. An
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

/// What an answer answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AnswerKey {
    pub path: &'static str,
    pub trust: Option<String>,
    pub as_of_seq: u64,
    pub head_seq: u64,
    pub as_of: Option<String>,
}

#[derive(Default)]
pub struct AnswerCache {
    map: Mutex<HashMap<AnswerKey, Bytes>>,
}

impl AnswerCache {
    pub(crate) fn get(&self, key: &AnswerKey) -> Option<Bytes> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    pub(crate) fn put(&self, key: AnswerKey, body: Bytes) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= ANSWER_CACHE_ENTRIES {
            map.clear();
        }
        map.insert(key, body);
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
        assert!(c.map.lock().unwrap().len() <= ANSWER_CACHE_ENTRIES);
    }
}
