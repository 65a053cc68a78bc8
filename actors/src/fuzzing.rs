//! Fuzz entry points of the actors' pure parts: webhook deliveries (headers and body through
//! [`verify_delivery`] and [`parse_delivery`]) and cron triggers ([`CronSchedule`],
//! [`due_ticks`]). Each must never panic and checks the promises callers rely on. The cargo-fuzz
//! targets `webhook_delivery` and `cron` and `tests/fuzz_regressions.rs` call these functions.

use aos_persistence::{Timestamp, WebhookSettings};
use aos_schema::SecretString;
use hmac::{Hmac, Mac};
use serde_json::Map;
use sha2::Sha256;

use crate::schedule::{CronSchedule, MAX_CATCH_UP, Missed, due_ticks};
use crate::webhook::{Delivery, DeliveryError, parse_delivery, verify_delivery};

/// The signing secret of the fuzzed source.
const FUZZ_KEY: &str = "whsec-fuzz-key";

/// Input: `[flags][header lines]\n\n[body]`; header lines are `name: value`. Flag bits: 1 the
/// source signs, 2 the delivery carries the right signature, 4 the body is changed after signing,
/// 8 the source dedupes on `x-delivery`, 16 a tiny body limit.
pub fn webhook_delivery(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let split = rest.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (rest, &[][..]),
    };
    let headers: Vec<(String, String)> = String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let settings = WebhookSettings {
        signing_secret: (flags & 1 != 0).then(|| "SIGNING".to_owned()),
        dedupe_header: (flags & 8 != 0).then(|| "x-delivery".to_owned()),
        max_body_bytes: if flags & 16 != 0 { 16 } else { 1024 * 1024 },
        ..WebhookSettings::default()
    };
    let key = SecretString::new(FUZZ_KEY);
    let mut delivery = Delivery { headers, query: Map::new(), body: body.to_vec(), traceparent: None };
    let signed_right = flags & 2 != 0;
    if signed_right {
        delivery.headers.retain(|(name, _)| name != "x-hub-signature-256" && name != "x-signature-256");
        delivery.headers.push(("x-hub-signature-256".to_owned(), signature(&delivery.body)));
    }
    let tampered = flags & 4 != 0 && !delivery.body.is_empty();
    if tampered && let Some(first) = delivery.body.first_mut() {
        *first ^= 0x01;
    }
    let signing_key = (flags & 1 != 0).then_some(&key);
    let verified = verify_delivery(&settings, signing_key, &delivery);
    let too_large = delivery.body.len() as u64 > settings.max_body_bytes;
    match &verified {
        Err(DeliveryError::TooLarge { .. }) => assert!(too_large, "a body within the limit was refused as too large"),
        Err(DeliveryError::BadSignature) => {
            assert!(signing_key.is_some(), "an unsigned source refused a signature");
            assert!(!signed_right || tampered, "a correctly signed body was refused");
        }
        Err(other) => panic!("verification failed with {other:?}"),
        Ok(()) => {
            assert!(!too_large, "a body over the limit was accepted");
            assert!(!(signing_key.is_some() && tampered), "a body changed after signing was accepted");
        }
    }
    if verified.is_err() {
        return;
    }
    if let Ok(parsed) = parse_delivery(&settings, &delivery) {
        assert!(!parsed.key.is_empty() || has_empty_key(&delivery), "an empty dedupe key was invented");
        for private in ["authorization", "cookie", "x-hub-signature-256", "x-signature-256", "x-aos-token"] {
            assert!(
                !parsed.headers.keys().any(|k| k.eq_ignore_ascii_case(private)),
                "credential header {private} reached the run"
            );
        }
    }
}

fn has_empty_key(delivery: &Delivery) -> bool {
    delivery.headers.iter().any(|(k, v)| (k == "idempotency-key" || k == "x-delivery") && v.is_empty())
}

fn signature(body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(FUZZ_KEY.as_bytes()) else { return String::new() };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Input: `expression\nzone` (lossy UTF-8). A schedule that parses yields ticks strictly after the
/// instant asked about, and due ticks in order, within the window and at most [`MAX_CATCH_UP`].
pub fn cron(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (expression, zone) = text.split_once('\n').unwrap_or((&text, ""));
    let Ok(schedule) = CronSchedule::parse(expression, zone) else { return };
    let base = time::OffsetDateTime::from_unix_timestamp(1_767_225_600)
        .map(Timestamp::from)
        .unwrap_or_else(|_| Timestamp::now());
    for at in [base, base + time::Duration::days(59), base - time::Duration::days(3650)] {
        if let Some(next) = schedule.next_after(at) {
            assert!(next > at, "next tick {next} is not after {at}");
        }
    }
    let now = base + time::Duration::hours(2);
    for missed in [Missed::Skip, Missed::CatchUp] {
        let ticks = due_ticks(&schedule, Some(base), now, missed);
        assert!(ticks.len() <= MAX_CATCH_UP.max(1), "{} ticks due at once", ticks.len());
        assert!(ticks.windows(2).all(|w| w[0] < w[1]), "due ticks out of order");
        assert!(ticks.iter().all(|t| *t > base && *t <= now), "a due tick outside the window");
    }
}
