//! Patients and messages end to end against the mock: PDS traces that match, miss or need
//! verification; messages on every channel whose status moves on the mock's clock; write-to-record
//! settled by webhook or by polling; a send whose answer is lost, never sent twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use hero_health::messages::{Channel, Delivery, Fallback, MessageError, MessageEvents, Outgoing, RecordOutcome, Tracking};
use hero_health::mock::{Fault, FaultKind, MockHero, PdsPatient, WriteToRecord};
use hero_health::patients::{PatientError, PdsTrace, Traced};
use hero_health::{Id, InvalidNhsNumber, NhsNumber};
use proptest::prelude::*;

fn dob(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The check digit of nine digits, or `None` when those nine have none (remainder 10).
fn check_digit(nine: &[u8]) -> Option<u8> {
    let sum: u32 = nine.iter().zip((2..=10u32).rev()).map(|(d, w)| u32::from(*d) * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c as u8),
    }
}

proptest! {
    #[test]
    fn every_valid_nhs_number_is_accepted_and_every_single_digit_change_refused(nine in proptest::collection::vec(0u8..10, 9)) {
        let Some(check) = check_digit(&nine) else {
            // No number is issued with these nine digits: every tenth digit is refused.
            for last in 0..10u8 {
                let text: String = nine.iter().chain(std::iter::once(&last)).map(|d| char::from(b'0' + d)).collect();
                prop_assert_eq!(NhsNumber::new(&text), Err(InvalidNhsNumber::CheckDigit));
            }
            return Ok(());
        };
        let digits: Vec<u8> = nine.iter().copied().chain(std::iter::once(check)).collect();
        let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        let number = NhsNumber::new(&text).unwrap();
        prop_assert_eq!(number.as_str(), text.as_str());
        prop_assert!(number.is_valid());
        let spaced = format!("{} {} {}", &text[..3], &text[3..6], &text[6..]);
        prop_assert_eq!(NhsNumber::new(&spaced).unwrap(), number);
        for position in 0..10 {
            for other in (0..10u8).filter(|d| *d != digits[position]) {
                let mut changed = digits.clone();
                changed[position] = other;
                let changed: String = changed.iter().map(|d| char::from(b'0' + d)).collect();
                prop_assert!(NhsNumber::new(&changed).is_err(), "{} accepted", changed);
            }
        }
    }

    #[test]
    fn anything_else_is_refused_without_panicking(text in "\\PC{0,24}") {
        if let Ok(number) = NhsNumber::new(&text) {
            prop_assert_eq!(number.as_str().len(), 10);
        }
    }
}

#[test]
fn an_nhs_number_never_prints_whole() {
    let number: NhsNumber = "943 476 5919".parse().unwrap();
    assert_eq!(format!("{number:?}"), "NhsNumber(*******919)");
    let error = NhsNumber::new("9434765918").unwrap_err();
    assert!(!error.to_string().contains("943476591"), "{error}");
    // As Hero answers it: kept, even when it does not check out.
    let received: NhsNumber = serde_json::from_str("\"123\"").unwrap();
    assert!(!received.is_valid());
    assert_eq!(serde_json::to_string(&received).unwrap(), "\"123\"");
}

async fn mock() -> MockHero {
    MockHero::builder()
        .with_pds_patient(
            PdsPatient::new("999 000 0018".parse().unwrap(), dob(2001, 2, 3), "Grace", "Hopper", "EH1 1YZ").needing_verification(),
        )
        .with_pds_patient(
            PdsPatient::new("999 000 0026".parse().unwrap(), dob(1962, 7, 8), "Tim", "Berners-Lee", "SW1A 1AA").without_ehr_record(),
        )
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_trace_by_nhs_number_or_demographics_finds_the_same_patient_once() {
    let hero = mock().await;
    let patients = hero.client().patients();
    let seacole = hero.pds_patients().into_iter().find(|p| p.surname() == "Seacole").unwrap();
    let by_number = patients.trace(&PdsTrace::nhs_number(seacole.nhs_number().clone(), seacole.dob())).await.unwrap();
    let Traced::Patient(id) = by_number.clone() else { panic!("{by_number:?}") };
    let again = patients.trace(&PdsTrace::demographics("mary", "SEACOLE", seacole.dob(), "se17eh")).await.unwrap();
    assert_eq!(again, by_number, "the same patient, not a second record");
    let patient = patients.get(&id).await.unwrap();
    assert_eq!(patient.nhs_number.as_deref(), Some(seacole.nhs_number().as_str()));
    // The document types Patient.dob as a date-time; the mock answers the day at midnight UTC.
    let answered = patient.dob.map(|t| t.date_naive());
    assert_eq!(answered, Some(seacole.dob()));
    let sent = hero.requests().into_iter().filter(|r| r.operation.as_deref() == Some("registerPatientPds")).count();
    assert_eq!(sent, 2);
}

/// Each trace sends the date of birth as its schema types it, read off the wire by another
/// server: a date-time at midnight UTC by NHS number (as Hero's sample), a date by demographics.
#[tokio::test]
async fn a_trace_sends_the_date_of_birth_as_each_schema_types_it() {
    use wiremock::matchers::{body_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let found = ResponseTemplate::new(200).set_body_json(serde_json::json!({"patient_id": "7"}));
    Mock::given(method("POST"))
        .and(path("/v1/patients/register_pds"))
        .and(body_json(serde_json::json!({"nhs_number": "4010232137", "dob": "1975-11-23T00:00:00Z"})))
        .respond_with(found.clone())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/patients/register_pds"))
        .and(body_json(serde_json::json!({"forename": "Mary", "surname": "Seacole", "dob": "1975-11-23", "postcode": "SE1 7EH"})))
        .respond_with(found)
        .expect(1)
        .mount(&server)
        .await;
    let client = crate::support::client_for(&server.uri()).build().unwrap();
    let patients = client.patients();
    let by_number = PdsTrace::nhs_number("401 023 2137".parse().unwrap(), dob(1975, 11, 23));
    assert_eq!(patients.trace(&by_number).await.unwrap(), Traced::Patient("7".parse().unwrap()));
    let by_name = PdsTrace::demographics("Mary", "Seacole", dob(1975, 11, 23), "SE1 7EH");
    assert_eq!(patients.trace(&by_name).await.unwrap(), Traced::Patient("7".parse().unwrap()));
}

#[tokio::test]
async fn a_trace_that_misses_creates_nothing_and_one_needing_verification_says_where() {
    let hero = mock().await;
    let patients = hero.client().patients();
    let wrong_dob = PdsTrace::nhs_number("943 476 5919".parse().unwrap(), dob(1980, 4, 2));
    assert!(matches!(patients.trace(&wrong_dob).await, Err(PatientError::NotOnPds)));
    let nobody = PdsTrace::demographics("Nobody", "Known", dob(1950, 1, 1), "ZZ1 1ZZ");
    let error = patients.trace(&nobody).await.unwrap_err();
    assert!(matches!(error, PatientError::NotOnPds));
    assert!(error.to_string().contains("nothing was created"), "{error}");
    let hopper = PdsTrace::nhs_number("9990000018".parse().unwrap(), dob(2001, 2, 3));
    match patients.trace(&hopper).await.unwrap() {
        Traced::VerificationRequired { login_url, .. } => assert!(login_url.starts_with("https://")),
        other => panic!("{other:?}"),
    }
    for shown in [format!("{nobody:?}"), format!("{hopper:?}")] {
        assert!(!shown.contains("Nobody") && !shown.contains("ZZ1") && !shown.contains("999000001"), "{shown}");
    }
}

/// A patient of the mock's practice: Ada Lovelace, registered as `1`.
fn ada() -> Id {
    "1".parse().unwrap()
}

#[tokio::test]
async fn each_channel_s_status_moves_on_the_mock_s_clock() {
    let hero = mock().await;
    let messages = hero.client().messages();
    for channel in [Channel::Hero, Channel::Sms, Channel::Email, Channel::NhsApp] {
        let sent = messages.send(&Outgoing::new(&ada(), channel, "Your results are ready")).await.unwrap();
        assert_eq!(messages.status(&sent.message_id).await.unwrap().delivery, Delivery::Sent, "{channel:?}");
        hero.advance(hero_health::mock::DELIVERY_DELAY);
        assert_eq!(messages.status(&sent.message_id).await.unwrap().delivery, Delivery::Delivered, "{channel:?}");
    }
}

#[tokio::test]
async fn an_unopened_nhs_app_message_falls_back_after_an_hour_and_an_opened_one_does_not() {
    let hero = mock().await;
    let messages = hero.client().messages();
    let nhs_app = || Outgoing::new(&ada(), Channel::NhsApp, "Please book your flu jab").with_fallback(Fallback::Sms, None);
    let unopened = messages.send(&nhs_app()).await.unwrap();
    let opened = messages.send(&nhs_app()).await.unwrap();
    let no_fallback = messages.send(&Outgoing::new(&ada(), Channel::NhsApp, "Reminder")).await.unwrap();
    hero.advance(Duration::from_secs(59 * 60));
    hero.open_message(&opened.message_id).unwrap();
    assert_eq!(messages.status(&unopened.message_id).await.unwrap().delivery, Delivery::Delivered, "not yet: 59 minutes");
    hero.advance(Duration::from_secs(60));
    assert_eq!(messages.status(&unopened.message_id).await.unwrap().delivery, Delivery::FallbackSent);
    assert_eq!(messages.status(&opened.message_id).await.unwrap().delivery, Delivery::Opened);
    assert_eq!(messages.status(&no_fallback.message_id).await.unwrap().delivery, Delivery::Delivered);
    assert!(matches!(hero.open_message("424242"), Err(hero_health::mock::MockError::UnknownMessage)));
    // A fallback is for the NHS App only: refused before sending.
    let error = messages.send(&Outgoing::new(&ada(), Channel::Sms, "x").with_fallback(Fallback::Email, None)).await.unwrap_err();
    assert!(matches!(error, MessageError::Invalid { .. }), "{error:?}");
}

#[tokio::test]
async fn write_to_record_settles_by_polling_and_applies_hero_s_default_snomed_codes() {
    let hero = mock().await;
    let client = hero.client();
    let messages = client.messages();
    let sms = messages.send(&Outgoing::new(&ada(), Channel::Sms, "Test result: normal").write_to_record_automatically()).await.unwrap();
    let email = messages.send(&Outgoing::new(&ada(), Channel::Email, "Letter").write_to_record()).await.unwrap();
    let coded = messages.send(&Outgoing::new(&ada(), Channel::Sms, "Coded").write_to_record().with_snomed_code("123456789")).await.unwrap();
    // Read as Hero's JSON, not through the SDK's types.
    let read = |id: String| {
        let (url, key) = (format!("{}/v1/messages/{id}", hero.url()), hero.api_key().to_owned());
        async move {
            let answer: serde_json::Value = reqwest::Client::new()
                .get(url)
                .header("x-api-key", key)
                .header("x-practice-group-id", "1")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["snomed_code"].as_str().map(str::to_owned)
        }
    };
    assert_eq!(read(sms.message_id.clone()).await.as_deref(), Some(hero_health::mock::SMS_SNOMED_CODE));
    assert_eq!(read(email.message_id.clone()).await.as_deref(), Some(hero_health::mock::EMAIL_AND_NHS_APP_SNOMED_CODE));
    assert_eq!(read(coded.message_id.clone()).await.as_deref(), Some("123456789"));

    let pending = messages.track(&sms, &Tracking::within(Duration::from_millis(200)).poll_every(Duration::from_millis(20))).await;
    match pending {
        Err(MessageError::NotSettled { last }) => assert_eq!(last.record, RecordOutcome::Pending),
        other => panic!("{other:?}"),
    }
    // Time passes at the mock while tracking polls.
    let clock = hero.clock();
    let later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(60)).await;
        clock.advance(hero_health::mock::DEFAULT_WRITE_TO_RECORD_DELAY);
    });
    let settled = messages.track(&sms, &Tracking::within(Duration::from_secs(10)).poll_every(Duration::from_millis(20))).await.unwrap();
    later.await.unwrap();
    assert_eq!((settled.record, settled.from_webhook), (RecordOutcome::Succeeded, false));
    assert!(settled.is_settled());
}

#[tokio::test]
async fn write_to_record_fails_for_a_patient_with_no_ehr_record_or_when_the_mock_says_so() {
    let hero = mock().await;
    let client = hero.client();
    let berners_lee = hero.pds_patients().into_iter().find(|p| p.surname() == "Berners-Lee").unwrap();
    let Traced::Patient(unlinked) =
        client.patients().trace(&PdsTrace::nhs_number(berners_lee.nhs_number().clone(), berners_lee.dob())).await.unwrap()
    else {
        panic!()
    };
    let sent = client.messages().send(&Outgoing::new(&unlinked, Channel::Email, "Hello").write_to_record_automatically()).await.unwrap();
    hero.advance(hero_health::mock::DEFAULT_WRITE_TO_RECORD_DELAY);
    assert_eq!(client.messages().status(&sent.message_id).await.unwrap().record, RecordOutcome::Failed);

    let failing = MockHero::builder().with_write_to_record(WriteToRecord::Fails { after: Duration::from_secs(30) }).start().await.unwrap();
    let messages = failing.client().messages();
    let sent = messages.send(&Outgoing::new(&ada(), Channel::Sms, "Hello").write_to_record_automatically()).await.unwrap();
    failing.advance(Duration::from_secs(30));
    let status = messages.track(&sent, &Tracking::within(Duration::from_secs(5))).await.unwrap();
    assert_eq!(status.record, RecordOutcome::Failed);
}

type Seen = Arc<std::sync::Mutex<Vec<String>>>;

#[derive(Clone)]
struct Receiver {
    events: MessageEvents,
    seen: Seen,
}

async fn on_event(
    axum::extract::State(receiver): axum::extract::State<Receiver>,
    hero_health::webhooks::axum::VerifiedEvent(event): hero_health::webhooks::axum::VerifiedEvent,
) -> axum::http::StatusCode {
    receiver.seen.lock().unwrap().push(format!("{} {} {}", event.event, event.object, event.id));
    receiver.events.observe(&event);
    axum::http::StatusCode::NO_CONTENT
}

/// The receiver's event settles tracking before any poll could (the poll interval is an hour),
/// for each outcome: the mock's write succeeds, or fails as configured.
#[tokio::test]
async fn write_to_record_settles_from_the_webhook_event_when_it_comes_first() {
    let after = hero_health::mock::DEFAULT_WRITE_TO_RECORD_DELAY;
    for (outcome, expected, event) in [
        (WriteToRecord::Succeeds { after }, RecordOutcome::Succeeded, "write-to-record.succeeded"),
        (WriteToRecord::Fails { after }, RecordOutcome::Failed, "write-to-record.failed"),
    ] {
        let hero = MockHero::builder().with_write_to_record(outcome).start().await.unwrap();
        settles_from_the_webhook(&hero, expected, event).await;
    }
}

async fn settles_from_the_webhook(hero: &MockHero, expected: RecordOutcome, event: &str) {
    use hero_health::types::{WebhookCreate, WebhookEventType};
    use hero_health::webhooks::axum::{WebhookReceiver, receive};
    let client = hero.client();
    let events = MessageEvents::new();
    let seen = Seen::default();
    let receiver = WebhookReceiver::new("whsec-messages").unwrap().with_clock(hero.clock());
    let app = axum::Router::new()
        .route("/hero", axum::routing::post(on_event))
        .route_layer(axum::middleware::from_fn_with_state(receiver, receive))
        .with_state(Receiver { events: events.clone(), seen: seen.clone() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hero", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    for event_type in [WebhookEventType::WriteToRecordSucceeded, WebhookEventType::WriteToRecordFailed] {
        let body = WebhookCreate {
            url: url.parse().unwrap(),
            event_type,
            signing_key: Some("whsec-messages".into()),
            description: None,
            headers: Default::default(),
        };
        client.create_webhook().body(body).send().await.unwrap();
    }
    let messages = client.messages();
    // Written after an admin approves it, as Hero does without `auto_write_to_record`.
    let sent = messages.send(&Outgoing::new(&ada(), Channel::NhsApp, "Results").write_to_record()).await.unwrap();
    // A deadline far beyond what the event takes, and polls an hour apart: only the event can
    // settle it in time.
    let deadline = Duration::from_secs(120);
    let tracking = Tracking::within(deadline).with_events(&events).poll_every(Duration::from_secs(3600));
    let started = tokio::time::Instant::now();
    let track = tokio::spawn({
        let (messages, sent) = (messages.clone(), sent.clone());
        async move { messages.track(&sent, &tracking).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    hero.advance(hero_health::mock::DEFAULT_WRITE_TO_RECORD_DELAY);
    assert!(hero.deliveries().is_empty(), "nothing is written before an admin approves it");
    hero.approve_write_to_record(&sent.message_id).unwrap();
    hero.advance(hero_health::mock::DEFAULT_WRITE_TO_RECORD_DELAY);
    let status = track.await.unwrap().unwrap();
    assert!(started.elapsed() < deadline / 2, "settled by the event, long before the deadline");
    assert_eq!((status.record, status.from_webhook), (expected, true));
    assert_eq!(*seen.lock().unwrap(), [format!("{event} Message {}", sent.message_id)]);
}

/// The send commits at Hero, then its answer never comes: the error says the message may have
/// gone and what to check, and nothing sends it again.
#[tokio::test]
async fn a_send_whose_answer_is_lost_is_reported_unknown_and_never_sent_twice() {
    let hero = mock().await;
    let client = hero.client_builder().with_timeout(Duration::from_millis(300)).build().unwrap();
    hero.inject(Fault::on("sendMessage", FaultKind::CommitThenTimeout(Duration::from_secs(2)))).unwrap();
    let error =
        client.messages().send(&Outgoing::new(&ada(), Channel::Sms, "Your appointment is at 10:00").to("07700 900123")).await.unwrap_err();
    assert!(matches!(error, MessageError::OutcomeUnknown(_)), "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(text.contains("check the patient's messages"), "{text}");
    assert!(!text.contains("07700") && !text.contains("10:00"), "no contact or text: {text}");
    let sends = hero.requests().into_iter().filter(|r| r.operation.as_deref() == Some("sendMessage")).count();
    assert_eq!(sends, 1, "sent once, never again");
    // It did go: the mock holds it.
    assert!(client.get_message().id("1").send().await.is_ok());
    // Refused by Hero (400: not a patient of the practice): not sent, and says so.
    let stranger: Id = "999999".parse().unwrap();
    let error = client.messages().send(&Outgoing::new(&stranger, Channel::Sms, "Hello")).await.unwrap_err();
    assert!(matches!(error, MessageError::NotSent(_)), "{error:?}");
    let outgoing = Outgoing::new(&ada(), Channel::Sms, "Secret text").to("07700 900123");
    assert!(!format!("{outgoing:?}").contains("Secret") && !format!("{outgoing:?}").contains("07700"));
}

/// "Write the message to the EHR after approval": a plain write waits for an admin, and an
/// automatic one waits too when the key may not skip the approval.
#[tokio::test]
async fn a_write_to_record_waits_for_approval_unless_the_key_may_skip_it() {
    let delay = hero_health::mock::DEFAULT_WRITE_TO_RECORD_DELAY;
    let hero = MockHero::builder().with_auto_write_to_record_allowed(false).start().await.unwrap();
    let messages = hero.client().messages();
    let plain = messages.send(&Outgoing::new(&ada(), Channel::Email, "Letter").write_to_record()).await.unwrap();
    let automatic = messages.send(&Outgoing::new(&ada(), Channel::Email, "Letter").write_to_record_automatically()).await.unwrap();
    hero.advance(delay * 10);
    for sent in [&plain, &automatic] {
        assert_eq!(messages.status(&sent.message_id).await.unwrap().record, RecordOutcome::Pending, "waits for approval");
    }
    hero.approve_write_to_record(&plain.message_id).unwrap();
    assert!(matches!(hero.approve_write_to_record(&plain.message_id), Err(hero_health::mock::MockError::UnknownMessage)), "approved once");
    hero.advance(delay);
    assert_eq!(messages.status(&plain.message_id).await.unwrap().record, RecordOutcome::Succeeded);
    assert_eq!(messages.status(&automatic.message_id).await.unwrap().record, RecordOutcome::Pending);

    let allowed = MockHero::start().await.unwrap();
    let messages = allowed.client().messages();
    let automatic = messages.send(&Outgoing::new(&ada(), Channel::Email, "Letter").write_to_record_automatically()).await.unwrap();
    allowed.advance(delay);
    assert_eq!(messages.status(&automatic.message_id).await.unwrap().record, RecordOutcome::Succeeded, "no approval needed");
}

/// Another practice group's patients and messages are not found, as at Hero.
#[tokio::test]
async fn patients_and_messages_belong_to_their_practice_group() {
    let hero = MockHero::builder().with_practice("20", "key-of-hillview").start().await.unwrap();
    let main = hero.client();
    let sent = main.messages().send(&Outgoing::new(&ada(), Channel::Sms, "Hello")).await.unwrap();
    let hillview = hero.client_builder().with_api_key("key-of-hillview").with_practice_group_id("20").build().unwrap();
    assert!(matches!(hillview.messages().status(&sent.message_id).await, Err(MessageError::Read(_))));
    assert!(matches!(hillview.patients().get(&ada()).await, Err(PatientError::Api(_))));
    let error = hillview.messages().send(&Outgoing::new(&ada(), Channel::Sms, "Hello")).await.unwrap_err();
    assert!(matches!(error, MessageError::NotSent(_)), "patient 1 is not Hillview's: {error:?}");
    // Traced by Hillview, the same person is Hillview's patient, with an id of its own.
    let ada_spine = hero.pds_patients().remove(0);
    let Traced::Patient(theirs) =
        hillview.patients().trace(&PdsTrace::nhs_number(ada_spine.nhs_number().clone(), ada_spine.dob())).await.unwrap()
    else {
        panic!()
    };
    assert_ne!(theirs, ada());
    hillview.messages().send(&Outgoing::new(&theirs, Channel::Sms, "Hello")).await.unwrap();
}

/// Every answer that leaves no usable result after the request went is "may have taken effect",
/// and a send ending in one is never re-sent: a 5xx, a 2xx the document does not list (a 201),
/// a dropped connection.
#[tokio::test]
async fn every_send_that_may_have_gone_is_reported_unknown_and_sent_once() {
    let hero = mock().await;
    let client = hero.client();
    let faults = [
        FaultKind::ServerError(502),
        FaultKind::Answer { status: 201, body: r#"{"message_id":"9","content":"x","created_at":"2026-12-04T10:00:00Z"}"#.into() },
        FaultKind::DropConnection,
    ];
    for fault in faults {
        hero.clear_requests();
        hero.inject(Fault::on("sendMessage", fault.clone())).unwrap();
        let error = client.messages().send(&Outgoing::new(&ada(), Channel::Sms, "Hello")).await.unwrap_err();
        assert!(matches!(error, MessageError::OutcomeUnknown(_)), "{fault:?}: {error:?}");
        assert_eq!(hero.requests().len(), 1, "{fault:?}: sent once");
    }
}
