//! The events every benchmark measures over ([`BenchEvents`]: simulated once, with their
//! canonical bytes) and how runs are summed up: rates and medians over runs.

use std::time::Instant;

use golive::simulate::{SimParams, Simulation};
use golive_model::Envelope;

/// The events a benchmark measures over: a [`Simulation`], generated once, with the canonical
/// bytes of each (what a collector reads, what NATS carries, what the PostgreSQL peer stores).
pub struct BenchEvents {
    pub seed: u64,
    pub trusts: usize,
    pub envelopes: Vec<Envelope>,
    pub canonical: Vec<bytes::Bytes>,
}

impl BenchEvents {
    pub fn simulate(seed: u64, trusts: usize, events: u64) -> Self {
        let envelopes: Vec<Envelope> =
            Simulation::new(SimParams::new(seed, trusts, events)).collect();
        let canonical = envelopes
            .iter()
            .map(|e| bytes::Bytes::from(e.canonical_bytes()))
            .collect();
        Self {
            seed,
            trusts,
            envelopes,
            canonical,
        }
    }

    pub fn len(&self) -> u64 {
        self.envelopes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.envelopes.is_empty()
    }

    /// The events as JSON lines (a collector's feed), those whose index `keep` accepts.
    pub fn jsonl(&self, keep: impl Fn(usize) -> bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, b) in self.canonical.iter().enumerate() {
            if keep(i) {
                out.extend_from_slice(b);
                out.push(b'\n');
            }
        }
        out
    }

    pub fn mean_json_bytes(&self) -> f64 {
        let total: usize = self.canonical.iter().map(|b| b.len()).sum();
        total as f64 / self.len().max(1) as f64
    }
}

/// Median of `f` over runs (0 for none).
pub(crate) fn median_of<T>(runs: &[T], f: impl Fn(&T) -> f64) -> f64 {
    if runs.is_empty() {
        return 0.0;
    }
    median(runs.iter().map(f).collect())
}

/// Median of the values `f` has (None when no run has one).
pub(crate) fn median_some<T>(runs: &[T], f: impl Fn(&T) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = runs.iter().filter_map(f).collect();
    (!v.is_empty()).then(|| median(v))
}

/// Events per second: `n` events since `since`.
pub(crate) fn rate(n: u64, since: Instant) -> f64 {
    n as f64 / since.elapsed().as_secs_f64().max(1e-9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
