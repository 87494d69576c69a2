//! Every call's error is a typed `hero_health::Error`, classified by status, naming the operation
//! and request id, and never showing a body or the API key. A bad-input corpus of answers: none
//! panics, each becomes a clear error.

use crate::support;

use std::time::Duration;

use hero_health::{Client, Error, RetryPolicy};
use proptest::prelude::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "secret-api-key-never-shown";
const PATIENT: &str = "Zebedee Quimby";

/// No retries: each test sees the first answer's error.
fn builder(base_url: &str) -> hero_health::ClientBuilder {
    support::client_for(base_url).with_api_key(KEY).with_retry_policy(RetryPolicy::none())
}

fn client(server: &MockServer) -> Client {
    builder(&server.uri()).build().unwrap()
}

async fn get_with(answer: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v1/appointments/4567")).respond_with(answer).mount(&server).await;
    let result: Result<_, Error> = client(&server).get_appointment().id("4567").send().await;
    result.expect_err("the answer is not a valid appointment")
}

/// Neither Display nor Debug of the error, nor of any link of its `source()` chain, holds the
/// API key, a body's patient data or the URL (scheme, path, or the id in it).
fn assert_safe(error: &Error) {
    let mut link: Option<&dyn std::error::Error> = Some(error);
    while let Some(error) = link {
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains(KEY), "the API key leaked: {text}");
            assert!(!text.contains(PATIENT) && !text.contains("Zebedee"), "patient data leaked: {text}");
            assert!(!text.contains("http://") && !text.contains("/v1/") && !text.contains("4567"), "the URL leaked: {text}");
        }
        link = error.source();
    }
}

fn body_with_patient() -> String {
    format!(
        r#"{{"error":true,"detail":"{PATIENT} is not allowed","statusCode":400,"message":[{{"code":"invalid","expected":"a date","path":["dob"]}}]}}"#
    )
}

#[tokio::test]
async fn statuses_become_their_variants_with_operation_and_request_id() {
    type Expected = fn(&Error) -> bool;
    let cases: Vec<(u16, Expected)> = vec![
        (401, |e| matches!(e, Error::Unauthorized { .. })),
        (403, |e| matches!(e, Error::Forbidden { .. })),
        (404, |e| matches!(e, Error::NotFound { .. })),
        (409, |e| matches!(e, Error::Conflict { .. })),
        (429, |e| matches!(e, Error::RateLimited { retry_after: Some(d), .. } if *d == Duration::from_secs(7))),
        (500, |e| matches!(e, Error::Server { .. })),
        (503, |e| matches!(e, Error::Server { .. })),
        (418, |e| matches!(e, Error::UnexpectedStatus { .. })),
    ];
    for (status, expected) in cases {
        let error = get_with(
            ResponseTemplate::new(status)
                .insert_header("x-request-id", "req-123")
                .insert_header("retry-after", "7")
                .set_body_string(format!("{{\"patient\":\"{PATIENT}\"}}")),
        )
        .await;
        assert!(expected(&error), "{status}: {error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(error.operation_id(), Some("getAppointment"), "{status}");
        assert_eq!(error.request_id(), Some("req-123"));
        assert!(error.headers().unwrap().keys().all(|k| !k.as_str().starts_with("x-hero-health")), "only what Hero sent");
        assert!(error.to_string().contains(&format!("HTTP {status}, getAppointment, request id req-123")), "{error}");
        assert_eq!(error.is_retryable(), matches!(status, 429 | 500 | 503), "{status}");
        assert_safe(&error);
    }
}

/// The document declares 400, 401, 403, 404 and 429 with bodies; an answer of one of them whose
/// body is not the declared type (a gateway's page, nothing at all, a NestJS message) is still
/// the error of its status, never a decoding error that lost it.
#[tokio::test]
async fn a_documented_error_status_keeps_its_variant_whatever_its_body() {
    let bodies: [(&str, &str); 4] = [
        ("<html><body>Too Many Requests</body></html>", "text/html"),
        ("", "application/json"),
        (r#"{"statusCode": 429, "message": "ThrottlerException: Too Many Requests"}"#, "application/json"),
        (r#"{"statusCode": 400, "message": ["dob must be a date"], "error": "Bad Request"}"#, "application/json"),
    ];
    for (body, content_type) in bodies {
        for status in [400u16, 401, 404, 429] {
            let error = get_with(ResponseTemplate::new(status).insert_header("retry-after", "3").set_body_raw(body, content_type)).await;
            let right = match status {
                400 => matches!(error, Error::BadRequest { validation: None, .. }),
                401 => matches!(error, Error::Unauthorized { .. }),
                404 => matches!(error, Error::NotFound { .. }),
                _ => matches!(error, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3)),
            };
            assert!(right, "{status} with {body:?}: {error:?}");
            assert_safe(&error);
        }
    }
}

#[tokio::test]
async fn a_400_carries_hero_validation_issues_but_no_body_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/appointments/4567/book"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(body_with_patient(), "application/json"))
        .mount(&server)
        .await;
    let error = client(&server).book_appointment().id("4567").send().await.unwrap_err();
    assert!(matches!(error, Error::BadRequest { .. }), "{error:?}");
    assert_eq!(error.validation().unwrap().message[0].code, "invalid");
    assert!(error.to_string().contains("dob: invalid (expected a date)"), "{error}");
    assert!(error.to_string().contains("bookAppointment"), "{error}");
    assert_safe(&error);
}

#[tokio::test]
async fn a_corpus_of_bad_answers_gives_decode_errors_without_panics_or_leaks() {
    let huge = format!(r#"{{"id":"4567","reason":"{}"}}"#, "x".repeat(5_000_000));
    let corpus: Vec<(&str, ResponseTemplate)> = vec![
        (
            "malformed JSON",
            ResponseTemplate::new(200).set_body_raw(format!("{{\"id\": \"4567\", \"patient\": \"{PATIENT}\""), "application/json"),
        ),
        ("HTML error page", ResponseTemplate::new(200).set_body_raw(format!("<html><body>{PATIENT}</body></html>"), "text/html")),
        ("empty body", ResponseTemplate::new(200).set_body_raw("", "application/json")),
        ("wrong content type", ResponseTemplate::new(200).set_body_raw("id=4567", "text/plain")),
        ("missing required fields", ResponseTemplate::new(200).set_body_raw(format!(r#"{{"reason":"{PATIENT}"}}"#), "application/json")),
        ("wrong types", ResponseTemplate::new(200).set_body_raw(format!(r#"{{"id":"4567","in_person":"{PATIENT}"}}"#), "application/json")),
        ("a list instead of an object", ResponseTemplate::new(200).set_body_raw(format!(r#"["{PATIENT}"]"#), "application/json")),
        ("huge body", ResponseTemplate::new(200).set_body_raw(huge, "application/json")),
        ("400 with an HTML body", ResponseTemplate::new(400).set_body_raw(format!("<h1>{PATIENT}</h1>"), "text/html")),
    ];
    for (name, answer) in corpus {
        let error = get_with(answer).await;
        assert!(matches!(error, Error::Decode { .. } | Error::BadRequest { .. }), "{name}: {error:?}");
        assert_safe(&error);
    }
    let missing = get_with(ResponseTemplate::new(200).set_body_raw(r#"{"reason":"x"}"#, "application/json")).await;
    assert!(missing.to_string().contains("missing field `"), "names the field: {missing}");
}

#[tokio::test]
async fn transport_failures_are_typed() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = builder(&format!("http://127.0.0.1:{port}")).build().unwrap();
    let error = client.get_appointment().id("4567").send().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(!error.to_string().contains(&port.to_string()), "no URL in the message: {error}");
    // The cause is kept, as reqwest keeps it, down to the io error; no link of the chain, in
    // Display or Debug, holds the URL or the id in its path (hyper's connect error may name
    // the server's socket address, which is not the URL and carries no patient data).
    let mut chain = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(&error);
    while let Some(link) = cause {
        chain.push((link.to_string(), format!("{link:?}")));
        cause = link.source();
    }
    assert!(chain.len() >= 3, "Error → reqwest → hyper/io: {chain:#?}");
    assert!(chain.iter().any(|(text, _)| text.to_lowercase().contains("refused")), "{chain:#?}");
    for (text, debug) in &chain {
        for shown in [text, debug] {
            assert!(!shown.contains("http://") && !shown.contains("/v1/") && !shown.contains("4567"), "a URL in the chain: {shown}");
        }
    }

    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2))).mount(&server).await;
    let slow = builder(&server.uri()).with_timeout(Duration::from_millis(200)).build().unwrap();
    let error = slow.get_appointment().id("4567").send().await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    let source = std::error::Error::source(&error).expect("the timeout keeps its cause");
    assert!(!format!("{source} {source:?}").contains("4567") && !format!("{source:?}").contains("http://"), "{source:?}");
}

#[tokio::test]
async fn invalid_input_is_refused_before_sending() {
    let server = MockServer::start().await;
    let error = client(&server).get_appointment().id("45a7").send().await.unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    assert!(!error.to_string().contains("45a7"), "{error}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, .. ProptestConfig::default() })]

    /// Arbitrary bytes decoded as an appointment: never a panic, and a decode error never
    /// quotes the value it failed on.
    #[test]
    fn decoding_arbitrary_answers_never_panics_or_leaks(prefix in "\\PC{0,40}", value in "[A-Za-z]{12,20}") {
        let body = format!(r#"{{"id":"1","in_person":"{value}"{prefix}"#);
        if let Err(e) = serde_json::from_slice::<hero_health::types::Appointment>(body.as_bytes()) {
            let error = Error::from(hero_health::GeneratedError::<()>::InvalidResponsePayload(body.clone().into_bytes().into(), e));
            prop_assert!(!error.to_string().contains(&value), "{}", error);
        }
        let _ = serde_json::from_slice::<hero_health::types::PatientList>(prefix.as_bytes());
    }
}

#[tokio::test]
async fn a_decode_error_names_the_field_by_path_without_its_value() {
    let server = MockServer::start().await;
    let all: Vec<serde_json::Value> = serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/mock_examples.json"))).unwrap();
    let good = all.iter().find(|e| e["operation"] == "listPatients").unwrap()["body"]["data"][0].clone();
    let mut bad = good.clone();
    bad["restricted"] = serde_json::Value::String(PATIENT.into());
    let patients = serde_json::json!({"count": 2, "data": [good.clone(), bad]}).to_string();
    Mock::given(method("GET"))
        .and(path("/v1/patients"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(patients, "application/json"))
        .mount(&server)
        .await;
    let error = client(&server).list_patients().send().await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert!(error.to_string().contains("(in `data[1].restricted`)"), "{error}");
    assert_safe(&error);
}

#[tokio::test]
async fn a_missing_field_names_its_object() {
    let server = MockServer::start().await;
    let body = r#"{"count":1,"data":[{"id":"1"}]}"#;
    Mock::given(method("GET"))
        .and(path("/v1/patients"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let error = client(&server).list_patients().send().await.unwrap_err();
    assert!(error.to_string().contains("missing field `") && error.to_string().contains("(in `data[0]`)"), "{error}");
}

/// The trial's case: an answer that does not decode carries an NHS number. Written the way users
/// write it (the README's `?` into `Box<dyn Error>`, and anyhow with its alternate and debug
/// forms), no message shows the number, the body or the API key.
#[tokio::test]
async fn an_undecodable_answer_with_patient_data_never_reaches_a_message_through_question_mark() {
    const NHS: &str = "9434765919";
    let server = MockServer::start().await;
    let body = format!(r#"{{"id": 77, "nhs_number": "{NHS}", "first_name": "{PATIENT}"}}"#);
    Mock::given(method("GET"))
        .and(path("/v1/appointments/4567"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let client = client(&server);

    async fn boxed(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
        client.get_appointment().id("4567").send().await?;
        Ok(())
    }
    async fn with_anyhow(client: &Client) -> anyhow::Result<()> {
        client.get_appointment().id("4567").send().await?;
        Ok(())
    }
    let boxed = boxed(&client).await.unwrap_err();
    let anyhow = with_anyhow(&client).await.unwrap_err();
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(boxed.as_ref());
    while let Some(error) = source {
        chain.push_str(&format!("{error} | {error:?} | "));
        source = error.source();
    }
    for text in [chain, format!("{anyhow} {anyhow:#} {anyhow:?}")] {
        for secret in [NHS, PATIENT, KEY, server.uri().as_str()] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("could not be decoded") && text.contains("getAppointment"), "{text}");
    }
    let error = boxed.downcast::<Error>().expect("a hero_health::Error");
    assert!(matches!(*error, Error::Decode { .. }), "{error:?}");
}

/// A request missing several required fields names every one, and sends nothing; so does a
/// type builder; a bad setter value says what a valid one is.
#[tokio::test]
async fn a_builder_missing_fields_names_every_one() {
    let server = MockServer::start().await;
    let client = client(&server);

    let error = client.create_appointment().body_map(|b| b.duration(10)).send().await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    for field in ["appointment_type_id", "location_id", "practitioner_id", "start_time"] {
        assert!(text.contains(field), "`{field}` is named in: {text}");
    }
    assert!(text.contains("4 fields"), "{text}");

    let error = client.edit_appointment().body_map(|b| b.duration(10)).send().await.unwrap_err().to_string();
    assert!(
        error.contains("id") && error.contains("practitioner_id") && error.contains("start_time"),
        "the path id and the body's fields: {error}"
    );

    let error = client.get_appointment().send().await.unwrap_err().to_string();
    assert!(error.contains("id was not initialized"), "{error}");

    let built: Result<hero_health::types::AppointmentCreate, _> = hero_health::types::AppointmentCreate::builder().duration(10).try_into();
    let text = built.unwrap_err().to_string();
    for field in ["appointment_type_id", "location_id", "practitioner_id", "start_time"] {
        assert!(text.contains(field), "`{field}` is named in: {text}");
    }

    let error = client.list_slots().location_id("7a").page_size(-1).send().await.unwrap_err().to_string();
    assert!(error.contains("location_id: not a Hero id (digits only"), "{error}");
    assert!(error.contains("page_size: the value does not convert to `u64`"), "{error}");
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");
}
