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
