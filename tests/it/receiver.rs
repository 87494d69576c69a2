//! The axum receiver as Hero (or an attacker) meets it over HTTP: a delivery is remembered only
//! after its handler answered 2xx, distinct events are never merged, an identical delivery is
//! never handled twice at once, and a slow or oversized request cannot hold the endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use chrono::{DateTime, Utc};
use hero_health::clock::TestClock;
use hero_health::webhooks::axum::{GuardedListener, VerifiedEvent, WebhookReceiver, receive};
use hero_health::webhooks::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use reqwest::header::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

const KEY: &str = "whsec-receiver-test";
const BODY: &[u8] = br#"{"object":"Patient","id":"9434765919","practice_group_id":"123","event":"patient.medical-record-updated"}"#;

fn at() -> DateTime<Utc> {
    "2026-12-02T09:00:00Z".parse().unwrap()
}

/// What the handler does: answers each call with the next status (then 204), and may wait for a
/// permit first.
#[derive(Clone)]
struct Handler {
    calls: Arc<AtomicU32>,
    statuses: Arc<std::sync::Mutex<Vec<u16>>>,
    gate: Option<Arc<Semaphore>>,
}

async fn handle(State(handler): State<Handler>, VerifiedEvent(_event): VerifiedEvent) -> StatusCode {
    handler.calls.fetch_add(1, Ordering::SeqCst);
    if let Some(gate) = &handler.gate {
        let _ = gate.acquire().await;
    }
    let next = { handler.statuses.lock().unwrap().pop() };
    next.map_or(StatusCode::NO_CONTENT, |s| StatusCode::from_u16(s).unwrap())
}

/// A receiver on 127.0.0.1 behind the guarded listener; its URL and the handler's state.
async fn serve(
    receiver: WebhookReceiver,
    statuses: Vec<u16>,
    gate: Option<Arc<Semaphore>>,
    listener: impl FnOnce(tokio::net::TcpListener) -> GuardedListener,
) -> (String, Handler) {
    let handler = Handler { calls: Arc::default(), statuses: Arc::new(std::sync::Mutex::new(statuses.into_iter().rev().collect())), gate };
    let app = Router::new().route("/hero", post(handle)).route_layer(from_fn_with_state(receiver, receive)).with_state(handler.clone());
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hero", tcp.local_addr().unwrap());
    let guarded = listener(tcp);
    tokio::spawn(async move { axum::serve(guarded, app).await });
    (url, handler)
}

fn receiver() -> WebhookReceiver {
    WebhookReceiver::new(KEY).unwrap().with_clock(TestClock::starting_at(at()))
}

/// Signed with the timestamp written in milliseconds (finer than a second).
fn signed_in_millis(body: &[u8]) -> HeaderMap {
    let timestamp = at().timestamp_millis().to_string();
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(KEY.as_bytes()).unwrap();
    hmac::Mac::update(&mut mac, format!("{timestamp}.").as_bytes());
    hmac::Mac::update(&mut mac, body);
    let signature = hex::encode(hmac::Mac::finalize(mac).into_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(TIMESTAMP_HEADER, timestamp.parse().unwrap());
    headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
    headers
}

async fn post_delivery(url: &str, headers: &HeaderMap) -> u16 {
    reqwest::Client::new().post(url).headers(headers.clone()).body(BODY).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_delivery_whose_handler_failed_reaches_the_handler_again() {
    let (url, handler) = serve(receiver(), vec![500], None, GuardedListener::new).await;
    let delivery = signed_in_millis(BODY);
    assert_eq!(post_delivery(&url, &delivery).await, 500);
    // Hero resends the identical delivery: it is not a repeat of anything handled.
    assert_eq!(post_delivery(&url, &delivery).await, 204);
    assert_eq!(handler.calls.load(Ordering::SeqCst), 2);
    // Handled now, yet the identical one again reaches the handler: with no event id in Hero's
    // payload it may be a second event.
    assert_eq!(post_delivery(&url, &delivery).await, 204);
    assert_eq!(handler.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn two_events_signed_in_the_same_second_both_reach_the_handler() {
    let (url, handler) = serve(receiver(), vec![], None, GuardedListener::new).await;
    // Whole seconds, as `sign` writes: two updates of one patient in one second are
    // byte-identical, and cannot be told from a repeat.
    let first = sign(BODY, KEY, at());
    let second = sign(BODY, KEY, at());
    assert_eq!(first, second, "byte-identical");
    assert_eq!(post_delivery(&url, &first).await, 204);
    assert_eq!(post_delivery(&url, &second).await, 204);
    assert_eq!(handler.calls.load(Ordering::SeqCst), 2, "neither event is dropped");
}

#[tokio::test]
async fn an_identical_delivery_is_never_handled_twice_at_once() {
    let gate = Arc::new(Semaphore::new(0));
    let (url, handler) = serve(receiver(), vec![], Some(gate.clone()), GuardedListener::new).await;
    let delivery = signed_in_millis(BODY);
    let first = tokio::spawn({
        let (url, delivery) = (url.clone(), delivery.clone());
        async move { post_delivery(&url, &delivery).await }
    });
    while handler.calls.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let busy = reqwest::Client::new().post(&url).headers(delivery.clone()).body(BODY).send().await.unwrap();
    assert_eq!(busy.status().as_u16(), 503, "being handled: come back later");
    assert_eq!(busy.headers().get("retry-after").unwrap(), "1");
    gate.add_permits(1);
    assert_eq!(first.await.unwrap(), 204);
    assert_eq!(handler.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_announced_over_the_limit_is_refused_before_it_is_read() {
    // A read deadline of an hour: the answer cannot come from the deadline.
    let receiver = receiver().with_read_deadline(Duration::from_secs(3600));
    let (url, handler) = serve(receiver, vec![], None, GuardedListener::new).await;
    let address = url.trim_start_matches("http://").trim_end_matches("/hero").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    tcp.write_all(b"POST /hero HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000000000\r\n\r\n{").await.unwrap();
    let mut answer = vec![0; 64];
    let read = tcp.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 400"), "{:?}", String::from_utf8_lossy(&answer[..read]));
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_body_slower_than_the_read_deadline_is_answered_408() {
    let receiver = receiver().with_read_deadline(Duration::from_millis(200));
    let (url, handler) = serve(receiver, vec![], None, GuardedListener::new).await;
    let address = url.trim_start_matches("http://").trim_end_matches("/hero").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    tcp.write_all(b"POST /hero HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"object\"").await.unwrap();
    let mut answer = vec![0; 64];
    let read = tcp.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 408"), "{:?}", String::from_utf8_lossy(&answer[..read]));
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_listener_limits_how_many_connections_are_open() {
    let (url, _) = serve(receiver(), vec![], None, |tcp| {
        GuardedListener::new(tcp).with_max_connections(1).with_read_timeout(Duration::from_secs(3600))
    })
    .await;
    let address = url.trim_start_matches("http://").trim_end_matches("/hero").to_owned();
    // One connection that sends nothing holds the only place, so a delivery waits…
    let silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    let delivery = tokio::spawn({
        let url = url.clone();
        async move { post_delivery(&url, &signed_in_millis(BODY)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!delivery.is_finished(), "not served while the place is taken");
    // …until it closes.
    drop(silent);
    assert_eq!(delivery.await.unwrap(), 204);
}

#[tokio::test]
async fn a_client_dripping_its_head_cannot_hold_its_place() {
    let (url, _) = serve(receiver(), vec![], None, |tcp| {
        GuardedListener::new(tcp).with_max_connections(1).with_read_timeout(Duration::from_millis(300))
    })
    .await;
    let address = url.trim_start_matches("http://").trim_end_matches("/hero").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"POST /hero HTTP/1.1\r\nx-a: ").await.unwrap();
    // A byte every 100 ms: well inside a per-read timeout, never a whole head.
    let dripping = tokio::spawn(async move {
        while slow.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    // The delivery waits for the one place, which the dripping client loses at its deadline.
    // (The guard only turns a regression's endless wait into a failure.)
    let answered = tokio::time::timeout(Duration::from_secs(30), post_delivery(&url, &signed_in_millis(BODY))).await;
    assert_eq!(answered.expect("served once the dripping client was closed"), 204);
    dripping.abort();
}

#[tokio::test]
async fn a_handler_slower_than_the_read_timeout_still_answers() {
    let gate = Arc::new(Semaphore::new(0));
    let (url, _) =
        serve(receiver(), vec![], Some(gate.clone()), |tcp| GuardedListener::new(tcp).with_read_timeout(Duration::from_millis(200))).await;
    let delivery = tokio::spawn(async move { post_delivery(&url, &signed_in_millis(BODY)).await });
    // The handler works for 3 read timeouts: only heads are timed, not handlers.
    tokio::time::sleep(Duration::from_millis(600)).await;
    gate.add_permits(1);
    assert_eq!(delivery.await.unwrap(), 204);
}

#[tokio::test]
async fn the_listener_closes_a_connection_that_sends_nothing() {
    let (url, _) = serve(receiver(), vec![], None, |tcp| GuardedListener::new(tcp).with_read_timeout(Duration::from_millis(300))).await;
    let address = url.trim_start_matches("http://").trim_end_matches("/hero").to_owned();
    let mut silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    // Half a request line, then nothing: a slow client holding the connection.
    silent.write_all(b"POST /he").await.unwrap();
    let mut buffer = [0; 16];
    let closed = silent.read(&mut buffer).await;
    assert!(matches!(closed, Ok(0) | Err(_)), "closed by the server: {closed:?}");
}

#[tokio::test]
async fn a_verified_event_on_a_route_without_the_middleware_is_a_500_naming_the_fix() {
    let app = Router::new().route("/hero", post(|VerifiedEvent(_): VerifiedEvent| async { StatusCode::NO_CONTENT }));
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hero", tcp.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(tcp, app).await });
    let answer = reqwest::Client::new().post(&url).headers(signed_in_millis(BODY)).body(BODY).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 500);
    assert!(answer.text().await.unwrap().contains("from_fn_with_state"));
}
