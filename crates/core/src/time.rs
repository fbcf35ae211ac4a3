//! Wall-clock helpers (Unix milliseconds, calendar months in UTC).

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// "YYYY-MM" (UTC) of a Unix-ms timestamp; quota months are calendar months.
pub fn month_of(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let (year, month, _) = civil_from_days(days);
    format!("{year:04}-{month:02}")
}

/// `20261202T001500Z` (UTC, to the second) of a Unix-ms timestamp: file-name-safe, sorts by time.
pub fn utc_stamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days → civil date algorithm (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_of_is_the_utc_calendar_month() {
        assert_eq!(month_of(0), "1970-01");
        // 2026-11-22T00:00:00Z
        assert_eq!(month_of(1_795_305_600_000), "2026-11");
        // 2024-02-29T23:59:59Z (leap day)
        assert_eq!(month_of(1_709_251_199_000), "2024-02");
    }
}
