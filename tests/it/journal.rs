//! The booking journal: the same contract checked on every store the crate ships (memory,
//! SQLite, PostgreSQL), and the booking layer with a journal against the mock (a naive retry
//! refused, keys booked once, a reservation resumed from its record, recovery).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hero_health::Id;
use hero_health::booking::journal::{
    BookingJournal, EntryId, JournalError, MemoryJournal, NewEntry, Outcome, PostgresJournal, SqliteJournal, Step,
};
use hero_health::booking::{BookingError, RecoveredOutcome, ReservationRecord};
use hero_health::mock::{Fault, FaultKind, MockHero};
use hero_health::types::{AppointmentCreate, Slot};
use hero_health::{Client, RetryPolicy};

use crate::support::{free_slots, operations, postgres_database};

/// A fixed instant: the contract does not read any clock.
fn at(minutes: i64) -> DateTime<Utc> {
    "2026-03-24T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::minutes(minutes)
}

fn request(patient: Option<&str>) -> AppointmentCreate {
    serde_json::from_value(serde_json::json!({
        "appointment_type_id": "1", "location_id": "1", "practitioner_id": "11", "duration": 10,
        "start_time": "2026-03-26T09:00:00Z", "patient_id": patient, "reason": "free text about the patient",
    }))
    .unwrap()
}

fn new(group: &str, patient: Option<&str>, key: Option<&str>, owner: &str) -> NewEntry {
    NewEntry::new(group, request(patient), key.map(str::to_owned), (owner, "run-1"), at(0), at(2))
}

/// Claims and the ids claimed.
async fn claim(journal: &dyn BookingJournal, group: &str, me: (&str, &str), now: i64, until: i64) -> Vec<EntryId> {
    journal.claim_unsettled(group, me, at(now), at(until)).await.unwrap().into_iter().map(|e| e.unwrap().id).collect()
}

fn booked(id: &str) -> Outcome {
    Outcome::Booked { appointment_id: id.to_owned() }
}

fn not_booked() -> Outcome {
    Outcome::NotBooked { reason: "lapsed".to_owned() }
}

/// What every store must do, step by step.
async fn contract(journal: &dyn BookingJournal) {
    // One unsettled entry per patient and practice group.
    let first = journal.begin(new("1", Some("1234"), None, "a")).await.unwrap();
    let refused = journal.begin(new("1", Some("1234"), None, "b")).await.unwrap_err();
    assert!(matches!(refused, JournalError::Unsettled { entry, appointment_id: None, .. } if entry == first), "{refused:?}");
    assert!(refused.to_string().contains(&first.to_string()), "the error names the entry: {refused}");
    assert!(!refused.to_string().contains("1234"), "no patient id in the message: {refused}");
    // Another practice group, another patient, or no patient: not refused.
    journal.begin(new("2", Some("1234"), None, "a")).await.unwrap();
    journal.begin(new("1", Some("5678"), None, "a")).await.unwrap();
    journal.begin(new("1", None, None, "a")).await.unwrap();
    journal.begin(new("1", None, None, "a")).await.unwrap();

    // Steps only by the owner, only while unsettled; the refusal names the hold once known.
    let hold = Step::Reserved { appointment_id: "5001".into(), reserved_until: Some(at(15)) };
    let not_owner = journal.record(first, "b", &hold, at(3)).await.unwrap_err();
    assert!(matches!(not_owner, JournalError::NotOwner { entry, .. } if entry == first), "{not_owner:?}");
    journal.record(first, "a", &hold, at(3)).await.unwrap();
    let entry = journal.entry(first).await.unwrap();
    assert_eq!((entry.step.clone(), entry.lease_until, entry.outcome.clone()), (hold.clone(), at(3), None));
    assert_eq!(entry.patient_id.as_ref().map(Id::as_str), Some("1234"));
    assert_eq!(entry.request, request(Some("1234")), "the request is kept whole");
    let refused = journal.begin(new("1", Some("1234"), None, "b")).await.unwrap_err();
    assert!(matches!(refused, JournalError::Unsettled { appointment_id: Some(ref id), .. } if id == "5001"), "{refused:?}");

    // Settled: the patient may book again; settling again the same way is done, otherwise
    // refused; no step after settling.
    assert!(matches!(journal.settle(first, "b", &booked("5001")).await, Err(JournalError::NotOwner { .. })));
    journal.settle(first, "a", &booked("5001")).await.unwrap();
    journal.settle(first, "a", &booked("5001")).await.unwrap();
    assert!(matches!(journal.settle(first, "a", &not_booked()).await, Err(JournalError::NotOwner { .. })));
    assert!(matches!(journal.record(first, "a", &hold, at(4)).await, Err(JournalError::NotOwner { .. })));
    assert_eq!(journal.entry(first).await.unwrap().outcome, Some(booked("5001")));
    let again = journal.begin(new("1", Some("1234"), None, "b")).await.unwrap();
    journal.settle(again, "b", &not_booked()).await.unwrap();

    // Keys: unsettled refuses, booked refuses with the appointment, not booked books again.
    let keyed = journal.begin(new("1", Some("1111"), Some("referral-9"), "a")).await.unwrap();
    let refused = journal.begin(new("1", Some("2222"), Some("referral-9"), "a")).await.unwrap_err();
    assert!(matches!(refused, JournalError::Unsettled { entry, .. } if entry == keyed), "{refused:?}");
    journal.settle(keyed, "a", &not_booked()).await.unwrap();
    let keyed = journal.begin(new("1", Some("1111"), Some("referral-9"), "a")).await.unwrap();
    journal.settle(keyed, "a", &booked("5002")).await.unwrap();
    let refused = journal.begin(new("1", Some("1111"), Some("referral-9"), "a")).await.unwrap_err();
    assert!(
        matches!(refused, JournalError::AlreadyBooked { entry, ref appointment_id, .. } if entry == keyed && appointment_id == "5002"),
        "{refused:?}"
    );
    journal.begin(new("2", Some("1111"), Some("referral-9"), "a")).await.unwrap();

    // Claims. An earlier run's entry of mine at once; this run's hold that nothing acted on
    // yet (the app still holds it) not before its lease ends, but this run's confirmation (it
    // may land) at once; another owner's only once its lease ended; never a settled one.
    let entry = |patient: &str, owner: &str, run: &str, lease: i64| {
        NewEntry::new("3", request(Some(patient)), None, (owner, run), at(0), at(lease))
    };
    let theirs = journal.begin(entry("1", "other", "o-1", 10)).await.unwrap();
    let earlier = journal.begin(entry("2", "me", "run-1", 10)).await.unwrap();
    let held = journal.begin(entry("3", "me", "run-2", 10)).await.unwrap();
    journal.record(held, "me", &hold, at(8)).await.unwrap();
    let confirming = journal.begin(entry("4", "me", "run-2", 10)).await.unwrap();
    let sent = Step::Confirming { appointment_id: "5009".into(), reserved_until: Some(at(15)) };
    journal.record(confirming, "me", &sent, at(10)).await.unwrap();
    let settled = journal.begin(entry("5", "other", "o-1", 1)).await.unwrap();
    journal.settle(settled, "other", &not_booked()).await.unwrap();
    assert_eq!(claim(journal, "3", ("me", "run-2"), 5, 20).await, [earlier, confirming]);
    let claimed = journal.entry(earlier).await.unwrap();
    assert_eq!((claimed.owner.as_str(), claimed.lease_until), ("me", at(20)));
    // Claimed entries stay claimable by the same run (a later `recover()`); the rest at 10.
    assert_eq!(claim(journal, "3", ("me", "run-2"), 10, 20).await, [theirs, earlier, held, confirming], "oldest first");
    // The earlier owner may no longer act on it.
    assert!(matches!(journal.settle(theirs, "other", &not_booked()).await, Err(JournalError::NotOwner { .. })));
    assert!(claim(journal, "3", ("someone", "s-1"), 15, 30).await.is_empty(), "me holds them until 20");

    for missing in [EntryId(999_999), EntryId(0), EntryId(i64::MIN), EntryId(-1)] {
        assert!(matches!(journal.entry(missing).await, Err(JournalError::NotFound { .. })), "{missing:?}");
    }
    assert!(matches!(journal.settle(EntryId(999_999), "a", &not_booked()).await, Err(JournalError::NotFound { .. })));
}

#[tokio::test]
async fn the_memory_journal_keeps_the_contract() {
    contract(&MemoryJournal::new()).await;
}

#[tokio::test]
async fn the_sqlite_journal_keeps_the_contract_and_survives_reopening() {
    let dir = std::env::temp_dir().join(format!("hero-health-journal-{}-contract", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal.sqlite3");
    let _ = std::fs::remove_file(&path);
    contract(&SqliteJournal::open(&path).await.unwrap()).await;
    // Reopened (a restart): what was written is there, and the rules still hold.
    let reopened = SqliteJournal::open(&path).await.unwrap();
    assert_eq!(reopened.entry(EntryId(1)).await.unwrap().outcome, Some(booked("5001")));
    assert!(matches!(reopened.begin(new("1", Some("5678"), None, "z")).await, Err(JournalError::Unsettled { .. })));
    contract(&SqliteJournal::in_memory().unwrap()).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_postgres_journal_keeps_the_contract() {
    let Some(database) = postgres_database("contract").await else { return };
    contract(&PostgresJournal::connect(&database).await.unwrap()).await;
    // Two connections (replicas) see one journal; a second connect finds the table made.
    let other = PostgresJournal::connect(&database).await.unwrap();
    assert!(matches!(other.begin(new("1", Some("5678"), None, "z")).await, Err(JournalError::Unsettled { .. })));
}

#[tokio::test]
async fn journal_errors_and_entries_print_no_patient_data() {
    let journal = MemoryJournal::new();
    let id = journal.begin(new("1", Some("9434765919"), Some("referral-secret-77"), "a")).await.unwrap();
    let entry = journal.entry(id).await.unwrap();
    let shown = format!("{entry:?} {:?} {:?}", new("1", Some("9434765919"), Some("referral-secret-77"), "a"), journal);
    for secret in ["9434765919", "referral-secret-77", "free text"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

async fn slot_pair(hero: &MockHero) -> (Slot, Slot) {
    let mut slots = free_slots(hero).await.into_iter();
    (slots.next().unwrap(), slots.next().unwrap())
}

/// A client of the mock that never retries and gives up after 300 ms: each fault a test
/// injects is met exactly once.
fn impatient(hero: &MockHero) -> Client {
    hero.client_builder().with_timeout(Duration::from_millis(300)).with_retry_policy(RetryPolicy::none()).build().unwrap()
}

fn patient() -> Id {
    "1234".parse().unwrap()
}

/// Confirmed, not cancelled appointments of `patient` at the mock.
async fn bookings_of(hero: &MockHero, ids: &[String], patient: &str) -> usize {
    let booking = hero.client().booking();
    let mut n = 0;
    for id in ids {
        if let Ok(a) = booking.appointment(id).await
            && a.booking_confirmed_at.is_some()
            && a.cancelled_at.is_none()
            && a.patient_id.as_ref().map(Id::as_str) == Some(patient)
        {
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn a_naive_retry_after_an_unknown_outcome_is_refused_until_recovered() {
    let hero = MockHero::start().await.unwrap();
    let journal = Arc::new(MemoryJournal::new());
    let booking = impatient(&hero).booking().with_journal(journal.clone());
    let (first, second) = slot_pair(&hero).await;
    // The confirmation commits, then its answer is lost; so is the read-back.
    hero.inject(Fault::on("bookAppointment", FaultKind::CommitThenTimeout(Duration::from_secs(5)))).unwrap();
    hero.inject(Fault::on("getAppointment", FaultKind::ServerError(503))).unwrap();

    let unknown = booking.book(&first, Some(&patient())).await.unwrap_err();
    assert!(matches!(unknown, BookingError::OutcomeUnknown { .. }), "{unknown:?}");

    // The user's retry with another slot: without the journal this books the patient twice.
    hero.clear_requests();
    let refused = booking.book(&second, Some(&patient())).await.unwrap_err();
    let BookingError::Journal(JournalError::Unsettled { entry, appointment_id: Some(held), .. }) = &refused else { panic!("{refused:?}") };
    assert!(operations(&hero).is_empty(), "nothing was sent: {:?}", operations(&hero));
    assert!(refused.to_string().contains("recover"), "{refused}");

    // Recovery reads it back: booked. The patient may book again afterwards.
    let recovered = booking.recover().await.unwrap();
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].entry, *entry);
    assert!(matches!(&recovered[0].outcome, RecoveredOutcome::Booked(a) if a.id.as_str() == held), "{recovered:?}");
    assert_eq!(journal.entry(*entry).await.unwrap().outcome, Some(Outcome::Booked { appointment_id: held.clone() }));
    assert_eq!(bookings_of(&hero, std::slice::from_ref(held), "1234").await, 1);
    booking.book(&second, Some(&patient())).await.unwrap();
}

#[tokio::test]
async fn a_booking_key_books_once_whoever_calls_again() {
    let hero = MockHero::start().await.unwrap();
    let journal: Arc<dyn BookingJournal> = Arc::new(MemoryJournal::new());
    let (first, second) = slot_pair(&hero).await;
    let one = impatient(&hero).booking().with_journal(journal.clone());
    let other = hero.client().booking().with_journal(journal.clone()).with_journal_owner("replica-b");

    let appointment = one.book_with_key("referral-1", &first, Some(&patient())).await.unwrap();
    let again = other.book_with_key("referral-1", &second, Some(&patient())).await.unwrap_err();
    assert!(
        matches!(&again, BookingError::Journal(JournalError::AlreadyBooked { appointment_id, .. }) if *appointment_id == appointment.id.as_str()),
        "{again:?}"
    );
    // A refused booking settles as not booked: the key may try again.
    hero.inject(Fault::on("createAppointment", FaultKind::RateLimited { retry_after_secs: 1 })).unwrap();
    assert!(matches!(one.book_with_key("referral-2", &second, None).await, Err(BookingError::RateLimited { .. })));
    one.book_with_key("referral-2", &second, None).await.unwrap();
    // Without a journal a key means nothing: refused, nothing sent.
    hero.clear_requests();
    let no_journal = hero.client().booking().book_with_key("referral-3", &second, None).await.unwrap_err();
    assert!(matches!(no_journal, BookingError::InvalidInput { .. }), "{no_journal:?}");
    assert!(hero.requests().is_empty());
}

#[tokio::test]
async fn a_reservation_resumes_from_its_record_in_another_client() {
    let hero = MockHero::start().await.unwrap();
    let journal: Arc<dyn BookingJournal> = Arc::new(SqliteJournal::in_memory().unwrap());
    let (slot, _) = slot_pair(&hero).await;
    // The process's name in the journal stays across its restarts.
    let reservation =
        hero.client().booking().with_journal(journal.clone()).with_journal_owner("svc").reserve(&slot, Some(&patient())).await.unwrap();
    let saved = serde_json::to_string(&reservation.record()).unwrap();
    assert!(!format!("{:?} {:?}", reservation.record(), reservation).contains("1234"), "Debug shows no patient");
    drop(reservation);

    // "Another process": a new client, the same journal, the record read back.
    let record: ReservationRecord = serde_json::from_str(&saved).unwrap();
    let resumed = hero.client().booking().with_journal(journal.clone()).with_journal_owner("svc").resume(record);
    let appointment = resumed.confirm().await.unwrap();
    assert_eq!(appointment.id.as_str(), resumed.id());
    let entry = journal.entry(resumed.journal_entry().unwrap()).await.unwrap();
    assert_eq!(entry.outcome, Some(Outcome::Booked { appointment_id: resumed.id().to_owned() }));
}

#[tokio::test]
async fn a_resumed_reservation_keeps_what_it_knew() {
    let hero = MockHero::builder().with_start("2026-03-24T08:00:00Z".parse().unwrap()).start().await.unwrap();
    let booking = impatient(&hero).booking();
    let (slot, _) = slot_pair(&hero).await;
    let reservation = booking.reserve(&slot, None).await.unwrap();
    // A confirmation that got a 502 (it may have landed), whose read-back fails too.
    hero.inject(Fault::on("bookAppointment", FaultKind::ServerError(502))).unwrap();
    hero.inject(Fault::on("getAppointment", FaultKind::ServerError(503))).unwrap();
    assert!(matches!(reservation.confirm().await, Err(BookingError::OutcomeUnknown { .. })));
    let record = reservation.record();
    assert!(record.confirmation_may_land);

    // Resumed elsewhere, it still refuses to release a hold a confirmation may book.
    let resumed = hero.client().booking().resume(serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap());
    let refused = resumed.clone().release().await.unwrap_err();
    assert!(matches!(refused, BookingError::NotAllowed { why: hero_health::booking::NotAllowed::ConfirmationMayLand, .. }), "{refused:?}");
    // And confirming it again settles it: booked once.
    assert!(resumed.confirm().await.unwrap().booking_confirmed_at.is_some());
    // A record of a release under way refuses to confirm.
    let mut releasing = resumed.record();
    releasing.releasing = true;
    assert!(matches!(hero.client().booking().resume(releasing).confirm().await, Err(BookingError::NotAllowed { .. })));
}

/// What an earlier run of the owner "svc" left: an entry at `step` for a hold it made at Hero
/// (through a client without a journal, as that process did before it died).
async fn left_by_an_earlier_run(
    hero: &MockHero,
    journal: &dyn BookingJournal,
    slot: &Slot,
    patient: &str,
    step: &str,
) -> (EntryId, String) {
    let request = request(Some(patient));
    let id = journal.begin(NewEntry::new("1", request, None, ("svc", "earlier-run"), hero.now(), hero.now())).await.unwrap();
    let hold = hero.client().booking().reserve(slot, Some(&patient.parse().unwrap())).await.unwrap();
    let (appointment_id, reserved_until) = (hold.id().to_owned(), hold.reserved_until());
    let step = match step {
        "reserved" => Step::Reserved { appointment_id: appointment_id.clone(), reserved_until },
        "confirming" => Step::Confirming { appointment_id: appointment_id.clone(), reserved_until },
        _ => Step::Releasing { appointment_id: appointment_id.clone(), reserved_until },
    };
    journal.record(id, "svc", &step, hero.now()).await.unwrap();
    (id, appointment_id)
}

#[tokio::test]
async fn recovery_settles_each_step_a_crash_can_leave() {
    let hero = MockHero::start().await.unwrap();
    let journal = Arc::new(MemoryJournal::new());
    let slots = free_slots(&hero).await;
    let booking = hero.client().booking().with_journal(journal.clone()).with_journal_owner("svc");

    // 1. The reserve was sent, its answer never recorded.
    let intended =
        journal.begin(NewEntry::new("1", request(Some("1")), None, ("svc", "earlier-run"), hero.now(), hero.now())).await.unwrap();
    // 2. A hold nobody asked to confirm: released, never confirmed.
    let (held, held_id) = left_by_an_earlier_run(&hero, &*journal, &slots[0], "2", "reserved").await;
    // 3. A confirmation sent, the process gone before it was sent or answered: confirmed.
    let (sent, sent_id) = left_by_an_earlier_run(&hero, &*journal, &slots[1], "3", "confirming").await;
    // 4. A confirmation that landed, its answer lost with the process: booked.
    let (landed, landed_id) = left_by_an_earlier_run(&hero, &*journal, &slots[2], "4", "confirming").await;
    hero.client().book_appointment().id(landed_id.as_str()).send().await.unwrap();
    // 5. A release under way: finished, never confirmed.
    let (releasing, releasing_id) = left_by_an_earlier_run(&hero, &*journal, &slots[3], "5", "releasing").await;
    // 6. Another live owner's entry, and this run's own hold the app still holds: left alone.
    let theirs = journal
        .begin(NewEntry::new("1", request(Some("6")), None, ("other", "o-1"), hero.now(), hero.now() + chrono::Duration::hours(1)))
        .await
        .unwrap();
    let mine = booking.reserve(&slots[4], Some(&"7".parse().unwrap())).await.unwrap();

    let recovered = booking.recover().await.unwrap();

    let by_entry = |id: EntryId| recovered.iter().find(|r| r.entry == id).map(|r| &r.outcome);
    assert!(matches!(by_entry(intended), Some(RecoveredOutcome::NotBooked { .. })), "{recovered:?}");
    assert!(matches!(by_entry(held), Some(RecoveredOutcome::NotBooked { .. })), "{recovered:?}");
    assert!(matches!(by_entry(sent), Some(RecoveredOutcome::Booked(a)) if a.id.as_str() == sent_id), "{recovered:?}");
    assert!(matches!(by_entry(landed), Some(RecoveredOutcome::Booked(a)) if a.id.as_str() == landed_id), "{recovered:?}");
    assert!(matches!(by_entry(releasing), Some(RecoveredOutcome::NotBooked { .. })), "{recovered:?}");
    assert_eq!(recovered.len(), 5, "another owner's live entry and this run's live hold are not claimed: {recovered:?}");
    let read = |id: String| {
        let booking = hero.client().booking();
        async move { booking.appointment(&id).await }
    };
    for id in [held_id, releasing_id] {
        let released = read(id).await.unwrap();
        assert!(released.cancelled_at.is_some() && released.booking_confirmed_at.is_none(), "released, never confirmed");
    }
    let once =
        bookings_of(&hero, std::slice::from_ref(&sent_id), "3").await + bookings_of(&hero, std::slice::from_ref(&landed_id), "4").await;
    assert_eq!(once, 2, "each confirmed once");
    // This run's own hold is still the app's to confirm.
    assert!(mine.confirm().await.unwrap().booking_confirmed_at.is_some());
    // Once its lease ends, another owner's entry is claimed too.
    hero.advance(Duration::from_secs(2 * 3600));
    let later = booking.recover().await.unwrap();
    assert_eq!(later.iter().map(|r| r.entry).collect::<Vec<_>>(), [theirs]);
    assert!(journal.entries().iter().all(|e| e.outcome.is_some()), "every entry settled");
}

#[tokio::test]
async fn recovery_reports_a_lapsed_hold_as_not_booked_and_an_unreachable_hero_as_unsettled() {
    let hero = MockHero::start().await.unwrap();
    let journal = Arc::new(MemoryJournal::new());
    let slots = free_slots(&hero).await;
    let booking = impatient(&hero).booking().with_journal(journal.clone()).with_journal_owner("svc");
    let lapsed = booking.reserve(&slots[0], Some(&"4".parse().unwrap())).await.unwrap();
    let unreachable = booking.reserve(&slots[1], Some(&"5".parse().unwrap())).await.unwrap();
    drop(unreachable);
    hero.advance(hero_health::mock::DEFAULT_HOLD_PERIOD + Duration::from_secs(60));
    // The second read-back fails: that entry stays unsettled, and is settled by a later call.
    hero.inject(Fault::on("getAppointment", FaultKind::ServerError(503))).unwrap();
    let recovered = booking.recover().await.unwrap();
    assert!(matches!(recovered[0].outcome, RecoveredOutcome::Unsettled { .. }), "{recovered:?}");
    assert_eq!(recovered[0].entry, lapsed.journal_entry().unwrap());
    assert!(matches!(recovered[1].outcome, RecoveredOutcome::NotBooked { .. }), "{recovered:?}");
    let again = booking.recover().await.unwrap();
    assert_eq!(again.len(), 1);
    assert!(matches!(again[0].outcome, RecoveredOutcome::NotBooked { .. }), "{again:?}");
}

#[tokio::test]
async fn owner_settings_hold_in_any_order_and_a_process_has_one_default_owner() {
    let hero = MockHero::start().await.unwrap();
    let journal: Arc<dyn BookingJournal> = Arc::new(MemoryJournal::new());
    let slots = free_slots(&hero).await;
    // The owner named before the journal is given.
    let named = hero.client().booking().with_journal_owner("svc-a").with_journal(journal.clone());
    let reservation = named.reserve(&slots[0], Some(&patient())).await.unwrap();
    assert_eq!(journal.entry(reservation.journal_entry().unwrap()).await.unwrap().owner, "svc-a");
    reservation.confirm().await.unwrap();

    // Two handles of one process without a name: one owner, so a reservation made through one
    // is confirmed through the other.
    let one = hero.client().booking().with_journal(journal.clone());
    let other = hero.client().booking().with_journal(journal.clone());
    let held = one.reserve(&slots[1], Some(&"2".parse().unwrap())).await.unwrap();
    let resumed = other.resume(held.record());
    assert!(resumed.confirm().await.unwrap().booking_confirmed_at.is_some());
    let owner = journal.entry(held.journal_entry().unwrap()).await.unwrap().owner;
    assert!(owner.starts_with("process-") && owner != "svc-a", "{owner}");
}

/// A confirmation that may still land is never answered "expired" by the client's clock alone
/// (that would unblock the patient while the first confirmation commits).
#[tokio::test]
async fn a_hold_about_to_lapse_with_a_confirmation_that_may_land_is_read_not_guessed() {
    let hero = MockHero::builder().with_hold_period(Duration::from_secs(60)).start().await.unwrap();
    let journal = Arc::new(MemoryJournal::new());
    let booking = impatient(&hero).booking().with_journal(journal.clone());
    let slot = free_slots(&hero).await.remove(0);
    let reservation = booking.reserve(&slot, Some(&patient())).await.unwrap();
    // A 502 that did nothing, and a read-back that fails: it may land.
    hero.inject(Fault::on("bookAppointment", FaultKind::ServerError(502))).unwrap();
    hero.inject(Fault::on("getAppointment", FaultKind::ServerError(503))).unwrap();
    assert!(matches!(reservation.confirm().await, Err(BookingError::OutcomeUnknown { .. })));
    // Two seconds before the hold ends: inside the skew margin.
    hero.advance_to(reservation.reserved_until().unwrap() - chrono::Duration::seconds(2)).unwrap();
    hero.clear_requests();

    let again = reservation.confirm().await.unwrap_err();

    assert!(matches!(again, BookingError::OutcomeUnknown { .. }), "not a guessed expiry: {again:?}");
    assert_eq!(operations(&hero), ["getAppointment"], "read, nothing sent");
    let entry = journal.entry(reservation.journal_entry().unwrap()).await.unwrap();
    assert_eq!(entry.outcome, None, "the patient stays blocked while it may land");
    // Past the end and the margin it cannot land: expired, and settled as not booked.
    hero.advance(Duration::from_secs(10));
    assert!(matches!(reservation.confirm().await, Err(BookingError::ReservationExpired { .. })));
    let entry = journal.entry(reservation.journal_entry().unwrap()).await.unwrap();
    assert!(matches!(entry.outcome, Some(Outcome::NotBooked { .. })), "{entry:?}");
}

#[tokio::test]
async fn a_record_from_another_journal_is_refused_before_anything_is_sent() {
    let hero = MockHero::start().await.unwrap();
    let slots = free_slots(&hero).await;
    let old: Arc<dyn BookingJournal> = Arc::new(MemoryJournal::new());
    let record = hero.client().booking().with_journal(old).reserve(&slots[0], Some(&patient())).await.unwrap().record();
    // The journal was recreated: its entry 1 is another patient's hold now.
    let new: Arc<dyn BookingJournal> = Arc::new(MemoryJournal::new());
    let booking = hero.client().booking().with_journal(new.clone());
    booking.reserve(&slots[1], Some(&"77".parse().unwrap())).await.unwrap();
    hero.clear_requests();

    let refused = booking.resume(record).confirm().await.unwrap_err();

    assert!(matches!(refused, BookingError::Journal(JournalError::NotThisReservation { .. })), "{refused:?}");
    assert!(operations(&hero).is_empty(), "nothing sent: {:?}", operations(&hero));
    assert_eq!(new.entry(EntryId(1)).await.unwrap().step.name(), "reserved", "the other patient's entry is untouched");
}

#[tokio::test]
async fn a_corrupt_entry_is_reported_by_itself_and_leaks_nothing() {
    let dir = std::env::temp_dir().join(format!("hero-health-journal-{}-corrupt", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal.sqlite3");
    let _ = std::fs::remove_file(&path);
    let hero = MockHero::start().await.unwrap();
    let journal = Arc::new(SqliteJournal::open(&path).await.unwrap());
    let slot = free_slots(&hero).await.remove(0);
    let broken =
        journal.begin(NewEntry::new("1", request(Some("9434765919")), None, ("svc", "earlier-run"), hero.now(), hero.now())).await.unwrap();
    let fine = journal.begin(NewEntry::new("1", request(Some("5")), None, ("svc", "earlier-run"), hero.now(), hero.now())).await.unwrap();
    // Edited by hand (or written by another version): the request holds a number where text was.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE hero_health_booking_journal SET request = '{\"patient_id\": 9434765919, \"reason\": [1]}' WHERE id = ?1",
        [broken.0],
    )
    .unwrap();
    drop(raw);
    let _ = slot;

    let recovered = hero.client().booking().with_journal(journal).with_journal_owner("svc").recover().await.unwrap();

    assert_eq!(recovered.len(), 2, "{recovered:?}");
    let RecoveredOutcome::Unsettled { reason } = &recovered[0].outcome else { panic!("{recovered:?}") };
    assert_eq!(recovered[0].entry, broken);
    assert!(reason.contains("does not decode") && !reason.contains("9434765919"), "{reason}");
    assert!(matches!(recovered[1].outcome, RecoveredOutcome::NotBooked { .. }) && recovered[1].entry == fine, "{recovered:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_hold_the_journal_could_not_record_is_given_back_and_never_confirmed() {
    let hero = MockHero::start().await.unwrap();
    let slot = free_slots(&hero).await.remove(0);
    // The store fails to record the hold once Hero made it.
    let loses_the_hold = crate::support::Intercept {
        inner: Arc::new(MemoryJournal::new()),
        before: |step| match step {
            Step::Reserved { .. } => Err(JournalError::store("test", "the disk is full", None)),
            _ => Ok(()),
        },
        after: |_| {},
    };
    let booking = hero.client().booking().with_journal(Arc::new(loses_the_hold));
    hero.clear_requests();

    let error = booking.book(&slot, Some(&patient())).await.unwrap_err();

    assert!(matches!(error, BookingError::Journal(JournalError::Store { .. })), "{error:?}");
    assert_eq!(operations(&hero), ["createAppointment", "cancelAppointment"], "reserved, released, never confirmed");
    assert!(hero.free_slots().contains(&slot), "the slot is free for other patients at once");
}
