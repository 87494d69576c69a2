//! The mock answers every documented operation (not only the booking ones it models), with the
//! documented success status, and its answers decode into the generated types.

use hero_health::mock::MockHero;

const SURFACE: &str = include_str!(concat!(env!("OUT_DIR"), "/surface.txt"));

/// Operations the mock models with state; their answers depend on what exists.
const MODELLED: &[&str] = &[
    "list_appointment_types",
    "list_locations",
    "list_practitioners",
    "list_slots",
    "create_appointment",
    "get_appointment",
    "edit_appointment",
    "book_appointment",
    "create_video_link",
    "get_link_status",
    "cancel_appointment",
    "reschedule_appointment",
    "create_webhook",
    "list_webhooks",
    "delete_webhook",
    // Patients and messages (tests/it/patients.rs).
    "register_patient_pds",
    "get_patient",
    "send_message",
    "get_message",
];

#[tokio::test]
async fn every_other_documented_operation_gets_a_success_answer() {
    let hero = MockHero::start().await.unwrap();
    let mut checked = 0;
    for line in SURFACE.lines() {
        let mut parts = line.split(" -> ");
        let (method, path) = parts.next().unwrap().split_once(' ').unwrap();
        let name = parts.next().unwrap();
        if MODELLED.contains(&name) {
            continue;
        }
        // A request the document allows: the mock validates like Hero.
        let response = crate::support::valid_request(&hero, &crate::support::operation_at(method, path)).send().await.unwrap();
        assert!(response.status().is_success(), "{line}: {}", response.status());
        checked += 1;
    }
    assert_eq!(checked, SURFACE.lines().count() - MODELLED.len());
    // A literal segment wins over a path parameter: `/v1/slots/count` is not a slot id.
    let count = hero.requests().into_iter().find(|r| r.path == "/v1/slots/count").unwrap();
    assert_eq!(count.operation.as_deref(), Some("countSlots"));
}

#[tokio::test]
async fn synthesised_answers_decode_into_the_generated_types() {
    let hero = MockHero::start().await.unwrap();
    let client = hero.client();
    // One of each shape: a list envelope, a single object with nested objects and enums, a
    // POST answer.
    let admins = client.list_admins().send().await.unwrap();
    assert_eq!(admins.data.len(), 1);
    client.get_practitioner().id("1").send().await.unwrap();
    client.create_access_token().send().await.unwrap();
    client.list_subscriptions().send().await.unwrap();
}

#[tokio::test]
async fn unknown_paths_are_404_and_auth_comes_first() {
    let hero = MockHero::start().await.unwrap();
    let http = reqwest::Client::new();
    let unknown = http
        .get(format!("{}/v1/nothing-here", hero.url()))
        .header("x-api-key", hero.api_key())
        .header("x-practice-group-id", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let anonymous = http.get(format!("{}/v1/admins", hero.url())).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(body["statusCode"], 401, "a Hero-like body");
}

/// A long-running mock (`serve_mock`) keeps only the latest requests, and statuses still land
/// on the right entry once older ones are forgotten.
#[tokio::test]
async fn the_request_log_is_bounded_and_keeps_the_latest() {
    let hero = MockHero::builder().with_request_log_limit(3).start().await.unwrap();
    let client = hero.client();
    for id in ["11", "12", "13", "14", "15"] {
        let _ = client.get_appointment().id(id).send().await;
    }
    let log = hero.requests();
    let paths: Vec<&str> = log.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/v1/appointments/13", "/v1/appointments/14", "/v1/appointments/15"]);
    assert!(log.iter().all(|r| r.status == 404), "{log:?}");
}
