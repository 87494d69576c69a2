//! What the SDK costs over the HTTP client it wraps, side by side in one run (machines here are
//! noisy: compare the pairs, not absolute times). `cargo bench --bench sdk`, then
//! `cargo xtask bench-report` for the ratios against their targets (README, "Performance").
//!
//! - `per_call`: generated `get_appointment` vs. a raw reqwest GET + serde of the same JSON;
//! - `concurrency`: 1,000 concurrent calls on one client, both ways (connections counted);
//! - `decode`: 10,000 slots / patients into the generated types vs. minimal hand-written structs;
//! - `booking`: `book()` against the mock vs. the same two requests made raw, and `book()` with
//!   the in-memory booking journal vs. without;
//! - `journal`: the in-memory journal's own steps per booking, without HTTP;
//! - `webhooks`: the replay check with an empty memory vs. one holding 100,000 deliveries
//!   (constant time: the two should be alike).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures_util::future::join_all;
use hero_health::mock::MockHero;
use hero_health::{Client, Environment, types};
use serde::Deserialize;

const EXAMPLES: &str = include_str!(concat!(env!("OUT_DIR"), "/mock_examples.json"));

fn example(operation: &str) -> serde_json::Value {
    let all: Vec<serde_json::Value> = serde_json::from_str(EXAMPLES).expect("build.rs writes valid JSON");
    all.into_iter().find(|e| e["operation"] == operation).map(|e| e["body"].clone()).expect("documented operation")
}

/// A loopback server answering one fixed appointment, counting the connections it accepts.
async fn fixed_server() -> (String, Arc<Mutex<HashSet<SocketAddr>>>) {
    let body = example("getAppointment").to_string();
    let peers = Arc::new(Mutex::new(HashSet::new()));
    let seen = peers.clone();
    let app = axum::Router::new().fallback(move |ConnectInfo(peer): ConnectInfo<SocketAddr>| {
        let body = body.clone();
        seen.lock().unwrap().insert(peer);
        async move { ([("content-type", "application/json")], body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap() });
    (url, peers)
}

fn client(url: &str) -> Client {
    Client::builder()
        .with_api_key("bench-key")
        .with_practice_group_id("1")
        .with_environment(Environment::custom(url).unwrap())
        .build()
        .unwrap()
}

/// The two auth headers a hand-written client adds to every request.
fn auth(key: &'static str) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", reqwest::header::HeaderValue::from_static(key));
    headers.insert("x-practice-group-id", reqwest::header::HeaderValue::from_static("1"));
    headers
}

/// What a hand-written client would send: the same URL and headers.
async fn raw_get(http: &reqwest::Client, url: &str) -> RawAppointment {
    http.get(format!("{url}/v1/appointments/4567"))
        .headers(auth("bench-key"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every field of the answer, with the types a hand-written client would use (enums and ids as
/// strings): the comparison measures the SDK's overhead, not decoding fewer fields.
#[allow(dead_code)]
#[derive(Deserialize)]
struct RawAppointment {
    id: String,
    appointment_source: Option<String>,
    appointment_template_name: Option<String>,
    appointment_type_id: String,
    booking_confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    can_be_cancelled: bool,
    can_be_rescheduled: bool,
    cancellation_policy_hours: Option<f64>,
    cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
    duration: Option<f64>,
    in_person: bool,
    link_id: Option<String>,
    location_id: String,
    location_name: Option<String>,
    patient: Option<RawPerson>,
    patient_id: Option<String>,
    practitioner: Option<RawPerson>,
    practitioner_id: String,
    reason: Option<String>,
    reserved_until: Option<chrono::DateTime<chrono::Utc>>,
    start_time: Option<chrono::DateTime<chrono::Utc>>,
    suppress_mail: bool,
    telephone: bool,
    video: bool,
    video_url: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct RawPerson {
    title: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

fn per_call(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, _) = rt.block_on(fixed_server());
    let sdk = client(&url);
    let raw = reqwest::Client::new();
    let mut group = c.benchmark_group("per_call");
    group.bench_function("sdk", |b| b.to_async(&rt).iter(|| async { sdk.get_appointment().id("4567").send().await.unwrap() }));
    group.bench_function("raw", |b| b.to_async(&rt).iter(|| raw_get(&raw, &url)));
    // The same call with per-call options (a timeout, a header) and with a no-op middleware.
    let options = hero_health::options::RequestOptions::new()
        .with_timeout(std::time::Duration::from_secs(20))
        .with_header("x-correlation-id", "bench")
        .unwrap();
    let shaped = sdk.with_options(&options);
    group.bench_function("sdk_options", |b| b.to_async(&rt).iter(|| async { shaped.get_appointment().id("4567").send().await.unwrap() }));
    let layered = sdk.with_middleware(NoOp);
    group.bench_function("sdk_middleware", |b| {
        b.to_async(&rt).iter(|| async { layered.get_appointment().id("4567").send().await.unwrap() })
    });
    group.finish();
}

/// A middleware that does nothing: what the hooks cost on their own.
#[derive(Debug)]
struct NoOp;

impl hero_health::options::Middleware for NoOp {}

/// A call through a practice directory (its client taken for each call, and its key read
/// per attempt from the practice's shared cell) against the same call on a plain client.
fn practices(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, _) = rt.block_on(fixed_server());
    let plain = client(&url);
    let keys = hero_health::keys::MemoryKeys::new().with_key("1", "bench-key").with_key("2", "bench-key-2");
    let directory = hero_health::practices::PracticeDirectory::builder()
        .with_environment(Environment::custom(&url).unwrap())
        .with_key_source(keys)
        .build()
        .unwrap();
    rt.block_on(directory.load(["1", "2"])).unwrap();
    let mut group = c.benchmark_group("practices");
    group.bench_function("directory", |b| {
        b.to_async(&rt).iter(|| async { directory.client("1").await.unwrap().get_appointment().id("4567").send().await.unwrap() })
    });
    group.bench_function("plain", |b| b.to_async(&rt).iter(|| async { plain.get_appointment().id("4567").send().await.unwrap() }));
    group.finish();
}

fn concurrency(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("concurrency");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for (name, use_sdk) in [("sdk", true), ("raw", false), ("raw_with_timeouts", false)] {
        let (url, peers) = rt.block_on(fixed_server());
        let sdk = client(&url);
        // The SDK sets a connect timeout and a request timeout by default; this variant shows
        // what those two settings alone cost raw reqwest.
        let raw = if name == "raw_with_timeouts" {
            reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).timeout(Duration::from_secs(30)).build().unwrap()
        } else {
            reqwest::Client::new()
        };
        group.bench_with_input(BenchmarkId::new(name, 1000), &use_sdk, |b, &use_sdk| {
            b.to_async(&rt).iter(|| async {
                if use_sdk {
                    join_all((0..1000).map(|_| sdk.get_appointment().id("4567").send())).await.into_iter().for_each(|r| {
                        r.unwrap();
                    });
                } else {
                    join_all((0..1000).map(|_| raw_get(&raw, &url))).await;
                }
            })
        });
        eprintln!("concurrency/{name}: {} connections opened for all iterations", peers.lock().unwrap().len());
    }
    group.finish();
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct RawSlot {
    id: Option<String>,
    practitioner_id: Option<String>,
    appointment_type_id: Option<String>,
    location_id: Option<String>,
    start_time: Option<chrono::DateTime<chrono::Utc>>,
    finish_time: Option<chrono::DateTime<chrono::Utc>>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct RawList<T> {
    data: Vec<T>,
    count: f64,
}

/// The patient fields with the types a hand-written client would use (enums as strings).
#[allow(dead_code)]
#[derive(Deserialize)]
struct RawPatient {
    id: String,
    uid: Option<String>,
    title: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    dob: Option<chrono::DateTime<chrono::Utc>>,
    sex: Option<String>,
    sex_changed_at: Option<chrono::DateTime<chrono::Utc>>,
    nhs_number: Option<String>,
    email: Option<String>,
    emails: Option<Vec<String>>,
    mobile: Option<String>,
    address_line_1: Option<String>,
    address_line_2: Option<String>,
    address_line_3: Option<String>,
    town: Option<String>,
    county: Option<String>,
    postcode: Option<String>,
    country: Option<String>,
    notes: Option<String>,
    status: String,
    data_source: String,
    restricted: bool,
    deceased_at: Option<chrono::DateTime<chrono::Utc>>,
    emis_id: Option<String>,
    ehr_partner_id: Option<String>,
    last_sync_at: Option<chrono::DateTime<chrono::Utc>>,
    verification_credentials: Option<Vec<String>>,
}

/// `{data: [10,000 items], count}` with distinct ids, as bytes.
fn big_list(operation: &str) -> Vec<u8> {
    let item = example(operation)["data"][0].clone();
    let data: Vec<serde_json::Value> = (0..10_000)
        .map(|i| {
            let mut item = item.clone();
            item["id"] = serde_json::Value::String((1000 + i).to_string());
            item
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"data": data, "count": 10_000})).unwrap()
}

fn decode(c: &mut Criterion) {
    let slots = big_list("listSlots");
    let patients = big_list("listPatients");
    let mut group = c.benchmark_group("decode");
    group.sample_size(20);
    group.bench_function("slots_sdk", |b| b.iter(|| serde_json::from_slice::<types::SlotList>(&slots).unwrap()));
    group.bench_function("slots_raw", |b| b.iter(|| serde_json::from_slice::<RawList<RawSlot>>(&slots).unwrap()));
    group.bench_function("patients_sdk", |b| b.iter(|| serde_json::from_slice::<types::PatientList>(&patients).unwrap()));
    group.bench_function("patients_raw", |b| b.iter(|| serde_json::from_slice::<RawList<RawPatient>>(&patients).unwrap()));
    group.finish();
}

/// A fresh mock with at least `bookings` free slots (over 60 per open day), and its slots. It
/// starts at 06:00 on a Tuesday, before surgery opens: no slot starts while the benchmark runs,
/// whatever the hour it is run at.
async fn mock_with_slots(bookings: u64) -> (MockHero, Vec<types::Slot>) {
    let days = u32::try_from(bookings / 60 + 2).unwrap_or(u32::MAX);
    let start = "2027-01-05T06:00:00Z".parse().unwrap();
    let hero = MockHero::builder().with_days(days).with_start(start).start().await.unwrap();
    let slots = hero.free_slots();
    assert!(slots.len() as u64 >= bookings, "{} slots for {bookings} bookings", slots.len());
    (hero, slots)
}

async fn raw_book(raw: &reqwest::Client, url: &str, slot: &types::Slot) -> RawAppointment {
    let body = serde_json::json!({
        "appointment_type_id": slot.appointment_type_id, "location_id": slot.location_id,
        "practitioner_id": slot.practitioner_id, "duration": 10, "start_time": slot.start_time,
    });
    let reservation: serde_json::Value =
        raw.post(format!("{url}/v1/appointments")).headers(auth("mock-api-key")).json(&body).send().await.unwrap().json().await.unwrap();
    let id = reservation["id"].as_str().unwrap().to_owned();
    raw.post(format!("{url}/v1/appointments/{id}/book")).headers(auth("mock-api-key")).send().await.unwrap().json().await.unwrap()
}

fn booking(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (hero, slots) = rt.block_on(mock_with_slots(1));
    hero.clear_requests();
    rt.block_on(hero.client().booking().book(&slots[0], None)).unwrap();
    let requests = hero.requests().len();
    assert_eq!(requests, 2, "a booking takes exactly two requests");
    eprintln!("booking: {requests} requests per book()");

    let mut group = c.benchmark_group("booking");
    group.sample_size(20);
    // Every booking needs a fresh slot: each sample gets a fresh mock, set up outside the timing.
    group.bench_function("sdk", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let (hero, slots) = mock_with_slots(iters).await;
            let booking = hero.client().booking();
            let start = std::time::Instant::now();
            for slot in slots.iter().take(iters as usize) {
                booking.book(slot, Some(&hero_health::Id::from(10_000))).await.unwrap();
            }
            start.elapsed()
        })
    });
    // The same with the in-memory journal (intent, hold, confirmation check, outcome: four
    // journal steps per booking, each for a patient of its own).
    group.bench_function("sdk_journal", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let (hero, slots) = mock_with_slots(iters).await;
            let journal = std::sync::Arc::new(hero_health::booking::journal::MemoryJournal::new());
            let booking = hero.client().booking().with_journal(journal);
            let patients: Vec<hero_health::Id> = (0..iters).map(|n| hero_health::Id::from(10_000 + n)).collect();
            let start = std::time::Instant::now();
            for (slot, patient) in slots.iter().zip(&patients) {
                booking.book(slot, Some(patient)).await.unwrap();
            }
            start.elapsed()
        })
    });
    group.bench_function("raw", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let (hero, slots) = mock_with_slots(iters).await;
            let (raw, url) = (reqwest::Client::new(), hero.url());
            let start = std::time::Instant::now();
            for slot in slots.iter().take(iters as usize) {
                raw_book(&raw, &url, slot).await;
            }
            start.elapsed()
        })
    });
    group.finish();
}

/// The in-memory journal's own work per booking (intent, hold, the confirmation's check,
/// outcome), without HTTP: what `booking/sdk_journal` adds to `booking/sdk`, measured apart from
/// the loopback's noise. Each booking is a patient of its own in a journal that holds the
/// bookings before it.
fn journal(c: &mut Criterion) {
    use hero_health::booking::journal::{BookingJournal, MemoryJournal, NewEntry, Outcome, Step};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let at: chrono::DateTime<chrono::Utc> = "2027-01-05T06:00:00Z".parse().unwrap();
    let request: types::AppointmentCreate = serde_json::from_value(serde_json::json!({
        "appointment_type_id": "1", "location_id": "1", "practitioner_id": "11", "duration": 10, "start_time": at,
    }))
    .unwrap();
    let mut group = c.benchmark_group("journal");
    group.bench_function("memory_steps_per_booking", |b| {
        let journal = MemoryJournal::new();
        let mut patient = 0u64;
        b.to_async(&rt).iter(|| {
            patient += 1;
            let mut request = request.clone();
            request.patient_id = Some(hero_health::Id::from(patient));
            let journal = &journal;
            async move {
                let new = NewEntry::new("1", request, None, ("bench", "run"), at, at);
                let id = journal.begin(new).await.unwrap();
                let hold = Step::Reserved { appointment_id: "5001".into(), reserved_until: Some(at) };
                journal.record(id, "bench", &hold, at).await.unwrap();
                journal.record(id, "bench", &hold, at).await.unwrap();
                journal.settle(id, "bench", &Outcome::Booked { appointment_id: "5001".into() }).await.unwrap();
            }
        })
    });
    group.finish();
}

fn webhooks(c: &mut Criterion) {
    use hero_health::webhooks::{Verifier, sign};
    let at: chrono::DateTime<chrono::Utc> = "2026-12-02T09:00:00Z".parse().unwrap();
    let body = |n: usize| format!(r#"{{"object":"Appointment","id":"{n}","practice_group_id":"1","event":"appointment.confirmed"}}"#);
    let mut group = c.benchmark_group("webhooks");
    for remembered in [0usize, 100_000] {
        let verifier = Verifier::new("whsec-bench").unwrap().with_replay_protection();
        for n in 0..remembered {
            let body = body(n);
            verifier.verify_at(body.as_bytes(), &sign(body.as_bytes(), "whsec-bench", at), at).unwrap();
        }
        // A repeat: verified, then found in the memory.
        let repeat = body(usize::MAX);
        let headers = sign(repeat.as_bytes(), "whsec-bench", at);
        let _ = verifier.verify_at(repeat.as_bytes(), &headers, at);
        group.bench_with_input(BenchmarkId::new("replay_check", remembered), &remembered, |b, _| {
            b.iter(|| verifier.verify_at(repeat.as_bytes(), &headers, at).unwrap_err())
        });
    }
    group.finish();
}

criterion_group!(benches, per_call, practices, concurrency, decode, booking, journal, webhooks);
criterion_main!(benches);
