//! Receiving Hero webhooks: verify the HMAC signature, then parse the thin event.
//!
//! Hero signs a delivery (when the webhook was created with a `signing_key`) with
//! HMAC-SHA256 over `"{X-Herohealth-Timestamp}.{raw body}"` and sends it in
//! `X-Herohealth-Signature`. Hero's guide does not say how the signature is encoded or how the
//! timestamp is written, so both are read tolerantly without weakening the check: the signature
//! must decode (hex, or base64) to exactly 32 bytes and is compared in constant time; the
//! timestamp may be Unix seconds, milliseconds or RFC 3339, and must be within the tolerance
//! window (default 300 s) of now, so an old delivery cannot be replayed later.
//!
//! ```
//! use hero_health::webhooks::{EventType, Verifier, sign};
//!
//! let body = br#"{"object":"Appointment","id":"4567","practice_group_id":"123","event":"appointment.confirmed"}"#;
//! let headers = sign(body, "whsec-test", chrono::Utc::now()); // what Hero would send
//! let event = Verifier::new("whsec-test").unwrap().verify(body, &headers).unwrap();
//! assert_eq!(event.event, EventType::AppointmentConfirmed);
//! assert_eq!(event.id, "4567"); // fetch the appointment by id for the details
//! ```
//!
//! Parse only after verification: [`Verifier::verify`] does both, in that order.

#[cfg(feature = "axum")]
pub mod axum;
mod memory;

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Header carrying the signing time.
pub const TIMESTAMP_HEADER: &str = "x-herohealth-timestamp";
/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-herohealth-signature";
/// How far a delivery's timestamp may be from now by default.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// The widest tolerance a [`Verifier`] accepts: a wider window lets a captured delivery be
/// replayed for longer, and its replay memory would have to hold that long.
pub const MAX_TOLERANCE: Duration = Duration::from_secs(3600);

/// The events Hero documents, and any other it sends later.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// `appointment.confirmed`
    AppointmentConfirmed,
    /// `appointment.cancelled`
    AppointmentCancelled,
    /// `appointment.rescheduled`
    AppointmentRescheduled,
    /// `prescription.issued`
    PrescriptionIssued,
    /// `patient.medical-record-updated`
    PatientMedicalRecordUpdated,
    /// `patient.added-to-sequence`
    PatientAddedToSequence,
    /// `write-to-record.succeeded`
    WriteToRecordSucceeded,
    /// `write-to-record.failed`
    WriteToRecordFailed,
    /// `form-submission.created` (in Hero's AsyncAPI channels, not yet subscribable).
    FormSubmissionCreated,
    /// An event this version does not know: kept, not rejected.
    Unknown(String),
}

const EVENTS: &[(&str, EventType)] = &[
    ("appointment.confirmed", EventType::AppointmentConfirmed),
    ("appointment.cancelled", EventType::AppointmentCancelled),
    ("appointment.rescheduled", EventType::AppointmentRescheduled),
    ("prescription.issued", EventType::PrescriptionIssued),
    ("patient.medical-record-updated", EventType::PatientMedicalRecordUpdated),
    ("patient.added-to-sequence", EventType::PatientAddedToSequence),
    ("write-to-record.succeeded", EventType::WriteToRecordSucceeded),
    ("write-to-record.failed", EventType::WriteToRecordFailed),
    ("form-submission.created", EventType::FormSubmissionCreated),
];

impl EventType {
    /// The event's name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            EventType::Unknown(name) => name,
            known => EVENTS.iter().find(|(_, e)| e == known).map_or("", |(name, _)| name),
        }
    }
}

impl From<&str> for EventType {
    fn from(name: &str) -> Self {
        EVENTS.iter().find(|(n, _)| *n == name).map_or_else(|| EventType::Unknown(name.to_owned()), |(_, e)| e.clone())
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery: which object changed. Fetch it by `id` through the API for the details.
///
/// Its `Debug` shows the id unless the object is a `Patient` (a patient id).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// `Appointment`, `Prescription`, `Patient`, `FormSubmission`…
    pub object: String,
    /// The object's id.
    pub id: String,
    /// The practice group it belongs to.
    pub practice_group_id: String,
    /// What happened.
    pub event: EventType,
}

impl std::fmt::Debug for WebhookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id: &dyn std::fmt::Debug = if self.object.eq_ignore_ascii_case("patient") { &"[patient id]" } else { &self.id };
        f.debug_struct("WebhookEvent")
            .field("object", &self.object)
            .field("id", id)
            .field("practice_group_id", &self.practice_group_id)
            .field("event", &self.event)
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct Payload {
    object: String,
    id: String,
    practice_group_id: String,
    event: String,
}

/// Why a delivery was refused. No message repeats the body, the key or the signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A header is missing or not text.
    #[error("the {0} header is missing (or not text): is the webhook created with a signing_key, and is this a Hero delivery?")]
    MissingHeader(&'static str),
    /// The timestamp is not Unix seconds/milliseconds or RFC 3339.
    #[error("the {TIMESTAMP_HEADER} header is not a timestamp; refuse the delivery")]
    BadTimestamp,
    /// Too old or too far in the future: possibly replayed.
    #[error(
        "the delivery was signed {seconds} s {direction} now, outside the {tolerance} s tolerance; refuse it (a replay, or a wrong clock)"
    )]
    #[non_exhaustive]
    OutsideTolerance {
        /// How far from now.
        seconds: u64,
        /// `before` or `after`.
        direction: &'static str,
        /// The window.
        tolerance: u64,
    },
    /// The signature is neither 32 bytes of hex nor of base64.
    #[error("the {SIGNATURE_HEADER} header is not an HMAC-SHA256 signature (hex or base64 of 32 bytes); refuse the delivery")]
    BadSignatureEncoding,
    /// The signature does not match: wrong key, or the body or timestamp was changed.
    #[error("the signature does not match (wrong signing key, or the body or timestamp was altered); refuse the delivery")]
    SignatureMismatch,
    /// The same signed delivery was seen before within the tolerance window.
    #[error("this delivery was already received (same signature); ignore the repeat")]
    Replayed,
    /// The signing key is empty or only white space: anyone could sign a delivery with it.
    #[error("the webhook signing key is empty; pass the signing_key the webhook was created with (is its environment variable set?)")]
    BlankSigningKey,
    /// The tolerance is zero or wider than [`MAX_TOLERANCE`].
    #[error(
        "a webhook tolerance must be between 1 s and {max_secs} s (a wider window lets captured deliveries be replayed); 300 s is usual"
    )]
    #[non_exhaustive]
    ToleranceOutOfRange {
        /// The widest accepted, in seconds.
        max_secs: u64,
    },
    /// Verified, but not the documented `{object, id, practice_group_id, event}` payload.
    #[error("the verified payload is not a Hero event ({0}); log the delivery id and contact Hero")]
    InvalidPayload(String),
    /// A key of that name is already held: retire it first, or give the new key another name.
    #[error("the verifier already holds a signing key named {0:?}; retire it first or name the new key differently")]
    KeyNameTaken(String),
    /// The delivery verified with a key held for another practice group than the one its
    /// payload names.
    #[error(
        "the delivery verified with the signing key {key:?}, which is for practice group {expected}, but it names practice group {actual}; refuse it"
    )]
    #[non_exhaustive]
    WrongPracticeGroup {
        /// The name of the key that verified.
        key: String,
        /// The practice group that key is held for.
        expected: String,
        /// The practice group the payload names.
        actual: String,
    },
}

/// The name [`Verifier::new`] gives its one key.
pub const DEFAULT_KEY_NAME: &str = "default";

/// One signing key a [`Verifier`] accepts, by name, and the practice group it is for, if any.
struct SigningKey {
    name: String,
    key: SecretString,
    practice_group_id: Option<String>,
}

impl SigningKey {
    fn new(name: String, key: String, practice_group_id: Option<String>) -> Result<Self, WebhookError> {
        if key.trim().is_empty() {
            return Err(WebhookError::BlankSigningKey);
        }
        Ok(SigningKey { name, key: SecretString::from(key), practice_group_id })
    }
}

/// A delivery that verified, and the name of the signing key that verified it: during a
/// rollover, when no delivery names the old key any more, retire it
/// ([`Verifier::retire_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedDelivery {
    /// The event.
    pub event: WebhookEvent,
    /// The name of the key that verified it ([`DEFAULT_KEY_NAME`] for [`Verifier::new`]'s).
    pub key_name: String,
}

/// Verifies deliveries for one signing key, or several during a rollover. With
/// [`Verifier::with_replay_protection`] it also remembers the signatures it accepted.
///
/// **Rolling a signing key.** Hero has no operation that changes a webhook's `signing_key`: a
/// rollover is a new webhook (same URL and event, the new key), then deleting the old one. In
/// between, both deliver, each signed with its own key. Add the new key by name before creating
/// the new webhook, and retire the old one after deleting the old webhook:
///
/// ```
/// use hero_health::webhooks::{Verifier, WebhookError, sign};
///
/// let verifier = Verifier::new("whsec-old")?;
/// verifier.add_key("2026-12", "whsec-new")?;
/// let body = br#"{"object":"Appointment","id":"4567","practice_group_id":"123","event":"appointment.confirmed"}"#;
/// let now = chrono::Utc::now();
/// assert_eq!(verifier.verify_delivery(body, &sign(body, "whsec-old", now))?.key_name, "default");
/// assert_eq!(verifier.verify_delivery(body, &sign(body, "whsec-new", now))?.key_name, "2026-12");
/// assert!(verifier.retire_key("default"));
/// assert_eq!(verifier.verify(body, &sign(body, "whsec-old", now)), Err(WebhookError::SignatureMismatch));
/// # Ok::<(), WebhookError>(())
/// ```
///
/// Keys for different practice groups can live in one verifier
/// ([`Verifier::add_practice_key`]): such a key verifies only deliveries that name its group.
pub struct Verifier {
    keys: std::sync::RwLock<Vec<SigningKey>>,
    tolerance: Duration,
    seen: Option<Mutex<memory::Memory>>,
    clock: crate::clock::SharedClock,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let names: Vec<(&str, Option<&str>)> = keys.iter().map(|k| (k.name.as_str(), k.practice_group_id.as_deref())).collect();
        f.debug_struct("Verifier")
            .field("keys", &names)
            .field("tolerance", &self.tolerance)
            .field("replay_protection", &self.seen.is_some())
            .field("clock", &self.clock)
            .finish()
    }
}

impl Verifier {
    /// A verifier for the `signing_key` given when the webhook was created.
    ///
    /// # Errors
    ///
    /// [`WebhookError::BlankSigningKey`] for an empty or blank key, which would let anyone
    /// sign deliveries (an unset environment variable read with `unwrap_or_default`).
    pub fn new(signing_key: impl Into<String>) -> Result<Self, WebhookError> {
        let key = SigningKey::new(DEFAULT_KEY_NAME.to_owned(), signing_key.into(), None)?;
        Ok(Verifier { keys: std::sync::RwLock::new(vec![key]), tolerance: DEFAULT_TOLERANCE, seen: None, clock: crate::clock::system() })
    }

    /// A verifier for several named keys at once (a rollover in progress, or one key per
    /// webhook). `keys` are `(name, signing key)` pairs.
    ///
    /// # Errors
    ///
    /// [`WebhookError::BlankSigningKey`] for a blank key or when there is none,
    /// [`WebhookError::KeyNameTaken`] for a name given twice.
    pub fn with_keys<N, K>(keys: impl IntoIterator<Item = (N, K)>) -> Result<Self, WebhookError>
    where
        N: Into<String>,
        K: Into<String>,
    {
        let verifier =
            Verifier { keys: std::sync::RwLock::new(Vec::new()), tolerance: DEFAULT_TOLERANCE, seen: None, clock: crate::clock::system() };
        for (name, key) in keys {
            verifier.add_key(name, key)?;
        }
        if verifier.key_names().is_empty() {
            return Err(WebhookError::BlankSigningKey);
        }
        Ok(verifier)
    }

    /// Also accept `signing_key`, under `name` (which [`VerifiedDelivery::key_name`] reports).
    /// Takes effect for the next delivery; the verifier can be shared (`Arc`) meanwhile.
    ///
    /// # Errors
    ///
    /// [`WebhookError::BlankSigningKey`], or [`WebhookError::KeyNameTaken`].
    pub fn add_key(&self, name: impl Into<String>, signing_key: impl Into<String>) -> Result<(), WebhookError> {
        self.insert(SigningKey::new(name.into(), signing_key.into(), None)?)
    }

    /// Also accept `signing_key`, under `name`, for deliveries of `practice_group_id` only: a
    /// delivery it verifies that names another practice group is refused
    /// ([`WebhookError::WrongPracticeGroup`]).
    ///
    /// # Errors
    ///
    /// [`WebhookError::BlankSigningKey`], or [`WebhookError::KeyNameTaken`].
    pub fn add_practice_key(
        &self,
        practice_group_id: impl Into<String>,
        name: impl Into<String>,
        signing_key: impl Into<String>,
    ) -> Result<(), WebhookError> {
        self.insert(SigningKey::new(name.into(), signing_key.into(), Some(practice_group_id.into()))?)
    }

    fn insert(&self, key: SigningKey) -> Result<(), WebhookError> {
        let mut keys = self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys.iter().any(|k| k.name == key.name) {
            return Err(WebhookError::KeyNameTaken(key.name));
        }
        keys.push(key);
        Ok(())
    }

    /// Stops accepting the key named `name` from the next delivery on; whether it was held.
    /// A verifier whose last key is retired refuses every delivery.
    pub fn retire_key(&self, name: &str) -> bool {
        let mut keys = self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = keys.len();
        keys.retain(|k| k.name != name);
        keys.len() != before
    }

    /// The names of the keys accepted now, in the order they were added.
    pub fn key_names(&self) -> Vec<String> {
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).iter().map(|k| k.name.clone()).collect()
    }

    /// How far the signed timestamp may be from now (default 300 s).
    ///
    /// # Errors
    ///
    /// [`WebhookError::ToleranceOutOfRange`] below 1 s or above [`MAX_TOLERANCE`].
    pub fn with_tolerance(mut self, tolerance: Duration) -> Result<Self, WebhookError> {
        if tolerance < Duration::from_secs(1) || tolerance > MAX_TOLERANCE {
            return Err(WebhookError::ToleranceOutOfRange { max_secs: MAX_TOLERANCE.as_secs() });
        }
        self.tolerance = tolerance;
        Ok(self)
    }

    /// Also refuse a delivery whose signature was already accepted within the tolerance window
    /// ([`WebhookError::Replayed`]). Memory is bounded by the deliveries of one window, and each
    /// check takes constant time however many it holds.
    ///
    /// It remembers a delivery when it is verified, before you handle it: if your handling
    /// fails and the sender resends the identical delivery, the resend is refused. And two
    /// events about one object signed in the same second (Hero's payload carries no event id)
    /// are byte-identical. The axum receiver (`webhooks::axum::WebhookReceiver`, feature `axum`) avoids both; with this
    /// verifier alone, remember what you handled yourself instead (or handle repeats: Hero's
    /// events are thin, so handling one twice only reads the object twice).
    pub fn with_replay_protection(mut self) -> Self {
        self.seen = Some(Mutex::new(memory::Memory::new(crate::time::delta(self.tolerance) * 2)));
        self
    }

    /// The clock "now" is read from for the tolerance window (default the system clock). A
    /// receiver tested against the mock server takes the mock's (`MockHero::clock`): the mock
    /// signs its deliveries by its own clock.
    pub fn with_clock(mut self, clock: impl crate::clock::Clock + 'static) -> Self {
        self.clock = std::sync::Arc::new(clock);
        self
    }

    /// Verifies `raw_body` (the exact bytes received) against the headers, then parses it.
    ///
    /// # Errors
    ///
    /// A [`WebhookError`] saying why the delivery is refused: missing or malformed headers, a
    /// timestamp outside the tolerance, a signature that does not match, a repeat (with replay
    /// protection), or a payload that is not a Hero event.
    pub fn verify(&self, raw_body: &[u8], headers: &HeaderMap) -> Result<WebhookEvent, WebhookError> {
        self.verify_at(raw_body, headers, self.clock.now())
    }

    /// [`Verifier::verify`], also reporting which key verified the delivery.
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`], and [`WebhookError::WrongPracticeGroup`] for a practice's key
    /// used for another practice group's delivery.
    pub fn verify_delivery(&self, raw_body: &[u8], headers: &HeaderMap) -> Result<VerifiedDelivery, WebhookError> {
        let now = self.clock.now();
        let verified = self.check(raw_body, headers, now)?;
        if let Some(seen) = &self.seen
            && !seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).first_sighting(verified.signature, now)
        {
            return Err(WebhookError::Replayed);
        }
        Ok(VerifiedDelivery { event: verified.event, key_name: verified.key_name })
    }

    /// [`Verifier::verify`] with an explicit "now" instead of the verifier's clock.
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`].
    pub fn verify_at(&self, raw_body: &[u8], headers: &HeaderMap, now: DateTime<Utc>) -> Result<WebhookEvent, WebhookError> {
        let verified = self.check(raw_body, headers, now)?;
        if let Some(seen) = &self.seen
            && !seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).first_sighting(verified.signature, now)
        {
            return Err(WebhookError::Replayed);
        }
        Ok(verified.event)
    }

    /// Checks the headers, the timestamp window and the signature, then parses the payload;
    /// remembers nothing.
    fn check(&self, raw_body: &[u8], headers: &HeaderMap, now: DateTime<Utc>) -> Result<Verified, WebhookError> {
        let text =
            |name: &'static str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).ok_or(WebhookError::MissingHeader(name));
        let timestamp = text(TIMESTAMP_HEADER)?;
        let signature = decode_signature(text(SIGNATURE_HEADER)?)?;
        let signed_at = parse_timestamp(timestamp).ok_or(WebhookError::BadTimestamp)?;
        // In milliseconds: 300.99 s is outside a 300 s window (whole seconds truncated it to 300).
        let tolerance = self.tolerance.as_millis();
        let age = (now - signed_at).num_milliseconds();
        if u128::from(age.unsigned_abs()) > tolerance {
            let direction = if age >= 0 { "before" } else { "after" };
            return Err(WebhookError::OutsideTolerance {
                seconds: age.unsigned_abs().div_ceil(1000),
                direction,
                tolerance: self.tolerance.as_secs(),
            });
        }
        // Every key is tried, each compared in constant time (`verify_slice`): how long the check
        // takes says how many keys there are, never how much of a signature matched.
        let matched: Vec<(String, Option<String>)> = {
            let keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            keys.iter()
                .filter(|key| {
                    let mut mac = mac(&key.key);
                    mac.update(timestamp.as_bytes());
                    mac.update(b".");
                    mac.update(raw_body);
                    mac.verify_slice(&signature).is_ok()
                })
                .map(|key| (key.name.clone(), key.practice_group_id.clone()))
                .collect()
        };
        if matched.is_empty() {
            return Err(WebhookError::SignatureMismatch);
        }
        let payload: Payload = serde_json::from_slice(raw_body)
            .map_err(|e| WebhookError::InvalidPayload(format!("{:?} error at line {}, column {}", e.classify(), e.line(), e.column())))?;
        // One secret may be held for several practices: a key for this delivery's practice (or
        // for any) wins; only when every matching key is another practice's is it refused.
        let fits = |bound: &Option<String>| bound.as_ref().is_none_or(|group| *group == payload.practice_group_id);
        let key_name = match matched.iter().find(|(_, bound)| fits(bound)) {
            Some((name, _)) => name.clone(),
            None => {
                let (key, expected) = matched.into_iter().next().map(|(name, bound)| (name, bound.unwrap_or_default())).unwrap_or_default();
                return Err(WebhookError::WrongPracticeGroup { key, expected, actual: payload.practice_group_id });
            }
        };
        let event = WebhookEvent {
            object: payload.object,
            id: payload.id,
            practice_group_id: payload.practice_group_id,
            event: EventType::from(payload.event.as_str()),
        };
        Ok(Verified { event, signature, key_name })
    }
}

/// A delivery that checked out, with what the receiver's memory needs.
pub(crate) struct Verified {
    pub(crate) event: WebhookEvent,
    pub(crate) signature: memory::Key,
    pub(crate) key_name: String,
}

/// Verifies with the default tolerance and no replay memory; see [`Verifier`].
///
/// # Errors
///
/// Any [`WebhookError`]: a blank key, missing or malformed headers, a timestamp outside the
/// window, a signature that does not match, or a payload that is not a Hero event.
pub fn verify(raw_body: &[u8], headers: &HeaderMap, signing_key: &str) -> Result<WebhookEvent, WebhookError> {
    Verifier::new(signing_key)?.verify(raw_body, headers)
}

/// The headers Hero would send with `raw_body` signed at `at`: for your tests. The timestamp
/// is Unix seconds and the signature lowercase hex (the guide leaves both open).
pub fn sign(raw_body: &[u8], signing_key: &str, at: DateTime<Utc>) -> HeaderMap {
    sign_with_timestamp(raw_body, signing_key, &at.timestamp().to_string())
}

/// [`sign`] with the timestamp header written as given (the mock writes milliseconds, so each
/// delivery attempt is signed anew even within one second).
pub(crate) fn sign_with_timestamp(raw_body: &[u8], signing_key: &str, timestamp: &str) -> HeaderMap {
    let mut mac = mac(&SecretString::from(signing_key.to_owned()));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(raw_body);
    let signature = hex::encode(mac.finalize().into_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(TIMESTAMP_HEADER, HeaderValue::try_from(timestamp).unwrap_or_else(|_| HeaderValue::from_static("")));
    headers.insert(SIGNATURE_HEADER, HeaderValue::try_from(signature).unwrap_or_else(|_| HeaderValue::from_static("")));
    headers
}

fn mac(key: &SecretString) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    <Hmac<Sha256> as Mac>::new_from_slice(key.expose_secret().as_bytes()).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

/// Hex (64 characters, any case, optional `sha256=`) or base64 (standard or URL-safe, padded or
/// not) of exactly 32 bytes. The two cannot be confused: 64 hex characters are 48 bytes of base64.
fn decode_signature(text: &str) -> Result<[u8; 32], WebhookError> {
    let text = text.strip_prefix("sha256=").unwrap_or(text);
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).ok()
    } else {
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        engines.iter().find_map(|engine| engine.decode(text).ok())
    };
    bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or(WebhookError::BadSignatureEncoding)
}

/// Unix seconds, Unix milliseconds (13+ digits) or RFC 3339.
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(number) = text.parse::<i64>() {
        return if text.len() >= 13 { DateTime::from_timestamp_millis(number) } else { DateTime::from_timestamp(number, 0) };
    }
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}
