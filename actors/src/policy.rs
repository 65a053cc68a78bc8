//! Restart and retry policies as plain functions over time values the caller passes in (no
//! clock, no randomness of their own), so tests drive them exactly.
//!
//! - [`RestartPolicy`]: what a supervisor does when a child fails — restart it one-for-one after an
//!   exponential backoff, unless the child has failed more than `max_restarts` times within
//!   `within` (Erlang's restart intensity), in which case the supervisor escalates: it fails
//!   itself and its own supervisor decides.
//! - [`RetryPolicy`]: what a run does when a step fails retryably — try again after an exponential
//!   backoff with jitter (never sooner than the service's `Retry-After`), up to `max_attempts`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Exponential backoff: `initial`, then ×`multiplier` per further attempt, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
}

impl Backoff {
    /// The wait before try number `n` after the first failure (`n` = 1 for the first retry).
    pub fn delay(&self, n: u32) -> Duration {
        let exponent = n.saturating_sub(1).min(64) as i32;
        let factor = self.multiplier.max(1.0).powi(exponent);
        let millis = (self.initial.as_millis() as f64 * factor).min(self.max.as_millis() as f64);
        Duration::from_millis(millis.max(0.0) as u64).min(self.max)
    }
}

/// How a supervisor treats its failing children.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RestartPolicy {
    /// Restarts allowed within `within` before the supervisor gives up and escalates.
    pub max_restarts: u32,
    pub within: Duration,
    pub backoff: Backoff,
}

impl Default for RestartPolicy {
    /// Three restarts in five seconds, starting 100 ms apart and doubling up to two seconds.
    fn default() -> Self {
        Self {
            max_restarts: 3,
            within: Duration::from_secs(5),
            backoff: Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(2), multiplier: 2.0 },
        }
    }
}

/// What to do about one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartDecision {
    /// Start the child again after `after`; `recent` failures (this one included) fall in the window.
    Restart { after: Duration, recent: u32 },
    /// Too many failures in the window: fail the supervisor itself.
    Escalate { recent: u32 },
}

/// The failure history of one child, for its supervisor.
#[derive(Debug, Clone, Default)]
pub struct RestartHistory {
    /// Times of the failures still inside the policy window, oldest first.
    recent: VecDeque<Instant>,
    /// Every restart ever granted, for introspection.
    pub total_restarts: u64,
}

impl RestartHistory {
    /// Records a failure at `now` and decides.
    pub fn on_failure(&mut self, policy: &RestartPolicy, now: Instant) -> RestartDecision {
        while self.recent.front().is_some_and(|at| now.saturating_duration_since(*at) > policy.within) {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        let recent = self.recent.len() as u32;
        if recent > policy.max_restarts {
            return RestartDecision::Escalate { recent };
        }
        self.total_restarts += 1;
        RestartDecision::Restart { after: policy.backoff.delay(recent), recent }
    }
}

/// How a run retries one step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1 = never retry).
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// Up to this fraction of each delay is randomised away, so many runs that failed together do
    /// not retry together (0 = none, 1 = anywhere between zero and the full delay).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// Five tries: 1 s, 2 s, 4 s, 8 s apart (up to a minute), with 20% jitter.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff: Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(60), multiplier: 2.0 },
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// After try number `attempt` failed retryably: `Some(wait)` before the next try, or `None`
    /// when the tries are used up. `random` is a value in `[0, 1)` from the caller;
    /// `retry_after` is the service's own wait, which is never undercut.
    pub fn next_delay(&self, attempt: u32, random: f64, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let base = self.backoff.delay(attempt);
        let cut = base.mul_f64(self.jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0));
        let delay = base.saturating_sub(cut);
        Some(retry_after.map_or(delay, |wait| delay.max(wait)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_grows_and_caps() {
        let b = Backoff { initial: ms(100), max: ms(1000), multiplier: 2.0 };
        let delays: Vec<Duration> = (1..=6).map(|n| b.delay(n)).collect();
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
        assert_eq!(b.delay(10_000), ms(1000), "huge attempt numbers do not overflow");
    }

    #[test]
    fn restarts_within_intensity_then_escalation() {
        let policy = RestartPolicy::default();
        let mut history = RestartHistory::default();
        let t0 = Instant::now();
        assert_eq!(history.on_failure(&policy, t0), RestartDecision::Restart { after: ms(100), recent: 1 });
        assert_eq!(history.on_failure(&policy, t0 + ms(10)), RestartDecision::Restart { after: ms(200), recent: 2 });
        assert_eq!(history.on_failure(&policy, t0 + ms(20)), RestartDecision::Restart { after: ms(400), recent: 3 });
        assert_eq!(history.on_failure(&policy, t0 + ms(30)), RestartDecision::Escalate { recent: 4 });
        assert_eq!(history.total_restarts, 3);
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let policy = RestartPolicy::default();
        let mut history = RestartHistory::default();
        let t0 = Instant::now();
        for i in 0..3 {
            history.on_failure(&policy, t0 + ms(i));
        }
        // six seconds later the window holds only the new failure
        let later = t0 + Duration::from_secs(6);
        assert_eq!(history.on_failure(&policy, later), RestartDecision::Restart { after: ms(100), recent: 1 });
    }

    #[test]
    fn retries_back_off_with_jitter_and_respect_retry_after() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.next_delay(1, 0.0, None), Some(Duration::from_secs(1)));
        assert_eq!(policy.next_delay(2, 0.0, None), Some(Duration::from_secs(2)));
        let jittered = policy.next_delay(3, 0.5, None).unwrap();
        assert_eq!(jittered, Duration::from_millis(3600), "20% jitter at half strength takes 10% off 4 s");
        assert_eq!(policy.next_delay(1, 0.9, Some(Duration::from_secs(30))), Some(Duration::from_secs(30)));
        assert_eq!(policy.next_delay(5, 0.0, None), None, "five tries in all");
        let never = RetryPolicy { max_attempts: 1, ..policy };
        assert_eq!(never.next_delay(1, 0.0, None), None);
    }
}
