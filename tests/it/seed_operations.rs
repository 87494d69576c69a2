//! The operations of the two seed pages (Hero's reference pages the crate was commissioned from),
//! against a local HTTP mock: the exact request the client sends, and the seed's example response
//! decoding to the expected values.

use chrono::{DateTime, NaiveDate, Utc};
use hero_health::LenientOption as _;
use hero_health::types::{self, Title};
use hero_health::{Client, Environment, Id};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "test-key-5f0c1e";
const PRACTICE_GROUP: &str = "123";

/// Seed 000, "Get an Appointment" response sample, verbatim.
const SEED_APPOINTMENT: &str = r#"{ "id": "string", "patient_id": "string", "practitioner_id": "string", "location_id": "string", "appointment_type_id": "string", "duration": 1, "start_time": "2019-08-24T14:15:22Z", "video": false, "in_person": false, "telephone": false, "video_url": "string", "link_id": "string", "reserved_until": "2019-08-24T14:15:22Z", "booking_confirmed_at": "2019-08-24T14:15:22Z", "can_be_cancelled": false, "can_be_rescheduled": false, "cancellation_policy_hours": 0, "suppress_mail": false, "reason": "string", "appointment_template_name": "string", "location_name": "string", "appointment_source": "string", "cancelled_at": "2019-08-24T14:15:22Z", "patient": { "title": "Baron", "first_name": "string", "last_name": "string" }, "practitioner": { "title": "Baron", "first_name": "string", "last_name": "string" } }"#;

async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = Client::builder()
        .with_api_key(API_KEY)
        .with_practice_group_id(PRACTICE_GROUP)
        .with_environment(Environment::custom(&server.uri()).unwrap())
        .build()
        .unwrap();
    (server, client)
}

async fn respond(server: &MockServer, verb: &str, at: &str, body: &str) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/json"))
        .expect(1)
        .mount(server)
        .await;
}

/// The one request the server received, with the checks every request must pass.
async fn single_request(server: &MockServer, verb: &str, at: &str) -> wiremock::Request {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "exactly one request");
    let request = requests.into_iter().next().unwrap();
    assert_eq!(request.method.as_str(), verb);
    assert_eq!(request.url.path(), at);
    let header = |name: &str| request.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("x-api-key").as_deref(), Some(API_KEY));
    assert_eq!(header("x-practice-group-id").as_deref(), Some(PRACTICE_GROUP));
    assert!(header("user-agent").unwrap().starts_with("hero-health/"));
    assert_eq!(header("api-version"), None, "progenitor's api-version header is not sent");
    request
}

fn assert_body(request: &wiremock::Request, expected: Value) {
    assert_eq!(request.headers.get("content-type").unwrap(), "application/json");
    // Exact JSON equality: `15` and `15.0` differ here. Since the `whole-numbers` convention the
    // body carries the seed's own `"duration": 15`, as Hero's example writes it.
    let sent: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(sent, expected, "the body sent is the seed's example");
}

fn seed_time() -> DateTime<Utc> {
    "2019-08-24T14:15:22Z".parse().unwrap()
}

fn assert_seed_appointment(a: &types::Appointment) {
    assert_eq!(a.id.as_str(), "string", "the docs mock's placeholder id still decodes");
    assert_eq!(a.patient_id.as_ref().map(|i| i.as_str()), Some("string"));
    assert_eq!(a.duration.parsed(), Some(1));
    assert_eq!(a.start_time, Some(seed_time()));
    assert_eq!(a.reserved_until, Some(seed_time()));
    assert_eq!(a.booking_confirmed_at, Some(seed_time()));
    assert_eq!(a.cancelled_at, Some(seed_time()));
    assert_eq!(a.cancellation_policy_hours.parsed(), Some(0));
    assert!(!a.video && !a.in_person && !a.telephone && !a.can_be_cancelled && !a.suppress_mail);
    assert_eq!(a.video_url.as_deref(), Some("string"));
    assert_eq!(a.reason.as_deref(), Some("string"));
    assert_eq!(a.appointment_source.as_deref(), Some("string"));
    let patient = a.patient.as_ref().unwrap();
    assert_eq!(patient.title, Some(Title::Baron));
    assert_eq!(patient.first_name.as_deref(), Some("string"));
    assert_eq!(a.practitioner.as_ref().unwrap().last_name.as_deref(), Some("string"));
}

#[tokio::test]
async fn get_an_appointment() {
    let (server, client) = setup().await;
    respond(&server, "GET", "/v1/appointments/4567", SEED_APPOINTMENT).await;

    let response = client.get_appointment().id("4567").send().await.unwrap();

    let request = single_request(&server, "GET", "/v1/appointments/4567").await;
    assert_eq!(request.url.query(), None);
    assert!(request.body.is_empty());
    assert_eq!(response.status(), 200);
    // The answer's headers are Hero's own: the SDK adds none on the way (its operation travels
    // with the error, not in a made-up header).
    assert!(
        response.headers().keys().all(|k| !k.as_str().starts_with("x-hero-health")),
        "{:?}",
        response.headers().keys().collect::<Vec<_>>()
    );
    assert_seed_appointment(&response);
}

#[tokio::test]
async fn edit_an_appointment() {
    let (server, client) = setup().await;
    // The response is not in the seed (it is inferred to be the appointment): reuse its sample.
    respond(&server, "PUT", "/v1/appointments/4567", SEED_APPOINTMENT).await;

    let response = client
        .edit_appointment()
        .id(4567u64)
        .body_map(|b| {
            b.practitioner_id("15")
                .duration(15)
                .start_time(Some("2026-03-15T09:30:00Z".parse::<DateTime<Utc>>().unwrap()))
                .suppress_mail(Some(false))
                .suppress_availability_check(Some(false))
        })
        .send()
        .await
        .unwrap();

    let request = single_request(&server, "PUT", "/v1/appointments/4567").await;
    // Seed 000's request example, verbatim.
    assert_body(
        &request,
        json!({"practitioner_id": "15", "duration": 15, "start_time": "2026-03-15T09:30:00Z", "suppress_mail": false, "suppress_availability_check": false}),
    );
    assert_seed_appointment(&response);
}

#[tokio::test]
async fn create_an_appointment_reserves_it() {
    let (server, client) = setup().await;
    respond(&server, "POST", "/v1/appointments", r#"{ "id": "string", "reserved_until": "2019-08-24T14:15:22Z" }"#).await;

    let reservation = client
        .create_appointment()
        .body_map(|b| {
            b.appointment_type_id("42")
                .location_id("7")
                .practitioner_id("15")
                .duration(15)
                .start_time(Some("2026-03-15T09:30:00Z".parse::<DateTime<Utc>>().unwrap()))
                .patient_id(Some("1234".parse::<Id>().unwrap()))
                .billpayer_id(Some("5678".parse::<Id>().unwrap()))
                .reason(Some("Annual health check".to_owned()))
                .suppress_mail(Some(false))
                .suppress_availability_check(Some(false))
        })
        .send()
        .await
        .unwrap()
        .into_inner();

    let request = single_request(&server, "POST", "/v1/appointments").await;
    assert_eq!(request.url.query(), None);
    assert_body(
        &request,
        json!({
            "appointment_type_id": "42", "location_id": "7", "practitioner_id": "15", "duration": 15,
            "start_time": "2026-03-15T09:30:00Z", "patient_id": "1234", "billpayer_id": "5678",
            "reason": "Annual health check", "suppress_mail": false, "suppress_availability_check": false
        }),
    );
    assert_eq!(reservation.id.as_str(), "string", "the docs mock's placeholder id still decodes");
    assert_eq!(reservation.reserved_until, Some(seed_time()));
}

#[tokio::test]
async fn create_an_appointment_validation_error_is_typed() {
    let (server, client) = setup().await;
    let body = r#"{"error": true, "statusCode": 400, "message": [{"code": "invalid_type", "expected": "string", "path": ["start_time"]}]}"#;
    Mock::given(method("POST"))
        .and(path("/v1/appointments"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;

    let error = client
        .create_appointment()
        .body_map(|b| b.appointment_type_id("42").location_id("7").practitioner_id("15").duration(15).start_time(None))
        .send()
        .await
        .unwrap_err();

    assert!(matches!(error, hero_health::Error::BadRequest { .. }), "expected a typed 400, got {error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    let validation = error.validation().expect("the validation body is kept");
    assert!(validation.error);
    assert_eq!(validation.message[0].code, "invalid_type");
    assert_eq!(validation.message[0].path, vec![json!("start_time")]);
}

#[tokio::test]
async fn get_link_status() {
    let (server, client) = setup().await;
    // Seed 001's sample elides the reference item as `{ … }`; an empty object stands in for it.
    respond(&server, "GET", "/v1/links/status", r#"{ "status": "unused", "type": "booking", "reference": [ {} ] }"#).await;

    let status = client.get_link_status().url("https://bookings.herohealth.net/s/abc123").id("12345").send().await.unwrap().into_inner();

    let request = single_request(&server, "GET", "/v1/links/status").await;
    // Seed 001's curl line: the same pairs, each encoded byte for byte as there (the order of
    // query parameters carries no meaning; progenitor sorts them).
    let mut sent: Vec<&str> = request.url.query().unwrap().split('&').collect();
    sent.sort_unstable();
    let mut seed: Vec<&str> = "url=https%3A%2F%2Fbookings.herohealth.net%2Fs%2Fabc123&id=12345".split('&').collect();
    seed.sort_unstable();
    assert_eq!(sent, seed);
    assert!(request.body.is_empty());
    assert_eq!(status.status.as_deref(), Some("unused"));
    assert_eq!(status.type_.as_deref(), Some("booking"));
    assert_eq!(status.reference.len(), 1);
}

#[tokio::test]
async fn create_a_video_link() {
    let (server, client) = setup().await;
    respond(&server, "POST", "/v1/video_links", r#"{ "video_link": "string", "short_link_id": "string", "main_room_url": "string" }"#)
        .await;

    let link = client
        .create_video_link()
        .body_map(|b| {
            b.link_name(Some("string".to_owned()))
                // The seed's `"string"` placeholder is not a Hero id, and `Id` refuses it.
                .patient_id(Some("1234".parse::<Id>().unwrap()))
                .expiry_date(Some(NaiveDate::from_ymd_opt(1989, 4, 11).unwrap()))
        })
        .send()
        .await
        .unwrap()
        .into_inner();

    let request = single_request(&server, "POST", "/v1/video_links").await;
    assert_body(&request, json!({"link_name": "string", "patient_id": "1234", "expiry_date": "1989-04-11"}));
    assert_eq!(link.video_link.as_deref(), Some("string"));
    assert_eq!(link.short_link_id.as_deref(), Some("string"));
    assert_eq!(link.main_room_url.as_deref(), Some("string"));
}

#[tokio::test]
async fn an_invalid_id_is_rejected_before_sending() {
    let (server, client) = setup().await;
    let error = client.get_appointment().id("45a7").send().await.unwrap_err();
    assert!(matches!(error, hero_health::Error::InvalidRequest { ref reason, .. } if reason.contains("id: not a Hero id")), "{error:?}");
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");
}

/// The SDK conventions retype parameters (`page-integers`, `hero-id`, `date-format`): the
/// query strings are the ones the published types gave for the same values.
#[tokio::test]
async fn the_conventions_do_not_change_the_query_string() {
    let (server, client) = setup().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"data": [], "count": 0}"#, "application/json"))
        .mount(&server)
        .await;

    client
        .list_slots()
        .start_date(NaiveDate::from_ymd_opt(2026, 3, 15).unwrap())
        .end_date(NaiveDate::from_ymd_opt(2026, 3, 16).unwrap())
        .location_id("7")
        .page_index(0u64)
        .page_size(50u64)
        .send()
        .await
        .unwrap();
    // `page_index` / `page_size` were strings on these two.
    client.list_admins().page_index(2u64).page_size(25u64).send().await.unwrap();
    client.search_patients().page_index(0u64).page_size(10u64).send().await.unwrap();

    let queries: Vec<String> =
        server.received_requests().await.unwrap().iter().map(|r| r.url.query().unwrap_or_default().to_owned()).collect();
    let sorted = |q: &str| {
        let mut pairs: Vec<String> = q.split('&').map(str::to_owned).collect();
        pairs.sort_unstable();
        pairs.join("&")
    };
    assert_eq!(sorted(&queries[0]), "end_date=2026-03-16&location_id=7&page_index=0&page_size=50&start_date=2026-03-15");
    assert_eq!(sorted(&queries[1]), "page_index=2&page_size=25");
    assert_eq!(sorted(&queries[2]), "page_index=0&page_size=10");

    // An id parameter is checked before sending: nothing goes out.
    let before = server.received_requests().await.unwrap().len();
    let error = client.list_slots().location_id("7a").send().await.unwrap_err();
    assert!(error.to_string().contains("location_id: not a Hero id"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}
