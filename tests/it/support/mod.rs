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

/// How far away the slots a test books start: outside the practice's 24 h cancellation window
/// with room to spare, and long after any hold a test lets lapse. Every diary has such slots,
/// whatever the hour or day its mock starts at: its third open day is at least two days on.
pub const LEAD: std::time::Duration = std::time::Duration::from_secs(26 * 3600);

/// Every free slot of the mock that starts at least [`LEAD`] from the mock's now, all pages,
/// listed through the mock's client; at least two.
pub async fn free_slots(hero: &hero_health::mock::MockHero) -> Vec<hero_health::types::Slot> {
    let listed = hero.client().booking().slots(&hero_health::booking::SlotQuery::new()).await.expect("the mock lists its slots");
    let now = hero.now();
    let lead = chrono::Duration::from_std(LEAD).unwrap();
    let far: Vec<_> = listed.into_iter().filter(|slot| slot.start_time.is_some_and(|start| start - now >= lead)).collect();
    assert!(far.len() >= 2, "the mock started at {now} offers {} slots at least {LEAD:?} away", far.len());
    far
}

/// A mock whose clock starts at `at` (RFC 3339), for a test about a particular time.
pub async fn mock_at(at: &str) -> hero_health::mock::MockHero {
    hero_health::mock::MockHero::builder().with_start(at.parse().expect("an RFC 3339 instant")).start().await.expect("the mock starts")
}

/// A request the document allows for `operation`: its method, its path with `1` for each
/// parameter, its required query parameters and its body (synthesised from the document's
/// schemas by the generator: `OUT_DIR/mock_requests.json`).
pub fn valid_request(hero: &hero_health::mock::MockHero, operation: &str) -> reqwest::RequestBuilder {
    let op = requests().iter().find(|o| o["operation"] == operation).unwrap_or_else(|| panic!("{operation}"));
    let path = op["path"].as_str().unwrap().split('/').map(|s| if s.starts_with('{') { "1" } else { s }).collect::<Vec<_>>().join("/");
    let query: Vec<(String, String)> = op["example"]["query"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
        .collect();
    let mut request = reqwest::Client::new()
        .request(op["method"].as_str().unwrap().parse().unwrap(), format!("{}{path}", hero.url()))
        .header("x-api-key", hero.api_key())
        .header("x-practice-group-id", "1")
        .query(&query);
    if !op["example"]["body"].is_null() {
        request = request.json(&op["example"]["body"]);
    }
    request
}

fn requests() -> &'static [serde_json::Value] {
    static LISTING: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let listing = LISTING.get_or_init(|| serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/mock_requests.json"))).unwrap());
    listing["operations"].as_array().unwrap()
}

/// The operationId of `method` (upper case) at the path template `path`.
pub fn operation_at(method: &str, path: &str) -> String {
    let op = requests().iter().find(|o| o["method"] == method && o["path"] == path).unwrap_or_else(|| panic!("{method} {path}"));
    op["operation"].as_str().unwrap().to_owned()
}

/// The names of `operation`'s required query parameters, as the document lists them.
pub fn required_query(operation: &str) -> Vec<String> {
    let op = requests().iter().find(|o| o["operation"] == operation).unwrap_or_else(|| panic!("{operation}"));
    op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A new, empty PostgreSQL database for one test, on the server `HERO_TEST_POSTGRES` names
/// (`scripts/postgres.sh` starts one; `.ci/run` does). `None`, with a message saying so, when
/// no server is configured, unless `HERO_TEST_POSTGRES_REQUIRED` is set (CI), which makes a
/// missing server a failure rather than a skip.
pub async fn postgres_database(test: &str) -> Option<String> {
    let Ok(server) = std::env::var("HERO_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("HERO_TEST_POSTGRES_REQUIRED").is_none(),
            "HERO_TEST_POSTGRES_REQUIRED is set but HERO_TEST_POSTGRES is not: start one with scripts/postgres.sh"
        );
        eprintln!("{test}: skipped, no PostgreSQL server (export HERO_TEST_POSTGRES=\"$(scripts/postgres.sh)\" to run it)");
        return None;
    };
    let (admin, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls).await.expect("the test PostgreSQL server answers");
    tokio::spawn(connection);
    // One database per test and run: tests run in parallel, and a rerun starts empty.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("hero_{}_{}_{n}", test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"), std::process::id());
    // Two statements: a multi-statement batch is one transaction, which these refuse.
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.expect("an old test database is dropped");
    admin.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("a test database is created");
    Some(format!("{server} dbname={name}"))
}

/// A booking journal that passes every call to `inner`, with a test's hooks around `record`:
/// `before` may refuse a step (a store that fails), `after` sees each step recorded (a process
/// that dies right then).
#[derive(Debug)]
pub struct Intercept {
    pub inner: std::sync::Arc<dyn hero_health::booking::journal::BookingJournal>,
    pub before: fn(&hero_health::booking::journal::Step) -> Result<(), hero_health::booking::journal::JournalError>,
    pub after: fn(&hero_health::booking::journal::Step),
}

#[async_trait::async_trait]
impl hero_health::booking::journal::BookingJournal for Intercept {
    async fn begin(
        &self,
        entry: hero_health::booking::journal::NewEntry,
    ) -> Result<hero_health::booking::journal::EntryId, hero_health::booking::journal::JournalError> {
        self.inner.begin(entry).await
    }
    async fn record(
        &self,
        entry: hero_health::booking::journal::EntryId,
        owner: &str,
        step: &hero_health::booking::journal::Step,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), hero_health::booking::journal::JournalError> {
        (self.before)(step)?;
        self.inner.record(entry, owner, step, lease_until).await?;
        (self.after)(step);
        Ok(())
    }
    async fn settle(
        &self,
        entry: hero_health::booking::journal::EntryId,
        owner: &str,
        outcome: &hero_health::booking::journal::Outcome,
    ) -> Result<(), hero_health::booking::journal::JournalError> {
        self.inner.settle(entry, owner, outcome).await
    }
    async fn claim_unsettled(
        &self,
        group: &str,
        me: (&str, &str),
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<hero_health::booking::journal::Claimed, hero_health::booking::journal::JournalError> {
        self.inner.claim_unsettled(group, me, now, lease_until).await
    }
    async fn entry(
        &self,
        entry: hero_health::booking::journal::EntryId,
    ) -> Result<hero_health::booking::journal::JournalEntry, hero_health::booking::journal::JournalError> {
        self.inner.entry(entry).await
    }
}
