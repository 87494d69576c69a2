//! The booking journal: what a booking is doing, kept where a restart (or another replica)
//! finds it.
//!
//! Hero has no idempotency keys, so only the client can hold the line "never reserve another
//! slot for this patient while an earlier booking may still land". Within one process the
//! booking layer does that with what it remembers; across a crash, a deploy or several
//! replicas it needs memory that outlives the process. A [`BookingJournal`] is that memory:
//!
//! - before reserving, [`crate::booking::Booking`] records the intent (practice group, patient,
//!   slot, and your booking key if you gave one). The journal refuses it atomically while the
//!   patient has an unsettled entry ([`JournalError::Unsettled`]) or the key already booked
//!   ([`JournalError::AlreadyBooked`]): nothing is sent to Hero then;
//! - it records the hold once Hero answers the reserve, and the settled outcome (booked, or
//!   not booked) once there is one. An entry stays unsettled while a confirmation may still
//!   land;
//! - [`crate::booking::Booking::recover`] at start-up claims every unsettled entry of its
//!   practice group that no live owner holds and settles it by reading the appointment back.
//!
//! Stores: [`MemoryJournal`] (one process; what tests use), `SqliteJournal` (feature
//! `journal-sqlite`: an embedded file for one process that restarts), `PostgresJournal`
//! (feature `journal-postgres`: several replicas). Your own store implements the trait; the
//! contract is in each method's docs, and the crate's tests run the same checks on every
//! store it ships.
//!
//! **Owners and leases.** Each entry has an owner (the name of the process or replica acting
//! on it, [`crate::booking::Booking::with_journal_owner`]) and a lease: until the lease ends, no
//! other owner may claim it. Every step is written only while the writer still owns the entry,
//! so a slow process whose entry was recovered by another stops before it confirms. A process
//! that restarts under the same owner name claims its own entries at once. Give each live
//! process or replica its own name: two live processes with one name could act on one entry
//! together. All times are the booking client's clock ([`crate::Client::clock`]).

mod memory;
#[cfg(feature = "journal-postgres")]
mod postgres;
mod row;
#[cfg(feature = "journal-sqlite")]
mod sqlite;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Id;
use crate::types::AppointmentCreate;

pub use memory::MemoryJournal;
#[cfg(feature = "journal-postgres")]
pub use postgres::PostgresJournal;
#[cfg(feature = "journal-sqlite")]
pub use sqlite::SqliteJournal;

/// An entry's number in its journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(pub i64);

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "journal entry {}", self.0)
    }
}

/// How far a booking got, as last recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Step {
    /// Recorded before the reserve request is sent: a hold may exist whose id nobody knows. It
    /// cannot become a booking (confirming needs the id) and lapses by itself.
    Intended,
    /// Hero answered the reserve: this hold exists until `reserved_until`. No confirmation or
    /// release of it was sent (each is recorded before it is sent). Recovery releases it: nobody
    /// asked to confirm it.
    Reserved {
        /// The reservation's appointment id.
        appointment_id: String,
        /// When Hero releases the hold, if it said.
        reserved_until: Option<DateTime<Utc>>,
    },
    /// A confirmation of the hold is about to be sent, or was: it may land. Recovery reads it
    /// back and confirms it again if it is still only held (the confirmation was asked for).
    Confirming {
        /// The reservation's appointment id.
        appointment_id: String,
        /// When Hero releases the hold, if it said.
        reserved_until: Option<DateTime<Utc>>,
    },
    /// A release (the cancel of the hold) is about to be sent, or was. Recovery finishes it and
    /// never confirms the hold.
    Releasing {
        /// The reservation's appointment id.
        appointment_id: String,
        /// When Hero releases the hold, if it said.
        reserved_until: Option<DateTime<Utc>>,
    },
}

impl Step {
    /// Its name, as the SQL stores keep it beside the step for claims.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Intended => "intended",
            Step::Reserved { .. } => "reserved",
            Step::Confirming { .. } => "confirming",
            Step::Releasing { .. } => "releasing",
        }
    }

    /// The hold's appointment id and end, once Hero answered the reserve.
    pub fn hold(&self) -> Option<(&str, Option<DateTime<Utc>>)> {
        match self {
            Step::Intended => None,
            Step::Reserved { appointment_id, reserved_until }
            | Step::Confirming { appointment_id, reserved_until }
            | Step::Releasing { appointment_id, reserved_until } => Some((appointment_id, *reserved_until)),
        }
    }
}

/// How a booking ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The appointment is booked (confirmed).
    Booked {
        /// The appointment id.
        appointment_id: String,
    },
    /// Nothing was booked: refused, released, or a hold that lapsed unconfirmed.
    NotBooked {
        /// Why, in words (no patient data).
        reason: String,
    },
}

/// A booking about to start: what [`BookingJournal::begin`] records.
#[derive(Clone)]
#[non_exhaustive]
pub struct NewEntry {
    /// The practice group the booking is for.
    pub practice_group_id: String,
    /// The patient, when the reservation names one (only then does the one-unsettled-booking
    /// rule apply).
    pub patient_id: Option<Id>,
    /// Your key for this booking (a referral or request id), if you gave one: the journal
    /// books a key at most once.
    pub key: Option<String>,
    /// The reservation body (slot and patient).
    pub request: AppointmentCreate,
    /// Who acts on it.
    pub owner: String,
    /// Which run of the owner made it (new at each start of a process): a restarted owner
    /// recovers its earlier runs' entries at once, never its own live ones.
    pub incarnation: String,
    /// When the entry was made, by the client's clock.
    pub at: DateTime<Utc>,
    /// Until when no other owner may claim it.
    pub lease_until: DateTime<Utc>,
}

impl NewEntry {
    /// A new entry for `request` in `practice_group_id`, owned by `owner` (in its run
    /// `incarnation`) until `lease_until`.
    pub fn new(
        practice_group_id: impl Into<String>,
        request: AppointmentCreate,
        key: Option<String>,
        (owner, incarnation): (impl Into<String>, impl Into<String>),
        at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Self {
        NewEntry {
            practice_group_id: practice_group_id.into(),
            patient_id: request.patient_id.clone(),
            key,
            request,
            owner: owner.into(),
            incarnation: incarnation.into(),
            at,
            lease_until,
        }
    }
}

/// The practice group and owner only: the patient, key and request are patient data.
impl fmt::Debug for NewEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEntry")
            .field("practice_group_id", &self.practice_group_id)
            .field("owner", &self.owner)
            .field("lease_until", &self.lease_until)
            .finish_non_exhaustive()
    }
}

/// One booking as the journal knows it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JournalEntry {
    /// Its number.
    pub id: EntryId,
    /// The practice group.
    pub practice_group_id: String,
    /// The patient, if the reservation names one.
    pub patient_id: Option<Id>,
    /// Your key for the booking, if you gave one.
    pub key: Option<String>,
    /// The reservation body.
    pub request: AppointmentCreate,
    /// How far it got.
    pub step: Step,
    /// How it ended; `None` while unsettled.
    pub outcome: Option<Outcome>,
    /// Who acts on it.
    pub owner: String,
    /// Which run of the owner acts on it.
    pub incarnation: String,
    /// Until when no other owner may claim it.
    pub lease_until: DateTime<Utc>,
    /// When it was made, by the client's clock.
    pub created_at: DateTime<Utc>,
}

impl JournalEntry {
    /// The appointment id of its hold, once Hero answered the reserve.
    pub fn appointment_id(&self) -> Option<&str> {
        match &self.outcome {
            Some(Outcome::Booked { appointment_id }) => Some(appointment_id),
            _ => self.step.hold().map(|(id, _)| id),
        }
    }
}

/// Its id, step, outcome and owner, never the patient, key or request.
impl fmt::Debug for JournalEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JournalEntry")
            .field("id", &self.id)
            .field("practice_group_id", &self.practice_group_id)
            .field("step", &self.step)
            .field("outcome", &self.outcome)
            .field("owner", &self.owner)
            .field("incarnation", &self.incarnation)
            .field("lease_until", &self.lease_until)
            .finish_non_exhaustive()
    }
}

/// What [`BookingJournal::claim_unsettled`] returns: each claimed entry, or the error of one that
/// does not decode.
pub type Claimed = Vec<Result<JournalEntry, JournalError>>;

/// The incarnation a claim leaves on an entry: never a live run's own, so the claiming run
/// claims it again on a later `recover()`.
pub(super) fn claimed_incarnation(incarnation: &str) -> String {
    format!("{incarnation}/recovered")
}

/// A journal refused a step or could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The patient has an unsettled booking in this practice group: an earlier booking may
    /// still land, so no other slot may be reserved for them until it is settled.
    #[error(
        "the patient has an unsettled booking ({entry}{}): nothing was reserved; settle it first with `Booking::recover()` (or confirm that reservation again), then book",
        .appointment_id.as_deref().map(|id| format!(", appointment {id}")).unwrap_or_default()
    )]
    #[non_exhaustive]
    Unsettled {
        /// The unsettled entry.
        entry: EntryId,
        /// Its hold's appointment id, once Hero answered the reserve.
        appointment_id: Option<String>,
    },
    /// This booking key was booked already: it is not booked twice.
    #[error(
        "this booking key was booked already ({entry}, appointment {appointment_id}): nothing was reserved; read it with `appointment(\"{appointment_id}\")`"
    )]
    #[non_exhaustive]
    AlreadyBooked {
        /// The entry that booked it.
        entry: EntryId,
        /// The appointment.
        appointment_id: String,
    },
    /// Another owner claimed the entry (its lease ended and another process recovered it), or
    /// it was settled meanwhile: this process must not act on it any more.
    #[error(
        "{entry} is no longer this process's to act on (another owner recovered it after its lease ended, or it was settled): nothing more was sent; its outcome is the journal's"
    )]
    #[non_exhaustive]
    NotOwner {
        /// The entry.
        entry: EntryId,
    },
    /// No such entry.
    #[error("there is no {entry} in this journal; was it made in another journal?")]
    #[non_exhaustive]
    NotFound {
        /// The entry asked for.
        entry: EntryId,
    },
    /// The store failed (connection, disk, a lock). The step may or may not have been recorded
    /// (a write can commit before its connection drops); nothing was sent to Hero after it.
    #[error("the booking journal's {store} store failed ({reason}); check that it is reachable and writable, then try again")]
    #[non_exhaustive]
    Store {
        /// Which store (`sqlite`, `postgres`, or your own).
        store: &'static str,
        /// What failed, without any value of the entry.
        reason: String,
        /// The store's own error, where it carries no entry data.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The reservation being resumed is not the one this journal's entry is for: its record was
    /// written against another journal (or one that was recreated). Nothing was written.
    #[error(
        "{entry} in this journal is not the reservation being resumed (its record was written against another or a recreated journal): nothing was written; resume it with the journal it was made in"
    )]
    #[non_exhaustive]
    NotThisReservation {
        /// The entry the record named.
        entry: EntryId,
    },
    /// An entry read from the store does not decode (written by an incompatible version, or
    /// edited by hand).
    #[error("{entry} in the booking journal does not decode ({reason}); it was written by another version or edited")]
    #[non_exhaustive]
    Corrupt {
        /// The entry.
        entry: EntryId,
        /// What did not decode.
        reason: String,
    },
}

impl JournalError {
    /// A store failure, for implementations of [`BookingJournal`]. Keep values of the entry
    /// (patient ids, keys) out of `reason` and `source`: messages end up in logs.
    pub fn store(store: &'static str, reason: impl Into<String>, source: Option<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        JournalError::Store { store, reason: reason.into(), source }
    }
}

/// Where bookings are recorded: see the [module docs](self). Implementations must make each
/// method one atomic step; [`MemoryJournal`], `SqliteJournal` and `PostgresJournal` are the
/// crate's.
#[async_trait::async_trait]
pub trait BookingJournal: fmt::Debug + Send + Sync {
    /// Records a booking about to start, unsettled, owned by `entry.owner` until
    /// `entry.lease_until`; its step is [`Step::Intended`].
    ///
    /// # Errors
    ///
    /// In one atomic step with the insert: [`JournalError::Unsettled`] when the same patient
    /// has an unsettled entry in the same practice group, [`JournalError::AlreadyBooked`] when
    /// an entry with the same key in the same practice group settled as booked (a key whose
    /// entries all settled as not booked may be used again; one that is unsettled is
    /// [`JournalError::Unsettled`]). [`JournalError::Store`] when the store fails.
    async fn begin(&self, entry: NewEntry) -> Result<EntryId, JournalError>;

    /// Records how far the booking got and renews the lease, if `owner` still owns the entry
    /// and it is unsettled.
    ///
    /// # Errors
    ///
    /// [`JournalError::NotOwner`] (nothing written) when another owner holds it or it is
    /// settled, [`JournalError::NotFound`], [`JournalError::Store`].
    async fn record(&self, entry: EntryId, owner: &str, step: &Step, lease_until: DateTime<Utc>) -> Result<(), JournalError>;

    /// Settles the entry, if `owner` still owns it and it is unsettled. Settling it again with
    /// the same outcome is `Ok`.
    ///
    /// # Errors
    ///
    /// [`JournalError::NotOwner`] when another owner holds it or it settled otherwise,
    /// [`JournalError::NotFound`], [`JournalError::Store`].
    async fn settle(&self, entry: EntryId, owner: &str, outcome: &Outcome) -> Result<(), JournalError>;

    /// Claims for `owner` in its run `incarnation` every unsettled entry of
    /// `practice_group_id` whose lease ended at or before `now`, or that `owner` made in another
    /// run (a restart) or claimed before, or that `owner` made in this run and is past
    /// [`Step::Reserved`] (a confirmation or release was sent, or a reserve whose answer never
    /// came): sets its owner and lease (to `lease_until`) and marks it claimed (its incarnation
    /// no longer `incarnation`, so the same run claims it again later), and returns them, oldest
    /// first. A hold this very run reserved and has not acted on yet (a reservation the app
    /// still holds) or an entry another owner's lease still covers is left alone. An entry that does not decode is
    /// claimed too and comes back as its [`JournalError::Corrupt`], so one bad row never stops
    /// the others.
    ///
    /// # Errors
    ///
    /// [`JournalError::Store`].
    async fn claim_unsettled(
        &self,
        practice_group_id: &str,
        (owner, incarnation): (&str, &str),
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claimed, JournalError>;

    /// One entry, settled or not.
    ///
    /// # Errors
    ///
    /// [`JournalError::NotFound`], [`JournalError::Store`], [`JournalError::Corrupt`].
    async fn entry(&self, entry: EntryId) -> Result<JournalEntry, JournalError>;
}
