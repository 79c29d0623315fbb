//! Replay window of webhooks: the time a marketplace put in its own push
//! envelope, and whether it is recent enough to accept.
//!
//! A correctly signed push can be captured and sent again later; the
//! signature covers the body, timestamp included, so refusing bodies whose
//! own timestamp is far from now bounds how long a capture is worth
//! anything. Each marketplace's window (`WebhookCapabilities::replay_window_ms`)
//! is longer than its retry schedule, and the inbox keeps de-duplication
//! keys longer than any window, so a retry inside the window is always
//! recognised as a duplicate.

use storesync_domain::Timestamp;

use crate::ChannelError;

/// How far ahead of our clock a push may claim to be (the marketplaces'
/// clocks and ours disagree by a little).
pub const FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// Envelope timestamps at or above this are milliseconds (Lazada's order
/// pushes); below, seconds (Shopee, TikTok, some Lazada product pushes).
/// 10^11 seconds is the year 5138; 10^11 milliseconds is 1973.
const MILLIS_FROM: i64 = 100_000_000_000;

/// The top-level `timestamp` of a JSON push envelope, in seconds or
/// milliseconds as above.
pub fn envelope_timestamp(body: &[u8]) -> Result<Timestamp, ChannelError> {
    let envelope: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ChannelError::webhook(format!("malformed push: {e}")))?;
    // Only an object's own field counts (not an element of an array).
    let raw = match envelope.as_object().and_then(|o| o.get("timestamp")) {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        // Some marketplaces quote numbers; accept a quoted integer too.
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .filter(|t| *t > 0)
    .ok_or_else(|| ChannelError::webhook("push has no timestamp"))?;
    let millis = if raw >= MILLIS_FROM {
        raw
    } else {
        raw.saturating_mul(1000)
    };
    Ok(Timestamp::from_millis(millis))
}

/// Whether a push sent at `sent` may be accepted at `now`: no older than
/// `window_ms`, no further ahead than [`FUTURE_SKEW_MS`].
pub fn within_window(sent: Timestamp, now: Timestamp, window_ms: i64) -> bool {
    let age = now.millis().saturating_sub(sent.millis());
    age <= window_ms && age >= -FUTURE_SKEW_MS
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seconds_and_milliseconds_are_told_apart() {
        let s = envelope_timestamp(br#"{"timestamp":1660123127,"code":3}"#).unwrap();
        assert_eq!(s.millis(), 1_660_123_127_000);
        let ms = envelope_timestamp(br#"{"timestamp":1603766859530}"#).unwrap();
        assert_eq!(ms.millis(), 1_603_766_859_530);
        let quoted = envelope_timestamp(br#"{"timestamp":"1700000000"}"#).unwrap();
        assert_eq!(quoted.millis(), 1_700_000_000_000);
        for bad in [
            &b"{}"[..],
            br#"{"timestamp":null}"#,
            br#"{"timestamp":-5}"#,
            br#"{"timestamp":1.5}"#,
            b"[1]",
            b"\xff",
        ] {
            assert!(envelope_timestamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_window_bounds_both_sides() {
        let now = Timestamp::from_millis(1_800_000_000_000);
        let hour = 3_600_000;
        assert!(within_window(now, now, hour));
        assert!(within_window(now.plus_millis(-hour), now, hour));
        assert!(!within_window(now.plus_millis(-hour - 1), now, hour));
        assert!(within_window(now.plus_millis(FUTURE_SKEW_MS), now, hour));
        assert!(!within_window(
            now.plus_millis(FUTURE_SKEW_MS + 1),
            now,
            hour
        ));
        assert!(!within_window(Timestamp::from_millis(i64::MIN), now, hour));
    }
}
