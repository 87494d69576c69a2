//! Crashes and replicas against the booking journal, counted at the mock.
//!
//! The app under test is what a partner writes: reserve under its own request id (a booking
//! key), confirm, and at start-up `recover()`, then book whoever is still not booked. Each seeded run kills it somewhere (its own journal
//! aborting the process right after the hold is recorded; a kill while Hero commits the
//! confirmation and its answer is held back; a kill while the reserve is held back; a kill at a
//! random moment), or lets Hero's faults hit it; a second process with the same journal and
//! owner name recovers and finishes. Then the mock is asked what it booked: exactly one
//! appointment per patient, never none (lost), never two (double). For SQLite and PostgreSQL
//! the app runs as a real child process (this test binary, re-run on `crash_child`) killed with
//! SIGKILL; for the in-memory journal, which dies with its process, as a task that is aborted.
//!
//! Two replicas sharing one journal race to book 1,000 patients under the same booking keys:
//! one booking each, and every loser a journal refusal.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use hero_health::booking::journal::{BookingJournal, JournalError, MemoryJournal, PostgresJournal, SqliteJournal, Step};
use hero_health::booking::{Booking, BookingError, RecoveredOutcome};
use hero_health::clock::TestClock;
use hero_health::mock::{Fault, FaultKind, MockHero};
use hero_health::types::Slot;
use hero_health::{Client, Environment, Id};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;

/// The environment variable that makes `crash_child` the app (its value: a [`Task`] as JSON).
const CHILD: &str = "HERO_JOURNAL_CRASH_CHILD";
/// The app's name in the journal, the same across its restarts.
const OWNER: &str = "partner-app";
/// Seeded runs per store.
const RUNS: u64 = 24;

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Store {
    Sqlite(String),
    Postgres(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    /// Reserve then confirm the first free candidate.
    Book,
    /// `recover()`, then book the patient if still not booked.
    Recover,
}

/// What the child app is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Task {
    url: String,
    api_key: String,
    now: DateTime<Utc>,
    store: Store,
    patient: String,
    candidates: Vec<Slot>,
    phase: Phase,
    /// Abort the process right after the journal recorded the hold.
    abort_after_hold: bool,
    /// Already booked, by what the app saw of its first run.
    booked: bool,
    /// The app's name in the journal.
    owner: String,
}

/// How a run crashes the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    /// The journal aborts the process once the hold is recorded: between reserve and confirm.
    AfterHoldRecorded,
    /// Killed once Hero committed the confirmation, whose answer is held back.
    WhileConfirming,
    /// Killed once Hero made the hold, whose answer is held back.
    WhileReserving,
    /// Killed at a random moment after the reserve answered (confirm slowed a little).
    AtRandom { after_ms: u64, latency_ms: u64 },
    /// Not killed: the confirmation's connection drops after Hero committed it.
    AnswerDropped,
    /// Not killed: the confirmation gets a 502 and its read-back a 503.
    Ambiguous,
}

fn crash_for(run: u64) -> Crash {
    let mut rng = fastrand::Rng::with_seed(0x6865_726f ^ run);
    match run % 6 {
        0 => Crash::AfterHoldRecorded,
        1 => Crash::WhileConfirming,
        2 => Crash::WhileReserving,
        3 => Crash::AtRandom { after_ms: rng.u64(0..40), latency_ms: rng.u64(0..30) },
        4 => Crash::AnswerDropped,
        _ => Crash::Ambiguous,
    }
}

/// The app's client: the mock's key and practice group, on a clock that reads what the mock's
/// reads (a test clock started at the mock's now, running from there).
fn app_client(url: &str, api_key: &str, now: DateTime<Utc>) -> Client {
    Client::builder()
        .with_api_key(api_key)
        .with_practice_group_id("1")
        .with_environment(Environment::custom(url).unwrap())
        .with_clock(TestClock::starting_at(now))
        .with_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

/// The partner's app: what it prints is what the parent reads (`journal-child: <event>`).
async fn app(booking: &Booking, task: &Task, say: &(dyn Fn(String) + Sync)) {
    let patient: Id = task.patient.parse().unwrap();
    let mut booked = task.booked;
    if task.phase == Phase::Recover {
        for recovered in booking.recover().await.unwrap() {
            say(format!("recovered {recovered:?}"));
            booked |= matches!(recovered.outcome, RecoveredOutcome::Booked(_));
        }
    }
    if booked {
        return;
    }
    // The app's own request id for this booking: the journal books it once, so a retry of a
    // booking whose result the app did not get to record (killed after Hero confirmed and the
    // journal settled) is refused with the appointment, not booked again.
    let key = format!("visit-{}", task.patient);
    for slot in &task.candidates {
        say("reserving".into());
        let reservation = match booking.reserve_with_key(&key, slot, Some(&patient)).await {
            Ok(reservation) => reservation,
            Err(BookingError::SlotUnavailable) => continue,
            Err(BookingError::Journal(JournalError::AlreadyBooked { appointment_id, .. })) => {
                return say(format!("booked {appointment_id} (already)"));
            }
            Err(error) => return say(format!("error {error}")),
        };
        say(format!("reserved {}", reservation.id()));
        match reservation.confirm().await {
            Ok(appointment) => return say(format!("booked {}", appointment.id)),
            Err(error) => return say(format!("error {error}")),
        }
    }
    say("error no candidate was free".into());
}

async fn open(store: &Store) -> Arc<dyn BookingJournal> {
    match store {
        Store::Sqlite(path) => Arc::new(SqliteJournal::open(path).await.unwrap()),
        Store::Postgres(config) => Arc::new(PostgresJournal::connect(config).await.unwrap()),
    }
}

/// The app as a child process: run by the crash tests with [`CHILD`] set, never on its own.
#[tokio::test]
#[ignore = "the crash tests' child process: they run it with HERO_JOURNAL_CRASH_CHILD set"]
async fn crash_child() {
    let Ok(task) = std::env::var(CHILD) else {
        eprintln!("crash_child is the crash tests' app; it does nothing without {CHILD}");
        return;
    };
    let task: Task = serde_json::from_str(&task).unwrap();
    let mut journal = open(&task.store).await;
    if task.abort_after_hold {
        // A crash at the one moment a kill from outside cannot aim at: the hold just recorded.
        let abort_after_hold = |step: &Step| {
            if matches!(step, Step::Reserved { .. }) {
                println!("journal-child: aborting after the hold was recorded");
                std::process::abort();
            }
        };
        journal = Arc::new(crate::support::Intercept { inner: journal, before: |_| Ok(()), after: abort_after_hold });
    }
    let booking = app_client(&task.url, &task.api_key, task.now).booking().with_journal(journal).with_journal_owner(task.owner.clone());
    let say = |event: String| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "journal-child: {event}");
        let _ = out.flush();
    };
    app(&booking, &task, &say).await;
}

/// The app running: a child process, or (for the in-memory journal) a task of this one.
enum Running {
    Process(tokio::process::Child),
    Task(tokio::task::JoinHandle<()>),
}

/// A run of the app; its events arrive on the channel as it prints them.
struct App {
    running: Running,
    events: tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl App {
    /// The app as a child process (this binary on `crash_child`).
    fn process(task: &Task) -> App {
        let mut process = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["journal_crash::crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD, serde_json::to_string(task).unwrap())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = process.stdout.take().unwrap();
        let (send, events) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                // libtest prints `test crash_child ... ` with no line end before the test's output.
                if let Some((_, event)) = line.split_once("journal-child: ") {
                    let _ = send.send(event.to_owned());
                }
            }
        });
        App { running: Running::Process(process), events, seen: Vec::new() }
    }

    /// The app as a task of this process, on `booking` (the in-memory journal's).
    fn task(booking: Booking, task: &Task) -> App {
        let (send, events) = tokio::sync::mpsc::unbounded_channel::<String>();
        let task = task.clone();
        let booking = booking.with_journal_owner(task.owner.clone());
        let handle = tokio::spawn(async move { app(&booking, &task, &move |e| drop(send.send(e))).await });
        App { running: Running::Task(handle), events, seen: Vec::new() }
    }

    /// Waits for an event starting with `prefix`; its text.
    async fn until(&mut self, prefix: &str) -> String {
        let wait = async {
            while let Some(event) = self.events.recv().await {
                self.seen.push(event.clone());
                if event.starts_with(prefix) {
                    return event;
                }
            }
            panic!("the app ended before `{prefix}`: {:?}", self.seen)
        };
        tokio::time::timeout(Duration::from_secs(30), wait).await.expect("the app answers in time")
    }

    /// Kills it: SIGKILL for a process, the future dropped for a task.
    async fn kill(mut self) -> Vec<String> {
        match &mut self.running {
            Running::Process(process) => process.kill().await.unwrap(),
            Running::Task(handle) => {
                handle.abort();
                let _ = handle.await;
            }
        }
        self.drain().await
    }

    async fn finish(mut self) -> Vec<String> {
        let ended = async {
            match &mut self.running {
                Running::Process(process) => drop(process.wait().await),
                Running::Task(handle) => handle.await.unwrap(),
            }
        };
        tokio::time::timeout(Duration::from_secs(60), ended).await.expect("the app ends");
        self.drain().await
    }

    async fn drain(mut self) -> Vec<String> {
        while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(5), self.events.recv()).await {
            self.seen.push(event);
        }
        self.seen
    }
}

/// Waits until `done` says so about the mock (polled; the app's requests are in flight).
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..3000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{what} did not happen");
}

async fn confirmed(hero: &MockHero, id: &str) -> bool {
    hero.client().booking().appointment(id).await.is_ok_and(|a| a.booking_confirmed_at.is_some())
}

/// Confirmed, not cancelled appointments per patient at the mock (ids are 5001 up).
async fn bookings(hero: &MockHero) -> std::collections::BTreeMap<String, usize> {
    let booking = hero.client().booking();
    let mut per_patient = std::collections::BTreeMap::new();
    let mut misses = 0;
    for id in 5001.. {
        match booking.appointment(&id.to_string()).await {
            Ok(a) => {
                misses = 0;
                if a.booking_confirmed_at.is_some() && a.cancelled_at.is_none() {
                    *per_patient.entry(a.patient_id.map(|p| p.to_string()).unwrap_or_default()).or_default() += 1;
                }
            }
            // Lapsed holds read as 404; the ids end after a run of them.
            Err(_) => {
                misses += 1;
                if misses > 50 {
                    break;
                }
            }
        }
    }
    per_patient
}

/// Faults a run injects before the app starts.
fn inject(hero: &MockHero, crash: Crash) {
    let fault = match crash {
        Crash::WhileConfirming => Fault::on("bookAppointment", FaultKind::CommitThenTimeout(Duration::from_secs(30))),
        Crash::WhileReserving => Fault::on("createAppointment", FaultKind::CommitThenTimeout(Duration::from_secs(30))),
        Crash::AtRandom { latency_ms, .. } => Fault::on("bookAppointment", FaultKind::Latency(Duration::from_millis(latency_ms))),
        Crash::AnswerDropped => Fault::on("bookAppointment", FaultKind::DropConnection),
        Crash::Ambiguous => {
            hero.inject(Fault::on("bookAppointment", FaultKind::ServerError(502))).unwrap();
            // The read-back is a GET, retried twice by default: all three fail.
            Fault::on("getAppointment", FaultKind::ServerError(503)).times(3)
        }
        Crash::AfterHoldRecorded => return,
    };
    hero.inject(fault).unwrap();
}

/// How the app comes back after the first run.
#[derive(Debug, Clone, Copy)]
struct Restart {
    /// How long the mock's clock moves first: an entry another owner (or a task of the same
    /// process) recovers only once its lease has ended; the same owner restarted, at once.
    wait: Duration,
    /// The name it comes back under: the same owner, or another replica taking over.
    owner: &'static str,
}

/// Every other round of the six crashes is taken over by another replica after the lease; the
/// rest by the app itself restarted (at once for a new process; after the lease for a task of
/// this process). So each crash meets both.
fn restart_for(run: u64, same_process: bool) -> Restart {
    let after_lease = hero_health::booking::DEFAULT_JOURNAL_LEASE + Duration::from_secs(1);
    match ((run / 6) % 2, same_process) {
        (1, _) => Restart { wait: after_lease, owner: "partner-app-replica-b" },
        (_, true) => Restart { wait: after_lease, owner: OWNER },
        _ => Restart { wait: Duration::ZERO, owner: OWNER },
    }
}

/// One seeded run: book (crashing as `crash` says), then the app again to recover and finish.
/// `start` runs the app (a child process, or a task).
async fn run_once(hero: &MockHero, store: &Store, run: u64, crash: Crash, start: &dyn Fn(&Task) -> App, restart: Restart) -> Vec<String> {
    let mut task = Task {
        url: hero.url(),
        api_key: hero.api_key().to_owned(),
        now: hero.now(),
        store: store.clone(),
        patient: format!("{}", 900_000 + run),
        candidates: hero.free_slots().into_iter().take(3).collect(),
        phase: Phase::Book,
        abort_after_hold: crash == Crash::AfterHoldRecorded,
        booked: false,
        owner: OWNER.to_owned(),
    };
    inject(hero, crash);
    let mut app = start(&task);
    let first = match crash {
        Crash::AfterHoldRecorded | Crash::AnswerDropped | Crash::Ambiguous => app.finish().await,
        Crash::WhileConfirming => {
            let held = app.until("reserved ").await;
            let id = held.trim_start_matches("reserved ").to_owned();
            for _ in 0..3000 {
                if confirmed(hero, &id).await {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            app.kill().await
        }
        Crash::WhileReserving => {
            app.until("reserving").await;
            let slot = task.candidates[0].clone();
            until("the hold", || !hero.free_slots().contains(&slot)).await;
            app.kill().await
        }
        Crash::AtRandom { after_ms, .. } => {
            app.until("reserved ").await;
            tokio::time::sleep(Duration::from_millis(after_ms)).await;
            app.kill().await
        }
    };
    hero.advance(restart.wait);
    task.owner = restart.owner.to_owned();
    task.phase = Phase::Recover;
    task.abort_after_hold = false;
    task.booked = first.iter().any(|e| e.starts_with("booked "));
    task.now = hero.now();
    task.candidates = hero.free_slots().into_iter().take(3).collect();
    let second = start(&task).finish().await;
    let mut log = vec![format!("run {run}: {crash:?}, then {restart:?}")];
    log.extend(first.into_iter().map(|e| format!("  first: {e}")));
    log.extend(second.into_iter().map(|e| format!("  second: {e}")));
    log
}

/// Counts the bookings of every run's patient: (lost, double).
fn count(per_patient: &std::collections::BTreeMap<String, usize>, runs: u64) -> (usize, usize) {
    let lost = (0..runs).filter(|run| !per_patient.contains_key(&format!("{}", 900_000 + run))).count();
    let double = per_patient.values().filter(|n| **n > 1).count();
    (lost, double)
}

async fn crash_runs(store: Store) {
    // A week of diary: every run uses a few slots.
    let hero = MockHero::builder().with_start("2026-03-23T07:00:00Z".parse().unwrap()).with_days(7).start().await.unwrap();
    let mut logs = Vec::new();
    for run in 0..RUNS {
        logs.extend(run_once(&hero, &store, run, crash_for(run), &App::process, restart_for(run, false)).await);
    }
    let per_patient = bookings(&hero).await;
    let (lost, double) = count(&per_patient, RUNS);
    eprintln!("{store:?}: {RUNS} runs, {lost} lost, {double} double bookings");
    assert_eq!((lost, double), (0, 0), "lost and double bookings; what the runs did:\n{}", logs.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_no_booking_is_lost_or_doubled_when_the_app_crashes() {
    let dir = std::env::temp_dir().join(format!("hero-health-journal-{}-crash", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal.sqlite3");
    let _ = std::fs::remove_file(&path);
    crash_runs(Store::Sqlite(path.to_string_lossy().into_owned())).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_no_booking_is_lost_or_doubled_when_the_app_crashes() {
    let Some(database) = crate::support::postgres_database("crash").await else { return };
    crash_runs(Store::Postgres(database)).await;
}

/// The in-memory journal dies with its process, so its "crash" is the app's task aborted
/// (its future dropped mid-request) and "the second process" a new client on the same journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_no_booking_is_lost_or_doubled_when_the_app_task_is_aborted() {
    let hero = MockHero::builder().with_start("2026-03-23T07:00:00Z".parse().unwrap()).with_days(7).start().await.unwrap();
    let journal: Arc<dyn BookingJournal> = Arc::new(MemoryJournal::new());
    let booking = hero.client_builder().with_timeout(Duration::from_secs(2)).build().unwrap().booking();
    let booking = booking.with_journal(journal);
    let start = |task: &Task| App::task(booking.clone(), task);
    let mut logs = Vec::new();
    for run in 0..RUNS {
        // No process to abort: the hold-recorded crash becomes a kill right after "reserved".
        let crash = match crash_for(run) {
            Crash::AfterHoldRecorded => Crash::AtRandom { after_ms: 0, latency_ms: 50 },
            crash => crash,
        };
        logs.extend(run_once(&hero, &Store::Sqlite(String::new()), run, crash, &start, restart_for(run, true)).await);
    }
    let (lost, double) = count(&bookings(&hero).await, RUNS);
    eprintln!("memory: {RUNS} runs, {lost} lost, {double} double bookings");
    assert_eq!((lost, double), (0, 0), "what the runs did:\n{}", logs.join("\n"));
}

/// Two replicas (each its own client and journal connection) race to book each of `patients`
/// under one booking key per patient, each replica into a slot of its own.
async fn race(replica_a: Booking, replica_b: Booking, hero: &MockHero, patients: usize) {
    let slots = hero.free_slots();
    assert!(slots.len() >= 2 * patients, "the diary has {} slots", slots.len());
    let attempt = |replica: Booking, patient: usize, slot: Slot| async move {
        let id: Id = (700_000 + patient).to_string().parse().unwrap();
        replica.book_with_key(&format!("visit-{patient}"), &slot, Some(&id)).await
    };
    let results: Vec<_> = futures_util::stream::iter(0..patients)
        .map(|p| {
            let (a, b) = (attempt(replica_a.clone(), p, slots[2 * p].clone()), attempt(replica_b.clone(), p, slots[2 * p + 1].clone()));
            async move { tokio::join!(a, b) }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut booked = 0;
    for (a, b) in &results {
        for result in [a, b] {
            match result {
                Ok(_) => booked += 1,
                Err(BookingError::Journal(JournalError::Unsettled { .. } | JournalError::AlreadyBooked { .. })) => {}
                Err(other) => panic!("a loser's error is a journal refusal, not {other:?}"),
            }
        }
        assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "exactly one replica booked: {a:?} / {b:?}");
    }
    assert_eq!(booked, patients);
    let per_patient = bookings(hero).await;
    assert_eq!(per_patient.len(), patients);
    assert!(per_patient.values().all(|n| *n == 1), "one booking per patient at Hero");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_replicas_book_each_patient_once() {
    let Some(database) = crate::support::postgres_database("race").await else { return };
    let hero = MockHero::builder().with_start("2026-03-23T07:00:00Z".parse().unwrap()).with_days(30).start().await.unwrap();
    let replica = |name: &'static str| {
        let (database, hero) = (database.clone(), &hero);
        async move {
            let journal = PostgresJournal::connect(&database).await.unwrap();
            hero.client().booking().with_journal(Arc::new(journal)).with_journal_owner(name)
        }
    };
    race(replica("replica-a").await, replica("replica-b").await, &hero, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_two_handles_book_each_patient_once() {
    let hero = MockHero::builder().with_start("2026-03-23T07:00:00Z".parse().unwrap()).with_days(30).start().await.unwrap();
    let journal: Arc<dyn BookingJournal> = Arc::new(MemoryJournal::new());
    let replica = |name: &str| hero.client().booking().with_journal(journal.clone()).with_journal_owner(name);
    race(replica("a"), replica("b"), &hero, 1000).await;
}
