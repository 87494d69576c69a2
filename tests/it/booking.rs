//! The reserve-then-book flow against the mock Hero server: the happy path in two requests, and
//! every way partners get booking wrong (expired holds, racing clients, ambiguous confirms,
//! timed-out reserves).

use std::num::NonZeroU64;
use std::time::Duration;

use futures_util::StreamExt;
use hero_health::Id;
use hero_health::booking::{BookingError, LinkRef, SlotQuery};
use hero_health::mock::{Fault, FaultKind, MockError, MockHero};
use hero_health::types::{AppointmentEdit, Slot, VideoLinkCreate};

use crate::support::operations;

async fn first_slot(hero: &MockHero) -> Slot {
    crate::support::free_slots(hero).await.remove(0)
}

#[tokio::test]
async fn booking_takes_exactly_two_requests_and_confirms() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    hero.clear_requests();

    let appointment = hero.client().booking().book(&slot, Some(&"1234".parse().unwrap())).await.unwrap();

    assert_eq!(operations(&hero), ["createAppointment", "bookAppointment"]);
    assert!(appointment.booking_confirmed_at.is_some());
    assert_eq!(appointment.reserved_until, None);
    assert_eq!(appointment.start_time, slot.start_time);
    assert_eq!(appointment.patient_id.as_ref().map(|p| p.as_str()), Some("1234"));
    assert!(!hero.free_slots().contains(&slot), "a booked slot is no longer offered");
}

#[tokio::test]
async fn a_reservation_carries_its_hold_and_request() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let reservation = hero.client().booking().reserve(&slot, None).await.unwrap();
    let left = reservation.time_left().unwrap();
    let hold = hero_health::mock::DEFAULT_HOLD_PERIOD;
    assert!(left > hold - Duration::from_secs(10) && left <= hold, "{left:?}");
    assert_eq!(reservation.request().start_time, slot.start_time);
    assert_eq!(reservation.request().duration, 10);
    let until = reservation.reserved_until().expect("the mock says how long it holds");
    assert!((until - hero.now()).to_std().unwrap() > hold - Duration::from_secs(10));
    assert!(matches!(reservation.release().await.unwrap(), hero_health::booking::Released::Freed(_)), "release frees the slot now");
}

#[tokio::test]
async fn a_hold_that_lapsed_on_the_server_is_reported_as_expired() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let reservation = hero.client().booking().reserve(&slot, None).await.unwrap();
    hero.advance(hero_health::mock::DEFAULT_HOLD_PERIOD + Duration::from_secs(60));

    let error = reservation.confirm().await.unwrap_err();

    assert!(
        matches!(error, BookingError::ReservationExpired { ref appointment_id, .. } if appointment_id == reservation.id()),
        "{error:?}"
    );
    assert!(error.to_string().contains("reserve a slot again"), "{error}");
    assert!(hero.free_slots().contains(&slot), "the lapsed hold released the slot");
}

#[tokio::test]
async fn a_hold_about_to_end_is_not_sent_a_doomed_confirmation() {
    let hero = MockHero::builder().with_hold_period(Duration::from_secs(3)).start().await.unwrap();
    let slot = first_slot(&hero).await;
    let reservation = hero.client().booking().reserve(&slot, None).await.unwrap();
    hero.clear_requests();

    // 3 s left is inside the default 5 s clock-skew margin.
    let error = reservation.confirm().await.unwrap_err();

    assert!(matches!(error, BookingError::ReservationExpired { .. }), "{error:?}");
    assert!(hero.requests().is_empty(), "no request was sent: {:?}", operations(&hero));
}

#[tokio::test]
async fn a_slot_taken_by_a_racing_client_is_its_own_error() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let ours = hero.client().booking();
    let theirs = hero.client().for_practice_group("2").unwrap().booking();

    let winner = theirs.reserve(&slot, None).await.unwrap();
    let error = ours.book(&slot, None).await.unwrap_err();

    assert!(matches!(error, BookingError::SlotUnavailable), "{error:?}");
    assert!(error.to_string().contains("list slots again"), "{error}");
    assert!(winner.confirm().await.is_ok(), "the winner still books");
}

#[tokio::test]
async fn a_confirmation_that_commits_then_times_out_is_settled_by_reading_back() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let client = hero.client_builder().with_timeout(Duration::from_millis(300)).build().unwrap();
    let reservation = client.booking().reserve(&slot, None).await.unwrap();
    hero.inject(Fault::on("bookAppointment", FaultKind::CommitThenTimeout(Duration::from_secs(2)))).unwrap();
    hero.clear_requests();

    let appointment = reservation.confirm().await.unwrap();

    assert!(appointment.booking_confirmed_at.is_some());
    assert_eq!(operations(&hero), ["bookAppointment", "getAppointment"], "confirm once, then read back; never confirm twice");
    // No double booking: the slot is gone, and booking it again is refused.
    assert!(!hero.free_slots().contains(&slot));
    let again = hero.client().booking().book(&slot, None).await.unwrap_err();
    assert!(matches!(again, BookingError::SlotUnavailable), "{again:?}");
}

#[tokio::test]
async fn a_dropped_connection_on_confirm_is_settled_by_reading_back() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let reservation = hero.client().booking().reserve(&slot, None).await.unwrap();
    hero.inject(Fault::on("bookAppointment", FaultKind::DropConnection)).unwrap();

    let appointment = reservation.confirm().await.unwrap();

    assert!(appointment.booking_confirmed_at.is_some());
}

#[tokio::test]
async fn a_5xx_on_confirm_that_did_nothing_is_confirmed_again_once_and_books() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let reservation = hero.client().booking().reserve(&slot, None).await.unwrap();
    hero.inject(Fault::on("bookAppointment", FaultKind::ServerError(503))).unwrap();
    hero.clear_requests();

    let appointment = reservation.confirm().await.unwrap();

    assert!(appointment.booking_confirmed_at.is_some());
    assert_eq!(operations(&hero), ["bookAppointment", "getAppointment", "bookAppointment"]);
}

/// A server that finishes the confirmation after the client hung up (most do): the read-back
/// still shows a reservation, and that must never be reported as "nothing was booked".
#[tokio::test]
async fn a_confirmation_that_commits_after_the_client_hung_up_is_never_reported_as_not_made() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let client = hero.client_builder().with_timeout(Duration::from_millis(300)).build().unwrap();
    let reservation = client.booking().reserve(&slot, Some(&"1234".parse().unwrap())).await.unwrap();
    // Both the confirmation and its one re-send commit 1.5 s later, after the client gave up.
    hero.inject(Fault::on("bookAppointment", FaultKind::Latency(Duration::from_millis(1500))).times(2)).unwrap();
    hero.clear_requests();

    let error = reservation.confirm().await.unwrap_err();

    assert!(
        matches!(&error, BookingError::OutcomeUnknown { operation: "confirm", appointment_id: Some(id), .. } if id == reservation.id()),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("confirm the same reservation again") && message.contains("do not reserve another slot"), "{message}");
    assert!(!message.contains("nothing was booked"), "{message}");
    assert_eq!(operations(&hero), ["bookAppointment", "getAppointment", "bookAppointment", "getAppointment"]);

    // The late commit lands: the patient has exactly this one appointment, and confirming the
    // same reservation again (as the message says) answers it without booking twice.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let booked = hero.client().booking().appointment(reservation.id()).await.unwrap();
    assert!(booked.booking_confirmed_at.is_some(), "the mock committed after the client hung up");
    let again = reservation.confirm().await.unwrap();
    assert_eq!(again.id, booked.id);
    assert_eq!(
        hero.free_slots().iter().filter(|s| s.start_time == slot.start_time && s.practitioner_id == slot.practitioner_id).count(),
        0
    );
}

/// When only the first answer is lost, the re-sent confirmation settles it as booked.
#[tokio::test]
async fn a_confirmation_whose_answer_is_late_once_is_settled_as_booked() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let client = hero.client_builder().with_timeout(Duration::from_millis(300)).build().unwrap();
    let reservation = client.booking().reserve(&slot, None).await.unwrap();
    hero.inject(Fault::on("bookAppointment", FaultKind::Latency(Duration::from_millis(1500)))).unwrap();

    let appointment = reservation.confirm().await.unwrap();

    assert!(appointment.booking_confirmed_at.is_some());
    tokio::time::sleep(Duration::from_millis(1600)).await;
    // The first confirmation's late commit changes nothing: one appointment, still confirmed.
    let read = hero.client().booking().appointment(reservation.id()).await.unwrap();
    assert_eq!(read.booking_confirmed_at, appointment.booking_confirmed_at);
}

#[tokio::test]
async fn when_reading_back_fails_too_the_outcome_is_unknown() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let reservation = hero.client().booking().reserve(&slot, None).await.unwrap();
    hero.inject(Fault::on("bookAppointment", FaultKind::ServerError(502))).unwrap();
    // The read-back is a GET: the client retries it (2 retries by default), so all 3 fail.
    hero.inject(Fault::on("getAppointment", FaultKind::ServerError(502)).times(3)).unwrap();

    let error = reservation.confirm().await.unwrap_err();

    match &error {
        BookingError::OutcomeUnknown { operation, appointment_id, .. } => {
            assert_eq!(*operation, "confirm");
            assert_eq!(appointment_id.as_deref(), Some(reservation.id()));
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert!(error.to_string().contains("confirm the same reservation again"), "{error}");
}

#[tokio::test]
async fn a_reserve_that_times_out_is_not_resent_and_says_a_hold_may_exist() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let client = hero.client_builder().with_timeout(Duration::from_millis(300)).build().unwrap();
    // Hero creates the hold, but the answer comes too late for the client.
    hero.inject(Fault::on("createAppointment", FaultKind::CommitThenTimeout(Duration::from_secs(1)))).unwrap();
    hero.clear_requests();

    let error = client.booking().reserve(&slot, None).await.unwrap_err();

    assert!(matches!(error, BookingError::OutcomeUnknown { operation: "reserve", appointment_id: None, .. }), "{error:?}");
    assert!(error.to_string().contains("a hold may exist on this slot until its reserved_until passes"), "{error}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(operations(&hero), ["createAppointment"], "exactly one reserve POST, never re-sent");
    // The hold exists, as the error warned.
    assert!(!hero.free_slots().contains(&slot));
}

#[tokio::test]
async fn rate_limiting_on_reserve_is_safe_to_retry_later() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    hero.inject(Fault::on("createAppointment", FaultKind::RateLimited { retry_after_secs: 3 })).unwrap();
    let error = hero.client().booking().reserve(&slot, None).await.unwrap_err();
    assert!(matches!(error, BookingError::RateLimited { retry_after: Some(wait), .. } if wait == Duration::from_secs(3)), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    assert!(error.request_id().is_some_and(|id| id.starts_with("mock-")), "{error:?}");
    assert!(error.to_string().contains("wait 3 s"), "{error}");
    assert!(hero.free_slots().contains(&slot), "nothing was reserved");
}

/// A patient id that is not a Hero id is refused before anything is sent, and a request that
/// bypasses the check is refused by the mock as Hero would (400 with the validation body),
/// never stored with the id dropped.
#[tokio::test]
async fn a_malformed_patient_id_is_refused_before_sending_and_by_the_mock() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    hero.clear_requests();
    // `reserve` takes an `Id`: "12a" cannot become one.
    let refused = "12a".parse::<Id>().unwrap_err();
    assert!(!refused.to_string().contains("12a"), "the value is not echoed: {refused}");

    // An `Id` read from JSON is taken as received (answers must not fail on it), so a body
    // deserialized from elsewhere is checked again before anything is sent.
    let mut request = hero.client().booking().reserve(&slot, Some(&"1234".parse().unwrap())).await.unwrap().request().clone();
    hero.clear_requests();
    request.patient_id = Some(serde_json::from_str("\"12a\"").unwrap());
    let error = hero.client().booking().reserve_with(request.clone()).await.unwrap_err();
    assert!(matches!(&error, BookingError::InvalidInput { reason, .. } if reason.starts_with("patient_id:")), "{error:?}");
    assert!(!error.to_string().contains("12a"), "the value is not echoed: {error}");
    assert!(hero.requests().is_empty(), "nothing was sent");

    // The generated call sends what it is given: the mock checks it, like Hero.
    let answer = hero.client().create_appointment().body(request).send().await.unwrap_err();
    assert_eq!(answer.status().map(|s| s.as_u16()), Some(400), "{answer:?}");
    let issue = &answer.validation().expect("Hero's validation body").message[0];
    assert_eq!((issue.code.as_str(), issue.path.clone()), ("invalid_string", vec![serde_json::json!("patient_id")]));
}

/// Fields Hero does not know are refused like Hero refuses them, not silently dropped.
#[tokio::test]
async fn the_mock_refuses_unknown_fields_with_the_validation_body() {
    let hero = MockHero::start().await.unwrap();
    let slot = first_slot(&hero).await;
    let http = reqwest::Client::new();
    let mut body = serde_json::to_value(hero.client().booking().reserve(&slot, None).await.unwrap().request()).unwrap();
    body["patinet_id"] = serde_json::json!("1234");
    let answer = http
        .post(format!("{}/v1/appointments", hero.url()))
        .header("x-api-key", hero.api_key())
        .header("x-practice-group-id", "1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["message"][0]["code"], "unrecognized_keys", "{body}");
    assert_eq!(body["message"][0]["path"], serde_json::json!(["patinet_id"]), "{body}");
}

#[tokio::test]
async fn both_auth_headers_and_the_network_rule_are_checked() {
    let hero = MockHero::start().await.unwrap();
    let wrong_key = hero.client_builder().with_api_key("not-the-key").build().unwrap();
    let error = wrong_key.booking().appointment_types().await.unwrap_err();
    assert!(matches!(error, BookingError::Rejected { status: 401, .. }), "{error:?}");
    assert!(!error.to_string().contains("not-the-key"));

    let outside = hero.client().for_practice_group("99").unwrap();
    let error = outside.booking().locations().await.unwrap_err();
    assert!(matches!(error, BookingError::Rejected { status: 403, .. }), "{error:?}");

    let partner = hero.client().for_practice_group("2").unwrap();
    assert_eq!(partner.booking().locations().await.unwrap().len(), 2);
    assert_eq!(hero.requests().last().unwrap().practice_group_id.as_deref(), Some("2"));
}

#[tokio::test]
async fn slots_are_filtered_and_paged_as_a_stream() {
    let hero = MockHero::start().await.unwrap();
    let booking = hero.client().booking();
    let query = SlotQuery::new().with_practitioner(12).with_page_size(NonZeroU64::new(5).unwrap());
    let expected: Vec<Slot> = hero.free_slots().into_iter().filter(|s| s.practitioner_id.as_ref().map(Id::as_str) == Some("12")).collect();
    assert!(expected.len() > 10, "the seed gives several pages");
    hero.clear_requests();

    let pages: Vec<Vec<Slot>> = booking.slot_pages(query.clone()).map(Result::unwrap).collect().await;

    assert_eq!(pages.iter().map(Vec::len).sum::<usize>(), expected.len());
    assert!(pages[..pages.len() - 1].iter().all(|p| p.len() == 5));
    assert_eq!(hero.requests().len(), pages.len(), "one request per page, none after the last");
    assert_eq!(hero.requests()[1].query.get("page_index").map(String::as_str), Some("1"));
    let items: Vec<Slot> = booking.slot_stream(query).map(Result::unwrap).collect().await;
    assert_eq!(items, expected);

    let day = expected[0].start_time.unwrap().date_naive();
    let one_day = booking.slots(&SlotQuery::new().with_dates(day, day)).await.unwrap();
    assert!(!one_day.is_empty() && one_day.iter().all(|s| s.start_time.unwrap().date_naive() == day));
}

#[tokio::test]
async fn a_reservation_can_be_edited_before_confirmation_only() {
    let hero = MockHero::start().await.unwrap();
    let booking = hero.client().booking();
    let slots = booking.slots(&SlotQuery::new().with_practitioner(11)).await.unwrap();
    let reservation = booking.reserve(&slots[0], None).await.unwrap();
    let edit = AppointmentEdit {
        start_time: slots[1].start_time,
        duration: 10,
        practitioner_id: "11".parse().unwrap(),
        suppress_availability_check: None,
        suppress_mail: None,
    };

    let moved = booking.edit_appointment(reservation.id(), edit.clone()).await.unwrap();
    assert_eq!(moved.start_time, slots[1].start_time);

    reservation.confirm().await.unwrap();
    let error = booking.edit_appointment(reservation.id(), edit).await.unwrap_err();
    assert!(
        matches!(&error, BookingError::Rejected { status: 400, issues, .. } if issues == &["id: appointment_confirmed (expected an appointment that is not confirmed yet)"]),
        "{error:?}"
    );
}

#[tokio::test]
async fn video_links_and_their_status() {
    let hero = MockHero::start().await.unwrap();
    let booking = hero.client().booking();
    let link = booking
        .create_video_link(VideoLinkCreate {
            link_name: Some("Follow-up".into()),
            patient_id: Some("1234".parse().unwrap()),
            expiry_date: None,
        })
        .await
        .unwrap();
    let id = link.short_link_id.clone().unwrap();
    let by_id = booking.link_status(&LinkRef::Id(id)).await.unwrap();
    assert_eq!(by_id.status.as_deref(), Some("unused"));
    let by_url = booking.link_status(&LinkRef::Url(link.video_link.unwrap())).await.unwrap();
    assert_eq!(by_url, by_id);
    let unknown = booking.link_status(&LinkRef::Id("1".into())).await.unwrap_err();
    assert!(matches!(unknown, BookingError::Rejected { status: 404, .. }), "{unknown:?}");
}

#[tokio::test]
async fn an_incomplete_slot_is_refused_before_any_request() {
    let hero = MockHero::start().await.unwrap();
    let mut slot = first_slot(&hero).await;
    slot.practitioner_id = None;
    hero.clear_requests();
    let error = hero.client().booking().book(&slot, None).await.unwrap_err();
    assert!(matches!(error, BookingError::IncompleteSlot { field: "practitioner_id", .. }), "{error:?}");
    assert!(hero.requests().is_empty());
}

/// An id that is not a Hero id is the caller's mistake: `InvalidInput`, nothing sent, and never
/// retryable (a retry loop that trusts `is_retryable()` would otherwise never end). It was
/// `Transport`, retryable.
#[tokio::test]
async fn an_id_that_is_not_a_hero_id_is_invalid_input_and_not_retryable() {
    let hero = MockHero::start().await.unwrap();
    let booking = hero.client().booking();
    hero.clear_requests();
    for id in ["12a", "", " 12", "１２"] {
        let error = booking.appointment(id).await.unwrap_err();
        assert!(matches!(error, BookingError::InvalidInput { .. }), "{id:?}: {error:?}");
        assert!(!error.is_retryable(), "{id:?}");
    }
    assert!(hero.requests().is_empty(), "nothing sent");
}

/// A read whose answer does not decode would come back the same: not retryable, and the message
/// does not promise a retry helps. A 5xx stays retryable.
#[tokio::test]
async fn an_answer_that_does_not_decode_is_not_retryable() {
    use hero_health::mock::{Fault, FaultKind};
    let hero = MockHero::start().await.unwrap();
    let booking = hero.client().booking();
    hero.inject(Fault::on("getAppointment", FaultKind::Answer { status: 200, body: r#"{"id": ["not", "an", "id"]}"#.into() })).unwrap();
    let error = booking.appointment("1").await.unwrap_err();
    assert!(matches!(error, BookingError::Transport { .. }), "{error:?}");
    assert!(!error.is_retryable(), "{error}");
    assert!(error.to_string().contains("trying again gets the same answer"), "{error}");
    hero.inject(Fault::on("getAppointment", FaultKind::ServerError(503)).times(20)).unwrap();
    let error = booking.appointment("1").await.unwrap_err();
    assert!(error.is_retryable() && error.to_string().contains("safe to try again"), "{error}");
}

#[tokio::test]
async fn the_seeded_data_is_deterministic() {
    // One instant for all three: two clock reads could straddle midnight (or a session's end).
    let start = "2026-12-31T23:59:59Z".parse().unwrap();
    let a = MockHero::builder().with_seed(7).with_start(start).start().await.unwrap();
    let b = MockHero::builder().with_seed(7).with_start(start).start().await.unwrap();
    let c = MockHero::builder().with_seed(8).with_start(start).start().await.unwrap();
    assert!(!a.free_slots().is_empty());
    assert_eq!(a.free_slots(), b.free_slots());
    assert_ne!(a.free_slots(), c.free_slots());
}

#[tokio::test]
async fn unusable_mock_settings_are_a_typed_error_not_a_panic() {
    let error = MockHero::builder().with_api_key("").start().await.unwrap_err();
    assert!(matches!(error, hero_health::mock::MockError::Settings(_)), "{error:?}");
    let error = MockHero::builder().with_practice_group_id("abc").start().await.unwrap_err();
    assert!(error.to_string().contains("practice group"), "{error}");
    // A diary without end would take the mock's memory; a year's worth is fine.
    let error = MockHero::builder().with_days(u32::MAX).start().await.unwrap_err();
    assert!(matches!(error, hero_health::mock::MockError::TooManyDays { .. }), "{error:?}");
    let year = MockHero::builder().with_days(hero_health::mock::MAX_DIARY_DAYS).start().await.unwrap();
    assert!(year.free_slots().len() > 1000);
}

#[tokio::test]
async fn the_mock_never_shows_its_api_key_in_debug() {
    let hero = MockHero::builder().with_api_key("a-real-looking-key").start().await.unwrap();
    assert!(!format!("{hero:?}").contains("a-real-looking-key"));
}

/// A fault on a name that is no operationId would never fire: it is refused, with the
/// operationId meant (a typo's nearest, a method's own, or the crate's name for an operation
/// Hero's bundle spells differently), and the operationId the error shows works.
#[tokio::test]
async fn a_fault_names_its_operation_by_operation_id_and_other_names_get_the_one_meant() {
    let hero = MockHero::start().await.unwrap();
    for (given, meant) in [
        ("sendMesage", "sendMessage"),
        ("list_appointment_types", "listAppointmentTypes"),
        ("search_patients", "searchPatients"),
        ("listPatientsV3", "searchPatients"),
        ("getPatientByIdV2", "getEhrPatient"),
        ("getPracticeGroupById", "getPracticeGroup"),
    ] {
        let error = hero.inject(Fault::on(given, FaultKind::ServerError(500))).unwrap_err();
        assert!(error.to_string().contains(&format!("did you mean {meant}?")), "{given}: {error}");
    }
    let error = hero.inject(Fault::on("nothing_like_it", FaultKind::ServerError(500))).unwrap_err();
    assert!(!error.to_string().contains("did you mean"), "{error}");
    assert!(matches!(hero_health::mock::decode_answer("search_patients", b"{}"), Err(MockError::UnknownOperation { .. })));

    hero.inject(Fault::on("listAppointmentTypes", FaultKind::ServerError(503)).times(3)).unwrap();
    let error = hero.client().booking().appointment_types().await.unwrap_err();
    assert!(error.to_string().contains("503"), "the fault reached its operation: {error}");
    let BookingError::Transport { source, .. } = &error else { panic!("{error:?}") };
    assert_eq!(source.operation_id(), Some("listAppointmentTypes"), "the error names it as the fault did");
    let logged = hero.requests();
    assert!(logged.iter().any(|r| r.operation.as_deref() == Some("listAppointmentTypes")), "the log names it the same way");
}

/// A transport failure keeps its cause (the call's error, then reqwest's, down to the io error),
/// and no link of the chain holds the URL.
#[tokio::test]
async fn a_transport_failure_keeps_its_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = hero_health::Client::builder()
        .with_api_key("k")
        .with_practice_group_id("1")
        .with_environment(hero_health::Environment::custom(&format!("http://127.0.0.1:{port}")).unwrap())
        .with_retry_policy(hero_health::RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.booking().appointment("4567").await.unwrap_err();
    assert!(matches!(error, BookingError::Transport { .. }), "{error:?}");
    let mut links = 0;
    let mut cause: Option<&dyn std::error::Error> = Some(&error);
    while let Some(link) = cause {
        assert!(!link.to_string().contains("4567") && !link.to_string().contains("http://"), "{link}");
        links += 1;
        cause = link.source();
    }
    assert!(links >= 4, "BookingError → Error → reqwest → hyper/io ({links} links)");
}
