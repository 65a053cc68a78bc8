//! The server's sockets as the apps open them, and the pause before a reconnect.

use crate::http::encode;
use crate::{platform, session};

/// The live doc socket of a workflow (y-websocket sync and awareness).
pub fn doc_path(workflow: &str) -> String {
    format!("/ws/docs/{workflow}?token={}", encode(&session::token().unwrap_or_default()))
}

/// A run's event socket, resuming after sequence number `after`.
pub fn run_events_path(run: &str, after: i64) -> String {
    format!("/ws/events?run={run}&after={after}&token={}", encode(&session::token().unwrap_or_default()))
}

/// A workflow's event socket: the rows of every run of it, resuming after sequence number `after`.
pub fn workflow_events_path(workflow: &str, after: i64) -> String {
    format!("/ws/events?workflow={workflow}&after={after}&token={}", encode(&session::token().unwrap_or_default()))
}

/// The reconnect delay after `failures` failed attempts in a row: 0.5 s doubling to 15 s, with
/// up to a quarter added from `jitter` (0..1) so many clients do not reconnect in step.
pub fn backoff_ms(failures: u32, jitter: f64) -> u32 {
    let base = 500u64.saturating_mul(1u64 << failures.min(5)).min(15_000);
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
    (base as f64 * (1.0 + jitter / 4.0)) as u32
}

/// Pauses between reconnects: longer after each failure, back to short once a connection worked.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// A connection worked: the next pause is short again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Waits before the next attempt.
    pub async fn wait(&mut self) {
        let jitter = (platform::random_u64() % 1000) as f64 / 1000.0;
        platform::sleep_ms(backoff_ms(self.failures, jitter)).await;
        self.failures = self.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_with_bounded_jitter() {
        assert_eq!(backoff_ms(0, 0.0), 500);
        assert_eq!(backoff_ms(1, 0.0), 1000);
        assert_eq!(backoff_ms(4, 0.0), 8000);
        assert_eq!(backoff_ms(5, 0.0), 15_000);
        assert_eq!(backoff_ms(50, 0.0), 15_000);
        assert_eq!(backoff_ms(0, 1.0), 625);
        assert_eq!(backoff_ms(0, f64::NAN), 500);
    }

    #[test]
    fn socket_paths_carry_the_token_encoded() {
        crate::session::remember(&aos_api::Tokens { token: "a+b".into(), refresh_token: "r".into(), expires_in: 1 });
        assert_eq!(doc_path("w1"), "/ws/docs/w1?token=a%2Bb");
        assert_eq!(run_events_path("r1", 7), "/ws/events?run=r1&after=7&token=a%2Bb");
        assert_eq!(workflow_events_path("w1", 9), "/ws/events?workflow=w1&after=9&token=a%2Bb");
        crate::session::forget();
    }
}
