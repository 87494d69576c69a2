//! No `Display` or `Debug` on a public path carries patient data or a receiver's secrets. Each
//! public error, the reservation and the webhook types are made with planted values (an NHS
//! number, a surname, keys and tokens) where the world would put them, and every rendering, the
//! whole `source()` chain included, is searched for them.

use hero_health::booking::{BookingError, Cancellation};
use hero_health::mock::{Fault, FaultKind, MockHero};
use hero_health::types::{Webhook, WebhookCreate, WebhookEventType};
use hero_health::webhooks::{Verifier, sign};

use crate::support::free_slots;

const NHS_NUMBER: &str = "9434765919";
const SURNAME: &str = "Okafor";
const API_KEY: &str = "hh_live_PLANTEDAPIKEY0123456789";
const HEADER_SECRET: &str = "rk_PLANTED_RECEIVER_KEY";
const URL_TOKEN: &str = "tok_PLANTED_URL_TOKEN";
const SIGNING_KEY: &str = "whsec_PLANTED_SIGNING_KEY";
const PLANTED: [&str; 6] = [NHS_NUMBER, SURNAME, API_KEY, HEADER_SECRET, URL_TOKEN, SIGNING_KEY];

/// Every rendering of `value`: `Display` and `Debug` (plain and pretty), and the same for each
/// `source()` below it.
fn renderings(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![error.to_string(), format!("{error:?}"), format!("{error:#?}")];
    let mut source = error.source();
    while let Some(cause) = source {
        out.extend([cause.to_string(), format!("{cause:?}")]);
        source = cause.source();
    }
    out
}

#[track_caller]
fn assert_clean(what: &str, renderings: &[String]) {
    for text in renderings {
        for planted in PLANTED {
            assert!(!text.contains(planted), "{what} shows {planted:?}: {text}");
        }
    }
}

/// A 400 whose issues name the patient: the path holds an NHS number as a key, the code and the
/// `expected` text quote the surname.
fn hostile_400() -> String {
    serde_json::json!({
        "statusCode": 400, "error": true,
        "message": [{ "code": SURNAME, "path": ["data", 0, NHS_NUMBER, "surname"], "expected": format!("{SURNAME} ({NHS_NUMBER}) to be unique") }],
    })
    .to_string()
}

#[tokio::test]
async fn call_and_booking_errors_never_show_what_the_answer_carried() {
    let hero = MockHero::start().await.unwrap();
    let slot = free_slots(&hero).await.remove(0);
    let appointment = hero.client().booking().book(&slot, Some(&"1234".parse().unwrap())).await.unwrap();

    hero.inject(Fault::on("cancelAppointment", FaultKind::Answer { status: 400, body: hostile_400() })).unwrap();
    let rejected = hero.client().booking().cancel(&appointment, &Cancellation::new()).await.unwrap_err();
    assert!(matches!(rejected, BookingError::Rejected { status: 400, .. }), "{rejected:?}");
    assert_clean("BookingError::Rejected", &renderings(&rejected));
    let issues = format!("{rejected}");
    assert!(issues.contains("data.0.‹key ") && issues.contains("surname"), "the document's words stay: {issues}");

    hero.inject(Fault::on("cancelAppointment", FaultKind::Answer { status: 400, body: hostile_400() })).unwrap();
    let body = hero_health::types::AppointmentCancel { suppress_mail: None, suppress_cancellation_policy: None };
    let bad_request = hero.client().cancel_appointment().id(appointment.id.as_str()).body(body).send().await.unwrap_err();
    assert!(matches!(&bad_request, hero_health::Error::BadRequest { validation: Some(_), .. }), "{bad_request:?}");
    assert_clean("Error::BadRequest", &renderings(&bad_request));
    // Boxed, as an app's `?` would.
    let boxed: Box<dyn std::error::Error> = Box::new(bad_request);
    assert_clean("Box<dyn Error>", &renderings(boxed.as_ref()));

    // A map keyed by NHS number whose value does not decode: the path names the map, not the key.
    let webhooks = serde_json::json!({ "data": [{
        "id": "1", "event_type": "appointment.confirmed", "url": format!("https://hooks.example.com/{URL_TOKEN}"),
        "created_at": "2026-12-02T09:00:00Z", "updated_at": "2026-12-02T09:00:00Z", "headers": { NHS_NUMBER: 5 },
    }]});
    hero.inject(Fault::on("listWebhooks", FaultKind::Answer { status: 200, body: webhooks.to_string() })).unwrap();
    let decode = hero.client().list_webhooks().send().await.unwrap_err();
    assert!(matches!(decode, hero_health::Error::Decode { .. }), "{decode:?}");
    assert_clean("Error::Decode", &renderings(&decode));
    let booking: BookingError = decode.into();
    assert_clean("BookingError::Transport", &renderings(&booking));

    let undecodable = hero_health::mock::decode_answer("listWebhooks", webhooks.to_string().as_bytes()).unwrap_err();
    assert_clean("MockError::Undecodable", &renderings(&undecodable));
}

#[tokio::test]
async fn a_reservation_and_its_release_show_the_hold_not_the_patient_or_reason() {
    let hero = MockHero::start().await.unwrap();
    let slot = free_slots(&hero).await.remove(0);
    let booking = hero.client().booking();
    let mut request = hero_health::types::AppointmentCreate::builder()
        .appointment_type_id(slot.appointment_type_id.clone().unwrap())
        .location_id(slot.location_id.clone().unwrap())
        .practitioner_id(slot.practitioner_id.clone().unwrap())
        .start_time(slot.start_time)
        .duration(10u64)
        .patient_id(Some(NHS_NUMBER.parse::<hero_health::Id>().unwrap()))
        .reason(Some(format!("{SURNAME}: chest pain")));
    request = request.suppress_mail(Some(true));
    let reservation = booking.reserve_with(request.try_into().unwrap()).await.unwrap();
    assert_clean("Reservation", &[format!("{reservation:?}"), format!("{reservation:#?}")]);
    let released = reservation.release().await.unwrap();
    assert!(matches!(released, hero_health::booking::Released::Freed(_)));
    assert_clean("Released", &[format!("{released:?}"), format!("{released:#?}")]);
}

#[test]
fn webhook_types_and_the_create_builder_show_no_secret_header_key_or_url_token() {
    let url = format!("https://hooks.example.com/hero/{URL_TOKEN}?key={URL_TOKEN}");
    let headers: std::collections::HashMap<String, String> = [("x-receiver-key".to_owned(), HEADER_SECRET.to_owned())].into();
    let create = WebhookCreate {
        url: url.parse().unwrap(),
        event_type: WebhookEventType::AppointmentConfirmed,
        signing_key: Some(SIGNING_KEY.into()),
        description: None,
        headers: headers.clone(),
    };
    let webhook: Webhook = serde_json::from_value(serde_json::json!({
        "id": "1", "event_type": "appointment.confirmed", "url": url, "signing_key": SIGNING_KEY, "headers": headers,
        "created_at": "2026-12-02T09:00:00Z", "updated_at": "2026-12-02T09:00:00Z",
    }))
    .unwrap();
    let client = hero_health::Client::builder().with_api_key(API_KEY).with_practice_group_id("123").build().unwrap();
    let builder = client.create_webhook().body(create.clone());
    let shown = [format!("{create:?}"), format!("{webhook:#?}"), format!("{builder:?}"), format!("{client:?}")];
    assert_clean("webhook types", &shown);
    assert!(shown[0].contains("https://hooks.example.com/…") && shown[0].contains("1 header(s)"), "still says what it is: {}", shown[0]);
}

#[test]
fn a_key_pasted_into_hero_env_is_not_repeated() {
    let error = API_KEY.parse::<hero_health::Environment>().unwrap_err();
    assert_clean("ConfigError::UnknownEnvironment", &renderings(&error));
    let typo = "stagging".parse::<hero_health::Environment>().unwrap_err();
    assert!(typo.to_string().contains("stagging"), "a short word is repeated, to spot the typo: {typo}");
}

#[test]
fn webhook_events_and_refusals_show_no_patient_id_or_body() {
    let body = format!(r#"{{"object":"Patient","id":"{NHS_NUMBER}","practice_group_id":"123","event":"patient.medical-record-updated"}}"#);
    let at: chrono::DateTime<chrono::Utc> = "2026-12-02T09:00:00Z".parse().unwrap();
    let verifier = Verifier::new(SIGNING_KEY).unwrap();
    let event = verifier.verify_at(body.as_bytes(), &sign(body.as_bytes(), SIGNING_KEY, at), at).unwrap();
    assert_eq!(event.id, NHS_NUMBER, "the id is there to read");
    assert_clean("WebhookEvent", &[format!("{event:?}"), format!("{event:#?}")]);
    assert_clean("Verifier", &[format!("{verifier:?}")]);
    let not_an_event = format!(r#"{{"object":"{SURNAME}","{NHS_NUMBER}":1}}"#);
    let refused = verifier.verify_at(not_an_event.as_bytes(), &sign(not_an_event.as_bytes(), SIGNING_KEY, at), at).unwrap_err();
    assert_clean("WebhookError::InvalidPayload", &renderings(&refused));
    let forged = verifier.verify_at(body.as_bytes(), &sign(body.as_bytes(), "another key", at), at).unwrap_err();
    assert_clean("WebhookError::SignatureMismatch", &renderings(&forged));
}
