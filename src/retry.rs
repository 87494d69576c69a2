//! When a failed request is sent again, and after how long.
//!
//! | Failure | GET, PUT, DELETE, HEAD, OPTIONS | POST, PATCH |
//! |---|---|---|
//! | could not connect (the request never left) | retried | retried |
//! | timeout, connection reset, no status line | retried | **not** retried (it may have taken effect) |
//! | any status, then a body that is cut off, breaks its chunking or outlasts the timeout | retried | **not** retried |
//! | 408, 429, 500, 502, 503, 504 | retried | **not** retried |
//! | any other status | not retried | not retried |
//! | a body over the size limit, a redirect | not retried | not retried |
//!
//! The whole body is read before an attempt counts as answered (`src/answer.rs`), which is what
//! lets a read whose body failed be sent again.
//!
//! The wait is the answer's `Retry-After` (seconds or an HTTP date) when there is one, capped by
//! [`RetryPolicy::with_max_retry_after`] (a longer one is not waited for: the error is returned);
//! otherwise jittered exponential backoff. [`RetryPolicy::with_deadline`] bounds all attempts
//! together.

use std::time::{Duration, Instant};

use backon::BackoffBuilder as _;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};

/// How the client retries. Default: 2 retries, backoff from 250 ms up to 8 s with jitter,
/// `Retry-After` honoured up to 60 s, no overall deadline beyond the per-attempt timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            deadline: None,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..Self::default() }
    }
    /// How many times a request may be sent again (default 2).
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }
    /// The first backoff and the largest one (defaults 250 ms and 8 s); jitter is added.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }
    /// The longest `Retry-After` waited for (default 60 s).
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }
    /// A bound on all attempts and waits together: no retry starts that would end past it.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub(crate) fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The backoff waits, one per retry.
    pub(crate) fn backoffs(&self) -> impl Iterator<Item = Duration> {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.max_retries as usize)
            .build()
    }

    /// Whether a wait of `wait` still fits the deadline of a call that started at `started`.
    pub(crate) fn fits(&self, started: Instant, wait: Duration) -> bool {
        self.deadline.is_none_or(|deadline| started.elapsed() + wait < deadline)
    }

    pub(crate) fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }
}

/// Methods that can be sent twice with the same effect.
pub(crate) fn idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS)
}

/// Statuses that mean "try again later".
pub(crate) fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Why an attempt failed, for the retry decision.
#[derive(Debug)]
pub(crate) enum Failure<'a> {
    /// No connection: the request never left.
    Connect,
    /// Sent (or maybe sent) and no usable answer.
    InFlight,
    /// An answer with this status and headers.
    Status(StatusCode, &'a reqwest::header::HeaderMap),
}

/// What the retry loop does after a failed attempt: the one decision it acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Give the failure to the caller.
    Stop,
    /// Send again after the wait the answer asked for (`Retry-After`).
    RetryAfter(Duration),
    /// Send again after the policy's next backoff.
    Backoff,
}

/// Whether `failure` of a request is retried under `policy`, and after which wait. A request
/// that may have reached Hero is retried only if it is safe to send twice (`resend_safe`: an
/// idempotent method, or a call the caller marked idempotent); an answer asking
/// for a longer wait than the policy accepts is given to the caller. `now` (the client's clock)
/// turns a `Retry-After` date into a wait.
pub(crate) fn decide(policy: &RetryPolicy, resend_safe: bool, failure: &Failure<'_>, now: DateTime<Utc>) -> Decision {
    match failure {
        Failure::Connect => Decision::Backoff,
        Failure::InFlight if resend_safe => Decision::Backoff,
        Failure::Status(status, headers) if resend_safe && retryable_status(*status) => {
            match crate::retry_after::retry_after(headers, now) {
                Some(wait) if wait > policy.max_retry_after() => Decision::Stop,
                Some(wait) => Decision::RetryAfter(wait),
                None => Decision::Backoff,
            }
        }
        _ => Decision::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    fn waiting(seconds: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static(seconds));
        headers
    }

    #[test]
    fn each_failure_gets_its_decision() {
        let policy = RetryPolicy::default();
        let none = HeaderMap::new();
        let cases = [
            (Method::POST, Failure::Connect, Decision::Backoff),
            (Method::POST, Failure::InFlight, Decision::Stop),
            (Method::GET, Failure::InFlight, Decision::Backoff),
            (Method::GET, Failure::Status(StatusCode::SERVICE_UNAVAILABLE, &none), Decision::Backoff),
            (Method::GET, Failure::Status(StatusCode::TOO_MANY_REQUESTS, &waiting("2")), Decision::RetryAfter(Duration::from_secs(2))),
            (Method::GET, Failure::Status(StatusCode::TOO_MANY_REQUESTS, &waiting("86400")), Decision::Stop),
            (Method::GET, Failure::Status(StatusCode::BAD_REQUEST, &none), Decision::Stop),
            // A date is read against the client's clock, not the machine's.
            (
                Method::GET,
                Failure::Status(StatusCode::TOO_MANY_REQUESTS, &waiting("Wed, 21 Oct 2026 07:28:30 GMT")),
                Decision::RetryAfter(Duration::from_secs(30)),
            ),
            (Method::POST, Failure::Status(StatusCode::SERVICE_UNAVAILABLE, &none), Decision::Stop),
        ];
        let now = "2026-10-21T07:28:00Z".parse().unwrap();
        for (method, failure, expected) in cases {
            assert_eq!(decide(&policy, idempotent(&method), &failure, now), expected, "{method} {failure:?}");
        }
        // A POST the caller marked idempotent is retried like a GET.
        assert_eq!(decide(&policy, true, &Failure::Status(StatusCode::SERVICE_UNAVAILABLE, &none), now), Decision::Backoff);
        assert_eq!(decide(&policy, true, &Failure::InFlight, now), Decision::Backoff);
    }
}
