//! The last hour, minute by minute, for the dashboard's small charts: messages ACKed, their frame → ACK
//! latency, agent turn times and MCP tool calls.
//!
//! Invariant: bounded — a ring of [`MINUTES`] buckets indexed by the minute; a bucket is reset when a newer
//! minute lands on it, so nothing ever grows and old minutes read as empty.

use std::sync::Mutex;

use serde::Serialize;

pub const MINUTES: usize = 60;
const MINUTE_MS: i64 = 60_000;

#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    /// Start of the minute (Unix ms); 0 = never used.
    minute_ms: i64,
    acks: u64,
    ack_sum_us: u64,
    ack_max_us: u64,
    turns: u64,
    turn_sum_ms: u64,
    turn_max_ms: u64,
    mcp_calls: u64,
    mcp_errors: u64,
}

/// One minute of the chart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MinutePoint {
    pub minute_ms: i64,
    /// Messages ACKed (received) in the minute.
    pub messages: u64,
    pub ack_avg_us: u64,
    pub ack_max_us: u64,
    pub turns: u64,
    pub turn_avg_ms: u64,
    pub turn_max_ms: u64,
    /// MCP `tools/call` requests in the minute, and how many of them failed.
    pub mcp_calls: u64,
    pub mcp_errors: u64,
}

pub struct Timeline(Mutex<[Bucket; MINUTES]>);

impl Default for Timeline {
    fn default() -> Self {
        Self(Mutex::new([Bucket::default(); MINUTES]))
    }
}

fn slot(at_ms: i64) -> (usize, i64) {
    let minute = at_ms.div_euclid(MINUTE_MS);
    // rem_euclid of a positive modulus is in 0..MINUTES.
    (
        minute.rem_euclid(MINUTES as i64) as usize,
        minute * MINUTE_MS,
    )
}

impl Timeline {
    fn with_bucket(&self, at_ms: i64, update: impl FnOnce(&mut Bucket)) {
        let (index, minute_ms) = slot(at_ms);
        let mut buckets = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(index) {
            if bucket.minute_ms != minute_ms {
                *bucket = Bucket {
                    minute_ms,
                    ..Bucket::default()
                };
            }
            update(bucket);
        }
    }

    pub fn ack(&self, at_ms: i64, latency_us: u64) {
        self.with_bucket(at_ms, |b| {
            b.acks = b.acks.saturating_add(1);
            b.ack_sum_us = b.ack_sum_us.saturating_add(latency_us);
            b.ack_max_us = b.ack_max_us.max(latency_us);
        });
    }

    pub fn turn(&self, at_ms: i64, duration_ms: u64) {
        self.with_bucket(at_ms, |b| {
            b.turns = b.turns.saturating_add(1);
            b.turn_sum_ms = b.turn_sum_ms.saturating_add(duration_ms);
            b.turn_max_ms = b.turn_max_ms.max(duration_ms);
        });
    }

    pub fn mcp_call(&self, at_ms: i64, failed: bool) {
        self.with_bucket(at_ms, |b| {
            b.mcp_calls = b.mcp_calls.saturating_add(1);
            if failed {
                b.mcp_errors = b.mcp_errors.saturating_add(1);
            }
        });
    }

    /// The [`MINUTES`] minutes up to and including the one of `now_ms`, oldest first.
    pub fn last_hour(&self, now_ms: i64) -> Vec<MinutePoint> {
        let buckets = *self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (_, current) = slot(now_ms);
        (0..MINUTES as i64)
            .rev()
            .map(|back| {
                let minute_ms = current - back * MINUTE_MS;
                let (index, _) = slot(minute_ms);
                match buckets.get(index) {
                    Some(b) if b.minute_ms == minute_ms => MinutePoint {
                        minute_ms,
                        messages: b.acks,
                        ack_avg_us: b.ack_sum_us.checked_div(b.acks).unwrap_or(0),
                        ack_max_us: b.ack_max_us,
                        turns: b.turns,
                        turn_avg_ms: b.turn_sum_ms.checked_div(b.turns).unwrap_or(0),
                        turn_max_ms: b.turn_max_ms,
                        mcp_calls: b.mcp_calls,
                        mcp_errors: b.mcp_errors,
                    },
                    _ => MinutePoint {
                        minute_ms,
                        ..MinutePoint::default()
                    },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_633_600_000; // a minute boundary

    #[test]
    fn a_minute_sums_its_acks_and_turns() {
        let timeline = Timeline::default();
        timeline.ack(T0 + 1_000, 100);
        timeline.ack(T0 + 2_000, 300);
        timeline.turn(T0 + 3_000, 1_500);
        let hour = timeline.last_hour(T0 + 30_000);
        assert_eq!(hour.len(), MINUTES);
        let now = hour[MINUTES - 1];
        assert_eq!(now.minute_ms, T0);
        assert_eq!(
            (now.messages, now.ack_avg_us, now.ack_max_us),
            (2, 200, 300)
        );
        assert_eq!((now.turns, now.turn_avg_ms), (1, 1_500));
        assert_eq!(hour[MINUTES - 2].messages, 0);
    }

    #[test]
    fn minutes_older_than_an_hour_read_as_empty_and_their_slot_is_reused() {
        let timeline = Timeline::default();
        timeline.ack(T0, 100);
        let later = T0 + MINUTES as i64 * MINUTE_MS;
        assert!(timeline.last_hour(later).iter().all(|p| p.messages == 0));
        timeline.ack(later, 50);
        let hour = timeline.last_hour(later);
        assert_eq!(hour[MINUTES - 1].messages, 1);
        assert_eq!(hour[MINUTES - 1].ack_max_us, 50);
    }
}
