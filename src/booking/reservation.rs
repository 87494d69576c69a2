//! A held slot, and how state-changing requests' failures are classified.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Released;
use super::error::{EXPIRED_CODES, SLOT_UNAVAILABLE_CODES, has_code};
use super::{Booking, BookingError};
use crate::error::describe_issues;
use crate::types::{Appointment, AppointmentCreate};

/// A reservation: Hero holds the slot until [`Reservation::reserved_until`]. Confirm it with
/// [`Reservation::confirm`]; an unconfirmed hold is released by Hero when it ends.
#[derive(Debug, Clone)]
pub struct Reservation {
    booking: Booking,
    id: String,
    reserved_until: Option<DateTime<Utc>>,
    request: AppointmentCreate,
}

pub(super) async fn reserve(booking: Booking, request: AppointmentCreate) -> Result<Reservation, BookingError> {
    match booking.client.create_appointment().body(request.clone()).send().await {
        Ok(answer) => {
            let answer = answer.into_inner();
            Ok(Reservation { booking, id: answer.id.into(), reserved_until: answer.reserved_until, request })
        }
        // Never re-sent: the POST may have created a hold even if its answer was lost.
        Err(error) => Err(classify_write(error, "reserve", None)),
    }
}

impl Reservation {
    /// The appointment id of the reservation.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// When Hero releases the hold, if it said.
    pub fn reserved_until(&self) -> Option<DateTime<Utc>> {
        self.reserved_until
    }

    /// Time left on the hold by this machine's clock (zero once passed); `None` if unknown.
    pub fn time_left(&self) -> Option<Duration> {
        self.reserved_until.map(|until| (until - Utc::now()).to_std().unwrap_or(Duration::ZERO))
    }

    /// The request that made the reservation.
    pub fn request(&self) -> &AppointmentCreate {
        &self.request
    }

    /// Confirms (books) the reservation.
    ///
    /// - If the hold ends within the skew margin, no request is sent:
    ///   [`BookingError::ReservationExpired`].
    /// - If the confirmation fails ambiguously (timeout, dropped connection, 408/5xx), the
    ///   appointment is read back and `booking_confirmed_at` decides: booked is `Ok`. If it is
    ///   still only reserved, the confirmation is sent once more (confirming the same
    ///   reservation twice cannot book twice) and read back again. What is still unsettled then
    ///   is [`BookingError::OutcomeUnknown`], never "nothing happened": the first confirmation
    ///   may still be committing on Hero's side.
    ///
    /// Takes `&self`, so after an error the same reservation can be checked or confirmed again.
    ///
    /// # Errors
    ///
    /// [`BookingError::ReservationExpired`] (nothing sent when the hold is about to end),
    /// [`BookingError::OutcomeUnknown`] when neither the answer nor reading back settles it,
    /// [`BookingError::Rejected`], [`BookingError::RateLimited`] or [`BookingError::Transport`].
    pub async fn confirm(&self) -> Result<Appointment, BookingError> {
        if let Some(until) = self.reserved_until
            && crate::time::earlier(until, crate::time::delta(self.booking.skew_margin)) <= Utc::now()
        {
            return Err(self.expired());
        }
        match self.booking.client.book_appointment().id(self.id.as_str()).send().await {
            Ok(appointment) => Ok(appointment.into_inner()),
            Err(error) => match classify_write(error, "confirm", Some(&self.id)) {
                BookingError::OutcomeUnknown { reason, .. } => self.settle(reason).await,
                BookingError::ReservationExpired { .. } => Err(self.expired()),
                other => Err(other),
            },
        }
    }

    /// Gives the hold up now, so the slot is free for anyone (Hero would otherwise keep it until
    /// [`Reservation::reserved_until`]): the reservation is cancelled without mail and outside
    /// any cancellation policy (a hold is the partner's own). An ambiguous answer is settled by
    /// reading the appointment back, as `confirm` does.
    ///
    /// # Errors
    ///
    /// [`BookingError::Rejected`] (for example when it was confirmed meanwhile: cancel it with
    /// [`crate::booking::Booking::cancel`]), [`BookingError::OutcomeUnknown`],
    /// [`BookingError::RateLimited`] or [`BookingError::Transport`].
    pub async fn release(self) -> Result<Released, BookingError> {
        match self.booking.cancel_by_id(&self.id, true, true).await {
            Ok(appointment) => Ok(Released::Freed(Box::new(appointment))),
            // Hero no longer has it (lapsed, or released already): the slot is free.
            Err(BookingError::Rejected { status: 404, .. } | BookingError::ReservationExpired { .. }) => Ok(Released::AlreadyGone),
            Err(error) => Err(error),
        }
    }

    fn expired(&self) -> BookingError {
        BookingError::ReservationExpired { appointment_id: self.id.clone(), reserved_until: self.reserved_until }
    }

    /// After an ambiguous confirmation: did it go through?
    ///
    /// Reading back "still only reserved" does not mean the confirmation failed: a server
    /// usually finishes a request after the client hung up, so it may commit a moment later.
    /// Confirming the same reservation again can never book a second appointment, so it is
    /// re-sent once; if that is not answered either, the outcome stays unknown.
    async fn settle(&self, reason: String) -> Result<Appointment, BookingError> {
        match self.read_back().await {
            ReadBack::Confirmed(appointment) => return Ok(*appointment),
            ReadBack::Gone => return Err(self.expired()),
            ReadBack::Failed(why) => return Err(self.unknown(format!("{reason}; reading it back failed too: {why}"))),
            ReadBack::Reserved => {}
        }
        let again = match self.booking.client.book_appointment().id(self.id.as_str()).send().await {
            Ok(appointment) => return Ok(appointment.into_inner()),
            Err(error) => classify_write(error, "confirm", Some(&self.id)),
        };
        let again = match again {
            BookingError::ReservationExpired { .. } => return Err(self.expired()),
            BookingError::OutcomeUnknown { reason, .. } => reason,
            other => other.to_string(),
        };
        match self.read_back().await {
            ReadBack::Confirmed(appointment) => Ok(*appointment),
            ReadBack::Gone => Err(self.expired()),
            ReadBack::Reserved => Err(self.unknown(format!("{reason}; confirming again failed too ({again}), and it still reads as only reserved: the first confirmation may still be committing"))),
            ReadBack::Failed(why) => Err(self.unknown(format!("{reason}; confirming again failed too ({again}), and reading it back failed: {why}"))),
        }
    }

    fn unknown(&self, reason: String) -> BookingError {
        BookingError::OutcomeUnknown { operation: "confirm", appointment_id: Some(self.id.clone()), reason, request_id: None }
    }

    /// The appointment's state as Hero reports it now.
    async fn read_back(&self) -> ReadBack {
        // A read: the crate's error is enough (404 means released).
        match self.booking.client.get_appointment().id(self.id.as_str()).send().await {
            Ok(appointment) if appointment.booking_confirmed_at.is_some() => ReadBack::Confirmed(Box::new(appointment.into_inner())),
            Ok(appointment) if appointment.reserved_until.is_some_and(|until| until <= Utc::now()) => ReadBack::Gone,
            Ok(_) => ReadBack::Reserved,
            Err(error) if error.status().is_some_and(|s| s.as_u16() == 404) => ReadBack::Gone,
            Err(error) => ReadBack::Failed(error.to_string()),
        }
    }
}

/// What reading a reservation back showed.
enum ReadBack {
    Confirmed(Box<Appointment>),
    /// Released: the hold lapsed (or Hero no longer has it).
    Gone,
    /// Held, not confirmed (yet).
    Reserved,
    /// The read failed: why, without a body.
    Failed(String),
}

/// Classifies the failure of a request that changes state by whether it may have taken effect.
///
/// It builds on the crate's one classification of progenitor's error ([`crate::Error`]) and
/// places every variant itself, with no catch-all: a variant added later must be decided here,
/// never fall into "outcome unknown" (or "safe to retry") unseen.
pub(crate) fn classify_write(error: crate::Error, operation: &'static str, id: Option<&str>) -> BookingError {
    use crate::Error as E;
    let request_id = error.request_id().map(str::to_owned);
    let status = error.status().map(|s| s.as_u16());
    let unknown = |reason: String| BookingError::OutcomeUnknown {
        operation,
        appointment_id: id.map(str::to_owned),
        reason,
        request_id: request_id.clone(),
    };
    match &error {
        E::InvalidRequest { reason } => BookingError::InvalidInput { reason: reason.clone() },
        E::BadRequest { validation: Some(body), .. } if has_code(body, SLOT_UNAVAILABLE_CODES) => BookingError::SlotUnavailable,
        E::BadRequest { validation: Some(body), .. } if has_code(body, EXPIRED_CODES) => {
            BookingError::ReservationExpired { appointment_id: id.unwrap_or_default().to_owned(), reserved_until: None }
        }
        E::BadRequest { validation, .. } => {
            BookingError::Rejected { status: 400, issues: validation.as_ref().map(describe_issues).unwrap_or_default(), request_id }
        }
        E::Conflict { .. } => BookingError::SlotUnavailable,
        // Refused before doing anything: safe to send again after the wait.
        E::RateLimited { retry_after, .. } => BookingError::RateLimited { retry_after: *retry_after, request_id },
        // Refused: Hero did not act on it (a redirect was not followed).
        E::Unauthorized { .. } | E::Forbidden { .. } | E::NotFound { .. } | E::UnexpectedStatus { .. } | E::Redirected { .. } => {
            BookingError::Rejected { status: status.unwrap_or(300), issues: Vec::new(), request_id }
        }
        // Never connected: the request cannot have reached Hero.
        E::Transport { reason, source: Some(source), .. } if source.is_connect() => {
            BookingError::Transport { reason: reason.clone(), source: Box::new(error) }
        }
        // Sent, and no usable answer: it may have taken effect.
        E::Transport { reason, .. } => unknown(reason.clone()),
        E::Server { .. } => unknown(format!("HTTP {}", status.unwrap_or(500))),
        E::Timeout { .. } => unknown(status.map_or_else(|| "timed out".to_owned(), |s| format!("HTTP {s}"))),
        E::Decode { reason, .. } => unknown(format!("the answer could not be decoded ({reason})")),
        E::ResponseTooLarge { limit, .. } => unknown(format!("the answer was over the {limit}-byte limit")),
    }
}
