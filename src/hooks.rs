//! The request hooks of the generated client.
//!
//! - `pre`: every request gets the two auth headers from the client's [`RequestContext`], so
//!   [`Client::for_practice_group`] copies can share one connection pool while acting for
//!   different practice groups.
//! - `exec`: retries ([`crate::RetryPolicy`]), one `tracing` span per call, and the operation id
//!   handed on to [`crate::Error`].

use std::time::Instant;

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::HeaderName;
use tracing::Instrument as _;

use crate::Client;
use crate::answer::{self, Read, Refusal};
use crate::context::RequestContext;
use crate::error::REQUEST_ID_HEADER;
use crate::operations::operation;
use crate::options::{AddedHeaders, CallInfo};
use crate::retry::{Decision, Failure, decide};

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const X_PRACTICE_GROUP_ID: HeaderName = HeaderName::from_static("x-practice-group-id");
/// progenitor 0.15 adds `api-version: <info.version>` to every request. Hero documents no such
/// header, and the version is that of our reconstructed document, so it is not sent.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// Whether `path` is `template` (`/v1/webhooks/{id}`) below the base URL's path, with each
/// parameter filled by one non-empty segment other than `.` and `..`.
fn path_fits(template: &str, base_path: &str, path: &str) -> bool {
    let Some(rest) = path.strip_prefix(base_path.trim_end_matches('/')) else { return false };
    let (expected, actual) = (template.split('/'), rest.split('/'));
    expected.clone().count() == actual.clone().count()
        && expected.zip(actual).all(|(want, got)| if want.starts_with('{') { !matches!(got, "" | "." | "..") } else { want == got })
}

impl ClientHooks<RequestContext> for Client {
    async fn pre<E>(&self, request: &mut reqwest::Request, info: &OperationInfo) -> Result<(), Error<E>> {
        let (operation_id, template) = operation(info.operation_id);
        // URL parsing has already resolved `.`/`..` path parameters (even percent-encoded), so
        // a changed path shows as a path that no longer fits the operation's template.
        let base = reqwest::Url::parse(self.baseurl()).map(|url| url.path().to_owned()).unwrap_or_default();
        if template != "?" && !path_fits(template, &base, request.url().path()) {
            return Err(Error::InvalidRequest(format!(
                "a path parameter of {operation_id} is empty, `.` or `..`, which would send the request to another path; pass the resource's id"
            )));
        }
        let context = self.inner();
        let headers = request.headers_mut();
        headers.remove(API_VERSION);
        // The key itself is set per attempt (`send_with_retries`): a rotation between two
        // attempts must not send the retired key again.
        headers.insert(X_PRACTICE_GROUP_ID, context.practice_group_id.clone());
        // The call's own headers (`RequestOptions::with_header`), never an auth header.
        for (name, value) in context.extra_headers.iter() {
            headers.insert(name.clone(), value.clone());
        }
        if let Some(timeout) = context.request_timeout {
            *request.timeout_mut() = Some(timeout);
        }
        Ok(())
    }

    async fn exec(&self, request: reqwest::Request, info: &OperationInfo) -> reqwest::Result<reqwest::Response> {
        let (operation_id, path) = operation(info.operation_id);
        let method = request.method().clone();
        // OpenTelemetry's HTTP client semantic conventions (`http.request.method`, `url.template`,
        // `server.address`, `http.response.status_code`, `error.type`,
        // `http.request.resend_count`; `otel.name` and `otel.kind` for tracing-opentelemetry),
        // beside the crate's own names. The host is the server's; the path is the template,
        // never the concrete one (it can hold a patient id).
        let url = request.url();
        let span = tracing::info_span!(
            "hero_health.request",
            operation = operation_id,
            method = %method,
            path,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            key_resent = tracing::field::Empty,
            otel.name = %format_args!("{method} {path}"),
            otel.kind = "client",
            http.request.method = %method,
            url.template = path,
            server.address = url.host_str().unwrap_or_default(),
            server.port = url.port_or_known_default(),
            hero.operation = operation_id,
            http.response.status_code = tracing::field::Empty,
            http.request.resend_count = tracing::field::Empty,
            "error.type" = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self.send_with_retries(request, started, (operation_id, path)).instrument(span.clone()).await;
        #[cfg(feature = "metrics")]
        crate::telemetry::record_call(operation_id, path, &method, &result, started.elapsed());
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        // The answer goes on as Hero sent it: errors name their operation from the generated
        // method (`Error::in_operation`), never from a header added here.
        match &result {
            Ok(response) => {
                let status = response.status();
                span.record("status", status.as_u16());
                span.record("http.response.status_code", status.as_u16());
                if status.is_client_error() || status.is_server_error() {
                    // The convention: the status code, as text, for an HTTP error.
                    span.record("error.type", status.as_str());
                }
                if let Some(id) = response.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()) {
                    span.record("request_id", id);
                }
            }
            Err(error) => {
                span.record("error.type", error_type(error));
            }
        }
        result
    }
}

impl Client {
    async fn send_with_retries(
        &self,
        request: reqwest::Request,
        started: Instant,
        (operation_id, template): (&'static str, &'static str),
    ) -> reqwest::Result<reqwest::Response> {
        let context = self.inner();
        let policy = &context.retry;
        let method = request.method().clone();
        // A POST is sent twice only when the caller named its operation safe to (`idempotent`).
        let resend_safe = crate::retry::idempotent(&method) || context.idempotent.contains(&operation_id);
        // Sends so far, the one resend after a 401 included: what a middleware is told.
        let mut sends: u32 = 0;
        let mut backoffs = policy.backoffs();
        let mut request = request;
        let mut attempt: u32 = 0;
        // A 401 is never retried, but a request refused for a key that has since been replaced
        // is sent once more with the new key: Hero checks the key before doing anything, so
        // the refused request had no effect (see `KeyCell::after_unauthorized`).
        let mut resent_for_key = false;
        loop {
            attempt += 1;
            let sent_key = context.api_key.current();
            request.headers_mut().insert(X_API_KEY, sent_key.clone());
            // A copy to send again: for a retry, or for the one resend after a 401. A body that
            // cannot be cloned (a stream) is sent once. Taken before the middleware's headers,
            // which each attempt asks for anew.
            let spare = if attempt <= policy.max_retries() || !resent_for_key { request.try_clone() } else { None };
            sends += 1;
            let call = CallInfo { method: &method, url_template: template, operation: operation_id, attempt: sends };
            add_middleware_headers(&context.middleware, &call, &mut request);
            let attempt_started = Instant::now();
            let outcome = self.attempt(request, context.max_response_bytes).await;
            let status = match &outcome {
                Read::Complete(response) => Some(response.status()),
                _ => None,
            };
            for layer in context.middleware.iter() {
                // A panicking layer must not lose an answer (a message Hero took).
                let told =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| layer.on_response(&call, status, attempt_started.elapsed())));
                if told.is_err() {
                    tracing::warn!("a middleware panicked in on_response; the call goes on");
                }
            }
            if !resent_for_key
                && policy.fits(started, std::time::Duration::ZERO)
                && let Read::Complete(response) = &outcome
                && response.status() == reqwest::StatusCode::UNAUTHORIZED
                && let Some(spare) = spare.as_ref().and_then(reqwest::Request::try_clone)
                && context.api_key.after_unauthorized(&sent_key).await.is_some()
            {
                resent_for_key = true;
                attempt -= 1;
                #[cfg(feature = "metrics")]
                crate::telemetry::record_retry(operation_id, &method);
                tracing::Span::current().record("key_resent", true);
                tracing::info!("Hero refused the practice's previous key; sending once more with its current key");
                request = spare;
                continue;
            }
            let now = context.clock.now();
            let decision = match &outcome {
                Read::Complete(response) if response.status().is_success() => Decision::Stop,
                Read::Complete(response) => decide(policy, resend_safe, &Failure::Status(response.status(), response.headers()), now),
                Read::Failed(error) if error.is_connect() => decide(policy, resend_safe, &Failure::Connect, now),
                Read::Failed(_) => decide(policy, resend_safe, &Failure::InFlight, now),
                Read::Refused(_) => Decision::Stop,
            };
            let wait = match decision {
                Decision::Stop => None,
                Decision::RetryAfter(wait) => Some(wait),
                Decision::Backoff => backoffs.next(),
            };
            match (wait, spare) {
                (Some(wait), Some(spare)) if attempt <= policy.max_retries() && policy.fits(started, wait) => {
                    tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, reason = %reason(&outcome), "retrying");
                    #[cfg(feature = "metrics")]
                    crate::telemetry::record_retry(operation_id, &method);
                    tokio::time::sleep(wait).await;
                    request = spare;
                }
                _ => {
                    let span = tracing::Span::current();
                    span.record("attempts", attempt);
                    let resends = attempt - 1 + u32::from(resent_for_key);
                    if resends > 0 {
                        span.record("http.request.resend_count", resends);
                    }
                    return match outcome {
                        Read::Complete(response) => Ok(response),
                        Read::Failed(error) => Err(error),
                        Read::Refused(refusal) => Err(answer::into_error(refusal).await),
                    };
                }
            }
        }
    }

    /// Sends once and reads the whole answer within `limit` bytes.
    async fn attempt(&self, request: reqwest::Request, limit: usize) -> Read {
        let sent_to = request.url().clone();
        match self.client().execute(request).await {
            Err(error) => Read::Failed(error),
            // Our own client follows no redirect; a custom one that did has already sent the
            // headers on, but its answer is not taken as Hero's.
            Ok(response) if *response.url() != sent_to => {
                tracing::warn!("the HTTP client followed a redirect; the answer is refused (build it with redirect::Policy::none())");
                Read::Refused(Refusal::Redirected)
            }
            Ok(response) => answer::read(response, limit).await,
        }
    }
}

/// Asks each middleware for its headers for this attempt and adds them; one it may not add
/// (an auth header) is dropped and named in a warning.
fn add_middleware_headers(middleware: &crate::options::Middlewares, call: &CallInfo<'_>, request: &mut reqwest::Request) {
    if middleware.is_empty() {
        return;
    }
    let mut added = AddedHeaders::default();
    for layer in middleware.iter() {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| layer.on_request(call, &mut added))).is_err() {
            tracing::warn!("a middleware panicked in on_request; the request goes without what it would have added");
        }
    }
    for refused in &added.refused {
        tracing::warn!(reason = %refused, "a middleware's header was not added");
    }
    for (name, value) in added.headers {
        if let Some(name) = name {
            request.headers_mut().insert(name, value);
        }
    }
}

/// `error.type` for a call with no answer: a low-cardinality kind, never a message or URL.
fn error_type(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if answer::refusal(error).is_some() {
        "refused_answer"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else {
        "_OTHER"
    }
}

/// What failed, for the retry log line: a status or an error kind, never a body or URL.
fn reason(outcome: &Read) -> String {
    match outcome {
        Read::Complete(response) => format!("HTTP {}", response.status().as_u16()),
        Read::Failed(e) if e.is_timeout() => "timeout".into(),
        Read::Failed(e) if e.is_connect() => "connect".into(),
        Read::Failed(e) if e.is_body() || e.is_decode() => "answer cut off".into(),
        Read::Failed(_) => "connection".into(),
        Read::Refused(refusal) => refusal.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::path_fits;

    #[test]
    fn a_path_fits_its_template_only_with_every_parameter_filled() {
        assert!(path_fits("/v1/webhooks/{id}", "/", "/v1/webhooks/12"));
        assert!(path_fits("/v1/webhooks/{id}", "/prefix/", "/prefix/v1/webhooks/12"));
        assert!(path_fits("/v1/appointments/{id}/book", "", "/v1/appointments/7/book"));
        // What URL parsing makes of `.`, `..` and "" as the parameter.
        assert!(!path_fits("/v1/webhooks/{id}", "/", "/v1/webhooks/"));
        assert!(!path_fits("/v1/webhooks/{id}", "/", "/v1/"));
        assert!(!path_fits("/v1/appointments/{id}/book", "/", "/v1/appointments/book"));
        assert!(!path_fits("/v1/appointments/{id}/book", "/", "/v1/book"));
        assert!(!path_fits("/v1/webhooks/{id}", "/prefix", "/v1/webhooks/12"));
    }
}
