//! After booking: cancel, reschedule, and releasing a hold, with the rigour of `confirm`.
//!
//! - What the appointment says about itself (`can_be_cancelled`, `can_be_rescheduled`,
//!   `cancellation_policy_hours`, `cancelled_at`) is checked first: a refusal is
//!   [`BookingError::NotAllowed`] and nothing is sent, unless the caller overrides the policy.
//! - An ambiguous outcome (timeout, dropped connection, 5xx) is settled by reading the
//!   appointment back (`cancelled_at`, the new start). "Not yet" is not taken as "nothing
//!   happened": a server may commit after the client hung up. A cancel is sent once more
//!   (cancelling twice cannot do it twice) and read back again; a reschedule never is (see
//!   [`Booking::reschedule`]). What is still unsettled is [`BookingError::OutcomeUnknown`].

use chrono::{DateTime, Utc};

use super::error::NotAllowed;
use super::in_flight;
use super::unsettled::{UnsettledWrite, Write};
use super::write::{ReadBack, classify_write, done_when, settle, settle_by_reading};
use super::{Booking, BookingError};
use crate::types::{Appointment, AppointmentCancel, AppointmentReschedule, Slot};

/// How to cancel: [`Booking::cancel`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cancellation {
    suppress_mail: bool,
    override_policy: bool,
}

impl Cancellation {
    /// Cancel, telling the patient (Hero's default), within the practice's policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Do not send the patient the cancellation message (`suppress_mail`).
    pub fn without_mail(mut self) -> Self {
        self.suppress_mail = true;
        self
    }

    /// Cancel even inside the practice's cancellation window or where Hero marks the
    /// appointment as not cancellable (`suppress_cancellation_policy`): a deliberate choice,
    /// typically a practice decision, never a retry strategy.
    pub fn overriding_policy(mut self) -> Self {
        self.override_policy = true;
        self
    }
}

/// How to reschedule: [`Booking::reschedule`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reschedule {
    suppress_mail: bool,
    ignore_flags: bool,
}

impl Reschedule {
    /// Reschedule, telling the patient.
    pub fn new() -> Self {
        Self::default()
    }

    /// Do not send the patient the change message (`suppress_mail`).
    pub fn without_mail(mut self) -> Self {
        self.suppress_mail = true;
        self
    }

    /// Send it even where Hero marks the appointment as not reschedulable
    /// (`can_be_rescheduled` false); Hero may still refuse.
    pub fn ignoring_flags(mut self) -> Self {
        self.ignore_flags = true;
        self
    }
}

/// What [`crate::booking::Reservation::release`] did. Its `Debug` shows the appointment's id
/// and `cancelled_at`, never the patient or the reason.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Released {
    /// The hold was cancelled (without mail): the slot is free now. The appointment as Hero
    /// answered it, `cancelled_at` set.
    Freed(Box<Appointment>),
    /// Hero no longer had the hold (it lapsed, or was released already): the slot was free.
    AlreadyGone,
}

impl std::fmt::Debug for Released {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Released::Freed(appointment) => f
                .debug_struct("Freed")
                .field("id", &appointment.id)
                .field("cancelled_at", &appointment.cancelled_at)
                .finish_non_exhaustive(),
            Released::AlreadyGone => f.write_str("AlreadyGone"),
        }
    }
}

/// Whether `appointment` may be cancelled now, by what it says about itself.
pub(crate) fn check_cancel(appointment: &Appointment, how: &Cancellation, now: DateTime<Utc>) -> Result<(), NotAllowed> {
    if appointment.cancelled_at.is_some() {
        return Err(NotAllowed::AlreadyCancelled);
    }
    if how.override_policy {
        return Ok(());
    }
    if !appointment.can_be_cancelled {
        return Err(NotAllowed::NotCancellable);
    }
    // The policy window is about confirmed appointments: a hold is the partner's own.
    // A window too long for a duration (what no practice sets, but an answer can say) covers
    // every start: inside it, never a panic. Hero publishes the hours as a `number`, so 1.5 is
    // a window of 90 minutes (reported rounded up); a value that is no number at all (the docs
    // mock's placeholder) leaves the judgement to Hero, which applies its policy itself.
    if appointment.booking_confirmed_at.is_some()
        && let (Some(hours), Some(starts_at)) =
            (appointment.cancellation_policy_hours.as_ref().and_then(|h| h.raw().as_f64()).filter(|h| *h > 0.0), appointment.start_time)
        && window(hours).is_none_or(|window| starts_at - now < window)
    {
        return Err(NotAllowed::InsidePolicyWindow { hours: hours.ceil() as u64, starts_at });
    }
    Ok(())
}

/// `hours` as a duration, or `None` when it is too long for one.
fn window(hours: f64) -> Option<chrono::Duration> {
    let millis = hours * 3_600_000.0;
    // `as` saturates; anything at or past i64::MAX ms is "too long" rather than a wrong window.
    (millis < 9.2e18).then(|| chrono::Duration::try_milliseconds(millis as i64)).flatten()
}

/// Whether `appointment` may be rescheduled, by what it says about itself.
pub(crate) fn check_reschedule(appointment: &Appointment, how: &Reschedule) -> Result<(), NotAllowed> {
    if appointment.cancelled_at.is_some() {
        return Err(NotAllowed::AlreadyCancelled);
    }
    if appointment.booking_confirmed_at.is_none() {
        return Err(NotAllowed::NotConfirmed);
    }
    if !how.ignore_flags && !appointment.can_be_rescheduled {
        return Err(NotAllowed::NotReschedulable);
    }
    Ok(())
}

impl Booking {
    /// Cancels a confirmed appointment (or a reservation), honouring what it says about
    /// itself: already cancelled, `can_be_cancelled`, and the practice's
    /// `cancellation_policy_hours` before its start (by the client's clock,
    /// [`crate::Client::clock`]) are refused before anything is sent.
    ///
    /// Pass the appointment as you last read it (`appointment(id)`); Hero still decides. If Hero
    /// refuses because it was cancelled meanwhile (a concurrent cancel won), the appointment is
    /// read back and returned: it is cancelled, as asked.
    ///
    /// # Errors
    ///
    /// [`BookingError::NotAllowed`] (nothing sent), [`BookingError::Rejected`],
    /// [`BookingError::RateLimited`], [`BookingError::OutcomeUnknown`] when neither the answer
    /// nor a read-back settles it, [`BookingError::Transport`] or
    /// [`BookingError::InvalidInput`].
    pub async fn cancel(&self, appointment: &Appointment, how: &Cancellation) -> Result<Appointment, BookingError> {
        check_cancel(appointment, how, self.client.clock().now()).map_err(|why| BookingError::NotAllowed {
            action: "cancel",
            appointment_id: appointment.id.to_string(),
            why,
        })?;
        self.cancel_by_id(appointment.id.as_str(), how.suppress_mail, how.override_policy, false).await
    }

    /// Moves a confirmed appointment to `to` (a free slot from `slots()`), honouring
    /// `can_be_rescheduled`. The move is atomic on Hero's side: if the new slot is taken, the
    /// appointment stays where it was ([`BookingError::SlotUnavailable`]).
    ///
    /// A move is never sent twice. When its answer is lost (timeout, dropped connection, 5xx)
    /// the appointment is read back: at the new slot is `Ok` (the one request landed, and it
    /// cannot land again); not there yet is [`BookingError::OutcomeUnknown`]. From the moment
    /// it is sent until it is answered, reads as landed, or [`super::UNSETTLED_MOVE_WINDOW`] has
    /// passed (a call the app dropped, or one that got no answer), another move of the same
    /// appointment from this process is refused before anything is sent
    /// ([`NotAllowed::EarlierMoveUnsettled`]). Why: a re-sent or later move could be
    /// overtaken by the late request, which would move the appointment back while the last
    /// `Ok` the app saw says otherwise. A move from another process is not known here.
    ///
    /// # Errors
    ///
    /// [`BookingError::NotAllowed`] (nothing sent), [`BookingError::IncompleteSlot`],
    /// [`BookingError::SlotUnavailable`], [`BookingError::Rejected`],
    /// [`BookingError::RateLimited`], [`BookingError::OutcomeUnknown`] when neither the answer
    /// nor a read-back settles it, or [`BookingError::Transport`].
    pub async fn reschedule(&self, appointment: &Appointment, to: &Slot, how: &Reschedule) -> Result<Appointment, BookingError> {
        let refuse = |why| BookingError::NotAllowed { action: "reschedule", appointment_id: appointment.id.to_string(), why };
        check_reschedule(appointment, how).map_err(refuse)?;
        let practitioner_id = to.practitioner_id.clone().ok_or(BookingError::IncompleteSlot { field: "practitioner_id" })?;
        let start_time = to.start_time.ok_or(BookingError::IncompleteSlot { field: "start_time" })?;
        let duration = to.finish_time.and_then(|finish| u64::try_from((finish - start_time).num_minutes()).ok()).filter(|m| *m > 0);
        let id = appointment.id.as_str();
        let key = in_flight::key(&self.client, id);
        let sent_at = self.client.clock().now();
        let target = in_flight::Move { practitioner_id: practitioner_id.to_string(), start_time, sent_at };
        if let Err(earlier) = in_flight::claim(&key, target.clone(), sent_at) {
            // Landed meanwhile? Then it cannot land again, and this move may go.
            let now = self.appointment(id).await?;
            if !earlier.landed(&now) {
                return Err(refuse(NotAllowed::EarlierMoveUnsettled { may_land_until: earlier.may_land_until() }));
            }
            in_flight::forget(&key);
            if let Err(earlier) = in_flight::claim(&key, target.clone(), sent_at) {
                // Another move claimed it in between.
                return Err(refuse(NotAllowed::EarlierMoveUnsettled { may_land_until: earlier.may_land_until() }));
            }
        }
        let body = AppointmentReschedule {
            practitioner_id: practitioner_id.clone(),
            start_time,
            duration,
            suppress_mail: Some(how.suppress_mail),
        };
        // From here the claim stays unless an answer settles it: a call dropped mid-way (the
        // caller's own timeout) leaves a request that may land.
        match self.client.reschedule_appointment().id(id).body(body).send().await {
            Ok(moved) => {
                in_flight::forget(&key);
                Ok(moved.into_inner())
            }
            Err(error) => match classify_write(error, "reschedule", Some(id)) {
                BookingError::OutcomeUnknown { reason, .. } => {
                    let unsettled = UnsettledWrite {
                        appointment_id: id.to_owned(),
                        write: Write::Reschedule { practitioner_id: target.practitioner_id.clone(), start_time: target.start_time },
                        sent_at: target.sent_at,
                    };
                    let moved = move |a: &Appointment| a.cancelled_at.is_none() && target.landed(a);
                    let settled = settle_by_reading(&self.client, "reschedule", id, reason, done_when(moved)).await;
                    if settled.is_ok() {
                        in_flight::forget(&key);
                    }
                    settled.map_err(|e| e.with_unsettled(|| unsettled))
                }
                // Refused, or never sent: nothing of it can land.
                definite => {
                    in_flight::forget(&key);
                    Err(definite)
                }
            },
        }
    }

    /// Cancels by id, without the checks of [`Booking::cancel`]. For a hold being released
    /// (`hold`), a read-back that shows it booked ends the matter: it is never sent again over a
    /// booking ([`NotAllowed::Booked`]).
    pub(crate) async fn cancel_by_id(
        &self,
        id: &str,
        suppress_mail: bool,
        suppress_policy: bool,
        hold: bool,
    ) -> Result<Appointment, BookingError> {
        let body = AppointmentCancel { suppress_mail: Some(suppress_mail), suppress_cancellation_policy: Some(suppress_policy) };
        let sent_at = self.client.clock().now();
        let send = || async {
            match self.client.cancel_appointment().id(id).body(body.clone()).send().await {
                Ok(cancelled) => Ok(cancelled.into_inner()),
                Err(error) => Err(classify_write(error, "cancel", Some(id))),
            }
        };
        match send().await {
            Err(BookingError::OutcomeUnknown { reason, .. }) => {
                let booked = || BookingError::NotAllowed { action: "release", appointment_id: id.to_owned(), why: NotAllowed::Booked };
                let judge = |read: Result<Appointment, crate::Error>| match read {
                    Ok(a) if a.cancelled_at.is_some() => Ok(ReadBack::Done(Box::new(a))),
                    Ok(a) if hold && a.booking_confirmed_at.is_some() => Ok(ReadBack::Never(booked())),
                    Ok(_) => Ok(ReadBack::NotYet),
                    Err(error) => Err(error.to_string()),
                };
                let unsettled = || UnsettledWrite {
                    appointment_id: id.to_owned(),
                    write: Write::Cancel { suppress_mail, suppress_policy, hold },
                    sent_at,
                };
                settle(&self.client, "cancel", id, reason, judge, send).await.map_err(|e| e.with_unsettled(unsettled))
            }
            // Refused: perhaps a concurrent cancel won. Then what was asked is done, and "fix the
            // request" would be wrong advice.
            Err(refused @ BookingError::Rejected { status: 400, .. }) => match self.appointment(id).await {
                Ok(read) if read.cancelled_at.is_some() => Ok(read),
                _ => Err(refused),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appointment(confirmed: bool, starts_in_hours: i64, now: DateTime<Utc>) -> Appointment {
        serde_json::from_value(serde_json::json!({
            "id": "5001", "practitioner_id": "11", "location_id": "1", "appointment_type_id": "1",
            "start_time": (now + chrono::Duration::hours(starts_in_hours)).to_rfc3339(),
            "booking_confirmed_at": if confirmed { Some(now.to_rfc3339()) } else { None },
            "can_be_cancelled": true, "can_be_rescheduled": true, "cancellation_policy_hours": 24,
        }))
        .unwrap()
    }

    #[test]
    fn cancel_decisions() {
        // A late evening on the day the clocks go back: the window is counted in real hours.
        let now: DateTime<Utc> = "2026-10-25T22:30:00Z".parse().unwrap();
        let how = Cancellation::new();
        assert_eq!(check_cancel(&appointment(true, 48, now), &how, now), Ok(()));
        assert!(matches!(check_cancel(&appointment(true, 2, now), &how, now), Err(NotAllowed::InsidePolicyWindow { hours: 24, .. })));
        assert_eq!(check_cancel(&appointment(true, 2, now), &how.clone().overriding_policy(), now), Ok(()));
        // A hold is the partner's own: no policy window.
        assert_eq!(check_cancel(&appointment(false, 2, now), &how, now), Ok(()));
        let mut not_cancellable = appointment(true, 48, now);
        not_cancellable.can_be_cancelled = false;
        assert_eq!(check_cancel(&not_cancellable, &how, now), Err(NotAllowed::NotCancellable));
        let mut endless = appointment(true, 24 * 365 * 100, now);
        endless.cancellation_policy_hours = Some(u64::MAX.into());
        assert!(matches!(check_cancel(&endless, &how, now), Err(NotAllowed::InsidePolicyWindow { .. })), "no overflow panic");
        endless.cancellation_policy_hours = Some(3_000_000_000_000.into());
        assert!(matches!(check_cancel(&endless, &how, now), Err(NotAllowed::InsidePolicyWindow { .. })));
        // Hero publishes the hours as a `number`: 1.5 h is 90 minutes.
        let hours = |json: &str| Some(serde_json::from_str(json).unwrap());
        let mut soon = appointment(true, 1, now);
        soon.cancellation_policy_hours = hours("1.5");
        assert!(matches!(check_cancel(&soon, &how, now), Err(NotAllowed::InsidePolicyWindow { hours: 2, .. })));
        let mut later = appointment(true, 2, now);
        later.cancellation_policy_hours = hours("1.5");
        assert_eq!(check_cancel(&later, &how, now), Ok(()));
        // No number at all (the docs mock's placeholder): Hero applies its policy itself.
        soon.cancellation_policy_hours = hours(r#""string""#);
        assert_eq!(check_cancel(&soon, &how, now), Ok(()));
        let mut cancelled = appointment(true, 48, now);
        cancelled.cancelled_at = Some(now);
        assert_eq!(check_cancel(&cancelled, &how.clone().overriding_policy(), now), Err(NotAllowed::AlreadyCancelled));
    }

    #[test]
    fn reschedule_decisions() {
        let now: DateTime<Utc> = "2026-03-29T23:15:00Z".parse().unwrap();
        let how = Reschedule::new();
        assert_eq!(check_reschedule(&appointment(true, 2, now), &how), Ok(()));
        assert_eq!(check_reschedule(&appointment(false, 48, now), &how), Err(NotAllowed::NotConfirmed));
        let mut fixed = appointment(true, 48, now);
        fixed.can_be_rescheduled = false;
        assert_eq!(check_reschedule(&fixed, &how), Err(NotAllowed::NotReschedulable));
        assert_eq!(check_reschedule(&fixed, &how.clone().ignoring_flags()), Ok(()));
    }
}
