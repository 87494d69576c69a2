//! From `std::time::Duration` (what users pass) to `chrono::TimeDelta` (what date arithmetic
//! takes), in one place. A duration too long for chrono saturates to "forever": it is never
//! replaced by a restated default, and never makes a user's setting silently shorter.

use chrono::{DateTime, TimeDelta, Utc};

/// `duration` as a `TimeDelta`, saturating at [`TimeDelta::MAX`].
pub(crate) fn delta(duration: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// `at + by`, saturating at the latest representable time instead of panicking.
pub(crate) fn later(at: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(by).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at - by`, saturating at the earliest representable time instead of panicking.
pub(crate) fn earlier(at: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    at.checked_sub_signed(by).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_durations_saturate_instead_of_falling_back_or_panicking() {
        assert_eq!(delta(std::time::Duration::from_secs(90)), TimeDelta::seconds(90));
        assert_eq!(delta(std::time::Duration::MAX), TimeDelta::MAX);
        let now: DateTime<Utc> = "2026-10-25T01:30:00Z".parse().unwrap();
        assert_eq!(later(now, TimeDelta::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(earlier(now, TimeDelta::MAX), DateTime::<Utc>::MIN_UTC);
    }
}
