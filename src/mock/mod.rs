//! A mock Hero server for tests without credentials (cargo feature `mock`).
//!
//! Real HTTP on `127.0.0.1:0`, started in-process in one line. It models the booking flow with
//! state (seeded appointment types, locations, practitioners and a diary of slots in UK surgery
//! hours; holds that lapse; confirmations; edits before confirmation; cancellation with the
//! practice's 24 h policy window; atomic reschedules), video links and link status, checks both
//! auth headers, and can inject faults (latency, 429, 5xx, a dropped connection, "commit then
//! time out").
//!
//! **Time** is a [`TestClock`]: the mock starts at the instant you choose
//! ([`MockHeroBuilder::with_start`]; by default the system clock's now), lays its diary out from
//! there, and [`MockHero::advance`] moves it. Every client the mock makes ([`MockHero::client`],
//! [`MockHero::client_builder`]) reads the same clock, so the client's own checks (a hold about
//! to lapse, the cancellation window) and the mock's agree:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use hero_health::booking::{BookingError, Cancellation};
//! use hero_health::mock::MockHero;
//!
//! // A Tuesday morning in March; the diary starts that day.
//! let hero = MockHero::builder().with_start("2026-03-24T08:00:00Z".parse()?).start().await?;
//! let slot = hero.free_slot_starting_in(Duration::from_secs(30 * 3600)..).ok_or("no slot")?;
//! let appointment = hero.client().booking().book(&slot, None).await?;
//! hero.advance_to(slot.start_time.ok_or("a slot has a start")? - chrono::Duration::hours(2))?;
//! let refused = hero.client().booking().cancel(&appointment, &Cancellation::new()).await;
//! assert!(matches!(refused, Err(BookingError::NotAllowed { .. }))); // nothing was sent
//! # Ok(()) }
//! ```
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

mod answers;
mod clinical;
mod deliveries;
mod keys;
mod patients;
mod server;
mod state;
mod validate;

pub use answers::decode_answer;
pub use clinical::PLACEHOLDER_PATIENT_ID;
pub use deliveries::{Delivery, DeliveryFault, DeliveryOutcome, MAX_QUEUED_DELIVERIES};
pub use keys::KeyUse;
pub use patients::{
    DEFAULT_WRITE_TO_RECORD_DELAY, DELIVERY_DELAY, EMAIL_AND_NHS_APP_SNOMED_CODE, NHS_APP_FALLBACK_AFTER, PdsPatient, SMS_SNOMED_CODE,
    WriteToRecord,
};

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::{ClockError, TestClock};
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
    /// Answer this status and body verbatim, doing nothing: as Hero's docs mock answers its
    /// published examples (`"id": "string"`), or to replay an answer recorded from Hero. The
    /// text is sent as given, even when it is not JSON, with `content-type: application/json`;
    /// a status outside 100–999 is answered as 500.
    Answer {
        /// The status to answer.
        status: u16,
        /// The body, byte for byte.
        body: String,
    },
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
    /// Applies `kind` to the next request to `operation`, named by its operationId
    /// (`bookAppointment`): the one spelling [`crate::Error::operation_id`], the `tracing` spans
    /// and [`LoggedRequest`]'s `operation` use, and each generated method's docs give.
    /// [`MockHero::inject`] refuses any other name with a suggestion: for a method's name
    /// (`book_appointment`) or Hero's upstream name of an operation the crate renamed
    /// (`listPatientsV3`), the operationId it means.
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

/// Why the mock could not start, or could not do what it was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// Binding `127.0.0.1:0` failed.
    #[error("the mock Hero server could not listen on 127.0.0.1 ({0}); is the loopback interface available?")]
    Bind(#[from] std::io::Error),
    /// The API key or practice group id it was given could not be used by a client.
    #[error("the mock's settings cannot be used by a client: {0}")]
    Settings(#[from] crate::ConfigError),
    /// The diary would cover more days than the mock lays out.
    #[error("the mock's diary covers at most {max} open days ({days} asked); a test needs a few, a long-running mock can be restarted")]
    #[non_exhaustive]
    TooManyDays {
        /// The days asked for ([`MockHeroBuilder::with_days`]).
        days: u32,
        /// [`MAX_DIARY_DAYS`].
        max: u32,
    },
    /// [`MockHeroBuilder::with_start`] names an instant before the reading of the clock given
    /// with [`MockHeroBuilder::with_clock`], which cannot go back.
    #[error("the mock cannot start at that instant: {0}")]
    Clock(#[from] ClockError),
    /// A fault names no operation of the API.
    #[error("no operation has the operationId {given:?}{}; faults and logs name an operation by its operationId, as errors and each method's docs give it", .suggestion.map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    #[non_exhaustive]
    UnknownOperation {
        /// The name given to [`Fault::on`].
        given: String,
        /// The operationId meant: the one of the method of that name, the one of the operation
        /// Hero's bundle calls that (where the crate renamed it), or the closest, if one is close.
        suggestion: Option<&'static str>,
    },
    /// [`decode_answer`] was given an operation whose success answer has no type.
    #[error("{operation} answers no typed body (nothing, or a byte stream): there is nothing to decode")]
    #[non_exhaustive]
    NoTypedAnswer {
        /// The operationId.
        operation: &'static str,
    },
    /// [`decode_answer`]: the body does not decode as the client would decode it.
    #[error("the answer does not decode: {0}")]
    Undecodable(#[source] Box<crate::Error>),
    /// The slot is not in the mock's diary.
    #[error("the slot is not in the mock's diary; pass a slot the mock listed (`free_slots()`, `slots()`)")]
    UnknownSlot,
    /// The practice group is not one the mock serves.
    #[error("the mock serves no practice group {0}; add it with MockHeroBuilder::with_practice")]
    UnknownPracticeGroup(String),
    /// No message of that id was sent through the mock (or, to approve, none waits for it).
    #[error("the mock has no such message (or none waiting for approval); pass the message_id sendMessage answered")]
    UnknownMessage,
    /// A practice group was given twice (`with_practice` with the main group's id, or one id
    /// twice): each practice has one key.
    #[error(
        "a practice group was given to the mock twice (with_practice repeats it, or names the main group); give each practice group once"
    )]
    PracticeGroupTwice,
    /// Two practice groups were given one key, or a rotation reused a key: Hero issues each
    /// practice its own, and never reissues one.
    #[error(
        "that API key is already one of the mock's (another practice group's, or a retired one); give each practice, and each rotation, a key of its own"
    )]
    SharedKey,
}

/// How long a reservation holds its slot by default. Hero does not document the hold period of
/// the API; the only figure it publishes is 15 minutes, for a patient booking through a
/// self-booking link (<https://support.herohealth.net/en/articles/141474-econsult-what-do-patients-see-when-booking-via-a-self-booking-link>).
/// A guess, configurable with [`MockHeroBuilder::with_hold_period`].
pub const DEFAULT_HOLD_PERIOD: Duration = Duration::from_secs(15 * 60);

/// How long the mock's slot list takes to show a slot that staff booked in the clinical system
/// ([`MockHero::book_in_clinical_system`]) by default: the longest lag Hero documents ("Expect a
/// short lag of up to 15 minutes between a change in the EHR and the change appearing in Hero",
/// <https://product.herohealth.net/docs/appointments/active-and-inactive-slots>). Configurable
/// with [`MockHeroBuilder::with_availability_lag`].
pub const DEFAULT_AVAILABILITY_LAG: Duration = Duration::from_secs(15 * 60);

/// The most open days a diary covers (about a year and a half of weekdays): far more than a test
/// needs, and a bound on the mock's memory.
pub const MAX_DIARY_DAYS: u32 = 400;

/// Settings of a [`MockHero`]. `Debug` does not show the API key.
#[derive(Clone)]
pub struct MockHeroBuilder {
    seed: u64,
    days: u32,
    weekends: bool,
    clock: Option<TestClock>,
    start: Option<DateTime<Utc>>,
    hold: Duration,
    lag: Duration,
    api_key: String,
    practice_group_id: String,
    network: Vec<String>,
    /// Other practice groups, each with its own key.
    practices: Vec<(String, String)>,
    /// Patients on the PDS spine besides the seeded ones.
    pds: Vec<PdsPatient>,
    write_to_record: WriteToRecord,
    auto_write_allowed: bool,
    log_limit: usize,
    retries: deliveries::Retries,
    rewrite: Option<AnswerRewrite>,
}

/// A rewrite of the answers the mock sends ([`MockHeroBuilder::with_answer_rewrite`]): the
/// operationId, then the status and body to change in place.
type AnswerRewrite = std::sync::Arc<dyn Fn(&str, &mut u16, &mut Option<serde_json::Value>) + Send + Sync>;

impl std::fmt::Debug for MockHeroBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockHeroBuilder")
            .field("seed", &self.seed)
            .field("days", &self.days)
            .field("weekends", &self.weekends)
            .field("clock", &self.clock)
            .field("start", &self.start)
            .field("hold", &self.hold)
            .field("lag", &self.lag)
            .field("api_key", &"[redacted]")
            .field("practice_group_id", &self.practice_group_id)
            .field("network", &self.network)
            .field("practices", &self.practices.iter().map(|(group, _)| group).collect::<Vec<_>>())
            .field("pds", &self.pds.len())
            .field("write_to_record", &self.write_to_record)
            .field("auto_write_allowed", &self.auto_write_allowed)
            .field("log_limit", &self.log_limit)
            .field("retries", &self.retries)
            .field("rewrite", &self.rewrite.as_ref().map(|_| "set"))
            .finish()
    }
}

impl Default for MockHeroBuilder {
    fn default() -> Self {
        MockHeroBuilder {
            seed: 1,
            days: 3,
            weekends: false,
            clock: None,
            start: None,
            hold: DEFAULT_HOLD_PERIOD,
            lag: DEFAULT_AVAILABILITY_LAG,
            api_key: "mock-api-key".into(),
            practice_group_id: "1".into(),
            network: vec!["2".into()],
            practices: Vec::new(),
            pds: Vec::new(),
            write_to_record: WriteToRecord::default(),
            auto_write_allowed: true,
            log_limit: DEFAULT_LOG_LIMIT,
            retries: deliveries::Retries::default(),
            rewrite: None,
        }
    }
}

impl MockHeroBuilder {
    /// Seed of the generated slots (default 1): the same seed gives the same data.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// How many days the diary covers (default 3): the start's own day (in UK time, even when
    /// its slots are over) and the days after it, counting only the practice's open days
    /// (Monday to Friday unless [`with_weekends`](Self::with_weekends)); at most
    /// [`MAX_DIARY_DAYS`]. Slots start from 08:30 to 11:30 and from 15:00 to 18:00 local time;
    /// those that have started are not offered.
    pub fn with_days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }

    /// Open on Saturdays and Sundays too (extended-access clinics); by default the diary skips
    /// weekends, as most GP practices do.
    pub fn with_weekends(mut self) -> Self {
        self.weekends = true;
        self
    }

    /// The instant the mock's clock starts at (default: the system clock's now when it starts).
    /// The diary is laid out from it, so a test that starts at a fixed instant sees the same
    /// slots at any hour it runs. The clock runs on from there with real time. With
    /// [`with_clock`](Self::with_clock) too, that clock is moved forward to `at` when the mock
    /// starts.
    pub fn with_start(mut self, at: DateTime<Utc>) -> Self {
        self.start = Some(at);
        self
    }

    /// Runs the mock on `clock`, a [`TestClock`] the test also holds (or shares with another
    /// mock: two practices, one time). Advancing it advances the mock; the diary is laid out
    /// from its reading when the mock starts (after moving it to [`with_start`](Self::with_start)'s
    /// instant, if given).
    pub fn with_clock(mut self, clock: TestClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How long the slot list takes to show a slot booked in the clinical system (default
    /// [`DEFAULT_AVAILABILITY_LAG`], 15 minutes, on the mock's clock).
    pub fn with_availability_lag(mut self, lag: Duration) -> Self {
        self.lag = lag;
        self
    }

    /// How long a reservation holds its slot (default [`DEFAULT_HOLD_PERIOD`], 15 minutes).
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
    /// Another practice group the mock serves, with its own key (as each practice issues its
    /// partner a key of its own). Its key acts for it alone; [`MockHero::rotate_key`] replaces it.
    pub fn with_practice(mut self, practice_group_id: impl Into<String>, api_key: impl Into<String>) -> Self {
        self.practices.push((practice_group_id.into(), api_key.into()));
        self
    }

    /// A patient on the mock's PDS spine, besides the seeded ones ([`MockHero::pds_patients`]):
    /// `registerPatientPds` finds them by NHS number and date of birth, or by name, date of
    /// birth and postcode.
    pub fn with_pds_patient(mut self, patient: PdsPatient) -> Self {
        self.pds.push(patient);
        self
    }

    /// How write-to-record ends, and after how long on the mock's clock (default
    /// [`WriteToRecord::default`]: it succeeds after [`DEFAULT_WRITE_TO_RECORD_DELAY`]). It
    /// always fails for a patient [`without_ehr_record`](PdsPatient::without_ehr_record).
    pub fn with_write_to_record(mut self, outcome: WriteToRecord) -> Self {
        self.write_to_record = outcome;
        self
    }

    /// Whether the mock's key may write to the record without an admin's approval
    /// (`auto_write_to_record`; default yes). When not, every write waits for
    /// [`MockHero::approve_write_to_record`], as Hero does for a key without that right.
    pub fn with_auto_write_to_record_allowed(mut self, allowed: bool) -> Self {
        self.auto_write_allowed = allowed;
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
        self.retries = deliveries::Retries { attempts: attempts.max(1), first_wait, ..self.retries };
        self
    }

    /// How many deliveries may wait for one receiving URL (1 to 2^20; default
    /// [`MAX_QUEUED_DELIVERIES`]). More are not sent, and logged as
    /// [`DeliveryOutcome::QueueFull`]: the memory of a mock whose receiver never answers stays
    /// bounded.
    pub fn with_delivery_queue_limit(mut self, limit: usize) -> Self {
        // tokio's channel takes at most `usize::MAX >> 3`; far beyond any test, and never a panic.
        self.retries.queue_limit = limit.clamp(1, 1 << 20);
        self
    }

    /// Rewrites every answer the mock's state produced before it is sent: `rewrite` gets the
    /// operationId (`listSlots`) and the status and JSON body to change in place. For testing
    /// your code against answers that drift from the document the way a real server's do (an
    /// enum value it does not list, a field gone, a type changed, an undocumented status), on
    /// every request rather than the next few ([`Fault`] with [`FaultKind::Answer`]).
    ///
    /// Only what is sent changes: the mock's state has already done the work (a booking the
    /// rewritten answer hides is still booked), as with a server whose answer is lost. Faults
    /// that answer for the mock (`ServerError`, `RateLimited`, `Answer`) are not rewritten.
    ///
    /// ```
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use hero_health::mock::MockHero;
    /// // Hero answers a sector this SDK version has never seen.
    /// let hero = MockHero::builder()
    ///     .with_answer_rewrite(|operation, _status, body| {
    ///         if operation == "listAppointmentTypes" {
    ///             for t in body.as_mut().and_then(|b| b["data"].as_array_mut()).into_iter().flatten() {
    ///                 t["sector"] = "private_plus".into();
    ///             }
    ///         }
    ///     })
    ///     .start()
    ///     .await?;
    /// let types = hero.client().booking().appointment_types().await?;
    /// assert!(types.iter().all(|t| t.sector.as_ref().is_some_and(|s| s.to_string() == "private_plus")));
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
    /// ```
    pub fn with_answer_rewrite(mut self, rewrite: impl Fn(&str, &mut u16, &mut Option<serde_json::Value>) + Send + Sync + 'static) -> Self {
        self.rewrite = Some(std::sync::Arc::new(rewrite));
        self
    }

    /// Starts the server on `127.0.0.1:0` in the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`MockError::Settings`] for settings no client could use, [`MockError::TooManyDays`] for a
    /// diary over [`MAX_DIARY_DAYS`], [`MockError::Clock`] for a start before the given clock's
    /// reading, [`MockError::Bind`] when 127.0.0.1 cannot be listened on.
    pub async fn start(self) -> Result<MockHero, MockError> {
        if self.days > MAX_DIARY_DAYS {
            return Err(MockError::TooManyDays { days: self.days, max: MAX_DIARY_DAYS });
        }
        // Refuse settings no client could use, so `MockHero::client()` cannot fail later.
        Client::builder()
            .with_api_key(self.api_key.clone())
            .with_practice_group_id(self.practice_group_id.clone())
            .with_environment(Environment::HeroMock)
            .build()?;
        let mut practices = keys::Practices::default();
        practices.add(&self.practice_group_id, &self.api_key, &self.network);
        for (group, key) in &self.practices {
            Client::builder()
                .with_api_key(key.clone())
                .with_practice_group_id(group.clone())
                .with_environment(Environment::HeroMock)
                .build()?;
            practices.add(group, key, &[]);
        }
        let mut keys: Vec<&String> = std::iter::once(&self.api_key).chain(self.practices.iter().map(|(_, key)| key)).collect();
        keys.sort();
        keys.dedup();
        if keys.len() != self.practices.len() + 1 {
            return Err(MockError::SharedKey);
        }
        if practices.groups().len() != self.practices.len() + 1 {
            return Err(MockError::PracticeGroupTwice);
        }
        let clock = match (self.clock.clone(), self.start) {
            (Some(clock), Some(at)) => {
                clock.advance_to(at)?;
                clock
            }
            (Some(clock), None) => clock,
            (None, Some(at)) => TestClock::starting_at(at),
            (None, None) => TestClock::default(),
        };
        let diary = state::Diary { days: self.days, weekends: self.weekends };
        let state = state::State::seeded(self.seed, diary, crate::time::delta(self.hold), crate::time::delta(self.lag), clock.now());
        let desk = patients::Desk::new(&self.pds, self.write_to_record, self.auto_write_allowed);
        let shared = Arc::new(Shared {
            config: self,
            clock,
            inner: Mutex::new(Inner {
                desk,
                state,
                practices,
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
    /// The mock's time, which its clients share.
    clock: TestClock,
    inner: Mutex<Inner>,
    /// Woken each time a webhook delivery (with its retries) is done.
    delivered: tokio::sync::Notify,
}

#[derive(Debug)]
pub(crate) struct Inner {
    state: state::State,
    /// Patients and messages.
    desk: patients::Desk,
    /// The practice groups and their keys (which rotate).
    practices: keys::Practices,
    faults: Vec<Fault>,
    /// The latest requests, each with its number (the count of requests before it) and the key
    /// it carried, judged.
    log: VecDeque<(u64, LoggedRequest, KeyUse)>,
    logged: u64,
    /// One delivery queue (and its worker) per receiving URL.
    queues: BTreeMap<String, (tokio::sync::mpsc::Sender<deliveries::Job>, tokio::task::JoinHandle<()>)>,
    pending_deliveries: usize,
    deliveries: Vec<Delivery>,
    delivery_faults: VecDeque<DeliveryFault>,
}

impl Inner {
    /// Logs a request, forgetting the oldest beyond `limit`; returns its number.
    fn log(&mut self, entry: LoggedRequest, key: KeyUse, limit: usize) -> u64 {
        let number = self.logged;
        self.logged += 1;
        self.log.push_back((number, entry, key));
        while self.log.len() > limit {
            self.log.pop_front();
        }
        number
    }

    /// Hands the events that fell due by `now` (write-to-record endings) to the deliverer.
    fn tick(&mut self, now: DateTime<Utc>) {
        let due = self.desk.due_events(now);
        self.state.announce_events(due);
    }

    /// Sets the answered status of request `number`, if it is still logged.
    fn record(&mut self, number: u64, status: u16) {
        if let Some((_, entry, _)) = self.log.iter_mut().rev().find(|(n, _, _)| *n == number) {
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

    /// A client builder already pointed at the mock with its credentials and its clock; add
    /// timeouts etc. To test clock skew, give it another clock
    /// (`.with_clock(hero_health::clock::SystemClock)`).
    pub fn client_builder(&self) -> crate::ClientBuilder {
        let environment = Environment::custom(&self.url()).unwrap_or_else(|e| unreachable!("a loopback URL is valid: {e}"));
        let key = self.practice_key(&self.shared.config.practice_group_id).unwrap_or_else(|| self.shared.config.api_key.clone());
        Client::builder()
            .with_api_key(key)
            .with_practice_group_id(self.shared.config.practice_group_id.clone())
            .with_environment(environment)
            .with_clock(self.shared.clock.clone())
    }

    /// The API key the mock's main practice group started with ([`MockHeroBuilder::with_api_key`];
    /// after [`rotate_key`](Self::rotate_key), [`practice_key`](Self::practice_key) has the current one).
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// What time it is for the mock and its clients.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// The mock's clock, shared with every client it made: give it to your own clients or a
    /// webhook [`Verifier`](crate::webhooks::Verifier::with_clock) so they agree with the mock.
    pub fn clock(&self) -> TestClock {
        self.shared.clock.clone()
    }

    /// Moves the mock's clock (and its clients') forward: holds lapse and appointments come
    /// inside the cancellation window without the test sleeping.
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
        self.after_time_moved();
    }

    /// Moves the mock's clock (and its clients') forward to `at`.
    ///
    /// # Errors
    ///
    /// [`ClockError::Backwards`] when `at` is before the mock's now (nothing changes).
    pub fn advance_to(&self, at: DateTime<Utc>) -> Result<(), ClockError> {
        self.shared.clock.advance_to(at)?;
        self.after_time_moved();
        Ok(())
    }

    /// What falls due as time moves (a write-to-record ending) is announced at once, as Hero
    /// would, not at the next request. Outside a Tokio runtime it waits for the next request.
    fn after_time_moved(&self) {
        let now = self.shared.clock.now();
        self.shared.lock().tick(now);
        if tokio::runtime::Handle::try_current().is_ok() {
            deliveries::dispatch(&self.shared);
        }
    }

    /// The patients on the mock's PDS spine: the three seeded ones (NHS Digital test numbers),
    /// then those of [`MockHeroBuilder::with_pds_patient`]. The first is registered with the
    /// practice from the start as patient `1` (Hero's own samples message patient `1`).
    pub fn pds_patients(&self) -> Vec<PdsPatient> {
        self.shared.lock().desk.spine().to_vec()
    }

    /// An admin at the practice approves writing message `message_id` to the patient's record
    /// ("Write the message to the EHR after approval"): the write ends after
    /// [`MockHeroBuilder::with_write_to_record`]'s delay, on the mock's clock.
    ///
    /// # Errors
    ///
    /// [`MockError::UnknownMessage`] when no message of that id waits for approval.
    pub fn approve_write_to_record(&self, message_id: &str) -> Result<(), MockError> {
        let now = self.shared.clock.now();
        if self.shared.lock().desk.approve(message_id, now) { Ok(()) } else { Err(MockError::UnknownMessage) }
    }

    /// The patient opens message `message_id` in the NHS App: its status becomes `opened`, and
    /// no fallback is sent.
    ///
    /// # Errors
    ///
    /// [`MockError::UnknownMessage`] when the mock sent no such message.
    pub fn open_message(&self, message_id: &str) -> Result<(), MockError> {
        let now = self.shared.clock.now();
        if self.shared.lock().desk.open(message_id, now) { Ok(()) } else { Err(MockError::UnknownMessage) }
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
        self.shared.lock().log.iter().map(|(_, entry, _)| entry.clone()).collect()
    }

    /// The requests received so far with the key each carried, judged ([`KeyUse`]): whose key,
    /// and whether it was current or retired when it arrived. The keys themselves are not kept.
    pub fn requests_with_keys(&self) -> Vec<(LoggedRequest, KeyUse)> {
        self.shared.lock().log.iter().map(|(_, entry, key)| (entry.clone(), key.clone())).collect()
    }

    /// Rotates the key of `practice_group_id` as a practice does in Hero: a new key is made,
    /// and the old one is refused (401) from the next request on, with no overlap. Returns the
    /// new key, to hand to the client as the practice would.
    ///
    /// # Errors
    ///
    /// [`MockError::UnknownPracticeGroup`] for a group the mock does not serve.
    pub fn rotate_key(&self, practice_group_id: &str) -> Result<String, MockError> {
        let mut inner = self.shared.lock();
        let new = inner.practices.fresh_key(practice_group_id, fastrand::u64(..));
        Self::rotated(inner.practices.rotate(practice_group_id, new), practice_group_id)
    }

    /// [`rotate_key`](Self::rotate_key) to a key you chose: for a test that must put the new
    /// key in its key source before Hero refuses the old one.
    ///
    /// # Errors
    ///
    /// [`MockError::UnknownPracticeGroup`], or [`MockError::SharedKey`] for a key the mock has
    /// issued before (Hero never reissues one).
    pub fn rotate_key_to(&self, practice_group_id: &str, new_key: impl Into<String>) -> Result<(), MockError> {
        let new_key = new_key.into();
        Client::builder()
            .with_api_key(new_key.clone())
            .with_practice_group_id(practice_group_id)
            .with_environment(Environment::HeroMock)
            .build()?;
        let rotated = self.shared.lock().practices.rotate(practice_group_id, new_key);
        Self::rotated(rotated, practice_group_id).map(drop)
    }

    fn rotated(result: Result<String, keys::RotateError>, practice_group_id: &str) -> Result<String, MockError> {
        result.map_err(|error| match error {
            keys::RotateError::UnknownGroup => MockError::UnknownPracticeGroup(practice_group_id.to_owned()),
            keys::RotateError::KeyInUse => MockError::SharedKey,
        })
    }

    /// The current key of `practice_group_id`, if the mock serves it.
    pub fn practice_key(&self, practice_group_id: &str) -> Option<String> {
        self.shared.lock().practices.current(practice_group_id).map(str::to_owned)
    }

    /// The practice groups the mock serves with a key of their own (not network members).
    pub fn practice_groups(&self) -> Vec<String> {
        self.shared.lock().practices.groups()
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

    /// Staff book `slot` directly in the practice's clinical system (EMIS Web, SystmOne), now by
    /// the mock's clock, as Hero's product pages say they can. Hero's slot list keeps offering it
    /// for the availability lag ([`MockHeroBuilder::with_availability_lag`]); reserving it is
    /// refused at once (`slot_unavailable`), and a hold already on it fails its confirmation
    /// (`slot_unavailable`, the hold gone). [`MockHero::free_slots`] no longer has it.
    ///
    /// # Errors
    ///
    /// [`MockError::UnknownSlot`] for a slot that is not in the mock's diary.
    pub fn book_in_clinical_system(&self, slot: &Slot) -> Result<(), MockError> {
        let mut inner = self.shared.lock();
        if !inner.state.knows(slot) {
            return Err(MockError::UnknownSlot);
        }
        inner.state.clinical.book(slot, self.shared.clock.now());
        Ok(())
    }

    /// Staff book `slot` in the clinical system the moment Hero holds it: the reserve succeeds,
    /// its confirmation fails (`slot_unavailable`), as when a receptionist books a held slot.
    ///
    /// # Errors
    ///
    /// [`MockError::UnknownSlot`] for a slot that is not in the mock's diary.
    pub fn book_in_clinical_system_once_held(&self, slot: &Slot) -> Result<(), MockError> {
        let mut inner = self.shared.lock();
        if !inner.state.knows(slot) {
            return Err(MockError::UnknownSlot);
        }
        inner.state.clinical.book_when_held(slot);
        Ok(())
    }

    /// Hero cannot match `patient` to a record of the practice (yet): appointments booked for
    /// them from now on go into the placeholder record ([`PLACEHOLDER_PATIENT_ID`], SystmOne's
    /// "Unregistered Patient"; in EMIS a placeholder slot type), until
    /// [`MockHero::relink_placeholders`]. The appointment's `patient_id` then changes under the
    /// partner, as Hero's does.
    pub fn unmatched_patient(&self, patient: &crate::Id) {
        self.shared.lock().state.clinical.unmatched(patient);
    }

    /// The practice linked the real records: every placeholder booking now shows its patient,
    /// and later bookings go to their records.
    pub fn relink_placeholders(&self) {
        self.shared.lock().state.relink_placeholders();
    }

    /// The slots nobody holds or has booked (through Hero or in the clinical system) and that
    /// have not started, by the mock's clock: what is really free, which Hero's slot list may
    /// not show yet.
    pub fn free_slots(&self) -> Vec<Slot> {
        let inner = self.shared.lock();
        inner.state.free_slots(self.shared.clock.now())
    }

    /// The earliest free slot that starts `lead` from now, for a test that needs a slot with
    /// that property: `Duration::from_secs(3600)..Duration::from_secs(23 * 3600)` is inside
    /// the practice's 24 h cancellation window (and does not start before the test can book
    /// it), `Duration::from_secs(30 * 3600)..` well outside it. `None` when the diary has none
    /// (a weekend lies between, or the diary ends first).
    pub fn free_slot_starting_in(&self, lead: impl std::ops::RangeBounds<Duration>) -> Option<Slot> {
        let now = self.now();
        let away = |slot: &Slot| slot.start_time.and_then(|start| (start - now).to_std().ok());
        self.free_slots().into_iter().filter(|slot| away(slot).is_some_and(|away| lead.contains(&away))).min_by_key(|slot| slot.start_time)
    }
}
