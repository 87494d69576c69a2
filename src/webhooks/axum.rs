//! Receiving Hero's webhooks in an axum app (cargo feature `axum`): an extractor that verifies
//! the signature before it parses anything, refuses with 400 or 401, and recognises repeats.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::post};
//! use hero_health::webhooks::axum::{VerifiedEvent, WebhookReceiver};
//!
//! async fn on_event(VerifiedEvent(event): VerifiedEvent) {
//!     // Verified, first time seen: fetch `event.id` through the API for the details.
//!     println!("{} {}", event.event, event.id);
//! }
//!
//! let receiver = WebhookReceiver::new(std::env::var("HERO_WEBHOOK_SIGNING_KEY")?)?;
//! let app: Router = Router::new().route("/hero/webhooks", post(on_event)).with_state(receiver);
//! # let _ = app; Ok(()) }
//! ```
//!
//! A refused delivery never reaches the handler: 401 when the signature or its timestamp does
//! not check out (wrong key, altered body, replay outside the window), 400 when the request is
//! not a Hero delivery (headers missing or malformed, a payload that is not an event, a body
//! over the size limit). A delivery already accepted (same signature) is answered 200 without
//! calling the handler, so the sender stops resending it and it is not processed twice.
//!
//! Answer 2xx from the handler once the event is handled, 5xx if it could not be: the delivery is
//! retried. A retry is signed again at send time (that is how the mock behaves; Hero's guide
//! says the timestamp is the time the request was sent), so it reaches the handler; only a
//! byte-identical repeat is recognised as one.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{Verifier, WebhookError, WebhookEvent};

/// Hero's payloads are a few hundred bytes; anything much larger is not a delivery.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// What the extractor needs: the verifier (with replay memory) for the webhook's signing key.
/// Put it in the router's state (or a state it can be taken from, `FromRef`).
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    verifier: Arc<Verifier>,
    max_body: usize,
    /// When set, "now" for the tolerance window instead of the verifier's own clock.
    clock: Option<crate::clock::SharedClock>,
}

impl WebhookReceiver {
    /// A receiver for the `signing_key` the webhook was created with: 300 s tolerance, replay
    /// protection on.
    ///
    /// # Errors
    ///
    /// [`WebhookError::BlankSigningKey`] for an empty or blank key.
    pub fn new(signing_key: impl Into<String>) -> Result<Self, WebhookError> {
        Ok(Self::with_verifier(Verifier::new(signing_key)?.with_replay_protection()))
    }

    /// A receiver around your own [`Verifier`] (another tolerance). Give it
    /// [`Verifier::with_replay_protection`] unless something else recognises repeats.
    pub fn with_verifier(verifier: Verifier) -> Self {
        WebhookReceiver { verifier: Arc::new(verifier), max_body: DEFAULT_MAX_BODY, clock: None }
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

    /// The largest body accepted (default [`DEFAULT_MAX_BODY`]).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
}

/// A delivery whose signature checked out, seen for the first time, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent(pub WebhookEvent);

/// Why a delivery did not reach the handler; its response is the status Hero gets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// Verification failed (or it is a repeat: [`Refused::is_repeat`]).
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// The body is larger than [`WebhookReceiver::with_max_body`], or could not be read.
    #[error("the delivery's body is over {max} bytes or could not be read; refused")]
    Body {
        /// The limit.
        max: usize,
    },
}

impl Refused {
    /// A delivery already accepted: answered 200, not processed again.
    pub fn is_repeat(&self) -> bool {
        matches!(self, Refused::Webhook(WebhookError::Replayed))
    }

    /// The status answered: 200 for a repeat, 401 for a signature or timestamp that does not
    /// check out, 400 for anything that is not a Hero delivery.
    pub fn status(&self) -> StatusCode {
        match self {
            Refused::Webhook(WebhookError::Replayed) => StatusCode::OK,
            Refused::Webhook(WebhookError::SignatureMismatch | WebhookError::OutsideTolerance { .. } | WebhookError::BlankSigningKey) => {
                StatusCode::UNAUTHORIZED
            }
            Refused::Webhook(_) | Refused::Body { .. } => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        if self.is_repeat() {
            tracing::debug!("hero webhook: a repeated delivery was acknowledged and not processed again");
        } else {
            // The reason names what failed, never the body, key or signature.
            tracing::warn!(reason = %self, "hero webhook: delivery refused");
        }
        (self.status(), self.to_string()).into_response()
    }
}

impl<S> FromRequest<S> for VerifiedEvent
where
    S: Send + Sync,
    WebhookReceiver: FromRef<S>,
{
    type Rejection = Refused;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = WebhookReceiver::from_ref(state);
        let (parts, body) = request.into_parts();
        // The exact bytes received: the signature covers them, not a re-serialised object.
        let bytes = axum::body::to_bytes(body, receiver.max_body).await.map_err(|_| Refused::Body { max: receiver.max_body })?;
        let event = match &receiver.clock {
            Some(clock) => receiver.verifier.verify_at(&bytes, &parts.headers, clock.now())?,
            None => receiver.verifier.verify(&bytes, &parts.headers)?,
        };
        Ok(VerifiedEvent(event))
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
        ];
        for (refused, status) in cases {
            assert_eq!(refused.status().as_u16(), status, "{refused}");
        }
    }
}
