//! Receiving Hero's webhooks in an axum app (cargo feature `axum`): a middleware that verifies
//! the signature before anything is parsed, refuses with 400 or 401, and never handles one
//! delivery twice at once.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, http::StatusCode, middleware, routing::post};
//! use hero_health::webhooks::axum::{GuardedListener, VerifiedEvent, WebhookReceiver, receive};
//!
//! async fn on_event(VerifiedEvent(event): VerifiedEvent) -> StatusCode {
//!     // Verified: fetch `event.id` through the API for the details.
//!     println!("{} {}", event.event, event.object);
//!     StatusCode::NO_CONTENT // 2xx: handled. A 5xx makes Hero deliver it again.
//! }
//!
//! let receiver = WebhookReceiver::new(std::env::var("HERO_WEBHOOK_SIGNING_KEY")?)?;
//! let app: Router = Router::new()
//!     .route("/hero/webhooks", post(on_event))
//!     .route_layer(middleware::from_fn_with_state(receiver, receive));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! axum::serve(GuardedListener::new(listener), app).await?;
//! # Ok(()) }
//! ```
//!
//! A refused delivery never reaches the handler: 401 when the signature or its timestamp does
//! not check out (wrong key, altered body, replay outside the window), 400 when the request is
//! not a Hero delivery (headers missing or malformed, a payload that is not an event, a body
//! over the size limit), 408 when the body does not arrive within the read deadline.
//!
//! What is remembered, and when:
//! - While a delivery's handler runs, the identical delivery (same signature: same timestamp
//!   and body) is answered 503 with `Retry-After: 1`: it comes back later, and is never handled
//!   twice at once.
//! - Once the handler answered, nothing is kept. A handler that answered 5xx (or panicked)
//!   leaves nothing behind, so the sender's resend, identical or signed anew, reaches it again.
//! - Hero's payload carries no event id, and its timestamp unit is undocumented: two events
//!   about one object in one second can be byte-identical, and no format of the timestamp
//!   proves otherwise. So a later identical delivery is handed to the handler again rather than
//!   risk dropping a second event. Events are thin (the handler reads the object's current
//!   state), so handling one twice is harmless; make your handler idempotent.
//! - Each check takes constant time.
//!
//! Keep a public endpoint behind [`GuardedListener`] (or a proxy with the same limits): a
//! connection limit and a read timeout, which `axum::serve` on a bare `TcpListener` does not
//! have. The receiver's own read deadline ([`WebhookReceiver::with_read_deadline`]) bounds the
//! body.

mod listener;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use listener::{DEFAULT_MAX_CONNECTIONS, DEFAULT_READ_TIMEOUT, GuardedConnection, GuardedListener};

use super::memory::{Claim, Memory};
use super::{Verifier, WebhookError, WebhookEvent};

/// Hero's payloads are a few hundred bytes; anything much larger is not a delivery.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
/// How long the body may take to arrive, by default.
pub const DEFAULT_READ_DEADLINE: Duration = Duration::from_secs(10);

/// The receiver's settings and memory for its signing keys (one, or several during a rollover:
/// [`WebhookReceiver::verifier`]): give it to
/// `axum::middleware::from_fn_with_state` with [`receive`]. Clones share the memory.
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    verifier: Arc<Verifier>,
    memory: Arc<Mutex<Memory>>,
    max_body: usize,
    read_deadline: Duration,
    /// When set, "now" for the tolerance window instead of the verifier's own clock.
    clock: Option<crate::clock::SharedClock>,
}

impl WebhookReceiver {
    /// A receiver for the `signing_key` the webhook was created with: 300 s tolerance.
    ///
    /// # Errors
    ///
    /// [`WebhookError::BlankSigningKey`] for an empty or blank key.
    pub fn new(signing_key: impl Into<String>) -> Result<Self, WebhookError> {
        Ok(Self::with_verifier(Verifier::new(signing_key)?))
    }

    /// A receiver around your own [`Verifier`] (another tolerance). The receiver keeps its own
    /// memory of handled deliveries; the verifier's replay protection, if it has it, would refuse
    /// a failed handler's resend, so leave it off.
    pub fn with_verifier(verifier: Verifier) -> Self {
        let window = crate::time::delta(verifier.tolerance) * 2;
        WebhookReceiver {
            verifier: Arc::new(verifier),
            memory: Arc::new(Mutex::new(Memory::new(window))),
            max_body: DEFAULT_MAX_BODY,
            read_deadline: DEFAULT_READ_DEADLINE,
            clock: None,
        }
    }

    /// Judges the deliveries' timestamps by `clock` (default: the verifier's, the system
    /// clock unless [`Verifier::with_clock`] said otherwise). A receiver tested against the mock
    /// server takes the mock's (`MockHero::clock`): the mock signs by its clock, and a receiver
    /// on the system clock refuses (401) every delivery once the test moves the mock's clock
    /// more than the tolerance away.
    pub fn with_clock(mut self, clock: impl crate::clock::Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The largest body accepted (default [`DEFAULT_MAX_BODY`]). A request that announces a
    /// larger one (`content-length`) is refused before any of it is read.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// How long the body may take to arrive (default [`DEFAULT_READ_DEADLINE`]); a slower
    /// one is answered 408.
    pub fn with_read_deadline(mut self, deadline: Duration) -> Self {
        self.read_deadline = deadline;
        self
    }

    /// The verifier: add a signing key before a rollover and retire the old one after
    /// ([`Verifier::add_key`], [`Verifier::retire_key`]), while the receiver serves.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.as_ref().map_or_else(|| self.verifier.clock.now(), |clock| clock.now())
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The middleware: reads the body (within the size limit and the read deadline), verifies it,
/// claims it for the handler (an identical delivery meanwhile gets 503), and runs the handler
/// with a [`VerifiedEvent`]. Use it with `axum::middleware::from_fn_with_state(receiver,
/// receive)` on the webhook route (`route_layer`).
pub async fn receive(State(receiver): State<WebhookReceiver>, request: Request, next: Next) -> Response {
    match accept(&receiver, request).await {
        Ok((request, claim)) => {
            let response = next.run(request).await;
            drop(claim);
            response
        }
        Err(refused) => refused.into_response(),
    }
}

async fn accept(receiver: &WebhookReceiver, request: Request) -> Result<(Request, Claimed), Refused> {
    let (mut parts, body) = request.into_parts();
    let max = receiver.max_body;
    let announced = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > max as u64) {
        return Err(Refused::Body { max });
    }
    // The exact bytes received: the signature covers them, not a re-serialised object.
    let bytes = match tokio::time::timeout(receiver.read_deadline, axum::body::to_bytes(body, max)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return Err(Refused::Body { max }),
        Err(_) => return Err(Refused::TooSlow { deadline: receiver.read_deadline }),
    };
    let now = receiver.now();
    let verified = receiver.verifier.check(&bytes, &parts.headers, now)?;
    if receiver.memory().claim(verified.signature, now) == Claim::Busy {
        return Err(Refused::Busy);
    }
    let claim = Claimed { receiver: receiver.clone(), key: verified.signature };
    parts.extensions.insert(VerifiedEvent(verified.event));
    parts.extensions.insert(VerifiedKey(verified.key_name));
    Ok((Request::from_parts(parts, axum::body::Body::from(bytes)), claim))
}

/// A delivery being handled: forgotten when the handler is done, or its future is dropped (it
/// panicked, or the connection went).
struct Claimed {
    receiver: WebhookReceiver,
    key: super::memory::Key,
}

impl Drop for Claimed {
    fn drop(&mut self) {
        self.receiver.memory().finish(self.key);
    }
}

/// A delivery whose signature checked out, parsed: the handler's extractor. Only [`receive`]
/// provides it; on a route without that middleware it refuses with 500
/// ([`Refused::NotThroughReceiver`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent(pub WebhookEvent);

impl<S: Send + Sync> FromRequestParts<S> for VerifiedEvent {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.remove::<VerifiedEvent>().ok_or(Refused::NotThroughReceiver)
    }
}

/// The name of the signing key that verified the delivery (see
/// [`Verifier::add_key`](super::Verifier::add_key)): the handler's extractor, beside
/// [`VerifiedEvent`]. During a rollover, log it; once no delivery names the old key, retire it
/// ([`WebhookReceiver::verifier`]). Only [`receive`] provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for VerifiedKey {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.remove::<VerifiedKey>().ok_or(Refused::NotThroughReceiver)
    }
}

/// Why a delivery did not reach the handler; its response is the status Hero gets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// Verification failed (or it is a repeat: [`Refused::is_repeat`]).
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// The body is larger than [`WebhookReceiver::with_max_body`], or could not be read.
    #[error("the delivery's body is over {max} bytes or could not be read; refused")]
    #[non_exhaustive]
    Body {
        /// The limit.
        max: usize,
    },
    /// The body did not arrive within [`WebhookReceiver::with_read_deadline`].
    #[error("the delivery's body did not arrive within {} ms; refused", .deadline.as_millis())]
    #[non_exhaustive]
    TooSlow {
        /// The deadline.
        deadline: Duration,
    },
    /// The identical delivery is being handled right now: send it again later (503, with
    /// `Retry-After: 1`, which senders retry).
    #[error("the same delivery is being handled now; send it again later")]
    Busy,
    /// The handler asked for a [`VerifiedEvent`] on a route without the [`receive`] middleware.
    #[error(
        "VerifiedEvent needs the receive middleware on this route: `.route_layer(axum::middleware::from_fn_with_state(receiver, hero_health::webhooks::axum::receive))`"
    )]
    NotThroughReceiver,
}

impl Refused {
    /// A delivery already handled: answered 200, not processed again.
    pub fn is_repeat(&self) -> bool {
        matches!(self, Refused::Webhook(WebhookError::Replayed))
    }

    /// The status answered: 200 for a repeat, 401 for a signature or timestamp that does not
    /// check out, 400 for anything that is not a Hero delivery, 408 for a body too slow, 503
    /// while the same delivery is being handled, 500 for a route without the middleware.
    pub fn status(&self) -> StatusCode {
        match self {
            Refused::Webhook(WebhookError::Replayed) => StatusCode::OK,
            Refused::Webhook(
                WebhookError::SignatureMismatch
                | WebhookError::OutsideTolerance { .. }
                | WebhookError::BlankSigningKey
                | WebhookError::WrongPracticeGroup { .. },
            ) => StatusCode::UNAUTHORIZED,
            Refused::Webhook(_) | Refused::Body { .. } => StatusCode::BAD_REQUEST,
            Refused::TooSlow { .. } => StatusCode::REQUEST_TIMEOUT,
            Refused::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Refused::NotThroughReceiver => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match &self {
            Refused::Webhook(WebhookError::Replayed) => {
                tracing::debug!("hero webhook: a repeated delivery was acknowledged and not processed again")
            }
            Refused::NotThroughReceiver => tracing::error!(reason = %self, "hero webhook: misconfigured route"),
            // The reason names what failed, never the body, key or signature.
            _ => tracing::warn!(reason = %self, "hero webhook: delivery refused"),
        }
        let retry = matches!(self, Refused::Busy).then_some([(header::RETRY_AFTER, "1")]);
        (self.status(), retry, self.to_string()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_status() {
        let cases = [
            (Refused::Webhook(WebhookError::Replayed), 200),
            (Refused::Webhook(WebhookError::SignatureMismatch), 401),
            (Refused::Webhook(WebhookError::OutsideTolerance { seconds: 900, direction: "before", tolerance: 300 }), 401),
            (Refused::Webhook(WebhookError::MissingHeader("x-herohealth-signature")), 400),
            (Refused::Webhook(WebhookError::InvalidPayload("EOF".into())), 400),
            (Refused::Body { max: 10 }, 400),
            (Refused::TooSlow { deadline: Duration::from_secs(10) }, 408),
            (Refused::Busy, 503),
            (Refused::NotThroughReceiver, 500),
        ];
        for (refused, status) in cases {
            assert_eq!(refused.status().as_u16(), status, "{refused}");
        }
    }
}
