//! A Hero webhook receiver in axum, to copy: verify, then handle.
//!
//! ```text
//! cargo run --example webhook_receiver --features mock,axum
//! ```
//!
//! Without `HERO_API_KEY` it runs against the embedded mock: it registers itself as a webhook,
//! books an appointment, cancels it, and prints the verified events as they arrive. With
//! `HERO_API_KEY` and `HERO_WEBHOOK_SIGNING_KEY` set it only serves `POST /hero/webhooks` on
//! `127.0.0.1:$PORT` (default 8080), for a tunnel or a proxy in front of it.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use hero_health::booking::{Cancellation, SlotQuery};
use hero_health::mock::MockHero;
use hero_health::types::{WebhookCreate, WebhookEventType};
use hero_health::webhooks::axum::{VerifiedEvent, WebhookReceiver};
use tokio::sync::mpsc;

#[derive(Clone)]
struct App {
    receiver: WebhookReceiver,
    events: mpsc::UnboundedSender<String>,
}

impl FromRef<App> for WebhookReceiver {
    fn from_ref(app: &App) -> Self {
        app.receiver.clone()
    }
}

/// Runs only for a delivery whose signature checked out, the first time it is seen. Answer 2xx
/// once it is handled; a 5xx makes Hero deliver it again (signed anew).
async fn on_event(State(app): State<App>, VerifiedEvent(event): VerifiedEvent) -> StatusCode {
    // The payload is thin: fetch the appointment by `event.id` for the details.
    let _ = app.events.send(format!("{} {} {}", event.event, event.object, event.id));
    StatusCode::NO_CONTENT
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let signing_key = std::env::var("HERO_WEBHOOK_SIGNING_KEY").unwrap_or_else(|_| "whsec-example-key".into());
    let (events, mut received) = mpsc::unbounded_channel();
    let app = App { receiver: WebhookReceiver::new(signing_key.clone())?, events };
    let router = Router::new().route("/hero/webhooks", post(on_event)).with_state(app);

    if std::env::var_os("HERO_API_KEY").is_some() {
        let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        println!("listening on http://{}/hero/webhooks", listener.local_addr()?);
        tokio::spawn(async move {
            while let Some(line) = received.recv().await {
                println!("event: {line}")
            }
        });
        axum::serve(listener, router).await?;
        return Ok(());
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hero/webhooks", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let hero = MockHero::start().await?;
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
