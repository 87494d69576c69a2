//! A Hero webhook receiver in axum, to copy: verify, then handle.
//!
//! ```text
//! cargo run --example webhook_receiver --features mock,axum
//! ```
//!
//! Without `HERO_API_KEY` it runs against the embedded mock: it registers itself as a webhook,
//! books an appointment, cancels it, and prints the verified events as they arrive. With
//! `HERO_API_KEY` set it only serves `POST /hero/webhooks` on `127.0.0.1:$PORT` (default 8080),
//! for a tunnel or a proxy in front of it, and needs `HERO_WEBHOOK_SIGNING_KEY`: it never falls
//! back to a built-in key there (anyone who read this file could sign deliveries with it).
//!
//! It serves through `GuardedListener`: at most 256 connections at once, each closed when a
//! request's head has not arrived 10 s after it opened or after the last answer; the receiver
//! reads a body of at most 64 KiB within 10 s.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::post;
use hero_health::booking::{Cancellation, SlotQuery};
use hero_health::mock::MockHero;
use hero_health::types::{WebhookCreate, WebhookEventType};
use hero_health::webhooks::axum::{GuardedListener, VerifiedEvent, WebhookReceiver, receive};
use tokio::sync::mpsc;

/// The key the mock run signs with: only ever between this example and its own mock.
const MOCK_ONLY_SIGNING_KEY: &str = "whsec-mock-only";

/// Runs only for a delivery whose signature checked out. Answer 2xx once it is handled; a 5xx
/// makes Hero deliver it again, and it reaches this handler again. An identical delivery later
/// reaches it too (Hero's payload has no event id): handle events idempotently.
async fn on_event(State(events): State<mpsc::UnboundedSender<String>>, VerifiedEvent(event): VerifiedEvent) -> StatusCode {
    // The payload is thin: fetch the appointment by `event.id` for the details.
    match events.send(format!("{} {}", event.event, event.object)) {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn router(receiver: WebhookReceiver, events: mpsc::UnboundedSender<String>) -> Router {
    Router::new().route("/hero/webhooks", post(on_event)).route_layer(middleware::from_fn_with_state(receiver, receive)).with_state(events)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (events, mut received) = mpsc::unbounded_channel();

    if std::env::var_os("HERO_API_KEY").is_some() {
        let signing_key = std::env::var("HERO_WEBHOOK_SIGNING_KEY")
            .map_err(|_| "set HERO_WEBHOOK_SIGNING_KEY to the signing_key the webhook was created with")?;
        let router = router(WebhookReceiver::new(signing_key)?, events);
        let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        println!("listening on http://{}/hero/webhooks", listener.local_addr()?);
        tokio::spawn(async move {
            while let Some(line) = received.recv().await {
                println!("event: {line}")
            }
        });
        axum::serve(GuardedListener::new(listener), router).await?;
        return Ok(());
    }

    let hero = MockHero::start().await?;
    let signing_key = MOCK_ONLY_SIGNING_KEY.to_owned();
    // The mock signs by its clock: the receiver judges timestamps by the same one.
    let router = router(WebhookReceiver::new(signing_key.clone())?.with_clock(hero.clock()), events);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hero/webhooks", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(GuardedListener::new(listener), router).await });
    println!("No HERO_API_KEY: the embedded mock Hero delivers to {url}");

    let client = hero.client();
    for event_type in [WebhookEventType::AppointmentConfirmed, WebhookEventType::AppointmentCancelled] {
        let webhook = WebhookCreate {
            url: url.parse()?,
            event_type,
            signing_key: Some(signing_key.clone()),
            description: None,
            headers: Default::default(),
        };
        client.create_webhook().body(webhook).send().await?;
    }
    let booking = Arc::new(client.booking());
    let slots = booking.slots(&SlotQuery::new()).await?;
    // It is cancelled next: outside the practice's 24 h cancellation window, with room to spare
    // (by the client's clock, the one its cancellation check reads).
    let now = client.clock().now();
    let slot = slots
        .iter()
        .find(|s| s.start_time.is_some_and(|start| start - now >= chrono::Duration::hours(25)))
        .ok_or("no free slot more than 25 h away")?;
    let appointment = booking.book(slot, None).await?;
    println!("booked appointment {}", appointment.id);
    booking.cancel(&appointment, &Cancellation::new().without_mail()).await?;
    println!("cancelled it");

    for _ in 0..2 {
        let line = tokio::time::timeout(Duration::from_secs(10), received.recv()).await?.ok_or("the receiver stopped")?;
        println!("verified event: {line}");
    }
    Ok(())
}
