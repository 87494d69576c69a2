//! Access tokens for Hero Elements (`POST /v1/access_token`): short-lived JWTs, documented to
//! last 30 minutes. Fetch them on your server, never in browser code.
//!
//! [`Client::elements_token`] always fetches a new one. [`ElementsTokens`] reuses a token until
//! shortly before it expires, and never past that.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::{Client, Error};

/// Hero's documented lifetime of an access token.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// How long before expiry [`ElementsTokens`] fetches a new token (default).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// An Elements access token and when it expires. `Debug` does not show it.
#[derive(Clone)]
pub struct ElementsToken {
    token: SecretString,
    expires_at: DateTime<Utc>,
}

impl fmt::Debug for ElementsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElementsToken").field("token", &"[redacted]").field("expires_at", &self.expires_at).finish()
    }
}

impl ElementsToken {
    /// The token, to hand to Hero Elements.
    pub fn expose(&self) -> &str {
        self.token.expose_secret()
    }

    /// When it expires: the JWT's `exp` claim, but never later than 30 minutes after it was
    /// fetched by the client's clock (Hero's documented lifetime), and exactly that when the
    /// token has no readable `exp`.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    fn new(token: String, fetched_at: DateTime<Utc>) -> Self {
        let latest = crate::time::later(fetched_at, crate::time::delta(TOKEN_LIFETIME));
        let expires_at = jwt_expiry(&token).map_or(latest, |exp| exp.min(latest));
        ElementsToken { token: SecretString::from(token), expires_at }
    }
}

/// The `exp` claim of a JWT, read without verifying it (only Hero Elements needs to trust it).
fn jwt_expiry(token: &str) -> Option<DateTime<Utc>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    DateTime::from_timestamp(claims.get("exp")?.as_i64()?, 0)
}

impl Client {
    /// A new Elements access token (one `POST /v1/access_token`).
    ///
    /// # Errors
    ///
    /// [`Error`] when Hero refuses the request or cannot be reached.
    pub async fn elements_token(&self) -> Result<ElementsToken, Error> {
        let answer = self.create_access_token().send().await?;
        Ok(ElementsToken::new(answer.into_inner().access_token, self.clock().now()))
    }
}

/// Reuses one Elements token until [`DEFAULT_REFRESH_MARGIN`] before it expires; never hands
/// out an expired one. Share it (for example in an `Arc`) across requests.
pub struct ElementsTokens {
    client: Client,
    margin: chrono::Duration,
    current: Mutex<Option<ElementsToken>>,
}

impl fmt::Debug for ElementsTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElementsTokens").field("margin", &self.margin).finish_non_exhaustive()
    }
}

impl ElementsTokens {
    /// Tokens for `client`'s practice group.
    pub fn new(client: Client) -> Self {
        ElementsTokens { client, margin: crate::time::delta(DEFAULT_REFRESH_MARGIN), current: Mutex::new(None) }
    }

    /// Fetch a new token this long before the current one expires ([`DEFAULT_REFRESH_MARGIN`]).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = crate::time::delta(margin);
        self
    }

    /// A token valid for at least the refresh margin, by the client's clock
    /// ([`Client::clock`]).
    ///
    /// # Errors
    ///
    /// [`Error`] when a new token is needed and fetching it fails.
    pub async fn get(&self) -> Result<ElementsToken, Error> {
        let lock = || self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = self.client.clock().now();
        if let Some(token) = lock().as_ref().filter(|t| crate::time::earlier(t.expires_at, self.margin) > now) {
            return Ok(token.clone());
        }
        // Not holding the lock across the request: two callers may both fetch, which is harmless.
        let token = self.client.elements_token().await?;
        *lock() = Some(token.clone());
        Ok(token)
    }
}
