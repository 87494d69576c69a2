//! The mock validates every request like Hero before it answers: one test per kind of problem,
//! sent as raw HTTP (what the typed client cannot send), each answered with Hero's 400
//! validation body, which decodes into the SDK's own `ValidationError`.

use hero_health::mock::MockHero;
use hero_health::types::ValidationError;
use serde_json::{Value, json};

/// A raw request to the mock with its credentials.
fn raw(hero: &MockHero, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", hero.url()))
        .header("x-api-key", hero.api_key())
        .header("x-practice-group-id", "1")
}

/// The 400's issues as `(code, path)`, after checking the body is Hero's validation body.
async fn refused(request: reqwest::RequestBuilder) -> Vec<(String, Value)> {
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status(), 400);
    let body: ValidationError = answer.json().await.expect("Hero's validation body");
    assert!(body.error);
    assert_eq!(body.status_code, 400.0);
    assert!(!body.message.is_empty());
    body.message.into_iter().map(|issue| (issue.code, Value::Array(issue.path))).collect()
}

#[tokio::test]
async fn a_missing_body_is_refused_where_the_operation_requires_one() {
    let hero = MockHero::start().await.unwrap();
    let issues = refused(raw(&hero, reqwest::Method::POST, "/v1/messages/send")).await;
    assert_eq!(issues, [("invalid_type".to_owned(), json!([]))]);
    // Nothing reached the handler.
    assert_eq!(hero.requests().last().unwrap().status, 400);
}

#[tokio::test]
async fn a_parameter_or_field_of_the_wrong_type_is_refused() {
    let hero = MockHero::start().await.unwrap();
    let issues = refused(raw(&hero, reqwest::Method::GET, "/v1/appointment_types?has_availability=null")).await;
    assert_eq!(issues, [("invalid_type".to_owned(), json!(["has_availability"]))]);

    let body = json!({"event_type": "appointment.confirmed", "url": "https://partner.example/hooks", "description": 7});
    let issues = refused(raw(&hero, reqwest::Method::POST, "/v1/webhooks").json(&body)).await;
    assert_eq!(issues, [("invalid_type".to_owned(), json!(["description"]))]);
}

#[tokio::test]
async fn a_value_that_breaks_a_pattern_or_format_is_refused() {
    let hero = MockHero::start().await.unwrap();
    // An id path parameter must be a numeric string, also when it arrives percent-encoded.
    let issues = refused(raw(&hero, reqwest::Method::GET, "/v1/practitioners/%F0%B9%B2%93")).await;
    assert_eq!(issues, [("invalid_string".to_owned(), json!(["id"]))]);
    let issues = refused(raw(&hero, reqwest::Method::GET, "/v1/slots?start_date=tomorrow")).await;
    assert_eq!(issues, [("invalid_date".to_owned(), json!(["start_date"]))]);
}

#[tokio::test]
async fn a_value_outside_an_enum_is_refused() {
    let hero = MockHero::start().await.unwrap();
    let body = json!({"event_type": "appointment.teleported", "url": "https://partner.example/hooks"});
    let issues = refused(raw(&hero, reqwest::Method::POST, "/v1/webhooks").json(&body)).await;
    assert_eq!(issues, [("invalid_enum_value".to_owned(), json!(["event_type"]))]);
}

#[tokio::test]
async fn an_unknown_field_is_refused_not_dropped() {
    let hero = MockHero::start().await.unwrap();
    let body = json!({"event_type": "appointment.confirmed", "url": "https://partner.example/hooks", "secret_sauce": true});
    let issues = refused(raw(&hero, reqwest::Method::POST, "/v1/webhooks").json(&body)).await;
    assert_eq!(issues, [("unrecognized_keys".to_owned(), json!(["secret_sauce"]))]);
}

#[tokio::test]
async fn a_missing_required_query_parameter_is_refused() {
    let hero = MockHero::start().await.unwrap();
    let required = crate::support::required_query("listCustomers");
    assert!(!required.is_empty(), "listCustomers has a required query parameter");
    let issues = refused(raw(&hero, reqwest::Method::GET, "/v1/invoicing/customers")).await;
    assert_eq!(issues, required.iter().map(|name| ("invalid_type".to_owned(), json!([name]))).collect::<Vec<_>>());
}

#[tokio::test]
async fn every_problem_of_a_request_is_in_one_answer_and_no_value_is_echoed() {
    let hero = MockHero::start().await.unwrap();
    let nhs_number = "9434765919";
    let body = json!({"event_type": nhs_number, "url": 12, nhs_number: true});
    let answer = raw(&hero, reqwest::Method::POST, "/v1/webhooks").json(&body).send().await.unwrap();
    let text = answer.text().await.unwrap();
    let issues: ValidationError = serde_json::from_str(&text).unwrap();
    assert_eq!(issues.message.len(), 3, "{text}");
    // The unknown key is named in `path` (it is where the problem is), never in `expected`.
    assert!(issues.message.iter().all(|issue| !issue.expected.contains(nhs_number)), "{text}");
}

/// A webhook with custom headers (a documented field) is created, also with an empty map, and
/// the mock sends the headers with each delivery.
#[tokio::test]
async fn create_webhook_takes_custom_headers() {
    let hero = MockHero::start().await.unwrap();
    let body = json!({"event_type": "appointment.confirmed", "url": "https://partner.example/hooks", "headers": {}});
    let answer = raw(&hero, reqwest::Method::POST, "/v1/webhooks").json(&body).send().await.unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());

    let request: hero_health::types::WebhookCreate = serde_json::from_value(json!({
        "event_type": "appointment.confirmed",
        "url": "https://partner.example/hooks",
        "headers": {"x-partner-token": "t0ken"},
    }))
    .unwrap();
    let created = hero.client().create_webhook().body(request).send().await.unwrap().into_inner();
    let listed = hero.client().list_webhooks().send().await.unwrap().into_inner();
    assert!(listed.data.iter().any(|w| w.id == created.id), "the webhook is listed");
}
