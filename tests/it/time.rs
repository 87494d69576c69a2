//! Time under control: the mock's clock is a test clock that its clients share, its diary keeps
//! UK surgery hours from the instant a test picks, and every time-dependent decision of the SDK
//! (hold expiry, the cancellation window, Elements tokens, `Retry-After` dates, webhook
//! timestamps) reads the client's clock (Elements tokens: `elements.rs`). Each test picks the
//! instants it needs.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hero_health::booking::{BookingError, Cancellation, NotAllowed};
use hero_health::clock::{ClockError, TestClock};
use hero_health::mock::MockHero;
use hero_health::types::Slot;
use hero_health::webhooks::{Verifier, WebhookError, sign};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{free_slots, mock_at, operations};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 instant")
}

fn starts(slots: &[Slot]) -> Vec<DateTime<Utc>> {
    let mut starts: Vec<_> = slots.iter().filter_map(|s| s.start_time).collect();
    starts.sort();
    starts.dedup();
    starts
}

/// Whether the earliest of `starts` on `at`'s UTC day is in the quarter hour from `at` (a few
/// slots are already gone when the mock starts, so the very first may be missing).
fn opens_at(starts: &[DateTime<Utc>], at: DateTime<Utc>) -> bool {
    starts
        .iter()
        .find(|s| s.date_naive() == at.date_naive())
        .is_some_and(|first| *first >= at && *first < at + chrono::Duration::minutes(15))
}

/// The client's check and the mock's agree: with the mock moved to two hours before the
/// appointment, the mock's own client refuses to cancel without sending anything. (Before the
/// clock was shared, the client read the machine's clock, sent the cancel, and got the mock's
/// 400; at the wrong hour of the day, the reverse.)
#[tokio::test]
async fn the_client_and_the_mock_agree_on_the_cancellation_window() {
    let hero = MockHero::start().await.unwrap();
    let slots = free_slots(&hero).await;
    let booking = hero.client().booking();
    // More than 24 h away by both clocks: sent and done.
    let early = booking.book(&slots[1], None).await.unwrap();
    booking.cancel(&early, &Cancellation::new()).await.expect("outside the window by both clocks");

    let appointment = booking.book(&slots[0], None).await.unwrap();
    hero.advance_to(slots[0].start_time.unwrap() - chrono::Duration::hours(2)).unwrap();
    hero.clear_requests();

    let error = booking.cancel(&appointment, &Cancellation::new()).await.unwrap_err();

    assert!(
        matches!(&error, BookingError::NotAllowed { action: "cancel", why: NotAllowed::InsidePolicyWindow { hours: 24, .. }, .. }),
        "{error:?}"
    );
    assert!(hero.requests().is_empty(), "refused by the client, nothing sent: {:?}", operations(&hero));
}

/// A hold about to lapse by the mock's clock is about to lapse for its client too: no doomed
/// confirmation is sent.
#[tokio::test]
async fn a_hold_lapses_for_the_client_and_the_mock_together() {
    let hero = mock_at("2026-10-23T06:00:00Z").await; // a Friday before the clocks go back
    let slot = free_slots(&hero).await.remove(0);
    let reservation = hero.client().booking().reserve(&slot, None).await.unwrap();
    let hold = hero_health::mock::DEFAULT_HOLD_PERIOD;
    assert!(reservation.time_left().unwrap() > hold - Duration::from_secs(10), "the whole hold left, by the shared clock");
    hero.advance(hold - Duration::from_secs(2));
    hero.clear_requests();

    let error = reservation.confirm().await.unwrap_err();

    assert!(matches!(error, BookingError::ReservationExpired { .. }), "{error:?}");
    assert!(hero.requests().is_empty(), "inside the skew margin by the shared clock: {:?}", operations(&hero));
    assert!(reservation.time_left().unwrap() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_mocks_clock_starts_where_the_test_says_and_never_goes_back() {
    let start = at("2030-01-07T09:15:00Z");
    let hero = MockHero::builder().with_start(start).start().await.unwrap();
    assert!(hero.now() - start < chrono::Duration::seconds(5));
    assert!(hero.client().clock().now() - start < chrono::Duration::seconds(5), "its client reads the same clock");

    hero.advance(Duration::from_secs(3600));
    assert!(hero.client().clock().now() - start >= chrono::Duration::hours(1));
    let error = hero.advance_to(start).unwrap_err();
    assert!(matches!(error, ClockError::Backwards { requested, .. } if requested == start), "{error:?}");

    // A clock the test holds drives the mock, and can be shared by two mocks (two practices).
    let clock = TestClock::starting_at(start);
    let first = MockHero::builder().with_clock(clock.clone()).start().await.unwrap();
    let second = MockHero::builder().with_clock(clock.clone()).with_seed(2).start().await.unwrap();
    clock.advance(Duration::from_secs(48 * 3600));
    assert!(first.now() - start >= chrono::Duration::hours(48) && second.now() - start >= chrono::Duration::hours(48));

    // With both, the start moves the given clock forward; it never silently replaces it.
    let later = at("2030-02-01T08:00:00Z");
    let third = MockHero::builder().with_clock(clock.clone()).with_start(later).start().await.unwrap();
    assert!(clock.now() >= later && third.now() >= later, "the test's own clock moved to the start");
    let error = MockHero::builder().with_clock(clock.clone()).with_start(start).start().await.unwrap_err();
    assert!(matches!(error, hero_health::mock::MockError::Clock(ClockError::Backwards { .. })), "{error:?}");
}

/// A start at either end of what chrono can represent lays out what it can, without a panic
/// (London's local time is not representable in the first minute after the earliest instant).
#[tokio::test]
async fn a_start_at_the_ends_of_time_is_not_a_panic() {
    for start in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC + chrono::Duration::seconds(30), DateTime::<Utc>::MAX_UTC] {
        let hero = MockHero::builder().with_start(start).start().await.unwrap();
        let _ = hero.free_slots();
        hero.advance(Duration::MAX);
        assert!(hero.free_slots().is_empty(), "nothing is left at the end of time");
    }
}

/// The diary keeps UK surgery hours in local time: 08:30 to 11:30 and 15:00 to 18:00 on weekdays.
/// In winter that is the same in UTC; in summer an hour earlier.
#[tokio::test]
async fn the_diary_keeps_uk_surgery_hours_in_winter_and_in_summer() {
    let winter = mock_at("2027-01-12T06:00:00Z").await; // a Tuesday, GMT
    let all = starts(&winter.free_slots());
    assert!(opens_at(&all, at("2027-01-12T08:30:00Z")), "{all:?}");
    let in_clinic = |s: &DateTime<Utc>| {
        let (morning, afternoon) =
            ((at("2027-01-12T08:30:00Z"), at("2027-01-12T11:30:00Z")), (at("2027-01-12T15:00:00Z"), at("2027-01-12T18:00:00Z")));
        let day = chrono::Duration::days((s.date_naive() - morning.0.date_naive()).num_days());
        (*s >= morning.0 + day && *s < morning.1 + day) || (*s >= afternoon.0 + day && *s < afternoon.1 + day)
    };
    assert!(all.iter().all(in_clinic), "{all:?}");
    assert!(all.iter().any(|s| *s >= at("2027-01-12T15:00:00Z") && *s < at("2027-01-12T18:00:00Z")), "an afternoon clinic too");

    let summer = mock_at("2027-07-13T05:00:00Z").await; // a Tuesday, BST
    assert!(opens_at(&starts(&summer.free_slots()), at("2027-07-13T07:30:00Z")), "08:30 BST");
}

/// Weekends are closed by default, and the diary crosses both clock changes of 2026 in local
/// time: the Monday after the spring change opens at 07:30 UTC, after the autumn one at 08:30.
#[tokio::test]
async fn the_diary_skips_weekends_and_follows_the_clock_changes() {
    // Friday 27 March 2026, GMT; BST starts on Sunday 29 March.
    let spring = mock_at("2026-03-27T19:00:00Z").await;
    let days: Vec<_> = starts(&spring.free_slots()).iter().map(|s| s.date_naive()).collect();
    assert!(days.iter().all(|d| !matches!(chrono::Datelike::weekday(d), chrono::Weekday::Sat | chrono::Weekday::Sun)), "{days:?}");
    let first = starts(&spring.free_slots())[0];
    assert!(first.date_naive() == at("2026-03-30T00:00:00Z").date_naive(), "nothing left on Friday evening: {first}");
    assert!(opens_at(&starts(&spring.free_slots()), at("2026-03-30T07:30:00Z")), "Monday 08:30 BST");

    // With weekend clinics, Sunday 25 October 2026 (the clocks go back at 02:00 BST) opens at
    // 08:30 GMT; Saturday the 24th, still BST, at 07:30 UTC.
    let autumn = MockHero::builder().with_start(at("2026-10-24T05:00:00Z")).with_weekends().start().await.unwrap();
    let starts = starts(&autumn.free_slots());
    assert!(opens_at(&starts, at("2026-10-24T07:30:00Z")), "Saturday 08:30 BST");
    assert!(opens_at(&starts, at("2026-10-25T08:30:00Z")), "Sunday 08:30 GMT");
    assert!(opens_at(&starts, at("2026-10-26T08:30:00Z")), "Monday 08:30 GMT");
}

/// The diary offers what tests need, picked by property: a slot inside the practice's 24 h
/// window and one well outside it; nothing that has already started.
#[tokio::test]
async fn slots_are_offered_inside_and_outside_the_window_and_never_in_the_past() {
    let hero = mock_at("2026-06-09T11:00:00Z").await; // a Tuesday at noon BST
    let now = hero.now();
    assert!(hero.free_slots().iter().all(|s| s.start_time.unwrap() > now), "nothing in the past is offered");
    let soon = hero.free_slot_starting_in(Duration::from_secs(3600)..Duration::from_secs(23 * 3600)).expect("this afternoon's clinic");
    assert!(soon.start_time.unwrap() - now < chrono::Duration::hours(5), "{:?}", soon.start_time);
    let far = hero.free_slot_starting_in(Duration::from_secs(30 * 3600)..).expect("a slot on Thursday");
    assert!(far.start_time.unwrap() - now >= chrono::Duration::hours(30));

    // Once a slot has started it is gone from the list, and cannot be reserved.
    hero.advance_to(soon.start_time.unwrap()).unwrap();
    assert!(!hero.free_slots().contains(&soon));
    let error = hero.client().booking().reserve(&soon, None).await.unwrap_err();
    assert!(matches!(error, BookingError::SlotUnavailable), "{error:?}");
}

/// A late evening start has no slot left today; the diary begins the next morning.
#[tokio::test]
async fn a_late_evening_start_offers_the_next_mornings_slots() {
    let hero = mock_at("2026-12-01T22:45:00Z").await; // a Tuesday, 22:45 GMT
    let all = starts(&hero.free_slots());
    assert!(all[0].date_naive() == at("2026-12-02T00:00:00Z").date_naive() && opens_at(&all, at("2026-12-02T08:30:00Z")), "{all:?}");
    assert!(hero.free_slot_starting_in(..Duration::from_secs(9 * 3600)).is_none());
    assert!(hero.free_slot_starting_in(..Duration::from_secs(24 * 3600)).is_some(), "tomorrow morning is inside the window");
}

/// A `Retry-After` date is a wait by the client's clock: 30 s after the clock's now, in 2031.
#[tokio::test]
async fn a_retry_after_date_is_read_by_the_clients_clock() {
    let now = at("2031-02-03T10:00:00Z");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "Mon, 03 Feb 2031 10:00:30 GMT"))
        .mount(&server)
        .await;
    let client = crate::support::client_for(&server.uri())
        .with_clock(TestClock::starting_at(now))
        .with_retry_policy(hero_health::RetryPolicy::none())
        .build()
        .unwrap();

    let error = client.get_appointment().id("4567").send().await.unwrap_err();

    let hero_health::Error::RateLimited { retry_after: Some(wait), .. } = error else { panic!("{error:?}") };
    assert!(wait <= Duration::from_secs(30) && wait > Duration::from_secs(25), "{wait:?}");
}

/// A webhook verifier judges a delivery's timestamp by its clock (the mock signs by its own).
#[test]
fn a_webhook_verifier_reads_its_clock() {
    let clock = TestClock::starting_at(at("2031-02-03T10:00:00Z"));
    let body = br#"{"object":"Appointment","id":"5001","practice_group_id":"1","event":"appointment.confirmed"}"#;
    let headers = sign(body, "whsec-time", clock.now());

    let verifier = Verifier::new("whsec-time").unwrap().with_clock(clock.clone());
    verifier.verify(body, &headers).expect("signed now, by the same clock");
    clock.advance(Duration::from_secs(10 * 60));
    assert!(matches!(verifier.verify(body, &headers), Err(WebhookError::OutsideTolerance { .. })), "ten minutes later");
}
