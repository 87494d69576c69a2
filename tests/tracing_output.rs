//! One span per call with the operation, method, path template, status and attempts; nothing
//! above `trace` shows a body, the API key, a concrete path or a patient's data.

// The integration tests' shared helpers; this binary uses only `client_for`.
#[path = "it/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hero_health::RetryPolicy;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "secret-api-key-never-logged";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// What this test's thread logs at `level` and above, spans with their fields when they close.
fn capture(level: tracing::Level) -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(level)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn spans_name_the_operation_and_never_show_secrets_or_patient_data() {
    let (captured, _guard) = capture(tracing::Level::DEBUG);

    let server = MockServer::start().await;
    let body = r#"{"id":"987654","practitioner_id":"1","location_id":"1","appointment_type_id":"1","start_time":null,
        "can_be_cancelled":true,"can_be_rescheduled":false,"in_person":true,"suppress_mail":false,"telephone":false,"video":false,
        "reason":"Zebedee Quimby has chest pain"}"#;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)).up_to_n_times(1).with_priority(1).mount(&server).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json").insert_header("x-request-id", "req-9"))
        .with_priority(2)
        .mount(&server)
        .await;
    let client = support::client_for(&server.uri())
        .with_api_key(KEY)
        .with_retry_policy(RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(5)))
        .build()
        .unwrap();
    client.get_appointment().id("987654").send().await.unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("hero_health.request"), "{log}");
    assert!(log.contains("operation=\"getAppointment\""), "{log}");
    assert!(log.contains("path=\"/v1/appointments/{id}\""), "{log}");
    assert!(log.contains("status=200") && log.contains("attempts=2") && log.contains("request_id=\"req-9\""), "{log}");
    assert!(log.contains("retrying") && log.contains("HTTP 503"), "the retry is logged: {log}");
    // OpenTelemetry's HTTP client semantic conventions, by name.
    for field in [
        "http.request.method=GET",
        "url.template=\"/v1/appointments/{id}\"",
        "server.address=\"127.0.0.1\"",
        "http.response.status_code=200",
        "http.request.resend_count=1",
        "hero.operation=\"getAppointment\"",
        "otel.kind=\"client\"",
    ] {
        assert!(log.contains(field), "`{field}` missing:\n{log}");
    }
    assert!(!log.contains("error.type"), "a call that succeeded has no error.type: {log}");
    for secret in [KEY, "Zebedee", "chest pain", "987654"] {
        assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
    }
}

/// `error.type` names what failed, as the conventions say: the status code for an HTTP error,
/// a kind for a call with no answer; never a message, URL or id.
#[tokio::test]
async fn a_failed_call_s_span_carries_error_type() {
    let (captured, _guard) = capture(tracing::Level::INFO);
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
    let client = support::client_for(&server.uri()).with_api_key(KEY).build().unwrap();
    assert!(client.get_appointment().id("987654").send().await.is_err());
    let unreachable = support::client_for("http://127.0.0.1:9").with_retry_policy(RetryPolicy::none()).build().unwrap();
    assert!(unreachable.get_appointment().id("987654").send().await.is_err());
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("error.type=\"404\"") && log.contains("http.response.status_code=404"), "{log}");
    assert!(log.contains("error.type=\"connect\""), "{log}");
    for secret in [KEY, "987654"] {
        assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
    }
}
