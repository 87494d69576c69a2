//! Many practices, one directory: each call carries its practice's own key, a rotation takes
//! effect for the next request with nothing lost, a refused key is the practice-naming error,
//! and the one resend after a 401 happens only when a different key is at hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hero_health::Error;
use hero_health::keys::{ApiKey, KeySourceError, MemoryKeys, from_fn};
use hero_health::mock::{Fault, FaultKind, KeyUse, MockHero};
use hero_health::practices::{PracticeDirectory, PracticeDirectoryBuilder, PracticeError};
use hero_health::types::{WebhookCreate, WebhookEventType};
use hero_health::{Environment, RetryPolicy};

const MAIN: &str = "1";
const HILLVIEW: &str = "20";
const RIVERSIDE: &str = "30";

/// A mock serving three practices, each with its own key, and a key source holding them.
async fn three_practices() -> (MockHero, MemoryKeys) {
    let hero = MockHero::builder()
        .with_api_key("key-of-main")
        .with_practice(HILLVIEW, "key-of-hillview")
        .with_practice(RIVERSIDE, "key-of-riverside")
        .start()
        .await
        .expect("the mock starts");
    let keys =
        MemoryKeys::new().with_key(MAIN, "key-of-main").with_key(HILLVIEW, "key-of-hillview").with_key(RIVERSIDE, "key-of-riverside");
    (hero, keys)
}

fn directory_for(hero: &MockHero) -> PracticeDirectoryBuilder {
    PracticeDirectory::builder().with_environment(Environment::custom(&hero.url()).unwrap()).with_clock(hero.clock())
}

fn key_uses(hero: &MockHero) -> Vec<KeyUse> {
    hero.requests_with_keys().into_iter().map(|(_, key)| key).collect()
}

fn current(group: &str, generation: u32) -> impl Fn(&KeyUse) -> bool + '_ {
    move |key| matches!(key, KeyUse::Current { practice_group_id, generation: g, .. } if practice_group_id == group && *g == generation)
}

fn retired(key: &KeyUse) -> bool {
    matches!(key, KeyUse::Retired { .. })
}

/// `keys` as a secret manager would serve them: each read counted in `reads`, and taking `delay`.
fn counting_source(keys: MemoryKeys, reads: Arc<AtomicUsize>, delay: Duration) -> impl hero_health::keys::KeySource {
    from_fn(move |group: String| {
        let (keys, reads) = (keys.clone(), reads.clone());
        async move {
            reads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            hero_health::keys::KeySource::api_key(&keys, &group).await
        }
    })
}

fn webhook(url: &str) -> WebhookCreate {
    WebhookCreate {
        url: url.parse().unwrap(),
        event_type: WebhookEventType::AppointmentConfirmed,
        signing_key: Some("whsec-practices".into()),
        description: None,
        headers: Default::default(),
    }
}

#[tokio::test]
async fn each_practice_s_calls_carry_its_own_key_and_group() {
    let (hero, keys) = three_practices().await;
    let practices = directory_for(&hero).with_key_source(keys).build().unwrap();
    for group in [MAIN, HILLVIEW, RIVERSIDE, HILLVIEW, MAIN] {
        let client = practices.client(group).await.unwrap();
        assert_eq!(client.practice_group_id(), group);
        client.list_appointment_types().send().await.unwrap();
    }
    let log = hero.requests_with_keys();
    assert_eq!(log.len(), 5);
    for (request, key) in log {
        let group = request.practice_group_id.expect("sent");
        assert!(current(&group, 0)(&key), "the request for {group} carried {key:?}");
    }
    assert_eq!(practices.practice_groups(), [MAIN, HILLVIEW, RIVERSIDE]);
    // Each practice's data is its own: a webhook one practice made is not another's.
    let hillview = practices.client(HILLVIEW).await.unwrap();
    hillview.create_webhook().body(webhook("http://127.0.0.1:9/hook")).send().await.unwrap();
    assert_eq!(hillview.list_webhooks().send().await.unwrap().into_inner().data.len(), 1);
    assert!(practices.client(RIVERSIDE).await.unwrap().list_webhooks().send().await.unwrap().into_inner().data.is_empty());
}

#[tokio::test]
async fn a_practice_the_source_does_not_know_is_a_typed_error_naming_where_to_put_its_key() {
    let (hero, _) = three_practices().await;
    let practices =
        directory_for(&hero).with_key_source(hero_health::keys::EnvKeys::with_prefix("HERO_TEST_NO_SUCH_KEY_")).build().unwrap();
    let error = practices.client("77").await.unwrap_err();
    assert!(matches!(&error, PracticeError::NoKey { practice_group_id, .. } if practice_group_id == "77"), "{error:?}");
    assert!(error.to_string().contains("HERO_TEST_NO_SUCH_KEY_77"), "{error}");
    let error = practices.client("../etc").await.unwrap_err();
    assert!(matches!(error, PracticeError::InvalidPracticeGroupId(_)), "{error:?}");
    // A key with a line break (a file written with `echo`, read whole) is refused, not sent.
    let source = MemoryKeys::new().with_key("5", "key\nwith a break");
    let practices = directory_for(&hero).with_key_source(source).build().unwrap();
    let error = practices.client("5").await.unwrap_err();
    assert!(matches!(&error, PracticeError::InvalidKey { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("with a break"), "the key is never shown: {error:?}");
    assert!(hero.requests().is_empty(), "nothing was sent");
}

/// 64 calls are in flight (accepted by the mock, their answers held back) when the practice
/// rotates its key and the partner deploys the new one. None is lost, and every call sent after
/// the swap carries the new key.
#[tokio::test]
async fn a_rotation_with_64_calls_in_flight_loses_none_and_sends_no_retired_key_after_it() {
    let (hero, keys) = three_practices().await;
    let practices = directory_for(&hero).with_key_source(keys).build().unwrap();
    let client = practices.client(HILLVIEW).await.unwrap();
    hero.inject(Fault::on("listAppointmentTypes", FaultKind::Latency(Duration::from_millis(400))).times(64)).unwrap();
    let in_flight: Vec<_> = (0..64)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.list_appointment_types().send().await.map(drop) })
        })
        .collect();
    while hero.requests().len() < 64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let new_key = hero.rotate_key(HILLVIEW).unwrap();
    practices.set_key(HILLVIEW, new_key).unwrap();
    let swapped_at = hero.requests().len();
    // A copy handed out before the swap, and one made after, both send the new key.
    let after: Vec<_> = (0..64)
        .map(|i| {
            let practices = practices.clone();
            let old_copy = client.clone();
            tokio::spawn(async move {
                let client = if i % 2 == 0 { old_copy } else { practices.client(HILLVIEW).await.unwrap() };
                client.list_appointment_types().send().await.map(drop)
            })
        })
        .collect();
    for call in in_flight.into_iter().chain(after) {
        call.await.unwrap().expect("no call is lost");
    }
    let uses = key_uses(&hero);
    assert_eq!(uses.len(), 128, "each call sent once");
    assert!(uses[..64].iter().all(current(HILLVIEW, 0)), "the calls in flight were accepted with the old key");
    assert!(uses[swapped_at..].iter().all(current(HILLVIEW, 1)), "after the swap, only the new key: {:?}", &uses[swapped_at..]);
}

/// A continuous stream of 64 workers while the practice rotates: the new key is in the key
/// source when Hero starts refusing the old one, so each call refused in flight is sent once
/// more with the new key and succeeds. No call is sent more than twice, and none is lost.
#[tokio::test]
async fn calls_refused_in_flight_are_each_resent_once_with_the_new_key() {
    let (hero, keys) = three_practices().await;
    let reads = Arc::new(AtomicUsize::new(0));
    let source = counting_source(keys.clone(), reads.clone(), Duration::ZERO);
    let practices = directory_for(&hero).with_key_source(source).build().unwrap();
    let client = practices.client(RIVERSIDE).await.unwrap();
    let workers: Vec<_> = (0..64)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..8 {
                    client.list_appointment_types().send().await?;
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    while hero.requests().len() < 128 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    keys.set(RIVERSIDE, "key-of-riverside-2");
    hero.rotate_key_to(RIVERSIDE, "key-of-riverside-2").unwrap();
    for worker in workers {
        worker.await.unwrap().expect("no call is lost");
    }
    let uses = key_uses(&hero);
    let refused = uses.iter().filter(|k| retired(k)).count();
    assert!(refused <= 64, "only calls in flight at the rotation met it: {refused}");
    assert_eq!(uses.len(), 64 * 8 + refused, "each refused call was sent exactly once more");
    let first_new = uses.iter().position(current(RIVERSIDE, 1)).expect("the new key was used");
    assert!(uses[first_new..].iter().filter(|k| retired(k)).count() <= 64);
    // One read at start-up, then one for all the 401s of the moment.
    assert!(reads.load(Ordering::SeqCst) <= 3, "the source was read {} times", reads.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_refused_key_with_no_newer_one_is_the_practice_naming_error_sent_once() {
    let (hero, keys) = three_practices().await;
    let practices = directory_for(&hero).with_key_source(keys).build().unwrap();
    let client = practices.client(HILLVIEW).await.unwrap();
    let new_key = hero.rotate_key(HILLVIEW).unwrap();
    // A POST: never retried by the retry policy, and not re-sent here (no different key).
    let error = client.create_webhook().body(webhook("http://127.0.0.1:9/hook")).send().await.unwrap_err();
    assert!(matches!(&error, Error::Unauthorized { .. }), "{error:?}");
    assert_eq!(error.unauthorized_practice_group(), Some(HILLVIEW));
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(message.contains("practice group 20") && message.contains("rotated"), "{message}");
    assert!(!message.contains("key-of-hillview") && !message.contains(&new_key), "never the key: {message}");
    assert!(!format!("{error:?}").contains("key-of-hillview"));
    assert_eq!(hero.requests().len(), 1, "sent once");
    // A GET under a generous retry policy: a 401 is still never retried.
    let patient = practices.client(HILLVIEW).await.unwrap().with_retry_policy(RetryPolicy::default().with_max_retries(5));
    assert!(matches!(patient.list_appointment_types().send().await, Err(Error::Unauthorized { .. })));
    assert_eq!(hero.requests().len(), 2);
    // The partner deploys the key: the same client works from the next request on.
    practices.set_key(HILLVIEW, new_key).unwrap();
    client.list_appointment_types().send().await.unwrap();
    assert!(current(HILLVIEW, 1)(&key_uses(&hero)[2]));
}

#[tokio::test]
async fn a_post_refused_for_a_rotated_key_is_re_sent_once_only_with_the_newer_key() {
    let (hero, keys) = three_practices().await;
    let practices = directory_for(&hero).with_key_source(keys.clone()).build().unwrap();
    let client = practices.client(HILLVIEW).await.unwrap();
    keys.set(HILLVIEW, "key-of-hillview-2");
    hero.rotate_key_to(HILLVIEW, "key-of-hillview-2").unwrap();
    let created = client.create_webhook().body(webhook("http://127.0.0.1:9/hook")).send().await.expect("re-sent with the newer key");
    let uses = key_uses(&hero);
    assert_eq!(uses.len(), 2, "sent twice: refused, then once more");
    assert!(retired(&uses[0]) && current(HILLVIEW, 1)(&uses[1]), "{uses:?}");
    let listed = client.list_webhooks().send().await.unwrap().into_inner().data;
    assert_eq!(listed.len(), 1, "the refused POST did nothing; the webhook exists once");
    assert_eq!(listed[0].id, created.into_inner().id);

    // A 401 for a key that did not change (Hero refusing it for another reason): no resend.
    hero.clear_requests();
    let refused = FaultKind::Answer { status: 401, body: r#"{"statusCode":401,"message":"Unauthorized"}"#.into() };
    hero.inject(Fault::on("createWebhook", refused)).unwrap();
    let error = client.create_webhook().body(webhook("http://127.0.0.1:9/other")).send().await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert_eq!(hero.requests().len(), 1, "not re-sent: the source had no different key");
}

#[tokio::test]
async fn with_refresh_off_a_post_refused_for_its_key_is_never_re_sent() {
    let (hero, keys) = three_practices().await;
    let practices = directory_for(&hero).with_key_source(keys.clone()).with_refresh_on_unauthorized(false).build().unwrap();
    let client = practices.client(HILLVIEW).await.unwrap();
    keys.set(HILLVIEW, "key-of-hillview-2");
    hero.rotate_key_to(HILLVIEW, "key-of-hillview-2").unwrap();
    let error = client.create_webhook().body(webhook("http://127.0.0.1:9/hook")).send().await.unwrap_err();
    assert_eq!(error.unauthorized_practice_group(), Some(HILLVIEW));
    assert_eq!(hero.requests().len(), 1);
    // Asked explicitly, the directory reads the source, and the next call works.
    assert!(practices.refresh(HILLVIEW).await.unwrap());
    client.create_webhook().body(webhook("http://127.0.0.1:9/hook")).send().await.unwrap();
}

/// Every practice's client shares the directory's one connection pool: calls for three
/// practices, one after another, reuse a single TCP connection to the server.
#[tokio::test]
async fn clients_of_all_practices_share_one_connection() {
    let (hero, keys) = three_practices().await;
    let (proxy_url, connections) = counting_proxy(&hero).await;
    let practices =
        PracticeDirectory::builder().with_environment(Environment::custom(&proxy_url).unwrap()).with_key_source(keys).build().unwrap();
    for group in [MAIN, HILLVIEW, RIVERSIDE, MAIN, HILLVIEW, RIVERSIDE] {
        practices.client(group).await.unwrap().list_appointment_types().send().await.unwrap();
    }
    assert_eq!(hero.requests().len(), 6);
    assert_eq!(connections.load(Ordering::SeqCst), 1, "one connection for every practice");
    // Built one by one, each client has its own pool: three connections.
    for group in [MAIN, HILLVIEW, RIVERSIDE] {
        let key = hero.practice_key(group).unwrap();
        let client = hero_health::Client::builder()
            .with_api_key(key)
            .with_practice_group_id(group)
            .with_environment(Environment::custom(&proxy_url).unwrap())
            .build()
            .unwrap();
        client.list_appointment_types().send().await.unwrap();
    }
    assert_eq!(connections.load(Ordering::SeqCst), 4, "the contrast: a plain client per practice opens its own");
}

/// A TCP proxy in front of the mock that counts the connections it accepts.
async fn counting_proxy(hero: &MockHero) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = hero.url().trim_start_matches("http://").to_owned();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn a_network_member_is_served_with_its_hub_s_key() {
    let hero = MockHero::builder().with_api_key("key-of-hub").with_network(["2"]).start().await.unwrap();
    let keys = MemoryKeys::new().with_key(MAIN, "key-of-hub");
    let practices = directory_for(&hero).with_key_source(keys).with_network_member("2", MAIN).build().unwrap();
    let member = practices.client("2").await.unwrap();
    assert_eq!(member.practice_group_id(), "2");
    member.list_appointment_types().send().await.unwrap();
    let (request, key) = hero.requests_with_keys().remove(0);
    assert_eq!(request.practice_group_id.as_deref(), Some("2"));
    assert!(current(MAIN, 0)(&key));
    // Rotating the hub's key reaches its members' clients too.
    let new_key = hero.rotate_key(MAIN).unwrap();
    practices.set_key(MAIN, new_key).unwrap();
    member.list_appointment_types().send().await.unwrap();
    assert!(current(MAIN, 1)(&key_uses(&hero)[1]));
}

#[tokio::test]
async fn elements_tokens_are_cached_per_practice_and_dropped_when_its_key_changes() {
    let (hero, keys) = three_practices().await;
    let practices = directory_for(&hero).with_key_source(keys).build().unwrap();
    let tokens = |group| {
        let practices = practices.clone();
        async move { practices.elements_token(group).await.unwrap() }
    };
    tokens(HILLVIEW).await;
    tokens(HILLVIEW).await;
    tokens(RIVERSIDE).await;
    let fetched =
        |hero: &MockHero| hero.requests().into_iter().filter(|r| r.operation.as_deref() == Some("createAccessToken")).collect::<Vec<_>>();
    let groups: Vec<_> = fetched(&hero).into_iter().map(|r| r.practice_group_id.unwrap()).collect();
    assert_eq!(groups, [HILLVIEW, RIVERSIDE], "one token per practice, each fetched for its own");
    let new_key = hero.rotate_key(HILLVIEW).unwrap();
    practices.set_key(HILLVIEW, new_key).unwrap();
    tokens(HILLVIEW).await;
    assert_eq!(fetched(&hero).len(), 3, "a key change drops the practice's cached token");
}

#[tokio::test]
async fn a_failing_key_source_is_a_typed_error_and_debug_shows_no_key() {
    let source = from_fn(|_group: String| async {
        Err::<Option<ApiKey>, _>(KeySourceError::with_source("the vault is sealed", std::io::Error::other("503 from vault")))
    });
    let practices = PracticeDirectory::builder().with_environment(Environment::Staging).with_key_source(source).build().unwrap();
    let error = practices.client("123").await.unwrap_err();
    assert!(matches!(&error, PracticeError::KeySource { practice_group_id, .. } if practice_group_id == "123"), "{error:?}");
    assert!(std::error::Error::source(&error).is_some_and(|s| s.to_string().contains("sealed")));
    let boxed: Box<dyn std::error::Error + Send + Sync> = error.into();
    assert!(boxed.to_string().contains("123"));

    let keys = MemoryKeys::new().with_key("123", "secret-key-value");
    let practices = PracticeDirectory::builder().with_environment(Environment::Staging).with_key_source(keys.clone()).build().unwrap();
    let client = practices.client("123").await.unwrap();
    for shown in [format!("{practices:?}"), format!("{keys:?}"), format!("{client:?}"), format!("{:?}", ApiKey::new("secret-key-value"))] {
        assert!(!shown.contains("secret-key-value"), "{shown}");
    }
}

#[tokio::test]
async fn file_keys_read_one_file_per_practice_and_see_a_replaced_file() {
    let dir = std::env::temp_dir().join(format!("hero-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(HILLVIEW), "key-of-hillview\n").unwrap();
    let hero = MockHero::builder().with_practice(HILLVIEW, "key-of-hillview").start().await.unwrap();
    let source = hero_health::keys::FileKeys::directory(&dir);
    let practices = directory_for(&hero).with_key_source(source).build().unwrap();
    let client = practices.client(HILLVIEW).await.unwrap();
    client.list_appointment_types().send().await.unwrap();
    // The secret volume is updated, then the practice's rotation takes effect at Hero.
    std::fs::write(dir.join(HILLVIEW), "key-of-hillview-2\r\n").unwrap();
    hero.rotate_key_to(HILLVIEW, "key-of-hillview-2").unwrap();
    client.list_appointment_types().send().await.expect("the 401 made the directory read the file again");
    let error = practices.client(RIVERSIDE).await.unwrap_err();
    assert!(error.to_string().contains(&dir.join(RIVERSIDE).display().to_string()), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

type KeysSeen = Arc<std::sync::Mutex<Vec<String>>>;

async fn on_event(
    axum::extract::State(seen): axum::extract::State<KeysSeen>,
    hero_health::webhooks::axum::VerifiedKey(key): hero_health::webhooks::axum::VerifiedKey,
) -> axum::http::StatusCode {
    seen.lock().unwrap().push(key);
    axum::http::StatusCode::NO_CONTENT
}

/// Rolling a webhook signing key as Hero allows it (no operation changes a webhook's key): a
/// second webhook with the new key, then the old one deleted. The receiver accepts both while
/// both deliver, reports which key verified each, and refuses the old key once it is retired.
#[tokio::test]
async fn a_signing_key_rollover_loses_no_delivery_and_ends_with_the_old_key_refused() {
    use hero_health::webhooks::axum::{WebhookReceiver, receive};
    let hero = MockHero::start().await.unwrap();
    let receiver = WebhookReceiver::new("whsec-old").unwrap().with_clock(hero.clock());
    let seen = KeysSeen::default();
    let app = axum::Router::new()
        .route("/hero", axum::routing::post(on_event))
        .route_layer(axum::middleware::from_fn_with_state(receiver.clone(), receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hero", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = hero.client();
    let create = |key: &str| WebhookCreate { signing_key: Some(key.into()), ..webhook(&url) };
    let old = client.create_webhook().body(create("whsec-old")).send().await.unwrap().into_inner().id;
    // The rollover: the receiver learns the new key first, then the new webhook is made.
    receiver.verifier().add_key("2026-12", "whsec-new").unwrap();
    client.create_webhook().body(create("whsec-new")).send().await.unwrap();
    let slots = crate::support::free_slots(&hero).await;
    client.booking().book(&slots[0], None).await.unwrap();
    assert!(hero.deliveries_settled(Duration::from_secs(10)).await);
    let mut keys = seen.lock().unwrap().clone();
    keys.sort();
    assert_eq!(keys, ["2026-12", "default"], "one delivery per webhook, each verified by its own key");
    // Done: the old webhook goes, then its key.
    client.delete_webhook().id(old).send().await.unwrap();
    assert!(receiver.verifier().retire_key("default"));
    seen.lock().unwrap().clear();
    client.booking().book(&slots[1], None).await.unwrap();
    assert!(hero.deliveries_settled(Duration::from_secs(10)).await);
    assert_eq!(*seen.lock().unwrap(), ["2026-12"]);
    assert!(hero.deliveries().iter().all(hero_health::mock::Delivery::accepted), "no delivery was refused or lost");
    // A delivery still signed with the retired key is refused.
    let body = br#"{"object":"Appointment","id":"1","practice_group_id":"1","event":"appointment.confirmed"}"#;
    let headers = hero_health::webhooks::sign(body, "whsec-old", hero.now());
    let status = reqwest::Client::new().post(&url).headers(headers).body(body.to_vec()).send().await.unwrap().status();
    assert_eq!(status.as_u16(), 401);
}

/// A key set by hand is never undone by a source that still holds the old one (an environment
/// variable cannot change under a running process), by `refresh` or by the read after a 401.
#[tokio::test]
async fn a_source_behind_set_key_never_brings_the_retired_key_back() {
    let (hero, keys) = three_practices().await;
    let practices = directory_for(&hero).with_key_source(keys).build().unwrap();
    let client = practices.client(HILLVIEW).await.unwrap();
    let new_key = hero.rotate_key(HILLVIEW).unwrap();
    practices.set_key(HILLVIEW, new_key).unwrap();
    assert!(!practices.refresh(HILLVIEW).await.unwrap(), "the source's key is the one set_key replaced");
    client.list_appointment_types().send().await.expect("the newer key stayed");
    assert!(key_uses(&hero).iter().all(current(HILLVIEW, 1)));
}

/// 64 calls refused at once, and the source has no newer key: one read of the source answers
/// all of them, and none is re-sent.
#[tokio::test]
async fn concurrent_401s_share_one_read_of_the_source() {
    let (hero, keys) = three_practices().await;
    let reads = Arc::new(AtomicUsize::new(0));
    let source = counting_source(keys, reads.clone(), Duration::from_millis(20));
    let practices = directory_for(&hero).with_key_source(source).build().unwrap();
    let client = practices.client(HILLVIEW).await.unwrap();
    hero.rotate_key(HILLVIEW).unwrap();
    let calls: Vec<_> = (0..64)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.list_appointment_types().send().await })
        })
        .collect();
    for call in calls {
        assert!(matches!(call.await.unwrap(), Err(Error::Unauthorized { .. })));
    }
    assert_eq!(hero.requests().len(), 64, "none re-sent");
    let reads = reads.load(Ordering::SeqCst);
    assert!(reads <= 3, "one read at start-up, then about one for all 64 refusals: {reads}");
}

#[tokio::test]
async fn a_network_member_s_key_is_its_holder_s_for_set_key_and_the_401() {
    let hero = MockHero::builder().with_api_key("key-of-hub").with_network(["2"]).start().await.unwrap();
    let practices = directory_for(&hero)
        .with_key_source(MemoryKeys::new().with_key(MAIN, "key-of-hub"))
        .with_network_member("2", MAIN)
        .build()
        .unwrap();
    let member = practices.client("2").await.unwrap();
    let new_key = hero.rotate_key(MAIN).unwrap();
    let error = member.list_appointment_types().send().await.unwrap_err();
    assert_eq!(error.unauthorized_practice_group(), Some(MAIN), "the refused key is the hub's: {error}");
    practices.set_key("2", new_key).unwrap();
    member.list_appointment_types().send().await.expect("setting the member's key set its holder's");
    practices.client(MAIN).await.unwrap().list_appointment_types().send().await.unwrap();
}

#[tokio::test]
async fn the_mock_refuses_a_practice_group_or_key_given_twice() {
    let twice = MockHero::builder().with_practice("20", "key-a").with_practice("20", "key-b").start().await;
    assert!(matches!(twice, Err(hero_health::mock::MockError::PracticeGroupTwice)), "{twice:?}");
    let main_again = MockHero::builder().with_practice(MAIN, "key-b").start().await;
    assert!(matches!(main_again, Err(hero_health::mock::MockError::PracticeGroupTwice)), "{main_again:?}");
    let shared = MockHero::builder().with_api_key("key-a").with_practice("20", "key-a").start().await;
    assert!(matches!(shared, Err(hero_health::mock::MockError::SharedKey)), "{shared:?}");
    let hero = MockHero::builder().with_practice("20", "key-b").start().await.unwrap();
    assert!(matches!(hero.rotate_key_to("20", "key-b"), Err(hero_health::mock::MockError::SharedKey)), "a key is never reissued");
    assert!(matches!(hero.rotate_key("99"), Err(hero_health::mock::MockError::UnknownPracticeGroup(_))));
    assert_eq!(hero.practice_groups(), [MAIN, "20"]);
}
