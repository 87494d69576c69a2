//! The booking layer with a journal: what it records at each step, and recovery.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::journal::{BookingJournal, EntryId, JournalEntry, JournalError, NewEntry, Outcome, Step};
use super::{Booking, BookingError, Reservation};
use crate::types::{Appointment, AppointmentCreate};

/// How long an entry stays this process's after its last step, unless it is settled: no other
/// owner recovers it before then. Every step renews it, and each request is preceded by one, so
/// it covers the longest single request with the client's default timeout and retries (about
/// four minutes for a confirmation settled by reading back) with room to spare. A process that
/// restarts under the same owner name does not wait for it.
pub const DEFAULT_JOURNAL_LEASE: Duration = Duration::from_secs(600);

/// A booking's journal, its owner name, this run's incarnation, and the lease.
#[derive(Debug, Clone)]
pub(super) struct Journaled {
    pub(super) store: Arc<dyn BookingJournal>,
    pub(super) owner: Arc<str>,
    pub(super) lease: Duration,
}

impl Journaled {
    pub(super) fn new(store: Arc<dyn BookingJournal>, owner: Option<Arc<str>>, lease: Option<Duration>) -> Self {
        Journaled { store, owner: owner.unwrap_or_else(|| process().owner.clone()), lease: lease.unwrap_or(DEFAULT_JOURNAL_LEASE) }
    }

    fn lease_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        crate::time::later(now, crate::time::delta(self.lease))
    }
}

/// This process: its default owner name (one for every `Booking` of the process, so a
/// reservation made through one handle is confirmed through another, and no other process's)
/// and its incarnation (new at each start: entries of earlier runs of an owner are recovered at
/// once, this run's live ones never). The process id and random numbers (std's hasher keys are
/// random).
struct Process {
    owner: Arc<str>,
    incarnation: Arc<str>,
}

fn process() -> &'static Process {
    static PROCESS: std::sync::OnceLock<Process> = std::sync::OnceLock::new();
    PROCESS.get_or_init(|| {
        let random = || std::collections::hash_map::RandomState::new().build_hasher().finish();
        Process {
            owner: format!("process-{}-{:016x}", std::process::id(), random()).into(),
            incarnation: format!("{:016x}{:016x}", random(), random()).into(),
        }
    })
}

/// A reservation's place in the journal: its entry, and the journal it is in.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) id: EntryId,
    pub(super) journal: Journaled,
    /// For an entry named by a record being resumed: the hold it must be for, checked before
    /// the first write (the record may come from another or a recreated journal).
    pub(super) expect: Option<Arc<str>>,
}

impl Entry {
    /// Records `step` and renews the lease: `Err` when this process may no longer act on it.
    pub(super) async fn record(&self, step: &Step, now: DateTime<Utc>) -> Result<(), BookingError> {
        if let Some(expected) = &self.expect {
            let stored = self.journal.store.entry(self.id).await?;
            if stored.step.hold().map(|(id, _)| id) != Some(&**expected) {
                return Err(JournalError::NotThisReservation { entry: self.id }.into());
            }
        }
        Ok(self.journal.store.record(self.id, &self.journal.owner, step, self.journal.lease_until(now)).await?)
    }

    /// Settles the entry. A failure to write it is logged, not returned: what happened at Hero
    /// stands, and the entry, left unsettled, is settled again by `recover()`.
    pub(super) async fn settle(&self, outcome: Outcome) {
        if let Err(error) = self.journal.store.settle(self.id, &self.journal.owner, &outcome).await {
            tracing::warn!(entry = self.id.0, error = %error, "the booking journal could not record an outcome; `Booking::recover()` settles it later");
        }
    }

    async fn not_booked(self, reason: &str) -> RecoveredOutcome {
        self.settle(Outcome::NotBooked { reason: reason.to_owned() }).await;
        RecoveredOutcome::NotBooked { reason: reason.to_owned() }
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
    let new = NewEntry::new(
        booking.client.practice_group_id(),
        request.clone(),
        key.map(str::to_owned),
        (&*journal.owner, &*process().incarnation),
        now,
        journal.lease_until(now),
    );
    let id = journal.store.begin(new).await?;
    Ok(Some(Entry { id, journal: journal.clone(), expect: None }))
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
    /// Settles every unsettled entry of this client's practice group that this owner may claim:
    /// those of its earlier runs (a restart under the same owner name), those it claimed before,
    /// and any whose lease ended. Never this run's own live entries (a reservation the app still
    /// holds). Each is settled by reading the appointment back, by the last step recorded:
    ///
    /// - confirmed: booked; cancelled, gone (404) or lapsed: not booked;
    /// - a reserve with no recorded answer: not booked (its hold, if any, has no known id and
    ///   lapses unconfirmed);
    /// - a hold nobody asked to confirm (no confirmation was sent): released, not booked;
    /// - a confirmation sent (it may land) on a hold still held: confirmed again (it was asked
    ///   for; confirming the same hold twice cannot book twice), then as
    ///   [`Reservation::confirm`] settles it;
    /// - a release sent: finished, never confirmed.
    ///
    /// Call it at start-up, before booking (an unsettled entry refuses its patient's next
    /// booking), and again for what it reports [`RecoveredOutcome::Unsettled`].
    ///
    /// # Errors
    ///
    /// [`BookingError::InvalidInput`] without a journal; [`BookingError::Journal`] when the
    /// journal cannot be read. Each entry's own trouble (an entry that does not decode, Hero
    /// unreachable) is in its [`Recovered`], not an error.
    pub async fn recover(&self) -> Result<Vec<Recovered>, BookingError> {
        let Some(journal) = &self.journal else {
            return Err(BookingError::InvalidInput { reason: "recovery needs a journal (`Booking::with_journal`)".to_owned() });
        };
        let now = self.client.clock().now();
        let me = (&*journal.owner, &*process().incarnation);
        let claimed = journal.store.claim_unsettled(self.client.practice_group_id(), me, now, journal.lease_until(now)).await?;
        let mut recovered = Vec::with_capacity(claimed.len());
        for entry in claimed {
            recovered.push(match entry {
                Ok(entry) => Recovered { entry: entry.id, outcome: self.recover_entry(journal, &entry).await },
                Err(error) => {
                    let JournalError::Corrupt { entry, .. } = &error else { return Err(error.into()) };
                    Recovered { entry: *entry, outcome: RecoveredOutcome::Unsettled { reason: error.to_string() } }
                }
            });
        }
        Ok(recovered)
    }

    async fn recover_entry(&self, journal: &Journaled, entry: &JournalEntry) -> RecoveredOutcome {
        let handle = Entry { id: entry.id, journal: journal.clone(), expect: None };
        let Some((appointment_id, reserved_until)) = entry.step.hold() else { return handle.not_booked(NEVER_ANSWERED).await };
        let appointment_id = appointment_id.to_owned();
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
        let confirming = matches!(entry.step, Step::Confirming { .. });
        let reservation = Reservation::resumed(
            self.clone(),
            super::reservation::Resumed {
                id: appointment_id,
                reserved_until: now.reserved_until.or(reserved_until),
                request: entry.request.clone(),
                entry: Some(handle),
                // A confirmation was sent before the crash: nothing may release it meanwhile.
                may_land: confirming,
                releasing: false,
            },
        );
        if confirming {
            return match reservation.confirm().await {
                Ok(appointment) => RecoveredOutcome::Booked(Box::new(appointment)),
                Err(BookingError::ReservationExpired { .. }) => {
                    RecoveredOutcome::NotBooked { reason: "the hold lapsed unconfirmed".to_owned() }
                }
                Err(error) => RecoveredOutcome::Unsettled { reason: error.to_string() },
            };
        }
        // Nobody asked to confirm it (or a release was under way): free the slot.
        match reservation.release().await {
            Ok(_) => RecoveredOutcome::NotBooked { reason: "a hold nobody confirmed: released".to_owned() },
            Err(BookingError::NotAllowed { why: super::NotAllowed::Booked, .. }) => match self.appointment(entry_hold(entry)).await {
                Ok(appointment) => RecoveredOutcome::Booked(Box::new(appointment)),
                Err(error) => RecoveredOutcome::Unsettled { reason: error.to_string() },
            },
            Err(error) => RecoveredOutcome::Unsettled { reason: error.to_string() },
        }
    }
}

fn entry_hold(entry: &JournalEntry) -> &str {
    entry.step.hold().map_or("", |(id, _)| id)
}

impl From<JournalError> for BookingError {
    fn from(error: JournalError) -> Self {
        BookingError::Journal(error)
    }
}
