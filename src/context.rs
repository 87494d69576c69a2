//! What every request of a client carries ([`RequestContext`]): the generated client holds it,
//! the hooks read it, the builder makes it. Its own module so that the generated code depends
//! on this core, never on the builder that depends on the generated code.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderValue;

/// Per-client request state the generated code carries and the hooks read (`src/hooks.rs`):
/// the two auth headers, already validated and encoded.
///
/// It is built by [`crate::ClientBuilder`] only. Its `Debug` output never shows the API key.
#[derive(Clone)]
pub struct RequestContext {
    /// The key, which a rotation may replace between two requests ([`crate::keys`]).
    pub(crate) api_key: std::sync::Arc<crate::keys::KeyCell>,
    pub(crate) practice_group_id: HeaderValue,
    pub(crate) retry: crate::RetryPolicy,
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) max_response_bytes: usize,
    /// What "now" is for this client's time-dependent decisions ([`crate::clock`]).
    pub(crate) clock: crate::clock::SharedClock,
    /// Headers every request adds ([`crate::options::RequestOptions::with_header`]).
    pub(crate) extra_headers: std::sync::Arc<reqwest::header::HeaderMap>,
    /// Operations safe to send twice ([`crate::options::RequestOptions::idempotent`]).
    pub(crate) idempotent: std::sync::Arc<[&'static str]>,
    /// The user's layers, run around each attempt.
    pub(crate) middleware: crate::options::Middlewares,
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("api_key", &"[redacted]")
            .field("practice_group_id", &self.practice_group_id)
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("clock", &self.clock)
            .field("extra_headers", &self.extra_headers.keys().collect::<Vec<_>>())
            .field("idempotent", &self.idempotent)
            // A middleware's own `Debug` may hold a token: only how many there are.
            .field("middleware", &self.middleware.len())
            .finish()
    }
}
