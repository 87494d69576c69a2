//! Messaging a patient, and following the message to a settled result.
//!
//! - [`Messages::send`] sends once. A send whose answer is lost may have gone: it is never sent
//!   again by this crate, and it ends in [`MessageError::OutcomeUnknown`], which says what to
//!   check.
//! - [`Messages::track`] follows a sent message until its delivery has left Hero and, when it
//!   was asked, its write-to-record has ended (`write-to-record.succeeded` / `.failed`): from
//!   the webhook event, when your receiver hands it to a [`MessageEvents`], or by polling
//!   `getMessage`, whichever comes first, within a deadline.
//!
//! Hero's defaults apply to what you leave out: the patient's contact details for the channel,
//! and the SNOMED code a message is recorded under (SMS 279991000000102, email and NHS App
//! 401271004). An NHS App message unopened after 1 hour falls back to the channel you set.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::types::MessageSend;
use crate::webhooks::{EventType, WebhookEvent};
use crate::{Client, Error, Id};

/// The channel a message goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Channel {
    /// The patient's Hero inbox.
    Hero,
    /// SMS.
    Sms,
    /// Email.
    Email,
    /// The NHS App, which can fall back to SMS or email when unopened after 1 hour.
    NhsApp,
}

/// Where an unopened NHS App message falls back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fallback {
    /// SMS.
    Sms,
    /// Email.
    Email,
}

/// A message to send. `Debug` shows the channel and options, never the text or a contact.
#[derive(Clone)]
pub struct Outgoing {
    patient: Id,
    channel: Channel,
    text: String,
    to: Option<String>,
    fallback: Option<(Fallback, Option<String>)>,
    write_to_record: bool,
    automatically: bool,
    snomed_code: Option<String>,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("channel", &self.channel)
            .field("fallback", &self.fallback.as_ref().map(|(channel, _)| channel))
            .field("write_to_record", &self.write_to_record)
            .field("automatically", &self.automatically)
            .field("snomed_code", &self.snomed_code)
            .finish_non_exhaustive()
    }
}

impl Outgoing {
    /// `text` to patient `patient` on `channel`, to the contact details Hero holds for it.
    pub fn new(patient: &Id, channel: Channel, text: impl Into<String>) -> Self {
        Outgoing {
            patient: patient.clone(),
            channel,
            text: text.into(),
            to: None,
            fallback: None,
            write_to_record: false,
            automatically: false,
            snomed_code: None,
        }
    }

    /// Sends to this number or address instead of the one on the patient's record.
    pub fn to(mut self, contact: impl Into<String>) -> Self {
        self.to = Some(contact.into());
        self
    }

    /// For an NHS App message: falls back to `channel` when unopened after 1 hour (to `contact`,
    /// or the patient's record for it).
    pub fn with_fallback(mut self, channel: Fallback, contact: Option<String>) -> Self {
        self.fallback = Some((channel, contact));
        self
    }

    /// Also saves the message to the patient's record once an admin at the practice approves
    /// it (asynchronous; it needs a linked EHR record), under Hero's default SNOMED code for
    /// the channel unless [`with_snomed_code`](Self::with_snomed_code) says otherwise.
    pub fn write_to_record(mut self) -> Self {
        self.write_to_record = true;
        self
    }

    /// Saves it to the record without waiting for an admin's approval
    /// (`auto_write_to_record`): Hero honours this only when the API key allows it, and
    /// otherwise waits for approval as for [`write_to_record`](Self::write_to_record).
    pub fn write_to_record_automatically(mut self) -> Self {
        self.write_to_record = true;
        self.automatically = true;
        self
    }

    /// The SNOMED code to record it under.
    pub fn with_snomed_code(mut self, code: impl Into<String>) -> Self {
        self.snomed_code = Some(code.into());
        self
    }

    fn body(&self) -> Result<MessageSend, MessageError> {
        if self.text.trim().is_empty() {
            return Err(MessageError::Invalid { reason: "the message text is empty" });
        }
        if self.fallback.is_some() && self.channel != Channel::NhsApp {
            return Err(MessageError::Invalid { reason: "a fallback is for NHS App messages only" });
        }
        if self.snomed_code.is_some() && !self.write_to_record {
            return Err(MessageError::Invalid { reason: "a SNOMED code is for a message written to the record: add write_to_record()" });
        }
        let message_type = match self.channel {
            Channel::Hero => "hero",
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::NhsApp => "nhs_app",
        };
        let fallback = self.fallback.as_ref().map(|(channel, _)| match channel {
            Fallback::Sms => "sms",
            Fallback::Email => "email",
        });
        let mut body = serde_json::json!({
            "patient_id": self.patient.as_str(),
            "message_type": message_type,
            "message_string": self.text,
            "write_to_record": self.write_to_record,
        });
        let optional = [
            ("recipient_contact_detail", self.to.clone().map(serde_json::Value::from)),
            ("fallback_message_type", fallback.map(serde_json::Value::from)),
            ("fallback_contact_detail", self.fallback.as_ref().and_then(|(_, contact)| contact.clone()).map(serde_json::Value::from)),
            ("auto_write_to_record", self.automatically.then_some(serde_json::Value::from(true))),
            ("snomed_code", self.snomed_code.clone().map(serde_json::Value::from)),
        ];
        for (name, value) in optional {
            if let (Some(value), Some(fields)) = (value, body.as_object_mut()) {
                fields.insert(name.to_owned(), value);
            }
        }
        // Built as JSON and read into `MessageSend` (whose name is pinned), so that it does not
        // depend on what a bundle calls the enums inside it; reading checks each field as the
        // document says (the text not empty).
        serde_json::from_value(body)
            .map_err(|_| MessageError::Invalid { reason: "a field does not meet the document's rules (an empty text?)" })
    }
}

/// A message Hero accepted: what [`Messages::track`] follows. Serde, to track it in another
/// process.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Sent {
    /// Hero's id of the message.
    pub message_id: String,
    /// The practice group it was sent for (its events name it).
    pub practice_group_id: String,
    /// Whether it is being written to the record.
    pub write_to_record: bool,
    /// When Hero took it (when its answer said so readably).
    pub created_at: Option<DateTime<Utc>>,
}

/// Where a message's delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// Sent by Hero, not yet delivered.
    Sent,
    /// Delivered.
    Delivered,
    /// Opened in the NHS App.
    Opened,
    /// Unopened in the NHS App after 1 hour: sent on the fallback channel.
    FallbackSent,
    /// Could not be delivered.
    Failed,
    /// Not known: a webhook event settled the record before any read said where delivery
    /// stands.
    Unknown,
}

/// Where saving a message to the patient's record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordOutcome {
    /// Not asked for.
    NotAsked,
    /// Asked, not yet done.
    Pending,
    /// Saved to the record.
    Succeeded,
    /// Not saved (no linked EHR record, or the EHR refused it): record it by hand.
    Failed,
}

/// How a message ended up, as far as is known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageStatus {
    /// Its delivery.
    pub delivery: Delivery,
    /// Its write-to-record.
    pub record: RecordOutcome,
    /// Whether the last word came from a webhook event (else from reading the message).
    pub from_webhook: bool,
}

impl MessageStatus {
    /// Settled: its delivery has left Hero (not `Sent`) or a webhook event ended it, and its
    /// write-to-record, when asked, has ended.
    pub fn is_settled(&self) -> bool {
        self.record != RecordOutcome::Pending && (self.delivery != Delivery::Sent || self.from_webhook)
    }
}

/// Why a message could not be sent or followed. Never contains the text, a contact or an id of
/// the patient.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The message was refused before sending.
    #[error("the message was not sent: {reason}")]
    #[non_exhaustive]
    Invalid {
        /// What is wrong.
        reason: &'static str,
    },
    /// Hero refused it, or it never left: nothing was sent. Fix what the error says, then send
    /// again.
    #[error("the message was not sent: {0}")]
    NotSent(#[source] Box<Error>),
    /// The request went and no usable answer came back: the message may have been sent. It is
    /// not sent again.
    #[error(
        "the message may have been sent (no usable answer came back) and was not sent again: check the patient's messages in Hero before sending it again, or the patient could get it twice"
    )]
    OutcomeUnknown(#[source] Box<Error>),
    /// The deadline passed before the message settled: this is where it stood.
    #[error("the message had not settled by the deadline (delivery {:?}, record {:?}); track it again later, or check it in Hero", .last.delivery, .last.record)]
    NotSettled {
        /// The last known status.
        last: MessageStatus,
    },
    /// Reading the message failed.
    #[error("the message could not be read: {0}")]
    Read(#[source] Box<Error>),
}

/// Write-to-record events your webhook receiver hands over ([`MessageEvents::observe`]), for
/// [`Messages::track`] to settle on. Clones share the events.
#[derive(Clone, Default)]
pub struct MessageEvents {
    shared: Arc<EventsShared>,
}

#[derive(Default)]
struct EventsShared {
    /// By practice group and message id: a receiver serving many practices sees their ids.
    outcomes: Mutex<HashMap<(String, String), RecordOutcome>>,
    arrived: tokio::sync::Notify,
}

/// How many outcomes [`MessageEvents`] keeps for messages nobody is tracking (any one goes
/// beyond; a tracker that missed its event still polls).
const KEPT_OUTCOMES: usize = 10_000;

impl fmt::Debug for MessageEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.shared.outcomes.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("MessageEvents").field("outcomes", &count).finish()
    }
}

impl MessageEvents {
    /// Nothing observed yet.
    pub fn new() -> Self {
        MessageEvents::default()
    }

    /// Takes a verified webhook event: a `write-to-record.succeeded` or `.failed` about a
    /// `Message` is kept for that message of that practice group; whether it was one. (A form
    /// submission written to the record is another object, and is not taken.)
    pub fn observe(&self, event: &WebhookEvent) -> bool {
        let outcome = match event.event {
            EventType::WriteToRecordSucceeded => RecordOutcome::Succeeded,
            EventType::WriteToRecordFailed => RecordOutcome::Failed,
            _ => return false,
        };
        if !event.object.eq_ignore_ascii_case("message") {
            return false;
        }
        let mut outcomes = self.shared.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        if outcomes.len() >= KEPT_OUTCOMES
            && let Some(key) = outcomes.keys().next().cloned()
        {
            outcomes.remove(&key);
        }
        outcomes.insert((event.practice_group_id.clone(), event.id.clone()), outcome);
        drop(outcomes);
        self.shared.arrived.notify_waiters();
        true
    }

    /// The outcome of `sent`, taken: it is forgotten once a tracker has it.
    fn take(&self, sent: &Sent) -> Option<RecordOutcome> {
        let key = (sent.practice_group_id.clone(), sent.message_id.clone());
        self.shared.outcomes.lock().unwrap_or_else(PoisonError::into_inner).remove(&key)
    }
}

/// How [`Messages::track`] follows a message.
#[derive(Debug, Clone)]
pub struct Tracking {
    events: Option<MessageEvents>,
    poll_every: Duration,
    deadline: Duration,
}

/// How often [`Tracking`] reads the message by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);

impl Tracking {
    /// Polls every [`DEFAULT_POLL_INTERVAL`] until `deadline` has passed.
    pub fn within(deadline: Duration) -> Self {
        Tracking { events: None, poll_every: DEFAULT_POLL_INTERVAL, deadline }
    }

    /// Also settles on the write-to-record events your receiver hands to `events`.
    pub fn with_events(mut self, events: &MessageEvents) -> Self {
        self.events = Some(events.clone());
        self
    }

    /// Reads the message this often (at least every 10 ms).
    pub fn poll_every(mut self, interval: Duration) -> Self {
        self.poll_every = interval.max(Duration::from_millis(10));
        self
    }
}

/// The messaging helpers of a [`Client`] (from [`Client::messages`]). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Messages {
    client: Client,
}

impl Client {
    /// Sending messages to patients, and following them.
    pub fn messages(&self) -> Messages {
        Messages { client: self.clone() }
    }
}

impl Messages {
    /// Sends `message` once (`sendMessage`).
    ///
    /// # Errors
    ///
    /// [`MessageError::Invalid`] before sending; [`MessageError::NotSent`] when Hero refused it
    /// or it never left; [`MessageError::OutcomeUnknown`] when it may have gone (never re-sent).
    pub async fn send(&self, message: &Outgoing) -> Result<Sent, MessageError> {
        let body = message.body()?;
        match self.client.send_message().body(body).send().await {
            Ok(answer) => {
                let answer = answer.into_inner();
                let created_at = answer.created_at.into_typed();
                Ok(Sent {
                    message_id: answer.message_id,
                    practice_group_id: self.client.practice_group_id().to_owned(),
                    write_to_record: message.write_to_record,
                    created_at,
                })
            }
            Err(error) if error.may_have_taken_effect() => Err(MessageError::OutcomeUnknown(Box::new(error))),
            Err(error) => Err(MessageError::NotSent(Box::new(error))),
        }
    }

    /// Reads where message `message_id` stands (`getMessage`).
    ///
    /// # Errors
    ///
    /// [`MessageError::Read`].
    pub async fn status(&self, message_id: &str) -> Result<MessageStatus, MessageError> {
        let message = self.state(message_id).await.map_err(|e| MessageError::Read(Box::new(e)))?;
        Ok(MessageStatus { delivery: delivery(message.status.as_ref()), record: record(&message), from_webhook: false })
    }

    /// `GET /v1/messages/{id}` read as [`MessageState`](crate::types::MessageState): the same
    /// request as `client.get_message()`, through the same hooks (auth, retries, size limit),
    /// decoded into the fields the published `Message` does not have yet. They are inferred
    /// (`x-hero-inferred`); adding them to `types::Message` would break code that builds one.
    async fn state(&self, message_id: &str) -> Result<crate::types::MessageState, Error> {
        use progenitor_client::{ClientHooks as _, ClientInfo as _, OperationInfo, ResponseValue};
        const OPERATION: &str = "get_message";
        let client = &self.client;
        let failed = |error: progenitor_client::Error<crate::types::ValidationErrorOrErrorMessage>| {
            Error::from(error).in_operation(OPERATION, client.inner())
        };
        if message_id.is_empty() {
            return Err(failed(progenitor_client::Error::InvalidRequest("the message id is empty".into())));
        }
        let url = format!("{}/v1/messages/{}", client.baseurl(), progenitor_client::encode_path(message_id));
        let mut request = client
            .client()
            .get(url)
            .header(reqwest::header::ACCEPT, reqwest::header::HeaderValue::from_static("application/json"))
            .build()
            .map_err(|e| failed(progenitor_client::Error::from(e)))?;
        let info = OperationInfo { operation_id: OPERATION };
        client.pre(&mut request, &info).await.map_err(failed)?;
        let response = client.exec(request, &info).await.map_err(|e| failed(progenitor_client::Error::from(e)))?;
        match response.status().as_u16() {
            200 => Ok(ResponseValue::<crate::types::MessageState>::from_response(response).await.map_err(failed)?.into_inner()),
            400 | 401 | 403 | 404 | 429 => Err(failed(crate::answer::error_answer(response).await)),
            _ => Err(failed(progenitor_client::Error::UnexpectedResponse(response))),
        }
    }

    /// Follows `sent` until it settles ([`MessageStatus::is_settled`]): from a webhook event
    /// handed to the tracking's [`MessageEvents`], or by reading the message, whichever comes
    /// first.
    ///
    /// # Errors
    ///
    /// [`MessageError::NotSettled`] at the deadline, with the last status;
    /// [`MessageError::Read`] when reading fails for a reason other than a passing one.
    pub async fn track(&self, sent: &Sent, tracking: &Tracking) -> Result<MessageStatus, MessageError> {
        let deadline = tokio::time::Instant::now() + tracking.deadline;
        let mut last = MessageStatus {
            delivery: Delivery::Sent,
            record: if sent.write_to_record { RecordOutcome::Pending } else { RecordOutcome::NotAsked },
            from_webhook: false,
        };
        let from_event = |last: &MessageStatus| {
            let outcome = tracking.events.as_ref().and_then(|events| events.take(sent))?;
            let delivery = if last.delivery == Delivery::Sent { Delivery::Unknown } else { last.delivery.clone() };
            Some(MessageStatus { delivery, record: outcome, from_webhook: true })
        };
        loop {
            // Registered before looking, so an event arriving in between still wakes this.
            let arrived = tracking.events.as_ref().map(|events| events.shared.arrived.notified());
            if let Some(status) = from_event(&last) {
                return Ok(status);
            }
            // A read never outlasts the deadline, whatever its retries would take.
            match tokio::time::timeout_at(deadline, self.status(&sent.message_id)).await {
                Err(_elapsed) => return Err(MessageError::NotSettled { last }),
                Ok(Ok(mut status)) => {
                    // Fields Hero may not send: a record write asked for is pending until said.
                    if sent.write_to_record && status.record == RecordOutcome::NotAsked {
                        status.record = RecordOutcome::Pending;
                    }
                    if status.is_settled() {
                        return Ok(status);
                    }
                    last = status;
                }
                Ok(Err(MessageError::Read(error))) if error.is_retryable() => {}
                Ok(Err(error)) => return Err(error),
            }
            let wake = (tokio::time::Instant::now() + tracking.poll_every).min(deadline);
            let sleep = std::pin::pin!(tokio::time::sleep_until(wake));
            match arrived {
                // Whichever comes first; the other is dropped.
                Some(arrived) => {
                    let _first = futures_util::future::select(std::pin::pin!(arrived), sleep).await;
                }
                None => sleep.await,
            }
            if tokio::time::Instant::now() >= deadline {
                return match from_event(&last) {
                    Some(status) => Ok(status),
                    None => Err(MessageError::NotSettled { last }),
                };
            }
        }
    }
}

fn delivery(status: Option<&crate::types::MessageStateStatus>) -> Delivery {
    use crate::types::MessageStateStatus as S;
    match status {
        Some(S::Sent) | None => Delivery::Sent,
        Some(S::Delivered) => Delivery::Delivered,
        Some(S::Opened) => Delivery::Opened,
        Some(S::FallbackSent) => Delivery::FallbackSent,
        Some(S::Failed) => Delivery::Failed,
        // A state this version does not know: not taken as settled.
        Some(_) => Delivery::Sent,
    }
}

fn record(message: &crate::types::MessageState) -> RecordOutcome {
    use crate::types::MessageStateWriteToRecordStatus as W;
    match message.write_to_record_status.as_ref() {
        Some(W::Succeeded) => RecordOutcome::Succeeded,
        Some(W::Failed) => RecordOutcome::Failed,
        Some(_) => RecordOutcome::Pending,
        None if message.write_to_record == Some(true) => RecordOutcome::Pending,
        None => RecordOutcome::NotAsked,
    }
}
