//! The client against servers that misbehave on purpose or by accident: redirects to another
//! origin, bodies that are cut, drip or never end, dot-segment ids, headers echoing the key.
//!
//! Each server here is a scripted raw TCP server on a loopback address (wiremock cannot cut a
//! body or send one without end). Every loop is bounded in bytes and time and stops by itself.

use crate::support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hero_health::{Error, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const APPOINTMENT: &str = r#"{"id":"4567","practitioner_id":"1","location_id":"1","appointment_type_id":"1","start_time":null,
"can_be_cancelled":true,"can_be_rescheduled":false,"in_person":true,"suppress_mail":false,"telephone":false,"video":false}"#;
const RESERVATION: &str = r#"{"id":"5001","reserved_until":null}"#;
const KEY: &str = "test-key";

/// What a scripted server does with one connection, after reading the request.
#[derive(Clone)]
enum Reply {
    /// Writes these bytes, then closes.
    Raw(String),
    /// Writes `head` and the first `bytes` of `body`, then closes (a cut-off answer).
    Cut { head: String, body: String, bytes: usize },
    /// Writes `head`, then one byte every `every`, at most `count` of them.
    Drip { head: String, every: Duration, count: usize },
    /// Writes `head`, then 64 KiB chunks until the client hangs up or `max` bytes are out.
    Endless { head: String, max: u64 },
}

fn ok_json(body: &str) -> String {
    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
}

fn head(status: &str, extra: &str) -> String {
    format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n{extra}\r\n")
}

/// A scripted HTTP/1.1 server: connection `n` gets `script[n]` (the last one repeats).
struct Loopback {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    body_bytes_sent: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Loopback {
    async fn start(ip: &str, script: Vec<Reply>) -> Loopback {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind a loopback address");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let body_bytes_sent = Arc::new(AtomicU64::new(0));
        let (log, sent) = (requests.clone(), body_bytes_sent.clone());
        let task = tokio::spawn(async move {
            let mut served = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let reply = script[served.min(script.len() - 1)].clone();
                served += 1;
                let (log, sent) = (log.clone(), sent.clone());
                tokio::spawn(async move { serve(stream, reply, log, sent).await });
            }
        });
        Loopback { url, requests, body_bytes_sent, task }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    fn client(&self) -> hero_health::ClientBuilder {
        support::client_for(&self.url)
            .with_api_key(KEY)
            .with_retry_policy(RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(20)))
    }
}

async fn serve(mut stream: TcpStream, reply: Reply, log: Arc<Mutex<Vec<String>>>, sent: Arc<AtomicU64>) {
    let Some(request) = read_request(&mut stream).await else { return };
    log.lock().unwrap().push(request);
    match reply {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(bytes.as_bytes()).await;
        }
        Reply::Cut { head, body, bytes } => {
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body.as_bytes()[..bytes]).await;
        }
        Reply::Drip { head, every, count } => {
            let _ = stream.write_all(head.as_bytes()).await;
            for _ in 0..count {
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
                tokio::time::sleep(every).await;
            }
        }
        Reply::Endless { head, max } => {
            let _ = stream.write_all(head.as_bytes()).await;
            let chunk = vec![b'['; 64 * 1024];
            while sent.load(Ordering::Relaxed) < max {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
                sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        }
    }
    let _ = stream.shutdown().await;
}

/// The request head and body, as text (at most 1 MiB).
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buffer).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Some(text);
            }
        }
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await.ok()?.ok()?;
        if read == 0 || buffer.len() > 1 << 20 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

fn reservation_body() -> hero_health::types::AppointmentCreate {
    serde_json::from_value(serde_json::json!({
        "appointment_type_id": "1", "location_id": "1", "practitioner_id": "1", "duration": 10,
        "start_time": "2026-12-01T09:00:00Z", "patient_id": "1234"
    }))
    .unwrap()
}

// 1. Redirects never carry the auth headers (or a body) to another origin.

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed_on_a_get_or_a_post() {
    let elsewhere = Loopback::start("127.0.0.2", vec![Reply::Raw(ok_json(APPOINTMENT))]).await;
    for status in ["301 Moved Permanently", "302 Found", "307 Temporary Redirect", "308 Permanent Redirect"] {
        let location = format!("location: {}/v1/appointments/4567\r\ncontent-length: 0\r\n", elsewhere.url);
        let hero = Loopback::start("127.0.0.1", vec![Reply::Raw(head(status, &location))]).await;
        let client = hero.client().build().unwrap();

        let error = client.get_appointment().id("4567").send().await.unwrap_err();
        assert!(matches!(error, Error::Redirected { .. }), "{status}: {error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), status[..3].parse().ok());
        assert!(!error.to_string().contains("127.0.0.2"), "{error}");

        let reserve = client.booking().reserve_with(reservation_body()).await;
        assert!(reserve.is_err(), "{status}: a redirected reserve is not a reservation");
        assert_eq!(hero.requests().len(), 2, "{status}: one GET, one POST, neither re-sent");
    }
    assert!(elsewhere.requests().is_empty(), "the other origin received: {:?}", elsewhere.requests());
}

#[tokio::test]
async fn a_custom_client_that_follows_redirects_leaks_but_its_answer_is_refused() {
    let elsewhere = Loopback::start("127.0.0.2", vec![Reply::Raw(ok_json(APPOINTMENT))]).await;
    let location = format!("location: {}/v1/appointments/4567\r\ncontent-length: 0\r\n", elsewhere.url);
    let hero = Loopback::start("127.0.0.1", vec![Reply::Raw(head("301 Moved Permanently", &location))]).await;

    // reqwest's default policy follows it: the documented reason to build from
    // `http_client_builder()`. The answer from elsewhere is still not taken as Hero's.
    let following = hero.client().with_http_client(reqwest::Client::new()).build().unwrap();
    let error = following.get_appointment().id("4567").send().await.unwrap_err();
    assert!(matches!(error, Error::Redirected { .. }), "{error:?}");
    assert_eq!(elsewhere.requests().len(), 1);

    let safe = hero.client().with_http_client(hero_health::client::http_client_builder().build().unwrap()).build().unwrap();
    let error = safe.get_appointment().id("4567").send().await.unwrap_err();
    assert!(matches!(error, Error::Redirected { .. }), "{error:?}");
    assert_eq!(elsewhere.requests().len(), 1, "the crate's builder follows nothing");
}

// 6. Idempotent reads survive an answer that fails after its status line; POSTs are not re-sent.

/// A GET whose first answer fails after its status line (`first`) is sent again and gets the
/// appointment from the second answer: two requests in all.
async fn assert_get_is_retried_after(first: Reply, timeout: Option<Duration>) {
    let hero = Loopback::start("127.0.0.1", vec![first, Reply::Raw(ok_json(APPOINTMENT))]).await;
    let builder = hero.client();
    let client = match timeout {
        Some(timeout) => builder.with_timeout(timeout),
        None => builder,
    }
    .build()
    .unwrap();
    let appointment = client.get_appointment().id("4567").send().await.unwrap();
    assert_eq!(appointment.id.as_str(), "4567");
    assert_eq!(hero.requests().len(), 2);
}

#[tokio::test]
async fn a_get_whose_body_is_cut_after_a_200_is_retried() {
    let cut =
        Reply::Cut { head: head("200 OK", &format!("content-length: {}\r\n", APPOINTMENT.len())), body: APPOINTMENT.into(), bytes: 20 };
    assert_get_is_retried_after(cut, None).await;
}

#[tokio::test]
async fn a_get_whose_body_drips_past_the_timeout_is_retried() {
    let drip = Reply::Drip { head: head("200 OK", "content-length: 1000\r\n"), every: Duration::from_millis(100), count: 50 };
    assert_get_is_retried_after(drip, Some(Duration::from_millis(600))).await;
}

#[tokio::test]
async fn a_get_with_broken_chunking_after_a_200_is_retried() {
    let broken = Reply::Raw(head("200 OK", "transfer-encoding: chunked\r\n") + "zz\r\nnot a chunk\r\n");
    assert_get_is_retried_after(broken, None).await;
}

#[tokio::test]
async fn a_post_whose_body_is_cut_after_a_200_is_not_resent() {
    let cut =
        Reply::Cut { head: head("200 OK", &format!("content-length: {}\r\n", RESERVATION.len())), body: RESERVATION.into(), bytes: 5 };
    let hero = Loopback::start("127.0.0.1", vec![cut, Reply::Raw(ok_json(RESERVATION))]).await;
    let error = hero.client().build().unwrap().create_appointment().body(reservation_body()).send().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(error.to_string().contains("cut off"), "{error}");
    assert_eq!(hero.requests().len(), 1);
}

// 4. Answers have a size limit.

#[tokio::test]
async fn an_endless_body_is_refused_at_the_limit() {
    let endless = Reply::Endless { head: head("200 OK", ""), max: 1 << 30 };
    let hero = Loopback::start("127.0.0.1", vec![endless]).await;
    let limit = 1 << 20;
    let client = hero.client().with_max_response_bytes(limit).build().unwrap();
    let error = client.get_appointment().id("4567").send().await.unwrap_err();
    assert!(matches!(error, Error::ResponseTooLarge { limit: l, .. } if l == limit), "{error:?}");
    assert!(error.to_string().contains("with_max_response_bytes"), "{error}");
    assert!(!error.is_retryable());
    assert_eq!(hero.requests().len(), 1, "a refused answer is not asked for again");
    // The server stops once the client hangs up, long before its 1 GiB bound.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(hero.body_bytes_sent.load(Ordering::Relaxed) < 64 << 20, "{} bytes sent", hero.body_bytes_sent.load(Ordering::Relaxed));
}

#[tokio::test]
async fn an_announced_oversized_body_is_refused_unread_and_the_default_limit_is_16_mib() {
    let announced = Reply::Raw(head("200 OK", "content-length: 50000000\r\n"));
    let hero = Loopback::start("127.0.0.1", vec![announced]).await;
    let error = hero.client().build().unwrap().get_appointment().id("4567").send().await.unwrap_err();
    assert!(matches!(error, Error::ResponseTooLarge { limit: 16_777_216, .. }), "{error:?}");

    // A per-call copy can raise it for one legitimately large answer.
    let big = format!("{{\"padding\":\"{}\",{}", "x".repeat(20 << 20), &APPOINTMENT[1..]);
    let hero = Loopback::start("127.0.0.1", vec![Reply::Raw(ok_json(&big))]).await;
    let client = hero.client().build().unwrap();
    assert!(matches!(client.get_appointment().id("4567").send().await, Err(Error::ResponseTooLarge { .. })));
    let appointment = client.with_max_response_bytes(32 << 20).get_appointment().id("4567").send().await.unwrap();
    assert_eq!(appointment.id.as_str(), "4567");
}

// 7. Path ids of `.` or `..` never change the path.

#[tokio::test]
async fn dot_segment_and_empty_path_ids_are_refused_before_sending() {
    let hero = Loopback::start("127.0.0.1", vec![Reply::Raw(head("200 OK", "content-length: 0\r\n"))]).await;
    let client = hero.client().build().unwrap();
    for id in [".", "..", "", "%2e", "%2E%2E"] {
        let error = client.delete_webhook().id(id).send().await;
        if id.starts_with('%') {
            // Percent signs are themselves encoded: a literal id, not a dot segment.
            assert!(error.is_ok(), "{id:?}: {error:?}");
            continue;
        }
        let error = error.unwrap_err();
        assert!(matches!(error, Error::InvalidRequest { .. }), "{id:?}: {error:?}");
        // (An empty id is refused even earlier, by the id type.)
        assert!(id.is_empty() || error.to_string().contains("deleteWebhook"), "{error}");
        let error = client.get_hca_consultant().gmc_number(id).send().await.unwrap_err();
        assert!(matches!(error, Error::InvalidRequest { .. }), "{id:?}: {error:?}");
    }
    let paths: Vec<String> = hero.requests().iter().map(|r| r.lines().next().unwrap_or_default().to_owned()).collect();
    assert_eq!(paths, ["DELETE /v1/webhooks/%252e HTTP/1.1", "DELETE /v1/webhooks/%252E%252E HTTP/1.1"]);
}

// 8. Debug output of an error hides header values that could carry the key.

#[tokio::test]
async fn an_errors_debug_output_hides_echoed_secrets_but_keeps_the_request_id() {
    let echo = format!(
        "x-api-key: {KEY}\r\nset-cookie: session=patient-9434765919\r\nlocation: https://elsewhere.example/9434765919\r\nx-request-id: req-77\r\ncontent-length: 0\r\n"
    );
    let hero = Loopback::start("127.0.0.1", vec![Reply::Raw(head("404 Not Found", &echo))]).await;
    let error = hero.client().build().unwrap().get_appointment().id("4567").send().await.unwrap_err();
    let debug = format!("{error:?} {error}");
    for secret in [KEY, "9434765919", "elsewhere.example"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("req-77"), "{debug}");
    assert_eq!(error.request_id(), Some("req-77"));
    // The values are still there for code that asks for them.
    assert_eq!(error.headers().and_then(|h| h.get("x-api-key")).map(|v| v.to_str().unwrap()), Some(KEY));
}
