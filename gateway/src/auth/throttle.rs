//! Brakes on credential guessing and mass signup: per-IP and per-account rate limits on login and
//! signup ([`AuthLimits`]), and [`Lockout`], which locks an account after a run of failed logins
//! for a time that doubles with every further failure (exponential backoff), until a success or a
//! quiet hour resets it. Time is passed in, so the backoff is tested without waiting.
//!
//! State is per process: with several gateway nodes an attacker's budget is multiplied by their
//! number (the limits still bound it).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::Quota;

use crate::limits::RateLimiter;

/// When and for how long repeated login failures lock an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// The consecutive failure that starts the first lock (the ones before it are free).
    pub lock_after: u32,
    /// The first lock; each failure after it doubles the lock.
    pub base: Duration,
    /// The longest lock.
    pub max: Duration,
    /// Failures older than this are forgotten.
    pub forget_after: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            lock_after: 5,
            base: Duration::from_secs(30),
            max: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(3600),
        }
    }
}

/// The most accounts tracked at once; past it, forgotten and unlocked entries are dropped first.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Failed-login bookkeeping per account key.
#[derive(Debug, Default)]
pub struct Lockout {
    policy: LockoutPolicy,
    accounts: Mutex<HashMap<String, Failures>>,
}

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        Self { policy, accounts: Mutex::new(HashMap::new()) }
    }

    /// `Err(wait)` while `key` is locked.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let accounts = self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match accounts.get(key).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failure; returns the lock it starts, if any.
    pub fn failed(&self, key: &str, now: Instant) -> Option<Duration> {
        let policy = self.policy;
        let mut accounts = self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if accounts.len() >= MAX_TRACKED && !accounts.contains_key(key) {
            accounts.retain(|_, f| {
                now.saturating_duration_since(f.last) < policy.forget_after || f.locked_until.is_some_and(|u| u > now)
            });
            if accounts.len() >= MAX_TRACKED {
                accounts.retain(|_, f| f.locked_until.is_some_and(|u| u > now));
            }
        }
        let entry = accounts.entry(key.to_owned()).or_insert(Failures { count: 0, last: now, locked_until: None });
        if now.saturating_duration_since(entry.last) >= policy.forget_after {
            *entry = Failures { count: 0, last: now, locked_until: None };
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        let over = entry.count.checked_sub(policy.lock_after)?;
        let lock = policy.base.saturating_mul(2u32.saturating_pow(over.min(20))).min(policy.max);
        entry.locked_until = Some(now + lock);
        Some(lock)
    }

    /// A successful login clears the account's failures.
    pub fn succeeded(&self, key: &str) {
        self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }
}

/// The auth endpoints' own limits, on top of the per-caller API limit.
#[derive(Debug)]
pub struct AuthLimits {
    /// Login attempts per client IP (whatever the accounts tried).
    pub logins_per_ip: RateLimiter,
    /// Signups per client IP.
    pub signups_per_ip: RateLimiter,
    /// Signup attempts per email (probing which emails have accounts).
    pub signups_per_email: RateLimiter,
    /// Failed-login lockout per account.
    pub lockout: Lockout,
}

/// The numbers behind [`AuthLimits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthLimitSettings {
    pub logins_per_minute_per_ip: NonZeroU32,
    pub signups_per_hour_per_ip: NonZeroU32,
    pub signups_per_hour_per_email: NonZeroU32,
    pub lockout: LockoutPolicy,
}

impl Default for AuthLimitSettings {
    fn default() -> Self {
        Self {
            logins_per_minute_per_ip: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
            signups_per_hour_per_ip: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
            signups_per_hour_per_email: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            lockout: LockoutPolicy::default(),
        }
    }
}

impl AuthLimits {
    pub fn new(settings: &AuthLimitSettings) -> Self {
        Self {
            logins_per_ip: RateLimiter::with_quota(Quota::per_minute(settings.logins_per_minute_per_ip)),
            signups_per_ip: RateLimiter::with_quota(Quota::per_hour(settings.signups_per_hour_per_ip)),
            signups_per_email: RateLimiter::with_quota(Quota::per_hour(settings.signups_per_hour_per_email)),
            lockout: Lockout::new(settings.lockout),
        }
    }
}

impl Default for AuthLimits {
    fn default() -> Self {
        Self::new(&AuthLimitSettings::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_the_account_for_a_doubling_time() {
        let policy = LockoutPolicy {
            lock_after: 3,
            base: Duration::from_secs(10),
            max: Duration::from_secs(60),
            forget_after: Duration::from_secs(600),
        };
        let lockout = Lockout::new(policy);
        let t0 = Instant::now();
        for _ in 0..2 {
            assert_eq!(lockout.failed("a", t0), None);
        }
        assert_eq!(lockout.check("a", t0), Ok(()), "two failures are free");
        assert_eq!(lockout.failed("a", t0), Some(Duration::from_secs(10)), "the third locks");
        assert_eq!(lockout.check("a", t0 + Duration::from_secs(4)), Err(Duration::from_secs(6)));
        assert_eq!(lockout.check("b", t0), Ok(()), "other accounts are not locked");
        let t1 = t0 + Duration::from_secs(11);
        assert_eq!(lockout.check("a", t1), Ok(()), "the lock ends");
        assert_eq!(lockout.failed("a", t1), Some(Duration::from_secs(20)), "and the next failure doubles it");
        assert_eq!(lockout.failed("a", t1), Some(Duration::from_secs(40)));
        assert_eq!(lockout.failed("a", t1), Some(Duration::from_secs(60)), "up to the cap");
        assert_eq!(lockout.failed("a", t1), Some(Duration::from_secs(60)));
        lockout.succeeded("a");
        assert_eq!(lockout.check("a", t1), Ok(()), "a success resets");
        assert_eq!(lockout.failed("a", t1), None);
        let later = t1 + Duration::from_secs(601);
        for _ in 0..2 {
            assert_eq!(lockout.failed("c", t1), None);
        }
        assert_eq!(lockout.failed("c", later), None, "old failures are forgotten");
    }
}
