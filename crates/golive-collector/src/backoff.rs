//! The retry schedule shared by failing publishes (in the engine) and reconnects (in the NATS
//! client's reconnect-delay callback): 100 ms doubling to 5 s.

use std::time::Duration;

/// Exponential backoff: 100 ms doubling to 5 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    next_ms: u64,
}

impl Backoff {
    pub const FIRST_MS: u64 = 100;
    pub const MAX_MS: u64 = 5_000;

    pub fn new() -> Self {
        Self {
            next_ms: Self::FIRST_MS,
        }
    }

    /// The delay to wait now; the next one is twice as long, up to the maximum.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next_ms;
        self.next_ms = (self.next_ms * 2).min(Self::MAX_MS);
        Duration::from_millis(d)
    }

    pub fn reset(&mut self) {
        self.next_ms = Self::FIRST_MS;
    }

    /// The delay of the `attempt`-th retry (1-based) without state, for the NATS client's
    /// reconnect callback: 0 for the first attempt, then 100 ms doubling to 5 s.
    pub fn delay_of_attempt(attempt: usize) -> Duration {
        if attempt <= 1 {
            return Duration::ZERO;
        }
        let doublings = u32::try_from(attempt - 2).unwrap_or(u32::MAX).min(16);
        Duration::from_millis((Self::FIRST_MS << doublings).min(Self::MAX_MS))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_100ms_to_5s() {
        // Proves the retry schedule is 100 ms doubling to a 5 s ceiling, and resets.
        let mut b = Backoff::new();
        let ms: Vec<u128> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
        assert_eq!(Backoff::delay_of_attempt(1), Duration::ZERO);
        assert_eq!(Backoff::delay_of_attempt(2).as_millis(), 100);
        assert_eq!(Backoff::delay_of_attempt(3).as_millis(), 200);
        assert_eq!(Backoff::delay_of_attempt(100).as_millis(), 5000);
    }
}
