//! A mock Hero server for tests without credentials (cargo feature `mock`).
//!
//! Real HTTP on `127.0.0.1:0`, started in-process in one line. It models the booking flow with
//! state (seeded appointment types, locations, practitioners and slots; holds that lapse on a
//! controllable clock; confirmations; edits before confirmation; cancellation with the
//! practice's 24 h policy window on its clock; atomic reschedules), video links and link status,
//! checks both auth headers, and can inject faults (latency, 429, 5xx, a dropped connection,
//! "commit then time out").
//!
//! Webhooks created through the API get Hero's signed deliveries for what happens in the mock
//! (`appointment.confirmed`, `.cancelled`, `.rescheduled`), in order per receiver, retried with
//! doubling waits, logged ([`MockHero::deliveries`]), with their own faults
//! ([`DeliveryFault`]: drop, delay, duplicate, bad signature).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hero_health::mock::MockHero;
//!
//! let hero = MockHero::start().await?;
//! let booking = hero.client().booking();
//! let types = booking.appointment_types().await?;
//! assert_eq!(types.len(), 3);
//! # Ok(()) }
//! ```

mod deliveries;
mod deviations;
mod server;
mod state;

pub use deliveries::{Delivery, DeliveryFault, DeliveryOutcome};

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::types::Slot;
use crate::{Client, Environment};

/// What the mock does to the next matching request(s).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Wait this long, then do the work and answer. The work is done even if the client has
    /// timed out and hung up meanwhile, as real servers do: a late commit.
    Latency(Duration),
    /// Answer 429 with `Retry-After` (seconds), doing nothing.
    RateLimited {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
    },
    /// Answer this 5xx status, doing nothing.
    ServerError(u16),
    /// Start a 200 answer, then drop the connection mid-body (after doing the work).
    DropConnection,
    /// Do the work (commit), then wait this long before answering: a client timeout then
    /// sees a failure although the change happened.
    CommitThenTimeout(Duration),
}

/// How many requests a mock remembers by default.
pub const DEFAULT_LOG_LIMIT: usize = 10_000;

/// A fault for requests to one operation (`operationId`, e.g. `"bookAppointment"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    operation: String,
    kind: FaultKind,
    times: usize,
}

impl Fault {
    /// Applies `kind` to the next request to `operation`: its operationId (`bookAppointment`)
    /// or its method's name (`book_appointment`). [`MockHero::inject`] refuses any other name.
    pub fn on(operation: &str, kind: FaultKind) -> Self {
        Fault { operation: operation.to_owned(), kind, times: 1 }
    }

    /// Applies it to the next `times` requests instead of one.
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }
}

/// A request the mock received, for assertions. Bodies are not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `GET`, `POST`…
    pub method: String,
    /// The path, e.g. `/v1/appointments/5001/book`.
    pub path: String,
    /// The query parameters.
    pub query: BTreeMap<String, String>,
    /// The `operationId` it matched, if any.
    pub operation: Option<String>,
    /// The `x-practice-group-id` it carried.
    pub practice_group_id: Option<String>,
    /// The status the mock answered (0 if the connection was dropped first).
    pub status: u16,
}

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// Binding `127.0.0.1:0` failed.
    #[error("the mock Hero server could not listen on 127.0.0.1 ({0}); is the loopback interface available?")]
    Bind(#[from] std::io::Error),
    /// The API key or practice group id it was given could not be used by a client.
    #[error("the mock's settings cannot be used by a client: {0}")]
    Settings(#[from] crate::ConfigError),
    /// A fault names no operation of the API.
    #[error("no operation is called {given:?}{}; name it by operationId (bookAppointment) or method (book_appointment)", .suggestion.map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    UnknownOperation {
        /// The name given to [`Fault::on`].
        given: String,
        /// The closest operationId, if one is close.
        suggestion: Option<&'static str>,
    },
}

/// Settings of a [`MockHero`]. `Debug` does not show the API key.
#[derive(Clone)]
pub struct MockHeroBuilder {
    seed: u64,
    days: u32,
    hold: Duration,
    api_key: String,
    practice_group_id: String,
    network: Vec<String>,
    log_limit: usize,
    retries: deliveries::Retries,
    deviant: bool,
}

impl std::fmt::Debug for MockHeroBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockHeroBuilder")
            .field("seed", &self.seed)
            .field("days", &self.days)
            .field("hold", &self.hold)
            .field("api_key", &"[redacted]")
            .field("practice_group_id", &self.practice_group_id)
            .field("network", &self.network)
            .field("log_limit", &self.log_limit)
            .field("retries", &self.retries)
            .field("deviant", &self.deviant)
            .finish()
    }
}

impl Default for MockHeroBuilder {
    fn default() -> Self {
        MockHeroBuilder {
            seed: 1,
            days: 3,
            // Hero does not document the hold period; ten minutes is the mock's assumption.
            hold: Duration::from_secs(600),
            api_key: "mock-api-key".into(),
            practice_group_id: "1".into(),
            network: vec!["2".into()],
            log_limit: DEFAULT_LOG_LIMIT,
            retries: deliveries::Retries::default(),
            deviant: false,
        }
    }
}

impl MockHeroBuilder {
    /// Seed of the generated slots (default 1): the same seed gives the same data.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Days of slots from tomorrow (default 3).
    pub fn with_days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }
    /// How long a reservation holds its slot (default 10 minutes).
    pub fn with_hold_period(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }
    /// The API key the mock accepts (default `mock-api-key`).
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }
    /// The key's own practice group (default `1`).
    pub fn with_practice_group_id(mut self, id: impl Into<String>) -> Self {
        self.practice_group_id = id.into();
        self
    }
    /// Other practice groups in the same Hero network, which cross-organisation calls may act
    /// for (default `["2"]`); any other group is refused with 403.
    pub fn with_network(mut self, groups: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.network = groups.into_iter().map(Into::into).collect();
        self
    }

    /// How many requests [`MockHero::requests`] keeps (default 10,000), and as many webhook
    /// delivery attempts ([`MockHero::deliveries`]): the oldest are forgotten first, so a
    /// long-running mock (`serve_mock`) does not grow without bound.
    pub fn with_request_log_limit(mut self, limit: usize) -> Self {
        self.log_limit = limit;
        self
    }

    /// How webhook deliveries are retried when the receiver does not answer 2xx: `attempts` in
    /// all (at least 1), waiting `first_wait` after the first failure and doubling (default 5
    /// attempts from 100 ms; Hero does not document its own schedule).
    pub fn with_delivery_retries(mut self, attempts: u32, first_wait: Duration) -> Self {
        self.retries = deliveries::Retries { attempts: attempts.max(1), first_wait };
        self
    }

    /// Answers some reads differently from the OpenAPI document, once in each way a real
    /// server can differ: an undocumented status (`GET /v1/me` answers 202), a field the
    /// document does not describe, a required field missing and an unlisted enum value (the
    /// appointment types), a non-numeric id (the locations), a null the document does not allow
    /// (the practitioners' `first_name`), a type it does not say and a date-time that does not
    /// parse (the slots). For testing tools that compare Hero's answers with the document, such
    /// as `cargo xtask probe`; the booking flow does not work in this mode.
    pub fn with_deviations(mut self) -> Self {
        self.deviant = true;
        self
    }

    /// Starts the server on `127.0.0.1:0` in the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`MockError::Settings`] for settings no client could use, [`MockError::Bind`] when 127.0.0.1
    /// cannot be listened on.
    pub async fn start(self) -> Result<MockHero, MockError> {
        // Refuse settings no client could use, so `MockHero::client()` cannot fail later.
        Client::builder()
            .with_api_key(self.api_key.clone())
            .with_practice_group_id(self.practice_group_id.clone())
            .with_environment(Environment::HeroMock)
            .build()?;
        let started = Utc::now();
        let state = state::State::seeded(self.seed, self.days, crate::time::delta(self.hold), started);
        let shared = Arc::new(Shared {
            config: self,
            inner: Mutex::new(Inner {
                state,
                offset: chrono::Duration::zero(),
                faults: Vec::new(),
                log: VecDeque::new(),
                logged: 0,
                queues: BTreeMap::new(),
                pending_deliveries: 0,
                deliveries: Vec::new(),
                delivery_faults: VecDeque::new(),
            }),
            delivered: tokio::sync::Notify::new(),
        });
        let (addr, task) = server::spawn(shared.clone()).await?;
        Ok(MockHero { shared, addr, task })
    }
}

/// What the server task shares with the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    config: MockHeroBuilder,
    inner: Mutex<Inner>,
    /// Woken each time a webhook delivery (with its retries) is done.
    delivered: tokio::sync::Notify,
}

#[derive(Debug)]
pub(crate) struct Inner {
    state: state::State,
    offset: chrono::Duration,
    faults: Vec<Fault>,
    /// The latest requests, each with its number (the count of requests before it).
    log: VecDeque<(u64, LoggedRequest)>,
    logged: u64,
    /// One delivery queue (and its worker) per receiving URL.
    queues: BTreeMap<String, (tokio::sync::mpsc::UnboundedSender<deliveries::Job>, tokio::task::JoinHandle<()>)>,
    pending_deliveries: usize,
    deliveries: Vec<Delivery>,
    delivery_faults: VecDeque<DeliveryFault>,
}

impl Inner {
    fn now(&self) -> DateTime<Utc> {
        crate::time::later(Utc::now(), self.offset)
    }

    /// Logs a request, forgetting the oldest beyond `limit`; returns its number.
    fn log(&mut self, entry: LoggedRequest, limit: usize) -> u64 {
        let number = self.logged;
        self.logged += 1;
        self.log.push_back((number, entry));
        while self.log.len() > limit {
            self.log.pop_front();
        }
        number
    }

    /// Sets the answered status of request `number`, if it is still logged.
    fn record(&mut self, number: u64, status: u16) {
        if let Some((_, entry)) = self.log.iter_mut().rev().find(|(n, _)| *n == number) {
            entry.status = status;
        }
    }
}

impl Shared {
    /// The lock, even if a test thread panicked while holding it (the state stays usable).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running mock Hero server. Dropping it stops the server.
pub struct MockHero {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// Where it listens, never its state: the state holds webhook signing keys, patient ids and
/// free-text reasons, which a `{:?}` in a test's failure message must not print.
impl std::fmt::Debug for MockHero {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockHero").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Drop for MockHero {
    fn drop(&mut self) {
        self.task.abort();
        for (_, (_, worker)) in std::mem::take(&mut self.shared.lock().queues) {
            worker.abort();
        }
    }
}

impl MockHero {
    /// Starts a mock with the default settings.
    ///
    /// # Errors
    ///
    /// [`MockError::Bind`] when 127.0.0.1 cannot be listened on.
    pub async fn start() -> Result<MockHero, MockError> {
        MockHeroBuilder::default().start().await
    }

    /// Settings for a mock (seed, hold period, credentials, network).
    pub fn builder() -> MockHeroBuilder {
        MockHeroBuilder::default()
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A [`Client`] configured for this mock (its key and practice group).
    pub fn client(&self) -> Client {
        // `start` checked the key and group; the URL is loopback http, which is always allowed.
        self.client_builder().build().unwrap_or_else(|e| unreachable!("settings checked at start: {e}"))
    }

    /// A client builder already pointed at the mock with its credentials; add timeouts etc.
    pub fn client_builder(&self) -> crate::ClientBuilder {
        let environment = Environment::custom(&self.url()).unwrap_or_else(|e| unreachable!("a loopback URL is valid: {e}"));
        Client::builder()
            .with_api_key(self.shared.config.api_key.clone())
            .with_practice_group_id(self.shared.config.practice_group_id.clone())
            .with_environment(environment)
    }

    /// The API key the mock accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// The mock's clock (real time plus what [`MockHero::advance`] added).
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.lock().now()
    }

    /// Moves the mock's clock forward: holds lapse without the test sleeping.
    pub fn advance(&self, by: Duration) {
        let mut inner = self.shared.lock();
        inner.offset = inner.offset.checked_add(&crate::time::delta(by)).unwrap_or(chrono::TimeDelta::MAX);
    }

    /// Queues a fault.
    ///
    /// # Errors
    ///
    /// [`MockError::UnknownOperation`] if the fault names no operation (a typo would otherwise
    /// never fire, and a test would pass for the wrong reason).
    pub fn inject(&self, mut fault: Fault) -> Result<(), MockError> {
        fault.operation = crate::operations::resolve_operation(&fault.operation)
            .map_err(|suggestion| MockError::UnknownOperation { given: fault.operation.clone(), suggestion })?
            .to_owned();
        self.shared.lock().faults.push(fault);
        Ok(())
    }

    /// The requests received so far, oldest first (the latest 10,000 by default, see
    /// [`MockHeroBuilder::with_request_log_limit`]).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.iter().map(|(_, entry)| entry.clone()).collect()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// Every webhook delivery attempt so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    /// A fault for the next webhook delivery attempt (one attempt per call, in order).
    pub fn inject_delivery_fault(&self, fault: DeliveryFault) {
        self.shared.lock().delivery_faults.push_back(fault);
    }

    /// Waits until every webhook delivery dispatched so far is done (accepted, dropped, or out
    /// of retries), up to `timeout`. True when they are.
    pub async fn deliveries_settled(&self, timeout: Duration) -> bool {
        let done = async {
            loop {
                let notified = self.shared.delivered.notified();
                if self.shared.lock().pending_deliveries == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, done).await.is_ok()
    }

    /// The slots nobody holds or has booked, by the mock's clock.
    pub fn free_slots(&self) -> Vec<Slot> {
        let inner = self.shared.lock();
        inner.state.free_slots(inner.now())
    }
}
