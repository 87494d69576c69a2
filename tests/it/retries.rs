//! Scripted wiremock sequences for every retry rule.

use crate::support;

use std::time::{Duration, Instant};

use hero_health::{Client, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APPOINTMENT: &str = r#"{"id":"4567","practitioner_id":"1","location_id":"1","appointment_type_id":"1","start_time":null,
"can_be_cancelled":true,"can_be_rescheduled":false,"in_person":true,"suppress_mail":false,"telephone":false,"video":false}"#;

fn client(server: &MockServer, policy: RetryPolicy) -> Client {
    support::client_for(&server.uri()).with_retry_policy(policy).build().unwrap()
}

/// A client whose attempts time out after 300 ms.
fn impatient(server: &MockServer) -> Client {
    support::client_for(&server.uri()).with_timeout(Duration::from_millis(300)).with_retry_policy(fast()).build().unwrap()
}

fn fast() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(20))
}

async fn answer_then_ok(server: &MockServer, http_method: &str, route: &str, first: ResponseTemplate, times: u64) {
    Mock::given(method(http_method)).and(path(route)).respond_with(first).up_to_n_times(times).with_priority(1).mount(server).await;
    Mock::given(method(http_method))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_raw(APPOINTMENT, "application/json"))
        .with_priority(2)
        .mount(server)
        .await;
}

async fn count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn a_get_is_retried_after_a_503() {
    let server = MockServer::start().await;
    answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(503), 1).await;
    let appointment = client(&server, fast()).get_appointment().id("4567").send().await.unwrap();
    assert_eq!(appointment.id.as_str(), "4567");
    assert_eq!(count(&server).await, 2);
}

#[tokio::test]
async fn every_retryable_status_is_retried_on_a_get() {
    for status in [408, 429, 500, 502, 503, 504] {
        let server = MockServer::start().await;
        answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(status), 1).await;
        assert!(client(&server, fast()).get_appointment().id("4567").send().await.is_ok(), "{status}");
        assert_eq!(count(&server).await, 2, "{status}");
    }
}

#[tokio::test]
async fn other_statuses_are_not_retried() {
    for status in [400, 401, 403, 404, 409, 501] {
        let server = MockServer::start().await;
        answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(status), 1).await;
        assert!(client(&server, fast()).get_appointment().id("4567").send().await.is_err(), "{status}");
        assert_eq!(count(&server).await, 1, "{status}");
    }
}

#[tokio::test]
async fn retries_stop_after_the_limit() {
    let server = MockServer::start().await;
    answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(500), 10).await;
    let error = client(&server, fast()).get_appointment().id("4567").send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(count(&server).await, 3, "1 attempt + 2 retries");

    let server = MockServer::start().await;
    answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(500), 10).await;
    assert!(client(&server, fast().with_max_retries(4)).get_appointment().id("4567").send().await.is_err());
    assert_eq!(count(&server).await, 5);
}

#[tokio::test]
async fn a_post_is_not_retried_after_a_503_or_a_429() {
    for status in [503, 429] {
        let server = MockServer::start().await;
        answer_then_ok(&server, "POST", "/v1/appointments/4567/book", ResponseTemplate::new(status), 1).await;
        let result = client(&server, fast()).book_appointment().id("4567").send().await;
        assert!(result.is_err(), "{status}");
        assert_eq!(count(&server).await, 1, "a POST that reached the server is never re-sent ({status})");
    }
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let server = MockServer::start().await;
    answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(429).insert_header("Retry-After", "1"), 1).await;
    let started = Instant::now();
    client(&server, fast()).get_appointment().id("4567").send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = MockServer::start().await;
    let past = "Wed, 21 Oct 2015 07:28:00 GMT"; // already passed: retry at once
    answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(503).insert_header("Retry-After", past), 1).await;
    client(&server, fast()).get_appointment().id("4567").send().await.unwrap();
    assert_eq!(count(&server).await, 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_not_waited_for() {
    let server = MockServer::start().await;
    answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(429).insert_header("Retry-After", "3600"), 1).await;
    let started = Instant::now();
    let error = client(&server, fast()).get_appointment().id("4567").send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(count(&server).await, 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn the_deadline_bounds_all_attempts() {
    let server = MockServer::start().await;
    answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(503), 10).await;
    let policy = RetryPolicy::default()
        .with_backoff(Duration::from_millis(300), Duration::from_millis(300))
        .with_deadline(Duration::from_millis(200));
    assert!(client(&server, policy).get_appointment().id("4567").send().await.is_err());
    assert_eq!(count(&server).await, 1, "the first backoff would pass the deadline");
}

#[tokio::test]
async fn retries_can_be_disabled() {
    let server = MockServer::start().await;
    answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(503), 1).await;
    assert!(client(&server, RetryPolicy::none()).get_appointment().id("4567").send().await.is_err());
    assert_eq!(count(&server).await, 1);
}

#[tokio::test]
async fn a_timed_out_get_is_retried_but_a_timed_out_post_is_not() {
    let server = MockServer::start().await;
    answer_then_ok(&server, "GET", "/v1/appointments/4567", ResponseTemplate::new(200).set_delay(Duration::from_secs(2)), 1).await;
    impatient(&server).get_appointment().id("4567").send().await.unwrap();
    assert_eq!(count(&server).await, 2);

    let server = MockServer::start().await;
    answer_then_ok(&server, "POST", "/v1/appointments/4567/book", ResponseTemplate::new(200).set_delay(Duration::from_secs(2)), 1).await;
    assert!(impatient(&server).book_appointment().id("4567").send().await.is_err());
    assert_eq!(count(&server).await, 1, "the POST may have taken effect: not re-sent");
}

#[tokio::test]
async fn a_post_that_could_not_connect_is_retried() {
    // Nothing listens on the port at first; a server appears there after the first attempt.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = support::client_for(&format!("http://{address}"))
        .with_retry_policy(RetryPolicy::default().with_backoff(Duration::from_millis(400), Duration::from_millis(400)))
        .build()
        .unwrap();
    let starts_later = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let listener = std::net::TcpListener::bind(address).unwrap();
        let server = MockServer::builder().listener(listener).start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(APPOINTMENT, "application/json"))
            .mount(&server)
            .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        count(&server).await
    };
    let (result, received) = tokio::join!(client.book_appointment().id("4567").send(), starts_later);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(received, 1, "sent once it could connect");
}

#[tokio::test]
async fn a_per_request_timeout_overrides_the_clients() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(APPOINTMENT, "application/json").set_delay(Duration::from_millis(600)))
        .mount(&server)
        .await;
    let client = client(&server, RetryPolicy::none()); // 30 s timeout by default
    assert!(client.get_appointment().id("4567").send().await.is_ok());
    let hurried = client.with_request_timeout(Duration::from_millis(200));
    let error = hurried.get_appointment().id("4567").send().await.unwrap_err();
    assert!(matches!(error, hero_health::Error::Timeout { .. }), "{error:?}");
    assert!(client.get_appointment().id("4567").send().await.is_ok(), "the original client is unchanged");
}
