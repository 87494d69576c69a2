//! Reserve-then-book, done right.
//!
//! Hero's flow is *list slots → create appointment (a reservation, held until `reserved_until`)
//! → book appointment (confirm)*; an unconfirmed hold is released automatically. [`Booking`]
//! makes the safe path the easy one:
//!
//! - [`Booking::book`] is reserve + confirm in exactly two requests on the happy path;
//! - a reserve POST is never re-sent automatically (a lost answer may still have created a hold);
//! - [`Reservation::confirm`] checks the hold client-side first (with a clock-skew margin) and
//!   says [`BookingError::ReservationExpired`] instead of sending a doomed request;
//! - a confirm that fails ambiguously (timeout, dropped connection, 5xx, unreadable answer) is
//!   settled by reading the appointment back: booked means `Ok`, never a double booking.
//!
//! ```no_run
//! # async fn demo(client: hero_health::Client, patient: hero_health::Id) -> Result<(), hero_health::booking::BookingError> {
//! use hero_health::booking::SlotQuery;
//!
//! let booking = client.booking();
//! let slots = booking.slots(&SlotQuery::new().with_appointment_type(12)).await?;
//! let appointment = booking.book(&slots[0], Some(&patient)).await?;
//! println!("booked {} at {:?}", appointment.id, appointment.start_time);
//! # Ok(()) }
//! ```

mod candidates;
mod error;
mod in_flight;
pub mod journal;
mod journaled;
mod lifecycle;
mod pages;
mod reservation;
mod unsettled;
mod write;

use std::sync::Arc;
use std::time::Duration;

pub use candidates::FirstFree;
pub use error::{BookingError, NotAllowed};
pub use in_flight::UNSETTLED_MOVE_WINDOW;
pub use journaled::{DEFAULT_JOURNAL_LEASE, Recovered, RecoveredOutcome};
pub use lifecycle::{Cancellation, Released, Reschedule};
pub use pages::SlotQuery;
pub use reservation::{Reservation, ReservationRecord};
pub use unsettled::{UnsettledWrite, Write, WriteSettled};

use crate::types::{
    Appointment, AppointmentCreate, AppointmentEdit, AppointmentType, LinkStatus, Location, Practitioner, Slot, VideoLink, VideoLinkCreate,
};
use crate::{Client, Id};

/// How close to `reserved_until` a confirmation is still attempted. Clocks differ: a hold that
/// ends in less than this is treated as gone rather than sent a request that would fail.
pub const DEFAULT_SKEW_MARGIN: Duration = Duration::from_secs(5);

/// The booking helpers of a [`Client`] (from [`Client::booking`]). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Booking {
    client: Client,
    skew_margin: Duration,
    journal: Option<journaled::Journaled>,
    /// The owner name and lease asked for, kept for a journal given after them.
    journal_owner: Option<Arc<str>>,
    journal_lease: Option<Duration>,
}

impl Client {
    /// Booking helpers: discovery, reserve-then-book, appointment edits, video links.
    pub fn booking(&self) -> Booking {
        Booking { client: self.clone(), skew_margin: DEFAULT_SKEW_MARGIN, journal: None, journal_owner: None, journal_lease: None }
    }
}

/// A link to ask the status of ([`Booking::link_status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRef {
    /// The link's URL as sent to the patient.
    Url(String),
    /// The link's id.
    Id(String),
}

impl Booking {
    /// The margin [`Reservation::confirm`] keeps before `reserved_until` (default 5 s).
    pub fn with_skew_margin(mut self, margin: Duration) -> Self {
        self.skew_margin = margin;
        self
    }

    /// Records every booking in `journal` (see [`journal`]): a patient with an unsettled
    /// booking is refused another ([`journal::JournalError::Unsettled`]), booking keys
    /// ([`Booking::book_with_key`]) book once, and [`Booking::recover`] settles what a crash
    /// left. Its owner name is this process's own (one per process, new at each start) unless
    /// [`Booking::with_journal_owner`] names it.
    pub fn with_journal(mut self, journal: Arc<dyn journal::BookingJournal>) -> Self {
        self.journal = Some(journaled::Journaled::new(journal, self.journal_owner.clone(), self.journal_lease));
        self
    }

    /// The name this process (or replica) acts under in the journal: stable across restarts
    /// (a host or pod name), so a restarted process recovers its own entries at once, and
    /// different for each live process. Before or after [`Booking::with_journal`], alike.
    pub fn with_journal_owner(mut self, owner: impl Into<String>) -> Self {
        let owner: Arc<str> = owner.into().into();
        if let Some(journal) = &mut self.journal {
            journal.owner = owner.clone();
        }
        self.journal_owner = Some(owner);
        self
    }

    /// How long an entry stays this owner's after its last step (default
    /// [`DEFAULT_JOURNAL_LEASE`]): after that, another owner's `recover()` may settle it.
    pub fn with_journal_lease(mut self, lease: Duration) -> Self {
        if let Some(journal) = &mut self.journal {
            journal.lease = lease;
        }
        self.journal_lease = Some(lease);
        self
    }

    /// The journal, if the booking has one.
    pub fn journal(&self) -> Option<&Arc<dyn journal::BookingJournal>> {
        self.journal.as_ref().map(|j| &j.store)
    }

    /// A reservation from a [`ReservationRecord`] another process wrote, with what it knew
    /// (a confirmation that may land, a release that began). Resume it with the same journal
    /// that made it (if one did), so its entry settles when it does.
    pub fn resume(&self, record: ReservationRecord) -> Reservation {
        let expect: Arc<str> = record.appointment_id.as_str().into();
        let entry = record.entry.zip(self.journal.clone()).map(|(id, journal)| journaled::Entry { id, journal, expect: Some(expect) });
        Reservation::resumed(
            self.clone(),
            reservation::Resumed {
                id: record.appointment_id,
                reserved_until: record.reserved_until,
                request: record.request,
                entry,
                may_land: record.confirmation_may_land,
                releasing: record.releasing,
            },
        )
    }

    /// The underlying client, for calls this module does not wrap.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Every appointment type of the practice group.
    ///
    /// # Errors
    ///
    /// [`BookingError`] when the list cannot be read (refused, rate limited, or Hero unreachable).
    pub async fn appointment_types(&self) -> Result<Vec<AppointmentType>, BookingError> {
        Ok(self.client.list_appointment_types().send().await.map_err(BookingError::from)?.into_inner().data)
    }

    /// Every location of the practice group.
    ///
    /// # Errors
    ///
    /// [`BookingError`] when the list cannot be read (refused, rate limited, or Hero unreachable).
    pub async fn locations(&self) -> Result<Vec<Location>, BookingError> {
        Ok(self.client.list_locations().send().await.map_err(BookingError::from)?.into_inner().data)
    }

    /// Every practitioner of the practice group.
    ///
    /// # Errors
    ///
    /// [`BookingError`] when the list cannot be read (refused, rate limited, or Hero unreachable).
    pub async fn practitioners(&self) -> Result<Vec<Practitioner>, BookingError> {
        Ok(self.client.list_practitioners().send().await.map_err(BookingError::from)?.into_inner().data)
    }

    /// Every free slot matching `query`, all pages fetched (see [`Booking::slot_pages`] to
    /// stream them instead).
    ///
    /// # Errors
    ///
    /// [`BookingError`] when a page cannot be read; the slots of earlier pages are not returned
    /// then.
    pub async fn slots(&self, query: &SlotQuery) -> Result<Vec<Slot>, BookingError> {
        pages::collect(self, query).await
    }

    /// Reserves `slot` for `patient_id` (a reservation may also be made without a patient).
    ///
    /// One request, never re-sent: if its answer is lost, a hold may exist until the hold
    /// period ends and [`BookingError::OutcomeUnknown`] says so.
    ///
    /// # Errors
    ///
    /// [`BookingError::InvalidInput`] (nothing sent) for a patient id that is not a numeric
    /// string, [`BookingError::IncompleteSlot`] for a slot without its ids or times,
    /// [`BookingError::SlotUnavailable`], [`BookingError::RateLimited`],
    /// [`BookingError::OutcomeUnknown`], [`BookingError::Rejected`] or
    /// [`BookingError::Transport`].
    pub async fn reserve(&self, slot: &Slot, patient_id: Option<&Id>) -> Result<Reservation, BookingError> {
        let request = reservation_request(slot, patient_id)?;
        check_ids(&request)?;
        reservation::reserve(self.clone(), request, None).await
    }

    /// [`Booking::reserve`] under your key for this booking (a referral or request id), for
    /// when you confirm yourself: as with [`Booking::book_with_key`], the journal books a key at
    /// most once.
    ///
    /// # Errors
    ///
    /// As [`Booking::reserve`]; [`BookingError::Journal`] when the key is unsettled or booked
    /// already; [`BookingError::InvalidInput`] without a journal.
    pub async fn reserve_with_key(&self, key: &str, slot: &Slot, patient_id: Option<&Id>) -> Result<Reservation, BookingError> {
        let request = reservation_request(slot, patient_id)?;
        check_ids(&request)?;
        reservation::reserve(self.clone(), request, Some(key)).await
    }

    /// Reserves `slot` with your own request body (reason, billpayer, suppress_mail…).
    ///
    /// # Errors
    ///
    /// As [`Booking::reserve`]; an id field that is not a numeric string is
    /// [`BookingError::InvalidInput`], and nothing is sent.
    pub async fn reserve_with(&self, request: AppointmentCreate) -> Result<Reservation, BookingError> {
        check_ids(&request)?;
        reservation::reserve(self.clone(), request, None).await
    }

    /// Reserve, then confirm: exactly two requests on the happy path.
    ///
    /// With a journal ([`Booking::with_journal`]) the intent is recorded first, and a patient
    /// with an unsettled booking is refused before anything is sent.
    ///
    /// # Errors
    ///
    /// As [`Booking::reserve`], then as [`Reservation::confirm`]; with a journal,
    /// [`BookingError::Journal`] ([`journal::JournalError::Unsettled`]: nothing was sent).
    pub async fn book(&self, slot: &Slot, patient_id: Option<&Id>) -> Result<Appointment, BookingError> {
        let request = reservation_request(slot, patient_id)?;
        check_ids(&request)?;
        self.reserve_and_confirm(request, None).await
    }

    /// [`Booking::book`] under your key for this booking (a referral or request id): the
    /// journal books a key at most once, so calling this again after any failure, from any
    /// process or replica sharing the journal, cannot book twice. A key whose booking is
    /// unsettled is [`journal::JournalError::Unsettled`]; one that booked is
    /// [`journal::JournalError::AlreadyBooked`] (with the appointment id); one that settled
    /// as not booked books again.
    ///
    /// # Errors
    ///
    /// As [`Booking::book`]; [`BookingError::InvalidInput`] without a journal.
    pub async fn book_with_key(&self, key: &str, slot: &Slot, patient_id: Option<&Id>) -> Result<Appointment, BookingError> {
        let request = reservation_request(slot, patient_id)?;
        check_ids(&request)?;
        self.reserve_and_confirm(request, Some(key)).await
    }

    async fn reserve_and_confirm(&self, request: AppointmentCreate, key: Option<&str>) -> Result<Appointment, BookingError> {
        let reservation = reservation::reserve(self.clone(), request, key).await?;
        let booked = reservation.confirm().await;
        // A journal that refused or failed is not written to again.
        if booked.as_ref().is_err_and(|e| !matches!(e, BookingError::Journal(_))) {
            // The reservation is dropped here: nothing will confirm it again.
            reservation.abandon().await;
        }
        booked
    }

    /// One appointment.
    ///
    /// # Errors
    ///
    /// [`BookingError::InvalidInput`] for an id that is not digits (nothing sent),
    /// [`BookingError::Rejected`] (404: no such appointment), [`BookingError::RateLimited`] or
    /// [`BookingError::Transport`].
    pub async fn appointment(&self, id: &str) -> Result<Appointment, BookingError> {
        Ok(self.client.get_appointment().id(id).send().await.map_err(BookingError::from)?.into_inner())
    }

    /// Changes a reservation before it is confirmed (Hero refuses edits to confirmed
    /// appointments: that is a [`BookingError::Rejected`]).
    ///
    /// # Errors
    ///
    /// [`BookingError::Rejected`] (a confirmed appointment, or an invalid edit),
    /// [`BookingError::SlotUnavailable`], [`BookingError::OutcomeUnknown`],
    /// [`BookingError::RateLimited`] or [`BookingError::Transport`].
    pub async fn edit_appointment(&self, id: &str, edit: AppointmentEdit) -> Result<Appointment, BookingError> {
        match self.client.edit_appointment().id(id).body(edit).send().await {
            Ok(appointment) => Ok(appointment.into_inner()),
            Err(e) => Err(write::classify_write(e, "edit", Some(id))),
        }
    }

    /// Creates a video consultation link.
    ///
    /// # Errors
    ///
    /// [`BookingError::Rejected`], [`BookingError::OutcomeUnknown`] (the link may exist),
    /// [`BookingError::RateLimited`] or [`BookingError::Transport`].
    pub async fn create_video_link(&self, request: VideoLinkCreate) -> Result<VideoLink, BookingError> {
        match self.client.create_video_link().body(request).send().await {
            Ok(link) => Ok(link.into_inner()),
            Err(e) => Err(write::classify_write(e, "create video link", None)),
        }
    }

    /// Whether a booking, form or video link has been used.
    ///
    /// # Errors
    ///
    /// [`BookingError::Rejected`] (404: no such link), [`BookingError::RateLimited`] or
    /// [`BookingError::Transport`].
    pub async fn link_status(&self, link: &LinkRef) -> Result<LinkStatus, BookingError> {
        let request = self.client.get_link_status();
        let request = match link {
            LinkRef::Url(url) => request.url(url.as_str()),
            LinkRef::Id(id) => request.id(id.as_str()),
        };
        Ok(request.send().await.map_err(BookingError::from)?.into_inner())
    }
}

/// Hero's ids are numeric strings. The body's ids are [`Id`]s, which are checked when built,
/// but an `Id` read from JSON is taken as received (answers must not fail on a new id format):
/// a body deserialized from elsewhere is checked again here, before anything is sent (Hero
/// would answer 400; a lenient server could store a wrong patient).
fn check_ids(request: &AppointmentCreate) -> Result<(), BookingError> {
    let fields = [
        ("appointment_type_id", Some(&request.appointment_type_id)),
        ("location_id", Some(&request.location_id)),
        ("practitioner_id", Some(&request.practitioner_id)),
        ("patient_id", request.patient_id.as_ref()),
        ("billpayer_id", request.billpayer_id.as_ref()),
    ];
    for (field, value) in fields {
        if let Some(value) = value {
            Id::new(value.as_str()).map_err(|e| BookingError::InvalidInput { reason: format!("{field}: {e}") })?;
        }
    }
    Ok(())
}

/// The reservation body for a slot: every field it needs comes from the slot.
fn reservation_request(slot: &Slot, patient_id: Option<&Id>) -> Result<AppointmentCreate, BookingError> {
    let start = slot.start_time.ok_or(BookingError::IncompleteSlot { field: "start_time" })?;
    let finish = slot.finish_time.ok_or(BookingError::IncompleteSlot { field: "finish_time" })?;
    let minutes = (finish - start).num_minutes();
    if minutes <= 0 {
        return Err(BookingError::IncompleteSlot { field: "finish_time after start_time" });
    }
    let field =
        |value: &Option<Id>, name| value.clone().filter(|v| !v.as_str().is_empty()).ok_or(BookingError::IncompleteSlot { field: name });
    Ok(AppointmentCreate {
        appointment_type_id: field(&slot.appointment_type_id, "appointment_type_id")?,
        location_id: field(&slot.location_id, "location_id")?,
        practitioner_id: field(&slot.practitioner_id, "practitioner_id")?,
        // Positive (checked above), so the conversion cannot fail.
        duration: u64::try_from(minutes).unwrap_or_default(),
        start_time: Some(start),
        patient_id: patient_id.cloned(),
        billpayer_id: None,
        reason: None,
        suppress_availability_check: None,
        suppress_mail: None,
    })
}
