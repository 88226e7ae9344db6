//! `SocketHandler.createSocket`'s reconnect schedule: after a failed connect,
//! wait `retry_start`, then multiply by `retry_factor` up to `retry_max`.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub start: f64,
    pub factor: f64,
    pub max: f64,
}

impl Default for RetryPolicy {
    /// CPython's `retryStart`, `retryFactor`, `retryMax`.
    fn default() -> Self {
        RetryPolicy { start: 1.0, factor: 2.0, max: 30.0 }
    }
}

#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    period: Option<f64>,
    retry_at: Option<Instant>,
}

impl Backoff {
    pub fn new(policy: RetryPolicy) -> Backoff {
        Backoff { policy, period: None, retry_at: None }
    }

    /// Whether a connection attempt may be made now.
    pub fn may_attempt(&self, now: Instant) -> bool {
        self.retry_at.is_none_or(|at| now >= at)
    }

    /// How long until the next attempt is allowed.
    pub fn remaining(&self, now: Instant) -> Duration {
        self.retry_at.map_or(Duration::ZERO, |at| at.saturating_duration_since(now))
    }

    pub fn failed(&mut self, now: Instant) {
        let period = match self.period {
            None => self.policy.start,
            Some(p) => (p * self.policy.factor).min(self.policy.max),
        };
        self.period = Some(period);
        self.retry_at = Some(now + Duration::from_secs_f64(period.clamp(0.0, 86_400.0)));
    }

    pub fn succeeded(&mut self) {
        self.period = None;
        self.retry_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let t0 = Instant::now();
        let mut b = Backoff::new(RetryPolicy { start: 1.0, factor: 2.0, max: 5.0 });
        assert!(b.may_attempt(t0));
        let mut waits = vec![];
        for _ in 0..5 {
            b.failed(t0);
            waits.push(b.remaining(t0).as_secs_f64());
        }
        assert_eq!(waits, vec![1.0, 2.0, 4.0, 5.0, 5.0]);
        assert!(!b.may_attempt(t0 + Duration::from_secs(4)));
        assert!(b.may_attempt(t0 + Duration::from_secs(5)));
        b.succeeded();
        assert!(b.may_attempt(t0));
    }
}
