//! Shared by the integration tests that talk to a local HTTP mock.

use hero_health::{Client, ClientBuilder, Environment};

/// A client builder pointed at `base_url` (a loopback mock), with a test key and practice
/// group `1`; tests override what they check (key, retries, timeouts).
pub fn client_for(base_url: &str) -> ClientBuilder {
    Client::builder()
        .with_api_key("test-key")
        .with_practice_group_id("1")
        .with_environment(Environment::custom(base_url).expect("a loopback URL"))
}

/// What the mock was asked, in order: operationIds (or the path when none matched).
pub fn operations(hero: &hero_health::mock::MockHero) -> Vec<String> {
    hero.requests().into_iter().map(|r| r.operation.unwrap_or(r.path)).collect()
}

/// Every free slot of the mock, all pages.
pub async fn free_slots(hero: &hero_health::mock::MockHero) -> Vec<hero_health::types::Slot> {
    hero.client().booking().slots(&hero_health::booking::SlotQuery::new()).await.expect("the mock lists its slots")
}
