//! Shaping a call: per-call options win over the client's, extra headers reach the server and
//! can never replace the auth headers, an idempotent opt-in retries a POST exactly as
//! configured, user middleware sees each attempt but never the key, and the metrics read back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hero_health::options::{AddedHeaders, CallInfo, Middleware, OptionsError, RequestOptions};
use hero_health::{Error, RetryPolicy};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "per-call-options-secret-key";

fn appointment() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "id": "4567", "practitioner_id": "1", "location_id": "1", "appointment_type_id": "1", "start_time": null,
        "can_be_cancelled": true, "can_be_rescheduled": false, "in_person": true, "suppress_mail": false, "telephone": false, "video": false
    }))
}

fn fast_retries(retries: u32) -> RetryPolicy {
    RetryPolicy::default().with_max_retries(retries).with_backoff(Duration::from_millis(1), Duration::from_millis(2))
}

#[tokio::test]
async fn a_per_call_timeout_wins_over_the_client_s_both_ways() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(appointment().set_delay(Duration::from_millis(400))).mount(&server).await;
    let patient = crate::support::client_for(&server.uri()).with_timeout(Duration::from_secs(10)).with_retry_policy(RetryPolicy::none());
    let patient = patient.build().unwrap();
    let hurried = patient.with_options(&RequestOptions::new().with_timeout(Duration::from_millis(100)));
    assert!(matches!(hurried.get_appointment().id("4567").send().await, Err(Error::Timeout { .. })));
    patient.get_appointment().id("4567").send().await.expect("the client's own timeout is untouched");
    let hurried_client = crate::support::client_for(&server.uri())
        .with_timeout(Duration::from_millis(100))
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let patient_call = hurried_client.with_options(&RequestOptions::new().with_timeout(Duration::from_secs(10)));
    patient_call.get_appointment().id("4567").send().await.expect("the longer per-call timeout wins");
}

#[tokio::test]
async fn a_per_call_retry_policy_wins_over_the_client_s_both_ways() {
    for (client_policy, call_policy, requests, ok) in [
        (RetryPolicy::none(), Some(fast_retries(2)), 3, true),
        (fast_retries(2), Some(RetryPolicy::none()), 1, false),
        (fast_retries(2), None, 3, true),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)).up_to_n_times(2).with_priority(1).mount(&server).await;
        Mock::given(method("GET")).respond_with(appointment()).with_priority(2).mount(&server).await;
        let client = crate::support::client_for(&server.uri()).with_retry_policy(client_policy).build().unwrap();
        let options = call_policy.map_or_else(RequestOptions::new, |policy| RequestOptions::new().with_retry_policy(policy));
        let result = client.with_options(&options).get_appointment().id("4567").send().await;
        assert_eq!(result.is_ok(), ok, "{result:?}");
        assert_eq!(server.received_requests().await.unwrap().len(), requests);
    }
}

#[tokio::test]
async fn an_extra_header_reaches_the_server_and_an_auth_header_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("x-correlation-id", "job-42"))
        .and(header("x-api-key", KEY))
        .and(header("x-practice-group-id", "1"))
        .respond_with(appointment())
        .expect(1)
        .mount(&server)
        .await;
    let client = crate::support::client_for(&server.uri()).with_api_key(KEY).build().unwrap();
    let options = RequestOptions::new().with_header("x-correlation-id", "job-42").unwrap();
    client.with_options(&options).get_appointment().id("4567").send().await.unwrap();
    for name in ["x-api-key", "X-Api-Key", "x-practice-group-id", "Host", "content-length", "transfer-encoding"] {
        let refused = RequestOptions::new().with_header(name, "other").unwrap_err();
        assert!(matches!(&refused, OptionsError::ReservedHeader(_)), "{name}: {refused:?}");
        assert!(refused.to_string().contains("cannot be set per call"), "{refused}");
    }
    assert!(matches!(RequestOptions::new().with_header("bad header", "x"), Err(OptionsError::InvalidHeader { .. })));
    // A name that is really a pasted secret is never repeated.
    let pasted = RequestOptions::new().with_header("x-api-key:SECRET-PASTED", "x").unwrap_err();
    assert!(!format!("{pasted} {pasted:?}").contains("SECRET-PASTED"), "{pasted:?}");
    assert!(matches!(RequestOptions::new().with_header("x-ok", "line\nbreak"), Err(OptionsError::InvalidHeader { .. })));
    // Debug never shows a header's value.
    let shown = format!("{options:?}");
    assert!(!shown.contains("job-42"), "{shown}");
}

/// `registerPatientPds` answers the existing patient when sent again: a caller may opt it in to
/// retries. The opt-in retries exactly as the policy says; without it a POST is sent once.
#[tokio::test]
async fn the_idempotent_opt_in_retries_a_post_as_configured_and_the_default_never_does() {
    for (opt_in, retries, requests) in [(false, 2, 1), (true, 2, 3), (true, 1, 2)] {
        let server = MockServer::start().await;
        Mock::given(method("POST")).and(path("/v1/patients/register_pds")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
        let client = crate::support::client_for(&server.uri()).with_retry_policy(fast_retries(retries)).build().unwrap();
        let options = if opt_in { RequestOptions::new().idempotent("registerPatientPds").unwrap() } else { RequestOptions::new() };
        let trace = hero_health::patients::PdsTrace::nhs_number(
            "9434765919".parse().unwrap(),
            chrono::NaiveDate::from_ymd_opt(1980, 4, 1).unwrap(),
        );
        assert!(client.with_options(&options).patients().trace(&trace).await.is_err());
        assert_eq!(server.received_requests().await.unwrap().len(), requests, "opt-in {opt_in}, {retries} retries");
    }
    // The opt-in is for the operation named: another POST of the same copy keeps the table.
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
    let client = crate::support::client_for(&server.uri()).with_retry_policy(fast_retries(2)).build().unwrap();
    let copy = client.with_options(&RequestOptions::new().idempotent("registerPatientPds").unwrap());
    let message = hero_health::messages::Outgoing::new(&"1".parse().unwrap(), hero_health::messages::Channel::Sms, "Hello");
    assert!(copy.messages().send(&message).await.is_err());
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "sendMessage is never retried");
    let unknown = RequestOptions::new().idempotent("register_patient_pds").unwrap_err();
    assert!(unknown.to_string().contains("did you mean registerPatientPds"), "{unknown}");
}

/// Counts calls, adds a `traceparent`, records what it was shown, and tries to add the key.
#[derive(Debug, Default)]
struct Tracer {
    requests: AtomicUsize,
    seen: Mutex<Vec<String>>,
}

impl Middleware for Tracer {
    fn on_request(&self, call: &CallInfo<'_>, headers: &mut AddedHeaders) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(format!("{call:?} {headers:?}"));
        headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        headers.insert("X-API-KEY", "a-middleware-cannot-set-this");
    }

    fn on_response(&self, call: &CallInfo<'_>, status: Option<reqwest::StatusCode>, _elapsed: Duration) {
        self.seen.lock().unwrap().push(format!("{} {} attempt {} -> {status:?}", call.operation, call.url_template, call.attempt));
    }
}

#[tokio::test]
async fn middleware_sees_each_attempt_adds_headers_and_never_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)).up_to_n_times(1).with_priority(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        .and(header("x-api-key", KEY))
        .respond_with(appointment())
        .with_priority(2)
        .mount(&server)
        .await;
    let tracer = Arc::new(Tracer::default());
    let client = crate::support::client_for(&server.uri())
        .with_api_key(KEY)
        .with_retry_policy(fast_retries(2))
        .with_middleware(tracer.clone())
        .build()
        .unwrap();
    client.get_appointment().id("4567").send().await.expect("the header reached the server, and the key stayed the client's");
    assert_eq!(tracer.requests.load(Ordering::SeqCst), 2, "one per attempt");
    let seen = tracer.seen.lock().unwrap().join("\n");
    assert!(seen.contains("getAppointment /v1/appointments/{id} attempt 1 -> Some(503)"), "{seen}");
    assert!(seen.contains("getAppointment /v1/appointments/{id} attempt 2 -> Some(200)"), "{seen}");
    assert!(!seen.contains(KEY) && !seen.contains("4567"), "never the key or a concrete path: {seen}");
    for request in server.received_requests().await.unwrap() {
        let keys: Vec<_> = request.headers.get_all("x-api-key").iter().collect();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0], KEY);
    }
}

/// A layer that panics: the call goes on, and its answer is not lost.
#[derive(Debug)]
struct Panicking;

impl Middleware for Panicking {
    fn on_request(&self, _call: &CallInfo<'_>, _headers: &mut AddedHeaders) {
        panic!("a bug in the user's layer");
    }
    fn on_response(&self, _call: &CallInfo<'_>, _status: Option<reqwest::StatusCode>, _elapsed: Duration) {
        panic!("a bug in the user's layer");
    }
}

#[tokio::test]
async fn a_panicking_middleware_loses_no_answer() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(appointment()).expect(1).mount(&server).await;
    let client = crate::support::client_for(&server.uri()).build().unwrap().with_middleware(Panicking);
    client.get_appointment().id("4567").send().await.expect("the answer arrives");
}

#[tokio::test(flavor = "current_thread")]
async fn metrics_read_back_by_operation_status_class_and_retries() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // This test's thread only (a current-thread runtime): other tests keep their own.
    let _local = metrics::set_default_local_recorder(&recorder);
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)).up_to_n_times(1).with_priority(1).mount(&server).await;
    Mock::given(method("GET")).respond_with(appointment()).with_priority(2).mount(&server).await;
    let client = crate::support::client_for(&server.uri()).with_retry_policy(fast_retries(2)).build().unwrap();
    client.get_appointment().id("4567").send().await.unwrap();
    client.get_appointment().id("4567").send().await.unwrap();

    let metrics = snapshotter.snapshot().into_vec();
    let labels =
        |key: &metrics_util::CompositeKey| key.key().labels().map(|l| format!("{}={}", l.key(), l.value())).collect::<Vec<_>>().join(",");
    let find = |name: &str| metrics.iter().find(|(key, ..)| key.key().name() == name).unwrap_or_else(|| panic!("{name} missing"));
    let (key, _, _, requests) = find(hero_health::telemetry::REQUESTS);
    assert_eq!(*requests, DebugValue::Counter(2));
    assert_eq!(labels(key), "hero.operation=getAppointment,http.request.method=GET,status_class=2xx");
    let (_, _, _, retries) = find(hero_health::telemetry::RETRIES);
    assert_eq!(*retries, DebugValue::Counter(1), "the 503 was retried once");
    let (key, _, _, duration) = find(hero_health::telemetry::REQUEST_DURATION);
    assert!(matches!(duration, DebugValue::Histogram(values) if values.len() == 2), "{duration:?}");
    let labels = labels(key);
    assert!(labels.contains("url.template=/v1/appointments/{id}") && !labels.contains("4567"), "{labels}");
}
