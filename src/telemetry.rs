//! Metrics of every call through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`): install any recorder (Prometheus, OpenTelemetry, StatsD…) and they reach it.
//! Labels follow OpenTelemetry's HTTP client semantic conventions where they exist;
//! no label holds a body, key, concrete URL or id.
//!
//! | Metric | Kind | Labels |
//! |---|---|---|
//! | [`REQUEST_DURATION`] (`hero_health.call.duration`, seconds, a whole call with its retries) | histogram | `hero.operation`, `http.request.method`, `url.template`, `status_class` |
//! | [`REQUESTS`] (`hero_health.requests`) | counter | `hero.operation`, `http.request.method`, `status_class` |
//! | [`RETRIES`] (`hero_health.request.retries`) | counter | `hero.operation`, `http.request.method` |
//!
//! `status_class` is `2xx`, `3xx`, `4xx` or `5xx` for an answer, and `error` when none came.

use std::time::Duration;

/// Histogram of a call's duration in seconds, retries included. Not OpenTelemetry's
/// `http.client.request.duration`, which is one attempt's: other instrumentation may record
/// that name.
pub const REQUEST_DURATION: &str = "hero_health.call.duration";
/// Counter of calls, by operation and status class.
pub const REQUESTS: &str = "hero_health.requests";
/// Counter of attempts sent again (retries, and the one resend after a rotated key's 401).
pub const RETRIES: &str = "hero_health.request.retries";

/// `2xx`…`5xx` for an answer, `error` when none came.
fn status_class(result: &reqwest::Result<reqwest::Response>) -> &'static str {
    match result.as_ref().map(|response| response.status().as_u16() / 100) {
        Ok(2) => "2xx",
        Ok(3) => "3xx",
        Ok(4) => "4xx",
        Ok(5) => "5xx",
        Ok(_) => "other",
        Err(_) => "error",
    }
}

/// Records one call.
pub(crate) fn record_call(
    operation: &'static str,
    template: &'static str,
    method: &reqwest::Method,
    result: &reqwest::Result<reqwest::Response>,
    elapsed: Duration,
) {
    let class = status_class(result);
    let method = method.as_str().to_owned();
    metrics::histogram!(REQUEST_DURATION, "hero.operation" => operation, "http.request.method" => method.clone(), "url.template" => template, "status_class" => class)
        .record(elapsed.as_secs_f64());
    metrics::counter!(REQUESTS, "hero.operation" => operation, "http.request.method" => method, "status_class" => class).increment(1);
}

/// Records one attempt sent again.
pub(crate) fn record_retry(operation: &'static str, method: &reqwest::Method) {
    metrics::counter!(RETRIES, "hero.operation" => operation, "http.request.method" => method.as_str().to_owned()).increment(1);
}
