//! Wall-clock helpers. DingTalk puts Unix milliseconds on the wire (`time`
//! header as a string, `createAt` and `sessionWebhookExpiredTime` as numbers).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Current Unix time in milliseconds. A clock before 1970 reads as 0 rather
/// than panicking: the simulator must never die on a strange host clock.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A duration as whole milliseconds, saturating.
pub fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
