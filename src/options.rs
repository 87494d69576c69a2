//! Shaping one call: [`RequestOptions`] (a timeout, a retry policy, extra headers, and an
//! explicit opt-in to retry a POST that is safe to send twice), and [`Middleware`], your own
//! layer around every request.
//!
//! `client.with_options(&options)` is a copy of the client for the calls that need them, as
//! openai-python's `with_options`: it shares the connection pool and costs a few `Arc` clones,
//! and works for every call, generated (`get_appointment()…send()`) and hand-written
//! (`booking()`, `messages()`…) alike.
//!
//! ```
//! # fn demo(client: hero_health::Client) -> Result<(), hero_health::options::OptionsError> {
//! use std::time::Duration;
//! use hero_health::options::RequestOptions;
//!
//! let urgent = client.with_options(
//!     &RequestOptions::new().with_timeout(Duration::from_secs(5)).with_header("x-correlation-id", "job-42")?,
//! );
//! # let _ = urgent; Ok(()) }
//! ```
//!
//! **Why a trait over the crate's hooks, not tower or reqwest-middleware.** The generated client
//! sends through a `reqwest::Client` and progenitor's hooks; a `reqwest-middleware` client
//! cannot be given to it, and a tower stack would sit below the hooks, where the API key is
//! already in the headers. [`Middleware`] runs inside the hooks for every attempt, sees what
//! matters to telemetry (method, path template, operation, status) and may add headers, but is
//! never shown the request's headers, so it cannot read the key.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Headers a call may not set: the client's auth headers, and those the HTTP client owns (the
/// host a request goes to, how its body is framed, the connection).
const RESERVED: [&str; 11] = [
    "x-api-key",
    "x-practice-group-id",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// An option could not be taken. Never shows a header's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// The header is one the client sets itself: an auth header (use a client built with the
    /// other key or practice group: `PracticeDirectory`, `for_practice_group`), or the host or
    /// framing of the request.
    #[error(
        "the {0} header is the client's own and cannot be set per call (for another key or practice group, use a client built for it: PracticeDirectory, for_practice_group)"
    )]
    ReservedHeader(String),
    /// The header's name or value cannot be sent. Neither is repeated: a mixed-up argument
    /// could be a secret.
    #[error("a header cannot be sent: {problem}")]
    #[non_exhaustive]
    InvalidHeader {
        /// What is wrong.
        problem: &'static str,
    },
    /// No operation has that operationId.
    #[error("no operation has the operationId {given:?}{}; name it as errors and spans do", .suggestion.map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    #[non_exhaustive]
    UnknownOperation {
        /// The name given.
        given: String,
        /// The operationId it most likely means.
        suggestion: Option<&'static str>,
    },
}

/// Options for the calls of one client copy ([`Client::with_options`](crate::Client::with_options)).
/// Each unset option keeps the client's.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<crate::RetryPolicy>,
    pub(crate) headers: HeaderMap,
    pub(crate) idempotent: Vec<&'static str>,
}

impl RequestOptions {
    /// No option set.
    pub fn new() -> Self {
        RequestOptions::default()
    }

    /// Each attempt times out after `timeout` (instead of the client's).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries as `policy` says (instead of the client's).
    pub fn with_retry_policy(mut self, policy: crate::RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Adds a header to every request (a trace header, a proxy's token). A later value for
    /// the same name replaces the earlier. Marked sensitive: it never shows in `Debug`.
    ///
    /// # Errors
    ///
    /// [`OptionsError::ReservedHeader`] for `x-api-key` and `x-practice-group-id`;
    /// [`OptionsError::InvalidHeader`] for a name or value HTTP cannot carry.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self, OptionsError> {
        let (name, value) = header(name, value)?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Treats `operation` (an operationId, `registerPatientPds`) as safe to send twice, so a
    /// POST of it is retried like a GET (on a timeout, a dropped connection, 408, 429, 5xx).
    /// Only for an operation Hero makes idempotent, such as `registerPatientPds`, which answers
    /// the existing patient when sent again: a retried `sendMessage` or `createAppointment` may
    /// act twice, and the crate's own `messages().send` and `booking()` never opt in. Other
    /// operations of the copy keep the table.
    ///
    /// # Errors
    ///
    /// [`OptionsError::UnknownOperation`] for a name that is not an operationId (with the one
    /// it likely means: `register_patient_pds` → `registerPatientPds`).
    pub fn idempotent(mut self, operation: &str) -> Result<Self, OptionsError> {
        let id = crate::operations::exact_operation(operation)
            .map_err(|suggestion| OptionsError::UnknownOperation { given: operation.to_owned(), suggestion })?;
        self.idempotent.push(id);
        Ok(self)
    }
}

/// A header a call may add: not an auth header, and sendable.
pub(crate) fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), OptionsError> {
    let header_name =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| OptionsError::InvalidHeader { problem: "not a valid header name" })?;
    if RESERVED.contains(&header_name.as_str()) {
        return Err(OptionsError::ReservedHeader(header_name.as_str().to_owned()));
    }
    let mut header_value = HeaderValue::from_str(value)
        .map_err(|_| OptionsError::InvalidHeader { problem: "its value has characters a header cannot carry" })?;
    header_value.set_sensitive(true);
    Ok((header_name, header_value))
}

/// What a [`Middleware`] is told about a call: never its headers, body or concrete URL.
#[derive(Debug, Clone, Copy)]
pub struct CallInfo<'a> {
    /// The HTTP method.
    pub method: &'a reqwest::Method,
    /// The path template (`/v1/appointments/{id}`), never the concrete path.
    pub url_template: &'a str,
    /// The operationId (`getAppointment`).
    pub operation: &'a str,
    /// Which attempt this is: 1 for the first send.
    pub attempt: u32,
}

/// Headers a [`Middleware`] adds to a request. It can add and replace, never read: the
/// request's own headers (the API key among them) are not shown.
#[derive(Debug, Default)]
pub struct AddedHeaders {
    pub(crate) headers: HeaderMap,
    pub(crate) refused: Vec<OptionsError>,
}

impl AddedHeaders {
    /// Adds `name: value` to this request. An auth header or an unsendable one is not added
    /// (and is logged at `warn`, by name).
    pub fn insert(&mut self, name: &str, value: &str) {
        match header(name, value) {
            Ok((name, value)) => {
                self.headers.insert(name, value);
            }
            Err(error) => self.refused.push(error),
        }
    }
}

/// Your layer around every request of a client: add headers before each attempt, see each
/// attempt's outcome. Both methods default to doing nothing. Called inside the client's retry
/// loop: once per attempt.
pub trait Middleware: Send + Sync + fmt::Debug {
    /// Before an attempt is sent: add headers (a `traceparent`, a corporate proxy's token).
    fn on_request(&self, call: &CallInfo<'_>, headers: &mut AddedHeaders) {
        let _ = (call, headers);
    }

    /// After an attempt: its status, or `None` when no answer came (a timeout, a dropped
    /// connection), and how long it took.
    fn on_response(&self, call: &CallInfo<'_>, status: Option<reqwest::StatusCode>, elapsed: Duration) {
        let _ = (call, status, elapsed);
    }
}

/// A shared middleware is a middleware (keep an `Arc` to read what it gathered).
impl<M: Middleware + ?Sized> Middleware for Arc<M> {
    fn on_request(&self, call: &CallInfo<'_>, headers: &mut AddedHeaders) {
        (**self).on_request(call, headers);
    }

    fn on_response(&self, call: &CallInfo<'_>, status: Option<reqwest::StatusCode>, elapsed: Duration) {
        (**self).on_response(call, status, elapsed);
    }
}

/// The middleware of a client, in the order they were added.
pub(crate) type Middlewares = Arc<[Arc<dyn Middleware>]>;
