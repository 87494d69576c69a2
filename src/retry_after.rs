//! Reading `Retry-After`. Its own file because the xtask's probe includes it too (with
//! `#[path]`): the probe waits as the client does, and the xtask cannot depend on the crate (it
//! must run when the crate does not build, to repair the document).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// `Retry-After: 3` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT` (a date already past is no
/// wait); `None` when absent or unreadable.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    fn headers(value: &'static str) -> HeaderMap {
        HeaderMap::from_iter([(RETRY_AFTER, HeaderValue::from_static(value))])
    }

    #[test]
    fn seconds_and_dates() {
        let now = DateTime::parse_from_rfc2822("Wed, 21 Oct 2026 07:28:00 GMT").unwrap().with_timezone(&Utc);
        assert_eq!(retry_after(&headers("3"), now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&headers("Wed, 21 Oct 2026 07:28:30 GMT"), now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(&headers("Wed, 21 Oct 2026 07:27:00 GMT"), now), Some(Duration::ZERO), "past: no wait");
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
