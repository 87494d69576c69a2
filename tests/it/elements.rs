//! Elements access tokens: expiry from the JWT, capped at the documented 30 minutes; reused only
//! while valid; never shown in Debug.

use crate::support;

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hero_health::Client;
use hero_health::clock::TestClock;
use hero_health::elements::ElementsTokens;
use hero_health::mock::MockHero;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn jwt(exp: i64) -> String {
    let part = |json: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string());
    format!("{}.{}.signature", part(serde_json::json!({"alg": "HS256"})), part(serde_json::json!({"exp": exp, "sub": "elements"})))
}

/// The instant the tests' clients read as now (a test picks its time; the machine's is not asked).
fn now() -> DateTime<Utc> {
    "2028-02-29T23:45:00Z".parse().unwrap()
}

async fn server_issuing(token: String) -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": token})))
        .mount(&server)
        .await;
    let client = support::client_for(&server.uri()).with_clock(TestClock::starting_at(now())).build().unwrap();
    (server, client)
}

#[tokio::test]
async fn expiry_comes_from_the_jwt_and_is_capped_at_thirty_minutes() {
    let in_ten = now().timestamp() + 600;
    let (_server, client) = server_issuing(jwt(in_ten)).await;
    let token = client.elements_token().await.unwrap();
    assert_eq!(token.expires_at().timestamp(), in_ten);
    assert!(!format!("{token:?}").contains(token.expose()), "Debug hides the token");

    let (_server, client) = server_issuing(jwt(now().timestamp() + 7200)).await;
    let capped = client.elements_token().await.unwrap();
    let cap = capped.expires_at() - now();
    assert!(cap >= chrono::Duration::minutes(30) && cap < chrono::Duration::minutes(31), "{cap}");
}

#[tokio::test]
async fn a_token_without_a_readable_expiry_lasts_the_documented_thirty_minutes() {
    let hero = MockHero::builder().with_start(now()).start().await.unwrap(); // answers {"access_token": "string"}
    let token = hero.client().elements_token().await.unwrap();
    let left = token.expires_at() - hero.now();
    assert!(left > chrono::Duration::minutes(29) && left <= chrono::Duration::minutes(30), "{left}");
}

#[tokio::test]
async fn tokens_are_reused_while_valid_and_never_past_expiry() {
    let (server, client) = server_issuing(jwt(now().timestamp() + 600)).await;
    let tokens = ElementsTokens::new(client.clone());
    let first = tokens.get().await.unwrap();
    let second = tokens.get().await.unwrap();
    assert_eq!(first.expose(), second.expose());
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "reused");

    // A token inside the refresh margin (or expired) is never handed out again.
    let (server, client) = server_issuing(jwt(now().timestamp() + 30)).await;
    let tokens = ElementsTokens::new(client).with_refresh_margin(Duration::from_secs(60));
    tokens.get().await.unwrap();
    tokens.get().await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2, "fetched again");
}

/// Expiry and refresh are judged by the client's clock: a token valid for ten minutes is reused
/// until the test clock moves inside the refresh margin.
#[tokio::test]
async fn tokens_are_refreshed_by_the_clients_clock() {
    let (server, client) = server_issuing(jwt(now().timestamp() + 600)).await;
    let clock = TestClock::starting_at(now());
    let tokens = ElementsTokens::new(client.with_clock(clock.clone()));
    let token = tokens.get().await.unwrap();
    assert_eq!(token.expires_at().timestamp(), now().timestamp() + 600, "the JWT's exp, under the cap counted from the clock");
    tokens.get().await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "reused");

    clock.advance(Duration::from_secs(9 * 60 + 30)); // 30 s left: inside the 60 s margin
    tokens.get().await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2, "fetched again");
}

/// The generated types that carry credentials print them as `[redacted]`: the raw call's answer
/// (and its `ResponseValue`), a webhook body, its builder and the request builder holding it.
#[tokio::test]
async fn credentials_in_generated_types_never_reach_debug() {
    let token = jwt(now().timestamp() + 600);
    let (_server, client) = server_issuing(token.clone()).await;
    let answer = client.create_access_token().send().await.unwrap();
    assert_eq!(answer.access_token, token, "the value itself is intact");
    for shown in [format!("{answer:?}"), format!("{:?}", answer.into_inner())] {
        assert!(!shown.contains(&token) && shown.contains("[redacted]"), "{shown}");
    }

    const SIGNING_KEY: &str = "whsec-never-in-debug";
    let body = hero_health::types::WebhookCreate::builder()
        .url("https://partner.example/hooks")
        .event_type(hero_health::types::WebhookEventType::AppointmentConfirmed)
        .signing_key(SIGNING_KEY.to_owned());
    let request = client.create_webhook().body(body.clone());
    let created: hero_health::types::WebhookCreate = body.clone().try_into().unwrap();
    for shown in [format!("{body:?}"), format!("{created:?}"), format!("{request:?}")] {
        assert!(!shown.contains(SIGNING_KEY) && shown.contains("[redacted]"), "{shown}");
    }
}
