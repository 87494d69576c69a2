//! The booking layer with a journal: what it records at each step, and recovery.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::journal::{BookingJournal, EntryId, JournalEntry, JournalError, NewEntry, Outcome, Step};
use super::{Booking, BookingError, Reservation};
use crate::types::{Appointment, AppointmentCreate};

/// How long an entry stays this process's after its last step, unless it is settled: no other
/// owner recovers it before then. Longer than any booking step takes with the client's
/// timeouts and retries; a process that restarts under the same owner name does not wait.
pub const DEFAULT_JOURNAL_LEASE: Duration = Duration::from_secs(120);

/// A booking's journal, its owner name and lease.
#[derive(Debug, Clone)]
pub(super) struct Journaled {
    pub(super) store: Arc<dyn BookingJournal>,
    pub(super) owner: Arc<str>,
    pub(super) lease: Duration,
}

impl Journaled {
    pub(super) fn new(store: Arc<dyn BookingJournal>, owner: Option<Arc<str>>, lease: Option<Duration>) -> Self {
        Journaled { store, owner: owner.unwrap_or_else(process_owner), lease: lease.unwrap_or(DEFAULT_JOURNAL_LEASE) }
    }
}

/// This process's owner name when none is given: one for every `Booking` of the process (a
/// reservation made through one handle is confirmed through another), and no other process's:
/// the process id and a random number (std's hasher keys are random).
fn process_owner() -> Arc<str> {
    static OWNER: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    OWNER
        .get_or_init(|| {
            let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
            format!("process-{}-{random:016x}", std::process::id()).into()
        })
        .clone()
}

/// A reservation's place in the journal: its entry, and the journal it is in.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) id: EntryId,
    pub(super) journal: Journaled,
}

impl Entry {
    /// Records `step` and renews the lease: `Err` when this process may no longer act on it.
    pub(super) async fn record(&self, step: &Step, now: DateTime<Utc>) -> Result<(), BookingError> {
        let lease_until = crate::time::later(now, crate::time::delta(self.journal.lease));
        Ok(self.journal.store.record(self.id, &self.journal.owner, step, lease_until).await?)
    }

    /// Settles the entry. A failure to write it is logged, not returned: what happened at Hero
    /// stands, and the entry, left unsettled, is settled again by `recover()`.
    pub(super) async fn settle(&self, outcome: Outcome) {
        if let Err(error) = self.journal.store.settle(self.id, &self.journal.owner, &outcome).await {
            tracing::warn!(entry = self.id.0, error = %error, "the booking journal could not record an outcome; `Booking::recover()` settles it later");
        }
    }
}

/// Begins an entry for `request` when the booking has a journal.
pub(super) async fn begin(booking: &Booking, request: &AppointmentCreate, key: Option<&str>) -> Result<Option<Entry>, BookingError> {
    let Some(journal) = &booking.journal else {
        return match key {
            Some(_) => Err(BookingError::InvalidInput {
                reason: "a booking key needs a journal to be kept in (`Booking::with_journal`)".to_owned(),
            }),
            None => Ok(None),
        };
    };
    let now = booking.client.clock().now();
    let lease_until = crate::time::later(now, crate::time::delta(journal.lease));
    let new = NewEntry::new(booking.client.practice_group_id(), request.clone(), key.map(str::to_owned), &*journal.owner, now, lease_until);
    let id = journal.store.begin(new).await?;
    Ok(Some(Entry { id, journal: journal.clone() }))
}

/// What [`Booking::recover`] did with one unsettled entry. Its `Debug` shows the entry and the
/// appointment id, never the patient.
#[derive(Clone)]
#[non_exhaustive]
pub struct Recovered {
    /// The entry.
    pub entry: EntryId,
    /// How it was settled, or why it is not yet.
    pub outcome: RecoveredOutcome,
}

/// How [`Booking::recover`] settled an entry.
#[derive(Clone)]
#[non_exhaustive]
pub enum RecoveredOutcome {
    /// It is booked: the appointment as Hero has it now (confirmed before the crash, or by
    /// the recovery, which confirms a hold that is still held: the patient asked for it).
    Booked(Box<Appointment>),
    /// Nothing was booked (a hold that lapsed unconfirmed, was cancelled, or whose reserve got
    /// no recorded answer): book again if the patient still wants one.
    NotBooked {
        /// Why, in words.
        reason: String,
    },
    /// Not settled yet (Hero unreachable, or a confirmation still ambiguous): the entry stays
    /// unsettled and this owner's; call `recover()` again later.
    Unsettled {
        /// What stopped it, as text (the error's message: no patient data).
        reason: String,
    },
}

impl std::fmt::Debug for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Recovered");
        s.field("entry", &self.entry);
        match &self.outcome {
            RecoveredOutcome::Booked(appointment) => s.field("booked", &appointment.id),
            RecoveredOutcome::NotBooked { reason } => s.field("not_booked", reason),
            RecoveredOutcome::Unsettled { reason } => s.field("unsettled", reason),
        };
        s.finish()
    }
}

impl std::fmt::Debug for RecoveredOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecoveredOutcome::Booked(appointment) => f.debug_tuple("Booked").field(&appointment.id).finish(),
            RecoveredOutcome::NotBooked { reason } => f.debug_struct("NotBooked").field("reason", reason).finish(),
            RecoveredOutcome::Unsettled { reason } => f.debug_struct("Unsettled").field("reason", reason).finish(),
        }
    }
}

const NEVER_ANSWERED: &str =
    "the reserve got no recorded answer: a hold it may have made has no known id, cannot be confirmed, and lapses by itself";

impl Booking {
    /// Settles every unsettled entry of this client's practice group that this owner may claim
    /// (its own, and others' whose lease ended), by reading the appointment back:
    ///
    /// - a reserve with no recorded answer: not booked (its hold, if any, lapses unconfirmed);
    /// - confirmed: booked; cancelled, gone (404) or lapsed: not booked;
    /// - still held: confirmed now (the patient asked for it; confirming the same hold twice
    ///   cannot book twice), then as [`Reservation::confirm`] settles it.
    ///
    /// Call it at start-up, before booking (an unsettled entry refuses its patient's next
    /// booking), and again for what it reports [`RecoveredOutcome::Unsettled`].
    ///
    /// # Errors
    ///
    /// [`BookingError::InvalidInput`] without a journal; [`BookingError::Journal`] when the
    /// journal cannot be read. Each entry's own trouble is in its [`Recovered`], not an error.
    pub async fn recover(&self) -> Result<Vec<Recovered>, BookingError> {
        let Some(journal) = &self.journal else {
            return Err(BookingError::InvalidInput { reason: "recovery needs a journal (`Booking::with_journal`)".to_owned() });
        };
        let now = self.client.clock().now();
        let lease_until = crate::time::later(now, crate::time::delta(journal.lease));
        let claimed = journal.store.claim_unsettled(self.client.practice_group_id(), &journal.owner, now, lease_until).await?;
        let mut recovered = Vec::with_capacity(claimed.len());
        for entry in claimed {
            let outcome = self.recover_entry(journal, &entry).await;
            recovered.push(Recovered { entry: entry.id, outcome });
        }
        Ok(recovered)
    }

    async fn recover_entry(&self, journal: &Journaled, entry: &JournalEntry) -> RecoveredOutcome {
        let handle = Entry { id: entry.id, journal: journal.clone() };
        let (appointment_id, reserved_until) = match &entry.step {
            Step::Intended => return handle.not_booked(NEVER_ANSWERED).await,
            Step::Reserved { appointment_id, reserved_until } => (appointment_id.clone(), *reserved_until),
        };
        let now = match self.client.get_appointment().id(appointment_id.as_str()).send().await {
            Ok(now) => now.into_inner(),
            Err(error) if error.status().is_some_and(|s| s.as_u16() == 404) => {
                return handle.not_booked("Hero no longer has the hold: it lapsed or was released unconfirmed").await;
            }
            Err(error) => return RecoveredOutcome::Unsettled { reason: BookingError::from(error).to_string() },
        };
        // Settled on the appointment, never on its patient: Hero may relink a placeholder
        // patient after booking, and the appointment id is what was reserved.
        if now.booking_confirmed_at.is_some() {
            handle.settle(Outcome::Booked { appointment_id }).await;
            return RecoveredOutcome::Booked(Box::new(now));
        }
        if now.cancelled_at.is_some() {
            return handle.not_booked("the hold was cancelled unconfirmed").await;
        }
        let reservation = Reservation::resumed(
            self.clone(),
            super::reservation::Resumed {
                id: appointment_id,
                reserved_until: now.reserved_until.or(reserved_until),
                request: entry.request.clone(),
                entry: Some(handle),
                // A confirmation may have been sent before the crash: nothing may release it.
                may_land: true,
                releasing: false,
            },
        );
        match reservation.confirm().await {
            Ok(appointment) => RecoveredOutcome::Booked(Box::new(appointment)),
            Err(BookingError::ReservationExpired { .. }) => {
                RecoveredOutcome::NotBooked { reason: "the hold lapsed unconfirmed".to_owned() }
            }
            Err(error) => RecoveredOutcome::Unsettled { reason: error.to_string() },
        }
    }
}

impl Entry {
    async fn not_booked(self, reason: &str) -> RecoveredOutcome {
        self.settle(Outcome::NotBooked { reason: reason.to_owned() }).await;
        RecoveredOutcome::NotBooked { reason: reason.to_owned() }
    }
}

impl From<JournalError> for BookingError {
    fn from(error: JournalError) -> Self {
        BookingError::Journal(error)
    }
}
