//! A diary that moves under the partner: slots listed by Hero but already booked by staff in the
//! clinical system (Hero's list lags it by up to 15 minutes), a held slot booked by staff before
//! the confirmation, and `book_first` walking its candidates within a bound, never past an
//! ambiguous outcome. Patients booked into a placeholder record and relinked later.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use hero_health::booking::journal::{MemoryJournal, Outcome};
use hero_health::booking::{BookingError, Cancellation, FirstFree, RecoveredOutcome, SlotQuery};
use hero_health::mock::{Fault, FaultKind, MockHero, PLACEHOLDER_PATIENT_ID};
use hero_health::types::Slot;
use hero_health::{Id, RetryPolicy};

use crate::support::{free_slots, operations};

fn at_most(n: usize) -> FirstFree {
    FirstFree::new(NonZeroUsize::new(n).unwrap())
}

fn patient() -> Id {
    "4321".parse().unwrap()
}

/// Hero's slot list (through the client), not the mock's own view.
async fn listed(hero: &MockHero) -> Vec<Slot> {
    hero.client().booking().slots(&SlotQuery::new()).await.unwrap()
}

#[tokio::test]
async fn a_slot_booked_in_the_clinical_system_stays_listed_for_the_lag_and_cannot_be_reserved() {
    let hero = MockHero::builder().with_availability_lag(Duration::from_secs(10 * 60)).start().await.unwrap();
    let slot = free_slots(&hero).await.remove(0);
    hero.book_in_clinical_system(&slot).unwrap();

    assert!(listed(&hero).await.contains(&slot), "Hero does not know yet: still listed");
    assert!(!hero.free_slots().contains(&slot), "the mock's own view knows it is gone");
    let refused = hero.client().booking().reserve(&slot, Some(&patient())).await.unwrap_err();
    assert!(matches!(refused, BookingError::SlotUnavailable), "{refused:?}");

    hero.advance(Duration::from_secs(10 * 60));
    assert!(!listed(&hero).await.contains(&slot), "after the lag, on the mock's clock, it is gone from the list");
    assert!(matches!(hero.book_in_clinical_system(&Slot::default()), Err(hero_health::mock::MockError::UnknownSlot)));
}

#[tokio::test]
async fn a_held_slot_booked_by_staff_fails_its_confirmation_and_book_first_moves_on() {
    let hero = MockHero::start().await.unwrap();
    let candidates = free_slots(&hero).await;
    hero.book_in_clinical_system(&candidates[0]).unwrap();
    hero.book_in_clinical_system_once_held(&candidates[1]).unwrap();
    hero.clear_requests();

    let appointment = hero.client().booking().book_first(&candidates, Some(&patient()), &at_most(3)).await.unwrap();

    assert_eq!(appointment.start_time, candidates[2].start_time, "the third candidate was the first still free");
    assert_eq!(
        operations(&hero),
        ["createAppointment", "createAppointment", "bookAppointment", "createAppointment", "bookAppointment"],
        "refused at the reserve, refused at the confirmation, booked"
    );
}

#[tokio::test]
async fn book_first_stops_at_its_bound() {
    let hero = MockHero::start().await.unwrap();
    let candidates = free_slots(&hero).await;
    for slot in &candidates[..3] {
        hero.book_in_clinical_system(slot).unwrap();
    }
    hero.clear_requests();

    let error = hero.client().booking().book_first(&candidates, Some(&patient()), &at_most(2)).await.unwrap_err();

    assert!(matches!(error, BookingError::NoCandidateFree { tried: 2, .. }), "{error:?}");
    assert!(error.to_string().contains("list slots again"), "{error}");
    assert_eq!(operations(&hero), ["createAppointment", "createAppointment"], "two tried, no more");
    let none = hero.client().booking().book_first(&[], None, &FirstFree::default()).await.unwrap_err();
    assert!(matches!(none, BookingError::NoCandidateFree { tried: 0, offered: 0, .. }), "{none:?}");
}

#[tokio::test]
async fn book_first_never_moves_on_after_an_ambiguous_outcome() {
    let hero = MockHero::start().await.unwrap();
    let candidates = free_slots(&hero).await;
    let client = hero.client_builder().with_timeout(Duration::from_millis(300)).with_retry_policy(RetryPolicy::none()).build().unwrap();
    // The first confirmation commits and its answer is lost; reading back fails too.
    hero.inject(Fault::on("bookAppointment", FaultKind::CommitThenTimeout(Duration::from_secs(5)))).unwrap();
    hero.inject(Fault::on("getAppointment", FaultKind::ServerError(503))).unwrap();
    hero.clear_requests();

    let error = client.booking().book_first(&candidates, Some(&patient()), &at_most(3)).await.unwrap_err();

    assert!(matches!(error, BookingError::OutcomeUnknown { .. }), "{error:?}");
    assert_eq!(operations(&hero).iter().filter(|o| *o == "createAppointment").count(), 1, "no second slot reserved");
}

#[tokio::test]
async fn book_first_with_a_journal_settles_each_refused_attempt() {
    let hero = MockHero::start().await.unwrap();
    let candidates = free_slots(&hero).await;
    hero.book_in_clinical_system(&candidates[0]).unwrap();
    hero.book_in_clinical_system_once_held(&candidates[1]).unwrap();
    let journal = Arc::new(MemoryJournal::new());
    let booking = hero.client().booking().with_journal(journal.clone());

    let appointment = booking.book_first(&candidates, Some(&patient()), &at_most(3).with_key("referral-1")).await.unwrap();

    let outcomes: Vec<_> = journal.entries().into_iter().map(|e| e.outcome).collect();
    assert!(matches!(&outcomes[..], [Some(Outcome::NotBooked { .. }), Some(Outcome::NotBooked { .. }), Some(Outcome::Booked { .. })]));
    assert!(matches!(&outcomes[2], Some(Outcome::Booked { appointment_id }) if *appointment_id == appointment.id.as_str()));
    // The key booked: a retry of the whole thing books nothing more.
    let again = booking.book_first(&candidates[3..], Some(&patient()), &at_most(3).with_key("referral-1")).await.unwrap_err();
    assert!(matches!(again, BookingError::Journal(_)), "{again:?}");
}

#[tokio::test]
async fn a_placeholder_booking_is_settled_and_managed_by_its_appointment_when_the_patient_is_relinked() {
    let hero = MockHero::start().await.unwrap();
    let candidates = free_slots(&hero).await;
    let client = hero.client_builder().with_timeout(Duration::from_millis(300)).with_retry_policy(RetryPolicy::none()).build().unwrap();
    let journal = Arc::new(MemoryJournal::new());
    let booking = client.booking().with_journal(journal.clone()).with_journal_owner("svc");
    hero.unmatched_patient(&patient());
    // The confirmation's answer is lost: recovery must settle it by the appointment.
    hero.inject(Fault::on("bookAppointment", FaultKind::CommitThenTimeout(Duration::from_secs(5)))).unwrap();
    hero.inject(Fault::on("getAppointment", FaultKind::ServerError(503))).unwrap();
    assert!(matches!(booking.book(&candidates[0], Some(&patient())).await, Err(BookingError::OutcomeUnknown { .. })));

    // Hero booked it against the placeholder record.
    let held = journal.entries()[0].appointment_id().unwrap().to_owned();
    let read = booking.appointment(&held).await.unwrap();
    assert_eq!(read.patient_id, Some(Id::from(PLACEHOLDER_PATIENT_ID)), "booked into the placeholder");
    // Then relinked: the patient id changes under us, the settling does not care.
    hero.relink_placeholders();
    let recovered = booking.recover().await.unwrap();
    assert!(
        matches!(&recovered[0].outcome, RecoveredOutcome::Booked(a) if a.id.as_str() == held && a.patient_id == Some(patient())),
        "{recovered:?}"
    );
    // The lifecycle goes by the appointment too.
    let appointment = booking.appointment(&held).await.unwrap();
    let cancelled = booking.cancel(&appointment, &Cancellation::new().overriding_policy()).await.unwrap();
    assert!(cancelled.cancelled_at.is_some());
}
