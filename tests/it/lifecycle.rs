//! After booking: release, cancel and reschedule against the mock, each outcome including the
//! ambiguous ones; and Hero's webhooks delivered by the mock to an axum receiver.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use hero_health::booking::{BookingError, Cancellation, NotAllowed, Released, Reschedule};
use hero_health::mock::{DeliveryFault, DeliveryOutcome, Fault, FaultKind, MockHero};
use hero_health::types::{Appointment, Slot, WebhookCreate, WebhookEventType};
use hero_health::webhooks::EventType;
use hero_health::webhooks::axum::{VerifiedEvent, WebhookReceiver, receive};

use crate::support::{free_slots as slots, operations};

async fn booked(hero: &MockHero, slot: &Slot) -> Appointment {
    hero.client().booking().book(slot, Some(&"1234".parse().unwrap())).await.unwrap()
}

#[tokio::test]
async fn release_frees_the_slot_for_another_practice_group() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let reservation = hero.client().booking().reserve(&slot, None).await.unwrap();
    let other = hero.client_builder().with_practice_group_id("2").build().unwrap();
    assert!(matches!(other.booking().reserve(&slot, None).await, Err(BookingError::SlotUnavailable)), "held");

    let released = reservation.release().await.unwrap();

    let Released::Freed(appointment) = released else { panic!("the hold was there to free") };
    assert!(appointment.cancelled_at.is_some());
    assert!(hero.free_slots().contains(&slot));
    other.booking().reserve(&slot, None).await.expect("the other practice group gets the slot");
    // No webhook for a hold given up: Hero announces appointments, not reservations.
    assert!(hero.deliveries().is_empty());
}

#[tokio::test]
async fn releasing_a_lapsed_hold_says_it_was_already_gone() {
    let hero = MockHero::builder().with_hold_period(Duration::from_secs(60)).start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let reservation = hero.client().booking().reserve(&slot, None).await.unwrap();
    hero.advance(Duration::from_secs(120));
    assert_eq!(reservation.release().await.unwrap(), Released::AlreadyGone);
}

#[tokio::test]
async fn cancel_inside_the_policy_window_is_refused_before_sending() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let mut appointment = booked(&hero, &slot).await;
    // As read an hour before it starts (the practice's window is 24 h).
    appointment.start_time = Some(hero.now() + chrono::Duration::hours(1));
    hero.clear_requests();

    let error = hero.client().booking().cancel(&appointment, &Cancellation::new()).await.unwrap_err();

    assert!(
        matches!(&error, BookingError::NotAllowed { action: "cancel", why: NotAllowed::InsidePolicyWindow { hours: 24, .. }, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("overriding_policy"), "says how to override: {error}");
    assert!(hero.requests().is_empty(), "0 requests sent");

    // Overriding the policy sends it, with suppress_cancellation_policy.
    let cancelled = hero.client().booking().cancel(&appointment, &Cancellation::new().overriding_policy()).await.unwrap();
    assert!(cancelled.cancelled_at.is_some());
}

#[tokio::test]
async fn the_mock_enforces_the_policy_window_on_its_own_clock() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let appointment = booked(&hero, &slot).await;
    // The mock's clock moves to 2 h before the start; a client on the system clock (skewed on
    // purpose) does not know, and sends the cancel.
    hero.advance_to(slot.start_time.unwrap() - chrono::Duration::hours(2)).unwrap();
    let skewed = hero.client_builder().with_clock(hero_health::clock::SystemClock).build().unwrap();

    let error = skewed.booking().cancel(&appointment, &Cancellation::new()).await.unwrap_err();
    assert!(matches!(&error, BookingError::Rejected { status: 400, issues, .. } if issues[0].contains("cancellation_policy")), "{error:?}");
    assert!(!hero.free_slots().contains(&slot), "still booked");
}

#[tokio::test]
async fn cancel_frees_the_slot_and_a_cancelled_appointment_cannot_be_confirmed_or_cancelled_again() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let appointment = booked(&hero, &slot).await;
    let booking = hero.client().booking();

    let cancelled = booking.cancel(&appointment, &Cancellation::new().without_mail()).await.unwrap();

    assert!(cancelled.cancelled_at.is_some() && !cancelled.can_be_cancelled);
    assert!(hero.free_slots().contains(&slot));
    let again = booking.cancel(&cancelled, &Cancellation::new()).await.unwrap_err();
    assert!(matches!(again, BookingError::NotAllowed { why: NotAllowed::AlreadyCancelled, .. }), "{again:?}");
    // Confirming it again (the raw call) is refused by the mock, as by Hero.
    let confirm = hero.client().book_appointment().id(appointment.id.clone()).send().await.unwrap_err();
    assert_eq!(confirm.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(confirm.validation().unwrap().message[0].code, "appointment_cancelled");
}

/// Hero validates a body before it looks at the appointment: a malformed edit of a confirmed
/// appointment is the validation 400, not "appointment_confirmed" (the mock is not kinder).
#[tokio::test]
async fn the_mock_validates_an_edit_body_before_the_appointments_state() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let appointment = booked(&hero, &slot).await;
    let response = reqwest::Client::new()
        .put(format!("{}/v1/appointments/{}", hero.url(), appointment.id))
        .header("x-api-key", hero.api_key())
        .header("x-practice-group-id", "1")
        .json(&serde_json::json!({"practitioner_id": "not-a-number", "start_time": slot.start_time}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    let codes: Vec<&str> = body["message"].as_array().unwrap().iter().filter_map(|i| i["code"].as_str()).collect();
    assert!(!codes.is_empty() && !codes.contains(&"appointment_confirmed"), "the body's own problems: {body}");
}

#[tokio::test]
async fn a_cancel_that_commits_then_times_out_is_settled_by_reading_back() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let appointment = booked(&hero, &slot).await;
    let client = hero.client_builder().with_timeout(Duration::from_millis(300)).build().unwrap();
    hero.inject(Fault::on("cancelAppointment", FaultKind::CommitThenTimeout(Duration::from_secs(2)))).unwrap();
    hero.clear_requests();

    let cancelled = client.booking().cancel(&appointment, &Cancellation::new()).await.unwrap();

    assert!(cancelled.cancelled_at.is_some());
    assert_eq!(operations(&hero), ["cancelAppointment", "getAppointment"], "cancel once, then read back");
}

#[tokio::test]
async fn a_cancel_that_commits_late_is_never_reported_as_not_done() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let appointment = booked(&hero, &slot).await;
    let client = hero.client_builder().with_timeout(Duration::from_millis(300)).build().unwrap();
    hero.inject(Fault::on("cancelAppointment", FaultKind::Latency(Duration::from_millis(1500))).times(2)).unwrap();

    let error = client.booking().cancel(&appointment, &Cancellation::new()).await.unwrap_err();

    assert!(matches!(&error, BookingError::OutcomeUnknown { operation: "cancel", .. }), "{error:?}");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let read = hero.client().booking().appointment(appointment.id.as_str()).await.unwrap();
    assert!(read.cancelled_at.is_some(), "the late commit landed, as the error warned it might");
}

#[tokio::test]
async fn reschedule_moves_the_booking_and_frees_the_old_slot() {
    let hero = MockHero::start().await.unwrap();
    let all = slots(&hero).await;
    let appointment = booked(&hero, &all[0]).await;

    let moved = hero.client().booking().reschedule(&appointment, &all[1], &Reschedule::new()).await.unwrap();

    assert_eq!(moved.id, appointment.id);
    assert_eq!(moved.start_time, all[1].start_time);
    assert!(hero.free_slots().contains(&all[0]) && !hero.free_slots().contains(&all[1]));
}

#[tokio::test]
async fn reschedule_to_a_taken_slot_leaves_the_original_booking_intact() {
    let hero = MockHero::start().await.unwrap();
    let all = slots(&hero).await;
    let appointment = booked(&hero, &all[0]).await;
    booked(&hero, &all[1]).await;

    let error = hero.client().booking().reschedule(&appointment, &all[1], &Reschedule::new()).await.unwrap_err();

    assert!(matches!(error, BookingError::SlotUnavailable), "{error:?}");
    let read = hero.client().booking().appointment(appointment.id.as_str()).await.unwrap();
    assert_eq!(read.start_time, all[0].start_time, "still where it was");
    assert!(read.cancelled_at.is_none());
}

#[tokio::test]
async fn a_reservation_is_not_rescheduled_but_edited() {
    let hero = MockHero::start().await.unwrap();
    let all = slots(&hero).await;
    let reservation = hero.client().booking().reserve(&all[0], None).await.unwrap();
    let held = hero.client().booking().appointment(reservation.id()).await.unwrap();
    hero.clear_requests();
    let error = hero.client().booking().reschedule(&held, &all[1], &Reschedule::new()).await.unwrap_err();
    assert!(matches!(error, BookingError::NotAllowed { why: NotAllowed::NotConfirmed, .. }), "{error:?}");
    assert!(hero.requests().is_empty());
}

/// What the receiver's handler saw, in order.
type Seen = Arc<Mutex<Vec<(EventType, String)>>>;

#[derive(Clone)]
struct AppState {
    seen: Seen,
    /// Answer 500 to this many deliveries first.
    fail_first: Arc<Mutex<u32>>,
}

async fn on_event(
    axum::extract::State(state): axum::extract::State<AppState>,
    VerifiedEvent(event): VerifiedEvent,
) -> axum::http::StatusCode {
    let mut fail = state.fail_first.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
    }
    state.seen.lock().unwrap().push((event.event, event.id));
    axum::http::StatusCode::NO_CONTENT
}

/// A receiver on 127.0.0.1, registered with the mock for `events`; what its handler saw.
async fn receiver(hero: &MockHero, events: &[WebhookEventType], fail_first: u32) -> Seen {
    let key = "whsec-lifecycle-test";
    let seen: Seen = Arc::default();
    // The mock signs by its clock: the receiver judges timestamps by the same one.
    let receiver = WebhookReceiver::new(key).unwrap().with_clock(hero.clock());
    let state = AppState { seen: seen.clone(), fail_first: Arc::new(Mutex::new(fail_first)) };
    let app =
        Router::new().route("/hero", post(on_event)).route_layer(axum::middleware::from_fn_with_state(receiver, receive)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hero", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    for event in events {
        let body = WebhookCreate {
            url: url.parse().unwrap(),
            event_type: event.clone(),
            signing_key: Some(key.into()),
            description: None,
            headers: Default::default(),
        };
        hero.client().create_webhook().body(body).send().await.unwrap();
    }
    seen
}

#[tokio::test]
async fn a_receiver_gets_the_verified_events_in_order_and_a_duplicate_is_never_lost() {
    let hero = MockHero::start().await.unwrap();
    let seen = receiver(
        &hero,
        &[WebhookEventType::AppointmentConfirmed, WebhookEventType::AppointmentCancelled, WebhookEventType::AppointmentRescheduled],
        0,
    )
    .await;
    let all = slots(&hero).await;

    let appointment = booked(&hero, &all[0]).await;
    hero.inject_delivery_fault(DeliveryFault::Duplicate);
    let moved = hero.client().booking().reschedule(&appointment, &all[1], &Reschedule::new()).await.unwrap();
    hero.client().booking().cancel(&moved, &Cancellation::new()).await.unwrap();
    assert!(hero.deliveries_settled(Duration::from_secs(10)).await);

    let id = appointment.id.to_string();
    // The duplicate reaches the handler again: Hero's payload has no event id, so an identical
    // delivery may be a second event, and a thin event handled twice is harmless.
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (EventType::AppointmentConfirmed, id.clone()),
            (EventType::AppointmentRescheduled, id.clone()),
            (EventType::AppointmentRescheduled, id.clone()),
            (EventType::AppointmentCancelled, id)
        ]
    );
    let deliveries = hero.deliveries();
    let duplicate = deliveries.iter().find(|d| d.duplicate).expect("the duplicate was sent");
    assert_eq!(duplicate.outcome, DeliveryOutcome::Answered(204), "handled, in order, never lost");
}

/// A mock started in another year, its clock moved on by days: a receiver on the mock's clock
/// verifies every delivery (one on the system clock would refuse them all with 401).
#[tokio::test]
async fn a_receiver_on_the_mocks_clock_verifies_deliveries_at_any_instant() {
    let hero = crate::support::mock_at("2031-05-06T10:00:00Z").await;
    let seen = receiver(&hero, &[WebhookEventType::AppointmentConfirmed], 0).await;
    let all = slots(&hero).await;
    booked(&hero, &all[0]).await;
    // Delivered before time jumps: a delivery in flight across a jump would be judged at the
    // later instant (and refused, then signed anew and accepted on the retry).
    assert!(hero.deliveries_settled(Duration::from_secs(10)).await);
    hero.advance(Duration::from_secs(2 * 3600));
    booked(&hero, &all[1]).await;
    assert!(hero.deliveries_settled(Duration::from_secs(10)).await);

    assert_eq!(seen.lock().unwrap().len(), 2, "{:?}", hero.deliveries());
    assert!(hero.deliveries().iter().all(|d| d.outcome == DeliveryOutcome::Answered(204)), "{:?}", hero.deliveries());
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_delivery() {
    let hero = MockHero::builder().with_delivery_retries(5, Duration::from_millis(20)).start().await.unwrap();
    let seen = receiver(&hero, &[WebhookEventType::AppointmentConfirmed], 2).await;
    let slot = slots(&hero).await.remove(0);

    booked(&hero, &slot).await;
    assert!(hero.deliveries_settled(Duration::from_secs(10)).await);

    let attempts: Vec<(u32, DeliveryOutcome)> = hero.deliveries().into_iter().map(|d| (d.attempt, d.outcome)).collect();
    assert_eq!(attempts, [(1, DeliveryOutcome::Answered(500)), (2, DeliveryOutcome::Answered(500)), (3, DeliveryOutcome::Answered(204))]);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_tampered_delivery_is_refused_and_never_reaches_the_handler() {
    let hero = MockHero::builder().with_delivery_retries(1, Duration::from_millis(20)).start().await.unwrap();
    let seen = receiver(&hero, &[WebhookEventType::AppointmentConfirmed], 0).await;
    let slot = slots(&hero).await.remove(0);
    hero.inject_delivery_fault(DeliveryFault::BadSignature);

    booked(&hero, &slot).await;
    assert!(hero.deliveries_settled(Duration::from_secs(10)).await);

    assert_eq!(hero.deliveries()[0].outcome, DeliveryOutcome::Answered(401));
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_dropped_delivery_is_logged_and_never_sent() {
    let hero = MockHero::start().await.unwrap();
    let seen = receiver(&hero, &[WebhookEventType::AppointmentConfirmed], 0).await;
    let slot = slots(&hero).await.remove(0);
    hero.inject_delivery_fault(DeliveryFault::Drop);

    booked(&hero, &slot).await;
    assert!(hero.deliveries_settled(Duration::from_secs(10)).await);

    assert_eq!(hero.deliveries()[0].outcome, DeliveryOutcome::Dropped);
    assert!(seen.lock().unwrap().is_empty());
    // The webhook list holds the webhook, never its signing key; nor does the mock's Debug.
    let hooks = hero.client().list_webhooks().send().await.unwrap().into_inner();
    assert_eq!(hooks.count, 1);
    assert!(hooks.data[0].signing_key.is_none());
    let debug = format!("{hero:?}");
    assert!(!debug.contains("whsec-lifecycle-test") && !debug.contains("1234"), "{debug}");
}

#[tokio::test]
async fn a_delayed_delivery_still_arrives_and_the_log_is_bounded() {
    let hero = MockHero::builder().with_request_log_limit(1).start().await.unwrap();
    let seen = receiver(&hero, &[WebhookEventType::AppointmentConfirmed], 0).await;
    let all = slots(&hero).await;
    hero.inject_delivery_fault(DeliveryFault::Delay(Duration::from_millis(300)));

    booked(&hero, &all[0]).await;
    booked(&hero, &all[1]).await;
    assert!(hero.deliveries_settled(Duration::from_secs(10)).await);

    assert_eq!(seen.lock().unwrap().len(), 2, "the delayed one and the next, in order");
    assert_eq!(hero.deliveries().len(), 1, "the log keeps the latest `with_request_log_limit` attempts");
}

/// A client that gives up after 300 ms and never retries: what an app sees when Hero is slow.
fn impatient(hero: &MockHero) -> hero_health::Client {
    hero.client_builder().with_timeout(Duration::from_millis(300)).with_retry_policy(hero_health::RetryPolicy::none()).build().unwrap()
}

#[tokio::test]
async fn release_after_a_confirmation_that_committed_unseen_refuses_and_keeps_the_booking() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let reservation = impatient(&hero).booking().reserve(&slot, Some(&"1234".parse().unwrap())).await.unwrap();
    // Committed, then no answer; the read-backs answered 503: the app cannot tell.
    hero.inject(Fault::on("bookAppointment", FaultKind::CommitThenTimeout(Duration::from_secs(1)))).unwrap();
    hero.inject(Fault::on("getAppointment", FaultKind::ServerError(503)).times(1)).unwrap();
    let error = reservation.confirm().await.unwrap_err();
    assert!(matches!(error, BookingError::OutcomeUnknown { operation: "confirm", .. }), "{error:?}");
    hero.clear_requests();

    let error = reservation.clone().release().await.unwrap_err();

    assert!(matches!(&error, BookingError::NotAllowed { action: "release", why: NotAllowed::Booked, .. }), "{error:?}");
    assert_eq!(operations(&hero), ["getAppointment"], "read, and nothing cancelled");
    let read = hero.client().booking().appointment(reservation.id()).await.unwrap();
    assert!(read.booking_confirmed_at.is_some() && read.cancelled_at.is_none(), "the patient's appointment stands");
}

#[tokio::test]
async fn release_while_a_confirmation_may_still_land_refuses() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let reservation = impatient(&hero).booking().reserve(&slot, None).await.unwrap();
    // The confirmation commits 1.5 s late, after the client and its re-send gave up.
    hero.inject(Fault::on("bookAppointment", FaultKind::Latency(Duration::from_millis(1500))).times(2)).unwrap();
    let error = reservation.confirm().await.unwrap_err();
    assert!(matches!(error, BookingError::OutcomeUnknown { operation: "confirm", .. }), "{error:?}");
    hero.clear_requests();

    let error = reservation.clone().release().await.unwrap_err();

    assert!(matches!(&error, BookingError::NotAllowed { why: NotAllowed::ConfirmationMayLand, .. }), "{error:?}");
    assert_eq!(operations(&hero), ["getAppointment"]);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let read = hero.client().booking().appointment(reservation.id()).await.unwrap();
    assert!(read.booking_confirmed_at.is_some() && read.cancelled_at.is_none(), "it landed, and was not cancelled under it");
    let error = reservation.release().await.unwrap_err();
    assert!(matches!(&error, BookingError::NotAllowed { why: NotAllowed::Booked, .. }), "{error:?}");
}

#[tokio::test]
async fn releasing_twice_is_already_gone_the_second_time() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let reservation = hero.client().booking().reserve(&slot, None).await.unwrap();
    assert!(matches!(reservation.clone().release().await.unwrap(), Released::Freed(_)));
    hero.clear_requests();
    assert_eq!(reservation.release().await.unwrap(), Released::AlreadyGone);
    assert_eq!(operations(&hero), ["getAppointment"], "read, nothing sent");
}

#[tokio::test]
async fn a_late_reschedule_never_undoes_a_later_one() {
    let hero = MockHero::start().await.unwrap();
    let all = slots(&hero).await;
    let appointment = booked(&hero, &all[0]).await;
    // The move to X lands 1.5 s late; the app has long given up on it.
    hero.inject(Fault::on("rescheduleAppointment", FaultKind::Latency(Duration::from_millis(1500)))).unwrap();
    hero.clear_requests();
    let error = impatient(&hero).booking().reschedule(&appointment, &all[1], &Reschedule::new()).await.unwrap_err();
    assert!(matches!(&error, BookingError::OutcomeUnknown { operation: "reschedule", .. }), "{error:?}");
    assert_eq!(operations(&hero), ["rescheduleAppointment", "getAppointment"], "never sent twice");

    // Moving it to Y now could be overtaken by the late request: refused, nothing sent (any
    // client of this process knows).
    hero.clear_requests();
    let error = hero.client().booking().reschedule(&appointment, &all[2], &Reschedule::new()).await.unwrap_err();
    assert!(
        matches!(&error, BookingError::NotAllowed { action: "reschedule", why: NotAllowed::EarlierMoveUnsettled { .. }, .. }),
        "{error:?}"
    );
    assert_eq!(operations(&hero), ["getAppointment"]);

    // Once it reads as landed, the move to Y goes, and nothing moves it back.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let at_x = hero.client().booking().appointment(appointment.id.as_str()).await.unwrap();
    assert_eq!(at_x.start_time, all[1].start_time);
    let at_y = hero.client().booking().reschedule(&at_x, &all[2], &Reschedule::new()).await.unwrap();
    assert_eq!(at_y.start_time, all[2].start_time);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let read = hero.client().booking().appointment(appointment.id.as_str()).await.unwrap();
    assert_eq!(read.start_time, all[2].start_time, "the last Ok the app saw is where it is");
}

#[tokio::test]
async fn an_unanswered_move_that_never_lands_blocks_only_for_its_window() {
    let hero = MockHero::start().await.unwrap();
    let all = slots(&hero).await;
    let appointment = booked(&hero, &all[0]).await;
    // 503 does nothing, but the client cannot know that.
    hero.inject(Fault::on("rescheduleAppointment", FaultKind::ServerError(503))).unwrap();
    let error = impatient(&hero).booking().reschedule(&appointment, &all[1], &Reschedule::new()).await.unwrap_err();
    assert!(matches!(&error, BookingError::OutcomeUnknown { .. }), "{error:?}");
    let error = hero.client().booking().reschedule(&appointment, &all[2], &Reschedule::new()).await.unwrap_err();
    assert!(matches!(&error, BookingError::NotAllowed { why: NotAllowed::EarlierMoveUnsettled { .. }, .. }), "{error:?}");

    hero.advance(hero_health::booking::UNSETTLED_MOVE_WINDOW + Duration::from_secs(1));
    let moved = hero.client().booking().reschedule(&appointment, &all[2], &Reschedule::new()).await.unwrap();
    assert_eq!(moved.start_time, all[2].start_time);
}

#[tokio::test]
async fn concurrent_cancels_all_report_the_appointment_cancelled() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let appointment = booked(&hero, &slot).await;
    let client = hero.client();
    let booking = client.booking();
    let how = Cancellation::new();
    let (a, b, c) =
        tokio::join!(booking.cancel(&appointment, &how), booking.cancel(&appointment, &how), booking.cancel(&appointment, &how));
    for outcome in [a, b, c] {
        assert!(outcome.expect("cancelled, as asked").cancelled_at.is_some());
    }
}

/// A webhook to a URL where nothing listens (connection refused): the receiver that never
/// answers.
async fn unanswered_webhook(hero: &MockHero) -> String {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hero", closed.local_addr().unwrap());
    drop(closed);
    let body = WebhookCreate {
        url: url.parse().unwrap(),
        event_type: WebhookEventType::AppointmentConfirmed,
        signing_key: Some("whsec-unanswered".into()),
        description: None,
        headers: Default::default(),
    };
    hero.client().create_webhook().body(body).send().await.unwrap().into_inner().id
}

#[tokio::test]
async fn a_receiver_that_never_answers_cannot_grow_the_mocks_queue_without_bound() {
    // Each delivery retries for long enough that the queue fills behind the first.
    let hero = MockHero::builder().with_delivery_retries(3, Duration::from_secs(2)).with_delivery_queue_limit(2).start().await.unwrap();
    unanswered_webhook(&hero).await;
    let all = slots(&hero).await;
    for slot in &all[..5] {
        booked(&hero, slot).await;
    }
    let full = hero.deliveries().iter().filter(|d| d.outcome == DeliveryOutcome::QueueFull).count();
    // Two wait, and one is being delivered unless the worker has not taken it yet: the others
    // are not queued, and logged as such.
    assert!((2..=3).contains(&full), "{:#?}", hero.deliveries());
}

#[tokio::test]
async fn deleting_a_webhook_stops_its_queued_deliveries_and_retries() {
    let hero = MockHero::builder().with_delivery_retries(5, Duration::from_millis(300)).start().await.unwrap();
    let id = unanswered_webhook(&hero).await;
    let all = slots(&hero).await;
    booked(&hero, &all[0]).await;
    booked(&hero, &all[1]).await;
    // The first attempt of the first event has failed; the webhook goes.
    while hero.deliveries().is_empty() {
        tokio::task::yield_now().await;
    }
    hero.client().delete_webhook().id(id.as_str()).send().await.unwrap();
    assert!(hero.deliveries_settled(Duration::from_secs(10)).await);

    let deliveries = hero.deliveries();
    let sent = deliveries.iter().filter(|d| matches!(d.outcome, DeliveryOutcome::NoAnswer(_))).count();
    let stopped = deliveries.iter().filter(|d| d.outcome == DeliveryOutcome::WebhookDeleted).count();
    assert!(sent <= 2, "at most the attempt in flight when it was deleted, and nothing after: {deliveries:#?}");
    assert_eq!(stopped, 2, "the retry and the queued event were stopped: {deliveries:#?}");
}

#[tokio::test]
async fn release_while_a_confirmation_is_under_way_refuses_and_the_booking_stands() {
    let hero = MockHero::start().await.unwrap();
    let slot = slots(&hero).await.remove(0);
    let reservation = hero.client().booking().reserve(&slot, Some(&"1234".parse().unwrap())).await.unwrap();
    // The confirmation commits at about 200 ms; the release starts at 50 ms, through a clone.
    hero.inject(Fault::on("bookAppointment", FaultKind::Latency(Duration::from_millis(200)))).unwrap();
    let other = reservation.clone();
    let (confirmed, released) = tokio::join!(reservation.confirm(), async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        other.release().await
    });
    assert!(confirmed.unwrap().booking_confirmed_at.is_some());
    let error = released.unwrap_err();
    assert!(matches!(&error, BookingError::NotAllowed { why: NotAllowed::ConfirmationMayLand, .. }), "{error:?}");
    let read = hero.client().booking().appointment(reservation.id()).await.unwrap();
    assert!(read.cancelled_at.is_none(), "the booking the app was told about stands");
}

#[tokio::test]
async fn a_confirmation_the_app_gave_up_on_blocks_release_and_a_release_blocks_confirm() {
    let hero = MockHero::start().await.unwrap();
    let all = slots(&hero).await;
    let booking = hero.client().booking();
    let reservation = booking.reserve(&all[0], None).await.unwrap();
    hero.inject(Fault::on("bookAppointment", FaultKind::Latency(Duration::from_millis(1000)))).unwrap();
    // The app's own timeout drops the call before it knew.
    assert!(tokio::time::timeout(Duration::from_millis(100), reservation.confirm()).await.is_err());
    let error = reservation.clone().release().await.unwrap_err();
    assert!(matches!(&error, BookingError::NotAllowed { why: NotAllowed::ConfirmationMayLand, .. }), "{error:?}");

    // The other way round: once a release began, no clone confirms.
    let held = booking.reserve(&all[1], None).await.unwrap();
    let copy = held.clone();
    assert!(matches!(held.release().await.unwrap(), Released::Freed(_)));
    let error = copy.confirm().await.unwrap_err();
    assert!(matches!(&error, BookingError::NotAllowed { action: "confirm", why: NotAllowed::Released, .. }), "{error:?}");
}

#[tokio::test]
async fn a_move_the_app_gave_up_on_or_still_under_way_blocks_the_next() {
    let hero = MockHero::start().await.unwrap();
    let all = slots(&hero).await;
    let appointment = booked(&hero, &all[0]).await;
    hero.inject(Fault::on("rescheduleAppointment", FaultKind::Latency(Duration::from_millis(1000)))).unwrap();
    let booking = hero.client().booking();
    // Dropped by the app's own timeout: the request is still on its way.
    assert!(tokio::time::timeout(Duration::from_millis(100), booking.reschedule(&appointment, &all[1], &Reschedule::new())).await.is_err());
    let error = booking.reschedule(&appointment, &all[2], &Reschedule::new()).await.unwrap_err();
    assert!(matches!(&error, BookingError::NotAllowed { why: NotAllowed::EarlierMoveUnsettled { .. }, .. }), "{error:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let read = booking.appointment(appointment.id.as_str()).await.unwrap();
    assert_eq!(read.start_time, all[1].start_time, "it landed, and nothing overtook it");

    // Under way, from another task: the second move waits its turn.
    hero.inject(Fault::on("rescheduleAppointment", FaultKind::Latency(Duration::from_millis(300)))).unwrap();
    let how = Reschedule::new();
    let (first, second) = tokio::join!(booking.reschedule(&read, &all[2], &how), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        booking.reschedule(&read, &all[3], &how).await
    });
    assert_eq!(first.unwrap().start_time, all[2].start_time);
    assert!(matches!(second, Err(BookingError::NotAllowed { why: NotAllowed::EarlierMoveUnsettled { .. }, .. })), "{second:?}");
}

/// An unsettled write outlives its process: kept as JSON, settled later by another client.
#[tokio::test]
async fn an_unsettled_reschedule_is_kept_as_data_and_settled_later() {
    let hero = MockHero::start().await.unwrap();
    let all = slots(&hero).await;
    let appointment = booked(&hero, &all[0]).await;
    hero.inject(Fault::on("rescheduleAppointment", FaultKind::ServerError(503))).unwrap();
    let error = impatient(&hero).booking().reschedule(&appointment, &all[1], &Reschedule::new()).await.unwrap_err();
    let write = error.unsettled_write().expect("the move is kept as data");
    let saved = serde_json::to_string(write).unwrap();
    assert!(matches!(&write.write, hero_health::booking::Write::Reschedule { start_time, .. } if Some(*start_time) == all[1].start_time));

    // "Another process": it re-blocks moves of the appointment until the write settles.
    let write: hero_health::booking::UnsettledWrite = serde_json::from_str(&saved).unwrap();
    let later = hero.client().booking();
    later.remember_write(&write);
    let still = later.settle_write(&write).await.unwrap_err();
    assert!(matches!(&still, BookingError::OutcomeUnknown { unsettled: Some(_), .. }), "{still:?}");
    let refused = later.reschedule(&appointment, &all[2], &Reschedule::new()).await.unwrap_err();
    assert!(matches!(&refused, BookingError::NotAllowed { why: NotAllowed::EarlierMoveUnsettled { .. }, .. }), "{refused:?}");

    hero.advance(hero_health::booking::UNSETTLED_MOVE_WINDOW + Duration::from_secs(1));
    let settled = later.settle_write(&write).await.unwrap();
    assert!(matches!(&settled, hero_health::booking::WriteSettled::DidNotLand(a) if a.start_time == all[0].start_time), "{settled:?}");
    let moved = later.reschedule(&appointment, &all[2], &Reschedule::new()).await.unwrap();
    assert_eq!(moved.start_time, all[2].start_time);
}

#[tokio::test]
async fn an_unsettled_cancel_is_finished_by_settling_it() {
    let hero = MockHero::start().await.unwrap();
    let all = slots(&hero).await;
    let appointment = booked(&hero, &all[0]).await;
    let client = hero.client_builder().with_retry_policy(hero_health::RetryPolicy::none()).build().unwrap();
    // The cancel gets a 502 (nothing done) and the read-back a 503: unknown.
    hero.inject(Fault::on("cancelAppointment", FaultKind::ServerError(502))).unwrap();
    hero.inject(Fault::on("getAppointment", FaultKind::ServerError(503))).unwrap();
    let error = client.booking().cancel(&appointment, &Cancellation::new().without_mail()).await.unwrap_err();
    let write: hero_health::booking::UnsettledWrite =
        serde_json::from_str(&serde_json::to_string(error.unsettled_write().unwrap()).unwrap()).unwrap();
    assert_eq!(write.write, hero_health::booking::Write::Cancel { suppress_mail: true, suppress_policy: false, hold: false });

    hero.clear_requests();
    let settled = hero.client().booking().settle_write(&write).await.unwrap();
    assert!(matches!(&settled, hero_health::booking::WriteSettled::Landed(a) if a.cancelled_at.is_some()), "{settled:?}");
    assert_eq!(operations(&hero), ["getAppointment", "cancelAppointment"], "read, then the cancel it asked for");
    // Settling it again finds it done and sends nothing more.
    hero.clear_requests();
    assert!(matches!(hero.client().booking().settle_write(&write).await.unwrap(), hero_health::booking::WriteSettled::Landed(_)));
    assert_eq!(operations(&hero), ["getAppointment"]);
}

#[tokio::test]
async fn settling_a_release_never_cancels_what_became_a_booking() {
    let hero = MockHero::start().await.unwrap();
    let all = slots(&hero).await;
    let client = hero.client_builder().with_retry_policy(hero_health::RetryPolicy::none()).build().unwrap();
    let reservation = client.booking().reserve(&all[0], Some(&"1234".parse().unwrap())).await.unwrap();
    let id = reservation.id().to_owned();
    // The release's cancel gets a 502 (nothing done), and so does the one resend: unknown.
    hero.inject(Fault::on("cancelAppointment", FaultKind::ServerError(502)).times(2)).unwrap();
    let error = reservation.release().await.unwrap_err();
    let write = error.unsettled_write().expect("the release's cancel is kept as data").clone();
    assert!(matches!(write.write, hero_health::booking::Write::Cancel { hold: true, .. }));
    // Meanwhile the hold was confirmed (another process resumed and confirmed it).
    hero.client().book_appointment().id(id.as_str()).send().await.unwrap();
    hero.clear_requests();

    let refused = hero.client().booking().settle_write(&write).await.unwrap_err();

    assert!(matches!(&refused, BookingError::NotAllowed { why: NotAllowed::Booked, .. }), "{refused:?}");
    assert_eq!(operations(&hero), ["getAppointment"], "read, nothing cancelled");
    assert!(hero.client().booking().appointment(&id).await.unwrap().cancelled_at.is_none());
}
