//! One error type for every call: [`Error`], classified by what to do about it.
//!
//! Every generated request builder's `send()` returns it:
//!
//! ```no_run
//! # async fn demo(client: hero_health::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let appointment = client.get_appointment().id("4567").send().await?;
//! # Ok(()) }
//! ```
//!
//! `Display` never shows a body (bodies carry patient data) and never the API key; a decoding
//! failure names the place (line, column, a missing field) without echoing values.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::answer::Refusal;
use crate::types::ValidationError;

/// The header a request id is read from (Hero does not document one; this is the common name).
pub(crate) const REQUEST_ID_HEADER: reqwest::header::HeaderName = reqwest::header::HeaderName::from_static("x-request-id");

/// Headers whose values are shown by `Debug`; every other value prints as `Sensitive` (a
/// gateway may echo `x-api-key`, a `Location` or cookie may carry identifiers).
const SHOWN_HEADERS: &[&str] = &["content-type", "content-length", "date", "retry-after", "x-request-id", "server"];

/// What is known about the failed call, whatever the error. Its `Debug` output hides the
/// values of all but a few harmless headers.
#[derive(Debug, Clone, Default)]
pub struct ErrorContext {
    status: Option<StatusCode>,
    operation: Option<String>,
    request_id: Option<String>,
    headers: HeaderMap,
}

impl ErrorContext {
    fn from_response(status: StatusCode, headers: &HeaderMap) -> Self {
        let mut headers = headers.clone();
        let request_id = headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        // Marked sensitive, the values still reach `headers()` but never a `Debug` print.
        for (name, value) in headers.iter_mut() {
            if !SHOWN_HEADERS.contains(&name.as_str()) {
                value.set_sensitive(true);
            }
        }
        ErrorContext { status: Some(status), operation: None, request_id, headers }
    }
}

impl fmt::Display for ErrorContext {
    /// ` (HTTP 404, getAppointment, request id abc)`, with only what is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(status) = self.status {
            parts.push(format!("HTTP {}", status.as_u16()));
        }
        if let Some(op) = &self.operation {
            parts.push(op.clone());
        }
        if let Some(id) = &self.request_id {
            parts.push(format!("request id {id}"));
        }
        if parts.is_empty() { Ok(()) } else { write!(f, " ({})", parts.join(", ")) }
    }
}

/// A failed call to the Hero API.
///
/// `#[non_exhaustive]`, as is each variant with named fields: a `match` needs a `_` arm and a
/// field pattern ends with `..` (`RateLimited { retry_after, .. }`), so a new variant or field is
/// not a breaking change (README, "Matching errors").
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 400: Hero found the request invalid; its validation issues are in [`Error::validation`].
    #[error("Hero rejected the request as invalid{context}{}; fix the request before sending it again", issues(.validation))]
    #[non_exhaustive]
    BadRequest {
        /// Status, operation, request id, headers.
        context: ErrorContext,
        /// Hero's validation body, when it sent one.
        validation: Option<ValidationError>,
    },
    /// 401: the API key is missing, wrong, revoked or rotated. Never retried; a client of a
    /// [`PracticeDirectory`](crate::practices::PracticeDirectory) has already asked its key
    /// source once for a newer key (unless that is turned off).
    #[error("{}", unauthorized(.practice_group_id, .context))]
    #[non_exhaustive]
    Unauthorized {
        /// Status, operation, request id, headers.
        context: ErrorContext,
        /// The practice group whose key was refused (never the key), when the error came from a
        /// client's call.
        practice_group_id: Option<String>,
    },
    /// 403: the key lacks the scope, or the practice group is outside the key's network.
    #[error("Hero refused access{context}; the key may lack this scope, or the practice group is not in your network")]
    #[non_exhaustive]
    Forbidden {
        /// Status, operation, request id, headers.
        context: ErrorContext,
    },
    /// 404: no such resource (or it was released, like a lapsed reservation).
    #[error("not found{context}; check the id")]
    #[non_exhaustive]
    NotFound {
        /// Status, operation, request id, headers.
        context: ErrorContext,
    },
    /// 409: the resource changed meanwhile.
    #[error("conflict{context}; read the resource again and retry with its current state")]
    #[non_exhaustive]
    Conflict {
        /// Status, operation, request id, headers.
        context: ErrorContext,
    },
    /// 429: over the agreed rate limit.
    #[error("rate limited{context}; wait {} and retry", .retry_after.map(|d| format!("{} s", d.as_secs())).unwrap_or_else(|| "a moment".into()))]
    #[non_exhaustive]
    RateLimited {
        /// Status, operation, request id, headers.
        context: ErrorContext,
        /// How long Hero asked to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// 5xx: a problem on Hero's side (already retried for idempotent calls).
    #[error("Hero had a server error{context}; try again later")]
    #[non_exhaustive]
    Server {
        /// Status, operation, request id, headers.
        context: ErrorContext,
    },
    /// No answer within the timeout.
    #[error("Hero did not answer in time{context}; a request that changes state may still have taken effect: check before re-sending it")]
    #[non_exhaustive]
    Timeout {
        /// Operation, when known.
        context: ErrorContext,
        /// The HTTP client's error, without the URL (none for a 408 answer).
        #[source]
        source: Option<TransportError>,
    },
    /// No connection, or it broke.
    #[error("could not talk to Hero{context}: {reason}")]
    #[non_exhaustive]
    Transport {
        /// Operation, when known.
        context: ErrorContext,
        /// What failed (no URL, no body).
        reason: String,
        /// The HTTP client's error, without the URL: `source()` walks down to the io error.
        #[source]
        source: Option<TransportError>,
    },
    /// Hero answered with a redirect (3xx), or a custom HTTP client followed one. hero-health
    /// follows no redirect: the auth headers would go to wherever it points.
    #[error(
        "the request was redirected{context}, and hero-health follows no redirect (it would carry the API key to another location); check the base URL (https, no extra path), or build a custom HTTP client with redirect::Policy::none()"
    )]
    #[non_exhaustive]
    Redirected {
        /// Status (when Hero answered the 3xx), operation, request id, headers.
        context: ErrorContext,
    },
    /// The answer's body was larger than the client accepts.
    #[error(
        "the answer was larger than the {limit}-byte limit{context} and was not read; raise it with with_max_response_bytes if the answer is legitimately this large"
    )]
    #[non_exhaustive]
    ResponseTooLarge {
        /// Operation, when known.
        context: ErrorContext,
        /// The limit in bytes ([`crate::ClientBuilder::with_max_response_bytes`]).
        limit: usize,
    },
    /// The answer could not be decoded into the expected type.
    #[error(
        "Hero's answer could not be decoded{context}: {reason}; the API may have changed: update hero-health (a newer release may know the change), or report it with the request id"
    )]
    #[non_exhaustive]
    Decode {
        /// Status, operation, request id, headers when known.
        context: ErrorContext,
        /// Where decoding failed (line, column, missing field), never the values.
        reason: String,
    },
    /// A status the document does not describe.
    #[error("Hero answered an undocumented status{context}")]
    #[non_exhaustive]
    UnexpectedStatus {
        /// Status, operation, request id, headers.
        context: ErrorContext,
    },
    /// A value was refused before sending (client-side validation).
    #[error("the request was not sent: {reason}")]
    #[non_exhaustive]
    InvalidRequest {
        /// Which field and why (never the value).
        reason: String,
    },
}

fn unauthorized(practice_group_id: &Option<String>, context: &ErrorContext) -> String {
    match practice_group_id {
        Some(group) => format!(
            "Hero refused the API key of practice group {group}{context}; the practice may have rotated its key (the old one stops working at once): \
             put its new key where your key source reads it (PracticeDirectory::set_key, or a client built with it); keys come from the practice or Hero support"
        ),
        None => format!("Hero refused the API key{context}; check HERO_API_KEY (keys come from the practice or Hero support)"),
    }
}

fn issues(validation: &Option<ValidationError>) -> String {
    match validation {
        Some(body) if !body.message.is_empty() => format!(": {}", describe_issues(body).join("; ")),
        _ => String::new(),
    }
}

/// The context of every variant that has one, by reference or by mutable reference (match
/// ergonomics give `context` the reference kind of `$error`).
macro_rules! context_of {
    ($error:expr) => {
        match $error {
            Error::BadRequest { context, .. }
            | Error::Unauthorized { context, .. }
            | Error::Forbidden { context }
            | Error::NotFound { context }
            | Error::Conflict { context }
            | Error::RateLimited { context, .. }
            | Error::Server { context }
            | Error::Timeout { context, .. }
            | Error::Transport { context, .. }
            | Error::Redirected { context }
            | Error::ResponseTooLarge { context, .. }
            | Error::Decode { context, .. }
            | Error::UnexpectedStatus { context } => Some(context),
            Error::InvalidRequest { .. } => None,
        }
    };
}

impl Error {
    fn context(&self) -> Option<&ErrorContext> {
        context_of!(self)
    }

    fn context_mut(&mut self) -> Option<&mut ErrorContext> {
        context_of!(self)
    }

    /// The HTTP status, if there was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        self.context().and_then(|c| c.status)
    }

    /// The `operationId` of the call, when known (always when Hero answered).
    pub fn operation_id(&self) -> Option<&str> {
        self.context().and_then(|c| c.operation.as_deref())
    }

    /// The answer's request id (`x-request-id`), for Hero support.
    pub fn request_id(&self) -> Option<&str> {
        self.context().and_then(|c| c.request_id.as_deref())
    }

    /// The answer's headers (empty when there was no answer).
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.context().map(|c| &c.headers)
    }

    /// Names the operation where the error itself could not (a decoding failure, a connection
    /// that broke before any answer): `method` is the generated method's name. A `Retry-After`
    /// date becomes a wait by the calling client's clock (`Error::from` alone reads the system
    /// clock).
    pub(crate) fn in_operation(mut self, method: &str, client: &crate::context::RequestContext) -> Self {
        if let Some(context) = self.context_mut()
            && context.operation.is_none()
        {
            let (operation_id, _) = crate::operations::operation(method);
            context.operation = Some(operation_id.to_owned());
        }
        if let Error::Unauthorized { practice_group_id, .. } = &mut self {
            // The key's practice (a network member's request carries its key holder's key).
            *practice_group_id =
                client.api_key.owner().map(str::to_owned).or_else(|| client.practice_group_id.to_str().ok().map(str::to_owned));
        }
        if let Error::RateLimited { retry_after, context } = &mut self {
            *retry_after = crate::retry_after::retry_after(&context.headers, client.clock.now());
        }
        self
    }

    /// For a 401: the practice group whose key Hero refused (never the key itself).
    pub fn unauthorized_practice_group(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { practice_group_id, .. } => practice_group_id.as_deref(),
            _ => None,
        }
    }

    /// Hero's validation issues, for a 400 that carried them.
    pub fn validation(&self) -> Option<&ValidationError> {
        match self {
            Error::BadRequest { validation, .. } => validation.as_ref(),
            _ => None,
        }
    }

    /// Whether the request may have taken effect at Hero although the call failed: it was sent
    /// and no usable answer came back (a timeout, a broken connection, a 5xx, an undocumented
    /// 2xx or 3xx, a redirect, an answer that could not be read). Check before sending a request
    /// that changes state again. A request that never connected, or that Hero refused with a
    /// 4xx, did not.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            // Refused before acting: a 4xx Hero documents, a request never sent, no connection.
            Error::InvalidRequest { .. }
            | Error::BadRequest { .. }
            | Error::Unauthorized { .. }
            | Error::Forbidden { .. }
            | Error::NotFound { .. }
            | Error::Conflict { .. }
            | Error::RateLimited { .. } => false,
            Error::Transport { source: Some(source), .. } if source.is_connect() => false,
            // Another 4xx refused it too; a 2xx or 3xx the document does not list may be a
            // success (a 201 for a POST).
            Error::UnexpectedStatus { .. } => !self.status().is_some_and(|status| status.is_client_error()),
            // Sent, and no usable answer: a timeout, a broken connection, a 5xx, an answer too
            // large or unreadable, a redirect (a client that followed one re-sent the request).
            _ => true,
        }
    }

    /// Whether sending the same request later may succeed: rate limits, server errors,
    /// timeouts and connection failures. (For requests that change state, check first whether
    /// the first attempt took effect.)
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::RateLimited { .. } | Error::Server { .. } | Error::Timeout { .. } | Error::Transport { .. })
    }
}

/// Error bodies an operation can document: Hero's validation body, or none.
pub(crate) trait ErrorBody {
    fn validation(&self) -> Option<&ValidationError>;
}

impl ErrorBody for ValidationError {
    fn validation(&self) -> Option<&ValidationError> {
        Some(self)
    }
}

impl ErrorBody for () {
    fn validation(&self) -> Option<&ValidationError> {
        None
    }
}

fn by_status(status: StatusCode, headers: &HeaderMap, validation: Option<ValidationError>) -> Error {
    let context = ErrorContext::from_response(status, headers);
    match status.as_u16() {
        400 => Error::BadRequest { context, validation },
        401 => Error::Unauthorized { context, practice_group_id: None },
        403 => Error::Forbidden { context },
        404 => Error::NotFound { context },
        409 => Error::Conflict { context },
        408 => Error::Timeout { context, source: None },
        // By the system clock here; a generated call's error is re-read by the client's clock
        // (`in_operation`).
        429 => Error::RateLimited { retry_after: crate::retry_after::retry_after(headers, chrono::Utc::now()), context },
        300..=399 => Error::Redirected { context },
        500..=599 => Error::Server { context },
        _ => Error::UnexpectedStatus { context },
    }
}

#[allow(private_bounds)]
impl<E: ErrorBody> From<progenitor_client::Error<E>> for Error {
    fn from(error: progenitor_client::Error<E>) -> Self {
        use progenitor_client::Error as G;
        match error {
            G::InvalidRequest(reason) | G::Custom(reason) => Error::InvalidRequest { reason },
            G::ErrorResponse(answer) => {
                let (status, headers) = (answer.status(), answer.headers().clone());
                by_status(status, &headers, answer.validation().cloned())
            }
            G::UnexpectedResponse(response) => by_status(response.status(), response.headers(), None),
            G::CommunicationError(e) | G::InvalidUpgrade(e) | G::ResponseBodyError(e) => transport(e),
            G::InvalidResponsePayload(body, e) => {
                // A missing field is reported at the end of its object: name the object instead.
                let missing = e.to_string().starts_with("missing field");
                let reason = match field_at(&body, e.line(), e.column(), missing) {
                    Some(path) => format!("{} (in `{path}`)", decode_reason(&e)),
                    None => decode_reason(&e),
                };
                Error::Decode { context: ErrorContext::default(), reason }
            }
        }
    }
}

fn transport(error: reqwest::Error) -> Error {
    let context = ErrorContext { status: error.status(), ..ErrorContext::default() };
    match crate::answer::refusal(&error) {
        Some(Refusal::TooLarge { limit }) => return Error::ResponseTooLarge { context, limit: *limit },
        Some(Refusal::Redirected) => return Error::Redirected { context },
        None => {}
    }
    if error.is_timeout() {
        return Error::Timeout { context, source: Some(TransportError::new(error)) };
    }
    let reason = describe_transport(&error);
    Error::Transport { context, reason, source: Some(TransportError::new(error)) }
}

/// The HTTP client's error behind [`Error::Transport`] or [`Error::Timeout`], with the URL
/// taken out (reqwest's `without_url`): its `Display`, `Debug` and `source()` chain (hyper, io)
/// stay useful without carrying a path that can hold patient ids. (A connect error may name the
/// server's socket address.) A decoding error has no such
/// source: serde's message can quote the value it choked on.
#[derive(Debug)]
pub struct TransportError(reqwest::Error);

impl TransportError {
    fn new(error: reqwest::Error) -> Self {
        TransportError(error.without_url())
    }

    /// Whether the connection could not be made (nothing was sent).
    pub fn is_connect(&self) -> bool {
        self.0.is_connect()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

/// What failed on the wire, from the innermost cause (hyper/io), which names it; reqwest's own
/// message carries the URL, which can carry patient ids, so it is never used.
pub(crate) fn describe_transport(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".into();
    }
    let mut cause = std::error::Error::source(error);
    while let Some(next) = cause.and_then(std::error::Error::source) {
        cause = Some(next);
    }
    let kind = if error.is_connect() {
        "could not connect"
    } else if let Some(refusal) = crate::answer::refusal(error) {
        return refusal.to_string();
    } else if error.is_body() || error.is_decode() {
        "the answer was cut off"
    } else {
        "the connection failed"
    };
    cause.map_or_else(|| kind.to_owned(), |c| format!("{kind}: {c}"))
}

/// Where serde failed, without the value it choked on (serde's own message may quote it).
pub(crate) fn decode_reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let missing = text.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    match missing {
        Some(field) => format!("missing field `{field}` at line {}, column {}", error.line(), error.column()),
        None => format!("{:?} error at line {}, column {}", error.classify(), error.line(), error.column()),
    }
}

/// The JSON path (`data[3].status`) at `line`/`column` of `body`: which field failed to decode,
/// by name, without its value. A small scan of the text; `None` when it cannot tell.
fn field_at(body: &[u8], line: usize, column: usize, enclosing: bool) -> Option<String> {
    enum Frame {
        Object(Option<String>),
        Array(usize),
    }
    let text = std::str::from_utf8(body).ok()?;
    let offset = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum::<usize>() + column.saturating_sub(1);
    let bytes = text.as_bytes();
    let (mut stack, mut i, mut expecting_key) = (Vec::<Frame>::new(), 0, false);
    while i < bytes.len().min(offset) {
        match bytes[i] {
            b'{' => {
                stack.push(Frame::Object(None));
                expecting_key = true;
            }
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(_)) => expecting_key = true,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if expecting_key && let Some(Frame::Object(key)) = stack.last_mut() {
                    *key = text.get(start..i.min(bytes.len())).map(str::to_owned);
                    expecting_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if enclosing && let Some(Frame::Object(key)) = stack.last_mut() {
        *key = None;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object(Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&crate::operations::document_word_or_token(key));
            }
            Frame::Array(n) => path.push_str(&format!("[{n}]")),
            Frame::Object(None) => {}
        }
    }
    (!path.is_empty()).then_some(path)
}

/// `path: code (expected …)` for each validation issue. The path's keys are shown when they are
/// words of the document (a field name, an array index), any other key as a token; the code
/// when it is a word; Hero's `expected` text only when it reads as a rule, since it can quote
/// the value sent (the whole body is in [`Error::validation`]).
pub(crate) fn describe_issues(body: &ValidationError) -> Vec<String> {
    body.message
        .iter()
        .map(|issue| {
            let path = crate::redact::path_segments(&issue.path).join(".");
            let expected = crate::redact::prose(&issue.expected).map(|text| format!(" (expected {text})")).unwrap_or_default();
            format!("{}: {}{expected}", if path.is_empty() { "body" } else { &path }, crate::redact::word_or_token(&issue.code))
        })
        .collect()
}
