//! A cancel or reschedule whose outcome is unknown, as data: kept across a restart and settled
//! later, by the process that sent it or another.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::in_flight;
use super::{Booking, BookingError};
use crate::types::Appointment;

/// What the write was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "write", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Write {
    /// A cancel (or the cancel of a hold being released), with the flags it was sent with.
    Cancel {
        /// `suppress_mail` as sent.
        suppress_mail: bool,
        /// `suppress_cancellation_policy` as sent.
        suppress_policy: bool,
        /// It released a hold ([`super::Reservation::release`]): never sent again over a
        /// booking.
        hold: bool,
    },
    /// A move to this practitioner and start.
    Reschedule {
        /// The practitioner it was moving to.
        practitioner_id: String,
        /// The start it was moving to.
        start_time: DateTime<Utc>,
    },
}

/// A cancel or reschedule that got no usable answer and did not read as done: it may still
/// land. [`BookingError::unsettled_write`] gives it; keep it (serde) and settle it with
/// [`Booking::settle_write`], here or in a later process. Its `Debug` shows no patient data
/// (it holds none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnsettledWrite {
    /// The appointment.
    pub appointment_id: String,
    /// What was sent.
    pub write: Write,
    /// When it was sent, by the client's clock.
    pub sent_at: DateTime<Utc>,
}

/// How [`Booking::settle_write`] settled an [`UnsettledWrite`].
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum WriteSettled {
    /// It took effect: the appointment as it is now.
    Landed(Box<Appointment>),
    /// It did not, and no longer can (a move past [`super::UNSETTLED_MOVE_WINDOW`]): the
    /// appointment as it is now.
    DidNotLand(Box<Appointment>),
}

/// The appointment's id and start, never its patient.
impl std::fmt::Debug for WriteSettled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, a) = match self {
            WriteSettled::Landed(a) => ("Landed", a),
            WriteSettled::DidNotLand(a) => ("DidNotLand", a),
        };
        f.debug_struct(name).field("id", &a.id).field("start_time", &a.start_time).field("cancelled_at", &a.cancelled_at).finish()
    }
}

impl UnsettledWrite {
    fn landed(&self, appointment: &Appointment) -> bool {
        match &self.write {
            Write::Cancel { .. } => appointment.cancelled_at.is_some(),
            Write::Reschedule { practitioner_id, start_time } => self.as_move(practitioner_id, *start_time).landed(appointment),
        }
    }

    fn as_move(&self, practitioner_id: &str, start_time: DateTime<Utc>) -> in_flight::Move {
        in_flight::Move { practitioner_id: practitioner_id.to_owned(), start_time, sent_at: self.sent_at }
    }
}

impl Booking {
    /// Settles a write whose outcome was unknown, by reading the appointment back:
    ///
    /// - done (cancelled; at the new slot) is [`WriteSettled::Landed`];
    /// - a cancel not done yet is sent again (cancelling twice cannot cancel twice, and the
    ///   original asked for it) with the flags it was first sent with, then as [`Booking::cancel`];
    ///   a hold's release never over a booking ([`super::NotAllowed::Booked`]);
    /// - a move not landed is still unknown until [`super::UNSETTLED_MOVE_WINDOW`] after it was
    ///   sent ([`BookingError::OutcomeUnknown`] again; it is never re-sent), and
    ///   [`WriteSettled::DidNotLand`] after.
    ///
    /// # Errors
    ///
    /// [`BookingError::OutcomeUnknown`] (still unsettled: try again later), or the errors of
    /// reading the appointment and of the cancel.
    pub async fn settle_write(&self, write: &UnsettledWrite) -> Result<WriteSettled, BookingError> {
        let id = write.appointment_id.as_str();
        let now = self.appointment(id).await?;
        if write.landed(&now) {
            in_flight::forget(&in_flight::key(&self.client, id));
            return Ok(WriteSettled::Landed(Box::new(now)));
        }
        match &write.write {
            Write::Cancel { suppress_mail, suppress_policy, hold } => {
                // A hold's release over what is now a booking (a confirmation landed) would
                // cancel the patient's appointment without telling them.
                if *hold && now.booking_confirmed_at.is_some() {
                    return Err(BookingError::NotAllowed {
                        action: "release",
                        appointment_id: id.to_owned(),
                        why: super::NotAllowed::Booked,
                    });
                }
                let cancelled = self.cancel_by_id(id, *suppress_mail, *suppress_policy, *hold).await?;
                Ok(WriteSettled::Landed(Box::new(cancelled)))
            }
            Write::Reschedule { practitioner_id, start_time } => {
                let may_land_until = write.as_move(practitioner_id, *start_time).may_land_until();
                if self.client.clock().now() < may_land_until {
                    return Err(BookingError::OutcomeUnknown {
                        operation: "reschedule",
                        appointment_id: Some(id.to_owned()),
                        reason: format!("it does not read as landed yet, and may land until {may_land_until}"),
                        request_id: None,
                        unsettled: Some(Box::new(write.clone())),
                    });
                }
                in_flight::forget(&in_flight::key(&self.client, id));
                Ok(WriteSettled::DidNotLand(Box::new(now)))
            }
        }
    }

    /// After a restart: a reschedule whose outcome was unknown blocks further moves of its
    /// appointment from this process again ([`super::NotAllowed::EarlierMoveUnsettled`]), as it
    /// did in the process that sent it, until it settles or its window passes. A cancel needs
    /// nothing remembered (a later cancel cannot undo it).
    pub fn remember_write(&self, write: &UnsettledWrite) {
        if let Write::Reschedule { practitioner_id, start_time } = &write.write {
            let key = in_flight::key(&self.client, &write.appointment_id);
            // An earlier claim still in force stays: it is the same appointment's pending move.
            let _ = in_flight::claim(&key, write.as_move(practitioner_id, *start_time), write.sent_at);
        }
    }
}

impl BookingError {
    /// The write this error leaves unsettled, when it is a cancel or reschedule whose outcome is
    /// unknown: keep it to settle later ([`Booking::settle_write`]).
    pub fn unsettled_write(&self) -> Option<&UnsettledWrite> {
        match self {
            BookingError::OutcomeUnknown { unsettled, .. } => unsettled.as_deref(),
            _ => None,
        }
    }

    /// Attaches the write to an unknown outcome.
    pub(super) fn with_unsettled(self, write: impl FnOnce() -> UnsettledWrite) -> Self {
        match self {
            BookingError::OutcomeUnknown { operation, appointment_id, reason, request_id, .. } => {
                BookingError::OutcomeUnknown { operation, appointment_id, reason, request_id, unsettled: Some(Box::new(write())) }
            }
            other => other,
        }
    }
}
