//! A held slot, and how state-changing requests' failures are classified.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Released;
use super::error::{EXPIRED_CODES, SLOT_UNAVAILABLE_CODES, has_code};
use super::{Booking, BookingError};
use crate::error::describe_issues;
use crate::error::{ErrorBody, decode_reason, describe_transport};
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
    match booking.client.create_appointment().body(request.clone()).send_generated().await {
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
        match self.booking.client.book_appointment().id(self.id.as_str()).send_generated().await {
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
        let again = match self.booking.client.book_appointment().id(self.id.as_str()).send_generated().await {
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

/// Classifies the failure of a request that changes state, by whether it may have taken effect.
pub(crate) fn classify_write<E: ErrorBody>(error: progenitor_client::Error<E>, operation: &'static str, id: Option<&str>) -> BookingError {
    use progenitor_client::Error;
    let unknown = |reason: String, request_id: Option<String>| BookingError::OutcomeUnknown {
        operation,
        appointment_id: id.map(str::to_owned),
        reason,
        request_id,
    };
    match error {
        Error::InvalidRequest(reason) => BookingError::InvalidInput { reason },
        Error::ErrorResponse(answer) => {
            let (status, request_id) = (answer.status().as_u16(), request_id(answer.headers()));
            match answer.validation() {
                Some(body) if has_code(body, SLOT_UNAVAILABLE_CODES) => BookingError::SlotUnavailable,
                Some(body) if has_code(body, EXPIRED_CODES) => {
                    BookingError::ReservationExpired { appointment_id: id.unwrap_or_default().to_owned(), reserved_until: None }
                }
                Some(body) => BookingError::Rejected { status, issues: describe_issues(body), request_id },
                None => BookingError::Rejected { status, issues: Vec::new(), request_id },
            }
        }
        Error::UnexpectedResponse(response) => {
            let request_id = request_id(response.headers());
            match response.status().as_u16() {
                409 => BookingError::SlotUnavailable,
                // Refused before doing anything: safe to send again after the wait.
                429 => BookingError::RateLimited { retry_after: crate::retry::retry_after(response.headers(), Utc::now()), request_id },
                status @ (408 | 500..) => unknown(format!("HTTP {status}"), request_id),
                status => BookingError::Rejected { status, issues: Vec::new(), request_id },
            }
        }
        // Never connected: the request cannot have reached Hero.
        Error::CommunicationError(e) if e.is_connect() => BookingError::Transport { reason: describe_transport(&e) },
        other => unknown(describe(&other), None),
    }
}

fn request_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers.get(crate::error::REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// A body-free, URL-free description of a failed call (bodies and URLs can carry patient data).
pub(crate) fn describe<E>(error: &progenitor_client::Error<E>) -> String {
    use progenitor_client::Error;
    match error {
        Error::InvalidRequest(reason) | Error::Custom(reason) => reason.clone(),
        Error::CommunicationError(e) | Error::InvalidUpgrade(e) | Error::ResponseBodyError(e) => describe_transport(e),
        Error::InvalidResponsePayload(_, e) => format!("the answer could not be decoded ({})", decode_reason(e)),
        Error::ErrorResponse(answer) => format!("HTTP {}", answer.status()),
        Error::UnexpectedResponse(response) => format!("HTTP {}", response.status()),
    }
}
