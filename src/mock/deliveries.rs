//! The mock delivers Hero's webhooks: for each event the mock's state announces (appointment
//! confirmed, cancelled, rescheduled), every webhook created for that event type through the API
//! gets Hero's thin payload `{object, id, practice_group_id, event}` by `POST`, signed as Hero
//! signs (`X-Herohealth-Timestamp`, `X-Herohealth-Signature`: HMAC-SHA256 of
//! `"{timestamp}.{raw body}"` with the webhook's `signing_key`).
//!
//! One queue per receiving URL, so a receiver sees its events in order; a delivery it does
//! not answer with 2xx is retried with doubling waits. Every attempt is logged
//! ([`super::MockHero::deliveries`]), and faults ([`DeliveryFault`]) let a test check how its
//! receiver copes with drops, delays, duplicates and bad signatures.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use tokio::sync::mpsc;

use super::Shared;
use super::state::{Event, Subscription};

/// A fault for the next delivery attempt ([`super::MockHero::inject_delivery_fault`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryFault {
    /// The event is lost: not sent, never retried (Hero's delivery guarantees are not
    /// documented; a receiver should reconcile by reading the API).
    Drop,
    /// The attempt waits this long before it is sent.
    Delay(Duration),
    /// The same signed request is sent twice (a replay, or an at-least-once resend).
    Duplicate,
    /// Signed with another key: a receiver must refuse it.
    BadSignature,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The receiver answered with this status.
    Answered(u16),
    /// No answer: connection refused, timed out, or cut (what happened, without the URL).
    NoAnswer(String),
    /// Not sent: a [`DeliveryFault::Drop`].
    Dropped,
    /// Not queued: the receiving URL already had its limit waiting ([`MAX_QUEUED_DELIVERIES`]
    /// by default; a receiver
    /// that never answers). Hero's limits are not documented; the mock's memory is bounded.
    QueueFull,
    /// Not sent (or not retried): the webhook was deleted meanwhile.
    WebhookDeleted,
}

/// How many deliveries may wait for one receiving URL by default
/// ([`super::MockHeroBuilder::with_delivery_queue_limit`]); more are logged as
/// [`DeliveryOutcome::QueueFull`] and not sent.
pub const MAX_QUEUED_DELIVERIES: usize = 1_000;

/// One delivery attempt, as the mock's log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The webhook's id.
    pub webhook_id: String,
    /// The event, such as `appointment.cancelled`.
    pub event: String,
    /// The id of the object the event is about.
    pub object_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Whether this attempt was a [`DeliveryFault::Duplicate`]'s second copy.
    pub duplicate: bool,
    /// What happened.
    pub outcome: DeliveryOutcome,
}

impl Delivery {
    /// Whether the receiver accepted it (2xx).
    pub fn accepted(&self) -> bool {
        matches!(self.outcome, DeliveryOutcome::Answered(status) if (200..300).contains(&status))
    }
}

/// Retry settings ([`super::MockHeroBuilder::with_delivery_retries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retries {
    pub(crate) attempts: u32,
    pub(crate) first_wait: Duration,
    /// How many deliveries may wait for one URL.
    pub(crate) queue_limit: usize,
}

impl Default for Retries {
    fn default() -> Self {
        // Hero does not document its schedule: five attempts, 100 ms then doubling, keeps tests fast.
        Retries { attempts: 5, first_wait: Duration::from_millis(100), queue_limit: MAX_QUEUED_DELIVERIES }
    }
}

/// One event for one webhook.
#[derive(Debug)]
pub(crate) struct Job {
    subscription: Subscription,
    event: Event,
    practice_group_id: String,
}

/// Hands the state's new events to the webhooks subscribed to them.
pub(crate) fn dispatch(shared: &Arc<Shared>) {
    let mut inner = shared.lock();
    let events = inner.state.take_events();
    for event in events {
        for subscription in inner.state.subscribers(&event) {
            let practice_group_id = event.practice_group_id.clone().unwrap_or_else(|| shared.config.practice_group_id.clone());
            let job = Job { subscription: subscription.clone(), event: event.clone(), practice_group_id };
            // One queue per receiving URL: a receiver subscribed to several event types (one
            // webhook each) still gets them in the order they happened.
            let queue = inner.queues.entry(subscription.url.clone()).or_insert_with(|| {
                let (sender, receiver) = mpsc::channel(shared.config.retries.queue_limit);
                let worker = tokio::spawn(work(shared.clone(), receiver));
                (sender, worker)
            });
            match queue.0.try_send(job) {
                Ok(()) => inner.pending_deliveries += 1,
                // A closed queue only happens while the mock shuts down.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
                Err(mpsc::error::TrySendError::Full(job)) => {
                    let entry = Delivery {
                        webhook_id: job.subscription.id.clone(),
                        event: job.event.name.to_owned(),
                        object_id: job.event.id.clone(),
                        attempt: 0,
                        duplicate: false,
                        outcome: DeliveryOutcome::QueueFull,
                    };
                    push_log(&mut inner, entry, shared.config.log_limit);
                }
            }
        }
    }
}

/// One receiver's queue: its events, in order, each with its retries.
async fn work(shared: Arc<Shared>, mut jobs: mpsc::Receiver<Job>) {
    // The mock's own client: no redirects (a delivery must not follow one), a short timeout.
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(5)).build().unwrap_or_default();
    while let Some(job) = jobs.recv().await {
        deliver(&shared, &client, &job).await;
        let mut inner = shared.lock();
        inner.pending_deliveries = inner.pending_deliveries.saturating_sub(1);
        drop(inner);
        shared.delivered.notify_waiters();
    }
}

async fn deliver(shared: &Shared, client: &reqwest::Client, job: &Job) {
    let body = serde_json::json!({
        "object": job.event.object,
        "id": job.event.id,
        "practice_group_id": job.practice_group_id,
        "event": job.event.name,
    })
    .to_string();
    let retries = shared.config.retries;
    let mut wait = retries.first_wait;
    for attempt in 1..=retries.attempts.max(1) {
        let fault = shared.lock().delivery_faults.pop_front();
        let log = |duplicate: bool, outcome: DeliveryOutcome| {
            let entry = Delivery {
                webhook_id: job.subscription.id.clone(),
                event: job.event.name.to_owned(),
                object_id: job.event.id.clone(),
                attempt,
                duplicate,
                outcome,
            };
            push_log(&mut shared.lock(), entry, shared.config.log_limit);
        };
        if !shared.lock().state.has_webhook(&job.subscription.id) {
            return log(false, DeliveryOutcome::WebhookDeleted);
        }
        match &fault {
            Some(DeliveryFault::Drop) => return log(false, DeliveryOutcome::Dropped),
            Some(DeliveryFault::Delay(by)) => {
                tokio::time::sleep(*by).await;
                // Deleted while it waited: not sent.
                if !shared.lock().state.has_webhook(&job.subscription.id) {
                    return log(false, DeliveryOutcome::WebhookDeleted);
                }
            }
            _ => {}
        }
        let key = match (&fault, &job.subscription.signing_key) {
            (Some(DeliveryFault::BadSignature), _) => Some("not-the-webhook-signing-key"),
            (_, key) => key.as_deref(),
        };
        let request = build(client, &job.subscription, &body, key, shared.clock.now());
        let outcome = send(request.try_clone(), client).await;
        let accepted = matches!(outcome, DeliveryOutcome::Answered(status) if (200..300).contains(&status));
        log(false, outcome);
        if fault == Some(DeliveryFault::Duplicate) {
            let again = send(request.try_clone(), client).await;
            log(true, again);
        }
        if accepted {
            return;
        }
        if attempt < retries.attempts {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
    }
}

/// Logs one attempt, bounded like the request log: a long-running mock does not grow without
/// limit.
fn push_log(inner: &mut super::Inner, entry: Delivery, limit: usize) {
    inner.deliveries.push(entry);
    let excess = inner.deliveries.len().saturating_sub(limit);
    inner.deliveries.drain(..excess);
}

/// The signed request, signed at `now` (the mock's clock, so a receiver verifying by that clock
/// agrees); the signature is over the exact bytes sent.
fn build(
    client: &reqwest::Client,
    subscription: &Subscription,
    body: &str,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> reqwest::RequestBuilder {
    let mut request =
        client.post(&subscription.url).header(CONTENT_TYPE, HeaderValue::from_static("application/json")).body(body.to_owned());
    for (name, value) in &subscription.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            request = request.header(name, value);
        }
    }
    if let Some(key) = key {
        // Signed at send time, in milliseconds: a retry is a new signature, while a byte-identical
        // repeat (the `Duplicate` fault, a replay) is the same one.
        request = request.headers(crate::webhooks::sign_with_timestamp(body.as_bytes(), key, &now.timestamp_millis().to_string()));
    }
    request
}

async fn send(request: Option<reqwest::RequestBuilder>, client: &reqwest::Client) -> DeliveryOutcome {
    let Some(request) = request.and_then(|r| r.build().ok()) else {
        return DeliveryOutcome::NoAnswer("the request could not be built".into());
    };
    match client.execute(request).await {
        Ok(answer) => DeliveryOutcome::Answered(answer.status().as_u16()),
        // reqwest's error names the URL; the log keeps what happened only.
        Err(error) => DeliveryOutcome::NoAnswer(if error.is_timeout() {
            "timed out".into()
        } else if error.is_connect() {
            "connection refused".into()
        } else {
            "no answer".into()
        }),
    }
}
