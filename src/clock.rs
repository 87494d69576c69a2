//! Where the SDK reads the time: one [`Clock`] per client.
//!
//! Everything time-dependent asks the client's clock, never the machine's directly: a hold's
//! expiry and the confirm skew margin ([`crate::booking::Reservation`]), the practice's
//! cancellation window ([`crate::booking::Booking::cancel`]), Elements token refresh
//! ([`crate::elements::ElementsTokens`]), a `Retry-After` date, and a webhook's timestamp
//! tolerance ([`crate::webhooks::Verifier::with_clock`]). The default is [`SystemClock`].
//!
//! A test gives a client a [`TestClock`] to decide what time it is. The mock server
//! (`hero_health::mock`, feature `mock`) runs on one, and every client it makes shares it, so the
//! client's own checks and the server's agree when the test moves time:
//!
//! ```
//! use std::time::Duration;
//! use hero_health::clock::{Clock, TestClock};
//!
//! let start = "2026-03-27T08:00:00Z".parse().unwrap();
//! let clock = TestClock::starting_at(start);
//! let client = hero_health::Client::builder()
//!     .with_api_key("test-key")
//!     .with_practice_group_id("1")
//!     .with_clock(clock.clone())
//!     .build()
//!     .unwrap();
//! clock.advance(Duration::from_secs(3 * 3600));
//! assert!(client.clock().now() - start >= chrono::Duration::hours(3));
//! ```
//!
//! Timers are not clocks: retry backoffs, `Retry-After` waits and timeouts are real waits
//! (tokio's), so moving a test clock never makes a test sleep, and never cuts a wait short.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A source of the current time. Implement it to drive the SDK from your own test clock; it
/// must be cheap and must not block (it is read under the SDK's locks).
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

/// The machine's clock (`Utc::now()`): the default of every client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The clock a client reads, shared by its copies ([`crate::Client::for_practice_group`]…).
pub(crate) type SharedClock = Arc<dyn Clock>;

/// The default: the system clock.
pub(crate) fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock a test moves: it starts at the instant you choose and runs forward in step with real
/// time, and [`advance`](Self::advance) or [`advance_to`](Self::advance_to) move it on at once.
/// Clones share one reading: advancing one advances them all.
///
/// It runs rather than standing still because the world does: a webhook redelivery is signed
/// at a later time than the first attempt, and a receiver that recognises repeats by signature
/// would take a redelivery signed at a frozen instant for a replay.
///
/// It never goes backwards: what already happened (a hold that lapsed, an appointment
/// confirmed) cannot un-happen. Start a new clock (or mock) at the earlier instant instead.
#[derive(Clone)]
pub struct TestClock {
    reading: Arc<Mutex<Reading>>,
}

/// The clock showed `at` when the monotonic clock showed `since`.
#[derive(Debug, Clone, Copy)]
struct Reading {
    at: DateTime<Utc>,
    since: Instant,
}

impl Reading {
    fn now(&self) -> DateTime<Utc> {
        crate::time::later(self.at, crate::time::delta(self.since.elapsed()))
    }
}

impl fmt::Debug for TestClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClock").field("now", &self.now()).finish()
    }
}

impl Default for TestClock {
    /// A test clock starting at the system clock's now.
    fn default() -> Self {
        TestClock::starting_at(Utc::now())
    }
}

/// Why a [`TestClock`] did not move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// The instant asked for is before the clock's now.
    #[error(
        "the test clock is at {now} and cannot go back to {requested}: what happened meanwhile cannot un-happen; start a new clock (or mock) at the earlier instant"
    )]
    #[non_exhaustive]
    Backwards {
        /// The clock's reading when asked.
        now: DateTime<Utc>,
        /// The instant asked for.
        requested: DateTime<Utc>,
    },
}

impl TestClock {
    /// A clock that shows `at` now and runs on from there.
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        TestClock { reading: Arc::new(Mutex::new(Reading { at, since: Instant::now() })) }
    }

    /// Moves the clock forward by `by` (saturating at the latest representable instant).
    pub fn advance(&self, by: Duration) {
        let mut reading = self.lock();
        *reading = Reading { at: crate::time::later(reading.now(), crate::time::delta(by)), since: Instant::now() };
    }

    /// Moves the clock forward to `at`.
    ///
    /// # Errors
    ///
    /// [`ClockError::Backwards`] when `at` is before the clock's now; the clock is unchanged.
    pub fn advance_to(&self, at: DateTime<Utc>) -> Result<(), ClockError> {
        let mut reading = self.lock();
        let now = reading.now();
        if at < now {
            return Err(ClockError::Backwards { now, requested: at });
        }
        *reading = Reading { at, since: Instant::now() };
        Ok(())
    }

    /// The clock's reading (also [`Clock::now`]).
    pub fn now(&self) -> DateTime<Utc> {
        self.lock().now()
    }

    /// The reading, even if a test thread panicked while holding the lock (it stays usable).
    fn lock(&self) -> std::sync::MutexGuard<'_, Reading> {
        self.reading.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        TestClock::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instant(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_test_clock_starts_where_it_is_told_runs_on_and_is_shared_by_its_clones() {
        let start = instant("2026-03-29T00:30:00Z");
        let clock = TestClock::starting_at(start);
        let copy = clock.clone();
        let first = clock.now();
        assert!(first >= start && first - start < chrono::Duration::seconds(5), "{first}");
        std::thread::sleep(Duration::from_millis(5));
        assert!(clock.now() > first, "it runs with real time");

        copy.advance(Duration::from_secs(3600));
        assert!(clock.now() - start >= chrono::Duration::hours(1), "a clone's advance moves every clone");
    }

    #[test]
    fn advance_to_moves_forward_only() {
        let clock = TestClock::starting_at(instant("2026-10-25T00:00:00Z"));
        let later = instant("2026-10-25T09:00:00Z");
        clock.advance_to(later).unwrap();
        assert!(clock.now() >= later && clock.now() - later < chrono::Duration::seconds(5));

        let error = clock.advance_to(instant("2026-10-24T23:00:00Z")).unwrap_err();
        assert!(matches!(error, ClockError::Backwards { .. }), "{error:?}");
        assert!(error.to_string().contains("start a new clock"), "{error}");
        assert!(clock.now() >= later, "unchanged by the refusal");
    }

    #[test]
    fn advancing_past_the_end_of_time_saturates() {
        let clock = TestClock::starting_at(instant("2026-01-01T00:00:00Z"));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn an_arc_of_a_clock_is_a_clock() {
        let clock: Arc<dyn Clock> = Arc::new(TestClock::starting_at(instant("2030-06-01T12:00:00Z")));
        assert!(Clock::now(&clock) >= instant("2030-06-01T12:00:00Z"));
        assert!(SystemClock.now() > instant("2000-01-01T00:00:00Z"));
    }
}
